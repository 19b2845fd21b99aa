// tests/test_cnn_grad.cc: the CNN ops' training forms and gradients.
//  - every gradient rule and backward kernel against central finite
//    differences in float64 (tests/grad_check.h), over several shapes and
//    attribute combinations, with load-time shapes and with symbolic dims;
//  - the float32 backward kernels (oneDNN) against the same kernels' float64
//    reference loops on the same data;
//  - BatchNormalization's training forward against a naive reference here.
// PyTorch fixtures are in tests/test_cnn_backward.cc.
#include "tests/conformance_case.h"
#include "tests/grad_check.h"

#include <cmath>
#include <functional>

using namespace ot_test;

namespace {

using Dims = std::vector<int64_t>;

size_t numel(const Dims &d) {
    size_t n = 1;
    for (int64_t v : d) n *= (size_t)v;
    return n;
}

Tensor f64(const Dims &d, const std::vector<double> &v) { return Tensor::of(OT_DTYPE_DOUBLE, d, v); }

// Same tensor as float32 (float64 ones converted; others unchanged).
Tensor to_f32(const Tensor &t) {
    if (t.dtype != OT_DTYPE_DOUBLE || !t.present) return t;
    std::vector<double> v = t.vec<double>();
    return Tensor::f32(t.dims, std::vector<float>(v.begin(), v.end()));
}

std::vector<float> as_floats(const Tensor &t) {
    if (t.dtype == OT_DTYPE_FLOAT) return t.vec<float>();
    std::vector<double> v = t.vec<double>();
    return std::vector<float>(v.begin(), v.end());
}

// Runs `node` on float64 inputs and on the same values in float32 (the
// float32 path is oneDNN where it applies, float64 the reference loops) and
// compares every output.
void expect_f32_matches_f64(const Node &node, const std::vector<Tensor> &in64, int n_outputs, double atol,
                            double rtol, const std::string &label) {
    std::vector<Tensor> in32;
    for (const Tensor &t : in64) in32.push_back(to_f32(t));
    std::vector<bool> all_const(in64.size(), true); // as at plan time: shapes and X_shape known
    Result r64 = run_op(node, in64, n_outputs, all_const), r32 = run_op(node, in32, n_outputs, all_const);
    ASSERT_EQ(r64.error, "") << label;
    ASSERT_EQ(r32.error, "") << label;
    for (int o = 0; o < n_outputs; o++) {
        ASSERT_EQ(r32.outputs[o].dims, r64.outputs[o].dims) << label << " output " << o;
        if (r32.outputs[o].dtype == OT_DTYPE_INT64) {
            EXPECT_EQ(r32.outputs[o].vec<int64_t>(), r64.outputs[o].vec<int64_t>()) << label << " output " << o;
            continue;
        }
        expect_near(as_floats(r32.outputs[o]), as_floats(r64.outputs[o]), atol, rtol,
                    label + " output " + std::to_string(o));
    }
}

// ---- BatchNormalization ------------------------------------------------------

struct BnRef {
    std::vector<double> y, run_mean, run_var, saved_mean, saved_inv_std;
};

BnRef ref_bn_train(const std::vector<double> &x, const Dims &xd, const std::vector<double> &scale,
                   const std::vector<double> &b, const std::vector<double> &mean, const std::vector<double> &var,
                   double eps, double momentum, bool unbiased) {
    int64_t n = xd[0], c = xd[1], inner = (int64_t)numel(xd) / (n * c);
    double m = (double)(n * inner);
    BnRef r;
    r.y.resize(x.size());
    for (int64_t ci = 0; ci < c; ci++) {
        double sum = 0, sq = 0;
        for (int64_t ni = 0; ni < n; ni++)
            for (int64_t j = 0; j < inner; j++) sum += x[(ni * c + ci) * inner + j];
        double mu = sum / m;
        for (int64_t ni = 0; ni < n; ni++)
            for (int64_t j = 0; j < inner; j++) sq += std::pow(x[(ni * c + ci) * inner + j] - mu, 2);
        double v = sq / m, inv = 1 / std::sqrt(v + eps);
        for (int64_t ni = 0; ni < n; ni++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t i = (ni * c + ci) * inner + j;
                r.y[i] = scale[ci] * (x[i] - mu) * inv + b[ci];
            }
        r.run_mean.push_back(momentum * mean[ci] + (1 - momentum) * mu);
        r.run_var.push_back(momentum * var[ci] + (1 - momentum) * (unbiased ? v * m / (m - 1) : v));
        r.saved_mean.push_back(mu);
        r.saved_inv_std.push_back(inv);
    }
    return r;
}

struct BnCase {
    Dims x;
    int opset;
    bool unbiased;
};

class CnnBatchNormTrain : public ::testing::TestWithParam<BnCase> {};

TEST_P(CnnBatchNormTrain, ForwardMatchesDefinition) {
    const BnCase &c = GetParam();
    int64_t ch = c.x[1];
    auto x = random_values(numel(c.x), 1, -2, 3);
    auto s = random_values(ch, 2, 0.5, 1.5), b = random_values(ch, 3), m = random_values(ch, 4);
    auto v = random_values(ch, 5, 0.5, 2);
    Node node("BatchNormalization", c.opset);
    node.f("epsilon", 1e-3f).f("momentum", 0.8f);
    if (c.opset >= 14) node.i("training_mode", 1);
    if (c.unbiased) node.i("unbiased_running_var", 1);
    int n_out = c.opset >= 14 ? 3 : 5;
    BnRef ref = ref_bn_train(x, c.x, s, b, m, v, (double)1e-3f, (double)0.8f, c.unbiased);
    for (ot_dtype_t dt : {OT_DTYPE_DOUBLE, OT_DTYPE_FLOAT}) {
        std::vector<Tensor> in = {f64(c.x, x), f64({ch}, s), f64({ch}, b), f64({ch}, m), f64({ch}, v)};
        if (dt == OT_DTYPE_FLOAT)
            for (Tensor &t : in) t = to_f32(t);
        Result r = run_op(node, in, n_out);
        ASSERT_EQ(r.error, "");
        double tol = dt == OT_DTYPE_FLOAT ? 2e-5 : 1e-12;
        std::string l = dt == OT_DTYPE_FLOAT ? "f32 " : "f64 ";
        auto f = [](const std::vector<double> &v) { return std::vector<float>(v.begin(), v.end()); };
        expect_near(as_floats(r.outputs[0]), f(ref.y), tol, tol, l + "Y");
        expect_near(as_floats(r.outputs[1]), f(ref.run_mean), tol, tol, l + "running_mean");
        expect_near(as_floats(r.outputs[2]), f(ref.run_var), tol, tol, l + "running_var");
        if (n_out == 5) {
            expect_near(as_floats(r.outputs[3]), f(ref.saved_mean), tol, tol, l + "saved_mean");
            expect_near(as_floats(r.outputs[4]), f(ref.saved_inv_std), tol, tol, l + "saved_inv_std");
        }
    }
}

TEST_P(CnnBatchNormTrain, GradientMatchesFiniteDifferences) {
    const BnCase &c = GetParam();
    int64_t ch = c.x[1];
    Node node("BatchNormalization", c.opset);
    node.f("epsilon", 1e-2f);
    if (c.opset >= 14) node.i("training_mode", 1);
    if (c.unbiased) node.i("unbiased_running_var", 1);
    GradCheckOptions opt;
    opt.n_outputs = c.opset >= 14 ? 3 : 5;
    opt.symbolic_dims = c.unbiased; // both ways, over the cases
    EXPECT_EQ(grad_check(node,
                         {diff(c.x, random_values(numel(c.x), 7, -2, 2)), diff({ch}, random_values(ch, 8, 0.5, 1.5)),
                          diff({ch}, random_values(ch, 9)), fixed(f64({ch}, random_values(ch, 10))),
                          fixed(f64({ch}, random_values(ch, 11, 0.5, 1.5)))},
                         opt),
              "");
}

TEST_P(CnnBatchNormTrain, GradKernelFloat32MatchesFloat64) {
    const BnCase &c = GetParam();
    int64_t ch = c.x[1];
    Node node("BatchNormalizationGrad", 1, "com.microsoft");
    node.f("epsilon", 1e-5f);
    std::vector<Tensor> in = {f64(c.x, random_values(numel(c.x), 12)), f64(c.x, random_values(numel(c.x), 13, -2, 2)),
                              f64({ch}, random_values(ch, 14, 0.5, 1.5)), f64({ch}, random_values(ch, 15, -0.2, 0.2)),
                              f64({ch}, random_values(ch, 16, 0.5, 2))};
    expect_f32_matches_f64(node, in, 3, 1e-5, 1e-4, "BatchNormalizationGrad");
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnBatchNormTrain,
                         ::testing::Values(BnCase{{2, 3, 4, 5}, 15, false}, BnCase{{3, 2, 5}, 14, true},
                                           BnCase{{4, 3}, 9, false}, BnCase{{2, 2, 3, 2, 3}, 7, true},
                                           BnCase{{1, 4, 3, 3}, 15, true}));

TEST(CnnBatchNormTrain, InferenceFormGradientRefusedByName) {
    Node node("BatchNormalization", 15);
    auto p = [](uint32_t seed) { return fixed(f64({2}, random_values(2, seed, 0.5, 1.5))); };
    std::string e = grad_check(node, {diff({2, 2, 3}, random_values(12, 1)), p(2), p(3), p(4), p(5)});
    EXPECT_NE(e.find("(BatchNormalization): gradient of the inference form"), std::string::npos) << e;
}


// ---- Conv ----------------------------------------------------------------------

struct ConvCase {
    std::string label;
    Dims x, w;
    bool bias;
    std::function<void(Node &)> attrs;
};

const std::vector<ConvCase> &conv_cases() {
    static const std::vector<ConvCase> cases = {
        {"2d_pad1", {2, 3, 5, 4}, {4, 3, 3, 2}, true, [](Node &n) { n.ints("pads", {1, 1, 1, 1}); }},
        {"2d_group2_dil2_stride2_pad1", {1, 4, 7, 6}, {6, 2, 3, 3}, true,
         [](Node &n) { n.i("group", 2).ints("dilations", {2, 2}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}); }},
        {"2d_depthwise_same_upper_stride2", {2, 3, 5, 5}, {3, 1, 3, 3}, true,
         [](Node &n) { n.i("group", 3).s("auto_pad", "SAME_UPPER").ints("strides", {2, 2}); }},
        {"2d_same_lower_even_kernel", {1, 2, 5, 6}, {3, 2, 2, 4}, false,
         [](Node &n) { n.s("auto_pad", "SAME_LOWER").ints("strides", {1, 2}); }},
        {"2d_asymmetric_pads_no_bias", {2, 2, 4, 5}, {2, 2, 3, 3}, false,
         [](Node &n) { n.ints("pads", {0, 2, 1, 0}).ints("strides", {2, 1}); }},
        {"1d_valid_stride2", {2, 2, 9}, {3, 2, 3}, true, [](Node &n) { n.s("auto_pad", "VALID").ints("strides", {2}); }},
        {"3d_pad1", {1, 2, 3, 4, 3}, {2, 2, 2, 2, 2}, true, [](Node &n) { n.ints("pads", {1, 0, 1, 0, 1, 1}); }},
    };
    return cases;
}

