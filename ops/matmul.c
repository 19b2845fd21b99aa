/* ops/matmul.c: MatMul with numpy.matmul semantics (ONNX MatMul-1/13):
 * Y[..., i, j] = sum_p A[..., i, p] * B[..., p, j]. A 1-D A (K) is read as
 * (1, K) and a 1-D B (K) as (K, 1); the added dimension is dropped from Y.
 * Batch dimensions broadcast numpy-style, e.g. (2, 1, 3, 4) x (5, 4, 2) ->
 * (2, 5, 3, 2).
 *
 * float32 runs on one oneDNN matmul (batch broadcasting is oneDNN's; when B
 * has no batch, A's batch is folded into its rows). float64, int32, int64,
 * and what oneDNN refuses (or K == 0, on which oneDNN 2.6 faults) run on a
 * reference loop. Not MatMulInteger or quantized matmul.
 *
 * ai.onnxtrain::MatMulTransposed(A, B; transA, transB) is the same op with
 * either operand's last two dims transposed first, read through strides (no
 * transposed copy): Y = op(A) @ op(B). A 1-D A (K) is promoted to (1, K) and
 * a 1-D B (K) to (K, 1) before transposing, and Y keeps both matrix dims
 * (batch.., M, N) (nothing dropped): it is the backward op of MatMul.
 *
 * MatMul's gradient, with A, B, dY promoted to (.., M, K), (.., K, N),
 * (.., M, N) (dY by a Reshape when A or B is 1-D):
 *   dA = SumTo(MatMulTransposed(dY, B, transB=1), Shape(A))
 *   dB = SumTo(MatMulTransposed(A, dY, transA=1), Shape(B))
 *   1-D B: dB = SumTo(MatMulTransposed(dY, A, transA=1), Shape(B)) = dB^T,
 *          (.., 1, K), whose leading dims SumTo removes (transB=1 too when
 *          A is 1-D, to read it as the row (1, K))
 * SumTo sums over the batch dims an operand was broadcast along. */
#include "ops/dnnl_util.h"
#include "ops/grad_util.h"

#include <stdlib.h>

/* The operands after promotion of 1-D inputs to matrices. */
typedef struct matmul_dims {
    ot_shape_t batch;          /* broadcast batch shape */
    ot_shape_t a_batch;        /* A's batch dims, padded with leading 1s to batch.rank */
    ot_shape_t b_batch;
    int64_t m, k, n;
    bool trans_a, trans_b;     /* MatMulTransposed: op(A), op(B) */
    ot_shape_t out;            /* Y's shape (MatMul: promoted dims dropped) */
} matmul_dims_t;

/* MatMulTransposed or plain MatMul. */
static bool matmul_is_t(const ot_node_info_t *node) { return strcmp(node->op_type, "MatMulTransposed") == 0; }

/* Shapes of both operands with known ranks >= 1; dims may be unknown.
 * Returns an error naming the node if the known dims are incompatible. */
