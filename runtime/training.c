/* runtime/training.c: training sessions over ONNX's TrainingInfoProto (see
 * the training section of onnxtrain.h).
 *
 * Each TrainingInfoProto becomes one stage: the inference graph and its
 * `algorithm` graph joined as the spec says (inputs, initializers, outputs,
 * nodes and value_info concatenated in that order), with every mutable
 * initializer (a key of some update_binding or initialization_binding)
 * turned into a graph input. The joined graph is serialized and loaded like
 * any model, so it is validated and its Gradient nodes are expanded by
 * autodiff; an ordinary session plans and runs it. Mutable initializers
 * live in the training session as state tensors that every stage reads in
 * place; after a stage runs, its update_binding outputs are copied into the
 * state (all bindings checked first, so a failing step changes nothing).
 * `initialization` graphs are stages of their own, run on request.
 *
 * Checkpoints are the source model with the state written back into its
 * initializers (inference graph and algorithm graphs), written atomically.
 *
 * Not here: ONNX Runtime artifacts, `prepare` (they produce the same kind of
 * model), per-step scalars other than graph inputs. */
#define _XOPEN_SOURCE 700 /* strdup */

#include "runtime/onnx_io.h"
#include "ops/lr_schedule.h"
#include "ops/op_util.h"
#include "runtime/name_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stage {
    ot_model_t *model; /* joined graph; mutable initializers are graph inputs */
    ot_session_t *session;
    int n_inputs;
    int *input_state;  /* per model input: state index, or -1 when fed by name */
    const char **input_names;
    int n_outputs;
    const ot_tensor_t **inputs;  /* a run's feeds, allocated once (steps allocate nothing) */
    const ot_tensor_t **outputs; /* after a run: borrowed from the session */
    const char **output_names;
    int n_updates;
    int *update_output, *update_state; /* model output index -> state index */
    bool ran;          /* outputs hold the latest run's values */
} stage_t;

struct ot_training_session {
    const ot_model_t *model;
    uint8_t *source;   /* the model serialized once: stages and checkpoints start from it */
    size_t source_len;
    int n_state;
    char **state_names;
    ot_tensor_t **state;
    int n_stages;
    stage_t *algorithm; /* one per TrainingInfoProto */
    stage_t *init;      /* one per TrainingInfoProto; model NULL without initialization */
    stage_t *eval;      /* inference-mode forward + loss, or NULL */
    const stage_t *last; /* the stage whose outputs ot_training_session_output reads */
    int64_t steps;
    bool initialized;    /* the state holds initialization results (or a checkpoint's) */
    int n_feeds;         /* graph inputs of the algorithm stages that are not state, unique by name */
    const char **feed_names;
    const ot_tensor_t **feed_types;
};

/* Metadata a saved checkpoint carries so loading it does not initialize again. */
#define INITIALIZED_KEY "onnxtrain.initialized"

static ot_status_t *oom(void) { return ot_status_create(OT_ERR_NO_MEMORY, "training: out of memory"); }

static int find_state(const ot_training_session_t *ts, const char *name) {
    for (int i = 0; i < ts->n_state; i++)
        if (strcmp(ts->state_names[i], name) == 0) return i;
    return -1;
}

static Onnx__TensorProto *find_initializer(Onnx__GraphProto *g, const char *name, size_t *pos) {
    for (size_t i = 0; g && i < g->n_initializer; i++)
        if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0) {
            if (pos) *pos = i;
            return g->initializer[i];
        }
    return NULL;
}

/* ---- state --------------------------------------------------------------- */

/* Adds the mutable initializer `key` of training_info[ti] (in the inference
 * graph or that TrainingInfoProto's algorithm) to the state, once. */
static ot_status_t *add_state(ot_training_session_t *ts, Onnx__ModelProto *mp, int ti, const char *key,
                              const char *binding) {
    if (!key || !*key) return ot_status_create(OT_ERR_INVALID_MODEL, "training_info[%d].%s has an empty key", ti, binding);
    if (find_state(ts, key) >= 0) return NULL;
    Onnx__TensorProto *tp = find_initializer(mp->graph, key, NULL);
    if (!tp) tp = find_initializer(mp->training_info[ti]->algorithm, key, NULL);
    if (!tp)
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "training_info[%d].%s key '%s' names no initializer of the inference graph or of "
                                "training_info[%d].algorithm (only initializers can be bound)",
                                ti, binding, key, ti);
    ot_arena_t *scratch = ot_arena_create();
    if (!scratch) return oom();
    char what[512];
    ot_label(what, sizeof what, "initializer '%s'", key);
    ot_tensor_t t, *copy = NULL;
    ot_status_t *st = ot_tensor_from_proto(tp, what, ts->model->dir, ot_tensor_alloc_arena, scratch, &t);
    if (!st) st = ot_tensor_create(t.dtype, &t.shape, &copy);
    if (!st && ot_tensor_nbytes(&t)) memcpy(copy->data, t.data, ot_tensor_nbytes(&t));
    ot_arena_destroy(scratch);
    if (st) return st;
    char **names = realloc(ts->state_names, sizeof *names * (size_t)(ts->n_state + 1));
    if (names) ts->state_names = names;
    ot_tensor_t **vals = realloc(ts->state, sizeof *vals * (size_t)(ts->n_state + 1));
    if (vals) ts->state = vals;
    char *name = strdup(key);
    if (!names || !vals || !name) {
        free(name);
        ot_tensor_destroy(copy);
        return oom();
    }
    ts->state_names[ts->n_state] = name;
    ts->state[ts->n_state++] = copy;
    return NULL;
}

