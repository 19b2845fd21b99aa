// tests/test_ops_dense.cc: Gemm, MatMul, Softmax, LogSoftmax, ReduceSum and
// ReduceMean against naive references written here (loops in double), their
// error messages, and every ONNX conformance case of these ops.
#include "tests/conformance_case.h"

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <regex>
#include <set>

using namespace ot_test;

namespace {

// Deterministic values in [-1, 1) (never all zero).
std::vector<double> random_values(size_t n, uint32_t seed) {
    std::vector<double> v(n);
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        v[i] = (double)(x >> 8) / (double)(1u << 24) * 2.0 - 1.0;
    }
    return v;
}

int64_t numel(const std::vector<int64_t> &d) {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    return n;
}

// A tensor of `dt` holding `v` (rounded/truncated to the dtype).
Tensor make(ot_dtype_t dt, std::vector<int64_t> dims, const std::vector<double> &v) {
    switch (dt) {
    case OT_DTYPE_FLOAT: return Tensor::of(dt, dims, std::vector<float>(v.begin(), v.end()));
    case OT_DTYPE_DOUBLE: return Tensor::of(dt, dims, v);
    case OT_DTYPE_INT32: return Tensor::of(dt, dims, std::vector<int32_t>(v.begin(), v.end()));
    case OT_DTYPE_INT64: return Tensor::of(dt, dims, std::vector<int64_t>(v.begin(), v.end()));
    default: ADD_FAILURE() << "dtype"; return Tensor();
    }
}

// The values actually stored (so references see the rounded inputs).
std::vector<double> values(const Tensor &t) {
    switch (t.dtype) {
    case OT_DTYPE_FLOAT: { auto v = t.vec<float>(); return std::vector<double>(v.begin(), v.end()); }
    case OT_DTYPE_DOUBLE: return t.vec<double>();
    case OT_DTYPE_INT32: { auto v = t.vec<int32_t>(); return std::vector<double>(v.begin(), v.end()); }
    case OT_DTYPE_INT64: { auto v = t.vec<int64_t>(); return std::vector<double>(v.begin(), v.end()); }
    default: ADD_FAILURE() << "dtype"; return {};
    }
}

// Random input of `dt`: integers in [-5, 5], floats in [-1, 1).
Tensor random_tensor(ot_dtype_t dt, std::vector<int64_t> dims, uint32_t seed) {
    auto v = random_values((size_t)numel(dims), seed);
    if (dt == OT_DTYPE_INT32 || dt == OT_DTYPE_INT64)
        for (double &x : v) x = std::round(x * 5);
    return make(dt, dims, v);
}

void expect_values_near(const Tensor &got, const std::vector<double> &ref, double atol, double rtol,
                        const std::string &label) {
    std::vector<double> g = values(got);
    ASSERT_EQ(g.size(), ref.size()) << label << ": element count";
    double worst = -1;
    size_t wi = 0;
    for (size_t i = 0; i < g.size(); i++) {
        double err = std::fabs(g[i] - ref[i]) - (atol + rtol * std::fabs(ref[i]));
        if (std::isnan(g[i]) != std::isnan(ref[i])) err = INFINITY;
        if (err > worst) worst = err, wi = i;
    }
    if (!g.empty())
        EXPECT_LE(worst, 0.0) << label << ": worst element " << wi << " got " << g[wi] << " expected " << ref[wi];
}

double tol(ot_dtype_t dt) { return dt == OT_DTYPE_FLOAT ? 1e-5 : dt == OT_DTYPE_DOUBLE ? 1e-12 : 0; }

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

} // namespace

// ---------------------------------------------------------------- Gemm ----

