/* runtime/plan.c: turns a validated graph plus concrete input shapes into a
 * list of set-up kernels over one activation arena (see plan.h).
 *
 * Planning, in order: bind input shapes; walk nodes in topological order,
 * re-running shape inference with every dim known; evaluate right away any
 * node whose inputs are all constant (constant folding, so shape arithmetic
 * like Shape->Gather->Concat->Reshape costs nothing per run); schedule the
 * rest; give each scheduled output a lifetime [producer step, last consumer
 * step] and pack lifetimes into one arena (greedy by size, first fit);
 * finally set up each kernel (oneDNN primitives are created here, once).
 * Values written by view ops (OT_OP_ALIAS_INPUT0) share their source's
 * bytes and extend its lifetime. */
#include "runtime/plan.h"
#include "ops/op_util.h"

#include <stdlib.h>
#include <string.h>

enum value_kind { VAL_NONE = 0, VAL_CONST, VAL_INPUT, VAL_ARENA, VAL_ALIAS };

typedef struct step {
    int node;
    ot_kernel_t k;
} step_t;

struct ot_plan {
    const ot_model_t *model;
    const ot_graph_t *g;
    ot_tensor_t *vals;          /* (n_values) concrete type + data of every value */
    unsigned char *kind;        /* (n_values) enum value_kind */
    int *alias_of;              /* (n_values) source value of a VAL_ALIAS */
    ot_arena_t *consts;         /* folded constants and inference scratch */
    unsigned char *arena;       /* activations */
    size_t arena_bytes, naive_bytes;
    step_t *steps;
    int n_steps, n_folded;
    ot_tensor_t **ptrs;         /* storage for every step's input/output pointer arrays */
    int *input_vals;            /* value index of each non-initializer graph input */
    bool *input_is_key;         /* input's values are baked into the plan (shape operands) */
    int n_inputs;
    bool shape_unknown;         /* planning failed on a shape that depends on input values */
    void *engine, *stream;
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static ot_status_t *check_inputs(const ot_plan_t *p, const ot_tensor_t *const *inputs) {
    char a[128], b[128];
    for (int i = 0; i < p->n_inputs; i++) {
        const ot_value_t *val = &p->g->values[p->input_vals[i]];
        const ot_tensor_t *t = inputs[i];
        if (!t) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "input '%s' is missing", val->name);
        if (t->dtype != val->type.dtype)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "input '%s' has dtype %s, the model expects %s",
                                    val->name, ot_dtype_name(t->dtype), ot_dtype_name(val->type.dtype));
        bool ok = t->shape.rank >= 0 && t->shape.rank <= OT_MAX_RANK && ot_shape_known(&t->shape);
        if (ok && val->type.shape.rank >= 0) {
            ok = t->shape.rank == val->type.shape.rank;
            for (int d = 0; ok && d < t->shape.rank; d++)
                ok = val->type.shape.dims[d] < 0 || val->type.shape.dims[d] == t->shape.dims[d];
        }
        if (!ok)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "input '%s' has shape %s, the model expects %s",
                                    val->name, ot_shape_str(&t->shape, a, sizeof a),
                                    ot_shape_str(&val->type.shape, b, sizeof b));
        if (!t->data && ot_tensor_nbytes(t) > 0)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "input '%s' has no data", val->name);
    }
    return NULL;
}

bool ot_plan_matches(const ot_plan_t *p, const ot_tensor_t *const *inputs) {
    for (int i = 0; i < p->n_inputs; i++) {
        const ot_tensor_t *have = &p->vals[p->input_vals[i]], *t = inputs[i];
        if (!t || t->dtype != have->dtype || t->shape.rank != have->shape.rank) return false;
        for (int d = 0; d < t->shape.rank; d++)
            if (t->shape.dims[d] != have->shape.dims[d]) return false;
        if (p->input_is_key[i] && memcmp(t->data, have->data, ot_tensor_nbytes(t)) != 0) return false;
    }
    return true;
}

/* Small integer inputs can be shape operands (Reshape's shape, Unsqueeze's
 * axes fed as graph inputs). When a plan cannot infer a shape, it is built
 * again with such inputs' values baked in and made part of its key. */
static bool is_shape_operand(const ot_tensor_t *t) {
    return (t->dtype == OT_DTYPE_INT64 || t->dtype == OT_DTYPE_INT32) && t->shape.rank <= 1 &&
           ot_shape_numel(&t->shape) <= OT_MAX_RANK;
}

