/* SPDX-License-Identifier: MIT */
/* The seeds' own habits, end to end with the tools their users run: every route of seed 000
 * through the curl binary (token from a header file, never on curl's command line), the agent's
 * one-shot `check` as cron runs it, and seed 004's audit report (`botpulse-ctl report`, Markdown
 * and JSON, and GET /report) after bots died, came back or stayed down, and traded. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "seed-token-0f3a"

struct t {
    struct bpt_env *env;
    struct bpt_stack s;
    struct bpt_rec *rec;
    char url[64];
    const char *auth_header; /* a curl header file: "Authorization: Bearer ..." */
    const char *curl;        /* the curl binary */
    char hbfile[600];        /* bot-1's heartbeat file */
    long code;               /* the last curl's HTTP status */
    char *out;               /* the last child's output (curl: the body only) */
    cJSON *j;                /* the last curl body, parsed (NULL if it is no JSON) */
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const char *find_curl(void)
{
    static const char *const paths[] = {"/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Runs `curl -s [-X POST] [-H @auth] [-H ctype -d body] URL` as a user would, the content type
 * and status code written after the body; sets t->code, t->out (the body) and t->j, and records
 * the answer for the check against docs/openapi.yaml. Returns the status. */
static long curl(struct t *t, const char *method, const char *path, bool auth, const char *body)
{
    char url[512], hdr[700];
    snprintf(url, sizeof(url), "%s%s", t->url, path);
    snprintf(hdr, sizeof(hdr), "@%s", t->auth_header);
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)t->curl;
    argv[n++] = "-s";
    argv[n++] = "-w";
    argv[n++] = "\n%{content_type}\n%{http_code}";
    if (strcmp(method, "GET") != 0) {
        argv[n++] = "-X";
        argv[n++] = (char *)method;
    }
    if (auth) {
        argv[n++] = "-H";
        argv[n++] = hdr; /* the token stays in the file: not in ps, not in /proc/PID/cmdline */
    }
    if (body) {
        argv[n++] = "-H";
        argv[n++] = "Content-Type: application/json";
        argv[n++] = "-d";
        argv[n++] = (char *)body;
    }
    argv[n++] = url;
    argv[n] = NULL;
    free(t->out);
    cJSON_Delete(t->j);
    t->j = NULL;
    int rc = bpt_run(t->env, argv, 20000, &t->out);
    bpt_assert(t->env, rc == 0 && t->out, "curl %s %s: exit %d: %s", method, path, rc,
               t->out ? t->out : "");
    char *nl = strrchr(t->out, '\n');
    bpt_assert(t->env, nl, "curl printed no status: %s", t->out);
    *nl = '\0';
    t->code = strtol(nl + 1, NULL, 10);
    char *ct = strrchr(t->out, '\n');
    bpt_assert(t->env, ct, "curl printed no content type: %s", t->out);
    *ct++ = '\0';
    struct bpt_http r = {.status = t->code, .body = t->out, .len = strlen(t->out)};
    snprintf(r.ctype, sizeof(r.ctype), "%s", ct);
    struct bpt_http_req rq = {.method = method, .base = t->url, .path = path};
    bpt_http_record(t->env, &rq, &r);
    t->j = cJSON_Parse(t->out);
    return t->code;
}

static const cJSON *item(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = item(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = item(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The last curl answered want, with a JSON body. */
#define expect_code(t, want)                                                                       \
    bpt_assert((t)->env, (t)->code == (want) && (t)->j, "%s:%d: HTTP %ld (want %d): %s", __FILE__, \
               __LINE__, (t)->code, (want), (t)->out)

/* GET path with curl until its JSON key says want (20 s). */
static void wait_field(struct t *t, const char *path, const char *key, const char *want)
{
    for (int i = 0; i < 200; i++) {
        if (curl(t, "GET", path, false, NULL) == 200 && strcmp(str(t->j, key), want) == 0)
            return;
        usleep(100 * 1000);
    }
    bpt_fail(t->env, __FILE__, __LINE__, "GET %s: %s never became '%s': %s", path, key, want,
             t->out);
}

/* ---- seed 000: the routes --------------------------------------------------------------- */

static void summary(struct t *t, const char *query, int total, int healthy, int stopped, int down)
{
    char path[128];
    snprintf(path, sizeof(path), "/bots/health/summary%s", query);
    curl(t, "GET", path, false, NULL);
    expect_code(t, 200);
    /* the seed's dashboard reads data.healthy + data.stale: the counts are at the top level */
    bpt_assert(t->env,
               num(t->j, "total") == total && num(t->j, "healthy") == healthy &&
                   num(t->j, "stopped") == stopped && num(t->j, "down") == down &&
                   num(t->j, "stale") == 0,
               "%s: want total %d, healthy %d, stopped %d, down %d: %s", path, total, healthy,
               stopped, down, t->out);
}

static void one_bot(struct t *t, const char *bot, const char *status, const char *reason,
                    int64_t trade_from, int64_t trade_to)
{
    char path[128];
    snprintf(path, sizeof(path), "/bots/%s/health", bot);
    curl(t, "GET", path, false, NULL);
    expect_code(t, 200);
    double lt = num(t->j, "last_trade");
    bpt_assert(t->env,
               strcmp(str(t->j, "id"), bot) == 0 && strcmp(str(t->j, "status"), status) == 0 &&
                   strstr(str(t->j, "reason"), reason) && lt >= (double)trade_from &&
                   lt <= (double)trade_to,
               "%s: want %s (%s), last trade in [%lld, %lld]: %s", path, status, reason,
               (long long)trade_from, (long long)trade_to, t->out);
}

static void errors_a_user_gets(struct t *t)
{
    curl(t, "GET", "/bots/nobody/health", false, NULL);
    expect_code(t, 404);
    bpt_assert(t->env, strstr(str(t->j, "error"), "nobody"), "404 without reason: %s", t->out);
    curl(t, "GET", "/bots/nobody/health/history", false, NULL);
    bpt_assert(t->env, t->code == 200 && cJSON_GetArraySize(item(t->j, "transitions")) == 0,
               "history of an unknown bot: %ld %s", t->code, t->out);
    curl(t, "POST", "/bots/bot-1/health/check", false, NULL); /* the seed's curl: no token */
    expect_code(t, 401);
    curl(t, "POST", "/bots/nobody/health/check", true, NULL);
    expect_code(t, 404);
    curl(t, "POST", "/bots/heartbeat", false, "{}");
    expect_code(t, 401);
    /* the seed's sidecar body ({bot_id, status, metadata}) is not a v1 heartbeat: 400, why */
    curl(t, "POST", "/bots/heartbeat", true,
         "{\"bot_id\":1,\"status\":\"running\",\"metadata\":{\"timestamp\":1}}");
    expect_code(t, 400);
    bpt_assert(t->env, strstr(str(t->j, "error"), "invalid heartbeat"), "400: %s", t->out);
}

/* The seed's sidecar, as botpulse takes it: a v1 heartbeat over HTTP, no agent, no process. */
static void http_heartbeat(struct t *t, const char *bot, int seq, int64_t ts)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"http\",\"bot\":\"%s\",\"boot\":\"b1\","
             "\"seq\":%d,\"ts\":%lld,\"interval_ms\":1000,\"proc\":{\"alive\":true},"
             "\"last_trade_ts\":%lld}",
             bot, seq, (long long)ts, (long long)ts);
    curl(t, "POST", "/bots/heartbeat", true, body);
    expect_code(t, 202);
    bpt_assert(t->env, strcmp(str(t->j, "bot"), bot) == 0 && cJSON_IsTrue(item(t->j, "accepted")),
               "heartbeat answer: %s", t->out);
}

/* The bot's transitions (newest first) as "from>to" joined by spaces, and their times. */
static void history(struct t *t, const char *bot, char *buf, size_t size, int64_t *ts, int nts)
{
    char path[128];
    snprintf(path, sizeof(path), "/bots/%s/health/history", bot);
    curl(t, "GET", path, false, NULL);
    expect_code(t, 200);
    const cJSON *tr, *arr = item(t->j, "transitions");
    size_t n = 0;
    int i = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(tr, arr) {
        if (i < nts)
            ts[i] = (int64_t)num(tr, "ts");
        i++;
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s>%s", n ? " " : "",
                              str(tr, "from"), str(tr, "to"));
    }
}

/* ---- the agent's check, as cron runs it --------------------------------------------------- */

static int check(struct t *t, const char *ini)
{
    char *argv[] = {BPT_AGENT_BIN, "check", "-c", (char *)ini, NULL};
    free(t->out);
    return bpt_run(t->env, argv, 20000, &t->out);
}

#define expect_cron(t, ini, want, needle)                                                          \
    do {                                                                                           \
        int rc_ = check((t), (ini));                                                               \
        bpt_assert((t)->env, rc_ == (want) && (t)->out && strstr((t)->out, (needle)),              \
                   "%s:%d: check exit %d (want %d), lacks '%s':\n%s", __FILE__, __LINE__, rc_,     \
                   (want), (needle), (t)->out ? (t)->out : "");                                    \
    } while (0)

static void check_all_alive(struct t *t)
{
    char line[64];
    bpt_assert(t->env, utimensat(AT_FDCWD, t->hbfile, NULL, 0) == 0, "cannot touch the file");
    expect_cron(t, t->s.agent_ini, 0, "host test-host:");
    for (const char *const *b = (const char *const[]){"bot-1", "bot-2", "bot-3", NULL}; *b; b++) {
        char name[32];
        snprintf(name, sizeof(name), "bot-%s", *b);
        snprintf(line, sizeof(line), "%s: OK - pid %d up ", *b, (int)bpt_pid(t->env, name));
        bpt_assert(t->env, strstr(t->out, line), "no '%s' in:\n%s", line, t->out);
    }
    bpt_assert(t->env, strstr(t->out, "s old\n") && !strstr(t->out, "WARNING"),
               "bot-1's heartbeat file not reported fresh:\n%s", t->out);
}

static void check_stale_and_bad(struct t *t)
{
    struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    bpt_assert(t->env, utimensat(AT_FDCWD, t->hbfile, old, 0) == 0, "cannot age the file");
    expect_cron(t, t->s.agent_ini, 1, "bot-1: WARNING - pid ");
    bpt_assert(t->env, strstr(t->out, "; heartbeat file 36") && strstr(t->out, "s old (max 30s)"),
               "the stale file's age is not reported:\n%s", t->out); /* 3600 s, or just over */
    bpt_assert(t->env, utimensat(AT_FDCWD, t->hbfile, NULL, 0) == 0, "cannot touch the file");
    expect_cron(t, t->s.agent_ini, 0, "bot-1: OK");
    const char *bad = bpt_write_file(t->env, "bad.ini", "[agent]\nid = a\nheartbaet = 10s\n");
    expect_cron(t, bad, 2, "CRITICAL - config error");
    bpt_assert(t->env, strstr(t->out, "bad.ini:3") && strstr(t->out, "heartbaet"),
               "the error does not name file, line and key:\n%s", t->out);
    expect_cron(t, "/nonexistent/agent.ini", 2, "CRITICAL - config error");
}

/* ---- seed 004: the audit report ----------------------------------------------------------- */

/* botpulse-ctl --url <collector> with the words; its output in t->out. */
static int ctl(struct t *t, const char *const *words)
{
    free(t->out);
    t->out = NULL;
    return bpt_ctl_argv(t->env, &t->out, t->url, NULL, words);
}

static const cJSON *report_bot(const cJSON *report, const char *bot)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, item(report, "bots")) {
        if (strcmp(str(b, "bot"), bot) == 0)
            return b;
    }
    return NULL;
}

