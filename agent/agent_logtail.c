/* SPDX-License-Identifier: MIT */
/* Log tailing by polling: pread from a remembered offset, (dev, inode) for rotation, size for
 * truncation, one bounded line buffer per file. */
#include "agent_logtail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MOD "logtail"
#define CHUNK 8192

static const char *const pat_names[AGENT_LOG_NPAT] = {
    "log_trade", "log_error", "log_warning", "log_reconnect", "log_rate_limit", "log_timeout"};

int agent_logtail_init(struct agent_logtail *t, const char *path,
                       const char *const pats[AGENT_LOG_NPAT], char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->path = path;
    for (int i = 0; i < AGENT_LOG_NPAT; i++) {
        if (!pats[i] || pats[i][0] == '\0')
            continue;
        int rc = regcomp(&t->re[i], pats[i], REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[96];
            regerror(rc, &t->re[i], msg, sizeof(msg));
            snprintf(err, errlen, "%s: bad regular expression: %s", pat_names[i], msg);
            agent_logtail_cleanup(t);
            return -EINVAL;
        }
        t->has_re[i] = true;
    }
    t->line = malloc(AGENT_LOGTAIL_LINE_MAX + 1);
    if (!t->line) {
        snprintf(err, errlen, "out of memory");
        agent_logtail_cleanup(t);
        return -ENOMEM;
    }
    return 0;
}

void agent_logtail_cleanup(struct agent_logtail *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    for (int i = 0; i < AGENT_LOG_NPAT; i++) {
        if (t->has_re[i])
            regfree(&t->re[i]);
        t->has_re[i] = false;
    }
    free(t->line);
    t->line = NULL;
}

/* ---- lines ---------------------------------------------------------------------------------- */

static void end_line(struct agent_logtail *t, int64_t wall_ms)
{
    size_t len = t->len;
    if (len > 0 && t->line[len - 1] == '\r')
        len--;
    t->line[len] = '\0';
    t->len = 0;
    t->c.lines++;
    t->c.last_line_ts = wall_ms;
    for (int i = 0; i < AGENT_LOG_NPAT; i++) {
        if (t->has_re[i] && regexec(&t->re[i], t->line, 0, NULL, 0) == 0) {
            t->c.matched[i]++;
            if (i == AGENT_LOG_TRADE)
                t->c.last_trade_ts = wall_ms;
        }
    }
}

/* A line is matched when its '\n' arrives, or when it reaches the cap (then the rest of it, up
 * to its '\n', is dropped). */
int agent_logtail_feed(struct agent_logtail *t, const char *data, size_t n, int64_t wall_ms)
{
    int lines = 0;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t seg = nl ? (size_t)(nl - data) : n;
        if (!t->skipping) {
            size_t room = AGENT_LOGTAIL_LINE_MAX - t->len;
            size_t take = seg < room ? seg : room;
            memcpy(t->line + t->len, data, take);
            t->len += take;
            if (seg > room) { /* over the cap: this much is the line, the rest is dropped */
                t->c.long_lines++;
                end_line(t, wall_ms);
                lines++;
                t->skipping = true;
            }
        }
        if (!nl)
            break;
        if (!t->skipping) {
            end_line(t, wall_ms);
            lines++;
        }
        t->skipping = false;
        data = nl + 1;
        n -= seg + 1;
    }
    return lines;
}

/* ---- the file ------------------------------------------------------------------------------- */

/* Opens the path; at_end: start at its end, skipping a partial last line (history is not
 * replayed). 0, -ENOENT when it does not exist, or -errno. */
static int open_file(struct agent_logtail *t, bool at_end)
{
    int fd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    t->fd = fd;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->pos = 0;
    t->len = 0;
    t->skipping = false;
    if (at_end && st.st_size > 0) {
        char last;
        t->pos = st.st_size;
        t->skipping = pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
    }
    return 0;
}

/* Reads from pos to the end of the open file (at most *budget bytes, which it lowers). */
static int read_available(struct agent_logtail *t, int64_t wall_ms, size_t *budget)
{
    struct stat st;
    char buf[CHUNK];
    int lines = 0;
    if (fstat(t->fd, &st) == 0 && st.st_size < t->pos) {
        BP_INFO(MOD, "%s: truncated (%lld -> %lld bytes): reading from the start", t->path,
                (long long)t->pos, (long long)st.st_size);
        t->c.truncations++;
        t->pos = 0;
        t->len = 0;
        t->skipping = false;
    }
    while (*budget > 0) {
        size_t want = *budget < sizeof(buf) ? *budget : sizeof(buf);
        ssize_t n = pread(t->fd, buf, want, t->pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        t->pos += n;
        *budget -= (size_t)n;
        lines += agent_logtail_feed(t, buf, (size_t)n, wall_ms);
    }
    return lines;
}

/* True when the path now names another file than the open one (renamed away and recreated).
 * A path that is missing for now keeps the old file: the new one may not exist yet. */
static bool rotated(const struct agent_logtail *t)
{
    struct stat st;
    if (stat(t->path, &st) != 0)
        return false;
    return st.st_ino != t->ino || st.st_dev != t->dev;
}

/* Closes the file; the writer moved on, so an unfinished last line is whole. 1 if there was
 * one, else 0. */
static int close_file(struct agent_logtail *t, int64_t wall_ms)
{
    int lines = 0;
    if (t->len > 0 && !t->skipping) {
        end_line(t, wall_ms);
        lines = 1;
    }
    close(t->fd);
    t->fd = -1;
    t->len = 0;
    t->skipping = false;
    return lines;
}

int agent_logtail_poll(struct agent_logtail *t, int64_t wall_ms)
{
    size_t budget = AGENT_LOGTAIL_ROUND_MAX;
    int lines = 0, rc;
    bool first = !t->polled;
    t->polled = true;
    if (t->fd < 0 && (rc = open_file(t, first)) != 0)
        return rc == -ENOENT ? 0 : rc;
    if ((rc = read_available(t, wall_ms, &budget)) < 0)
        return rc;
    lines += rc;
    if (budget == 0 || !rotated(t))
        return lines;
    /* The old file is read to its end: count its last line, then follow the path. */
    BP_INFO(MOD, "%s: rotated: following the new file", t->path);
    t->c.rotations++;
    lines += close_file(t, wall_ms);
    if ((rc = open_file(t, false)) != 0)
        return rc == -ENOENT ? lines : rc;
    if ((rc = read_available(t, wall_ms, &budget)) < 0)
        return rc;
    return lines + rc;
}
