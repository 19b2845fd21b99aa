/* ops/batchnorm.c: BatchNormalization (ONNX BatchNormalization-7/9/14/15)
 * in inference and training form, and its gradient.
 *
 * Inference (opset < 14 with only Y requested; opset >= 14 training_mode 0):
 *   Y = scale * (X - mean) / sqrt(var + epsilon) + B per channel
 * X: (N, C, D1...) (rank >= 2), scale/B/mean/var: (C); with spatial = 0
 * (opset 7 only) they are (C, D1...) and index every non-batch element.
 *
 * Training (opset 7/9: any output past Y requested; opset 14/15:
 * training_mode = 1), per channel over the M = N*D1*... cells (spec
 * operators.md and its reference onnx/backend/test/case/node/batchnorm.py):
 *   batch_mean = mean(X), batch_var = mean((X - batch_mean)^2)  (population)
 *   Y = scale * (X - batch_mean) / sqrt(batch_var + epsilon) + B
 *   running_mean = momentum * input_mean + (1 - momentum) * batch_mean
 *   running_var  = momentum * input_var  + (1 - momentum) * batch_var
 * Outputs: 1 running_mean, 2 running_var, 3 saved_mean = batch_mean,
 * 4 saved_inv_std = 1 / sqrt(batch_var + epsilon). Outputs 3 and 4 exist in
 * opsets 7 and 9 (the spec words output 4 "saved_var"; we follow ONNX
 * Runtime, whose BatchNormalizationGrad reads an inverse std there) and, as
 * in ONNX Runtime's training build, as hidden outputs of opset 14/15 that
 * only the gradient rule adds (ot_grad_forward_output). ONNX momentum is
 * 1 - PyTorch's momentum.
 *
 * Running variance convention: the spec uses the batch's population
 * variance; PyTorch uses the unbiased one (batch_var * M / (M - 1)). The
 * node attribute "unbiased_running_var" (int, default 0; ours, not ONNX's)
 * selects PyTorch's; ot_model_prepare sets it with its
 * unbiased_running_var option. It changes only running_var, never Y or the
 * gradient.
 *
 * Gradient (training form only): com.microsoft::BatchNormalizationGrad
 * (dY, X, scale, saved_mean, saved_inv_std) -> (dX, dscale, dB), ONNX
 * Runtime's op and wiring (gradient_builder.cc, cpu/nn/batch_norm_grad.cc):
 *   dB = sum dY, dscale = sum dY * xhat, xhat = (X - saved_mean) * inv_std
 *   dX = scale * inv_std / M * (M * dY - dB - xhat * dscale)
 * The inference form's gradient is not implemented (refused by name).
 *
 * float32 (all parameters float32, spatial) runs on oneDNN
 * batch_normalization forward_inference / forward_training / backward with
 * use_scale | use_shift; double, mixed parameter dtypes (T/T1/T2 of opsets
 * 14, 15) and spatial = 0 on the reference loops (double accumulation). */
#include "ops/cnn_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#define UNBIASED_ATTR "unbiased_running_var"

