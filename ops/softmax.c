/* ops/softmax.c: Softmax and LogSoftmax (ONNX -1/-11/-13).
 *   softmax(x)_j    = exp(x_j - max x) / sum_i exp(x_i - max x)
 *   logsoftmax(x)_j = (x_j - max x) - log(sum_i exp(x_i - max x))
 * Versions 1 and 11 coerce the input to 2-D at `axis` (default 1) and
 * normalize over all of (d[axis], ..., d[r-1]) at once; version 13
 * normalizes over the single dimension `axis` (default -1). Both are the
 * view (outer, n, inner) normalized over n (inner = 1 for 1/11).
 *
 * float32 runs on oneDNN's softmax / logsoftmax primitives when the
 * normalized axis is innermost (inner == 1); float64 and strided lines on
 * our loops. Subtracting the max keeps both numerically stable. */
#include "ops/dnnl_util.h"
#include "ops/grad_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ot_attr_spec_t softmax_attrs[] = {
    {"axis", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static bool softmax_v13(const ot_node_info_t *node) { return node->opset >= 13; }

static ot_status_t *softmax_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    int64_t axis = ot_attr_int(ctx->node, "axis", softmax_v13(ctx->node) ? -1 : 1);
    int r = x->shape.rank, ax;
    if (r == 0) return OT_INFER_ERROR(ctx, "input must be at least 1-D, got rank %d", r);
    if (r > 0 && !ot_norm_axis(axis, r, &ax))
        return OT_INFER_ERROR(ctx, "axis %lld out of range for rank %d", (long long)axis, r);
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

typedef struct softmax_state {
    int64_t outer, n, inner; /* x viewed as (outer, n, inner), normalized over n */
    bool log;
    dnnl_primitive_t prim;   /* NULL: reference loop */
    dnnl_memory_t src, dst;
} softmax_state_t;

static void softmax_release(ot_kernel_t *k) {
    softmax_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->dst) dnnl_memory_destroy(s->dst);
    free(s);
    k->state = NULL;
}

static ot_status_t *softmax_setup_common(ot_kernel_t *k, bool log) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    const ot_tensor_t *x = k->inputs[0];
    softmax_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    s->log = log;
    bool v13 = softmax_v13(k->node);
    int ax = 0;
    bool axis_ok = ot_norm_axis(ot_attr_int(k->node, "axis", v13 ? -1 : 1), x->shape.rank, &ax);
    OT_ASSERT(axis_ok && "axis checked in infer");
    s->outer = s->n = s->inner = 1;
    for (int i = 0; i < x->shape.rank; i++) {
        if (i < ax) s->outer *= x->shape.dims[i];
        else if (i == ax || !v13) s->n *= x->shape.dims[i];
        else s->inner *= x->shape.dims[i];
    }
    /* oneDNN 2.6 jits only inner == 1 (normalizing the innermost axis); its
     * generic kernel for strided lines is ~30x slower than our lane loop. */
    if (x->dtype != OT_DTYPE_FLOAT || s->outer * s->n * s->inner == 0 || s->inner > 1) return NULL;

    /* src = dst: (outer, n, inner), softmax over axis 1 */
    int64_t dims[3] = {s->outer, s->n, s->inner};
    ot_shape_t view = ot_shape_make(3, dims);
    dnnl_memory_desc_t md;
    OT_DNNL_TRY(ot_dnnl_md_plain(&md, &view, dnnl_f32));
    dnnl_status_t ds;
    if (log) {
        dnnl_logsoftmax_desc_t desc;
        OT_DNNL_TRY(dnnl_logsoftmax_forward_desc_init(&desc, dnnl_forward_inference, &md, 1));
        ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    } else {
        dnnl_softmax_desc_t desc;
        OT_DNNL_TRY(dnnl_softmax_forward_desc_init(&desc, dnnl_forward_inference, &md, 1));
        ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    }
    if (ds == dnnl_unimplemented) goto fail; /* reference loop */
    OT_DNNL_TRY(ds);
    const char *impl = NULL;
    OT_DNNL_TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    if (impl && strncmp(impl, "ref", 3) == 0) goto fail; /* ours is faster */
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static ot_status_t *softmax_setup(ot_kernel_t *k) { return softmax_setup_common(k, false); }
static ot_status_t *logsoftmax_setup(ot_kernel_t *k) { return softmax_setup_common(k, true); }

