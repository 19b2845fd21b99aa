/* ops/op_util.c: see op_util.h. */
#include "ops/op_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void ot_assert_fail(const char *what, const char *file, int line) {
    fprintf(stderr, "onnxtrain: internal error: %s (%s:%d)\n", what, file, line);
    abort();
}

ot_status_t *ot_node_error(const ot_node_info_t *node, ot_code_t code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ot_status_create(code, "node '%s' (%s%s%s): %s", node->name, node->domain ? node->domain : "",
                            node->domain && *node->domain ? "::" : "", node->op_type, msg);
}

bool ot_broadcast_shape(const ot_shape_t *a, const ot_shape_t *b, ot_shape_t *out) {
    if (a->rank < 0 || b->rank < 0) {
        *out = ot_shape_unknown();
        return true;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    ot_shape_t s = ot_shape_make(r, NULL);
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == 1) s.dims[i] = db;
        else if (db == 1) s.dims[i] = da;
        else if (da < 0) s.dims[i] = db; /* db > 1 is known: a must match it */
        else if (db < 0) s.dims[i] = da;
        else if (da == db) s.dims[i] = da;
        else return false;
    }
    *out = s;
    return true;
}

void ot_shape_strides(const ot_shape_t *s, int64_t *strides) {
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dims[i];
    }
}

void ot_broadcast_strides(const ot_shape_t *in, const ot_shape_t *out, int64_t *bstrides) {
    int64_t st[OT_MAX_RANK];
    ot_shape_strides(in, st);
    for (int i = 0; i < out->rank; i++) {
        int j = i - (out->rank - in->rank);
        bstrides[i] = (j < 0 || in->dims[j] == 1) ? 0 : st[j];
    }
}

bool ot_norm_axis(int64_t axis, int rank, int *out) {
    if (axis < -rank || axis >= rank) return false;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

int64_t ot_tensor_read_ints(const ot_tensor_t *t, int64_t *out, int64_t max) {
    if (!t || !t->data) return -1;
    int64_t n = ot_shape_numel(&t->shape);
    if (n < 0) return -1;
    if (n > max) n = max;
    if (t->dtype == OT_DTYPE_INT64) {
        for (int64_t i = 0; i < n; i++) out[i] = ((const int64_t *)t->data)[i];
    } else if (t->dtype == OT_DTYPE_INT32) {
        for (int64_t i = 0; i < n; i++) out[i] = ((const int32_t *)t->data)[i];
    } else {
        return -1;
    }
    return n;
}

const char *ot_shape_str(const ot_shape_t *s, char *buf, size_t len) {
    if (s->rank < 0) {
        snprintf(buf, len, "(unknown rank)");
        return buf;
    }
    size_t p = 0;
    p += (size_t)snprintf(buf + p, len - p, "(");
    for (int i = 0; i < s->rank && p < len; i++) {
        if (s->dims[i] < 0) p += (size_t)snprintf(buf + p, len - p, "%s?", i ? ", " : "");
        else p += (size_t)snprintf(buf + p, len - p, "%s%" PRId64, i ? ", " : "", s->dims[i]);
    }
    if (p < len) snprintf(buf + p, len - p, ")");
    return buf;
}
