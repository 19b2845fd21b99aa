/* runtime/onnx_save.c: IR -> onnx.ModelProto bytes -> file, atomically.
 *
 * Every tensor is written inline as raw_data (external data is never
 * produced). Parts kept as serialized blobs (GRAPH/SPARSE/TYPE_PROTO
 * attributes, training_info, functions, quantization annotations) are
 * unpacked and re-embedded, so what was read is written back. The
 * protobuf-c structs built here borrow the IR's strings and tensor data;
 * only the scaffolding lives in a temporary arena.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/onnx_io.h"

/* ---- atomic write -------------------------------------------------------- */

ot_status_t *ot_file_write_atomic(const char *path, const void *buf, size_t len) {
    ot_status_t *st = NULL;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16), *dir = malloc(plen + 2);
    int fd = -1;
    bool created = false;
    if (!tmp || !dir) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "cannot write '%s': out of memory", path);
        goto fail;
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        st = ot_status_create(OT_ERR_IO, "cannot create a temporary file for '%s': %s", path, strerror(errno));
        goto fail;
    }
    created = true;
    /* mkstemp makes 0600; keep an existing file's mode, else the usual 0644 */
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644;
    if (fchmod(fd, mode) != 0) {
        st = ot_status_create(OT_ERR_IO, "cannot set the mode of '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const uint8_t *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            st = ot_status_create(OT_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        st = ot_status_create(OT_ERR_IO, "cannot fsync '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        st = ot_status_create(OT_ERR_IO, "cannot close '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        st = ot_status_create(OT_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto fail;
    }
    created = false;
    /* make the rename itself durable */
    const char *slash = strrchr(path, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = 0;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL)
            st = ot_status_create(OT_ERR_IO, "cannot fsync folder '%s': %s", dir, strerror(errno));
        close(dfd);
    }
fail:
    if (fd >= 0) close(fd);
    if (created) unlink(tmp);
    free(tmp);
    free(dir);
    return st;
}

/* ---- IR -> protobuf-c ---------------------------------------------------- */

typedef struct save_ctx {
    ot_arena_t *arena;           /* scaffolding: structs, pointer arrays */
    ProtobufCMessage **unpacked; /* blobs unpacked for re-embedding, freed at the end */
    size_t n_unpacked, cap_unpacked;
} save_ctx_t;

#define SAVE_NEW(ctx, T, init, out)                                                                                    \
    do {                                                                                                               \
        (out) = ot_arena_alloc((ctx)->arena, sizeof(T));                                                               \
        if (!(out)) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");                                  \
        init(out);                                                                                                     \
    } while (0)

static void *save_array(save_ctx_t *ctx, size_t n, size_t elem) {
    return ot_arena_alloc(ctx->arena, (n ? n : 1) * elem);
}

/* Unpacks blob bytes with `desc`; the message is freed with the context. */
static ot_status_t *unpack_blob(save_ctx_t *ctx, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                size_t len, const char *what, ProtobufCMessage **out) {
    if (ctx->n_unpacked == ctx->cap_unpacked) {
        size_t cap = ctx->cap_unpacked ? 2 * ctx->cap_unpacked : 16;
        ProtobufCMessage **p = realloc(ctx->unpacked, cap * sizeof *p);
        if (!p) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
        ctx->unpacked = p;
        ctx->cap_unpacked = cap;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
    if (!msg) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: stored bytes do not parse as %s", what, desc->name);
    ctx->unpacked[ctx->n_unpacked++] = msg;
    *out = msg;
    return NULL;
}

static ot_status_t *save_tensor(save_ctx_t *ctx, const ot_tensor_t *t, const char *name, const char *doc,
                                const char *what, Onnx__TensorProto **out) {
    if (ot_dtype_size(t->dtype) == 0 || t->shape.rank < 0 || !ot_shape_known(&t->shape) ||
        (!t->data && ot_tensor_nbytes(t) > 0))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: tensor has no data, unknown shape or dtype %s", what,
                                ot_dtype_name(t->dtype));
    Onnx__TensorProto *tp;
    SAVE_NEW(ctx, Onnx__TensorProto, onnx__tensor_proto__init, tp);
    int64_t *dims = save_array(ctx, OT_MAX_RANK, sizeof(int64_t));
    if (!dims) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
    ot_tensor_to_proto(t, name, doc, dims, tp);
    *out = tp;
    return NULL;
}

static ot_status_t *save_value_info(save_ctx_t *ctx, const ot_value_t *v, Onnx__ValueInfoProto **out) {
    Onnx__ValueInfoProto *vi;
    SAVE_NEW(ctx, Onnx__ValueInfoProto, onnx__value_info_proto__init, vi);
    vi->name = v->name;
    vi->doc_string = v->doc_string;
    if (v->has_type) {
        Onnx__TypeProto *tp;
        Onnx__TypeProto__Tensor *tt;
        SAVE_NEW(ctx, Onnx__TypeProto, onnx__type_proto__init, tp);
        SAVE_NEW(ctx, Onnx__TypeProto__Tensor, onnx__type_proto__tensor__init, tt);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
        if (v->type.dtype != OT_DTYPE_UNDEFINED) {
            tt->has_elem_type = 1;
            tt->elem_type = (int32_t)v->type.dtype;
        }
        if (v->type.shape.rank >= 0) {
            int rank = v->type.shape.rank;
            Onnx__TensorShapeProto *sp;
            SAVE_NEW(ctx, Onnx__TensorShapeProto, onnx__tensor_shape_proto__init, sp);
            sp->n_dim = (size_t)rank;
            sp->dim = save_array(ctx, (size_t)rank, sizeof *sp->dim);
            if (!sp->dim) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
            for (int i = 0; i < rank; i++) {
                Onnx__TensorShapeProto__Dimension *d;
                SAVE_NEW(ctx, Onnx__TensorShapeProto__Dimension, onnx__tensor_shape_proto__dimension__init, d);
                if (v->dim_params[i]) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                    d->dim_param = v->dim_params[i];
                } else if (v->type.shape.dims[i] >= 0) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                    d->dim_value = v->type.shape.dims[i];
                }
                sp->dim[i] = d;
            }
            tt->shape = sp;
        }
        vi->type = tp;
    }
    *out = vi;
    return NULL;
}

