/* runtime/npz.c: NumPy .npz archives (ZIP of .npy members), read and
 * written; see npz.h for what is and is not supported.
 *
 * ZIP layout (PKWARE APPNOTE 6.3): local file header + data per member,
 * then the central directory (one record per member), then the end of
 * central directory record (EOCD), preceded by a ZIP64 EOCD record and
 * locator when counts or offsets overflow 16/32 bits. The central
 * directory is authoritative (it is what np.load's zipfile reads); each
 * local header must agree with it. ZIP64 extra fields (id 0x0001) hold, in
 * order, only the 64-bit values whose 32-bit fields are 0xFFFFFFFF.
 * Deflated data is inflated with zlib (raw deflate); declared sizes are
 * bounded by deflate's maximum ratio before anything is allocated.
 */
#define _XOPEN_SOURCE 700

#include "runtime/npz.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "onnxtrain/onnxtrain.h"
#include "ops/op_util.h"
#include "runtime/onnx_io.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define EOCD_SIZE 22
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
/* deflate cannot expand more than about 1032:1 (RFC 1951 max match run) */
#define DEFLATE_MAX_RATIO 1032u

static uint16_t rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

typedef struct zreader {
    const uint8_t *p;
    size_t len;
    const char *src;
} zreader_t;

static ot_status_t *zbad(const zreader_t *z, ot_code_t code, const char *member, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static ot_status_t *zbad(const zreader_t *z, ot_code_t code, const char *member, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (member) return ot_status_create(code, "npz '%s': member '%s': %s", z->src, member, msg);
    return ot_status_create(code, "npz '%s': %s", z->src, msg);
}
#define ZBAD(z, member, ...) zbad((z), OT_ERR_INVALID_MODEL, (member), __VA_ARGS__)

/* One member as the central directory describes it. */
typedef struct member {
    char name[256 + 8];
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize, local;
} member_t;

/* Reads the ZIP64 extra field among `extra` (n bytes): replaces whichever
 * of usize, csize, offset hold 0xFFFFFFFF. `where` names the header. */
static ot_status_t *zip64_extra(const zreader_t *z, const char *member, const char *where, const uint8_t *extra,
                                size_t n, uint64_t *usize, uint64_t *csize, uint64_t *offset) {
    bool need_u = *usize == 0xFFFFFFFFu, need_c = *csize == 0xFFFFFFFFu, need_o = offset && *offset == 0xFFFFFFFFu;
    bool found = false;
    for (size_t i = 0; i < n;) {
        if (n - i < 4) return ZBAD(z, member, "%s: extra field is truncated", where);
        uint16_t id = rd16(extra + i), size = rd16(extra + i + 2);
        if (size > n - i - 4) return ZBAD(z, member, "%s: extra field 0x%04x overruns the extra data", where, id);
        if (id == 0x0001) {
            if (found) return ZBAD(z, member, "%s: two ZIP64 extra fields", where);
            found = true;
            const uint8_t *q = extra + i + 4;
            size_t need = 8u * ((size_t)need_u + (size_t)need_c + (size_t)need_o);
            if (size < need)
                return ZBAD(z, member, "%s: ZIP64 extra field of %u bytes lacks the 64-bit sizes (needs %zu)", where,
                            (unsigned)size, need);
            if (need_u) *usize = rd64(q), q += 8;
            if (need_c) *csize = rd64(q), q += 8;
            if (need_o) *offset = rd64(q);
        }
        i += 4 + (size_t)size;
    }
    if ((need_u || need_c || need_o) && !found)
        return ZBAD(z, member, "%s: sizes are 0xFFFFFFFF but there is no ZIP64 extra field", where);
    return NULL;
}

/* Locates the central directory: *cd_off, *cd_size, *count. */
static ot_status_t *find_central(const zreader_t *z, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count,
                                 size_t *cd_end) {
    if (z->len < EOCD_SIZE) return ZBAD(z, NULL, "file of %zu bytes is too short for a ZIP archive", z->len);
    /* the EOCD is the last record; a comment of up to 65535 bytes may follow */
    size_t eocd = SIZE_MAX;
    size_t lowest = z->len > EOCD_SIZE + 0xFFFFu ? z->len - EOCD_SIZE - 0xFFFFu : 0;
    for (size_t pos = z->len - EOCD_SIZE + 1; pos-- > lowest;) {
        if (rd32(z->p + pos) == SIG_EOCD && pos + EOCD_SIZE + rd16(z->p + pos + 20) == z->len) {
            eocd = pos;
            break;
        }
    }
    if (eocd == SIZE_MAX)
        return ZBAD(z, NULL, "no end of central directory record (not a ZIP archive, or truncated)");
    const uint8_t *e = z->p + eocd;
    uint16_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8), n = rd16(e + 10);
    *count = n;
    *cd_size = rd32(e + 12);
    *cd_off = rd32(e + 16);
    *cd_end = eocd;
    bool zip64 = n == 0xFFFF || *cd_size == 0xFFFFFFFFu || *cd_off == 0xFFFFFFFFu;
    if (!zip64 && (disk || cd_disk || n_disk != n))
        return zbad(z, OT_ERR_UNSUPPORTED, NULL, "multi-disk (split) archives are not supported");
    if (eocd >= 20 && rd32(z->p + eocd - 20) == SIG_LOCATOR64) {
        const uint8_t *l = z->p + eocd - 20;
        uint64_t off = rd64(l + 8);
        if (rd32(l + 4) != 0 || rd32(l + 16) != 1)
            return zbad(z, OT_ERR_UNSUPPORTED, NULL, "multi-disk (split) archives are not supported");
        if (off > eocd - 20 || eocd - 20 - off < 56)
            return ZBAD(z, NULL, "ZIP64 end of central directory offset %llu is outside the archive",
                        (unsigned long long)off);
        const uint8_t *r = z->p + off;
        if (rd32(r) != SIG_EOCD64)
            return ZBAD(z, NULL, "ZIP64 end of central directory record at %llu has a bad signature",
                        (unsigned long long)off);
        if (rd32(r + 16) != 0 || rd32(r + 20) != 0 || rd64(r + 24) != rd64(r + 32))
            return zbad(z, OT_ERR_UNSUPPORTED, NULL, "multi-disk (split) archives are not supported");
        *count = rd64(r + 32);
        *cd_size = rd64(r + 40);
        *cd_off = rd64(r + 48);
        *cd_end = (size_t)off;
    } else if (zip64) {
        return ZBAD(z, NULL, "end of central directory needs ZIP64 values but has no ZIP64 locator");
    }
    if (*cd_off > *cd_end || *cd_size > *cd_end - *cd_off)
        return ZBAD(z, NULL, "central directory (offset %llu, %llu bytes) lies outside the archive",
                    (unsigned long long)*cd_off, (unsigned long long)*cd_size);
    if (*count > *cd_size / CENTRAL_SIZE)
        return ZBAD(z, NULL, "central directory of %llu bytes cannot hold %llu entries", (unsigned long long)*cd_size,
                    (unsigned long long)*count);
    return NULL;
}

