/* SPDX-License-Identifier: MIT */
/* Alert routing against real receivers on loopback: e-mail through libcurl's SMTP to a real
 * SMTP session (login, envelope, a refusal retried, a permanent one not); then end to end, a
 * collector with four sinks (PagerDuty-shaped JSON for critical alerts, the raw alert for
 * everything, Slack for one account, e-mail for critical alerts): a warning reaches only the
 * catch-all, a critical alert the critical sinks and the catch-all, the account filter holds,
 * and the PagerDuty resolve carries the trigger's dedup key. */
#include "http_sink.h"
#include "smtp_sink.h"
#include "stack.h"
#include "webhook.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct col_webhook *mailer(int port, int retries)
{
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
    struct col_webhook_opts o = {.name = "mail",
                                 .url = url,
                                 .timeout_ms = 3000,
                                 .retries = retries,
                                 .backoff_ms = 50,
                                 .queue_max = 16,
                                 .mail_from = "botpulse <bp@example.net>",
                                 .mail_to = "ops@example.net, oncall@example.net",
                                 .username = "bp",
                                 .password = "hunter2"};
    struct col_webhook *w = NULL;
    assert_int_equal(col_webhook_new(&o, &w), 0);
    assert_int_equal(col_webhook_start(w), 0);
    return w;
}

static struct col_webhook_stats settled(struct col_webhook *w, int64_t n)
{
    int64_t deadline = bp_mono_ms() + 10000;
    struct col_webhook_stats st;
    do {
        bp_sleep_ms(20);
        col_webhook_get_stats(w, &st);
    } while (st.delivered + st.failed < n && bp_mono_ms() < deadline);
    return st;
}

static void test_mail_over_smtp(void **state)
{
    (void)state;
    const int codes[] = {451, 250, 550};
    struct bpt_smtp_sink *smtp = bpt_smtp_sink_start(codes, 3);
    assert_non_null(smtp);
    struct col_webhook *w = mailer(bpt_smtp_sink_port(smtp), 3);
    const char *mail = "From: bp@example.net\r\nTo: ops@example.net\r\nSubject: [botpulse] x\r\n"
                       "\r\nbot b1 stopped\r\n.hidden dot\r\n";
    assert_int_equal(col_webhook_submit(w, strdup(mail)), 0);
    struct col_webhook_stats st = settled(w, 1);
    assert_int_equal(st.delivered, 1); /* 451 is "try later": retried */
    assert_int_equal(st.retries, 1);
    char *m = bpt_smtp_sink_message(smtp, 1);
    assert_non_null(m);
    assert_non_null(strstr(m, "AUTH bp hunter2\n"));
    assert_non_null(strstr(m, "FROM <bp@example.net>\n"));
    assert_non_null(strstr(m, "TO <ops@example.net>\nTO <oncall@example.net>\n"));
    assert_non_null(strstr(m, "Subject: [botpulse] x\r\n\r\nbot b1 stopped\r\n.hidden dot\r\n"));
    free(m);
    /* 550 is a refusal that sending again cannot change: failed, not retried */
    assert_int_equal(col_webhook_submit(w, strdup(mail)), 0);
    st = settled(w, 2);
    assert_int_equal(st.failed, 1);
    bp_sleep_ms(300);
    assert_int_equal(bpt_smtp_sink_count(smtp), 3);
    col_webhook_free(w);
    bpt_smtp_sink_stop(smtp);
}

BPT_ENV_FIXTURE("sinks")

/* Runs `botpulse-agent notify ... metric NAME=VALUE` for bot. */
static void metric(struct bpt_env *env, struct bpt_stack *s, const char *bot, const char *kv)
{
    char *argv[] = {BPT_AGENT_BIN, "notify",   "--socket", s->notify_socket, "--bot", (char *)bot,
                    "metric",      (char *)kv, NULL};
    char *out = NULL;
    int rc = bpt_run(env, argv, 10000, &out);
    bpt_assert(env, rc == 0, "notify metric failed (%d): %s", rc, out ? out : "");
    free(out);
}

