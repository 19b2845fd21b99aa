/* runtime/validate.c: placeholder until the validator lands. */
#include "runtime/ir.h"

ot_status_t *ot_model_validate(ot_model_t *m, bool allow_unknown_ops) {
    (void)m;
    (void)allow_unknown_ops;
    return NULL;
}