/* inner == 1: one contiguous line of n at a time (max and sums in double). */
#define SOFTMAX_LINES(T, EXP)                                                                       \
    static void softmax_lines_##T(const softmax_state_t *s, const T *x, T *y) {                     \
        int64_t lines = s->outer, n_ = s->n;                                                        \
        _Pragma("omp parallel for if (lines * n_ > 65536)") for (int64_t l = 0; l < lines; l++) {   \
            const T *xl = x + l * n_;                                                               \
            T *yl = y + l * n_;                                                                     \
            double mx = -INFINITY, sum = 0;                                                         \
            for (int64_t j = 0; j < n_; j++) mx = fmax(mx, (double)xl[j]);                          \
            for (int64_t j = 0; j < n_; j++) { /* y holds exp(x - max) until scaled */              \
                double e = EXP((T)(xl[j] - mx));                                                    \
                sum += e;                                                                           \
                if (!s->log) yl[j] = (T)e;                                                          \
            }                                                                                       \
            double lse = log(sum), inv = 1.0 / sum;                                                 \
            for (int64_t j = 0; j < n_; j++)                                                        \
                yl[j] = (T)(s->log ? (double)xl[j] - mx - lse : (double)yl[j] * inv);               \
        }                                                                                           \
    }

/* inner > 1: the lines are strided, so each task takes up to SOFTMAX_BLOCK
 * adjacent lines of one outer index and walks them together, reading
 * contiguous slices. */
#define SOFTMAX_BLOCK 128
#define SOFTMAX_LANES(T, EXP)                                                                                \
    static void softmax_lanes_##T(const softmax_state_t *s, const T *x, T *y) {                              \
        int64_t n_ = s->n, inner = s->inner;                                                                 \
        int64_t blocks = (inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK, tasks = s->outer * blocks;             \
        _Pragma("omp parallel for if (s->outer * n_ * inner > 65536)") for (int64_t t = 0; t < tasks; t++) { \
            int64_t o = t / blocks, j0 = (t % blocks) * SOFTMAX_BLOCK;                                       \
            int64_t jn = inner - j0 < SOFTMAX_BLOCK ? inner - j0 : SOFTMAX_BLOCK;                            \
            const T *xo = x + o * n_ * inner + j0; /* (n, inner) at lane j0 */                               \
            T *yo = y + o * n_ * inner + j0;                                                                 \
            double mx[SOFTMAX_BLOCK], sum[SOFTMAX_BLOCK];                                                    \
            for (int64_t j = 0; j < jn; j++) mx[j] = -INFINITY, sum[j] = 0;                                  \
            for (int64_t i = 0; i < n_; i++)                                                                 \
                for (int64_t j = 0; j < jn; j++) mx[j] = fmax(mx[j], (double)xo[i * inner + j]);             \
            for (int64_t i = 0; i < n_; i++) /* y holds exp(x - max) until scaled */                         \
                for (int64_t j = 0; j < jn; j++) {                                                           \
                    double e = EXP((T)(xo[i * inner + j] - mx[j]));                                          \
                    sum[j] += e;                                                                             \
                    if (!s->log) yo[i * inner + j] = (T)e;                                                   \
                }                                                                                            \
            for (int64_t j = 0; j < jn; j++) sum[j] = s->log ? log(sum[j]) : 1.0 / sum[j];                   \
            for (int64_t i = 0; i < n_; i++)                                                                 \
                for (int64_t j = 0; j < jn; j++)                                                             \
                    yo[i * inner + j] = (T)(s->log ? (double)xo[i * inner + j] - mx[j] - sum[j]              \
                                                   : (double)yo[i * inner + j] * sum[j]);                    \
        }                                                                                                    \
    }

#define SOFTMAX_REF(T, EXP)                                                                         \
    SOFTMAX_LINES(T, EXP)                                                                           \
    SOFTMAX_LANES(T, EXP)                                                                           \
    static void softmax_ref_##T(const softmax_state_t *s, const T *x, T *y) {                       \
        if (s->inner == 1) softmax_lines_##T(s, x, y);                                              \
        else softmax_lanes_##T(s, x, y);                                                            \
    }
SOFTMAX_REF(float, expf) /* exp in the element type: float is enough for float */
SOFTMAX_REF(double, exp)

