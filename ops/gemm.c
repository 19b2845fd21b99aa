/* ops/gemm.c: Gemm, Y = alpha * A' B' + beta * C (ONNX Gemm-7/9/11/13),
 * with A' = transA ? A^T : A of shape (M, K), B' = transB ? B^T : B of
 * shape (K, N), and C unidirectionally broadcast to (M, N): a scalar, (N),
 * (1, N), (M, 1) or (M, N). C is required before Gemm-11, optional since.
 *
 * float32 runs on a oneDNN matmul: transposes are strides in the memory
 * descriptors, alpha is the output scale, and C is either a binary-add
 * post-op (beta == 1, C broadcast over rows or full) or pre-filled into Y and
 * added back by a sum post-op scaled by beta. float64 (and any shape oneDNN
 * refuses, or K == 0, on which oneDNN 2.6 faults) runs on a reference loop.
 * beta == 0 ignores C, as BLAS does. Not the Gemm-1/6 `broadcast` form.
 *
 * Gradient (A' = op(A), B' = op(B)): dA' = alpha dY B'^T, dB' = alpha A'^T dY,
 * each one Gemm node with the transposes folded into transA/transB:
 *   dA = Gemm(dY, B, transB = !transB)        (transA = 0)
 *      = Gemm(B, dY, transA = transB, transB = 1)  (transA = 1)
 *   dB = Gemm(A, dY, transA = !transA)        (transB = 0)
 *      = Gemm(dY, A, transA = 1, transB = transA)  (transB = 1)
 * all with the forward alpha; dC = beta * SumTo(dY, Shape(C)). Gemm's
 * signature is the same at opsets 11-17; below 11, where C is required,
 * the emitted nodes get a scalar zero C with beta = 0. */
#include "ops/dnnl_util.h"
#include "ops/grad_util.h"

#include <stdlib.h>

static const ot_attr_spec_t gemm_attrs[] = {
    {"alpha", OT_ATTR_FLOAT, false},
    {"beta", OT_ATTR_FLOAT, false},
    {"transA", OT_ATTR_INT, false},
    {"transB", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

/* C seen as (rows, cols) before broadcasting: scalar -> (1, 1), (c) -> (1, c). */
static void gemm_c_dims(const ot_shape_t *c, int64_t *rows, int64_t *cols) {
    *rows = c->rank == 2 ? c->dims[0] : 1;
    *cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
}

static ot_status_t *gemm_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *a = ctx->inputs[0], *b = ctx->inputs[1];
    const ot_tensor_t *c = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    if (a->dtype != OT_DTYPE_FLOAT && a->dtype != OT_DTYPE_DOUBLE)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(a->dtype));
    if (b->dtype != a->dtype || (c && c->dtype != a->dtype))
        return OT_INFER_ERROR(ctx, "A, B and C must have one dtype, got %s, %s and %s", ot_dtype_name(a->dtype),
                              ot_dtype_name(b->dtype), c ? ot_dtype_name(c->dtype) : "none");
    if (a->shape.rank >= 0 && a->shape.rank != 2)
        return OT_INFER_ERROR(ctx, "A must be 2-D, got rank %d", a->shape.rank);
    if (b->shape.rank >= 0 && b->shape.rank != 2)
        return OT_INFER_ERROR(ctx, "B must be 2-D, got rank %d", b->shape.rank);
    bool trans_a = ot_attr_int(ctx->node, "transA", 0) != 0;
    bool trans_b = ot_attr_int(ctx->node, "transB", 0) != 0;
    int64_t m = a->shape.rank == 2 ? a->shape.dims[trans_a ? 1 : 0] : -1;
    int64_t ka = a->shape.rank == 2 ? a->shape.dims[trans_a ? 0 : 1] : -1;
    int64_t kb = b->shape.rank == 2 ? b->shape.dims[trans_b ? 1 : 0] : -1;
    int64_t n = b->shape.rank == 2 ? b->shape.dims[trans_b ? 0 : 1] : -1;
    if (ka >= 0 && kb >= 0 && ka != kb) {
        char sa[128], sb[128];
        return OT_INFER_ERROR(ctx, "inner dimensions differ: A %s%s gives K = %lld, B %s%s gives K = %lld",
                              ot_shape_str(&a->shape, sa, sizeof sa), trans_a ? " (transposed)" : "", (long long)ka,
                              ot_shape_str(&b->shape, sb, sizeof sb), trans_b ? " (transposed)" : "", (long long)kb);
    }
    if (c && c->shape.rank >= 0) {
        char sc[128];
        if (c->shape.rank > 2)
            return OT_INFER_ERROR(ctx, "C %s cannot be broadcast to (M, N): rank above 2",
                                  ot_shape_str(&c->shape, sc, sizeof sc));
        int64_t cr, cc;
        gemm_c_dims(&c->shape, &cr, &cc);
        if ((cr > 1 && m >= 0 && cr != m) || (cc > 1 && n >= 0 && cc != n) || cr == 0 || cc == 0)
            return OT_INFER_ERROR(ctx, "C %s cannot be broadcast to (M, N) = (%lld, %lld)",
                                  ot_shape_str(&c->shape, sc, sizeof sc), (long long)m, (long long)n);
    }
    ctx->outputs[0]->dtype = a->dtype;
    int64_t dims[2] = {m, n};
    ctx->outputs[0]->shape = ot_shape_make(2, dims);
    return NULL;
}