namespace {

// C's shape kinds, as broadcast to (M, N).
enum class CKind { None, Scalar, One, Vec, RowVec, ColVec, Full, OneOne };

std::vector<int64_t> c_dims(CKind c, int64_t m, int64_t n) {
    switch (c) {
    case CKind::Scalar: return {};
    case CKind::One: return {1};
    case CKind::Vec: return {n};
    case CKind::RowVec: return {1, n};
    case CKind::ColVec: return {m, 1};
    case CKind::Full: return {m, n};
    case CKind::OneOne: return {1, 1};
    default: return {};
    }
}

const char *c_name(CKind c) {
    static const char *names[] = {"none", "scalar", "(1)", "(N)", "(1,N)", "(M,1)", "(M,N)", "(1,1)"};
    return names[(int)c];
}

// Y = alpha * op(A) op(B) + beta * C, straight from the definition.
std::vector<double> gemm_ref(const std::vector<double> &a, const std::vector<double> &b, const std::vector<double> *c,
                             CKind ck, int64_t m, int64_t k, int64_t n, bool ta, bool tb, double alpha, double beta) {
    std::vector<double> y((size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t p = 0; p < k; p++) {
                double av = ta ? a[p * m + i] : a[i * k + p];
                double bv = tb ? b[j * k + p] : b[p * n + j];
                acc += av * bv;
            }
            double cv = 0;
            if (c) {
                switch (ck) {
                case CKind::Vec: case CKind::RowVec: cv = (*c)[j]; break;
                case CKind::ColVec: cv = (*c)[i]; break;
                case CKind::Full: cv = (*c)[i * n + j]; break;
                default: cv = (*c)[0]; break;
                }
            }
            y[i * n + j] = alpha * acc + beta * cv;
        }
    return y;
}

void check_gemm(ot_dtype_t dt, int64_t m, int64_t k, int64_t n, bool ta, bool tb, float alpha, float beta, CKind ck,
                int opset = 13) {
    std::ostringstream label;
    label << ot_dtype_name(dt) << " M=" << m << " K=" << k << " N=" << n << " transA=" << ta << " transB=" << tb
          << " alpha=" << alpha << " beta=" << beta << " C=" << c_name(ck) << " opset=" << opset;
    SCOPED_TRACE(label.str());
    Tensor a = random_tensor(dt, ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}, 1);
    Tensor b = random_tensor(dt, tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, 2);
    std::vector<Tensor> in = {a, b};
    std::vector<double> cv;
    if (ck != CKind::None) {
        Tensor c = random_tensor(dt, c_dims(ck, m, n), 3);
        cv = values(c);
        in.push_back(c);
    }
    Node node("Gemm", opset);
    node.i("transA", ta).i("transB", tb);
    if (alpha != 1.f) node.f("alpha", alpha);
    if (beta != 1.f) node.f("beta", beta);
    Result r = run_op(node, in, 1);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[0].dims, (std::vector<int64_t>{m, n}));
    EXPECT_EQ(r.outputs[0].dtype, dt);
    auto ref = gemm_ref(values(a), values(b), ck == CKind::None ? nullptr : &cv, ck, m, k, n, ta, tb, alpha, beta);
    double t = tol(dt) * std::max<int64_t>(1, k);
    expect_values_near(r.outputs[0], ref, t, t, label.str());
}

} // namespace

TEST(DenseGemm, AllTransposesScalesAndBiasShapes) {
    const CKind cks[] = {CKind::None, CKind::Scalar, CKind::One,  CKind::Vec,
                         CKind::RowVec, CKind::ColVec, CKind::Full, CKind::OneOne};
    for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE})
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (float alpha : {1.f, 0.5f, -2.f})
                    for (float beta : {1.f, 0.35f, 0.f})
                        for (CKind ck : cks) check_gemm(dt, 3, 5, 7, ta, tb, alpha, beta, ck);
}

TEST(DenseGemm, OddAndDegenerateSizes) {
    for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE}) {
        check_gemm(dt, 1, 1, 1, false, false, 1.f, 1.f, CKind::Scalar);
        check_gemm(dt, 1, 9, 1, true, true, 0.25f, 2.f, CKind::ColVec); // (M,1) with M = 1
        check_gemm(dt, 5, 3, 1, false, true, 1.f, 1.f, CKind::ColVec);   // (M,1) with N = 1
        check_gemm(dt, 33, 65, 17, false, false, 1.f, 1.f, CKind::Vec);
        check_gemm(dt, 64, 128, 96, true, false, 1.f, 1.f, CKind::Full);
        check_gemm(dt, 64, 128, 96, false, true, 0.5f, 0.35f, CKind::ColVec);
        check_gemm(dt, 31, 7, 40, true, true, 1.f, 1.f, CKind::ColVec);
        check_gemm(dt, 3, 0, 4, false, false, 1.f, 0.5f, CKind::Vec); // K = 0: Y = beta * C
        check_gemm(dt, 0, 3, 4, false, false, 1.f, 1.f, CKind::Vec);  // empty Y
    }
}

