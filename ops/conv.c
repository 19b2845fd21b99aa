/* ops/conv.c: Conv (ONNX Conv-1/11; 11 only reworded auto_pad, so one
 * record serves both), 1D/2D/3D, grouped (incl. depthwise), strided,
 * dilated, padded, with optional bias:
 *   Y[n, m, o...] = B[m] + sum_{c in group(m), k...} X[n, c, o*s - pad_l + k*d] * W[m, c - c0(m), k...]
 * X: (N, C, D1...), W: (M, C/group, K1...), B: (M), Y: (N, M, O1...).
 * float32 runs on oneDNN convolution forward; double, and any configuration
 * oneDNN declines, on the reference loop below.
 * Gradient: com.microsoft::ConvGrad(dY, X, W) -> dX, dW[, dB] (ONNX
 * Runtime's op; the forward's attributes):
 *   dX[n, c, i] = sum_{m in group(c), k: i = o*s - pad_l + k*d} dY[n, m, o] * W[m, c - c0, k]
 *   dW[m, c', k] = sum_{n, o} dY[n, m, o] * X[n, c0(m) + c', o*s - pad_l + k*d],  dB[m] = sum_{n, o} dY[n, m, o]
 * on oneDNN convolution backward_data / backward_weights (dB with dW) for
 * float32, created in setup with a forward_training descriptor as the hint,
 * and reference loops (double accumulation) otherwise. Not ConvTranspose
 * (ops/conv_transpose.c) nor the quantized ConvInteger/QLinearConv. */
#include "ops/cnn_util.h"

#include <inttypes.h>
#include <stdlib.h>

static const ot_attr_spec_t conv_attrs[] = {
    {"auto_pad", OT_ATTR_STRING, false}, {"dilations", OT_ATTR_INTS, false}, {"group", OT_ATTR_INT, false},
    {"kernel_shape", OT_ATTR_INTS, false}, {"pads", OT_ATTR_INTS, false},   {"strides", OT_ATTR_INTS, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

/* Checks shapes and attributes; fills g (resolved where X is known) and the
 * output shape. Shared by infer and setup. */
static ot_status_t *conv_check(const ot_node_info_t *node, const ot_tensor_t *x, const ot_tensor_t *w,
                               const ot_tensor_t *b, ot_cnn_geom_t *g, ot_shape_t *y_shape) {
    ot_status_t *st = NULL;
    char buf1[128], buf2[128];
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X, W and B must share one dtype (got %s, %s, %s)",
                             ot_dtype_name(x->dtype), ot_dtype_name(w->dtype), b ? ot_dtype_name(b->dtype) : "-");
    int64_t group = ot_attr_int(node, "group", 1);
    if (group < 1) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "group = %" PRId64 " must be >= 1", group);
    const int64_t *ks = NULL;
    int64_t nks = ot_attr_ints(node, "kernel_shape", &ks);
    int rank = x->shape.rank >= 0 ? x->shape.rank : w->shape.rank >= 0 ? w->shape.rank : nks >= 0 ? (int)nks + 2 : -1;
    if (rank < 0) { /* nothing fixes the rank yet */
        *y_shape = ot_shape_unknown();
        return NULL;
    }
    if (rank < 3)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X must have rank >= 3 (N, C, spatial...), got %s",
                             ot_shape_str(&x->shape, buf1, sizeof buf1));
    if ((x->shape.rank >= 0 && x->shape.rank != rank) || (w->shape.rank >= 0 && w->shape.rank != rank))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X %s and W %s must have the same rank",
                             ot_shape_str(&x->shape, buf1, sizeof buf1), ot_shape_str(&w->shape, buf2, sizeof buf2));
    int nsp = rank - 2;
    int64_t kernel[OT_CNN_MAX_SPATIAL] = {-1, -1, -1}, in[OT_CNN_MAX_SPATIAL] = {-1, -1, -1};
    for (int d = 0; d < nsp && d < OT_CNN_MAX_SPATIAL; d++) {
        if (w->shape.rank >= 0) kernel[d] = w->shape.dims[2 + d];
        if (x->shape.rank >= 0) in[d] = x->shape.dims[2 + d];
    }
    if ((st = ot_cnn_geom_parse(node, nsp, kernel, false, false, g))) return st;
    int64_t c = x->shape.rank >= 0 ? x->shape.dims[1] : -1, n = x->shape.rank >= 0 ? x->shape.dims[0] : -1;
    int64_t m = w->shape.rank >= 0 ? w->shape.dims[0] : -1, cg = w->shape.rank >= 0 ? w->shape.dims[1] : -1;
    if (c >= 0 && cg >= 0 && c != cg * group)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "channel mismatch: X %s has %" PRId64 " channels but W %s takes %" PRId64
                             " per group x group %" PRId64,
                             ot_shape_str(&x->shape, buf1, sizeof buf1), c, ot_shape_str(&w->shape, buf2, sizeof buf2),
                             cg, group);
    if (c >= 0 && c % group != 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "group %" PRId64 " does not divide the %" PRId64 " input channels",
                             group, c);
    if (m >= 0 && m % group != 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "group %" PRId64 " does not divide the %" PRId64 " output channels of W", group, m);
    if (b) {
        if (b->shape.rank >= 0 && (b->shape.rank != 1 || (m >= 0 && b->shape.dims[0] >= 0 && b->shape.dims[0] != m)))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "B %s must have shape (M) = (%" PRId64 ")",
                                 ot_shape_str(&b->shape, buf1, sizeof buf1), m);
        if (m < 0 && b->shape.rank == 1) m = b->shape.dims[0];
    }
    if ((st = ot_cnn_geom_resolve(node, in, g))) return st;
    *y_shape = ot_shape_make(rank, NULL);
    y_shape->dims[0] = n;
    y_shape->dims[1] = m;
    for (int d = 0; d < nsp; d++) y_shape->dims[2 + d] = g->out[d];
    return NULL;
}

