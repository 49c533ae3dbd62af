/* SPDX-License-Identifier: MIT */
/* The rules thread: owns the fleet, applies each accepted message, keeps one deadline per bot
 * in a min-heap and evaluates a bot only when new evidence arrives or its deadline passes (no
 * periodic sweep). Everything it decides to say (the retained status, alert and incident
 * events, the coalesced fleet summary, its stats, recovery's commands, the rows for
 * PostgreSQL) goes through one outbox (outbox.h). Time comes in as parameters, so tests drive
 * it with a fake clock and a recording outbox, and assert what it said.
 *
 * The engine's own files: engine.c (the loop and the judgement), engine_evidence.c (what each
 * message says about a bot), engine_announce.c (saying it), engine_answer.c (questions from
 * other threads, and silences). */
#ifndef COL_ENGINE_H
#define COL_ENGINE_H

#include "fleet.h"

#include <signal.h>
#include <stdint.h>

struct bp_queue;
struct col_event;
struct col_ingest;
struct col_outbox;
struct col_settings;
struct col_silence;

struct col_engine;

/* cfg, out and ingest are borrowed and must outlive the engine; out (NULL: say nothing) and
 * ingest (NULL: no ingest counters in the stats) may be NULL. 0 or -errno. */
int col_engine_new(const struct col_settings *cfg, struct col_outbox *out,
                   struct col_ingest *ingest, struct col_engine **out_engine);
void col_engine_free(struct col_engine *e);

/* Applies one accepted message (its receive times are inside it), answers a query, or adopts
 * a takeover (which it frees). */
void col_engine_handle(struct col_engine *e, const struct col_event *ev);
/* Evaluates every bot whose deadline has passed; publishes a due summary or stats. */
void col_engine_tick(struct col_engine *e, int64_t now_mono, int64_t now_wall);
/* Evaluates the bots whose deadline has passed by judge_mono, and nothing else: the loop
 * judges deadlines at the receive time of the next message it applies, never later, so a
 * heartbeat that waits in the queue is evidence already and the rules thread's own lag never
 * turns into a missed heartbeat. */
void col_engine_judge(struct col_engine *e, int64_t judge_mono, int64_t judge_wall);
/* The rules thread is lag_ms behind: the age of the oldest message it has not applied yet
 * (reported in its stats and /health/rules; behind past COL_ENGINE_BEHIND_MS). */
void col_engine_note_lag(struct col_engine *e, int64_t lag_ms, size_t queue_len);
#define COL_ENGINE_BEHIND_MS 1000
/* Ingest's count of messages dropped because the rules queue was full, so far. New drops
 * make the engine blind, as a lost broker connection does: heartbeats it never saw must not
 * turn into down bots. It sees again once no drop came for COL_ENGINE_CALM_MS and the queue
 * is below a quarter of queue_cap; every bot is credited the time, as after a reconnect. */
void col_engine_note_drops(struct col_engine *e, uint64_t dropped_total, size_t queue_len,
                           size_t queue_cap, int64_t now_mono, int64_t now_wall);
#define COL_ENGINE_CALM_MS 1000
/* Called (on the rules thread) when a deadline is due but waits for an echo sent after it
 * (echo.h): the echo thread sends one at once instead of at its next interval, so a silence
 * verdict waits a round trip to the broker, not an echo interval. At most one is asked for
 * until an echo sent after the ask comes back. */
void col_engine_on_echo_request(struct col_engine *e, void (*request)(void *ctx), void *ctx);
/* The earliest monotonic time at which col_engine_tick has work (INT64_MAX: none). */
int64_t col_engine_next_deadline(const struct col_engine *e);
/* Runs the loop: pops events from q, ticks at deadlines, until *stop is set (wake q to stop). */
void col_engine_run(struct col_engine *e, struct bp_queue *q, volatile sig_atomic_t *stop);

/* Takes back an alert a previous run left open (read from PostgreSQL at start): the bot is
 * known from now on, its alert neither re-announced nor forgotten. 0 or -errno. */
int col_engine_restore_alert(struct col_engine *e, const char *bot, const char *check,
                             const char *alert_id, const char *severity, int64_t opened_at,
                             int64_t now_mono);

/* Takes back a silence still in force from PostgreSQL (at start); its end moves onto the
 * monotonic clock as far ahead as ends_at is of now_wall. 0, -EINVAL (ended), -EEXIST. */
int col_engine_restore_silence(struct col_engine *e, const struct col_silence *sl, int64_t now_mono,
                               int64_t now_wall);

/* Takes back an operator's intended state from PostgreSQL (at start): the bot is known from
 * now on and judged under it. 0, -EINVAL or -ENOMEM. */
int col_engine_restore_intent(struct col_engine *e, const char *bot, enum col_intent intent,
                              int64_t now_mono);

/* Takes back a bot's owner from PostgreSQL (the bots table, at start): until the bot is seen,
 * only agent may speak for it (owners.h). 0, -EINVAL or -ENOMEM. */
int col_engine_restore_owner(struct col_engine *e, const char *bot, const char *agent);

const struct col_fleet *col_engine_fleet(const struct col_engine *e);

#endif