TEST(DenseGemm, OlderVersionsShareTheSemantics) {
    for (int opset : {7, 9, 11}) {
        check_gemm(OT_DTYPE_FLOAT, 4, 6, 5, true, false, 0.5f, 0.35f, CKind::RowVec, opset);
        check_gemm(OT_DTYPE_FLOAT, 4, 6, 5, false, true, 1.f, 1.f, CKind::Scalar, opset);
    }
    check_gemm(OT_DTYPE_FLOAT, 4, 6, 5, false, false, 1.f, 1.f, CKind::None, 11);
}

TEST(DenseGemm, RejectsBadShapesAndTypes) {
    auto run = [](std::vector<Tensor> in, Node n = Node("Gemm", 13)) { return run_op(n, in, 1).error; };
    std::string e = run({Tensor::f32({3, 5}, std::vector<float>(15, 1)), Tensor::f32({4, 7}, std::vector<float>(28, 1))});
    EXPECT_TRUE(has(e, "node 'test_node' (Gemm)") && has(e, "inner dimensions differ") && has(e, "K = 5") &&
                has(e, "K = 4"))
        << e;
    e = run({Tensor::f32({5, 3}, std::vector<float>(15, 1)), Tensor::f32({5, 7}, std::vector<float>(35, 1))});
    EXPECT_TRUE(has(e, "inner dimensions differ")) << e; // transA not set
    e = run({Tensor::f32({5, 3}, std::vector<float>(15, 1)), Tensor::f32({5, 7}, std::vector<float>(35, 1))},
            Node("Gemm", 13).i("transA", 1));
    EXPECT_EQ(e, "");
    e = run({Tensor::f32({3, 5}, std::vector<float>(15, 1)), Tensor::f32({5, 7}, std::vector<float>(35, 1)),
             Tensor::f32({3, 2}, std::vector<float>(6, 1))});
    EXPECT_TRUE(has(e, "node 'test_node' (Gemm)") && has(e, "C (3, 2) cannot be broadcast")) << e;
    e = run({Tensor::f32({3, 5}, std::vector<float>(15, 1)), Tensor::f32({5, 7}, std::vector<float>(35, 1)),
             Tensor::f32({3}, std::vector<float>(3, 1))});
    EXPECT_TRUE(has(e, "cannot be broadcast")) << e; // (M) is not (N)
    e = run({Tensor::f32({2, 3, 5}, std::vector<float>(30, 1)), Tensor::f32({5, 7}, std::vector<float>(35, 1))});
    EXPECT_TRUE(has(e, "A must be 2-D")) << e;
    e = run({Tensor::f32({3, 5}, std::vector<float>(15, 1)), random_tensor(OT_DTYPE_DOUBLE, {5, 7}, 1)});
    EXPECT_TRUE(has(e, "one dtype")) << e;
    e = run({Tensor::i64({1, 1}, {1}), Tensor::i64({1, 1}, {1})});
    EXPECT_TRUE(has(e, "node 'test_node' (Gemm)") && has(e, "int64") && has(e, "not supported")) << e;
}

// -------------------------------------------------------------- MatMul ----

