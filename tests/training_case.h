// tests/training_case.h: the end-to-end training fixtures
// (tests/fixtures/training/<case>, made by tools/fixtures/gen_training_models.py):
// the case list, the tolerance, the output comparison and a diagnosis of
// what the runtime lacks for a case. Shared by tests/test_training_models.cc
// and the CLI check's comparer (tests/tools/compare_outputs.cc), so both
// judge outputs the same way. It does not run models.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx.pb-c.h"
#include "onnxtrain/onnxtrain.h"

namespace ot_training {

// 4 models x opsets 14, 17, plus smoke_opset17 (a pipeline check needing
// only Mul/Add/Relu/ReduceSum gradients; see the fixtures' README). Listed,
// not globbed, so a lost fixture fails.
inline const std::vector<std::string> &cases() {
    static const std::vector<std::string> c = {
        "smoke_opset17",        "mlp_opset14",          "mlp_opset17",         "lenet_opset14",      "lenet_opset17",
        "resnet_block_opset14", "resnet_block_opset17", "transformer_opset14", "transformer_opset17"};
    return c;
}

// |got - ref| <= kRtol * |ref| + kAtolRel * max|ref| (per tensor). The
// acceptance's rtol; the atol, relative to the tensor's largest magnitude,
// covers elements far below that scale, where summing many terms of both
// signs cancels and float32 rounding of the big terms dominates. PyTorch's
// own float32 autograd differs from the float64 reference by less than
// 1e-6 of max|ref| and uses at most 4% of this allowance on these cases
// (tests/fixtures/training/README.md), which leaves room for other
// summation orders (oneDNN blocking, OpenMP reductions), while a wrong or
// missing gradient term moves elements by ~1e-2..1 of the scale.
constexpr double kRtol = 1e-4, kAtolRel = 1e-5;

inline std::string case_dir(const std::string &root, const std::string &name) {
    return root + "/tests/fixtures/training/" + name;
}

// The `name` field of a serialized TensorProto ("" if unreadable).
inline std::string pb_tensor_name(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Onnx__TensorProto *tp =
        onnx__tensor_proto__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t *>(bytes.data()));
    if (!tp) return "";
    std::string name = tp->name ? tp->name : "";
    onnx__tensor_proto__free_unpacked(tp, nullptr);
    return name;
}

inline std::string shape_str(const ot_shape_t &s) {
    std::ostringstream o;
    o << "(";
    for (int d = 0; d < s.rank; d++) o << (d ? ", " : "") << s.dims[d];
    o << ")";
    return o.str();
}

// Flat index -> "[i, j, k]" for shape s.
inline std::string index_str(const ot_shape_t &s, int64_t flat) {
    std::vector<int64_t> idx(s.rank);
    for (int d = s.rank - 1; d >= 0; d--) {
        idx[d] = flat % s.dims[d];
        flat /= s.dims[d];
    }
    std::ostringstream o;
    o << "[";
    for (int d = 0; d < s.rank; d++) o << (d ? ", " : "") << idx[d];
    o << "]";
    return o.str();
}

// "" when `got` matches `ref` (float32, same shape) within the tolerance;
// otherwise names the output, counts the mismatches and gives the first and
// the worst element with their indices.
inline std::string compare_output(const ot_tensor_t *got, const ot_tensor_t *ref, const std::string &name) {
    std::ostringstream why;
    if (ref->dtype != OT_DTYPE_FLOAT) return name + ": expected output is not float32 (bad fixture)";
    if (got->dtype != ref->dtype)
        return name + ": dtype " + ot_dtype_name(got->dtype) + ", expected " + ot_dtype_name(ref->dtype);
    bool same = got->shape.rank == ref->shape.rank;
    for (int d = 0; same && d < ref->shape.rank; d++) same = got->shape.dims[d] == ref->shape.dims[d];
    if (!same) return name + ": shape " + shape_str(got->shape) + ", expected " + shape_str(ref->shape);
    int64_t n = ot_shape_numel(&ref->shape);
    const float *g = static_cast<const float *>(got->data), *e = static_cast<const float *>(ref->data);
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = std::fmax(scale, std::fabs((double)e[i]));
    if (!(scale > 0)) return name + ": expected output is all zeros (degenerate fixture)";
    int64_t bad = 0, first = -1, worst_i = -1;
    double worst = 0; // error / allowance
    for (int64_t i = 0; i < n; i++) {
        double err = std::fabs((double)g[i] - (double)e[i]);
        double allow = kRtol * std::fabs((double)e[i]) + kAtolRel * scale;
        double ratio = std::isnan(err) ? INFINITY : err / allow;
        if (ratio > 1) {
            bad++;
            if (first < 0) first = i;
        }
        if (ratio > worst || worst_i < 0) worst = ratio, worst_i = i;
    }
    if (!bad) return "";
    why.precision(9);
    why << name << ": " << bad << " of " << n << " elements outside rtol " << kRtol << " + atol " << kAtolRel * scale
        << " (" << kAtolRel << " x max|expected| " << scale << "); first " << index_str(ref->shape, first) << " got "
        << g[first] << " expected " << e[first] << "; worst " << index_str(ref->shape, worst_i) << " got "
        << g[worst_i] << " expected " << e[worst_i] << " (" << worst << " x the allowance)";
    return why.str();
}

