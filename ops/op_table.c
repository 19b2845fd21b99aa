/* ops/op_table.c: every built-in op record, from the X-macro list in
 * ops/op_list.h. Adding an op: write ops/<op>.c, add its record(s) to
 * op_list.h, add a test. */
#include "ops/op_table.h"

#define OT_OP(sym) extern const ot_op_def_t sym;
#include "ops/op_list.h"
#undef OT_OP

const ot_op_def_t *const ot_builtin_ops[] = {
#define OT_OP(sym) &sym,
#include "ops/op_list.h"
#undef OT_OP
};

const size_t ot_builtin_op_count = sizeof ot_builtin_ops / sizeof ot_builtin_ops[0];
