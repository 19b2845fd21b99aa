/* runtime/autodiff.c: reverse-mode autodiff over the IR (see autodiff.h).
 *
 * 1. active: values that depend on some x (forward sweep over the sorted
 *    nodes) and carry a float type;
 * 2. useful: values y depends on (backward sweep);
 * 3. nodes that are both are visited in reverse order: their output
 *    gradients (contributions summed with Add when a value has several
 *    consumers) go to the op's gradient rule, which emits backward nodes
 *    and names the input gradients.
 * Gradient ops use ONNX Runtime's com.microsoft names where one exists, so
 * graphs made by ORT's tools and ours share kernels; others use OT_DOMAIN. */
#include "runtime/autodiff.h"
#include "ops/op_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct grad_impl {
    ot_model_t *m;
    int fwd_node;   /* index of the forward node being differentiated */
    int counter;    /* for unique names */
};

static bool is_float(ot_dtype_t dt) {
    return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE || dt == OT_DTYPE_FLOAT16 || dt == OT_DTYPE_BFLOAT16;
}

/* A fresh value named after `base`. */
static int new_value(struct grad_impl *g, const char *base) {
    ot_graph_t *graph = &g->m->graph;
    char name[512];
    for (;;) {
        snprintf(name, sizeof name, "%s/grad_%d", base, g->counter++);
        if (ot_graph_find(graph, name) < 0) return ot_graph_intern(graph, g->m->arena, name);
    }
}

static const char *fwd_name(const struct grad_impl *g) {
    const ot_node_t *n = &g->m->graph.nodes[g->fwd_node];
    return *n->info.name ? n->info.name : n->info.op_type;
}

ot_status_t *ot_grad_emit(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int n_in, const int *in,
                          int n_out, int *out, int n_attrs, const ot_attr_t *attrs) {
    struct grad_impl *g = ctx->impl;
    ot_model_t *m = g->m;
    char base[400];
    snprintf(base, sizeof base, "%s_Grad/%s", fwd_name(g), op_type);
    for (int o = 0; o < n_out; o++) {
        out[o] = new_value(g, base);
        if (out[o] < 0) return ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
    }
    char name[512];
    snprintf(name, sizeof name, "%s_%d", base, g->counter++);
    int idx = ot_graph_add_node(&m->graph, m->arena, op_type, domain, name, n_in, in, n_out, out);
    if (idx < 0 || !ot_node_set_attrs(&m->graph.nodes[idx], m->arena, n_attrs, attrs))
        return ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
    if (domain && *domain && strcmp(domain, "ai.onnx") != 0 && !ot_model_import_opset(m, domain, 1))
        return ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
    /* ctx->node may point into the nodes array, which may have moved */
    ctx->node = &m->graph.nodes[g->fwd_node].info;
    return NULL;
}

ot_status_t *ot_grad_constant(ot_grad_ctx_t *ctx, const ot_tensor_t *value, int *out) {
    ot_attr_t attr = {.name = "value", .type = OT_ATTR_TENSOR, .t = value};
    return ot_grad_emit(ctx, "", "Constant", 0, NULL, 1, out, 1, &attr);
}

ot_status_t *ot_grad_forward_output(ot_grad_ctx_t *ctx, int index, int *out) {
    struct grad_impl *g = ctx->impl;
    ot_model_t *m = g->m;
    ot_node_t *n = &m->graph.nodes[g->fwd_node];
    if (index < 0 || index >= 64)
        return ot_node_error(&n->info, OT_ERR_INVALID_ARGUMENT, "autodiff: forward output %d out of range", index);
    if (index < n->n_outputs && n->outputs[index] >= 0) {
        *out = n->outputs[index];
        return NULL;
    }
    char base[400];
    snprintf(base, sizeof base, "%s/output%d", fwd_name(g), index);
    int v = new_value(g, base);
    n = &m->graph.nodes[g->fwd_node];
    int n_out = index + 1 > n->n_outputs ? index + 1 : n->n_outputs;
    int *outs = v < 0 ? NULL : ot_arena_alloc(m->arena, sizeof(int) * (size_t)n_out);
    if (!outs) return ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
    for (int o = 0; o < n_out; o++) outs[o] = o < n->n_outputs ? n->outputs[o] : -1;
    outs[index] = v;
    n->outputs = outs; /* the old array stays in the arena */
    n->n_outputs = n_out;
    m->graph.values[v].producer = g->fwd_node; /* validation links it again */
    *out = v;
    return NULL;
}

