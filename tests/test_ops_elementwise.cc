// tests/test_ops_elementwise.cc: Add/Sub/Mul/Div/Pow (ops/binary.c),
// Sqrt/Exp/Log/Neg/Sigmoid/Tanh (ops/unary.c), the comparison and logical
// ops (ops/compare.c), Where, Sum/Max/Min (ops/variadic.c), Clip and integer
// Abs against naive references written here (numpy broadcasting by explicit
// multi-index, libm in double), plus the ONNX conformance cases of the
// arithmetic ops (the full runner, tests/test_conformance.cc, covers the rest).
#include "tests/conformance_case.h"

#include <cinttypes>
#include <climits>
#include <functional>
#include <array>
#include <random>

extern "C" {
#include "ops/op_table.h"
}

using namespace ot_test;

namespace {

// ---- helpers --------------------------------------------------------------

template <typename T> struct DT;
template <> struct DT<float> { static constexpr ot_dtype_t v = OT_DTYPE_FLOAT; };
template <> struct DT<double> { static constexpr ot_dtype_t v = OT_DTYPE_DOUBLE; };
template <> struct DT<int8_t> { static constexpr ot_dtype_t v = OT_DTYPE_INT8; };
template <> struct DT<int16_t> { static constexpr ot_dtype_t v = OT_DTYPE_INT16; };
template <> struct DT<int32_t> { static constexpr ot_dtype_t v = OT_DTYPE_INT32; };
template <> struct DT<int64_t> { static constexpr ot_dtype_t v = OT_DTYPE_INT64; };
template <> struct DT<uint8_t> { static constexpr ot_dtype_t v = OT_DTYPE_UINT8; };
template <> struct DT<uint16_t> { static constexpr ot_dtype_t v = OT_DTYPE_UINT16; };
template <> struct DT<uint32_t> { static constexpr ot_dtype_t v = OT_DTYPE_UINT32; };
template <> struct DT<uint64_t> { static constexpr ot_dtype_t v = OT_DTYPE_UINT64; };

using Dims = std::vector<int64_t>;

int64_t numel(const Dims &d) {
    int64_t n = 1;
    for (int64_t x : d)
        n *= x;
    return n;
}

std::string dims_str(const Dims &d) {
    std::string s = "(";
    for (size_t i = 0; i < d.size(); i++)
        s += (i ? "," : "") + std::to_string(d[i]);
    return s + ")";
}

// numpy broadcast of two shapes (the test's own version).
Dims bcast_dims(const Dims &a, const Dims &b) {
    size_t r = std::max(a.size(), b.size());
    Dims out(r);
    for (size_t i = 0; i < r; i++) {
        int64_t da = i + a.size() >= r ? a[i + a.size() - r] : 1;
        int64_t db = i + b.size() >= r ? b[i + b.size() - r] : 1;
        out[i] = da == 1 ? db : da;
    }
    return out;
}

// Flat index into `in` of the element read for output flat index `o`.
int64_t src_index(const Dims &out, const Dims &in, int64_t o) {
    int64_t idx = 0, stride = 1;
    for (int d = (int)out.size() - 1; d >= 0; d--) {
        int64_t i = o % out[d];
        o /= out[d];
        int di = d - ((int)out.size() - (int)in.size());
        if (di >= 0) {
            if (in[di] != 1)
                idx += i * stride;
            stride *= in[di];
        }
    }
    return idx;
}

template <typename T> std::vector<T> random_vec(int64_t n, std::mt19937 &rng, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<T> v((size_t)n);
    for (auto &x : v) {
        double r = u(rng);
        if (std::is_integral<T>::value)
            x = (T)(int64_t)std::llround(r);
        else
            x = (T)r;
    }
    return v;
}

// |got - ref| <= atol + rtol*|ref| per element (NaN matches NaN, inf equal inf).
template <typename T>
void expect_close(const std::vector<T> &got, const std::vector<double> &ref, double atol, double rtol,
                  const std::string &label) {
    ASSERT_EQ(got.size(), ref.size()) << label;
    for (size_t i = 0; i < got.size(); i++) {
        double g = (double)got[i], e = ref[i];
        if (std::isnan(e) && std::isnan(g))
            continue;
        if (std::isinf(e) && g == e)
            continue;
        ASSERT_LE(std::fabs(g - e), atol + rtol * std::fabs(e))
            << label << ": element " << i << " got " << g << " expected " << e;
    }
}

template <typename T>
void expect_equal(const std::vector<T> &got, const std::vector<T> &ref, const std::string &label) {
    ASSERT_EQ(got.size(), ref.size()) << label;
    for (size_t i = 0; i < got.size(); i++)
        ASSERT_EQ(got[i], ref[i]) << label << ": element " << i << " got " << +got[i] << " expected " << +ref[i];
}

// Runs a binary op on A (dims da) and B (dims db) and returns the result.
template <typename TA, typename TB>
Result run_binary(const char *op, int opset, const Dims &da, const std::vector<TA> &a, const Dims &db,
                  const std::vector<TB> &b) {
    return run_op(Node(op, opset), {Tensor::of(DT<TA>::v, da, a), Tensor::of(DT<TB>::v, db, b)}, 1);
}

// Naive broadcast reference, computed in the element type with wrap-around
// for integers (unsigned arithmetic of the same width).
template <typename T, typename F>
std::vector<T> ref_binary(const Dims &da, const std::vector<T> &a, const Dims &db, const std::vector<T> &b, F f) {
    Dims out = bcast_dims(da, db);
    std::vector<T> r((size_t)numel(out));
    for (int64_t o = 0; o < numel(out); o++)
        r[o] = f(a[src_index(out, da, o)], b[src_index(out, db, o)]);
    return r;
}

// Integer arithmetic with defined wrap-around.
template <typename T> using U = typename std::make_unsigned<T>::type;
template <typename T> T wrap_add(T x, T y) { return (T)(uint64_t)((uint64_t)(U<T>)x + (uint64_t)(U<T>)y); }
template <typename T> T wrap_sub(T x, T y) { return (T)(uint64_t)((uint64_t)(U<T>)x - (uint64_t)(U<T>)y); }
template <typename T> T wrap_mul(T x, T y) { return (T)(uint64_t)((uint64_t)(U<T>)x * (uint64_t)(U<T>)y); }
template <typename T> T trunc_div(T x, T y) {
    if (y == 0)
        return 0;
    if (std::is_signed<T>::value && y == (T)-1)
        return wrap_sub<T>(0, x);
    return (T)(x / y); // C++ truncates toward zero
}

const char *kArithOps[] = {"Add", "Sub", "Mul", "Div"};

// Shape pairs: same, bias row, column, scalar, rank 0, both ways, zero-size.
const std::vector<std::pair<Dims, Dims>> kShapePairs = {
    {{3, 4, 5}, {3, 4, 5}},
    {{2, 3, 4}, {3, 1}},
    {{1}, {2, 3}},
    {{2, 3}, {1}},
    {{}, {2, 3}},
    {{2, 3}, {}},
    {{}, {}},
    {{5, 1, 3}, {1, 4, 1}},
    {{2, 3, 4}, {4}},
    {{4}, {2, 3, 4}},
    {{3, 1, 5}, {3, 4, 5}},
    {{2, 1, 3, 1}, {1, 5, 1, 2}},
    {{4, 0, 3}, {1, 3}},
    {{0}, {}},
    {{1, 1}, {1}},
    {{7, 1}, {1, 1}},
    // Large enough for the parallel path, with odd sizes and broadcasts.
    {{257, 301}, {257, 301}},
    {{129, 513}, {513}},
    {{129, 513}, {129, 1}},
    {{33, 1, 1025}, {1, 7, 1}},
    {{100003}, {}},
};

// ---- binary: float ----------------------------------------------------------

template <typename T> void check_float_arith(double rtol) {
    std::mt19937 rng(42);
    for (const auto &sp : kShapePairs) {
        const Dims &da = sp.first, &db = sp.second;
        auto a = random_vec<T>(numel(da), rng, -3, 3);
        auto b = random_vec<T>(numel(db), rng, 0.5, 4); // away from 0 for Div
        for (int k = 0; k < (int)(numel(db)); k += 3)
            b[k] = -b[k];
        for (const char *op : kArithOps) {
            std::string label = std::string(op) + " " + dims_str(da) + " " + dims_str(db);
            Result r = run_binary(op, 14, da, a, db, b);
            ASSERT_EQ(r.error, "") << label;
            EXPECT_EQ(r.outputs[0].dims, bcast_dims(da, db)) << label;
            EXPECT_EQ(r.outputs[0].dtype, DT<T>::v) << label;
            std::function<T(T, T)> f;
            if (!strcmp(op, "Add"))
                f = [](T x, T y) { return (T)(x + y); };
            if (!strcmp(op, "Sub"))
                f = [](T x, T y) { return (T)(x - y); };
            if (!strcmp(op, "Mul"))
                f = [](T x, T y) { return (T)(x * y); };
            if (!strcmp(op, "Div"))
                f = [](T x, T y) { return (T)(x / y); };
            auto ref = ref_binary<T>(da, a, db, b, f);
            expect_close(r.outputs[0].vec<T>(), std::vector<double>(ref.begin(), ref.end()), 0, rtol, label);
        }
    }
}

TEST(ElementwiseBinary, FloatMatchesNaiveBroadcast) { check_float_arith<float>(0); }
TEST(ElementwiseBinary, DoubleMatchesNaiveBroadcast) { check_float_arith<double>(0); }

TEST(ElementwiseBinary, FloatDivByZeroIsIeee) {
    Result r = run_binary<float, float>("Div", 14, {4}, {1.f, -1.f, 0.f, 2.f}, {4}, {0.f, 0.f, 0.f, -0.f});
    ASSERT_EQ(r.error, "");
    auto z = r.outputs[0].vec<float>();
    EXPECT_EQ(z[0], INFINITY);
    EXPECT_EQ(z[1], -INFINITY);
    EXPECT_TRUE(std::isnan(z[2]));
    EXPECT_EQ(z[3], -INFINITY);
}

// Every opset from 7 to 17 finds the record.
TEST(ElementwiseBinary, AllOpsetsServed) {
    for (int opset = 7; opset <= 17; opset++)
        for (const char *op : {"Add", "Sub", "Mul", "Div", "Pow"}) {
            Result r = run_binary<float, float>(op, opset, {2}, {1.f, 2.f}, {1}, {2.f});
            EXPECT_EQ(r.error, "") << op << "-" << opset;
        }
}

// ---- binary: integers -----------------------------------------------------------

template <typename T> void check_int_arith() {
    std::mt19937 rng(7);
    double lo = std::is_signed<T>::value ? -120.0 : 0.0, hi = 250.0;
    if (sizeof(T) == 1)
        hi = std::is_signed<T>::value ? 127 : 255;
    for (const auto &sp : kShapePairs) {
        const Dims &da = sp.first, &db = sp.second;
        auto a = random_vec<T>(numel(da), rng, lo, hi);
        auto b = random_vec<T>(numel(db), rng, lo, hi);
        // Extremes, to exercise wrap-around and the division corner cases.
        if (!a.empty())
            a[0] = std::numeric_limits<T>::min();
        if (a.size() > 1)
            a[1] = std::numeric_limits<T>::max();
        if (!b.empty())
            b[0] = std::is_signed<T>::value ? (T)-1 : (T)0;
        if (b.size() > 1)
            b[1] = 0;
        if (b.size() > 2)
            b[2] = std::numeric_limits<T>::max();
        for (const char *op : kArithOps) {
            std::string label =
                std::string(op) + "<" + ot_dtype_name(DT<T>::v) + "> " + dims_str(da) + " " + dims_str(db);
            Result r = run_binary(op, 14, da, a, db, b);
            ASSERT_EQ(r.error, "") << label;
            EXPECT_EQ(r.outputs[0].dims, bcast_dims(da, db)) << label;
            T (*f)
            (T, T) = !strcmp(op, "Add")   ? wrap_add<T>
                     : !strcmp(op, "Sub") ? wrap_sub<T>
                     : !strcmp(op, "Mul") ? wrap_mul<T>
                                          : trunc_div<T>;
            expect_equal(r.outputs[0].vec<T>(), ref_binary<T>(da, a, db, b, f), label);
        }
    }
}

TEST(ElementwiseBinary, Int8) { check_int_arith<int8_t>(); }
TEST(ElementwiseBinary, Int16) { check_int_arith<int16_t>(); }
TEST(ElementwiseBinary, Int32) { check_int_arith<int32_t>(); }
TEST(ElementwiseBinary, Int64) { check_int_arith<int64_t>(); }
TEST(ElementwiseBinary, Uint8) { check_int_arith<uint8_t>(); }
TEST(ElementwiseBinary, Uint16) { check_int_arith<uint16_t>(); }
TEST(ElementwiseBinary, Uint32) { check_int_arith<uint32_t>(); }
TEST(ElementwiseBinary, Uint64) { check_int_arith<uint64_t>(); }

// The documented integer Div semantics, spelled out.
TEST(ElementwiseBinary, IntDivTruncatesTowardZero) {
    Result r = run_binary<int32_t, int32_t>("Div", 14, {6}, {7, -7, 7, -7, INT32_MIN, 5}, {6}, {2, 2, -2, -2, -1, 0});
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<int32_t>(), {3, -3, -3, 3, INT32_MIN, 0}, "int32 div");
    r = run_binary<uint8_t, uint8_t>("Div", 14, {3}, {255, 7, 9}, {3}, {2, 0, 10});
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<uint8_t>(), {127, 0, 0}, "uint8 div");
}

