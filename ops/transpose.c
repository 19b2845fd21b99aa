/* ops/transpose.c: Transpose (ONNX Transpose-1/13; 13 only adds types).
 *
 *   output.dims[j] = input.dims[perm[j]], output[..i_j..] = input[..i_perm[j]..]
 *   perm defaults to the reversed axes.
 *
 * Any dtype, moved by byte width (1/2/4/8/16). The kernel first simplifies
 * the permutation: size-1 dims are dropped and input axes that stay
 * adjacent in the output are merged (e.g. NCHW->NHWC becomes a batch of
 * (C, HW) 2D transposes). Then either the innermost axis is unchanged (rows
 * are copied whole with memcpy) or the data moves through 32x32 tiles of
 * the two axes that are contiguous on either side (blocked 2D transpose,
 * batched over the other axes). Not a oneDNN reorder: this works for every
 * dtype and needs no primitive per shape.
 *
 * Gradient: dX = Transpose(dY, perm^-1) (the reversal is its own inverse). */
#include "ops/shape_util.h"

#include <inttypes.h>

static const ot_attr_spec_t transpose_attrs[] = {{"perm", OT_ATTR_INTS, false}, {NULL, 0, false}};

/* Reads and checks perm for rank r (reverse when absent). */
static ot_status_t *read_perm(const ot_node_info_t *node, int r, int *perm) {
    const int64_t *p = NULL;
    int64_t n = ot_attr_ints(node, "perm", &p);
    if (n < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        return NULL;
    }
    if (n != r) return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "perm has %" PRId64 " entries for rank %d", n, r);
    bool seen[OT_MAX_RANK] = {false};
    for (int i = 0; i < r; i++) {
        if (p[i] < 0 || p[i] >= r || seen[p[i]])
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "perm is not a permutation of 0..%d", r - 1);
        seen[p[i]] = true;
        perm[i] = (int)p[i];
    }
    return NULL;
}

static ot_status_t *transpose_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    ot_tensor_t *y = ctx->outputs[0];
    ot_status_t *st = ot_check_movable_dtype(ctx->node, x->dtype, "input");
    if (st) return st;
    y->dtype = x->dtype;
    int r = x->shape.rank;
    if (r < 0) { /* the rank may still follow from perm */
        const int64_t *p = NULL;
        int64_t n = ot_attr_ints(ctx->node, "perm", &p);
        if (n > OT_MAX_RANK) return OT_INFER_ERROR(ctx, "perm has %" PRId64 " entries", n);
        if (n < 0) {
            y->shape = ot_shape_unknown();
            return NULL;
        }
        r = (int)n;
        int perm[OT_MAX_RANK];
        if ((st = read_perm(ctx->node, r, perm))) return st;
        y->shape = ot_shape_make(r, NULL);
        for (int i = 0; i < r; i++) y->shape.dims[i] = -1;
        return NULL;
    }
    int perm[OT_MAX_RANK];
    if ((st = read_perm(ctx->node, r, perm))) return st;
    y->shape = ot_shape_make(r, NULL);
    for (int i = 0; i < r; i++) y->shape.dims[i] = x->shape.dims[perm[i]];
    return NULL;
}

/* The simplified problem: input dims/strides (row-major, in elements) and,
 * per input axis, its stride in the output. */
typedef struct tplan {
    int rank;
    int perm[OT_MAX_RANK];         /* output axis j reads input axis perm[j] */
    int64_t dims[OT_MAX_RANK];     /* input dims */
    int64_t istride[OT_MAX_RANK];  /* input stride of input axis a */
    int64_t ostride[OT_MAX_RANK];  /* output stride of input axis a */
    int64_t numel;
} tplan_t;

