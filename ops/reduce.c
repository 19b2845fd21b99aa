/* ops/reduce.c: reductions over `axes` (ONNX ReduceSum-1/11/13,
 * ReduceMean-1/11/13, ReduceMax-1/11/13, ReduceMin-1/11/13):
 *   ReduceSum:  y = sum of x over axes
 *   ReduceMean: y = (sum of x over axes) / (number of reduced elements)
 *   ReduceMax / ReduceMin: y = max / min of x over axes (NaN propagates;
 *   an empty window gives -inf / +inf, the integer type's min / max)
 * keepdims (default 1) keeps reduced axes as size 1, else drops them; no or
 * empty axes reduce everything. Axes are the `axes` attribute, except from
 * ReduceSum-13 on, where they are the optional int64 input 1 and
 * noop_with_empty_axes = 1 makes empty axes the identity.
 *
 * float32 runs on oneDNN's reduction primitive where it has a jitted kernel
 * (trailing axes); float64, int32, int64 and the rest on our loops,
 * accumulating in double or int64. Adding ReduceMax/Min/Prod/L1/L2/...: a reduce_kind_t value with its
 * cases in reduce_init/step/final, a row of reduce_ops[] and REDUCE_RECORD
 * lines (mind where its axes became an input: opset 18 for most). */
#include "ops/dnnl_util.h"

#include <math.h>
#include <stdlib.h>

typedef enum reduce_kind { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN } reduce_kind_t;

typedef struct reduce_op_info {
    const char *op_type;
    reduce_kind_t kind;
    int axes_input_since; /* opset from which axes are input 1, not an attribute */
    dnnl_alg_kind_t alg;  /* oneDNN reduction for float32 */
} reduce_op_info_t;

static const reduce_op_info_t reduce_ops[] = {
    {"ReduceSum", REDUCE_SUM, 13, dnnl_reduction_sum},
    {"ReduceMean", REDUCE_MEAN, 18, dnnl_reduction_mean},
    {"ReduceMax", REDUCE_MAX, 18, dnnl_reduction_max},
    {"ReduceMin", REDUCE_MIN, 18, dnnl_reduction_min},
};

static const reduce_op_info_t *reduce_info(const ot_node_info_t *node) {
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++)
        if (strcmp(node->op_type, reduce_ops[i].op_type) == 0) return &reduce_ops[i];
    OT_ASSERT(!"every reduce record has a row in reduce_ops[]");
}

static const ot_attr_spec_t reduce_attrs_axes_attr[] = {
    {"axes", OT_ATTR_INTS, false},
    {"keepdims", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t reduce_attrs_axes_input[] = {
    {"keepdims", OT_ATTR_INT, false},
    {"noop_with_empty_axes", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

/* The reduced axes of an input of rank `rank` (>= 0). */
typedef struct reduce_axes {
    bool known;               /* false: axes are an input with no data yet */
    int64_t n_listed;         /* axes given (before dedup); -1 if unknown */
    bool noop;                /* empty axes with noop_with_empty_axes = 1 */
    bool mask[OT_MAX_RANK];   /* reduced axes */
} reduce_axes_t;

#define REDUCE_MAX_AXES 64

static ot_status_t *reduce_axes(const ot_node_info_t *node, const ot_tensor_t *const *inputs, int n_inputs, int rank,
                                reduce_axes_t *ra) {
    const reduce_op_info_t *info = reduce_info(node);
    int64_t axes[REDUCE_MAX_AXES];
    int64_t n = 0;
    memset(ra, 0, sizeof *ra);
    ra->known = true;
    if (node->opset >= info->axes_input_since) {
        const ot_tensor_t *t = n_inputs > 1 ? inputs[1] : NULL;
        if (t) {
            if (t->dtype != OT_DTYPE_INT64)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axes must be int64, got %s", ot_dtype_name(t->dtype));
            int64_t count = ot_shape_numel(&t->shape);
            if (t->shape.rank > 1)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axes must be 1-D, got rank %d", t->shape.rank);
            if (count > REDUCE_MAX_AXES)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%lld axes given, at most %d supported",
                                     (long long)count, REDUCE_MAX_AXES);
            if (count != 0) { /* an empty axes tensor is known even without data */
                n = ot_tensor_read_ints(t, axes, REDUCE_MAX_AXES);
                if (n < 0) {
                    ra->known = false;
                    ra->n_listed = count;
                    return NULL;
                }
            }
        }
        ra->noop = n == 0 && ot_attr_int(node, "noop_with_empty_axes", 0) != 0;
    } else {
        const int64_t *a = NULL;
        n = ot_attr_ints(node, "axes", &a);
        if (n < 0) n = 0;
        if (n > REDUCE_MAX_AXES)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%lld axes given, at most %d supported", (long long)n,
                                 REDUCE_MAX_AXES);
        for (int64_t i = 0; i < n; i++) axes[i] = a[i];
    }
    ra->n_listed = n;
    if (rank < 0) return NULL;
    for (int64_t i = 0; i < n; i++) {
        int ax;
        if (!ot_norm_axis(axes[i], rank, &ax))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)axes[i],
                                 rank);
        ra->mask[ax] = true;
    }
    if (n == 0 && !ra->noop)
        for (int i = 0; i < rank; i++) ra->mask[i] = true;
    return NULL;
}

