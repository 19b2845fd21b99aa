/* ops/init_util.h: what the initializer ops (ops/init_*.c, OT_OP_INITIALIZER
 * in plugin.h) share: the common attributes, shape/dtype inference, fans as
 * torch.nn.init computes them, the seed, the record itself.
 *
 * Every initializer has no inputs and one output of attribute `shape` and
 * `dtype` (float or double), and is deterministic given `seed`: it may be
 * constant-folded. Attribute problems are found at load time (infer), so a
 * bad `onnxtrain prepare --init` flag fails before anything is written. */
#ifndef ONNXTRAIN_INIT_UTIL_H
#define ONNXTRAIN_INIT_UTIL_H

#include "ops/op_util.h"

/* The attributes of every initializer (plugin.h's convention), to open an
 * op's {NULL}-terminated attribute list. */
#define OT_INIT_COMMON_ATTRS                                                                                           \
    {"dtype", OT_ATTR_INT, false}, {"fan_in", OT_ATTR_INT, false}, {"fan_out", OT_ATTR_INT, false},                    \
        {"seed", OT_ATTR_INT, false}, {"shape", OT_ATTR_INTS, true}
#define OT_INIT_END {NULL, OT_ATTR_UNDEFINED, false}

/* Output 0 from `shape` and `dtype`; refuses a negative dim, more than
 * OT_MAX_RANK dims, a dtype other than float/double, rank < min_rank. */
ot_status_t *ot_init_infer(ot_infer_ctx_t *ctx, int min_rank);

/* torch.nn.init._calculate_fan_in_and_fan_out for `s` (rank >= 2:
 * fan_in = dims[1] * receptive field, fan_out = dims[0] * receptive field),
 * each replaced by attribute fan_in / fan_out when present. Refuses a rank
 * < 2 without both attributes, and a fan that is not positive. */
ot_status_t *ot_init_fans(const ot_node_info_t *node, const ot_shape_t *s, double *fan_in, double *fan_out);

/* Attribute `seed`; absent: a hash of the node name (still deterministic). */
int64_t ot_init_seed(const ot_node_info_t *node);

/* A FLOAT attribute as the double a user wrote (0.01f -> 0.01, see
 * ot_optim_widen), so bounds and gains round as torch's Python floats do. */
double ot_init_attr(const ot_node_info_t *node, const char *name, double dflt);

/* torch.nn.init.calculate_gain(nonlinearity, param). Refuses unknown names
 * (listing the known ones). */
ot_status_t *ot_init_gain(const ot_node_info_t *node, const char *nonlinearity, double param, double *gain);

/* An initializer record of our domain. */
#define OT_INIT_OP(sym, type, attr_list, infer_fn, setup_fn, run_fn, release_fn, doc_text)                             \
    const ot_op_def_t sym = {                                                                                          \
        .abi_version = OT_PLUGIN_ABI_VERSION,                                                                          \
        .domain = OT_DOMAIN,                                                                                           \
        .op_type = type,                                                                                               \
        .since_version = 1,                                                                                            \
        .min_inputs = 0, .max_inputs = 0,                                                                              \
        .min_outputs = 1, .max_outputs = 1,                                                                            \
        .attrs = attr_list,                                                                                            \
        .flags = OT_OP_INITIALIZER,                                                                                    \
        .infer = infer_fn,                                                                                             \
        .setup = setup_fn,                                                                                             \
        .run = run_fn,                                                                                                 \
        .release = release_fn,                                                                                         \
        .doc = doc_text,                                                                                               \
    }

#endif
