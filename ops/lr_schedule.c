/* ops/lr_schedule.c: ai.onnxtrain::LRSchedule, the learning rate after
 * `step` scheduler steps, for the schedules of torch.optim.lr_scheduler
 * (torch 1.13) and the two warmup schedules of Hugging Face transformers.
 *
 *   inputs:  base_lr (float or double scalar), step (int64 scalar, >= 0)
 *   output:  lr (base_lr's type): torch's get_last_lr() after `step` calls
 *            of scheduler.step() on an optimizer whose lr is base_lr
 *   attribute `schedule` and that schedule's own (torch's names; t = step):
 *   constant             factor 1/3, total_iters 5 (ConstantLR):
 *                        base * factor while t < total_iters, then base
 *   step                 step_size (required), gamma 0.1 (StepLR):
 *                        base * gamma^floor(t / step_size)
 *   multistep            milestones (required), gamma 0.1 (MultiStepLR):
 *                        base * gamma^(number of milestones <= t)
 *   exponential          gamma (required) (ExponentialLR): base * gamma^t
 *   cosine               T_max (required), eta_min 0 (CosineAnnealingLR's
 *                        closed form): eta_min + (base - eta_min) * (1 + cos(pi t / T_max)) / 2
 *   cosine_warm_restarts T_0 (required), T_mult 1, eta_min 0
 *                        (CosineAnnealingWarmRestarts): the cosine above over
 *                        cycles of T_0, T_0 T_mult, T_0 T_mult^2 ... steps
 *   warmup_linear        warmup_steps 0, total_steps (required): base * t / warmup_steps
 *                        while t < warmup_steps, then base * (total - t) / (total - warmup),
 *                        0 from total_steps on (transformers'
 *                        get_linear_schedule_with_warmup)
 *   warmup_cosine        the same warmup, then base * (1 + cos(pi p)) / 2 with
 *                        p = (t - warmup) / (total - warmup), 0 from total_steps
 *                        on (get_cosine_schedule_with_warmup, whose cosine
 *                        would rise again after total_steps)
 *   one_cycle            total_steps (required), max_lr (default: base_lr),
 *                        pct_start 0.3, anneal_strategy "cos", div_factor 25,
 *                        final_div_factor 1e4, three_phase 0 (OneCycleLR;
 *                        momentum is not cycled): after total_steps, where
 *                        torch raises, the rate stays at its minimum
 *   polynomial           total_iters 5, power 1 (PolynomialLR):
 *                        base * (1 - min(t, total_iters) / total_iters)^power
 *
 * Computed in double from the closed forms; float inputs and attributes are
 * widened to the decimal a user wrote (ot_optim_widen, as the optimizers
 * read lr), so a float32 0.99 raised to the 1000th power is still torch's.
 * torch's chainable schedulers multiply step by step instead, which differs
 * from the closed form only by rounding (tests/test_lr_schedule.cc measures
 * it against torch itself over 1000 steps).
 *
 * Attributes are checked at load time (shape inference): an unknown
 * schedule, a missing required attribute, one the schedule does not take,
 * or a value torch refuses or divides by zero with. */
#include "ops/lr_schedule.h"
#include "ops/op_util.h"
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef enum {
    LR_CONSTANT,
    LR_STEP,
    LR_MULTISTEP,
    LR_EXPONENTIAL,
    LR_COSINE,
    LR_COSINE_WARM_RESTARTS,
    LR_WARMUP_LINEAR,
    LR_WARMUP_COSINE,
    LR_ONE_CYCLE,
    LR_POLYNOMIAL,
    LR_KIND_COUNT
} lr_kind_t;

