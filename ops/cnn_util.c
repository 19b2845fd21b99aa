/* ops/cnn_util.c: see cnn_util.h. Output sizes follow the ONNX Conv and
 * pooling specs (operators.md, "auto_pad" and "ceil_mode"), with the
 * ceil_mode rule that a window starting past the left-padded input is
 * dropped (ONNX reference op_pool_common.py since 1.16, PyTorch). */
#include "ops/cnn_util.h"

#include <inttypes.h>

static const char *const auto_pad_names[OT_AUTO_PAD_COUNT] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};

/* Reads an INTS attribute of exactly `want` values into out (default dflt
 * when absent); values must be >= min. */
static ot_status_t *read_ints(const ot_node_info_t *node, const char *name, int64_t want, int64_t dflt, int64_t min,
                              int64_t *out) {
    const int64_t *v = NULL;
    int64_t n = ot_attr_ints(node, name, &v);
    if (n < 0) {
        for (int64_t i = 0; i < want; i++) out[i] = dflt;
        return NULL;
    }
    if (n != want)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "attribute %s has %" PRId64 " values, expected %" PRId64,
                             name, n, want);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < min)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "attribute %s[%" PRId64 "] = %" PRId64 " must be >= %" PRId64,
                                 name, i, v[i], min);
        out[i] = v[i];
    }
    return NULL;
}

ot_status_t *ot_cnn_geom_parse(const ot_node_info_t *node, int nsp, const int64_t *kernel, bool has_ceil_mode,
                               bool pool, ot_cnn_geom_t *g) {
    ot_status_t *st = NULL;
    memset(g, 0, sizeof *g);
    if (nsp < 1 || nsp > OT_CNN_MAX_SPATIAL)
        return OT_NODE_ERROR(node, OT_ERR_UNSUPPORTED, "%d spatial dimensions not supported (1D, 2D and 3D only)", nsp);
    g->nsp = nsp;
    if (ot_node_attr(node, "kernel_shape") || !kernel) {
        if (!ot_node_attr(node, "kernel_shape"))
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "%s", "attribute kernel_shape is required");
        if ((st = read_ints(node, "kernel_shape", nsp, 1, 1, g->kernel))) return st;
        if (kernel)
            for (int d = 0; d < nsp; d++)
                if (kernel[d] >= 0 && kernel[d] != g->kernel[d])
                    return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                         "kernel_shape[%d] = %" PRId64 " but the weights have %" PRId64, d,
                                         g->kernel[d], kernel[d]);
    } else {
        for (int d = 0; d < nsp; d++) g->kernel[d] = kernel[d]; /* may be unknown (< 0) at load time */
    }
    if ((st = read_ints(node, "strides", nsp, 1, 1, g->stride))) return st;
    if ((st = read_ints(node, "dilations", nsp, 1, 1, g->dilation))) return st;
    int64_t pads[2 * OT_CNN_MAX_SPATIAL];
    if ((st = read_ints(node, "pads", 2 * nsp, 0, 0, pads))) return st;
    for (int d = 0; d < nsp; d++) {
        g->pad_l[d] = pads[d];
        g->pad_r[d] = pads[nsp + d];
    }
    const char *ap = ot_attr_string(node, "auto_pad", "NOTSET");
    g->auto_pad = OT_AUTO_PAD_COUNT;
    if (ap[0] == '\0') g->auto_pad = OT_AUTO_PAD_NOTSET;
    for (int i = 0; i < OT_AUTO_PAD_COUNT; i++)
        if (strcmp(ap, auto_pad_names[i]) == 0) g->auto_pad = (ot_auto_pad_t)i;
    if (g->auto_pad == OT_AUTO_PAD_COUNT)
        return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                             "auto_pad '%s' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", ap);
    if (g->auto_pad != OT_AUTO_PAD_NOTSET)
        for (int d = 0; d < nsp; d++) g->pad_l[d] = g->pad_r[d] = 0;
    if (has_ceil_mode) {
        int64_t c = ot_attr_int(node, "ceil_mode", 0);
        if (c != 0 && c != 1)
            return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL, "ceil_mode = %" PRId64 " must be 0 or 1", c);
        g->ceil_mode = c == 1;
    }
    /* A pooling window made only of padding has no value; ONNX Runtime
     * refuses such pads as well. */
    if (pool)
        for (int d = 0; d < nsp; d++)
            if (g->pad_l[d] >= g->kernel[d] || g->pad_r[d] >= g->kernel[d])
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                     "pads (%" PRId64 ", %" PRId64 ") on spatial axis %d must be smaller than the kernel (%" PRId64 ")",
                                     g->pad_l[d], g->pad_r[d], d, g->kernel[d]);
    for (int d = 0; d < nsp; d++) g->in[d] = g->out[d] = -1;
    return NULL;
}

