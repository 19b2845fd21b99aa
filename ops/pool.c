/* ops/pool.c: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool
 * (ONNX operators.md), 1D/2D/3D, X: (N, C, D1...) -> Y: (N, C, O1...).
 *   MaxPool:     Y[n,c,o] = max over the window's input cells (padding never
 *                wins); optional Indices (int64) = flat index of the max in X
 *                counting N and C, spatial part row-major (storage_order 0)
 *                or column-major (1); ties keep the first cell in row-major
 *                window order.
 *   AveragePool: Y = sum / count, count = input cells in the window
 *                (count_include_pad 0) or cells inside the explicitly padded
 *                input (1); with ceil_mode the cells past the right padding
 *                never count (ONNX reference).
 *   Global*:     one window over all spatial cells.
 * Records: MaxPool-1 (kernel/pads/strides/auto_pad), -8 (storage_order,
 * Indices), -10 (ceil_mode, dilations), -11 (pads on auto_pad), -12 (int8,
 * uint8); AveragePool-7 (count_include_pad), -10 (ceil_mode), -11; Global*-1.
 * float32 without Indices runs on oneDNN pooling_v2 forward; the rest on the
 * reference loops. AveragePool's dilations (opset 19) are not handled. */
#include "ops/cnn_util.h"
#include "ops/grad_util.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static const ot_attr_spec_t maxpool1_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false}, {"kernel_shape", OT_ATTR_INTS, true}, {"pads", OT_ATTR_INTS, false},
    {"strides", OT_ATTR_INTS, false},    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t maxpool8_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false}, {"kernel_shape", OT_ATTR_INTS, true},
    {"pads", OT_ATTR_INTS, false},       {"storage_order", OT_ATTR_INT, false},
    {"strides", OT_ATTR_INTS, false},    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t maxpool10_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false},   {"ceil_mode", OT_ATTR_INT, false},  {"dilations", OT_ATTR_INTS, false},
    {"kernel_shape", OT_ATTR_INTS, true},  {"pads", OT_ATTR_INTS, false},      {"storage_order", OT_ATTR_INT, false},
    {"strides", OT_ATTR_INTS, false},      {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t avgpool7_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false}, {"count_include_pad", OT_ATTR_INT, false},
    {"kernel_shape", OT_ATTR_INTS, true}, {"pads", OT_ATTR_INTS, false},
    {"strides", OT_ATTR_INTS, false},    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t avgpool10_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false},  {"ceil_mode", OT_ATTR_INT, false}, {"count_include_pad", OT_ATTR_INT, false},
    {"kernel_shape", OT_ATTR_INTS, true}, {"pads", OT_ATTR_INTS, false},     {"strides", OT_ATTR_INTS, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_GLOBAL_MAX, POOL_GLOBAL_AVG } pool_kind_t;

static pool_kind_t pool_kind_of(const ot_node_info_t *node) {
    const char *t = node->op_type; /* the backward ops share the forward's geometry */
    if (strcmp(t, "MaxPool") == 0 || strcmp(t, "MaxPoolGrad") == 0) return POOL_MAX;
    if (strcmp(t, "AveragePool") == 0 || strcmp(t, "AveragePoolGrad") == 0) return POOL_AVG;
    if (strcmp(t, "GlobalMaxPool") == 0) return POOL_GLOBAL_MAX;
    OT_ASSERT((strcmp(t, "GlobalAveragePool") == 0 || strcmp(t, "GlobalAveragePoolGrad") == 0) &&
              "pool record for an unknown op type");
    return POOL_GLOBAL_AVG;
}

static bool is_max(pool_kind_t kind) { return kind == POOL_MAX || kind == POOL_GLOBAL_MAX; }

/* Checks X and the attributes; fills g (the global pools get a window over
 * the whole input) and Y's shape. Shared by infer and setup. */
