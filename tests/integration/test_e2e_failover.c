/* SPDX-License-Identifier: MIT */
/* Several collectors sharing one fleet, end to end: three collectors (each with its own broker
 * login, as docs/deployment.md says), one mosquitto, one PostgreSQL, six real agents with one
 * bot each, the fleet in 8 shards.
 *
 * - kill -9 of the collector owning the most agents while one of its bots dies: the death is
 *   announced exactly once, by the collector that takes the shard over, within one heartbeat
 *   timeout of the death; an alert the dead one had opened resolves under its id; trades
 *   stay stored exactly once; restarting the dead collector moves shards back to it with no
 *   alert and no status said again, and a bot dying after that is still announced once.
 * - a collector cut from PostgreSQL (its lock session's login refused and the session ended)
 *   fences itself: a death in its shards is announced once, by the collector that takes them;
 *   with PostgreSQL stopped nobody may act, and nothing is said until it is back, once. */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "shard.h"

#define ROOT "botpulse/v1"
#define SHARDS 8
#define NCOL 3
#define NAGENTS 6
#define HEARTBEAT "3s"
#define HB_TIMEOUT_MS 9000 /* 3 missed heartbeats */
#define LEASE_MS 2000      /* the default lease, and a round of 500 ms */
#define SETTLE_MS 60000

BPT_ENV_FIXTURE("failover")

struct fleet {
    struct bpt_env *env;
    struct bpt_rec *rec; /* everything under the root */
    int ncol;
    int http[NCOL];
    char ini[NCOL][600];
    char notify[NAGENTS][600];
    int trades;
};

static void col_id(int i, char *buf, size_t size)
{
    snprintf(buf, size, "c-%d", i + 1);
}

static void login_of(int i, char *buf, size_t size)
{
    snprintf(buf, size, "collector-%d@botpulse", i + 1);
}

static void agent_id(int a, char *buf, size_t size)
{
    snprintf(buf, size, "ag-%d", a + 1);
}

static void bot_id(int a, char *buf, size_t size)
{
    snprintf(buf, size, "bot-ag-%d", a + 1);
}

/* collector-<i>.ini: the cluster on, 8 shards, warm-up longer than a heartbeat interval. */
static void write_collector(struct fleet *f, int i, const char *cluster_extra)
{
    char id[16], login[64], name[64];
    col_id(i, id, sizeof(id));
    login_of(i, login, sizeof(login));
    snprintf(name, sizeof(name), "collector-%d.ini", i + 1);
    f->http[i] = bpt_free_port();
    const char *path = bpt_write_file(
        f->env, name,
        "[collector]\nid = %s\nlog_level = debug\nstats_interval = 1s\n"
        "[mqtt]\nurl = %s\ntopic_root = " ROOT "\nusername = %s\npassword = %s\n"
        "[database]\nconninfo = %s\nretry = 200ms\n"
        "[http]\nlisten = 127.0.0.1:%d\n"
        "[rules]\nsummary_interval = 100ms\nreconnect_grace = 5s\ncpu_warn = 10000\n"
        "cpu_crit = 10000\nmem_warn = 101\nmem_crit = 101\ndisk_warn = 101\ndisk_crit = 101\n"
        "[cluster]\nenabled = on\nshards = %d\nwarmup = 5s\n%s",
        id, bpt_broker_url(f->env), login, bpt_broker_login(f->env, login), bpt_pg_conninfo(f->env),
        f->http[i], SHARDS, cluster_extra ? cluster_extra : "");
    bpt_assert(f->env, path, "cannot write %s", name);
    snprintf(f->ini[i], sizeof(f->ini[i]), "%s", path);
}

