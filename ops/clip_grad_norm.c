/* ops/clip_grad_norm.c: ai.onnxtrain::ClipGradNorm, torch.nn.utils.clip_grad_norm_
 * (torch 1.13) as one node over any number of gradients.
 *
 *   inputs:  grads[n] (float or double, all the same dtype, any shapes)
 *   outputs: clipped[n] (same dtypes and shapes)
 *   attributes: max_norm (FLOAT, required), norm_type (FLOAT, default 2;
 *            any p > 0, or inf)
 *
 *   norm_i = ||grads[i]||_p                 (per tensor, as torch.norm(g, p))
 *   total  = ||(norm_0 .. norm_{n-1})||_p    (inf: the largest |element|)
 *   coef   = min(max_norm / (total + 1e-6), 1)    (as torch: (1 / (total + 1e-6)) * max_norm)
 *   clipped[i] = grads[i] * coef
 *
 * As torch, the product is taken even when coef is 1 (exact), a NaN or Inf
 * gradient makes the total non-finite and poisons the result
 * (error_if_nonfinite=False), and the per-tensor norms, the total and the
 * coefficient are rounded to the gradients' dtype where torch holds them in
 * tensors of that dtype. The sums behind each norm accumulate in double.
 *
 * Not here: the optimizer-side clipping of ONNX Runtime's artifacts
 * (runtime/ort_artifacts.c interprets InplaceClipGradNorm itself). */
#include "ops/op_util.h"

#include <math.h>

#define CGN_PARALLEL_MIN 32768

static const ot_attr_spec_t cgn_attrs[] = {
    {"max_norm", OT_ATTR_FLOAT, true}, {"norm_type", OT_ATTR_FLOAT, false}, {NULL, 0, false}};

static ot_status_t *cgn_infer(ot_infer_ctx_t *ctx) {
    if (ctx->n_outputs != ctx->n_inputs)
        return OT_INFER_ERROR(ctx, "%d inputs but %d outputs: one clipped gradient per gradient", ctx->n_inputs,
                              ctx->n_outputs);
    float max_norm = ot_attr_float(ctx->node, "max_norm", 0), p = ot_attr_float(ctx->node, "norm_type", 2);
    if (!(max_norm >= 0)) return OT_INFER_ERROR(ctx, "max_norm is %g; it must be >= 0", (double)max_norm);
    if (!(p > 0)) return OT_INFER_ERROR(ctx, "norm_type is %g; it must be > 0 (or inf)", (double)p);
    ot_dtype_t dt = ctx->inputs[0]->dtype;
    for (int i = 0; i < ctx->n_inputs; i++) {
        const ot_tensor_t *g = ctx->inputs[i];
        if (g->dtype != OT_DTYPE_FLOAT && g->dtype != OT_DTYPE_DOUBLE)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input %d: dtype %s not supported (float, double)", i,
                                 ot_dtype_name(g->dtype));
        if (g->dtype != dt)
            return OT_INFER_ERROR(ctx, "input %d is %s but input 0 is %s: one dtype for all gradients", i,
                                  ot_dtype_name(g->dtype), ot_dtype_name(dt));
        if (ctx->outputs[i]) {
            ctx->outputs[i]->dtype = dt;
            ctx->outputs[i]->shape = g->shape;
        }
    }
    return NULL;
}

/* sum |x|^p (p finite) or max |x| (p inf, NaN propagating), in double. */
#define CGN_NORM(T)                                                                                            \
    static double cgn_norm_##T(const T *x, int64_t n, double p) {                                              \
        double acc = 0;                                                                                        \
        int nan = 0;                                                                                           \
        if (isinf(p)) {                                                                                        \
            _Pragma("omp parallel for reduction(max : acc) reduction(| : nan) if (n > CGN_PARALLEL_MIN)")     \
            for (int64_t i = 0; i < n; i++) {                                                                  \
                double a = fabs((double)x[i]);                                                                 \
                nan |= a != a;                                                                                 \
                acc = a > acc ? a : acc;                                                                       \
            }                                                                                                  \
            return nan ? NAN : acc;                                                                            \
        }                                                                                                      \
        if (p == 2) {                                                                                          \
            _Pragma("omp parallel for simd reduction(+ : acc) if (n > CGN_PARALLEL_MIN)")                      \
            for (int64_t i = 0; i < n; i++) acc += (double)x[i] * (double)x[i];                                \
            return sqrt(acc);                                                                                  \
        }                                                                                                      \
        if (p == 1) {                                                                                          \
            _Pragma("omp parallel for simd reduction(+ : acc) if (n > CGN_PARALLEL_MIN)")                      \
            for (int64_t i = 0; i < n; i++) acc += fabs((double)x[i]);                                         \
            return acc;                                                                                        \
        }                                                                                                      \
        _Pragma("omp parallel for reduction(+ : acc) if (n > CGN_PARALLEL_MIN)")                               \
        for (int64_t i = 0; i < n; i++) acc += pow(fabs((double)x[i]), p);                                     \
        return pow(acc, 1 / p);                                                                                \
    }                                                                                                          \
    static void cgn_scale_##T(const T *restrict x, T *restrict y, int64_t n, T coef) {                         \
        _Pragma("omp parallel for simd if (n > CGN_PARALLEL_MIN)")                                             \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * coef;                                                    \
    }
CGN_NORM(float)
CGN_NORM(double)

/* Folds one per-tensor norm into the total's accumulator (max for inf). */
static double cgn_fold(double acc, double norm, double p) {
    if (isinf(p)) return norm > acc ? norm : acc;
    return acc + (p == 1 ? norm : p == 2 ? norm * norm : pow(norm, p));
}

static ot_status_t *cgn_run(ot_kernel_t *k) {
    double p = ot_attr_float(k->node, "norm_type", 2);
    float max_norm = ot_attr_float(k->node, "max_norm", 0);
    bool f32 = k->inputs[0]->dtype == OT_DTYPE_FLOAT;
    double acc = 0;
    bool nan = false;
    for (int i = 0; i < k->n_inputs; i++) {
        int64_t n = ot_shape_numel(&k->inputs[i]->shape);
        /* torch.norm(g, p) is a tensor of g's dtype */
        double norm = f32 ? (double)(float)cgn_norm_float(k->inputs[i]->data, n, p)
                          : cgn_norm_double(k->inputs[i]->data, n, p);
        nan |= norm != norm;
        acc = cgn_fold(acc, norm, p);
    }
    double total = nan ? NAN : isinf(p) || p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1 / p);
    for (int i = 0; i < k->n_inputs; i++) {
        if (!k->outputs[i]) continue;
        int64_t n = ot_shape_numel(&k->inputs[i]->shape);
        if (f32) {
            /* torch: max_norm / t is t.reciprocal() * max_norm, in float;
             * clamp(max=1) keeps NaN */
            float c = (1.0f / ((float)total + 1e-6f)) * max_norm;
            c = c > 1.0f ? 1.0f : c;
            cgn_scale_float(k->inputs[i]->data, k->outputs[i]->data, n, c);
        } else {
            double c = (1.0 / (total + 1e-6)) * (double)max_norm;
            c = c > 1.0 ? 1.0 : c;
            cgn_scale_double(k->inputs[i]->data, k->outputs[i]->data, n, c);
        }
    }
    return NULL;
}

const ot_op_def_t ot_op_ot_ClipGradNorm_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ClipGradNorm",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = -1,
    .attrs = cgn_attrs,
    .infer = cgn_infer,
    .run = cgn_run,
    .doc = "torch.nn.utils.clip_grad_norm_: g *= min(max_norm / (||(||g_i||_p)||_p + 1e-6), 1)",
};
