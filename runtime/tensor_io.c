/* runtime/tensor_io.c: tensors from and to files, and the one converter
 * from onnx.TensorProto used for initializers, attribute tensors and
 * standalone .pb files alike (ot_tensor_from_proto), including external
 * data kept inside the model's folder.
 *
 * Also reads NumPy .npy files (v1-v3, little-endian, C order). Not a
 * general NumPy parser: structured, object and string dtypes are refused.
 * Assumes a little-endian host (x86): raw_data is copied as is.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/onnx_io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnxtrain assumes a little-endian host (raw_data and .npy are copied as is)"
#endif

/* ---- small helpers ------------------------------------------------------- */

const char *ot_dims_str(const int64_t *dims, size_t n, char *buf, size_t len) {
    size_t pos = 0;
    pos += (size_t)snprintf(buf, len, "(");
    for (size_t i = 0; i < n && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (pos < len) snprintf(buf + pos, len - pos, ")");
    return buf;
}

void ot_label(char *buf, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Names of ONNX data types we know but do not support (for messages). */
static const char *onnx_dtype_name(int32_t dt) {
    switch (dt) {
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    default: return ot_dtype_name((ot_dtype_t)dt);
    }
}

ot_status_t *ot_dtype_from_onnx(int32_t dt, const char *what, ot_dtype_t *out) {
    if (dt == OT_DTYPE_STRING)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
    if (dt > OT_DTYPE_UNDEFINED && dt < OT_DTYPE_COUNT && ot_dtype_size((ot_dtype_t)dt) > 0) {
        *out = (ot_dtype_t)dt;
        return NULL;
    }
    if (dt >= 17 && dt <= 23)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s: data type %s (%d) is not supported", what, onnx_dtype_name(dt),
                                (int)dt);
    return ot_status_create(OT_ERR_INVALID_MODEL, "%s: unknown data type %d", what, (int)dt);
}

/* A TensorProto's data_type: present and supported. */
static ot_status_t *check_dtype(bool has, int32_t dt, const char *what, ot_dtype_t *out) {
    if (!has || dt == OT_DTYPE_UNDEFINED)
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: data_type is missing (UNDEFINED)", what);
    return ot_dtype_from_onnx(dt, what, out);
}

/* dims -> shape and byte size. The product of the non-zero dims times the
 * element size must fit in int64 (and size_t), so strides computed later
 * cannot overflow even for zero-size tensors. */
ot_status_t *ot_dims_check(const int64_t *dims, size_t n, ot_dtype_t dt, const char *what, ot_shape_t *shape,
                          size_t *nbytes) {
    char buf[256];
    if (n > OT_MAX_RANK)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s: rank %zu exceeds the maximum rank %d", what, n, OT_MAX_RANK);
    int64_t es = (int64_t)ot_dtype_size(dt), prod = es, numel = 1;
    shape->rank = (int)n;
    for (size_t i = 0; i < OT_MAX_RANK; i++) shape->dims[i] = 0;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 0)
            return ot_status_create(OT_ERR_INVALID_MODEL, "%s: dims %s has a negative dimension", what,
                                    ot_dims_str(dims, n, buf, sizeof buf));
        shape->dims[i] = dims[i];
        if (dims[i] == 0) {
            numel = 0;
            continue;
        }
        if (prod > INT64_MAX / dims[i] || (uint64_t)prod * (uint64_t)dims[i] > (uint64_t)SIZE_MAX)
            return ot_status_create(OT_ERR_INVALID_MODEL, "%s: dims %s of %s overflow the addressable size", what,
                                    ot_dims_str(dims, n, buf, sizeof buf), ot_dtype_name(dt));
        prod *= dims[i];
    }
    *nbytes = numel ? (size_t)prod : 0;
    return NULL;
}

void *ot_tensor_alloc_arena(void *ctx, const ot_tensor_t *hdr, size_t nbytes) {
    (void)hdr;
    return ot_arena_alloc((ot_arena_t *)ctx, nbytes);
}

/* ---- files --------------------------------------------------------------- */

