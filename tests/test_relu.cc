// tests/test_relu.cc: Relu against its definition and ONNX's cases
// (the example of an op test).
#include "tests/conformance_case.h"

using namespace ot_test;

TEST(Relu, MatchesDefinition) {
    std::vector<float> x = {-2.f, -0.f, 0.5f, 3.f, -1e-20f, 7.f};
    Result r = run_op(Node("Relu", 14), {Tensor::f32({2, 3}, x)}, 1);
    ASSERT_EQ(r.error, "");
    std::vector<float> ref(x.size());
    for (size_t i = 0; i < x.size(); i++) ref[i] = x[i] > 0 ? x[i] : 0.f;
    EXPECT_EQ(r.outputs[0].dims, (std::vector<int64_t>{2, 3}));
    expect_near(r.outputs[0].vec<float>(), ref, 0, 0, "relu");
}

TEST(Relu, RefusesIntegerInput) {
    Result r = run_op(Node("Relu", 14), {Tensor::i64({2}, {1, -1})}, 1);
    EXPECT_NE(r.error.find("node 'test_node' (Relu)"), std::string::npos) << r.error;
}

TEST(Relu, ConformanceCase) { EXPECT_EQ(run_node_case("test_relu"), ""); }

TEST(Relu, KeepsNaN) { // as torch.relu and ONNX's numpy reference: NaN is not clamped
    Result r = run_op(Node("Relu", 14), {Tensor::f32({3}, {NAN, -1.f, INFINITY})}, 1);
    ASSERT_EQ(r.error, "");
    std::vector<float> y = r.outputs[0].vec<float>();
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_EQ(y[1], 0.f);
    EXPECT_EQ(y[2], INFINITY);
}
