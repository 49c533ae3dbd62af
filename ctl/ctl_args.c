/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's command line: options, verbs, and the HTTP request each one makes. */
#include "ctl_args.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ctl_usage[] =
    "usage: botpulse-ctl [--url URL] [--token T] [--json] COMMAND\n"
    "\n"
    "  status [--account A] [--host H]    fleet counts; exit 1 if a bot is not healthy\n"
    "  bots [--status S] [--account A] [--host H] [--limit N]\n"
    "                                     the bots, worst first\n"
    "  bot ID                             one bot: status, reason, evidence, alert\n"
    "  history ID [--since 2h|UNIX_MS] [--limit N]\n"
    "                                     its status transitions, newest first\n"
    "  alerts                             open alerts\n"
    "  recheck ID                         re-evaluate a bot now (needs the token)\n"
    "\n"
    "  --url URL     the collector's HTTP API (default http://127.0.0.1:8080)\n"
    "  --token T     bearer token for recheck (default: $BOTPULSE_TOKEN)\n"
    "  --json        print the API's JSON instead of a table\n"
    "\n"
    "exit: 0 ok, 1 some bot unhealthy (status), 2 usage, 3 collector unreachable,\n"
    "      4 no such bot, 5 the collector refused (token, bad request, 503)\n";

static const struct {
    const char *name;
    enum ctl_verb verb;
    bool needs_id;
} verbs[] = {
    {"status", CTL_STATUS, false},  {"bots", CTL_BOTS, false},     {"bot", CTL_BOT, true},
    {"history", CTL_HISTORY, true}, {"alerts", CTL_ALERTS, false}, {"recheck", CTL_RECHECK, true},
    {"help", CTL_HELP, false},
};

static const char *const statuses[] = {"unknown", "healthy", "idle", "degraded", "stale",
                                       "hung",    "stopped", "down", "error"};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Digits only, no sign, at most 18 of them. */
static int parse_u64(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return -EINVAL;
    *out = strtoll(s, NULL, 10);
    return 0;
}

int ctl_parse_since(const char *text, int64_t now_ms, int64_t *out_ms)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    int64_t v;
    if (parse_u64(text, &v) == 0) { /* a bare number is a Unix time in ms */
        *out_ms = v;
        return v > 0 ? 0 : -EINVAL;
    }
    size_t n = strlen(text);
    char num[20];
    if (n < 2 || n > sizeof(num))
        return -EINVAL;
    memcpy(num, text, n - 1);
    num[n - 1] = '\0';
    if (parse_u64(num, &v) < 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (text[n - 1] == units[i].unit) {
            if (v > now_ms / units[i].ms)
                return -EINVAL;
            *out_ms = now_ms - v * units[i].ms;
            return *out_ms > 0 ? 0 : -EINVAL;
        }
    }
    return -EINVAL;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* The value of option argv[*i] (the next word); NULL if missing. */
