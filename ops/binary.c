/* ops/binary.c: Add, Sub, Mul, Div (ONNX Add/Sub/Mul/Div-7/13/14) and Pow
 * (ONNX Pow-7/12/13/15), with multidirectional (numpy) broadcasting.
 *
 *   Add: c = a + b    Sub: c = a - b    Mul: c = a * b    Div: c = a / b
 *   Pow: z = x ^ y, z has x's type; y may have another numeric type (Pow-12+)
 *
 * Versions: -7 introduced multidirectional broadcasting (dropping the
 * `broadcast`/`axis` attributes of -6); -13 and -14 only widen the type
 * lists (bfloat16; 8/16-bit ints), and Pow-12/13/15 likewise. One record per
 * op at since 7 therefore serves opsets 7..17; the integer types are
 * accepted at every opset.
 *
 * Integer semantics (as ONNX Runtime and C): Add/Sub/Mul wrap modulo 2^bits;
 * Div truncates toward zero; x / 0 gives 0 (numpy's answer) instead of a
 * trap, and INT_MIN / -1 wraps to INT_MIN. Integer Pow with a negative
 * integer exponent truncates 1 / x^|y| (0 unless x is 1 or -1); an integer
 * base with a float exponent computes in double and converts with
 * saturation (NaN -> 0).
 *
 * Kernels are plain loops over ops/broadcast.h row runs (bandwidth-bound:
 * same-shape, scalar, bias-row and NCHW-bias float Add all measured at the
 * speed of a flat `omp parallel for` add). Pow with a scalar float exponent
 * of 2 or 1 skips powf.
 *
 * Not here: float16/bfloat16 (unsupported by the runtime), Mod, and the
 * comparison/logical ops (which can reuse ops/broadcast.h).
 */
#include "ops/broadcast.h"
#include "ops/grad_util.h"

#include <math.h>

/* ---- row kernels ---------------------------------------------------------
 * One row function per (op, dtype): n output elements, each input stepping
 * 0 or 1 elements (see ops/broadcast.h). The three step cases get separate
 * loops so the compiler vectorizes each with unit or broadcast loads. */

#define OT_ROW_FN(name, TD, TA, TB, EXPR)                                                     \
    static void name(const void *ctx, int64_t n, void *dst_, const void *const *src,          \
                     const int64_t *step) {                                                   \
        (void)ctx;                                                                            \
        TD *restrict d = dst_;                                                                \
        const TA *restrict pa = src[0];                                                       \
        const TB *restrict pb = src[1];                                                       \
        if (step[0] && step[1]) {                                                             \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                TA x = pa[i];                                                                 \
                TB y = pb[i];                                                                 \
                d[i] = (EXPR);                                                                \
            }                                                                                 \
        } else if (step[0]) {                                                                 \
            const TB y = pb[0];                                                               \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                TA x = pa[i];                                                                 \
                d[i] = (EXPR);                                                                \
            }                                                                                 \
        } else if (step[1]) {                                                                 \
            const TA x = pa[0];                                                               \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
                TB y = pb[i];                                                                 \
                d[i] = (EXPR);                                                                \
            }                                                                                 \
        } else {                                                                              \
            const TA x = pa[0];                                                               \
            const TB y = pb[0];                                                               \
            const TD v = (EXPR);                                                              \
            for (int64_t i = 0; i < n; i++) d[i] = v;                                         \
        }                                                                                     \
    }

/* Arithmetic for one type T. Integer ops go through the unsigned type U
 * (at least unsigned int, so narrow types do not promote to signed int)
 * to wrap without undefined behaviour. */
