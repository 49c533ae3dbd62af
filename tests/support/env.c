/* SPDX-License-Identifier: MIT */
/* The fixture's environment: a temp dir per test, files in it, free ports, log dumps, failure
 * reporting and the teardown that stops every server and child and removes the dir. */
#include "fixture.h"
#include "fixture_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stddef.h>
#include <cmocka.h>

#define DUMP_TAIL_BYTES (256 * 1024)

void bpt_note(struct bpt_env *env, const char *fmt, ...)
{
    va_list ap;
    char line[1024];

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[fixture %s] %s\n", env ? env->name : "-", line);
}

struct bpt_env *bpt_env_new(const char *name)
{
    struct bpt_env *env = calloc(1, sizeof(*env));
    const char *tmp = getenv("TMPDIR");

    if (!env) {
        fprintf(stderr, "[fixture] out of memory\n");
        return NULL;
    }
    snprintf(env->name, sizeof(env->name), "%s", name ? name : "test");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(env->dir, sizeof(env->dir), "%s/botpulse-%s-XXXXXX", tmp, env->name);
    if (n < 0 || (size_t)n >= sizeof(env->dir)) {
        fprintf(stderr, "[fixture] temp dir path too long under %s\n", tmp);
        free(env);
        return NULL;
    }
    if (!mkdtemp(env->dir)) {
        fprintf(stderr, "[fixture] mkdtemp %s: %s\n", env->dir, strerror(errno));
        free(env);
        return NULL;
    }
    /* mkdtemp makes it 0700; an unprivileged PostgreSQL must traverse it. */
    if (chmod(env->dir, 0755) != 0) {
        fprintf(stderr, "[fixture] chmod %s: %s\n", env->dir, strerror(errno));
        rmdir(env->dir);
        free(env);
        return NULL;
    }
    return env;
}

const char *bpt_env_dir(struct bpt_env *env)
{
    return env->dir;
}

/* Creates the parent directories of dir/name (name may contain '/'). */
static void make_parents(const char *path)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0755); /* EEXIST is fine; a real error shows at fopen */
        *p = '/';
    }
}

/* fopen(path, "w"), or for a secret, a file that is 0600 from the moment it exists. */
static FILE *open_for_writing(const char *path, bool secret)
{
    if (!secret)
        return fopen(path, "w");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        close(fd);
    return f;
}

static const char *write_file_v(struct bpt_env *env, const char *name, bool secret, const char *fmt,
                                va_list ap)
{
    char *path = NULL, *text = NULL;
    const char *result = NULL;
    FILE *f;

    if (asprintf(&path, "%s/%s", env->dir, name) < 0) {
        path = NULL;
        goto out;
    }
    int len = vasprintf(&text, fmt, ap);
    if (len < 0) {
        text = NULL;
        goto out;
    }
    make_parents(path);
    f = open_for_writing(path, secret);
    if (!f) {
        bpt_note(env, "opening %s: %s", path, strerror(errno));
        goto out;
    }
    size_t wrote = fwrite(text, 1, (size_t)len, f);
    int rc = fclose(f);
    if (wrote != (size_t)len || rc != 0) {
        bpt_note(env, "writing %s failed", path);
        goto out;
    }
    for (int i = 0; i < env->nfiles && !result; i++)
        if (strcmp(env->files[i], path) == 0)
            result = env->files[i]; /* rewritten: hand back the same pointer */
    if (!result && env->nfiles < BPT_MAX_FILES) {
        env->files[env->nfiles++] = path;
        result = path;
        path = NULL;
    }
out:
    free(text);
    free(path);
    return result;
}

const char *bpt_write_file(struct bpt_env *env, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *path = write_file_v(env, name, false, fmt, ap);
    va_end(ap);
    return path;
}

const char *bpt_write_secret(struct bpt_env *env, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *path = write_file_v(env, name, true, fmt, ap);
    va_end(ap);
    return path;
}

