/* optimizers/torch_adam.c: ai.onnxtrain::Adam and ai.onnxtrain::AdamW,
 * torch.optim.Adam and torch.optim.AdamW exactly (torch 1.13,
 * _single_tensor_adam / _single_tensor_adamw), one node over any number of
 * tensors; AdamW also in ONNX Runtime's AdamWOptimizer mode 1 (Hugging
 * Face transformers.AdamW), so ORT's optimizer models run on this kernel.
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update, torch's state['step']; 1 on the first update),
 *            params[n], grads[n], exp_avg[n], exp_avg_sq[n],
 *            max_exp_avg_sq[n] (only when amsgrad)
 *   outputs: params_new[n], exp_avg_new[n], exp_avg_sq_new[n],
 *            max_exp_avg_sq_new[n] (only when amsgrad)
 *   attributes (torch's names and defaults): betas (FLOATS, 0.9, 0.999),
 *            eps 1e-8, weight_decay 0 (Adam) / 0.01 (AdamW), amsgrad 0,
 *            maximize 0; AdamW only (ORT's names): adam_mode 0, correct_bias 1
 *
 *   g = maximize ? -g : g
 *   Adam:  if weight_decay: g = g + weight_decay * p      (coupled L2)
 *   AdamW mode 0: p = p * (1 - lr * weight_decay)         (decoupled, before)
 *   m = m * beta1 + (1 - beta1) * g
 *   v = v * beta2 + ((1 - beta2) * g) * g
 *   amsgrad: vmax = max(vmax, v), used for v below
 *   Adam, AdamW mode 0:
 *     p = p + (-lr / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 *   AdamW mode 1 (bias correction folded into the rate, decay after):
 *     lr_t = lr * sqrt(1 - beta2^step) / (1 - beta1^step)
 *     p = p + (-lr_t) * m / (sqrt(v) + eps)
 *     p = p + (-lr * weight_decay) * p
 *   correct_bias 0 (AdamW, either mode): both corrections are 1.
 *
 * Scalars are formed in double (torch does them in Python floats) and
 * rounded to float where torch passes them to a float kernel, and the
 * float32 operations follow torch's order, so results are bit-identical to
 * torch's scalar (ATEN_CPU_CAPABILITY=default) kernels. Mode 1 follows the
 * same conventions (ORT forms its corrections in float32, so ORT's results
 * differ from ours in the last bits). Layout and the parallel pass:
 * optim_util.h.
 *
 * Not here: ONNX's Adam (optimizers/onnx_training.c: epsilon before the
 * bias correction, T = 0 means no correction). */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double neg_step_size, bc2_sqrt, beta1, one_m_beta1, beta2, one_m_beta2, eps, weight_decay, decay, neg_lr_wd;
    bool coupled, decay_after, amsgrad, maximize;
} adam_args_t;


static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

/* One loop per structural variant (AMS a literal), so each vectorizes;
 * the other flags are loop-invariant selects. */
#define ADAM_LOOP(T, AMS)                                                                                   \
    _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                                 \
        T gi = maximize ? -g[i] : g[i];                                                                     \
        T pi = p[i] * decay; /* decay is 1 unless AdamW mode 0: p * 1 is p, bit for bit */                 \
        T gw = gi + wd * pi;                                                                                \
        gi = coupled ? gw : gi;                                                                             \
        T mi = m[i] * b1 + omb1 * gi;                                                                       \
        T vi = v[i] * b2 + omb2 * gi * gi;                                                                  \
        T vv = vi;                                                                                          \
        if (AMS) {                                                                                          \
            T old = vmax[i];                                                                                \
            vv = old > vi ? old : vi;                                                                       \
            vv = old != old ? old : vv; /* torch.maximum propagates NaN */                                   \
            vmax_new[i] = vv;                                                                               \
        }                                                                                                   \
        T pn = pi + nss * mi / (sqrt_##T(vv) / bc2s + eps);                                                 \
        p_new[i] = decay_after ? pn + nlrwd * pn : pn;                                                      \
        m_new[i] = mi;                                                                                      \
        v_new[i] = vi;                                                                                      \
    }

#define ADAM_SEG(T)                                                                                         \
    static OT_OPTIM_CLONES void adam_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, \
                                             int t, int64_t lo, int64_t hi) {                              \
        const adam_args_t *a = a_;                                                                          \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *m = ot_optim_in(k, L, 2, t),   \
                *v = ot_optim_in(k, L, 3, t);                                                               \
        T *p_new = ot_optim_out(k, L, 0, t), *m_new = ot_optim_out(k, L, 1, t), *v_new = ot_optim_out(k, L, 2, t); \
        const T nss = (T)a->neg_step_size, bc2s = (T)a->bc2_sqrt, b1 = (T)a->beta1, omb1 = (T)a->one_m_beta1; \
        const T b2 = (T)a->beta2, omb2 = (T)a->one_m_beta2, eps = (T)a->eps, wd = (T)a->weight_decay;      \
        const T decay = (T)a->decay, nlrwd = (T)a->neg_lr_wd;                                               \
        const bool maximize = a->maximize, coupled = a->coupled;                                            \
        const bool decay_after = a->decay_after;                                                            \
        if (a->amsgrad) {                                                                                   \
            const T *vmax = ot_optim_in(k, L, 4, t);                                                        \
            T *vmax_new = ot_optim_out(k, L, 3, t);                                                         \
            ADAM_LOOP(T, 1)                                                                                 \
        } else {                                                                                            \
            const T *vmax = v;                                                                              \
            T *vmax_new = v_new;                                                                            \
            (void)vmax, (void)vmax_new;                                                                     \
            ADAM_LOOP(T, 0)                                                                                 \
        }                                                                                                   \
    }
