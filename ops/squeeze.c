/* ops/squeeze.c: Squeeze and Unsqueeze (ONNX Squeeze/Unsqueeze-1/11/13),
 * view ops that remove or insert size-1 dims.
 *
 *   Squeeze:   drops dims `axes` (each must be 1); no axes: drops every 1.
 *   Unsqueeze: inserts 1s so that output dims `axes` are 1; axes index the
 *              OUTPUT rank (r + len(axes)).
 *
 * Versions: 1 takes `axes` as an attribute, 11 adds negative axes, 13 moves
 * `axes` to an (optional for Squeeze) int64 input. Output 0 aliases input 0;
 * run() copies only when not aliased. Gradient of both: dX = Reshape(dY,
 * Shape(X)) (ot_grad_view_back in shape_util.h). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t axes_attrs[] = {{"axes", OT_ATTR_INTS, false}, {NULL, 0, false}};
static const ot_attr_spec_t unsqueeze_attrs[] = {{"axes", OT_ATTR_INTS, true}, {NULL, 0, false}};

/* Where the axes come from. */
typedef enum axes_kind { AXES_NONE, AXES_KNOWN, AXES_UNKNOWN } axes_kind_t;

/* Reads the axes from the attribute (before 13) or the second input.
 * AXES_UNKNOWN: an input that is not constant; *n is its length or -1. */
static ot_status_t *read_axes(const ot_infer_ctx_t *ctx, int64_t *axes, int *n, axes_kind_t *kind) {
    *n = 0;
    *kind = AXES_NONE;
    if (ctx->node->opset < 13) {
        const int64_t *a = NULL;
        int64_t cnt = ot_attr_ints(ctx->node, "axes", &a);
        if (cnt < 0) return NULL;
        if (cnt > OT_MAX_RANK) return OT_INFER_ERROR(ctx, "%" PRId64 " axes exceed rank limit %d", cnt, OT_MAX_RANK);
        for (int64_t i = 0; i < cnt; i++) {
            if (a[i] < 0 && ctx->node->opset < 11)
                return OT_INFER_ERROR(ctx, "negative axis %" PRId64 " needs opset 11", a[i]);
            axes[i] = a[i];
        }
        *n = (int)cnt;
        *kind = AXES_KNOWN;
        return NULL;
    }
    const ot_tensor_t *t = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;
    if (!t) return NULL;
    if (t->dtype != OT_DTYPE_INT64) return OT_INFER_ERROR(ctx, "axes must be int64, got %s", ot_dtype_name(t->dtype));
    if (t->shape.rank >= 0 && t->shape.rank != 1) return OT_INFER_ERROR(ctx, "axes must be 1-D, got rank %d", t->shape.rank);
    int64_t cnt = t->shape.rank == 1 ? t->shape.dims[0] : -1;
    if (cnt > OT_MAX_RANK) return OT_INFER_ERROR(ctx, "%" PRId64 " axes exceed rank limit %d", cnt, OT_MAX_RANK);
    *n = (int)cnt;
    if (!t->data) {
        *kind = AXES_UNKNOWN;
        return NULL;
    }
    int64_t got = ot_tensor_read_ints(t, axes, OT_MAX_RANK);
    OT_ASSERT(got == cnt && "int64 axes of known length");
    *kind = AXES_KNOWN;
    return NULL;
}

/* Marks normalized axes in `mark` (size rank); refuses out-of-range and
 * repeated axes. */
static ot_status_t *mark_axes(const ot_infer_ctx_t *ctx, const int64_t *axes, int n, int rank, bool *mark) {
    for (int i = 0; i < rank; i++) mark[i] = false;
    for (int i = 0; i < n; i++) {
        int a;
        if (!ot_norm_axis(axes[i], rank, &a))
            return OT_INFER_ERROR(ctx, "axis %" PRId64 " out of range for rank %d", axes[i], rank);
        if (mark[a]) return OT_INFER_ERROR(ctx, "axis %" PRId64 " is repeated", axes[i]);
        mark[a] = true;
    }
    return NULL;
}

static ot_shape_t unknown_dims(int rank) {
    ot_shape_t s = ot_shape_make(rank, NULL);
    for (int i = 0; i < rank; i++) s.dims[i] = -1;
    return s;
}

