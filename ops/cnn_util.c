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

/* ---- Conv and ConvTranspose gradients ------------------------------------- */

ot_status_t *ot_cnn_gradient(ot_grad_ctx_t *ctx, const char *grad_op) {
    bool has_b = ctx->n_inputs > 2 && ctx->inputs[2] >= 0;
    int in[3] = {ctx->doutputs[0], ctx->inputs[0], ctx->inputs[1]}, out[3];
    ot_status_t *st = ot_grad_emit(ctx, "com.microsoft", grad_op, 3, in, has_b ? 3 : 2, out, ctx->node->n_attrs,
                                   ctx->node->attrs);
    if (st) return st;
    for (int i = 0; i < (has_b ? 3 : 2); i++)
        if (ctx->needs[i]) ctx->dinputs[i] = out[i];
    return NULL;
}

ot_status_t *ot_cnn_grad_infer(ot_infer_ctx_t *ctx, const ot_shape_t *y, int64_t m, const char *what) {
    char buf1[128], buf2[128];
    const ot_tensor_t *dy = ctx->inputs[0], *x = ctx->inputs[1], *w = ctx->inputs[2];
    if (dy->dtype != x->dtype)
        return OT_INFER_ERROR(ctx, "dY (%s) and X (%s) must share a dtype", ot_dtype_name(dy->dtype),
                              ot_dtype_name(x->dtype));
    bool ok = dy->shape.rank < 0 || y->rank < 0 || dy->shape.rank == y->rank;
    for (int d = 0; ok && dy->shape.rank >= 0 && d < y->rank; d++)
        ok = dy->shape.dims[d] < 0 || y->dims[d] < 0 || dy->shape.dims[d] == y->dims[d];
    if (!ok)
        return OT_INFER_ERROR(ctx, "dY %s does not match the %s's output %s", ot_shape_str(&dy->shape, buf1, sizeof buf1),
                              what, ot_shape_str(y, buf2, sizeof buf2));
    const ot_tensor_t *like[2] = {x, w};
    for (int o = 0; o < 2 && o < ctx->n_outputs; o++) {
        if (!ctx->outputs[o]) continue;
        ctx->outputs[o]->dtype = x->dtype;
        ctx->outputs[o]->shape = like[o]->shape;
    }
    if (ctx->n_outputs > 2 && ctx->outputs[2]) {
        ctx->outputs[2]->dtype = x->dtype;
        ctx->outputs[2]->shape = ot_shape_make(1, NULL);
        ctx->outputs[2]->shape.dims[0] = m;
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

dnnl_status_t ot_dnnl_prim_create(ot_dnnl_prim_t *p, const_dnnl_op_desc_t desc, dnnl_engine_t engine,
                                  const_dnnl_primitive_desc_t hint) {
    memset(p, 0, sizeof *p);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t s = ot_dnnl_attr_user_scratchpad(&attr);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&p->pd, desc, attr, engine, hint);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) {
        p->pd = NULL;
        return s;
    }
    if ((s = dnnl_primitive_create(&p->prim, p->pd)) != dnnl_success) return s;
    return ot_dnnl_scratchpad_create(&p->scratch, p->pd, engine);
}

/* Which of the primitive's descriptors describes `arg`, and whether the
 * primitive reads it. */
static bool arg_query(int arg, dnnl_query_t *what, int *index) {
    *index = 0;
    switch (arg) {
    case DNNL_ARG_SRC: *what = dnnl_query_src_md; return true;
    case DNNL_ARG_WEIGHTS: *what = dnnl_query_weights_md; return true;
    case DNNL_ARG_BIAS: *what = dnnl_query_weights_md, *index = 1; return true;
    case DNNL_ARG_DIFF_DST: *what = dnnl_query_diff_dst_md; return true;
    case DNNL_ARG_DST: *what = dnnl_query_dst_md; return false;
    case DNNL_ARG_DIFF_SRC: *what = dnnl_query_diff_src_md; return false;
    case DNNL_ARG_DIFF_WEIGHTS: *what = dnnl_query_diff_weights_md; return false;
    case DNNL_ARG_DIFF_BIAS: *what = dnnl_query_diff_weights_md, *index = 1; return false;
    default: *what = dnnl_query_undef; return false;
    }
}

dnnl_status_t ot_dnnl_prim_arg(ot_dnnl_prim_t *p, int arg, const dnnl_memory_desc_t *user_md, dnnl_engine_t engine) {
    dnnl_query_t what;
    int index;
    bool input = arg_query(arg, &what, &index);
    const dnnl_memory_desc_t *prim_md = dnnl_primitive_desc_query_md(p->pd, what, index);
    if (p->n == OT_DNNL_MAX_OPERANDS || what == dnnl_query_undef || !prim_md) return dnnl_invalid_arguments;
    p->arg[p->n] = arg;
    return ot_dnnl_operand_init(&p->op[p->n++], user_md, prim_md, input, engine);
}

dnnl_status_t ot_dnnl_prim_run(ot_dnnl_prim_t *p, dnnl_stream_t stream, void *const *data) {
    dnnl_exec_arg_t args[OT_DNNL_MAX_OPERANDS + 1];
    dnnl_status_t s;
    for (int i = 0; i < p->n; i++) {
        if ((s = dnnl_memory_set_data_handle(p->op[i].user, data[i])) != dnnl_success) return s;
        if (p->op[i].to_prim && (s = ot_dnnl_operand_reorder(&p->op[i], stream)) != dnnl_success) return s;
        args[i] = (dnnl_exec_arg_t){p->arg[i], p->op[i].prim};
    }
    int nargs = p->n;
    if (p->scratch) args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
    if ((s = dnnl_primitive_execute(p->prim, stream, nargs, args)) != dnnl_success) return s;
    for (int i = 0; i < p->n; i++)
        if (!p->op[i].to_prim && (s = ot_dnnl_operand_reorder(&p->op[i], stream)) != dnnl_success) return s;
    return dnnl_success;
}

void ot_dnnl_prim_destroy(ot_dnnl_prim_t *p) {
    for (int i = 0; i < p->n; i++) ot_dnnl_operand_destroy(&p->op[i]);
    if (p->scratch) dnnl_memory_destroy(p->scratch);
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->pd) dnnl_primitive_desc_destroy(p->pd);
    memset(p, 0, sizeof *p);
}
