/* ops/gather.c: Gather (ONNX Gather-1/11/13), takes slices along `axis`.
 *
 *   output[i_0..i_{a-1}, j_0..j_{q-1}, i_{a+1}..] = data[i_0.., indices[j..], i_{a+1}..]
 *   output rank = r - 1 + q; negative indices count from the end
 *   (made explicit in 11; accepted in every version).
 *
 * Any data dtype, copied by bytes; int32 or int64 indices. Every index is
 * checked before anything is copied: an out-of-range index is an error
 * naming the node (at inference when the indices are constant).
 *
 * Gradient: dData = com.microsoft::GatherGrad(Shape(data), indices, dY)
 * (ONNX Runtime's op, attribute axis): zeros of data's shape, then
 *   dData[o, idx[j], i] += dY[o, j, i]
 * for repeated indices too (the embedding backward). Deterministic: work is
 * split over (outer index, block of inner columns) and every thread adds
 * all j in index order into its own columns, so no two threads touch one
 * element and the sums do not depend on the thread count. float32 and
 * float64 (accumulated in their own type, in index order). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t gather_attrs[] = {{"axis", OT_ATTR_INT, false}, {NULL, 0, false}};

static ot_status_t *gather_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *data = ctx->inputs[0], *idx = ctx->inputs[1];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, data->dtype, "data");
    if (st) return st;
    if (idx->dtype != OT_DTYPE_INT32 && idx->dtype != OT_DTYPE_INT64)
        return OT_INFER_ERROR(ctx, "indices must be int32 or int64, got %s", ot_dtype_name(idx->dtype));
    y->dtype = data->dtype;
    int r = data->shape.rank, q = idx->shape.rank;
    if (r == 0) return OT_INFER_ERROR(ctx, "data must have rank >= 1");
    if (r < 0 || q < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    int64_t axis = ot_attr_int(ctx->node, "axis", 0);
    int ax;
    if (!ot_norm_axis(axis, r, &ax)) return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axis, r);
    if (r - 1 + q > OT_MAX_RANK)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "output rank %d exceeds %d", r - 1 + q, OT_MAX_RANK);
    ot_shape_t s = ot_shape_make(0, NULL);
    for (int d = 0; d < ax; d++) s.dims[s.rank++] = data->shape.dims[d];
    for (int d = 0; d < q; d++) s.dims[s.rank++] = idx->shape.dims[d];
    for (int d = ax + 1; d < r; d++) s.dims[s.rank++] = data->shape.dims[d];
    y->shape = s;
    int64_t n = data->shape.dims[ax], ni = ot_shape_numel(&idx->shape);
    if (idx->data && n >= 0 && ni >= 0) { /* constant indices: refuse bad ones at load time */
        for (int64_t j = 0; j < ni; j++) {
            int64_t v = idx->dtype == OT_DTYPE_INT64 ? ((const int64_t *)idx->data)[j] : ((const int32_t *)idx->data)[j];
            if (v < -n || v >= n)
                return OT_INFER_ERROR(ctx, "index %" PRId64 " (at %" PRId64 ") out of range [-%" PRId64 ", %" PRId64 "]",
                                      v, j, n, n - 1);
        }
    }
    return NULL;
}

/* out[o, j, :] = data[o, idx[j], :] with a compile-time row size where it
 * is a plain element, so the copy becomes one load and store. */
#define GATHER_ROWS(ROW_BYTES)                                                                            \
    OT_SHAPE_PARALLEL_FOR(total_bytes > OT_SHAPE_PAR_BYTES, w, work, {                                    \
        int64_t o = w / ni, j = w % ni;                                                                   \
        int64_t v = i64 ? i64[j] : (int64_t)i32[j];                                                       \
        if (v < 0) v += n;                                                                                \
        memcpy(dst + (size_t)w * (ROW_BYTES), src + ((size_t)o * (size_t)n + (size_t)v) * (ROW_BYTES),   \
               (ROW_BYTES));                                                                              \
    })

