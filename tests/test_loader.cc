// tests/test_loader.cc: the ONNX loader/writer (runtime/onnx_load.c,
// onnx_save.c, tensor_io.c, ir.c) on models built here with protobuf-c:
// every tensor field and dtype, shapes and dim_params, initializers as
// inputs, attributes of every type, external data, metadata/training_info
// preservation, save/load round trips, .npy files, and a sweep over every
// model of ONNX's test data. Malformed input lives in test_malformed.cc.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include "tests/model_builder.h"

using namespace ot_test;

namespace {

// A one-node model: X (N, 3) float -> Relu -> Y, with some metadata.
void relu_model(PbModel &pb) {
    pb.m.producer_name = pb.str("onnxtrain-test");
    pb.m.producer_version = pb.str("0.1");
    pb.m.domain = pb.str("org.test");
    pb.m.doc_string = pb.str("model doc");
    pb.m.has_model_version = 1;
    pb.m.model_version = 7;
    pb.g.doc_string = pb.str("graph doc");
    pb.input("X", OT_DTYPE_FLOAT, {Dim("N"), Dim(3)})->doc_string = pb.str("the input");
    pb.output("Y", OT_DTYPE_FLOAT, {Dim("N"), Dim()});
    pb.node("Relu", {"X"}, {"Y"}, "relu1")->doc_string = pb.str("node doc");
    pb.metadata.push_back(pb.entry("author", "me"));
    pb.metadata.push_back(pb.entry("license", "MIT"));
}

const ot_value_t &value(const ot_model_t *m, const char *name) {
    int i = ot_graph_find(&m->graph, name);
    EXPECT_GE(i, 0) << name;
    return m->graph.values[i < 0 ? 0 : i];
}

template <typename T> std::vector<T> data_of(const ot_tensor_t &t) {
    const T *p = static_cast<const T *>(t.data);
    return std::vector<T>(p, p + ot_tensor_nbytes(&t) / sizeof(T));
}

} // namespace

TEST(Loader, MinimalModelAndInfo) {
    PbModel pb;
    relu_model(pb);
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    const ot_model_t *m = r.m;
    EXPECT_EQ(m->ir_version, 8);
    EXPECT_EQ(ot_model_opset(m, ""), 13);
    EXPECT_EQ(ot_model_opset(m, "ai.onnx"), 13);
    EXPECT_EQ(ot_model_opset(m, "com.microsoft"), -1);
    EXPECT_STREQ(m->producer_name, "onnxtrain-test");
    EXPECT_STREQ(m->producer_version, "0.1");
    EXPECT_STREQ(m->domain, "org.test");
    EXPECT_STREQ(m->doc_string, "model doc");
    EXPECT_EQ(m->model_version, 7);
    EXPECT_STREQ(m->graph.name, "g");
    EXPECT_STREQ(m->graph.doc_string, "graph doc");
    ASSERT_EQ(m->n_metadata, 2);
    EXPECT_STREQ(m->metadata[1].key, "license");
    EXPECT_STREQ(m->metadata[1].value, "MIT");
    EXPECT_EQ(m->registry, test_registry());
    EXPECT_EQ(m->dir, nullptr);

    ASSERT_EQ(ot_model_num_inputs(m), 1);
    ASSERT_EQ(ot_model_num_outputs(m), 1);
    const char *name = nullptr;
    ot_dtype_t dt = OT_DTYPE_UNDEFINED;
    ot_shape_t shape;
    ASSERT_EQ(ot_model_input_info(m, 0, &name, &dt, &shape), nullptr);
    EXPECT_STREQ(name, "X");
    EXPECT_EQ(dt, OT_DTYPE_FLOAT);
    ASSERT_EQ(shape.rank, 2);
    EXPECT_LT(shape.dims[0], 0);
    EXPECT_EQ(shape.dims[1], 3);
    ASSERT_EQ(ot_model_output_info(m, 0, &name, &dt, &shape), nullptr);
    EXPECT_STREQ(name, "Y");
    ASSERT_EQ(shape.rank, 2);
    EXPECT_LT(shape.dims[0], 0); // symbolic N stays symbolic
    EXPECT_EQ(shape.dims[1], 3); // declared unknown, inferred from X

    ot_status_t *st = ot_model_input_info(m, 1, &name, &dt, &shape);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    ot_status_free(st);
    st = ot_model_output_info(m, -1, &name, &dt, &shape);
    EXPECT_EQ(ot_status_code(st), OT_ERR_INVALID_ARGUMENT);
    ot_status_free(st);

    const ot_value_t &x = value(m, "X");
    EXPECT_TRUE(x.is_graph_input && x.declared && x.has_type && !x.is_initializer);
    EXPECT_STREQ(x.dim_params[0], "N");
    EXPECT_EQ(x.dim_params[1], nullptr);
    EXPECT_STREQ(x.doc_string, "the input");
    EXPECT_EQ(x.producer, -1);
    const ot_value_t &y = value(m, "Y");
    EXPECT_TRUE(y.is_graph_output);
    EXPECT_EQ(y.producer, 0);
    EXPECT_STREQ(y.dim_params[0], "N");
    EXPECT_EQ(y.dim_params[1], nullptr); // unknown, no name

    ASSERT_EQ(m->graph.n_nodes, 1);
    const ot_node_t &n = m->graph.nodes[0];
    EXPECT_STREQ(n.info.name, "relu1");
    EXPECT_STREQ(n.info.op_type, "Relu");
    EXPECT_STREQ(n.info.domain, "");
    EXPECT_EQ(n.info.opset, 13);
    EXPECT_STREQ(n.doc_string, "node doc");
    EXPECT_EQ(n.n_inputs, 1);
    EXPECT_EQ(n.inputs[0], ot_graph_find(&m->graph, "X"));
    expect_round_trip(m);
}

