/* ops/concat.c: Concat (ONNX Concat-4/11/13), joins inputs along `axis`.
 *
 *   output.dims[axis] = sum_i inputs[i].dims[axis]; other dims must agree.
 *
 * 11 allows a negative axis, 13 only adds types. Any dtype, copied by bytes:
 * for each index of the dims before `axis`, every input contributes one
 * contiguous chunk. Zero-size inputs contribute nothing.
 *
 * Gradient: ai.onnxtrain::ConcatGrad(dY, Shape(x_0), ..., Shape(x_{n-1}))
 * -> dx_0..dx_{n-1} (attribute axis): dY cut back into the inputs' pieces.
 * Our own op rather than Split, whose signature changes across opsets
 * (split attribute, then input); the shapes fold to constants at plan
 * time, so symbolic dims work and the inputs are not kept alive. */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t concat_attrs[] = {{"axis", OT_ATTR_INT, true}, {NULL, 0, false}};

static ot_status_t *concat_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x0 = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x0->dtype, "input");
    if (st) return st;
    int64_t axis = ot_attr_int(ctx->node, "axis", 0);
    if (axis < 0 && ctx->node->opset < 11)
        return OT_INFER_ERROR(ctx, "axis %" PRId64 " must be non-negative before opset 11", axis);
    int r = -1;
    for (int i = 0; i < ctx->n_inputs; i++) {
        const ot_tensor_t *x = ctx->inputs[i];
        if (!x) return OT_INFER_ERROR(ctx, "input %d is missing", i);
        if (x->dtype != x0->dtype)
            return OT_INFER_ERROR(ctx, "input %d has dtype %s, input 0 has %s", i, ot_dtype_name(x->dtype),
                                  ot_dtype_name(x0->dtype));
        if (x->shape.rank < 0) continue;
        if (r >= 0 && x->shape.rank != r)
            return OT_INFER_ERROR(ctx, "input %d has rank %d, expected %d", i, x->shape.rank, r);
        r = x->shape.rank;
    }
    y->dtype = x0->dtype;
    if (r < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    int ax;
    if (!ot_norm_axis(axis, r, &ax)) return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axis, r);
    ot_shape_t s = ot_shape_make(r, NULL);
    for (int d = 0; d < r; d++) s.dims[d] = d == ax ? 0 : -1;
    bool all_ranked = true;
    for (int i = 0; i < ctx->n_inputs; i++) {
        const ot_shape_t *xs = &ctx->inputs[i]->shape;
        if (xs->rank < 0) {
            all_ranked = false;
            continue;
        }
        for (int d = 0; d < r; d++) {
            int64_t v = xs->dims[d];
            if (d == ax) {
                s.dims[d] = (v < 0 || s.dims[d] < 0) ? -1 : s.dims[d] + v;
            } else if (v >= 0) {
                if (s.dims[d] >= 0 && s.dims[d] != v)
                    return OT_INFER_ERROR(ctx, "input %d has dim %d = %" PRId64 ", expected %" PRId64, i, d, v,
                                          s.dims[d]);
                s.dims[d] = v;
            }
        }
    }
    if (!all_ranked) s.dims[ax] = -1;
    y->shape = s;
    return NULL;
}

static ot_status_t *concat_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    size_t es = ot_dtype_size(y->dtype);
    int r = y->shape.rank, n_in = k->n_inputs;
    int ax;
    bool ok = ot_norm_axis(ot_attr_int(k->node, "axis", 0), r, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= y->shape.dims[d];
    for (int d = ax + 1; d < r; d++) inner *= y->shape.dims[d];
    size_t row = (size_t)y->shape.dims[ax] * (size_t)inner * es; /* output bytes per outer index */
    if (row == 0 || outer == 0) return NULL;
    unsigned char *dst = y->data;
    int64_t work = outer * n_in;
    OT_SHAPE_PARALLEL_FOR((size_t)outer * row > OT_SHAPE_PAR_BYTES, w, work, {
        int64_t o = w / n_in;
        int i = (int)(w % n_in);
        size_t off = 0; /* bytes of the inputs before i within one row */
        for (int j = 0; j < i; j++) off += (size_t)k->inputs[j]->shape.dims[ax] * (size_t)inner * es;
        size_t chunk = (size_t)k->inputs[i]->shape.dims[ax] * (size_t)inner * es;
        if (chunk)
            memcpy(dst + (size_t)o * row + off, (const unsigned char *)k->inputs[i]->data + (size_t)o * chunk, chunk);
    });
    return NULL;
}

static ot_status_t *concat_gradient(ot_grad_ctx_t *ctx) {
    if (ctx->doutputs[0] < 0) return NULL;
    int n = ctx->n_inputs;
    int in[1 + 64], out[64];
    if (n > 64) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient of a Concat of more than 64 inputs");
    in[0] = ctx->doutputs[0];
    for (int i = 0; i < n; i++) {
        ot_status_t *st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[i], 1, &in[1 + i], 0, NULL);
        if (st) return st;
    }
    ot_attr_t axis = {.name = "axis", .type = OT_ATTR_INT, .i = ot_attr_int(ctx->node, "axis", 0)};
    ot_status_t *st = ot_grad_emit(ctx, OT_DOMAIN, "ConcatGrad", 1 + n, in, n, out, 1, &axis);
    for (int i = 0; !st && i < n; i++)
        if (ctx->needs[i]) ctx->dinputs[i] = out[i];
    return st;
}