/* A private file holding a secret (the collector refuses one others may read). */
static const char *secret_file(struct bpt_env *env, const char *name, const char *content)
{
    const char *p = bpt_write_file(env, name, "%s\n", content);
    bpt_assert(env, p && chmod(p, 0600) == 0, "cannot write %s", name);
    return p;
}

struct receivers {
    struct bpt_http_sink *pager, *all, *team;
    struct bpt_smtp_sink *mail;
};

static const char *collector_ini(struct bpt_env *env, struct receivers *r, char *buf, size_t size)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slack", bpt_http_sink_port(r->team));
    const char *team_url = secret_file(env, "team.url", url);
    const char *key = secret_file(env, "pd.key", "R0UT1NGKEY");
    const char *pw = secret_file(env, "smtp.pw", "hunter2");
    snprintf(buf, size,
             "check_confirm = 1\nmetric_rule = drawdown_pct > 5 warning\n" /* in [rules] */
             "[sink pager]\nkind = json\nurl = http://127.0.0.1:%d/v2/enqueue\n"
             "routing_key_file = %s\nseverity = critical\nbackoff = 100ms\n"
             "[sink everything]\nkind = alert\nurl = http://127.0.0.1:%d/all\n"
             "[sink team]\nkind = slack\nurl_file = %s\naccounts = acct-1\n"
             "[sink mail]\nkind = email\nurl = smtp://127.0.0.1:%d\nstarttls = off\n"
             "from = botpulse <bp@example.net>\nto = ops@example.net\nseverity = critical\n"
             "username = bp\npassword_file = %s\n",
             bpt_http_sink_port(r->pager), key, bpt_http_sink_port(r->all), team_url,
             bpt_smtp_sink_port(r->mail), pw);
    return buf;
}

/* Waits for a body with every needle at the sink; fails the test with what it got else. */
static char *wait_body(struct bpt_env *env, struct bpt_http_sink *sink, const char *what,
                       const char *const *needles)
{
    char *b = bpt_http_sink_wait(sink, needles, 1, 15000);
    bpt_assert(env, b, "%s never arrived (%d requests there)", what, bpt_http_sink_count(sink));
    return b;
}

/* Fails if any body the sink received contains needle. */
static void never(struct bpt_env *env, struct bpt_http_sink *sink, const char *what,
                  const char *needle)
{
    for (int i = 0; i < bpt_http_sink_count(sink); i++) {
        char *b = bpt_http_sink_body(sink, i);
        bool hit = b && strstr(b, needle);
        bpt_assert(env, !hit, "%s got what its filter keeps out (%s): %s", what, needle, b);
        free(b);
    }
}

static const char *field(struct bpt_env *env, const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    bpt_assert(env, cJSON_IsString(v), "no string %s%s%s", a, b ? "." : "", b ? b : "");
    return v->valuestring;
}

