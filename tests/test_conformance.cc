// tests/test_conformance.cc: ONNX's own backend cases from Debian's
// libonnx-testdata, run through the whole runtime (loader, validator,
// planner, kernels), one gtest per case.
//
// A case whose ops are not all registered is skipped (and counted). A case
// that fails must be listed in tests/conformance_expected_failures.txt with
// its reason; a listed case that passes fails too, so the list stays true.
// Conformance.Summary prints "conformance: N passed, M failed, K skipped".
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx.pb-c.h"
#include "onnxtrain/onnxtrain.h"
extern "C" {
#include "runtime/ir.h"
}

namespace {

const char *kRoot = "/usr/share/libonnx-testdata/data";
const char *kSuites[] = {"node", "simple", "pytorch-converted", "pytorch-operator"};

// The forward ops of the foundation issue: node cases using only these are
// the acceptance subset.
const std::set<std::string> kFoundationOps = {
    "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Relu",
    "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Sqrt", "Pow", "Exp", "Log", "Neg",
    "Reshape", "Flatten", "Transpose", "Concat", "Identity", "Constant", "Shape", "Gather", "Unsqueeze",
    "Squeeze", "ReduceMean", "ReduceSum", "Cast", "Dropout"};

std::vector<std::string> list_dir(const std::string &path, bool dirs) {
    std::vector<std::string> out;
    DIR *d = opendir(path.c_str());
    if (!d) return out;
    while (dirent *e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        struct stat sb;
        std::string p = path + "/" + e->d_name;
        if (stat(p.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode) == dirs) out.push_back(e->d_name);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> all_cases() { // "suite/case"
    std::vector<std::string> out;
    for (const char *suite : kSuites)
        for (const std::string &c : list_dir(std::string(kRoot) + "/" + suite, true)) {
            struct stat sb;
            if (stat((std::string(kRoot) + "/" + suite + "/" + c + "/model.onnx").c_str(), &sb) == 0)
                out.push_back(std::string(suite) + "/" + c);
        }
    return out;
}

std::map<std::string, std::string> expected_failures() { // case -> reason
    std::map<std::string, std::string> out;
    std::ifstream f(std::string(OT_SOURCE_DIR) + "/tests/conformance_expected_failures.txt");
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        std::string name, rest;
        ss >> name;
        std::getline(ss, rest);
        out[name] = rest;
    }
    return out;
}

enum class Outcome { kPassed, kFailed, kSkipped };

struct CaseResult {
    Outcome outcome;
    std::string detail;
    bool foundation = false; // node case using only the foundation ops
};

std::string compare(const ot_tensor_t *got, const ot_tensor_t *ref, const std::string &name) {
    std::ostringstream why;
    if (got->dtype != ref->dtype) {
        why << name << ": dtype " << ot_dtype_name(got->dtype) << ", expected " << ot_dtype_name(ref->dtype);
        return why.str();
    }
    bool same_shape = got->shape.rank == ref->shape.rank;
    for (int d = 0; same_shape && d < ref->shape.rank; d++) same_shape = got->shape.dims[d] == ref->shape.dims[d];
    if (!same_shape) return name + ": shape differs from the expected output";
    int64_t n = ot_shape_numel(&ref->shape);
    size_t es = ot_dtype_size(ref->dtype);
    for (int64_t i = 0; i < n; i++) {
        double g, e;
        if (ref->dtype == OT_DTYPE_FLOAT) g = ((const float *)got->data)[i], e = ((const float *)ref->data)[i];
        else if (ref->dtype == OT_DTYPE_DOUBLE) g = ((const double *)got->data)[i], e = ((const double *)ref->data)[i];
        else {
            if (std::memcmp((const char *)got->data + i * es, (const char *)ref->data + i * es, es) != 0) {
                why << name << ": element " << i << " differs (exact compare)";
                return why.str();
            }
            continue;
        }
        if (std::isnan(g) && std::isnan(e)) continue;
        if (!(std::fabs(g - e) <= 1e-5 + 1e-3 * std::fabs(e))) {
            why << name << ": element " << i << " is " << g << ", expected " << e;
            return why.str();
        }
    }
    return "";
}

// The model's ops, read straight from the protobuf (not through our loader,
// which may refuse the model): whether all resolve in the registry, and
// whether all are foundation ops.
struct OpScan {
    bool all_registered = true, foundation_only = true;
};

OpScan scan_ops(const ot_registry_t *reg, const std::string &path) {
    OpScan scan;
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Onnx__ModelProto *m =
        onnx__model_proto__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t *>(bytes.data()));
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, nullptr);
        return scan;
    }
    for (size_t i = 0; i < m->graph->n_node; i++) {
        const Onnx__NodeProto *n = m->graph->node[i];
        std::string dom = n->domain ? n->domain : "";
        if (dom == "ai.onnx") dom = "";
        int opset = 0;
        for (size_t k = 0; k < m->n_opset_import; k++) {
            std::string d = m->opset_import[k]->domain ? m->opset_import[k]->domain : "";
            if (d == "ai.onnx") d = "";
            if (d == dom) opset = (int)m->opset_import[k]->version;
        }
        if (!ot_registry_find(reg, dom.c_str(), n->op_type, opset)) scan.all_registered = false;
        if (!dom.empty() || !kFoundationOps.count(n->op_type)) scan.foundation_only = false;
    }
    onnx__model_proto__free_unpacked(m, nullptr);
    return scan;
}