ADAM_SEG(float)
ADAM_SEG(double)

static bool is_adamw(const ot_node_info_t *node) { return strcmp(node->op_type, "AdamW") == 0; }
static int adam_state_groups(const ot_node_info_t *node) { return 2 + (ot_attr_int(node, "amsgrad", 0) != 0); }

static ot_status_t *adam_infer(ot_infer_ctx_t *ctx) {
    const float *betas;
    int64_t nb = ot_attr_floats(ctx->node, "betas", &betas);
    if (nb >= 0 && nb != 2) return OT_INFER_ERROR(ctx, "attribute 'betas' has %lld values, expected 2", (long long)nb);
    int64_t mode = ot_attr_int(ctx->node, "adam_mode", 0), correct = ot_attr_int(ctx->node, "correct_bias", 1);
    if (mode != 0 && mode != 1)
        return OT_INFER_ERROR(ctx, "attribute 'adam_mode' is %lld: 0 (torch AdamW) or 1 (Hugging Face AdamW)",
                              (long long)mode);
    if (correct != 0 && correct != 1)
        return OT_INFER_ERROR(ctx, "attribute 'correct_bias' is %lld, expected 0 or 1", (long long)correct);
    bool ams = adam_state_groups(ctx->node) == 3;
    return ot_optim_infer(ctx, ams ? 3 : 2,
                          ams ? "params, grads, exp_avg, exp_avg_sq, max_exp_avg_sq" : "params, grads, exp_avg, exp_avg_sq",
                          "lr", "step");
}

static ot_status_t *adam_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, adam_state_groups(k->node), (ot_optim_layout_t **)&k->state);
}

static ot_status_t *adam_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    const float *betas;
    double beta1 = 0.9, beta2 = 0.999;
    if (ot_attr_floats(nd, "betas", &betas) == 2) beta1 = ot_optim_widen(betas[0]), beta2 = ot_optim_widen(betas[1]);
    bool adamw = is_adamw(nd), mode1 = adamw && ot_attr_int(nd, "adam_mode", 0) == 1;
    double lr = ot_optim_lr(k, k->state), step = ot_optim_scalar(k, 1);
    double wd = ot_optim_attr(nd, "weight_decay", adamw ? 0.01 : 0.0);
    /* As torch: bias corrections in double, step_size = lr / bc1. */
    bool correct = !adamw || ot_attr_int(nd, "correct_bias", 1) != 0;
    double bc1 = correct ? 1 - pow(beta1, step) : 1, bc2 = correct ? 1 - pow(beta2, step) : 1;
    adam_args_t a = {.neg_step_size = mode1 ? -(lr * sqrt(bc2) / bc1) : -(lr / bc1),
                     .bc2_sqrt = mode1 ? 1 : sqrt(bc2), /* mode 1: sqrt(v) / 1 is sqrt(v) exactly */
                     .beta1 = beta1,
                     .one_m_beta1 = 1 - beta1,
                     .beta2 = beta2,
                     .one_m_beta2 = 1 - beta2,
                     .eps = ot_optim_attr(nd, "eps", 1e-8),
                     .weight_decay = wd,
                     .decay = adamw && !mode1 ? 1 - lr * wd : 1,
                     .neg_lr_wd = -(lr * wd),
                     .coupled = !adamw && wd != 0,
                     .decay_after = mode1 && wd != 0,
                     .amsgrad = ot_attr_int(nd, "amsgrad", 0) != 0,
                     .maximize = ot_attr_int(nd, "maximize", 0) != 0};
    if (step < 1) return OT_KERNEL_ERROR(k, "step is %g; it counts updates including this one, so it must be >= 1", step);
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? adam_seg_float : adam_seg_double, &a);
    return NULL;
}

static void adam_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t adam_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"amsgrad", OT_ATTR_INT, false},
    {"maximize", OT_ATTR_INT, false},
    {NULL, 0, false},
};

/* AdamW also takes ONNX Runtime's AdamWOptimizer mode switches. */
static const ot_attr_spec_t adamw_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"amsgrad", OT_ATTR_INT, false},
    {"maximize", OT_ATTR_INT, false},
    {"adam_mode", OT_ATTR_INT, false},
    {"correct_bias", OT_ATTR_INT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t adam_states[] = {
    {"exp_avg", NULL, NULL},
    {"exp_avg_sq", NULL, NULL},
    {"max_exp_avg_sq", "amsgrad", NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_Adam_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "Adam",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = adam_attrs,
    .infer = adam_infer,
    .setup = adam_setup,
    .run = adam_run,
    .release = adam_release,
    .doc = "torch.optim.Adam (coupled L2 weight_decay, amsgrad, maximize)",
    .flags = OT_OP_OPTIMIZER,
    .states = adam_states,
    .default_lr = 1e-3f,
};

const ot_op_def_t ot_op_ot_AdamW_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "AdamW",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = adamw_attrs,
    .infer = adam_infer,
    .setup = adam_setup,
    .run = adam_run,
    .release = adam_release,
    .doc = "torch.optim.AdamW (decoupled decay p *= 1 - lr*weight_decay, amsgrad, maximize); adam_mode 1: ORT's mode 1, Hugging Face's (lr_t = lr*sqrt(1-b2^t)/(1-b1^t), decay after the step); correct_bias 0: no bias correction",
    .flags = OT_OP_OPTIMIZER,
    .states = adam_states,
    .default_lr = 1e-3f,
};
