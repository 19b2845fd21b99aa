// tests/test_grad_elementwise.cc: gradients of the elementwise ops and
// activations (ops/unary.c, ops/activations.c, ops/clip.c, ops/where.c,
// ops/variadic.c, Cast) against central finite differences in float64
// (tests/grad_check.h, and a multi-node variant here for subgraphs and
// com.microsoft ops), with load-time shapes and with every dim symbolic;
// the conventions at kinks and ties asserted against torch 1.13's gradients
// (tests/fixtures/elem/, from tools/fixtures/gen_elem_torch.py); and
// the float32 kernels (oneDNN forwards, fused backward loops) against the
// float64 kernels.
#include "tests/grad_check.h"

#include <algorithm>
#include <cfloat>
#include <functional>
#include <numeric>

using namespace ot_test;

namespace {

using Dims = std::vector<int64_t>;

size_t numel(const Dims &d) {
    size_t n = 1;
    for (int64_t v : d) n *= (size_t)v;
    return n;
}

// Random values in [lo, hi) at least `margin` away from every kink.
std::vector<double> away_from(size_t n, uint32_t seed, double lo, double hi, std::vector<double> kinks,
                              double margin = 0.05) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<double> v(n);
    for (double &x : v) {
        bool ok;
        do {
            x = u(gen);
            ok = true;
            for (double k : kinks) ok &= std::fabs(x - k) >= margin;
        } while (!ok);
    }
    return v;
}

// ---- a multi-node gradient check -------------------------------------------
// The graph's nodes produce "y" (float64, dims y_dims); L = sum(y * w) with
// fixed random w; Gradient(xs = differentiable inputs, y = L). Returns the
// analytic gradients and, when `fd`, checks them against central
// differences.

struct GNode {
    std::string op;
    std::vector<std::string> in, out;
    Node attrs{"", 17};
    std::string domain;
};

struct GInput {
    std::string name;
    GradInput in;
};

struct GraphGradResult {
    std::string error; // "" on success
    std::vector<std::vector<double>> grads;
};