enum gemm_c_mode {
    GEMM_C_NONE,     /* no C, or beta == 0 */
    GEMM_C_BINARY,   /* oneDNN binary-add post-op reads C (beta == 1) */
    GEMM_C_PREFILL,  /* run() copies broadcast C into Y; sum post-op adds beta * Y */
};

typedef struct gemm_state {
    int64_t m, n, k;
    bool trans_a, trans_b;
    float alpha, beta;
    bool use_c;              /* C present and beta != 0 */
    int64_t c_rs, c_cs;      /* strides of C viewed as (M, N); 0 on broadcast axes */
    enum gemm_c_mode c_mode; /* oneDNN path only */
    dnnl_primitive_t prim;   /* NULL: reference loop */
    dnnl_memory_t src, wei, dst, c_mem;
} gemm_state_t;

static void gemm_release(ot_kernel_t *k) {
    gemm_state_t *s = k->state;
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->src) dnnl_memory_destroy(s->src);
    if (s->wei) dnnl_memory_destroy(s->wei);
    if (s->dst) dnnl_memory_destroy(s->dst);
    if (s->c_mem) dnnl_memory_destroy(s->c_mem);
    free(s);
    k->state = NULL;
}

/* Tries to build the oneDNN matmul for `mode`; leaves *ok false (and the
 * state untouched) when oneDNN has no implementation for it. */
static ot_status_t *gemm_try_dnnl(ot_kernel_t *k, gemm_state_t *s, enum gemm_c_mode mode, bool *ok) {
    ot_status_t *st = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    *ok = false;
    /* src: (M, K), weights: (K, N), dst: (M, N); transposed operands are
     * the same bytes read with swapped strides. */
    dnnl_memory_desc_t src_md, wei_md, dst_md, c_md;
    dnnl_dims_t src_dims = {s->m, s->k}, wei_dims = {s->k, s->n}, dst_dims = {s->m, s->n};
    dnnl_dims_t src_str = {s->trans_a ? 1 : s->k, s->trans_a ? s->m : 1};
    dnnl_dims_t wei_str = {s->trans_b ? 1 : s->n, s->trans_b ? s->k : 1};
    dnnl_dims_t dst_str = {s->n, 1};
    OT_DNNL_TRY(dnnl_memory_desc_init_by_strides(&src_md, 2, src_dims, dnnl_f32, src_str));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_strides(&wei_md, 2, wei_dims, dnnl_f32, wei_str));
    OT_DNNL_TRY(dnnl_memory_desc_init_by_strides(&dst_md, 2, dst_dims, dnnl_f32, dst_str));
    dnnl_matmul_desc_t desc;
    OT_DNNL_TRY(dnnl_matmul_desc_init(&desc, &src_md, &wei_md, NULL, &dst_md));
    OT_DNNL_TRY(dnnl_primitive_attr_create(&attr));
    if (s->alpha != 1.f) OT_DNNL_TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &s->alpha));
    if (mode != GEMM_C_NONE) {
        OT_DNNL_TRY(dnnl_post_ops_create(&po));
        if (mode == GEMM_C_BINARY) {
            /* C: (1 or M, 1 or N), broadcast by oneDNN. */
            const ot_shape_t *cs = &k->inputs[2]->shape;
            int64_t cr, cc;
            gemm_c_dims(cs, &cr, &cc);
            dnnl_dims_t c_dims = {cr, cc}, c_str = {cc, 1};
            OT_DNNL_TRY(dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_str));
            OT_DNNL_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, &c_md));
        } else {
            OT_DNNL_TRY(dnnl_post_ops_append_sum(po, s->beta));
        }
        OT_DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    dnnl_status_t ds = dnnl_primitive_desc_create(&pd, &desc, attr, (dnnl_engine_t)k->engine, NULL);
    if (ds == dnnl_unimplemented) goto fail; /* caller falls back */
    OT_DNNL_TRY(ds);
    OT_DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    dnnl_engine_t eng = (dnnl_engine_t)k->engine;
    OT_DNNL_TRY(dnnl_memory_create(&s->src, &src_md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->wei, &wei_md, eng, DNNL_MEMORY_NONE));
    OT_DNNL_TRY(dnnl_memory_create(&s->dst, &dst_md, eng, DNNL_MEMORY_NONE));
    if (mode == GEMM_C_BINARY) OT_DNNL_TRY(dnnl_memory_create(&s->c_mem, &c_md, eng, DNNL_MEMORY_NONE));
    s->c_mode = mode;
    *ok = true;
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static ot_status_t *gemm_setup(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    const ot_tensor_t *c = k->n_inputs > 2 ? k->inputs[2] : NULL;
    gemm_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    s->trans_a = ot_attr_int(k->node, "transA", 0) != 0;
    s->trans_b = ot_attr_int(k->node, "transB", 0) != 0;
    s->alpha = ot_attr_float(k->node, "alpha", 1.f);
    s->beta = ot_attr_float(k->node, "beta", 1.f);
    s->m = a->shape.dims[s->trans_a ? 1 : 0];
    s->k = a->shape.dims[s->trans_a ? 0 : 1];
    s->n = b->shape.dims[s->trans_b ? 0 : 1];
    s->use_c = c && s->beta != 0.f;
    if (s->use_c) {
        int64_t cr, cc;
        gemm_c_dims(&c->shape, &cr, &cc);
        s->c_rs = cr == 1 ? 0 : cc;
        s->c_cs = cc == 1 ? 0 : 1;
    }
    if (a->dtype != OT_DTYPE_FLOAT || s->m == 0 || s->n == 0 || s->k == 0) return NULL;

    bool ok = false;
    if (!s->use_c) {
        st = gemm_try_dnnl(k, s, GEMM_C_NONE, &ok);
    } else {
        /* A binary post-op broadcast down columns ((M, 1) with N > 1) only
         * has oneDNN's slow reference kernel, so that C goes through Y. */
        bool c_rows = s->c_rs == 0 || s->c_cs != 0 || s->n == 1;
        if (s->beta == 1.f && c_rows) st = gemm_try_dnnl(k, s, GEMM_C_BINARY, &ok);
        if (!st && !ok) st = gemm_try_dnnl(k, s, GEMM_C_PREFILL, &ok);
    }
    return st; /* !ok: reference loop */
}

