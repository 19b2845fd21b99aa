/* ops/expand.c: Expand (ONNX Expand-8/13) and its gradient-side twin
 * ai.onnxtrain::ExpandTo.
 *
 *   Expand(X, shape)   Y = X broadcast to broadcast(X.shape, shape)
 *                      (numpy rules in both directions, as the spec says)
 *   ExpandTo(X, shape) Y = X broadcast to exactly `shape`; attribute `axes`
 *                      (ints) first re-inserts those axes of Y as size-1
 *                      dims of X (the axes a keepdims=0 reduction dropped);
 *                      `mean` = 1 divides by numel(Y) / numel(X). It is the
 *                      backward of ReduceSum (mean = 0) and ReduceMean
 *                      (mean = 1); the divisor is taken at run time, so
 *                      symbolic (batch) dims need no re-planning of the graph.
 * Gradients: Expand's is SumTo(dY, Shape(X)) (ops/sum_to.c); ExpandTo is
 * only ever emitted by autodiff and has none.
 * Kernels: element copies over ops/broadcast.h row runs, any dtype by width;
 * ExpandTo scales float32/float64 in the same pass. */
#include "ops/broadcast.h"
#include "ops/grad_util.h"

/* Reads a 1-D int64 shape input; returns its length (-1 if unknown) and
 * fills dims when the data is known (*known). */
static ot_status_t *read_shape_input(const ot_node_info_t *node, const ot_tensor_t *t, ot_shape_t *out, bool *known) {
    if (t->dtype != OT_DTYPE_INT64 || t->shape.rank != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape must be a 1-D int64 tensor");
    int64_t n = t->shape.dims[0];
    if (n > OT_MAX_RANK)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "shape has %lld dims; at most %d supported", (long long)n,
                             OT_MAX_RANK);
    *known = t->data != NULL && n >= 0;
    *out = n >= 0 ? ot_shape_make((int)n, NULL) : ot_shape_unknown();
    if (n < 0) return NULL;
    for (int i = 0; i < n; i++) out->dims[i] = *known ? ((const int64_t *)t->data)[i] : -1;
    for (int i = 0; *known && i < n; i++)
        if (out->dims[i] < 0)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "shape[%d] = %lld is negative", i,
                                 (long long)out->dims[i]);
    return NULL;
}

static ot_status_t *expand_infer(ot_infer_ctx_t *ctx) {
    ot_shape_t target;
    bool known;
    ot_status_t *st = read_shape_input(ctx->node, ctx->inputs[1], &target, &known);
    if (st) return st;
    if (ot_dtype_size(ctx->inputs[0]->dtype) == 0)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dtype %s not supported",
                             ot_dtype_name(ctx->inputs[0]->dtype));
    ot_tensor_t *y = ctx->outputs[0];
    y->dtype = ctx->inputs[0]->dtype;
    if (!ot_broadcast_shape(&ctx->inputs[0]->shape, &target, &y->shape)) {
        char a[128], b[128];
        return OT_INFER_ERROR(ctx, "input %s cannot be broadcast with shape %s",
                              ot_shape_str(&ctx->inputs[0]->shape, a, sizeof a), ot_shape_str(&target, b, sizeof b));
    }
    return NULL;
}

typedef struct copy_ctx {
    size_t esize;
    double scale; /* 1: plain copy */
    ot_dtype_t dtype;
} copy_ctx_t;

static void copy_row(const void *ctx_, int64_t n, void *dst, const void *const *src, const int64_t *step) {
    const copy_ctx_t *c = ctx_;
    if (c->scale != 1.0 && c->dtype == OT_DTYPE_FLOAT) {
        float *d = dst, s = (float)c->scale;
        const float *x = src[0];
        if (step[0]) for (int64_t i = 0; i < n; i++) d[i] = x[i] * s;
        else for (int64_t i = 0; i < n; i++) d[i] = x[0] * s;
        return;
    }
    if (c->scale != 1.0 && c->dtype == OT_DTYPE_DOUBLE) {
        double *d = dst, s = c->scale;
        const double *x = src[0];
        if (step[0]) for (int64_t i = 0; i < n; i++) d[i] = x[i] * s;
        else for (int64_t i = 0; i < n; i++) d[i] = x[0] * s;
        return;
    }
    if (step[0]) {
        memcpy(dst, src[0], (size_t)n * c->esize);
        return;
    }
    char *d = dst;
    for (int64_t i = 0; i < n; i++) memcpy(d + (size_t)i * c->esize, src[0], c->esize);
}

/* Y = X (viewed with shape `xs`) broadcast to Y's shape, times scale. */
static void broadcast_copy(const ot_tensor_t *x, const ot_shape_t *xs, ot_tensor_t *y, double scale) {
    ot_bcast_t b;
    const ot_shape_t *ins[1] = {xs};
    ot_bcast_init(&b, &y->shape, 1, ins);
    copy_ctx_t c = {ot_dtype_size(x->dtype), scale, x->dtype};
    const void *src[1] = {x->data};
    size_t es[1] = {c.esize};
    ot_bcast_run(&b, y->data, c.esize, src, es, copy_row, &c);
}

