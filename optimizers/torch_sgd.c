/* optimizers/torch_sgd.c: ai.onnxtrain::SGD, torch.optim.SGD exactly
 * (torch 1.13, torch/optim/sgd.py _single_tensor_sgd), one node over any
 * number of tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update, torch's state['step']; 1 on the first update),
 *            params[n], grads[n], momentum_buffer[n] (only when momentum != 0)
 *   outputs: params_new[n], momentum_buffer_new[n] (only when momentum != 0)
 *   attributes (torch's names and defaults): momentum 0, dampening 0,
 *            nesterov 0, weight_decay 0, maximize 0
 *
 *   d = maximize ? -g : g;  if weight_decay: d = d + weight_decay * p
 *   if momentum: buf = step <= 1 ? d : buf * momentum + (1 - dampening) * d
 *                d = nesterov ? d + momentum * buf : buf
 *   p = p + (-lr) * d
 *
 * On the first step torch's buffer is a copy of d (no dampening); step <= 1
 * replicates it, whatever the incoming buffer holds. The float32 operations
 * are torch's, in torch's order, with its Python-float scalars rounded to
 * float where torch rounds them, so results are bit-identical to torch's
 * scalar (ATEN_CPU_CAPABILITY=default) kernels; see optim_util.h for the
 * layout and ot_optim_widen for how float attributes become torch's doubles.
 *
 * Not here: ONNX's Momentum (optimizers/onnx_training.c), whose first-step
 * and dampening rules differ. */
#include "optimizers/optim_util.h"

#include <stdlib.h>

typedef struct {
    double neg_lr, momentum, one_m_dampening, weight_decay;
    bool first, nesterov, maximize, has_wd, has_momentum;
} sgd_args_t;

#define SGD_SEG(T)                                                                                          \
    static OT_OPTIM_CLONES void sgd_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, int t,        \
                            int64_t lo, int64_t hi) {                                                       \
        const sgd_args_t *a = a_;                                                                           \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t);                                 \
        T *p_new = ot_optim_out(k, L, 0, t);                                                                \
        const T neg_lr = (T)a->neg_lr, wd = (T)a->weight_decay;                                             \
        if (!a->has_momentum) {                                                                             \
            _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                         \
                T d = a->maximize ? -g[i] : g[i];                                                           \
                if (a->has_wd) d = d + wd * p[i];                                                           \
                p_new[i] = p[i] + neg_lr * d;                                                               \
            }                                                                                               \
            return;                                                                                         \
        }                                                                                                   \
        const T *buf = ot_optim_in(k, L, 2, t);                                                             \
        T *buf_new = ot_optim_out(k, L, 1, t);                                                              \
        const T mom = (T)a->momentum, damp = (T)a->one_m_dampening;                                         \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T d = a->maximize ? -g[i] : g[i];                                                               \
            if (a->has_wd) d = d + wd * p[i];                                                               \
            T b = a->first ? d : buf[i] * mom + damp * d;                                                   \
            d = a->nesterov ? d + mom * b : b;                                                              \
            buf_new[i] = b;                                                                                 \
            p_new[i] = p[i] + neg_lr * d;                                                                   \
        }                                                                                                   \
    }
SGD_SEG(float)
SGD_SEG(double)

static int sgd_state_groups(const ot_node_info_t *node) { return ot_attr_float(node, "momentum", 0.0f) != 0; }

static ot_status_t *sgd_infer(ot_infer_ctx_t *ctx) {
    bool mom = sgd_state_groups(ctx->node);
    if (ot_attr_int(ctx->node, "nesterov", 0) && (!mom || ot_attr_float(ctx->node, "dampening", 0.0f) != 0))
        return OT_INFER_ERROR(ctx, "nesterov momentum requires a momentum and zero dampening (as torch)");
    return ot_optim_infer(ctx, mom, mom ? "params, grads, momentum_buffer" : "params, grads", "lr", "step");
}

static ot_status_t *sgd_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, sgd_state_groups(k->node), (ot_optim_layout_t **)&k->state);
}

static ot_status_t *sgd_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double momentum = ot_optim_attr(nd, "momentum", 0), weight_decay = ot_optim_attr(nd, "weight_decay", 0);
    sgd_args_t a = {.neg_lr = -ot_optim_lr(k, k->state),
                    .momentum = momentum,
                    .one_m_dampening = 1 - ot_optim_attr(nd, "dampening", 0),
                    .weight_decay = weight_decay,
                    .first = ot_optim_scalar(k, 1) <= 1,
                    .nesterov = ot_attr_int(nd, "nesterov", 0) != 0,
                    .maximize = ot_attr_int(nd, "maximize", 0) != 0,
                    .has_wd = weight_decay != 0,
                    .has_momentum = momentum != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? sgd_seg_float : sgd_seg_double, &a);
    return NULL;
}

static void sgd_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t sgd_attrs[] = {
    {"momentum", OT_ATTR_FLOAT, false},
    {"dampening", OT_ATTR_FLOAT, false},
    {"nesterov", OT_ATTR_INT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"maximize", OT_ATTR_INT, false},
    {NULL, 0, false},
};

static const ot_state_spec_t sgd_states[] = {
    {"momentum_buffer", "momentum", NULL},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_SGD_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "SGD",
    .since_version = 1,
    .min_inputs = 4, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = -1,
    .attrs = sgd_attrs,
    .infer = sgd_infer,
    .setup = sgd_setup,
    .run = sgd_run,
    .release = sgd_release,
    .doc = "torch.optim.SGD: buf = step==1 ? d : momentum*buf + (1-dampening)*d; p -= lr*(nesterov ? d + momentum*buf : buf)",
    .flags = OT_OP_OPTIMIZER,
    .states = sgd_states,
};
