// tests/test_cnn_backward.cc: our float32 CNN kernels (forward and backward,
// oneDNN where they use it) against PyTorch 1.13, from the fixtures that
// tools/fixtures/gen_cnn_fixtures.py wrote under tests/fixtures/cnn/ (see
// that script for the cases). Tolerance: |got - ref| <= 1e-5 + 1e-4 |ref|.
#include "tests/op_harness.h"

#include <string>

using namespace ot_test;

namespace {

constexpr double kAtol = 1e-5, kRtol = 1e-4;

// Loads tests/fixtures/cnn/<name>.npy; fails the test on a missing or
// degenerate (all-zero) fixture.
Tensor fixture(const std::string &name) {
    std::string path = std::string(OT_SOURCE_DIR) + "/tests/fixtures/cnn/" + name + ".npy";
    ot_tensor_t *t = nullptr;
    ot_status_t *st = ot_tensor_load(path.c_str(), &t);
    if (st) {
        ADD_FAILURE() << path << ": " << ot_status_message(st);
        ot_status_free(st);
        return Tensor::absent();
    }
    Tensor out;
    out.dtype = t->dtype;
    out.dims.assign(t->shape.dims, t->shape.dims + t->shape.rank);
    size_t bytes = (size_t)ot_shape_numel(&t->shape) * ot_dtype_size(t->dtype);
    out.bytes.assign((const unsigned char *)t->data, (const unsigned char *)t->data + bytes);
    ot_tensor_destroy(t);
    EXPECT_EQ(out.dtype, OT_DTYPE_FLOAT) << name;
    bool any = false;
    for (float v : out.vec<float>()) any |= v != 0;
    EXPECT_TRUE(any) << name << " is all zeros";
    return out;
}

void expect_fixture(const Tensor &got, const std::string &name) {
    Tensor ref = fixture(name);
    EXPECT_EQ(got.dims, ref.dims) << name;
    expect_near(got.vec<float>(), ref.vec<float>(), kAtol, kRtol, name);
}

void check_conv(const std::string &p, const Node &conv, const Node &grad) {
    Tensor x = fixture(p + "_x"), w = fixture(p + "_w"), b = fixture(p + "_b");
    Result y = run_op(conv, {x, w, b}, 1);
    ASSERT_EQ(y.error, "");
    expect_fixture(y.outputs[0], p + "_y");
    Result g = run_op(grad, {fixture(p + "_dy"), x, w}, 3);
    ASSERT_EQ(g.error, "");
    expect_fixture(g.outputs[0], p + "_dx");
    expect_fixture(g.outputs[1], p + "_dw");
    expect_fixture(g.outputs[2], p + "_db");
}

TEST(CnnBackwardTorch, Conv2dGroups2Dilation2Stride2) {
    auto attrs = [](Node n) {
        n.i("group", 2).ints("dilations", {2, 2}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1});
        return n;
    };
    check_conv("conv_g2", attrs(Node("Conv", 13)), attrs(Node("ConvGrad", 1, "com.microsoft")));
}

TEST(CnnBackwardTorch, Conv2dDepthwise) {
    auto attrs = [](Node n) {
        n.i("group", 3).ints("pads", {1, 1, 1, 1});
        return n;
    };
    check_conv("conv_dw", attrs(Node("Conv", 13)), attrs(Node("ConvGrad", 1, "com.microsoft")));
}

// BatchNorm2d(momentum 0.1) = ONNX momentum 0.9; the forward's saved
// statistics (hidden outputs 3, 4) feed BatchNormalizationGrad.
void check_bn(bool unbiased) {
    Node bn("BatchNormalization", 15);
    bn.f("epsilon", 1e-5f).f("momentum", 0.9f).i("training_mode", 1);
    if (unbiased) bn.i("unbiased_running_var", 1);
    Tensor x = fixture("bn_x"), scale = fixture("bn_scale");
    Result f = run_op(bn, {x, scale, fixture("bn_bias"), fixture("bn_mean_in"), fixture("bn_var_in")}, 5);
    ASSERT_EQ(f.error, "");
    expect_fixture(f.outputs[0], "bn_y");
    expect_fixture(f.outputs[1], "bn_running_mean");
    expect_fixture(f.outputs[2], unbiased ? "bn_running_var_unbiased" : "bn_running_var_population");
    Node grad("BatchNormalizationGrad", 1, "com.microsoft");
    grad.f("epsilon", 1e-5f);
    Result g = run_op(grad, {fixture("bn_dy"), x, scale, f.outputs[3], f.outputs[4]}, 3);
    ASSERT_EQ(g.error, "");
    expect_fixture(g.outputs[0], "bn_dx");
    expect_fixture(g.outputs[1], "bn_dscale");
    expect_fixture(g.outputs[2], "bn_dbias");
}

TEST(CnnBackwardTorch, BatchNorm2dTrainingSpecRunningVar) { check_bn(false); }
TEST(CnnBackwardTorch, BatchNorm2dTrainingPyTorchRunningVar) { check_bn(true); }

TEST(CnnBackwardTorch, MaxPool2dCeilMode) {
    Node mp("MaxPool", 12);
    mp.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).i("ceil_mode", 1);
    Tensor x = fixture("maxpool_x");
    Result f = run_op(mp, {x}, 2);
    ASSERT_EQ(f.error, "");
    expect_fixture(f.outputs[0], "maxpool_y");
    Node grad("MaxPoolGrad", 1, "com.microsoft");
    grad.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).i("ceil_mode", 1);
    Result g = run_op(grad, {fixture("maxpool_dy"), f.outputs[1], Tensor::i64({4}, x.dims)}, 1, {false, false, true});
    ASSERT_EQ(g.error, "");
    expect_fixture(g.outputs[0], "maxpool_dx");
}

} // namespace
