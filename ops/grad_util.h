/* ops/grad_util.h: helpers for gradient rules (built-in ops only; plugins
 * compose ot_grad_emit themselves).
 *
 * Opsets: ai.onnx nodes a rule emits are resolved at the model's opset
 * import, like the forward nodes. Emit only ai.onnx ops whose signature is
 * the same at every opset a rule may meet (Add, Sub, Mul, Div, Neg, Pow,
 * Shape, Reshape, Expand, Exp, Log, Sqrt, Cast...), or ops of com.microsoft /
 * OT_DOMAIN, never the ones whose attributes became inputs (Squeeze,
 * Unsqueeze, ReduceSum at 13; Split, Slice...). */
#ifndef ONNXTRAIN_GRAD_UTIL_H
#define ONNXTRAIN_GRAD_UTIL_H

#include "ops/op_util.h"

/* One-output nodes without attributes: *out = op(a) / op(a, b). */
ot_status_t *ot_grad_op1(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int a, int *out);
ot_status_t *ot_grad_op2(ot_grad_ctx_t *ctx, const char *domain, const char *op_type, int a, int b, int *out);

/* A float scalar constant of dtype `dt` (FLOAT or DOUBLE). */
ot_status_t *ot_grad_scalar(ot_grad_ctx_t *ctx, ot_dtype_t dt, double value, int *out);

/* *out = dy summed down to the shape of forward input `input` (the inverse
 * of numpy broadcasting: ai.onnxtrain::SumTo(dy, Shape(x))). When the
 * shapes are known and equal at load time, *out = dy and nothing is
 * emitted. `dy_type` is dy's type (for elementwise ops: output 0's). */
ot_status_t *ot_grad_unbroadcast(ot_grad_ctx_t *ctx, int dy, const ot_tensor_t *dy_type, int input, int *out);

#endif
