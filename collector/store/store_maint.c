/* SPDX-License-Identifier: MIT */
/* The history maintenance thread: a partition pass every interval on its own connection, under
 * the schema advisory lock (try, never wait: another collector holding it does the work). */
#include "store_maint.h"

#include "clock.h"
#include "log.h"
#include "store_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "store"
#define RETRY_MS 30000 /* after a failed or skipped pass (at most the interval) */

struct col_store_maint {
    char *conninfo;
    struct col_hist_opts opts;
    int64_t interval_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: stop requested */
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    int64_t dirty_ts;         /* oldest transition written since the last pass; 0: none */
    struct col_hist_stats st; /* as of the last pass */
    PGcancel *cancel;         /* of the connection, while one is open */

    PGconn *conn; /* maintenance thread only */
};

/* ---- one pass ---------------------------------------------------------------------------- */

/* Takes the lock if free: 0, -EBUSY (another session has it), or -EIO. */
static int try_lock(PGconn *c)
{
    const char *key[] = {COL_STORE_SCHEMA_LOCK_KEY};
    struct col_store_db_err e = {.state = ""};
    PGresult *r =
        PQexecParams(c, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, key, NULL, NULL, 0);
    int rc = -EIO;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 0 : -EBUSY;
    else
        col_store_db_err_set(&e, c, r);
    PQclear(r);
    if (rc == -EIO)
        BP_ERROR(MOD, "history maintenance: cannot take the schema lock: %s", e.msg);
    return rc;
}

/* A pass on c: lock, pass, unlock. */
static int locked_pass(PGconn *c, const struct col_hist_opts *o, int64_t now_wall, int64_t dirty_ts,
                       const atomic_bool *stop, struct col_hist_stats *st)
{
    int rc = try_lock(c);
    if (rc)
        return rc;
    rc = col_parts_pass(c, o, now_wall, dirty_ts, stop, st);
    const char *key[] = {COL_STORE_SCHEMA_LOCK_KEY};
    col_store_db_run(c, "SELECT pg_advisory_unlock($1::bigint)", 1, key, NULL);
    return rc;
}

int col_store_maintain(const char *conninfo, const struct col_hist_opts *o, int64_t now_wall,
                       int64_t dirty_ts, struct col_hist_stats *st)
{
    struct col_store_db_err e = {.state = ""};
    PGconn *c = NULL;
    if (col_store_db_connect(conninfo, &c, &e)) {
        BP_ERROR(MOD, "history maintenance: cannot connect: %s", e.msg);
        return -ECONNREFUSED;
    }
    int rc = locked_pass(c, o, now_wall, dirty_ts, NULL, st);
    PQfinish(c);
    return rc;
}

/* ---- the thread -------------------------------------------------------------------------- */

static void set_conn(struct col_store_maint *m, PGconn *c)
{
    PGcancel *cancel = c ? PQgetCancel(c) : NULL;
    pthread_mutex_lock(&m->mu);
    PQfreeCancel(m->cancel);
    m->cancel = cancel;
    pthread_mutex_unlock(&m->mu);
    if (!c)
        PQfinish(m->conn);
    m->conn = c;
}

/* One scheduled pass; its counters are merged into m->st. */
static int run_pass(struct col_store_maint *m, int64_t dirty_ts, struct col_hist_stats *st)
{
    struct col_store_db_err e = {.state = ""};
    if (!m->conn) {
        PGconn *c = NULL;
        if (col_store_db_connect(m->conninfo, &c, &e)) {
            BP_WARN(MOD, "history maintenance: cannot connect: %s", e.msg);
            return -ECONNREFUSED;
        }
        set_conn(m, c);
    }
    int rc = locked_pass(m->conn, &m->opts, bp_wall_ms(), dirty_ts, &m->stopping, st);
    if (rc && rc != -EBUSY)
        set_conn(m, NULL); /* a fresh session next time (and no lock left behind) */
    return rc;
}

/* Waits (mutex held) until deadline (monotonic ms) or a stop; false when stopping. */
static bool wait_until(struct col_store_maint *m, int64_t deadline)
{
    while (!atomic_load(&m->stopping) && bp_mono_ms() < deadline) {
        struct timespec ts;
        bp_mono_timespec(deadline, &ts);
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
    }
    return !atomic_load(&m->stopping);
}

static void *maint_main(void *arg)
{
    struct col_store_maint *m = arg;
    int64_t next = 0;
    pthread_mutex_lock(&m->mu);
    while (wait_until(m, next)) {
        int64_t dirty = m->dirty_ts;
        struct col_hist_stats st = m->st;
        m->dirty_ts = 0;
        pthread_mutex_unlock(&m->mu);
        int rc = run_pass(m, dirty, &st);
        pthread_mutex_lock(&m->mu);
        for (int t = 0; t < COL_HIST_NTABLES; t++)
            m->st.t[t] = st.t[t];
        if (rc == 0) {
            m->st.passes++;
            m->st.last_pass = bp_wall_ms();
        } else if (rc == -EBUSY) {
            m->st.skipped++;
            BP_DEBUG(MOD, "history maintenance: another collector holds the lock; skipped");
        } else if (rc != -ECANCELED) {
            m->st.failures++;
        }
        if (rc && dirty > 0 && (m->dirty_ts == 0 || dirty < m->dirty_ts))
            m->dirty_ts = dirty; /* not done: the next pass does it */
        int64_t wait = rc == 0 || m->interval_ms < RETRY_MS ? m->interval_ms : RETRY_MS;
        next = bp_mono_ms() + wait;
    }
    pthread_mutex_unlock(&m->mu);
    set_conn(m, NULL);
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

int col_store_maint_new(const char *conninfo, const struct col_hist_opts *o, int64_t interval_ms,
                        struct col_store_maint **out)
{
    if (!conninfo || !o || interval_ms <= 0 || !out)
        return -EINVAL;
    struct col_store_maint *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->conninfo = strdup(conninfo);
    m->opts = *o;
    m->interval_ms = interval_ms;
    atomic_init(&m->stopping, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = m->conninfo ? -pthread_cond_init(&m->cv, &ca) : -ENOMEM;
    pthread_condattr_destroy(&ca);
    if (rc == 0 && (rc = -pthread_mutex_init(&m->mu, NULL)) != 0)
        pthread_cond_destroy(&m->cv);
    if (rc) {
        free(m->conninfo);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int col_store_maint_start(struct col_store_maint *m)
{
    pthread_mutex_lock(&m->mu);
    int rc = m->started ? -EALREADY : -pthread_create(&m->thread, NULL, maint_main, m);
    m->started = m->started || rc == 0;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void col_store_maint_dirty(struct col_store_maint *m, int64_t ts)
{
    pthread_mutex_lock(&m->mu);
    if (m->dirty_ts == 0 || ts < m->dirty_ts)
        m->dirty_ts = ts;
    pthread_mutex_unlock(&m->mu);
}

void col_store_maint_get_stats(struct col_store_maint *m, struct col_hist_stats *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->st;
    pthread_mutex_unlock(&m->mu);
}

void col_store_maint_stop(struct col_store_maint *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    bool join = m->started && !atomic_load(&m->stopping);
    atomic_store(&m->stopping, true);
    if (m->cancel) { /* a statement running now ends at once */
        char err[256];
        PQcancel(m->cancel, err, sizeof(err));
    }
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (join)
        pthread_join(m->thread, NULL);
}

void col_store_maint_free(struct col_store_maint *m)
{
    if (!m)
        return;
    col_store_maint_stop(m);
    PQfreeCancel(m->cancel);
    PQfinish(m->conn);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m->conninfo);
    free(m);
}