CaseResult run_case(const ot_registry_t *reg, const std::string &id) {
    std::string dir = std::string(kRoot) + "/" + id;
    OpScan scan = scan_ops(reg, dir + "/model.onnx");
    CaseResult r{Outcome::kFailed, "", scan.foundation_only && id.rfind("node/", 0) == 0};
    if (!scan.all_registered) {
        r.outcome = Outcome::kSkipped;
        return r;
    }
    ot_model_t *m = nullptr;
    ot_status_t *st = ot_model_load((dir + "/model.onnx").c_str(), reg, nullptr, &m);
    if (st) {
        r.detail = std::string("load: ") + ot_status_message(st);
        ot_status_free(st);
        return r;
    }
    ot_session_t *s = nullptr;
    st = ot_session_create(m, &s);
    int n_in = ot_model_num_inputs(m), n_out = ot_model_num_outputs(m);
    std::vector<std::string> sets = list_dir(dir, true);
    for (const std::string &set : sets) {
        if (st || set.rfind("test_data_set_", 0) != 0) continue;
        std::vector<ot_tensor_t *> in(n_in, nullptr), out(n_out, nullptr), ref(n_out, nullptr);
        for (int k = 0; k < n_in && !st; k++)
            st = ot_tensor_load((dir + "/" + set + "/input_" + std::to_string(k) + ".pb").c_str(), &in[k]);
        for (int k = 0; k < n_out && !st; k++)
            st = ot_tensor_load((dir + "/" + set + "/output_" + std::to_string(k) + ".pb").c_str(), &ref[k]);
        if (!st) st = ot_session_run(s, in.data(), out.data());
        for (int k = 0; k < n_out && !st && r.detail.empty(); k++) {
            const char *name;
            ot_model_output_info(m, k, &name, nullptr, nullptr);
            r.detail = compare(out[k], ref[k], set + " output '" + name + "'");
        }
        for (auto *t : in) ot_tensor_destroy(t);
        for (auto *t : out) ot_tensor_destroy(t);
        for (auto *t : ref) ot_tensor_destroy(t);
        if (!r.detail.empty()) break;
    }
    if (st) {
        r.detail = ot_status_message(st);
        ot_status_free(st);
    }
    if (r.detail.empty()) r.outcome = Outcome::kPassed;
    ot_session_destroy(s);
    ot_model_destroy(m);
    return r;
}

struct Registry {
    ot_registry_t *reg = nullptr;
    Registry() { ot_status_free(ot_registry_create(&reg)); }
    ~Registry() { ot_registry_destroy(reg); }
};

