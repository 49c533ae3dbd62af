/* SPDX-License-Identifier: MIT */
/* A string-keyed hash map of pointers: chained buckets, FNV-1a, doubling at load 1. */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    uint32_t hash;
    void *value;
    char key[]; /* NUL-terminated copy */
};

struct col_strmap {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t len;
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

struct col_strmap *col_strmap_new(void)
{
    struct col_strmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void col_strmap_free(struct col_strmap *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            if (free_value)
                free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry *find(const struct col_strmap *m, const char *key, uint32_t h)
{
    for (struct entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

void *col_strmap_get(const struct col_strmap *m, const char *key)
{
    struct entry *e = find(m, key, fnv1a(key));
    return e ? e->value : NULL;
}

static int grow(struct col_strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

int col_strmap_put(struct col_strmap *m, const char *key, void *value)
{
    uint32_t h = fnv1a(key);
    struct entry *e = find(m, key, h);
    if (e) {
        e->value = value;
        return 0;
    }
    if (m->len >= m->nbuckets && grow(m) < 0)
        return -ENOMEM;
    size_t klen = strlen(key);
    e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->value = value;
    e->next = m->buckets[h & (m->nbuckets - 1)];
    m->buckets[h & (m->nbuckets - 1)] = e;
    m->len++;
    return 0;
}

size_t col_strmap_len(const struct col_strmap *m)
{
    return m->len;
}

void col_strmap_each(const struct col_strmap *m, void (*fn)(void *ctx, const char *key, void *v),
                     void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct entry *e = m->buckets[i]; e; e = e->next)
            fn(ctx, e->key, e->value);
}
