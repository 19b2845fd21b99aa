/* ops/conv_transpose.c: ConvTranspose (ONNX ConvTranspose-1/11; 11 only
 * reworded the padding rules), 1D/2D/3D, grouped, strided, dilated, with
 * pads / auto_pad / output_padding / output_shape and optional bias, and its
 * gradient com.microsoft::ConvTransposeGrad (ONNX Runtime's op and wiring).
 *   Y[n, m, o] = B[m] + sum X[n, c, i] * W[c, m - g*M/G, k]
 *                over c in group g(m), i, k with o = i*s - pad_l + k*d
 * X: (N, C, I...), W: (C, M/group, K...), B: (M), Y: (N, M, O...).
 * Output size (operators.md, ConvTranspose): with output_shape (its spatial
 * part, or all of it), O = output_shape and total padding
 * max(0, s*(I-1) + output_padding + (K-1)*d + 1 - O) is split as the spec
 * says (SAME_UPPER: pad_l = total/2, else pad_l = total - total/2); with
 * auto_pad SAME_*, O = I*s, split the same way; otherwise
 * O = s*(I-1) + output_padding + (K-1)*d + 1 - pad_l - pad_r. Output cells
 * past the last window (output_padding) receive only B.
 * ConvTranspose is the adjoint of Conv, so its gradient is
 *   dX = Conv(dY, W) (same strides, dilations, group; pads pad_l and
 *        pad_r' = s*(I-1) + (K-1)*d + 1 - pad_l - O, the padding oneDNN
 *        sees; W's (C, M/G, K) layout is Conv's (out, in/G, K)),
 *   dW = deconvolution backward_weights, dB = sum of dY over N and space.
 * float32 runs on oneDNN deconvolution forward / convolution forward /
 * deconvolution backward_weights (format_tag_any, reorders at the edges)
 * when pad_r' >= 0; double and the rest on the reference loops. */
#include "ops/cnn_util.h"

#include <inttypes.h>
#include <stdlib.h>

static const ot_attr_spec_t ct_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false},     {"dilations", OT_ATTR_INTS, false}, {"group", OT_ATTR_INT, false},
    {"kernel_shape", OT_ATTR_INTS, false},   {"output_padding", OT_ATTR_INTS, false},
    {"output_shape", OT_ATTR_INTS, false},   {"pads", OT_ATTR_INTS, false},   {"strides", OT_ATTR_INTS, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

typedef struct ct_geom {
    int nsp;
    int64_t n, c, m, group;
    int64_t kernel[3], stride[3], dil[3], pad_l[3];
    int64_t pad_r[3]; /* pad_r' above: what oneDNN and the dX convolution see (may be < 0) */
    int64_t in[3], out[3];
} ct_geom_t;

static ot_status_t *read_ints_n(const ot_node_info_t *node, const char *name, int n, int64_t dflt, int64_t min,
                                int64_t *out) {
    const int64_t *v = NULL;
    int64_t cnt = ot_attr_ints(node, name, &v);
    for (int i = 0; i < n; i++) out[i] = dflt;
    if (cnt < 0) return NULL;
    if (cnt != n)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "attribute %s has %" PRId64 " values, expected %d", name, cnt, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < min)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "attribute %s[%d] = %" PRId64 " must be >= %" PRId64, name, i,
                                 v[i], min);
        out[i] = v[i];
    }
    return NULL;
}

/* Checks X, W, B and the attributes; fills g (sizes -1 where unknown) and
 * Y's shape. Shared by infer, setup and the gradient op. */
