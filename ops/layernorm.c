/* ops/layernorm.c: LayerNormalization (ONNX LayerNormalization-17) and its
 * gradient com.microsoft::LayerNormalizationGrad (ONNX Runtime's training
 * op: Y_grad, X, scale, mean, inv_std_var -> X_grad, scale_grad, bias_grad).
 *
 * X is viewed as (rows, D) with D = prod(X.dims[axis:]); per row
 *   mean = sum(x) / D,  var = sum((x - mean)^2) / D,  isd = 1 / sqrt(var + epsilon)
 *   Y = (x - mean) * isd * scale + B
 * Mean and InvStdDev (optional outputs) have X.dims[:axis] followed by
 * ones, in the dtype `stash_type` (1: float, 11: double).
 * Backward, with xhat = (x - mean) * isd and g = dY * scale (per row):
 *   dX = isd * (g - mean(g) - xhat * mean(g * xhat)),
 *   dscale = sum_rows(dY * xhat),  dB = sum_rows(dY)
 * (e.g. llm.c layernorm_backward; ORT's LayerNormalizationGrad).
 *
 * Kernels: float32 X with float stash runs on oneDNN layer_normalization
 * (forward_training, and backward with the forward's primitive descriptor
 * as hint) over the 2-D view; it works with mean and variance, so the
 * forward turns variance into InvStdDev and the backward turns InvStdDev
 * back into variance (1/isd^2 - epsilon). float64, stash_type 11 and
 * anything oneDNN declines run the reference loops, which accumulate in
 * double; the backward's column sums (dscale, dB) are parallel over columns,
 * so results do not depend on the thread count.
 *
 * Scale and B must hold exactly the normalized dims (X.dims[axis:], leading
 * ones allowed); other broadcasts are refused as unsupported. The gradient
 * rule reads Mean and InvStdDev, which it makes the forward node produce
 * (ot_grad_forward_output) when the model did not ask for them; gradients
 * flowing into Mean or InvStdDev themselves are refused. */
#include "ops/cnn_util.h"
#include "ops/shape_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static const ot_attr_spec_t ln_attrs[] = {
    {"axis", OT_ATTR_INT, false}, {"epsilon", OT_ATTR_FLOAT, false}, {"stash_type", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static bool is_real(ot_dtype_t dt) { return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE; }

/* Whether parameter p holds exactly the normalized dims dims[ax:] of x
 * (right-aligned; p's extra leading dims must be 1). Unknown dims pass. */
static bool param_fits(const ot_shape_t *p, const ot_shape_t *x, int ax) {
    if (p->rank < 0 || x->rank < 0) return true;
    int nd = x->rank - ax;
    for (int i = 0; i < p->rank || i < nd; i++) {
        int64_t pd = i < p->rank ? p->dims[p->rank - 1 - i] : 1;
        int64_t xd = i < nd ? x->dims[x->rank - 1 - i] : 1;
        if (pd >= 0 && xd >= 0 && pd != xd) return false;
    }
    return true;
}

/* Checks X, scale, B and the attributes; *ax is the normalized axis. */
static ot_status_t *ln_check(const ot_node_info_t *node, const ot_tensor_t *x, const ot_tensor_t *scale,
                             const ot_tensor_t *bias, int *ax) {
    char b1[128], b2[128];
    if (!is_real(x->dtype))
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "X dtype %s not supported", ot_dtype_name(x->dtype));
    int64_t stash = ot_attr_int(node, "stash_type", 1);
    if (stash != OT_DTYPE_FLOAT && stash != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "stash_type %" PRId64 " not supported (1: float, 11: double)",
                             stash);
    float eps = ot_attr_float(node, "epsilon", 1e-5f);
    if (!(eps >= 0.f)) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "epsilon = %g must be >= 0", (double)eps);
    *ax = 0;
    int64_t axis = ot_attr_int(node, "axis", -1);
    if (x->shape.rank >= 0) {
        if (x->shape.rank == 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X must have rank >= 1");
        if (!ot_norm_axis(axis, x->shape.rank, ax))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "axis %" PRId64 " out of range for rank %d", axis,
                                 x->shape.rank);
    }
    const ot_tensor_t *params[2] = {scale, bias};
    const char *names[2] = {"Scale", "B"};
    for (int i = 0; i < 2; i++) {
        const ot_tensor_t *p = params[i];
        if (!p) continue;
        if (p->dtype != x->dtype)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s dtype %s differs from X's %s", names[i],
                                 ot_dtype_name(p->dtype), ot_dtype_name(x->dtype));
        if (!param_fits(&p->shape, &x->shape, *ax))
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%s %s must have the normalized dims of X %s from axis %d",
                                 names[i], ot_shape_str(&p->shape, b1, sizeof b1), ot_shape_str(&x->shape, b2, sizeof b2),
                                 *ax);
    }
    return NULL;
}