static double sub(const cJSON *o, const char *obj, const char *key)
{
    return num(item(o, obj), key);
}

static double round2(double pct)
{
    return (double)(int64_t)(pct * 100 + 0.5) / 100;
}

/* One bot's (or the fleet's) numbers, as an auditor reads them. */
struct expect_row {
    const char *bot;
    int trades, critical, resolved, gaps;
    int64_t observed, up, stopped, down; /* ms */
};

static void expect_report_row(struct t *t, const cJSON *o, const struct expect_row *e)
{
    bpt_assert(t->env, o, "no report entry for %s", e->bot);
    char *js = cJSON_PrintUnformatted(o);
    bpt_assert(t->env,
               num(o, "trades") == e->trades && sub(o, "alerts", "critical") == e->critical &&
                   sub(o, "alerts", "warning") == 0 &&
                   sub(o, "alerts", "resolved") == e->resolved &&
                   sub(o, "heartbeat_gaps", "count") == e->gaps &&
                   num(o, "observed_ms") == (double)e->observed &&
                   sub(o, "time_in_status_ms", "stopped") == (double)e->stopped &&
                   sub(o, "time_in_status_ms", "down") == (double)e->down &&
                   sub(o, "heartbeat_gaps", "total_ms") == (double)e->down &&
                   num(o, "uptime_pct") == round2(100.0 * (double)e->up / (double)e->observed),
               "%s: want %d trades, %d critical, %d resolved, %d gaps, observed %lld, up %lld, "
               "stopped %lld, down %lld ms:\n%s",
               e->bot, e->trades, e->critical, e->resolved, e->gaps, (long long)e->observed,
               (long long)e->up, (long long)e->stopped, (long long)e->down, js);
    free(js);
}

