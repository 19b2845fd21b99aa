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
 * tie); with more inputs each of k tied inputs gets dY / k. Where Y is NaN
 * the NaN inputs share dY the same way. One fused backward op,
 *   ai.onnxtrain::MaxMinGrad(dY, Y, X_0, ..., X_n-1) -> dX_i at Y's shape
 * (our domain: ONNX Runtime's training ops have none), then SumTo each
 * input's shape. Up to MAXMIN_MAX_IN inputs.
 */
#include "ops/broadcast.h"
#include "ops/grad_util.h"
#include "ops/shape_util.h"

#include <math.h>
#include <stdlib.h>

typedef enum varop { VAR_SUM, VAR_MAX, VAR_MIN, VAR_COUNT } varop_t;

/* Inputs MaxMinGrad takes besides dY and Y (a fixed bound keeps its state
 * a fixed-size struct). */
#define MAXMIN_MAX_IN 32

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

/* See the header: ai.onnxtrain::MaxMinGrad(dY, Y, X_0.., X_n-1) gives the
 * needed inputs' gradients at Y's shape (attribute `inputs`: which X each
 * output is for), then each is summed down to its input's shape. */
static ot_status_t *maxmin_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = float_only(ctx);
    if (st) return st;
    int n = ctx->n_inputs, dy = ctx->doutputs[0];
    if (n == 1) return ot_grad_unbroadcast(ctx, dy, ctx->output_types[0], 0, &ctx->dinputs[0]);
    if (n > MAXMIN_MAX_IN)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient supports at most %d inputs, got %d",
                             MAXMIN_MAX_IN, n);
    int in[MAXMIN_MAX_IN + 2], out[MAXMIN_MAX_IN], n_out = 0;
    int64_t which[MAXMIN_MAX_IN];
    in[0] = dy;
    in[1] = ctx->outputs[0];
    for (int i = 0; i < n; i++) {
        in[i + 2] = ctx->inputs[i];
        if (ctx->needs[i]) which[n_out++] = i;
    }
    ot_attr_t a = {0};
    a.name = "inputs";
    a.type = OT_ATTR_INTS;
    a.n = n_out;
    a.ints = which;
    if ((st = ot_grad_emit(ctx, OT_DOMAIN, "MaxMinGrad", n + 2, in, n_out, out, 1, &a))) return st;
    for (int k = 0; k < n_out && !st; k++)
        st = ot_grad_unbroadcast(ctx, out[k], ctx->output_types[0], (int)which[k], &ctx->dinputs[which[k]]);
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

/* ---- ai.onnxtrain::MaxMinGrad ------------------------------------------------
 * Inputs: dY, Y (same shape), X_0..X_n-1 (broadcasting to Y). Attribute
 * `inputs` (INTS, default 0..n-1): output k is the gradient for X_inputs[k],
 * at Y's shape. Parallel over rows of Y's last dim, every X addressed
 * through its broadcast strides. */

static const ot_attr_spec_t maxmin_grad_attrs[] = {{"inputs", OT_ATTR_INTS, false}, {NULL, 0, false}};

