/* ops/compare.c: comparison and logical ops with bool outputs, the masks
 * exported models build (attention masks, Clip/Max expansions):
 *
 *   Equal-7/11/13      a == b      Less-7/9/13     a < b     Greater-7/9/13  a > b
 *   LessOrEqual-12/16  a <= b      GreaterOrEqual-12/16  a >= b
 *   And-7, Or-7, Xor-7 on bool     Not-1 on bool
 *
 * Binary ones broadcast with numpy rules (ops/broadcast.h); the -1 versions
 * with the legacy `broadcast`/`axis` attributes are not provided. Later
 * versions only widen the type lists, so one record serves each op up to
 * opset 17 and accepts every type at every opset. Types: float, double,
 * int8..64, uint8..64, and bool for Equal; NaN compares unequal to
 * everything (IEEE, as numpy). No gradients: the outputs are not float.
 */
#include "ops/broadcast.h"

typedef enum cmpop { CMP_EQ, CMP_LT, CMP_GT, CMP_LE, CMP_GE, CMP_AND, CMP_OR, CMP_XOR, CMP_COUNT } cmpop_t;

#define CMP_ROW(name, T, EXPR)                                                                \
    static void name(const void *ctx, int64_t n, void *dst_, const void *const *src,          \
                     const int64_t *step) {                                                   \
        (void)ctx;                                                                            \
        uint8_t *restrict d = dst_;                                                           \
        const T *restrict pa = src[0], *restrict pb = src[1];                                 \
        if (step[0] && step[1]) {                                                             \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T x = pa[i], y = pb[i];                                                       \
                d[i] = (uint8_t)(EXPR);                                                       \
            }                                                                                 \
        } else if (step[0]) {                                                                 \
            const T y = pb[0];                                                                \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                T x = pa[i];                                                                  \
                d[i] = (uint8_t)(EXPR);                                                       \
            }                                                                                 \
        } else {                                                                              \
            const int64_t sb = step[1];                                                       \
            const T x = pa[0];                                                                \
            for (int64_t i = 0; i < n; i++) {                                                 \
                T y = pb[i * sb];                                                             \
                d[i] = (uint8_t)(EXPR);                                                       \
            }                                                                                 \
        }                                                                                     \
    }

