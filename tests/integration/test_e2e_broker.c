/* SPDX-License-Identifier: MIT */
/* End to end, the broker as shipped (deploy/mosquitto/): the ACL gives each login exactly the
 * topics of proto/README.md it needs (agents confined to their own, only the collector writes
 * commands, incidents get through, the read-only logins write nothing), and no login can take
 * over another's client id: an agent cannot kick another agent off (firing its Will) nor wipe
 * the collector's persistent session and the QoS 1 trade queued in it. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mqtt.h"

BPT_ENV_FIXTURE("broker")

struct sink {
    pthread_mutex_t mu;
    char seen[8192];
};

static void on_msg(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct sink *s = ctx;
    pthread_mutex_lock(&s->mu);
    size_t n = strlen(s->seen);
    snprintf(s->seen + n, sizeof(s->seen) - n, "%s=%.*s;", topic, (int)len, (const char *)payload);
    pthread_mutex_unlock(&s->mu);
}

static bool saw(struct sink *s, const char *needle)
{
    pthread_mutex_lock(&s->mu);
    bool r = strstr(s->seen, needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static bool wait_saw(struct sink *s, const char *needle, int64_t ms)
{
    int64_t end = bp_mono_ms() + ms;
    while (!saw(s, needle) && bp_mono_ms() < end)
        bp_sleep_ms(20);
    return saw(s, needle);
}

/* A client on the daemons' listener (the shipped settings) logged in as user with its own
 * password, under client_id (NULL: "acl-test-<user>"). */
static struct bp_mqtt *client(struct bpt_env *env, const char *user, const char *client_id,
                              bool clean, struct sink *s, const char *sub1, const char *sub2)
{
    char id[96];
    snprintf(id, sizeof(id), "acl-test-%s", user);
    struct bp_mqtt_opts o = {.url = bpt_broker_url(env),
                             .client_id = client_id ? client_id : id,
                             .username = user,
                             .password = bpt_broker_login(env, user),
                             .clean_session = clean,
                             .on_message = s ? on_msg : NULL,
                             .ctx = s};
    struct bp_mqtt *m = NULL;
    bpt_assert(env, o.password && bp_mqtt_new(&o, &m) == 0, "client %s", user);
    if (sub1)
        bp_mqtt_subscribe(m, sub1, 1);
    if (sub2)
        bp_mqtt_subscribe(m, sub2, 1);
    bpt_assert(env, bp_mqtt_start(m) == 0 && bp_mqtt_wait_connected(m, 10000) == 0,
               "%s could not connect", user);
    return m;
}

static void client_free(struct bp_mqtt *m)
{
    bp_mqtt_stop(m, 1000);
    bp_mqtt_free(m);
}

static void pub(struct bpt_env *env, struct bp_mqtt *m, const char *topic, const char *body)
{
    bpt_assert(env, bp_mqtt_publish(m, topic, body, strlen(body), 1, false) == 0, "publish %s",
               topic);
}

/* Every topic of proto/README.md, published by the login the shipped ACL gives it to. */
static void publish_every_topic(struct bpt_env *env, struct bp_mqtt *a, struct bp_mqtt *col)
{
    static const char *const agent_topics[] = {"state",        "results",       "bots/x/heartbeat",
                                               "bots/x/stats", "bots/x/trades", "bots/x/events"};
    static const char *const col_topics[] = {
        "status/x",      "alerts/critical/x", "incidents/exchange/binance",
        "fleet/summary", "collector/state",   "collector/stats"};
    char topic[128], body[64];
    for (size_t i = 0; i < sizeof(agent_topics) / sizeof(agent_topics[0]); i++) {
        snprintf(topic, sizeof(topic), BPT_ROOT "/agents/agent-a/%s", agent_topics[i]);
        snprintf(body, sizeof(body), "legit-a-%zu", i);
        pub(env, a, topic, body);
    }
    for (size_t i = 0; i < sizeof(col_topics) / sizeof(col_topics[0]); i++) {
        snprintf(topic, sizeof(topic), BPT_ROOT "/%s", col_topics[i]);
        snprintf(body, sizeof(body), "legit-col-%zu", i);
        pub(env, col, topic, body);
    }
}