const ot_registry_t *registry() {
    static Registry r;
    return r.reg;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, Case) {
    static const auto xfail = expected_failures();
    CaseResult r = run_case(registry(), GetParam());
    auto it = xfail.find(GetParam());
    if (r.outcome == Outcome::kSkipped) {
        EXPECT_EQ(it, xfail.end()) << GetParam() << " is skipped (unregistered ops) but listed as an expected failure";
        GTEST_SKIP() << "uses ops that are not registered";
    }
    if (it != xfail.end()) {
        EXPECT_EQ(r.outcome, Outcome::kFailed)
            << GetParam() << " now passes: remove it from tests/conformance_expected_failures.txt";
    } else {
        EXPECT_EQ(r.outcome, Outcome::kPassed) << GetParam() << ": " << r.detail;
    }
}

std::string case_label(const ::testing::TestParamInfo<std::string> &info) {
    std::string s = info.param;
    for (char &c : s)
        if (!isalnum((unsigned char)c)) c = '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(Onnx, Conformance, ::testing::ValuesIn(all_cases()), case_label);

// One pass over every case: the summary line, and the foundation issue's
// acceptance bar (at least 215 of the node cases that use only its ops).
TEST(ConformanceSummary, AllCases) {
    const auto xfail = expected_failures();
    int passed = 0, failed = 0, skipped = 0, f_total = 0, f_passed = 0, unexpected = 0;
    for (const std::string &id : all_cases()) {
        CaseResult r = run_case(registry(), id);
        bool listed = xfail.count(id) > 0;
        if (r.outcome == Outcome::kPassed) passed++;
        else if (r.outcome == Outcome::kFailed) failed++;
        else skipped++;
        if (r.outcome != Outcome::kSkipped && (r.outcome == Outcome::kFailed) != listed) unexpected++;
        if (r.foundation) {
            f_total++;
            f_passed += r.outcome == Outcome::kPassed;
        }
    }
    printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    printf("conformance (node cases using only the foundation ops): %d of %d passed\n", f_passed, f_total);
    EXPECT_EQ(unexpected, 0) << "cases outside tests/conformance_expected_failures.txt failed (or listed ones passed)";
    EXPECT_GE(f_passed, 215);
    EXPECT_GT(passed, 0);
}

// The foundation acceptance through the CLI: `onnxtrain run MODEL
// --input-dir SET --output-dir OUT` on every node case of the foundation ops
// that is not an expected failure, each output compared with the case's.
TEST(ConformanceCli, FoundationCasesThroughOnnxtrainRun) {
    const auto xfail = expected_failures();
    const std::string bin = std::string(OT_BINARY_DIR) + "/onnxtrain";
    char tmpl[] = "/tmp/ot_cli_conformance_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string tmp = tmpl;
    int ran = 0;
    for (const std::string &id : all_cases()) {
        if (id.rfind("node/", 0) != 0 || xfail.count(id)) continue;
        std::string dir = std::string(kRoot) + "/" + id;
        if (!scan_ops(registry(), dir + "/model.onnx").foundation_only) continue;
        std::string set = dir + "/test_data_set_0", out = tmp + "/" + std::to_string(ran++);
        std::string cmd = "'" + bin + "' run '" + dir + "/model.onnx' --input-dir '" + set + "' --output-dir '" + out +
                          "' --quiet >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << id << ": " << cmd;
        for (int k = 0;; k++) {
            std::string ref_path = set + "/output_" + std::to_string(k) + ".pb";
            struct stat sb;
            if (stat(ref_path.c_str(), &sb) != 0) break;
            ot_tensor_t *got = nullptr, *ref = nullptr;
            ot_status_t *st = ot_tensor_load((out + "/output_" + std::to_string(k) + ".pb").c_str(), &got);
            if (!st) st = ot_tensor_load(ref_path.c_str(), &ref);
            EXPECT_EQ(st, nullptr) << id << ": " << ot_status_message(st);
            if (!st) EXPECT_EQ(compare(got, ref, id + " output " + std::to_string(k)), "");
            ot_status_free(st);
            ot_tensor_destroy(got);
            ot_tensor_destroy(ref);
        }
    }
    EXPECT_GE(ran, 211);
    std::system(("rm -rf '" + tmp + "'").c_str());
}

} // namespace
