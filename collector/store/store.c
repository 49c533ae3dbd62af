/* SPDX-License-Identifier: MIT */
/* The store's writer: one thread drains a bounded spool of operations into PostgreSQL in
 * batched, idempotent transactions (COPY for the append-only history, store_copy.c; multi-row
 * parameterised INSERTs for the upserts), beside the history maintenance thread. */
#include "store.h"

#include "clock.h"
#include "log.h"
#include "store_copy.h"
#include "store_db.h"
#include "store_maint.h"
#include "store_rows.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "store"
#define DROP_LOG_EVERY_MS 10000
#define STMT_ROWS_MAX 1000 /* rows per INSERT statement (10,000 parameters at most) */
#define SQL_PER_VALUE 48   /* "),(to_timestamp($10000::float8 / 1000)" fits */
#define DEFAULT_BATCH_MAX 1000
#define DEFAULT_RETRY_MS 1000

struct keyed {
    const char *key;
    int idx;
};

struct col_store {
    char *conninfo;
    size_t spool_max;
    int batch_max;
    int retry_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: work arrived or stop requested */
    /* The spool: a ring of spool_max ops in chunks of SPOOL_CHUNK, each allocated when the
     * ring reaches it and freed once drained, so a spool sized for a long outage costs memory
     * only during one (a ring allocated whole is touched page by page as it cycles, and kept). */
    struct col_store_op **chunks;
    size_t nchunks;
    size_t head, count;
    bool started, stopping;
    int64_t stop_deadline;
    int64_t last_drop_log; /* mono ms; 0 = never logged */
    struct col_store_stats st;
    pthread_t thread;
    struct col_store_maint *maint; /* NULL: no history maintenance */

    /* Writer thread only. Ops in the ring between head and head+count are never touched by
     * submitters, so the writer reads them in place while the mutex is released. */
    PGconn *conn;
    bool conn_ready; /* its staging tables made */
    struct col_store_copybufs copybufs;
    uint64_t copies;           /* COPY statements in the batch being written */
    uint64_t staged;           /* of them, gone through the staging table */
    int64_t oldest_transition; /* ts of the oldest transition in it; 0: none */
    bool outage;
    int64_t outage_since;
    const struct col_store_op **batch; /* batch_max */
    struct keyed *keyed;               /* batch_max */
    int *idx;                          /* batch_max */
    const char **vals;                 /* STMT_ROWS_MAX * COL_STORE_MAX_COLS */
    char (*nums)[COL_STORE_NUM_LEN];   /* STMT_ROWS_MAX * COL_STORE_MAX_COLS */
    char *sql;
    size_t sql_cap;
};

/* ---- batch writing (writer thread) ------------------------------------------------------- */

static void build_sql(struct col_store *s, const struct col_store_kind *k, int rows)
{
    size_t cap = s->sql_cap, n = (size_t)snprintf(s->sql, cap, "INSERT INTO %s (", k->table);
    for (int c = 0; c < k->ncols; c++)
        n += (size_t)snprintf(s->sql + n, cap - n, "%s%s", c ? ", " : "", k->cols[c]);
    n += (size_t)snprintf(s->sql + n, cap - n, ") VALUES ");
    int p = 1;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < k->ncols; c++, p++) {
            const char *sep = c == 0 ? (r == 0 ? "(" : "),(") : ",";
            const char *fmt =
                (k->ts_cols >> c) & 1u ? "%sto_timestamp($%d::float8 / 1000)" : "%s$%d";
            n += (size_t)snprintf(s->sql + n, cap - n, fmt, sep, p);
        }
    }
    snprintf(s->sql + n, cap - n, ") %s", k->conflict);
}

static int insert_rows(struct col_store *s, const struct col_store_kind *k, const int *idx,
                       int rows, struct col_store_db_err *e)
{
    build_sql(s, k, rows);
    for (int r = 0; r < rows; r++)
        k->fill(s->batch[idx[r]], s->vals + r * k->ncols, s->nums + r * k->ncols);
    return col_store_db_run(s->conn, s->sql, rows * k->ncols, s->vals, e);
}

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Fills s->idx with the positions of k's ops among batch[first..first+n), keeping only the
 * last op per key for upserts (ON CONFLICT DO UPDATE may not touch a row twice). */
static int select_kind(struct col_store *s, const struct col_store_kind *k, int first, int n)
{
    int m = 0;
    for (int i = first; i < first + n; i++) {
        if (s->batch[i]->kind != k->kind)
            continue;
        if (k->key)
            s->keyed[m++] = (struct keyed){k->key(s->batch[i]), i};
        else
            s->idx[m++] = i;
    }
    if (!k->key || m == 0)
        return m;
    qsort(s->keyed, (size_t)m, sizeof(s->keyed[0]), keyed_cmp);
    int out = 0;
    for (int i = 0; i < m; i++)
        if (i + 1 == m || strcmp(s->keyed[i].key, s->keyed[i + 1].key) != 0)
            s->idx[out++] = s->keyed[i].idx;
    return out;
}

