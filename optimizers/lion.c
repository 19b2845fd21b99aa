/* optimizers/lion.c: ai.onnxtrain::Lion (EvoLved Sign Momentum; Chen et al.
 * 2023, "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675,
 * Algorithm 2), one node over any number of tensors. torch 1.13 has no
 * Lion; the reference is the paper's authors' PyTorch form (as in
 * lucidrains/lion-pytorch update_fn), whose operation order this follows:
 *
 *   inputs:  lr (float scalar), step (int64 scalar; unused by the formula,
 *            kept for the uniform signature), params[n], grads[n], exp_avg[n]
 *   outputs: params_new[n], exp_avg_new[n]
 *   attributes: betas (FLOATS, 0.9, 0.99), weight_decay 0, maximize 0
 *
 *   g = maximize ? -g : g
 *   p = p * (1 - lr * weight_decay)                    (decoupled decay)
 *   p = p + (-lr) * sign(exp_avg * beta1 + (1 - beta1) * g)    (sign(0) = 0)
 *   exp_avg = exp_avg * beta2 + (1 - beta2) * g
 *
 * Scalars formed in double and rounded to float as a PyTorch
 * implementation does; tests/fixtures/optim has a torch float32 twin of
 * the reference (tools/fixtures/gen_optim_fixtures.py) that this matches
 * bit for bit. Layout and parallel pass: optim_util.h. */
#include "optimizers/optim_util.h"

#include <stdlib.h>

typedef struct {
    double neg_lr, decay, beta1, one_m_beta1, beta2, one_m_beta2;
    bool maximize;
} lion_args_t;

#define LION_SEG(T)                                                                                         \
    static OT_OPTIM_CLONES void lion_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, \
                                             int t, int64_t lo, int64_t hi) {                              \
        const lion_args_t *a = a_;                                                                          \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *m = ot_optim_in(k, L, 2, t);   \
        T *p_new = ot_optim_out(k, L, 0, t), *m_new = ot_optim_out(k, L, 1, t);                             \
        const T neg_lr = (T)a->neg_lr, decay = (T)a->decay, b1 = (T)a->beta1, omb1 = (T)a->one_m_beta1;    \
        const T b2 = (T)a->beta2, omb2 = (T)a->one_m_beta2;                                                 \
        const bool maximize = a->maximize;                                                                  \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T gi = maximize ? -g[i] : g[i];                                                                 \
            T c = m[i] * b1 + omb1 * gi;                                                                    \
            T u = c > 0 ? (T)1 : c < 0 ? (T)-1 : (T)0;                                                      \
            u = c != c ? c : u; /* torch.sign(NaN) is NaN */                                                \
            p_new[i] = p[i] * decay + neg_lr * u;                                                           \
            m_new[i] = m[i] * b2 + omb2 * gi;                                                               \
        }                                                                                                   \
    }
LION_SEG(float)
LION_SEG(double)

static ot_status_t *lion_infer(ot_infer_ctx_t *ctx) {
    const float *betas;
    int64_t nb = ot_attr_floats(ctx->node, "betas", &betas);
    if (nb >= 0 && nb != 2) return OT_INFER_ERROR(ctx, "attribute 'betas' has %lld values, expected 2", (long long)nb);
    return ot_optim_infer(ctx, 1, "params, grads, exp_avg", "lr", "step");
}

static ot_status_t *lion_setup(ot_kernel_t *k) { return ot_optim_layout_create(k, 1, (ot_optim_layout_t **)&k->state); }

static ot_status_t *lion_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    const float *betas;
    double beta1 = 0.9, beta2 = 0.99;
    if (ot_attr_floats(nd, "betas", &betas) == 2) beta1 = ot_optim_widen(betas[0]), beta2 = ot_optim_widen(betas[1]);
    double lr = ot_optim_lr(k, k->state);
    lion_args_t a = {.neg_lr = -lr,
                     .decay = 1 - lr * ot_optim_attr(nd, "weight_decay", 0),
                     .beta1 = beta1,
                     .one_m_beta1 = 1 - beta1,
                     .beta2 = beta2,
                     .one_m_beta2 = 1 - beta2,
                     .maximize = ot_attr_int(nd, "maximize", 0) != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? lion_seg_float : lion_seg_double, &a);
    return NULL;
}

static void lion_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t lion_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"maximize", OT_ATTR_INT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t lion_states[] = {
    {"exp_avg", NULL, NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_Lion_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "Lion",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,
    .min_outputs = 2, .max_outputs = -1,
    .attrs = lion_attrs,
    .infer = lion_infer,
    .setup = lion_setup,
    .run = lion_run,
    .release = lion_release,
    .doc = "Lion (Chen et al. 2023): p = p*(1-lr*wd) - lr*sign(beta1*m + (1-beta1)*g); m = beta2*m + (1-beta2)*g",
    .flags = OT_OP_OPTIMIZER,
    .states = lion_states,
    .default_lr = 1e-4f,
};
