-- SPDX-License-Identifier: MIT
-- Recovery: every signed command the collector sent, and every result an agent reported.
--
-- Both are history, inserted with ON CONFLICT DO NOTHING: a command by its nonce, a result by
-- (agent_id, boot, seq) like a trade, so a batch re-sent after an ambiguous COMMIT stores
-- nothing twice. Join them on nonce. No foreign key: a result may arrive for a command whose
-- row the spool dropped, and a refused forgery has a nonce we never sent.

CREATE TABLE commands (
    nonce      text PRIMARY KEY,
    agent_id   text NOT NULL,
    bot_id     text NOT NULL,
    action     text NOT NULL,
    ts         timestamptz NOT NULL,            -- when it was signed (the command's ts)
    expires    timestamptz NOT NULL,
    reason     text NOT NULL DEFAULT ''         -- why recovery sent it
);
CREATE INDEX commands_bot_ts_idx ON commands (bot_id, ts);

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
    PRIMARY KEY (agent_id, boot, seq)
);
CREATE INDEX command_results_nonce_idx ON command_results (nonce);
CREATE INDEX command_results_bot_ts_idx ON command_results (bot_id, ts);
