/* ops/relu.c: Relu, y = max(x, 0), NaN kept as torch and numpy do (ONNX Relu-6/13/14; the versions differ
 * only in allowed types, so one record serves them all), and its gradient
 * com.microsoft::ReluGrad(dY, Y) = dY * (Y > 0) (ONNX Runtime's op; it reads
 * Y rather than X so X can be freed after the forward).
 * Also the worked example of an op file: schema, inference, kernels and
 * the gradient rule. */
#include "ops/op_util.h"

#include <math.h>

static ot_status_t *relu_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

/* `omp parallel for if (...)` still costs ~1 us per call in libgomp when the
 * condition is false, so small tensors take a plain loop instead. */
#define RELU_LOOP(T)                                                                       \
    do {                                                                                   \
        const T *src = x->data;                                                            \
        T *dst = y->data;                                                                  \
        if (n > 65536) {                                                                   \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) dst[i] = src[i] < 0 ? 0 : src[i]; \
        } else {                                                                           \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) dst[i] = src[i] < 0 ? 0 : src[i]; \
        }                                                                                  \
    } while (0)

static ot_status_t *relu_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    if (x->dtype == OT_DTYPE_FLOAT) RELU_LOOP(float);
    else RELU_LOOP(double);
    return NULL;
}

static ot_status_t *relu_gradient(ot_grad_ctx_t *ctx);

const ot_op_def_t ot_op_Relu_6 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Relu",
    .since_version = 6,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .infer = relu_infer,
    .run = relu_run,
    .gradient = relu_gradient,
    .doc = "y = max(x, 0)",
};

/* Relu's gradient rule: dX = ReluGrad(dY, Y). */
static ot_status_t *relu_gradient(ot_grad_ctx_t *ctx) {
    int in[2] = {ctx->doutputs[0], ctx->outputs[0]};
    return ot_grad_emit(ctx, "com.microsoft", "ReluGrad", 2, in, 1, &ctx->dinputs[0], 0, NULL);
}

static ot_status_t *relu_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *y = ctx->inputs[1];
    if (dy->dtype != y->dtype || (dy->dtype != OT_DTYPE_FLOAT && dy->dtype != OT_DTYPE_DOUBLE))
        return OT_INFER_ERROR(ctx, "dY (%s) and Y (%s) must share a float dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(y->dtype));
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = dy->shape.rank >= 0 ? dy->shape : y->shape;
    return NULL;
}

#define RELU_GRAD_LOOP(T)                                                                  \
    do {                                                                                   \
        const T *dy = k->inputs[0]->data, *y = k->inputs[1]->data;                         \
        T *dx = k->outputs[0]->data;                                                       \
        if (n > 65536) {                                                                   \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0; \
        } else {                                                                           \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0; \
        }                                                                                  \
    } while (0)

static ot_status_t *relu_grad_run(ot_kernel_t *k) {
    int64_t n = ot_shape_numel(&k->outputs[0]->shape);
    if (ot_shape_numel(&k->inputs[1]->shape) != n)
        return OT_KERNEL_ERROR(k, "dY and Y differ in size");
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) RELU_GRAD_LOOP(float);
    else RELU_GRAD_LOOP(double);
    return NULL;
}

const ot_op_def_t ot_op_ms_ReluGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "ReluGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .infer = relu_grad_infer,
    .run = relu_grad_run,
    .doc = "dX = dY * (Y > 0)",
};
