/* optimizers/lamb.c: ai.onnxtrain::LAMB (layer-wise adaptive moments; You
 * et al. 2020, "Large Batch Optimization for Deep Learning: Training BERT
 * in 76 minutes", arXiv:1904.00962, Algorithm 2 with bias correction and
 * phi = identity), one node over any number of tensors, each tensor its own
 * "layer". torch 1.13 has no LAMB; this is the paper's formula in the
 * operation order of the float32 torch twin in
 * tools/fixtures/gen_optim_fixtures.py:
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update; 1 on the first update), params[n], grads[n],
 *            exp_avg[n], exp_avg_sq[n]
 *   outputs: params_new[n], exp_avg_new[n], exp_avg_sq_new[n]
 *   attributes: betas (FLOATS, 0.9, 0.999), eps 1e-6, weight_decay 0.01
 *
 *   m = m * beta1 + (1 - beta1) * g;  v = v * beta2 + ((1 - beta2) * g) * g
 *   u = (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps) + weight_decay * p
 *   per tensor: trust = |p|_2 > 0 and |u|_2 > 0 ? |p|_2 / |u|_2 : 1   (norms in double)
 *   p = p + (float)(-lr * trust) * u
 *
 * Two passes over the concatenated tensors: the first updates m and v and
 * accumulates per-thread, per-tensor sums of squares (double); the second
 * applies the trust ratio. Not here: gradient-norm clipping (a separate
 * step), trust-ratio clamping, excluding tensors from adaptation. */
#include "optimizers/optim_util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

typedef struct {
    ot_optim_layout_t *L;
    int max_threads;
    double *sums;  /* (max_threads, n, 2): sum p^2, sum u^2 */
    double *scale; /* (n): -lr * trust, per tensor */
} lamb_state_t;

typedef struct {
    double beta1, one_m_beta1, beta2, one_m_beta2, bc1, bc2, eps, weight_decay;
    const lamb_state_t *st;
} lamb_args_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

#define LAMB_SEGS(T)                                                                                        \
    /* Pass 1: moments, and the sums of squares of p and of the update u. */                               \
    static OT_OPTIM_CLONES void lamb_moments_##T(const ot_kernel_t *k, const ot_optim_layout_t *L,         \
                                                 const void *a_, int t, int64_t lo, int64_t hi) {           \
        const lamb_args_t *a = a_;                                                                          \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *m = ot_optim_in(k, L, 2, t),   \
                *v = ot_optim_in(k, L, 3, t);                                                               \
        T *m_new = ot_optim_out(k, L, 1, t), *v_new = ot_optim_out(k, L, 2, t);                             \
        const T b1 = (T)a->beta1, omb1 = (T)a->one_m_beta1, b2 = (T)a->beta2, omb2 = (T)a->one_m_beta2;    \
        const T bc1 = (T)a->bc1, bc2 = (T)a->bc2, eps = (T)a->eps, wd = (T)a->weight_decay;                \
        double pp = 0, uu = 0;                                                                              \
        _Pragma("omp simd reduction(+ : pp, uu)") for (int64_t i = lo; i < hi; i++) {                      \
            T gi = g[i], pi = p[i];                                                                         \
            T mi = m[i] * b1 + omb1 * gi;                                                                   \
            T vi = v[i] * b2 + omb2 * gi * gi;                                                              \
            T u = mi / bc1 / (sqrt_##T(vi / bc2) + eps) + wd * pi;                                          \
            pp += (double)pi * (double)pi;                                                                  \
            uu += (double)u * (double)u;                                                                    \
            m_new[i] = mi;                                                                                  \
            v_new[i] = vi;                                                                                  \
        }                                                                                                   \
        double *s = a->st->sums + ((size_t)omp_get_thread_num() * (size_t)L->n + (size_t)t) * 2;           \
        s[0] += pp;                                                                                         \
        s[1] += uu;                                                                                         \
    }                                                                                                       \
    /* Pass 2: p + scale_t * u, u recomputed from the new moments. */                                      \
    static OT_OPTIM_CLONES void lamb_apply_##T(const ot_kernel_t *k, const ot_optim_layout_t *L,           \
                                               const void *a_, int t, int64_t lo, int64_t hi) {             \
        const lamb_args_t *a = a_;                                                                          \
        const T *p = ot_optim_in(k, L, 0, t);                                                               \
        const T *m = ot_optim_out(k, L, 1, t), *v = ot_optim_out(k, L, 2, t);                               \
        T *p_new = ot_optim_out(k, L, 0, t);                                                                \
        const T bc1 = (T)a->bc1, bc2 = (T)a->bc2, eps = (T)a->eps, wd = (T)a->weight_decay;                \
        const T scale = (T)a->st->scale[t];                                                                 \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T u = m[i] / bc1 / (sqrt_##T(v[i] / bc2) + eps) + wd * p[i];                                    \
            p_new[i] = p[i] + scale * u;                                                                    \
        }                                                                                                   \
    }
