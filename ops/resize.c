/* ops/resize.c: Resize (ONNX Resize-10/11/13) and its gradient
 * ai.onnxtrain::ResizeGrad (ONNX Runtime has no CPU ResizeGrad).
 *
 * Every output cell is a weighted sum of input cells, separable per axis:
 *   Y[o_0, ..., o_r] = sum over taps t_d of prod_d w_d(o_d, t_d) * X[i_d(o_d, t_d)...]
 * Per axis d the output coordinate o maps back to x = f(o) by
 * coordinate_transformation_mode (scale = out/in when `sizes` is given,
 * else the `scales` value; L = scale * in, as the ONNX reference does):
 *   half_pixel (default) (o + 0.5) / scale - 0.5
 *   pytorch_half_pixel   L > 1 ? (o + 0.5) / scale - 0.5 : -0.5
 *   align_corners        L == 1 ? 0 : o * (in - 1) / (L - 1)
 *   asymmetric           o / scale
 *   tf_half_pixel_for_nn (o + 0.5) / scale
 * then mode picks the taps, indices clamped to [0, in - 1] (edge padding):
 *   nearest  one tap: round_prefer_floor (default) / round_prefer_ceil /
 *            floor / ceil of x (an integral x is itself)
 *   linear   floor(x), floor(x) + 1 with weights 1 - r, r (r = x - floor x);
 *            on a 4-D (N, C, H, W) input with unit N, C scales this is
 *            bilinear
 *   cubic    floor(x) - 1 ... floor(x) + 2 with Keys' weights (cubic_coeff_a,
 *            default -0.75); exclude_outside drops taps outside the input and
 *            renormalizes
 * (ONNX operators.md and onnx/backend/test/case/node/resize.py.) Resize-10
 * has only `scales` and mode, asymmetric coordinates and floor for nearest.
 * Not supported (refused by name): tf_crop_and_resize (roi,
 * extrapolation_value), Resize-18's antialias / axes /
 * keep_aspect_ratio_policy (no record).
 * The output shape needs the values of `scales` / `sizes` at plan time:
 * constants, or int64 `sizes` fed as graph inputs (the planner keys small
 * int64 inputs); float `scales` fed as a graph input leave it unknown.
 *
 * Gradient: dX = the transpose of that linear map, ResizeGrad(dY, X_shape,
 * roi, scales, sizes) with the forward's attributes; X_shape = Shape(X) (folded
 * at plan time) gives dX's shape, roi/scales/sizes are the forward's inputs.
 * float32 linear resizing with half_pixel (or pytorch_half_pixel, every
 * output axis longer than 1) coordinates over the spatial axes of a 3-D to
 * 5-D input, whose scales equal out/in, runs on oneDNN resampling_linear
 * forward / backward (its coordinate rule is half_pixel with edge clamping).
 * The rest runs OpenMP loops over per-axis tap tables rebuilt (into buffers
 * allocated at setup) at every run, so changed `scales` values are honoured;
 * they accumulate in double. */
#include "ops/cnn_util.h"
#include "ops/grad_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static const ot_attr_spec_t resize10_attrs[] = {{"mode", OT_ATTR_STRING, false}, {NULL, OT_ATTR_UNDEFINED, false}};
static const ot_attr_spec_t resize11_attrs[] = {
    {"coordinate_transformation_mode", OT_ATTR_STRING, false},
    {"cubic_coeff_a", OT_ATTR_FLOAT, false},
    {"exclude_outside", OT_ATTR_INT, false},
    {"extrapolation_value", OT_ATTR_FLOAT, false},
    {"mode", OT_ATTR_STRING, false},
    {"nearest_mode", OT_ATTR_STRING, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } rs_mode_t;
typedef enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN } rs_coord_t;
typedef enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL } rs_nearest_t;

