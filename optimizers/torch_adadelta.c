/* optimizers/torch_adadelta.c: ai.onnxtrain::Adadelta, torch.optim.Adadelta
 * exactly (torch 1.13, _single_tensor_adadelta), one node over any number
 * of tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar, torch's state['step'];
 *            unused by the formula, kept for the uniform signature),
 *            params[n], grads[n], square_avg[n], acc_delta[n]
 *   outputs: params_new[n], square_avg_new[n], acc_delta_new[n]
 *   attributes (torch's names and defaults): rho 0.9, eps 1e-6,
 *            weight_decay 0, maximize 0
 *
 *   g = maximize ? -g : g;  if weight_decay: g = g + weight_decay * p
 *   square_avg = square_avg * rho + ((1 - rho) * g) * g
 *   delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
 *   acc_delta = acc_delta * rho + ((1 - rho) * delta) * delta
 *   p = p + (-lr) * delta
 *
 * float32 operations in torch's order with torch's scalar roundings:
 * bit-identical to torch's scalar (ATEN_CPU_CAPABILITY=default) kernels.
 * Layout and parallel pass: optim_util.h. */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double neg_lr, rho, one_m_rho, eps, weight_decay;
    bool has_wd, maximize;
} adadelta_args_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

#define ADADELTA_SEG(T)                                                                                     \
    static OT_OPTIM_CLONES void adadelta_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L,         \
                                                 const void *a_, int t, int64_t lo, int64_t hi) {           \
        const adadelta_args_t *a = a_;                                                                      \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *sq = ot_optim_in(k, L, 2, t),  \
                *acc = ot_optim_in(k, L, 3, t);                                                             \
        T *p_new = ot_optim_out(k, L, 0, t), *sq_new = ot_optim_out(k, L, 1, t), *acc_new = ot_optim_out(k, L, 2, t); \
        const T neg_lr = (T)a->neg_lr, rho = (T)a->rho, omr = (T)a->one_m_rho, eps = (T)a->eps;            \
        const T wd = (T)a->weight_decay;                                                                    \
        const bool maximize = a->maximize, has_wd = a->has_wd;                                              \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T gi = maximize ? -g[i] : g[i];                                                                 \
            if (has_wd) gi = gi + wd * p[i];                                                                \
            T s = sq[i] * rho + omr * gi * gi;                                                              \
            T delta = sqrt_##T(acc[i] + eps) / sqrt_##T(s + eps) * gi;                                      \
            acc_new[i] = acc[i] * rho + omr * delta * delta;                                                \
            p_new[i] = p[i] + neg_lr * delta;                                                               \
            sq_new[i] = s;                                                                                  \
        }                                                                                                   \
    }
ADADELTA_SEG(float)
ADADELTA_SEG(double)

static ot_status_t *adadelta_infer(ot_infer_ctx_t *ctx) {
    return ot_optim_infer(ctx, 2, "params, grads, square_avg, acc_delta", "lr", "step");
}

static ot_status_t *adadelta_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, 2, (ot_optim_layout_t **)&k->state);
}

static ot_status_t *adadelta_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double rho = ot_optim_attr(nd, "rho", 0.9), wd = ot_optim_attr(nd, "weight_decay", 0);
    adadelta_args_t a = {.neg_lr = -ot_optim_lr(k, k->state),
                         .rho = rho,
                         .one_m_rho = 1 - rho,
                         .eps = ot_optim_attr(nd, "eps", 1e-6),
                         .weight_decay = wd,
                         .has_wd = wd != 0,
                         .maximize = ot_attr_int(nd, "maximize", 0) != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? adadelta_seg_float : adadelta_seg_double, &a);
    return NULL;
}

static void adadelta_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t adadelta_attrs[] = {
    {"rho", OT_ATTR_FLOAT, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"maximize", OT_ATTR_INT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t adadelta_states[] = {
    {"square_avg", NULL, NULL},
    {"acc_delta", NULL, NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_Adadelta_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "Adadelta",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = adadelta_attrs,
    .infer = adadelta_infer,
    .setup = adadelta_setup,
    .run = adadelta_run,
    .release = adadelta_release,
    .doc = "torch.optim.Adadelta: delta = sqrt(acc+eps)/sqrt(sq+eps)*g; p -= lr*delta",
    .flags = OT_OP_OPTIMIZER,
    .states = adadelta_states,
    .default_lr = 1.0f,
};
