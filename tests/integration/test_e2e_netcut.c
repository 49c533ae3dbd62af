/* SPDX-License-Identifier: MIT */
/* End to end, network cuts: links that silently drop every packet (no FIN, no RST), made in
 * network namespaces of the test's own (netns.h), between the broker and an agent, the broker
 * and the collector, PostgreSQL and the collector. What a user must see: an agent cut off has
 * its bots down within their heartbeat timeout, not at the MQTT keepalive; the trades reported
 * during a cut are stored exactly once after it heals; a collector cut off from the broker is
 * blind and raises no false alarm; a collector cut off from PostgreSQL spools and loses
 * nothing. Needs root, iproute2 and nftables; skipped without them. */
#include "netns.h"
#include "stack.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool usable;
static char why_not[200];

struct fx {
    struct bpt_env *env;
    struct bpt_host host;
    const char *prefix[4]; /* runs a daemon in host's namespace */
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    *state = fx;
    if (!usable)
        return 0;
    fx->env = bpt_env_new("netcut");
    if (!fx->env)
        return -1;
    bpt_netns_mark(fx->env);
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    struct bpt_env *env = fx->env;
    bpt_env_free(env); /* the daemons first: nothing runs in the namespace when it goes */
    if (env)
        bpt_host_del(&fx->host);
    free(fx);
    return 0;
}

/* Skips the test (cmocka's skip: ctest says "Skipped") on a machine that cannot cut links. */
static struct fx *begin(void **state)
{
    if (!usable) {
        fprintf(stderr, "test_e2e_netcut: skipped: %s\n", why_not);
        skip();
    }
    return *state;
}

static void trades(struct bpt_env *env, struct bpt_stack *s, const char *bot, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char id[32];
        snprintf(id, sizeof(id), "T-%d", i);
        bpt_assert(env, bpt_stack_trade(s, bot, id) == 0, "notify %s failed", id);
    }
}

enum away { AGENT_AWAY, COLLECTOR_AWAY };

/* Starts the stack (bots bot-1 and bot-2) with the agent or the collector in host namespace
 * number index, waits until both bots are healthy, and returns a recorder of everything. */
static struct bpt_rec *start_away(struct fx *fx, enum away who, int index, const char *mqtt_extra,
                                  struct bpt_stack *s)
{
    struct bpt_env *env = fx->env;
    bpt_assert(env, bpt_host_add(env, index, &fx->host) == 0, "cannot make host %d's namespace",
               index);
    bpt_host_exec_prefix(&fx->host, fx->prefix);
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}, .mqtt_extra = mqtt_extra};
    if (who == AGENT_AWAY) {
        o.agent_prefix = fx->prefix;
        o.agent_hub_addr = fx->host.hub_addr;
    } else {
        o.collector_prefix = fx->prefix;
        o.collector_hub_addr = fx->host.hub_addr;
        o.collector_http_addr = fx->host.host_addr;
    }
    bpt_assert(env, bpt_stack_start(env, &o, s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy before the cut");
    bpt_assert(env, bpt_stack_wait_status(s, rec, "bot-2", "healthy", 15000) == 0,
               "bot-2 not healthy before the cut");
    return rec;
}

static const char *const count_sql = "SELECT count(*) FROM trades WHERE bot_id = 'bot-1'";
static const char *const distinct_sql =
    "SELECT count(DISTINCT trade_id) FROM trades WHERE bot_id = 'bot-1'";

/* n trades of bot-1 stored, each once, and still so a while later (a late duplicate). */
static void expect_trades_once(struct bpt_env *env, int n, int64_t timeout_ms)
{
    int64_t got = bpt_pg_wait_int(env, n, timeout_ms, count_sql, 0, NULL);
    bpt_assert(env, got == n, "expected %d trades stored, got %lld", n, (long long)got);
    usleep(2000 * 1000);
    got = bpt_pg_int(env, count_sql, 0, NULL);
    bpt_assert(env, got == n, "a trade was stored twice: %lld rows for %d trades", (long long)got,
               n);
    bpt_assert(env, bpt_pg_int(env, distinct_sql, 0, NULL) == n, "a trade is missing");
}

static int64_t transitions_away_from_healthy(struct bpt_env *env, const char *bot)
{
    const char *p[] = {bot};
    return bpt_pg_int(env,
                      "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                      "to_status <> 'healthy'",
                      1, p);
}

/* The agent's host loses its link without a FIN: the broker and the agent both still believe
 * in the connection (a keepalive of 20 s: the Will would come after 30 s). The collector sees
 * the bots' heartbeats stop and says down within their heartbeat timeout (1.5 s). */
static void test_agent_cut_is_down_within_the_heartbeat_timeout(void **state)
{
    struct fx *fx = begin(state);
    struct bpt_env *env = fx->env;
    struct bpt_stack s;
    struct bpt_rec *rec = start_away(fx, AGENT_AWAY, 1, NULL, &s);
    trades(env, &s, "bot-1", 0, 0);
    bpt_assert(env, bpt_pg_wait_int(env, 1, 10000, count_sql, 0, NULL) == 1, "T-0 not stored");
    /* past the collector's reconnect grace (5 s after it connected), in which a silence waits
     * for the grace to end (the agents report back after the collector's own restart) */
    usleep(5500 * 1000);

    bpt_rec_clear(rec);
    int64_t cut_at = bp_mono_ms();
    bpt_assert(env, bpt_host_cut(env, &fx->host) == 0, "cannot cut the agent's link");
    trades(env, &s, "bot-1", 1, 3); /* the agent takes them; the link holds them */
    fprintf(stderr, "agent cut: 3 trades reported %lld ms after the cut\n",
            (long long)(bp_mono_ms() - cut_at));
    char *down = bpt_rec_wait_fields(rec, BPT_ROOT "/status/bot-1", 10000,
                                     (const char *const[]){"status=down", NULL});
    int64_t seen_ms = bp_mono_ms() - cut_at;
    bpt_assert(env, down, "bot-1 not down within 10 s of its agent's link going silent");
    bpt_assert(env, strstr(down, "no heartbeat"), "down, but not for its silence: %s", down);
    free(down);
    bpt_expect_msg(rec, BPT_ROOT "/status/bot-2", 5000, "status=down");
    /* the keepalive has not run out: the broker has not fired the agent's Will */
    const char *offline[] = {"\"online\":false", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/agents/agent-1/state", offline) == 0,
               "the agent's Will fired: this measured the keepalive, not the heartbeat timeout");
    fprintf(stderr,
            "agent cut: bot-1 down %lld ms after the cut (heartbeat timeout 1500 ms, "
            "keepalive 20 s)\n",
            (long long)seen_ms);

    bpt_assert(env, bpt_host_heal(env, &fx->host) == 0, "cannot heal the link");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 30000) == 0,
               "bot-1 not healthy again after the link healed");
    expect_trades_once(env, 4, 30000);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

