/* examples/plugin/example_plugin.c: a minimal onnxtrain plugin, one record
 * of each kind (docs/PLUGINS.md walks through it):
 *
 *   com.example::Swish          an op:          y = x * sigmoid(beta * x)
 *                               (Ramachandran et al. 2017), beta default 1.
 *   com.example::SignMomentum   an optimizer:   m = beta * m + (1 - beta) * g
 *                                               p = p - lr * (sign(m) + weight_decay * p)
 *                               sign(0) = 0; beta default 0.9, weight_decay 0;
 *                               one state, `momentum` (0 at first).
 *   com.example::ScaledUniform  an initializer: y ~ U(-s, s), s = scale / sqrt(fan_in),
 *                               scale default 1 (see scaled_uniform_run).
 *
 * A plugin includes only <onnxtrain/plugin.h>, fills ot_op_def_t records
 * exactly as built-in ops do, and exports its registration function with
 * OT_PLUGIN_DEFINE. Build: cc -shared -fPIC example_plugin.c -lonnxtrain -lm.
 * Kernels here are plain float32 loops: clarity over speed.
 *
 * EXAMPLE_WRONG_ABI builds a copy that claims another ABI version, used by
 * the test that checks such plugins are refused. */
#include <onnxtrain/plugin.h>

#include <math.h>

/* ---- an op: Swish -------------------------------------------------------- */

static const ot_attr_spec_t swish_attrs[] = {{"beta", OT_ATTR_FLOAT, false}, {NULL, OT_ATTR_UNDEFINED, false}};

static ot_status_t *swish_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (x->dtype != OT_DTYPE_FLOAT)
        return ot_status_create(OT_ERR_UNSUPPORTED, "node '%s' (Swish): input must be float32, got %s",
                                ctx->node->name, ot_dtype_name(x->dtype));
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

static ot_status_t *swish_run(ot_kernel_t *k) {
    const float *x = k->inputs[0]->data;
    float *y = k->outputs[0]->data;
    float beta = ot_attr_float(k->node, "beta", 1.0f);
    int64_t n = ot_shape_numel(&k->inputs[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-beta * x[i]));
    return NULL;
}

static const ot_op_def_t swish_op = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.example",
    .op_type = "Swish",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = swish_attrs,
    .infer = swish_infer,
    .run = swish_run,
    .doc = "y = x * sigmoid(beta * x)",
};

/* ---- an optimizer: SignMomentum -------------------------------------------
 * The optimizer signature of plugin.h over n parameters and one state:
 *   inputs:  lr, step, params[n], grads[n], momentum[n]
 *   outputs: params_new[n], momentum_new[n]
 * `onnxtrain prepare --optimizer SignMomentum --beta 0.8` writes this node
 * and creates `<param>.momentum` for every parameter. */

static bool same_shape(const ot_tensor_t *a, const ot_tensor_t *b) {
    if (a->shape.rank != b->shape.rank) return false;
    for (int d = 0; d < a->shape.rank; d++)
        if (a->shape.dims[d] != b->shape.dims[d]) return false;
    return true;
}

static ot_status_t *sign_momentum_infer(ot_infer_ctx_t *ctx) {
    const char *name = ctx->node->name;
    int n = (ctx->n_inputs - 2) / 3;
    if (n < 1 || ctx->n_inputs != 2 + 3 * n || ctx->n_outputs != 2 * n)
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "node '%s' (SignMomentum): %d inputs, %d outputs; expected lr, step, then params, "
                                "grads, momentum (n each) in and params, momentum (n each) out",
                                name, ctx->n_inputs, ctx->n_outputs);
    const ot_tensor_t *lr = ctx->inputs[0], *step = ctx->inputs[1];
    if (lr->dtype != OT_DTYPE_FLOAT || lr->shape.rank != 0 || step->dtype != OT_DTYPE_INT64 || step->shape.rank != 0)
        return ot_status_create(OT_ERR_INVALID_MODEL, "node '%s' (SignMomentum): lr must be a float scalar and "
                                "step an int64 scalar", name);
    for (int i = 0; i < n; i++) {
        const ot_tensor_t *p = ctx->inputs[2 + i], *g = ctx->inputs[2 + n + i], *m = ctx->inputs[2 + 2 * n + i];
        if (p->dtype != OT_DTYPE_FLOAT || g->dtype != OT_DTYPE_FLOAT || m->dtype != OT_DTYPE_FLOAT)
            return ot_status_create(OT_ERR_UNSUPPORTED, "node '%s' (SignMomentum): parameter %d: float32 only", name, i);
        if (!same_shape(p, g) || !same_shape(p, m))
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "node '%s' (SignMomentum): parameter %d, its gradient and its momentum differ "
                                    "in shape", name, i);
        for (int o = 0; o < 2; o++)
            if (ctx->outputs[o * n + i]) {
                ctx->outputs[o * n + i]->dtype = OT_DTYPE_FLOAT;
                ctx->outputs[o * n + i]->shape = p->shape;
            }
    }
    return NULL;
}

