/* SPDX-License-Identifier: MIT */
/* The rules thread's state, and what its files call on each other: engine.c (the loop, the
 * judgement, recovery's wiring), engine_evidence.c (messages into evidence), engine_announce.c
 * (what is said, through the outbox) and engine_answer.c (queries and silences). Included by
 * those four files only. */
#ifndef COL_ENGINE_IMPL_H
#define COL_ENGINE_IMPL_H

#include "fleet.h"
#include "incidents.h"
#include "claims.h"
#include "silences.h"
#include "timerheap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_alert;
struct col_commander;
struct col_event;
struct col_ingest;
struct col_outbox;
struct col_settings;
struct col_takeover;
struct col_manual;
struct col_recovery;
struct col_verdict;

#define COL_ENGINE_LOG_EVERY_MS 10000 /* a repeated warning, at most this often */

struct col_engine {
    const struct col_settings *cfg;
    struct col_outbox *out; /* everything the engine says */
    struct col_ingest *ingest;
    struct col_fleet fleet;
    struct col_claims claims; /* who may speak for which bot (claims.h) */
    struct col_incidents incidents;
    bool incidents_dirty;
    struct col_silences silences;
    struct bp_timerheap timers;
    char run_id[17]; /* random per process: event ids stay unique across restarts */
    uint64_t next_event;
    int64_t started_mono;
    /* While we have no broker connection no evidence can arrive: we judge nothing, and
     * after we reconnect, agents' "offline" states (Wills the broker fired while it
     * restarted) wait reconnect_grace for the agent's own "online" before they count. */
    bool blind;       /* broker_lost, lossy or echo_lost: no liveness judgement */
    bool broker_lost; /* our broker connection is down */
    bool lossy;       /* messages were dropped (the rules queue was full) */
    int64_t blind_since_mono;
    /* Our own echo through the broker (echo.h). Once the first came back, a deadline is judged
     * only when an echo sent after it has come back: everything the broker had by then has
     * reached us, so the silence is the bot's and not a cut between us and the broker. */
    bool echo_on;                    /* an echo has come back: deadlines wait for seen_until */
    bool echo_lost;                  /* none came back for [mqtt] echo_timeout: blind */
    int64_t seen_until_mono;         /* sent time of the newest echo back */
    int64_t echo_recv_mono;          /* when it came back */
    uint64_t echo_lost_count;        /* times the echo stopped (a silent cut) */
    void (*echo_request)(void *ctx); /* col_engine_on_echo_request; NULL: none */
    void *echo_ctx;
    int64_t echo_requested_mono; /* when we last asked for one */
    uint64_t dropped_seen;       /* ingest's queue_dropped when last looked at */
    int64_t last_drop_mono;      /* when a drop was last seen */
    /* How far behind the rules thread is: the age of the oldest message not yet applied. */
    int64_t lag_ms, lag_max_ms;   /* now, and the most since the last stats */
    uint64_t bots_refused;        /* past their agent's [agents] bots_max */
    int64_t next_refuse_log_mono; /* logged at most once per COL_ENGINE_LOG_EVERY_MS */
    size_t queue_len;
    /* Bots whose retained status waits for room in the outbox: one entry per bot, whatever
     * its changes meanwhile (the newest goes out), in the order they changed. */
    struct col_bot *status_head, *status_tail;
    size_t statuses_waiting;
    int64_t flush_due_mono; /* when to try again (INT64_MAX: nothing waits) */
    int64_t grace_until_mono;
    size_t offline_pending;
    bool summary_dirty;
    int64_t summary_last_mono;
    int64_t stats_next_mono;
    struct col_commander *commander; /* recovery: NULL without [recovery] signing_key_file */
    struct col_recovery *recovery;
    struct col_manual *manual; /* operators' restarts: their rate limit */
    int64_t restarts_seen;     /* bot process restarts counted from agents' proc.restarts */
    int64_t last_stats_wall;   /* Unix ms collector/stats was last published; 0 = never */
};

/* ---- engine.c ------------------------------------------------------------------------- */

/* A new id, unique across runs: "<run id>-<kind><counter>" (kind "" for events, "a" alerts,
 * "i" incidents). */
void engine_new_id(struct col_engine *e, const char *kind, char *buf, size_t size);
/* Judges b now: a changed verdict is a transition; alerts follow; the next deadline is set. */
void engine_evaluate(struct col_engine *e, struct col_bot *b, int64_t now_mono, int64_t now_wall);
/* Tells recovery about b's status (and whether a silence pauses it). */
void engine_note_recovery(struct col_engine *e, struct col_bot *b, int64_t now_mono);
/* The active silence that covers b's alert for check, or NULL. */
const struct col_silence *engine_silence_for(const struct col_engine *e, const struct col_bot *b,
                                             const char *check, int64_t now_mono);