/* ones or zeros shaped like value v */
static ot_status_t *fill_like(ot_grad_ctx_t *ctx, int v, double fill, int *out) {
    const ot_value_t *val = &((struct grad_impl *)ctx->impl)->m->graph.values[v];
    ot_dtype_t dt = val->type.dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return ot_status_create(OT_ERR_UNSUPPORTED, "autodiff: value '%s' has dtype %s; gradients need float32 or float64",
                                val->name, ot_dtype_name(dt));
    unsigned char scalar[8];
    if (dt == OT_DTYPE_FLOAT) *(float *)scalar = (float)fill;
    else *(double *)scalar = fill;
    ot_tensor_t one = {dt, {1, {1}}, scalar};
    if (ot_shape_known(&val->type.shape) && ot_shape_numel(&val->type.shape) <= 4096) {
        /* small and known: a Constant of the full shape */
        int64_t n = ot_shape_numel(&val->type.shape);
        size_t es = ot_dtype_size(dt);
        unsigned char *buf = ot_arena_alloc(((struct grad_impl *)ctx->impl)->m->arena, (size_t)n * es + 1);
        if (!buf) return ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
        for (int64_t i = 0; i < n; i++) memcpy(buf + i * es, scalar, es);
        ot_tensor_t t = {dt, val->type.shape, buf};
        return ot_grad_constant(ctx, &t, out);
    }
    int shape;
    ot_status_t *st = ot_grad_emit(ctx, "", "Shape", 1, &v, 1, &shape, 0, NULL);
    ot_attr_t attr = {.name = "value", .type = OT_ATTR_TENSOR, .t = &one};
    if (!st) st = ot_grad_emit(ctx, "", "ConstantOfShape", 1, &shape, 1, out, 1, &attr);
    return st;
}

typedef struct contrib {
    int value;              /* a gradient contribution */
    struct contrib *next;
} contrib_t;

/* Sums a value's contributions into one handle (-1 if none). */
static ot_status_t *sum_contribs(ot_grad_ctx_t *ctx, contrib_t *c, int *out) {
    *out = -1;
    for (; c; c = c->next) {
        if (*out < 0) {
            *out = c->value;
            continue;
        }
        int in[2] = {*out, c->value};
        ot_status_t *st = ot_grad_emit(ctx, "", "Add", 2, in, 1, out, 0, NULL);
        if (st) return st;
    }
    return NULL;
}