GraphGradResult graph_grad(std::vector<GInput> inputs, const std::vector<GNode> &nodes, const Dims &y_dims,
                           int opset = 17, bool symbolic = false, bool fd = true, double eps = 1e-6,
                           double atol = 1e-6, double rtol = 1e-5) {
    GraphGradResult res;
    PbModel pb(8, opset);
    pb.add_opset("com.microsoft", 1);
    pb.add_opset("ai.onnx.preview.training", 1);
    std::vector<std::string> xs;
    std::vector<size_t> feed;
    for (size_t i = 0; i < inputs.size(); i++) {
        const Tensor &t = inputs[i].in.value;
        const std::string &name = inputs[i].name;
        if (inputs[i].in.initializer) {
            pb.init(pb.raw_tensor(name, t.dtype, t.dims, std::string(t.bytes.begin(), t.bytes.end())));
        } else {
            std::vector<Dim> dims(t.dims.begin(), t.dims.end());
            if (symbolic)
                for (size_t d = 0; d < dims.size(); d++) dims[d] = Dim((name + "_d" + std::to_string(d)).c_str());
            pb.input(name, t.dtype, dims);
            feed.push_back(i);
        }
        if (inputs[i].in.differentiable) xs.push_back(name);
    }
    for (const GNode &gn : nodes) {
        auto *n = pb.node(gn.op, gn.in, gn.out);
        if (!gn.domain.empty()) n->domain = pb.str(gn.domain);
        add_attrs(pb, n, gn.attrs);
    }
    Tensor w = Tensor::of(OT_DTYPE_DOUBLE, y_dims, random_values(numel(y_dims), 99, 0.5, 1.5));
    pb.init(pb.raw_tensor("w", w.dtype, w.dims, std::string(w.bytes.begin(), w.bytes.end())));
    pb.node("Mul", {"y", "w"}, {"z"});
    pb.attr_int(pb.node("ReduceSum", {"z"}, {"s"}), "keepdims", 0);
    pb.node("Identity", {"s"}, {"L"});
    pb.output("L", OT_DTYPE_DOUBLE, {});
    std::vector<std::string> dxs;
    for (const std::string &x : xs) dxs.push_back("d" + x);
    auto *g = pb.node("Gradient", xs, dxs, "gradient");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *axs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    axs->n_strings = xs.size();
    axs->strings = pb.alloc<ProtobufCBinaryData>(xs.size());
    for (size_t k = 0; k < xs.size(); k++) axs->strings[k] = pb.bin(xs[k]);
    auto *ay = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    ay->has_s = 1;
    ay->s = pb.bin("L");
    for (const std::string &d : dxs) pb.output_any(d);

    Loaded model = load_bytes(pb.bytes(), nullptr, false);
    if (model.st) {
        res.error = "load: " + model.msg();
        return res;
    }
    ot_session_t *sess = nullptr;
    if (ot_status_t *st = ot_session_create(model.m, &sess)) {
        res.error = std::string("session: ") + ot_status_message(st);
        ot_status_free(st);
        return res;
    }
    size_t n_out = 1 + dxs.size();
    auto run = [&](std::vector<ot_tensor_t *> &outs) -> std::string {
        std::vector<ot_tensor_t> views;
        views.reserve(feed.size());
        std::vector<const ot_tensor_t *> feeds;
        for (size_t i : feed) views.push_back(inputs[i].in.value.view());
        for (auto &v : views) feeds.push_back(&v);
        outs.assign(n_out, nullptr);
        ot_status_t *err = ot_session_run(sess, feeds.data(), outs.data());
        if (!err) return "";
        std::string e = ot_status_message(err);
        ot_status_free(err);
        return e;
    };
    auto free_all = [](std::vector<ot_tensor_t *> &outs) {
        for (auto *t : outs) ot_tensor_destroy(t);
    };
    std::vector<ot_tensor_t *> base;
    std::string err = run(base);
    size_t k = 1;
    for (size_t i = 0; err.empty() && i < inputs.size(); i++) {
        if (!inputs[i].in.differentiable) continue;
        const ot_tensor_t *dx = base[k++];
        size_t count = inputs[i].in.value.bytes.size() / sizeof(double);
        if (dx->dtype != OT_DTYPE_DOUBLE || (size_t)ot_shape_numel(&dx->shape) != count) {
            err = "gradient of " + inputs[i].name + " has the wrong type or size";
            break;
        }
        const double *a = (const double *)dx->data;
        res.grads.emplace_back(a, a + count);
        double *x = reinterpret_cast<double *>(inputs[i].in.value.bytes.data());
        for (size_t j = 0; fd && j < count && err.empty(); j++) {
            double keep = x[j], l[2] = {0, 0};
            for (int side = 0; side < 2 && err.empty(); side++) {
                x[j] = keep + (side ? -eps : eps);
                std::vector<ot_tensor_t *> outs;
                err = run(outs);
                if (err.empty()) l[side] = *(const double *)outs[0]->data;
                free_all(outs);
            }
            x[j] = keep;
            double numeric = (l[0] - l[1]) / (2 * eps);
            if (err.empty() && !(std::fabs(numeric - a[j]) <= atol + rtol * std::fabs(numeric))) {
                std::ostringstream why;
                why << "d L / d " << inputs[i].name << "[" << j << "]: analytic " << a[j] << ", finite difference "
                    << numeric;
                err = why.str();
            }
        }
    }
    free_all(base);
    ot_session_destroy(sess);
    res.error = err;
    return res;
}

// The weights graph_grad uses, to predict exact gradients.
std::vector<double> weights(const Dims &y_dims) { return random_values(numel(y_dims), 99, 0.5, 1.5); }

GInput gin(const std::string &name, Dims d, std::vector<double> v, bool differentiable = true) {
    GInput g{name, GradInput{Tensor::of(OT_DTYPE_DOUBLE, d, v), differentiable, false}};
    return g;
}

GNode gnode(std::string op, std::vector<std::string> in, std::vector<std::string> out, Node attrs = Node("", 17),
            std::string domain = "") {
    GNode n;
    n.op = op;
    n.in = in;
    n.out = out;
    n.attrs = attrs;
    n.domain = domain;
    return n;
}

void expect_vec_near(const std::vector<double> &got, const std::vector<double> &want, double tol,
                     const std::string &label) {
    ASSERT_EQ(got.size(), want.size()) << label;
    for (size_t i = 0; i < got.size(); i++) EXPECT_NEAR(got[i], want[i], tol) << label << " [" << i << "]";
}

const std::vector<Dims> kShapes = {{2, 3}, {7}, {}, {3, 1, 5}};

// ---- unary ops and activations ----------------------------------------------

struct UnaryCase {
    std::string name;
    Node node;
    double lo, hi;
    std::vector<double> kinks;
};

