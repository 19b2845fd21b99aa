// tests/test_clip_accum.cc: gradient clipping, accumulation, the non-finite
// guard and parameter groups (`onnxtrain prepare` flags, runtime/prepare_clip.c,
// ops/clip_grad_norm.c, ops/is_all_finite.c), against PyTorch
// (tools/fixtures/gen_clip_accum_fixtures.py): per-step losses and final
// weights of prepare + train, ClipGradNorm against clip_grad_norm_.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "onnxtrain/onnxtrain.h"
#include "op_harness.h"
#include "onnx.pb-c.h"
#include "runtime/ir.h"
#include "runtime/npz.h"

namespace {

const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/clip/";
const char *const kParams[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};

// Member `name` of an .npz, copied (absent: present == false).
ot_test::Tensor npz_member(const std::string &path, const std::string &name) {
    ot_test::Tensor t;
    t.present = false;
    ot_npz_t *npz = nullptr;
    ot_status_t *st = ot_npz_load(path.c_str(), &npz);
    const ot_tensor_t *raw = st ? nullptr : ot_npz_find(npz, name.c_str());
    ot_status_free(st);
    if (raw) {
        t.present = true;
        t.dtype = raw->dtype;
        t.dims.assign(raw->shape.dims, raw->shape.dims + raw->shape.rank);
        t.bytes.assign((const unsigned char *)raw->data, (const unsigned char *)raw->data + ot_tensor_nbytes(raw));
    }
    ot_npz_destroy(npz);
    return t;
}

// step,loss,lr[,skipped] rows of a train --log.
struct LogRow {
    double loss;
    int skipped;
};
std::vector<LogRow> read_log(const std::string &csv) {
    std::vector<LogRow> out;
    for (const std::vector<double> &row : read_csv(csv))
        out.push_back({row.at(1), row.size() > 3 ? (int)row[3] : -1});
    return out;
}

// ---- prepare + train against torch ---------------------------------------------

struct Case {
    const char *name, *flags, *data;
    int steps;
};

class ClipAccumTrain : public ::testing::TestWithParam<Case> {};

TEST_P(ClipAccumTrain, MatchesPyTorchLossesAndWeights) {
    const Case &c = GetParam();
    std::string tmp = ::testing::TempDir() + std::string("ot_clip_") + c.name;
    std::string train = tmp + "_train.onnx", ckpt = tmp + "_ckpt.onnx", log = tmp + ".csv";
    int status = -1;
    std::string out =
        run_cli("prepare " + kDir + "mlp.onnx -o " + train + " --loss cross_entropy " + c.flags, &status);
    ASSERT_EQ(status, 0) << out;
    out = run_cli("train " + train + " --data " + kDir + c.data + ".npz --batch-size 8 --no-shuffle --steps " +
                      std::to_string(c.steps) + " --log " + log + " --checkpoint " + ckpt,
                  &status);
    ASSERT_EQ(status, 0) << out;
    const std::string ref_path = kDir + c.name + ".npz";
    ot_test::Tensor ref_losses = npz_member(ref_path, "losses");
    ASSERT_TRUE(ref_losses.present) << ref_path;
    std::vector<double> want = ref_losses.vec<double>();
    std::vector<LogRow> got = read_log(log);
    ASSERT_EQ(got.size(), want.size()) << "one log row per optimizer step";
    double worst = 0;
    for (size_t s = 0; s < want.size(); s++) {
        // torch's loss on a batch with NaN/Inf inputs is NaN; ours may be finite
        // (our Relu maps NaN to 0), while the gradients are non-finite in both:
        // the guard's checks below cover those steps
        if (std::isnan(want[s])) continue;
        double err = std::fabs(got[s].loss - want[s]) / std::fabs(want[s]);
        worst = std::max(worst, err);
        EXPECT_LE(err, 1e-5) << c.name << " step " << s + 1 << ": " << got[s].loss << " vs torch " << want[s];
    }

    // the trained weights, from the checkpoint's state
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ot_training_session_t *ts = nullptr;
    ot_status_t *st = ot_registry_create(&reg);
    if (!st) st = ot_model_load(ckpt.c_str(), reg, nullptr, &m);
    if (!st) st = ot_training_session_create(m, &ts);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    double worst_w = 0;
    for (const char *p : kParams) {
        const ot_tensor_t *w = nullptr;
        ASSERT_EQ(ot_training_session_get_state(ts, p, &w), nullptr) << p;
        ot_test::Tensor ref = npz_member(ref_path, p);
        ASSERT_TRUE(ref.present) << p;
        std::vector<float> r = ref.vec<float>();
        ASSERT_EQ((int64_t)r.size(), ot_shape_numel(&w->shape)) << p;
        for (size_t i = 0; i < r.size(); i++) {
            double have = ((const float *)w->data)[i], err = std::fabs(have - r[i]);
            worst_w = std::max(worst_w, err / (1e-3 + std::fabs(r[i])));
            EXPECT_LE(err, 1e-5 * (1e-3 + std::fabs(r[i]))) << c.name << " " << p << "[" << i << "]";
        }
    }
    std::printf("[ %s ] max relative error vs torch: losses %.3g, weights %.3g\n", c.name, worst, worst_w);
    if (std::string(c.flags).find("--skip-nonfinite") != std::string::npos) {
        // batches 2 and 3 hold NaN / Inf: those steps are skipped, the log says so
        for (size_t s = 0; s < got.size(); s++) EXPECT_EQ(got[s].skipped, s == 1 || s == 2 ? 1 : 0) << "step " << s + 1;
        EXPECT_NE(out.find("skipped 2 of " + std::to_string(c.steps) + " optimizer steps"), std::string::npos) << out;
        const ot_tensor_t *n = nullptr;
        ASSERT_EQ(ot_training_session_get_state(ts, "onnxtrain.skipped_steps", &n), nullptr);
        EXPECT_EQ(*(const int64_t *)n->data, 2);
        ASSERT_EQ(ot_training_session_get_state(ts, "step", &n), nullptr);
        EXPECT_EQ(*(const int64_t *)n->data, c.steps - 2) << "skipped steps do not advance step (torch's GradScaler)";
    } else {
        for (const LogRow &r : got) EXPECT_EQ(r.skipped, -1) << "no skipped column without the guard";
    }
    ot_training_session_destroy(ts);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    for (const std::string &f : {train, ckpt, log}) std::remove(f.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Torch, ClipAccumTrain,
    ::testing::Values(
        Case{"clipnorm2_adamw", "--optimizer adamw --lr 0.01 --weight-decay 0.01 --clip-grad-norm 0.9", "data", 12},
        Case{"clipnorminf_adamw",
             "--optimizer adamw --lr 0.01 --weight-decay 0.01 --clip-grad-norm 0.25 --clip-norm-type inf", "data", 12},
        Case{"clipvalue_sgd", "--optimizer sgd --lr 0.05 --momentum 0.9 --clip-grad-value 0.02", "data", 12},
        Case{"accum4_adam", "--optimizer adam --lr 0.01 --accumulate 4", "data", 6},
        Case{"accum3_clipnorm_sgd", "--optimizer sgd --lr 0.1 --accumulate 3 --clip-grad-norm 0.55", "data", 6},
        Case{"groups_adamw", "--optimizer adamw --lr 0.01 --weight-decay 0.1 --no-decay-1d --lr-mult fc2=0.5", "data",
             12},
        Case{"guard_adam", "--optimizer adam --lr 0.01 --skip-nonfinite", "data_nonfinite", 8}),
    [](const ::testing::TestParamInfo<Case> &i) { return std::string(i.param.name); });

// ---- the ops ----------------------------------------------------------------------

// ClipGradNorm against torch.nn.utils.clip_grad_norm_ on four tensors of
// different shapes, for p = 2, 1, 3, inf, clipping and not clipping; the
// float64 path against the same (float32) oracle.
TEST(ClipGradNormOp, MatchesTorch) {
    const std::string path = kDir + "clip_grad_norm.npz";
    std::vector<ot_test::Tensor> g;
    for (int i = 0; i < 4; i++) {
        g.push_back(npz_member(path, "g" + std::to_string(i)));
        ASSERT_TRUE(g.back().present);
    }
    double worst[2] = {0, 0};
    for (const char *p : {"2", "1", "3", "inf"}) {
        for (int k = 0; k < 2; k++) {
            std::string key = std::string(p) + "_" + std::to_string(k);
            SCOPED_TRACE(key);
            float max_norm = npz_member(path, key + "_max_norm").vec<float>().at(0);
            float norm_type = std::string(p) == "inf" ? INFINITY : std::stof(p);
            for (bool f64 : {false, true}) {
                std::vector<ot_test::Tensor> in = g;
                if (f64)
                    for (ot_test::Tensor &t : in) {
                        std::vector<float> v = t.vec<float>();
                        t = ot_test::Tensor::of(OT_DTYPE_DOUBLE, t.dims, std::vector<double>(v.begin(), v.end()));
                    }
                ot_test::Node node("ClipGradNorm", 1, OT_DOMAIN);
                node.f("max_norm", max_norm).f("norm_type", norm_type);
                ot_test::Result r = ot_test::run_op(node, in, 4);
                ASSERT_EQ(r.error, "");
                for (int i = 0; i < 4; i++) {
                    std::vector<float> want = npz_member(path, key + "_g" + std::to_string(i)).vec<float>();
                    ASSERT_EQ(r.outputs[i].dims, g[i].dims);
                    for (size_t e = 0; e < want.size(); e++) {
                        double have = f64 ? r.outputs[i].as<double>()[e] : r.outputs[i].as<float>()[e];
                        // float: torch's float32 result to a few ulps; k = 1 (no clipping) exactly
                        double tol = k == 1 && !f64 ? 0 : 4e-7 * std::fabs(want[e]);
                        EXPECT_NEAR(have, want[e], tol) << (f64 ? "f64 " : "f32 ") << "g" << i << "[" << e << "]";
                        worst[f64] = std::max(worst[f64], std::fabs(have - want[e]) / std::fabs(want[e]));
                    }
                }
            }
        }
    }
    std::printf("[ ClipGradNorm ] max relative error vs torch: float32 %.3g, float64 %.3g\n", worst[0], worst[1]);
}

TEST(ClipGradNormOp, RefusesBadAttributesAndMixedTypes) {
    ot_test::Tensor a = ot_test::Tensor::f32({2}, {1, 2});
    ot_test::Tensor d = ot_test::Tensor::of(OT_DTYPE_DOUBLE, {2}, std::vector<double>{1, 2});
    ot_test::Node bad_p("ClipGradNorm", 1, OT_DOMAIN);
    bad_p.f("max_norm", 1).f("norm_type", 0);
    EXPECT_NE(ot_test::run_op(bad_p, {a}, 1).error.find("norm_type is 0; it must be > 0"), std::string::npos);
    ot_test::Node ok("ClipGradNorm", 1, OT_DOMAIN);
    ok.f("max_norm", 1);
    std::string mixed = ot_test::run_op(ok, {a, d}, 2).error;
    EXPECT_NE(mixed.find("input 1 is float64 but input 0 is float32"), std::string::npos) << mixed;
    EXPECT_NE(ot_test::run_op(ok, {a, a}, 1).error.find("2 inputs but 1 outputs"), std::string::npos);
}

// IsAllFinite as ONNX Runtime defines it, on float and double inputs.
TEST(IsAllFiniteOp, NanInfAndTheOnlyAttributes) {
    auto run = [](std::vector<ot_test::Tensor> in, int inf_only, int nan_only) {
        ot_test::Node node("IsAllFinite", 1, "com.microsoft");
        if (inf_only) node.i("isinf_only", 1);
        if (nan_only) node.i("isnan_only", 1);
        ot_test::Result r = ot_test::run_op(node, in, 1);
        EXPECT_EQ(r.error, "");
        EXPECT_TRUE(r.outputs.at(0).dims.empty()) << "a scalar";
        return r.error.empty() && r.outputs[0].as<bool>()[0];
    };
    // big enough for the parallel loop, with the bad element last
    std::vector<float> ok(70000, 1.5f), has_nan = ok, has_inf = ok;
    has_nan.back() = NAN;
    has_inf.back() = -INFINITY;
    ot_test::Tensor fine = ot_test::Tensor::f32({70000}, ok), nan = ot_test::Tensor::f32({70000}, has_nan),
                    inf = ot_test::Tensor::f32({70000}, has_inf);
    ot_test::Tensor dnan = ot_test::Tensor::of(OT_DTYPE_DOUBLE, {1}, std::vector<double>{NAN});
    ot_test::Tensor dbig = ot_test::Tensor::of(OT_DTYPE_DOUBLE, {1}, std::vector<double>{1e300});
    EXPECT_TRUE(run({fine, dbig}, 0, 0));
    EXPECT_FALSE(run({fine, nan}, 0, 0));
    EXPECT_FALSE(run({inf, fine}, 0, 0));
    EXPECT_FALSE(run({fine, dnan}, 0, 0));
    EXPECT_TRUE(run({nan}, 1, 0)) << "isinf_only ignores NaN";
    EXPECT_FALSE(run({inf}, 1, 0));
    EXPECT_TRUE(run({inf}, 0, 1)) << "isnan_only ignores Inf";
    EXPECT_FALSE(run({nan}, 0, 1));
    ot_test::Node both("IsAllFinite", 1, "com.microsoft");
    both.i("isinf_only", 1).i("isnan_only", 1);
    EXPECT_NE(ot_test::run_op(both, {fine}, 1).error.find("both set"), std::string::npos);
}

// ---- the guard, bit for bit -------------------------------------------------------

struct Prepared {
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr, *prepared = nullptr;
    ot_training_session_t *ts = nullptr;
    ~Prepared() {
        ot_training_session_destroy(ts);
        ot_model_destroy(prepared);
        ot_model_destroy(m);
        ot_registry_destroy(reg);
    }
};

ot_status_t *prepare(Prepared &p, const ot_prepare_options_t &o, const char *model = "mlp.onnx") {
    ot_status_t *st = ot_registry_create(&p.reg);
    if (!st) st = ot_model_load((kDir + model).c_str(), p.reg, nullptr, &p.m);
    if (!st) st = ot_model_prepare(p.m, &o, &p.prepared);
    if (!st) st = ot_training_session_create(p.prepared, &p.ts);
    return st;
}

std::vector<std::pair<std::string, std::string>> snapshot(const ot_training_session_t *ts) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < ot_training_session_num_state(ts); i++) {
        const char *name = nullptr;
        const ot_tensor_t *v = nullptr;
        EXPECT_EQ(ot_training_session_state_at(ts, i, &name, &v), nullptr);
        out.emplace_back(name, std::string((const char *)v->data, ot_tensor_nbytes(v)));
    }
    return out;
}

