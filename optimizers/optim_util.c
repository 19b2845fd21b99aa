/* optimizers/optim_util.c: see optim_util.h. */
#include "optimizers/optim_util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

ot_status_t *ot_optim_count(const ot_node_info_t *node, int n_inputs, int n_outputs, int n_state, const char *groups,
                            int *n) {
    int per = 2 + n_state; /* X, G, states */
    if (n_inputs < 2 + per || (n_inputs - 2) % per != 0)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "has %d inputs: expected 2 scalars then %d groups (%s) of the same number of tensors",
                             n_inputs, per, groups);
    *n = (n_inputs - 2) / per;
    if (n_outputs != *n * (1 + n_state))
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "has %d outputs: expected %d (new X and %d state groups of %d tensors)", n_outputs,
                             *n * (1 + n_state), n_state, *n);
    return NULL;
}

static const char *group_name(const char *groups, int g, char *buf, size_t len) {
    /* groups is "X, G, V, H": take the g-th comma-separated word. */
    const char *p = groups;
    for (int i = 0; i < g && p; i++) {
        p = strchr(p, ',');
        if (p) p += 1 + (p[1] == ' ');
    }
    if (!p) {
        snprintf(buf, len, "group %d", g);
        return buf;
    }
    size_t w = strcspn(p, ",");
    if (w >= len) w = len - 1;
    memcpy(buf, p, w);
    buf[w] = '\0';
    return buf;
}

static bool is_scalar(const ot_tensor_t *t) {
    return t->shape.rank < 0 || ot_shape_numel(&t->shape) == 1 || (t->shape.rank == 1 && t->shape.dims[0] < 0);
}

ot_status_t *ot_optim_infer(ot_infer_ctx_t *ctx, int n_state, const char *groups, const char *s0_name,
                            const char *s1_name) {
    int n;
    ot_status_t *st = ot_optim_count(ctx->node, ctx->n_inputs, ctx->n_outputs, n_state, groups, &n);
    if (st) return st;
    for (int i = 0; i < ctx->n_inputs; i++)
        if (!ctx->inputs[i]) return OT_INFER_ERROR(ctx, "input %d is empty; optimizer inputs are all required", i);
    const ot_tensor_t *s0 = ctx->inputs[0], *s1 = ctx->inputs[1];
    if ((s0->dtype != OT_DTYPE_FLOAT && s0->dtype != OT_DTYPE_DOUBLE) || !is_scalar(s0))
        return OT_INFER_ERROR(ctx, "input 0 (%s) must be a float or double scalar", s0_name);
    if ((s1->dtype != OT_DTYPE_INT64 && s1->dtype != OT_DTYPE_INT32 && s1->dtype != OT_DTYPE_FLOAT &&
         s1->dtype != OT_DTYPE_DOUBLE) ||
        !is_scalar(s1))
        return OT_INFER_ERROR(ctx, "input 1 (%s) must be a numeric scalar", s1_name);
    ot_dtype_t dt = ctx->inputs[2]->dtype;
    if (dt != OT_DTYPE_FLOAT && dt != OT_DTYPE_DOUBLE)
        return OT_INFER_ERROR(ctx, "X[0] has dtype %s; optimizers take float or double", ot_dtype_name(dt));
    char gname[32], sa[128], sb[128];
    for (int g = 0; g < 2 + n_state; g++)
        for (int t = 0; t < n; t++) {
            const ot_tensor_t *x = ctx->inputs[2 + t], *v = ctx->inputs[2 + g * n + t];
            if (v->dtype != dt)
                return OT_INFER_ERROR(ctx, "%s[%d] (input %d) has dtype %s, X[0] has %s",
                                      group_name(groups, g, gname, sizeof gname), t, 2 + g * n + t,
                                      ot_dtype_name(v->dtype), ot_dtype_name(dt));
            bool same = x->shape.rank < 0 || v->shape.rank < 0 || x->shape.rank == v->shape.rank;
            for (int d = 0; same && x->shape.rank >= 0 && d < x->shape.rank && v->shape.rank >= 0; d++)
                same = x->shape.dims[d] < 0 || v->shape.dims[d] < 0 || x->shape.dims[d] == v->shape.dims[d];
            if (!same)
                return OT_INFER_ERROR(ctx, "%s[%d] (input %d) has shape %s but its parameter X[%d] has %s",
                                      group_name(groups, g, gname, sizeof gname), t, 2 + g * n + t,
                                      ot_shape_str(&v->shape, sa, sizeof sa), t, ot_shape_str(&x->shape, sb, sizeof sb));
        }
    for (int g = 0; g < 1 + n_state; g++)
        for (int t = 0; t < n; t++) {
            ot_tensor_t *o = ctx->outputs[g * n + t];
            if (!o) continue;
            /* X_new is typed as X, state s as its input (group 2 + s). */
            const ot_tensor_t *src = ctx->inputs[2 + (g == 0 ? 0 : g + 1) * n + t];
            o->dtype = dt;
            o->shape = src->shape.rank >= 0 ? src->shape : ctx->inputs[2 + t]->shape;
        }
    return NULL;
}

