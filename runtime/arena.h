/* runtime/arena.h: a bump allocator that frees everything at once.
 * Used for IR strings, attributes and tensor data: a model's arena owns
 * all of them. Not thread-safe. */
#ifndef ONNXTRAIN_ARENA_H
#define ONNXTRAIN_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_arena ot_arena_t;

ot_arena_t *ot_arena_create(void);
void ot_arena_destroy(ot_arena_t *a);
/* 64-byte aligned, zeroed; NULL on overflow/out of memory. */
void *ot_arena_alloc(ot_arena_t *a, size_t nbytes);
char *ot_arena_strdup(ot_arena_t *a, const char *s);
char *ot_arena_strndup(ot_arena_t *a, const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
