/* SPDX-License-Identifier: MIT */
/* Flapping: a bot whose status keeps changing is reported once, as flapping, instead of as a
 * storm of opened and resolved alerts. It flaps when `changes` status changes fall within
 * `window`; it stops flapping after a whole window without a change. Pure, on the
 * monotonic clock passed in. */
#ifndef COL_FLAPPING_H
#define COL_FLAPPING_H

#include <stdbool.h>
#include <stdint.h>

#define COL_FLAP_MAX_CHANGES 16

struct col_flap_limits {
    int changes; /* status changes within window that make a bot flap; 0: never */
    int64_t window_ms;
};

struct col_flap {
    int64_t at[COL_FLAP_MAX_CHANGES]; /* the newest status changes, a ring */
    int n, pos;
    bool flapping;
};

/* Records a status change at now. Returns true when it starts the bot flapping. */
bool col_flap_change(struct col_flap *f, const struct col_flap_limits *lim, int64_t now);
/* While flapping: true (and no longer flapping) once a whole window passed without a
 * change. *next_due is when that happens (INT64_MAX when not flapping). */
bool col_flap_settled(struct col_flap *f, const struct col_flap_limits *lim, int64_t now,
                      int64_t *next_due);
/* Changes counted within the window ending at now. */
int col_flap_count(const struct col_flap *f, const struct col_flap_limits *lim, int64_t now);

#endif
