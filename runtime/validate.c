/* runtime/validate.c: checks a loaded graph against the op registry and
 * infers types and shapes.
 *
 * Order of checks: ops resolve, arity and attributes match the schema, each
 * value has exactly one producer, every input is produced, the graph is
 * acyclic (nodes are re-ordered topologically), then shape inference runs
 * node by node. Every failure names the node or value. Symbolic dims stay
 * unknown (< 0) here; the planner binds them. */
#include "runtime/autodiff.h"
#include "runtime/ir.h"
#include "ops/op_util.h"

#include <stdlib.h>
#include <string.h>

#define NODE_ERR(n, code, ...) ot_node_error(&(n)->info, (code), __VA_ARGS__)

static const char *attr_type_name(ot_attr_type_t t) {
    static const char *const names[OT_ATTR_TYPE_COUNT] = {
        "UNDEFINED", "FLOAT",   "INT",    "STRING",        "TENSOR",         "GRAPH",      "FLOATS", "INTS",
        "STRINGS",   "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    return (unsigned)t < OT_ATTR_TYPE_COUNT ? names[t] : "invalid";
}

static ot_status_t *check_schema(const ot_node_t *n) {
    const ot_op_def_t *op = n->op;
    if (n->n_inputs < op->min_inputs || (op->max_inputs >= 0 && n->n_inputs > op->max_inputs)) {
        if (op->max_inputs < 0)
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "has %d inputs, expected at least %d", n->n_inputs, op->min_inputs);
        return NODE_ERR(n, OT_ERR_INVALID_MODEL, "has %d inputs, expected %d to %d", n->n_inputs, op->min_inputs,
                        op->max_inputs);
    }
    for (int i = 0; i < op->min_inputs; i++)
        if (n->inputs[i] < 0) return NODE_ERR(n, OT_ERR_INVALID_MODEL, "required input %d is empty", i);
    if (n->n_outputs < op->min_outputs || (op->max_outputs >= 0 && n->n_outputs > op->max_outputs))
        return NODE_ERR(n, OT_ERR_INVALID_MODEL, "has %d outputs, expected %d to %d", n->n_outputs, op->min_outputs,
                        op->max_outputs);
    static const ot_attr_spec_t none[] = {{NULL, OT_ATTR_UNDEFINED, false}}; /* attrs NULL: the op has none */
    const ot_attr_spec_t *specs = op->attrs ? op->attrs : none;
    for (int a = 0; a < n->info.n_attrs; a++) {
        const ot_attr_t *attr = &n->info.attrs[a];
        const ot_attr_spec_t *spec = specs;
        while (spec->name && strcmp(spec->name, attr->name) != 0) spec++;
        if (!spec->name)
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "unknown attribute '%s'", attr->name);
        if (spec->type != attr->type)
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "attribute '%s' has type %s, expected %s", attr->name,
                            attr_type_name(attr->type), attr_type_name(spec->type));
    }
    for (const ot_attr_spec_t *spec = specs; spec->name; spec++)
        if (spec->required && !ot_node_attr(&n->info, spec->name))
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "missing required attribute '%s'", spec->name);
    return NULL;
}

static ot_status_t *resolve_ops(ot_model_t *m, bool allow_unknown_ops) {
    ot_graph_t *g = &m->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node_t *n = &g->nodes[i];
        int64_t opset = ot_model_opset(m, n->info.domain);
        if (opset < 0) {
            if (allow_unknown_ops) continue;
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "domain '%s' is not in the model's opset imports",
                            n->info.domain);
        }
        n->info.opset = (int)opset;
        n->op = ot_registry_find(m->registry, n->info.domain, n->info.op_type, (int)opset);
        if (!n->op) {
            if (allow_unknown_ops) continue;
            return NODE_ERR(n, OT_ERR_UNSUPPORTED, "no registered op for opset %d of domain '%s'", (int)opset,
                            *n->info.domain ? n->info.domain : "ai.onnx");
        }
        ot_status_t *st = check_schema(n);
        if (st) return st;
    }
    return NULL;
}