TEST(Loader, GraphEditing) {
    PbModel pb;
    relu_model(pb);
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    ot_graph_t *g = &r.m->graph;
    int nv = g->n_values;
    // Enough new values to force several reallocs and hash map growth.
    std::vector<int> ids;
    for (int i = 0; i < 1000; i++) ids.push_back(ot_graph_intern(g, r.m->arena, ("v" + std::to_string(i)).c_str()));
    for (int i = 0; i < 1000; i++) {
        EXPECT_EQ(ids[i], nv + i);
        EXPECT_EQ(ot_graph_find(g, ("v" + std::to_string(i)).c_str()), nv + i);
        EXPECT_EQ(g->values[ids[i]].producer, -1);
        EXPECT_EQ(g->values[ids[i]].type.shape.rank, -1);
    }
    EXPECT_EQ(ot_graph_intern(g, r.m->arena, "X"), ot_graph_find(g, "X"));
    EXPECT_EQ(ot_graph_find(g, "nope"), -1);
    int in[2] = {ids[0], -1}, out[1] = {ids[1]};
    for (int i = 0; i < 100; i++) {
        int k = ot_graph_add_node(g, r.m->arena, "Add", "ai.onnx", "", 2, in, 1, out);
        ASSERT_EQ(k, 1 + i);
    }
    EXPECT_STREQ(g->nodes[5].info.domain, "");
    EXPECT_EQ(g->nodes[5].inputs[1], -1);
    EXPECT_EQ(g->nodes[5].outputs[0], ids[1]);
}

// ---- tensors: every field and dtype ------------------------------------------

struct FieldCase {
    const char *label;
    ot_dtype_t dtype;
    std::vector<int64_t> dims;
    std::function<void(PbModel &, Onnx__TensorProto *)> fill; // typed field
    std::string expect;                                       // little-endian bytes
};

static std::vector<FieldCase> field_cases() {
    std::vector<FieldCase> c;
    c.push_back({"float",
                 OT_DTYPE_FLOAT,
                 {2, 2},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_float_data = 4;
                     t->float_data = pb.copy<float>({1.5f, -2.f, 0.f, 3.25f});
                 },
                 bytes_of<float>({1.5f, -2.f, 0.f, 3.25f})});
    c.push_back({"double",
                 OT_DTYPE_DOUBLE,
                 {3},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_double_data = 3;
                     t->double_data = pb.copy<double>({1e300, -0.5, 2.0});
                 },
                 bytes_of<double>({1e300, -0.5, 2.0})});
    c.push_back({"int64",
                 OT_DTYPE_INT64,
                 {3},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_int64_data = 3;
                     t->int64_data = pb.copy<int64_t>({INT64_MIN, -1, INT64_MAX});
                 },
                 bytes_of<int64_t>({INT64_MIN, -1, INT64_MAX})});
    auto i32 = [](std::vector<int32_t> v) {
        return [v](PbModel &pb, Onnx__TensorProto *t) {
            t->n_int32_data = v.size();
            t->int32_data = pb.copy<int32_t>(v);
        };
    };
    c.push_back(
        {"int32", OT_DTYPE_INT32, {3}, i32({INT32_MIN, -7, INT32_MAX}), bytes_of<int32_t>({INT32_MIN, -7, INT32_MAX})});
    c.push_back({"int16", OT_DTYPE_INT16, {3}, i32({-32768, -2, 32767}), bytes_of<int16_t>({-32768, -2, 32767})});
    c.push_back({"int8", OT_DTYPE_INT8, {4}, i32({-128, -1, 0, 127}), bytes_of<int8_t>({-128, -1, 0, 127})});
    c.push_back({"uint16", OT_DTYPE_UINT16, {2}, i32({0, 65535}), bytes_of<uint16_t>({0, 65535})});
    c.push_back({"uint8", OT_DTYPE_UINT8, {3}, i32({0, 128, 255}), bytes_of<uint8_t>({0, 128, 255})});
    c.push_back({"bool", OT_DTYPE_BOOL, {4}, i32({0, 1, 1, 0}), bytes_of<uint8_t>({0, 1, 1, 0})});
    // float16 1.0 = 0x3C00, -2.0 = 0xC000; bfloat16 1.0 = 0x3F80, -2.0 = 0xC000
    c.push_back({"float16", OT_DTYPE_FLOAT16, {2}, i32({0x3C00, 0xC000}), bytes_of<uint16_t>({0x3C00, 0xC000})});
    c.push_back({"bfloat16", OT_DTYPE_BFLOAT16, {2}, i32({0x3F80, 0xC000}), bytes_of<uint16_t>({0x3F80, 0xC000})});
    c.push_back({"uint32",
                 OT_DTYPE_UINT32,
                 {2},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_uint64_data = 2;
                     t->uint64_data = pb.copy<uint64_t>({0xFFFFFFFFull, 5});
                 },
                 bytes_of<uint32_t>({0xFFFFFFFFu, 5})});
    c.push_back({"uint64",
                 OT_DTYPE_UINT64,
                 {2},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_uint64_data = 2;
                     t->uint64_data = pb.copy<uint64_t>({(1ull << 63) + 5, 1});
                 },
                 bytes_of<uint64_t>({(1ull << 63) + 5, 1})});
    c.push_back({"complex64",
                 OT_DTYPE_COMPLEX64,
                 {2},
                 [](PbModel &pb, Onnx__TensorProto *t) {
                     t->n_float_data = 4;
                     t->float_data = pb.copy<float>({1, 2, 3, 4});
                 },
                 bytes_of<float>({1, 2, 3, 4})});
    return c;
}