static void test_alerts_routed_by_severity_and_account(void **state)
{
    struct bpt_env *env = *state;
    const int ok[] = {200}, ok250[] = {250}, flaky[] = {503, 200};
    struct receivers r = {.pager = bpt_http_sink_start(flaky, 2),
                          .all = bpt_http_sink_start(ok, 1),
                          .team = bpt_http_sink_start(ok, 1),
                          .mail = bpt_smtp_sink_start(ok250, 1)};
    bpt_assert(env, r.pager && r.all && r.team && r.mail, "receivers did not start");
    char ini[2048];
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"},
                               .collector_extra = collector_ini(env, &r, ini, sizeof(ini))};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    for (const char *const *b = (const char *const[]){"bot-1", "bot-2", NULL}; *b; b++)
        bpt_assert(env, bpt_stack_wait_status(&s, rec, *b, "healthy", 15000) == 0,
                   "%s never became healthy", *b);

    /* a warning about bot-1 (account acct-0): the catch-all only */
    metric(env, &s, "bot-1", "drawdown_pct=9");
    const char *warn[] = {"\"check\":\"metric:drawdown_pct\"", "\"severity\":\"warning\"", NULL};
    free(wait_body(env, r.all, "the warning at the catch-all", warn));

    /* bot-1 killed: critical, to pager (after a 503), everything and the mail; not team */
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    const char *crit[] = {"\"check\":\"process\"", "\"bot\":\"bot-1\"", "\"event\":\"opened\"",
                          NULL};
    char *raw = wait_body(env, r.all, "bot-1's critical alert at the catch-all", crit);
    cJSON *alert = cJSON_Parse(raw);
    free(raw);
    char alert_id[64];
    snprintf(alert_id, sizeof(alert_id), "%s", field(env, alert, "alert_id", NULL));
    cJSON_Delete(alert);
    char want_key[96];
    snprintf(want_key, sizeof(want_key), "\"dedup_key\":\"%s\"", alert_id);
    const char *trig[] = {"\"event_action\":\"trigger\"", want_key, NULL};
    char *pd = wait_body(env, r.pager, "the PagerDuty trigger", trig);
    cJSON *j = cJSON_Parse(pd);
    free(pd);
    bpt_assert(env, strcmp(field(env, j, "routing_key", NULL), "R0UT1NGKEY") == 0, "routing_key");
    bpt_assert(env, strcmp(field(env, j, "payload", "severity"), "critical") == 0, "severity");
    bpt_assert(env, strcmp(field(env, j, "payload", "source"), "bot-1@test-host") == 0, "source");
    bpt_assert(env, strcmp(field(env, j, "status", NULL), "firing") == 0, "Alertmanager status");
    cJSON_Delete(j);
    char subject[96];
    snprintf(subject, sizeof(subject), "X-Botpulse-Id: %s\r\n", alert_id);
    const char *mailed[] = {"AUTH bp hunter2\n", "TO <ops@example.net>\n",
                            "Subject: [botpulse] [CRITICAL] bot bot-1", subject, NULL};
    char *m = bpt_smtp_sink_wait(r.mail, mailed, 1, 15000);
    bpt_assert(env, m, "the critical alert was not mailed (%d mails)", bpt_smtp_sink_count(r.mail));
    free(m);

    /* bot-2 (account acct-1) killed: the team's Slack hears of it */
    bpt_assert(env, bpt_signal(env, "bot-bot-2", SIGKILL) == 0, "could not kill bot-2");
    const char *team[] = {"\"text\":\"[CRITICAL] bot bot-2", NULL};
    free(wait_body(env, r.team, "bot-2's alert at the team's Slack", team));

    /* bot-1 back: the PagerDuty resolve has the trigger's dedup key */
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-1") == 0, "could not restart bot-1");
    const char *resolve[] = {"\"event_action\":\"resolve\"", want_key, "\"status\":\"resolved\"",
                             NULL};
    free(wait_body(env, r.pager, "the PagerDuty resolve", resolve));
    const char *counted[] = {"\"sinks\":{", "\"pager\":{\"kind\":\"json\",\"delivered\":3",
                             "\"retries\":1", NULL};
    char *st = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", counted, 10000);
    bpt_assert(env, st, "collector/stats does not count the pager's deliveries");
    free(st);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly"); /* sinks drained */

    never(env, r.pager, "the critical-only pager", "\"component\":\"metric:drawdown_pct\"");
    never(env, r.team, "acct-1's Slack", "bot-1");
    for (int i = 0; i < bpt_smtp_sink_count(r.mail); i++) {
        char *mail = bpt_smtp_sink_message(r.mail, i);
        bpt_assert(env, mail && !strstr(mail, "check:     metric:drawdown_pct"),
                   "a warning was mailed: %s", mail);
        free(mail);
    }
    bpt_http_sink_stop(r.pager);
    bpt_http_sink_stop(r.all);
    bpt_http_sink_stop(r.team);
    bpt_smtp_sink_stop(r.mail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_over_smtp),
        cmocka_unit_test_setup_teardown(test_alerts_routed_by_severity_and_account, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
