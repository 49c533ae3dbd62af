/* SPDX-License-Identifier: MIT */
/* Time parsing for bot-written timestamps: numbers and ISO-8601, no locale, no timezone DB. */
#include "agent_ts.h"

#include <errno.h>
#include <stdbool.h>

#define SECONDS_LIMIT 100000000000LL /* 10^11 s: later values are milliseconds */
#define MS_LIMIT 253402300800000LL   /* 10000-01-01T00:00:00Z */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads exactly n digits at *p (bounded by end) into *out. */
static bool digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !is_digit(**p))
            return false;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return true;
}

static bool expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

/* Milliseconds from a fraction ".ddd..." at *p (if any): the first three digits count. */
static int64_t fraction_ms(const char **p, const char *end)
{
    int64_t ms = 0, scale = 100;
    if (*p >= end || **p != '.')
        return 0;
    (*p)++;
    while (*p < end && is_digit(**p)) {
        ms += (**p - '0') * scale;
        scale /= 10;
        (*p)++;
    }
    return ms;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The days of month m (1..12) of year y in the proleptic Gregorian calendar. */
static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_number(const char *p, const char *end, int64_t *ms)
{
    int64_t v = 0;
    const char *start = p;
    while (p < end && is_digit(*p)) {
        if (v > MS_LIMIT)
            return -EINVAL;
        v = v * 10 + (*p++ - '0');
    }
    if (p == start)
        return -EINVAL;
    int64_t frac = 0;
    if (v < SECONDS_LIMIT) {
        if (p < end && *p == '.' && (p + 1 >= end || !is_digit(p[1])))
            return -EINVAL;
        frac = fraction_ms(&p, end);
        v = v * 1000 + frac;
    }
    if (p != end || v > MS_LIMIT)
        return -EINVAL;
    *ms = v;
    return 0;
}

/* "Z", "+HH:MM", "+HHMM", "-HH:MM" or nothing: the offset east of UTC in minutes. */
static int parse_zone(const char **p, const char *end, int *minutes)
{
    int hh, mm;
    *minutes = 0;
    if (*p >= end)
        return 0;
    if (**p == 'Z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return -EINVAL;
    int sign = *(*p)++ == '-' ? -1 : 1;
    if (!digits(p, end, 2, &hh))
        return -EINVAL;
    if (*p < end && **p == ':')
        (*p)++;
    if (!digits(p, end, 2, &mm) || hh > 23 || mm > 59)
        return -EINVAL;
    *minutes = sign * (hh * 60 + mm);
    return 0;
}

static int parse_iso(const char *p, const char *end, int64_t *ms)
{
    int y, mo, d, h, mi, s, zone;
    if (!digits(&p, end, 4, &y) || !expect(&p, end, '-') || !digits(&p, end, 2, &mo) ||
        !expect(&p, end, '-') || !digits(&p, end, 2, &d))
        return -EINVAL;
    if (p >= end || (*p != 'T' && *p != 't' && *p != ' '))
        return -EINVAL;
    p++;
    if (!digits(&p, end, 2, &h) || !expect(&p, end, ':') || !digits(&p, end, 2, &mi) ||
        !expect(&p, end, ':') || !digits(&p, end, 2, &s))
        return -EINVAL;
    int64_t frac = fraction_ms(&p, end);
    if (parse_zone(&p, end, &zone) != 0 || p != end)
        return -EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        s > 60)
        return -EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone * 60;
    if (secs < 0 || secs * 1000 + frac > MS_LIMIT) /* 9999-12-31T23:59-00:02 is past 9999 */
        return -EINVAL;
    *ms = secs * 1000 + frac;
    return 0;
}

int agent_ts_parse(const char *s, size_t len, int64_t *ms)
{
    const char *p = s, *end = s + len;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    if (p == end)
        return -EINVAL;
    /* "2026-..." starts like a number; an ISO date has its '-' at index 4. */
    if (end - p >= 10 && p[4] == '-')
        return parse_iso(p, end, ms);
    return parse_number(p, end, ms);
}
