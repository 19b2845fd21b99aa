/* runtime/ort_checkpoint.c: ONNX Runtime training checkpoints ("ODTC"
 * FlatBuffers, versions 1 and 2), read and written with our own small
 * FlatBuffer code.
 *
 * Schema (ORT's ort_training_checkpoint.fbs + the Tensor table of ort.fbs);
 * field ids are the declaration order:
 *   Checkpoint      { 0 version:int32, 1 module_state:ModuleState,
 *                     2 optimizer_groups:[OptimizerGroup], 3 property_bag:PropertyBag }
 *   ModuleState     { 0 requires_grad_params:[Tensor], 1 frozen_params:[Tensor],
 *                     2 is_nominal_state:bool (v2), 3 has_external_data:bool (v3) }
 *   OptimizerGroup  { 0 group_name:string, 1 step:int64, 2 initial_learning_rate:float,
 *                     3 optimizer_states:[ParameterOptimizerState] }
 *   ParameterOptimizerState { 0 param_name:string, 1 momentums:[Tensor] }
 *   PropertyBag     { 0 ints:[IntProperty], 1 floats:[FloatProperty], 2 strings:[StringProperty] }
 *   Int/Float/StringProperty { 0 name:string, 1 value:int64|float|string }
 *   Tensor          { 0 name:string, 1 doc_string:string, 2 dims:[int64], 3 data_type:int32,
 *                     4 raw_data:[uint8], 5 string_data:[string], 6 external_data_offset:int64 = -1 }
 *
 * FlatBuffer layout, as the reader checks it: a buffer starts with the
 * root table's uoffset (u32) and the 4-byte file identifier. A table
 * starts with an int32 soffset to its vtable (vtable = table - soffset);
 * the vtable holds u16 vtable size, u16 table size and one u16 per field
 * (offset inside the table, 0 = absent, the default applies). References
 * (tables, vectors, strings) are u32 offsets forward from where they are
 * stored; vectors and strings start with a u32 element count, strings end
 * with a NUL. Scalars in tables and vector lengths are aligned to their
 * size, as ORT's verifier wants.
 * Forward-only references mean no cycles; a DAG that reuses one tensor's
 * bytes many times is refused by bounding the copied data by the file size.
 *
 * The writer lays objects out front to back (a table before its children),
 * which keeps every reference forward, and puts each vtable right before
 * its table. It is not a general FlatBuffer builder.
 */
#define _XOPEN_SOURCE 700

#include "onnxtrain/ort_checkpoint.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_util.h"
#include "runtime/arena.h"
#include "runtime/name_map.h"
#include "runtime/onnx_io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the checkpoint code assumes a little-endian host"
#endif

#define FILE_ID "ODTC"
/* FlatBuffers cannot address more than 2 GiB (signed 32-bit offsets). */
#define FB_MAX_SIZE ((size_t)INT32_MAX)

/* ---- reading ------------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

typedef struct reader {
    const uint8_t *p;
    size_t len;
    const char *src;       /* file name for messages */
    ot_arena_t *arena;     /* owns everything loaded */
    size_t data_bytes;     /* tensor bytes copied so far */
    ot_ort_checkpoint_t *ck;
} reader_t;

/* A located table: its position, vtable position and sizes. */
typedef struct table {
    size_t pos, vt;
    uint16_t vt_size, size;
} table_t;

/* Field path labels ("module_state.requires_grad_params[3].dims"). */
typedef struct path {
    char s[512];
} path_t;

static path_t sub(const path_t *parent, const char *field) {
    path_t p;
    ot_label(p.s, sizeof p.s, "%s%s%s", parent->s, parent->s[0] ? "." : "", field);
    return p;
}
static path_t idx(const path_t *parent, size_t i) {
    path_t p;
    ot_label(p.s, sizeof p.s, "%s[%zu]", parent->s, i);
    return p;
}

#define BAD(r, path, ...) bad((r), OT_ERR_INVALID_MODEL, (path), __VA_ARGS__)

