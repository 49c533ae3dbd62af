-- SPDX-License-Identifier: MIT
-- A bot's process restarts as its agent counts them (heartbeat proc.restarts, since that agent
-- started), kept with each sample; NULL when the agent sends no count (no watched process).
ALTER TABLE bot_samples ADD COLUMN proc_restarts bigint;
