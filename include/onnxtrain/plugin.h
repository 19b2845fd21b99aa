/* onnxtrain/plugin.h: the operator ABI.
 *
 * Every operator, built-in or loaded from a plugin, is one `ot_op_def_t`
 * record: schema, shape/type inference, kernel setup/run/release and the
 * gradient rule. A plugin is a shared library that includes only this header
 * and exports the two functions declared by OT_PLUGIN_DEFINE.
 *
 * This header deliberately holds no oneDNN or protobuf types: kernels that
 * use oneDNN cast `ot_kernel_t.engine`/`.stream` themselves.
 */
#ifndef ONNXTRAIN_PLUGIN_H
#define ONNXTRAIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct in this header changes layout. */
#define OT_PLUGIN_ABI_VERSION 2u
#define OT_MAX_RANK 8

/* ---- status ------------------------------------------------------------ */

typedef enum ot_code {
    OT_OK = 0,
    OT_ERR_INVALID_ARGUMENT, /* a caller passed something wrong           */
    OT_ERR_INVALID_MODEL,    /* the model (file or graph) is malformed     */
    OT_ERR_UNSUPPORTED,      /* valid ONNX we do not implement             */
    OT_ERR_IO,               /* a file could not be read or written        */
    OT_ERR_NO_MEMORY,
    OT_ERR_RUNTIME,          /* a kernel or backend failed while running   */
    OT_ERR_CODE_COUNT
} ot_code_t;

/* A status is NULL on success; otherwise an owned object with a code and a
 * message, freed by ot_status_free(). */
typedef struct ot_status ot_status_t;

