/* ops/activations.c: one-input activations with a parameterless or
 * attribute-parameterized formula, and a fused backward op each that reads
 * the forward input X:
 *
 *   LeakyRelu-6/16   y = x >= 0 ? x : alpha x                  (alpha 0.01)
 *     dX = dY * (x > 0 ? 1 : alpha)                             torch: alpha at 0
 *   HardSigmoid-6    y = max(0, min(1, alpha x + beta))         (alpha 0.2, beta 0.5)
 *     dX = dY * alpha where 0 < alpha x + beta < 1, else 0      torch: 0 at the kinks
 *   HardSwish-14     y = x max(0, min(1, x/6 + 1/2)) = x relu6(x + 3) / 6
 *     dX = dY * (x < -3 ? 0 : x <= 3 ? x/3 + 1/2 : 1)           torch: inner formula at +-3
 *   Softplus-1       y = ln(1 + e^x), as max(x, 0) + log1p(e^-|x|)
 *     dX = dY * sigmoid(x)
 *   Abs-6/13         y = |x|
 *     dX = dY * sign(x)                                         torch: 0 at 0
 *   Erf-9/13         y = erf(x)
 *     dX = dY * 2/sqrt(pi) * e^(-x^2)
 *   com.microsoft::Gelu-1   y = x Phi(x) = x/2 (1 + erf(x / sqrt 2))
 *     com.microsoft::GeluGrad(dY, X) = dY * (Phi(x) + x phi(x)), phi the N(0,1) density
 *
 * The backward ops are ONNX Runtime's GeluGrad(dY, X) and, where ONNX
 * Runtime has none, ai.onnxtrain::<Op>Grad(dY, X) carrying the forward
 * node's attributes (same names and defaults). The conventions at kinks are
 * torch 1.13's (leaky_relu_backward, hardsigmoid_backward,
 * hardswish_backward, abs's sgn), checked in tests/test_grad_elementwise.cc.
 *
 * Kernels: float32 forwards of at least ACT_DNNL_MIN elements run a oneDNN
 * 2.6 eltwise primitive where one exists (relu with alpha = LeakyRelu,
 * hardswish, abs, gelu_erf), created once in setup; everything else
 * (float64, small tensors, HardSigmoid, Erf, Softplus (oneDNN's soft_relu
 * loses precision for x << 0), all backward ops) is a simd loop, OpenMP above ACT_PARALLEL_MIN elements. The backward
 * loops compute in the tensor's own type, so float32 results are within a
 * few float32 ulps of the float64 formula. Abs also takes integer types
 * (two's complement: |INT_MIN| = INT_MIN; unsigned: copy).
 * Not here: Relu (ops/relu.c), Sigmoid/Tanh (ops/unary.c), float16.
 */
#include "ops/dnnl_util.h"
#include "ops/grad_util.h"

#include <math.h>
#include <stdlib.h>

/* as in ops/unary.c: oneDNN's execute costs a few us, a parallel region ~1 us */
#define ACT_DNNL_MIN 2048
#define ACT_PARALLEL_MIN 32768

#define ACT_SQRT1_2 0.70710678118654752440   /* 1/sqrt(2) */
#define ACT_2_SQRTPI 1.12837916709551257390  /* 2/sqrt(pi) */
#define ACT_1_SQRT2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */

typedef enum act {
    ACT_LEAKY_RELU,
    ACT_HARD_SIGMOID,
    ACT_HARD_SWISH,
    ACT_SOFTPLUS,
    ACT_ABS,
    ACT_ERF,
    ACT_GELU,
    ACT_COUNT
} act_t;

/* Attribute values, as float32 (their type in the model) widened. */
typedef struct act_par {
    double alpha, beta;
} act_par_t;

static act_par_t act_params(act_t op, const ot_node_info_t *node) {
    act_par_t p = {0, 0};
    if (op == ACT_LEAKY_RELU) p.alpha = ot_attr_float(node, "alpha", 0.01f);
    if (op == ACT_HARD_SIGMOID) {
        p.alpha = ot_attr_float(node, "alpha", 0.2f);
        p.beta = ot_attr_float(node, "beta", 0.5f);
    }
    return p;
}

