/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's tables and exit codes. */
#include "ctl_format.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define CELL_MAX 160
#define COLS_MAX 8

void ctl_format_age(int64_t ms, char *buf, size_t size)
{
    if (ms < 0) {
        snprintf(buf, size, "-");
        return;
    }
    long long s = (long long)(ms / 1000);
    if (s < 60)
        snprintf(buf, size, "%llds", s);
    else if (s < 3600)
        snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, size, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void ctl_format_time(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        snprintf(buf, size, "never");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* "12s ago", or "never" for 0 */
static void ago(int64_t ts, int64_t now, char *buf, size_t size)
{
    char a[32];
    if (ts <= 0) {
        snprintf(buf, size, "never");
        return;
    }
    ctl_format_age(now - ts, a, sizeof(a));
    snprintf(buf, size, "%s ago", a);
}

typedef void (*cell_fn)(const cJSON *item, int col, int64_t now, char *buf, size_t size);

/* Prints items as columns under headers; the last column is not padded. */
static void table(FILE *out, const char *const *headers, int ncols, const cJSON *items,
                  cell_fn cell, int64_t now)
{
    int width[COLS_MAX];
    char c[CELL_MAX];
    for (int k = 0; k < ncols; k++)
        width[k] = (int)strlen(headers[k]);
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        for (int k = 0; k < ncols; k++) {
            cell(it, k, now, c, sizeof(c));
            if ((int)strlen(c) > width[k])
                width[k] = (int)strlen(c);
        }
    }
    for (int k = 0; k < ncols; k++)
        fprintf(out, "%-*s%s", k + 1 < ncols ? width[k] : 0, headers[k],
                k + 1 < ncols ? "  " : "\n");
    cJSON_ArrayForEach(it, items) {
        for (int k = 0; k < ncols; k++) {
            cell(it, k, now, c, sizeof(c));
            fprintf(out, "%-*s%s", k + 1 < ncols ? width[k] : 0, c, k + 1 < ncols ? "  " : "\n");
        }
    }
}

static void bot_cell(const cJSON *b, int col, int64_t now, char *buf, size_t size)
{
    const cJSON *alert = cJSON_GetObjectItemCaseSensitive(b, "alert");
    switch (col) {
    case 0:
        snprintf(buf, size, "%s", str(b, "id"));
        break;
    case 1:
        snprintf(buf, size, "%s", str(b, "status"));
        break;
    case 2:
        snprintf(buf, size, "%s", *str(b, "account") ? str(b, "account") : "-");
        break;
    case 3:
        snprintf(buf, size, "%s", *str(b, "host") ? str(b, "host") : "-");
        break;
    case 4:
        ago(num(b, "since"), now, buf, size);
        break;
    case 5:
        ago(num(b, "last_heartbeat"), now, buf, size);
        break;
    case 6:
        snprintf(buf, size, "%s", cJSON_IsObject(alert) ? str(alert, "severity") : "-");
        break;
    default:
        snprintf(buf, size, "%s", str(b, "reason"));
        break;
    }
}

static void alert_cell(const cJSON *a, int col, int64_t now, char *buf, size_t size)
{
    static const char *const keys[] = {"bot", "severity", "check", "status"};
    if (col < 4)
        snprintf(buf, size, "%s", str(a, keys[col]));
    else if (col == 4)
        ago(num(a, "opened_at"), now, buf, size);
    else
        snprintf(buf, size, "%s", str(a, "reason"));
}

static void transition_cell(const cJSON *t, int col, int64_t now, char *buf, size_t size)
{
    static const char *const keys[] = {NULL, "from", "to", "check", "reason"};
    if (col == 0)
        ctl_format_time(num(t, "ts"), buf, size);
    else
        snprintf(buf, size, "%s", *str(t, keys[col]) ? str(t, keys[col]) : "-");
}

/* "healthy 3, stopped 1" over the non-zero counts of by_status. */
static void counts_line(const cJSON *by_status, char *buf, size_t size)
{
    size_t n = 0;
    const cJSON *s;
    buf[0] = '\0';
    cJSON_ArrayForEach(s, by_status) {
        if (!cJSON_IsNumber(s) || s->valuedouble == 0 || n >= size)
            continue;
        n += (size_t)snprintf(buf + n, size - n, "%s%s %lld", n ? ", " : "", s->string,
                              (long long)s->valuedouble);
    }
    if (!buf[0])
        snprintf(buf, size, "none");
}

static void group_cell(const cJSON *g, int col, int64_t now, char *buf, size_t size)
{
    if (col == 0)
        snprintf(buf, size, "%s", g->string);
    else if (col == 1)
        snprintf(buf, size, "%lld", (long long)num(g, "total"));
    else
        counts_line(cJSON_GetObjectItemCaseSensitive(g, "by_status"), buf, size);
}

static int print_status(FILE *out, const cJSON *body, int64_t now)
{
    static const char *const account_h[] = {"ACCOUNT", "BOTS", "BY STATUS"};
    static const char *const host_h[] = {"HOST", "BOTS", "BY STATUS"};
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(body, "by_status");
    if (!cJSON_IsObject(by))
        return -EINVAL;
    char line[512];
    counts_line(by, line, sizeof(line));
    fprintf(out, "%lld bots: %s\n", (long long)num(body, "total"), line);
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(body, "by_account");
    const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(body, "by_host");
    if (cJSON_GetArraySize(acc) > 0) {
        fprintf(out, "\n");
        table(out, account_h, 3, acc, group_cell, now);
    }
    if (cJSON_GetArraySize(hosts) > 0) {
        fprintf(out, "\n");
        table(out, host_h, 3, hosts, group_cell, now);
    }
    return 0;
}

static int print_bot(FILE *out, const cJSON *b, int64_t now)
{
    char t1[64], t2[64];
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "id")))
        return -EINVAL;
    fprintf(out, "bot:            %s\n", str(b, "id"));
    fprintf(out, "status:         %s\n", str(b, "status"));
    fprintf(out, "reason:         %s\n", str(b, "reason"));
    fprintf(out, "check:          %s\n", *str(b, "check") ? str(b, "check") : "-");
    ctl_format_time(num(b, "since"), t1, sizeof(t1));
    ago(num(b, "since"), now, t2, sizeof(t2));
    fprintf(out, "since:          %s (%s)\n", t1, t2);
    ago(num(b, "last_heartbeat"), now, t1, sizeof(t1));
    fprintf(out, "last heartbeat: %s\n", t1);
    ago(num(b, "last_trade"), now, t1, sizeof(t1));
    fprintf(out, "last trade:     %s\n", t1);
    fprintf(out, "agent:          %s (%s)\n", str(b, "agent"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "agent_online")) ? "online"
                                                                              : "offline");
    if (*str(b, "intended"))
        fprintf(out, "intended:       %s (by %s)\n", str(b, "intended"), str(b, "intended_by"));
    fprintf(out, "account:        %s\n", *str(b, "account") ? str(b, "account") : "-");
    fprintf(out, "exchange:       %s\n", *str(b, "exchange") ? str(b, "exchange") : "-");
    fprintf(out, "host:           %s\n", *str(b, "host") ? str(b, "host") : "-");
    /* every open alert, one per failing check (an older collector sends only "alert") */
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(b, "alerts");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(b, "alert");
    int n = 0;
    const cJSON *a;
    if (cJSON_IsArray(all)) {
        cJSON_ArrayForEach(a, all) {
            ago(num(a, "opened_at"), now, t1, sizeof(t1));
            fprintf(out, "%s %s %s (check %s, opened %s): %s\n",
                    n++ ? "               " : "alerts:        ", str(a, "severity"),
                    str(a, "alert_id"), str(a, "check"), t1, str(a, "reason"));
        }
    } else if (cJSON_IsObject(one)) {
        ago(num(one, "opened_at"), now, t1, sizeof(t1));
        fprintf(out, "alerts:         %s %s (check %s, opened %s)\n", str(one, "severity"),
                str(one, "alert_id"), str(one, "check"), t1);
        n = 1;
    }
    if (n == 0)
        fprintf(out, "alerts:         none\n");
    return 0;
}

