/* ops/clip.c: Clip, y = min(max(x, lo), hi) (numpy's np.clip order: when
 * lo > hi every element becomes hi), and its backward op.
 *
 * Versions: Clip-6 takes the bounds as float attributes `min`/`max`
 * (defaults -FLT_MAX/FLT_MAX); Clip-11 makes them optional scalar inputs
 * (defaults: the type's lowest/highest); -12 adds the integer types and -13
 * bfloat16, so the record at since 11 serves 11..17 and accepts integers at
 * every opset. Types: float, double, int8..64, uint8..64. NaN elements stay
 * NaN.
 *
 * Gradient (torch 1.13's clamp backward, including at the bounds):
 *   dX   = dY where lo <= x <= hi (both bounds inclusive), else 0
 *   dlo  = sum of dY where x < lo and lo < hi
 *   dhi  = sum of dY where x > hi or hi < lo
 * as one fused op ai.onnxtrain::ClipGrad(dY, X, min?, max?) -> (dX, dmin?, dmax?)
 * carrying Clip-6's attributes when the bounds are attributes (our domain:
 * ONNX Runtime defines no ClipGrad).
 *
 * Kernels are plain simd loops: the bounds are read at run time (they may be
 * graph inputs), and a bandwidth-bound clamp runs at memory speed without
 * oneDNN's per-call overhead.
 */
#include "ops/grad_util.h"

#include <float.h>
#include <math.h>

#define CLIP_PARALLEL_MIN 32768

static const ot_attr_spec_t clip6_attrs[] = {
    {"min", OT_ATTR_FLOAT, false}, {"max", OT_ATTR_FLOAT, false}, {NULL, 0, false}};

static bool clip_dtype_ok(ot_dtype_t dt) {
    switch (dt) {
    case OT_DTYPE_FLOAT: case OT_DTYPE_DOUBLE:
    case OT_DTYPE_INT8: case OT_DTYPE_INT16: case OT_DTYPE_INT32: case OT_DTYPE_INT64:
    case OT_DTYPE_UINT8: case OT_DTYPE_UINT16: case OT_DTYPE_UINT32: case OT_DTYPE_UINT64: return true;
    default: return false;
    }
}

/* Inputs 1 and 2 (Clip-11 bounds, or ClipGrad's from index `first`):
 * absent, or one element of X's dtype. */
static ot_status_t *check_bounds(ot_infer_ctx_t *ctx, int first, ot_dtype_t dt) {
    for (int i = first; i < first + 2 && i < ctx->n_inputs; i++) {
        const ot_tensor_t *b = ctx->inputs[i];
        if (!b) continue;
        if (b->dtype != dt)
            return OT_INFER_ERROR(ctx, "%s has dtype %s but the input has %s", i == first ? "min" : "max",
                                  ot_dtype_name(b->dtype), ot_dtype_name(dt));
        int64_t n = ot_shape_numel(&b->shape);
        if (b->shape.rank > 1 || (n >= 0 && n != 1))
            return OT_INFER_ERROR(ctx, "%s must be a scalar", i == first ? "min" : "max");
    }
    return NULL;
}

static ot_status_t *clip_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (!clip_dtype_ok(x->dtype) || (ctx->node->opset < 11 && x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    ot_status_t *st = check_bounds(ctx, 1, x->dtype);
    if (st) return st;
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

/* The bounds in X's type: the type's lowest/highest when absent (ONNX's
 * defaults, also what ONNX Runtime uses). */
#define CLIP_BOUND(T, lo_, hi_, LOWEST, HIGHEST)                                               \
    T lo_ = (LOWEST), hi_ = (HIGHEST);                                                        \
    if (k->n_inputs > 1 && k->inputs[1]) lo_ = *(const T *)k->inputs[1]->data;                \
    if (k->n_inputs > 2 && k->inputs[2]) hi_ = *(const T *)k->inputs[2]->data;

#define CLIP_LOOP(T, lo, hi)                                                                  \
    do {                                                                                      \
        const T *restrict src = k->inputs[0]->data;                                           \
        T *restrict dst = k->outputs[0]->data;                                                \
        if (n > CLIP_PARALLEL_MIN) {                                                          \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) {                \
                T v = src[i] < lo ? lo : src[i];                                              \
                dst[i] = v > hi ? hi : v;                                                     \
            }                                                                                 \
        } else {                                                                              \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T v = src[i] < lo ? lo : src[i];                                              \
                dst[i] = v > hi ? hi : v;                                                     \
            }                                                                                 \
        }                                                                                     \
    } while (0)

