/* runtime/onnx_load.c: ONNX ModelProto bytes -> IR (ir.h), then validation.
 *
 * Checks what the file itself must get right (IR version, opset imports,
 * names, types, tensor sizes, external data paths) and reports it naming
 * the model and the part at fault. Graph semantics (op schemas, cycles,
 * dangling inputs, shape inference) belong to validate.c.
 *
 * Everything read is copied into the model's arena, so the protobuf-c
 * structs are freed before returning. Parts the runtime does not interpret
 * (GRAPH/SPARSE/TYPE_PROTO attributes, training_info, functions,
 * quantization annotations) are kept as serialized bytes for onnx_save.c.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx_io.h"

#define IR_VERSION_MIN 3
#define IR_VERSION_MAX 10 /* IR 10 adds nothing this loader reads */

typedef struct load_ctx {
    ot_model_t *m;
    ot_arena_t *arena;
    const char *dir; /* external data root, or NULL */
} load_ctx_t;

static ot_status_t *oom(void) { return ot_status_create(OT_ERR_NO_MEMORY, "out of memory while loading"); }

/* Arena copy of an optional string (NULL stays NULL). */
#define DUP_OPT(c, dst, src)                                                                                           \
    do {                                                                                                               \
        if ((src) && !((dst) = ot_arena_strdup((c)->arena, (src)))) return oom();                                      \
    } while (0)

static bool is_empty(const char *s) { return !s || !*s; }

static const char *norm_domain(const char *d) { return !d || strcmp(d, "ai.onnx") == 0 ? "" : d; }

/* Serializes any message into an arena blob. */
static ot_status_t *to_blob(load_ctx_t *c, const ProtobufCMessage *msg, ot_blob_t *out) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = ot_arena_alloc(c->arena, n);
    if (!p) return oom();
    protobuf_c_message_pack(msg, p);
    out->data = p;
    out->len = n;
    return NULL;
}

/* ---- types ------------------------------------------------------------- */

static const char *type_case_name(Onnx__TypeProto__ValueCase vc) {
    switch (vc) {
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence type";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map type";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional type";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "a sparse tensor type";
    default: return "an unknown (or opaque) type";
    }
}

/* ValueInfoProto.type -> tmp (type, dim_params, has_type). */
static ot_status_t *convert_type(load_ctx_t *c, const Onnx__TypeProto *tp, const char *what, ot_value_t *tmp) {
    tmp->type.dtype = OT_DTYPE_UNDEFINED;
    tmp->type.shape.rank = -1;
    tmp->has_type = false;
    if (!tp) return NULL;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s has %s; only tensor types are supported", what,
                                type_case_name(tp->value_case));
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    ot_status_t *st;
    if (tt->has_elem_type && tt->elem_type != OT_DTYPE_UNDEFINED &&
        (st = ot_dtype_from_onnx(tt->elem_type, what, &tmp->type.dtype)))
        return st;
    tmp->has_type = true;
    if (!tt->shape) return NULL;
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (sp->n_dim > OT_MAX_RANK)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s: rank %zu exceeds the maximum rank %d", what, sp->n_dim,
                                OT_MAX_RANK);
    tmp->type.shape.rank = (int)sp->n_dim;
    for (size_t i = 0; i < sp->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
        tmp->type.shape.dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return ot_status_create(OT_ERR_INVALID_MODEL, "%s: dim %zu has negative dim_value %lld", what, i,
                                        (long long)d->dim_value);
            tmp->type.shape.dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
            DUP_OPT(c, tmp->dim_params[i], d->dim_param);
        }
    }
    return NULL;
}

static void apply_type(ot_value_t *v, const ot_value_t *tmp) {
    v->type.dtype = tmp->type.dtype;
    v->type.shape = tmp->type.shape;
    v->type.data = NULL;
    v->has_type = tmp->has_type;
    memcpy(v->dim_params, tmp->dim_params, sizeof v->dim_params);
}

