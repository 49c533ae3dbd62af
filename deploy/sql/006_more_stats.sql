-- SPDX-License-Identifier: MIT
-- The optional stats fields added to v1: the bot process's threads and open fds, the host's
-- swap in use. NULL when the agent did not send them (older agents, a process whose fds the
-- agent may not list).
ALTER TABLE bot_samples ADD COLUMN proc_threads bigint;
ALTER TABLE bot_samples ADD COLUMN proc_fds bigint;
ALTER TABLE bot_samples ADD COLUMN host_swap_pct double precision;