/* Runs one node's kernel immediately on constant inputs. */
static ot_status_t *fold_node(ot_plan_t *p, const ot_node_t *n, ot_tensor_t **in, ot_tensor_t **out) {
    for (int o = 0; o < n->n_outputs; o++) {
        if (!out[o]) continue;
        if ((n->op->flags & OT_OP_ALIAS_INPUT0) && o == 0) {
            out[o]->data = in[0]->data;
            continue;
        }
        out[o]->data = ot_arena_alloc(p->consts, ot_tensor_nbytes(out[o]));
        if (!out[o]->data) return ot_node_error(&n->info, OT_ERR_NO_MEMORY, "out of memory folding a constant");
    }
    ot_kernel_t k = {&n->info, n->n_inputs, in, n->n_outputs, out, NULL, p->engine, p->stream};
    ot_status_t *st = n->op->setup ? n->op->setup(&k) : NULL;
    if (!st) st = n->op->run(&k);
    if (n->op->release) n->op->release(&k);
    return st;
}

/* Shape inference with concrete shapes, then fold or schedule. */
static ot_status_t *plan_nodes(ot_plan_t *p, int *step_of_node) {
    const ot_graph_t *g = p->g;
    char buf[128];
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node_t *n = &g->nodes[i];
        step_of_node[i] = -1;
        if (!n->op)
            return ot_node_error(&n->info, OT_ERR_UNSUPPORTED, "no registered op for opset %d", n->info.opset);
        ot_tensor_t in_types[n->n_inputs > 0 ? n->n_inputs : 1];
        const ot_tensor_t *in_view[n->n_inputs > 0 ? n->n_inputs : 1];
        ot_tensor_t *in[n->n_inputs > 0 ? n->n_inputs : 1];
        ot_tensor_t *out[n->n_outputs > 0 ? n->n_outputs : 1];
        bool all_const = !(n->op->flags & OT_OP_NONDETERMINISTIC);
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            in[k] = v >= 0 ? &p->vals[v] : NULL;
            in_view[k] = NULL;
            if (v < 0) continue;
            in_types[k] = p->vals[v];
            if (p->kind[v] != VAL_CONST) {
                in_types[k].data = NULL;
                all_const = false;
            }
            in_view[k] = &in_types[k];
        }
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            out[o] = v >= 0 ? &p->vals[v] : NULL;
            if (out[o]) {
                memset(out[o], 0, sizeof *out[o]);
                out[o]->shape.rank = -1;
            }
        }
        ot_infer_ctx_t ctx = {&n->info, n->n_inputs, in_view, n->n_outputs, out, p->consts};
        ot_status_t *st = n->op->infer(&ctx);
        if (st) return st;
        bool all_inferred_data = true;
        for (int o = 0; o < n->n_outputs; o++) {
            if (!out[o]) continue;
            if (!ot_shape_known(&out[o]->shape)) {
                p->shape_unknown = true;
                return ot_node_error(&n->info, OT_ERR_UNSUPPORTED,
                                     "cannot determine the shape of output '%s' (%s) before running the graph",
                                     g->values[n->outputs[o]].name, ot_shape_str(&out[o]->shape, buf, sizeof buf));
            }
            if (!out[o]->data) all_inferred_data = false;
        }
        if (all_inferred_data || all_const) {
            if (!all_inferred_data) {
                st = fold_node(p, n, in, out);
                if (st) return st;
            }
            for (int o = 0; o < n->n_outputs; o++)
                if (out[o]) p->kind[n->outputs[o]] = VAL_CONST;
            p->n_folded++;
            continue;
        }
        step_of_node[i] = p->n_steps++;
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            out[o]->data = NULL;
            if (o == 0 && (n->op->flags & OT_OP_ALIAS_INPUT0)) {
                p->kind[v] = VAL_ALIAS;
                p->alias_of[v] = n->inputs[0];
            } else {
                p->kind[v] = VAL_ARENA;
            }
        }
    }
    return NULL;
}

static int root_of(const ot_plan_t *p, int v) {
    while (p->kind[v] == VAL_ALIAS) v = p->alias_of[v];
    return v;
}

typedef struct buffer {
    int value;
    int first, last; /* steps during which it must hold its bytes */
    size_t size, offset;
} buffer_t;

static int by_size_desc(const void *a, const void *b) {
    const buffer_t *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->first - y->first;
}

/* Lifetimes, then greedy first-fit placement: largest buffers first, each
 * at the lowest offset that overlaps no placed buffer alive at the same time. */