/* Per schedule: the attributes it takes and those it needs (space-separated). */
static const struct {
    const char *name, *takes, *needs;
} kSchedules[LR_KIND_COUNT] = {
    [LR_CONSTANT] = {"constant", "factor total_iters", ""},
    [LR_STEP] = {"step", "step_size gamma", "step_size"},
    [LR_MULTISTEP] = {"multistep", "milestones gamma", "milestones"},
    [LR_EXPONENTIAL] = {"exponential", "gamma", "gamma"},
    [LR_COSINE] = {"cosine", "T_max eta_min", "T_max"},
    [LR_COSINE_WARM_RESTARTS] = {"cosine_warm_restarts", "T_0 T_mult eta_min", "T_0"},
    [LR_WARMUP_LINEAR] = {"warmup_linear", "warmup_steps total_steps", "total_steps"},
    [LR_WARMUP_COSINE] = {"warmup_cosine", "warmup_steps total_steps", "total_steps"},
    [LR_ONE_CYCLE] = {"one_cycle",
                      "total_steps max_lr pct_start anneal_strategy div_factor final_div_factor three_phase",
                      "total_steps"},
    [LR_POLYNOMIAL] = {"polynomial", "total_iters power", ""},
};

static const ot_attr_spec_t lr_attrs[] = {
    {"schedule", OT_ATTR_STRING, true},     {"factor", OT_ATTR_FLOAT, false},
    {"total_iters", OT_ATTR_INT, false},    {"step_size", OT_ATTR_INT, false},
    {"gamma", OT_ATTR_FLOAT, false},        {"milestones", OT_ATTR_INTS, false},
    {"T_max", OT_ATTR_INT, false},          {"eta_min", OT_ATTR_FLOAT, false},
    {"T_0", OT_ATTR_INT, false},            {"T_mult", OT_ATTR_INT, false},
    {"warmup_steps", OT_ATTR_INT, false},   {"total_steps", OT_ATTR_INT, false},
    {"max_lr", OT_ATTR_FLOAT, false},       {"pct_start", OT_ATTR_FLOAT, false},
    {"anneal_strategy", OT_ATTR_STRING, false}, {"div_factor", OT_ATTR_FLOAT, false},
    {"final_div_factor", OT_ATTR_FLOAT, false}, {"three_phase", OT_ATTR_INT, false},
    {"power", OT_ATTR_FLOAT, false},        {NULL, OT_ATTR_UNDEFINED, false},
};

static const double kPi = 3.14159265358979323846;

/* A node's schedule, parsed and checked once. */
typedef struct lr_sched {
    lr_kind_t kind;
    double factor, gamma, eta_min, max_lr, pct_start, div_factor, final_div_factor, power;
    int64_t total_iters, step_size, T_max, T_0, T_mult, warmup_steps, total_steps;
    int64_t n_milestones;
    const int64_t *milestones; /* the node's attribute: lives as long as the node */
    bool has_max_lr, anneal_cos, three_phase;
    int n_phases;              /* one_cycle: torch's phase end steps */
    double phase_end[3];
    float base_last;           /* widening cache of the float base rate */
    double base_wide;
} lr_sched_t;

/* `name` is a word of the space-separated `list`. */
static bool listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return true;
    return false;
}

#define BAD(...) OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, __VA_ARGS__)