#define CMP_ROWS_FOR(T, tag)                                                                  \
    CMP_ROW(eq_##tag, T, x == y)                                                              \
    CMP_ROW(lt_##tag, T, x < y)                                                               \
    CMP_ROW(gt_##tag, T, x > y)                                                               \
    CMP_ROW(le_##tag, T, x <= y)                                                              \
    CMP_ROW(ge_##tag, T, x >= y)

CMP_ROWS_FOR(float, f32)
CMP_ROWS_FOR(double, f64)
CMP_ROWS_FOR(int8_t, i8)
CMP_ROWS_FOR(int16_t, i16)
CMP_ROWS_FOR(int32_t, i32)
CMP_ROWS_FOR(int64_t, i64)
CMP_ROWS_FOR(uint8_t, u8)
CMP_ROWS_FOR(uint16_t, u16)
CMP_ROWS_FOR(uint32_t, u32)
CMP_ROWS_FOR(uint64_t, u64)
/* bool: any nonzero byte is true */
CMP_ROW(eq_b, uint8_t, !x == !y)
CMP_ROW(and_b, uint8_t, x && y)
CMP_ROW(or_b, uint8_t, x || y)
CMP_ROW(xor_b, uint8_t, !x != !y)

#define CMP_ENTRY(DT, tag) [DT] = {eq_##tag, lt_##tag, gt_##tag, le_##tag, ge_##tag, NULL, NULL, NULL}

static const ot_bcast_row_fn cmp_rows[OT_DTYPE_COUNT][CMP_COUNT] = {
    CMP_ENTRY(OT_DTYPE_FLOAT, f32),  CMP_ENTRY(OT_DTYPE_DOUBLE, f64), CMP_ENTRY(OT_DTYPE_INT8, i8),
    CMP_ENTRY(OT_DTYPE_INT16, i16),  CMP_ENTRY(OT_DTYPE_INT32, i32),  CMP_ENTRY(OT_DTYPE_INT64, i64),
    CMP_ENTRY(OT_DTYPE_UINT8, u8),   CMP_ENTRY(OT_DTYPE_UINT16, u16), CMP_ENTRY(OT_DTYPE_UINT32, u32),
    CMP_ENTRY(OT_DTYPE_UINT64, u64),
    [OT_DTYPE_BOOL] = {[CMP_EQ] = eq_b, [CMP_AND] = and_b, [CMP_OR] = or_b, [CMP_XOR] = xor_b},
};

static ot_status_t *cmp_infer(ot_infer_ctx_t *ctx, cmpop_t op) {
    const ot_tensor_t *a = ctx->inputs[0], *b = ctx->inputs[1];
    if (a->dtype != b->dtype)
        return OT_INFER_ERROR(ctx, "input dtypes differ: %s and %s", ot_dtype_name(a->dtype), ot_dtype_name(b->dtype));
    if (a->dtype <= OT_DTYPE_UNDEFINED || a->dtype >= OT_DTYPE_COUNT || !cmp_rows[a->dtype][op])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported", ot_dtype_name(a->dtype));
    ot_shape_t out;
    if (!ot_broadcast_shape(&a->shape, &b->shape, &out)) {
        char sa[128], sb[128];
        return OT_INFER_ERROR(ctx, "cannot broadcast input shapes %s and %s", ot_shape_str(&a->shape, sa, sizeof sa),
                              ot_shape_str(&b->shape, sb, sizeof sb));
    }
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = OT_DTYPE_BOOL;
    ctx->outputs[0]->shape = out;
    return NULL;
}

static ot_status_t *cmp_run(ot_kernel_t *k, cmpop_t op) {
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    ot_tensor_t *c = k->outputs[0];
    if (!c) return NULL;
    const ot_shape_t *shapes[2] = {&a->shape, &b->shape};
    ot_bcast_t plan;
    ot_bcast_init(&plan, &c->shape, 2, shapes);
    const void *src[2] = {a->data, b->data};
    size_t es = ot_dtype_size(a->dtype), esize[2] = {es, es};
    ot_bcast_run(&plan, c->data, 1, src, esize, cmp_rows[a->dtype][op], NULL);
    return NULL;
}

#define OT_CMP_RECORD(Op, OPC, since, doc_)                                                   \
    static ot_status_t *Op##_infer(ot_infer_ctx_t *ctx) { return cmp_infer(ctx, OPC); }       \
    static ot_status_t *Op##_run(ot_kernel_t *k) { return cmp_run(k, OPC); }                  \
    const ot_op_def_t ot_op_##Op##_##since = {                                                \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                 \
        .domain = "",                                                                         \
        .op_type = #Op,                                                                       \
        .since_version = since,                                                               \
        .min_inputs = 2, .max_inputs = 2,                                                     \
        .min_outputs = 1, .max_outputs = 1,                                                   \
        .infer = Op##_infer,                                                                  \
        .run = Op##_run,                                                                      \
        .doc = doc_,                                                                          \
    };

OT_CMP_RECORD(Equal, CMP_EQ, 7, "C = (A == B), bool, numpy broadcasting")
OT_CMP_RECORD(Less, CMP_LT, 7, "C = (A < B), bool, numpy broadcasting")
OT_CMP_RECORD(Greater, CMP_GT, 7, "C = (A > B), bool, numpy broadcasting")
OT_CMP_RECORD(LessOrEqual, CMP_LE, 12, "C = (A <= B), bool, numpy broadcasting")
OT_CMP_RECORD(GreaterOrEqual, CMP_GE, 12, "C = (A >= B), bool, numpy broadcasting")
OT_CMP_RECORD(And, CMP_AND, 7, "C = A and B (bool), numpy broadcasting")
OT_CMP_RECORD(Or, CMP_OR, 7, "C = A or B (bool), numpy broadcasting")
OT_CMP_RECORD(Xor, CMP_XOR, 7, "C = A xor B (bool), numpy broadcasting")

/* ---- Not ------------------------------------------------------------------- */

static ot_status_t *not_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    if (x->dtype != OT_DTYPE_BOOL) return OT_INFER_ERROR(ctx, "input must be bool, got %s", ot_dtype_name(x->dtype));
    if (!ctx->outputs[0]) return NULL;
    ctx->outputs[0]->dtype = OT_DTYPE_BOOL;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

static ot_status_t *not_run(ot_kernel_t *k) {
    if (!k->outputs[0]) return NULL;
    int64_t n = ot_shape_numel(&k->inputs[0]->shape);
    const uint8_t *restrict x = k->inputs[0]->data;
    uint8_t *restrict y = k->outputs[0]->data;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = !x[i];
    return NULL;
}

const ot_op_def_t ot_op_Not_1 = {
    .abi_version = OT_PLUGIN_ABI_VERSION,
    .domain = "",
    .op_type = "Not",
    .since_version = 1,
    .min_inputs = 1, .max_inputs = 1,
    .min_outputs = 1, .max_outputs = 1,
    .infer = not_infer,
    .run = not_run,
    .doc = "y = not x (bool)",
};