/* ---- stages -------------------------------------------------------------- */

/* A ValueInfoProto declaring `tp`'s type, allocated in `a`. */
static Onnx__ValueInfoProto *value_info_of(ot_arena_t *a, const Onnx__TensorProto *tp) {
    Onnx__ValueInfoProto *vi = ot_arena_alloc(a, sizeof *vi);
    Onnx__TypeProto *type = ot_arena_alloc(a, sizeof *type);
    Onnx__TypeProto__Tensor *tt = ot_arena_alloc(a, sizeof *tt);
    Onnx__TensorShapeProto *shape = ot_arena_alloc(a, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dims = ot_arena_alloc(a, sizeof *dims * (tp->n_dims + 1));
    if (!vi || !type || !tt || !shape || !dims) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (!(dims[d] = ot_arena_alloc(a, sizeof *dims[d]))) return NULL;
        onnx__tensor_shape_proto__dimension__init(dims[d]);
        dims[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[d]->dim_value = tp->dims[d];
    }
    shape->n_dim = tp->n_dims;
    shape->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = tp->data_type;
    tt->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    vi->name = tp->name;
    vi->type = type;
    return vi;
}

/* Concatenation of two pointer arrays, allocated in `a`. */
static void **concat(ot_arena_t *a, void **x, size_t nx, void **y, size_t ny, size_t extra) {
    void **out = ot_arena_alloc(a, sizeof *out * (nx + ny + extra + 1));
    if (!out) return NULL;
    if (nx) memcpy(out, x, sizeof *out * nx);
    if (ny) memcpy(out + nx, y, sizeof *out * ny);
    return out;
}

static bool listed_as_input(Onnx__ValueInfoProto **in, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (in[i]->name && strcmp(in[i]->name, name) == 0) return true;
    return false;
}

static bool is_needed(const ot_name_map_t *needed, const char *name) {
    return name && *name && ot_name_map_get(needed, name) >= 0;
}

/* Keeps only what the algorithm's outputs and update_binding values depend
 * on, and makes those the graph's outputs: an optimizer stage must not run
 * (or be fed) the forward pass just because the spec joins it in. */
static bool is_bound_value(const Onnx__TrainingInfoProto *info, const char *name) {
    for (size_t i = 0; name && i < info->n_update_binding; i++)
        if (info->update_binding[i]->value && !strcmp(info->update_binding[i]->value, name)) return true;
    return false;
}

static ot_status_t *prune(ot_arena_t *a, Onnx__GraphProto *j, const Onnx__GraphProto *alg,
                          const Onnx__TrainingInfoProto *info, int ti, bool eval, size_t n_main_outputs) {
    ot_name_map_t *needed = ot_name_map_create();
    Onnx__ValueInfoProto **outs =
        ot_arena_alloc(a, sizeof *outs * (alg->n_output + info->n_update_binding + n_main_outputs + 1));
    ot_status_t *st = NULL;
    if (!needed || !outs) {
        st = oom();
        goto done;
    }
    size_t n_out = 0;
    /* eval: the model's outputs and the algorithm's unbound ones (the loss) */
    for (size_t i = 0; eval && i < n_main_outputs && !st; i++) {
        outs[n_out++] = j->output[i];
        if (!ot_name_map_put(needed, j->output[i]->name ? j->output[i]->name : "", 1)) st = oom();
    }
    for (size_t i = 0; i < alg->n_output; i++) {
        if (eval && is_bound_value(info, alg->output[i]->name)) continue;
        if (!is_needed(needed, alg->output[i]->name)) outs[n_out++] = alg->output[i];
        if (!ot_name_map_put(needed, alg->output[i]->name ? alg->output[i]->name : "", 1)) st = oom();
    }
    for (size_t i = 0; i < info->n_update_binding && !st && !eval; i++) {
        const char *v = info->update_binding[i]->value;
        if (!v || is_needed(needed, v)) continue;
        Onnx__ValueInfoProto *vi = NULL; /* an output of the inference graph (the spec's rule) */
        for (size_t k = 0; k < j->n_output && !vi; k++)
            if (j->output[k]->name && strcmp(j->output[k]->name, v) == 0) vi = j->output[k];
        if (!vi) {
            st = ot_status_create(OT_ERR_INVALID_MODEL,
                                  "training_info[%d].update_binding '%s' <- '%s': '%s' is not an output of the "
                                  "inference or algorithm graph",
                                  ti, info->update_binding[i]->key ? info->update_binding[i]->key : "", v, v);
            break;
        }
        outs[n_out++] = vi;
        if (!ot_name_map_put(needed, v, 1)) st = oom();
    }
    /* nodes producing needed values need their inputs: to a fixed point */
    bool *keep = ot_arena_alloc(a, j->n_node + 1);
    if (!st && !keep) st = oom();
    for (bool changed = true; changed && !st;) {
        changed = false;
        for (size_t n = j->n_node; n-- > 0 && !st;) {
            if (keep[n]) continue;
            const Onnx__NodeProto *node = j->node[n];
            for (size_t o = 0; o < node->n_output && !keep[n]; o++) keep[n] = is_needed(needed, node->output[o]);
            if (!keep[n]) continue;
            changed = true;
            for (size_t i = 0; i < node->n_input && !st; i++)
                if (node->input[i] && *node->input[i] && !ot_name_map_put(needed, node->input[i], 1)) st = oom();
            /* a Gradient node reads its xs and zs by attribute too */
            for (size_t t = 0; t < node->n_attribute && !st; t++)
                for (size_t k = 0; k < node->attribute[t]->n_strings && !st; k++) {
                    char name[512];
                    ProtobufCBinaryData b = node->attribute[t]->strings[k];
                    if (b.len >= sizeof name) continue;
                    memcpy(name, b.data, b.len);
                    name[b.len] = 0;
                    char *copy = ot_arena_strdup(a, name);
                    if (!copy || !ot_name_map_put(needed, copy, 1)) st = oom();
                }
        }
    }
    if (st) goto done;
    size_t k = 0;
    for (size_t n = 0; n < j->n_node; n++)
        if (keep[n]) j->node[k++] = j->node[n];
    j->n_node = k;
    k = 0;
    for (size_t i = 0; i < j->n_input; i++)
        if (is_needed(needed, j->input[i]->name)) j->input[k++] = j->input[i];
    j->n_input = k;
    k = 0;
    for (size_t i = 0; i < j->n_initializer; i++)
        if (is_needed(needed, j->initializer[i]->name)) j->initializer[k++] = j->initializer[i];
    j->n_initializer = k;
    j->output = outs;
    j->n_output = n_out;
done:
    ot_name_map_destroy(needed);
    return st;
}

/* Serializes the graph a stage runs: for the algorithm, the inference graph
 * joined with training_info[ti].algorithm, mutable initializers as inputs;
 * for initialization, that graph alone. mp is restored before returning. */
typedef enum stage_kind { STAGE_ALGORITHM, STAGE_INIT, STAGE_EVAL } stage_kind_t;

static ot_status_t *stage_bytes(ot_training_session_t *ts, Onnx__ModelProto *mp, int ti, stage_kind_t kind,
                                uint8_t **buf, size_t *len) {
    bool init = kind == STAGE_INIT;
    Onnx__GraphProto *g = mp->graph, *alg = mp->training_info[ti]->algorithm;
    Onnx__GraphProto joined = *g, empty;
    onnx__graph_proto__init(&empty);
    if (!alg) alg = &empty;
    ot_arena_t *a = ot_arena_create();
    if (!a) return oom();
    ot_status_t *st = NULL;
    if (init) {
        joined = *mp->training_info[ti]->initialization;
    } else {
        size_t n_init = g->n_initializer + alg->n_initializer;
        Onnx__TensorProto **inits = (Onnx__TensorProto **)concat(a, (void **)g->initializer, g->n_initializer,
                                                                 (void **)alg->initializer, alg->n_initializer, 0);
        Onnx__ValueInfoProto **inputs = (Onnx__ValueInfoProto **)concat(a, (void **)g->input, g->n_input,
                                                                        (void **)alg->input, alg->n_input, n_init);
        joined.output = (Onnx__ValueInfoProto **)concat(a, (void **)g->output, g->n_output, (void **)alg->output,
                                                        alg->n_output, 0);
        joined.node = (Onnx__NodeProto **)concat(a, (void **)g->node, g->n_node, (void **)alg->node, alg->n_node, 0);
        joined.value_info = (Onnx__ValueInfoProto **)concat(a, (void **)g->value_info, g->n_value_info,
                                                            (void **)alg->value_info, alg->n_value_info, 0);
        if (!inits || !inputs || !joined.output || !joined.node || !joined.value_info) {
            st = oom();
            goto done;
        }
        joined.n_output = g->n_output + alg->n_output;
        joined.n_node = g->n_node + alg->n_node;
        joined.n_value_info = g->n_value_info + alg->n_value_info;
        size_t n_in = g->n_input + alg->n_input, kept = 0;
        for (size_t i = 0; i < n_init; i++) {
            if (find_state(ts, inits[i]->name) < 0) {
                inits[kept++] = inits[i];
                continue;
            }
            if (listed_as_input(inputs, n_in, inits[i]->name)) continue;
            if (!(inputs[n_in++] = value_info_of(a, inits[i]))) {
                st = oom();
                goto done;
            }
        }
        joined.initializer = inits;
        joined.n_initializer = kept;
        joined.input = inputs;
        joined.n_input = n_in;
        if ((st = prune(a, &joined, alg, mp->training_info[ti], ti, kind == STAGE_EVAL, g->n_output))) goto done;
    }
    size_t n_ti = mp->n_training_info;
    mp->graph = &joined;
    mp->n_training_info = 0;
    *len = onnx__model_proto__get_packed_size(mp);
    *buf = malloc(*len ? *len : 1);
    if (*buf) onnx__model_proto__pack(mp, *buf);
    else st = oom();
    mp->graph = g;
    mp->n_training_info = n_ti;
done:
    ot_arena_destroy(a);
    return st;
}

static void stage_free(stage_t *s) {
    ot_session_destroy(s->session);
    ot_model_destroy(s->model);
    free(s->input_state);
    free(s->input_names);
    free(s->inputs);
    free(s->outputs);
    free(s->output_names);
    free(s->update_output);
    free(s->update_state);
    memset(s, 0, sizeof *s);
}

/* Loads a stage and resolves its inputs and bindings. */
static ot_status_t *stage_create(ot_training_session_t *ts, Onnx__ModelProto *mp, int ti, stage_kind_t kind,
                                 stage_t *s) {
    bool init = kind == STAGE_INIT;
    const char *label = init ? "initialization" : kind == STAGE_EVAL ? "evaluation" : "algorithm";
    Onnx__TrainingInfoProto *info = mp->training_info[ti];
    size_t n_bind = kind == STAGE_EVAL ? 0 : init ? info->n_initialization_binding : info->n_update_binding;
    Onnx__StringStringEntryProto **bind = init ? info->initialization_binding : info->update_binding;
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = stage_bytes(ts, mp, ti, kind, &buf, &len);
    if (!st) st = ot_model_load_bytes(buf, len, ts->model->dir, ts->model->registry, NULL, &s->model);
    free(buf);
    if (!st) st = ot_session_create(s->model, &s->session);
    if (st) return ot_status_wrap(st, "training_info[%d].%s", ti, label);
    const ot_graph_t *g = &s->model->graph;
    s->n_inputs = ot_model_num_inputs(s->model);
    s->n_outputs = g->n_outputs;
    s->input_state = calloc((size_t)s->n_inputs + 1, sizeof *s->input_state);
    s->input_names = calloc((size_t)s->n_inputs + 1, sizeof *s->input_names);
    s->inputs = calloc((size_t)s->n_inputs + 1, sizeof *s->inputs);
    s->outputs = calloc((size_t)s->n_outputs + 1, sizeof *s->outputs);
    s->output_names = calloc((size_t)s->n_outputs + 1, sizeof *s->output_names);
    s->update_output = calloc(n_bind + 1, sizeof *s->update_output);
    s->update_state = calloc(n_bind + 1, sizeof *s->update_state);
    if (!s->input_state || !s->input_names || !s->inputs || !s->outputs || !s->output_names || !s->update_output ||
        !s->update_state)
        return oom();
    for (int i = 0; i < s->n_inputs; i++) {
        ot_model_input_info(s->model, i, &s->input_names[i], NULL, NULL);
        s->input_state[i] = init ? -1 : find_state(ts, s->input_names[i]);
    }
    for (int k = 0; k < s->n_outputs; k++) s->output_names[k] = g->values[g->outputs[k]].name;
    for (size_t b = 0; b < n_bind; b++) {
        const char *key = bind[b]->key, *value = bind[b]->value ? bind[b]->value : "";
        int out = -1;
        for (int k = 0; k < s->n_outputs && out < 0; k++)
            if (strcmp(s->output_names[k], value) == 0) out = k;
        if (out < 0)
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "training_info[%d].%s_binding '%s' <- '%s': '%s' is not an output of the %s graph",
                                    ti, init ? "initialization" : "update", key, value, value,
                                    init ? "initialization" : "inference or algorithm");
        int k = find_state(ts, key);
        OT_ASSERT(k >= 0 && "every binding key was added to the state");
        const ot_tensor_t *have = ts->state[k];
        const ot_value_t *v = &g->values[g->outputs[out]];
        bool fits = v->type.dtype == have->dtype && (v->type.shape.rank < 0 || v->type.shape.rank == have->shape.rank);
        for (int d = 0; fits && v->type.shape.rank > 0 && d < v->type.shape.rank; d++)
            fits = v->type.shape.dims[d] < 0 || v->type.shape.dims[d] == have->shape.dims[d];
        if (!fits) {
            char x[128], y[128];
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "training_info[%d].%s_binding '%s' <- '%s': %s %s cannot be assigned to %s %s", ti,
                                    init ? "initialization" : "update", key, value, ot_dtype_name(v->type.dtype),
                                    ot_shape_str(&v->type.shape, x, sizeof x), ot_dtype_name(have->dtype),
                                    ot_shape_str(&have->shape, y, sizeof y));
        }
        for (int j = 0; j < s->n_updates; j++)
            if (s->update_state[j] == k)
                return ot_status_create(OT_ERR_INVALID_MODEL, "training_info[%d] binds '%s' twice", ti, key);
        s->update_output[s->n_updates] = out;
        s->update_state[s->n_updates++] = k;
    }
    return NULL;
}