class CnnConvGrad : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(CnnConvGrad, MatchesFiniteDifferences) {
    auto [i, symbolic] = GetParam();
    const ConvCase &c = conv_cases()[i];
    Node node("Conv", 13);
    c.attrs(node);
    std::vector<GradInput> in = {diff(c.x, random_values(numel(c.x), 20 + i)),
                                 diff(c.w, random_values(numel(c.w), 40 + i))};
    if (c.bias) in.push_back(diff({c.w[0]}, random_values(c.w[0], 60 + i)));
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(node, in, opt), "") << c.label;
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnConvGrad,
                         ::testing::Combine(::testing::Range(0, 7), ::testing::Bool()));

// Larger shapes, where oneDNN picks blocked layouts: the float32 ConvGrad
// against its float64 reference.
TEST(CnnConvGrad, Float32MatchesFloat64) {
    struct Big {
        Dims x, w;
        std::function<void(Node &)> attrs;
    };
    std::vector<Big> bigs = {
        {{2, 16, 12, 11}, {32, 16, 3, 3}, [](Node &n) { n.ints("pads", {1, 1, 1, 1}); }},
        {{2, 16, 13, 13}, {16, 8, 3, 3}, [](Node &n) { n.i("group", 2).ints("dilations", {2, 2}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}); }},
        {{2, 32, 10, 10}, {32, 1, 3, 3}, [](Node &n) { n.i("group", 32).s("auto_pad", "SAME_UPPER"); }},
        {{2, 16, 8, 8}, {24, 16, 1, 1}, [](Node &) {}},
        {{2, 4, 20}, {8, 4, 5}, [](Node &n) { n.ints("strides", {3}).ints("pads", {2, 1}); }},
    };
    for (size_t i = 0; i < bigs.size(); i++) {
        Node node("ConvGrad", 1, "com.microsoft");
        bigs[i].attrs(node);
        Result fwd = run_op([&] { Node f("Conv", 13); bigs[i].attrs(f); return f; }(),
                            {to_f32(f64(bigs[i].x, random_values(numel(bigs[i].x), 1))),
                             to_f32(f64(bigs[i].w, random_values(numel(bigs[i].w), 2)))},
                            1);
        ASSERT_EQ(fwd.error, "");
        Dims yd = fwd.outputs[0].dims;
        std::vector<Tensor> in = {f64(yd, random_values(numel(yd), 3 + i)), f64(bigs[i].x, random_values(numel(bigs[i].x), 4)),
                                  f64(bigs[i].w, random_values(numel(bigs[i].w), 5))};
        expect_f32_matches_f64(node, in, 3, 1e-4, 1e-4, "ConvGrad case " + std::to_string(i));
    }
}