static ot_status_t *save_attr(save_ctx_t *ctx, const ot_attr_t *a, const char *node_label, Onnx__AttributeProto **out) {
    char what[512];
    ot_label(what, sizeof what, "%s: attribute '%s'", node_label, a->name);
    if (a->raw) {
        ProtobufCMessage *msg;
        ot_status_t *st = unpack_blob(ctx, &onnx__attribute_proto__descriptor, a->raw, a->raw_len, what, &msg);
        *out = (Onnx__AttributeProto *)msg;
        return st;
    }
    Onnx__AttributeProto *ap;
    SAVE_NEW(ctx, Onnx__AttributeProto, onnx__attribute_proto__init, ap);
    ap->name = (char *)a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OT_ATTR_FLOAT:
        ap->has_f = 1;
        ap->f = a->f;
        break;
    case OT_ATTR_INT:
        ap->has_i = 1;
        ap->i = a->i;
        break;
    case OT_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = a->s_len;
        ap->s.data = (uint8_t *)a->s;
        break;
    case OT_ATTR_TENSOR: {
        ot_status_t *st = save_tensor(ctx, a->t, NULL, NULL, what, &ap->t);
        if (st) return st;
        break;
    }
    case OT_ATTR_FLOATS:
        ap->n_floats = (size_t)a->n;
        ap->floats = (float *)a->floats;
        break;
    case OT_ATTR_INTS:
        ap->n_ints = (size_t)a->n;
        ap->ints = (int64_t *)a->ints;
        break;
    case OT_ATTR_STRINGS:
        ap->n_strings = (size_t)a->n;
        ap->strings = save_array(ctx, (size_t)a->n, sizeof *ap->strings);
        if (!ap->strings) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
        for (int64_t k = 0; k < a->n; k++) {
            ap->strings[k].data = (uint8_t *)a->strings[k];
            ap->strings[k].len = strlen(a->strings[k]);
        }
        break;
    case OT_ATTR_TENSORS:
        ap->n_tensors = (size_t)a->n;
        ap->tensors = save_array(ctx, (size_t)a->n, sizeof *ap->tensors);
        if (!ap->tensors) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
        for (int64_t k = 0; k < a->n; k++) {
            ot_status_t *st = save_tensor(ctx, a->tensors[k], NULL, NULL, what, &ap->tensors[k]);
            if (st) return st;
        }
        break;
    default:
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "%s: type %d has no stored bytes to write", what,
                                (int)a->type);
    }
    *out = ap;
    return NULL;
}

