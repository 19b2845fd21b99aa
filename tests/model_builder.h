// tests/model_builder.h: builds small ONNX models in tests through the
// protobuf-c structs (no Python, no files in the repo). Everything is
// owned by the builder; bytes() packs the ModelProto.
#pragma once

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "onnx.pb-c.h"

namespace ot_test {

class ModelBuilder {
  public:
    explicit ModelBuilder(int64_t opset = 17, int64_t ir_version = 8) {
        onnx__model_proto__init(&model_);
        onnx__graph_proto__init(&graph_);
        model_.has_ir_version = 1;
        model_.ir_version = ir_version;
        model_.graph = &graph_;
        graph_.name = str("test_graph");
        opset_import("", opset);
    }

    ModelBuilder &opset_import(const std::string &domain, int64_t version) {
        auto *o = &opsets_.emplace_back();
        onnx__operator_set_id_proto__init(o);
        o->domain = str(domain);
        o->has_version = 1;
        o->version = version;
        opset_ptrs_.push_back(o);
        model_.n_opset_import = opset_ptrs_.size();
        model_.opset_import = opset_ptrs_.data();
        return *this;
    }

    // dims < 0 become dim_param "N".
    ModelBuilder &input(const std::string &name, int elem_type, const std::vector<int64_t> &dims) {
        inputs_.push_back(value_info(name, elem_type, dims));
        graph_.n_input = inputs_.size();
        graph_.input = inputs_.data();
        return *this;
    }
    ModelBuilder &output(const std::string &name, int elem_type, const std::vector<int64_t> &dims) {
        outputs_.push_back(value_info(name, elem_type, dims));
        graph_.n_output = outputs_.size();
        graph_.output = outputs_.data();
        return *this;
    }

    ModelBuilder &initializer(const std::string &name, const std::vector<int64_t> &dims,
                              const std::vector<float> &values) {
        auto *t = &tensors_.emplace_back();
        onnx__tensor_proto__init(t);
        t->name = str(name);
        t->has_data_type = 1;
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        t->n_dims = dims.size();
        t->dims = ints(dims);
        auto &buf = float_store_.emplace_back(values);
        t->n_float_data = buf.size();
        t->float_data = buf.data();
        init_ptrs_.push_back(t);
        graph_.n_initializer = init_ptrs_.size();
        graph_.initializer = init_ptrs_.data();
        return *this;
    }

    // Adds a node; attributes are added to the last node with attr_*().
    ModelBuilder &node(const std::string &op_type, const std::vector<std::string> &in,
                       const std::vector<std::string> &out, const std::string &domain = "",
                       const std::string &name = "") {
        auto *n = &nodes_.emplace_back();
        onnx__node_proto__init(n);
        n->op_type = str(op_type);
        n->domain = str(domain);
        n->name = str(name.empty() ? op_type + "_" + std::to_string(nodes_.size()) : name);
        n->n_input = in.size();
        n->input = strs(in);
        n->n_output = out.size();
        n->output = strs(out);
        node_ptrs_.push_back(n);
        graph_.n_node = node_ptrs_.size();
        graph_.node = node_ptrs_.data();
        return *this;
    }
    ModelBuilder &attr_float(const std::string &name, float v) {
        auto *a = new_attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
        a->has_f = 1;
        a->f = v;
        return *this;
    }
    ModelBuilder &attr_int(const std::string &name, int64_t v) {
        auto *a = new_attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
        a->has_i = 1;
        a->i = v;
        return *this;
    }
    ModelBuilder &attr_ints(const std::string &name, const std::vector<int64_t> &v) {
        auto *a = new_attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
        a->n_ints = v.size();
        a->ints = ints(v);
        return *this;
    }

    Onnx__ModelProto *proto() { return &model_; }

    std::vector<uint8_t> bytes() {
        std::vector<uint8_t> out(onnx__model_proto__get_packed_size(&model_));
        onnx__model_proto__pack(&model_, out.data());
        return out;
    }

  private:
    char *str(const std::string &s) {
        auto &v = char_store_.emplace_back(s.begin(), s.end());
        v.push_back('\0');
        return v.data();
    }
    char **strs(const std::vector<std::string> &v) {
        auto &p = ptr_store_.emplace_back();
        for (const auto &s : v) p.push_back(str(s));
        return p.data();
    }
    int64_t *ints(const std::vector<int64_t> &v) { return int_store_.emplace_back(v).data(); }
    Onnx__ValueInfoProto *value_info(const std::string &name, int elem_type, const std::vector<int64_t> &dims) {
        auto *vi = &vinfos_.emplace_back();
        onnx__value_info_proto__init(vi);
        auto *tp = &types_.emplace_back();
        onnx__type_proto__init(tp);
        auto *tt = &tensor_types_.emplace_back();
        onnx__type_proto__tensor__init(tt);
        auto *sh = &shapes_.emplace_back();
        onnx__tensor_shape_proto__init(sh);
        auto &dim_ptrs = dim_ptr_store_.emplace_back();
        for (int64_t d : dims) {
            auto *dp = &dims_.emplace_back();
            onnx__tensor_shape_proto__dimension__init(dp);
            if (d >= 0) {
                dp->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dp->dim_value = d;
            } else {
                dp->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dp->dim_param = str("N");
            }
            dim_ptrs.push_back(dp);
        }
        sh->n_dim = dim_ptrs.size();
        sh->dim = dim_ptrs.data();
        tt->has_elem_type = 1;
        tt->elem_type = elem_type;
        tt->shape = sh;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
        vi->name = str(name);
        vi->type = tp;
        return vi;
    }
    Onnx__AttributeProto *new_attr(const std::string &name, Onnx__AttributeProto__AttributeType type) {
        auto *a = &attrs_.emplace_back();
        onnx__attribute_proto__init(a);
        a->name = str(name);
        a->has_type = 1;
        a->type = type;
        Onnx__NodeProto *n = node_ptrs_.back();
        auto &list = attr_lists_.emplace_back(n->attribute, n->attribute + n->n_attribute);
        list.push_back(a);
        n->n_attribute = list.size();
        n->attribute = list.data();
        return a;
    }

    Onnx__ModelProto model_;
    Onnx__GraphProto graph_;
    // deques keep element addresses stable as they grow
    std::deque<std::vector<char>> char_store_;
    std::deque<std::vector<char *>> ptr_store_;
    std::deque<std::vector<int64_t>> int_store_;
    std::deque<std::vector<float>> float_store_;
    std::deque<Onnx__OperatorSetIdProto> opsets_;
    std::vector<Onnx__OperatorSetIdProto *> opset_ptrs_;
    std::deque<Onnx__ValueInfoProto> vinfos_;
    std::deque<Onnx__TypeProto> types_;
    std::deque<Onnx__TypeProto__Tensor> tensor_types_;
    std::deque<Onnx__TensorShapeProto> shapes_;
    std::deque<Onnx__TensorShapeProto__Dimension> dims_;
    std::deque<std::vector<Onnx__TensorShapeProto__Dimension *>> dim_ptr_store_;
    std::vector<Onnx__ValueInfoProto *> inputs_, outputs_;
    std::deque<Onnx__TensorProto> tensors_;
    std::vector<Onnx__TensorProto *> init_ptrs_;
    std::deque<Onnx__NodeProto> nodes_;
    std::vector<Onnx__NodeProto *> node_ptrs_;
    std::deque<Onnx__AttributeProto> attrs_;
    std::deque<std::vector<Onnx__AttributeProto *>> attr_lists_;
};

} // namespace ot_test
