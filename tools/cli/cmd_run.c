/* tools/cli/cmd_run.c: `onnxtrain run`, inference on tensors from files.
 *   onnxtrain run MODEL --input-dir DIR --output-dir OUT
 *   onnxtrain run MODEL --input NAME=FILE ... [--output-dir OUT]
 * DIR/input_K.pb feeds the K-th non-initializer graph input; the K-th graph
 * output is written to OUT/output_K.pb (TensorProto). FILE is .pb or .npy. */
#include "tools/cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(ot_status_t *st, const char *what) {
    fprintf(stderr, "onnxtrain: %s: %s [%s]\n", what, ot_status_message(st), ot_code_name(ot_status_code(st)));
    ot_status_free(st);
    return 1;
}

void cli_print_tensor(const char *name, const ot_tensor_t *t) {
    printf("%s: %s (", name, ot_dtype_name(t->dtype));
    for (int d = 0; d < t->shape.rank; d++) printf("%s%" PRId64, d ? ", " : "", t->shape.dims[d]);
    printf(")");
    int64_t n = ot_shape_numel(&t->shape);
    int64_t show = n < 10 ? n : 10;
    printf(" [");
    for (int64_t i = 0; i < show; i++) {
        const char *sep = i ? ", " : "";
        switch (t->dtype) {
        case OT_DTYPE_FLOAT: printf("%s%.7g", sep, ((const float *)t->data)[i]); break;
        case OT_DTYPE_DOUBLE: printf("%s%.15g", sep, ((const double *)t->data)[i]); break;
        case OT_DTYPE_INT64: printf("%s%" PRId64, sep, ((const int64_t *)t->data)[i]); break;
        case OT_DTYPE_INT32: printf("%s%" PRId32, sep, ((const int32_t *)t->data)[i]); break;
        case OT_DTYPE_BOOL:
        case OT_DTYPE_UINT8: printf("%s%u", sep, ((const uint8_t *)t->data)[i]); break;
        default: printf("%s?", sep); break;
        }
    }
    printf("%s]\n", n > show ? ", ..." : "");
    /* (N, C) scores: the class each row picks */
    if (t->dtype == OT_DTYPE_FLOAT && t->shape.rank == 2 && t->shape.dims[1] > 1) {
        printf("  argmax per row:");
        for (int64_t r = 0; r < t->shape.dims[0] && r < 32; r++) {
            const float *row = (const float *)t->data + r * t->shape.dims[1];
            int64_t best = 0;
            for (int64_t c = 1; c < t->shape.dims[1]; c++)
                if (row[c] > row[best]) best = c;
            printf(" %" PRId64, best);
        }
        printf("%s\n", t->shape.dims[0] > 32 ? " ..." : "");
    }
}

/* mkdir -p: creates `path` and its missing parents. */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    return 0;
}

static void run_usage(FILE *f) {
    fprintf(f, "usage: onnxtrain run MODEL.onnx (--input-dir DIR | --input NAME=FILE ...) [--output-dir OUT] "
               "[--plugin LIB.so] [--quiet]\n"
               "  --input-dir DIR    read DIR/input_K.pb as the K-th graph input\n"
               "  --input NAME=FILE  feed graph input NAME from FILE (.pb TensorProto or .npy)\n"
               "  --output-dir OUT   write the K-th graph output to OUT/output_K.pb\n"
               "  --plugin LIB.so    load ops from a plugin library first\n"
               "  --quiet            do not print the outputs\n");
}

int cmd_run(int argc, char **argv) {
    const char *model_path = NULL, *input_dir = NULL, *output_dir = NULL;
    const char *named[256];
    int n_named = 0, quiet = 0, rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--input-dir") && i + 1 < argc) input_dir = argv[++i];
        else if (!strcmp(a, "--output-dir") && i + 1 < argc) output_dir = argv[++i];
        else if (!strcmp(a, "--input") && i + 1 < argc && n_named < 256) named[n_named++] = argv[++i];
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] != '-' && !model_path) model_path = a;
        else {
            fprintf(stderr, "onnxtrain run: unexpected argument '%s'\n", a);
            run_usage(stderr);
            return 2;
        }
    }
    if (!model_path) {
        run_usage(stderr);
        return 2;
    }
    ot_registry_t *reg = NULL;
    ot_model_t *model = NULL;
    ot_session_t *sess = NULL;
    ot_tensor_t **inputs = NULL, **outputs = NULL;
    int n_in = 0, n_out = 0;
    ot_status_t *st = cli_registry_create(&reg);
    if (st) return cli_fail(st, "registry");
    if ((st = ot_model_load(model_path, reg, NULL, &model))) {
        rc = cli_fail(st, model_path);
        goto out;
    }
    n_in = ot_model_num_inputs(model);
    n_out = ot_model_num_outputs(model);
    inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    outputs = calloc((size_t)n_out + 1, sizeof *outputs);
    if (!inputs || !outputs) {
        fprintf(stderr, "onnxtrain run: out of memory\n");
        goto out;
    }
    for (int k = 0; k < n_in; k++) {
        const char *name;
        ot_dtype_t dt;
        ot_shape_t shape;
        ot_model_input_info(model, k, &name, &dt, &shape);
        char path[4096];
        const char *file = NULL;
        for (int j = 0; j < n_named; j++) {
            size_t len = strlen(name);
            if (!strncmp(named[j], name, len) && named[j][len] == '=') file = named[j] + len + 1;
        }
        if (!file && input_dir) {
            snprintf(path, sizeof path, "%s/input_%d.pb", input_dir, k);
            file = path;
        }
        if (!file) {
            fprintf(stderr, "onnxtrain run: no value for graph input '%s' (use --input %s=FILE or --input-dir)\n",
                    name, name);
            goto out;
        }
        if ((st = ot_tensor_load(file, &inputs[k]))) {
            char what[512];
            snprintf(what, sizeof what, "input '%s'", name);
            rc = cli_fail(st, what);
            goto out;
        }
    }
    for (int j = 0; j < n_named; j++) {
        int found = 0;
        for (int k = 0; k < n_in && !found; k++) {
            const char *name;
            ot_model_input_info(model, k, &name, NULL, NULL);
            size_t len = strlen(name);
            found = !strncmp(named[j], name, len) && named[j][len] == '=';
        }
        if (!found) {
            fprintf(stderr, "onnxtrain run: --input '%s' names no graph input of %s\n", named[j], model_path);
            goto out;
        }
    }
    if (output_dir && make_dirs(output_dir) != 0) {
        fprintf(stderr, "onnxtrain run: cannot create output folder '%s': %s\n", output_dir, strerror(errno));
        goto out;
    }
    if ((st = ot_session_create(model, &sess)) ||
        (st = ot_session_run(sess, (const ot_tensor_t *const *)inputs, outputs))) {
        rc = cli_fail(st, model_path);
        goto out;
    }
    for (int k = 0; k < n_out; k++) {
        const char *name;
        ot_model_output_info(model, k, &name, NULL, NULL);
        if (!quiet) cli_print_tensor(name, outputs[k]);
        if (output_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/output_%d.pb", output_dir, k);
            if ((st = ot_tensor_save_pb(outputs[k], name, path))) {
                rc = cli_fail(st, path);
                goto out;
            }
        }
    }
    rc = 0;
out:
    for (int k = 0; inputs && k < n_in; k++) ot_tensor_destroy(inputs[k]);
    for (int k = 0; outputs && k < n_out; k++) ot_tensor_destroy(outputs[k]);
    free(inputs);
    free(outputs);
    ot_session_destroy(sess);
    ot_model_destroy(model);
    ot_registry_destroy(reg);
    return rc;
}