/* Producers, dangling inputs, duplicate outputs. */
static ot_status_t *link_values(ot_graph_t *g) {
    for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node_t *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            ot_value_t *val = &g->values[v];
            if (val->producer >= 0)
                return NODE_ERR(n, OT_ERR_INVALID_MODEL, "output '%s' is also produced by node '%s'", val->name,
                                g->nodes[val->producer].info.name);
            if (val->is_initializer || val->is_graph_input)
                return NODE_ERR(n, OT_ERR_INVALID_MODEL, "output '%s' is already a graph %s", val->name,
                                val->is_initializer ? "initializer" : "input");
            val->producer = i;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node_t *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0) continue;
            ot_value_t *val = &g->values[v];
            if (val->producer < 0 && !val->is_initializer && !val->is_graph_input)
                return NODE_ERR(n, OT_ERR_INVALID_MODEL,
                                "input '%s' is not a graph input, an initializer, or any node's output", val->name);
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        ot_value_t *val = &g->values[g->outputs[k]];
        if (val->producer < 0 && !val->is_initializer && !val->is_graph_input)
            return ot_status_create(OT_ERR_INVALID_MODEL, "graph output '%s' is not produced by any node", val->name);
    }
    return NULL;
}

/* Kahn's algorithm; stable (keeps file order among ready nodes). */
static ot_status_t *topo_sort(ot_graph_t *g) {
    int n = g->n_nodes;
    if (n == 0) return NULL;
    int *pending = calloc((size_t)n, sizeof *pending); /* unfinished producers per node */
    int *order = malloc((size_t)n * sizeof *order);
    int *done = calloc((size_t)n, sizeof *done);
    ot_node_t *sorted = malloc((size_t)n * sizeof *sorted);
    ot_status_t *st = NULL;
    if (!pending || !order || !done || !sorted) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "topological sort: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v >= 0 && g->values[v].producer >= 0) pending[i]++;
        }
    /* Repeated sweeps keep file order and are O(n^2) worst case only for
     * reversed files; models have at most a few thousand nodes. */
    int count = 0;
    for (bool progress = true; progress && count < n;) {
        progress = false;
        for (int i = 0; i < n; i++) {
            if (done[i] || pending[i] > 0) continue;
            done[i] = 1;
            order[count++] = i;
            progress = true;
            for (int o = 0; o < g->nodes[i].n_outputs; o++) {
                int v = g->nodes[i].outputs[o];
                if (v < 0) continue;
                for (int j = 0; j < n; j++)
                    for (int k = 0; k < g->nodes[j].n_inputs; k++)
                        if (g->nodes[j].inputs[k] == v) pending[j]--;
            }
        }
    }
    if (count < n) {
        int i = 0;
        while (done[i]) i++;
        st = NODE_ERR(&g->nodes[i], OT_ERR_INVALID_MODEL, "is part of a cycle (its inputs depend on its outputs)");
        goto out;
    }
    for (int i = 0; i < n; i++) sorted[i] = g->nodes[order[i]];
    memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++)
            if (g->nodes[i].outputs[o] >= 0) g->values[g->nodes[i].outputs[o]].producer = i;
out:
    free(pending);
    free(order);
    free(done);
    free(sorted);
    return st;
}

