/* ops/reshape.c: Reshape (ONNX Reshape-5, Reshape-14), a view op.
 *
 *   reshaped = data viewed with the dims in `shape` (row-major order kept).
 *   shape[i] == -1: inferred from the element count (at most one);
 *   shape[i] == 0:  copies data.dims[i], unless allowzero=1 (Reshape-14),
 *                   where it means an explicit zero-size dim.
 *
 * Output 0 aliases input 0 (OT_OP_ALIAS_INPUT0); run() only copies when the
 * executor gave it a separate buffer. Gradient: dX = Reshape(dY, Shape(X))
 * (ot_grad_view_back in shape_util.h). Reshape-1 (shape as an attribute)
 * predates opset 7 and is not registered. */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t reshape14_attrs[] = {{"allowzero", OT_ATTR_INT, false}, {NULL, 0, false}};

/* Resolves the requested dims `req` (n of them) against the input shape;
 * unknown input dims give unknown output dims, never an error. */
static ot_status_t *reshape_resolve(const ot_node_info_t *node, const ot_shape_t *in, const int64_t *req, int n,
                                    bool allowzero, ot_shape_t *out) {
    ot_shape_t s = ot_shape_make(n, NULL);
    int infer_at = -1;
    bool has_zero = false, others_known = true;
    int64_t others = 1; /* product of the known dims other than the -1 */
    for (int i = 0; i < n; i++) {
        int64_t v = req[i];
        if (v == -1) {
            if (infer_at >= 0)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape has more than one -1 (at %d and %d)",
                                     infer_at, i);
            infer_at = i;
            s.dims[i] = -1;
            continue;
        }
        if (v < -1) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape[%d] = %" PRId64 " is invalid", i, v);
        if (v == 0 && !allowzero) {
            if (in->rank >= 0 && i >= in->rank)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                     "shape[%d] = 0 copies input dim %d, but the input has rank %d", i, i, in->rank);
            v = in->rank >= 0 ? in->dims[i] : -1;
        } else if (v == 0) {
            has_zero = true;
        }
        s.dims[i] = v;
        if (v < 0) {
            others_known = false;
        } else if (others_known) {
            if (v > 0 && others > INT64_MAX / v)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape has too many elements");
            others *= v;
        }
    }
    if (allowzero && has_zero && infer_at >= 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape has both -1 and 0 with allowzero=1");
    int64_t in_n = ot_shape_numel(in);
    char b1[128], b2[128];
    if (infer_at >= 0) {
        if (in_n >= 0 && others_known) {
            if (others == 0 || in_n % others != 0) {
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                     "cannot reshape %s (%" PRId64 " elements): -1 at shape[%d] has no exact value",
                                     ot_shape_str(in, b1, sizeof b1), in_n, infer_at);
            }
            s.dims[infer_at] = in_n / others;
        }
    } else if (in_n >= 0 && others_known && in_n != others) {
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "cannot reshape %s (%" PRId64 " elements) to %s (%" PRId64
                             " elements)", ot_shape_str(in, b1, sizeof b1), in_n, ot_shape_str(&s, b2, sizeof b2), others);
    }
    *out = s;
    return NULL;
}

static ot_status_t *reshape_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *shape = ctx->inputs[1];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "data");
    if (st) return st;
    if (shape->dtype != OT_DTYPE_INT64)
        return OT_INFER_ERROR(ctx, "shape input must be int64, got %s", ot_dtype_name(shape->dtype));
    if (shape->shape.rank >= 0 && shape->shape.rank != 1)
        return OT_INFER_ERROR(ctx, "shape input must be 1-D, got rank %d", shape->shape.rank);
    bool allowzero = ot_attr_int(ctx->node, "allowzero", 0) != 0;
    y->dtype = x->dtype;
    int64_t n = shape->shape.rank == 1 ? shape->shape.dims[0] : -1;
    if (n > OT_MAX_RANK)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "output rank %" PRId64 " exceeds %d", n, OT_MAX_RANK);
    if (!shape->data) { /* not a constant (yet): rank from the shape's length, dims unknown */
        if (n < 0) {
            y->shape = ot_shape_unknown();
        } else {
            y->shape = ot_shape_make((int)n, NULL);
            for (int i = 0; i < (int)n; i++) y->shape.dims[i] = -1;
        }
        return NULL;
    }
    int64_t req[OT_MAX_RANK];
    int64_t got = ot_tensor_read_ints(shape, req, OT_MAX_RANK);
    OT_ASSERT(got == n && "int64 shape of known length");
    return reshape_resolve(ctx->node, &x->shape, req, (int)n, allowzero, &y->shape);
}

static ot_status_t *reshape_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_copy_unless_aliased(k->outputs[0]->data, x->data, ot_tensor_nbytes(x));
    return NULL;
}

#define RESHAPE_RECORD(ver, attr_list)                                                                      \
    const ot_op_def_t ot_op_Reshape_##ver = {                                                              \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                              \
        .domain = "",                                                                                      \
        .op_type = "Reshape",                                                                              \
        .since_version = ver,                                                                              \
        .min_inputs = 2, .max_inputs = 2,                                                                  \
        .min_outputs = 1, .max_outputs = 1,                                                                \
        .attrs = attr_list,                                                                                \
        .flags = OT_OP_ALIAS_INPUT0,                                                                       \
        .infer = reshape_infer,                                                                            \
        .run = reshape_run,                                                                                \
        .gradient = ot_grad_view_back,                                                                     \
        .doc = "reshaped = data viewed with dims from `shape` (-1 inferred, 0 copies unless allowzero)", \
    };

RESHAPE_RECORD(5, NULL)
RESHAPE_RECORD(14, reshape14_attrs)
