/* runtime/prepare_init.c: `onnxtrain prepare --init NAME [--init-bias zeros]`,
 * the `initialization` graph of training_info[0] (ONNX's "run once, when
 * training starts"): one initializer node (OT_OP_INITIALIZER, plugin.h)
 * per weight, bound to it by initialization_binding.
 *
 * Weights are the trainable parameters of rank >= 2; the k-th one gets
 * seed `seed + k`, so with seed s, `torch.manual_seed(s + k)` and the same
 * torch.nn.init function give the same values. The node's fan_in/fan_out
 * say how the weight is used, as torch would see the equivalent module:
 *   Gemm B, transB = 1 (N, K), Conv (out, in/groups, k...), anything else:
 *       torch's rule for the shape (dims[1] * receptive, dims[0] * receptive);
 *   Gemm B, transB = 0, and MatMul B of rank 2, (K, N): a Linear(K, N)
 *       weight transposed, so fan_in = K = dims[0], fan_out = N = dims[1].
 * Biases (rank 1, read by Add or as input 2 of Gemm, Conv, ConvTranspose,
 * BatchNormalization, LayerNormalization) get Zeros with --init-bias zeros.
 * The model's own values stay in its initializers; `train` runs the graph
 * once (ot_training_session_needs_initialization) and checkpoints record
 * that it ran. Not here: per-parameter initializer choices. */
#include "runtime/prepare.h"
#include "ops/op_util.h"
#include "runtime/ir.h"

#include <stdio.h>
#include <string.h>

/* The attributes prepare sets itself on every initializer node. */
static const char *const reserved[] = {"shape", "dtype", "seed", "fan_in", "fan_out"};

/* The node that reads parameter v, and at which input; NULL if none. */
static const ot_node_t *reader(const ot_graph_t *g, int v, int *input) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == v) {
                *input = k;
                return &g->nodes[i];
            }
    return NULL;
}

static bool is_op(const ot_node_t *n, const char *op) {
    return n && !strcmp(n->info.op_type, op) && (!*n->info.domain || !strcmp(n->info.domain, "ai.onnx"));
}

/* fan_in, fan_out of a weight of rank >= 2 (see the header comment). */
static void weight_fans(const ot_graph_t *g, int v, int64_t *fan_in, int64_t *fan_out) {
    const ot_shape_t *s = &g->values[v].type.shape;
    int64_t receptive = 1;
    for (int d = 2; d < s->rank; d++) receptive *= s->dims[d];
    *fan_in = s->dims[1] * receptive;
    *fan_out = s->dims[0] * receptive;
    int input = -1;
    const ot_node_t *n = reader(g, v, &input);
    bool k_by_n = (is_op(n, "Gemm") && input == 1 && ot_attr_int(&n->info, "transB", 0) == 0) ||
                  (is_op(n, "MatMul") && input == 1 && s->rank == 2);
    if (k_by_n) *fan_in = s->dims[0], *fan_out = s->dims[1];
}

static bool is_bias(const ot_graph_t *g, int v) {
    static const char *const with_bias[] = {"Gemm", "Conv", "ConvTranspose", "BatchNormalization",
                                            "LayerNormalization"};
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            if (g->nodes[i].inputs[k] != v) continue;
            if (is_op(&g->nodes[i], "Add")) return true;
            for (size_t o = 0; k == 2 && o < sizeof with_bias / sizeof with_bias[0]; o++)
                if (is_op(&g->nodes[i], with_bias[o])) return true;
        }
    return false;
}