/* The evaluation stage: the exported (inference-mode) graph joined with
 * training_info[0]'s unbound outputs (the loss), the state fed as for
 * training. Models whose inference form does not export get none. */
static ot_status_t *eval_create(ot_training_session_t *ts, Onnx__ModelProto *mp) {
    ot_model_t *exported = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    ot_status_t *st = ot_model_export(ts->model, &exported);
    if (st) { /* no eval stage; eval_step says so */
        ot_status_free(st);
        return NULL;
    }
    st = ot_model_to_bytes(exported, &bytes, &len);
    ot_model_destroy(exported);
    Onnx__ModelProto *ep = st ? NULL : onnx__model_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (st) return st;
    if (!ep) return ot_status_create(OT_ERR_RUNTIME, "training: cannot re-read the exported model");
    size_t n_ti = ep->n_training_info;
    Onnx__TrainingInfoProto **tis = ep->training_info;
    ep->training_info = mp->training_info; /* borrowed for the join */
    ep->n_training_info = mp->n_training_info;
    ts->eval = calloc(1, sizeof *ts->eval);
    st = ts->eval ? stage_create(ts, ep, 0, STAGE_EVAL, ts->eval) : oom();
    ep->training_info = tis;
    ep->n_training_info = n_ti;
    onnx__model_proto__free_unpacked(ep, NULL);
    return st;
}

