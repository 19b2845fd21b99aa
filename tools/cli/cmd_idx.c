/* tools/cli/cmd_idx.c: `onnxtrain idx-to-npz`, MNIST-style IDX files
 * (gzipped or not; Debian's dataset-fashion-mnist ships them) to the .npz
 * that `onnxtrain train --data` reads:
 *   images (N, rows, cols) uint8 -> float32 (N, 1, rows, cols) scaled to [0, 1]
 *   labels (N) uint8             -> int64 (N)
 * Headers are validated: magic (0x803 / 0x801), dims, and that the file
 * holds exactly the bytes they promise. */
#include "tools/cli/cli.h"
#include "runtime/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Reads a whole (possibly gzipped) file into a malloc()ed buffer. */
static int read_all(const char *path, unsigned char **out, size_t *len) {
    gzFile f = gzopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (int got; buf && (got = gzread(f, buf + n, (unsigned)(cap - n))) > 0;) {
        n += (size_t)got;
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    int err = 0;
    gzerror(f, &err);
    gzclose(f);
    if (!buf || (err != Z_OK && err != Z_STREAM_END)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Checks an IDX header of `rank` dims of ubyte; fills dims. */
static const char *idx_header(const unsigned char *b, size_t len, int rank, uint32_t *dims) {
    if (len < 4 + 4 * (size_t)rank) return "shorter than its header";
    if (be32(b) != (0x800u | (uint32_t)rank)) return "not an IDX file of unsigned bytes with the expected rank";
    uint64_t total = 1;
    for (int d = 0; d < rank; d++) {
        dims[d] = be32(b + 4 + 4 * d);
        total *= dims[d];
        if (total > ((uint64_t)1 << 34)) return "dims too large";
    }
    if (len - 4 - 4 * (size_t)rank != total) return "data size does not match its dims";
    return NULL;
}

int cmd_idx_to_npz(int argc, char **argv) {
    const char *images = NULL, *labels = NULL, *out = NULL, *images_name = "image", *labels_name = "labels";
    long long limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") && v) out = v, i++;
        else if (!strcmp(a, "--images-name") && v) images_name = v, i++;
        else if (!strcmp(a, "--labels-name") && v) labels_name = v, i++;
        else if (!strcmp(a, "--limit") && v) limit = strtoll(v, NULL, 10), i++;
        else if (a[0] != '-' && !images) images = a;
        else if (a[0] != '-' && !labels) labels = a;
        else {
            fprintf(stderr, "usage: onnxtrain idx-to-npz IMAGES.idx[.gz] LABELS.idx[.gz] -o OUT.npz "
                            "[--images-name image] [--labels-name labels] [--limit N]\n");
            return !strcmp(a, "--help") ? 0 : 2;
        }
    }
    if (!images || !labels || !out) {
        fprintf(stderr, "usage: onnxtrain idx-to-npz IMAGES.idx[.gz] LABELS.idx[.gz] -o OUT.npz\n");
        return 2;
    }
    unsigned char *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    ot_tensor_t *x = NULL, *y = NULL;
    int rc = 1;
    uint32_t idims[3], ldims[1];
    const char *why;
    if (read_all(images, &ib, &il) || read_all(labels, &lb, &ll)) {
        fprintf(stderr, "onnxtrain idx-to-npz: cannot read %s\n", ib ? labels : images);
        goto done;
    }
    if ((why = idx_header(ib, il, 3, idims))) {
        fprintf(stderr, "onnxtrain idx-to-npz: %s: %s\n", images, why);
        goto done;
    }
    if ((why = idx_header(lb, ll, 1, ldims))) {
        fprintf(stderr, "onnxtrain idx-to-npz: %s: %s\n", labels, why);
        goto done;
    }
    if (idims[0] != ldims[0]) {
        fprintf(stderr, "onnxtrain idx-to-npz: %u images but %u labels\n", idims[0], ldims[0]);
        goto done;
    }
    int64_t n = limit >= 0 && limit < idims[0] ? limit : idims[0];
    ot_shape_t xs = {4, {n, 1, idims[1], idims[2]}}, ys = {1, {n}};
    ot_status_t *st = ot_tensor_create(OT_DTYPE_FLOAT, &xs, &x);
    if (!st) st = ot_tensor_create(OT_DTYPE_INT64, &ys, &y);
    if (st) {
        rc = cli_fail(st, "idx-to-npz");
        goto done;
    }
    int64_t per = (int64_t)idims[1] * idims[2];
    for (int64_t i = 0; i < n * per; i++) ((float *)x->data)[i] = ib[16 + i] / 255.0f;
    for (int64_t i = 0; i < n; i++) ((int64_t *)y->data)[i] = lb[8 + i];
    const char *names[2] = {images_name, labels_name};
    const ot_tensor_t *tensors[2] = {x, y};
    if ((st = ot_npz_save(out, 2, names, tensors))) {
        rc = cli_fail(st, out);
        goto done;
    }
    printf("wrote %s: %s float32 (%lld, 1, %u, %u), %s int64 (%lld)\n", out, images_name, (long long)n, idims[1],
           idims[2], labels_name, (long long)n);
    rc = 0;
done:
    free(ib);
    free(lb);
    ot_tensor_destroy(x);
    ot_tensor_destroy(y);
    return rc;
}
