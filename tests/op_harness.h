// tests/op_harness.h: runs one op record directly (infer, setup, run,
// release) on tensors built in the test, with a real oneDNN engine. For
// kernel unit tests against a naive reference written in the test.
#pragma once

#include <dnnl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "onnxtrain/onnxtrain.h"
extern "C" {
#include "runtime/arena.h"
}

namespace ot_test {

// An owned tensor with std::vector storage.
struct Tensor {
    ot_dtype_t dtype = OT_DTYPE_FLOAT;
    std::vector<int64_t> dims;
    std::vector<unsigned char> bytes;
    bool present = true;

    Tensor() = default;
    template <typename T>
    static Tensor of(ot_dtype_t dt, std::vector<int64_t> d, const std::vector<T> &v) {
        Tensor t;
        t.dtype = dt;
        t.dims = std::move(d);
        t.bytes.resize(v.size() * sizeof(T));
        if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
        return t;
    }
    static Tensor f32(std::vector<int64_t> d, const std::vector<float> &v) { return of(OT_DTYPE_FLOAT, d, v); }
    static Tensor i64(std::vector<int64_t> d, const std::vector<int64_t> &v) { return of(OT_DTYPE_INT64, d, v); }
    static Tensor absent() {
        Tensor t;
        t.present = false;
        return t;
    }
    template <typename T> const T *as() const { return reinterpret_cast<const T *>(bytes.data()); }
    template <typename T> std::vector<T> vec() const {
        return std::vector<T>(as<T>(), as<T>() + bytes.size() / sizeof(T));
    }
    ot_tensor_t view() {
        ot_tensor_t t{};
        t.dtype = dtype;
        t.shape.rank = (int)dims.size();
        for (size_t i = 0; i < dims.size(); i++) t.shape.dims[i] = dims[i];
        t.data = bytes.empty() ? nullptr : bytes.data();
        return t;
    }
};

// A node under test: op, opset and attributes. Attribute values are kept in
// `specs`; `attrs` is the ot_attr_t view of them, rebuilt whenever the
// node changes or is copied, so copies never point into another node.
struct Node {
    struct Spec {
        std::string name;
        ot_attr_type_t type;
        int64_t i = 0;
        float f = 0;
        std::string s;
        std::vector<int64_t> ints;
        std::vector<float> floats;
        Tensor t;
    };
    std::string op_type, domain;
    int opset = 17;
    std::deque<Spec> specs;
    std::deque<ot_tensor_t> tensor_views;
    std::vector<ot_attr_t> attrs;

    Node(std::string op, int opset_ = 17, std::string dom = "") : op_type(op), domain(dom), opset(opset_) {}
    Node(const Node &o) : op_type(o.op_type), domain(o.domain), opset(o.opset), specs(o.specs) { rebuild(); }
    Node &operator=(const Node &o) {
        op_type = o.op_type;
        domain = o.domain;
        opset = o.opset;
        specs = o.specs;
        rebuild();
        return *this;
    }

    Node &i(const char *name, int64_t v) { return add(name, OT_ATTR_INT, [&](Spec &a) { a.i = v; }); }
    Node &f(const char *name, float v) { return add(name, OT_ATTR_FLOAT, [&](Spec &a) { a.f = v; }); }
    Node &s(const char *name, const std::string &v) { return add(name, OT_ATTR_STRING, [&](Spec &a) { a.s = v; }); }
    Node &ints(const char *name, std::vector<int64_t> v) {
        return add(name, OT_ATTR_INTS, [&](Spec &a) { a.ints = std::move(v); });
    }
    Node &floats(const char *name, std::vector<float> v) {
        return add(name, OT_ATTR_FLOATS, [&](Spec &a) { a.floats = std::move(v); });
    }
    Node &t(const char *name, Tensor v) { return add(name, OT_ATTR_TENSOR, [&](Spec &a) { a.t = std::move(v); }); }