/* X.dims[:ax] followed by ones: the shape of Mean and InvStdDev. */
static ot_shape_t stat_shape(const ot_shape_t *x, int ax) {
    if (x->rank < 0) return ot_shape_unknown();
    ot_shape_t s = ot_shape_make(x->rank, NULL);
    for (int d = 0; d < x->rank; d++) s.dims[d] = d < ax ? x->dims[d] : 1;
    return s;
}

static ot_status_t *ln_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *bias = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    int ax;
    ot_status_t *st = ln_check(ctx->node, x, ctx->inputs[1], bias, &ax);
    if (st) return st;
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    ot_dtype_t stash = (ot_dtype_t)ot_attr_int(ctx->node, "stash_type", 1);
    for (int o = 1; o < ctx->n_outputs && o < 3; o++) {
        if (!ctx->outputs[o]) continue;
        ctx->outputs[o]->dtype = stash;
        ctx->outputs[o]->shape = stat_shape(&x->shape, ax);
    }
    return NULL;
}

/* ---- shared kernel state ------------------------------------------------- */

typedef struct ln_state {
    int64_t rows, cols;
    double eps;
    bool use_dnnl;
    dnnl_primitive_desc_t fwd_pd, pd; /* pd: the primitive run (fwd_pd for the forward) */
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst, diff_dst, diff_src, scale, shift, diff_scale, diff_shift, mean, var, scratch;
    float *mean_buf, *var_buf; /* (rows) */
    float *dw_buf;             /* (3, cols): dscale/dB when the backward's output is not requested; zero shift */
} ln_state_t;

static void ln_release(ot_kernel_t *k) {
    ln_state_t *s = k->state;
    if (!s) return;
    dnnl_memory_t mems[] = {s->src,        s->dst,        s->diff_dst, s->diff_src, s->scale,  s->shift,
                            s->diff_scale, s->diff_shift, s->mean,     s->var,      s->scratch};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->pd && s->pd != s->fwd_pd) dnnl_primitive_desc_destroy(s->pd);
    if (s->fwd_pd) dnnl_primitive_desc_destroy(s->fwd_pd);
    free(s->mean_buf);
    free(s->var_buf);
    free(s->dw_buf);
    free(s);
    k->state = NULL;
}

/* (rows, D) from X's shape and the axis. */
static void ln_dims(const ot_node_info_t *node, const ot_shape_t *x, ln_state_t *s) {
    int ax;
    bool ok = ot_norm_axis(ot_attr_int(node, "axis", -1), x->rank, &ax);
    OT_ASSERT(ok && "axis checked in infer");
    s->rows = 1;
    s->cols = 1;
    for (int d = 0; d < x->rank; d++) *(d < ax ? &s->rows : &s->cols) *= x->dims[d];
    s->eps = ot_attr_float(node, "epsilon", 1e-5f);
}

/* The forward primitive descriptor over (rows, cols) (also the backward's
 * hint). Leaves *pd NULL when oneDNN declines (the reference runs). */
