/* runtime/ort_artifacts.c: training with ONNX Runtime's training artifacts
 * (see the ONNX Runtime section of onnxtrain.h).
 *
 * A folder holds ORT's standard files: training_model.onnx (forward, loss,
 * gradients, com.microsoft::InPlaceAccumulatorV2 into
 * `<param>_grad.accumulation.buffer` inputs, `lazy_reset_grad`),
 * eval_model.onnx (optional), the optimizer model (optimizer_model.onnx, or
 * ORT's test name adamw.onnx) and the checkpoint (checkpoint, or
 * checkpoint.ckpt). The session owns the parameters (from the checkpoint),
 * the gradient buffers and the optimizer state as tensors and feeds them
 * to the training model by name: its accumulators write the buffers in
 * place, as ORT's do.
 *
 * The optimizer model takes tensor sequences, which the runtime does not
 * plan; its one node is read for its attributes and applied by our own
 * optimizer kernels: one instance over every parameter, set up when the
 * session is created (runtime/op_call.h), updating the session's tensors in
 * place in one parallel pass (optimizers/optim_util.h):
 *   AdamWOptimizer -> ai.onnxtrain::AdamW with betas (alpha, beta),
 *     eps = epsilon, weight_decay, adam_mode, correct_bias (ORT's defaults:
 *     0.9, 0.999, 1e-8, 0, 0, 1); mode 0 is PyTorch's AdamW, mode 1 Hugging
 *     Face's (formulas in optimizers/torch_adam.c)
 *   SGDOptimizerV2 -> ai.onnxtrain::SGD without momentum: w -= lr * g
 * Only InplaceClipGradNorm, which may precede the optimizer, runs here.
 * (ORT's kernels: orttraining/training_ops/cpu/optimizer.) */
#define _XOPEN_SOURCE 700

#include "runtime/onnx_io.h"
#include "runtime/op_call.h"
#include "onnxtrain/ort_checkpoint.h"
#include "ops/op_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum { OPT_NONE, OPT_ADAMW, OPT_SGD } opt_kind_t;

typedef struct param {
    char *name;
    ot_tensor_t *value, *grad, *m, *v; /* ORT's momentum0, momentum1 (v: AdamW only) */
} param_t;

struct ot_ort_session {
    ot_registry_t *reg;
    ot_model_t *train, *eval;
    ot_session_t *train_s, *eval_s;
    int n_params;
    param_t *params;
    ot_tensor_t *lazy_reset; /* bool (1) */
    opt_kind_t opt;
    bool clip;            /* InplaceClipGradNorm before the update */
    float max_norm;
    int64_t adam_mode, correct_bias;
    float alpha, beta, eps, weight_decay;
    float lr;
    int64_t step;
    char *opt_name;           /* the optimizer node's name, for errors */
    ot_tensor_t lr_t, step_t; /* scalar views of lr and step: the kernel's inputs 0 and 1 */
    ot_op_call_t *opt_call;   /* the optimizer over every parameter */
    int n_in;
    const ot_tensor_t **in; /* feeds of the training model, in input order */
    const ot_tensor_t **eval_in; /* feeds of the eval model */
    int *in_param, *in_grad;   /* per input: param index whose value / grad it is, or -1 */
    bool *in_flag;             /* per input: lazy_reset_grad */
};

static ot_status_t *oom(void) { return ot_status_create(OT_ERR_NO_MEMORY, "ORT artifacts: out of memory"); }

/* The first of `names` that exists in dir, as a malloc()ed path, or NULL. */
static char *find_file(const char *dir, const char *const *names, int n) {
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) return NULL;
        snprintf(p, len, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) return p;
        free(p);
    }
    return NULL;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

/* Reads the optimizer model as ORT's Optimizer does: graph inputs
 * learning_rate, step, params, gradients, then the optimizer's moments; one
 * AdamWOptimizer or SGDOptimizerV2 node, optionally fed by an
 * InplaceClipGradNorm node over the gradients (onnxblock's ClipGradNorm).
 * Anything else is refused by name: the model itself is never planned. */
