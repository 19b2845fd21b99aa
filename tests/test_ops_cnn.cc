// tests/test_ops_cnn.cc: Conv, MaxPool, AveragePool, Global*Pool and
// BatchNormalization against naive N-d direct loops written here (in double,
// over generic spatial rank, with their own output-size arithmetic), plus
// every ONNX conformance case of these ops.
#include "tests/conformance_case.h"

#include <algorithm>
#include <cstdint>
#include <functional>

using namespace ot_test;

namespace {

using Dims = std::vector<int64_t>;

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
    std::vector<float> v(n);
    uint32_t s = seed * 2654435761u + 12345u;
    for (auto &e : v) {
        s = s * 1664525u + 1013904223u;
        e = lo + (hi - lo) * (float)((s >> 8) & 0xFFFFFF) / (float)0xFFFFFF;
    }
    return v;
}

int64_t numel(const Dims &d) {
    int64_t n = 1;
    for (auto x : d) n *= x;
    return n;
}

// Visits every multi-index of `shape` in row-major order.
void for_each_index(const Dims &shape, const std::function<void(const Dims &)> &f) {
    Dims i(shape.size(), 0);
    if (numel(shape) == 0) return;
    for (;;) {
        f(i);
        int d = (int)shape.size() - 1;
        while (d >= 0 && ++i[d] == shape[d]) i[d--] = 0;
        if (d < 0) return;
    }
}

int64_t flat(const Dims &idx, const Dims &shape) {
    int64_t o = 0;
    for (size_t d = 0; d < shape.size(); d++) o = o * shape[d] + idx[d];
    return o;
}

// Window geometry resolved by the test itself.
struct Win {
    Dims k, s, d, pl, pr, out;
};

enum class Pad { NOTSET, VALID, SAME_UPPER, SAME_LOWER };

