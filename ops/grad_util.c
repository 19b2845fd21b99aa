/* ops/grad_util.c: see grad_util.h. */
#include "ops/grad_util.h"

ot_status_t *ot_grad_op1(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int a, int *out) {
    return ot_grad_emit(ctx, domain, op_type, 1, &a, 1, out, 0, NULL);
}

ot_status_t *ot_grad_op2(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int a, int b, int *out) {
    int in[2] = {a, b};
    return ot_grad_emit(ctx, domain, op_type, 2, in, 1, out, 0, NULL);
}

ot_status_t *ot_grad_scalar(ot_grad_ctx_t *ctx, ot_dtype_t dt, double value, int *out) {
    OT_ASSERT(dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE);
    float f = (float)value;
    ot_tensor_t t = {dt, {0, {0}}, dt == OT_DTYPE_FLOAT ? (void *)&f : (void *)&value};
    return ot_grad_constant(ctx, &t, out);
}

static bool same_known_shape(const ot_shape_t *a, const ot_shape_t *b) {
    if (!ot_shape_known(a) || !ot_shape_known(b) || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

ot_status_t *ot_grad_unbroadcast(ot_grad_ctx_t *ctx, int dy, const ot_tensor_t *dy_type, int input, int *out) {
    const ot_tensor_t *x = ctx->input_types[input];
    if (dy_type && same_known_shape(&x->shape, &dy_type->shape)) {
        *out = dy;
        return NULL;
    }
    int shape;
    ot_status_t *st = ot_grad_op1(ctx, "", "Shape", ctx->inputs[input], &shape);
    if (!st) st = ot_grad_op2(ctx, OT_DOMAIN, "SumTo", dy, shape, out);
    return st;
}