static ot_status_t *read_optimizer(ot_ort_session_t *s, const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_file_read(path, &buf, &len);
    if (st) return st;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!mp || !mp->graph) {
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        return ot_status_create(OT_ERR_INVALID_MODEL, "optimizer model '%s': not an ONNX model", path);
    }
    const Onnx__GraphProto *g = mp->graph;
    const Onnx__NodeProto *opt = NULL, *clip = NULL;
    for (size_t i = 0; !st && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = n->op_type ? n->op_type : "";
        bool ms = n->domain && !strcmp(n->domain, "com.microsoft");
        if (ms && (!strcmp(op, "AdamWOptimizer") || !strcmp(op, "SGDOptimizerV2")) && !opt) opt = n;
        else if (ms && !strcmp(op, "InplaceClipGradNorm") && !clip) clip = n;
        else
            st = ot_status_create(OT_ERR_UNSUPPORTED,
                                  "optimizer model '%s': node '%s' (%s): only one AdamWOptimizer or SGDOptimizerV2 "
                                  "node, optionally after one InplaceClipGradNorm, is supported",
                                  path, n->name ? n->name : "", op);
    }
    if (!st && !opt)
        st = ot_status_create(OT_ERR_UNSUPPORTED, "optimizer model '%s': no AdamWOptimizer or SGDOptimizerV2 node", path);
    if (!st) {
        s->opt = !strcmp(opt->op_type, "AdamWOptimizer") ? OPT_ADAMW : OPT_SGD;
        /* the graph inputs ORT's Optimizer feeds, in its order */
        static const char *adamw_in[] = {"learning_rate", "step", "params", "gradients", "first_order_moments",
                                         "second_order_moments"};
        const char *const *want = adamw_in;
        size_t n_want = s->opt == OPT_ADAMW ? 6 : 5;
        bool ok = g->n_input == n_want;
        for (size_t i = 0; ok && i < n_want; i++) ok = g->input[i]->name && !strcmp(g->input[i]->name, want[i]);
        if (!ok)
            st = ot_status_create(OT_ERR_INVALID_MODEL,
                                  "optimizer model '%s': graph inputs must be learning_rate, step, params, gradients, "
                                  "first_order_moments%s (as ONNX Runtime's Optimizer feeds them)",
                                  path, s->opt == OPT_ADAMW ? ", second_order_moments" : "");
    }
    /* the optimizer reads the gradients directly or through the clip */
    int grad_in = !st && s->opt == OPT_ADAMW ? 3 : 2;
    const char *grads = !st && (int)opt->n_input > grad_in ? opt->input[grad_in] : NULL;
    if (!st && clip) {
        if (clip->n_input != 1 || strcmp(clip->input[0], "gradients") || clip->n_output != 1 || !grads ||
            strcmp(grads, clip->output[0]))
            st = ot_status_create(OT_ERR_INVALID_MODEL,
                                  "optimizer model '%s': node '%s' (InplaceClipGradNorm) must read `gradients` and "
                                  "feed the optimizer's gradients",
                                  path, clip->name ? clip->name : "");
        const Onnx__AttributeProto *a = attr(clip, "norm_type");
        if (!st && a && (a->s.len != 3 || memcmp(a->s.data, "fro", 3)))
            st = ot_status_create(OT_ERR_UNSUPPORTED, "optimizer model '%s': InplaceClipGradNorm norm_type must be 'fro'",
                                  path);
        s->clip = true;
        s->max_norm = !st && (a = attr(clip, "max_norm")) ? a->f : 1.0f;
    } else if (!st && (!grads || strcmp(grads, "gradients"))) {
        st = ot_status_create(OT_ERR_INVALID_MODEL, "optimizer model '%s': the optimizer must read `gradients`", path);
    }
    if (!st) {
        const Onnx__AttributeProto *a;
        s->alpha = (a = attr(opt, "alpha")) ? a->f : 0.9f;
        s->beta = (a = attr(opt, "beta")) ? a->f : 0.999f;
        s->eps = (a = attr(opt, "epsilon")) ? a->f : 1e-8f;
        s->weight_decay = (a = attr(opt, "weight_decay")) ? a->f : 0.0f;
        s->adam_mode = (a = attr(opt, "adam_mode")) ? a->i : 0;
        s->correct_bias = (a = attr(opt, "correct_bias")) ? a->i : 1;
        if (!(s->opt_name = strdup(opt->name ? opt->name : ""))) st = oom();
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    return st;
}