static ot_status_t *pool_check(const ot_node_info_t *node, const ot_tensor_t *x, bool want_indices,
                               ot_cnn_geom_t *g, ot_shape_t *y_shape) {
    ot_status_t *st = NULL;
    char buf[128];
    pool_kind_t kind = pool_kind_of(node);
    ot_dtype_t dt = x->dtype;
    bool ok = dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE ||
              (kind == POOL_MAX && (dt == OT_DTYPE_INT8 || dt == OT_DTYPE_UINT8));
    if (!ok) return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(dt));
    const int64_t *ks = NULL;
    int64_t nks = ot_attr_ints(node, "kernel_shape", &ks);
    bool global = kind == POOL_GLOBAL_MAX || kind == POOL_GLOBAL_AVG;
    int rank = x->shape.rank >= 0 ? x->shape.rank : (!global && nks >= 0) ? (int)nks + 2 : -1;
    if (rank < 0) {
        *y_shape = ot_shape_unknown();
        return NULL;
    }
    if (rank < 3)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X must have rank >= 3 (N, C, spatial...), got %s",
                             ot_shape_str(&x->shape, buf, sizeof buf));
    int nsp = rank - 2;
    int64_t in[OT_CNN_MAX_SPATIAL] = {-1, -1, -1};
    for (int d = 0; d < nsp && d < OT_CNN_MAX_SPATIAL; d++)
        if (x->shape.rank >= 0) in[d] = x->shape.dims[2 + d];
    if (global) {
        memset(g, 0, sizeof *g);
        if (nsp > OT_CNN_MAX_SPATIAL)
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%d spatial dimensions not supported (1D, 2D and 3D only)",
                                 nsp);
        g->nsp = nsp;
        for (int d = 0; d < nsp; d++) {
            g->kernel[d] = g->in[d] = in[d];
            g->stride[d] = g->dilation[d] = 1;
            g->out[d] = 1;
        }
    } else {
        if (nks >= 0 && nks != nsp)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "kernel_shape has %" PRId64 " values but X %s has %d spatial axes",
                                 nks, ot_shape_str(&x->shape, buf, sizeof buf), nsp);
        if ((st = ot_cnn_geom_parse(node, nsp, NULL, true, true, g))) return st;
        if ((st = ot_cnn_geom_resolve(node, in, g))) return st;
        if (kind == POOL_MAX) {
            int64_t so = ot_attr_int(node, "storage_order", 0);
            if (so != 0 && so != 1)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "storage_order = %" PRId64 " must be 0 or 1", so);
        } else {
            int64_t cip = ot_attr_int(node, "count_include_pad", 0);
            if (cip != 0 && cip != 1)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "count_include_pad = %" PRId64 " must be 0 or 1", cip);
        }
    }
    if (want_indices && kind != POOL_MAX)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s", "has no second output");
    *y_shape = ot_shape_make(rank, NULL);
    y_shape->dims[0] = x->shape.rank >= 0 ? x->shape.dims[0] : -1;
    y_shape->dims[1] = x->shape.rank >= 0 ? x->shape.dims[1] : -1;
    for (int d = 0; d < nsp; d++) y_shape->dims[2 + d] = g->out[d];
    return NULL;
}

static ot_status_t *pool_infer(ot_infer_ctx_t *ctx) {
    ot_cnn_geom_t g;
    ot_shape_t y;
    bool want_indices = ctx->n_outputs > 1 && ctx->outputs[1];
    ot_status_t *st = pool_check(ctx->node, ctx->inputs[0], want_indices, &g, &y);
    if (st) return st;
    ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
    ctx->outputs[0]->shape = y;
    if (want_indices) {
        ctx->outputs[1]->dtype = OT_DTYPE_INT64;
        ctx->outputs[1]->shape = y;
    }
    return NULL;
}

/* ---- kernel ------------------------------------------------------------ */

typedef struct pool_state {
    pool_kind_t kind;
    ot_cnn_geom_t g;
    int64_t planes;        /* N * C */
    bool include_pad;      /* AveragePool count_include_pad */
    bool col_major;        /* MaxPool storage_order 1 */
    bool use_dnnl;
    ot_dnnl_prim_t prim; /* forward: X, Y; AveragePoolGrad's backward: dY, dX */
} pool_state_t;

static void pool_release(ot_kernel_t *k) {
    pool_state_t *s = k->state;
    if (!s) return;
    ot_dnnl_prim_destroy(&s->prim);
    free(s);
    k->state = NULL;
}

/* oneDNN pooling on the plain layouts (pooling is memory bound: reorders to
 * a blocked layout and back would cost more than they save): the forward,
 * or (backward, AveragePoolGrad) the backward with a forward_training hint.
 * x and y are the pooling's input and output shapes. */
static ot_status_t *pool_setup_dnnl(ot_kernel_t *k, pool_state_t *s, bool backward, const ot_shape_t *x,
                                    const ot_shape_t *y) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_alg_kind_t alg = is_max(s->kind) ? dnnl_pooling_max
                          : s->include_pad ? dnnl_pooling_avg_include_padding
                                           : dnnl_pooling_avg_exclude_padding;
    dnnl_dims_t strides, kernel, dil, pad_l, pad_r;
    for (int d = 0; d < s->g.nsp; d++) {
        strides[d] = s->g.stride[d];
        kernel[d] = s->g.kernel[d];
        dil[d] = s->g.dilation[d] - 1; /* oneDNN counts the holes */
        pad_l[d] = s->g.pad_l[d];
        /* ceil_mode: the enlarged right padding yields ONNX's output size;
         * max and exclude-padding average never read padded cells. */
        pad_r[d] = s->g.pad_r_eff[d];
    }
    dnnl_memory_desc_t x_md, y_md;
    OT_DNNL_TRY(ot_dnnl_md_plain(&x_md, x, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&y_md, y, dnnl_f32));
    dnnl_pooling_v2_desc_t fdesc, bdesc;
    OT_DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&fdesc, backward ? dnnl_forward_training : dnnl_forward_inference,
                                                  alg, &x_md, &y_md, strides, kernel, dil, pad_l, pad_r));
    dnnl_status_t ds;
    if (backward) {
        if ((ds = dnnl_primitive_desc_create(&hint, &fdesc, NULL, k->engine, NULL)) == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(dnnl_pooling_v2_backward_desc_init(&bdesc, alg, &x_md, &y_md, strides, kernel, dil, pad_l, pad_r));
    }
    ds = ot_dnnl_prim_create(&s->prim, backward ? (const_dnnl_op_desc_t)&bdesc : &fdesc, k->engine, hint);
    if (ds == dnnl_unimplemented) goto fail; /* st stays NULL: the reference loop takes over */
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->prim, backward ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC, backward ? &y_md : &x_md,
                                 k->engine));
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->prim, backward ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST, backward ? &x_md : &y_md,
                                 k->engine));
    s->use_dnnl = true;
