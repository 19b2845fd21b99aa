// tests/test_seq_slice_split.cc: Slice, Split, Trilu and ConstantOfShape
// against ONNX's cases and naive references written here; the gradient
// rules of Slice (com.microsoft::SliceGrad), Split (Concat) and Trilu
// against central finite differences in float64.
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

GradInput rnd(std::vector<int64_t> dims, uint32_t seed) { return diff(dims, random_values(numel(dims), seed)); }
GradInput ints(std::vector<int64_t> dims, std::vector<int64_t> v) { return fixed(Tensor::i64(dims, v)); }

GradCheckOptions outputs(int n, std::vector<int> weighted, bool symbolic = false) {
    GradCheckOptions o;
    o.n_outputs = n;
    o.weighted = weighted;
    o.symbolic_dims = symbolic;
    return o;
}

} // namespace

class SeqSliceSplitConformance : public ::testing::TestWithParam<std::string> {};
TEST_P(SeqSliceSplitConformance, Passes) { EXPECT_EQ(run_node_case(GetParam()), ""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, SeqSliceSplitConformance,
    ::testing::Values("test_slice", "test_slice_default_axes", "test_slice_default_steps", "test_slice_end_out_of_bounds",
                      "test_slice_neg", "test_slice_neg_steps", "test_slice_negative_axes",
                      "test_slice_start_out_of_bounds", "test_split_equal_parts_1d", "test_split_equal_parts_2d",
                      "test_split_equal_parts_default_axis", "test_split_variable_parts_1d",
                      "test_split_variable_parts_2d", "test_split_variable_parts_default_axis",
                      "test_split_zero_size_splits", "test_tril", "test_tril_neg", "test_tril_one_row_neg",
                      "test_tril_out_neg", "test_tril_out_pos", "test_tril_pos", "test_tril_square",
                      "test_tril_square_neg", "test_tril_zero", "test_triu", "test_triu_neg", "test_triu_one_row",
                      "test_triu_out_neg_out", "test_triu_out_pos", "test_triu_pos", "test_triu_square",
                      "test_triu_square_neg", "test_triu_zero", "test_constantofshape_float_ones",
                      "test_constantofshape_int_shape_zero", "test_constantofshape_int_zeros"));

// ------------------------------------------------------------------ Slice

// x[a0:b0:s0, a1:b1:s1] written out with explicit index loops.
TEST(SeqSlice, MatchesNaiveStridedLoops) {
    std::vector<float> x(6 * 7);
    for (size_t i = 0; i < x.size(); i++) x[i] = (float)i;
    struct Case {
        std::vector<int64_t> starts, ends, axes, steps;
        std::vector<int64_t> rows, cols; // expected index lists
    };
    std::vector<Case> cases = {
        {{1, 0}, {5, 7}, {0, 1}, {2, 3}, {1, 3}, {0, 3, 6}},
        {{-1, -2}, {-100, 0}, {0, 1}, {-2, -1}, {5, 3, 1}, {5, 4, 3, 2, 1}},
        {{2}, {INT64_MAX}, {-1}, {4}, {0, 1, 2, 3, 4, 5}, {2, 6}},
        {{10}, {20}, {0}, {1}, {}, {0, 1, 2, 3, 4, 5, 6}}, // empty
    };
    for (const Case &c : cases) {
        Result r = run_op(Node("Slice", 13),
                          {Tensor::f32({6, 7}, x), Tensor::i64({(int64_t)c.starts.size()}, c.starts),
                           Tensor::i64({(int64_t)c.ends.size()}, c.ends), Tensor::i64({(int64_t)c.axes.size()}, c.axes),
                           Tensor::i64({(int64_t)c.steps.size()}, c.steps)},
                          1, {false, true, true, true, true});
        ASSERT_EQ(r.error, "");
        std::vector<float> ref;
        for (int64_t i : c.rows)
            for (int64_t j : c.cols) ref.push_back(x[i * 7 + j]);
        EXPECT_EQ(r.outputs[0].dims, (std::vector<int64_t>{(int64_t)c.rows.size(), (int64_t)c.cols.size()}));
        expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "slice");
    }
    // Slice-1: attributes
    Node s1("Slice", 1);
    s1.ints("starts", {1}).ints("ends", {-1}).ints("axes", {1});
    Result r = run_op(s1, {Tensor::f32({2, 3}, {0, 1, 2, 3, 4, 5})}, 1);
    ASSERT_EQ(r.error, "");
    expect_near(r.outputs[0].vec<float>(), {1, 4}, 0, 0, "slice-1");
}

