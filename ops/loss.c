/* ops/loss.c: the ONNX classification losses and their gradients.
 *
 * NegativeLogLikelihoodLoss-12/13 (input (N, C, d1..dk), target (N, d1..dk),
 * optional weight (C)), for every position i = (n, d1..dk) with t = target[i]:
 *   loss[i] = -weight[t] * input[n, t, d1..dk]   (weight 1 when absent)
 * and 0 where t == ignore_index (which may lie outside [0, C)). reduction
 * "none" gives loss (N, d1..dk); "sum" its sum; "mean" (default) the sum
 * divided by the sum of weight[t] over the non-ignored positions (with no
 * weight: their count), per the ONNX spec's reference; 0 / 0 gives NaN as
 * in numpy and PyTorch.
 * SoftmaxCrossEntropyLoss-12/13 (scores, labels, weights?) is the NLL of
 * log_prob = LogSoftmax(scores) over axis 1, with log_prob as the optional
 * second output. Versions 13 only add bfloat16: one kernel serves both.
 *
 * Gradients (c runs over the classes, coef = weight[t] * dY / wsum for
 * "mean", weight[t] * dY for "sum", weight[t] * dY[i] for "none", and 0 at
 * ignored positions):
 *   com.microsoft::SoftmaxCrossEntropyLossGrad(dY, log_prob, label, weight?)
 *     d_logits[n, c, d] = coef * (exp(log_prob[n, c, d]) - (c == t))
 *   ai.onnxtrain::NegativeLogLikelihoodLossGrad(dY, input, target, weight?)
 *     dInput[n, c, d] = -coef * (c == t)     (ONNX Runtime has no NLL
 *     gradient op; `input` is read for its shape only)
 * Both take reduction and ignore_index like the forward ops. When the SCE
 * node does not output log_prob, its rule emits a second SCE node that does
 * (same inputs and attributes); a gradient reaching log_prob adds
 * LogSoftmaxGrad_13(d log_prob, log_prob, axis = 1). No gradient for the
 * weights (an error if one is asked for).
 *
 * Plain loops (no oneDNN primitive computes a gathered NLL), log-softmax
 * and sums in double; labels out of range (and not ignore_index) are a run
 * error naming the node. */
#include "ops/grad_util.h"

#include <math.h>
#include <stdlib.h>

typedef enum loss_reduction { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_reduction_t;

static const ot_attr_spec_t loss_attrs[] = {
    {"reduction", OT_ATTR_STRING, false},
    {"ignore_index", OT_ATTR_INT, false},
    {NULL, OT_ATTR_UNDEFINED, false},
};

static bool loss_reduction(const ot_node_info_t *node, loss_reduction_t *out) {
    const char *r = ot_attr_string(node, "reduction", "mean");
    if (strcmp(r, "none") == 0) *out = LOSS_NONE;
    else if (strcmp(r, "sum") == 0) *out = LOSS_SUM;
    else if (strcmp(r, "mean") == 0) *out = LOSS_MEAN;
    else return false;
    return true;
}

static bool is_float(ot_dtype_t t) { return t == OT_DTYPE_FLOAT || t == OT_DTYPE_DOUBLE; }

/* SoftmaxCrossEntropyLoss(Grad), else NegativeLogLikelihoodLoss(Grad). */
static bool loss_is_sce(const ot_node_info_t *node) { return strncmp(node->op_type, "Softmax", 7) == 0; }

/* Checks x (N, C, d..), target (N, d..) and weight (C) against each other
 * (unknown dims pass). `what` names x in messages. */
static ot_status_t *loss_check(ot_infer_ctx_t *ctx, const char *what, const ot_tensor_t *x, const ot_tensor_t *t,
                               const ot_tensor_t *w) {
    char a[128], b[128];
    if (!is_float(x->dtype))
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "%s dtype %s not supported", what, ot_dtype_name(x->dtype));
    if (t->dtype != OT_DTYPE_INT32 && t->dtype != OT_DTYPE_INT64)
        return OT_INFER_ERROR(ctx, "target must be int32 or int64, got %s", ot_dtype_name(t->dtype));
    if (w && w->dtype != x->dtype)
        return OT_INFER_ERROR(ctx, "weight (%s) must have the dtype of %s (%s)", ot_dtype_name(w->dtype), what,
                              ot_dtype_name(x->dtype));
    int r = x->shape.rank;
    if (r >= 0 && r < 2) return OT_INFER_ERROR(ctx, "%s must be (N, C, d1..dk), got rank %d", what, r);
    if (r >= 0 && t->shape.rank >= 0) {
        bool ok = t->shape.rank == r - 1;
        for (int i = 0; ok && i < r - 1; i++) {
            int64_t xd = x->shape.dims[i == 0 ? 0 : i + 1], td = t->shape.dims[i];
            ok = xd < 0 || td < 0 || xd == td;
        }
        if (!ok)
            return OT_INFER_ERROR(ctx, "target %s does not match %s %s: expected (N, d1..dk)",
                                  ot_shape_str(&t->shape, a, sizeof a), what, ot_shape_str(&x->shape, b, sizeof b));
    }
    if (w && w->shape.rank >= 0 &&
        (w->shape.rank != 1 || (r >= 0 && x->shape.dims[1] >= 0 && w->shape.dims[0] >= 0 &&
                                w->shape.dims[0] != x->shape.dims[1])))
        return OT_INFER_ERROR(ctx, "weight %s must be (C) for %s %s", ot_shape_str(&w->shape, a, sizeof a), what,
                              ot_shape_str(&x->shape, b, sizeof b));
    return NULL;
}

