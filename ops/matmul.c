/* ops/matmul.c: MatMul with numpy.matmul semantics (ONNX MatMul-1/13):
 * Y[..., i, j] = sum_p A[..., i, p] * B[..., p, j]. A 1-D A (K) is read as
 * (1, K) and a 1-D B (K) as (K, 1); the added dimension is dropped from Y.
 * Batch dimensions broadcast numpy-style, e.g. (2, 1, 3, 4) x (5, 4, 2) ->
 * (2, 5, 3, 2).
 *
 * float32 runs on one oneDNN matmul (batch broadcasting is oneDNN's; when B
 * has no batch, A's batch is folded into its rows). float64, int32, int64,
 * and what oneDNN refuses (or K == 0, on which oneDNN 2.6 faults) run on a
 * reference loop. Not MatMulInteger or quantized matmul. */
#include "ops/dnnl_util.h"

#include <stdlib.h>

/* The operands after promotion of 1-D inputs to matrices. */
typedef struct matmul_dims {
    ot_shape_t batch;          /* broadcast batch shape */
    ot_shape_t a_batch;        /* A's batch dims, padded with leading 1s to batch.rank */
    ot_shape_t b_batch;
    int64_t m, k, n;
    ot_shape_t out;            /* Y's shape (promoted dims dropped) */
} matmul_dims_t;

/* Shapes of both operands with known ranks >= 1; dims may be unknown.
 * Returns an error naming the node if the known dims are incompatible. */
static ot_status_t *matmul_shapes(const ot_node_info_t *node, const ot_shape_t *a, const ot_shape_t *b,
                                  matmul_dims_t *d) {
    char sa[128], sb[128];
    int ra = a->rank, rb = b->rank;
    d->m = ra >= 2 ? a->dims[ra - 2] : 1;
    d->k = a->dims[ra - 1];
    int64_t kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0];
    d->n = rb >= 2 ? b->dims[rb - 1] : 1;
    if (d->k >= 0 && kb >= 0 && d->k != kb)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "inner dimensions differ: A %s has K = %lld, B %s has K = %lld",
                             ot_shape_str(a, sa, sizeof sa), (long long)d->k, ot_shape_str(b, sb, sizeof sb),
                             (long long)kb);
    if (d->k < 0) d->k = kb;
    ot_shape_t ab = ot_shape_make(ra > 2 ? ra - 2 : 0, a->dims);
    ot_shape_t bb = ot_shape_make(rb > 2 ? rb - 2 : 0, b->dims);
    if (!ot_broadcast_shape(&ab, &bb, &d->batch))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "batch dimensions of A %s and B %s do not broadcast",
                             ot_shape_str(a, sa, sizeof sa), ot_shape_str(b, sb, sizeof sb));
    int r = d->batch.rank;
    d->a_batch = ot_shape_make(r, NULL);
    d->b_batch = ot_shape_make(r, NULL);
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ab.rank), ib = i - (r - bb.rank);
        d->a_batch.dims[i] = ia >= 0 ? ab.dims[ia] : 1;
        d->b_batch.dims[i] = ib >= 0 ? bb.dims[ib] : 1;
    }
    d->out = d->batch;
    if (ra >= 2) d->out.dims[d->out.rank++] = d->m;
    if (rb >= 2) d->out.dims[d->out.rank++] = d->n;
    return NULL;
}

static bool matmul_dtype_ok(ot_dtype_t t) {
    return t == OT_DTYPE_FLOAT || t == OT_DTYPE_DOUBLE || t == OT_DTYPE_INT32 || t == OT_DTYPE_INT64;
}

static ot_status_t *matmul_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *a = ctx->inputs[0], *b = ctx->inputs[1];
    if (!matmul_dtype_ok(a->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(a->dtype));
    if (b->dtype != a->dtype)
        return OT_INFER_ERROR(ctx, "A and B must have one dtype, got %s and %s", ot_dtype_name(a->dtype),
                              ot_dtype_name(b->dtype));
    if (a->shape.rank == 0 || b->shape.rank == 0)
        return OT_INFER_ERROR(ctx, "operands must be at least 1-D, got ranks %d and %d", a->shape.rank, b->shape.rank);
    ctx->outputs[0]->dtype = a->dtype;
    if (a->shape.rank < 0 || b->shape.rank < 0) {
        ctx->outputs[0]->shape = ot_shape_unknown();
        return NULL;
    }
    matmul_dims_t d;
    ot_status_t *st = matmul_shapes(ctx->node, &a->shape, &b->shape, &d);
    if (st) return st;
    ctx->outputs[0]->shape = d.out;
    return NULL;
}

