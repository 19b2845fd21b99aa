/* ops/cast.c: Cast (ONNX Cast-6/9/13), converts elements to dtype `to`.
 *
 * Types: float, double, float16, bfloat16, int8/16/32/64, uint8/16/32/64,
 * bool. Every conversion rounds once, to nearest even, as the C
 * conversions do; our definitions where C leaves it open:
 *   - float -> integer truncates toward zero; NaN gives 0 and values beyond
 *     the target's range saturate to its min/max (C: undefined);
 *   - integer -> narrower integer wraps modulo 2^bits (two's complement);
 *   - anything -> bool is (x != 0), so NaN -> true; bool -> number is 0/1;
 *   - float16/bfloat16 results round to nearest even from the exact source
 *     value (double and int64 sources too: they pass through float with
 *     round-to-odd, which keeps the final rounding exact); overflow gives
 *     inf and NaN stays NaN.
 * Not supported: string (Cast-9) and complex types (OT_ERR_UNSUPPORTED at
 * inference). Versions 6/9/13 differ only in those types.
 *
 * The kernel works in chunks: the source is widened exactly to double,
 * int64 or uint64 in a small buffer, then narrowed into the target. */
#include "ops/shape_util.h"

#include <inttypes.h>
#include <math.h>

static const ot_attr_spec_t cast_attrs[] = {{"to", OT_ATTR_INT, true}, {NULL, 0, false}};

static bool cast_type_ok(ot_dtype_t dt) {
    switch (dt) {
    case OT_DTYPE_FLOAT: case OT_DTYPE_DOUBLE: case OT_DTYPE_FLOAT16: case OT_DTYPE_BFLOAT16:
    case OT_DTYPE_INT8: case OT_DTYPE_INT16: case OT_DTYPE_INT32: case OT_DTYPE_INT64:
    case OT_DTYPE_UINT8: case OT_DTYPE_UINT16: case OT_DTYPE_UINT32: case OT_DTYPE_UINT64:
    case OT_DTYPE_BOOL: return true;
    default: return false;
    }
}