static const ot_attr_spec_t bn7_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {"spatial", OT_ATTR_INT, false},
    {UNBIASED_ATTR, OT_ATTR_INT, false}, {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t bn9_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {UNBIASED_ATTR, OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t bn14_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {"training_mode", OT_ATTR_INT, false},
    {UNBIASED_ATTR, OT_ATTR_INT, false}, {NULL, OT_ATTR_UNDEFINED, false},
};

static const char *const param_names[4] = {"scale", "B", "input_mean", "input_var"};

static bool is_real(ot_dtype_t dt) { return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE; }

/* Whether the node computes batch statistics (see the header). */
static bool bn_is_training(const ot_node_info_t *node, int n_outputs, ot_tensor_t *const *outputs) {
    if (node->opset >= 14) return ot_attr_int(node, "training_mode", 0) != 0;
    for (int i = 1; i < n_outputs; i++)
        if (outputs[i]) return true;
    return false;
}

static ot_status_t *bn_check(const ot_node_info_t *node, int n_inputs, const ot_tensor_t *const *inputs,
                             int n_outputs, ot_tensor_t *const *outputs) {
    char buf1[128], buf2[128];
    const ot_tensor_t *x = inputs[0];
    int64_t tm = ot_attr_int(node, "training_mode", 0);
    if (tm != 0 && tm != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "training_mode = %" PRId64 " must be 0 or 1", tm);
    int64_t ub = ot_attr_int(node, UNBIASED_ATTR, 0);
    if (ub != 0 && ub != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s = %" PRId64 " must be 0 or 1", UNBIASED_ATTR, ub);
    bool training = bn_is_training(node, n_outputs, outputs);
    if (!training)
        for (int i = 1; i < n_outputs; i++)
            if (outputs[i])
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                     "output %d (running or saved statistics) exists only with training_mode = 1", i);
    if (n_inputs != 5) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "needs 5 inputs, got %d", n_inputs);
    if (!is_real(x->dtype))
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(x->dtype));
    if (x->shape.rank >= 0 && x->shape.rank < 2)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X %s must have rank >= 2 (N, C, ...)",
                             ot_shape_str(&x->shape, buf1, sizeof buf1));
    int64_t spatial = ot_attr_int(node, "spatial", 1);
    if (spatial != 0 && spatial != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "spatial = %" PRId64 " must be 0 or 1", spatial);
    if (training && spatial == 0)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%s", "training with spatial = 0 is not supported");
    float eps = ot_attr_float(node, "epsilon", 1e-5f);
    if (!(eps >= 0.f)) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "epsilon = %g must be >= 0", (double)eps);
    for (int i = 1; i < 5; i++) {
        const ot_tensor_t *p = inputs[i];
        if (!p) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "input %s is required", param_names[i - 1]);
        if (!is_real(p->dtype))
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input %s dtype %s not supported", param_names[i - 1],
                                 ot_dtype_name(p->dtype));
        if (node->opset < 14 && p->dtype != x->dtype)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "input %s dtype %s differs from X's %s", param_names[i - 1],
                                 ot_dtype_name(p->dtype), ot_dtype_name(x->dtype));
        if (p->shape.rank < 0 || x->shape.rank < 0) continue;
        /* expected: (C), or with spatial = 0 (C, D1...) */
        int want_rank = spatial ? 1 : x->shape.rank - 1;
        bool ok = p->shape.rank == want_rank;
        for (int d = 0; ok && d < want_rank; d++)
            ok = p->shape.dims[d] < 0 || x->shape.dims[1 + d] < 0 || p->shape.dims[d] == x->shape.dims[1 + d];
        if (!ok)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "input %s %s does not match X %s (expected %s)",
                                 param_names[i - 1], ot_shape_str(&p->shape, buf1, sizeof buf1),
                                 ot_shape_str(&x->shape, buf2, sizeof buf2), spatial ? "(C)" : "(C, D1, ...)");
    }
    if (training && inputs[3]->dtype != inputs[4]->dtype)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "input_mean (%s) and input_var (%s) must share a dtype in training",
                             ot_dtype_name(inputs[3]->dtype), ot_dtype_name(inputs[4]->dtype));
    return NULL;
}

static ot_status_t *bn_infer(ot_infer_ctx_t *ctx) {
    ot_status_t *st = bn_check(ctx->node, ctx->n_inputs, ctx->inputs, ctx->n_outputs, ctx->outputs);
    if (st) return st;
    ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
    ctx->outputs[0]->shape = ctx->inputs[0]->shape;
    /* statistics: (C), in the dtype of input_mean/input_var (T2 / U) */
    ot_shape_t c = ot_shape_make(1, NULL);
    c.dims[0] = ctx->inputs[0]->shape.rank >= 2 ? ctx->inputs[0]->shape.dims[1] : -1;
    if (c.dims[0] < 0 && ctx->inputs[3]->shape.rank == 1) c.dims[0] = ctx->inputs[3]->shape.dims[0];
    for (int i = 1; i < ctx->n_outputs; i++) {
        if (!ctx->outputs[i]) continue;
        ctx->outputs[i]->dtype = ctx->inputs[3]->dtype;
        ctx->outputs[i]->shape = c;
    }
    return NULL;
}

/* ---- kernel ------------------------------------------------------------ */

