/* ops/dropout.c: Dropout in inference form (ONNX Dropout-7/10/12/13).
 *
 *   output = data; mask (optional) = all true.
 *
 * Versions: 7 has a `ratio` attribute and a mask of the data's type; 10
 * makes the mask bool; 12 moves ratio to an optional input and adds the
 * optional bool input `training_mode` (and a `seed` attribute); 13 only
 * adds bfloat16. Training mode with ratio > 0 (random masking, scaled by
 * 1/(1-ratio)) is NOT implemented here: it is refused with
 * OT_ERR_UNSUPPORTED at inference when training_mode is a constant true,
 * and at run time when it is only known then. With ratio == 0 training mode
 * is the identity too. Output 0 aliases the data. */
#include "ops/shape_util.h"

static const ot_attr_spec_t dropout7_attrs[] = {{"ratio", OT_ATTR_FLOAT, false}, {NULL, 0, false}};
static const ot_attr_spec_t dropout12_attrs[] = {{"seed", OT_ATTR_INT, false}, {NULL, 0, false}};

static bool is_float_type(ot_dtype_t dt) {
    return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE || dt == OT_DTYPE_FLOAT16 || dt == OT_DTYPE_BFLOAT16;
}

/* The ratio input's value (a float-type scalar with data). */
static double read_ratio(const ot_tensor_t *t) {
    switch (t->dtype) {
    case OT_DTYPE_FLOAT: return *(const float *)t->data;
    case OT_DTYPE_DOUBLE: return *(const double *)t->data;
    case OT_DTYPE_FLOAT16: return ot_f16_to_float(*(const uint16_t *)t->data);
    case OT_DTYPE_BFLOAT16: return ot_bf16_to_float(*(const uint16_t *)t->data);
    default: OT_ASSERT(!"ratio dtype checked in infer"); return 0;
    }
}

static const ot_tensor_t *opt_input(const ot_tensor_t *const *inputs, int n, int i) { return i < n ? inputs[i] : NULL; }

static ot_status_t *dropout_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    const ot_tensor_t *ratio = opt_input(ctx->inputs, ctx->n_inputs, 1);
    const ot_tensor_t *training = opt_input(ctx->inputs, ctx->n_inputs, 2);
    if (!is_float_type(x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    double r = 0.5; /* the default in every version */
    bool r_known = true;
    if (ctx->node->opset < 12) {
        r = ot_attr_float(ctx->node, "ratio", 0.5f);
    } else if (ratio) {
        if (!is_float_type(ratio->dtype))
            return OT_INFER_ERROR(ctx, "ratio must be a float type, got %s", ot_dtype_name(ratio->dtype));
        if (ratio->shape.rank > 0 && ot_shape_numel(&ratio->shape) != 1)
            return OT_INFER_ERROR(ctx, "ratio must be a scalar");
        r_known = ratio->data != NULL;
        if (r_known) r = read_ratio(ratio);
    }
    if (r_known && !(r >= 0 && r < 1)) return OT_INFER_ERROR(ctx, "ratio %g is not in [0, 1)", r);
    if (training) {
        if (training->dtype != OT_DTYPE_BOOL)
            return OT_INFER_ERROR(ctx, "training_mode must be bool, got %s", ot_dtype_name(training->dtype));
        if (training->shape.rank > 0 && ot_shape_numel(&training->shape) != 1)
            return OT_INFER_ERROR(ctx, "training_mode must be a scalar");
        if (training->data && *(const uint8_t *)training->data && r_known && r != 0)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "training-mode Dropout (ratio %g) is not supported yet", r);
    }
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    if (ctx->n_outputs > 1 && ctx->outputs[1]) {
        ctx->outputs[1]->dtype = ctx->node->opset < 10 ? x->dtype : OT_DTYPE_BOOL;
        ctx->outputs[1]->shape = x->shape;
    }
    return NULL;
}

static ot_status_t *dropout_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    const ot_tensor_t *ratio = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 1);
    const ot_tensor_t *training = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 2);
    if (training && *(const uint8_t *)training->data) {
        double r = ratio ? read_ratio(ratio) : 0.5;
        if (r != 0)
            return OT_NODE_ERROR(k->node, OT_ERR_UNSUPPORTED, "training-mode Dropout (ratio %g) is not supported yet", r);
    }
    ot_copy_unless_aliased(k->outputs[0]->data, x->data, ot_tensor_nbytes(x));
    ot_tensor_t *mask = k->n_outputs > 1 ? k->outputs[1] : NULL;
    if (mask) { /* nothing dropped: every mask element is true (1 of its type) */
        int64_t n = ot_shape_numel(&mask->shape);
        switch (mask->dtype) {
        case OT_DTYPE_BOOL: memset(mask->data, 1, (size_t)n); break;
        case OT_DTYPE_FLOAT:
            for (int64_t i = 0; i < n; i++) ((float *)mask->data)[i] = 1.f;
            break;
        case OT_DTYPE_DOUBLE:
            for (int64_t i = 0; i < n; i++) ((double *)mask->data)[i] = 1.0;
            break;
        case OT_DTYPE_FLOAT16:
            for (int64_t i = 0; i < n; i++) ((uint16_t *)mask->data)[i] = 0x3c00u;
            break;
        case OT_DTYPE_BFLOAT16:
            for (int64_t i = 0; i < n; i++) ((uint16_t *)mask->data)[i] = 0x3f80u;
            break;
        default: OT_ASSERT(!"mask dtype set in infer");
        }
    }
    return NULL;
}

#define DROPOUT_RECORD(ver, max_in, attr_list)                       \
    const ot_op_def_t ot_op_Dropout_##ver = {                       \
        .abi_version = OT_PLUGIN_ABI_VERSION,                       \
        .domain = "",                                               \
        .op_type = "Dropout",                                       \
        .since_version = ver,                                       \
        .min_inputs = 1, .max_inputs = max_in,                      \
        .min_outputs = 1, .max_outputs = 2,                         \
        .attrs = attr_list,                                         \
        .flags = OT_OP_ALIAS_INPUT0,                                \
        .infer = dropout_infer,                                     \
        .run = dropout_run,                                         \
        .doc = "inference: output = data, mask = true (training mode unsupported)", \
    };

DROPOUT_RECORD(7, 1, dropout7_attrs)
DROPOUT_RECORD(10, 1, dropout7_attrs)
DROPOUT_RECORD(12, 3, dropout12_attrs)
DROPOUT_RECORD(13, 3, dropout12_attrs)
