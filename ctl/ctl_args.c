/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's command line: options, verbs, and the HTTP request each one makes. */
#include "ctl_args.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ctl_usage[] =
    "usage: botpulse-ctl [--url URL] [--token-file FILE] [--json] COMMAND\n"
    "\n"
    "  status [--account A] [--host H]    fleet counts; exit 1 if a bot is not healthy\n"
    "  bots [--status S] [--account A] [--host H] [--limit N]\n"
    "                                     the bots, worst first\n"
    "  bot ID                             one bot: status, reason, evidence, alert\n"
    "  history ID [--since 2h|UNIX_MS] [--limit N]\n"
    "                                     its status transitions, newest first\n"
    "  alerts                             open alerts\n"
    "  recheck ID                         re-evaluate a bot now (needs the token)\n"
    "  restart ID [--yes]                 restart a bot through its agent's signed command\n"
    "                                     (asks first unless --yes; needs the token)\n"
    "  intend ID running|stopped          set a bot's intended state (needs the token)\n"
    "  move ID AGENT                      the bot moved to another host: only AGENT speaks\n"
    "                                     for it from now on (needs the token)\n"
    "  silence add [--bot ID] [--account A] [--host H] [--check C]\n"
    "              (--for 30m | --until UNIX_MS) --reason TEXT [--by NAME]\n"
    "                                     keep their alerts off MQTT and the webhook\n"
    "  silence list                       the silences in force\n"
    "  silence rm ID                      end a silence now (its open alerts are announced)\n"
    "  report [--from 7d|UNIX_MS] [--to 1h|UNIX_MS] [--bot ID] [--format md|json]\n"
    "                                     audit report: uptime, time per status, gaps,\n"
    "                                     alerts, trades, worst incidents (default: 24 h)\n"
    "\n"
    "  --url URL          the collector's HTTP API (default: $BOTPULSE_URL, else\n"
    "                     http://127.0.0.1:8080)\n"
    "  --token-file FILE  the bearer token for recheck, restart, intend, move, silence add/rm,\n"
    "                     read\n"
    "                     from FILE (mode 0600); default: $BOTPULSE_TOKEN\n"
    "  --token T          the same on the command line (ps and shell history show it: avoid)\n"
    "  --json             print the API's JSON instead of a table\n"
    "  --version          print the version\n"
    "\n"
    "exit: 0 ok, 1 some bot unhealthy (status), 2 usage, 3 collector unreachable,\n"
    "      4 no such bot or silence, 5 refused (no token or a wrong one, bad request, 409,\n"
    "      429, 503, an answer this version cannot read), 6 restart not confirmed\n";

