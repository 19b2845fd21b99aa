// tests/test_lr_schedule.cc: ai.onnxtrain::LRSchedule and `prepare
// --lr-schedule` against torch.optim.lr_scheduler itself
// (tools/fixtures/gen_lr_schedules.py -> tests/fixtures/lr_schedule):
//  - the op, run by a session over steps 0..999, against get_last_lr() of
//    the torch scheduler after as many scheduler.step() calls (1e-6 relative);
//  - `prepare --lr-schedule warmup_cosine` -> `train --log`: losses (1e-4)
//    and the lr column (1e-6) against torch training the same MLP with the
//    same schedule, `train --lr` as the base rate, and a checkpoint going on
//    with the schedule;
//  - refusals: bad attributes at load time, bad flags in the CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "model_builder.h"
#include "onnxtrain/onnxtrain.h"

namespace {

using ot_test::PbModel;

const std::string kDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/lr_schedule/";
const std::string kPrepareDir = std::string(OT_SOURCE_DIR) + "/tests/fixtures/prepare/";

struct Attr {
    std::string type, name, value;
};

// One fixture case (format: tools/fixtures/gen_lr_schedules.py).
struct Case {
    std::string schedule;
    double base_lr = 0;
    std::vector<Attr> attrs;
    std::vector<double> lr;
};

Case read_case(const std::string &name) {
    Case c;
    std::ifstream f(kDir + name + ".txt");
    std::string line;
    bool values = false;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        if (values) {
            c.lr.push_back(std::stod(line));
            continue;
        }
        std::string key;
        in >> key;
        if (key == "schedule") in >> c.schedule;
        else if (key == "base_lr") in >> c.base_lr;
        else if (key == "lr") values = true;
        else {
            Attr a{key, "", ""};
            in >> a.name >> a.value;
            c.attrs.push_back(a);
        }
    }
    return c;
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    std::ifstream f(kDir + "index.txt");
    std::string line;
    while (std::getline(f, line))
        if (!line.empty()) names.push_back(line);
    return names;
}