TEST(ElementwiseBinary, IntWrapsAround) {
    Result r = run_binary<uint8_t, uint8_t>("Add", 14, {2}, {250, 3}, {}, {10});
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<uint8_t>(), {4, 13}, "uint8 add");
    r = run_binary<uint16_t, uint16_t>("Mul", 14, {1}, {65535}, {1}, {65535});
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<uint16_t>(), {1}, "uint16 mul");
    r = run_binary<int64_t, int64_t>("Sub", 14, {1}, {INT64_MIN}, {1}, {1});
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<int64_t>(), {INT64_MAX}, "int64 sub");
}

// ---- binary: errors and inference ---------------------------------------------

TEST(ElementwiseBinary, IncompatibleBroadcastNamesNode) {
    Result r = run_binary<float, float>("Add", 14, {2, 3}, std::vector<float>(6, 1.f), {4}, std::vector<float>(4, 1.f));
    EXPECT_NE(r.error.find("node 'test_node' (Add): cannot broadcast input shapes (2, 3) and (4)"), std::string::npos)
        << r.error;
    r = run_binary<float, float>("Pow", 15, {2, 3, 4}, std::vector<float>(24, 1.f), {2, 4}, std::vector<float>(8, 1.f));
    EXPECT_NE(r.error.find("node 'test_node' (Pow): cannot broadcast"), std::string::npos) << r.error;
}