std::vector<UnaryCase> unary_cases() {
    Node gelu("Gelu", 1, "com.microsoft");
    return {
        {"Sqrt", Node("Sqrt", 13), 0.3, 2.0, {}},
        {"Exp", Node("Exp", 13), -2.0, 2.0, {}},
        {"Log", Node("Log", 13), 0.3, 2.0, {}},
        {"Neg", Node("Neg", 13), -2.0, 2.0, {}},
        {"Sigmoid", Node("Sigmoid", 13), -4.0, 4.0, {}},
        {"Tanh", Node("Tanh", 13), -3.0, 3.0, {}},
        {"Erf", Node("Erf", 13), -2.5, 2.5, {}},
        {"Softplus", Node("Softplus", 13), -6.0, 6.0, {}},
        {"Abs", Node("Abs", 13), -2.0, 2.0, {0.0}},
        {"LeakyReluDefault", Node("LeakyRelu", 16), -2.0, 2.0, {0.0}},
        {"LeakyReluAlpha", Node("LeakyRelu", 13).f("alpha", 0.3f), -2.0, 2.0, {0.0}},
        {"HardSigmoidDefault", Node("HardSigmoid", 13), -4.0, 4.0, {-2.5, 2.5}},
        {"HardSigmoidAlphaBeta", Node("HardSigmoid", 13).f("alpha", 0.4f).f("beta", 0.3f), -3.0, 3.0,
         {-0.75, 1.75}},
        {"HardSwish", Node("HardSwish", 14), -4.5, 4.5, {-3.0, 3.0}},
    };
}

class UnaryGrad : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(UnaryGrad, MatchesFiniteDifferences) {
    auto [c, s, symbolic] = GetParam();
    UnaryCase uc = unary_cases()[c];
    const Dims &d = kShapes[s];
    auto x = diff(d, away_from(numel(d), 31 + c * 7 + s, uc.lo, uc.hi, uc.kinks));
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(uc.node, {x}, opt), "") << uc.name;
}

INSTANTIATE_TEST_SUITE_P(Ops, UnaryGrad,
                         ::testing::Combine(::testing::Range(0, (int)unary_cases().size()),
                                            ::testing::Range(0, (int)kShapes.size()), ::testing::Bool()),
                         [](const auto &info) {
                             return unary_cases()[std::get<0>(info.param)].name + "_shape" +
                                    std::to_string(std::get<1>(info.param)) +
                                    (std::get<2>(info.param) ? "_symbolic" : "");
                         });

// com.microsoft::Gelu through the multi-node check (grad_check would import
// ai.onnx at the node's opset, 1).
TEST(GeluGrad, MatchesFiniteDifferences) {
    for (bool symbolic : {false, true})
        for (const Dims &d : kShapes) {
            auto r = graph_grad({gin("x", d, random_values(numel(d), 5, -3, 3))},
                                {gnode("Gelu", {"x"}, {"y"}, Node("", 17), "com.microsoft")}, d, 17, symbolic);
            EXPECT_EQ(r.error, "") << (symbolic ? "symbolic" : "known");
        }
}

// What torch.onnx (1.13) writes for nn.GELU() at opsets 13..17 (checked by
// exporting it): Constant, Div(x, c), Erf, Constant, Add(., c), Mul(x, .),
// Constant, Mul(., c), i.e. x * (1 + erf(x / sqrt 2)) * 0.5; differentiated
// through the individual rules.
TEST(GeluGrad, ExportedErfSubgraphMatchesFiniteDifferencesAndGeluGrad) {
    for (int opset : {13, 17})
        for (bool symbolic : {false, true}) {
            Dims d = {2, 5};
            std::vector<double> xv = random_values(10, 17, -3, 3);
            // the constants as the exporter writes them: Constant nodes
            auto c = [](const char *name, double v) {
                Node n("", 13);
                n.t("value", Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{v}));
                return gnode("Constant", {}, {name}, n);
            };
            std::vector<GNode> nodes = {
                c("sqrt2", std::sqrt(2.0)),           gnode("Div", {"x", "sqrt2"}, {"t0"}),
                gnode("Erf", {"t0"}, {"t1"}),         c("one", 1.0),
                gnode("Add", {"t1", "one"}, {"t2"}),  gnode("Mul", {"x", "t2"}, {"t3"}),
                c("half", 0.5),                       gnode("Mul", {"t3", "half"}, {"y"}),
            };
            auto r = graph_grad({gin("x", d, xv)}, nodes, d, opset, symbolic);
            ASSERT_EQ(r.error, "") << "opset " << opset;
            // and it equals com.microsoft::GeluGrad's
            auto g = graph_grad({gin("x", d, xv)}, {gnode("Gelu", {"x"}, {"y"}, Node("", 17), "com.microsoft")}, d,
                                opset, symbolic, false);
            ASSERT_EQ(g.error, "");
            expect_vec_near(r.grads[0], g.grads[0], 1e-12, "subgraph vs GeluGrad");
        }
}

