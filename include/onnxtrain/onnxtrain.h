/* onnxtrain/onnxtrain.h: the public C API.
 *
 * Handles are opaque; every function that can fail returns an
 * `ot_status_t *` (NULL on success, see plugin.h) and delivers results
 * through out-parameters. Nothing here keeps global state.
 *
 * Ownership: objects returned through `**out` belong to the caller and are
 * released with the matching _destroy(); `const char *` results belong to
 * the object they were read from and live as long as it does.
 */
#ifndef ONNXTRAIN_ONNXTRAIN_H
#define ONNXTRAIN_ONNXTRAIN_H

#include "onnxtrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OT_VERSION_MAJOR 0
#define OT_VERSION_MINOR 1
#define OT_VERSION_PATCH 0
const char *ot_version(void);

/* ---- tensors ----------------------------------------------------------- */

/* Allocates a tensor of the given type and shape (all dims known), zeroed.
 * Freed with ot_tensor_destroy(). */
ot_status_t *ot_tensor_create(ot_dtype_t dtype, const ot_shape_t *shape, ot_tensor_t **out);
void ot_tensor_destroy(ot_tensor_t *t);
size_t ot_tensor_nbytes(const ot_tensor_t *t);

/* Reads a serialized onnx.TensorProto (e.g. a conformance test's input_0.pb)
 * or a NumPy .npy file (chosen by content, not by name). */
ot_status_t *ot_tensor_load(const char *path, ot_tensor_t **out);
/* Writes `t` as a serialized onnx.TensorProto named `name` (may be NULL). */
ot_status_t *ot_tensor_save_pb(const ot_tensor_t *t, const char *name, const char *path);

/* ---- registry ---------------------------------------------------------- */

/* A registry holds every built-in op; plugins add more. */
ot_status_t *ot_registry_create(ot_registry_t **out);
void ot_registry_destroy(ot_registry_t *reg);
/* dlopen()s `path`, checks its ABI version, and calls its ot_plugin_register().
 * The library stays loaded until the registry is destroyed. */
ot_status_t *ot_registry_load_plugin(ot_registry_t *reg, const char *path);
/* Record serving (domain, op_type) at `opset`, or NULL. */
const ot_op_def_t *ot_registry_find(const ot_registry_t *reg, const char *domain,
                                    const char *op_type, int opset);
/* The record flagged `kind` (OT_OP_OPTIMIZER, OT_OP_INITIALIZER) whose
 * op_type matches `name` ignoring case and underscores ("adamw" finds AdamW,
 * "kaiming_uniform" finds KaimingUniform), in any domain; NULL if none. */
const ot_op_def_t *ot_registry_find_kind(const ot_registry_t *reg, const char *name, unsigned kind);
/* Iterates all records: i in [0, ot_registry_count()). */
int ot_registry_count(const ot_registry_t *reg);
const ot_op_def_t *ot_registry_get(const ot_registry_t *reg, int i);

/* ---- models ------------------------------------------------------------ */

typedef struct ot_model ot_model_t;

/* Loads and validates an ONNX model: every node resolves to a registered op
 * (unless `allow_unknown_ops`), nodes are sorted topologically, and shapes
 * and types are inferred. External data is read relative to the model's
 * folder and may not leave it. `reg` must outlive the model. */
typedef struct ot_load_options {
    bool allow_unknown_ops; /* load for inspection even if ops are missing */
} ot_load_options_t;

ot_status_t *ot_model_load(const char *path, const ot_registry_t *reg,
                           const ot_load_options_t *opts, ot_model_t **out);
/* Same from bytes in memory; external data is resolved against `base_dir`
 * (NULL: external data refused). */
ot_status_t *ot_model_load_bytes(const void *bytes, size_t len, const char *base_dir,
                                 const ot_registry_t *reg, const ot_load_options_t *opts,
                                 ot_model_t **out);
/* Writes the model (all tensors inline) atomically: temp file, fsync, rename. */
ot_status_t *ot_model_save(const ot_model_t *model, const char *path);
void ot_model_destroy(ot_model_t *model);

/* Graph inputs that are not initializers, and graph outputs, in graph order. */
int ot_model_num_inputs(const ot_model_t *model);
int ot_model_num_outputs(const ot_model_t *model);
/* Name, dtype and (possibly symbolic: dim < 0) shape. `dim_params` (may be
 * NULL) receives the symbolic names ("" where none). */
ot_status_t *ot_model_input_info(const ot_model_t *model, int i, const char **name,
                                 ot_dtype_t *dtype, ot_shape_t *shape);
ot_status_t *ot_model_output_info(const ot_model_t *model, int i, const char **name,
                                  ot_dtype_t *dtype, ot_shape_t *shape);
