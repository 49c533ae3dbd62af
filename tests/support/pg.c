/* SPDX-License-Identifier: MIT */
/* The fixture's PostgreSQL: a throwaway cluster (initdb + pg_ctl) in the env dir listening only
 * on a Unix socket there, run as "nobody" when we are root, and SQL helpers over libpq. */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_READY_MS 30000
#define PG_USER "postgres"
#define PG_DB "botpulse"
#define PG_UNPRIVILEGED "nobody"

/* Path of a PostgreSQL tool: $BPT_PG_BINDIR, else the newest /usr/lib/postgresql/<v>/bin,
 * else the bare name (found on PATH). */
static void pg_tool(const char *tool, char *out, size_t size)
{
    const char *dir = getenv("BPT_PG_BINDIR");
    glob_t g;
    long best = -1;

    snprintf(out, size, "%s", tool);
    if (dir && *dir) {
        snprintf(out, size, "%s/%s", dir, tool);
        return;
    }
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
        if (v > best) {
            best = v;
            snprintf(out, size, "/usr/lib/postgresql/%ld/bin/%s", v, tool);
        }
    }
    globfree(&g);
}

static void log_path(struct bpt_env *env, char *out, size_t size)
{
    snprintf(out, size, "%s/postgresql.log", env->dir);
}

/* Runs argv to completion, as "nobody" when we are root, in the env dir, with its output
 * appended to dir/postgresql.log. Returns the exit status (0..255) or -errno. */
static int pg_run(struct bpt_env *env, const char *const *argv)
{
    const char *full[24];
    char log[700];
    int n = 0;

    if (geteuid() == 0) {
        full[n++] = "runuser";
        full[n++] = "-u";
        full[n++] = PG_UNPRIVILEGED;
        full[n++] = "--";
    }
    for (int i = 0; argv[i] && n < 23; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    log_path(env, log, sizeof(log));
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
            chdir(env->dir) != 0)
            _exit(126);
        execvp(full[0], (char *const *)full);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

/* Appends a conninfo value, single-quoted with ' and \ escaped. */
static void quote_value(char *out, size_t size, const char *v)
{
    size_t n = 0;
    if (size < 3)
        return;
    out[n++] = '\'';
    for (; *v && n + 3 < size; v++) {
        if (*v == '\'' || *v == '\\')
            out[n++] = '\\';
        out[n++] = *v;
    }
    out[n++] = '\'';
    out[n] = '\0';
}

static void make_conninfo(struct bpt_env *env, const char *db, char *out, size_t size)
{
    char host[700];
    quote_value(host, sizeof(host), env->pg_sockdir);
    snprintf(out, size, "host=%s port=%d user=" PG_USER " dbname=%s connect_timeout=5", host,
             env->pg_port, db);
}

/* Makes path owned by "nobody" when we are root (so the server can write it). */
static int give_to_server(struct bpt_env *env, const char *path)
{
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(PG_UNPRIVILEGED);
    if (!pw) {
        bpt_note(env, "no user %s to run PostgreSQL as", PG_UNPRIVILEGED);
        return -ENOENT;
    }
    if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
        int rc = -errno;
        bpt_note(env, "chown %s: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

static int prepare_dirs(struct bpt_env *env)
{
    char log[700];
    int fd;

    snprintf(env->pg_data, sizeof(env->pg_data), "%s/pg", env->dir);
    snprintf(env->pg_sockdir, sizeof(env->pg_sockdir), "%s/pgsock", env->dir);
    log_path(env, log, sizeof(log));
    if (mkdir(env->pg_data, 0700) != 0 || mkdir(env->pg_sockdir, 0700) != 0) {
        int err = errno;
        bpt_note(env, "mkdir for PostgreSQL in %s: %s", env->dir, strerror(err));
        return -err;
    }
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        bpt_note(env, "creating %s: %s", log, strerror(err));
        return -err;
    }
    close(fd);
    int rc = give_to_server(env, env->pg_data);
    if (rc == 0)
        rc = give_to_server(env, env->pg_sockdir);
    if (rc == 0)
        rc = give_to_server(env, log);
    return rc;
}

/* Settings for a fast, private, throwaway server; no shell quoting needed for pg_ctl. */
static int write_config(struct bpt_env *env)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/postgresql.conf", env->pg_data);
    FILE *f = fopen(path, "a");
    if (!f) {
        int err = errno;
        bpt_note(env, "opening %s: %s", path, strerror(err));
        return -err;
    }
    fprintf(f,
            "\n# botpulse test fixture\n"
            "listen_addresses = '%s'\n"
            "unix_socket_directories = '%s'\n"
            "port = %d\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 40\n",
            env->private_net ? "*" : "", env->pg_sockdir, env->pg_port);
    if (fclose(f) != 0)
        return -EIO;
    if (!env->private_net)
        return 0;
    /* in the test's own network namespace: its daemons' namespaces reach it over TCP */
    snprintf(path, sizeof(path), "%s/pg_hba.conf", env->pg_data);
    if (!(f = fopen(path, "a")))
        return -errno;
    fprintf(f, "host all all 0.0.0.0/0 trust\n");
    return fclose(f) == 0 ? 0 : -EIO;
}

/* pg_ctl start, then waits until the server accepts connections. */
static int start_server(struct bpt_env *env)
{
    char pg_ctl[600], log[700], conninfo[1024];
    pg_tool("pg_ctl", pg_ctl, sizeof(pg_ctl));
    log_path(env, log, sizeof(log));
    const char *argv[] = {pg_ctl, "-D", env->pg_data, "-l", log, "-w", "-t", "30", "start", NULL};
    int rc = pg_run(env, argv);
    if (rc != 0) {
        bpt_note(env, "pg_ctl start failed (%d); see postgresql.log", rc);
        return rc < 0 ? rc : -EIO;
    }
    env->pg_running = true;
    make_conninfo(env, "postgres", conninfo, sizeof(conninfo));
    int64_t deadline = bp_mono_ms() + PG_READY_MS;
    while (PQping(conninfo) != PQPING_OK) {
        if (bp_mono_ms() >= deadline) {
            bpt_note(env, "PostgreSQL not ready after %d ms", PG_READY_MS);
            return -ETIMEDOUT;
        }
        bp_sleep_ms(100);
    }
    return 0;
}

static int create_database(struct bpt_env *env)
{
    char conninfo[1024];
    make_conninfo(env, "postgres", conninfo, sizeof(conninfo));
    PGconn *c = PQconnectdb(conninfo);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        bpt_note(env, "connecting to PostgreSQL: %s", PQerrorMessage(c));
        rc = -ECONNREFUSED;
    } else {
        PGresult *r = PQexec(c, "CREATE DATABASE " PG_DB);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            bpt_note(env, "CREATE DATABASE: %s", PQresultErrorMessage(r));
            rc = -EIO;
        }
        PQclear(r);
    }
    PQfinish(c);
    return rc;
}

