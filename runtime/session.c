/* runtime/session.c: inference sessions. A session owns the oneDNN engine
 * and stream and a small cache of plans keyed by input shapes, so a new
 * batch size plans once and later runs reuse it. */
#include "runtime/ir.h"
#include "runtime/plan.h"

#include <dnnl.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_CACHE 8

struct ot_session {
    const ot_model_t *model;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    ot_plan_t *plans[PLAN_CACHE]; /* most recently used first */
    int n_plans;
};

ot_status_t *ot_session_create(const ot_model_t *model, ot_session_t **out) {
    *out = NULL;
    if (!model) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_session_create: model is NULL");
    for (int i = 0; i < model->graph.n_nodes; i++) {
        const ot_node_t *n = &model->graph.nodes[i];
        if (!n->op)
            return ot_status_create(OT_ERR_UNSUPPORTED, "node '%s' (%s): no registered op; cannot run this model",
                                    n->info.name, n->info.op_type);
    }
    ot_session_t *s = calloc(1, sizeof *s);
    if (!s) return ot_status_create(OT_ERR_NO_MEMORY, "ot_session_create: out of memory");
    s->model = model;
    if (dnnl_engine_create(&s->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&s->stream, s->engine, dnnl_stream_default_flags) != dnnl_success) {
        ot_session_destroy(s);
        return ot_status_create(OT_ERR_RUNTIME, "oneDNN: cannot create a CPU engine and stream");
    }
    *out = s;
    return NULL;
}

void ot_session_destroy(ot_session_t *s) {
    if (!s) return;
    for (int i = 0; i < s->n_plans; i++) ot_plan_destroy(s->plans[i]);
    if (s->stream) dnnl_stream_destroy(s->stream);
    if (s->engine) dnnl_engine_destroy(s->engine);
    free(s);
}

/* The cached plan for these input shapes, created if new. */
static ot_status_t *get_plan(ot_session_t *s, const ot_tensor_t *const *inputs, ot_plan_t **out) {
    for (int i = 0; i < s->n_plans; i++) {
        if (!ot_plan_matches(s->plans[i], inputs)) continue;
        ot_plan_t *p = s->plans[i];
        memmove(&s->plans[1], &s->plans[0], (size_t)i * sizeof *s->plans);
        s->plans[0] = p;
        *out = p;
        return NULL;
    }
    ot_plan_t *p;
    ot_status_t *st = ot_plan_create(s->model, inputs, s->engine, s->stream, &p);
    if (st) return st;
    if (s->n_plans == PLAN_CACHE) ot_plan_destroy(s->plans[--s->n_plans]);
    memmove(&s->plans[1], &s->plans[0], (size_t)s->n_plans * sizeof *s->plans);
    s->plans[0] = p;
    s->n_plans++;
    *out = p;
    return NULL;
}

ot_status_t *ot_session_run_borrowed(ot_session_t *s, const ot_tensor_t *const *inputs, const ot_tensor_t **outputs) {
    if (!s || (!inputs && ot_model_num_inputs(s->model) > 0) || !outputs)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_session_run_borrowed: NULL argument");
    const ot_graph_t *g = &s->model->graph;
    ot_plan_t *p;
    ot_status_t *st = get_plan(s, inputs, &p);
    if (!st) st = ot_plan_run(p, inputs);
    for (int k = 0; k < g->n_outputs; k++) outputs[k] = st ? NULL : ot_plan_value(p, g->outputs[k]);
    return st;
}

ot_status_t *ot_session_run(ot_session_t *s, const ot_tensor_t *const *inputs, ot_tensor_t **outputs) {
    if (!s || (!inputs && ot_model_num_inputs(s->model) > 0) || !outputs)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_session_run: NULL argument");
    const ot_graph_t *g = &s->model->graph;
    for (int k = 0; k < g->n_outputs; k++) outputs[k] = NULL;
    ot_plan_t *p;
    ot_status_t *st = get_plan(s, inputs, &p);
    if (!st) st = ot_plan_run(p, inputs);
    for (int k = 0; !st && k < g->n_outputs; k++) {
        const ot_tensor_t *v = ot_plan_value(p, g->outputs[k]);
        st = ot_tensor_create(v->dtype, &v->shape, &outputs[k]);
        if (!st && ot_tensor_nbytes(v)) memcpy(outputs[k]->data, v->data, ot_tensor_nbytes(v));
    }
    if (st) {
        for (int k = 0; k < g->n_outputs; k++) {
            ot_tensor_destroy(outputs[k]);
            outputs[k] = NULL;
        }
    }
    return st;
}