/* ---- public -------------------------------------------------------------- */

ot_status_t *ot_training_session_create(const ot_model_t *model, ot_training_session_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_create: out is NULL");
    *out = NULL;
    if (!model) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_create: model is NULL");
    if (model->n_training_info == 0)
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "model has no training_info (prepare it with 'onnxtrain prepare' first)");
    ot_training_session_t *ts = calloc(1, sizeof *ts);
    if (!ts) return oom();
    ts->model = model;
    for (int i = 0; i < model->n_metadata; i++)
        if (!strcmp(model->metadata[i].key, INITIALIZED_KEY)) ts->initialized = true;
    Onnx__ModelProto *mp = NULL;
    ot_status_t *st = ot_model_to_bytes(model, &ts->source, &ts->source_len);
    if (!st && !(mp = onnx__model_proto__unpack(NULL, ts->source_len, ts->source)))
        st = ot_status_create(OT_ERR_RUNTIME, "training: cannot re-read the serialized model");
    if (st) goto fail;
    ts->n_stages = (int)mp->n_training_info;
    ts->algorithm = calloc((size_t)ts->n_stages, sizeof *ts->algorithm);
    ts->init = calloc((size_t)ts->n_stages, sizeof *ts->init);
    if (!ts->algorithm || !ts->init) {
        st = oom();
        goto fail;
    }
    /* the state: every binding key, unique across all update_bindings */
    for (int ti = 0; ti < ts->n_stages && !st; ti++) {
        Onnx__TrainingInfoProto *info = mp->training_info[ti];
        for (size_t b = 0; b < info->n_update_binding && !st; b++) {
            const char *key = info->update_binding[b]->key;
            for (int tj = 0; tj <= ti && !st && key; tj++) /* an earlier binding of the same key? */
                for (size_t c = 0; c < (tj < ti ? mp->training_info[tj]->n_update_binding : b) && !st; c++) {
                    const char *other = mp->training_info[tj]->update_binding[c]->key;
                    if (other && strcmp(other, key) == 0)
                        st = ot_status_create(OT_ERR_INVALID_MODEL,
                                              "training_info[%d].update_binding binds '%s' again (already bound in "
                                              "training_info[%d]); a variable may be assigned only once",
                                              ti, key, tj);
                }
            if (!st) st = add_state(ts, mp, ti, key, "update_binding");
        }
        for (size_t b = 0; b < info->n_initialization_binding && !st; b++)
            st = add_state(ts, mp, ti, info->initialization_binding[b]->key, "initialization_binding");
    }
    for (int ti = 0; ti < ts->n_stages && !st; ti++) {
        st = stage_create(ts, mp, ti, STAGE_ALGORITHM, &ts->algorithm[ti]);
        if (!st && mp->training_info[ti]->initialization && mp->training_info[ti]->initialization->n_node)
            st = stage_create(ts, mp, ti, STAGE_INIT, &ts->init[ti]);
    }
    if (st) goto fail;
    if ((st = eval_create(ts, mp))) goto fail;
    /* what callers feed */
    int most = 0;
    for (int ti = 0; ti < ts->n_stages; ti++) most += ts->algorithm[ti].n_inputs;
    ts->feed_names = calloc((size_t)most + 1, sizeof *ts->feed_names);
    ts->feed_types = calloc((size_t)most + 1, sizeof *ts->feed_types);
    if (!ts->feed_names || !ts->feed_types) {
        st = oom();
        goto fail;
    }
    for (int ti = 0; ti < ts->n_stages; ti++) {
        const stage_t *s = &ts->algorithm[ti];
        for (int i = 0; i < s->n_inputs; i++) {
            if (s->input_state[i] >= 0) continue;
            bool seen = false;
            for (int f = 0; f < ts->n_feeds && !seen; f++) seen = !strcmp(ts->feed_names[f], s->input_names[i]);
            if (seen) continue;
            const ot_graph_t *g = &s->model->graph;
            ts->feed_names[ts->n_feeds] = s->input_names[i];
            ts->feed_types[ts->n_feeds++] = &g->values[ot_graph_find(g, s->input_names[i])].type;
        }
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    *out = ts;
    return NULL;
fail:
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    ot_training_session_destroy(ts);
    return st;
}

