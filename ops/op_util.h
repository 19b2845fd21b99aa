/* ops/op_util.h: helpers shared by built-in ops (not part of the plugin ABI).
 * Errors name the node: "node 'conv1' (Conv): ...". */
#ifndef ONNXTRAIN_OP_UTIL_H
#define ONNXTRAIN_OP_UTIL_H

#include "onnxtrain/plugin.h"

#include <string.h>

/* Status naming the node: "node 'conv1' (Conv): <message>". */
ot_status_t *ot_node_error(const ot_node_info_t *node, ot_code_t code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define OT_NODE_ERROR(node, code, ...) ot_node_error((node), (code), __VA_ARGS__)
#define OT_INFER_ERROR(ctx, ...) ot_node_error((ctx)->node, OT_ERR_INVALID_MODEL, __VA_ARGS__)
#define OT_KERNEL_ERROR(k, ...) ot_node_error((k)->node, OT_ERR_RUNTIME, __VA_ARGS__)

/* Always-on internal invariant check: aborts with the message. Only for
 * conditions that cannot follow from input (those return a status). */
#define OT_ASSERT(cond)                                                                      \
    ((cond) ? (void)0 : ot_assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void ot_assert_fail(const char *what, const char *file, int line);

/* The scalar shape, and shape construction. */
static inline ot_shape_t ot_shape_make(int rank, const int64_t *dims) {
    ot_shape_t s;
    s.rank = rank;
    for (int i = 0; i < OT_MAX_RANK; i++) s.dims[i] = (dims && i < rank) ? dims[i] : 0;
    return s;
}
static inline ot_shape_t ot_shape_unknown(void) {
    ot_shape_t s;
    memset(&s, 0, sizeof s);
    s.rank = -1;
    return s;
}

/* Sets out to the multidirectional (numpy) broadcast of a and b. Unknown
 * dims stay unknown unless the other side fixes them. Returns false if the
 * known dims are incompatible. Unknown rank gives unknown rank. */
bool ot_broadcast_shape(const ot_shape_t *a, const ot_shape_t *b, ot_shape_t *out);

/* Row-major strides, in elements. */
void ot_shape_strides(const ot_shape_t *s, int64_t *strides);

/* Strides of `in` viewed in the broadcast shape `out` (rank out->rank,
 * 0 on broadcast axes): element at out index i reads in[sum i_d * bstr_d]. */
void ot_broadcast_strides(const ot_shape_t *in, const ot_shape_t *out, int64_t *bstrides);

/* Normalizes a possibly negative axis against rank; false if out of range. */
bool ot_norm_axis(int64_t axis, int rank, int *out);

/* Reads a constant integer tensor (INT32 or INT64) as int64 values.
 * Returns the count, or -1 if t is NULL, has no data, or another dtype. */
int64_t ot_tensor_read_ints(const ot_tensor_t *t, int64_t *out, int64_t max);

/* Shape to text for messages: "(2, 3, ?)"; buf of at least 128 bytes. */
const char *ot_shape_str(const ot_shape_t *s, char *buf, size_t len);

#endif
