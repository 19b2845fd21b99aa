/* runtime/prepare.c: an inference model + a loss + an optimizer -> a
 * standard ONNX training model (ModelProto.training_info), see
 * ot_model_prepare in onnxtrain.h.
 *
 * The written program has two TrainingInfoProtos, which any runtime that
 * follows the spec runs in sequence per step:
 *   [0] gradient: loss on the model's output, a Gradient node over the
 *       trainable initializers, gradients accumulated into `<param>.grad` by com.microsoft::InPlaceAccumulatorV2,
 *       which overwrites them instead when `onnxtrain.grad_step` differs
 *       from `step` (an optimizer step happened since: the lazy reset of
 *       ONNX Runtime's API); BatchNormalization running statistics are
 *       bound here too;
 *   [1] optimizer: step += 1, one optimizer node over every parameter,
 *       which reads the accumulators and its state (`<param>.<state>`).
 *       `lr` is an algorithm initializer (state), so schedules write a
 *       tensor. `step` and the accumulators are initializers of the
 *       inference graph, the only place both stages see (export drops them).
 * The spec lets each variable be bound once across all TrainingInfoProtos,
 * hence the step comparison instead of stage [1] zeroing the accumulators.
 * A training session runs [0] as train_step and [1] as optimizer_step.
 * The inference graph itself is switched to training mode
 * (BatchNormalization training_mode=1, Dropout training_mode=true):
 * `export` switches it back.
 *
 * Works on the protobuf, not the IR, so everything the source model holds
 * is kept as it was; the result is loaded and checked (training session
 * created) before it is returned. */
#include "runtime/prepare.h"
#include "ops/op_util.h"
#include "runtime/ir.h"
#include "runtime/name_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- builders (runtime/prepare.h) ---------------------------------------- */

ot_status_t *prep_oom(void) { return ot_status_create(OT_ERR_NO_MEMORY, "prepare: out of memory"); }

char *prep_cat(prep_t *p, const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = pb_alloc(&p->b, n);
    if (s) snprintf(s, n, "%s%s", a, b);
    return s;
}

Onnx__NodeProto *prep_node(prep_t *p, prep_stage_t *s, const char *domain, const char *op, int n_in,
                           const char *const *in, int n_out, const char *const *out) {
    char name[600];
    snprintf(name, sizeof name, "onnxtrain/%s/%s", op, out[0]);
    Onnx__NodeProto *n = pb_node(&p->b, domain, op, name, n_in, in, n_out, out);
    PB_PUSH(&p->b, s->g->node, s->g->n_node, s->cap_node, n);
    return n;
}

void prep_init(prep_t *p, prep_stage_t *s, const char *name, const ot_tensor_t *t) {
    PB_PUSH(&p->b, s->g->initializer, s->g->n_initializer, s->cap_init, pb_tensor(&p->b, name, t));
}

void prep_fill(prep_t *p, prep_stage_t *s, const char *name, ot_dtype_t dt, const ot_shape_t *shape, double value) {
    ot_tensor_t *t = NULL;
    ot_status_t *st = ot_tensor_create(dt, shape, &t);
    if (st) {
        ot_status_free(st);
        p->b.oom = true;
        return;
    }
    int64_t n = ot_shape_numel(shape);
    for (int64_t i = 0; value != 0 && i < n; i++) {
        if (dt == OT_DTYPE_FLOAT) ((float *)t->data)[i] = (float)value;
        else if (dt == OT_DTYPE_DOUBLE) ((double *)t->data)[i] = value;
    }
    prep_init(p, s, name, t);
    ot_tensor_destroy(t);
}

void prep_output(prep_t *p, prep_stage_t *s, const char *name, ot_dtype_t dt, const ot_shape_t *shape) {
    PB_PUSH(&p->b, s->g->output, s->g->n_output, s->cap_output, pb_value_info(&p->b, name, dt, shape, "N"));
}

void prep_bind(prep_t *p, prep_stage_t *s, const char *key, const char *value, ot_dtype_t dt, const ot_shape_t *shape) {
    Onnx__StringStringEntryProto *e = pb_alloc(&p->b, sizeof *e);
    if (e) {
        onnx__string_string_entry_proto__init(e);
        e->key = pb_str(&p->b, key);
        e->value = pb_str(&p->b, value);
    }
    PB_PUSH(&p->b, s->ti->update_binding, s->ti->n_update_binding, s->cap_binding, e);
    prep_output(p, s, value, dt, shape);
}

