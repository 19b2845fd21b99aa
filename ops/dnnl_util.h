/* ops/dnnl_util.h: oneDNN glue for built-in kernels. Every dnnl call is
 * checked and mapped to a status naming the node. */
#ifndef ONNXTRAIN_DNNL_UTIL_H
#define ONNXTRAIN_DNNL_UTIL_H

#include "ops/op_util.h"

#include <dnnl.h>

const char *ot_dnnl_status_str(dnnl_status_t s);

/* In a function returning ot_status_t * with `k` (ot_kernel_t *) in scope
 * and a `fail:` label: sets `st` and jumps on error. */
#define OT_DNNL_TRY(call)                                                                    \
    do {                                                                                     \
        dnnl_status_t dnnl_s_ = (call);                                                      \
        if (dnnl_s_ != dnnl_success) {                                                       \
            st = OT_KERNEL_ERROR(k, "oneDNN %s failed: %s", #call, ot_dnnl_status_str(dnnl_s_)); \
            goto fail;                                                                       \
        }                                                                                    \
    } while (0)

/* Plain dense (row-major) memory descriptor for a float tensor shape. */
dnnl_status_t ot_dnnl_md_plain(dnnl_memory_desc_t *md, const ot_shape_t *s, dnnl_data_type_t dt);

#endif