/* Writes the m ops of kind k at s->idx: one COPY, or INSERTs of at most STMT_ROWS_MAX rows. */
static int write_kind(struct col_store *s, const struct col_store_kind *k, int m,
                      struct col_store_db_err *e)
{
    if (m > 0 && k->copy) {
        s->copies++;
        if (k->kind == COL_OP_TRANSITION)
            for (int i = 0; i < m; i++)
                if (s->oldest_transition == 0 || s->batch[s->idx[i]]->ts < s->oldest_transition)
                    s->oldest_transition = s->batch[s->idx[i]]->ts;
        bool staged = false;
        int rc = col_store_copy_rows(s->conn, k, s->batch, s->idx, m, &s->copybufs, &staged, e);
        s->staged += staged;
        return rc ? -EIO : 0;
    }
    for (int off = 0; off < m; off += STMT_ROWS_MAX) {
        int rows = m - off < STMT_ROWS_MAX ? m - off : STMT_ROWS_MAX;
        if (insert_rows(s, k, s->idx + off, rows, e))
            return -EIO;
    }
    return 0;
}

/* Writes batch[first..first+n) in one transaction. 0 or -EIO with e filled. */
static int write_ops(struct col_store *s, int first, int n, struct col_store_db_err *e)
{
    s->copies = s->staged = 0;
    s->oldest_transition = 0;
    if (col_store_db_run(s->conn, "BEGIN", 0, NULL, e))
        return -EIO;
    for (size_t k = 0; k < col_store_nkinds; k++) {
        int m = select_kind(s, &col_store_kinds[k], first, n);
        if (write_kind(s, &col_store_kinds[k], m, e)) {
            col_store_db_run(s->conn, "ROLLBACK", 0, NULL, NULL);
            return -EIO;
        }
    }
    PGresult *r = PQexec(s->conn, "COMMIT");
    int rc =
        PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0 ? 0 : -EIO;
    if (rc)
        col_store_db_err_set(e, s->conn, r);
    PQclear(r);
    return rc;
}

/* The server refused the data itself (data exception, integrity violation): retrying the
 * same batch would fail forever. */
static bool is_data_error(const struct col_store_db_err *e)
{
    return e->state[0] == '2' && (e->state[1] == '2' || e->state[1] == '3');
}

/* Writes the batch op by op, discarding the ops the server refuses as data errors.
 * 0 (with *rejected counted) or -EIO on any other failure. */
static int write_singly(struct col_store *s, int n, uint64_t *rejected, struct col_store_db_err *e)
{
    *rejected = 0;
    uint64_t copies = 0, staged = 0;
    int64_t oldest = 0;
    for (int i = 0; i < n; i++) {
        int rc = write_ops(s, i, 1, e);
        copies += s->copies;
        staged += s->staged;
        if (s->oldest_transition && (!oldest || s->oldest_transition < oldest))
            oldest = s->oldest_transition;
        s->copies = copies;
        s->staged = staged;
        s->oldest_transition = oldest;
        if (rc == 0)
            continue;
        if (PQstatus(s->conn) != CONNECTION_OK || !is_data_error(e))
            return -EIO;
        BP_ERROR(MOD, "discarding an operation (kind %d) the database refuses: %s",
                 (int)s->batch[i]->kind, e->msg);
        (*rejected)++;
    }
    return 0;
}

/* Connects if needed and writes the first n spooled ops. On failure drops the connection
 * (reconnected on the next attempt). */
static int flush(struct col_store *s, int n, uint64_t *rejected, struct col_store_db_err *e)
{
    *rejected = 0;
    if (!s->conn && col_store_db_connect(s->conninfo, &s->conn, e))
        return -ECONNREFUSED;
    int rc = s->conn_ready ? 0 : col_store_copy_prepare(s->conn, &s->copybufs.sql, e);
    s->conn_ready = rc == 0;
    if (rc == 0)
        rc = write_ops(s, 0, n, e);
    if (rc && PQstatus(s->conn) == CONNECTION_OK && is_data_error(e))
        rc = write_singly(s, n, rejected, e);
    if (rc) {
        PQfinish(s->conn);
        s->conn = NULL;
        s->conn_ready = false;
    }
    return rc;
}

/* ---- the spool's chunks ------------------------------------------------------------------- */

#define SPOOL_CHUNK 1024

static struct col_store_op *slot_at(struct col_store *s, size_t i)
{
    i %= s->spool_max;
    return &s->chunks[i / SPOOL_CHUNK][i % SPOOL_CHUNK];
}