// ---- torch 1.13 at kinks and ties ---------------------------------------------------
// tests/fixtures/elem/ holds torch's gradients of sum(f(x)) at and around the
// kinks (tools/fixtures/gen_elem_torch.py): abs'(0) = 0, relu'(0) = 0,
// leaky_relu'(0) = alpha, hardsigmoid' = 0 at x = +-3, hardswish' = x/3 + 1/2
// at x = +-3 (-0.5 and 1.5), clamp passing the gradient at both bounds,
// maximum/minimum splitting a tie in halves. With L = sum(y * w), ours must
// be w * torch's.

std::vector<double> load_fixture(const std::string &name) {
    std::string path = std::string(OT_SOURCE_DIR) + "/tests/fixtures/elem/" + name + ".npy";
    ot_tensor_t *t = nullptr;
    ot_status_t *st = ot_tensor_load(path.c_str(), &t);
    EXPECT_EQ(st, nullptr) << path << ": " << ot_status_message(st);
    ot_status_free(st);
    std::vector<double> v;
    if (t && t->dtype == OT_DTYPE_DOUBLE) {
        const double *p = (const double *)t->data;
        v.assign(p, p + ot_shape_numel(&t->shape));
    }
    EXPECT_FALSE(v.empty()) << path;
    ot_tensor_destroy(t);
    return v;
}

std::vector<double> times(const std::vector<double> &w, const std::vector<double> &g) {
    std::vector<double> r(g.size());
    for (size_t i = 0; i < g.size() && i < w.size(); i++) r[i] = w[i] * g[i];
    return r;
}

TEST(TorchFixtures, UnaryKinks) {
    struct K {
        const char *fixture;
        Node node; // torch's constants: hardsigmoid is relu6(x + 3) / 6
    };
    const K cases[] = {
        {"abs", Node("Abs", 13)},
        {"relu", Node("Relu", 14)},
        {"leaky_relu", Node("LeakyRelu", 16).f("alpha", 0.25f)},
        {"hardsigmoid", Node("HardSigmoid", 6).f("alpha", 1.0f / 6).f("beta", 0.5f)},
        {"hardswish", Node("HardSwish", 14)},
    };
    for (const K &k : cases) {
        std::vector<double> x = load_fixture(std::string(k.fixture) + "_x"),
                            g = load_fixture(std::string(k.fixture) + "_dx");
        // the degenerate-fixture guard: some nonzero gradient
        ASSERT_TRUE(std::any_of(g.begin(), g.end(), [](double v) { return v != 0; })) << k.fixture;
        Dims d = {(int64_t)x.size()};
        auto r = graph_grad({gin("x", d, x)}, {gnode(k.node.op_type, {"x"}, {"y"}, k.node)}, d, 17, false, false);
        ASSERT_EQ(r.error, "") << k.fixture;
        // 1e-8: our attributes are float32 (alpha = 1/6 rounded), torch's constants double
        expect_vec_near(r.grads[0], times(weights(d), g), 1e-8, k.fixture);
    }
}

TEST(TorchFixtures, ClampBounds) {
    std::vector<double> x = load_fixture("clamp_x"), gx = load_fixture("clamp_dx"),
                        gmin = load_fixture("clamp_dmin"), gmax = load_fixture("clamp_dmax");
    Dims d = {(int64_t)x.size()};
    auto r = graph_grad({gin("x", d, x), gin("lo", {}, {0}), gin("hi", {}, {1})},
                        {gnode("Clip", {"x", "lo", "hi"}, {"y"})}, d, 13, false, false);
    ASSERT_EQ(r.error, "");
    std::vector<double> w = weights(d), wmin = times(w, gmin), wmax = times(w, gmax);
    expect_vec_near(r.grads[0], times(w, gx), 1e-12, "dX");
    // torch's per-element bound gradients, summed to our scalar bounds
    expect_vec_near(r.grads[1], {std::accumulate(wmin.begin(), wmin.end(), 0.0)}, 1e-12, "dmin");
    expect_vec_near(r.grads[2], {std::accumulate(wmax.begin(), wmax.end(), 0.0)}, 1e-12, "dmax");
}

TEST(TorchFixtures, MaximumMinimumTies) {
    for (const std::string op : {"maximum", "minimum"}) {
        std::vector<double> a = load_fixture(op + "_a"), b = load_fixture(op + "_b"), ga = load_fixture(op + "_da"),
                            gb = load_fixture(op + "_db");
        Dims d = {(int64_t)a.size()};
        auto r = graph_grad({gin("a", d, a), gin("b", d, b)}, {gnode(op == "maximum" ? "Max" : "Min", {"a", "b"}, {"y"})},
                            d, 13, false, false);
        ASSERT_EQ(r.error, "") << op;
        expect_vec_near(r.grads[0], times(weights(d), ga), 1e-12, op + " da");
        expect_vec_near(r.grads[1], times(weights(d), gb), 1e-12, op + " db");
    }
}

