// tests/test_ort_checkpoint.cc: ONNX Runtime training checkpoints
// (runtime/ort_checkpoint.c). Oracles: ORT's own files in
// ../shared/ort-artifacts (checked against the parameter inputs of
// training_model.onnx), binaries laid out by the FlatBuffers library itself
// (flatc, tools/fixtures/gen_ort_checkpoint_fixtures.py), flatc's annotator
// and JSON dump of what our writer produces, round trips, and a malformed
// corpus made by damaging the real file, each asserting the status code
// and the field the message names.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "onnxtrain/onnxtrain.h"
#include "onnxtrain/ort_checkpoint.h"
#include "runtime/ir.h"

namespace {

const std::string kArtifacts = OT_SOURCE_DIR "/../shared/ort-artifacts";
const std::string kFixtures = OT_SOURCE_DIR "/tests/fixtures/ort_checkpoint";

#define SKIP_WITHOUT_ARTIFACTS()                                                                    \
    do {                                                                                            \
        struct stat sb_;                                                                            \
        if (stat((kArtifacts + "/checkpoint.ckpt").c_str(), &sb_) != 0)                             \
            GTEST_SKIP() << "ORT artifacts not found: looked for " << kArtifacts << "/checkpoint.ckpt"; \
    } while (0)

std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    EXPECT_TRUE(f.good()) << path;
    std::vector<uint8_t> b(f.good() ? (size_t)f.tellg() : 0);
    f.seekg(0);
    f.read(reinterpret_cast<char *>(b.data()), (std::streamsize)b.size());
    return b;
}

struct CkptDeleter {
    void operator()(ot_ort_checkpoint_t *c) const { ot_ort_checkpoint_destroy(c); }
};
using Ckpt = std::unique_ptr<ot_ort_checkpoint_t, CkptDeleter>;

Ckpt load_ok(const std::string &path) {
    ot_ort_checkpoint_t *c = nullptr;
    ot_status_t *st = ot_ort_checkpoint_load(path.c_str(), &c);
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    ot_status_free(st);
    return Ckpt(c);
}

Ckpt load_bytes_ok(const std::vector<uint8_t> &b) {
    ot_ort_checkpoint_t *c = nullptr;
    ot_status_t *st = ot_ort_checkpoint_load_bytes(b.data(), b.size(), "mem", &c);
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    ot_status_free(st);
    return Ckpt(c);
}

// Loads bytes that must fail: returns code and message.
ot_code_t load_fail(const std::vector<uint8_t> &b, std::string *msg) {
    ot_ort_checkpoint_t *c = nullptr;
    ot_status_t *st = ot_ort_checkpoint_load_bytes(b.data(), b.size(), "bad.ckpt", &c);
    EXPECT_EQ(c, nullptr);
    ot_ort_checkpoint_destroy(c);
    ot_code_t code = ot_status_code(st);
    *msg = ot_status_message(st);
    ot_status_free(st);
    return code;
}

std::vector<uint8_t> serialize(const ot_ort_checkpoint_t *c) {
    uint8_t *buf = nullptr;
    size_t len = 0;
    ot_status_t *st = ot_ort_checkpoint_serialize(c, &buf, &len);
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    ot_status_free(st);
    std::vector<uint8_t> out(buf, buf + len);
    free(buf);
    return out;
}

std::string shape_str(const ot_tensor_t &t) {
    std::string s = "(";
    for (int i = 0; i < t.shape.rank; i++) s += (i ? ", " : "") + std::to_string(t.shape.dims[i]);
    return s + ")";
}

void expect_tensor_eq(const ot_ort_tensor_t &a, const ot_ort_tensor_t &b, const std::string &what) {
    ASSERT_STREQ(a.name, b.name) << what;
    EXPECT_EQ(a.tensor.dtype, b.tensor.dtype) << what << " " << a.name;
    ASSERT_EQ(shape_str(a.tensor), shape_str(b.tensor)) << what << " " << a.name;
    ASSERT_EQ(a.tensor.data == nullptr, b.tensor.data == nullptr) << what << " " << a.name;
    if (a.tensor.data)
        EXPECT_EQ(0, memcmp(a.tensor.data, b.tensor.data, ot_tensor_nbytes(&a.tensor))) << what << " " << a.name;
}