  private:
    template <typename Fill> Node &add(const char *name, ot_attr_type_t type, Fill fill) {
        Spec sp;
        sp.name = name;
        sp.type = type;
        fill(sp);
        specs.push_back(std::move(sp));
        rebuild();
        return *this;
    }
    void rebuild() {
        attrs.clear();
        tensor_views.clear();
        for (Spec &sp : specs) {
            ot_attr_t a{};
            a.name = sp.name.c_str();
            a.type = sp.type;
            a.i = sp.i;
            a.f = sp.f;
            a.s = sp.s.c_str();
            a.s_len = sp.s.size();
            if (sp.type == OT_ATTR_INTS) a.n = (int64_t)sp.ints.size(), a.ints = sp.ints.data();
            if (sp.type == OT_ATTR_FLOATS) a.n = (int64_t)sp.floats.size(), a.floats = sp.floats.data();
            if (sp.type == OT_ATTR_TENSOR) {
                tensor_views.push_back(sp.t.view());
                a.t = &tensor_views.back();
            }
            attrs.push_back(a);
        }
    }
};

// Result of running one op: status (NULL = ok) and outputs.
struct Result {
    std::string error; // empty on success
    std::vector<Tensor> outputs;
};

// Runs `node` on `inputs`. `const_inputs[i]` marks inputs whose data is
// visible to inference (as initializers are). n_outputs outputs are requested.
inline Result run_op(const Node &node, std::vector<Tensor> inputs, int n_outputs,
                     std::vector<bool> const_inputs = {}) {
    Result res;
    ot_registry_t *reg = nullptr;
    ot_status_t *st = ot_registry_create(&reg);
    if (st) {
        res.error = ot_status_message(st);
        ot_status_free(st);
        return res;
    }
    const ot_op_def_t *op = ot_registry_find(reg, node.domain.c_str(), node.op_type.c_str(), node.opset);
    if (!op) {
        res.error = "op not registered";
        ot_registry_destroy(reg);
        return res;
    }
    ot_node_info_t info{};
    info.name = "test_node";
    info.op_type = node.op_type.c_str();
    info.domain = node.domain.c_str();
    info.opset = node.opset;
    info.n_attrs = (int)node.attrs.size();
    info.attrs = node.attrs.data();

    std::vector<ot_tensor_t> in_views(inputs.size()), in_types(inputs.size());
    std::vector<const ot_tensor_t *> in_type_ptrs(inputs.size());
    std::vector<ot_tensor_t *> in_ptrs(inputs.size());
    for (size_t i = 0; i < inputs.size(); i++) {
        in_views[i] = inputs[i].view();
        in_types[i] = in_views[i];
        bool is_const = i < const_inputs.size() && const_inputs[i];
        if (!is_const) in_types[i].data = nullptr;
        in_type_ptrs[i] = inputs[i].present ? &in_types[i] : nullptr;
        in_ptrs[i] = inputs[i].present ? &in_views[i] : nullptr;
    }
    std::vector<ot_tensor_t> out_views(n_outputs);
    std::vector<ot_tensor_t *> out_ptrs(n_outputs);
    for (int i = 0; i < n_outputs; i++) {
        out_views[i] = ot_tensor_t{};
        out_ptrs[i] = &out_views[i];
    }
    ot_infer_ctx_t ictx{};
    ictx.node = &info;
    ictx.n_inputs = (int)inputs.size();
    ictx.inputs = in_type_ptrs.data();
    ictx.n_outputs = n_outputs;
    ictx.outputs = out_ptrs.data();
    ot_arena_t *arena = ot_arena_create();
    ictx.impl = arena;
    st = op->infer(&ictx);
    if (st) {
        ot_arena_destroy(arena);
        res.error = ot_status_message(st);
        ot_status_free(st);
        ot_registry_destroy(reg);
        return res;
    }
    res.outputs.resize(n_outputs);
    for (int i = 0; i < n_outputs; i++) {
        Tensor &o = res.outputs[i];
        o.dtype = out_views[i].dtype;
        o.dims.assign(out_views[i].shape.dims, out_views[i].shape.dims + out_views[i].shape.rank);
        int64_t n = ot_shape_numel(&out_views[i].shape);
        o.bytes.assign((size_t)(n < 0 ? 0 : n) * ot_dtype_size(o.dtype), 0xAB); // poison: kernels must write
        if ((op->flags & OT_OP_ALIAS_INPUT0) && i == 0) out_views[i].data = in_views[0].data;
        else out_views[i].data = o.bytes.empty() ? nullptr : o.bytes.data();
    }
    dnnl_engine_t engine = nullptr;
    dnnl_stream_t stream = nullptr;
    dnnl_engine_create(&engine, dnnl_cpu, 0);
    dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    ot_kernel_t k{};
    k.node = &info;
    k.n_inputs = (int)inputs.size();
    k.inputs = in_ptrs.data();
    k.n_outputs = n_outputs;
    k.outputs = out_ptrs.data();
    k.engine = engine;
    k.stream = stream;
    st = op->setup ? op->setup(&k) : nullptr;
    if (!st) st = op->run(&k);
    if (!st) dnnl_stream_wait(stream);
    if (op->release) op->release(&k);
    if (st) {
        res.error = ot_status_message(st);
        ot_status_free(st);
    }
    if ((op->flags & OT_OP_ALIAS_INPUT0) && n_outputs > 0 && !res.outputs[0].bytes.empty())
        std::memcpy(res.outputs[0].bytes.data(), in_views[0].data, res.outputs[0].bytes.size());
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    ot_arena_destroy(arena);
    ot_registry_destroy(reg);
    return res;
}

// Compares element-wise with |got - ref| <= atol + rtol*|ref|; on failure
// reports the worst element and its flat index.
inline void expect_near(const std::vector<float> &got, const std::vector<float> &ref, double atol, double rtol,
                        const std::string &label) {
    ASSERT_EQ(got.size(), ref.size()) << label << ": element count";
    double worst = -1;
    size_t worst_i = 0;
    for (size_t i = 0; i < got.size(); i++) {
        double err = std::fabs((double)got[i] - (double)ref[i]) - (atol + rtol * std::fabs((double)ref[i]));
        if (std::isnan(got[i]) != std::isnan(ref[i])) err = INFINITY;
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    EXPECT_LE(worst, 0.0) << label << ": worst element " << worst_i << " got " << got[worst_i] << " expected "
                          << ref[worst_i];
}

} // namespace ot_test
