/* ops/shape.c: Shape (ONNX Shape-1/13/15), the input's dims as int64.
 *
 *   output = dims[start:end] (1-D int64); start/end (Shape-15) follow
 *   Python slicing: negative values count from the end, then both are
 *   clamped to [0, rank]. Before 15 the whole shape.
 *
 * Flagged OT_OP_SHAPE_ONLY: inference fills the output's data once the
 * sliced dims are known, so later shape arithmetic folds to constants. */
#include "ops/shape_util.h"

static const ot_attr_spec_t shape15_attrs[] = {
    {"start", OT_ATTR_INT, false}, {"end", OT_ATTR_INT, false}, {NULL, 0, false}};

/* The slice [*begin, *end) of a rank-r shape. */
static void shape_range(const ot_node_info_t *node, int r, int *begin, int *end) {
    int64_t s = ot_attr_int(node, "start", 0), e = ot_attr_int(node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *begin = (int)s;
    *end = (int)(e > s ? e : s);
}

static ot_status_t *shape_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    y->dtype = OT_DTYPE_INT64;
    y->shape = ot_shape_make(1, NULL);
    if (x->shape.rank < 0) {
        y->shape.dims[0] = -1;
        return NULL;
    }
    int b, e;
    shape_range(ctx->node, x->shape.rank, &b, &e);
    y->shape.dims[0] = e - b;
    for (int i = b; i < e; i++)
        if (x->shape.dims[i] < 0) return NULL; /* the value waits for plan time */
    int64_t *v = ot_infer_alloc(ctx, (size_t)(e - b) * sizeof(int64_t));
    if (!v) return OT_NODE_ERROR(ctx->node, OT_ERR_NO_MEMORY, "out of memory");
    for (int i = b; i < e; i++) v[i - b] = x->shape.dims[i];
    y->data = v;
    return NULL;
}

static ot_status_t *shape_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    int b, e;
    shape_range(k->node, x->shape.rank, &b, &e);
    int64_t *v = k->outputs[0]->data;
    for (int i = b; i < e; i++) v[i - b] = x->shape.dims[i];
    return NULL;
}

#define SHAPE_RECORD(ver, attr_list)                               \
    const ot_op_def_t ot_op_Shape_##ver = {                       \
        .abi_version = OT_PLUGIN_ABI_VERSION,                     \
        .domain = "",                                             \
        .op_type = "Shape",                                       \
        .since_version = ver,                                     \
        .min_inputs = 1, .max_inputs = 1,                         \
        .min_outputs = 1, .max_outputs = 1,                       \
        .attrs = attr_list,                                       \
        .flags = OT_OP_SHAPE_ONLY,                                \
        .infer = shape_infer,                                     \
        .run = shape_run,                                         \
        .doc = "output = input dims[start:end] as int64",         \
    };

SHAPE_RECORD(1, NULL)
SHAPE_RECORD(13, NULL)
SHAPE_RECORD(15, shape15_attrs)