static bool reduce_dtype_ok(ot_dtype_t t) {
    return t == OT_DTYPE_FLOAT || t == OT_DTYPE_DOUBLE || t == OT_DTYPE_INT32 || t == OT_DTYPE_INT64;
}

/* Output shape with reduced axes kept as 1 (keepdims) or dropped. */
static ot_shape_t reduce_out_shape(const ot_shape_t *in, const reduce_axes_t *ra, bool keepdims) {
    if (ra->noop) return *in;
    ot_shape_t out = ot_shape_make(0, NULL);
    for (int i = 0; i < in->rank; i++) {
        if (!ra->mask[i]) out.dims[out.rank++] = in->dims[i];
        else if (keepdims) out.dims[out.rank++] = 1;
    }
    return out;
}

static ot_status_t *reduce_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (!reduce_dtype_ok(x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    bool keepdims = ot_attr_int(ctx->node, "keepdims", 1) != 0;
    int r = x->shape.rank;
    reduce_axes_t ra;
    ot_status_t *st = reduce_axes(ctx->node, ctx->inputs, ctx->n_inputs, r, &ra);
    if (st) return st;
    ot_tensor_t *y = ctx->outputs[0];
    y->dtype = x->dtype;
    if (r < 0) {
        y->shape = ot_shape_unknown();
    } else if (!ra.known) {
        /* Which axes is unknown; with keepdims the rank is still r. */
        int out_rank = keepdims ? r : (ra.n_listed >= 0 && ra.n_listed <= r ? r - (int)ra.n_listed : -1);
        y->shape = out_rank < 0 ? ot_shape_unknown() : ot_shape_make(out_rank, NULL);
        for (int i = 0; i < out_rank; i++) y->shape.dims[i] = -1;
    } else {
        y->shape = reduce_out_shape(&x->shape, &ra, keepdims);
    }
    return NULL;
}

typedef struct reduce_state {
    reduce_kind_t kind;
    bool copy;             /* noop: y = x */
    int64_t out_n, count;  /* output elements; input elements per output */
    /* Reference loop: x with size-1 axes dropped and runs of kept / reduced
     * axes merged; kept (k_*) walk the output, reduced (r_*) one window. */
    int nk, nr;
    int64_t k_dims[OT_MAX_RANK], k_str[OT_MAX_RANK];
    int64_t r_dims[OT_MAX_RANK], r_str[OT_MAX_RANK];
    bool lanes;            /* innermost axis kept: reduce whole rows of lanes at once */
    dnnl_primitive_t prim; /* NULL: reference loop */
    dnnl_memory_t src, dst;
} reduce_state_t;

static void reduce_release(ot_kernel_t *k) {
    reduce_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->dst) dnnl_memory_destroy(s->dst);
    free(s);
    k->state = NULL;
}

