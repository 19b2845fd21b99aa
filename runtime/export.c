/* runtime/export.c: a training model (or checkpoint) -> the plain inference
 * model with its current weights, for ONNX Runtime and other inference
 * engines (see ot_model_export in onnxtrain.h).
 *
 * Undoes what prepare did to the inference graph: training_info dropped,
 * BatchNormalization back to training_mode = 0 with one output (and our
 * unbiased_running_var attribute removed: inference engines refuse
 * attributes they do not know), Dropout's training_mode input removed,
 * initializers and opset imports nothing uses any more removed. The
 * weights are the inference graph's initializers, which a checkpoint
 * already holds at their trained values. */
#include "runtime/pb_build.h"
#include "runtime/ir.h"
#include "ops/op_util.h"

#include <stdlib.h>
#include <string.h>

static bool is_std(const Onnx__NodeProto *n) { return !n->domain || !*n->domain || !strcmp(n->domain, "ai.onnx"); }

static void drop_attr(Onnx__NodeProto *n, const char *name) {
    size_t k = 0;
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!n->attribute[i]->name || strcmp(n->attribute[i]->name, name)) n->attribute[k++] = n->attribute[i];
    n->n_attribute = k;
}

static bool read_by_nodes(const Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (g->node[i]->input[k] && !strcmp(g->node[i]->input[k], name)) return true;
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && !strcmp(g->output[i]->name, name)) return true;
    return false;
}

ot_status_t *ot_model_export(const ot_model_t *m, ot_model_t **out) {
    if (!m || !out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_export: NULL argument");
    *out = NULL;
    ot_arena_t *arena = ot_arena_create();
    if (!arena) return ot_status_create(OT_ERR_NO_MEMORY, "export: out of memory");
    uint8_t *bytes = NULL;
    size_t len = 0;
    ot_status_t *st = ot_model_to_bytes(m, &bytes, &len);
    Onnx__ModelProto *mp = NULL;
    pb_t b = {arena, false};
    if (!st && !(mp = pb_unpack_model(&b, bytes, len)))
        st = ot_status_create(OT_ERR_RUNTIME, "export: cannot re-read the serialized model");
    free(bytes);
    bytes = NULL;
    if (st) goto done;
    Onnx__GraphProto *g = mp->graph;
    mp->n_training_info = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (!is_std(n)) continue;
        if (!strcmp(n->op_type, "BatchNormalization")) {
            drop_attr(n, "training_mode"); /* default 0 */
            drop_attr(n, "unbiased_running_var");
            if (n->n_output > 1) n->n_output = 1;
        } else if (!strcmp(n->op_type, "Dropout") && n->n_input > 2) {
            n->n_input = 2; /* training_mode absent = false */
        }
    }
    /* initializers nothing reads any more */
    size_t k = 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (read_by_nodes(g, g->initializer[i]->name)) g->initializer[k++] = g->initializer[i];
    g->n_initializer = k;
    /* opset imports of domains no node uses */
    k = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
        bool used = !*d || !strcmp(d, "ai.onnx");
        for (size_t j = 0; !used && j < g->n_node; j++) used = g->node[j]->domain && !strcmp(g->node[j]->domain, d);
        if (used) mp->opset_import[k++] = mp->opset_import[i];
    }
    mp->n_opset_import = k;
    len = onnx__model_proto__get_packed_size(mp);
    if (!(bytes = malloc(len ? len : 1))) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "export: out of memory");
        goto done;
    }
    onnx__model_proto__pack(mp, bytes);
    st = ot_model_load_bytes(bytes, len, m->dir, m->registry, NULL, out);
    if (st) st = ot_status_wrap(st, "export: the inference model does not validate");
done:
    free(bytes);
    ot_arena_destroy(arena);
    return st;
}