/* A cut longer than the agent's keepalive (2 s here): the broker fires the Will, the agent
 * gives the connection up and reconnects once the link heals. The trades reported meanwhile
 * wait in the agent's buffer and are stored exactly once. */
static void test_trades_during_a_long_cut_are_stored_once(void **state)
{
    struct fx *fx = begin(state);
    struct bpt_env *env = fx->env;
    struct bpt_stack s;
    struct bpt_rec *rec = start_away(fx, AGENT_AWAY, 1, "keepalive = 2s\n", &s);
    trades(env, &s, "bot-1", 0, 1);
    bpt_assert(env, bpt_pg_wait_int(env, 2, 10000, count_sql, 0, NULL) == 2,
               "trades before the cut not stored");

    bpt_rec_clear(rec);
    bpt_assert(env, bpt_host_cut(env, &fx->host) == 0, "cannot cut the agent's link");
    trades(env, &s, "bot-1", 2, 3);
    bpt_expect_msg(rec, BPT_ROOT "/agents/agent-1/state", 15000, "online=false");
    /* the agent has given the connection up too (it notices within about 2 keepalives) */
    bpt_assert(env, bpt_log_has(env, "agent", "connection to the broker lost", 15000),
               "the agent did not notice its connection was gone");
    trades(env, &s, "bot-1", 4, 5);
    bpt_assert(env, bpt_host_heal(env, &fx->host) == 0, "cannot heal the link");
    bpt_expect_msg(rec, BPT_ROOT "/agents/agent-1/state", 45000, "online=true");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy again after the agent reconnected");
    expect_trades_once(env, 6, 30000);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

/* The collector's host loses its link to the broker without a FIN: Paho would notice only at
 * its keepalive (20 s), and meanwhile every heartbeat stops reaching it. Its echo stops coming
 * back, so it is blind, not the fleet down: no bot goes down, no alert. A bot that really
 * died during the cut is seen once the link heals. */
static void test_collector_cut_from_the_broker_is_blind(void **state)
{
    struct fx *fx = begin(state);
    struct bpt_env *env = fx->env;
    struct bpt_stack s;
    struct bpt_rec *rec = start_away(fx, COLLECTOR_AWAY, 2, NULL, &s);

    bpt_rec_clear(rec);
    bpt_assert(env, bpt_host_cut(env, &fx->host) == 0, "cannot cut the collector's link");
    bpt_assert(env, bpt_log_has(env, "collector", "no echo back through the broker", 10000),
               "the collector did not notice it was blind");
    bpt_assert(env, bpt_signal(env, "bot-bot-2", SIGKILL) == 0, "cannot kill bot-2");
    usleep(4000 * 1000); /* well past the heartbeat timeout (1.5 s), short of the keepalive */
    bpt_assert(env, bpt_host_heal(env, &fx->host) == 0, "cannot heal the link");
    bpt_assert(env, bpt_log_has(env, "collector", "the broker echoes again", 15000),
               "the collector did not see again after the link healed");
    /* the real death is seen, the silence the cut made is not held against anyone */
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "stopped", 15000) == 0,
               "bot-2 died during the cut and was not reported stopped after it");
    usleep(3000 * 1000); /* two heartbeat timeouts after the heal */
    const char *not_healthy[] = {"\"status\":\"down\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/bot-1", not_healthy) == 0,
               "false alarm: bot-1 reported down because the collector could not see");
    bpt_assert(env, transitions_away_from_healthy(env, "bot-1") == 0,
               "false alarm: bot-1 has a transition away from healthy");
    const char *alert[] = {"\"bot\":\"bot-1\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/#", alert) == 0,
               "false alarm: an alert for bot-1");
    bpt_expect_msg(rec, BPT_ROOT "/collector/stats", 5000, "echo_losses=1", "blind=false");
    /* its own health says the broker is fine again */
    struct bpt_http r = {0};
    struct bpt_http_req rq = {.base = s.http_base, .path = "/health/broker"};
    bpt_assert(env, bpt_http(env, &rq, &r) == 200, "/health/broker %ld after the heal: %s",
               r.status, r.body);
    bpt_http_cleanup(&r);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

