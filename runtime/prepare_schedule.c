/* runtime/prepare_schedule.c: `prepare --lr-schedule`, the learning rate as
 * a function of the step inside the optimizer stage (training_info[1]), so
 * a schedule is a tensor computed per step and nothing is re-planned:
 *
 *   lr.base  state: the base rate (--lr, or one_cycle's max_lr)
 *   lr       state: the rate of the next update, initially schedule(0)
 *   lr.next      = ai.onnxtrain::LRSchedule(lr.base, step.next)  -> lr
 *   lr.base.next = Identity(lr.base)                              -> lr.base
 *
 * Update k (step.next = k) reads `lr` = schedule(k - 1), the rate of torch's
 * k-th optimizer.step() after k - 1 scheduler.step() calls, and leaves
 * schedule(k) for update k + 1. lr.base is bound (to itself) only to make it
 * state: ot_training_session_set_lr changes it. Without a schedule prepare.c
 * writes Identity(lr) -> lr instead and the model is as it always was. */
#include "runtime/prepare.h"
#include "ops/lr_schedule.h"
#include "ops/op_util.h"

#include <string.h>

static bool is_one_cycle(const ot_prepare_options_t *o) { return !strcmp(o->lr_schedule, "one_cycle"); }

/* one_cycle's max_lr is its base rate: taken out of the attributes so that
 * setting the base rate moves the cycle. */
static const ot_attr_t *max_lr(const ot_prepare_options_t *o) {
    for (int a = 0; is_one_cycle(o) && a < o->n_lr_schedule_attrs; a++) {
        const ot_attr_t *at = &o->lr_schedule_attrs[a];
        if (!strcmp(at->name, "max_lr") && at->type == OT_ATTR_FLOAT) return at;
    }
    return NULL;
}

float prep_schedule_base_lr(const ot_prepare_options_t *o, float lr) {
    const ot_attr_t *m = max_lr(o);
    return m ? m->f : lr;
}

ot_status_t *prep_schedule(prep_t *p, float base_lr) {
    const ot_prepare_options_t *o = p->o;
    const ot_attr_t *m = max_lr(o);
    if (m && o->lr != 0 && o->lr != m->f)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                "--lr-schedule one_cycle: max_lr (%g) is its base rate; --lr %g differs (give one)",
                                (double)m->f, (double)o->lr);
    /* the node's attributes: `schedule` and the options but max_lr */
    int n = 0;
    ot_attr_t *attrs = pb_alloc(&p->b, sizeof *attrs * (size_t)(o->n_lr_schedule_attrs + 1));
    if (!attrs) return prep_oom();
    attrs[n++] = (ot_attr_t){
        .name = "schedule", .type = OT_ATTR_STRING, .s = o->lr_schedule, .s_len = strlen(o->lr_schedule)};
    for (int a = 0; a < o->n_lr_schedule_attrs; a++)
        if (&o->lr_schedule_attrs[a] != m) attrs[n++] = o->lr_schedule_attrs[a];
    ot_node_info_t info = {.name = "onnxtrain/LRSchedule/lr.next", .op_type = "LRSchedule", .domain = OT_DOMAIN,
                           .opset = 1, .n_attrs = n, .attrs = attrs};
    /* checks the attributes now, with the CLI's words, and gives the first rate */
    double lr0 = 0;
    ot_status_t *st = ot_lr_schedule_eval(&info, base_lr, 0, &lr0);
    if (st) return ot_status_wrap(st, "--lr-schedule %s", o->lr_schedule);

    ot_shape_t scalar = {0, {0}};
    float first = (float)lr0;
    ot_tensor_t base_t = {OT_DTYPE_FLOAT, scalar, &base_lr}, first_t = {OT_DTYPE_FLOAT, scalar, &first};
    prep_init(p, &p->opt, "lr", &first_t);
    prep_init(p, &p->opt, "lr.base", &base_t);
    const char *in[] = {"lr.base", "step.next"}, *out[] = {"lr.next"};
    const char *id_in[] = {"lr.base"}, *id_out[] = {"lr.base.next"};
    Onnx__NodeProto *node = prep_node(p, &p->opt, OT_DOMAIN, "LRSchedule", 2, in, 1, out);
    prep_node(p, &p->opt, "", "Identity", 1, id_in, 1, id_out);
    prep_bind(p, &p->opt, "lr.base", "lr.base.next", OT_DTYPE_FLOAT, &scalar);
    return node ? prep_attrs(p, node, n, attrs, "--lr-schedule attribute") : prep_oom();
}