// ---- Clip -------------------------------------------------------------------

TEST(ClipGrad, InputBoundsMatchFiniteDifferences) {
    for (bool symbolic : {false, true})
        for (int opset : {11, 13}) {
            auto x = diff({3, 4}, away_from(12, 3, -2, 2, {-0.5, 0.8}));
            auto lo = diff({}, {-0.5}), hi = diff({}, {0.8});
            GradCheckOptions opt;
            opt.symbolic_dims = symbolic;
            EXPECT_EQ(grad_check(Node("Clip", opset), {x, lo, hi}, opt), "") << opset;
            // bounds fixed (initializers), only X differentiable
            EXPECT_EQ(grad_check(Node("Clip", opset), {x, fixed(lo.value), fixed(hi.value)}, opt), "");
            // only max given: min is an absent input
            EXPECT_EQ(grad_check(Node("Clip", opset), {x, GradInput{Tensor::absent(), false, false}, hi}, opt), "");
            // no bounds at all
            EXPECT_EQ(grad_check(Node("Clip", opset), {x}, opt), "");
        }
}

TEST(ClipGrad, AttributeBoundsMatchFiniteDifferences) {
    auto x = diff({5, 3}, away_from(15, 4, -2, 2, {-1.0, 0.5}));
    EXPECT_EQ(grad_check(Node("Clip", 10).f("min", -1.0f).f("max", 0.5f), {x}), "");
    EXPECT_EQ(grad_check(Node("Clip", 10).f("max", 0.5f), {x}), "");
    GradCheckOptions opt;
    opt.symbolic_dims = true;
    EXPECT_EQ(grad_check(Node("Clip", 10).f("min", -1.0f), {x}, opt), "");
}

// The fused ClipGrad kernel: float32 against float64, and its bound sums.
TEST(ClipGrad, KernelFloat32MatchesFloat64) {
    Node n("ClipGrad", 1, OT_DOMAIN);
    for (int64_t count : {(int64_t)11, (int64_t)40000}) {
        Dims d = {count};
        std::vector<double> dy = random_values((size_t)count, 1, -2, 2), x = random_values((size_t)count, 2, -2, 2);
        for (auto *v : {&dy, &x})
            for (double &e : *v) e = (double)(float)e;
        auto f32 = [](const std::vector<double> &v, const Dims &dd) {
            return Tensor::f32(dd, std::vector<float>(v.begin(), v.end()));
        };
        Result f = run_op(n, {f32(dy, d), f32(x, d), Tensor::f32({}, {-0.5f}), Tensor::f32({}, {1.25f})}, 3);
        Result r = run_op(n, {Tensor::of(OT_DTYPE_DOUBLE, d, dy), Tensor::of(OT_DTYPE_DOUBLE, d, x),
                              Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{-0.5}),
                              Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{1.25})},
                          3);
        ASSERT_EQ(f.error, "");
        ASSERT_EQ(r.error, "");
        double slo = 0, shi = 0;
        std::vector<double> want(dy.size());
        for (size_t i = 0; i < dy.size(); i++) {
            want[i] = x[i] >= -0.5 && x[i] <= 1.25 ? dy[i] : 0;
            slo += x[i] < -0.5 ? dy[i] : 0;
            shi += x[i] > 1.25 ? dy[i] : 0;
        }
        expect_vec_near(r.outputs[0].vec<double>(), want, 0, "dX f64");
        EXPECT_NEAR(r.outputs[1].vec<double>()[0], slo, 1e-9);
        EXPECT_NEAR(r.outputs[2].vec<double>()[0], shi, 1e-9);
        std::vector<float> wantf(want.begin(), want.end());
        expect_near(f.outputs[0].vec<float>(), wantf, 0, 0, "dX f32");
        // float32 sums accumulate in double, then round once (the order of a
        // parallel sum may move the double by an ulp, hence not EXPECT_EQ)
        EXPECT_NEAR(f.outputs[1].vec<float>()[0], slo, std::fabs(slo) * FLT_EPSILON);
        EXPECT_NEAR(f.outputs[2].vec<float>()[0], shi, std::fabs(shi) * FLT_EPSILON);
    }
}

// ---- Where ------------------------------------------------------------------

struct WhereShapes {
    Dims c, x, y;
};

