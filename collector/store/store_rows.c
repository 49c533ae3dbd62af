/* SPDX-License-Identifier: MIT */
/* How each kind of store op becomes a row: its table, columns, conflict clause and values; and
 * the ops the collector builds from what it received or sent. */
#include "store_rows.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *fmt_i64(char *buf, int64_t x)
{
    snprintf(buf, COL_STORE_NUM_LEN, "%" PRId64, x);
    return buf;
}

static const char *fmt_f64(char *buf, double x)
{
    snprintf(buf, COL_STORE_NUM_LEN, "%.17g", x);
    return buf;
}

/* 0 (never) becomes NULL. */
static const char *fmt_ms_opt(char *buf, int64_t ms)
{
    return ms != 0 ? fmt_i64(buf, ms) : NULL;
}

static void fill_agent(const struct col_store_op *op, const char **v,
                       char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.agent.agent;
    v[1] = op->u.agent.host;
    v[2] = op->u.agent.version;
    v[3] = op->u.agent.boot;
    v[4] = op->u.agent.online ? "t" : "f";
    v[5] = fmt_i64(num[5], op->ts);
    v[6] = fmt_i64(num[6], op->u.agent.clock_offset_ms);
}

static void fill_bot(const struct col_store_op *op, const char **v, char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.bot.id;
    v[1] = op->u.bot.agent;
    v[2] = op->u.bot.account;
    v[3] = op->u.bot.exchange;
    v[4] = op->u.bot.host;
    v[5] = col_status_name(op->u.bot.status);
    v[6] = op->u.bot.reason;
    v[7] = fmt_i64(num[7], op->u.bot.since);
    v[8] = fmt_ms_opt(num[8], op->u.bot.last_heartbeat);
    v[9] = fmt_ms_opt(num[9], op->u.bot.last_trade);
}

static void fill_transition(const struct col_store_op *op, const char **v,
                            char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->event_id;
    v[1] = op->u.transition.bot;
    v[2] = fmt_i64(num[2], op->ts);
    v[3] = op->u.transition.from_status;
    v[4] = op->u.transition.to_status;
    v[5] = op->u.transition.check;
    v[6] = op->u.transition.reason;
}

static void fill_trade(const struct col_store_op *op, const char **v,
                       char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.trade.agent;
    v[1] = op->u.trade.boot;
    v[2] = fmt_i64(num[2], op->u.trade.seq);
    v[3] = op->u.trade.bot;
    v[4] = op->u.trade.trade.id;
    v[5] = fmt_i64(num[5], op->u.trade.trade.trade_ts);
    v[6] = op->u.trade.trade.symbol;
    v[7] = op->u.trade.trade.side;
    v[8] = fmt_i64(num[8], op->ts);
}

static void fill_alert(const struct col_store_op *op, const char **v,
                       char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->event_id;
    v[1] = op->u.alert.alert_id;
    v[2] = op->u.alert.bot;
    v[3] = op->u.alert.check;
    v[4] = op->u.alert.event;
    v[5] = op->u.alert.severity;
    v[6] = op->u.alert.status;
    v[7] = op->u.alert.reason;
    v[8] = fmt_i64(num[8], op->ts);
}

/* Unknown values (-1) are stored as NULL. */
static void fill_sample(const struct col_store_op *op, const char **v,
                        char (*num)[COL_STORE_NUM_LEN])
{
    const struct bp_stats *st = &op->u.sample.stats;
    v[0] = op->u.sample.bot;
    v[1] = fmt_i64(num[1], op->ts);
    v[2] = st->proc_cpu_pct >= 0 ? fmt_f64(num[2], st->proc_cpu_pct) : NULL;
    v[3] = st->proc_rss_kb >= 0 ? fmt_i64(num[3], st->proc_rss_kb) : NULL;
    v[4] = st->host_cpu_pct >= 0 ? fmt_f64(num[4], st->host_cpu_pct) : NULL;
    v[5] = st->host_mem_pct >= 0 ? fmt_f64(num[5], st->host_mem_pct) : NULL;
    v[6] = st->host_disk_pct >= 0 ? fmt_f64(num[6], st->host_disk_pct) : NULL;
    v[7] = st->host_load1 >= 0 ? fmt_f64(num[7], st->host_load1) : NULL;
    v[8] = st->has_proc_threads ? fmt_i64(num[8], st->proc_threads) : NULL;
    v[9] = st->has_proc_fds ? fmt_i64(num[9], st->proc_fds) : NULL;
    v[10] = st->has_host_swap ? fmt_f64(num[10], st->host_swap_pct) : NULL;
    v[11] = op->u.sample.restarts >= 0 ? fmt_i64(num[11], op->u.sample.restarts) : NULL;
}

static void fill_command(const struct col_store_op *op, const char **v,
                         char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.command.nonce;
    v[1] = op->u.command.agent;
    v[2] = op->u.command.bot;
    v[3] = op->u.command.action;
    v[4] = fmt_i64(num[4], op->ts);
    v[5] = fmt_i64(num[5], op->u.command.expires);
    v[6] = op->u.command.reason;
}

static void fill_result(const struct col_store_op *op, const char **v,
                        char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.result.agent;
    v[1] = op->u.result.boot;
    v[2] = fmt_i64(num[2], op->u.result.seq);
    v[3] = op->u.result.nonce;
    v[4] = op->u.result.bot;
    v[5] = op->u.result.action;
    v[6] = op->u.result.outcome;
    v[7] = fmt_i64(num[7], op->u.result.exit_code);
    v[8] = fmt_i64(num[8], op->u.result.duration_ms);
    v[9] = op->u.result.output;
    v[10] = op->u.result.reason;
    v[11] = fmt_i64(num[11], op->u.result.sent_ts);
    v[12] = fmt_i64(num[12], op->ts);
}