static void test_acl_confines_each_login(void **state)
{
    struct bpt_env *env = *state;
    bpt_assert(env, bpt_broker_login(env, "agent-a") && bpt_broker_login(env, "agent-b"), "logins");
    bpt_assert(env, bpt_broker_start(env) == 0, "broker did not start with the shipped ACL");
    struct sink sa = {.mu = PTHREAD_MUTEX_INITIALIZER}, sb = sa, sc = sa, sr = sa, so = sa;
    struct bp_mqtt *col =
        client(env, BPT_COLLECTOR_LOGIN, NULL, true, &sc, BPT_ROOT "/agents/#", NULL);
    struct bp_mqtt *b =
        client(env, "agent-b", NULL, true, &sb, BPT_ROOT "/agents/agent-b/commands", NULL);
    struct bp_mqtt *a = client(env, "agent-a", NULL, true, &sa, BPT_ROOT "/agents/agent-b/#",
                               BPT_ROOT "/agents/agent-a/commands");
    struct bp_mqtt *ro = client(env, "alerts@botpulse", NULL, true, &sr, BPT_ROOT "/#", NULL);
    struct bp_mqtt *obs = client(env, BPT_OBSERVER_LOGIN, NULL, true, &so, BPT_ROOT "/#", NULL);
    bp_sleep_ms(300); /* subscriptions settle */

    pub(env, a, BPT_ROOT "/agents/agent-b/bots/x/heartbeat", "forged-by-a");
    pub(env, a, BPT_ROOT "/agents/agent-b/state", "forged-state-by-a");
    pub(env, a, BPT_ROOT "/agents/agent-a/commands", "self-command-by-a");
    pub(env, a, BPT_ROOT "/status/x", "status-by-a");
    pub(env, ro, BPT_ROOT "/alerts/critical/x", "alert-by-readonly");
    pub(env, obs, BPT_ROOT "/status/x", "status-by-observer");
    pub(env, obs, BPT_ROOT "/agents/agent-a/bots/x/heartbeat", "heartbeat-by-observer");
    pub(env, b, BPT_ROOT "/agents/agent-b/bots/y/heartbeat", "legit-b");
    pub(env, col, BPT_ROOT "/agents/agent-b/commands", "cmd-for-b");
    pub(env, col, BPT_ROOT "/agents/agent-a/commands", "cmd-for-a");
    publish_every_topic(env, a, col);

    /* the collector reads every agent topic; agents read their own commands */
    for (int i = 0; i < 6; i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "legit-a-%d", i);
        bpt_assert(env, wait_saw(&sc, needle, 5000), "collector did not get agent-a's %s", needle);
    }
    bpt_assert(env, wait_saw(&sb, "cmd-for-b", 5000), "agent-b did not get its command");
    bpt_assert(env, wait_saw(&sa, "cmd-for-a", 5000), "agent-a did not get its command");
    /* what the collector writes reaches the read-only logins, incidents included */
    for (int i = 0; i < 6; i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "legit-col-%d", i);
        bpt_assert(env, wait_saw(&sr, needle, 5000), "alerts@botpulse did not get %s", needle);
        bpt_assert(env, wait_saw(&so, needle, 5000), "observer did not get %s", needle);
    }
    bpt_assert(env, wait_saw(&so, "legit-b", 5000), "observer cannot read the agents' topics");
    bp_sleep_ms(500);
    bpt_assert(env, !saw(&sc, "forged-by-a"), "agent-a wrote into agent-b's bot topics");
    bpt_assert(env, !saw(&sc, "forged-state-by-a"), "agent-a wrote agent-b's state");
    bpt_assert(env, !saw(&sc, "self-command-by-a") && !saw(&sa, "self-command-by-a"),
               "agent-a wrote its own commands topic");
    bpt_assert(env, !saw(&sa, "cmd-for-b") && !saw(&sa, "legit-b"),
               "agent-a read agent-b's topics");
    bpt_assert(env, !saw(&so, "status-by-a"), "an agent published a status");
    bpt_assert(env, !saw(&so, "alert-by-readonly"), "alerts@botpulse published an alert");
    bpt_assert(env, !saw(&so, "status-by-observer") && !saw(&sc, "heartbeat-by-observer"),
               "the observer published");
    bpt_assert(env, !saw(&sr, "legit-b") && !saw(&sr, "cmd-for"),
               "alerts@botpulse read the agents' topics");
    client_free(a);
    client_free(b);
    client_free(col);
    client_free(ro);
    client_free(obs);
}

/* Connects as user under a foreign client id (clean session: a takeover would wipe the
 * victim's session), lets the broker act on it, disconnects. */
static void connect_as(struct bpt_env *env, const char *user, const char *foreign_id)
{
    struct bp_mqtt *m = client(env, user, foreign_id, true, NULL, NULL, NULL);
    bp_sleep_ms(500);
    client_free(m);
}

static void test_no_login_takes_over_another_client_id(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");

    /* agent-2 logs in under agent-1's client id (the one it sends, and the one the broker
     * would give it): agent-1 stays connected, no Will fires */
    bpt_rec_clear(rec);
    connect_as(env, "agent-2", "botpulse-agent-agent-1");
    connect_as(env, "agent-2", "agent-1");
    const char *offline[] = {"\"online\":false", NULL};
    char *will = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/state", offline, 2000);
    free(will);
    bpt_assert(env, !will, "agent-2 kicked agent-1 off: its Will fired");

    /* the collector away, a QoS 1 trade waits in its persistent session; agent-3 logs in under
     * the collector's client ids with a clean session: the trade must survive */
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "could not stop the collector");
    int st = bpt_wait_exit(env, "collector", 15000);
    bpt_assert(env, st >= 0, "the collector did not stop");
    bpt_assert(env, bpt_stack_trade(&s, "bot-1", "T-queued") == 0, "notify failed");
    const char *trade[] = {"T-queued", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/bots/bot-1/trades", trade, 10000);
    bpt_assert(env, m, "the agent did not publish the trade");
    free(m);
    connect_as(env, "agent-3", "botpulse-collector-collector-1");
    connect_as(env, "agent-3", BPT_COLLECTOR_LOGIN);
    bpt_assert(env, bpt_stack_start_collector(&s) == 0, "the collector did not come back");
    int64_t n = bpt_pg_wait_int(env, 1, 15000,
                                "SELECT count(*) FROM trades WHERE trade_id = 'T-queued'", 0, NULL);
    bpt_assert(env, n == 1, "the trade queued for the collector was lost (%lld stored)",
               (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acl_confines_each_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_login_takes_over_another_client_id, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
