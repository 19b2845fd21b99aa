// tests/test_seq_shape_grad.cc: gradient rules of Gather (com.microsoft::
// GatherGrad), the view ops (Reshape, Flatten, Squeeze, Unsqueeze),
// Transpose, Concat (ai.onnxtrain::ConcatGrad) and Cast, against central
// finite differences in float64 (tests/grad_check.h), plus GatherGrad's
// float32 kernel against a naive scatter-add written here.
#include "tests/grad_check.h"

using namespace ot_test;

namespace {

bool has(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

int64_t numel(const std::vector<int64_t> &d) {
    int64_t n = 1;
    for (int64_t v : d) n *= v;
    return n;
}

GradInput rnd(std::vector<int64_t> dims, uint32_t seed) { return diff(dims, random_values(numel(dims), seed)); }
GradInput ints(std::vector<int64_t> dims, std::vector<int64_t> v) { return fixed(Tensor::i64(dims, v)); }

GradCheckOptions symbolic() {
    GradCheckOptions o;
    o.symbolic_dims = true;
    return o;
}

} // namespace

// ------------------------------------------------------------------ Gather

TEST(SeqGatherGrad, FiniteDifferences) {
    // repeated and negative indices, every axis, 0-D and 2-D indices
    Node g0("Gather", 13);
    EXPECT_EQ(grad_check(g0, {rnd({5, 3}, 1), ints({6}, {0, 4, -1, 2, 0, 0})}), "");
    EXPECT_EQ(grad_check(g0, {rnd({5, 3}, 2), ints({2, 3}, {1, 1, -5, 3, 1, 2})}), "");
    EXPECT_EQ(grad_check(g0, {rnd({4}, 3), ints({}, {-2})}), "");
    Node g1("Gather", 13);
    g1.i("axis", 1);
    EXPECT_EQ(grad_check(g1, {rnd({2, 4, 3}, 4), ints({3}, {3, -1, 0})}), "");
    Node gm("Gather", 11);
    gm.i("axis", -1);
    EXPECT_EQ(grad_check(gm, {rnd({2, 3, 5}, 5), ints({2, 2}, {4, 4, 0, -5})}), "");
    EXPECT_EQ(grad_check(gm, {rnd({2, 3, 5}, 6), ints({2, 2}, {4, 4, 0, -5})}, symbolic()), "");
    // int32 indices
    EXPECT_EQ(grad_check(g0, {rnd({3, 2}, 7), fixed(Tensor::of<int32_t>(OT_DTYPE_INT32, {4}, {2, 2, 0, -1}))}), "");
}

// The embedding backward in float32 with many repeats and a row wider than
// one work block, against a serial naive scatter-add (same order of adds).
TEST(SeqGatherGrad, Float32MatchesNaiveScatterAdd) {
    int64_t vocab = 37, hidden = 300, tokens = 2000;
    std::vector<int64_t> idx(tokens);
    for (int64_t j = 0; j < tokens; j++) idx[j] = (j * 7919) % vocab - (j % 3 == 0 ? vocab : 0);
    std::vector<double> dyd = random_values(tokens * hidden, 12);
    std::vector<float> dy(dyd.begin(), dyd.end());
    for (int64_t axis : {0, 1}) {
        std::vector<int64_t> data_shape = axis == 0 ? std::vector<int64_t>{vocab, hidden}
                                                    : std::vector<int64_t>{hidden, vocab};
        std::vector<int64_t> dy_shape = axis == 0 ? std::vector<int64_t>{tokens, hidden}
                                                  : std::vector<int64_t>{hidden, tokens};
        Node g("GatherGrad", 1, "com.microsoft");
        g.i("axis", axis);
        Result r = run_op(g, {Tensor::i64({2}, data_shape), Tensor::i64({tokens}, idx), Tensor::f32(dy_shape, dy)}, 1,
                          {true, false, false});
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(r.outputs[0].dims, data_shape);
        std::vector<float> ref(vocab * hidden, 0.f);
        for (int64_t j = 0; j < tokens; j++) {
            int64_t v = idx[j] < 0 ? idx[j] + vocab : idx[j];
            for (int64_t h = 0; h < hidden; h++) {
                if (axis == 0) ref[v * hidden + h] += dy[j * hidden + h];
                else ref[h * vocab + v] += dy[h * tokens + j];
            }
        }
        expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "axis " + std::to_string(axis));
    }
}