/* Declares value `vi`; `kind` is "graph input" etc. Returns its index. */
static ot_status_t *declare(load_ctx_t *c, const Onnx__ValueInfoProto *vi, const char *kind, size_t pos, int *idx) {
    ot_graph_t *g = &c->m->graph;
    if (is_empty(vi->name)) return ot_status_create(OT_ERR_INVALID_MODEL, "%s #%zu has no name", kind, pos);
    char what[512];
    ot_label(what, sizeof what, "%s '%s'", kind, vi->name);
    ot_value_t tmp;
    memset(&tmp, 0, sizeof tmp);
    ot_status_t *st = convert_type(c, vi->type, what, &tmp);
    if (st) return st;
    if ((*idx = ot_graph_intern(g, c->arena, vi->name)) < 0) return oom();
    ot_value_t *v = &g->values[*idx];
    /* the first declaration wins; an initializer's own type beats any */
    if (!v->declared) {
        v->declared = true;
        DUP_OPT(c, v->doc_string, vi->doc_string);
        if (!v->is_initializer) apply_type(v, &tmp);
    }
    return NULL;
}

/* ---- attributes ---------------------------------------------------------- */

static ot_status_t *convert_tensor_attr(load_ctx_t *c, const Onnx__TensorProto *tp, const char *what,
                                        const ot_tensor_t **out) {
    ot_tensor_t *t = ot_arena_alloc(c->arena, sizeof *t);
    if (!t) return oom();
    ot_status_t *st = ot_tensor_from_proto(tp, what, c->dir, ot_tensor_alloc_arena, c->arena, t);
    *out = t;
    return st;
}

