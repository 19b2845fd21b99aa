/* runtime/pb_build.h: building ONNX protobuf-c messages in an arena, for
 * the passes that write ONNX (prepare, export). Every message and array
 * lives in the arena and goes with it; strings are borrowed (they must
 * outlive the packing). Growable arrays are arena-backed too: a grown
 * array leaves its old copy behind, which is fine for graphs built once.
 * Every builder returns NULL when out of memory; callers check once, at
 * the end, with pb_failed(). */
#ifndef ONNXTRAIN_PB_BUILD_H
#define ONNXTRAIN_PB_BUILD_H

#include "runtime/onnx_io.h"

typedef struct pb {
    ot_arena_t *arena;
    bool oom; /* some allocation failed: the built messages are incomplete */
} pb_t;

/* A pointer array with room to grow. */
typedef struct pb_list {
    void **items;
    size_t n, cap;
} pb_list_t;

void *pb_alloc(pb_t *b, size_t n);
char *pb_str(pb_t *b, const char *s);
/* Appends to *list (an array of n pointers whose capacity is tracked in
 * *cap; start with cap = n to copy it into the arena on first growth). */
void pb_push(pb_t *b, void ***items, size_t *n, size_t *cap, void *item);
#define PB_PUSH(b, arr, n, cap, item) pb_push((b), (void ***)&(arr), &(n), &(cap), (item))

Onnx__NodeProto *pb_node(pb_t *b, const char *domain, const char *op_type, const char *name, int n_in,
                         const char *const *in, int n_out, const char *const *out);
void pb_attr_int(pb_t *b, Onnx__NodeProto *n, const char *name, int64_t v);
void pb_attr_float(pb_t *b, Onnx__NodeProto *n, const char *name, float v);
void pb_attr_floats(pb_t *b, Onnx__NodeProto *n, const char *name, const float *v, size_t count);
void pb_attr_ints(pb_t *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count);
void pb_attr_string(pb_t *b, Onnx__NodeProto *n, const char *name, const char *v);
void pb_attr_strings(pb_t *b, Onnx__NodeProto *n, const char *name, const char *const *v, size_t count);
void pb_attr_tensor(pb_t *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
/* A TensorProto holding a copy of t's data as raw_data. */
Onnx__TensorProto *pb_tensor(pb_t *b, const char *name, const ot_tensor_t *t);
/* A ValueInfoProto of a tensor type; shape NULL: unknown shape; dims < 0 become dim_param `sym`. */
Onnx__ValueInfoProto *pb_value_info(pb_t *b, const char *name, ot_dtype_t dtype, const ot_shape_t *shape,
                                    const char *sym);
/* Unpacks a ModelProto with every allocation in the arena, so it can be
 * edited with arena-allocated parts; it goes with the arena (never
 * free_unpacked). NULL if the bytes do not parse. */
Onnx__ModelProto *pb_unpack_model(pb_t *b, const uint8_t *bytes, size_t len);
/* The attribute `name` of node n, or NULL. */
Onnx__AttributeProto *pb_find_attr(Onnx__NodeProto *n, const char *name);

#endif
