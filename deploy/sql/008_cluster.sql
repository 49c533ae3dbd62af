-- SPDX-License-Identifier: MIT
-- Several collectors sharing one fleet (collector/cluster/, docs/architecture.md "Several
-- collectors"): one row per collector, the view of who is alive and which shards it holds.
-- The locks themselves are session-level advisory locks (pg_try_advisory_lock(1651532593,
-- shard), the leader's (1651532593, -1)); this table only says who is who, for the fair
-- share, the HTTP API's /health and each bot's owner. Written by each collector's lock
-- session every round; no foreign keys, no history.
CREATE TABLE collectors (
    collector_id text PRIMARY KEY,
    host         text NOT NULL DEFAULT '',
    started      timestamptz NOT NULL,        -- when this run of it registered
    last_seen    timestamptz NOT NULL,        -- its last confirmed round (the server's clock)
    backend_pid  integer,                     -- pg_backend_pid() of its lock session
    shard_count  integer NOT NULL,            -- its [cluster] shards: must agree
    shards       integer[] NOT NULL DEFAULT '{}', -- the shards it holds (leader: -1)
    changed_at   timestamptz                  -- when its set of shards last changed
);