typedef struct rs_attrs {
    rs_mode_t mode;
    rs_coord_t coord;
    rs_nearest_t nearest;
    double cubic_a;
    bool exclude_outside;
    int taps; /* 1, 2 or 4 */
} rs_attrs_t;

static ot_status_t *rs_parse(const ot_node_info_t *node, rs_attrs_t *a) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nn"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    bool v10 = node->opset < 11 && strcmp(node->op_type, "Resize") == 0; /* ResizeGrad: opset 11 defaults */
    const char *m = ot_attr_string(node, "mode", "nearest");
    const char *c = ot_attr_string(node, "coordinate_transformation_mode", v10 ? "asymmetric" : "half_pixel");
    const char *n = ot_attr_string(node, "nearest_mode", v10 ? "floor" : "round_prefer_floor");
    int mi = -1, ci = -1, ni = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(m, modes[i]) == 0) mi = i;
    for (int i = 0; i < 5; i++)
        if (strcmp(c, coords[i]) == 0) ci = i;
    for (int i = 0; i < 4; i++)
        if (strcmp(n, nearests[i]) == 0) ni = i;
    if (mi < 0 || (v10 && mi == RS_CUBIC))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "mode '%s' is not one of nearest, linear%s", m,
                             v10 ? "" : ", cubic");
    if (ci < 0) {
        if (strcmp(c, "tf_crop_and_resize") == 0)
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%s", "coordinate_transformation_mode tf_crop_and_resize is not supported");
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "coordinate_transformation_mode '%s' is unknown", c);
    }
    if (ni < 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "nearest_mode '%s' is unknown", n);
    a->mode = (rs_mode_t)mi;
    a->coord = (rs_coord_t)ci;
    a->nearest = (rs_nearest_t)ni;
    a->cubic_a = ot_attr_float(node, "cubic_coeff_a", -0.75f);
    a->exclude_outside = ot_attr_int(node, "exclude_outside", 0) != 0;
    a->taps = mi == RS_NEAREST ? 1 : mi == RS_LINEAR ? 2 : 4;
    return NULL;
}

/* Whether optional input i is given (present and not an empty tensor). */
static bool given(int n_inputs, const ot_tensor_t *const *in, int i) {
    return i < n_inputs && in[i] && !(in[i]->shape.rank == 1 && in[i]->shape.dims[0] == 0);
}

/* Output dims from X's dims and scales (input si) or sizes (input zi);
 * scale[d] gets the per-axis scale (0 where unknown). Dims stay unknown
 * while the values are. */
static ot_status_t *rs_out_shape(const ot_node_info_t *node, int n_inputs, const ot_tensor_t *const *in,
                                 const ot_shape_t *x, ot_shape_t *out, double *scale) {
    char buf[128];
    int si = node->opset < 11 ? 1 : 2, zi = 3;
    bool has_s = given(n_inputs, in, si), has_z = node->opset >= 11 && given(n_inputs, in, zi);
    if (has_s == has_z)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s", "exactly one of scales and sizes must be given");
    const ot_tensor_t *t = in[has_s ? si : zi];
    if (has_s && t->dtype != OT_DTYPE_FLOAT)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "scales must be float32, got %s", ot_dtype_name(t->dtype));
    if (has_z && t->dtype != OT_DTYPE_INT64)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "sizes must be int64, got %s", ot_dtype_name(t->dtype));
    int rank = x->rank;
    if (rank < 0 && t->shape.rank == 1) rank = (int)t->shape.dims[0];
    if (rank < 0) {
        *out = ot_shape_unknown();
        return NULL;
    }
    if (t->shape.rank >= 0 && (t->shape.rank != 1 || (t->shape.dims[0] >= 0 && t->shape.dims[0] != rank)))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s %s must have one value per axis of X (%d)",
                             has_s ? "scales" : "sizes", ot_shape_str(&t->shape, buf, sizeof buf), rank);
    *out = ot_shape_make(rank, NULL);
    for (int d = 0; d < rank; d++) {
        out->dims[d] = -1;
        scale[d] = 0;
        int64_t xd = x->rank >= 0 ? x->dims[d] : -1;
        if (!t->data) continue;
        if (has_s) {
            double s = ((const float *)t->data)[d];
            if (!(s > 0)) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "scales[%d] = %g must be > 0", d, s);
            scale[d] = s;
            if (xd >= 0) out->dims[d] = (int64_t)floor((double)xd * s);
        } else {
            int64_t z = ((const int64_t *)t->data)[d];
            if (z < 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "sizes[%d] = %" PRId64 " is negative", d, z);
            out->dims[d] = z;
            if (xd > 0) scale[d] = (double)z / (double)xd;
        }
    }
    return NULL;
}