namespace {

// numpy.matmul from its definition: promote 1-D operands, broadcast batch
// dims, then drop the promoted dims. Returns Y's dims and values.
std::pair<std::vector<int64_t>, std::vector<double>> matmul_ref(std::vector<int64_t> ad, const std::vector<double> &a,
                                                                std::vector<int64_t> bd, const std::vector<double> &b) {
    bool a1 = ad.size() == 1, b1 = bd.size() == 1;
    if (a1) ad.insert(ad.begin(), 1);
    if (b1) bd.push_back(1);
    size_t r = std::max(ad.size(), bd.size());
    while (ad.size() < r) ad.insert(ad.begin(), 1);
    while (bd.size() < r) bd.insert(bd.begin(), 1);
    int64_t m = ad[r - 2], k = ad[r - 1], n = bd[r - 1];
    std::vector<int64_t> batch(r - 2);
    for (size_t i = 0; i + 2 < r; i++) batch[i] = ad[i] == 1 ? bd[i] : ad[i];
    int64_t nb = numel(batch);
    std::vector<double> y((size_t)(nb * m * n));
    for (int64_t bi = 0; bi < nb; bi++) {
        // batch index -> each operand's matrix (index 0 on its size-1 dims)
        int64_t rest = bi, ao = 0, bo = 0, as = 1, bs = 1;
        for (size_t i = batch.size(); i-- > 0;) {
            int64_t idx = rest % batch[i];
            rest /= batch[i];
            ao += (ad[i] == 1 ? 0 : idx) * as;
            bo += (bd[i] == 1 ? 0 : idx) * bs;
            as *= ad[i];
            bs *= bd[i];
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0;
                for (int64_t p = 0; p < k; p++) acc += a[ao * m * k + i * k + p] * b[bo * k * n + p * n + j];
                y[(bi * m + i) * n + j] = acc;
            }
    }
    std::vector<int64_t> yd = batch;
    if (!a1) yd.push_back(m);
    if (!b1) yd.push_back(n);
    return {yd, y};
}

void check_matmul(ot_dtype_t dt, std::vector<int64_t> ad, std::vector<int64_t> bd, int opset = 13) {
    std::ostringstream label;
    label << ot_dtype_name(dt) << " A=(";
    for (auto d : ad) label << d << ",";
    label << ") B=(";
    for (auto d : bd) label << d << ",";
    label << ") opset=" << opset;
    SCOPED_TRACE(label.str());
    Tensor a = random_tensor(dt, ad, 4), b = random_tensor(dt, bd, 5);
    Result r = run_op(Node("MatMul", opset), {a, b}, 1);
    ASSERT_EQ(r.error, "");
    auto ref = matmul_ref(ad, values(a), bd, values(b));
    EXPECT_EQ(r.outputs[0].dims, ref.first);
    EXPECT_EQ(r.outputs[0].dtype, dt);
    double t = tol(dt) * std::max<int64_t>(1, ad.back());
    expect_values_near(r.outputs[0], ref.second, t, t, label.str());
}

} // namespace

TEST(DenseMatMul, ShapesPromotionAndBroadcasting) {
    const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
        {{3, 4}, {4, 5}},
        {{4}, {4, 5}},             // (K) x (K, N) -> (N)
        {{3, 4}, {4}},             // (M, K) x (K) -> (M)
        {{4}, {4}},                // -> scalar
        {{2, 3, 4}, {4, 5}},       // B shared by every batch (folded)
        {{1, 1, 3, 4}, {1, 4, 5}}, // size-1 batch dims on both
        {{4}, {2, 4, 5}},          // (K) x batched B
        {{2, 3, 4}, {4}},
        {{2, 3, 4}, {2, 4, 5}},
        {{1, 3, 4}, {5, 4, 2}},       // A broadcast over B's batch
        {{2, 1, 3, 4}, {5, 4, 2}},    // -> (2, 5, 3, 2)
        {{2, 1, 3, 4}, {1, 5, 4, 2}}, // both broadcast
        {{3, 1, 2, 1, 3, 7}, {2, 1, 4, 7, 5}},
        {{33, 65}, {65, 17}},
        {{3, 0}, {0, 2}},       // K = 0: zeros
        {{0, 3, 4}, {4, 2}},    // empty batch
        {{2, 3, 4}, {2, 4, 0}}, // N = 0
    };
    for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE, OT_DTYPE_INT32, OT_DTYPE_INT64})
        for (auto &s : shapes) check_matmul(dt, s.first, s.second);
    check_matmul(OT_DTYPE_FLOAT, {2, 3, 4}, {2, 4, 5}, 1);
    check_matmul(OT_DTYPE_FLOAT, {2, 3, 4}, {2, 4, 5}, 9);
    check_matmul(OT_DTYPE_FLOAT, {4, 64, 128}, {128, 96});
    check_matmul(OT_DTYPE_FLOAT, {1, 64, 128}, {3, 128, 96});
}

TEST(DenseMatMul, RejectsBadShapesAndTypes) {
    auto run = [](Tensor a, Tensor b) { return run_op(Node("MatMul", 13), {a, b}, 1).error; };
    std::string e = run(random_tensor(OT_DTYPE_FLOAT, {3, 4}, 1), random_tensor(OT_DTYPE_FLOAT, {5, 6}, 1));
    EXPECT_TRUE(has(e, "node 'test_node' (MatMul)") && has(e, "inner dimensions differ") && has(e, "K = 4") &&
                has(e, "K = 5"))
        << e;
    e = run(random_tensor(OT_DTYPE_FLOAT, {4}, 1), random_tensor(OT_DTYPE_FLOAT, {3}, 1));
    EXPECT_TRUE(has(e, "inner dimensions differ")) << e;
    e = run(random_tensor(OT_DTYPE_FLOAT, {2, 3, 4}, 1), random_tensor(OT_DTYPE_FLOAT, {3, 4, 5}, 1));
    EXPECT_TRUE(has(e, "node 'test_node' (MatMul)") && has(e, "batch dimensions") && has(e, "do not broadcast")) << e;
    e = run(random_tensor(OT_DTYPE_FLOAT, {}, 1), random_tensor(OT_DTYPE_FLOAT, {3}, 1));
    EXPECT_TRUE(has(e, "at least 1-D")) << e;
    e = run(random_tensor(OT_DTYPE_FLOAT, {3, 4}, 1), random_tensor(OT_DTYPE_DOUBLE, {4, 5}, 1));
    EXPECT_TRUE(has(e, "one dtype")) << e;
    Tensor u8 = Tensor::of(OT_DTYPE_UINT8, {2, 2}, std::vector<uint8_t>{1, 2, 3, 4});
    e = run(u8, u8);
    EXPECT_TRUE(has(e, "uint8") && has(e, "not supported")) << e;
}