static ot_status_t *bad(const reader_t *r, ot_code_t code, const path_t *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static ot_status_t *bad(const reader_t *r, ot_code_t code, const path_t *path, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ot_status_create(code, "ORT checkpoint '%s': %s: %s", r->src, path->s[0] ? path->s : "(root)", msg);
}

/* The table at `pos` (which a reference pointed at). */
static ot_status_t *get_table(const reader_t *r, size_t pos, const path_t *path, table_t *t) {
    if (pos % 4 || pos > r->len || r->len - pos < 4)
        return BAD(r, path, "table at offset %zu is misaligned or outside the buffer (%zu bytes)", pos, r->len);
    int64_t vt = (int64_t)pos - (int64_t)(int32_t)rd32(r->p + pos);
    if (vt < 0 || (uint64_t)vt > r->len - 4 || vt % 2)
        return BAD(r, path, "vtable of the table at offset %zu is at %lld, outside the buffer or misaligned", pos,
                   (long long)vt);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_size = rd16(r->p + t->vt);
    t->size = rd16(r->p + t->vt + 2);
    if (t->vt_size < 4 || t->vt_size % 2 || t->vt_size > r->len - t->vt)
        return BAD(r, path, "vtable at offset %zu has an invalid size %u", t->vt, (unsigned)t->vt_size);
    if (t->size < 4 || t->size > r->len - pos)
        return BAD(r, path, "table at offset %zu has size %u, past the end of the buffer (%zu bytes)", pos,
                   (unsigned)t->size, r->len);
    return NULL;
}

/* Position of field `id` of `size` bytes, or 0 when absent. */
static ot_status_t *get_field(const reader_t *r, const table_t *t, int id, size_t size, const path_t *path,
                              size_t *at) {
    *at = 0;
    size_t slot = 4 + 2 * (size_t)id;
    if (slot + 2 > t->vt_size) return NULL;
    uint16_t off = rd16(r->p + t->vt + slot);
    if (!off) return NULL;
    if (off < 4 || (size_t)off + size > t->size)
        return BAD(r, path, "field at table offset %u (%zu bytes) lies outside its table (%u bytes)", (unsigned)off,
                   size, (unsigned)t->size);
    if ((t->pos + off) % size)
        return BAD(r, path, "field at buffer offset %zu is not aligned to %zu bytes", t->pos + off, size);
    *at = t->pos + off;
    return NULL;
}

static ot_status_t *get_i32(const reader_t *r, const table_t *t, int id, const path_t *path, int32_t def,
                            int32_t *out) {
    size_t at = 0;
    ot_status_t *st = get_field(r, t, id, 4, path, &at);
    if (st) return st;
    *out = at ? (int32_t)rd32(r->p + at) : def;
    return NULL;
}
static ot_status_t *get_i64(const reader_t *r, const table_t *t, int id, const path_t *path, int64_t def,
                            int64_t *out) {
    size_t at = 0;
    ot_status_t *st = get_field(r, t, id, 8, path, &at);
    if (st) return st;
    *out = at ? (int64_t)rd64(r->p + at) : def;
    return NULL;
}
static ot_status_t *get_f32(const reader_t *r, const table_t *t, int id, const path_t *path, float *out) {
    size_t at = 0;
    ot_status_t *st = get_field(r, t, id, 4, path, &at);
    if (st) return st;
    uint32_t bits = at ? rd32(r->p + at) : 0;
    memcpy(out, &bits, 4);
    return NULL;
}
static ot_status_t *get_bool(const reader_t *r, const table_t *t, int id, const path_t *path, bool *out) {
    size_t at = 0;
    ot_status_t *st = get_field(r, t, id, 1, path, &at);
    if (st) return st;
    uint8_t v = at ? r->p[at] : 0;
    if (v > 1) return BAD(r, path, "bool has the value %u (must be 0 or 1)", (unsigned)v);
    *out = v != 0;
    return NULL;
}

/* Follows the reference stored at `at` (a field or a vector element). */
static ot_status_t *deref(const reader_t *r, size_t at, const path_t *path, size_t *target) {
    uint32_t off = rd32(r->p + at);
    if (off == 0 || (uint64_t)at + off >= r->len)
        return BAD(r, path, "offset %u at buffer offset %zu points outside the buffer (%zu bytes)", (unsigned)off, at,
                   r->len);
    *target = at + off;
    return NULL;
}

/* Reference field `id` -> table; *present false when absent. */
static ot_status_t *get_subtable(const reader_t *r, const table_t *t, int id, const path_t *path, bool *present,
                                 table_t *out) {
    size_t at = 0, pos = 0;
    *present = false;
    ot_status_t *st = get_field(r, t, id, 4, path, &at);
    if (st || !at) return st;
    if ((st = deref(r, at, path, &pos))) return st;
    *present = true;
    return get_table(r, pos, path, out);
}

/* Reference field `id` -> vector of `elem` bytes each: *count and the
 * position of the first element; *present false when absent. */
static ot_status_t *get_vector(const reader_t *r, const table_t *t, int id, size_t elem, const path_t *path,
                               bool *present, size_t *count, size_t *data) {
    size_t at = 0, pos = 0;
    *present = false;
    *count = 0;
    *data = 0;
    ot_status_t *st = get_field(r, t, id, 4, path, &at);
    if (st || !at) return st;
    if ((st = deref(r, at, path, &pos))) return st;
    if (pos % 4 || r->len - pos < 4)
        return BAD(r, path, "vector at offset %zu is misaligned or its length lies outside the buffer", pos);
    /* Like FlatBuffers' verifier, only the length word must be aligned: the
     * elements are read with memcpy, and flatc leaves empty int64 vectors
     * unaligned. */
    uint32_t n = rd32(r->p + pos);
    if ((uint64_t)n * elem > r->len - pos - 4)
        return BAD(r, path, "vector of %u elements (%zu bytes each) at offset %zu extends past the end of the buffer "
                   "(%zu bytes)",
                   (unsigned)n, elem, pos, r->len);
    *present = true;
    *count = n;
    *data = pos + 4;
    return NULL;
}

/* String field `id`, copied into the arena; NULL when absent. Names are C
 * strings, so an embedded NUL is refused. */
static ot_status_t *get_string(reader_t *r, const table_t *t, int id, const path_t *path, const char **out) {
    bool present;
    size_t n = 0, data = 0;
    *out = NULL;
    ot_status_t *st = get_vector(r, t, id, 1, path, &present, &n, &data);
    if (st || !present) return st;
    if (n >= r->len - data || r->p[data + n] != 0)
        return BAD(r, path, "string of %zu bytes at offset %zu has no terminating NUL inside the buffer", n, data);
    if (memchr(r->p + data, 0, n)) return BAD(r, path, "string contains a NUL byte");
    char *s = ot_arena_strndup(r->arena, (const char *)r->p + data, n);
    if (!s) return ot_status_create(OT_ERR_NO_MEMORY, "ORT checkpoint '%s': out of memory", r->src);
    *out = s;
    return NULL;
}

static ot_status_t *need_name(reader_t *r, const table_t *t, int id, const path_t *path, const char **out) {
    ot_status_t *st = get_string(r, t, id, path, out);
    if (st) return st;
    if (!*out) return BAD(r, path, "is missing");
    if (!**out) return BAD(r, path, "is empty");
    return NULL;
}

static void *arena_array(reader_t *r, size_t n, size_t size) {
    if (n == 0) return NULL;
    if (n > SIZE_MAX / size) return NULL;
    return ot_arena_alloc(r->arena, n * size);
}

#define OOM(r) ot_status_create(OT_ERR_NO_MEMORY, "ORT checkpoint '%s': out of memory", (r)->src)

/* Tensor table at `pos`. In a nominal state the data is not stored. */
static ot_status_t *read_tensor(reader_t *r, size_t pos, const path_t *path, bool nominal, ot_ort_tensor_t *out) {
    table_t t;
    ot_status_t *st = get_table(r, pos, path, &t);
    if (st) return st;
    path_t p_name = sub(path, "name"), p_doc = sub(path, "doc_string"), p_dims = sub(path, "dims"),
           p_dt = sub(path, "data_type"), p_raw = sub(path, "raw_data"), p_str = sub(path, "string_data"),
           p_ext = sub(path, "external_data_offset");
    if ((st = need_name(r, &t, 0, &p_name, &out->name))) return st;
    const char *doc;
    if ((st = get_string(r, &t, 1, &p_doc, &doc))) return st; /* checked, not kept */

    bool present;
    size_t n_dims = 0, dims_at = 0;
    if ((st = get_vector(r, &t, 2, 8, &p_dims, &present, &n_dims, &dims_at))) return st;
    if (!present) return BAD(r, &p_dims, "is missing");
    int32_t dt = 0;
    if ((st = get_i32(r, &t, 3, &p_dt, 0, &dt))) return st;
    size_t n_str = 0, str_at = 0;
    if ((st = get_vector(r, &t, 5, 4, &p_str, &present, &n_str, &str_at))) return st;
    if (dt == OT_DTYPE_STRING || n_str)
        return bad(r, OT_ERR_UNSUPPORTED, &p_str, "string tensors are not supported");
    if (dt == OT_DTYPE_UNDEFINED) return BAD(r, &p_dt, "is missing (UNDEFINED)");
    ot_dtype_t dtype;
    if ((st = ot_dtype_from_onnx(dt, p_dt.s, &dtype))) return ot_status_wrap(st, "ORT checkpoint '%s'", r->src);
    int64_t ext = -1;
    if ((st = get_i64(r, &t, 6, &p_ext, -1, &ext))) return st;
    if (ext >= 0)
        return bad(r, OT_ERR_UNSUPPORTED, &p_ext, "is %lld: tensors in an external data file are not supported",
                   (long long)ext);
    if (n_dims > OT_MAX_RANK)
        return bad(r, OT_ERR_UNSUPPORTED, &p_dims, "rank %zu exceeds the maximum rank %d", n_dims, OT_MAX_RANK);
    int64_t dims[OT_MAX_RANK];
    for (size_t i = 0; i < n_dims; i++) dims[i] = (int64_t)rd64(r->p + dims_at + 8 * i);
    size_t nbytes = 0;
    if ((st = ot_dims_check(dims, n_dims, dtype, p_dims.s, &out->tensor.shape, &nbytes)))
        return ot_status_wrap(st, "ORT checkpoint '%s'", r->src);
    out->tensor.dtype = dtype;

    size_t n_raw = 0, raw_at = 0;
    if ((st = get_vector(r, &t, 4, 1, &p_raw, &present, &n_raw, &raw_at))) return st;
    if (nominal) {
        if (n_raw)
            return BAD(r, &p_raw, "has %zu bytes, but the module state is nominal (names only)", n_raw);
        out->tensor.data = NULL;
        return NULL;
    }
    char buf[256];
    if (!present)
        return BAD(r, &p_raw, "is missing; dims %s of %s need %zu bytes", ot_dims_str(dims, n_dims, buf, sizeof buf),
                   ot_dtype_name(dtype), nbytes);
    if (n_raw != nbytes)
        return BAD(r, &p_raw, "has %zu bytes, dims %s of %s need %zu", n_raw,
                   ot_dims_str(dims, n_dims, buf, sizeof buf), ot_dtype_name(dtype), nbytes);
    /* Honest files store each tensor's bytes once; a DAG reusing them could
     * make us allocate far more than the file holds. */
    if (nbytes > r->len - r->data_bytes)
        return BAD(r, &p_raw, "tensor data adds up to more than the file holds (raw_data shared between tensors)");
    r->data_bytes += nbytes;
    uint8_t *data = ot_arena_alloc(r->arena, nbytes ? nbytes : 1);
    if (!data) return OOM(r);
    if (nbytes) memcpy(data, r->p + raw_at, nbytes);
    if (dtype == OT_DTYPE_BOOL)
        for (size_t i = 0; i < nbytes; i++) data[i] = data[i] != 0;
    out->tensor.data = data;
    return NULL;
}

/* A [Tensor] field: *n tensors (absent: *present false). */
static ot_status_t *read_tensors(reader_t *r, const table_t *t, int id, const path_t *path, bool nominal,
                                 bool *present, size_t *n, ot_ort_tensor_t **out) {
    size_t data = 0;
    ot_status_t *st = get_vector(r, t, id, 4, path, present, n, &data);
    if (st || !*present || !*n) return st;
    if (!(*out = arena_array(r, *n, sizeof **out))) return OOM(r);
    for (size_t i = 0; i < *n; i++) {
        path_t pi = idx(path, i);
        size_t pos = 0;
        if ((st = deref(r, data + 4 * i, &pi, &pos))) return st;
        if ((st = read_tensor(r, pos, &pi, nominal, &(*out)[i]))) return st;
    }
    return NULL;
}

/* Refuses a name seen before in `map` (keys borrowed from the arena). */
static ot_status_t *unique(reader_t *r, ot_name_map_t *map, const char *name, const path_t *path, const char *what) {
    if (ot_name_map_get(map, name) >= 0) return BAD(r, path, "duplicate %s '%s'", what, name);
    if (!ot_name_map_put(map, name, 1)) return OOM(r);
    return NULL;
}

static ot_status_t *read_module_state(reader_t *r, const table_t *t, ot_ort_checkpoint_t *ck) {
    path_t p = {"module_state"};
    path_t p_req = sub(&p, "requires_grad_params"), p_frozen = sub(&p, "frozen_params"),
           p_nom = sub(&p, "is_nominal_state"), p_ext = sub(&p, "has_external_data");
    ot_status_t *st = NULL;
    bool ext = false;
    if ((st = get_bool(r, t, 2, &p_nom, &ck->is_nominal_state))) return st;
    if (ck->is_nominal_state && ck->version < 2)
        return BAD(r, &p_nom, "is set in a version %d checkpoint (introduced in version 2)", (int)ck->version);
    if ((st = get_bool(r, t, 3, &p_ext, &ext))) return st;
    if (ext) return bad(r, OT_ERR_UNSUPPORTED, &p_ext, "is set: external data files (version 3) are not supported");
    bool present;
    if ((st = read_tensors(r, t, 0, &p_req, ck->is_nominal_state, &present, &ck->n_trainable, &ck->trainable)))
        return st;
    if (!present) return BAD(r, &p_req, "is missing");
    if ((st = read_tensors(r, t, 1, &p_frozen, ck->is_nominal_state, &present, &ck->n_frozen, &ck->frozen)))
        return st;
    if (!present) return BAD(r, &p_frozen, "is missing");
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return OOM(r);
    for (size_t i = 0; i < ck->n_trainable && !st; i++) {
        path_t pi = idx(&p_req, i);
        st = unique(r, names, ck->trainable[i].name, &pi, "parameter");
    }
    for (size_t i = 0; i < ck->n_frozen && !st; i++) {
        path_t pi = idx(&p_frozen, i);
        st = unique(r, names, ck->frozen[i].name, &pi, "parameter");
    }
    ot_name_map_destroy(names);
    return st;
}

static ot_status_t *read_param_state(reader_t *r, size_t pos, const path_t *path, ot_ort_param_state_t *ps) {
    table_t t;
    ot_status_t *st = get_table(r, pos, path, &t);
    if (st) return st;
    path_t p_name = sub(path, "param_name"), p_mom = sub(path, "momentums");
    if ((st = need_name(r, &t, 0, &p_name, &ps->param_name))) return st;
    bool present;
    if ((st = read_tensors(r, &t, 1, &p_mom, false, &present, &ps->n_momentums, &ps->momentums))) return st;
    if (!present) return BAD(r, &p_mom, "is missing");
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return OOM(r);
    for (size_t i = 0; i < ps->n_momentums && !st; i++) {
        path_t pi = idx(&p_mom, i);
        st = unique(r, names, ps->momentums[i].name, &pi, "momentum");
    }
    ot_name_map_destroy(names);
    return st;
}

static ot_status_t *read_group(reader_t *r, size_t pos, const path_t *path, ot_ort_optimizer_group_t *g) {
    table_t t;
    ot_status_t *st = get_table(r, pos, path, &t);
    if (st) return st;
    path_t p_name = sub(path, "group_name"), p_step = sub(path, "step"), p_lr = sub(path, "initial_learning_rate"),
           p_states = sub(path, "optimizer_states");
    if ((st = need_name(r, &t, 0, &p_name, &g->group_name))) return st;
    if ((st = get_i64(r, &t, 1, &p_step, 0, &g->step))) return st;
    if (g->step < 0) return BAD(r, &p_step, "is negative (%lld)", (long long)g->step);
    if ((st = get_f32(r, &t, 2, &p_lr, &g->initial_learning_rate))) return st;
    bool present;
    size_t data = 0;
    if ((st = get_vector(r, &t, 3, 4, &p_states, &present, &g->n_params, &data))) return st;
    if (!present) return BAD(r, &p_states, "is missing");
    if (g->n_params && !(g->params = arena_array(r, g->n_params, sizeof *g->params))) return OOM(r);
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return OOM(r);
    for (size_t i = 0; i < g->n_params && !st; i++) {
        path_t pi = idx(&p_states, i);
        size_t at = 0;
        if (!(st = deref(r, data + 4 * i, &pi, &at)) && !(st = read_param_state(r, at, &pi, &g->params[i])))
            st = unique(r, names, g->params[i].param_name, &pi, "parameter");
    }
    ot_name_map_destroy(names);
    return st;
}

/* One [Int|Float|String]Property list of the property bag. */
static ot_status_t *read_properties(reader_t *r, const table_t *bag, int id, ot_ort_property_type_t type,
                                    ot_name_map_t *names, size_t *filled) {
    static const char *const lists[] = {"property_bag.ints", "property_bag.floats", "property_bag.strings"};
    path_t path;
    ot_label(path.s, sizeof path.s, "%s", lists[type]);
    bool present;
    size_t n = 0, data = 0;
    ot_status_t *st = get_vector(r, bag, id, 4, &path, &present, &n, &data);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        path_t pi = idx(&path, i), p_name = sub(&pi, "name"), p_value = sub(&pi, "value");
        size_t pos = 0;
        table_t t;
        ot_ort_property_t *prop = &r->ck->properties[*filled];
        if ((st = deref(r, data + 4 * i, &pi, &pos)) || (st = get_table(r, pos, &pi, &t))) return st;
        if ((st = need_name(r, &t, 0, &p_name, &prop->name))) return st;
        prop->type = type;
        if (type == OT_ORT_PROPERTY_INT) st = get_i64(r, &t, 1, &p_value, 0, &prop->i);
        else if (type == OT_ORT_PROPERTY_FLOAT) st = get_f32(r, &t, 1, &p_value, &prop->f);
        else if (!(st = get_string(r, &t, 1, &p_value, &prop->s)) && !prop->s) st = BAD(r, &p_value, "is missing");
        if (st || (st = unique(r, names, prop->name, &pi, "property"))) return st;
        (*filled)++;
    }
    return NULL;
}