static ot_status_t *copy_tensor(const ot_tensor_t *t, ot_tensor_t **out) {
    ot_status_t *st = ot_tensor_create(t->dtype, &t->shape, out);
    if (!st && t->data && ot_tensor_nbytes(t)) memcpy((*out)->data, t->data, ot_tensor_nbytes(t));
    return st;
}

/* The optimizer node as our op over every parameter: inputs lr, step,
 * params, grads, moments (AdamW: m, v; SGD: none), outputs the params and
 * moments themselves (in place). Values the op refuses (adam_mode 2) are
 * reported here, by the op, naming ORT's node. */
static ot_status_t *optimizer_setup(ot_ort_session_t *s) {
    if (s->n_params == 0)
        return ot_status_create(OT_ERR_INVALID_MODEL, "the optimizer has no trainable parameters to update");
    bool adamw = s->opt == OPT_ADAMW;
    int n = s->n_params, in_groups = adamw ? 4 : 2, out_groups = adamw ? 3 : 1;
    ot_tensor_t **in = calloc((size_t)(2 + in_groups * n), sizeof *in);
    ot_tensor_t **out = calloc((size_t)(out_groups * n), sizeof *out);
    if (!in || !out) {
        free(in), free(out);
        return oom();
    }
    s->lr_t = (ot_tensor_t){OT_DTYPE_FLOAT, {0, {0}}, &s->lr};
    s->step_t = (ot_tensor_t){OT_DTYPE_INT64, {0, {0}}, &s->step};
    in[0] = &s->lr_t, in[1] = &s->step_t;
    for (int i = 0; i < n; i++) {
        param_t *p = &s->params[i];
        ot_tensor_t *const reads[4] = {p->value, p->grad, p->m, p->v}, *const writes[3] = {p->value, p->m, p->v};
        for (int g = 0; g < in_groups; g++) in[2 + g * n + i] = reads[g];
        for (int g = 0; g < out_groups; g++) out[g * n + i] = writes[g];
    }
    const float betas[2] = {s->alpha, s->beta};
    const ot_attr_t attrs[] = {
        {.name = "betas", .type = OT_ATTR_FLOATS, .n = 2, .floats = betas},
        {.name = "eps", .type = OT_ATTR_FLOAT, .f = s->eps},
        {.name = "weight_decay", .type = OT_ATTR_FLOAT, .f = s->weight_decay}, /* ORT's default 0, not torch's */
        {.name = "adam_mode", .type = OT_ATTR_INT, .i = s->adam_mode},
        {.name = "correct_bias", .type = OT_ATTR_INT, .i = s->correct_bias},
    };
    ot_node_info_t node = {.name = s->opt_name,
                           .op_type = adamw ? "AdamW" : "SGD",
                           .domain = OT_DOMAIN,
                           .opset = 1,
                           .n_attrs = adamw ? 5 : 0,
                           .attrs = attrs};
    ot_status_t *st = ot_op_call_create(s->reg, &node, 2 + in_groups * n, in, out_groups * n, out, &s->opt_call);
    free(in), free(out);
    return ot_status_wrap(st, "optimizer model");
}