static ot_status_t *cast_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0];
    int64_t to = ot_attr_int(ctx->node, "to", 0);
    if (!cast_type_ok(x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s is not supported", ot_dtype_name(x->dtype));
    if (to <= OT_DTYPE_UNDEFINED || to >= OT_DTYPE_COUNT)
        return OT_INFER_ERROR(ctx, "to = %" PRId64 " is not a tensor dtype", to);
    if (!cast_type_ok((ot_dtype_t)to))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "cast to %s is not supported", ot_dtype_name((ot_dtype_t)to));
    ctx->outputs[0]->dtype = (ot_dtype_t)to;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

/* ---- exact widening, rounding to odd ---------------------------------- */

/* float nearest to d, rounded to odd (truncate, then set the last bit if
 * inexact): a later rounding to <= 22 bits is then the correct rounding
 * of d itself. Finite d beyond FLT_MAX gives FLT_MAX (odd), not inf. */
static float double_to_float_odd(double d) {
    float f = (float)d;
    if (isnan(d) || (double)f == d) return f;
    uint32_t b;
    memcpy(&b, &f, 4);
    if (isinf(f)) b = (b & 0x80000000u) | 0x7f7fffffu;
    else if (!(b & 1u)) b = fabs(d) > fabs((double)f) ? b + 1u : b - 1u; /* the odd neighbour toward d */
    memcpy(&f, &b, 4);
    return f;
}

static float u64_to_float_odd(uint64_t m) {
    if (m < (1u << 24)) return (float)m; /* exact */
    int sh = 0;
    while ((m >> sh) >= (1u << 24)) sh++;
    uint64_t top = m >> sh;
    if (m & ((UINT64_C(1) << sh) - 1)) top |= 1u;
    return (float)top * (float)(UINT64_C(1) << sh); /* exact: 24 bits times a power of two */
}

static float i64_to_float_odd(int64_t s) {
    return s < 0 ? -u64_to_float_odd(UINT64_C(0) - (uint64_t)s) : u64_to_float_odd((uint64_t)s);
}

/* ---- chunked kernel --------------------------------------------------- */

#define CHUNK 512

typedef enum wide_kind { WIDE_F, WIDE_S, WIDE_U } wide_kind_t;

typedef union wide_buf {
    double f[CHUNK];
    int64_t s[CHUNK];
    uint64_t u[CHUNK];
} wide_buf_t;

static wide_kind_t wide_kind(ot_dtype_t dt) {
    switch (dt) {
    case OT_DTYPE_FLOAT: case OT_DTYPE_DOUBLE: case OT_DTYPE_FLOAT16: case OT_DTYPE_BFLOAT16: return WIDE_F;
    case OT_DTYPE_INT8: case OT_DTYPE_INT16: case OT_DTYPE_INT32: case OT_DTYPE_INT64: return WIDE_S;
    default: return WIDE_U;
    }
}

#define LOAD(DT, T, FIELD, EXPR)                                \
    case DT: {                                                  \
        const T *p = (const T *)src + off;                      \
        for (int i = 0; i < n; i++) b->FIELD[i] = EXPR(p[i]);   \
    } break;
#define AS_IS(v) (v)
#define NONZERO(v) ((v) != 0)

/* b <- src[off, off + n) widened exactly. */
static void load_wide(ot_dtype_t dt, const void *src, int64_t off, int n, wide_buf_t *b) {
    switch (dt) {
        LOAD(OT_DTYPE_FLOAT, float, f, AS_IS)
        LOAD(OT_DTYPE_DOUBLE, double, f, AS_IS)
        LOAD(OT_DTYPE_FLOAT16, uint16_t, f, ot_f16_to_float)
        LOAD(OT_DTYPE_BFLOAT16, uint16_t, f, ot_bf16_to_float)
        LOAD(OT_DTYPE_INT8, int8_t, s, AS_IS)
        LOAD(OT_DTYPE_INT16, int16_t, s, AS_IS)
        LOAD(OT_DTYPE_INT32, int32_t, s, AS_IS)
        LOAD(OT_DTYPE_INT64, int64_t, s, AS_IS)
        LOAD(OT_DTYPE_UINT8, uint8_t, u, AS_IS)
        LOAD(OT_DTYPE_UINT16, uint16_t, u, AS_IS)
        LOAD(OT_DTYPE_UINT32, uint32_t, u, AS_IS)
        LOAD(OT_DTYPE_UINT64, uint64_t, u, AS_IS)
        LOAD(OT_DTYPE_BOOL, uint8_t, u, NONZERO)
    default: OT_ASSERT(!"dtype checked in infer");
    }
}

/* Store with one conversion expression per widened kind. */
#define STORE(DT, T, FROM_F, FROM_S, FROM_U)                                      \
    case DT: {                                                                    \
        T *p = (T *)dst + off;                                                    \
        if (k == WIDE_F) for (int i = 0; i < n; i++) p[i] = FROM_F(b->f[i]);      \
        else if (k == WIDE_S) for (int i = 0; i < n; i++) p[i] = FROM_S(b->s[i]); \
        else for (int i = 0; i < n; i++) p[i] = FROM_U(b->u[i]);                  \
    } break;

/* double -> integer: truncate, NaN -> 0, saturate outside [MINV, MAXV]. */
#define SAT(T, MINV, MAXV, d)                                                  \
    (isnan(d) ? (T)0                                                           \
     : (d) >= (double)(MAXV) + 1.0 ? (T)(MAXV)                                 \
     : (d) <= (double)(MINV) - 1.0 ? (T)(MINV) : (T)(d))
#define SAT_I8(d) SAT(int8_t, INT8_MIN, INT8_MAX, d)
#define SAT_I16(d) SAT(int16_t, INT16_MIN, INT16_MAX, d)
#define SAT_I32(d) SAT(int32_t, INT32_MIN, INT32_MAX, d)
#define SAT_I64(d) SAT(int64_t, INT64_MIN, INT64_MAX, d)
#define SAT_U8(d) SAT(uint8_t, 0, UINT8_MAX, d)
#define SAT_U16(d) SAT(uint16_t, 0, UINT16_MAX, d)
#define SAT_U32(d) SAT(uint32_t, 0, UINT32_MAX, d)
#define SAT_U64(d) SAT(uint64_t, 0, UINT64_MAX, d)
#define F16_F(d) ot_float_to_f16(double_to_float_odd(d))
#define F16_S(s) ot_float_to_f16(i64_to_float_odd(s))
#define F16_U(u) ot_float_to_f16(u64_to_float_odd(u))
#define BF16_F(d) ot_float_to_bf16(double_to_float_odd(d))
#define BF16_S(s) ot_float_to_bf16(i64_to_float_odd(s))
#define BF16_U(u) ot_float_to_bf16(u64_to_float_odd(u))

/* dst[off, off + n) <- b narrowed. */
static void store_narrow(ot_dtype_t dt, void *dst, int64_t off, int n, wide_kind_t k, const wide_buf_t *b) {
    switch (dt) {
        STORE(OT_DTYPE_FLOAT, float, (float), (float), (float))
        STORE(OT_DTYPE_DOUBLE, double, AS_IS, (double), (double))
        STORE(OT_DTYPE_FLOAT16, uint16_t, F16_F, F16_S, F16_U)
        STORE(OT_DTYPE_BFLOAT16, uint16_t, BF16_F, BF16_S, BF16_U)
        STORE(OT_DTYPE_INT8, int8_t, SAT_I8, (int8_t), (int8_t))
        STORE(OT_DTYPE_INT16, int16_t, SAT_I16, (int16_t), (int16_t))
        STORE(OT_DTYPE_INT32, int32_t, SAT_I32, (int32_t), (int32_t))
        STORE(OT_DTYPE_INT64, int64_t, SAT_I64, AS_IS, (int64_t))
        STORE(OT_DTYPE_UINT8, uint8_t, SAT_U8, (uint8_t), (uint8_t))
        STORE(OT_DTYPE_UINT16, uint16_t, SAT_U16, (uint16_t), (uint16_t))
        STORE(OT_DTYPE_UINT32, uint32_t, SAT_U32, (uint32_t), (uint32_t))
        STORE(OT_DTYPE_UINT64, uint64_t, SAT_U64, (uint64_t), AS_IS)
        STORE(OT_DTYPE_BOOL, uint8_t, NONZERO, NONZERO, NONZERO)
    default: OT_ASSERT(!"dtype checked in infer");
    }
}

/* Direct loops for the mixed-precision pairs, which are hot in training. */
#define CAST_LOOP(DST_T, SRC_T, CONV)                                                                  \
    do {                                                                                               \
        const SRC_T *s = src;                                                                          \
        DST_T *d = dst;                                                                                \
        if (n > 65536) {                                                                               \
            _Pragma("omp parallel for simd") for (int64_t i = 0; i < n; i++) d[i] = CONV(s[i]);        \
        } else {                                                                                       \
            for (int64_t i = 0; i < n; i++) d[i] = CONV(s[i]);                                         \
        }                                                                                              \
    } while (0)

static bool cast_fast(ot_dtype_t from, ot_dtype_t to, const void *src, void *dst, int64_t n) {
    if (from == OT_DTYPE_FLOAT && to == OT_DTYPE_FLOAT16) CAST_LOOP(uint16_t, float, ot_float_to_f16);
    else if (from == OT_DTYPE_FLOAT16 && to == OT_DTYPE_FLOAT) CAST_LOOP(float, uint16_t, ot_f16_to_float);
    else if (from == OT_DTYPE_FLOAT && to == OT_DTYPE_BFLOAT16) CAST_LOOP(uint16_t, float, ot_float_to_bf16);
    else if (from == OT_DTYPE_BFLOAT16 && to == OT_DTYPE_FLOAT) CAST_LOOP(float, uint16_t, ot_bf16_to_float);
    else return false;
    return true;
}

static ot_status_t *cast_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0];
    ot_tensor_t *y = k->outputs[0];
    int64_t n = ot_shape_numel(&x->shape);
    if (n == 0) return NULL;
    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, (size_t)n * ot_dtype_size(x->dtype));
        return NULL;
    }
    if (cast_fast(x->dtype, y->dtype, x->data, y->data, n)) return NULL;
    wide_kind_t kind = wide_kind(x->dtype);
    int64_t n_chunks = (n + CHUNK - 1) / CHUNK;
    OT_SHAPE_PARALLEL_FOR(n > 65536, c, n_chunks, {
        wide_buf_t b;
        int64_t off = c * CHUNK;
        int len = (int)(n - off < CHUNK ? n - off : CHUNK);
        load_wide(x->dtype, x->data, off, len, &b);
        store_narrow(y->dtype, y->data, off, len, kind, &b);
    });
    return NULL;
}