int bpt_pg_start(struct bpt_env *env)
{
    char initdb[600];
    if (env->pg_running)
        return -EALREADY;
    env->pg_port = bpt_free_port(); /* only names the socket file; any number would do */
    if (env->pg_port <= 0)
        env->pg_port = 5432;
    int rc = prepare_dirs(env);
    if (rc)
        return rc;
    pg_tool("initdb", initdb, sizeof(initdb));
    const char *argv[] = {initdb,  "-D", env->pg_data, "-U",          PG_USER,     "-A",
                          "trust", "-E", "UTF8",       "--no-locale", "--no-sync", NULL};
    rc = pg_run(env, argv);
    if (rc != 0) {
        bpt_note(env, "initdb failed (%d); see postgresql.log", rc);
        return rc < 0 ? rc : -EIO;
    }
    if ((rc = write_config(env)) || (rc = start_server(env)) || (rc = create_database(env)))
        return rc;
    make_conninfo(env, PG_DB, env->pg_conninfo, sizeof(env->pg_conninfo));
    return 0;
}

int bpt_pg_stop(struct bpt_env *env)
{
    char pg_ctl[600];
    if (!env->pg_running)
        return 0;
    pg_tool("pg_ctl", pg_ctl, sizeof(pg_ctl));
    const char *argv[] = {pg_ctl, "-D", env->pg_data, "-m", "fast", "-w", "-t", "30", "stop", NULL};
    int rc = pg_run(env, argv);
    if (rc != 0) {
        bpt_note(env, "pg_ctl stop failed (%d); see postgresql.log", rc);
        return rc < 0 ? rc : -EIO;
    }
    env->pg_running = false;
    return 0;
}

int bpt_pg_restart(struct bpt_env *env)
{
    if (env->pg_running)
        return -EALREADY;
    if (!env->pg_data[0])
        return -EINVAL; /* never started */
    return start_server(env);
}

int bpt_pg_port(struct bpt_env *env)
{
    return env->pg_port;
}

void bpt_pg_conninfo_tcp(struct bpt_env *env, const char *addr, char *out, size_t size)
{
    snprintf(out, size, "host=%s port=%d user=" PG_USER " dbname=" PG_DB " connect_timeout=5", addr,
             env->pg_port);
}

const char *bpt_pg_conninfo(struct bpt_env *env)
{
    return env->pg_conninfo;
}

/* Runs sql on a fresh connection; the first value of the first row, malloc'd, in *out
 * (NULL when there is no row or it is NULL). 0 or -1 on error (printed). */
static int query_first(struct bpt_env *env, const char *sql, int nparams, const char *const *params,
                       char **out)
{
    *out = NULL;
    PGconn *c = PQconnectdb(env->pg_conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        bpt_note(env, "connecting to PostgreSQL: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        bpt_note(env, "query \"%s\": %s", sql, PQresultErrorMessage(r));
        rc = -1;
    } else if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0)) {
        *out = strdup(PQgetvalue(r, 0, 0));
        rc = *out ? 0 : -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int bpt_pg_exec(struct bpt_env *env, const char *sql)
{
    PGconn *c = PQconnectdb(env->pg_conninfo);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc < 0)
        bpt_note(env, "\"%s\": %s", sql, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

int64_t bpt_pg_int(struct bpt_env *env, const char *sql, int nparams, const char *const *params)
{
    char *v = NULL, *end = NULL;
    if (query_first(env, sql, nparams, params, &v) != 0 || !v)
        return -1;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        bpt_note(env, "query \"%s\": \"%s\" is not an integer", sql, v);
        x = -1;
    }
    free(v);
    return x;
}

char *bpt_pg_text(struct bpt_env *env, const char *sql, int nparams, const char *const *params)
{
    char *v = NULL;
    if (query_first(env, sql, nparams, params, &v) != 0)
        return NULL;
    return v;
}

int64_t bpt_pg_wait_int(struct bpt_env *env, int64_t expected, int64_t timeout_ms, const char *sql,
                        int nparams, const char *const *params)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    for (;;) {
        int64_t v = bpt_pg_int(env, sql, nparams, params);
        if (v == expected || bp_mono_ms() >= deadline)
            return v;
        bp_sleep_ms(100);
    }
}
