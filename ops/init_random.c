/* ops/init_random.c: the random initializers of torch.nn.init (1.13), bit
 * for bit: with the same seed, `torch.manual_seed(seed); torch.nn.init.X_(t)`
 * (runtime/torch_rng.h for the sampling and what it depends on).
 *
 *   Uniform(a=0, b=1)                 uniform_(a, b)
 *   Normal(mean=0, std=1)             normal_(mean, std)
 *   TruncatedNormal(mean=0, std=1, a=-2, b=2)   trunc_normal_
 *   XavierUniform(gain=1)             bound = gain*sqrt(2/(fan_in+fan_out))*sqrt(3)
 *   XavierNormal(gain=1)              std = gain*sqrt(2/(fan_in+fan_out))
 *   KaimingUniform(a=0, mode=fan_in, nonlinearity=leaky_relu)
 *                                     bound = sqrt(3) * gain(nonlinearity, a)/sqrt(fan)
 *   KaimingNormal(same)               std = gain(nonlinearity, a)/sqrt(fan)
 *   LecunUniform, LecunNormal         Kaiming with mode fan_in, nonlinearity
 *                                     linear: bound sqrt(3)/sqrt(fan_in), std 1/sqrt(fan_in)
 * Bounds and deviations are computed in double from the attributes as the
 * doubles a user wrote (ot_init_attr), in torch's order of operations.
 * Not here: torch's sparse_ (not a dense initializer). */
#include "ops/init_util.h"
#include "runtime/torch_rng.h"

#include <math.h>

typedef enum { DIST_UNIFORM, DIST_NORMAL, DIST_TRUNC } dist_t;

/* What the node samples: uniform(p[0], p[1]), normal(p[0], p[1]) or
 * trunc_normal(p[0], p[1], p[2], p[3]). */
typedef struct sample {
    dist_t dist;
    double p[4];
} sample_t;

static ot_status_t *kaiming_std(const ot_node_info_t *node, const ot_shape_t *s, double *std) {
    double fan_in, fan_out, gain;
    ot_status_t *st = ot_init_fans(node, s, &fan_in, &fan_out);
    if (st) return st;
    bool lecun = !strncmp(node->op_type, "Lecun", 5);
    const char *mode = lecun ? "fan_in" : ot_attr_string(node, "mode", "fan_in");
    if (strcmp(mode, "fan_in") && strcmp(mode, "fan_out"))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "mode '%s' unknown (fan_in, fan_out)", mode);
    const char *nl = lecun ? "linear" : ot_attr_string(node, "nonlinearity", "leaky_relu");
    if ((st = ot_init_gain(node, nl, lecun ? 0 : ot_init_attr(node, "a", 0), &gain))) return st;
    *std = gain / sqrt(!strcmp(mode, "fan_in") ? fan_in : fan_out);
    return NULL;
}

static ot_status_t *sample_of(const ot_node_info_t *node, const ot_shape_t *s, sample_t *out) {
    const char *op = node->op_type;
    bool uniform = strstr(op, "Uniform") != NULL;
    ot_status_t *st = NULL;
    double std = 1, fan_in, fan_out;
    *out = (sample_t){uniform ? DIST_UNIFORM : DIST_NORMAL, {0, 0, 0, 0}};
    if (!strcmp(op, "Uniform")) {
        out->p[0] = ot_init_attr(node, "a", 0), out->p[1] = ot_init_attr(node, "b", 1);
        if (!(out->p[0] <= out->p[1]))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "a = %g must not exceed b = %g", out->p[0], out->p[1]);
        return NULL;
    }
    if (!strcmp(op, "Normal") || !strcmp(op, "TruncatedNormal")) {
        out->p[0] = ot_init_attr(node, "mean", 0), out->p[1] = ot_init_attr(node, "std", 1);
        if (!(out->p[1] >= 0)) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "std = %g is negative", out->p[1]);
        if (!strcmp(op, "Normal")) return NULL;
        out->dist = DIST_TRUNC;
        out->p[2] = ot_init_attr(node, "a", -2), out->p[3] = ot_init_attr(node, "b", 2);
        if (!(out->p[1] > 0 && out->p[2] < out->p[3]))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "needs std > 0 and a < b (std = %g, a = %g, b = %g)",
                                 out->p[1], out->p[2], out->p[3]);
        return NULL;
    }
    if (!strncmp(op, "Xavier", 6)) {
        if ((st = ot_init_fans(node, s, &fan_in, &fan_out))) return st;
        std = ot_init_attr(node, "gain", 1) * sqrt(2.0 / (fan_in + fan_out));
    } else if ((st = kaiming_std(node, s, &std))) {
        return st;
    }
    if (uniform) out->p[0] = -sqrt(3.0) * std, out->p[1] = sqrt(3.0) * std;
    else out->p[1] = std;
    return NULL;
}