/* Called with the mutex held, after head moved on from old_head: frees the chunks it left,
 * except the one submitters write into next. */
static void free_drained(struct col_store *s, size_t old_head)
{
    size_t c = old_head / SPOOL_CHUNK, stop = s->head / SPOOL_CHUNK;
    size_t tail = ((s->head + s->count) % s->spool_max) / SPOOL_CHUNK;
    for (; c != stop; c = (c + 1) % s->nchunks)
        if (c != tail) {
            free(s->chunks[c]);
            s->chunks[c] = NULL;
        }
}

/* ---- writer thread ----------------------------------------------------------------------- */

/* Called with the mutex held: points batch[] at up to batch_max spooled ops. */
static int peek_batch(struct col_store *s)
{
    int n = s->count < (size_t)s->batch_max ? (int)s->count : s->batch_max;
    for (int i = 0; i < n; i++)
        s->batch[i] = slot_at(s, s->head + (size_t)i);
    return n;
}

/* Called with the mutex held, after a write attempt; logs outside the critical section would
 * be nicer, but these lines are rare (once per outage). */
static void account(struct col_store *s, int rc, int n, uint64_t rejected,
                    const struct col_store_db_err *e)
{
    if (rc == 0) {
        if (s->outage)
            BP_INFO(MOD, "database is back after %" PRId64 " ms; %zu operations were waiting",
                    bp_mono_ms() - s->outage_since, s->count);
        s->outage = false;
        size_t old_head = s->head;
        s->head = (s->head + (size_t)n) % s->spool_max;
        s->count -= (size_t)n;
        free_drained(s, old_head);
        s->st.written += (uint64_t)n - rejected;
        s->st.dropped += rejected;
        s->st.batches++;
        s->st.copy_batches += s->copies;
        s->st.copy_staged += s->staged;
        s->st.db_up = true;
        s->st.last_commit_wall = bp_wall_ms();
        if (s->maint && s->oldest_transition)
            col_store_maint_dirty(s->maint, s->oldest_transition);
        return;
    }
    s->st.failures++;
    s->st.db_up = false;
    if (!s->outage)
        BP_ERROR(MOD, "database write failed, keeping %zu operations and retrying every %d ms: %s",
                 s->count, s->retry_ms, e->msg);
    if (!s->outage)
        s->outage_since = bp_mono_ms();
    s->outage = true;
}