typedef struct matmul_state {
    int64_t m, k, n, nb;  /* nb: batch count */
    int64_t *a_off, *b_off; /* (nb): element offset of each batch's A and B matrix */
    dnnl_primitive_t prim;  /* NULL: reference loop */
    dnnl_memory_t src, wei, dst;
} matmul_state_t;

static void matmul_release(ot_kernel_t *k) {
    matmul_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->wei) dnnl_memory_destroy(s->wei);
    if (s->dst) dnnl_memory_destroy(s->dst);
    free(s->a_off);
    free(s->b_off);
    free(s);
    k->state = NULL;
}

/* Builds the oneDNN matmul; leaves s->prim NULL if oneDNN has none. */
static ot_status_t *matmul_setup_dnnl(ot_kernel_t *k, matmul_state_t *s, const matmul_dims_t *d) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t src_md, wei_md, dst_md;
    ot_shape_t as, bs, ys; /* src: (batch.., M, K), weights: (batch.., K, N), dst: (batch.., M, N) */
    int64_t b_count = ot_shape_numel(&d->b_batch);
    if (b_count == 1) {
        /* One B for every batch: A's batch folds into rows, one plain GEMM. */
        int64_t ad[2] = {s->nb * s->m, s->k}, bd[2] = {s->k, s->n}, yd[2] = {s->nb * s->m, s->n};
        as = ot_shape_make(2, ad);
        bs = ot_shape_make(2, bd);
        ys = ot_shape_make(2, yd);
    } else {
        int r = d->batch.rank;
        as = d->a_batch;
        bs = d->b_batch;
        ys = d->batch;
        as.rank = bs.rank = ys.rank = r + 2;
        as.dims[r] = s->m, as.dims[r + 1] = s->k;
        bs.dims[r] = s->k, bs.dims[r + 1] = s->n;
        ys.dims[r] = s->m, ys.dims[r + 1] = s->n;
    }
    OT_DNNL_TRY(ot_dnnl_md_plain(&src_md, &as, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&wei_md, &bs, dnnl_f32));
    OT_DNNL_TRY(ot_dnnl_md_plain(&dst_md, &ys, dnnl_f32));
    dnnl_matmul_desc_t desc;
    OT_DNNL_TRY(dnnl_matmul_desc_init(&desc, &src_md, &wei_md, NULL, &dst_md));
    dnnl_status_t ds = dnnl_primitive_desc_create(&pd, &desc, NULL, (dnnl_engine_t)k->engine, NULL);
    if (ds == dnnl_unimplemented) goto fail; /* reference loop */
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    dnnl_engine_t eng = (dnnl_engine_t)k->engine;
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &src_md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->wei, &wei_md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &dst_md, eng, DNNL_MEMORY_NONE));
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static ot_status_t *matmul_setup(ot_kernel_t *k) {
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    matmul_dims_t d;
    ot_status_t *st = matmul_shapes(k->node, &a->shape, &b->shape, &d);
    if (st) return st;
    matmul_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    s->m = d.m, s->k = d.k, s->n = d.n;
    s->nb = ot_shape_numel(&d.batch);
    if (s->nb * s->m * s->n == 0) return NULL; /* empty Y: nothing to compute */
    if (a->dtype == OT_DTYPE_FLOAT && s->k > 0) {
        st = matmul_setup_dnnl(k, s, &d);
        if (st || s->prim) return st;
    }
    /* Reference loop: where each batch's matrices start. */
    s->a_off = malloc((size_t)s->nb * sizeof *s->a_off);
    s->b_off = malloc((size_t)s->nb * sizeof *s->b_off);
    if (!s->a_off || !s->b_off)
        return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%lld batches)", (long long)s->nb);
    int64_t a_str[OT_MAX_RANK], b_str[OT_MAX_RANK];
    ot_broadcast_strides(&d.a_batch, &d.batch, a_str);
    ot_broadcast_strides(&d.b_batch, &d.batch, b_str);
    for (int64_t bi = 0; bi < s->nb; bi++) {
        int64_t rest = bi, ao = 0, bo = 0;
        for (int i = d.batch.rank - 1; i >= 0; i--) {
            int64_t idx = rest % d.batch.dims[i];
            rest /= d.batch.dims[i];
            ao += idx * a_str[i];
            bo += idx * b_str[i];
        }
        s->a_off[bi] = ao * s->m * s->k;
        s->b_off[bi] = bo * s->k * s->n;
    }
    return NULL;
}