static ot_status_t *maxmin_grad_infer(ot_infer_ctx_t *ctx) {
    if (ctx->n_inputs < 3) return OT_INFER_ERROR(ctx, "needs dY, Y and at least one X");
    const ot_tensor_t *dy = ctx->inputs[0], *y = ctx->inputs[1];
    int n = ctx->n_inputs - 2;
    if (n > MAXMIN_MAX_IN) return OT_INFER_ERROR(ctx, "at most %d X inputs, got %d", MAXMIN_MAX_IN, n);
    if (dy->dtype != y->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and Y (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(y->dtype));
    ot_shape_t out = dy->shape.rank >= 0 ? dy->shape : y->shape;
    for (int i = 0; i < n; i++) {
        const ot_tensor_t *x = ctx->inputs[i + 2];
        ot_shape_t b;
        if (!x || x->dtype != dy->dtype) return OT_INFER_ERROR(ctx, "X_%d is missing or not of dY's dtype", i);
        if (!ot_broadcast_shape(&out, &x->shape, &b)) return OT_INFER_ERROR(ctx, "X_%d does not broadcast to Y", i);
    }
    const int64_t *which;
    int64_t n_which = ot_attr_ints(ctx->node, "inputs", &which);
    if (n_which < 0) n_which = n;
    if (n_which != ctx->n_outputs) return OT_INFER_ERROR(ctx, "%d outputs for %lld listed inputs", ctx->n_outputs, (long long)n_which);
    for (int64_t k = 0; which && k < n_which; k++)
        if (which[k] < 0 || which[k] >= n) return OT_INFER_ERROR(ctx, "inputs[%lld] = %lld out of range", (long long)k, (long long)which[k]);
    for (int o = 0; o < ctx->n_outputs; o++)
        if (ctx->outputs[o]) {
            ctx->outputs[o]->dtype = dy->dtype;
            ctx->outputs[o]->shape = out;
        }
    return NULL;
}

typedef struct maxmin_grad_state {
    int n;                                    /* X inputs */
    int rank;                                 /* Y's rank, >= 1 */
    int64_t dims[OT_MAX_RANK];                /* Y's dims ((1) for a scalar) */
    int64_t xstr[MAXMIN_MAX_IN][OT_MAX_RANK]; /* broadcast strides of each X */
    int out_of[MAXMIN_MAX_IN];                /* X index -> output, or -1 */
} maxmin_grad_state_t;

static void maxmin_grad_release(ot_kernel_t *k) {
    free(k->state);
    k->state = NULL;
}

static ot_status_t *maxmin_grad_setup(ot_kernel_t *k) {
    maxmin_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    const ot_shape_t *ys = &k->inputs[1]->shape;
    s->n = k->n_inputs - 2;
    s->rank = ys->rank > 0 ? ys->rank : 1;
    for (int d = 0; d < s->rank; d++) s->dims[d] = ys->rank > 0 ? ys->dims[d] : 1;
    ot_shape_t full = ot_shape_make(s->rank, s->dims);
    for (int i = 0; i < s->n; i++) {
        ot_broadcast_strides(&k->inputs[i + 2]->shape, &full, s->xstr[i]);
        s->out_of[i] = -1;
    }
    const int64_t *which;
    int64_t n_which = ot_attr_ints(k->node, "inputs", &which);
    for (int o = 0; o < k->n_outputs; o++) s->out_of[n_which < 0 ? o : which[o]] = o;
    return NULL;
}

#define MAXMIN_GRAD(T)                                                                        \
    do {                                                                                      \
        const T *dy = k->inputs[0]->data, *y = k->inputs[1]->data;                            \
        const T *xs[MAXMIN_MAX_IN];                                                           \
        T *dxs[MAXMIN_MAX_IN];                                                                \
        for (int i = 0; i < n; i++) {                                                         \
            xs[i] = k->inputs[i + 2]->data;                                                   \
            int o = s->out_of[i];                                                             \
            dxs[i] = o >= 0 && k->outputs[o] ? k->outputs[o]->data : NULL;                    \
        }                                                                                     \
        OT_SHAPE_PARALLEL_FOR(total > MAXMIN_PARALLEL_MIN, row, rows, {                       \
            int64_t off[MAXMIN_MAX_IN], step[MAXMIN_MAX_IN], r = row;                         \
            for (int i = 0; i < n; i++) off[i] = 0, step[i] = s->xstr[i][s->rank - 1];       \
            for (int d = s->rank - 2; d >= 0; d--) {                                          \
                int64_t idx = r % s->dims[d];                                                 \
                r /= s->dims[d];                                                              \
                for (int i = 0; i < n; i++) off[i] += idx * s->xstr[i][d];                    \
            }                                                                                 \
            for (int64_t j = 0; j < inner; j++) {                                             \
                int64_t e = row * inner + j;                                                  \
                T yv = y[e];                                                                  \
                bool nan = yv != yv;                                                          \
                int ties = 0;                                                                 \
                for (int i = 0; i < n; i++) {                                                 \
                    T xv = xs[i][off[i] + j * step[i]];                                       \
                    ties += nan ? xv != xv : xv == yv;                                        \
                }                                                                             \
                T share = ties ? dy[e] / (T)ties : (T)0;                                      \
                for (int i = 0; i < n; i++) {                                                 \
                    if (!dxs[i]) continue;                                                    \
                    T xv = xs[i][off[i] + j * step[i]];                                       \
                    dxs[i][e] = (nan ? xv != xv : xv == yv) ? share : (T)0;                   \
                }                                                                             \
            }                                                                                 \
        });                                                                                   \
    } while (0)

#define MAXMIN_PARALLEL_MIN 32768

static ot_status_t *maxmin_grad_run(ot_kernel_t *k) {
    const maxmin_grad_state_t *s = k->state;
    int n = s->n;
    int64_t total = ot_shape_numel(&k->inputs[1]->shape), inner = s->dims[s->rank - 1];
    if (ot_shape_numel(&k->inputs[0]->shape) != total) return OT_KERNEL_ERROR(k, "dY and Y differ in size");
    if (total == 0) return NULL;
    int64_t rows = total / inner;
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) MAXMIN_GRAD(float);
    else MAXMIN_GRAD(double);
    return NULL;
}

const ot_op_def_t ot_op_ot_MaxMinGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "MaxMinGrad",
    .since_version = 1,
    .min_inputs = 3, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = -1,
    .attrs = maxmin_grad_attrs,
    .infer = maxmin_grad_infer,
    .setup = maxmin_grad_setup,
    .run = maxmin_grad_run,
    .release = maxmin_grad_release,
    .doc = "dX_i = dY / (number of X equal to Y) where X_i == Y, else 0 (NaN Y: the NaN X share)",
};
