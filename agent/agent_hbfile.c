/* SPDX-License-Identifier: MIT */
/* Heartbeat files: stat for the mtime, a short non-blocking read for a timestamp inside. */
#include "agent_hbfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_ts.h"

/* The time written in the file, or 0: only a regular file whose whole content is one time. */
static int64_t read_content_ts(const char *path)
{
    char buf[AGENT_HBFILE_CONTENT_MAX + 1];
    int64_t ts = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    struct stat st;
    ssize_t n = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0 || (size_t)n > AGENT_HBFILE_CONTENT_MAX || agent_ts_parse(buf, (size_t)n, &ts) != 0)
        return 0;
    return ts;
}

int agent_hbfile_read(const char *path, int64_t wall_ms, struct agent_hbfile_sample *out)
{
    struct stat st;
    memset(out, 0, sizeof(*out));
    if (stat(path, &st) != 0)
        return -errno;
    out->found = true;
    out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    out->content_ts = read_content_ts(path);
    int64_t newest = out->content_ts > 0 ? out->content_ts : out->mtime_ms;
    out->age_ms = wall_ms > newest ? wall_ms - newest : 0;
    return 0;
}

bool agent_hbfile_is_fresh(const struct agent_hbfile_sample *s, int64_t max_age_ms)
{
    return s->found && s->age_ms <= max_age_ms;
}