/* ---- loops ---------------------------------------------------------------- */

/* dst[i] = EXPR(v = src[i]) */
#define ACT_LOOP(T, EXPR)                                                                     \
    do {                                                                                      \
        const T *restrict src = x->data;                                                      \
        T *restrict dst = y->data;                                                            \
        if (n > ACT_PARALLEL_MIN) {                                                           \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) {                \
                T v = src[i];                                                                 \
                dst[i] = (EXPR);                                                              \
            }                                                                                 \
        } else {                                                                              \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T v = src[i];                                                                 \
                dst[i] = (EXPR);                                                              \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* dx[i] = EXPR(d = dy[i], v = x[i]) */
#define ACT_GRAD_LOOP(T, EXPR)                                                                \
    do {                                                                                      \
        const T *restrict pdy = k->inputs[0]->data, *restrict px = k->inputs[1]->data;        \
        T *restrict dx = k->outputs[0]->data;                                                 \
        if (n > ACT_PARALLEL_MIN) {                                                           \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) {                \
                T d = pdy[i], v = px[i];                                                      \
                dx[i] = (EXPR);                                                               \
            }                                                                                 \
        } else {                                                                              \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T d = pdy[i], v = px[i];                                                      \
                dx[i] = (EXPR);                                                               \
            }                                                                                 \
        }                                                                                     \
    } while (0)

