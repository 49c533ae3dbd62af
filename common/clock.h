/* SPDX-License-Identifier: MIT */
/* The two clocks: monotonic for deadlines, wall-clock Unix milliseconds for timestamps. */
#ifndef BP_CLOCK_H
#define BP_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for timeouts, backoff and deadlines only. */
int64_t bp_mono_ms(void);

/* Unix time in milliseconds (UTC): for timestamps on the wire, in rows and in logs. */
int64_t bp_wall_ms(void);

/* Fills a timespec for pthread_cond_timedwait on a CLOCK_MONOTONIC condvar. */
struct timespec;
void bp_mono_timespec(int64_t mono_ms, struct timespec *out);

/* Sleeps for ms milliseconds, resuming after signals. */
void bp_sleep_ms(int64_t ms);

#endif
