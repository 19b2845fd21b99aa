/* ops/unary.c: the unary math family, one element in, one out (ONNX -6/-13;
 * -13 only adds bfloat16, so one record at since 6 serves opsets 6..17):
 *
 *   Sqrt: y = sqrt(x)        Exp: y = e^x          Log: y = ln(x)
 *   Neg:  y = -x             Tanh: y = tanh(x)
 *   Sigmoid: y = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0 so
 *            neither branch overflows for large |x|.
 *
 * float32 Sqrt/Exp/Sigmoid/Tanh of at least UNARY_DNNL_MIN elements run as a
 * oneDNN eltwise primitive: JIT AVX-512 code, measured 4-35x faster than the
 * libm loops (1M elements, 2 threads: tanh 0.20 vs 7.5 ms, exp 0.17 vs
 * 0.86 ms), within 0.5 (sqrt), 1.2 (tanh), ~5 (exp, sigmoid) ulp, except
 * that results below ~1.6e-38 flush to 0. Log stays on libm: oneDNN's log
 * is off by ~1.4e-6 absolute near 1 (log(1) = -1.4e-6). Neg is a copy with
 * a sign flip, as fast in a plain loop. Smaller tensors, float64 and integer
 * Neg run libm/plain loops (OpenMP above UNARY_PARALLEL_MIN). If oneDNN has
 * no implementation, setup falls back to the loops.
 * Types: float, double; Neg also int8/16/32/64 (wrapping: -INT_MIN is
 * INT_MIN). Not here: Relu (ops/relu.c), float16/bfloat16.
 *
 * Gradients: Sqrt dX = dY / (2Y), Exp dX = dY * Y, Log dX = dY / X,
 * Neg dX = -dY (composed from Mul/Div/Neg); Sigmoid and Tanh emit ONNX
 * Runtime's com.microsoft::SigmoidGrad(dY, Y) / TanhGrad(dY, Y), defined
 * at the end of this file.
 */
#include "ops/dnnl_util.h"
#include "ops/grad_util.h"

#include <math.h>
#include <stdlib.h>

/* Below this a serial libm loop beats oneDNN, whose execute costs ~3.5 us
 * with 2 threads (its OpenMP region) even for a handful of elements. */
#define UNARY_DNNL_MIN 2048
/* Below this the loop runs on one thread. An explicit branch, not an
 * `omp parallel if (...)` clause: libgomp charges ~1.2 us for a parallel
 * region even when the clause is false (measured here). */
#define UNARY_PARALLEL_MIN 32768

typedef enum unop { UNOP_SQRT, UNOP_EXP, UNOP_LOG, UNOP_NEG, UNOP_SIGMOID, UNOP_TANH, UNOP_COUNT } unop_t;

/* ---- reference loops ------------------------------------------------------ */

static inline float sigmoid_f32(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    float e = expf(x);
    return e / (1.f + e);
}
static inline double sigmoid_f64(double x) {
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

#define OT_UNARY_LOOP(T, EXPR)                                                                \
    do {                                                                                      \
        const T *restrict src = x->data;                                                      \
        T *restrict dst = y->data;                                                            \
        if (n > UNARY_PARALLEL_MIN) {                                                         \
            _Pragma("omp parallel for simd")                                                  \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T v = src[i];                                                                 \
                dst[i] = (EXPR);                                                              \
            }                                                                                 \
        } else {                                                                              \
            _Pragma("omp simd")                                                               \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T v = src[i];                                                                 \
                dst[i] = (EXPR);                                                              \
            }                                                                                 \
        }                                                                                     \
    } while (0)