/* The value of metadata_props entry `key`, or NULL; owned by the model. */
const char *ot_model_metadata(const ot_model_t *model, const char *key);

/* ---- inference sessions ------------------------------------------------ */

typedef struct ot_session ot_session_t;

/* A session plans `model` for execution; the model must outlive it. Plans
 * are built on the first run for each set of input shapes and cached. */
ot_status_t *ot_session_create(const ot_model_t *model, ot_session_t **out);
void ot_session_destroy(ot_session_t *session);

/* Runs the graph. inputs[i] feeds the i-th model input (ot_model_input_info
 * order); outputs[i] receives a new tensor for the i-th model output, owned
 * by the caller. Tensors whose dtype differs from the input's are refused. */
ot_status_t *ot_session_run(ot_session_t *session, const ot_tensor_t *const *inputs,
                            ot_tensor_t **outputs);
/* Same, without copies: outputs[i] points at the session's own tensor for
 * the i-th model output, valid until the next run of this session or its
 * destruction. Steady-state runs allocate nothing. */
ot_status_t *ot_session_run_borrowed(ot_session_t *session, const ot_tensor_t *const *inputs,
                                     const ot_tensor_t **outputs);

/* ---- preparing a training model ---------------------------------------- */

typedef enum ot_loss_kind {
    OT_LOSS_NONE,          /* the output already is the (scalar) loss */
    OT_LOSS_CROSS_ENTROPY, /* SoftmaxCrossEntropyLoss(logits, int64 labels), mean */
    OT_LOSS_MSE,           /* mean((y - labels)^2) */
    OT_LOSS_L1,            /* mean(|y - labels|) */
    OT_LOSS_BCE_WITH_LOGITS, /* mean(max(y,0) - y*labels + log(1 + exp(-|y|))) */
} ot_loss_kind_t;

typedef struct ot_prepare_options {
    ot_loss_kind_t loss;
    const char *output;       /* the value the loss reads (an output or e.g. the logits before
                                 a final Softmax); NULL: the first output */
    const char *labels;       /* name of the new labels input; NULL: "labels" */
    const char *optimizer;    /* optimizer op of the ai.onnxtrain domain: "SGD", "Adam", "AdamW" */
    int n_optimizer_attrs;    /* its hyperparameters, as node attributes (torch's names, snake_case) */
    const ot_attr_t *optimizer_attrs;
    float lr;                 /* initial learning rate; 0: the optimizer's default (torch's),
                                 an error for SGD, which has none */
    int n_freeze;             /* initializers that stay constant */
    const char *const *freeze;
    bool has_seed;            /* seed Dropout nodes with seed, seed + 1, ... */
    int64_t seed;
    bool unbiased_running_var; /* BatchNormalization running variance as PyTorch keeps it */
    /* Gradient clipping, accumulation, the non-finite guard and parameter
     * groups (runtime/prepare_clip.c). Zero values: the program is as without. */
    float clip_grad_norm;     /* > 0: torch.nn.utils.clip_grad_norm_(params, clip_grad_norm, clip_norm_type) */
    float clip_norm_type;     /* p > 0 or INFINITY; 0: 2 */
    float clip_grad_value;    /* > 0: torch.nn.utils.clip_grad_value_ (before norm clipping when both) */
    int64_t accumulate;       /* > 1: optimizer steps on the mean gradient of this many micro-batches
                                 (train_steps); recorded as metadata "onnxtrain.accumulate" */
    bool skip_nonfinite;      /* an optimizer step whose gradients hold NaN/Inf changes nothing (step,
                                 weights, states) but the counter state "onnxtrain.skipped_steps" */
    int n_no_decay;           /* parameters whose name contains one of these get weight_decay 0 */
    const char *const *no_decay;
    bool no_decay_1d;         /* rank-1 parameters (biases, norm weights) get weight_decay 0 */
    int n_lr_mult;            /* a parameter whose name contains lr_mult_patterns[i] (the first such i)
                                 trains at lr * lr_mult[i] */
    const char *const *lr_mult_patterns;
    const float *lr_mult;
    /* initialization (runtime/prepare_init.c): an `initialization` graph in
     * training_info[0] that `train` runs once, before the first step */
    const char *init;          /* initializer op (OT_OP_INITIALIZER, name matched loosely:
                                  "kaiming_uniform") for every parameter of rank >= 2, with seed
                                  `seed` (0 without has_seed) + its index among them; NULL or
                                  "keep": the weights as they are */
    int n_init_attrs;          /* its own attributes (gain, mode...); not shape/dtype/seed/fans */
    const ot_attr_t *init_attrs;
    bool init_bias_zeros;      /* biases (rank 1, read as Gemm/Conv/ConvTranspose/BatchNormalization/
                                  LayerNormalization input 2 or by Add) start at zero */
    /* learning-rate schedule: ai.onnxtrain::LRSchedule's `schedule` ("cosine", "warmup_linear", ...;
       see ops/lr_schedule.c), NULL: the rate stays `lr`. With one, `lr` is the base rate (state
       'lr.base'; one_cycle's max_lr, which may be given as attribute max_lr instead) and state 'lr'
       holds the rate of the next update: schedule(lr.base, updates done so far). */
    const char *lr_schedule;
    int n_lr_schedule_attrs;  /* its hyperparameters (torch's names: T_max, warmup_steps, milestones...) */
    const ot_attr_t *lr_schedule_attrs;
} ot_prepare_options_t;

