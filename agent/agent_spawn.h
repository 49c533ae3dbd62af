/* SPDX-License-Identifier: MIT */
/* Starting a configured command line from the agent's single-threaded loop: no shell, stdin
 * from /dev/null, stdout (and optionally stderr) into a non-blocking pipe the loop polls, in
 * a process group of its own (a timeout kills its children too), signals unblocked and at
 * their defaults (the agent blocks its own outside ppoll and ignores SIGPIPE). posix_spawnp,
 * not fork: the agent has Paho's threads. Used by probes and recovery commands. */
#ifndef AGENT_SPAWN_H
#define AGENT_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts argv (argv[0] looked up on PATH). On success sets *pid and *fd (the read end,
 * O_NONBLOCK and O_CLOEXEC) and returns 0; otherwise -errno and nothing to clean up. */
int agent_spawn(char *const argv[], bool with_stderr, pid_t *pid, int *fd);

#endif