TEST(CnnConvGrad, BadShapesNameNode) {
    Node node("ConvGrad", 1, "com.microsoft");
    Result r = run_op(node, {Tensor::f32({1, 2, 5, 5}, std::vector<float>(50, 1.f)), Tensor::f32({1, 3, 5, 5}, std::vector<float>(75, 1.f)),
                             Tensor::f32({2, 3, 3, 3}, std::vector<float>(54, 1.f))},
                      3);
    EXPECT_NE(r.error.find("node 'test_node' (com.microsoft::ConvGrad): dY (1, 2, 5, 5) does not match the convolution's output (1, 2, 3, 3)"),
              std::string::npos)
        << "got: " << r.error;
}


// ---- pooling -------------------------------------------------------------------

struct PoolCase {
    std::string label;
    std::string op;
    int opset;
    Dims x;
    std::function<void(Node &)> attrs;
    int n_outputs; // 2: MaxPool's Indices requested by the graph too
};

const std::vector<PoolCase> &pool_cases() {
    static const std::vector<PoolCase> cases = {
        {"max_2d_k3_s2_pad1", "MaxPool", 12, {2, 2, 5, 6},
         [](Node &n) { n.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}); }, 1},
        {"max_2d_ceil", "MaxPool", 12, {1, 2, 5, 5},
         [](Node &n) { n.ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).i("ceil_mode", 1); }, 1},
        {"max_2d_dilations", "MaxPool", 11, {1, 1, 7, 6},
         [](Node &n) { n.ints("kernel_shape", {2, 3}).ints("dilations", {2, 2}); }, 1},
        {"max_2d_storage_order1_indices", "MaxPool", 12, {2, 1, 4, 5},
         [](Node &n) { n.ints("kernel_shape", {2, 2}).ints("strides", {1, 2}).i("storage_order", 1); }, 2},
        {"max_2d_same_upper_opset8", "MaxPool", 8, {1, 2, 5, 4},
         [](Node &n) { n.ints("kernel_shape", {3, 2}).ints("strides", {2, 2}).s("auto_pad", "SAME_UPPER"); }, 1},
        {"max_1d_opset7", "MaxPool", 7, {2, 3, 9}, [](Node &n) { n.ints("kernel_shape", {3}).ints("strides", {2}); }, 1},
        {"max_3d", "MaxPool", 12, {1, 2, 3, 4, 4},
         [](Node &n) { n.ints("kernel_shape", {2, 2, 2}).ints("pads", {0, 1, 0, 1, 0, 1}).ints("strides", {1, 2, 2}); }, 1},
        {"avg_2d_pads_exclude", "AveragePool", 11, {2, 2, 5, 6},
         [](Node &n) { n.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}); }, 1},
        {"avg_2d_pads_include", "AveragePool", 11, {1, 2, 5, 6},
         [](Node &n) { n.ints("kernel_shape", {3, 2}).ints("pads", {1, 0, 2, 1}).i("count_include_pad", 1); }, 1},
        {"avg_2d_ceil_include", "AveragePool", 10, {1, 2, 5, 5},
         [](Node &n) { n.ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).i("ceil_mode", 1).i("count_include_pad", 1).ints("pads", {1, 1, 0, 0}); }, 1},
        {"avg_2d_same_lower_opset7", "AveragePool", 7, {1, 1, 6, 5},
         [](Node &n) { n.ints("kernel_shape", {3, 3}).ints("strides", {2, 1}).s("auto_pad", "SAME_LOWER"); }, 1},
        {"avg_1d_ceil", "AveragePool", 11, {2, 2, 8}, [](Node &n) { n.ints("kernel_shape", {3}).ints("strides", {2}).i("ceil_mode", 1); }, 1},
        {"avg_3d", "AveragePool", 11, {1, 2, 3, 4, 3}, [](Node &n) { n.ints("kernel_shape", {2, 2, 2}).ints("pads", {1, 0, 1, 0, 1, 1}); }, 1},
        {"gap_2d", "GlobalAveragePool", 13, {2, 3, 4, 5}, [](Node &) {}, 1},
        {"gap_1d", "GlobalAveragePool", 13, {2, 2, 7}, [](Node &) {}, 1},
        {"gap_3d", "GlobalAveragePool", 13, {1, 2, 3, 2, 3}, [](Node &) {}, 1},
    };
    return cases;
}

