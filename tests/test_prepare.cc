// tests/test_prepare.cc: `onnxtrain prepare` -> `onnxtrain train` ->
// `onnxtrain export` on PyTorch-exported models, against PyTorch training
// the same weights on the same batches (tools/fixtures/gen_prepare_fixtures.py):
// per-step losses (rtol 1e-4) and the exported model's logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "onnxtrain/onnxtrain.h"

namespace {

const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/prepare/";

std::vector<double> read_losses(const std::string &csv) {
    std::vector<double> out;
    for (const std::vector<double> &row : read_csv(csv)) out.push_back(row.at(1));
    return out;
}

struct Case {
    const char *model, *optimizer, *flags;
};

class PrepareTrain : public ::testing::TestWithParam<Case> {};

TEST_P(PrepareTrain, MatchesPyTorchLossesAndExportsItsWeights) {
    const Case &c = GetParam();
    std::string tmp = ::testing::TempDir() + std::string("ot_prepare_") + c.model + "_" + c.optimizer;
    std::string train = tmp + "_train.onnx", ckpt = tmp + "_ckpt.onnx", log = tmp + ".csv",
                exported = tmp + "_export.onnx", out_dir = tmp + "_out";
    int status = -1;
    std::string out = run_cli("prepare " + kDir + c.model + ".onnx -o " + train + " --loss cross_entropy " + c.flags,
                              &status);
    ASSERT_EQ(status, 0) << out;
    out = run_cli("train " + train + " --data " + kDir + c.model + "_data.npz --batch-size 8 --steps 20 --no-shuffle --log " +
                      log + " --checkpoint " + ckpt,
                  &status);
    ASSERT_EQ(status, 0) << out;
    std::vector<double> got = read_losses(log);
    ot_tensor_t *ref = nullptr;
    ot_status_t *st = ot_tensor_load((kDir + c.model + "_" + c.optimizer + ".npy").c_str(), &ref);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ASSERT_EQ(got.size(), 20u);
    for (int s = 0; s < 20; s++) {
        double want = ((const double *)ref->data)[s];
        EXPECT_NEAR(got[s], want, 1e-4 * std::fabs(want)) << c.model << " " << c.optimizer << " step " << s + 1;
    }
    ot_tensor_destroy(ref);

    // the exported inference model holds the trained weights
    out = run_cli("export " + ckpt + " -o " + exported, &status);
    ASSERT_EQ(status, 0) << out;
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ot_session_t *s = nullptr;
    ot_tensor_t *logits_ref = nullptr, *logits = nullptr;
    st = ot_registry_create(&reg);
    if (!st) st = ot_model_load(exported.c_str(), reg, nullptr, &m);
    if (!st) st = ot_session_create(m, &s);
    if (!st) st = ot_tensor_load((kDir + c.model + "_" + c.optimizer + "_logits.npy").c_str(), &logits_ref);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    EXPECT_EQ(ot_model_num_inputs(m), 1) << "the export keeps only the model's own input";
    out = run_cli("run " + exported + " --input x=" + kDir + c.model + "_x8.npy --output-dir " + out_dir + " --quiet",
                  &status);
    ASSERT_EQ(status, 0) << out;
    st = ot_tensor_load((out_dir + "/output_0.pb").c_str(), &logits);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    int64_t n = ot_shape_numel(&logits_ref->shape);
    ASSERT_EQ(ot_shape_numel(&logits->shape), n);
    for (int64_t i = 0; i < n; i++) {
        float want = ((const float *)logits_ref->data)[i], have = ((const float *)logits->data)[i];
        EXPECT_NEAR(have, want, 1e-4 * (1 + std::fabs(want))) << "logit " << i;
    }
    ot_tensor_destroy(logits);
    ot_tensor_destroy(logits_ref);
    ot_session_destroy(s);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    for (const std::string &f : {train, ckpt, log, exported}) std::remove(f.c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, PrepareTrain,
                         ::testing::Values(Case{"mlp", "sgd", "--optimizer sgd --lr 0.05 --momentum 0.9"},
                                           Case{"mlp", "adamw", "--optimizer adamw --lr 0.01 --weight-decay 0.01"},
                                           Case{"cnn", "sgd", "--optimizer sgd --lr 0.05 --momentum 0.9"},
                                           Case{"cnn", "adamw", "--optimizer adamw --lr 0.01 --weight-decay 0.01"}),
                         [](const ::testing::TestParamInfo<Case> &i) {
                             return std::string(i.param.model) + "_" + i.param.optimizer;
                         });

} // namespace

namespace {

// ot_model_prepare refuses what it cannot train, naming the reason.
struct PrepareError {
    const char *model, *optimizer, *output, *message;
    ot_loss_kind_t loss;
    bool freeze_all;
};

class PrepareRefuses : public ::testing::TestWithParam<PrepareError> {};

TEST_P(PrepareRefuses, NamingTheReason) {
    const PrepareError &c = GetParam();
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *out = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_model_load(c.model, reg, nullptr, &m);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    const char *all[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    ot_prepare_options_t o{};
    o.loss = c.loss;
    o.optimizer = c.optimizer;
    o.output = c.output;
    o.lr = 0.1f;
    if (c.freeze_all) o.n_freeze = 4, o.freeze = all;
    st = ot_model_prepare(m, &o, &out);
    ASSERT_NE(st, nullptr);
    EXPECT_NE(std::string(ot_status_message(st)).find(c.message), std::string::npos) << ot_status_message(st);
    EXPECT_EQ(out, nullptr);
    ot_status_free(st);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

const std::string kMlp = kDir + "mlp.onnx";

// Without a learning rate the optimizer's torch default applies (Adam's
// 1e-3, Adadelta's 1.0); SGD has none in torch and refuses.
TEST(Prepare, LearningRateDefaultsToTorchs) {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ASSERT_EQ(ot_model_load(kMlp.c_str(), reg, nullptr, &m), nullptr);
    for (auto [name, want] : {std::pair<const char *, float>{"Adam", 1e-3f}, {"Adadelta", 1.0f}, {"SGD", 0.0f}}) {
        SCOPED_TRACE(name);
        ot_prepare_options_t o{};
        o.loss = OT_LOSS_CROSS_ENTROPY;
        o.optimizer = name;
        ot_model_t *out = nullptr;
        ot_status_t *st = ot_model_prepare(m, &o, &out);
        if (want == 0) {
            ASSERT_NE(st, nullptr);
            EXPECT_NE(std::string(ot_status_message(st)).find("optimizer SGD: the learning rate is required (--lr)"),
                      std::string::npos)
                << ot_status_message(st);
            ot_status_free(st);
            continue;
        }
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        ot_training_session_t *ts = nullptr;
        ASSERT_EQ(ot_training_session_create(out, &ts), nullptr);
        float lr = 0;
        ASSERT_EQ(ot_training_session_get_lr(ts, &lr), nullptr);
        EXPECT_EQ(lr, want);
        ot_training_session_destroy(ts);
        ot_model_destroy(out);
    }
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

const std::string kRelu = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

INSTANTIATE_TEST_SUITE_P(
    Cases, PrepareRefuses,
    ::testing::Values(PrepareError{kMlp.c_str(), "Nope", nullptr, "unknown optimizer 'Nope'", OT_LOSS_CROSS_ENTROPY, false},
                      PrepareError{kMlp.c_str(), "SGD", nullptr, "nothing to train", OT_LOSS_CROSS_ENTROPY, true},
                      PrepareError{kMlp.c_str(), "SGD", nullptr, "must be a scalar (the loss)", OT_LOSS_NONE, false},
                      PrepareError{kMlp.c_str(), "SGD", "fc1.weight", "'fc1.weight' is not a floating-point value",
                                   OT_LOSS_MSE, false},
                      PrepareError{kRelu.c_str(), "SGD", nullptr, "nothing to train", OT_LOSS_MSE, false}));

} // namespace

namespace {

// ORT's loop on a prepared model: gradients accumulate over train_steps,
// an optimizer step or reset_grad makes the next one overwrite them, lr is
// state (0: the weights stay; 0.05: the loss on the same batch drops).
TEST(PrepareSession, AccumulatesResetsAndSteps) {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *prepared = nullptr;
    ot_training_session_t *ts = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_model_load((kDir + "mlp.onnx").c_str(), reg, nullptr, &m);
    ot_attr_t momentum{};
    momentum.name = "momentum";
    momentum.type = OT_ATTR_FLOAT;
    momentum.f = 0.9f;
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "SGD";
    o.lr = 0.05f;
    o.n_optimizer_attrs = 1;
    o.optimizer_attrs = &momentum;
    if (!st) st = ot_model_prepare(m, &o, &prepared);
    if (!st) st = ot_training_session_create(prepared, &ts);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);

    // the first batch of the fixture's x
    ot_tensor_t *x8 = nullptr;
    ASSERT_EQ(ot_tensor_load((kDir + "mlp_x8.npy").c_str(), &x8), nullptr);
    ot_shape_t ls{1, {8}};
    ot_tensor_t *labels = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT64, &ls, &labels), nullptr);
    for (int i = 0; i < 8; i++) ((int64_t *)labels->data)[i] = i % 5; // any valid classes: the checks are relative
    const char *names[] = {"x", "labels"};
    const ot_tensor_t *vals[] = {x8, labels};
    float l1 = 0, l2 = 0, lr = 0, le = 0;
    ASSERT_EQ(ot_training_session_eval_step(ts, 2, names, vals, &le), nullptr);
    const ot_tensor_t *logits = nullptr;
    ASSERT_EQ(ot_training_session_output(ts, "logits", &logits), nullptr);
    EXPECT_EQ(ot_shape_numel(&logits->shape), 8 * 5);
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &l1), nullptr);
    EXPECT_FLOAT_EQ(le, l1) << "no BatchNorm or Dropout: eval and train forward agree";
    const ot_tensor_t *g = nullptr;
    ASSERT_EQ(ot_training_session_get_state(ts, "fc2.bias.grad", &g), nullptr);
    std::vector<float> g1((const float *)g->data, (const float *)g->data + 5);
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &l2), nullptr);
    EXPECT_EQ(l1, l2); // no update between them
    for (int i = 0; i < 5; i++) EXPECT_FLOAT_EQ(((const float *)g->data)[i], 2 * g1[i]) << "accumulates";
    ASSERT_EQ(ot_training_session_reset_grad(ts), nullptr);
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &l2), nullptr);
    for (int i = 0; i < 5; i++) EXPECT_FLOAT_EQ(((const float *)g->data)[i], g1[i]) << "reset overwrites";
    ASSERT_EQ(ot_training_session_get_lr(ts, &lr), nullptr);
    EXPECT_EQ(lr, 0.05f);
    ASSERT_EQ(ot_training_session_set_lr(ts, 0.0f), nullptr);
    ASSERT_EQ(ot_training_session_optimizer_step(ts), nullptr);
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &l2), nullptr);
    EXPECT_EQ(l1, l2) << "lr 0: the weights did not move";
    for (int i = 0; i < 5; i++) EXPECT_FLOAT_EQ(((const float *)g->data)[i], g1[i]) << "an optimizer step resets";
    ASSERT_EQ(ot_training_session_set_lr(ts, 0.05f), nullptr);
    ASSERT_EQ(ot_training_session_optimizer_step(ts), nullptr);
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &l2), nullptr);
    EXPECT_LT(l2, l1) << "a real step on the same batch lowers its loss";
    std::vector<float> before((const float *)g->data, (const float *)g->data + 5);
    ASSERT_EQ(ot_training_session_eval_step(ts, 2, names, vals, &le), nullptr);
    for (int i = 0; i < 5; i++) EXPECT_EQ(((const float *)g->data)[i], before[i]) << "eval changes no state";
    ot_tensor_destroy(x8);
    ot_tensor_destroy(labels);
    ot_training_session_destroy(ts);
    ot_model_destroy(prepared);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

} // namespace