static ot_status_t *convert_attr(load_ctx_t *c, const Onnx__AttributeProto *ap, const char *node_label, size_t pos,
                                 ot_attr_t *a) {
    if (is_empty(ap->name))
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: attribute #%zu has no name", node_label, pos);
    char what[768];
    ot_label(what, sizeof what, "%s: attribute '%s'", node_label, ap->name);
    if (!is_empty(ap->ref_attr_name))
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "%s refers to function attribute '%s' (ref_attr_name is only valid inside a function)",
                                what, ap->ref_attr_name);
    if (!ap->has_type || ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s has no type", what);
    if (!(a->name = ot_arena_strdup(c->arena, ap->name))) return oom();
    a->type = (ot_attr_type_t)ap->type;
    ot_status_t *st;
    switch (ap->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->f = ap->f; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->i = ap->i; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->s_len = ap->has_s ? ap->s.len : 0;
        if (!(a->s = ot_arena_strndup(c->arena, (const char *)ap->s.data, a->s_len))) return oom();
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        if (!ap->t) return ot_status_create(OT_ERR_INVALID_MODEL, "%s of type TENSOR has no tensor", what);
        if ((st = convert_tensor_attr(c, ap->t, what, &a->t))) return st;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: {
        float *f = ot_arena_alloc(c->arena, ap->n_floats * sizeof *f);
        if (!f) return oom();
        if (ap->n_floats) memcpy(f, ap->floats, ap->n_floats * sizeof *f);
        a->floats = f;
        a->n = (int64_t)ap->n_floats;
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: {
        int64_t *v = ot_arena_alloc(c->arena, ap->n_ints * sizeof *v);
        if (!v) return oom();
        if (ap->n_ints) memcpy(v, ap->ints, ap->n_ints * sizeof *v);
        a->ints = v;
        a->n = (int64_t)ap->n_ints;
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
        char **v = ot_arena_alloc(c->arena, ap->n_strings * sizeof *v);
        if (!v) return oom();
        for (size_t k = 0; k < ap->n_strings; k++)
            if (!(v[k] = ot_arena_strndup(c->arena, (const char *)ap->strings[k].data, ap->strings[k].len)))
                return oom();
        a->strings = (const char *const *)v;
        a->n = (int64_t)ap->n_strings;
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: {
        const ot_tensor_t **v = ot_arena_alloc(c->arena, ap->n_tensors * sizeof *v);
        if (!v) return oom();
        for (size_t k = 0; k < ap->n_tensors; k++) {
            char twhat[800];
            ot_label(twhat, sizeof twhat, "%s[%zu]", what, k);
            if ((st = convert_tensor_attr(c, ap->tensors[k], twhat, &v[k]))) return st;
        }
        a->tensors = v;
        a->n = (int64_t)ap->n_tensors;
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: {
        /* not interpreted by any built-in op: keep the whole AttributeProto */
        ot_blob_t b = {NULL, 0};
        if ((st = to_blob(c, &ap->base, &b))) return st;
        a->raw = b.data;
        a->raw_len = b.len;
        break;
    }
    default: return ot_status_create(OT_ERR_INVALID_MODEL, "%s has unknown type %d", what, (int)ap->type);
    }
    return NULL;
}

/* ---- nodes --------------------------------------------------------------- */

static ot_status_t *convert_node(load_ctx_t *c, const Onnx__NodeProto *np, size_t pos) {
    ot_model_t *m = c->m;
    ot_graph_t *g = &m->graph;
    char label[512];
    if (is_empty(np->op_type)) {
        if (is_empty(np->name)) return ot_status_create(OT_ERR_INVALID_MODEL, "node #%zu has no op_type", pos);
        return ot_status_create(OT_ERR_INVALID_MODEL, "node '%s' has no op_type", np->name);
    }
    if (is_empty(np->name)) ot_label(label, sizeof label, "node #%zu (%s)", pos, np->op_type);
    else ot_label(label, sizeof label, "node '%s' (%s)", np->name, np->op_type);
    const char *domain = norm_domain(np->domain);
    int64_t opset = ot_model_opset(m, domain);
    if (opset < 0)
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: domain '%s' is not listed in the model's opset_import",
                                label, domain);
    if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2 || np->n_attribute > INT_MAX / 2)
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: too many inputs, outputs or attributes", label);

    size_t nio = np->n_input + np->n_output;
    int *io = malloc((nio ? nio : 1) * sizeof *io);
    if (!io) return oom();
    ot_status_t *st = NULL;
    for (size_t i = 0; i < np->n_input; i++) {
        io[i] = is_empty(np->input[i]) ? -1 : ot_graph_intern(g, c->arena, np->input[i]);
        if (!is_empty(np->input[i]) && io[i] < 0) {
            st = oom();
            goto done;
        }
    }
    int *outs = io + np->n_input;
    for (size_t i = 0; i < np->n_output; i++) {
        outs[i] = is_empty(np->output[i]) ? -1 : ot_graph_intern(g, c->arena, np->output[i]);
        if (!is_empty(np->output[i]) && outs[i] < 0) {
            st = oom();
            goto done;
        }
    }
    int idx = ot_graph_add_node(g, c->arena, np->op_type, domain, np->name ? np->name : "", (int)np->n_input, io,
                                (int)np->n_output, outs);
    if (idx < 0) {
        st = oom();
        goto done;
    }
    for (size_t i = 0; i < np->n_output; i++) {
        ot_value_t *v = outs[i] >= 0 ? &g->values[outs[i]] : NULL;
        /* a second producer is the validator's to report */
        if (v && v->producer < 0 && !v->is_initializer && !v->is_graph_input) v->producer = idx;
    }
    ot_node_t *n = &g->nodes[idx];
    n->info.opset = (int)opset;
    if (np->doc_string && !(n->doc_string = ot_arena_strdup(c->arena, np->doc_string))) {
        st = oom();
        goto done;
    }
    ot_attr_t *attrs = ot_arena_alloc(c->arena, np->n_attribute * sizeof *attrs);
    if (!attrs) {
        st = oom();
        goto done;
    }
    for (size_t i = 0; i < np->n_attribute; i++) {
        if ((st = convert_attr(c, np->attribute[i], label, i, &attrs[i]))) goto done;
        for (size_t k = 0; k < i; k++)
            if (strcmp(attrs[k].name, attrs[i].name) == 0) {
                st = ot_status_create(OT_ERR_INVALID_MODEL, "%s: attribute '%s' is given twice", label, attrs[i].name);
                goto done;
            }
    }
    n->info.attrs = attrs;
    n->info.n_attrs = (int)np->n_attribute;
done:
    free(io);
    return st;
}

/* ---- graph and model ------------------------------------------------------ */

static int *alloc_index(size_t n) { return malloc((n ? n : 1) * sizeof(int)); }

static ot_status_t *convert_graph(load_ctx_t *c, const Onnx__GraphProto *gp) {
    ot_model_t *m = c->m;
    ot_graph_t *g = &m->graph;
    ot_status_t *st;
    DUP_OPT(c, g->name, gp->name);
    DUP_OPT(c, g->doc_string, gp->doc_string);
    if (gp->n_sparse_initializer) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[0];
        const char *name = sp->values && sp->values->name ? sp->values->name : "";
        return ot_status_create(OT_ERR_UNSUPPORTED, "sparse initializer '%s' is not supported", name);
    }
    if (gp->n_input > INT_MAX / 2 || gp->n_output > INT_MAX / 2 || gp->n_initializer > INT_MAX / 2 ||
        gp->n_node > INT_MAX / 2)
        return ot_status_create(OT_ERR_INVALID_MODEL, "graph is too large");
    if (!(g->inputs = alloc_index(gp->n_input)) || !(g->outputs = alloc_index(gp->n_output)) ||
        !(g->initializers = alloc_index(gp->n_initializer)))
        return oom();

    for (size_t i = 0; i < gp->n_input; i++) {
        int idx;
        if (!is_empty(gp->input[i]->name) && ot_graph_find(g, gp->input[i]->name) >= 0)
            return ot_status_create(OT_ERR_INVALID_MODEL, "graph input '%s' is listed twice", gp->input[i]->name);
        if ((st = declare(c, gp->input[i], "graph input", i, &idx))) return st;
        g->values[idx].is_graph_input = true;
        g->inputs[g->n_inputs++] = idx;
    }

    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (is_empty(tp->name)) return ot_status_create(OT_ERR_INVALID_MODEL, "initializer #%zu has no name", i);
        char what[512];
        ot_label(what, sizeof what, "initializer '%s'", tp->name);
        int idx = ot_graph_intern(g, c->arena, tp->name);
        if (idx < 0) return oom();
        if (g->values[idx].is_initializer)
            return ot_status_create(OT_ERR_INVALID_MODEL, "initializer '%s' is defined twice", tp->name);
        ot_tensor_t t;
        if ((st = ot_tensor_from_proto(tp, what, c->dir, ot_tensor_alloc_arena, c->arena, &t))) return st;
        ot_value_t *v = &g->values[idx];
        if (v->is_graph_input && v->has_type && v->type.dtype != OT_DTYPE_UNDEFINED && v->type.dtype != t.dtype)
            return ot_status_create(OT_ERR_INVALID_MODEL, "initializer '%s' is %s but graph input '%s' declares %s",
                                    tp->name, ot_dtype_name(t.dtype), tp->name, ot_dtype_name(v->type.dtype));
        if (!v->is_graph_input && m->ir_version < 4)
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "initializer '%s' is not listed in graph.input (required for IR version %lld)",
                                    tp->name, (long long)m->ir_version);
        v->type = t;
        v->has_type = true;
        memset(v->dim_params, 0, sizeof v->dim_params);
        v->is_initializer = true;
        DUP_OPT(c, v->tensor_doc_string, tp->doc_string);
        g->initializers[g->n_initializers++] = idx;
    }

    for (size_t i = 0; i < gp->n_output; i++) {
        int idx = is_empty(gp->output[i]->name) ? -1 : ot_graph_find(g, gp->output[i]->name);
        if (idx >= 0 && g->values[idx].is_graph_output)
            return ot_status_create(OT_ERR_INVALID_MODEL, "graph output '%s' is listed twice", gp->output[i]->name);
        if ((st = declare(c, gp->output[i], "graph output", i, &idx))) return st;
        g->values[idx].is_graph_output = true;
        g->outputs[g->n_outputs++] = idx;
    }

    for (size_t i = 0; i < gp->n_value_info; i++) {
        int idx;
        if ((st = declare(c, gp->value_info[i], "value_info", i, &idx))) return st;
    }

    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = convert_node(c, gp->node[i], i))) return st;

    if (gp->n_quantization_annotation) {
        g->quant_annotations = ot_arena_alloc(c->arena, gp->n_quantization_annotation * sizeof(ot_blob_t));
        if (!g->quant_annotations) return oom();
        for (size_t i = 0; i < gp->n_quantization_annotation; i++)
            if ((st = to_blob(c, &gp->quantization_annotation[i]->base, &g->quant_annotations[i]))) return st;
        g->n_quant_annotations = (int)gp->n_quantization_annotation;
    }
    return NULL;
}