static ot_status_t *pack_arena(ot_plan_t *p, const int *step_of_node) {
    const ot_graph_t *g = p->g;
    int *buf_of = malloc((size_t)g->n_values * sizeof *buf_of);
    buffer_t *bufs = malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *bufs);
    int *order = malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *order);
    ot_status_t *st = NULL;
    int nb = 0;
    if (!buf_of || !bufs || !order) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "planner: out of memory");
        goto out;
    }
    for (int v = 0; v < g->n_values; v++) {
        buf_of[v] = -1;
        if (p->kind[v] != VAL_ARENA) continue;
        int s = step_of_node[g->values[v].producer];
        bufs[nb] = (buffer_t){v, s, s, align64(ot_tensor_nbytes(&p->vals[v])), 0};
        if (bufs[nb].size == 0) bufs[nb].size = 64;
        p->naive_bytes += bufs[nb].size;
        buf_of[v] = nb++;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        int s = step_of_node[i];
        if (s < 0) continue;
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v < 0) continue;
            int b = buf_of[root_of(p, v)];
            if (b >= 0 && bufs[b].last < s) bufs[b].last = s;
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        int b = buf_of[root_of(p, g->outputs[k])];
        if (b >= 0) bufs[b].last = p->n_steps; /* read after the last step */
    }
    qsort(bufs, (size_t)nb, sizeof *bufs, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < nb; i++) {
        /* candidates: 0 and the end of every placed buffer alive at the same time */
        size_t best = SIZE_MAX;
        for (int c = -1; c < i; c++) {
            if (c >= 0 && (bufs[c].last < bufs[i].first || bufs[c].first > bufs[i].last)) continue;
            size_t off = c < 0 ? 0 : bufs[c].offset + bufs[c].size;
            if (off >= best) continue;
            bool fits = true;
            for (int j = 0; j < i && fits; j++) {
                if (bufs[j].last < bufs[i].first || bufs[j].first > bufs[i].last) continue;
                fits = off + bufs[i].size <= bufs[j].offset || off >= bufs[j].offset + bufs[j].size;
            }
            if (fits) best = off;
        }
        bufs[i].offset = best;
        if (best + bufs[i].size > total) total = best + bufs[i].size;
    }
    p->arena_bytes = total;
    if (total) {
        p->arena = aligned_alloc(64, total);
        if (!p->arena) {
            st = ot_status_create(OT_ERR_NO_MEMORY, "planner: cannot allocate a %zu-byte activation arena", total);
            goto out;
        }
        memset(p->arena, 0, total); /* fault the pages in now, not during the first step */
    }
    for (int i = 0; i < nb; i++) p->vals[bufs[i].value].data = p->arena + bufs[i].offset;
out:
    free(buf_of);
    free(bufs);
    free(order);
    return st;
}

static ot_status_t *setup_kernels(ot_plan_t *p, const int *step_of_node) {
    const ot_graph_t *g = p->g;
    size_t n_ptrs = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (step_of_node[i] >= 0) n_ptrs += (size_t)(g->nodes[i].n_inputs + g->nodes[i].n_outputs);
    p->steps = calloc((size_t)(p->n_steps ? p->n_steps : 1), sizeof *p->steps);
    p->ptrs = calloc(n_ptrs ? n_ptrs : 1, sizeof *p->ptrs);
    if (!p->steps || !p->ptrs) return ot_status_create(OT_ERR_NO_MEMORY, "planner: out of memory");
    ot_tensor_t **ptr = p->ptrs;
    for (int i = 0; i < g->n_nodes; i++) {
        int s = step_of_node[i];
        if (s < 0) continue;
        const ot_node_t *n = &g->nodes[i];
        step_t *st = &p->steps[s];
        st->node = i;
        ot_tensor_t **in = ptr, **out = ptr + n->n_inputs;
        ptr += n->n_inputs + n->n_outputs;
        for (int k = 0; k < n->n_inputs; k++) in[k] = n->inputs[k] >= 0 ? &p->vals[n->inputs[k]] : NULL;
        for (int o = 0; o < n->n_outputs; o++) out[o] = n->outputs[o] >= 0 ? &p->vals[n->outputs[o]] : NULL;
        st->k = (ot_kernel_t){&n->info, n->n_inputs, in, n->n_outputs, out, NULL, p->engine, p->stream};
        if (n->op->setup) {
            ot_status_t *err = n->op->setup(&st->k);
            if (err) {
                st->k.node = NULL; /* not set up: no release */
                return err;
            }
        }
    }
    return NULL;
}