static ot_status_t *ct_check(const ot_node_info_t *node, const ot_tensor_t *x, const ot_tensor_t *w,
                             const ot_tensor_t *b, ct_geom_t *g, ot_shape_t *y_shape) {
    ot_status_t *st = NULL;
    char buf1[128], buf2[128];
    memset(g, 0, sizeof *g);
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X, W and B must share one dtype (got %s, %s, %s)",
                             ot_dtype_name(x->dtype), ot_dtype_name(w->dtype), b ? ot_dtype_name(b->dtype) : "-");
    g->group = ot_attr_int(node, "group", 1);
    if (g->group < 1) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "group = %" PRId64 " must be >= 1", g->group);
    int rank = x->shape.rank >= 0 ? x->shape.rank : w->shape.rank;
    if (rank < 0) {
        *y_shape = ot_shape_unknown();
        return NULL;
    }
    if (rank < 3 || rank > 5 || (x->shape.rank >= 0 && w->shape.rank >= 0 && x->shape.rank != w->shape.rank))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X %s and W %s must have one rank of 3 to 5",
                             ot_shape_str(&x->shape, buf1, sizeof buf1), ot_shape_str(&w->shape, buf2, sizeof buf2));
    int nsp = g->nsp = rank - 2;
    g->n = x->shape.rank >= 0 ? x->shape.dims[0] : -1;
    g->c = x->shape.rank >= 0 ? x->shape.dims[1] : -1;
    int64_t wc = w->shape.rank >= 0 ? w->shape.dims[0] : -1, wm = w->shape.rank >= 0 ? w->shape.dims[1] : -1;
    g->m = wm >= 0 ? wm * g->group : -1;
    if (g->c >= 0 && wc >= 0 && g->c != wc)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X %s has %" PRId64 " channels but W %s has %" PRId64,
                             ot_shape_str(&x->shape, buf1, sizeof buf1), g->c, ot_shape_str(&w->shape, buf2, sizeof buf2),
                             wc);
    if (g->c < 0) g->c = wc;
    if (g->c >= 0 && g->c % g->group != 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "group %" PRId64 " does not divide the %" PRId64 " input channels",
                             g->group, g->c);
    if (b && b->shape.rank >= 0 && (b->shape.rank != 1 || (g->m >= 0 && b->shape.dims[0] >= 0 && b->shape.dims[0] != g->m)))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "B %s must have shape (M) = (%" PRId64 ")",
                             ot_shape_str(&b->shape, buf1, sizeof buf1), g->m);
    int64_t ks[3], op[3], pads[6], os[5];
    if ((st = read_ints_n(node, "kernel_shape", nsp, -1, 1, ks))) return st;
    if ((st = read_ints_n(node, "strides", nsp, 1, 1, g->stride))) return st;
    if ((st = read_ints_n(node, "dilations", nsp, 1, 1, g->dil))) return st;
    if ((st = read_ints_n(node, "output_padding", nsp, 0, 0, op))) return st;
    if ((st = read_ints_n(node, "pads", 2 * nsp, 0, 0, pads))) return st;
    const int64_t *osv = NULL;
    int64_t nos = ot_attr_ints(node, "output_shape", &osv);
    if (nos >= 0 && nos != nsp && nos != nsp + 2)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "output_shape has %" PRId64 " values, expected %d or %d", nos,
                             nsp, nsp + 2);
    for (int d = 0; d < nsp; d++) os[d] = nos >= 0 ? osv[nos - nsp + d] : -1;
    const char *ap = ot_attr_string(node, "auto_pad", "NOTSET");
    bool same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0 && ap[0] != '\0')
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "auto_pad '%s' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", ap);
    for (int d = 0; d < nsp; d++) {
        int64_t wk = w->shape.rank >= 0 ? w->shape.dims[2 + d] : -1;
        if (ks[d] >= 0 && wk >= 0 && ks[d] != wk)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "kernel_shape[%d] = %" PRId64 " but the weights have %" PRId64,
                                 d, ks[d], wk);
        g->kernel[d] = wk >= 0 ? wk : ks[d];
        if (op[d] >= g->stride[d] && op[d] >= g->dil[d])
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                 "output_padding[%d] = %" PRId64 " must be smaller than the stride or the dilation", d, op[d]);
        int64_t in = g->in[d] = x->shape.rank >= 0 ? x->shape.dims[2 + d] : -1;
        g->out[d] = -1;
        if (in < 0 || g->kernel[d] < 0) continue;
        int64_t ek = (g->kernel[d] - 1) * g->dil[d] + 1, full = g->stride[d] * (in - 1) + op[d] + ek;
        int64_t pl, pr;
        if (os[d] >= 0 || same_upper || same_lower) {
            int64_t out = os[d] >= 0 ? os[d] : in * g->stride[d];
            int64_t total = full - out > 0 ? full - out : 0;
            pl = same_upper ? total / 2 : total - total / 2;
            pr = total - pl;
            g->out[d] = out;
        } else {
            pl = valid ? 0 : pads[d];
            pr = valid ? 0 : pads[nsp + d];
            g->out[d] = full - pl - pr;
            if (g->out[d] < 1)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "spatial axis %d: pads (%" PRId64 ", %" PRId64
                                     ") leave no output", d, pl, pr);
        }
        g->pad_l[d] = pl;
        g->pad_r[d] = g->stride[d] * (in - 1) + ek - pl - g->out[d];
    }
    *y_shape = ot_shape_make(rank, NULL);
    y_shape->dims[0] = g->n;
    y_shape->dims[1] = g->m;
    for (int d = 0; d < nsp; d++) y_shape->dims[2 + d] = g->out[d];
    return NULL;
}

