/* SPDX-License-Identifier: MIT */
/* Small bounded readers for /proc text files: no stdio, no heap. */
#include "agent_procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 512

int agent_procfs_read(const char *path, char *buf, size_t size, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    int rc = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    if (len)
        *len = got;
    /* A process that exited between open and read gives ESRCH; report it as gone. */
    return rc == -ESRCH ? -ENOENT : rc;
}

int agent_procfs_buf_foreach_line(const char *buf, size_t len,
                                  int (*fn)(void *ctx, char *line, size_t len), void *ctx)
{
    char line[LINE_MAX_BYTES];
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (n < sizeof(line)) {
            memcpy(line, buf + pos, n);
            line[n] = '\0';
            int rc = fn(ctx, line, n);
            if (rc != 0)
                return rc;
        }
        pos += n + 1;
    }
    return 0;
}

int agent_procfs_foreach_line(const char *path, int (*fn)(void *ctx, char *line, size_t len),
                              void *ctx)
{
    char win[2 * LINE_MAX_BYTES];
    size_t have = 0;
    int skipping = 0; /* inside an over-long line: drop bytes until its '\n' */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, win + have, sizeof(win) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(win + start, '\n', have - start)) != NULL) {
            size_t llen = (size_t)(nl - (win + start));
            *nl = '\0';
            if (!skipping && llen < LINE_MAX_BYTES && (rc = fn(ctx, win + start, llen)) != 0)
                goto out;
            skipping = 0;
            start += llen + 1;
        }
        if (n == 0) { /* last line without '\n' */
            if (!skipping && have > start && have - start < LINE_MAX_BYTES) {
                win[have] = '\0';
                rc = fn(ctx, win + start, have - start);
            }
            break;
        }
        memmove(win, win + start, have - start);
        have -= start;
        if (have >= LINE_MAX_BYTES) { /* too long: forget it and skip to its end */
            skipping = 1;
            have = 0;
        }
    }
out:
    close(fd);
    return rc;
}

int agent_procfs_parse_u64(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return -EINVAL;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
        p++;
    }
    *out = v;
    *pp = p;
    return 0;
}
