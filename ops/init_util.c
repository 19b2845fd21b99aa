/* ops/init_util.c: see init_util.h. */
#include "ops/init_util.h"
#include "optimizers/optim_util.h"

#include <math.h>

ot_status_t *ot_init_infer(ot_infer_ctx_t *ctx, int min_rank) {
    int64_t dt = ot_attr_int(ctx->node, "dtype", OT_DTYPE_FLOAT);
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dtype %lld not supported (1 = float, 11 = double)",
                             (long long)dt);
    const int64_t *dims = NULL;
    int64_t rank = ot_attr_ints(ctx->node, "shape", &dims);
    if (rank < 0 || rank > OT_MAX_RANK)
        return OT_INFER_ERROR(ctx, "attribute shape has %lld dims (at most %d)", (long long)rank, OT_MAX_RANK);
    if (rank < min_rank)
        return OT_INFER_ERROR(ctx, "attribute shape has %lld dims; this initializer needs at least %d", (long long)rank,
                              min_rank);
    ot_shape_t s = ot_shape_make((int)rank, dims);
    for (int d = 0; d < s.rank; d++)
        if (s.dims[d] < 0) return OT_INFER_ERROR(ctx, "shape[%d] = %lld is negative", d, (long long)s.dims[d]);
    ctx->outputs[0]->dtype = (ot_dtype_t)dt;
    ctx->outputs[0]->shape = s;
    return NULL;
}

ot_status_t *ot_init_fans(const ot_node_info_t *node, const ot_shape_t *s, double *fan_in, double *fan_out) {
    const ot_attr_t *in = ot_node_attr(node, "fan_in"), *out = ot_node_attr(node, "fan_out");
    if (s->rank < 2 && !(in && out))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "fan in and fan out need a shape of at least 2 dims (has %d), or attributes fan_in and "
                             "fan_out",
                             s->rank);
    int64_t receptive = 1;
    for (int d = 2; d < s->rank; d++) receptive *= s->dims[d];
    int64_t fi = in ? in->i : s->dims[1] * receptive, fo = out ? out->i : s->dims[0] * receptive;
    if (fi <= 0 || fo <= 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "fan_in = %lld, fan_out = %lld: both must be positive",
                             (long long)fi, (long long)fo);
    *fan_in = (double)fi;
    *fan_out = (double)fo;
    return NULL;
}

int64_t ot_init_seed(const ot_node_info_t *node) {
    const ot_attr_t *a = ot_node_attr(node, "seed");
    if (a) return a->i;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = node->name; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
    return h;
}

double ot_init_attr(const ot_node_info_t *node, const char *name, double dflt) {
    return ot_optim_attr(node, name, dflt);
}

ot_status_t *ot_init_gain(const ot_node_info_t *node, const char *nonlinearity, double param, double *gain) {
    static const char *const linear[] = {"linear",           "conv1d",           "conv2d",          "conv3d",
                                         "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
    for (size_t i = 0; i < sizeof linear / sizeof linear[0]; i++)
        if (!strcmp(nonlinearity, linear[i])) return *gain = 1.0, NULL;
    if (!strcmp(nonlinearity, "tanh")) *gain = 5.0 / 3;
    else if (!strcmp(nonlinearity, "relu")) *gain = sqrt(2.0);
    else if (!strcmp(nonlinearity, "leaky_relu")) *gain = sqrt(2.0 / (1 + param * param));
    else if (!strcmp(nonlinearity, "selu")) *gain = 3.0 / 4;
    else
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "nonlinearity '%s' unknown (linear, conv1d..3d, conv_transpose1d..3d, sigmoid, tanh, "
                             "relu, leaky_relu, selu)",
                             nonlinearity);
    return NULL;
}