const ot_attr_t *prep_option_attr(const ot_prepare_options_t *o, const char *name) {
    for (int a = 0; name && a < o->n_optimizer_attrs; a++)
        if (!strcmp(o->optimizer_attrs[a].name, name)) return &o->optimizer_attrs[a];
    return NULL;
}

ot_status_t *prep_attrs(prep_t *p, Onnx__NodeProto *n, int n_attrs, const ot_attr_t *attrs, const char *what) {
    for (int a = 0; a < n_attrs; a++) {
        const ot_attr_t *at = &attrs[a];
        switch (at->type) {
        case OT_ATTR_FLOAT: pb_attr_float(&p->b, n, at->name, at->f); break;
        case OT_ATTR_INT: pb_attr_int(&p->b, n, at->name, at->i); break;
        case OT_ATTR_STRING: pb_attr_string(&p->b, n, at->name, at->s); break;
        case OT_ATTR_FLOATS: pb_attr_floats(&p->b, n, at->name, at->floats, (size_t)at->n); break;
        case OT_ATTR_INTS: pb_attr_ints(&p->b, n, at->name, at->ints, (size_t)at->n); break;
        default: return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s attribute '%s': unsupported type", what, at->name);
        }
    }
    return NULL;
}

void prep_import(prep_t *p, const char *domain, int64_t version) {
    Onnx__ModelProto *mp = p->mp;
    domain = domain ? domain : "";
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
        if (!strcmp(d, domain) || (!*domain && !strcmp(d, "ai.onnx"))) return;
    }
    Onnx__OperatorSetIdProto *op = pb_alloc(&p->b, sizeof *op);
    if (op) {
        onnx__operator_set_id_proto__init(op);
        op->domain = (char *)domain;
        op->has_version = 1;
        op->version = version;
    }
    size_t cap = mp->n_opset_import;
    PB_PUSH(&p->b, mp->opset_import, mp->n_opset_import, cap, op);
}

/* ---- which initializers train ---------------------------------------------- */

static bool listed(const char *name, int n, const char *const *list) {
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return true;
    return false;
}

static bool is_float(ot_dtype_t t) { return t == OT_DTYPE_FLOAT || t == OT_DTYPE_DOUBLE; }

/* Float initializers of rank >= 1 that some node reads, except those read
 * as BatchNormalization statistics (inputs 3, 4) and the frozen ones.
 * Rank-0 floats are constants of the exporter (Dropout ratios, Gelu's
 * sqrt(2)...), never weights. */
static bool is_trainable(const ot_model_t *m, int v, const ot_prepare_options_t *o) {
    const ot_graph_t *g = &m->graph;
    const ot_value_t *val = &g->values[v];
    if (!val->is_initializer || !is_float(val->type.dtype) || val->type.shape.rank < 1) return false;
    if (listed(val->name, o->n_freeze, o->freeze)) return false;
    bool read = false;
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node_t *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] != v) continue;
            if (!strcmp(n->info.op_type, "BatchNormalization") && !*n->info.domain && k >= 3) return false;
            read = true;
        }
    }
    return read;
}

/* ---- the inference graph in training mode ------------------------------------ */

static Onnx__NodeProto *producer(Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t o = 0; o < g->node[i]->n_output; o++)
            if (g->node[i]->output[o] && !strcmp(g->node[i]->output[o], name)) return g->node[i];
    return NULL;
}

static Onnx__TensorProto *initializer(Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name)) return g->initializer[i];
    return NULL;
}

/* BatchNormalization (opset >= 14): training_mode = 1, running statistics
 * as state of their own (the exporter may share them with other tensors or
 * route them through Identity), their new values bound in stage [0]. */