/* Starts collector i and waits for its own state topic to say online. */
static void start_collector(struct fleet *f, int i)
{
    char id[16], name[32], topic[128];
    col_id(i, id, sizeof(id));
    snprintf(name, sizeof(name), "collector-%d", i + 1);
    snprintf(topic, sizeof(topic), ROOT "/collector/%s/state", id);
    char *argv[] = {BPT_COLLECTOR_BIN, "-c", f->ini[i], NULL};
    bpt_assert(f->env, bpt_spawn(f->env, name, argv) > 0, "cannot start %s", name);
    char *m =
        bpt_rec_wait_fields(f->rec, topic, 30000, (const char *const[]){"state=online", NULL});
    bpt_assert(f->env, m, "%s did not come online", name);
    free(m);
}

/* Bot a's stand-in (a sleep) and its pid file. */
static void start_bot(struct fleet *f, int a)
{
    char bot[32], name[48], pidfile[64];
    bot_id(a, bot, sizeof(bot));
    snprintf(name, sizeof(name), "bot-%s", bot);
    char *argv[] = {"/bin/sleep", "100000", NULL};
    pid_t pid = bpt_spawn(f->env, name, argv);
    bpt_assert(f->env, pid > 0, "cannot start %s", bot);
    snprintf(pidfile, sizeof(pidfile), "%s.pid", bot);
    bpt_assert(f->env, bpt_write_file(f->env, pidfile, "%d\n", (int)pid), "pid file");
}

static void kill_bot(struct fleet *f, int a)
{
    char bot[32], name[48];
    bot_id(a, bot, sizeof(bot));
    snprintf(name, sizeof(name), "bot-%s", bot);
    bpt_assert(f->env, bpt_signal(f->env, name, SIGKILL) == 0, "cannot kill %s", bot);
    bpt_wait_exit(f->env, name, 5000);
}

static void start_agent(struct fleet *f, int a)
{
    char id[16], bot[32], name[48], dir[512], ini[64];
    agent_id(a, id, sizeof(id));
    bot_id(a, bot, sizeof(bot));
    snprintf(dir, sizeof(dir), "%s/%s", bpt_env_dir(f->env), id);
    snprintf(f->notify[a], sizeof(f->notify[a]), "%s/notify.sock", dir);
    snprintf(ini, sizeof(ini), "%s.ini", id);
    const char *path =
        bpt_write_file(f->env, ini,
                       "[agent]\nid = %s\nhost = host-%s\nheartbeat = " HEARTBEAT "\nstats = 5s\n"
                       "state_dir = %s\nnotify_socket = %s\n"
                       "[mqtt]\nurl = %s\ntopic_root = " ROOT "\nusername = %s\npassword = %s\n"
                       "[bot %s]\npid_file = %s/%s.pid\naccount = acct\nexchange = ex-%d\n",
                       id, id, dir, f->notify[a], bpt_broker_url(f->env), id,
                       bpt_broker_login(f->env, id), bot, bpt_env_dir(f->env), bot, a);
    bpt_assert(f->env, path && chmod(path, 0600) == 0, "cannot write %s", ini);
    snprintf(name, sizeof(name), "agent-%s", id);
    char *argv[] = {BPT_AGENT_BIN, "-c", (char *)path, NULL};
    bpt_assert(f->env, bpt_spawn(f->env, name, argv) > 0, "cannot start %s", name);
}

static void trade(struct fleet *f, int a)
{
    char bot[32], tid[32];
    bot_id(a, bot, sizeof(bot));
    snprintf(tid, sizeof(tid), "t-%d", ++f->trades);
    char *argv[] = {BPT_AGENT_BIN, "notify", "--socket", f->notify[a], "--bot",  bot,   "trade",
                    "--id",        tid,      "--symbol", "BTC-USDT",   "--side", "buy", NULL};
    char *out = NULL;
    int rc = bpt_run(f->env, argv, 10000, &out);
    bpt_assert(f->env, rc == 0, "trade %s of %s refused (%d): %s", tid, bot, rc, out ? out : "");
    free(out);
}

/* Every collector holds shards, none more than its fair share, all of them held, the shards
 * handed over have been held a lease (their takeovers done), and a leader leads. */