Win resolve(const Dims &in, const Dims &k, Dims s, Dims d, Dims pads, Pad ap, bool ceil_mode) {
    size_t n = in.size();
    Win w;
    w.k = k;
    w.s = s.empty() ? Dims(n, 1) : s;
    w.d = d.empty() ? Dims(n, 1) : d;
    if (pads.empty()) pads.assign(2 * n, 0);
    w.pl.assign(pads.begin(), pads.begin() + n);
    w.pr.assign(pads.begin() + n, pads.end());
    w.out.resize(n);
    for (size_t a = 0; a < n; a++) {
        int64_t ek = (k[a] - 1) * w.d[a] + 1;
        if (ap == Pad::SAME_UPPER || ap == Pad::SAME_LOWER) {
            w.out[a] = (in[a] + w.s[a] - 1) / w.s[a];
            int64_t total = std::max<int64_t>(0, (w.out[a] - 1) * w.s[a] + ek - in[a]);
            w.pl[a] = ap == Pad::SAME_UPPER ? total / 2 : total - total / 2;
            w.pr[a] = total - w.pl[a];
            continue;
        }
        if (ap == Pad::VALID) w.pl[a] = w.pr[a] = 0;
        double span = (double)(in[a] + w.pl[a] + w.pr[a] - ek) / (double)w.s[a];
        w.out[a] = (int64_t)(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
        // ceil_mode: a window must start inside the input or its left padding
        if (ceil_mode && (w.out[a] - 1) * w.s[a] >= in[a] + w.pl[a]) w.out[a]--;
    }
    return w;
}

// Conv in double: x (N, C, sp...), w (M, C/g, k...).
std::vector<double> ref_conv(const std::vector<double> &x, const Dims &xd, const std::vector<double> &w, const Dims &wd,
                             const std::vector<double> *b, int64_t group, const Win &g, Dims &yd) {
    size_t nsp = xd.size() - 2;
    int64_t N = xd[0], C = xd[1], M = wd[0], cg = C / group, mg = M / group;
    Dims in(xd.begin() + 2, xd.end()), k(wd.begin() + 2, wd.end());
    yd = {N, M};
    yd.insert(yd.end(), g.out.begin(), g.out.end());
    std::vector<double> y(numel(yd));
    for_each_index(yd, [&](const Dims &o) {
        int64_t n = o[0], m = o[1], grp = m / mg;
        double acc = b ? (*b)[m] : 0.0;
        for (int64_t c = 0; c < cg; c++)
            for_each_index(k, [&](const Dims &kk) {
                Dims xi = {n, grp * cg + c};
                for (size_t a = 0; a < nsp; a++) {
                    int64_t p = o[2 + a] * g.s[a] - g.pl[a] + kk[a] * g.d[a];
                    if (p < 0 || p >= in[a]) return;
                    xi.push_back(p);
                }
                Dims wi = {m, c};
                wi.insert(wi.end(), kk.begin(), kk.end());
                acc += x[flat(xi, xd)] * w[flat(wi, wd)];
            });
        y[flat(o, yd)] = acc;
    });
    return y;
}

// Pools in double. kind: 0 max, 1 avg exclude pad, 2 avg include pad.
// idx: flat index in x (col_major: spatial part column-major).
std::vector<double> ref_pool(const std::vector<double> &x, const Dims &xd, const Win &g, int kind, bool col_major,
                             Dims &yd, std::vector<int64_t> *idx) {
    size_t nsp = xd.size() - 2;
    Dims in(xd.begin() + 2, xd.end());
    yd = {xd[0], xd[1]};
    yd.insert(yd.end(), g.out.begin(), g.out.end());
    std::vector<double> y(numel(yd));
    if (idx) idx->assign(y.size(), -1);
    for_each_index(yd, [&](const Dims &o) {
        double best = -INFINITY, sum = 0;
        int64_t at = -1, cnt = 0, cnt_pad = 0;
        for_each_index(g.k, [&](const Dims &kk) {
            Dims xi = {o[0], o[1]};
            bool inside = true, in_padded = true;
            for (size_t a = 0; a < nsp; a++) {
                int64_t p = o[2 + a] * g.s[a] - g.pl[a] + kk[a] * g.d[a];
                inside = inside && p >= 0 && p < in[a];
                in_padded = in_padded && p >= -g.pl[a] && p < in[a] + g.pr[a];
                xi.push_back(p);
            }
            cnt_pad += in_padded;
            if (!inside) return;
            double v = x[flat(xi, xd)];
            sum += v;
            cnt++;
            if (v > best) {
                best = v;
                int64_t sp = 0, mul = 1;
                if (col_major)
                    for (size_t a = 0; a < nsp; a++) sp += xi[2 + a] * mul, mul *= in[a];
                else
                    sp = flat(Dims(xi.begin() + 2, xi.end()), in);
                at = (o[0] * xd[1] + o[1]) * numel(in) + sp;
            }
        });
        int64_t f = flat(o, yd);
        y[f] = kind == 0 ? best : sum / (double)(kind == 2 ? cnt_pad : cnt);
        if (idx) (*idx)[f] = at;
    });
    return y;
}

std::vector<double> to_d(const std::vector<float> &v) { return std::vector<double>(v.begin(), v.end()); }
std::vector<float> to_f(const std::vector<double> &v) { return std::vector<float>(v.begin(), v.end()); }

const char *pad_name(Pad p) {
    switch (p) {
    case Pad::VALID: return "VALID";
    case Pad::SAME_UPPER: return "SAME_UPPER";
    case Pad::SAME_LOWER: return "SAME_LOWER";
    default: return "NOTSET";
    }
}

// ---- Conv ---------------------------------------------------------------

struct ConvCase {
    std::string label;
    Dims xd, wd;
    int64_t group;
    Dims strides, dilations, pads;
    Pad auto_pad;
    bool bias, kernel_attr;
};

void check_conv(const ConvCase &c, ot_dtype_t dt = OT_DTYPE_FLOAT) {
    SCOPED_TRACE(c.label);
    auto x = random_floats(numel(c.xd), 1), w = random_floats(numel(c.wd), 2), b = random_floats(c.wd[0], 3);
    Node node("Conv", 11);
    if (c.group != 1) node.i("group", c.group);
    if (c.kernel_attr) node.ints("kernel_shape", Dims(c.wd.begin() + 2, c.wd.end()));
    if (!c.strides.empty()) node.ints("strides", c.strides);
    if (!c.dilations.empty()) node.ints("dilations", c.dilations);
    if (!c.pads.empty()) node.ints("pads", c.pads);
    if (c.auto_pad != Pad::NOTSET) node.s("auto_pad", pad_name(c.auto_pad));
    std::vector<Tensor> in;
    if (dt == OT_DTYPE_FLOAT) in = {Tensor::f32(c.xd, x), Tensor::f32(c.wd, w)};
    else in = {Tensor::of(dt, c.xd, to_d(x)), Tensor::of(dt, c.wd, to_d(w))};
    if (c.bias) in.push_back(dt == OT_DTYPE_FLOAT ? Tensor::f32({c.wd[0]}, b) : Tensor::of(dt, {c.wd[0]}, to_d(b)));
    Result r = run_op(node, in, 1);
    ASSERT_EQ(r.error, "");
    Win g = resolve(Dims(c.xd.begin() + 2, c.xd.end()), Dims(c.wd.begin() + 2, c.wd.end()), c.strides, c.dilations,
                    c.pads, c.auto_pad, false);
    Dims yd;
    auto bd = to_d(b);
    auto ref = ref_conv(to_d(x), c.xd, to_d(w), c.wd, c.bias ? &bd : nullptr, c.group, g, yd);
    EXPECT_EQ(r.outputs[0].dims, yd);
    EXPECT_EQ(r.outputs[0].dtype, dt);
    if (dt == OT_DTYPE_FLOAT) expect_near(r.outputs[0].vec<float>(), to_f(ref), 1e-4, 1e-4, c.label);
    else expect_near(to_f(r.outputs[0].vec<double>()), to_f(ref), 1e-6, 1e-6, c.label);
}

const std::vector<ConvCase> &conv_cases() {
    static const std::vector<ConvCase> cases = {
        {"2d_plain", {1, 1, 5, 5}, {1, 1, 3, 3}, 1, {}, {}, {}, Pad::NOTSET, false, true},
        {"2d_bias_odd", {2, 3, 7, 6}, {5, 3, 3, 2}, 1, {2, 1}, {1, 2}, {1, 0, 2, 1}, Pad::NOTSET, true, true},
        {"2d_no_kernel_attr", {2, 3, 9, 8}, {4, 3, 3, 3}, 1, {1, 2}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, false},
        {"2d_group2", {2, 4, 7, 7}, {6, 2, 3, 3}, 2, {1, 1}, {1, 1}, {1, 1, 1, 1}, Pad::NOTSET, true, true},
        {"2d_depthwise", {2, 5, 9, 7}, {5, 1, 3, 3}, 5, {2, 2}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, true},
        {"2d_depthwise_mult", {1, 3, 8, 8}, {6, 1, 3, 3}, 3, {}, {2, 2}, {2, 2, 2, 2}, Pad::NOTSET, false, true},
        {"2d_same_upper", {1, 2, 7, 6}, {3, 2, 4, 3}, 1, {2, 3}, {}, {}, Pad::SAME_UPPER, true, true},
        {"2d_same_lower", {1, 2, 7, 6}, {3, 2, 4, 3}, 1, {2, 3}, {}, {}, Pad::SAME_LOWER, true, true},
        {"2d_same_dilated", {1, 2, 9, 9}, {2, 2, 3, 3}, 1, {1, 1}, {2, 2}, {}, Pad::SAME_UPPER, false, true},
        {"2d_valid", {2, 2, 8, 7}, {3, 2, 3, 2}, 1, {3, 2}, {}, {5, 5, 5, 5}, Pad::VALID, true, true},
        {"2d_stride_gt_kernel", {1, 2, 11, 10}, {2, 2, 2, 2}, 1, {3, 4}, {}, {0, 1, 2, 0}, Pad::NOTSET, true, true},
        {"1d", {3, 2, 17}, {4, 2, 5}, 1, {2}, {2}, {3, 1}, Pad::NOTSET, true, true},
        {"1d_group", {1, 4, 10}, {4, 2, 3}, 2, {}, {}, {1, 1}, Pad::NOTSET, true, true},
        {"3d", {2, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, 1, {1, 2, 2}, {2, 1, 1}, {1, 0, 1, 2, 1, 0}, Pad::NOTSET, true, true},
        {"3d_group_same", {1, 4, 5, 5, 5}, {2, 2, 3, 3, 3}, 2, {2, 2, 2}, {}, {}, Pad::SAME_LOWER, true, true},
        // big enough that oneDNN picks blocked layouts (reorders in and out)
        {"2d_blocked", {2, 16, 15, 13}, {32, 16, 3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, true},
        {"2d_blocked_depthwise", {2, 32, 12, 12}, {32, 1, 3, 3}, 32, {2, 2}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, true},
        {"2d_blocked_group", {1, 32, 9, 9}, {64, 8, 3, 3}, 4, {1, 1}, {2, 2}, {2, 2, 2, 2}, Pad::NOTSET, true, true},
    };
    return cases;
}

TEST(CnnConv, MatchesDirectLoopFloat) {
    for (const auto &c : conv_cases()) check_conv(c);
}

TEST(CnnConv, MatchesDirectLoopDouble) {
    for (const auto &c : conv_cases()) check_conv(c, OT_DTYPE_DOUBLE);
}

TEST(CnnConv, ChannelMismatchNamesNode) {
    Node node("Conv", 11);
    Result r = run_op(node, {Tensor::f32({1, 3, 5, 5}, random_floats(75, 1)), Tensor::f32({2, 2, 3, 3}, random_floats(36, 2))}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Conv)"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("channel mismatch"), std::string::npos) << r.error;
}

TEST(CnnConv, BadGroupNamesNode) {
    Node node("Conv", 11);
    node.i("group", 3);
    // C = 6 = 2 * 3 fits, but M = 4 is not a multiple of 3.
    Result r = run_op(node, {Tensor::f32({1, 6, 5, 5}, random_floats(150, 1)), Tensor::f32({4, 2, 3, 3}, random_floats(72, 2))}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Conv)"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("group 3"), std::string::npos) << r.error;
    Node zero("Conv", 11);
    zero.i("group", 0);
    r = run_op(zero, {Tensor::f32({1, 2, 5, 5}, random_floats(50, 1)), Tensor::f32({2, 2, 3, 3}, random_floats(36, 2))}, 1);
    EXPECT_NE(r.error.find("group = 0"), std::string::npos) << r.error;
}

TEST(CnnConv, BadAttributesNameNode) {
    auto x = Tensor::f32({1, 2, 5, 5}, random_floats(50, 1));
    auto w = Tensor::f32({2, 2, 3, 3}, random_floats(36, 2));
    Node ks("Conv", 11);
    ks.ints("kernel_shape", {3, 2});
    EXPECT_NE(run_op(ks, {x, w}, 1).error.find("kernel_shape[1] = 2"), std::string::npos);
    Node pads("Conv", 11);
    pads.ints("pads", {1, 1});
    EXPECT_NE(run_op(pads, {x, w}, 1).error.find("attribute pads has 2 values, expected 4"), std::string::npos);
    Node neg("Conv", 11);
    neg.ints("strides", {1, 0});
    EXPECT_NE(run_op(neg, {x, w}, 1).error.find("strides[1] = 0"), std::string::npos);
    Node ap("Conv", 11);
    ap.s("auto_pad", "SAME");
    EXPECT_NE(run_op(ap, {x, w}, 1).error.find("auto_pad 'SAME'"), std::string::npos);
    Node big("Conv", 11);
    big.ints("dilations", {3, 3});
    std::string e = run_op(big, {x, w}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (Conv): spatial axis 0"), std::string::npos) << e;
    Result r = run_op(Node("Conv", 11), {x, w, Tensor::f32({3}, {1, 2, 3})}, 1);
    EXPECT_NE(r.error.find("B (3) must have shape (M) = (2)"), std::string::npos) << r.error;
    r = run_op(Node("Conv", 11), {Tensor::of(OT_DTYPE_INT64, {1, 2, 5, 5}, std::vector<int64_t>(50)), w}, 1);
    EXPECT_NE(r.error.find("dtype int64 not supported"), std::string::npos) << r.error;
}

// ---- pools ----------------------------------------------------------------

struct PoolCase {
    std::string label;
    Dims xd, k, strides, dilations, pads;
    Pad auto_pad;
    bool ceil_mode;
    int64_t flag; // MaxPool: storage_order; AveragePool: count_include_pad
};

void check_maxpool(const PoolCase &c, bool with_indices, ot_dtype_t dt = OT_DTYPE_FLOAT) {
    SCOPED_TRACE(c.label + (with_indices ? " +indices" : ""));
    auto x = random_floats(numel(c.xd), 7, -10.f, 10.f);
    if (dt == OT_DTYPE_INT8 || dt == OT_DTYPE_UINT8)
        for (auto &v : x) v = std::round(dt == OT_DTYPE_UINT8 ? v * 12.f + 127.f : v * 12.f);
    Node node("MaxPool", 12);
    node.ints("kernel_shape", c.k);
    if (!c.strides.empty()) node.ints("strides", c.strides);
    if (!c.dilations.empty()) node.ints("dilations", c.dilations);
    if (!c.pads.empty()) node.ints("pads", c.pads);
    if (c.auto_pad != Pad::NOTSET) node.s("auto_pad", pad_name(c.auto_pad));
    if (c.ceil_mode) node.i("ceil_mode", 1);
    if (c.flag) node.i("storage_order", c.flag);
    Tensor in;
    if (dt == OT_DTYPE_FLOAT) in = Tensor::f32(c.xd, x);
    else if (dt == OT_DTYPE_DOUBLE) in = Tensor::of(dt, c.xd, to_d(x));
    else if (dt == OT_DTYPE_INT8) in = Tensor::of(dt, c.xd, std::vector<int8_t>(x.begin(), x.end()));
    else in = Tensor::of(dt, c.xd, std::vector<uint8_t>(x.begin(), x.end()));
    Result r = run_op(node, {in}, with_indices ? 2 : 1);
    ASSERT_EQ(r.error, "");
    Win g = resolve(Dims(c.xd.begin() + 2, c.xd.end()), c.k, c.strides, c.dilations, c.pads, c.auto_pad, c.ceil_mode);
    Dims yd;
    std::vector<int64_t> idx;
    auto ref = ref_pool(to_d(x), c.xd, g, 0, c.flag == 1, yd, &idx);
    ASSERT_EQ(r.outputs[0].dims, yd);
    std::vector<float> got;
    if (dt == OT_DTYPE_FLOAT) got = r.outputs[0].vec<float>();
    else if (dt == OT_DTYPE_DOUBLE) got = to_f(r.outputs[0].vec<double>());
    else if (dt == OT_DTYPE_INT8) for (auto v : r.outputs[0].vec<int8_t>()) got.push_back(v);
    else for (auto v : r.outputs[0].vec<uint8_t>()) got.push_back(v);
    expect_near(got, to_f(ref), 0, 0, c.label);
    if (with_indices) {
        EXPECT_EQ(r.outputs[1].dtype, OT_DTYPE_INT64);
        EXPECT_EQ(r.outputs[1].dims, yd);
        EXPECT_EQ(r.outputs[1].vec<int64_t>(), idx);
    }
}

const std::vector<PoolCase> &maxpool_cases() {
    static const std::vector<PoolCase> cases = {
        {"2d_default", {2, 3, 7, 6}, {2, 2}, {}, {}, {}, Pad::NOTSET, false, 0},
        {"2d_pads_strides", {1, 2, 9, 8}, {3, 2}, {2, 3}, {}, {1, 0, 2, 1}, Pad::NOTSET, false, 0},
        {"2d_ceil", {1, 2, 8, 7}, {3, 3}, {2, 2}, {}, {}, Pad::NOTSET, true, 0},
        // ceil_mode where the last window would start in the right padding
        {"2d_ceil_drop", {1, 1, 5, 6}, {2, 2}, {2, 2}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, 0},
        {"2d_ceil_pads", {2, 2, 10, 9}, {3, 2}, {3, 2}, {}, {2, 1, 1, 1}, Pad::NOTSET, true, 0},
        {"2d_dilations", {1, 2, 9, 9}, {2, 3}, {1, 2}, {2, 2}, {1, 1, 1, 0}, Pad::NOTSET, false, 0},
        {"2d_dilations_ceil", {1, 1, 10, 11}, {2, 2}, {3, 2}, {3, 2}, {}, Pad::NOTSET, true, 0},
        {"2d_same_upper", {1, 2, 7, 8}, {3, 2}, {2, 3}, {}, {}, Pad::SAME_UPPER, false, 0},
        {"2d_same_lower", {1, 2, 7, 8}, {3, 2}, {2, 3}, {}, {}, Pad::SAME_LOWER, false, 0},
        {"2d_valid", {1, 2, 7, 8}, {3, 2}, {2, 3}, {}, {}, Pad::VALID, false, 0},
        {"2d_col_major", {2, 3, 7, 5}, {3, 2}, {2, 1}, {}, {1, 1, 0, 1}, Pad::NOTSET, false, 1},
        {"1d", {2, 3, 19}, {4}, {3}, {2}, {1, 2}, Pad::NOTSET, true, 0},
        {"3d", {1, 2, 6, 5, 7}, {2, 3, 2}, {2, 1, 2}, {1, 1, 2}, {1, 1, 0, 0, 1, 1}, Pad::NOTSET, false, 0},
        {"3d_col_major", {1, 2, 5, 6, 4}, {2, 2, 2}, {1, 2, 1}, {}, {}, Pad::NOTSET, true, 1},
    };
    return cases;
}

TEST(CnnMaxPool, MatchesDirectLoop) {
    for (const auto &c : maxpool_cases()) check_maxpool(c, false);
}

TEST(CnnMaxPool, IndicesMatchDirectLoop) {
    for (const auto &c : maxpool_cases()) check_maxpool(c, true);
}

TEST(CnnMaxPool, OtherDtypes) {
    for (const auto &c : maxpool_cases()) {
        check_maxpool(c, true, OT_DTYPE_DOUBLE);
        check_maxpool(c, false, OT_DTYPE_INT8);
        check_maxpool(c, true, OT_DTYPE_UINT8);
    }
}

TEST(CnnMaxPool, OlderOpsetsLoad) {
    // MaxPool-1 has no Indices; MaxPool-8 adds storage_order and Indices.
    auto x = Tensor::f32({1, 1, 4, 4}, random_floats(16, 3));
    Node m1("MaxPool", 7);
    m1.ints("kernel_shape", {2, 2});
    EXPECT_EQ(run_op(m1, {x}, 1).error, "");
    Node m8("MaxPool", 9);
    m8.ints("kernel_shape", {2, 2}).i("storage_order", 1);
    Result r = run_op(m8, {x}, 2);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[1].dims, (Dims{1, 1, 3, 3}));
}

TEST(CnnMaxPool, BadAttributesNameNode) {
    auto x = Tensor::f32({1, 1, 5, 5}, random_floats(25, 3));
    Node nok("MaxPool", 12);
    std::string e = run_op(nok, {x}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (MaxPool): attribute kernel_shape is required"), std::string::npos) << e;
    Node pads("MaxPool", 12);
    pads.ints("kernel_shape", {2, 2}).ints("pads", {2, 0, 0, 0});
    e = run_op(pads, {x}, 1).error;
    EXPECT_NE(e.find("must be smaller than the kernel"), std::string::npos) << e;
    Node rank("MaxPool", 12);
    rank.ints("kernel_shape", {2});
    e = run_op(rank, {x}, 1).error;
    EXPECT_NE(e.find("kernel_shape has 1 values"), std::string::npos) << e;
    Node so("MaxPool", 12);
    so.ints("kernel_shape", {2, 2}).i("storage_order", 2);
    e = run_op(so, {x}, 1).error;
    EXPECT_NE(e.find("storage_order = 2"), std::string::npos) << e;
    Node cm("MaxPool", 12);
    cm.ints("kernel_shape", {2, 2}).i("ceil_mode", 3);
    e = run_op(cm, {x}, 1).error;
    EXPECT_NE(e.find("ceil_mode = 3"), std::string::npos) << e;
    Node big("MaxPool", 12);
    big.ints("kernel_shape", {6, 2});
    e = run_op(big, {x}, 1).error;
    EXPECT_NE(e.find("spatial axis 0: input size 5"), std::string::npos) << e;
}

void check_avgpool(const PoolCase &c, ot_dtype_t dt = OT_DTYPE_FLOAT) {
    SCOPED_TRACE(c.label);
    auto x = random_floats(numel(c.xd), 9);
    Node node("AveragePool", 11);
    node.ints("kernel_shape", c.k);
    if (!c.strides.empty()) node.ints("strides", c.strides);
    if (!c.pads.empty()) node.ints("pads", c.pads);
    if (c.auto_pad != Pad::NOTSET) node.s("auto_pad", pad_name(c.auto_pad));
    if (c.ceil_mode) node.i("ceil_mode", 1);
    if (c.flag) node.i("count_include_pad", c.flag);
    Result r = run_op(node, {dt == OT_DTYPE_FLOAT ? Tensor::f32(c.xd, x) : Tensor::of(dt, c.xd, to_d(x))}, 1);
    ASSERT_EQ(r.error, "");
    Win g = resolve(Dims(c.xd.begin() + 2, c.xd.end()), c.k, c.strides, {}, c.pads, c.auto_pad, c.ceil_mode);
    Dims yd;
    auto ref = ref_pool(to_d(x), c.xd, g, c.flag ? 2 : 1, false, yd, nullptr);
    ASSERT_EQ(r.outputs[0].dims, yd);
    auto got = dt == OT_DTYPE_FLOAT ? r.outputs[0].vec<float>() : to_f(r.outputs[0].vec<double>());
    expect_near(got, to_f(ref), 1e-6, 1e-5, c.label);
}

const std::vector<PoolCase> &avgpool_cases() {
    static const std::vector<PoolCase> cases = {
        {"2d_default", {2, 3, 7, 6}, {2, 2}, {}, {}, {}, Pad::NOTSET, false, 0},
        {"2d_pads_exclude", {1, 2, 9, 8}, {3, 2}, {2, 3}, {}, {1, 0, 2, 1}, Pad::NOTSET, false, 0},
        {"2d_pads_include", {1, 2, 9, 8}, {3, 2}, {2, 3}, {}, {1, 0, 2, 1}, Pad::NOTSET, false, 1},
        {"2d_ceil_exclude", {1, 2, 8, 7}, {3, 3}, {2, 2}, {}, {}, Pad::NOTSET, true, 0},
        {"2d_ceil_include", {1, 2, 8, 7}, {3, 3}, {2, 2}, {}, {}, Pad::NOTSET, true, 1},
        {"2d_ceil_pads_include", {2, 2, 10, 9}, {3, 2}, {3, 2}, {}, {2, 1, 1, 1}, Pad::NOTSET, true, 1},
        {"2d_ceil_pads_exclude", {2, 2, 10, 9}, {3, 2}, {3, 2}, {}, {2, 1, 1, 1}, Pad::NOTSET, true, 0},
        {"2d_ceil_drop_include", {1, 1, 5, 6}, {2, 2}, {2, 2}, {}, {1, 1, 1, 1}, Pad::NOTSET, true, 1},
        {"2d_same_upper_include", {1, 2, 7, 8}, {3, 2}, {2, 3}, {}, {}, Pad::SAME_UPPER, false, 1},
        {"2d_same_lower", {1, 2, 7, 8}, {3, 2}, {2, 3}, {}, {}, Pad::SAME_LOWER, false, 0},
        {"1d_include", {2, 3, 19}, {4}, {3}, {}, {1, 2}, Pad::NOTSET, true, 1},
        {"3d", {1, 2, 6, 5, 7}, {2, 3, 2}, {2, 1, 2}, {}, {1, 1, 0, 0, 1, 1}, Pad::NOTSET, false, 0},
        {"3d_include_ceil", {1, 2, 6, 5, 7}, {2, 3, 2}, {2, 2, 2}, {}, {1, 1, 0, 0, 1, 1}, Pad::NOTSET, true, 1},
    };
    return cases;
}

TEST(CnnAveragePool, MatchesDirectLoop) {
    for (const auto &c : avgpool_cases()) {
        check_avgpool(c);
        check_avgpool(c, OT_DTYPE_DOUBLE);
    }
}

TEST(CnnAveragePool, RefusesIntegerAndIndices) {
    Node node("AveragePool", 11);
    node.ints("kernel_shape", {2, 2});
    std::string e = run_op(node, {Tensor::of(OT_DTYPE_UINT8, {1, 1, 3, 3}, std::vector<uint8_t>(9))}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (AveragePool): input X dtype uint8 not supported"), std::string::npos) << e;
    Node cip("AveragePool", 11);
    cip.ints("kernel_shape", {2, 2}).i("count_include_pad", 2);
    e = run_op(cip, {Tensor::f32({1, 1, 3, 3}, random_floats(9, 1))}, 1).error;
    EXPECT_NE(e.find("count_include_pad = 2"), std::string::npos) << e;
}

TEST(CnnGlobalPool, MatchesDirectLoop) {
    for (Dims xd : {Dims{2, 3, 7}, Dims{2, 5, 4, 3}, Dims{1, 3, 3, 4, 5}, Dims{3, 17, 9, 11}}) {
        auto x = random_floats(numel(xd), 4);
        Dims in(xd.begin() + 2, xd.end());
        Win g = resolve(in, in, {}, {}, {}, Pad::NOTSET, false);
        for (int kind : {0, 1}) {
            Result r = run_op(Node(kind == 0 ? "GlobalMaxPool" : "GlobalAveragePool", 13), {Tensor::f32(xd, x)}, 1);
            ASSERT_EQ(r.error, "");
            Dims yd;
            auto ref = ref_pool(to_d(x), xd, g, kind, false, yd, nullptr);
            EXPECT_EQ(r.outputs[0].dims, yd);
            expect_near(r.outputs[0].vec<float>(), to_f(ref), 1e-6, 1e-5, kind ? "gap" : "gmp");
            r = run_op(Node(kind == 0 ? "GlobalMaxPool" : "GlobalAveragePool", 13), {Tensor::of(OT_DTYPE_DOUBLE, xd, to_d(x))}, 1);
            ASSERT_EQ(r.error, "");
            expect_near(to_f(r.outputs[0].vec<double>()), to_f(ref), 1e-6, 1e-6, kind ? "gap double" : "gmp double");
        }
    }
}

// ---- BatchNormalization ---------------------------------------------------

std::vector<double> ref_bn(const std::vector<double> &x, const Dims &xd, const std::vector<double> &s,
                           const std::vector<double> &b, const std::vector<double> &m, const std::vector<double> &v,
                           double eps, bool spatial) {
    int64_t per_n = numel(xd) / xd[0], inner = spatial ? per_n / xd[1] : 1;
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); i++) {
        int64_t c = (int64_t)(i % per_n) / inner;
        y[i] = s[c] * (x[i] - m[c]) / std::sqrt(v[c] + eps) + b[c];
    }
    return y;
}

TEST(CnnBatchNorm, MatchesDefinition) {
    for (Dims xd : {Dims{2, 3, 4, 5}, Dims{3, 7}, Dims{2, 5, 9}, Dims{2, 4, 3, 2, 3}, Dims{4, 19, 13, 11}}) {
        int64_t C = xd[1];
        auto x = random_floats(numel(xd), 1, -3.f, 3.f), s = random_floats(C, 2), b = random_floats(C, 3),
             m = random_floats(C, 4), v = random_floats(C, 5, 0.1f, 2.f);
        for (int opset : {7, 9, 14, 15}) {
            SCOPED_TRACE("opset " + std::to_string(opset) + " rank " + std::to_string(xd.size()));
            Node node("BatchNormalization", opset);
            node.f("epsilon", 1e-3f);
            Result r = run_op(node, {Tensor::f32(xd, x), Tensor::f32({C}, s), Tensor::f32({C}, b), Tensor::f32({C}, m),
                                     Tensor::f32({C}, v)},
                              1);
            ASSERT_EQ(r.error, "");
            auto ref = ref_bn(to_d(x), xd, to_d(s), to_d(b), to_d(m), to_d(v), (double)1e-3f, true);
            EXPECT_EQ(r.outputs[0].dims, xd);
            expect_near(r.outputs[0].vec<float>(), to_f(ref), 1e-5, 1e-5, "bn f32");
            Result rd = run_op(node, {Tensor::of(OT_DTYPE_DOUBLE, xd, to_d(x)), Tensor::of(OT_DTYPE_DOUBLE, {C}, to_d(s)),
                                      Tensor::of(OT_DTYPE_DOUBLE, {C}, to_d(b)), Tensor::of(OT_DTYPE_DOUBLE, {C}, to_d(m)),
                                      Tensor::of(OT_DTYPE_DOUBLE, {C}, to_d(v))},
                               1);
            ASSERT_EQ(rd.error, "");
            expect_near(to_f(rd.outputs[0].vec<double>()), to_f(ref), 1e-6, 1e-6, "bn f64");
        }
    }
}

TEST(CnnBatchNorm, MixedParameterDtypesOpset15) {
    Dims xd{2, 3, 5};
    auto x = random_floats(30, 1), s = random_floats(3, 2), b = random_floats(3, 3), m = random_floats(3, 4),
         v = random_floats(3, 5, 0.5f, 1.5f);
    Result r = run_op(Node("BatchNormalization", 15),
                      {Tensor::f32(xd, x), Tensor::of(OT_DTYPE_DOUBLE, {3}, to_d(s)), Tensor::of(OT_DTYPE_DOUBLE, {3}, to_d(b)),
                       Tensor::f32({3}, m), Tensor::f32({3}, v)},
                      1);
    ASSERT_EQ(r.error, "");
    auto ref = ref_bn(to_d(x), xd, to_d(s), to_d(b), to_d(m), to_d(v), (double)1e-5f, true);
    expect_near(r.outputs[0].vec<float>(), to_f(ref), 1e-5, 1e-5, "bn mixed");
}

TEST(CnnBatchNorm, NonSpatialOpset7) {
    Dims xd{3, 2, 4};
    auto x = random_floats(24, 1), s = random_floats(8, 2), b = random_floats(8, 3), m = random_floats(8, 4),
         v = random_floats(8, 5, 0.5f, 1.5f);
    Node node("BatchNormalization", 7);
    node.i("spatial", 0);
    Result r = run_op(node, {Tensor::f32(xd, x), Tensor::f32({2, 4}, s), Tensor::f32({2, 4}, b), Tensor::f32({2, 4}, m),
                             Tensor::f32({2, 4}, v)},
                      1);
    ASSERT_EQ(r.error, "");
    auto ref = ref_bn(to_d(x), xd, to_d(s), to_d(b), to_d(m), to_d(v), (double)1e-5f, false);
    expect_near(r.outputs[0].vec<float>(), to_f(ref), 1e-5, 1e-5, "bn spatial=0");
}

TEST(CnnBatchNorm, ErrorsNameNode) {
    Dims xd{2, 3, 4};
    auto p = Tensor::f32({3}, {1, 1, 1});
    auto x = Tensor::f32(xd, random_floats(24, 1));
    Node train("BatchNormalization", 15);
    train.i("training_mode", 2);
    std::string e = run_op(train, {x, p, p, p, p}, 3).error;
    EXPECT_NE(e.find("node 'test_node' (BatchNormalization): training_mode = 2 must be 0 or 1"), std::string::npos) << e;
    e = run_op(Node("BatchNormalization", 15), {x, p, p, p, p}, 3).error;
    EXPECT_NE(e.find("exists only with training_mode = 1"), std::string::npos) << e;
    Node nonspatial("BatchNormalization", 7);
    nonspatial.i("spatial", 0);
    e = run_op(nonspatial, {x, p, p, p, p}, 5).error;
    EXPECT_NE(e.find("training with spatial = 0 is not supported"), std::string::npos) << e;
    auto p4 = Tensor::f32({4}, {1, 1, 1, 1});
    e = run_op(Node("BatchNormalization", 15), {x, p, p4, p, p}, 1).error;
    EXPECT_NE(e.find("node 'test_node' (BatchNormalization): input B (4) does not match X (2, 3, 4)"), std::string::npos)
        << e;
    e = run_op(Node("BatchNormalization", 9), {x, p, Tensor::of(OT_DTYPE_DOUBLE, {3}, std::vector<double>{1, 1, 1}), p, p}, 1)
            .error;
    EXPECT_NE(e.find("input B dtype float64 differs from X's float32"), std::string::npos) << e;
}

// ---- load-time inference with unknown dims ------------------------------------

// Runs only the op's infer on type-only inputs (dims < 0 unknown, rank -1
// unknown rank) and returns output 0's shape, or the error.
std::string infer_shape(const Node &node, const std::vector<ot_tensor_t> &inputs, ot_shape_t *out) {
    ot_registry_t *reg = nullptr;
    ot_status_t *st = ot_registry_create(&reg);
    if (st) return ot_status_message(st);
    const ot_op_def_t *op = ot_registry_find(reg, "", node.op_type.c_str(), node.opset);
    ot_node_info_t info{};
    info.name = "test_node";
    info.op_type = node.op_type.c_str();
    info.domain = "";
    info.opset = node.opset;
    info.n_attrs = (int)node.attrs.size();
    info.attrs = node.attrs.data();
    std::vector<const ot_tensor_t *> in;
    for (const auto &t : inputs) in.push_back(&t);
    ot_tensor_t o{};
    ot_tensor_t *outs[1] = {&o};
    ot_infer_ctx_t ctx{};
    ctx.node = &info;
    ctx.n_inputs = (int)in.size();
    ctx.inputs = in.data();
    ctx.n_outputs = 1;
    ctx.outputs = outs;
    std::string err;
    st = op->infer(&ctx);
    if (st) err = ot_status_message(st);
    ot_status_free(st);
    ot_registry_destroy(reg);
    *out = o.shape;
    return err;
}

ot_tensor_t type_only(Dims d, int rank = -2) {
    ot_tensor_t t{};
    t.dtype = OT_DTYPE_FLOAT;
    t.shape.rank = rank == -2 ? (int)d.size() : rank;
    for (size_t i = 0; i < d.size(); i++) t.shape.dims[i] = d[i];
    return t;
}

Dims dims_of(const ot_shape_t &s) { return Dims(s.dims, s.dims + std::max(0, s.rank)); }

TEST(CnnInfer, UnknownDimsStayUnknown) {
    ot_shape_t y;
    Node conv("Conv", 11);
    conv.ints("pads", {1, 1, 1, 1}).ints("strides", {1, 2});
    ASSERT_EQ(infer_shape(conv, {type_only({-1, 3, -1, 8}), type_only({4, 3, 3, 3})}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{-1, 4, -1, 4}));
    ASSERT_EQ(infer_shape(conv, {type_only({}, -1), type_only({4, 3, 3, 3})}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{-1, 4, -1, -1}));
    ASSERT_EQ(infer_shape(Node("Conv", 11), {type_only({}, -1), type_only({}, -1)}, &y), "");
    EXPECT_EQ(y.rank, -1);
    Node pool("MaxPool", 12);
    pool.ints("kernel_shape", {2, 2}).i("ceil_mode", 1).ints("strides", {2, 2});
    ASSERT_EQ(infer_shape(pool, {type_only({2, -1, 7, -1})}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{2, -1, 4, -1}));
    ASSERT_EQ(infer_shape(pool, {type_only({}, -1)}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{-1, -1, -1, -1}));
    ASSERT_EQ(infer_shape(Node("GlobalAveragePool", 13), {type_only({-1, 8, -1, -1})}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{-1, 8, 1, 1}));
    auto p = type_only({-1});
    ASSERT_EQ(infer_shape(Node("BatchNormalization", 15), {type_only({-1, -1, 5}), p, p, p, p}, &y), "");
    EXPECT_EQ(dims_of(y), (Dims{-1, -1, 5}));
}

// ---- ONNX conformance cases -------------------------------------------------

class CnnConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(CnnConformance, Passes) { EXPECT_EQ(run_node_case(GetParam()), ""); }

INSTANTIATE_TEST_SUITE_P(
    Node, CnnConformance,
    ::testing::Values("test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_autopad_same",
                      "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_strides_no_padding",
                      "test_conv_with_strides_padding", "test_averagepool_1d_default", "test_averagepool_2d_ceil",
                      "test_averagepool_2d_default", "test_averagepool_2d_pads",
                      "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_precomputed_pads",
                      "test_averagepool_2d_precomputed_pads_count_include_pad",
                      "test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_precomputed_strides",
                      "test_averagepool_2d_same_lower", "test_averagepool_2d_same_upper", "test_averagepool_2d_strides",
                      "test_averagepool_3d_default", "test_globalaveragepool", "test_globalaveragepool_precomputed",
                      "test_globalmaxpool", "test_globalmaxpool_precomputed", "test_maxpool_1d_default",
                      "test_maxpool_2d_ceil", "test_maxpool_2d_default", "test_maxpool_2d_dilations",
                      "test_maxpool_2d_pads", "test_maxpool_2d_precomputed_pads",
                      "test_maxpool_2d_precomputed_same_upper", "test_maxpool_2d_precomputed_strides",
                      "test_maxpool_2d_same_lower", "test_maxpool_2d_same_upper", "test_maxpool_2d_strides",
                      "test_maxpool_2d_uint8", "test_maxpool_3d_default", "test_maxpool_with_argmax_2d_precomputed_pads",
                      "test_maxpool_with_argmax_2d_precomputed_strides", "test_batchnorm_epsilon",
                      "test_batchnorm_example", "test_batchnorm_epsilon_training_mode",
                      "test_batchnorm_example_training_mode"));

} // namespace
