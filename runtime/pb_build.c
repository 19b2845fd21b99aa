/* runtime/pb_build.c: see pb_build.h. */
#include "runtime/pb_build.h"

#include <string.h>

void *pb_alloc(pb_t *b, size_t n) {
    void *p = ot_arena_alloc(b->arena, n ? n : 1);
    if (!p) b->oom = true;
    else memset(p, 0, n ? n : 1);
    return p;
}

char *pb_str(pb_t *b, const char *s) {
    char *p = ot_arena_strdup(b->arena, s ? s : "");
    if (!p) b->oom = true;
    return p;
}

void pb_push(pb_t *b, void ***items, size_t *n, size_t *cap, void *item) {
    if (!item) {
        b->oom = true;
        return;
    }
    if (*n >= *cap || !*items) {
        size_t grown = *cap < 8 ? 8 : *cap * 2;
        void **fresh = pb_alloc(b, grown * sizeof *fresh);
        if (!fresh) return;
        if (*n) memcpy(fresh, *items, *n * sizeof *fresh);
        *items = fresh;
        *cap = grown;
    }
    (*items)[(*n)++] = item;
}

Onnx__NodeProto *pb_node(pb_t *b, const char *domain, const char *op_type, const char *name, int n_in,
                         const char *const *in, int n_out, const char *const *out) {
    Onnx__NodeProto *n = pb_alloc(b, sizeof *n);
    char **ins = pb_alloc(b, sizeof *ins * (size_t)(n_in + 1)), **outs = pb_alloc(b, sizeof *outs * (size_t)(n_out + 1));
    if (!n || !ins || !outs) return NULL;
    onnx__node_proto__init(n);
    n->op_type = pb_str(b, op_type);
    n->name = pb_str(b, name);
    if (domain && *domain) n->domain = pb_str(b, domain);
    for (int i = 0; i < n_in; i++) ins[i] = pb_str(b, in[i]);
    for (int i = 0; i < n_out; i++) outs[i] = pb_str(b, out[i]);
    n->input = ins;
    n->n_input = (size_t)n_in;
    n->output = outs;
    n->n_output = (size_t)n_out;
    return n;
}

static Onnx__AttributeProto *new_attr(pb_t *b, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t) {
    if (!n) return NULL;
    Onnx__AttributeProto *a = pb_alloc(b, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = pb_str(b, name);
    a->has_type = 1;
    a->type = t;
    size_t cap = n->n_attribute;
    PB_PUSH(b, n->attribute, n->n_attribute, cap, a);
    return a;
}

void pb_attr_int(pb_t *b, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
}

void pb_attr_float(pb_t *b, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
}

void pb_attr_floats(pb_t *b, Onnx__NodeProto *n, const char *name, const float *v, size_t count) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    float *copy = pb_alloc(b, sizeof *copy * count);
    if (!a || !copy) return;
    memcpy(copy, v, sizeof *copy * count);
    a->floats = copy;
    a->n_floats = count;
}

void pb_attr_ints(pb_t *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = pb_alloc(b, sizeof *copy * count);
    if (!a || !copy) return;
    memcpy(copy, v, sizeof *copy * count);
    a->ints = copy;
    a->n_ints = count;
}

void pb_attr_string(pb_t *b, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *s = pb_str(b, v);
    if (!a || !s) return;
    a->has_s = 1;
    a->s.data = (uint8_t *)s;
    a->s.len = strlen(s);
}

void pb_attr_strings(pb_t *b, Onnx__NodeProto *n, const char *name, const char *const *v, size_t count) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    ProtobufCBinaryData *s = pb_alloc(b, sizeof *s * count);
    if (!a || !s) return;
    for (size_t i = 0; i < count; i++) {
        char *c = pb_str(b, v[i]);
        s[i].data = (uint8_t *)c;
        s[i].len = c ? strlen(c) : 0;
    }
    a->strings = s;
    a->n_strings = count;
}

void pb_attr_tensor(pb_t *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    if (a) a->t = t;
    if (!t) b->oom = true;
}

Onnx__TensorProto *pb_tensor(pb_t *b, const char *name, const ot_tensor_t *t) {
    Onnx__TensorProto *tp = pb_alloc(b, sizeof *tp);
    int64_t *dims = pb_alloc(b, sizeof *dims * OT_MAX_RANK);
    size_t nbytes = ot_tensor_nbytes(t);
    void *data = pb_alloc(b, nbytes);
    if (!tp || !dims || !data) return NULL;
    if (nbytes) memcpy(data, t->data, nbytes);
    ot_tensor_t copy = *t;
    copy.data = data;
    onnx__tensor_proto__init(tp);
    ot_tensor_to_proto(&copy, pb_str(b, name), NULL, dims, tp);
    return tp;
}

Onnx__ValueInfoProto *pb_value_info(pb_t *b, const char *name, ot_dtype_t dtype, const ot_shape_t *shape,
                                    const char *sym) {
    Onnx__ValueInfoProto *vi = pb_alloc(b, sizeof *vi);
    Onnx__TypeProto *type = pb_alloc(b, sizeof *type);
    Onnx__TypeProto__Tensor *tt = pb_alloc(b, sizeof *tt);
    if (!vi || !type || !tt) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)dtype;
    if (shape && shape->rank >= 0) {
        Onnx__TensorShapeProto *sp = pb_alloc(b, sizeof *sp);
        Onnx__TensorShapeProto__Dimension **dims = pb_alloc(b, sizeof *dims * (size_t)(shape->rank + 1));
        if (!sp || !dims) return NULL;
        onnx__tensor_shape_proto__init(sp);
        for (int d = 0; d < shape->rank; d++) {
            if (!(dims[d] = pb_alloc(b, sizeof *dims[d]))) return NULL;
            onnx__tensor_shape_proto__dimension__init(dims[d]);
            if (shape->dims[d] >= 0) {
                dims[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dims[d]->dim_value = shape->dims[d];
            } else {
                dims[d]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dims[d]->dim_param = pb_str(b, sym ? sym : "N");
            }
        }
        sp->dim = dims;
        sp->n_dim = (size_t)shape->rank;
        tt->shape = sp;
    }
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    vi->name = pb_str(b, name);
    vi->type = type;
    return vi;
}

Onnx__AttributeProto *pb_find_attr(Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}

static void *arena_pb_alloc(void *a, size_t n) { return ot_arena_alloc(a, n ? n : 1); }
static void arena_pb_free(void *a, void *p) {
    (void)a;
    (void)p;
}

Onnx__ModelProto *pb_unpack_model(pb_t *b, const uint8_t *bytes, size_t len) {
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, b->arena};
    return onnx__model_proto__unpack(&alloc, len, bytes);
}
