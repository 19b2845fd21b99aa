/* ops/split.c: Split (ONNX Split-2/11/13/18), cuts the input along `axis`
 * into the outputs, in order.
 *
 *   sizes: `split` (attribute before 13, optional int64 input from 13 on);
 *   without it, equal parts: dim / n_outputs (must divide before 18); from
 *   18 `num_outputs` is then required and parts are ceil(dim / n) with a
 *   smaller last one.
 * 11 allows a negative axis. Any dtype, moved by byte width: for each index
 * of the dims before `axis`, every output receives one contiguous chunk.
 *
 * Gradient: dX = Concat(dY_0, ..., dY_{n-1}, axis) (Concat's signature is
 * the same at every opset); an output no gradient reaches contributes
 * zeros, ConstantOfShape(Shape(Y_i)), which needs an ai.onnx opset >= 9
 * (as autodiff's own zeros do). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t split2_attrs[] = {{"axis", OT_ATTR_INT, false}, {"split", OT_ATTR_INTS, false}, {NULL, 0, false}};
static const ot_attr_spec_t split13_attrs[] = {{"axis", OT_ATTR_INT, false}, {NULL, 0, false}};
static const ot_attr_spec_t split18_attrs[] = {
    {"axis", OT_ATTR_INT, false}, {"num_outputs", OT_ATTR_INT, false}, {NULL, 0, false}};

#define SPLIT_MAX_OUT 1024

/* The part sizes along the axis of length dim (known) into sizes[n_out].
 * *known = false when the split input is not constant yet. */
static ot_status_t *split_sizes(const ot_node_info_t *node, int n_inputs, const ot_tensor_t *const *inputs, int n_out,
                                int64_t dim, int64_t *sizes, bool *known) {
    *known = true;
    const int64_t *attr = NULL;
    int64_t n = -1;
    if (node->opset < 13) {
        n = ot_attr_ints(node, "split", &attr);
    } else if (n_inputs > 1 && inputs[1]) {
        const ot_tensor_t *t = inputs[1];
        if (t->dtype != OT_DTYPE_INT64 || (t->shape.rank >= 0 && t->shape.rank != 1))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "split must be a 1-D int64 tensor");
        if (!t->data) {
            *known = false;
            return NULL;
        }
        n = ot_shape_numel(&t->shape);
        attr = t->data;
    }
    if (n >= 0) {
        if (n != n_out)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "split has %" PRId64 " entries for %d outputs", n, n_out);
        int64_t sum = 0;
        for (int i = 0; i < n_out; i++) {
            if (attr[i] < 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "split[%d] = %" PRId64 " is negative", i, attr[i]);
            sizes[i] = attr[i];
            sum += attr[i];
        }
        if (dim >= 0 && sum != dim)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "split sums to %" PRId64 " but the axis has %" PRId64, sum, dim);
        return NULL;
    }
    if (node->opset >= 18) {
        int64_t num = ot_attr_int(node, "num_outputs", -1);
        if (num < 1) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "needs either split or num_outputs");
        if (num != n_out)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "num_outputs = %" PRId64 " but the node has %d outputs", num, n_out);
        if (dim < 0) {
            *known = false;
            return NULL;
        }
        int64_t part = (dim + n_out - 1) / n_out;
        for (int i = 0; i < n_out; i++) {
            int64_t left = dim - part * i;
            sizes[i] = left < 0 ? 0 : left < part ? left : part;
        }
        return NULL;
    }
    if (dim < 0) {
        *known = false;
        return NULL;
    }
    if (dim % n_out != 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axis of %" PRId64 " does not split into %d equal parts", dim, n_out);
    for (int i = 0; i < n_out; i++) sizes[i] = dim / n_out;
    return NULL;
}

static ot_status_t *split_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    int n_out = ctx->n_outputs;
    if (n_out > SPLIT_MAX_OUT) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "more than %d outputs", SPLIT_MAX_OUT);
    int64_t axis = ot_attr_int(ctx->node, "axis", 0);
    if (axis < 0 && ctx->node->opset < 11)
        return OT_INFER_ERROR(ctx, "axis %" PRId64 " must be non-negative before opset 11", axis);
    int r = x->shape.rank, ax = 0;
    if (r == 0) return OT_INFER_ERROR(ctx, "input must have rank >= 1");
    if (r > 0 && !ot_norm_axis(axis, r, &ax)) return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axis, r);
    int64_t sizes[SPLIT_MAX_OUT];
    bool known;
    if ((st = split_sizes(ctx->node, ctx->n_inputs, ctx->inputs, n_out, r > 0 ? x->shape.dims[ax] : -1, sizes, &known)))
        return st;
    for (int i = 0; i < n_out; i++) {
        ot_tensor_t *y = ctx->outputs[i];
        if (!y) continue;
        y->dtype = x->dtype;
        y->shape = x->shape;
        if (r > 0) y->shape.dims[ax] = known ? sizes[i] : -1;
    }
    return NULL;
}

