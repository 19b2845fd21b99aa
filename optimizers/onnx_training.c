/* optimizers/onnx_training.c: ONNX's optimizer ops, ai.onnx.preview.training
 * opset 1 (onnx/defs/training/defs.cc), exactly as specified, over any
 * number of tensors per node:
 *
 *   Adagrad(R, T, X..., G..., H...) -> X_new..., H_new...
 *     r = R / (1 + T * decay_factor);  G_reg = norm_coefficient * X + G
 *     H_new = H + G_reg * G_reg;  X_new = X - r * G_reg / (Sqrt(H_new) + epsilon)
 *   Momentum(R, T, X..., G..., V...) -> X_new..., V_new...
 *     G_reg = norm_coefficient * X + G;  beta_adj = T > 0 ? beta : 1
 *     V_new = alpha * V + beta_adj * G_reg
 *     standard: X_new = X - R * V_new;  nesterov: X_new = X - R * (G_reg + alpha * V_new)
 *   Adam(R, T, X..., G..., V..., H...) -> X_new..., V_new..., H_new...
 *     G_reg = norm_coefficient * X + G
 *     V_new = alpha * V + (1 - alpha) * G_reg;  H_new = beta * H + (1 - beta) * G_reg^2
 *     R_adj = T > 0 ? R * Sqrt(1 - beta^T) / (1 - alpha^T) : R
 *     X_new = (1 - norm_coefficient_post) * (X - R_adj * V_new / (Sqrt(H_new) + epsilon))
 *
 * Note the ONNX definitions, not PyTorch's: Adam's epsilon is added before
 * the bias correction, T = 0 means no correction, the L2 term is coupled;
 * Momentum's gradient scale beta is 1 on the first step (T = 0). Scalars
 * (R_adj, r) are formed in double and used in the tensors' dtype. Layout,
 * fused parallel pass and in-place safety: optimizers/optim_util.h.
 *
 * Not here: PyTorch's optimizers (optimizers/torch_*.c). */
#include "optimizers/optim_util.h"

#include <tgmath.h> /* sqrt on float stays float */
#include <stdlib.h>

/* ---- Adagrad --------------------------------------------------------------- */

typedef struct {
    double r, norm, eps;
} adagrad_args_t;

#define ADAGRAD_SEG(T)                                                                                 \
    static OT_OPTIM_CLONES void adagrad_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, int t, \
                                int64_t lo, int64_t hi) {                                              \
        const adagrad_args_t *a = a_;                                                                  \
        const T *x = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *h = ot_optim_in(k, L, 2, t); \
        T *x_new = ot_optim_out(k, L, 0, t), *h_new = ot_optim_out(k, L, 1, t);                        \
        const T r = (T)a->r, norm = (T)a->norm, eps = (T)a->eps;                                       \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                        \
            T gr = norm * x[i] + g[i];                                                                 \
            T hn = h[i] + gr * gr;                                                                     \
            x_new[i] = x[i] - r * gr / (sqrt(hn) + eps);                                               \
            h_new[i] = hn;                                                                             \
        }                                                                                              \
    }
ADAGRAD_SEG(float)
ADAGRAD_SEG(double)

static ot_status_t *adagrad_infer(ot_infer_ctx_t *ctx) { return ot_optim_infer(ctx, 1, "X, G, H", "R", "T"); }

static ot_status_t *layout_setup(ot_kernel_t *k, int n_state) {
    return ot_optim_layout_create(k, n_state, (ot_optim_layout_t **)&k->state);
}
static void layout_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static ot_status_t *adagrad_setup(ot_kernel_t *k) { return layout_setup(k, 1); }

static ot_status_t *adagrad_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double R = ot_optim_scalar(k, 0), T = ot_optim_scalar(k, 1);
    adagrad_args_t a = {.r = R / (1 + T * ot_attr_float(nd, "decay_factor", 0.0f)),
                        .norm = ot_attr_float(nd, "norm_coefficient", 0.0f),
                        .eps = ot_attr_float(nd, "epsilon", 1e-6f)};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? adagrad_seg_float : adagrad_seg_double, &a);
    return NULL;
}