static ot_status_t *ln_fwd_pd(ot_kernel_t *k, ln_state_t *s, unsigned flags, dnnl_primitive_attr_t attr,
                              dnnl_memory_desc_t *data_md, dnnl_memory_desc_t *stat_md) {
    ot_status_t *st = NULL;
    int64_t dims[2] = {s->rows, s->cols};
    OT_DNNL_TRY(ot_dnnl_md_dims(data_md, 2, dims, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(stat_md, 1, dims, dnnl_f32));
    dnnl_layer_normalization_desc_t desc;
    OT_DNNL_TRY(dnnl_layer_normalization_forward_desc_init(&desc, dnnl_forward_training, data_md, stat_md,
                                                           (float)s->eps, flags));
    dnnl_status_t ds = dnnl_primitive_desc_create(&s->fwd_pd, &desc, attr, k->engine, NULL);
    if (ds == dnnl_unimplemented) s->fwd_pd = NULL;
    else OT_DNNL_TRY(ds);
fail:
    return st;
}

/* ---- forward ------------------------------------------------------------- */

static ot_status_t *ln_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    ln_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    const ot_tensor_t *x = k->inputs[0], *bias = k->n_inputs > 2 ? k->inputs[2] : NULL;
    ln_dims(k->node, &x->shape, s);
    bool f32 = x->dtype == OT_DTYPE_FLOAT && ot_attr_int(k->node, "stash_type", 1) == OT_DTYPE_FLOAT;
    if (!f32 || s->rows == 0 || s->cols == 0) return NULL;
    s->mean_buf = malloc(sizeof(float) * (size_t)s->rows);
    s->var_buf = malloc(sizeof(float) * (size_t)s->rows);
    if (!s->mean_buf || !s->var_buf) {
        st = OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    dnnl_memory_desc_t data_md, stat_md;
    unsigned flags = dnnl_use_scale | (bias ? dnnl_use_shift : 0u);
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    if ((st = ln_fwd_pd(k, s, flags, attr, &data_md, &stat_md)) || !s->fwd_pd) goto fail;
    s->pd = s->fwd_pd;
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(s->pd, dnnl_query_weights_md, 0);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, s->pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &data_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &data_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->scale, w_md, k->engine, DNNL_MEMORY_NONE));
    if (bias) OT_DNNL_TRY(dnnl_memory_create(&s->shift, w_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->mean, &stat_md, k->engine, s->mean_buf));
    OT_DNNL_TRY(dnnl_memory_create(&s->var, &stat_md, k->engine, s->var_buf));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->pd, k->engine));
    s->use_dnnl = true;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) ln_release(k);
    return st;
}

static inline double ln_get(const void *p, ot_dtype_t dt, int64_t i) {
    return dt == OT_DTYPE_FLOAT ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void ln_put(void *p, ot_dtype_t dt, int64_t i, double v) {
    if (dt == OT_DTYPE_FLOAT) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

/* Reference forward: one row per iteration, statistics in double. */
static void ln_ref_forward(const ln_state_t *s, ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0], *scale = k->inputs[1];
    const ot_tensor_t *bias = k->n_inputs > 2 ? k->inputs[2] : NULL;
    ot_tensor_t *y = k->outputs[0];
    ot_tensor_t *mo = k->n_outputs > 1 ? k->outputs[1] : NULL, *io = k->n_outputs > 2 ? k->outputs[2] : NULL;
    int64_t rows = s->rows, cols = s->cols;
    ot_dtype_t dt = x->dtype;
    OT_SHAPE_PARALLEL_FOR(rows * cols > 65536, r, rows, {
        int64_t base = r * cols;
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < cols; j++) sum += ln_get(x->data, dt, base + j);
        double mean = cols ? sum / (double)cols : 0;
        for (int64_t j = 0; j < cols; j++) {
            double d = ln_get(x->data, dt, base + j) - mean;
            sq += d * d;
        }
        double isd = 1.0 / sqrt((cols ? sq / (double)cols : 0) + s->eps);
        for (int64_t j = 0; j < cols; j++) {
            double v = (ln_get(x->data, dt, base + j) - mean) * isd * ln_get(scale->data, dt, j);
            if (bias) v += ln_get(bias->data, dt, j);
            ln_put(y->data, dt, base + j, v);
        }
        if (mo) ln_put(mo->data, mo->dtype, r, mean);
        if (io) ln_put(io->data, io->dtype, r, isd);
    });
}

