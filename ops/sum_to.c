/* ops/sum_to.c: ai.onnxtrain::SumTo(X, shape): Y of `shape`, the sum of X
 * over the axes along which `shape` broadcasts to X's shape (numpy rules,
 * right-aligned). The adjoint of broadcasting: autodiff emits
 * SumTo(dY, Shape(A)) for every input A of a broadcasting op (see
 * ot_grad_unbroadcast in ops/grad_util.h). Which axes are summed is decided
 * at plan time, so symbolic dims are fine.
 *
 * Kernel: X's dims are collapsed into alternating summed/kept runs; the
 * layouts (R1, K, R2) with R1 or R2 possibly 1 (bias rows, per-row sums,
 * NCHW channels) run in parallel over the kept index K, accumulating in
 * double; any other layout takes one serial odometer pass into a double
 * accumulator made at setup. */
#include "ops/op_util.h"

#include <stdlib.h>

static ot_status_t *sum_to_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *s = ctx->inputs[1];
    if (x->dtype != OT_DTYPE_FLOAT && x->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "dtype %s not supported", ot_dtype_name(x->dtype));
    if (s->dtype != OT_DTYPE_INT64 || s->shape.rank != 1) return OT_INFER_ERROR(ctx, "shape must be a 1-D int64 tensor");
    int64_t n = s->shape.dims[0];
    if (n > OT_MAX_RANK)
        return OT_INFER_ERROR(ctx, "shape has %lld dims; at most %d supported", (long long)n, OT_MAX_RANK);
    ot_tensor_t *y = ctx->outputs[0];
    y->dtype = x->dtype;
    y->shape = n >= 0 ? ot_shape_make((int)n, NULL) : ot_shape_unknown();
    for (int i = 0; i < n; i++) y->shape.dims[i] = s->data ? ((const int64_t *)s->data)[i] : -1;
    if (!s->data || x->shape.rank < 0) return NULL;
    char a[128], b[128];
    if (n > x->shape.rank)
        return OT_INFER_ERROR(ctx, "shape %s has more dims than the input %s", ot_shape_str(&y->shape, a, sizeof a),
                              ot_shape_str(&x->shape, b, sizeof b));
    for (int i = 0; i < n; i++) {
        int64_t yd = y->shape.dims[i], xd = x->shape.dims[i + x->shape.rank - (int)n];
        if (yd < 0 || (yd != 1 && xd >= 0 && yd != xd))
            return OT_INFER_ERROR(ctx, "shape %s does not broadcast to the input %s",
                                  ot_shape_str(&y->shape, a, sizeof a), ot_shape_str(&x->shape, b, sizeof b));
    }
    return NULL;
}

/* Collapsed layout: dims[d] with ystride[d] (0 = summed). */
typedef struct layout {
    int rank;
    int64_t dims[OT_MAX_RANK], ystride[OT_MAX_RANK];
} layout_t;

static void collapse(const ot_shape_t *xs, const ot_shape_t *ys, layout_t *l) {
    int64_t full[OT_MAX_RANK];
    ot_broadcast_strides(ys, xs, full);
    l->rank = 0;
    for (int d = 0; d < xs->rank; d++) {
        int64_t n = xs->dims[d], s = full[d];
        if (n == 1) continue;
        int r = l->rank;
        if (r > 0 && l->ystride[r - 1] == s * n) { /* continues the previous run */
            l->dims[r - 1] *= n;
            l->ystride[r - 1] = s;
        } else {
            l->dims[r] = n;
            l->ystride[r] = s;
            l->rank++;
        }
    }
}

/* Per kernel: the layout, and for layouts other than (R1, K, R2) a double
 * accumulator of Y's size; both made in setup, so runs allocate nothing. */
typedef struct sum_to_state {
    layout_t l;
    double *acc;
} sum_to_state_t;

static bool is_r1_k_r2(const layout_t *l) {
    int lo = 0, hi = l->rank;
    if (lo < hi && l->ystride[lo] == 0) lo++;
    if (hi > lo && l->ystride[hi - 1] == 0) hi--;
    return hi - lo <= 1;
}

