// tests/test_session.cc: the validator's errors, the planner (shape-keyed
// plan cache, constant folding, arena reuse), inference sessions, and
// plugins, on small models built in the test.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <dnnl.h>

#include "onnxtrain/onnxtrain.h"
#include "tests/model_builder.h"
extern "C" {
#include "runtime/ir.h"
#include "runtime/plan.h"
}

using ot_test::Dim;
using ot_test::PbModel;

namespace {

constexpr int F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
constexpr int I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;

struct Env {
    ot_registry_t *reg = nullptr;
    dnnl_engine_t engine = nullptr;
    dnnl_stream_t stream = nullptr;
    Env() {
        EXPECT_EQ(ot_registry_create(&reg), nullptr);
        dnnl_engine_create(&engine, dnnl_cpu, 0);
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    }
    ~Env() {
        dnnl_stream_destroy(stream);
        dnnl_engine_destroy(engine);
        ot_registry_destroy(reg);
    }
};

// Loads; returns "" or "<CODE>: message".
std::string load(Env &env, PbModel &b, ot_model_t **m) {
    std::string bytes = b.bytes();
    ot_status_t *st = ot_model_load_bytes(bytes.data(), bytes.size(), nullptr, env.reg, nullptr, m);
    if (!st) return "";
    std::string msg = std::string(ot_code_name(ot_status_code(st))) + ": " + ot_status_message(st);
    ot_status_free(st);
    return msg;
}

void expect_load_error(PbModel &b, const std::string &code, const std::string &substring) {
    Env env;
    ot_model_t *m = nullptr;
    std::string err = load(env, b, &m);
    EXPECT_EQ(err.rfind(code + ":", 0), 0u) << err;
    EXPECT_NE(err.find(substring), std::string::npos) << err;
    EXPECT_EQ(m, nullptr);
    ot_model_destroy(m);
}

ot_tensor_t *make_f32(std::vector<int64_t> dims, std::vector<float> v) {
    ot_shape_t s{};
    s.rank = (int)dims.size();
    for (size_t i = 0; i < dims.size(); i++) s.dims[i] = dims[i];
    ot_tensor_t *t = nullptr;
    EXPECT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &s, &t), nullptr);
    std::memcpy(t->data, v.data(), v.size() * sizeof(float));
    return t;
}

TEST(Validate, UnorderedNodesAreSorted) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("Relu", {"y"}, {"z"});
    b.node("Neg", {"x"}, {"y"});
    Env env;
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    EXPECT_STREQ(m->graph.nodes[0].info.op_type, "Neg");
    EXPECT_STREQ(m->graph.nodes[1].info.op_type, "Relu");
    ot_model_destroy(m);
}

TEST(Validate, RejectsCycle) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("Add", {"x", "w"}, {"y"}, "a");
    b.node("Relu", {"y"}, {"w"}, "r");
    b.node("Neg", {"y"}, {"z"});
    expect_load_error(b, "INVALID_MODEL", "cycle");
}

TEST(Validate, RejectsDanglingInput) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("Add", {"x", "nowhere"}, {"z"}, "add1");
    expect_load_error(b, "INVALID_MODEL", "node 'add1' (Add): input 'nowhere' is not a graph input");
}

TEST(Validate, RejectsDuplicateOutput) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("Relu", {"x"}, {"z"}, "r1");
    b.node("Neg", {"x"}, {"z"}, "n1");
    expect_load_error(b, "INVALID_MODEL", "output 'z' is also produced by node");
}

TEST(Validate, RejectsUnknownOp) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("NoSuchOp", {"x"}, {"z"}, "mystery");
    expect_load_error(b, "UNSUPPORTED", "node 'mystery' (NoSuchOp): no registered op for opset 17");
}

TEST(Validate, RejectsWrongArity) {
    PbModel b(8, 17);
    b.input("x", F32, {2});
    b.output("z", F32, {2});
    b.node("Relu", {"x", "x"}, {"z"}, "r");
    expect_load_error(b, "INVALID_MODEL", "node 'r' (Relu): has 2 inputs, expected 1 to 1");
}

TEST(Validate, RejectsAttributeOfWrongType) {
    PbModel b(8, 17);
    b.input("x", F32, {2, 3});
    b.output("z", F32, {2, 3});
    b.node("Softmax", {"x"}, {"z"}, "sm");
    b.attr_float(b.nodes.back(), "axis", 1.0f);
    expect_load_error(b, "INVALID_MODEL", "node 'sm' (Softmax): attribute 'axis' has type FLOAT, expected INT");
}