fail:
    if (hint) dnnl_primitive_desc_destroy(hint);
    return st;
}

static ot_status_t *pool_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y;
    pool_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    const ot_tensor_t *x = k->inputs[0];
    bool want_indices = k->n_outputs > 1 && k->outputs[1];
    if ((st = pool_check(k->node, x, want_indices, &s->g, &y))) goto fail;
    s->kind = pool_kind_of(k->node);
    s->planes = x->shape.dims[0] * x->shape.dims[1];
    s->include_pad = s->kind == POOL_AVG && ot_attr_int(k->node, "count_include_pad", 0) == 1;
    s->col_major = s->kind == POOL_MAX && ot_attr_int(k->node, "storage_order", 0) == 1;
    bool dnnl_ok = x->dtype == OT_DTYPE_FLOAT && !want_indices && s->g.nsp <= OT_CNN_MAX_SPATIAL;
    /* oneDNN's include-padding average divides by the whole kernel, also for
     * a ceil_mode window reaching past the explicit padding. */
    for (int d = 0; d < s->g.nsp; d++)
        if (s->include_pad && s->g.pad_r_eff[d] > s->g.pad_r[d]) dnnl_ok = false;
    if (dnnl_ok && (st = pool_setup_dnnl(k, s, false, &x->shape, &k->outputs[0]->shape))) goto fail;
    return NULL;
fail:
    pool_release(k);
    return st;
}

/* Spatial geometry padded to 3D (missing leading axes have size 1). */
typedef struct pgeom3 {
    int64_t in[3], out[3], k[3], s[3], d[3], pl[3], pr[3];
} pgeom3_t;

static pgeom3_t pgeom3_of(const ot_cnn_geom_t *g) {
    pgeom3_t r;
    int off = 3 - g->nsp;
    for (int i = 0; i < 3; i++) {
        int d = i - off;
        r.in[i] = d >= 0 ? g->in[d] : 1;
        r.out[i] = d >= 0 ? g->out[d] : 1;
        r.k[i] = d >= 0 ? g->kernel[d] : 1;
        r.s[i] = d >= 0 ? g->stride[d] : 1;
        r.d[i] = d >= 0 ? g->dilation[d] : 1;
        r.pl[i] = d >= 0 ? g->pad_l[d] : 0;
        r.pr[i] = d >= 0 ? g->pad_r[d] : 0;
    }
    return r;
}

/* Max over each window; idx (may be NULL) gets the flat index in X. */
#define MAXPOOL_REF(T)                                                                                             \
    static void maxpool_ref_##T(const pool_state_t *s, const T *x, T *y, int64_t *idx) {                          \
        pgeom3_t q = pgeom3_of(&s->g);                                                                             \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2];                      \
        /* spatial strides of the index: row-major, or column-major */                                            \
        int64_t is0 = q.in[1] * q.in[2], is1 = q.in[2], is2 = 1;                                                   \
        if (s->col_major) is0 = 1, is1 = q.in[0], is2 = q.in[0] * q.in[1];                                         \
        _Pragma("omp parallel for if (s->planes * out_sp > 65536)") for (int64_t p = 0; p < s->planes; p++) {    \
            const T *xp = x + p * in_sp;                                                                           \
            for (int64_t o0 = 0; o0 < q.out[0]; o0++)                                                              \
                for (int64_t o1 = 0; o1 < q.out[1]; o1++)                                                          \
                    for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                                    \
                        T best = 0;                                                                                \
                        int64_t at = -1;                                                                           \
                        for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                                  \
                            int64_t i0 = o0 * q.s[0] - q.pl[0] + k0 * q.d[0];                                      \
                            if (i0 < 0 || i0 >= q.in[0]) continue;                                                 \
                            for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                              \
                                int64_t i1 = o1 * q.s[1] - q.pl[1] + k1 * q.d[1];                                  \
                                if (i1 < 0 || i1 >= q.in[1]) continue;                                             \
                                for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                          \
                                    int64_t i2 = o2 * q.s[2] - q.pl[2] + k2 * q.d[2];                              \
                                    if (i2 < 0 || i2 >= q.in[2]) continue;                                         \
                                    T v = xp[(i0 * q.in[1] + i1) * q.in[2] + i2];                                  \
                                    if (at < 0 || v > best) {                                                      \
                                        best = v;                                                                  \
                                        at = i0 * is0 + i1 * is1 + i2 * is2;                                       \
                                    }                                                                              \
                                }                                                                                  \
                            }                                                                                      \
                        }                                                                                          \
                        int64_t o = p * out_sp + (o0 * q.out[1] + o1) * q.out[2] + o2;                             \
                        y[o] = best;                                                                               \
                        if (idx) idx[o] = at < 0 ? -1 : p * in_sp + at;                                            \
                    }                                                                                              \
        }                                                                                                          \
    }
