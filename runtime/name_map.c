/* runtime/name_map.c: open-addressing hash map from borrowed strings to
 * ints (see name_map.h). FNV-1a hashing; the table doubles at 1/2 load so
 * probe chains stay short. */
#include "runtime/name_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    const char *key; /* NULL: empty */
    uint64_t hash;
    int value;
} slot_t;

struct ot_name_map {
    slot_t *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

ot_name_map_t *ot_name_map_create(void) {
    ot_name_map_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void ot_name_map_destroy(ot_name_map_t *m) {
    if (!m) return;
    free(m->slots);
    free(m);
}

static slot_t *find_slot(slot_t *slots, size_t cap, const char *key, uint64_t h) {
    size_t i = (size_t)h & (cap - 1);
    while (slots[i].key && (slots[i].hash != h || strcmp(slots[i].key, key) != 0)) i = (i + 1) & (cap - 1);
    return &slots[i];
}

int ot_name_map_get(const ot_name_map_t *m, const char *key) {
    const slot_t *s = find_slot(m->slots, m->cap, key, hash_str(key));
    return s->key ? s->value : -1;
}

static bool grow(ot_name_map_t *m) {
    if (m->cap > SIZE_MAX / 2 / sizeof(slot_t)) return false;
    size_t cap = m->cap * 2;
    slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *find_slot(slots, cap, m->slots[i].key, m->slots[i].hash) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

bool ot_name_map_put(ot_name_map_t *m, const char *key, int value) {
    if ((m->count + 1) * 2 > m->cap && !grow(m)) return false;
    uint64_t h = hash_str(key);
    slot_t *s = find_slot(m->slots, m->cap, key, h);
    if (!s->key) {
        s->key = key;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return true;
}