// Field-by-field equality of two checkpoints (version aside).
void expect_ckpt_eq(const ot_ort_checkpoint_t *a, const ot_ort_checkpoint_t *b) {
    EXPECT_EQ(a->is_nominal_state, b->is_nominal_state);
    ASSERT_EQ(a->n_trainable, b->n_trainable);
    for (size_t i = 0; i < a->n_trainable; i++) expect_tensor_eq(a->trainable[i], b->trainable[i], "trainable");
    ASSERT_EQ(a->n_frozen, b->n_frozen);
    for (size_t i = 0; i < a->n_frozen; i++) expect_tensor_eq(a->frozen[i], b->frozen[i], "frozen");
    ASSERT_EQ(a->n_groups, b->n_groups);
    for (size_t g = 0; g < a->n_groups; g++) {
        const auto &ga = a->groups[g], &gb = b->groups[g];
        EXPECT_STREQ(ga.group_name, gb.group_name);
        EXPECT_EQ(ga.step, gb.step);
        EXPECT_EQ(0, memcmp(&ga.initial_learning_rate, &gb.initial_learning_rate, sizeof(float)));
        ASSERT_EQ(ga.n_params, gb.n_params);
        for (size_t p = 0; p < ga.n_params; p++) {
            EXPECT_STREQ(ga.params[p].param_name, gb.params[p].param_name);
            ASSERT_EQ(ga.params[p].n_momentums, gb.params[p].n_momentums);
            for (size_t m = 0; m < ga.params[p].n_momentums; m++)
                expect_tensor_eq(ga.params[p].momentums[m], gb.params[p].momentums[m], "momentum");
        }
    }
    ASSERT_EQ(a->n_properties, b->n_properties);
    for (size_t i = 0; i < a->n_properties; i++) {
        const auto &pa = a->properties[i], &pb = b->properties[i];
        EXPECT_STREQ(pa.name, pb.name);
        ASSERT_EQ(pa.type, pb.type) << pa.name;
        if (pa.type == OT_ORT_PROPERTY_INT) EXPECT_EQ(pa.i, pb.i) << pa.name;
        if (pa.type == OT_ORT_PROPERTY_FLOAT) EXPECT_EQ(0, memcmp(&pa.f, &pb.f, sizeof(float))) << pa.name;
        if (pa.type == OT_ORT_PROPERTY_STRING) EXPECT_STREQ(pa.s, pb.s) << pa.name;
    }
}

// The MLP of the artifacts: name -> shape.
const std::map<std::string, std::string> kMlpParams = {
    {"fc1.weight", "(500, 784)"}, {"fc1.bias", "(500)"}, {"fc2.weight", "(10, 500)"}, {"fc2.bias", "(10)"}};

TEST(OrtCheckpoint, LoadsOrtCheckpointMatchingTrainingModel) {
    SKIP_WITHOUT_ARTIFACTS();
    Ckpt c = load_ok(kArtifacts + "/checkpoint.ckpt");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->version, 2);
    EXPECT_FALSE(c->is_nominal_state);
    EXPECT_EQ(c->n_frozen, 0u);
    EXPECT_EQ(c->n_groups, 0u);
    EXPECT_EQ(c->n_properties, 0u);
    ASSERT_EQ(c->n_trainable, 4u);
    std::map<std::string, std::string> got;
    for (size_t i = 0; i < c->n_trainable; i++) {
        const auto &t = c->trainable[i];
        EXPECT_EQ(t.tensor.dtype, OT_DTYPE_FLOAT) << t.name;
        got[t.name] = shape_str(t.tensor);
        // real initial weights: finite, not all zero
        const float *v = static_cast<const float *>(t.tensor.data);
        ASSERT_NE(v, nullptr);
        double abs_sum = 0;
        for (int64_t k = 0; k < ot_shape_numel(&t.tensor.shape); k++) {
            ASSERT_TRUE(std::isfinite(v[k])) << t.name << "[" << k << "]";
            abs_sum += std::fabs(v[k]);
        }
        EXPECT_GT(abs_sum, 0) << t.name;
    }
    EXPECT_EQ(got, kMlpParams);

    // Cross-check with the training graph: its parameter inputs (inputs
    // other than the data, the labels, the gradient accumulators and the
    // reset flag) are exactly the checkpoint's parameters, same shape/dtype.
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_load_options_t opts = {true};
    ot_model_t *model = nullptr;
    ot_status_t *st = ot_model_load((kArtifacts + "/training_model.onnx").c_str(), reg, &opts, &model);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    std::map<std::string, std::string> params_in_model;
    const std::string accum = "_grad.accumulation.buffer";
    for (int i = 0; i < ot_model_num_inputs(model); i++) {
        const char *name;
        ot_dtype_t dt;
        ot_shape_t shape;
        ASSERT_EQ(ot_model_input_info(model, i, &name, &dt, &shape), nullptr);
        std::string n = name;
        if (n == "input-0" || n == "labels" || n == "lazy_reset_grad") continue;
        if (n.size() > accum.size() && n.compare(n.size() - accum.size(), accum.size(), accum) == 0) {
            EXPECT_TRUE(ot_ort_checkpoint_find_param(c.get(), n.substr(0, n.size() - accum.size()).c_str())) << n;
            continue;
        }
        ot_tensor_t t = {dt, shape, nullptr};
        params_in_model[n] = shape_str(t);
        const ot_ort_tensor_t *p = ot_ort_checkpoint_find_param(c.get(), name);
        ASSERT_NE(p, nullptr) << n;
        EXPECT_EQ(p->tensor.dtype, dt) << n;
    }
    EXPECT_EQ(params_in_model, got);
    ot_model_destroy(model);

    // zero_model.onnx holds the same parameters as initializers, but all
    // zero: ORT's tests load the checkpoint into it, so its values are not
    // meant to match the checkpoint's. Check names/shapes and that it is
    // indeed all zero (so a value comparison would be wrong).
    st = ot_model_load((kArtifacts + "/zero_model.onnx").c_str(), reg, &opts, &model);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    std::map<std::string, std::string> zero_inits;
    for (int k = 0; k < model->graph.n_initializers; k++) {
        const ot_value_t &v = model->graph.values[model->graph.initializers[k]];
        zero_inits[v.name] = shape_str(v.type);
        const float *d = static_cast<const float *>(v.type.data);
        ASSERT_NE(d, nullptr);
        for (int64_t e = 0; e < ot_shape_numel(&v.type.shape); e++) ASSERT_EQ(d[e], 0.0f) << v.name;
    }
    EXPECT_EQ(zero_inits, got);
    ot_model_destroy(model);
    ot_registry_destroy(reg);
}