typedef struct bn_state {
    int64_t n, c, inner; /* X viewed as (n, c, inner); with spatial = 0, c spans C*D1*... and inner = 1 */
    double eps, momentum;
    bool training, unbiased, use_dnnl;
    double *stats;       /* training: (2, C) batch mean and population variance */
    dnnl_memory_desc_t data_md, param_md;
    dnnl_primitive_desc_t fwd_pd;
    dnnl_primitive_t fwd;
    dnnl_memory_t src, dst, scale, shift, mean, var, scratch;
} bn_state_t;

static void bn_release(ot_kernel_t *k) {
    bn_state_t *s = k->state;
    if (!s) return;
    dnnl_memory_t mems[7] = {s->src, s->dst, s->scale, s->shift, s->mean, s->var, s->scratch};
    for (int i = 0; i < 7; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->fwd) dnnl_primitive_destroy(s->fwd);
    if (s->fwd_pd) dnnl_primitive_desc_destroy(s->fwd_pd);
    free(s->stats);
    free(s);
    k->state = NULL;
}

/* Forward primitive: inference uses the given mean/var; training computes
 * them into its own mean/var buffers (read back by bn_finish_stats). */
static ot_status_t *bn_setup_dnnl(ot_kernel_t *k, bn_state_t *s) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_engine_t engine = k->engine;
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->data_md, &k->inputs[0]->shape, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&s->param_md, 1, &s->c, dnnl_f32));
    dnnl_batch_normalization_desc_t desc;
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (s->training ? 0u : (unsigned)dnnl_use_global_stats);
    OT_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(
        &desc, s->training ? dnnl_forward_training : dnnl_forward_inference, &s->data_md, (float)s->eps, flags));
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    dnnl_status_t ds = dnnl_primitive_desc_create(&s->fwd_pd, &desc, attr, engine, NULL);
    if (ds == dnnl_unimplemented) {
        s->fwd_pd = NULL;
        goto fail; /* st stays NULL: the reference loop takes over */
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->fwd, s->fwd_pd));
    void *own = s->training ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE;
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &s->data_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &s->data_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->scale, &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->shift, &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->mean, &s->param_md, engine, own));
    OT_DNNL_TRY(dnnl_memory_create(&s->var, &s->param_md, engine, own));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->fwd_pd, engine));
    s->use_dnnl = true;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static ot_status_t *bn_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    bn_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    if ((st = bn_check(k->node, k->n_inputs, (const ot_tensor_t *const *)k->inputs, k->n_outputs, k->outputs)))
        goto fail;
    const ot_tensor_t *x = k->inputs[0];
    bool spatial = ot_attr_int(k->node, "spatial", 1) == 1;
    s->n = x->shape.dims[0];
    s->c = x->shape.dims[1];
    s->inner = 1;
    for (int d = 2; d < x->shape.rank; d++) s->inner *= x->shape.dims[d];
    if (!spatial) {
        s->c *= s->inner;
        s->inner = 1;
    }
    s->eps = ot_attr_float(k->node, "epsilon", 1e-5f);
    s->momentum = ot_attr_float(k->node, "momentum", 0.9f);
    s->training = bn_is_training(k->node, k->n_outputs, k->outputs);
    s->unbiased = ot_attr_int(k->node, UNBIASED_ATTR, 0) == 1;
    if (s->training && s->n * s->inner == 0) {
        st = OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "%s", "training needs a non-empty batch");
        goto fail;
    }
    if (s->training && !(s->stats = malloc(sizeof(double) * 2 * (size_t)(s->c > 0 ? s->c : 1)))) {
        st = OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
        goto fail;
    }
    bool all_f32 = true;
    for (int i = 0; i < 5; i++) all_f32 = all_f32 && k->inputs[i]->dtype == OT_DTYPE_FLOAT;
    if (all_f32 && spatial && (st = bn_setup_dnnl(k, s))) goto fail;
    return NULL;
fail:
    bn_release(k);
    return st;
}

