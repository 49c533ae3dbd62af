/* SPDX-License-Identifier: MIT */
/* A probe command, run every interval without ever blocking the agent's loop: started with
 * posix_spawnp (no shell), its stdout read through a non-blocking pipe that the loop polls,
 * killed (its whole process group, SIGKILL) at the timeout, reaped with waitpid(WNOHANG).
 * It prints the time of the bot's last trade; every failure is counted and the last one kept. */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_spawn.h"
#include "msg.h"

#define AGENT_PROBE_CMD_MAX 256
#define AGENT_PROBE_MAX_ARGS 32
#define AGENT_PROBE_OUT_MAX 256                /* the output kept; more is read and dropped */
#define AGENT_PROBE_FUTURE_MS (10 * 60 * 1000) /* a trade later than now + this is an error */

/* Caller-allocated. Fields are private but the results. */
struct agent_probe {
    char cmd[AGENT_PROBE_CMD_MAX]; /* split in place into argv */
    char *argv[AGENT_PROBE_MAX_ARGS + 1];
    int64_t interval_ms, timeout_ms;
    pid_t pid;            /* 0 when not running */
    int fd;               /* read end of its stdout; -1 when closed */
    bool killed;          /* by us, at the timeout */
    int64_t started_mono; /* when the running probe started */
    int64_t next_mono;    /* next start (not running) */
    int64_t reap_mono;    /* output closed but not yet exited: next waitpid attempt */
    int64_t reap_backoff_ms;
    char out[AGENT_PROBE_OUT_MAX + 1];
    size_t outlen;
    /* Its environment (agent_spawn.h): set by the owner after init, borrowed strings. */
    struct agent_spawn_for who;

    /* Results. Times are Unix ms. */
    int64_t runs;
    int64_t failures;
    int64_t last_trade_ts;       /* newest trade time printed; 0 = none yet */
    int64_t ok_ts;               /* end of the last successful run; 0 = never */
    char error[BP_TEXT_MAX + 1]; /* the last run's failure, "" after a success */
};

/* Splits cmd on blanks (no quoting, no shell, no variables: one word per argument; the
 * first is looked up in PATH) and schedules the first run for now. 0, or -EINVAL (empty, too
 * long, or more than AGENT_PROBE_MAX_ARGS words). */
int agent_probe_init(struct agent_probe *p, const char *cmd, int64_t interval_ms,
                     int64_t timeout_ms, int64_t mono);
/* After the struct was copied from from (a config reload moves bots around): points argv
 * into p's own cmd again. from must still be valid memory. */
void agent_probe_moved(struct agent_probe *p, const struct agent_probe *from);

/* Kills a running probe (SIGKILL to its process group), reaps it and closes the pipe. */
void agent_probe_cleanup(struct agent_probe *p);

/* Does what is due at mono: reaps a finished probe and judges its run, kills one past its
 * timeout, starts the next run. Never blocks. */
void agent_probe_step(struct agent_probe *p, int64_t mono, int64_t wall);
/* The fd the loop should poll for input, or -1. */
int agent_probe_fd(const struct agent_probe *p);
/* Reads what the probe wrote (non-blocking); call when its fd is readable. At end of output
 * the next step is due at once. */
void agent_probe_read(struct agent_probe *p, int64_t mono);
/* When agent_probe_step must next run (CLOCK_MONOTONIC ms). */
int64_t agent_probe_deadline(const struct agent_probe *p);

/* Judges a probe's output: its first line is the time of the last trade (see agent_ts.h;
 * "0" = no trade yet). 0 with *trade_ts, or -EINVAL with the reason in why. */
int agent_probe_parse_output(const char *buf, size_t len, int64_t wall, int64_t *trade_ts,
                             char *why, size_t whylen);

#endif
