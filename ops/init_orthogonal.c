/* ops/init_orthogonal.c: Orthogonal(gain=1), torch.nn.init.orthogonal_
 * (Saxe et al. 2013) by torch's algorithm:
 *   A = normal_(0, 1) of (rows, cols) = (dims[0], numel / dims[0]) (same
 *   draws as torch for the seed), transposed when rows < cols; A = QR
 *   (LAPACK geqrf + orgqr, from OpenBLAS); Q's column j times sign(R[j][j])
 *   (Mezzadri 2007: Haar-distributed); transposed back; times gain.
 * Orthonormal rows (rows <= cols) or columns (rows >= cols). Bit for bit
 * with torch where both use the same LAPACK (Debian's OpenBLAS); another
 * LAPACK build may round differently.
 * The QR workspace is allocated in setup(). */
#include "ops/init_util.h"
#include "runtime/torch_rng.h"

#include <limits.h>
#include <stdlib.h>

/* LAPACK (Fortran ABI, 32-bit integers as Debian's OpenBLAS). */
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work, const int *lwork,
            int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau, float *work,
             const int *lwork, int *info);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
             int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau, double *work,
             const int *lwork, int *info);

typedef struct ortho {
    int m, n;     /* the tall matrix QR'd, column-major: m >= n */
    int lwork;
    void *a;      /* (m, n), column-major */
    void *tau;    /* (n) */
    void *work;   /* (lwork) */
    signed char *sign; /* (n): sign(R[j][j]) */
} ortho_t;

static ot_status_t *ortho_infer(ot_infer_ctx_t *ctx) { return ot_init_infer(ctx, 2); }

static void ortho_release(ot_kernel_t *k) {
    ortho_t *o = k->state;
    if (!o) return;
    free(o->a);
    free(o->tau);
    free(o->work);
    free(o->sign);
    free(o);
    k->state = NULL;
}

static ot_status_t *ortho_setup(ot_kernel_t *k) {
    const ot_tensor_t *y = k->outputs[0];
    int64_t numel = ot_shape_numel(&y->shape), rows = y->shape.dims[0];
    if (numel == 0) return NULL;
    int64_t cols = numel / rows, m = rows > cols ? rows : cols, n = rows > cols ? cols : rows;
    if (m > INT_MAX) return OT_KERNEL_ERROR(k, "shape too large for LAPACK (%lld rows)", (long long)m);
    ortho_t *o = calloc(1, sizeof *o);
    if (!o) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    k->state = o;
    o->m = (int)m, o->n = (int)n;
    size_t es = ot_dtype_size(y->dtype);
    int query = -1, info = 0;
    double q1 = 0, q2 = 0; /* workspace queries (float or double result) */
    if (y->dtype == OT_DTYPE_FLOAT) {
        float w1 = 0, w2 = 0;
        sgeqrf_(&o->m, &o->n, NULL, &o->m, NULL, &w1, &query, &info);
        sorgqr_(&o->m, &o->n, &o->n, NULL, &o->m, NULL, &w2, &query, &info);
        q1 = w1, q2 = w2;
    } else {
        dgeqrf_(&o->m, &o->n, NULL, &o->m, NULL, &q1, &query, &info);
        dorgqr_(&o->m, &o->n, &o->n, NULL, &o->m, NULL, &q2, &query, &info);
    }
    o->lwork = (int)(q1 > q2 ? q1 : q2);
    if (o->lwork < o->n) o->lwork = o->n;
    o->a = malloc((size_t)numel * es);
    o->tau = malloc((size_t)n * es);
    o->work = malloc((size_t)o->lwork * es);
    o->sign = malloc((size_t)n);
    if (!o->a || !o->tau || !o->work || !o->sign) {
        ortho_release(k);
        return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory");
    }
    return NULL;
}

/* Row-major (rows, cols) normals -> column-major tall A; QR; Q with its
 * columns' signs fixed, back in row-major (rows, cols), times gain. One
 * body for both precisions. */
#define ORTHO_FN(name, T, SAMPLE, GEQRF, ORGQR)                                                                        \
    static int name(ot_tensor_t *out, ortho_t *o, int64_t rows, int64_t cols, int64_t seed, double gain) {             \
        T *y = out->data, *a = o->a, *tau = o->tau, *work = o->work, g = (T)gain;                                      \
        bool wide = rows < cols; /* then y row-major already is the tall A column-major */                             \
        int info = 0;                                                                                                  \
        ot_torch_rng_t rng;                                                                                            \
        ot_torch_rng_seed(&rng, seed);                                                                                 \
        SAMPLE(&rng, y, rows * cols, 0.0, 1.0);                                                                        \
        for (int64_t i = 0; i < rows; i++)                                                                             \
            for (int64_t j = 0; j < cols; j++) a[wide ? i * cols + j : i + j * rows] = y[i * cols + j];               \
        GEQRF(&o->m, &o->n, a, &o->m, tau, work, &o->lwork, &info);                                                    \
        if (info) return info;                                                                                         \
        for (int j = 0; j < o->n; j++) {                                                                               \
            T d = a[j + (int64_t)j * o->m]; /* R[j][j] */                                                              \
            o->sign[j] = (signed char)(d > 0 ? 1 : d < 0 ? -1 : 0);                                                    \
        }                                                                                                              \
        ORGQR(&o->m, &o->n, &o->n, a, &o->m, tau, work, &o->lwork, &info);                                             \
        if (info) return info;                                                                                         \
        for (int64_t i = 0; i < rows; i++)                                                                             \
            for (int64_t j = 0; j < cols; j++) /* Q's element (row, column) is (j, i) when wide, else (i, j) */        \
                y[i * cols + j] = a[wide ? i * cols + j : i + j * rows] * (T)o->sign[wide ? i : j] * g;                \
        return 0;                                                                                                      \
    }

ORTHO_FN(ortho_f32, float, ot_torch_normal_f32, sgeqrf_, sorgqr_)
ORTHO_FN(ortho_f64, double, ot_torch_normal_f64, dgeqrf_, dorgqr_)

static ot_status_t *ortho_run(ot_kernel_t *k) {
    ot_tensor_t *out = k->outputs[0];
    ortho_t *o = k->state;
    if (!o) return NULL; /* empty */
    int64_t rows = out->shape.dims[0], cols = ot_shape_numel(&out->shape) / rows, seed = ot_init_seed(k->node);
    double gain = ot_init_attr(k->node, "gain", 1);
    int info = out->dtype == OT_DTYPE_FLOAT ? ortho_f32(out, o, rows, cols, seed, gain)
                                            : ortho_f64(out, o, rows, cols, seed, gain);
    return info ? OT_KERNEL_ERROR(k, "LAPACK QR failed (info %d)", info) : NULL;
}

static const ot_attr_spec_t ortho_attrs[] = {OT_INIT_COMMON_ATTRS, {"gain", OT_ATTR_FLOAT, false}, OT_INIT_END};

OT_INIT_OP(ot_op_ot_Orthogonal_1, "Orthogonal", ortho_attrs, ortho_infer, ortho_setup, ortho_run, ortho_release,
           "torch.nn.init.orthogonal_(t, gain): QR of a normal matrix, signs fixed by diag(R)");
