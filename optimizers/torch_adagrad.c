/* optimizers/torch_adagrad.c: ai.onnxtrain::Adagrad, torch.optim.Adagrad
 * exactly (torch 1.13, _single_tensor_adagrad, dense gradients), one node
 * over any number of tensors.
 *
 *   inputs:  lr (float scalar), step (int64 scalar: the step number after
 *            this update, torch's state['step']; 1 on the first update),
 *            params[n], grads[n], sum[n]
 *   outputs: params_new[n], sum_new[n]
 *   attributes (torch's names and defaults): lr_decay 0, eps 1e-10,
 *            weight_decay 0, maximize 0. torch's initial_accumulator_value
 *            (attribute, default 0) is the initial value of the `sum` state:
 *            `prepare` fills the state with it; the kernel does not read it.
 *
 *   g = maximize ? -g : g;  if weight_decay: g = g + weight_decay * p
 *   clr = lr / (1 + (step - 1) * lr_decay)        (double, as torch)
 *   sum = sum + g * g;  p = p + (-clr) * g / (sqrt(sum) + eps)
 *
 * float32 operations in torch's order with torch's scalar roundings:
 * bit-identical to torch's scalar (ATEN_CPU_CAPABILITY=default) kernels.
 *
 * Not here: ONNX's Adagrad (optimizers/onnx_training.c: the decay counts T
 * from 0, eps is inside a different expression, L2 via norm_coefficient). */
#include "optimizers/optim_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double neg_clr, eps, weight_decay;
    bool has_wd, maximize;
} adagrad_args_t;

static inline float sqrt_float(float x) { return sqrtf(x); }
static inline double sqrt_double(double x) { return sqrt(x); }

#define TORCH_ADAGRAD_SEG(T)                                                                                \
    static OT_OPTIM_CLONES void adagrad_seg_##T(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *a_, int t,    \
                                int64_t lo, int64_t hi) {                                                   \
        const adagrad_args_t *a = a_;                                                                       \
        const T *p = ot_optim_in(k, L, 0, t), *g = ot_optim_in(k, L, 1, t), *sum = ot_optim_in(k, L, 2, t); \
        T *p_new = ot_optim_out(k, L, 0, t), *sum_new = ot_optim_out(k, L, 1, t);                           \
        const T neg_clr = (T)a->neg_clr, eps = (T)a->eps, wd = (T)a->weight_decay;                          \
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {                                             \
            T gi = a->maximize ? -g[i] : g[i];                                                              \
            if (a->has_wd) gi = gi + wd * p[i];                                                             \
            T s = sum[i] + gi * gi;                                                                         \
            p_new[i] = p[i] + neg_clr * gi / (sqrt_##T(s) + eps);                                           \
            sum_new[i] = s;                                                                                 \
        }                                                                                                   \
    }
TORCH_ADAGRAD_SEG(float)
TORCH_ADAGRAD_SEG(double)

static ot_status_t *adagrad_infer(ot_infer_ctx_t *ctx) {
    return ot_optim_infer(ctx, 1, "params, grads, sum", "lr", "step");
}

static ot_status_t *adagrad_setup(ot_kernel_t *k) {
    return ot_optim_layout_create(k, 1, (ot_optim_layout_t **)&k->state);
}

static ot_status_t *adagrad_run(ot_kernel_t *k) {
    const ot_node_info_t *nd = k->node;
    double lr = ot_optim_lr(k, k->state), step = ot_optim_scalar(k, 1), wd = ot_optim_attr(nd, "weight_decay", 0);
    if (step < 1) return OT_KERNEL_ERROR(k, "step is %g; it counts updates including this one, so it must be >= 1", step);
    adagrad_args_t a = {.neg_clr = -(lr / (1 + (step - 1) * ot_optim_attr(nd, "lr_decay", 0))),
                        .eps = ot_optim_attr(nd, "eps", 1e-10),
                        .weight_decay = wd,
                        .has_wd = wd != 0,
                        .maximize = ot_attr_int(nd, "maximize", 0) != 0};
    bool f32 = k->inputs[2]->dtype == OT_DTYPE_FLOAT;
    ot_optim_for_each(k, k->state, f32 ? adagrad_seg_float : adagrad_seg_double, &a);
    return NULL;
}

static void adagrad_release(ot_kernel_t *k) { ot_optim_layout_destroy(k->state); }

static const ot_attr_spec_t adagrad_attrs[] = {
    {"lr_decay", OT_ATTR_FLOAT, false},
    {"eps", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {"maximize", OT_ATTR_INT, false},
    {"initial_accumulator_value", OT_ATTR_FLOAT, false}, /* the states' `init` */
    {NULL, 0, false},
};

static const ot_state_spec_t adagrad_states[] = {
    {"sum", NULL, "initial_accumulator_value"},
    {NULL, NULL, NULL},
};

const ot_op_def_t ot_op_ot_Adagrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "Adagrad",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,
    .min_outputs = 2, .max_outputs = -1,
    .attrs = adagrad_attrs,
    .infer = adagrad_infer,
    .setup = adagrad_setup,
    .run = adagrad_run,
    .release = adagrad_release,
    .doc = "torch.optim.Adagrad: sum += g^2; p -= lr/(1+(step-1)*lr_decay) * g/(sqrt(sum)+eps)",
    .flags = OT_OP_OPTIMIZER,
    .states = adagrad_states,
    .default_lr = 1e-2f,
};