static ot_status_t *conv_infer(ot_infer_ctx_t *ctx) {
    ot_cnn_geom_t g;
    ot_shape_t y;
    const ot_tensor_t *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    ot_status_t *st = conv_check(ctx->node, ctx->inputs[0], ctx->inputs[1], b, &g, &y);
    if (st) return st;
    ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
    ctx->outputs[0]->shape = y;
    return NULL;
}

/* ---- kernel ------------------------------------------------------------ */

/* oneDNN memory formats. Offering format_tag_any lets the primitive pick
 * its layout (on AVX-512 it picks nhwc/blocked, with reorders at the edges);
 * plain runs directly on the tensors. Measured (2 threads, AVX-512, min of
 * 20 runs, reorders included), N=32, C=64, 56x56:
 *   3x3 pad 1, 64->64:   any 21.5 ms, plain 30.2 ms
 *   3x3 depthwise:       any  4.5 ms, plain 11.6 ms
 *   1x1, 64->256:        any 17.5 ms, plain 11.4 ms (a plain GEMM; the
 *                        reorders of the large output dominate)
 * So: any, except pointwise convolutions (1x1, stride 1, no padding). */
static bool conv_prefers_plain(const ot_cnn_geom_t *g) {
    for (int d = 0; d < g->nsp; d++)
        if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad_l[d] != 0 || g->pad_r_eff[d] != 0) return false;
    return true;
}

typedef struct conv_state {
    ot_cnn_geom_t g;
    int64_t n, c, m, group;
    bool use_dnnl, has_bias;
    /* Descriptors kept for the training issue: forward_training,
     * backward_data and backward_weights are created from the same mds. */
    dnnl_memory_desc_t src_md, wei_md, bias_md, dst_md;             /* plain, the tensors' own layout */
    dnnl_memory_desc_t src_any_md, wei_any_md, dst_any_md;          /* what the primitive is offered */
    ot_dnnl_prim_t fwd;     /* operands X, W[, B], Y */
} conv_state_t;

/* Initializes a convolution op descriptor for `prop` from the kept mds, so
 * forward and (later) backward primitives agree on the geometry. */
static dnnl_status_t conv_desc_init(const conv_state_t *s, dnnl_prop_kind_t prop, dnnl_convolution_desc_t *desc) {
    dnnl_dims_t strides, dil, pad_l, pad_r;
    for (int d = 0; d < s->g.nsp; d++) {
        strides[d] = s->g.stride[d];
        dil[d] = s->g.dilation[d] - 1; /* oneDNN counts the holes: 0 = dense */
        pad_l[d] = s->g.pad_l[d];
        pad_r[d] = s->g.pad_r_eff[d];
    }
    return dnnl_dilated_convolution_forward_desc_init(desc, prop, dnnl_convolution_direct, &s->src_any_md,
                                                      &s->wei_any_md, s->has_bias ? &s->bias_md : NULL, &s->dst_any_md,
                                                      strides, dil, pad_l, pad_r);
}