/* botpulse-ctl's Markdown summary row for o, from the JSON's own numbers: its line starts with
 * "| name | uptime | gaps (" and ends with
 * ") | critical | warning | resolved | restarts | trades | per h |". */
static void expect_md_row(struct t *t, const char *md, const char *name, const cJSON *o)
{
    char head[128], tail[128];
    snprintf(head, sizeof(head), "\n| %s | %.2f %% | %d (", name, num(o, "uptime_pct"),
             (int)sub(o, "heartbeat_gaps", "count"));
    snprintf(tail, sizeof(tail), ") | %d | %d | %d | 0 (0 ok) | %d | %.2f |\n",
             (int)sub(o, "alerts", "critical"), (int)sub(o, "alerts", "warning"),
             (int)sub(o, "alerts", "resolved"), (int)num(o, "trades"), num(o, "trades_per_hour"));
    const char *line = strstr(md, head), *end = line ? strchr(line + 1, '\n') : NULL;
    size_t n = strlen(tail);
    bpt_assert(t->env, end && (size_t)(end + 1 - line) > n && strncmp(end + 1 - n, tail, n) == 0,
               "the Markdown report lacks the row '%s...%s':\n%s", head + 1, tail, md);
}

static void fmt_time(int64_t ms, char *buf, size_t size)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void audit_report(struct t *t, int64_t from, const int64_t ts2[3], const int64_t tsc[2],
                         const int trades_of[3])
{
    const char *b2[] = {"bot-2"}, *cb[] = {"cron-bot"};
    bpt_assert(t->env,
               bpt_pg_wait_int(t->env, 3, 10000,
                               "SELECT count(*) FROM status_transitions WHERE bot_id = $1", 1,
                               b2) == 3 &&
                   bpt_pg_wait_int(t->env, 2, 10000,
                                   "SELECT count(*) FROM status_transitions WHERE bot_id = $1", 1,
                                   cb) == 2 &&
                   bpt_pg_wait_int(t->env, trades_of[0] + trades_of[1] + trades_of[2], 10000,
                                   "SELECT count(*) FROM trades", 0,
                                   NULL) == trades_of[0] + trades_of[1] + trades_of[2] &&
                   bpt_pg_wait_int(t->env, 1, 10000,
                                   "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                                   "event = 'resolved'",
                                   1, b2) == 1,
               "the history did not reach PostgreSQL");
    int64_t to = now_ms();
    char f[24], tt[24], path[96];
    snprintf(f, sizeof(f), "%lld", (long long)from);
    snprintf(tt, sizeof(tt), "%lld", (long long)to);
    snprintf(path, sizeof(path), "/report?from=%s&to=%s", f, tt);
    curl(t, "GET", path, false, NULL);
    expect_code(t, 200);
    cJSON *http = t->j;
    t->j = NULL;

    /* botpulse-ctl's JSON is the API's, number for number */
    int rc =
        ctl(t, (const char *const[]){"report", "--from", f, "--to", tt, "--format", "json", NULL});
    cJSON *cj = rc == 0 ? cJSON_Parse(t->out) : NULL;
    bpt_assert(t->env, cj && cJSON_Compare(http, cj, true),
               "ctl report --format json (exit %d) differs from GET /report:\n%s", rc, t->out);
    cJSON_Delete(cj);

    /* the numbers an auditor needs: trades as notified, alerts, time down, uptime */
    const struct expect_row rows[] = {
        {.bot = "bot-1", .trades = trades_of[0]},
        {.bot = "bot-2",
         .trades = trades_of[1],
         .critical = 1,
         .resolved = 1,
         .observed = to - ts2[2],
         .up = to - ts2[2] - (ts2[0] - ts2[1]),
         .stopped = ts2[0] - ts2[1]},
        {.bot = "bot-3", .trades = trades_of[2]},
        {.bot = "cron-bot",
         .critical = 1,
         .gaps = 1,
         .observed = to - tsc[1],
         .up = tsc[0] - tsc[1],
         .down = to - tsc[0]},
    };
    int64_t observed = 0, up = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct expect_row e = rows[i];
        if (e.observed == 0) { /* up since its first and only transition */
            int64_t first[1] = {0};
            char h[128];
            history(t, e.bot, h, sizeof(h), first, 1);
            bpt_assert(t->env, strcmp(h, "unknown>healthy") == 0, "%s: %s", e.bot, h);
            e.observed = e.up = to - first[0];
        }
        expect_report_row(t, report_bot(http, e.bot), &e);
        observed += e.observed;
        up += e.up;
    }
    const struct expect_row fleet_row = {.bot = "the fleet",
                                         .trades = trades_of[0] + trades_of[1] + trades_of[2],
                                         .critical = 2,
                                         .resolved = 1,
                                         .gaps = 1,
                                         .observed = observed,
                                         .up = up,
                                         .stopped = rows[1].stopped,
                                         .down = rows[3].down};
    const cJSON *fleet = item(http, "fleet");
    expect_report_row(t, fleet, &fleet_row);
    bpt_assert(t->env, num(fleet, "bots") == 4, "fleet: %g bots", num(fleet, "bots"));
    /* the incidents with their times: cron-bot down until the end, bot-2 stopped */
    const cJSON *w = item(fleet, "worst_incidents");
    const cJSON *i0 = cJSON_GetArrayItem(w, 0), *i1 = cJSON_GetArrayItem(w, 1);
    if (strcmp(str(i0, "bot"), "bot-2") == 0) {
        const cJSON *x = i0;
        i0 = i1;
        i1 = x;
    }
    bpt_assert(t->env,
               cJSON_GetArraySize(w) == 2 && strcmp(str(i0, "bot"), "cron-bot") == 0 &&
                   num(i0, "start") == (double)tsc[0] && num(i0, "end") == (double)to &&
                   strcmp(str(i0, "worst_status"), "down") == 0 &&
                   strcmp(str(i1, "bot"), "bot-2") == 0 && num(i1, "start") == (double)ts2[1] &&
                   num(i1, "end") == (double)ts2[0] &&
                   strcmp(str(i1, "worst_status"), "stopped") == 0,
               "worst incidents: %s", cJSON_PrintUnformatted(w));

    /* the Markdown report says the same */
    rc = ctl(t, (const char *const[]){"report", "--from", f, "--to", tt, NULL});
    bpt_assert(t->env, rc == 0 && strstr(t->out, "## Summary") && strstr(t->out, ", 4 bots"),
               "ctl report: exit %d:\n%s", rc, t->out);
    expect_md_row(t, t->out, "**fleet**", fleet);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        expect_md_row(t, t->out, rows[i].bot, report_bot(http, rows[i].bot));
    char s[40], e[40], line[128];
    fmt_time(ts2[1], s, sizeof(s));
    fmt_time(ts2[0], e, sizeof(e));
    snprintf(line, sizeof(line), "| bot-2 | %s | %s | ", s, e);
    bpt_assert(t->env, strstr(t->out, line), "no incident line '%s':\n%s", line, t->out);
    /* as the README writes it: relative to now */
    rc = ctl(t, (const char *const[]){"report", "--from", "1h", NULL});
    char fleet_tail[96];
    snprintf(fleet_tail, sizeof(fleet_tail), "| 2 | 0 | 1 | 0 (0 ok) | %d | ",
             trades_of[0] + trades_of[1] + trades_of[2]);
    bpt_assert(t->env, rc == 0 && strstr(t->out, "| **fleet** |") && strstr(t->out, fleet_tail),
               "ctl report --from 1h: exit %d, lacks '%s':\n%s", rc, fleet_tail, t->out);
    cJSON_Delete(http);
}