static ot_status_t *convert_model(load_ctx_t *c, const Onnx__ModelProto *mp) {
    ot_model_t *m = c->m;
    ot_status_t *st;
    if (!mp->has_ir_version) return ot_status_create(OT_ERR_INVALID_MODEL, "has no ir_version (not an ONNX model?)");
    if (mp->ir_version < IR_VERSION_MIN || mp->ir_version > IR_VERSION_MAX)
        return ot_status_create(OT_ERR_UNSUPPORTED, "IR version %lld is not supported (%d to %d are)",
                                (long long)mp->ir_version, IR_VERSION_MIN, IR_VERSION_MAX);
    m->ir_version = mp->ir_version;

    if (mp->n_opset_import == 0)
        return ot_status_create(OT_ERR_INVALID_MODEL, "has no opset_import (required since IR version 3)");
    if (mp->n_opset_import > INT_MAX / 2) return ot_status_create(OT_ERR_INVALID_MODEL, "too many opset imports");
    if (!(m->opsets = ot_arena_alloc(c->arena, mp->n_opset_import * sizeof *m->opsets))) return oom();
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = mp->opset_import[i];
        const char *d = norm_domain(op->domain);
        if (!op->has_version || op->version < 1 || op->version > INT_MAX)
            return ot_status_create(OT_ERR_INVALID_MODEL, "opset_import for domain '%s' has no valid version (%lld)", d,
                                    (long long)op->version);
        if (ot_model_opset(m, d) >= 0)
            return ot_status_create(OT_ERR_INVALID_MODEL, "opset_import lists domain '%s' twice", d);
        if (!(m->opsets[i].domain = ot_arena_strdup(c->arena, d))) return oom();
        m->opsets[i].version = op->version;
        m->n_opsets++;
    }

    DUP_OPT(c, m->producer_name, mp->producer_name);
    DUP_OPT(c, m->producer_version, mp->producer_version);
    DUP_OPT(c, m->domain, mp->domain);
    DUP_OPT(c, m->doc_string, mp->doc_string);
    m->model_version = mp->model_version;

    if (mp->n_metadata_props > INT_MAX / 2 || mp->n_training_info > INT_MAX / 2 || mp->n_functions > INT_MAX / 2)
        return ot_status_create(OT_ERR_INVALID_MODEL, "too many metadata, training_info or function entries");
    if (!(m->metadata = ot_arena_alloc(c->arena, mp->n_metadata_props * sizeof *m->metadata))) return oom();
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *kv = mp->metadata_props[i];
        m->metadata[i].key = ot_arena_strdup(c->arena, kv->key); /* NULL -> "" */
        m->metadata[i].value = ot_arena_strdup(c->arena, kv->value);
        if (!m->metadata[i].key || !m->metadata[i].value) return oom();
        m->n_metadata++;
    }
    if (!(m->training_info = ot_arena_alloc(c->arena, mp->n_training_info * sizeof(ot_blob_t)))) return oom();
    for (size_t i = 0; i < mp->n_training_info; i++) {
        if ((st = to_blob(c, &mp->training_info[i]->base, &m->training_info[i]))) return st;
        m->n_training_info++;
    }
    if (!(m->functions = ot_arena_alloc(c->arena, mp->n_functions * sizeof(ot_blob_t)))) return oom();
    for (size_t i = 0; i < mp->n_functions; i++) {
        if ((st = to_blob(c, &mp->functions[i]->base, &m->functions[i]))) return st;
        m->n_functions++;
    }

    if (!mp->graph) return ot_status_create(OT_ERR_INVALID_MODEL, "has no graph");
    return convert_graph(c, mp->graph);
}