static ot_status_t *reduce_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    const ot_tensor_t *x = k->inputs[0];
    const ot_shape_t *xs = &x->shape;
    bool keepdims = ot_attr_int(k->node, "keepdims", 1) != 0;
    reduce_axes_t ra;
    st = reduce_axes(k->node, (const ot_tensor_t *const *)k->inputs, k->n_inputs, xs->rank, &ra);
    if (st) return st;
    if (!ra.known) {
        /* Axes fed at run time: with keepdims the planned output shape says
         * which axes shrank to 1 (reducing a size-1 axis changes nothing). */
        const ot_shape_t *ys = &k->outputs[0]->shape;
        if (!keepdims || ys->rank != xs->rank)
            return OT_NODE_ERROR(k->node, OT_ERR_UNSUPPORTED, "axes must be constant when keepdims = %d",
                                 (int)keepdims);
        for (int i = 0; i < xs->rank; i++) ra.mask[i] = ys->dims[i] != xs->dims[i];
    }
    reduce_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    s->kind = reduce_info(k->node)->kind;
    s->copy = ra.noop;
    if (s->copy) return NULL;

    s->out_n = s->count = 1;
    int64_t str[OT_MAX_RANK];
    ot_shape_strides(xs, str);
    int last = -1; /* class of the previous axis of size != 1: 0 kept, 1 reduced */
    for (int i = 0; i < xs->rank; i++) {
        int64_t d = xs->dims[i];
        if (ra.mask[i]) s->count *= d;
        else s->out_n *= d;
        if (d == 1) continue; /* neither walks nor strides */
        int cls = ra.mask[i] ? 1 : 0;
        int *nn = cls ? &s->nr : &s->nk;
        int64_t *dims = cls ? s->r_dims : s->k_dims, *strs = cls ? s->r_str : s->k_str;
        if (last == cls) {
            dims[*nn - 1] *= d; /* contiguous with the previous axis */
            strs[*nn - 1] = str[i];
        } else {
            dims[*nn] = d;
            strs[*nn] = str[i];
            (*nn)++;
        }
        last = cls;
    }
    if (s->nr == 0) { /* one element per output: a window of one */
        s->r_dims[0] = 1;
        s->r_str[0] = 0;
        s->nr = 1;
    }
    s->lanes = last == 0; /* then k_dims[nk - 1] is contiguous in x and y */

    if (x->dtype != OT_DTYPE_FLOAT || xs->rank == 0 || s->count <= 1 || s->out_n == 0) return NULL;
    /* src: x's shape, dst: the keepdims shape (same bytes as without). */
    ot_shape_t ks = reduce_out_shape(xs, &ra, true);
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_reduction_desc_t desc;
    OT_DNNL_TRY(ot_dnnl_md_plain(&src_md, xs, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&dst_md, &ks, dnnl_f32));
    OT_DNNL_TRY(dnnl_reduction_desc_init(&desc, reduce_info(k->node)->alg, &src_md, &dst_md, 0.f, 0.f));
    dnnl_status_t ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    if (ds == dnnl_unimplemented) goto fail; /* reference loop */
    OT_DNNL_TRY(ds);
    /* oneDNN 2.6 jits only reductions of trailing axes; its generic "ref"
     * kernel (e.g. a sum over the batch axis) is far slower than our loop. */
    const char *impl = NULL;
    OT_DNNL_TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    if (impl && strncmp(impl, "ref", 3) == 0) goto fail;
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &src_md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &dst_md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

/* Per-kind math: floating types accumulate in double, integers in int64
 * (added as unsigned: wraps instead of overflowing). */
static inline double reduce_init_f(reduce_kind_t kind) {
    return kind == REDUCE_MAX ? -INFINITY : kind == REDUCE_MIN ? INFINITY : 0.0;
}
static inline double reduce_step_f(reduce_kind_t kind, double acc, double v) {
    /* max/min: a NaN in x sticks (v != v takes it, and no v > NaN) */
    if (kind == REDUCE_MAX) return v > acc || v != v ? v : acc;
    if (kind == REDUCE_MIN) return v < acc || v != v ? v : acc;
    return acc + v; /* SUM, MEAN */
}
static inline double reduce_final_f(reduce_kind_t kind, double acc, int64_t count) {
    return kind == REDUCE_MEAN ? acc / (double)count : acc;
}
static inline int64_t reduce_init_i(reduce_kind_t kind) {
    return kind == REDUCE_MAX ? INT64_MIN : kind == REDUCE_MIN ? INT64_MAX : 0;
}
static inline int64_t reduce_step_i(reduce_kind_t kind, int64_t acc, int64_t v) {
    if (kind == REDUCE_MAX) return v > acc ? v : acc;
    if (kind == REDUCE_MIN) return v < acc ? v : acc;
    return (int64_t)((uint64_t)acc + (uint64_t)v); /* SUM, MEAN */
}
static inline int64_t reduce_final_i(reduce_kind_t kind, int64_t acc, int64_t count) {
    return kind == REDUCE_MEAN ? (count ? acc / count : 0) : acc;
}

