/* ops/op_list.h: one OT_OP(record) line per built-in op record, grouped by
 * the file family that defines them. No include guard: op_table.c includes
 * it twice with different OT_OP definitions. */

/* ---- elementwise: unary math and activations (ops/unary.c, ops/activations.c) ---- */
OT_OP(ot_op_Relu_6)
OT_OP(ot_op_ms_ReluGrad_1)
OT_OP(ot_op_Sqrt_6)
OT_OP(ot_op_Exp_6)
OT_OP(ot_op_Log_6)
OT_OP(ot_op_Neg_6)
OT_OP(ot_op_Sigmoid_6)
OT_OP(ot_op_Tanh_6)


/* ---- elementwise: binary with broadcasting (ops/binary.c ...) ---- */
OT_OP(ot_op_Add_7)
OT_OP(ot_op_Sub_7)
OT_OP(ot_op_Mul_7)
OT_OP(ot_op_Div_7)
OT_OP(ot_op_Pow_7)


/* ---- dense: Gemm, MatMul, Softmax, LogSoftmax, reductions ---- */
OT_OP(ot_op_Gemm_7)
OT_OP(ot_op_Gemm_9)
OT_OP(ot_op_Gemm_11)
OT_OP(ot_op_Gemm_13)
OT_OP(ot_op_MatMul_1)
OT_OP(ot_op_MatMul_13)
OT_OP(ot_op_Softmax_1)
OT_OP(ot_op_Softmax_11)
OT_OP(ot_op_Softmax_13)
OT_OP(ot_op_LogSoftmax_1)
OT_OP(ot_op_LogSoftmax_11)
OT_OP(ot_op_LogSoftmax_13)
OT_OP(ot_op_ReduceSum_1)
OT_OP(ot_op_ReduceSum_11)
OT_OP(ot_op_ReduceSum_13)
OT_OP(ot_op_ReduceMean_1)
OT_OP(ot_op_ReduceMean_11)
OT_OP(ot_op_ReduceMean_13)


/* ---- CNN: Conv, pooling, BatchNormalization ---- */
OT_OP(ot_op_Conv_1)
OT_OP(ot_op_MaxPool_1)
OT_OP(ot_op_MaxPool_8)
OT_OP(ot_op_MaxPool_10)
OT_OP(ot_op_MaxPool_11)
OT_OP(ot_op_MaxPool_12)
OT_OP(ot_op_AveragePool_7)
OT_OP(ot_op_AveragePool_10)
OT_OP(ot_op_AveragePool_11)
OT_OP(ot_op_GlobalMaxPool_1)
OT_OP(ot_op_GlobalAveragePool_1)
OT_OP(ot_op_BatchNormalization_7)
OT_OP(ot_op_BatchNormalization_9)
OT_OP(ot_op_BatchNormalization_14)
OT_OP(ot_op_BatchNormalization_15)
OT_OP(ot_op_ms_BatchNormalizationGrad_1)


/* ---- shape and data movement ---- */
OT_OP(ot_op_Reshape_5)
OT_OP(ot_op_Reshape_14)
OT_OP(ot_op_Flatten_1)
OT_OP(ot_op_Flatten_9)
OT_OP(ot_op_Flatten_11)
OT_OP(ot_op_Flatten_13)
OT_OP(ot_op_Squeeze_1)
OT_OP(ot_op_Squeeze_11)
OT_OP(ot_op_Squeeze_13)
OT_OP(ot_op_Unsqueeze_1)
OT_OP(ot_op_Unsqueeze_11)
OT_OP(ot_op_Unsqueeze_13)
OT_OP(ot_op_Identity_1)
OT_OP(ot_op_Identity_13)
OT_OP(ot_op_Identity_14)
OT_OP(ot_op_Identity_16)
OT_OP(ot_op_Transpose_1)
OT_OP(ot_op_Transpose_13)
OT_OP(ot_op_Concat_4)
OT_OP(ot_op_Concat_11)
OT_OP(ot_op_Concat_13)
OT_OP(ot_op_Constant_1)
OT_OP(ot_op_Constant_9)
OT_OP(ot_op_Constant_11)
OT_OP(ot_op_Constant_12)
OT_OP(ot_op_Constant_13)
OT_OP(ot_op_Shape_1)
OT_OP(ot_op_Shape_13)
OT_OP(ot_op_Shape_15)
OT_OP(ot_op_Gather_1)
OT_OP(ot_op_Gather_11)
OT_OP(ot_op_Gather_13)
OT_OP(ot_op_Cast_6)
OT_OP(ot_op_Cast_9)
OT_OP(ot_op_Cast_13)
OT_OP(ot_op_Dropout_7)
OT_OP(ot_op_Dropout_10)
OT_OP(ot_op_Dropout_12)
OT_OP(ot_op_Dropout_13)


/* ---- training ops ---- */
OT_OP(ot_op_Gradient_1)