/* Y (M, N) = alpha * A' B' + beta * C, accumulating in double. */
#define GEMM_REF(T)                                                                                              \
    static void gemm_ref_##T(const gemm_state_t *s, const T *a, const T *b, const T *c, T *y) {                  \
        int64_t m_ = s->m, n_ = s->n, k_ = s->k;                                                                 \
        /* A'[i, p] = a[i * a_rs + p * a_cs], B'[p, j] = b[p * b_rs + j * b_cs] */                               \
        int64_t a_rs = s->trans_a ? 1 : k_, a_cs = s->trans_a ? m_ : 1;                                          \
        int64_t b_rs = s->trans_b ? 1 : n_, b_cs = s->trans_b ? k_ : 1;                                          \
        _Pragma("omp parallel for if (m_ * n_ * k_ > 32768)") for (int64_t i = 0; i < m_; i++) {                 \
            for (int64_t j = 0; j < n_; j++) {                                                                   \
                double acc = 0;                                                                                  \
                for (int64_t p = 0; p < k_; p++) acc += (double)a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs]; \
                double v = s->alpha * acc;                                                                       \
                if (s->use_c) v += (double)s->beta * c[i * s->c_rs + j * s->c_cs];                               \
                y[i * n_ + j] = (T)v;                                                                            \
            }                                                                                                    \
        }                                                                                                        \
    }
GEMM_REF(float)
GEMM_REF(double)

static ot_status_t *gemm_run(ot_kernel_t *k) {
    ot_status_t *st = NULL;
    gemm_state_t *s = k->state;
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    const ot_tensor_t *c = s->use_c ? k->inputs[2] : NULL;
    ot_tensor_t *y = k->outputs[0];
    if (!s->prim) {
        if (a->dtype == OT_DTYPE_FLOAT) gemm_ref_float(s, a->data, b->data, c ? c->data : NULL, y->data);
        else gemm_ref_double(s, a->data, b->data, c ? c->data : NULL, y->data);
        return NULL;
    }
    if (s->c_mode == GEMM_C_PREFILL) {
        /* Y = broadcast(C); the sum post-op then gives alpha * A'B' + beta * Y. */
        const float *cp = c->data;
        float *yp = y->data;
        int64_t m_ = s->m, n_ = s->n;
#pragma omp parallel for if (m_ * n_ > 65536)
        for (int64_t i = 0; i < m_; i++)
            for (int64_t j = 0; j < n_; j++) yp[i * n_ + j] = cp[i * s->c_rs + j * s->c_cs];
    }
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->src, a->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->wei, b->data));
    OT_DNNL_TRY(dnnl_memory_set_data_handle(s->dst, y->data));
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, s->src},
        {DNNL_ARG_WEIGHTS, s->wei},
        {DNNL_ARG_DST, s->dst},
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, s->c_mem},
    };
    int n_args = 3;
    if (s->c_mode == GEMM_C_BINARY) {
        OT_DNNL_TRY(dnnl_memory_set_data_handle(s->c_mem, c->data));
        n_args = 4;
    }
    dnnl_stream_t strm = (dnnl_stream_t)k->stream;
    OT_DNNL_TRY(dnnl_primitive_execute(s->prim, strm, n_args, args));
    OT_DNNL_TRY(dnnl_stream_wait(strm));