TEST(SeqGatherGrad, RefusesBadInput) {
    Node g("GatherGrad", 1, "com.microsoft");
    Result r = run_op(g, {Tensor::i64({2}, {3, 2}), Tensor::i64({2}, {0, 3}), Tensor::f32({2, 2}, {1, 2, 3, 4})}, 1,
                      {true, false, false});
    EXPECT_TRUE(has(r.error, "node 'test_node' (com.microsoft::GatherGrad): index 3 (at 1) out of range [-3, 2]")) << r.error;
    r = run_op(g, {Tensor::i64({2}, {3, 2}), Tensor::i64({2}, {0, 1}), Tensor::f32({3, 2}, {1, 2, 3, 4, 5, 6})}, 1,
               {true, false, false});
    EXPECT_TRUE(has(r.error, "dY (3, 2) is not the Gather output shape for data (3, 2)")) << r.error;
}

// ------------------------------------------------------------------ view ops

TEST(SeqShapeGrad, ReshapeFlattenSqueezeUnsqueeze) {
    for (int opset : {13, 14}) {
        Node r("Reshape", opset);
        EXPECT_EQ(grad_check(r, {rnd({2, 3, 4}, 20), ints({3}, {4, -1, 2})}), "");
        EXPECT_EQ(grad_check(r, {rnd({2, 3, 4}, 21), ints({2}, {0, -1})}, symbolic()), "");
    }
    for (int64_t axis : {0, 1, 3}) {
        Node f("Flatten", 13);
        f.i("axis", axis);
        EXPECT_EQ(grad_check(f, {rnd({2, 3, 1, 2}, 22)}), "");
    }
    Node sq13("Squeeze", 13);
    EXPECT_EQ(grad_check(sq13, {rnd({1, 3, 1, 2}, 23), ints({1}, {-2})}), "");
    EXPECT_EQ(grad_check(sq13, {rnd({1, 3, 1, 2}, 24)}), "");
    Node sq11("Squeeze", 11);
    sq11.ints("axes", {0});
    EXPECT_EQ(grad_check(sq11, {rnd({1, 5}, 25)}, symbolic()), "");
    Node un13("Unsqueeze", 13);
    EXPECT_EQ(grad_check(un13, {rnd({3, 2}, 26), ints({2}, {0, -1})}), "");
    Node un1("Unsqueeze", 11);
    un1.ints("axes", {1});
    EXPECT_EQ(grad_check(un1, {rnd({3, 2}, 27)}), "");
}

TEST(SeqShapeGrad, Transpose) {
    Node rev("Transpose", 13);
    EXPECT_EQ(grad_check(rev, {rnd({2, 3, 4}, 30)}), "");
    for (std::vector<int64_t> perm : {std::vector<int64_t>{1, 2, 0}, std::vector<int64_t>{2, 0, 1},
                                      std::vector<int64_t>{0, 2, 1, 3}}) {
        Node t("Transpose", 13);
        t.ints("perm", perm);
        std::vector<int64_t> dims = perm.size() == 3 ? std::vector<int64_t>{2, 3, 4} : std::vector<int64_t>{2, 3, 1, 5};
        EXPECT_EQ(grad_check(t, {rnd(dims, 31)}, symbolic()), "");
    }
}

TEST(SeqShapeGrad, Concat) {
    Node c("Concat", 13);
    c.i("axis", 1);
    EXPECT_EQ(grad_check(c, {rnd({2, 1, 3}, 40), rnd({2, 4, 3}, 41), rnd({2, 2, 3}, 42)}), "");
    Node cn("Concat", 11);
    cn.i("axis", -1);
    EXPECT_EQ(grad_check(cn, {rnd({3, 2}, 43), rnd({3, 5}, 44)}, symbolic()), "");
    // one input is a constant: only the others get gradients
    Node c0("Concat", 11);
    c0.i("axis", 0);
    EXPECT_EQ(grad_check(c0, {rnd({2, 3}, 45), fixed(Tensor::of(OT_DTYPE_DOUBLE, {1, 3}, std::vector<double>{1, 2, 3})),
                              rnd({3, 3}, 46)}),
              "");
}

// Cast to the same float type: the rule's Cast back, against finite
// differences (other float types are checked exactly below: the harness
// weights float64 outputs only).
TEST(SeqShapeGrad, CastDoubleToDouble) {
    Node same("Cast", 13);
    same.i("to", OT_DTYPE_DOUBLE);
    EXPECT_EQ(grad_check(same, {rnd({3, 4}, 50)}), "");
}