ot_status_t *ot_ort_session_create(const char *dir, ot_ort_session_t **out) {
    if (!dir || !out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_session_create: NULL argument");
    *out = NULL;
    static const char *train_names[] = {"training_model.onnx"}, *eval_names[] = {"eval_model.onnx"},
                      *opt_names[] = {"optimizer_model.onnx", "adamw.onnx"},
                      *ckpt_names[] = {"checkpoint", "checkpoint.ckpt"};
    char *train_path = find_file(dir, train_names, 1), *eval_path = find_file(dir, eval_names, 1),
         *opt_path = find_file(dir, opt_names, 2), *ckpt_path = find_file(dir, ckpt_names, 2);
    ot_ort_checkpoint_t *ckpt = NULL;
    ot_ort_session_t *s = calloc(1, sizeof *s);
    ot_status_t *st = NULL;
    if (!s) st = oom();
    else if (!train_path || !ckpt_path)
        st = ot_status_create(OT_ERR_IO, "ORT artifacts '%s': need training_model.onnx and checkpoint (or checkpoint.ckpt)",
                              dir);
    if (!st) st = ot_registry_create(&s->reg);
    if (!st) st = ot_model_load(train_path, s->reg, NULL, &s->train);
    if (!st) st = ot_session_create(s->train, &s->train_s);
    if (!st && eval_path && !(st = ot_model_load(eval_path, s->reg, NULL, &s->eval))) st = ot_session_create(s->eval, &s->eval_s);
    if (!st && opt_path) st = read_optimizer(s, opt_path);
    if (!st) st = ot_ort_checkpoint_load(ckpt_path, &ckpt);
    if (!st && ckpt->is_nominal_state)
        st = ot_status_create(OT_ERR_UNSUPPORTED, "checkpoint '%s' is nominal (names only): no weights to train", ckpt_path);
    if (st) goto fail;
    /* parameters, in checkpoint order, with their buffers and moments */
    s->params = calloc(ckpt->n_trainable + 1, sizeof *s->params);
    if (!s->params) {
        st = oom();
        goto fail;
    }
    for (size_t i = 0; i < ckpt->n_trainable && !st; i++) {
        param_t *p = &s->params[s->n_params++];
        const ot_ort_tensor_t *t = &ckpt->trainable[i];
        if (!(p->name = strdup(t->name))) st = oom();
        if (!st) st = copy_tensor(&t->tensor, &p->value);
        if (!st) st = ot_tensor_create(t->tensor.dtype, &t->tensor.shape, &p->grad);
        if (!st) st = ot_tensor_create(t->tensor.dtype, &t->tensor.shape, &p->m); /* SGD's is unused but saved */
        if (!st && s->opt == OPT_ADAMW) st = ot_tensor_create(t->tensor.dtype, &t->tensor.shape, &p->v);
        if (!st && t->tensor.dtype != OT_DTYPE_FLOAT)
            st = ot_status_create(OT_ERR_UNSUPPORTED, "parameter '%s' is %s; float32 only", t->name,
                                  ot_dtype_name(t->tensor.dtype));
    }
    /* optimizer state saved with the checkpoint */
    for (size_t g = 0; !st && g < ckpt->n_groups; g++) {
        s->step = ckpt->groups[g].step;
        s->lr = ckpt->groups[g].initial_learning_rate;
        for (size_t k = 0; !st && k < ckpt->groups[g].n_params; k++) {
            const ot_ort_param_state_t *ps = &ckpt->groups[g].params[k];
            for (int i = 0; i < s->n_params; i++) {
                if (strcmp(s->params[i].name, ps->param_name)) continue;
                for (size_t mi = 0; mi < ps->n_momentums; mi++) {
                    ot_tensor_t *dst = !strcmp(ps->momentums[mi].name, "momentum0")   ? s->params[i].m
                                       : !strcmp(ps->momentums[mi].name, "momentum1") ? s->params[i].v
                                                                                       : NULL;
                    if (dst && ot_tensor_nbytes(dst) == ot_tensor_nbytes(&ps->momentums[mi].tensor))
                        memcpy(dst->data, ps->momentums[mi].tensor.data, ot_tensor_nbytes(dst));
                    else if (dst)
                        st = ot_status_create(OT_ERR_INVALID_MODEL, "checkpoint: %s of '%s' has the wrong size",
                                              ps->momentums[mi].name, ps->param_name);
                }
            }
        }
    }
    ot_shape_t one = {1, {1}};
    if (!st) st = ot_tensor_create(OT_DTYPE_BOOL, &one, &s->lazy_reset);
    if (st) goto fail;
    *(bool *)s->lazy_reset->data = true; /* fresh buffers: the first step overwrites them */
    /* the training model's inputs that the session feeds */
    s->n_in = ot_model_num_inputs(s->train);
    s->in = calloc((size_t)s->n_in + 1, sizeof *s->in);
    s->in_param = calloc((size_t)s->n_in + 1, sizeof *s->in_param);
    s->in_grad = calloc((size_t)s->n_in + 1, sizeof *s->in_grad);
    s->in_flag = calloc((size_t)s->n_in + 1, sizeof *s->in_flag);
    if (!s->in || !s->in_param || !s->in_grad || !s->in_flag) {
        st = oom();
        goto fail;
    }
    for (int k = 0; k < s->n_in; k++) {
        const char *name;
        ot_model_input_info(s->train, k, &name, NULL, NULL);
        s->in_param[k] = s->in_grad[k] = -1;
        s->in_flag[k] = !strcmp(name, "lazy_reset_grad");
        for (int i = 0; i < s->n_params; i++) {
            size_t n = strlen(s->params[i].name);
            if (!strcmp(name, s->params[i].name)) s->in_param[k] = i;
            else if (!strncmp(name, s->params[i].name, n) && !strcmp(name + n, "_grad.accumulation.buffer"))
                s->in_grad[k] = i;
        }
    }
    if (s->eval && !(s->eval_in = calloc((size_t)ot_model_num_inputs(s->eval) + 1, sizeof *s->eval_in))) {
        st = oom();
        goto fail;
    }
    if (s->opt != OPT_NONE && (st = optimizer_setup(s))) goto fail;
    ot_ort_checkpoint_destroy(ckpt);
    free(train_path), free(eval_path), free(opt_path), free(ckpt_path);
    *out = s;
    return NULL;
fail:
    ot_ort_checkpoint_destroy(ckpt);
    ot_ort_session_destroy(s);
    st = ot_status_wrap(st, "ORT artifacts '%s'", dir);
    free(train_path), free(eval_path), free(opt_path), free(ckpt_path);
    return st;
}

void ot_ort_session_destroy(ot_ort_session_t *s) {
    if (!s) return;
    ot_op_call_destroy(s->opt_call);
    free(s->opt_name);
    for (int i = 0; i < s->n_params; i++) {
        free(s->params[i].name);
        ot_tensor_destroy(s->params[i].value);
        ot_tensor_destroy(s->params[i].grad);
        ot_tensor_destroy(s->params[i].m);
        ot_tensor_destroy(s->params[i].v);
    }
    free(s->params);
    ot_tensor_destroy(s->lazy_reset);
    free(s->in), free(s->in_param), free(s->in_grad), free(s->in_flag), free(s->eval_in);
    ot_session_destroy(s->train_s);
    ot_session_destroy(s->eval_s);
    ot_model_destroy(s->train);
    ot_model_destroy(s->eval);
    ot_registry_destroy(s->reg);
    free(s);
}

ot_status_t *ot_ort_session_train_step(ot_ort_session_t *s, int n_feeds, const char *const *names,
                                       const ot_tensor_t *const *values, float *loss) {
    if (!s || (n_feeds && (!names || !values)))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_session_train_step: NULL argument");
    for (int k = 0; k < s->n_in; k++) {
        const char *name;
        ot_model_input_info(s->train, k, &name, NULL, NULL);
        s->in[k] = s->in_param[k] >= 0 ? s->params[s->in_param[k]].value
                   : s->in_grad[k] >= 0 ? s->params[s->in_grad[k]].grad
                   : s->in_flag[k]      ? s->lazy_reset
                                        : NULL;
        for (int f = 0; f < n_feeds && !s->in[k]; f++)
            if (names[f] && !strcmp(names[f], name)) s->in[k] = values[f];
        if (!s->in[k]) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "training model input '%s' is not fed", name);
    }
    const ot_tensor_t *outs[64] = {0};
    if (ot_model_num_outputs(s->train) > 64)
        return ot_status_create(OT_ERR_UNSUPPORTED, "training model has more than 64 outputs");
    ot_status_t *st = ot_session_run_borrowed(s->train_s, s->in, outs);
    if (st) return st;
    *(bool *)s->lazy_reset->data = false;
    if (loss) {
        const ot_tensor_t *l = outs[0];
        if (!l || l->dtype != OT_DTYPE_FLOAT || ot_shape_numel(&l->shape) != 1)
            return ot_status_create(OT_ERR_INVALID_MODEL, "the training model's first output is not a float32 loss");
        *loss = *(const float *)l->data;
    }
    return NULL;
}