/* Central directory record at *pos (advanced past it). */
static ot_status_t *read_central(const zreader_t *z, size_t *pos, size_t end, size_t i, member_t *m) {
    char label[32];
    snprintf(label, sizeof label, "#%zu", i);
    if (end - *pos < CENTRAL_SIZE)
        return ZBAD(z, label, "central directory record is truncated");
    const uint8_t *c = z->p + *pos;
    if (rd32(c) != SIG_CENTRAL) return ZBAD(z, label, "central directory record has a bad signature");
    m->flags = rd16(c + 8);
    m->method = rd16(c + 10);
    m->crc = rd32(c + 16);
    m->csize = rd32(c + 20);
    m->usize = rd32(c + 24);
    uint16_t name_len = rd16(c + 28), extra_len = rd16(c + 30), comment_len = rd16(c + 32);
    uint16_t disk = rd16(c + 34);
    m->local = rd32(c + 42);
    size_t total = (size_t)CENTRAL_SIZE + name_len + extra_len + comment_len;
    if (total > end - *pos)
        return ZBAD(z, label, "central directory record (name, extra, comment: %zu bytes) overruns the directory",
                    total);
    if (name_len == 0) return ZBAD(z, label, "member name is empty");
    if (name_len >= sizeof m->name - 1) return ZBAD(z, label, "member name of %u bytes is too long", name_len);
    memcpy(m->name, c + CENTRAL_SIZE, name_len);
    m->name[name_len] = 0;
    if (memchr(c + CENTRAL_SIZE, 0, name_len)) return ZBAD(z, label, "member name contains a NUL byte");
    ot_status_t *st = zip64_extra(z, m->name, "central directory", c + CENTRAL_SIZE + name_len, extra_len,
                                  &m->usize, &m->csize, &m->local);
    if (st) return st;
    if (disk != 0 && disk != 0xFFFF)
        return zbad(z, OT_ERR_UNSUPPORTED, m->name, "member on disk %u: multi-disk archives are not supported",
                    (unsigned)disk);
    *pos += total;
    return NULL;
}