static ot_status_t *ct_infer(ot_infer_ctx_t *ctx) {
    ct_geom_t g;
    ot_shape_t y;
    const ot_tensor_t *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    ot_status_t *st = ct_check(ctx->node, ctx->inputs[0], ctx->inputs[1], b, &g, &y);
    if (st) return st;
    ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
    ctx->outputs[0]->shape = y;
    return NULL;
}

/* ---- oneDNN descriptors ---------------------------------------------------- */

/* xmd: X (N, C, I...), ymd: Y (N, M, O...), wmd_deconv: W viewed as the
 * deconvolution's (G, M/G, C/G, K...) weights over ONNX's (C, M/G, K...)
 * bytes, wmd_conv: the same bytes as the dX convolution's (G, C/G, M/G, K...)
 * weights (plain). */
typedef struct ct_mds {
    dnnl_memory_desc_t x, y, b, w_deconv, w_conv;
    dnnl_memory_desc_t x_any, y_any, w_deconv_any, w_conv_any;
    dnnl_dims_t strides, dil, pad_l, pad_r;
} ct_mds_t;

static ot_status_t *ct_mds_init(ot_kernel_t *k, const ct_geom_t *g, ct_mds_t *md) {
    ot_status_t *st = NULL;
    int rank = g->nsp + 2;
    int64_t xd[5] = {g->n, g->c}, yd[5] = {g->n, g->m}, ksp = 1;
    for (int d = 0; d < g->nsp; d++) {
        xd[2 + d] = g->in[d];
        yd[2 + d] = g->out[d];
        ksp *= g->kernel[d];
        md->strides[d] = g->stride[d];
        md->dil[d] = g->dil[d] - 1;
        md->pad_l[d] = g->pad_l[d];
        md->pad_r[d] = g->pad_r[d];
    }
    OT_DNNL_TRY(ot_dnnl_md_dims(&md->x, rank, xd, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&md->y, rank, yd, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&md->b, 1, &g->m, dnnl_f32));
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    dnnl_dims_t wd, ws, cd;
    int wr = 0;
    if (g->group > 1) wd[wr] = g->group, ws[wr] = cg * mg * ksp, cd[wr] = g->group, wr++;
    wd[wr] = mg, ws[wr] = ksp, cd[wr] = cg, wr++;
    wd[wr] = cg, ws[wr] = mg * ksp, cd[wr] = mg, wr++;
    int64_t kst = ksp;
    for (int d = 0; d < g->nsp; d++) {
        kst /= g->kernel[d];
        wd[wr] = cd[wr] = g->kernel[d];
        ws[wr++] = kst;
    }
    OT_DNNL_TRY(dnnl_memory_desc_init_by_strides(&md->w_deconv, wr, wd, dnnl_f32, ws));
    OT_DNNL_TRY(ot_dnnl_md_dims(&md->w_conv, wr, cd, dnnl_f32));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md->x_any, rank, md->x.dims, dnnl_f32, dnnl_format_tag_any));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md->y_any, rank, md->y.dims, dnnl_f32, dnnl_format_tag_any));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md->w_deconv_any, wr, wd, dnnl_f32, dnnl_format_tag_any));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md->w_conv_any, wr, cd, dnnl_f32, dnnl_format_tag_any));
fail:
    return st;
}

