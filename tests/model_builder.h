// tests/model_builder.h: builds ONNX ModelProto bytes in a test with the
// generated protobuf-c structs (no Python, no fixtures), and small helpers
// to load them and to compare two IRs. Used by test_loader.cc and
// test_malformed.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "onnx.pb-c.h"
#include "onnxtrain/onnxtrain.h"
#include "runtime/ir.h"

namespace ot_test {

// One dimension of a declared shape: a value, a dim_param, or unknown.
struct Dim {
    int64_t value = -1;
    std::string param;
    bool known = false;
    Dim() = default;
    Dim(int64_t v) : value(v), known(true) {}
    Dim(const char *p) : param(p) {}
};

template <typename T> std::string bytes_of(const std::vector<T> &v) {
    return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

// Owns every protobuf-c struct and string it hands out; bytes() packs.
class PbModel {
  public:
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    std::vector<Onnx__OperatorSetIdProto *> opsets;
    std::vector<Onnx__NodeProto *> nodes;
    std::vector<Onnx__ValueInfoProto *> inputs, outputs, value_infos;
    std::vector<Onnx__TensorProto *> inits;
    std::vector<Onnx__SparseTensorProto *> sparse_inits;
    std::vector<Onnx__StringStringEntryProto *> metadata;
    std::vector<Onnx__TrainingInfoProto *> training;
    std::vector<Onnx__FunctionProto *> functions;

    explicit PbModel(int64_t ir_version = 8, int64_t opset = 13) {
        onnx__model_proto__init(&m);
        onnx__graph_proto__init(&g);
        m.has_ir_version = 1;
        m.ir_version = ir_version;
        m.graph = &g;
        g.name = str("g");
        if (opset > 0) add_opset("", opset);
    }
    PbModel(const PbModel &) = delete;
    PbModel &operator=(const PbModel &) = delete;

    template <typename T> T *alloc(size_t n = 1) {
        blocks_.emplace_back(new char[sizeof(T) * (n ? n : 1)]());
        return reinterpret_cast<T *>(blocks_.back().get());
    }
    template <typename T> T *make(void (*init)(T *)) {
        T *p = alloc<T>();
        init(p);
        return p;
    }
    char *str(const std::string &s) {
        char *p = alloc<char>(s.size() + 1);
        std::memcpy(p, s.data(), s.size());
        return p;
    }
    char **strs(const std::vector<std::string> &v) {
        char **p = alloc<char *>(v.size());
        for (size_t i = 0; i < v.size(); i++) p[i] = str(v[i]);
        return p;
    }
    ProtobufCBinaryData bin(const std::string &s) {
        ProtobufCBinaryData b;
        b.len = s.size();
        b.data = reinterpret_cast<uint8_t *>(str(s));
        return b;
    }

    Onnx__OperatorSetIdProto *add_opset(const std::string &domain, int64_t version) {
        auto *o = make(onnx__operator_set_id_proto__init);
        o->domain = str(domain);
        o->has_version = 1;
        o->version = version;
        opsets.push_back(o);
        return o;
    }

    // A tensor with no data yet; fill one field after.
    Onnx__TensorProto *tensor(const std::string &name, int dtype, const std::vector<int64_t> &dims) {
        auto *t = make(onnx__tensor_proto__init);
        if (!name.empty()) t->name = str(name);
        t->has_data_type = 1;
        t->data_type = dtype;
        t->n_dims = dims.size();
        t->dims = alloc<int64_t>(dims.size());
        for (size_t i = 0; i < dims.size(); i++) t->dims[i] = dims[i];
        return t;
    }
    Onnx__TensorProto *raw_tensor(const std::string &name, int dtype, const std::vector<int64_t> &dims,
                                  const std::string &raw) {
        auto *t = tensor(name, dtype, dims);
        t->has_raw_data = 1;
        t->raw_data = bin(raw);
        return t;
    }
    template <typename T> T *copy(const std::vector<T> &v) {
        T *p = alloc<T>(v.size());
        for (size_t i = 0; i < v.size(); i++) p[i] = v[i];
        return p;
    }
    void external(Onnx__TensorProto *t, const std::vector<std::pair<std::string, std::string>> &kv) {
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        t->n_external_data = kv.size();
        t->external_data = alloc<Onnx__StringStringEntryProto *>(kv.size());
        for (size_t i = 0; i < kv.size(); i++) t->external_data[i] = entry(kv[i].first, kv[i].second);
    }
    Onnx__StringStringEntryProto *entry(const std::string &k, const std::string &v) {
        auto *e = make(onnx__string_string_entry_proto__init);
        e->key = str(k);
        e->value = str(v);
        return e;
    }

    Onnx__TypeProto *tensor_type(int dtype, const std::vector<Dim> *shape) {
        auto *tp = make(onnx__type_proto__init);
        auto *tt = make(onnx__type_proto__tensor__init);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
        if (dtype) {
            tt->has_elem_type = 1;
            tt->elem_type = dtype;
        }
        if (shape) {
            auto *sp = make(onnx__tensor_shape_proto__init);
            sp->n_dim = shape->size();
            sp->dim = alloc<Onnx__TensorShapeProto__Dimension *>(shape->size());
            for (size_t i = 0; i < shape->size(); i++) {
                auto *d = make(onnx__tensor_shape_proto__dimension__init);
                const Dim &s = (*shape)[i];
                if (s.known) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                    d->dim_value = s.value;
                } else if (!s.param.empty()) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                    d->dim_param = str(s.param);
                }
                sp->dim[i] = d;
            }
            tt->shape = sp;
        }
        return tp;
    }
    Onnx__ValueInfoProto *vi(const std::string &name, int dtype, const std::vector<Dim> &shape) {
        auto *v = make(onnx__value_info_proto__init);
        v->name = str(name);
        v->type = tensor_type(dtype, &shape);
        return v;
    }
    Onnx__ValueInfoProto *input(const std::string &name, int dtype, const std::vector<Dim> &shape) {
        inputs.push_back(vi(name, dtype, shape));
        return inputs.back();
    }
    Onnx__ValueInfoProto *output(const std::string &name, int dtype, const std::vector<Dim> &shape) {
        outputs.push_back(vi(name, dtype, shape));
        return outputs.back();
    }
    // An output declared without type or shape (left to inference).
    Onnx__ValueInfoProto *output_any(const std::string &name) {
        auto *v = make(onnx__value_info_proto__init);
        v->name = str(name);
        v->type = tensor_type(0, nullptr);
        outputs.push_back(v);
        return v;
    }
    Onnx__TensorProto *init(Onnx__TensorProto *t) {
        inits.push_back(t);
        return t;
    }