static ot_status_t *rs_infer(ot_infer_ctx_t *ctx) {
    rs_attrs_t a;
    double scale[OT_MAX_RANK];
    const ot_tensor_t *x = ctx->inputs[0];
    ot_status_t *st = rs_parse(ctx->node, &a);
    if (st) return st;
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(x->dtype));
    if ((st = rs_out_shape(ctx->node, ctx->n_inputs, ctx->inputs, &x->shape, &ctx->outputs[0]->shape, scale))) return st;
    ctx->outputs[0]->dtype = x->dtype;
    return NULL;
}

/* ---- tap tables and kernels ---------------------------------------------------- */

typedef struct rs_state {
    rs_attrs_t a;
    int rank;
    int64_t in[OT_MAX_RANK], out[OT_MAX_RANK];
    int64_t *idx[OT_MAX_RANK]; /* (out[d], taps): clamped input index */
    double *w[OT_MAX_RANK];    /* (out[d], taps): weight */
    bool trivial[OT_MAX_RANK]; /* in == out and every o reads only input o */
    int64_t planes;            /* product of the leading trivial axes (the gradient's parallel units) */
    int lead;                  /* number of those axes */
    bool use_dnnl;             /* a oneDNN primitive exists; used when the run's scales are out/in */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;     /* resampling forward (Resize) or backward (ResizeGrad) */
    dnnl_memory_t src, dst, scratch; /* src: X / dX, dst: Y / dY */
} rs_state_t;

static void rs_release(ot_kernel_t *k) {
    rs_state_t *s = k->state;
    if (!s) return;
    for (int d = 0; d < OT_MAX_RANK; d++) {
        free(s->idx[d]);
        free(s->w[d]);
    }
    dnnl_memory_t mems[3] = {s->src, s->dst, s->scratch};
    for (int i = 0; i < 3; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->pd) dnnl_primitive_desc_destroy(s->pd);
    free(s);
    k->state = NULL;
}