class CnnPoolGrad : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(CnnPoolGrad, MatchesFiniteDifferences) {
    auto [i, symbolic] = GetParam();
    const PoolCase &c = pool_cases()[i];
    Node node(c.op, c.opset);
    c.attrs(node);
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    opt.n_outputs = c.n_outputs;
    // distinct values, spaced well beyond eps, so no window has a near tie
    std::vector<double> x = random_values(numel(c.x), 70 + i);
    for (size_t j = 0; j < x.size(); j++) x[j] = std::round(x[j] * 1000) / 1000 + 1e-6 * (double)j;
    EXPECT_EQ(grad_check(node, {diff(c.x, x)}, opt), "") << c.label;
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnPoolGrad, ::testing::Combine(::testing::Range(0, 16), ::testing::Bool()));

// float32 AveragePoolGrad (oneDNN pooling backward) against float64.
TEST(CnnPoolGrad, AveragePoolGradFloat32MatchesFloat64) {
    for (int i = 7; i < 13; i++) {
        const PoolCase &c = pool_cases()[i];
        Node fwd(c.op, c.opset);
        c.attrs(fwd);
        Dims x = c.x;
        x[0] = 3, x[1] = 8; // more planes
        Result y = run_op(fwd, {to_f32(f64(x, random_values(numel(x), 1)))}, 1);
        ASSERT_EQ(y.error, "") << c.label;
        Node node("AveragePoolGrad", 1, "com.microsoft");
        c.attrs(node);
        Dims yd = y.outputs[0].dims;
        expect_f32_matches_f64(node, {f64(yd, random_values(numel(yd), 2)), Tensor::i64({(int64_t)x.size()}, x)}, 1, 1e-6,
                               1e-5, c.label);
    }
}

TEST(CnnPoolGrad, ErrorsNameNode) {
    Node mp("MaxPoolGrad", 1, "com.microsoft");
    mp.ints("kernel_shape", {2, 2});
    Tensor dy = Tensor::f32({1, 1, 2, 2}, {1, 2, 3, 4});
    // ONNX Runtime's two-input form: no X_shape
    std::string e = run_op(mp, {dy, Tensor::i64({1, 1, 2, 2}, {0, 1, 2, 3})}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (com.microsoft::MaxPoolGrad): needs the forward input's shape as input 2"),
              std::string::npos)
        << e;
    // an index outside its plane
    e = run_op(mp, {dy, Tensor::i64({1, 1, 2, 2}, {0, 1, 2, 99}), Tensor::i64({4}, {1, 1, 3, 3})}, 1, {false, false, true}).error;
    EXPECT_NE(e.find("(com.microsoft::MaxPoolGrad): Indices[3] = 99 is outside its (n, c) plane"), std::string::npos) << e;
    // dY not the pooled shape of X_shape
    Node ap("AveragePoolGrad", 1, "com.microsoft");
    ap.ints("kernel_shape", {2, 2});
    e = run_op(ap, {dy, Tensor::i64({4}, {1, 1, 5, 5})}, 1, {false, true}).error;
    EXPECT_NE(e.find("(com.microsoft::AveragePoolGrad): dY (1, 1, 2, 2) is not the pooled shape (1, 1, 4, 4)"),
              std::string::npos)
        << e;
}

