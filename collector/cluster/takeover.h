/* SPDX-License-Identifier: MIT */
/* What the cluster thread hands the rules thread when slots (shards, or the leader's) become
 * this collector's to act for: the slots with the epoch each was taken at, and what
 * PostgreSQL says about their bots, read once the previous owner was fenced: each bot's last
 * stored status (what was last published for it) and its open alerts (with the ids they were
 * announced under). The rules thread adopts it (engine_adopt.c) and frees it. */
#ifndef COL_TAKEOVER_H
#define COL_TAKEOVER_H

#include "alerts.h"
#include "msg.h"

#include <stddef.h>
#include <stdint.h>

struct col_owners;

/* A bot's row in the bots table. */
struct col_takeover_bot {
    char id[BP_ID_MAX + 1];
    char agent[BP_ID_MAX + 1];
    int status; /* enum col_status, or -1 when the row's word is unknown to us */
};

/* An open alert: its newest event is not "resolved". */
struct col_takeover_alert {
    char alert_id[COL_ALERT_ID_MAX + 1];
    char bot[BP_ID_MAX + 1];
    char agent[BP_ID_MAX + 1]; /* from the bots table: "" when the bot has no row */
    char check[COL_CHECK_MAX];
    char severity[16];
    int64_t opened_at; /* Unix ms */
};

struct col_takeover {
    struct col_owners *owners; /* whose slots: the rules thread adopts them there (borrowed) */
    int nslots;
    int *slots;                    /* shards, or COL_OWNERS_LEADER */
    uint32_t *epochs;              /* the epoch each slot was taken at */
    struct col_takeover_bot *bots; /* the rows of the bots of the shards taken */
    size_t nbots;
    struct col_takeover_alert *alerts; /* their open alerts */
    size_t nalerts;
};

/* Frees t and everything in it; NULL does nothing. */
void col_takeover_free(struct col_takeover *t);

#endif
