/* SPDX-License-Identifier: MIT */
/* Who may speak for a bot. A bot belongs to the agent its [bot NAME] section names (`agent =`),
 * else to the agent an operator moved it to, else to the first agent that named it (in its
 * agent_state or in a message about it); that owner survives a restart (the bots table's
 * agent_id, read back at start). Any other agent's claim (an agent_state listing it, a
 * heartbeat, stats, a trade or an event naming it) is refused and changes nothing, and so is a
 * new bot from an agent that already has max_per_agent. Refusals are counted per reason; the
 * caller logs them at most once a minute per reason. Pure (time comes in); rules thread only. */
#ifndef COL_CLAIMS_H
#define COL_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_agent;
struct col_bot;
struct col_strmap;

#define COL_OWNERS_LOG_EVERY_MS 60000

/* A claim's verdict; the refusals index col_claims.refused. */
enum col_claim {
    COL_CLAIM_OK = 0,
    COL_CLAIM_FOREIGN, /* the bot belongs to another agent */
    COL_CLAIM_COUNT
};

struct col_claims {
    struct col_strmap *restored; /* bot id → struct col_agent * (the fleet's): a previous run's */
    uint64_t refused[COL_CLAIM_COUNT];
    uint64_t logged[COL_CLAIM_COUNT]; /* refused[] when its last line was logged */
    int64_t next_log_mono[COL_CLAIM_COUNT];
};

/* 0 or -ENOMEM. (How many bots an agent may bring is [agents] bots_max, the engine's.) */
int col_claims_init(struct col_claims *o);
void col_claims_cleanup(struct col_claims *o);

/* Remembers that a previous run gave bot to agent a (borrowed: the fleet owns agents and keeps
 * them). 0 or -ENOMEM. */
int col_claims_restore(struct col_claims *o, const char *bot, struct col_agent *a);

/* The id of bot's owner, or NULL for nobody yet: pinned (its [bot] section's agent, "" none),
 * else the agent b (NULL: not in the fleet yet) is attached to, else a previous run's. */
const char *col_claims_owner(const struct col_claims *o, const char *bot, const struct col_bot *b,
                             const char *pinned);

/* Judges agent a's claim on bot (b NULL: not in the fleet yet; pinned as above). */
enum col_claim col_claims_judge(const struct col_claims *o, const char *bot,
                                const struct col_bot *b, const char *pinned,
                                const struct col_agent *a);

/* Counts a refusal. True when a line is due now (the first, then at most one a minute per
 * reason); *since is then the refusals of that reason since the last line, this one included. */
bool col_claims_refuse(struct col_claims *o, enum col_claim why, int64_t now_mono, uint64_t *since);

/* "foreign": the names in collector_stats and /metrics. */
const char *col_claim_name(enum col_claim c);

#endif