static ot_status_t *parse(const ot_node_info_t *node, lr_sched_t *s) {
    memset(s, 0, sizeof *s);
    const char *name = ot_attr_string(node, "schedule", NULL);
    if (!name) return BAD("attribute 'schedule' is required");
    int kind = 0;
    while (kind < LR_KIND_COUNT && strcmp(kSchedules[kind].name, name)) kind++;
    if (kind == LR_KIND_COUNT)
        return BAD("attribute 'schedule': unknown schedule '%s' (constant, step, multistep, exponential, cosine, "
                   "cosine_warm_restarts, warmup_linear, warmup_cosine, one_cycle, polynomial)",
                   name);
    s->kind = (lr_kind_t)kind;
    /* every attribute is one this schedule takes, of the schema's type (the
     * validator checks types, but prepare evaluates before validating) */
    for (int a = 0; a < node->n_attrs; a++) {
        const ot_attr_t *at = &node->attrs[a];
        const ot_attr_spec_t *spec = lr_attrs;
        while (spec->name && strcmp(spec->name, at->name)) spec++;
        if (strcmp(at->name, "schedule") && (!spec->name || !listed(kSchedules[kind].takes, at->name)))
            return BAD("attribute '%s' does not apply to schedule '%s' (it takes: %s)", at->name, name,
                       *kSchedules[kind].takes ? kSchedules[kind].takes : "nothing");
        if (at->type != spec->type) return BAD("attribute '%s' has the wrong type", at->name);
    }
    for (const ot_attr_spec_t *spec = lr_attrs; spec->name; spec++)
        if (listed(kSchedules[kind].needs, spec->name) && !ot_node_attr(node, spec->name))
            return BAD("schedule '%s' needs attribute '%s'", name, spec->name);

    s->factor = ot_optim_attr(node, "factor", 1.0 / 3);
    s->gamma = ot_optim_attr(node, "gamma", 0.1);
    s->eta_min = ot_optim_attr(node, "eta_min", 0);
    s->max_lr = ot_optim_attr(node, "max_lr", 0);
    s->has_max_lr = ot_node_attr(node, "max_lr") != NULL;
    s->pct_start = ot_optim_attr(node, "pct_start", 0.3);
    s->div_factor = ot_optim_attr(node, "div_factor", 25);
    s->final_div_factor = ot_optim_attr(node, "final_div_factor", 1e4);
    s->power = ot_optim_attr(node, "power", 1);
    s->total_iters = ot_attr_int(node, "total_iters", 5);
    s->step_size = ot_attr_int(node, "step_size", 0);
    s->T_max = ot_attr_int(node, "T_max", 0);
    s->T_0 = ot_attr_int(node, "T_0", 0);
    s->T_mult = ot_attr_int(node, "T_mult", 1);
    s->warmup_steps = ot_attr_int(node, "warmup_steps", 0);
    s->total_steps = ot_attr_int(node, "total_steps", 0);
    s->n_milestones = ot_attr_ints(node, "milestones", &s->milestones);
    s->three_phase = ot_attr_int(node, "three_phase", 0) != 0;
    const char *anneal = ot_attr_string(node, "anneal_strategy", "cos");
    s->anneal_cos = !strcmp(anneal, "cos");

    switch (s->kind) {
    case LR_CONSTANT:
        if (!(s->factor > 0 && s->factor <= 1)) return BAD("attribute 'factor' = %g must be in (0, 1]", s->factor);
        if (s->total_iters < 1) return BAD("attribute 'total_iters' = %lld must be >= 1", (long long)s->total_iters);
        break;
    case LR_STEP:
        if (s->step_size < 1) return BAD("attribute 'step_size' = %lld must be >= 1", (long long)s->step_size);
        break;
    case LR_MULTISTEP:
        for (int64_t i = 0; i < s->n_milestones; i++)
            if (s->milestones[i] < 0)
                return BAD("attribute 'milestones'[%lld] = %lld is negative", (long long)i,
                           (long long)s->milestones[i]);
        break;
    case LR_COSINE:
        if (s->T_max < 1) return BAD("attribute 'T_max' = %lld must be >= 1", (long long)s->T_max);
        break;
    case LR_COSINE_WARM_RESTARTS:
        if (s->T_0 < 1) return BAD("attribute 'T_0' = %lld must be >= 1", (long long)s->T_0);
        if (s->T_mult < 1) return BAD("attribute 'T_mult' = %lld must be >= 1", (long long)s->T_mult);
        break;
    case LR_WARMUP_LINEAR:
    case LR_WARMUP_COSINE:
        if (s->warmup_steps < 0) return BAD("attribute 'warmup_steps' = %lld is negative", (long long)s->warmup_steps);
        if (s->total_steps <= s->warmup_steps)
            return BAD("attribute 'total_steps' = %lld must be > warmup_steps = %lld", (long long)s->total_steps,
                       (long long)s->warmup_steps);
        break;
    case LR_ONE_CYCLE: {
        if (s->total_steps < 1) return BAD("attribute 'total_steps' = %lld must be >= 1", (long long)s->total_steps);
        if (!(s->pct_start >= 0 && s->pct_start <= 1))
            return BAD("attribute 'pct_start' = %g must be in [0, 1]", s->pct_start);
        if (!s->anneal_cos && strcmp(anneal, "linear"))
            return BAD("attribute 'anneal_strategy' = '%s' must be 'cos' or 'linear'", anneal);
        if (!(s->div_factor > 0) || !(s->final_div_factor > 0))
            return BAD("attributes 'div_factor' and 'final_div_factor' must be positive");
        if (s->has_max_lr && !(s->max_lr > 0)) return BAD("attribute 'max_lr' = %g must be positive", s->max_lr);
        double n = (double)s->total_steps;
        s->n_phases = s->three_phase ? 3 : 2;
        s->phase_end[0] = s->pct_start * n - 1;
        if (s->three_phase) s->phase_end[1] = 2 * s->pct_start * n - 2;
        s->phase_end[s->n_phases - 1] = n - 1;
        /* torch divides by a phase's length: an empty one fails there */
        for (int i = 0; i < s->n_phases; i++)
            if (s->phase_end[i] == (i ? s->phase_end[i - 1] : 0))
                return BAD("attributes 'pct_start' = %g and 'total_steps' = %lld leave phase %d of the cycle empty",
                           s->pct_start, (long long)s->total_steps, i + 1);
        break;
    }
    case LR_POLYNOMIAL:
        if (s->total_iters < 1) return BAD("attribute 'total_iters' = %lld must be >= 1", (long long)s->total_iters);
        if (!(s->power >= 0)) return BAD("attribute 'power' = %g must be >= 0", s->power);
        break;
    default:
        break;
    }
    if ((s->kind == LR_STEP || s->kind == LR_MULTISTEP || s->kind == LR_EXPONENTIAL) && !(s->gamma > 0))
        return BAD("attribute 'gamma' = %g must be positive", s->gamma);
    if (!isfinite(s->eta_min) || s->eta_min < 0) return BAD("attribute 'eta_min' = %g must be >= 0", s->eta_min);
    return NULL;
}

