// tests/test_registry.cc: the op table and registry lookups.
#include <gtest/gtest.h>

#include "onnxtrain/onnxtrain.h"

TEST(Registry, FindsBuiltinByOpset) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    const ot_op_def_t *relu = ot_registry_find(reg, "", "Relu", 14);
    ASSERT_NE(relu, nullptr);
    EXPECT_STREQ(relu->op_type, "Relu");
    EXPECT_EQ(ot_registry_find(reg, "ai.onnx", "Relu", 14), relu);
    EXPECT_EQ(ot_registry_find(reg, "", "Relu", 5), nullptr); // before Relu-6
    EXPECT_EQ(ot_registry_find(reg, "", "NoSuchOp", 17), nullptr);
    ot_registry_destroy(reg);
}

TEST(Registry, RefusesDuplicatesAndWrongAbi) {
    ot_registry_t *reg = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_op_def_t dup = *ot_registry_find(reg, "", "Relu", 14);
    ot_status_t *st = ot_registry_add(reg, &dup);
    ASSERT_NE(st, nullptr);
    EXPECT_NE(std::string(ot_status_message(st)).find("already registered"), std::string::npos);
    ot_status_free(st);
    dup.abi_version = 999;
    st = ot_registry_add(reg, &dup);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(ot_status_code(st), OT_ERR_UNSUPPORTED);
    ot_status_free(st);
    ot_registry_destroy(reg);
}
