/* ops/lr_schedule.h: ai.onnxtrain::LRSchedule's formulas for the runtime
 * (not part of the plugin ABI): `prepare` computes the initial rate with
 * them and training sessions keep `lr` consistent when the base rate is set
 * (ot_training_session_set_lr). The op itself: ops/lr_schedule.c. */
#ifndef ONNXTRAIN_LR_SCHEDULE_H
#define ONNXTRAIN_LR_SCHEDULE_H

#include "onnxtrain/plugin.h"

/* The rate after `step` scheduler steps (torch's get_last_lr() after `step`
 * calls of scheduler.step()) for an LRSchedule node with these attributes,
 * from base rate `base_lr` (float32, widened as the op widens it).
 * Validates the attributes as the op's inference does: errors name the node
 * and the attribute. */
ot_status_t *ot_lr_schedule_eval(const ot_node_info_t *node, float base_lr, int64_t step, double *lr);

#endif