static int print_list(FILE *out, const cJSON *body, const char *key, const char *const *headers,
                      int ncols, cell_fn cell, int64_t now, const char *empty)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!cJSON_IsArray(arr))
        return -EINVAL;
    if (cJSON_GetArraySize(arr) == 0)
        fprintf(out, "%s\n", empty);
    else
        table(out, headers, ncols, arr, cell, now);
    return 0;
}

/* What a silence covers: "bot=b1 account=a" */
static void matchers(const cJSON *sl, char *buf, size_t size)
{
    static const char *const keys[] = {"bot", "account", "host", "check"};
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < 4 && n < size; k++)
        if (*str(sl, keys[k]))
            n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", keys[k],
                                  str(sl, keys[k]));
}

static void silence_cell(const cJSON *sl, int col, int64_t now, char *buf, size_t size)
{
    char t[40], left[32];
    switch (col) {
    case 0:
        snprintf(buf, size, "%s", str(sl, "id"));
        break;
    case 1:
        matchers(sl, buf, size);
        break;
    case 2:
        ctl_format_time(num(sl, "until"), t, sizeof(t));
        ctl_format_age(num(sl, "until") - now, left, sizeof(left));
        snprintf(buf, size, "%s (in %s)", t, left);
        break;
    case 3:
        snprintf(buf, size, "%s", str(sl, "by"));
        break;
    default:
        snprintf(buf, size, "%s", str(sl, "reason"));
        break;
    }
}

