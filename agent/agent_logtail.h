/* SPDX-License-Identifier: MIT */
/* Tails one bot's log file without blocking: each poll reads the bytes appended since the
 * last one (open/fstat/pread, no inotify: the agent polls once per heartbeat), follows
 * rotation by rename (finishes the old file, then reads the new one from its start) and
 * truncation (starts again at 0), keeps a partial last line until its '\n' arrives, cuts
 * lines longer than AGENT_LOGTAIL_LINE_MAX, and counts lines matching each of six patterns. */
#ifndef AGENT_LOGTAIL_H
#define AGENT_LOGTAIL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_LOGTAIL_LINE_MAX (64 * 1024)        /* longer lines: the rest is skipped */
#define AGENT_LOGTAIL_ROUND_MAX (4 * 1024 * 1024) /* bytes read per poll; the rest next time */

enum agent_logtail_pattern {
    AGENT_LOG_TRADE = 0,
    AGENT_LOG_ERROR,
    AGENT_LOG_WARNING,
    AGENT_LOG_RECONNECT,
    AGENT_LOG_RATE_LIMIT,
    AGENT_LOG_TIMEOUT,
    AGENT_LOG_NPAT
};

/* Counts since init. Times are the agent's wall clock (Unix ms) when it read the line. */
struct agent_log_counts {
    int64_t lines; /* complete lines read (a cut long line counts once) */
    int64_t matched[AGENT_LOG_NPAT];
    int64_t long_lines;    /* lines cut at AGENT_LOGTAIL_LINE_MAX */
    int64_t rotations;     /* the path named a new file */
    int64_t truncations;   /* the file shrank under us */
    int64_t last_line_ts;  /* 0 = no line yet */
    int64_t last_trade_ts; /* last line matching the trade pattern; 0 = none yet */
};

/* Caller-allocated. Fields are private but for c. */
struct agent_logtail {
    const char *path; /* borrowed */
    regex_t re[AGENT_LOG_NPAT];
    bool has_re[AGENT_LOG_NPAT];
    int fd; /* -1 while the file is not open */
    dev_t dev;
    ino_t ino;
    off_t pos;   /* next byte to read */
    bool polled; /* a poll has run: files opened from now on are read from byte 0 */
    char *line;  /* the current partial line: AGENT_LOGTAIL_LINE_MAX + 1 bytes */
    size_t len;
    bool skipping; /* past the cap (or the middle of a line at start): drop until '\n' */
    struct agent_log_counts c;
};

/* Compiles the patterns (POSIX extended; NULL or "" = none). path is borrowed. Nothing is
 * opened yet. 0, or -EINVAL (bad pattern, err says which) or -ENOMEM. On failure nothing
 * needs cleaning up, but agent_logtail_cleanup is safe to call. */
int agent_logtail_init(struct agent_logtail *t, const char *path,
                       const char *const pats[AGENT_LOG_NPAT], char *err, size_t errlen);
/* Closes the file and frees the patterns. Safe on a zeroed or failed-init struct (fd -1). */
void agent_logtail_cleanup(struct agent_logtail *t);

/* Reads what was appended since the last poll (at most AGENT_LOGTAIL_ROUND_MAX bytes) and
 * counts its lines with wall_ms as their time. The first poll opens the file at its end
 * (history is not replayed); a file that appears later, or replaces the old one, is read
 * from its start. A missing file is not an error (the bot may create it later). Returns the
 * number of complete lines read, or -errno when the file exists but cannot be read. */
int agent_logtail_poll(struct agent_logtail *t, int64_t wall_ms);

/* The line splitter and matcher under agent_logtail_poll, without the file: takes data[0..n)
 * as the next bytes of the log, read at wall_ms (for tests and the fuzz target). Returns the
 * number of complete lines it finished. */
int agent_logtail_feed(struct agent_logtail *t, const char *data, size_t n, int64_t wall_ms);

#endif