TEST(CnnPoolGrad, MaxPoolGradScattersToIndices) {
    Node mp("MaxPoolGrad", 1, "com.microsoft");
    mp.ints("kernel_shape", {2, 2}).ints("strides", {1, 1});
    // X (1, 2, 3, 3) -> Y (1, 2, 2, 2); two windows share their argmax
    Tensor dy = Tensor::f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    Tensor idx = Tensor::i64({1, 2, 2, 2}, {4, 4, 0, 8, 9, 10, 12, 17});
    Result r = run_op(mp, {dy, idx, Tensor::i64({4}, {1, 2, 3, 3})}, 1, {false, false, true});
    ASSERT_EQ(r.error, "");
    std::vector<float> ref(18, 0.f);
    ref[4] = 3, ref[0] = 3, ref[8] = 4, ref[9] = 5, ref[10] = 6, ref[12] = 7, ref[17] = 8;
    expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "MaxPoolGrad");
}


// ---- ConvTranspose -------------------------------------------------------------

TEST(CnnConvTranspose, ConformanceCases) {
    for (const char *c : {"test_convtranspose", "test_convtranspose_1d", "test_convtranspose_3d",
                          "test_convtranspose_autopad_same", "test_convtranspose_dilations",
                          "test_convtranspose_kernel_shape", "test_convtranspose_output_shape", "test_convtranspose_pad",
                          "test_convtranspose_pads", "test_convtranspose_with_kernel"})
        EXPECT_EQ(run_node_case(c), "") << c;
}

const std::vector<ConvCase> &ct_cases() {
    // x, w = (C, M/group, K...)
    static const std::vector<ConvCase> cases = {
        {"2d_stride2_pad1_outpad1", {2, 3, 3, 4}, {3, 2, 3, 3}, true,
         [](Node &n) { n.ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1}).ints("output_padding", {1, 1}); }},
        {"2d_group2_dil2", {1, 4, 3, 3}, {4, 3, 2, 3}, true, [](Node &n) { n.i("group", 2).ints("dilations", {2, 2}); }},
        {"2d_depthwise_same_upper", {2, 3, 3, 3}, {3, 1, 3, 3}, false,
         [](Node &n) { n.i("group", 3).s("auto_pad", "SAME_UPPER").ints("strides", {2, 2}); }},
        {"2d_output_shape", {1, 2, 3, 3}, {2, 2, 3, 3}, true,
         [](Node &n) { n.ints("strides", {3, 2}).ints("output_shape", {10, 8}); }},
        {"2d_asymmetric_pads", {1, 2, 4, 3}, {2, 3, 3, 2}, false,
         [](Node &n) { n.ints("strides", {2, 1}).ints("pads", {2, 0, 1, 1}); }},
        {"1d_stride3", {2, 2, 4}, {2, 2, 3}, true, [](Node &n) { n.ints("strides", {3}).ints("pads", {1, 0}); }},
        {"3d", {1, 2, 2, 3, 2}, {2, 1, 2, 2, 2}, true, [](Node &n) { n.ints("strides", {2, 1, 2}); }},
    };
    return cases;
}

class CnnConvTransposeGrad : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(CnnConvTransposeGrad, MatchesFiniteDifferences) {
    auto [i, symbolic] = GetParam();
    const ConvCase &c = ct_cases()[i];
    Node node("ConvTranspose", 13);
    c.attrs(node);
    std::vector<GradInput> in = {diff(c.x, random_values(numel(c.x), 80 + i)),
                                 diff(c.w, random_values(numel(c.w), 90 + i))};
    if (c.bias) { // M = W's dim 1 * group: read it off the forward's output
        Result y = run_op(node, {to_f32(in[0].value), to_f32(in[1].value)}, 1);
        ASSERT_EQ(y.error, "") << c.label;
        int64_t m = y.outputs[0].dims[1];
        in.push_back(diff({m}, random_values(m, 100 + i)));
    }
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(node, in, opt), "") << c.label;
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnConvTransposeGrad, ::testing::Combine(::testing::Range(0, 7), ::testing::Bool()));

// float32 ConvTransposeGrad (oneDNN) and ConvTranspose against float64.
TEST(CnnConvTransposeGrad, Float32MatchesFloat64) {
    for (size_t i = 0; i < ct_cases().size(); i++) {
        const ConvCase &c = ct_cases()[i];
        Node fwd("ConvTranspose", 13), grad("ConvTransposeGrad", 1, "com.microsoft");
        c.attrs(fwd);
        c.attrs(grad);
        Dims x = c.x;
        x[0] = 3;
        Tensor xt = f64(x, random_values(numel(x), 1)), wt = f64(c.w, random_values(numel(c.w), 2));
        Result y = run_op(fwd, {xt, wt}, 1);
        ASSERT_EQ(y.error, "") << c.label;
        Dims yd = y.outputs[0].dims;
        Tensor bt = f64({yd[1]}, random_values(yd[1], 3));
        expect_f32_matches_f64(fwd, {xt, wt, bt}, 1, 1e-5, 1e-4, c.label + " forward");
        expect_f32_matches_f64(grad, {f64(yd, random_values(numel(yd), 4)), xt, wt}, 3, 1e-5, 1e-4, c.label + " grad");
    }
}


