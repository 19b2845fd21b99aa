// tests/test_demo.cc: the bundled demo model (tools/make_demo_model.py, a
// PyTorch export) reproduces PyTorch's outputs through the public API.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "onnxtrain/onnxtrain.h"

TEST(Demo, MatchesPyTorch) {
    std::string dir = std::string(OT_SOURCE_DIR) + "/examples/demo/";
    ot_registry_t *reg = nullptr;
    ot_model_t *m = nullptr;
    ot_session_t *s = nullptr;
    ot_tensor_t *x = nullptr, *ref = nullptr, *y = nullptr;
    ASSERT_EQ(ot_registry_create(&reg), nullptr);
    ot_status_t *st = ot_model_load((dir + "cnn.onnx").c_str(), reg, nullptr, &m);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ASSERT_EQ(ot_tensor_load((dir + "input_0.pb").c_str(), &x), nullptr);
    ASSERT_EQ(ot_tensor_load((dir + "output_0.pb").c_str(), &ref), nullptr);
    ASSERT_EQ(ot_session_create(m, &s), nullptr);
    const ot_tensor_t *in[] = {x};
    st = ot_session_run(s, in, &y);
    ASSERT_EQ(st, nullptr) << ot_status_message(st);
    ASSERT_EQ(y->shape.rank, 2);
    ASSERT_EQ(y->shape.dims[0], 8);
    ASSERT_EQ(y->shape.dims[1], 10);
    const float *got = (const float *)y->data, *want = (const float *)ref->data;
    for (int i = 0; i < 80; i++) EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-4 * std::fabs(want[i])) << i;
    ot_tensor_destroy(x);
    ot_tensor_destroy(ref);
    ot_tensor_destroy(y);
    ot_session_destroy(s);
    ot_model_destroy(m);
    ot_registry_destroy(reg);
}
