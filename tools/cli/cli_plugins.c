/* tools/cli/cli_plugins.c: `--plugin LIB.so` for every subcommand that
 * loads a model. main() takes the flags out of argv before dispatching, so
 * the commands' own parsers never see them, and each such command makes its
 * registry with cli_registry_create(), which loads the libraries in the
 * order given. Not here: anything about what a plugin holds (that is
 * ot_registry_load_plugin's business). */
#include "tools/cli/cli.h"

#include <stdio.h>
#include <string.h>

#define CLI_MAX_PLUGINS 16

static const char *plugins[CLI_MAX_PLUGINS];
static int n_plugins;

int cli_take_plugins(const char *command, int *argc, char **argv) {
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--plugin") != 0) {
            argv[kept++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "onnxtrain %s: --plugin needs a value (a shared library)\n", command);
            return 2;
        }
        if (n_plugins == CLI_MAX_PLUGINS) {
            fprintf(stderr, "onnxtrain %s: at most %d --plugin libraries\n", command, CLI_MAX_PLUGINS);
            return 2;
        }
        plugins[n_plugins++] = argv[++i];
    }
    *argc = kept;
    argv[kept] = NULL;
    return 0;
}

int cli_plugin_count(void) { return n_plugins; }

ot_status_t *cli_registry_create(ot_registry_t **out) {
    ot_status_t *st = ot_registry_create(out);
    for (int i = 0; !st && i < n_plugins; i++) st = ot_registry_load_plugin(*out, plugins[i]);
    if (st) {
        ot_registry_destroy(*out);
        *out = NULL;
    }
    return st;
}
