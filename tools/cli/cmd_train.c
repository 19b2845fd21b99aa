/* tools/cli/cmd_train.c: `onnxtrain train`, step-by-step training of an
 * ONNX training model (TrainingInfoProto) on arrays from an .npz file.
 *
 *   onnxtrain train TRAIN.onnx --data FILE.npz --batch-size N --steps S
 *       [--no-shuffle | --seed N] [--lr X] [--log FILE.csv] [--checkpoint OUT.onnx]
 *       [--plugin LIB.so ...]   (tools/cli/cli_plugins.c)
 *   onnxtrain train --ort-artifacts DIR --data FILE.npz ...   (ONNX Runtime's
 *       training artifacts; --checkpoint then writes an ORT checkpoint)
 *
 * The .npz holds one array per fed graph input, keyed by input name;
 * batches are consecutive slices of N rows along axis 0 (wrapping around),
 * of a permutation drawn anew each pass over the data unless --no-shuffle.
 * Arrays are converted to the input's dtype where that loses nothing
 * (int64 labels for an int32 input), refused otherwise. Batch buffers are
 * allocated once. --log writes `step,loss,lr` per step: the loss of that
 * step's forward pass (before its update) and the rate its update used.
 *
 * A model prepared with --accumulate K (metadata onnxtrain.accumulate)
 * takes K consecutive batches per optimizer step: --steps counts optimizer
 * steps, and each log row is one optimizer step with the mean loss of its
 * K micro-batches. With --skip-nonfinite (state onnxtrain.skipped_steps)
 * the log gains a column `skipped` (1: that step's gradients held NaN/Inf
 * and it changed nothing) and a summary line counts the skipped steps.
 *
 * A model whose initialization graphs never ran (`prepare --init`) is
 * initialized first, once; `--steps 0 --checkpoint OUT` does only that.
 *
 * --lr sets the base rate: in a model prepared with --lr-schedule the
 * schedule goes on from it (ot_training_session_set_lr). */
#include "tools/cli/cli.h"
#include "runtime/npz.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void train_usage(FILE *f) {
    fprintf(f, "usage: onnxtrain train (TRAIN.onnx | --ort-artifacts DIR) --data FILE.npz --batch-size N --steps S\n"
               "           [--no-shuffle | --seed N] [--lr X] [--log FILE.csv] [--checkpoint OUT] [--plugin LIB.so]\n"
               "       onnxtrain train TRAIN.onnx --steps 0 --checkpoint OUT   (only run initialization)\n"
               "--lr X: the base rate (with prepare --lr-schedule, the schedule goes on from it)\n");
}

/* One fed input: its data array and the batch buffer the steps read. */
typedef struct feed {
    const char *name;
    const ot_tensor_t *data; /* (rows, ...) from the archive */
    ot_tensor_t *batch;      /* (N, ...) in the input's dtype */
    size_t row_in, row_out;  /* bytes per row: archive dtype, input dtype */
} feed_t;

static bool is_int(ot_dtype_t t) {
    return t == OT_DTYPE_INT8 || t == OT_DTYPE_INT16 || t == OT_DTYPE_INT32 || t == OT_DTYPE_INT64 ||
           t == OT_DTYPE_UINT8 || t == OT_DTYPE_UINT16 || t == OT_DTYPE_UINT32 || t == OT_DTYPE_UINT64;
}

static int64_t read_int(const void *p, ot_dtype_t t) {
    switch (t) {
    case OT_DTYPE_INT8: return *(const int8_t *)p;
    case OT_DTYPE_INT16: return *(const int16_t *)p;
    case OT_DTYPE_INT32: return *(const int32_t *)p;
    case OT_DTYPE_INT64: return *(const int64_t *)p;
    case OT_DTYPE_UINT8: return *(const uint8_t *)p;
    case OT_DTYPE_UINT16: return *(const uint16_t *)p;
    case OT_DTYPE_UINT32: return *(const uint32_t *)p;
    default: return (int64_t) * (const uint64_t *)p;
    }
}