static const struct {
    const char *name;
    enum ctl_verb verb;
    bool needs_id;
} verbs[] = {
    {"status", CTL_STATUS, false},  {"bots", CTL_BOTS, false},     {"bot", CTL_BOT, true},
    {"history", CTL_HISTORY, true}, {"alerts", CTL_ALERTS, false}, {"recheck", CTL_RECHECK, true},
    {"help", CTL_HELP, false},      {"report", CTL_REPORT, false}, {"restart", CTL_RESTART, true},
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
    if (strcmp(o, "--yes") == 0) {
        c->yes = true;
        return 0;
    }
    const char *v = value_of(argc, argv, i);
    if (strcmp(o, "--url") == 0)
        return set_text(c->url, sizeof(c->url), v, o, err, errlen);
    if (strcmp(o, "--token") == 0 || strcmp(o, "--token-file") == 0) {
        if (c->token_on_argv || c->token_file[0])
            return fail(err, errlen, "--token and --token-file: give one, once");
        c->token[0] = '\0'; /* wins over $BOTPULSE_TOKEN */
        if (strcmp(o, "--token-file") == 0)
            return set_text(c->token_file, sizeof(c->token_file), v, o, err, errlen);
        c->token_on_argv = true;
        return set_text(c->token, sizeof(c->token), v, o, err, errlen);
    }
    if (strcmp(o, "--account") == 0)
        return set_text(c->account, sizeof(c->account), v, o, err, errlen);
    if (strcmp(o, "--host") == 0)
        return set_text(c->host, sizeof(c->host), v, o, err, errlen);
    if (strcmp(o, "--bot") == 0) {
        if (!v || !id_ok(v))
            return fail(err, errlen, "--bot: want 1..64 of [A-Za-z0-9_.-]");
        return set_text(c->bot, sizeof(c->bot), v, o, err, errlen);
    }
    if (strcmp(o, "--check") == 0)
        return set_text(c->check, sizeof(c->check), v, o, err, errlen);
    if (strcmp(o, "--for") == 0)
        return set_text(c->duration, sizeof(c->duration), v, o, err, errlen);
    if (strcmp(o, "--reason") == 0)
        return set_text(c->reason, sizeof(c->reason), v, o, err, errlen);
    if (strcmp(o, "--by") == 0)
        return set_text(c->by, sizeof(c->by), v, o, err, errlen);
    if (strcmp(o, "--until") == 0) {
        if (!v || parse_u64(v, &c->until_ms) < 0 || c->until_ms <= now_ms)
            return fail(err, errlen, "--until: want a Unix time in ms, in the future");
        return 0;
    }
    if (strcmp(o, "--from") == 0 || strcmp(o, "--to") == 0) {
        int64_t *t = o[2] == 'f' ? &c->from_ms : &c->to_ms;
        if (!v || ctl_parse_since(v, now_ms, t) < 0)
            return fail(err, errlen, "%s: want a duration back from now (30m, 2h, 7d) or Unix ms",
                        o);
        return 0;
    }
    if (strcmp(o, "--format") == 0) {
        if (!v || (strcmp(v, "md") != 0 && strcmp(v, "json") != 0))
            return fail(err, errlen, "--format: want md or json");
        c->json = strcmp(v, "json") == 0;
        return 0;
    }
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
    bool filters = c->verb == CTL_STATUS || c->verb == CTL_BOTS || c->verb == CTL_SILENCE_ADD;
    bool adding = c->verb == CTL_SILENCE_ADD;
    if ((c->check[0] || c->duration[0] || c->until_ms || c->reason[0] || c->by[0]) && !adding)
        return fail(err, errlen, "--check, --for, --until, --reason and --by are for silence add");
    if (c->bot[0] && !adding && c->verb != CTL_REPORT)
        return fail(err, errlen, "--bot is for silence add and report");
    if ((c->from_ms || c->to_ms) && c->verb != CTL_REPORT)
        return fail(err, errlen, "--from and --to are for report");
    if (adding && !c->bot[0] && !c->account[0] && !c->host[0] && !c->check[0])
        return fail(err, errlen, "silence add needs --bot, --account, --host or --check");
    if (adding && !c->duration[0] == !c->until_ms)
        return fail(err, errlen, "silence add needs one of --for (e.g. 30m) and --until");
    if (adding && !c->reason[0])
        return fail(err, errlen, "silence add needs --reason");
    if (c->from_ms && c->to_ms && c->from_ms >= c->to_ms)
        return fail(err, errlen, "--from must be before --to");
    if ((c->account[0] || c->host[0]) && !filters)
        return fail(err, errlen, "--account and --host are for status, bots and silence add");
    if (c->status[0] && c->verb != CTL_BOTS)
        return fail(err, errlen, "--status is for bots");
    if (c->since_ms && c->verb != CTL_HISTORY)
        return fail(err, errlen, "--since is for history");
    if (c->limit && c->verb != CTL_HISTORY && c->verb != CTL_BOTS)
        return fail(err, errlen, "--limit is for bots and history");
    if (c->yes && c->verb != CTL_RESTART)
        return fail(err, errlen, "--yes is for restart");
    return 0;
}

/* Checks --url (trailing '/' dropped) and that the options fit the verb. */
static int finish(struct ctl_cmd *c, char *err, size_t errlen)
{
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        return fail(err, errlen, "--url: want http://host:port");
    return options_fit(c, err, errlen);
}

/* "silence add", "silence list", "silence rm ID". */
static int silence_words(struct ctl_cmd *c, const char **words, int nwords, char *err,
                         size_t errlen)
{
    const char *sub = nwords > 1 ? words[1] : "";
    if (strcmp(sub, "add") == 0 && nwords == 2)
        c->verb = CTL_SILENCE_ADD;
    else if ((strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0) && nwords == 2)
        c->verb = CTL_SILENCE_LIST;
    else if ((strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) && nwords == 3)
        c->verb = CTL_SILENCE_RM;
    else
        return fail(err, errlen, "want silence add, silence list or silence rm ID");
    if (c->verb == CTL_SILENCE_RM) {
        if (!id_ok(words[2]) || strlen(words[2]) > 47)
            return fail(err, errlen, "silence ID: want 1..47 of [A-Za-z0-9_.-]");
        snprintf(c->id, sizeof(c->id), "%s", words[2]);
    }
    return finish(c, err, errlen);
}

/* "intend ID running|stopped". */
static int intend_words(struct ctl_cmd *c, const char **words, int nwords, char *err, size_t errlen)
{
    c->verb = CTL_INTEND;
    if (nwords != 3 || (strcmp(words[2], "running") != 0 && strcmp(words[2], "stopped") != 0))
        return fail(err, errlen, "want intend ID running|stopped");
    if (!id_ok(words[1]))
        return fail(err, errlen, "bot ID: want 1..64 of [A-Za-z0-9_.-]");
    snprintf(c->id, sizeof(c->id), "%s", words[1]);
    snprintf(c->state, sizeof(c->state), "%s", words[2]);
    return finish(c, err, errlen);
}

/* "move ID AGENT". */
static int move_words(struct ctl_cmd *c, const char **words, int nwords, char *err, size_t errlen)
{
    c->verb = CTL_MOVE;
    if (nwords != 3)
        return fail(err, errlen, "want move ID AGENT");
    if (!id_ok(words[1]) || !id_ok(words[2]))
        return fail(err, errlen, "bot and agent IDs: want 1..64 of [A-Za-z0-9_.-]");
    snprintf(c->id, sizeof(c->id), "%s", words[1]);
    snprintf(c->agent, sizeof(c->agent), "%s", words[2]);
    return finish(c, err, errlen);
}

