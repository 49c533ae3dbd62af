/* SPDX-License-Identifier: MIT */
/* systemd readiness and watchdog for the collector, proved by the rules thread: READY=1 and
 * each WATCHDOG=1 are sent only after the rules thread answered a ping put on its own queue,
 * so a stuck engine stops the pings and systemd restarts it. */
#ifndef COL_WATCHDOG_H
#define COL_WATCHDOG_H

#include <stdint.h>

struct bp_queue;
struct bp_sdnotify;
struct col_watchdog;

/* Starts the thread that pings the rules thread through q every n's watchdog period (1 s until
 * READY=1 when there is no watchdog; then it ends) and tells systemd through n, which must
 * outlive it. Not under systemd (n off): *out = NULL, no thread. 0 or -errno. */
int col_watchdog_start(struct bp_sdnotify *n, struct bp_queue *q, struct col_watchdog **out);
/* Stops and joins the thread (NULL does nothing). */
void col_watchdog_stop(struct col_watchdog *w);
/* WATCHDOG=1 pings sent so far (for tests). */
uint64_t col_watchdog_pings(struct col_watchdog *w);

#endif