MAXPOOL_REF(float)
MAXPOOL_REF(double)
MAXPOOL_REF(int8_t)
MAXPOOL_REF(uint8_t)

/* Number of window taps along one axis that fall inside [lo, hi). */
static int64_t taps_inside(int64_t start, int64_t k, int64_t dil, int64_t lo, int64_t hi) {
    int64_t n = 0;
    for (int64_t j = 0; j < k; j++) n += start + j * dil >= lo && start + j * dil < hi;
    return n;
}

#define AVGPOOL_REF(T)                                                                                             \
    static void avgpool_ref_##T(const pool_state_t *s, const T *x, T *y) {                                         \
        pgeom3_t q = pgeom3_of(&s->g);                                                                             \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2];                      \
        _Pragma("omp parallel for if (s->planes * out_sp > 65536)") for (int64_t p = 0; p < s->planes; p++) {    \
            const T *xp = x + p * in_sp;                                                                           \
            for (int64_t o0 = 0; o0 < q.out[0]; o0++)                                                              \
                for (int64_t o1 = 0; o1 < q.out[1]; o1++)                                                          \
                    for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                                    \
                        int64_t st0 = o0 * q.s[0] - q.pl[0], st1 = o1 * q.s[1] - q.pl[1], st2 = o2 * q.s[2] - q.pl[2]; \
                        double sum = 0;                                                                            \
                        int64_t cnt = 0;                                                                           \
                        for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                                  \
                            int64_t i0 = st0 + k0 * q.d[0];                                                        \
                            if (i0 < 0 || i0 >= q.in[0]) continue;                                                 \
                            for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                              \
                                int64_t i1 = st1 + k1 * q.d[1];                                                    \
                                if (i1 < 0 || i1 >= q.in[1]) continue;                                             \
                                for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                          \
                                    int64_t i2 = st2 + k2 * q.d[2];                                                \
                                    if (i2 < 0 || i2 >= q.in[2]) continue;                                         \
                                    sum += (double)xp[(i0 * q.in[1] + i1) * q.in[2] + i2];                         \
                                    cnt++;                                                                         \
                                }                                                                                  \
                            }                                                                                      \
                        }                                                                                          \
                        if (s->include_pad)                                                                        \
                            cnt = taps_inside(st0, q.k[0], q.d[0], -q.pl[0], q.in[0] + q.pr[0]) *                  \
                                  taps_inside(st1, q.k[1], q.d[1], -q.pl[1], q.in[1] + q.pr[1]) *                  \
                                  taps_inside(st2, q.k[2], q.d[2], -q.pl[2], q.in[2] + q.pr[2]);                   \
                        y[p * out_sp + (o0 * q.out[1] + o1) * q.out[2] + o2] = (T)(sum / (double)cnt);             \
                    }                                                                                              \
        }                                                                                                          \
    }
AVGPOOL_REF(float)
AVGPOOL_REF(double)

static ot_status_t *pool_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    pool_state_t *s = k->state;
    const void *x = k->inputs[0]->data;
    void *y = k->outputs[0]->data;
    if (s->use_dnnl) {
        OT_DNNL_TRY(ot_dnnl_prim_run(&s->prim, k->stream, (void *[]){(void *)x, y}));
        OT_DNNL_TRY(dnnl_stream_wait(k->stream));
        return NULL;
    }
    if (is_max(s->kind)) {
        int64_t *idx = k->n_outputs > 1 && k->outputs[1] ? k->outputs[1]->data : NULL;
        switch (k->inputs[0]->dtype) {
        case OT_DTYPE_FLOAT: maxpool_ref_float(s, x, y, idx); break;
        case OT_DTYPE_DOUBLE: maxpool_ref_double(s, x, y, idx); break;
        case OT_DTYPE_INT8: maxpool_ref_int8_t(s, x, y, idx); break;
        case OT_DTYPE_UINT8: maxpool_ref_uint8_t(s, x, y, idx); break;
        default: OT_ASSERT(0 && "dtype checked in setup");
        }
    } else if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) {
        avgpool_ref_float(s, x, y);
    } else {
        avgpool_ref_double(s, x, y);
    }
fail:
    return st;
}

