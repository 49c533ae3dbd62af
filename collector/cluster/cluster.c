/* SPDX-License-Identifier: MIT */
/* The cluster thread: a round every [cluster] round on the lock session (confirm, read who is
 * alive, evict the silent, take or give back shards, lead), and takeovers handed to the rules
 * thread once a slot has been held for a lease. */
#include "cluster.h"

#include "clock.h"
#include "cluster_db.h"
#include "log.h"
#include "owners.h"
#include "takeover.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "cluster"

struct col_cluster {
    struct col_cluster_opts o;
    char id[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    char *conninfo;
    int64_t started_mono, started_wall;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu; /* stop, and the view */
    pthread_cond_t cond;
    bool stop;
    /* the cluster thread's own */
    PGconn *conn;
    bool *held;       /* per slot: shards, then the leader */
    uint32_t *handed; /* per slot: the epoch handed to the rules thread */
    int nheld;        /* shards held (the leader's slot not counted) */
    bool mismatch_logged;
    bool evict_refused; /* logged */
    char last_error[256];
    char why[256]; /* what the last failed statement said */
    struct col_cluster_row *rows;
    int nrows;
    uint64_t takeovers;
    /* the view, under mu */
    struct col_cluster_view view;
};

/* The slot's index in held[] and handed[]. */
static int idx(const struct col_cluster *c, int slot)
{
    return slot == COL_OWNERS_LEADER ? c->o.shards : slot;
}

int col_cluster_new(const struct col_cluster_opts *opts, struct col_cluster **out)
{
    if (opts->shards < 1 || opts->shards > COL_SHARDS_MAX || !opts->owners)
        return -EINVAL;
    struct col_cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->o = *opts;
    snprintf(c->id, sizeof(c->id), "%s", opts->id);
    snprintf(c->host, sizeof(c->host), "%s", opts->host ? opts->host : "");
    c->conninfo = strdup(opts->conninfo);
    c->held = calloc((size_t)opts->shards + 1, sizeof(*c->held));
    c->handed = calloc((size_t)opts->shards + 1, sizeof(*c->handed));
    c->rows = calloc(COL_CLUSTER_MEMBERS_MAX, sizeof(*c->rows));
    if (!c->conninfo || !c->held || !c->handed || !c->rows) {
        col_cluster_free(c);
        return -ENOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(c->view.self, sizeof(c->view.self), "%s", c->id);
    c->view.shards = opts->shards;
    c->view.confirmed_ago = -1;
    for (int i = 0; i < COL_SHARDS_MAX; i++)
        c->view.owner[i] = -1;
    *out = c;
    return 0;
}

void col_cluster_free(struct col_cluster *c)
{
    if (!c)
        return;
    if (c->running)
        col_cluster_stop(c);
    if (c->held) { /* initialised together with the rest */
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cond);
    }
    free(c->conninfo);
    free(c->held);
    free(c->handed);
    free(c->rows);
    free(c);
}

/* ---- holding slots ---------------------------------------------------------------------- */

/* Nothing here acts for any slot any more: the session and its locks are gone (or going). */
static void drop_all(struct col_cluster *c)
{
    for (int s = 0; s <= c->o.shards; s++) {
        if (!c->held[s])
            continue;
        col_owners_release(c->o.owners, s == c->o.shards ? COL_OWNERS_LEADER : s);
        c->held[s] = false;
    }
    c->nheld = 0;
}

/* The lock session failed: everything it held is lost with it. */
static void lose_session(struct col_cluster *c, const char *why)
{
    if (c->nheld || c->held[c->o.shards])
        BP_WARN(MOD, "lock session lost (%s): %d shard(s) given up", why, c->nheld);
    else if (strcmp(c->last_error, why) != 0)
        BP_WARN(MOD, "lock session lost: %s", why);
    snprintf(c->last_error, sizeof(c->last_error), "%s", why);
    drop_all(c);
    PQfinish(c->conn);
    c->conn = NULL;
}

static void took(struct col_cluster *c, int slot, int64_t now)
{
    c->held[idx(c, slot)] = true;
    col_owners_acquire(c->o.owners, slot, now);
    if (slot != COL_OWNERS_LEADER)
        c->nheld++;
}

/* "{1,2,-1}": the slots held, for the table. */
static void held_text(const struct col_cluster *c, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{");
    for (int s = 0; s <= c->o.shards && n < size; s++)
        if (c->held[s])
            n += (size_t)snprintf(buf + n, size - n, "%s%d", n > 1 ? "," : "",
                                  s == c->o.shards ? -1 : s);
    if (n < size)
        snprintf(buf + n, size - n, "}");
}

/* ---- a round ---------------------------------------------------------------------------- */

static int connect_session(struct col_cluster *c)
{
    if (col_cluster_db_connect(c->conninfo, c->o.lease_ms, &c->conn, c->why, sizeof(c->why)) < 0 ||
        col_cluster_db_register(c->conn, c->id, c->host, c->started_wall, c->o.shards,
                                c->o.lease_ms, c->why, sizeof(c->why)) < 0) {
        if (strcmp(c->last_error, c->why) != 0)
            BP_WARN(MOD, "cannot join the cluster: %s", c->why);
        snprintf(c->last_error, sizeof(c->last_error), "%s", c->why);
        PQfinish(c->conn);
        c->conn = NULL;
        return -EIO;
    }
    BP_INFO(MOD, "joined the cluster as %s (%d shards, lease %" PRId64 " ms)", c->id, c->o.shards,
            c->o.lease_ms);
    c->last_error[0] = '\0';
    return 0;
}

/* Counts the live collectors; *yield: one started before us splits the fleet otherwise. */
static int live_members(struct col_cluster *c, bool *yield)
{
    int live = 0;
    *yield = false;
    const struct col_cluster_row *self = NULL;
    for (int i = 0; i < c->nrows; i++)
        if (c->rows[i].self)
            self = &c->rows[i];
    for (int i = 0; i < c->nrows; i++) {
        const struct col_cluster_row *r = &c->rows[i];
        if (!r->m.live && !r->self)
            continue;
        live++;
        if (!r->self && r->shard_count != c->o.shards && self && r->m.started <= self->m.started)
            *yield = true;
    }
    return live > 0 ? live : 1;
}

/* Shards no live collector but us lists, in our order of preference (from a place of our own
 * on the ring, so collectors taking at once seldom ask for the same ones). */
static int free_shards(const struct col_cluster *c, int *out)
{
    bool *taken = calloc((size_t)c->o.shards, sizeof(*taken));
    if (!taken)
        return 0;
    for (int i = 0; i < c->nrows; i++)
        for (int k = 0; c->rows[i].m.live && !c->rows[i].self && k < c->rows[i].nslots; k++)
            if (c->rows[i].slots[k] >= 0 && c->rows[i].slots[k] < c->o.shards)
                taken[c->rows[i].slots[k]] = true;
    int n = 0, start = (int)(col_shard_hash(c->id) % (uint32_t)c->o.shards);
    for (int i = 0; i < c->o.shards; i++) {
        int s = (start + i) % c->o.shards;
        if (!taken[s] && !c->held[s])
            out[n++] = s;
    }
    free(taken);
    return n;
}

static int take(struct col_cluster *c, int want, int64_t now)
{
    int cand[COL_SHARDS_MAX], got[COL_SHARDS_MAX], ngot = 0;
    int n = free_shards(c, cand);
    if (n > want)
        n = want;
    if (n == 0)
        return 0;
    if (col_cluster_db_try_lock(c->conn, cand, n, got, &ngot, c->o.lease_ms, c->why,
                                sizeof(c->why)) < 0)
        return -EIO;
    for (int i = 0; i < ngot; i++)
        took(c, got[i], now);
    if (ngot > 0)
        BP_INFO(MOD, "took %d shard(s); %d held", ngot, c->nheld);
    return 0;
}

/* Gives back up to n shards, the last in our order of preference first. */
static int give_back(struct col_cluster *c, int n)
{
    int out[COL_SHARDS_MAX], k = 0, start = (int)(col_shard_hash(c->id) % (uint32_t)c->o.shards);
    for (int i = c->o.shards - 1; i >= 0 && k < n; i--) {
        int s = (start + i) % c->o.shards;
        if (c->held[s])
            out[k++] = s;
    }
    for (int i = 0; i < k; i++) { /* first: nothing here acts for them any more */
        col_owners_release(c->o.owners, out[i]);
        c->held[out[i]] = false;
        c->nheld--;
    }
    if (k > 0 && col_cluster_db_unlock(c->conn, out, k, c->o.lease_ms, c->why, sizeof(c->why)) < 0)
        return -EIO;
    if (k > 0)
        BP_INFO(MOD, "gave back %d shard(s) to rebalance; %d held", k, c->nheld);
    return 0;
}

/* Takes free shards up to the fair share, gives back a few above it, and leads when nobody
 * does. -EIO when the session failed. */
static int balance(struct col_cluster *c, int64_t now)
{
    bool yield;
    int live = live_members(c, &yield);
    if (yield) {
        if (!c->mismatch_logged)
            BP_ERROR(MOD, "another collector splits the fleet into a different number of shards: "
                          "this one takes none until [cluster] shards agree");
        c->mismatch_logged = true;
        if (c->held[c->o.shards]) {
            col_owners_release(c->o.owners, COL_OWNERS_LEADER);
            c->held[c->o.shards] = false;
            int leader = COL_OWNERS_LEADER;
            if (col_cluster_db_unlock(c->conn, &leader, 1, c->o.lease_ms, c->why, sizeof(c->why)) <
                0)
                return -EIO;
        }
        return c->nheld > 0 ? give_back(c, c->nheld) : 0;
    }
    c->mismatch_logged = false;
    int share = (c->o.shards + live - 1) / live;
    int rc = 0;
    if (c->nheld < share)
        rc = take(c, share - c->nheld, now);
    else if (c->nheld > share)
        rc = give_back(c, c->nheld - share < c->o.rebalance_max ? c->nheld - share
                                                                : c->o.rebalance_max);
    if (rc == 0 && !c->held[c->o.shards]) {
        int leader = COL_OWNERS_LEADER, got = 0, ngot = 0;
        rc = col_cluster_db_try_lock(c->conn, &leader, 1, &got, &ngot, c->o.lease_ms, c->why,
                                     sizeof(c->why));
        if (rc == 0 && ngot == 1) {
            took(c, COL_OWNERS_LEADER, now);
            BP_INFO(MOD, "leading the cluster (fleet summary, incidents)");
        }
    }
    return rc;
}

/* Hands the slots held for a lease and not yet handed to the rules thread, with what
 * PostgreSQL says of their bots (read now: whoever held them before has fenced itself). */
static int hand_over(struct col_cluster *c, int64_t now)
{
    struct col_takeover *t = calloc(1, sizeof(*t));
    bool *taken = calloc((size_t)c->o.shards + 1, sizeof(*taken));
    int rc = t && taken ? 0 : -ENOMEM;
    if (rc == 0) {
        t->slots = calloc((size_t)c->o.shards + 1, sizeof(*t->slots));
        t->epochs = calloc((size_t)c->o.shards + 1, sizeof(*t->epochs));
        rc = t->slots && t->epochs ? 0 : -ENOMEM;
    }
    for (int s = 0; rc == 0 && s <= c->o.shards; s++) {
        int slot = s == c->o.shards ? COL_OWNERS_LEADER : s;
        int64_t since = col_owners_since(c->o.owners, slot);
        uint32_t epoch = col_owners_epoch(c->o.owners, slot);
        if (!c->held[s] || since == 0 || now - since < c->o.lease_ms || c->handed[s] == epoch)
            continue;
        t->slots[t->nslots] = slot;
        t->epochs[t->nslots++] = epoch;
        taken[s] = true;
    }
    snprintf(c->why, sizeof(c->why), "out of memory");
    bool shards = t && t->nslots > 0 && !(t->nslots == 1 && t->slots[0] == COL_OWNERS_LEADER);
    if (rc == 0 && shards) /* the leader's slot alone needs nothing from the tables */
        rc = col_cluster_db_read_takeover(c->conn, taken, c->o.shards, t, 10000, c->why,
                                          sizeof(c->why));
    if (rc == 0 && t->nslots > 0) {
        t->owners = c->o.owners;
        int n = t->nslots;
        uint32_t epochs[COL_SHARDS_MAX + 1];
        int slots[COL_SHARDS_MAX + 1];
        memcpy(epochs, t->epochs, (size_t)n * sizeof(*epochs));
        memcpy(slots, t->slots, (size_t)n * sizeof(*slots));
        if (c->o.on_takeover(c->o.ctx, t) == 0) {
            for (int i = 0; i < n; i++)
                c->handed[idx(c, slots[i])] = epochs[i];
            c->takeovers += (uint64_t)n;
            BP_INFO(MOD, "%d slot(s) handed to the rules thread", n);
            t = NULL; /* the rules thread's now */
        }
    } else if (rc < 0) {
        BP_WARN(MOD, "cannot read what a takeover needs: %s", c->why);
    }
    col_takeover_free(t);
    free(taken);
    return rc == -EIO ? -EIO : 0;
}

static void publish_view(struct col_cluster *c, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    struct col_cluster_view *v = &c->view;
    v->connected = c->conn != NULL;
    int64_t confirmed = col_owners_confirmed_at(c->o.owners);
    v->confirmed_ago = confirmed == INT64_MIN ? -1 : now - confirmed;
    v->lease_ok = confirmed != INT64_MIN && now - confirmed < c->o.lease_ms;
    v->held = c->nheld;
    v->leader = c->held[c->o.shards];
    v->takeovers = c->takeovers;
    v->nmembers = c->conn ? c->nrows : 0;
    v->last_rebalance = 0;
    for (int i = 0; i < COL_SHARDS_MAX; i++)
        v->owner[i] = -1;
    for (int i = 0; i < v->nmembers; i++) {
        const struct col_cluster_row *r = &c->rows[i];
        v->members[i] = r->m;
        if (r->self) { /* our own, as it is now rather than as the table had it */
            v->members[i].nshards = c->nheld;
            v->members[i].leader = v->leader;
        }
        if (r->m.live && r->m.changed_at > v->last_rebalance)
            v->last_rebalance = r->m.changed_at;
        for (int k = 0; r->m.live && !r->self && k < r->nslots; k++)
            if (r->slots[k] >= 0 && r->slots[k] < c->o.shards)
                v->owner[r->slots[k]] = (int16_t)i;
        for (int s = 0; r->self && s < c->o.shards; s++)
            if (c->held[s])
                v->owner[s] = (int16_t)i;
    }
    pthread_mutex_unlock(&c->mu);
}

/* Ends the lock sessions of collectors silent past evict_after, so that their shards need not
 * wait for the server's keepalives. A refusal (no right to end another role's sessions) is
 * logged once; the session goes on. */
static void evict(struct col_cluster *c)
{
    int n = col_cluster_db_evict(c->conn, c->o.evict_ms, c->o.lease_ms, c->why, sizeof(c->why));
    if (n > 0)
        BP_WARN(MOD, "ended the lock session(s) of %d collector(s) silent for %" PRId64 " ms", n,
                c->o.evict_ms);
    if (n < 0 && !c->evict_refused)
        BP_WARN(MOD, "cannot end the lock sessions of silent collectors: %s", c->why);
    c->evict_refused = n < 0;
}

static void round_once(struct col_cluster *c)
{
    if (!c->conn && connect_session(c) < 0)
        return;
    char held[8 * (COL_SHARDS_MAX + 2)];
    held_text(c, held, sizeof(held));
    int64_t t0 = bp_mono_ms();
    int rc = col_cluster_db_confirm(c->conn, c->id, held, c->o.lease_ms, c->why, sizeof(c->why));
    if (rc < 0) {
        if (rc == -ESTALE)
            BP_ERROR(MOD, "%s: is another collector running with id %s?", c->why, c->id);
        lose_session(c, c->why);
        return;
    }
    col_owners_confirm(c->o.owners, t0);
    int64_t live_ms = c->o.evict_ms > 0 ? c->o.evict_ms : 3 * c->o.lease_ms;
    c->nrows = col_cluster_db_members(c->conn, live_ms, c->rows, COL_CLUSTER_MEMBERS_MAX,
                                      c->o.lease_ms, c->why, sizeof(c->why));
    if (c->nrows >= 0 && c->o.evict_ms > 0)
        evict(c);
    int64_t now = bp_mono_ms();
    if (c->nrows < 0 || PQstatus(c->conn) != CONNECTION_OK ||
        (now - c->started_mono >= c->o.warmup_ms && balance(c, now) < 0) || hand_over(c, now) < 0) {
        lose_session(c, c->why);
        c->nrows = 0;
    }
}

/* The next moment with work: the next round, or a slot's lease run out (its handover). */
static int64_t next_wake(struct col_cluster *c, int64_t round_start)
{
    int64_t next = round_start + c->o.round_ms;
    for (int s = 0; s <= c->o.shards; s++) {
        int slot = s == c->o.shards ? COL_OWNERS_LEADER : s;
        int64_t since = col_owners_since(c->o.owners, slot);
        if (c->held[s] && since && c->handed[s] != col_owners_epoch(c->o.owners, slot) &&
            since + c->o.lease_ms < next)
            next = since + c->o.lease_ms;
    }
    return next;
}

static void *cluster_thread(void *arg)
{
    struct col_cluster *c = arg;
    for (;;) {
        int64_t start = bp_mono_ms();
        round_once(c);
        publish_view(c, bp_mono_ms());
        struct timespec ts;
        bp_mono_timespec(next_wake(c, start), &ts);
        pthread_mutex_lock(&c->mu);
        if (!c->stop)
            pthread_cond_timedwait(&c->cond, &c->mu, &ts);
        bool stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
    }
    drop_all(c); /* nothing acts for our shards from here on; then they are given back */
    if (c->conn) {
        col_cluster_db_leave(c->conn, c->id, c->o.lease_ms);
        PQfinish(c->conn); /* the session ends: its locks are free for the others */
        c->conn = NULL;
        BP_INFO(MOD, "left the cluster");
    }
    return NULL;
}

int col_cluster_start(struct col_cluster *c)
{
    c->started_mono = bp_mono_ms();
    c->started_wall = bp_wall_ms();
    int rc = -pthread_create(&c->thread, NULL, cluster_thread, c);
    c->running = rc == 0;
    return rc;
}

void col_cluster_stop(struct col_cluster *c)
{
    if (!c || !c->running)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    c->running = false;
}

void col_cluster_view_get(struct col_cluster *c, struct col_cluster_view *v)
{
    pthread_mutex_lock(&c->mu);
    *v = c->view;
    pthread_mutex_unlock(&c->mu);
    v->fenced = col_owners_fenced(c->o.owners);
    int64_t confirmed = col_owners_confirmed_at(c->o.owners), now = bp_mono_ms();
    v->confirmed_ago = confirmed == INT64_MIN ? -1 : now - confirmed;
    v->lease_ok = confirmed != INT64_MIN && now - confirmed < c->o.lease_ms;
}

const char *col_cluster_view_owner(const struct col_cluster_view *v, int shard)
{
    if (shard < 0 || shard >= v->shards || v->owner[shard] < 0 || v->owner[shard] >= v->nmembers)
        return "";
    return v->members[v->owner[shard]].id;
}
