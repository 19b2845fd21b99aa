// tests/test_training_models.cc: the backward issue's acceptance test. Each
// case of tests/fixtures/training (MLP, LeNet, ResNet block with
// BatchNorm, 2-layer Transformer encoder; opsets 14 and 17; exported by
// torch.onnx in training mode, with SoftmaxCrossEntropyLoss and a Gradient
// node added) runs through the public C API, and the loss and every weight
// gradient are compared with PyTorch autograd's (tests/training_case.h has
// the tolerance and why). The fixtures come from
// tools/fixtures/gen_training_models.py; this test only reads them.
//
// A load failure reports the runtime's status plus everything the registry
// lacks for the case (unregistered ops, ops on the gradient path without a
// gradient rule), so one run lists all the missing pieces.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <memory>

#include "tests/model_builder.h"
#include "tests/training_case.h"

namespace {

using ot_training::case_dir;

struct Registry {
    ot_registry_t *reg = nullptr;
    Registry() {
        ot_status_t *st = ot_registry_create(&reg);
        EXPECT_EQ(st, nullptr) << ot_status_message(st);
        ot_status_free(st);
    }
    ~Registry() { ot_registry_destroy(reg); }
};

// input_K.pb / output_K.pb files in `dir` (K from 0 without gaps).
int count_files(const std::string &dir, const std::string &prefix) {
    int n = 0;
    struct stat sb;
    while (stat((dir + "/" + prefix + std::to_string(n) + ".pb").c_str(), &sb) == 0) n++;
    return n;
}

std::string take_message(ot_status_t *st) {
    std::string s = std::string(ot_status_message(st)) + " [" + ot_code_name(ot_status_code(st)) + "]";
    ot_status_free(st);
    return s;
}

struct Tensors {
    std::vector<ot_tensor_t *> t;
    explicit Tensors(size_t n) : t(n, nullptr) {}
    ~Tensors() {
        for (ot_tensor_t *x : t) ot_tensor_destroy(x);
    }
};

class TrainingModels : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainingModels, LossAndGradientsMatchPyTorch) {
    Registry r;
    ASSERT_NE(r.reg, nullptr);
    const std::string dir = case_dir(OT_SOURCE_DIR, GetParam()), data = dir + "/test_data_set_0";
    const std::string model_path = dir + "/model.onnx";
    struct stat sb;
    ASSERT_EQ(stat(model_path.c_str(), &sb), 0) << "missing fixture " << model_path
                                                << " (regenerate with tools/fixtures/gen_training_models.py)";

    ot_model_t *m = nullptr;
    ot_status_t *st = ot_model_load(model_path.c_str(), r.reg, nullptr, &m);
    if (st) {
        std::string missing = ot_training::missing_support(r.reg, model_path);
        FAIL() << GetParam() << ": load: " << take_message(st)
               << (missing.empty() ? "" : "\n  the registry lacks: " + missing);
    }
    std::unique_ptr<ot_model_t, void (*)(ot_model_t *)> model(m, ot_model_destroy);

    // the fixture and the model agree on inputs and outputs, by name and order
    const int n_in = ot_model_num_inputs(m), n_out = ot_model_num_outputs(m);
    ASSERT_EQ(count_files(data, "input_"), n_in) << "input files vs graph inputs";
    ASSERT_EQ(count_files(data, "output_"), n_out) << "output files vs graph outputs";
    ASSERT_GE(n_out, 2) << "loss and at least one gradient";
    Tensors in(n_in), out(n_out), ref(n_out);
    for (int k = 0; k < n_in; k++) {
        const char *name;
        ASSERT_EQ(ot_model_input_info(m, k, &name, nullptr, nullptr), nullptr);
        std::string path = data + "/input_" + std::to_string(k) + ".pb";
        ASSERT_EQ(ot_training::pb_tensor_name(path), name) << path << " feeds graph input " << k;
        st = ot_tensor_load(path.c_str(), &in.t[k]);
        ASSERT_EQ(st, nullptr) << path << ": " << take_message(st);
    }
    for (int k = 0; k < n_out; k++) {
        const char *name;
        ASSERT_EQ(ot_model_output_info(m, k, &name, nullptr, nullptr), nullptr);
        std::string path = data + "/output_" + std::to_string(k) + ".pb";
        ASSERT_EQ(ot_training::pb_tensor_name(path), name) << path << " is the expected graph output " << k;
        st = ot_tensor_load(path.c_str(), &ref.t[k]);
        ASSERT_EQ(st, nullptr) << path << ": " << take_message(st);
    }
    const char *loss_name;
    ot_model_output_info(m, 0, &loss_name, nullptr, nullptr);
    ASSERT_STREQ(loss_name, "loss");
    ASSERT_EQ(ref.t[0]->shape.rank, 0) << "the loss is a scalar";

