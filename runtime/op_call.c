/* runtime/op_call.c: see op_call.h. */
#include "runtime/op_call.h"

#include "ops/op_util.h"
#include "runtime/ir.h"

#include <stdlib.h>

struct ot_op_call {
    const ot_op_def_t *op;
    ot_arena_t *arena; /* the node's copy and the kernel's pointer arrays */
    ot_node_t node;
    ot_kernel_t k;
    bool set_up; /* setup succeeded: release is owed */
};

static bool same_type(const ot_tensor_t *a, const ot_tensor_t *b) {
    if (a->dtype != b->dtype || a->shape.rank != b->shape.rank) return false;
    for (int d = 0; d < a->shape.rank; d++)
        if (a->shape.dims[d] != b->shape.dims[d]) return false;
    return true;
}

/* Infers the outputs from the inputs' types (data hidden: the values change
 * between runs) and checks the caller's outputs against them. */
static ot_status_t *check_types(ot_op_call_t *c) {
    const ot_node_info_t *info = &c->node.info;
    int n_in = c->k.n_inputs, n_out = c->k.n_outputs;
    ot_tensor_t *in_types = ot_arena_alloc(c->arena, sizeof *in_types * (size_t)(n_in + 1));
    const ot_tensor_t **in_view = ot_arena_alloc(c->arena, sizeof *in_view * (size_t)(n_in + 1));
    ot_tensor_t *out_types = ot_arena_alloc(c->arena, sizeof *out_types * (size_t)(n_out + 1));
    ot_tensor_t **out_view = ot_arena_alloc(c->arena, sizeof *out_view * (size_t)(n_out + 1));
    if (!in_types || !in_view || !out_types || !out_view)
        return OT_NODE_ERROR(info, OT_ERR_NO_MEMORY, "out of memory");
    for (int i = 0; i < n_in; i++) {
        if (!c->k.inputs[i]) continue;
        in_types[i] = *c->k.inputs[i];
        in_types[i].data = NULL;
        in_view[i] = &in_types[i];
    }
    for (int o = 0; o < n_out; o++) out_view[o] = c->k.outputs[o] ? &out_types[o] : NULL;
    ot_infer_ctx_t ctx = {info, n_in, in_view, n_out, out_view, c->arena};
    ot_status_t *st = c->op->infer(&ctx);
    if (st) return st;
    char sa[128], sb[128];
    for (int o = 0; o < n_out; o++)
        if (out_view[o] && !same_type(c->k.outputs[o], &out_types[o]))
            return OT_NODE_ERROR(info, OT_ERR_INVALID_ARGUMENT, "output %d is %s %s, the op infers %s %s", o,
                                 ot_dtype_name(c->k.outputs[o]->dtype),
                                 ot_shape_str(&c->k.outputs[o]->shape, sa, sizeof sa),
                                 ot_dtype_name(out_types[o].dtype), ot_shape_str(&out_types[o].shape, sb, sizeof sb));
    return NULL;
}

/* Outputs may share inputs' bytes only where the op updates in place. */
static ot_status_t *check_aliasing(const ot_op_call_t *c) {
    if (c->op->flags & OT_OP_OPTIMIZER) return NULL;
    for (int o = 0; o < c->k.n_outputs; o++)
        for (int i = 0; i < c->k.n_inputs; i++) {
            const ot_tensor_t *out = c->k.outputs[o], *in = c->k.inputs[i];
            bool allowed = (c->op->flags & OT_OP_ALIAS_INPUT0) && o == 0 && i == 0;
            if (out && in && out->data && out->data == in->data && !allowed)
                return OT_NODE_ERROR(&c->node.info, OT_ERR_INVALID_ARGUMENT,
                                     "output %d shares input %d's buffer; this op does not update in place", o, i);
        }
    return NULL;
}

ot_status_t *ot_op_call_create(const ot_registry_t *reg, const ot_node_info_t *node, int n_inputs,
                               ot_tensor_t *const *inputs, int n_outputs, ot_tensor_t *const *outputs,
                               ot_op_call_t **out) {
    if (!reg || !node || !node->op_type || !out || n_inputs < 0 || n_outputs < 0 || (n_inputs && !inputs) ||
        (n_outputs && !outputs))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_op_call_create: NULL or negative argument");
    *out = NULL;
    const char *domain = node->domain ? node->domain : "";
    const ot_op_def_t *op = ot_registry_find(reg, domain, node->op_type, node->opset);
    if (!op)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "no registered op for opset %d", node->opset);
    if (op->flags & (OT_OP_ONEDNN | OT_OP_SHAPE_ONLY))
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "needs a graph (oneDNN engine or inference-time values)");
    ot_op_call_t *c = calloc(1, sizeof *c);
    if (!c || !(c->arena = ot_arena_create())) {
        free(c);
        return ot_status_create(OT_ERR_NO_MEMORY, "ot_op_call_create: out of memory");
    }
    c->op = op;
    ot_status_t *st = NULL;
    ot_node_info_t *info = &c->node.info;
    info->name = ot_arena_strdup(c->arena, node->name ? node->name : "");
    info->op_type = ot_arena_strdup(c->arena, node->op_type);
    info->domain = ot_arena_strdup(c->arena, domain);
    info->opset = node->opset;
    c->node.op = op;
    c->node.n_inputs = n_inputs;
    c->node.n_outputs = n_outputs;
    c->node.inputs = ot_arena_alloc(c->arena, sizeof(int) * (size_t)(n_inputs + 1));
    ot_tensor_t **ins = ot_arena_alloc(c->arena, sizeof *ins * (size_t)(n_inputs + 1));
    ot_tensor_t **outs = ot_arena_alloc(c->arena, sizeof *outs * (size_t)(n_outputs + 1));
    if (!info->name || !info->op_type || !info->domain || !c->node.inputs || !ins || !outs ||
        !ot_node_set_attrs(&c->node, c->arena, node->n_attrs, node->attrs))
        st = OT_NODE_ERROR(node, OT_ERR_NO_MEMORY, "out of memory (or an attribute type a node cannot copy)");
    for (int i = 0; !st && i < n_inputs; i++) {
        ins[i] = inputs[i];
        c->node.inputs[i] = inputs[i] ? i : -1; /* the schema check only asks which are present */
    }
    for (int o = 0; !st && o < n_outputs; o++) outs[o] = outputs[o];
    c->k = (ot_kernel_t){info, n_inputs, ins, n_outputs, outs, NULL, NULL, NULL};
    if (!st) st = ot_node_check_schema(&c->node);
    if (!st) st = check_types(c);
    if (!st) st = check_aliasing(c);
    if (!st && op->setup) st = op->setup(&c->k);
    if (st) {
        ot_op_call_destroy(c);
        return st;
    }
    c->set_up = true;
    *out = c;
    return NULL;
}

ot_status_t *ot_op_call_run(ot_op_call_t *c) {
    if (!c) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_op_call_run: NULL call");
    return c->op->run(&c->k);
}

void ot_op_call_destroy(ot_op_call_t *c) {
    if (!c) return;
    if (c->set_up && c->op->release) c->op->release(&c->k);
    ot_arena_destroy(c->arena);
    free(c);
}
