/* ops/slice.c: Slice (ONNX Slice-1/10/11/13) and its gradient
 * com.microsoft::SliceGrad (ONNX Runtime's op: dY, shape, starts, ends,
 * axes?, steps? -> dX).
 *
 *   output = data[s_0:e_0:t_0, s_1:e_1:t_1, ...] (numpy basic slicing)
 * per listed axis a (others are whole): negative starts/ends count from
 * the end; then start is clamped to [0, dim] (step > 0) or [0, dim - 1]
 * (step < 0) and end to [0, dim] or [-1, dim - 1]; the length is
 * max(0, ceil((end - start) / step)). Steps may be negative, never 0.
 * Versions: 1 takes starts/ends/axes as attributes (steps 1); 10 makes
 * them inputs (int32 or int64) and adds steps; 11 documents negative axes;
 * 13 adds bfloat16. Any dtype, moved by byte width.
 *
 * SliceGrad: dX = zeros of `shape` with dX[slice] = dY: the same index map
 * run backwards (positions are distinct, so no accumulation). The rule
 * passes the forward's own starts/ends/axes/steps values (constants made
 * from the attributes for Slice-1) and Shape(data), which folds at plan
 * time. */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t slice1_attrs[] = {
    {"starts", OT_ATTR_INTS, true}, {"ends", OT_ATTR_INTS, true}, {"axes", OT_ATTR_INTS, false}, {NULL, 0, false}};

/* The resolved slice: for every axis of the input, start, step and output
 * length (whole axes: 0, 1, dim). */
typedef struct slice_plan {
    int rank;
    int64_t start[OT_MAX_RANK], step[OT_MAX_RANK], len[OT_MAX_RANK];
} slice_plan_t;

/* Reads an optional int32/int64 1-D parameter input, or the attribute
 * (Slice-1). Returns its count, -1 when absent, -2 when present but its
 * values are not known yet; sets *err on a bad type. */
static int64_t read_param(const ot_node_info_t *node, const ot_tensor_t *t, const char *attr, int64_t *out,
                          ot_status_t **err) {
    *err = NULL;
    if (attr) {
        const int64_t *v = NULL;
        int64_t n = ot_attr_ints(node, attr, &v);
        if (n > OT_MAX_RANK) {
            *err = OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s has %" PRId64 " entries (at most %d)", attr, n, OT_MAX_RANK);
            return -1;
        }
        for (int64_t i = 0; i < n; i++) out[i] = v[i];
        return n;
    }
    if (!t) return -1;
    if ((t->dtype != OT_DTYPE_INT32 && t->dtype != OT_DTYPE_INT64) || (t->shape.rank >= 0 && t->shape.rank != 1)) {
        *err = OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "starts, ends, axes and steps must be 1-D int32 or int64");
        return -1;
    }
    if (t->shape.rank == 1 && t->shape.dims[0] > OT_MAX_RANK) {
        *err = OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%" PRId64 " slice entries exceed rank limit %d",
                             t->shape.dims[0], OT_MAX_RANK);
        return -1;
    }
    if (!t->data) return -2;
    return ot_tensor_read_ints(t, out, OT_MAX_RANK);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Resolves the slice of `in` (all dims known). inputs: starts, ends, axes,
 * steps (NULL when absent or for Slice-1, which reads attributes).
 * *known = false when some parameter is not a constant yet. */