static inline float sigmoid_f(float v) {
    float e = expf(-fabsf(v));
    return v >= 0 ? 1.f / (1.f + e) : e / (1.f + e);
}
static inline double sigmoid_d(double v) {
    double e = exp(-fabs(v));
    return v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

static void act_fwd_f32(act_t op, act_par_t p, const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    const float a = (float)p.alpha, b = (float)p.beta;
    switch (op) {
    case ACT_LEAKY_RELU: ACT_LOOP(float, v >= 0.f ? v : a * v); break;
    case ACT_HARD_SIGMOID: ACT_LOOP(float, fmaxf(0.f, fminf(1.f, a * v + b))); break;
    case ACT_HARD_SWISH: ACT_LOOP(float, v * fminf(fmaxf(v + 3.f, 0.f), 6.f) / 6.f); break;
    case ACT_SOFTPLUS: ACT_LOOP(float, fmaxf(v, 0.f) + log1pf(expf(-fabsf(v)))); break;
    case ACT_ABS: ACT_LOOP(float, fabsf(v)); break;
    case ACT_ERF: ACT_LOOP(float, erff(v)); break;
    case ACT_GELU: ACT_LOOP(float, 0.5f * v * (1.f + erff(v * (float)ACT_SQRT1_2))); break;
    default: OT_ASSERT(0 && "bad activation");
    }
}

static void act_fwd_f64(act_t op, act_par_t p, const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    const double a = p.alpha, b = p.beta;
    switch (op) {
    case ACT_LEAKY_RELU: ACT_LOOP(double, v >= 0 ? v : a * v); break;
    case ACT_HARD_SIGMOID: ACT_LOOP(double, fmax(0.0, fmin(1.0, a * v + b))); break;
    case ACT_HARD_SWISH: ACT_LOOP(double, v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0); break;
    case ACT_SOFTPLUS: ACT_LOOP(double, fmax(v, 0.0) + log1p(exp(-fabs(v)))); break;
    case ACT_ABS: ACT_LOOP(double, fabs(v)); break;
    case ACT_ERF: ACT_LOOP(double, erf(v)); break;
    case ACT_GELU: ACT_LOOP(double, 0.5 * v * (1.0 + erf(v * ACT_SQRT1_2))); break;
    default: OT_ASSERT(0 && "bad activation");
    }
}

/* Integer Abs through the unsigned type: |INT_MIN| wraps to INT_MIN. */
static void abs_int(const ot_tensor_t *x, ot_tensor_t *y, int64_t n) {
    switch (x->dtype) {
    case OT_DTYPE_INT8: ACT_LOOP(int8_t, (int8_t)(v < 0 ? 0u - (unsigned)v : (unsigned)v)); break;
    case OT_DTYPE_INT16: ACT_LOOP(int16_t, (int16_t)(v < 0 ? 0u - (unsigned)v : (unsigned)v)); break;
    case OT_DTYPE_INT32: ACT_LOOP(int32_t, (int32_t)(v < 0 ? 0u - (uint32_t)v : (uint32_t)v)); break;
    case OT_DTYPE_INT64: ACT_LOOP(int64_t, (int64_t)(v < 0 ? 0u - (uint64_t)v : (uint64_t)v)); break;
    default: memcpy(y->data, x->data, (size_t)n * ot_dtype_size(x->dtype)); break; /* unsigned */
    }
}

static void act_bwd_f32(act_t op, act_par_t p, ot_kernel_t *k, int64_t n) {
    const float a = (float)p.alpha, b = (float)p.beta;
    switch (op) {
    case ACT_LEAKY_RELU: ACT_GRAD_LOOP(float, v > 0.f ? d : a * d); break;
    case ACT_HARD_SIGMOID: ACT_GRAD_LOOP(float, (a * v + b > 0.f && a * v + b < 1.f) ? a * d : 0.f); break;
    case ACT_HARD_SWISH: ACT_GRAD_LOOP(float, v < -3.f ? 0.f : v <= 3.f ? d * (v / 3.f + 0.5f) : d); break;
    case ACT_SOFTPLUS: ACT_GRAD_LOOP(float, d * sigmoid_f(v)); break;
    case ACT_ABS: ACT_GRAD_LOOP(float, v > 0.f ? d : v < 0.f ? -d : 0.f); break;
    case ACT_ERF: ACT_GRAD_LOOP(float, d * (float)ACT_2_SQRTPI * expf(-v * v)); break;
    case ACT_GELU:
        ACT_GRAD_LOOP(float, d * (0.5f * (1.f + erff(v * (float)ACT_SQRT1_2)) +
                                  v * (float)ACT_1_SQRT2PI * expf(-0.5f * v * v)));
        break;
    default: OT_ASSERT(0 && "bad activation");
    }
}

static void act_bwd_f64(act_t op, act_par_t p, ot_kernel_t *k, int64_t n) {
    const double a = p.alpha, b = p.beta;
    switch (op) {
    case ACT_LEAKY_RELU: ACT_GRAD_LOOP(double, v > 0 ? d : a * d); break;
    case ACT_HARD_SIGMOID: ACT_GRAD_LOOP(double, (a * v + b > 0 && a * v + b < 1) ? a * d : 0.0); break;
    case ACT_HARD_SWISH: ACT_GRAD_LOOP(double, v < -3.0 ? 0.0 : v <= 3.0 ? d * (v / 3.0 + 0.5) : d); break;
    case ACT_SOFTPLUS: ACT_GRAD_LOOP(double, d * sigmoid_d(v)); break;
    case ACT_ABS: ACT_GRAD_LOOP(double, v > 0 ? d : v < 0 ? -d : 0.0); break;
    case ACT_ERF: ACT_GRAD_LOOP(double, d * ACT_2_SQRTPI * exp(-v * v)); break;
    case ACT_GELU:
        ACT_GRAD_LOOP(double, d * (0.5 * (1.0 + erf(v * ACT_SQRT1_2)) + v * ACT_1_SQRT2PI * exp(-0.5 * v * v)));
        break;
    default: OT_ASSERT(0 && "bad activation");
    }
}

/* ---- forward op ------------------------------------------------------------ */

static bool act_dtype_ok(act_t op, ot_dtype_t dt) {
    if (dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE) return true;
    if (op != ACT_ABS) return false;
    switch (dt) {
    case OT_DTYPE_INT8: case OT_DTYPE_INT16: case OT_DTYPE_INT32: case OT_DTYPE_INT64:
    case OT_DTYPE_UINT8: case OT_DTYPE_UINT16: case OT_DTYPE_UINT32: case OT_DTYPE_UINT64: return true;
    default: return false;
    }
}

static ot_status_t *act_infer(ot_infer_ctx_t *ctx, act_t op) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (!act_dtype_ok(op, x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

/* Present only when the oneDNN path is used. */
typedef struct act_state {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} act_state_t;

static void act_release(ot_kernel_t *k) {
    act_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->dst) dnnl_memory_destroy(s->dst);
    free(s);
    k->state = NULL;
}

static ot_status_t *act_setup(ot_kernel_t *k, act_t op) {
    /* 0: no oneDNN 2.6 algorithm (HardSigmoid would need linear + clip), or
     * not accurate enough: soft_relu computes log(1 + e^x) directly and is
     * off by 0.4% relative at x = -8 (measured), where log1p keeps full
     * precision. */
    static const dnnl_alg_kind_t algs[ACT_COUNT] = {
        [ACT_LEAKY_RELU] = dnnl_eltwise_relu, /* alpha: slope for x < 0 */
        [ACT_HARD_SWISH] = dnnl_eltwise_hardswish,
        [ACT_ABS] = dnnl_eltwise_abs,
        [ACT_GELU] = dnnl_eltwise_gelu_erf,
    };
    const ot_tensor_t *x = k->inputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    k->state = NULL;
    if (x->dtype != OT_DTYPE_FLOAT || n < ACT_DNNL_MIN || !algs[op] || !k->outputs[0]) return NULL;

    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    act_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {n}; /* dense: a flat 1-D view is exact */
    OT_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_a));
    dnnl_eltwise_desc_t desc;
    float alpha = (float)act_params(op, k->node).alpha;
    OT_DNNL_TRY(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, algs[op], &md, alpha, 0.f));
    dnnl_status_t ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    if (ds == dnnl_unimplemented) { /* the loops cover it */
        act_release(k);
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
    act_release(k);
    return st;
}