/* ---- the scenario ------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    t->env = bpt_env_new("seeds");
    *state = t;
    return t->env ? 0 : -1;
}

static int teardown(void **state)
{
    struct t *t = *state;
    bpt_rec_free(t->rec);
    bpt_env_free(t->env);
    free(t->out);
    cJSON_Delete(t->j);
    free(t);
    return 0;
}

static void start(struct t *t)
{
    snprintf(t->hbfile, sizeof(t->hbfile), "%s/bot-1.hb", bpt_env_dir(t->env));
    bpt_assert(t->env, bpt_write_file(t->env, "bot-1.hb", "%s", ""), "heartbeat file");
    const char *token = bpt_write_secret(t->env, "token", TOKEN "\n");
    t->auth_header = bpt_write_secret(t->env, "curl-auth", "Authorization: Bearer " TOKEN "\n");
    bpt_assert(t->env, token && t->auth_header, "cannot write the token files");
    char http[700], hb[700];
    snprintf(http, sizeof(http), "token_file = %s\n", token);
    snprintf(hb, sizeof(hb), "heartbeat_file = %s\n", t->hbfile);
    /* the agent's default interval (10 s): a death is seen at once anyway (pidfd) */
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2", "bot-3"},
                               .heartbeat = "10s",
                               .http_extra = http,
                               .bot_extra = {hb}};
    bpt_assert(t->env, bpt_stack_start(t->env, &o, &t->s) == 0, "stack did not start");
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", t->s.http_port);
    t->rec = bpt_rec_new(t->env, BPT_ROOT "/status/#");
    bpt_assert(t->env, t->rec, "recorder did not connect");
    for (const char *const *b = (const char *const[]){"bot-1", "bot-2", "bot-3", NULL}; *b; b++)
        bpt_assert(t->env, bpt_stack_wait_status(&t->s, t->rec, *b, "healthy", 20000) == 0,
                   "%s never became healthy", *b);
}