static const char *value_of(int argc, char *const argv[], int *i)
{
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static int set_text(char *dst, size_t size, const char *v, const char *opt, char *err,
                    size_t errlen)
{
    if (!v)
        return fail(err, errlen, "%s needs a value", opt);
    if (strlen(v) >= size || !*v)
        return fail(err, errlen, "%s: value empty or too long", opt);
    snprintf(dst, size, "%s", v);
    return 0;
}

static int option(int argc, char *const argv[], int *i, int64_t now_ms, struct ctl_cmd *c,
                  char *err, size_t errlen)
{
    const char *o = argv[*i];
    if (strcmp(o, "--json") == 0) {
        c->json = true;
        return 0;
    }
    const char *v = value_of(argc, argv, i);
    if (strcmp(o, "--url") == 0)
        return set_text(c->url, sizeof(c->url), v, o, err, errlen);
    if (strcmp(o, "--token") == 0)
        return set_text(c->token, sizeof(c->token), v, o, err, errlen);
    if (strcmp(o, "--account") == 0)
        return set_text(c->account, sizeof(c->account), v, o, err, errlen);
    if (strcmp(o, "--host") == 0)
        return set_text(c->host, sizeof(c->host), v, o, err, errlen);
    if (strcmp(o, "--status") == 0) {
        for (size_t k = 0; v && k < sizeof(statuses) / sizeof(statuses[0]); k++)
            if (strcmp(v, statuses[k]) == 0)
                return set_text(c->status, sizeof(c->status), v, o, err, errlen);
        return fail(err, errlen,
                    "--status: want one of unknown, healthy, idle, degraded, "
                    "stale, hung, stopped, down, error");
    }
    if (strcmp(o, "--since") == 0) {
        if (!v || ctl_parse_since(v, now_ms, &c->since_ms) < 0)
            return fail(err, errlen, "--since: want a duration (90s, 30m, 2h, 7d) or Unix ms");
        return 0;
    }
    if (strcmp(o, "--limit") == 0) {
        if (!v || parse_u64(v, &c->limit) < 0 || c->limit < 1 || c->limit > 1000)
            return fail(err, errlen, "--limit: want 1..1000");
        return 0;
    }
    return fail(err, errlen, "unknown option '%s'", o);
}

/* Checks that each option given belongs to the verb. */
static int options_fit(const struct ctl_cmd *c, char *err, size_t errlen)
{
    bool filters = c->verb == CTL_STATUS || c->verb == CTL_BOTS;
    if ((c->account[0] || c->host[0]) && !filters)
        return fail(err, errlen, "--account and --host are for status and bots");
    if (c->status[0] && c->verb != CTL_BOTS)
        return fail(err, errlen, "--status is for bots");
    if (c->since_ms && c->verb != CTL_HISTORY)
        return fail(err, errlen, "--since is for history");
    if (c->limit && c->verb != CTL_HISTORY && c->verb != CTL_BOTS)
        return fail(err, errlen, "--limit is for bots and history");
    return 0;
}

int ctl_args_parse(int argc, char *const argv[], const char *token_env, int64_t now_ms,
                   struct ctl_cmd *c, char *err, size_t errlen)
{
    const char *words[3] = {NULL};
    int nwords = 0;
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:8080");
    if (token_env)
        snprintf(c->token, sizeof(c->token), "%s", token_env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            c->verb = CTL_HELP;
            return 0;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            if (option(argc, argv, &i, now_ms, c, err, errlen) < 0)
                return -EINVAL;
        } else if (nwords == 3) {
            return fail(err, errlen, "too many arguments");
        } else {
            words[nwords++] = argv[i];
        }
    }
    if (nwords == 0)
        return fail(err, errlen, "no command");
    size_t k = 0, nverbs = sizeof(verbs) / sizeof(verbs[0]);
    while (k < nverbs && strcmp(words[0], verbs[k].name) != 0)
        k++;
    if (k == nverbs)
        return fail(err, errlen, "unknown command '%.40s'", words[0]);
    c->verb = verbs[k].verb;
    if (nwords != (verbs[k].needs_id ? 2 : 1))
        return fail(err, errlen, verbs[k].needs_id ? "%s needs one bot ID" : "%s takes no ID",
                    verbs[k].name);
    if (verbs[k].needs_id) {
        if (!id_ok(words[1]))
            return fail(err, errlen, "bot ID: want 1..64 of [A-Za-z0-9_.-]");
        snprintf(c->id, sizeof(c->id), "%s", words[1]);
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        return fail(err, errlen, "--url: want http://host:port");
    return options_fit(c, err, errlen);
}

/* Appends s percent-encoded (unreserved characters kept). */
static void append_enc(char *buf, size_t size, size_t *n, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || strchr("-._~", ch))
            *n += (size_t)snprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0, "%c",
                                   ch);
        else
            *n += (size_t)snprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0,
                                   "%%%02X", ch);
    }
}

/* Appends "?name=value" or "&name=value" when value is not empty. */
static void add_param(char *buf, size_t size, size_t *n, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    bool first = !strchr(buf, '?');
    *n += (size_t)snprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0,
                           "%c%s=", first ? '?' : '&', name);
    append_enc(buf, size, n, value);
}

int ctl_request(const struct ctl_cmd *c, const char **method, char *path, size_t size)
{
    static const char *const bases[] = {[CTL_STATUS] = "/fleet/summary",
                                        [CTL_BOTS] = "/bots",
                                        [CTL_BOT] = "/bots/",
                                        [CTL_HISTORY] = "/bots/",
                                        [CTL_ALERTS] = "/alerts",
                                        [CTL_RECHECK] = "/bots/",
                                        [CTL_HELP] = "/"};
    char num[24];
    size_t n = (size_t)snprintf(path, size, "%s%s", bases[c->verb], c->id);
    *method = c->verb == CTL_RECHECK ? "POST" : "GET";
    if (c->verb == CTL_HISTORY)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0, "/history");
    if (c->verb == CTL_RECHECK)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0,
                              "/health/check");
    if (n >= size)
        return -ENOSPC;
    if (c->verb == CTL_BOTS) {
        add_param(path, size, &n, "status", c->status);
        add_param(path, size, &n, "sort", "status");
        add_param(path, size, &n, "order", "desc");
    }
    add_param(path, size, &n, "account", c->account);
    add_param(path, size, &n, "host", c->host);
    snprintf(num, sizeof(num), "%lld", (long long)c->since_ms);
    add_param(path, size, &n, "from", c->since_ms ? num : NULL);
    snprintf(num, sizeof(num), "%lld", (long long)(c->limit ? c->limit : 1000));
    if (c->verb == CTL_BOTS || c->limit)
        add_param(path, size, &n, "limit", num);
    return n < size ? 0 : -ENOSPC;
}