static ot_status_t *batchnorm_to_training(prep_t *p, Onnx__NodeProto *n, int index) {
    Onnx__GraphProto *g = p->mp->graph;
    int64_t opset = ot_model_opset(p->m, "");
    if (opset < 14)
        return ot_status_create(OT_ERR_UNSUPPORTED,
                                "node '%s' (BatchNormalization): training needs opset >= 14 (the model imports %lld); "
                                "export it again with opset_version >= 14",
                                n->name ? n->name : "", (long long)opset);
    if (n->n_input < 5) return ot_status_create(OT_ERR_INVALID_MODEL, "node '%s' (BatchNormalization): needs 5 inputs", n->name);
    Onnx__AttributeProto *tm = pb_find_attr(n, "training_mode");
    if (tm) tm->i = 1, tm->has_i = 1;
    else pb_attr_int(&p->b, n, "training_mode", 1);
    if (p->o->unbiased_running_var) pb_attr_int(&p->b, n, "unbiased_running_var", 1);
    const char *suffix[2] = {".running_mean", ".running_var"};
    char **outs = pb_alloc(&p->b, sizeof *outs * 3);
    if (!outs) return prep_oom();
    outs[0] = n->output[0];
    for (int s = 0; s < 2; s++) {
        /* the statistic's current value: an initializer, maybe behind Identity */
        const char *src = n->input[3 + s];
        Onnx__NodeProto *id = producer(g, src);
        if (id && !strcmp(id->op_type, "Identity") && id->n_input == 1) src = id->input[0];
        Onnx__TensorProto *tp = initializer(g, src);
        if (!tp)
            return ot_status_create(OT_ERR_UNSUPPORTED,
                                    "node '%s' (BatchNormalization): input %d ('%s') is not an initializer; cannot "
                                    "train its running statistics",
                                    n->name, 3 + s, n->input[3 + s]);
        char base[64];
        snprintf(base, sizeof base, "bn%d", index);
        char *state = prep_cat(p, n->name && *n->name ? n->name : base, suffix[s]);
        Onnx__TensorProto *copy = pb_alloc(&p->b, sizeof *copy);
        if (!state || !copy) return prep_oom();
        *copy = *tp; /* same data (shared bytes: the arena-allocated model owns both) */
        copy->name = state;
        PB_PUSH(&p->b, g->initializer, g->n_initializer, p->main.cap_init, copy);
        n->input[3 + s] = state;
        outs[1 + s] = prep_cat(p, state, ".new");
        ot_shape_t shape = ot_shape_make(tp->n_dims <= OT_MAX_RANK ? (int)tp->n_dims : 0, NULL);
        for (int d = 0; d < shape.rank; d++) shape.dims[d] = tp->dims[d];
        prep_bind(p, &p->grad, state, outs[1 + s], (ot_dtype_t)tp->data_type, &shape);
    }
    n->output = outs;
    n->n_output = 3;
    return NULL;
}

/* Dropout (opset >= 12): training_mode = true; `seed` set when asked. */
static ot_status_t *dropout_to_training(prep_t *p, Onnx__NodeProto *n, int index) {
    int64_t opset = ot_model_opset(p->m, "");
    if (opset < 12)
        return ot_status_create(OT_ERR_UNSUPPORTED,
                                "node '%s' (Dropout): training needs opset >= 12 (the model imports %lld)",
                                n->name ? n->name : "", (long long)opset);
    static const char *training_mode = "onnxtrain.training_mode", *default_ratio = "onnxtrain.dropout_ratio";
    Onnx__GraphProto *g = p->mp->graph;
    if (!initializer(g, training_mode)) {
        bool yes = true;
        float half = 0.5f;
        ot_tensor_t t = {OT_DTYPE_BOOL, {0, {0}}, &yes}, r = {OT_DTYPE_FLOAT, {0, {0}}, &half};
        prep_init(p, &p->main, training_mode, &t);
        prep_init(p, &p->main, default_ratio, &r);
    }
    char **in = pb_alloc(&p->b, sizeof *in * 3);
    if (!in) return prep_oom();
    in[0] = n->input[0];
    in[1] = n->n_input > 1 && n->input[1] && *n->input[1] ? n->input[1] : (char *)default_ratio;
    in[2] = (char *)training_mode;
    n->input = in;
    n->n_input = 3;
    if (p->o->has_seed) {
        Onnx__AttributeProto *a = pb_find_attr(n, "seed");
        if (a) a->i = p->o->seed + index, a->has_i = 1;
        else pb_attr_int(&p->b, n, "seed", p->o->seed + index);
    }
    return NULL;
}