class TensorFields : public ::testing::TestWithParam<FieldCase> {};

TEST_P(TensorFields, TypedFieldAndRawDataGiveTheSameBytes) {
    const FieldCase &fc = GetParam();
    for (bool raw : {false, true}) {
        PbModel pb;
        pb.output_any("Y");
        pb.node("Identity", {"W"}, {"Y"});
        Onnx__TensorProto *t =
            raw ? pb.raw_tensor("W", fc.dtype, fc.dims, fc.expect) : pb.tensor("W", fc.dtype, fc.dims);
        if (!raw) fc.fill(pb, t);
        t->doc_string = pb.str("weights");
        pb.init(t);
        Loaded r = load_bytes(pb.bytes());
        ASSERT_EQ(r.st, nullptr) << fc.label << (raw ? " raw: " : " typed: ") << r.msg();
        const ot_value_t &w = value(r.m, "W");
        EXPECT_TRUE(w.is_initializer && w.has_type && !w.is_graph_input);
        EXPECT_EQ(w.type.dtype, fc.dtype);
        ASSERT_EQ(w.type.shape.rank, (int)fc.dims.size());
        ASSERT_EQ(ot_tensor_nbytes(&w.type), fc.expect.size()) << fc.label;
        EXPECT_EQ(std::string(static_cast<const char *>(w.type.data), fc.expect.size()), fc.expect) << fc.label;
        EXPECT_STREQ(w.tensor_doc_string, "weights");
        EXPECT_EQ(ot_model_num_inputs(r.m), 0);
        expect_round_trip(r.m);
    }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, TensorFields, ::testing::ValuesIn(field_cases()),
                         [](const ::testing::TestParamInfo<FieldCase> &i) { return std::string(i.param.label); });

TEST(Loader, BoolRawDataIsNormalized) {
    PbModel pb;
    pb.output_any("Y");
    pb.node("Identity", {"B"}, {"Y"});
    pb.init(pb.raw_tensor("B", OT_DTYPE_BOOL, {3}, std::string("\x00\x01\x07", 3)));
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    EXPECT_EQ(data_of<uint8_t>(value(r.m, "B").type), (std::vector<uint8_t>{0, 1, 1}));
}

TEST(Loader, ZeroSizeAndScalarTensors) {
    PbModel pb;
    pb.output_any("Y");
    pb.node("NotAnOp", {"E1", "E2", "S"}, {"Y"}); // loaded with unknown ops allowed: no inference
    pb.init(pb.tensor("E1", OT_DTYPE_FLOAT, {0, 3}));                    // no data field at all
    pb.init(pb.raw_tensor("E2", OT_DTYPE_INT64, {2, 0, 1ll << 40}, "")); // empty raw_data
    auto *s = pb.init(pb.tensor("S", OT_DTYPE_FLOAT, {}));               // scalar
    s->n_float_data = 1;
    s->float_data = pb.copy<float>({7.5f});
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    const ot_value_t &e1 = value(r.m, "E1"), &e2 = value(r.m, "E2"), &sc = value(r.m, "S");
    EXPECT_EQ(ot_tensor_nbytes(&e1.type), 0u);
    EXPECT_NE(e1.type.data, nullptr); // constants always have data
    EXPECT_EQ(e1.type.shape.rank, 2);
    EXPECT_EQ(e2.type.shape.dims[2], 1ll << 40);
    EXPECT_EQ(ot_tensor_nbytes(&e2.type), 0u);
    EXPECT_EQ(sc.type.shape.rank, 0);
    EXPECT_EQ(data_of<float>(sc.type), std::vector<float>{7.5f});
    expect_round_trip(r.m);
}

// ---- initializers as inputs -----------------------------------------------------

TEST(Loader, InitializerListedAsInputIr3) {
    PbModel pb(3, 7);
    pb.input("X", OT_DTYPE_FLOAT, {Dim(2)});
    pb.input("W", OT_DTYPE_FLOAT, {Dim("K")}); // declared symbolic; the initializer fixes it
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(2)});
    pb.node("Add", {"X", "W"}, {"Y"});
    pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2}, bytes_of<float>({1, 2})));
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    EXPECT_EQ(r.m->graph.n_inputs, 2);
    EXPECT_EQ(ot_model_num_inputs(r.m), 1); // only X is fed
    const char *name;
    ASSERT_EQ(ot_model_input_info(r.m, 0, &name, nullptr, nullptr), nullptr);
    EXPECT_STREQ(name, "X");
    const ot_value_t &w = value(r.m, "W");
    EXPECT_TRUE(w.is_initializer && w.is_graph_input);
    EXPECT_EQ(w.type.shape.dims[0], 2);
    EXPECT_EQ(w.dim_params[0], nullptr);
    expect_round_trip(r.m);
}

