/* SPDX-License-Identifier: MIT */
/* Estimates how far an agent's clock is ahead of the collector's, from the messages it sends:
 * each says when it was sent (its `ts`, agent clock) and we know when it arrived (our wall
 * clock). sent - received = ahead - transit delay, so the largest samples are the best (the
 * messages with the least delay), and a message buffered through an outage arrives late with a
 * very negative sample that says nothing. But one message stamped by a clock that jumped (a
 * century ahead, once) must not move the estimate either: the top quarter of the last 16
 * samples (at least one) is set aside, and the largest of the rest is the estimate. So up to 4
 * outliers ahead and up to 11 late messages in the window leave it where it was. */
#ifndef COL_CLOCKSKEW_H
#define COL_CLOCKSKEW_H

#include <stdbool.h>
#include <stdint.h>

#define COL_SKEW_SAMPLES 16

struct col_skew {
    int64_t samples[COL_SKEW_SAMPLES];
    int n, pos;
    int64_t ahead_ms; /* the estimate: > 0 the agent's clock is ahead, < 0 behind */
};

/* Adds one message: sent_ts on the agent's clock, recv_wall on ours (Unix ms). Returns the
 * new estimate. */
int64_t col_skew_add(struct col_skew *s, int64_t sent_ts, int64_t recv_wall);
bool col_skew_known(const struct col_skew *s);

#endif