/* Gradient (elementwise area): between floating types (float, double,
 * float16, bfloat16) dX = Cast(dY, to = X's dtype); from or to any other
 * type the output is piecewise constant in X (or X is not differentiable),
 * so the gradient is zero (left unset). */
static bool cast_is_float(ot_dtype_t dt) {
    return dt == OT_DTYPE_FLOAT || dt == OT_DTYPE_DOUBLE || dt == OT_DTYPE_FLOAT16 || dt == OT_DTYPE_BFLOAT16;
}

static ot_status_t *cast_gradient(ot_grad_ctx_t *ctx) {
    ot_dtype_t xt = ctx->input_types[0]->dtype, yt = ctx->output_types[0]->dtype;
    if (!cast_is_float(xt) || !cast_is_float(yt)) return NULL;
    ot_attr_t to = {0};
    to.name = "to";
    to.type = OT_ATTR_INT;
    to.i = xt;
    return ot_grad_emit(ctx, "", "Cast", 1, &ctx->doutputs[0], 1, &ctx->dinputs[0], 1, &to);
}

#define CAST_RECORD(ver)                                        \
    const ot_op_def_t ot_op_Cast_##ver = {                     \
        .abi_version = OT_PLUGIN_ABI_VERSION,                  \
        .domain = "",                                          \
        .op_type = "Cast",                                     \
        .since_version = ver,                                  \
        .min_inputs = 1, .max_inputs = 1,                      \
        .min_outputs = 1, .max_outputs = 1,                    \
        .attrs = cast_attrs,                                   \
        .infer = cast_infer,                                   \
        .run = cast_run,                                       \
        .gradient = cast_gradient,                             \
        .doc = "output = input converted to dtype `to`",       \
    };

CAST_RECORD(6)
CAST_RECORD(9)
CAST_RECORD(13)