    Onnx__NodeProto *node(const std::string &op, const std::vector<std::string> &in,
                          const std::vector<std::string> &out, const std::string &name = "") {
        auto *n = make(onnx__node_proto__init);
        n->op_type = str(op);
        if (!name.empty()) n->name = str(name);
        n->n_input = in.size();
        n->input = strs(in);
        n->n_output = out.size();
        n->output = strs(out);
        nodes.push_back(n);
        return n;
    }
    Onnx__AttributeProto *attr(Onnx__NodeProto *n, const std::string &name, int type) {
        auto *a = make(onnx__attribute_proto__init);
        a->name = str(name);
        a->has_type = 1;
        a->type = (Onnx__AttributeProto__AttributeType)type;
        auto **arr = alloc<Onnx__AttributeProto *>(n->n_attribute + 1);
        for (size_t i = 0; i < n->n_attribute; i++) arr[i] = n->attribute[i];
        arr[n->n_attribute++] = a;
        n->attribute = arr;
        return a;
    }

    void attr_int(Onnx__NodeProto *n, const std::string &name, int64_t v) {
        auto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
        a->has_i = 1;
        a->i = v;
    }
    void attr_float(Onnx__NodeProto *n, const std::string &name, float v) {
        auto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
        a->has_f = 1;
        a->f = v;
    }
    void attr_ints(Onnx__NodeProto *n, const std::string &name, const std::vector<int64_t> &v) {
        auto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
        a->n_ints = v.size();
        a->ints = copy(v);
    }