static void unary_loop_f32(unop_t op, const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    switch (op) {
    case UNOP_SQRT: OT_UNARY_LOOP(float, sqrtf(v)); break;
    case UNOP_EXP: OT_UNARY_LOOP(float, expf(v)); break;
    case UNOP_LOG: OT_UNARY_LOOP(float, logf(v)); break;
    case UNOP_NEG: OT_UNARY_LOOP(float, -v); break;
    case UNOP_SIGMOID: OT_UNARY_LOOP(float, sigmoid_f32(v)); break;
    case UNOP_TANH: OT_UNARY_LOOP(float, tanhf(v)); break;
    default: OT_ASSERT(0 && "bad unary op");
    }
}

static void unary_loop_f64(unop_t op, const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    switch (op) {
    case UNOP_SQRT: OT_UNARY_LOOP(double, sqrt(v)); break;
    case UNOP_EXP: OT_UNARY_LOOP(double, exp(v)); break;
    case UNOP_LOG: OT_UNARY_LOOP(double, log(v)); break;
    case UNOP_NEG: OT_UNARY_LOOP(double, -v); break;
    case UNOP_SIGMOID: OT_UNARY_LOOP(double, sigmoid_f64(v)); break;
    case UNOP_TANH: OT_UNARY_LOOP(double, tanh(v)); break;
    default: OT_ASSERT(0 && "bad unary op");
    }
}

/* Integer Neg through the unsigned type: wraps instead of overflowing. */
static void neg_loop_int(const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    switch (x->dtype) {
    case OT_DTYPE_INT8: OT_UNARY_LOOP(int8_t, (int8_t)(0u - (unsigned)v)); break;
    case OT_DTYPE_INT16: OT_UNARY_LOOP(int16_t, (int16_t)(0u - (unsigned)v)); break;
    case OT_DTYPE_INT32: OT_UNARY_LOOP(int32_t, (int32_t)(0u - (uint32_t)v)); break;
    case OT_DTYPE_INT64: OT_UNARY_LOOP(int64_t, (int64_t)(0u - (uint64_t)v)); break;
    default: OT_ASSERT(0 && "dtype checked in infer");
    }
}

/* ---- inference ------------------------------------------------------------ */

static bool dtype_ok(unop_t op, ot_dtype_t dt) {
    if (dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE) return true;
    return op == UNOP_NEG &&
           (dt == OT_DTYPE_INT8 || dt == OT_DTYPE_INT16 || dt == OT_DTYPE_INT32 || dt == OT_DTYPE_INT64);
}

static ot_status_t *unary_infer(ot_infer_ctx_t *ctx, unop_t op) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (!dtype_ok(op, x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported",
                             ot_dtype_name(x->dtype));
    if (!ctx->outputs[0]) return NULL; /* output not requested */
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

/* ---- kernel ----------------------------------------------------------------- */

/* Present only when the oneDNN path is used. */
typedef struct unary_state {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} unary_state_t;

static void unary_release(ot_kernel_t *k) {
    unary_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->dst) dnnl_memory_destroy(s->dst);
    free(s);
    k->state = NULL;
}

static ot_status_t *unary_setup(ot_kernel_t *k, unop_t op) {
    /* 0: no oneDNN path (see the header comment). */
    static const dnnl_alg_kind_t algs[UNOP_COUNT] = {
        [UNOP_SQRT] = dnnl_eltwise_sqrt,
        [UNOP_EXP] = dnnl_eltwise_exp,
        [UNOP_SIGMOID] = dnnl_eltwise_logistic,
        [UNOP_TANH] = dnnl_eltwise_tanh,
    };
    const ot_tensor_t *x = k->inputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    k->state = NULL;
    if (x->dtype != OT_DTYPE_FLOAT || n < UNARY_DNNL_MIN || !algs[op]) return NULL;

    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    unary_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    /* The tensor is dense, so a flat 1-D view is exact for any rank. */
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {n};
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
    dnnl_eltwise_desc_t desc;
    OT_DNNL_TRY(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, algs[op], &md, 0.f, 0.f));
    dnnl_status_t ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    if (ds == dnnl_unimplemented) { /* the loops cover it */
        unary_release(k);
        return NULL;
    }
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &md, (dnnl_engine_t)k->engine, DNNL_MEMORY_NONE));
    dnnl_primitive_desc_destroy(pd);
    return NULL;
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    unary_release(k);
    return st;
}