namespace {

// eval_step runs BatchNormalization on its running statistics: on the
// untrained demo CNN it gives PyTorch's own inference output.
TEST(PrepareSession, EvalStepIsInferenceMode) {
    const std::string demo = std::string(OT_SOURCE_DIR) + "/examples/demo/";
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *prepared = nullptr;
    ot_training_session_t *ts = nullptr;
    ot_tensor_t *x = nullptr, *ref = nullptr, *labels = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_model_load((demo + "cnn.onnx").c_str(), reg, nullptr, &m);
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.output = "/fc/Gemm_output_0";
    o.optimizer = "SGD";
    o.lr = 0.1f;
    if (!st) st = ot_model_prepare(m, &o, &prepared);
    if (!st) st = ot_training_session_create(prepared, &ts);
    if (!st) st = ot_tensor_load((demo + "input_0.pb").c_str(), &x);
    if (!st) st = ot_tensor_load((demo + "output_0.pb").c_str(), &ref);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ot_shape_t ls{1, {x->shape.dims[0]}};
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT64, &ls, &labels), nullptr);
    const char *names[] = {"image", "labels"};
    const ot_tensor_t *vals[] = {x, labels};
    float loss = 0;
    st = ot_training_session_eval_step(ts, 2, names, vals, &loss);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    const ot_tensor_t *probs = nullptr;
    ASSERT_EQ(ot_training_session_output(ts, "probs", &probs), nullptr);
    ASSERT_EQ(ot_shape_numel(&probs->shape), ot_shape_numel(&ref->shape));
    for (int64_t i = 0; i < ot_shape_numel(&ref->shape); i++)
        EXPECT_NEAR(((const float *)probs->data)[i], ((const float *)ref->data)[i], 1e-5) << i;
    // a train_step's forward uses batch statistics instead: the loss differs
    float train_loss = 0;
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &train_loss), nullptr);
    EXPECT_NE(train_loss, loss);
    ot_tensor_destroy(x);
    ot_tensor_destroy(ref);
    ot_tensor_destroy(labels);
    ot_training_session_destroy(ts);
    ot_model_destroy(prepared);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

} // namespace

