// tests/test_plugin.cc: the example plugin's optimizer and initializer
// (examples/plugin/example_plugin.c) through the CLI and the C API, the
// registry's checks of optimizer/initializer records, and `--plugin` on
// every command that loads a model.
//   - com.example::SignMomentum: `prepare --plugin` + `train --plugin` for 3
//     steps against torch autograd + the update formula in float64
//     (tools/fixtures/gen_plugin_fixtures.py);
//   - com.example::ScaledUniform: an initialization graph, bit-exact against
//     the documented formula reimplemented here, plus bounds and moments.
// Wrong-ABI refusal through the C API is in test_session.cc (Plugin.*).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "onnxtrain/onnxtrain.h"
#include "runtime/npz.h"

namespace {

const std::string kPrepare = std::string(OT_SOURCE_DIR) + "/tests/fixtures/prepare/";
const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/plugin/";
const std::string kPlugin = std::string(" --plugin ") + OT_EXAMPLE_PLUGIN;

std::string msg(ot_status_t *st) {
    std::string s = st ? ot_status_message(st) : "";
    ot_status_free(st);
    return s;
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

// A registry with the example plugin, a model loaded into it, and its
// training session.
struct Trained {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ot_training_session_t *ts = nullptr;
    std::string error;
    explicit Trained(const std::string &path) {
        ot_status_t *st = ot_registry_create(&reg);
        if (!st) st = ot_registry_load_plugin(reg, OT_EXAMPLE_PLUGIN);
        if (!st) st = ot_model_load(path.c_str(), reg, nullptr, &m);
        if (!st) st = ot_training_session_create(m, &ts);
        error = msg(st);
    }
    ~Trained() {
        ot_training_session_destroy(ts);
        ot_model_destroy(m);
        ot_registry_destroy(reg);
    }
    const float *state(const std::string &name, int64_t *n) {
        const ot_tensor_t *t = nullptr;
        std::string e = msg(ot_training_session_get_state(ts, name.c_str(), &t));
        EXPECT_EQ(e, "") << name;
        if (!t || t->dtype != OT_DTYPE_FLOAT) return nullptr;
        *n = ot_shape_numel(&t->shape);
        return static_cast<const float *>(t->data);
    }
};

// prepare --optimizer SignMomentum, train 3 steps, and the checkpoint's
// parameters and momenta against the float64 reference. The sign makes the
// update discontinuous at m = 0; the fixture's smallest nonzero |m| (~1e-6)
// is far above float32 rounding of the gradients (~1e-9 here), so signs agree.
TEST(PluginOptimizer, PrepareAndTrainMatchTheFloat64Reference) {
    std::string tmp = ::testing::TempDir() + "ot_plugin_sm";
    std::string train = tmp + "_train.onnx", ckpt = tmp + "_ckpt.onnx", exported = tmp + "_export.onnx";
    int status = -1;
    std::string out = run_cli("prepare " + kPrepare + "mlp.onnx -o " + train + kPlugin +
                                  " --loss cross_entropy --optimizer SignMomentum --beta 0.8 --weight-decay 0.01 --lr 0.01",
                              &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_TRUE(contains(out, "optimizer SignMomentum (lr 0.01)")) << out;

    // without the plugin the prepared model does not load, and says why
    out = run_cli("train " + train + " --data " + kPrepare + "mlp_data.npz --batch-size 8 --steps 3", &status);
    EXPECT_NE(status, 0);
    EXPECT_TRUE(contains(out, "SignMomentum")) << out;

    out = run_cli("train " + train + kPlugin + " --data " + kPrepare +
                      "mlp_data.npz --batch-size 8 --steps 3 --no-shuffle --checkpoint " + ckpt,
                  &status);
    ASSERT_EQ(status, 0) << out;

    ot_npz_t *ref = nullptr;
    ASSERT_EQ(msg(ot_npz_load((kDir + "mlp_sign_momentum.npz").c_str(), &ref)), "");
    const ot_tensor_t *min_abs = ot_npz_find(ref, "min_abs_momentum");
    ASSERT_NE(min_abs, nullptr);
    for (int s = 0; s < 3; s++) ASSERT_GT(((const double *)min_abs->data)[s], 1e-7) << "degenerate fixture, step " << s;
    Trained t(ckpt);
    ASSERT_EQ(t.error, "");
    EXPECT_FALSE(ot_training_session_needs_initialization(t.ts));
    double worst_p = 0, worst_m = 0;
    for (const char *param : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
        for (const std::string name : {std::string(param), std::string(param) + ".momentum"}) {
            SCOPED_TRACE(name);
            const ot_tensor_t *want = ot_npz_find(ref, name.c_str());
            ASSERT_NE(want, nullptr);
            ASSERT_EQ(want->dtype, OT_DTYPE_DOUBLE);
            int64_t n = 0;
            const float *have = t.state(name, &n);
            ASSERT_NE(have, nullptr);
            ASSERT_EQ(n, ot_shape_numel(&want->shape));
            bool is_m = name.size() > 9 && name.compare(name.size() - 9, 9, ".momentum") == 0;
            double nonzero = 0;
            for (int64_t i = 0; i < n; i++) {
                double w = ((const double *)want->data)[i], err = std::fabs(have[i] - w);
                // momenta are O(grad) ~1e-2; parameters move by lr = 0.01 per step
                double tol = is_m ? 1e-6 + 1e-4 * std::fabs(w) : 2e-6;
                ASSERT_LE(err, tol) << "element " << i << ": " << have[i] << " vs " << w;
                (is_m ? worst_m : worst_p) = std::max(is_m ? worst_m : worst_p, err);
                nonzero += w != 0;
            }
            EXPECT_GT(nonzero, 0) << "degenerate reference";
        }
    }
    char worst[96];
    snprintf(worst, sizeof worst, "params %.3g, momentum %.3g", worst_p, worst_m);
    RecordProperty("max_abs_err", worst);
    ot_npz_destroy(ref);

    // (export drops training_info, so this checkpoint exports with or without the plugin)
    out = run_cli("export " + ckpt + kPlugin + " -o " + exported, &status);
    EXPECT_EQ(status, 0) << out;
    for (const std::string &f : {train, ckpt, exported}) std::remove(f.c_str());
}

// The documented formula of com.example::ScaledUniform, written again here.
std::vector<float> scaled_uniform_ref(int64_t n, uint64_t seed, int64_t fan_in, float scale) {
    std::vector<float> out((size_t)n);
    uint64_t state = seed;
    double s = (double)scale / std::sqrt((double)fan_in);
    for (auto &y : out) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        double u = (double)(z >> 40) / 16777216.0;
        y = (float)((2.0 * u - 1.0) * s);
    }
    return out;
}

TEST(PluginInitializer, InitializationGraphDrawsTheDocumentedValues) {
    Trained t(kDir + "scaled_uniform_init.onnx");
    ASSERT_EQ(t.error, "");
    ASSERT_TRUE(ot_training_session_needs_initialization(t.ts));
    ASSERT_EQ(msg(ot_training_session_initialize(t.ts)), "");
    struct Want {
        const char *name;
        uint64_t seed;
        int64_t n, fan_in;
        float scale;
    } wants[] = {{"Wa", 7, 64 * 32, 32, 1.0f}, {"Wb", 7, 64 * 32, 32, 1.0f}, {"Wc", 8, 64 * 32, 32, 1.0f},
                 {"B", 9, 64, 32, 2.0f}};
    for (const Want &w : wants) {
        SCOPED_TRACE(w.name);
        int64_t n = 0;
        const float *have = t.state(w.name, &n);
        ASSERT_NE(have, nullptr);
        ASSERT_EQ(n, w.n);
        std::vector<float> ref = scaled_uniform_ref(n, w.seed, w.fan_in, w.scale);
        EXPECT_EQ(std::memcmp(have, ref.data(), sizeof(float) * (size_t)n), 0) << "not bit-exact";
        // U(-s, s): inside the bounds, mean 0 and variance s^2 / 3 (5 sigma)
        double s = w.scale / std::sqrt((double)w.fan_in), sum = 0, sq = 0;
        for (int64_t i = 0; i < n; i++) {
            ASSERT_GE(have[i], -s) << i;
            ASSERT_LT(have[i], s) << i;
            sum += have[i], sq += (double)have[i] * have[i];
        }
        double mean = sum / n, var = sq / n;
        EXPECT_LT(std::fabs(mean), 5 * s / std::sqrt(3.0 * n)) << "mean";
        EXPECT_NEAR(var, s * s / 3, 5 * s * s * std::sqrt(4.0 / 45 / n)) << "variance";
    }
    int64_t n = 0;
    const float *a = t.state("Wa", &n), *b = t.state("Wb", &n), *c = t.state("Wc", &n);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(std::memcmp(a, b, sizeof(float) * (size_t)n), 0) << "same seed, same values";
    EXPECT_NE(std::memcmp(a, c, sizeof(float) * (size_t)n), 0) << "another seed, other values";
    // a second session draws the same values again
    Trained again(kDir + "scaled_uniform_init.onnx");
    ASSERT_EQ(again.error, "");
    ASSERT_EQ(msg(ot_training_session_initialize(again.ts)), "");
    const float *a2 = again.state("Wa", &n);
    ASSERT_NE(a2, nullptr);
    EXPECT_EQ(std::memcmp(a, a2, sizeof(float) * (size_t)n), 0);
}

// ---- the registry's checks of optimizer and initializer records ----------

ot_status_t *no_infer(ot_infer_ctx_t *) { return nullptr; }
ot_status_t *no_run(ot_kernel_t *) { return nullptr; }

const ot_attr_spec_t kOptAttrs[] = {{"beta", OT_ATTR_FLOAT, false}, {"flag", OT_ATTR_INT, false},
                                    {"name", OT_ATTR_STRING, false}, {nullptr, OT_ATTR_UNDEFINED, false}};
const ot_attr_spec_t kInitAttrs[] = {{"shape", OT_ATTR_INTS, true}, {nullptr, OT_ATTR_UNDEFINED, false}};
const ot_attr_spec_t kInitShapeOptional[] = {{"shape", OT_ATTR_INTS, false}, {nullptr, OT_ATTR_UNDEFINED, false}};
const ot_attr_spec_t kInitSeedFloat[] = {{"shape", OT_ATTR_INTS, true}, {"seed", OT_ATTR_FLOAT, false},
                                         {nullptr, OT_ATTR_UNDEFINED, false}};
const ot_state_spec_t kOneState[] = {{"m", nullptr, nullptr}, {nullptr, nullptr, nullptr}};
const ot_state_spec_t kNoStates[] = {{nullptr, nullptr, nullptr}};
const ot_state_spec_t kBadName[] = {{"m/x", nullptr, nullptr}, {nullptr, nullptr, nullptr}};
const ot_state_spec_t kTwice[] = {{"m", nullptr, nullptr}, {"m", nullptr, nullptr}, {nullptr, nullptr, nullptr}};
const ot_state_spec_t kWhenUnknown[] = {{"m", "nope", nullptr}, {nullptr, nullptr, nullptr}};
const ot_state_spec_t kInitString[] = {{"m", nullptr, "name"}, {nullptr, nullptr, nullptr}};
const ot_state_spec_t kNine[] = {{"a", nullptr, nullptr}, {"b", nullptr, nullptr}, {"c", nullptr, nullptr},
                                 {"d", nullptr, nullptr}, {"e", nullptr, nullptr}, {"f", nullptr, nullptr},
                                 {"g", nullptr, nullptr}, {"h", nullptr, nullptr}, {"i", nullptr, nullptr},
                                 {nullptr, nullptr, nullptr}};

ot_op_def_t optimizer(const ot_state_spec_t *states, int min_in = 5, int max_in = -1, int min_out = 2,
                      int max_out = -1) {
    ot_op_def_t d{};
    d.abi_version = OT_PLUGIN_ABI_VERSION;
    d.domain = "com.test";
    d.op_type = "Opt";
    d.since_version = 1;
    d.min_inputs = min_in, d.max_inputs = max_in, d.min_outputs = min_out, d.max_outputs = max_out;
    d.attrs = kOptAttrs;
    d.flags = OT_OP_OPTIMIZER;
    d.infer = no_infer;
    d.run = no_run;
    d.states = states;
    return d;
}

ot_op_def_t initializer(const ot_attr_spec_t *attrs, int min_in = 0, int max_in = 0, int max_out = 1) {
    ot_op_def_t d = optimizer(nullptr, min_in, max_in, 1, max_out);
    d.op_type = "Init";
    d.attrs = attrs;
    d.flags = OT_OP_INITIALIZER;
    return d;
}

struct BadRecord {
    const char *label;
    ot_op_def_t def;
    const char *message;
};

class RegistryRefuses : public ::testing::TestWithParam<BadRecord> {};

TEST_P(RegistryRefuses, NamingTheOp) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_registry_add(reg, &GetParam().def);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    std::string m = msg(st);
    EXPECT_TRUE(contains(m, GetParam().message)) << m;
    EXPECT_TRUE(contains(m, "com.test::")) << m;
    EXPECT_EQ(ot_registry_find(reg, "com.test", GetParam().def.op_type, 1), nullptr);
    ot_registry_destroy(reg);
}

ot_op_def_t with_lr(ot_op_def_t d, float lr) {
    d.default_lr = lr;
    return d;
}
ot_op_def_t both_kinds(ot_op_def_t d) {
    d.flags |= OT_OP_INITIALIZER;
    return d;
}
ot_op_def_t states_not_optimizer(ot_op_def_t d) {
    d.flags = 0;
    return d;
}

INSTANTIATE_TEST_SUITE_P(
    Records, RegistryRefuses,
    ::testing::Values(
        BadRecord{"no_states", optimizer(nullptr), "optimizer 'com.test::Opt' has no states list"},
        BadRecord{"bad_state_name", optimizer(kBadName), "state name 'm/x' is not a name"},
        BadRecord{"state_twice", optimizer(kTwice, 6, -1, 3), "state 'm' is listed twice"},
        BadRecord{"when_unknown", optimizer(kWhenUnknown, 4, -1, 1), "names 'nope' (when)"},
        BadRecord{"init_string", optimizer(kInitString), "names 'name' (init), which is not an INT or FLOAT"},
        BadRecord{"nine_states", optimizer(kNine, 4, -1, 1), "declares more than 8 states"},
        BadRecord{"fixed_inputs", optimizer(kOneState, 5, 5), "do not fit the optimizer signature"},
        BadRecord{"min_too_large", optimizer(kOneState, 6, -1, 2), "min_inputs 4..5"},
        BadRecord{"min_outputs_zero", optimizer(kNoStates, 4, -1, 0), "min_outputs 1..1"},
        BadRecord{"negative_lr", with_lr(optimizer(kOneState), -1.0f), "default_lr must be finite and >= 0"},
        BadRecord{"nan_lr", with_lr(optimizer(kOneState), NAN), "default_lr must be finite"},
        BadRecord{"both_kinds", both_kinds(optimizer(kOneState)), "flagged both optimizer and initializer"},
        BadRecord{"states_not_optimizer", states_not_optimizer(optimizer(kOneState)), "not flagged OT_OP_OPTIMIZER"},
        BadRecord{"init_with_input", initializer(kInitAttrs, 1, 1), "initializer 'com.test::Init' must have no inputs"},
        BadRecord{"init_two_outputs", initializer(kInitAttrs, 0, 0, 2), "and one output"},
        BadRecord{"init_no_shape", initializer(nullptr), "must declare a required INTS attribute 'shape'"},
        BadRecord{"init_shape_optional", initializer(kInitShapeOptional), "required INTS attribute 'shape'"},
        BadRecord{"init_seed_float", initializer(kInitSeedFloat), "attribute 'seed' must be INT"}),
    [](const ::testing::TestParamInfo<BadRecord> &i) { return std::string(i.param.label); });

TEST(RegistryAccepts, WellFormedOptimizerAndInitializer) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    static const ot_state_spec_t states[] = {{"m", nullptr, "beta"}, {"v", "flag", nullptr}, {nullptr, nullptr, nullptr}};
    static const ot_op_def_t opt = optimizer(states), init = initializer(kInitAttrs);
    EXPECT_EQ(msg(ot_registry_add(reg, &opt)), "");
    EXPECT_EQ(msg(ot_registry_add(reg, &init)), "");
    EXPECT_EQ(ot_registry_find_kind(reg, "opt", OT_OP_OPTIMIZER), &opt);
    EXPECT_EQ(ot_registry_find_kind(reg, "init", OT_OP_INITIALIZER), &init);
    ot_registry_destroy(reg);
}