static dnnl_status_t ct_deconv_desc(const ct_mds_t *md, dnnl_prop_kind_t prop, bool bias, dnnl_deconvolution_desc_t *d) {
    return dnnl_dilated_deconvolution_forward_desc_init(d, prop, dnnl_deconvolution_direct, &md->x_any, &md->w_deconv_any,
                                                        bias ? &md->b : NULL, &md->y_any, md->strides, md->dil,
                                                        md->pad_l, md->pad_r);
}

static bool ct_dnnl_fits(const ct_geom_t *g) {
    for (int d = 0; d < g->nsp; d++)
        if (g->pad_r[d] < 0) return false; /* output past the last window: reference */
    return true;
}

/* ---- forward kernel ---------------------------------------------------------- */

typedef struct ct_state {
    ct_geom_t g;
    bool use_dnnl, has_bias;
    ot_dnnl_prim_t fwd; /* deconvolution: X, W[, B], Y */
} ct_state_t;

static void ct_release(ot_kernel_t *k) {
    ct_state_t *s = k->state;
    if (!s) return;
    ot_dnnl_prim_destroy(&s->fwd);
    free(s);
    k->state = NULL;
}

static ot_status_t *ct_setup_dnnl(ot_kernel_t *k, ct_state_t *s) {
    ot_status_t *st = NULL;
    ct_mds_t md;
    if ((st = ct_mds_init(k, &s->g, &md))) return st;
    dnnl_deconvolution_desc_t desc;
    OT_DNNL_TRY(ct_deconv_desc(&md, dnnl_forward_inference, s->has_bias, &desc));
    dnnl_status_t ds = ot_dnnl_prim_create(&s->fwd, &desc, k->engine, NULL);
    if (ds == dnnl_unimplemented) goto fail; /* the reference loop takes over */
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_SRC, &md.x, k->engine));
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_WEIGHTS, &md.w_deconv, k->engine));
    if (s->has_bias) OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_BIAS, &md.b, k->engine));
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_DST, &md.y, k->engine));
    s->use_dnnl = true;
fail:
    return st;
}

static ot_status_t *ct_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y;
    ct_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    const ot_tensor_t *b = k->n_inputs > 2 ? k->inputs[2] : NULL;
    if ((st = ct_check(k->node, k->inputs[0], k->inputs[1], b, &s->g, &y))) goto fail;
    s->has_bias = b != NULL;
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT && ct_dnnl_fits(&s->g) && (st = ct_setup_dnnl(k, s))) goto fail;
    return NULL;
fail:
    ct_release(k);
    return st;
}

/* Spatial sizes padded to 3D (leading axes of size 1). */
typedef struct ct3 {
    int64_t in[3], out[3], k[3], s[3], d[3], p[3], in_sp, out_sp, k_sp, cg, mg;
} ct3_t;

static ct3_t ct3_of(const ct_geom_t *g) {
    ct3_t r;
    int off = 3 - g->nsp;
    for (int i = 0; i < 3; i++) {
        int d = i - off;
        r.in[i] = d >= 0 ? g->in[d] : 1;
        r.out[i] = d >= 0 ? g->out[d] : 1;
        r.k[i] = d >= 0 ? g->kernel[d] : 1;
        r.s[i] = d >= 0 ? g->stride[d] : 1;
        r.d[i] = d >= 0 ? g->dil[d] : 1;
        r.p[i] = d >= 0 ? g->pad_l[d] : 0;
    }
    r.in_sp = r.in[0] * r.in[1] * r.in[2];
    r.out_sp = r.out[0] * r.out[1] * r.out[2];
    r.k_sp = r.k[0] * r.k[1] * r.k[2];
    r.cg = g->c / g->group;
    r.mg = g->m / g->group;
    return r;
}