static ot_status_t *loss_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *x = ctx->inputs[0], *t = ctx->inputs[1];
    const ot_tensor_t *w = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    loss_reduction_t red;
    if (!loss_reduction(ctx->node, &red))
        return OT_INFER_ERROR(ctx, "reduction must be none, sum or mean, got '%s'",
                              ot_attr_string(ctx->node, "reduction", ""));
    ot_status_t *st = loss_check(ctx, loss_is_sce(ctx->node) ? "scores" : "input", x, t, w);
    if (st) return st;
    ot_tensor_t *y = ctx->outputs[0];
    if (y) {
        y->dtype = x->dtype;
        if (red != LOSS_NONE) {
            y->shape = ot_shape_make(0, NULL);
        } else if (t->shape.rank >= 0) {
            y->shape = t->shape;
        } else if (x->shape.rank >= 0) { /* (N, d1..dk) from x */
            y->shape = ot_shape_make(x->shape.rank - 1, NULL);
            for (int i = 0; i < x->shape.rank - 1; i++) y->shape.dims[i] = x->shape.dims[i == 0 ? 0 : i + 1];
        } else {
            y->shape = ot_shape_unknown();
        }
    }
    if (ctx->n_outputs > 1 && ctx->outputs[1]) { /* SCE's log_prob */
        ctx->outputs[1]->dtype = x->dtype;
        ctx->outputs[1]->shape = x->shape;
    }
    return NULL;
}

/* Shared by the forward and backward kernels. */
typedef struct loss_state {
    int64_t n, c, d;        /* x viewed as (N, C, D), D = d1 * .. * dk */
    loss_reduction_t red;
    bool has_ii;
    int64_t ii;             /* ignore_index */
    void *log_prob;         /* SCE without a log_prob output: (N, C, D) scratch */
} loss_state_t;

static void loss_release(ot_kernel_t *k) {
    loss_state_t *s = k->state;
    if (!s) return;
    free(s->log_prob);
    free(s);
    k->state = NULL;
}

/* x is input `xi` (shape (N, C, d..)). */
static ot_status_t *loss_setup_common(ot_kernel_t *k, int xi) {
    loss_state_t *s = calloc(1, sizeof *s);
    if (!s) return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes)", sizeof *s);
    k->state = s;
    const ot_shape_t *xs = &k->inputs[xi]->shape;
    bool red_ok = loss_reduction(k->node, &s->red);
    OT_ASSERT(red_ok && "reduction checked in infer");
    s->has_ii = ot_node_attr(k->node, "ignore_index") != NULL;
    s->ii = ot_attr_int(k->node, "ignore_index", 0);
    s->n = xs->dims[0];
    s->c = xs->dims[1];
    s->d = 1;
    for (int i = 2; i < xs->rank; i++) s->d *= xs->dims[i];
    if (ot_shape_numel(&k->inputs[xi + 1]->shape) != s->n * s->d)
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_MODEL, "target has %lld elements for (N, d1..dk) of %lld",
                             (long long)ot_shape_numel(&k->inputs[xi + 1]->shape), (long long)(s->n * s->d));
    return NULL;
}