TEST(Loader, InitializerNotListedAsInputIr4) {
    PbModel pb(4, 9);
    pb.input("X", OT_DTYPE_FLOAT, {Dim(2)});
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(2)});
    pb.node("Add", {"X", "W"}, {"Y"});
    pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2}, bytes_of<float>({1, 2})));
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    EXPECT_EQ(r.m->graph.n_inputs, 1);
    EXPECT_EQ(ot_model_num_inputs(r.m), 1);
    EXPECT_FALSE(value(r.m, "W").is_graph_input);
    expect_round_trip(r.m);
}

// ---- attributes ------------------------------------------------------------------

TEST(Loader, AttributesOfEveryType) {
    PbModel pb;
    pb.input("X", OT_DTYPE_FLOAT, {Dim(1)});
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(1)});
    pb.add_opset("org.test", 1);
    auto *n = pb.node("Everything", {"X", "", "X"}, {"Y", "", "Z"}, "all");
    n->domain = pb.str("org.test");
    auto *af = pb.attr(n, "f", OT_ATTR_FLOAT);
    af->has_f = 1;
    af->f = 0.25f;
    auto *ai = pb.attr(n, "i", OT_ATTR_INT);
    ai->has_i = 1;
    ai->i = -42;
    auto *as = pb.attr(n, "s", OT_ATTR_STRING);
    as->has_s = 1;
    as->s = pb.bin(std::string("a\0b", 3));
    pb.attr(n, "t", OT_ATTR_TENSOR)->t = pb.raw_tensor("tname", OT_DTYPE_INT64, {2}, bytes_of<int64_t>({5, 6}));
    auto *afs = pb.attr(n, "floats", OT_ATTR_FLOATS);
    afs->n_floats = 3;
    afs->floats = pb.copy<float>({1, 2, 3});
    auto *ais = pb.attr(n, "ints", OT_ATTR_INTS);
    ais->n_ints = 2;
    ais->ints = pb.copy<int64_t>({INT64_MIN, 9});
    pb.attr(n, "empty_ints", OT_ATTR_INTS);
    auto *ass = pb.attr(n, "strings", OT_ATTR_STRINGS);
    ass->n_strings = 2;
    ass->strings = pb.alloc<ProtobufCBinaryData>(2);
    ass->strings[0] = pb.bin("hello");
    ass->strings[1] = pb.bin("");
    auto *ats = pb.attr(n, "tensors", OT_ATTR_TENSORS);
    ats->n_tensors = 2;
    ats->tensors = pb.alloc<Onnx__TensorProto *>(2);
    ats->tensors[0] = pb.raw_tensor("", OT_DTYPE_FLOAT, {1}, bytes_of<float>({9}));
    ats->tensors[1] = pb.tensor("", OT_DTYPE_INT32, {0});
    // A subgraph attribute: kept as bytes.
    auto *ag = pb.attr(n, "body", OT_ATTR_GRAPH);
    ag->g = pb.make(onnx__graph_proto__init);
    ag->g->name = pb.str("body");
    ag->g->n_node = 1;
    ag->g->node = pb.alloc<Onnx__NodeProto *>(1);
    ag->g->node[0] = pb.make(onnx__node_proto__init);
    ag->g->node[0]->op_type = pb.str("Neg");
    auto *atp = pb.attr(n, "tp", OT_ATTR_TYPE_PROTO);
    atp->tp = pb.tensor_type(OT_DTYPE_FLOAT, nullptr);
    auto *asp = pb.attr(n, "sp", OT_ATTR_SPARSE_TENSOR);
    asp->sparse_tensor = pb.make(onnx__sparse_tensor_proto__init);
    asp->sparse_tensor->values = pb.raw_tensor("", OT_DTYPE_FLOAT, {1}, bytes_of<float>({1}));

    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    const ot_node_t &nd = r.m->graph.nodes[0];
    EXPECT_STREQ(nd.info.domain, "org.test");
    EXPECT_EQ(nd.info.opset, 1);
    ASSERT_EQ(nd.n_inputs, 3);
    EXPECT_EQ(nd.inputs[1], -1);
    ASSERT_EQ(nd.n_outputs, 3);
    EXPECT_EQ(nd.outputs[1], -1);
    EXPECT_EQ(value(r.m, "Z").producer, 0);
    const ot_node_info_t *info = &nd.info;
    ASSERT_EQ(info->n_attrs, 12);
    EXPECT_EQ(ot_attr_float(info, "f", 0), 0.25f);
    EXPECT_EQ(ot_attr_int(info, "i", 0), -42);
    const ot_attr_t *s = ot_node_attr(info, "s");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->s_len, 3u);
    EXPECT_EQ(std::string(s->s, 3), std::string("a\0b", 3));
    const ot_attr_t *t = ot_node_attr(info, "t");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(data_of<int64_t>(*t->t), (std::vector<int64_t>{5, 6}));
    const float *fl;
    ASSERT_EQ(ot_attr_floats(info, "floats", &fl), 3);
    EXPECT_EQ(fl[2], 3.f);
    const int64_t *in;
    ASSERT_EQ(ot_attr_ints(info, "ints", &in), 2);
    EXPECT_EQ(in[0], INT64_MIN);
    EXPECT_EQ(ot_attr_ints(info, "empty_ints", &in), 0); // present but empty, not absent
    EXPECT_EQ(ot_attr_ints(info, "nope", &in), -1);
    const ot_attr_t *ss = ot_node_attr(info, "strings");
    ASSERT_EQ(ss->n, 2);
    EXPECT_STREQ(ss->strings[0], "hello");
    EXPECT_STREQ(ss->strings[1], "");
    const ot_attr_t *ts = ot_node_attr(info, "tensors");
    ASSERT_EQ(ts->n, 2);
    EXPECT_EQ(data_of<float>(*ts->tensors[0]), std::vector<float>{9});
    EXPECT_EQ(ts->tensors[1]->shape.dims[0], 0);
    for (const char *raw : {"body", "tp", "sp"}) {
        const ot_attr_t *a = ot_node_attr(info, raw);
        ASSERT_NE(a, nullptr) << raw;
        ASSERT_NE(a->raw, nullptr) << raw;
        Onnx__AttributeProto *ap = onnx__attribute_proto__unpack(nullptr, a->raw_len, a->raw);
        ASSERT_NE(ap, nullptr) << raw;
        EXPECT_STREQ(ap->name, raw);
        EXPECT_EQ((int)ap->type, (int)a->type);
        if (std::string(raw) == "body") {
            ASSERT_NE(ap->g, nullptr);
            ASSERT_EQ(ap->g->n_node, 1u);
            EXPECT_STREQ(ap->g->node[0]->op_type, "Neg");
        }
        onnx__attribute_proto__free_unpacked(ap, nullptr);
    }
    expect_round_trip(r.m);
}

