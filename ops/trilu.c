/* ops/trilu.c: Trilu (ONNX Trilu-14), the upper or lower triangle of the
 * last two dims (every leading dim indexes a separate matrix).
 *
 *   upper = 1 (default): keep x[..., i, j] where j - i >= k, else 0
 *   upper = 0:           keep x[..., i, j] where j - i <= k, else 0
 * k: optional int64 scalar input (default 0), any sign. Any dtype, moved
 * by byte width; "0" is all-zero bytes (0, +0.0, false).
 *
 * Gradient: dX = Trilu(dY, k) with the same `upper` (the mask is linear and
 * its own adjoint). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t trilu_attrs[] = {{"upper", OT_ATTR_INT, false}, {NULL, 0, false}};

static ot_status_t *trilu_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *k = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    if (x->shape.rank >= 0 && x->shape.rank < 2)
        return OT_INFER_ERROR(ctx, "input must have rank >= 2, got %d", x->shape.rank);
    if (k && (k->dtype != OT_DTYPE_INT64 || (k->shape.rank > 0 && ot_shape_numel(&k->shape) != 1)))
        return OT_INFER_ERROR(ctx, "k must be an int64 scalar");
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

static ot_status_t *trilu_run(ot_kernel_t *kn) {
    const ot_tensor_t *x = kn->inputs[0], *kt = kn->n_inputs > 1 ? kn->inputs[1] : NULL;
    int64_t k = kt ? *(const int64_t *)kt->data : 0;
    bool upper = ot_attr_int(kn->node, "upper", 1) != 0;
    int r = x->shape.rank;
    int64_t rows = x->shape.dims[r - 2], cols = x->shape.dims[r - 1];
    int64_t n_rows = rows == 0 ? 0 : ot_shape_numel(&x->shape) / cols; /* over all matrices */
    size_t es = ot_dtype_size(x->dtype);
    if (n_rows == 0 || cols == 0) return NULL;
    const unsigned char *src = x->data;
    unsigned char *dst = kn->outputs[0]->data;
    OT_SHAPE_PARALLEL_FOR((size_t)(n_rows * cols) * es > OT_SHAPE_PAR_BYTES, t, n_rows, {
        int64_t i = t % rows;
        /* kept columns: [lo, hi) */
        int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
        lo = lo < 0 ? 0 : lo > cols ? cols : lo;
        hi = hi < lo ? lo : hi > cols ? cols : hi;
        size_t row = (size_t)t * (size_t)cols * es;
        memset(dst + row, 0, (size_t)lo * es);
        memcpy(dst + row + (size_t)lo * es, src + row + (size_t)lo * es, (size_t)(hi - lo) * es);
        memset(dst + row + (size_t)hi * es, 0, (size_t)(cols - hi) * es);
    });
    return NULL;
}

static ot_status_t *trilu_gradient(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0] || ctx->doutputs[0] < 0) return NULL;
    int in[2] = {ctx->doutputs[0], ctx->n_inputs > 1 ? ctx->inputs[1] : -1};
    ot_attr_t upper = {.name = "upper", .type = OT_ATTR_INT, .i = ot_attr_int(ctx->node, "upper", 1)};
    return ot_grad_emit(ctx, "", "Trilu", in[1] >= 0 ? 2 : 1, in, 1, &ctx->dinputs[0], 1, &upper);
}

const ot_op_def_t ot_op_Trilu_14 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Trilu",
    .since_version = 14,
    .min_inputs = 1, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = trilu_attrs,
    .infer = trilu_infer,
    .run = trilu_run,
    .gradient = trilu_gradient,
    .doc = "upper (lower) triangle of the last two dims: keep j - i >= k (<= k), else 0",
};