static ot_status_t *save_node(save_ctx_t *ctx, const ot_graph_t *g, const ot_node_t *n, Onnx__NodeProto **out) {
    char label[512];
    ot_label(label, sizeof label, "node '%s' (%s)", n->info.name, n->info.op_type);
    Onnx__NodeProto *np;
    SAVE_NEW(ctx, Onnx__NodeProto, onnx__node_proto__init, np);
    np->name = (char *)n->info.name;
    np->op_type = (char *)n->info.op_type;
    np->domain = (char *)n->info.domain;
    np->doc_string = n->doc_string;
    np->n_input = (size_t)n->n_inputs;
    np->input = save_array(ctx, (size_t)n->n_inputs, sizeof(char *));
    np->n_output = (size_t)n->n_outputs;
    np->output = save_array(ctx, (size_t)n->n_outputs, sizeof(char *));
    np->n_attribute = (size_t)n->info.n_attrs;
    np->attribute = save_array(ctx, (size_t)n->info.n_attrs, sizeof *np->attribute);
    if (!np->input || !np->output || !np->attribute) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
    for (int i = 0; i < n->n_inputs; i++) np->input[i] = n->inputs[i] < 0 ? "" : g->values[n->inputs[i]].name;
    for (int i = 0; i < n->n_outputs; i++) np->output[i] = n->outputs[i] < 0 ? "" : g->values[n->outputs[i]].name;
    for (int i = 0; i < n->info.n_attrs; i++) {
        ot_status_t *st = save_attr(ctx, &n->info.attrs[i], label, &np->attribute[i]);
        if (st) return st;
    }
    *out = np;
    return NULL;
}