static ot_status_t *maxpool_gradient(ot_grad_ctx_t *ctx);
static ot_status_t *avgpool_gradient(ot_grad_ctx_t *ctx);

#define POOL_RECORD(sym, type, since, nout, attr_table, fl, formula, grad)                                       \
    const ot_op_def_t sym = {                                                                                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                                      \
        .domain = "",                                                                                              \
        .op_type = type,                                                                                           \
        .since_version = since,                                                                                    \
        .min_inputs = 1, .max_inputs = 1,                                                                          \
        .min_outputs = 1, .max_outputs = nout,                                                                     \
        .attrs = attr_table,                                                                                       \
        .flags = fl,                                                                                               \
        .infer = pool_infer,                                                                                       \
        .setup = pool_setup,                                                                                       \
        .run = pool_run,                                                                                           \
        .release = pool_release,                                                                                   \
        .gradient = grad,                                                                                          \
        .doc = formula,                                                                                            \
    };

#define MAX_DOC "Y = max over each window of X, Indices = its flat index (ONNX MaxPool)"
#define AVG_DOC "Y = mean over each window of X (ONNX AveragePool)"
/* MaxPool-1 has no Indices in the spec; its record accepts the hidden one
 * the gradient rule adds. */
POOL_RECORD(ot_op_MaxPool_1, "MaxPool", 1, 2, maxpool1_attrs, OT_OP_ONEDNN, MAX_DOC, maxpool_gradient)
POOL_RECORD(ot_op_MaxPool_8, "MaxPool", 8, 2, maxpool8_attrs, OT_OP_ONEDNN, MAX_DOC, maxpool_gradient)
POOL_RECORD(ot_op_MaxPool_10, "MaxPool", 10, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC, maxpool_gradient)
POOL_RECORD(ot_op_MaxPool_11, "MaxPool", 11, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC, maxpool_gradient)
POOL_RECORD(ot_op_MaxPool_12, "MaxPool", 12, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC, maxpool_gradient)
POOL_RECORD(ot_op_AveragePool_7, "AveragePool", 7, 1, avgpool7_attrs, OT_OP_ONEDNN, AVG_DOC, avgpool_gradient)
POOL_RECORD(ot_op_AveragePool_10, "AveragePool", 10, 1, avgpool10_attrs, OT_OP_ONEDNN, AVG_DOC, avgpool_gradient)
POOL_RECORD(ot_op_AveragePool_11, "AveragePool", 11, 1, avgpool10_attrs, OT_OP_ONEDNN, AVG_DOC, avgpool_gradient)
POOL_RECORD(ot_op_GlobalMaxPool_1, "GlobalMaxPool", 1, 1, NULL, OT_OP_ONEDNN,
            "Y[n,c] = max over all spatial cells of X[n,c] (ONNX GlobalMaxPool)", NULL)
POOL_RECORD(ot_op_GlobalAveragePool_1, "GlobalAveragePool", 1, 1, NULL, OT_OP_ONEDNN,
            "Y[n,c] = mean over all spatial cells of X[n,c] (ONNX GlobalAveragePool)", avgpool_gradient)

/* ---- gradients ------------------------------------------------------------
 *
 * MaxPool:  com.microsoft::MaxPoolGrad(dY, Indices, X_shape) -> dX, ONNX
 *           Runtime's op: dX = 0, then dX[Indices[i]] += dY[i] (scatter to
 *           the argmax; ties went to the first cell in the forward).
 *           Indices is the forward node's output 1: when the graph did not
 *           ask for it, the rule gives the node that output
 *           (ot_grad_forward_output), so the forward computes the argmax
 *           once and nothing is recomputed. The forward then takes the
 *           reference loop (oneDNN's workspace is not ONNX's index format).
 * AveragePool: com.microsoft::AveragePoolGrad(dY, X_shape) -> dX, each dY
 *           spread evenly over its window's counted cells (the forward's
 *           count_include_pad / ceil_mode rules); oneDNN pooling backward
 *           for float32 where the forward would use oneDNN.
 * GlobalAveragePool: ai.onnxtrain::GlobalAveragePoolGrad(dY, X_shape) ->
 *           dX = dY / (D1*...*Dn) on every cell (ONNX Runtime composes this
 *           from Scale and Expand; it has no such op).
 * X_shape (int64, the forward input's shape, from Shape(X), folded at plan
 * time) is our optional extra input: ONNX Runtime takes dX's shape from its
 * graph's static shapes, which our kernels do not see. Without it the
 * backward ops refuse to run. The rules copy the forward's attributes, as
 * ONNX Runtime's do; MaxPoolGrad honours storage_order = 1 (column-major
 * Indices), which ONNX Runtime ignores. */

static ot_status_t *maxpool_gradient(ot_grad_ctx_t *ctx) {
    int in[3] = {ctx->doutputs[0], -1, -1};
    ot_status_t *st = ot_grad_forward_output(ctx, 1, &in[1]);
    if (!st) st = ot_grad_op1(ctx, "", "Shape", ctx->inputs[0], &in[2]);
    if (st) return st;
    return ot_grad_emit(ctx, "com.microsoft", "MaxPoolGrad", 3, in, 1, &ctx->dinputs[0], ctx->node->n_attrs,
                        ctx->node->attrs);
}

