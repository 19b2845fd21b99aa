// tests/test_op_call.cc: runtime/op_call.h, one op record run over tensors
// the caller holds (what the ORT artifacts' optimizer step and the
// optimizer bench use). In place over several tensors, reading scalars and
// data anew on every run, against SGD's closed form computed here; and bad
// nodes refused at creation with the node named.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "onnxtrain/onnxtrain.h"
#include "runtime/op_call.h"

namespace {

struct OpCall : ::testing::Test {
    ot_registry_t *reg = nullptr;
    void SetUp() override { ASSERT_EQ(ot_registry_create(&reg), nullptr); }
    void TearDown() override { ot_registry_destroy(reg); }
    // The message of a creation that must fail (and leave *out NULL).
    std::string create_error(const ot_node_info_t &node, std::vector<ot_tensor_t *> in,
                             std::vector<ot_tensor_t *> out) {
        ot_op_call_t *c = reinterpret_cast<ot_op_call_t *>(&reg); // must be reset to NULL
        ot_status_t *st = ot_op_call_create(reg, &node, (int)in.size(), in.data(), (int)out.size(), out.data(), &c);
        EXPECT_EQ(c, nullptr);
        if (!st) ot_op_call_destroy(c);
        std::string msg = st ? ot_status_message(st) : "(no error)";
        ot_status_free(st);
        return msg;
    }
};

ot_tensor_t view(ot_dtype_t dt, std::vector<int64_t> dims, void *data) {
    ot_tensor_t t{};
    t.dtype = dt;
    t.shape.rank = (int)dims.size();
    for (size_t i = 0; i < dims.size(); i++) t.shape.dims[i] = dims[i];
    t.data = data;
    return t;
}

// SGD over two tensors, in place, three runs: lr and the gradients change
// between runs (and one gradient moves to another buffer); each run must
// read them anew. Without momentum SGD is p + (-lr) * g, exact in float.
TEST_F(OpCall, SgdInPlaceReadsScalarsAndDataOnEveryRun) {
    std::vector<float> p0 = {1.0f, -2.0f, 0.5f}, p1 = {4.0f, 8.0f}, g0 = {0.5f, 0.25f, -1.0f}, g1 = {2.0f, -0.75f};
    std::vector<float> g1b = {-1.0f, 3.0f};
    float lr = 0.5f;
    int64_t step = 1;
    ot_tensor_t t_lr = view(OT_DTYPE_FLOAT, {}, &lr), t_step = view(OT_DTYPE_INT64, {}, &step);
    ot_tensor_t tp0 = view(OT_DTYPE_FLOAT, {3}, p0.data()), tp1 = view(OT_DTYPE_FLOAT, {2, 1}, p1.data());
    ot_tensor_t tg0 = view(OT_DTYPE_FLOAT, {3}, g0.data()), tg1 = view(OT_DTYPE_FLOAT, {2, 1}, g1.data());
    std::vector<ot_tensor_t *> in = {&t_lr, &t_step, &tp0, &tp1, &tg0, &tg1}, out = {&tp0, &tp1};
    ot_node_info_t node{};
    node.name = "sgd";
    node.op_type = "SGD";
    node.domain = OT_DOMAIN;
    node.opset = 1;
    ot_op_call_t *c = nullptr;
    ot_status_t *st = ot_op_call_create(reg, &node, (int)in.size(), in.data(), (int)out.size(), out.data(), &c);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    std::vector<float> want0 = p0, want1 = p1;
    for (int run = 0; run < 3; run++) {
        if (run == 1) lr = 0.25f;
        if (run == 2) tg1.data = g1b.data();
        const float *g1_now = static_cast<const float *>(tg1.data);
        for (int i = 0; i < 3; i++) want0[i] = want0[i] + -lr * g0[i];
        for (int i = 0; i < 2; i++) want1[i] = want1[i] + -lr * g1_now[i];
        step = run + 1;
        ASSERT_EQ(ot_op_call_run(c), nullptr);
        EXPECT_EQ(p0, want0) << "run " << run;
        EXPECT_EQ(p1, want1) << "run " << run;
    }
    ot_op_call_destroy(c);
}

TEST_F(OpCall, BadNodesAreRefusedNamingTheNode) {
    std::vector<float> a = {1, 2}, b = {3, 4}, o = {0, 0};
    ot_tensor_t ta = view(OT_DTYPE_FLOAT, {2}, a.data()), tb = view(OT_DTYPE_FLOAT, {2}, b.data());
    ot_tensor_t to = view(OT_DTYPE_FLOAT, {2}, o.data()), to3 = view(OT_DTYPE_FLOAT, {3}, o.data());
    ot_node_info_t add{};
    add.name = "add1";
    add.op_type = "Add";
    add.domain = "";
    add.opset = 17;

    ot_node_info_t missing = add;
    missing.op_type = "NoSuchOp";
    EXPECT_NE(create_error(missing, {&ta, &tb}, {&to}).find("node 'add1' (NoSuchOp): no registered op"),
              std::string::npos);

    float lr = 0.1f;
    int64_t step = 1;
    ot_tensor_t t_lr = view(OT_DTYPE_FLOAT, {}, &lr), t_step = view(OT_DTYPE_INT64, {}, &step);
    ot_attr_t attr{};
    attr.name = "momentun";
    attr.type = OT_ATTR_FLOAT;
    ot_node_info_t sgd{};
    sgd.name = "opt";
    sgd.op_type = "SGD";
    sgd.domain = OT_DOMAIN;
    sgd.opset = 1;
    sgd.n_attrs = 1;
    sgd.attrs = &attr;
    EXPECT_NE(create_error(sgd, {&t_lr, &t_step, &ta, &tb}, {&ta}).find("node 'opt' (ai.onnxtrain::SGD): unknown "
                                                                       "attribute 'momentun'"),
              std::string::npos);
    attr.name = "momentum";
    attr.type = OT_ATTR_INT;
    EXPECT_NE(create_error(sgd, {&t_lr, &t_step, &ta, &tb}, {&ta}).find("attribute 'momentum' has type INT, "
                                                                       "expected FLOAT"),
              std::string::npos);

    EXPECT_NE(create_error(add, {&ta}, {&to}).find("node 'add1' (Add): has 1 inputs, expected 2"), std::string::npos);
    EXPECT_NE(create_error(add, {&ta, &tb}, {&to3}).find("output 0 is float32 (3), the op infers float32 (2)"),
              std::string::npos)
        << create_error(add, {&ta, &tb}, {&to3});
    EXPECT_NE(create_error(add, {&ta, &tb}, {&ta}).find("output 0 shares input 0's buffer"), std::string::npos);

    // The op's own inference errors come through unchanged.
    ot_node_info_t adamw{};
    adamw.name = "opt";
    adamw.op_type = "AdamW";
    adamw.domain = OT_DOMAIN;
    adamw.opset = 1;
    ot_attr_t mode{};
    mode.name = "adam_mode";
    mode.type = OT_ATTR_INT;
    mode.i = 3;
    adamw.n_attrs = 1;
    adamw.attrs = &mode;
    EXPECT_NE(create_error(adamw, {&t_lr, &t_step, &ta, &tb, &to, &to}, {&ta, &to, &to})
                  .find("node 'opt' (ai.onnxtrain::AdamW): attribute 'adam_mode' is 3"),
              std::string::npos);
}

} // namespace