static ot_status_t *slice_resolve(const ot_node_info_t *node, const ot_shape_t *in, const ot_tensor_t *const *p,
                                  bool attrs, slice_plan_t *plan, bool *known) {
    int64_t starts[OT_MAX_RANK], ends[OT_MAX_RANK], axes[OT_MAX_RANK], steps[OT_MAX_RANK];
    ot_status_t *st;
    int64_t ns = read_param(node, p[0], attrs ? "starts" : NULL, starts, &st);
    if (st) return st;
    int64_t ne = read_param(node, p[1], attrs ? "ends" : NULL, ends, &st);
    if (st) return st;
    int64_t na = read_param(node, p[2], attrs ? "axes" : NULL, axes, &st);
    if (st) return st;
    int64_t nt = attrs ? -1 : read_param(node, p[3], NULL, steps, &st);
    if (st) return st;
    *known = ns >= 0 && ne >= 0 && na != -2 && nt != -2;
    if (!*known) return NULL;
    if (ns != ne || (na >= 0 && na != ns) || (nt >= 0 && nt != ns))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "starts, ends, axes and steps differ in length");
    int r = in->rank;
    plan->rank = r;
    bool seen[OT_MAX_RANK] = {false};
    for (int d = 0; d < r; d++) plan->start[d] = 0, plan->step[d] = 1, plan->len[d] = in->dims[d];
    for (int64_t i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? axes[i] : i;
        int ax;
        if (!ot_norm_axis(a, r, &ax))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axis %" PRId64 " out of range for rank %d", a, r);
        if (seen[ax]) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axis %" PRId64 " is repeated", a);
        seen[ax] = true;
        int64_t step = nt >= 0 ? steps[i] : 1, dim = in->dims[ax];
        if (step == 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "steps[%" PRId64 "] is 0", i);
        int64_t s = starts[i], e = ends[i];
        /* add dim only where it cannot overflow (INT64_MIN/MAX sentinels) */
        if (s < 0) s = s < -dim ? -1 - dim : s + dim;
        if (e < 0) e = e < -dim ? -1 - dim : e + dim;
        if (step > 0) {
            s = clamp64(s, 0, dim);
            e = clamp64(e, 0, dim);
        } else {
            s = clamp64(s, 0, dim - 1);
            e = clamp64(e, -1, dim - 1);
        }
        int64_t len = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
        plan->start[ax] = s;
        plan->step[ax] = step;
        plan->len[ax] = len > 0 ? len : 0;
    }
    return NULL;
}

/* The parameter inputs of a Slice node (NULL for absent / Slice-1). */
static void slice_params(const ot_node_info_t *node, int n_inputs, const ot_tensor_t *const *inputs,
                         const ot_tensor_t **p) {
    for (int i = 0; i < 4; i++) p[i] = node->opset >= 10 && 1 + i < n_inputs ? inputs[1 + i] : NULL;
}

static ot_status_t *slice_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "data");
    if (st) return st;
    if (ctx->node->opset >= 10 && (ctx->n_inputs < 3 || !ctx->inputs[1] || !ctx->inputs[2]))
        return OT_INFER_ERROR(ctx, "starts and ends are required");
    y->dtype = x->dtype;
    int r = x->shape.rank;
    if (r < 0) {
        y->shape = ot_shape_unknown();
        return NULL;
    }
    if (r == 0) return OT_INFER_ERROR(ctx, "data must have rank >= 1");
    const ot_tensor_t *p[4];
    slice_params(ctx->node, ctx->n_inputs, ctx->inputs, p);
    /* unknown input dims: resolve with a stand-in and mark sliced axes unknown */
    ot_shape_t probe = x->shape;
    for (int d = 0; d < r; d++)
        if (probe.dims[d] < 0) probe.dims[d] = INT64_MAX / 4;
    slice_plan_t plan;
    bool known;
    if ((st = slice_resolve(ctx->node, &probe, p, ctx->node->opset < 10, &plan, &known))) return st;
    y->shape = ot_shape_make(r, NULL);
    for (int d = 0; d < r; d++) y->shape.dims[d] = !known || x->shape.dims[d] < 0 ? -1 : plan.len[d];
    return NULL;
}

/* Copies between the sliced positions of `full` (shape of the plan's input)
 * and the dense `part`: part -> full when `scatter`, else full -> part.
 * Rows of the innermost axis: memcpy when its step is 1. */