// ----------------------------------------------------- (Log)Softmax ----

namespace {

// Softmax over (outer, n, inner) at axis: opset >= 13 normalizes over dim
// `axis` alone; opset < 13 over all dims from `axis` on (the 2-D coercion).
std::vector<double> softmax_ref(const std::vector<int64_t> &dims, const std::vector<double> &x, int axis, bool v13,
                                bool log) {
    int r = (int)dims.size();
    if (axis < 0) axis += r;
    int64_t outer = 1, n = 1, inner = 1;
    for (int i = 0; i < r; i++) {
        if (i < axis) outer *= dims[i];
        else if (i == axis || !v13) n *= dims[i];
        else inner *= dims[i];
    }
    std::vector<double> y(x.size());
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            auto at = [&](int64_t j) { return (o * n + j) * inner + in; };
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n; j++) mx = std::max(mx, x[at(j)]);
            for (int64_t j = 0; j < n; j++) sum += std::exp(x[at(j)] - mx);
            for (int64_t j = 0; j < n; j++)
                y[at(j)] = log ? x[at(j)] - mx - std::log(sum) : std::exp(x[at(j)] - mx) / sum;
        }
    return y;
}

void check_softmax(const char *op, ot_dtype_t dt, std::vector<int64_t> dims, int opset, const int *axis,
                   double scale = 1.0) {
    std::ostringstream label;
    label << op << "-" << opset << " " << ot_dtype_name(dt) << " dims=" << dims.size() << " axis="
          << (axis ? std::to_string(*axis) : "default") << " scale=" << scale;
    SCOPED_TRACE(label.str());
    auto v = random_values((size_t)numel(dims), 7);
    for (double &x : v) x *= scale;
    Tensor x = make(dt, dims, v);
    Node node(op, opset);
    if (axis) node.i("axis", *axis);
    Result r = run_op(node, {x}, 1);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[0].dims, dims);
    bool v13 = opset >= 13;
    int ax = axis ? *axis : (v13 ? -1 : 1);
    auto ref = softmax_ref(dims, values(x), ax, v13, std::string(op) == "LogSoftmax");
    double t = dt == OT_DTYPE_FLOAT ? 2e-6 : 1e-13;
    expect_values_near(r.outputs[0], ref, t, 1e-5, label.str());
}

} // namespace

TEST(DenseSoftmax, EveryAxisBothSemantics) {
    for (const char *op : {"Softmax", "LogSoftmax"})
        for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE})
            for (int opset : {1, 11, 13}) {
                std::vector<int64_t> dims = {2, 3, 4, 5};
                if (opset != 1) check_softmax(op, dt, dims, opset, nullptr);
                for (int axis = opset == 1 ? 0 : -4; axis < 4; axis++) check_softmax(op, dt, dims, opset, &axis);
                int a0 = 0;
                check_softmax(op, dt, {7}, opset, &a0);
                check_softmax(op, dt, {37, 1000}, opset, nullptr); // wide rows
                int a1 = 1;
                check_softmax(op, dt, {3, 50, 300}, opset, &a1); // strided lines, blocks of lanes
                check_softmax(op, dt, {3, 4, 5}, opset, nullptr, 1000.0); // needs the max subtracted
                check_softmax(op, dt, {3, 0, 5}, opset, nullptr);         // empty
            }
}