// ---- Resize ----------------------------------------------------------------------

TEST(CnnResize, ConformanceCases) {
    for (const char *c :
         {"test_resize_downsample_scales_cubic", "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
          "test_resize_downsample_scales_cubic_align_corners", "test_resize_downsample_scales_linear",
          "test_resize_downsample_scales_linear_align_corners", "test_resize_downsample_scales_nearest",
          "test_resize_downsample_sizes_cubic", "test_resize_downsample_sizes_linear_pytorch_half_pixel",
          "test_resize_downsample_sizes_nearest", "test_resize_upsample_scales_cubic",
          "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", "test_resize_upsample_scales_cubic_align_corners",
          "test_resize_upsample_scales_cubic_asymmetric", "test_resize_upsample_scales_linear",
          "test_resize_upsample_scales_linear_align_corners", "test_resize_upsample_scales_nearest",
          "test_resize_upsample_sizes_cubic", "test_resize_upsample_sizes_nearest",
          "test_resize_upsample_sizes_nearest_ceil_half_pixel", "test_resize_upsample_sizes_nearest_floor_align_corners",
          "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric"})
        EXPECT_EQ(run_node_case(c), "") << c;
    EXPECT_NE(run_node_case("test_resize_tf_crop_and_resize").find("tf_crop_and_resize is not supported"),
              std::string::npos);
}

struct ResizeCase {
    std::string label;
    int opset;
    Dims x;
    std::vector<float> scales; // empty: sizes
    Dims sizes;
    std::function<void(Node &)> attrs;
};

const std::vector<ResizeCase> &resize_cases() {
    static const std::vector<ResizeCase> cases = {
        {"bilinear_half_pixel_up", 13, {1, 2, 3, 4}, {1, 1, 2, 1.5f}, {}, [](Node &n) { n.s("mode", "linear"); }},
        {"bilinear_align_corners_sizes", 13, {2, 1, 4, 3}, {}, {2, 1, 3, 5},
         [](Node &n) { n.s("mode", "linear").s("coordinate_transformation_mode", "align_corners"); }},
        {"bilinear_pytorch_half_pixel_down", 13, {1, 2, 5, 6}, {}, {1, 2, 3, 1},
         [](Node &n) { n.s("mode", "linear").s("coordinate_transformation_mode", "pytorch_half_pixel"); }},
        {"linear_asymmetric_1d_opset11", 11, {2, 5}, {1, 1.7f}, {},
         [](Node &n) { n.s("mode", "linear").s("coordinate_transformation_mode", "asymmetric"); }},
        {"nearest_round_prefer_floor", 13, {1, 1, 3, 3}, {1, 1, 2, 2.5f}, {}, [](Node &) {}},
        {"nearest_ceil_half_pixel_sizes", 13, {1, 2, 4, 3}, {}, {1, 2, 7, 2},
         [](Node &n) { n.s("nearest_mode", "ceil"); }},
        {"nearest_floor_opset10", 10, {1, 1, 2, 3}, {1, 1, 2, 2}, {}, [](Node &) {}},
        {"cubic_exclude_outside", 13, {1, 1, 4, 4}, {1, 1, 1.5f, 0.75f}, {},
         [](Node &n) { n.s("mode", "cubic").i("exclude_outside", 1).f("cubic_coeff_a", -0.5f); }},
        {"trilinear_5d", 13, {1, 1, 2, 3, 2}, {1, 1, 2, 1, 1.5f}, {}, [](Node &n) { n.s("mode", "linear"); }},
    };
    return cases;
}

std::vector<GradInput> resize_inputs(const ResizeCase &c, int i) {
    std::vector<GradInput> in = {diff(c.x, random_values(numel(c.x), 110 + i))};
    Tensor scales = Tensor::f32({(int64_t)c.scales.size()}, c.scales);
    Tensor sizes = Tensor::i64({(int64_t)c.sizes.size()}, c.sizes);
    if (c.opset < 11) {
        in.push_back(fixed(scales));
        return in;
    }
    in.push_back(c.opset < 13 ? fixed(Tensor::f32({0}, {})) : GradInput{Tensor::absent(), false, false});
    if (c.scales.empty()) {
        in.push_back(c.opset < 13 ? fixed(Tensor::f32({0}, {})) : GradInput{Tensor::absent(), false, false});
        in.push_back(fixed(sizes));
    } else {
        in.push_back(fixed(scales));
    }
    return in;
}

class CnnResizeGrad : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(CnnResizeGrad, MatchesFiniteDifferences) {
    auto [i, symbolic] = GetParam();
    const ResizeCase &c = resize_cases()[i];
    Node node("Resize", c.opset);
    c.attrs(node);
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(node, resize_inputs(c, i), opt), "") << c.label;
}

INSTANTIATE_TEST_SUITE_P(Cases, CnnResizeGrad, ::testing::Combine(::testing::Range(0, 9), ::testing::Bool()));