/* Keys' cubic convolution weights for the taps at distances 1 + r, r, 1 - r, 2 - r. */
static void cubic_weights(double r, double A, double *c) {
    double t[4] = {1 + r, r, 1 - r, 2 - r};
    for (int i = 0; i < 4; i++) {
        double x = t[i];
        c[i] = x <= 1 ? ((A + 2) * x - (A + 3)) * x * x + 1 : ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}

/* Fills the tables for scale[] (0 = use out/in). */
static void rs_tables(rs_state_t *s, const double *scale) {
    const rs_attrs_t *a = &s->a;
    int T = a->taps;
    for (int d = 0; d < s->rank; d++) {
        int64_t in = s->in[d], out = s->out[d];
        double sc = scale[d] > 0 ? scale[d] : in > 0 ? (double)out / (double)in : 1;
        double len = sc * (double)in;
        bool trivial = in == out;
        for (int64_t o = 0; o < out; o++) {
            double x;
            switch (a->coord) {
            case CT_PYTORCH_HALF_PIXEL: x = len > 1 ? ((double)o + 0.5) / sc - 0.5 : -0.5; break;
            case CT_ALIGN_CORNERS: x = len == 1 ? 0 : (double)o * (double)(in - 1) / (len - 1); break;
            case CT_ASYMMETRIC: x = (double)o / sc; break;
            case CT_TF_HALF_PIXEL_FOR_NN: x = ((double)o + 0.5) / sc; break;
            default: x = ((double)o + 0.5) / sc - 0.5; break;
            }
            double fl = floor(x), r = x - fl;
            int64_t *ix = s->idx[d] + o * T;
            double *w = s->w[d] + o * T;
            if (a->mode == RS_NEAREST) {
                int64_t i = (int64_t)fl;
                if (r > 0) {
                    bool up = a->nearest == NM_CEIL || (a->nearest == NM_ROUND_PREFER_FLOOR && r > 0.5) ||
                              (a->nearest == NM_ROUND_PREFER_CEIL && r >= 0.5);
                    i += up;
                }
                ix[0] = i;
                w[0] = 1;
            } else if (a->mode == RS_LINEAR) {
                ix[0] = (int64_t)fl, ix[1] = (int64_t)fl + 1;
                w[0] = 1 - r, w[1] = r;
            } else {
                cubic_weights(r, a->cubic_a, w);
                for (int t = 0; t < 4; t++) ix[t] = (int64_t)fl - 1 + t;
                if (a->exclude_outside) {
                    double sum = 0;
                    for (int t = 0; t < 4; t++) {
                        if (ix[t] < 0 || ix[t] >= in) w[t] = 0;
                        sum += w[t];
                    }
                    for (int t = 0; t < 4; t++) w[t] = sum != 0 ? w[t] / sum : 0;
                }
            }
            for (int t = 0; t < T; t++) {
                ix[t] = ix[t] < 0 ? 0 : ix[t] >= in ? in - 1 : ix[t];
                if (w[t] != 0 && (ix[t] != o || w[t] != 1)) trivial = false;
            }
        }
        s->trivial[d] = trivial && in > 0;
    }
    s->planes = 1;
    s->lead = 0;
    while (s->lead < s->rank - 1 && s->trivial[s->lead]) s->planes *= s->in[s->lead++];
}

/* Iterates the taps of output cell (coordinates oc[]): calls BODY with the
 * input offset `off` and weight `wt`. Trivial axes contribute their own
 * index; the others every tap with a non-zero weight. */
#define RS_FOR_TAPS(s, oc, xstr, BODY)                                                                             \
    do {                                                                                                           \
        int T_ = (s)->a.taps, act_[OT_MAX_RANK], na_ = 0;                                                         \
        int64_t base_ = 0;                                                                                         \
        for (int d_ = 0; d_ < (s)->rank; d_++) {                                                                   \
            if ((s)->trivial[d_]) base_ += oc[d_] * xstr[d_];                                                      \
            else act_[na_++] = d_;                                                                                 \
        }                                                                                                          \
        int64_t combos_ = 1;                                                                                       \
        for (int j_ = 0; j_ < na_; j_++) combos_ *= T_;                                                            \
        for (int64_t cb_ = 0; cb_ < combos_; cb_++) {                                                              \
            int64_t rest_ = cb_, off = base_;                                                                      \
            double wt = 1;                                                                                         \
            for (int j_ = 0; j_ < na_ && wt != 0; j_++) {                                                          \
                int d_ = act_[j_], t_ = (int)(rest_ % T_);                                                         \
                rest_ /= T_;                                                                                       \
                wt *= (s)->w[d_][oc[d_] * T_ + t_];                                                                \
                off += (s)->idx[d_][oc[d_] * T_ + t_] * xstr[d_];                                                  \
            }                                                                                                      \
            if (wt != 0) BODY;                                                                                     \
        }                                                                                                          \
    } while (0)

static void strides_of(const int64_t *dims, int rank, int64_t *st) {
    int64_t acc = 1;
    for (int d = rank - 1; d >= 0; d--) {
        st[d] = acc;
        acc *= dims[d];
    }
}

#define RS_FWD(T)                                                                                                  \
    static void rs_fwd_##T(const rs_state_t *s, const T *x, T *y) {                                               \
        int64_t xs[OT_MAX_RANK], n = 1;                                                                            \
        strides_of(s->in, s->rank, xs);                                                                            \
        for (int d = 0; d < s->rank; d++) n *= s->out[d];                                                          \
        _Pragma("omp parallel for if (n > 16384)") for (int64_t f = 0; f < n; f++) {                              \
            int64_t oc[OT_MAX_RANK], r = f;                                                                        \
            for (int d = s->rank - 1; d >= 0; d--) {                                                               \
                oc[d] = r % s->out[d];                                                                             \
                r /= s->out[d];                                                                                    \
            }                                                                                                      \
            double acc = 0;                                                                                        \
            RS_FOR_TAPS(s, oc, xs, acc += wt * (double)x[off]);                                                    \
            y[f] = (T)acc;                                                                                         \
        }                                                                                                          \
    }