/* ---- loss ------------------------------------------------------------------ */

static ot_status_t *add_loss(prep_t *p, const char *y, const ot_value_t *yv, const char *labels) {
    Onnx__GraphProto *g = p->grad.g;
    const char *loss = "loss";
    ot_shape_t batch = yv->type.shape;
    switch (p->o->loss) {
    case OT_LOSS_NONE: {
        if (ot_shape_numel(&yv->type.shape) != 1)
            return ot_status_create(OT_ERR_INVALID_MODEL, "--loss none: output '%s' must be a scalar (the loss)", y);
        const char *in[] = {y}, *out[] = {loss};
        prep_node(p, &p->grad, "", "Identity", 1, in, 1, out);
        return NULL;
    }
    case OT_LOSS_CROSS_ENTROPY: {
        if (yv->type.shape.rank < 2)
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "--loss cross_entropy: output '%s' must be (N, C, ...) logits", y);
        ot_shape_t ls = ot_shape_make(batch.rank - 1, NULL);
        ls.dims[0] = batch.dims[0];
        for (int d = 2; d < batch.rank; d++) ls.dims[d - 1] = batch.dims[d];
        PB_PUSH(&p->b, g->input, g->n_input, p->grad.cap_input, pb_value_info(&p->b, labels, OT_DTYPE_INT64, &ls, "N"));
        const char *in[] = {y, labels}, *out[] = {loss};
        Onnx__NodeProto *n = prep_node(p, &p->grad, "", "SoftmaxCrossEntropyLoss", 2, in, 1, out);
        pb_attr_string(&p->b, n, "reduction", "mean");
        return NULL;
    }
    case OT_LOSS_MSE:
    case OT_LOSS_L1:
    case OT_LOSS_BCE_WITH_LOGITS: {
        PB_PUSH(&p->b, g->input, g->n_input, p->grad.cap_input,
                pb_value_info(&p->b, labels, yv->type.dtype, &yv->type.shape, "N"));
        const char *per = "loss.elementwise";
        if (p->o->loss == OT_LOSS_MSE) {
            const char *a[] = {y, labels}, *d[] = {"loss.diff"}, *sq_in[] = {"loss.diff", "loss.diff"}, *sq[] = {per};
            prep_node(p, &p->grad, "", "Sub", 2, a, 1, d);
            prep_node(p, &p->grad, "", "Mul", 2, sq_in, 1, sq);
        } else if (p->o->loss == OT_LOSS_L1) {
            const char *a[] = {y, labels}, *d[] = {"loss.diff"}, *ab_in[] = {"loss.diff"}, *ab[] = {per};
            prep_node(p, &p->grad, "", "Sub", 2, a, 1, d);
            prep_node(p, &p->grad, "", "Abs", 1, ab_in, 1, ab);
        } else {
            /* PyTorch's stable form: max(x, 0) - x * t + log(1 + exp(-|x|)) */
            const char *x[] = {y}, *r[] = {"loss.relu"}, *xt_in[] = {y, labels}, *xt[] = {"loss.xt"},
                       *ab[] = {"loss.abs"}, *ng_in[] = {"loss.abs"}, *ng[] = {"loss.negabs"},
                       *sp_in[] = {"loss.negabs"}, *sp[] = {"loss.softplus"}, *s1_in[] = {"loss.relu", "loss.xt"},
                       *s1[] = {"loss.relu_xt"}, *s2_in[] = {"loss.relu_xt", "loss.softplus"}, *s2[] = {per};
            prep_node(p, &p->grad, "", "Relu", 1, x, 1, r);
            prep_node(p, &p->grad, "", "Mul", 2, xt_in, 1, xt);
            prep_node(p, &p->grad, "", "Abs", 1, x, 1, ab);
            prep_node(p, &p->grad, "", "Neg", 1, ng_in, 1, ng);
            prep_node(p, &p->grad, "", "Softplus", 1, sp_in, 1, sp);
            prep_node(p, &p->grad, "", "Sub", 2, s1_in, 1, s1);
            prep_node(p, &p->grad, "", "Add", 2, s2_in, 1, s2);
        }
        const char *m_in[] = {per}, *m_out[] = {loss};
        Onnx__NodeProto *n = prep_node(p, &p->grad, "", "ReduceMean", 1, m_in, 1, m_out);
        pb_attr_int(&p->b, n, "keepdims", 0);
        return NULL;
    }
    }
    return ot_status_create(OT_ERR_INVALID_ARGUMENT, "prepare: unknown loss %d", (int)p->o->loss);
}