void ot_training_session_destroy(ot_training_session_t *ts) {
    if (!ts) return;
    for (int i = 0; ts->algorithm && i < ts->n_stages; i++) stage_free(&ts->algorithm[i]);
    for (int i = 0; ts->init && i < ts->n_stages; i++) stage_free(&ts->init[i]);
    free(ts->algorithm);
    free(ts->init);
    if (ts->eval) stage_free(ts->eval);
    free(ts->eval);
    free(ts->feed_names);
    free(ts->feed_types);
    for (int i = 0; i < ts->n_state; i++) {
        free(ts->state_names[i]);
        ot_tensor_destroy(ts->state[i]);
    }
    free(ts->state_names);
    free(ts->state);
    free(ts->source);
    free(ts);
}

/* Runs one stage with the named feeds, then applies its bindings. */
static ot_status_t *run_stage(ot_training_session_t *ts, stage_t *s, const char *label, int n_feeds,
                              const char *const *names, const ot_tensor_t *const *values) {
    const ot_tensor_t **in = s->inputs;
    ot_status_t *st = NULL;
    for (int i = 0; i < s->n_inputs && !st; i++) {
        in[i] = NULL;
        if (s->input_state[i] >= 0) {
            in[i] = ts->state[s->input_state[i]];
            continue;
        }
        for (int f = 0; f < n_feeds && !in[i]; f++)
            if (names[f] && strcmp(names[f], s->input_names[i]) == 0) in[i] = values[f];
        if (!in[i]) st = ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: input '%s' is not fed", label, s->input_names[i]);
    }
    if (!st) st = ot_session_run_borrowed(s->session, in, s->outputs);
    if (st) return ot_status_wrap(st, "%s", label);
    ts->last = s;
    s->ran = true;
    /* check every binding before changing any state */
    for (int b = 0; b < s->n_updates; b++) {
        const ot_tensor_t *v = s->outputs[s->update_output[b]], *have = ts->state[s->update_state[b]];
        bool same = v->dtype == have->dtype && v->shape.rank == have->shape.rank;
        for (int d = 0; same && d < v->shape.rank; d++) same = v->shape.dims[d] == have->shape.dims[d];
        if (!same) {
            char x[128], y[128];
            return ot_status_create(OT_ERR_RUNTIME, "%s: '%s' is %s %s, cannot be assigned to '%s' (%s %s)", label,
                                    s->output_names[s->update_output[b]], ot_dtype_name(v->dtype),
                                    ot_shape_str(&v->shape, x, sizeof x), ts->state_names[s->update_state[b]],
                                    ot_dtype_name(have->dtype), ot_shape_str(&have->shape, y, sizeof y));
        }
    }
    for (int b = 0; b < s->n_updates; b++) {
        const ot_tensor_t *v = s->outputs[s->update_output[b]];
        ot_tensor_t *dst = ts->state[s->update_state[b]];
        if (ot_tensor_nbytes(v) && dst->data != v->data) memmove(dst->data, v->data, ot_tensor_nbytes(v));
    }
    return NULL;
}

