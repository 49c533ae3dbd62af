/* SPDX-License-Identifier: MIT */
/* The whole botpulse stack for an integration test: configs, daemons, stand-in bots. */
#include "stack.h"

#include "fixture_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *agent_id(const struct bpt_stack *s)
{
    return s->opts.agent_id ? s->opts.agent_id : "agent-1";
}

static const char *collector_bin(const struct bpt_stack *s)
{
    return s->opts.collector_bin ? s->opts.collector_bin : BPT_COLLECTOR_BIN;
}

static const char *agent_bin(const struct bpt_stack *s)
{
    return s->opts.agent_bin ? s->opts.agent_bin : BPT_AGENT_BIN;
}

/* argv (8 entries) = [prefix (4 entries, or none)] bin -c ini. */
static void with_prefix(char **argv, const char *const *prefix, const char *bin, const char *ini)
{
    int n = 0;
    for (int i = 0; prefix && i < 4; i++)
        argv[n++] = (char *)prefix[i];
    argv[n++] = (char *)bin;
    argv[n++] = "-c";
    argv[n++] = (char *)ini;
    argv[n] = NULL;
}

static int write_collector_ini(struct bpt_stack *s)
{
    s->http_port = bpt_free_port(); /* the default 127.0.0.1:8080 could be taken */
    const char *password = bpt_broker_login(s->env, BPT_COLLECTOR_LOGIN);
    if (!password)
        return -EIO;
    const struct bpt_stack_opts *o = &s->opts;
    const char *http_addr = o->collector_http_addr ? o->collector_http_addr : "127.0.0.1";
    snprintf(s->http_base, sizeof(s->http_base), "http://%s:%d", http_addr, s->http_port);
    char url[64], conninfo[256];
    if (o->collector_hub_addr) {
        snprintf(url, sizeof(url), "tcp://%s:%d", o->collector_hub_addr, bpt_broker_port(s->env));
        bpt_pg_conninfo_tcp(s->env, o->collector_hub_addr, conninfo, sizeof(conninfo));
    }
    const char *path =
        bpt_write_file(s->env, "collector.ini",
                       "[collector]\nid = collector-1\nlog_level = debug\nstats_interval = 500ms\n"
                       "[mqtt]\nurl = %s\ntopic_root = " BPT_ROOT "\n"
                       "username = " BPT_COLLECTOR_LOGIN "\npassword = %s\n"
                       "[database]\nconninfo = %s\nretry = 200ms\n"
                       "[http]\nlisten = %s:%d\n%s\n"
                       "[rules]\nsummary_interval = 100ms\nreconnect_grace = 5s\n%s%s\n",
                       o->collector_hub_addr ? url : bpt_broker_url(s->env), password,
                       o->collector_hub_addr ? conninfo : bpt_pg_conninfo(s->env), http_addr,
                       s->http_port, s->opts.http_extra ? s->opts.http_extra : "",
                       s->opts.resource_checks ? ""
                                               : "cpu_warn = 10000\ncpu_crit = 10000\n"
                                                 "mem_warn = 101\nmem_crit = 101\n"
                                                 "disk_warn = 101\ndisk_crit = 101\n",
                       s->opts.collector_extra ? s->opts.collector_extra : "");
    if (!path)
        return -EIO;
    snprintf(s->collector_ini, sizeof(s->collector_ini), "%s", path);
    return 0;
}

int bpt_stack_write_agent_ini(struct bpt_stack *s)
{
    char bots[4096] = "";
    size_t n = 0;
    for (int i = 0; i < BPT_MAX_BOTS && s->opts.bots[i] && n < sizeof(bots); i++) {
        n += (size_t)snprintf(bots + n, sizeof(bots) - n, "[bot %s]\n", s->opts.bots[i]);
        if (!s->opts.no_pid_file[i] && n < sizeof(bots))
            n += (size_t)snprintf(bots + n, sizeof(bots) - n, "pid_file = %s/%s.pid\n",
                                  bpt_env_dir(s->env), s->opts.bots[i]);
        if (n < sizeof(bots))
            n += (size_t)snprintf(bots + n, sizeof(bots) - n,
                                  "account = acct-%d\nexchange = test-exchange\n%s", i % 2,
                                  s->opts.bot_extra[i] ? s->opts.bot_extra[i] : "");
    }
    if (n >= sizeof(bots))
        return -E2BIG;
    snprintf(s->notify_socket, sizeof(s->notify_socket), "%s/agent/notify.sock",
             bpt_env_dir(s->env));
    /* Its own login (username = agent id), as deploy/add-agent.sh makes them. */
    const char *password = bpt_broker_login(s->env, agent_id(s));
    if (!password)
        return -EIO;
    char url[64];
    if (s->opts.agent_hub_addr)
        snprintf(url, sizeof(url), "tcp://%s:%d", s->opts.agent_hub_addr, bpt_broker_port(s->env));
    const char *path = bpt_write_file(
        s->env, "agent.ini",
        "[agent]\nid = %s\nhost = test-host\nheartbeat = %s\nstats = 1s\n"
        "state_dir = %s/agent\nnotify_socket = %s\nlog_level = debug\n%s\n"
        "[mqtt]\nurl = %s\ntopic_root = " BPT_ROOT "\nusername = %s\npassword = %s\n%s\n%s",
        agent_id(s), s->opts.heartbeat ? s->opts.heartbeat : "500ms", bpt_env_dir(s->env),
        s->notify_socket, s->opts.agent_extra ? s->opts.agent_extra : "",
        s->opts.agent_hub_addr ? url : bpt_broker_url(s->env), agent_id(s), password,
        s->opts.mqtt_extra ? s->opts.mqtt_extra : "", bots);
    if (!path || chmod(path, 0600) != 0) /* it holds a password: the agent refuses it else */
        return -EIO;
    snprintf(s->agent_ini, sizeof(s->agent_ini), "%s", path);
    return 0;
}

