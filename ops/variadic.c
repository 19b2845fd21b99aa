/* ops/variadic.c: the variadic elementwise reductions Sum, Max, Min (ONNX
 * -6/-8/-12/-13): one or more inputs broadcast together with numpy rules
 * (-6 required equal shapes, a special case; -12/-13 only widen types), so
 * one record at since 6 serves opsets 6..17.
 *
 *   Sum: y = x0 + x1 + ...        (float, double)
 *   Max: y = max(x0, x1, ...)     Min: y = min(x0, x1, ...)
 *        (float, double, float16, int8..64, uint8..64; NaN propagates, as
 *        numpy's maximum/minimum, which ONNX's reference uses)
 *
 * Kernel: y = op(x0, x1) over the broadcast plan of ops/broadcast.h, then
 * y = op(y, xk) in place for k >= 2 (row functions without restrict for
 * that reason); one input is a copy.
 *
 * Gradients: Sum: dXi = SumTo(dY, shape of Xi). Max/Min: the gradient goes
 * to the inputs equal to the result, split equally among ties, which for two
 * inputs is exactly torch.maximum/minimum's backward (grad / 2 each on a
 * tie); with more inputs each of k tied inputs gets dY / k:
 *   m_i = Cast(Equal(X_i, Y), float type), dX_i = SumTo(dY * m_i / (m_0 + ... + m_n-1))
 * composed from Equal (opset >= 7), Cast, Sum, Div, Mul. Where Y is NaN the
 * count is 0 and the gradients are NaN.
 */
#include "ops/broadcast.h"
#include "ops/grad_util.h"

#include <math.h>

typedef enum varop { VAR_SUM, VAR_MAX, VAR_MIN, VAR_COUNT } varop_t;

/* float16 -> float, exact (for comparisons only: results keep the bits). */
static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    float f;
    if (exp == 0x1f) { /* inf / NaN */
        uint32_t bits = sign | 0x7f800000u | (man << 13);
        memcpy(&f, &bits, 4);
        return f;
    }
    f = exp ? ldexpf((float)(man | 0x400u), (int)exp - 25) : ldexpf((float)man, -24);
    return sign ? -f : f;
}

/* dst may be src[0] (in-place accumulation): no restrict here. */
#define VAR_ROW(name, T, EXPR)                                                                \
    static void name(const void *ctx, int64_t n, void *dst_, const void *const *src,          \
                     const int64_t *step) {                                                   \
        (void)ctx;                                                                            \
        T *d = dst_;                                                                          \
        const T *pa = src[0], *pb = src[1];                                                   \
        const int64_t sa = step[0], sb = step[1];                                             \
        if (sa && sb) { /* in place is fine for simd: each i reads and writes only i */       \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T x = pa[i], y = pb[i];                                                       \
                d[i] = (EXPR);                                                                \
            }                                                                                 \
        } else {                                                                              \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T x = pa[i * sa], y = pb[i * sb];                                             \
                d[i] = (EXPR);                                                                \
            }                                                                                 \
        }                                                                                     \
    }