ot_status_t *ot_ort_session_eval_step(ot_ort_session_t *s, int n_feeds, const char *const *names,
                                      const ot_tensor_t *const *values, float *loss) {
    if (!s || (n_feeds && (!names || !values)))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_session_eval_step: NULL argument");
    if (!s->eval) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "eval_step: the artifacts have no eval_model.onnx");
    int n_in = ot_model_num_inputs(s->eval);
    for (int k = 0; k < n_in; k++) {
        const char *name;
        ot_model_input_info(s->eval, k, &name, NULL, NULL);
        s->eval_in[k] = NULL;
        for (int i = 0; i < s->n_params && !s->eval_in[k]; i++)
            if (!strcmp(name, s->params[i].name)) s->eval_in[k] = s->params[i].value;
        for (int f = 0; f < n_feeds && !s->eval_in[k]; f++)
            if (names[f] && !strcmp(names[f], name)) s->eval_in[k] = values[f];
        if (!s->eval_in[k]) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "eval model input '%s' is not fed", name);
    }
    const ot_tensor_t *outs[64] = {0};
    if (ot_model_num_outputs(s->eval) > 64) return ot_status_create(OT_ERR_UNSUPPORTED, "eval model has more than 64 outputs");
    ot_status_t *st = ot_session_run_borrowed(s->eval_s, s->eval_in, outs);
    if (st) return st;
    if (loss) {
        const ot_tensor_t *l = outs[0];
        if (!l || l->dtype != OT_DTYPE_FLOAT || ot_shape_numel(&l->shape) != 1)
            return ot_status_create(OT_ERR_INVALID_MODEL, "the eval model's first output is not a float32 loss");
        *loss = *(const float *)l->data;
    }
    return NULL;
}