class WhereGrad : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(WhereGrad, MatchesFiniteDifferences) {
    const std::vector<WhereShapes> shapes = {
        {{2, 3}, {2, 3}, {2, 3}}, {{2, 3}, {3}, {}}, {{3, 1}, {1, 4}, {3, 4}}, {{4}, {2, 1, 4}, {1}}};
    auto [k, symbolic] = GetParam();
    const WhereShapes &s = shapes[k];
    std::vector<uint8_t> cv(numel(s.c));
    for (size_t i = 0; i < cv.size(); i++) cv[i] = (uint8_t)((i * 7 + k) % 3 != 0);
    GradInput cond{Tensor::of(OT_DTYPE_BOOL, s.c, cv), false, k % 2 == 0};
    auto x = diff(s.x, random_values(numel(s.x), 40 + k));
    auto y = diff(s.y, random_values(numel(s.y), 50 + k));
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(Node("Where", 16), {cond, x, y}, opt), "");
}

INSTANTIATE_TEST_SUITE_P(Shapes, WhereGrad, ::testing::Combine(::testing::Range(0, 4), ::testing::Bool()));

// ---- Sum, Max, Min ------------------------------------------------------------

class VariadicGrad : public ::testing::TestWithParam<std::tuple<std::string, int, bool>> {};

TEST_P(VariadicGrad, MatchesFiniteDifferences) {
    const std::vector<std::vector<Dims>> shapes = {
        {{2, 3}}, {{2, 3}, {2, 3}}, {{4, 3}, {3}}, {{3, 1, 2}, {4, 1}, {2}}, {{1}, {2, 5}, {2, 1}, {5}}};
    auto [op, k, symbolic] = GetParam();
    std::vector<GradInput> in;
    // distinct random values: no ties (ties have their own test)
    for (size_t i = 0; i < shapes[k].size(); i++)
        in.push_back(diff(shapes[k][i], random_values(numel(shapes[k][i]), 60 + 10 * k + (uint32_t)i, -2, 2)));
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(Node(op, 13), in, opt), "");
}

INSTANTIATE_TEST_SUITE_P(Ops, VariadicGrad,
                         ::testing::Combine(::testing::Values("Sum", "Max", "Min"), ::testing::Range(0, 5),
                                            ::testing::Bool()));

TEST(VariadicGrad, OnlySomeInputsDifferentiable) {
    auto a = diff({3, 2}, random_values(6, 1, -2, 2));
    auto b = fixed(Tensor::of(OT_DTYPE_DOUBLE, {2}, random_values(2, 2, -2, 2)));
    for (const char *op : {"Sum", "Max", "Min"}) EXPECT_EQ(grad_check(Node(op, 8), {a, b}), "") << op;
}

// torch.maximum/minimum split a tie equally (grad / 2 each); with k tied
// inputs each gets dY / k.
TEST(VariadicGrad, TiesSplitEquallyLikeTorch) {
    Dims d = {3};
    std::vector<double> w = weights(d);
    auto r = graph_grad({gin("a", d, {1, 2, 3}), gin("b", d, {1, 1, 4})}, {gnode("Max", {"a", "b"}, {"y"})}, d, 13,
                        false, false);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], {w[0] / 2, w[1], 0}, 1e-12, "Max da");
    expect_vec_near(r.grads[1], {w[0] / 2, 0, w[2]}, 1e-12, "Max db");
    r = graph_grad({gin("a", d, {1, 2, 3}), gin("b", d, {1, 1, 4})}, {gnode("Min", {"a", "b"}, {"y"})}, d, 13, false,
                   false);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], {w[0] / 2, 0, w[2]}, 1e-12, "Min da");
    expect_vec_near(r.grads[1], {w[0] / 2, w[1], 0}, 1e-12, "Min db");
    // three inputs, a broadcast scalar tied with two of them
    r = graph_grad({gin("a", d, {5, 2, 5}), gin("b", d, {5, 1, 0}), gin("c", {}, {5})},
                   {gnode("Max", {"a", "b", "c"}, {"y"})}, d, 13, false, false);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], {w[0] / 3, 0, w[2] / 2}, 1e-12, "Max3 da");
    expect_vec_near(r.grads[1], {w[0] / 3, 0, 0}, 1e-12, "Max3 db");
    expect_vec_near(r.grads[2], {w[0] / 3 + w[1] + w[2] / 2}, 1e-12, "Max3 dc");
    // a NaN result: the NaN inputs share the gradient
    r = graph_grad({gin("a", d, {NAN, 1, NAN}), gin("b", d, {0, NAN, NAN})}, {gnode("Min", {"a", "b"}, {"y"})}, d, 13,
                   false, false);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], {w[0], 0, w[2] / 2}, 1e-12, "NaN da");
    expect_vec_near(r.grads[1], {0, w[1], w[2] / 2}, 1e-12, "NaN db");
}