static double get_real(const ot_tensor_t *t, int64_t i) {
    return t->dtype == OT_DTYPE_FLOAT ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

static void set_real(ot_tensor_t *t, int64_t i, double v) {
    if (t->dtype == OT_DTYPE_FLOAT) ((float *)t->data)[i] = (float)v;
    else ((double *)t->data)[i] = v;
}

/* Reference: y = x * a + b with a = scale / sqrt(var + eps) and
 * b = B - mean * a, folded per channel in double. Training takes mean and
 * var from s->stats (filled by bn_ref_stats) instead of the inputs. */
#define BN_REF(T)                                                                                                  \
    static void bn_ref_##T(const bn_state_t *s, ot_tensor_t *const *in, T *y) {                                    \
        const T *x = in[0]->data;                                                                                  \
        int64_t nc = s->n * s->c;                                                                                  \
        _Pragma("omp parallel for if (nc * s->inner > 65536)") for (int64_t i = 0; i < nc; i++) {                 \
            int64_t c = i % s->c;                                                                                  \
            double mean = s->training ? s->stats[c] : get_real(in[3], c);                                         \
            double var = s->training ? s->stats[s->c + c] : get_real(in[4], c);                                   \
            double a = get_real(in[1], c) / sqrt(var + s->eps);                                                    \
            double b = get_real(in[2], c) - mean * a;                                                              \
            for (int64_t j = 0; j < s->inner; j++) y[i * s->inner + j] = (T)((double)x[i * s->inner + j] * a + b); \
        }                                                                                                          \
    }
BN_REF(float)
BN_REF(double)

/* Batch mean and population variance per channel (two passes, double). */
#define BN_REF_STATS(T)                                                                                            \
    static void bn_ref_stats_##T(bn_state_t *s, const T *x) {                                                      \
        double m = (double)(s->n * s->inner);                                                                      \
        _Pragma("omp parallel for if (s->n * s->c * s->inner > 65536)") for (int64_t c = 0; c < s->c; c++) {     \
            double sum = 0, sq = 0;                                                                                \
            for (int64_t n = 0; n < s->n; n++) {                                                                   \
                const T *p = x + (n * s->c + c) * s->inner;                                                        \
                for (int64_t j = 0; j < s->inner; j++) sum += (double)p[j];                                        \
            }                                                                                                      \
            double mean = sum / m;                                                                                 \
            for (int64_t n = 0; n < s->n; n++) {                                                                   \
                const T *p = x + (n * s->c + c) * s->inner;                                                        \
                for (int64_t j = 0; j < s->inner; j++) sq += ((double)p[j] - mean) * ((double)p[j] - mean);       \
            }                                                                                                      \
            s->stats[c] = mean;                                                                                    \
            s->stats[s->c + c] = sq / m;                                                                           \
        }                                                                                                          \
    }
BN_REF_STATS(float)
BN_REF_STATS(double)

/* Writes the requested statistics outputs from s->stats. */
static void bn_finish_stats(const bn_state_t *s, ot_kernel_t *k) {
    double m = (double)(s->n * s->inner), mom = s->momentum;
    ot_tensor_t *out[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 1; i < k->n_outputs && i < 5; i++) out[i] = k->outputs[i];
    for (int64_t c = 0; c < s->c; c++) {
        double mean = s->stats[c], var = s->stats[s->c + c];
        double run_var = s->unbiased && m > 1 ? var * m / (m - 1) : var;
        if (out[1]) set_real(out[1], c, mom * get_real(k->inputs[3], c) + (1 - mom) * mean);
        if (out[2]) set_real(out[2], c, mom * get_real(k->inputs[4], c) + (1 - mom) * run_var);
        if (out[3]) set_real(out[3], c, mean);
        if (out[4]) set_real(out[4], c, 1 / sqrt(var + s->eps));
    }
}