// ---- preservation of what the runtime does not interpret -----------------------

TEST(Loader, TrainingInfoFunctionsAndAnnotationsAreKeptVerbatim) {
    PbModel pb;
    relu_model(pb);
    pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, bytes_of<float>({0.5f})));
    auto *ti = pb.make(onnx__training_info_proto__init);
    ti->algorithm = pb.make(onnx__graph_proto__init);
    ti->algorithm->name = pb.str("train");
    ti->algorithm->n_node = 1;
    ti->algorithm->node = pb.alloc<Onnx__NodeProto *>(1);
    ti->algorithm->node[0] = pb.make(onnx__node_proto__init);
    ti->algorithm->node[0]->op_type = pb.str("Adagrad");
    ti->n_update_binding = 1;
    ti->update_binding = pb.alloc<Onnx__StringStringEntryProto *>(1);
    ti->update_binding[0] = pb.entry("W", "W_new");
    pb.training.push_back(ti);
    auto *fn = pb.make(onnx__function_proto__init);
    fn->name = pb.str("MyFn");
    fn->domain = pb.str("org.test");
    pb.functions.push_back(fn);
    auto *qa = pb.make(onnx__tensor_annotation__init);
    qa->tensor_name = pb.str("W");
    pb.g.n_quantization_annotation = 1;
    pb.g.quantization_annotation = pb.alloc<Onnx__TensorAnnotation *>(1);
    pb.g.quantization_annotation[0] = qa;

    std::string ti_bytes(onnx__training_info_proto__get_packed_size(ti), '\0');
    onnx__training_info_proto__pack(ti, reinterpret_cast<uint8_t *>(&ti_bytes[0]));
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    ASSERT_EQ(r.m->n_training_info, 1);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(r.m->training_info[0].data), r.m->training_info[0].len), ti_bytes);
    ASSERT_EQ(r.m->n_functions, 1);
    ASSERT_EQ(r.m->graph.n_quant_annotations, 1);

    TempDir dir;
    std::string path = dir.file("model.onnx");
    ot_status_t *st = ot_model_save(r.m, path.c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Loaded again = load_path(path);
    ASSERT_EQ(again.st, nullptr) << again.msg();
    expect_ir_equal(r.m, again.m);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(again.m->training_info[0].data), again.m->training_info[0].len),
              ti_bytes);
    // Nothing but the model is left in the folder (no temp files).
    int files = 0;
    for (auto &e : std::filesystem::directory_iterator(dir.path)) files += (int)!e.path().empty();
    EXPECT_EQ(files, 1);
}

TEST(Loader, AcceptedIrVersions) {
    for (int64_t ir = 3; ir <= 10; ir++) {
        PbModel pb(ir, 7);
        pb.input("X", OT_DTYPE_FLOAT, {Dim(2)});
        pb.input("W", OT_DTYPE_FLOAT, {Dim(2)}); // IR 3 needs initializers listed as inputs
        pb.output("Y", OT_DTYPE_FLOAT, {Dim(2)});
        pb.node("Add", {"X", "W"}, {"Y"});
        pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2}, bytes_of<float>({1, 2})));
        Loaded r = load_bytes(pb.bytes());
        ASSERT_EQ(r.st, nullptr) << "IR " << ir << ": " << r.msg();
        EXPECT_EQ(r.m->ir_version, ir);
    }
}

