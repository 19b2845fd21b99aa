// tests/conformance_case.h: runs a single-node ONNX conformance case
// (/usr/share/libonnx-testdata/data/node/<case>) through tests/op_harness.h,
// bypassing the loader and executor. Lets an op be checked against ONNX's
// data in isolation; the full conformance suite goes through the runtime.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>

#include "onnx.pb-c.h"
#include "tests/op_harness.h"

namespace ot_test {

inline const char *kNodeCases = "/usr/share/libonnx-testdata/data/node";

inline bool read_file(const std::string &path, std::string &out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

// TensorProto -> Tensor (raw_data or the typed fields used by the test data).
inline Tensor tensor_from_proto(const Onnx__TensorProto *tp) {
    Tensor t;
    t.dtype = (ot_dtype_t)tp->data_type;
    t.dims.assign(tp->dims, tp->dims + tp->n_dims);
    size_t es = ot_dtype_size(t.dtype);
    if (tp->has_raw_data) {
        t.bytes.assign(tp->raw_data.data, tp->raw_data.data + tp->raw_data.len);
    } else if (tp->n_float_data) {
        t.bytes.resize(tp->n_float_data * 4);
        std::memcpy(t.bytes.data(), tp->float_data, t.bytes.size());
    } else if (tp->n_double_data) {
        t.bytes.resize(tp->n_double_data * 8);
        std::memcpy(t.bytes.data(), tp->double_data, t.bytes.size());
    } else if (tp->n_int64_data) {
        t.bytes.resize(tp->n_int64_data * 8);
        std::memcpy(t.bytes.data(), tp->int64_data, t.bytes.size());
    } else if (tp->n_uint64_data) {
        t.bytes.resize(tp->n_uint64_data * 8);
        std::memcpy(t.bytes.data(), tp->uint64_data, t.bytes.size());
    } else if (tp->n_int32_data) { // int32 and narrower types (incl. bool, fp16) are stored widened
        t.bytes.resize(tp->n_int32_data * es);
        for (size_t i = 0; i < tp->n_int32_data; i++) {
            int32_t v = tp->int32_data[i];
            std::memcpy(t.bytes.data() + i * es, &v, es); // little endian: low bytes first
        }
    }
    return t;
}

inline Tensor load_pb(const std::string &path) {
    std::string bytes;
    if (!read_file(path, bytes)) {
        ADD_FAILURE() << "cannot read " << path;
        return Tensor::absent();
    }
    Onnx__TensorProto *tp =
        onnx__tensor_proto__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t *>(bytes.data()));
    if (!tp) {
        ADD_FAILURE() << "cannot parse " << path;
        return Tensor::absent();
    }
    Tensor t = tensor_from_proto(tp);
    onnx__tensor_proto__free_unpacked(tp, nullptr);
    return t;
}

// Runs case `name` and compares every output (rtol 1e-3, atol 1e-5 for
// floats, exact otherwise). Returns "" on success or a description.
inline std::string run_node_case(const std::string &name) {
    std::string dir = std::string(kNodeCases) + "/" + name, bytes;
    if (!read_file(dir + "/model.onnx", bytes)) return "cannot read " + dir + "/model.onnx";
    Onnx__ModelProto *m =
        onnx__model_proto__unpack(nullptr, bytes.size(), reinterpret_cast<const uint8_t *>(bytes.data()));
    if (!m || !m->graph || m->graph->n_node != 1) {
        if (m) onnx__model_proto__free_unpacked(m, nullptr);
        return "not a single-node model";
    }
    for (size_t k = 0; k < m->graph->n_input + m->graph->n_output; k++) {
        const Onnx__ValueInfoProto *vi =
            k < m->graph->n_input ? m->graph->input[k] : m->graph->output[k - m->graph->n_input];
        if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            std::string why = "graph value " + std::string(vi->name) + " is not a tensor";
            onnx__model_proto__free_unpacked(m, nullptr);
            return why;
        }
    }
    const Onnx__NodeProto *np = m->graph->node[0];
    std::string domain = np->domain ? np->domain : "";
    int opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        std::string d = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (d == "ai.onnx") d = "";
        if (d == domain) opset = (int)m->opset_import[i]->version;
    }
    Node node(np->op_type, opset, domain);
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        switch (a->type) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: node.i(a->name, a->i); break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: node.f(a->name, a->f); break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
            node.s(a->name, std::string((const char *)a->s.data, a->s.len));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            node.ints(a->name, std::vector<int64_t>(a->ints, a->ints + a->n_ints));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            node.floats(a->name, std::vector<float>(a->floats, a->floats + a->n_floats));
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: node.t(a->name, tensor_from_proto(a->t)); break;
        default: onnx__model_proto__free_unpacked(m, nullptr); return "unsupported attribute type";
        }
    }
    // Node inputs map to graph inputs by name; "" = absent optional input.
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < np->n_input; i++) {
        std::string in = np->input[i];
        if (in.empty()) {
            inputs.push_back(Tensor::absent());
            continue;
        }
        size_t k = 0;
        while (k < m->graph->n_input && in != m->graph->input[k]->name) k++;
        if (k == m->graph->n_input) {
            onnx__model_proto__free_unpacked(m, nullptr);
            return "input " + in + " is not a graph input";
        }
        inputs.push_back(load_pb(dir + "/test_data_set_0/input_" + std::to_string(k) + ".pb"));
    }
    int n_out = (int)np->n_output;
    std::vector<int> out_index(n_out, -1); // node output -> graph output index
    for (int o = 0; o < n_out; o++)
        for (size_t k = 0; k < m->graph->n_output; k++)
            if (std::string(np->output[o]) == m->graph->output[k]->name) out_index[o] = (int)k;
    onnx__model_proto__free_unpacked(m, nullptr);

    // All inputs are known data here, so inference may read them (as it
    // does for constants at plan time).
    Result r = run_op(node, inputs, n_out, std::vector<bool>(inputs.size(), true));
    if (!r.error.empty()) return r.error;
    std::ostringstream why;
    for (int o = 0; o < n_out; o++) {
        if (out_index[o] < 0) continue;
        Tensor ref = load_pb(dir + "/test_data_set_0/output_" + std::to_string(out_index[o]) + ".pb");
        const Tensor &got = r.outputs[o];
        if (got.dtype != ref.dtype) {
            why << "output " << o << " dtype " << got.dtype << " expected " << ref.dtype;
            return why.str();
        }
        if (got.dims != ref.dims) {
            why << "output " << o << " shape mismatch";
            return why.str();
        }
        if (got.bytes.size() != ref.bytes.size()) return "output byte size mismatch";
        size_t n = ref.bytes.size() / std::max<size_t>(1, ot_dtype_size(ref.dtype));
        for (size_t i = 0; i < n; i++) {
            double g, e;
            if (ref.dtype == OT_DTYPE_FLOAT) g = got.as<float>()[i], e = ref.as<float>()[i];
            else if (ref.dtype == OT_DTYPE_DOUBLE) g = got.as<double>()[i], e = ref.as<double>()[i];
            else {
                size_t es = ot_dtype_size(ref.dtype);
                if (std::memcmp(got.bytes.data() + i * es, ref.bytes.data() + i * es, es) != 0) {
                    why << "output " << o << " element " << i << " differs (exact compare)";
                    return why.str();
                }
                continue;
            }
            bool both_nan = std::isnan(g) && std::isnan(e);
            if (!both_nan && !(std::fabs(g - e) <= 1e-5 + 1e-3 * std::fabs(e))) {
                why << "output " << o << " element " << i << " got " << g << " expected " << e;
                return why.str();
            }
        }
    }
    return "";
}

} // namespace ot_test