static void plan_transpose(const ot_shape_t *in, const int *perm, tplan_t *p) {
    int r = in->rank;
    /* 1. drop size-1 axes */
    int map[OT_MAX_RANK], kept = 0;
    int64_t d1[OT_MAX_RANK];
    for (int a = 0; a < r; a++) {
        map[a] = in->dims[a] == 1 ? -1 : kept;
        if (in->dims[a] != 1) d1[kept++] = in->dims[a];
    }
    int p1[OT_MAX_RANK], n1 = 0;
    for (int j = 0; j < r; j++)
        if (map[perm[j]] >= 0) p1[n1++] = map[perm[j]];
    /* 2. merge runs of input axes that stay consecutive in the output:
     * group g covers input axes [first[g], first[g] + len[g]) */
    int first[OT_MAX_RANK], len[OT_MAX_RANK], ng = 0;
    for (int j = 0; j < n1; j++) {
        if (ng > 0 && p1[j] == first[ng - 1] + len[ng - 1]) {
            len[ng - 1]++;
        } else {
            first[ng] = p1[j];
            len[ng] = 1;
            ng++;
        }
    }
    /* groups are in output order; their input order is by first axis */
    int rank_in[OT_MAX_RANK];
    for (int g = 0; g < ng; g++) {
        rank_in[g] = 0;
        for (int h = 0; h < ng; h++) rank_in[g] += first[h] < first[g];
    }
    p->rank = ng;
    p->numel = 1;
    for (int g = 0; g < ng; g++) {
        int64_t d = 1;
        for (int k = 0; k < len[g]; k++) d *= d1[first[g] + k];
        p->dims[rank_in[g]] = d;
        p->perm[g] = rank_in[g];
        p->numel *= d;
    }
    int64_t s = 1;
    for (int a = ng - 1; a >= 0; a--) {
        p->istride[a] = s;
        s *= p->dims[a];
    }
    s = 1;
    for (int j = ng - 1; j >= 0; j--) {
        p->ostride[p->perm[j]] = s;
        s *= p->dims[p->perm[j]];
    }
}

/* Case A: the innermost axis stays innermost; copy whole rows. */
static void transpose_rows(const unsigned char *src, unsigned char *dst, const tplan_t *p, size_t es) {
    int r = p->rank;
    int64_t row = p->dims[r - 1], n_rows = p->numel / row;
    size_t row_bytes = (size_t)row * es;
    OT_SHAPE_PARALLEL_FOR((size_t)p->numel * es > OT_SHAPE_PAR_BYTES, t, n_rows, {
        int64_t rem = t, off = 0;
        for (int j = r - 2; j >= 0; j--) { /* output order: rows are written in sequence */
            int a = p->perm[j];
            off += (rem % p->dims[a]) * p->istride[a];
            rem /= p->dims[a];
        }
        memcpy(dst + (size_t)t * row_bytes, src + (size_t)off * es, row_bytes);
    });
}

/* Case B: TILE x TILE tiles of (a, c) where a = perm[r-1] is contiguous in the output
 * and c = r-1 is contiguous in the input; other axes index the batch. */
#define DEFINE_TILED(name, T, TILE)                                                                         \
    static void name(const void *src_v, void *dst_v, const tplan_t *p) {                               \
        const T *src = src_v;                                                                          \
        T *dst = dst_v;                                                                                \
        int r = p->rank, a = p->perm[r - 1], c = r - 1;                                                \
        int other[OT_MAX_RANK], n_other = 0;                                                           \
        for (int j = 0; j < r; j++)                                                                    \
            if (p->perm[j] != a && p->perm[j] != c) other[n_other++] = p->perm[j];                     \
        int64_t na = p->dims[a], nc = p->dims[c], ta = (na + TILE - 1) / TILE, tc = (nc + TILE - 1) / TILE; \
        int64_t n_batch = p->numel / (na * nc), work = n_batch * ta * tc;                              \
        int64_t sa = p->istride[a], oc = p->ostride[c];                                                \
        OT_SHAPE_PARALLEL_FOR((size_t)p->numel * sizeof *src > OT_SHAPE_PAR_BYTES, w, work, {                  \
            int64_t b = w / (ta * tc), tt = w % (ta * tc), i0 = (tt / tc) * TILE, j0 = (tt % tc) * TILE; \
            int64_t soff = 0, doff = 0, rem = b;                                                       \
            for (int k = n_other - 1; k >= 0; k--) {                                                   \
                int64_t coord = rem % p->dims[other[k]];                                               \
                rem /= p->dims[other[k]];                                                              \
                soff += coord * p->istride[other[k]];                                                  \
                doff += coord * p->ostride[other[k]];                                                  \
            }                                                                                          \
            int64_t i1 = i0 + TILE < na ? i0 + TILE : na, j1 = j0 + TILE < nc ? j0 + TILE : nc;        \
            for (int64_t j = j0; j < j1; j++) {                                                        \
                const T *s = src + soff + j;                                                           \
                T *d = dst + doff + j * oc;                                                            \
                for (int64_t i = i0; i < i1; i++) d[i] = s[i * sa];                                    \
            }                                                                                          \
        });                                                                                            \
    }

