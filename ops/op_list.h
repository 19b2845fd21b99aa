/* ops/op_list.h: one OT_OP(record) line per built-in op record, grouped by
 * the file family that defines them. No include guard: op_table.c includes
 * it twice with different OT_OP definitions. */

/* ---- elementwise: unary math and activations (ops/unary.c, ops/activations.c) ---- */
OT_OP(ot_op_Relu_6)
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


/* ---- shape and data movement ---- */


/* ---- training ops (later issues) ---- */

