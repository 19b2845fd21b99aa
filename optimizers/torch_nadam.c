/* optimizers/torch_nadam.c: ai.onnxtrain::NAdam, torch.optim.NAdam exactly
 * (torch 1.13, _single_tensor_nadam; Dozat 2016, "Incorporating Nesterov
 * Momentum into Adam"), one node over any number of tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update, torch's state['step']; 1 on the first update),
 *            params[n], grads[n], exp_avg[n], exp_avg_sq[n]
 *   outputs: params_new[n], exp_avg_new[n], exp_avg_sq_new[n]
 *   attributes (torch's names and defaults): betas (FLOATS, 0.9, 0.999),
 *            eps 1e-8, weight_decay 0, momentum_decay 4e-3
 *
 *   mu_s = beta1 * (1 - 0.5 * 0.96^(s * momentum_decay))          (double)
 *   mu_product = prod_{s<=step} mu_s, accumulated in float32 as torch's
 *   state['mu_product'] tensor is; mu_product_next = mu_product * mu_step * mu_{step+1}
 *   if weight_decay: g = g + weight_decay * p
 *   m = m * beta1 + (1 - beta1) * g;  v = v * beta2 + ((1 - beta2) * g) * g
 *   denom = sqrt(v / (1 - beta2^step)) + eps
 *   p = p + (-lr (1 - mu) / (1 - mu_product)) * g / denom
 *   p = p + (-lr mu_next / (1 - mu_product_next)) * m / denom
 *
 * torch keeps mu_product as per-parameter state; it is a function of step
 * alone, so here it is recomputed from step (cached in the kernel: one
 * multiply per consecutive step) and the signature stays uniform. float32
 * operations in torch's order: bit-identical to torch's scalar
 * (ATEN_CPU_CAPABILITY=default) kernels. Layout: optim_util.h. */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double c_grad, c_avg, beta1, one_m_beta1, beta2, one_m_beta2, bc2, eps, weight_decay;
    bool has_wd;
} nadam_args_t;

typedef struct {
    ot_optim_layout_t *L;
    int64_t mp_step; /* mu_product after mp_step steps (0: 1.0f, torch's initial value) */
    float mp;
} nadam_state_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

#define NADAM_SEG(T)                                                                                        \
    static OT_OPTIM_CLONES void nadam_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, \
                                              int t, int64_t lo, int64_t hi) {                             \
        const nadam_args_t *a = a_;                                                                         \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *m = ot_optim_in(k, L, 2, t),   \
                *v = ot_optim_in(k, L, 3, t);                                                               \
        T *p_new = ot_optim_out(k, L, 0, t), *m_new = ot_optim_out(k, L, 1, t), *v_new = ot_optim_out(k, L, 2, t); \
        const T cg = (T)a->c_grad, ca = (T)a->c_avg, b1 = (T)a->beta1, omb1 = (T)a->one_m_beta1;           \
        const T b2 = (T)a->beta2, omb2 = (T)a->one_m_beta2, bc2 = (T)a->bc2, eps = (T)a->eps;              \
        const T wd = (T)a->weight_decay;                                                                    \
        const bool has_wd = a->has_wd;                                                                      \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T gi = g[i];                                                                                    \
            if (has_wd) gi = gi + wd * p[i];                                                                \
            T mi = m[i] * b1 + omb1 * gi;                                                                   \
            T vi = v[i] * b2 + omb2 * gi * gi;                                                              \
            T denom = sqrt_##T(vi / bc2) + eps;                                                             \
            T pi = p[i] + cg * gi / denom;                                                                  \
            p_new[i] = pi + ca * mi / denom;                                                                \
            m_new[i] = mi;                                                                                  \
            v_new[i] = vi;                                                                                  \
        }                                                                                                   \
    }
NADAM_SEG(float)
NADAM_SEG(double)

static double nadam_mu(double beta1, double momentum_decay, double s) {
    return beta1 * (1. - 0.5 * pow(0.96, s * momentum_decay));
}