static ot_status_t *act_run(ot_kernel_t *k, act_t op) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    act_state_t *s = k->state;
    if (!y) return NULL;
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
    act_par_t p = act_params(op, k->node);
    if (x->dtype == OT_DTYPE_FLOAT) act_fwd_f32(op, p, x, y, n);
    else if (x->dtype == OT_DTYPE_DOUBLE) act_fwd_f64(op, p, x, y, n);
    else abs_int(x, y, n);
    return NULL;
}

/* Every rule: dX = <backward op>(dY, X), with the forward node's attributes. */
static ot_status_t *act_gradient(ot_grad_ctx_t *ctx, const char *domain, const char *grad_op) {
    ot_dtype_t dt = ctx->input_types[0]->dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs a float input, got %s", ot_dtype_name(dt));
    int in[2] = {ctx->doutputs[0], ctx->inputs[0]};
    return ot_grad_emit(ctx, domain, grad_op, 2, in, 1, &ctx->dinputs[0], ctx->node->n_attrs, ctx->node->attrs);
}

/* ---- backward op ------------------------------------------------------------ */

static ot_status_t *act_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1];
    if (dy->dtype != x->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and X (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype));
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = dy->shape.rank >= 0 ? dy->shape : x->shape;
    return NULL;
}

static ot_status_t *act_grad_run(ot_kernel_t *k, act_t op) {
    if (!k->outputs[0]) return NULL;
    int64_t n = ot_shape_numel(&k->outputs[0]->shape);
    if (ot_shape_numel(&k->inputs[0]->shape) != n || ot_shape_numel(&k->inputs[1]->shape) != n)
        return OT_KERNEL_ERROR(k, "dY and X differ in size");
    act_par_t p = act_params(op, k->node);
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) act_bwd_f32(op, p, k, n);
    else act_bwd_f64(op, p, k, n);
    return NULL;
}

/* ---- records ------------------------------------------------------------------ */

static const ot_attr_spec_t alpha_attrs[] = {{"alpha", OT_ATTR_FLOAT, false}, {NULL, 0, false}};
static const ot_attr_spec_t alpha_beta_attrs[] = {
    {"alpha", OT_ATTR_FLOAT, false}, {"beta", OT_ATTR_FLOAT, false}, {NULL, 0, false}};