/* x != x: NaN propagates (false for integers) */
#define VAR_ROWS_FOR(T, tag)                                                                  \
    VAR_ROW(max_##tag, T, (x > y || x != x) ? x : y)                                          \
    VAR_ROW(min_##tag, T, (x < y || x != x) ? x : y)

VAR_ROW(sum_f32, float, x + y)
VAR_ROW(sum_f64, double, x + y)
VAR_ROWS_FOR(float, f32)
VAR_ROWS_FOR(double, f64)
VAR_ROWS_FOR(int8_t, i8)
VAR_ROWS_FOR(int16_t, i16)
VAR_ROWS_FOR(int32_t, i32)
VAR_ROWS_FOR(int64_t, i64)
VAR_ROWS_FOR(uint8_t, u8)
VAR_ROWS_FOR(uint16_t, u16)
VAR_ROWS_FOR(uint32_t, u32)
VAR_ROWS_FOR(uint64_t, u64)
#define HF(v) half_to_float(v)
VAR_ROW(max_f16, uint16_t, (HF(x) > HF(y) || HF(x) != HF(x)) ? x : y)
VAR_ROW(min_f16, uint16_t, (HF(x) < HF(y) || HF(x) != HF(x)) ? x : y)

#define VAR_ENTRY(DT, tag) [DT] = {NULL, max_##tag, min_##tag}

static const ot_bcast_row_fn var_rows[OT_DTYPE_COUNT][VAR_COUNT] = {
    [OT_DTYPE_FLOAT] = {sum_f32, max_f32, min_f32},
    [OT_DTYPE_DOUBLE] = {sum_f64, max_f64, min_f64},
    VAR_ENTRY(OT_DTYPE_FLOAT16, f16),
    VAR_ENTRY(OT_DTYPE_INT8, i8),
    VAR_ENTRY(OT_DTYPE_INT16, i16),
    VAR_ENTRY(OT_DTYPE_INT32, i32),
    VAR_ENTRY(OT_DTYPE_INT64, i64),
    VAR_ENTRY(OT_DTYPE_UINT8, u8),
    VAR_ENTRY(OT_DTYPE_UINT16, u16),
    VAR_ENTRY(OT_DTYPE_UINT32, u32),
    VAR_ENTRY(OT_DTYPE_UINT64, u64),
};

static ot_status_t *var_infer(ot_infer_ctx_t *ctx, varop_t op) {
    if (ctx->n_inputs < 1 || !ctx->inputs[0]) return OT_INFER_ERROR(ctx, "needs at least one input");
    ot_dtype_t dt = ctx->inputs[0]->dtype;
    if (dt <= OT_DTYPE_UNDEFINED || dt >= OT_DTYPE_COUNT || !var_rows[dt][op])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(dt));
    ot_shape_t out = ctx->inputs[0]->shape;
    for (int i = 1; i < ctx->n_inputs; i++) {
        const ot_tensor_t *x = ctx->inputs[i];
        if (!x) return OT_INFER_ERROR(ctx, "input %d is missing", i);
        if (x->dtype != dt)
            return OT_INFER_ERROR(ctx, "input %d has dtype %s, input 0 %s", i, ot_dtype_name(x->dtype),
                                  ot_dtype_name(dt));
        ot_shape_t next;
        if (!ot_broadcast_shape(&out, &x->shape, &next)) {
            char a[128], b[128];
            return OT_INFER_ERROR(ctx, "cannot broadcast input %d %s with %s", i, ot_shape_str(&x->shape, a, sizeof a),
                                  ot_shape_str(&out, b, sizeof b));
        }
        out = next;
    }
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = dt;
    ctx->outputs[0]->shape = out;
    return NULL;
}

static ot_status_t *var_run(ot_kernel_t *k, varop_t op) {
    ot_tensor_t *y = k->outputs[0];
    if (!y) return NULL;
    size_t es = ot_dtype_size(y->dtype), esize[2] = {es, es};
    if (k->n_inputs == 1) {
        memcpy(y->data, k->inputs[0]->data, (size_t)ot_shape_numel(&y->shape) * es);
        return NULL;
    }
    ot_bcast_row_fn fn = var_rows[y->dtype][op];
    for (int i = 1; i < k->n_inputs; i++) {
        /* first step reads x0, the later ones accumulate into y */
        const ot_tensor_t *a = i == 1 ? k->inputs[0] : y, *b = k->inputs[i];
        const ot_shape_t *shapes[2] = {&a->shape, &b->shape};
        ot_bcast_t plan;
        ot_bcast_init(&plan, &y->shape, 2, shapes);
        const void *src[2] = {a->data, b->data};
        ot_bcast_run(&plan, y->data, es, src, esize, fn, NULL);
    }
    return NULL;
}

static ot_status_t *float_only(ot_grad_ctx_t *ctx) {
    ot_dtype_t dt = ctx->output_types[0]->dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient of %s not supported", ot_dtype_name(dt));
    return NULL;
}

static ot_status_t *sum_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = float_only(ctx);
    for (int i = 0; !st && i < ctx->n_inputs; i++)
        if (ctx->needs[i]) st = ot_grad_unbroadcast(ctx, ctx->doutputs[0], ctx->output_types[0], i, &ctx->dinputs[i]);
    return st;
}

/* See the header: masks of the inputs equal to Y, ties share equally. */
static ot_status_t *maxmin_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = float_only(ctx);
    if (st) return st;
    int n = ctx->n_inputs, dy = ctx->doutputs[0], y = ctx->outputs[0];
    if (n == 1) return ot_grad_unbroadcast(ctx, dy, ctx->output_types[0], 0, &ctx->dinputs[0]);
    int masks[64];
    if (n > 64) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient supports at most 64 inputs, got %d", n);
    ot_attr_t to = {0};
    to.name = "to";
    to.type = OT_ATTR_INT;
    to.i = ctx->output_types[0]->dtype;
    for (int i = 0; i < n; i++) {
        int eq;
        if ((st = ot_grad_op2(ctx, "", "Equal", ctx->inputs[i], y, &eq))) return st;
        if ((st = ot_grad_emit(ctx, "", "Cast", 1, &eq, 1, &masks[i], 1, &to))) return st;
    }
    int count, share, g;
    if ((st = ot_grad_emit(ctx, "", "Sum", n, masks, 1, &count, 0, NULL))) return st;
    if ((st = ot_grad_op2(ctx, "", "Div", dy, count, &share))) return st;
    for (int i = 0; i < n && !st; i++) {
        if (!ctx->needs[i]) continue;
        if (!(st = ot_grad_op2(ctx, "", "Mul", share, masks[i], &g)))
            st = ot_grad_unbroadcast(ctx, g, ctx->output_types[0], i, &ctx->dinputs[i]);
    }
    return st;
}

#define OT_VAR_RECORD(Op, OPC, grad_fn, doc_)                                                 \
    static ot_status_t *Op##_infer(ot_infer_ctx_t *ctx) { return var_infer(ctx, OPC); }       \
    static ot_status_t *Op##_run(ot_kernel_t *k) { return var_run(k, OPC); }                  \
    const ot_op_def_t ot_op_##Op##_6 = {                                                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                 \
        .domain = "",                                                                         \
        .op_type = #Op,                                                                       \
        .since_version = 6,                                                                   \
        .min_inputs = 1, .max_inputs = -1,                                                    \
        .min_outputs = 1, .max_outputs = 1,                                                   \
        .infer = Op##_infer,                                                                  \
        .run = Op##_run,                                                                      \
        .gradient = grad_fn,                                                                  \
        .doc = doc_,                                                                          \
    };

OT_VAR_RECORD(Sum, VAR_SUM, sum_gradient, "y = x0 + x1 + ..., numpy broadcasting")
OT_VAR_RECORD(Max, VAR_MAX, maxmin_gradient, "y = max(x0, x1, ...), numpy broadcasting, NaN propagates")
OT_VAR_RECORD(Min, VAR_MIN, maxmin_gradient, "y = min(x0, x1, ...), numpy broadcasting, NaN propagates")