// lr = LRSchedule(base_lr, step), both scalar graph inputs.
std::string schedule_model(const std::string &schedule, const std::vector<Attr> &attrs,
                           ot_dtype_t dtype = OT_DTYPE_FLOAT) {
    PbModel pb(8, 17);
    pb.add_opset("ai.onnxtrain", 1);
    pb.input("base_lr", dtype, {});
    pb.input("step", OT_DTYPE_INT64, {});
    pb.output("lr", dtype, {});
    Onnx__NodeProto *n = pb.node("LRSchedule", {"base_lr", "step"}, {"lr"}, "sched");
    n->domain = pb.str("ai.onnxtrain");
    std::vector<Attr> all = attrs;
    all.insert(all.begin(), Attr{"string", "schedule", schedule});
    for (const Attr &a : all) {
        if (a.type == "int") {
            pb.attr_int(n, a.name, std::stoll(a.value));
        } else if (a.type == "float") {
            pb.attr_float(n, a.name, std::stof(a.value));
        } else if (a.type == "ints") {
            std::vector<int64_t> v;
            std::stringstream in(a.value);
            for (std::string item; std::getline(in, item, ',');) v.push_back(std::stoll(item));
            pb.attr_ints(n, a.name, v);
        } else {
            Onnx__AttributeProto *s = pb.attr(n, a.name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
            s->has_s = 1;
            s->s = pb.bin(a.value);
        }
    }
    return pb.bytes();
}

// |got - want| / |want|; a zero rate must be exactly zero.
double rel_err(double got, double want) {
    if (want == 0) return got == 0 ? 0 : INFINITY;
    return std::fabs(got - want) / std::fabs(want);
}

// The worst relative error of the op over steps 0..999 against the case's
// torch rates, with base_lr (and lr) of `dtype`; *at: its step.
double worst_error(const Case &c, ot_dtype_t dtype, int64_t *at) {
    ot_test::Loaded m = ot_test::load_bytes(schedule_model(c.schedule, c.attrs, dtype));
    EXPECT_EQ(m.st, nullptr) << m.msg();
    ot_session_t *s = nullptr;
    ot_status_t *st = m.st ? nullptr : ot_session_create(m.m, &s);
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    if (!s) return INFINITY;
    float base_f = (float)c.base_lr;
    double base_d = c.base_lr;
    int64_t step = 0;
    ot_tensor_t base_t = {dtype, {0, {0}}, dtype == OT_DTYPE_FLOAT ? (void *)&base_f : (void *)&base_d};
    ot_tensor_t step_t = {OT_DTYPE_INT64, {0, {0}}, &step};
    const ot_tensor_t *in[] = {&base_t, &step_t};
    double worst = 0;
    for (step = 0; step < (int64_t)c.lr.size() && !st; step++) {
        const ot_tensor_t *out = nullptr;
        if ((st = ot_session_run_borrowed(s, in, &out))) break;
        double got = dtype == OT_DTYPE_FLOAT ? *(const float *)out->data : *(const double *)out->data;
        double e = rel_err(got, c.lr[(size_t)step]);
        if (!(e <= worst)) worst = e, *at = step;
    }
    EXPECT_EQ(st, nullptr) << ot_status_message(st);
    ot_status_free(st);
    ot_session_destroy(s);
    return worst;
}

class LRScheduleTorch : public ::testing::TestWithParam<std::string> {};

// float32 (as prepare writes it): torch's rate rounded to float, 1e-6 asked;
// float64: the closed forms against torch's step-by-step products.
TEST_P(LRScheduleTorch, MatchesTorchSchedulerOver1000Steps) {
    Case c = read_case(GetParam());
    ASSERT_EQ(c.lr.size(), 1000u) << GetParam();
    int64_t at_f = 0, at_d = 0;
    double worst_f = worst_error(c, OT_DTYPE_FLOAT, &at_f), worst_d = worst_error(c, OT_DTYPE_DOUBLE, &at_d);
    std::printf("[ lr ] %-30s max relative error vs torch, 1000 steps: float %.3g (step %lld), "
                "double %.3g (step %lld)\n",
                GetParam().c_str(), worst_f, (long long)at_f, worst_d, (long long)at_d);
    EXPECT_LE(worst_f, 1e-6) << GetParam() << ": float, worst at step " << at_f << ", torch " << c.lr[(size_t)at_f];
    EXPECT_LE(worst_d, 1e-12) << GetParam() << ": double, worst at step " << at_d << ", torch " << c.lr[(size_t)at_d];
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LRScheduleTorch, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });

TEST(LRSchedule, FixturesAreThere) { EXPECT_GE(case_names().size(), 10u) << "tests/fixtures/lr_schedule/index.txt"; }

// Bad attributes are refused when the model loads, naming node and attribute.
TEST(LRSchedule, RefusesBadAttributesAtLoad) {
    struct Bad {
        std::string schedule;
        std::vector<Attr> attrs;
        std::string message;
    } bad[] = {
        {"cosin", {}, "unknown schedule 'cosin'"},
        {"cosine", {}, "needs attribute 'T_max'"},
        {"cosine", {{"int", "T_max", "10"}, {"float", "gamma", "0.5"}}, "attribute 'gamma' does not apply"},
        {"warmup_linear", {{"int", "warmup_steps", "100"}, {"int", "total_steps", "100"}},
         "'total_steps' = 100 must be > warmup_steps = 100"},
        {"one_cycle", {{"int", "total_steps", "10"}, {"float", "pct_start", "0.1"}}, "phase 1 of the cycle empty"},
        {"one_cycle", {{"int", "total_steps", "10"}, {"string", "anneal_strategy", "cosine"}}, "'anneal_strategy'"},
        {"step", {{"int", "step_size", "0"}}, "'step_size' = 0 must be >= 1"},
        {"multistep", {{"ints", "milestones", "5,-1"}}, "'milestones'[1] = -1 is negative"},
        {"cosine_warm_restarts", {{"int", "T_0", "5"}, {"int", "T_mult", "0"}}, "'T_mult' = 0 must be >= 1"},
        {"step", {{"float", "step_size", "3"}}, "step_size"},
    };
    for (const Bad &b : bad) {
        ot_test::Loaded m = ot_test::load_bytes(schedule_model(b.schedule, b.attrs));
        ASSERT_NE(m.st, nullptr) << b.message;
        EXPECT_NE(m.msg().find("'sched'"), std::string::npos) << m.msg();
        EXPECT_NE(m.msg().find(b.message), std::string::npos) << m.msg();
    }
}

