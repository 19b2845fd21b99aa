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
    const char *t = node->op_type;
    if (strcmp(t, "MaxPool") == 0) return POOL_MAX;
    if (strcmp(t, "AveragePool") == 0) return POOL_AVG;
    if (strcmp(t, "GlobalMaxPool") == 0) return POOL_GLOBAL_MAX;
    OT_ASSERT(strcmp(t, "GlobalAveragePool") == 0 && "pool record for an unknown op type");
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
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd;
    dnnl_memory_t src, dst, scratch;
} pool_state_t;

static void pool_release(ot_kernel_t *k) {
    pool_state_t *s = k->state;
    if (!s) return;
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->dst) dnnl_memory_destroy(s->dst);
    if (s->scratch) dnnl_memory_destroy(s->scratch);
    if (s->fwd) dnnl_primitive_destroy(s->fwd);
    if (s->fwd_pd) dnnl_primitive_desc_destroy(s->fwd_pd);
    free(s);
    k->state = NULL;
}

/* oneDNN pooling on the plain layouts (pooling is memory bound: reorders to
 * a blocked layout and back would cost more than they save). */
static ot_status_t *pool_setup_dnnl(ot_kernel_t *k, pool_state_t *s) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
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
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->src_md, &k->inputs[0]->shape, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->dst_md, &k->outputs[0]->shape, dnnl_f32));
    dnnl_pooling_v2_desc_t desc;
    OT_DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, alg, &s->src_md, &s->dst_md, strides,
                                                  kernel, dil, pad_l, pad_r));
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    dnnl_status_t ds = dnnl_primitive_desc_create(&s->fwd_pd, &desc, attr, k->engine, NULL);
    if (ds == dnnl_unimplemented) {
        s->fwd_pd = NULL;
        goto fail; /* st stays NULL: the reference loop takes over */
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->fwd, s->fwd_pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &s->src_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &s->dst_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->fwd_pd, k->engine));
    s->use_dnnl = true;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
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
    if (dnnl_ok && (st = pool_setup_dnnl(k, s))) goto fail;
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
        dnnl_stream_t stream = k->stream;
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[0]->data));
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}};
        int nargs = 2;
        if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
        OT_DNNL_TRY(dnnl_primitive_execute(s->fwd, stream, nargs, args));
        OT_DNNL_TRY(dnnl_stream_wait(stream));
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

#define POOL_RECORD(sym, type, since, nout, attr_table, fl, formula)                                             \
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
        .doc = formula,                                                                                            \
    };

#define MAX_DOC "Y = max over each window of X, Indices = its flat index (ONNX MaxPool)"
#define AVG_DOC "Y = mean over each window of X (ONNX AveragePool)"
POOL_RECORD(ot_op_MaxPool_1, "MaxPool", 1, 1, maxpool1_attrs, OT_OP_ONEDNN, MAX_DOC)
POOL_RECORD(ot_op_MaxPool_8, "MaxPool", 8, 2, maxpool8_attrs, OT_OP_ONEDNN, MAX_DOC)
POOL_RECORD(ot_op_MaxPool_10, "MaxPool", 10, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC)
POOL_RECORD(ot_op_MaxPool_11, "MaxPool", 11, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC)
POOL_RECORD(ot_op_MaxPool_12, "MaxPool", 12, 2, maxpool10_attrs, OT_OP_ONEDNN, MAX_DOC)
POOL_RECORD(ot_op_AveragePool_7, "AveragePool", 7, 1, avgpool7_attrs, OT_OP_ONEDNN, AVG_DOC)
POOL_RECORD(ot_op_AveragePool_10, "AveragePool", 10, 1, avgpool10_attrs, OT_OP_ONEDNN, AVG_DOC)
POOL_RECORD(ot_op_AveragePool_11, "AveragePool", 11, 1, avgpool10_attrs, OT_OP_ONEDNN, AVG_DOC)
POOL_RECORD(ot_op_GlobalMaxPool_1, "GlobalMaxPool", 1, 1, NULL, OT_OP_ONEDNN,
            "Y[n,c] = max over all spatial cells of X[n,c] (ONNX GlobalMaxPool)")
POOL_RECORD(ot_op_GlobalAveragePool_1, "GlobalAveragePool", 1, 1, NULL, OT_OP_ONEDNN,
            "Y[n,c] = mean over all spatial cells of X[n,c] (ONNX GlobalAveragePool)")
