/* SPDX-License-Identifier: MIT */
/* Signed commands from the collector: received on Paho's thread (copied into a bounded queue,
 * the loop woken through an eventfd), then on the loop: decoded strictly, the Ed25519
 * signature verified with the configured public key, ts and expiry checked (with a small
 * allowed skew), the nonce checked against the ones already seen (kept in state_dir, so a
 * restart does not reopen replay), the action looked up in the bot's own config, a rate limit
 * per bot applied; only then the configured command line runs (posix_spawnp, no shell, its
 * own process group, a timeout). Every command gets a command_result: ok, failed, timeout, or
 * refused with the reason (nothing run). Nothing from the wire is ever executed. */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum agent_action {
    AGENT_ACT_RECONNECT = 0,
    AGENT_ACT_RESTART,
    AGENT_ACT_HARD_RESTART,
    AGENT_ACT_PRE_RESTART,
    AGENT_ACT_COUNT
};

#define AGENT_NONCES_MAX 4096 /* live nonces remembered; beyond, commands are refused */

struct agent_config;
struct agent_publisher;
struct agent_commands;

/* Loads the nonces still live from <state_dir>/command-nonces. cfg must outlive it.
 * 0 or -errno. */
int agent_commands_new(const struct agent_config *cfg, int64_t wall, struct agent_commands **out);
/* Kills (SIGKILL, the process group) and reaps any command still running. */
void agent_commands_free(struct agent_commands *c);

/* Paho's thread: copies one payload and wakes the loop (the queue is bounded; a full queue
 * drops it, logged). Matches agent_publisher_subscribe_commands' sink. */
void agent_commands_submit(void *ctx, const void *payload, size_t len);

/* The fds the loop polls (the wake-up eventfd and the output of running commands): fills at
 * most max entries and returns how many. */
size_t agent_commands_pollfds(const struct agent_commands *c, struct pollfd *out, size_t max);
/* Verifies and starts queued commands, reads the output of running ones, reaps finished ones,
 * kills those past the timeout, and publishes results. Never blocks; cheap when idle, so the
 * loop calls it every turn. */
void agent_commands_process(struct agent_commands *c, struct agent_publisher *pub, int64_t mono,
                            int64_t wall);
/* When agent_commands_process must run next without any fd event (INT64_MAX: never). */
int64_t agent_commands_deadline(const struct agent_commands *c);

/* After a config reload: the bots are renumbered. old_index[j] is the old index of the new bot
 * j, or -1 for a bot added; nnew new bots, nold old ones. Call before the config itself
 * changes. A command still running for a bot that was removed is killed (SIGKILL, its process
 * group), reaped and logged: it gets no result, as nobody owns that bot any more. 0 or -ENOMEM
 * (nothing changed). */
int agent_commands_remap(struct agent_commands *c, const int *old_index, int nnew, int nold);

/* ---- the checks, exposed for tests --------------------------------------------------------- */

/* Verifies one payload as a command for this agent at wall: decode, agent, signature, ts and
 * expiry, nonce (recorded when new), bot, action configured, rate limit at mono. 0 with *bot
 * (index) and *action, or -EPERM with a refused result filled in *res (reason set). In both
 * cases res->nonce, res->action and bot_name are filled as far as the command could be read. */
int agent_commands_check(struct agent_commands *c, const void *payload, size_t len, int64_t mono,
                         int64_t wall, int *bot, enum agent_action *action,
                         struct bp_command_result *res, char bot_name[BP_ID_MAX + 1]);

#endif
