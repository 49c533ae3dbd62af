/* SPDX-License-Identifier: MIT */
/* Fuzzes the agent's time-text parser (agent/agent_ts.c: heartbeat files, probe output) with
 * any bytes: an accepted time lies in 1970..9999, and an accepted ISO-8601 date and time is the
 * one its text names (gmtime of the result, moved by the zone, gives back the same fields), so a
 * day that does not exist is not quietly read as another one.
 * Input: the text, as a bot wrote it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_ts.h"
#include "fuzz_support.h"

#define MS_LIMIT 253402300800000LL /* 10000-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The zone at the end of an ISO text ("Z", "+HH:MM", "+HHMM", "-HH:MM" or none), in minutes
 * east of UTC; the text is trimmed and accepted already. */
static int zone_minutes(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--;
    size_t digits = n - i;
    if (i > 0 && s[i - 1] == ':' && digits == 2) { /* +HH:MM */
        i -= 3;
        digits = 4;
    }
    if (digits != 4 || i < 1 || (s[i - 1] != '+' && s[i - 1] != '-') || i < 19)
        return 0; /* Z, nothing, or the seconds' fraction */
    int hh = (s[i] - '0') * 10 + (s[i + 1] - '0');
    int mm = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
    return (s[i - 1] == '-' ? -1 : 1) * (hh * 60 + mm);
}

static void check_iso(const char *s, size_t n, int64_t ms)
{
    int y, mo, d, h, mi, sec;
    if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 || sec == 60)
        return; /* a leap second is read as the next minute's first */
    time_t t = (time_t)(ms / 1000) + (time_t)zone_minutes(s, n) * 60;
    struct tm tm;
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL, "gmtime");
    FUZZ_CHECK(tm.tm_year + 1900 == y && tm.tm_mon + 1 == mo && tm.tm_mday == d &&
                   tm.tm_hour == h && tm.tm_min == mi && tm.tm_sec == sec,
               "'%s' read as %lld, which is %04d-%02d-%02dT%02d:%02d:%02d", s, (long long)ms,
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_memdup(data, size);
    int64_t ms = -1;
    if (agent_ts_parse(text, size, &ms) == 0) {
        FUZZ_CHECK(ms >= 0 && ms <= MS_LIMIT, "%lld out of 1970..9999", (long long)ms);
        const uint8_t *p = data, *end = data + size;
        while (p < end && strchr(" \t\r\n", *p) && *p)
            p++;
        while (end > p && strchr(" \t\r\n", end[-1]) && end[-1])
            end--;
        if (end - p >= 10 && p[4] == '-') {
            char *iso = fuzz_strndup(p, (size_t)(end - p));
            check_iso(iso, (size_t)(end - p), ms);
            free(iso);
        }
    }
    free(text);
    return 0;
}
