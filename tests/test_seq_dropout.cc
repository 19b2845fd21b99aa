// tests/test_seq_dropout.cc: MT19937 (runtime/mt19937.h) against C++'s
// std::mt19937 and numpy's RandomState values; training-mode Dropout
// against a reference mask drawn here, its mask statistics and its fresh
// mask per run; com.microsoft::DropoutGrad against its definition; the
// gradient rule through autodiff (dX = dY * mask / (1 - ratio) with the
// mask of the same run, whether or not the model asked for it).
#include "tests/grad_check.h"

#include <cmath>
#include <random>

extern "C" {
#include "runtime/mt19937.h"
}

using namespace ot_test;

namespace {

bool has(const std::string &s, const std::string &sub) { return s.find(sub) != std::string::npos; }

// numpy's np.random.seed(seed); np.random.uniform(0, 1, n), drawn with the
// C++ standard library's MT19937 (the same generator, seeded the same way).
std::vector<double> numpy_uniform(uint32_t seed, size_t n) {
    std::mt19937 gen(seed);
    std::vector<double> u(n);
    for (double &v : u) {
        uint32_t a = gen() >> 5, b = gen() >> 6;
        v = (a * 67108864.0 + b) / 9007199254740992.0;
    }
    return u;
}

// A loaded model and its session; run() feeds tensors in input order.
struct Session {
    Loaded model;
    ot_session_t *sess = nullptr;
    std::string error;
    explicit Session(const std::string &bytes) : model(load_bytes(bytes, nullptr, false)) {
        if (model.st) {
            error = "load: " + model.msg();
            return;
        }
        ot_status_t *st = ot_session_create(model.m, &sess);
        if (st) error = std::string("session: ") + ot_status_message(st), ot_status_free(st);
    }
    ~Session() { ot_session_destroy(sess); }
    // Outputs as Tensors; error text on failure.
    std::string run(std::vector<Tensor> feeds, std::vector<Tensor> &outs) {
        std::vector<ot_tensor_t> views;
        std::vector<const ot_tensor_t *> ptrs;
        for (Tensor &t : feeds) views.push_back(t.view());
        for (auto &v : views) ptrs.push_back(&v);
        std::vector<ot_tensor_t *> got(ot_model_num_outputs(model.m), nullptr);
        ot_status_t *st = ot_session_run(sess, ptrs.data(), got.data());
        if (st) {
            std::string e = ot_status_message(st);
            ot_status_free(st);
            return e;
        }
        outs.clear();
        for (ot_tensor_t *t : got) {
            Tensor o;
            o.dtype = t->dtype;
            o.dims.assign(t->shape.dims, t->shape.dims + t->shape.rank);
            size_t nb = (size_t)ot_shape_numel(&t->shape) * ot_dtype_size(t->dtype);
            o.bytes.assign((const unsigned char *)t->data, (const unsigned char *)t->data + nb);
            outs.push_back(o);
            ot_tensor_destroy(t);
        }
        return "";
    }
};

Tensor bool_scalar(bool v) { return Tensor::of<uint8_t>(OT_DTYPE_BOOL, {}, {(uint8_t)v}); }

} // namespace

// ---------------------------------------------------------------- MT19937

TEST(SeqMt19937, MatchesStdMt19937AcrossTwists) {
    for (uint32_t seed : {0u, 1u, 5489u, 0xffffffffu}) {
        ot_mt19937_t g;
        ot_mt19937_seed(&g, seed);
        std::mt19937 ref(seed);
        for (int i = 0; i < 3 * 624 + 5; i++) ASSERT_EQ(ot_mt19937_next_u32(&g), ref()) << "seed " << seed << " draw " << i;
    }
}

TEST(SeqMt19937, FillEqualsSuccessiveDraws) {
    ot_mt19937_t a, b;
    ot_mt19937_seed(&a, 99);
    ot_mt19937_seed(&b, 99);
    std::vector<uint64_t> block(1500);
    ot_mt19937_fill_u53(&a, block.data(), 700);
    ot_mt19937_fill_u53(&a, block.data() + 700, 800);
    for (size_t i = 0; i < block.size(); i++) ASSERT_EQ(block[i], ot_mt19937_next_u53(&b)) << i;
}

TEST(SeqMt19937, DoublesMatchNumpy) {
    // /usr/bin/python3: np.random.seed(s); np.random.uniform(0, 1, n)
    ot_mt19937_t g;
    ot_mt19937_seed(&g, 0);
    EXPECT_EQ(ot_mt19937_next_double(&g), 0.5488135039273248);
    EXPECT_EQ(ot_mt19937_next_double(&g), 0.7151893663724195);
    EXPECT_EQ(ot_mt19937_next_double(&g), 0.6027633760716439);
    ot_mt19937_seed(&g, 12345);
    std::vector<double> u(700);
    for (double &v : u) v = ot_mt19937_next_double(&g);
    EXPECT_EQ(u[0], 0.9296160928171479);
    EXPECT_EQ(u[1], 0.3163755545817859);
    EXPECT_EQ(u[311], 0.6821773028712336); // draws 622, 623: the last before the first twist
    EXPECT_EQ(u[312], 0.9213919700550424);
    EXPECT_EQ(u[699], 0.010526395989324033);
}

