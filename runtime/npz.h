/* runtime/npz.h: NumPy .npz archives (internal; used by the CLI's --data
 * and by tests to save eval outputs).
 *
 * An .npz is a ZIP archive of .npy members, as numpy.savez (stored) and
 * numpy.savez_compressed (deflate) write it, with ZIP64 extra fields (numpy
 * forces them on every member). Members are parsed with the one .npy
 * parser of tensor_io.c. Not a general ZIP reader: no encryption, no
 * multi-disk archives, no methods other than stored and deflate, and only
 * .npy members (numpy's np.load would hand other members back as bytes).
 */
#ifndef ONNXTRAIN_NPZ_H
#define ONNXTRAIN_NPZ_H

#include "onnxtrain/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_npz_entry {
    char *name;          /* member name without ".npy" */
    ot_tensor_t *tensor; /* C order, dtype and shape from the .npy header */
} ot_npz_entry_t;

/* Entries in archive (central directory) order. Everything is owned by
 * the archive and freed by ot_npz_destroy(). */
typedef struct ot_npz {
    size_t n;
    ot_npz_entry_t *entries;
} ot_npz_t;

/* Reads an .npz file. Every header, size, offset and CRC-32 is checked;
 * errors name the archive, the member and the field, e.g.
 * "npz 'd.npz': member 'x.npy': CRC-32 ...". Malformed archives give
 * OT_ERR_INVALID_MODEL, features we do not read OT_ERR_UNSUPPORTED,
 * unreadable files OT_ERR_IO. *out belongs to the caller. */
ot_status_t *ot_npz_load(const char *path, ot_npz_t **out);
/* Same from bytes in memory (not retained); `what` names it (may be NULL). */
ot_status_t *ot_npz_load_bytes(const void *bytes, size_t len, const char *what, ot_npz_t **out);
void ot_npz_destroy(ot_npz_t *npz);
/* The tensor named `name` (without ".npy"), or NULL. Owned by `npz`. */
const ot_tensor_t *ot_npz_find(const ot_npz_t *npz, const char *name);

/* Writes an .npz (stored, no compression) as numpy.savez would, readable
 * by numpy.load: member i is names[i] + ".npy" holding tensors[i].
 * Atomic (temp file, fsync, rename). Names must be non-empty, unique and
 * free of '/' and NUL. The caller keeps ownership of everything passed. */
ot_status_t *ot_npz_save(const char *path, size_t n, const char *const *names, const ot_tensor_t *const *tensors);
/* The same archive into a malloc()ed buffer (caller frees with free()). */
ot_status_t *ot_npz_serialize(size_t n, const char *const *names, const ot_tensor_t *const *tensors, uint8_t **buf,
                              size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_NPZ_H */
