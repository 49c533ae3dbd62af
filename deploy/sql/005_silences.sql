-- SPDX-License-Identifier: MIT
-- Silences made by operators (POST /silences): while one covers a bot, its alert events are
-- stored but not announced. Active ones (not removed, not yet ended) are reloaded at start.
-- Upserted by silence_id, so a re-sent batch stores nothing twice. (002 and 004 are reserved
-- for other branches.)
CREATE TABLE silences (
    silence_id text PRIMARY KEY,
    bot_id     text NOT NULL DEFAULT '',          -- '' matches any bot
    account    text NOT NULL DEFAULT '',
    host       text NOT NULL DEFAULT '',
    check_name text NOT NULL DEFAULT '',
    reason     text NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    removed_at timestamptz                        -- NULL: not removed by hand
);
CREATE INDEX silences_ends_idx ON silences (ends_at);