static ot_status_t *read_property_bag(reader_t *r, const table_t *bag, ot_ort_checkpoint_t *ck) {
    /* count first, so the three lists share one array */
    size_t total = 0;
    for (int id = 0; id < 3; id++) {
        path_t p;
        ot_label(p.s, sizeof p.s, "property_bag.%s", id == 0 ? "ints" : id == 1 ? "floats" : "strings");
        bool present;
        size_t n = 0, data = 0;
        ot_status_t *st = get_vector(r, bag, id, 4, &p, &present, &n, &data);
        if (st) return st;
        total += n;
    }
    if (total && !(ck->properties = arena_array(r, total, sizeof *ck->properties))) return OOM(r);
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return OOM(r);
    ot_status_t *st = NULL;
    size_t filled = 0;
    for (int id = 0; id < 3 && !st; id++) st = read_properties(r, bag, id, (ot_ort_property_type_t)id, names, &filled);
    ot_name_map_destroy(names);
    ck->n_properties = filled;
    return st;
}

static ot_status_t *read_checkpoint(reader_t *r) {
    path_t root = {""};
    if (r->len < 8) return BAD(r, &root, "file of %zu bytes is too short for a FlatBuffer header", r->len);
    if (r->len > FB_MAX_SIZE) return BAD(r, &root, "file of %zu bytes exceeds the 2 GiB FlatBuffer limit", r->len);
    if (memcmp(r->p + 4, FILE_ID, 4) != 0) {
        char id[5] = {0};
        for (int i = 0; i < 4; i++) id[i] = (r->p[4 + i] >= 32 && r->p[4 + i] < 127) ? (char)r->p[4 + i] : '?';
        return BAD(r, &root, "file identifier is '%s', not '" FILE_ID "' (not an ORT training checkpoint)", id);
    }
    size_t pos = 0;
    ot_status_t *st = deref(r, 0, &root, &pos);
    table_t t;
    if (st || (st = get_table(r, pos, &root, &t))) return st;
    ot_ort_checkpoint_t *ck = r->ck;
    path_t p_ver = {"version"}, p_ms = {"module_state"}, p_groups = {"optimizer_groups"}, p_bag = {"property_bag"};
    if ((st = get_i32(r, &t, 0, &p_ver, 0, &ck->version))) return st;
    if (ck->version == 3)
        return bad(r, OT_ERR_UNSUPPORTED, &p_ver, "is 3 (external data files); versions 1 and 2 are supported");
    if (ck->version != 1 && ck->version != 2)
        return BAD(r, &p_ver, "is %d, not a known checkpoint version (1 and 2 are supported)", (int)ck->version);

    bool present;
    table_t sub_t;
    if ((st = get_subtable(r, &t, 1, &p_ms, &present, &sub_t))) return st;
    if (present && (st = read_module_state(r, &sub_t, ck))) return st;

    size_t data = 0;
    if ((st = get_vector(r, &t, 2, 4, &p_groups, &present, &ck->n_groups, &data))) return st;
    if (ck->n_groups && !(ck->groups = arena_array(r, ck->n_groups, sizeof *ck->groups))) return OOM(r);
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return OOM(r);
    for (size_t i = 0; i < ck->n_groups && !st; i++) {
        path_t pi = idx(&p_groups, i);
        size_t at = 0;
        if (!(st = deref(r, data + 4 * i, &pi, &at)) && !(st = read_group(r, at, &pi, &ck->groups[i])))
            st = unique(r, names, ck->groups[i].group_name, &pi, "optimizer group");
    }
    ot_name_map_destroy(names);
    if (st) return st;

    if ((st = get_subtable(r, &t, 3, &p_bag, &present, &sub_t))) return st;
    if (present && (st = read_property_bag(r, &sub_t, ck))) return st;
    return NULL;
}