static ot_status_t *softmax_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    softmax_state_t *s = k->state;
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    if (!s->prim) {
        if (x->dtype == OT_DTYPE_FLOAT) softmax_ref_float(s, x->data, y->data);
        else softmax_ref_double(s, x->data, y->data);
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

static ot_status_t *softmax_gradient(ot_grad_ctx_t *ctx);
static ot_status_t *logsoftmax_gradient(ot_grad_ctx_t *ctx);

#define SOFTMAX_RECORD(OP, VER, SETUP, GRAD, DOC)                                                         \
    const ot_op_def_t ot_op_##OP##_##VER = {                                                        \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = "",                                                                               \
        .op_type = #OP,                                                                             \
        .since_version = VER,                                                                       \
        .min_inputs = 1, .max_inputs = 1,                                                           \
        .min_outputs = 1, .max_outputs = 1,                                                         \
        .attrs = softmax_attrs,                                                                     \
        .flags = OT_OP_ONEDNN,                                                                      \
        .infer = softmax_infer,                                                                     \
        .setup = SETUP,                                                                             \
        .run = softmax_run,                                                                         \
        .release = softmax_release,                                                                 \
        .gradient = GRAD,                                                                           \
        .doc = DOC,                                                                                 \
    };

/* 1: coerced to 2-D at axis (default 1); 11: negative axis allowed;
 * 13: a single axis (default -1). Kernels read node->opset for 1/11 vs 13. */
#define SOFTMAX_DOC "y = exp(x - max) / sum exp(x - max) over axis"
#define LOGSOFTMAX_DOC "y = x - max - log(sum exp(x - max)) over axis"
SOFTMAX_RECORD(Softmax, 1, softmax_setup, softmax_gradient, SOFTMAX_DOC " (input coerced to 2-D)")
SOFTMAX_RECORD(Softmax, 11, softmax_setup, softmax_gradient, SOFTMAX_DOC " (input coerced to 2-D)")
SOFTMAX_RECORD(Softmax, 13, softmax_setup, softmax_gradient, SOFTMAX_DOC)
SOFTMAX_RECORD(LogSoftmax, 1, logsoftmax_setup, logsoftmax_gradient, LOGSOFTMAX_DOC " (input coerced to 2-D)")
SOFTMAX_RECORD(LogSoftmax, 11, logsoftmax_setup, logsoftmax_gradient, LOGSOFTMAX_DOC " (input coerced to 2-D)")
SOFTMAX_RECORD(LogSoftmax, 13, logsoftmax_setup, logsoftmax_gradient, LOGSOFTMAX_DOC)

/* ---- gradients -------------------------------------------------------------
 * ONNX Runtime's ops (com.microsoft), which read the forward output Y:
 *   SoftmaxGrad(dY, Y):    dX = Y * (dY - sum(dY * Y))
 *   LogSoftmaxGrad(dY, Y): dX = dY - exp(Y) * sum(dY)
 * sums over the normalized dims. SoftmaxGrad / LogSoftmaxGrad take the axis
 * as Softmax-1/11 do (coerced to 2-D, default 1); SoftmaxGrad_13 /
 * LogSoftmaxGrad_13 as Softmax-13 (one axis, default -1). The rule picks
 * the pair by the forward node's opset, as ORT's gradient builder does.
 * float32 with the normalized axis innermost runs on oneDNN's softmax /
 * logsoftmax backward (forward-training descriptor as the hint); the rest
 * on our loops, summing in double. */

static ot_status_t *softmax_gradient_common(ot_grad_ctx_t *ctx, bool log) {
    const char *op = softmax_v13(ctx->node) ? (log ? "LogSoftmaxGrad_13" : "SoftmaxGrad_13")
                                            : (log ? "LogSoftmaxGrad" : "SoftmaxGrad");
    const ot_attr_t *axis = ot_node_attr(ctx->node, "axis");
    int in[2] = {ctx->doutputs[0], ctx->outputs[0]};
    return ot_grad_emit(ctx, "com.microsoft", op, 2, in, 1, &ctx->dinputs[0], axis ? 1 : 0, axis);
}
static ot_status_t *softmax_gradient(ot_grad_ctx_t *ctx) { return softmax_gradient_common(ctx, false); }
static ot_status_t *logsoftmax_gradient(ot_grad_ctx_t *ctx) { return softmax_gradient_common(ctx, true); }

/* The _13 ops normalize one axis; the others the coerced-2-D tail. */
static bool softmax_grad_v13(const ot_node_info_t *node) { return strstr(node->op_type, "_13") != NULL; }
static bool softmax_grad_log(const ot_node_info_t *node) { return strncmp(node->op_type, "Log", 3) == 0; }

