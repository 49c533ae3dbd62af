/* SPDX-License-Identifier: MIT */
/* A heartbeat file written by the bot (the seed 003 way): its modification time and, when its
 * content is a time (Unix s or ms, or ISO-8601), that time; the age of the newer evidence. */
#ifndef AGENT_HBFILE_H
#define AGENT_HBFILE_H

#include <stdbool.h>
#include <stdint.h>

#define AGENT_HBFILE_CONTENT_MAX 128 /* longer content is not a timestamp: only mtime counts */

struct agent_hbfile_sample {
    bool found;         /* the file exists (and stat worked) */
    int64_t mtime_ms;   /* Unix ms; 0 when not found */
    int64_t content_ts; /* the time written in it, Unix ms; 0 when none or unparsable */
    int64_t age_ms;     /* wall_ms - (content_ts or else mtime_ms), >= 0; 0 when not found */
};

/* Reads path once (stat, then at most AGENT_HBFILE_CONTENT_MAX bytes, never blocking on a
 * FIFO). Always fills out; returns 0, or -errno when the file is missing or unreadable. */
int agent_hbfile_read(const char *path, int64_t wall_ms, struct agent_hbfile_sample *out);

/* Is the bot alive by its heartbeat file: found and no older than max_age_ms? */
bool agent_hbfile_is_fresh(const struct agent_hbfile_sample *s, int64_t max_age_ms);

#endif