#undef BAD

static double cosine(double lo, double hi, double t, double period) {
    return lo + (hi - lo) * (1 + cos(kPi * t / period)) / 2;
}

/* OneCycleLR._annealing_cos / _annealing_linear */
static double anneal(const lr_sched_t *s, double start, double end, double pct) {
    return s->anneal_cos ? end + (start - end) / 2.0 * (cos(kPi * pct) + 1) : (end - start) * pct + start;
}

static double one_cycle(const lr_sched_t *s, double base, int64_t t) {
    double max_lr = s->has_max_lr ? s->max_lr : base;
    double initial = max_lr / s->div_factor, min_lr = initial / s->final_div_factor;
    if (t > s->total_steps) return min_lr;
    double from[3] = {initial, max_lr, s->three_phase ? initial : max_lr};
    double to[3] = {max_lr, s->three_phase ? initial : min_lr, min_lr};
    double start = 0;
    for (int i = 0;; i++) {
        double end = s->phase_end[i];
        if ((double)t <= end || i == s->n_phases - 1)
            return anneal(s, from[i], to[i], ((double)t - start) / (end - start));
        start = end;
    }
}

/* CosineAnnealingWarmRestarts: the position in the current cycle and its length. */
static double warm_restarts(const lr_sched_t *s, double base, int64_t t) {
    int64_t cycle = s->T_0;
    if (s->T_mult == 1) return cosine(s->eta_min, base, (double)(t % cycle), (double)cycle);
    while (t >= cycle) {
        t -= cycle;
        if (cycle > INT64_MAX / s->T_mult) /* the next cycle holds every int64 step */
            return cosine(s->eta_min, base, (double)t, (double)cycle * (double)s->T_mult);
        cycle *= s->T_mult;
    }
    return cosine(s->eta_min, base, (double)t, (double)cycle);
}

static double warmup(const lr_sched_t *s, double base, int64_t t) {
    int64_t w = s->warmup_steps, n = s->total_steps;
    if (t < w) return base * ((double)t / (double)(w > 1 ? w : 1));
    if (t >= n) return 0;
    double span = (double)(n - w > 1 ? n - w : 1);
    if (s->kind == LR_WARMUP_LINEAR) return base * ((double)(n - t) / span);
    return base * (0.5 * (1.0 + cos(kPi * ((double)(t - w) / span))));
}

