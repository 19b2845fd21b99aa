// tests/test_ort_artifacts.cc: ONNX Runtime's own training artifacts
// (../shared/ort-artifacts: an MLP 784-500-10, AdamWOptimizer adam_mode 1)
// reproduce ORT's losses: the first train step 2.1786249, the train step
// after one optimizer step (lr 1e-3) 0.36050943, within 1e-6 relative.
// The same artifacts with the optimizer models of tests/fixtures/
// ort_optimizers (SGDOptimizerV2; InplaceClipGradNorm + AdamWOptimizer
// adam_mode 0; AdamWOptimizer adam_mode 1 with and without bias correction)
// follow a float64 numpy reference over three steps
// (tools/fixtures/gen_ort_optimizer_fixtures.py). ORT's optimizers run on
// ai.onnxtrain::AdamW and ai.onnxtrain::SGD.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "onnxtrain/onnxtrain.h"
#include "onnxtrain/ort_checkpoint.h"
#include "runtime/npz.h"

namespace {

const std::string kArtifacts = std::string(OT_SOURCE_DIR) + "/../shared/ort-artifacts";

// input-0.in: a name line, then "[v, v, ...]"
std::vector<float> read_floats(const std::string &path) {
    std::ifstream f(path);
    std::string name, body, tok;
    std::getline(f, name);
    std::getline(f, body, '\0');
    std::vector<float> v;
    for (char &c : body)
        if (c == '[' || c == ']' || c == ',') c = ' ';
    std::istringstream ss(body);
    float x;
    while (ss >> x) v.push_back(x);
    return v;
}

float read_loss(const std::string &path) {
    std::ifstream f(path);
    std::string name;
    float x = NAN;
    std::getline(f, name);
    f >> x;
    return x;
}

struct OrtArtifactsTraining : ::testing::Test {
    ot_ort_session_t *s = nullptr;
    ot_tensor_t *x = nullptr, *labels = nullptr;
    void SetUp() override { open(kArtifacts); }
    void open(const std::string &dir) {
        std::ifstream probe(kArtifacts + "/training_model.onnx");
        if (!probe) GTEST_SKIP() << "ORT artifacts not found at " << kArtifacts;
        ot_ort_session_destroy(s);
        s = nullptr;
        ot_status_t *st = ot_ort_session_create(dir.c_str(), &s);
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        if (x) return;
        std::vector<float> v = read_floats(kArtifacts + "/input-0.in");
        ASSERT_EQ(v.size(), 1568u);
        ot_shape_t xs{2, {2, 784}}, ls{1, {2}};
        ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &xs, &x), nullptr);
        ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT32, &ls, &labels), nullptr);
        std::copy(v.begin(), v.end(), (float *)x->data);
        ((int32_t *)labels->data)[0] = ((int32_t *)labels->data)[1] = 1;
    }
    void TearDown() override {
        ot_tensor_destroy(x);
        ot_tensor_destroy(labels);
        ot_ort_session_destroy(s);
    }
    float step(bool eval) {
        const char *names[] = {"input-0", "labels"};
        const ot_tensor_t *vals[] = {x, labels};
        float loss = NAN;
        ot_status_t *st = eval ? ot_ort_session_eval_step(s, 2, names, vals, &loss)
                               : ot_ort_session_train_step(s, 2, names, vals, &loss);
        EXPECT_EQ(st, nullptr) << ot_status_message(st);
        ot_status_free(st);
        return loss;
    }
    float train_step() { return step(false); }
    float eval_step() { return step(true); }
    // A folder with the shared training/eval models and checkpoint and
    // `optimizer` as optimizer_model.onnx.
    std::string artifacts_with(const std::string &optimizer) {
        namespace fs = std::filesystem;
        fs::path dir = fs::path(::testing::TempDir()) / ("ot_ort_" + fs::path(optimizer).parent_path().filename().string());
        fs::create_directories(dir);
        for (const char *f : {"training_model.onnx", "eval_model.onnx", "checkpoint.ckpt"})
            fs::copy_file(fs::path(kArtifacts) / f, dir / f, fs::copy_options::overwrite_existing);
        fs::copy_file(optimizer, dir / "optimizer_model.onnx", fs::copy_options::overwrite_existing);
        return dir.string();
    }
};

const std::string kOptimizers = std::string(OT_SOURCE_DIR) + "/tests/fixtures/ort_optimizers";

// expected.txt: a comment line, the lr, then four losses
std::vector<double> read_expected(const std::string &path) {
    std::ifstream f(path);
    std::string comment;
    std::getline(f, comment);
    std::vector<double> v;
    double x;
    while (f >> x) v.push_back(x);
    return v;
}

