/* runtime/torch_rng.c: torch's CPU sampling, bit for bit (see torch_rng.h).
 *
 * Built with -ffp-contract=off: torch's AVX2 kernels were compiled by GCC
 * with -mfma, which fused some of their multiply-adds and not others; each
 * fused one is written here as an explicit fma() and every other operation
 * rounds on its own. Which ones were fused was found by experiment against
 * python3-torch over 2^20 samples each (0 mismatches); changing any of them
 * breaks bit-exactness. */
#include "runtime/torch_rng.h"

#include <math.h>
#include <string.h>

void ot_torch_rng_seed(ot_torch_rng_t *g, int64_t seed) {
    ot_mt19937_seed(&g->mt, (uint32_t)(uint64_t)seed);
    g->has_normal = false;
    g->next_normal = 0;
}

/* torch's random64(): two outputs, the first one high. */
static uint64_t random64(ot_torch_rng_t *g) {
    uint64_t hi = ot_mt19937_next_u32(&g->mt);
    return hi << 32 | ot_mt19937_next_u32(&g->mt);
}

/* at::uniform_real_distribution: the low `digits` bits of the draw scaled
 * to [0, 1), then x * (to - from) + from, fused. */
static float uniform_f32(ot_torch_rng_t *g, float from, float to) {
    float x = (float)(ot_mt19937_next_u32(&g->mt) & 0xffffffu) * (1.0f / 16777216.0f);
    return fmaf(x, to - from, from);
}

