/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr (journald picks it up under systemd, with each line's priority). */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum bp_log_level bp_log_threshold = BP_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const priorities[] = {"<3>", "<4>", "<6>", "<7>"}; /* sd-daemon(3) */

/* Written before any thread logs (pthread_once, or bp_log_setup at start), read after. */
static bool to_journal;
static pthread_once_t journal_once = PTHREAD_ONCE_INIT;

void bp_log_setup(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char tail;
    to_journal = js && sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
                 fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                 (unsigned long long)st.st_ino == ino;
}

int bp_log_level_parse(const char *name, enum bp_log_level *out)
{
    for (int i = 0; i <= BP_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum bp_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void bp_log_write(enum bp_log_level level, const char *module, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    pthread_once(&journal_once, bp_log_setup);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%s%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                     to_journal ? priorities[level] : "", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level], module);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line so concurrent threads do not interleave within a line. */
    fwrite(line, 1, len, stderr);
}