static ot_status_t *bn_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    bn_state_t *s = k->state;
    if (!s->use_dnnl) {
        bool f32 = k->inputs[0]->dtype == OT_DTYPE_FLOAT;
        if (s->training) {
            if (f32) bn_ref_stats_float(s, k->inputs[0]->data);
            else bn_ref_stats_double(s, k->inputs[0]->data);
        }
        if (f32) bn_ref_float(s, k->inputs, k->outputs[0]->data);
        else bn_ref_double(s, k->inputs, k->outputs[0]->data);
        if (s->training) bn_finish_stats(s, k);
        return NULL;
    }
    dnnl_stream_t stream = k->stream;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->scale, k->inputs[1]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->shift, k->inputs[2]->data));
    if (!s->training) {
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->mean, k->inputs[3]->data));
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->var, k->inputs[4]->data));
    }
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, k->outputs[0]->data));
    dnnl_exec_arg_t args[7] = {{DNNL_ARG_SRC, s->src},   {DNNL_ARG_SCALE, s->scale},  {DNNL_ARG_SHIFT, s->shift},
                               {DNNL_ARG_MEAN, s->mean}, {DNNL_ARG_VARIANCE, s->var}, {DNNL_ARG_DST, s->dst}};
    int nargs = 6;
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->fwd, stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(stream));
    if (s->training) {
        void *mean = NULL, *var = NULL;
        OT_DNNL_TRY(dnnl_memory_get_data_handle(s->mean, &mean));
        OT_DNNL_TRY(dnnl_memory_get_data_handle(s->var, &var));
        for (int64_t c = 0; c < s->c; c++) {
            s->stats[c] = ((const float *)mean)[c];
            s->stats[s->c + c] = ((const float *)var)[c];
        }
        bn_finish_stats(s, k);
    }
fail:
    return st;
}

static ot_status_t *bn_gradient(ot_grad_ctx_t *ctx);

/* Opsets 14/15 accept 5 outputs: 3 and 4 are the hidden saved statistics
 * the gradient rule adds (see the header). */
#define BN_RECORD(sym, since, nout, attr_table)                                                                    \
    const ot_op_def_t sym = {                                                                                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                                      \
        .domain = "",                                                                                              \
        .op_type = "BatchNormalization",                                                                           \
        .since_version = since,                                                                                    \
        .min_inputs = 5, .max_inputs = 5,                                                                          \
        .min_outputs = 1, .max_outputs = nout,                                                                     \
        .attrs = attr_table,                                                                                       \
        .flags = OT_OP_ONEDNN,                                                                                     \
        .infer = bn_infer,                                                                                         \
        .setup = bn_setup,                                                                                         \
        .run = bn_run,                                                                                             \
        .release = bn_release,                                                                                     \
        .gradient = bn_gradient,                                                                                   \
        .doc = "Y = scale * (X - mean) / sqrt(var + epsilon) + B per channel, batch statistics in training "      \
               "(ONNX BatchNormalization)",                                                                        \
    };

BN_RECORD(ot_op_BatchNormalization_7, 7, 5, bn7_attrs)
BN_RECORD(ot_op_BatchNormalization_9, 9, 5, bn9_attrs)
BN_RECORD(ot_op_BatchNormalization_14, 14, 5, bn14_attrs)
BN_RECORD(ot_op_BatchNormalization_15, 15, 5, bn14_attrs)

/* ---- gradient ------------------------------------------------------------ */

/* dX, dscale, dB = BatchNormalizationGrad(dY, X, scale, saved_mean,
 * saved_inv_std), the saved statistics taken from (or added to) the forward
 * node. Gradients reaching the running or saved statistics are refused:
 * they are state, not part of the loss. */
static ot_status_t *bn_gradient(ot_grad_ctx_t *ctx) {
    ot_tensor_t *outs[5] = {NULL, NULL, NULL, NULL, NULL};
    ot_tensor_t dummy;
    for (int i = 1; i < ctx->n_outputs && i < 5; i++) outs[i] = ctx->outputs[i] >= 0 ? &dummy : NULL;
    if (!bn_is_training(ctx->node, ctx->n_outputs, outs))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "%s",
                             "gradient of the inference form (running statistics) is not implemented; "
                             "use training_mode = 1");
    if (ctx->needs[3] || ctx->needs[4])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "%s",
                             "gradient with respect to input_mean or input_var is not implemented");
    for (int i = 1; i < ctx->n_outputs; i++)
        if (ctx->doutputs[i] >= 0)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED,
                                 "a gradient reaches output %d (running or saved statistics): not supported", i);
    int in[5] = {ctx->doutputs[0], ctx->inputs[0], ctx->inputs[1], -1, -1};
    ot_status_t *st = ot_grad_forward_output(ctx, 3, &in[3]);
    if (!st) st = ot_grad_forward_output(ctx, 4, &in[4]);
    if (st) return st;
    ot_attr_t eps = {.name = "epsilon", .type = OT_ATTR_FLOAT, .f = ot_attr_float(ctx->node, "epsilon", 1e-5f)};
    int out[3];
    st = ot_grad_emit(ctx, "com.microsoft", "BatchNormalizationGrad", 5, in, 3, out, 1, &eps);
    if (st) return st;
    for (int i = 0; i < 3; i++)
        if (ctx->needs[i]) ctx->dinputs[i] = out[i];
    return NULL;
}