/* Visits every (input cell i, tap k, output cell o) with o inside Y. */
#define CT_FOR_TAPS(q, BODY)                                                                                       \
    for (int64_t i0 = 0; i0 < q.in[0]; i0++)                                                                       \
        for (int64_t i1 = 0; i1 < q.in[1]; i1++)                                                                   \
            for (int64_t i2 = 0; i2 < q.in[2]; i2++)                                                               \
                for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                                          \
                    int64_t o0 = i0 * q.s[0] - q.p[0] + k0 * q.d[0];                                               \
                    if (o0 < 0 || o0 >= q.out[0]) continue;                                                        \
                    for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                                      \
                        int64_t o1 = i1 * q.s[1] - q.p[1] + k1 * q.d[1];                                           \
                        if (o1 < 0 || o1 >= q.out[1]) continue;                                                    \
                        for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                                  \
                            int64_t o2 = i2 * q.s[2] - q.p[2] + k2 * q.d[2];                                       \
                            if (o2 < 0 || o2 >= q.out[2]) continue;                                                \
                            int64_t xi = (i0 * q.in[1] + i1) * q.in[2] + i2;                                       \
                            int64_t ki = (k0 * q.k[1] + k1) * q.k[2] + k2;                                         \
                            int64_t yo = (o0 * q.out[1] + o1) * q.out[2] + o2;                                     \
                            BODY;                                                                                  \
                        }                                                                                          \
                    }                                                                                              \
                }

/* Reference forward: each (n, m) output plane is written by one thread. */
#define CT_REF(T)                                                                                                  \
    static void ct_ref_##T(const ct_geom_t *g, const T *x, const T *w, const T *b, T *y) {                         \
        ct3_t q = ct3_of(g);                                                                                       \
        _Pragma("omp parallel for if (g->n * g->m * q.in_sp * q.cg * q.k_sp > 32768)") for (int64_t nm = 0;        \
                                                                                            nm < g->n * g->m; nm++) { \
            int64_t n = nm / g->m, m = nm % g->m, grp = m / q.mg, ml = m % q.mg;                                   \
            T *yp = y + nm * q.out_sp;                                                                             \
            for (int64_t o = 0; o < q.out_sp; o++) yp[o] = b ? b[m] : 0;                                           \
            for (int64_t cl = 0; cl < q.cg; cl++) {                                                                \
                int64_t c = grp * q.cg + cl;                                                                       \
                const T *xp = x + (n * g->c + c) * q.in_sp, *wp = w + (c * q.mg + ml) * q.k_sp;                   \
                CT_FOR_TAPS(q, yp[yo] += xp[xi] * wp[ki])                                                          \
            }                                                                                                      \
        }                                                                                                          \
    }
CT_REF(float)
CT_REF(double)

static ot_status_t *ct_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ct_state_t *s = k->state;
    const ot_tensor_t *b = k->n_inputs > 2 ? k->inputs[2] : NULL;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT)
            ct_ref_float(&s->g, k->inputs[0]->data, k->inputs[1]->data, b ? b->data : NULL, k->outputs[0]->data);
        else
            ct_ref_double(&s->g, k->inputs[0]->data, k->inputs[1]->data, b ? b->data : NULL, k->outputs[0]->data);
        return NULL;
    }
    void *data[4] = {k->inputs[0]->data, k->inputs[1]->data, b ? b->data : k->outputs[0]->data, k->outputs[0]->data};
    OT_DNNL_TRY(ot_dnnl_prim_run(&s->fwd, k->stream, data));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
fail:
    return st;
}

static ot_status_t *ct_gradient(ot_grad_ctx_t *ctx);

const ot_op_def_t ot_op_ConvTranspose_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "ConvTranspose",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = ct_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = ct_infer,
    .setup = ct_setup,
    .run = ct_run,
    .release = ct_release,
    .gradient = ct_gradient,
    .doc = "Y[n,m,i*s-pad+k*d] += X[n,c,i] * W[c,m,k] per group, + B[m] (ONNX ConvTranspose-1/11)",
};

/* ---- gradient: com.microsoft::ConvTransposeGrad ------------------------------ */

/* ONNX Runtime's rule (GetConvTransposeGradient): ConvTransposeGrad(dY, X,
 * W) -> (dX, dW[, dB]) with the forward node's attributes. */
static ot_status_t *ct_gradient(ot_grad_ctx_t *ctx) { return ot_cnn_gradient(ctx, "ConvTransposeGrad"); }

static ot_status_t *ct_grad_infer(ot_infer_ctx_t *ctx) {
    ct_geom_t g;
    ot_shape_t y;
    const ot_tensor_t *x = ctx->inputs[1], *w = ctx->inputs[2];
    ot_status_t *st = ct_check(ctx->node, x, w, NULL, &g, &y);
    if (st) return st;
    return ot_cnn_grad_infer(ctx, &y, g.m, "transposed convolution");
}

