/* runtime/mt19937.h: the MT19937 Mersenne Twister (Matsumoto & Nishimura
 * 1998), bit-exact with the reference mt19937ar.c, numpy's legacy
 * RandomState and PyTorch's CPU generator.
 *
 * Seeding is the reference init_genrand(seed) (numpy's `np.random.seed(s)`
 * for 0 <= s < 2^32, C++ `std::mt19937(s)`, torch's `manual_seed` low 32
 * bits); doubles are numpy's `random_sample`: 53 bits from two successive
 * outputs, ((a >> 5) * 2^26 + (b >> 6)) / 2^53, in [0, 1).
 *
 * Not here: init_by_array seeding (seeds wider than 32 bits), other
 * distributions. A generator is plain state (2.5 KB), not thread-safe:
 * each user owns one. */
#ifndef ONNXTRAIN_MT19937_H
#define ONNXTRAIN_MT19937_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OT_MT19937_N 624

typedef struct ot_mt19937 {
    uint32_t mt[OT_MT19937_N];
    int pos; /* next word of mt[] to temper; OT_MT19937_N: regenerate first */
} ot_mt19937_t;

/* init_genrand(seed). */
void ot_mt19937_seed(ot_mt19937_t *g, uint32_t seed);
/* The next 32-bit output. */
uint32_t ot_mt19937_next_u32(ot_mt19937_t *g);
/* The next 53-bit output k (two 32-bit outputs: (a >> 5) << 26 | (b >> 6));
 * numpy's double is k / 2^53. */
uint64_t ot_mt19937_next_u53(ot_mt19937_t *g);
/* out[i] = ot_mt19937_next_u53() for i < n, in order (one call for a
 * block: the hot loop of Dropout). */
void ot_mt19937_fill_u53(ot_mt19937_t *g, uint64_t *out, int64_t n);
/* numpy's random_sample(): ot_mt19937_next_u53() / 2^53, in [0, 1). */
double ot_mt19937_next_double(ot_mt19937_t *g);

#ifdef __cplusplus
}
#endif
#endif