/* Checks the member's local header and returns its data position. */
static ot_status_t *read_local(const zreader_t *z, const member_t *m, size_t cd_off, size_t *data) {
    if (m->local > cd_off || cd_off - m->local < LOCAL_SIZE)
        return ZBAD(z, m->name, "local header offset %llu is outside the member area (central directory at %zu)",
                    (unsigned long long)m->local, cd_off);
    const uint8_t *l = z->p + m->local;
    if (rd32(l) != SIG_LOCAL) return ZBAD(z, m->name, "local header at %llu has a bad signature",
                                          (unsigned long long)m->local);
    uint16_t flags = rd16(l + 6), method = rd16(l + 8), name_len = rd16(l + 26), extra_len = rd16(l + 28);
    uint32_t crc = rd32(l + 14);
    uint64_t csize = rd32(l + 18), usize = rd32(l + 22);
    size_t hdr = (size_t)LOCAL_SIZE + name_len + extra_len;
    if (hdr > cd_off - m->local) return ZBAD(z, m->name, "local header overruns the member area");
    if (name_len != strlen(m->name) || memcmp(l + LOCAL_SIZE, m->name, name_len) != 0)
        return ZBAD(z, m->name, "local header names '%.*s', the central directory '%s'", (int)name_len,
                    (const char *)l + LOCAL_SIZE, m->name);
    if (method != m->method)
        return ZBAD(z, m->name, "local header has compression method %u, the central directory %u", method,
                    m->method);
    if ((flags & FLAG_ENCRYPTED) != (m->flags & FLAG_ENCRYPTED))
        return ZBAD(z, m->name, "local header and central directory disagree on encryption");
    if (!(flags & FLAG_DESCRIPTOR)) {
        /* sizes and CRC are in the local header itself */
        ot_status_t *st = zip64_extra(z, m->name, "local header", l + LOCAL_SIZE + name_len, extra_len, &usize,
                                      &csize, NULL);
        if (st) return st;
        if (crc != m->crc)
            return ZBAD(z, m->name, "local header CRC-32 %08x differs from the central directory's %08x", crc,
                        m->crc);
        if (csize != m->csize || usize != m->usize)
            return ZBAD(z, m->name,
                        "local header sizes (compressed %llu, uncompressed %llu) differ from the central "
                        "directory's (%llu, %llu)",
                        (unsigned long long)csize, (unsigned long long)usize, (unsigned long long)m->csize,
                        (unsigned long long)m->usize);
    }
    size_t start = (size_t)m->local + hdr;
    if (m->csize > cd_off - start)
        return ZBAD(z, m->name, "compressed data of %llu bytes at %zu runs into the central directory (at %zu)",
                    (unsigned long long)m->csize, start, cd_off);
    *data = start;
    return NULL;
}