ot_status_t *ot_ort_checkpoint_create(ot_ort_checkpoint_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_create: out is NULL");
    *out = NULL;
    ot_arena_t *arena = ot_arena_create();
    ot_ort_checkpoint_t *ck = arena ? ot_arena_alloc(arena, sizeof *ck) : NULL;
    if (!ck) {
        ot_arena_destroy(arena);
        return ot_status_create(OT_ERR_NO_MEMORY, "ot_ort_checkpoint_create: out of memory");
    }
    ck->version = OT_ORT_CHECKPOINT_VERSION;
    ck->internal = arena;
    *out = ck;
    return NULL;
}

void *ot_ort_checkpoint_alloc(ot_ort_checkpoint_t *ckpt, size_t nbytes) {
    return ckpt && ckpt->internal ? ot_arena_alloc(ckpt->internal, nbytes) : NULL;
}

char *ot_ort_checkpoint_strdup(ot_ort_checkpoint_t *ckpt, const char *s) {
    return ckpt && ckpt->internal && s ? ot_arena_strdup(ckpt->internal, s) : NULL;
}

void ot_ort_checkpoint_destroy(ot_ort_checkpoint_t *ckpt) {
    if (ckpt) ot_arena_destroy(ckpt->internal); /* the struct lives in its own arena */
}

