/* runtime/torch_rng.h: PyTorch's CPU generator and the float transforms of
 * its in-place samplers, so that an initializer op seeded with s reproduces
 * `torch.manual_seed(s); torch.nn.init.<name>_(t)` bit for bit.
 *
 * Reproduced: torch 1.13 as Debian ships it (python3-torch, CPU capability
 * AVX2, glibc libm), checked against committed fixtures
 * (tests/fixtures/init, tools/fixtures/gen_init_fixtures.py):
 *   - the generator: MT19937 seeded with the seed's low 32 bits
 *     (runtime/mt19937.h), no cached normal sample after seeding;
 *   - uniform_(from, to): float from 24 bits of one 32-bit output, double
 *     from 53 bits of two;
 *   - normal_: for contiguous tensors of >= 16 elements, all uniforms first,
 *     then Box-Muller over blocks of 16 (element j with j + 8); float32 uses
 *     torch's AVX2 kernel (Cephes log/sincos polynomials with the
 *     multiply-adds GCC fused in it), a tail that is not a multiple of 16
 *     redraws the last 16 elements; below 16 elements, the scalar double
 *     Box-Muller whose second value is cached for the next element;
 *   - trunc_normal_ (torch.nn.init, 1.13): uniform_(2l-1, 2u-1), erfinv,
 *     * std*sqrt(2) + mean, clamp.
 * Not reproduced: torch built for other CPU capabilities (ATEN_CPU_CAPABILITY
 * default or avx512 use glibc's logf/cosf/sinf for the >= 16 normal path),
 * other torch versions, half types. Both sides call glibc's libm (erff,
 * expf, logf for trunc_normal; log, sin, cos for normal below 16 elements
 * and in float64): checked with glibc 2.36 on an AVX2+FMA machine, where
 * glibc picks its FMA variants; a libm that rounds differently could differ
 * in the last bit. Orthogonal (ops/init_orthogonal.c) also matched torch
 * bit for bit here (both use OpenBLAS's LAPACK); its test keeps a tolerance.
 *
 * A generator is plain state, not thread-safe: each user owns one. */
#ifndef ONNXTRAIN_TORCH_RNG_H
#define ONNXTRAIN_TORCH_RNG_H

#include "runtime/mt19937.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_torch_rng {
    ot_mt19937_t mt;
    bool has_normal;    /* torch's next_double_normal_sample */
    double next_normal; /* unscaled N(0,1) value cached by the scalar path */
} ot_torch_rng_t;

/* torch.manual_seed(seed) (any int64: its low 32 bits seed MT19937). */
void ot_torch_rng_seed(ot_torch_rng_t *g, int64_t seed);

/* tensor.uniform_(from, to) over n contiguous elements. */
void ot_torch_uniform_f32(ot_torch_rng_t *g, float *out, int64_t n, double from, double to);
void ot_torch_uniform_f64(ot_torch_rng_t *g, double *out, int64_t n, double from, double to);
/* tensor.normal_(mean, std) over n contiguous elements. */
void ot_torch_normal_f32(ot_torch_rng_t *g, float *out, int64_t n, double mean, double std);
void ot_torch_normal_f64(ot_torch_rng_t *g, double *out, int64_t n, double mean, double std);
/* torch.nn.init.trunc_normal_(tensor, mean, std, a, b) (1.13's algorithm). */
void ot_torch_trunc_normal_f32(ot_torch_rng_t *g, float *out, int64_t n, double mean, double std, double a,
                               double b);
void ot_torch_trunc_normal_f64(ot_torch_rng_t *g, double *out, int64_t n, double mean, double std, double a,
                               double b);

/* torch.erfinv for float32 and float64 (rational start + two Newton steps). */
float ot_torch_erfinvf(float y);
double ot_torch_erfinv(double y);

#ifdef __cplusplus
}
#endif
#endif