#define CLIP_CASE(DT, T, LOWEST, HIGHEST)                                                     \
    case DT: {                                                                                \
        CLIP_BOUND(T, lo, hi, LOWEST, HIGHEST)                                                \
        CLIP_LOOP(T, lo, hi);                                                                 \
        break;                                                                                \
    }

static ot_status_t *clip_run(ot_kernel_t *k) {
    if (!k->outputs[0]) return NULL;
    int64_t n = ot_shape_numel(&k->inputs[0]->shape);
    if (k->node->opset < 11) { /* Clip-6: attributes */
        float lo = ot_attr_float(k->node, "min", -FLT_MAX), hi = ot_attr_float(k->node, "max", FLT_MAX);
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) CLIP_LOOP(float, lo, hi);
        else {
            /* absent bounds: the double's own limits, as ClipGrad assumes */
            double dlo = ot_node_attr(k->node, "min") ? lo : -DBL_MAX, dhi = ot_node_attr(k->node, "max") ? hi : DBL_MAX;
            CLIP_LOOP(double, dlo, dhi);
        }
        return NULL;
    }
    switch (k->inputs[0]->dtype) {
        CLIP_CASE(OT_DTYPE_FLOAT, float, -FLT_MAX, FLT_MAX)
        CLIP_CASE(OT_DTYPE_DOUBLE, double, -DBL_MAX, DBL_MAX)
        CLIP_CASE(OT_DTYPE_INT8, int8_t, INT8_MIN, INT8_MAX)
        CLIP_CASE(OT_DTYPE_INT16, int16_t, INT16_MIN, INT16_MAX)
        CLIP_CASE(OT_DTYPE_INT32, int32_t, INT32_MIN, INT32_MAX)
        CLIP_CASE(OT_DTYPE_INT64, int64_t, INT64_MIN, INT64_MAX)
        CLIP_CASE(OT_DTYPE_UINT8, uint8_t, 0, UINT8_MAX)
        CLIP_CASE(OT_DTYPE_UINT16, uint16_t, 0, UINT16_MAX)
        CLIP_CASE(OT_DTYPE_UINT32, uint32_t, 0, UINT32_MAX)
        CLIP_CASE(OT_DTYPE_UINT64, uint64_t, 0, UINT64_MAX)
    default: OT_ASSERT(0 && "dtype checked in infer");
    }
    return NULL;
}

/* ClipGrad(dY, X, min?, max?), the forward node's attributes copied. */
static ot_status_t *clip_gradient(ot_grad_ctx_t *ctx) {
    ot_dtype_t dt = ctx->input_types[0]->dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs a float input, got %s", ot_dtype_name(dt));
    int in[4] = {ctx->doutputs[0], ctx->inputs[0], -1, -1};
    int n_in = 2;
    for (int i = 1; i < ctx->n_inputs && i < 3; i++) {
        in[i + 1] = ctx->inputs[i];
        n_in = i + 2;
    }
    /* outputs: dX always (ignored if not needed), dmin/dmax only when needed */
    int out[3] = {-1, -1, -1}, n_out = 1;
    for (int i = 1; i < ctx->n_inputs && i < 3; i++)
        if (ctx->needs[i]) n_out = i + 1;
    ot_status_t *st =
        ot_grad_emit(ctx, OT_DOMAIN, "ClipGrad", n_in, in, n_out, out, ctx->node->n_attrs, ctx->node->attrs);
    if (st) return st;
    for (int i = 0; i < n_out; i++)
        if (ctx->needs[i]) ctx->dinputs[i] = out[i];
    return NULL;
}

const ot_op_def_t ot_op_Clip_6 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Clip",
    .since_version = 6,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = clip6_attrs,
    .infer = clip_infer,
    .run = clip_run,
    .gradient = clip_gradient,
    .doc = "y = min(max(x, min), max), bounds as attributes",
};

const ot_op_def_t ot_op_Clip_11 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Clip",
    .since_version = 11,
    .min_inputs = 1, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .infer = clip_infer,
    .run = clip_run,
    .gradient = clip_gradient,
    .doc = "y = min(max(x, min), max), optional scalar bound inputs",
};