static double uniform_f64(ot_torch_rng_t *g, double from, double to) {
    double x = (double)(random64(g) & ((UINT64_C(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
    return fma(x, to - from, from);
}

void ot_torch_uniform_f32(ot_torch_rng_t *g, float *out, int64_t n, double from, double to) {
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f32(g, (float)from, (float)to);
}

void ot_torch_uniform_f64(ot_torch_rng_t *g, double *out, int64_t n, double from, double to) {
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f64(g, from, to);
}

/* ---- normal, >= 16 elements: Box-Muller over blocks of 16 ---------------- */

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* log256_ps of torch's avx_mathfun.h (Cephes logf) for one lane, x > 0. */
static float cephes_logf(float x) {
    x = fmaxf(x, 1.17549435e-38f); /* smallest normal: no denormals */
    int32_t e0 = (int32_t)(f32_bits(x) >> 23) - 0x7f;
    x = f32_from_bits((f32_bits(x) & ~0x7f800000u) | f32_bits(0.5f)); /* mantissa in [0.5, 1) */
    float e = (float)e0 + 1.0f;
    bool small = x < 0.707106781186547524f; /* then e -= 1, x = 2x - 1; else x = x - 1 */
    float add = small ? x : 0.0f;
    x = x - 1.0f;
    e = e - (small ? 1.0f : 0.0f);
    x = x + add;
    float z = x * x;
    float y = 7.0376836292e-2f;
    y = fmaf(y, x, -1.1514610310e-1f);
    y = fmaf(y, x, 1.1676998740e-1f);
    y = fmaf(y, x, -1.2420140846e-1f);
    y = fmaf(y, x, 1.4249322787e-1f);
    y = fmaf(y, x, -1.6668057665e-1f);
    y = fmaf(y, x, 2.0000714765e-1f);
    y = fmaf(y, x, -2.4999993993e-1f);
    y = fmaf(y, x, 3.3333331174e-1f);
    y = y * x;
    y = fmaf(y, z, e * -2.12194440e-4f);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    return fmaf(e, 0.693359375f, x);
}

/* sincos256_ps of torch's avx_mathfun.h (Cephes sinf/cosf) for one lane. */
static void cephes_sincosf(float x, float *s, float *c) {
    uint32_t sign_sin = f32_bits(x) & 0x80000000u;
    x = fabsf(x);
    int32_t j = (int32_t)(x * 1.27323954473516f); /* x * 4/pi, truncated */
    j = (j + 1) & ~1;
    float y = (float)j;
    uint32_t swap_sin = (uint32_t)(j & 4) << 29;
    bool first_poly_is_cos = (j & 2) == 0;
    /* x - y * pi/4 in three parts (Cephes' extended-precision reduction) */
    x = fmaf(y, -0.78515625f, x);
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    uint32_t sign_cos = (uint32_t)(~(j - 2) & 4) << 29;
    sign_sin ^= swap_sin;
    float z = x * x;
    float yc = 2.443315711809948e-5f;
    yc = fmaf(yc, z, -1.388731625493765e-3f);
    yc = fmaf(yc, z, 4.166664568298827e-2f);
    yc = yc * z;
    yc = fmaf(yc, z, -(z * 0.5f));
    yc = yc + 1.0f;
    float ys = -1.9515295891e-4f;
    ys = fmaf(ys, z, 8.3321608736e-3f);
    ys = fmaf(ys, z, -1.6666654611e-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);
    *s = f32_from_bits(f32_bits(first_poly_is_cos ? ys : yc) ^ sign_sin);
    *c = f32_from_bits(f32_bits(first_poly_is_cos ? yc : ys) ^ sign_cos);
}

/* normal_fill_16_AVX2: d[j], d[j + 8] (uniforms) -> two normals, j < 8. */
static void normal16_f32(float *d, float mean, float std) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j], u2 = d[j + 8];
        float radius = sqrtf(-2.0f * cephes_logf(u1));
        float s, c;
        cephes_sincosf(two_pi * u2, &s, &c);
        d[j] = fmaf(radius * c, std, mean);
        d[j + 8] = fmaf(radius * s, std, mean);
    }
}

/* normal_fill_16<double> (portable C++ in torch, fused by the compiler). */
static void normal16_f64(double *d, double mean, double std) {
    for (int j = 0; j < 8; j++) {
        double u1 = 1.0 - d[j], u2 = d[j + 8];
        double radius = sqrt(-2.0 * log(u1));
        double theta = 2.0f * 3.14159265358979323846 * u2;
        d[j] = fma(radius * cos(theta), std, mean);
        d[j + 8] = fma(radius * sin(theta), std, mean);
    }
}

/* at::normal_distribution<double>: one Box-Muller pair, the second value
 * cached in the generator for the next call. */
static double normal_scalar(ot_torch_rng_t *g, double mean, double std) {
    if (g->has_normal) {
        g->has_normal = false;
        return fma(g->next_normal, std, mean);
    }
    double u1 = uniform_f64(g, 0.0, 1.0), u2 = uniform_f64(g, 0.0, 1.0);
    double r = sqrt(-2.0 * log(1.0 - u2)), theta = 2.0 * 3.14159265358979323846 * u1;
    g->next_normal = r * sin(theta);
    g->has_normal = true;
    return fma(r * cos(theta), std, mean);
}

void ot_torch_normal_f32(ot_torch_rng_t *g, float *out, int64_t n, double mean, double std) {
    if (n < 16) {
        for (int64_t i = 0; i < n; i++) out[i] = (float)normal_scalar(g, mean, std);
        return;
    }
    ot_torch_uniform_f32(g, out, n, 0.0, 1.0);
#pragma omp parallel for if (n >= 65536)
    for (int64_t i = 0; i < n - 15; i += 16) normal16_f32(out + i, (float)mean, (float)std);
    if (n % 16) { /* the tail: the last 16 drawn again */
        ot_torch_uniform_f32(g, out + n - 16, 16, 0.0, 1.0);
        normal16_f32(out + n - 16, (float)mean, (float)std);
    }
}

void ot_torch_normal_f64(ot_torch_rng_t *g, double *out, int64_t n, double mean, double std) {
    if (n < 16) {
        for (int64_t i = 0; i < n; i++) out[i] = normal_scalar(g, mean, std);
        return;
    }
    ot_torch_uniform_f64(g, out, n, 0.0, 1.0);
#pragma omp parallel for if (n >= 65536)
    for (int64_t i = 0; i < n - 15; i += 16) normal16_f64(out + i, mean, std);
    if (n % 16) {
        ot_torch_uniform_f64(g, out + n - 16, 16, 0.0, 1.0);
        normal16_f64(out + n - 16, mean, std);
    }
}

/* ---- erfinv and trunc_normal ----------------------------------------------- */

/* calc_erfinv of torch (after Pavlis' MATLAB erfinv): a rational
 * approximation on |y| <= 0.7 and on the tails, then two Newton steps on
 * erf(x) = y. The polynomials are fused as the compiler fused them. */
#define ERFINV_BODY(T, FMA, SQRT, LOG, ERF, EXP, FABS, COPYSIGN)                                                       \
    static const T a[4] = {0.886226899, -1.645349621, 0.914624893, -0.140543331};                                      \
    static const T b[4] = {-2.118377725, 1.442710462, -0.329097515, 0.012229801};                                      \
    static const T c[4] = {-1.970840454, -1.624906493, 3.429567803, 1.641345311};                                      \
    static const T d[2] = {3.543889200, 1.637067800};                                                                  \
    T ya = FABS(y), x;                                                                                                 \
    if (ya > 1) return (T)NAN;                                                                                         \
    if (ya == 1) return COPYSIGN((T)INFINITY, y);                                                                      \
    if (ya <= (T)0.7) {                                                                                                \
        T z = y * y;                                                                                                   \
        T num = FMA(FMA(FMA(a[3], z, a[2]), z, a[1]), z, a[0]);                                                        \
        T dem = FMA(FMA(FMA(FMA(b[3], z, b[2]), z, b[1]), z, b[0]), z, (T)1);                                          \
        x = y * num / dem;                                                                                             \
    } else {                                                                                                           \
        T z = SQRT(-LOG((1 - ya) / 2));                                                                                \
        T num = FMA(FMA(FMA(c[3], z, c[2]), z, c[1]), z, c[0]);                                                        \
        T dem = FMA(FMA(d[1], z, d[0]), z, (T)1);                                                                      \
        x = COPYSIGN(num, y) / dem;                                                                                    \
    }                                                                                                                  \
    const T k = (T)2 / (T)sqrt(3.14159265358979323846);                                                                \
    x = x - (ERF(x) - y) / (k * EXP(-x * x));                                                                          \
    x = x - (ERF(x) - y) / (k * EXP(-x * x));                                                                          \
    return x;

float ot_torch_erfinvf(float y) { ERFINV_BODY(float, fmaf, sqrtf, logf, erff, expf, fabsf, copysignf) }

double ot_torch_erfinv(double y) { ERFINV_BODY(double, fma, sqrt, log, erf, exp, fabs, copysign) }

/* norm_cdf of torch.nn.init: (1 + erf(x / sqrt(2))) / 2, in double. */
static double norm_cdf(double x) { return (1.0 + erf(x / sqrt(2.0))) / 2.0; }

void ot_torch_trunc_normal_f32(ot_torch_rng_t *g, float *out, int64_t n, double mean, double std, double a,
                               double b) {
    double l = norm_cdf((a - mean) / std), u = norm_cdf((b - mean) / std);
    ot_torch_uniform_f32(g, out, n, 2 * l - 1, 2 * u - 1);
    float scale = (float)(std * sqrt(2.0)), shift = (float)mean, lo = (float)a, hi = (float)b;
#pragma omp parallel for if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
        float v = ot_torch_erfinvf(out[i]) * scale + shift;
        out[i] = fminf(fmaxf(v, lo), hi);
    }
}

void ot_torch_trunc_normal_f64(ot_torch_rng_t *g, double *out, int64_t n, double mean, double std, double a,
                               double b) {
    double l = norm_cdf((a - mean) / std), u = norm_cdf((b - mean) / std);
    ot_torch_uniform_f64(g, out, n, 2 * l - 1, 2 * u - 1);
    double scale = std * sqrt(2.0);
#pragma omp parallel for if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
        double v = ot_torch_erfinv(out[i]) * scale + mean;
        out[i] = fmin(fmax(v, a), b);
    }
}
