/* ops/init_constant.c: the deterministic initializers of torch.nn.init.
 *
 *   Zeros, Ones, ConstantFill(value)   zeros_, ones_, constant_(t, value)
 *   Eye                                eye_: (rows, cols), 1 on the diagonal
 *   Dirac(groups=1)                    dirac_: (out, in, k...), per group g and
 *                                      d < min(out/groups, in):
 *                                      t[g*out/groups + d, d, centre...] = 1
 * The seed attribute is accepted (the convention) and ignored. */
#include "ops/init_util.h"

static ot_status_t *constant_infer(ot_infer_ctx_t *ctx) {
    const char *op = ctx->node->op_type;
    bool eye = !strcmp(op, "Eye"), dirac = !strcmp(op, "Dirac");
    ot_status_t *st = ot_init_infer(ctx, eye ? 2 : dirac ? 3 : 0);
    if (st) return st;
    const ot_shape_t *s = &ctx->outputs[0]->shape;
    if (eye && s->rank != 2) return OT_INFER_ERROR(ctx, "needs a shape of 2 dims (has %d)", s->rank);
    if (dirac) {
        int64_t groups = ot_attr_int(ctx->node, "groups", 1);
        if (s->rank > 5) return OT_INFER_ERROR(ctx, "needs a shape of 3, 4 or 5 dims (has %d)", s->rank);
        if (groups < 1 || s->dims[0] % groups)
            return OT_INFER_ERROR(ctx, "groups = %lld must be positive and divide shape[0] = %lld", (long long)groups,
                                  (long long)s->dims[0]);
    }
    return NULL;
}

static void put(ot_tensor_t *y, int64_t i, double v) {
    if (y->dtype == OT_DTYPE_FLOAT) ((float *)y->data)[i] = (float)v;
    else ((double *)y->data)[i] = v;
}

static ot_status_t *constant_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    const ot_shape_t *s = &y->shape;
    const char *op = k->node->op_type;
    int64_t n = ot_shape_numel(s);
    double fill = !strcmp(op, "Ones") ? 1 : !strcmp(op, "ConstantFill") ? ot_init_attr(k->node, "value", 0) : 0;
#pragma omp parallel for if (n >= 65536)
    for (int64_t i = 0; i < n; i++) put(y, i, fill);
    if (!strcmp(op, "Eye")) {
        for (int64_t d = 0; d < s->dims[0] && d < s->dims[1]; d++) put(y, d * s->dims[1] + d, 1);
    } else if (!strcmp(op, "Dirac")) {
        int64_t groups = ot_attr_int(k->node, "groups", 1), per_group = s->dims[0] / groups, strides[OT_MAX_RANK];
        ot_shape_strides(s, strides);
        int64_t centre = 0; /* offset of the kernel's centre, dims[d] // 2 */
        for (int d = 2; d < s->rank; d++) centre += s->dims[d] / 2 * strides[d];
        for (int64_t g = 0; g < groups; g++)
            for (int64_t d = 0; d < per_group && d < s->dims[1]; d++)
                put(y, (g * per_group + d) * strides[0] + d * strides[1] + centre, 1);
    }
    return NULL;
}

static const ot_attr_spec_t plain_attrs[] = {OT_INIT_COMMON_ATTRS, OT_INIT_END};
static const ot_attr_spec_t fill_attrs[] = {OT_INIT_COMMON_ATTRS, {"value", OT_ATTR_FLOAT, false}, OT_INIT_END};
static const ot_attr_spec_t dirac_attrs[] = {OT_INIT_COMMON_ATTRS, {"groups", OT_ATTR_INT, false}, OT_INIT_END};

OT_INIT_OP(ot_op_ot_Zeros_1, "Zeros", plain_attrs, constant_infer, NULL, constant_run, NULL, "torch.nn.init.zeros_(t)");
OT_INIT_OP(ot_op_ot_Ones_1, "Ones", plain_attrs, constant_infer, NULL, constant_run, NULL, "torch.nn.init.ones_(t)");
OT_INIT_OP(ot_op_ot_ConstantFill_1, "ConstantFill", fill_attrs, constant_infer, NULL, constant_run, NULL,
           "torch.nn.init.constant_(t, value)");
OT_INIT_OP(ot_op_ot_Eye_1, "Eye", plain_attrs, constant_infer, NULL, constant_run, NULL,
           "torch.nn.init.eye_(t): identity of a 2-D shape");
OT_INIT_OP(ot_op_ot_Dirac_1, "Dirac", dirac_attrs, constant_infer, NULL, constant_run, NULL,
           "torch.nn.init.dirac_(t, groups): identity-preserving Conv weights");