// A step on a NaN batch changes no weight, no optimizer state, not `step`
// and not `lr` (bit for bit), counts one skip; the next step trains.
TEST(NonFiniteGuard, SkippedStepChangesNothingButTheCounter) {
    Prepared p;
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "AdamW";
    o.lr = 0.01f;
    o.skip_nonfinite = true;
    o.clip_grad_norm = 1.0f; // the guard looks at the gradients before clipping
    ot_status_t *st = prepare(p, o);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ot_shape_t xs{2, {8, 16}}, ls{1, {8}};
    ot_tensor_t *x = nullptr, *labels = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &xs, &x), nullptr);
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT64, &ls, &labels), nullptr);
    for (int i = 0; i < 128; i++) ((float *)x->data)[i] = std::sin(0.37f * (float)i);
    for (int i = 0; i < 8; i++) ((int64_t *)labels->data)[i] = i % 5;
    const char *names[] = {"x", "labels"};
    const ot_tensor_t *vals[] = {x, labels};
    float loss = 0;
    auto full_step = [&]() {
        ASSERT_EQ(ot_training_session_train_step(p.ts, 2, names, vals, &loss), nullptr);
        ASSERT_EQ(ot_training_session_optimizer_step(p.ts), nullptr);
    };
    full_step(); // states now non-zero
    auto before = snapshot(p.ts);
    ((float *)x->data)[17] = NAN;
    full_step();
    auto after = snapshot(p.ts);
    ASSERT_EQ(before.size(), after.size());
    int compared = 0;
    for (size_t i = 0; i < before.size(); i++) {
        const std::string &name = before[i].first;
        bool grad = name.size() > 5 && name.compare(name.size() - 5, 5, ".grad") == 0;
        if (name == "onnxtrain.skipped_steps") {
            EXPECT_EQ(*(const int64_t *)after[i].second.data(), 1);
        } else if (!grad && name != "onnxtrain.grad_step") {
            EXPECT_EQ(before[i].second, after[i].second) << name << " changed on a skipped step";
            compared++;
        }
    }
    EXPECT_EQ(compared, 4 * 3 + 2) << "weights, exp_avg, exp_avg_sq, step, lr";
    ((float *)x->data)[17] = 0.5f;
    full_step();
    EXPECT_FALSE(std::isnan(loss)) << "the NaN gradients were not accumulated into the next step";
    const ot_tensor_t *step = nullptr, *w = nullptr, *skipped = nullptr;
    ASSERT_EQ(ot_training_session_get_state(p.ts, "step", &step), nullptr);
    ASSERT_EQ(ot_training_session_get_state(p.ts, "onnxtrain.skipped_steps", &skipped), nullptr);
    ASSERT_EQ(ot_training_session_get_state(p.ts, "fc1.weight", &w), nullptr);
    EXPECT_EQ(*(const int64_t *)step->data, 2);
    EXPECT_EQ(*(const int64_t *)skipped->data, 1);
    for (size_t i = 0; i < before.size(); i++)
        if (before[i].first == "fc1.weight")
            EXPECT_NE(std::memcmp(before[i].second.data(), w->data, before[i].second.size()), 0) << "trains again";
    ot_tensor_destroy(x);
    ot_tensor_destroy(labels);
}