typedef struct ct_grad_state {
    ct_geom_t g;
    bool use_dnnl, has_bias;
    ot_dnnl_prim_t dx; /* convolution forward: dY, W, dX (empty when dX is not wanted) */
    ot_dnnl_prim_t dw; /* deconvolution backward_weights: X, dY, dW[, dB] (empty when dW is not wanted) */
} ct_grad_state_t;

static void ct_grad_release(ot_kernel_t *k) {
    ct_grad_state_t *s = k->state;
    if (!s) return;
    ot_dnnl_prim_destroy(&s->dx);
    ot_dnnl_prim_destroy(&s->dw);
    free(s);
    k->state = NULL;
}

static ot_status_t *ct_grad_setup_dnnl(ot_kernel_t *k, ct_grad_state_t *s, bool want_dx, bool want_dw) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_engine_t engine = k->engine;
    ct_mds_t md;
    if ((st = ct_mds_init(k, &s->g, &md))) return st;
    dnnl_status_t ds;
    if (want_dx) { /* dX = Conv(dY, W): src dY (N, M, O), dst dX (N, C, I) */
        dnnl_convolution_desc_t cdesc;
        OT_DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(&cdesc, dnnl_forward_training, dnnl_convolution_direct,
                                                               &md.y_any, &md.w_conv_any, NULL, &md.x_any, md.strides,
                                                               md.dil, md.pad_l, md.pad_r));
        if ((ds = ot_dnnl_prim_create(&s->dx, &cdesc, engine, NULL)) == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dx, DNNL_ARG_SRC, &md.y, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dx, DNNL_ARG_WEIGHTS, &md.w_conv, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dx, DNNL_ARG_DST, &md.x, engine));
    }
    if (want_dw) {
        dnnl_deconvolution_desc_t fdesc, wdesc;
        OT_DNNL_TRY(ct_deconv_desc(&md, dnnl_forward_training, s->has_bias, &fdesc));
        ds = dnnl_primitive_desc_create(&hint, &fdesc, NULL, engine, NULL);
        if (ds == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(dnnl_dilated_deconvolution_backward_weights_desc_init(
            &wdesc, dnnl_deconvolution_direct, &md.x_any, &md.w_deconv_any, s->has_bias ? &md.b : NULL, &md.y_any,
            md.strides, md.dil, md.pad_l, md.pad_r));
        if ((ds = ot_dnnl_prim_create(&s->dw, &wdesc, engine, hint)) == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dw, DNNL_ARG_SRC, &md.x, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dw, DNNL_ARG_DIFF_DST, &md.y, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dw, DNNL_ARG_DIFF_WEIGHTS, &md.w_deconv, engine));
        if (s->has_bias) OT_DNNL_TRY(ot_dnnl_prim_arg(&s->dw, DNNL_ARG_DIFF_BIAS, &md.b, engine));
    }
    s->use_dnnl = true;
fail:
    if (hint) dnnl_primitive_desc_destroy(hint);
    return st;
}

static ot_status_t *ct_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y;
    ct_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    if ((st = ct_check(k->node, k->inputs[1], k->inputs[2], NULL, &s->g, &y))) goto fail;
    if (ot_shape_numel(&k->inputs[0]->shape) != ot_shape_numel(&y) || k->inputs[0]->shape.rank != y.rank) {
        st = OT_KERNEL_ERROR(k, "%s", "dY does not match the transposed convolution's output shape");
        goto fail;
    }
    bool want_dx = k->outputs[0] != NULL, want_dw = k->n_outputs > 1 && k->outputs[1];
    s->has_bias = want_dw && k->n_outputs > 2 && k->outputs[2]; /* else dB is a plain sum */
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT && ct_dnnl_fits(&s->g) && (st = ct_grad_setup_dnnl(k, s, want_dx, want_dw)))
        goto fail;
    return NULL;
fail:
    ct_grad_release(k);
    return st;
}