static int print_silence(FILE *out, const char *what, const cJSON *sl, int64_t now)
{
    char m[CELL_MAX], until[CELL_MAX];
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sl, "id")))
        return -EINVAL;
    matchers(sl, m, sizeof(m));
    silence_cell(sl, 2, now, until, sizeof(until));
    fprintf(out, "%s silence %s: %s until %s: %s\n", what, str(sl, "id"), m, until,
            str(sl, "reason"));
    return 0;
}

/* A restart's 202: what was sent; the result comes later. */
static int print_restart(FILE *out, const cJSON *body)
{
    const char *bot = str(body, "bot"), *agent = str(body, "agent");
    const char *action = str(body, "action"), *nonce = str(body, "nonce");
    if (!bot[0] || !action[0] || !nonce[0])
        return -EINVAL;
    fprintf(out,
            "%s of bot %s sent to agent %s (nonce %s); its result follows in the "
            "agent's command_result\n",
            action, bot, agent, nonce);
    return 0;
}

int ctl_print(FILE *out, const struct ctl_cmd *c, const cJSON *body, int64_t now)
{
    static const char *const bots_h[] = {"BOT",   "STATUS",    "ACCOUNT", "HOST",
                                         "SINCE", "HEARTBEAT", "ALERT",   "REASON"};
    static const char *const alerts_h[] = {"BOT",    "SEVERITY", "CHECK",
                                           "STATUS", "OPENED",   "REASON"};
    static const char *const hist_h[] = {"TIME", "FROM", "TO", "CHECK", "REASON"};
    static const char *const silences_h[] = {"ID", "MATCHES", "UNTIL", "BY", "REASON"};
    switch (c->verb) {
    case CTL_STATUS:
        return print_status(out, body, now);
    case CTL_BOTS:
        return print_list(out, body, "bots", bots_h, 8, bot_cell, now, "no bots");
    case CTL_BOT:
    case CTL_RECHECK: /* the bot as the rules thread judged it just now */
    case CTL_INTEND:
    case CTL_MOVE:
        return print_bot(out, body, now);
    case CTL_HISTORY:
        return print_list(out, body, "transitions", hist_h, 5, transition_cell, now,
                          "no transitions");
    case CTL_ALERTS:
        return print_list(out, body, "alerts", alerts_h, 6, alert_cell, now, "no open alerts");
    case CTL_SILENCE_ADD:
        return print_silence(out, "made", body, now);
    case CTL_SILENCE_RM:
        return print_silence(out, "removed", cJSON_GetObjectItemCaseSensitive(body, "removed"),
                             now);
    case CTL_SILENCE_LIST:
        return print_list(out, body, "silences", silences_h, 5, silence_cell, now, "no silences");
    case CTL_REPORT: /* Markdown, not a table: ctl_print_report (ctl_report.h) */
        return -EINVAL;
    case CTL_RESTART:
        return print_restart(out, body);
    case CTL_HELP:
    case CTL_VERSION:
        break;
    }
    return 0;
}

enum ctl_exit ctl_exit_for(const struct ctl_cmd *c, long http_status, const cJSON *body)
{
    if (http_status == 404 && c->id[0])
        return CTL_EXIT_NOT_FOUND;
    if (http_status < 200 || http_status > 299)
        return CTL_EXIT_REFUSED;
    if (c->verb != CTL_STATUS)
        return CTL_EXIT_OK;
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(body, "by_status");
    double total = 0, fine = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, by) {
        if (!cJSON_IsNumber(s))
            continue;
        total += s->valuedouble;
        if (strcmp(s->string, "healthy") == 0 || strcmp(s->string, "idle") == 0)
            fine += s->valuedouble;
    }
    return total == fine ? CTL_EXIT_OK : CTL_EXIT_UNHEALTHY;
}
