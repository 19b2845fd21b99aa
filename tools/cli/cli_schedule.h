/* tools/cli/cli_schedule.h: the flags of `prepare --lr-schedule NAME`.
 * Each is an attribute of ai.onnxtrain::LRSchedule in kebab case
 * (--warmup-steps -> warmup_steps, --t-max -> T_max), typed by the op's
 * schema: INT (given alone: 1, as --three-phase), FLOAT, INTS (a,b,c),
 * STRING. Which flags a schedule takes is checked by prepare (the op). */
#ifndef ONNXTRAIN_CLI_SCHEDULE_H
#define ONNXTRAIN_CLI_SCHEDULE_H

#include "onnxtrain/onnxtrain.h"

#define CLI_SCHEDULE_MAX_ATTRS 16
#define CLI_SCHEDULE_MAX_INTS 64

typedef struct cli_schedule {
    int n;
    ot_attr_t attrs[CLI_SCHEDULE_MAX_ATTRS]; /* names point into the op's schema, strings into argv */
    int64_t ints[CLI_SCHEDULE_MAX_ATTRS][CLI_SCHEDULE_MAX_INTS];
} cli_schedule_t;

/* `flag` (without "--") given with `value` (NULL: none). Returns 0 when it
 * names no LRSchedule attribute; 1 when parsed into s; 2 when it is one but
 * bad or `schedule` (--lr-schedule's value) is NULL: a message is printed. */
int cli_schedule_flag(const ot_registry_t *reg, const char *schedule, const char *flag, const char *value,
                      cli_schedule_t *s);

#endif