ot_status_t *ot_file_read(const char *path, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ot_status_create(OT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    ot_status_t *st = NULL;
    uint8_t *data = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = ot_status_create(OT_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = ot_status_create(OT_ERR_IO, "'%s' is not a regular file", path);
        goto fail;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size >= (uint64_t)SIZE_MAX) {
        st = ot_status_create(OT_ERR_IO, "'%s' is too large (%lld bytes)", path, (long long)sb.st_size);
        goto fail;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    data = malloc(size ? size : 1);
    if (!data) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "cannot allocate %zu bytes to read '%s'", size, path);
        goto fail;
    }
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = ot_status_create(OT_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0) {
            st = ot_status_create(OT_ERR_IO, "'%s' shrank while being read (%zu of %zu bytes)", path, got, size);
            goto fail;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = data;
    *len = size;
    return NULL;
fail:
    free(data);
    close(fd);
    return st;
}

/* ---- external data ------------------------------------------------------- */

/* Strict non-negative decimal integer. */
static bool parse_nonneg(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool has_dotdot_component(const char *p) {
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return true;
        s += n;
        if (*s == '/') s++;
    }
    return false;
}

/* Reads the external data of `tp` (nbytes expected) into a buffer from
 * `alloc`. The file must resolve (symlinks included) inside `dir`. */
static ot_status_t *read_external(const Onnx__TensorProto *tp, const char *what, const char *dir, size_t nbytes,
                                  ot_tensor_alloc_fn alloc, void *alloc_ctx, const ot_tensor_t *hdr, void **data) {
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key) continue;
        if (strcmp(e->key, "location") == 0) loc = e->value;
        else if (strcmp(e->key, "offset") == 0) off_s = e->value;
        else if (strcmp(e->key, "length") == 0) len_s = e->value;
        /* "checksum" and unknown keys are ignored */
    }
    if (!loc || !*loc) return ot_status_create(OT_ERR_INVALID_MODEL, "%s: external data has no location", what);
    int64_t offset = 0, length = -1;
    if (off_s && !parse_nonneg(off_s, &offset))
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "%s: external data '%s' has offset '%s' (not a non-negative integer)", what, loc,
                                off_s);
    if (len_s && !parse_nonneg(len_s, &length))
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "%s: external data '%s' has length '%s' (not a non-negative integer)", what, loc,
                                len_s);
    if (!dir)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                "%s: external data '%s' cannot be read: the model was loaded from memory without a "
                                "base folder",
                                what, loc);
    if (loc[0] == '/')
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: external data location '%s' is an absolute path", what, loc);
    if (has_dotdot_component(loc))
        return ot_status_create(OT_ERR_INVALID_MODEL,
                                "%s: external data location '%s' has a '..' component (must stay in the model folder)",
                                what, loc);
    if (length >= 0 && (uint64_t)length != (uint64_t)nbytes) {
        char buf[256];
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: external data '%s' has length %lld, dims %s of %s need %zu",
                                what, loc, (long long)length,
                                ot_dims_str(hdr->shape.dims, (size_t)hdr->shape.rank, buf, sizeof buf),
                                ot_dtype_name(hdr->dtype), nbytes);
    }

    ot_status_t *st = NULL;
    char *joined = NULL, *real_dir = NULL, *real_file = NULL;
    int fd = -1;
    size_t jlen = strlen(dir) + strlen(loc) + 2;
    joined = malloc(jlen);
    if (!joined) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "%s: out of memory", what);
        goto done;
    }
    snprintf(joined, jlen, "%s/%s", dir, loc);
    real_dir = realpath(dir, NULL);
    if (!real_dir) {
        st = ot_status_create(OT_ERR_IO, "%s: cannot resolve the model folder '%s': %s", what, dir, strerror(errno));
        goto done;
    }
    real_file = realpath(joined, NULL);
    if (!real_file) {
        st = ot_status_create(OT_ERR_IO, "%s: cannot open external data '%s' (%s): %s", what, loc, joined,
                              strerror(errno));
        goto done;
    }
    size_t dl = strlen(real_dir);
    bool inside = strcmp(real_dir, "/") == 0
                      ? real_file[0] == '/'
                      : strncmp(real_file, real_dir, dl) == 0 && (real_file[dl] == '/' || !real_file[dl]);
    if (!inside) {
        st = ot_status_create(OT_ERR_INVALID_MODEL,
                              "%s: external data location '%s' resolves to '%s', outside the model folder '%s'", what,
                              loc, real_file, real_dir);
        goto done;
    }
    fd = open(real_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        st = ot_status_create(OT_ERR_IO, "%s: cannot open external data '%s': %s", what, loc, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ot_status_create(OT_ERR_IO, "%s: external data '%s' is not a regular file", what, loc);
        goto done;
    }
    if ((uint64_t)offset > (uint64_t)sb.st_size || (uint64_t)nbytes > (uint64_t)sb.st_size - (uint64_t)offset) {
        st = ot_status_create(OT_ERR_INVALID_MODEL,
                              "%s: external data '%s' (offset %lld, length %zu) extends past the end of the file "
                              "(%lld bytes)",
                              what, loc, (long long)offset, nbytes, (long long)sb.st_size);
        goto done;
    }
    uint8_t *dst = alloc(alloc_ctx, hdr, nbytes);
    if (!dst) {
        st = ot_status_create(OT_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", what, nbytes);
        goto done;
    }
    for (size_t got = 0; got < nbytes;) {
        ssize_t r = pread(fd, dst + got, nbytes - got, (off_t)(offset + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            st = ot_status_create(OT_ERR_IO, "%s: cannot read external data '%s': %s", what, loc,
                                  r < 0 ? strerror(errno) : "unexpected end of file");
            goto done;
        }
        got += (size_t)r;
    }
    *data = dst;
done:
    if (fd >= 0) close(fd);
    free(joined);
    free(real_dir);
    free(real_file);
    return st;
}

/* ---- TensorProto -> tensor ----------------------------------------------- */

/* The typed field that carries each dtype, and values per element. */
typedef enum { F_FLOAT, F_INT32, F_INT64, F_DOUBLE, F_UINT64, F_COUNT } field_t;
static const char *const field_names[F_COUNT] = {"float_data", "int32_data", "int64_data", "double_data",
                                                 "uint64_data"};

static field_t typed_field(ot_dtype_t dt, int *per_elem) {
    *per_elem = 1;
    switch (dt) {
    case OT_DTYPE_FLOAT: return F_FLOAT;
    case OT_DTYPE_COMPLEX64: *per_elem = 2; return F_FLOAT;
    case OT_DTYPE_DOUBLE: return F_DOUBLE;
    case OT_DTYPE_COMPLEX128: *per_elem = 2; return F_DOUBLE;
    case OT_DTYPE_INT64: return F_INT64;
    case OT_DTYPE_UINT32:
    case OT_DTYPE_UINT64: return F_UINT64;
    default: return F_INT32; /* int32 and narrower, bool, float16, bfloat16 */
    }
}

ot_status_t *ot_tensor_from_proto(const Onnx__TensorProto *tp, const char *what, const char *dir,
                                  ot_tensor_alloc_fn alloc, void *alloc_ctx, ot_tensor_t *out) {
    char buf[256];
    ot_tensor_t hdr;
    memset(&hdr, 0, sizeof hdr);
    size_t nbytes = 0;
    ot_status_t *st = check_dtype(tp->has_data_type, tp->data_type, what, &hdr.dtype);
    if (st) return st;
    if ((st = ot_dims_check(tp->dims, tp->n_dims, hdr.dtype, what, &hdr.shape, &nbytes))) return st;
    if (tp->segment)
        return ot_status_create(OT_ERR_UNSUPPORTED, "%s: segmented tensors (segment field) are not supported", what);
    const char *dims = ot_dims_str(tp->dims, tp->n_dims, buf, sizeof buf);
    const char *dname = ot_dtype_name(hdr.dtype);
    size_t es = ot_dtype_size(hdr.dtype);
    size_t numel = nbytes / es;

    int per = 1;
    field_t want = typed_field(hdr.dtype, &per);
    const size_t counts[F_COUNT] = {tp->n_float_data, tp->n_int32_data, tp->n_int64_data, tp->n_double_data,
                                    tp->n_uint64_data};
    if (tp->n_string_data)
        return ot_status_create(OT_ERR_INVALID_MODEL, "%s: string_data is not valid for a %s tensor", what, dname);
    for (int f = 0; f < F_COUNT; f++)
        if (f != (int)want && counts[f])
            return ot_status_create(OT_ERR_INVALID_MODEL, "%s: %s is not valid for a %s tensor", what, field_names[f],
                                    dname);

    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        if (tp->has_raw_data || counts[want])
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "%s: data_location is EXTERNAL but data is also stored inline", what);
        void *data = NULL;
        if ((st = read_external(tp, what, dir, nbytes, alloc, alloc_ctx, &hdr, &data))) return st;
        hdr.data = data;
    } else {
        if (tp->n_external_data)
            return ot_status_create(OT_ERR_INVALID_MODEL,
                                    "%s: has external_data entries but data_location is not EXTERNAL", what);
        if (tp->has_raw_data && counts[want])
            return ot_status_create(OT_ERR_INVALID_MODEL, "%s: has both raw_data and %s", what, field_names[want]);
        if (tp->has_raw_data) {
            if (tp->raw_data.len != nbytes)
                return ot_status_create(OT_ERR_INVALID_MODEL, "%s: raw_data has %zu bytes, dims %s of %s need %zu",
                                        what, tp->raw_data.len, dims, dname, nbytes);
        } else if (counts[want] != numel * (size_t)per) {
            if (counts[want] == 0)
                return ot_status_create(OT_ERR_INVALID_MODEL,
                                        "%s: has no data (no raw_data, %s or external data), dims %s of %s need %zu "
                                        "values",
                                        what, field_names[want], dims, dname, numel * (size_t)per);
            return ot_status_create(OT_ERR_INVALID_MODEL, "%s: %s has %zu values, dims %s of %s need %zu", what,
                                    field_names[want], counts[want], dims, dname, numel * (size_t)per);
        }
        uint8_t *dst = alloc(alloc_ctx, &hdr, nbytes);
        if (!dst) return ot_status_create(OT_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes", what, nbytes);
        if (tp->has_raw_data) {
            if (nbytes) memcpy(dst, tp->raw_data.data, nbytes);
        } else if (nbytes) {
            switch (want) {
            case F_FLOAT: memcpy(dst, tp->float_data, nbytes); break;
            case F_DOUBLE: memcpy(dst, tp->double_data, nbytes); break;
            case F_INT64: memcpy(dst, tp->int64_data, nbytes); break;
            case F_UINT64:
                if (hdr.dtype == OT_DTYPE_UINT64) {
                    memcpy(dst, tp->uint64_data, nbytes);
                } else {
                    for (size_t i = 0; i < numel; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
                }
                break;
            case F_INT32:
                /* narrower types keep the low bytes (fp16/bf16: the bit pattern) */
                for (size_t i = 0; i < numel; i++) {
                    uint32_t v = (uint32_t)tp->int32_data[i];
                    if (es == 4) ((uint32_t *)dst)[i] = v;
                    else if (es == 2) ((uint16_t *)dst)[i] = (uint16_t)v;
                    else dst[i] = (uint8_t)v;
                }
                break;
            default: break;
            }
        }
        hdr.data = dst;
    }
    if (hdr.dtype == OT_DTYPE_BOOL) /* any non-zero byte is true; keep bools 0/1 */
        for (size_t i = 0; i < nbytes; i++) ((uint8_t *)hdr.data)[i] = ((uint8_t *)hdr.data)[i] != 0;
    *out = hdr;
    return NULL;
}

void ot_tensor_to_proto(const ot_tensor_t *t, const char *name, const char *doc_string, int64_t *dims,
                        Onnx__TensorProto *tp) {
    int rank = t->shape.rank < 0 ? 0 : t->shape.rank;
    for (int i = 0; i < rank; i++) dims[i] = t->shape.dims[i];
    tp->n_dims = (size_t)rank;
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->name = (char *)name;
    tp->doc_string = (char *)doc_string;
    tp->has_raw_data = 1;
    tp->raw_data.len = ot_tensor_nbytes(t);
    tp->raw_data.data = tp->raw_data.len ? (uint8_t *)t->data : NULL;
}

/* ---- .npy ---------------------------------------------------------------- */

typedef struct npy_header {
    char descr[16];
    bool have_descr, have_order, have_shape, fortran;
    int64_t dims[OT_MAX_RANK + 1];
    size_t rank;
} npy_header_t;

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* A quoted Python string; copies at most cap-1 chars. NULL on error. */
static const char *npy_string(const char *p, char *out, size_t cap) {
    char q = *p;
    if (q != '\'' && q != '"') return NULL;
    const char *e = strchr(p + 1, q);
    if (!e || (size_t)(e - p - 1) >= cap) return NULL;
    memcpy(out, p + 1, (size_t)(e - p - 1));
    out[e - p - 1] = 0;
    return e + 1;
}

/* Parses the header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
static ot_status_t *npy_parse_header(const char *h, const char *path, npy_header_t *hd) {
    const char *p = skip_ws(h);
    char key[32];
    if (*p++ != '{') goto bad;
    for (;;) {
        p = skip_ws(p);
        if (*p == '}') break;
        if (!(p = npy_string(p, key, sizeof key))) goto bad;
        p = skip_ws(p);
        if (*p++ != ':') goto bad;
        p = skip_ws(p);
        if (strcmp(key, "descr") == 0) {
            if (*p == '[')
                return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': structured dtypes are not supported", path);
            if (!(p = npy_string(p, hd->descr, sizeof hd->descr))) goto bad;
            hd->have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (strncmp(p, "True", 4) == 0) hd->fortran = true, p += 4;
            else if (strncmp(p, "False", 5) == 0) hd->fortran = false, p += 5;
            else goto bad;
            hd->have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (*p++ != '(') goto bad;
            for (;;) {
                p = skip_ws(p);
                if (*p == ')') break;
                if (*p < '0' || *p > '9') goto bad;
                int64_t v = 0;
                for (; *p >= '0' && *p <= '9'; p++) {
                    if (v > (INT64_MAX - 9) / 10) goto bad;
                    v = v * 10 + (*p - '0');
                }
                if (*p == 'L') p++; /* Python 2 longs */
                if (hd->rank > OT_MAX_RANK)
                    return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': rank exceeds the maximum rank %d", path,
                                            OT_MAX_RANK);
                hd->dims[hd->rank++] = v;
                p = skip_ws(p);
                if (*p == ',') p++;
                else if (*p != ')') goto bad;
            }
            p++;
            hd->have_shape = true;
        } else {
            goto bad;
        }
        p = skip_ws(p);
        if (*p == ',') p++;
        else if (*p != '}') goto bad;
    }
    if (!hd->have_descr || !hd->have_order || !hd->have_shape) goto bad;
    return NULL;