/* ---- engine_evidence.c ---------------------------------------------------------------- */

/* Applies a message or a change of our broker connection. */
void engine_take_evidence(struct col_engine *e, const struct col_event *ev);
/* We stop seeing (why: broker_lost or lossy set by the caller) at now_mono. */
void engine_go_blind(struct col_engine *e, int64_t now_mono);
/* We see again: every bot is credited the time we could not see, and agents get the
 * reconnect grace to report in. */
void engine_see_again(struct col_engine *e, int64_t now_mono, int64_t now_wall);
/* The reconnect grace is over: agents still offline are offline now, their bots judged. */
void engine_grace_ended(struct col_engine *e, int64_t now_mono, int64_t now_wall);
/* b's rule limits from the config (its [bot] section, its account's) and the operator's
 * intent, shared with every bot that has the same (col_fleet_limits). */
void engine_set_limits(struct col_engine *e, struct col_bot *b);
/* The bot, created (with its configured limits and labels) on first sight, and attached to
 * agent a when a may speak for it (claims.h; a NULL: a bot known without an agent yet). NULL
 * when a's claim is refused (counted, logged at most once a minute) or on ENOMEM. */
struct col_bot *engine_bot_for(struct col_engine *e, struct col_agent *a, const char *id,
                               int64_t now_mono);

/* An operator moves bot id (known to the fleet, or owned from a previous run) to agent on
 * purpose: attached, its bots row written (the owner a restart reads back), judged again; *out
 * is the bot. 0, -ENOENT, -EPERM (its [bot] section pins another agent) or -ENOMEM. */
int engine_move_bot(struct col_engine *e, const char *id, const char *agent, int64_t now_mono,
                    int64_t now_wall, struct col_bot **out);

/* ---- engine_announce.c ---------------------------------------------------------------- */

/* b's status changed from `from`: its transition row, its bots row, its retained status. */
void engine_say_transition(struct col_engine *e, struct col_bot *b, enum col_status from,
                           int64_t now_wall);
/* b's bots row and retained status (status true), or its bots row only. */
void engine_say_bot(struct col_engine *e, struct col_bot *b, bool status, int64_t now_wall);
/* Lets out what waits for room: the outbox's own backlog, then waiting statuses (each the
 * bot's newest). Returns how many items still wait. */
size_t engine_flush(struct col_engine *e, int64_t now_wall);
/* An alert event: stored always; told (MQTT, webhook) unless silenced, or an incident speaks
 * for it. A resolution is told if its opening was. */
void engine_announce(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                     enum col_alert_event ev, int64_t now_mono, int64_t now_wall);
/* Announces a's resolution and forgets it. */
void engine_resolve_alert(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                          int64_t now_mono, int64_t now_wall);
/* The verdict's findings to b's alerts (and the flapping and recovery alerts it ends). */
void engine_apply_alerts(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                         int64_t now_mono, int64_t now_wall);
/* b just started flapping: its one flapping alert, opened or reminded. */
void engine_announce_flapping(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                              int64_t now_wall);
/* b's status changed: it may open, join or resolve a correlated incident. */
void engine_note_incident(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                          int64_t now_wall);
/* Whether b's incident speaks for alert a (its status's alerts). */
bool engine_incident_speaks(const struct col_bot *b, const struct col_alert *a);
/* The coalesced summary and the incidents that bots joined since the last one. */
void engine_say_summary(struct col_engine *e, int64_t now_wall);
/* The collector's stats. */
void engine_say_stats(struct col_engine *e, int64_t now_mono, int64_t now_wall);
/* Recovery's manual-intervention alert (check "recovery") opens or resolves (recovery ops). */
void engine_recovery_manual(void *ctx, const char *bot, bool open, const char *reason);

/* ---- engine_adopt.c ------------------------------------------------------------------- */

/* Takes over the slots of t (takes ownership of t): adopts them in t->owners, replaces their
 * bots' alerts with the open ones PostgreSQL holds, publishes a status only where it differs
 * from the one stored last, and judges the bots again so that what is missing is said. */
void engine_adopt(struct col_engine *e, struct col_takeover *t, int64_t now_mono, int64_t now_wall);

/* ---- engine_answer.c ------------------------------------------------------------------ */

/* Answers a question from another thread (COL_EV_QUERY) with copies. */
void engine_answer(struct col_engine *e, const struct col_event *ev);
/* Ends the silences whose time has come, announcing what they kept quiet. */
void engine_silences_tick(struct col_engine *e, int64_t now_mono, int64_t now_wall);

#endif