// What the checks found in the built-in table: Adagrad's `sum` state is
// initialized from initial_accumulator_value, which was not in its schema,
// so prepare refused the flag. Now the state holds the value.
TEST(RegistryAccepts, AdagradInitialAccumulatorValueFillsItsState) {
    std::string train = ::testing::TempDir() + "ot_plugin_adagrad.onnx";
    int status = -1;
    std::string out = run_cli("prepare " + kPrepare + "mlp.onnx -o " + train +
                                  " --loss cross_entropy --optimizer adagrad --initial-accumulator-value 0.5",
                              &status);
    ASSERT_EQ(status, 0) << out;
    Trained t(train);
    ASSERT_EQ(t.error, "");
    int64_t n = 0;
    const float *sum = t.state("fc1.weight.sum", &n);
    ASSERT_NE(sum, nullptr);
    ASSERT_EQ(n, 32 * 16);
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(sum[i], 0.5f) << i;
    std::remove(train.c_str());
}

// A plugin whose second record is bad: refused naming the plugin and the
// op, and its first (good) record is forgotten.
TEST(PluginRefused, BadInitializerDeclaration) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_registry_load_plugin(reg, OT_BAD_PLUGIN);
    ASSERT_NE(st, nullptr);
    std::string m = msg(st);
    EXPECT_TRUE(contains(m, std::string("plugin '") + OT_BAD_PLUGIN + "'")) << m;
    EXPECT_TRUE(contains(m, "initializer 'com.bad::TakesInput' must have no inputs and one output")) << m;
    EXPECT_EQ(ot_registry_find(reg, "com.bad", "Fine", 1), nullptr);
    ot_registry_destroy(reg);
}