#define OT_ACT_RECORDS(Op, OPC, fsym, dom, since, attrs_, flags_, gdom, gsym, doc_, gdoc_)                 \
    static ot_status_t *Op##_infer(ot_infer_ctx_t *ctx) { return act_infer(ctx, OPC); }              \
    static ot_status_t *Op##_setup(ot_kernel_t *k) { return act_setup(k, OPC); }                     \
    static ot_status_t *Op##_run(ot_kernel_t *k) { return act_run(k, OPC); }                         \
    static ot_status_t *Op##_gradient(ot_grad_ctx_t *ctx) { return act_gradient(ctx, gdom, #Op "Grad"); } \
    static ot_status_t *Op##_grad_run(ot_kernel_t *k) { return act_grad_run(k, OPC); }               \
    const ot_op_def_t fsym = {                                                                       \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                        \
        .domain = dom,                                                                               \
        .op_type = #Op,                                                                              \
        .since_version = since,                                                                      \
        .min_inputs = 1, .max_inputs = 1,                                                            \
        .min_outputs = 1, .max_outputs = 1,                                                          \
        .attrs = attrs_,                                                                             \
        .flags = flags_,                                                                             \
        .infer = Op##_infer,                                                                         \
        .setup = Op##_setup,                                                                         \
        .run = Op##_run,                                                                             \
        .release = act_release,                                                                      \
        .gradient = Op##_gradient,                                                                   \
        .doc = doc_,                                                                                 \
    };                                                                                               \
    const ot_op_def_t gsym = {                                                                       \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                        \
        .domain = gdom,                                                                              \
        .op_type = #Op "Grad",                                                                       \
        .since_version = 1,                                                                          \
        .min_inputs = 2, .max_inputs = 2,                                                            \
        .min_outputs = 1, .max_outputs = 1,                                                          \
        .attrs = attrs_,                                                                             \
        .infer = act_grad_infer,                                                                     \
        .run = Op##_grad_run,                                                                        \
        .doc = gdoc_,                                                                                \
    };

OT_ACT_RECORDS(LeakyRelu, ACT_LEAKY_RELU, ot_op_LeakyRelu_6, "", 6, alpha_attrs, OT_OP_ONEDNN, OT_DOMAIN, ot_op_ot_LeakyReluGrad_1,
               "y = x >= 0 ? x : alpha * x", "dX = dY * (X > 0 ? 1 : alpha)")
OT_ACT_RECORDS(HardSigmoid, ACT_HARD_SIGMOID, ot_op_HardSigmoid_6, "", 6, alpha_beta_attrs, 0, OT_DOMAIN, ot_op_ot_HardSigmoidGrad_1,
               "y = max(0, min(1, alpha * x + beta))", "dX = dY * alpha where 0 < alpha * X + beta < 1, else 0")
OT_ACT_RECORDS(HardSwish, ACT_HARD_SWISH, ot_op_HardSwish_14, "", 14, NULL, OT_OP_ONEDNN, OT_DOMAIN, ot_op_ot_HardSwishGrad_1,
               "y = x * max(0, min(1, x / 6 + 1 / 2))", "dX = dY * (X < -3 ? 0 : X <= 3 ? X / 3 + 1 / 2 : 1)")
OT_ACT_RECORDS(Softplus, ACT_SOFTPLUS, ot_op_Softplus_1, "", 1, NULL, 0, OT_DOMAIN, ot_op_ot_SoftplusGrad_1,
               "y = ln(1 + exp(x))", "dX = dY * sigmoid(X)")
OT_ACT_RECORDS(Abs, ACT_ABS, ot_op_Abs_6, "", 6, NULL, OT_OP_ONEDNN, OT_DOMAIN, ot_op_ot_AbsGrad_1, "y = |x|",
               "dX = dY * sign(X) (0 at 0)")
OT_ACT_RECORDS(Erf, ACT_ERF, ot_op_Erf_9, "", 9, NULL, 0, OT_DOMAIN, ot_op_ot_ErfGrad_1, "y = erf(x)",
               "dX = dY * 2 / sqrt(pi) * exp(-X^2)")
OT_ACT_RECORDS(Gelu, ACT_GELU, ot_op_ms_Gelu_1, "com.microsoft", 1, NULL, OT_OP_ONEDNN, "com.microsoft", ot_op_ms_GeluGrad_1,
               "y = x / 2 * (1 + erf(x / sqrt(2)))", "dX = dY * (Phi(X) + X * phi(X))")