ot_status_t *ot_ort_checkpoint_load_bytes(const void *bytes, size_t len, const char *what,
                                          ot_ort_checkpoint_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_load_bytes: out is NULL");
    *out = NULL;
    if (!bytes && len) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_load_bytes: bytes is NULL");
    ot_ort_checkpoint_t *ck = NULL;
    ot_status_t *st = ot_ort_checkpoint_create(&ck);
    if (st) return st;
    reader_t r = {bytes ? bytes : (const uint8_t *)"", len, what ? what : "<memory>", ck->internal, 0, ck};
    ck->version = 0;
    if ((st = read_checkpoint(&r))) {
        ot_ort_checkpoint_destroy(ck);
        return st;
    }
    *out = ck;
    return NULL;
}

ot_status_t *ot_ort_checkpoint_load(const char *path, ot_ort_checkpoint_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_load: out is NULL");
    *out = NULL;
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_load: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_file_read(path, &buf, &len);
    if (st) return st;
    st = ot_ort_checkpoint_load_bytes(buf, len, path, out);
    free(buf);
    return st;
}

const ot_ort_tensor_t *ot_ort_checkpoint_find_param(const ot_ort_checkpoint_t *ckpt, const char *name) {
    if (!ckpt || !name) return NULL;
    for (size_t i = 0; i < ckpt->n_trainable; i++)
        if (ckpt->trainable[i].name && strcmp(ckpt->trainable[i].name, name) == 0) return &ckpt->trainable[i];
    for (size_t i = 0; i < ckpt->n_frozen; i++)
        if (ckpt->frozen[i].name && strcmp(ckpt->frozen[i].name, name) == 0) return &ckpt->frozen[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct writer {
    uint8_t *buf;
    size_t len, cap;
    bool oom;
} writer_t;

static void w_reserve(writer_t *w, size_t n) {
    if (w->oom) return;
    if (n > FB_MAX_SIZE || w->len > FB_MAX_SIZE - n) {
        w->oom = true;
        return;
    }
    if (w->len + n <= w->cap) return;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n) cap *= 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) {
        w->oom = true;
        return;
    }
    w->buf = nb;
    w->cap = cap;
}

