/* ops/gather.c: Gather (ONNX Gather-1/11/13), takes slices along `axis`.
 *
 *   output[i_0..i_{a-1}, j_0..j_{q-1}, i_{a+1}..] = data[i_0.., indices[j..], i_{a+1}..]
 *   output rank = r - 1 + q; negative indices count from the end
 *   (made explicit in 11; accepted in every version).
 *
 * Any data dtype, copied by bytes; int32 or int64 indices. Every index is
 * checked before anything is copied: an out-of-range index is an error
 * naming the node (at inference when the indices are constant). */
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
        .doc = "output = data[..., indices, ...] along axis",          \
    };

GATHER_RECORD(1)
GATHER_RECORD(11)
GATHER_RECORD(13)