static void conv_release(ot_kernel_t *k) {
    conv_state_t *s = k->state;
    if (!s) return;
    ot_dnnl_prim_destroy(&s->fwd);
    free(s);
    k->state = NULL;
}

/* Plain and offered memory descriptors for X (x), Y (y), W and B, shared by
 * the forward and the backward primitives. */
static ot_status_t *conv_init_mds(ot_kernel_t *k, conv_state_t *s, const ot_shape_t *x, const ot_shape_t *y) {
    ot_status_t *st = NULL;
    int rank = x->rank;
    int64_t wdims[OT_MAX_RANK + 1];
    int wrank = 0;
    if (s->group > 1) wdims[wrank++] = s->group; /* (G, M/G, C/G, K...) */
    wdims[wrank++] = s->m / s->group;
    wdims[wrank++] = s->c / s->group;
    for (int d = 0; d < s->g.nsp; d++) wdims[wrank++] = s->g.kernel[d];
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->src_md, x, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&s->wei_md, wrank, wdims, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->dst_md, y, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&s->bias_md, 1, &s->m, dnnl_f32));
    if (!conv_prefers_plain(&s->g)) {
        OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&s->src_any_md, rank, s->src_md.dims, dnnl_f32, dnnl_format_tag_any));
        OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&s->wei_any_md, wrank, s->wei_md.dims, dnnl_f32, dnnl_format_tag_any));
        OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&s->dst_any_md, rank, s->dst_md.dims, dnnl_f32, dnnl_format_tag_any));
    } else {
        s->src_any_md = s->src_md;
        s->wei_any_md = s->wei_md;
        s->dst_any_md = s->dst_md;
    }
fail:
    return st;
}

/* Builds the oneDNN forward primitive. Returns with s->use_dnnl false (and
 * no error) when oneDNN has no implementation for this configuration. */
static ot_status_t *conv_setup_dnnl(ot_kernel_t *k, conv_state_t *s) {
    ot_status_t *st = NULL;
    dnnl_engine_t engine = k->engine;
    if ((st = conv_init_mds(k, s, &k->inputs[0]->shape, &k->outputs[0]->shape))) return st;
    dnnl_convolution_desc_t desc;
    OT_DNNL_TRY(conv_desc_init(s, dnnl_forward_inference, &desc));
    dnnl_status_t ds = ot_dnnl_prim_create(&s->fwd, &desc, engine, NULL);
    if (ds == dnnl_unimplemented) goto fail; /* st stays NULL: the reference loop takes over */
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_SRC, &s->src_md, engine));
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_WEIGHTS, &s->wei_md, engine));
    if (s->has_bias) OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_BIAS, &s->bias_md, engine));
    OT_DNNL_TRY(ot_dnnl_prim_arg(&s->fwd, DNNL_ARG_DST, &s->dst_md, engine));
    s->use_dnnl = true;
fail:
    return st;
}

static ot_status_t *conv_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y_shape;
    conv_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    const ot_tensor_t *x = k->inputs[0], *w = k->inputs[1];
    const ot_tensor_t *b = k->n_inputs > 2 ? k->inputs[2] : NULL;
    if ((st = conv_check(k->node, x, w, b, &s->g, &y_shape))) goto fail;
    s->n = x->shape.dims[0];
    s->c = x->shape.dims[1];
    s->m = w->shape.dims[0];
    s->group = ot_attr_int(k->node, "group", 1);
    s->has_bias = b != NULL;
    if (x->dtype == OT_DTYPE_FLOAT && (st = conv_setup_dnnl(k, s))) goto fail;
    return NULL;
fail:
    conv_release(k);
    return st;
}

/* Spatial geometry padded to 3D (missing leading axes have size 1). */
typedef struct geom3 {
    int64_t in[3], out[3], k[3], s[3], d[3], p[3];
} geom3_t;

