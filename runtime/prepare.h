/* runtime/prepare.h: the builder behind ot_model_prepare (runtime/prepare.c),
 * shared by the files that add parts of the training program
 * (runtime/prepare_*.c: schedules, clipping, initialization...).
 *
 * Everything is built on the protobuf in one arena; a failed allocation
 * sets p->b.oom and the builders become no-ops, checked once at the end. */
#ifndef ONNXTRAIN_PREPARE_H
#define ONNXTRAIN_PREPARE_H

#include "runtime/pb_build.h"

/* A graph being built: the inference graph (ti == NULL) or the algorithm
 * of one TrainingInfoProto, with the capacities of its growable arrays. */
typedef struct prep_stage {
    Onnx__GraphProto *g;
    Onnx__TrainingInfoProto *ti;
    size_t cap_node, cap_init, cap_input, cap_output, cap_binding;
} prep_stage_t;

typedef struct prep {
    pb_t b;
    Onnx__ModelProto *mp;                   /* the model being turned into a training model */
    const ot_model_t *m;                    /* the same model, loaded (for types and shapes) */
    const ot_prepare_options_t *o;
    prep_stage_t main;                      /* the inference graph */
    prep_stage_t grad;                      /* training_info[0]: loss, Gradient, accumulation */
    prep_stage_t opt;                       /* training_info[1]: the optimizer step */
    int n_params;
    const char **params;                    /* the trainable initializers */
    const ot_value_t **param_values;        /* their values in p->m */
} prep_t;

ot_status_t *prep_oom(void);
/* a + b, in the arena */
char *prep_cat(prep_t *p, const char *a, const char *b);
/* A node named "onnxtrain/<op>/<first output>" appended to s. */
Onnx__NodeProto *prep_node(prep_t *p, prep_stage_t *s, const char *domain, const char *op, int n_in,
                           const char *const *in, int n_out, const char *const *out);
/* An initializer of s holding a copy of t. */
void prep_init(prep_t *p, prep_stage_t *s, const char *name, const ot_tensor_t *t);
/* An initializer of s filled with `value`. */
void prep_fill(prep_t *p, prep_stage_t *s, const char *name, ot_dtype_t dt, const ot_shape_t *shape, double value);
/* A typed output of s (onnx.checker wants types on outputs). */
void prep_output(prep_t *p, prep_stage_t *s, const char *name, ot_dtype_t dt, const ot_shape_t *shape);
/* key <- value in s's update_binding, value declared an output of s, of key's type. */
void prep_bind(prep_t *p, prep_stage_t *s, const char *key, const char *value, ot_dtype_t dt, const ot_shape_t *shape);
/* An opset import of `domain` (NULL or "": ai.onnx) at `version`, unless the model has one. */
void prep_import(prep_t *p, const char *domain, int64_t version);
/* The optimizer attribute `name` given in the options, or NULL. */
const ot_attr_t *prep_option_attr(const ot_prepare_options_t *o, const char *name);

/* ---- gradient clipping, accumulation, non-finite guard, parameter groups (prepare_clip.c) ---- */
/* The value stage [0]'s lazy reset compares onnxtrain.grad_step with: "step",
 * or under the guard, steps taken + skipped. */
const char *prep_clip_grad_counter(prep_t *p);
/* Checks the options; routes the gradients of optimizer node `on` (with
 * n_states states) through accumulation scaling and clipping; splits it
 * into one node per parameter group. */
ot_status_t *prep_clip_optimizer(prep_t *p, const ot_op_def_t *opt, Onnx__NodeProto *on, int n_states);
/* Once stage [1] is complete: the non-finite guard over its bindings, the
 * accumulation metadata. */
ot_status_t *prep_clip_finish(prep_t *p);
/* Copies attrs onto node n (FLOAT, INT, STRING, FLOATS, INTS); `what` names
 * them in the error for another type ("optimizer attribute 'x'"). */
ot_status_t *prep_attrs(prep_t *p, Onnx__NodeProto *n, int n_attrs, const ot_attr_t *attrs, const char *what);
/* training_info[0].initialization from o->init and o->init_bias_zeros
 * (runtime/prepare_init.c); nothing when both keep the model's values. */
ot_status_t *prep_initialization(prep_t *p);
/* ---- learning-rate schedules (runtime/prepare_schedule.c) ---- */
/* The base rate of --lr-schedule given the optimizer's rate: one_cycle's max_lr when given. */
float prep_schedule_base_lr(const ot_prepare_options_t *o, float lr);
/* In the optimizer stage: states lr = schedule(0) and lr.base, lr.next = LRSchedule(lr.base, step.next). */
ot_status_t *prep_schedule(prep_t *p, float base_lr);

#endif
