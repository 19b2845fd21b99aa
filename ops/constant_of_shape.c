/* ops/constant_of_shape.c: ConstantOfShape (ONNX ConstantOfShape-9), a
 * tensor of the shape given by the 1-D int64 input, every element equal to
 * the one-element tensor attribute `value` (default: float32 0). An empty
 * input gives a scalar; a zero in it an empty tensor.
 *
 * No gradient rule: the output does not depend on any float input (the
 * shape is int64), so autodiff never asks. Used by autodiff itself for
 * zeros and ones of large or symbolic shapes. */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t cos_attrs[] = {{"value", OT_ATTR_TENSOR, false}, {NULL, 0, false}};

static ot_status_t *cos_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *s = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    const ot_attr_t *v = ot_node_attr(ctx->node, "value");
    if (v) {
        if (ot_shape_numel(&v->t->shape) != 1) return OT_INFER_ERROR(ctx, "value must have exactly one element");
        ot_status_t *st = ot_check_movable_dtype(ctx->node, v->t->dtype, "value");
        if (st) return st;
    }
    if (s->dtype != OT_DTYPE_INT64 || (s->shape.rank >= 0 && s->shape.rank != 1))
        return OT_INFER_ERROR(ctx, "input must be a 1-D int64 tensor");
    y->dtype = v ? v->t->dtype : OT_DTYPE_FLOAT;
    int64_t r = s->shape.rank == 1 ? s->shape.dims[0] : -1;
    if (r > OT_MAX_RANK) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "rank %" PRId64 " exceeds %d", r, OT_MAX_RANK);
    if (r < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    y->shape = ot_shape_make((int)r, NULL);
    for (int d = 0; d < r; d++) {
        int64_t dim = s->data ? ((const int64_t *)s->data)[d] : -1;
        if (s->data && dim < 0) return OT_INFER_ERROR(ctx, "shape[%d] = %" PRId64 " is negative", d, dim);
        y->shape.dims[d] = dim;
    }
    return NULL;
}

static ot_status_t *cos_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    const ot_attr_t *v = ot_node_attr(k->node, "value");
    size_t es = ot_dtype_size(y->dtype);
    int64_t n = ot_shape_numel(&y->shape);
    if (n == 0) return NULL; /* no buffer */
    unsigned char zero[16] = {0};
    const unsigned char *val = v && v->t->data ? v->t->data : zero;
    bool all_zero = true;
    for (size_t b = 0; b < es; b++) all_zero &= val[b] == 0;
    if (all_zero) {
        memset(y->data, 0, (size_t)n * es);
        return NULL;
    }
    unsigned char *dst = y->data;
    OT_SHAPE_PARALLEL_FOR((size_t)n * es > OT_SHAPE_PAR_BYTES, i, n, { memcpy(dst + (size_t)i * es, val, es); });
    return NULL;
}

const ot_op_def_t ot_op_ConstantOfShape_9 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "ConstantOfShape",
    .since_version = 9,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = cos_attrs,
    .infer = cos_infer,
    .run = cos_run,
    .doc = "output of the given shape filled with `value` (default float 0)",
};