TEST_F(OrtArtifactsTraining, ReproducesOrtLossesAcrossAnOptimizerStep) {
    float want1 = read_loss(kArtifacts + "/loss_1.out"), want2 = read_loss(kArtifacts + "/loss_2.out");
    ASSERT_NEAR(want1, 2.1786249f, 1e-6f);
    float l1 = train_step();
    EXPECT_NEAR(l1, want1, 1e-6 * want1);
    ot_ort_session_set_lr(s, 1e-3f);
    ASSERT_EQ(ot_ort_session_optimizer_step(s), nullptr);
    EXPECT_EQ(ot_ort_session_step_count(s), 1);
    ot_ort_session_lazy_reset_grad(s);
    float l2 = train_step();
    EXPECT_NEAR(l2, want2, 1e-6 * want2);
}

TEST_F(OrtArtifactsTraining, CheckpointRoundTripsThroughOrtFormat) {
    train_step();
    ot_ort_session_set_lr(s, 1e-3f);
    ASSERT_EQ(ot_ort_session_optimizer_step(s), nullptr);
    std::string path = ::testing::TempDir() + "ot_ort_session.ckpt";
    ot_status_t *st = ot_ort_session_save_checkpoint(s, path.c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ot_ort_checkpoint_t *c = nullptr;
    st = ot_ort_checkpoint_load(path.c_str(), &c);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    EXPECT_EQ(c->n_trainable, 4u);
    ASSERT_EQ(c->n_groups, 1u);
    EXPECT_EQ(c->groups[0].step, 1);
    EXPECT_EQ(c->groups[0].params[0].n_momentums, 2u);
    ot_ort_checkpoint_destroy(c);
    std::remove(path.c_str());
}

// The CLI form: the same two losses as steps 1 and 2 of `onnxtrain train
// --ort-artifacts` (train_step, optimizer_step, lazy_reset_grad per step),
// with int64 labels in the .npz converted to the model's int32.
TEST_F(OrtArtifactsTraining, CliTrainsTheArtifacts) {
    std::string npz = ::testing::TempDir() + "ot_ort_data.npz", log = ::testing::TempDir() + "ot_ort_log.csv";
    ot_shape_t ls{1, {2}};
    ot_tensor_t *l64 = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT64, &ls, &l64), nullptr);
    ((int64_t *)l64->data)[0] = ((int64_t *)l64->data)[1] = 1;
    const char *names[] = {"input-0", "labels"};
    const ot_tensor_t *vals[] = {x, l64};
    ot_status_t *st = ot_npz_save(npz.c_str(), 2, names, vals);
    ot_tensor_destroy(l64);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    std::string cmd = std::string(OT_BINARY_DIR) + "/onnxtrain train --ort-artifacts " + kArtifacts + " --data " + npz +
                      " --batch-size 2 --steps 2 --no-shuffle --lr 0.001 --log " + log + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    FILE *f = fopen(log.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[256];
    double loss[2] = {NAN, NAN};
    int step;
    ASSERT_NE(fgets(line, sizeof line, f), nullptr);
    for (int i = 0; i < 2 && fgets(line, sizeof line, f); i++) ASSERT_EQ(sscanf(line, "%d,%lf,", &step, &loss[i]), 2);
    fclose(f);
    EXPECT_NEAR(loss[0], 2.1786249, 1e-6 * 2.1786249);
    EXPECT_NEAR(loss[1], 0.36050943, 1e-6 * 0.36050943);
    std::remove(npz.c_str());
    std::remove(log.c_str());
}

// Three optimizer steps of a variant against the float64 reference; the
// eval model agrees with the training model's loss at every point.
void follows_reference(OrtArtifactsTraining &f, const std::string &variant, double rtol) {
    SCOPED_TRACE(variant);
    std::string d = kOptimizers + "/" + variant;
    std::vector<double> want = read_expected(d + "/expected.txt");
    ASSERT_EQ(want.size(), 5u);
    f.open(f.artifacts_with(d + "/optimizer_model.onnx"));
    ASSERT_NE(f.s, nullptr);
    ot_ort_session_set_lr(f.s, (float)want[0]);
    for (int t = 0; t < 3; t++) {
        float l = f.train_step();
        EXPECT_NEAR(l, want[1 + t], rtol * want[1 + t]) << "before step " << t + 1;
        EXPECT_NEAR(f.eval_step(), l, 1e-6 * l) << "eval before step " << t + 1;
        ASSERT_EQ(ot_ort_session_optimizer_step(f.s), nullptr);
        ot_ort_session_lazy_reset_grad(f.s);
    }
    EXPECT_EQ(ot_ort_session_step_count(f.s), 3);
    EXPECT_NEAR(f.eval_step(), want[4], rtol * want[4]) << "after step 3";
}

