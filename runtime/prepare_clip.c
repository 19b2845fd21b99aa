/* runtime/prepare_clip.c: the parts of `onnxtrain prepare`'s program that
 * stand between the accumulated gradients and the optimizer, and around
 * the optimizer step (options in ot_prepare_options_t):
 *
 *   accumulation (--accumulate K): stage [0] runs K times per optimizer
 *       step, summing into `<param>.grad`; stage [1] multiplies the sum by
 *       1/K, so the optimizer sees the mean gradient, what torch users get
 *       from backward(loss / K) per micro-batch (bit-identical when K is a
 *       power of two). K is metadata "onnxtrain.accumulate" for the trainer.
 *   clipping: Clip(g, -v, v) per gradient (torch.nn.utils.clip_grad_value_),
 *       then ai.onnxtrain::ClipGradNorm over all of them
 *       (clip_grad_norm_), both on the mean gradients, in stage [1].
 *   non-finite guard (--skip-nonfinite): com.microsoft::IsAllFinite over the
 *       accumulated gradients; every value stage [1] binds becomes
 *       Where(finite, new, old), so a skipped step leaves weights, optimizer
 *       states, `step` and `lr` bit for bit as they were (torch's GradScaler
 *       skips optimizer.step(), so Adam's step count does not advance
 *       either), and int64 state `onnxtrain.skipped_steps` counts the skips.
 *       Because `step` may stay, stage [0]'s lazy gradient reset compares
 *       `onnxtrain.grad_step` with step + skipped_steps (optimizer steps
 *       taken or skipped) instead of step.
 *   parameter groups (--no-decay, --no-decay-1d, --lr-mult): the optimizer
 *       node is split into one node per (weight decay, lr multiplier) group,
 *       each with its own weight_decay attribute and lr = lr * multiplier,
 *       which is torch's param_groups exactly. One group: the node as it was.
 *
 * Not here: the optimizer itself (prepare.c) and learning-rate schedules. */
#include "runtime/prepare.h"
#include "ops/op_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_FINITE "onnxtrain.grads_finite"
#define GUARD_SKIPPED "onnxtrain.skipped_steps"
#define GUARD_CALLS "onnxtrain.optimizer_calls"

/* A scalar initializer of stage [1] named base (float) or base.double,
 * created on first use. */
static const char *opt_scalar(prep_t *p, const char *base, ot_dtype_t dt, double value) {
    const char *name = dt == OT_DTYPE_DOUBLE ? prep_cat(p, base, ".double") : base;
    if (!name) return "";
    for (size_t i = 0; i < p->opt.g->n_initializer; i++)
        if (!strcmp(p->opt.g->initializer[i]->name, name)) return name;
    ot_shape_t scalar = ot_shape_make(0, NULL);
    prep_fill(p, &p->opt, name, dt, &scalar, value);
    return name;
}

/* ---- stage [0]: the counter behind the lazy gradient reset ------------------ */

const char *prep_clip_grad_counter(prep_t *p) {
    if (!p->o->skip_nonfinite) return "step";
    int64_t zero = 0;
    ot_tensor_t zero_t = {OT_DTYPE_INT64, {0, {0}}, &zero};
    /* both stages read it: an inference-graph initializer, as `step` */
    prep_init(p, &p->main, GUARD_SKIPPED, &zero_t);
    const char *in[] = {"step", GUARD_SKIPPED}, *out[] = {GUARD_CALLS};
    prep_node(p, &p->grad, "", "Add", 2, in, 1, out);
    return GUARD_CALLS;
}

/* ---- options --------------------------------------------------------------- */

static bool contains_any(const char *name, int n, const char *const *patterns) {
    for (int i = 0; i < n; i++)
        if (strstr(name, patterns[i])) return true;
    return false;
}

/* A pattern that matches no trainable parameter is a typo until shown otherwise. */
static ot_status_t *check_patterns(prep_t *p, const char *flag, int n, const char *const *patterns) {
    for (int k = 0; k < n; k++) {
        if (!patterns[k] || !*patterns[k])
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: empty parameter name pattern", flag);
        bool hit = false;
        for (int i = 0; i < p->n_params && !hit; i++) hit = strstr(p->params[i], patterns[k]) != NULL;
        if (!hit)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: '%s' matches no trainable parameter (names: %s%s)",
                                    flag, patterns[k], p->params[0], p->n_params > 1 ? ", ..." : "");
    }
    return NULL;
}