    // Wires the vectors into the structs (call before packing).
    void finish() {
        m.n_opset_import = opsets.size();
        m.opset_import = opsets.data();
        m.n_metadata_props = metadata.size();
        m.metadata_props = metadata.data();
        m.n_training_info = training.size();
        m.training_info = training.data();
        m.n_functions = functions.size();
        m.functions = functions.data();
        g.n_node = nodes.size();
        g.node = nodes.data();
        g.n_input = inputs.size();
        g.input = inputs.data();
        g.n_output = outputs.size();
        g.output = outputs.data();
        g.n_value_info = value_infos.size();
        g.value_info = value_infos.data();
        g.n_initializer = inits.size();
        g.initializer = inits.data();
        g.n_sparse_initializer = sparse_inits.size();
        g.sparse_initializer = sparse_inits.data();
    }
    std::string bytes() {
        finish();
        std::string out(onnx__model_proto__get_packed_size(&m), '\0');
        onnx__model_proto__pack(&m, reinterpret_cast<uint8_t *>(&out[0]));
        return out;
    }

  private:
    std::vector<std::unique_ptr<char[]>> blocks_;
};

// The process-wide registry for loader tests (built-in ops only).
inline const ot_registry_t *test_registry() {
    struct Holder {
        ot_registry_t *reg = nullptr;
        Holder() {
            ot_status_t *st = ot_registry_create(&reg);
            if (st) {
                ADD_FAILURE() << ot_status_message(st);
                ot_status_free(st);
            }
        }
        ~Holder() { ot_registry_destroy(reg); }
    };
    static Holder h;
    return h.reg;
}

// A load result that cleans up after itself.
struct Loaded {
    ot_model_t *m = nullptr;
    ot_status_t *st = nullptr;
    Loaded() = default;
    Loaded(const Loaded &) = delete;
    Loaded(Loaded &&o) noexcept : m(o.m), st(o.st) { o.m = nullptr, o.st = nullptr; }
    ~Loaded() {
        ot_model_destroy(m);
        ot_status_free(st);
    }
    ot_code_t code() const { return ot_status_code(st); }
    std::string msg() const { return ot_status_message(st); }
};

inline Loaded load_bytes(const std::string &b, const char *base_dir = nullptr, bool allow_unknown = true) {
    Loaded r;
    ot_load_options_t opts{allow_unknown};
    r.st = ot_model_load_bytes(b.data(), b.size(), base_dir, test_registry(), &opts, &r.m);
    return r;
}

inline Loaded load_path(const std::string &path, bool allow_unknown = true) {
    Loaded r;
    ot_load_options_t opts{allow_unknown};
    r.st = ot_model_load(path.c_str(), test_registry(), &opts, &r.m);
    return r;
}

// A fresh folder under /tmp, removed with the object.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ot_loader_XXXXXX";
        const char *p = mkdtemp(tmpl);
        EXPECT_NE(p, nullptr);
        path = p ? p : "/tmp";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string &name) const { return path + "/" + name; }
    void write(const std::string &name, const std::string &content) const {
        std::ofstream f(file(name), std::ios::binary);
        f << content;
    }
};

#define EXPECT_STATUS(loaded, code_, substr)                                                                           \
    do {                                                                                                               \
        EXPECT_EQ(ot_code_name((loaded).code()), std::string(ot_code_name(code_))) << (loaded).msg();                  \
        EXPECT_NE((loaded).msg().find(substr), std::string::npos)                                                      \
            << "message: " << (loaded).msg() << "\nexpected to contain: " << (substr);                                 \
    } while (0)

// ---- IR comparison ---------------------------------------------------------

inline std::string cstr(const char *s) { return s ? std::string(s) : std::string("<null>"); }

inline void expect_tensor_eq(const ot_tensor_t &a, const ot_tensor_t &b, const std::string &what) {
    EXPECT_EQ(a.dtype, b.dtype) << what;
    ASSERT_EQ(a.shape.rank, b.shape.rank) << what;
    for (int i = 0; i < a.shape.rank; i++) EXPECT_EQ(a.shape.dims[i], b.shape.dims[i]) << what << " dim " << i;
    EXPECT_EQ(a.data == nullptr, b.data == nullptr) << what;
    if (a.data && b.data) {
        size_t n = ot_tensor_nbytes(&a);
        ASSERT_EQ(n, ot_tensor_nbytes(&b)) << what;
        EXPECT_EQ(n ? std::memcmp(a.data, b.data, n) : 0, 0) << what << ": data differs";
    }
}