namespace {

// A fresh BatchNorm exported with TrainingMode.PRESERVE: its running
// statistics arrive as Identity(bn.bias) / Identity(bn.weight). They must
// become state of their own: a train_step moves the running mean, while
// the trainable bn.bias stays where it was (no optimizer step yet).
TEST(PrepareSession, BatchNormStatisticsSharedByTheExporterBecomeTheirOwnState) {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *prepared = nullptr;
    ot_training_session_t *ts = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_model_load((kDir + "bn_preserve.onnx").c_str(), reg, nullptr, &m);
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "SGD";
    o.lr = 0.1f;
    if (!st) st = ot_model_prepare(m, &o, &prepared);
    if (!st) st = ot_training_session_create(prepared, &ts);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    const ot_tensor_t *mean = nullptr, *bias = nullptr;
    std::string name;
    for (int i = 0; i < ot_training_session_num_state(ts); i++) {
        const char *n = nullptr;
        ot_training_session_state_at(ts, i, &n, nullptr);
        if (std::string(n).find(".running_mean") != std::string::npos) name = n;
    }
    ASSERT_FALSE(name.empty()) << "no running-mean state";
    ASSERT_EQ(ot_training_session_get_state(ts, name.c_str(), &mean), nullptr);
    ASSERT_EQ(ot_training_session_get_state(ts, "bn.bias", &bias), nullptr);
    ASSERT_NE(mean->data, bias->data);
    ot_shape_t xs{4, {2, 1, 8, 8}}, ls{1, {2}};
    ot_tensor_t *x = nullptr, *labels = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &xs, &x), nullptr);
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT64, &ls, &labels), nullptr);
    for (int i = 0; i < 128; i++) ((float *)x->data)[i] = 1.0f + 0.01f * (float)i;
    const char *names[] = {"x", "labels"};
    const ot_tensor_t *vals[] = {x, labels};
    float loss = 0;
    ASSERT_EQ(ot_training_session_train_step(ts, 2, names, vals, &loss), nullptr);
    bool moved = false;
    for (int c = 0; c < 4; c++) {
        moved |= ((const float *)mean->data)[c] != 0.0f;
        EXPECT_EQ(((const float *)bias->data)[c], 0.0f) << "bn.bias is a parameter, not the running mean";
    }
    EXPECT_TRUE(moved) << "the running mean is updated by the training forward";
    ot_tensor_destroy(x);
    ot_tensor_destroy(labels);
    ot_training_session_destroy(ts);
    ot_model_destroy(prepared);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

} // namespace