RS_FWD(float)
RS_FWD(double)

/* Transpose: scatter each dY cell to its taps. The leading trivial axes
 * split X and Y into independent planes, processed in parallel. */
#define RS_BWD(T)                                                                                                  \
    static void rs_bwd_##T(const rs_state_t *s, const T *dy, T *dx) {                                             \
        int64_t xs[OT_MAX_RANK], in_pl = 1, out_pl = 1;                                                            \
        strides_of(s->in, s->rank, xs);                                                                            \
        for (int d = s->lead; d < s->rank; d++) in_pl *= s->in[d], out_pl *= s->out[d];                            \
        _Pragma("omp parallel for if (s->planes * out_pl > 16384)") for (int64_t p = 0; p < s->planes; p++) {    \
            T *dxp = dx + p * in_pl;                                                                               \
            for (int64_t i = 0; i < in_pl; i++) dxp[i] = 0;                                                        \
            for (int64_t f = p * out_pl; f < (p + 1) * out_pl; f++) {                                              \
                int64_t oc[OT_MAX_RANK], r = f;                                                                    \
                for (int d = s->rank - 1; d >= 0; d--) {                                                           \
                    oc[d] = r % s->out[d];                                                                         \
                    r /= s->out[d];                                                                                \
                }                                                                                                  \
                double g = (double)dy[f];                                                                          \
                RS_FOR_TAPS(s, oc, xs, dx[off] += (T)(wt * g));                                                    \
            }                                                                                                      \
        }                                                                                                          \
    }
RS_BWD(float)
RS_BWD(double)

/* in/out: the forward's X and Y shapes (for the gradient: dX and dY). */
/* oneDNN resampling_linear where its coordinate rule is the node's (see the
 * header); factors default to out/in, so runs use it only when the scales
 * are exactly that. */
