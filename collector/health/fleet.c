/* SPDX-License-Identifier: MIT */
/* The fleet registry: agents, bots, and incremental counts by status per group. */
#include "fleet.h"

#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void free_agent(void *p)
{
    struct col_agent *a = p;
    if (a)
        free(a->bots);
    free(a);
}

int col_fleet_init(struct col_fleet *f)
{
    memset(f, 0, sizeof(*f));
    f->bots = col_strmap_new();
    f->agents = col_strmap_new();
    f->accounts = col_strmap_new();
    f->hosts = col_strmap_new();
    f->strings = col_strmap_new();
    f->limits = col_strmap_new();
    if (!f->bots || !f->agents || !f->accounts || !f->hosts || !f->strings || !f->limits) {
        col_fleet_cleanup(f);
        return -ENOMEM;
    }
    f->shards = 1;
    return 0;
}

static void place_agent(void *ctx, const char *key, void *v)
{
    const struct col_fleet *f = ctx;
    struct col_agent *a = v;
    a->shard = col_shard_of(a->id, f->shards);
}

void col_fleet_set_shards(struct col_fleet *f, int n)
{
    f->shards = n < 1 ? 1 : n > COL_SHARDS_MAX ? COL_SHARDS_MAX : n;
    f->shard_none = col_shard_of("", f->shards);
    col_strmap_each(f->agents, place_agent, f);
}

int col_bot_shard(const struct col_fleet *f, const struct col_bot *b)
{
    return b->agent ? b->agent->shard : f->shard_none;
}

static void free_bot(void *v)
{
    struct col_bot *b = v;
    free(b->cadence);
    col_evidence_cleanup(&b->ev);
    col_alerts_free(&b->alerts);
    free(b);
}

/* Interned limits with the same hash, chained. */
struct shared_limits {
    struct shared_limits *next;
    struct col_rule_limits lim;
};

static void free_limits(void *v)
{
    for (struct shared_limits *l = v, *next; l; l = next) {
        next = l->next;
        free(l);
    }
}

void col_fleet_cleanup(struct col_fleet *f)
{
    col_strmap_free(f->bots, free_bot);
    free(f->order);
    col_strmap_free(f->agents, free_agent);
    col_strmap_free(f->accounts, free);
    col_strmap_free(f->hosts, free);
    col_strmap_free(f->strings, free);
    col_strmap_free(f->limits, free_limits);
    memset(f, 0, sizeof(*f));
}

const char *col_fleet_intern(struct col_fleet *f, const char *s)
{
    char *v = col_strmap_get(f->strings, s);
    if (v)
        return v;
    if (!(v = strdup(s)) || col_strmap_put(f->strings, s, v) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

const struct col_rule_limits *col_fleet_limits(struct col_fleet *f,
                                               const struct col_rule_limits *lim)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a over the bytes */
    const unsigned char *p = (const unsigned char *)lim;
    for (size_t i = 0; i < sizeof(*lim); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    char key[24];
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)h);
    struct shared_limits *head = col_strmap_get(f->limits, key);
    for (struct shared_limits *l = head; l; l = l->next)
        if (memcmp(&l->lim, lim, sizeof(*lim)) == 0)
            return &l->lim;
    struct shared_limits *l = malloc(sizeof(*l));
    if (!l)
        return NULL;
    l->lim = *lim;
    l->next = head ? head->next : NULL; /* the map keeps the head; the rest follow it */
    if (head)
        head->next = l;
    else if (col_strmap_put(f->limits, key, l) < 0) {
        free(l);
        return NULL;
    }
    return &l->lim;
}

void col_fleet_set_exchange(struct col_fleet *f, struct col_bot *b, const char *exchange)
{
    const char *interned = col_fleet_intern(f, exchange);
    if (interned)
        b->exchange = interned;
}

const char *col_bot_host(const struct col_bot *b)
{
    return b->agent ? b->agent->host : "";
}

struct col_group *col_group_of(struct col_strmap *m, const char *label)
{
    const char *key = label && *label ? label : "-";
    struct col_group *g = col_strmap_get(m, key);
    if (g)
        return g;
    g = calloc(1, sizeof(*g));
    if (g && col_strmap_put(m, key, g) < 0) {
        free(g);
        g = NULL;
    }
    return g;
}

