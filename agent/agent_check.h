/* SPDX-License-Identifier: MIT */
/* `botpulse-agent check`: one round of the agent's local evidence (processes, heartbeat files,
 * log files, host stats) without MQTT, a one-line summary per bot, and a Nagios-style exit
 * code, for cron and monitoring systems. */
#ifndef AGENT_CHECK_H
#define AGENT_CHECK_H

#include <stdio.h>

#include "agent_config.h"

/* Exit codes, Nagios style. A config error is also AGENT_CHECK_CRIT (see main.c). */
enum { AGENT_CHECK_OK = 0, AGENT_CHECK_WARN = 1, AGENT_CHECK_CRIT = 2 };

/* Checks every bot of cfg once, reading /proc under proc_root, and prints to out one line per
 * bot ("<bot>: OK|WARNING|CRITICAL - what was seen") and one for the host. Probes are not
 * run (they may take their timeout; the running agent reports them). Returns the worst
 * state: AGENT_CHECK_OK when every bot is alive and its files are fresh, AGENT_CHECK_WARN
 * when a bot is alive but a heartbeat file is stale or a log file unreadable,
 * AGENT_CHECK_CRIT when a bot is not alive. */
int agent_check_run(const struct agent_config *cfg, const char *proc_root, FILE *out);

#endif