    ot_session_t *s = nullptr;
    st = ot_session_create(m, &s);
    ASSERT_EQ(st, nullptr) << GetParam() << ": session: " << take_message(st);
    std::unique_ptr<ot_session_t, void (*)(ot_session_t *)> session(s, ot_session_destroy);
    st = ot_session_run(s, in.t.data(), out.t.data());
    ASSERT_EQ(st, nullptr) << GetParam() << ": run: " << take_message(st);

    for (int k = 0; k < n_out; k++) {
        const char *name;
        ot_model_output_info(m, k, &name, nullptr, nullptr);
        ASSERT_NE(out.t[k], nullptr) << name;
        EXPECT_EQ(ot_training::compare_output(out.t[k], ref.t[k], name), "") << GetParam();
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrainingModels, ::testing::ValuesIn(ot_training::cases()),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

// The comparison itself: it must accept the reference and reject a single
// element moved past the allowance, report it by index, and refuse
// degenerate references; the diagnosis must name what a registry lacks.
TEST(TrainingModelsCompare, RejectsOneWrongElement) {
    ot_shape_t shape = {2, {2, 3}};
    ot_tensor_t *ref = nullptr, *got = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &shape, &ref), nullptr);
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &shape, &got), nullptr);
    float *e = static_cast<float *>(ref->data), *g = static_cast<float *>(got->data);
    EXPECT_NE(ot_training::compare_output(got, ref, "w_grad").find("all zeros"), std::string::npos);
    const float v[6] = {1.0f, -2.0f, 0.5f, 1e-7f, 3.0f, -0.25f};
    for (int i = 0; i < 6; i++) e[i] = g[i] = v[i];
    EXPECT_EQ(ot_training::compare_output(got, ref, "w_grad"), "");
    g[3] = 1e-7f + 2.5e-5f; // tiny element: the allowance is 1e-5 * 3 + 1e-4 * 1e-7
    EXPECT_EQ(ot_training::compare_output(got, ref, "w_grad"), "");
    g[3] = 1e-7f + 3.5e-5f;
    std::string why = ot_training::compare_output(got, ref, "w_grad");
    EXPECT_NE(why.find("w_grad: 1 of 6 elements"), std::string::npos) << why;
    EXPECT_NE(why.find("first [1, 0]"), std::string::npos) << why;
    g[3] = e[3];
    g[4] = 3.0f * (1 + 1.2e-4f) + 3e-5f; // past rtol + atol on the largest element
    why = ot_training::compare_output(got, ref, "w_grad");
    EXPECT_NE(why.find("first [1, 1]"), std::string::npos) << why;
    ot_tensor_destroy(ref);
    ot_tensor_destroy(got);
}

TEST(TrainingModelsCompare, DiagnosisNamesMissingOps) {
    // x, w -> Mul -> com.example::Swish (plugin op, no gradient rule) -> an
    // unregistered op -> y; Gradient(xs = [w], zs = [x], y)
    Registry r;
    ASSERT_NE(r.reg, nullptr);
    ot_status_t *st = ot_registry_load_plugin(r.reg, OT_EXAMPLE_PLUGIN);
    ASSERT_EQ(st, nullptr) << take_message(st);
    ot_test::PbModel pb(8, 14);
    pb.add_opset("com.example", 1);
    pb.add_opset("ai.onnxtrain.test", 1);
    pb.add_opset("ai.onnx.preview.training", 1);
    pb.input("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, {2});
    pb.input("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, {2});
    pb.node("Mul", {"x", "w"}, {"a"});
    pb.node("Swish", {"a"}, {"b"})->domain = pb.str("com.example");
    pb.node("NoSuchOp", {"b"}, {"y"})->domain = pb.str("ai.onnxtrain.test");
    auto *grad = pb.node("Gradient", {"w", "x"}, {"w_grad"});
    grad->domain = pb.str("ai.onnx.preview.training");
    auto *xs = pb.attr(grad, "xs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    xs->n_strings = 1;
    xs->strings = pb.alloc<ProtobufCBinaryData>(1);
    xs->strings[0] = pb.bin("w");
    auto *y = pb.attr(grad, "y", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    y->has_s = 1;
    y->s = pb.bin("y");
    pb.output("w_grad", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, {2});
    ot_test::TempDir tmp;
    tmp.write("model.onnx", pb.bytes());
    std::string why = ot_training::missing_support(r.reg, tmp.file("model.onnx"));
    EXPECT_NE(why.find("ops not registered: ai.onnxtrain.test::NoSuchOp-1"), std::string::npos) << why;
    EXPECT_NE(why.find("no gradient rule for:"), std::string::npos) << why;
    EXPECT_NE(why.find(" com.example::Swish-1 (1 node)"), std::string::npos) << why;
}

} // namespace