LAMB_SEGS(float)
LAMB_SEGS(double)

static ot_status_t *lamb_infer(ot_infer_ctx_t *ctx) {
    const float *betas;
    int64_t nb = ot_attr_floats(ctx->node, "betas", &betas);
    if (nb >= 0 && nb != 2) return OT_INFER_ERROR(ctx, "attribute 'betas' has %lld values, expected 2", (long long)nb);
    return ot_optim_infer(ctx, 2, "params, grads, exp_avg, exp_avg_sq", "lr", "step");
}

static void lamb_release(ot_kernel_t *k) {
    lamb_state_t *st = k->state;
    if (!st) return;
    ot_optim_layout_destroy(st->L);
    free(st->sums);
    free(st->scale);
    free(st);
}

static ot_status_t *lamb_setup(ot_kernel_t *k) {
    lamb_state_t *st = calloc(1, sizeof *st);
    if (!st) return ot_status_create(OT_ERR_NO_MEMORY, "LAMB: out of memory");
    k->state = st;
    ot_status_t *s = ot_optim_layout_create(k, 2, &st->L);
    if (s) {
        lamb_release(k);
        k->state = NULL;
        return s;
    }
    st->max_threads = omp_get_max_threads();
    st->sums = calloc((size_t)st->max_threads * (size_t)st->L->n * 2, sizeof *st->sums);
    st->scale = calloc((size_t)st->L->n, sizeof *st->scale);
    if (!st->sums || !st->scale) {
        lamb_release(k);
        k->state = NULL;
        return ot_status_create(OT_ERR_NO_MEMORY, "LAMB: out of memory");
    }
    return NULL;
}

static ot_status_t *lamb_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    lamb_state_t *st = k->state;
    const float *betas;
    double beta1 = 0.9, beta2 = 0.999;
    if (ot_attr_floats(nd, "betas", &betas) == 2) beta1 = ot_optim_widen(betas[0]), beta2 = ot_optim_widen(betas[1]);
    double lr = ot_optim_lr(k, st->L), step = ot_optim_scalar(k, 1);
    if (step < 1) return OT_KERNEL_ERROR(k, "step is %g; it counts updates including this one, so it must be >= 1", step);
    /* The thread count may have grown since setup (omp_set_num_threads). */
    if (omp_get_max_threads() > st->max_threads)
        return OT_KERNEL_ERROR(k, "OpenMP threads grew from %d to %d after planning", st->max_threads,
                               omp_get_max_threads());
    int n = st->L->n;
    memset(st->sums, 0, (size_t)st->max_threads * (size_t)n * 2 * sizeof *st->sums);
    lamb_args_t a = {.beta1 = beta1,
                     .one_m_beta1 = 1 - beta1,
                     .beta2 = beta2,
                     .one_m_beta2 = 1 - beta2,
                     .bc1 = 1 - pow(beta1, step),
                     .bc2 = 1 - pow(beta2, step),
                     .eps = ot_optim_attr(nd, "eps", 1e-6),
                     .weight_decay = ot_optim_attr(nd, "weight_decay", 0.01),
                     .st = st};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, st->L, f32 ? lamb_moments_float : lamb_moments_double, &a);
    for (int t = 0; t < n; t++) {
        double pp = 0, uu = 0;
        for (int th = 0; th < st->max_threads; th++) pp += st->sums[(th * n + t) * 2], uu += st->sums[(th * n + t) * 2 + 1];
        double wn = sqrt(pp), un = sqrt(uu);
        st->scale[t] = -lr * (wn > 0 && un > 0 ? wn / un : 1.0);
    }
    ot_optim_for_each(k, st->L, f32 ? lamb_apply_float : lamb_apply_double, &a);
    return NULL;
}

static const ot_attr_spec_t lamb_attrs[] = {
    {"betas", OT_ATTR_FLOATS, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t lamb_states[] = {
    {"exp_avg", NULL, NULL},
    {"exp_avg_sq", NULL, NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_LAMB_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "LAMB",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = lamb_attrs,
    .infer = lamb_infer,
    .setup = lamb_setup,
    .run = lamb_run,
    .release = lamb_release,
    .doc = "LAMB (You et al. 2020): Adam direction + weight_decay*p, scaled per tensor by |p|/|update|",
    .flags = OT_OP_OPTIMIZER,
    .states = lamb_states,
    .default_lr = 1e-3f,
};