ot_status_t *ot_autodiff(ot_model_t *m, int y, int seed, int n_xs, const int *xs, int *dxs) {
    ot_graph_t *g = &m->graph;
    int n_nodes = g->n_nodes; /* forward part: emitted nodes are appended after */
    int n_values = g->n_values;
    ot_status_t *st = NULL;
    bool *active = calloc((size_t)n_values + 1, 1), *useful = calloc((size_t)n_values + 1, 1);
    contrib_t **grads = calloc((size_t)n_values + 1, sizeof *grads);
    ot_arena_t *scratch = ot_arena_create();
    struct grad_impl impl = {m, 0, 0};
    ot_grad_ctx_t ctx = {0};
    ctx.impl = &impl;
    if (!active || !useful || !grads || !scratch) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
        goto out;
    }
    if (y < 0 || y >= n_values || !is_float(g->values[y].type.dtype)) {
        st = ot_status_create(OT_ERR_INVALID_MODEL, "autodiff: '%s' is not a floating-point value",
                              y >= 0 && y < n_values ? g->values[y].name : "?");
        goto out;
    }
    for (int k = 0; k < n_xs; k++) active[xs[k]] = is_float(g->values[xs[k]].type.dtype);
    for (int i = 0; i < n_nodes; i++) {
        const ot_node_t *n = &g->nodes[i];
        bool any = false;
        for (int k = 0; k < n->n_inputs; k++) any |= n->inputs[k] >= 0 && active[n->inputs[k]];
        for (int o = 0; any && o < n->n_outputs; o++)
            if (n->outputs[o] >= 0 && is_float(g->values[n->outputs[o]].type.dtype)) active[n->outputs[o]] = true;
    }
    useful[y] = true;
    for (int i = n_nodes - 1; i >= 0; i--) {
        const ot_node_t *n = &g->nodes[i];
        bool any = false;
        for (int o = 0; o < n->n_outputs; o++) any |= n->outputs[o] >= 0 && useful[n->outputs[o]];
        for (int k = 0; any && k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) useful[n->inputs[k]] = true;
    }

    /* seed */
    impl.fwd_node = g->values[y].producer >= 0 ? g->values[y].producer : 0;
    if (seed < 0 && n_nodes > 0) {
        st = fill_like(&ctx, y, 1.0, &seed);
        if (st) goto out;
    }
    contrib_t *c0 = ot_arena_alloc(scratch, sizeof *c0);
    if (!c0) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
        goto out;
    }
    c0->value = seed;
    grads[y] = c0;

    for (int i = n_nodes - 1; i >= 0; i--) {
        const ot_node_t *n = &g->nodes[i];
        bool relevant = false;
        for (int o = 0; o < n->n_outputs; o++)
            relevant |= n->outputs[o] >= 0 && active[n->outputs[o]] && useful[n->outputs[o]] && grads[n->outputs[o]];
        if (!relevant) continue;
        int ni = n->n_inputs, no = n->n_outputs;
        int *inputs = ot_arena_alloc(scratch, sizeof(int) * (size_t)(ni + 1));
        int *outputs = ot_arena_alloc(scratch, sizeof(int) * (size_t)(no + 1));
        int *douts = ot_arena_alloc(scratch, sizeof(int) * (size_t)(no + 1));
        int *dins = ot_arena_alloc(scratch, sizeof(int) * (size_t)(ni + 1));
        bool *needs = ot_arena_alloc(scratch, (size_t)(ni + 1));
        const ot_tensor_t **in_types = ot_arena_alloc(scratch, sizeof(void *) * (size_t)(ni + 1));
        const ot_tensor_t **out_types = ot_arena_alloc(scratch, sizeof(void *) * (size_t)(no + 1));
        if (!inputs || !outputs || !douts || !dins || !needs || !in_types || !out_types) {
            st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
            goto out;
        }
        impl.fwd_node = i;
        ctx.node = &n->info;
        bool any_need = false;
        for (int k = 0; k < ni; k++) {
            int v = n->inputs[k];
            inputs[k] = v;
            dins[k] = -1;
            needs[k] = v >= 0 && active[v] && useful[v];
            any_need |= needs[k];
            /* types are copied: the values array may move while emitting */
            ot_tensor_t *t = NULL;
            if (v >= 0 && (t = ot_arena_alloc(scratch, sizeof *t))) *t = g->values[v].type;
            in_types[k] = t;
        }
        for (int o = 0; o < no; o++) {
            int v = n->outputs[o];
            outputs[o] = v;
            douts[o] = -1;
            ot_tensor_t *t = NULL;
            if (v >= 0 && (t = ot_arena_alloc(scratch, sizeof *t))) *t = g->values[v].type;
            out_types[o] = t;
            if (v >= 0 && (st = sum_contribs(&ctx, grads[v], &douts[o]))) goto out;
        }
        if (!any_need) continue;
        n = &g->nodes[i]; /* emitting may have moved the nodes array */
        if (!n->op || !n->op->gradient) {
            st = ot_node_error(&n->info, OT_ERR_UNSUPPORTED, "no gradient rule for this op (needed by autodiff)");
            goto out;
        }
        ctx.n_inputs = ni;
        ctx.inputs = inputs;
        ctx.input_types = in_types;
        ctx.n_outputs = no;
        ctx.outputs = outputs;
        ctx.output_types = out_types;
        ctx.doutputs = douts;
        ctx.needs = needs;
        ctx.dinputs = dins;
        st = n->op->gradient(&ctx);
        if (st) goto out;
        for (int k = 0; k < ni; k++) {
            if (!needs[k] || dins[k] < 0) continue;
            contrib_t *c = ot_arena_alloc(scratch, sizeof *c);
            if (!c) {
                st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
                goto out;
            }
            c->value = dins[k];
            c->next = grads[inputs[k]];
            grads[inputs[k]] = c;
        }
    }
    for (int k = 0; k < n_xs; k++) {
        impl.fwd_node = 0;
        st = sum_contribs(&ctx, grads[xs[k]], &dxs[k]);
        if (!st && dxs[k] < 0) st = fill_like(&ctx, xs[k], 0.0, &dxs[k]);
        if (st) goto out;
    }
out:
    free(active);
    free(useful);
    free(grads);
    ot_arena_destroy(scratch);
    return st;
}