static ot_status_t *check_options(prep_t *p, const ot_op_def_t *opt) {
    const ot_prepare_options_t *o = p->o;
    if (!(o->clip_grad_norm >= 0) || isinf(o->clip_grad_norm))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--clip-grad-norm %g: must be a positive number",
                                (double)o->clip_grad_norm);
    if (o->clip_norm_type != 0 && !(o->clip_norm_type > 0))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--clip-norm-type %g: must be > 0 or inf",
                                (double)o->clip_norm_type);
    if (o->clip_norm_type != 0 && o->clip_grad_norm == 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--clip-norm-type needs --clip-grad-norm");
    if (!(o->clip_grad_value >= 0) || isinf(o->clip_grad_value))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--clip-grad-value %g: must be a positive number",
                                (double)o->clip_grad_value);
    if (o->accumulate < 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--accumulate %lld: must be >= 1", (long long)o->accumulate);
    ot_status_t *st = check_patterns(p, "--no-decay", o->n_no_decay, o->no_decay);
    if (!st) st = check_patterns(p, "--lr-mult", o->n_lr_mult, o->lr_mult_patterns);
    if (st) return st;
    for (int k = 0; k < o->n_lr_mult; k++)
        if (!(o->lr_mult[k] > 0) || isinf(o->lr_mult[k]))
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--lr-mult %s=%g: the multiplier must be a positive number",
                                    o->lr_mult_patterns[k], (double)o->lr_mult[k]);
    bool has_wd = false;
    for (const ot_attr_spec_t *a = opt->attrs; a && a->name; a++) has_wd |= !strcmp(a->name, "weight_decay");
    if ((o->n_no_decay || o->no_decay_1d) && !has_wd)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "--no-decay%s: optimizer %s has no weight_decay",
                                o->no_decay_1d && !o->n_no_decay ? "-1d" : "", opt->op_type);
    return NULL;
}

/* ---- stage [1]: gradients into the optimizer ------------------------------- */

/* grads[i] (the optimizer's gradient inputs) <- scaled by 1/K, clamped,
 * norm-clipped, as the options ask. */
static void transform_grads(prep_t *p, char **grads) {
    const ot_prepare_options_t *o = p->o;
    int n = p->n_params;
    for (int i = 0; i < n; i++) {
        ot_dtype_t dt = p->param_values[i]->type.dtype;
        if (o->accumulate > 1) {
            const char *in[] = {grads[i], opt_scalar(p, "onnxtrain.accumulate_scale", dt, 1.0 / (double)o->accumulate)};
            const char *out[] = {prep_cat(p, p->params[i], ".grad.mean")};
            prep_node(p, &p->opt, "", "Mul", 2, in, 1, out);
            grads[i] = (char *)out[0];
        }
        if (o->clip_grad_value > 0) {
            const char *out[] = {prep_cat(p, p->params[i], ".grad.clamped")};
            if (ot_model_opset(p->m, "") >= 11) {
                const char *in[] = {grads[i], opt_scalar(p, "onnxtrain.clip_min", dt, -(double)o->clip_grad_value),
                                    opt_scalar(p, "onnxtrain.clip_max", dt, (double)o->clip_grad_value)};
                prep_node(p, &p->opt, "", "Clip", 3, in, 1, out);
            } else {
                const char *in[] = {grads[i]};
                Onnx__NodeProto *c = prep_node(p, &p->opt, "", "Clip", 1, in, 1, out);
                pb_attr_float(&p->b, c, "min", -o->clip_grad_value);
                pb_attr_float(&p->b, c, "max", o->clip_grad_value);
            }
            grads[i] = (char *)out[0];
        }
    }
    if (o->clip_grad_norm > 0) {
        const char **out = pb_alloc(&p->b, sizeof *out * (size_t)n);
        if (!out) return;
        for (int i = 0; i < n; i++) out[i] = prep_cat(p, p->params[i], ".grad.clipped");
        Onnx__NodeProto *c = prep_node(p, &p->opt, OT_DOMAIN, "ClipGradNorm", n, (const char *const *)grads, n, out);
        pb_attr_float(&p->b, c, "max_norm", o->clip_grad_norm);
        if (o->clip_norm_type != 0) pb_attr_float(&p->b, c, "norm_type", o->clip_norm_type);
        for (int i = 0; i < n; i++) grads[i] = (char *)out[i];
    }
}