TEST(OrtCheckpoint, LoadsNominalCheckpoint) {
    SKIP_WITHOUT_ARTIFACTS();
    Ckpt c = load_ok(kArtifacts + "/nominal_checkpoint");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->version, 2);
    EXPECT_TRUE(c->is_nominal_state);
    std::set<std::string> names;
    for (size_t i = 0; i < c->n_trainable; i++) {
        names.insert(c->trainable[i].name);
        EXPECT_EQ(c->trainable[i].tensor.data, nullptr);
        EXPECT_EQ(c->trainable[i].tensor.dtype, OT_DTYPE_FLOAT);
    }
    EXPECT_EQ(c->n_frozen, 0u);
    std::set<std::string> want;
    for (const auto &kv : kMlpParams) want.insert(kv.first);
    EXPECT_EQ(names, want);
}

// Values of tools/fixtures/gen_ort_checkpoint_fixtures.py.
void expect_flatc_fixture(const ot_ort_checkpoint_t *c, int version) {
    EXPECT_EQ(c->version, version);
    EXPECT_FALSE(c->is_nominal_state);
    ASSERT_EQ(c->n_trainable, 2u);
    EXPECT_STREQ(c->trainable[0].name, "w");
    EXPECT_EQ(c->trainable[0].tensor.dtype, OT_DTYPE_FLOAT);
    EXPECT_EQ(shape_str(c->trainable[0].tensor), "(2, 3)");
    const float w[] = {0.5f, -1.25f, 2.0f, 3.5f, -4.0f, 1e-3f};
    EXPECT_EQ(0, memcmp(c->trainable[0].tensor.data, w, sizeof w));
    EXPECT_STREQ(c->trainable[1].name, "steps");
    EXPECT_EQ(c->trainable[1].tensor.dtype, OT_DTYPE_INT64);
    const int64_t steps[] = {7, -9};
    EXPECT_EQ(0, memcmp(c->trainable[1].tensor.data, steps, sizeof steps));
    ASSERT_EQ(c->n_frozen, 1u);
    EXPECT_STREQ(c->frozen[0].name, "scale");
    EXPECT_EQ(c->frozen[0].tensor.dtype, OT_DTYPE_DOUBLE);
    EXPECT_EQ(c->frozen[0].tensor.shape.rank, 0);
    EXPECT_EQ(*static_cast<const double *>(c->frozen[0].tensor.data), 3.25);
    ASSERT_EQ(c->n_groups, 1u);
    EXPECT_STREQ(c->groups[0].group_name, "group0");
    EXPECT_EQ(c->groups[0].step, 7);
    EXPECT_EQ(c->groups[0].initial_learning_rate, 0.01f);
    ASSERT_EQ(c->groups[0].n_params, 1u);
    EXPECT_STREQ(c->groups[0].params[0].param_name, "w");
    ASSERT_EQ(c->groups[0].params[0].n_momentums, 2u);
    EXPECT_STREQ(c->groups[0].params[0].momentums[0].name, "momentum0");
    EXPECT_STREQ(c->groups[0].params[0].momentums[1].name, "momentum1");
    const float m0[] = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(0, memcmp(c->groups[0].params[0].momentums[0].tensor.data, m0, sizeof m0));
    EXPECT_EQ(static_cast<const float *>(c->groups[0].params[0].momentums[1].tensor.data)[5], 0.25f);
    ASSERT_EQ(c->n_properties, 3u);
    EXPECT_STREQ(c->properties[0].name, "epoch");
    EXPECT_EQ(c->properties[0].type, OT_ORT_PROPERTY_INT);
    EXPECT_EQ(c->properties[0].i, 3);
    EXPECT_STREQ(c->properties[1].name, "best_loss");
    EXPECT_EQ(c->properties[1].type, OT_ORT_PROPERTY_FLOAT);
    EXPECT_EQ(c->properties[1].f, 0.125f);
    EXPECT_STREQ(c->properties[2].name, "note");
    EXPECT_EQ(c->properties[2].type, OT_ORT_PROPERTY_STRING);
    EXPECT_STREQ(c->properties[2].s, "made by flatc");
}

TEST(OrtCheckpoint, ReadsFlatcBuiltV1AndV2) {
    for (int v : {1, 2}) {
        SCOPED_TRACE("version " + std::to_string(v));
        Ckpt c = load_ok(kFixtures + "/flatc_v" + std::to_string(v) + ".ckpt");
        ASSERT_TRUE(c);
        expect_flatc_fixture(c.get(), v);
        // and what we write from it reads back the same (as version 2)
        Ckpt back = load_bytes_ok(serialize(c.get()));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->version, 2);
        expect_flatc_fixture(back.get(), 2);
    }
}

TEST(OrtCheckpoint, RoundTripRealFiles) {
    SKIP_WITHOUT_ARTIFACTS();
    for (const char *f : {"checkpoint.ckpt", "nominal_checkpoint"}) {
        SCOPED_TRACE(f);
        Ckpt c = load_ok(kArtifacts + "/" + f);
        ASSERT_TRUE(c);
        std::vector<uint8_t> bytes = serialize(c.get());
        ASSERT_GE(bytes.size(), 8u);
        EXPECT_EQ(0, memcmp(bytes.data() + 4, "ODTC", 4));
        Ckpt back = load_bytes_ok(bytes);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->version, OT_ORT_CHECKPOINT_VERSION);
        expect_ckpt_eq(c.get(), back.get());
        EXPECT_EQ(serialize(back.get()), bytes); // deterministic layout
    }
}