TEST(Loader, OldModelWithoutDefaultDomainImport) {
    // Only a custom domain imported, no node uses the default domain: fine.
    PbModel pb(8, 0);
    pb.add_opset("com.example", 2);
    pb.input("X", OT_DTYPE_FLOAT, {Dim(1)});
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(1)});
    pb.node("Custom", {"X"}, {"Y"})->domain = pb.str("com.example");
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    EXPECT_EQ(ot_model_opset(r.m, ""), -1);
    EXPECT_EQ(r.m->graph.nodes[0].info.opset, 2);
}

// ---- save --------------------------------------------------------------------------

TEST(Loader, SaveReplacesAtomicallyAndReportsErrors) {
    PbModel pb;
    relu_model(pb);
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    TempDir dir;
    std::string path = dir.file("m.onnx");
    dir.write("m.onnx", "old contents");
    chmod(path.c_str(), 0640);
    ot_status_t *st = ot_model_save(r.m, path.c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    struct stat sb;
    ASSERT_EQ(stat(path.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0640u); // the replaced file's mode is kept
    Loaded again = load_path(path);
    ASSERT_EQ(again.st, nullptr) << again.msg();
    expect_ir_equal(r.m, again.m);
    EXPECT_STREQ(again.m->dir, std::filesystem::canonical(dir.path).c_str());

    st = ot_model_save(r.m, (dir.path + "/no/such/dir/m.onnx").c_str());
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO);
    EXPECT_NE(std::string(ot_status_message(st)).find("no/such/dir/m.onnx"), std::string::npos)
        << ot_status_message(st);
    ot_status_free(st);

    // A folder in the way of the rename: error, temp file removed, folder kept.
    std::filesystem::create_directory(dir.file("taken"));
    dir.write("taken/file", "x");
    st = ot_model_save(r.m, dir.file("taken").c_str());
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO) << ot_status_message(st);
    ot_status_free(st);
    int files = 0;
    for (auto &e : std::filesystem::directory_iterator(dir.path)) files += (int)!e.path().empty();
    EXPECT_EQ(files, 2); // m.onnx and taken/
    EXPECT_TRUE(std::filesystem::is_directory(dir.file("taken")));
}

TEST(Loader, ModelToBytes) {
    PbModel pb;
    relu_model(pb);
    Loaded r = load_bytes(pb.bytes());
    ASSERT_EQ(r.st, nullptr) << r.msg();
    uint8_t *buf = nullptr;
    size_t len = 0;
    ASSERT_EQ(ot_model_to_bytes(r.m, &buf, &len), nullptr);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(nullptr, len, buf);
    ASSERT_NE(mp, nullptr);
    EXPECT_EQ(mp->ir_version, 8);
    EXPECT_EQ(mp->graph->n_node, 1u);
    EXPECT_EQ(mp->graph->n_value_info, 0u);
    onnx__model_proto__free_unpacked(mp, nullptr);
    free(buf);
}

// ---- external data ---------------------------------------------------------------

TEST(Loader, ExternalDataHappyPath) {
    TempDir dir;
    std::filesystem::create_directory(dir.file("weights"));
    std::vector<float> w = {1, 2, 3, 4, 5, 6};
    std::vector<int64_t> b = {-1, 7};
    dir.write("weights/all.bin", std::string(16, 'x') + bytes_of(w) + bytes_of(b));
    dir.write("b_only.bin", bytes_of(b));

    PbModel pb;
    pb.input("X", OT_DTYPE_FLOAT, {Dim(2), Dim(3)});
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(2), Dim(3)});
    pb.node("Add", {"X", "W"}, {"Y"});
    pb.node("Identity", {"B"}, {"Z"});
    pb.node("Identity", {"C"}, {"Z2"});
    auto *tw = pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2, 3}));
    pb.external(tw, {{"location", "weights/all.bin"}, {"offset", "16"}, {"length", "24"}, {"checksum", "ignored"}});
    auto *tb = pb.init(pb.tensor("B", OT_DTYPE_INT64, {2}));
    pb.external(tb, {{"location", "./weights/all.bin"}, {"offset", "40"}}); // no length: dims decide
    auto *tc = pb.init(pb.tensor("C", OT_DTYPE_INT64, {2}));
    pb.external(tc, {{"location", "b_only.bin"}});
    std::string bytes = pb.bytes();
    dir.write("model.onnx", bytes);

    Loaded r = load_path(dir.file("model.onnx"));
    ASSERT_EQ(r.st, nullptr) << r.msg();
    EXPECT_EQ(data_of<float>(value(r.m, "W").type), w);
    EXPECT_EQ(data_of<int64_t>(value(r.m, "B").type), b);
    EXPECT_EQ(data_of<int64_t>(value(r.m, "C").type), b);

    Loaded r2 = load_bytes(bytes, dir.path.c_str());
    ASSERT_EQ(r2.st, nullptr) << r2.msg();
    EXPECT_EQ(data_of<float>(value(r2.m, "W").type), w);

    // Saved inline: loads anywhere, with no external data left.
    TempDir other;
    ot_status_t *st = ot_model_save(r.m, other.file("inline.onnx").c_str());
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    Loaded r3 = load_path(other.file("inline.onnx"));
    ASSERT_EQ(r3.st, nullptr) << r3.msg();
    expect_ir_equal(r.m, r3.m);
}