static ot_status_t *rs_setup_dnnl(ot_kernel_t *k, rs_state_t *s, const ot_shape_t *in, const ot_shape_t *out,
                                  bool backward) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t hint = NULL;
    bool ok = s->a.mode == RS_LINEAR && (s->a.coord == CT_HALF_PIXEL || s->a.coord == CT_PYTORCH_HALF_PIXEL) &&
              s->rank >= 3 && s->rank <= 5 && s->in[0] == s->out[0] && s->in[1] == s->out[1];
    for (int d = 2; ok && d < s->rank; d++)
        ok = s->in[d] > 0 && s->out[d] > (s->a.coord == CT_PYTORCH_HALF_PIXEL ? 1 : 0);
    if (!ok) return NULL;
    dnnl_memory_desc_t src_md, dst_md;
    OT_DNNL_TRY(ot_dnnl_md_plain(&src_md, in, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&dst_md, out, dnnl_f32));
    dnnl_resampling_desc_t fdesc, bdesc;
    OT_DNNL_TRY(dnnl_resampling_forward_desc_init(&fdesc, backward ? dnnl_forward_training : dnnl_forward_inference,
                                                  dnnl_resampling_linear, NULL, &src_md, &dst_md));
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    dnnl_status_t ds;
    if (backward) {
        ds = dnnl_primitive_desc_create(&hint, &fdesc, NULL, k->engine, NULL);
        if (ds == dnnl_unimplemented) goto fail;
        OT_DNNL_TRY(ds);
        OT_DNNL_TRY(dnnl_resampling_backward_desc_init(&bdesc, dnnl_resampling_linear, NULL, &src_md, &dst_md));
        ds = dnnl_primitive_desc_create(&s->pd, &bdesc, attr, k->engine, hint);
    } else {
        ds = dnnl_primitive_desc_create(&s->pd, &fdesc, attr, k->engine, NULL);
    }
    if (ds == dnnl_unimplemented) {
        s->pd = NULL;
        goto fail;
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, s->pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &src_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &dst_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->pd, k->engine));
    s->use_dnnl = true;
fail:
    if (hint) dnnl_primitive_desc_destroy(hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* Whether this run's scales are out/in on every axis (oneDNN's factors). */
static bool rs_dnnl_applies(const rs_state_t *s, const double *scale) {
    if (!s->use_dnnl) return false;
    for (int d = 0; d < s->rank; d++)
        if (scale[d] != 0 && scale[d] != (double)s->out[d] / (double)s->in[d]) return false;
    return true;
}

/* Runs the oneDNN primitive: x_side = X / dX, y_side = Y / dY. */
static ot_status_t *rs_run_dnnl(ot_kernel_t *k, rs_state_t *s, void *x_side, void *y_side, bool backward) {
    ot_status_t *st = NULL;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, x_side));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y_side));
    dnnl_exec_arg_t args[3] = {{backward ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC, s->src},
                               {backward ? DNNL_ARG_DIFF_DST : DNNL_ARG_DST, s->dst}};
    int nargs = 2;
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, k->stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
fail:
    return st;
}

static ot_status_t *rs_setup_common(ot_kernel_t *k, const ot_shape_t *in, const ot_shape_t *out, bool backward) {
    rs_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    ot_status_t *st = rs_parse(k->node, &s->a);
    if (st) goto fail;
    if (in->rank != out->rank) {
        st = OT_KERNEL_ERROR(k, "%s", "input and output ranks differ");
        goto fail;
    }
    s->rank = in->rank;
    for (int d = 0; d < s->rank; d++) {
        s->in[d] = in->dims[d];
        s->out[d] = out->dims[d];
        if (s->in[d] == 0 && s->out[d] > 0) {
            st = OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "axis %d: cannot resize an empty axis to %" PRId64, d,
                               s->out[d]);
            goto fail;
        }
        size_t n = (size_t)(s->out[d] > 0 ? s->out[d] : 1) * (size_t)s->a.taps;
        if (!(s->idx[d] = malloc(n * sizeof(int64_t))) || !(s->w[d] = malloc(n * sizeof(double)))) {
            st = OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
            goto fail;
        }
    }
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT && (st = rs_setup_dnnl(k, s, in, out, backward))) goto fail;
    return NULL;
fail:
    rs_release(k);
    return st;
}

static ot_status_t *rs_setup(ot_kernel_t *k) {
    return rs_setup_common(k, &k->inputs[0]->shape, &k->outputs[0]->shape, false);
}

/* The per-axis scales as the forward sees them (0: out/in). */
static void rs_run_scales(const ot_kernel_t *k, int si, double *scale) {
    for (int d = 0; d < OT_MAX_RANK; d++) scale[d] = 0;
    if (given(k->n_inputs, (const ot_tensor_t *const *)k->inputs, si) && k->inputs[si]->data)
        for (int64_t d = 0; d < ot_shape_numel(&k->inputs[si]->shape) && d < OT_MAX_RANK; d++)
            scale[d] = ((const float *)k->inputs[si]->data)[d];
}

