-- SPDX-License-Identifier: MIT
-- The first schema: current state (agents, bots) and the history tables the writer fills.
--
-- Applied once by col_store_migrate in its own transaction (do not add BEGIN/COMMIT here);
-- schema_migrations is created by the code, not by this file.
-- Every write is idempotent: history rows carry a natural or event key and are inserted with
-- ON CONFLICT DO NOTHING, current-state rows are upserted, so a batch re-sent after an
-- ambiguous COMMIT stores nothing twice. No foreign keys on purpose: the spool may drop an
-- agent row under pressure, and a bot row must still be stored.
-- Future work: partition the history tables (status_transitions, trades, alert_events,
-- bot_samples) by time, and drop old partitions per a retention setting.

-- Current state of each agent, from its retained state message and Last Will.
CREATE TABLE agents (
    agent_id   text PRIMARY KEY,
    host       text NOT NULL DEFAULT '',
    version    text NOT NULL DEFAULT '',
    boot       text NOT NULL DEFAULT '',
    online     boolean NOT NULL,
    last_seen  timestamptz NOT NULL,           -- when the collector produced this state
    updated_at timestamptz NOT NULL DEFAULT now() -- when the row was written
);

-- Current state of each bot as the collector's rules see it.
CREATE TABLE bots (
    bot_id         text PRIMARY KEY,
    agent_id       text NOT NULL,
    account        text NOT NULL DEFAULT '',
    exchange       text NOT NULL DEFAULT '',
    host           text NOT NULL DEFAULT '',
    status         text NOT NULL,
    reason         text NOT NULL DEFAULT '',
    status_since   timestamptz NOT NULL,
    last_heartbeat timestamptz,                 -- NULL: never
    last_trade     timestamptz,                 -- NULL: never
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bots_agent_idx ON bots (agent_id);

-- Audit trail: every status change of every bot.
CREATE TABLE status_transitions (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,           -- "<collector run id>-<counter>"
    bot_id      text NOT NULL,
    ts          timestamptz NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    check_name  text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX status_transitions_bot_ts_idx ON status_transitions (bot_id, ts);

-- Trades as reported by the agents, exactly once per (agent, boot, seq).
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
    PRIMARY KEY (agent_id, boot, seq)
);
CREATE INDEX trades_bot_ts_idx ON trades (bot_id, trade_ts);

-- Alert lifecycle: one row per opened / escalated / resolved event.
CREATE TABLE alert_events (
    id         bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    alert_id   text NOT NULL,                   -- event_id of the alert's "opened" event
    bot_id     text NOT NULL,
    check_name text NOT NULL DEFAULT '',
    event      text NOT NULL,
    severity   text NOT NULL,
    status     text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    ts         timestamptz NOT NULL
);
CREATE INDEX alert_events_bot_ts_idx ON alert_events (bot_id, ts);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id);

-- Resource samples per bot, at most one per bot per minute; NULL where the agent did not know.
CREATE TABLE bot_samples (
    bot_id        text NOT NULL,
    ts            timestamptz NOT NULL,
    proc_cpu_pct  double precision,
    proc_rss_kb   bigint,
    host_cpu_pct  double precision,
    host_mem_pct  double precision,
    host_disk_pct double precision,
    host_load1    double precision,
    PRIMARY KEY (bot_id, ts)
);