/* Adds delta bots of status st to the bot's three groups. */
static void count(struct col_fleet *f, const char *account, const char *host, enum col_status st,
                  int delta)
{
    struct col_group *gs[3] = {&f->all, col_group_of(f->accounts, account),
                               col_group_of(f->hosts, host)};
    for (int i = 0; i < 3; i++) {
        if (!gs[i])
            continue;
        gs[i]->total += delta;
        gs[i]->by_status[st] += delta;
    }
}

struct col_bot *col_fleet_bot(struct col_fleet *f, const char *id)
{
    return col_strmap_get(f->bots, id);
}

struct col_bot *col_fleet_bot_add(struct col_fleet *f, const char *id, int64_t now_mono)
{
    struct col_bot *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    snprintf(b->id, sizeof(b->id), "%s", id);
    b->account = "";
    b->exchange = "";
    b->status = COL_ST_UNKNOWN;
    b->check = "";
    b->ev.first_seen_mono = now_mono;
    b->last_sample_mono = INT64_MIN / 2;
    bp_timer_init(&b->timer);
    if (f->norder == f->order_cap) {
        size_t cap = f->order_cap ? f->order_cap * 2 : 1024;
        struct col_bot **order = realloc(f->order, cap * sizeof(*order));
        if (!order) {
            free(b);
            return NULL;
        }
        f->order = order;
        f->order_cap = cap;
    }
    if (col_strmap_put(f->bots, id, b) < 0) {
        free(b);
        return NULL;
    }
    f->order[f->norder++] = b;
    count(f, b->account, "", b->status, +1);
    return b;
}

struct col_agent *col_fleet_agent(struct col_fleet *f, const char *id)
{
    return col_strmap_get(f->agents, id);
}

struct col_agent *col_fleet_agent_add(struct col_fleet *f, const char *id)
{
    struct col_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->shard = col_shard_of(a->id, f->shards);
    if (col_strmap_put(f->agents, id, a) < 0) {
        free(a);
        return NULL;
    }
    return a;
}

static void detach(struct col_agent *a, struct col_bot *b)
{
    for (size_t i = 0; i < a->nbots; i++) {
        if (a->bots[i] == b) {
            a->bots[i] = a->bots[--a->nbots];
            return;
        }
    }
}

int col_fleet_attach(struct col_fleet *f, struct col_agent *a, struct col_bot *b)
{
    if (b->agent == a)
        return 0;
    if (a->nbots == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct col_bot **bots = realloc(a->bots, cap * sizeof(*bots));
        if (!bots)
            return -ENOMEM;
        a->bots = bots;
        a->cap = cap;
    }
    const char *old_host = col_bot_host(b);
    count(f, b->account, old_host, b->status, -1);
    if (b->agent)
        detach(b->agent, b);
    a->bots[a->nbots++] = b;
    b->agent = a;
    count(f, b->account, a->host, b->status, +1);
    return 0;
}

void col_fleet_count_status(struct col_fleet *f, struct col_bot *b, enum col_status to)
{
    count(f, b->account, col_bot_host(b), b->status, -1);
    count(f, b->account, col_bot_host(b), to, +1);
}

void col_fleet_set_account(struct col_fleet *f, struct col_bot *b, const char *account)
{
    if (strcmp(b->account, account) == 0)
        return;
    const char *interned = col_fleet_intern(f, account);
    if (!interned)
        return; /* out of memory: it keeps its old account */
    count(f, b->account, col_bot_host(b), b->status, -1);
    b->account = interned;
    count(f, b->account, col_bot_host(b), b->status, +1);
}

void col_fleet_set_host(struct col_fleet *f, struct col_agent *a, const char *host)
{
    if (strcmp(a->host, host) == 0)
        return;
    for (size_t i = 0; i < a->nbots; i++)
        count(f, a->bots[i]->account, a->host, a->bots[i]->status, -1);
    snprintf(a->host, sizeof(a->host), "%s", host);
    for (size_t i = 0; i < a->nbots; i++)
        count(f, a->bots[i]->account, a->host, a->bots[i]->status, +1);
}