// ---- .npy and .pb tensor files ---------------------------------------------------

static std::string npy(const std::string &descr, const std::string &shape, const std::string &data, int major = 1,
                       bool fortran = false) {
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    size_t pre = major == 1 ? 10 : 12;
    while ((pre + dict.size() + 1) % 64) dict += ' ';
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += (char)major;
    out += (char)0;
    uint32_t n = (uint32_t)dict.size();
    out += (char)(n & 0xff);
    out += (char)(n >> 8);
    if (major != 1) {
        out += (char)(n >> 16);
        out += (char)(n >> 24);
    }
    return out + dict + data;
}

struct NpyCase {
    const char *label;
    std::string descr;
    ot_dtype_t dtype;
    std::string data;
};

TEST(TensorIo, NpyDtypesAndVersions) {
    std::vector<NpyCase> cases = {
        {"f4", "<f4", OT_DTYPE_FLOAT, bytes_of<float>({1.5f, -2, 3, 4, 5, 6})},
        {"f8", "<f8", OT_DTYPE_DOUBLE, bytes_of<double>({1, 2, 3, 4, 5, -6})},
        {"i8", "<i8", OT_DTYPE_INT64, bytes_of<int64_t>({1, -2, 3, INT64_MAX, 5, 6})},
        {"i4", "<i4", OT_DTYPE_INT32, bytes_of<int32_t>({1, -2, 3, 4, 5, 6})},
        {"u1", "|u1", OT_DTYPE_UINT8, bytes_of<uint8_t>({1, 2, 3, 4, 5, 255})},
        {"i1", "|i1", OT_DTYPE_INT8, bytes_of<int8_t>({1, -2, 3, 4, 5, 6})},
        {"b1", "|b1", OT_DTYPE_BOOL, bytes_of<uint8_t>({1, 0, 1, 1, 0, 0})},
        {"i2", "<i2", OT_DTYPE_INT16, bytes_of<int16_t>({1, -2, 3, 4, 5, 6})},
        {"u2", "<u2", OT_DTYPE_UINT16, bytes_of<uint16_t>({1, 2, 3, 4, 5, 65535})},
        {"f2", "<f2", OT_DTYPE_FLOAT16, bytes_of<uint16_t>({0x3C00, 0, 0, 0, 0, 0xC000})},
        {"u4", "<u4", OT_DTYPE_UINT32, bytes_of<uint32_t>({1, 2, 3, 4, 5, 6})},
        {"u8", "<u8", OT_DTYPE_UINT64, bytes_of<uint64_t>({1, 2, 3, 4, 5, 6})},
    };
    TempDir dir;
    for (int major : {1, 2, 3}) {
        for (const NpyCase &c : cases) {
            std::string label = std::string(c.label) + " v" + std::to_string(major);
            std::string path = dir.file(std::string(c.label) + ".npy");
            dir.write(std::string(c.label) + ".npy", npy(c.descr, "(2, 3)", c.data, major));
            ot_tensor_t *t = nullptr;
            ot_status_t *st = ot_tensor_load(path.c_str(), &t);
            ASSERT_EQ(st, nullptr) << label << ": " << ot_status_message(st);
            EXPECT_EQ(t->dtype, c.dtype) << label;
            ASSERT_EQ(t->shape.rank, 2) << label;
            EXPECT_EQ(t->shape.dims[0], 2);
            EXPECT_EQ(t->shape.dims[1], 3);
            EXPECT_EQ(std::string(static_cast<char *>(t->data), ot_tensor_nbytes(t)), c.data) << label;
            ot_tensor_destroy(t);
        }
    }
    // Scalar, 1-D with trailing comma, and empty arrays.
    struct Shape {
        std::string text;
        int rank;
        size_t bytes;
    };
    for (const Shape &s : std::vector<Shape>{{"()", 0, 4}, {"(5,)", 1, 20}, {"(0, 4)", 2, 0}, {"(2,2,1,1)", 4, 16}}) {
        dir.write("s.npy", npy("<f4", s.text, std::string(s.bytes, '\0')));
        ot_tensor_t *t = nullptr;
        ot_status_t *st = ot_tensor_load(dir.file("s.npy").c_str(), &t);
        ASSERT_EQ(st, nullptr) << s.text << ": " << ot_status_message(st);
        EXPECT_EQ(t->shape.rank, s.rank) << s.text;
        EXPECT_EQ(ot_tensor_nbytes(t), s.bytes) << s.text;
        ot_tensor_destroy(t);
    }
}

