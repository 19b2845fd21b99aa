/* ops/flatten.c: Flatten (ONNX Flatten-1/9/11/13), a view op.
 *
 *   output: (prod(dims[0:axis]), prod(dims[axis:])), axis in [0, r]
 *   (negative axis counts from the end since Flatten-11).
 *
 * 9 and 13 only widened the types, so they share everything with 1 and 11.
 * Output 0 aliases input 0; run() copies only when not aliased.
 * Gradient: dX = Reshape(dY, Shape(X)) (ot_grad_view_back). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t flatten_attrs[] = {{"axis", OT_ATTR_INT, false}, {NULL, 0, false}};

static ot_status_t *flatten_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    int64_t axis = ot_attr_int(ctx->node, "axis", 1);
    if (axis < 0 && ctx->node->opset < 11)
        return OT_INFER_ERROR(ctx, "axis %" PRId64 " must be non-negative before opset 11", axis);
    y->dtype = x->dtype;
    y->shape = ot_shape_make(2, NULL);
    if (x->shape.rank < 0) {
        y->shape.dims[0] = y->shape.dims[1] = -1;
        return NULL;
    }
    int r = x->shape.rank;
    if (axis < -r || axis > r) return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axis, r);
    if (axis < 0) axis += r;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < r; i++) {
        int64_t d = x->shape.dims[i];
        int64_t *p = i < axis ? &outer : &inner;
        *p = (d < 0 || *p < 0) ? -1 : *p * d;
    }
    y->shape.dims[0] = outer;
    y->shape.dims[1] = inner;
    return NULL;
}

static ot_status_t *flatten_run(ot_kernel_t *k) {
    ot_copy_unless_aliased(k->outputs[0]->data, k->inputs[0]->data, ot_tensor_nbytes(k->inputs[0]));
    return NULL;
}

#define FLATTEN_RECORD(ver)                                                    \
    const ot_op_def_t ot_op_Flatten_##ver = {                                 \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                 \
        .domain = "",                                                         \
        .op_type = "Flatten",                                                 \
        .since_version = ver,                                                 \
        .min_inputs = 1, .max_inputs = 1,                                     \
        .min_outputs = 1, .max_outputs = 1,                                   \
        .attrs = flatten_attrs,                                               \
        .flags = OT_OP_ALIAS_INPUT0,                                          \
        .infer = flatten_infer,                                               \
        .run = flatten_run,                                                   \
        .gradient = ot_grad_view_back,                                        \
        .doc = "output = input viewed as (prod(dims[:axis]), prod(dims[axis:]))", \
    };

FLATTEN_RECORD(1)
FLATTEN_RECORD(9)
FLATTEN_RECORD(11)
FLATTEN_RECORD(13)
