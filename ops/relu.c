/* ops/relu.c: Relu, y = max(x, 0) (ONNX Relu-6/13/14; the versions differ
 * only in allowed types, so one record serves them all).
 * Also the worked example of an op file: schema, inference, kernel. */
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
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) dst[i] = src[i] > 0 ? src[i] : 0; \
        } else {                                                                           \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) dst[i] = src[i] > 0 ? src[i] : 0; \
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

const ot_op_def_t ot_op_Relu_6 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Relu",
    .since_version = 6,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .infer = relu_infer,
    .run = relu_run,
    .doc = "y = max(x, 0)",
};