// Outputs that are never floating point, whatever the inputs: autodiff
// does not differentiate through them (the model files carry no types of
// intermediate values, so this stands in for runtime/autodiff.c's dtype test).
inline bool non_float_output(const Onnx__NodeProto *n, size_t o) {
    static const std::set<std::string> int_ops = {"Shape", "Size", "ArgMax", "ArgMin", "NonZero", "Equal",
                                                  "Less",  "Greater", "Not", "And", "Or"};
    std::string op = n->op_type;
    return int_ops.count(op) || (op == "Dropout" && o == 1);
}

// What the registry lacks for the model at `path`: ops no record serves,
// and ops on the path from the Gradient node's xs to its y whose record
// has no gradient rule (the activity analysis of runtime/autodiff.c: float
// values depending on an x, which y depends on). "" when nothing is
// missing. Reads the protobuf directly, so it works when loading fails.
inline std::string missing_support(const ot_registry_t *reg, const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Onnx__ModelProto *m =
        onnx__model_proto__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t *>(bytes.data()));
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, nullptr);
        return "cannot parse " + path;
    }
    const Onnx__GraphProto *g = m->graph;
    std::map<std::string, int> opsets;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        std::string d = m->opset_import[k]->domain ? m->opset_import[k]->domain : "";
        opsets[d == "ai.onnx" ? "" : d] = (int)m->opset_import[k]->version;
    }
    auto label = [&](const Onnx__NodeProto *n) {
        std::string d = n->domain ? n->domain : "";
        if (d == "ai.onnx") d = "";
        return (d.empty() ? "" : d + "::") + std::string(n->op_type) + "-" + std::to_string(opsets[d]);
    };
    auto find = [&](const Onnx__NodeProto *n) {
        std::string d = n->domain ? n->domain : "";
        if (d == "ai.onnx") d = "";
        return ot_registry_find(reg, d.c_str(), n->op_type, opsets[d]);
    };
    std::set<std::string> active, useful, unregistered, unregistered_on_path;
    std::map<std::string, int> no_rule; // op -> node count
    const Onnx__NodeProto *grad = nullptr;
    for (size_t i = 0; i < g->n_node; i++) {
        if (!find(g->node[i])) unregistered.insert(label(g->node[i]));
        if (std::string(g->node[i]->op_type) == "Gradient") grad = g->node[i];
    }
    if (grad) {
        for (size_t a = 0; a < grad->n_attribute; a++) {
            const Onnx__AttributeProto *at = grad->attribute[a];
            if (std::string(at->name) == "xs")
                for (size_t k = 0; k < at->n_strings; k++)
                    active.insert(std::string((const char *)at->strings[k].data, at->strings[k].len));
            if (std::string(at->name) == "y") useful.insert(std::string((const char *)at->s.data, at->s.len));
        }
        // exported graphs are in topological order (the generator checked them with onnx.checker)
        for (size_t i = 0; i < g->n_node; i++) {
            const Onnx__NodeProto *n = g->node[i];
            if (n == grad) continue;
            bool any = false;
            for (size_t k = 0; k < n->n_input; k++) any |= active.count(n->input[k]) > 0;
            for (size_t o = 0; any && o < n->n_output; o++)
                if (!non_float_output(n, o)) active.insert(n->output[o]);
        }
        for (size_t i = g->n_node; i-- > 0;) {
            const Onnx__NodeProto *n = g->node[i];
            if (n == grad) continue;
            bool any = false, relevant = false; // relevant: a gradient flows back through an output
            for (size_t o = 0; o < n->n_output; o++) {
                any |= useful.count(n->output[o]) > 0;
                relevant |= useful.count(n->output[o]) > 0 && active.count(n->output[o]) > 0;
            }
            if (!any) continue;
            bool needs = false;
            for (size_t k = 0; k < n->n_input; k++) {
                useful.insert(n->input[k]);
                needs |= active.count(n->input[k]) > 0;
            }
            const ot_op_def_t *def = find(n);
            if (relevant && needs && def && !def->gradient) no_rule[label(n)]++;
            if (relevant && needs && !def) unregistered_on_path.insert(label(n));
        }
    }
    onnx__model_proto__free_unpacked(m, nullptr);
    std::ostringstream why;
    if (!unregistered.empty()) {
        why << "ops not registered:";
        for (const std::string &op : unregistered)
            why << " " << op << (unregistered_on_path.count(op) ? " (and its gradient rule)" : "");
    }
    if (!no_rule.empty()) {
        why << (unregistered.empty() ? "" : "; ") << "no gradient rule for:";
        for (const auto &[op, count] : no_rule) why << " " << op << " (" << count << " node" << (count > 1 ? "s" : "") << ")";
    }
    return why.str();
}

} // namespace ot_training