static void slice_move(const slice_plan_t *p, const ot_shape_t *full, unsigned char *fdata, unsigned char *part,
                       size_t es, bool scatter) {
    int r = p->rank;
    int64_t fstr[OT_MAX_RANK];
    ot_shape_strides(full, fstr);
    int64_t rows = 1, inner = p->len[r - 1];
    for (int d = 0; d < r - 1; d++) rows *= p->len[d];
    if (rows == 0 || inner == 0) return;
    int64_t base = 0;
    for (int d = 0; d < r; d++) base += p->start[d] * fstr[d];
    int64_t istep = p->step[r - 1] * fstr[r - 1];
    OT_SHAPE_PARALLEL_FOR((size_t)(rows * inner) * es > OT_SHAPE_PAR_BYTES, row, rows, {
        int64_t rem = row, off = base;
        for (int d = r - 2; d >= 0; d--) {
            off += (rem % p->len[d]) * p->step[d] * fstr[d];
            rem /= p->len[d];
        }
        unsigned char *f = fdata + off * (int64_t)es, *q = part + row * inner * (int64_t)es;
        if (istep == 1) {
            if (scatter) memcpy(f, q, (size_t)inner * es);
            else memcpy(q, f, (size_t)inner * es);
        } else {
            for (int64_t j = 0; j < inner; j++) {
                if (scatter) memcpy(f + j * istep * (int64_t)es, q + j * (int64_t)es, es);
                else memcpy(q + j * (int64_t)es, f + j * istep * (int64_t)es, es);
            }
        }
    });
}

static ot_status_t *slice_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    const ot_tensor_t *p[4];
    slice_params(k->node, k->n_inputs, (const ot_tensor_t *const *)k->inputs, p);
    slice_plan_t plan;
    bool known;
    ot_status_t *st = slice_resolve(k->node, &x->shape, p, k->node->opset < 10, &plan, &known);
    if (st) return st;
    OT_ASSERT(known && "parameters have data at run time");
    for (int d = 0; d < plan.rank; d++)
        if (plan.len[d] != k->outputs[0]->shape.dims[d]) return OT_KERNEL_ERROR(k, "output shape differs from the slice");
    slice_move(&plan, &x->shape, x->data, k->outputs[0]->data, ot_dtype_size(x->dtype), false);
    return NULL;
}

/* A 1-D int64 constant from an INTS attribute (Slice-1's parameters). */
static ot_status_t *ints_constant(ot_grad_ctx_t *ctx, const char *attr, int *out) {
    const int64_t *v = NULL;
    int64_t n = ot_attr_ints(ctx->node, attr, &v);
    if (n < 0) {
        *out = -1;
        return NULL;
    }
    ot_tensor_t t = {OT_DTYPE_INT64, {1, {n}}, (void *)v};
    return ot_grad_constant(ctx, &t, out);
}

static ot_status_t *slice_gradient(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0] || ctx->doutputs[0] < 0) return NULL;
    int in[6] = {ctx->doutputs[0], -1, -1, -1, -1, -1};
    ot_status_t *st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[0], 1, &in[1], 0, NULL);
    if (st) return st;
    if (ctx->node->opset < 10) {
        if ((st = ints_constant(ctx, "starts", &in[2])) || (st = ints_constant(ctx, "ends", &in[3])) ||
            (st = ints_constant(ctx, "axes", &in[4])))
            return st;
    } else {
        for (int i = 1; i < ctx->n_inputs && i < 5; i++) in[1 + i] = ctx->inputs[i];
    }
    return ot_grad_emit(ctx, "com.microsoft", "SliceGrad", 6, in, 1, &ctx->dinputs[0], 0, NULL);
}

#define SLICE_RECORD(ver, min_in, max_in, attr_list)                          \
    const ot_op_def_t ot_op_Slice_##ver = {                                  \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                \
        .domain = "",                                                        \
        .op_type = "Slice",                                                  \
        .since_version = ver,                                                \
        .min_inputs = min_in, .max_inputs = max_in,                          \
        .min_outputs = 1, .max_outputs = 1,                                  \
        .attrs = attr_list,                                                  \
        .infer = slice_infer,                                                \
        .run = slice_run,                                                    \
        .gradient = slice_gradient,                                          \
        .doc = "output = data[starts:ends:steps] along axes (numpy slicing)", \
    };

