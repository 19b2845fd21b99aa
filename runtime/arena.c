/* runtime/arena.c: chunked bump allocator (see arena.h). Large requests get
 * a chunk of their own so big initializers do not waste a shared chunk. */
#include "runtime/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (1u << 16)
#define ARENA_ALIGN 64u

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(64) unsigned char data[];
} chunk_t;

struct ot_arena {
    chunk_t *head;
};

ot_arena_t *ot_arena_create(void) { return calloc(1, sizeof(ot_arena_t)); }

void ot_arena_destroy(ot_arena_t *a) {
    if (!a) return;
    for (chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

static chunk_t *chunk_new(size_t size) {
    if (size > SIZE_MAX - sizeof(chunk_t) - ARENA_ALIGN) return NULL;
    chunk_t *c = aligned_alloc(ARENA_ALIGN, (sizeof(chunk_t) + size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
    if (!c) return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *ot_arena_alloc(ot_arena_t *a, size_t nbytes) {
    if (nbytes > SIZE_MAX - ARENA_ALIGN) return NULL;
    size_t need = (nbytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    chunk_t *c = a->head;
    if (!c || c->size - c->used < need) {
        if (need > ARENA_CHUNK / 4) { /* big: private chunk behind the head */
            chunk_t *big = chunk_new(need);
            if (!big) return NULL;
            big->used = need;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            memset(big->data, 0, need);
            return big->data;
        }
        c = chunk_new(ARENA_CHUNK);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

char *ot_arena_strndup(ot_arena_t *a, const char *s, size_t n) {
    char *d = ot_arena_alloc(a, n + 1);
    if (d && n) memcpy(d, s, n);
    return d;
}

char *ot_arena_strdup(ot_arena_t *a, const char *s) { return ot_arena_strndup(a, s ? s : "", s ? strlen(s) : 0); }