static double sched_lr(const lr_sched_t *s, double base, int64_t t) {
    switch (s->kind) {
    case LR_CONSTANT: return t < s->total_iters ? base * s->factor : base;
    case LR_STEP: return base * pow(s->gamma, (double)(t / s->step_size));
    case LR_MULTISTEP: {
        int64_t passed = 0;
        for (int64_t i = 0; i < s->n_milestones; i++) passed += s->milestones[i] <= t;
        return base * pow(s->gamma, (double)passed);
    }
    case LR_EXPONENTIAL: return base * pow(s->gamma, (double)t);
    case LR_COSINE: return cosine(s->eta_min, base, (double)t, (double)s->T_max);
    case LR_COSINE_WARM_RESTARTS: return warm_restarts(s, base, t);
    case LR_WARMUP_LINEAR:
    case LR_WARMUP_COSINE: return warmup(s, base, t);
    case LR_ONE_CYCLE: return one_cycle(s, base, t);
    case LR_POLYNOMIAL: {
        int64_t t_end = t < s->total_iters ? t : s->total_iters;
        return base * pow(1.0 - (double)t_end / (double)s->total_iters, s->power);
    }
    default: break;
    }
    OT_ASSERT(0 && "parse() accepts only known schedules");
    return 0;
}

ot_status_t *ot_lr_schedule_eval(const ot_node_info_t *node, float base_lr, int64_t step, double *lr) {
    lr_sched_t s;
    ot_status_t *st = parse(node, &s);
    if (st) return st;
    if (step < 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_ARGUMENT, "step %lld is negative", (long long)step);
    *lr = sched_lr(&s, ot_optim_widen(base_lr), step);
    return NULL;
}

/* ---- the op ---------------------------------------------------------------- */

static ot_status_t *lr_infer(ot_infer_ctx_t *ctx) {
    lr_sched_t s;
    ot_status_t *st = parse(ctx->node, &s);
    if (st) return st;
    const ot_tensor_t *base = ctx->inputs[0], *step = ctx->inputs[1];
    if (base->dtype != OT_DTYPE_FLOAT && base->dtype != OT_DTYPE_DOUBLE)
        return OT_INFER_ERROR(ctx, "base_lr must be float or double, not %s", ot_dtype_name(base->dtype));
    if (step->dtype != OT_DTYPE_INT64)
        return OT_INFER_ERROR(ctx, "step must be int64, not %s", ot_dtype_name(step->dtype));
    for (int i = 0; i < 2; i++) {
        int64_t n = ot_shape_numel(&ctx->inputs[i]->shape);
        if (n >= 0 && n != 1) return OT_INFER_ERROR(ctx, "%s must be a scalar", i ? "step" : "base_lr");
    }
    ctx->outputs[0]->dtype = base->dtype;
    ctx->outputs[0]->shape = base->shape;
    return NULL;
}

static ot_status_t *lr_setup(ot_kernel_t *k) {
    lr_sched_t *s = malloc(sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    ot_status_t *st = parse(k->node, s);
    if (st) {
        free(s);
        return st;
    }
    s->base_last = NAN;
    k->state = s;
    return NULL;
}

static void lr_release(ot_kernel_t *k) { free(k->state); }

static ot_status_t *lr_run(ot_kernel_t *k) {
    lr_sched_t *s = k->state;
    const ot_tensor_t *base = k->inputs[0];
    int64_t t = *(const int64_t *)k->inputs[1]->data;
    if (t < 0) return OT_KERNEL_ERROR(k, "step %lld is negative", (long long)t);
    double b;
    if (base->dtype == OT_DTYPE_FLOAT) {
        float f = *(const float *)base->data;
        if (f != s->base_last) s->base_last = f, s->base_wide = ot_optim_widen(f);
        b = s->base_wide;
    } else {
        b = *(const double *)base->data;
    }
    double lr = sched_lr(s, b, t);
    if (k->outputs[0]->dtype == OT_DTYPE_FLOAT) *(float *)k->outputs[0]->data = (float)lr;
    else *(double *)k->outputs[0]->data = lr;
    return NULL;
}

const ot_op_def_t ot_op_ot_LRSchedule_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "LRSchedule",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = lr_attrs,
    .flags = 0,
    .infer = lr_infer,
    .setup = lr_setup,
    .run = lr_run,
    .release = lr_release,
    .doc = "lr = schedule(base_lr, step): torch.optim.lr_scheduler's closed forms (constant, step, multistep, "
           "exponential, cosine, cosine_warm_restarts, one_cycle, polynomial) and linear/cosine warmup",
};