TEST(ElementwiseBinary, RejectsMixedAndUnsupportedDtypes) {
    Result r = run_binary<float, double>("Mul", 14, {2}, {1.f, 2.f}, {2}, {1.0, 2.0});
    EXPECT_NE(r.error.find("node 'test_node' (Mul): input dtypes differ: float32 and float64"), std::string::npos)
        << r.error;
    r = run_op(Node("Sub", 14),
               {Tensor::of<uint8_t>(OT_DTYPE_BOOL, {1}, {1}), Tensor::of<uint8_t>(OT_DTYPE_BOOL, {1}, {1})}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Sub): input dtype bool not supported"), std::string::npos) << r.error;
    r = run_binary<uint8_t, float>("Pow", 15, {1}, {2}, {1}, {2.f});
    EXPECT_NE(r.error.find("node 'test_node' (Pow): base (X) dtype uint8 not supported"), std::string::npos) << r.error;
    r = run_op(Node("Pow", 15), {Tensor::f32({1}, {2.f}), Tensor::of<uint8_t>(OT_DTYPE_BOOL, {1}, {1})}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Pow): exponent (Y) dtype bool not supported"), std::string::npos)
        << r.error;
}

// Load-time inference with unknown dims and unknown rank, calling the
// record directly (the harness only knows concrete shapes).
const ot_op_def_t *find_builtin(const char *op_type, int since) {
    for (size_t i = 0; i < ot_builtin_op_count; i++)
        if (!strcmp(ot_builtin_ops[i]->op_type, op_type) && ot_builtin_ops[i]->since_version == since)
            return ot_builtin_ops[i];
    return nullptr;
}

