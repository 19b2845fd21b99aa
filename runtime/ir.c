/* runtime/ir.c: editing the IR graph (values, nodes, the name index) and
 * the public model accessors. Conversion from/to ONNX protobuf lives in
 * onnx_load.c / onnx_save.c; validation in validate.c. */
#include "runtime/ir.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/name_map.h"

/* Grows *arr (of *cap elements of size `elem`) to hold `need`; false on OOM. */
static bool grow_array(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    if (need > INT32_MAX / 2) return false;
    int cap2 = *cap ? *cap : 16;
    while (cap2 < need) cap2 *= 2;
    void *p = realloc(*arr, (size_t)cap2 * elem);
    if (!p) return false;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(cap2 - *cap) * elem);
    *arr = p;
    *cap = cap2;
    return true;
}

int ot_graph_find(const ot_graph_t *g, const char *name) {
    if (!g->by_name || !name) return -1;
    return ot_name_map_get(g->by_name, name);
}

int ot_graph_intern(ot_graph_t *g, ot_arena_t *arena, const char *name) {
    int idx = ot_graph_find(g, name);
    if (idx >= 0) return idx;
    if (!g->by_name && !(g->by_name = ot_name_map_create())) return -1;
    if (!grow_array((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values)) return -1;
    ot_value_t *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = ot_arena_strdup(arena, name);
    if (!v->name) return -1;
    v->type.shape.rank = -1; /* unknown until declared or inferred */
    v->producer = -1;
    if (!ot_name_map_put(g->by_name, v->name, g->n_values)) return -1;
    return g->n_values++;
}

int ot_graph_add_node(ot_graph_t *g, ot_arena_t *arena, const char *op_type, const char *domain, const char *name,
                      int n_inputs, const int *inputs, int n_outputs, const int *outputs) {
    if (!grow_array((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) return -1;
    ot_node_t *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->info.op_type = ot_arena_strdup(arena, op_type);
    n->info.domain = ot_arena_strdup(arena, domain && strcmp(domain, "ai.onnx") != 0 ? domain : "");
    n->info.name = ot_arena_strdup(arena, name);
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->inputs = ot_arena_alloc(arena, (size_t)n_inputs * sizeof(int));
    n->outputs = ot_arena_alloc(arena, (size_t)n_outputs * sizeof(int));
    if (!n->info.op_type || !n->info.domain || !n->info.name || !n->inputs || !n->outputs) return -1;
    if (n_inputs) memcpy(n->inputs, inputs, (size_t)n_inputs * sizeof(int));
    if (n_outputs) memcpy(n->outputs, outputs, (size_t)n_outputs * sizeof(int));
    return g->n_nodes++;
}

void ot_graph_free(ot_graph_t *g) {
    if (!g) return;
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->initializers);
    ot_name_map_destroy(g->by_name);
    g->values = NULL;
    g->nodes = NULL;
    g->inputs = g->outputs = g->initializers = NULL;
    g->by_name = NULL;
    g->n_values = g->cap_values = g->n_nodes = g->cap_nodes = 0;
    g->n_inputs = g->n_outputs = g->n_initializers = 0;
}

static bool is_default_domain(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

int64_t ot_model_opset(const ot_model_t *m, const char *domain) {
    bool dflt = is_default_domain(domain);
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (dflt ? is_default_domain(d) : (d && strcmp(d, domain) == 0)) return m->opsets[i].version;
    }
    return -1;
}

/* ---- public accessors ---------------------------------------------------- */

void ot_model_destroy(ot_model_t *model) {
    if (!model) return;
    ot_graph_free(&model->graph);
    ot_arena_destroy(model->arena);
    free(model);
}

int ot_model_num_inputs(const ot_model_t *model) {
    if (!model) return 0;
    int n = 0;
    for (int i = 0; i < model->graph.n_inputs; i++)
        if (!model->graph.values[model->graph.inputs[i]].is_initializer) n++;
    return n;
}

int ot_model_num_outputs(const ot_model_t *model) { return model ? model->graph.n_outputs : 0; }

const char *ot_model_metadata(const ot_model_t *model, const char *key) {
    for (int i = 0; model && key && i < model->n_metadata; i++)
        if (!strcmp(model->metadata[i].key, key)) return model->metadata[i].value;
    return NULL;
}

static void value_info(const ot_value_t *v, const char **name, ot_dtype_t *dtype, ot_shape_t *shape) {
    if (name) *name = v->name;
    if (dtype) *dtype = v->type.dtype;
    if (shape) *shape = v->type.shape;
}

ot_status_t *ot_model_input_info(const ot_model_t *model, int i, const char **name, ot_dtype_t *dtype,
                                 ot_shape_t *shape) {
    if (!model) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_input_info: model is NULL");
    const ot_graph_t *g = &model->graph;
    for (int k = 0, seen = 0; k < g->n_inputs; k++) {
        const ot_value_t *v = &g->values[g->inputs[k]];
        if (v->is_initializer) continue;
        if (seen++ == i) {
            value_info(v, name, dtype, shape);
            return NULL;
        }
    }
    return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_input_info: input %d out of range [0, %d)", i,
                            ot_model_num_inputs(model));
}

ot_status_t *ot_model_output_info(const ot_model_t *model, int i, const char **name, ot_dtype_t *dtype,
                                  ot_shape_t *shape) {
    if (!model) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_output_info: model is NULL");
    if (i < 0 || i >= model->graph.n_outputs)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_output_info: output %d out of range [0, %d)", i,
                                model->graph.n_outputs);
    value_info(&model->graph.values[model->graph.outputs[i]], name, dtype, shape);
    return NULL;
}