static ot_status_t *unary_run(ot_kernel_t *k, unop_t op) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    unary_state_t *s = k->state;
    if (!y) return NULL; /* output not requested */
    if (s) {
        ot_status_t *st = NULL;
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, x->data));
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y->data));
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}};
        OT_DNNL_TRY(dnnl_primitive_execute(s->prim, (dnnl_stream_t)k->stream, 2, args));
        OT_DNNL_TRY(dnnl_stream_wait((dnnl_stream_t)k->stream));
        return NULL;
    fail:
        return st;
    }
    if (x->dtype == OT_DTYPE_FLOAT) unary_loop_f32(op, x, y, n);
    else if (x->dtype == OT_DTYPE_DOUBLE) unary_loop_f64(op, x, y, n);
    else neg_loop_int(x, y, n);
    return NULL;
}

/* ---- gradient rules ------------------------------------------------------
 * Composed from ops whose signature is stable across opsets, reading the
 * output where that is cheaper to keep than the input (Sqrt, Exp). */

/* dX = dY / (2 Y) */
static ot_status_t *sqrt_gradient(ot_grad_ctx_t *ctx) {
    int two, t;
    ot_status_t *st = ot_grad_scalar(ctx, ctx->output_types[0]->dtype, 2.0, &two);
    if (!st) st = ot_grad_op2(ctx, "", "Mul", ctx->outputs[0], two, &t);
    if (!st) st = ot_grad_op2(ctx, "", "Div", ctx->doutputs[0], t, &ctx->dinputs[0]);
    return st;
}

/* dX = dY * Y */
static ot_status_t *exp_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_op2(ctx, "", "Mul", ctx->doutputs[0], ctx->outputs[0], &ctx->dinputs[0]);
}

/* dX = dY / X */
static ot_status_t *log_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_op2(ctx, "", "Div", ctx->doutputs[0], ctx->inputs[0], &ctx->dinputs[0]);
}

/* dX = -dY */
static ot_status_t *neg_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_op1(ctx, "", "Neg", ctx->doutputs[0], &ctx->dinputs[0]);
}

/* ONNX Runtime's SigmoidGrad(dY, Y) and TanhGrad(dY, Y): read the output. */
static ot_status_t *sigmoid_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_op2(ctx, "com.microsoft", "SigmoidGrad", ctx->doutputs[0], ctx->outputs[0], &ctx->dinputs[0]);
}

static ot_status_t *tanh_gradient(ot_grad_ctx_t *ctx) {
    return ot_grad_op2(ctx, "com.microsoft", "TanhGrad", ctx->doutputs[0], ctx->outputs[0], &ctx->dinputs[0]);
}

#define OT_UNARY_RECORD(Op, OPC, since, flags_, grad_fn, doc_)                                \
    static ot_status_t *Op##_infer(ot_infer_ctx_t *ctx) { return unary_infer(ctx, OPC); }     \
    static ot_status_t *Op##_setup(ot_kernel_t *k) { return unary_setup(k, OPC); }            \
    static ot_status_t *Op##_run(ot_kernel_t *k) { return unary_run(k, OPC); }                \
    const ot_op_def_t ot_op_##Op##_##since = {                                                \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                 \
        .domain = "",                                                                         \
        .op_type = #Op,                                                                       \
        .since_version = since,                                                               \
        .min_inputs = 1, .max_inputs = 1,                                                     \
        .min_outputs = 1, .max_outputs = 1,                                                   \
        .flags = flags_,                                                                      \
        .infer = Op##_infer,                                                                  \
        .setup = Op##_setup,                                                                  \
        .run = Op##_run,                                                                      \
        .release = unary_release,                                                             \
        .gradient = grad_fn,                                                                  \
        .doc = doc_,                                                                          \
    };