TEST(ElementwiseBinary, InferWithUnknownDims) {
    const ot_op_def_t *op = find_builtin("Add", 7);
    ASSERT_NE(op, nullptr);
    ot_node_info_t info{};
    info.name = "n1";
    info.op_type = "Add";
    info.domain = "";
    info.opset = 14;
    ot_tensor_t a{}, b{}, c{};
    a.dtype = b.dtype = OT_DTYPE_FLOAT;
    a.shape.rank = 2, a.shape.dims[0] = -1, a.shape.dims[1] = 3;                      // (?, 3)
    b.shape.rank = 3, b.shape.dims[0] = 4, b.shape.dims[1] = 1, b.shape.dims[2] = -1; // (4, 1, ?)
    const ot_tensor_t *ins[2] = {&a, &b};
    ot_tensor_t *outs[1] = {&c};
    ot_infer_ctx_t ctx{};
    ctx.node = &info;
    ctx.n_inputs = 2;
    ctx.inputs = ins;
    ctx.n_outputs = 1;
    ctx.outputs = outs;
    ot_status_t *st = op->infer(&ctx);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    EXPECT_EQ(c.dtype, OT_DTYPE_FLOAT);
    ASSERT_EQ(c.shape.rank, 3);
    EXPECT_EQ(c.shape.dims[0], 4);
    EXPECT_EQ(c.shape.dims[1], -1);
    EXPECT_EQ(c.shape.dims[2], 3);
    b.shape.rank = -1; // unknown rank -> unknown rank, no error
    st = op->infer(&ctx);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    EXPECT_EQ(c.shape.rank, -1);
    // A known mismatch is still caught with unknowns around.
    b.shape.rank = 2, b.shape.dims[0] = 5, b.shape.dims[1] = 4; // (5, 4) vs (?, 3)
    st = op->infer(&ctx);
    ASSERT_NE(st, nullptr);
    EXPECT_NE(
        std::string(ot_status_message(st)).find("node 'n1' (Add): cannot broadcast input shapes (?, 3) and (5, 4)"),
        std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
}

// ---- Pow ------------------------------------------------------------------------

// Reference: numpy's rules (float^float in the base type, float base with an
// integer exponent in double, integer^integer exactly, integer base with a
// float exponent in double, truncated).
template <typename B, typename E> B ref_pow(B x, E y) {
    if constexpr (std::is_floating_point<B>::value) {
        if (std::is_same<B, float>::value && std::is_same<E, float>::value)
            return (B)std::pow((float)x, (float)y);
        return (B)std::pow((double)x, (double)y);
    } else if constexpr (std::is_floating_point<E>::value) {
        return (B)std::trunc(std::pow((double)x, (double)y));
    } else {
        if ((double)y < 0)
            return x == 1 ? 1 : x == -1 ? (((int64_t)y & 1) ? -1 : 1) : 0;
        B r = 1;
        for (uint64_t i = 0; i < (uint64_t)y; i++)
            r = wrap_mul<B>(r, x);
        return r;
    }
}

template <typename B, typename E> void check_pow(double blo, double bhi, double elo, double ehi, double rtol) {
    std::mt19937 rng(3);
    for (const auto &sp : kShapePairs) {
        const Dims &da = sp.first, &db = sp.second;
        if (numel(da) > 5000 || numel(db) > 5000)
            continue; // the reference is slow for big ints
        auto x = random_vec<B>(numel(da), rng, blo, bhi);
        auto y = random_vec<E>(numel(db), rng, elo, ehi);
        std::string label = std::string("Pow<") + ot_dtype_name(DT<B>::v) + "," + ot_dtype_name(DT<E>::v) + "> " +
                            dims_str(da) + " " + dims_str(db);
        Result r = run_binary("Pow", 15, da, x, db, y);
        ASSERT_EQ(r.error, "") << label;
        ASSERT_EQ(r.outputs[0].dtype, DT<B>::v) << label;
        EXPECT_EQ(r.outputs[0].dims, bcast_dims(da, db)) << label;
        Dims out = bcast_dims(da, db);
        std::vector<double> ref((size_t)numel(out));
        for (int64_t o = 0; o < numel(out); o++)
            ref[o] = (double)ref_pow<B, E>(x[src_index(out, da, o)], y[src_index(out, db, o)]);
        expect_close(r.outputs[0].vec<B>(), ref, 0, rtol, label);
    }
}

TEST(ElementwisePow, FloatFloat) { check_pow<float, float>(0.1, 3, -3, 3, 1e-6); }
TEST(ElementwisePow, DoubleDouble) { check_pow<double, double>(0.1, 3, -3, 3, 1e-14); }
TEST(ElementwisePow, FloatInt64) { check_pow<float, int64_t>(-3, 3, -4, 6, 1e-6); }
TEST(ElementwisePow, FloatInt32) { check_pow<float, int32_t>(-3, 3, -4, 6, 1e-6); }
TEST(ElementwisePow, FloatUint8) { check_pow<float, uint8_t>(-3, 3, 0, 9, 1e-6); }
TEST(ElementwisePow, FloatUint64) { check_pow<float, uint64_t>(-3, 3, 0, 9, 1e-6); }
TEST(ElementwisePow, FloatDouble) { check_pow<float, double>(0.1, 3, -3, 3, 1e-6); }
TEST(ElementwisePow, DoubleInt16) { check_pow<double, int16_t>(-3, 3, -4, 6, 1e-14); }
TEST(ElementwisePow, Int32Int32) { check_pow<int32_t, int32_t>(-5, 5, -2, 9, 0); }
TEST(ElementwisePow, Int64Int64) { check_pow<int64_t, int64_t>(-9, 9, -2, 30, 0); }
TEST(ElementwisePow, Int64Uint32) { check_pow<int64_t, uint32_t>(-9, 9, 0, 12, 0); }
TEST(ElementwisePow, Int32Int8) { check_pow<int32_t, int8_t>(-9, 9, -3, 9, 0); }
TEST(ElementwisePow, Int32Float) { check_pow<int32_t, float>(0, 9, 0, 4, 0); }
TEST(ElementwisePow, Int64Double) { check_pow<int64_t, double>(1, 9, -1, 4, 0); }

TEST(ElementwisePow, IntegerCorners) {
    Result r = run_binary<int64_t, int64_t>("Pow", 15, {6}, {2, 1, -1, -1, 0, 3}, {6}, {-1, -5, -3, -2, 0, 40});
    ASSERT_EQ(r.error, "");
    // 3^40 wraps modulo 2^64.
    int64_t w = ref_pow<int64_t, int64_t>(3, 40);
    expect_equal(r.outputs[0].vec<int64_t>(), {0, 1, -1, 1, 1, w}, "int64 pow");
    r = run_binary<int32_t, float>("Pow", 15, {6}, {2, -8, 10, 4, 0, -10}, {6},
                                   {0.5f, 1.f / 3.f, 40.f, -1.f, -1.f, 41.f});
    ASSERT_EQ(r.error, "");
    // sqrt(2) -> 1, (-8)^(1/3) is NaN -> 0, 10^40 saturates, 4^-1 -> 0,
    // 0^-1 = inf saturates, (-10)^41 saturates low.
    expect_equal(r.outputs[0].vec<int32_t>(), {1, 0, INT32_MAX, 0, INT32_MAX, INT32_MIN}, "int32 ^ float");
}

// The x^2 / x^1 shortcut with a scalar exponent, against powf.
TEST(ElementwisePow, ScalarSquareAndIdentity) {
    std::mt19937 rng(5);
    for (float e : {2.f, 1.f, 3.f, 0.5f})
        for (int64_t n : {5, 100001}) {
            auto x = random_vec<float>(n, rng, -4, 4);
            x[0] = INFINITY;
            x[1] = -0.f;
            Result r = run_binary<float, float>("Pow", 15, {n}, x, {}, {e});
            ASSERT_EQ(r.error, "");
            std::vector<double> ref(x.size());
            for (size_t i = 0; i < x.size(); i++)
                ref[i] = std::pow(x[i], e);
            expect_close(r.outputs[0].vec<float>(), ref, 0, 1e-6, "pow scalar " + std::to_string(e));
        }
}

// ---- unary --------------------------------------------------------------------------

struct UnaryDef {
    const char *op;
    double (*ref)(double);
    double lo, hi; // input range
};

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_neg(double x) { return -x; }

const UnaryDef kUnary[] = {
    {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 100},
    {"Exp", [](double x) { return std::exp(x); }, -80, 80},
    {"Log", [](double x) { return std::log(x); }, 1e-6, 1e6},
    {"Neg", ref_neg, -100, 100},
    {"Sigmoid", ref_sigmoid, -120, 120},
    {"Tanh", [](double x) { return std::tanh(x); }, -12, 12},
};

// Sizes cover the loop path (small), the oneDNN path (>= 4096 float) and the
// parallel loop (double); rank 0 and zero-size too. Specials are appended.
template <typename T> void check_unary(double rtol, double atol) {
    std::mt19937 rng(11);
    for (const UnaryDef &u : kUnary)
        for (const Dims &d : std::vector<Dims>{{}, {0, 3}, {7}, {3, 5, 7}, {4096}, {17, 1031}, {100003}}) {
            auto x = random_vec<T>(numel(d), rng, u.lo, u.hi);
            // Specials: large |x| (sigmoid/exp/tanh saturation), zeros, inf.
            const T specials[] = {(T)0,    (T)-0.0,  (T)1,        (T)-1,        (T)1000, (T)-1000, (T)88,     (T)-88,
                                  (T)1e-3, (T)-1e-3, (T)INFINITY, (T)-INFINITY, (T)20,   (T)-20,   (T)-1e-30, (T)1e-30};
            for (size_t i = 0; i < x.size() && i < sizeof specials / sizeof specials[0]; i++)
                x[i] = specials[i];
            Result r = run_op(Node(u.op, 13), {Tensor::of(DT<T>::v, d, x)}, 1);
            std::string label = std::string(u.op) + "<" + ot_dtype_name(DT<T>::v) + "> " + dims_str(d);
            ASSERT_EQ(r.error, "") << label;
            EXPECT_EQ(r.outputs[0].dims, d) << label;
            EXPECT_EQ(r.outputs[0].dtype, DT<T>::v) << label;
            std::vector<double> ref(x.size());
            for (size_t i = 0; i < x.size(); i++) {
                ref[i] = u.ref((double)x[i]);
                // The float result of an exact value rounds: compare to that.
                if (std::is_same<T, float>::value)
                    ref[i] = (double)(float)ref[i];
            }
            expect_close(r.outputs[0].vec<T>(), ref, atol, rtol, label);
        }
}

// float32: oneDNN's exp/sigmoid are within ~5 ulp (rtol 1e-6) and flush
// results below ~1.6e-38 to 0 (atol 2e-38); log(1) must still be exactly 0.
TEST(ElementwiseUnary, FloatMatchesLibmDouble) { check_unary<float>(1e-6, 2e-38); }
TEST(ElementwiseUnary, DoubleMatchesLibm) { check_unary<double>(1e-15, 1e-300); }

TEST(ElementwiseUnary, SigmoidSaturatesWithoutNan) {
    for (int64_t n : {4, 8192}) {
        std::vector<float> x((size_t)n);
        for (int64_t i = 0; i < n; i++)
            x[i] = (i % 4 == 0) ? 1e4f : (i % 4 == 1) ? -1e4f : (i % 4 == 2) ? 100.f : -100.f;
        Result r = run_op(Node("Sigmoid", 13), {Tensor::f32({n}, x)}, 1);
        ASSERT_EQ(r.error, "");
        auto y = r.outputs[0].vec<float>();
        for (int64_t i = 0; i < n; i++) {
            ASSERT_FALSE(std::isnan(y[i])) << i;
            if (x[i] > 0)
                EXPECT_EQ(y[i], 1.f) << i;
            else
                EXPECT_LE(y[i], 4e-44f) << i; // e^-100 is 3.7e-44: denormal in float
        }
    }
}

template <typename T> void check_neg_int() {
    std::vector<T> x = {0, 1, -1, 5, std::numeric_limits<T>::max(), std::numeric_limits<T>::min(), -77};
    Result r = run_op(Node("Neg", 13), {Tensor::of(DT<T>::v, {7}, x)}, 1);
    ASSERT_EQ(r.error, "");
    std::vector<T> ref;
    for (T v : x)
        ref.push_back(wrap_sub<T>(0, v));
    expect_equal(r.outputs[0].vec<T>(), ref, std::string("Neg<") + ot_dtype_name(DT<T>::v) + ">");
}

TEST(ElementwiseUnary, NegIntegers) {
    check_neg_int<int8_t>();
    check_neg_int<int16_t>();
    check_neg_int<int32_t>();
    check_neg_int<int64_t>();
}

TEST(ElementwiseUnary, RefusesUnsupportedDtypes) {
    Result r = run_op(Node("Exp", 13), {Tensor::i64({2}, {1, 2})}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Exp): input dtype int64 not supported"), std::string::npos) << r.error;
    r = run_op(Node("Neg", 13), {Tensor::of<uint8_t>(OT_DTYPE_UINT8, {1}, {1})}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Neg): input dtype uint8 not supported"), std::string::npos) << r.error;
}

TEST(ElementwiseUnary, AllOpsetsServed) {
    for (int opset = 6; opset <= 17; opset++)
        for (const UnaryDef &u : kUnary) {
            Result r = run_op(Node(u.op, opset), {Tensor::f32({1}, {0.5f})}, 1);
            EXPECT_EQ(r.error, "") << u.op << "-" << opset;
        }
}

// ---- ONNX conformance cases -------------------------------------------------------

class ElementwiseConformance : public ::testing::TestWithParam<const char *> {};

TEST_P(ElementwiseConformance, Passes) { EXPECT_EQ(run_node_case(GetParam()), ""); }

INSTANTIATE_TEST_SUITE_P(
    Node, ElementwiseConformance,
    ::testing::Values("test_add", "test_add_bcast", "test_add_uint8", "test_sub", "test_sub_bcast", "test_sub_example",
                      "test_sub_uint8", "test_mul", "test_mul_bcast", "test_mul_example", "test_mul_uint8", "test_div",
                      "test_div_bcast", "test_div_example", "test_div_uint8", "test_pow", "test_pow_bcast_array",
                      "test_pow_bcast_scalar", "test_pow_example", "test_pow_types_float",
                      "test_pow_types_float32_int32", "test_pow_types_float32_int64", "test_pow_types_float32_uint32",
                      "test_pow_types_float32_uint64", "test_pow_types_int", "test_pow_types_int32_float32",
                      "test_pow_types_int32_int32", "test_pow_types_int64_float32", "test_pow_types_int64_int64",
                      "test_sqrt", "test_sqrt_example", "test_exp", "test_exp_example", "test_log", "test_log_example",
                      "test_neg", "test_neg_example", "test_sigmoid", "test_sigmoid_example", "test_tanh",
                      "test_tanh_example"),
    [](const ::testing::TestParamInfo<const char *> &info) { return std::string(info.param); });

// ---- comparisons and logical ops (ops/compare.c) ------------------------------------

template <typename T> void check_compare() {
    std::mt19937 rng(21);
    const std::vector<std::pair<Dims, Dims>> shapes = {{{2, 3}, {2, 3}}, {{4, 3}, {3}}, {{}, {2, 2}}, {{3, 1, 2}, {4, 1}}};
    for (const auto &sh : shapes) {
        // small integer range: plenty of equal pairs
        auto a = random_vec<T>(numel(sh.first), rng, 0, 4), b = random_vec<T>(numel(sh.second), rng, 0, 4);
        struct C {
            const char *op;
            int opset;
            std::function<bool(T, T)> f;
        };
        const C cases[] = {{"Equal", 13, [](T x, T y) { return x == y; }},
                           {"Less", 13, [](T x, T y) { return x < y; }},
                           {"Greater", 13, [](T x, T y) { return x > y; }},
                           {"LessOrEqual", 16, [](T x, T y) { return x <= y; }},
                           {"GreaterOrEqual", 16, [](T x, T y) { return x >= y; }}};
        for (const C &c : cases) {
            Result r = run_binary(c.op, c.opset, sh.first, a, sh.second, b);
            ASSERT_EQ(r.error, "") << c.op;
            ASSERT_EQ(r.outputs[0].dtype, OT_DTYPE_BOOL);
            Dims out = bcast_dims(sh.first, sh.second);
            std::vector<uint8_t> want((size_t)numel(out));
            for (int64_t o = 0; o < numel(out); o++)
                want[o] = c.f(a[src_index(out, sh.first, o)], b[src_index(out, sh.second, o)]);
            expect_equal(r.outputs[0].vec<uint8_t>(), want, std::string(c.op) + " " + dims_str(sh.first) + " vs " +
                                                                 dims_str(sh.second));
        }
    }
}

TEST(Compare, Float) { check_compare<float>(); }
TEST(Compare, Double) { check_compare<double>(); }
TEST(Compare, Int8) { check_compare<int8_t>(); }
TEST(Compare, Int64) { check_compare<int64_t>(); }
TEST(Compare, Uint16) { check_compare<uint16_t>(); }
TEST(Compare, Uint64) { check_compare<uint64_t>(); }

TEST(Compare, NanComparesUnequal) {
    std::vector<float> a = {NAN, 1, NAN}, b = {NAN, NAN, 2};
    for (const char *op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"}) {
        Result r = run_binary(op, 16, {3}, a, {3}, b);
        ASSERT_EQ(r.error, "");
        expect_equal(r.outputs[0].vec<uint8_t>(), {0, 0, 0}, op);
    }
}

TEST(Logical, TruthTablesWithBroadcast) {
    std::vector<uint8_t> a = {0, 0, 1, 1}, b = {0, 1};
    Dims da = {2, 2}, db = {2};
    auto run = [&](const char *op) {
        Result r = run_op(Node(op, 7), {Tensor::of(OT_DTYPE_BOOL, da, a), Tensor::of(OT_DTYPE_BOOL, db, b)}, 1);
        EXPECT_EQ(r.error, "") << op;
        return r.outputs.empty() ? std::vector<uint8_t>{} : r.outputs[0].vec<uint8_t>();
    };
    expect_equal(run("And"), {0, 0, 0, 1}, "And");
    expect_equal(run("Or"), {0, 1, 1, 1}, "Or");
    expect_equal(run("Xor"), {0, 1, 1, 0}, "Xor");
    expect_equal(run("Equal"), {1, 0, 0, 1}, "Equal bool");
    Result n = run_op(Node("Not", 1), {Tensor::of(OT_DTYPE_BOOL, da, a)}, 1);
    ASSERT_EQ(n.error, "");
    expect_equal(n.outputs[0].vec<uint8_t>(), {1, 1, 0, 0}, "Not");
}

TEST(Compare, RejectsBadInputsWithTheNodeName) {
    Result r = run_binary("Less", 13, {2}, std::vector<float>{1, 2}, {2}, std::vector<double>{1, 2});
    EXPECT_NE(r.error.find("test_node"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("dtypes differ"), std::string::npos) << r.error;
    r = run_op(Node("And", 7), {Tensor::f32({2}, {1, 0}), Tensor::f32({2}, {1, 1})}, 1);
    EXPECT_NE(r.error.find("not supported"), std::string::npos) << r.error;
    r = run_op(Node("Not", 1), {Tensor::f32({2}, {1, 0})}, 1);
    EXPECT_NE(r.error.find("must be bool"), std::string::npos) << r.error;
    r = run_binary("Equal", 13, {2}, std::vector<float>{1, 2}, {3}, std::vector<float>{1, 2, 3});
    EXPECT_NE(r.error.find("cannot broadcast"), std::string::npos) << r.error;
}

// ---- Where (ops/where.c) -------------------------------------------------------------

template <typename T> void check_where() {
    std::mt19937 rng(5);
    const std::vector<std::array<Dims, 3>> shapes = {
        {Dims{2, 3}, Dims{2, 3}, Dims{2, 3}}, {Dims{3, 1}, Dims{1, 4}, Dims{}}, {Dims{4}, Dims{2, 1, 4}, Dims{3, 1}}};
    for (const auto &sh : shapes) {
        auto cf = random_vec<int>(numel(sh[0]), rng, 0, 1);
        std::vector<uint8_t> c(cf.begin(), cf.end());
        auto x = random_vec<T>(numel(sh[1]), rng, -50, 50), y = random_vec<T>(numel(sh[2]), rng, -50, 50);
        Result r = run_op(Node("Where", 16), {Tensor::of(OT_DTYPE_BOOL, sh[0], c), Tensor::of(DT<T>::v, sh[1], x),
                                              Tensor::of(DT<T>::v, sh[2], y)},
                          1);
        ASSERT_EQ(r.error, "");
        Dims out = bcast_dims(bcast_dims(sh[0], sh[1]), sh[2]);
        ASSERT_EQ(r.outputs[0].dims, out);
        std::vector<T> want((size_t)numel(out));
        for (int64_t o = 0; o < numel(out); o++)
            want[o] = c[src_index(out, sh[0], o)] ? x[src_index(out, sh[1], o)] : y[src_index(out, sh[2], o)];
        expect_equal(r.outputs[0].vec<T>(), want, "Where " + dims_str(out));
    }
}

TEST(Where, Float) { check_where<float>(); }
TEST(Where, Double) { check_where<double>(); }
TEST(Where, Int8) { check_where<int8_t>(); }
TEST(Where, Int16) { check_where<int16_t>(); }
TEST(Where, Int64) { check_where<int64_t>(); }

TEST(Where, RejectsBadInputs) {
    Result r = run_op(Node("Where", 9), {Tensor::f32({2}, {1, 0}), Tensor::f32({2}, {1, 2}), Tensor::f32({2}, {3, 4})}, 1);
    EXPECT_NE(r.error.find("condition must be bool"), std::string::npos) << r.error;
    r = run_op(Node("Where", 9), {Tensor::of(OT_DTYPE_BOOL, {2}, std::vector<uint8_t>{1, 0}), Tensor::f32({2}, {1, 2}),
                                  Tensor::of(OT_DTYPE_DOUBLE, {2}, std::vector<double>{3, 4})},
               1);
    EXPECT_NE(r.error.find("must share a dtype"), std::string::npos) << r.error;
    r = run_op(Node("Where", 9), {Tensor::of(OT_DTYPE_BOOL, {3}, std::vector<uint8_t>{1, 0, 1}),
                                  Tensor::f32({2}, {1, 2}), Tensor::f32({2}, {3, 4})},
               1);
    EXPECT_NE(r.error.find("cannot broadcast"), std::string::npos) << r.error;
}

// ---- Sum, Max, Min (ops/variadic.c) -------------------------------------------------

template <typename T> void check_variadic(const char *op, int opset, std::function<T(T, T)> f) {
    std::mt19937 rng(9);
    const std::vector<std::vector<Dims>> shapes = {{{2, 3}}, {{2, 3}, {3}}, {{3, 1, 2}, {4, 1}, {2}, {}},
                                                   {{1}, {5, 1}, {1, 7}}};
    for (const auto &sh : shapes) {
        std::vector<std::vector<T>> vals;
        std::vector<Tensor> in;
        Dims out = {};
        for (const Dims &d : sh) {
            vals.push_back(random_vec<T>(numel(d), rng, 0, 100));
            in.push_back(Tensor::of(DT<T>::v, d, vals.back()));
            out = bcast_dims(out, d);
        }
        Result r = run_op(Node(op, opset), in, 1);
        ASSERT_EQ(r.error, "") << op;
        std::vector<T> want((size_t)numel(out));
        for (int64_t o = 0; o < numel(out); o++) {
            T acc = vals[0][src_index(out, sh[0], o)];
            for (size_t k = 1; k < sh.size(); k++) acc = f(acc, vals[k][src_index(out, sh[k], o)]);
            want[o] = acc;
        }
        expect_equal(r.outputs[0].vec<T>(), want, std::string(op) + " " + std::to_string(sh.size()) + " inputs");
    }
}

TEST(Variadic, SumFloatDouble) {
    check_variadic<float>("Sum", 13, [](float a, float b) { return a + b; });
    check_variadic<double>("Sum", 8, [](double a, double b) { return a + b; });
}

TEST(Variadic, MaxMinAllTypes) {
    check_variadic<float>("Max", 13, [](float a, float b) { return a > b ? a : b; });
    check_variadic<double>("Min", 13, [](double a, double b) { return a < b ? a : b; });
    check_variadic<int8_t>("Max", 12, [](int8_t a, int8_t b) { return a > b ? a : b; });
    check_variadic<int64_t>("Min", 13, [](int64_t a, int64_t b) { return a < b ? a : b; });
    check_variadic<uint32_t>("Max", 13, [](uint32_t a, uint32_t b) { return a > b ? a : b; });
    check_variadic<uint64_t>("Min", 12, [](uint64_t a, uint64_t b) { return a < b ? a : b; });
}

TEST(Variadic, MaxMinPropagateNan) {
    std::vector<double> a = {NAN, 1, 2}, b = {0, NAN, 1};
    for (const char *op : {"Max", "Min"}) {
        Result r = run_op(Node(op, 13), {Tensor::of(OT_DTYPE_DOUBLE, {3}, a), Tensor::of(OT_DTYPE_DOUBLE, {3}, b)}, 1);
        ASSERT_EQ(r.error, "");
        auto v = r.outputs[0].vec<double>();
        EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1])) << op;
        EXPECT_EQ(v[2], std::string(op) == "Max" ? 2.0 : 1.0);
    }
}