static geom3_t geom3_of(const ot_cnn_geom_t *g) {
    geom3_t r;
    int off = 3 - g->nsp;
    for (int i = 0; i < 3; i++) {
        int d = i - off;
        r.in[i] = d >= 0 ? g->in[d] : 1;
        r.out[i] = d >= 0 ? g->out[d] : 1;
        r.k[i] = d >= 0 ? g->kernel[d] : 1;
        r.s[i] = d >= 0 ? g->stride[d] : 1;
        r.d[i] = d >= 0 ? g->dilation[d] : 1;
        r.p[i] = d >= 0 ? g->pad_l[d] : 0;
    }
    return r;
}

/* Reference: one output element at a time, accumulated in double. */
#define CONV_REF(T)                                                                                                \
    static void conv_ref_##T(const conv_state_t *s, const T *x, const T *w, const T *b, T *y) {                    \
        geom3_t q = geom3_of(&s->g);                                                                               \
        int64_t cg = s->c / s->group, mg = s->m / s->group;                                                        \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2];                      \
        int64_t k_sp = q.k[0] * q.k[1] * q.k[2], nm = s->n * s->m;                                                 \
        _Pragma("omp parallel for if (nm * out_sp * cg * k_sp > 32768)") for (int64_t nmi = 0; nmi < nm; nmi++) { \
            int64_t n = nmi / s->m, m = nmi % s->m, g = m / mg;                                                    \
            const T *xg = x + (n * s->c + g * cg) * in_sp;                                                         \
            const T *wm = w + m * cg * k_sp;                                                                       \
            T *yo = y + nmi * out_sp;                                                                              \
            for (int64_t o0 = 0; o0 < q.out[0]; o0++)                                                              \
                for (int64_t o1 = 0; o1 < q.out[1]; o1++)                                                          \
                    for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                                    \
                        double acc = b ? (double)b[m] : 0.0;                                                       \
                        for (int64_t c = 0; c < cg; c++)                                                           \
                            for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                              \
                                int64_t i0 = o0 * q.s[0] - q.p[0] + k0 * q.d[0];                                   \
                                if (i0 < 0 || i0 >= q.in[0]) continue;                                             \
                                for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                          \
                                    int64_t i1 = o1 * q.s[1] - q.p[1] + k1 * q.d[1];                               \
                                    if (i1 < 0 || i1 >= q.in[1]) continue;                                         \
                                    for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                      \
                                        int64_t i2 = o2 * q.s[2] - q.p[2] + k2 * q.d[2];                           \
                                        if (i2 < 0 || i2 >= q.in[2]) continue;                                     \
                                        acc += (double)xg[c * in_sp + (i0 * q.in[1] + i1) * q.in[2] + i2] *        \
                                               (double)wm[c * k_sp + (k0 * q.k[1] + k1) * q.k[2] + k2];            \
                                    }                                                                              \
                                }                                                                                  \
                            }                                                                                      \
                        yo[(o0 * q.out[1] + o1) * q.out[2] + o2] = (T)acc;                                         \
                    }                                                                                              \
        }                                                                                                          \
    }
CONV_REF(float)
CONV_REF(double)

static ot_status_t *conv_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    conv_state_t *s = k->state;
    const ot_tensor_t *b = k->n_inputs > 2 ? k->inputs[2] : NULL;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT)
            conv_ref_float(s, k->inputs[0]->data, k->inputs[1]->data, b ? b->data : NULL, k->outputs[0]->data);
        else
            conv_ref_double(s, k->inputs[0]->data, k->inputs[1]->data, b ? b->data : NULL, k->outputs[0]->data);
        return NULL;
    }
    void *data[4] = {k->inputs[0]->data, k->inputs[1]->data, b ? b->data : k->outputs[0]->data, k->outputs[0]->data};
    OT_DNNL_TRY(ot_dnnl_prim_run(&s->fwd, k->stream, data));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
fail:
    return st;
}

static ot_status_t *conv_gradient(ot_grad_ctx_t *ctx);

const ot_op_def_t ot_op_Conv_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Conv",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = conv_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = conv_infer,
    .setup = conv_setup,
    .run = conv_run,
    .release = conv_release,
    .gradient = conv_gradient,
    .doc = "Y[n,m,o] = B[m] + sum_{c,k} X[n,c,o*s-pad+k*d] * W[m,c,k] per group (ONNX Conv-1/11)",
};

/* ---- gradient: com.microsoft::ConvGrad ------------------------------------ */

/* ONNX Runtime's rule (gradient_builder.cc GetConvGradient): ConvGrad(dY, X,
 * W) -> (dX, dW[, dB]) with the forward node's attributes. dB exists when
 * the forward has B. */