static void wait_settled(struct fleet *f, int ncol)
{
    char share[16], n[16], total[16];
    snprintf(share, sizeof(share), "%d", (SHARDS + ncol - 1) / ncol);
    snprintf(n, sizeof(n), "%d", ncol);
    snprintf(total, sizeof(total), "%d", SHARDS);
    const char *p[] = {share, n, total};
    int64_t ok = bpt_pg_wait_int(
        f->env, 1, SETTLE_MS,
        "SELECT (count(*) FILTER (WHERE k BETWEEN 1 AND $1::int) = $2::int AND sum(k) = $3::int "
        "AND bool_or(lead) AND max(changed_at) < now() - interval '3 s')::int FROM (SELECT "
        "cardinality(array_remove(shards, -1)) AS k, -1 = ANY(shards) AS lead, changed_at "
        "FROM collectors WHERE last_seen > now() - interval '2 s') t",
        3, p);
    bpt_assert(f->env, ok == 1, "the %d collectors did not share the %d shards", ncol, SHARDS);
}

/* The live collector holding agent a's shard, as the table says (caller frees), or NULL. A
 * dead collector's row still lists what it held; the newest live claim is the holder. */
static char *owner_of(struct fleet *f, int a)
{
    char id[16], s[16];
    agent_id(a, id, sizeof(id));
    snprintf(s, sizeof(s), "%d", col_shard_of(id, SHARDS));
    const char *p[] = {s};
    return bpt_pg_text(f->env,
                       "SELECT collector_id FROM collectors WHERE $1::int = ANY(shards) "
                       "AND last_seen > now() - interval '2 s' ORDER BY changed_at DESC LIMIT 1",
                       1, p);
}

static int col_index(const char *id)
{
    return id ? atoi(id + 2) - 1 : -1;
}

static int count_msgs(struct fleet *f, const char *topic, const char *needle)
{
    const char *needles[] = {needle, NULL};
    return bpt_rec_count(f->rec, topic, needle ? needles : (const char *const[]){NULL});
}

static void wait_status(struct fleet *f, int a, const char *status, int64_t timeout_ms)
{
    char bot[32], topic[128], field[64];
    bot_id(a, bot, sizeof(bot));
    snprintf(topic, sizeof(topic), ROOT "/status/%s", bot);
    snprintf(field, sizeof(field), "status=%s", status);
    char *m = bpt_rec_wait_fields(f->rec, topic, timeout_ms, (const char *const[]){field, NULL});
    bpt_assert(f->env, m, "%s never said %s", bot, status);
    free(m);
}

/* The broker (a login for each of ncol collectors and each agent) and PostgreSQL. */
static void start_servers(struct fleet *f, struct bpt_env *env, int ncol)
{
    memset(f, 0, sizeof(*f));
    f->env = env;
    f->ncol = ncol;
    for (int i = 0; i < ncol; i++) {
        char login[64];
        login_of(i, login, sizeof(login));
        bpt_assert(env, bpt_broker_add_collector(env, login), "login %s", login);
    }
    for (int a = 0; a < NAGENTS; a++) {
        char id[16];
        agent_id(a, id, sizeof(id));
        bpt_assert(env, bpt_broker_login(env, id), "login %s", id);
    }
    bpt_assert(env, bpt_broker_start(env) == 0, "mosquitto did not start");
    bpt_assert(env, bpt_pg_start(env) == 0, "PostgreSQL did not start");
    f->rec = bpt_rec_new(env, ROOT "/#");
    bpt_assert(env, f->rec, "recorder");
}

/* The collectors (extra: [cluster] lines of each, or NULL), the agents and their bots; returns
 * once the shards are shared and every bot is healthy. */
static void start_daemons(struct fleet *f, const char *const *extra)
{
    for (int i = 0; i < f->ncol; i++)
        write_collector(f, i, extra ? extra[i] : NULL);
    for (int i = 0; i < f->ncol; i++)
        start_collector(f, i);
    for (int a = 0; a < NAGENTS; a++) {
        start_bot(f, a);
        start_agent(f, a);
    }
    wait_settled(f, f->ncol);
    for (int a = 0; a < NAGENTS; a++)
        wait_status(f, a, "healthy", SETTLE_MS);
}

