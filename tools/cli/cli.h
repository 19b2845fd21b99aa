/* tools/cli/cli.h: shared helpers of the onnxtrain subcommands. */
#ifndef ONNXTRAIN_CLI_H
#define ONNXTRAIN_CLI_H

#include "onnxtrain/onnxtrain.h"

int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_idx_to_npz(int argc, char **argv);

/* Prints "onnxtrain: <what>: <message>" to stderr, frees st, returns 1. */
int cli_fail(ot_status_t *st, const char *what);
/* Prints a one-line summary of a tensor: dtype, shape, first values. */
void cli_print_tensor(const char *name, const ot_tensor_t *t);

/* --plugin LIB.so (repeatable), tools/cli/cli_plugins.c: main() removes the
 * flags and their values from argv (*argc updated) for commands that load
 * models; 0, or 2 after printing a usage error. cli_registry_create() makes
 * the built-in registry and loads those libraries in order (on error *out is
 * NULL); every command that loads a model creates its registry with it. */
int cli_take_plugins(const char *command, int *argc, char **argv);
int cli_plugin_count(void);
ot_status_t *cli_registry_create(ot_registry_t **out);

#endif