static ot_status_t *avgpool_gradient(ot_grad_ctx_t *ctx) {
    int in[2] = {ctx->doutputs[0], -1};
    ot_status_t *st = ot_grad_op1(ctx, "", "Shape", ctx->inputs[0], &in[1]);
    if (st) return st;
    if (pool_kind_of(ctx->node) == POOL_GLOBAL_AVG)
        return ot_grad_emit(ctx, OT_DOMAIN, "GlobalAveragePoolGrad", 2, in, 1, &ctx->dinputs[0], 0, NULL);
    return ot_grad_emit(ctx, "com.microsoft", "AveragePoolGrad", 2, in, 1, &ctx->dinputs[0], ctx->node->n_attrs,
                        ctx->node->attrs);
}

/* Input index of X_shape in each backward op. */
static int shape_input(pool_kind_t kind) { return kind == POOL_MAX ? 2 : 1; }

/* dX's shape from X_shape (unknown dims where its data is not known yet);
 * checks that dY is the forward output of that shape. */
static ot_status_t *pool_grad_infer(ot_infer_ctx_t *ctx) {
    char buf1[128], buf2[128], buf3[128];
    pool_kind_t kind = pool_kind_of(ctx->node);
    const ot_tensor_t *dy = ctx->inputs[0];
    int si = shape_input(kind);
    if (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dY dtype %s not supported", ot_dtype_name(dy->dtype));
    if (kind == POOL_MAX) {
        const ot_tensor_t *idx = ctx->inputs[1];
        if (idx->dtype != OT_DTYPE_INT64) return OT_INFER_ERROR(ctx, "Indices must be int64, got %s", ot_dtype_name(idx->dtype));
        bool same = idx->shape.rank < 0 || dy->shape.rank < 0 || idx->shape.rank == dy->shape.rank;
        for (int d = 0; same && idx->shape.rank >= 0 && d < dy->shape.rank; d++)
            same = idx->shape.dims[d] < 0 || dy->shape.dims[d] < 0 || idx->shape.dims[d] == dy->shape.dims[d];
        if (!same)
            return OT_INFER_ERROR(ctx, "Indices %s and dY %s differ in shape", ot_shape_str(&idx->shape, buf1, sizeof buf1),
                                  ot_shape_str(&dy->shape, buf2, sizeof buf2));
    }
    const ot_tensor_t *xs = ctx->n_inputs > si ? ctx->inputs[si] : NULL;
    if (!xs)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED,
                             "needs the forward input's shape as input %d (X_shape); graphs from ONNX Runtime's "
                             "builder without it are not supported",
                             si);
    if (xs->dtype != OT_DTYPE_INT64 || (xs->shape.rank >= 0 && xs->shape.rank != 1))
        return OT_INFER_ERROR(ctx, "X_shape must be a 1-D int64 tensor, got %s %s", ot_dtype_name(xs->dtype),
                              ot_shape_str(&xs->shape, buf1, sizeof buf1));
    ot_tensor_t x = {dy->dtype, ot_shape_unknown(), NULL};
    int64_t vals[OT_MAX_RANK];
    int64_t n = xs->data ? ot_tensor_read_ints(xs, vals, OT_MAX_RANK) : -1;
    int rank = (int)(n >= 0 ? n : xs->shape.rank == 1 ? xs->shape.dims[0] : dy->shape.rank);
    if (rank > OT_MAX_RANK) return OT_INFER_ERROR(ctx, "X_shape has %d values", rank);
    if (rank >= 0) {
        x.shape = ot_shape_make(rank, NULL);
        for (int d = 0; d < rank; d++)
            x.shape.dims[d] = n >= 0 ? vals[d] : d < 2 && dy->shape.rank > d ? dy->shape.dims[d] : -1;
        for (int d = 0; d < rank; d++)
            if (x.shape.dims[d] < -1) return OT_INFER_ERROR(ctx, "X_shape[%d] = %" PRId64 " is negative", d, x.shape.dims[d]);
    }
    ot_cnn_geom_t g;
    ot_shape_t y;
    ot_status_t *st = pool_check(ctx->node, &x, false, &g, &y);
    if (st) return st;
    bool ok = y.rank < 0 || dy->shape.rank < 0 || y.rank == dy->shape.rank;
    for (int d = 0; ok && y.rank >= 0 && d < dy->shape.rank; d++)
        ok = y.dims[d] < 0 || dy->shape.dims[d] < 0 || y.dims[d] == dy->shape.dims[d];
    if (!ok)
        return OT_INFER_ERROR(ctx, "dY %s is not the pooled shape %s of X_shape %s",
                              ot_shape_str(&dy->shape, buf1, sizeof buf1), ot_shape_str(&y, buf2, sizeof buf2),
                              ot_shape_str(&x.shape, buf3, sizeof buf3));
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = x.shape;
    return NULL;
}

