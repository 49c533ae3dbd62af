/* SPDX-License-Identifier: MIT */
/* The store's start-up work, before the rules thread runs: versioned migrations from
 * deploy/sql/ (compiled in, migrations.h), then what the previous run left for this one to take
 * back (alerts still open, silences still in force, operators' intended states, each bot's
 * agent), each read over one short connection. */
#ifndef COL_STORE_LOAD_H
#define COL_STORE_LOAD_H

#include "silences.h"

#include <stdint.h>

/* Connects once and applies every migration in deploy/sql/ that is not yet applied (each in
 * its own transaction, recorded in schema_migrations; concurrent collectors serialise on an
 * advisory lock). Retries until timeout_ms (monotonic) passes. 0 or -errno, logged. */
int col_store_migrate(const char *conninfo, int64_t timeout_ms);
/* The same, stopping before the first migration whose version is until (NULL: all of them):
 * a database as an earlier release left it (the tests of a migration fill one). */
int col_store_migrate_until(const char *conninfo, int64_t timeout_ms, const char *until);

/* An alert whose newest event is not "resolved": left open by an earlier run. */
struct col_open_alert {
    const char *alert_id, *bot, *check, *severity;
    int64_t opened_at; /* Unix ms */
};

/* Reads every open alert (one short connection, at start-up, after col_store_migrate) and
 * calls cb for each. Recovery's manual-intervention alerts (check "recovery") are left out: a
 * bot holds one health alert, and recovery starts afresh in a new run. The count, or -errno
 * (logged). */
int col_store_load_open_alerts(const char *conninfo,
                               void (*cb)(void *ctx, const struct col_open_alert *a), void *ctx);

/* Reads every silence still in force (not removed, ends_at in the future; one short
 * connection, at start-up, after col_store_migrate) and calls cb for each (ends_mono unset). The
 * count, or -errno (logged). */
int col_store_load_silences(const char *conninfo,
                            void (*cb)(void *ctx, const struct col_silence *s), void *ctx);

/* Reads every operator's intended state (one short connection, at start-up, after
 * col_store_migrate) and calls cb with the bot and "running" or "stopped". The count, or
 * -errno (logged). */
int col_store_load_intents(const char *conninfo,
                           void (*cb)(void *ctx, const char *bot, const char *intended), void *ctx);

/* Reads every bot's agent (the bots table: its owner, owners.h; one short connection, at
 * start-up, after col_store_migrate) and calls cb with the bot and the agent. The count, or
 * -errno (logged). */
int col_store_load_owners(const char *conninfo,
                          void (*cb)(void *ctx, const char *bot, const char *agent), void *ctx);

#endif