static ot_status_t *random_init_infer(ot_infer_ctx_t *ctx) {
    ot_status_t *st = ot_init_infer(ctx, 0);
    sample_t smp;
    /* an empty tensor is left alone, as torch does, whatever its fans */
    if (!st && ot_shape_numel(&ctx->outputs[0]->shape) != 0) st = sample_of(ctx->node, &ctx->outputs[0]->shape, &smp);
    return st;
}

static ot_status_t *random_init_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&y->shape);
    sample_t s;
    ot_status_t *st = n == 0 ? NULL : sample_of(k->node, &y->shape, &s);
    if (st || n == 0) return st;
    ot_torch_rng_t g;
    ot_torch_rng_seed(&g, ot_init_seed(k->node));
    bool f32 = y->dtype == OT_DTYPE_FLOAT;
    switch (s.dist) {
    case DIST_UNIFORM:
        if (f32) ot_torch_uniform_f32(&g, y->data, n, s.p[0], s.p[1]);
        else ot_torch_uniform_f64(&g, y->data, n, s.p[0], s.p[1]);
        break;
    case DIST_NORMAL:
        if (f32) ot_torch_normal_f32(&g, y->data, n, s.p[0], s.p[1]);
        else ot_torch_normal_f64(&g, y->data, n, s.p[0], s.p[1]);
        break;
    case DIST_TRUNC:
        if (f32) ot_torch_trunc_normal_f32(&g, y->data, n, s.p[0], s.p[1], s.p[2], s.p[3]);
        else ot_torch_trunc_normal_f64(&g, y->data, n, s.p[0], s.p[1], s.p[2], s.p[3]);
        break;
    }
    return NULL;
}

static const ot_attr_spec_t uniform_attrs[] = {
    OT_INIT_COMMON_ATTRS, {"a", OT_ATTR_FLOAT, false}, {"b", OT_ATTR_FLOAT, false}, OT_INIT_END};
static const ot_attr_spec_t normal_attrs[] = {
    OT_INIT_COMMON_ATTRS, {"mean", OT_ATTR_FLOAT, false}, {"std", OT_ATTR_FLOAT, false}, OT_INIT_END};
static const ot_attr_spec_t trunc_attrs[] = {OT_INIT_COMMON_ATTRS,     {"mean", OT_ATTR_FLOAT, false},
                                             {"std", OT_ATTR_FLOAT, false}, {"a", OT_ATTR_FLOAT, false},
                                             {"b", OT_ATTR_FLOAT, false},   OT_INIT_END};
static const ot_attr_spec_t xavier_attrs[] = {OT_INIT_COMMON_ATTRS, {"gain", OT_ATTR_FLOAT, false}, OT_INIT_END};
static const ot_attr_spec_t kaiming_attrs[] = {OT_INIT_COMMON_ATTRS, {"a", OT_ATTR_FLOAT, false},
                                               {"mode", OT_ATTR_STRING, false}, {"nonlinearity", OT_ATTR_STRING, false},
                                               OT_INIT_END};
static const ot_attr_spec_t lecun_attrs[] = {OT_INIT_COMMON_ATTRS, OT_INIT_END};

#define RANDOM_INIT(name, attrs, doc)                                                                                  \
    OT_INIT_OP(ot_op_ot_##name##_1, #name, attrs, random_init_infer, NULL, random_init_run, NULL, doc);

RANDOM_INIT(Uniform, uniform_attrs, "torch.nn.init.uniform_(t, a, b)")
RANDOM_INIT(Normal, normal_attrs, "torch.nn.init.normal_(t, mean, std)")
RANDOM_INIT(TruncatedNormal, trunc_attrs, "torch.nn.init.trunc_normal_(t, mean, std, a, b)")
RANDOM_INIT(XavierUniform, xavier_attrs, "torch.nn.init.xavier_uniform_(t, gain)")
RANDOM_INIT(XavierNormal, xavier_attrs, "torch.nn.init.xavier_normal_(t, gain)")
RANDOM_INIT(KaimingUniform, kaiming_attrs, "torch.nn.init.kaiming_uniform_(t, a, mode, nonlinearity)")
RANDOM_INIT(KaimingNormal, kaiming_attrs, "torch.nn.init.kaiming_normal_(t, a, mode, nonlinearity)")
RANDOM_INIT(LecunUniform, lecun_attrs, "kaiming_uniform_(t, mode='fan_in', nonlinearity='linear'): U(+-sqrt(3/fan_in))")
RANDOM_INIT(LecunNormal, lecun_attrs, "kaiming_normal_(t, mode='fan_in', nonlinearity='linear'): N(0, 1/fan_in)")