static ot_status_t *expand_run(ot_kernel_t *k) {
    broadcast_copy(k->inputs[0], &k->inputs[0]->shape, k->outputs[0], 1.0);
    return NULL;
}

static ot_status_t *expand_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_unbroadcast(ctx, ctx->doutputs[0], ctx->output_types[0], 0, &ctx->dinputs[0]);
}

#define EXPAND_RECORD(ver)                                            \
    const ot_op_def_t ot_op_Expand_##ver = {                         \
        .abi_version = OT_PLUGIN_ABI_VERSION,                        \
        .domain = "",                                                \
        .op_type = "Expand",                                         \
        .since_version = ver,                                        \
        .min_inputs = 2, .max_inputs = 2,                            \
        .min_outputs = 1, .max_outputs = 1,                          \
        .infer = expand_infer,                                       \
        .run = expand_run,                                           \
        .gradient = expand_gradient,                                 \
        .doc = "Y = X broadcast with shape (numpy rules)",           \
    };
EXPAND_RECORD(8)
EXPAND_RECORD(13)

/* ---- ExpandTo ------------------------------------------------------------ */

/* X's shape with the `axes` of a rank-`rank` output re-inserted as 1s. */
static ot_status_t *expand_to_in_shape(const ot_node_info_t *node, const ot_shape_t *x, int rank, ot_shape_t *out) {
    const int64_t *axes = NULL;
    int64_t n = ot_attr_ints(node, "axes", &axes);
    if (n <= 0) {
        *out = *x;
        return NULL;
    }
    if (x->rank < 0) {
        *out = ot_shape_unknown();
        return NULL;
    }
    if (x->rank + n != rank)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "input rank %d plus %lld axes is not the output rank %d",
                             x->rank, (long long)n, rank);
    bool inserted[OT_MAX_RANK] = {false};
    for (int64_t i = 0; i < n; i++) {
        int ax;
        if (!ot_norm_axis(axes[i], rank, &ax) || inserted[ax])
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axes[%lld] = %lld is out of range or repeated",
                                 (long long)i, (long long)axes[i]);
        inserted[ax] = true;
    }
    *out = ot_shape_make(rank, NULL);
    for (int d = 0, j = 0; d < rank; d++) out->dims[d] = inserted[d] ? 1 : x->dims[j++];
    return NULL;
}

static ot_status_t *expand_to_infer(ot_infer_ctx_t *ctx) {
    ot_shape_t target, xs;
    bool known;
    ot_status_t *st = read_shape_input(ctx->node, ctx->inputs[1], &target, &known);
    if (st) return st;
    const ot_tensor_t *x = ctx->inputs[0];
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dtype %s not supported", ot_dtype_name(x->dtype));
    if (target.rank >= 0 && (st = expand_to_in_shape(ctx->node, &x->shape, target.rank, &xs))) return st;
    if (target.rank >= 0 && xs.rank > target.rank)
        return OT_INFER_ERROR(ctx, "input rank %d exceeds the target rank %d", xs.rank, target.rank);
    for (int d = 0; known && xs.rank >= 0 && d < xs.rank; d++) {
        int64_t xd = xs.dims[d], td = target.dims[d + target.rank - xs.rank];
        if (xd >= 0 && xd != 1 && xd != td) {
            char a[128], b[128];
            return OT_INFER_ERROR(ctx, "input %s does not broadcast to %s", ot_shape_str(&xs, a, sizeof a),
                                  ot_shape_str(&target, b, sizeof b));
        }
    }
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = target;
    return NULL;
}

static ot_status_t *expand_to_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    ot_shape_t xs;
    ot_status_t *st = expand_to_in_shape(k->node, &k->inputs[0]->shape, y->shape.rank, &xs);
    if (st) return st;
    int64_t nx = ot_shape_numel(&xs), ny = ot_shape_numel(&y->shape);
    double scale = ot_attr_int(k->node, "mean", 0) && nx > 0 ? (double)nx / (double)ny : 1.0;
    broadcast_copy(k->inputs[0], &xs, y, scale);
    return NULL;
}

static const ot_attr_spec_t expand_to_attrs[] = {
    {"axes", OT_ATTR_INTS, false}, {"mean", OT_ATTR_INT, false}, {NULL, OT_ATTR_UNDEFINED, false}};

const ot_op_def_t ot_op_ot_ExpandTo_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ExpandTo",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = expand_to_attrs,
    .infer = expand_to_infer,
    .run = expand_to_run,
    .doc = "Y = X (axes re-inserted) broadcast to shape, / (numel(Y)/numel(X)) if mean",
};