/* Appends n bytes (zeros when src is NULL); returns their position. */
static size_t w_put(writer_t *w, const void *src, size_t n) {
    w_reserve(w, n);
    if (w->oom) return 0;
    size_t pos = w->len;
    if (src) memcpy(w->buf + pos, src, n);
    else memset(w->buf + pos, 0, n);
    w->len += n;
    return pos;
}

/* Pads so that position + `extra` is a multiple of `align`. */
static void w_align(writer_t *w, size_t align, size_t extra) {
    size_t pad = (align - (w->len + extra) % align) % align;
    w_put(w, NULL, pad);
}

static void w_set32(writer_t *w, size_t at, uint32_t v) {
    if (!w->oom) memcpy(w->buf + at, &v, 4);
}

/* Makes the reference slot at `at` point at `target` (always forward). */
static void w_link(writer_t *w, size_t at, size_t target) {
    if (w->oom) return;
    OT_ASSERT(target > at && "FlatBuffer references point forward");
    w_set32(w, at, (uint32_t)(target - at));
}

/* Field kinds of the tables we write. */
typedef enum { FK_NONE, FK_REF, FK_I32, FK_F32, FK_I64, FK_BOOL } fkind_t;
typedef struct wfield {
    fkind_t kind;
    uint64_t bits; /* scalar value */
    size_t slot;   /* FK_REF: filled with the slot's position */
} wfield_t;

static size_t fkind_size(fkind_t k) {
    return k == FK_I64 ? 8 : k == FK_BOOL ? 1 : k == FK_NONE ? 0 : 4;
}

/* Writes a vtable and its table with fields[0..n) (FK_NONE: absent);
 * reference slots are left 0 for w_link. Returns the table position. */
static size_t w_table(writer_t *w, wfield_t *fields, int n) {
    uint16_t offs[16] = {0};
    /* layout: soffset, 8-byte fields (8-aligned), 4-byte fields, bytes */
    size_t off = 4;
    bool has8 = false;
    for (int i = 0; i < n; i++) has8 |= fields[i].kind == FK_I64;
    if (has8) off = 8;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < n; i++)
            if (fkind_size(fields[i].kind) == size) {
                offs[i] = (uint16_t)off;
                off += size;
            }
    size_t tsize = (off + 3) & ~(size_t)3;
    /* vtable right before the table; the table 8-aligned */
    size_t vt_size = 4 + 2 * (size_t)n;
    w_align(w, 8, vt_size); /* vtable end = table start, 8-aligned */
    size_t vt = w_put(w, NULL, vt_size);
    if (w->oom) return 0;
    uint16_t head[2] = {(uint16_t)vt_size, (uint16_t)tsize};
    memcpy(w->buf + vt, head, 4);
    memcpy(w->buf + vt + 4, offs, 2 * (size_t)n);
    size_t tpos = w_put(w, NULL, tsize);
    if (w->oom) return 0;
    w_set32(w, tpos, (uint32_t)(int32_t)(tpos - vt));
    for (int i = 0; i < n; i++) {
        size_t at = tpos + offs[i];
        switch (fields[i].kind) {
        case FK_NONE: break;
        case FK_REF: fields[i].slot = at; break;
        case FK_I32:
        case FK_F32: w_set32(w, at, (uint32_t)fields[i].bits); break;
        case FK_I64: memcpy(w->buf + at, &fields[i].bits, 8); break;
        case FK_BOOL: w->buf[at] = (uint8_t)fields[i].bits; break;
        }
    }
    return tpos;
}

static size_t w_string(writer_t *w, const char *s) {
    size_t n = strlen(s);
    w_align(w, 4, 0);
    uint32_t len = (uint32_t)n;
    size_t pos = w_put(w, &len, 4);
    w_put(w, s, n);
    w_put(w, NULL, 1);
    return pos;
}

/* A vector of n references: returns its position; slots at pos+4+4i. */
static size_t w_ref_vector(writer_t *w, size_t n) {
    w_align(w, 4, 0);
    uint32_t len = (uint32_t)n;
    size_t pos = w_put(w, &len, 4);
    w_put(w, NULL, 4 * n);
    return pos;
}

static wfield_t ref(void) {
    wfield_t f = {FK_REF, 0, 0};
    return f;
}
static wfield_t scalar(fkind_t k, uint64_t bits) {
    wfield_t f = {k, bits, 0};
    return f;
}

static ot_status_t *check_tensor(const ot_ort_tensor_t *t, const char *list, size_t i, bool nominal) {
    if (!t->name || !*t->name)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: %s[%zu] has no name", list, i);
    size_t es = ot_dtype_size(t->tensor.dtype);
    if (es == 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: %s '%s' has unsupported dtype %s", list,
                                t->name, ot_dtype_name(t->tensor.dtype));
    if (t->tensor.shape.rank < 0 || t->tensor.shape.rank > OT_MAX_RANK || !ot_shape_known(&t->tensor.shape))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: %s '%s' has an unknown shape", list,
                                t->name);
    if (!nominal && !t->tensor.data && ot_tensor_nbytes(&t->tensor) > 0)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: %s '%s' has no data", list, t->name);
    return NULL;
}

