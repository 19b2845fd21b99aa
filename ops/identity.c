/* ops/identity.c: Identity (ONNX Identity-1/13/14/16), output = input.
 *
 * 13, 14 and 16 only widened the accepted types (bfloat16, sequences,
 * optionals); for tensors all versions mean the same, so one set of
 * functions serves four records. Sequence and optional values never reach
 * an op (the loader refuses them). Output 0 aliases input 0; run() copies
 * only when not aliased. Gradient: dX = dY (no node). */
#include "ops/shape_util.h"

static ot_status_t *identity_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

static ot_status_t *identity_run(ot_kernel_t *k) {
    ot_copy_unless_aliased(k->outputs[0]->data, k->inputs[0]->data, ot_tensor_nbytes(k->inputs[0]));
    return NULL;
}

static ot_status_t *identity_gradient(ot_grad_ctx_t *ctx) {
    ctx->dinputs[0] = ctx->doutputs[0];
    return NULL;
}

#define IDENTITY_RECORD(ver)                        \
    const ot_op_def_t ot_op_Identity_##ver = {     \
        .abi_version = OT_PLUGIN_ABI_VERSION,      \
        .domain = "",                              \
        .op_type = "Identity",                     \
        .since_version = ver,                      \
        .min_inputs = 1, .max_inputs = 1,          \
        .min_outputs = 1, .max_outputs = 1,        \
        .flags = OT_OP_ALIAS_INPUT0,               \
        .infer = identity_infer,                   \
        .run = identity_run,                       \
        .gradient = identity_gradient,             \
        .doc = "output = input",                   \
    };

IDENTITY_RECORD(1)
IDENTITY_RECORD(13)
IDENTITY_RECORD(14)
IDENTITY_RECORD(16)
