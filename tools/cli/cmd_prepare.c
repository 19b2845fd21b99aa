/* tools/cli/cmd_prepare.c: `onnxtrain prepare`, an inference model -> a
 * standard ONNX training model (TrainingInfoProto), see ot_model_prepare.
 *
 * Optimizer hyperparameters, --lr-schedule's arguments and --init-ATTR are
 * attributes of the optimizer, LRSchedule and initializer ops, spelled as
 * torch names them in kebab case (--weight-decay -> weight_decay) and typed
 * by the ops' schemas (tools/cli/cli_attrs.h), so plugin ops get flags too. */
#define _XOPEN_SOURCE 700 /* strdup */

#include "tools/cli/cli.h"
#include "tools/cli/cli_attrs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void prepare_usage(FILE *f) {
    fprintf(f,
            "usage: onnxtrain prepare MODEL.onnx -o TRAIN.onnx --loss {cross_entropy,mse,l1,bce_with_logits,none}\n"
            "           --optimizer {sgd,adam,adamw,...} [--lr X] [--output NAME] [--labels NAME]\n"
            "           [--freeze NAME,...] [--seed N] [--init keep|NAME [--init-ATTR V ...]] [--init-bias keep|zeros]\n"
            "           [--pytorch-running-var] [--plugin LIB.so]\n"
            "           [optimizer hyperparameters: --momentum X --dampening X --nesterov --weight-decay X\n"
            "            --betas B1,B2 --eps X --amsgrad --maximize ...]\n"
            "           [--clip-grad-norm X [--clip-norm-type P|inf]] [--clip-grad-value X] [--accumulate K]\n"
            "           [--skip-nonfinite] [--no-decay PATTERN,...] [--no-decay-1d] [--lr-mult PATTERN=X ...]\n"
            "           [--lr-schedule NAME [its flags, below]]\n"
            "--lr defaults to the optimizer's torch default (adam 1e-3, rmsprop 1e-2, ...); sgd needs it.\n"
            "Writes MODEL as a training model: the loss, Gradient, gradient accumulators and the optimizer\n"
            "in ModelProto.training_info; BatchNormalization and Dropout in training mode.\n"
            "--pytorch-running-var: BatchNormalization keeps its running variance as PyTorch does (unbiased);\n"
            "  it sets our node attribute unbiased_running_var, which onnx.checker does not know (export drops it).\n"
            "--clip-grad-norm/--clip-grad-value: torch.nn.utils.clip_grad_norm_/clip_grad_value_ before each\n"
            "  optimizer step. --accumulate K: one optimizer step per K train steps, on their mean gradient.\n"
            "--skip-nonfinite: a step whose gradients hold NaN/Inf changes nothing (not the step count, so not\n"
            "  the schedule either) and is counted.\n"
            "--no-decay / --no-decay-1d: weight_decay 0 for parameters whose name contains a pattern / of rank 1;\n"
            "  --lr-mult PATTERN=X: lr * X for parameters whose name contains PATTERN (first match).\n"
            "--init NAME: `train` first sets every weight (rank >= 2) by initializer op NAME (kaiming_uniform,\n"
            "  xavier_normal, orthogonal... see `onnxtrain ops`), seeded --seed + its index, as torch.nn.init does;\n"
            "  --init-ATTR V sets the op's attributes (--init-gain 2, --init-mode fan_out); --init-bias zeros.\n"
            "--lr-schedule {constant,step,multistep,exponential,cosine,cosine_warm_restarts,warmup_linear,\n"
            "               warmup_cosine,one_cycle,polynomial}: the rate follows torch.optim.lr_scheduler per step;\n"
            "  --lr is the base rate. Flags (torch's arguments, defaults as torch's):\n"
            "    constant: --factor 0.333 --total-iters 5     step: --step-size N --gamma 0.1\n"
            "    multistep: --milestones A,B,.. --gamma 0.1    exponential: --gamma X\n"
            "    cosine: --t-max N --eta-min 0                 cosine_warm_restarts: --t-0 N --t-mult 1 --eta-min 0\n"
            "    warmup_linear, warmup_cosine: --warmup-steps 0 --total-steps N (0 from total-steps on)\n"
            "    one_cycle: --total-steps N [--max-lr X (or --lr)] --pct-start 0.3 --anneal-strategy {cos,linear}\n"
            "               --div-factor 25 --final-div-factor 1e4 [--three-phase] (momentum is not cycled)\n"
            "    polynomial: --total-iters 5 --power 1\n");
}