bad:
    return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': malformed header '%.200s'", path, h);
}

static ot_status_t *npy_dtype(const char *descr, const char *path, ot_dtype_t *out) {
    static const struct {
        const char *code;
        ot_dtype_t dtype;
    } table[] = {
        {"f2", OT_DTYPE_FLOAT16},   {"f4", OT_DTYPE_FLOAT},       {"f8", OT_DTYPE_DOUBLE}, {"i1", OT_DTYPE_INT8},
        {"i2", OT_DTYPE_INT16},     {"i4", OT_DTYPE_INT32},       {"i8", OT_DTYPE_INT64},  {"u1", OT_DTYPE_UINT8},
        {"u2", OT_DTYPE_UINT16},    {"u4", OT_DTYPE_UINT32},      {"u8", OT_DTYPE_UINT64}, {"b1", OT_DTYPE_BOOL},
        {"c8", OT_DTYPE_COMPLEX64}, {"c16", OT_DTYPE_COMPLEX128},
    };
    char order = descr[0];
    if (order != '<' && order != '|' && order != '=' && order != '>')
        return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': dtype '%s' is not supported", path, descr);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(descr + 1, table[i].code) != 0) continue;
        if (order == '>' && ot_dtype_size(table[i].dtype) > 1)
            return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': big-endian dtype '%s' is not supported", path,
                                    descr);
        *out = table[i].dtype;
        return NULL;
    }
    return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': dtype '%s' is not supported", path, descr);
}