TEST(DenseSoftmax, VersionsDifferOnlyAsSpecified) {
    // Same input and axis 1 over (2, 3, 4): Softmax-11 normalizes 12 values
    // per row, Softmax-13 three per column: the rows must sum differently.
    auto v = random_values(24, 9);
    Tensor x = make(OT_DTYPE_FLOAT, {2, 3, 4}, v);
    Result r11 = run_op(Node("Softmax", 11).i("axis", 1), {x}, 1);
    Result r13 = run_op(Node("Softmax", 13).i("axis", 1), {x}, 1);
    ASSERT_EQ(r11.error, "");
    ASSERT_EQ(r13.error, "");
    auto y11 = r11.outputs[0].vec<float>(), y13 = r13.outputs[0].vec<float>();
    double s11 = 0, s13 = 0;
    for (int i = 0; i < 12; i++) s11 += y11[i];
    for (int j = 0; j < 3; j++) s13 += y13[j * 4];
    EXPECT_NEAR(s11, 1.0, 1e-5);
    EXPECT_NEAR(s13, 1.0, 1e-5);
}

TEST(DenseSoftmax, RejectsBadAxisAndTypes) {
    Tensor x = random_tensor(OT_DTYPE_FLOAT, {2, 3}, 1);
    std::string e = run_op(Node("Softmax", 13).i("axis", 2), {x}, 1).error;
    EXPECT_TRUE(has(e, "node 'test_node' (Softmax)") && has(e, "axis 2 out of range for rank 2")) << e;
    e = run_op(Node("LogSoftmax", 11).i("axis", -3), {x}, 1).error;
    EXPECT_TRUE(has(e, "node 'test_node' (LogSoftmax)") && has(e, "axis -3 out of range")) << e;
    e = run_op(Node("Softmax", 13), {Tensor::i64({2}, {1, 2})}, 1).error;
    EXPECT_TRUE(has(e, "int64") && has(e, "not supported")) << e;
    e = run_op(Node("Softmax", 13), {random_tensor(OT_DTYPE_FLOAT, {}, 1)}, 1).error;
    EXPECT_TRUE(has(e, "at least 1-D")) << e;
}

// ---------------------------------------------------------- Reduce* ----

namespace {

// Sum or mean over the axes in `mask`, in double; dims kept as 1 or dropped.
std::pair<std::vector<int64_t>, std::vector<double>> reduce_ref(const std::vector<int64_t> &dims,
                                                                const std::vector<double> &x,
                                                                const std::vector<bool> &mask, bool keepdims,
                                                                bool mean, bool integer) {
    int r = (int)dims.size();
    std::vector<int64_t> kd(dims);
    int64_t count = 1;
    for (int i = 0; i < r; i++)
        if (mask[i]) kd[i] = 1, count *= dims[i];
    std::vector<double> y((size_t)numel(kd), 0.0);
    for (int64_t f = 0; f < numel(dims); f++) {
        int64_t rest = f, o = 0, ostr = 1;
        for (int i = r - 1; i >= 0; i--) {
            int64_t idx = rest % dims[i];
            rest /= dims[i];
            o += (mask[i] ? 0 : idx) * ostr;
            ostr *= kd[i];
        }
        y[o] += x[f];
    }
    if (mean)
        for (double &v : y) // integer mean of nothing: 0 by our choice (ONNX leaves it open)
            v = !integer ? v / (double)count : count ? std::trunc(v / (double)count) : 0.0;
    std::vector<int64_t> yd;
    for (int i = 0; i < r; i++)
        if (!mask[i] || keepdims) yd.push_back(kd[i]);
    return {yd, y};
}

// axes: nullptr = not given. opset >= 13 ReduceSum takes them as input 1.
void check_reduce(const char *op, ot_dtype_t dt, std::vector<int64_t> dims, const std::vector<int64_t> *axes,
                  int keepdims, int opset, int noop = -1) {
    std::ostringstream label;
    label << op << "-" << opset << " " << ot_dtype_name(dt) << " rank=" << dims.size() << " axes=";
    if (axes)
        for (auto a : *axes) label << a << ",";
    else
        label << "none";
    label << " keepdims=" << keepdims << " noop=" << noop;
    SCOPED_TRACE(label.str());
    Tensor x = random_tensor(dt, dims, 11);
    bool sum = std::string(op) == "ReduceSum";
    bool axes_input = sum && opset >= 13;
    Node node(op, opset);
    if (keepdims >= 0) node.i("keepdims", keepdims);
    if (noop >= 0) node.i("noop_with_empty_axes", noop);
    std::vector<Tensor> in = {x};
    if (axes && axes_input) in.push_back(Tensor::i64({(int64_t)axes->size()}, *axes));
    if (axes && !axes_input) node.ints("axes", *axes);
    Result r = run_op(node, in, 1, {false, true});
    ASSERT_EQ(r.error, "");
    int rank = (int)dims.size();
    std::vector<bool> mask(rank, !axes || axes->empty());
    if (axes)
        for (auto a : *axes) mask[a < 0 ? a + rank : a] = true;
    std::vector<int64_t> yd;
    std::vector<double> y;
    if (noop == 1 && (!axes || axes->empty())) {
        yd = dims, y = values(x);
    } else {
        bool integer = dt == OT_DTYPE_INT32 || dt == OT_DTYPE_INT64;
        auto ref = reduce_ref(dims, values(x), mask, keepdims != 0, !sum, integer);
        yd = ref.first, y = ref.second;
    }
    EXPECT_EQ(r.outputs[0].dims, yd);
    EXPECT_EQ(r.outputs[0].dtype, dt);
    double t = tol(dt) * 10;
    expect_values_near(r.outputs[0], y, t, t, label.str());
}

} // namespace

