/* SPDX-License-Identifier: MIT */
/* Audit report arithmetic: intervals per status, gaps, incidents, fleet totals, JSON. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void col_report_init(struct col_report *r, int64_t from, int64_t to)
{
    memset(r, 0, sizeof(*r));
    r->from = from;
    r->to = to;
}

void col_report_cleanup(struct col_report *r)
{
    free(r->bots);
    memset(r, 0, sizeof(*r));
}

/* The first index whose bot is not below bot (bots are kept sorted by strcmp). */
static size_t lower_bound(const struct col_report *r, const char *bot)
{
    size_t lo = 0, hi = r->nbots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->bots[mid].bot, bot) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct col_report_bot *col_report_bot(struct col_report *r, const char *bot)
{
    size_t i =
        r->nbots > 0 && strcmp(r->bots[r->nbots - 1].bot, bot) < 0 ? r->nbots : lower_bound(r, bot);
    if (i < r->nbots && strcmp(r->bots[i].bot, bot) == 0)
        return &r->bots[i];
    if (r->nbots == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct col_report_bot *v = realloc(r->bots, cap * sizeof(*v));
        if (!v)
            return NULL;
        r->bots = v;
        r->cap = cap;
    }
    memmove(&r->bots[i + 1], &r->bots[i], (r->nbots - i) * sizeof(*r->bots));
    r->nbots++;
    struct col_report_bot *b = &r->bots[i];
    memset(b, 0, sizeof(*b));
    snprintf(b->bot, sizeof(b->bot), "%s", bot);
    b->cur = COL_ST_UNKNOWN;
    b->cur_since = r->from;
    b->gap_since = b->inc_since = -1;
    return b;
}

static bool is_up(enum col_status s)
{
    return s == COL_ST_HEALTHY || s == COL_ST_IDLE;
}

static bool is_incident(enum col_status s)
{
    return !is_up(s) && s != COL_ST_UNKNOWN;
}

/* Keeps span in list (longest first) if it is among the n longest. */
static void keep_worst(struct col_report_span *list, size_t *n, const struct col_report_span *s)
{
    int64_t len = s->end - s->start;
    size_t i = *n;
    if (i == COL_REPORT_WORST && len <= list[i - 1].end - list[i - 1].start)
        return;
    if (i == COL_REPORT_WORST)
        i--;
    else
        (*n)++;
    while (i > 0 && list[i - 1].end - list[i - 1].start < len) {
        list[i] = list[i - 1];
        i--;
    }
    list[i] = *s;
}

static void end_gap(struct col_report_bot *b, int64_t ts)
{
    int64_t len = ts - b->gap_since;
    b->gaps++;
    b->gap_ms += len;
    if (len > b->longest_gap_ms)
        b->longest_gap_ms = len;
    b->gap_since = -1;
}

static void end_incident(struct col_report_bot *b, int64_t ts)
{
    struct col_report_span s = {.start = b->inc_since, .end = ts, .worst = b->inc_worst};
    snprintf(s.bot, sizeof(s.bot), "%s", b->bot);
    keep_worst(b->worst, &b->nworst, &s);
    b->inc_since = -1;
}

/* Accounts [cur_since, ts) to the current status, then makes st current from ts. */
static void move_to(struct col_report_bot *b, int64_t ts, enum col_status st)
{
    int64_t len = ts - b->cur_since;
    if (b->known) { /* before its first status the bot did not exist: no status at all */
        b->ms_in[b->cur] += len;
        b->observed_ms += len;
    }
    if (is_up(b->cur))
        b->up_ms += len;
    if (b->gap_since >= 0 && st != COL_ST_DOWN)
        end_gap(b, ts);
    if (b->inc_since >= 0 && !is_incident(st))
        end_incident(b, ts);
    if (b->gap_since < 0 && st == COL_ST_DOWN)
        b->gap_since = ts;
    if (b->inc_since < 0 && is_incident(st)) {
        b->inc_since = ts;
        b->inc_worst = st;
    } else if (b->inc_since >= 0 && st > b->inc_worst) {
        b->inc_worst = st;
    }
    b->cur = st;
    b->cur_since = ts;
    b->known = true;
}

void col_report_initial(struct col_report *r, struct col_report_bot *b, enum col_status st)
{
    move_to(b, r->from, st);
}

void col_report_step(struct col_report *r, struct col_report_bot *b, int64_t ts, enum col_status st)
{
    if (ts < b->cur_since)
        ts = b->cur_since; /* out of order or before the range: no negative time */
    if (ts > r->to)
        ts = r->to;
    move_to(b, ts, st);
}

void col_report_finish(struct col_report *r)
{
    for (size_t i = 0; i < r->nbots; i++) {
        struct col_report_bot *b = &r->bots[i];
        enum col_status cur = b->cur;
        bool known = b->known;
        move_to(b, r->to, COL_ST_UNKNOWN); /* closes gaps and incidents at the end */
        b->cur = cur;
        b->known = known;
    }
}