/* ---- the standard Gradient op ------------------------------------------- */

static ot_status_t *gradient_infer(ot_infer_ctx_t *ctx) {
    /* outputs match xs (the first inputs) */
    for (int o = 0; o < ctx->n_outputs; o++) {
        if (!ctx->outputs[o]) continue;
        if (o >= ctx->n_inputs || !ctx->inputs[o]) return OT_INFER_ERROR(ctx, "output %d has no matching input in xs", o);
        ctx->outputs[o]->dtype = ctx->inputs[o]->dtype;
        ctx->outputs[o]->shape = ctx->inputs[o]->shape;
    }
    return NULL;
}

static ot_status_t *gradient_run(ot_kernel_t *k) {
    return OT_KERNEL_ERROR(k, "Gradient nodes are expanded by autodiff at load time and never run");
}

static const ot_attr_spec_t gradient_attrs[] = {
    {"xs", OT_ATTR_STRINGS, true}, {"y", OT_ATTR_STRING, true}, {"zs", OT_ATTR_STRINGS, false}, {NULL, 0, false}};

const ot_op_def_t ot_op_Gradient_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "ai.onnx.preview.training",
    .op_type = "Gradient",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = -1,
    .min_outputs = 1, .max_outputs = -1,
    .attrs = gradient_attrs,
    .infer = gradient_infer,
    .run = gradient_run,
    .doc = "dy/dxs by reverse-mode autodiff (expanded at load time)",
};

ot_status_t *ot_expand_gradient_nodes(ot_model_t *m, bool *expanded) {
    ot_graph_t *g = &m->graph;
    *expanded = false;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != &ot_op_Gradient_1) continue;
        const ot_node_info_t *info = &g->nodes[i].info;
        const ot_attr_t *xs_attr = ot_node_attr(info, "xs");
        const char *y_name = ot_attr_string(info, "y", "");
        int y = ot_graph_find(g, y_name);
        if (y < 0) return ot_node_error(info, OT_ERR_INVALID_MODEL, "attribute y names no value ('%s')", y_name);
        if (xs_attr->n != g->nodes[i].n_outputs)
            return ot_node_error(info, OT_ERR_INVALID_MODEL, "has %d outputs for %lld xs", g->nodes[i].n_outputs,
                                 (long long)xs_attr->n);
        int n_xs = (int)xs_attr->n;
        int *xs = malloc(sizeof(int) * (size_t)(n_xs + 1)), *dxs = malloc(sizeof(int) * (size_t)(n_xs + 1));
        int *outs = malloc(sizeof(int) * (size_t)(n_xs + 1));
        ot_status_t *st = NULL;
        if (!xs || !dxs || !outs) st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
        for (int k = 0; !st && k < n_xs; k++) {
            xs[k] = ot_graph_find(g, xs_attr->strings[k]);
            outs[k] = g->nodes[i].outputs[k];
            if (outs[k] < 0) st = ot_node_error(info, OT_ERR_INVALID_MODEL, "output %d is empty", k);
            else if (xs[k] < 0)
                st = ot_node_error(info, OT_ERR_INVALID_MODEL, "xs[%d] names no value ('%s')", k, xs_attr->strings[k]);
        }
        if (!st) st = ot_autodiff(m, y, -1, n_xs, xs, dxs);
        /* the Gradient node becomes Identity(dx_0) -> out_0, plus one more Identity per further x */
        for (int k = 0; !st && k < n_xs; k++) {
            int node = k == 0 ? i : ot_graph_add_node(g, m->arena, "Identity", "", "", 1, &dxs[k], 1, &outs[k]);
            if (node < 0) {
                st = ot_status_create(OT_ERR_NO_MEMORY, "autodiff: out of memory");
                break;
            }
            ot_node_t *n = &g->nodes[node];
            if (k == 0) {
                char name[512];
                snprintf(name, sizeof name, "%s/dx0", *n->info.name ? n->info.name : "Gradient");
                n->info.name = ot_arena_strdup(m->arena, name);
                n->info.op_type = "Identity";
                n->info.domain = "";
                n->info.n_attrs = 0;
                n->n_inputs = 1;
                n->inputs[0] = dxs[0];
                n->n_outputs = 1;
                n->outputs[0] = outs[0];
                n->op = NULL;
            }
        }
        free(xs);
        free(dxs);
        free(outs);
        if (st) return st;
        *expanded = true;
    }
    return NULL;
}