fail:
    return st;
}

/* One backward Gemm: *out = alpha * op(p) op(q). */
static ot_status_t *gemm_grad_node(ot_grad_ctx_t *ctx, int p, int q, bool tp, bool tq, float alpha, int *out) {
    ot_attr_t attrs[4] = {
        {.name = "transA", .type = OT_ATTR_INT, .i = tp},
        {.name = "transB", .type = OT_ATTR_INT, .i = tq},
        {.name = "alpha", .type = OT_ATTR_FLOAT, .f = alpha},
        {.name = "beta", .type = OT_ATTR_FLOAT, .f = 0.f},
    };
    int in[3] = {p, q, -1};
    if (ctx->node->opset < 11) { /* C required: a zero scalar, ignored with beta = 0 */
        ot_status_t *st = ot_grad_scalar(ctx, ctx->input_types[0]->dtype, 0.0, &in[2]);
        if (st) return st;
        return ot_grad_emit(ctx, "", "Gemm", 3, in, 1, out, 4, attrs);
    }
    return ot_grad_emit(ctx, "", "Gemm", 2, in, 1, out, 3, attrs);
}

static ot_status_t *gemm_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = NULL;
    bool ta = ot_attr_int(ctx->node, "transA", 0) != 0, tb = ot_attr_int(ctx->node, "transB", 0) != 0;
    float alpha = ot_attr_float(ctx->node, "alpha", 1.f), beta = ot_attr_float(ctx->node, "beta", 1.f);
    int dy = ctx->doutputs[0], a = ctx->inputs[0], b = ctx->inputs[1];
    if (ctx->needs[0])
        st = ta ? gemm_grad_node(ctx, b, dy, tb, true, alpha, &ctx->dinputs[0])
                : gemm_grad_node(ctx, dy, b, false, !tb, alpha, &ctx->dinputs[0]);
    if (!st && ctx->needs[1])
        st = tb ? gemm_grad_node(ctx, dy, a, true, ta, alpha, &ctx->dinputs[1])
                : gemm_grad_node(ctx, a, dy, !ta, false, alpha, &ctx->dinputs[1]);
    /* beta == 0 still emits 0 * SumTo(dY): a zero fill of C's shape would
     * need ConstantOfShape when C's dims are symbolic */
    if (!st && ctx->n_inputs > 2 && ctx->needs[2]) {
        int sum, scale;
        st = ot_grad_unbroadcast(ctx, dy, ctx->output_types[0], 2, &sum);
        if (!st && beta == 1.f) ctx->dinputs[2] = sum;
        else if (!st && !(st = ot_grad_scalar(ctx, ctx->input_types[2]->dtype, beta, &scale)))
            st = ot_grad_op2(ctx, "", "Mul", sum, scale, &ctx->dinputs[2]);
    }
    return st;
}

#define GEMM_RECORD(VER, MIN_IN)                                                                    \
    const ot_op_def_t ot_op_Gemm_##VER = {                                                          \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = "",                                                                               \
        .op_type = "Gemm",                                                                          \
        .since_version = VER,                                                                       \
        .min_inputs = MIN_IN, .max_inputs = 3,                                                      \
        .min_outputs = 1, .max_outputs = 1,                                                         \
        .attrs = gemm_attrs,                                                                        \
        .flags = OT_OP_ONEDNN,                                                                      \
        .infer = gemm_infer,                                                                        \
        .setup = gemm_setup,                                                                        \
        .run = gemm_run,                                                                            \
        .release = gemm_release,                                                                    \
        .gradient = gemm_gradient,                                                                  \
        .doc = "Y = alpha * op(A) op(B) + beta * C, C broadcast to (M, N)",                         \
    };

/* 7: C unidirectionally broadcast; 9: more types; 11: C optional; 13: bf16. */
GEMM_RECORD(7, 3)
GEMM_RECORD(9, 3)
GEMM_RECORD(11, 2)
GEMM_RECORD(13, 2)