/* Turns an inference model into a standard ONNX training model (see
 * runtime/prepare.c for the program it writes): the loss on an output,
 * a labels input, Gradient over every float initializer of rank >= 1 that
 * the graph reads (minus BatchNormalization statistics and `freeze`),
 * gradient accumulators, the optimizer, BatchNormalization and Dropout in
 * training mode. The result is validated (its training session builds)
 * and owned by the caller; `model` and its registry must outlive it. */
ot_status_t *ot_model_prepare(const ot_model_t *model, const ot_prepare_options_t *opts, ot_model_t **out);

/* The inference model of a training model or checkpoint: training_info
 * dropped, BatchNormalization and Dropout back in inference mode, unused
 * initializers and opset imports removed; the weights as they are now.
 * What ONNX Runtime and other inference engines load. Owned by the caller. */
ot_status_t *ot_model_export(const ot_model_t *model, ot_model_t **out);

/* ---- training sessions (ONNX TrainingInfoProto) ---------------------------
 *
 * A model whose ModelProto.training_info holds one or more
 * TrainingInfoProtos is trained step by step. Stage i is the inference
 * graph joined with training_info[i].algorithm (Gradient nodes expanded by
 * autodiff); the initializers named by update_binding and
 * initialization_binding keys are the session's state (weights, optimizer
 * state, counters), read in place by every stage and overwritten by the
 * stage's update_binding outputs after it runs. A step that fails changes
 * no state. */

typedef struct ot_training_session ot_training_session_t;

/* The model must outlive the session. Fails naming the binding or graph at
 * fault when the training program is malformed (a binding to a
 * non-initializer, an output of the wrong type, a key bound twice...). */
ot_status_t *ot_training_session_create(const ot_model_t *model, ot_training_session_t **out);
void ot_training_session_destroy(ot_training_session_t *session);

/* Runs every initialization graph and applies its initialization_binding
 * (the spec's "once, when training starts, or to re-initialize"). */
ot_status_t *ot_training_session_initialize(ot_training_session_t *session);
/* True when the model has initialization graphs and its state is not yet
 * their result: a fresh model, not a checkpoint written by
 * ot_training_session_save after initializing (metadata
 * "onnxtrain.initialized"). */
bool ot_training_session_needs_initialization(const ot_training_session_t *session);

int ot_training_session_num_stages(const ot_training_session_t *session);
/* The inputs callers feed (graph inputs of the algorithm stages that are not
 * state), unique by name, with their declared dtype and (possibly symbolic)
 * shape. Arrays owned by the session. */
void ot_training_session_feeds(const ot_training_session_t *session, int *n, const char *const **names,
                               const ot_tensor_t *const **types);

/* Runs stage `stage` (or every stage in order for -1), feeding each stage's
 * non-state graph inputs by name from names[i] -> values[i]. */
ot_status_t *ot_training_session_step(ot_training_session_t *session, int stage, int n_feeds,
                                      const char *const *names, const ot_tensor_t *const *values);

/* An output (by name) of the stage that ran last, else of the other stages'
 * latest runs; valid until that stage runs again. */
ot_status_t *ot_training_session_output(const ot_training_session_t *session, const char *name,
                                        const ot_tensor_t **out);

/* The state, in the order bindings first name it; tensors owned by the session. */
int ot_training_session_num_state(const ot_training_session_t *session);
ot_status_t *ot_training_session_state_at(const ot_training_session_t *session, int i, const char **name,
                                          const ot_tensor_t **value);
ot_status_t *ot_training_session_get_state(const ot_training_session_t *session, const char *name,
                                           const ot_tensor_t **out);
/* Overwrites a state tensor (same dtype and shape) with a copy of `value`. */
ot_status_t *ot_training_session_set_state(ot_training_session_t *session, const char *name,
                                           const ot_tensor_t *value);