ot_status_t *ot_training_session_initialize(ot_training_session_t *ts) {
    if (!ts) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_initialize: session is NULL");
    for (int i = 0; i < ts->n_stages; i++) {
        if (!ts->init[i].model) continue;
        char label[64];
        snprintf(label, sizeof label, "training_info[%d].initialization", i);
        ot_status_t *st = run_stage(ts, &ts->init[i], label, 0, NULL, NULL);
        if (st) return st;
    }
    ts->initialized = true;
    return NULL;
}

bool ot_training_session_needs_initialization(const ot_training_session_t *ts) {
    if (!ts || ts->initialized) return false;
    for (int i = 0; i < ts->n_stages; i++)
        if (ts->init[i].model) return true;
    return false;
}

int ot_training_session_num_stages(const ot_training_session_t *ts) { return ts ? ts->n_stages : 0; }

void ot_training_session_feeds(const ot_training_session_t *ts, int *n, const char *const **names,
                               const ot_tensor_t *const **types) {
    *n = ts ? ts->n_feeds : 0;
    *names = ts ? ts->feed_names : NULL;
    *types = ts ? ts->feed_types : NULL;
}

ot_status_t *ot_training_session_step(ot_training_session_t *ts, int stage, int n_feeds, const char *const *names,
                                      const ot_tensor_t *const *values) {
    if (!ts || (n_feeds > 0 && (!names || !values)) || n_feeds < 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_step: NULL argument");
    if (stage < -1 || stage >= ts->n_stages)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_step: stage %d out of range (%d stages)",
                                stage, ts->n_stages);
    for (int i = stage < 0 ? 0 : stage; i < (stage < 0 ? ts->n_stages : stage + 1); i++) {
        char label[64];
        snprintf(label, sizeof label, "training_info[%d].algorithm", i);
        ot_status_t *st = run_stage(ts, &ts->algorithm[i], label, n_feeds, names, values);
        if (st) return st;
    }
    if (stage < 0 || stage == ts->n_stages - 1) ts->steps++;
    return NULL;
}

ot_status_t *ot_training_session_output(const ot_training_session_t *ts, const char *name, const ot_tensor_t **out) {
    if (!ts || !name || !out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_output: NULL argument");
    *out = NULL;
    if (!ts->last) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "no stage has run yet");
    /* the stage that ran last first, then the others' latest outputs */
    for (int pass = 0; pass < 2; pass++)
        for (int i = ts->n_stages; i >= 0; i--) {
            const stage_t *s = i == ts->n_stages ? ts->eval : &ts->algorithm[i];
            if (!s) continue;
            if ((pass == 0) != (s == ts->last) || !s->ran) continue;
            for (int k = 0; k < s->n_outputs; k++)
                if (strcmp(s->output_names[k], name) == 0) {
                    *out = s->outputs[k];
                    return NULL;
                }
        }
    return ot_status_create(OT_ERR_INVALID_ARGUMENT, "'%s' is not an output of a stage that has run", name);
}

int ot_training_session_num_state(const ot_training_session_t *ts) { return ts ? ts->n_state : 0; }

ot_status_t *ot_training_session_state_at(const ot_training_session_t *ts, int i, const char **name,
                                          const ot_tensor_t **value) {
    if (!ts || i < 0 || i >= ts->n_state)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_state_at: index %d out of range", i);
    if (name) *name = ts->state_names[i];
    if (value) *value = ts->state[i];
    return NULL;
}