/* ---- [0] loss, Gradient, accumulation ------------------------------------- */

static ot_status_t *gradient_stage(prep_t *p, const ot_value_t *yv, const char *labels) {
    const ot_graph_t *ir = &p->m->graph;
    ot_status_t *st = add_loss(p, yv->name, yv, labels);
    if (st) return st;
    int n = p->n_params, n_zs = 0;
    const char **zs = pb_alloc(&p->b, sizeof *zs * (size_t)(ir->n_inputs + 1));
    const char **g_in = pb_alloc(&p->b, sizeof *g_in * (size_t)(n + ir->n_inputs + 1));
    const char **g_out = pb_alloc(&p->b, sizeof *g_out * (size_t)(n + 1));
    if (!zs || !g_in || !g_out) return prep_oom();
    for (int k = 0; k < ir->n_inputs; k++)
        if (!ir->values[ir->inputs[k]].is_initializer) zs[n_zs++] = ir->values[ir->inputs[k]].name;
    for (int i = 0; i < n; i++) g_in[i] = p->params[i], g_out[i] = prep_cat(p, p->params[i], ".grad.step");
    for (int i = 0; i < n_zs; i++) g_in[n + i] = zs[i];
    Onnx__NodeProto *gn = prep_node(p, &p->grad, "ai.onnx.preview.training", "Gradient", n + n_zs, g_in, n, g_out);
    pb_attr_strings(&p->b, gn, "xs", p->params, (size_t)n);
    if (n_zs) pb_attr_strings(&p->b, gn, "zs", zs, (size_t)n_zs);
    pb_attr_string(&p->b, gn, "y", "loss");
    ot_shape_t scalar = ot_shape_make(0, NULL);
    prep_output(p, &p->grad, "loss", yv->type.dtype, &scalar);

    int64_t zero = 0;
    ot_tensor_t step_t = {OT_DTYPE_INT64, {0, {0}}, &zero};
    prep_init(p, &p->main, "step", &step_t);
    prep_init(p, &p->grad, "onnxtrain.grad_step", &step_t);
    const char *calls = prep_clip_grad_counter(p); /* "step", or steps taken + skipped (prepare_clip.c) */
    const char *eq_in[] = {"onnxtrain.grad_step", calls}, *eq_out[] = {"onnxtrain.grads_current"};
    const char *not_in[] = {"onnxtrain.grads_current"}, *not_out[] = {"onnxtrain.overwrite_grads"};
    const char *id_in[] = {calls}, *id_out[] = {"onnxtrain.grad_step.next"};
    prep_node(p, &p->grad, "", "Equal", 2, eq_in, 1, eq_out);
    prep_node(p, &p->grad, "", "Not", 1, not_in, 1, not_out);
    prep_node(p, &p->grad, "", "Identity", 1, id_in, 1, id_out);
    prep_bind(p, &p->grad, "onnxtrain.grad_step", "onnxtrain.grad_step.next", OT_DTYPE_INT64, &scalar);
    for (int i = 0; i < n; i++) {
        const ot_value_t *pv = p->param_values[i];
        const char *acc = prep_cat(p, p->params[i], ".grad"), *sum = prep_cat(p, p->params[i], ".grad.sum");
        /* in the inference graph's initializers: stage [1] reads them too */
        prep_fill(p, &p->main, acc, pv->type.dtype, &pv->type.shape, 0);
        const char *in[] = {acc, g_out[i], "onnxtrain.overwrite_grads"};
        const char *out[] = {prep_cat(p, p->params[i], ".grad.updated"), sum};
        prep_node(p, &p->grad, "com.microsoft", "InPlaceAccumulatorV2", 3, in, 2, out);
        prep_bind(p, &p->grad, acc, sum, pv->type.dtype, &pv->type.shape);
    }
    return NULL;
}

