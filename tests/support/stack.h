/* SPDX-License-Identifier: MIT */
/* The whole botpulse stack for an integration test, on top of the fixture: mosquitto,
 * PostgreSQL, the collector, one agent and its bots (each bot a plain `sleep` process with a
 * pid file, so a test can kill it), with config files written into the env dir. The collector
 * and the agent log in to the broker as the shipped ACL expects (BPT_COLLECTOR_LOGIN; the
 * agent under its id), each with its own password. */
#ifndef BPT_STACK_H
#define BPT_STACK_H

#include "fixture.h"

#include <stdbool.h>
#include <stdint.h>

#define BPT_ROOT "botpulse/v1"
#define BPT_MAX_BOTS 4
/* mqtt_extra for tests that read one bot's own heartbeat or stats messages on the wire: the
 * agent sends no batches (by default it does, once the collector says it reads them). */
#define BPT_UNBATCHED "batch = off\n"

struct bpt_stack_opts {
    const char *agent_id;           /* default "agent-1" */
    const char *bots[BPT_MAX_BOTS]; /* NULL-terminated; default {"bot-1"} */
    const char *heartbeat;          /* agent heartbeat interval, default "500ms" */
    const char *collector_extra;    /* INI text appended to collector.ini ([rules], [bot X]) */
    bool resource_checks; /* false: resource thresholds out of reach, so a busy test machine
                             cannot turn bots degraded; true: the collector's defaults */
    /* Per bot (same index as bots): INI lines appended to its [bot X] section in agent.ini,
     * e.g. "log_file = /tmp/.../bot-1.log\nlog_trade = FILLED\n". NULL = none. */
    const char *bot_extra[BPT_MAX_BOTS];
    /* Per bot: leave pid_file out of its section (its bot_extra then says how it is found,
     * e.g. by a heartbeat_file). */
    bool no_pid_file[BPT_MAX_BOTS];
    const char *http_extra;  /* INI lines added to collector.ini's [http] (token = …) */
    const char *agent_extra; /* INI lines added to agent.ini's [agent] (command keys) */
    const char *mqtt_extra;  /* INI lines added to agent.ini's [mqtt] (batch = off) */
    /* Binaries to run instead of the build's (e.g. the installed /usr/bin ones). NULL = the
     * build's. */
    const char *collector_bin;
    const char *agent_bin;
    /* A daemon in another network namespace (netns.h): the argv prefix that runs it there
     * ({"ip", "netns", "exec", ns}; 4 entries), the address at which it reaches the broker (and
     * the collector PostgreSQL, over TCP) and the collector's HTTP listen address. NULL: none,
     * or the fixture's loopback ones. */
    const char *const *agent_prefix;
    const char *agent_hub_addr;
    const char *const *collector_prefix;
    const char *collector_hub_addr;
    const char *collector_http_addr;
};

struct bpt_stack {
    struct bpt_env *env;
    struct bpt_stack_opts opts;
    char collector_ini[600];
    char agent_ini[600];
    char notify_socket[600];
    int http_port;      /* the collector's HTTP API, on 127.0.0.1 (a free port, never 8080) */
    char http_base[64]; /* "http://<its listen address>:<http_port>" */
};

/* Starts broker, PostgreSQL, collector (waits for its collector/state online), the bots and
 * the agent (waits for its agents/<id>/state online). 0 or -errno (logged). */
int bpt_stack_start(struct bpt_env *env, const struct bpt_stack_opts *opts, struct bpt_stack *s);
int bpt_stack_start_collector(struct bpt_stack *s);
/* (Re)writes agent.ini from s->opts (a test changes opts, rewrites, then sends SIGHUP). */
int bpt_stack_write_agent_ini(struct bpt_stack *s);
int bpt_stack_start_agent(struct bpt_stack *s);
/* Starts the bot's stand-in process ("bot-<id>") and writes its pid file. */
int bpt_stack_start_bot(struct bpt_stack *s, const char *bot);
/* Reports a trade through `botpulse-agent notify`; returns its exit status. */
int bpt_stack_trade(struct bpt_stack *s, const char *bot, const char *trade_id);
/* Stops the agent and the collector with SIGTERM and checks that each exits with status 0
 * (a clean shutdown; under the sanitizers, also no leak and no error report). 0 or -1, with
 * the reason on stderr. */
int bpt_stack_stop(struct bpt_stack *s);
/* Waits for the retained status of bot to say status (e.g. "down"); 0 or -ETIMEDOUT. */
int bpt_stack_wait_status(struct bpt_stack *s, struct bpt_rec *rec, const char *bot,
                          const char *status, int64_t timeout_ms);

#endif
