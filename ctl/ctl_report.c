/* SPDX-License-Identifier: MIT */
/* botpulse-ctl report: the audit report's JSON as Markdown tables. */
#include "ctl_report.h"

#include "ctl_format.h"

#include <errno.h>
#include <string.h>

static double numd(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int64_t num(const cJSON *o, const char *key)
{
    return (int64_t)numd(o, key);
}

static const cJSON *obj(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void uptime(const cJSON *o, char *buf, size_t size)
{
    const cJSON *u = obj(o, "uptime_pct");
    if (cJSON_IsNumber(u))
        snprintf(buf, size, "%.2f %%", u->valuedouble);
    else
        snprintf(buf, size, "n/a");
}

static void age(int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        snprintf(buf, size, "0");
    else
        ctl_format_age(ms, buf, size);
}

/* One row of the summary table: name, uptime, gaps, alerts (opened by severity, resolved),
 * restarts, trades. */
static void summary_row(FILE *out, const char *name, const cJSON *o)
{
    char up[32], gap[32], longest[32];
    const cJSON *g = obj(o, "heartbeat_gaps"), *a = obj(o, "alerts"), *rs = obj(o, "restarts");
    uptime(o, up, sizeof(up));
    age(num(g, "total_ms"), gap, sizeof(gap));
    age(num(g, "longest_ms"), longest, sizeof(longest));
    fprintf(
        out,
        "| %s | %s | %lld (%s, longest %s) | %lld | %lld | %lld | %lld (%lld ok) | %lld | %.2f |\n",
        name, up, (long long)num(g, "count"), gap, longest, (long long)num(a, "critical"),
        (long long)num(a, "warning"), (long long)num(a, "resolved"), (long long)num(rs, "sent"),
        (long long)num(rs, "ok"), (long long)num(o, "trades"), numd(o, "trades_per_hour"));
}

static void status_row(FILE *out, const char *name, const cJSON *o)
{
    const cJSON *t = obj(o, "time_in_status_ms"), *s;
    fprintf(out, "| %s |", name);
    cJSON_ArrayForEach(s, t) {
        char d[32];
        age(cJSON_IsNumber(s) ? (int64_t)s->valuedouble : 0, d, sizeof(d));
        fprintf(out, " %s |", d);
    }
    fprintf(out, "\n");
}

static void incidents(FILE *out, const cJSON *list)
{
    const cJSON *it;
    if (cJSON_GetArraySize(list) == 0) {
        fprintf(out, "None.\n");
        return;
    }
    fprintf(out, "| bot | start | end | duration | worst status |\n|---|---|---|---|---|\n");
    cJSON_ArrayForEach(it, list) {
        char s[40], e[40], d[32];
        const cJSON *b = obj(it, "bot"), *w = obj(it, "worst_status");
        ctl_format_time(num(it, "start"), s, sizeof(s));
        ctl_format_time(num(it, "end"), e, sizeof(e));
        age(num(it, "duration_ms"), d, sizeof(d));
        fprintf(out, "| %s | %s | %s | %s | %s |\n", cJSON_IsString(b) ? b->valuestring : "", s, e,
                d, cJSON_IsString(w) ? w->valuestring : "");
    }
}

int ctl_print_report(FILE *out, const cJSON *body)
{
    const cJSON *fleet = obj(body, "fleet"), *bots = obj(body, "bots"), *b, *s;
    if (!cJSON_IsObject(fleet) || !cJSON_IsArray(bots) ||
        !cJSON_IsObject(obj(fleet, "time_in_status_ms")))
        return -EINVAL;
    char from[40], to[40], fleet_name[48];
    ctl_format_time(num(body, "from"), from, sizeof(from));
    ctl_format_time(num(body, "to"), to, sizeof(to));
    fprintf(out, "# botpulse audit report\n\n%s to %s, %lld bots%s\n\n", from, to,
            (long long)num(fleet, "bots"),
            cJSON_IsTrue(obj(body, "truncated")) ? " (truncated: too many transitions)" : "");
    snprintf(fleet_name, sizeof(fleet_name), "**fleet**");
    fprintf(out, "## Summary\n\n| bot | uptime | heartbeat gaps | critical alerts | "
                 "warning alerts | resolved alerts | restarts | trades | trades/h |\n"
                 "|---|---|---|---|---|---|---|---|---|\n");
    summary_row(out, fleet_name, fleet);
    cJSON_ArrayForEach(b, bots) {
        const cJSON *id = obj(b, "bot");
        summary_row(out, cJSON_IsString(id) ? id->valuestring : "?", b);
    }
    fprintf(out, "\n## Time in each status\n\n| bot |");
    cJSON_ArrayForEach(s, obj(fleet, "time_in_status_ms"))
        fprintf(out, " %s |", s->string);
    fprintf(out, "\n|---|");
    cJSON_ArrayForEach(s, obj(fleet, "time_in_status_ms"))
        fprintf(out, "---|");
    fprintf(out, "\n");
    status_row(out, fleet_name, fleet);
    cJSON_ArrayForEach(b, bots) {
        const cJSON *id = obj(b, "bot");
        status_row(out, cJSON_IsString(id) ? id->valuestring : "?", b);
    }
    fprintf(out, "\n## Worst incidents\n\nLongest periods neither healthy, idle nor unknown.\n\n");
    incidents(out, obj(fleet, "worst_incidents"));
    return 0;
}
