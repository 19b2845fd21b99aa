/* runtime/registry.c: the op registry. Built-ins come from the one table in
 * ops/op_table.c; plugins add records of the same type through
 * ot_registry_add(). Lookups happen at load time only, so a linear scan over
 * a few hundred records is plenty. */
#include "onnxtrain/onnxtrain.h"
#include "ops/op_table.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
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

/* A state or attribute name: [A-Za-z0-9_.], not empty. */
static bool sane_name(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return false;
    return true;
}

static const ot_attr_spec_t *find_attr(const ot_op_def_t *op, const char *name) {
    for (const ot_attr_spec_t *a = op->attrs; a && a->name; a++)
        if (!strcmp(a->name, name)) return a;
    return NULL;
}

/* The declarations plugin.h asks of OT_OP_OPTIMIZER and OT_OP_INITIALIZER
 * records, checked here so that `prepare` can trust them. `what` names the
 * op in messages. */
static ot_status_t *check_kind(const ot_op_def_t *op, const char *what) {
#define BAD(...) ot_status_create(OT_ERR_INVALID_ARGUMENT, __VA_ARGS__)
    bool optimizer = op->flags & OT_OP_OPTIMIZER, initializer = op->flags & OT_OP_INITIALIZER;
    if (optimizer && initializer) return BAD("op record '%s' is flagged both optimizer and initializer", what);
    if (!optimizer && op->states) return BAD("op record '%s' lists states but is not flagged OT_OP_OPTIMIZER", what);
    if (optimizer) {
        if (!op->states) return BAD("optimizer '%s' has no states list (use {{NULL}} for none)", what);
        int n = 0, n_always = 0;
        for (const ot_state_spec_t *s = op->states; s->name; s++, n++) {
            if (n == OT_MAX_OPTIMIZER_STATES)
                return BAD("optimizer '%s' declares more than %d states", what, OT_MAX_OPTIMIZER_STATES);
            if (!sane_name(s->name))
                return BAD("optimizer '%s': state name '%s' is not a name ([A-Za-z0-9_.])", what, s->name);
            for (const ot_state_spec_t *t = op->states; t != s; t++)
                if (!strcmp(t->name, s->name)) return BAD("optimizer '%s': state '%s' is listed twice", what, s->name);
            const char *refs[2] = {s->when, s->init};
            for (int r = 0; r < 2; r++) {
                const ot_attr_spec_t *a = refs[r] ? find_attr(op, refs[r]) : NULL;
                if (refs[r] && (!a || (a->type != OT_ATTR_INT && a->type != OT_ATTR_FLOAT)))
                    return BAD("optimizer '%s': state '%s' names '%s' (%s), which is not an INT or FLOAT attribute "
                               "of the op", what, s->name, refs[r], r ? "init" : "when");
            }
            if (!s->when) n_always++;
        }
        /* lr, step, then (param, grad, states) per parameter; one parameter
         * with only the unconditional states must be accepted */
        if (op->max_inputs != -1 || op->max_outputs != -1 || op->min_inputs < 4 || op->min_inputs > 4 + n_always ||
            op->min_outputs < 1 || op->min_outputs > 1 + n_always)
            return BAD("optimizer '%s': inputs [%d, %d], outputs [%d, %d] do not fit the optimizer signature "
                       "(variadic: max -1; min_inputs 4..%d, min_outputs 1..%d with %d unconditional states)",
                       what, op->min_inputs, op->max_inputs, op->min_outputs, op->max_outputs, 4 + n_always,
                       1 + n_always, n_always);
        if (!isfinite(op->default_lr) || op->default_lr < 0)
            return BAD("optimizer '%s': default_lr must be finite and >= 0 (0: the rate is required)", what);
    }
    if (initializer) {
        if (op->min_inputs != 0 || op->max_inputs != 0 || op->min_outputs != 1 || op->max_outputs != 1)
            return BAD("initializer '%s' must have no inputs and one output (has inputs [%d, %d], outputs [%d, %d])",
                       what, op->min_inputs, op->max_inputs, op->min_outputs, op->max_outputs);
        const ot_attr_spec_t *shape = find_attr(op, "shape");
        if (!shape || shape->type != OT_ATTR_INTS || !shape->required)
            return BAD("initializer '%s' must declare a required INTS attribute 'shape'", what);
        const char *ints[] = {"dtype", "seed", "fan_in", "fan_out"};
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            const ot_attr_spec_t *a = find_attr(op, ints[i]);
            if (a && a->type != OT_ATTR_INT) return BAD("initializer '%s': attribute '%s' must be INT", what, ints[i]);
        }
    }
    return NULL;
#undef BAD
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
    char what[160];
    snprintf(what, sizeof what, "%s%s%s", op->domain ? op->domain : "", op->domain && *op->domain ? "::" : "",
             op->op_type);
    ot_status_t *st = check_kind(op, what);
    if (st) return st;
    for (int i = 0; i < reg->n_ops; i++) {
        const ot_op_def_t *o = reg->ops[i];
        if (domain_eq(o->domain, op->domain) && strcmp(o->op_type, op->op_type) == 0 &&
            o->since_version == op->since_version)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "op '%s' version %d is already registered", what,
                                    op->since_version);
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
