/* ops/dropout.c: Dropout (ONNX Dropout-7/10/12/13) and its gradient
 * com.microsoft::DropoutGrad.
 *
 *   training:  mask = uniform(0, 1, x.shape) >= ratio,
 *              output = x * mask * 1/(1 - ratio)
 *   otherwise: output = x, mask = all true.
 *
 * Versions: 7 has a `ratio` attribute and a mask of the data's type; 10
 * makes the mask bool; 12 moves ratio to an optional input (default 0.5),
 * adds the optional bool input `training_mode` (default false) and the
 * `seed` attribute; 13 only adds bfloat16. Dropout-7/10 have no way to ask
 * for training, and ONNX's cases for them expect the identity, so they are
 * always the identity here (their gradient too).
 *
 * The random numbers are ONNX's reference exactly (onnx/backend/test/case/
 * node/dropout.py): np.random.seed(seed); np.random.uniform(0, 1, x.shape),
 * i.e. numpy's legacy MT19937 (runtime/mt19937.h) drawing one 53-bit double
 * per element in row-major order. The comparison u >= ratio is done on the
 * 53-bit integer k = u * 2^53 against ceil(ratio * 2^53), which is exact.
 * Each kernel instance owns a generator seeded in setup() and advanced by
 * every training run, so the first run with seed s reproduces numpy's
 * RandomState(s) and every later run (training step) draws a fresh mask.
 * A ratio of 0 or inference mode draws nothing. A plan is one kernel
 * instance: a session that re-plans for a new input shape starts that
 * plan's generator from the seed again.
 *   seed: the low 32 bits of the `seed` attribute; without one, the 32-bit
 *   FNV-1a hash of the node's name, so differently named nodes draw
 *   different streams and a run is reproducible (nodes without a name all
 *   hash "" and share one stream: give them seeds).
 *
 * Gradient: dX = DropoutGrad(dY, mask, ratio, training_mode) with ONNX
 * Runtime's definition (training_op_defs.cc): dX = training_mode && ratio
 * != 0 ? dY * mask / (1 - ratio) : dY; ratio defaults to 0.5 and
 * training_mode to false when absent, as in Dropout (ORT's CPU kernel
 * ignores training_mode; its schema documents the default used here).
 * The rule needs the forward's mask even when the model did not ask for
 * it: ot_grad_forward_output() gives the forward node a hidden mask output
 * (the kernel then writes it), which the planner keeps alive until
 * DropoutGrad has run. Re-drawing the mask in the backward is not an
 * option: the generator has moved on.
 *
 * Dropout-12/13 are not aliased (training writes a new tensor; an in-place
 * write would clobber x for its other readers) and never constant-folded
 * (random); Dropout-7/10, always the identity, alias their input. */
#include "ops/shape_util.h"
#include "runtime/mt19937.h"

#include <math.h>
#include <stdlib.h>

static const ot_attr_spec_t dropout7_attrs[] = {{"ratio", OT_ATTR_FLOAT, false}, {NULL, 0, false}};
static const ot_attr_spec_t dropout12_attrs[] = {{"seed", OT_ATTR_INT, false}, {NULL, 0, false}};

static bool is_float_type(ot_dtype_t dt) {
    return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE || dt == OT_DTYPE_FLOAT16 || dt == OT_DTYPE_BFLOAT16;
}

/* A float-type scalar's value. */
static double read_scalar(const ot_tensor_t *t) {
    switch (t->dtype) {
    case OT_DTYPE_FLOAT: return *(const float *)t->data;
    case OT_DTYPE_DOUBLE: return *(const double *)t->data;
    case OT_DTYPE_FLOAT16: return ot_f16_to_float(*(const uint16_t *)t->data);
    case OT_DTYPE_BFLOAT16: return ot_bf16_to_float(*(const uint16_t *)t->data);
    default: OT_ASSERT(!"ratio dtype checked in infer"); return 0;
    }
}

static const ot_tensor_t *opt_input(const ot_tensor_t *const *inputs, int n, int i) { return i < n ? inputs[i] : NULL; }

/* Checks the optional ratio (float scalar) and training_mode (bool scalar)
 * inputs, shared by Dropout and DropoutGrad. */