int bpt_stack_start_collector(struct bpt_stack *s)
{
    struct bpt_rec *rec = bpt_rec_new(s->env, BPT_ROOT "/collector/state");
    if (!rec)
        return -EIO;
    bpt_rec_clear(rec);
    char *argv[8];
    with_prefix(argv, s->opts.collector_prefix, collector_bin(s), s->collector_ini);
    pid_t pid = bpt_spawn(s->env, "collector", argv);
    const char *online[] = {"\"online\"", NULL};
    char *m = pid > 0 ? bpt_rec_wait(rec, BPT_ROOT "/collector/state", online, 30000) : NULL;
    bpt_rec_free(rec);
    free(m);
    return m ? 0 : -ETIMEDOUT;
}

int bpt_stack_start_agent(struct bpt_stack *s)
{
    char topic[256];
    snprintf(topic, sizeof(topic), BPT_ROOT "/agents/%s/state", agent_id(s));
    struct bpt_rec *rec = bpt_rec_new(s->env, topic);
    if (!rec)
        return -EIO;
    bpt_rec_clear(rec);
    char *argv[8];
    with_prefix(argv, s->opts.agent_prefix, agent_bin(s), s->agent_ini);
    pid_t pid = bpt_spawn(s->env, "agent", argv);
    const char *online[] = {"\"online\":true", NULL};
    char *m = pid > 0 ? bpt_rec_wait(rec, topic, online, 20000) : NULL;
    bpt_rec_free(rec);
    free(m);
    return m ? 0 : -ETIMEDOUT;
}

int bpt_stack_start_bot(struct bpt_stack *s, const char *bot)
{
    char name[128], pidfile[128];
    snprintf(name, sizeof(name), "bot-%s", bot);
    char *argv[] = {"/bin/sleep", "100000", NULL};
    pid_t pid = bpt_spawn(s->env, name, argv);
    if (pid < 0)
        return (int)pid;
    snprintf(pidfile, sizeof(pidfile), "%s.pid", bot);
    return bpt_write_file(s->env, pidfile, "%d\n", (int)pid) ? 0 : -EIO;
}

int bpt_stack_trade(struct bpt_stack *s, const char *bot, const char *trade_id)
{
    char *argv[] = {(char *)agent_bin(s),
                    "notify",
                    "--socket",
                    s->notify_socket,
                    "--bot",
                    (char *)bot,
                    "trade",
                    "--id",
                    (char *)trade_id,
                    "--symbol",
                    "BTC-USDT",
                    "--side",
                    "buy",
                    NULL};
    char *out = NULL;
    int rc = bpt_run(s->env, argv, 10000, &out);
    if (rc != 0)
        fprintf(stderr, "notify trade %s for %s: exit %d: %s\n", trade_id, bot, rc, out ? out : "");
    free(out);
    return rc;
}

int bpt_stack_wait_status(struct bpt_stack *s, struct bpt_rec *rec, const char *bot,
                          const char *status, int64_t timeout_ms)
{
    char topic[256], needle[64];
    snprintf(topic, sizeof(topic), BPT_ROOT "/status/%s", bot);
    snprintf(needle, sizeof(needle), "\"status\":\"%s\"", status);
    const char *needles[] = {needle, NULL};
    char *m = bpt_rec_wait(rec, topic, needles, timeout_ms);
    free(m);
    return m ? 0 : -ETIMEDOUT;
}

int bpt_stack_start(struct bpt_env *env, const struct bpt_stack_opts *opts, struct bpt_stack *s)
{
    memset(s, 0, sizeof(*s));
    s->env = env;
    s->opts = *opts;
    if (!s->opts.bots[0])
        s->opts.bots[0] = "bot-1";
    int rc;
    if (!bpt_broker_login(env, agent_id(s))) /* known at start: no reload needed */
        return -EIO;
    if ((rc = bpt_broker_start(env)) < 0 || (rc = bpt_pg_start(env)) < 0)
        return rc;
    if ((rc = write_collector_ini(s)) < 0 || (rc = bpt_stack_write_agent_ini(s)) < 0)
        return rc;
    if ((rc = bpt_stack_start_collector(s)) < 0) {
        fprintf(stderr, "collector did not come online\n");
        return rc;
    }
    for (int i = 0; i < BPT_MAX_BOTS && s->opts.bots[i]; i++)
        if ((rc = bpt_stack_start_bot(s, s->opts.bots[i])) < 0)
            return rc;
    if ((rc = bpt_stack_start_agent(s)) < 0)
        fprintf(stderr, "agent did not come online\n");
    return rc;
}

int bpt_stack_stop(struct bpt_stack *s)
{
    static const char *const daemons[] = {"agent", "collector"};
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        int status = bpt_proc_stop(s->env, daemons[i], 10000);
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        fprintf(stderr, "%s did not shut down cleanly: %s %d (see %s.log)\n", daemons[i],
                status < 0          ? "error"
                : WIFEXITED(status) ? "exit status"
                                    : "signal",
                status < 0          ? status
                : WIFEXITED(status) ? WEXITSTATUS(status)
                                    : WTERMSIG(status),
                daemons[i]);
        rc = -1;
    }
    return rc;
}
