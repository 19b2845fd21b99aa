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

/* IEEE binary16 -> float (exact). */
static inline float ot_f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0x1f) {
        x = sign | 0x7f800000u | (m << 13); /* inf / NaN (payload kept) */
    } else if (e) {
        x = sign | ((e + 112u) << 23) | (m << 13);
    } else if (!m) {
        x = sign;
    } else { /* subnormal m * 2^-24: normalize into a float normal */
        uint32_t sh = 0;
        while (!(m & 0x400u)) {
            m <<= 1;
            sh++;
        }
        x = sign | ((113u - sh) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* float -> IEEE binary16, round to nearest even; overflow gives inf, NaN
 * stays NaN (quiet). */
static inline uint16_t ot_float_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (ax >= 0x38800000u) {                                   /* normal binary16 */
        uint32_t r = ax - 0x38000000u;                         /* exponent bias 127 -> 15 */
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    if (ax < 0x33000000u) return sign; /* <= 2^-25: rounds to zero */
    /* subnormal: value in units of 2^-24 is m >> (126 - e), rounded */
    uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, shift = 126u - e;
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
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

#endif
