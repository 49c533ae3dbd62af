/* SPDX-License-Identifier: MIT */
/* The agent's single-threaded loop: owns every bot's state, sleeps in ppoll() until the next
 * deadline (heartbeat, stats, a waiting notify client) or an event (notify request, MQTT
 * (re)connect, signal), and stops cleanly on SIGTERM/SIGINT. */
#ifndef AGENT_LOOP_H
#define AGENT_LOOP_H

struct agent_config;

/* Runs the agent until SIGTERM or SIGINT. Returns the process exit status (0 after a clean
 * stop, 1 when start-up failed). cfg is borrowed for the whole run. */
int agent_loop_run(const struct agent_config *cfg);

#endif
