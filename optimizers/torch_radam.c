/* optimizers/torch_radam.c: ai.onnxtrain::RAdam, torch.optim.RAdam exactly
 * (torch 1.13, _single_tensor_radam; Liu et al. 2020, "On the Variance of
 * the Adaptive Learning Rate and Beyond"), one node over any number of
 * tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update, torch's state['step']; 1 on the first update),
 *            params[n], grads[n], exp_avg[n], exp_avg_sq[n]
 *   outputs: params_new[n], exp_avg_new[n], exp_avg_sq_new[n]
 *   attributes (torch's names and defaults): betas (FLOATS, 0.9, 0.999),
 *            eps 1e-8, weight_decay 0
 *
 *   if weight_decay: g = g + weight_decay * p
 *   m = m * beta1 + (1 - beta1) * g;  v = v * beta2 + ((1 - beta2) * g) * g
 *   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step            (double, as torch)
 *   rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 step beta2^step / bc2
 *   m_hat = m / bc1
 *   rho_t > 5: rect = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))
 *              adaptive = (1 / (sqrt(v) + eps)) * sqrt(bc2)   (torch's scalar / tensor)
 *              p = p + (-1) * (((m_hat * lr) * adaptive) * rect)
 *   else:      p = p + (-1) * (m_hat * lr)
 *
 * float32 operations in torch's order with torch's scalar roundings:
 * bit-identical to torch's scalar (ATEN_CPU_CAPABILITY=default) kernels.
 * Layout and parallel pass: optim_util.h. */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double lr, beta1, one_m_beta1, beta2, one_m_beta2, bc1, bc2_sqrt, rect, eps, weight_decay;
    bool has_wd, rectified;
} radam_args_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

#define RADAM_LOOP(T, RECT)                                                                                 \
    _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                                 \
        T gi = g[i];                                                                                        \
        if (has_wd) gi = gi + wd * p[i];                                                                    \
        T mi = m[i] * b1 + omb1 * gi;                                                                       \
        T vi = v[i] * b2 + omb2 * gi * gi;                                                                  \
        T step_val = mi / bc1 * lr;                                                                         \
        if (RECT) step_val = step_val * ((T)1 / (sqrt_##T(vi) + eps) * bc2s) * rect;                        \
        p_new[i] = p[i] + (T)-1 * step_val;                                                                 \
        m_new[i] = mi;                                                                                      \
        v_new[i] = vi;                                                                                      \
    }

#define RADAM_SEG(T)                                                                                        \
    static OT_OPTIM_CLONES void radam_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, \
                                              int t, int64_t lo, int64_t hi) {                             \
        const radam_args_t *a = a_;                                                                         \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *m = ot_optim_in(k, L, 2, t),   \
                *v = ot_optim_in(k, L, 3, t);                                                               \
        T *p_new = ot_optim_out(k, L, 0, t), *m_new = ot_optim_out(k, L, 1, t), *v_new = ot_optim_out(k, L, 2, t); \
        const T lr = (T)a->lr, b1 = (T)a->beta1, omb1 = (T)a->one_m_beta1, b2 = (T)a->beta2;               \
        const T omb2 = (T)a->one_m_beta2, bc1 = (T)a->bc1, bc2s = (T)a->bc2_sqrt, rect = (T)a->rect;        \
        const T eps = (T)a->eps, wd = (T)a->weight_decay;                                                   \
        const bool has_wd = a->has_wd;                                                                      \
        if (a->rectified) RADAM_LOOP(T, 1)                                                                  \
        else RADAM_LOOP(T, 0)                                                                               \
    }
RADAM_SEG(float)
RADAM_SEG(double)

static ot_status_t *radam_infer(ot_infer_ctx_t *ctx) {
    const float *betas;
    int64_t nb = ot_attr_floats(ctx->node, "betas", &betas);
    if (nb >= 0 && nb != 2) return OT_INFER_ERROR(ctx, "attribute 'betas' has %lld values, expected 2", (long long)nb);
    return ot_optim_infer(ctx, 2, "params, grads, exp_avg, exp_avg_sq", "lr", "step");
}

static ot_status_t *radam_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, 2, (ot_optim_layout_t **)&k->state);
}

static ot_status_t *radam_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    const float *betas;
    double beta1 = 0.9, beta2 = 0.999;
    if (ot_attr_floats(nd, "betas", &betas) == 2) beta1 = ot_optim_widen(betas[0]), beta2 = ot_optim_widen(betas[1]);
    double lr = ot_optim_lr(k, k->state), step = ot_optim_scalar(k, 1), wd = ot_optim_attr(nd, "weight_decay", 0);
    if (step < 1) return OT_KERNEL_ERROR(k, "step is %g; it counts updates including this one, so it must be >= 1", step);
    /* torch's Python arithmetic, in its order */
    double bc1 = 1 - pow(beta1, step), bc2 = 1 - pow(beta2, step);
    double rho_inf = 2 / (1 - beta2) - 1;
    double rho_t = rho_inf - 2 * step * pow(beta2, step) / bc2;
    radam_args_t a = {.lr = lr,
                      .beta1 = beta1,
                      .one_m_beta1 = 1 - beta1,
                      .beta2 = beta2,
                      .one_m_beta2 = 1 - beta2,
                      .bc1 = bc1,
                      .bc2_sqrt = sqrt(bc2),
                      .rect = 0,
                      .eps = ot_optim_attr(nd, "eps", 1e-8),
                      .weight_decay = wd,
                      .has_wd = wd != 0,
                      .rectified = rho_t > 5.0};
    if (a.rectified)
        a.rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? radam_seg_float : radam_seg_double, &a);
    return NULL;
}

static void radam_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t radam_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t radam_states[] = {
    {"exp_avg", NULL, NULL},
    {"exp_avg_sq", NULL, NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_RAdam_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "RAdam",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = radam_attrs,
    .infer = radam_infer,
    .setup = radam_setup,
    .run = radam_run,
    .release = radam_release,
    .doc = "torch.optim.RAdam: Adam with variance rectification once rho_t > 5, SGD-with-momentum steps before",
    .flags = OT_OP_OPTIMIZER,
    .states = radam_states,
    .default_lr = 1e-3f,
};
