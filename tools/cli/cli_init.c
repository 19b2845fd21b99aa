/* tools/cli/cli_init.c: the `--init-ATTR VALUE` flags of `onnxtrain prepare`
 * (see runtime/prepare_init.c), typed by the initializer op's attribute
 * schema, so a plugin initializer gets flags too. */
#include "tools/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_init_attrs(const ot_op_def_t *init, int n, const char *const *flags, const char *const *values,
                   ot_attr_t *attrs, char (*names)[64]) {
    for (int f = 0; f < n; f++) {
        const char *flag = flags[f], *v = values[f]; /* flag: "gain" of --init-gain */
        size_t len = strlen(flag);
        if (len >= 64) len = 63;
        for (size_t c = 0; c < len; c++) names[f][c] = flag[c] == '-' ? '_' : flag[c];
        names[f][len] = 0;
        const ot_attr_spec_t *spec = NULL;
        for (const ot_attr_spec_t *s = init->attrs; s && s->name; s++)
            if (!strcmp(s->name, names[f])) spec = s;
        if (!spec) {
            fprintf(stderr, "onnxtrain prepare: initializer %s has no attribute --init-%s\n", init->op_type, flag);
            return 2;
        }
        ot_attr_t *at = &attrs[f];
        memset(at, 0, sizeof *at);
        at->name = names[f];
        at->type = spec->type;
        char *end = NULL;
        bool ok = v != NULL;
        if (ok && spec->type == OT_ATTR_INT) {
            at->i = strtoll(v, &end, 10);
            ok = *v && !*end;
        } else if (ok && spec->type == OT_ATTR_FLOAT) {
            at->f = strtof(v, &end);
            ok = *v && !*end;
        } else if (ok && spec->type == OT_ATTR_STRING) {
            at->s = v;
            at->s_len = strlen(v);
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "onnxtrain prepare: --init-%s: bad value '%s'\n", flag, v ? v : "");
            return 2;
        }
    }
    return 0;
}