static ot_status_t *loss_setup(ot_kernel_t *k) {
    ot_status_t *st = loss_setup_common(k, 0);
    if (st) return st;
    loss_state_t *s = k->state;
    bool sce = loss_is_sce(k->node);
    if (sce && (k->n_outputs < 2 || !k->outputs[1])) {
        size_t bytes = (size_t)(s->n * s->c * s->d) * ot_dtype_size(k->inputs[0]->dtype);
        if (!(s->log_prob = malloc(bytes ? bytes : 1)))
            return OT_NODE_ERROR(k->node, OT_ERR_NO_MEMORY, "out of memory (%zu bytes of log_prob)", bytes);
    }
    return NULL;
}

/* The class of position i (n, d), or -1 if ignored; -2 if out of range. */
static inline int64_t loss_class(const loss_state_t *s, const void *target, bool t64, int64_t i) {
    int64_t t = t64 ? ((const int64_t *)target)[i] : ((const int32_t *)target)[i];
    if (s->has_ii && t == s->ii) return -1;
    return t >= 0 && t < s->c ? t : -2;
}

static ot_status_t *loss_bad_target(ot_kernel_t *k, const loss_state_t *s, const void *target, bool t64, int64_t i) {
    int64_t t = t64 ? ((const int64_t *)target)[i] : ((const int32_t *)target)[i];
    return OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "target %lld at position %lld is outside [0, %lld)%s",
                         (long long)t, (long long)i, (long long)s->c, s->has_ii ? " and not ignore_index" : "");
}

/* log_prob = log-softmax over C of x (N, C, D), one (n, d) line at a time. */
#define LOG_SOFTMAX_C(T)                                                                          \
    static void log_softmax_c_##T(const loss_state_t *s, const T *x, T *lp) {                     \
        int64_t c_ = s->c, d_ = s->d, lines = s->n * s->d;                                        \
        _Pragma("omp parallel for if (lines * c_ > 65536)") for (int64_t l = 0; l < lines; l++) { \
            const T *xl = x + (l / d_) * c_ * d_ + l % d_;                                        \
            T *ll = lp + (l / d_) * c_ * d_ + l % d_;                                             \
            double mx = -INFINITY, sum = 0;                                                       \
            for (int64_t j = 0; j < c_; j++) mx = fmax(mx, (double)xl[j * d_]);                   \
            for (int64_t j = 0; j < c_; j++) sum += exp((double)xl[j * d_] - mx);                 \
            double lse = mx + log(sum);                                                           \
            for (int64_t j = 0; j < c_; j++) ll[j * d_] = (T)((double)xl[j * d_] - lse);          \
        }                                                                                         \
    }
LOG_SOFTMAX_C(float)
LOG_SOFTMAX_C(double)

/* y = NLL of x (N, C, D) (y NULL: only the targets are checked); returns
 * the first bad position or -1. */
#define NLL_FORWARD(T)                                                                                   \
    static int64_t nll_forward_##T(const loss_state_t *s, const T *x, const void *target, bool t64,     \
                                   const T *w, T *y) {                                                   \
        int64_t c_ = s->c, d_ = s->d, m = s->n * s->d;                                                   \
        double sum = 0, wsum = 0;                                                                        \
        for (int64_t i = 0; i < m; i++) {                                                                \
            int64_t t = loss_class(s, target, t64, i);                                                   \
            if (t == -2) return i;                                                                       \
            double wi = t < 0 ? 0.0 : w ? (double)w[t] : 1.0;                                            \
            double li = t < 0 ? 0.0 : -wi * (double)x[(i / d_) * c_ * d_ + t * d_ + i % d_];             \
            if (s->red == LOSS_NONE && y) y[i] = (T)li;                                                  \
            sum += li;                                                                                   \
            wsum += wi;                                                                                  \
        }                                                                                                \
        if (s->red == LOSS_SUM && y) y[0] = (T)sum;                                                      \
        if (s->red == LOSS_MEAN && y) y[0] = (T)(sum / wsum);                                            \
        return -1;                                                                                       \
    }
