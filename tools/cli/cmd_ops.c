/* tools/cli/cmd_ops.c: `onnxtrain ops`: the coverage report, one line per
 * registered op record (docs/ops.md is generated from `--markdown`). */
#include "tools/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b) {
    const ot_op_def_t *x = *(const ot_op_def_t *const *)a, *y = *(const ot_op_def_t *const *)b;
    int c = strcmp(x->domain ? x->domain : "", y->domain ? y->domain : "");
    if (!c) c = strcmp(x->op_type, y->op_type);
    return c ? c : x->since_version - y->since_version;
}

int cmd_ops(int argc, char **argv) {
    bool markdown = argc > 1 && !strcmp(argv[1], "--markdown");
    ot_registry_t *reg;
    ot_status_t *st = cli_registry_create(&reg);
    if (st) return cli_fail(st, "registry");
    int n = ot_registry_count(reg);
    const ot_op_def_t **ops = malloc((size_t)n * sizeof *ops);
    if (!ops) {
        ot_registry_destroy(reg);
        return 1;
    }
    for (int i = 0; i < n; i++) ops[i] = ot_registry_get(reg, i);
    qsort(ops, (size_t)n, sizeof *ops, by_name);
    if (markdown)
        printf("| domain | op | opsets | forward | backward | oneDNN |\n|---|---|---|---|---|---|\n");
    else
        printf("%-26s %-28s %-8s %-8s %-9s %s\n", "domain", "op", "opsets", "forward", "backward", "oneDNN");
    for (int i = 0; i < n; i++) {
        const ot_op_def_t *o = ops[i];
        const char *dom = o->domain && *o->domain ? o->domain : "ai.onnx";
        /* the record serves opsets from since_version up to the next record's */
        int until = 0;
        if (i + 1 < n && !strcmp(ops[i + 1]->op_type, o->op_type) &&
            !strcmp(ops[i + 1]->domain ? ops[i + 1]->domain : "", o->domain ? o->domain : ""))
            until = ops[i + 1]->since_version - 1;
        char range[32];
        if (until) snprintf(range, sizeof range, "%d-%d", o->since_version, until);
        else snprintf(range, sizeof range, "%d+", o->since_version);
        const char *bwd = o->gradient ? "yes" : "-", *dnn = (o->flags & OT_OP_ONEDNN) ? "yes" : "-";
        if (markdown) printf("| %s | %s | %s | yes | %s | %s |\n", dom, o->op_type, range, bwd, dnn);
        else printf("%-26s %-28s %-8s %-8s %-9s %s\n", dom, o->op_type, range, "yes", bwd, dnn);
    }
    free(ops);
    ot_registry_destroy(reg);
    return 0;
}
