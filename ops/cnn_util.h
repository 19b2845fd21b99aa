/* ops/cnn_util.h: window geometry shared by Conv and the pooling ops
 * (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode -> output
 * size and the padding actually applied), plus small oneDNN helpers for
 * the CNN kernels. Not part of the plugin ABI; not used outside ops/. */
#ifndef ONNXTRAIN_CNN_UTIL_H
#define ONNXTRAIN_CNN_UTIL_H

#include "ops/dnnl_util.h"

/* Spatial ranks handled by the kernels (1D, 2D, 3D). */
#define OT_CNN_MAX_SPATIAL 3

typedef enum ot_auto_pad {
    OT_AUTO_PAD_NOTSET = 0,
    OT_AUTO_PAD_VALID,
    OT_AUTO_PAD_SAME_UPPER,
    OT_AUTO_PAD_SAME_LOWER,
    OT_AUTO_PAD_COUNT
} ot_auto_pad_t;

/* One sliding-window geometry. Index d runs over spatial axes only. */
typedef struct ot_cnn_geom {
    int nsp;                                /* spatial rank, 1..3 */
    ot_auto_pad_t auto_pad;
    bool ceil_mode;
    int64_t kernel[OT_CNN_MAX_SPATIAL];
    int64_t stride[OT_CNN_MAX_SPATIAL];
    int64_t dilation[OT_CNN_MAX_SPATIAL];   /* ONNX convention: 1 = dense */
    int64_t pad_l[OT_CNN_MAX_SPATIAL];      /* from the attribute or auto_pad */
    int64_t pad_r[OT_CNN_MAX_SPATIAL];
    /* Set by ot_cnn_geom_resolve once in[] is known (else -1): */
    int64_t in[OT_CNN_MAX_SPATIAL];
    int64_t out[OT_CNN_MAX_SPATIAL];
    /* Right padding that makes floor((in + pad_l + pad_r_eff - ek)/s) + 1
     * equal out: pad_r_eff >= pad_r, larger only with ceil_mode. */
    int64_t pad_r_eff[OT_CNN_MAX_SPATIAL];
} ot_cnn_geom_t;

/* Reads kernel_shape (or takes `kernel` when the attribute is absent;
 * kernel NULL makes kernel_shape required), strides, dilations, pads,
 * auto_pad and, if `has_ceil_mode`, ceil_mode, and validates them against
 * nsp. `pool` selects pooling rules (pads smaller than the kernel). */
ot_status_t *ot_cnn_geom_parse(const ot_node_info_t *node, int nsp, const int64_t *kernel, bool has_ceil_mode,
                               bool pool, ot_cnn_geom_t *g);

/* Computes out[], pads (for auto_pad) and pad_r_eff[] from the spatial input
 * sizes `in` (entries may be < 0: unknown, giving out = -1). Fails, naming
 * the node, when a known input is smaller than the dilated kernel. */
ot_status_t *ot_cnn_geom_resolve(const ot_node_info_t *node, const int64_t *in, ot_cnn_geom_t *g);

/* Dilated kernel extent along spatial axis d. */
static inline int64_t ot_cnn_extent(const ot_cnn_geom_t *g, int d) {
    return (g->kernel[d] - 1) * g->dilation[d] + 1;
}

/* ---- Conv and ConvTranspose gradients ----------------------------------- */

/* The rule of both (ONNX Runtime's GetConvGradient/GetConvTransposeGradient):
 * one com.microsoft `grad_op` node (dY, X, W) -> (dX, dW[, dB]) with the
 * forward node's attributes; dB when the forward has B. */
ot_status_t *ot_cnn_gradient(ot_grad_ctx_t *ctx, const char *grad_op);
/* Shape inference of that grad op once the forward's geometry gave its
 * output shape `y` and M (dB's length, -1 if unknown): dY (input 0) must
 * share X's (input 1) dtype and match y; dX, dW, dB are typed as X, W and
 * (M). `what` names the forward in messages. */
ot_status_t *ot_cnn_grad_infer(ot_infer_ctx_t *ctx, const ot_shape_t *y, int64_t m, const char *what);

/* ---- oneDNN helpers (setup time only) ---------------------------------- */

/* A oneDNN-side operand: `user` wraps the tensor's own bytes (plain layout,
 * handle set every run); `prim` is the layout the primitive wants (== user
 * when they match, else its own buffer); `reorder` converts user -> prim
 * (inputs) or prim -> user (outputs), NULL when not needed. */
typedef struct ot_dnnl_operand {
    dnnl_memory_t user, prim;
    dnnl_primitive_t reorder;
    bool to_prim;
} ot_dnnl_operand_t;

/* Creates `op` for plain descriptor `user_md` and the primitive's `prim_md`;
 * `to_prim` gives the reorder direction. */
dnnl_status_t ot_dnnl_operand_init(ot_dnnl_operand_t *op, const dnnl_memory_desc_t *user_md,
                                   const dnnl_memory_desc_t *prim_md, bool to_prim, dnnl_engine_t engine);
void ot_dnnl_operand_destroy(ot_dnnl_operand_t *op);
/* Runs the reorder if any (after the user handle is set). */
dnnl_status_t ot_dnnl_operand_reorder(ot_dnnl_operand_t *op, dnnl_stream_t stream);

/* One oneDNN primitive with its operands, built once in setup:
 *   ot_dnnl_prim_create(&p, &op_desc, engine, hint);          pd + primitive
 *   ot_dnnl_prim_arg(&p, DNNL_ARG_SRC, &plain_md, engine);    one per operand
 *   ...
 *   ot_dnnl_prim_run(&p, stream, data);                       every run
 * data[i] is the bytes of the i-th operand added. Operands the primitive
 * reads (SRC, WEIGHTS, BIAS, DIFF_DST) are reordered into its layout before
 * it runs, the ones it writes back after; the user-mode scratchpad is the
 * primitive's own. */
#define OT_DNNL_MAX_OPERANDS 6
typedef struct ot_dnnl_prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    int n;
    int arg[OT_DNNL_MAX_OPERANDS];
    ot_dnnl_operand_t op[OT_DNNL_MAX_OPERANDS];
    dnnl_memory_t scratch;
} ot_dnnl_prim_t;

/* dnnl_unimplemented, with nothing created, when oneDNN has no
 * implementation (the caller's reference loop takes over). */
dnnl_status_t ot_dnnl_prim_create(ot_dnnl_prim_t *p, const_dnnl_op_desc_t desc, dnnl_engine_t engine,
                                  const_dnnl_primitive_desc_t hint);
dnnl_status_t ot_dnnl_prim_arg(ot_dnnl_prim_t *p, int arg, const dnnl_memory_desc_t *user_md, dnnl_engine_t engine);
/* Does not wait for the stream. */
dnnl_status_t ot_dnnl_prim_run(ot_dnnl_prim_t *p, dnnl_stream_t stream, void *const *data);
void ot_dnnl_prim_destroy(ot_dnnl_prim_t *p);

/* Plain descriptor of the given dims (row-major). */
dnnl_status_t ot_dnnl_md_dims(dnnl_memory_desc_t *md, int rank, const int64_t *dims, dnnl_data_type_t dt);

/* A user-mode scratchpad: memory for pd's scratchpad descriptor (NULL when
 * it needs none). Pass the pd created with ot_dnnl_attr_user_scratchpad. */
dnnl_status_t ot_dnnl_scratchpad_create(dnnl_memory_t *mem, const_dnnl_primitive_desc_t pd, dnnl_engine_t engine);
dnnl_status_t ot_dnnl_attr_user_scratchpad(dnnl_primitive_attr_t *attr);

#endif