/* The member's uncompressed bytes (malloc()ed), CRC-checked. */
static ot_status_t *extract(const zreader_t *z, const member_t *m, size_t data, uint8_t **out) {
    *out = NULL;
    if (m->flags & FLAG_ENCRYPTED) return zbad(z, OT_ERR_UNSUPPORTED, m->name, "encrypted members are not supported");
    if (m->method != METHOD_STORED && m->method != METHOD_DEFLATE)
        return zbad(z, OT_ERR_UNSUPPORTED, m->name,
                    "compression method %u is not supported (stored and deflate are)", m->method);
    if (m->method == METHOD_STORED && m->csize != m->usize)
        return ZBAD(z, m->name, "stored member has compressed size %llu but uncompressed size %llu",
                    (unsigned long long)m->csize, (unsigned long long)m->usize);
    if (m->method == METHOD_DEFLATE && m->usize > (m->csize + 1) * DEFLATE_MAX_RATIO)
        return ZBAD(z, m->name, "uncompressed size %llu is impossible for %llu bytes of deflate data",
                    (unsigned long long)m->usize, (unsigned long long)m->csize);
    if (m->usize >= SIZE_MAX || m->usize > (uint64_t)UINT32_MAX * DEFLATE_MAX_RATIO)
        return ZBAD(z, m->name, "uncompressed size %llu is too large", (unsigned long long)m->usize);
    size_t n = (size_t)m->usize;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return ot_status_create(OT_ERR_NO_MEMORY, "npz '%s': member '%s': cannot allocate %zu bytes", z->src,
                                      m->name, n);
    if (m->method == METHOD_STORED) {
        if (n) memcpy(buf, z->p + data, n);
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
            free(buf);
            return ot_status_create(OT_ERR_NO_MEMORY, "npz '%s': member '%s': cannot initialize zlib", z->src,
                                    m->name);
        }
        /* feed and drain in chunks (zlib counts in uInt); once the declared
         * size is reached, a 1-byte spill buffer catches any extra output */
        const uint8_t *in = z->p + data;
        uint64_t in_left = m->csize;
        size_t out_done = 0;
        bool overflow = false;
        uint8_t spill[1];
        int rc;
        for (;;) {
            if (s.avail_in == 0 && in_left) {
                s.next_in = (Bytef *)(uintptr_t)in;
                s.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
                in += s.avail_in;
                in_left -= s.avail_in;
            }
            size_t room = out_done < n ? (n - out_done > (1u << 30) ? (1u << 30) : n - out_done) : 1;
            s.next_out = out_done < n ? buf + out_done : spill;
            s.avail_out = (uInt)room;
            rc = inflate(&s, Z_NO_FLUSH);
            size_t produced = room - s.avail_out;
            if (out_done >= n && produced) {
                overflow = true;
                break;
            }
            out_done += produced;
            if (rc == Z_STREAM_END) break;
            if (rc == Z_BUF_ERROR && s.avail_in == 0 && in_left) continue;
            if (rc != Z_OK) break;
        }
        size_t consumed = (size_t)(m->csize - in_left - s.avail_in);
        inflateEnd(&s);
        ot_status_t *st = NULL;
        if (overflow)
            st = ZBAD(z, m->name, "deflate data expands past the declared %zu bytes", n);
        else if (rc != Z_STREAM_END)
            st = ZBAD(z, m->name, "deflate data is corrupt or truncated (zlib: %s)",
                      rc == Z_DATA_ERROR ? "invalid data" : rc == Z_BUF_ERROR ? "unexpected end" : "error");
        else if (out_done != n)
            st = ZBAD(z, m->name, "deflate data expands to %zu bytes, the header says %zu", out_done, n);
        else if (consumed != m->csize)
            st = ZBAD(z, m->name, "deflate stream ends after %zu of %llu compressed bytes", consumed,
                      (unsigned long long)m->csize);
        if (st) {
            free(buf);
            return st;
        }
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n;) {
        uInt chunk = (uInt)(n - off > (1u << 30) ? (1u << 30) : n - off);
        crc = crc32(crc, buf + off, chunk);
        off += chunk;
    }
    if ((uint32_t)crc != m->crc) {
        free(buf);
        return ZBAD(z, m->name, "CRC-32 of the data is %08x, the header says %08x", (unsigned)crc, m->crc);
    }
    *out = buf;
    return NULL;
}