ot_status_t *ot_optim_layout_create(const ot_kernel_t *k, int n_state, ot_optim_layout_t **out) {
    int n;
    ot_status_t *st = ot_optim_count(k->node, k->n_inputs, k->n_outputs, n_state, "X, G, states", &n);
    if (st) return st;
    ot_optim_layout_t *L = calloc(1, sizeof *L);
    if (!L) return ot_status_create(OT_ERR_NO_MEMORY, "optimizer layout: out of memory");
    L->n = n;
    L->lr_last = 0.0f; /* widen(0) == 0 */
    L->n_state = n_state;
    L->offsets = calloc((size_t)n + 1, sizeof *L->offsets);
    L->out_scratch = calloc((size_t)k->n_outputs, sizeof *L->out_scratch);
    if (!L->offsets || !L->out_scratch) goto oom;
    size_t es = ot_dtype_size(k->inputs[2]->dtype);
    for (int t = 0; t < n; t++) {
        int64_t m = ot_shape_numel(&k->inputs[2 + t]->shape);
        /* Shapes may have been unknown at load time: check every group again. */
        for (int g = 1; g < 2 + n_state; g++)
            if (ot_shape_numel(&k->inputs[2 + g * n + t]->shape) != m) {
                ot_optim_layout_destroy(L);
                return OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT,
                                     "input %d (group %d, tensor %d) has %lld elements, its parameter X[%d] has %lld",
                                     2 + g * n + t, g, t, (long long)ot_shape_numel(&k->inputs[2 + g * n + t]->shape),
                                     t, (long long)m);
            }
        L->offsets[t + 1] = L->offsets[t] + m;
    }
    L->total = L->offsets[n];
    for (int o = 0; o < k->n_outputs; o++) {
        if (k->outputs[o]) continue;
        int64_t m = L->offsets[o % n + 1] - L->offsets[o % n];
        L->out_scratch[o] = malloc((size_t)(m > 0 ? m : 1) * es);
        if (!L->out_scratch[o]) goto oom;
    }
    *out = L;
    return NULL;
oom:
    ot_optim_layout_destroy(L);
    return ot_status_create(OT_ERR_NO_MEMORY, "optimizer layout: out of memory");
}

void ot_optim_layout_destroy(ot_optim_layout_t *L) {
    if (!L) return;
    if (L->out_scratch)
        for (int o = 0; o < L->n * (1 + L->n_state); o++) free(L->out_scratch[o]);
    free(L->out_scratch);
    free(L->offsets);
    free(L);
}

/* Calls fn on the pieces of the tensors that overlap [lo, hi). */
static void run_range(const ot_kernel_t *k, const ot_optim_layout_t *L, ot_optim_seg_fn fn, const void *args,
                      int64_t lo, int64_t hi) {
    if (lo >= hi) return;
    int a = 0, b = L->n; /* first t with offsets[t + 1] > lo */
    while (a < b) {
        int mid = (a + b) / 2;
        if (L->offsets[mid + 1] > lo) b = mid;
        else a = mid + 1;
    }
    for (int t = a; t < L->n && L->offsets[t] < hi; t++) {
        int64_t s = lo > L->offsets[t] ? lo : L->offsets[t];
        int64_t e = hi < L->offsets[t + 1] ? hi : L->offsets[t + 1];
        if (s < e) fn(k, L, args, t, s - L->offsets[t], e - L->offsets[t]);
    }
}

/* Below this many elements a parallel region (a few us in libgomp) costs
 * more than the update itself. */
#define OPTIM_PARALLEL_MIN 32768

void ot_optim_for_each(const ot_kernel_t *k, const ot_optim_layout_t *L, ot_optim_seg_fn fn, const void *args) {
    if (L->total < OPTIM_PARALLEL_MIN || omp_get_max_threads() == 1) {
        run_range(k, L, fn, args, 0, L->total);
        return;
    }
#pragma omp parallel
    {
        int64_t nth = omp_get_num_threads(), tid = omp_get_thread_num();
        int64_t chunk = ((L->total + nth - 1) / nth + 15) & ~(int64_t)15; /* whole cache lines */
        int64_t lo = tid * chunk, hi = lo + chunk;
        if (lo > L->total) lo = L->total;
        if (hi > L->total) hi = L->total;
        run_range(k, L, fn, args, lo, hi);
    }
}

double ot_optim_scalar(const ot_kernel_t *k, int i) {
    const ot_tensor_t *t = k->inputs[i];
    switch (t->dtype) {
    case OT_DTYPE_FLOAT: return *(const float *)t->data;
    case OT_DTYPE_DOUBLE: return *(const double *)t->data;
    case OT_DTYPE_INT64: return (double)*(const int64_t *)t->data;
    case OT_DTYPE_INT32: return *(const int32_t *)t->data;
    default: OT_ASSERT(!"optimizer scalar dtype checked by inference"); return 0;
    }
}

double ot_optim_widen(float f) {
    if (!(f == f) || f - f != 0 || f == 0) return f; /* NaN, inf, zero: nothing to recover */
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return f;
}

double ot_optim_lr(const ot_kernel_t *k, ot_optim_layout_t *L) {
    const ot_tensor_t *t = k->inputs[0];
    if (t->dtype != OT_DTYPE_FLOAT) return ot_optim_scalar(k, 0);
    float f = *(const float *)t->data;
    if (memcmp(&f, &L->lr_last, sizeof f) != 0) {
        L->lr_last = f;
        L->lr_wide = ot_optim_widen(f);
    }
    return L->lr_wide;
}

double ot_optim_attr(const ot_node_info_t *node, const char *name, double dflt) {
    const ot_attr_t *a = ot_node_attr(node, name);
    return a ? ot_optim_widen(a->f) : dflt;
}
