/* ops/op_table.h: the built-in op table (ops/op_table.c, from ops/op_list.h). */
#ifndef ONNXTRAIN_OP_TABLE_H
#define ONNXTRAIN_OP_TABLE_H

#include "onnxtrain/plugin.h"

extern const ot_op_def_t *const ot_builtin_ops[];
extern const size_t ot_builtin_op_count;

#endif