/* The collector holding the most agents' shards, and two of its agents. */
static int pick_victim(struct fleet *f, int *x, int *y)
{
    int count[NCOL] = {0}, owner[NAGENTS];
    for (int a = 0; a < NAGENTS; a++) {
        char *o = owner_of(f, a);
        owner[a] = col_index(o);
        free(o);
        bpt_assert(f->env, owner[a] >= 0 && owner[a] < f->ncol, "agent %d has no owner", a);
        count[owner[a]]++;
    }
    int v = 0;
    for (int i = 1; i < f->ncol; i++)
        if (count[i] > count[v])
            v = i;
    *x = *y = -1;
    for (int a = 0; a < NAGENTS; a++)
        if (owner[a] == v && *y < 0)
            *(*x < 0 ? x : y) = a;
    bpt_assert(f->env, *y >= 0, "no collector holds two agents' shards");
    return v;
}

static int64_t trades_stored(struct fleet *f)
{
    return bpt_pg_int(f->env, "SELECT count(*) FROM trades", 0, NULL);
}

/* GET path from collector i: asserts a 200 whose body holds want. */
static void expect_http(struct fleet *f, int i, const char *path, const char *want)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", f->http[i]);
    struct bpt_http r = {0};
    bpt_http(f->env, &(struct bpt_http_req){.base = base, .path = path}, &r);
    bpt_assert(f->env, r.status == 200 && strstr(r.body, want), "c-%d %s: %ld %s (want %s)", i + 1,
               path, r.status, r.body, want);
    bpt_http_cleanup(&r);
}

