// tests/test_init_ops.cc: the initializer ops (ops/init_*.c) against
// torch.nn.init, from tests/fixtures/init (tools/fixtures/gen_init_fixtures.py):
// bit for bit for every sampling initializer (uniform, normal, trunc_normal,
// xavier, kaiming, lecun) and the deterministic ones, Orthogonal within
// rounding; then statistics on large tensors (moments, bounds,
// orthogonality), determinism, and refusals of bad attributes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "op_harness.h"
extern "C" {
#include "runtime/npz.h"
}

using namespace ot_test;

namespace {

const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/init/";

Node init_node(const std::string &op, std::vector<int64_t> shape, int64_t seed, int64_t dtype = OT_DTYPE_FLOAT) {
    Node n(op, 1, OT_DOMAIN);
    n.ints("shape", std::move(shape)).i("seed", seed).i("dtype", dtype);
    return n;
}

std::vector<double> values(const Tensor &t) {
    std::vector<double> v;
    if (t.dtype == OT_DTYPE_FLOAT)
        for (float x : t.vec<float>()) v.push_back(x);
    else
        for (double x : t.vec<double>()) v.push_back(x);
    return v;
}

std::vector<double> run_values(const Node &n) {
    Result r = run_op(n, {}, 1);
    EXPECT_EQ(r.error, "") << n.op_type;
    return r.error.empty() ? values(r.outputs[0]) : std::vector<double>{};
}

struct Case {
    std::string key, op, line;
    Node node{"", 1, OT_DOMAIN};
};

std::vector<Case> read_cases() {
    std::vector<Case> cases;
    std::ifstream f(kDir + "cases.txt");
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream in(line);
        Case c;
        int64_t dtype, seed;
        std::string dims, attr;
        in >> c.key >> c.op >> dtype >> seed >> dims;
        std::vector<int64_t> shape;
        std::istringstream ds(dims);
        for (std::string d; std::getline(ds, d, ',');) shape.push_back(std::stoll(d));
        c.node = init_node(c.op, shape, seed, dtype);
        while (in >> attr) { // name=type:value
            size_t eq = attr.find('='), colon = attr.find(':');
            std::string name = attr.substr(0, eq), type = attr.substr(eq + 1, colon - eq - 1),
                        v = attr.substr(colon + 1);
            if (type == "f") c.node.f(name.c_str(), std::stof(v));
            else if (type == "i") c.node.i(name.c_str(), std::stoll(v));
            else c.node.s(name.c_str(), v);
        }
        c.line = line;
        cases.push_back(c);
    }
    return cases;
}

} // namespace

// Every case of cases.txt equals torch's tensor: exactly, except Orthogonal
// (LAPACK rounding) within 2e-6 (float) / 1e-12 (double).
TEST(InitOps, MatchTorch) {
    std::vector<Case> cases = read_cases();
    ASSERT_GT(cases.size(), 150u) << "fixtures missing: " << kDir;
    ot_npz_t *npz = nullptr;
    ot_status_t *st = ot_npz_load((kDir + "ops.npz").c_str(), &npz);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    int exact_cases = 0;
    for (const Case &c : cases) {
        const ot_tensor_t *ref = ot_npz_find(npz, c.key.c_str());
        ASSERT_NE(ref, nullptr) << c.key;
        Result r = run_op(c.node, {}, 1);
        ASSERT_EQ(r.error, "") << c.line;
        const Tensor &got = r.outputs[0];
        ASSERT_EQ(got.dtype, ref->dtype) << c.line;
        ASSERT_EQ((int)got.dims.size(), ref->shape.rank) << c.line;
        int64_t n = ot_shape_numel(&ref->shape);
        std::vector<double> g = values(got), want(n);
        double nonzero = 0;
        for (int64_t i = 0; i < n; i++) {
            want[i] = ref->dtype == OT_DTYPE_FLOAT ? ((const float *)ref->data)[i] : ((const double *)ref->data)[i];
            nonzero += want[i] != 0;
        }
        if (c.op != "Zeros") ASSERT_GT(nonzero, 0) << c.key << ": degenerate fixture";
        double tol = c.op != "Orthogonal" ? 0 : ref->dtype == OT_DTYPE_FLOAT ? 2e-6 : 1e-12;
        int64_t bad = 0, worst = 0;
        for (int64_t i = 0; i < n; i++)
            if (!(std::fabs(g[i] - want[i]) <= tol)) {
                if (!bad || std::fabs(g[i] - want[i]) > std::fabs(g[worst] - want[worst])) worst = i;
                bad++;
            }
        EXPECT_EQ(bad, 0) << c.line << ": " << bad << " of " << n << " differ; worst [" << worst << "] got "
                          << g[worst] << " torch " << want[worst];
        exact_cases += tol == 0 && bad == 0;
    }
    EXPECT_GT(exact_cases, 150);
    ot_npz_destroy(npz);
}