TEST(DenseReduce, AxesKeepdimsTypesAndVersions) {
    const std::vector<std::vector<int64_t>> axes_sets = {{}, {0}, {1}, {3}, {-1}, {0, 2}, {1, 3}, {-3, 2}, {0, 1, 2, 3}};
    for (const char *op : {"ReduceSum", "ReduceMean"})
        for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE, OT_DTYPE_INT32, OT_DTYPE_INT64})
            for (int opset : {1, 11, 13})
                for (int keepdims : {-1, 0, 1}) {
                    check_reduce(op, dt, {3, 4, 5, 2}, nullptr, keepdims, opset);
                    for (auto &axes : axes_sets) {
                        if (opset == 1 && !axes.empty() && axes[0] < 0) continue; // negative axes since 11
                        check_reduce(op, dt, {3, 4, 5, 2}, &axes, keepdims, opset);
                    }
                }
}

TEST(DenseReduce, SizeOneEmptyAndLargeInputs) {
    std::vector<int64_t> a1 = {1}, a0 = {0}, a02 = {0, 2}, none = {};
    for (const char *op : {"ReduceSum", "ReduceMean"})
        for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_DOUBLE, OT_DTYPE_INT64}) {
            check_reduce(op, dt, {3, 1, 4}, &a1, 1, 13); // a window of one
            check_reduce(op, dt, {3, 1, 4}, &a1, 0, 13);
            check_reduce(op, dt, {1, 1, 1}, &a02, 0, 13);
            check_reduce(op, dt, {7}, &a0, 0, 13);       // to a scalar
            check_reduce(op, dt, {}, &none, 1, 13);      // scalar in, scalar out
            check_reduce(op, dt, {2, 0, 3}, &a1, 1, 13); // reduce over nothing
            check_reduce(op, dt, {0, 4}, &a1, 0, 13);    // empty output
            check_reduce(op, dt, {4, 0}, &a0, 1, 13);    // empty output, innermost kept
            check_reduce(op, dt, {300, 257}, &a0, 1, 13);
            check_reduce(op, dt, {64, 33, 65}, &a02, 0, 13);
        }
}

TEST(DenseReduce, ReduceSum13AxesInput) {
    std::vector<int64_t> none = {}, a1 = {1};
    for (ot_dtype_t dt : {OT_DTYPE_FLOAT, OT_DTYPE_INT32}) {
        check_reduce("ReduceSum", dt, {3, 4, 5}, nullptr, 1, 13, 1); // absent axes + noop: identity
        check_reduce("ReduceSum", dt, {3, 4, 5}, &none, 1, 13, 1);   // empty axes + noop: identity
        check_reduce("ReduceSum", dt, {3, 4, 5}, &none, 0, 13, 0);   // empty axes: reduce all
        check_reduce("ReduceSum", dt, {3, 4, 5}, &a1, 0, 13, 1);     // noop only matters for empty axes
    }
}

