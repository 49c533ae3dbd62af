/* SPDX-License-Identifier: MIT */
/* The agent's single-threaded loop: owns every bot's state, sleeps in ppoll() until the next
 * deadline (heartbeat, stats, a waiting notify client) or an event (notify request, MQTT
 * (re)connect, signal), reloads its config on SIGHUP, and stops cleanly on SIGTERM/SIGINT. */
#ifndef AGENT_LOOP_H
#define AGENT_LOOP_H

struct agent_config;

/* Runs the agent until SIGTERM or SIGINT. Returns the process exit status (0 after a clean
 * stop, 1 when start-up failed). cfg, loaded from path, is borrowed for the whole run; on
 * SIGHUP path is loaded again and what can change live is written into cfg (see
 * agent_config_diff). */
int agent_loop_run(struct agent_config *cfg, const char *path);

#endif
