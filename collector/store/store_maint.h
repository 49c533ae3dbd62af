/* SPDX-License-Identifier: MIT */
/* History maintenance on a schedule: a thread with its own PostgreSQL connection that runs a
 * partition pass (store_parts.h) every interval, under the advisory lock every collector takes
 * for migrations and maintenance, so with several collectors on one database exactly one makes
 * partitions or drops them at a time; the others skip that round. Its own connection keeps the
 * writer's batches flowing while a pass waits for a lock or moves rows. */
#ifndef COL_STORE_MAINT_H
#define COL_STORE_MAINT_H

#include "store_parts.h"

#include <stdint.h>

struct col_store_maint;

/* One pass now (Unix ms now_wall), on a connection of its own: takes the lock if it is free,
 * runs col_parts_pass (dirty_ts as there), releases it. 0, -EBUSY when another session holds the
 * lock (nothing done), -ECONNREFUSED or -EIO (logged). */
int col_store_maintain(const char *conninfo, const struct col_hist_opts *o, int64_t now_wall,
                       int64_t dirty_ts, struct col_hist_stats *st);

/* conninfo and o are copied. The first pass runs as soon as it is started, then every
 * interval_ms (sooner after a failure or a skip). 0 or -errno. */
int col_store_maint_new(const char *conninfo, const struct col_hist_opts *o, int64_t interval_ms,
                        struct col_store_maint **out);
int col_store_maint_start(struct col_store_maint *m);
/* Tells the next pass that transitions as old as ts (Unix ms) were written: the days after it
 * in status_daily are made again. Any thread. */
void col_store_maint_dirty(struct col_store_maint *m, int64_t ts);
/* Copies the counters (and the partitions per table seen by the last pass). Any thread. */
void col_store_maint_get_stats(struct col_store_maint *m, struct col_hist_stats *out);
/* Stops the thread (a pass running is cancelled); the counters stay readable. NULL does
 * nothing. */
void col_store_maint_stop(struct col_store_maint *m);
/* Stops it and frees m. NULL does nothing. */
void col_store_maint_free(struct col_store_maint *m);

#endif