OT_UNARY_RECORD(Sqrt, UNOP_SQRT, 6, OT_OP_ONEDNN, sqrt_gradient, "y = sqrt(x)")
OT_UNARY_RECORD(Exp, UNOP_EXP, 6, OT_OP_ONEDNN, exp_gradient, "y = exp(x)")
OT_UNARY_RECORD(Log, UNOP_LOG, 6, 0, log_gradient, "y = log(x)")
OT_UNARY_RECORD(Neg, UNOP_NEG, 6, 0, neg_gradient, "y = -x")
OT_UNARY_RECORD(Sigmoid, UNOP_SIGMOID, 6, OT_OP_ONEDNN, sigmoid_gradient, "y = 1 / (1 + exp(-x))")
OT_UNARY_RECORD(Tanh, UNOP_TANH, 6, OT_OP_ONEDNN, tanh_gradient, "y = tanh(x)")

/* ---- backward ops: com.microsoft::SigmoidGrad / TanhGrad (dY, Y) -> dX ----
 * ONNX Runtime's definitions: dX = dY * Y * (1 - Y) and dX = dY * (1 - Y^2).
 * Bandwidth-bound fused loops (a oneDNN eltwise backward would add its
 * ~3.5 us call overhead and a forward descriptor for nothing). */

typedef enum ygrad { YGRAD_SIGMOID, YGRAD_TANH } ygrad_t;

static ot_status_t *ygrad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *y = ctx->inputs[1];
    if (dy->dtype != y->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and Y (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(y->dtype));
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = dy->shape.rank >= 0 ? dy->shape : y->shape;
    return NULL;
}

#define YGRAD_LOOP(T, EXPR)                                                                   \
    do {                                                                                      \
        const T *restrict pdy = k->inputs[0]->data, *restrict py = k->inputs[1]->data;        \
        T *restrict dx = k->outputs[0]->data;                                                 \
        if (n > UNARY_PARALLEL_MIN) {                                                         \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) {                \
                T d = pdy[i], y = py[i];                                                      \
                dx[i] = (EXPR);                                                               \
            }                                                                                 \
        } else {                                                                              \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T d = pdy[i], y = py[i];                                                      \
                dx[i] = (EXPR);                                                               \
            }                                                                                 \
        }                                                                                     \
    } while (0)

static ot_status_t *ygrad_run(ot_kernel_t *k, ygrad_t op) {
    if (!k->outputs[0]) return NULL;
    int64_t n = ot_shape_numel(&k->outputs[0]->shape);
    if (ot_shape_numel(&k->inputs[0]->shape) != n || ot_shape_numel(&k->inputs[1]->shape) != n)
        return OT_KERNEL_ERROR(k, "dY and Y differ in size");
    bool f32 = k->inputs[0]->dtype == OT_DTYPE_FLOAT;
    if (op == YGRAD_SIGMOID) {
        if (f32) YGRAD_LOOP(float, d * y * (1.f - y));
        else YGRAD_LOOP(double, d * y * (1.0 - y));
    } else {
        if (f32) YGRAD_LOOP(float, d * (1.f - y * y));
        else YGRAD_LOOP(double, d * (1.0 - y * y));
    }
    return NULL;
}

static ot_status_t *sigmoid_grad_run(ot_kernel_t *k) { return ygrad_run(k, YGRAD_SIGMOID); }
static ot_status_t *tanh_grad_run(ot_kernel_t *k) { return ygrad_run(k, YGRAD_TANH); }

const ot_op_def_t ot_op_ms_SigmoidGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "SigmoidGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .infer = ygrad_infer,
    .run = sigmoid_grad_run,
    .doc = "dX = dY * Y * (1 - Y)",
};

const ot_op_def_t ot_op_ms_TanhGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "TanhGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .infer = ygrad_infer,
    .run = tanh_grad_run,
    .doc = "dX = dY * (1 - Y^2)",
};