const char *kScheduleFlags = " --loss cross_entropy --optimizer sgd --lr 0.05 --momentum 0.9"
                             " --lr-schedule warmup_cosine --warmup-steps 5 --total-steps 15";

// prepare -> train: the rate each update used and the losses follow torch's
// SGD + LambdaLR(warmup cosine) on the same MLP and batches; `train --lr`
// sets the base rate, so the schedule scales with it.
TEST(LRScheduleCli, PrepareTrainFollowsTorch) {
    std::string tmp = ::testing::TempDir() + "ot_lr_schedule";
    std::string model = tmp + "_train.onnx", log = tmp + ".csv", log2 = tmp + "_base.csv";
    int status = -1;
    std::string out = run_cli("prepare " + kPrepareDir + "mlp.onnx -o " + model + kScheduleFlags, &status);
    ASSERT_EQ(status, 0) << out;
    const std::string data = " --data " + kPrepareDir + "mlp_data.npz --batch-size 8 --steps 20 --no-shuffle --log ";
    out = run_cli("train " + model + data + log, &status);
    ASSERT_EQ(status, 0) << out;
    std::vector<std::vector<double>> got = read_csv(log), want = read_csv(kDir + "mlp_warmup_cosine.txt");
    ASSERT_EQ(got.size(), 20u);
    ASSERT_EQ(want.size(), 20u);
    double worst_lr = 0, worst_loss = 0;
    for (size_t s = 0; s < 20; s++) {
        ASSERT_EQ(got[s].size(), 3u);
        worst_lr = std::max(worst_lr, rel_err(got[s][2], want[s][2]));
        worst_loss = std::max(worst_loss, rel_err(got[s][1], want[s][1]));
    }
    std::printf("[ lr ] train --log vs torch: lr max relative error %.3g, loss %.3g\n", worst_lr, worst_loss);
    EXPECT_LE(worst_lr, 1e-6);
    EXPECT_LE(worst_loss, 1e-4);

    // --lr 0.1 is the base rate: the warmup-cosine rate doubles at every step
    out = run_cli("train " + model + data + log2 + " --lr 0.1", &status);
    ASSERT_EQ(status, 0) << out;
    got = read_csv(log2);
    ASSERT_EQ(got.size(), 20u);
    for (size_t s = 0; s < 20; s++) EXPECT_LE(rel_err(got[s][2], 2 * want[s][2]), 1e-6) << "step " << s + 1;

    // a checkpoint carries the schedule on: 8 steps, then 12 more from it
    std::string ckpt = tmp + "_ckpt.onnx", log3 = tmp + "_resumed.csv";
    const std::string short_run = " --data " + kPrepareDir + "mlp_data.npz --batch-size 8 --no-shuffle";
    out = run_cli("train " + model + short_run + " --steps 8 --checkpoint " + ckpt, &status);
    ASSERT_EQ(status, 0) << out;
    out = run_cli("train " + ckpt + short_run + " --steps 12 --log " + log3, &status);
    ASSERT_EQ(status, 0) << out;
    got = read_csv(log3);
    ASSERT_EQ(got.size(), 12u);
    for (size_t s = 0; s < 12; s++) EXPECT_LE(rel_err(got[s][2], want[8 + s][2]), 1e-6) << "step " << 9 + s;
    for (const std::string &f : {model, log, log2, ckpt, log3}) std::remove(f.c_str());
}

