/* tools/cli/main.c: the `onnxtrain` command line. Each subcommand lives in
 * its own file (cmd_*.c); this file dispatches and prints usage. Errors go
 * to stderr with exit status 1; usage errors exit with 2. */
#include "tools/cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    bool loads_models; /* takes --plugin LIB.so (tools/cli/cli_plugins.c) */
} commands[] = {
    {"run", cmd_run, "run a model on input tensors (.pb or .npy) and write its outputs", true},
    {"inspect", cmd_inspect, "print a model's opsets, inputs, outputs, op histogram and parameter count", true},
    {"ops", cmd_ops, "list every registered op (opset, forward, backward, oneDNN)", true},
    {"train", cmd_train, "train a training model (TrainingInfoProto) on arrays from an .npz file", true},
    {"idx-to-npz", cmd_idx_to_npz, "convert MNIST-style IDX image/label files to an .npz for train", false},
    {"export", cmd_export, "write the inference model of a training model or checkpoint", true},
    {"prepare", cmd_prepare, "turn an inference model into a training model (loss, optimizer, TrainingInfoProto)", true},
};

static void usage(FILE *f) {
    fprintf(f, "onnxtrain %s: train and run ONNX models on CPUs\n\nusage: onnxtrain <command> [options]\n\n",
            ot_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'onnxtrain <command> --help' describes a command. Every command that loads a model takes\n"
               "--plugin LIB.so (repeatable): ops, optimizers and initializers from a plugin library.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("onnxtrain %s\n", ot_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            int sub_argc = argc - 1, rc = commands[i].loads_models ? cli_take_plugins(argv[1], &sub_argc, argv + 1) : 0;
            return rc ? rc : commands[i].fn(sub_argc, argv + 1);
        }
    fprintf(stderr, "onnxtrain: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