void ot_npz_destroy(ot_npz_t *npz) {
    if (!npz) return;
    for (size_t i = 0; i < npz->n; i++) {
        free(npz->entries[i].name);
        ot_tensor_destroy(npz->entries[i].tensor);
    }
    free(npz->entries);
    free(npz);
}

const ot_tensor_t *ot_npz_find(const ot_npz_t *npz, const char *name) {
    if (!npz || !name) return NULL;
    for (size_t i = 0; i < npz->n; i++)
        if (strcmp(npz->entries[i].name, name) == 0) return npz->entries[i].tensor;
    return NULL;
}

ot_status_t *ot_npz_load_bytes(const void *bytes, size_t len, const char *what, ot_npz_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_load_bytes: out is NULL");
    *out = NULL;
    if (!bytes && len) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_load_bytes: bytes is NULL");
    zreader_t z = {bytes ? bytes : (const uint8_t *)"", len, what ? what : "<memory>"};
    uint64_t cd_off = 0, cd_size = 0, count = 0;
    size_t cd_end = 0;
    ot_status_t *st = find_central(&z, &cd_off, &cd_size, &count, &cd_end);
    if (st) return st;
    ot_npz_t *npz = calloc(1, sizeof *npz);
    if (!npz || (count && !(npz->entries = calloc((size_t)count, sizeof *npz->entries)))) {
        free(npz);
        return ot_status_create(OT_ERR_NO_MEMORY, "npz '%s': out of memory", z.src);
    }
    size_t pos = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
    for (size_t i = 0; i < count; i++) {
        member_t m;
        size_t data = 0;
        uint8_t *raw = NULL;
        if ((st = read_central(&z, &pos, end, i, &m))) goto fail;
        size_t nl = strlen(m.name);
        if (nl <= 4 || strcmp(m.name + nl - 4, ".npy") != 0) {
            st = ZBAD(&z, m.name, "is not a .npy member (name must end in '.npy' and not be empty before it)");
            goto fail;
        }
        m.name[nl - 4] = 0;
        if (ot_npz_find(npz, m.name)) {
            st = ZBAD(&z, NULL, "member '%s.npy' appears twice", m.name);
            goto fail;
        }
        m.name[nl - 4] = '.';
        if ((st = read_local(&z, &m, (size_t)cd_off, &data))) goto fail;
        if ((st = extract(&z, &m, data, &raw))) goto fail;
        char label[PATH_MAX + 300];
        ot_label(label, sizeof label, "%s:%s", z.src, m.name);
        ot_tensor_t *t = NULL;
        st = ot_npy_parse(raw, (size_t)m.usize, label, &t);
        free(raw);
        if (st) goto fail;
        m.name[nl - 4] = 0;
        npz->entries[npz->n].tensor = t;
        if (!(npz->entries[npz->n].name = strdup(m.name))) {
            ot_tensor_destroy(t);
            st = ot_status_create(OT_ERR_NO_MEMORY, "npz '%s': out of memory", z.src);
            goto fail;
        }
        npz->n++;
    }
    if (pos != end) {
        st = ZBAD(&z, NULL, "central directory has %zu bytes after its %llu entries", end - pos,
                  (unsigned long long)count);
        goto fail;
    }
    *out = npz;
    return NULL;
fail:
    ot_npz_destroy(npz);
    return st;
}

ot_status_t *ot_npz_load(const char *path, ot_npz_t **out) {
    if (!out) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_load: out is NULL");
    *out = NULL;
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_load: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_file_read(path, &buf, &len);
    if (st) return st;
    st = ot_npz_load_bytes(buf, len, path, out);
    free(buf);
    return st;
}