ot_status_t *ot_training_session_get_state(const ot_training_session_t *ts, const char *name, const ot_tensor_t **out) {
    if (!ts || !name || !out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_get_state: NULL argument");
    int k = find_state(ts, name);
    *out = k >= 0 ? ts->state[k] : NULL;
    return k >= 0 ? NULL : ot_status_create(OT_ERR_INVALID_ARGUMENT, "'%s' is not a mutable initializer", name);
}

ot_status_t *ot_training_session_set_state(ot_training_session_t *ts, const char *name, const ot_tensor_t *value) {
    if (!ts || !name || !value) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_set_state: NULL argument");
    int k = find_state(ts, name);
    if (k < 0) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "'%s' is not a mutable initializer", name);
    ot_tensor_t *dst = ts->state[k];
    bool same = value->dtype == dst->dtype && value->shape.rank == dst->shape.rank;
    for (int d = 0; same && d < dst->shape.rank; d++) same = value->shape.dims[d] == dst->shape.dims[d];
    if (!same) {
        char x[128], y[128];
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "'%s' is %s %s; got %s %s", name, ot_dtype_name(dst->dtype),
                                ot_shape_str(&dst->shape, x, sizeof x), ot_dtype_name(value->dtype),
                                ot_shape_str(&value->shape, y, sizeof y));
    }
    if (ot_tensor_nbytes(dst)) memmove(dst->data, value->data, ot_tensor_nbytes(dst));
    return NULL;
}

int64_t ot_training_session_steps(const ot_training_session_t *ts) { return ts ? ts->steps : 0; }

ot_status_t *ot_training_session_save(const ot_training_session_t *ts, const char *path) {
    if (!ts || !path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_save: NULL argument");
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, ts->source_len, ts->source);
    if (!mp) return ot_status_create(OT_ERR_RUNTIME, "training: cannot re-read the serialized model");
    /* point each mutable initializer at the state (restored before freeing) */
    Onnx__TensorProto **slot = calloc((size_t)ts->n_state + 1, sizeof *slot);
    Onnx__TensorProto ***where = calloc((size_t)ts->n_state + 1, sizeof *where);
    Onnx__TensorProto *fresh = calloc((size_t)ts->n_state + 1, sizeof *fresh);
    int64_t (*dims)[OT_MAX_RANK] = calloc((size_t)ts->n_state + 1, sizeof *dims);
    ot_status_t *st = NULL;
    if (!slot || !where || !fresh || !dims) st = oom();
    for (int k = 0; !st && k < ts->n_state; k++) {
        size_t pos;
        Onnx__GraphProto *owner = mp->graph;
        if (!find_initializer(owner, ts->state_names[k], &pos)) {
            owner = NULL;
            for (size_t ti = 0; ti < mp->n_training_info && !owner; ti++)
                if (find_initializer(mp->training_info[ti]->algorithm, ts->state_names[k], &pos))
                    owner = mp->training_info[ti]->algorithm;
        }
        OT_ASSERT(owner && "state names come from the model's initializers");
        where[k] = &owner->initializer[pos];
        slot[k] = *where[k];
        onnx__tensor_proto__init(&fresh[k]);
        ot_tensor_to_proto(ts->state[k], slot[k]->name, slot[k]->doc_string, dims[k], &fresh[k]);
        *where[k] = &fresh[k];
    }
    /* mark a checkpoint of initialized state, so it is not initialized again */
    Onnx__StringStringEntryProto mark, **props = NULL, **saved_props = mp->metadata_props;
    size_t saved_n = mp->n_metadata_props;
    bool marked = false;
    for (size_t i = 0; i < mp->n_metadata_props; i++)
        marked |= mp->metadata_props[i]->key && !strcmp(mp->metadata_props[i]->key, INITIALIZED_KEY);
    if (!st && ts->initialized && !marked) {
        onnx__string_string_entry_proto__init(&mark);
        mark.key = INITIALIZED_KEY;
        mark.value = "true";
        if (!(props = calloc(saved_n + 1, sizeof *props))) st = oom();
        else {
            if (saved_n) memcpy(props, saved_props, saved_n * sizeof *props);
            props[saved_n] = &mark;
            mp->metadata_props = props;
            mp->n_metadata_props = saved_n + 1;
        }
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!st) {
        len = onnx__model_proto__get_packed_size(mp);
        if ((buf = malloc(len ? len : 1))) onnx__model_proto__pack(mp, buf);
        else st = oom();
    }
    for (int k = 0; where && k < ts->n_state; k++)
        if (where[k]) *where[k] = slot[k];
    mp->metadata_props = saved_props;
    mp->n_metadata_props = saved_n;
    free(props);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (!st) st = ot_file_write_atomic(path, buf, len);
    free(buf);
    free(slot);
    free(where);
    free(fresh);
    free(dims);
    return st ? ot_status_wrap(st, "saving checkpoint '%s'", path) : NULL;
}

/* ---- ONNX Runtime's training loop over prepare's two stages --------------- */

