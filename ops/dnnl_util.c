/* ops/dnnl_util.c: see dnnl_util.h. */
#include "ops/dnnl_util.h"

const char *ot_dnnl_status_str(dnnl_status_t s) {
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

dnnl_status_t ot_dnnl_md_plain(dnnl_memory_desc_t *md, const ot_shape_t *s, dnnl_data_type_t dt) {
    dnnl_dims_t dims, strides;
    int64_t st[OT_MAX_RANK];
    ot_shape_strides(s, st);
    int rank = s->rank;
    if (rank == 0) { /* oneDNN has no rank 0: use (1) */
        dims[0] = 1;
        strides[0] = 1;
        rank = 1;
    } else {
        for (int i = 0; i < rank; i++) {
            dims[i] = s->dims[i];
            strides[i] = st[i];
        }
    }
    return dnnl_memory_desc_init_by_strides(md, rank, dims, dt, strides);
}