void ot_ort_session_feeds(const ot_ort_session_t *s, int *n, const char **names, const ot_tensor_t **types) {
    int k = 0;
    for (int i = 0; s && i < s->n_in; i++) {
        if (s->in_param[i] >= 0 || s->in_grad[i] >= 0 || s->in_flag[i]) continue;
        const ot_graph_t *g = &s->train->graph;
        int seen = 0;
        for (int j = 0; j < g->n_inputs; j++) {
            const ot_value_t *v = &g->values[g->inputs[j]];
            if (v->is_initializer || seen++ != i) continue;
            if (names) names[k] = v->name;
            if (types) types[k] = &v->type;
        }
        k++;
    }
    *n = k;
}

void ot_ort_session_lazy_reset_grad(ot_ort_session_t *s) {
    if (s) *(bool *)s->lazy_reset->data = true;
}

/* InplaceClipGradNorm: total = sqrt(sum of all squares) in float, as ORT
 * (we sum each tensor in double, then round); g *= min(max_norm / (total +
 * 1e-6), 1). */
static void clip_grad_norm(ot_ort_session_t *s) {
    float sum = 0;
    for (int i = 0; i < s->n_params; i++) {
        const float *g = s->params[i].grad->data;
        int64_t n = ot_shape_numel(&s->params[i].grad->shape);
        double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 65536)
        for (int64_t j = 0; j < n; j++) acc += (double)g[j] * g[j];
        sum += (float)acc;
    }
    const float coef = fminf(s->max_norm / (sqrtf(sum) + 1e-6f), 1.0f);
    for (int i = 0; i < s->n_params; i++) {
        float *g = s->params[i].grad->data;
        int64_t n = ot_shape_numel(&s->params[i].grad->shape);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t j = 0; j < n; j++) g[j] *= coef;
    }
}