static ot_status_t *check_ratio_training(ot_infer_ctx_t *ctx, const ot_tensor_t *ratio, const ot_tensor_t *training) {
    if (ratio) {
        if (!is_float_type(ratio->dtype))
            return OT_INFER_ERROR(ctx, "ratio must be a float type, got %s", ot_dtype_name(ratio->dtype));
        if (ratio->shape.rank > 0 && ot_shape_numel(&ratio->shape) != 1)
            return OT_INFER_ERROR(ctx, "ratio must be a scalar");
        if (ratio->data) {
            double r = read_scalar(ratio);
            if (!(r >= 0 && r < 1)) return OT_INFER_ERROR(ctx, "ratio %g is not in [0, 1)", r);
        }
    }
    if (training) {
        if (training->dtype != OT_DTYPE_BOOL)
            return OT_INFER_ERROR(ctx, "training_mode must be bool, got %s", ot_dtype_name(training->dtype));
        if (training->shape.rank > 0 && ot_shape_numel(&training->shape) != 1)
            return OT_INFER_ERROR(ctx, "training_mode must be a scalar");
    }
    return NULL;
}

static ot_status_t *dropout_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (!is_float_type(x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(x->dtype));
    if (ctx->node->opset < 12) {
        double r = ot_attr_float(ctx->node, "ratio", 0.5f);
        if (!(r >= 0 && r < 1)) return OT_INFER_ERROR(ctx, "ratio %g is not in [0, 1)", r);
    } else {
        ot_status_t *st = check_ratio_training(ctx, opt_input(ctx->inputs, ctx->n_inputs, 1),
                                               opt_input(ctx->inputs, ctx->n_inputs, 2));
        if (st) return st;
    }
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    if (ctx->n_outputs > 1 && ctx->outputs[1]) {
        ctx->outputs[1]->dtype = ctx->node->opset < 10 ? x->dtype : OT_DTYPE_BOOL;
        ctx->outputs[1]->shape = x->shape;
    }
    return NULL;
}

static uint32_t default_seed(const char *name) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

static ot_status_t *dropout_setup(ot_kernel_t *k) {
    if (k->node->opset < 12) return NULL; /* always the identity */
    ot_mt19937_t *gen = malloc(sizeof *gen);
    if (!gen) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    const ot_attr_t *seed = ot_node_attr(k->node, "seed");
    ot_mt19937_seed(gen, seed ? (uint32_t)(uint64_t)seed->i : default_seed(k->node->name));
    k->state = gen;
    return NULL;
}

static void dropout_release(ot_kernel_t *k) {
    free(k->state);
    k->state = NULL;
}

