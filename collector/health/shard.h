/* SPDX-License-Identifier: MIT */
/* Shards: the fleet split into parts by a stable hash of the agent id (FNV-1a, 32 bits, taken
 * modulo the number of shards), so an agent's Last Will and all of its bots fall in the same
 * shard, on every collector, on every architecture and in every version. Pure. */
#ifndef COL_SHARD_H
#define COL_SHARD_H

#include <stdint.h>

#define COL_SHARDS_MAX 4096

/* FNV-1a (32 bits) of the id's bytes. */
uint32_t col_shard_hash(const char *agent);
/* The shard of an agent (and of its bots): 0 .. shards - 1; 0 when shards <= 1. A bot whose
 * agent is not known yet belongs to the shard of "". */
int col_shard_of(const char *agent, int shards);

#endif