/* ---- stage [1]: parameter groups -------------------------------------------- */

static bool decays(const prep_t *p, int i) {
    return !contains_any(p->params[i], p->o->n_no_decay, p->o->no_decay) &&
           !(p->o->no_decay_1d && p->param_values[i]->type.shape.rank == 1);
}

static float lr_mult(const prep_t *p, int i) {
    for (int k = 0; k < p->o->n_lr_mult; k++)
        if (strstr(p->params[i], p->o->lr_mult_patterns[k])) return p->o->lr_mult[k];
    return 1.0f;
}

/* `on` (lr, step, params[n], grads[n], states[S][n] -> params_new[n],
 * states_new[S][n]) becomes one node per group of parameters that share
 * decay and multiplier, in order of first appearance. */
static void split_groups(prep_t *p, Onnx__NodeProto *on, int S) {
    int n = p->n_params, n_groups = 0;
    int *group = pb_alloc(&p->b, sizeof *group * (size_t)n), *members = pb_alloc(&p->b, sizeof *members * (size_t)n);
    bool *g_decay = pb_alloc(&p->b, sizeof *g_decay * (size_t)n);
    float *g_mult = pb_alloc(&p->b, sizeof *g_mult * (size_t)n);
    if (!group || !members || !g_decay || !g_mult) return;
    for (int i = 0; i < n; i++) {
        bool d = decays(p, i);
        float m = lr_mult(p, i);
        int g = 0;
        while (g < n_groups && (g_decay[g] != d || g_mult[g] != m)) g++;
        if (g == n_groups) g_decay[n_groups] = d, g_mult[n_groups++] = m;
        group[i] = g;
    }
    if (n_groups == 1 && g_decay[0] && g_mult[0] == 1.0f) return; /* torch's single group: the node as it is */
    char **in_all = on->input, **out_all = on->output;
    Onnx__AttributeProto **attrs_all = on->attribute;
    size_t n_attrs_all = on->n_attribute;
    for (int g = 0; g < n_groups; g++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (group[i] == g) members[k++] = i;
        int n_in = 2 + k * (2 + S), n_out = k * (1 + S);
        const char **in = pb_alloc(&p->b, sizeof *in * (size_t)n_in), **out = pb_alloc(&p->b, sizeof *out * (size_t)n_out);
        if (!in || !out) return;
        in[0] = in_all[0];
        in[1] = in_all[1];
        if (g_mult[g] != 1.0f) {
            char name[64];
            snprintf(name, sizeof name, "onnxtrain.lr_mult.%d", g);
            const char *m_in[] = {in_all[0], opt_scalar(p, pb_str(&p->b, name), OT_DTYPE_FLOAT, g_mult[g])};
            snprintf(name, sizeof name, "lr.group%d", g);
            const char *m_out[] = {pb_str(&p->b, name)};
            if (!m_out[0]) return;
            prep_node(p, &p->opt, "", "Mul", 2, m_in, 1, m_out);
            in[0] = m_out[0];
        }
        for (int j = 0; j < k; j++) {
            int i = members[j];
            for (int s = 0; s < 2 + S; s++) in[2 + s * k + j] = in_all[2 + s * n + i];
            for (int s = 0; s < 1 + S; s++) out[s * k + j] = out_all[s * n + i];
        }
        /* group 0 reuses `on` (its place in the graph); the others are new */
        Onnx__NodeProto *node = g == 0 ? on : prep_node(p, &p->opt, on->domain, on->op_type, n_in, in, n_out, out);
        if (!node) return;
        node->input = (char **)in, node->n_input = (size_t)n_in;
        node->output = (char **)out, node->n_output = (size_t)n_out;
        /* on's attributes (shared, read-only), weight_decay 0 for a group without decay */
        size_t cap = 0;
        node->attribute = NULL, node->n_attribute = 0;
        for (size_t a = 0; a < n_attrs_all; a++)
            if (g_decay[g] || strcmp(attrs_all[a]->name, "weight_decay"))
                PB_PUSH(&p->b, node->attribute, node->n_attribute, cap, attrs_all[a]);
        if (!g_decay[g]) pb_attr_float(&p->b, node, "weight_decay", 0);
    }
}