static int trades(struct t *t, const char *bot, int n, int *count)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "T-%s-%d", bot, ++*count);
        bpt_assert(t->env, bpt_stack_trade(&t->s, bot, id) == 0, "notify trade %s", id);
    }
    return n;
}

static void test_seed_habits(void **state)
{
    struct t *t = *state;
    if (!(t->curl = find_curl())) {
        print_message("the curl binary is not installed (scripts/deps.sh installs it)\n");
        skip();
    }
    int64_t t0 = now_ms();
    start(t);
    int n1 = 0, n2 = 0, n3 = 0;
    int64_t before_trades = now_ms();
    trades(t, "bot-1", 3, &n1);
    trades(t, "bot-2", 2, &n2);
    trades(t, "bot-3", 1, &n3);
    int64_t after_trades = now_ms();

    /* seed 000: the summary and one bot, in the seed's spelling */
    wait_field(t, "/bots/bot-3/health", "reason", "alive and trading");
    for (int i = 0; i < 100 && !(num(t->j, "last_trade") >= (double)before_trades); i++) {
        usleep(100 * 1000);
        curl(t, "GET", "/bots/bot-3/health", false, NULL);
    }
    summary(t, "", 3, 3, 0, 0);
    summary(t, "?account=acct-0", 2, 2, 0, 0);
    summary(t, "?account=acct-1", 1, 1, 0, 0);
    one_bot(t, "bot-1", "healthy", "alive and trading", before_trades, after_trades);
    one_bot(t, "bot-3", "healthy", "alive and trading", before_trades, after_trades);
    errors_a_user_gets(t);

    /* cron's check while everything runs */
    check_all_alive(t);
    check_stale_and_bad(t);

    /* bot-2 dies: the forced check says so now, and the next GET agrees */
    curl(t, "POST", "/bots/bot-2/health/check", true, NULL);
    expect_code(t, 200);
    bpt_assert(t->env, strcmp(str(t->j, "status"), "healthy") == 0, "before: %s", t->out);
    bpt_assert(t->env, bpt_signal(t->env, "bot-bot-2", SIGKILL) == 0, "could not kill bot-2");
    bpt_assert(t->env, bpt_wait_exit(t->env, "bot-bot-2", 5000) >= 0, "bot-2 did not exit");
    for (int i = 0; i < 200 && strcmp(str(t->j, "status"), "stopped") != 0; i++) {
        usleep(50 * 1000);
        curl(t, "POST", "/bots/bot-2/health/check", true, NULL);
    }
    bpt_assert(t->env, t->code == 200 && strcmp(str(t->j, "status"), "stopped") == 0,
               "the forced check never said stopped: %s", t->out);
    one_bot(t, "bot-2", "stopped", "process not running", before_trades, after_trades);
    summary(t, "", 3, 2, 1, 0);
    summary(t, "?account=acct-1", 1, 0, 1, 0);
    expect_cron(t, t->s.agent_ini, 2, "bot-2: CRITICAL - process not running");
    bpt_assert(t->env, strstr(t->out, "bot-1: OK") && strstr(t->out, "bot-3: OK"), "%s", t->out);

    /* the seed's sidecar: heartbeats over HTTP, then none: down */
    int64_t hb_at = now_ms();
    http_heartbeat(t, "cron-bot", 1, hb_at);
    wait_field(t, "/bots/cron-bot/health", "status", "healthy");
    bpt_assert(t->env, strcmp(str(t->j, "agent"), "http") == 0, "%s", t->out);
    http_heartbeat(t, "cron-bot", 2, now_ms());
    wait_field(t, "/bots/cron-bot/health", "status", "down"); /* 3 x 1 s without one */
    summary(t, "", 4, 2, 1, 1);

    /* bot-2 comes back and trades again */
    bpt_assert(t->env, bpt_stack_start_bot(&t->s, "bot-2") == 0, "could not restart bot-2");
    wait_field(t, "/bots/bot-2/health", "status", "healthy");
    trades(t, "bot-2", 1, &n2);
    summary(t, "", 4, 3, 0, 1);

    /* the history route shows the transitions just caused */
    char h[256];
    int64_t ts2[3] = {0}, tsc[2] = {0};
    history(t, "bot-2", h, sizeof(h), ts2, 3);
    bpt_assert(t->env, strcmp(h, "stopped>healthy healthy>stopped unknown>healthy") == 0,
               "bot-2's history: %s\n%s", h, t->out);
    history(t, "cron-bot", h, sizeof(h), tsc, 2);
    bpt_assert(t->env, strcmp(h, "healthy>down unknown>healthy") == 0, "cron-bot: %s\n%s", h,
               t->out);

    audit_report(t, t0, ts2, tsc, (const int[]){n1, n2, n3});
    bpt_assert(t->env, bpt_stack_stop(&t->s) == 0, "a daemon did not shut down cleanly");
    bpt_openapi_check(t->env); /* every answer curl got, as docs/openapi.yaml describes it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_habits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
