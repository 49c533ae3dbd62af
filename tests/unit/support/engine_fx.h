/* SPDX-License-Identifier: MIT */
/* The rules thread as the engine's unit tests drive it: collector settings for a fake clock
 * (heartbeat timeout 3 x the agent's interval, stale and stopped as given, the design's
 * resource levels, summaries at most once a second, stats out of the way), an engine saying
 * everything into a recorder (outbox_record.h), and the messages a test feeds it, each at a
 * time `at` ms after T0 on the monotonic clock (W0 + at on the wall clock). */
#ifndef TEST_ENGINE_FX_H
#define TEST_ENGINE_FX_H

#include "engine.h"
#include "event.h"
#include "outbox_record.h"
#include "query.h"
#include "settings.h"

#include <stdbool.h>
#include <stdint.h>

#define S 1000
#define T0 5000000
#define W0 1700000000000LL /* wall clock at T0 */
#define ROOT "botpulse/v1"

struct efx {
    struct col_settings cfg; /* the engine reads it live: a test may change it */
    struct col_engine *e;
    struct recorder *said; /* everything the engine said */
    int64_t seq;
};

/* The test settings (above) into cfg. */
void efx_settings(struct col_settings *cfg, int64_t stale_ms, int64_t stopped_ms);
/* Settings with stale and stopped as given, a recorder, and an engine on them. */
void efx_start(struct efx *fx, int64_t stale_ms, int64_t stopped_ms);
void efx_stop(struct efx *fx);
/* cmocka's setup and teardown for suites of the engine on these settings: stale after 60 s,
 * stopped after 120 s, a reconnect grace of 5 s (state is the struct efx *). */
int efx_setup(void **state);
int efx_teardown(void **state);

/* A message from agent (about bot, "" for the agent itself) received at `at`. */
void efx_header(struct efx *fx, struct col_event *ev, enum bp_msg_type type, const char *agent,
                const char *bot, int64_t at);
/* The agent's state (heartbeat every 10 s), listing one bot with its account. */
void efx_agent_state(struct efx *fx, const char *agent, const char *host, bool online,
                     const char *bot, const char *account, int64_t at);
/* An agent listing one bot on an exchange (host "host-<agent>"), then the bot alive and
 * trading at `at`. */
void efx_bot_on(struct efx *fx, const char *agent, const char *bot, const char *exchange,
                int64_t at);
/* A heartbeat every interval ms: the process alive (pid 100) or not. */
void efx_heartbeat_every(struct efx *fx, const char *agent, const char *bot, bool alive,
                         int64_t interval, int64_t at);
/* A heartbeat, every 10 s. */
void efx_heartbeat(struct efx *fx, const char *agent, const char *bot, bool alive, int64_t at);
/* A trade made at trade_at (its own time), received at `at`. */
void efx_trade(struct efx *fx, const char *agent, const char *bot, int64_t at, int64_t trade_at);
/* A stats sample from agent a1 with the fullest disk at disk_pct, the rest low. */
void efx_stats(struct efx *fx, const char *bot, double disk_pct, int64_t at);
/* Our broker connection up (COL_EV_CONNECTED) or lost (COL_EV_DISCONNECTED) at `at`. */
void efx_connection(struct efx *fx, enum col_event_kind kind, int64_t at);
/* Our echo through the broker, sent at sent_at, comes back at `at` (both after T0) and is
 * handled as the loop does: judged before it, and after it with nothing else queued. */
void efx_echo(struct efx *fx, int64_t sent_at, int64_t at);
/* The loop's turn at `at`. */
void efx_tick(struct efx *fx, int64_t at);
/* Puts qr to the engine as the rules thread gets it from its queue, at `at`; returns it
 * answered (the caller releases it). */
struct col_query *efx_ask(struct efx *fx, struct col_query *qr, int64_t at);
/* The bot (fails the test when the engine does not know it). */
const struct col_bot *efx_bot(struct efx *fx, const char *id);

/* The alert that speaks for the bot (its most severe open one), or NULL; and whether any. */
const struct col_alert *efx_worst(const struct col_bot *b);
bool efx_has_alert(const struct col_bot *b);

#endif
