-- SPDX-License-Identifier: MIT
-- Intended states set by operators at run time (POST /bots/{id}/intended): one row per bot,
-- overriding the config's `intended` until set again; reloaded at start. Upserted by bot_id.
-- (004 and 006 are left to other branches.)
CREATE TABLE bot_intents (
    bot_id   text PRIMARY KEY,
    intended text NOT NULL CHECK (intended IN ('running', 'stopped')),
    set_at   timestamptz NOT NULL
);