static const ot_attr_spec_t bn_grad_attrs[] = {{"epsilon", OT_ATTR_FLOAT, false}, {NULL, OT_ATTR_UNDEFINED, false}};

static ot_status_t *bn_grad_infer(ot_infer_ctx_t *ctx) {
    char buf1[128], buf2[128];
    static const char *const names[5] = {"dY", "X", "scale", "mean", "inv_std"};
    for (int i = 0; i < 5; i++)
        if (!ctx->inputs[i] || !is_real(ctx->inputs[i]->dtype))
            return OT_INFER_ERROR(ctx, "input %s must be a float32 or float64 tensor", names[i]);
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1];
    if (dy->dtype != x->dtype)
        return OT_INFER_ERROR(ctx, "dY (%s) and X (%s) must share a dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype));
    if (x->shape.rank >= 0 && x->shape.rank < 2)
        return OT_INFER_ERROR(ctx, "X %s must have rank >= 2", ot_shape_str(&x->shape, buf1, sizeof buf1));
    if (dy->shape.rank >= 0 && x->shape.rank >= 0) {
        bool same = dy->shape.rank == x->shape.rank;
        for (int d = 0; same && d < x->shape.rank; d++)
            same = dy->shape.dims[d] < 0 || x->shape.dims[d] < 0 || dy->shape.dims[d] == x->shape.dims[d];
        if (!same)
            return OT_INFER_ERROR(ctx, "dY %s and X %s differ in shape", ot_shape_str(&dy->shape, buf1, sizeof buf1),
                                  ot_shape_str(&x->shape, buf2, sizeof buf2));
    }
    int64_t c = x->shape.rank >= 2 ? x->shape.dims[1] : -1;
    for (int i = 2; i < 5; i++) {
        const ot_shape_t *ps = &ctx->inputs[i]->shape;
        if (ps->rank >= 0 && (ps->rank != 1 || (c >= 0 && ps->dims[0] >= 0 && ps->dims[0] != c)))
            return OT_INFER_ERROR(ctx, "input %s %s must have shape (C) = (%" PRId64 ")", names[i],
                                  ot_shape_str(ps, buf1, sizeof buf1), c);
    }
    if (ctx->outputs[0]) {
        ctx->outputs[0]->dtype = x->dtype;
        ctx->outputs[0]->shape = x->shape.rank >= 0 ? x->shape : dy->shape;
    }
    for (int i = 1; i < 3 && i < ctx->n_outputs; i++) {
        if (!ctx->outputs[i]) continue;
        ctx->outputs[i]->dtype = ctx->inputs[2]->dtype;
        ctx->outputs[i]->shape = ctx->inputs[2]->shape;
    }
    return NULL;
}

typedef struct bn_grad_state {
    int64_t n, c, inner;
    double eps;
    bool use_dnnl;
    float *var;          /* (C) variance rebuilt from inv_std for oneDNN */
    float *dparams;      /* (2, C) dscale, dB when the outputs are not requested */
    dnnl_memory_desc_t data_md, param_md;
    dnnl_primitive_desc_t bwd_pd;
    dnnl_primitive_t bwd;
    dnnl_memory_t src, diff_dst, diff_src, scale, mean, varm, diff_scale, diff_shift, scratch;
} bn_grad_state_t;

