/* runtime/op_call.h: one op record run directly over tensors the caller
 * holds, outside any graph (internal, not part of the public API).
 *
 * For the runtime's own uses of an op on tensors it already owns: ONNX
 * Runtime artifacts apply their optimizer model through ai.onnxtrain::AdamW
 * or ai.onnxtrain::SGD over the session's parameters (ort_artifacts.c), and
 * bench/optimizer_bench.c times AdamW. Creation does once what loading and
 * planning do for a graph node: the record serving (domain, op_type, opset)
 * is found, arity and attributes are checked against its schema as the
 * validator checks them, `infer` runs and every given output must have the
 * inferred dtype and shape, then the kernel's `setup` runs. A run is the
 * op's `run` alone, so it allocates nothing.
 *
 * Not for ops that need a oneDNN engine (OT_OP_ONEDNN: run those in a
 * graph) or that produce values during inference (OT_OP_SHAPE_ONLY). */
#ifndef ONNXTRAIN_OP_CALL_H
#define ONNXTRAIN_OP_CALL_H

#include "onnxtrain/onnxtrain.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_op_call ot_op_call_t;

/* Sets up `node` (name, op_type, domain, opset and attributes: all copied)
 * over `inputs` and `outputs`. The tensors themselves are borrowed: they
 * must outlive the call and keep their dtype and shape; their data (values
 * or pointers) may change between runs. NULL entries are absent optional
 * inputs and unrequested outputs. An output may share an input's bytes only
 * where the op allows it: optimizers (OT_OP_OPTIMIZER) update each tensor
 * in place, and an OT_OP_ALIAS_INPUT0 op's output 0 is its input 0. Errors
 * name the node. On success *out is owned by the caller
 * (ot_op_call_destroy). */
ot_status_t *ot_op_call_create(const ot_registry_t *reg, const ot_node_info_t *node, int n_inputs,
                               ot_tensor_t *const *inputs, int n_outputs, ot_tensor_t *const *outputs,
                               ot_op_call_t **out);
/* Runs the kernel once on the tensors' current data. */
ot_status_t *ot_op_call_run(ot_op_call_t *call);
/* Releases the kernel (its setup state) and the copies; NULL is a no-op. */
void ot_op_call_destroy(ot_op_call_t *call);

#ifdef __cplusplus
}
#endif
#endif