// Statistics of large tensors: bounds, mean and variance within 6 sigma of
// the sampling error (float64 accumulation).
TEST(InitOps, Moments) {
    const int64_t rows = 300, cols = 400, n = rows * cols; // fan_in 400, fan_out 300
    struct Expect {
        Node node;
        double mean, var, lo, hi; // lo/hi: support (inclusive)
        double kurt_var;          // Var[(x - mu)^2] / var^2 (uniform 0.8, normal 2)
    };
    double ku = 1.8 - 1, kn = 2; // uniform: E[x^4]/var^2 = 1.8
    double kb = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(400.0); // kaiming_uniform bound, leaky_relu a=0
    double tn_var = 1 - 4 * std::exp(-2.0) / std::sqrt(2 * M_PI) / std::erf(2 / std::sqrt(2.0)); // N(0,1) on [-2, 2]
    std::vector<Expect> cases = {
        {init_node("Uniform", {rows, cols}, 1).f("a", -0.5f).f("b", 2.0f), 0.75, 2.5 * 2.5 / 12, -0.5, 2, ku},
        {init_node("Normal", {rows, cols}, 2).f("mean", 0.1f).f("std", 0.02f), 0.1, 0.0004, -1e9, 1e9, kn},
        {init_node("TruncatedNormal", {rows, cols}, 3), 0, tn_var, -2, 2, 2.5},
        {init_node("KaimingUniform", {rows, cols}, 4), 0, kb * kb / 3, -kb, kb, ku},
        {init_node("KaimingNormal", {rows, cols}, 5).s("mode", "fan_out"), 0, 2.0 / 300, -1e9, 1e9, kn},
        {init_node("XavierNormal", {rows, cols}, 6), 0, 2.0 / 700, -1e9, 1e9, kn},
        {init_node("LecunNormal", {rows, cols}, 7), 0, 1.0 / 400, -1e9, 1e9, kn},
        {init_node("Normal", {rows, cols}, 8, OT_DTYPE_DOUBLE), 0, 1, -1e9, 1e9, kn},
    };
    for (const Expect &e : cases) {
        std::vector<double> v = run_values(e.node);
        ASSERT_EQ((int64_t)v.size(), n);
        double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
        for (double x : v) sum += x, lo = std::min(lo, x), hi = std::max(hi, x);
        double mean = sum / n;
        for (double x : v) sq += (x - mean) * (x - mean);
        double var = sq / (n - 1);
        EXPECT_NEAR(mean, e.mean, 6 * std::sqrt(e.var / n)) << e.node.op_type;
        EXPECT_NEAR(var, e.var, 6 * e.var * std::sqrt(e.kurt_var / n)) << e.node.op_type;
        EXPECT_GE(lo, e.lo) << e.node.op_type;
        EXPECT_LE(hi, e.hi) << e.node.op_type;
        if (e.hi < 1e9) EXPECT_GT(hi, e.hi - 0.01 * (e.hi - e.lo)) << e.node.op_type << ": support not covered";
    }
}

// Q Q^T = gain^2 I (rows <= cols) or Q^T Q = gain^2 I, in float and double.
TEST(InitOps, OrthogonalIsOrthogonal) {
    for (int64_t dt : {(int64_t)OT_DTYPE_FLOAT, (int64_t)OT_DTYPE_DOUBLE})
        for (auto shape :
             {std::vector<int64_t>{64, 130}, std::vector<int64_t>{130, 64}, std::vector<int64_t>{16, 4, 3, 3}}) {
            std::vector<double> q = run_values(init_node("Orthogonal", shape, 11, dt).f("gain", 2.0f));
            int64_t rows = shape[0], cols = (int64_t)q.size() / rows;
            bool wide = rows <= cols;
            int64_t k = wide ? rows : cols, len = wide ? cols : rows;
            double worst = 0, tol = dt == OT_DTYPE_FLOAT ? 1e-5 : 1e-12;
            for (int64_t a = 0; a < k; a++)
                for (int64_t b = 0; b < k; b++) {
                    double dot = 0;
                    for (int64_t i = 0; i < len; i++)
                        dot += wide ? q[a * cols + i] * q[b * cols + i] : q[i * cols + a] * q[i * cols + b];
                    worst = std::max(worst, std::fabs(dot / 4 - (a == b)));
                }
            EXPECT_LT(worst, tol) << "shape " << shape[0] << "x" << cols << " dtype " << dt;
        }
}