TEST(Validate, RejectsMissingRequiredAttribute) {
    PbModel b(8, 17);
    b.input("x", F32, {1, 1, 4, 4});
    b.output("z", F32, {1, 1, 2, 2});
    b.node("MaxPool", {"x"}, {"z"}, "pool"); // kernel_shape is required
    expect_load_error(b, "INVALID_MODEL", "node 'pool' (MaxPool): missing required attribute 'kernel_shape'");
}

TEST(Validate, RejectsIncompatibleShapes) {
    PbModel b(8, 17);
    b.input("x", F32, {2, 3});
    b.input("y", F32, {4});
    b.output("z", F32, {});
    b.node("Add", {"x", "y"}, {"z"}, "add");
    expect_load_error(b, "INVALID_MODEL", "node 'add' (Add)");
}

TEST(Validate, KeepsSymbolicDims) {
    PbModel b(8, 17);
    b.input("x", F32, {"N", 3});
    b.output("z", F32, {"N", 3});
    b.node("Relu", {"x"}, {"z"});
    Env env;
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    const char *name;
    ot_dtype_t dt;
    ot_shape_t s;
    ASSERT_EQ(ot_model_output_info(m, 0, &name, &dt, &s), nullptr);
    EXPECT_EQ(s.rank, 2);
    EXPECT_LT(s.dims[0], 0);
    EXPECT_EQ(s.dims[1], 3);
    ot_model_destroy(m);
}

// x (N, 4) -> Shape -> Gather(0) -> Concat with [2, 2] -> Reshape(x) -> Relu
void dynamic_reshape_model(PbModel &b) {
    b.input("x", F32, {"N", 4});
    b.output("y", F32, {"N", 2, 2});
    b.node("Shape", {"x"}, {"shape"});
    b.node("Constant", {}, {"idx"});
    b.attr_int(b.nodes.back(), "value_int", 0);
    b.node("Gather", {"shape", "idx"}, {"n"});
    b.attr_int(b.nodes.back(), "axis", 0);
    b.node("Unsqueeze", {"n", "axes"}, {"n1"});
    b.node("Constant", {}, {"axes"});
    b.attr_ints(b.nodes.back(), "value_ints", {0});
    b.node("Constant", {}, {"tail"});
    b.attr_ints(b.nodes.back(), "value_ints", {2, 2});
    b.node("Concat", {"n1", "tail"}, {"target"});
    b.attr_int(b.nodes.back(), "axis", 0);
    b.node("Reshape", {"x", "target"}, {"r"});
    b.node("Relu", {"r"}, {"y"});
}

TEST(Session, FoldsShapeArithmeticAndCachesPlansPerShape) {
    Env env;
    PbModel b(8, 17);
    dynamic_reshape_model(b);
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    ot_session_t *s = nullptr;
    ASSERT_EQ(ot_session_create(m, &s), nullptr);
    for (int64_t n : {3, 5, 3}) {
        std::vector<float> v(n * 4);
        for (size_t i = 0; i < v.size(); i++) v[i] = (float)i - 5.0f;
        ot_tensor_t *x = make_f32({n, 4}, v), *y = nullptr;
        const ot_tensor_t *in[] = {x};
        ot_status_t *st = ot_session_run(s, in, &y);
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        ASSERT_EQ(y->shape.rank, 3);
        EXPECT_EQ(y->shape.dims[0], n);
        for (size_t i = 0; i < v.size(); i++) EXPECT_EQ(((float *)y->data)[i], std::max(v[i], 0.0f));
        ot_tensor_destroy(x);
        ot_tensor_destroy(y);
    }
    // Planning directly: only Reshape (a view) and Relu remain as steps.
    ot_tensor_t *x = make_f32({7, 4}, std::vector<float>(28, 1.0f));
    const ot_tensor_t *in[] = {x};
    ot_plan_t *p = nullptr;
    ASSERT_EQ(ot_plan_create(m, in, env.engine, env.stream, &p), nullptr);
    ot_plan_stats_t stats;
    ot_plan_get_stats(p, &stats);
    EXPECT_EQ(stats.n_steps, 2);
    EXPECT_EQ(stats.n_folded, 7);
    ot_plan_destroy(p);
    ot_tensor_destroy(x);
    ot_session_destroy(s);
    ot_model_destroy(m);
}