TEST(TensorIo, NpyRefusals) {
    TempDir dir;
    struct Bad {
        std::string content;
        ot_code_t code;
        const char *substr;
    };
    std::string six = bytes_of<float>({1, 2, 3, 4, 5, 6});
    std::vector<Bad> bad = {
        {npy("<f4", "(2, 3)", six, 1, true), OT_ERR_UNSUPPORTED, "fortran_order True"},
        {npy(">f4", "(2, 3)", six), OT_ERR_UNSUPPORTED, "big-endian"},
        {npy("<U3", "(2,)", std::string(24, 'a')), OT_ERR_UNSUPPORTED, "dtype '<U3'"},
        {npy("<f4", "(2, 3)", six.substr(0, 20)), OT_ERR_INVALID_MODEL, "data has 20 bytes"},
        {npy("<f4", "(2, 3)", six + "xx"), OT_ERR_INVALID_MODEL, "data has 26 bytes"},
        {npy("<f4", "(2, 3", six), OT_ERR_INVALID_MODEL, "malformed header"},
        {npy("<f4", "(1,1,1,1,1,1,1,1,1)", std::string(4, '\0')), OT_ERR_UNSUPPORTED, "maximum rank"},
        {npy("<f4", "(1099511627776, 1099511627776)", ""), OT_ERR_INVALID_MODEL, "overflow"},
        {std::string("\x93NUMPY\x09\x00", 8) + "xx", OT_ERR_UNSUPPORTED, "version 9.0"},
        {std::string("\x93NUMPY\x01\x00\xff\x00{", 11), OT_ERR_INVALID_MODEL, "exceeds the file"},
        {"not a tensor at all \xff\xff\xff", OT_ERR_INVALID_MODEL, "cannot parse"},
    };
    for (const Bad &b : bad) {
        dir.write("bad.npy", b.content);
        ot_tensor_t *t = nullptr;
        ot_status_t *st = ot_tensor_load(dir.file("bad.npy").c_str(), &t);
        EXPECT_EQ(t, nullptr);
        EXPECT_EQ(ot_code_name(ot_status_code(st)), std::string(ot_code_name(b.code))) << ot_status_message(st);
        EXPECT_NE(std::string(ot_status_message(st)).find(b.substr), std::string::npos)
            << ot_status_message(st) << " / expected " << b.substr;
        ot_status_free(st);
    }
    ot_tensor_t *t = nullptr;
    ot_status_t *st = ot_tensor_load(dir.file("missing.npy").c_str(), &t);
    EXPECT_EQ(ot_status_code(st), OT_ERR_IO);
    EXPECT_NE(std::string(ot_status_message(st)).find("missing.npy"), std::string::npos);
    ot_status_free(st);
}

TEST(TensorIo, PbSaveLoadRoundTrip) {
    TempDir dir;
    ot_shape_t shape{3, {2, 1, 3}};
    ot_tensor_t *t = nullptr;
    ASSERT_EQ(ot_tensor_create(OT_DTYPE_INT16, &shape, &t), nullptr);
    for (int i = 0; i < 6; i++) static_cast<int16_t *>(t->data)[i] = (int16_t)(i * 1000 - 2500);
    std::string path = dir.file("t.pb");
    ASSERT_EQ(ot_tensor_save_pb(t, "my_tensor", path.c_str()), nullptr);
    ot_tensor_t *u = nullptr;
    ot_status_t *st = ot_tensor_load(path.c_str(), &u);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    expect_tensor_eq(*t, *u, "pb round trip");
    ot_tensor_destroy(u);
    // The name is written.
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(nullptr, bytes.size(), reinterpret_cast<uint8_t *>(&bytes[0]));
    ASSERT_NE(tp, nullptr);
    EXPECT_STREQ(tp->name, "my_tensor");
    EXPECT_TRUE(tp->has_raw_data);
    onnx__tensor_proto__free_unpacked(tp, nullptr);
    ot_tensor_destroy(t);

    // A conformance input (typed fields or raw_data, whatever ONNX wrote).
    const char *conf = "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/input_0.pb";
    if (std::filesystem::exists(conf)) {
        ASSERT_EQ(ot_tensor_load(conf, &u), nullptr);
        EXPECT_EQ(u->dtype, OT_DTYPE_FLOAT);
        EXPECT_EQ(u->shape.rank, 3);
        ot_tensor_destroy(u);
    }
}

// ---- every model in ONNX's test data ----------------------------------------------

TEST(Loader, ConformanceModelsLoadOrFailCleanly) {
    const char *root = "/usr/share/libonnx-testdata/data";
    if (!std::filesystem::exists(root)) GTEST_SKIP() << "libonnx-testdata not installed";
    std::map<std::string, int> counts;
    std::vector<std::string> paths;
    for (const char *sub : {"node", "simple", "pytorch-converted", "pytorch-operator"})
        for (auto &e : std::filesystem::directory_iterator(std::string(root) + "/" + sub))
            if (std::filesystem::exists(e.path() / "model.onnx")) paths.push_back((e.path() / "model.onnx").string());
    std::sort(paths.begin(), paths.end());
    std::map<std::string, std::string> failures;
    for (const std::string &p : paths) {
        Loaded r = load_path(p);
        ot_code_t c = r.code();
        counts[ot_code_name(c)]++;
        EXPECT_TRUE(c == OT_OK || c == OT_ERR_UNSUPPORTED || c == OT_ERR_INVALID_MODEL) << p << ": " << r.msg();
        if (c != OT_OK) failures[p] = r.msg();
        if (c == OT_OK) {
            SCOPED_TRACE(p);
            expect_round_trip(r.m);
        }
    }
    std::printf("[ loader ] %zu conformance models:", paths.size());
    for (auto &kv : counts) std::printf(" %s=%d", kv.first.c_str(), kv.second);
    std::printf("\n");
    if (std::getenv("OT_LOADER_VERBOSE"))
        for (auto &kv : failures) std::printf("  %s: %s\n", kv.first.c_str(), kv.second.c_str());
    EXPECT_GT(counts["OK"], (int)paths.size() * 9 / 10);
}
