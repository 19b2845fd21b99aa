// tests/test_malformed.cc: the malformed-model corpus for the loader. Each
// case is built here with protobuf-c (or by damaging bytes) and asserts the
// exact status code and a message substring naming the culprit. Graph-level
// problems (cycles, missing inputs, schema mismatches, unknown ops) belong
// to the validator's tests.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <random>

#include "tests/model_builder.h"

using namespace ot_test;

namespace {

// X (2, 3) + W -> Y with W inline; the base every case damages.
void base_model(PbModel &pb) {
    pb.input("X", OT_DTYPE_FLOAT, {Dim(2), Dim(3)});
    pb.output("Y", OT_DTYPE_FLOAT, {Dim(2), Dim(3)});
    auto *n = pb.node("Add", {"X", "W"}, {"Y"}, "add");
    (void)n;
}

struct Case {
    const char *name;
    std::function<void(PbModel &)> damage;
    ot_code_t code;
    const char *substr;
};

std::vector<Case> cases() {
    std::vector<Case> c;
    c.push_back({"raw_data_size_mismatch",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2, 3}, std::string(10, '\0')));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': raw_data has 10 bytes, dims (2, 3) of float32 need 24"});
    c.push_back({"typed_field_count_mismatch",
                 [](PbModel &pb) {
                     auto *t = pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2, 3}));
                     t->n_float_data = 5;
                     t->float_data = pb.copy<float>({1, 2, 3, 4, 5});
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': float_data has 5 values, dims (2, 3) of float32 need 6"});
    c.push_back({"int32_data_count_mismatch",
                 [](PbModel &pb) {
                     auto *t = pb.init(pb.tensor("W", OT_DTYPE_FLOAT16, {4}));
                     t->n_int32_data = 3;
                     t->int32_data = pb.copy<int32_t>({1, 2, 3});
                 },
                 OT_ERR_INVALID_MODEL, "int32_data has 3 values, dims (4) of float16 need 4"});
    c.push_back({"no_data",
                 [](PbModel &pb) {
                     pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2, 3}));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': has no data"});
    c.push_back({"wrong_typed_field",
                 [](PbModel &pb) {
                     auto *t = pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2}));
                     t->n_int64_data = 2;
                     t->int64_data = pb.copy<int64_t>({1, 2});
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': int64_data is not valid for a float32 tensor"});
    c.push_back({"raw_and_typed",
                 [](PbModel &pb) {
                     auto *t = pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                     t->n_float_data = 1;
                     t->float_data = pb.copy<float>({1});
                 },
                 OT_ERR_INVALID_MODEL, "has both raw_data and float_data"});
    c.push_back({"negative_dim",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2, -3}, ""));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': dims (2, -3) has a negative dimension"});
    c.push_back({"dims_overflow",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1ll << 40, 1ll << 40}, ""));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W': dims (1099511627776, 1099511627776) of float32 overflow"});
    c.push_back({"dims_overflow_with_element_size",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_DOUBLE, {1ll << 31, 1ll << 31}, ""));
                 },
                 OT_ERR_INVALID_MODEL, "overflow"});
    c.push_back({"rank_too_large",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1, 1, 1, 1, 1, 1, 1, 1, 1}, std::string(4, '\0')));
                 },
                 OT_ERR_UNSUPPORTED, "initializer 'W': rank 9 exceeds the maximum rank 8"});
    c.push_back({"unknown_data_type", [](PbModel &pb) { pb.init(pb.raw_tensor("W", 99, {1}, "")); },
                 OT_ERR_INVALID_MODEL, "initializer 'W': unknown data type 99"});
    c.push_back({"missing_data_type", [](PbModel &pb) { pb.init(pb.raw_tensor("W", 0, {1}, "")); },
                 OT_ERR_INVALID_MODEL, "initializer 'W': data_type is missing"});
    c.push_back({"string_tensor", [](PbModel &pb) { pb.init(pb.tensor("W", OT_DTYPE_STRING, {1})); },
                 OT_ERR_UNSUPPORTED, "initializer 'W': string tensors are not supported"});
    c.push_back({"float8_tensor", [](PbModel &pb) { pb.init(pb.raw_tensor("W", 17, {1}, "x")); }, OT_ERR_UNSUPPORTED,
                 "float8e4m3fn (17) is not supported"});
    c.push_back({"segment",
                 [](PbModel &pb) {
                     auto *t = pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                     t->segment = pb.make(onnx__tensor_proto__segment__init);
                 },
                 OT_ERR_UNSUPPORTED, "initializer 'W': segmented tensors"});
    c.push_back({"sparse_initializer",
                 [](PbModel &pb) {
                     auto *sp = pb.make(onnx__sparse_tensor_proto__init);
                     sp->values = pb.raw_tensor("S", OT_DTYPE_FLOAT, {1}, std::string(4, '\0'));
                     pb.sparse_inits.push_back(sp);
                 },
                 OT_ERR_UNSUPPORTED, "sparse initializer 'S' is not supported"});
    c.push_back({"initializer_without_name",
                 [](PbModel &pb) { pb.init(pb.raw_tensor("", OT_DTYPE_FLOAT, {1}, std::string(4, '\0'))); },
                 OT_ERR_INVALID_MODEL, "initializer #0 has no name"});
    c.push_back({"duplicate_initializer",
                 [](PbModel &pb) {
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W' is defined twice"});
    c.push_back({"initializer_dtype_differs_from_input",
                 [](PbModel &pb) {
                     pb.input("W", OT_DTYPE_INT64, {Dim(1)});
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W' is float32 but graph input 'W' declares int64"});
    c.push_back({"ir3_initializer_not_an_input",
                 [](PbModel &pb) {
                     pb.m.ir_version = 3;
                     pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
                 },
                 OT_ERR_INVALID_MODEL, "initializer 'W' is not listed in graph.input (required for IR version 3)"});
    c.push_back({"sequence_input",
                 [](PbModel &pb) {
                     auto *v = pb.make(onnx__value_info_proto__init);
                     v->name = pb.str("W");
                     v->type = pb.make(onnx__type_proto__init);
                     v->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
                     v->type->sequence_type = pb.make(onnx__type_proto__sequence__init);
                     pb.inputs.push_back(v);
                 },
                 OT_ERR_UNSUPPORTED, "graph input 'W' has a sequence type; only tensor types are supported"});
    c.push_back({"map_value_info",
                 [](PbModel &pb) {
                     auto *v = pb.make(onnx__value_info_proto__init);
                     v->name = pb.str("W");
                     v->type = pb.make(onnx__type_proto__init);
                     v->type->value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE;
                     v->type->map_type = pb.make(onnx__type_proto__map__init);
                     pb.value_infos.push_back(v);
                 },
                 OT_ERR_UNSUPPORTED, "value_info 'W' has a map type"});
    c.push_back({"string_input", [](PbModel &pb) { pb.input("W", OT_DTYPE_STRING, {Dim(1)}); }, OT_ERR_UNSUPPORTED,
                 "graph input 'W': string tensors are not supported"});
    c.push_back({"negative_dim_value", [](PbModel &pb) { pb.input("W", OT_DTYPE_FLOAT, {Dim(-2)}); },
                 OT_ERR_INVALID_MODEL, "graph input 'W': dim 0 has negative dim_value -2"});
    c.push_back({"input_rank_too_large",
                 [](PbModel &pb) { pb.input("W", OT_DTYPE_FLOAT, std::vector<Dim>(9, Dim(1))); }, OT_ERR_UNSUPPORTED,
                 "graph input 'W': rank 9 exceeds the maximum rank 8"});
    c.push_back({"duplicate_input", [](PbModel &pb) { pb.input("X", OT_DTYPE_FLOAT, {Dim(1)}); }, OT_ERR_INVALID_MODEL,
                 "graph input 'X' is listed twice"});
    c.push_back({"input_without_name", [](PbModel &pb) { pb.input("", OT_DTYPE_FLOAT, {Dim(1)}); },
                 OT_ERR_INVALID_MODEL, "graph input #1 has no name"});
    c.push_back({"attribute_unknown_type", [](PbModel &pb) { pb.attr(pb.nodes[0], "alpha", 99); }, OT_ERR_INVALID_MODEL,
                 "node 'add' (Add): attribute 'alpha' has unknown type 99"});
    // Add has no attributes (its record's schema is NULL): any is refused
    c.push_back({"attribute_not_in_schema", [](PbModel &pb) { pb.attr(pb.nodes[0], "alpha", OT_ATTR_FLOAT); },
                 OT_ERR_INVALID_MODEL, "node 'add' (Add): unknown attribute 'alpha'"});
    c.push_back({"attribute_without_type",
                 [](PbModel &pb) { pb.attr(pb.nodes[0], "alpha", OT_ATTR_FLOAT)->has_type = 0; }, OT_ERR_INVALID_MODEL,
                 "node 'add' (Add): attribute 'alpha' has no type"});
    c.push_back({"attribute_ref_attr_name",
                 [](PbModel &pb) { pb.attr(pb.nodes[0], "alpha", OT_ATTR_FLOAT)->ref_attr_name = pb.str("a"); },
                 OT_ERR_INVALID_MODEL, "attribute 'alpha' refers to function attribute 'a'"});
    c.push_back({"attribute_twice",
                 [](PbModel &pb) {
                     pb.attr(pb.nodes[0], "alpha", OT_ATTR_FLOAT);
                     pb.attr(pb.nodes[0], "alpha", OT_ATTR_INT);
                 },
                 OT_ERR_INVALID_MODEL, "node 'add' (Add): attribute 'alpha' is given twice"});
    c.push_back({"tensor_attribute_without_tensor", [](PbModel &pb) { pb.attr(pb.nodes[0], "value", OT_ATTR_TENSOR); },
                 OT_ERR_INVALID_MODEL, "attribute 'value' of type TENSOR has no tensor"});
    c.push_back({"bad_tensor_attribute",
                 [](PbModel &pb) {
                     pb.attr(pb.nodes[0], "value", OT_ATTR_TENSOR)->t =
                         pb.raw_tensor("", OT_DTYPE_FLOAT, {3}, std::string(4, '\0'));
                 },
                 OT_ERR_INVALID_MODEL,
                 "node 'add' (Add): attribute 'value': raw_data has 4 bytes, dims (3) of float32 need 12"});
    c.push_back({"node_without_op_type", [](PbModel &pb) { pb.node("", {"X"}, {"Z"}); }, OT_ERR_INVALID_MODEL,
                 "node #1 has no op_type"});
    c.push_back({"node_domain_not_imported",
                 [](PbModel &pb) { pb.node("Foo", {"X"}, {"Z"}, "foo")->domain = pb.str("com.nowhere"); },
                 OT_ERR_INVALID_MODEL,
                 "node 'foo' (Foo): domain 'com.nowhere' is not listed in the model's opset_import"});
    c.push_back({"ir_version_too_new", [](PbModel &pb) { pb.m.ir_version = 11; }, OT_ERR_UNSUPPORTED,
                 "IR version 11 is not supported"});
    c.push_back({"ir_version_too_old", [](PbModel &pb) { pb.m.ir_version = 2; }, OT_ERR_UNSUPPORTED,
                 "IR version 2 is not supported"});
    c.push_back({"ir_version_missing", [](PbModel &pb) { pb.m.has_ir_version = 0; }, OT_ERR_INVALID_MODEL,
                 "has no ir_version"});
    c.push_back(
        {"no_opset_import", [](PbModel &pb) { pb.opsets.clear(); }, OT_ERR_INVALID_MODEL, "has no opset_import"});
    c.push_back({"opset_twice", [](PbModel &pb) { pb.add_opset("ai.onnx", 12); }, OT_ERR_INVALID_MODEL,
                 "opset_import lists domain '' twice"});
    c.push_back({"opset_version_invalid", [](PbModel &pb) { pb.add_opset("com.x", 1ll << 40); }, OT_ERR_INVALID_MODEL,
                 "opset_import for domain 'com.x' has no valid version (1099511627776)"});
    c.push_back({"no_graph", [](PbModel &pb) { pb.m.graph = nullptr; }, OT_ERR_INVALID_MODEL, "has no graph"});
    return c;
}

class Malformed : public ::testing::TestWithParam<Case> {};

TEST_P(Malformed, FailsWithCodeAndMessage) {
    const Case &c = GetParam();
    PbModel pb;
    base_model(pb);
    c.damage(pb);
    Loaded r = load_bytes(pb.bytes());
    EXPECT_EQ(r.m, nullptr);
    EXPECT_STATUS(r, c.code, c.substr);
    EXPECT_EQ(r.msg().rfind("model '<memory>': ", 0), 0u) << r.msg(); // names the model first
}

INSTANTIATE_TEST_SUITE_P(Corpus, Malformed, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case> &i) { return std::string(i.param.name); });

// A small model with a bit of everything, for byte-level damage.
std::string small_model_bytes() {
    PbModel pb;
    base_model(pb);
    pb.init(pb.raw_tensor("W", OT_DTYPE_FLOAT, {2, 3}, bytes_of<float>({1, 2, 3, 4, 5, 6})));
    auto *a = pb.attr(pb.node("Transpose", {"W"}, {"WT"}, "transpose"), "perm", OT_ATTR_INTS);
    a->n_ints = 2;
    a->ints = pb.copy<int64_t>({1, 0});
    pb.attr(pb.node("Constant", {}, {"C"}, "constant"), "value", OT_ATTR_TENSOR)->t =
        pb.raw_tensor("", OT_DTYPE_INT64, {1}, std::string(8, '\1'));
    pb.metadata.push_back(pb.entry("k", "v"));
    return pb.bytes();
}

} // namespace

TEST(MalformedBytes, EveryPrefixFailsCleanly) {
    std::string full = small_model_bytes();
    ASSERT_EQ(load_bytes(full).st, nullptr);
    int parse_errors = 0;
    for (size_t n = 0; n < full.size(); n++) {
        // Heap copy of exactly n bytes, so ASan catches any read past the end.
        std::unique_ptr<char[]> buf(new char[n ? n : 1]);
        std::memcpy(buf.get(), full.data(), n);
        Loaded r;
        ot_load_options_t opts{true};
        r.st = ot_model_load_bytes(buf.get(), n, nullptr, test_registry(), &opts, &r.m);
        ot_code_t c = r.code();
        EXPECT_TRUE(c == OT_OK || c == OT_ERR_INVALID_MODEL || c == OT_ERR_UNSUPPORTED) << n << ": " << r.msg();
        parse_errors += r.msg().find("cannot parse") != std::string::npos;
    }
    EXPECT_GT(parse_errors, (int)full.size() / 2);
    Loaded r = load_bytes(full.substr(0, full.size() - 1));
    EXPECT_STATUS(r, OT_ERR_INVALID_MODEL, "as an ONNX ModelProto (truncated or not ONNX?)");
    Loaded e = load_bytes("");
    EXPECT_STATUS(e, OT_ERR_INVALID_MODEL, "is empty");
}

TEST(MalformedBytes, GarbageAndMutations) {
    Loaded r = load_bytes(std::string(64, '\xff'));
    EXPECT_STATUS(r, OT_ERR_INVALID_MODEL, "cannot parse 64 bytes as an ONNX ModelProto");
    Loaded txt = load_bytes("ir_version: 8\nproducer_name: \"pytorch\"\n");
    EXPECT_TRUE(txt.code() == OT_ERR_INVALID_MODEL) << txt.msg();

    std::mt19937 rng(1234);
    for (int i = 0; i < 300; i++) {
        std::string g(rng() % 200, '\0');
        for (char &ch : g) ch = (char)(rng() & 0xff);
        Loaded x = load_bytes(g);
        ot_code_t c = x.code();
        EXPECT_TRUE(c == OT_ERR_INVALID_MODEL || c == OT_ERR_UNSUPPORTED) << x.msg();
    }
    // Flip bytes of a valid model: any outcome but a crash or a wrong code.
    std::string full = small_model_bytes();
    for (int i = 0; i < 2000; i++) {
        std::string m = full;
        int flips = 1 + (int)(rng() % 3);
        for (int k = 0; k < flips; k++) m[rng() % m.size()] = (char)(rng() & 0xff);
        Loaded x = load_bytes(m);
        ot_code_t c = x.code();
        EXPECT_TRUE(c == OT_OK || c == OT_ERR_INVALID_MODEL || c == OT_ERR_UNSUPPORTED) << x.msg();
    }
}

// Real models with subgraphs, many attributes and initializers, damaged.
TEST(MalformedBytes, MutatedConformanceModels) {
    const char *names[] = {"node/test_if",
                           "node/test_loop11",
                           "node/test_conv_with_strides_padding",
                           "node/test_lstm_with_peepholes",
                           "simple/test_gradient_of_add_and_mul",
                           "pytorch-converted/test_ConvTranspose2d"};
    std::mt19937 rng(99);
    int tried = 0;
    for (const char *name : names) {
        std::string path = std::string("/usr/share/libonnx-testdata/data/") + name + "/model.onnx";
        std::ifstream f(path, std::ios::binary);
        if (!f) continue;
        std::string full((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        tried++;
        for (int i = 0; i < 500; i++) {
            std::string m = full;
            int flips = 1 + (int)(rng() % 4);
            for (int k = 0; k < flips; k++) m[rng() % m.size()] = (char)(rng() & 0xff);
            if (i % 5 == 0) m.resize(rng() % m.size());
            Loaded x = load_bytes(m);
            ot_code_t c = x.code();
            EXPECT_TRUE(c == OT_OK || c == OT_ERR_INVALID_MODEL || c == OT_ERR_UNSUPPORTED) << name << ": " << x.msg();
            if (c == OT_OK) expect_round_trip(x.m);
        }
    }
    if (!tried) GTEST_SKIP() << "libonnx-testdata not installed";
}

TEST(MalformedFiles, MissingAndNotRegular) {
    Loaded r = load_path("/nonexistent/folder/model.onnx");
    EXPECT_STATUS(r, OT_ERR_IO, "/nonexistent/folder/model.onnx");
    TempDir dir;
    Loaded d = load_path(dir.path);
    EXPECT_STATUS(d, OT_ERR_IO, "is not a regular file");
    dir.write("empty.onnx", "");
    Loaded e = load_path(dir.file("empty.onnx"));
    EXPECT_STATUS(e, OT_ERR_INVALID_MODEL, "is empty");
}

// ---- external data -------------------------------------------------------------------

struct ExtCase {
    const char *name;
    std::vector<std::pair<std::string, std::string>> kv;
    ot_code_t code;
    const char *substr;
};

class MalformedExternal : public ::testing::TestWithParam<ExtCase> {};

TEST_P(MalformedExternal, IsRefused) {
    const ExtCase &c = GetParam();
    // Layout: /tmp/ot_loader_X/{secret.bin, model/{model.onnx, w.bin, link.bin -> ../secret.bin}}
    TempDir root;
    std::string data(24, '\x01');
    root.write("secret.bin", data);
    std::filesystem::create_directory(root.file("model"));
    root.write("model/w.bin", data);
    ASSERT_EQ(symlink("../secret.bin", root.file("model/link.bin").c_str()), 0);
    ASSERT_EQ(symlink(".", root.file("model/self").c_str()), 0); // symlinks inside are fine

    PbModel pb;
    base_model(pb);
    auto *t = pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2, 3}));
    pb.external(t, c.kv);
    std::string bytes = pb.bytes();
    root.write("model/model.onnx", bytes);
    Loaded r = load_path(root.file("model/model.onnx"));
    if (c.code == OT_OK) {
        ASSERT_EQ(r.st, nullptr) << r.msg();
        return;
    }
    EXPECT_EQ(r.m, nullptr);
    EXPECT_STATUS(r, c.code, c.substr);
    EXPECT_NE(r.msg().find("initializer 'W'"), std::string::npos) << r.msg();
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, MalformedExternal,
    ::testing::Values(
        ExtCase{"control_ok", {{"location", "w.bin"}}, OT_OK, ""},
        ExtCase{"symlink_inside_ok", {{"location", "self/self/w.bin"}}, OT_OK, ""},
        ExtCase{"dotdot",
                {{"location", "../secret.bin"}},
                OT_ERR_INVALID_MODEL,
                "external data location '../secret.bin' has a '..' component"},
        ExtCase{"dotdot_inside", {{"location", "sub/../../secret.bin"}}, OT_ERR_INVALID_MODEL, "'..' component"},
        ExtCase{"absolute",
                {{"location", "/etc/passwd"}},
                OT_ERR_INVALID_MODEL,
                "external data location '/etc/passwd' is an absolute path"},
        ExtCase{"symlink_outside",
                {{"location", "link.bin"}},
                OT_ERR_INVALID_MODEL,
                "external data location 'link.bin' resolves to"},
        ExtCase{"past_end",
                {{"location", "w.bin"}, {"offset", "8"}, {"length", "24"}},
                OT_ERR_INVALID_MODEL,
                "external data 'w.bin' (offset 8, length 24) extends past the end of the file (24 bytes)"},
        ExtCase{"offset_past_end",
                {{"location", "w.bin"}, {"offset", "1000"}},
                OT_ERR_INVALID_MODEL,
                "extends past the end of the file"},
        ExtCase{"length_mismatch",
                {{"location", "w.bin"}, {"length", "20"}},
                OT_ERR_INVALID_MODEL,
                "external data 'w.bin' has length 20, dims (2, 3) of float32 need 24"},
        ExtCase{"bad_offset",
                {{"location", "w.bin"}, {"offset", "-4"}},
                OT_ERR_INVALID_MODEL,
                "has offset '-4' (not a non-negative integer)"},
        ExtCase{"missing_file", {{"location", "nope.bin"}}, OT_ERR_IO, "cannot open external data 'nope.bin'"},
        ExtCase{"not_a_file", {{"location", "self"}}, OT_ERR_IO, "external data 'self' is not a regular file"},
        ExtCase{"no_location", {{"offset", "0"}}, OT_ERR_INVALID_MODEL, "external data has no location"}),
    [](const ::testing::TestParamInfo<ExtCase> &i) { return std::string(i.param.name); });

TEST(MalformedExternalMore, FromBytesWithoutBaseDirAndInlineConflicts) {
    PbModel pb;
    base_model(pb);
    auto *t = pb.init(pb.tensor("W", OT_DTYPE_FLOAT, {2, 3}));
    pb.external(t, {{"location", "w.bin"}});
    Loaded r = load_bytes(pb.bytes(), nullptr);
    EXPECT_STATUS(r, OT_ERR_INVALID_ARGUMENT, "initializer 'W': external data 'w.bin' cannot be read");

    t->has_raw_data = 1;
    t->raw_data = pb.bin(std::string(24, '\0'));
    Loaded r2 = load_bytes(pb.bytes(), "/tmp");
    EXPECT_STATUS(r2, OT_ERR_INVALID_MODEL, "data_location is EXTERNAL but data is also stored inline");

    PbModel pb2;
    base_model(pb2);
    auto *t2 = pb2.init(pb2.raw_tensor("W", OT_DTYPE_FLOAT, {1}, std::string(4, '\0')));
    pb2.external(t2, {{"location", "w.bin"}});
    t2->has_data_location = 0;
    Loaded r3 = load_bytes(pb2.bytes(), "/tmp");
    EXPECT_STATUS(r3, OT_ERR_INVALID_MODEL, "has external_data entries but data_location is not EXTERNAL");
}