static ot_status_t *save_graph(save_ctx_t *ctx, const ot_graph_t *g, Onnx__GraphProto *gp) {
    ot_status_t *st;
    gp->name = g->name;
    gp->doc_string = g->doc_string;
    gp->n_node = (size_t)g->n_nodes;
    gp->node = save_array(ctx, (size_t)g->n_nodes, sizeof *gp->node);
    gp->n_input = (size_t)g->n_inputs;
    gp->input = save_array(ctx, (size_t)g->n_inputs, sizeof *gp->input);
    gp->n_output = (size_t)g->n_outputs;
    gp->output = save_array(ctx, (size_t)g->n_outputs, sizeof *gp->output);
    gp->n_initializer = (size_t)g->n_initializers;
    gp->initializer = save_array(ctx, (size_t)g->n_initializers, sizeof *gp->initializer);
    gp->value_info = save_array(ctx, (size_t)g->n_values, sizeof *gp->value_info);
    gp->n_quantization_annotation = (size_t)g->n_quant_annotations;
    gp->quantization_annotation = save_array(ctx, (size_t)g->n_quant_annotations, sizeof *gp->quantization_annotation);
    if (!gp->node || !gp->input || !gp->output || !gp->initializer || !gp->value_info || !gp->quantization_annotation)
        return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
    for (int i = 0; i < g->n_inputs; i++)
        if ((st = save_value_info(ctx, &g->values[g->inputs[i]], &gp->input[i]))) return st;
    for (int i = 0; i < g->n_outputs; i++)
        if ((st = save_value_info(ctx, &g->values[g->outputs[i]], &gp->output[i]))) return st;
    for (int i = 0; i < g->n_initializers; i++) {
        const ot_value_t *v = &g->values[g->initializers[i]];
        char what[512];
        ot_label(what, sizeof what, "initializer '%s'", v->name);
        if ((st = save_tensor(ctx, &v->type, v->name, v->tensor_doc_string, what, &gp->initializer[i]))) return st;
    }
    /* value_info: declared values that are not already graph inputs/outputs */
    for (int i = 0; i < g->n_values; i++) {
        const ot_value_t *v = &g->values[i];
        if (!v->declared || v->is_graph_input || v->is_graph_output) continue;
        if ((st = save_value_info(ctx, v, &gp->value_info[gp->n_value_info++]))) return st;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if ((st = save_node(ctx, g, &g->nodes[i], &gp->node[i]))) return st;
    for (int i = 0; i < g->n_quant_annotations; i++) {
        ProtobufCMessage *msg;
        if ((st = unpack_blob(ctx, &onnx__tensor_annotation__descriptor, g->quant_annotations[i].data,
                              g->quant_annotations[i].len, "quantization_annotation", &msg)))
            return st;
        gp->quantization_annotation[i] = (Onnx__TensorAnnotation *)msg;
    }
    return NULL;
}

static ot_status_t *save_model(save_ctx_t *ctx, const ot_model_t *m, Onnx__ModelProto *mp) {
    ot_status_t *st;
    mp->has_ir_version = 1;
    mp->ir_version = m->ir_version;
    mp->producer_name = m->producer_name;
    mp->producer_version = m->producer_version;
    mp->domain = m->domain;
    mp->doc_string = m->doc_string;
    if (m->model_version) {
        mp->has_model_version = 1;
        mp->model_version = m->model_version;
    }
    mp->n_opset_import = (size_t)m->n_opsets;
    mp->opset_import = save_array(ctx, (size_t)m->n_opsets, sizeof *mp->opset_import);
    mp->n_metadata_props = (size_t)m->n_metadata;
    mp->metadata_props = save_array(ctx, (size_t)m->n_metadata, sizeof *mp->metadata_props);
    mp->n_training_info = (size_t)m->n_training_info;
    mp->training_info = save_array(ctx, (size_t)m->n_training_info, sizeof *mp->training_info);
    mp->n_functions = (size_t)m->n_functions;
    mp->functions = save_array(ctx, (size_t)m->n_functions, sizeof *mp->functions);
    if (!mp->opset_import || !mp->metadata_props || !mp->training_info || !mp->functions)
        return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
    for (int i = 0; i < m->n_opsets; i++) {
        Onnx__OperatorSetIdProto *op;
        SAVE_NEW(ctx, Onnx__OperatorSetIdProto, onnx__operator_set_id_proto__init, op);
        op->domain = m->opsets[i].domain;
        op->has_version = 1;
        op->version = m->opsets[i].version;
        mp->opset_import[i] = op;
    }
    for (int i = 0; i < m->n_metadata; i++) {
        Onnx__StringStringEntryProto *kv;
        SAVE_NEW(ctx, Onnx__StringStringEntryProto, onnx__string_string_entry_proto__init, kv);
        kv->key = m->metadata[i].key;
        kv->value = m->metadata[i].value;
        mp->metadata_props[i] = kv;
    }
    for (int i = 0; i < m->n_training_info; i++) {
        ProtobufCMessage *msg;
        if ((st = unpack_blob(ctx, &onnx__training_info_proto__descriptor, m->training_info[i].data,
                              m->training_info[i].len, "training_info", &msg)))
            return st;
        mp->training_info[i] = (Onnx__TrainingInfoProto *)msg;
    }
    for (int i = 0; i < m->n_functions; i++) {
        ProtobufCMessage *msg;
        if ((st = unpack_blob(ctx, &onnx__function_proto__descriptor, m->functions[i].data, m->functions[i].len,
                              "function", &msg)))
            return st;
        mp->functions[i] = (Onnx__FunctionProto *)msg;
    }
    Onnx__GraphProto *gp;
    SAVE_NEW(ctx, Onnx__GraphProto, onnx__graph_proto__init, gp);
    mp->graph = gp;
    return save_graph(ctx, &m->graph, gp);
}

ot_status_t *ot_model_to_bytes(const ot_model_t *m, uint8_t **buf, size_t *len) {
    if (!buf || !len) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_to_bytes: NULL output");
    *buf = NULL;
    *len = 0;
    if (!m) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_to_bytes: model is NULL");
    save_ctx_t ctx = {ot_arena_create(), NULL, 0, 0};
    ot_status_t *st = NULL;
    if (!ctx.arena) return ot_status_create(OT_ERR_NO_MEMORY, "save: out of memory");
    Onnx__ModelProto mp;
    onnx__model_proto__init(&mp);
    if ((st = save_model(&ctx, m, &mp))) goto done;
    size_t n = onnx__model_proto__get_packed_size(&mp);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "save: cannot allocate %zu bytes", n);
        goto done;
    }
    size_t packed = onnx__model_proto__pack(&mp, out);
    if (packed != n) { /* cannot happen: protobuf-c sizes what it packs */
        free(out);
        st = ot_status_create(OT_ERR_RUNTIME, "save: packed %zu bytes, expected %zu", packed, n);
        goto done;
    }
    *buf = out;
    *len = n;
done:
    for (size_t i = 0; i < ctx.n_unpacked; i++) protobuf_c_message_free_unpacked(ctx.unpacked[i], NULL);
    free(ctx.unpacked);
    ot_arena_destroy(ctx.arena);
    return st;
}

ot_status_t *ot_model_save(const ot_model_t *model, const char *path) {
    if (!model || !path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_model_save: NULL model or path");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_model_to_bytes(model, &buf, &len);
    if (st) return ot_status_wrap(st, "saving model '%s'", path);
    st = ot_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}
