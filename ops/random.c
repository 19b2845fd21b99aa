/* ops/random.c: RandomUniform and RandomNormal (ONNX-1), the random ops of
 * TrainingInfoProto initialization graphs.
 *
 *   RandomUniform: y = low + (high - low) * u,   u in [0, 1)
 *   RandomNormal:  y = mean + scale * z,         z ~ N(0, 1)
 * drawn from numpy's legacy RandomState, so a `seed` s reproduces
 * `np.random.seed(s); np.random.uniform(low, high, shape)` (resp.
 * np.random.normal(mean, scale, shape)) cast to the output dtype: u is
 * random_sample() (runtime/mt19937.h) and z numpy's polar Box-Muller
 * (legacy_gauss: pairs, the second one cached). Without `seed` the stream is
 * seeded from the node name (FNV-1a), as Dropout does. The generator is
 * created in setup() and advances on every run; never constant-folded.
 * Output dtypes: float, double. */
#include "ops/init_util.h"
#include "runtime/mt19937.h"

#include <math.h>
#include <stdlib.h>

typedef struct rng_state {
    ot_mt19937_t mt;
    bool has_gauss;
    double gauss;
} rng_state_t;

/* shape and dtype attributes, as the initializer ops (ops/init_util.h) */
static ot_status_t *random_infer(ot_infer_ctx_t *ctx) { return ot_init_infer(ctx, 0); }

static ot_status_t *random_setup(ot_kernel_t *k) {
    rng_state_t *r = calloc(1, sizeof *r);
    if (!r) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    uint32_t seed;
    const ot_attr_t *a = ot_node_attr(k->node, "seed");
    if (a) {
        seed = (uint32_t)(int64_t)a->f;
    } else {
        seed = 2166136261u; /* FNV-1a of the name */
        for (const char *c = k->node->name; *c; c++) seed = (seed ^ (uint8_t)*c) * 16777619u;
    }
    ot_mt19937_seed(&r->mt, seed);
    k->state = r;
    return NULL;
}

static void random_release(ot_kernel_t *k) { free(k->state); }

static double legacy_gauss(rng_state_t *r) {
    if (r->has_gauss) {
        r->has_gauss = false;
        return r->gauss;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * ot_mt19937_next_double(&r->mt) - 1.0;
        x2 = 2.0 * ot_mt19937_next_double(&r->mt) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = true;
    return f * x2;
}

static ot_status_t *random_run(ot_kernel_t *k) {
    rng_state_t *r = k->state;
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&y->shape);
    bool normal = !strcmp(k->node->op_type, "RandomNormal");
    double a = normal ? ot_attr_float(k->node, "mean", 0.0f) : ot_attr_float(k->node, "low", 0.0f);
    double b = normal ? ot_attr_float(k->node, "scale", 1.0f) : ot_attr_float(k->node, "high", 1.0f) - a;
    for (int64_t i = 0; i < n; i++) {
        double v = a + b * (normal ? legacy_gauss(r) : ot_mt19937_next_double(&r->mt));
        if (y->dtype == OT_DTYPE_FLOAT) ((float *)y->data)[i] = (float)v;
        else ((double *)y->data)[i] = v;
    }
    return NULL;
}

static const ot_attr_spec_t uniform_attrs[] = {{"dtype", OT_ATTR_INT, false}, {"high", OT_ATTR_FLOAT, false},
                                               {"low", OT_ATTR_FLOAT, false},  {"seed", OT_ATTR_FLOAT, false},
                                               {"shape", OT_ATTR_INTS, true},  {NULL, OT_ATTR_UNDEFINED, false}};
static const ot_attr_spec_t normal_attrs[] = {{"dtype", OT_ATTR_INT, false}, {"mean", OT_ATTR_FLOAT, false},
                                              {"scale", OT_ATTR_FLOAT, false}, {"seed", OT_ATTR_FLOAT, false},
                                              {"shape", OT_ATTR_INTS, true},  {NULL, OT_ATTR_UNDEFINED, false}};

const ot_op_def_t ot_op_RandomUniform_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "RandomUniform",
    .since_version = 1,
    .min_inputs = 0, .max_inputs = 0,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = uniform_attrs,
    .flags = OT_OP_NONDETERMINISTIC,
    .infer = random_infer,
    .setup = random_setup,
    .run = random_run,
    .release = random_release,
    .doc = "y = low + (high - low) * u, numpy RandomState(seed).uniform",
};

const ot_op_def_t ot_op_RandomNormal_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "RandomNormal",
    .since_version = 1,
    .min_inputs = 0, .max_inputs = 0,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = normal_attrs,
    .flags = OT_OP_NONDETERMINISTIC,
    .infer = random_infer,
    .setup = random_setup,
    .run = random_run,
    .release = random_release,
    .doc = "y = mean + scale * z, numpy RandomState(seed).normal",
};
