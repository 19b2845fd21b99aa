/* runtime/ir.h: onnxtrain's own in-memory form of an ONNX model.
 *
 * The loader (onnx_load.c) converts protobuf-c structs into this and frees
 * them; the writer (onnx_save.c) converts back. Everything downstream
 * (validation, autodiff, planning) sees only this IR.
 *
 * Memory: strings, attributes and tensor data live in the model's arena and
 * are freed with it; the value/node arrays grow with realloc because later
 * passes (autodiff) append to them. Values are referred to by index.
 */
#ifndef ONNXTRAIN_IR_H
#define ONNXTRAIN_IR_H

#include "onnxtrain/onnxtrain.h"
#include "runtime/arena.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A value: graph input, initializer, or node output. */
typedef struct ot_value {
    char *name;
    ot_tensor_t type;           /* dtype + shape; data != NULL only for constants */
    char *dim_params[OT_MAX_RANK]; /* symbolic dim names from the file (or NULL) */
    bool has_type;              /* a type was declared or inferred */
    bool declared;              /* came with a ValueInfoProto (kept on save) */
    char *doc_string;           /* of its ValueInfoProto, or NULL */
    int producer;               /* node index; -1 for graph inputs/initializers */
    bool is_initializer;
    bool is_graph_input;        /* listed in graph.input */
    bool is_graph_output;
    char *tensor_doc_string;    /* initializer TensorProto doc string, or NULL */
} ot_value_t;

typedef struct ot_node {
    ot_node_info_t info;        /* name, op_type, domain, opset, attrs (arena) */
    int n_inputs;               /* as written, including trailing absent ones */
    int *inputs;                /* value index, -1 = absent optional ("") */
    int n_outputs;
    int *outputs;
    char *doc_string;
    const ot_op_def_t *op;      /* resolved by validation; NULL if unknown */
} ot_node_t;

typedef struct ot_graph {
    char *name;
    char *doc_string;
    ot_value_t *values;
    int n_values, cap_values;
    ot_node_t *nodes;           /* topologically sorted after validation */
    int n_nodes, cap_nodes;
    int *inputs, n_inputs;      /* graph.input, in file order (may include initializers) */
    int *outputs, n_outputs;    /* graph.output */
    int *initializers, n_initializers; /* in file order */
    struct ot_name_map *by_name;  /* name -> value index */
    struct ot_blob *quant_annotations; /* TensorAnnotation, serialized (round trip only) */
    int n_quant_annotations;
} ot_graph_t;

typedef struct ot_opset {
    char *domain;               /* "" for ai.onnx */
    int64_t version;
} ot_opset_t;

typedef struct ot_kv {
    char *key, *value;
} ot_kv_t;

/* A serialized protobuf message kept verbatim for round trips. */
typedef struct ot_blob {
    uint8_t *data;
    size_t len;
} ot_blob_t;

struct ot_model {
    ot_arena_t *arena;
    const ot_registry_t *registry;
    char *dir;                  /* folder of the model file (external data root), or NULL */
    int64_t ir_version;
    ot_opset_t *opsets;
    int n_opsets;
    char *producer_name, *producer_version, *domain, *doc_string;
    int64_t model_version;
    ot_kv_t *metadata;
    int n_metadata;
    ot_graph_t graph;
    ot_blob_t *training_info;   /* TrainingInfoProto, serialized (parsed by the training layer) */
    int n_training_info;
    ot_blob_t *functions;       /* FunctionProto, serialized; not executed */
    int n_functions;
};

/* ---- graph editing (ir.c) ---------------------------------------------- */

/* Index of the value named `name`, or -1. */
int ot_graph_find(const ot_graph_t *g, const char *name);
/* Index of the value named `name`, created (untyped, producer -1) if new. */
int ot_graph_intern(ot_graph_t *g, ot_arena_t *arena, const char *name);
/* Appends a node (inputs/outputs copied into the arena); returns its index. */
int ot_graph_add_node(ot_graph_t *g, ot_arena_t *arena, const char *op_type,
                      const char *domain, const char *name, int n_inputs,
                      const int *inputs, int n_outputs, const int *outputs);
/* Sets a node's attributes to deep copies (in the arena) of `attrs`.
 * STRINGS/TENSORS/raw attributes are not supported here (false). */
bool ot_node_set_attrs(ot_node_t *node, ot_arena_t *arena, int n_attrs, const ot_attr_t *attrs);
/* Adds an opset import for `domain` unless the model has one. */
bool ot_model_import_opset(ot_model_t *m, const char *domain, int64_t version);
void ot_graph_free(ot_graph_t *g); /* arrays only; arena memory goes with the arena */

int64_t ot_model_opset(const ot_model_t *m, const char *domain); /* -1 if not imported */

/* ---- serialization (onnx_save.c) --------------------------------------- */

/* Serializes the model as an ONNX ModelProto (tensors inline as raw_data).
 * On success *buf is malloc()ed and owned by the caller (free()). */
ot_status_t *ot_model_to_bytes(const ot_model_t *m, uint8_t **buf, size_t *len);

/* ---- validation (validate.c) ------------------------------------------- */

/* Resolves ops, checks arity and attributes, sorts nodes topologically,
 * rejects cycles / dangling inputs / duplicate outputs, infers shapes. */
ot_status_t *ot_model_validate(ot_model_t *m, bool allow_unknown_ops);
/* Arity (inputs[i] < 0: absent) and attribute names, types and required
 * ones against the node's resolved `op`, as validation checks them. */
ot_status_t *ot_node_check_schema(const ot_node_t *n);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_IR_H */
