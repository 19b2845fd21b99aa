/* ops/constant.c: Constant (ONNX Constant-1/9/11/12/13).
 *
 *   output = the one value attribute: `value` (a tensor), or since 12
 *   value_float / value_int (scalars) / value_floats / value_ints (1-D).
 *
 * Inference already sets the output's data (a copy in ot_infer_alloc
 * memory), so the runtime treats the output as a constant; run() copies
 * the same bytes for executors that run the node anyway. Not supported:
 * sparse_value (11) and value_string(s) (12), string tensors. */
#include "ops/shape_util.h"

static const ot_attr_spec_t constant1_attrs[] = {{"value", OT_ATTR_TENSOR, true}, {NULL, 0, false}};
static const ot_attr_spec_t constant11_attrs[] = {
    {"value", OT_ATTR_TENSOR, false}, {"sparse_value", OT_ATTR_SPARSE_TENSOR, false}, {NULL, 0, false}};
static const ot_attr_spec_t constant12_attrs[] = {
    {"value", OT_ATTR_TENSOR, false},        {"sparse_value", OT_ATTR_SPARSE_TENSOR, false},
    {"value_float", OT_ATTR_FLOAT, false},   {"value_floats", OT_ATTR_FLOATS, false},
    {"value_int", OT_ATTR_INT, false},       {"value_ints", OT_ATTR_INTS, false},
    {"value_string", OT_ATTR_STRING, false}, {"value_strings", OT_ATTR_STRINGS, false},
    {NULL, 0, false}};

/* The value as dtype, shape and bytes (borrowed from the attribute). */
typedef struct const_value {
    ot_dtype_t dtype;
    ot_shape_t shape;
    const void *bytes;
    size_t nbytes;
} const_value_t;

static ot_status_t *constant_value(const ot_node_info_t *node, const_value_t *v) {
    static const char *const value_attrs[] = {"value",        "sparse_value", "value_float",  "value_floats",
                                              "value_int",    "value_ints",   "value_string", "value_strings"};
    const ot_attr_t *a = NULL;
    int found = 0;
    for (size_t i = 0; i < sizeof value_attrs / sizeof value_attrs[0]; i++) {
        const ot_attr_t *x = ot_node_attr(node, value_attrs[i]);
        if (x) {
            a = x;
            found++;
        }
    }
    if (found != 1)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "needs exactly one value attribute, found %d", found);
    if (strcmp(a->name, "value") == 0) {
        if (!a->t || a->type != OT_ATTR_TENSOR) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "value is not a tensor");
        size_t es = ot_dtype_size(a->t->dtype);
        if (es == 0)
            return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "value dtype %s is not supported", ot_dtype_name(a->t->dtype));
        int64_t n = ot_shape_numel(&a->t->shape);
        if (n < 0) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "value has an unknown shape");
        if (n > 0 && !a->t->data) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "value has no data");
        v->dtype = a->t->dtype;
        v->shape = a->t->shape;
        v->bytes = a->t->data;
        v->nbytes = (size_t)n * es;
    } else if (strcmp(a->name, "value_float") == 0) {
        v->dtype = OT_DTYPE_FLOAT;
        v->shape = ot_shape_make(0, NULL);
        v->bytes = &a->f;
        v->nbytes = sizeof(float);
    } else if (strcmp(a->name, "value_int") == 0) {
        v->dtype = OT_DTYPE_INT64;
        v->shape = ot_shape_make(0, NULL);
        v->bytes = &a->i;
        v->nbytes = sizeof(int64_t);
    } else if (strcmp(a->name, "value_floats") == 0) {
        v->dtype = OT_DTYPE_FLOAT;
        v->shape = ot_shape_make(1, &a->n);
        v->bytes = a->floats;
        v->nbytes = (size_t)a->n * sizeof(float);
    } else if (strcmp(a->name, "value_ints") == 0) {
        v->dtype = OT_DTYPE_INT64;
        v->shape = ot_shape_make(1, &a->n);
        v->bytes = a->ints;
        v->nbytes = (size_t)a->n * sizeof(int64_t);
    } else {
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "attribute %s is not supported", a->name);
    }
    return NULL;
}

static ot_status_t *constant_infer(ot_infer_ctx_t *ctx) {
    const_value_t v;
    ot_status_t *st = constant_value(ctx->node, &v);
    if (st) return st;
    ot_tensor_t *y = ctx->outputs[0];
    y->dtype = v.dtype;
    y->shape = v.shape;
    void *data = ot_infer_alloc(ctx, v.nbytes);
    if (!data) return OT_NODE_ERROR(ctx->node, OT_ERR_NO_MEMORY, "out of memory for a %zu-byte value", v.nbytes);
    if (v.nbytes) memcpy(data, v.bytes, v.nbytes);
    y->data = data;
    return NULL;
}

static ot_status_t *constant_run(ot_kernel_t *k) {
    const_value_t v;
    ot_status_t *st = constant_value(k->node, &v);
    if (st) return st;
    ot_copy_unless_aliased(k->outputs[0]->data, v.bytes, v.nbytes);
    return NULL;
}

#define CONSTANT_RECORD(ver, attr_list)                              \
    const ot_op_def_t ot_op_Constant_##ver = {                      \
        .abi_version = OT_PLUGIN_ABI_VERSION,                       \
        .domain = "",                                               \
        .op_type = "Constant",                                      \
        .since_version = ver,                                       \
        .min_inputs = 0, .max_inputs = 0,                           \
        .min_outputs = 1, .max_outputs = 1,                         \
        .attrs = attr_list,                                         \
        .infer = constant_infer,                                    \
        .run = constant_run,                                        \
        .doc = "output = the value attribute",                      \
    };

CONSTANT_RECORD(1, constant1_attrs)
CONSTANT_RECORD(9, constant1_attrs)
CONSTANT_RECORD(11, constant11_attrs)
CONSTANT_RECORD(12, constant12_attrs)
CONSTANT_RECORD(13, constant12_attrs)