TEST(Variadic, RejectsBadInputs) {
    Result r = run_op(Node("Max", 13), {Tensor::f32({2}, {1, 2}), Tensor::of(OT_DTYPE_DOUBLE, {2}, std::vector<double>{1, 2})}, 1);
    EXPECT_NE(r.error.find("input 1 has dtype float64"), std::string::npos) << r.error;
    r = run_op(Node("Sum", 13), {Tensor::i64({2}, {1, 2})}, 1);
    EXPECT_NE(r.error.find("not supported"), std::string::npos) << r.error;
    r = run_op(Node("Min", 13), {Tensor::f32({2}, {1, 2}), Tensor::f32({3}, {1, 2, 3})}, 1);
    EXPECT_NE(r.error.find("cannot broadcast"), std::string::npos) << r.error;
}

// ---- Clip (ops/clip.c) ----------------------------------------------------------------

TEST(Clip, BoundsDefaultsAndOrder) {
    std::vector<float> x = {-3, -1, 0, 0.5f, 2, NAN};
    auto clip = [&](std::vector<Tensor> in, Node n) {
        Result r = run_op(n, in, 1);
        EXPECT_EQ(r.error, "");
        return r.outputs.empty() ? std::vector<float>{} : r.outputs[0].vec<float>();
    };
    Tensor tx = Tensor::f32({6}, x), lo = Tensor::f32({}, {-1}), hi = Tensor::f32({1}, {1});
    auto v = clip({tx, lo, hi}, Node("Clip", 13));
    expect_close(v, {-1, -1, 0, 0.5, 1, NAN}, 0, 0, "both");
    v = clip({tx, Tensor::absent(), hi}, Node("Clip", 11));
    expect_close(v, {-3, -1, 0, 0.5, 1, NAN}, 0, 0, "max only");
    v = clip({tx}, Node("Clip", 12));
    expect_close(v, {-3, -1, 0, 0.5, 2, NAN}, 0, 0, "none");
    v = clip({tx}, Node("Clip", 6).f("min", 0.f));
    expect_close(v, {0, 0, 0, 0.5, 2, NAN}, 0, 0, "Clip-6 min");
    // min > max: every element becomes max (numpy's order)
    v = clip({tx, Tensor::f32({}, {2}), Tensor::f32({}, {1})}, Node("Clip", 13));
    expect_close(v, {1, 1, 1, 1, 1, NAN}, 0, 0, "min > max");
}

