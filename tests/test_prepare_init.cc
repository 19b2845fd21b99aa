// tests/test_prepare_init.cc: `onnxtrain prepare --init` and the first
// `onnxtrain train`: the initialization graph it writes, run once, gives
// the weights torch.nn.init gives for the same seeds, bit for bit
// (tests/fixtures/init, tools/fixtures/gen_init_fixtures.py); checkpoints
// are not initialized again; bad flags are refused naming the reason.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cli_runner.h"
#include "onnxtrain/onnxtrain.h"
extern "C" {
#include "runtime/npz.h"
}

namespace {

const std::string kInit = std::string(OT_SOURCE_DIR) + "/tests/fixtures/init/";
const std::string kPrepare = std::string(OT_SOURCE_DIR) + "/tests/fixtures/prepare/";

// A training session over the model at `path` (owned by the caller, with its model and registry).
struct Loaded {
    ot_registry_t *reg = nullptr;
    ot_model_t *model = nullptr;
    ot_training_session_t *ts = nullptr;
    explicit Loaded(const std::string &path) {
        ot_status_t *st = ot_registry_create(&reg);
        if (!st) st = ot_model_load(path.c_str(), reg, nullptr, &model);
        if (!st) st = ot_training_session_create(model, &ts);
        EXPECT_EQ(st, nullptr) << path << ": " << ot_status_message(st);
        ot_status_free(st);
    }
    ~Loaded() {
        ot_training_session_destroy(ts);
        ot_model_destroy(model);
        ot_registry_destroy(reg);
    }
    const ot_tensor_t *state(const char *name) const {
        const ot_tensor_t *t = nullptr;
        ot_status_t *st = ts ? ot_training_session_get_state(ts, name, &t) : nullptr;
        EXPECT_EQ(st, nullptr) << ot_status_message(st);
        ot_status_free(st);
        return t;
    }
};

// Bitwise equality of a float32 state tensor with torch's array.
void expect_same(const ot_tensor_t *got, const ot_npz_t *ref, const char *name) {
    const ot_tensor_t *want = ot_npz_find(ref, name);
    ASSERT_NE(want, nullptr) << name;
    ASSERT_NE(got, nullptr) << name;
    ASSERT_EQ(got->dtype, OT_DTYPE_FLOAT);
    ASSERT_EQ(ot_shape_numel(&got->shape), ot_shape_numel(&want->shape)) << name;
    int64_t n = ot_shape_numel(&got->shape), bad = 0;
    for (int64_t i = 0; i < n; i++) bad += ((const float *)got->data)[i] != ((const float *)want->data)[i];
    EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << n << " elements differ from torch";
}

std::string tmp(const std::string &what) { return ::testing::TempDir() + "ot_prepare_init_" + what; }

} // namespace