#define SUM_TO_KERNEL(T)                                                                             \
    static void sum_to_##T(const T *x, T *y, const layout_t *l, double *acc, int64_t ny) {         \
        int r = l->rank;                                                                           \
        /* (R1, K, R2): strip the summed runs at both ends */                                      \
        int64_t r1 = 1, r2 = 1, kk = 1;                                                            \
        int lo = 0, hi = r;                                                                        \
        if (lo < hi && l->ystride[lo] == 0) r1 = l->dims[lo++];                                    \
        if (hi > lo && l->ystride[hi - 1] == 0) r2 = l->dims[--hi];                                \
        if (hi - lo <= 1) {                                                                        \
            if (hi > lo) kk = l->dims[lo];                                                         \
            if (kk * r1 * r2 > 65536) {                                                            \
                _Pragma("omp parallel for") for (int64_t k = 0; k < kk; k++) {                     \
                    double s = 0;                                                                  \
                    for (int64_t a = 0; a < r1; a++)                                               \
                        for (int64_t b = 0; b < r2; b++) s += x[(a * kk + k) * r2 + b];            \
                    y[k] = (T)s;                                                                   \
                }                                                                                  \
            } else {                                                                               \
                for (int64_t k = 0; k < kk; k++) {                                                 \
                    double s = 0;                                                                  \
                    for (int64_t a = 0; a < r1; a++)                                               \
                        for (int64_t b = 0; b < r2; b++) s += x[(a * kk + k) * r2 + b];            \
                    y[k] = (T)s;                                                                   \
                }                                                                                  \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        int64_t idx[OT_MAX_RANK] = {0}, off = 0, total = 1;                                        \
        for (int d = 0; d < r; d++) total *= l->dims[d];                                           \
        memset(acc, 0, (size_t)ny * sizeof *acc);                                                  \
        for (int64_t e = 0; e < total; e++) {                                                      \
            acc[off] += x[e];                                                                      \
            for (int d = r - 1; d >= 0; d--) {                                                     \
                off += l->ystride[d];                                                              \
                if (++idx[d] < l->dims[d]) break;                                                  \
                off -= l->dims[d] * l->ystride[d];                                                 \
                idx[d] = 0;                                                                        \
            }                                                                                      \
        }                                                                                          \
        for (int64_t j = 0; j < ny; j++) y[j] = (T)acc[j];                                         \
    }
SUM_TO_KERNEL(float)
SUM_TO_KERNEL(double)

static ot_status_t *sum_to_setup(ot_kernel_t *k) {
    sum_to_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = s;
    collapse(&k->inputs[0]->shape, &k->outputs[0]->shape, &s->l);
    int64_t ny = ot_shape_numel(&k->outputs[0]->shape);
    if (!is_r1_k_r2(&s->l) && !(s->acc = malloc((size_t)(ny > 0 ? ny : 1) * sizeof *s->acc)))
        return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory for a %lld-element accumulator", (long long)ny);
    return NULL;
}

static void sum_to_release(ot_kernel_t *k) {
    sum_to_state_t *s = k->state;
    if (s) free(s->acc);
    free(s);
}

static ot_status_t *sum_to_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    const sum_to_state_t *s = k->state;
    int64_t nx = ot_shape_numel(&x->shape), ny = ot_shape_numel(&y->shape);
    if (nx == ny) { /* nothing is summed */
        if (y->data != x->data) memcpy(y->data, x->data, (size_t)nx * ot_dtype_size(x->dtype));
        return NULL;
    }
    if (nx == 0) {
        memset(y->data, 0, (size_t)ny * ot_dtype_size(y->dtype));
        return NULL;
    }
    if (x->dtype == OT_DTYPE_FLOAT) sum_to_float(x->data, y->data, &s->l, s->acc, ny);
    else sum_to_double(x->data, y->data, &s->l, s->acc, ny);
    return NULL;
}

const ot_op_def_t ot_op_ot_SumTo_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "SumTo",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .infer = sum_to_infer,
    .setup = sum_to_setup,
    .run = sum_to_run,
    .release = sum_to_release,
    .doc = "Y = X summed over the axes along which shape broadcasts to X",
};
