/* tools/cli/cli_attrs.h: command-line flags that set an op's attributes,
 * typed by the op's schema in the registry, so plugin ops get flags too
 * (`prepare`'s optimizer hyperparameters, --lr-schedule's arguments,
 * --init-ATTR). A flag is the attribute's name in kebab case, letters in
 * any case (--weight-decay: weight_decay, --t-max: T_max). Values: FLOAT
 * a number; INT a number, true or false, or nothing (the flag alone:
 * --nesterov, --three-phase); FLOATS and INTS comma-separated (--betas
 * 0.9,0.999, --milestones 10,20); STRING as given. */
#ifndef ONNXTRAIN_CLI_ATTRS_H
#define ONNXTRAIN_CLI_ATTRS_H

#include "onnxtrain/onnxtrain.h"

#define CLI_MAX_ATTRS 32
#define CLI_MAX_LIST 64

typedef struct cli_attrs {
    int n;
    ot_attr_t attrs[CLI_MAX_ATTRS]; /* names point into the op's schema, strings into argv */
    float floats[CLI_MAX_ATTRS][CLI_MAX_LIST];
    int64_t ints[CLI_MAX_ATTRS][CLI_MAX_LIST];
} cli_attrs_t;

/* The attribute of `op` (NULL: none) that `flag` (without its dashes and
 * prefix) names, or NULL. */
const ot_attr_spec_t *cli_attr_find(const ot_op_def_t *op, const char *flag);
/* Appends attribute `spec` with `value` (NULL: the flag was given alone)
 * to a. On a bad value prints "onnxtrain prepare: SHOWN: bad value 'V'"
 * (SHOWN: the flag as typed) and returns false. */
bool cli_attr_add(cli_attrs_t *a, const ot_attr_spec_t *spec, const char *shown, const char *value);

#endif
