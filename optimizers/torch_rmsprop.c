/* optimizers/torch_rmsprop.c: ai.onnxtrain::RMSprop, torch.optim.RMSprop
 * exactly (torch 1.13, _single_tensor_rmsprop), one node over any number of
 * tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar, torch's state['step'];
 *            unused by the formula, kept for the uniform signature),
 *            params[n], grads[n], square_avg[n],
 *            momentum_buffer[n] (only when momentum > 0),
 *            grad_avg[n] (only when centered)
 *   outputs: params_new[n], then the state groups in the same order
 *   attributes (torch's names and defaults): alpha 0.99, eps 1e-8,
 *            weight_decay 0, momentum 0, centered 0, maximize 0
 *
 *   g = maximize ? -g : g;  if weight_decay: g = g + weight_decay * p
 *   square_avg = square_avg * alpha + ((1 - alpha) * g) * g
 *   centered: grad_avg = grad_avg * alpha + (1 - alpha) * g
 *             avg = sqrt(square_avg + (-grad_avg) * grad_avg) + eps
 *   else:     avg = sqrt(square_avg) + eps
 *   momentum: buf = buf * momentum + g / avg;  p = p + (-lr) * buf
 *   else:     p = p + (-lr) * g / avg
 *
 * float32 operations in torch's order with torch's scalar roundings:
 * bit-identical to torch's scalar (ATEN_CPU_CAPABILITY=default) kernels.
 * Layout and parallel pass: optim_util.h. */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double neg_lr, alpha, one_m_alpha, eps, weight_decay, momentum;
    bool has_wd, has_momentum, centered, maximize;
} rmsprop_args_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

/* One loop per structural variant (MOM, CEN literals), so each vectorizes;
 * maximize and weight decay are loop-invariant selects. */
#define RMSPROP_LOOP(T, MOM, CEN)                                                                           \
    _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                                 \
        T gi = maximize ? -g[i] : g[i];                                                                     \
        if (has_wd) gi = gi + wd * p[i];                                                                    \
        T s = sq[i] * alpha + oma * gi * gi;                                                                \
        T avg;                                                                                              \
        if (CEN) {                                                                                          \
            T m = ga[i] * alpha + oma * gi;                                                                 \
            avg = sqrt_##T(s + (T)-1 * m * m);                                                              \
            ga_new[i] = m;                                                                                  \
        } else {                                                                                            \
            avg = sqrt_##T(s);                                                                              \
        }                                                                                                   \
        avg = avg + eps;                                                                                    \
        if (MOM) {                                                                                          \
            T b = buf[i] * mom + gi / avg;                                                                  \
            p_new[i] = p[i] + neg_lr * b;                                                                   \
            buf_new[i] = b;                                                                                 \
        } else {                                                                                            \
            p_new[i] = p[i] + neg_lr * gi / avg;                                                            \
        }                                                                                                   \
        sq_new[i] = s;                                                                                      \
    }

#define RMSPROP_SEG(T)                                                                                      \
    static OT_OPTIM_CLONES void rmsprop_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L,          \
                                                const void *a_, int t, int64_t lo, int64_t hi) {            \
        const rmsprop_args_t *a = a_;                                                                       \
        int gb = 3 + a->has_momentum; /* input group of grad_avg */                                        \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *sq = ot_optim_in(k, L, 2, t);  \
        const T *buf = a->has_momentum ? ot_optim_in(k, L, 3, t) : NULL;                                    \
        const T *ga = a->centered ? ot_optim_in(k, L, gb, t) : NULL;                                        \
        T *p_new = ot_optim_out(k, L, 0, t), *sq_new = ot_optim_out(k, L, 1, t);                            \
        T *buf_new = a->has_momentum ? ot_optim_out(k, L, 2, t) : NULL;                                     \
        T *ga_new = a->centered ? ot_optim_out(k, L, gb - 1, t) : NULL;                                     \
        const T neg_lr = (T)a->neg_lr, alpha = (T)a->alpha, oma = (T)a->one_m_alpha, eps = (T)a->eps;       \
        const T wd = (T)a->weight_decay, mom = (T)a->momentum;                                              \
        const bool maximize = a->maximize, has_wd = a->has_wd;                                              \
        if (a->has_momentum && a->centered) RMSPROP_LOOP(T, 1, 1)                                           \
        else if (a->has_momentum) RMSPROP_LOOP(T, 1, 0)                                                     \
        else if (a->centered) RMSPROP_LOOP(T, 0, 1)                                                         \
        else RMSPROP_LOOP(T, 0, 0)                                                                          \
    }
RMSPROP_SEG(float)
RMSPROP_SEG(double)

static bool has_momentum(const ot_node_info_t *nd) { return ot_attr_float(nd, "momentum", 0.0f) > 0; }
static bool is_centered(const ot_node_info_t *nd) { return ot_attr_int(nd, "centered", 0) != 0; }
static int rmsprop_state_groups(const ot_node_info_t *nd) { return 1 + has_momentum(nd) + is_centered(nd); }

static ot_status_t *rmsprop_infer(ot_infer_ctx_t *ctx) {
    static const char *const names[4] = {
        "params, grads, square_avg", "params, grads, square_avg, momentum_buffer",
        "params, grads, square_avg, grad_avg", "params, grads, square_avg, momentum_buffer, grad_avg"};
    const ot_node_info_t *nd = ctx->node;
    return ot_optim_infer(ctx, rmsprop_state_groups(nd), names[has_momentum(nd) + 2 * is_centered(nd)], "lr",
                          "step");
}

static ot_status_t *rmsprop_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, rmsprop_state_groups(k->node), (ot_optim_layout_t **)&k->state);
}

static ot_status_t *rmsprop_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double alpha = ot_optim_attr(nd, "alpha", 0.99), wd = ot_optim_attr(nd, "weight_decay", 0);
    rmsprop_args_t a = {.neg_lr = -ot_optim_lr(k, k->state),
                        .alpha = alpha,
                        .one_m_alpha = 1 - alpha,
                        .eps = ot_optim_attr(nd, "eps", 1e-8),
                        .weight_decay = wd,
                        .momentum = ot_optim_attr(nd, "momentum", 0),
                        .has_wd = wd != 0,
                        .has_momentum = has_momentum(nd),
                        .centered = is_centered(nd),
                        .maximize = ot_attr_int(nd, "maximize", 0) != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? rmsprop_seg_float : rmsprop_seg_double, &a);
    return NULL;
}

static void rmsprop_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t rmsprop_attrs[] = {
    {"alpha", OT_ATTR_FLOAT, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"momentum", OT_ATTR_FLOAT, false},
    {"centered", OT_ATTR_INT, false},
    {"maximize", OT_ATTR_INT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t rmsprop_states[] = {
    {"square_avg", NULL, NULL},
    {"momentum_buffer", "momentum", NULL},
    {"grad_avg", "centered", NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_RMSprop_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "RMSprop",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,
    .min_outputs = 2, .max_outputs = -1,
    .attrs = rmsprop_attrs,
    .infer = rmsprop_infer,
    .setup = rmsprop_setup,
    .run = rmsprop_run,
    .release = rmsprop_release,
    .doc = "torch.optim.RMSprop (alpha, eps, weight_decay, momentum, centered, maximize)",
    .flags = OT_OP_OPTIMIZER,
    .states = rmsprop_states,
    .default_lr = 1e-2f,
};