// `prepare --init` with the plugin's initializer: the k-th weight (rank >= 2)
// is drawn with seed --seed + k and fan_in = in_features (Linear/Gemm
// transB=1 weights), as the documented formula says; `train --steps 0` only
// initializes.
TEST(PluginInitializer, PrepareInitDrawsEveryWeight) {
    const std::string tmp = ::testing::TempDir(), train = tmp + "ot_plugin_init.onnx", ckpt = tmp + "ot_plugin_init_ckpt.onnx";
    int status = -1;
    std::string out = run_cli("prepare " + kPrepare + "mlp.onnx -o " + train +
                                  " --loss cross_entropy --optimizer sgd --lr 0.1 --init scaled_uniform --init-scale 2"
                                  " --seed 7" + kPlugin,
                              &status);
    ASSERT_EQ(status, 0) << out;
    out = run_cli("train " + train + " --steps 0 --checkpoint " + ckpt + kPlugin, &status);
    ASSERT_EQ(status, 0) << out;
    EXPECT_TRUE(contains(out, "initialized")) << out;
    Trained t(ckpt);
    ASSERT_EQ(t.error, "");
    int k = 0;
    for (const char *name : {"fc1.weight", "fc2.weight"}) {
        SCOPED_TRACE(name);
        const ot_tensor_t *w = nullptr;
        ASSERT_EQ(msg(ot_training_session_get_state(t.ts, name, &w)), "");
        ASSERT_EQ(w->shape.rank, 2);
        int64_t n = ot_shape_numel(&w->shape);
        std::vector<float> ref = scaled_uniform_ref(n, 7 + k++, w->shape.dims[1], 2.0f);
        EXPECT_EQ(std::memcmp(w->data, ref.data(), sizeof(float) * (size_t)n), 0);
    }
    for (const std::string &f : {train, ckpt}) std::remove(f.c_str());
}

