/* runtime/name_map.h: string -> int hash map for value names.
 *
 * Keys are borrowed, not copied: they must outlive the map (the IR keeps
 * them in the model's arena). Open addressing with linear probing; no
 * deletion, because graphs only ever gain values.
 */
#ifndef ONNXTRAIN_NAME_MAP_H
#define ONNXTRAIN_NAME_MAP_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_name_map ot_name_map_t;

ot_name_map_t *ot_name_map_create(void); /* NULL when out of memory */
void ot_name_map_destroy(ot_name_map_t *m);
/* Value stored under `key`, or -1. */
int ot_name_map_get(const ot_name_map_t *m, const char *key);
/* Inserts or replaces; false when out of memory. */
bool ot_name_map_put(ot_name_map_t *m, const char *key, int value);

#ifdef __cplusplus
}
#endif
#endif /* ONNXTRAIN_NAME_MAP_H */
