/* SPDX-License-Identifier: MIT */
/* The ownership table: one set of atomics per slot, the lease check on the rules thread. */
#include "owners.h"

#include <stdatomic.h>
#include <stdlib.h>

struct slot {
    _Atomic int64_t since;    /* when its lock was taken (monotonic ms); 0: not held */
    _Atomic uint32_t epoch;   /* bumped at each acquisition (cluster thread) */
    _Atomic uint32_t adopted; /* the epoch the rules thread took over (rules thread) */
};

struct col_owners {
    int shards;
    int64_t lease_ms;
    _Atomic int64_t confirmed; /* start of the last confirmed round trip; INT64_MIN: never */
    _Atomic uint64_t fenced;
    struct slot slots[]; /* shards, then the leader */
};

struct col_owners *col_owners_new(int shards, int64_t lease_ms)
{
    if (shards < 1 || lease_ms < 1)
        return NULL;
    struct col_owners *o = calloc(1, sizeof(*o) + (size_t)(shards + 1) * sizeof(struct slot));
    if (!o)
        return NULL;
    o->shards = shards;
    o->lease_ms = lease_ms;
    atomic_init(&o->confirmed, INT64_MIN);
    return o;
}

void col_owners_free(struct col_owners *o)
{
    free(o);
}

int col_owners_shards(const struct col_owners *o)
{
    return o->shards;
}

int64_t col_owners_lease(const struct col_owners *o)
{
    return o->lease_ms;
}

/* The slot's entry; NULL for a slot out of range (nothing is ever held there). */
static struct slot *at(const struct col_owners *o, int slot)
{
    int i = slot == COL_OWNERS_LEADER ? o->shards : slot;
    return i >= 0 && i <= o->shards ? (struct slot *)&o->slots[i] : NULL;
}

void col_owners_confirm(struct col_owners *o, int64_t started_mono)
{
    atomic_store(&o->confirmed, started_mono);
}

int64_t col_owners_confirmed_at(const struct col_owners *o)
{
    return atomic_load(&o->confirmed);
}

uint32_t col_owners_acquire(struct col_owners *o, int slot, int64_t now_mono)
{
    struct slot *s = at(o, slot);
    if (!s)
        return 0;
    uint32_t epoch = atomic_fetch_add(&s->epoch, 1) + 1;
    atomic_store(&s->since, now_mono > 0 ? now_mono : 1);
    return epoch;
}

void col_owners_release(struct col_owners *o, int slot)
{
    struct slot *s = at(o, slot);
    if (s)
        atomic_store(&s->since, 0);
}

int64_t col_owners_since(const struct col_owners *o, int slot)
{
    struct slot *s = at(o, slot);
    return s ? atomic_load(&s->since) : 0;
}

uint32_t col_owners_epoch(const struct col_owners *o, int slot)
{
    struct slot *s = at(o, slot);
    return s ? atomic_load(&s->epoch) : 0;
}

void col_owners_adopt(struct col_owners *o, int slot, uint32_t epoch)
{
    struct slot *s = at(o, slot);
    if (s && atomic_load(&s->epoch) == epoch && atomic_load(&s->since) != 0)
        atomic_store(&s->adopted, epoch);
}

bool col_owners_is_mine(const struct col_owners *o, int slot)
{
    struct slot *s = at(o, slot);
    return s && atomic_load(&s->since) != 0 && atomic_load(&s->adopted) == atomic_load(&s->epoch);
}

bool col_owners_may_act(const struct col_owners *o, int slot, int64_t now_mono)
{
    struct slot *s = at(o, slot);
    if (!s)
        return false;
    int64_t since = atomic_load(&s->since);
    if (since == 0 || atomic_load(&s->adopted) != atomic_load(&s->epoch))
        return false;
    if (now_mono - since < o->lease_ms) /* whoever held it before may still be acting */
        return false;
    int64_t confirmed = col_owners_confirmed_at(o);
    return confirmed != INT64_MIN && now_mono - confirmed < o->lease_ms;
}

void col_owners_count_fenced(struct col_owners *o)
{
    atomic_fetch_add(&o->fenced, 1);
}

uint64_t col_owners_fenced(const struct col_owners *o)
{
    return atomic_load(&o->fenced);
}