static const ot_attr_spec_t adagrad_attrs[] = {
    {"decay_factor", OT_ATTR_FLOAT, false},
    {"epsilon", OT_ATTR_FLOAT, false},
    {"norm_coefficient", OT_ATTR_FLOAT, false},
    {NULL, 0, false},
};

const ot_op_def_t ot_op_pt_Adagrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "ai.onnx.preview.training",
    .op_type = "Adagrad",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,
    .min_outputs = 2, .max_outputs = -1,
    .attrs = adagrad_attrs,
    .infer = adagrad_infer,
    .setup = adagrad_setup,
    .run = adagrad_run,
    .release = layout_release,
    .doc = "ONNX Adagrad: H += G_reg^2; X -= R/(1+T*decay) * G_reg/(sqrt(H)+eps)",
};

/* ---- Momentum -------------------------------------------------------------- */

typedef struct {
    double r, norm, alpha, beta;
} momentum_args_t;

#define MOMENTUM_SEG(T, MODE, X_NEW)                                                                       \
    static OT_OPTIM_CLONES void momentum_##MODE##_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, \
                                          int t, int64_t lo, int64_t hi) {                                 \
        const momentum_args_t *a = a_;                                                                     \
        const T *x = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *v = ot_optim_in(k, L, 2, t);  \
        T *x_new = ot_optim_out(k, L, 0, t), *v_new = ot_optim_out(k, L, 1, t);                            \
        const T r = (T)a->r, norm = (T)a->norm, alpha = (T)a->alpha, beta = (T)a->beta;                   \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                            \
            T gr = norm * x[i] + g[i];                                                                     \
            T vn = alpha * v[i] + beta * gr;                                                               \
            x_new[i] = X_NEW;                                                                              \
            v_new[i] = vn;                                                                                 \
        }                                                                                                  \
    }
MOMENTUM_SEG(float, standard, x[i] - r * vn)
MOMENTUM_SEG(double, standard, x[i] - r * vn)
MOMENTUM_SEG(float, nesterov, x[i] - r * (gr + alpha * vn))
MOMENTUM_SEG(double, nesterov, x[i] - r * (gr + alpha * vn))

static ot_status_t *momentum_infer(ot_infer_ctx_t *ctx) {
    const char *mode = ot_attr_string(ctx->node, "mode", "");
    if (strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0)
        return OT_INFER_ERROR(ctx, "attribute 'mode' is '%s', expected 'standard' or 'nesterov'", mode);
    return ot_optim_infer(ctx, 1, "X, G, V", "R", "T");
}

static ot_status_t *momentum_setup(ot_kernel_t *k) { return layout_setup(k, 1); }

static ot_status_t *momentum_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double T = ot_optim_scalar(k, 1);
    momentum_args_t a = {.r = ot_optim_scalar(k, 0),
                         .norm = ot_attr_float(nd, "norm_coefficient", 0.0f),
                         .alpha = ot_attr_float(nd, "alpha", 0.0f),
                         .beta = T > 0 ? ot_attr_float(nd, "beta", 0.0f) : 1.0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    bool nesterov = strcmp(ot_attr_string(nd, "mode", ""), "nesterov") == 0;
    ot_optim_seg_fn fn = nesterov ? (f32 ? momentum_nesterov_seg_float : momentum_nesterov_seg_double)
                                  : (f32 ? momentum_standard_seg_float : momentum_standard_seg_double);
    ot_optim_for_each(k, k->state, fn, &a);
    return NULL;
}

static const ot_attr_spec_t momentum_attrs[] = {
    {"alpha", OT_ATTR_FLOAT, true},
    {"beta", OT_ATTR_FLOAT, true},
    {"mode", OT_ATTR_STRING, true},
    {"norm_coefficient", OT_ATTR_FLOAT, true},
    {NULL, 0, false},
};