/* ---- ai.onnxtrain::ClipGrad ------------------------------------------------- */

static ot_status_t *clip_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1];
    if (dy->dtype != x->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and X (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype));
    ot_status_t *st = check_bounds(ctx, 2, x->dtype);
    if (st) return st;
    if (ctx->outputs[0]) {
        ctx->outputs[0]->dtype = dy->dtype;
        ctx->outputs[0]->shape = dy->shape.rank >= 0 ? dy->shape : x->shape;
    }
    /* dmin, dmax: the bound's shape; a scalar for an absent bound (whose
     * gradient the rule only emits as a placeholder before dmax) */
    for (int o = 1; o < ctx->n_outputs; o++)
        if (ctx->outputs[o]) {
            ctx->outputs[o]->dtype = dy->dtype;
            const ot_tensor_t *b = o + 1 < ctx->n_inputs ? ctx->inputs[o + 1] : NULL;
            ctx->outputs[o]->shape = b ? b->shape : ot_shape_make(0, NULL);
        }
    return NULL;
}

/* Sums for dmin/dmax accumulate in double. */
#define CLIP_GRAD_BODY(T)                                                                     \
    T v = x[i], d = dy[i];                                                                    \
    if (dx) dx[i] = (v >= lo && v <= hi) ? d : (T)0;                                          \
    slo += (v < lo && lo_ok) ? (double)d : 0.0;                                               \
    shi += (v > hi || hi_all) ? (double)d : 0.0;

#define CLIP_GRAD(T)                                                                          \
    do {                                                                                      \
        const T *restrict dy = k->inputs[0]->data, *restrict x = k->inputs[1]->data;          \
        const T lo = (T)dlo, hi = (T)dhi;                                                     \
        T *restrict dx = k->outputs[0] ? k->outputs[0]->data : NULL;                          \
        double slo = 0, shi = 0;                                                              \
        const bool lo_ok = lo < hi, hi_all = hi < lo;                                         \
        if (n > CLIP_PARALLEL_MIN) {                                                          \
            _Pragma("omp parallel for simd reduction(+ : slo, shi)")                          \
            for (int64_t i = 0; i < n; i++) { CLIP_GRAD_BODY(T) }                             \
        } else {                                                                              \
            _Pragma("omp simd reduction(+ : slo, shi)")                                       \
            for (int64_t i = 0; i < n; i++) { CLIP_GRAD_BODY(T) }                             \
        }                                                                                     \
        if (k->n_outputs > 1 && k->outputs[1]) *(T *)k->outputs[1]->data = (T)slo;            \
        if (k->n_outputs > 2 && k->outputs[2]) *(T *)k->outputs[2]->data = (T)shi;            \
    } while (0)

static ot_status_t *clip_grad_run(ot_kernel_t *k) {
    int64_t n = ot_shape_numel(&k->inputs[1]->shape);
    if (ot_shape_numel(&k->inputs[0]->shape) != n) return OT_KERNEL_ERROR(k, "dY and X differ in size");
    bool f32 = k->inputs[0]->dtype == OT_DTYPE_FLOAT;
    /* Clip-6's attributes (default +-FLT_MAX), overridden by Clip-11's inputs */
    double dlo = ot_attr_float(k->node, "min", -FLT_MAX), dhi = ot_attr_float(k->node, "max", FLT_MAX);
    if (!f32 && !ot_node_attr(k->node, "min")) dlo = -DBL_MAX;
    if (!f32 && !ot_node_attr(k->node, "max")) dhi = DBL_MAX;
    for (int i = 2; i < 4 && i < k->n_inputs; i++) {
        if (!k->inputs[i]) continue;
        double b = f32 ? *(const float *)k->inputs[i]->data : *(const double *)k->inputs[i]->data;
        if (i == 2) dlo = b;
        else dhi = b;
    }
    if (f32) CLIP_GRAD(float);
    else CLIP_GRAD(double);
    return NULL;
}

const ot_op_def_t ot_op_ot_ClipGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ClipGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 4,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = clip6_attrs,
    .infer = clip_grad_infer,
    .run = clip_grad_run,
    .doc = "dX = dY where min <= X <= max; dmin, dmax: sums of dY where X < min (min < max), X > max (or max < min)",
};
