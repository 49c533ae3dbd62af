/* SPDX-License-Identifier: MIT */
/* Secret files: private mode or refused, read whole, trailing whitespace trimmed. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* True when path lies in systemd's credentials directory for this service. */
static bool in_credentials_dir(const char *path)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    size_t n = dir ? strlen(dir) : 0;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/' && !strstr(path + n, "/../");
}

/* The mode check on an open file: a regular file with no group or other permission. */
static int check_mode(const char *path, const struct stat *st, const char *what, char *err,
                      size_t errlen)
{
    unsigned mode = (unsigned)st->st_mode & 07777;
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    if ((mode & 077) == 0 || in_credentials_dir(path))
        return 0;
    const char *who = (mode & 007) && (mode & 070) ? "its group and everyone"
                      : (mode & 007)               ? "everyone"
                                                   : "its group";
    snprintf(err, errlen,
             "%s: %smode %04o gives %s access to a secret; refused (chmod 600 %s, owned by the "
             "user that reads it)",
             path, what, mode, who, path);
    return -EPERM;
}

static int open_private(const char *path, const char *what, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    int rc = check_mode(path, &st, what, err, errlen);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int bp_secret_check_private(const char *path, const char *what, char *err, size_t errlen)
{
    char label[160];
    snprintf(label, sizeof(label), "holds %s inline, but its ", what);
    int fd = open_private(path, label, err, errlen);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

/* Reads all of fd into buf (at most cap bytes); -EFBIG when there is more. */
static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *len += (size_t)n;
        if (*len == cap)
            return -EFBIG;
    }
}

int bp_secret_read_file(const char *path, char *out, size_t size, char *err, size_t errlen)
{
    char buf[BP_SECRET_MAX + 2];
    size_t len = 0;
    if (size > 0)
        out[0] = '\0';
    int fd = open_private(path, "", err, errlen);
    if (fd < 0)
        return fd;
    int rc = read_all(fd, buf, sizeof(buf), &len);
    close(fd);
    while (rc == 0 && len > 0 && strchr(" \t\r\n", buf[len - 1]))
        len--;
    if (rc == -EFBIG || (rc == 0 && len >= size)) {
        snprintf(err, errlen, "%s: longer than %zu bytes: not a secret this reads", path,
                 (size > 0 ? size : 1) - 1);
        rc = -EINVAL;
    } else if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    } else if (len == 0) {
        snprintf(err, errlen, "%s: empty", path);
        rc = -EINVAL;
    } else if (memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s: holds a NUL byte: not a text secret", path);
        rc = -EINVAL;
    }
    if (rc == 0) {
        memcpy(out, buf, len);
        out[len] = '\0';
    }
    explicit_bzero(buf, sizeof(buf)); /* no copy of it left on the stack */
    return rc;
}

void bp_secret_url_host(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t end = strcspn(p, "/?#");
    const char *at = memchr(p, '@', end); /* user:password@ is not the host */
    if (at) {
        end -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t host = p[0] == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":/?#"); /* [v6]:port */
    if (host > end)
        host = end;
    if (host == 0)
        snprintf(out, size, "?");
    else
        snprintf(out, size, "%.*s", (int)host, p);
}