// ---- --plugin on the CLI ----------------------------------------------------

TEST(PluginCli, EveryModelCommandLoadsPlugins) {
    int status = -1;
    std::string out = run_cli("ops" + kPlugin, &status);
    ASSERT_EQ(status, 0) << out;
    for (const char *op : {"Swish", "SignMomentum", "ScaledUniform"}) EXPECT_TRUE(contains(out, op)) << op;
    out = run_cli("inspect " + kDir + "scaled_uniform_init.onnx" + kPlugin, &status);
    EXPECT_EQ(status, 0) << out;
    // a wrong-ABI plugin is refused by every command, naming the library and both versions
    const std::string wrong = OT_EXAMPLE_PLUGIN_WRONG_ABI;
    const std::string versions = "ABI version " + std::to_string(OT_PLUGIN_ABI_VERSION + 1000) +
                                 "; this runtime needs version " + std::to_string(OT_PLUGIN_ABI_VERSION);
    for (const std::string cmd :
         {std::string("ops"), "inspect " + kPrepare + "mlp.onnx", "export " + kPrepare + "mlp.onnx -o /dev/null",
          "run " + kPrepare + "mlp.onnx --input x=" + kPrepare + "mlp_x8.npy --quiet",
          "train " + kPrepare + "mlp.onnx --data " + kPrepare + "mlp_data.npz --batch-size 8 --steps 1",
          "prepare " + kPrepare + "mlp.onnx -o /dev/null --loss cross_entropy --optimizer sgd --lr 0.1"}) {
        SCOPED_TRACE(cmd);
        out = run_cli(cmd + kPlugin + " --plugin " + wrong, &status);
        EXPECT_NE(status, 0) << out;
        EXPECT_TRUE(contains(out, "plugin '" + wrong + "'")) << out;
        EXPECT_TRUE(contains(out, versions)) << out;
    }
    out = run_cli("ops --plugin", &status);
    EXPECT_EQ(WEXITSTATUS(status), 2) << out;
    EXPECT_TRUE(contains(out, "--plugin needs a value")) << out;
    out = run_cli("idx-to-npz --plugin " + std::string(OT_EXAMPLE_PLUGIN), &status);
    EXPECT_EQ(WEXITSTATUS(status), 2) << out;
}

} // namespace