/* The initializer's own attributes from the options, checked against its schema. */
static ot_status_t *add_attrs(prep_t *p, const ot_op_def_t *init, Onnx__NodeProto *n) {
    const ot_prepare_options_t *o = p->o;
    for (int a = 0; a < o->n_init_attrs; a++) {
        const ot_attr_t *at = &o->init_attrs[a];
        const ot_attr_spec_t *spec = NULL;
        for (const ot_attr_spec_t *s = init->attrs; s && s->name; s++)
            if (!strcmp(s->name, at->name)) spec = s;
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
            if (!strcmp(at->name, reserved[r]))
                return ot_status_create(OT_ERR_INVALID_ARGUMENT, "initializer attribute '%s' is set by prepare",
                                        at->name);
        if (!spec)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "initializer %s has no attribute '%s'", init->op_type,
                                    at->name);
        if (spec->type != at->type)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "initializer %s: attribute '%s' has the wrong type",
                                    init->op_type, at->name);
    }
    return prep_attrs(p, n, o->n_init_attrs, o->init_attrs, "initializer");
}

ot_status_t *prep_initialization(prep_t *p) {
    const ot_prepare_options_t *o = p->o;
    const ot_graph_t *ir = &p->m->graph;
    bool keep = !o->init || !strcmp(o->init, "keep");
    if (keep && o->n_init_attrs)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "initializer attribute '%s' given without an initializer",
                                o->init_attrs[0].name);
    if (keep && !o->init_bias_zeros) return NULL;
    const ot_op_def_t *init = keep ? NULL : ot_registry_find_kind(p->m->registry, o->init, OT_OP_INITIALIZER);
    if (!keep && !init)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                "unknown initializer '%s' (`onnxtrain ops` lists them: kaiming_uniform, "
                                "xavier_normal, orthogonal, ...; or keep)",
                                o->init);
    const ot_op_def_t *zeros = ot_registry_find_kind(p->m->registry, "Zeros", OT_OP_INITIALIZER);
    OT_ASSERT(zeros && "built in");
    /* The bindings are collected through prep_bind in a scratch
     * TrainingInfoProto, then moved to initialization_binding. */
    Onnx__GraphProto *g = pb_alloc(&p->b, sizeof *g);
    Onnx__TrainingInfoProto *scratch = pb_alloc(&p->b, sizeof *scratch);
    if (!g || !scratch) return prep_oom();
    onnx__graph_proto__init(g);
    onnx__training_info_proto__init(scratch);
    g->name = "onnxtrain.initialization";
    prep_stage_t s = {.g = g, .ti = scratch};
    int64_t seed = o->has_seed ? o->seed : 0, k = 0;
    for (int i = 0; i < p->n_params; i++) {
        const ot_value_t *pv = p->param_values[i];
        int v = (int)(pv - ir->values);
        const ot_op_def_t *op = pv->type.shape.rank >= 2 ? init : pv->type.shape.rank == 1 && o->init_bias_zeros &&
                                                                          is_bias(ir, v)
                                                                      ? zeros
                                                                      : NULL;
        if (!op) continue;
        const char *out[] = {prep_cat(p, p->params[i], ".init")};
        Onnx__NodeProto *n = prep_node(p, &s, op->domain ? op->domain : "", op->op_type, 0, NULL, 1, out);
        if (!n || !out[0]) return prep_oom();
        pb_attr_ints(&p->b, n, "shape", pv->type.shape.dims, (size_t)pv->type.shape.rank);
        pb_attr_int(&p->b, n, "dtype", pv->type.dtype);
        if (op == init) {
            int64_t fan_in, fan_out;
            weight_fans(ir, v, &fan_in, &fan_out);
            pb_attr_int(&p->b, n, "seed", seed + k++);
            pb_attr_int(&p->b, n, "fan_in", fan_in);
            pb_attr_int(&p->b, n, "fan_out", fan_out);
            ot_status_t *st = add_attrs(p, init, n);
            if (st) return st;
        }
        prep_bind(p, &s, p->params[i], out[0], pv->type.dtype, &pv->type.shape);
    }
    if (g->n_node == 0) return NULL;
    p->grad.ti->initialization = g;
    p->grad.ti->initialization_binding = scratch->update_binding;
    p->grad.ti->n_initialization_binding = scratch->n_update_binding;
    if (init) prep_import(p, init->domain, init->since_version);
    return p->b.oom ? prep_oom() : NULL;
}