// ---------------------------------------------------------------- Dropout forward

TEST(SeqDropout, TrainingMaskMatchesNumpyAndScales) {
    // ratio 0.3, seed 77, 2 x 3 x 1001 elements (odd, crosses several twists)
    size_t n = 2 * 3 * 1001;
    std::vector<float> x = [&] {
        std::vector<double> v = random_values(n, 3, -2, 2);
        return std::vector<float>(v.begin(), v.end());
    }();
    Node node("Dropout", 13);
    node.i("seed", 77);
    Result r = run_op(node, {Tensor::f32({2, 3, 1001}, x), Tensor::f32({}, {0.3f}), bool_scalar(true)}, 2);
    ASSERT_EQ(r.error, "");
    std::vector<double> u = numpy_uniform(77, n);
    std::vector<float> y = r.outputs[0].vec<float>();
    std::vector<uint8_t> mask = r.outputs[1].vec<uint8_t>();
    ASSERT_EQ(r.outputs[1].dtype, OT_DTYPE_BOOL);
    float scale = 1.0f / (1.0f - 0.3f);
    for (size_t i = 0; i < n; i++) {
        bool keep = u[i] >= (double)0.3f;
        ASSERT_EQ(mask[i], keep) << i;
        ASSERT_EQ(y[i], keep ? x[i] * scale : 0.f) << i;
    }
}

TEST(SeqDropout, KeptFractionIsOneMinusRatio) {
    // float64 data and float16 data; the kept fraction of n draws has
    // standard deviation sqrt(p (1 - p) / n); allow 5 of them.
    size_t n = 200000;
    for (double ratio : {0.1, 0.5, 0.9}) {
        Node node("Dropout", 13);
        node.i("seed", 1234);
        Result r = run_op(node, {Tensor::of(OT_DTYPE_DOUBLE, {(int64_t)n}, std::vector<double>(n, 1.5)),
                                 Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{ratio}), bool_scalar(true)},
                          2);
        ASSERT_EQ(r.error, "");
        std::vector<double> y = r.outputs[0].vec<double>();
        std::vector<uint8_t> mask = r.outputs[1].vec<uint8_t>();
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            kept += mask[i];
            ASSERT_EQ(y[i], mask[i] ? 1.5 * (1.0 / (1.0 - ratio)) : 0.0) << i;
        }
        double p = 1 - ratio, frac = (double)kept / n, sigma = std::sqrt(p * (1 - p) / n);
        EXPECT_NEAR(frac, p, 5 * sigma) << "ratio " << ratio;
    }
    // float16 data: 1.0 kept -> 1 / (1 - 0.25) rounded to half
    Node node("Dropout", 13);
    node.i("seed", 9);
    Result r = run_op(node, {Tensor::of(OT_DTYPE_FLOAT16, {1000}, std::vector<uint16_t>(1000, 0x3c00)),
                             Tensor::f32({}, {0.25f}), bool_scalar(true)},
                      2);
    ASSERT_EQ(r.error, "");
    std::vector<uint16_t> h = r.outputs[0].vec<uint16_t>();
    std::vector<uint8_t> mask = r.outputs[1].vec<uint8_t>();
    size_t kept = 0;
    for (size_t i = 0; i < h.size(); i++) {
        kept += mask[i];
        ASSERT_EQ(h[i], mask[i] ? 0x3d55 : 0) << i; // 1.333 in binary16
    }
    EXPECT_NEAR(kept / 1000.0, 0.75, 5 * std::sqrt(0.75 * 0.25 / 1000));
}