ot_status_t *ot_ort_session_optimizer_step(ot_ort_session_t *s) {
    if (!s) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_session_optimizer_step: NULL session");
    if (s->opt == OPT_NONE)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "optimizer_step: the artifacts have no optimizer model");
    if (s->clip) clip_grad_norm(s);
    s->step++; /* the kernel's step counts this update */
    ot_status_t *st = ot_op_call_run(s->opt_call);
    if (st) s->step--;
    return st;
}

void ot_ort_session_set_lr(ot_ort_session_t *s, float lr) {
    if (s) s->lr = lr;
}
float ot_ort_session_get_lr(const ot_ort_session_t *s) { return s ? s->lr : 0; }
int64_t ot_ort_session_step_count(const ot_ort_session_t *s) { return s ? s->step : 0; }

ot_status_t *ot_ort_session_save_checkpoint(const ot_ort_session_t *s, const char *path) {
    if (!s || !path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_session_save_checkpoint: NULL argument");
    ot_ort_checkpoint_t *c = NULL;
    ot_status_t *st = ot_ort_checkpoint_create(&c);
    if (st) return st;
    c->trainable = ot_ort_checkpoint_alloc(c, sizeof *c->trainable * (size_t)(s->n_params + 1));
    c->groups = ot_ort_checkpoint_alloc(c, sizeof *c->groups);
    ot_ort_param_state_t *ps = ot_ort_checkpoint_alloc(c, sizeof *ps * (size_t)(s->n_params + 1));
    if (!c->trainable || !c->groups || !ps) st = oom();
    for (int i = 0; !st && i < s->n_params; i++) {
        c->trainable[i].name = s->params[i].name;
        c->trainable[i].tensor = *s->params[i].value;
        ps[i].param_name = s->params[i].name;
        /* ORT's names: AdamW keeps momentum0 and momentum1, SGDOptimizerV2 momentum0 */
        ot_ort_tensor_t *mom = ot_ort_checkpoint_alloc(c, sizeof *mom * 2);
        if (!mom) {
            st = oom();
            break;
        }
        mom[0].name = "momentum0";
        mom[0].tensor = *s->params[i].m;
        mom[1].name = "momentum1";
        if (s->opt == OPT_ADAMW) mom[1].tensor = *s->params[i].v;
        ps[i].momentums = mom;
        ps[i].n_momentums = s->opt == OPT_ADAMW ? 2 : 1;
    }
    if (!st) {
        c->n_trainable = (size_t)s->n_params;
        c->groups[0].group_name = "group0";
        c->groups[0].step = s->step;
        c->groups[0].initial_learning_rate = s->lr;
        c->groups[0].params = ps;
        c->groups[0].n_params = (size_t)s->n_params;
        c->n_groups = 1;
        st = ot_ort_checkpoint_save(c, path);
    }
    ot_ort_checkpoint_destroy(c);
    return st;
}
