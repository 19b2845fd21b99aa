/* ops/where.c: Where(condition, X, Y) = condition ? X : Y elementwise, the
 * three inputs broadcast together with numpy rules (ONNX Where-9/16; -16
 * only adds bfloat16, so one record serves 9..17).
 *
 * Types: condition bool; X and Y any one fixed-size type the runtime holds
 * (the kernel moves 1, 2, 4 or 8-byte elements). No string tensors.
 *
 * Gradient: dX = SumTo(Where(condition, dOut, 0), X's shape) and
 * dY = SumTo(Where(condition, 0, dOut), Y's shape); condition gets none.
 * Composed from Where itself and ops/grad_util.h's unbroadcast.
 */
#include "ops/broadcast.h"
#include "ops/grad_util.h"

#define WHERE_ROW(name, T)                                                                    \
    static void name(const void *ctx, int64_t n, void *dst_, const void *const *src,          \
                     const int64_t *step) {                                                   \
        (void)ctx;                                                                            \
        T *restrict d = dst_;                                                                 \
        const uint8_t *restrict c = src[0];                                                   \
        const T *restrict a = src[1], *restrict b = src[2];                                   \
        const int64_t sc = step[0], sa = step[1], sb = step[2];                               \
        if (sc && sa && sb) {                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) d[i] = c[i] ? a[i] : b[i];    \
        } else {                                                                              \
            for (int64_t i = 0; i < n; i++) d[i] = c[i * sc] ? a[i * sa] : b[i * sb];         \
        }                                                                                     \
    }

WHERE_ROW(where_row8, uint8_t)
WHERE_ROW(where_row16, uint16_t)
WHERE_ROW(where_row32, uint32_t)
WHERE_ROW(where_row64, uint64_t)

static ot_status_t *where_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *c = ctx->inputs[0], *x = ctx->inputs[1], *y = ctx->inputs[2];
    if (c->dtype != OT_DTYPE_BOOL)
        return OT_INFER_ERROR(ctx, "condition must be bool, got %s", ot_dtype_name(c->dtype));
    if (x->dtype != y->dtype)
        return OT_INFER_ERROR(ctx, "X (%s) and Y (%s) must share a dtype", ot_dtype_name(x->dtype),
                              ot_dtype_name(y->dtype));
    size_t es = ot_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dtype %s not supported", ot_dtype_name(x->dtype));
    ot_shape_t cx, out;
    char a[128], b[128], cs[128];
    if (!ot_broadcast_shape(&c->shape, &x->shape, &cx) || !ot_broadcast_shape(&cx, &y->shape, &out))
        return OT_INFER_ERROR(ctx, "cannot broadcast condition %s, X %s and Y %s",
                              ot_shape_str(&c->shape, cs, sizeof cs), ot_shape_str(&x->shape, a, sizeof a),
                              ot_shape_str(&y->shape, b, sizeof b));
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = out;
    return NULL;
}

static ot_status_t *where_run(ot_kernel_t *k) {
    ot_tensor_t *out = k->outputs[0];
    if (!out) return NULL;
    const ot_shape_t *shapes[3] = {&k->inputs[0]->shape, &k->inputs[1]->shape, &k->inputs[2]->shape};
    ot_bcast_t plan;
    ot_bcast_init(&plan, &out->shape, 3, shapes);
    const void *src[3] = {k->inputs[0]->data, k->inputs[1]->data, k->inputs[2]->data};
    size_t es = ot_dtype_size(out->dtype);
    size_t esize[3] = {1, es, es};
    ot_bcast_row_fn fn = es == 1 ? where_row8 : es == 2 ? where_row16 : es == 4 ? where_row32 : where_row64;
    ot_bcast_run(&plan, out->data, es, src, esize, fn, NULL);
    return NULL;
}

static ot_status_t *where_gradient(ot_grad_ctx_t *ctx) {
    int cond = ctx->inputs[0], dout = ctx->doutputs[0], zero, g;
    ot_dtype_t dt = ctx->output_types[0]->dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient of %s not supported", ot_dtype_name(dt));
    ot_status_t *st = ot_grad_scalar(ctx, dt, 0.0, &zero);
    for (int i = 1; !st && i < 3; i++) {
        if (!ctx->needs[i]) continue;
        int in[3] = {cond, i == 1 ? dout : zero, i == 1 ? zero : dout};
        st = ot_grad_emit(ctx, "", "Where", 3, in, 1, &g, 0, NULL);
        if (!st) st = ot_grad_unbroadcast(ctx, g, ctx->output_types[0], i, &ctx->dinputs[i]);
    }
    return st;
}

const ot_op_def_t ot_op_Where_9 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Where",
    .since_version = 9,
    .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .infer = where_infer,
    .run = where_run,
    .gradient = where_gradient,
    .doc = "out = condition ? X : Y, numpy broadcasting",
};