ot_status_t *ot_training_session_train_step(ot_training_session_t *ts, int n_feeds, const char *const *names,
                                            const ot_tensor_t *const *values, float *loss) {
    ot_status_t *st = ot_training_session_step(ts, 0, n_feeds, names, values);
    const ot_tensor_t *l = NULL;
    if (!st && loss && !(st = ot_training_session_output(ts, "loss", &l))) {
        if (ot_shape_numel(&l->shape) != 1 || (l->dtype != OT_DTYPE_FLOAT && l->dtype != OT_DTYPE_DOUBLE))
            return ot_status_create(OT_ERR_INVALID_MODEL, "output 'loss' is not a float scalar");
        *loss = l->dtype == OT_DTYPE_FLOAT ? *(const float *)l->data : (float)*(const double *)l->data;
    }
    return st;
}

ot_status_t *ot_training_session_optimizer_step(ot_training_session_t *ts) {
    if (!ts) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_optimizer_step: NULL session");
    for (int i = 1; i < ts->n_stages; i++) {
        ot_status_t *st = ot_training_session_step(ts, i, 0, NULL, NULL);
        if (st) return st;
    }
    return NULL;
}

ot_status_t *ot_training_session_reset_grad(ot_training_session_t *ts) {
    int k = ts ? find_state(ts, "onnxtrain.grad_step") : -1;
    if (k < 0)
        return ot_status_create(OT_ERR_UNSUPPORTED, "reset_grad needs a model written by prepare (state 'onnxtrain.grad_step')");
    *(int64_t *)ts->state[k]->data = -1; /* != step: the next train_step overwrites the accumulators */
    return NULL;
}

ot_status_t *ot_training_session_get_lr(const ot_training_session_t *ts, float *lr) {
    int k = ts && lr ? find_state(ts, "lr") : -1;
    if (k < 0 || ts->state[k]->dtype != OT_DTYPE_FLOAT || ot_shape_numel(&ts->state[k]->shape) != 1)
        return ot_status_create(OT_ERR_UNSUPPORTED, "the model has no float scalar state 'lr'");
    *lr = *(const float *)ts->state[k]->data;
    return NULL;
}

/* ---- learning-rate schedules (prepare --lr-schedule, runtime/prepare_schedule.c) ---- */

/* The LRSchedule node that reads state 'lr.base', in some algorithm stage. */
static const ot_node_t *lr_schedule_node(const ot_training_session_t *ts) {
    for (int s = 0; s < ts->n_stages; s++) {
        const ot_graph_t *g = &ts->algorithm[s].model->graph;
        for (int i = 0; i < g->n_nodes; i++) {
            const ot_node_t *n = &g->nodes[i];
            if (!strcmp(n->info.op_type, "LRSchedule") && !strcmp(n->info.domain, OT_DOMAIN) && n->n_inputs == 2 &&
                n->inputs[0] >= 0 && !strcmp(g->values[n->inputs[0]].name, "lr.base"))
                return n;
        }
    }
    return NULL;
}

/* 'lr.base' = base and 'lr' (index k) = the schedule's rate at the current step. */
static ot_status_t *set_scheduled_lr(ot_training_session_t *ts, int k, int k_base, float base) {
    int k_step = find_state(ts, "step");
    const ot_node_t *n = lr_schedule_node(ts);
    if (!n || k_step < 0 || ts->state[k_step]->dtype != OT_DTYPE_INT64 || ts->state[k_base]->dtype != OT_DTYPE_FLOAT ||
        ot_shape_numel(&ts->state[k_base]->shape) != 1)
        return ot_status_create(OT_ERR_UNSUPPORTED, "state 'lr.base' is not a learning-rate schedule's base rate "
                                                    "(prepare's LRSchedule(lr.base, step) node and int64 'step')");
    double lr;
    ot_status_t *st = ot_lr_schedule_eval(&n->info, base, *(const int64_t *)ts->state[k_step]->data, &lr);
    if (st) return st;
    *(float *)ts->state[k_base]->data = base;
    *(float *)ts->state[k]->data = (float)lr;
    return NULL;
}

ot_status_t *ot_training_session_set_lr(ot_training_session_t *ts, float lr) {
    int k = ts ? find_state(ts, "lr") : -1;
    if (k < 0 || ts->state[k]->dtype != OT_DTYPE_FLOAT || ot_shape_numel(&ts->state[k]->shape) != 1)
        return ot_status_create(OT_ERR_UNSUPPORTED, "the model has no float scalar state 'lr'");
    int k_base = find_state(ts, "lr.base"); /* a schedule: lr is the base rate */
    if (k_base >= 0) return set_scheduled_lr(ts, k, k_base, lr);
    *(float *)ts->state[k]->data = lr;
    return NULL;
}

ot_status_t *ot_training_session_eval_step(ot_training_session_t *ts, int n_feeds, const char *const *names,
                                           const ot_tensor_t *const *values, float *loss) {
    if (!ts) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_training_session_eval_step: NULL session");
    if (!ts->eval) return ot_status_create(OT_ERR_UNSUPPORTED, "this training model has no inference form to evaluate");
    ot_status_t *st = run_stage(ts, ts->eval, "evaluation", n_feeds, names, values);
    const ot_tensor_t *l = NULL;
    if (!st && loss && !(st = ot_training_session_output(ts, "loss", &l))) {
        if (ot_shape_numel(&l->shape) != 1 || (l->dtype != OT_DTYPE_FLOAT && l->dtype != OT_DTYPE_DOUBLE))
            return ot_status_create(OT_ERR_INVALID_MODEL, "output 'loss' is not a float scalar");
        *loss = l->dtype == OT_DTYPE_FLOAT ? *(const float *)l->data : (float)*(const double *)l->data;
    }
    return st;
}