/* ---- [1] the optimizer step ------------------------------------------------ */

/* Optimizer ops declare their per-parameter states in their record
 * (ot_op_def_t.states, see plugin.h), so a plugin optimizer gets the same
 * treatment as a built-in one. */

static double attr_value(const ot_attr_t *a) { return !a ? 0 : a->type == OT_ATTR_INT ? (double)a->i : a->f; }

/* The states this node will have, given its attributes. */
static int active_states(const ot_op_def_t *opt, const ot_prepare_options_t *o, const ot_state_spec_t **out) {
    int n = 0;
    for (const ot_state_spec_t *s = opt->states; s && s->name && n < OT_MAX_OPTIMIZER_STATES; s++)
        if (!s->when || attr_value(prep_option_attr(o, s->when)) != 0) out[n++] = s;
    return n;
}

/* step += 1; lr (state, so schedules write a tensor); one optimizer node
 * over every parameter, reading the accumulated gradients and its states. */
static ot_status_t *optimizer_stage(prep_t *p, const ot_op_def_t *opt, float lr) {
    const ot_prepare_options_t *o = p->o;
    int n = p->n_params;
    int64_t one = 1;
    ot_shape_t scalar = ot_shape_make(0, NULL);
    ot_tensor_t lr_t = {OT_DTYPE_FLOAT, {0, {0}}, &lr}, one_t = {OT_DTYPE_INT64, {0, {0}}, &one};
    prep_init(p, &p->opt, "onnxtrain.one", &one_t);
    const char *s_in[] = {"step", "onnxtrain.one"}, *s_out[] = {"step.next"}, *l_in[] = {"lr"}, *l_out[] = {"lr.next"};
    prep_node(p, &p->opt, "", "Add", 2, s_in, 1, s_out);
    if (o->lr_schedule) { /* --lr-schedule (prepare_schedule.c): lr = schedule(0), lr.next = LRSchedule(lr.base, step.next) */
        ot_status_t *st = prep_schedule(p, lr);
        if (st) return st;
    } else {
        prep_init(p, &p->opt, "lr", &lr_t);
        prep_node(p, &p->opt, "", "Identity", 1, l_in, 1, l_out);
    }
    prep_bind(p, &p->opt, "step", "step.next", OT_DTYPE_INT64, &scalar);
    prep_bind(p, &p->opt, "lr", "lr.next", OT_DTYPE_FLOAT, &scalar);

    const ot_state_spec_t *states[OT_MAX_OPTIMIZER_STATES];
    int S = active_states(opt, o, states), n_in = 2 + n * (2 + S), n_out = n * (1 + S);
    const char **in = pb_alloc(&p->b, sizeof *in * (size_t)n_in), **out = pb_alloc(&p->b, sizeof *out * (size_t)n_out);
    if (!in || !out) return prep_oom();
    in[0] = "lr";
    in[1] = "step.next";
    for (int i = 0; i < n; i++) {
        const ot_value_t *pv = p->param_values[i];
        in[2 + i] = p->params[i];
        in[2 + n + i] = prep_cat(p, p->params[i], ".grad");
        out[i] = prep_cat(p, p->params[i], ".new");
        prep_bind(p, &p->opt, p->params[i], out[i], pv->type.dtype, &pv->type.shape);
        for (int s = 0; s < S; s++) {
            char suffix[64];
            snprintf(suffix, sizeof suffix, ".%s", states[s]->name);
            const char *state = prep_cat(p, p->params[i], suffix);
            in[2 + n * (2 + s) + i] = state;
            out[n * (1 + s) + i] = prep_cat(p, state, ".new");
            prep_fill(p, &p->opt, state, pv->type.dtype, &pv->type.shape,
                      attr_value(prep_option_attr(o, states[s]->init)));
            prep_bind(p, &p->opt, state, out[n * (1 + s) + i], pv->type.dtype, &pv->type.shape);
        }
    }
    Onnx__NodeProto *on = prep_node(p, &p->opt, opt->domain ? opt->domain : "", opt->op_type, n_in, in, n_out, out);
    if (!on) return prep_oom();
    ot_status_t *st = prep_attrs(p, on, o->n_optimizer_attrs, o->optimizer_attrs, "optimizer");
    return st ? st : prep_clip_optimizer(p, opt, on, S); /* gradient transforms, parameter groups */
}