typedef struct b16 {
    uint64_t lo, hi;
} b16_t;

/* 64 elements per tile side (32 for the wide types, to stay within L1)
 * measured a little faster than 32 or 16 for float NCHW<->NHWC here. */
DEFINE_TILED(tiled_1, uint8_t, 64)
DEFINE_TILED(tiled_2, uint16_t, 64)
DEFINE_TILED(tiled_4, uint32_t, 64)
DEFINE_TILED(tiled_8, uint64_t, 32)
DEFINE_TILED(tiled_16, b16_t, 32)

static ot_status_t *transpose_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    size_t es = ot_dtype_size(x->dtype);
    int perm[OT_MAX_RANK];
    ot_status_t *st = read_perm(k->node, x->shape.rank, perm);
    if (st) return st;
    tplan_t p;
    plan_transpose(&x->shape, perm, &p);
    if (p.numel == 0) return NULL;
    if (p.rank <= 1) { /* the order of the elements does not change */
        memcpy(y->data, x->data, (size_t)p.numel * es);
    } else if (p.perm[p.rank - 1] == p.rank - 1) {
        transpose_rows(x->data, y->data, &p, es);
    } else {
        switch (es) {
        case 1: tiled_1(x->data, y->data, &p); break;
        case 2: tiled_2(x->data, y->data, &p); break;
        case 4: tiled_4(x->data, y->data, &p); break;
        case 8: tiled_8(x->data, y->data, &p); break;
        case 16: tiled_16(x->data, y->data, &p); break;
        default:
            return OT_NODE_ERROR(k->node, OT_ERR_UNSUPPORTED, "dtype %s not supported", ot_dtype_name(x->dtype));
        }
    }
    return NULL;
}

static ot_status_t *transpose_gradient(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0] || ctx->doutputs[0] < 0) return NULL;
    const int64_t *p = NULL;
    int64_t n = ot_attr_ints(ctx->node, "perm", &p);
    if (n < 0) return ot_grad_emit(ctx, "", "Transpose", 1, &ctx->doutputs[0], 1, &ctx->dinputs[0], 0, NULL);
    int64_t inv[OT_MAX_RANK];
    OT_ASSERT(n <= OT_MAX_RANK && "perm checked in infer");
    for (int64_t i = 0; i < n; i++) inv[p[i]] = i;
    ot_attr_t attr = {.name = "perm", .type = OT_ATTR_INTS, .n = n, .ints = inv};
    return ot_grad_emit(ctx, "", "Transpose", 1, &ctx->doutputs[0], 1, &ctx->dinputs[0], 1, &attr);
}

#define TRANSPOSE_RECORD(ver)                                              \
    const ot_op_def_t ot_op_Transpose_##ver = {                           \
        .abi_version = OT_PLUGIN_ABI_VERSION,                             \
        .domain = "",                                                     \
        .op_type = "Transpose",                                           \
        .since_version = ver,                                             \
        .min_inputs = 1, .max_inputs = 1,                                 \
        .min_outputs = 1, .max_outputs = 1,                               \
        .attrs = transpose_attrs,                                         \
        .infer = transpose_infer,                                         \
        .run = transpose_run,                                             \
        .gradient = transpose_gradient,                                   \
        .doc = "output dims[j] = input dims[perm[j]] (perm defaults to reversed)", \
    };

TRANSPOSE_RECORD(1)
TRANSPOSE_RECORD(13)