// The session keeps 'lr' = schedule(lr.base, step) when the base rate is set
// mid-training, and the written model has the documented state.
TEST(LRScheduleCli, SetLrMovesTheBaseRate) {
    std::string model = ::testing::TempDir() + "ot_lr_schedule_set_lr.onnx";
    int status = -1;
    std::string out = run_cli("prepare " + kPrepareDir + "mlp.onnx -o " + model + kScheduleFlags, &status);
    ASSERT_EQ(status, 0) << out;
    std::vector<std::vector<double>> want = read_csv(kDir + "mlp_warmup_cosine.txt");
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ot_training_session_t *ts = nullptr;
    ot_status_t *st = ot_registry_create(&reg);
    if (!st) st = ot_model_load(model.c_str(), reg, nullptr, &m);
    if (!st) st = ot_training_session_create(m, &ts);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    float lr = -1;
    ASSERT_EQ(ot_training_session_get_lr(ts, &lr), nullptr);
    EXPECT_EQ(lr, 0.0f) << "warmup starts at 0";
    const ot_tensor_t *base = nullptr, *step = nullptr;
    ASSERT_EQ(ot_training_session_get_state(ts, "lr.base", &base), nullptr);
    EXPECT_FLOAT_EQ(*(const float *)base->data, 0.05f);
    // as if 7 updates were done: the next one uses schedule(7) of the new base
    ASSERT_EQ(ot_training_session_get_state(ts, "step", &step), nullptr);
    int64_t seven = 7;
    ot_tensor_t step_t = {OT_DTYPE_INT64, {0, {0}}, &seven};
    ASSERT_EQ(ot_training_session_set_state(ts, "step", &step_t), nullptr);
    ASSERT_EQ(ot_training_session_set_lr(ts, 0.2f), nullptr);
    ASSERT_EQ(ot_training_session_get_lr(ts, &lr), nullptr);
    EXPECT_LE(rel_err(lr, 4 * want[7][2]), 1e-6) << lr;
    EXPECT_FLOAT_EQ(*(const float *)base->data, 0.2f);
    ot_training_session_destroy(ts);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    std::remove(model.c_str());
}

TEST(LRScheduleCli, RefusesBadFlags) {
    std::string model = ::testing::TempDir() + "ot_lr_schedule_bad.onnx";
    const std::string base =
        "prepare " + kPrepareDir + "mlp.onnx -o " + model + " --loss cross_entropy --optimizer sgd --lr 0.1";
    struct Bad {
        std::string flags, message;
    } bad[] = {
        {" --lr-schedule cosin --t-max 10", "unknown schedule 'cosin'"},
        {" --lr-schedule cosine", "needs attribute 'T_max'"},
        {" --lr-schedule warmup_linear --warmup-steps 10", "needs attribute 'total_steps'"},
        {" --warmup-steps 10 --total-steps 20", "--warmup-steps is a learning-rate schedule flag"},
        {" --lr-schedule cosine --t-max 10 --gamma 0.5", "attribute 'gamma' does not apply to schedule 'cosine'"},
        {" --lr-schedule multistep --milestones 10,x", "--milestones: bad value '10,x'"},
        {" --lr-schedule one_cycle --total-steps 100 --max-lr 0.5", "--lr 0.1 differs"},
    };
    for (const Bad &b : bad) {
        int status = 0;
        std::string out = run_cli(base + b.flags, &status);
        EXPECT_NE(status, 0) << b.flags;
        EXPECT_NE(out.find(b.message), std::string::npos) << b.flags << "\n" << out;
    }
    std::remove(model.c_str());
}

} // namespace