/* mask = all true, in its dtype (bool, or the data's type before 10). */
static void fill_true(ot_tensor_t *mask) {
    int64_t n = ot_shape_numel(&mask->shape);
    if (n == 0) return; /* no buffer */
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

/* One generator draw per element, in order: the draws are sequential by
 * nature (MT19937), so they come in blocks of DROPOUT_BLOCK (on the stack)
 * and each block is then applied. y = x * (keep ? scale : 0), which is
 * numpy's mask * x * scale bit for bit (signed zeros and NaN included). */
#define DROPOUT_BLOCK 1024
#define DROPOUT_LOOP(T, LOAD, STORE, SCALE)                                  \
    do {                                                                      \
        const T *src = x->data;                                               \
        T *dst = y->data;                                                     \
        uint64_t u[DROPOUT_BLOCK];                                            \
        for (int64_t i0 = 0; i0 < n; i0 += DROPOUT_BLOCK) {                   \
            int64_t len = n - i0 < DROPOUT_BLOCK ? n - i0 : DROPOUT_BLOCK;    \
            ot_mt19937_fill_u53(gen, u, len);                                 \
            for (int64_t i = 0; i < len; i++) {                               \
                bool keep = u[i] >= thr;                                      \
                dst[i0 + i] = STORE(LOAD(src[i0 + i]) * (keep ? (SCALE) : 0)); \
                if (m) m[i0 + i] = keep;                                      \
            }                                                                 \
        }                                                                     \
    } while (0)
#define AS_IS(v) (v)

static ot_status_t *dropout_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    ot_tensor_t *mask = k->n_outputs > 1 ? k->outputs[1] : NULL;
    const ot_tensor_t *ratio = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 1);
    const ot_tensor_t *training = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 2);
    double r = ratio ? read_scalar(ratio) : 0.5;
    bool train = k->node->opset >= 12 && training && *(const uint8_t *)training->data;
    if (!train || r == 0) {
        ot_copy_unless_aliased(y->data, x->data, ot_tensor_nbytes(x));
        if (mask) fill_true(mask);
        return NULL;
    }
    if (!(r > 0 && r < 1)) return OT_KERNEL_ERROR(k, "ratio %g is not in [0, 1)", r);
    ot_mt19937_t *gen = k->state;
    /* u >= r  <=>  k / 2^53 >= r  <=>  k >= ceil(r * 2^53); r * 2^53 is exact */
    uint64_t thr = (uint64_t)ceil(r * 9007199254740992.0);
    int64_t n = ot_shape_numel(&x->shape);
    uint8_t *m = mask ? mask->data : NULL; /* bool from Dropout-12 on */
    /* scale = 1 / (1 - ratio) in the data's precision, as numpy computes it */
    float sf = 1.0f / (1.0f - (float)r);
    switch (x->dtype) {
    case OT_DTYPE_FLOAT: DROPOUT_LOOP(float, AS_IS, AS_IS, sf); break;
    case OT_DTYPE_DOUBLE: DROPOUT_LOOP(double, AS_IS, AS_IS, 1.0 / (1.0 - r)); break;
    case OT_DTYPE_FLOAT16: DROPOUT_LOOP(uint16_t, ot_f16_to_float, ot_float_to_f16, sf); break;
    case OT_DTYPE_BFLOAT16: DROPOUT_LOOP(uint16_t, ot_bf16_to_float, ot_float_to_bf16, sf); break;
    default: OT_ASSERT(!"dtype checked in infer");
    }
    return NULL;
}

static ot_status_t *dropout_gradient(ot_grad_ctx_t *ctx) {
    if (ctx->doutputs[0] < 0) return NULL;
    int training = ctx->n_inputs > 2 ? ctx->inputs[2] : -1;
    if (ctx->node->opset < 12 || training < 0) { /* the forward is the identity */
        ctx->dinputs[0] = ctx->doutputs[0];
        return NULL;
    }
    int mask;
    ot_status_t *st = ot_grad_forward_output(ctx, 1, &mask);
    if (st) return st;
    int in[4] = {ctx->doutputs[0], mask, ctx->n_inputs > 1 ? ctx->inputs[1] : -1, training};
    return ot_grad_emit(ctx, "com.microsoft", "DropoutGrad", 4, in, 1, &ctx->dinputs[0], 0, NULL);
}

#define DROPOUT_RECORD(ver, max_in, attr_list, flag_bits, setup_fn, release_fn, grad_fn) \
    const ot_op_def_t ot_op_Dropout_##ver = {                                           \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                           \
        .domain = "",                                                                   \
        .op_type = "Dropout",                                                           \
        .since_version = ver,                                                           \
        .min_inputs = 1, .max_inputs = max_in,                                          \
        .min_outputs = 1, .max_outputs = 2,                                             \
        .attrs = attr_list,                                                             \
        .flags = flag_bits,                                                             \
        .infer = dropout_infer,                                                         \
        .setup = setup_fn,                                                              \
        .run = dropout_run,                                                             \
        .release = release_fn,                                                          \
        .gradient = grad_fn,                                                            \
        .doc = "training: y = x * (U[0,1) >= ratio) / (1 - ratio) (numpy MT19937); else y = x", \
    };

DROPOUT_RECORD(7, 1, dropout7_attrs, OT_OP_ALIAS_INPUT0, NULL, NULL, dropout_gradient)
DROPOUT_RECORD(10, 1, dropout7_attrs, OT_OP_ALIAS_INPUT0, NULL, NULL, dropout_gradient)
DROPOUT_RECORD(12, 3, dropout12_attrs, OT_OP_NONDETERMINISTIC, dropout_setup, dropout_release, dropout_gradient)
DROPOUT_RECORD(13, 3, dropout12_attrs, OT_OP_NONDETERMINISTIC, dropout_setup, dropout_release, dropout_gradient)

/* ---- com.microsoft::DropoutGrad(dY, mask, ratio?, training_mode?) -> dX ---- */

