/* runtime/onnx_io.h: internals shared by the ONNX loader (onnx_load.c),
 * writer (onnx_save.c) and tensor files (tensor_io.c): the one
 * TensorProto <-> tensor converter and whole-file read/atomic write.
 * Not installed; includes the generated protobuf-c header. */
#ifndef ONNXTRAIN_ONNX_IO_H
#define ONNXTRAIN_ONNX_IO_H

#include "onnx.pb-c.h"
#include "runtime/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Provides the data buffer of `nbytes` for a tensor whose dtype and shape
 * are in `hdr`; called only once the TensorProto has been fully checked.
 * NULL means out of memory. */
typedef void *(*ot_tensor_alloc_fn)(void *ctx, const ot_tensor_t *hdr, size_t nbytes);

/* ONNX data type number -> dtype. Types ONNX defines that we do not run
 * (string, float8, int4...) -> UNSUPPORTED; other numbers (and 0) ->
 * INVALID_MODEL. `what` prefixes the message. */
ot_status_t *ot_dtype_from_onnx(int32_t dt, const char *what, ot_dtype_t *out);

/* An ot_tensor_alloc_fn taking the buffer from the arena `ctx`. */
void *ot_tensor_alloc_arena(void *ctx, const ot_tensor_t *hdr, size_t nbytes);

/* TensorProto -> out (dtype, shape, data from `alloc`). Accepts raw_data,
 * every typed field and external data (resolved inside `dir`; NULL refuses
 * it). `what` names the tensor in messages, e.g. "initializer 'w'". */
ot_status_t *ot_tensor_from_proto(const Onnx__TensorProto *tp, const char *what, const char *dir,
                                  ot_tensor_alloc_fn alloc, void *alloc_ctx, ot_tensor_t *out);

/* Fills `tp` (already initialized) from `t`: data as raw_data pointing at
 * t->data (not copied), dims into `dims` (OT_MAX_RANK entries). Strings are
 * borrowed. */
void ot_tensor_to_proto(const ot_tensor_t *t, const char *name, const char *doc_string, int64_t *dims,
                        Onnx__TensorProto *tp);

/* dims -> shape and byte size of a `dt` tensor: dims non-negative, rank
 * at most OT_MAX_RANK (else UNSUPPORTED), byte size within int64/size_t
 * (zero-size tensors included). `what` prefixes the message. */
ot_status_t *ot_dims_check(const int64_t *dims, size_t n, ot_dtype_t dt, const char *what, ot_shape_t *shape,
                           size_t *nbytes);

/* Parses a whole .npy file held in memory (v1-v3, little-endian, C order)
 * into a new tensor owned by the caller. `path` names it in messages
 * ("npy '<path>': ..."). The one .npy parser (.npy files and .npz members). */
ot_status_t *ot_npy_parse(const uint8_t *buf, size_t len, const char *path, ot_tensor_t **out);

/* Reads a whole regular file into a malloc()ed buffer (owned by caller). */
ot_status_t *ot_file_read(const char *path, uint8_t **buf, size_t *len);
/* Writes `path` atomically: a temp file in the same folder, fsync, rename,
 * fsync of the folder. On failure `path` is untouched and no temp remains. */
ot_status_t *ot_file_write_atomic(const char *path, const void *buf, size_t len);

/* snprintf for message labels, where truncating a long name is fine. */
void ot_label(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "(2, 3)" for messages; buf of at least 256 bytes. */
const char *ot_dims_str(const int64_t *dims, size_t n, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_ONNX_IO_H */
