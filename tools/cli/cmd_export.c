/* tools/cli/cmd_export.c: `onnxtrain export CKPT.onnx -o MODEL.onnx`, the
 * inference model of a training model or checkpoint (ot_model_export). */
#include "tools/cli/cli.h"

#include <stdio.h>
#include <string.h>

int cmd_export(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: onnxtrain export CKPT.onnx -o MODEL.onnx [--plugin LIB.so]\n"
                   "Writes the inference model of a training model or checkpoint: training_info dropped,\n"
                   "BatchNormalization and Dropout in inference mode, the trained weights.\n");
            return 0;
        } else if (!in && argv[i][0] != '-') in = argv[i];
        else {
            fprintf(stderr, "usage: onnxtrain export CKPT.onnx -o MODEL.onnx [--plugin LIB.so]\n");
            return 2;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: onnxtrain export CKPT.onnx -o MODEL.onnx [--plugin LIB.so]\n");
        return 2;
    }
    ot_registry_t *reg = NULL;
    ot_model_t *m = NULL, *exported = NULL;
    ot_status_t *st = cli_registry_create(&reg);
    if (!st) st = ot_model_load(in, reg, NULL, &m);
    if (!st) st = ot_model_export(m, &exported);
    if (!st) st = ot_model_save(exported, out);
    ot_model_destroy(exported);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    if (st) return cli_fail(st, in);
    printf("wrote %s\n", out);
    return 0;
}