static void fill_silence(const struct col_store_op *op, const char **v,
                         char (*num)[COL_STORE_NUM_LEN])
{
    const struct col_silence *sl = &op->u.silence.silence;
    v[0] = sl->id;
    v[1] = sl->bot;
    v[2] = sl->account;
    v[3] = sl->host;
    v[4] = sl->check;
    v[5] = sl->reason;
    v[6] = sl->created_by;
    v[7] = fmt_i64(num[7], sl->created_at);
    v[8] = fmt_i64(num[8], sl->ends_at);
    v[9] = fmt_ms_opt(num[9], op->u.silence.removed_at);
}

static const char *key_silence(const struct col_store_op *op)
{
    return op->u.silence.silence.id;
}

static void fill_intent(const struct col_store_op *op, const char **v,
                        char (*num)[COL_STORE_NUM_LEN])
{
    v[0] = op->u.intent.bot;
    v[1] = op->u.intent.intended;
    v[2] = fmt_i64(num[2], op->ts);
}

static const char *key_intent(const struct col_store_op *op)
{
    return op->u.intent.bot;
}

static const char *key_agent(const struct col_store_op *op)
{
    return op->u.agent.agent;
}

static const char *key_bot(const struct col_store_op *op)
{
    return op->u.bot.id;
}

#define COLS(...)                                                                                  \
    (const char *const[]){__VA_ARGS__},                                                            \
        (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *))

/* In the order they are written within a transaction. */
const struct col_store_kind col_store_kinds[] = {
    {COL_OP_AGENT, "agents",
     COLS("agent_id", "host", "version", "boot", "online", "last_seen", "clock_offset_ms"), 1u << 5,
     "ON CONFLICT (agent_id) DO UPDATE SET host = EXCLUDED.host, version = EXCLUDED.version, "
     "boot = EXCLUDED.boot, online = EXCLUDED.online, last_seen = EXCLUDED.last_seen, "
     "clock_offset_ms = EXCLUDED.clock_offset_ms, updated_at = now()",
     fill_agent, key_agent, false},
    {COL_OP_BOT, "bots",
     COLS("bot_id", "agent_id", "account", "exchange", "host", "status", "reason", "status_since",
          "last_heartbeat", "last_trade"),
     (1u << 7) | (1u << 8) | (1u << 9),
     "ON CONFLICT (bot_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, "
     "account = EXCLUDED.account, exchange = EXCLUDED.exchange, host = EXCLUDED.host, "
     "status = EXCLUDED.status, reason = EXCLUDED.reason, status_since = EXCLUDED.status_since, "
     "last_heartbeat = EXCLUDED.last_heartbeat, last_trade = EXCLUDED.last_trade, "
     "updated_at = now()",
     fill_bot, key_bot, false},
    {COL_OP_TRANSITION, "status_transitions",
     COLS("event_id", "bot_id", "ts", "from_status", "to_status", "check_name", "reason"), 1u << 2,
     "ON CONFLICT (event_id, ts) DO NOTHING", fill_transition, NULL, true},
    {COL_OP_TRADE, "trades",
     COLS("agent_id", "boot", "seq", "bot_id", "trade_id", "trade_ts", "symbol", "side",
          "received_at"),
     (1u << 5) | (1u << 8), "ON CONFLICT (agent_id, boot, seq, trade_ts) DO NOTHING", fill_trade,
     NULL, true},
    {COL_OP_ALERT, "alert_events",
     COLS("event_id", "alert_id", "bot_id", "check_name", "event", "severity", "status", "reason",
          "ts"),
     1u << 8, "ON CONFLICT (event_id, ts) DO NOTHING", fill_alert, NULL, true},
    {COL_OP_SAMPLE, "bot_samples",
     COLS("bot_id", "ts", "proc_cpu_pct", "proc_rss_kb", "host_cpu_pct", "host_mem_pct",
          "host_disk_pct", "host_load1", "proc_threads", "proc_fds", "host_swap_pct",
          "proc_restarts"),
     1u << 1, "ON CONFLICT (bot_id, ts) DO NOTHING", fill_sample, NULL, true},
    {COL_OP_COMMAND, "commands",
     COLS("nonce", "agent_id", "bot_id", "action", "ts", "expires", "reason"),
     (1u << 4) | (1u << 5), "ON CONFLICT (nonce, ts) DO NOTHING", fill_command, NULL, true},
    {COL_OP_COMMAND_RESULT, "command_results",
     COLS("agent_id", "boot", "seq", "nonce", "bot_id", "action", "outcome", "exit_code",
          "duration_ms", "output", "reason", "ts", "received_at"),
     (1u << 11) | (1u << 12), "ON CONFLICT (agent_id, boot, seq, ts) DO NOTHING", fill_result, NULL,
     true},
    {COL_OP_SILENCE, "silences",
     COLS("silence_id", "bot_id", "account", "host", "check_name", "reason", "created_by",
          "created_at", "ends_at", "removed_at"),
     (1u << 7) | (1u << 8) | (1u << 9),
     "ON CONFLICT (silence_id) DO UPDATE SET removed_at = EXCLUDED.removed_at", fill_silence,
     key_silence, false},
    {COL_OP_INTENT, "bot_intents", COLS("bot_id", "intended", "set_at"), 1u << 2,
     "ON CONFLICT (bot_id) DO UPDATE SET intended = EXCLUDED.intended, set_at = EXCLUDED.set_at",
     fill_intent, key_intent, false},
};
const size_t col_store_nkinds = sizeof(col_store_kinds) / sizeof(col_store_kinds[0]);