// mlp.onnx (Gemm transB=1): fc1.weight seed 3, fc2.weight seed 4, as
// torch.manual_seed(s); kaiming_uniform_(w); biases zeroed.
TEST(PrepareInit, KaimingUniformMatchesTorchAndRunsOnce) {
    std::string train = tmp("mlp.onnx"), ckpt = tmp("mlp_ckpt.onnx"), ckpt2 = tmp("mlp_ckpt2.onnx");
    int status = -1;
    std::string out = run_cli("prepare " + kPrepare + "mlp.onnx -o " + train +
                                  " --loss cross_entropy --optimizer sgd --lr 0.1 --init kaiming_uniform --seed 3 "
                                  "--init-bias zeros",
                              &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("initialization KaimingUniform"), std::string::npos) << out;
    {
        Loaded fresh(train);
        EXPECT_TRUE(ot_training_session_needs_initialization(fresh.ts));
    }
    out = run_cli("train " + train + " --steps 0 --checkpoint " + ckpt, &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("initialized"), std::string::npos) << out;
    ot_npz_t *ref = nullptr;
    ASSERT_EQ(ot_npz_load((kInit + "mlp_kaiming.npz").c_str(), &ref), nullptr);
    {
        Loaded l(ckpt);
        EXPECT_FALSE(ot_training_session_needs_initialization(l.ts)) << "the checkpoint records initialization";
        expect_same(l.state("fc1.weight"), ref, "fc1.weight");
        expect_same(l.state("fc2.weight"), ref, "fc2.weight");
        for (const char *bias : {"fc1.bias", "fc2.bias"}) {
            const ot_tensor_t *b = l.state(bias);
            ASSERT_NE(b, nullptr);
            for (int64_t i = 0; i < ot_shape_numel(&b->shape); i++)
                EXPECT_EQ(((const float *)b->data)[i], 0.0f) << bias;
        }
    }
    // training the checkpoint does not initialize again
    out = run_cli("train " + ckpt + " --data " + kPrepare +
                      "mlp_data.npz --batch-size 8 --steps 1 --checkpoint " + ckpt2,
                  &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_EQ(out.find("initialized"), std::string::npos) << out;
    ot_npz_destroy(ref);
}

// (K, N) weights of MatMul and Gemm(transB=0): fans of Linear(K, N).
TEST(PrepareInit, MatMulWeightsUseTheirLinearFans) {
    std::string train = tmp("matmul.onnx"), ckpt = tmp("matmul_ckpt.onnx");
    int status = -1;
    std::string out = run_cli("prepare " + kInit + "matmul.onnx -o " + train +
                                  " --loss mse --optimizer sgd --lr 0.1 --init KaimingUniform --seed 7",
                              &status);
    ASSERT_EQ(status, 0) << out;
    out = run_cli("train " + train + " --steps 0 --checkpoint " + ckpt, &status);
    ASSERT_EQ(status, 0) << out;
    ot_npz_t *ref = nullptr;
    ASSERT_EQ(ot_npz_load((kInit + "matmul_kaiming.npz").c_str(), &ref), nullptr);
    Loaded l(ckpt);
    expect_same(l.state("w1"), ref, "w1");
    expect_same(l.state("w2"), ref, "w2");
    ot_npz_destroy(ref);
}

// Through the C API: initializer attributes become node attributes; the
// prepared model's initialization runs in a session.
TEST(PrepareInit, ApiWithAttributes) {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *prepared = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ASSERT_EQ(ot_model_load((kPrepare + "cnn.onnx").c_str(), reg, nullptr, &m), nullptr);
    ot_attr_t gain{};
    gain.name = "gain";
    gain.type = OT_ATTR_FLOAT;
    gain.f = 3.0f;
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "adam";
    o.init = "orthogonal";
    o.n_init_attrs = 1;
    o.init_attrs = &gain;
    ot_status_t *st = ot_model_prepare(m, &o, &prepared);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ot_training_session_t *ts = nullptr;
    ASSERT_EQ(ot_training_session_create(prepared, &ts), nullptr);
    ASSERT_TRUE(ot_training_session_needs_initialization(ts));
    ASSERT_EQ(ot_training_session_initialize(ts), nullptr);
    const ot_tensor_t *w = nullptr;
    ASSERT_EQ(ot_training_session_get_state(ts, "conv.weight", &w), nullptr);
    // conv.weight (4, 1, 3, 3): 4 orthogonal rows of 9, norm gain = 3
    const float *q = (const float *)w->data;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            double dot = 0;
            for (int i = 0; i < 9; i++) dot += (double)q[a * 9 + i] * q[b * 9 + i];
            EXPECT_NEAR(dot, a == b ? 9.0 : 0.0, 1e-4) << a << "," << b;
        }
    ot_training_session_destroy(ts);
    ot_model_destroy(prepared);

    o.init = "no_such_init";
    st = ot_model_prepare(m, &o, &prepared);
    EXPECT_NE(std::string(ot_status_message(st)).find("unknown initializer 'no_such_init'"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    gain.name = "seed";
    gain.type = OT_ATTR_INT;
    o.init = "normal";
    st = ot_model_prepare(m, &o, &prepared);
    EXPECT_NE(std::string(ot_status_message(st)).find("'seed' is set by prepare"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}

TEST(PrepareInit, RefusesBadFlags) {
    struct Bad {
        const char *flags, *message;
    };
    for (const Bad &b : std::initializer_list<Bad>{
             {"--init nonsense", "unknown initializer 'nonsense'"},
             {"--init kaiming_uniform --init-gain 2", "has no attribute --init-gain"},
             {"--init kaiming_uniform --init-a x", "--init-a: bad value 'x'"},
             {"--init kaiming_uniform --init-mode fan_middle", "mode 'fan_middle' unknown"},
             {"--init xavier_normal --init-seed 1", "'seed' is set by prepare"},
             {"--init-gain 2", "--init-gain needs --init NAME"},
             {"--init-bias ones", "--init-bias ones: keep or zeros"},
         }) {
        int status = -1;
        std::string out = run_cli("prepare " + kPrepare + "mlp.onnx -o " + tmp("bad.onnx") +
                                      " --loss cross_entropy --optimizer adam " + b.flags,
                                  &status);
        EXPECT_NE(status, 0) << b.flags;
        EXPECT_NE(out.find(b.message), std::string::npos) << b.flags << ": " << out;
    }
}