static ot_status_t *matmul_shapes(const ot_node_info_t *node, const ot_shape_t *a, const ot_shape_t *b,
                                  matmul_dims_t *d) {
    char sa[128], sb[128];
    int ra = a->rank, rb = b->rank;
    bool keep = matmul_is_t(node);
    d->trans_a = keep && ot_attr_int(node, "transA", 0) != 0;
    d->trans_b = keep && ot_attr_int(node, "transB", 0) != 0;
    /* promoted: A (r0, r1) = 1-D ? (1, K) : last two; B (K, 1) if 1-D */
    int64_t a0 = ra >= 2 ? a->dims[ra - 2] : 1, a1 = a->dims[ra - 1];
    int64_t b0 = rb >= 2 ? b->dims[rb - 2] : b->dims[0], b1 = rb >= 2 ? b->dims[rb - 1] : 1;
    d->m = d->trans_a ? a1 : a0;
    d->k = d->trans_a ? a0 : a1;
    int64_t kb = d->trans_b ? b1 : b0;
    d->n = d->trans_b ? b0 : b1;
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
    if (ra >= 2 || keep) d->out.dims[d->out.rank++] = d->m;
    if (rb >= 2 || keep) d->out.dims[d->out.rank++] = d->n;
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
    int64_t a_rs, a_cs, b_rs, b_cs; /* op(A)[i, p] = a[i * a_rs + p * a_cs], op(B)[p, j] likewise */
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

/* md of an operand viewed as (batch.., r, c) = op(X), stored as (batch.., r, c)
 * or, transposed, (batch.., c, r): the transpose is in the strides. */
static dnnl_status_t matmul_md(dnnl_memory_desc_t *md, const ot_shape_t *view, bool trans) {
    ot_shape_t stored = *view;
    int r = view->rank;
    if (trans) stored.dims[r - 2] = view->dims[r - 1], stored.dims[r - 1] = view->dims[r - 2];
    int64_t st[OT_MAX_RANK];
    ot_shape_strides(&stored, st);
    if (trans) {
        int64_t t = st[r - 2];
        st[r - 2] = st[r - 1];
        st[r - 1] = t;
    }
    dnnl_dims_t dims, strides;
    for (int i = 0; i < r; i++) dims[i] = view->dims[i], strides[i] = st[i];
    return dnnl_memory_desc_init_by_strides(md, r, dims, dnnl_f32, strides);
}

/* Builds the oneDNN matmul; leaves s->prim NULL if oneDNN has none. */
static ot_status_t *matmul_setup_dnnl(ot_kernel_t *k, matmul_state_t *s, const matmul_dims_t *d) {
    ot_status_t *st = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t src_md, wei_md, dst_md;
    ot_shape_t as, bs, ys; /* src: (batch.., M, K), weights: (batch.., K, N), dst: (batch.., M, N) */
    int64_t b_count = ot_shape_numel(&d->b_batch);
    if (b_count == 1 && !d->trans_a) {
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
    OT_DNNL_TRY(matmul_md(&src_md, &as, d->trans_a));
    OT_DNNL_TRY(matmul_md(&wei_md, &bs, d->trans_b));
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
    s->a_rs = d.trans_a ? 1 : d.k, s->a_cs = d.trans_a ? d.m : 1;
    s->b_rs = d.trans_b ? 1 : d.n, s->b_cs = d.trans_b ? d.k : 1;
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
            const T *ar = a + s->a_off[bi] + i * s->a_rs; /* op(A) row i: (K) */                     \
            const T *bm = b + s->b_off[bi];               /* op(B): (K, N) */                        \
            T *yr = y + r * n_;                           /* (N) */                                  \
            for (int64_t j = 0; j < n_; j++) {                                                       \
                ACC acc = 0;                                                                         \
                for (int64_t p = 0; p < k_; p++)                                                     \
                    acc += (ACC)ar[p * s->a_cs] * (ACC)bm[p * s->b_rs + j * s->b_cs];                \
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

/* One backward product: *out = MatMulTransposed(p, q). */
static ot_status_t *matmul_grad_node(ot_grad_ctx_t *ctx, int p, int q, bool tp, bool tq, int *out) {
    ot_attr_t attrs[2] = {
        {.name = "transA", .type = OT_ATTR_INT, .i = tp},
        {.name = "transB", .type = OT_ATTR_INT, .i = tq},
    };
    int in[2] = {p, q};
    return ot_grad_emit(ctx, OT_DOMAIN, "MatMulTransposed", 2, in, 1, out, 2, attrs);
}

static ot_status_t *matmul_gradient(ot_grad_ctx_t *ctx) {
    const ot_shape_t *as = &ctx->input_types[0]->shape, *bs = &ctx->input_types[1]->shape;
    if (as->rank < 1 || bs->rank < 1)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs the ranks of A and B at load time");
    matmul_dims_t d;
    ot_status_t *st = matmul_shapes(ctx->node, as, bs, &d);
    if (st) return st;
    int nb = d.batch.rank, dy = ctx->doutputs[0], a = ctx->inputs[0], b = ctx->inputs[1], g;
    if (as->rank == 1 || bs->rank == 1) {
        /* dY -> (batch.., M, N): Reshape's 0 copies the dim at that index */
        int64_t dims[OT_MAX_RANK + 2];
        int n = 0;
        for (int i = 0; i < nb; i++) dims[n++] = 0;
        if (as->rank == 1 && bs->rank == 1) { /* dY: () */
            dims[n++] = 1, dims[n++] = 1;
        } else if (as->rank == 1) { /* dY: (batch.., N) */
            dims[n++] = 1, dims[n++] = -1;
        } else { /* dY: (batch.., M) */
            dims[n++] = 0, dims[n++] = 1;
        }
        ot_tensor_t shape = {OT_DTYPE_INT64, {1, {n}}, dims};
        int c;
        if ((st = ot_grad_constant(ctx, &shape, &c)) || (st = ot_grad_op2(ctx, "", "Reshape", dy, c, &dy))) return st;
    }
    /* the products' shapes, for SumTo's no-op check */
    ot_tensor_t ga = {ctx->input_types[0]->dtype, d.batch, NULL}, gb = ga;
    ga.shape.dims[ga.shape.rank++] = d.m, ga.shape.dims[ga.shape.rank++] = d.k;
    gb.shape.dims[gb.shape.rank++] = bs->rank == 1 ? 1 : d.k, gb.shape.dims[gb.shape.rank++] = bs->rank == 1 ? d.k : d.n;
    if (ctx->needs[0] && !(st = matmul_grad_node(ctx, dy, b, false, true, &g)))
        st = ot_grad_unbroadcast(ctx, g, &ga, 0, &ctx->dinputs[0]);
    if (!st && ctx->needs[1]) {
        /* 1-D B: dB^T = dY^T op(A), A read as (.., M, K); a 1-D A in B's
         * place is promoted to (K, 1), hence transposed back to (1, K) */
        st = bs->rank == 1 ? matmul_grad_node(ctx, dy, a, true, as->rank == 1, &g)
                           : matmul_grad_node(ctx, a, dy, true, false, &g);
        if (!st) st = ot_grad_unbroadcast(ctx, g, &gb, 1, &ctx->dinputs[1]);
    }
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
        .gradient = matmul_gradient,                                                                 \
        .doc = "numpy.matmul: Y[..., i, j] = sum_p A[..., i, p] B[..., p, j], batch dims broadcast", \
    };

/* MatMul-9 and -13 only added types (integers, bfloat16): the semantics are
 * MatMul-1's, so two records cover opsets 1..17. */
MATMUL_RECORD(1)
MATMUL_RECORD(13)

static const ot_attr_spec_t matmul_t_attrs[] = {
    {"transA", OT_ATTR_INT, false},
    {"transB", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

const ot_op_def_t ot_op_ot_MatMulTransposed_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = OT_DOMAIN,
    .op_type = "MatMulTransposed",
    .since_version = 1,
    .min_inputs = 2, .max_inputs = 2,
    .min_outputs = 1, .max_outputs = 1,
    .attrs = matmul_t_attrs,
    .flags = OT_OP_ONEDNN,
    .infer = matmul_infer,
    .setup = matmul_setup,
    .run = matmul_run,
    .release = matmul_release,
    .doc = "Y = op(A) @ op(B), op transposing the last two dims; 1-D A is (1, K), 1-D B (K, 1); Y keeps (.., M, N)",
};