// ---- Cast ---------------------------------------------------------------------

TEST(CastGrad, FloatTypesCastTheGradientBack) {
    Dims d = {2, 3};
    Node to_f("", 13), to_d("", 13);
    to_f.i("to", OT_DTYPE_FLOAT);
    to_d.i("to", OT_DTYPE_DOUBLE);
    // double -> float -> double: the identity up to float rounding, so a
    // larger step keeps the rounding out of the difference quotient
    auto r = graph_grad({gin("x", d, random_values(6, 8, -2, 2))},
                        {gnode("Cast", {"x"}, {"f"}, to_f), gnode("Cast", {"f"}, {"y"}, to_d)}, d, 13, false, true,
                        1e-2, 1e-4, 1e-4);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], weights(d), 1e-6, "dx");
}

TEST(CastGrad, ThroughAnIntegerTheGradientIsZero) {
    Dims d = {4};
    Node to_i("", 13), to_d("", 13);
    to_i.i("to", OT_DTYPE_INT64);
    to_d.i("to", OT_DTYPE_DOUBLE);
    auto r = graph_grad({gin("x", d, {0.3, 1.7, -2.2, 5.5})},
                        {gnode("Cast", {"x"}, {"i"}, to_i), gnode("Cast", {"i"}, {"y"}, to_d)}, d, 13, false, true);
    ASSERT_EQ(r.error, "");
    expect_vec_near(r.grads[0], {0, 0, 0, 0}, 0, "dx");
}

// ---- float32 kernels against the float64 ones ------------------------------------

Tensor to_f32(const std::vector<double> &v, const Dims &d) {
    std::vector<float> f(v.begin(), v.end());
    return Tensor::f32(d, f);
}

// Forward ops, large enough for the oneDNN paths (>= 2048 elements) and small.
TEST(ActivationKernels, Float32MatchesFloat64) {
    struct F {
        Node node;
        double lo, hi, atol, rtol;
    };
    std::vector<F> cases = {
        {Node("LeakyRelu", 16).f("alpha", 0.2f), -3, 3, 0, 1e-7},
        {Node("HardSigmoid", 6), -4, 4, 1e-7, 1e-6},
        {Node("HardSwish", 14), -5, 5, 1e-6, 1e-6},
        {Node("Softplus", 1), -10, 10, 1e-6, 1e-5},
        {Node("Abs", 13), -3, 3, 0, 0},
        {Node("Erf", 13), -3, 3, 1e-6, 1e-5},
        {Node("Gelu", 1, "com.microsoft"), -5, 5, 1e-6, 1e-5},
    };
    for (const F &c : cases)
        for (int64_t n : {(int64_t)37, (int64_t)5000}) {
            Dims d = {n};
            std::vector<double> xv = random_values((size_t)n, 3, c.lo, c.hi);
            // the float32 input, widened, is the reference's input
            std::vector<double> xr(xv.size());
            for (size_t i = 0; i < xv.size(); i++) xr[i] = (double)(float)xv[i];
            Result f = run_op(c.node, {to_f32(xv, d)}, 1);
            Result r = run_op(c.node, {Tensor::of(OT_DTYPE_DOUBLE, d, xr)}, 1);
            ASSERT_EQ(f.error, "") << c.node.op_type;
            ASSERT_EQ(r.error, "") << c.node.op_type;
            std::vector<double> ref = r.outputs[0].vec<double>();
            std::vector<float> reff(ref.begin(), ref.end());
            expect_near(f.outputs[0].vec<float>(), reff, c.atol, c.rtol, c.node.op_type + " n=" + std::to_string(n));
        }
}

