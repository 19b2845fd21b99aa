// tests/test_training_info.cc: training sessions over ONNX TrainingInfoProto
// models written by tools/fixtures/gen_training_info.py (onnx.helper):
// initialization + bindings, 3 SGD steps against numpy's float64 result,
// checkpoints that train on, and malformed training programs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "cli_runner.h"
#include "onnxtrain/onnxtrain.h"

namespace {

const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/training_info/";

struct Owned {
    ot_registry_t *reg = nullptr;
    ot_model_t *model = nullptr;
    ot_training_session_t *ts = nullptr;
    std::string error;
    explicit Owned(const std::string &path) {
        ot_status_t *st = ot_registry_create(&reg);
        if (!st) st = ot_model_load(path.c_str(), reg, nullptr, &model);
        if (!st) st = ot_training_session_create(model, &ts);
        if (st) error = ot_status_message(st);
        ot_status_free(st);
    }
    ~Owned() {
        ot_training_session_destroy(ts);
        ot_model_destroy(model);
        ot_registry_destroy(reg);
    }
};

struct Npy {
    ot_tensor_t *t = nullptr;
    explicit Npy(const std::string &name) {
        ot_status_t *st = ot_tensor_load((kDir + "linear_sgd_" + name + ".npy").c_str(), &t);
        EXPECT_EQ(st, nullptr) << ot_status_message(st);
        ot_status_free(st);
    }
    ~Npy() { ot_tensor_destroy(t); }
    double at(int64_t i) const {
        return t->dtype == OT_DTYPE_DOUBLE ? ((const double *)t->data)[i] : ((const float *)t->data)[i];
    }
};

std::string ok(ot_status_t *st) {
    std::string m = st ? ot_status_message(st) : "";
    ot_status_free(st);
    return m;
}

void expect_state(ot_training_session_t *ts, const char *name, const Npy &ref) {
    const ot_tensor_t *t = nullptr;
    ASSERT_EQ(ok(ot_training_session_get_state(ts, name, &t)), "");
    int64_t n = ot_shape_numel(&t->shape);
    ASSERT_EQ(n, ot_shape_numel(&ref.t->shape)) << name;
    for (int64_t i = 0; i < n; i++) {
        double got = t->dtype == OT_DTYPE_INT64 ? (double)((const int64_t *)t->data)[i] : ((const float *)t->data)[i];
        double want = ref.t->dtype == OT_DTYPE_INT64 ? (double)((const int64_t *)ref.t->data)[i] : ref.at(i);
        EXPECT_NEAR(got, want, 1e-6 + 1e-5 * std::fabs(want)) << name << "[" << i << "]";
    }
}

// Runs the 3 fixture steps, checking each loss.
void train3(ot_training_session_t *ts) {
    Npy losses("loss");
    for (int s = 0; s < 3; s++) {
        Npy x("X" + std::to_string(s)), t("T" + std::to_string(s));
        const char *names[] = {"X", "T"};
        const ot_tensor_t *vals[] = {x.t, t.t};
        ASSERT_EQ(ok(ot_training_session_step(ts, -1, 2, names, vals)), "") << "step " << s;
        const ot_tensor_t *loss = nullptr;
        ASSERT_EQ(ok(ot_training_session_output(ts, "loss", &loss)), "");
        EXPECT_NEAR(*(const float *)loss->data, losses.at(s), 1e-5 * std::fabs(losses.at(s))) << "step " << s;
    }
}

TEST(TrainingInfo, InitializesThenMatchesNumpyOverThreeSteps) {
    Owned o(kDir + "linear_sgd.onnx");
    ASSERT_EQ(o.error, "");
    EXPECT_EQ(ot_training_session_num_stages(o.ts), 1);
    EXPECT_EQ(ot_training_session_num_state(o.ts), 3); // W, B, C
    ASSERT_EQ(ok(ot_training_session_initialize(o.ts)), "");
    const ot_tensor_t *w = nullptr;
    ASSERT_EQ(ok(ot_training_session_get_state(o.ts, "W", &w)), "");
    EXPECT_EQ(((const float *)w->data)[1], -0.25f); // from the initialization graph, not the zeros initializer
    train3(o.ts);
    EXPECT_EQ(ot_training_session_steps(o.ts), 3);
    expect_state(o.ts, "W", Npy("W"));
    expect_state(o.ts, "B", Npy("B"));
    expect_state(o.ts, "C", Npy("C"));
}

// ONNX's own training ops: RandomUniform/RandomNormal initialization (numpy
// RandomState streams) and ai.onnx.preview.training Adam, against ONNX's
// reference formula over 3 steps (tools/fixtures/gen_training_info.py).
TEST(TrainingInfo, OnnxAdamWithRandomInitializationMatchesReference) {
    Owned o(kDir + "linear_adam.onnx");
    ASSERT_EQ(o.error, "");
    EXPECT_TRUE(ot_training_session_needs_initialization(o.ts));
    ASSERT_EQ(ok(ot_training_session_initialize(o.ts)), "");
    const char *names[] = {"X", "T"};
    for (int s = 0; s < 3; s++) {
        Npy x("X" + std::to_string(s)), t("T" + std::to_string(s));
        const ot_tensor_t *v[] = {x.t, t.t};
        ASSERT_EQ(ok(ot_training_session_step(o.ts, -1, 2, names, v)), "") << "step " << s;
    }
    for (const char *k : {"W", "B", "VW", "VB", "HW", "HB"}) {
        ot_tensor_t *ref = nullptr;
        ASSERT_EQ(ok(ot_tensor_load((kDir + "linear_adam_" + k + ".npy").c_str(), &ref)), "");
        const ot_tensor_t *got = nullptr;
        ASSERT_EQ(ok(ot_training_session_get_state(o.ts, k, &got)), "");
        ASSERT_EQ(ot_shape_numel(&got->shape), ot_shape_numel(&ref->shape)) << k;
        for (int64_t i = 0; i < ot_shape_numel(&ref->shape); i++) {
            double want = ((const double *)ref->data)[i];
            EXPECT_NEAR(((const float *)got->data)[i], want, 1e-6 + 1e-5 * std::fabs(want)) << k << "[" << i << "]";
        }
        ot_tensor_destroy(ref);
    }
    const ot_tensor_t *t = nullptr;
    ASSERT_EQ(ok(ot_training_session_get_state(o.ts, "T_count", &t)), "");
    EXPECT_EQ(*(const int64_t *)t->data, 3);
}

TEST(TrainingInfo, CheckpointResumesExactly) {
    // 1 step, checkpoint, reload, 2 more: same state as 3 steps in one session
    std::string ckpt = std::string(::testing::TempDir()) + "ot_training_info_ckpt.onnx";
    Owned a(kDir + "linear_sgd.onnx");
    ASSERT_EQ(a.error, "");
    ASSERT_EQ(ok(ot_training_session_initialize(a.ts)), "");
    Npy x0("X0"), t0("T0");
    const char *names[] = {"X", "T"};
    const ot_tensor_t *vals[] = {x0.t, t0.t};
    ASSERT_EQ(ok(ot_training_session_step(a.ts, -1, 2, names, vals)), "");
    ASSERT_EQ(ok(ot_training_session_save(a.ts, ckpt.c_str())), "");

    Owned b(ckpt); // no initialize: the checkpoint holds the trained state
    ASSERT_EQ(b.error, "");
    EXPECT_FALSE(ot_training_session_needs_initialization(b.ts));
    Owned fresh(kDir + "linear_sgd.onnx");
    EXPECT_TRUE(ot_training_session_needs_initialization(fresh.ts));
    for (int s = 1; s < 3; s++) {
        Npy x("X" + std::to_string(s)), t("T" + std::to_string(s));
        const ot_tensor_t *v[] = {x.t, t.t};
        ASSERT_EQ(ok(ot_training_session_step(b.ts, -1, 2, names, v)), "");
    }
    // bit-exact against 3 steps in one session
    Owned c(kDir + "linear_sgd.onnx");
    ASSERT_EQ(c.error, "");
    ASSERT_EQ(ok(ot_training_session_initialize(c.ts)), "");
    train3(c.ts);
    for (const char *name : {"W", "B", "C"}) {
        const ot_tensor_t *resumed = nullptr, *straight = nullptr;
        ASSERT_EQ(ok(ot_training_session_get_state(b.ts, name, &resumed)), "");
        ASSERT_EQ(ok(ot_training_session_get_state(c.ts, name, &straight)), "");
        EXPECT_EQ(std::memcmp(resumed->data, straight->data, ot_tensor_nbytes(straight)), 0) << name;
    }
    expect_state(b.ts, "W", Npy("W"));
    std::remove(ckpt.c_str());
}

TEST(TrainingInfo, FailedStepChangesNothing) {
    Owned o(kDir + "linear_sgd.onnx");
    ASSERT_EQ(o.error, "");
    Npy x0("X0");
    const char *names[] = {"X"};
    const ot_tensor_t *vals[] = {x0.t};
    std::string msg = ok(ot_training_session_step(o.ts, -1, 1, names, vals));
    EXPECT_NE(msg.find("input 'T' is not fed"), std::string::npos) << msg;
    const ot_tensor_t *c = nullptr;
    ASSERT_EQ(ok(ot_training_session_get_state(o.ts, "C", &c)), "");
    EXPECT_EQ(((const int64_t *)c->data)[0], 0);
    EXPECT_EQ(ot_training_session_steps(o.ts), 0);
}

TEST(TrainingInfo, SetStateChecksTypeAndShape) {
    Owned o(kDir + "linear_sgd.onnx");
    ASSERT_EQ(o.error, "");
    ot_shape_t s{1, {4}};
    ot_tensor_t *t = nullptr;
    ASSERT_EQ(ok(ot_tensor_create(OT_DTYPE_FLOAT, &s, &t)), "");
    std::string msg = ok(ot_training_session_set_state(o.ts, "W", t));
    EXPECT_NE(msg.find("'W' is float32 (3)"), std::string::npos) << msg;
    EXPECT_NE(ok(ot_training_session_set_state(o.ts, "XW", t)).find("not a mutable initializer"), std::string::npos);
    ot_tensor_destroy(t);
}

struct BadCase {
    const char *file, *message;
};

class TrainingInfoBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(TrainingInfoBad, FailsNamingTheFault) {
    Owned o(kDir + GetParam().file);
    EXPECT_NE(o.error.find(GetParam().message), std::string::npos) << o.error;
    EXPECT_EQ(o.ts, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrainingInfoBad,
    ::testing::Values(
        BadCase{"bad_binds_non_initializer.onnx", "update_binding key 'XW' names no initializer"},
        BadCase{"bad_binding_shape.onnx", "update_binding 'W' <- 'B_new': float32 (1) cannot be assigned to float32 (3)"},
        BadCase{"bad_binding_not_an_output.onnx", "'nope' is not an output of the inference or algorithm graph"},
        BadCase{"bad_binds_twice.onnx", "update_binding binds 'W' again"}));

TEST(TrainingInfo, PlainModelIsRefused) {
    Owned o("/usr/share/libonnx-testdata/data/node/test_relu/model.onnx");
    EXPECT_NE(o.error.find("has no training_info"), std::string::npos) << o.error;
}

} // namespace

// `onnxtrain train` on the same model: batching (consecutive rows, wrapping),
// the CSV log, checkpoints that load as training models, clear refusals.
namespace {

TEST(TrainingInfoCli, TrainLogsNumpyLossesAndCheckpoints) {
    std::string tmp = ::testing::TempDir(), log = tmp + "ot_train_log.csv", ckpt = tmp + "ot_train_ckpt.onnx";
    int status = -1;
    std::string out = run_cli("train " + kDir + "linear_sgd.onnx --data " + kDir +
                                  "linear_data.npz --batch-size 4 --steps 3 --no-shuffle --log " + log +
                                  " --checkpoint " + ckpt,
                              &status);
    ASSERT_EQ(status, 0) << out;
    ot_tensor_t *ref = nullptr;
    ASSERT_EQ(ok(ot_tensor_load((kDir + "linear_data_losses.npy").c_str(), &ref)), "");
    FILE *f = fopen(log.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[256];
    ASSERT_NE(fgets(line, sizeof line, f), nullptr);
    EXPECT_STREQ(line, "step,loss,lr\n");
    for (int s = 0; s < 3; s++) {
        ASSERT_NE(fgets(line, sizeof line, f), nullptr) << "row " << s + 1;
        int step = 0;
        double loss = 0;
        ASSERT_EQ(sscanf(line, "%d,%lf,", &step, &loss), 2) << line;
        EXPECT_EQ(step, s + 1);
        double want = ((const double *)ref->data)[s];
        EXPECT_NEAR(loss, want, 1e-5 * want) << "step " << step;
    }
    fclose(f);
    ot_tensor_destroy(ref);
    // the checkpoint trains on from where it stopped: its first logged loss is step 4's
    out = run_cli("train " + ckpt + " --data " + kDir + "linear_data.npz --batch-size 4 --steps 1 --no-shuffle", &status);
    EXPECT_EQ(status, 0) << out;
    std::remove(log.c_str());
    std::remove(ckpt.c_str());
}

TEST(TrainingInfoCli, RefusesLossyConversionAndMissingArrays) {
    int status = -1;
    std::string out = run_cli("train " + kDir + "linear_sgd.onnx --data " + kDir +
                                  "linear_data_f64.npz --batch-size 4 --steps 1",
                              &status);
    EXPECT_NE(status, 0);
    EXPECT_NE(out.find("array 'X' (float64) does not convert to input 'X' (float32) without loss"), std::string::npos)
        << out;
    out = run_cli("train " + kDir + "linear_sgd.onnx --data " + kDir + "linear_sgd_X0.npy --batch-size 4 --steps 1",
                  &status);
    EXPECT_NE(status, 0);
    EXPECT_EQ(out.find("Segmentation"), std::string::npos) << out;
}

} // namespace
