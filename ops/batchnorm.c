/* ops/batchnorm.c: BatchNormalization, inference form (ONNX
 * BatchNormalization-7/9/14/15):
 *   Y[n, c, ...] = scale[c] * (X[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) + B[c]
 * X: (N, C, D1...) (rank >= 2), scale/B/mean/var: (C); with spatial = 0
 * (opset 7 only) they are (C, D1...) and index every non-batch element.
 * float32 (with per-channel parameters) runs on oneDNN batch_normalization
 * forward_inference with use_global_stats | use_scale | use_shift; double,
 * mixed parameter dtypes (T/U of opsets 14, 15) and spatial = 0 on the
 * reference loop. Training (running statistics, outputs 2..5) is not here:
 * training_mode = 1 or a training output is refused as unsupported. */
#include "ops/cnn_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static const ot_attr_spec_t bn7_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {"spatial", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t bn9_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {NULL, OT_ATTR_UNDEFINED, false},
};
static const ot_attr_spec_t bn14_attrs[] = {
    {"epsilon", OT_ATTR_FLOAT, false}, {"momentum", OT_ATTR_FLOAT, false}, {"training_mode", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static const char *const param_names[4] = {"scale", "B", "input_mean", "input_var"};

static bool is_real(ot_dtype_t dt) { return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE; }

static ot_status_t *bn_check(const ot_node_info_t *node, int n_inputs, const ot_tensor_t *const *inputs,
                             int n_outputs, ot_tensor_t *const *outputs) {
    char buf1[128], buf2[128];
    const ot_tensor_t *x = inputs[0];
    if (ot_attr_int(node, "training_mode", 0) != 0)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%s", "training_mode = 1 is not supported yet (inference form only)");
    for (int i = 1; i < n_outputs; i++)
        if (outputs[i])
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED,
                                 "output %d (running or saved statistics) exists only in training, which is not supported yet",
                                 i);
    if (n_inputs != 5) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "needs 5 inputs, got %d", n_inputs);
    if (!is_real(x->dtype))
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "input X dtype %s not supported", ot_dtype_name(x->dtype));
    if (x->shape.rank >= 0 && x->shape.rank < 2)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "X %s must have rank >= 2 (N, C, ...)",
                             ot_shape_str(&x->shape, buf1, sizeof buf1));
    int64_t spatial = ot_attr_int(node, "spatial", 1);
    if (spatial != 0 && spatial != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "spatial = %" PRId64 " must be 0 or 1", spatial);
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
    return NULL;
}

static ot_status_t *bn_infer(ot_infer_ctx_t *ctx) {
    ot_status_t *st = bn_check(ctx->node, ctx->n_inputs, ctx->inputs, ctx->n_outputs, ctx->outputs);
    if (st) return st;
    ctx->outputs[0]->dtype = ctx->inputs[0]->dtype;
    ctx->outputs[0]->shape = ctx->inputs[0]->shape;
    return NULL;
}

/* ---- kernel ------------------------------------------------------------ */

typedef struct bn_state {
    int64_t n, c, inner; /* X viewed as (n, c, inner); with spatial = 0, c spans C*D1*... and inner = 1 */
    double eps;
    bool use_dnnl;
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
    free(s);
    k->state = NULL;
}

static ot_status_t *bn_setup_dnnl(ot_kernel_t *k, bn_state_t *s) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_engine_t engine = k->engine;
    OT_DNNL_TRY(ot_dnnl_md_plain(&s->data_md, &k->inputs[0]->shape, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_dims(&s->param_md, 1, &s->c, dnnl_f32));
    dnnl_batch_normalization_desc_t desc;
    OT_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_inference, &s->data_md, (float)s->eps,
                                                           dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift));
    OT_DNNL_TRY(ot_dnnl_attr_user_scratchpad(&attr));
    dnnl_status_t ds = dnnl_primitive_desc_create(&s->fwd_pd, &desc, attr, engine, NULL);
    if (ds == dnnl_unimplemented) {
        s->fwd_pd = NULL;
        goto fail; /* st stays NULL: the reference loop takes over */
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->fwd, s->fwd_pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &s->data_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &s->data_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->scale, &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->shift, &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->mean, &s->param_md, engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->var, &s->param_md, engine, DNNL_MEMORY_NONE));
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

/* Reference: y = x * a + b with a = scale / sqrt(var + eps) and
 * b = B - mean * a, folded per channel in double. */
#define BN_REF(T)                                                                                                  \
    static void bn_ref_##T(const bn_state_t *s, ot_tensor_t *const *in, T *y) {                                    \
        const T *x = in[0]->data;                                                                                  \
        int64_t nc = s->n * s->c;                                                                                  \
        _Pragma("omp parallel for if (nc * s->inner > 65536)") for (int64_t i = 0; i < nc; i++) {                 \
            int64_t c = i % s->c;                                                                                  \
            double a = get_real(in[1], c) / sqrt(get_real(in[4], c) + s->eps);                                     \
            double b = get_real(in[2], c) - get_real(in[3], c) * a;                                                \
            for (int64_t j = 0; j < s->inner; j++) y[i * s->inner + j] = (T)((double)x[i * s->inner + j] * a + b); \
        }                                                                                                          \
    }
BN_REF(float)
BN_REF(double)

static ot_status_t *bn_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    bn_state_t *s = k->state;
    if (!s->use_dnnl) {
        if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) bn_ref_float(s, k->inputs, k->outputs[0]->data);
        else bn_ref_double(s, k->inputs, k->outputs[0]->data);
        return NULL;
    }
    dnnl_stream_t stream = k->stream;
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, k->inputs[0]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->scale, k->inputs[1]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->shift, k->inputs[2]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->mean, k->inputs[3]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->var, k->inputs[4]->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, k->outputs[0]->data));
    dnnl_exec_arg_t args[7] = {{DNNL_ARG_SRC, s->src},   {DNNL_ARG_SCALE, s->scale},  {DNNL_ARG_SHIFT, s->shift},
                               {DNNL_ARG_MEAN, s->mean}, {DNNL_ARG_VARIANCE, s->var}, {DNNL_ARG_DST, s->dst}};
    int nargs = 6;
    if (s->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    OT_DNNL_TRY(dnnl_primitive_execute(s->fwd, stream, nargs, args));
    OT_DNNL_TRY(dnnl_stream_wait(stream));
fail:
    return st;
}

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
        .doc = "Y = scale * (X - mean) / sqrt(var + epsilon) + B per channel (ONNX BatchNormalization, inference)", \
    };

BN_RECORD(ot_op_BatchNormalization_7, 7, 5, bn7_attrs)
BN_RECORD(ot_op_BatchNormalization_9, 9, 5, bn9_attrs)
BN_RECORD(ot_op_BatchNormalization_14, 14, 3, bn14_attrs)
BN_RECORD(ot_op_BatchNormalization_15, 15, 3, bn14_attrs)