SLICE_RECORD(1, 1, 1, slice1_attrs)
SLICE_RECORD(10, 3, 5, NULL)
SLICE_RECORD(11, 3, 5, NULL)
SLICE_RECORD(13, 3, 5, NULL)

/* ---- com.microsoft::SliceGrad(dY, shape, starts, ends, axes?, steps?) -> dX ---- */

static ot_status_t *slice_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *shape = ctx->inputs[1];
    ot_tensor_t *dx = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, dy->dtype, "dY");
    if (st) return st;
    if (shape->dtype != OT_DTYPE_INT64 || (shape->shape.rank >= 0 && shape->shape.rank != 1))
        return OT_INFER_ERROR(ctx, "shape must be a 1-D int64 tensor");
    dx->dtype = dy->dtype;
    int64_t r = shape->shape.rank == 1 ? shape->shape.dims[0] : -1;
    if (r > OT_MAX_RANK) return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "rank %" PRId64 " exceeds %d", r, OT_MAX_RANK);
    if (r < 0) {
        dx->shape = ot_shape_unknown();
        return NULL;
    }
    dx->shape = ot_shape_make((int)r, NULL);
    for (int d = 0; d < r; d++) dx->shape.dims[d] = shape->data ? ((const int64_t *)shape->data)[d] : -1;
    if (!shape->data) return NULL;
    for (int d = 0; d < r; d++)
        if (dx->shape.dims[d] < 0) return OT_INFER_ERROR(ctx, "shape[%d] is negative", d);
    const ot_tensor_t *p[4];
    for (int i = 0; i < 4; i++) p[i] = 2 + i < ctx->n_inputs ? ctx->inputs[2 + i] : NULL;
    slice_plan_t plan;
    bool known;
    if ((st = slice_resolve(ctx->node, &dx->shape, p, false, &plan, &known))) return st;
    if (known && ot_shape_known(&dy->shape)) {
        bool ok = dy->shape.rank == (int)r;
        for (int d = 0; ok && d < r; d++) ok = dy->shape.dims[d] == plan.len[d];
        char b1[128], b2[128];
        if (!ok)
            return OT_INFER_ERROR(ctx, "dY %s is not the slice of %s", ot_shape_str(&dy->shape, b1, sizeof b1),
                                  ot_shape_str(&dx->shape, b2, sizeof b2));
    }
    return NULL;
}

static ot_status_t *slice_grad_run(ot_kernel_t *k) {
    const ot_tensor_t *dy = k->inputs[0];
    ot_tensor_t *dx = k->outputs[0];
    const ot_tensor_t *p[4];
    for (int i = 0; i < 4; i++) p[i] = 2 + i < k->n_inputs ? k->inputs[2 + i] : NULL;
    slice_plan_t plan;
    bool known;
    ot_status_t *st = slice_resolve(k->node, &dx->shape, p, false, &plan, &known);
    if (st) return st;
    OT_ASSERT(known && "parameters have data at run time");
    int64_t n = 1;
    for (int d = 0; d < plan.rank; d++) n *= plan.len[d];
    if (n != ot_shape_numel(&dy->shape)) return OT_KERNEL_ERROR(k, "dY has the wrong size for the slice");
    if (ot_tensor_nbytes(dx) == 0) return NULL; /* no buffer */
    memset(dx->data, 0, ot_tensor_nbytes(dx));
    slice_move(&plan, &dx->shape, dx->data, dy->data, ot_dtype_size(dy->dtype), true);
    return NULL;
}

const ot_op_def_t ot_op_ms_SliceGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "SliceGrad",
    .since_version = 1,
    .min_inputs = 4, .max_inputs = 6,
    .min_outputs = 1, .max_outputs = 1,
    .infer = slice_grad_infer,
    .run = slice_grad_run,
    .doc = "dX = zeros(shape); dX[starts:ends:steps along axes] = dY",
};
