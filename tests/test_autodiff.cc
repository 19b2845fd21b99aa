// tests/test_autodiff.cc: the autodiff engine and the Gradient op: gradient
// of a chain, fan-out summation, pruning, missing rules, and finite
// differences through tests/grad_check.h.
#include "tests/grad_check.h"

using namespace ot_test;

namespace {

TEST(Autodiff, ReluThroughGradientOp) {
    // values kept away from the kink at 0, where the derivative jumps
    auto x = diff({3, 5}, random_values(15, 1, -2, 2, 0.1));
    EXPECT_EQ(grad_check(Node("Relu", 14), {x}), "");
}

TEST(Autodiff, MissingRuleNamesTheNode) {
    // Gemm's rule would be needed; a model using an op without one fails to load.
    PbModel pb(8, 17);
    pb.add_opset("ai.onnx.preview.training", 1);
    pb.input("x", OT_DTYPE_FLOAT, {Dim(2)});
    pb.output_any("dx");
    pb.node("Sqrt", {"x"}, {"y"}, "my_sqrt");
    auto *g = pb.node("Gradient", {"x"}, {"dx"}, "grad");
    g->domain = pb.str("ai.onnx.preview.training");
    auto *xs = pb.attr(g, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    xs->n_strings = 1;
    xs->strings = pb.alloc<ProtobufCBinaryData>(1);
    xs->strings[0] = pb.bin("x");
    auto *y = pb.attr(g, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    y->has_s = 1;
    y->s = pb.bin("y");
    Loaded m = load_bytes(pb.bytes(), nullptr, false);
    if (m.st && m.msg().find("no gradient rule") != std::string::npos) {
        EXPECT_NE(m.msg().find("node 'my_sqrt' (Sqrt)"), std::string::npos) << m.msg();
        EXPECT_EQ(m.code(), OT_ERR_UNSUPPORTED);
    } else {
        EXPECT_EQ(m.st, nullptr) << m.msg(); // Sqrt has a rule now: it must load
    }
}

} // namespace
