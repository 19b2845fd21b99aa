/* optimizers/optim_util.h: what every optimizer op shares (not part of the
 * plugin ABI).
 *
 * The uniform signature of an optimizer node over n tensors and S state
 * groups (ONNX's ai.onnx.preview.training ops and ours alike):
 *
 *   inputs:  s0, s1,                   two scalars: ONNX (R, T), ours (lr, step)
 *            X[0..n), G[0..n),         parameters, then their gradients
 *            state_0[0..n), ..., state_{S-1}[0..n)
 *   outputs: X_new[0..n), state_0_new[0..n), ..., state_{S-1}_new[0..n)
 *
 * so input group g (0 = X, 1 = G, 2+s = state s) of tensor t is input
 * 2 + g*n + t, and output group g (0 = X_new, 1+s = state s) is output
 * g*n + t. All tensors of a node share one float dtype (float or double);
 * X[t], G[t] and every state[t] have the same shape.
 *
 * Kernels make one OpenMP-parallel pass over the concatenation of all n
 * tensors (ot_optim_for_each), so a node over many small tensors still uses
 * every thread. Every element is read before it is written, at the same
 * index, so an output may alias its input (in-place update).
 *
 * Not here: the formulas (one file per optimizer family), schedules,
 * clipping. */
#ifndef ONNXTRAIN_OPTIM_UTIL_H
#define ONNXTRAIN_OPTIM_UTIL_H

#include "ops/op_util.h"

/* Checks the node's input/output counts for S state groups and gives n.
 * `groups` names the input groups after the scalars for the message, e.g.
 * "X, G, V, H". */
ot_status_t *ot_optim_count(const ot_node_info_t *node, int n_inputs, int n_outputs, int n_state, const char *groups,
                            int *n);

/* Shape inference shared by all optimizers: scalar checks (input 0 a float
 * scalar, input 1 a numeric scalar; `s0_name`/`s1_name` for messages),
 * dtype and shape agreement of every group with X (errors name the group
 * and the tensor index), and outputs typed as the matching X/state input. */
ot_status_t *ot_optim_infer(ot_infer_ctx_t *ctx, int n_state, const char *groups, const char *s0_name,
                            const char *s1_name);

/* Per-kernel layout, built in setup: prefix offsets of the tensors' element
 * counts, and scratch for state outputs the graph did not request (so the
 * kernels never branch on them). */
typedef struct ot_optim_layout {
    int n, n_state;
    int64_t total;
    int64_t *offsets;     /* n + 1 */
    void **out_scratch;   /* per output: buffer for an unrequested output, else NULL */
    float lr_last;        /* ot_optim_lr's cache of its last widening */
    double lr_wide;
} ot_optim_layout_t;

ot_status_t *ot_optim_layout_create(const ot_kernel_t *k, int n_state, ot_optim_layout_t **out);
void ot_optim_layout_destroy(ot_optim_layout_t *L);

/* Data of input group g, tensor t; and of output group g, tensor t. */
static inline void *ot_optim_in(const ot_kernel_t *k, const ot_optim_layout_t *L, int g, int t) {
    return k->inputs[2 + g * L->n + t]->data;
}
static inline void *ot_optim_out(const ot_kernel_t *k, const ot_optim_layout_t *L, int g, int t) {
    int o = g * L->n + t;
    return k->outputs[o] ? k->outputs[o]->data : L->out_scratch[o];
}

/* On element loops: compiled for AVX-512, AVX2 and baseline x86-64 and
 * picked when the library loads (GCC function multiversioning), so one
 * binary is fast on new CPUs and correct on AVX2-only ones. Results are the
 * same bits on every path: only IEEE +, -, *, /, sqrt, never contracted
 * (-ffp-contract=off, CMakeLists.txt). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(OT_OPTIM_NO_CLONES) /* CMake's OT_OPTIM_ISA pins one ISA */
#define OT_OPTIM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OT_OPTIM_CLONES
#endif

/* Updates elements [lo, hi) of tensor t. `args` is the op's own block of
 * per-run scalars. */
typedef void (*ot_optim_seg_fn)(const ot_kernel_t *k, const ot_optim_layout_t *L, const void *args, int t,
                                int64_t lo, int64_t hi);

/* Splits [0, total) into one contiguous range per thread (in multiples of
 * 16 elements) and calls fn on each tensor piece of it. Serial below a
 * size where a parallel region costs more than it saves. */
void ot_optim_for_each(const ot_kernel_t *k, const ot_optim_layout_t *L, ot_optim_seg_fn fn, const void *args);

/* Scalar input i (any float or integer dtype) as double. */
double ot_optim_scalar(const ot_kernel_t *k, int i);

/* A float32 hyperparameter as the double a user wrote: the shortest decimal
 * that rounds to the same float (0.9f -> 0.9). PyTorch computes with Python
 * floats, so 1 - beta1 or lr / bias_correction only match torch bit for bit
 * when formed from these. Exact for every float a user types with <= 9
 * significant digits. */
double ot_optim_widen(float f);

/* Input 0 (lr) as double: a float tensor through ot_optim_widen (cached,
 * so a constant lr costs one comparison per run), a double one as is. */
double ot_optim_lr(const ot_kernel_t *k, ot_optim_layout_t *L);

/* An attribute read through ot_optim_widen. */
double ot_optim_attr(const ot_node_info_t *node, const char *name, double dflt);

#endif