static void bn_grad_release(ot_kernel_t *k) {
    bn_grad_state_t *s = k->state;
    if (!s) return;
    dnnl_memory_t mems[9] = {s->src,     s->diff_dst,   s->diff_src,   s->scale,  s->mean,
                             s->varm,    s->diff_scale, s->diff_shift, s->scratch};
    for (int i = 0; i < 9; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->bwd) dnnl_primitive_destroy(s->bwd);
    if (s->bwd_pd) dnnl_primitive_desc_destroy(s->bwd_pd);
    free(s->var);
    free(s->dparams);
    free(s);
    k->state = NULL;
}

/* oneDNN backward, with a forward_training descriptor as the hint. */
static ot_status_t *bn_grad_setup_dnnl(ot_kernel_t *k, bn_grad_state_t *s) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_engine_t engine = k->engine;
    unsigned flags = dnnl_use_scale | dnnl_use_shift;
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->data_md, &k->inputs[1]->shape, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&s->param_md, 1, &s->c, dnnl_f32));
    dnnl_batch_normalization_desc_t fdesc, bdesc;
    OT_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&fdesc, dnnl_forward_training, &s->data_md, (float)s->eps,
                                                           flags));
    dnnl_status_t ds = dnnl_primitive_desc_create(&hint, &fdesc, NULL, engine, NULL);
    if (ds == dnnl_unimplemented) goto fail;
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&bdesc, dnnl_backward, &s->data_md, &s->data_md,
                                                            (float)s->eps, flags));
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    ds = dnnl_primitive_desc_create(&s->bwd_pd, &bdesc, attr, engine, hint);
    if (ds == dnnl_unimplemented) {
        s->bwd_pd = NULL;
        goto fail;
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->bwd, s->bwd_pd));
    dnnl_memory_t *data[3] = {&s->src, &s->diff_dst, &s->diff_src};
    for (int i = 0; i < 3; i++) OT_DNNL_TRY(dnnl_memory_create(data[i], &s->data_md, engine, DNNL_MEMORY_NONE));
    dnnl_memory_t *par[5] = {&s->scale, &s->mean, &s->varm, &s->diff_scale, &s->diff_shift};
    for (int i = 0; i < 5; i++) OT_DNNL_TRY(dnnl_memory_create(par[i], &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(ot_dnnl_scratchpad_create(&s->scratch, s->bwd_pd, engine));
    s->use_dnnl = true;
fail:
    if (hint) dnnl_primitive_desc_destroy(hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static ot_status_t *bn_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    bn_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
    k->state = s;
    const ot_tensor_t *x = k->inputs[1];
    s->n = x->shape.dims[0];
    s->c = x->shape.dims[1];
    s->inner = 1;
    for (int d = 2; d < x->shape.rank; d++) s->inner *= x->shape.dims[d];
    s->eps = ot_attr_float(k->node, "epsilon", 1e-5f);
    for (int i = 2; i < 5; i++)
        if (ot_shape_numel(&k->inputs[i]->shape) != s->c) {
            st = OT_KERNEL_ERROR(k, "input %d has %" PRId64 " elements, expected C = %" PRId64, i,
                                 ot_shape_numel(&k->inputs[i]->shape), s->c);
            goto fail;
        }
    if (s->n * s->inner == 0) {
        st = OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "%s", "needs a non-empty batch");
        goto fail;
    }
    bool all_f32 = true;
    for (int i = 0; i < 5; i++) all_f32 = all_f32 && k->inputs[i]->dtype == OT_DTYPE_FLOAT;
    size_t cn = (size_t)(s->c > 0 ? s->c : 1);
    if (all_f32) {
        if (!(s->var = malloc(sizeof(float) * cn)) || !(s->dparams = malloc(sizeof(float) * 2 * cn))) {
            st = OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "%s", "out of memory");
            goto fail;
        }
        if ((st = bn_grad_setup_dnnl(k, s))) goto fail;
    }
    return NULL;
fail:
    bn_grad_release(k);
    return st;
}