static size_t w_tensor(writer_t *w, const ot_ort_tensor_t *t, bool nominal) {
    /* fields: name, doc_string, dims, data_type, raw_data */
    wfield_t f[5] = {ref(), {FK_NONE, 0, 0}, ref(), scalar(FK_I32, (uint32_t)t->tensor.dtype), ref()};
    size_t tpos = w_table(w, f, 5);
    if (w->oom) return 0;
    w_link(w, f[0].slot, w_string(w, t->name));
    /* dims: int64 elements 8-aligned after the u32 length */
    w_align(w, 8, 4);
    uint32_t rank = (uint32_t)t->tensor.shape.rank;
    size_t dims = w_put(w, &rank, 4);
    w_put(w, t->tensor.shape.dims, 8 * (size_t)rank);
    w_link(w, f[2].slot, dims);
    size_t nbytes = nominal ? 0 : ot_tensor_nbytes(&t->tensor);
    w_align(w, 4, 0);
    uint32_t n = (uint32_t)nbytes;
    size_t raw = w_put(w, &n, 4);
    w_put(w, t->tensor.data, nbytes);
    w_link(w, f[4].slot, raw);
    return tpos;
}

static void w_tensor_list(writer_t *w, size_t slot, const ot_ort_tensor_t *ts, size_t n, bool nominal) {
    size_t vec = w_ref_vector(w, n);
    w_link(w, slot, vec);
    for (size_t i = 0; i < n && !w->oom; i++) w_link(w, vec + 4 + 4 * i, w_tensor(w, &ts[i], nominal));
}

/* Finds a repeated name among n entries of `stride` bytes whose name
 * pointer is at `base` (names already checked non-NULL); NULL if none. */
static const char *repeated_name(const void *base, size_t n, size_t stride, bool *oom) {
    const char *dup = NULL;
    ot_name_map_t *seen = ot_name_map_create();
    *oom = !seen;
    for (size_t i = 0; i < n && seen && !dup && !*oom; i++) {
        const char *name = *(const char *const *)((const char *)base + i * stride);
        if (ot_name_map_get(seen, name) >= 0) dup = name;
        else if (!ot_name_map_put(seen, name, 1)) *oom = true;
    }
    ot_name_map_destroy(seen);
    return dup;
}

#define CHECK_UNIQUE(arr, n, what, ...)                                                                     \
    do {                                                                                                    \
        bool oom_;                                                                                          \
        const char *dup_ = repeated_name((arr) ? (const void *)&(arr)[0].what : NULL, (n), sizeof *(arr), &oom_); \
        if (oom_) return ot_status_create(OT_ERR_NO_MEMORY, "ORT checkpoint: out of memory");              \
        if (dup_) return ot_status_create(OT_ERR_INVALID_ARGUMENT, __VA_ARGS__, dup_);                     \
    } while (0)

/* Argument checks before writing: names present and unique, data there. */
static ot_status_t *check_checkpoint(const ot_ort_checkpoint_t *ck) {
    ot_status_t *st = NULL;
    ot_name_map_t *names = ot_name_map_create();
    if (!names) return ot_status_create(OT_ERR_NO_MEMORY, "ORT checkpoint: out of memory");
    const struct {
        const char *list;
        const ot_ort_tensor_t *ts;
        size_t n;
    } lists[2] = {{"trainable parameter", ck->trainable, ck->n_trainable},
                  {"frozen parameter", ck->frozen, ck->n_frozen}};
    for (int l = 0; l < 2 && !st; l++) {
        if (lists[l].n && !lists[l].ts) {
            st = ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: %s list is NULL", lists[l].list);
            break;
        }
        for (size_t i = 0; i < lists[l].n && !st; i++) {
            if ((st = check_tensor(&lists[l].ts[i], lists[l].list, i, ck->is_nominal_state))) break;
            if (ot_name_map_get(names, lists[l].ts[i].name) >= 0)
                st = ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: duplicate parameter '%s'",
                                      lists[l].ts[i].name);
            else if (!ot_name_map_put(names, lists[l].ts[i].name, 1))
                st = ot_status_create(OT_ERR_NO_MEMORY, "ORT checkpoint: out of memory");
        }
    }
    ot_name_map_destroy(names);
    if (st) return st;
    if (ck->n_groups && !ck->groups)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: optimizer group list is NULL");
    for (size_t g = 0; g < ck->n_groups; g++) {
        const ot_ort_optimizer_group_t *grp = &ck->groups[g];
        if (!grp->group_name || !*grp->group_name)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: optimizer group %zu has no name", g);
        if (grp->n_params && !grp->params)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: optimizer group '%s': params is NULL",
                                    grp->group_name);
        for (size_t p = 0; p < grp->n_params; p++) {
            const ot_ort_param_state_t *ps = &grp->params[p];
            if (!ps->param_name || !*ps->param_name)
                return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                        "ORT checkpoint: optimizer group '%s': state %zu has no parameter name",
                                        grp->group_name, p);
            if (ps->n_momentums && !ps->momentums)
                return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                        "ORT checkpoint: optimizer group '%s', parameter '%s': momentums is NULL",
                                        grp->group_name, ps->param_name);
            for (size_t m = 0; m < ps->n_momentums; m++)
                if ((st = check_tensor(&ps->momentums[m], "momentum", m, false)))
                    return ot_status_wrap(st, "optimizer group '%s', parameter '%s'", grp->group_name,
                                          ps->param_name);
            CHECK_UNIQUE(ps->momentums, ps->n_momentums, name,
                         "ORT checkpoint: optimizer group '%s', parameter '%s': duplicate momentum '%s'",
                         grp->group_name, ps->param_name);
        }
        CHECK_UNIQUE(grp->params, grp->n_params, param_name,
                     "ORT checkpoint: optimizer group '%s': duplicate parameter '%s'", grp->group_name);
    }
    CHECK_UNIQUE(ck->groups, ck->n_groups, group_name, "ORT checkpoint: duplicate optimizer group '%s'");
    if (ck->n_properties && !ck->properties)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: property list is NULL");
    for (size_t i = 0; i < ck->n_properties; i++) {
        const ot_ort_property_t *p = &ck->properties[i];
        if (!p->name || !*p->name)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: property %zu has no name", i);
        if ((unsigned)p->type >= OT_ORT_PROPERTY_TYPE_COUNT)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: property '%s' has an unknown type %d",
                                    p->name, (int)p->type);
        if (p->type == OT_ORT_PROPERTY_STRING && !p->s)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ORT checkpoint: string property '%s' has no value",
                                    p->name);
    }
    CHECK_UNIQUE(ck->properties, ck->n_properties, name, "ORT checkpoint: duplicate property '%s'");
    return NULL;
}