int ctl_args_parse(int argc, char *const argv[], const struct ctl_env *env, int64_t now_ms,
                   struct ctl_cmd *c, char *err, size_t errlen)
{
    const char *words[3] = {NULL};
    int nwords = 0;
    memset(c, 0, sizeof(*c));
    const char *url = env && env->url && *env->url ? env->url : "http://127.0.0.1:8080";
    if (strlen(url) >= sizeof(c->url))
        return fail(err, errlen, "$BOTPULSE_URL: too long");
    snprintf(c->url, sizeof(c->url), "%s", url);
    if (env && env->token)
        snprintf(c->token, sizeof(c->token), "%s", env->token);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            c->verb = CTL_HELP;
            return 0;
        }
        if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            c->verb = CTL_VERSION;
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
    if (strcmp(words[0], "silence") == 0)
        return silence_words(c, words, nwords, err, errlen);
    if (strcmp(words[0], "intend") == 0)
        return intend_words(c, words, nwords, err, errlen);
    if (strcmp(words[0], "move") == 0)
        return move_words(c, words, nwords, err, errlen);
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
    return finish(c, err, errlen);
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
                                        [CTL_HELP] = "/",
                                        [CTL_VERSION] = "/",
                                        [CTL_SILENCE_ADD] = "/silences",
                                        [CTL_SILENCE_LIST] = "/silences",
                                        [CTL_SILENCE_RM] = "/silences/",
                                        [CTL_REPORT] = "/report",
                                        [CTL_RESTART] = "/bots/",
                                        [CTL_INTEND] = "/bots/",
                                        [CTL_MOVE] = "/bots/"};
    char num[24];
    size_t n = (size_t)snprintf(path, size, "%s%s", bases[c->verb], c->id);
    *method = c->verb == CTL_RECHECK || c->verb == CTL_SILENCE_ADD || c->verb == CTL_RESTART ||
                      c->verb == CTL_INTEND || c->verb == CTL_MOVE
                  ? "POST"
              : c->verb == CTL_SILENCE_RM ? "DELETE"
                                          : "GET";
    if (c->verb == CTL_HISTORY)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0, "/history");
    if (c->verb == CTL_RECHECK)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0,
                              "/health/check");
    if (c->verb == CTL_RESTART)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0, "/restart");
    if (c->verb == CTL_INTEND)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0, "/intended");
    if (c->verb == CTL_MOVE)
        n += (size_t)snprintf(path + (n < size ? n : size), n < size ? size - n : 0, "/agent");
    if (n >= size)
        return -ENOSPC;
    if (c->verb == CTL_BOTS) {
        add_param(path, size, &n, "status", c->status);
        add_param(path, size, &n, "sort", "status");
        add_param(path, size, &n, "order", "desc");
    }
    if (c->verb == CTL_SILENCE_ADD) /* in the body */
        return 0;
    if (c->verb == CTL_REPORT) {
        snprintf(num, sizeof(num), "%lld", (long long)c->from_ms);
        add_param(path, size, &n, "from", c->from_ms ? num : NULL);
        snprintf(num, sizeof(num), "%lld", (long long)c->to_ms);
        add_param(path, size, &n, "to", c->to_ms ? num : NULL);
        add_param(path, size, &n, "bot", c->bot);
        return n < size ? 0 : -ENOSPC;
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

char *ctl_request_body(const struct ctl_cmd *c, bool *err)
{
    *err = false;
    if (c->verb == CTL_INTEND || c->verb == CTL_MOVE) {
        cJSON *o = cJSON_CreateObject();
        if (o)
            cJSON_AddStringToObject(o, c->verb == CTL_MOVE ? "agent" : "state",
                                    c->verb == CTL_MOVE ? c->agent : c->state);
        char *body = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        *err = body == NULL;
        return body;
    }
    if (c->verb != CTL_SILENCE_ADD)
        return NULL;
    static const char *const names[] = {"bot",      "account", "host", "check",
                                        "duration", "reason",  "by"};
    const char *vals[] = {c->bot, c->account, c->host, c->check, c->duration, c->reason, c->by};
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < sizeof(names) / sizeof(names[0]); i++)
        if (vals[i][0])
            cJSON_AddStringToObject(o, names[i], vals[i]);
    if (o && c->until_ms)
        cJSON_AddNumberToObject(o, "until", (double)c->until_ms);
    char *body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    *err = body == NULL;
    return body;
}

bool ctl_needs_token(enum ctl_verb verb)
{
    return verb == CTL_RECHECK || verb == CTL_SILENCE_ADD || verb == CTL_SILENCE_RM ||
           verb == CTL_RESTART || verb == CTL_INTEND || verb == CTL_MOVE;
}