// The fused backward ops: float32 within float32 rounding of float64.
TEST(ActivationKernels, BackwardFloat32MatchesFloat64) {
    struct B {
        Node node;
        double lo, hi;
        bool reads_y; // second input is Y = f(X) in (0, 1) or (-1, 1)
    };
    std::vector<B> cases = {
        {Node("SigmoidGrad", 1, "com.microsoft"), 0.01, 0.99, true},
        {Node("TanhGrad", 1, "com.microsoft"), -0.99, 0.99, true},
        {Node("GeluGrad", 1, "com.microsoft"), -5, 5, false},
        {Node("LeakyReluGrad", 1, OT_DOMAIN).f("alpha", 0.1f), -3, 3, false},
        {Node("HardSigmoidGrad", 1, OT_DOMAIN), -4, 4, false},
        {Node("HardSwishGrad", 1, OT_DOMAIN), -5, 5, false},
        {Node("SoftplusGrad", 1, OT_DOMAIN), -10, 10, false},
        {Node("AbsGrad", 1, OT_DOMAIN), -3, 3, false},
        {Node("ErfGrad", 1, OT_DOMAIN), -3, 3, false},
    };
    for (const B &c : cases)
        for (int64_t n : {(int64_t)19, (int64_t)70000}) {
            Dims d = {n};
            std::vector<double> dy = random_values((size_t)n, 5, -2, 2), x = random_values((size_t)n, 6, c.lo, c.hi);
            for (auto *v : {&dy, &x})
                for (double &e : *v) e = (double)(float)e;
            Result f = run_op(c.node, {to_f32(dy, d), to_f32(x, d)}, 1);
            Result r = run_op(c.node, {Tensor::of(OT_DTYPE_DOUBLE, d, dy), Tensor::of(OT_DTYPE_DOUBLE, d, x)}, 1);
            ASSERT_EQ(f.error, "") << c.node.op_type;
            ASSERT_EQ(r.error, "") << c.node.op_type;
            std::vector<double> ref = r.outputs[0].vec<double>();
            std::vector<float> reff(ref.begin(), ref.end());
            // a few float32 ulps relative, plus cancellation room near zero
            expect_near(f.outputs[0].vec<float>(), reff, 1e-6, 4 * FLT_EPSILON,
                        c.node.op_type + " n=" + std::to_string(n));
        }
}

// MaxMinGrad in float32 on a broadcast case, against the float64 kernel.
TEST(MaxMinGradKernel, Float32MatchesFloat64AndSplitsTies) {
    Node n("MaxMinGrad", 1, OT_DOMAIN);
    Dims dy_d = {300, 257}, a_d = {300, 1}, b_d = {257};
    std::vector<double> a = random_values(300, 1, -1, 1), b = random_values(257, 2, -1, 1);
    for (size_t i = 0; i < 50; i++) b[i] = a[i]; // some ties (row i, column i)
    std::vector<double> y(300 * 257), dy = random_values(300 * 257, 3, -2, 2);
    for (size_t r = 0; r < 300; r++)
        for (size_t c = 0; c < 257; c++) y[r * 257 + c] = std::max(a[r], b[c]);
    for (auto *v : {&a, &b, &y, &dy})
        for (double &e : *v) e = (double)(float)e;
    auto f32 = [](const std::vector<double> &v, const Dims &dd) {
        return Tensor::f32(dd, std::vector<float>(v.begin(), v.end()));
    };
    auto f64 = [](const std::vector<double> &v, const Dims &dd) { return Tensor::of(OT_DTYPE_DOUBLE, dd, v); };
    Result f = run_op(n, {f32(dy, dy_d), f32(y, dy_d), f32(a, a_d), f32(b, b_d)}, 2);
    Result r = run_op(n, {f64(dy, dy_d), f64(y, dy_d), f64(a, a_d), f64(b, b_d)}, 2);
    ASSERT_EQ(f.error, "");
    ASSERT_EQ(r.error, "");
    for (int o = 0; o < 2; o++) {
        std::vector<double> ref = r.outputs[o].vec<double>();
        std::vector<double> want(ref.size());
        for (size_t rr = 0; rr < 300; rr++)
            for (size_t c = 0; c < 257; c++) {
                size_t e = rr * 257 + c;
                double x = o == 0 ? a[rr] : b[c];
                int ties = (a[rr] == y[e]) + (b[c] == y[e]);
                want[e] = x == y[e] ? dy[e] / ties : 0;
            }
        expect_vec_near(ref, want, 0, "MaxMinGrad f64 output " + std::to_string(o));
        std::vector<float> reff(ref.begin(), ref.end());
        expect_near(f.outputs[o].vec<float>(), reff, 0, 0, "MaxMinGrad f32 output " + std::to_string(o));
    }
}

TEST(ActivationKernels, BackwardRejectsMismatchedSizes) {
    Result r = run_op(Node("GeluGrad", 1, "com.microsoft"),
                      {Tensor::f32({3}, {1, 2, 3}), Tensor::f32({2}, {1, 2})}, 1);
    EXPECT_NE(r.error.find("differ in size"), std::string::npos) << r.error;
    r = run_op(Node("SigmoidGrad", 1, "com.microsoft"),
               {Tensor::f32({2}, {1, 2}), Tensor::of(OT_DTYPE_DOUBLE, {2}, std::vector<double>{1, 2})}, 1);
    EXPECT_NE(r.error.find("must share a float dtype"), std::string::npos) << r.error;
}

} // namespace
