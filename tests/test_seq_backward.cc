// tests/test_seq_backward.cc: our float32 kernels against PyTorch 1.13
// (fixtures from tools/fixtures/gen_seq_fixtures.py in tests/fixtures/seq):
// LayerNorm over the last 1 and last 2 axes (forward, then dX, dscale,
// dbias for a given dY), kernel by kernel and through autodiff; and the
// embedding backward (Gather + GatherGrad) with repeated indices.
#include "tests/grad_check.h"

using namespace ot_test;

namespace {

// A fixture as a Tensor (ot_tensor_load reads .npy).
Tensor fixture(const std::string &name) {
    std::string path = std::string(OT_SOURCE_DIR) + "/tests/fixtures/seq/" + name + ".npy";
    ot_tensor_t *t = nullptr;
    ot_status_t *st = ot_tensor_load(path.c_str(), &t);
    if (st) {
        ADD_FAILURE() << ot_status_message(st);
        ot_status_free(st);
        return Tensor::absent();
    }
    Tensor out;
    out.dtype = t->dtype;
    out.dims.assign(t->shape.dims, t->shape.dims + t->shape.rank);
    size_t nb = (size_t)ot_shape_numel(&t->shape) * ot_dtype_size(t->dtype);
    out.bytes.assign((const unsigned char *)t->data, (const unsigned char *)t->data + nb);
    ot_tensor_destroy(t);
    // a degenerate fixture would let a broken kernel pass
    bool nonzero = false;
    for (unsigned char b : out.bytes) nonzero |= b != 0;
    EXPECT_TRUE(nonzero) << name << " is all zeros";
    return out;
}

// PyTorch computes in float32 too; differences are rounding only.
const double kAtol = 1e-5, kRtol = 1e-4;

} // namespace

class SeqTorchLayerNorm : public ::testing::TestWithParam<std::pair<const char *, int64_t>> {};

TEST_P(SeqTorchLayerNorm, KernelsMatchPyTorch) {
    std::string p = GetParam().first;
    int64_t axis = GetParam().second;
    Tensor x = fixture(p + "_x"), scale = fixture(p + "_scale"), bias = fixture(p + "_bias"), dy = fixture(p + "_dy");
    Node fwd("LayerNormalization", 17);
    fwd.i("axis", axis).f("epsilon", 1e-5f);
    Result f = run_op(fwd, {x, scale, bias}, 3);
    ASSERT_EQ(f.error, "");
    expect_near(f.outputs[0].vec<float>(), fixture(p + "_y").vec<float>(), kAtol, kRtol, p + " Y");
    Node bwd("LayerNormalizationGrad", 1, "com.microsoft");
    bwd.i("axis", axis).f("epsilon", 1e-5f);
    Result b = run_op(bwd, {dy, x, scale, f.outputs[1], f.outputs[2]}, 3);
    ASSERT_EQ(b.error, "");
    expect_near(b.outputs[0].vec<float>(), fixture(p + "_dx").vec<float>(), kAtol, kRtol, p + " dX");
    expect_near(b.outputs[1].vec<float>(), fixture(p + "_dscale").vec<float>(), kAtol, kRtol, p + " dscale");
    expect_near(b.outputs[2].vec<float>(), fixture(p + "_dbias").vec<float>(), kAtol, kRtol, p + " dbias");
}

// The same through the runtime: L = sum(LayerNorm(x) * dY), Gradient wrt
// x, scale and B (the rule, the hidden Mean/InvStdDev outputs, the planner).
TEST_P(SeqTorchLayerNorm, AutodiffMatchesPyTorch) {
    std::string p = GetParam().first;
    int64_t axis = GetParam().second;
    Tensor x = fixture(p + "_x"), scale = fixture(p + "_scale"), bias = fixture(p + "_bias"), dy = fixture(p + "_dy");
    PbModel pb(8, 17);
    pb.add_opset("ai.onnx.preview.training", 1);
    auto dims = [](const Tensor &t) { return std::vector<Dim>(t.dims.begin(), t.dims.end()); };
    pb.input("x", OT_DTYPE_FLOAT, dims(x));
    pb.input("scale", OT_DTYPE_FLOAT, dims(scale));
    pb.input("bias", OT_DTYPE_FLOAT, dims(bias));
    pb.input("dy", OT_DTYPE_FLOAT, dims(dy));
    auto *n = pb.node("LayerNormalization", {"x", "scale", "bias"}, {"y"}, "ln");
    pb.attr_int(n, "axis", axis);
    pb.attr_float(n, "epsilon", 1e-5f);
    pb.node("Mul", {"y", "dy"}, {"z"});
    pb.attr_int(pb.node("ReduceSum", {"z"}, {"L"}), "keepdims", 0);
    std::vector<std::string> xs = {"x", "scale", "bias"};
    auto *g = pb.node("Gradient", xs, {"dx", "dscale", "dbias"}, "gradient");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    axs->n_strings = 3;
    axs->strings = pb.alloc<ProtobufCBinaryData>(3);
    for (int i = 0; i < 3; i++) axs->strings[i] = pb.bin(xs[i]);
    auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    ay->has_s = 1;
    ay->s = pb.bin("L");
    for (const char *o : {"dx", "dscale", "dbias"}) pb.output_any(o);
    Loaded m = load_bytes(pb.bytes(), nullptr, false);
    ASSERT_EQ(m.msg(), "");
    ot_session_t *s = nullptr;
    ot_status_t *st = ot_session_create(m.m, &s);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ot_tensor_t v[4] = {x.view(), scale.view(), bias.view(), dy.view()};
    const ot_tensor_t *feeds[4] = {&v[0], &v[1], &v[2], &v[3]};
    ot_tensor_t *out[3] = {nullptr, nullptr, nullptr};
    st = ot_session_run(s, feeds, out);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    const char *names[3] = {"_dx", "_dscale", "_dbias"};
    for (int i = 0; i < 3; i++) {
        const float *d = (const float *)out[i]->data;
        expect_near(std::vector<float>(d, d + ot_shape_numel(&out[i]->shape)), fixture(p + names[i]).vec<float>(), kAtol,
                    kRtol, p + names[i]);
        ot_tensor_destroy(out[i]);
    }
    ot_session_destroy(s);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SeqTorchLayerNorm,
                         ::testing::Values(std::make_pair("ln1", (int64_t)-1), std::make_pair("ln2", (int64_t)-2)));

TEST(SeqTorchEmbedding, GatherAndGatherGradMatchPyTorch) {
    Tensor w = fixture("emb_weight"), idx = fixture("emb_idx"), dy = fixture("emb_dy");
    ASSERT_EQ(idx.dtype, OT_DTYPE_INT64);
    Result f = run_op(Node("Gather", 13), {w, idx}, 1);
    ASSERT_EQ(f.error, "");
    expect_near(f.outputs[0].vec<float>(), fixture("emb_y").vec<float>(), 0, 0, "embedding forward");
    Result b = run_op(Node("GatherGrad", 1, "com.microsoft"), {Tensor::i64({2}, w.dims), idx, dy}, 1, {true, false, false});
    ASSERT_EQ(b.error, "");
    EXPECT_EQ(b.outputs[0].dims, w.dims);
    // at most 4 repeats per row: sums of 4 floats, possibly in another order
    expect_near(b.outputs[0].vec<float>(), fixture("emb_dweight").vec<float>(), 1e-6, 1e-6, "embedding backward");
}