TEST(DenseReduce, RejectsBadAxesAndTypes) {
    Tensor x = random_tensor(OT_DTYPE_FLOAT, {2, 3}, 1);
    std::string e = run_op(Node("ReduceMean", 13).ints("axes", {2}), {x}, 1).error;
    EXPECT_TRUE(has(e, "node 'test_node' (ReduceMean)") && has(e, "axis 2 out of range for rank 2")) << e;
    e = run_op(Node("ReduceSum", 13), {x, Tensor::i64({1}, {-3})}, 1, {false, true}).error;
    EXPECT_TRUE(has(e, "node 'test_node' (ReduceSum)") && has(e, "axis -3 out of range")) << e;
    e = run_op(Node("ReduceSum", 11).ints("axes", {5}), {x}, 1).error;
    EXPECT_TRUE(has(e, "axis 5 out of range")) << e;
    Tensor axes32 = Tensor::of(OT_DTYPE_INT32, {1}, std::vector<int32_t>{0});
    e = run_op(Node("ReduceSum", 13), {x, axes32}, 1, {false, true}).error;
    EXPECT_TRUE(has(e, "axes must be int64")) << e;
    Tensor u8 = Tensor::of(OT_DTYPE_UINT8, {2}, std::vector<uint8_t>{1, 2});
    e = run_op(Node("ReduceSum", 13), {u8}, 1).error;
    EXPECT_TRUE(has(e, "uint8") && has(e, "not supported")) << e;
}

// -------------------------------------------------- ONNX conformance ----

namespace {

const std::vector<std::string> kDenseCases = {
    "test_gemm_all_attributes",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeA",
    "test_gemm_transposeB",
    "test_matmul_2d",
    "test_matmul_3d",
    "test_matmul_4d",
    "test_softmax_axis_0",
    "test_softmax_axis_1",
    "test_softmax_axis_2",
    "test_softmax_default_axis",
    "test_softmax_example",
    "test_softmax_large_number",
    "test_softmax_negative_axis",
    "test_logsoftmax_axis_0",
    "test_logsoftmax_axis_1",
    "test_logsoftmax_axis_2",
    "test_logsoftmax_default_axis",
    "test_logsoftmax_example_1",
    "test_logsoftmax_large_number",
    "test_logsoftmax_negative_axis",
    "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_mean_default_axes_keepdims_random",
    "test_reduce_mean_do_not_keepdims_example",
    "test_reduce_mean_do_not_keepdims_random",
    "test_reduce_mean_keepdims_example",
    "test_reduce_mean_keepdims_random",
    "test_reduce_mean_negative_axes_keepdims_example",
    "test_reduce_mean_negative_axes_keepdims_random",
    "test_reduce_sum_default_axes_keepdims_example",
    "test_reduce_sum_default_axes_keepdims_random",
    "test_reduce_sum_do_not_keepdims_example",
    "test_reduce_sum_do_not_keepdims_random",
    "test_reduce_sum_empty_axes_input_noop_example",
    "test_reduce_sum_empty_axes_input_noop_random",
    "test_reduce_sum_keepdims_example",
    "test_reduce_sum_keepdims_random",
    "test_reduce_sum_negative_axes_keepdims_example",
    "test_reduce_sum_negative_axes_keepdims_random",
};

// Case names of these ops in the data directory. *_expanded cases are the
// same tests as multi-node graphs of other ops (for the whole-runtime
// suite, not single-node runs); matmulinteger and reduce_sum_square are
// other ops.
std::set<std::string> cases_on_disk() {
    std::set<std::string> out;
    std::regex mine("^test_(gemm|matmul|softmax|logsoftmax|reduce_mean|reduce_sum)_.*");
    std::regex other("^test_(matmulinteger.*|reduce_sum_square.*|.*_expanded)$");
    if (DIR *d = opendir(kNodeCases)) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (std::regex_match(n, mine) && !std::regex_match(n, other)) out.insert(n);
        }
        closedir(d);
    }
    return out;
}

class DenseConformance : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(DenseConformance, MatchesOnnxData) { EXPECT_EQ(run_node_case(GetParam()), ""); }

INSTANTIATE_TEST_SUITE_P(Dense, DenseConformance, ::testing::ValuesIn(kDenseCases),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });

TEST(DenseConformanceList, CoversEveryCaseOfTheseOps) {
    std::set<std::string> listed(kDenseCases.begin(), kDenseCases.end());
    std::set<std::string> disk = cases_on_disk();
    ASSERT_FALSE(disk.empty()) << "no conformance data under " << kNodeCases;
    for (const auto &n : disk) EXPECT_TRUE(listed.count(n)) << n << " is not in kDenseCases";
    for (const auto &n : listed) EXPECT_TRUE(disk.count(n)) << n << " is not on disk";
}