/* Orders s's nodes so that each follows the nodes of s that produce its
 * inputs, as ONNX requires: the optional parts (clipping, groups, the
 * guard) add nodes that feed nodes written before them. Passes keep the
 * written order otherwise; a cycle (impossible by construction) is left
 * for validation to report. */
static ot_status_t *sort_nodes(prep_t *p, prep_stage_t *s) {
    Onnx__GraphProto *g = s->g;
    size_t n = g->n_node, k = 0;
    ot_name_map_t *producer_of = ot_name_map_create();
    Onnx__NodeProto **sorted = pb_alloc(&p->b, sizeof *sorted * (n + 1));
    bool *done = pb_alloc(&p->b, n + 1);
    bool ok = producer_of && sorted && done;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t o = 0; ok && o < g->node[i]->n_output; o++)
            if (*g->node[i]->output[o]) ok = ot_name_map_put(producer_of, g->node[i]->output[o], (int)i);
    if (!ok) {
        ot_name_map_destroy(producer_of);
        return prep_oom();
    }
    memset(done, 0, n + 1);
    for (bool progress = true; k < n && progress;) {
        progress = false;
        for (size_t i = 0; i < n; i++) {
            bool ready = !done[i];
            for (size_t in = 0; ready && in < g->node[i]->n_input; in++) {
                int from = ot_name_map_get(producer_of, g->node[i]->input[in]);
                ready = from < 0 || done[from] || (size_t)from == i;
            }
            if (ready) sorted[k++] = g->node[i], done[i] = true, progress = true;
        }
    }
    ot_name_map_destroy(producer_of);
    if (k == n) memcpy(g->node, sorted, sizeof *sorted * n);
    return NULL;
}

/* A new TrainingInfoProto whose algorithm is named `name`. */
static void new_stage(prep_t *p, prep_stage_t *s, const char *name) {
    s->g = pb_alloc(&p->b, sizeof *s->g);
    s->ti = pb_alloc(&p->b, sizeof *s->ti);
    if (!s->g || !s->ti) {
        p->b.oom = true;
        return;
    }
    onnx__graph_proto__init(s->g);
    onnx__training_info_proto__init(s->ti);
    s->g->name = (char *)name;
    s->ti->algorithm = s->g;
}

/* ---- public -------------------------------------------------------------- */