static ot_status_t *ln_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ln_state_t *s = k->state;
    if (!s->use_dnnl) {
        ln_ref_forward(s, k);
        return NULL;
    }
    const ot_tensor_t *bias = k->n_inputs > 2 ? k->inputs[2] : NULL;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, k->outputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->scale, k->inputs[1]->data));
    dnnl_exec_arg_t args[8] = {{DNNL_ARG_SRC, s->src},
                               {DNNL_ARG_DST, s->dst},
                               {DNNL_ARG_SCALE, s->scale},
                               {DNNL_ARG_MEAN, s->mean},
                               {DNNL_ARG_VARIANCE, s->var}};
    int nargs = 5;
    if (bias) {
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->shift, bias->data));
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, s->shift};
    }
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, k->stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
    ot_tensor_t *mo = k->n_outputs > 1 ? k->outputs[1] : NULL, *io = k->n_outputs > 2 ? k->outputs[2] : NULL;
    if (mo) memcpy(mo->data, s->mean_buf, sizeof(float) * (size_t)s->rows);
    if (io) {
        float *isd = io->data, eps = (float)s->eps;
        for (int64_t r = 0; r < s->rows; r++) isd[r] = 1.0f / sqrtf(s->var_buf[r] + eps);
    }
fail:
    return st;
}

static ot_status_t *ln_gradient(ot_grad_ctx_t *ctx) {
    for (int o = 1; o < ctx->n_outputs; o++)
        if (ctx->doutputs[o] >= 0)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED,
                                 "gradients through output %d (Mean/InvStdDev) are not implemented", o);
    if (ctx->doutputs[0] < 0) return NULL;
    int mean, isd, out[3];
    ot_status_t *st = ot_grad_forward_output(ctx, 1, &mean);
    if (!st) st = ot_grad_forward_output(ctx, 2, &isd);
    if (st) return st;
    int in[5] = {ctx->doutputs[0], ctx->inputs[0], ctx->inputs[1], mean, isd};
    ot_attr_t attrs[2] = {
        {.name = "axis", .type = OT_ATTR_INT, .i = ot_attr_int(ctx->node, "axis", -1)},
        {.name = "epsilon", .type = OT_ATTR_FLOAT, .f = ot_attr_float(ctx->node, "epsilon", 1e-5f)},
    };
    if ((st = ot_grad_emit(ctx, "com.microsoft", "LayerNormalizationGrad", 5, in, 3, out, 2, attrs))) return st;
    ctx->dinputs[0] = out[0];
    ctx->dinputs[1] = out[1];
    if (ctx->n_inputs > 2 && ctx->inputs[2] >= 0) {
        /* bias_grad has Scale's shape; B may differ in leading ones */
        const ot_tensor_t *bt = ctx->input_types[2], *stt = ctx->input_types[1];
        if (bt->shape.rank == stt->shape.rank) {
            ctx->dinputs[2] = out[2];
        } else {
            int shape;
            st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[2], 1, &shape, 0, NULL);
            int rin[2] = {out[2], shape};
            if (!st) st = ot_grad_emit(ctx, "", "Reshape", 2, rin, 1, &ctx->dinputs[2], 0, NULL);
        }
    }
    return st;
}

const ot_op_def_t ot_op_LayerNormalization_17 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "LayerNormalization",
    .since_version = 17,
    .min_inputs = 2, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = ln_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = ln_infer,
    .setup = ln_setup,
    .run = ln_run,
    .release = ln_release,
    .gradient = ln_gradient,
    .doc = "Y = (X - mean) / sqrt(var + epsilon) * Scale + B over X.dims[axis:]",
};

/* ---- com.microsoft::LayerNormalizationGrad --------------------------------- */

