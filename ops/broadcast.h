/* ops/broadcast.h: iteration over the output of an elementwise op whose
 * inputs are broadcast to it with ONNX multidirectional (numpy) rules.
 *
 * ot_bcast_init() turns the input shapes into a collapsed plan: output dims
 * of size 1 are dropped and adjacent dims are merged wherever every input
 * walks them contiguously (or not at all), so the common cases reduce to
 *   same shape        -> 1 dim,  inner steps (1, 1)
 *   scalar operand    -> 1 dim,  inner steps (1, 0)
 *   row bias (N,C)+(C)-> 2 dims, inner steps (1, 1), outer strides (C, 0)
 * ot_bcast_run() splits the flat output range evenly over OpenMP threads and
 * hands each thread's part to a row function as contiguous runs along the
 * innermost collapsed dim; in a run each input advances by 0 or 1 elements
 * per output element (its inner step). Row functions are where the simd
 * loops live (see ops/binary.c).
 *
 * Not here: shape inference (ot_broadcast_shape in ops/op_util.h) and type
 * handling; the plan is in elements and the caller gives element sizes.
 * Used by Add/Sub/Mul/Div/Pow; meant for Where, Max/Min, comparisons too.
 */
#ifndef ONNXTRAIN_BROADCAST_H
#define ONNXTRAIN_BROADCAST_H

#include "ops/op_util.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define OT_BCAST_MAX_IN 3
/* Below this many output elements one thread does it all: an OpenMP
 * parallel region costs a few microseconds, more than the loop itself. */
#define OT_BCAST_PARALLEL_MIN 32768

typedef struct ot_bcast {
    int n_in;
    int rank;      /* collapsed rank, >= 1 */
    int64_t numel; /* output elements; 0 for an empty output */
    int64_t dims[OT_MAX_RANK];
    int64_t strides[OT_BCAST_MAX_IN][OT_MAX_RANK]; /* in elements, 0 on broadcast dims */
} ot_bcast_t;

/* One contiguous run of n output elements: dst[i] = f(src[0][i * step[0]], ...),
 * step[k] in {0, 1}. `ctx` is passed through from ot_bcast_run. */
typedef void (*ot_bcast_row_fn)(const void *ctx, int64_t n, void *dst, const void *const *src,
                                const int64_t *step);

/* Builds the plan for output shape `out` (already the broadcast of `ins`,
 * all dims known) and n_in <= OT_BCAST_MAX_IN input shapes. */
static inline void ot_bcast_init(ot_bcast_t *b, const ot_shape_t *out, int n_in, const ot_shape_t *const *ins) {
    OT_ASSERT(n_in >= 1 && n_in <= OT_BCAST_MAX_IN && out->rank >= 0 && out->rank <= OT_MAX_RANK);
    int64_t full[OT_BCAST_MAX_IN][OT_MAX_RANK];
    for (int k = 0; k < n_in; k++) {
        OT_ASSERT(ins[k]->rank <= out->rank && "input rank exceeds broadcast rank");
        ot_broadcast_strides(ins[k], out, full[k]);
    }
    b->n_in = n_in;
    b->numel = ot_shape_numel(out);
    /* Keep output dims > 1 (a size-1 dim contributes nothing to addressing),
     * merging each into the previous kept one when every input's stride
     * continues contiguously: stride_outer == stride_inner * dim_inner. */
    int r = 0;
    for (int d = 0; d < out->rank; d++) {
        int64_t n = out->dims[d];
        if (n == 1) continue;
        bool merge = r > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = b->strides[k][r - 1] == full[k][d] * n;
        if (merge) {
            b->dims[r - 1] *= n;
            for (int k = 0; k < n_in; k++) b->strides[k][r - 1] = full[k][d];
        } else {
            b->dims[r] = n;
            for (int k = 0; k < n_in; k++) b->strides[k][r] = full[k][d];
            r++;
        }
    }
    if (r == 0) { /* every dim is 1 (or rank 0): one element */
        b->dims[0] = 1;
        for (int k = 0; k < n_in; k++) b->strides[k][0] = 0;
        r = 1;
    }
    b->rank = r;
    for (int k = 0; k < n_in; k++)
        OT_ASSERT((b->strides[k][r - 1] == 0 || b->strides[k][r - 1] == 1) && "inner step must be 0 or 1");
}

/* Output elements [e0, e1) in row runs. */
static inline void ot_bcast_range(const ot_bcast_t *b, int64_t e0, int64_t e1, char *dst, size_t dst_esize,
                                  const char *const *src, const size_t *src_esize, ot_bcast_row_fn fn,
                                  const void *ctx) {
    if (e0 >= e1) return;
    const int r = b->rank, n_in = b->n_in;
    const int64_t inner = b->dims[r - 1];
    int64_t idx[OT_MAX_RANK], off[OT_BCAST_MAX_IN], step[OT_BCAST_MAX_IN];
    /* Multi-index of e0 over the outer dims, and each input's offset. */
    int64_t row = e0 / inner, col = e0 % inner;
    for (int k = 0; k < n_in; k++) {
        step[k] = b->strides[k][r - 1];
        off[k] = col * step[k];
    }
    for (int d = r - 2; d >= 0; d--) {
        idx[d] = row % b->dims[d];
        row /= b->dims[d];
        for (int k = 0; k < n_in; k++) off[k] += idx[d] * b->strides[k][d];
    }
    const char *p[OT_BCAST_MAX_IN];
    for (int64_t e = e0; e < e1;) {
        int64_t n = inner - col < e1 - e ? inner - col : e1 - e;
        for (int k = 0; k < n_in; k++) p[k] = src[k] + off[k] * (int64_t)src_esize[k];
        fn(ctx, n, dst + e * (int64_t)dst_esize, (const void *const *)p, step);
        e += n;
        if (e >= e1) break;
        /* Next row: drop the starting column, then advance the odometer. */
        for (int k = 0; k < n_in; k++) off[k] -= col * step[k];
        col = 0;
        for (int d = r - 2; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < n_in; k++) off[k] += b->strides[k][d];
            if (idx[d] < b->dims[d]) break;
            for (int k = 0; k < n_in; k++) off[k] -= b->dims[d] * b->strides[k][d];
            idx[d] = 0;
        }
    }
}

/* Runs fn over the whole output, in parallel when it is large enough. */
static inline void ot_bcast_run(const ot_bcast_t *b, void *dst, size_t dst_esize, const void *const *src,
                                const size_t *src_esize, ot_bcast_row_fn fn, const void *ctx) {
    const int64_t total = b->numel;
    if (total <= 0) return;
    const char *s[OT_BCAST_MAX_IN];
    for (int k = 0; k < b->n_in; k++) s[k] = src[k];
#ifdef _OPENMP
    if (total > OT_BCAST_PARALLEL_MIN && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel
        {
            /* Even split of the flat range, boundaries rounded to 16
             * elements so threads do not share cache lines of dst. */
            int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
            int64_t chunk = ((total + nt - 1) / nt + 15) & ~(int64_t)15;
            int64_t e0 = t * chunk, e1 = e0 + chunk;
            if (e1 > total) e1 = total;
            ot_bcast_range(b, e0, e1, (char *)dst, dst_esize, s, src_esize, fn, ctx);
        }
        return;
    }
#endif
    ot_bcast_range(b, 0, total, (char *)dst, dst_esize, s, src_esize, fn, ctx);
}

#endif