static ot_status_t *gather_run(ot_kernel_t *k) {
    const ot_tensor_t *data = k->inputs[0], *idx = k->inputs[1];
    int r = data->shape.rank, ax;
    bool ok = ot_norm_axis(ot_attr_int(k->node, "axis", 0), r, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    int64_t n = data->shape.dims[ax], ni = ot_shape_numel(&idx->shape), outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= data->shape.dims[d];
    for (int d = ax + 1; d < r; d++) inner *= data->shape.dims[d];
    const int64_t *i64 = idx->dtype == OT_DTYPE_INT64 ? idx->data : NULL;
    const int32_t *i32 = idx->dtype == OT_DTYPE_INT32 ? idx->data : NULL;
    for (int64_t j = 0; j < ni; j++) {
        int64_t v = i64 ? i64[j] : (int64_t)i32[j];
        if (v < -n || v >= n)
            return OT_KERNEL_ERROR(k, "index %" PRId64 " (at %" PRId64 ") out of range [-%" PRId64 ", %" PRId64 "]", v,
                                   j, n, n - 1);
    }
    size_t row = (size_t)inner * ot_dtype_size(data->dtype);
    int64_t work = outer * ni;
    if (work == 0 || row == 0) return NULL;
    size_t total_bytes = (size_t)work * row;
    const unsigned char *src = data->data;
    unsigned char *dst = k->outputs[0]->data;
    switch (row) {
    case 1: GATHER_ROWS(1); break;
    case 2: GATHER_ROWS(2); break;
    case 4: GATHER_ROWS(4); break;
    case 8: GATHER_ROWS(8); break;
    default: GATHER_ROWS(row); break;
    }
    return NULL;
}

static ot_status_t *gather_gradient(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0] || ctx->doutputs[0] < 0) return NULL;
    int shape;
    ot_status_t *st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[0], 1, &shape, 0, NULL);
    if (st) return st;
    int in[3] = {shape, ctx->inputs[1], ctx->doutputs[0]};
    ot_attr_t axis = {.name = "axis", .type = OT_ATTR_INT, .i = ot_attr_int(ctx->node, "axis", 0)};
    return ot_grad_emit(ctx, "com.microsoft", "GatherGrad", 3, in, 1, &ctx->dinputs[0], 1, &axis);
}

#define GATHER_RECORD(ver)                                              \
    const ot_op_def_t ot_op_Gather_##ver = {                           \
        .abi_version = OT_PLUGIN_ABI_VERSION,                          \
        .domain = "",                                                  \
        .op_type = "Gather",                                           \
        .since_version = ver,                                          \
        .min_inputs = 2, .max_inputs = 2,                              \
        .min_outputs = 1, .max_outputs = 1,                            \
        .attrs = gather_attrs,                                         \
        .infer = gather_infer,                                         \
        .run = gather_run,                                             \
        .gradient = gather_gradient,                                   \
        .doc = "output = data[..., indices, ...] along axis",          \
    };

GATHER_RECORD(1)
GATHER_RECORD(11)
GATHER_RECORD(13)

/* ---- com.microsoft::GatherGrad(shape, indices, dY) -> dX ----------------- */

static ot_status_t *gather_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *shape = ctx->inputs[0], *idx = ctx->inputs[1], *dy = ctx->inputs[2];
    ot_tensor_t *dx = ctx->outputs[0];
    if (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dY dtype %s not supported", ot_dtype_name(dy->dtype));
    if (idx->dtype != OT_DTYPE_INT32 && idx->dtype != OT_DTYPE_INT64)
        return OT_INFER_ERROR(ctx, "indices must be int32 or int64, got %s", ot_dtype_name(idx->dtype));
    if (shape->dtype != OT_DTYPE_INT64 || (shape->shape.rank >= 0 && shape->shape.rank != 1))
        return OT_INFER_ERROR(ctx, "shape must be a 1-D int64 tensor");
    dx->dtype = dy->dtype;
    int64_t r = shape->shape.rank == 1 ? shape->shape.dims[0] : -1;
    if (r > OT_MAX_RANK) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "rank %" PRId64 " exceeds %d", r, OT_MAX_RANK);
    if (r == 0) return OT_INFER_ERROR(ctx, "shape must have rank >= 1");
    if (r < 0) {
        dx->shape = ot_shape_unknown();
        return NULL;
    }
    dx->shape = ot_shape_make((int)r, NULL);
    int64_t axis = ot_attr_int(ctx->node, "axis", 0);
    int ax;
    if (!ot_norm_axis(axis, (int)r, &ax))
        return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %" PRId64, axis, r);
    if (!shape->data) {
        for (int d = 0; d < r; d++) dx->shape.dims[d] = -1;
        return NULL;
    }
    int64_t dims[OT_MAX_RANK];
    ot_tensor_read_ints(shape, dims, OT_MAX_RANK);
    for (int d = 0; d < r; d++) {
        if (dims[d] < 0) return OT_INFER_ERROR(ctx, "shape[%d] = %" PRId64 " is negative", d, dims[d]);
        dx->shape.dims[d] = dims[d];
    }
    /* dY must be Gather's output shape: dims[:ax] + indices.dims + dims[ax+1:] */
    if (dy->shape.rank >= 0 && idx->shape.rank >= 0) {
        bool ok = dy->shape.rank == (int)r - 1 + idx->shape.rank;
        for (int d = 0, k = 0; ok && d < dy->shape.rank; d++) {
            int64_t want = d < ax ? dims[d] : d < ax + idx->shape.rank ? idx->shape.dims[d - ax] : dims[ax + 1 + k++];
            ok = dy->shape.dims[d] < 0 || want < 0 || dy->shape.dims[d] == want;
        }
        char b1[128], b2[128];
        if (!ok)
            return OT_INFER_ERROR(ctx, "dY %s is not the Gather output shape for data %s", ot_shape_str(&dy->shape, b1, sizeof b1),
                                  ot_shape_str(&dx->shape, b2, sizeof b2));
    }
    return NULL;
}

