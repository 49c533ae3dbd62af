/* SPDX-License-Identifier: MIT */
/* Restart counting from the agents' proc.restarts: rises kept per heartbeat, on our clock. */
#include "restarts.h"

#include <stdlib.h>

uint64_t col_restarts_boot_hash(const char *boot)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)boot; p && *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* Keeps k restarts received at now; a full ring folds its oldest entry into the next (those
 * restarts then count as more recent than they were: they leave the window later). Out of
 * memory, the rise is counted in seen but not judged. */
static void keep(struct col_restarts *r0, int64_t k, int64_t now)
{
    if (!r0->ring && !(r0->ring = calloc(1, sizeof(*r0->ring))))
        return;
    struct col_restarts_ring *r = r0->ring;
    if (r->n == COL_RESTARTS_RING) {
        r->k[1] += r->k[0];
        for (int i = 1; i < r->n; i++) {
            r->at[i - 1] = r->at[i];
            r->k[i - 1] = r->k[i];
        }
        r->n--;
    }
    r->at[r->n] = now;
    r->k[r->n++] = k > INT32_MAX ? INT32_MAX : (int32_t)k;
}

int64_t col_restarts_note(struct col_restarts *r, uint64_t boot, int64_t count, int64_t now)
{
    int64_t news = 0;
    if (!r->known)
        news = 0; /* first heard of: what came before is history */
    else if (boot != r->boot)
        news = count; /* the agent restarted: every restart it counts is since then */
    else if (count > r->count)
        news = count - r->count;
    r->known = true;
    r->boot = boot;
    r->count = count;
    if (news > 0) {
        keep(r, news, now);
        r->seen += news;
    }
    return news;
}

int64_t col_restarts_within(const struct col_restarts *r0, int64_t window_ms, int64_t now,
                            int64_t *expires)
{
    int64_t sum = 0;
    *expires = INT64_MAX;
    const struct col_restarts_ring *r = r0->ring;
    if (!r)
        return 0;
    for (int i = 0; i < r->n; i++) {
        if (r->at[i] <= now - window_ms)
            continue;
        sum += r->k[i];
        if (r->at[i] + window_ms < *expires)
            *expires = r->at[i] + window_ms;
    }
    return sum;
}

void col_restarts_shift(struct col_restarts *r, int64_t shift)
{
    for (int i = 0; r->ring && i < r->ring->n; i++)
        r->ring->at[i] += shift;
}

void col_restarts_cleanup(struct col_restarts *r)
{
    free(r->ring);
    *r = (struct col_restarts){0};
}