/* Innermost axis reduced: one output element per iteration, its window
 * walked by an odometer over the reduced axes, the innermost as a plain
 * strided loop. */
#define REDUCE_REF_ROWS(NAME, T, ACC, SFX)                                                                        \
    static void reduce_rows_##NAME(const reduce_state_t *s, const T *x, T *y) {                                   \
        int64_t out_n = s->out_n;                                                                                 \
        int nr = s->nr;                                                                                           \
        int64_t in_d = s->r_dims[nr - 1], in_s = s->r_str[nr - 1];                                                \
        bool empty = s->count == 0;                                                                               \
        _Pragma("omp parallel for if (out_n * s->count > 65536)") for (int64_t o = 0; o < out_n; o++) {           \
            int64_t off = 0, rest = o;                                                                            \
            for (int i = s->nk - 1; i >= 0; i--) {                                                                \
                off += (rest % s->k_dims[i]) * s->k_str[i];                                                       \
                rest /= s->k_dims[i];                                                                             \
            }                                                                                                     \
            ACC acc = reduce_init_##SFX(s->kind);                                                                 \
            int64_t idx[OT_MAX_RANK] = {0};                                                                       \
            while (!empty) {                                                                                      \
                for (int64_t j = 0; j < in_d; j++) acc = reduce_step_##SFX(s->kind, acc, (ACC)x[off + j * in_s]); \
                int a = nr - 2; /* advance the outer reduced axes */                                              \
                while (a >= 0 && ++idx[a] == s->r_dims[a]) {                                                      \
                    off -= (s->r_dims[a] - 1) * s->r_str[a];                                                      \
                    idx[a--] = 0;                                                                                 \
                }                                                                                                 \
                if (a < 0) break;                                                                                 \
                off += s->r_str[a];                                                                               \
            }                                                                                                     \
            y[o] = (T)reduce_final_##SFX(s->kind, acc, s->count);                                                 \
        }                                                                                                         \
    }

/* Innermost axis kept (e.g. a sum over the batch axis): each task owns a
 * block of up to REDUCE_BLOCK adjacent outputs and adds whole contiguous
 * slices of x into them, window position by window position. */
#define REDUCE_BLOCK 256
#define REDUCE_REF_LANES(NAME, T, ACC, SFX)                                                                    \
    static void reduce_lanes_##NAME(const reduce_state_t *s, const T *x, T *y) {                               \
        int nk = s->nk, nr = s->nr;                                                                            \
        int64_t lanes = s->k_dims[nk - 1], rows = s->out_n / lanes;                                            \
        int64_t blocks = (lanes + REDUCE_BLOCK - 1) / REDUCE_BLOCK, tasks = rows * blocks;                     \
        bool empty = s->count == 0;                                                                            \
        _Pragma("omp parallel for if (s->out_n * s->count > 65536)") for (int64_t t = 0; t < tasks; t++) {     \
            int64_t row = t / blocks, j0 = (t % blocks) * REDUCE_BLOCK;                                        \
            int64_t jn = lanes - j0 < REDUCE_BLOCK ? lanes - j0 : REDUCE_BLOCK;                                \
            int64_t off = j0, rest = row;                                                                      \
            for (int i = nk - 2; i >= 0; i--) {                                                                \
                off += (rest % s->k_dims[i]) * s->k_str[i];                                                    \
                rest /= s->k_dims[i];                                                                          \
            }                                                                                                  \
            ACC acc[REDUCE_BLOCK];                                                                             \
            for (int64_t j = 0; j < jn; j++) acc[j] = reduce_init_##SFX(s->kind);                              \
            int64_t idx[OT_MAX_RANK] = {0};                                                                    \
            while (!empty) {                                                                                   \
                for (int64_t j = 0; j < jn; j++) acc[j] = reduce_step_##SFX(s->kind, acc[j], (ACC)x[off + j]); \
                int a = nr - 1;                                                                                \
                while (a >= 0 && ++idx[a] == s->r_dims[a]) {                                                   \
                    off -= (s->r_dims[a] - 1) * s->r_str[a];                                                   \
                    idx[a--] = 0;                                                                              \
                }                                                                                              \
                if (a < 0) break;                                                                              \
                off += s->r_str[a];                                                                            \
            }                                                                                                  \
            T *yb = y + row * lanes + j0;                                                                      \
            for (int64_t j = 0; j < jn; j++) yb[j] = (T)reduce_final_##SFX(s->kind, acc[j], s->count);         \
        }                                                                                                      \
    }