/* ---- writing ------------------------------------------------------------- */

static const char *npy_descr(ot_dtype_t dt) {
    switch (dt) {
    case OT_DTYPE_FLOAT: return "<f4";
    case OT_DTYPE_DOUBLE: return "<f8";
    case OT_DTYPE_FLOAT16: return "<f2";
    case OT_DTYPE_INT8: return "|i1";
    case OT_DTYPE_INT16: return "<i2";
    case OT_DTYPE_INT32: return "<i4";
    case OT_DTYPE_INT64: return "<i8";
    case OT_DTYPE_UINT8: return "|u1";
    case OT_DTYPE_UINT16: return "<u2";
    case OT_DTYPE_UINT32: return "<u4";
    case OT_DTYPE_UINT64: return "<u8";
    case OT_DTYPE_BOOL: return "|b1";
    case OT_DTYPE_COMPLEX64: return "<c8";
    case OT_DTYPE_COMPLEX128: return "<c16";
    default: return NULL; /* bfloat16 has no NumPy dtype */
    }
}

/* The .npy v1.0 header of `t` (padded with spaces and '\n' so the data
 * starts 64-byte aligned, as NumPy writes it) into hdr; returns its size. */
static size_t npy_header(const ot_tensor_t *t, char *hdr, size_t cap) {
    char dict[512];
    int pos = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr(t->dtype));
    for (int i = 0; i < t->shape.rank; i++)
        pos += snprintf(dict + pos, sizeof dict - (size_t)pos, "%s%lld", i ? ", " : "", (long long)t->shape.dims[i]);
    pos += snprintf(dict + pos, sizeof dict - (size_t)pos, "%s), }", t->shape.rank == 1 ? "," : "");
    size_t total = 10 + (size_t)pos + 1; /* magic, version, u16 length, dict, '\n' */
    total = (total + 63) / 64 * 64;
    if (total > cap) return 0;
    size_t hlen = total - 10;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)(hlen & 0xFF);
    hdr[9] = (char)(hlen >> 8);
    memcpy(hdr + 10, dict, (size_t)pos);
    memset(hdr + 10 + pos, ' ', total - 10 - (size_t)pos - 1);
    hdr[total - 1] = '\n';
    return total;
}

