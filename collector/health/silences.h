/* SPDX-License-Identifier: MIT */
/* Silences: operator-made rules that keep a bot's alert events off MQTT and the webhook for a
 * while (they are still written to PostgreSQL). A silence matches by bot, account, host and/or
 * check (each empty field matches anything; at least one is set) and ends at a monotonic
 * deadline. Held by the rules thread only; pure of I/O, so tests drive it on a fake clock. */
#ifndef COL_SILENCES_H
#define COL_SILENCES_H

#include "msg.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_SILENCE_ID_MAX 47

struct col_silence {
    char id[COL_SILENCE_ID_MAX + 1];
    char bot[BP_ID_MAX + 1];
    char account[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    char check[COL_CHECK_MAX];
    char reason[BP_TEXT_MAX + 1];
    char created_by[BP_ID_MAX + 1];
    int64_t created_at; /* Unix ms */
    int64_t ends_at;    /* Unix ms, for people and rows */
    int64_t ends_mono;  /* when it ends on the monotonic clock: what expiry uses */
};

/* The active silences; few (made by people), so a small array scanned per alert event. */
struct col_silences {
    struct col_silence *v;
    size_t n, cap;
};

void col_silences_init(struct col_silences *s);
void col_silences_cleanup(struct col_silences *s);

/* True if the silence names at least one matcher and ids/sizes are sane. */
bool col_silence_is_valid(const struct col_silence *sl);
/* True if sl covers a bot with these labels and this check ("" / NULL: unknown, matches only
 * a silence that does not ask for it). */
bool col_silence_matches(const struct col_silence *sl, const char *bot, const char *account,
                         const char *host, const char *check);

/* Adds a copy of sl. 0, -EINVAL (no matcher), -EEXIST (same id), -ENOMEM. */
int col_silences_add(struct col_silences *s, const struct col_silence *sl);
/* Removes the silence with this id, copying it to out (may be NULL). 0 or -ENOENT. */
int col_silences_remove(struct col_silences *s, const char *id, struct col_silence *out);
/* The first active silence (ends_mono > now_mono) that covers the bot, or NULL. */
const struct col_silence *col_silences_find(const struct col_silences *s, const char *bot,
                                            const char *account, const char *host,
                                            const char *check, int64_t now_mono);
/* The earliest ends_mono (INT64_MAX: none). */
int64_t col_silences_next_end(const struct col_silences *s);
/* Removes one silence whose end has come (ends_mono <= now_mono), copying it to out. true if
 * one was removed: call until false. */
bool col_silences_pop_ended(struct col_silences *s, int64_t now_mono, struct col_silence *out);

/* Copies every silence into a new array (*out, caller frees; NULL when there are none). 0 or
 * -ENOMEM. */
int col_silences_copy(const struct col_silences *s, struct col_silence **out, size_t *n);
#endif
