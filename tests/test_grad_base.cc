// tests/test_grad_base.cc: gradient rules of the broadcasting arithmetic ops
// (Add, Sub, Mul, Div, Pow), Expand, ReduceSum/ReduceMean and Identity,
// against central finite differences (tests/grad_check.h), with load-time
// shapes known and with every dim symbolic (then SumTo / ExpandTo decide
// the summed axes at plan time).
#include "tests/grad_check.h"

using namespace ot_test;

namespace {

struct Shapes {
    std::vector<int64_t> a, b;
};

// same shape, scalar, bias row, both sides broadcast, rank-0
const std::vector<Shapes> kBroadcasts = {
    {{2, 3}, {2, 3}}, {{2, 3}, {}}, {{4, 3}, {3}}, {{3, 1, 5}, {4, 1}}, {{1}, {2, 5}}, {{2, 1, 3}, {2, 4, 1}},
};

size_t numel(const std::vector<int64_t> &d) {
    size_t n = 1;
    for (int64_t v : d) n *= (size_t)v;
    return n;
}

class BinaryGrad : public ::testing::TestWithParam<std::tuple<std::string, int, bool>> {};

TEST_P(BinaryGrad, MatchesFiniteDifferences) {
    auto [op, k, symbolic] = GetParam();
    const Shapes &s = kBroadcasts[k];
    // Div and Pow: keep the divisor / base away from 0
    double lo = op == "Div" || op == "Pow" ? 0.5 : -1.5, hi = 1.5;
    auto a = diff(s.a, random_values(numel(s.a), 11 + k, op == "Pow" ? 0.5 : -1.5, hi));
    auto b = diff(s.b, random_values(numel(s.b), 23 + k, lo, hi));
    GradCheckOptions opt;
    opt.symbolic_dims = symbolic;
    EXPECT_EQ(grad_check(Node(op, 14), {a, b}, opt), "");
}

INSTANTIATE_TEST_SUITE_P(Ops, BinaryGrad,
                         ::testing::Combine(::testing::Values("Add", "Sub", "Mul", "Div", "Pow"),
                                            ::testing::Range(0, (int)kBroadcasts.size()), ::testing::Bool()));

TEST(BinaryGrad, OnlyOneSideDifferentiable) {
    auto a = diff({3, 4}, random_values(12, 3));
    auto b = fixed(Tensor::of(OT_DTYPE_DOUBLE, {4}, random_values(4, 4, 0.5, 1.5)));
    EXPECT_EQ(grad_check(Node("Div", 14), {a, b}), "");
    EXPECT_EQ(grad_check(Node("Mul", 14), {fixed(a.value), diff({4}, random_values(4, 5))}), "");
}

TEST(BinaryGrad, IntegerExponentHasNoGradientButBaseDoes) {
    auto x = diff({2, 3}, random_values(6, 8, 0.5, 1.5));
    auto y = fixed(Tensor::of(OT_DTYPE_DOUBLE, {}, std::vector<double>{3.0}));
    EXPECT_EQ(grad_check(Node("Pow", 15), {x, y}), "");
}

TEST(ExpandGrad, MatchesFiniteDifferences) {
    for (bool symbolic : {false, true}) {
        GradCheckOptions opt;
        opt.symbolic_dims = symbolic;
        auto x = diff({3, 1}, random_values(3, 1));
        EXPECT_EQ(grad_check(Node("Expand", 13), {x, fixed(Tensor::i64({3}, {2, 3, 4}))}, opt), "");
        auto y = diff({2, 1, 4}, random_values(8, 2));
        EXPECT_EQ(grad_check(Node("Expand", 8), {y, fixed(Tensor::i64({2}, {3, 1}))}, opt), "");
    }
}

class ReduceGrad : public ::testing::TestWithParam<std::tuple<std::string, int, int, bool>> {};

// axes, keepdims, opset (11: attribute, 13: ReduceSum's axes input), symbolic dims
TEST_P(ReduceGrad, MatchesFiniteDifferences) {
    auto [op, axes_case, opset, symbolic] = GetParam();
    const std::vector<std::vector<int64_t>> axes_list = {{1}, {0, 2}, {-1}, {}};
    std::vector<int64_t> axes = axes_list[axes_case];
    for (int keepdims : {0, 1}) {
        Node n(op, opset);
        n.i("keepdims", keepdims);
        std::vector<GradInput> in = {diff({2, 3, 4}, random_values(24, 9 + axes_case))};
        if (op == "ReduceSum" && opset >= 13) {
            if (!axes.empty()) in.push_back(fixed(Tensor::i64({(int64_t)axes.size()}, axes)));
        } else if (!axes.empty()) {
            n.ints("axes", axes);
        }
        GradCheckOptions opt;
        opt.symbolic_dims = symbolic;
        EXPECT_EQ(grad_check(n, in, opt), "") << op << " keepdims " << keepdims;
    }
}

INSTANTIATE_TEST_SUITE_P(Ops, ReduceGrad,
                         ::testing::Combine(::testing::Values("ReduceSum", "ReduceMean"), ::testing::Range(0, 4),
                                            ::testing::Values(11, 13), ::testing::Bool()));

TEST(ReduceGrad, NoopWithEmptyAxesPassesTheGradientThrough) {
    Node n("ReduceSum", 13);
    n.i("noop_with_empty_axes", 1);
    EXPECT_EQ(grad_check(n, {diff({2, 3}, random_values(6, 1))}), "");
}

TEST(IdentityGrad, MatchesFiniteDifferences) {
    EXPECT_EQ(grad_check(Node("Identity", 16), {diff({2, 2}, random_values(4, 1))}), "");
}

} // namespace