#define CONCAT_RECORD(ver)                                   \
    const ot_op_def_t ot_op_Concat_##ver = {                \
        .abi_version = OT_PLUGIN_ABI_VERSION,               \
        .domain = "",                                       \
        .op_type = "Concat",                                \
        .since_version = ver,                               \
        .min_inputs = 1, .max_inputs = -1,                  \
        .min_outputs = 1, .max_outputs = 1,                 \
        .attrs = concat_attrs,                              \
        .infer = concat_infer,                              \
        .run = concat_run,                                  \
        .gradient = concat_gradient,                        \
        .doc = "output = inputs joined along axis",         \
    };

CONCAT_RECORD(4)
CONCAT_RECORD(11)
CONCAT_RECORD(13)

/* ---- ai.onnxtrain::ConcatGrad(dY, shape_0, ..., shape_{n-1}) -> dX_0..dX_{n-1} ---- */

static ot_status_t *concat_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, dy->dtype, "dY");
    if (st) return st;
    if (ctx->n_outputs != ctx->n_inputs - 1)
        return OT_INFER_ERROR(ctx, "has %d outputs for %d shapes", ctx->n_outputs, ctx->n_inputs - 1);
    int64_t axis = ot_attr_int(ctx->node, "axis", 0), sum = 0;
    bool sum_known = true;
    for (int i = 1; i < ctx->n_inputs; i++) {
        const ot_tensor_t *s = ctx->inputs[i];
        if (!s || s->dtype != OT_DTYPE_INT64 || s->shape.rank != 1 || s->shape.dims[0] > OT_MAX_RANK)
            return OT_INFER_ERROR(ctx, "input %d must be a 1-D int64 shape", i);
        ot_tensor_t *o = ctx->outputs[i - 1];
        int r = (int)s->shape.dims[0];
        ot_shape_t shp = r >= 0 ? ot_shape_make(r, NULL) : ot_shape_unknown();
        for (int d = 0; d < r; d++) shp.dims[d] = s->data ? ((const int64_t *)s->data)[d] : -1;
        int ax;
        if (r >= 0 && !ot_norm_axis(axis, r, &ax))
            return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axis, r);
        if (r < 0 || !s->data) sum_known = false;
        else sum += shp.dims[ax];
        if (o) {
            o->dtype = dy->dtype;
            o->shape = shp;
        }
    }
    if (sum_known && dy->shape.rank > 0) {
        int ax;
        if (!ot_norm_axis(axis, dy->shape.rank, &ax) || (dy->shape.dims[ax] >= 0 && dy->shape.dims[ax] != sum))
            return OT_INFER_ERROR(ctx, "dY does not match the concatenated shapes along axis %" PRId64, axis);
    }
    return NULL;
}

static ot_status_t *concat_grad_run(ot_kernel_t *k) {
    const ot_tensor_t *dy = k->inputs[0];
    size_t es = ot_dtype_size(dy->dtype);
    int r = dy->shape.rank, n_out = k->n_outputs, ax;
    bool ok = ot_norm_axis(ot_attr_int(k->node, "axis", 0), r, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= dy->shape.dims[d];
    for (int d = ax + 1; d < r; d++) inner *= dy->shape.dims[d];
    size_t row = (size_t)dy->shape.dims[ax] * (size_t)inner * es;
    if (row == 0 || outer == 0) return NULL;
    const unsigned char *src = dy->data;
    int64_t work = outer * n_out;
    OT_SHAPE_PARALLEL_FOR((size_t)outer * row > OT_SHAPE_PAR_BYTES, w, work, {
        int64_t o = w / n_out;
        int i = (int)(w % n_out);
        size_t off = 0;
        for (int j = 0; j < i; j++) off += (size_t)((const int64_t *)k->inputs[1 + j]->data)[ax] * (size_t)inner * es;
        size_t chunk = (size_t)((const int64_t *)k->inputs[1 + i]->data)[ax] * (size_t)inner * es;
        if (chunk && k->outputs[i]) memcpy((unsigned char *)k->outputs[i]->data + (size_t)o * chunk, src + (size_t)o * row + off, chunk);
    });
    return NULL;
}

static const ot_attr_spec_t concat_grad_attrs[] = {{"axis", OT_ATTR_INT, true}, {NULL, 0, false}};

const ot_op_def_t ot_op_ot_ConcatGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ConcatGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = -1,
    .attrs = concat_grad_attrs,
    .infer = concat_grad_infer,
    .run = concat_grad_run,
    .doc = "dX_i = the piece of dY that Concat took from input i (shapes given)",
};