static ot_status_t *pool_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y;
    pool_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    ot_tensor_t x = {k->inputs[0]->dtype, k->outputs[0]->shape, NULL};
    if ((st = pool_check(k->node, &x, false, &s->g, &y))) goto fail;
    s->kind = pool_kind_of(k->node);
    s->planes = x.shape.dims[0] * x.shape.dims[1];
    s->include_pad = s->kind == POOL_AVG && ot_attr_int(k->node, "count_include_pad", 0) == 1;
    s->col_major = s->kind == POOL_MAX && ot_attr_int(k->node, "storage_order", 0) == 1;
    if (ot_shape_numel(&y) != ot_shape_numel(&k->inputs[0]->shape)) {
        st = OT_KERNEL_ERROR(k, "%s", "dY is not the pooled shape of X_shape");
        goto fail;
    }
    bool dnnl_ok = s->kind == POOL_AVG && x.dtype == OT_DTYPE_FLOAT;
    for (int d = 0; d < s->g.nsp; d++)
        if (s->include_pad && s->g.pad_r_eff[d] > s->g.pad_r[d]) dnnl_ok = false; /* as in the forward */
    if (dnnl_ok && (st = pool_setup_dnnl(k, s, true, &x.shape, &k->inputs[0]->shape))) goto fail;
    return NULL;
fail:
    pool_release(k);
    return st;
}

/* Scatter dY to the argmax cells; Indices must stay in their own (n, c)
 * plane (checked: planes are processed in parallel). Returns the first
 * offending position, or -1. */
#define MAXPOOL_GRAD_REF(T)                                                                                        \
    static int64_t maxpool_grad_ref_##T(const pool_state_t *s, const T *dy, const int64_t *idx, T *dx) {          \
        pgeom3_t q = pgeom3_of(&s->g);                                                                             \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2], bad = -1;           \
        _Pragma("omp parallel for if (s->planes * in_sp > 65536)") for (int64_t p = 0; p < s->planes; p++) {      \
            T *dxp = dx + p * in_sp;                                                                               \
            for (int64_t i = 0; i < in_sp; i++) dxp[i] = 0;                                                        \
            for (int64_t o = p * out_sp; o < (p + 1) * out_sp; o++) {                                              \
                int64_t r = idx[o] - p * in_sp;                                                                    \
                if (idx[o] == -1) continue; /* a window of padding only */                                        \
                if (r < 0 || r >= in_sp) {                                                                         \
                    _Pragma("omp critical") bad = bad < 0 || o < bad ? o : bad;                                    \
                    continue;                                                                                      \
                }                                                                                                  \
                if (s->col_major) {                                                                                \
                    int64_t i0 = r % q.in[0], i1 = (r / q.in[0]) % q.in[1], i2 = r / (q.in[0] * q.in[1]);          \
                    r = (i0 * q.in[1] + i1) * q.in[2] + i2;                                                        \
                }                                                                                                  \
                dxp[r] += dy[o];                                                                                   \
            }                                                                                                      \
        }                                                                                                          \
        return bad;                                                                                                \
    }
MAXPOOL_GRAD_REF(float)
MAXPOOL_GRAD_REF(double)

/* Each dY spread over its window's counted cells (the forward's count). */
#define AVGPOOL_GRAD_REF(T)                                                                                        \
    static void avgpool_grad_ref_##T(const pool_state_t *s, const T *dy, T *dx) {                                  \
        pgeom3_t q = pgeom3_of(&s->g);                                                                             \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2];                      \
        _Pragma("omp parallel for if (s->planes * in_sp > 65536)") for (int64_t p = 0; p < s->planes; p++) {      \
            T *dxp = dx + p * in_sp;                                                                               \
            for (int64_t i = 0; i < in_sp; i++) dxp[i] = 0;                                                        \
            for (int64_t o0 = 0; o0 < q.out[0]; o0++)                                                              \
                for (int64_t o1 = 0; o1 < q.out[1]; o1++)                                                          \
                    for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                                    \
                        int64_t st0 = o0 * q.s[0] - q.pl[0], st1 = o1 * q.s[1] - q.pl[1], st2 = o2 * q.s[2] - q.pl[2]; \
                        int64_t cnt = s->include_pad                                                               \
                                          ? taps_inside(st0, q.k[0], q.d[0], -q.pl[0], q.in[0] + q.pr[0]) *        \
                                                taps_inside(st1, q.k[1], q.d[1], -q.pl[1], q.in[1] + q.pr[1]) *    \
                                                taps_inside(st2, q.k[2], q.d[2], -q.pl[2], q.in[2] + q.pr[2])      \
                                          : taps_inside(st0, q.k[0], q.d[0], 0, q.in[0]) *                         \
                                                taps_inside(st1, q.k[1], q.d[1], 0, q.in[1]) *                     \
                                                taps_inside(st2, q.k[2], q.d[2], 0, q.in[2]);                      \
                        if (cnt == 0) continue;                                                                    \
                        T v = (T)((double)dy[p * out_sp + (o0 * q.out[1] + o1) * q.out[2] + o2] / (double)cnt);   \
                        for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                                  \
                            int64_t i0 = st0 + k0 * q.d[0];                                                        \
                            if (i0 < 0 || i0 >= q.in[0]) continue;                                                 \
                            for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                              \
                                int64_t i1 = st1 + k1 * q.d[1];                                                    \
                                if (i1 < 0 || i1 >= q.in[1]) continue;                                             \
                                for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                          \
                                    int64_t i2 = st2 + k2 * q.d[2];                                                \
                                    if (i2 < 0 || i2 >= q.in[2]) continue;                                         \
                                    dxp[(i0 * q.in[1] + i1) * q.in[2] + i2] += v;                                  \
                                }                                                                                  \
                            }                                                                                      \
                        }                                                                                          \
                    }                                                                                              \
        }                                                                                                          \
    }