/* Y rows of all batches in parallel; ACC: double for floats, uint64_t for
 * integers (wraps like two's complement without signed overflow). */
#define MATMUL_REF(NAME, T, ACC)                                                                     \
    static void matmul_ref_##NAME(const matmul_state_t *s, const T *a, const T *b, T *y) {           \
        int64_t m_ = s->m, k_ = s->k, n_ = s->n, rows = s->nb * s->m;                                \
        _Pragma("omp parallel for if (rows * n_ * k_ > 32768)") for (int64_t r = 0; r < rows; r++) { \
            int64_t bi = r / m_, i = r % m_;                                                         \
            const T *ar = a + s->a_off[bi] + i * k_; /* (K) */                                       \
            const T *bm = b + s->b_off[bi];          /* (K, N) */                                    \
            T *yr = y + r * n_;                      /* (N) */                                       \
            for (int64_t j = 0; j < n_; j++) {                                                       \
                ACC acc = 0;                                                                         \
                for (int64_t p = 0; p < k_; p++) acc += (ACC)ar[p] * (ACC)bm[p * n_ + j];            \
                yr[j] = (T)acc;                                                                      \
            }                                                                                        \
        }                                                                                            \
    }
MATMUL_REF(f32, float, double)
MATMUL_REF(f64, double, double)
MATMUL_REF(i32, int32_t, uint64_t)
MATMUL_REF(i64, int64_t, uint64_t)

static ot_status_t *matmul_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    matmul_state_t *s = k->state;
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    ot_tensor_t *y = k->outputs[0];
    if (s->nb * s->m * s->n == 0) return NULL;
    if (!s->prim) {
        switch (a->dtype) {
        case OT_DTYPE_FLOAT: matmul_ref_f32(s, a->data, b->data, y->data); break;
        case OT_DTYPE_DOUBLE: matmul_ref_f64(s, a->data, b->data, y->data); break;
        case OT_DTYPE_INT32: matmul_ref_i32(s, a->data, b->data, y->data); break;
        case OT_DTYPE_INT64: matmul_ref_i64(s, a->data, b->data, y->data); break;
        default: OT_ASSERT(!"dtype checked in infer");
        }
        return NULL;
    }
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, a->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->wei, b->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y->data));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, s->src}, {DNNL_ARG_WEIGHTS, s->wei}, {DNNL_ARG_DST, s->dst}};
    dnnl_stream_t strm = (dnnl_stream_t)k->stream;
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, strm, 3, args));
    OT_DNNL_TRY(dnnl_stream_wait(strm));
fail:
    return st;
}

#define MATMUL_RECORD(VER)                                                                           \
    const ot_op_def_t ot_op_MatMul_##VER = {                                                         \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                        \
        .domain = "",                                                                                \
        .op_type = "MatMul",                                                                         \
        .since_version = VER,                                                                        \
        .min_inputs = 2, .max_inputs = 2,                                                            \
        .min_outputs = 1, .max_outputs = 1,                                                          \
        .flags = OT_OP_ONEDNN,                                                                       \
        .infer = matmul_infer,                                                                       \
        .setup = matmul_setup,                                                                       \
        .run = matmul_run,                                                                           \
        .release = matmul_release,                                                                   \
        .doc = "numpy.matmul: Y[..., i, j] = sum_p A[..., i, p] B[..., p, j], batch dims broadcast", \
    };

/* MatMul-9 and -13 only added types (integers, bfloat16): the semantics are
 * MatMul-1's, so two records cover opsets 1..17. */
MATMUL_RECORD(1)
MATMUL_RECORD(13)