/* Copies `n` elements converting from -> to; false if a value does not fit. */
static bool convert(const void *src, ot_dtype_t from, void *dst, ot_dtype_t to, int64_t n) {
    size_t fs = ot_dtype_size(from), ts = ot_dtype_size(to);
    if (from == to) {
        memcpy(dst, src, (size_t)n * fs);
        return true;
    }
    for (int64_t i = 0; i < n; i++) {
        const char *s = (const char *)src + (size_t)i * fs;
        char *d = (char *)dst + (size_t)i * ts;
        if (is_int(from) && (to == OT_DTYPE_INT32 || to == OT_DTYPE_INT64)) {
            int64_t v = read_int(s, from);
            if (to == OT_DTYPE_INT32) {
                if (v < INT32_MIN || v > INT32_MAX) return false;
                *(int32_t *)d = (int32_t)v;
            } else {
                *(int64_t *)d = v;
            }
        } else if (from == OT_DTYPE_DOUBLE && to == OT_DTYPE_FLOAT) {
            double v = *(const double *)s;
            float f = (float)v;
            if ((double)f != v && !isnan(v)) return false;
            *(float *)d = f;
        } else if (is_int(from) && (to == OT_DTYPE_FLOAT || to == OT_DTYPE_DOUBLE)) {
            int64_t v = read_int(s, from);
            if (to == OT_DTYPE_FLOAT) {
                if ((int64_t)(float)v != v) return false;
                *(float *)d = (float)v;
            } else {
                *(double *)d = (double)v;
            }
        } else if (from == OT_DTYPE_FLOAT && to == OT_DTYPE_DOUBLE) {
            *(double *)d = *(const float *)s;
        } else {
            return false;
        }
    }
    return true;
}