ot_status_t *ot_cnn_geom_resolve(const ot_node_info_t *node, const int64_t *in, ot_cnn_geom_t *g) {
    for (int d = 0; d < g->nsp; d++) {
        g->in[d] = in[d];
        g->out[d] = -1;
        g->pad_r_eff[d] = g->pad_r[d];
        if (in[d] < 0 || g->kernel[d] < 0) continue;
        int64_t ek = ot_cnn_extent(g, d), s = g->stride[d];
        if (g->auto_pad == OT_AUTO_PAD_SAME_UPPER || g->auto_pad == OT_AUTO_PAD_SAME_LOWER) {
            int64_t out = (in[d] + s - 1) / s;
            int64_t total = (out - 1) * s + ek - in[d];
            if (total < 0) total = 0;
            int64_t small = total / 2;
            g->pad_l[d] = g->auto_pad == OT_AUTO_PAD_SAME_UPPER ? small : total - small;
            g->pad_r[d] = total - g->pad_l[d];
            g->out[d] = out;
        } else {
            int64_t span = in[d] + g->pad_l[d] + g->pad_r[d] - ek;
            if (span < 0)
                return OT_NODE_ERROR(node, OT_ERR_INVALID_MODEL,
                                     "spatial axis %d: input size %" PRId64 " plus pads (%" PRId64 ", %" PRId64
                                     ") is smaller than the dilated kernel (%" PRId64 ")",
                                     d, in[d], g->pad_l[d], g->pad_r[d], ek);
            int64_t out = g->ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
            if (g->ceil_mode && (out - 1) * s >= in[d] + g->pad_l[d]) out--;
            g->out[d] = out;
        }
        int64_t need = (g->out[d] - 1) * s + ek - in[d] - g->pad_l[d];
        g->pad_r_eff[d] = need > g->pad_r[d] ? need : g->pad_r[d];
    }
    return NULL;
}

/* ---- oneDNN helpers ------------------------------------------------------ */

dnnl_status_t ot_dnnl_md_dims(dnnl_memory_desc_t *md, int rank, const int64_t *dims, dnnl_data_type_t dt) {
    ot_shape_t s = ot_shape_make(rank, dims);
    return ot_dnnl_md_plain(md, &s, dt);
}

dnnl_status_t ot_dnnl_operand_init(ot_dnnl_operand_t *op, const dnnl_memory_desc_t *user_md,
                                   const dnnl_memory_desc_t *prim_md, bool to_prim, dnnl_engine_t engine) {
    dnnl_status_t s;
    dnnl_primitive_desc_t pd = NULL;
    memset(op, 0, sizeof *op);
    op->to_prim = to_prim;
    if ((s = dnnl_memory_create(&op->user, user_md, engine, DNNL_MEMORY_NONE)) != dnnl_success) return s;
    if (dnnl_memory_desc_equal(user_md, prim_md)) {
        op->prim = op->user;
        return dnnl_success;
    }
    if ((s = dnnl_memory_create(&op->prim, prim_md, engine, DNNL_MEMORY_ALLOCATE)) != dnnl_success) return s;
    if (to_prim) s = dnnl_reorder_primitive_desc_create(&pd, user_md, engine, prim_md, engine, NULL);
    else s = dnnl_reorder_primitive_desc_create(&pd, prim_md, engine, user_md, engine, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(&op->reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

void ot_dnnl_operand_destroy(ot_dnnl_operand_t *op) {
    if (op->reorder) dnnl_primitive_destroy(op->reorder);
    if (op->prim && op->prim != op->user) dnnl_memory_destroy(op->prim);
    if (op->user) dnnl_memory_destroy(op->user);
    memset(op, 0, sizeof *op);
}

dnnl_status_t ot_dnnl_operand_reorder(ot_dnnl_operand_t *op, dnnl_stream_t stream) {
    if (!op->reorder) return dnnl_success;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, op->to_prim ? op->user : op->prim},
                               {DNNL_ARG_TO, op->to_prim ? op->prim : op->user}};
    return dnnl_primitive_execute(op->reorder, stream, 2, args);
}

dnnl_status_t ot_dnnl_attr_user_scratchpad(dnnl_primitive_attr_t *attr) {
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s != dnnl_success) return s;
    return dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
}

dnnl_status_t ot_dnnl_scratchpad_create(dnnl_memory_t *mem, const_dnnl_primitive_desc_t pd, dnnl_engine_t engine) {
    *mem = NULL;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (!md || dnnl_memory_desc_get_size(md) == 0) return dnnl_success;
    return dnnl_memory_create(mem, md, engine, DNNL_MEMORY_ALLOCATE);
}