ot_status_t *ot_ort_checkpoint_serialize(const ot_ort_checkpoint_t *ck, uint8_t **buf, size_t *len) {
    if (!ck || !buf || !len)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_serialize: NULL argument");
    *buf = NULL;
    *len = 0;
    ot_status_t *st = check_checkpoint(ck);
    if (st) return st;
    writer_t w = {NULL, 0, 0, false};
    w_put(&w, NULL, 4);        /* root offset */
    w_put(&w, FILE_ID, 4);     /* file identifier */

    bool has_module = ck->n_trainable || ck->n_frozen || ck->is_nominal_state;
    bool has_bag = ck->n_properties > 0;
    /* Checkpoint: version, module_state, optimizer_groups, property_bag */
    wfield_t root[4] = {scalar(FK_I32, OT_ORT_CHECKPOINT_VERSION), has_module ? ref() : scalar(FK_NONE, 0), ref(),
                        has_bag ? ref() : scalar(FK_NONE, 0)};
    size_t rpos = w_table(&w, root, 4);
    w_link(&w, 0, rpos);

    if (has_module) {
        wfield_t ms[3] = {ref(), ref(), scalar(FK_BOOL, ck->is_nominal_state)};
        w_link(&w, root[1].slot, w_table(&w, ms, 3));
        w_tensor_list(&w, ms[0].slot, ck->trainable, ck->n_trainable, ck->is_nominal_state);
        w_tensor_list(&w, ms[1].slot, ck->frozen, ck->n_frozen, ck->is_nominal_state);
    }

    size_t groups = w_ref_vector(&w, ck->n_groups);
    w_link(&w, root[2].slot, groups);
    for (size_t g = 0; g < ck->n_groups && !w.oom; g++) {
        const ot_ort_optimizer_group_t *grp = &ck->groups[g];
        uint32_t lr_bits;
        memcpy(&lr_bits, &grp->initial_learning_rate, 4);
        wfield_t gf[4] = {ref(), scalar(FK_I64, (uint64_t)grp->step), scalar(FK_F32, lr_bits), ref()};
        w_link(&w, groups + 4 + 4 * g, w_table(&w, gf, 4));
        w_link(&w, gf[0].slot, w_string(&w, grp->group_name));
        size_t states = w_ref_vector(&w, grp->n_params);
        w_link(&w, gf[3].slot, states);
        for (size_t p = 0; p < grp->n_params && !w.oom; p++) {
            const ot_ort_param_state_t *ps = &grp->params[p];
            wfield_t pf[2] = {ref(), ref()};
            w_link(&w, states + 4 + 4 * p, w_table(&w, pf, 2));
            w_link(&w, pf[0].slot, w_string(&w, ps->param_name));
            w_tensor_list(&w, pf[1].slot, ps->momentums, ps->n_momentums, false);
        }
    }

    if (has_bag) {
        wfield_t bf[3] = {ref(), ref(), ref()};
        w_link(&w, root[3].slot, w_table(&w, bf, 3));
        for (int type = 0; type < 3; type++) {
            size_t n = 0;
            for (size_t i = 0; i < ck->n_properties; i++) n += (int)ck->properties[i].type == type;
            size_t vec = w_ref_vector(&w, n);
            w_link(&w, bf[type].slot, vec);
            size_t k = 0;
            for (size_t i = 0; i < ck->n_properties && !w.oom; i++) {
                const ot_ort_property_t *p = &ck->properties[i];
                if ((int)p->type != type) continue;
                uint32_t fbits;
                memcpy(&fbits, &p->f, 4);
                wfield_t pf[2] = {ref(), type == OT_ORT_PROPERTY_INT     ? scalar(FK_I64, (uint64_t)p->i)
                                         : type == OT_ORT_PROPERTY_FLOAT ? scalar(FK_F32, fbits)
                                                                         : ref()};
                w_link(&w, vec + 4 + 4 * k++, w_table(&w, pf, 2));
                w_link(&w, pf[0].slot, w_string(&w, p->name));
                if (type == OT_ORT_PROPERTY_STRING) w_link(&w, pf[1].slot, w_string(&w, p->s));
            }
        }
    }
    if (w.oom) {
        free(w.buf);
        return ot_status_create(OT_ERR_NO_MEMORY,
                                "ORT checkpoint: out of memory or larger than the 2 GiB FlatBuffer limit");
    }
    *buf = w.buf;
    *len = w.len;
    return NULL;
}

ot_status_t *ot_ort_checkpoint_save(const ot_ort_checkpoint_t *ckpt, const char *path) {
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_ort_checkpoint_save: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_ort_checkpoint_serialize(ckpt, &buf, &len);
    if (st) return ot_status_wrap(st, "cannot save '%s'", path);
    st = ot_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}