// float32 Resize and ResizeGrad (oneDNN resampling where the scales are
// out/in, the loops otherwise) against float64, on larger planes.
TEST(CnnResizeGrad, Float32MatchesFloat64) {
    for (const char *coord : {"half_pixel", "pytorch_half_pixel"}) {
        Node fwd("Resize", 13), grad("ResizeGrad", 1, OT_DOMAIN);
        fwd.s("mode", "linear").s("coordinate_transformation_mode", coord);
        grad.s("mode", "linear").s("coordinate_transformation_mode", coord);
        Dims x{2, 3, 17, 15}, y{2, 3, 34, 7};
        Tensor xt = f64(x, random_values(numel(x), 1)), sizes = Tensor::i64({4}, y);
        expect_f32_matches_f64(fwd, {xt, Tensor::absent(), Tensor::absent(), sizes}, 1, 1e-5, 1e-5,
                               std::string("Resize sizes ") + coord);
        expect_f32_matches_f64(grad,
                               {f64(y, random_values(numel(y), 2)), Tensor::i64({4}, x), Tensor::absent(),
                                Tensor::absent(), sizes},
                               1, 1e-5, 1e-5, std::string("ResizeGrad sizes ") + coord);
    }
    Node fwd("Resize", 13), grad("ResizeGrad", 1, OT_DOMAIN);
    fwd.s("mode", "linear");
    grad.s("mode", "linear");
    Dims x{2, 3, 17, 15};
    Tensor xt = f64(x, random_values(numel(x), 1)), scales = Tensor::f32({4}, {1, 1, 2, 0.5f});
    expect_f32_matches_f64(fwd, {xt, Tensor::absent(), scales}, 1, 1e-6, 1e-5, "Resize");
    Dims y{2, 3, 34, 7};
    expect_f32_matches_f64(grad, {f64(y, random_values(numel(y), 2)), Tensor::i64({4}, x), Tensor::absent(), scales}, 1,
                           1e-6, 1e-5, "ResizeGrad");
}


// ---- a small CNN end to end ---------------------------------------------------------

// Conv -> BatchNormalization (training) -> Relu -> MaxPool -> Resize ->
// AveragePool -> ConvTranspose -> GlobalAveragePool -> weighted sum, in
// float64 through the whole runtime (hidden MaxPool Indices and BN
// statistics, Shape folding for X_shape, the planner's lifetimes), against
// central finite differences for every parameter and the input.
TEST(CnnChainGrad, SmallCnnMatchesFiniteDifferences) {
    for (bool symbolic : {false, true}) {
        struct Param {
            std::string name;
            Dims dims;
            std::vector<double> v;
        };
        std::vector<Param> ps = {
            {"x", {2, 2, 6, 6}, random_values(144, 1, -1, 1)},      {"w", {3, 2, 3, 3}, random_values(54, 2, -0.5, 0.5)},
            {"b", {3}, random_values(3, 3)},                         {"scale", {3}, random_values(3, 4, 0.5, 1.5)},
            {"shift", {3}, random_values(3, 5, 0.2, 0.6)},           {"wt", {3, 2, 2, 2}, random_values(24, 6, -1, 1)},
        };
        PbModel pb(8, 15);
        pb.add_opset("ai.onnx.preview.training", 1);
        std::vector<std::string> xs;
        for (auto &p : ps) {
            std::vector<Dim> dims;
            for (size_t d = 0; d < p.dims.size(); d++)
                dims.push_back(symbolic ? Dim((p.name + std::to_string(d)).c_str()) : Dim(p.dims[d]));
            pb.input(p.name, OT_DTYPE_DOUBLE, dims);
            xs.push_back(p.name);
        }
        auto init = [&](const std::string &name, const Tensor &t) {
            pb.init(pb.raw_tensor(name, t.dtype, t.dims, std::string(t.bytes.begin(), t.bytes.end())));
        };
        init("mean", f64({3}, {0.1, -0.2, 0.3}));
        init("var", f64({3}, {1.0, 0.5, 2.0}));
        init("scales", Tensor::f32({4}, {1, 1, 2, 2}));
        init("gw", f64({2, 1, 1}, {0.7, -1.3}));
        pb.attr_ints(pb.node("Conv", {"x", "w", "b"}, {"c"}), "pads", {1, 1, 1, 1});
        auto *bn = pb.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"bn", "rm", "rv"});
        pb.attr_int(bn, "training_mode", 1);
        pb.node("Relu", {"bn"}, {"r"});
        auto *mp = pb.node("MaxPool", {"r"}, {"p"});
        pb.attr_ints(mp, "kernel_shape", {2, 2});
        pb.attr_ints(mp, "strides", {2, 2});
        auto *rs = pb.node("Resize", {"p", "", "scales"}, {"u"});
        auto *mode = pb.attr(rs, "mode", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
        mode->has_s = 1, mode->s = pb.bin("linear");
        auto *ap = pb.node("AveragePool", {"u"}, {"a"});
        pb.attr_ints(ap, "kernel_shape", {3, 3});
        pb.attr_ints(ap, "pads", {1, 1, 1, 1});
        pb.attr_ints(ap, "strides", {2, 2});
        auto *ct = pb.node("ConvTranspose", {"a", "wt"}, {"t"});
        pb.attr_ints(ct, "strides", {2, 2});
        pb.node("GlobalAveragePool", {"t"}, {"gp"});
        pb.node("Mul", {"gp", "gw"}, {"z"});
        pb.attr_int(pb.node("ReduceSum", {"z"}, {"s"}), "keepdims", 0);
        pb.node("Identity", {"s"}, {"L"});
        pb.output("L", OT_DTYPE_DOUBLE, {});
        std::vector<std::string> dxs;
        for (auto &x : xs) dxs.push_back("d" + x);
        auto *g = pb.node("Gradient", xs, dxs, "gradient");
        g->domain = pb.str("ai.onnx.preview.training");
        auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
        axs->n_strings = xs.size();
        axs->strings = pb.alloc<ProtobufCBinaryData>(xs.size());
        for (size_t k = 0; k < xs.size(); k++) axs->strings[k] = pb.bin(xs[k]);
        auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
        ay->has_s = 1, ay->s = pb.bin("L");
        for (auto &d : dxs) pb.output_any(d);
        Loaded model = load_bytes(pb.bytes(), nullptr, false);
        ASSERT_EQ(model.msg(), "");
        ot_session_t *sess = nullptr;
        ot_status_t *st = ot_session_create(model.m, &sess);
        ASSERT_EQ(ot_status_message(st), std::string(""));
        auto run = [&](std::vector<ot_tensor_t *> &outs) {
            std::vector<Tensor> ts;
            for (auto &p : ps) ts.push_back(f64(p.dims, p.v));
            std::vector<ot_tensor_t> views;
            for (auto &t : ts) views.push_back(t.view());
            std::vector<const ot_tensor_t *> feeds;
            for (auto &v : views) feeds.push_back(&v);
            outs.assign(1 + xs.size(), nullptr);
            ot_status_t *e = ot_session_run(sess, feeds.data(), outs.data());
            std::string msg = ot_status_message(e);
            ot_status_free(e);
            return msg;
        };
        std::vector<ot_tensor_t *> base;
        ASSERT_EQ(run(base), "");
        const double eps = 1e-6;
        for (size_t i = 0; i < ps.size(); i++) {
            const double *an = (const double *)base[1 + i]->data;
            ASSERT_EQ((size_t)ot_shape_numel(&base[1 + i]->shape), ps[i].v.size());
            double worst = 0;
            size_t worst_j = 0;
            for (size_t j = 0; j < ps[i].v.size(); j++) {
                double keep = ps[i].v[j], l[2];
                for (int side = 0; side < 2; side++) {
                    ps[i].v[j] = keep + (side ? -eps : eps);
                    std::vector<ot_tensor_t *> outs;
                    ASSERT_EQ(run(outs), "");
                    l[side] = *(const double *)outs[0]->data;
                    for (auto *t : outs) ot_tensor_destroy(t);
                }
                ps[i].v[j] = keep;
                double num = (l[0] - l[1]) / (2 * eps), err = std::fabs(num - an[j]) - (1e-6 + 1e-5 * std::fabs(num));
                if (err > worst) worst = err, worst_j = j;
            }
            EXPECT_LE(worst, 0.0) << (symbolic ? "symbolic " : "") << "d L / d " << ps[i].name << "[" << worst_j
                                  << "]: analytic " << an[worst_j];
        }
        for (auto *t : base) ot_tensor_destroy(t);
        ot_session_destroy(sess);
    }
}


