/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets: property checks, input copies, an in-memory file. */
#include "fuzz_support.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* stderr as it was at start: scripts/fuzz.sh has libFuzzer close fd 2 (-close_fd_mask) to
 * silence the daemons' logs, and a broken property must still say why. */
static FILE *report;

__attribute__((constructor)) static void keep_stderr(void)
{
    int fd = dup(STDERR_FILENO);
    report = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!report)
        report = stderr;
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(report, "%s:%d: property broken: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(report, fmt, ap);
    va_end(ap);
    fputc('\n', report);
    fflush(report);
    abort();
}

void fuzz_check_refusal(int rc, const char *err, size_t size)
{
    FUZZ_CHECK(rc < 0, "rc %d", rc);
    FUZZ_CHECK(memchr(err, '\0', size) != NULL, "error message not terminated");
    FUZZ_CHECK(err[0] != '\0', "failed (%d) without a message", rc);
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

char *fuzz_memdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    return s;
}

void fuzz_split(const uint8_t *data, size_t size, uint8_t sep, const uint8_t **rest,
                size_t *rest_len, size_t *head_len)
{
    const uint8_t *at = size ? memchr(data, sep, size) : NULL;
    *head_len = at ? (size_t)(at - data) : size;
    *rest = at ? at + 1 : NULL;
    *rest_len = at ? size - *head_len - 1 : 0;
}

bool fuzz_is_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

void fuzz_file_open(struct fuzz_file *f)
{
    f->fd = memfd_create("botpulse-fuzz", MFD_CLOEXEC);
    if (f->fd < 0 || fchmod(f->fd, 0600) != 0) {
        perror("fuzz: memfd_create");
        abort();
    }
    snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

const char *fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size)
{
    if (ftruncate(f->fd, 0) != 0 || (size && pwrite(f->fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz: writing the memfd");
        abort();
    }
    return f->path;
}

void fuzz_log_everything(void)
{
    bp_log_threshold = BP_LOG_DEBUG;
}