inline void expect_blob_eq(const ot_blob_t &a, const ot_blob_t &b, const std::string &what) {
    ASSERT_EQ(a.len, b.len) << what;
    EXPECT_EQ(a.len ? std::memcmp(a.data, b.data, a.len) : 0, 0) << what;
}

inline void expect_attr_eq(const ot_attr_t &a, const ot_attr_t &b, const std::string &what) {
    EXPECT_STREQ(a.name, b.name) << what;
    ASSERT_EQ(a.type, b.type) << what;
    EXPECT_EQ(a.raw_len, b.raw_len) << what;
    if (a.raw && b.raw) EXPECT_EQ(std::memcmp(a.raw, b.raw, a.raw_len), 0) << what << ": raw bytes differ";
    switch (a.type) {
    case OT_ATTR_FLOAT: EXPECT_EQ(std::memcmp(&a.f, &b.f, sizeof a.f), 0) << what; break;
    case OT_ATTR_INT: EXPECT_EQ(a.i, b.i) << what; break;
    case OT_ATTR_STRING:
        ASSERT_EQ(a.s_len, b.s_len) << what;
        EXPECT_EQ(std::memcmp(a.s, b.s, a.s_len), 0) << what;
        break;
    case OT_ATTR_TENSOR: expect_tensor_eq(*a.t, *b.t, what); break;
    case OT_ATTR_FLOATS:
        ASSERT_EQ(a.n, b.n) << what;
        EXPECT_EQ(a.n ? std::memcmp(a.floats, b.floats, (size_t)a.n * sizeof(float)) : 0, 0) << what;
        break;
    case OT_ATTR_INTS:
        ASSERT_EQ(a.n, b.n) << what;
        for (int64_t k = 0; k < a.n; k++) EXPECT_EQ(a.ints[k], b.ints[k]) << what;
        break;
    case OT_ATTR_STRINGS:
        ASSERT_EQ(a.n, b.n) << what;
        for (int64_t k = 0; k < a.n; k++) EXPECT_STREQ(a.strings[k], b.strings[k]) << what;
        break;
    case OT_ATTR_TENSORS:
        ASSERT_EQ(a.n, b.n) << what;
        for (int64_t k = 0; k < a.n; k++) expect_tensor_eq(*a.tensors[k], *b.tensors[k], what);
        break;
    default: break;
    }
}

inline void expect_value_eq(const ot_graph_t &ga, int ia, const ot_graph_t &gb, int ib, const std::string &what) {
    ASSERT_EQ(ia < 0, ib < 0) << what;
    if (ia < 0) return;
    const ot_value_t &a = ga.values[ia], &b = gb.values[ib];
    std::string w = what + " value '" + a.name + "'";
    EXPECT_STREQ(a.name, b.name) << w;
    EXPECT_EQ(a.has_type, b.has_type) << w;
    EXPECT_EQ(a.declared, b.declared) << w;
    EXPECT_EQ(a.is_initializer, b.is_initializer) << w;
    EXPECT_EQ(a.is_graph_input, b.is_graph_input) << w;
    EXPECT_EQ(a.is_graph_output, b.is_graph_output) << w;
    EXPECT_EQ(cstr(a.doc_string), cstr(b.doc_string)) << w;
    EXPECT_EQ(cstr(a.tensor_doc_string), cstr(b.tensor_doc_string)) << w;
    expect_tensor_eq(a.type, b.type, w);
    for (int d = 0; d < a.type.shape.rank && d < OT_MAX_RANK; d++)
        EXPECT_EQ(cstr(a.dim_params[d]), cstr(b.dim_params[d])) << w << " dim_param " << d;
}