TEST(SeqDropout, EachRunDrawsTheNextMask) {
    // In a session the kernel's generator continues: run k gives numpy's
    // k-th uniform() call after seed(s). Without a seed attribute it still
    // draws a mask (seeded from the node name) and differs per run.
    for (bool seeded : {true, false}) {
        PbModel pb(8, 13);
        pb.input("x", OT_DTYPE_FLOAT, {3, 7});
        pb.input("r", OT_DTYPE_FLOAT, {});
        pb.input("t", OT_DTYPE_BOOL, {});
        auto *n = pb.node("Dropout", {"x", "r", "t"}, {"y", "mask"}, "drop");
        if (seeded) pb.attr_int(n, "seed", 42);
        pb.output("y", OT_DTYPE_FLOAT, {3, 7});
        pb.output("mask", OT_DTYPE_BOOL, {3, 7});
        Session s(pb.bytes());
        ASSERT_EQ(s.error, "");
        std::vector<double> u = numpy_uniform(42, 3 * 21);
        std::vector<std::vector<uint8_t>> masks;
        for (int run = 0; run < 3; run++) {
            std::vector<Tensor> outs;
            ASSERT_EQ(s.run({Tensor::f32({3, 7}, std::vector<float>(21, 1.f)), Tensor::f32({}, {0.5f}),
                             bool_scalar(true)},
                            outs),
                      "");
            masks.push_back(outs[1].vec<uint8_t>());
            if (seeded)
                for (size_t i = 0; i < 21; i++) ASSERT_EQ(masks.back()[i], u[run * 21 + i] >= 0.5) << run << "," << i;
        }
        EXPECT_NE(masks[0], masks[1]);
        EXPECT_NE(masks[1], masks[2]);
        // inference mode draws nothing and keeps everything
        std::vector<Tensor> outs;
        ASSERT_EQ(s.run({Tensor::f32({3, 7}, std::vector<float>(21, 1.f)), Tensor::f32({}, {0.5f}), bool_scalar(false)},
                        outs),
                  "");
        EXPECT_EQ(outs[1].vec<uint8_t>(), std::vector<uint8_t>(21, 1));
        EXPECT_EQ(outs[0].vec<float>(), std::vector<float>(21, 1.f));
    }
}

TEST(SeqDropout, BadRatioAtRunTimeNamesTheNode) {
    Result r = run_op(Node("Dropout", 13), {Tensor::f32({2}, {1, 2}), Tensor::f32({}, {1.0f}), bool_scalar(true)}, 1);
    EXPECT_TRUE(has(r.error, "node 'test_node' (Dropout): ratio 1 is not in [0, 1)")) << r.error;
    r = run_op(Node("Dropout", 13), {Tensor::f32({2}, {1, 2}), Tensor::f32({}, {0.5f}), Tensor::f32({}, {1.f})}, 1);
    EXPECT_TRUE(has(r.error, "training_mode must be bool")) << r.error;
}

// ---------------------------------------------------------------- DropoutGrad

TEST(SeqDropoutGrad, MatchesDefinition) {
    std::vector<float> dy = {1, -2, 3, -4, 5, -6, 7};
    std::vector<uint8_t> m = {1, 0, 0, 1, 1, 0, 1};
    Tensor mask = Tensor::of(OT_DTYPE_BOOL, {7}, m);
    Node g("DropoutGrad", 1, "com.microsoft");
    // training: dY * mask / (1 - ratio)
    Result r = run_op(g, {Tensor::f32({7}, dy), mask, Tensor::f32({}, {0.2f}), bool_scalar(true)}, 1);
    ASSERT_EQ(r.error, "");
    std::vector<float> ref(7);
    for (size_t i = 0; i < 7; i++) ref[i] = m[i] ? dy[i] / (1 - 0.2f) : 0.f;
    expect_near(r.outputs[0].vec<float>(), ref, 0, 1e-7, "dropout grad");
    // ratio absent: 0.5
    r = run_op(g, {Tensor::f32({7}, dy), mask, Tensor::absent(), bool_scalar(true)}, 1);
    ASSERT_EQ(r.error, "");
    for (size_t i = 0; i < 7; i++) ref[i] = m[i] ? dy[i] * 2 : 0.f;
    expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "default ratio");
    // training_mode false or absent: the forward was the identity
    for (bool absent : {true, false}) {
        r = run_op(g, {Tensor::f32({7}, dy), mask, Tensor::f32({}, {0.2f}), absent ? Tensor::absent() : bool_scalar(false)},
                   1);
        ASSERT_EQ(r.error, "");
        expect_near(r.outputs[0].vec<float>(), dy, 0, 0, "inference");
    }
    // float64, odd 3-D shape
    std::vector<double> dd = random_values(3 * 5 * 7, 11);
    std::vector<uint8_t> mm(dd.size());
    for (size_t i = 0; i < mm.size(); i++) mm[i] = (i * 7) % 3 != 0;
    r = run_op(g, {Tensor::of(OT_DTYPE_DOUBLE, {3, 5, 7}, dd), Tensor::of(OT_DTYPE_BOOL, {3, 5, 7}, mm),
                   Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{0.6}), bool_scalar(true)},
               1);
    ASSERT_EQ(r.error, "");
    std::vector<double> got = r.outputs[0].vec<double>();
    for (size_t i = 0; i < dd.size(); i++) ASSERT_EQ(got[i], mm[i] ? dd[i] * (1.0 / (1.0 - 0.6)) : 0.0) << i;
}

