/* SPDX-License-Identifier: MIT */
/* Questions to the rules thread from other threads (the HTTP API): a query travels through the
 * rules thread's own event queue, the rules thread answers it between two messages (copying
 * what was asked into plain views) and wakes the asker, who waits with a deadline. Nothing
 * outside the rules thread ever reads the fleet. A query is reference-counted: an asker that
 * gives up at its deadline and a rules thread that answers late never free it under each other. */
#ifndef COL_QUERY_H
#define COL_QUERY_H

#include "alerts.h"
#include "fleet.h"
#include "manual.h"
#include "claims.h"
#include "recovery.h"
#include "silences.h"
#include "snapshot.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bp_queue;
struct col_bot;
struct col_strmap;

/* One bot as the rules thread saw it when it answered: a copy, safe on any thread. */
struct col_bot_view {
    struct col_bot_snapshot snap; /* what the status message and the bots row say too */
    bool agent_online;
    bool intended_stopped;     /* what the rules use now */
    bool intended_by_operator; /* set at run time (POST /bots/{id}/intended), not the config */
    int shard;                 /* its agent's shard (shard.h); -1: no agent speaks for it yet */
    bool clustered;            /* [cluster] is on: shard and owner mean something (HTTP fills) */
    char owner[BP_ID_MAX + 1]; /* the collector holding its shard, as the table says; "": none */
    /* the alert that speaks for the bot: its most severe open one, the oldest of those */
    bool alert_open;
    char alert_id[COL_ALERT_ID_MAX + 1];
    enum col_severity alert_severity;
    char alert_check[COL_CHECK_MAX];
    int64_t alert_opened_at; /* Unix ms */
    /* all its open alerts (one per failing check): the query's alerts[alerts_first ...] */
    size_t alerts_first, nalerts;
};

/* One open alert, copied. */
struct col_alert_view {
    char bot[BP_ID_MAX + 1];
    char alert_id[COL_ALERT_ID_MAX + 1];
    enum col_severity severity;
    char check[COL_CHECK_MAX];
    char reason[COL_REASON_MAX + 1];
    int64_t opened_at; /* Unix ms */
    int64_t repeats;
    bool announced; /* false: kept quiet (silenced, or an incident spoke for it) */
};

enum col_query_kind {
    COL_Q_PING,           /* is the rules thread answering? */
    COL_Q_BOTS,           /* bots matching the filter (one bot when filter.bot is set) */
    COL_Q_COUNTS,         /* how many bots match, by status, account and host: nothing copied */
    COL_Q_CHECK,          /* re-evaluate filter.bot now, then answer with it */
    COL_Q_SILENCES,       /* every active silence */
    COL_Q_SILENCE_ADD,    /* add .silence (id and ends_mono filled by the rules thread) */
    COL_Q_SILENCE_REMOVE, /* remove the silence .silence.id */
    COL_Q_RESTART,        /* an operator's .action for filter.bot (manual.h) */
    COL_Q_INTEND,         /* set filter.bot's intended state to .intent, re-evaluate, answer */
    COL_Q_MOVE,           /* an operator moves filter.bot to .agent (claims.h), then answer */
};

/* Empty strings and status < 0 match everything. */
struct col_query_filter {
    char bot[BP_ID_MAX + 1];
    int status;
    char account[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    char exchange[BP_ID_MAX + 1];
    bool alert_open;          /* only bots with an open alert */
    char text[BP_ID_MAX + 1]; /* a substring of its id, agent, account, exchange, host or reason */
};

/* The rules thread answers a query over the fleet one page of COL_QUERY_PAGE bots at a time,
 * the asker asking again for the next: 100,000 bots never hold it for more than a few ms. */
#define COL_QUERY_PAGE 4096

struct col_query {
    enum col_query_kind kind;
    struct col_query_filter filter;
    /* the answer, written by the rules thread before it marks the query done */
    int rc; /* 0, -ENOENT (no such bot), -EAGAIN (no broker: not judging), -ENOMEM */
    struct col_bot_view *bots;
    size_t nbots, cap;
    struct col_alert_view *alerts; /* the open alerts of the bots above, bot by bot */
    size_t nalerts, alerts_cap;
    /* COUNTS: the matching bots counted, all, and by account and by host (label or "-" →
     * struct col_group; only groups with bots) */
    struct col_group counts;
    struct col_strmap *counts_by_account, *counts_by_host;
    /* BOTS and COUNTS over the fleet: the next page starts at the fleet's bot number next */
    size_t next;
    bool more;
    bool blind;              /* the collector judges no liveness (no broker, or messages dropped) */
    int64_t lag_ms;          /* the rules thread's lag when it answered (engine.h) */
    bool behind;             /* ... past the bound where statuses come late */
    size_t fleet_size;       /* bots known in all */
    int64_t restarts_seen;   /* bot process restarts counted since the collector started */
    int64_t last_stats_wall; /* Unix ms collector/stats was last published; 0 = never */
    /* silences: in for ADD (the answer fills id, ends_mono), out for REMOVE; the list for
     * SILENCES. rc -EINVAL: ends in the past or no matcher; -ENOENT: no such silence */
    struct col_silence silence;
    struct col_silence *silences;
    size_t nsilences;
    /* RESTART: in .restart.action; out .restart.agent and .nonce, or .retry_ms when rc is
     * -EBUSY (see col_manual_answer for every rc) */
    struct col_manual_order restart;
    int intent;                /* INTEND: enum col_intent (RUNNING or STOPPED) */
    char agent[BP_ID_MAX + 1]; /* MOVE: the agent; rc -EPERM: its [bot] section pins another */
    /* every answer: claims on bots refused since start, by reason (claims.h) */
    uint64_t claims_refused[COL_CLAIM_COUNT];
    /* BOTS: the recovery commands sent and their results (when this collector sends any) */
    bool have_commands;
    struct col_command_counts commands;
    /* private */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int refs;
    bool done;
};

/* A query with one reference (the caller's) and a match-all filter. NULL on ENOMEM. */
struct col_query *col_query_new(enum col_query_kind kind);
/* Drops one reference; the last one frees the query. NULL does nothing. */
void col_query_release(struct col_query *qr);

/* Asker: puts the query on the rules thread's queue and waits up to timeout_ms for the
 * answer. 0 (answered: see qr->rc), -ENOBUFS (queue full), -ETIMEDOUT, -ENOMEM. The caller
 * keeps its reference either way and releases it. */
int col_query_ask(struct col_query *qr, struct bp_queue *q, int64_t timeout_ms);

/* Rules thread: one page of BOTS or COUNTS over the fleet's bots, from qr->next on (sets next
 * and more). */
void col_query_page(struct col_query *qr, struct col_fleet *f);

/* Rules thread: true if the bot passes the filter. */
bool col_query_matches(const struct col_query_filter *f, const struct col_bot *b);
/* Rules thread: counts b in the answer (COUNTS). 0 or -ENOMEM. */
int col_query_count_bot(struct col_query *qr, const struct col_bot *b);
/* Rules thread: appends a view of b to the answer. 0 or -ENOMEM. */
int col_query_add_bot(struct col_query *qr, const struct col_bot *b);
/* Rules thread: marks the answer complete, wakes the asker and drops the queue's reference. */
void col_query_finish(struct col_query *qr);

#endif