#define REDUCE_REF(NAME, T, ACC, SFX)                                                               \
    REDUCE_REF_ROWS(NAME, T, ACC, SFX)                                                              \
    REDUCE_REF_LANES(NAME, T, ACC, SFX)                                                             \
    static void reduce_ref_##NAME(const reduce_state_t *s, const T *x, T *y) {                      \
        if (s->lanes) reduce_lanes_##NAME(s, x, y);                                                 \
        else reduce_rows_##NAME(s, x, y);                                                           \
    }
REDUCE_REF(f32, float, double, f)
REDUCE_REF(f64, double, double, f)
REDUCE_REF(i32, int32_t, int64_t, i)
REDUCE_REF(i64, int64_t, int64_t, i)

static ot_status_t *reduce_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    reduce_state_t *s = k->state;
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    if (s->copy) {
        size_t bytes = (size_t)ot_shape_numel(&x->shape) * ot_dtype_size(x->dtype);
        if (bytes) memcpy(y->data, x->data, bytes);
        return NULL;
    }
    if (s->out_n == 0) return NULL;
    if (!s->prim) {
        switch (x->dtype) {
        case OT_DTYPE_FLOAT: reduce_ref_f32(s, x->data, y->data); break;
        case OT_DTYPE_DOUBLE: reduce_ref_f64(s, x->data, y->data); break;
        case OT_DTYPE_INT32: reduce_ref_i32(s, x->data, y->data); break;
        case OT_DTYPE_INT64: reduce_ref_i64(s, x->data, y->data); break;
        default: OT_ASSERT(!"dtype checked in infer");
        }
        return NULL;
    }
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, x->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y->data));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}};
    dnnl_stream_t strm = (dnnl_stream_t)k->stream;
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, strm, 2, args));
    OT_DNNL_TRY(dnnl_stream_wait(strm));
fail:
    return st;
}

/* Gradient: dX = ExpandTo(dY, Shape(X)), re-inserting the dropped axes when
 * keepdims = 0 and dividing by the reduced count for ReduceMean (see
 * ops/expand.c). The axes must be known at load time (attribute or
 * constant input); X's rank too when keepdims = 0. */
static ot_status_t *reduce_gradient(ot_grad_ctx_t *ctx) {
    const reduce_op_info_t *info = reduce_info(ctx->node);
    const ot_tensor_t *x = ctx->input_types[0];
    reduce_axes_t ra;
    ot_status_t *st = reduce_axes(ctx->node, ctx->input_types, ctx->n_inputs, x->shape.rank, &ra);
    if (st) return st;
    bool keepdims = ot_attr_int(ctx->node, "keepdims", 1) != 0;
    if (!ra.known || (!keepdims && x->shape.rank < 0))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED,
                             "gradient needs constant axes and, with keepdims=0, a known input rank");
    int64_t axes[OT_MAX_RANK];
    int n_axes = 0;
    if (info->kind == REDUCE_MAX || info->kind == REDUCE_MIN) {
        if (x->shape.rank < 0)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs the input rank at load time");
        for (int d = 0; d < x->shape.rank; d++)
            if (ra.mask[d]) axes[n_axes++] = d;
        ot_attr_t a = {.name = "axes", .type = OT_ATTR_INTS, .n = n_axes, .ints = axes};
        int in[3] = {ctx->doutputs[0], ctx->inputs[0], ctx->outputs[0]};
        return ot_grad_emit(ctx, OT_DOMAIN, "ReduceMinMaxGrad", 3, in, 1, &ctx->dinputs[0], 1, &a);
    }
    for (int d = 0; !keepdims && !ra.noop && d < x->shape.rank; d++)
        if (ra.mask[d]) axes[n_axes++] = d;
    ot_attr_t attrs[2] = {
        {.name = "axes", .type = OT_ATTR_INTS, .n = n_axes, .ints = axes},
        {.name = "mean", .type = OT_ATTR_INT, .i = info->kind == REDUCE_MEAN},
    };
    int shape, in[2];
    if ((st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[0], 1, &shape, 0, NULL))) return st;
    in[0] = ctx->doutputs[0];
    in[1] = shape;
    return ot_grad_emit(ctx, OT_DOMAIN, "ExpandTo", 2, in, 1, &ctx->dinputs[0], n_axes ? 2 : 1, n_axes ? attrs : attrs + 1);
}

