/* runtime/registry.c: the op registry. Built-ins come from the one table in
 * ops/op_table.c; plugins add records of the same type through
 * ot_registry_add(). Lookups happen at load time only, so a linear scan over
 * a few hundred records is plenty. */
#include "onnxtrain/onnxtrain.h"
#include "ops/op_table.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

struct ot_registry {
    const ot_op_def_t **ops;
    int n_ops, cap_ops;
    void **libs;
    int n_libs;
};

static bool domain_eq(const char *a, const char *b) {
    /* "ai.onnx" and "" name the same domain */
    if (!a || strcmp(a, "ai.onnx") == 0) a = "";
    if (!b || strcmp(b, "ai.onnx") == 0) b = "";
    return strcmp(a, b) == 0;
}

ot_status_t *ot_registry_add(ot_registry_t *reg, const ot_op_def_t *op) {
    if (!reg || !op) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_registry_add: NULL argument");
    if (op->abi_version != OT_PLUGIN_ABI_VERSION)
        return ot_status_create(OT_ERR_UNSUPPORTED, "op record '%s' was built for ABI version %u, this runtime is %u",
                                op->op_type ? op->op_type : "?", op->abi_version, OT_PLUGIN_ABI_VERSION);
    if (!op->op_type || !op->infer || !op->run || op->since_version < 1 || op->min_inputs < 0 ||
        (op->max_inputs >= 0 && op->max_inputs < op->min_inputs) || op->min_outputs < 0 ||
        (op->max_outputs >= 0 && op->max_outputs < op->min_outputs))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "op record '%s' is incomplete (op_type, infer, run, arity)",
                                op->op_type ? op->op_type : "?");
    for (int i = 0; i < reg->n_ops; i++) {
        const ot_op_def_t *o = reg->ops[i];
        if (domain_eq(o->domain, op->domain) && strcmp(o->op_type, op->op_type) == 0 &&
            o->since_version == op->since_version)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "op '%s%s%s' version %d is already registered",
                                    op->domain ? op->domain : "", op->domain && *op->domain ? "::" : "",
                                    op->op_type, op->since_version);
    }
    if (reg->n_ops == reg->cap_ops) {
        int cap = reg->cap_ops ? 2 * reg->cap_ops : 256;
        const ot_op_def_t **ops = realloc(reg->ops, (size_t)cap * sizeof *ops);
        if (!ops) return ot_status_create(OT_ERR_NO_MEMORY, "registry: out of memory");
        reg->ops = ops;
        reg->cap_ops = cap;
    }
    reg->ops[reg->n_ops++] = op;
    return NULL;
}

ot_status_t *ot_registry_create(ot_registry_t **out) {
    *out = NULL;
    ot_registry_t *reg = calloc(1, sizeof *reg);
    if (!reg) return ot_status_create(OT_ERR_NO_MEMORY, "registry: out of memory");
    for (size_t i = 0; i < ot_builtin_op_count; i++) {
        ot_status_t *st = ot_registry_add(reg, ot_builtin_ops[i]);
        if (st) {
            ot_registry_destroy(reg);
            return ot_status_wrap(st, "built-in op table");
        }
    }
    *out = reg;
    return NULL;
}

/* a == b ignoring case and '_' */
static bool loose_eq(const char *a, const char *b) {
    for (;;) {
        while (*a == '_') a++;
        while (*b == '_') b++;
        if (!*a || !*b) return !*a && !*b;
        char ca = *a++, cb = *b++;
        if (ca >= 'A' && ca <= 'Z') ca = (char)(ca - 'A' + 'a');
        if (cb >= 'A' && cb <= 'Z') cb = (char)(cb - 'A' + 'a');
        if (ca != cb) return false;
    }
}

const ot_op_def_t *ot_registry_find_kind(const ot_registry_t *reg, const char *name, unsigned kind) {
    for (int i = 0; reg && name && i < reg->n_ops; i++)
        if ((reg->ops[i]->flags & kind) && loose_eq(reg->ops[i]->op_type, name)) return reg->ops[i];
    return NULL;
}

void ot_registry_destroy(ot_registry_t *reg) {
    if (!reg) return;
    for (int i = 0; i < reg->n_libs; i++) dlclose(reg->libs[i]);
    free(reg->libs);
    free(reg->ops);
    free(reg);
}

ot_status_t *ot_registry_load_plugin(ot_registry_t *reg, const char *path) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return ot_status_create(OT_ERR_IO, "plugin '%s': %s", path, dlerror());
    uint32_t (*abi)(void);
    ot_status_t *(*reg_fn)(ot_registry_t *);
    *(void **)&abi = dlsym(lib, "ot_plugin_abi_version");
    *(void **)&reg_fn = dlsym(lib, "ot_plugin_register");
    if (!abi || !reg_fn) {
        dlclose(lib);
        return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                "plugin '%s' does not export ot_plugin_abi_version/ot_plugin_register "
                                "(define them with OT_PLUGIN_DEFINE)", path);
    }
    uint32_t v = abi();
    if (v != OT_PLUGIN_ABI_VERSION) {
        dlclose(lib);
        return ot_status_create(OT_ERR_UNSUPPORTED,
                                "plugin '%s' was built for onnxtrain plugin ABI version %u; this runtime "
                                "needs version %u: rebuild the plugin against this onnxtrain",
                                path, v, OT_PLUGIN_ABI_VERSION);
    }
    void **libs = realloc(reg->libs, (size_t)(reg->n_libs + 1) * sizeof *libs);
    if (!libs) {
        dlclose(lib);
        return ot_status_create(OT_ERR_NO_MEMORY, "registry: out of memory");
    }
    reg->libs = libs;
    int n_before = reg->n_ops;
    ot_status_t *st = reg_fn(reg);
    if (st) {
        reg->n_ops = n_before; /* forget partial registrations */
        dlclose(lib);
        return ot_status_wrap(st, "plugin '%s'", path);
    }
    reg->libs[reg->n_libs++] = lib;
    return NULL;
}

const ot_op_def_t *ot_registry_find(const ot_registry_t *reg, const char *domain, const char *op_type, int opset) {
    const ot_op_def_t *best = NULL;
    for (int i = 0; i < reg->n_ops; i++) {
        const ot_op_def_t *o = reg->ops[i];
        if (o->since_version <= opset && strcmp(o->op_type, op_type) == 0 && domain_eq(o->domain, domain) &&
            (!best || o->since_version > best->since_version))
            best = o;
    }
    return best;
}

int ot_registry_count(const ot_registry_t *reg) { return reg->n_ops; }
const ot_op_def_t *ot_registry_get(const ot_registry_t *reg, int i) {
    return i >= 0 && i < reg->n_ops ? reg->ops[i] : NULL;
}