/* Reference: dX per (n, c) plane, dW per input channel c, dB per m. */
#define CT_GRAD_REF(T)                                                                                             \
    static void ct_grad_ref_##T(const ct_geom_t *g, const T *dy, const T *x, const T *w, T *dx, T *dw, T *db) {    \
        ct3_t q = ct3_of(g);                                                                                       \
        int64_t work = g->n * g->c * q.in_sp * q.mg * q.k_sp;                                                      \
        if (dx) {                                                                                                  \
            _Pragma("omp parallel for if (work > 32768)") for (int64_t nc = 0; nc < g->n * g->c; nc++) {           \
                int64_t n = nc / g->c, c = nc % g->c, grp = c / q.cg;                                              \
                T *dxp = dx + nc * q.in_sp;                                                                        \
                for (int64_t i = 0; i < q.in_sp; i++) dxp[i] = 0;                                                  \
                for (int64_t ml = 0; ml < q.mg; ml++) {                                                            \
                    const T *dyp = dy + (n * g->m + grp * q.mg + ml) * q.out_sp, *wp = w + (c * q.mg + ml) * q.k_sp; \
                    CT_FOR_TAPS(q, dxp[xi] += dyp[yo] * wp[ki])                                                    \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        if (dw) {                                                                                                  \
            _Pragma("omp parallel for if (work > 32768)") for (int64_t c = 0; c < g->c; c++) {                     \
                int64_t grp = c / q.cg;                                                                            \
                T *dwc = dw + c * q.mg * q.k_sp;                                                                   \
                for (int64_t i = 0; i < q.mg * q.k_sp; i++) dwc[i] = 0;                                            \
                for (int64_t n = 0; n < g->n; n++) {                                                               \
                    const T *xp = x + (n * g->c + c) * q.in_sp;                                                    \
                    for (int64_t ml = 0; ml < q.mg; ml++) {                                                        \
                        const T *dyp = dy + (n * g->m + grp * q.mg + ml) * q.out_sp;                               \
                        T *wp = dwc + ml * q.k_sp;                                                                 \
                        CT_FOR_TAPS(q, wp[ki] += xp[xi] * dyp[yo])                                                 \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        if (db)                                                                                                    \
            for (int64_t m = 0; m < g->m; m++) {                                                                   \
                double acc = 0;                                                                                    \
                for (int64_t n = 0; n < g->n; n++)                                                                 \
                    for (int64_t o = 0; o < q.out_sp; o++) acc += (double)dy[(n * g->m + m) * q.out_sp + o];       \
                db[m] = (T)acc;                                                                                    \
            }                                                                                                      \
    }
CT_GRAD_REF(float)
CT_GRAD_REF(double)

static ot_status_t *ct_grad_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ct_grad_state_t *s = k->state;
    const void *dy = k->inputs[0]->data, *x = k->inputs[1]->data, *w = k->inputs[2]->data;
    void *dx = k->outputs[0] ? k->outputs[0]->data : NULL;
    void *dw = k->n_outputs > 1 && k->outputs[1] ? k->outputs[1]->data : NULL;
    void *db = k->n_outputs > 2 && k->outputs[2] ? k->outputs[2]->data : NULL;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) ct_grad_ref_float(&s->g, dy, x, w, dx, dw, db);
        else ct_grad_ref_double(&s->g, dy, x, w, dx, dw, db);
        return NULL;
    }
    if (s->dx.prim) OT_DNNL_TRY(ot_dnnl_prim_run(&s->dx, k->stream, (void *[]){(void *)dy, (void *)w, dx}));
    if (s->dw.prim) OT_DNNL_TRY(ot_dnnl_prim_run(&s->dw, k->stream, (void *[]){(void *)x, (void *)dy, dw, db}));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
    if (db && !s->has_bias) ct_grad_ref_float(&s->g, dy, x, w, NULL, NULL, db); /* dB without dW */
fail:
    return st;
}

const ot_op_def_t ot_op_ms_ConvTransposeGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "ConvTransposeGrad",
    .since_version = 1,
    .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = ct_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = ct_grad_infer,
    .setup = ct_grad_setup,
    .run = ct_grad_run,
    .release = ct_grad_release,
    .doc = "dX = Conv(dY, W), dW, dB of ConvTranspose (ONNX Runtime ConvTransposeGrad)",
};