static ot_status_t *lng_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1], *scale = ctx->inputs[2];
    const ot_tensor_t *mean = ctx->inputs[3], *isd = ctx->inputs[4];
    char b1[128], b2[128];
    int ax;
    ot_status_t *st = ln_check(ctx->node, x, scale, NULL, &ax);
    if (st) return st;
    if (dy->dtype != x->dtype)
        return OT_INFER_ERROR(ctx, "Y_grad dtype %s differs from X's %s", ot_dtype_name(dy->dtype), ot_dtype_name(x->dtype));
    if (dy->shape.rank >= 0 && x->shape.rank >= 0 && ot_shape_known(&dy->shape) && ot_shape_known(&x->shape) &&
        ot_shape_numel(&dy->shape) != ot_shape_numel(&x->shape))
        return OT_INFER_ERROR(ctx, "Y_grad %s and X %s differ", ot_shape_str(&dy->shape, b1, sizeof b1),
                              ot_shape_str(&x->shape, b2, sizeof b2));
    const ot_tensor_t *stats[2] = {mean, isd};
    for (int i = 0; i < 2; i++) {
        if (!is_real(stats[i]->dtype) || stats[i]->dtype != mean->dtype)
            return OT_INFER_ERROR(ctx, "mean and inv_std_var must share a float dtype (got %s, %s)",
                                  ot_dtype_name(mean->dtype), ot_dtype_name(isd->dtype));
        ot_shape_t want = stat_shape(&x->shape, ax);
        if (ot_shape_known(&want) && ot_shape_known(&stats[i]->shape) &&
            ot_shape_numel(&want) != ot_shape_numel(&stats[i]->shape))
            return OT_INFER_ERROR(ctx, "%s %s does not match X %s", i ? "inv_std_var" : "mean",
                                  ot_shape_str(&stats[i]->shape, b1, sizeof b1), ot_shape_str(&x->shape, b2, sizeof b2));
    }
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    for (int o = 1; o < ctx->n_outputs && o < 3; o++) {
        if (!ctx->outputs[o]) continue;
        ctx->outputs[o]->dtype = x->dtype;
        ctx->outputs[o]->shape = scale->shape;
    }
    return NULL;
}

static ot_status_t *lng_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    ln_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    const ot_tensor_t *x = k->inputs[1];
    ln_dims(k->node, &x->shape, s);
    bool f32 = x->dtype == OT_DTYPE_FLOAT && k->inputs[3]->dtype == OT_DTYPE_FLOAT;
    if (!f32 || s->rows == 0 || s->cols == 0) return NULL;
    s->var_buf = malloc(sizeof(float) * (size_t)s->rows);
    s->dw_buf = calloc(3 * (size_t)s->cols, sizeof(float));
    if (!s->var_buf || !s->dw_buf) {
        st = OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    dnnl_memory_desc_t data_md, stat_md;
    unsigned flags = dnnl_use_scale | dnnl_use_shift;
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    if ((st = ln_fwd_pd(k, s, flags, attr, &data_md, &stat_md)) || !s->fwd_pd) goto fail;
    dnnl_layer_normalization_desc_t desc;
    OT_DNNL_TRY(dnnl_layer_normalization_backward_desc_init(&desc, dnnl_backward, &data_md, &data_md, &stat_md,
                                                            (float)s->eps, flags));
    dnnl_status_t ds = dnnl_primitive_desc_create(&s->pd, &desc, attr, k->engine, s->fwd_pd);
    if (ds == dnnl_unimplemented) {
        s->pd = NULL;
        goto fail; /* st stays NULL: the reference runs */
    }
    OT_DNNL_TRY(ds);
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(s->pd, dnnl_query_weights_md, 0);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, s->pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &data_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_dst, &data_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_src, &data_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->scale, w_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_scale, w_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_shift, w_md, k->engine, DNNL_MEMORY_NONE));
    /* oneDNN 2.6 takes the shift as an input of the backward (unused by
     * the math): zeros */
    OT_DNNL_TRY(dnnl_memory_create(&s->shift, w_md, k->engine, s->dw_buf + 2 * s->cols));
    OT_DNNL_TRY(dnnl_memory_create(&s->mean, &stat_md, k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->var, &stat_md, k->engine, s->var_buf));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->pd, k->engine));
    s->use_dnnl = true;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) ln_release(k);
    return st;
}

/* Reference backward: dX row by row, dscale/dB column by column (each sum
 * has one owner: deterministic). */