std::string temp_dir() {
    char tmpl[] = "/tmp/ot_ortckpt_XXXXXX";
    const char *d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    return d ? d : "/tmp";
}

std::vector<std::string> list_dir(const std::string &dir) {
    std::vector<std::string> out;
    DIR *d = opendir(dir.c_str());
    if (!d) return out;
    while (struct dirent *e = readdir(d))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) out.push_back(e->d_name);
    closedir(d);
    return out;
}

// The real checkpoint plus AdamW-like state and properties, all memory
// owned by the checkpoint (ot_ort_checkpoint_alloc).
void add_optimizer_state(ot_ort_checkpoint_t *c) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1, 1);
    c->n_groups = 1;
    c->groups = static_cast<ot_ort_optimizer_group_t *>(ot_ort_checkpoint_alloc(c, sizeof(ot_ort_optimizer_group_t)));
    ot_ort_optimizer_group_t &g = c->groups[0];
    g.group_name = ot_ort_checkpoint_strdup(c, "group0");
    g.step = 12;
    g.initial_learning_rate = 1e-3f;
    g.n_params = c->n_trainable;
    g.params = static_cast<ot_ort_param_state_t *>(ot_ort_checkpoint_alloc(c, sizeof(ot_ort_param_state_t) * g.n_params));
    for (size_t p = 0; p < g.n_params; p++) {
        g.params[p].param_name = c->trainable[p].name;
        g.params[p].n_momentums = 2;
        g.params[p].momentums = static_cast<ot_ort_tensor_t *>(ot_ort_checkpoint_alloc(c, 2 * sizeof(ot_ort_tensor_t)));
        for (int m = 0; m < 2; m++) {
            ot_ort_tensor_t &t = g.params[p].momentums[m];
            t.name = m ? "momentum1" : "momentum0";
            t.tensor = c->trainable[p].tensor;
            size_t n = ot_tensor_nbytes(&t.tensor);
            float *d = static_cast<float *>(ot_ort_checkpoint_alloc(c, n));
            for (size_t k = 0; k < n / 4; k++) d[k] = dist(rng);
            t.tensor.data = d;
        }
    }
    c->n_properties = 4;
    c->properties = static_cast<ot_ort_property_t *>(ot_ort_checkpoint_alloc(c, 4 * sizeof(ot_ort_property_t)));
    c->properties[0] = {"epoch", OT_ORT_PROPERTY_INT, -5000000000LL, 0, nullptr};
    c->properties[1] = {"iteration", OT_ORT_PROPERTY_INT, 17, 0, nullptr};
    c->properties[2] = {"best_loss", OT_ORT_PROPERTY_FLOAT, 0, 0.36050943f, nullptr};
    c->properties[3] = {"run", OT_ORT_PROPERTY_STRING, 0, 0, "mnist \xc3\xa9t\xc3\xa9"};
}

TEST(OrtCheckpoint, RoundTripWithOptimizerStateAndProperties) {
    SKIP_WITHOUT_ARTIFACTS();
    Ckpt c = load_ok(kArtifacts + "/checkpoint.ckpt");
    ASSERT_TRUE(c);
    add_optimizer_state(c.get());
    std::string dir = temp_dir(), path = dir + "/out.ckpt";
    ot_status_t *st = ot_ort_checkpoint_save(c.get(), path.c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Ckpt back = load_ok(path);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->version, 2);
    expect_ckpt_eq(c.get(), back.get());
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"out.ckpt"});
    unlink(path.c_str());
    rmdir(dir.c_str());
}

TEST(OrtCheckpoint, BuildsFromScratch) {
    ot_ort_checkpoint_t *c = nullptr;
    ASSERT_EQ(ot_ort_checkpoint_create(&c), nullptr);
    Ckpt owner(c);
    c->n_frozen = 1;
    c->frozen = static_cast<ot_ort_tensor_t *>(ot_ort_checkpoint_alloc(c, sizeof(ot_ort_tensor_t)));
    c->frozen[0].name = ot_ort_checkpoint_strdup(c, "running_mean");
    c->frozen[0].tensor.dtype = OT_DTYPE_FLOAT;
    c->frozen[0].tensor.shape.rank = 1;
    c->frozen[0].tensor.shape.dims[0] = 0; // zero-size tensors are legal
    c->frozen[0].tensor.data = ot_ort_checkpoint_alloc(c, 1);
    Ckpt back = load_bytes_ok(serialize(c));
    ASSERT_TRUE(back);
    expect_ckpt_eq(c, back.get());
    // names must be unique in every list the reader keys by name
    ot_ort_property_t props[2] = {{"a", OT_ORT_PROPERTY_INT, 1, 0, nullptr}, {"a", OT_ORT_PROPERTY_FLOAT, 0, 2, nullptr}};
    c->n_properties = 2;
    c->properties = props;
    uint8_t *buf = nullptr;
    size_t len = 0;
    ot_status_t *st = ot_ort_checkpoint_serialize(c, &buf, &len);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(ot_status_message(st), "ORT checkpoint: duplicate property 'a'");
    ot_status_free(st);
    EXPECT_EQ(buf, nullptr);
    c->n_properties = 0;
    c->properties = nullptr;
    ot_ort_tensor_t moms[2] = {c->frozen[0], c->frozen[0]};
    moms[0].name = moms[1].name = "momentum0";
    ot_ort_param_state_t ps = {"running_mean", 2, moms};
    ot_ort_optimizer_group_t grp = {"g", 0, 0.1f, 1, &ps};
    c->n_groups = 1;
    c->groups = &grp;
    st = ot_ort_checkpoint_serialize(c, &buf, &len);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(ot_status_message(st),
                 "ORT checkpoint: optimizer group 'g', parameter 'running_mean': duplicate momentum 'momentum0'");
    ot_status_free(st);
    moms[1].name = "momentum1";
    Ckpt with_group = load_bytes_ok(serialize(c));
    ASSERT_TRUE(with_group);
    expect_ckpt_eq(c, with_group.get());
    c->n_groups = 0;
    c->groups = nullptr;

    // an empty checkpoint: no module state at all
    c->n_frozen = 0;
    Ckpt empty = load_bytes_ok(serialize(c));
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->n_trainable + empty->n_frozen, 0u);
}

