/* SPDX-License-Identifier: MIT */
/* Silences: matching by labels and check, expiry on the monotonic clock. */
#include "silences.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void col_silences_init(struct col_silences *s)
{
    memset(s, 0, sizeof(*s));
}

void col_silences_cleanup(struct col_silences *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

bool col_silence_is_valid(const struct col_silence *sl)
{
    if (!sl->bot[0] && !sl->account[0] && !sl->host[0] && !sl->check[0])
        return false;
    return sl->id[0] && (!sl->bot[0] || bp_id_is_valid(sl->bot)) &&
           (!sl->account[0] || bp_id_is_valid(sl->account));
}

/* An empty field of the silence matches anything; a set one must equal the bot's. */
static bool field_ok(const char *want, const char *have)
{
    return !want[0] || (have && strcmp(want, have) == 0);
}

bool col_silence_matches(const struct col_silence *sl, const char *bot, const char *account,
                         const char *host, const char *check)
{
    return field_ok(sl->bot, bot) && field_ok(sl->account, account) && field_ok(sl->host, host) &&
           field_ok(sl->check, check);
}

int col_silences_add(struct col_silences *s, const struct col_silence *sl)
{
    if (!col_silence_is_valid(sl))
        return -EINVAL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].id, sl->id) == 0)
            return -EEXIST;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct col_silence *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *sl;
    return 0;
}

static void take(struct col_silences *s, size_t i, struct col_silence *out)
{
    if (out)
        *out = s->v[i];
    s->v[i] = s->v[--s->n]; /* order does not matter: lists are sorted by the reader */
}

int col_silences_remove(struct col_silences *s, const char *id, struct col_silence *out)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].id, id) == 0) {
            take(s, i, out);
            return 0;
        }
    }
    return -ENOENT;
}

const struct col_silence *col_silences_find(const struct col_silences *s, const char *bot,
                                            const char *account, const char *host,
                                            const char *check, int64_t now_mono)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].ends_mono > now_mono &&
            col_silence_matches(&s->v[i], bot, account, host, check))
            return &s->v[i];
    return NULL;
}

int64_t col_silences_next_end(const struct col_silences *s)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].ends_mono < next)
            next = s->v[i].ends_mono;
    return next;
}

bool col_silences_pop_ended(struct col_silences *s, int64_t now_mono, struct col_silence *out)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].ends_mono <= now_mono) {
            take(s, i, out);
            return true;
        }
    }
    return false;
}

int col_silences_copy(const struct col_silences *s, struct col_silence **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (s->n == 0)
        return 0;
    *out = malloc(s->n * sizeof(**out));
    if (!*out)
        return -ENOMEM;
    memcpy(*out, s->v, s->n * sizeof(**out));
    *n = s->n;
    return 0;
}