NLL_FORWARD(float)
NLL_FORWARD(double)

static ot_status_t *loss_run(ot_kernel_t *k) {
    loss_state_t *s = k->state;
    const ot_tensor_t *x = k->inputs[0], *t = k->inputs[1];
    const ot_tensor_t *w = k->n_inputs > 2 ? k->inputs[2] : NULL;
    bool t64 = t->dtype == OT_DTYPE_INT64, sce = loss_is_sce(k->node);
    if (w && ot_shape_numel(&w->shape) != s->c)
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "weight has %lld elements for C = %lld",
                             (long long)ot_shape_numel(&w->shape), (long long)s->c);
    const void *src = x->data;
    if (sce) {
        void *lp = s->log_prob ? s->log_prob : k->outputs[1]->data;
        if (x->dtype == OT_DTYPE_FLOAT) log_softmax_c_float(s, x->data, lp);
        else log_softmax_c_double(s, x->data, lp);
        src = lp;
    }
    void *y = k->outputs[0] ? k->outputs[0]->data : NULL; /* NULL: loss not requested */
    int64_t bad = x->dtype == OT_DTYPE_FLOAT ? nll_forward_float(s, src, t->data, t64, w ? w->data : NULL, y)
                                             : nll_forward_double(s, src, t->data, t64, w ? w->data : NULL, y);
    return bad >= 0 ? loss_bad_target(k, s, t->data, t64, bad) : NULL;
}

/* ---- gradients ------------------------------------------------------------ */

/* reduction and ignore_index of the forward node, for the backward node. */
static int loss_copy_attrs(const ot_node_info_t *node, ot_attr_t *out) {
    int n = 0;
    const ot_attr_t *a;
    if ((a = ot_node_attr(node, "reduction"))) out[n++] = *a;
    if ((a = ot_node_attr(node, "ignore_index"))) out[n++] = *a;
    return n;
}

static ot_status_t *loss_no_weight_grad(ot_grad_ctx_t *ctx) {
    if (ctx->n_inputs > 2 && ctx->needs[2])
        return OT_NODE_ERROR(ctx->node, OT_ERR_UNSUPPORTED, "no gradient with respect to the class weights");
    return NULL;
}

static ot_status_t *sce_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = loss_no_weight_grad(ctx);
    if (st || !ctx->needs[0]) return st;
    ot_attr_t attrs[2];
    int n_attrs = loss_copy_attrs(ctx->node, attrs);
    bool has_w = ctx->n_inputs > 2 && ctx->inputs[2] >= 0;
    int log_prob = ctx->n_outputs > 1 ? ctx->outputs[1] : -1;
    if (log_prob < 0) { /* recompute it: the forward node does not output it */
        int outs[2];
        st = ot_grad_emit(ctx, "", "SoftmaxCrossEntropyLoss", has_w ? 3 : 2, ctx->inputs, 2, outs, n_attrs, attrs);
        if (st) return st;
        log_prob = outs[1];
    }
    int dx = -1, dlp = -1;
    if (ctx->doutputs[0] >= 0) {
        int in[4] = {ctx->doutputs[0], log_prob, ctx->inputs[1], has_w ? ctx->inputs[2] : -1};
        st = ot_grad_emit(ctx, "com.microsoft", "SoftmaxCrossEntropyLossGrad", has_w ? 4 : 3, in, 1, &dx, n_attrs,
                          attrs);
    }
    if (!st && ctx->n_outputs > 1 && ctx->doutputs[1] >= 0) {
        ot_attr_t axis = {.name = "axis", .type = OT_ATTR_INT, .i = 1};
        int in[2] = {ctx->doutputs[1], log_prob};
        st = ot_grad_emit(ctx, "com.microsoft", "LogSoftmaxGrad_13", 2, in, 1, &dlp, 1, &axis);
    }
    if (st) return st;
    if (dx >= 0 && dlp >= 0) return ot_grad_op2(ctx, "", "Add", dx, dlp, &ctx->dinputs[0]);
    ctx->dinputs[0] = dx >= 0 ? dx : dlp;
    return NULL;
}