static ot_status_t *rs_run(ot_kernel_t *k) {
    rs_state_t *s = k->state;
    double scale[OT_MAX_RANK];
    rs_run_scales(k, k->node->opset < 11 ? 1 : 2, scale);
    if (rs_dnnl_applies(s, scale)) return rs_run_dnnl(k, s, k->inputs[0]->data, k->outputs[0]->data, false);
    rs_tables(s, scale);
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) rs_fwd_float(s, k->inputs[0]->data, k->outputs[0]->data);
    else rs_fwd_double(s, k->inputs[0]->data, k->outputs[0]->data);
    return NULL;
}

static ot_status_t *rs_gradient(ot_grad_ctx_t *ctx);

#define RS_RECORD(sym, since, nin_min, nin_max, attr_table)                                                      \
    const ot_op_def_t sym = {                                                                                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                                      \
        .domain = "",                                                                                              \
        .op_type = "Resize",                                                                                       \
        .since_version = since,                                                                                    \
        .min_inputs = nin_min, .max_inputs = nin_max,                                                              \
        .min_outputs = 1, .max_outputs = 1,                                                                        \
        .attrs = attr_table,                                                                                       \
        .infer = rs_infer,                                                                                         \
        .setup = rs_setup,                                                                                         \
        .run = rs_run,                                                                                             \
        .release = rs_release,                                                                                     \
        .flags = OT_OP_ONEDNN,                                                                                     \
        .gradient = rs_gradient,                                                                                   \
        .doc = "Y = separable nearest / linear / cubic interpolation of X (ONNX Resize)",                         \
    };

RS_RECORD(ot_op_Resize_10, 10, 2, 2, resize10_attrs)
RS_RECORD(ot_op_Resize_11, 11, 3, 4, resize11_attrs)
RS_RECORD(ot_op_Resize_13, 13, 1, 4, resize11_attrs)

/* ---- gradient ------------------------------------------------------------------ */

/* dX = ResizeGrad(dY, Shape(X), roi, scales, sizes), the forward's
 * attributes and opset semantics (Resize-10's scales become input 3). */
static ot_status_t *rs_gradient(ot_grad_ctx_t *ctx) {
    int in[5] = {ctx->doutputs[0], -1, -1, -1, -1};
    for (int i = 1; i < ctx->n_inputs && i < 4; i++) {
        if (i > 0 && ctx->needs[i])
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "%s", "gradient with respect to roi / scales is not defined");
        int slot = ctx->node->opset < 11 ? 3 : i + 1; /* Resize-10: (X, scales) */
        in[slot] = ctx->inputs[i];
    }
    ot_status_t *st = ot_grad_op1(ctx, "", "Shape", ctx->inputs[0], &in[1]);
    if (st) return st;
    /* Resize-10's defaults differ: spell them out for the grad op */
    ot_attr_t attrs[8];
    int n = 0;
    const char *mode = ot_attr_string(ctx->node, "mode", "nearest");
    if (ctx->node->opset < 11) {
        attrs[n++] = (ot_attr_t){.name = "mode", .type = OT_ATTR_STRING, .s = mode, .s_len = strlen(mode)};
        attrs[n++] = (ot_attr_t){.name = "coordinate_transformation_mode", .type = OT_ATTR_STRING, .s = "asymmetric",
                                 .s_len = 10};
        attrs[n++] = (ot_attr_t){.name = "nearest_mode", .type = OT_ATTR_STRING, .s = "floor", .s_len = 5};
    } else {
        for (int i = 0; i < ctx->node->n_attrs && n < 8; i++) attrs[n++] = ctx->node->attrs[i];
    }
    return ot_grad_emit(ctx, OT_DOMAIN, "ResizeGrad", 5, in, 1, &ctx->dinputs[0], n, attrs);
}