/* Reference, in double: per channel the sums dB and dscale, then dX. */
#define BN_GRAD_REF(T)                                                                                             \
    static void bn_grad_ref_##T(const bn_grad_state_t *s, ot_kernel_t *k) {                                        \
        const T *dy = k->inputs[0]->data, *x = k->inputs[1]->data;                                                 \
        T *dx = k->outputs[0] ? k->outputs[0]->data : NULL;                                                        \
        ot_tensor_t *dscale = k->n_outputs > 1 ? k->outputs[1] : NULL, *db = k->n_outputs > 2 ? k->outputs[2] : NULL; \
        double m = (double)(s->n * s->inner);                                                                      \
        _Pragma("omp parallel for if (s->n * s->c * s->inner > 65536)") for (int64_t c = 0; c < s->c; c++) {     \
            double mean = get_real(k->inputs[3], c), inv = get_real(k->inputs[4], c);                              \
            double sum_dy = 0, sum_dy_xhat = 0;                                                                    \
            for (int64_t n = 0; n < s->n; n++) {                                                                   \
                int64_t o = (n * s->c + c) * s->inner;                                                             \
                for (int64_t j = 0; j < s->inner; j++) {                                                           \
                    sum_dy += (double)dy[o + j];                                                                   \
                    sum_dy_xhat += (double)dy[o + j] * ((double)x[o + j] - mean) * inv;                            \
                }                                                                                                  \
            }                                                                                                      \
            if (dscale) set_real(dscale, c, sum_dy_xhat);                                                          \
            if (db) set_real(db, c, sum_dy);                                                                       \
            if (!dx) continue;                                                                                     \
            double a = get_real(k->inputs[2], c) * inv / m;                                                        \
            for (int64_t n = 0; n < s->n; n++) {                                                                   \
                int64_t o = (n * s->c + c) * s->inner;                                                             \
                for (int64_t j = 0; j < s->inner; j++) {                                                           \
                    double xhat = ((double)x[o + j] - mean) * inv;                                                 \
                    dx[o + j] = (T)(a * (m * (double)dy[o + j] - sum_dy - xhat * sum_dy_xhat));                    \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }
BN_GRAD_REF(float)
BN_GRAD_REF(double)

static ot_status_t *bn_grad_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    bn_grad_state_t *s = k->state;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) bn_grad_ref_float(s, k);
        else bn_grad_ref_double(s, k);
        return NULL;
    }
    /* oneDNN takes the variance: rebuild it from inv_std = 1/sqrt(var + eps) */
    const float *inv = k->inputs[4]->data;
    for (int64_t c = 0; c < s->c; c++) s->var[c] = (float)(1.0 / ((double)inv[c] * inv[c]) - s->eps);
    if (!k->outputs[0]) {
        /* oneDNN always writes diff_src: without dX, use the reference */
        bn_grad_ref_float(s, k);
        return NULL;
    }
    float *dscale = k->n_outputs > 1 && k->outputs[1] ? k->outputs[1]->data : s->dparams;
    float *dshift = k->n_outputs > 2 && k->outputs[2] ? k->outputs[2]->data : s->dparams + s->c;
    dnnl_stream_t stream = k->stream;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_dst, k->inputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[1]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->scale, k->inputs[2]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->mean, k->inputs[3]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->varm, s->var));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_src, k->outputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_scale, dscale));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_shift, dshift));
    /* oneDNN 2.6 wants a SHIFT argument with use_shift although the
     * backward never reads it: scale stands in */
    dnnl_exec_arg_t args[10] = {{DNNL_ARG_SRC, s->src},           {DNNL_ARG_DIFF_DST, s->diff_dst},
                                {DNNL_ARG_SCALE, s->scale},       {DNNL_ARG_SHIFT, s->scale},
                                {DNNL_ARG_MEAN, s->mean},         {DNNL_ARG_VARIANCE, s->varm},
                                {DNNL_ARG_DIFF_SRC, s->diff_src}, {DNNL_ARG_DIFF_SCALE, s->diff_scale},
                                {DNNL_ARG_DIFF_SHIFT, s->diff_shift}};
    int nargs = 9;
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->bwd, stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(stream));
fail:
    return st;
}

const ot_op_def_t ot_op_ms_BatchNormalizationGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "BatchNormalizationGrad",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = 5,
    .min_outputs = 1, .max_outputs = 3,
    .attrs = bn_grad_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = bn_grad_infer,
    .setup = bn_grad_setup,
    .run = bn_grad_run,
    .release = bn_grad_release,
    .doc = "dX, dscale, dB of training-mode BatchNormalization from saved mean and inverse std (ONNX Runtime)",
};