ot_status_t *prep_clip_optimizer(prep_t *p, const ot_op_def_t *opt, Onnx__NodeProto *on, int n_states) {
    ot_status_t *st = check_options(p, opt);
    if (st || !on) return st;
    transform_grads(p, on->input + 2 + p->n_params);
    split_groups(p, on, n_states);
    return NULL;
}

/* ---- stage [1]: the non-finite guard, metadata ------------------------------ */

static void guard_bindings(prep_t *p) {
    Onnx__TrainingInfoProto *ti = p->opt.ti;
    int n = p->n_params;
    const char **grads = pb_alloc(&p->b, sizeof *grads * (size_t)n);
    if (!grads) return;
    for (int i = 0; i < n; i++) grads[i] = prep_cat(p, p->params[i], ".grad");
    const char *fin[] = {GUARD_FINITE};
    prep_node(p, &p->opt, "com.microsoft", "IsAllFinite", n, grads, 1, fin);
    for (size_t b = 0; b < ti->n_update_binding; b++) {
        Onnx__StringStringEntryProto *e = ti->update_binding[b];
        const char *in[] = {GUARD_FINITE, e->value, e->key}, *out[] = {prep_cat(p, e->value, ".guarded")};
        if (!out[0]) return;
        prep_node(p, &p->opt, "", "Where", 3, in, 1, out);
        for (size_t o = 0; o < p->opt.g->n_output; o++)
            if (!strcmp(p->opt.g->output[o]->name, e->value)) p->opt.g->output[o]->name = (char *)out[0];
        e->value = (char *)out[0];
    }
    /* skipped_steps += !finite */
    const char *add_in[] = {GUARD_SKIPPED, "onnxtrain.one"}, *add_out[] = {GUARD_SKIPPED ".plus_one"};
    const char *w_in[] = {GUARD_FINITE, GUARD_SKIPPED, GUARD_SKIPPED ".plus_one"}, *w_out[] = {GUARD_SKIPPED ".next"};
    prep_node(p, &p->opt, "", "Add", 2, add_in, 1, add_out);
    prep_node(p, &p->opt, "", "Where", 3, w_in, 1, w_out);
    ot_shape_t scalar = ot_shape_make(0, NULL);
    prep_bind(p, &p->opt, GUARD_SKIPPED, w_out[0], OT_DTYPE_INT64, &scalar);
}

ot_status_t *prep_clip_finish(prep_t *p) {
    if (p->o->skip_nonfinite) guard_bindings(p);
    if (p->o->accumulate > 1) {
        char k[32];
        snprintf(k, sizeof k, "%lld", (long long)p->o->accumulate);
        Onnx__StringStringEntryProto *e = pb_alloc(&p->b, sizeof *e);
        if (!e) return prep_oom();
        onnx__string_string_entry_proto__init(e);
        e->key = "onnxtrain.accumulate";
        e->value = pb_str(&p->b, k);
        /* drop an earlier entry of the key (a model prepared, exported and prepared again) */
        size_t cap = p->mp->n_metadata_props, w = 0;
        for (size_t i = 0; i < p->mp->n_metadata_props; i++)
            if (!p->mp->metadata_props[i]->key || strcmp(p->mp->metadata_props[i]->key, e->key))
                p->mp->metadata_props[w++] = p->mp->metadata_props[i];
        p->mp->n_metadata_props = w;
        PB_PUSH(&p->b, p->mp->metadata_props, p->mp->n_metadata_props, cap, e);
    }
    return p->b.oom ? prep_oom() : NULL;
}