static ot_status_t *softmax_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *y = ctx->inputs[1];
    if (dy->dtype != y->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and Y (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(y->dtype));
    const ot_shape_t *s = dy->shape.rank >= 0 ? &dy->shape : &y->shape;
    int64_t axis = ot_attr_int(ctx->node, "axis", softmax_grad_v13(ctx->node) ? -1 : 1);
    int ax;
    if (s->rank == 0) return OT_INFER_ERROR(ctx, "dY must be at least 1-D, got rank 0");
    if (s->rank > 0 && !ot_norm_axis(axis, s->rank, &ax))
        return OT_INFER_ERROR(ctx, "axis %lld out of range for rank %d", (long long)axis, s->rank);
    if (dy->shape.rank >= 0 && y->shape.rank >= 0) {
        bool same = dy->shape.rank == y->shape.rank;
        for (int i = 0; same && i < dy->shape.rank; i++)
            same = dy->shape.dims[i] < 0 || y->shape.dims[i] < 0 || dy->shape.dims[i] == y->shape.dims[i];
        if (!same) {
            char a[128], c[128];
            return OT_INFER_ERROR(ctx, "dY %s and Y %s differ in shape", ot_shape_str(&dy->shape, a, sizeof a),
                                  ot_shape_str(&y->shape, c, sizeof c));
        }
    }
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = *s;
    return NULL;
}

typedef struct softmax_grad_state {
    int64_t outer, n, inner; /* as softmax_state_t */
    bool log;
    dnnl_primitive_t prim;   /* NULL: reference loop */
    dnnl_memory_t dst, diff_dst, diff_src;
} softmax_grad_state_t;

static void softmax_grad_release(ot_kernel_t *k) {
    softmax_grad_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->dst) dnnl_memory_destroy(s->dst);
    if (s->diff_dst) dnnl_memory_destroy(s->diff_dst);
    if (s->diff_src) dnnl_memory_destroy(s->diff_src);
    free(s);
    k->state = NULL;
}

static ot_status_t *softmax_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    const ot_tensor_t *dy = k->inputs[0], *y = k->inputs[1];
    softmax_grad_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    s->log = softmax_grad_log(k->node);
    bool v13 = softmax_grad_v13(k->node);
    if (ot_shape_numel(&dy->shape) != ot_shape_numel(&y->shape))
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_MODEL, "dY and Y differ in size");
    int ax = 0;
    bool axis_ok = ot_norm_axis(ot_attr_int(k->node, "axis", v13 ? -1 : 1), dy->shape.rank, &ax);
    OT_ASSERT(axis_ok && "axis checked in infer");
    s->outer = s->n = s->inner = 1;
    for (int i = 0; i < dy->shape.rank; i++) {
        if (i < ax) s->outer *= dy->shape.dims[i];
        else if (i == ax || !v13) s->n *= dy->shape.dims[i];
        else s->inner *= dy->shape.dims[i];
    }
    if (dy->dtype != OT_DTYPE_FLOAT || s->outer * s->n * s->inner == 0 || s->inner > 1) return NULL;

    /* dst = diff_dst = diff_src: (outer, n), softmax over axis 1 */
    int64_t dims[2] = {s->outer, s->n};
    ot_shape_t view = ot_shape_make(2, dims);
    dnnl_memory_desc_t md;
    OT_DNNL_TRY(ot_dnnl_md_plain(&md, &view, dnnl_f32));
    dnnl_engine_t eng = (dnnl_engine_t)k->engine;
    dnnl_status_t ds;
    if (s->log) {
        dnnl_logsoftmax_desc_t fwd, bwd;
        OT_DNNL_TRY(dnnl_logsoftmax_forward_desc_init(&fwd, dnnl_forward_training, &md, 1));
        OT_DNNL_TRY(dnnl_primitive_desc_create(&fwd_pd, &fwd, NULL, eng, NULL));
        OT_DNNL_TRY(dnnl_logsoftmax_backward_desc_init(&bwd, &md, &md, 1));
        ds = dnnl_primitive_desc_create(&pd, &bwd, NULL, eng, fwd_pd);
    } else {
        dnnl_softmax_desc_t fwd, bwd;
        OT_DNNL_TRY(dnnl_softmax_forward_desc_init(&fwd, dnnl_forward_training, &md, 1));
        OT_DNNL_TRY(dnnl_primitive_desc_create(&fwd_pd, &fwd, NULL, eng, NULL));
        OT_DNNL_TRY(dnnl_softmax_backward_desc_init(&bwd, &md, &md, 1));
        ds = dnnl_primitive_desc_create(&pd, &bwd, NULL, eng, fwd_pd);
    }
    if (ds == dnnl_unimplemented) goto fail; /* reference loop */
    OT_DNNL_TRY(ds);
    const char *impl = NULL;
    OT_DNNL_TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    if (impl && strncmp(impl, "ref", 3) == 0) goto fail; /* ours is faster */
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_dst, &md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->diff_src, &md, eng, DNNL_MEMORY_NONE));
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fwd_pd) dnnl_primitive_desc_destroy(fwd_pd);
    return st;
}

