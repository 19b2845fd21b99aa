/* tests/plugins/bad_plugin.c: a plugin with the right ABI whose second
 * record declares an initializer that takes an input, which plugin.h's
 * initializer convention forbids: ot_registry_load_plugin must refuse the
 * plugin, name it and the op, and forget the first (good) record. */
#include <onnxtrain/plugin.h>

static ot_status_t *no_infer(ot_infer_ctx_t *ctx) { return NULL; }
static ot_status_t *no_run(ot_kernel_t *k) { return NULL; }

static const ot_attr_spec_t init_attrs[] = {{"shape", OT_ATTR_INTS, true}, {NULL, OT_ATTR_UNDEFINED, false}};

static const ot_op_def_t fine_op = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.bad",
    .op_type = "Fine",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .infer = no_infer,
    .run = no_run,
};

static const ot_op_def_t takes_input_op = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "com.bad",
    .op_type = "TakesInput",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = 1, /* an initializer has no inputs */
    .min_outputs = 1, .max_outputs = 1,
    .attrs = init_attrs,
    .flags = OT_OP_INITIALIZER,
    .infer = no_infer,
    .run = no_run,
};

static ot_status_t *register_bad(ot_registry_t *reg) {
    ot_status_t *st = ot_registry_add(reg, &fine_op);
    return st ? st : ot_registry_add(reg, &takes_input_op);
}

OT_PLUGIN_DEFINE(register_bad)