#define OT_ARITH_FLOAT(sfx, T)                                                                \
    OT_ROW_FN(add_##sfx, T, T, T, x + y)                                                      \
    OT_ROW_FN(sub_##sfx, T, T, T, x - y)                                                      \
    OT_ROW_FN(mul_##sfx, T, T, T, x * y)                                                      \
    OT_ROW_FN(div_##sfx, T, T, T, x / y)
#define OT_ARITH_INT(sfx, T, U, DIV)                                                          \
    OT_ROW_FN(add_##sfx, T, T, T, (T)((U)x + (U)y))                                           \
    OT_ROW_FN(sub_##sfx, T, T, T, (T)((U)x - (U)y))                                           \
    OT_ROW_FN(mul_##sfx, T, T, T, (T)((U)x * (U)y))                                           \
    OT_ROW_FN(div_##sfx, T, T, T, DIV)
#define OT_DIV_SIGNED(T, U) (T)(y == 0 ? 0 : y == -1 ? (T)(0u - (U)x) : x / y)
#define OT_DIV_UNSIGNED(T) (T)(y == 0 ? 0 : x / y)

OT_ARITH_FLOAT(f32, float)
OT_ARITH_FLOAT(f64, double)
OT_ARITH_INT(i8, int8_t, unsigned, OT_DIV_SIGNED(int8_t, unsigned))
OT_ARITH_INT(i16, int16_t, unsigned, OT_DIV_SIGNED(int16_t, unsigned))
OT_ARITH_INT(i32, int32_t, uint32_t, OT_DIV_SIGNED(int32_t, uint32_t))
OT_ARITH_INT(i64, int64_t, uint64_t, OT_DIV_SIGNED(int64_t, uint64_t))
OT_ARITH_INT(u8, uint8_t, unsigned, OT_DIV_UNSIGNED(uint8_t))
OT_ARITH_INT(u16, uint16_t, unsigned, OT_DIV_UNSIGNED(uint16_t))
OT_ARITH_INT(u32, uint32_t, uint32_t, OT_DIV_UNSIGNED(uint32_t))
OT_ARITH_INT(u64, uint64_t, uint64_t, OT_DIV_UNSIGNED(uint64_t))

typedef enum binop { BINOP_ADD, BINOP_SUB, BINOP_MUL, BINOP_DIV, BINOP_COUNT } binop_t;

#define OT_ARITH_ENTRY(dt, sfx) [dt] = {add_##sfx, sub_##sfx, mul_##sfx, div_##sfx}
static const ot_bcast_row_fn arith_rows[OT_DTYPE_COUNT][BINOP_COUNT] = {
    OT_ARITH_ENTRY(OT_DTYPE_FLOAT, f32),  OT_ARITH_ENTRY(OT_DTYPE_DOUBLE, f64),
    OT_ARITH_ENTRY(OT_DTYPE_INT8, i8),    OT_ARITH_ENTRY(OT_DTYPE_INT16, i16),
    OT_ARITH_ENTRY(OT_DTYPE_INT32, i32),  OT_ARITH_ENTRY(OT_DTYPE_INT64, i64),
    OT_ARITH_ENTRY(OT_DTYPE_UINT8, u8),   OT_ARITH_ENTRY(OT_DTYPE_UINT16, u16),
    OT_ARITH_ENTRY(OT_DTYPE_UINT32, u32), OT_ARITH_ENTRY(OT_DTYPE_UINT64, u64),
};

/* ---- Pow ---------------------------------------------------------------- */

/* x^e for integers, modulo 2^64 (the caller truncates to its width, which
 * is the same as computing modulo 2^width). */
static inline int64_t ipow_u(int64_t x, uint64_t e) {
    uint64_t r = 1, b = (uint64_t)x;
    while (e) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}
static inline int64_t ipow_s(int64_t x, int64_t e) {
    if (e >= 0) return ipow_u(x, (uint64_t)e);
    /* 1 / x^|e| truncated toward zero. */
    if (x == 1) return 1;
    if (x == -1) return (e & 1) ? -1 : 1;
    return 0;
}
/* double -> integer without undefined behaviour: NaN 0, saturating. */
static inline int32_t sat_i32(double v) {
    if (v != v) return 0;
    if (v >= 2147483647.0) return INT32_MAX;
    if (v <= -2147483648.0) return INT32_MIN;
    return (int32_t)v;
}
static inline int64_t sat_i64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

/* Float base: float^float in float (as numpy does); with any other exponent
 * type numpy promotes to double, and so do we. */
OT_ROW_FN(pow_f32_f32, float, float, float, powf(x, y))
OT_ROW_FN(pow_f64_f64, double, double, double, pow(x, y))
#define OT_POW_FLOATBASE(esfx, E)                                                             \
    OT_ROW_FN(pow_f32_##esfx, float, float, E, (float)pow((double)x, (double)y))               \
    OT_ROW_FN(pow_f64_##esfx, double, double, E, pow(x, (double)y))
#define OT_POW_INTBASE_FLOATEXP(esfx, E)                                                      \
    OT_ROW_FN(pow_i32_##esfx, int32_t, int32_t, E, sat_i32(pow((double)x, (double)y)))         \
    OT_ROW_FN(pow_i64_##esfx, int64_t, int64_t, E, sat_i64(pow((double)x, (double)y)))
#define OT_POW_INTBASE_SINTEXP(esfx, E)                                                       \
    OT_ROW_FN(pow_i32_##esfx, int32_t, int32_t, E, (int32_t)ipow_s(x, (int64_t)y))             \
    OT_ROW_FN(pow_i64_##esfx, int64_t, int64_t, E, ipow_s(x, (int64_t)y))
#define OT_POW_INTBASE_UINTEXP(esfx, E)                                                       \
    OT_ROW_FN(pow_i32_##esfx, int32_t, int32_t, E, (int32_t)ipow_u(x, (uint64_t)y))            \
    OT_ROW_FN(pow_i64_##esfx, int64_t, int64_t, E, ipow_u(x, (uint64_t)y))

OT_ROW_FN(pow_f32_f64, float, float, double, (float)pow((double)x, y))
OT_ROW_FN(pow_f64_f32, double, double, float, pow(x, (double)y))
OT_POW_FLOATBASE(i8, int8_t)
OT_POW_FLOATBASE(i16, int16_t)
OT_POW_FLOATBASE(i32, int32_t)
OT_POW_FLOATBASE(i64, int64_t)
OT_POW_FLOATBASE(u8, uint8_t)
OT_POW_FLOATBASE(u16, uint16_t)
OT_POW_FLOATBASE(u32, uint32_t)
OT_POW_FLOATBASE(u64, uint64_t)
OT_POW_INTBASE_FLOATEXP(f32, float)
OT_POW_INTBASE_FLOATEXP(f64, double)
OT_POW_INTBASE_SINTEXP(i8, int8_t)
OT_POW_INTBASE_SINTEXP(i16, int16_t)
OT_POW_INTBASE_SINTEXP(i32, int32_t)
OT_POW_INTBASE_SINTEXP(i64, int64_t)
OT_POW_INTBASE_UINTEXP(u8, uint8_t)
OT_POW_INTBASE_UINTEXP(u16, uint16_t)
OT_POW_INTBASE_UINTEXP(u32, uint32_t)
OT_POW_INTBASE_UINTEXP(u64, uint64_t)

/* Base types: the Pow-12+ `T` list we support (float16/bfloat16 aside). */
enum { POW_F32, POW_F64, POW_I32, POW_I64, POW_BASE_COUNT };
#define OT_POW_ENTRY(dt, esfx) [dt] = {pow_f32_##esfx, pow_f64_##esfx, pow_i32_##esfx, pow_i64_##esfx}
static const ot_bcast_row_fn pow_rows[OT_DTYPE_COUNT][POW_BASE_COUNT] = {
    OT_POW_ENTRY(OT_DTYPE_FLOAT, f32),  OT_POW_ENTRY(OT_DTYPE_DOUBLE, f64),
    OT_POW_ENTRY(OT_DTYPE_INT8, i8),    OT_POW_ENTRY(OT_DTYPE_INT16, i16),
    OT_POW_ENTRY(OT_DTYPE_INT32, i32),  OT_POW_ENTRY(OT_DTYPE_INT64, i64),
    OT_POW_ENTRY(OT_DTYPE_UINT8, u8),   OT_POW_ENTRY(OT_DTYPE_UINT16, u16),
    OT_POW_ENTRY(OT_DTYPE_UINT32, u32), OT_POW_ENTRY(OT_DTYPE_UINT64, u64),
};

static int pow_base_index(ot_dtype_t dt) {
    switch (dt) {
    case OT_DTYPE_FLOAT: return POW_F32;
    case OT_DTYPE_DOUBLE: return POW_F64;
    case OT_DTYPE_INT32: return POW_I32;
    case OT_DTYPE_INT64: return POW_I64;
    default: return -1;
    }
}

/* Exponent 2 and 1 are common (x^2 in decomposed norms) and exact as a
 * product / copy, so they skip the libm call. Same-type float only. */
static void pow_f32_scalar_small(const void *ctx, int64_t n, void *dst_, const void *const *src,
                                 const int64_t *step) {
    (void)step; /* base steps 1, exponent 0 by construction */
    float *restrict d = dst_;
    const float *restrict x = src[0];
    if (*(const float *)ctx == 2.f) {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) d[i] = x[i] * x[i];
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++) d[i] = x[i];
    }
}

/* ---- inference and kernels ---------------------------------------------- */

static bool valid_dtype(ot_dtype_t dt) { return dt > 0 && dt < OT_DTYPE_COUNT; }

/* Output shape of two broadcast inputs, or an error naming both shapes. */
static ot_status_t *infer_broadcast(ot_infer_ctx_t *ctx, ot_dtype_t out_dtype) {
    const ot_tensor_t *a = ctx->inputs[0], *b = ctx->inputs[1];
    ot_shape_t out;
    if (!ot_broadcast_shape(&a->shape, &b->shape, &out)) {
        char sa[128], sb[128];
        return OT_INFER_ERROR(ctx, "cannot broadcast input shapes %s and %s",
                              ot_shape_str(&a->shape, sa, sizeof sa), ot_shape_str(&b->shape, sb, sizeof sb));
    }
    if (!ctx->outputs[0]) return NULL; /* output not requested */
    ctx->outputs[0]->dtype = out_dtype;
    ctx->outputs[0]->shape = out;
    return NULL;
}

static ot_status_t *arith_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *a = ctx->inputs[0], *b = ctx->inputs[1];
    if (a->dtype != b->dtype)
        return OT_INFER_ERROR(ctx, "input dtypes differ: %s and %s", ot_dtype_name(a->dtype),
                              ot_dtype_name(b->dtype));
    if (!valid_dtype(a->dtype) || !arith_rows[a->dtype][0])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "input dtype %s not supported",
                             ot_dtype_name(a->dtype));
    return infer_broadcast(ctx, a->dtype);
}

static ot_status_t *pow_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *y = ctx->inputs[1];
    if (pow_base_index(x->dtype) < 0)
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "base (X) dtype %s not supported",
                             ot_dtype_name(x->dtype));
    if (!valid_dtype(y->dtype) || !pow_rows[y->dtype][0])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "exponent (Y) dtype %s not supported",
                             ot_dtype_name(y->dtype));
    return infer_broadcast(ctx, x->dtype);
}

/* The plan is rebuilt every run (a few dozen integer ops, no allocation)
 * rather than cached in setup, so the kernel has no state to keep in sync. */
static void run_broadcast(ot_kernel_t *k, ot_bcast_row_fn fn, const void *fn_ctx) {
    const ot_tensor_t *a = k->inputs[0], *b = k->inputs[1];
    ot_tensor_t *c = k->outputs[0];
    if (!c) return; /* output not requested */
    const ot_shape_t *shapes[2] = {&a->shape, &b->shape};
    ot_bcast_t plan;
    ot_bcast_init(&plan, &c->shape, 2, shapes);
    const void *src[2] = {a->data, b->data};
    size_t esize[2] = {ot_dtype_size(a->dtype), ot_dtype_size(b->dtype)};
    ot_bcast_run(&plan, c->data, ot_dtype_size(c->dtype), src, esize, fn, fn_ctx);
}

static ot_status_t *arith_run(ot_kernel_t *k, binop_t op) {
    ot_dtype_t dt = k->inputs[0]->dtype;
    OT_ASSERT(valid_dtype(dt) && arith_rows[dt][op] && "dtype checked in infer");
    run_broadcast(k, arith_rows[dt][op], NULL);
    return NULL;
}

static ot_status_t *pow_run(ot_kernel_t *k) {
    const ot_tensor_t *x = k->inputs[0], *y = k->inputs[1];
    int bi = pow_base_index(x->dtype);
    OT_ASSERT(bi >= 0 && valid_dtype(y->dtype) && pow_rows[y->dtype][bi] && "dtypes checked in infer");
    if (k->outputs[0] && x->dtype == OT_DTYPE_FLOAT && y->dtype == OT_DTYPE_FLOAT &&
        ot_shape_numel(&y->shape) == 1 && ot_shape_numel(&x->shape) == ot_shape_numel(&k->outputs[0]->shape)) {
        const float *e = y->data;
        if (*e == 2.f || *e == 1.f) {
            run_broadcast(k, pow_f32_scalar_small, e);
            return NULL;
        }
    }
    run_broadcast(k, pow_rows[y->dtype][bi], NULL);
    return NULL;
}

static ot_status_t *add_run(ot_kernel_t *k) { return arith_run(k, BINOP_ADD); }
static ot_status_t *sub_run(ot_kernel_t *k) { return arith_run(k, BINOP_SUB); }
static ot_status_t *mul_run(ot_kernel_t *k) { return arith_run(k, BINOP_MUL); }
static ot_status_t *div_run(ot_kernel_t *k) { return arith_run(k, BINOP_DIV); }

/* ---- gradient rules --------------------------------------------------------
 * Each input's gradient is formed at the broadcast (output) shape and then
 * summed down to the input's shape (ot_grad_unbroadcast). */

/* *out = g summed down to input i, or nothing if input i is not needed. */
static ot_status_t *to_input(ot_grad_ctx_t *ctx, int i, int g) {
    if (!ctx->needs[i]) return NULL;
    return ot_grad_unbroadcast(ctx, g, ctx->output_types[0], i, &ctx->dinputs[i]);
}

static ot_status_t *add_gradient(ot_grad_ctx_t *ctx) {
    int dc = ctx->doutputs[0];
    ot_status_t *st = to_input(ctx, 0, dc);
    return st ? st : to_input(ctx, 1, dc);
}

static ot_status_t *sub_gradient(ot_grad_ctx_t *ctx) {
    int dc = ctx->doutputs[0], neg;
    ot_status_t *st = to_input(ctx, 0, dc);
    if (!st && ctx->needs[1]) st = ot_grad_op1(ctx, "", "Neg", dc, &neg);
    return st ? st : to_input(ctx, 1, neg);
}

/* dA = dC * B, dB = dC * A */
static ot_status_t *mul_gradient(ot_grad_ctx_t *ctx) {
    int dc = ctx->doutputs[0], a = ctx->inputs[0], b = ctx->inputs[1], g;
    ot_status_t *st = NULL;
    if (ctx->needs[0] && !(st = ot_grad_op2(ctx, "", "Mul", dc, b, &g))) st = to_input(ctx, 0, g);
    if (!st && ctx->needs[1] && !(st = ot_grad_op2(ctx, "", "Mul", dc, a, &g))) st = to_input(ctx, 1, g);
    return st;
}

/* dA = dC / B, dB = -(dC / B) * C (C = A / B: reads the output, not A) */
static ot_status_t *div_gradient(ot_grad_ctx_t *ctx) {
    int dc = ctx->doutputs[0], b = ctx->inputs[1], c = ctx->outputs[0], da, t, db;
    ot_status_t *st = ot_grad_op2(ctx, "", "Div", dc, b, &da);
    if (!st) st = to_input(ctx, 0, da);
    if (!st && ctx->needs[1] && !(st = ot_grad_op2(ctx, "", "Mul", da, c, &t)) &&
        !(st = ot_grad_op1(ctx, "", "Neg", t, &db)))
        st = to_input(ctx, 1, db);
    return st;
}

/* Z = X^Y: dX = dZ * Y * X^(Y-1), dY = dZ * Z * ln(X) */
static ot_status_t *pow_gradient(ot_grad_ctx_t *ctx) {
    int dz = ctx->doutputs[0], x = ctx->inputs[0], y = ctx->inputs[1], z = ctx->outputs[0];
    ot_status_t *st = NULL;
    int one, ym1, p, t, g;
    if (ctx->needs[0]) {
        ot_dtype_t ydt = ctx->input_types[1]->dtype;
        if (ydt != OT_DTYPE_FLOAT && ydt != OT_DTYPE_DOUBLE)
            return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "gradient needs a float exponent, got %s",
                                 ot_dtype_name(ydt));
        if (!(st = ot_grad_scalar(ctx, ydt, 1.0, &one)) && !(st = ot_grad_op2(ctx, "", "Sub", y, one, &ym1)) &&
            !(st = ot_grad_op2(ctx, "", "Pow", x, ym1, &p)) && !(st = ot_grad_op2(ctx, "", "Mul", p, y, &t)) &&
            !(st = ot_grad_op2(ctx, "", "Mul", dz, t, &g)))
            st = to_input(ctx, 0, g);
    }
    if (!st && ctx->needs[1] && !(st = ot_grad_op1(ctx, "", "Log", x, &t)) &&
        !(st = ot_grad_op2(ctx, "", "Mul", z, t, &p)) && !(st = ot_grad_op2(ctx, "", "Mul", dz, p, &g)))
        st = to_input(ctx, 1, g);
    return st;
}

#define OT_BINARY_RECORD(Op, since, infer_fn, run_fn, grad_fn, doc_)                          \
    const ot_op_def_t ot_op_##Op##_##since = {                                                \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                 \
        .domain = "",                                                                         \
        .op_type = #Op,                                                                       \
        .since_version = since,                                                               \
        .min_inputs = 2, .max_inputs = 2,                                                     \
        .min_outputs = 1, .max_outputs = 1,                                                   \
        .infer = infer_fn,                                                                    \
        .run = run_fn,                                                                        \
        .gradient = grad_fn,                                                                  \
        .doc = doc_,                                                                          \
    };

OT_BINARY_RECORD(Add, 7, arith_infer, add_run, add_gradient, "C = A + B, numpy broadcasting")
OT_BINARY_RECORD(Sub, 7, arith_infer, sub_run, sub_gradient, "C = A - B, numpy broadcasting")
OT_BINARY_RECORD(Mul, 7, arith_infer, mul_run, mul_gradient, "C = A * B, numpy broadcasting")
OT_BINARY_RECORD(Div, 7, arith_infer, div_run, div_gradient, "C = A / B (integers truncate), numpy broadcasting")
OT_BINARY_RECORD(Pow, 7, pow_infer, pow_run, pow_gradient, "Z = X ^ Y, Z has X's type, numpy broadcasting")