static ot_status_t *nadam_infer(ot_infer_ctx_t *ctx) {
    const float *betas;
    int64_t nb = ot_attr_floats(ctx->node, "betas", &betas);
    if (nb >= 0 && nb != 2) return OT_INFER_ERROR(ctx, "attribute 'betas' has %lld values, expected 2", (long long)nb);
    return ot_optim_infer(ctx, 2, "params, grads, exp_avg, exp_avg_sq", "lr", "step");
}

static ot_status_t *nadam_setup(ot_kernel_t *k) {
    nadam_state_t *st = calloc(1, sizeof *st);
    if (!st) return ot_status_create(OT_ERR_NO_MEMORY, "NAdam: out of memory");
    st->mp = 1.0f;
    ot_status_t *s = ot_optim_layout_create(k, 2, &st->L);
    if (s) {
        free(st);
        return s;
    }
    k->state = st;
    return NULL;
}

static ot_status_t *nadam_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    nadam_state_t *st = k->state;
    const float *betas;
    double beta1 = 0.9, beta2 = 0.999;
    if (ot_attr_floats(nd, "betas", &betas) == 2) beta1 = ot_optim_widen(betas[0]), beta2 = ot_optim_widen(betas[1]);
    double lr = ot_optim_lr(k, st->L), step_d = ot_optim_scalar(k, 1), wd = ot_optim_attr(nd, "weight_decay", 0);
    double md = ot_optim_attr(nd, "momentum_decay", 4e-3);
    if (!(step_d >= 1 && step_d <= 9e15))
        return OT_KERNEL_ERROR(k, "step is %g; it counts updates including this one, so it must be >= 1", step_d);
    int64_t step = (int64_t)step_d;
    /* mu_product after step - 1 steps, as torch's float32 tensor holds it. */
    if (st->mp_step > step - 1) st->mp_step = 0, st->mp = 1.0f;
    for (; st->mp_step < step - 1; st->mp_step++) st->mp = st->mp * (float)nadam_mu(beta1, md, (double)(st->mp_step + 1));
    double mu = nadam_mu(beta1, md, (double)step), mu_next = nadam_mu(beta1, md, (double)(step + 1));
    float mp = st->mp * (float)mu;                  /* mu_product *= mu */
    float mp_next = mp * (float)mu * (float)mu_next; /* mu_product * mu * mu_next */
    nadam_args_t a = {.c_grad = -lr * (1. - mu) / (1. - (double)mp),
                      .c_avg = -lr * mu_next / (1. - (double)mp_next),
                      .beta1 = beta1,
                      .one_m_beta1 = 1 - beta1,
                      .beta2 = beta2,
                      .one_m_beta2 = 1 - beta2,
                      .bc2 = 1 - pow(beta2, step_d),
                      .eps = ot_optim_attr(nd, "eps", 1e-8),
                      .weight_decay = wd,
                      .has_wd = wd != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, st->L, f32 ? nadam_seg_float : nadam_seg_double, &a);
    return NULL;
}

static void nadam_release(ot_kernel_t *k) {
    nadam_state_t *st = k->state;
    if (!st) return;
    ot_optim_layout_destroy(st->L);
    free(st);
}

static const ot_attr_spec_t nadam_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"momentum_decay", OT_ATTR_FLOAT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t nadam_states[] = {
    {"exp_avg", NULL, NULL},
    {"exp_avg_sq", NULL, NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_NAdam_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "NAdam",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = nadam_attrs,
    .infer = nadam_infer,
    .setup = nadam_setup,
    .run = nadam_run,
    .release = nadam_release,
    .doc = "torch.optim.NAdam: Adam with Nesterov momentum and the mu_t momentum schedule (momentum_decay)",
    .flags = OT_OP_OPTIMIZER,
    .states = nadam_states,
    .default_lr = 2e-3f,
};