static void test_kill_the_owner_then_bring_it_back(void **state)
{
    struct fleet f;
    start_servers(&f, *state, NCOL);
    start_daemons(&f, NULL);
    for (int a = 0; a < NAGENTS; a++)
        trade(&f, a);
    int x, y, v = pick_victim(&f, &x, &y);
    char bx[32], by[32], vname[32], topic[128];
    bot_id(x, bx, sizeof(bx));
    bot_id(y, by, sizeof(by));
    snprintf(vname, sizeof(vname), "collector-%d", v + 1);

    /* y's bot dies while its owner lives: the owner opens its alert and stores it */
    kill_bot(&f, y);
    snprintf(topic, sizeof(topic), ROOT "/alerts/critical/%s", by);
    char *m = bpt_rec_wait_fields(f.rec, topic, 15000, (const char *const[]){"event=opened", NULL});
    bpt_assert(f.env, m, "%s's death was not announced", by);
    char alert_a[64];
    bpt_assert(f.env, bpt_json_get(m, "alert_id", alert_a, sizeof(alert_a)), "alert_id");
    free(m);
    const char *pa[] = {alert_a};
    bpt_assert(f.env,
               bpt_pg_wait_int(f.env, 1, 10000,
                               "SELECT count(*) FROM alert_events WHERE alert_id = $1", 1, pa) == 1,
               "alert %s was not stored", alert_a);
    /* another collector tells the same: y's owner, and the alert under the id it announced */
    int other = (v + 1) % NCOL;
    char path[128], want[64];
    snprintf(path, sizeof(path), "/alerts?bot=%s", by);
    expect_http(&f, other, path, alert_a);
    snprintf(path, sizeof(path), "/bots/%s", by);
    snprintf(want, sizeof(want), "\"owner\":\"c-%d\"", v + 1);
    expect_http(&f, other, path, want);

    /* kill -9 its owner, and x's bot with it */
    bpt_rec_clear(f.rec);
    bpt_assert(f.env, bpt_signal(f.env, vname, SIGKILL) == 0, "cannot kill %s", vname);
    int64_t t_kill = bp_mono_ms();
    kill_bot(&f, x);
    trade(&f, (x + 1) % NAGENTS); /* trades while a shard changes hands */
    trade(&f, y);
    snprintf(topic, sizeof(topic), ROOT "/alerts/critical/%s", bx);
    m = bpt_rec_wait_fields(f.rec, topic, HB_TIMEOUT_MS,
                            (const char *const[]){"event=opened", NULL});
    bpt_assert(f.env, m, "%s's death not announced within a heartbeat timeout of the kill", bx);
    free(m);
    print_message("death announced %lld ms after the kill\n", (long long)(bp_mono_ms() - t_kill));
    char *now_owner = owner_of(&f, x);
    bpt_assert(f.env, now_owner && col_index(now_owner) != v, "x's shard has no new owner");
    print_message("%s took over %s's shard from c-%d\n", now_owner, bx, v + 1);
    free(now_owner);

    /* y's bot comes back: its alert resolves under the id the dead collector announced */
    start_bot(&f, y);
    snprintf(topic, sizeof(topic), ROOT "/alerts/+/%s", by);
    char field[96];
    snprintf(field, sizeof(field), "alert_id=%s", alert_a);
    m = bpt_rec_wait_fields(f.rec, topic, 20000,
                            (const char *const[]){"event=resolved", field, NULL});
    bpt_assert(f.env, m, "%s's alert %s did not resolve under its id", by, alert_a);
    free(m);
    bpt_assert(f.env,
               bpt_pg_wait_int(f.env, f.trades, 20000, "SELECT count(*) FROM trades", 0, NULL) ==
                   f.trades,
               "trades stored: %lld, made: %d", (long long)trades_stored(&f), f.trades);

    /* exactly once: x's death, its status, y's resolution */
    snprintf(topic, sizeof(topic), ROOT "/alerts/+/%s", bx);
    bpt_assert(f.env, count_msgs(&f, topic, "\"opened\"") == 1, "%s's death announced %d times", bx,
               count_msgs(&f, topic, "\"opened\""));
    snprintf(topic, sizeof(topic), ROOT "/status/%s", bx);
    bpt_assert(f.env, count_msgs(&f, topic, "\"stopped\"") == 1, "%s's status said %d times", bx,
               count_msgs(&f, topic, "\"stopped\""));
    snprintf(topic, sizeof(topic), ROOT "/alerts/+/%s", by);
    bpt_assert(f.env, count_msgs(&f, topic, "\"resolved\"") == 1, "%s resolved %d times", by,
               count_msgs(&f, topic, "\"resolved\""));

    /* the dead collector comes back: shards move to it, and nobody says anything */
    bpt_rec_clear(f.rec);
    start_collector(&f, v);
    wait_settled(&f, NCOL);
    bpt_assert(f.env, count_msgs(&f, ROOT "/alerts/#", NULL) == 0,
               "%d alert(s) during the rebalance", count_msgs(&f, ROOT "/alerts/#", NULL));
    bpt_assert(f.env, count_msgs(&f, ROOT "/status/#", NULL) == 0,
               "%d status(es) said again during the rebalance",
               count_msgs(&f, ROOT "/status/#", NULL));
    bpt_assert(f.env, trades_stored(&f) == f.trades, "trades stored twice after the restart");

    /* no bot unwatched: each bot's death is still announced, once */
    int z = (y + 1) % NAGENTS == x ? (y + 2) % NAGENTS : (y + 1) % NAGENTS;
    char bz[32];
    bot_id(z, bz, sizeof(bz));
    char *zo = owner_of(&f, z);
    print_message("%s is now c-%d's: killing it\n", bz, col_index(zo) + 1);
    free(zo);
    kill_bot(&f, z);
    snprintf(topic, sizeof(topic), ROOT "/alerts/critical/%s", bz);
    m = bpt_rec_wait_fields(f.rec, topic, HB_TIMEOUT_MS,
                            (const char *const[]){"event=opened", NULL});
    bpt_assert(f.env, m, "%s's death after the rebalance was not announced", bz);
    free(m);
    bp_sleep_ms(LEASE_MS); /* time for a second announcement, were there one */
    bpt_assert(f.env, count_msgs(&f, topic, "\"opened\"") == 1, "%s's death announced %d times", bz,
               count_msgs(&f, topic, "\"opened\""));
    bpt_rec_free(f.rec);
}