// Without the new options the program is today's: no counter, no metadata;
// --accumulate is recorded for the trainer.
TEST(ClipPrepare, DefaultsAddNothingAndAccumulateIsMetadata) {
    Prepared plain, acc;
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "AdamW";
    ot_status_t *st = prepare(plain, o);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    const ot_tensor_t *t = nullptr;
    ot_status_t *missing = ot_training_session_get_state(plain.ts, "onnxtrain.skipped_steps", &t);
    EXPECT_NE(missing, nullptr);
    ot_status_free(missing);
    EXPECT_EQ(ot_model_metadata(plain.prepared, "onnxtrain.accumulate"), nullptr);
    o.accumulate = 4;
    st = prepare(acc, o);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ASSERT_NE(ot_model_metadata(acc.prepared, "onnxtrain.accumulate"), nullptr);
    EXPECT_STREQ(ot_model_metadata(acc.prepared, "onnxtrain.accumulate"), "4");
}

// With every optional part at once (schedule, clipping, groups, guard,
// accumulation, initialization), each graph of the written program is
// topologically sorted, as ONNX requires (parts add nodes feeding earlier
// ones; prepare sorts them).
TEST(ClipPrepare, AllPartsTogetherWriteSortedGraphs) {
    Prepared p;
    ot_prepare_options_t o{};
    o.loss = OT_LOSS_CROSS_ENTROPY;
    o.optimizer = "AdamW";
    o.lr = 0.01f;
    o.clip_grad_norm = 1;
    o.clip_grad_value = 0.5f;
    o.skip_nonfinite = true;
    o.accumulate = 2;
    o.no_decay_1d = true;
    const char *patterns[] = {"fc2"};
    const float mult[] = {0.5f};
    o.n_lr_mult = 1, o.lr_mult_patterns = patterns, o.lr_mult = mult;
    o.lr_schedule = "cosine";
    ot_attr_t t_max{};
    t_max.name = "T_max", t_max.type = OT_ATTR_INT, t_max.i = 10;
    o.n_lr_schedule_attrs = 1, o.lr_schedule_attrs = &t_max;
    o.init = "kaiming_uniform";
    ot_status_t *st = prepare(p, o);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    uint8_t *bytes = nullptr;
    size_t len = 0;
    ASSERT_EQ(ot_model_to_bytes(p.prepared, &bytes, &len), nullptr);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(nullptr, len, bytes);
    free(bytes);
    ASSERT_NE(mp, nullptr);
    ASSERT_EQ(mp->n_training_info, 2u);
    int graphs = 0;
    for (size_t t = 0; t < mp->n_training_info; t++)
        for (Onnx__GraphProto *g : {mp->training_info[t]->initialization, mp->training_info[t]->algorithm}) {
            if (!g) continue;
            graphs++;
            for (size_t i = 0; i < g->n_node; i++)
                for (size_t in = 0; in < g->node[i]->n_input; in++)
                    for (size_t j = i; j < g->n_node; j++)
                        for (size_t out = 0; out < g->node[j]->n_output; out++)
                            EXPECT_STRNE(g->node[i]->input[in], g->node[j]->output[out])
                                << g->name << ": node '" << g->node[i]->name << "' reads an output of node '"
                                << g->node[j]->name << "', which comes later";
        }
    EXPECT_EQ(graphs, 3); // [0] initialization and algorithm, [1] algorithm
    onnx__model_proto__free_unpacked(mp, nullptr);
}