double col_report_uptime(int64_t up_ms, int64_t observed_ms)
{
    return observed_ms > 0 ? 100.0 * (double)up_ms / (double)observed_ms : -1;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static cJSON *span_json(const struct col_report_span *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bot", s->bot);
    cJSON_AddNumberToObject(o, "start", (double)s->start);
    cJSON_AddNumberToObject(o, "end", (double)s->end);
    cJSON_AddNumberToObject(o, "duration_ms", (double)(s->end - s->start));
    cJSON_AddStringToObject(o, "worst_status", col_status_name(s->worst));
    return o;
}

static void add_uptime(cJSON *o, int64_t up_ms, int64_t observed_ms)
{
    double u = col_report_uptime(up_ms, observed_ms);
    if (u < 0)
        cJSON_AddNullToObject(o, "uptime_pct");
    else
        cJSON_AddNumberToObject(o, "uptime_pct", (double)(int64_t)(u * 100 + 0.5) / 100);
    cJSON_AddNumberToObject(o, "observed_ms", (double)observed_ms);
}

static void add_body(cJSON *o, const struct col_report_bot *b, int64_t range)
{
    const int64_t *ms_in = b->ms_in;
    int64_t trades = b->trades;
    cJSON *t = cJSON_AddObjectToObject(o, "time_in_status_ms");
    for (int s = 0; s < COL_ST_COUNT; s++)
        cJSON_AddNumberToObject(t, col_status_name((enum col_status)s), (double)ms_in[s]);
    cJSON *g = cJSON_AddObjectToObject(o, "heartbeat_gaps");
    cJSON_AddNumberToObject(g, "count", (double)b->gaps);
    cJSON_AddNumberToObject(g, "total_ms", (double)b->gap_ms);
    cJSON_AddNumberToObject(g, "longest_ms", (double)b->longest_gap_ms);
    cJSON *a = cJSON_AddObjectToObject(o, "alerts");
    cJSON_AddNumberToObject(a, "warning", (double)b->alerts_warning);
    cJSON_AddNumberToObject(a, "critical", (double)b->alerts_critical);
    cJSON_AddNumberToObject(a, "resolved", (double)b->alerts_resolved);
    cJSON *rs = cJSON_AddObjectToObject(o, "restarts");
    cJSON_AddNumberToObject(rs, "sent", (double)b->restarts);
    cJSON_AddNumberToObject(rs, "ok", (double)b->restarts_ok);
    cJSON_AddNumberToObject(o, "trades", (double)trades);
    double hours = (double)range / 3600000.0;
    cJSON_AddNumberToObject(o, "trades_per_hour",
                            (double)(int64_t)((double)trades / hours * 100 + 0.5) / 100);
}

static cJSON *bot_json(const struct col_report *r, const struct col_report_bot *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bot", b->bot);
    add_uptime(o, b->up_ms, b->observed_ms);
    add_body(o, b, r->to - r->from);
    cJSON *w = cJSON_AddArrayToObject(o, "worst_incidents");
    for (size_t i = 0; i < b->nworst; i++)
        cJSON_AddItemToArray(w, span_json(&b->worst[i]));
    return o;
}

static cJSON *fleet_json(const struct col_report *r)
{
    struct col_report_bot f = {.bot = ""};
    for (size_t i = 0; i < r->nbots; i++) {
        const struct col_report_bot *b = &r->bots[i];
        for (int s = 0; s < COL_ST_COUNT; s++)
            f.ms_in[s] += b->ms_in[s];
        f.observed_ms += b->observed_ms;
        f.up_ms += b->up_ms;
        f.gaps += b->gaps;
        f.gap_ms += b->gap_ms;
        if (b->longest_gap_ms > f.longest_gap_ms)
            f.longest_gap_ms = b->longest_gap_ms;
        f.alerts_warning += b->alerts_warning;
        f.alerts_critical += b->alerts_critical;
        f.alerts_resolved += b->alerts_resolved;
        f.trades += b->trades;
        f.restarts += b->restarts;
        f.restarts_ok += b->restarts_ok;
        for (size_t k = 0; k < b->nworst; k++)
            keep_worst(f.worst, &f.nworst, &b->worst[k]);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "bots", (double)r->nbots);
    add_uptime(o, f.up_ms, f.observed_ms);
    add_body(o, &f, r->to - r->from);
    cJSON *w = cJSON_AddArrayToObject(o, "worst_incidents");
    for (size_t i = 0; i < f.nworst; i++)
        cJSON_AddItemToArray(w, span_json(&f.worst[i]));
    return o;
}

cJSON *col_report_json(const struct col_report *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "from", (double)r->from);
    cJSON_AddNumberToObject(o, "to", (double)r->to);
    cJSON_AddBoolToObject(o, "truncated", r->truncated);
    cJSON_AddItemToObject(o, "fleet", fleet_json(r));
    cJSON *arr = cJSON_AddArrayToObject(o, "bots");
    for (size_t i = 0; i < r->nbots; i++)
        cJSON_AddItemToArray(arr, bot_json(r, &r->bots[i]));
    return o;
}