static ot_status_t *nll_gradient(ot_grad_ctx_t *ctx) {
    ot_status_t *st = loss_no_weight_grad(ctx);
    if (st || !ctx->needs[0]) return st;
    ot_attr_t attrs[2];
    int n_attrs = loss_copy_attrs(ctx->node, attrs);
    bool has_w = ctx->n_inputs > 2 && ctx->inputs[2] >= 0;
    int in[4] = {ctx->doutputs[0], ctx->inputs[0], ctx->inputs[1], has_w ? ctx->inputs[2] : -1};
    return ot_grad_emit(ctx, OT_DOMAIN, "NegativeLogLikelihoodLossGrad", has_w ? 4 : 3, in, 1, &ctx->dinputs[0],
                        n_attrs, attrs);
}

/* (dY, x, target, weight?) -> dx shaped like x. */
static ot_status_t *loss_grad_infer(ot_infer_ctx_t *ctx) {
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1], *t = ctx->inputs[2];
    const ot_tensor_t *w = ctx->n_inputs > 3 ? ctx->inputs[3] : NULL;
    loss_reduction_t red;
    if (!loss_reduction(ctx->node, &red))
        return OT_INFER_ERROR(ctx, "reduction must be none, sum or mean, got '%s'",
                              ot_attr_string(ctx->node, "reduction", ""));
    ot_status_t *st = loss_check(ctx, loss_is_sce(ctx->node) ? "log_prob" : "input", x, t, w);
    if (st) return st;
    if (dy->dtype != x->dtype)
        return OT_INFER_ERROR(ctx, "dY (%s) must have the dtype of %s", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype));
    if (red != LOSS_NONE && dy->shape.rank > 0 && ot_shape_numel(&dy->shape) != 1) {
        char a[128];
        return OT_INFER_ERROR(ctx, "dY %s must be a scalar for reduction %s", ot_shape_str(&dy->shape, a, sizeof a),
                              red == LOSS_SUM ? "sum" : "mean");
    }
    ctx->outputs[0]->dtype = x->dtype;
    ctx->outputs[0]->shape = x->shape;
    return NULL;
}

static ot_status_t *loss_grad_setup(ot_kernel_t *k) {
    ot_status_t *st = loss_setup_common(k, 1);
    if (st) return st;
    loss_state_t *s = k->state;
    int64_t want = s->red == LOSS_NONE ? s->n * s->d : 1;
    if (ot_shape_numel(&k->inputs[0]->shape) != want)
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_MODEL, "dY has %lld elements, expected %lld",
                             (long long)ot_shape_numel(&k->inputs[0]->shape), (long long)want);
    return NULL;
}

/* dx (N, C, D) from x = log_prob (SCE) or the NLL input (read only for
 * SCE). Pass 1 checks the targets and sums the weights; pass 2 writes
 * every line. Returns the first bad position or -1. */
#define LOSS_GRAD(T)                                                                                     \
    static int64_t loss_grad_##T(const loss_state_t *s, bool sce, const T *dy, const T *x,               \
                                 const void *target, bool t64, const T *w, T *dx) {                      \
        int64_t c_ = s->c, d_ = s->d, m = s->n * s->d;                                                   \
        double wsum = 0;                                                                                 \
        for (int64_t i = 0; i < m; i++) {                                                                \
            int64_t t = loss_class(s, target, t64, i);                                                   \
            if (t == -2) return i;                                                                       \
            if (t >= 0) wsum += w ? (double)w[t] : 1.0;                                                  \
        }                                                                                                \
        double scale = s->red == LOSS_NONE ? 1.0 : s->red == LOSS_SUM ? (double)dy[0] : dy[0] / wsum;   \
        _Pragma("omp parallel for if (m * c_ > 65536)") for (int64_t i = 0; i < m; i++) {                \
            int64_t t = loss_class(s, target, t64, i);                                                   \
            int64_t base = (i / d_) * c_ * d_ + i % d_;                                                  \
            double coef = t < 0 ? 0.0                                                                    \
                                : (w ? (double)w[t] : 1.0) * (s->red == LOSS_NONE ? (double)dy[i] : scale); \
            for (int64_t j = 0; j < c_; j++) {                                                           \
                double g = sce && t >= 0 ? exp((double)x[base + j * d_]) : 0.0;                          \
                if (j == t) g -= 1.0;                                                                    \
                dx[base + j * d_] = (T)(coef * g);                                                       \
            }                                                                                            \
        }                                                                                                \
        return -1;                                                                                       \
    }