TEST(SeqSlice, RefusesBadInput) {
    Tensor x = Tensor::f32({2, 3}, {0, 1, 2, 3, 4, 5});
    Result r = run_op(Node("Slice", 13), {x, Tensor::i64({1}, {0}), Tensor::i64({1}, {1}), Tensor::i64({1}, {0}),
                                          Tensor::i64({1}, {0})},
                      1, {false, true, true, true, true});
    EXPECT_TRUE(has(r.error, "node 'test_node' (Slice): steps[0] is 0")) << r.error;
    r = run_op(Node("Slice", 13), {x, Tensor::i64({1}, {0}), Tensor::i64({1}, {1}), Tensor::i64({1}, {2})}, 1,
               {false, true, true, true});
    EXPECT_TRUE(has(r.error, "axis 2 out of range for rank 2")) << r.error;
    r = run_op(Node("Slice", 13), {x, Tensor::i64({2}, {0, 0}), Tensor::i64({1}, {1})}, 1, {false, true, true});
    EXPECT_TRUE(has(r.error, "differ in length")) << r.error;
}

TEST(SeqSliceGrad, FiniteDifferences) {
    Node s("Slice", 13);
    EXPECT_EQ(grad_check(s, {rnd({4, 5}, 1), ints({2}, {1, -1}), ints({2}, {4, -6}), ints({2}, {0, 1}), ints({2}, {2, -2})}),
              "");
    EXPECT_EQ(grad_check(s, {rnd({3, 4, 5}, 2), ints({1}, {1}), ints({1}, {INT64_MAX}), ints({1}, {-2})}), "");
    EXPECT_EQ(grad_check(s, {rnd({6}, 3), ints({1}, {-1}), ints({1}, {INT64_MIN}), fixed(Tensor::absent()), ints({1}, {-1})}),
              "");
    EXPECT_EQ(grad_check(s, {rnd({3, 4}, 4), fixed(Tensor::of<int32_t>(OT_DTYPE_INT32, {1}, {1})),
                             fixed(Tensor::of<int32_t>(OT_DTYPE_INT32, {1}, {3}))},
                         outputs(1, {0}, true)),
              "");
    Node s10("Slice", 10);
    EXPECT_EQ(grad_check(s10, {rnd({5, 2}, 5), ints({1}, {4}), ints({1}, {0}), ints({1}, {0}), ints({1}, {-3})}), "");
}

// ------------------------------------------------------------------ Split

TEST(SeqSplit, MatchesNaiveCut) {
    std::vector<float> x(4 * 5);
    for (size_t i = 0; i < x.size(); i++) x[i] = (float)i;
    // split input, axis 1: sizes 2, 0, 3
    Node s13("Split", 13);
    s13.i("axis", 1);
    Result r = run_op(s13, {Tensor::f32({4, 5}, x), Tensor::i64({3}, {2, 0, 3})}, 3, {false, true});
    ASSERT_EQ(r.error, "");
    std::vector<float> a, c;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 2; j++) a.push_back(x[i * 5 + j]);
        for (int j = 2; j < 5; j++) c.push_back(x[i * 5 + j]);
    }
    expect_near(r.outputs[0].vec<float>(), a, 0, 0, "part 0");
    EXPECT_EQ(r.outputs[1].dims, (std::vector<int64_t>{4, 0}));
    expect_near(r.outputs[2].vec<float>(), c, 0, 0, "part 2");
    // Split-18 num_outputs: 5 into 2, 2, 1
    Node s18("Split", 18);
    s18.i("axis", -1).i("num_outputs", 3);
    r = run_op(s18, {Tensor::f32({4, 5}, x)}, 3);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[0].dims, (std::vector<int64_t>{4, 2}));
    EXPECT_EQ(r.outputs[2].dims, (std::vector<int64_t>{4, 1}));
    expect_near(r.outputs[2].vec<float>(), {4, 9, 14, 19}, 0, 0, "last part");
    // errors
    r = run_op(Node("Split", 13), {Tensor::f32({4, 5}, x)}, 3);
    EXPECT_TRUE(has(r.error, "node 'test_node' (Split): axis of 4 does not split into 3 equal parts")) << r.error;
    r = run_op(s13, {Tensor::f32({4, 5}, x), Tensor::i64({2}, {2, 2})}, 2, {false, true});
    EXPECT_TRUE(has(r.error, "split sums to 4 but the axis has 5")) << r.error;
}