AVGPOOL_GRAD_REF(float)
AVGPOOL_GRAD_REF(double)

#define GAP_GRAD_REF(T)                                                                                            \
    static void gap_grad_ref_##T(const pool_state_t *s, const T *dy, T *dx) {                                      \
        pgeom3_t q = pgeom3_of(&s->g);                                                                             \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2];                                                               \
        _Pragma("omp parallel for if (s->planes * in_sp > 65536)") for (int64_t p = 0; p < s->planes; p++) {      \
            T v = (T)((double)dy[p] / (double)in_sp);                                                              \
            for (int64_t i = 0; i < in_sp; i++) dx[p * in_sp + i] = v;                                             \
        }                                                                                                          \
    }
GAP_GRAD_REF(float)
GAP_GRAD_REF(double)

static ot_status_t *pool_grad_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    pool_state_t *s = k->state;
    const void *dy = k->inputs[0]->data;
    void *dx = k->outputs[0]->data;
    bool f32 = k->inputs[0]->dtype == OT_DTYPE_FLOAT;
    if (s->use_dnnl) {
        OT_DNNL_TRY(ot_dnnl_prim_run(&s->prim, k->stream, (void *[]){(void *)dy, dx}));
        OT_DNNL_TRY(dnnl_stream_wait(k->stream));
        return NULL;
    }
    switch (s->kind) {
    case POOL_MAX: {
        const int64_t *idx = k->inputs[1]->data;
        int64_t bad = f32 ? maxpool_grad_ref_float(s, dy, idx, dx) : maxpool_grad_ref_double(s, dy, idx, dx);
        if (bad >= 0)
            return OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT,
                                 "Indices[%" PRId64 "] = %" PRId64 " is outside its (n, c) plane of X", bad, idx[bad]);
        break;
    }
    case POOL_AVG:
        if (f32) avgpool_grad_ref_float(s, dy, dx);
        else avgpool_grad_ref_double(s, dy, dx);
        break;
    default:
        if (f32) gap_grad_ref_float(s, dy, dx);
        else gap_grad_ref_double(s, dy, dx);
        break;
    }
fail:
    return st;
}

#define POOL_GRAD_RECORD(sym, dom, type, nin, attr_table, fl, formula)                                           \
    const ot_op_def_t sym = {                                                                                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                                      \
        .domain = dom,                                                                                             \
        .op_type = type,                                                                                           \
        .since_version = 1,                                                                                        \
        .min_inputs = nin - 1, .max_inputs = nin,                                                                  \
        .min_outputs = 1, .max_outputs = 1,                                                                        \
        .attrs = attr_table,                                                                                       \
        .flags = fl,                                                                                               \
        .infer = pool_grad_infer,                                                                                  \
        .setup = pool_grad_setup,                                                                                  \
        .run = pool_grad_run,                                                                                      \
        .release = pool_release,                                                                                   \
        .doc = formula,                                                                                            \
    };

POOL_GRAD_RECORD(ot_op_ms_MaxPoolGrad_1, "com.microsoft", "MaxPoolGrad", 3, maxpool10_attrs, 0,
                 "dX = 0; dX[Indices[i]] += dY[i] (ONNX Runtime MaxPoolGrad; input 2 X_shape is ours)")
POOL_GRAD_RECORD(ot_op_ms_AveragePoolGrad_1, "com.microsoft", "AveragePoolGrad", 2, avgpool10_attrs, OT_OP_ONEDNN,
                 "dX: each dY spread evenly over its window's counted cells (ONNX Runtime AveragePoolGrad; input 1 "
                 "X_shape is ours)")
POOL_GRAD_RECORD(ot_op_ot_GlobalAveragePoolGrad_1, OT_DOMAIN, "GlobalAveragePoolGrad", 2, NULL, 0,
                 "dX[n,c,...] = dY[n,c] / (D1*...*Dn)")