TEST(OrtCheckpoint, SaveIsAtomicAndRefusesBadInput) {
    SKIP_WITHOUT_ARTIFACTS();
    Ckpt c = load_ok(kArtifacts + "/checkpoint.ckpt");
    ASSERT_TRUE(c);
    std::string dir = temp_dir(), path = dir + "/ckpt";
    ASSERT_EQ(ot_ort_checkpoint_save(c.get(), path.c_str()), nullptr);
    std::vector<uint8_t> before = read_bytes(path);

    // duplicate parameter names: refused before anything is written
    const char *saved = c->trainable[1].name;
    c->trainable[1].name = c->trainable[0].name;
    ot_status_t *st = ot_ort_checkpoint_save(c.get(), path.c_str());
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ot_status_message(st)).find("duplicate parameter '"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    c->trainable[1].name = saved;

    // missing data outside a nominal state
    void *data = c->trainable[2].tensor.data;
    c->trainable[2].tensor.data = nullptr;
    st = ot_ort_checkpoint_save(c.get(), path.c_str());
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ot_status_message(st)).find("has no data"), std::string::npos) << ot_status_message(st);
    ot_status_free(st);
    c->trainable[2].tensor.data = data;

    EXPECT_EQ(read_bytes(path), before);
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"ckpt"});

    // a folder that does not exist: IO error, nothing created
    std::string nowhere = dir + "/missing/ckpt";
    st = ot_ort_checkpoint_save(c.get(), nowhere.c_str());
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO);
    ot_status_free(st);
    EXPECT_EQ(list_dir(dir), std::vector<std::string>{"ckpt"});
    unlink(path.c_str());
    rmdir(dir.c_str());

    st = ot_ort_checkpoint_load((dir + "/nothing").c_str(), nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    ot_status_free(st);
    ot_ort_checkpoint_t *none = nullptr;
    st = ot_ort_checkpoint_load((dir + "/nothing").c_str(), &none);
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO);
    EXPECT_EQ(none, nullptr);
    ot_status_free(st);
}