/* Columns per work item: wide enough to amortize the index walk. */
#define GG_BLOCK 64

#define GATHER_GRAD_LOOP(T)                                                                           \
    do {                                                                                              \
        const T *g = dy->data;                                                                        \
        T *d = dx->data;                                                                              \
        memset(d, 0, sizeof(T) * (size_t)(outer * n * inner));                                        \
        OT_SHAPE_PARALLEL_FOR(big, w, work, {                                                         \
            int64_t o = w / n_blocks, c0 = (w % n_blocks) * GG_BLOCK;                                 \
            int64_t c1 = c0 + GG_BLOCK < inner ? c0 + GG_BLOCK : inner;                               \
            for (int64_t j = 0; j < ni; j++) {                                                        \
                int64_t v = i64 ? i64[j] : (int64_t)i32[j];                                           \
                if (v < 0) v += n;                                                                    \
                T *dst = d + (o * n + v) * inner;                                                     \
                const T *src = g + (o * ni + j) * inner;                                              \
                for (int64_t c = c0; c < c1; c++) dst[c] += src[c];                                   \
            }                                                                                         \
        });                                                                                           \
    } while (0)

static ot_status_t *gather_grad_run(ot_kernel_t *k) {
    const ot_tensor_t *idx = k->inputs[1], *dy = k->inputs[2];
    ot_tensor_t *dx = k->outputs[0];
    int r = dx->shape.rank, ax;
    bool ok = ot_norm_axis(ot_attr_int(k->node, "axis", 0), r, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    int64_t n = dx->shape.dims[ax], ni = ot_shape_numel(&idx->shape), outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= dx->shape.dims[d];
    for (int d = ax + 1; d < r; d++) inner *= dx->shape.dims[d];
    if (ot_shape_numel(&dy->shape) != outer * ni * inner) return OT_KERNEL_ERROR(k, "dY has the wrong size");
    const int64_t *i64 = idx->dtype == OT_DTYPE_INT64 ? idx->data : NULL;
    const int32_t *i32 = idx->dtype == OT_DTYPE_INT32 ? idx->data : NULL;
    for (int64_t j = 0; j < ni; j++) {
        int64_t v = i64 ? i64[j] : (int64_t)i32[j];
        if (v < -n || v >= n)
            return OT_KERNEL_ERROR(k, "index %" PRId64 " (at %" PRId64 ") out of range [-%" PRId64 ", %" PRId64 "]", v,
                                   j, n, n - 1);
    }
    if (outer * n * inner == 0) return NULL;
    int64_t n_blocks = (inner + GG_BLOCK - 1) / GG_BLOCK, work = outer * n_blocks;
    bool big = (size_t)(outer * ni * inner) * ot_dtype_size(dy->dtype) > OT_SHAPE_PAR_BYTES && work > 1;
    if (dy->dtype == OT_DTYPE_FLOAT) GATHER_GRAD_LOOP(float);
    else GATHER_GRAD_LOOP(double);
    return NULL;
}

const ot_op_def_t ot_op_ms_GatherGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "GatherGrad",
    .since_version = 1,
    .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = gather_attrs,
    .infer = gather_grad_infer,
    .run = gather_grad_run,
    .doc = "dX = zeros(shape); dX[.., indices[j], ..] += dY[.., j, ..] along axis",
};