static ot_status_t *plan_build(const ot_model_t *model, const ot_tensor_t *const *inputs, void *engine,
                               void *stream, bool key_shape_operands, ot_plan_t **out) {
    *out = NULL;
    const ot_graph_t *g = &model->graph;
    ot_plan_t *p = calloc(1, sizeof *p);
    int *step_of_node = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *step_of_node);
    ot_status_t *st = NULL;
    if (!p || !step_of_node) {
        free(p);
        free(step_of_node);
        return ot_status_create(OT_ERR_NO_MEMORY, "planner: out of memory");
    }
    p->model = model;
    p->g = g;
    p->engine = engine;
    p->stream = stream;
    p->vals = calloc((size_t)g->n_values + 1, sizeof *p->vals);
    p->kind = calloc((size_t)g->n_values + 1, 1);
    p->alias_of = calloc((size_t)g->n_values + 1, sizeof *p->alias_of);
    p->input_vals = calloc((size_t)g->n_inputs + 1, sizeof *p->input_vals);
    p->input_is_key = calloc((size_t)g->n_inputs + 1, sizeof *p->input_is_key);
    p->consts = ot_arena_create();
    if (!p->vals || !p->kind || !p->alias_of || !p->input_vals || !p->input_is_key || !p->consts) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "planner: out of memory");
        goto fail;
    }
    for (int k = 0; k < g->n_inputs; k++)
        if (!g->values[g->inputs[k]].is_initializer) p->input_vals[p->n_inputs++] = g->inputs[k];
    for (int v = 0; v < g->n_values; v++) {
        if (!g->values[v].is_initializer) continue;
        p->vals[v] = g->values[v].type;
        p->kind[v] = VAL_CONST;
    }
    st = check_inputs(p, inputs);
    if (st) goto fail;
    for (int i = 0; i < p->n_inputs; i++) {
        int v = p->input_vals[i];
        p->vals[v] = *inputs[i];
        p->vals[v].data = NULL;
        p->kind[v] = VAL_INPUT;
        if (key_shape_operands && is_shape_operand(inputs[i])) {
            size_t nbytes = ot_tensor_nbytes(inputs[i]);
            p->vals[v].data = ot_arena_alloc(p->consts, nbytes);
            if (!p->vals[v].data) {
                st = ot_status_create(OT_ERR_NO_MEMORY, "planner: out of memory");
                goto fail;
            }
            if (nbytes) memcpy(p->vals[v].data, inputs[i]->data, nbytes);
            p->kind[v] = VAL_CONST;
            p->input_is_key[i] = true;
        }
    }
    st = plan_nodes(p, step_of_node);
    if (!st) st = pack_arena(p, step_of_node);
    if (!st) st = setup_kernels(p, step_of_node);
    if (st) goto fail;
    free(step_of_node);
    *out = p;
    return NULL;
fail:
    free(step_of_node);
    if (p->shape_unknown && !key_shape_operands) {
        ot_plan_destroy(p);
        ot_status_t *retry = plan_build(model, inputs, engine, stream, true, out);
        if (!retry) {
            ot_status_free(st);
            return NULL;
        }
        ot_status_free(retry);
        return st;
    }
    ot_plan_destroy(p);
    return st;
}

ot_status_t *ot_plan_create(const ot_model_t *model, const ot_tensor_t *const *inputs, void *engine, void *stream,
                            ot_plan_t **out) {
    return plan_build(model, inputs, engine, stream, false, out);
}

void ot_plan_destroy(ot_plan_t *p) {
    if (!p) return;
    for (int s = 0; p->steps && s < p->n_steps; s++) {
        step_t *st = &p->steps[s];
        if (st->k.node && p->g->nodes[st->node].op->release) p->g->nodes[st->node].op->release(&st->k);
    }
    free(p->steps);
    free(p->ptrs);
    free(p->arena);
    ot_arena_destroy(p->consts);
    free(p->vals);
    free(p->kind);
    free(p->alias_of);
    free(p->input_vals);
    free(p->input_is_key);
    free(p);
}

ot_status_t *ot_plan_run(ot_plan_t *p, const ot_tensor_t *const *inputs) {
    for (int i = 0; i < p->n_inputs; i++)
        if (!p->input_is_key[i]) p->vals[p->input_vals[i]].data = inputs[i]->data;
    for (int s = 0; s < p->n_steps; s++) {
        step_t *st = &p->steps[s];
        const ot_node_t *n = &p->g->nodes[st->node];
        if ((n->op->flags & OT_OP_ALIAS_INPUT0) && st->k.outputs[0]) st->k.outputs[0]->data = st->k.inputs[0]->data;
        ot_status_t *err = n->op->run(&st->k);
        if (err) return err;
    }
    return NULL;
}

const ot_tensor_t *ot_plan_value(const ot_plan_t *p, int v) { return &p->vals[v]; }

void ot_plan_get_stats(const ot_plan_t *p, ot_plan_stats_t *stats) {
    stats->n_steps = p->n_steps;
    stats->n_folded = p->n_folded;
    stats->arena_bytes = p->arena_bytes;
    stats->naive_bytes = p->naive_bytes;
}