static ot_status_t *sign_momentum_run(ot_kernel_t *k) {
    int n = (k->n_inputs - 2) / 3;
    float lr = *(const float *)k->inputs[0]->data;
    float beta = ot_attr_float(k->node, "beta", 0.9f), wd = ot_attr_float(k->node, "weight_decay", 0.0f);
    for (int t = 0; t < n; t++) {
        const float *p = k->inputs[2 + t]->data, *g = k->inputs[2 + n + t]->data, *m = k->inputs[2 + 2 * n + t]->data;
        /* an output that was not requested still needs its value computed for the other */
        float *p_new = k->outputs[t] ? k->outputs[t]->data : NULL;
        float *m_new = k->outputs[n + t] ? k->outputs[n + t]->data : NULL;
        int64_t len = ot_shape_numel(&k->inputs[2 + t]->shape);
        for (int64_t i = 0; i < len; i++) {
            /* read before writing: the runtime may hand outputs that alias inputs */
            float mi = beta * m[i] + (1.0f - beta) * g[i], pi = p[i];
            float s = mi > 0 ? 1.0f : mi < 0 ? -1.0f : 0.0f;
            if (m_new) m_new[i] = mi;
            if (p_new) p_new[i] = pi - lr * (s + wd * pi);
        }
    }
    return NULL;
}