/* Shared by both entry points; `label` names the model in messages. `owned`
 * (may be NULL) is the caller's malloc()ed copy of `bytes`, freed as soon as
 * it is parsed so big models do not hold three copies at once. */
static ot_status_t *load_common(const void *bytes, size_t len, uint8_t *owned, const char *label, const char *dir,
                                const ot_registry_t *reg, const ot_load_options_t *opts, ot_model_t **out) {
    ot_status_t *early = !reg            ? ot_status_create(OT_ERR_INVALID_ARGUMENT, "the registry is NULL")
                         : !bytes && len ? ot_status_create(OT_ERR_INVALID_ARGUMENT, "bytes are NULL")
                         : len == 0      ? ot_status_create(OT_ERR_INVALID_MODEL, "is empty")
                                         : NULL;
    if (early) {
        free(owned);
        return ot_status_wrap(early, "model '%s'", label);
    }
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    free(owned);
    if (!mp)
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "model '%s': cannot parse %zu bytes as an ONNX ModelProto (truncated or not ONNX?)",
                                label, len);
    ot_status_t *st = NULL;
    ot_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->arena = ot_arena_create())) {
        st = oom();
        goto fail;
    }
    if (dir && !(m->dir = ot_arena_strdup(m->arena, dir))) {
        st = oom();
        goto fail;
    }
    load_ctx_t c = {m, m->arena, m->dir};
    st = convert_model(&c, mp);
    onnx__model_proto__free_unpacked(mp, NULL);
    mp = NULL;
    if (st) goto fail;
    m->registry = reg;
    if ((st = ot_model_validate(m, opts && opts->allow_unknown_ops))) goto fail;
    *out = m;
    return NULL;