/* Merges an inferred type into a value's declared one. */
static ot_status_t *merge_type(const ot_node_t *n, ot_value_t *val, const ot_tensor_t *inferred) {
    char a[128], b[128];
    if (!val->has_type) {
        val->type = *inferred;
        val->has_type = true;
        return NULL;
    }
    ot_tensor_t *decl = &val->type;
    if (decl->dtype != OT_DTYPE_UNDEFINED && inferred->dtype != decl->dtype)
        return NODE_ERR(n, OT_ERR_INVALID_MODEL, "output '%s' is inferred as %s but declared %s", val->name,
                        ot_dtype_name(inferred->dtype), ot_dtype_name(decl->dtype));
    ot_shape_t s = inferred->shape;
    if (s.rank < 0) {
        s = decl->shape;
    } else if (decl->shape.rank >= 0) {
        if (decl->shape.rank != s.rank)
            return NODE_ERR(n, OT_ERR_INVALID_MODEL, "output '%s' is inferred with shape %s but declared %s",
                            val->name, ot_shape_str(&s, a, sizeof a), ot_shape_str(&decl->shape, b, sizeof b));
        for (int d = 0; d < s.rank; d++) {
            if (s.dims[d] < 0) s.dims[d] = decl->shape.dims[d];
            else if (decl->shape.dims[d] >= 0 && decl->shape.dims[d] != s.dims[d])
                return NODE_ERR(n, OT_ERR_INVALID_MODEL, "output '%s' is inferred with shape %s but declared %s",
                                val->name, ot_shape_str(&s, a, sizeof a), ot_shape_str(&decl->shape, b, sizeof b));
        }
    }
    decl->dtype = inferred->dtype;
    decl->shape = s;
    decl->data = inferred->data;
    return NULL;
}

static ot_status_t *infer_shapes(ot_model_t *m) {
    ot_graph_t *g = &m->graph;
    ot_status_t *st = NULL;
    const ot_tensor_t *in[64];
    ot_tensor_t out_store[64];
    ot_tensor_t *out[64];
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node_t *n = &g->nodes[i];
        if (!n->op) continue;
        if (n->n_inputs > 64 || n->n_outputs > 64)
            return NODE_ERR(n, OT_ERR_UNSUPPORTED, "more than 64 inputs or outputs");
        bool typed = true;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            in[k] = v >= 0 ? &g->values[v].type : NULL;
            if (v >= 0 && !g->values[v].has_type) typed = false;
        }
        if (!typed) continue; /* downstream of an unknown op (inspection only) */
        for (int o = 0; o < n->n_outputs; o++) {
            memset(&out_store[o], 0, sizeof out_store[o]);
            out_store[o].shape.rank = -1;
            out[o] = n->outputs[o] >= 0 ? &out_store[o] : NULL;
        }
        ot_infer_ctx_t ctx = {&n->info, n->n_inputs, in, n->n_outputs, out, m->arena};
        st = n->op->infer(&ctx);
        if (st) return st;
        for (int o = 0; o < n->n_outputs; o++) {
            if (!out[o]) continue;
            if (out[o]->shape.rank > OT_MAX_RANK)
                return NODE_ERR(n, OT_ERR_UNSUPPORTED, "output rank %d exceeds %d", out[o]->shape.rank, OT_MAX_RANK);
            st = merge_type(n, &g->values[n->outputs[o]], out[o]);
            if (st) return st;
        }
    }
    return NULL;
}

static ot_status_t *validate_once(ot_model_t *m, bool allow_unknown_ops) {
    ot_status_t *st = resolve_ops(m, allow_unknown_ops);
    if (!st) st = link_values(&m->graph);
    if (!st) st = topo_sort(&m->graph);
    if (!st) st = infer_shapes(m);
    return st;
}

/* Gradient nodes are expanded once the forward is typed; the grown graph is
 * then validated again as a whole (the new nodes resolve and get types). */
ot_status_t *ot_model_validate(ot_model_t *m, bool allow_unknown_ops) {
    bool expanded = false;
    ot_status_t *st = validate_once(m, allow_unknown_ops);
    if (!st) st = ot_expand_gradient_nodes(m, &expanded);
    if (!st && expanded) st = validate_once(m, allow_unknown_ops);
    return st;
}

/* op call (runtime/op_call.c): a node run outside any graph gets the same
 * schema checks. */
ot_status_t *ot_node_check_schema(const ot_node_t *n) { return check_schema(n); }