TEST(Session, ArenaReusesDeadActivations) {
    // A chain of 8 same-size elementwise ops needs 2 live buffers, not 8.
    PbModel b(8, 17);
    b.input("x", F32, {256});
    b.output("y7", F32, {256});
    std::string prev = "x";
    for (int i = 0; i < 8; i++) {
        std::string out = "y" + std::to_string(i);
        b.node(i % 2 ? "Relu" : "Neg", {prev}, {out});
        prev = out;
    }
    Env env;
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    ot_tensor_t *x = make_f32({256}, std::vector<float>(256, 2.0f));
    const ot_tensor_t *in[] = {x};
    ot_plan_t *p = nullptr;
    ASSERT_EQ(ot_plan_create(m, in, env.engine, env.stream, &p), nullptr);
    ot_plan_stats_t stats;
    ot_plan_get_stats(p, &stats);
    EXPECT_EQ(stats.naive_bytes, 8u * 1024u);
    EXPECT_EQ(stats.arena_bytes, 2u * 1024u);
    ASSERT_EQ(ot_plan_run(p, in), nullptr);
    // -(relu(-(relu(...)))) of 2: Neg gives -2, Relu 0, then stays 0
    EXPECT_EQ(((const float *)ot_plan_value(p, ot_graph_find(&m->graph, "y7"))->data)[0], 0.0f);
    ot_plan_destroy(p);
    ot_tensor_destroy(x);
    ot_model_destroy(m);
}

TEST(Session, RefusesInputOfWrongTypeOrShape) {
    PbModel b(8, 17);
    b.input("x", F32, {"N", 3});
    b.output("y", F32, {"N", 3});
    b.node("Relu", {"x"}, {"y"});
    Env env;
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    ot_session_t *s = nullptr;
    ASSERT_EQ(ot_session_create(m, &s), nullptr);
    ot_tensor_t *bad = make_f32({2, 4}, std::vector<float>(8, 0.0f)), *y = nullptr;
    const ot_tensor_t *in[] = {bad};
    ot_status_t *st = ot_session_run(s, in, &y);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(ot_status_message(st)).find("input 'x' has shape (2, 4), the model expects (?, 3)"),
              std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    EXPECT_EQ(y, nullptr);
    ot_tensor_destroy(bad);
    ot_session_destroy(s);
    ot_model_destroy(m);
}

TEST(Plugin, RunsAModelUsingThePluginOp) {
    Env env;
    ot_status_t *st = ot_registry_load_plugin(env.reg, OT_EXAMPLE_PLUGIN);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    PbModel b(8, 17);
    b.add_opset("com.example", 1);
    b.input("x", F32, {5});
    b.output("y", F32, {5});
    b.node("Swish", {"x"}, {"y"})->domain = b.str("com.example");
    b.attr_float(b.nodes.back(), "beta", 2.0f);
    ot_model_t *m = nullptr;
    ASSERT_EQ(load(env, b, &m), "");
    ot_session_t *s = nullptr;
    ASSERT_EQ(ot_session_create(m, &s), nullptr);
    std::vector<float> v = {-3.0f, -0.5f, 0.0f, 0.25f, 4.0f};
    ot_tensor_t *x = make_f32({5}, v), *y = nullptr;
    const ot_tensor_t *in[] = {x};
    ASSERT_EQ(ot_session_run(s, in, &y), nullptr);
    for (int i = 0; i < 5; i++) {
        double ref = v[i] / (1.0 + std::exp(-2.0 * v[i]));
        EXPECT_NEAR(((float *)y->data)[i], ref, 1e-6) << i;
    }
    ot_tensor_destroy(x);
    ot_tensor_destroy(y);
    ot_session_destroy(s);
    ot_model_destroy(m);
}

TEST(Plugin, RefusesAnotherAbiVersion) {
    Env env;
    ot_status_t *st = ot_registry_load_plugin(env.reg, OT_EXAMPLE_PLUGIN_WRONG_ABI);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_UNSUPPORTED);
    // the message names the library and both versions
    const std::string want = std::string("plugin '") + OT_EXAMPLE_PLUGIN_WRONG_ABI +
                             "' was built for onnxtrain plugin ABI version " +
                             std::to_string(OT_PLUGIN_ABI_VERSION + 1000) + "; this runtime needs version " +
                             std::to_string(OT_PLUGIN_ABI_VERSION);
    EXPECT_NE(std::string(ot_status_message(st)).find(want), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    EXPECT_EQ(ot_registry_find(env.reg, "com.example", "Swish", 1), nullptr);
    // a record (rather than a library) built for another ABI is refused too
    ot_op_def_t old{};
    old.abi_version = OT_PLUGIN_ABI_VERSION - 1;
    old.op_type = "Old";
    st = ot_registry_add(env.reg, &old);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(ot_status_message(st)).find("op record 'Old' was built for ABI version " +
                                                      std::to_string(OT_PLUGIN_ABI_VERSION - 1) + ", this runtime is " +
                                                      std::to_string(OT_PLUGIN_ABI_VERSION)),
              std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
}

TEST(Plugin, MissingLibraryIsAnIoError) {
    Env env;
    ot_status_t *st = ot_registry_load_plugin(env.reg, "/nonexistent/plugin.so");
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO);
    ot_status_free(st);
}

} // namespace