ot_status_t *ot_npy_parse(const uint8_t *buf, size_t len, const char *path, ot_tensor_t **out) {
    if (len < 6 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': not a .npy file (no \\x93NUMPY magic)", path);
    if (len < 10) return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': truncated header", path);
    int major = buf[6], minor = buf[7];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': truncated header", path);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': format version %d.%d is not supported", path, major,
                                minor);
    }
    if (hlen > len - hstart)
        return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': header of %zu bytes exceeds the file (%zu bytes)",
                                path, hlen, len);
    char *h = malloc(hlen + 1);
    if (!h) return ot_status_create(OT_ERR_NO_MEMORY, "npy '%s': out of memory", path);
    memcpy(h, buf + hstart, hlen);
    h[hlen] = 0;
    npy_header_t hd;
    memset(&hd, 0, sizeof hd);
    ot_status_t *st = npy_parse_header(h, path, &hd);
    free(h);
    if (st) return st;
    if (hd.fortran) return ot_status_create(OT_ERR_UNSUPPORTED, "npy '%s': fortran_order True is not supported", path);
    ot_dtype_t dt = OT_DTYPE_UNDEFINED;
    if ((st = npy_dtype(hd.descr, path, &dt))) return st;
    char what[64 + PATH_MAX];
    ot_label(what, sizeof what, "npy '%s'", path);
    ot_shape_t shape;
    size_t nbytes;
    if ((st = ot_dims_check(hd.dims, hd.rank, dt, what, &shape, &nbytes))) return st;
    size_t have = len - hstart - hlen;
    if (have != nbytes) {
        char dbuf[256];
        return ot_status_create(OT_ERR_INVALID_MODEL, "npy '%s': data has %zu bytes, shape %s of %s needs %zu", path,
                                have, ot_dims_str(hd.dims, hd.rank, dbuf, sizeof dbuf), ot_dtype_name(dt), nbytes);
    }
    if ((st = ot_tensor_create(dt, &shape, out))) return st;
    if (nbytes) memcpy((*out)->data, buf + hstart + hlen, nbytes);
    if (dt == OT_DTYPE_BOOL)
        for (size_t i = 0; i < nbytes; i++) ((uint8_t *)(*out)->data)[i] = ((uint8_t *)(*out)->data)[i] != 0;
    return NULL;
}