#define REDUCE_RECORD(OP, VER, ATTRS, MAX_IN, DOC)                                                  \
    const ot_op_def_t ot_op_##OP##_##VER = {                                                        \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = "",                                                                               \
        .op_type = #OP,                                                                             \
        .since_version = VER,                                                                       \
        .min_inputs = 1, .max_inputs = MAX_IN,                                                      \
        .min_outputs = 1, .max_outputs = 1,                                                         \
        .attrs = ATTRS,                                                                             \
        .flags = OT_OP_ONEDNN,                                                                      \
        .infer = reduce_infer,                                                                      \
        .setup = reduce_setup,                                                                      \
        .run = reduce_run,                                                                          \
        .release = reduce_release,                                                                  \
        .gradient = reduce_gradient,                                                                \
        .doc = DOC,                                                                                 \
    };

/* 11: negative axes; 13: ReduceSum's axes become input 1 (ReduceMean-13
 * only adds bfloat16; its axes input comes at 18, beyond our opsets). */
REDUCE_RECORD(ReduceSum, 1, reduce_attrs_axes_attr, 1, "y = sum of x over axes")
REDUCE_RECORD(ReduceSum, 11, reduce_attrs_axes_attr, 1, "y = sum of x over axes")
REDUCE_RECORD(ReduceSum, 13, reduce_attrs_axes_input, 2, "y = sum of x over axes (axes: input 1)")
REDUCE_RECORD(ReduceMean, 1, reduce_attrs_axes_attr, 1, "y = mean of x over axes")
REDUCE_RECORD(ReduceMean, 11, reduce_attrs_axes_attr, 1, "y = mean of x over axes")
REDUCE_RECORD(ReduceMean, 13, reduce_attrs_axes_attr, 1, "y = mean of x over axes")
/* ReduceMax/Min-12 only add (u)int8 and -13 bfloat16: 11's record serves 12. */
REDUCE_RECORD(ReduceMax, 1, reduce_attrs_axes_attr, 1, "y = max of x over axes")
REDUCE_RECORD(ReduceMax, 11, reduce_attrs_axes_attr, 1, "y = max of x over axes")
REDUCE_RECORD(ReduceMax, 13, reduce_attrs_axes_attr, 1, "y = max of x over axes")
REDUCE_RECORD(ReduceMin, 1, reduce_attrs_axes_attr, 1, "y = min of x over axes")
REDUCE_RECORD(ReduceMin, 11, reduce_attrs_axes_attr, 1, "y = min of x over axes")
REDUCE_RECORD(ReduceMin, 13, reduce_attrs_axes_attr, 1, "y = min of x over axes")

/* ---- ai.onnxtrain::ReduceMinMaxGrad(dY, X, Y; axes) ------------------------
 * The gradient of ReduceMax / ReduceMin: the reduced axes `axes` (all
 * listed, non-negative) of X (rank r) map each x to its window's y and dy
 * (Y and dY in the keepdims layout or without: the same bytes), and
 *   dX = x == y ? dy / (number of x in the window equal to y) : 0,
 * i.e. ties share the gradient evenly, as torch.amax / amin backward do
 * (torch.max(dim) instead gives it all to one index). */
static const ot_attr_spec_t minmax_grad_attrs[] = {
    {"axes", OT_ATTR_INTS, true},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static ot_status_t *minmax_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1], *y = ctx->inputs[2];
    if (dy->dtype != x->dtype || y->dtype != x->dtype || (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s), X (%s) and Y (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype), ot_dtype_name(y->dtype));
    const int64_t *axes = NULL;
    int64_t n = ot_attr_ints(ctx->node, "axes", &axes);
    for (int64_t i = 0; x->shape.rank >= 0 && i < n; i++)
        if (axes[i] < 0 || axes[i] >= x->shape.rank)
            return OT_INFER_ERROR(ctx, "axis %lld out of range for rank %d", (long long)axes[i], x->shape.rank);
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

typedef struct minmax_grad_state {
    int rank;
    int64_t dims[OT_MAX_RANK], ostr[OT_MAX_RANK]; /* X's dims; Y strides seen from X (0 on reduced axes) */
    int64_t n, out_n;
    int64_t *count; /* (out_n): ties per window, rebuilt every run */
} minmax_grad_state_t;