static void wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v) {
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

ot_status_t *ot_npz_serialize(size_t n, const char *const *names, const ot_tensor_t *const *tensors, uint8_t **out,
                              size_t *out_len) {
    if (!out || !out_len || (n && (!names || !tensors)))
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_serialize: NULL argument");
    *out = NULL;
    *out_len = 0;
    if (n >= 0xFFFF) return ot_status_create(OT_ERR_UNSUPPORTED, "npz: %zu members need ZIP64 (not written)", n);
    /* sizes first: everything must fit 32-bit ZIP fields */
    uint64_t total = EOCD_SIZE;
    for (size_t i = 0; i < n; i++) {
        const ot_tensor_t *t = tensors[i];
        const char *name = names[i];
        if (!name || !*name || strchr(name, '/') || strlen(name) > 250)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "npz: member %zu has an empty, too long or '/' name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], name) == 0)
                return ot_status_create(OT_ERR_INVALID_ARGUMENT, "npz: member name '%s' appears twice", name);
        if (!t || !npy_descr(t->dtype) || t->shape.rank < 0 || !ot_shape_known(&t->shape) ||
            (!t->data && ot_tensor_nbytes(t) > 0))
            return ot_status_create(OT_ERR_INVALID_ARGUMENT,
                                    "npz: member '%s': tensor is missing, has no data, an unknown shape or a dtype "
                                    "NumPy lacks (%s)",
                                    name, t ? ot_dtype_name(t->dtype) : "none");
        uint64_t member = 1024 + (uint64_t)ot_tensor_nbytes(t); /* header bound */
        total += LOCAL_SIZE + CENTRAL_SIZE + 2 * (strlen(name) + 4) + member;
    }
    if (total >= 0xFFFFFFFFu)
        return ot_status_create(OT_ERR_UNSUPPORTED, "npz: archive of %llu bytes would need ZIP64 (not written)",
                                (unsigned long long)total);
    uint8_t *buf = malloc((size_t)total);
    uint8_t *cd = malloc(n * (CENTRAL_SIZE + 256) + 1);
    if (!buf || !cd) {
        free(buf);
        free(cd);
        return ot_status_create(OT_ERR_NO_MEMORY, "npz: cannot allocate %llu bytes", (unsigned long long)total);
    }
    size_t pos = 0, cd_len = 0;
    for (size_t i = 0; i < n; i++) {
        const ot_tensor_t *t = tensors[i];
        char fname[260];
        snprintf(fname, sizeof fname, "%s.npy", names[i]);
        uint16_t nl = (uint16_t)strlen(fname);
        char hdr[1024];
        size_t hl = npy_header(t, hdr, sizeof hdr);
        OT_ASSERT(hl > 0 && "a rank-8 header fits 1 KiB");
        size_t nbytes = ot_tensor_nbytes(t);
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, (const Bytef *)hdr, (uInt)hl);
        if (nbytes) crc = crc32(crc, (const Bytef *)t->data, (uInt)nbytes);
        uint32_t size = (uint32_t)(hl + nbytes);
        size_t local = pos;
        uint8_t *l = buf + pos;
        memset(l, 0, LOCAL_SIZE);
        wr32(l, SIG_LOCAL);
        wr16(l + 4, 20);     /* version needed: 2.0 */
        wr16(l + 12, 0x21);  /* date 1980-01-01: fixed, so output is reproducible */
        wr32(l + 14, (uint32_t)crc);
        wr32(l + 18, size);
        wr32(l + 22, size);
        wr16(l + 26, nl);
        memcpy(l + LOCAL_SIZE, fname, nl);
        pos += LOCAL_SIZE + nl;
        memcpy(buf + pos, hdr, hl);
        pos += hl;
        if (nbytes) memcpy(buf + pos, t->data, nbytes);
        pos += nbytes;
        uint8_t *c = cd + cd_len;
        memset(c, 0, CENTRAL_SIZE);
        wr32(c, SIG_CENTRAL);
        wr16(c + 4, 3 << 8 | 20); /* made by: Unix, 2.0 */
        wr16(c + 6, 20);
        wr16(c + 14, 0x21);
        wr32(c + 16, (uint32_t)crc);
        wr32(c + 20, size);
        wr32(c + 24, size);
        wr16(c + 28, nl);
        wr32(c + 38, 0100644u << 16); /* regular file, rw-r--r-- */
        wr32(c + 42, (uint32_t)local);
        memcpy(c + CENTRAL_SIZE, fname, nl);
        cd_len += CENTRAL_SIZE + nl;
    }
    size_t cd_off = pos;
    memcpy(buf + pos, cd, cd_len);
    pos += cd_len;
    free(cd);
    uint8_t *e = buf + pos;
    memset(e, 0, EOCD_SIZE);
    wr32(e, SIG_EOCD);
    wr16(e + 8, (uint16_t)n);
    wr16(e + 10, (uint16_t)n);
    wr32(e + 12, (uint32_t)cd_len);
    wr32(e + 16, (uint32_t)cd_off);
    pos += EOCD_SIZE;
    *out = buf;
    *out_len = pos;
    return NULL;
}

ot_status_t *ot_npz_save(const char *path, size_t n, const char *const *names, const ot_tensor_t *const *tensors) {
    if (!path) return ot_status_create(OT_ERR_INVALID_ARGUMENT, "ot_npz_save: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    ot_status_t *st = ot_npz_serialize(n, names, tensors, &buf, &len);
    if (st) return ot_status_wrap(st, "cannot save '%s'", path);
    st = ot_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}
