/* runtime/mt19937.c: MT19937 (see mt19937.h). The constants are those of
 * the reference implementation mt19937ar.c (Matsumoto & Nishimura). */
#include "runtime/mt19937.h"

#define MT_M 397
#define MATRIX_A 0x9908b0dfu
#define UPPER_MASK 0x80000000u
#define LOWER_MASK 0x7fffffffu

void ot_mt19937_seed(ot_mt19937_t *g, uint32_t seed) {
    g->mt[0] = seed;
    for (int i = 1; i < OT_MT19937_N; i++)
        g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + (uint32_t)i;
    g->pos = OT_MT19937_N;
}

/* Regenerates all N words (the "twist"). */
static void mt_twist(ot_mt19937_t *g) {
    uint32_t *mt = g->mt;
    int k;
    for (k = 0; k < OT_MT19937_N - MT_M; k++) {
        uint32_t y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
        mt[k] = mt[k + MT_M] ^ (y >> 1) ^ ((y & 1u) ? MATRIX_A : 0u);
    }
    for (; k < OT_MT19937_N - 1; k++) {
        uint32_t y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
        mt[k] = mt[k + (MT_M - OT_MT19937_N)] ^ (y >> 1) ^ ((y & 1u) ? MATRIX_A : 0u);
    }
    uint32_t y = (mt[OT_MT19937_N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[OT_MT19937_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((y & 1u) ? MATRIX_A : 0u);
    g->pos = 0;
}

static inline uint32_t mt_next(ot_mt19937_t *g) {
    if (g->pos >= OT_MT19937_N) mt_twist(g);
    uint32_t y = g->mt[g->pos++];
    /* tempering */
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t ot_mt19937_next_u32(ot_mt19937_t *g) { return mt_next(g); }

uint64_t ot_mt19937_next_u53(ot_mt19937_t *g) {
    uint64_t a = mt_next(g) >> 5, b = mt_next(g) >> 6;
    return a << 26 | b;
}

void ot_mt19937_fill_u53(ot_mt19937_t *g, uint64_t *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint64_t a = mt_next(g) >> 5, b = mt_next(g) >> 6;
        out[i] = a << 26 | b;
    }
}

double ot_mt19937_next_double(ot_mt19937_t *g) {
    return (double)ot_mt19937_next_u53(g) / 9007199254740992.0;
}