LOSS_GRAD(float)
LOSS_GRAD(double)

static ot_status_t *loss_grad_run(ot_kernel_t *k) {
    loss_state_t *s = k->state;
    const ot_tensor_t *dy = k->inputs[0], *x = k->inputs[1], *t = k->inputs[2];
    const ot_tensor_t *w = k->n_inputs > 3 ? k->inputs[3] : NULL;
    bool t64 = t->dtype == OT_DTYPE_INT64, sce = loss_is_sce(k->node);
    if (w && ot_shape_numel(&w->shape) != s->c)
        return OT_NODE_ERROR(k->node, OT_ERR_INVALID_ARGUMENT, "weight has %lld elements for C = %lld",
                             (long long)ot_shape_numel(&w->shape), (long long)s->c);
    int64_t bad = x->dtype == OT_DTYPE_FLOAT
                      ? loss_grad_float(s, sce, dy->data, x->data, t->data, t64, w ? w->data : NULL, k->outputs[0]->data)
                      : loss_grad_double(s, sce, dy->data, x->data, t->data, t64, w ? w->data : NULL,
                                         k->outputs[0]->data);
    return bad >= 0 ? loss_bad_target(k, s, t->data, t64, bad) : NULL;
}

#define LOSS_RECORD(OP, VER, MAX_OUT, GRAD, DOC)                                                    \
    const ot_op_def_t ot_op_##OP##_##VER = {                                                        \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = "",                                                                               \
        .op_type = #OP,                                                                             \
        .since_version = VER,                                                                       \
        .min_inputs = 2, .max_inputs = 3,                                                           \
        .min_outputs = 1, .max_outputs = MAX_OUT,                                                   \
        .attrs = loss_attrs,                                                                        \
        .infer = loss_infer,                                                                        \
        .setup = loss_setup,                                                                        \
        .run = loss_run,                                                                            \
        .release = loss_release,                                                                    \
        .gradient = GRAD,                                                                           \
        .doc = DOC,                                                                                 \
    };

#define NLL_DOC "loss = -weight[t] * input[n, t, d..], reduced none / sum / mean (over the weights)"
#define SCE_DOC "NLL of log_prob = LogSoftmax(scores, axis 1); log_prob is output 1"
LOSS_RECORD(NegativeLogLikelihoodLoss, 12, 1, nll_gradient, NLL_DOC)
LOSS_RECORD(NegativeLogLikelihoodLoss, 13, 1, nll_gradient, NLL_DOC)
LOSS_RECORD(SoftmaxCrossEntropyLoss, 12, 2, sce_gradient, SCE_DOC)
LOSS_RECORD(SoftmaxCrossEntropyLoss, 13, 2, sce_gradient, SCE_DOC)

#define LOSS_GRAD_RECORD(SYM, DOMAIN, OP, DOC)                                                      \
    const ot_op_def_t SYM = {                                                                       \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                       \
        .domain = DOMAIN,                                                                           \
        .op_type = OP,                                                                              \
        .since_version = 1,                                                                         \
        .min_inputs = 3, .max_inputs = 4,                                                           \
        .min_outputs = 1, .max_outputs = 1,                                                         \
        .attrs = loss_attrs,                                                                        \
        .infer = loss_grad_infer,                                                                   \
        .setup = loss_grad_setup,                                                                   \
        .run = loss_grad_run,                                                                       \
        .release = loss_release,                                                                    \
        .doc = DOC,                                                                                 \
    };

LOSS_GRAD_RECORD(ot_op_ms_SoftmaxCrossEntropyLossGrad_1, "com.microsoft", "SoftmaxCrossEntropyLossGrad",
                 "d_logits = coef * (exp(log_prob) - onehot(label)), coef = weight[label] * dY (/ wsum for mean)")
LOSS_GRAD_RECORD(ot_op_ot_NegativeLogLikelihoodLossGrad_1, OT_DOMAIN, "NegativeLogLikelihoodLossGrad",
                 "dInput = -coef * onehot(target), coef = weight[target] * dY (/ wsum for mean)")