/* Waits (mutex held) until there is work to try now, or it is time to stop. */
static bool wait_for_work(struct col_store *s, int64_t next_try)
{
    for (;;) {
        int64_t now = bp_mono_ms();
        if (s->stopping && (s->count == 0 || now >= s->stop_deadline))
            return false;
        if (s->count > 0 && now >= next_try)
            return true;
        if (s->count == 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        int64_t until = next_try;
        if (s->stopping && s->stop_deadline < until)
            until = s->stop_deadline;
        struct timespec ts;
        bp_mono_timespec(until, &ts);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
}

static void *writer_main(void *arg)
{
    struct col_store *s = arg;
    int64_t next_try = 0;
    pthread_mutex_lock(&s->mu);
    while (wait_for_work(s, next_try)) {
        int n = peek_batch(s);
        pthread_mutex_unlock(&s->mu);
        struct col_store_db_err e = {.state = ""};
        uint64_t rejected = 0;
        int rc = flush(s, n, &rejected, &e);
        pthread_mutex_lock(&s->mu);
        account(s, rc, n, rejected, &e);
        next_try = rc ? bp_mono_ms() + s->retry_ms : 0;
    }
    size_t left = s->count;
    pthread_mutex_unlock(&s->mu);
    if (left > 0)
        BP_ERROR(MOD, "stopping with %zu operations not written", left);
    PQfinish(s->conn);
    s->conn = NULL;
    s->conn_ready = false;
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

/* Frees the store's memory: its buffers and itself (not the thread, lock or connection). */
static void free_memory(struct col_store *s)
{
    col_store_maint_free(s->maint);
    col_store_copybufs_free(&s->copybufs);
    free(s->conninfo);
    for (size_t c = 0; s->chunks && c < s->nchunks; c++)
        free(s->chunks[c]);
    free(s->chunks);
    free(s->batch);
    free(s->keyed);
    free(s->idx);
    free(s->vals);
    free(s->nums);
    free(s->sql);
    free(s);
}

int col_store_new(const struct col_store_opts *opts, struct col_store **out)
{
    if (!opts || !opts->conninfo || opts->spool_max == 0 || !out)
        return -EINVAL;
    struct col_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->spool_max = opts->spool_max;
    s->batch_max = opts->batch_max > 0 ? opts->batch_max : DEFAULT_BATCH_MAX;
    s->retry_ms = opts->retry_ms > 0 ? opts->retry_ms : DEFAULT_RETRY_MS;
    if ((size_t)s->batch_max > s->spool_max)
        s->batch_max = (int)s->spool_max;
    size_t nvals = (size_t)STMT_ROWS_MAX * COL_STORE_MAX_COLS;
    s->sql_cap = 1024 + nvals * SQL_PER_VALUE;
    s->conninfo = strdup(opts->conninfo);
    s->nchunks = (s->spool_max + SPOOL_CHUNK - 1) / SPOOL_CHUNK;
    s->chunks = calloc(s->nchunks, sizeof(s->chunks[0]));
    s->batch = calloc((size_t)s->batch_max, sizeof(s->batch[0]));
    s->keyed = calloc((size_t)s->batch_max, sizeof(s->keyed[0]));
    s->idx = calloc((size_t)s->batch_max, sizeof(s->idx[0]));
    s->vals = calloc(nvals, sizeof(s->vals[0]));
    s->nums = calloc(nvals, sizeof(s->nums[0]));
    s->sql = malloc(s->sql_cap);
    pthread_condattr_t ca;
    int rc = -ENOMEM;
    if (!s->conninfo || !s->chunks || !s->batch || !s->keyed || !s->idx || !s->vals || !s->nums ||
        !s->sql)
        goto fail;
    if (opts->maint_interval_ms > 0 &&
        (rc = col_store_maint_new(opts->conninfo, &opts->hist, opts->maint_interval_ms,
                                  &s->maint)) != 0)
        goto fail;
    if ((rc = -pthread_mutex_init(&s->mu, NULL)) != 0)
        goto fail;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = -pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    free_memory(s);
    return rc;
}

int col_store_start(struct col_store *s)
{
    pthread_mutex_lock(&s->mu);
    int rc = s->started || s->stopping ? -EALREADY : 0;
    if (rc == 0) {
        rc = -pthread_create(&s->thread, NULL, writer_main, s);
        s->started = rc == 0;
    }
    pthread_mutex_unlock(&s->mu);
    int mrc = rc == 0 && s->maint ? col_store_maint_start(s->maint) : 0;
    if (mrc) /* writes go on; partitions are then left to another collector */
        BP_ERROR(MOD, "cannot start the history maintenance: %s", strerror(-mrc));
    return rc;
}

int col_store_submit(struct col_store *s, const struct col_store_op *op)
{
    if ((unsigned)op->kind > COL_OP_LAST)
        return -EINVAL;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -ESHUTDOWN;
    }
    s->st.submitted++;
    if (s->count == s->spool_max) {
        uint64_t dropped = ++s->st.dropped;
        int64_t now = bp_mono_ms();
        bool log = s->last_drop_log == 0 || now - s->last_drop_log >= DROP_LOG_EVERY_MS;
        if (log)
            s->last_drop_log = now;
        pthread_mutex_unlock(&s->mu);
        if (log)
            BP_ERROR(MOD, "spool full (%zu operations): dropped %" PRIu64 " so far", s->spool_max,
                     dropped);
        return -ENOBUFS;
    }
    size_t at = (s->head + s->count) % s->spool_max;
    struct col_store_op **chunk = &s->chunks[at / SPOOL_CHUNK];
    if (!*chunk && !(*chunk = malloc(SPOOL_CHUNK * sizeof(**chunk)))) {
        uint64_t dropped = ++s->st.dropped;
        pthread_mutex_unlock(&s->mu);
        BP_ERROR(MOD, "out of memory spooling an operation: dropped %" PRIu64 " so far", dropped);
        return -ENOMEM;
    }
    struct col_store_op *slot = slot_at(s, at);
    *slot = *op;
    col_store_op_terminate(slot);
    if (s->count++ == 0)
        pthread_cond_signal(&s->cv); /* the writer only sleeps untimed on an empty spool */
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void col_store_get_stats(struct col_store *s, struct col_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->spooled = s->count;
    pthread_mutex_unlock(&s->mu);
    if (s->maint)
        col_store_maint_get_stats(s->maint, &out->hist);
}

void col_store_stop(struct col_store *s, int64_t flush_timeout_ms)
{
    if (!s)
        return;
    col_store_maint_stop(s->maint);
    pthread_mutex_lock(&s->mu);
    bool join = s->started && !s->stopping;
    s->stopping = true;
    s->stop_deadline = bp_mono_ms() + (flush_timeout_ms > 0 ? flush_timeout_ms : 0);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->thread, NULL);
}

void col_store_free(struct col_store *s)
{
    if (!s)
        return;
    col_store_stop(s, 0);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free_memory(s);
}