/* One (outer, lane) line at a time: n elements `inner` apart. */
#define SOFTMAX_GRAD_REF(T, EXP)                                                                          \
    static void softmax_grad_ref_##T(const softmax_grad_state_t *s, const T *dy, const T *y, T *dx) {     \
        int64_t n_ = s->n, inner = s->inner, lines = s->outer * s->inner;                                 \
        _Pragma("omp parallel for if (lines * n_ > 65536)") for (int64_t l = 0; l < lines; l++) {         \
            int64_t base = (l / inner) * n_ * inner + l % inner;                                          \
            double sum = 0;                                                                               \
            if (s->log) {                                                                                 \
                for (int64_t j = 0; j < n_; j++) sum += dy[base + j * inner];                             \
                for (int64_t j = 0; j < n_; j++) {                                                        \
                    int64_t i = base + j * inner;                                                         \
                    dx[i] = (T)((double)dy[i] - EXP(y[i]) * sum);                                         \
                }                                                                                         \
            } else {                                                                                      \
                for (int64_t j = 0; j < n_; j++) sum += (double)dy[base + j * inner] * y[base + j * inner]; \
                for (int64_t j = 0; j < n_; j++) {                                                        \
                    int64_t i = base + j * inner;                                                         \
                    dx[i] = (T)((double)y[i] * ((double)dy[i] - sum));                                    \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }
SOFTMAX_GRAD_REF(float, expf)
SOFTMAX_GRAD_REF(double, exp)

static ot_status_t *softmax_grad_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    softmax_grad_state_t *s = k->state;
    const ot_tensor_t *dy = k->inputs[0], *y = k->inputs[1];
    ot_tensor_t *dx = k->outputs[0];
    if (!s->prim) {
        if (dy->dtype == OT_DTYPE_FLOAT) softmax_grad_ref_float(s, dy->data, y->data, dx->data);
        else softmax_grad_ref_double(s, dy->data, y->data, dx->data);
        return NULL;
    }
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_dst, dy->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->diff_src, dx->data));
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_DST, s->dst}, {DNNL_ARG_DIFF_DST, s->diff_dst}, {DNNL_ARG_DIFF_SRC, s->diff_src}};
    dnnl_stream_t strm = (dnnl_stream_t)k->stream;
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, strm, 3, args));
    OT_DNNL_TRY(dnnl_stream_wait(strm));
fail:
    return st;
}

#define SOFTMAX_GRAD_RECORD(OP, DOC)                                                                \
    const ot_op_def_t ot_op_ms_##OP##_1 = {                                                         \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = "com.microsoft",                                                                  \
        .op_type = #OP,                                                                             \
        .since_version = 1,                                                                         \
        .min_inputs = 2, .max_inputs = 2,                                                           \
        .min_outputs = 1, .max_outputs = 1,                                                         \
        .attrs = softmax_attrs,                                                                     \
        .flags = OT_OP_ONEDNN,                                                                      \
        .infer = softmax_grad_infer,                                                                \
        .setup = softmax_grad_setup,                                                                \
        .run = softmax_grad_run,                                                                    \
        .release = softmax_grad_release,                                                            \
        .doc = DOC,                                                                                 \
    };
SOFTMAX_GRAD_RECORD(SoftmaxGrad, "dX = Y * (dY - sum(dY * Y)) over the coerced-2-D tail from axis (default 1)")
SOFTMAX_GRAD_RECORD(SoftmaxGrad_13, "dX = Y * (dY - sum(dY * Y)) over axis (default -1)")
SOFTMAX_GRAD_RECORD(LogSoftmaxGrad, "dX = dY - exp(Y) * sum(dY) over the coerced-2-D tail from axis (default 1)")
SOFTMAX_GRAD_RECORD(LogSoftmaxGrad_13, "dX = dY - exp(Y) * sum(dY) over axis (default -1)")