static const ot_attr_spec_t sign_momentum_attrs[] = {
    {"beta", OT_ATTR_FLOAT, false},
    {"weight_decay", OT_ATTR_FLOAT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

/* `<param>.momentum` for every parameter, always, starting at 0 */
static const ot_state_spec_t sign_momentum_states[] = {{"momentum", NULL, NULL}, {NULL, NULL, NULL}};

static const ot_op_def_t sign_momentum_op = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.example",
    .op_type = "SignMomentum",
    .since_version = 1,
    .min_inputs = 5, .max_inputs = -1,  /* lr, step + (param, grad, momentum) per parameter */
    .min_outputs = 2, .max_outputs = -1, /* (param, momentum) per parameter */
    .attrs = sign_momentum_attrs,
    .flags = OT_OP_OPTIMIZER,
    .infer = sign_momentum_infer,
    .run = sign_momentum_run,
    .doc = "m = beta*m + (1-beta)*g; p -= lr*(sign(m) + weight_decay*p)",
    .states = sign_momentum_states,
    .default_lr = 1e-3f,
};

/* ---- an initializer: ScaledUniform ----------------------------------------
 * plugin.h's initializer convention: no inputs, one output of attribute
 * `shape`, float32 only here (`dtype` 1 or absent); `fan_in` absent means
 * torch's rule, dims[1] * (product of dims[2:]), which needs rank >= 2. */

static const ot_attr_spec_t scaled_uniform_attrs[] = {
    {"shape", OT_ATTR_INTS, true},
    {"dtype", OT_ATTR_INT, false},
    {"seed", OT_ATTR_INT, false},
    {"fan_in", OT_ATTR_INT, false},
    {"fan_out", OT_ATTR_INT, false}, /* part of the convention; this rule does not use it */
    {"scale", OT_ATTR_FLOAT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static ot_status_t *scaled_uniform_fan_in(const ot_node_info_t *node, const ot_shape_t *s, int64_t *fan_in) {
    *fan_in = ot_attr_int(node, "fan_in", -1);
    if (*fan_in < 0 && s->rank >= 2) {
        *fan_in = s->dims[1];
        for (int d = 2; d < s->rank; d++) *fan_in *= s->dims[d];
    }
    if (*fan_in <= 0)
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "node '%s' (ScaledUniform): fan_in must be positive (give attribute fan_in for a "
                                "shape of rank < 2)", node->name);
    return NULL;
}

static ot_status_t *scaled_uniform_infer(ot_infer_ctx_t *ctx) {
    const ot_node_info_t *node = ctx->node;
    if (ot_attr_int(node, "dtype", OT_DTYPE_FLOAT) != OT_DTYPE_FLOAT)
        return ot_status_create(OT_ERR_UNSUPPORTED, "node '%s' (ScaledUniform): dtype must be 1 (float)", node->name);
    const int64_t *dims;
    int64_t rank = ot_attr_ints(node, "shape", &dims);
    if (rank < 0 || rank > OT_MAX_RANK)
        return ot_status_create(OT_ERR_INVALID_MODEL, "node '%s' (ScaledUniform): shape has %lld dims (at most %d)",
                                node->name, (long long)rank, OT_MAX_RANK);
    ot_shape_t s = {(int)rank, {0}};
    for (int d = 0; d < s.rank; d++) {
        if (dims[d] < 0)
            return ot_status_create(OT_ERR_INVALID_MODEL, "node '%s' (ScaledUniform): shape[%d] is negative",
                                    node->name, d);
        s.dims[d] = dims[d];
    }
    int64_t fan_in;
    ot_status_t *st = scaled_uniform_fan_in(node, &s, &fan_in);
    if (st) return st;
    if (ctx->outputs[0]) {
        ctx->outputs[0]->dtype = OT_DTYPE_FLOAT;
        ctx->outputs[0]->shape = s;
    }
    return NULL;
}

/* splitmix64 (Steele, Lea, Flood 2014): the whole generator, so that the
 * output is a documented function of the seed. */
static uint64_t splitmix64_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Element i (row-major) is the i-th draw from splitmix64 seeded with `seed`
 * (default 0): u = (draw >> 40) / 2^24 in [0, 1), exact in float, and
 * y[i] = (float)((2u - 1) * s) with s = (double)scale / sqrt((double)fan_in),
 * so y lies in [-s, s). Every run gives the same values. */
static ot_status_t *scaled_uniform_run(ot_kernel_t *k) {
    ot_tensor_t *y = k->outputs[0];
    int64_t fan_in;
    ot_status_t *st = scaled_uniform_fan_in(k->node, &y->shape, &fan_in);
    if (st) return st;
    double s = (double)ot_attr_float(k->node, "scale", 1.0f) / sqrt((double)fan_in);
    uint64_t state = (uint64_t)ot_attr_int(k->node, "seed", 0);
    float *out = y->data;
    int64_t n = ot_shape_numel(&y->shape);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(splitmix64_next(&state) >> 40) * 0x1p-24;
        out[i] = (float)((2.0 * u - 1.0) * s);
    }
    return NULL;
}

static const ot_op_def_t scaled_uniform_op = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.example",
    .op_type = "ScaledUniform",
    .since_version = 1,
    .min_inputs = 0, .max_inputs = 0,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = scaled_uniform_attrs,
    .flags = OT_OP_INITIALIZER,
    .infer = scaled_uniform_infer,
    .run = scaled_uniform_run,
    .doc = "y ~ U(-s, s), s = scale/sqrt(fan_in), splitmix64(seed)",
};

/* ---- registration ------------------------------------------------------- */

static ot_status_t *register_example_ops(ot_registry_t *reg) {
    const ot_op_def_t *ops[] = {&swish_op, &sign_momentum_op, &scaled_uniform_op};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ot_status_t *st = ot_registry_add(reg, ops[i]);
        if (st) return st;
    }
    return NULL;
}

#ifndef EXAMPLE_WRONG_ABI
OT_PLUGIN_DEFINE(register_example_ops)
#else
OT_PLUGIN_EXPORT uint32_t ot_plugin_abi_version(void) { return OT_PLUGIN_ABI_VERSION + 1000; }
OT_PLUGIN_EXPORT ot_status_t *ot_plugin_register(ot_registry_t *reg) { return register_example_ops(reg); }
#endif