TEST(SeqShapeGrad, CastChainThroughNarrowerFloats) {
    // L = sum(w * Cast<double>(Cast<T>(x))): dL/dx = w (the casts are
    // identity for the gradient), checked exactly against w.
    for (int to : {OT_DTYPE_FLOAT, OT_DTYPE_FLOAT16, OT_DTYPE_BFLOAT16}) {
        PbModel pb(8, 13);
        pb.add_opset("ai.onnx.preview.training", 1);
        pb.input("x", OT_DTYPE_DOUBLE, {2, 3});
        pb.input("w", OT_DTYPE_DOUBLE, {2, 3});
        pb.attr_int(pb.node("Cast", {"x"}, {"h"}), "to", to);
        pb.attr_int(pb.node("Cast", {"h"}, {"y"}), "to", OT_DTYPE_DOUBLE);
        pb.node("Mul", {"y", "w"}, {"z"});
        pb.attr_int(pb.node("ReduceSum", {"z"}, {"L"}), "keepdims", 0);
        auto *g = pb.node("Gradient", {"x"}, {"dx"}, "gradient");
        g->domain = pb.str("ai.onnx.preview.training");
        auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
        axs->n_strings = 1;
        axs->strings = pb.alloc<ProtobufCBinaryData>(1);
        axs->strings[0] = pb.bin("x");
        auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
        ay->has_s = 1;
        ay->s = pb.bin("L");
        pb.output_any("dx");
        Loaded m = load_bytes(pb.bytes(), nullptr, false);
        ASSERT_EQ(m.msg(), "");
        ot_session_t *s = nullptr;
        ot_status_t *st = ot_session_create(m.m, &s);
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        Tensor x = Tensor::of(OT_DTYPE_DOUBLE, {2, 3}, random_values(6, 51));
        std::vector<double> wv = {0.5, 1.25, -2, 3, 0.75, 1};
        Tensor w = Tensor::of(OT_DTYPE_DOUBLE, {2, 3}, wv);
        ot_tensor_t xv = x.view(), wv_t = w.view();
        const ot_tensor_t *feeds[2] = {&xv, &wv_t};
        ot_tensor_t *out[1] = {nullptr};
        st = ot_session_run(s, feeds, out);
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        ASSERT_EQ(out[0]->dtype, OT_DTYPE_DOUBLE);
        for (int i = 0; i < 6; i++) EXPECT_EQ(((const double *)out[0]->data)[i], wv[i]) << "to " << to << " " << i;
        ot_tensor_destroy(out[0]);
        ot_session_destroy(s);
    }
}

// Shape and ConstantOfShape carry no gradient (int64 shape in between):
// autodiff passes them by. L = sum(w * x * ConstantOfShape(Shape(x), 2)),
// so dL/dx = 2 w exactly.
TEST(SeqShapeGrad, ShapeAndConstantOfShapeArePassedBy) {
    PbModel pb(8, 13);
    pb.add_opset("ai.onnx.preview.training", 1);
    pb.input("x", OT_DTYPE_DOUBLE, {Dim("n"), 3});
    pb.input("w", OT_DTYPE_DOUBLE, {Dim("n"), 3});
    pb.node("Shape", {"x"}, {"s"});
    auto *c = pb.node("ConstantOfShape", {"s"}, {"two"});
    auto *a = pb.attr(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = pb.raw_tensor("", OT_DTYPE_DOUBLE, {1}, bytes_of(std::vector<double>{2.0}));
    pb.node("Mul", {"x", "two"}, {"y"});
    pb.node("Mul", {"y", "w"}, {"z"});
    pb.attr_int(pb.node("ReduceSum", {"z"}, {"L"}), "keepdims", 0);
    auto *g = pb.node("Gradient", {"x"}, {"dx"}, "gradient");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    axs->n_strings = 1;
    axs->strings = pb.alloc<ProtobufCBinaryData>(1);
    axs->strings[0] = pb.bin("x");
    auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    ay->has_s = 1;
    ay->s = pb.bin("L");
    pb.output_any("dx");
    Loaded m = load_bytes(pb.bytes(), nullptr, false);
    ASSERT_EQ(m.msg(), "");
    ot_session_t *s = nullptr;
    ot_status_t *st = ot_session_create(m.m, &s);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Tensor x = Tensor::of(OT_DTYPE_DOUBLE, {2, 3}, random_values(6, 60));
    std::vector<double> wv = random_values(6, 61);
    Tensor w = Tensor::of(OT_DTYPE_DOUBLE, {2, 3}, wv);
    ot_tensor_t xv = x.view(), wt = w.view();
    const ot_tensor_t *feeds[2] = {&xv, &wt};
    ot_tensor_t *out[1] = {nullptr};
    st = ot_session_run(s, feeds, out);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    for (int i = 0; i < 6; i++) EXPECT_EQ(((const double *)out[0]->data)[i], 2 * wv[i]) << i;
    ot_tensor_destroy(out[0]);
    ot_session_destroy(s);
}