// Clip by value on a model importing opset 10 (Clip-6, bounds as attributes)
// trains exactly as on opset 14 (Clip-11, bounds as inputs; that path is
// checked against torch above). MSE: opset 10 has no SoftmaxCrossEntropyLoss.
TEST(ClipPrepare, ClipValueAtOpset10MatchesOpset14) {
    std::vector<float> losses[2];
    for (int k = 0; k < 2; k++) {
        Prepared p;
        ot_attr_t momentum{};
        momentum.name = "momentum";
        momentum.type = OT_ATTR_FLOAT;
        momentum.f = 0.9f;
        ot_prepare_options_t o{};
        o.loss = OT_LOSS_MSE;
        o.optimizer = "SGD";
        o.lr = 0.05f;
        o.n_optimizer_attrs = 1;
        o.optimizer_attrs = &momentum;
        o.clip_grad_value = 0.02f;
        ot_status_t *st = prepare(p, o, k ? "mlp_opset10.onnx" : "mlp.onnx");
        ASSERT_EQ(st, nullptr) << ot_status_message(st);
        ot_test::Tensor x = npz_member(kDir + "data.npz", "x");
        ot_tensor_t xv = x.view();
        xv.shape.dims[0] = 8;
        ot_shape_t ys{2, {8, 5}};
        ot_tensor_t *y = nullptr;
        ASSERT_EQ(ot_tensor_create(OT_DTYPE_FLOAT, &ys, &y), nullptr);
        for (int i = 0; i < 40; i++) ((float *)y->data)[i] = 0.25f * (float)(i % 5) - 0.5f;
        const char *names[] = {"x", "labels"};
        const ot_tensor_t *vals[] = {&xv, y};
        for (int s = 0; s < 12; s++) {
            xv.data = x.bytes.data() + (size_t)(s % 8) * 8 * 16 * sizeof(float);
            float loss = 0;
            ASSERT_EQ(ot_training_session_train_step(p.ts, 2, names, vals, &loss), nullptr);
            ASSERT_EQ(ot_training_session_optimizer_step(p.ts), nullptr);
            losses[k].push_back(loss);
        }
        ot_tensor_destroy(y);
    }
    EXPECT_EQ(losses[0], losses[1]);
    EXPECT_LT(losses[0].back(), losses[0].front()) << "it trains";
}