/* Full steps taken (runs of the last stage) since the session was created. */
int64_t ot_training_session_steps(const ot_training_session_t *session);

/* ONNX Runtime's loop, for models written by ot_model_prepare (stage 0:
 * loss + gradient accumulation, stage 1: optimizer):
 * train_step runs stage 0 and returns output 'loss' (gradients accumulate
 * across calls until an optimizer step or reset_grad); optimizer_step runs
 * the later stages; reset_grad makes the next train_step overwrite the
 * accumulated gradients (lazily, as ORT's lazy_reset_grad); lr is the
 * float state 'lr'. */
ot_status_t *ot_training_session_train_step(ot_training_session_t *session, int n_feeds, const char *const *names,
                                            const ot_tensor_t *const *values, float *loss);
ot_status_t *ot_training_session_optimizer_step(ot_training_session_t *session);
/* The inference-mode forward (BatchNormalization on running statistics,
 * no Dropout) on the current weights, with the loss of training_info[0]:
 * changes no state; the model's outputs and 'loss' are then readable with
 * ot_training_session_output. */
ot_status_t *ot_training_session_eval_step(ot_training_session_t *session, int n_feeds, const char *const *names,
                                           const ot_tensor_t *const *values, float *loss);
ot_status_t *ot_training_session_reset_grad(ot_training_session_t *session);
/* get_lr: the rate the next optimizer step uses (state 'lr'). set_lr sets the
 * base rate: with a learning-rate schedule (state 'lr.base', written by
 * prepare --lr-schedule) it sets 'lr.base' and 'lr' = the schedule's rate at
 * the current step from it, so the schedule goes on from the new base;
 * without one it sets 'lr'. */
ot_status_t *ot_training_session_get_lr(const ot_training_session_t *session, float *lr);
ot_status_t *ot_training_session_set_lr(ot_training_session_t *session, float lr);

/* Writes the model with the current state in its initializers (inference
 * graph and algorithm graphs), atomically: a checkpoint that trains on. */
ot_status_t *ot_training_session_save(const ot_training_session_t *session, const char *path);

/* ---- ONNX Runtime training artifacts -------------------------------------
 *
 * ORT's on-device training form: a folder with training_model.onnx,
 * eval_model.onnx (optional), the optimizer model (optimizer_model.onnx or
 * adamw.onnx) and the checkpoint (checkpoint or checkpoint.ckpt), trained
 * with ORT's API: train_step accumulates gradients, optimizer_step applies
 * the optimizer model (AdamWOptimizer adam_mode 0 and 1, or SGDOptimizerV2,
 * optionally after InplaceClipGradNorm), lazy_reset_grad makes the next
 * train_step overwrite the accumulated gradients, eval_step runs the eval
 * model on the current parameters. */

typedef struct ot_ort_session ot_ort_session_t;

ot_status_t *ot_ort_session_create(const char *dir, ot_ort_session_t **out);
void ot_ort_session_destroy(ot_ort_session_t *session);
/* Feeds the training model's own inputs by name (data, labels); the
 * parameters, gradient buffers and lazy_reset_grad come from the session.
 * *loss (may be NULL) receives the training model's first output. */
ot_status_t *ot_ort_session_train_step(ot_ort_session_t *session, int n_feeds, const char *const *names,
                                       const ot_tensor_t *const *values, float *loss);
ot_status_t *ot_ort_session_optimizer_step(ot_ort_session_t *session);
/* eval_model.onnx on the current parameters (no gradients, nothing
 * updated); feeds as train_step; *loss (may be NULL) its first output. */
ot_status_t *ot_ort_session_eval_step(ot_ort_session_t *session, int n_feeds, const char *const *names,
                                      const ot_tensor_t *const *values, float *loss);
void ot_ort_session_lazy_reset_grad(ot_ort_session_t *session);
/* The training model's inputs callers feed (not parameters, buffers or the
 * reset flag): *n of them; names/types (arrays of at least as many entries,
 * or NULL) receive pointers owned by the session. */
void ot_ort_session_feeds(const ot_ort_session_t *session, int *n, const char **names, const ot_tensor_t **types);
void ot_ort_session_set_lr(ot_ort_session_t *session, float lr);
float ot_ort_session_get_lr(const ot_ort_session_t *session);
int64_t ot_ort_session_step_count(const ot_ort_session_t *session);
/* Writes an ORT checkpoint (version 2) with the parameters and the
 * optimizer state under ORT's names (momentum0, momentum1). */
ot_status_t *ot_ort_session_save_checkpoint(const ot_ort_session_t *session, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_ONNXTRAIN_H */