static ot_status_t *conv_gradient(ot_grad_ctx_t *ctx) { return ot_cnn_gradient(ctx, "ConvGrad"); }

/* dY, X, W -> dX (X's shape), dW (W's), dB (M); dY must be Conv(X, W)'s
 * output shape under the node's attributes. */
static ot_status_t *conv_grad_infer(ot_infer_ctx_t *ctx) {
    ot_cnn_geom_t g;
    ot_shape_t y;
    const ot_tensor_t *x = ctx->inputs[1], *w = ctx->inputs[2];
    ot_status_t *st = conv_check(ctx->node, x, w, NULL, &g, &y);
    if (st) return st;
    return ot_cnn_grad_infer(ctx, &y, w->shape.rank >= 1 ? w->shape.dims[0] : -1, "convolution");
}

typedef struct conv_grad_state {
    conv_state_t cs;        /* geometry and descriptors, as the forward's */
    bool use_dnnl;
    ot_dnnl_prim_t bd; /* backward_data: dY, W, dX (empty when dX is not wanted) */
    ot_dnnl_prim_t bw; /* backward_weights: X, dY, dW[, dB] (empty when dW is not wanted) */
} conv_grad_state_t;

static void conv_grad_release(ot_kernel_t *k) {
    conv_grad_state_t *s = k->state;
    if (!s) return;
    ot_dnnl_prim_destroy(&s->bd);
    ot_dnnl_prim_destroy(&s->bw);
    free(s);
    k->state = NULL;
}

/* backward_data (if dX is wanted) and backward_weights (if dW is), with a
 * forward_training descriptor of the same geometry as the hint. Leaves
 * use_dnnl false when oneDNN declines either. */
static ot_status_t *conv_grad_setup_dnnl(ot_kernel_t *k, conv_grad_state_t *s, bool want_dx, bool want_dw) {
    ot_status_t *st = NULL;
    conv_state_t *cs = &s->cs;
    dnnl_engine_t engine = k->engine;
    dnnl_primitive_desc_t hint = NULL;
    if ((st = conv_init_mds(k, cs, &k->inputs[1]->shape, &k->inputs[0]->shape))) return st;
    dnnl_convolution_desc_t fdesc, ddesc, wdesc;
    OT_DNNL_TRY(conv_desc_init(cs, dnnl_forward_training, &fdesc));
    dnnl_status_t ds = dnnl_primitive_desc_create(&hint, &fdesc, NULL, engine, NULL);
    if (ds == dnnl_unimplemented) goto fail;
    OT_DNNL_TRY(ds);
    dnnl_dims_t strides, dil, pad_l, pad_r;
    for (int d = 0; d < cs->g.nsp; d++) {
        strides[d] = cs->g.stride[d];
        dil[d] = cs->g.dilation[d] - 1;
        pad_l[d] = cs->g.pad_l[d];
        pad_r[d] = cs->g.pad_r_eff[d];
    }
    if (want_dx) {
        OT_DNNL_TRY(dnnl_dilated_convolution_backward_data_desc_init(&ddesc, dnnl_convolution_direct, &cs->src_any_md,
                                                                     &cs->wei_any_md, &cs->dst_any_md, strides, dil,
                                                                     pad_l, pad_r));
        if ((ds = ot_dnnl_prim_create(&s->bd, &ddesc, engine, hint)) == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bd, DNNL_ARG_DIFF_DST, &cs->dst_md, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bd, DNNL_ARG_WEIGHTS, &cs->wei_md, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bd, DNNL_ARG_DIFF_SRC, &cs->src_md, engine));
    }
    if (want_dw) {
        OT_DNNL_TRY(dnnl_dilated_convolution_backward_weights_desc_init(
            &wdesc, dnnl_convolution_direct, &cs->src_any_md, &cs->wei_any_md, cs->has_bias ? &cs->bias_md : NULL,
            &cs->dst_any_md, strides, dil, pad_l, pad_r));
        if ((ds = ot_dnnl_prim_create(&s->bw, &wdesc, engine, hint)) == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bw, DNNL_ARG_SRC, &cs->src_md, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bw, DNNL_ARG_DIFF_DST, &cs->dst_md, engine));
        OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bw, DNNL_ARG_DIFF_WEIGHTS, &cs->wei_md, engine));
        if (cs->has_bias) OT_DNNL_TRY(ot_dnnl_prim_arg(&s->bw, DNNL_ARG_DIFF_BIAS, &cs->bias_md, engine));
    }
    s->use_dnnl = true;