/* splitmix64: the shuffle's generator (its stream is part of --seed's meaning). */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(int64_t *perm, int64_t n, uint64_t *rng) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(next_u64(rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int cmd_train(int argc, char **argv) {
    const char *model_path = NULL, *data_path = NULL, *log_path = NULL, *ckpt_path = NULL, *ort_dir = NULL;
    int64_t batch = 0, steps = 0;
    uint64_t seed = 0;
    bool shuffle_rows = true, has_lr = false;
    float lr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-shuffle")) {
            shuffle_rows = false;
            takes = false;
        } else if (!v && a[0] == '-') {
            fprintf(stderr, "onnxtrain train: %s needs a value\n", a);
            return 2;
        } else if (!strcmp(a, "--data")) data_path = v;
        else if (!strcmp(a, "--batch-size")) batch = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--steps")) steps = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--lr")) lr = strtof(v, NULL), has_lr = true;
        else if (!strcmp(a, "--log")) log_path = v;
        else if (!strcmp(a, "--checkpoint")) ckpt_path = v;
        else if (!strcmp(a, "--ort-artifacts")) ort_dir = v;
        else if (a[0] != '-' && !model_path) model_path = a, takes = false;
        else {
            fprintf(stderr, "onnxtrain train: unexpected argument '%s'\n", a);
            train_usage(stderr);
            return 2;
        }
        if (takes) i++;
    }
    bool init_only = steps == 0 && ckpt_path && model_path; /* --steps 0 --checkpoint X: initialize, save */
    if ((!model_path == !ort_dir) || (!init_only && (!data_path || batch <= 0 || steps <= 0))) {
        train_usage(stderr);
        return 2;
    }
    if (ort_dir && cli_plugin_count()) { /* --plugin: ORT's artifacts load with the built-in ops only */
        fprintf(stderr, "onnxtrain train: --plugin does not apply to --ort-artifacts (ONNX Runtime's ops are built in)\n");
        return 2;
    }
    ot_registry_t *reg = NULL;
    ot_model_t *m = NULL;
    ot_training_session_t *ts = NULL;
    ot_ort_session_t *ort = NULL;
    ot_npz_t *npz = NULL;
    feed_t *feeds = NULL;
    const char **names = NULL;
    const ot_tensor_t **values = NULL;
    int64_t *perm = NULL, rows = -1;
    FILE *log = NULL;
    int rc = 1, n_feeds = 0;
    ot_status_t *st = NULL;
    if (ort_dir) {
        st = ot_ort_session_create(ort_dir, &ort);
    } else {
        st = cli_registry_create(&reg);
        if (!st) st = ot_model_load(model_path, reg, NULL, &m);
        if (!st) st = ot_training_session_create(m, &ts);
        if (!st && ot_training_session_needs_initialization(ts) && !(st = ot_training_session_initialize(ts)))
            printf("initialized: ran the model's initialization graphs (once: checkpoints record it)\n");
        if (!st && init_only) {
            if (!(st = ot_training_session_save(ts, ckpt_path))) printf("checkpoint: %s\n", ckpt_path);
            rc = st ? cli_fail(st, ckpt_path) : 0;
            goto done;
        }
    }
    if (!st) st = ot_npz_load(data_path, &npz);
    if (st) {
        rc = cli_fail(st, ort_dir ? ort_dir : model_path);
        goto done;
    }
    /* the fed inputs: every graph input of every stage that is not state */
    int n_in = 0;
    const char *const *in_names = NULL;
    const ot_tensor_t *const *in_types = NULL;
    const char *ort_names[64];
    const ot_tensor_t *ort_types[64];
    if (ort) {
        ot_ort_session_feeds(ort, &n_in, NULL, NULL);
        if (n_in > 64) n_in = 64;
        ot_ort_session_feeds(ort, &n_in, ort_names, ort_types);
        in_names = ort_names;
        in_types = ort_types;
    } else {
        ot_training_session_feeds(ts, &n_in, &in_names, &in_types);
    }
    feeds = calloc((size_t)n_in + 1, sizeof *feeds);
    names = calloc((size_t)n_in + 1, sizeof *names);
    values = calloc((size_t)n_in + 1, sizeof *values);
    if (!feeds || !names || !values) goto oom;
    for (int i = 0; i < n_in; i++) {
        feed_t *f = &feeds[n_feeds];
        f->name = in_names[i];
        f->data = ot_npz_find(npz, f->name);
        if (!f->data) {
            fprintf(stderr, "onnxtrain train: %s has no array '%s' (the model's input)\n", data_path, f->name);
            goto done;
        }
        const ot_tensor_t *want = in_types[i];
        if (f->data->shape.rank < 1 || f->data->shape.rank != (want->shape.rank < 0 ? f->data->shape.rank : want->shape.rank)) {
            fprintf(stderr, "onnxtrain train: array '%s' has rank %d; input '%s' needs rank %d (rows along axis 0)\n",
                    f->name, f->data->shape.rank, f->name, want->shape.rank);
            goto done;
        }
        for (int d = 1; d < f->data->shape.rank && want->shape.rank > 0; d++)
            if (want->shape.dims[d] >= 0 && want->shape.dims[d] != f->data->shape.dims[d]) {
                fprintf(stderr, "onnxtrain train: array '%s' has dim %d = %" PRId64 "; input '%s' needs %" PRId64 "\n",
                        f->name, d, f->data->shape.dims[d], f->name, want->shape.dims[d]);
                goto done;
            }
        if (rows < 0) rows = f->data->shape.dims[0];
        if (f->data->shape.dims[0] != rows || rows == 0) {
            fprintf(stderr, "onnxtrain train: arrays in %s differ in their number of rows (or have none): '%s' has %" PRId64 "\n",
                    data_path, f->name, f->data->shape.dims[0]);
            goto done;
        }
        ot_shape_t bs = f->data->shape;
        bs.dims[0] = batch;
        if ((st = ot_tensor_create(want->dtype, &bs, &f->batch))) {
            rc = cli_fail(st, "batch");
            goto done;
        }
        int64_t per_row = ot_shape_numel(&f->data->shape) / rows;
        f->row_in = (size_t)per_row * ot_dtype_size(f->data->dtype);
        f->row_out = (size_t)per_row * ot_dtype_size(want->dtype);
        /* the whole array must convert: refuse up front, not mid-training */
        void *probe = malloc(f->row_out ? f->row_out : 1);
        bool fits = probe != NULL;
        for (int64_t r = 0; fits && r < rows; r++)
            fits = convert((const char *)f->data->data + (size_t)r * f->row_in, f->data->dtype, probe, want->dtype, per_row);
        free(probe);
        if (!fits) {
            fprintf(stderr, "onnxtrain train: array '%s' (%s) does not convert to input '%s' (%s) without loss\n",
                    f->name, ot_dtype_name(f->data->dtype), f->name, ot_dtype_name(want->dtype));
            goto done;
        }
        names[n_feeds] = f->name;
        values[n_feeds] = f->batch;
        n_feeds++;
    }
    if (!(perm = malloc(sizeof *perm * (size_t)rows))) goto oom;
    uint64_t rng = seed;
    if (shuffle_rows) shuffle(perm, rows, &rng);
    else for (int64_t r = 0; r < rows; r++) perm[r] = r;
    if (has_lr && ort) {
        ot_ort_session_set_lr(ort, lr);
    } else if (has_lr) {
        if ((st = ot_training_session_set_lr(ts, lr))) { /* the base rate when a schedule is present */
            rc = cli_fail(st, "--lr");
            goto done;
        }
    }
    if (log_path && !(log = fopen(log_path, "w"))) {
        fprintf(stderr, "onnxtrain train: cannot write %s\n", log_path);
        goto done;
    }
    /* accumulation and the non-finite guard (prepare --accumulate, --skip-nonfinite) */
    const char *acc_meta = m ? ot_model_metadata(m, "onnxtrain.accumulate") : NULL;
    int64_t accumulate = acc_meta ? strtoll(acc_meta, NULL, 10) : 1, micro = 0; /* micro: the batch within its step */
    if (accumulate < 1) accumulate = 1;
    double loss_sum = 0;
    const ot_tensor_t *skipped_t = NULL;
    ot_status_t *no_guard = ts ? ot_training_session_get_state(ts, "onnxtrain.skipped_steps", &skipped_t) : NULL;
    ot_status_free(no_guard);
    if (no_guard || (skipped_t && skipped_t->dtype != OT_DTYPE_INT64)) skipped_t = NULL;
    int64_t skipped_before = skipped_t ? *(const int64_t *)skipped_t->data : 0, skipped_start = skipped_before;
    if (log) fprintf(log, "step,loss,lr%s\n", skipped_t ? ",skipped" : "");
    float lr_probe;
    ot_status_t *no_lr = ts ? ot_training_session_get_lr(ts, &lr_probe) : NULL;
    bool has_lr_state = ts && !no_lr; /* else the log's lr is nan (a constant or input rate) */
    ot_status_free(no_lr);
    int64_t cursor = 0;
    /* one iteration per batch; `step` counts optimizer steps (K batches each with --accumulate K) */
    for (int64_t step = 1; step <= steps; micro = (micro + 1) % accumulate, step += micro == 0) {
        for (int64_t b = 0; b < batch; b++) {
            if (cursor == rows) {
                cursor = 0;
                if (shuffle_rows) shuffle(perm, rows, &rng);
            }
            int64_t r = perm[cursor++];
            for (int f = 0; f < n_feeds; f++) {
                feed_t *fd = &feeds[f];
                int64_t per_row = (int64_t)(fd->row_out / ot_dtype_size(fd->batch->dtype));
                convert((const char *)fd->data->data + (size_t)r * fd->row_in, fd->data->dtype,
                        (char *)fd->batch->data + (size_t)b * fd->row_out, fd->batch->dtype, per_row);
            }
        }
        double step_lr = NAN, loss = NAN;
        if (ort) {
            /* ORT's loop: train_step, optimizer_step, lazy_reset_grad */
            float l = NAN;
            step_lr = ot_ort_session_get_lr(ort);
            if (!(st = ot_ort_session_train_step(ort, n_feeds, names, values, &l))) st = ot_ort_session_optimizer_step(ort);
            ot_ort_session_lazy_reset_grad(ort);
            loss = l;
        } else {
            const ot_tensor_t *loss_t = NULL;
            float lr_now;
            if (has_lr_state && !ot_training_session_get_lr(ts, &lr_now)) step_lr = lr_now;
            /* all stages; with accumulation stage [0] per batch and the optimizer after the K-th */
            if (!(st = ot_training_session_step(ts, accumulate > 1 ? 0 : -1, n_feeds, names, values)))
                st = ot_training_session_output(ts, "loss", &loss_t);
            if (!st && accumulate > 1 && micro == accumulate - 1) st = ot_training_session_optimizer_step(ts);
            if (!st) loss = loss_t->dtype == OT_DTYPE_DOUBLE ? *(const double *)loss_t->data : *(const float *)loss_t->data;
        }
        if (st) {
            char what[64];
            snprintf(what, sizeof what, "step %" PRId64, step);
            rc = cli_fail(st, what);
            goto done;
        }
        /* accumulation: one row per optimizer step, the mean loss of its batches */
        loss_sum += loss;
        if (micro < accumulate - 1) continue;
        loss = loss_sum / (double)accumulate;
        loss_sum = 0;
        int64_t skipped_now = skipped_t ? *(const int64_t *)skipped_t->data : 0;
        if (log && skipped_t) fprintf(log, "%" PRId64 ",%.9g,%.9g,%d\n", step, loss, step_lr, skipped_now != skipped_before);
        else if (log) fprintf(log, "%" PRId64 ",%.9g,%.9g\n", step, loss, step_lr);
        if (skipped_now != skipped_before) printf("step %" PRId64 ": non-finite gradients, step skipped\n", step);
        skipped_before = skipped_now;
        if (step == 1 || step == steps || step % 100 == 0) printf("step %" PRId64 ": loss %.6g\n", step, loss);
    }
    if (skipped_t)
        printf("skipped %" PRId64 " of %" PRId64 " optimizer steps (non-finite gradients)\n", skipped_before - skipped_start,
               steps);
    if (log && fclose(log) != 0) {
        log = NULL;
        fprintf(stderr, "onnxtrain train: cannot write %s\n", log_path);
        goto done;
    }
    log = NULL;
    if (ckpt_path) {
        if ((st = ort ? ot_ort_session_save_checkpoint(ort, ckpt_path) : ot_training_session_save(ts, ckpt_path))) {
            rc = cli_fail(st, ckpt_path);
            goto done;
        }
        printf("checkpoint: %s\n", ckpt_path);
    }
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "onnxtrain train: out of memory\n");
done:
    if (log) fclose(log);
    for (int f = 0; feeds && f < n_feeds; f++) ot_tensor_destroy(feeds[f].batch);
    if (feeds && n_feeds < n_in && feeds[n_feeds].batch) ot_tensor_destroy(feeds[n_feeds].batch);
    free(feeds);
    free(names);
    free(values);
    free(perm);
    ot_npz_destroy(npz);
    ot_training_session_destroy(ts);
    ot_ort_session_destroy(ort);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
    return rc;
}