static bool parse_loss(const char *s, ot_loss_kind_t *out) {
    static const struct {
        const char *name;
        ot_loss_kind_t kind;
    } losses[] = {{"cross_entropy", OT_LOSS_CROSS_ENTROPY}, {"mse", OT_LOSS_MSE}, {"l1", OT_LOSS_L1},
                  {"bce_with_logits", OT_LOSS_BCE_WITH_LOGITS}, {"none", OT_LOSS_NONE}};
    for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++)
        if (!strcmp(s, losses[i].name)) {
            *out = losses[i].kind;
            return true;
        }
    return false;
}

/* ---- gradient clipping, accumulation, non-finite guard, parameter groups ---- */

/* --no-decay lists and --lr-mult pairs, copied into fixed buffers (nothing to free). */
typedef struct clip_groups {
    char no_decay_copy[32][256];
    int n_no_decay_copy;
    const char *no_decay[256];
    int n_no_decay;
    char mult_copy[32][256];
    const char *mult_pattern[32];
    float mult[32];
    int n_mult;
} clip_groups_t;

static bool clip_number(const char *flag, const char *v, double lo_exclusive, double *out) {
    char *end = NULL;
    *out = strtod(v, &end);
    if (!*v || *end || !(*out > lo_exclusive) || (isinf(*out) && strcmp(flag, "--clip-norm-type"))) {
        fprintf(stderr, "onnxtrain prepare: %s: bad value '%s' (a number > %g%s)\n", flag, v, lo_exclusive,
                strcmp(flag, "--clip-norm-type") ? "" : ", or inf");
        return false;
    }
    return true;
}

static bool clip_flag(ot_prepare_options_t *o, clip_groups_t *g, const char *a, const char *v) {
    double x = 0;
    if (!strcmp(a, "--clip-grad-norm")) {
        if (!clip_number(a, v, 0, &x)) return false;
        o->clip_grad_norm = (float)x;
    } else if (!strcmp(a, "--clip-norm-type")) {
        if (!clip_number(a, v, 0, &x)) return false;
        o->clip_norm_type = (float)x;
    } else if (!strcmp(a, "--clip-grad-value")) {
        if (!clip_number(a, v, 0, &x)) return false;
        o->clip_grad_value = (float)x;
    } else if (!strcmp(a, "--accumulate")) {
        char *end = NULL;
        long long k = strtoll(v, &end, 10);
        if (!*v || *end || k < 1) {
            fprintf(stderr, "onnxtrain prepare: --accumulate: bad value '%s' (micro-batches per step, >= 1)\n", v);
            return false;
        }
        o->accumulate = k;
    } else if (!strcmp(a, "--no-decay")) {
        if (g->n_no_decay_copy == 32 || strlen(v) >= sizeof g->no_decay_copy[0]) {
            fprintf(stderr, "onnxtrain prepare: --no-decay: too many or too long (at most 32 of 255 characters)\n");
            return false;
        }
        strcpy(g->no_decay_copy[g->n_no_decay_copy], v);
        char *save = NULL;
        for (char *t = strtok_r(g->no_decay_copy[g->n_no_decay_copy++], ",", &save); t && g->n_no_decay < 256;
             t = strtok_r(NULL, ",", &save))
            g->no_decay[g->n_no_decay++] = t;
    } else { /* --lr-mult PATTERN=X */
        const char *eq = strrchr(v, '=');
        if (!eq || eq == v || !clip_number(a, eq + 1, 0, &x)) {
            if (!eq || eq == v) fprintf(stderr, "onnxtrain prepare: --lr-mult: bad value '%s' (PATTERN=X)\n", v);
            return false;
        }
        if (g->n_mult == 32 || eq - v >= (ptrdiff_t)sizeof g->mult_copy[0]) {
            fprintf(stderr, "onnxtrain prepare: --lr-mult: too many or too long (at most 32 of 255 characters)\n");
            return false;
        }
        memcpy(g->mult_copy[g->n_mult], v, (size_t)(eq - v));
        g->mult_copy[g->n_mult][eq - v] = 0;
        g->mult_pattern[g->n_mult] = g->mult_copy[g->n_mult];
        g->mult[g->n_mult++] = (float)x;
    }
    return true;
}

static void groups_attach(clip_groups_t *g, ot_prepare_options_t *o) {
    o->n_no_decay = g->n_no_decay;
    o->no_decay = g->no_decay;
    o->n_lr_mult = g->n_mult;
    o->lr_mult_patterns = g->mult_pattern;
    o->lr_mult = g->mult;
}