// Everything the loader reads must survive save + load.
inline void expect_ir_equal(const ot_model_t *a, const ot_model_t *b) {
    EXPECT_EQ(a->ir_version, b->ir_version);
    ASSERT_EQ(a->n_opsets, b->n_opsets);
    for (int i = 0; i < a->n_opsets; i++) {
        EXPECT_STREQ(a->opsets[i].domain, b->opsets[i].domain);
        EXPECT_EQ(a->opsets[i].version, b->opsets[i].version);
    }
    EXPECT_EQ(cstr(a->producer_name), cstr(b->producer_name));
    EXPECT_EQ(cstr(a->producer_version), cstr(b->producer_version));
    EXPECT_EQ(cstr(a->domain), cstr(b->domain));
    EXPECT_EQ(cstr(a->doc_string), cstr(b->doc_string));
    EXPECT_EQ(a->model_version, b->model_version);
    ASSERT_EQ(a->n_metadata, b->n_metadata);
    for (int i = 0; i < a->n_metadata; i++) {
        EXPECT_STREQ(a->metadata[i].key, b->metadata[i].key);
        EXPECT_STREQ(a->metadata[i].value, b->metadata[i].value);
    }
    ASSERT_EQ(a->n_training_info, b->n_training_info);
    for (int i = 0; i < a->n_training_info; i++)
        expect_blob_eq(a->training_info[i], b->training_info[i], "training_info");
    ASSERT_EQ(a->n_functions, b->n_functions);
    for (int i = 0; i < a->n_functions; i++) expect_blob_eq(a->functions[i], b->functions[i], "function");

    const ot_graph_t &ga = a->graph, &gb = b->graph;
    EXPECT_EQ(cstr(ga.name), cstr(gb.name));
    EXPECT_EQ(cstr(ga.doc_string), cstr(gb.doc_string));
    ASSERT_EQ(ga.n_quant_annotations, gb.n_quant_annotations);
    for (int i = 0; i < ga.n_quant_annotations; i++)
        expect_blob_eq(ga.quant_annotations[i], gb.quant_annotations[i], "quantization_annotation");
    ASSERT_EQ(ga.n_values, gb.n_values);
    for (int i = 0; i < ga.n_values; i++) {
        int j = ot_graph_find(&gb, ga.values[i].name);
        ASSERT_GE(j, 0) << "value '" << ga.values[i].name << "' lost";
        expect_value_eq(ga, i, gb, j, "graph");
    }
    ASSERT_EQ(ga.n_inputs, gb.n_inputs);
    for (int i = 0; i < ga.n_inputs; i++) expect_value_eq(ga, ga.inputs[i], gb, gb.inputs[i], "input");
    ASSERT_EQ(ga.n_outputs, gb.n_outputs);
    for (int i = 0; i < ga.n_outputs; i++) expect_value_eq(ga, ga.outputs[i], gb, gb.outputs[i], "output");
    ASSERT_EQ(ga.n_initializers, gb.n_initializers);
    for (int i = 0; i < ga.n_initializers; i++)
        expect_value_eq(ga, ga.initializers[i], gb, gb.initializers[i], "initializer");
    ASSERT_EQ(ga.n_nodes, gb.n_nodes);
    for (int i = 0; i < ga.n_nodes; i++) {
        const ot_node_t &na = ga.nodes[i], &nb = gb.nodes[i];
        std::string w = std::string("node '") + na.info.name + "' (" + na.info.op_type + ")";
        EXPECT_STREQ(na.info.name, nb.info.name) << w;
        EXPECT_STREQ(na.info.op_type, nb.info.op_type) << w;
        EXPECT_STREQ(na.info.domain, nb.info.domain) << w;
        EXPECT_EQ(na.info.opset, nb.info.opset) << w;
        EXPECT_EQ(cstr(na.doc_string), cstr(nb.doc_string)) << w;
        ASSERT_EQ(na.n_inputs, nb.n_inputs) << w;
        for (int k = 0; k < na.n_inputs; k++) expect_value_eq(ga, na.inputs[k], gb, nb.inputs[k], w + " input");
        ASSERT_EQ(na.n_outputs, nb.n_outputs) << w;
        for (int k = 0; k < na.n_outputs; k++) expect_value_eq(ga, na.outputs[k], gb, nb.outputs[k], w + " output");
        ASSERT_EQ(na.info.n_attrs, nb.info.n_attrs) << w;
        for (int k = 0; k < na.info.n_attrs; k++) expect_attr_eq(na.info.attrs[k], nb.info.attrs[k], w);
    }
}

// IR -> bytes -> IR; the two must be equal.
inline void expect_round_trip(const ot_model_t *m) {
    uint8_t *buf = nullptr;
    size_t len = 0;
    ot_status_t *st = ot_model_to_bytes(m, &buf, &len);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Loaded again = load_bytes(std::string(reinterpret_cast<char *>(buf), len), m->dir);
    std::free(buf);
    ASSERT_EQ(again.st, nullptr) << again.msg();
    expect_ir_equal(m, again.m);
}

} // namespace ot_test