fail:
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    ot_model_destroy(m);
    return ot_status_wrap(st, "model '%s'", label);
}

ot_status_t *ot_model_load_bytes(const void *bytes, size_t len, const char *base_dir, const ot_registry_t *reg,
                                 const ot_load_options_t *opts, ot_model_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_load_bytes: out is NULL");
    *out = NULL;
    return load_common(bytes, len, NULL, "<memory>", base_dir, reg, opts, out);
}

ot_status_t *ot_model_load(const char *path, const ot_registry_t *reg, const ot_load_options_t *opts,
                           ot_model_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_load: out is NULL");
    *out = NULL;
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_load: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_file_read(path, &buf, &len);
    if (st) return st;
    /* external data is resolved in the (canonical) folder of the file */
    char *copy = strdup(path), *dir = NULL;
    if (copy) {
        char *slash = strrchr(copy, '/');
        const char *d = !slash ? "." : slash == copy ? "/" : (*slash = 0, copy);
        if (!(dir = realpath(d, NULL)))
            st = ot_status_create(OT_ERR_IO, "model '%s': cannot resolve its folder: %s", path, strerror(errno));
    } else {
        st = oom();
    }
    if (!st) st = load_common(buf, len, buf, path, dir, reg, opts, out);
    else free(buf);
    free(dir);
    free(copy);
    return st;
}