fail:
    if (hint) dnnl_primitive_desc_destroy(hint);
    return st;
}

static ot_status_t *conv_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ot_shape_t y_shape;
    conv_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    const ot_tensor_t *dy = k->inputs[0], *x = k->inputs[1], *w = k->inputs[2];
    conv_state_t *cs = &s->cs;
    if ((st = conv_check(k->node, x, w, NULL, &cs->g, &y_shape))) goto fail;
    if (ot_shape_numel(&dy->shape) != ot_shape_numel(&y_shape) || dy->shape.rank != y_shape.rank) {
        st = OT_KERNEL_ERROR(k, "%s", "dY does not match the convolution's output shape");
        goto fail;
    }
    cs->n = x->shape.dims[0];
    cs->c = x->shape.dims[1];
    cs->m = w->shape.dims[0];
    cs->group = ot_attr_int(k->node, "group", 1);
    bool want_dx = k->outputs[0] != NULL, want_dw = k->n_outputs > 1 && k->outputs[1];
    /* dB comes with backward_weights; without dW it is a plain sum */
    cs->has_bias = want_dw && k->n_outputs > 2 && k->outputs[2];
    if (x->dtype == OT_DTYPE_FLOAT && (st = conv_grad_setup_dnnl(k, s, want_dx, want_dw))) goto fail;
    return NULL;
fail:
    conv_grad_release(k);
    return st;
}

/* Reference: dX plane by plane (scattering dY through W), dW and dB
 * output channel by output channel, accumulated in double where a sum has
 * one writer. */
#define CONV_GRAD_REF(T)                                                                                           \
    static void conv_grad_ref_##T(const conv_state_t *s, const T *dy, const T *x, const T *w, T *dx, T *dw, T *db) { \
        geom3_t q = geom3_of(&s->g);                                                                               \
        int64_t cg = s->c / s->group, mg = s->m / s->group;                                                        \
        int64_t in_sp = q.in[0] * q.in[1] * q.in[2], out_sp = q.out[0] * q.out[1] * q.out[2];                      \
        int64_t k_sp = q.k[0] * q.k[1] * q.k[2], work = s->n * s->m * out_sp * cg * k_sp;                         \
        if (dx) {                                                                                                  \
            _Pragma("omp parallel for if (work > 32768)") for (int64_t nc = 0; nc < s->n * s->c; nc++) {           \
                int64_t n = nc / s->c, c = nc % s->c, g = c / cg, cl = c % cg;                                     \
                T *dxp = dx + nc * in_sp;                                                                          \
                for (int64_t i = 0; i < in_sp; i++) dxp[i] = 0;                                                    \
                for (int64_t m = g * mg; m < (g + 1) * mg; m++) {                                                  \
                    const T *dyp = dy + (n * s->m + m) * out_sp, *wp = w + (m * cg + cl) * k_sp;                   \
                    for (int64_t o0 = 0; o0 < q.out[0]; o0++)                                                      \
                        for (int64_t o1 = 0; o1 < q.out[1]; o1++)                                                  \
                            for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                            \
                                T v = dyp[(o0 * q.out[1] + o1) * q.out[2] + o2];                                   \
                                for (int64_t k0 = 0; k0 < q.k[0]; k0++) {                                          \
                                    int64_t i0 = o0 * q.s[0] - q.p[0] + k0 * q.d[0];                               \
                                    if (i0 < 0 || i0 >= q.in[0]) continue;                                         \
                                    for (int64_t k1 = 0; k1 < q.k[1]; k1++) {                                      \
                                        int64_t i1 = o1 * q.s[1] - q.p[1] + k1 * q.d[1];                           \
                                        if (i1 < 0 || i1 >= q.in[1]) continue;                                     \
                                        for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                  \
                                            int64_t i2 = o2 * q.s[2] - q.p[2] + k2 * q.d[2];                       \
                                            if (i2 < 0 || i2 >= q.in[2]) continue;                                 \
                                            dxp[(i0 * q.in[1] + i1) * q.in[2] + i2] +=                             \
                                                v * wp[(k0 * q.k[1] + k1) * q.k[2] + k2];                          \
                                        }                                                                          \
                                    }                                                                              \
                                }                                                                                  \
                            }                                                                                      \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        if (!dw && !db) return;                                                                                    \
        _Pragma("omp parallel for if (work > 32768)") for (int64_t m = 0; m < s->m; m++) {                         \
            int64_t g = m / mg;                                                                                    \
            if (db) {                                                                                              \
                double acc = 0;                                                                                    \
                for (int64_t n = 0; n < s->n; n++)                                                                 \
                    for (int64_t o = 0; o < out_sp; o++) acc += (double)dy[(n * s->m + m) * out_sp + o];           \
                db[m] = (T)acc;                                                                                    \
            }                                                                                                      \
            if (!dw) continue;                                                                                     \
            for (int64_t cl = 0; cl < cg; cl++)                                                                    \
                for (int64_t k0 = 0; k0 < q.k[0]; k0++)                                                            \
                    for (int64_t k1 = 0; k1 < q.k[1]; k1++)                                                        \
                        for (int64_t k2 = 0; k2 < q.k[2]; k2++) {                                                  \
                            double acc = 0;                                                                        \
                            for (int64_t n = 0; n < s->n; n++) {                                                   \
                                const T *dyp = dy + (n * s->m + m) * out_sp;                                       \
                                const T *xp = x + (n * s->c + g * cg + cl) * in_sp;                                \
                                for (int64_t o0 = 0; o0 < q.out[0]; o0++) {                                        \
                                    int64_t i0 = o0 * q.s[0] - q.p[0] + k0 * q.d[0];                               \
                                    if (i0 < 0 || i0 >= q.in[0]) continue;                                         \
                                    for (int64_t o1 = 0; o1 < q.out[1]; o1++) {                                    \
                                        int64_t i1 = o1 * q.s[1] - q.p[1] + k1 * q.d[1];                           \
                                        if (i1 < 0 || i1 >= q.in[1]) continue;                                     \
                                        for (int64_t o2 = 0; o2 < q.out[2]; o2++) {                                \
                                            int64_t i2 = o2 * q.s[2] - q.p[2] + k2 * q.d[2];                       \
                                            if (i2 < 0 || i2 >= q.in[2]) continue;                                 \
                                            acc += (double)dyp[(o0 * q.out[1] + o1) * q.out[2] + o2] *             \
                                                   (double)xp[(i0 * q.in[1] + i1) * q.in[2] + i2];                 \
                                        }                                                                          \
                                    }                                                                              \
                                }                                                                                  \
                            }                                                                                      \
                            dw[(m * cg + cl) * k_sp + (k0 * q.k[1] + k1) * q.k[2] + k2] = (T)acc;                  \
                        }                                                                                          \
        }                                                                                                          \
    }