// Same seed, same tensor; another seed, another tensor; no seed: the node
// name's hash, still the same every run.
TEST(InitOps, Deterministic) {
    for (const char *op : {"KaimingUniform", "Normal", "TruncatedNormal", "Orthogonal"}) {
        std::vector<double> a = run_values(init_node(op, {20, 30}, 5)), b = run_values(init_node(op, {20, 30}, 5)),
                            c = run_values(init_node(op, {20, 30}, 6));
        EXPECT_EQ(a, b) << op;
        EXPECT_NE(a, c) << op;
        Node unseeded(op, 1, OT_DOMAIN);
        unseeded.ints("shape", {20, 30});
        EXPECT_EQ(run_values(unseeded), run_values(unseeded)) << op;
    }
}

// The fans given as attributes replace the shape's: a (K, N) = (16, 8)
// weight with fan_in 16 is bounded by sqrt(6 / 16), not sqrt(6 / 8).
TEST(InitOps, FanAttributes) {
    std::vector<double> v = run_values(init_node("KaimingUniform", {16, 8}, 3).i("fan_in", 16).i("fan_out", 8));
    double bound = std::sqrt(3.0) * std::sqrt(2.0) / 4, hi = 0;
    for (double x : v) hi = std::max(hi, std::fabs(x));
    EXPECT_LE(hi, bound);
    EXPECT_GT(hi, bound * 0.9);
    // rank 1 works with both fans given
    EXPECT_EQ(run_values(init_node("XavierUniform", {10}, 3).i("fan_in", 4).i("fan_out", 6)).size(), 10u);
}

TEST(InitOps, EmptyTensorsAreLeftAlone) {
    for (const char *op : {"KaimingNormal", "Orthogonal", "Uniform", "Eye"}) {
        Result r = run_op(init_node(op, {0, 5}, 1), {}, 1);
        EXPECT_EQ(r.error, "") << op;
    }
}

TEST(InitOps, BadAttributesAreRefused) {
    struct Bad {
        Node node;
        const char *message;
    };
    std::vector<Bad> bad = {
        {init_node("KaimingUniform", {4, 5}, 1).s("mode", "fan_middle"), "mode 'fan_middle' unknown"},
        {init_node("KaimingNormal", {4, 5}, 1).s("nonlinearity", "swish"), "nonlinearity 'swish' unknown"},
        {init_node("KaimingUniform", {5}, 1), "at least 2 dims"},
        {init_node("XavierNormal", {4, 5}, 1).i("fan_in", 0), "must be positive"},
        {init_node("Eye", {2, 3, 4}, 1), "2 dims"},
        {init_node("Dirac", {4, 4}, 1), "at least 3"},
        {init_node("Dirac", {6, 2, 3}, 1).i("groups", 4), "groups = 4"},
        {init_node("Orthogonal", {7}, 1), "at least 2"},
        {init_node("Uniform", {4}, 1).f("a", 2.0f).f("b", 1.0f), "must not exceed"},
        {init_node("TruncatedNormal", {4}, 1).f("a", 1.0f).f("b", 1.0f), "a < b"},
        {init_node("Normal", {4}, 1).f("std", -1.0f), "negative"},
        {init_node("Normal", {4, -2}, 1), "negative"},
        {init_node("Zeros", {4}, 1, OT_DTYPE_INT64), "dtype 7 not supported"},
    };
    for (const Bad &b : bad) {
        Result r = run_op(b.node, {}, 1);
        EXPECT_NE(r.error.find(b.message), std::string::npos) << b.node.op_type << ": " << r.error;
        EXPECT_NE(r.error.find("node 'test_node' (ai.onnxtrain::" + b.node.op_type + ")"), std::string::npos)
            << r.error;
    }
}

// prepare --init finds them by loose name; all are OT_OP_INITIALIZER.
TEST(InitOps, RegisteredAsInitializers) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    for (const char *name : {"zeros", "ones", "constant_fill", "eye", "dirac", "uniform", "normal", "truncated_normal",
                             "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
                             "lecun_normal", "orthogonal", "KaimingUniform"}) {
        const ot_op_def_t *op = ot_registry_find_kind(reg, name, OT_OP_INITIALIZER);
        ASSERT_NE(op, nullptr) << name;
        EXPECT_STREQ(op->domain, OT_DOMAIN);
        EXPECT_EQ(op->max_inputs, 0);
    }
    EXPECT_EQ(ot_registry_find_kind(reg, "adam", OT_OP_INITIALIZER), nullptr);
    ot_registry_destroy(reg);
}