// ---- refusals ----------------------------------------------------------------------

struct Refusal {
    const char *flags, *message;
};

class ClipPrepareRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(ClipPrepareRefuses, NamingTheFlag) {
    const Refusal &c = GetParam();
    std::string out_path = ::testing::TempDir() + "ot_clip_refused.onnx";
    int status = 0;
    std::string out = run_cli("prepare " + kDir + "mlp.onnx -o " + out_path + " --loss cross_entropy " +
                                  "--optimizer adamw " + c.flags,
                              &status);
    EXPECT_NE(status, 0) << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << out;
    std::remove(out_path.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Flags, ClipPrepareRefuses,
    ::testing::Values(Refusal{"--clip-grad-norm -1", "--clip-grad-norm: bad value '-1'"},
                      Refusal{"--clip-grad-norm 1 --clip-norm-type 0", "--clip-norm-type: bad value '0'"},
                      Refusal{"--clip-norm-type 2", "--clip-norm-type needs --clip-grad-norm"},
                      Refusal{"--clip-grad-value nan", "--clip-grad-value: bad value 'nan'"},
                      Refusal{"--accumulate 0", "--accumulate: bad value '0'"},
                      Refusal{"--no-decay fc3", "--no-decay: 'fc3' matches no trainable parameter"},
                      Refusal{"--lr-mult fc2", "--lr-mult: bad value 'fc2' (PATTERN=X)"},
                      Refusal{"--lr-mult fc2=-1", "--lr-mult: bad value '-1'"},
                      Refusal{"--lr-mult conv=2", "--lr-mult: 'conv' matches no trainable parameter"}));

} // namespace