int cmd_prepare(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *loss = NULL, *optimizer = NULL, *freeze = NULL, *init = "keep";
    ot_prepare_options_t o = {.lr = 0}; /* 0: the optimizer's default */
    /* hyperparameter and schedule flags are resolved once the optimizer is known */
    const char *hp_flag[32], *hp_value[32];
    int n_hp = 0;
    clip_groups_t groups = {0};
    /* --init-ATTR flags, resolved once the initializer is known */
    const char *init_flag[16], *init_value[16], *init_bias = "keep";
    int n_init = 0;
    cli_attrs_t hyper = {0}, schedule = {0}, init_attrs = {0}; /* the ops' attributes (cli_attrs.h) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                   \
    do {                                                                                                               \
        if (!v) {                                                                                                      \
            fprintf(stderr, "onnxtrain prepare: %s needs a value\n", a);                                               \
            return 2;                                                                                                  \
        }                                                                                                              \
        i++;                                                                                                           \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            prepare_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            NEED_VALUE();
            out_path = v;
        } else if (!strcmp(a, "--loss")) {
            NEED_VALUE();
            loss = v;
        } else if (!strcmp(a, "--optimizer")) {
            NEED_VALUE();
            optimizer = v;
        } else if (!strcmp(a, "--lr")) {
            NEED_VALUE();
            char *end = NULL;
            o.lr = strtof(v, &end);
            if (!*v || *end || !(o.lr > 0)) {
                fprintf(stderr, "onnxtrain prepare: --lr: bad value '%s' (a positive number)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--lr-schedule")) {
            NEED_VALUE();
            o.lr_schedule = v;
        } else if (!strcmp(a, "--output")) {
            NEED_VALUE();
            o.output = v;
        } else if (!strcmp(a, "--labels")) {
            NEED_VALUE();
            o.labels = v;
        } else if (!strcmp(a, "--freeze")) {
            NEED_VALUE();
            freeze = v;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            o.has_seed = true;
            o.seed = strtoll(v, NULL, 10);
        } else if (!strcmp(a, "--init")) {
            NEED_VALUE();
            init = v;
        } else if (!strcmp(a, "--init-bias")) {
            NEED_VALUE();
            init_bias = v;
        } else if (!strncmp(a, "--init-", 7)) {
            NEED_VALUE();
            if (n_init == 16) {
                fprintf(stderr, "onnxtrain prepare: too many --init-ATTR flags\n");
                return 2;
            }
            init_flag[n_init] = a + 7;
            init_value[n_init++] = v;
        } else if (!strcmp(a, "--pytorch-running-var")) {
            o.unbiased_running_var = true;
        /* gradient clipping, accumulation, non-finite guard, parameter groups (runtime/prepare_clip.c) */
        } else if (!strcmp(a, "--clip-grad-norm") || !strcmp(a, "--clip-norm-type") || !strcmp(a, "--clip-grad-value") ||
                   !strcmp(a, "--accumulate") || !strcmp(a, "--no-decay") || !strcmp(a, "--lr-mult")) {
            NEED_VALUE();
            if (!clip_flag(&o, &groups, a, v)) return 2;
        } else if (!strcmp(a, "--skip-nonfinite")) {
            o.skip_nonfinite = true;
        } else if (!strcmp(a, "--no-decay-1d")) {
            o.no_decay_1d = true;
        } else if (!strncmp(a, "--", 2)) {
            if (n_hp == 32) {
                fprintf(stderr, "onnxtrain prepare: too many hyperparameters\n");
                return 2;
            }
            hp_flag[n_hp] = a + 2;
            hp_value[n_hp] = v && strncmp(v, "--", 2) ? v : NULL;
            if (hp_value[n_hp]) i++;
            n_hp++;
        } else if (!in_path) {
            in_path = a;
        } else {
            fprintf(stderr, "onnxtrain prepare: unexpected argument '%s'\n", a);
            prepare_usage(stderr);
            return 2;
        }