TEST(SeqDropoutGrad, RefusesBadInput) {
    Node g("DropoutGrad", 1, "com.microsoft");
    Result r = run_op(g, {Tensor::f32({3}, {1, 2, 3}), Tensor::f32({3}, {1, 1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "node 'test_node' (com.microsoft::DropoutGrad): mask must be bool")) << r.error;
    r = run_op(g, {Tensor::f32({3}, {1, 2, 3}), Tensor::of<uint8_t>(OT_DTYPE_BOOL, {2}, {1, 1})}, 1);
    EXPECT_TRUE(has(r.error, "dY has 3 elements, mask 2")) << r.error;
}

// ---------------------------------------------------------------- the rule, through autodiff

// Model: y = Dropout(x, r, t) [optionally with its mask], dx = Gradient(y wrt x)
// (autodiff seeds dL/dy with ones, so dx = mask / (1 - r)).
static std::string dropout_grad_model(bool with_mask, bool training_input) {
    PbModel pb(8, 13);
    pb.add_opset("ai.onnx.preview.training", 1);
    pb.input("x", OT_DTYPE_FLOAT, {4, 33});
    pb.input("r", OT_DTYPE_FLOAT, {});
    if (training_input) pb.input("t", OT_DTYPE_BOOL, {});
    std::vector<std::string> outs = {"y"};
    if (with_mask) outs.push_back("mask");
    std::vector<std::string> ins = {"x", "r"};
    if (training_input) ins.push_back("t");
    auto *n = pb.node("Dropout", ins, outs, "drop");
    pb.attr_int(n, "seed", 3);
    auto *g = pb.node("Gradient", {"x"}, {"dx"}, "gradient");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    axs->n_strings = 1;
    axs->strings = pb.alloc<ProtobufCBinaryData>(1);
    axs->strings[0] = pb.bin("x");
    auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    ay->has_s = 1;
    ay->s = pb.bin("y");
    pb.output("y", OT_DTYPE_FLOAT, {4, 33});
    if (with_mask) pb.output("mask", OT_DTYPE_BOOL, {4, 33});
    pb.output_any("dx");
    return pb.bytes();
}

TEST(SeqDropoutGrad, RuleUsesTheSameRunsMask) {
    std::vector<double> xv = random_values(4 * 33, 5, 0.5, 2); // nonzero: y == 0 exactly when dropped
    std::vector<float> x(xv.begin(), xv.end());
    for (bool with_mask : {false, true}) {
        Session s(dropout_grad_model(with_mask, true));
        ASSERT_EQ(s.error, "");
        std::vector<uint8_t> first;
        for (int run = 0; run < 2; run++) {
            std::vector<Tensor> outs;
            ASSERT_EQ(s.run({Tensor::f32({4, 33}, x), Tensor::f32({}, {0.4f}), bool_scalar(true)}, outs), "");
            std::vector<float> y = outs[0].vec<float>(), dx = outs.back().vec<float>();
            float scale = 1.0f / (1.0f - 0.4f);
            std::vector<uint8_t> kept(x.size());
            for (size_t i = 0; i < x.size(); i++) {
                kept[i] = y[i] != 0;
                if (with_mask) ASSERT_EQ(outs[1].vec<uint8_t>()[i], kept[i]) << i;
                ASSERT_EQ(dx[i], kept[i] ? scale : 0.f) << "run " << run << " element " << i;
            }
            if (run == 0) first = kept;
            else EXPECT_NE(kept, first) << "the second step must draw a new mask";
        }
    }
}

TEST(SeqDropoutGrad, RuleWithoutTrainingModeIsIdentity) {
    Session s(dropout_grad_model(false, false));
    ASSERT_EQ(s.error, "");
    std::vector<Tensor> outs;
    ASSERT_EQ(s.run({Tensor::f32({4, 33}, std::vector<float>(132, 3.f)), Tensor::f32({}, {0.4f})}, outs), "");
    EXPECT_EQ(outs[0].vec<float>(), std::vector<float>(132, 3.f));
    EXPECT_EQ(outs.back().vec<float>(), std::vector<float>(132, 1.f));
}

// Finite differences where the forward is deterministic: inference mode
// (training_mode false), ratio 0 in training, and Dropout-10.
TEST(SeqDropoutGrad, FiniteDifferencesWhenDeterministic) {
    std::vector<double> x = random_values(2 * 3 * 5, 21);
    Node n13("Dropout", 13);
    n13.i("seed", 1);
    EXPECT_EQ(grad_check(n13, {diff({2, 3, 5}, x), fixed(Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{0.5})),
                               fixed(bool_scalar(false))}),
              "");
    EXPECT_EQ(grad_check(n13, {diff({2, 3, 5}, x), fixed(Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{0.0})),
                               fixed(bool_scalar(true))}),
              "");
    Node n10("Dropout", 10);
    n10.f("ratio", 0.3f);
    EXPECT_EQ(grad_check(n10, {diff({7}, random_values(7, 22))}), "");
}
