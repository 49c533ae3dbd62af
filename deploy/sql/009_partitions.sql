-- SPDX-License-Identifier: MIT
-- History that runs for years: every table that grows with time becomes a native range-partitioned
-- table (no extension), keyed on the event's own time, and its rows move over without a loss.
--
-- Applied once by col_store_migrate in its own transaction, under the advisory lock every
-- collector takes for migrations and partition maintenance: the whole move commits or nothing
-- does, and a second collector starting at the same time waits, then finds it applied.
--
-- Partition keys and unique keys (a unique key on a partitioned table must hold the partition
-- key): each table is partitioned by a time the row carries from the moment it is made, so a
-- re-sent batch (the same ops, the same times) lands in the same partition and conflicts there.
--   trades           trade_ts (the agent's, in the message): (agent_id, boot, seq, trade_ts)
--   command_results  ts (the agent's, in the message):       (agent_id, boot, seq, ts)
--   status_transitions, alert_events   ts (set when the rules thread made the op): (event_id, ts)
--   commands         ts (when it was signed):                (nonce, ts)
--   bot_samples      ts (when the collector received it; nothing re-sends samples): (bot_id, ts)
-- A new table, status_daily, holds each bot's status at 00:00 UTC of every day (kept by the
-- collector's maintenance), so the audit report finds the status before its range in one
-- partition instead of scanning every older one.
--
-- Each table gets a DEFAULT partition that catches a row no partition covers (a clock far off,
-- partitions not yet made): a write never fails for want of a partition. The collector makes
-- the partitions ahead ([database] partition_days, partition_ahead_days), moves stray rows out of
-- the default one, and drops whole partitions past each table's retention. Here the existing
-- rows get one daily partition (UTC) per day that has rows, made before the rows are copied, so
-- none of them lands in a default partition.

-- Creates one daily partition of tbl (UTC days, named tbl_pYYYYMMDD) for each day on which
-- src has a row in keycol. Lives in pg_temp: gone when the migrating session ends.
CREATE FUNCTION pg_temp.bp_daily_partitions(tbl text, keycol text, src text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d date;
BEGIN
    FOR d IN EXECUTE format('SELECT DISTINCT (%I AT TIME ZONE ''UTC'')::date FROM %I ORDER BY 1',
                            keycol, src) LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       tbl || '_p' || to_char(d, 'YYYYMMDD'), tbl,
                       to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00',
                       to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
    END LOOP;
END $$;

-- ---- trades ----------------------------------------------------------------------------------
ALTER TABLE trades RENAME TO trades_unpartitioned;
ALTER TABLE trades_unpartitioned RENAME CONSTRAINT trades_pkey TO trades_unpartitioned_pkey;
ALTER INDEX trades_bot_ts_idx RENAME TO trades_unpartitioned_bot_ts_idx;
CREATE TABLE trades (
    agent_id    text NOT NULL,
    boot        text NOT NULL,
    seq         bigint NOT NULL,
    bot_id      text NOT NULL,
    trade_id    text NOT NULL DEFAULT '',
    trade_ts    timestamptz NOT NULL,           -- when the trade happened (bot's clock)
    symbol      text NOT NULL DEFAULT '',
    side        text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,           -- when the collector received it
    CONSTRAINT trades_pkey PRIMARY KEY (agent_id, boot, seq, trade_ts)
) PARTITION BY RANGE (trade_ts);
CREATE INDEX trades_bot_ts_idx ON trades (bot_id, trade_ts);
CREATE TABLE trades_default PARTITION OF trades DEFAULT;
SELECT pg_temp.bp_daily_partitions('trades', 'trade_ts', 'trades_unpartitioned');
INSERT INTO trades (agent_id, boot, seq, bot_id, trade_id, trade_ts, symbol, side, received_at)
SELECT agent_id, boot, seq, bot_id, trade_id, trade_ts, symbol, side, received_at
FROM trades_unpartitioned;
DROP TABLE trades_unpartitioned;

-- ---- status_transitions ----------------------------------------------------------------------
ALTER TABLE status_transitions RENAME TO status_transitions_unpartitioned;
ALTER TABLE status_transitions_unpartitioned
    RENAME CONSTRAINT status_transitions_pkey TO status_transitions_unpartitioned_pkey;
ALTER TABLE status_transitions_unpartitioned
    RENAME CONSTRAINT status_transitions_event_id_key TO status_transitions_unpartitioned_event_key;
ALTER INDEX status_transitions_bot_ts_idx RENAME TO status_transitions_unpartitioned_bot_ts_idx;
CREATE TABLE status_transitions (
    id          bigint NOT NULL DEFAULT nextval('status_transitions_id_seq'),
    event_id    text NOT NULL,                  -- "<collector run id>-<counter>"
    bot_id      text NOT NULL,
    ts          timestamptz NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    check_name  text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT '',
    CONSTRAINT status_transitions_pkey PRIMARY KEY (id, ts),
    CONSTRAINT status_transitions_event_key UNIQUE (event_id, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE status_transitions_id_seq OWNED BY status_transitions.id;
CREATE INDEX status_transitions_bot_ts_idx ON status_transitions (bot_id, ts);
CREATE TABLE status_transitions_default PARTITION OF status_transitions DEFAULT;
SELECT pg_temp.bp_daily_partitions('status_transitions', 'ts', 'status_transitions_unpartitioned');
INSERT INTO status_transitions (id, event_id, bot_id, ts, from_status, to_status, check_name,
                                reason)
SELECT id, event_id, bot_id, ts, from_status, to_status, check_name, reason
FROM status_transitions_unpartitioned;
DROP TABLE status_transitions_unpartitioned;

-- Each bot's status at 00:00 UTC of each day (the last to_status before it), made by the
-- collector's maintenance from the day before's transitions and checkpoints.
CREATE TABLE status_daily (
    at     timestamptz NOT NULL,                -- 00:00 UTC of the day
    bot_id text NOT NULL,
    status text NOT NULL,
    CONSTRAINT status_daily_pkey PRIMARY KEY (at, bot_id)
) PARTITION BY RANGE (at);
CREATE TABLE status_daily_default PARTITION OF status_daily DEFAULT;

-- ---- alert_events ----------------------------------------------------------------------------
ALTER TABLE alert_events RENAME TO alert_events_unpartitioned;
ALTER TABLE alert_events_unpartitioned
    RENAME CONSTRAINT alert_events_pkey TO alert_events_unpartitioned_pkey;
ALTER TABLE alert_events_unpartitioned
    RENAME CONSTRAINT alert_events_event_id_key TO alert_events_unpartitioned_event_key;
ALTER INDEX alert_events_bot_ts_idx RENAME TO alert_events_unpartitioned_bot_ts_idx;
ALTER INDEX alert_events_alert_idx RENAME TO alert_events_unpartitioned_alert_idx;
CREATE TABLE alert_events (
    id         bigint NOT NULL DEFAULT nextval('alert_events_id_seq'),
    event_id   text NOT NULL,
    alert_id   text NOT NULL,                   -- event_id of the alert's "opened" event
    bot_id     text NOT NULL,
    check_name text NOT NULL DEFAULT '',
    event      text NOT NULL,
    severity   text NOT NULL,
    status     text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    ts         timestamptz NOT NULL,
    CONSTRAINT alert_events_pkey PRIMARY KEY (id, ts),
    CONSTRAINT alert_events_event_key UNIQUE (event_id, ts)
) PARTITION BY RANGE (ts);
ALTER SEQUENCE alert_events_id_seq OWNED BY alert_events.id;
CREATE INDEX alert_events_bot_ts_idx ON alert_events (bot_id, ts);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id);
CREATE TABLE alert_events_default PARTITION OF alert_events DEFAULT;
SELECT pg_temp.bp_daily_partitions('alert_events', 'ts', 'alert_events_unpartitioned');
INSERT INTO alert_events (id, event_id, alert_id, bot_id, check_name, event, severity, status,
                          reason, ts)
SELECT id, event_id, alert_id, bot_id, check_name, event, severity, status, reason, ts
FROM alert_events_unpartitioned;
DROP TABLE alert_events_unpartitioned;

-- ---- bot_samples -----------------------------------------------------------------------------
ALTER TABLE bot_samples RENAME TO bot_samples_unpartitioned;
ALTER TABLE bot_samples_unpartitioned
    RENAME CONSTRAINT bot_samples_pkey TO bot_samples_unpartitioned_pkey;
CREATE TABLE bot_samples (
    bot_id        text NOT NULL,
    ts            timestamptz NOT NULL,         -- when the collector received the stats
    proc_cpu_pct  double precision,
    proc_rss_kb   bigint,
    host_cpu_pct  double precision,
    host_mem_pct  double precision,
    host_disk_pct double precision,
    host_load1    double precision,
    proc_threads  bigint,
    proc_fds      bigint,
    host_swap_pct double precision,
    CONSTRAINT bot_samples_pkey PRIMARY KEY (bot_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE bot_samples_default PARTITION OF bot_samples DEFAULT;
SELECT pg_temp.bp_daily_partitions('bot_samples', 'ts', 'bot_samples_unpartitioned');
INSERT INTO bot_samples (bot_id, ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct,
                         host_disk_pct, host_load1, proc_threads, proc_fds, host_swap_pct)
SELECT bot_id, ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct, host_disk_pct,
       host_load1, proc_threads, proc_fds, host_swap_pct
FROM bot_samples_unpartitioned;
DROP TABLE bot_samples_unpartitioned;

-- ---- commands --------------------------------------------------------------------------------
ALTER TABLE commands RENAME TO commands_unpartitioned;
ALTER TABLE commands_unpartitioned RENAME CONSTRAINT commands_pkey TO commands_unpartitioned_pkey;
ALTER INDEX commands_bot_ts_idx RENAME TO commands_unpartitioned_bot_ts_idx;
CREATE TABLE commands (
    nonce      text NOT NULL,
    agent_id   text NOT NULL,
    bot_id     text NOT NULL,
    action     text NOT NULL,
    ts         timestamptz NOT NULL,            -- when it was signed (the command's ts)
    expires    timestamptz NOT NULL,
    reason     text NOT NULL DEFAULT '',        -- why recovery sent it
    CONSTRAINT commands_pkey PRIMARY KEY (nonce, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX commands_bot_ts_idx ON commands (bot_id, ts);
CREATE TABLE commands_default PARTITION OF commands DEFAULT;
SELECT pg_temp.bp_daily_partitions('commands', 'ts', 'commands_unpartitioned');
INSERT INTO commands (nonce, agent_id, bot_id, action, ts, expires, reason)
SELECT nonce, agent_id, bot_id, action, ts, expires, reason FROM commands_unpartitioned;
DROP TABLE commands_unpartitioned;

-- ---- command_results -------------------------------------------------------------------------
ALTER TABLE command_results RENAME TO command_results_unpartitioned;
ALTER TABLE command_results_unpartitioned
    RENAME CONSTRAINT command_results_pkey TO command_results_unpartitioned_pkey;
ALTER INDEX command_results_nonce_idx RENAME TO command_results_unpartitioned_nonce_idx;
ALTER INDEX command_results_bot_ts_idx RENAME TO command_results_unpartitioned_bot_ts_idx;
CREATE TABLE command_results (
    agent_id    text NOT NULL,
    boot        text NOT NULL,
    seq         bigint NOT NULL,
    nonce       text NOT NULL DEFAULT '',       -- '' when the command could not be read
    bot_id      text NOT NULL DEFAULT '',
    action      text NOT NULL DEFAULT '',
    outcome     text NOT NULL,                  -- ok, failed, refused, timeout
    exit_code   integer NOT NULL,               -- -1: nothing ran
    duration_ms bigint NOT NULL,
    output      text NOT NULL DEFAULT '',       -- the tail of the output (full on MQTT)
    reason      text NOT NULL DEFAULT '',
    ts          timestamptz NOT NULL,           -- agent's clock
    received_at timestamptz NOT NULL,           -- collector's clock
    CONSTRAINT command_results_pkey PRIMARY KEY (agent_id, boot, seq, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX command_results_nonce_idx ON command_results (nonce);
CREATE INDEX command_results_bot_ts_idx ON command_results (bot_id, ts);
CREATE TABLE command_results_default PARTITION OF command_results DEFAULT;
SELECT pg_temp.bp_daily_partitions('command_results', 'ts', 'command_results_unpartitioned');
INSERT INTO command_results (agent_id, boot, seq, nonce, bot_id, action, outcome, exit_code,
                             duration_ms, output, reason, ts, received_at)
SELECT agent_id, boot, seq, nonce, bot_id, action, outcome, exit_code, duration_ms, output,
       reason, ts, received_at
FROM command_results_unpartitioned;
DROP TABLE command_results_unpartitioned;

DROP FUNCTION pg_temp.bp_daily_partitions(text, text, text);