TEST_F(OrtArtifactsTraining, OptimizerModelsFollowTheReference) {
    for (const char *variant : {"sgd", "adamw_mode0_clip"}) follows_reference(*this, variant, 1e-6);
}

// AdamWOptimizer adam_mode 1 (Hugging Face's AdamW) with weight decay, with
// and without bias correction, on ai.onnxtrain::AdamW's mode 1.
TEST_F(OrtArtifactsTraining, AdamWMode1ModelsFollowTheReference) {
    for (const char *variant : {"adamw_mode1", "adamw_mode1_nobias"}) follows_reference(*this, variant, 1e-6);
}

// SGD's checkpoint carries ORT's momentum0 (ORT's loader matches states
// strictly) and resumes to the same loss.
TEST_F(OrtArtifactsTraining, SgdCheckpointResumes) {
    open(artifacts_with(kOptimizers + "/sgd/optimizer_model.onnx"));
    ASSERT_NE(s, nullptr);
    ot_ort_session_set_lr(s, 0.05f);
    train_step();
    ASSERT_EQ(ot_ort_session_optimizer_step(s), nullptr);
    std::string dir = artifacts_with(kOptimizers + "/sgd/optimizer_model.onnx");
    ot_status_t *st = ot_ort_session_save_checkpoint(s, (dir + "/checkpoint.ckpt").c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    float before = eval_step();
    ot_ort_checkpoint_t *c = nullptr;
    ASSERT_EQ(ot_ort_checkpoint_load((dir + "/checkpoint.ckpt").c_str(), &c), nullptr);
    ASSERT_EQ(c->n_groups, 1u);
    EXPECT_EQ(c->groups[0].params[0].n_momentums, 1u);
    EXPECT_STREQ(c->groups[0].params[0].momentums[0].name, "momentum0");
    ot_ort_checkpoint_destroy(c);
    open(dir);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(ot_ort_session_step_count(s), 1);
    EXPECT_EQ(eval_step(), before);
}

// Optimizer models we cannot run as ORT would are refused by name, and no
// session is made.
TEST_F(OrtArtifactsTraining, UnsupportedOptimizerModelsFailClearly) {
    struct Case {
        const char *model, *message;
    } cases[] = {
        {"/bad/extra_node.onnx", "node 'Extra' (Relu): only one AdamWOptimizer or SGDOptimizerV2"},
        {"/bad/wrong_inputs.onnx", "graph inputs must be learning_rate, step, params, gradients"},
        {"/bad/clip_elsewhere.onnx", "(InplaceClipGradNorm) must read `gradients` and feed the optimizer"},
        {"/bad/not_onnx.onnx", "not an ONNX model"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.model);
        std::string dir = artifacts_with(kOptimizers + c.model);
        ot_ort_session_t *bad = nullptr;
        ot_status_t *st = ot_ort_session_create(dir.c_str(), &bad);
        ASSERT_NE(st, nullptr);
        EXPECT_NE(std::string(ot_status_message(st)).find(c.message), std::string::npos) << ot_status_message(st);
        EXPECT_EQ(bad, nullptr);
        ot_status_free(st);
    }
}

// Values ORT's schema allows but no mode implements are refused by our op,
// naming ORT's node.
TEST_F(OrtArtifactsTraining, UnknownAdamModeFailsClearly) {
    std::string dir = artifacts_with(kOptimizers + "/bad/adam_mode2.onnx");
    ot_ort_session_t *bad = nullptr;
    ot_status_t *st = ot_ort_session_create(dir.c_str(), &bad);
    ASSERT_NE(st, nullptr);
    EXPECT_NE(std::string(ot_status_message(st)).find("optimizer model: node 'AdamW' (ai.onnxtrain::AdamW): attribute "
                                                      "'adam_mode' is 2"),
              std::string::npos)
        << ot_status_message(st);
    EXPECT_EQ(bad, nullptr);
    ot_status_free(st);
}

TEST(OrtArtifacts, MissingFolderFailsClearly) {
    ot_ort_session_t *s = nullptr;
    ot_status_t *st = ot_ort_session_create("/nonexistent", &s);
    ASSERT_NE(st, nullptr);
    EXPECT_NE(std::string(ot_status_message(st)).find("need training_model.onnx and checkpoint"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    EXPECT_EQ(s, nullptr);
}

} // namespace
