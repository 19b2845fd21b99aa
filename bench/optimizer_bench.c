/* bench/optimizer_bench.c: throughput of the fused ai.onnxtrain::AdamW
 * kernel against the machine's memory bandwidth, measured in the same run
 * by a STREAM triad (a[i] = b[i] + s * c[i], 12 bytes per element).
 *
 * AdamW moves 28 bytes per parameter: reads p, g, m, v (16) and writes p,
 * m, v (12). GB/s = 28 * params / seconds. The kernel runs in place (the
 * outputs alias the inputs), as a training step's update does.
 *
 *   optimizer_bench [params...]     default: 10000000 100000000
 * Threads: OMP_NUM_THREADS. Prints, per size, the best of 20 alternating runs
 * of each.
 * Not a test: nothing is asserted. */
#include "onnxtrain/onnxtrain.h"
#include "runtime/op_call.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_floats(int64_t n, float value) {
    float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) p[i] = value; /* first touch by the threads that use it */
    return p;
}

static void check(ot_status_t *st, const char *what) {
    if (!st) return;
    fprintf(stderr, "%s: %s\n", what, ot_status_message(st));
    exit(1);
}

/* Best GB/s of triad and AdamW over `reps` alternating runs, so a noisy
 * (shared) machine slows both alike. */
static void measure(const ot_registry_t *reg, int64_t n, int reps, double *triad_gbs, double *adamw_gbs) {
    float *a = alloc_floats(n, 0), *b = alloc_floats(n, 1), *c = alloc_floats(n, 2);
    float *p = alloc_floats(n, 0.5f), *g = alloc_floats(n, 0.01f), *m = alloc_floats(n, 0), *v = alloc_floats(n, 0);
    float lr = 1e-3f;
    int64_t step = 1;
    ot_tensor_t t_lr = {OT_DTYPE_FLOAT, {0, {0}}, &lr}, t_step = {OT_DTYPE_INT64, {0, {0}}, &step};
    ot_tensor_t tp = {OT_DTYPE_FLOAT, {1, {n}}, p}, tg = tp, tm = tp, tv = tp;
    tg.data = g, tm.data = m, tv.data = v;
    ot_tensor_t *ins[6] = {&t_lr, &t_step, &tp, &tg, &tm, &tv};
    ot_tensor_t *outs[3] = {&tp, &tm, &tv}; /* in place: outputs are p, m, v */
    ot_node_info_t node = {.name = "adamw", .op_type = "AdamW", .domain = OT_DOMAIN, .opset = 1};
    ot_op_call_t *call = NULL;
    check(ot_op_call_create(reg, &node, 6, ins, 3, outs, &call), "AdamW setup");
    double best_triad = 1e30, best_adamw = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
        double t1 = now();
        step = rep + 1;
        check(ot_op_call_run(call), "AdamW run");
        double t2 = now();
        if (t1 - t0 < best_triad) best_triad = t1 - t0;
        if (t2 - t1 < best_adamw) best_adamw = t2 - t1;
    }
    ot_op_call_destroy(call);
    free(a), free(b), free(c), free(p), free(g), free(m), free(v);
    *triad_gbs = 12.0 * (double)n / best_triad / 1e9;
    *adamw_gbs = 28.0 * (double)n / best_adamw / 1e9;
}

int main(int argc, char **argv) {
    int64_t sizes[8] = {10000000, 100000000};
    int n_sizes = 2;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++) sizes[n_sizes++] = strtoll(argv[i], NULL, 10);
    }
    ot_registry_t *reg = NULL;
    check(ot_registry_create(&reg), "registry");
    printf("threads %d\n", omp_get_max_threads());
    printf("%12s %14s %14s %8s\n", "params", "triad GB/s", "AdamW GB/s", "ratio");
    for (int s = 0; s < n_sizes; s++) {
        int64_t n = sizes[s];
        double bw, gbs;
        measure(reg, n, 20, &bw, &gbs);
        printf("%12lld %14.2f %14.2f %7.1f%%\n", (long long)n, bw, gbs, 100.0 * gbs / bw);
        fflush(stdout);
    }
    ot_registry_destroy(reg);
    return 0;
}
