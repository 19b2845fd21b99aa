/* ops/is_all_finite.c: com.microsoft::IsAllFinite, ONNX Runtime's check
 * behind its mixed-precision loss scaling, which our prepared models use to
 * skip optimizer steps on NaN/Inf gradients (prepare --skip-nonfinite).
 *
 *   inputs:  any number of tensors (float or double)
 *   outputs: output (bool scalar): true when no element of any input is
 *            NaN or +-Inf
 *   attributes (ORT's): isinf_only (INT, 0): look for +-Inf only;
 *            isnan_only (INT, 0): look for NaN only; not both
 *
 * ORT also takes float16/bfloat16, which our runtime does not compute in. */
#include "ops/op_util.h"

#include <math.h>

#define FINITE_PARALLEL_MIN 32768

static const ot_attr_spec_t finite_attrs[] = {
    {"isinf_only", OT_ATTR_INT, false}, {"isnan_only", OT_ATTR_INT, false}, {NULL, 0, false}};

static ot_status_t *finite_infer(ot_infer_ctx_t *ctx) {
    if (ot_attr_int(ctx->node, "isinf_only", 0) && ot_attr_int(ctx->node, "isnan_only", 0))
        return OT_INFER_ERROR(ctx, "isinf_only and isnan_only are both set; unset both to check for NaN and Inf");
    for (int i = 0; i < ctx->n_inputs; i++)
        if (ctx->inputs[i]->dtype != OT_DTYPE_FLOAT && ctx->inputs[i]->dtype != OT_DTYPE_DOUBLE)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input %d: dtype %s not supported (float, double)", i,
                                 ot_dtype_name(ctx->inputs[i]->dtype));
    if (ctx->outputs[0]) {
        ctx->outputs[0]->dtype = OT_DTYPE_BOOL;
        ctx->outputs[0]->shape = ot_shape_make(0, NULL);
    }
    return NULL;
}

/* Counts the offending elements (a count, not an early exit: the loop
 * stays a branch-free reduction). mode 0: NaN or Inf, 1: Inf, 2: NaN. */
#define FINITE_COUNT(T)                                                                           \
    static int64_t finite_count_##T(const T *x, int64_t n, int mode) {                            \
        int64_t bad = 0;                                                                          \
        _Pragma("omp parallel for simd reduction(+ : bad) if (n > FINITE_PARALLEL_MIN)")          \
        for (int64_t i = 0; i < n; i++) {                                                         \
            T v = x[i];                                                                           \
            bool is_nan = v != v, is_inf = !is_nan && (v - v) != (v - v);                         \
            bad += mode == 1 ? is_inf : mode == 2 ? is_nan : (v - v) != (v - v);                  \
        }                                                                                         \
        return bad;                                                                               \
    }
FINITE_COUNT(float)
FINITE_COUNT(double)

static ot_status_t *finite_run(ot_kernel_t *k) {
    int mode = ot_attr_int(k->node, "isinf_only", 0) ? 1 : ot_attr_int(k->node, "isnan_only", 0) ? 2 : 0;
    int64_t bad = 0;
    for (int i = 0; i < k->n_inputs && !bad; i++) {
        int64_t n = ot_shape_numel(&k->inputs[i]->shape);
        bad += k->inputs[i]->dtype == OT_DTYPE_FLOAT ? finite_count_float(k->inputs[i]->data, n, mode)
                                                     : finite_count_double(k->inputs[i]->data, n, mode);
    }
    if (k->outputs[0]) *(bool *)k->outputs[0]->data = bad == 0;
    return NULL;
}

const ot_op_def_t ot_op_ms_IsAllFinite_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "IsAllFinite",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = finite_attrs,
    .infer = finite_infer,
    .run = finite_run,
    .doc = "true when no input element is NaN or Inf (isinf_only / isnan_only: one of the two)",
};
