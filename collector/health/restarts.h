/* SPDX-License-Identifier: MIT */
/* A bot's process restarts as its agent counts them (heartbeat proc.restarts: processes found
 * for the bot after another one, since that agent process started). A rise between two
 * heartbeats is a restart, whether or not the collector ever saw the bot stopped: a crash loop
 * faster than the heartbeat shows here and nowhere else. Kept as the rises of the last few
 * heartbeats, on the collector's monotonic clock, so the rules can ask how many fell within a
 * window. Pure. */
#ifndef COL_RESTARTS_H
#define COL_RESTARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_RESTARTS_RING 8 /* heartbeats with a rise kept; older ones fold into the next */

/* The rises of the last heartbeats that had one: on the heap, from a bot's first restart
 * (most bots never restart, and 100,000 of them should not each carry it). */
struct col_restarts_ring {
    int n;                         /* rises kept, oldest first */
    int64_t at[COL_RESTARTS_RING]; /* when each rise arrived (monotonic ms) */
    int32_t k[COL_RESTARTS_RING];  /* and how many restarts it was */
};

struct col_restarts {
    bool known;                     /* the agent sends a count for this bot */
    uint64_t boot;                  /* a hash of the agent's boot id the count belongs to */
    int64_t count;                  /* the agent's newest count (in that boot) */
    int64_t seen;                   /* rises counted since the collector started watching the bot */
    struct col_restarts_ring *ring; /* NULL until the first rise */
};

/* A 64-bit hash of an agent's boot id (FNV-1a): a new boot starts the count again from 0. */
uint64_t col_restarts_boot_hash(const char *boot);

/* Takes the count of one heartbeat from the agent's boot, received at now. The first count
 * of a boot is its baseline for an agent first heard of now (the restarts before it are not
 * news), and all news for a new boot of an agent already known (they all happened since it
 * started). A count that falls within a boot is a new baseline. Returns the restarts it
 * counted. */
int64_t col_restarts_note(struct col_restarts *r, uint64_t boot, int64_t count, int64_t now);
/* Restarts counted within the window that ends at now; *expires is when that number next
 * falls without new evidence (INT64_MAX: never, it is 0). */
int64_t col_restarts_within(const struct col_restarts *r, int64_t window_ms, int64_t now,
                            int64_t *expires);
/* Moves the kept times forward by shift (the time the collector could not see). */
void col_restarts_shift(struct col_restarts *r, int64_t shift);
/* Frees the ring; r is then as new. */
void col_restarts_cleanup(struct col_restarts *r);

#endif