static void ln_ref_backward(const ln_state_t *s, ot_kernel_t *k) {
    const ot_tensor_t *dy = k->inputs[0], *x = k->inputs[1], *scale = k->inputs[2];
    const ot_tensor_t *mean = k->inputs[3], *isd = k->inputs[4];
    ot_tensor_t *dx = k->outputs[0];
    ot_tensor_t *dsc = k->n_outputs > 1 ? k->outputs[1] : NULL, *db = k->n_outputs > 2 ? k->outputs[2] : NULL;
    int64_t rows = s->rows, cols = s->cols;
    ot_dtype_t dt = x->dtype, ut = mean->dtype;
    bool big = rows * cols > 65536;
    OT_SHAPE_PARALLEL_FOR(big, r, rows, {
        int64_t base = r * cols;
        double m = ln_get(mean->data, ut, r), is = ln_get(isd->data, ut, r), mg = 0, mgx = 0;
        for (int64_t j = 0; j < cols; j++) {
            double g = ln_get(dy->data, dt, base + j) * ln_get(scale->data, dt, j);
            mg += g;
            mgx += g * (ln_get(x->data, dt, base + j) - m) * is;
        }
        mg /= (double)cols;
        mgx /= (double)cols;
        for (int64_t j = 0; j < cols; j++) {
            double g = ln_get(dy->data, dt, base + j) * ln_get(scale->data, dt, j);
            double xh = (ln_get(x->data, dt, base + j) - m) * is;
            ln_put(dx->data, dt, base + j, is * (g - mg - xh * mgx));
        }
    });
    if (!dsc && !db) return;
    OT_SHAPE_PARALLEL_FOR(big, j, cols, {
        double sg = 0, sb = 0;
        for (int64_t r = 0; r < rows; r++) {
            double d = ln_get(dy->data, dt, r * cols + j);
            sb += d;
            sg += d * (ln_get(x->data, dt, r * cols + j) - ln_get(mean->data, ut, r)) * ln_get(isd->data, ut, r);
        }
        if (dsc) ln_put(dsc->data, dt, j, sg);
        if (db) ln_put(db->data, dt, j, sb);
    });
}

static ot_status_t *lng_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    ln_state_t *s = k->state;
    if (!s->use_dnnl) {
        ln_ref_backward(s, k);
        return NULL;
    }
    /* oneDNN wants the variance: isd = 1 / sqrt(var + eps) */
    const float *isd = k->inputs[4]->data;
    float eps = (float)s->eps;
    for (int64_t r = 0; r < s->rows; r++) s->var_buf[r] = 1.0f / (isd[r] * isd[r]) - eps;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_dst, k->inputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[1]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->scale, k->inputs[2]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->mean, k->inputs[3]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_src, k->outputs[0]->data));
    /* dscale/dB go to scratch when not requested (oneDNN computes both) */
    ot_tensor_t *dsc = k->n_outputs > 1 ? k->outputs[1] : NULL, *db = k->n_outputs > 2 ? k->outputs[2] : NULL;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_scale, dsc ? dsc->data : s->dw_buf));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_shift, db ? db->data : s->dw_buf + s->cols));
    dnnl_exec_arg_t args[10] = {{DNNL_ARG_SRC, s->src},           {DNNL_ARG_DIFF_DST, s->diff_dst},
                                {DNNL_ARG_SCALE, s->scale},       {DNNL_ARG_MEAN, s->mean},
                                {DNNL_ARG_VARIANCE, s->var},      {DNNL_ARG_DIFF_SRC, s->diff_src},
                                {DNNL_ARG_DIFF_SCALE, s->diff_scale}, {DNNL_ARG_DIFF_SHIFT, s->diff_shift},
                                {DNNL_ARG_SHIFT, s->shift}};
    int nargs = 9;
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, k->stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(k->stream));
fail:
    return st;
}

static const ot_attr_spec_t lng_attrs[] = {
    {"axis", OT_ATTR_INT, false}, {"epsilon", OT_ATTR_FLOAT, false}, {"stash_type", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

const ot_op_def_t ot_op_ms_LayerNormalizationGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "LayerNormalizationGrad",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = 5,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = lng_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = lng_infer,
    .setup = lng_setup,
    .run = lng_run,
    .release = ln_release,
    .doc = "dX, dScale, dB of LayerNormalization from Y_grad, X, Scale, mean, inv_std_var",
};