int bpt_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        port = -errno;
    else
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* ---- log dump -------------------------------------------------------------------------- */

struct log_list {
    char **paths;
    size_t n, cap;
};

static void add_path(struct log_list *list, const char *path)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        char **p = realloc(list->paths, cap * sizeof(*p));
        if (!p)
            return;
        list->paths = p;
        list->cap = cap;
    }
    char *copy = strdup(path);
    if (copy)
        list->paths[list->n++] = copy;
}

/* Adds every regular *.log file under dir (not following symlinks) to list. */
static void collect_logs(const char *dir, struct log_list *list, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8)
            collect_logs(path, list, depth + 1);
        else if (S_ISREG(st.st_mode) && len > 4 && strcmp(e->d_name + len - 4, ".log") == 0)
            add_path(list, path);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the file (its last DUMP_TAIL_BYTES when larger) to stderr. */
static void dump_file(const char *path)
{
    char buf[8192];
    size_t got;
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "(cannot open: %s)\n", strerror(errno));
        return;
    }
    if (fseeko(f, 0, SEEK_END) == 0) {
        off_t size = ftello(f);
        if (size > DUMP_TAIL_BYTES) {
            fprintf(stderr, "(... first %lld bytes skipped ...)\n",
                    (long long)(size - DUMP_TAIL_BYTES));
            fseeko(f, size - DUMP_TAIL_BYTES, SEEK_SET);
        } else {
            fseeko(f, 0, SEEK_SET);
        }
    }
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, got, stderr);
    fclose(f);
}

static bool file_has_line(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    bool hit = false;
    while (f && !hit && fgets(line, sizeof(line), f))
        hit = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return hit;
}

bool bpt_log_has(struct bpt_env *env, const char *name, const char *needle, int64_t timeout_ms)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.log", env->dir, name);
    for (int64_t waited = 0;; waited += 100) {
        if (file_has_line(path, needle))
            return true;
        if (waited >= timeout_ms)
            return false;
        usleep(100 * 1000);
    }
}

void bpt_dump_logs(struct bpt_env *env)
{
    struct log_list list = {0};

    fflush(stdout);
    collect_logs(env->dir, &list, 0);
    qsort(list.paths, list.n, sizeof(*list.paths), cmp_str);
    fprintf(stderr, "\n======== logs of %s (%zu files in %s) ========\n", env->name, list.n,
            env->dir);
    for (size_t i = 0; i < list.n; i++) {
        fprintf(stderr, "\n-------- %s --------\n", list.paths[i]);
        dump_file(list.paths[i]);
        free(list.paths[i]);
    }
    fprintf(stderr, "\n======== end of logs of %s ========\n", env->name);
    free(list.paths);
}

void bpt_fail(struct bpt_env *env, const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (env) {
        env->failed = true;
        bpt_dump_logs(env);
        fprintf(stderr, "[fixture %s] failed; kept %s\n", env->name, env->dir);
    }
    print_error("ERROR: %s:%d: %s\n", file, line, msg);
    _fail(file, line);
    abort(); /* _fail longjmps back into cmocka; never reached */
}

/* ---- teardown -------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "[fixture] remove %s: %s\n", path, strerror(errno));
    return 0;
}

void bpt_env_free(struct bpt_env *env)
{
    const char *keep;

    if (!env)
        return;
    bpt_procs_stop_all(env, true); /* our daemons first, while servers still run */
    bpt_publisher_drop(env);
    if (env->broker_running)
        bpt_broker_stop(env);
    bpt_procs_stop_all(env, false); /* anything left, the broker included */
    if (env->pg_running)
        bpt_pg_stop(env);
    keep = getenv("BPT_KEEP");
    if (env->failed || (keep && strcmp(keep, "1") == 0))
        bpt_note(env, "keeping %s", env->dir);
    else
        nftw(env->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < env->nfiles; i++)
        free(env->files[i]);
    free(env);
}