static ot_status_t *squeeze_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    int64_t axes[OT_MAX_RANK];
    int n;
    axes_kind_t kind;
    if ((st = read_axes(ctx, axes, &n, &kind))) return st;
    y->dtype = x->dtype;
    int r = x->shape.rank;
    if (r < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    if (kind == AXES_UNKNOWN) { /* which dims go is unknown, how many is known when n is */
        if (n > r) return OT_INFER_ERROR(ctx, "%d axes for rank %d", n, r);
        y->shape = n < 0 ? ot_shape_unknown() : unknown_dims(r - n);
        return NULL;
    }
    bool mark[OT_MAX_RANK];
    if (kind == AXES_NONE) { /* every 1; an unknown dim might be 1 */
        for (int i = 0; i < r; i++) {
            if (x->shape.dims[i] < 0) {
                y->shape = ot_shape_unknown();
                return NULL;
            }
            mark[i] = x->shape.dims[i] == 1;
        }
    } else {
        if ((st = mark_axes(ctx, axes, n, r, mark))) return st;
        for (int i = 0; i < r; i++)
            if (mark[i] && x->shape.dims[i] >= 0 && x->shape.dims[i] != 1)
                return OT_INFER_ERROR(ctx, "cannot squeeze axis %d of size %" PRId64, i, x->shape.dims[i]);
    }
    ot_shape_t s = ot_shape_make(0, NULL);
    for (int i = 0; i < r; i++)
        if (!mark[i]) s.dims[s.rank++] = x->shape.dims[i];
    y->shape = s;
    return NULL;
}

static ot_status_t *unsqueeze_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    int64_t axes[OT_MAX_RANK];
    int n;
    axes_kind_t kind;
    if ((st = read_axes(ctx, axes, &n, &kind))) return st;
    if (kind == AXES_NONE) return OT_INFER_ERROR(ctx, "axes are required");
    y->dtype = x->dtype;
    int r = x->shape.rank;
    if (r < 0 || n < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    int out_rank = r + n;
    if (out_rank > OT_MAX_RANK)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "output rank %d exceeds %d", out_rank, OT_MAX_RANK);
    if (kind == AXES_UNKNOWN) {
        y->shape = unknown_dims(out_rank);
        return NULL;
    }
    bool mark[OT_MAX_RANK];
    if ((st = mark_axes(ctx, axes, n, out_rank, mark))) return st;
    ot_shape_t s = ot_shape_make(out_rank, NULL);
    for (int i = 0, j = 0; i < out_rank; i++) s.dims[i] = mark[i] ? 1 : x->shape.dims[j++];
    y->shape = s;
    return NULL;
}

static ot_status_t *view_run(ot_kernel_t *k) {
    ot_copy_unless_aliased(k->outputs[0]->data, k->inputs[0]->data, ot_tensor_nbytes(k->inputs[0]));
    return NULL;
}

#define SQUEEZE_RECORD(op, ver, min_in, max_in, attr_list, infer_fn, text) \
    const ot_op_def_t ot_op_##op##_##ver = {                        \
        .abi_version = OT_PLUGIN_ABI_VERSION,                       \
        .domain = "",                                               \
        .op_type = #op,                                             \
        .since_version = ver,                                       \
        .min_inputs = min_in, .max_inputs = max_in,                 \
        .min_outputs = 1, .max_outputs = 1,                         \
        .attrs = attr_list,                                         \
        .flags = OT_OP_ALIAS_INPUT0,                                \
        .infer = infer_fn,                                          \
        .run = view_run,                                            \
        .gradient = ot_grad_view_back,                              \
        .doc = text,                                                \
    };

#define SQ_DOC "output = input without the size-1 dims `axes` (all 1s if none)"
#define UNSQ_DOC "output = input with size-1 dims inserted at output positions `axes`"
SQUEEZE_RECORD(Squeeze, 1, 1, 1, axes_attrs, squeeze_infer, SQ_DOC)
SQUEEZE_RECORD(Squeeze, 11, 1, 1, axes_attrs, squeeze_infer, SQ_DOC)
SQUEEZE_RECORD(Squeeze, 13, 1, 2, NULL, squeeze_infer, SQ_DOC)
SQUEEZE_RECORD(Unsqueeze, 1, 1, 1, unsqueeze_attrs, unsqueeze_infer, UNSQ_DOC)
SQUEEZE_RECORD(Unsqueeze, 11, 1, 1, unsqueeze_attrs, unsqueeze_infer, UNSQ_DOC)
SQUEEZE_RECORD(Unsqueeze, 13, 2, 2, NULL, unsqueeze_infer, UNSQ_DOC)