static ot_status_t *split_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    size_t es = ot_dtype_size(x->dtype);
    int r = x->shape.rank, n_out = k->n_outputs, ax;
    bool ok = ot_norm_axis(ot_attr_int(k->node, "axis", 0), r, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    int64_t sizes[SPLIT_MAX_OUT], offs[SPLIT_MAX_OUT + 1];
    bool known;
    ot_status_t *st = split_sizes(k->node, k->n_inputs, (const ot_tensor_t *const *)k->inputs, n_out, x->shape.dims[ax],
                                  sizes, &known);
    if (st) return st;
    OT_ASSERT(known && "sizes known at run time");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= x->shape.dims[d];
    for (int d = ax + 1; d < r; d++) inner *= x->shape.dims[d];
    offs[0] = 0;
    for (int i = 0; i < n_out; i++) offs[i + 1] = offs[i] + sizes[i];
    size_t row = (size_t)x->shape.dims[ax] * (size_t)inner * es;
    if (row == 0 || outer == 0) return NULL;
    const unsigned char *src = x->data;
    int64_t work = outer * n_out;
    OT_SHAPE_PARALLEL_FOR((size_t)outer * row > OT_SHAPE_PAR_BYTES, w, work, {
        int64_t o = w / n_out;
        int i = (int)(w % n_out);
        size_t chunk = (size_t)sizes[i] * (size_t)inner * es;
        if (chunk && k->outputs[i])
            memcpy((unsigned char *)k->outputs[i]->data + (size_t)o * chunk,
                   src + (size_t)o * row + (size_t)offs[i] * (size_t)inner * es, chunk);
    });
    return NULL;
}

static ot_status_t *split_gradient(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0]) return NULL;
    int n = ctx->n_outputs, in[SPLIT_MAX_OUT];
    bool any = false;
    for (int i = 0; i < n; i++) any |= ctx->doutputs[i] >= 0;
    if (!any) return NULL;
    const ot_tensor_t *xt = ctx->input_types[0];
    int64_t axis = ot_attr_int(ctx->node, "axis", 0);
    if (axis < 0) {
        if (xt->shape.rank < 0)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient with a negative axis needs the input's rank");
        axis += xt->shape.rank;
    }
    ot_status_t *st = NULL;
    for (int i = 0; i < n && !st; i++) {
        in[i] = ctx->doutputs[i];
        if (in[i] >= 0) continue;
        if (ctx->outputs[i] < 0) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs output %d", i);
        /* zeros shaped like output i */
        int shape;
        unsigned char zero[8] = {0};
        ot_tensor_t z = {xt->dtype, {1, {1}}, zero};
        ot_attr_t value = {.name = "value", .type = OT_ATTR_TENSOR, .t = &z};
        st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->outputs[i], 1, &shape, 0, NULL);
        if (!st) st = ot_grad_emit(ctx, "", "ConstantOfShape", 1, &shape, 1, &in[i], 1, &value);
    }
    ot_attr_t ax = {.name = "axis", .type = OT_ATTR_INT, .i = axis};
    if (!st) st = ot_grad_emit(ctx, "", "Concat", n, in, 1, &ctx->dinputs[0], 1, &ax);
    return st;
}

#define SPLIT_RECORD(ver, max_in, attr_list)                                   \
    const ot_op_def_t ot_op_Split_##ver = {                                   \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                 \
        .domain = "",                                                         \
        .op_type = "Split",                                                   \
        .since_version = ver,                                                 \
        .min_inputs = 1, .max_inputs = max_in,                                \
        .min_outputs = 1, .max_outputs = -1,                                  \
        .attrs = attr_list,                                                   \
        .infer = split_infer,                                                 \
        .run = split_run,                                                     \
        .gradient = split_gradient,                                           \
        .doc = "outputs = input cut along axis into `split` sizes (or equal parts)", \
    };

SPLIT_RECORD(2, 1, split2_attrs)
SPLIT_RECORD(11, 1, split2_attrs)
SPLIT_RECORD(13, 2, split13_attrs)
SPLIT_RECORD(18, 2, split18_attrs)