#undef NEED_VALUE
    }
    if (!in_path || !out_path || !loss || !optimizer) {
        prepare_usage(stderr);
        return 2;
    }
    if (!parse_loss(loss, &o.loss)) {
        fprintf(stderr, "onnxtrain prepare: unknown loss '%s'\n", loss);
        return 2;
    }
    if (strcmp(init_bias, "keep") && strcmp(init_bias, "zeros")) {
        fprintf(stderr, "onnxtrain prepare: --init-bias %s: keep or zeros\n", init_bias);
        return 2;
    }
    ot_registry_t *reg = NULL;
    ot_model_t *m = NULL, *prepared = NULL;
    ot_status_t *st = cli_registry_create(&reg);
    if (st) return cli_fail(st, "registry");
    int rc = 1;
    const ot_op_def_t *op = ot_registry_find_kind(reg, optimizer, OT_OP_OPTIMIZER);
    if (!op) {
        fprintf(stderr, "onnxtrain prepare: unknown optimizer '%s'\n", optimizer);
        rc = 2;
        goto done;
    }
    o.optimizer = op->op_type;
    /* --init (runtime/prepare_init.c) */
    if (strcmp(init, "keep")) {
        const ot_op_def_t *iop = ot_registry_find_kind(reg, init, OT_OP_INITIALIZER);
        if (!iop) {
            fprintf(stderr, "onnxtrain prepare: unknown initializer '%s' (`onnxtrain ops` lists them)\n", init);
            rc = 2;
            goto done;
        }
        for (int f = 0; f < n_init; f++) {
            char shown[80];
            snprintf(shown, sizeof shown, "--init-%s", init_flag[f]);
            const ot_attr_spec_t *spec = cli_attr_find(iop, init_flag[f]);
            if (!spec) {
                fprintf(stderr, "onnxtrain prepare: initializer %s has no attribute %s\n", iop->op_type, shown);
                rc = 2;
                goto done;
            }
            if (!cli_attr_add(&init_attrs, spec, shown, init_value[f])) {
                rc = 2;
                goto done;
            }
        }
        o.init = iop->op_type;
    } else if (n_init) {
        fprintf(stderr, "onnxtrain prepare: --init-%s needs --init NAME\n", init_flag[0]);
        rc = 2;
        goto done;
    }
    o.n_init_attrs = init_attrs.n;
    o.init_attrs = init_attrs.attrs;
    o.init_bias_zeros = !strcmp(init_bias, "zeros");
    /* the other flags: LRSchedule's arguments (not `schedule`: that is --lr-schedule), else the optimizer's */
    const ot_op_def_t *sched = ot_registry_find(reg, OT_DOMAIN, "LRSchedule", 1);
    for (int h = 0; h < n_hp; h++) {
        char shown[80];
        snprintf(shown, sizeof shown, "--%s", hp_flag[h]);
        const ot_attr_spec_t *spec = cli_attr_find(sched, hp_flag[h]);
        if (spec && strcmp(spec->name, "schedule")) {
            if (!o.lr_schedule) {
                fprintf(stderr, "onnxtrain prepare: %s is a learning-rate schedule flag: it needs --lr-schedule NAME\n",
                        shown);
                rc = 2;
                goto done;
            }
            if (!cli_attr_add(&schedule, spec, shown, hp_value[h])) {
                rc = 2;
                goto done;
            }
            continue;
        }
        if (!(spec = cli_attr_find(op, hp_flag[h]))) {
            fprintf(stderr, "onnxtrain prepare: optimizer %s has no hyperparameter %s\n", op->op_type, shown);
            rc = 2;
            goto done;
        }
        if (!cli_attr_add(&hyper, spec, shown, hp_value[h])) {
            rc = 2;
            goto done;
        }
    }
    o.n_optimizer_attrs = hyper.n;
    o.optimizer_attrs = hyper.attrs;
    o.n_lr_schedule_attrs = schedule.n;
    o.lr_schedule_attrs = schedule.attrs;
    const char *frozen[256];
    char *freeze_copy = freeze ? strdup(freeze) : NULL;
    for (char *tok = freeze_copy ? strtok(freeze_copy, ",") : NULL; tok && o.n_freeze < 256; tok = strtok(NULL, ","))
        frozen[o.n_freeze++] = tok;
    o.freeze = frozen;
    st = ot_model_load(in_path, reg, NULL, &m);
    groups_attach(&groups, &o);
    if (!st) st = ot_model_prepare(m, &o, &prepared);
    if (!st) st = ot_model_save(prepared, out_path);
    free(freeze_copy);
    if (st) {
        rc = cli_fail(st, in_path);
        goto done;
    }
    double base_lr = o.lr != 0 ? o.lr : op->default_lr;
    for (int a = 0; a < schedule.n; a++) /* one_cycle's max_lr is its base rate */
        if (!strcmp(schedule.attrs[a].name, "max_lr")) base_lr = schedule.attrs[a].f;
    printf("wrote %s: loss %s, optimizer %s (lr %g), training_info: gradient + optimizer%s%s\n", out_path, loss,
           o.optimizer, base_lr, o.init || o.init_bias_zeros ? " + initialization " : "",
           o.init ? o.init : o.init_bias_zeros ? "(biases)" : "");
    if (o.lr_schedule) printf("learning-rate schedule: %s\n", o.lr_schedule);
    rc = 0;
done:
    ot_model_destroy(prepared);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    return rc;
}