/* Waits until alert `event` of bot a was said, then a lease more; asserts it was said once. */
static void expect_once(struct fleet *f, int a, int64_t timeout_ms, const char *why)
{
    char bot[32], topic[128];
    bot_id(a, bot, sizeof(bot));
    snprintf(topic, sizeof(topic), ROOT "/alerts/critical/%s", bot);
    char *m =
        bpt_rec_wait_fields(f->rec, topic, timeout_ms, (const char *const[]){"event=opened", NULL});
    bpt_assert(f->env, m, "%s's death was not announced %s", bot, why);
    free(m);
    bp_sleep_ms(2 * LEASE_MS); /* time for a second announcement, were there one */
    int n = count_msgs(f, topic, "\"opened\"");
    bpt_assert(f->env, n == 1, "%s's death announced %d times %s", bot, n, why);
}

static void test_cut_from_postgres_fences_itself(void **state)
{
    struct bpt_env *env = *state;
    struct fleet f;
    start_servers(&f, env, 2);
    /* c-1's lock session logs in as a role of its own, so the test can refuse that login alone;
     * its other connections (the store, the HTTP API) go on as they are */
    bpt_assert(env, bpt_pg_exec(env, "CREATE ROLE lock_c1 LOGIN SUPERUSER") == 0, "role");
    char extra1[1200];
    snprintf(extra1, sizeof(extra1), "conninfo = %s user=lock_c1\n", bpt_pg_conninfo(env));
    const char *extra[NCOL] = {extra1, NULL, NULL};
    start_daemons(&f, extra);
    int x = -1, w = -1;
    for (int a = 0; a < NAGENTS; a++) {
        char *o = owner_of(&f, a);
        if (col_index(o) == 0 && x < 0)
            x = a;
        free(o);
    }
    bpt_assert(env, x >= 0, "c-1 holds no agent's shard");
    w = (x + 1) % NAGENTS;

    /* cut: its lock session ended and its login refused; x's bot dies at once */
    bpt_rec_clear(f.rec);
    bpt_assert(env, bpt_pg_exec(env, "ALTER ROLE lock_c1 NOLOGIN") == 0, "alter role");
    bpt_assert(env,
               bpt_pg_int(env,
                          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                          "usename = 'lock_c1'",
                          0, NULL) == 1,
               "c-1's lock session was not ended");
    kill_bot(&f, x);
    expect_once(&f, x, HB_TIMEOUT_MS, "after c-1 was cut from PostgreSQL");
    char *o = owner_of(&f, x);
    bpt_assert(env, o && strcmp(o, "c-2") == 0, "c-2 did not take c-1's shards (%s)", o ? o : "-");
    free(o);
    struct bpt_http r = {0};
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", f.http[0]);
    bpt_http(env, &(struct bpt_http_req){.base = base, .path = "/health/cluster"}, &r);
    bpt_assert(env, r.status == 503 && strstr(r.body, "lease"),
               "c-1 does not say it lost its lease: %ld %s", r.status, r.body);
    bpt_http_cleanup(&r);

    /* PostgreSQL stopped: nobody can prove a lease, so nobody says anything until it is back */
    bpt_assert(env, bpt_pg_stop(env) == 0, "cannot stop PostgreSQL");
    bp_sleep_ms(LEASE_MS + 1000); /* every lease has run out */
    bpt_rec_clear(f.rec);
    kill_bot(&f, w);
    bp_sleep_ms(3000); /* the agent tells at once; an unfenced collector would say it in ms */
    bpt_assert(env, count_msgs(&f, ROOT "/alerts/#", NULL) == 0, "an alert without PostgreSQL");
    bpt_assert(env, count_msgs(&f, ROOT "/status/#", NULL) == 0, "a status without PostgreSQL");
    bpt_assert(env, bpt_pg_restart(env) == 0, "PostgreSQL did not come back");
    expect_once(&f, w, 30000, "after PostgreSQL came back");
    bpt_rec_free(f.rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_the_owner_then_bring_it_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_from_postgres_fences_itself, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
