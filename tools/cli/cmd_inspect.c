/* tools/cli/cmd_inspect.c: `onnxtrain inspect MODEL`: what a model holds and
 * whether we can run it. Loads with unknown ops allowed so it can report
 * them instead of stopping at the first. Reads the IR directly. */
#include "tools/cli/cli.h"
#include "runtime/ir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_value(const ot_value_t *v) {
    printf("  %-24s %s (", v->name, v->has_type ? ot_dtype_name(v->type.dtype) : "?");
    if (v->type.shape.rank < 0) printf("unknown rank");
    for (int d = 0; d < v->type.shape.rank; d++) {
        if (d) printf(", ");
        if (v->dim_params[d] && *v->dim_params[d]) printf("%s", v->dim_params[d]);
        else if (v->type.shape.dims[d] < 0) printf("?");
        else printf("%" PRId64, v->type.shape.dims[d]);
    }
    printf(")\n");
}

typedef struct op_count {
    const char *domain, *op_type;
    int count;
    bool supported;
} op_count_t;

static int by_count(const void *a, const void *b) {
    const op_count_t *x = a, *y = b;
    return x->count != y->count ? y->count - x->count : strcmp(x->op_type, y->op_type);
}

int cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: onnxtrain inspect MODEL.onnx [--plugin LIB.so]\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "usage: onnxtrain inspect MODEL.onnx [--plugin LIB.so]\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: onnxtrain inspect MODEL.onnx [--plugin LIB.so]\n");
        return 2;
    }
    ot_registry_t *reg = NULL;
    ot_model_t *m = NULL;
    ot_status_t *st = cli_registry_create(&reg);
    ot_load_options_t opts = {.allow_unknown_ops = true};
    if (!st) st = ot_model_load(path, reg, &opts, &m);
    if (st) {
        ot_registry_destroy(reg);
        return cli_fail(st, path);
    }
    const ot_graph_t *g = &m->graph;
    printf("model: %s\n", path);
    printf("ir_version: %" PRId64 "   producer: %s %s\n", m->ir_version, m->producer_name ? m->producer_name : "",
           m->producer_version ? m->producer_version : "");
    printf("opsets:");
    for (int i = 0; i < m->n_opsets; i++)
        printf(" %s=%" PRId64, *m->opsets[i].domain ? m->opsets[i].domain : "ai.onnx", m->opsets[i].version);
    printf("\n");
    if (m->n_training_info) printf("training_info: %d TrainingInfoProto\n", m->n_training_info);
    printf("inputs:\n");
    for (int k = 0; k < g->n_inputs; k++)
        if (!g->values[g->inputs[k]].is_initializer) print_value(&g->values[g->inputs[k]]);
    printf("outputs:\n");
    for (int k = 0; k < g->n_outputs; k++) print_value(&g->values[g->outputs[k]]);

    int64_t n_params = 0;
    for (int k = 0; k < g->n_initializers; k++) {
        int64_t n = ot_shape_numel(&g->values[g->initializers[k]].type.shape);
        if (n > 0) n_params += n;
    }
    printf("initializers: %d tensors, %" PRId64 " elements\n", g->n_initializers, n_params);

    op_count_t *ops = calloc((size_t)g->n_nodes + 1, sizeof *ops);
    int n_ops = 0, n_unsupported = 0;
    for (int i = 0; ops && i < g->n_nodes; i++) {
        const ot_node_t *n = &g->nodes[i];
        int j = 0;
        while (j < n_ops && (strcmp(ops[j].op_type, n->info.op_type) || strcmp(ops[j].domain, n->info.domain))) j++;
        if (j == n_ops) ops[n_ops++] = (op_count_t){n->info.domain, n->info.op_type, 0, n->op != NULL};
        ops[j].count++;
    }
    if (ops) qsort(ops, (size_t)n_ops, sizeof *ops, by_count);
    printf("nodes: %d\n", g->n_nodes);
    for (int j = 0; j < n_ops; j++) {
        printf("  %5d  %s%s%s%s\n", ops[j].count, ops[j].domain, *ops[j].domain ? "::" : "", ops[j].op_type,
               ops[j].supported ? "" : "   (unsupported)");
        n_unsupported += !ops[j].supported;
    }
    if (n_unsupported) {
        printf("unsupported ops:");
        for (int j = 0; j < n_ops; j++)
            if (!ops[j].supported) printf(" %s%s%s", ops[j].domain, *ops[j].domain ? "::" : "", ops[j].op_type);
        printf("\n");
    } else {
        printf("unsupported ops: none\n");
    }
    free(ops);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    return 0;
}
