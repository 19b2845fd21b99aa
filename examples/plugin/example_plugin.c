/* examples/plugin/example_plugin.c: a minimal onnxtrain plugin. It adds
 * com.example::Swish, y = x * sigmoid(beta * x) (Ramachandran et al. 2017),
 * with a float attribute `beta` (default 1).
 *
 * A plugin includes only <onnxtrain/plugin.h>, fills ot_op_def_t records
 * exactly as built-in ops do, and exports its registration function with
 * OT_PLUGIN_DEFINE. Build: cc -shared -fPIC example_plugin.c -lonnxtrain.
 *
 * EXAMPLE_WRONG_ABI builds a copy that claims another ABI version, used by
 * the test that checks such plugins are refused. */
#include <onnxtrain/plugin.h>

#include <math.h>

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

static ot_status_t *register_example_ops(ot_registry_t *reg) { return ot_registry_add(reg, &swish_op); }

#ifndef EXAMPLE_WRONG_ABI
OT_PLUGIN_DEFINE(register_example_ops)
#else
OT_PLUGIN_EXPORT uint32_t ot_plugin_abi_version(void) { return OT_PLUGIN_ABI_VERSION + 1000; }
OT_PLUGIN_EXPORT ot_status_t *ot_plugin_register(ot_registry_t *reg) { return register_example_ops(reg); }
#endif