const ot_op_def_t ot_op_pt_Momentum_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "ai.onnx.preview.training",
    .op_type = "Momentum",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,
    .min_outputs = 2, .max_outputs = -1,
    .attrs = momentum_attrs,
    .infer = momentum_infer,
    .setup = momentum_setup,
    .run = momentum_run,
    .release = layout_release,
    .doc = "ONNX Momentum: V = alpha*V + (T>0 ? beta : 1)*G_reg; X -= R*V (standard) or R*(G_reg + alpha*V) (nesterov)",
};

/* ---- Adam ------------------------------------------------------------------ */

typedef struct {
    double r_adj, norm, norm_post, alpha, beta, eps;
} adam_args_t;

#define ONNX_ADAM_SEG(T)                                                                                    \
    static OT_OPTIM_CLONES void adam_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, int t,       \
                             int64_t lo, int64_t hi) {                                                      \
        const adam_args_t *a = a_;                                                                          \
        const T *x = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *v = ot_optim_in(k, L, 2, t),   \
                *h = ot_optim_in(k, L, 3, t);                                                               \
        T *x_new = ot_optim_out(k, L, 0, t), *v_new = ot_optim_out(k, L, 1, t), *h_new = ot_optim_out(k, L, 2, t); \
        const T r = (T)a->r_adj, norm = (T)a->norm, alpha = (T)a->alpha, beta = (T)a->beta, eps = (T)a->eps; \
        const T keep = (T)(1 - a->norm_post), one_m_alpha = (T)(1 - a->alpha), one_m_beta = (T)(1 - a->beta); \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T gr = norm * x[i] + g[i];                                                                      \
            T vn = alpha * v[i] + one_m_alpha * gr;                                                         \
            T hn = beta * h[i] + one_m_beta * (gr * gr);                                                    \
            x_new[i] = keep * (x[i] - r * (vn / (sqrt(hn) + eps)));                                         \
            v_new[i] = vn;                                                                                  \
            h_new[i] = hn;                                                                                  \
        }                                                                                                   \
    }
ONNX_ADAM_SEG(float)
ONNX_ADAM_SEG(double)

static ot_status_t *adam_infer(ot_infer_ctx_t *ctx) { return ot_optim_infer(ctx, 2, "X, G, V, H", "R", "T"); }

static ot_status_t *adam_setup(ot_kernel_t *k) { return layout_setup(k, 2); }

static ot_status_t *adam_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double R = ot_optim_scalar(k, 0), T = ot_optim_scalar(k, 1);
    adam_args_t a = {.norm = ot_attr_float(nd, "norm_coefficient", 0.0f),
                     .norm_post = ot_attr_float(nd, "norm_coefficient_post", 0.0f),
                     .alpha = ot_attr_float(nd, "alpha", 0.9f),
                     .beta = ot_attr_float(nd, "beta", 0.999f),
                     .eps = ot_attr_float(nd, "epsilon", 1e-6f)};
    a.r_adj = T > 0 ? R * sqrt(1 - pow(a.beta, T)) / (1 - pow(a.alpha, T)) : R;
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? adam_seg_float : adam_seg_double, &a);
    return NULL;
}

static const ot_attr_spec_t adam_attrs[] = {
    {"alpha", OT_ATTR_FLOAT, false},
    {"beta", OT_ATTR_FLOAT, false},
    {"epsilon", OT_ATTR_FLOAT, false},
    {"norm_coefficient", OT_ATTR_FLOAT, false},
    {"norm_coefficient_post", OT_ATTR_FLOAT, false},
    {NULL, 0, false},
};

const ot_op_def_t ot_op_pt_Adam_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "ai.onnx.preview.training",
    .op_type = "Adam",
    .since_version = 1,
    .min_inputs = 6, .max_inputs = -1,
    .min_outputs = 3, .max_outputs = -1,
    .attrs = adam_attrs,
    .infer = adam_infer,
    .setup = adam_setup,
    .run = adam_run,
    .release = layout_release,
    .doc = "ONNX Adam: V,H moving averages of G_reg, G_reg^2; X = (1-ncp)*(X - R_adj*V/(sqrt(H)+eps)), "
           "R_adj = T>0 ? R*sqrt(1-beta^T)/(1-alpha^T) : R",
};
