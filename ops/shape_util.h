/* ops/shape_util.h: small helpers shared by the shape and data-movement ops
 * (ops/reshape.c, transpose.c, cast.c, ...): float16/bfloat16 bit
 * conversions, the copy that view ops do when the executor did not alias
 * their output, and dtype checks. Not part of the plugin ABI. */
#ifndef ONNXTRAIN_SHAPE_UTIL_H
#define ONNXTRAIN_SHAPE_UTIL_H

#include "onnxtrain/onnxtrain.h" /* ot_tensor_nbytes */
#include "ops/op_util.h"

#include <stdint.h>
#include <string.h>

static inline float ot_bits_f32(uint32_t x) {
    float f;
    memcpy(&f, &x, 4);
    return f;
}
static inline uint32_t ot_f32_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

/* IEEE binary16 -> float (exact). Branch-free (selects) so that loops over
 * it vectorize. */
static inline float ot_f16_to_float(uint16_t h) {
    uint32_t em = (uint32_t)(h & 0x7fffu) << 13, e = em & 0x0f800000u;
    uint32_t normal = em + 0x38000000u;                 /* exponent bias 15 -> 127 */
    uint32_t special = em | 0x7f800000u;                /* inf / NaN, payload kept */
    /* subnormal m * 2^-24: (2^-14 + m * 2^-24) - 2^-14, exact in float */
    uint32_t sub = ot_f32_bits(ot_bits_f32(em + 0x38800000u) - ot_bits_f32(0x38800000u));
    uint32_t is_special = 0u - (uint32_t)(e == 0x0f800000u), is_sub = 0u - (uint32_t)(e == 0);
    uint32_t x = (special & is_special) | (sub & is_sub) | (normal & ~is_sub & ~is_special);
    return ot_bits_f32(x | (uint32_t)(h & 0x8000u) << 16);
}

/* float -> IEEE binary16, round to nearest even; overflow gives inf, NaN
 * stays NaN (quiet). Branch-free like the above. */
static inline uint16_t ot_float_to_f16(float f) {
    uint32_t x = ot_f32_bits(f), ax = x & 0x7fffffffu;
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t big = ax > 0x7f800000u ? 0x7e00u | ((ax >> 13) & 0x3ffu) : 0x7c00u; /* >= 65520: inf */
    /* below 2^-14: adding 0.5 (ulp 2^-24) rounds to a multiple of 2^-24 in
     * the FPU's round-to-nearest-even; the low bits are then the count of
     * 2^-24 units, i.e. the subnormal encoding (0x400 if it rounds up to
     * the smallest normal) */
    uint32_t sub = ot_f32_bits(ot_bits_f32(ax) + 0.5f) - 0x3f000000u;
    /* normal: rebias 127 -> 15 and round the 13 dropped bits to even */
    uint32_t normal = (ax - 0x38000000u + 0xfffu + ((ax >> 13) & 1u)) >> 13;
    /* mask selects rather than ?: keep the float add unconditional, so
     * the compiler needs no branch (it may not speculate a float op) */
    uint32_t is_big = 0u - (uint32_t)(ax >= 0x477ff000u), is_sub = 0u - (uint32_t)(ax < 0x38800000u);
    uint32_t h = (big & is_big) | (sub & is_sub & ~is_big) | (normal & ~is_sub & ~is_big);
    return (uint16_t)(sign | h);
}

/* bfloat16 -> float (exact). */
static inline float ot_bf16_to_float(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* float -> bfloat16, round to nearest even; NaN stays NaN (quiet). */
static inline uint16_t ot_float_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* for (int64_t VAR = 0; VAR < N; VAR++) { body }, threaded only when BIG:
 * libgomp charges ~1 us for a parallel region even when its if() clause is
 * false, and most tensors in shape arithmetic are tiny. */
#define OT_SHAPE_PARALLEL_FOR(BIG, VAR, N, ...)                                 \
    do {                                                                        \
        if (BIG) {                                                              \
            _Pragma("omp parallel for") for (int64_t VAR = 0; VAR < (N); VAR++) \
                __VA_ARGS__                                                     \
        } else {                                                                \
            for (int64_t VAR = 0; VAR < (N); VAR++) __VA_ARGS__                 \
        }                                                                       \
    } while (0)

/* Bytes moved above which a copy loop is worth threads. */
#define OT_SHAPE_PAR_BYTES ((size_t)1 << 18)

/* View ops (Reshape, Identity, ...) are flagged OT_OP_ALIAS_INPUT0, so the
 * executor normally hands them one buffer; when it does not, they copy. */
static inline void ot_copy_unless_aliased(void *dst, const void *src, size_t nbytes) {
    if (dst != src && nbytes) memmove(dst, src, nbytes);
}

/* Data movement ops copy elements by byte width; dtypes without a width
 * (string, undefined) are refused. */
static inline ot_status_t *ot_check_movable_dtype(const ot_node_info_t *node, ot_dtype_t dtype, const char *what) {
    if (ot_dtype_size(dtype) == 0)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%s dtype %s is not supported", what, ot_dtype_name(dtype));
    return NULL;
}

/* Gradient of the view ops (Reshape, Flatten, Squeeze, Unsqueeze): the
 * same bytes viewed back, dX = Reshape(dY, Shape(X)). From opset 14 on,
 * allowzero = 1 keeps zero-size dims literal; before, Reshape-5 copies a
 * 0 from dY's dim, which matters only for empty tensors. Shape(X) folds to
 * a constant at plan time, so X itself is not kept alive. */
static inline ot_status_t *ot_grad_view_back(ot_grad_ctx_t *ctx) {
    if (!ctx->needs[0] || ctx->doutputs[0] < 0) return NULL;
    int shape;
    ot_status_t *st = ot_grad_emit(ctx, "", "Shape", 1, &ctx->inputs[0], 1, &shape, 0, NULL);
    if (st) return st;
    int in[2] = {ctx->doutputs[0], shape};
    ot_attr_t allowzero = {.name = "allowzero", .type = OT_ATTR_INT, .i = 1};
    return ot_grad_emit(ctx, "", "Reshape", 2, in, 1, &ctx->dinputs[0], ctx->node->opset >= 14 ? 1 : 0, &allowzero);
}

#endif
