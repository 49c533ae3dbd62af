/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map of pointers (chained, power-of-two buckets, grows at load 1).
 * Keys are copied; values are borrowed. O(1) lookups for 100,000s of bots. */
#ifndef COL_STRMAP_H
#define COL_STRMAP_H

#include <stddef.h>

struct col_strmap;

struct col_strmap *col_strmap_new(void);
/* Frees the map; each value is passed to free_value if it is not NULL. */
void col_strmap_free(struct col_strmap *m, void (*free_value)(void *));
void *col_strmap_get(const struct col_strmap *m, const char *key);
/* Inserts or replaces; 0 or -ENOMEM. */
int col_strmap_put(struct col_strmap *m, const char *key, void *value);
size_t col_strmap_len(const struct col_strmap *m);
/* Calls fn for every entry, in no particular order. */
void col_strmap_each(const struct col_strmap *m, void (*fn)(void *ctx, const char *key, void *v),
                     void *ctx);

#endif
