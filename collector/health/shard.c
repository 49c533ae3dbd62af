/* SPDX-License-Identifier: MIT */
/* The shard of an agent: FNV-1a over its id, modulo the number of shards. */
#include "shard.h"

uint32_t col_shard_hash(const char *agent)
{
    uint32_t h = 2166136261u; /* FNV offset basis */
    for (const unsigned char *p = (const unsigned char *)agent; *p; p++) {
        h ^= *p;
        h *= 16777619u; /* FNV prime */
    }
    return h;
}

int col_shard_of(const char *agent, int shards)
{
    return shards <= 1 ? 0 : (int)(col_shard_hash(agent) % (uint32_t)shards);
}