static ot_status_t *rs_grad_infer(ot_infer_ctx_t *ctx) {
    char buf1[128], buf2[128];
    rs_attrs_t a;
    double scale[OT_MAX_RANK];
    const ot_tensor_t *dy = ctx->inputs[0], *xs = ctx->inputs[1];
    ot_status_t *st = rs_parse(ctx->node, &a);
    if (st) return st;
    if (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dY dtype %s not supported", ot_dtype_name(dy->dtype));
    if (xs->dtype != OT_DTYPE_INT64 || (xs->shape.rank >= 0 && xs->shape.rank != 1))
        return OT_INFER_ERROR(ctx, "X_shape must be a 1-D int64 tensor, got %s %s", ot_dtype_name(xs->dtype),
                              ot_shape_str(&xs->shape, buf1, sizeof buf1));
    ot_shape_t x = ot_shape_unknown();
    int64_t vals[OT_MAX_RANK];
    int64_t n = xs->data ? ot_tensor_read_ints(xs, vals, OT_MAX_RANK) : -1;
    int rank = (int)(n >= 0 ? n : xs->shape.rank == 1 ? xs->shape.dims[0] : dy->shape.rank);
    if (rank > OT_MAX_RANK) return OT_INFER_ERROR(ctx, "X_shape has %d values", rank);
    if (rank >= 0) {
        x = ot_shape_make(rank, NULL);
        for (int d = 0; d < rank; d++) x.dims[d] = n >= 0 ? vals[d] : -1;
    }
    /* dY must be the forward's output for X: the forward's rule, opset 11 style (inputs 2, 3) */
    const ot_tensor_t *fin[4] = {NULL, NULL, NULL, NULL};
    for (int i = 2; i < ctx->n_inputs && i < 5; i++) fin[i - 1] = ctx->inputs[i];
    ot_node_info_t fnode = *ctx->node;
    fnode.opset = 13;
    ot_shape_t y;
    if ((st = rs_out_shape(&fnode, 4, fin, &x, &y, scale))) return st;
    bool ok = y.rank < 0 || dy->shape.rank < 0 || y.rank == dy->shape.rank;
    for (int d = 0; ok && y.rank >= 0 && d < y.rank; d++)
        ok = y.dims[d] < 0 || dy->shape.dims[d] < 0 || y.dims[d] == dy->shape.dims[d];
    if (!ok)
        return OT_INFER_ERROR(ctx, "dY %s is not the resized shape %s", ot_shape_str(&dy->shape, buf1, sizeof buf1),
                              ot_shape_str(&y, buf2, sizeof buf2));
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = x;
    return NULL;
}

static ot_status_t *rs_grad_setup(ot_kernel_t *k) {
    return rs_setup_common(k, &k->outputs[0]->shape, &k->inputs[0]->shape, true);
}

static ot_status_t *rs_grad_run(ot_kernel_t *k) {
    rs_state_t *s = k->state;
    double scale[OT_MAX_RANK];
    rs_run_scales(k, 3, scale);
    if (rs_dnnl_applies(s, scale)) return rs_run_dnnl(k, s, k->outputs[0]->data, k->inputs[0]->data, true);
    rs_tables(s, scale);
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) rs_bwd_float(s, k->inputs[0]->data, k->outputs[0]->data);
    else rs_bwd_double(s, k->inputs[0]->data, k->outputs[0]->data);
    return NULL;
}

const ot_op_def_t ot_op_ot_ResizeGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "ResizeGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 5,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = resize11_attrs,
    .infer = rs_grad_infer,
    .setup = rs_grad_setup,
    .run = rs_grad_run,
    .release = rs_release,
    .flags = OT_OP_ONEDNN,
    .doc = "dX = transpose of Resize's interpolation applied to dY (inputs dY, X_shape, roi, scales, sizes)",
};