TEST(Clip, IntegerTypes) {
    Result r = run_op(Node("Clip", 13), {Tensor::of(OT_DTYPE_INT8, {4}, std::vector<int8_t>{-128, -5, 5, 127}),
                                         Tensor::of(OT_DTYPE_INT8, {}, std::vector<int8_t>{-6})},
                      1);
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<int8_t>(), {-6, -5, 5, 127}, "int8 min");
    r = run_op(Node("Clip", 13), {Tensor::of(OT_DTYPE_UINT64, {3}, std::vector<uint64_t>{0, 7, UINT64_MAX}),
                                  Tensor::absent(), Tensor::of(OT_DTYPE_UINT64, {}, std::vector<uint64_t>{6})},
               1);
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<uint64_t>(), {0, 6, 6}, "uint64 max");
}

TEST(Clip, RejectsBadBounds) {
    Result r = run_op(Node("Clip", 13), {Tensor::f32({2}, {1, 2}), Tensor::f32({2}, {0, 1})}, 1);
    EXPECT_NE(r.error.find("min must be a scalar"), std::string::npos) << r.error;
    r = run_op(Node("Clip", 13), {Tensor::f32({2}, {1, 2}), Tensor::absent(),
                                  Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{1})},
               1);
    EXPECT_NE(r.error.find("max has dtype float64"), std::string::npos) << r.error;
    r = run_op(Node("Clip", 6), {Tensor::i64({2}, {1, 2})}, 1);
    EXPECT_NE(r.error.find("not supported"), std::string::npos) << r.error;
}

// ---- Abs on integers (ops/activations.c) --------------------------------------------------

TEST(Abs, IntegersWrapAtTheMinimum) {
    Result r = run_op(Node("Abs", 13), {Tensor::of(OT_DTYPE_INT8, {4}, std::vector<int8_t>{-128, -3, 0, 9})}, 1);
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<int8_t>(), {-128, 3, 0, 9}, "int8");
    r = run_op(Node("Abs", 13), {Tensor::i64({2}, {INT64_MIN + 1, -7})}, 1);
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<int64_t>(), {INT64_MAX, 7}, "int64");
    r = run_op(Node("Abs", 13), {Tensor::of(OT_DTYPE_UINT16, {2}, std::vector<uint16_t>{65535, 3})}, 1);
    ASSERT_EQ(r.error, "");
    expect_equal(r.outputs[0].vec<uint16_t>(), {65535, 3}, "uint16");
}

} // namespace
