-- SPDX-License-Identifier: MIT
-- Each agent's clock offset as the collector estimates it (ms its clock is ahead of the
-- collector's; negative: behind). Liveness never reads agent clocks; this is for people, and
-- for the "clock" warning. (002 is reserved for the recovery commands' tables.)
ALTER TABLE agents ADD COLUMN clock_offset_ms bigint NOT NULL DEFAULT 0;
