/* ops/inplace_accumulator.c: com.microsoft::InPlaceAccumulatorV2, ONNX
 * Runtime's gradient accumulator (its training artifacts and our prepared
 * models use it).
 *
 *   inputs:  accumulation_buffer (T), value (T, same shape),
 *            overwrite_flag (bool, one element; optional, default false)
 *   outputs: updated_flag (bool (1,), always true),
 *            updated_buffer (T; optional)
 *   updated = overwrite ? value : accumulation_buffer + value
 *
 * ORT accumulates into the buffer input in place and graphs read only the
 * flag; we do the same when updated_buffer is not requested (the buffer is
 * then a caller-owned graph input, read in place by the plan), and write
 * updated_buffer otherwise (our training programs bind it to the state). */
#include "ops/op_util.h"

static ot_status_t *acc_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *buf = ctx->inputs[0], *val = ctx->inputs[1];
    if (buf->dtype != OT_DTYPE_FLOAT && buf->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "buffer dtype %s not supported", ot_dtype_name(buf->dtype));
    if (val->dtype != buf->dtype)
        return OT_INFER_ERROR(ctx, "value is %s, the buffer %s", ot_dtype_name(val->dtype), ot_dtype_name(buf->dtype));
    if (ot_shape_known(&buf->shape) && ot_shape_known(&val->shape) &&
        ot_shape_numel(&buf->shape) != ot_shape_numel(&val->shape)) {
        char a[128], b[128];
        return OT_INFER_ERROR(ctx, "value %s does not match the buffer %s", ot_shape_str(&val->shape, a, sizeof a),
                              ot_shape_str(&buf->shape, b, sizeof b));
    }
    if (ctx->n_inputs > 2 && ctx->inputs[2] &&
        (ctx->inputs[2]->dtype != OT_DTYPE_BOOL || (ot_shape_known(&ctx->inputs[2]->shape) &&
                                                     ot_shape_numel(&ctx->inputs[2]->shape) != 1)))
        return OT_INFER_ERROR(ctx, "overwrite_flag must be one bool");
    if (ctx->outputs[0]) {
        ctx->outputs[0]->dtype = OT_DTYPE_BOOL;
        ctx->outputs[0]->shape = ot_shape_make(1, (const int64_t[]){1});
    }
    if (ctx->n_outputs > 1 && ctx->outputs[1]) {
        ctx->outputs[1]->dtype = buf->dtype;
        ctx->outputs[1]->shape = buf->shape;
    }
    return NULL;
}

#define ACC_LOOP(T)                                                                              \
    do {                                                                                         \
        const T *a = k->inputs[0]->data, *v = k->inputs[1]->data;                                \
        T *d = dst;                                                                              \
        if (overwrite) {                                                                         \
            if (d != v) memcpy(d, v, (size_t)n * sizeof(T));                                     \
        } else if (n > 65536) {                                                                  \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) d[i] = a[i] + v[i]; \
        } else {                                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) d[i] = a[i] + v[i];              \
        }                                                                                        \
    } while (0)

static ot_status_t *acc_run(ot_kernel_t *k) {
    int64_t n = ot_shape_numel(&k->inputs[0]->shape);
    if (ot_shape_numel(&k->inputs[1]->shape) != n) return OT_KERNEL_ERROR(k, "value and buffer differ in size");
    bool overwrite = k->n_inputs > 2 && k->inputs[2] && *(const bool *)k->inputs[2]->data;
    void *dst = k->n_outputs > 1 && k->outputs[1] ? k->outputs[1]->data : k->inputs[0]->data;
    if (k->inputs[0]->dtype == OT_DTYPE_FLOAT) ACC_LOOP(float);
    else ACC_LOOP(double);
    if (k->outputs[0]) *(bool *)k->outputs[0]->data = true;
    return NULL;
}

const ot_op_def_t ot_op_ms_InPlaceAccumulatorV2_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "InPlaceAccumulatorV2",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 3,
    .min_outputs = 1, .max_outputs = 2,
    .flags = OT_OP_NONDETERMINISTIC, /* writes its input when updated_buffer is absent: never fold */
    .infer = acc_infer,
    .run = acc_run,
    .doc = "buffer = overwrite ? value : buffer + value",
};
