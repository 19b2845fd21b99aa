// tests/test_seq_layernorm.cc: LayerNormalization against ONNX's cases and
// the float64 reference kernel; com.microsoft::LayerNormalizationGrad (the
// float32 oneDNN path against the float64 reference loop, which is itself
// checked against central finite differences through the gradient rule).
#include "tests/conformance_case.h"
#include "tests/grad_check.h"

using namespace ot_test;

namespace {

bool has(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

int64_t numel(const std::vector<int64_t> &d) {
    int64_t n = 1;
    for (int64_t v : d) n *= v;
    return n;
}

Tensor f64(std::vector<int64_t> dims, const std::vector<double> &v) { return Tensor::of(OT_DTYPE_DOUBLE, dims, v); }
Tensor to_f32(const Tensor &t) {
    std::vector<double> v = t.vec<double>();
    return Tensor::f32(t.dims, std::vector<float>(v.begin(), v.end()));
}
std::vector<float> as_f32(const Tensor &t) {
    std::vector<double> v = t.vec<double>();
    return std::vector<float>(v.begin(), v.end());
}

struct LnCase {
    std::vector<int64_t> x;
    int64_t axis;
    bool bias;
};

const LnCase kCases[] = {
    {{3, 7}, -1, true},      {{2, 3, 5}, 1, true}, {{2, 3, 5}, -1, false}, {{4, 1, 3, 2}, 2, true},
    {{5}, 0, true},          {{2, 3, 4}, 0, true}, {{3, 17}, 1, false},
};

std::vector<int64_t> tail(const std::vector<int64_t> &x, int64_t axis) {
    if (axis < 0) axis += (int64_t)x.size();
    return std::vector<int64_t>(x.begin() + axis, x.end());
}

} // namespace

class SeqLayerNormConformance : public ::testing::TestWithParam<std::string> {};
TEST_P(SeqLayerNormConformance, Passes) { EXPECT_EQ(run_node_case(GetParam()), ""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, SeqLayerNormConformance,
    ::testing::Values("test_layer_normalization_2d_axis0", "test_layer_normalization_2d_axis1",
                      "test_layer_normalization_2d_axis_negative_1", "test_layer_normalization_2d_axis_negative_2",
                      "test_layer_normalization_3d_axis0_epsilon", "test_layer_normalization_3d_axis1_epsilon",
                      "test_layer_normalization_3d_axis2_epsilon", "test_layer_normalization_3d_axis_negative_1_epsilon",
                      "test_layer_normalization_3d_axis_negative_2_epsilon",
                      "test_layer_normalization_3d_axis_negative_3_epsilon", "test_layer_normalization_4d_axis0",
                      "test_layer_normalization_4d_axis1", "test_layer_normalization_4d_axis2",
                      "test_layer_normalization_4d_axis3", "test_layer_normalization_4d_axis_negative_1",
                      "test_layer_normalization_4d_axis_negative_2", "test_layer_normalization_4d_axis_negative_3",
                      "test_layer_normalization_4d_axis_negative_4", "test_layer_normalization_default_axis"));

// float32 (oneDNN) forward against the float64 reference on the same data,
// Mean and InvStdDev included.
TEST(SeqLayerNorm, Float32MatchesFloat64Reference) {
    uint32_t seed = 1;
    for (const LnCase &c : kCases) {
        std::vector<int64_t> w = tail(c.x, c.axis);
        Tensor x = f64(c.x, random_values(numel(c.x), seed++, -3, 3));
        Tensor s = f64(w, random_values(numel(w), seed++, 0.5, 1.5)), b = f64(w, random_values(numel(w), seed++));
        Node n64("LayerNormalization", 17), n32("LayerNormalization", 17);
        n64.i("axis", c.axis).i("stash_type", 11);
        n32.i("axis", c.axis);
        std::vector<Tensor> in64 = {x, s}, in32 = {to_f32(x), to_f32(s)};
        if (c.bias) in64.push_back(b), in32.push_back(to_f32(b));
        Result r64 = run_op(n64, in64, 3), r32 = run_op(n32, in32, 3);
        ASSERT_EQ(r64.error, "");
        ASSERT_EQ(r32.error, "");
        ASSERT_EQ(r32.outputs[1].dtype, OT_DTYPE_FLOAT);
        ASSERT_EQ(r32.outputs[1].dims, r64.outputs[1].dims);
        for (int o = 0; o < 3; o++)
            expect_near(r32.outputs[o].vec<float>(), as_f32(r64.outputs[o]), 1e-5, 1e-5, "output " + std::to_string(o));
    }
}

// The gradient rule and the float64 backward kernel against finite
// differences, over shapes, axes, with and without B.
TEST(SeqLayerNormGrad, FiniteDifferences) {
    uint32_t seed = 100;
    for (const LnCase &c : kCases) {
        std::vector<int64_t> w = tail(c.x, c.axis);
        Node n("LayerNormalization", 17);
        n.i("axis", c.axis).i("stash_type", 11).f("epsilon", 1e-3f);
        std::vector<GradInput> in = {diff(c.x, random_values(numel(c.x), seed++, -2, 2)),
                                     diff(w, random_values(numel(w), seed++, 0.5, 1.5))};
        if (c.bias) in.push_back(diff(w, random_values(numel(w), seed++)));
        EXPECT_EQ(grad_check(n, in), "") << "x rank " << c.x.size() << " axis " << c.axis;
    }
    // B with an extra leading 1 (its gradient is reshaped), symbolic dims
    Node n("LayerNormalization", 17);
    n.i("stash_type", 11);
    GradCheckOptions opt;
    opt.symbolic_dims = true;
    EXPECT_EQ(grad_check(n, {diff({3, 4}, random_values(12, 7)), diff({4}, random_values(4, 8, 0.5, 1.5)),
                             diff({1, 4}, random_values(4, 9))},
                         opt),
              "");
    // the model also asks for Mean and InvStdDev (weights only on Y)
    GradCheckOptions opt3;
    opt3.n_outputs = 3;
    EXPECT_EQ(grad_check(n, {diff({2, 5}, random_values(10, 10)), diff({5}, random_values(5, 11, 0.5, 1.5))}, opt3), "");
}

// float32 backward (oneDNN) against the float64 backward (reference) on
// the same data; dscale/dB requested or not.
TEST(SeqLayerNormGrad, Float32MatchesFloat64Reference) {
    uint32_t seed = 300;
    for (const LnCase &c : kCases) {
        std::vector<int64_t> w = tail(c.x, c.axis);
        Tensor x = f64(c.x, random_values(numel(c.x), seed++, -3, 3));
        Tensor s = f64(w, random_values(numel(w), seed++, 0.5, 1.5));
        Tensor dy = f64(c.x, random_values(numel(c.x), seed++));
        // statistics from the forward (float64 for one, float32 for the other)
        Node f64n("LayerNormalization", 17), f32n("LayerNormalization", 17);
        f64n.i("axis", c.axis).i("stash_type", 11);
        f32n.i("axis", c.axis);
        Result s64 = run_op(f64n, {x, s}, 3), s32 = run_op(f32n, {to_f32(x), to_f32(s)}, 3);
        ASSERT_EQ(s64.error, "");
        ASSERT_EQ(s32.error, "");
        Node g("LayerNormalizationGrad", 1, "com.microsoft");
        g.i("axis", c.axis);
        Result r64 = run_op(g, {dy, x, s, s64.outputs[1], s64.outputs[2]}, 3);
        ASSERT_EQ(r64.error, "");
        for (int n_out : {3, 1}) {
            Result r32 = run_op(g, {to_f32(dy), to_f32(x), to_f32(s), s32.outputs[1], s32.outputs[2]}, n_out);
            ASSERT_EQ(r32.error, "");
            for (int o = 0; o < n_out; o++)
                expect_near(r32.outputs[o].vec<float>(), as_f32(r64.outputs[o]), 1e-4, 1e-4,
                            "grad output " + std::to_string(o));
        }
    }
}

TEST(SeqLayerNorm, RefusesBadInput) {
    Node n("LayerNormalization", 17);
    Result r = run_op(n, {Tensor::f32({2, 3}, std::vector<float>(6, 1)), Tensor::f32({2}, {1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "node 'test_node' (LayerNormalization): Scale (2) must have the normalized dims of X (2, 3)"))
        << r.error;
    Node bad_axis("LayerNormalization", 17);
    bad_axis.i("axis", 2);
    r = run_op(bad_axis, {Tensor::f32({2, 3}, std::vector<float>(6, 1)), Tensor::f32({3}, {1, 1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "axis 2 out of range for rank 2")) << r.error;
    Node stash("LayerNormalization", 17);
    stash.i("stash_type", 10);
    r = run_op(stash, {Tensor::f32({2, 3}, std::vector<float>(6, 1)), Tensor::f32({3}, {1, 1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "stash_type 10 not supported")) << r.error;
    r = run_op(n, {Tensor::i64({3}, {1, 2, 3}), Tensor::i64({3}, {1, 1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "X dtype int64 not supported")) << r.error;
}