ot_status_t *ot_status_create(ot_code_t code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Returns `st` with "prefix: " prepended to its message (st may be NULL). */
ot_status_t *ot_status_wrap(ot_status_t *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
ot_code_t ot_status_code(const ot_status_t *st);       /* OT_OK for NULL */
const char *ot_status_message(const ot_status_t *st); /* "" for NULL; owned by st */
const char *ot_code_name(ot_code_t code);
void ot_status_free(ot_status_t *st);

/* ---- tensors ----------------------------------------------------------- */

/* Same numbers as onnx.TensorProto.DataType. */
typedef enum ot_dtype {
    OT_DTYPE_UNDEFINED = 0,
    OT_DTYPE_FLOAT = 1,
    OT_DTYPE_UINT8 = 2,
    OT_DTYPE_INT8 = 3,
    OT_DTYPE_UINT16 = 4,
    OT_DTYPE_INT16 = 5,
    OT_DTYPE_INT32 = 6,
    OT_DTYPE_INT64 = 7,
    OT_DTYPE_STRING = 8, /* not supported by the runtime */
    OT_DTYPE_BOOL = 9,
    OT_DTYPE_FLOAT16 = 10,
    OT_DTYPE_DOUBLE = 11,
    OT_DTYPE_UINT32 = 12,
    OT_DTYPE_UINT64 = 13,
    OT_DTYPE_COMPLEX64 = 14,
    OT_DTYPE_COMPLEX128 = 15,
    OT_DTYPE_BFLOAT16 = 16,
    OT_DTYPE_COUNT
} ot_dtype_t;

/* Bytes per element; 0 for UNDEFINED, STRING and unknown values. */
size_t ot_dtype_size(ot_dtype_t dtype);
const char *ot_dtype_name(ot_dtype_t dtype);

/* rank < 0: rank unknown. dims[i] < 0: dimension unknown (symbolic) until a
 * run binds it. Only shape inference ever sees unknowns; kernels never do. */
typedef struct ot_shape {
    int rank;
    int64_t dims[OT_MAX_RANK];
} ot_shape_t;

/* A dense row-major tensor. `data` is NULL when only the type is known. */
typedef struct ot_tensor {
    ot_dtype_t dtype;
    ot_shape_t shape;
    void *data;
} ot_tensor_t;

/* Element count; -1 if the rank or any dim is unknown. Rank 0 gives 1. */
int64_t ot_shape_numel(const ot_shape_t *shape);
bool ot_shape_known(const ot_shape_t *shape);

/* ---- attributes -------------------------------------------------------- */

/* Same numbers as onnx.AttributeProto.AttributeType. */
typedef enum ot_attr_type {
    OT_ATTR_UNDEFINED = 0,
    OT_ATTR_FLOAT = 1,
    OT_ATTR_INT = 2,
    OT_ATTR_STRING = 3,
    OT_ATTR_TENSOR = 4,
    OT_ATTR_GRAPH = 5,
    OT_ATTR_FLOATS = 6,
    OT_ATTR_INTS = 7,
    OT_ATTR_STRINGS = 8,
    OT_ATTR_TENSORS = 9,
    OT_ATTR_GRAPHS = 10,
    OT_ATTR_SPARSE_TENSOR = 11,
    OT_ATTR_SPARSE_TENSORS = 12,
    OT_ATTR_TYPE_PROTO = 13,
    OT_ATTR_TYPE_PROTOS = 14,
    OT_ATTR_TYPE_COUNT
} ot_attr_type_t;

typedef struct ot_attr {
    const char *name;
    ot_attr_type_t type;
    float f;                /* FLOAT */
    int64_t i;              /* INT */
    const char *s;          /* STRING (NUL-terminated; s_len bytes) */
    size_t s_len;
    const ot_tensor_t *t;   /* TENSOR */
    int64_t n;              /* element count of FLOATS/INTS/STRINGS/TENSORS */
    const float *floats;
    const int64_t *ints;
    const char *const *strings;
    const ot_tensor_t *const *tensors;
    /* GRAPH(S), SPARSE_TENSOR(S), TYPE_PROTO(S): the whole AttributeProto,
     * serialized, kept for round trips; no built-in op reads them. */
    const uint8_t *raw;
    size_t raw_len;
} ot_attr_t;

/* What an op sees of its node. */
typedef struct ot_node_info {
    const char *name;    /* may be "" in the file; never NULL */
    const char *op_type;
    const char *domain;  /* "" for ai.onnx */
    int opset;           /* the model's opset import for `domain` */
    int n_attrs;
    const ot_attr_t *attrs;
} ot_node_info_t;

/* Attribute getters: the validator has already checked names and types
 * against the schema, so these only look up and fall back to the default. */
const ot_attr_t *ot_node_attr(const ot_node_info_t *node, const char *name);
int64_t ot_attr_int(const ot_node_info_t *node, const char *name, int64_t dflt);
float ot_attr_float(const ot_node_info_t *node, const char *name, float dflt);
const char *ot_attr_string(const ot_node_info_t *node, const char *name, const char *dflt);
/* INTS/FLOATS: returns the count and sets *out, or -1 (and *out = NULL) if absent. */
int64_t ot_attr_ints(const ot_node_info_t *node, const char *name, const int64_t **out);
int64_t ot_attr_floats(const ot_node_info_t *node, const char *name, const float **out);

/* ---- the op record ----------------------------------------------------- */

typedef struct ot_attr_spec {
    const char *name;
    ot_attr_type_t type;
    bool required;
} ot_attr_spec_t;

/* Shape/type inference. Runs at load time (dims may be unknown, data mostly
 * NULL) and again at plan time (all dims known). inputs[i] is NULL for an
 * absent optional input; inputs[i]->data is non-NULL when the value is a
 * constant (initializer, Constant, or folded at plan time). The op sets
 * dtype and shape of every outputs[i] that is non-NULL (NULL = output not
 * requested). An op flagged OT_OP_SHAPE_ONLY may also point outputs[i]->data
 * at a buffer from ot_infer_alloc() once its inputs' shapes are known. */
typedef struct ot_infer_ctx {
    const ot_node_info_t *node;
    int n_inputs;
    const ot_tensor_t *const *inputs;
    int n_outputs;
    ot_tensor_t *const *outputs;
    void *impl; /* runtime-private */
} ot_infer_ctx_t;

/* Scratch owned by the runtime for as long as the inferred constant lives. */
void *ot_infer_alloc(ot_infer_ctx_t *ctx, size_t nbytes);

/* A planned kernel instance. Shapes are concrete from setup() on. Data
 * pointers are set before every run(): read them at run time, never cache
 * them in setup(). Outputs never alias inputs unless the op is flagged
 * OT_OP_ALIAS_INPUT0 (then outputs[0]->data == inputs[0]->data). */
typedef struct ot_kernel {
    const ot_node_info_t *node;
    int n_inputs;
    ot_tensor_t *const *inputs;   /* NULL entries: absent optional inputs */
    int n_outputs;
    ot_tensor_t *const *outputs;  /* NULL entries: outputs not requested */
    void *state;                  /* op-owned: set in setup, freed in release */
    void *engine;                 /* dnnl_engine_t (CPU) */
    void *stream;                 /* dnnl_stream_t */
} ot_kernel_t;

/* What a gradient rule sees. Values are integer handles; the rule emits
 * nodes with ot_grad_emit() and sets dinputs[i] for every input with
 * needs[i]. Leaving dinputs[i] at -1 means "zero". Gradients are always
 * +dL/dvalue. Forward values a rule reads stay alive until the backward
 * node that reads them has run (the planner sees the edges). */
typedef struct ot_grad_ctx {
    const ot_node_info_t *node;            /* the forward node */
    int n_inputs;
    const int *inputs;                     /* forward inputs (-1: absent) */
    const ot_tensor_t *const *input_types; /* dtype + shape (dims may be unknown); NULL if absent */
    int n_outputs;
    const int *outputs;                    /* forward outputs (-1: not produced) */
    const ot_tensor_t *const *output_types;
    const int *doutputs;                   /* dL/d(output i); -1: none reaches it (zero) */
    const bool *needs;                     /* needs[i]: the gradient of input i is wanted */
    int *dinputs;                          /* out: dL/d(input i), preset to -1 */
    void *impl;                            /* runtime-private */
} ot_grad_ctx_t;

/* Appends a node to the backward graph. in[] are handles (-1: absent
 * optional input); out[] receives n_out new handles. Attributes are copied.
 * domain "" is ai.onnx; "com.microsoft" and OT_DOMAIN name the others.
 * ai.onnx nodes resolve at the model's opset import, as forward nodes do:
 * emit ops whose signature does not change across opsets. */
ot_status_t *ot_grad_emit(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int n_in, const int *in,
                          int n_out, int *out, int n_attrs, const ot_attr_t *attrs);
/* A constant (copied) as a new value handle. */
ot_status_t *ot_grad_constant(ot_grad_ctx_t *ctx, const ot_tensor_t *value, int *out);
/* The forward node's output `index` as a handle, giving the node that output
 * (a new value) when the graph did not request it: for rules that need a
 * by-product of the forward (MaxPool's Indices, BatchNormalization's saved
 * statistics) without recomputing it. The op's record must accept that many
 * outputs; validation after autodiff infers the new output's type. */
ot_status_t *ot_grad_forward_output(ot_grad_ctx_t *ctx, int index, int *out);

/* Our own domain, for ops that neither ONNX nor ONNX Runtime define. */
#define OT_DOMAIN "ai.onnxtrain"

enum ot_op_flags {
    OT_OP_ALIAS_INPUT0 = 1u << 0,  /* output 0 is input 0's bytes (Reshape, Identity...) */
    OT_OP_SHAPE_ONLY = 1u << 1,    /* output depends on input shapes only (Shape, Size) */
    OT_OP_NONDETERMINISTIC = 1u << 2, /* never constant-folded (random ops) */
    OT_OP_ONEDNN = 1u << 3,        /* has a oneDNN kernel (coverage report) */
    OT_OP_OPTIMIZER = 1u << 4,     /* an optimizer `onnxtrain prepare --optimizer` can use: see below */
    OT_OP_INITIALIZER = 1u << 5,   /* an initializer `onnxtrain prepare --init` can use: see below */
};

/* Optimizer ops (OT_OP_OPTIMIZER) take one uniform signature over n
 * parameters and S per-parameter states:
 *   inputs:  lr (float scalar), step (int64 scalar: the update's number,
 *            1 on the first), params[n], grads[n], state_0[n] .. state_{S-1}[n]
 *   outputs: params_new[n], state_0_new[n] .. state_{S-1}_new[n]
 * `states` lists the states, in input order: `onnxtrain prepare` creates
 * `<param>.<name>` for each, filled with the value of attribute `init` (0
 * when NULL), and only when attribute `when` is non-zero (always when NULL):
 * SGD's momentum_buffer exists only with momentum. At most
 * OT_MAX_OPTIMIZER_STATES states; ot_registry_add() refuses a record whose
 * declaration does not fit this signature (max_inputs and max_outputs -1,
 * min_inputs 4 .. 4 + the states without `when`, min_outputs 1 .. 1 + those;
 * `when` and `init` name INT or FLOAT attributes of the op).
 *
 * Initializer ops (OT_OP_INITIALIZER) have no inputs and one output, a new
 * value for one parameter, and take these attributes besides their own:
 *   shape (INTS, required), dtype (INT, onnx data type, default FLOAT),
 *   seed (INT: the op is deterministic given it),
 *   fan_in, fan_out (INT, optional: as torch.nn.init computes them for the
 *            parameter's use; `onnxtrain prepare` sets them from the node that
 *            reads the parameter, e.g. Gemm's transB; absent: torch's rule
 *            for the shape, fan_in = dims[1] * receptive field,
 *            fan_out = dims[0] * receptive field).
 * ot_registry_add() refuses an initializer record with inputs, with other
 * than one output, or without a required INTS `shape`. */
#define OT_MAX_OPTIMIZER_STATES 8

typedef struct ot_state_spec {
    const char *name; /* the state's suffix: `<param>.<name>` */
    const char *when; /* attribute that must be non-zero for the state to exist; NULL: always */
    const char *init; /* attribute holding the initial value; NULL: 0 */
} ot_state_spec_t;

typedef struct ot_op_def {
    uint32_t abi_version;      /* OT_PLUGIN_ABI_VERSION */
    const char *domain;        /* "" = ai.onnx */
    const char *op_type;
    int since_version;         /* this record serves opsets [since_version, next record) */
    int min_inputs, max_inputs;   /* max -1: variadic */
    int min_outputs, max_outputs;
    const ot_attr_spec_t *attrs;  /* {NULL}-terminated; NULL = no attributes */
    unsigned flags;            /* enum ot_op_flags */
    ot_status_t *(*infer)(ot_infer_ctx_t *ctx);
    ot_status_t *(*setup)(ot_kernel_t *k);  /* optional */
    ot_status_t *(*run)(ot_kernel_t *k);
    void (*release)(ot_kernel_t *k);        /* optional */
    ot_status_t *(*gradient)(ot_grad_ctx_t *ctx); /* optional; autodiff issue */
    const char *doc;           /* one line: formula and source */
    const ot_state_spec_t *states; /* OT_OP_OPTIMIZER: {NULL}-terminated; else NULL */
    float default_lr;              /* OT_OP_OPTIMIZER: torch's default rate; 0: the rate is required */
} ot_op_def_t;

/* ---- plugins ----------------------------------------------------------- */

typedef struct ot_registry ot_registry_t;

/* Adds `op` (not copied: it must outlive the registry). A record with the
 * same (domain, op_type, since_version) as an existing one is refused. */
ot_status_t *ot_registry_add(ot_registry_t *reg, const ot_op_def_t *op);

#if defined(_WIN32)
#define OT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define OT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* In exactly one file of a plugin: OT_PLUGIN_DEFINE(my_register), where
 * `ot_status_t *my_register(ot_registry_t *reg)` adds the plugin's records.
 * The host calls ot_plugin_abi_version() first and refuses a mismatch. */
#define OT_PLUGIN_DEFINE(register_fn)                                          \
    OT_PLUGIN_EXPORT uint32_t ot_plugin_abi_version(void) { return OT_PLUGIN_ABI_VERSION; } \
    OT_PLUGIN_EXPORT ot_status_t *ot_plugin_register(ot_registry_t *reg) { return register_fn(reg); }

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_PLUGIN_H */