TEST(CnnConvTranspose, ErrorsNameNode) {
    Tensor x = Tensor::f32({1, 2, 3, 3}, std::vector<float>(18, 1.f));
    std::string e = run_op(Node("ConvTranspose", 13), {x, Tensor::f32({3, 1, 2, 2}, std::vector<float>(12, 1.f))}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (ConvTranspose): X (1, 2, 3, 3) has 2 channels but W (3, 1, 2, 2) has 3"),
              std::string::npos)
        << e;
    Node op("ConvTranspose", 13);
    op.ints("output_padding", {2, 2}).ints("strides", {2, 2});
    e = run_op(op, {x, Tensor::f32({2, 1, 2, 2}, std::vector<float>(8, 1.f))}, 1).error;
    EXPECT_NE(e.find("(ConvTranspose): output_padding[0] = 2 must be smaller than the stride or the dilation"),
              std::string::npos)
        << e;
}

TEST(CnnResize, ErrorsNameNode) {
    Tensor x = Tensor::f32({1, 1, 2, 2}, {1, 2, 3, 4});
    std::string e = run_op(Node("Resize", 13),
                           {x, Tensor::absent(), Tensor::f32({4}, {1, 1, 2, 2}), Tensor::i64({4}, {1, 1, 4, 4})}, 1,
                           {true, true, true, true})
                        .error;
    EXPECT_NE(e.find("node 'test_node' (Resize): exactly one of scales and sizes must be given"), std::string::npos) << e;
    Node crop("Resize", 13);
    crop.s("coordinate_transformation_mode", "tf_crop_and_resize");
    e = run_op(crop, {x, Tensor::absent(), Tensor::f32({4}, {1, 1, 2, 2})}, 1, {true, true, true}).error;
    EXPECT_NE(e.find("(Resize): coordinate_transformation_mode tf_crop_and_resize is not supported"), std::string::npos)
        << e;
    e = run_op(Node("Resize", 13), {x, Tensor::absent(), Tensor::f32({3}, {1, 2, 2})}, 1, {true, true, true}).error;
    EXPECT_NE(e.find("(Resize): scales (3) must have one value per axis of X (4)"), std::string::npos) << e;
}

} // namespace