static ot_status_t *dropout_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *mask = ctx->inputs[1];
    if (!is_float_type(dy->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dY dtype %s not supported", ot_dtype_name(dy->dtype));
    if (mask->dtype != OT_DTYPE_BOOL) return OT_INFER_ERROR(ctx, "mask must be bool, got %s", ot_dtype_name(mask->dtype));
    int64_t nd = ot_shape_numel(&dy->shape), nm = ot_shape_numel(&mask->shape);
    if (nd >= 0 && nm >= 0 && nd != nm)
        return OT_INFER_ERROR(ctx, "dY has %lld elements, mask %lld", (long long)nd, (long long)nm);
    ot_status_t *st =
        check_ratio_training(ctx, opt_input(ctx->inputs, ctx->n_inputs, 2), opt_input(ctx->inputs, ctx->n_inputs, 3));
    if (st) return st;
    ctx->outputs[0]->dtype = dy->dtype;
    ctx->outputs[0]->shape = dy->shape;
    return NULL;
}

#define DROPOUT_GRAD_LOOP(T, LOAD, STORE, SCALE)                                                        \
    do {                                                                                                \
        const T *src = dy->data;                                                                        \
        T *dst = dx->data;                                                                              \
        if (n > 65536) {                                                                                \
            _Pragma("omp parallel for") for (int64_t i = 0; i < n; i++) dst[i] =                        \
                STORE(LOAD(src[i]) * (m[i] ? (SCALE) : 0));                                             \
        } else {                                                                                        \
            for (int64_t i = 0; i < n; i++) dst[i] = STORE(LOAD(src[i]) * (m[i] ? (SCALE) : 0));        \
        }                                                                                               \
    } while (0)

static ot_status_t *dropout_grad_run(ot_kernel_t *k) {
    const ot_tensor_t *dy = k->inputs[0], *mask = k->inputs[1];
    ot_tensor_t *dx = k->outputs[0];
    const ot_tensor_t *ratio = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 2);
    const ot_tensor_t *training = opt_input((const ot_tensor_t *const *)k->inputs, k->n_inputs, 3);
    int64_t n = ot_shape_numel(&dy->shape);
    if (ot_shape_numel(&mask->shape) != n) return OT_KERNEL_ERROR(k, "dY and mask differ in size");
    double r = ratio ? read_scalar(ratio) : 0.5;
    if (!training || !*(const uint8_t *)training->data || r == 0) {
        ot_copy_unless_aliased(dx->data, dy->data, ot_tensor_nbytes(dy));
        return NULL;
    }
    if (!(r > 0 && r < 1)) return OT_KERNEL_ERROR(k, "ratio %g is not in [0, 1)", r);
    const uint8_t *m = mask->data;
    float sf = 1.0f / (1.0f - (float)r); /* the forward's scale, bit for bit */
    switch (dy->dtype) {
    case OT_DTYPE_FLOAT: DROPOUT_GRAD_LOOP(float, AS_IS, AS_IS, sf); break;
    case OT_DTYPE_DOUBLE: DROPOUT_GRAD_LOOP(double, AS_IS, AS_IS, 1.0 / (1.0 - r)); break;
    case OT_DTYPE_FLOAT16: DROPOUT_GRAD_LOOP(uint16_t, ot_f16_to_float, ot_float_to_f16, sf); break;
    case OT_DTYPE_BFLOAT16: DROPOUT_GRAD_LOOP(uint16_t, ot_bf16_to_float, ot_float_to_bf16, sf); break;
    default: OT_ASSERT(!"dtype checked in infer");
    }
    return NULL;
}

/* ORT's gradient builder copies the forward's attributes (seed) onto the
 * node; accepted and ignored. */
static const ot_attr_spec_t dropout_grad_attrs[] = {{"seed", OT_ATTR_INT, false}, {NULL, 0, false}};

const ot_op_def_t ot_op_ms_DropoutGrad_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.microsoft",
    .op_type = "DropoutGrad",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 4,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = dropout_grad_attrs,
    .infer = dropout_grad_infer,
    .run = dropout_grad_run,
    .doc = "dX = training_mode && ratio != 0 ? dY * mask / (1 - ratio) : dY",
};