/* Deep copy of one attribute into the arena (names, arrays, tensors). */
static bool copy_attr(ot_arena_t *arena, const ot_attr_t *src, ot_attr_t *dst) {
    *dst = *src;
    dst->name = ot_arena_strdup(arena, src->name);
    if (!dst->name) return false;
    if (src->s) {
        char *s = ot_arena_strndup(arena, src->s, src->s_len);
        if (!s) return false;
        dst->s = s;
    }
    if (src->type == OT_ATTR_INTS && src->n > 0) {
        int64_t *v = ot_arena_alloc(arena, (size_t)src->n * sizeof *v);
        if (!v) return false;
        memcpy(v, src->ints, (size_t)src->n * sizeof *v);
        dst->ints = v;
    }
    if (src->type == OT_ATTR_FLOATS && src->n > 0) {
        float *v = ot_arena_alloc(arena, (size_t)src->n * sizeof *v);
        if (!v) return false;
        memcpy(v, src->floats, (size_t)src->n * sizeof *v);
        dst->floats = v;
    }
    if (src->type == OT_ATTR_TENSOR && src->t) {
        ot_tensor_t *t = ot_arena_alloc(arena, sizeof *t);
        size_t nbytes = ot_tensor_nbytes(src->t);
        if (!t) return false;
        *t = *src->t;
        t->data = ot_arena_alloc(arena, nbytes);
        if (!t->data) return false;
        if (nbytes) memcpy(t->data, src->t->data, nbytes);
        dst->t = t;
    }
    if (src->type == OT_ATTR_STRINGS || src->type == OT_ATTR_TENSORS || src->raw) return false; /* not needed yet */
    return true;
}

bool ot_node_set_attrs(ot_node_t *node, ot_arena_t *arena, int n_attrs, const ot_attr_t *attrs) {
    ot_attr_t *copy = ot_arena_alloc(arena, (size_t)(n_attrs > 0 ? n_attrs : 1) * sizeof *copy);
    if (!copy) return false;
    for (int i = 0; i < n_attrs; i++)
        if (!copy_attr(arena, &attrs[i], &copy[i])) return false;
    node->info.attrs = copy;
    node->info.n_attrs = n_attrs;
    return true;
}

bool ot_model_import_opset(ot_model_t *m, const char *domain, int64_t version) {
    if (ot_model_opset(m, domain) >= 0) return true;
    ot_opset_t *opsets = ot_arena_alloc(m->arena, (size_t)(m->n_opsets + 1) * sizeof *opsets);
    if (!opsets) return false;
    if (m->n_opsets) memcpy(opsets, m->opsets, (size_t)m->n_opsets * sizeof *opsets);
    opsets[m->n_opsets].domain = ot_arena_strdup(m->arena, domain);
    opsets[m->n_opsets].version = version;
    if (!opsets[m->n_opsets].domain) return false;
    m->opsets = opsets;
    m->n_opsets++;
    return true;
}