TEST(SeqSplitGrad, FiniteDifferences) {
    Node s2("Split", 11);
    s2.i("axis", 1).ints("split", {1, 3});
    EXPECT_EQ(grad_check(s2, {rnd({2, 4, 3}, 10)}, outputs(2, {0, 1})), "");
    // only one output reaches L: the other contributes zeros
    EXPECT_EQ(grad_check(s2, {rnd({2, 4, 3}, 11)}, outputs(2, {1})), "");
    Node s13("Split", 13);
    s13.i("axis", -1);
    EXPECT_EQ(grad_check(s13, {rnd({3, 6}, 12)}, outputs(3, {0, 2}, true)), "");
    EXPECT_EQ(grad_check(s13, {rnd({3, 5}, 13), ints({2}, {4, 1})}, outputs(2, {0, 1})), "");
}

// ------------------------------------------------------------------ Trilu

TEST(SeqTrilu, MatchesDefinition) {
    std::vector<float> x(2 * 3 * 4);
    for (size_t i = 0; i < x.size(); i++) x[i] = (float)i + 1;
    for (int upper : {0, 1})
        for (int64_t k : {-4, -1, 0, 2, 5}) {
            Node t("Trilu", 14);
            t.i("upper", upper);
            Result r = run_op(t, {Tensor::f32({2, 3, 4}, x), Tensor::i64({}, {k})}, 1, {false, true});
            ASSERT_EQ(r.error, "");
            std::vector<float> ref(x.size());
            for (int b = 0; b < 2; b++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 4; j++) {
                        bool keep = upper ? j - i >= k : j - i <= k;
                        ref[(b * 3 + i) * 4 + j] = keep ? x[(b * 3 + i) * 4 + j] : 0.f;
                    }
            expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "upper " + std::to_string(upper) + " k " + std::to_string(k));
        }
    Result r = run_op(Node("Trilu", 14), {Tensor::f32({3}, {1, 2, 3})}, 1);
    EXPECT_TRUE(has(r.error, "node 'test_node' (Trilu): input must have rank >= 2, got 1")) << r.error;
}

TEST(SeqTriluGrad, FiniteDifferences) {
    for (int upper : {0, 1}) {
        Node t("Trilu", 14);
        t.i("upper", upper);
        EXPECT_EQ(grad_check(t, {rnd({2, 3, 4}, 20)}), "");
        EXPECT_EQ(grad_check(t, {rnd({5, 3}, 21), ints({}, {-1})}), "");
        EXPECT_EQ(grad_check(t, {rnd({4, 4}, 22), ints({}, {2})}, outputs(1, {0}, true)), "");
    }
}

// ------------------------------------------------------------------ ConstantOfShape

TEST(SeqConstantOfShape, FillsTheValue) {
    Node c("ConstantOfShape", 9);
    c.t("value", Tensor::of<double>(OT_DTYPE_DOUBLE, {1}, {2.5}));
    Result r = run_op(c, {Tensor::i64({3}, {2, 1, 3})}, 1, {true});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[0].dtype, OT_DTYPE_DOUBLE);
    EXPECT_EQ(r.outputs[0].vec<double>(), std::vector<double>(6, 2.5));
    r = run_op(Node("ConstantOfShape", 9), {Tensor::i64({0}, {})}, 1, {true}); // scalar float 0
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.outputs[0].dims, std::vector<int64_t>{});
    EXPECT_EQ(r.outputs[0].vec<float>(), std::vector<float>{0.f});
    r = run_op(Node("ConstantOfShape", 9), {Tensor::i64({2}, {2, -1})}, 1, {true});
    EXPECT_TRUE(has(r.error, "node 'test_node' (ConstantOfShape): shape[1] = -1 is negative")) << r.error;
    Node two("ConstantOfShape", 9);
    two.t("value", Tensor::f32({2}, {1, 2}));
    r = run_op(two, {Tensor::i64({1}, {2})}, 1, {true});
    EXPECT_TRUE(has(r.error, "value must have exactly one element")) << r.error;
}
