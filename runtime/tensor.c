/* runtime/tensor.c: dtype table, shapes, owned tensors, attribute getters. */
#include "onnxtrain/onnxtrain.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[OT_DTYPE_COUNT] = {
    [OT_DTYPE_UNDEFINED] = {"undefined", 0}, [OT_DTYPE_FLOAT] = {"float32", 4},
    [OT_DTYPE_UINT8] = {"uint8", 1},         [OT_DTYPE_INT8] = {"int8", 1},
    [OT_DTYPE_UINT16] = {"uint16", 2},       [OT_DTYPE_INT16] = {"int16", 2},
    [OT_DTYPE_INT32] = {"int32", 4},         [OT_DTYPE_INT64] = {"int64", 8},
    [OT_DTYPE_STRING] = {"string", 0},       [OT_DTYPE_BOOL] = {"bool", 1},
    [OT_DTYPE_FLOAT16] = {"float16", 2},     [OT_DTYPE_DOUBLE] = {"float64", 8},
    [OT_DTYPE_UINT32] = {"uint32", 4},       [OT_DTYPE_UINT64] = {"uint64", 8},
    [OT_DTYPE_COMPLEX64] = {"complex64", 8}, [OT_DTYPE_COMPLEX128] = {"complex128", 16},
    [OT_DTYPE_BFLOAT16] = {"bfloat16", 2},
};

size_t ot_dtype_size(ot_dtype_t dtype) {
    return (unsigned)dtype < OT_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

const char *ot_dtype_name(ot_dtype_t dtype) {
    return (unsigned)dtype < OT_DTYPE_COUNT ? dtype_table[dtype].name : "invalid";
}

int64_t ot_shape_numel(const ot_shape_t *shape) {
    if (shape->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < shape->rank; i++) {
        if (shape->dims[i] < 0) return -1;
        n *= shape->dims[i];
    }
    return n;
}

bool ot_shape_known(const ot_shape_t *shape) { return ot_shape_numel(shape) >= 0; }

size_t ot_tensor_nbytes(const ot_tensor_t *t) {
    int64_t n = ot_shape_numel(&t->shape);
    return n < 0 ? 0 : (size_t)n * ot_dtype_size(t->dtype);
}

ot_status_t *ot_tensor_create(ot_dtype_t dtype, const ot_shape_t *shape, ot_tensor_t **out) {
    *out = NULL;
    if (ot_dtype_size(dtype) == 0)
        return ot_status_create(OT_ERR_UNSUPPORTED, "tensor dtype %s (%d) is not supported",
                                ot_dtype_name(dtype), (int)dtype);
    if (shape->rank < 0 || shape->rank > OT_MAX_RANK)
        return ot_status_create(OT_ERR_INVALID_ARGUMENT, "tensor rank %d outside [0, %d]", shape->rank, OT_MAX_RANK);
    int64_t n = 1;
    for (int i = 0; i < shape->rank; i++) {
        if (shape->dims[i] < 0)
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "tensor dim %d is %lld (must be >= 0)", i,
                                    (long long)shape->dims[i]);
        if (shape->dims[i] && n > INT64_MAX / 16 / shape->dims[i])
            return ot_status_create(OT_ERR_INVALID_ARGUMENT, "tensor size overflows");
        n *= shape->dims[i];
    }
    ot_tensor_t *t = calloc(1, sizeof *t);
    size_t nbytes = (size_t)n * ot_dtype_size(dtype);
    void *data = calloc(nbytes ? nbytes : 1, 1);
    if (!t || !data) {
        free(t);
        free(data);
        return ot_status_create(OT_ERR_NO_MEMORY, "cannot allocate a tensor of %zu bytes", nbytes);
    }
    t->dtype = dtype;
    t->shape = *shape;
    t->data = data;
    *out = t;
    return NULL;
}

void ot_tensor_destroy(ot_tensor_t *t) {
    if (!t) return;
    free(t->data);
    free(t);
}

/* ---- attribute getters --------------------------------------------------- */

const ot_attr_t *ot_node_attr(const ot_node_info_t *node, const char *name) {
    for (int i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0) return &node->attrs[i];
    return NULL;
}

int64_t ot_attr_int(const ot_node_info_t *node, const char *name, int64_t dflt) {
    const ot_attr_t *a = ot_node_attr(node, name);
    return a && a->type == OT_ATTR_INT ? a->i : dflt;
}

float ot_attr_float(const ot_node_info_t *node, const char *name, float dflt) {
    const ot_attr_t *a = ot_node_attr(node, name);
    return a && a->type == OT_ATTR_FLOAT ? a->f : dflt;
}

const char *ot_attr_string(const ot_node_info_t *node, const char *name, const char *dflt) {
    const ot_attr_t *a = ot_node_attr(node, name);
    return a && a->type == OT_ATTR_STRING ? a->s : dflt;
}

int64_t ot_attr_ints(const ot_node_info_t *node, const char *name, const int64_t **out) {
    const ot_attr_t *a = ot_node_attr(node, name);
    *out = a && a->type == OT_ATTR_INTS ? a->ints : NULL;
    return *out || (a && a->type == OT_ATTR_INTS) ? a->n : -1;
}

int64_t ot_attr_floats(const ot_node_info_t *node, const char *name, const float **out) {
    const ot_attr_t *a = ot_node_attr(node, name);
    *out = a && a->type == OT_ATTR_FLOATS ? a->floats : NULL;
    return *out || (a && a->type == OT_ATTR_FLOATS) ? a->n : -1;
}

/* ctx->impl is the arena of whoever runs inference (model or plan). */
#include "runtime/arena.h"
void *ot_infer_alloc(ot_infer_ctx_t *ctx, size_t nbytes) { return ot_arena_alloc((ot_arena_t *)ctx->impl, nbytes); }
