/* onnxtrain/ort_checkpoint.h: ONNX Runtime training checkpoints (public C API).
 *
 * ONNX Runtime's on-device training saves its state as a FlatBuffer with the
 * file identifier "ODTC" (schema onnxruntime/core/flatbuffers/schema/
 * ort_training_checkpoint.fbs, tensors as in ort.fbs). Version 1 introduced
 * the format; version 2 (what ORT 1.19 writes) added
 * ModuleState.is_nominal_state. onnxtrain reads versions 1 and 2 with its own
 * bounds-checked reader and writes version 2, so users can move a training
 * run between ORT and onnxtrain in both directions.
 *
 * Not supported: version 3 (tensors in an external data file), string
 * tensors, tensors of rank above OT_MAX_RANK.
 *
 * Ownership: a checkpoint from ot_ort_checkpoint_load*() owns every string,
 * array and tensor buffer reachable from it, in one arena that
 * ot_ort_checkpoint_destroy() frees at once; destroy never frees individual
 * fields, so a caller may point fields at memory of its own (e.g. to add
 * optimizer state before saving) and keeps ownership of that memory. The
 * save functions only read the struct: it may be built entirely by the
 * caller.
 */
#ifndef ONNXTRAIN_ORT_CHECKPOINT_H
#define ONNXTRAIN_ORT_CHECKPOINT_H

#include "onnxtrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checkpoint version ot_ort_checkpoint_save() writes. */
#define OT_ORT_CHECKPOINT_VERSION 2

/* One named tensor (fbs Tensor). tensor.data is NULL in a nominal state,
 * where tensors are names with a dtype and (usually empty) dims only. */
typedef struct ot_ort_tensor {
    const char *name;
    ot_tensor_t tensor;
} ot_ort_tensor_t;

/* fbs ParameterOptimizerState: the optimizer's per-parameter state, e.g.
 * AdamW's "momentum0" and "momentum1", each shaped like the parameter. */
typedef struct ot_ort_param_state {
    const char *param_name;
    size_t n_momentums;
    ot_ort_tensor_t *momentums;
} ot_ort_param_state_t;

/* fbs OptimizerGroup. */
typedef struct ot_ort_optimizer_group {
    const char *group_name;
    int64_t step;
    float initial_learning_rate;
    size_t n_params;
    ot_ort_param_state_t *params;
} ot_ort_optimizer_group_t;

typedef enum ot_ort_property_type {
    OT_ORT_PROPERTY_INT,
    OT_ORT_PROPERTY_FLOAT,
    OT_ORT_PROPERTY_STRING,
    OT_ORT_PROPERTY_TYPE_COUNT
} ot_ort_property_type_t;

/* One entry of the fbs PropertyBag (user properties: epoch, best loss...). */
typedef struct ot_ort_property {
    const char *name;
    ot_ort_property_type_t type;
    int64_t i;     /* OT_ORT_PROPERTY_INT */
    float f;       /* OT_ORT_PROPERTY_FLOAT */
    const char *s; /* OT_ORT_PROPERTY_STRING */
} ot_ort_property_t;

typedef struct ot_ort_checkpoint {
    int32_t version; /* as read (1 or 2); saving always writes version 2 */
    /* ModuleState. A checkpoint without parameters has no ModuleState. */
    bool is_nominal_state;
    size_t n_trainable; /* requires_grad_params, in file order */
    ot_ort_tensor_t *trainable;
    size_t n_frozen; /* frozen_params (non-trainable), in file order */
    ot_ort_tensor_t *frozen;
    size_t n_groups;
    ot_ort_optimizer_group_t *groups;
    /* The property bag; in file order (ints, then floats, then strings). */
    size_t n_properties;
    ot_ort_property_t *properties;
    void *internal; /* owned storage of loaded checkpoints; NULL otherwise */
} ot_ort_checkpoint_t;

/* Reads an ORT checkpoint file. Every offset, table, vector, string and
 * tensor is checked against the file; a malformed file gives
 * OT_ERR_INVALID_MODEL naming the field (e.g. "module_state.
 * requires_grad_params[2].raw_data"), a version or feature we do not read
 * gives OT_ERR_UNSUPPORTED, an unreadable file OT_ERR_IO. *out belongs to
 * the caller: ot_ort_checkpoint_destroy(). */
ot_status_t *ot_ort_checkpoint_load(const char *path, ot_ort_checkpoint_t **out);
/* Same from bytes in memory (not retained); `what` names the source in
 * messages (may be NULL). */
ot_status_t *ot_ort_checkpoint_load_bytes(const void *bytes, size_t len, const char *what,
                                          ot_ort_checkpoint_t **out);
/* An empty checkpoint (version 2, no parameters) with its own arena, for
 * building one to save; fill it with memory from ot_ort_checkpoint_alloc()
 * and ot_ort_checkpoint_strdup() (owned by the checkpoint) or the caller's
 * own. Freed with ot_ort_checkpoint_destroy(). */
ot_status_t *ot_ort_checkpoint_create(ot_ort_checkpoint_t **out);
/* Zeroed, 64-byte aligned memory owned by `ckpt` (created or loaded);
 * NULL when out of memory. */
void *ot_ort_checkpoint_alloc(ot_ort_checkpoint_t *ckpt, size_t nbytes);
char *ot_ort_checkpoint_strdup(ot_ort_checkpoint_t *ckpt, const char *s);
/* Frees a checkpoint from create or load and everything it owns
 * (not caller memory hung into it). NULL is a no-op; a struct the caller
 * built itself (internal == NULL) is the caller's to free. */
void ot_ort_checkpoint_destroy(ot_ort_checkpoint_t *ckpt);

/* Serializes `ckpt` as a version 2 checkpoint into a malloc()ed buffer that
 * the caller frees with free(). Names must be non-empty and unique (among
 * all parameters, groups, a group's parameters, a parameter's momentums,
 * properties); tensors need data unless the state is nominal (momentums
 * always); otherwise OT_ERR_INVALID_ARGUMENT. */
ot_status_t *ot_ort_checkpoint_serialize(const ot_ort_checkpoint_t *ckpt, uint8_t **buf, size_t *len);
/* Writes `ckpt` (version 2) atomically: temp file in the same folder,
 * fsync, rename; on error `path` is untouched and no temp file remains. */
ot_status_t *ot_ort_checkpoint_save(const ot_ort_checkpoint_t *ckpt, const char *path);

/* The parameter named `name` (trainable or frozen), or NULL. */
const ot_ort_tensor_t *ot_ort_checkpoint_find_param(const ot_ort_checkpoint_t *ckpt, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_ORT_CHECKPOINT_H */