static void minmax_grad_release(ot_kernel_t *k) {
    minmax_grad_state_t *s = k->state;
    if (!s) return;
    free(s->count);
    free(s);
    k->state = NULL;
}

static ot_status_t *minmax_grad_setup(ot_kernel_t *k) {
    const ot_shape_t *xs = &k->inputs[1]->shape;
    minmax_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    bool mask[OT_MAX_RANK] = {false};
    const int64_t *axes = NULL;
    int64_t na = ot_attr_ints(k->node, "axes", &axes);
    for (int64_t i = 0; i < na; i++) mask[axes[i]] = true;
    ot_shape_t ks = *xs; /* the keepdims shape of Y */
    for (int d = 0; d < xs->rank; d++)
        if (mask[d]) ks.dims[d] = 1;
    s->rank = xs->rank;
    ot_shape_strides(&ks, s->ostr);
    for (int d = 0; d < xs->rank; d++) {
        s->dims[d] = xs->dims[d];
        if (mask[d]) s->ostr[d] = 0;
    }
    s->n = ot_shape_numel(xs);
    s->out_n = ot_shape_numel(&ks);
    if (ot_shape_numel(&k->inputs[0]->shape) != s->out_n || ot_shape_numel(&k->inputs[2]->shape) != s->out_n) {
        char a[128], b[128], c[128];
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_MODEL, "dY %s and Y %s do not match X %s reduced over axes",
                             ot_shape_str(&k->inputs[0]->shape, a, sizeof a),
                             ot_shape_str(&k->inputs[2]->shape, b, sizeof b), ot_shape_str(xs, c, sizeof c));
    }
    s->count = malloc((size_t)(s->out_n > 0 ? s->out_n : 1) * sizeof *s->count);
    if (!s->count) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%lld windows)", (long long)s->out_n);
    return NULL;
}

/* Y index of flat X index i. */
static inline int64_t minmax_out_index(const minmax_grad_state_t *s, int64_t i) {
    int64_t o = 0;
    for (int d = s->rank - 1; d >= 0; d--) {
        o += (i % s->dims[d]) * s->ostr[d];
        i /= s->dims[d];
    }
    return o;
}

/* Two passes over X: count the ties of each window (serial: windows
 * overlap in memory order), then share dY among them (parallel). */
#define MINMAX_GRAD(T)                                                                             \
    static void minmax_grad_##T(minmax_grad_state_t *s, const T *dy, const T *x, const T *y, T *dx) { \
        int64_t n = s->n;                                                                          \
        memset(s->count, 0, (size_t)s->out_n * sizeof *s->count);                                  \
        for (int64_t i = 0; i < n; i++) {                                                          \
            int64_t o = minmax_out_index(s, i);                                                    \
            s->count[o] += x[i] == y[o];                                                           \
        }                                                                                          \
        _Pragma("omp parallel for if (n > 65536)") for (int64_t i = 0; i < n; i++) {               \
            int64_t o = minmax_out_index(s, i);                                                    \
            dx[i] = x[i] == y[o] ? (T)(dy[o] / (T)s->count[o]) : (T)0;                             \
        }                                                                                          \
    }
MINMAX_GRAD(float)
MINMAX_GRAD(double)

static ot_status_t *minmax_grad_run(ot_kernel_t *k) {
    minmax_grad_state_t *s = k->state;
    if (s->n == 0) return NULL;
    if (k->inputs[1]->dtype == OT_DTYPE_FLOAT)
        minmax_grad_float(s, k->inputs[0]->data, k->inputs[1]->data, k->inputs[2]->data, k->outputs[0]->data);
    else
        minmax_grad_double(s, k->inputs[0]->data, k->inputs[1]->data, k->inputs[2]->data, k->outputs[0]->data);
    return NULL;
}

const ot_op_def_t ot_op_ot_ReduceMinMaxGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ReduceMinMaxGrad",
    .since_version = 1,
    .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = minmax_grad_attrs,
    .infer = minmax_grad_infer,
    .setup = minmax_grad_setup,
    .run = minmax_grad_run,
    .release = minmax_grad_release,
    .doc = "dX = (X == Y) * dY / (ties in the window), Y = ReduceMax/Min(X) over axes",
};