CONV_GRAD_REF(float)
CONV_GRAD_REF(double)

static ot_status_t *conv_grad_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    conv_grad_state_t *s = k->state;
    const void *dy = k->inputs[0]->data, *x = k->inputs[1]->data, *w = k->inputs[2]->data;
    void *dx = k->outputs[0] ? k->outputs[0]->data : NULL;
    void *dw = k->n_outputs > 1 && k->outputs[1] ? k->outputs[1]->data : NULL;
    void *db = k->n_outputs > 2 && k->outputs[2] ? k->outputs[2]->data : NULL;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) conv_grad_ref_float(&s->cs, dy, x, w, dx, dw, db);
        else conv_grad_ref_double(&s->cs, dy, x, w, dx, dw, db);
        return NULL;
    }
    if (s->bd.prim) OT_DNNL_TRY(ot_dnnl_prim_run(&s->bd, k->stream, (void *[]){(void *)dy, (void *)w, dx}));
    if (s->bw.prim) OT_DNNL_TRY(ot_dnnl_prim_run(&s->bw, k->stream, (void *[]){(void *)x, (void *)dy, dw, db}));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
    if (db && !s->cs.has_bias) conv_grad_ref_float(&s->cs, dy, x, w, NULL, NULL, db); /* dB without dW */
fail:
    return st;
}

const ot_op_def_t ot_op_ms_ConvGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "ConvGrad",
    .since_version = 1,
    .min_inputs = 3, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = conv_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = conv_grad_infer,
    .setup = conv_grad_setup,
    .run = conv_grad_run,
    .release = conv_grad_release,
    .doc = "dX, dW, dB of Conv from dY, X, W (ONNX Runtime ConvGrad)",
};