/* The collector loses its link to PostgreSQL without a FIN (only PostgreSQL's port: the
 * broker still flows). It keeps judging and publishing, spools the rows, notices the dead
 * connection (keepalives, tcp_user_timeout) and writes everything once the link heals. */
static void test_collector_cut_from_the_database_spools(void **state)
{
    struct fx *fx = begin(state);
    struct bpt_env *env = fx->env;
    struct bpt_stack s;
    struct bpt_rec *rec = start_away(fx, COLLECTOR_AWAY, 3, NULL, &s);
    trades(env, &s, "bot-1", 0, 0);
    bpt_assert(env, bpt_pg_wait_int(env, 1, 10000, count_sql, 0, NULL) == 1, "T-0 not stored");

    bpt_rec_clear(rec);
    bpt_assert(env, bpt_host_cut_port(env, &fx->host, bpt_pg_port(env)) == 0,
               "cannot cut the collector's database link");
    trades(env, &s, "bot-1", 1, 5);
    bpt_assert(env, bpt_signal(env, "bot-bot-2", SIGKILL) == 0, "cannot kill bot-2");
    /* the live path does not wait for the database */
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "stopped", 10000) == 0,
               "bot-2's death not published while the database was cut off");
    /* the dead connection is noticed (tcp_user_timeout 15 s), not waited on for minutes */
    bpt_assert(env, bpt_log_has(env, "collector", "database write failed, keeping", 40000),
               "the collector did not notice its database connection was dead");
    trades(env, &s, "bot-1", 6, 7);
    bpt_assert(env, bpt_host_heal(env, &fx->host) == 0, "cannot heal the link");
    bpt_assert(env, bpt_log_has(env, "collector", "database is back", 30000),
               "the collector did not write again after the link healed");
    expect_trades_once(env, 8, 30000);
    const char *p[] = {"bot-2"};
    bpt_assert(env,
               bpt_pg_wait_int(env, 1, 15000,
                               "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                               "to_status = 'stopped'",
                               1, p) == 1,
               "bot-2's transition to stopped, made during the cut, is not stored once");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

int main(void)
{
    usable = bpt_netns_usable(why_not, sizeof(why_not));
    /* first, before any thread: everything this test starts lives in its own namespace */
    if (usable && bpt_netns_enter_private() < 0) {
        snprintf(why_not, sizeof(why_not), "cannot make a network namespace");
        usable = false;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_agent_cut_is_down_within_the_heartbeat_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trades_during_a_long_cut_are_stored_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collector_cut_from_the_broker_is_blind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collector_cut_from_the_database_spools, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