// flatc (flatbuffers-compiler) checks our writer independently: its
// annotator flags any out-of-bounds length/offset, and its JSON dump shows
// the values as the schema reads them.
// (A small checkpoint: flatc's JSON of the 1.5 MB real one takes minutes.)
TEST(OrtCheckpoint, FlatcReadsWhatWeWrite) {
    if (system("command -v flatc >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "flatc not on PATH (Debian package flatbuffers-compiler, installed by tools/setup.sh)";
    Ckpt c = load_ok(kFixtures + "/flatc_v2.ckpt");
    ASSERT_TRUE(c);
    // replace its optimizer state and properties by ours
    add_optimizer_state(c.get());
    std::string dir = temp_dir(), path = dir + "/ours.ckpt";
    ASSERT_EQ(ot_ort_checkpoint_save(c.get(), path.c_str()), nullptr);
    std::string schema = kFixtures + "/ort_training_checkpoint.fbs";
    std::string cmd = "cd '" + dir + "' && flatc --annotate '" + schema + "' -- ours.ckpt >/dev/null 2>&1 && " +
                      "flatc --json --strict-json -o . '" + schema + "' -- ours.ckpt >/dev/null 2>&1";
    ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
    std::vector<uint8_t> afb = read_bytes(dir + "/ours.afb");
    std::string annotated(afb.begin(), afb.end());
    EXPECT_GT(annotated.size(), 1000u);
    EXPECT_EQ(annotated.find("ERROR"), std::string::npos) << annotated.substr(annotated.find("ERROR") - 200, 400);
    std::vector<uint8_t> js = read_bytes(dir + "/ours.json");
    std::string json(js.begin(), js.end());
    for (const char *want : {"\"version\": 2", "\"name\": \"w\"", "\"name\": \"steps\"",
                             "\"data_type\": \"INT64\"", "\"name\": \"scale\"", "\"data_type\": \"DOUBLE\"",
                             "\"group_name\": \"group0\"", "\"step\": 12", "\"initial_learning_rate\": 0.001",
                             "\"param_name\": \"steps\"", "\"name\": \"momentum1\"", "\"name\": \"epoch\"",
                             "\"value\": -5000000000", "\"value\": 17", "\"name\": \"best_loss\"",
                             "\"name\": \"run\""})
        EXPECT_NE(json.find(want), std::string::npos) << want;
    for (const char *f : {"ours.ckpt", "ours.afb", "ours.json"}) unlink((dir + "/" + f).c_str());
    rmdir(dir.c_str());
}

// ---- malformed corpus ------------------------------------------------------

// A minimal navigator over a known-good buffer, to find what to damage.
struct Fb {
    std::vector<uint8_t> b;
    uint32_t u32(size_t p) const {
        uint32_t v;
        memcpy(&v, &b[p], 4);
        return v;
    }
    void set_u32(size_t p, uint32_t v) { memcpy(&b[p], &v, 4); }
    void set_u16(size_t p, uint16_t v) { memcpy(&b[p], &v, 2); }
    void set_i64(size_t p, int64_t v) { memcpy(&b[p], &v, 8); }
    size_t root() const { return u32(0); }
    size_t vtable(size_t t) const { return t - (int32_t)u32(t); }
    // position of field `id` of table `t` (0 if absent)
    size_t field(size_t t, int id) const {
        size_t vt = vtable(t);
        uint16_t vs;
        memcpy(&vs, &b[vt], 2);
        if (4 + 2 * (size_t)id >= vs) return 0;
        uint16_t off;
        memcpy(&off, &b[vt + 4 + 2 * id], 2);
        return off ? t + off : 0;
    }
    size_t ref(size_t at) const { return at + u32(at); }
    size_t deref_field(size_t t, int id) const { return ref(field(t, id)); }
    size_t elem(size_t vec, size_t i) const { return ref(vec + 4 + 4 * i); }
    size_t module_state() const { return deref_field(root(), 1); }
    size_t trainable_vec() const { return deref_field(module_state(), 0); }
    size_t tensor(size_t i) const { return elem(trainable_vec(), i); }
};

struct Case {
    const char *name;
    const char *file; // in the artifacts folder
    std::function<void(Fb &)> damage;
    ot_code_t code;
    const char *substr;
};

std::vector<Case> cases() {
    std::vector<Case> c;
    const char *ck = "checkpoint.ckpt", *nom = "nominal_checkpoint";
    c.push_back({"empty", ck, [](Fb &f) { f.b.clear(); }, OT_ERR_INVALID_MODEL,
                 "ORT checkpoint 'bad.ckpt': (root): file of 0 bytes is too short"});
    c.push_back({"wrong_identifier", ck, [](Fb &f) { memcpy(&f.b[4], "ORTM", 4); }, OT_ERR_INVALID_MODEL,
                 "(root): file identifier is 'ORTM', not 'ODTC'"});
    c.push_back({"unknown_version", ck, [](Fb &f) { f.set_u32(f.field(f.root(), 0), 7); }, OT_ERR_INVALID_MODEL,
                 "version: is 7, not a known checkpoint version"});
    c.push_back({"version_0_absent", ck, [](Fb &f) { f.set_u16(f.vtable(f.root()) + 4, 0); }, OT_ERR_INVALID_MODEL,
                 "version: is 0, not a known checkpoint version"});
    c.push_back({"version_3_external_data", ck, [](Fb &f) { f.set_u32(f.field(f.root(), 0), 3); },
                 OT_ERR_UNSUPPORTED, "version: is 3 (external data files)"});
    c.push_back({"nominal_in_version_1", nom, [](Fb &f) { f.set_u32(f.field(f.root(), 0), 1); },
                 OT_ERR_INVALID_MODEL, "module_state.is_nominal_state: is set in a version 1 checkpoint"});
    c.push_back({"bool_not_0_or_1", nom, [](Fb &f) { f.b[f.field(f.module_state(), 2)] = 2; }, OT_ERR_INVALID_MODEL,
                 "module_state.is_nominal_state: bool has the value 2"});
    c.push_back({"root_offset_outside", ck, [](Fb &f) { f.set_u32(0, (uint32_t)f.b.size() + 64); },
                 OT_ERR_INVALID_MODEL, "(root): offset"});
    c.push_back({"vtable_outside", ck, [](Fb &f) { f.set_u32(f.root(), 0x7fff0000u); }, OT_ERR_INVALID_MODEL,
                 "(root): vtable of the table at offset"});
    c.push_back({"vtable_field_outside_table", ck, [](Fb &f) { f.set_u16(f.vtable(f.root()) + 4 + 2, 0xfff0); },
                 OT_ERR_INVALID_MODEL, "module_state: field at table offset 65520"});
    c.push_back({"module_state_offset_outside", ck,
                 [](Fb &f) { f.set_u32(f.field(f.root(), 1), 0xfffffff0u); }, OT_ERR_INVALID_MODEL,
                 "module_state: offset 4294967280"});
    c.push_back({"params_vector_length_overflow", ck,
                 [](Fb &f) { f.set_u32(f.trainable_vec(), 0x40000000u); }, OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params: vector of 1073741824 elements"});
    c.push_back({"params_vector_missing", ck,
                 [](Fb &f) { f.set_u16(f.vtable(f.module_state()) + 4, 0); }, OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params: is missing"});
    c.push_back({"tensor_offset_outside", ck,
                 [](Fb &f) { f.set_u32(f.trainable_vec() + 4 + 4 * 2, 0x7ffffff0u); }, OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params[2]: offset"});
    c.push_back({"dims_product_overflows", ck,
                 [](Fb &f) {
                     size_t dims = f.deref_field(f.tensor(1), 2);
                     f.set_i64(dims + 4, 1LL << 40);
                     f.set_i64(dims + 12, 1LL << 40);
                 },
                 OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params[1].dims: dims (1099511627776, 1099511627776) of float32 "
                 "overflow"});
    c.push_back({"negative_dim", ck, [](Fb &f) { f.set_i64(f.deref_field(f.tensor(0), 2) + 4, -3); },
                 OT_ERR_INVALID_MODEL, "module_state.requires_grad_params[0].dims: dims (-3) has a negative"});
    c.push_back({"raw_data_shorter_than_dims", ck, [](Fb &f) { f.set_i64(f.deref_field(f.tensor(0), 2) + 4, 501); },
                 OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params[0].raw_data: has 2000 bytes, dims (501) of float32 need 2004"});
    c.push_back({"raw_data_length_overflow", ck,
                 [](Fb &f) { f.set_u32(f.deref_field(f.tensor(3), 4), 0xfffffff0u); }, OT_ERR_INVALID_MODEL,
                 "module_state.requires_grad_params[3].raw_data: vector of 4294967280 elements"});
    c.push_back({"raw_data_missing", ck, [](Fb &f) { f.set_u16(f.vtable(f.tensor(0)) + 4 + 2 * 4, 0); },
                 OT_ERR_INVALID_MODEL, "requires_grad_params[0].raw_data: is missing; dims (500) of float32 need"});
    c.push_back({"unknown_dtype", ck, [](Fb &f) { f.set_u32(f.field(f.tensor(0), 3), 99); }, OT_ERR_INVALID_MODEL,
                 "requires_grad_params[0].data_type: unknown data type 99"});
    c.push_back({"string_dtype", ck, [](Fb &f) { f.set_u32(f.field(f.tensor(0), 3), 8); }, OT_ERR_UNSUPPORTED,
                 "requires_grad_params[0].string_data: string tensors are not supported"});
    c.push_back({"float8_dtype", ck, [](Fb &f) { f.set_u32(f.field(f.tensor(0), 3), 17); }, OT_ERR_UNSUPPORTED,
                 "requires_grad_params[0].data_type: data type float8e4m3fn (17) is not supported"});
    c.push_back({"dtype_missing", ck, [](Fb &f) { f.set_u16(f.vtable(f.tensor(0)) + 4 + 2 * 3, 0); },
                 OT_ERR_INVALID_MODEL, "requires_grad_params[0].data_type: is missing (UNDEFINED)"});
    c.push_back({"name_without_nul", ck, [](Fb &f) {
                     size_t s = f.deref_field(f.tensor(0), 0);
                     f.b[s + 4 + f.u32(s)] = 'x';
                 },
                 OT_ERR_INVALID_MODEL, "requires_grad_params[0].name: string of 8 bytes"});
    c.push_back({"name_with_nul", ck, [](Fb &f) { f.b[f.deref_field(f.tensor(0), 0) + 6] = 0; },
                 OT_ERR_INVALID_MODEL, "requires_grad_params[0].name: string contains a NUL byte"});
    // (ORT's builder shares one vtable among the tensors: all lose the name)
    c.push_back({"name_missing", ck, [](Fb &f) { f.set_u16(f.vtable(f.tensor(1)) + 4, 0); }, OT_ERR_INVALID_MODEL,
                 "requires_grad_params[0].name: is missing"});
    c.push_back({"duplicate_names", ck,
                 [](Fb &f) {
                     // fc1.bias <-> fc2.bias: same length, so only one byte changes
                     for (size_t i = 0; i < 4; i++) {
                         size_t s = f.deref_field(f.tensor(i), 0);
                         if (f.u32(s) == 8 && memcmp(&f.b[s + 4], "fc1.bias", 8) == 0) f.b[s + 6] = '2';
                     }
                 },
                 OT_ERR_INVALID_MODEL, "duplicate parameter 'fc2.bias'"});
    c.push_back({"nominal_with_data", nom,
                 [](Fb &f) {
                     // give tensor 0 a raw_data of 4 bytes: its own name string's length word
                     size_t at = f.field(f.tensor(0), 4);
                     f.set_u32(at, (uint32_t)(f.deref_field(f.tensor(0), 0) - at));
                 },
                 OT_ERR_INVALID_MODEL, "requires_grad_params[0].raw_data: has 10 bytes, but the module state is "
                                       "nominal"});
    return c;
}

TEST(OrtCheckpointMalformed, Corpus) {
    SKIP_WITHOUT_ARTIFACTS();
    for (const Case &k : cases()) {
        SCOPED_TRACE(k.name);
        Fb f{read_bytes(kArtifacts + "/" + k.file)};
        k.damage(f);
        std::string msg;
        EXPECT_EQ(load_fail(f.b, &msg), k.code) << msg;
        EXPECT_NE(msg.find(k.substr), std::string::npos) << "message: " << msg << "\nwanted: " << k.substr;
    }
}

// Every truncation of the nominal file, and many of the real one, fails
// cleanly with a message naming a field (ASan/UBSan watch the reads).
TEST(OrtCheckpointMalformed, Truncations) {
    SKIP_WITHOUT_ARTIFACTS();
    auto check = [](const std::vector<uint8_t> &full, size_t len) {
        std::vector<uint8_t> b(full.begin(), full.begin() + len);
        ot_ort_checkpoint_t *c = nullptr;
        ot_status_t *st = ot_ort_checkpoint_load_bytes(b.data(), b.size(), "bad.ckpt", &c);
        ot_ort_checkpoint_destroy(c);
        ot_code_t code = ot_status_code(st);
        std::string msg = ot_status_message(st);
        ot_status_free(st);
        if (code == OT_OK) {
            // only cutting trailing alignment padding can leave a valid file
            EXPECT_LT(full.size() - len, 8u) << "length " << len;
            EXPECT_TRUE(std::all_of(full.begin() + len, full.end(), [](uint8_t x) { return x == 0; }))
                << "length " << len;
            return;
        }
        EXPECT_EQ(code, OT_ERR_INVALID_MODEL) << "length " << len << ": " << msg;
        EXPECT_EQ(msg.rfind("ORT checkpoint 'bad.ckpt': ", 0), 0u) << msg;
        bool names_field = false;
        for (const char *f : {"(root)", "version", "module_state", "optimizer_groups", "property_bag"})
            names_field |= msg.find(std::string("': ") + f) != std::string::npos;
        EXPECT_TRUE(names_field) << "length " << len << ": " << msg;
    };
    std::vector<uint8_t> nom = read_bytes(kArtifacts + "/nominal_checkpoint");
    for (size_t len = 0; len < nom.size(); len++) check(nom, len);
    std::vector<uint8_t> full = read_bytes(kArtifacts + "/checkpoint.ckpt");
    for (size_t len = 0; len < 600; len++) check(full, len);
    std::mt19937 rng(3);
    for (int i = 0; i < 60; i++) check(full, std::uniform_int_distribution<size_t>(600, full.size() - 1)(rng));
}

// Tensors whose raw_data all point at one shared vector would make the
// reader copy far more than the file holds: refused.
TEST(OrtCheckpointMalformed, SharedRawDataBoundedByFileSize) {
    ot_ort_checkpoint_t *c = nullptr;
    ASSERT_EQ(ot_ort_checkpoint_create(&c), nullptr);
    Ckpt owner(c);
    const size_t n = 10;
    c->n_trainable = n;
    c->trainable = static_cast<ot_ort_tensor_t *>(ot_ort_checkpoint_alloc(c, n * sizeof(ot_ort_tensor_t)));
    for (size_t i = 0; i < n; i++) {
        ot_ort_tensor_t &t = c->trainable[i];
        std::string name = "p" + std::to_string(i);
        t.name = ot_ort_checkpoint_strdup(c, name.c_str());
        t.tensor.dtype = OT_DTYPE_FLOAT;
        t.tensor.shape.rank = 1;
        t.tensor.shape.dims[0] = i == n - 1 ? 1000 : 1;
        t.tensor.data = ot_ort_checkpoint_alloc(c, 4000);
    }
    Fb f{serialize(c)};
    size_t big_raw = f.deref_field(f.tensor(n - 1), 4);
    for (size_t i = 0; i + 1 < n; i++) {
        f.set_i64(f.deref_field(f.tensor(i), 2) + 4, 1000);
        size_t at = f.field(f.tensor(i), 4);
        f.set_u32(at, (uint32_t)(big_raw - at));
    }
    std::string msg;
    EXPECT_EQ(load_fail(f.b, &msg), OT_ERR_INVALID_MODEL);
    EXPECT_NE(msg.find("raw_data: tensor data adds up to more than the file holds"), std::string::npos) << msg;
}

} // namespace

namespace {

// Random byte damage (1-4 bytes) to small valid checkpoints: every result is
// a clean load or a clean refusal (INVALID_MODEL/UNSUPPORTED naming the
// file); ASan/UBSan watch for anything else.
TEST(OrtCheckpointMalformed, RandomByteDamage) {
    std::vector<std::string> files = {kFixtures + "/flatc_v2.ckpt", kFixtures + "/flatc_v1.ckpt"};
    struct stat sb;
    if (stat((kArtifacts + "/nominal_checkpoint").c_str(), &sb) == 0) files.push_back(kArtifacts + "/nominal_checkpoint");
    std::mt19937 rng(11);
    int refused = 0, loaded = 0;
    for (const std::string &file : files) {
        const std::vector<uint8_t> good = read_bytes(file);
        ASSERT_FALSE(good.empty());
        for (int iter = 0; iter < 1500; iter++) {
            std::vector<uint8_t> b = good;
            int flips = 1 + (int)(rng() % 4);
            for (int k = 0; k < flips; k++) b[rng() % b.size()] = (uint8_t)rng();
            ot_ort_checkpoint_t *c = nullptr;
            ot_status_t *st = ot_ort_checkpoint_load_bytes(b.data(), b.size(), "fuzz.ckpt", &c);
            if (st) {
                refused++;
                EXPECT_TRUE(ot_status_code(st) == OT_ERR_INVALID_MODEL || ot_status_code(st) == OT_ERR_UNSUPPORTED)
                    << ot_status_message(st);
                EXPECT_EQ(std::string(ot_status_message(st)).rfind("ORT checkpoint 'fuzz.ckpt': ", 0), 0u)
                    << ot_status_message(st);
                EXPECT_EQ(c, nullptr);
                ot_status_free(st);
            } else {
                loaded++;
                // whatever loaded must serialize and read back the same
                Ckpt owner(c);
                Ckpt back = load_bytes_ok(serialize(c));
                ASSERT_TRUE(back);
                expect_ckpt_eq(c, back.get());
            }
        }
    }
    EXPECT_GT(refused, 1000);
    EXPECT_GT(loaded, 0); // damage inside tensor data is still a valid file
}

} // namespace