/* ---- public API ---------------------------------------------------------- */

/* ot_tensor_alloc_fn backed by ot_tensor_create (ctx: ot_tensor_t **). */
static void *alloc_owned(void *ctx, const ot_tensor_t *hdr, size_t nbytes) {
    (void)nbytes;
    ot_tensor_t **t = ctx;
    ot_status_t *st = ot_tensor_create(hdr->dtype, &hdr->shape, t);
    if (st) {
        ot_status_free(st);
        return NULL;
    }
    return (*t)->data;
}

ot_status_t *ot_tensor_load(const char *path, ot_tensor_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_tensor_load: out is NULL");
    *out = NULL;
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_tensor_load: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_file_read(path, &buf, &len);
    if (st) return st;
    if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) {
        st = ot_npy_parse(buf, len, path, out);
        free(buf);
        return st;
    }
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return ot_status_create(OT_ERR_INVALID_MODEL, "cannot parse '%s' as a NumPy .npy file or an ONNX TensorProto",
                                path);
    /* external data is looked up next to the .pb file */
    char *copy = strdup(path), *slash = copy ? strrchr(copy, '/') : NULL;
    const char *dir = !copy ? NULL : slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".";
    char what[64 + PATH_MAX];
    ot_label(what, sizeof what, "tensor '%s' in '%s'", tp->name ? tp->name : "", path);
    ot_tensor_t *t = NULL;
    ot_tensor_t hdr;
    st = copy ? ot_tensor_from_proto(tp, what, dir, alloc_owned, &t, &hdr)
              : ot_status_create(OT_ERR_NO_MEMORY, "out of memory");
    free(copy);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st) {
        ot_tensor_destroy(t);
        return st;
    }
    *out = t;
    return NULL;
}

ot_status_t *ot_tensor_save_pb(const ot_tensor_t *t, const char *name, const char *path) {
    if (!t || !path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_tensor_save_pb: NULL tensor or path");
    if (ot_dtype_size(t->dtype) == 0)
        return ot_status_create(OT_ERR_UNSUPPORTED, "ot_tensor_save_pb: dtype %s is not supported",
                                ot_dtype_name(t->dtype));
    if (t->shape.rank < 0 || t->shape.rank > OT_MAX_RANK || !ot_shape_known(&t->shape) ||
        (!t->data && ot_tensor_nbytes(t) > 0))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_tensor_save_pb: tensor '%s' has no data or unknown shape",
                                name ? name : "");
    Onnx__TensorProto tp;
    onnx__tensor_proto__init(&tp);
    int64_t dims[OT_MAX_RANK];
    ot_tensor_to_proto(t, name, NULL, dims, &tp);
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return ot_status_create(OT_ERR_NO_MEMORY, "ot_tensor_save_pb: cannot allocate %zu bytes", len);
    onnx__tensor_proto__pack(&tp, buf);
    ot_status_t *st = ot_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}