ot_status_t *ot_model_prepare(const ot_model_t *m, const ot_prepare_options_t *o, ot_model_t **out) {
    if (!m || !o || !out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_prepare: NULL argument");
    *out = NULL;
    if (m->n_training_info)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "the model already has training_info (it is a training model)");
    const ot_op_def_t *opt = ot_registry_find_kind(m->registry, o->optimizer, OT_OP_OPTIMIZER);
    if (!opt) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "unknown optimizer '%s'", o->optimizer ? o->optimizer : "");
    float lr = o->lr != 0 ? o->lr : opt->default_lr;
    if (o->lr_schedule) lr = prep_schedule_base_lr(o, lr); /* --lr-schedule one_cycle: max_lr */
    if (!(lr > 0))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "optimizer %s: the learning rate is required (--lr)%s",
                                opt->op_type, o->lr < 0 || o->lr != o->lr ? " and must be positive" : "");
    const ot_graph_t *ir = &m->graph;
    int y = -1;
    if (o->output) {
        /* a graph output, or any float value: models often end in a Softmax
         * whose input (the logits) is what a cross-entropy loss reads */
        y = ot_graph_find(ir, o->output);
        if (y < 0 || ir->values[y].is_initializer || !is_float(ir->values[y].type.dtype))
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "'%s' is not a floating-point value of the model", o->output);
    } else if (ir->n_outputs > 0) {
        y = ir->outputs[0];
    }
    if (y < 0) return ot_status_create(OT_ERR_INVALID_MODEL, "the model has no output");
    const char *labels = o->labels ? o->labels : "labels";
    if (ot_graph_find(ir, labels) >= 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "the model already has a value named '%s' (choose --labels)", labels);

    ot_arena_t *arena = ot_arena_create();
    if (!arena) return prep_oom();
    prep_t p = {.b = {arena, false}, .m = m, .o = o};
    ot_status_t *st = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if ((st = ot_model_to_bytes(m, &bytes, &len))) goto done;
    p.mp = pb_unpack_model(&p.b, bytes, len);
    free(bytes);
    bytes = NULL;
    if (!p.mp) {
        st = ot_status_create(OT_ERR_RUNTIME, "prepare: cannot re-read the serialized model");
        goto done;
    }
    Onnx__ModelProto *mp = p.mp;
    p.main = (prep_stage_t){.g = mp->graph, .cap_node = mp->graph->n_node, .cap_init = mp->graph->n_initializer};
    new_stage(&p, &p.grad, "onnxtrain.gradient");
    new_stage(&p, &p.opt, "onnxtrain.optimizer");
    p.params = pb_alloc(&p.b, sizeof *p.params * (size_t)(ir->n_values + 1));
    p.param_values = pb_alloc(&p.b, sizeof *p.param_values * (size_t)(ir->n_values + 1));
    if (p.b.oom || !p.params || !p.param_values) {
        st = prep_oom();
        goto done;
    }
    for (int k = 0; k < ir->n_initializers; k++)
        if (is_trainable(m, ir->initializers[k], o)) {
            p.param_values[p.n_params] = &ir->values[ir->initializers[k]];
            p.params[p.n_params++] = ir->values[ir->initializers[k]].name;
        }
    if (p.n_params == 0) {
        st = ot_status_create(OT_ERR_INVALID_ARGUMENT, "nothing to train: no float initializer is read by the model "
                                                       "(or all are frozen)");
        goto done;
    }

    /* the inference graph in training mode */
    int n_bn = 0, n_drop = 0;
    for (size_t i = 0; i < mp->graph->n_node && !st; i++) {
        Onnx__NodeProto *n = mp->graph->node[i];
        if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) continue;
        if (!strcmp(n->op_type, "BatchNormalization")) st = batchnorm_to_training(&p, n, n_bn++);
        else if (!strcmp(n->op_type, "Dropout")) st = dropout_to_training(&p, n, n_drop++);
    }
    if (st || (st = gradient_stage(&p, &ir->values[y], labels)) || (st = optimizer_stage(&p, opt, lr))) goto done;
    if ((st = prep_clip_finish(&p))) goto done; /* the non-finite guard: after every part of stage [1] */
    /* the training domains; the optimizer's own last (a plugin's) */
    prep_import(&p, "ai.onnx.preview.training", 1);
    prep_import(&p, OT_DOMAIN, 1);
    prep_import(&p, "com.microsoft", 1);
    prep_import(&p, opt->domain, opt->since_version);
    if ((st = prep_initialization(&p))) goto done; /* --init: runtime/prepare_init.c */
    if ((st = sort_nodes(&p, &p.grad)) || (st = sort_nodes(&p, &p.opt))) goto done;
    Onnx__TrainingInfoProto **tis = pb_alloc(&p.b, sizeof *tis * 2);
    if (!tis || p.b.oom) {
        st = prep_oom();
        goto done;
    }
    tis[0] = p.grad.ti;
    tis[1] = p.opt.ti;
    mp->training_info = tis;
    mp->n_training_info = 2;
    len = onnx__model_proto__get_packed_size(mp);
    if (!(bytes = malloc(len ? len : 1))) {
        st = prep_oom();
        goto done;
    }
    onnx__model_proto__pack(mp, bytes);
    ot_model_t *prepared = NULL;
    st = ot_model_load_bytes(bytes, len, m->dir, m->registry, NULL, &prepared);
    ot_training_session_t *check = NULL;
    if (!st) st = ot_training_session_create(prepared, &check);
    ot_training_session_destroy(check);
    if (st) {
        ot_model_destroy(prepared);
        st = ot_status_wrap(st, "prepare: the training model does not validate");
    } else {
        *out = prepared;
    }
done:
    free(bytes);
    ot_arena_destroy(arena);
    return st;
}
