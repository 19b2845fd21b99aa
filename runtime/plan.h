/* runtime/plan.h: an execution plan for one graph at one set of input
 * shapes. Built once (shapes bound, constants folded, kernels set up,
 * activations placed in one arena by liveness) and then run many times
 * without allocating. */
#ifndef ONNXTRAIN_PLAN_H
#define ONNXTRAIN_PLAN_H

#include "runtime/ir.h"

typedef struct ot_plan ot_plan_t;

typedef struct ot_plan_stats {
    int n_steps;          /* kernels run per execution */
    int n_folded;         /* nodes evaluated once at plan time */
    size_t arena_bytes;   /* activation arena after liveness packing */
    size_t naive_bytes;   /* sum of all activation sizes (no reuse) */
} ot_plan_stats_t;

/* Plans graph `g` of `model` for the given graph-input tensors (types and
 * shapes; data is not read except for inputs whose values shape the graph,
 * which is not supported: such inputs must be initializers). `inputs[i]`
 * feeds g's i-th non-initializer input. engine/stream: dnnl handles. */
ot_status_t *ot_plan_create(const ot_model_t *model, const ot_tensor_t *const *inputs, void *engine,
                            void *stream, ot_plan_t **out);
void ot_plan_destroy(ot_plan_t *plan);

/* True if the plan was built for inputs of exactly these dtypes/shapes. */
bool ot_plan_matches(const ot_plan_t *plan, const ot_tensor_t *const *inputs);

/* Runs every planned kernel; inputs' data is read in place (not copied). */
ot_status_t *ot_plan_run(ot_plan_t *plan, const ot_tensor_t *const *inputs);

/* The tensor of value `v` after a run (data valid until the next run). */
const ot_tensor_t *ot_plan_value(const ot_plan_t *plan, int v);

void ot_plan_get_stats(const ot_plan_t *plan, ot_plan_stats_t *stats);

#endif
