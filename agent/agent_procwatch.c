/* SPDX-License-Identifier: MIT */
/* Finds bot processes by pid file or name and reads their vitals from /proc. */
#include "agent_procwatch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent_procfs.h"
#include "log.h"

#define MOD "procwatch"
#define PID_MAX_LINUX 4194304
#define TASK_COMM_VISIBLE 15 /* TASK_COMM_LEN - 1 */

int agent_proc_parse_stat(const char *buf, size_t len, struct agent_proc_stat *out)
{
    const char *end = buf + len;
    const char *open = memchr(buf, '(', len);
    const char *close = NULL;
    for (const char *p = end; p > buf; p--) {
        if (p[-1] == ')') {
            close = p - 1;
            break;
        }
    }
    if (!open || !close || close < open)
        return -EINVAL;
    const char *p = buf;
    uint64_t v;
    if (agent_procfs_parse_u64(&p, open, &v) != 0 || v == 0 || v > INT_MAX)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->pid = (int)v;
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof(out->comm))
        clen = sizeof(out->comm) - 1;
    memcpy(out->comm, open + 1, clen);
    out->comm[clen] = '\0';

    /* After ") ": field 3 is the state, then numbers; we need 14, 15 and 22. */
    p = close + 1;
    if (end - p < 3 || p[0] != ' ' || p[2] != ' ')
        return -EINVAL;
    out->state = p[1];
    p += 2;
    for (int field = 4; field <= 22; field++) {
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == '-') /* signed fields (priority, nice, tty) */
            p++;
        if (agent_procfs_parse_u64(&p, end, &v) != 0)
            return -EINVAL;
        if (field == 14)
            out->utime = v;
        else if (field == 15)
            out->stime = v;
        else if (field == 20)
            out->num_threads = v;
        else if (field == 22)
            out->starttime = v;
    }
    return 0;
}

int agent_proc_parse_statm(const char *buf, size_t len, uint64_t *rss_pages)
{
    const char *p = buf, *end = buf + len;
    uint64_t size;
    if (agent_procfs_parse_u64(&p, end, &size) != 0)
        return -EINVAL;
    if (p >= end || *p != ' ')
        return -EINVAL;
    return agent_procfs_parse_u64(&p, end, rss_pages);
}

int agent_proc_parse_status_rss(const char *buf, size_t len, uint64_t *rss_kb)
{
    const char *end = buf + len;
    for (const char *p = buf; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (eol - p > 6 && memcmp(p, "VmRSS:", 6) == 0) {
            const char *q = p + 6;
            if (agent_procfs_parse_u64(&q, eol, rss_kb) != 0)
                return -EINVAL;
            return 0;
        }
        p = eol + 1;
    }
    return -ENOENT;
}

int agent_proc_parse_pidfile(const char *buf, size_t len, int *pid)
{
    const char *p = buf, *end = buf + len;
    uint64_t v;
    if (agent_procfs_parse_u64(&p, end, &v) != 0)
        return -EINVAL;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p != end || v == 0 || v > PID_MAX_LINUX)
        return -EINVAL;
    *pid = (int)v;
    return 0;
}

int agent_proc_parse_argv0(const char *buf, size_t len, char *out, size_t size)
{
    size_t n = strnlen(buf, len);
    if (n == 0)
        return -EINVAL;
    const char *base = buf;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '/' && i + 1 < n)
            base = buf + i + 1;
    }
    size_t blen = n - (size_t)(base - buf);
    if (blen >= size)
        blen = size - 1;
    memcpy(out, base, blen);
    out[blen] = '\0';
    return 0;
}

void agent_proc_cmdline_text(const char *buf, size_t len, char *out, size_t size)
{
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    if (len > size - 1)
        len = size - 1;
    for (size_t i = 0; i < len; i++)
        out[i] = buf[i] == '\0' ? ' ' : buf[i];
    out[len] = '\0';
}

bool agent_proc_name_matches(const char *name, const char *comm, const char *argv0)
{
    if (name == NULL || name[0] == '\0')
        return false;
    if (comm && strcmp(comm, name) == 0)
        return true;
    if (comm && strlen(name) > TASK_COMM_VISIBLE && strlen(comm) == TASK_COMM_VISIBLE &&
        strncmp(comm, name, TASK_COMM_VISIBLE) == 0)
        return true;
    return argv0 && strcmp(argv0, name) == 0;
}

double agent_proc_cpu_pct(uint64_t prev_ticks, uint64_t cur_ticks, int64_t dt_ms, long hz)
{
    if (dt_ms <= 0 || hz <= 0 || cur_ticks < prev_ticks)
        return -1.0;
    return 100.0 * ((double)(cur_ticks - prev_ticks) / (double)hz) / ((double)dt_ms / 1000.0);
}

int agent_proc_env_init(struct agent_proc_env *env, const char *root)
{
    long hz = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    env->root = root;
    env->cgroup_root = "/sys/fs/cgroup";
    env->hz = hz > 0 ? hz : 100;
    env->page_kb = page >= 1024 ? page / 1024 : 4;
    env->btime_ms = 0;
    env->self_pid = (int)getpid();
    env->pidfds = strcmp(root, "/proc") == 0; /* a fixture tree's pids are not real */
    return 0;
}

/* ---- reading one process ------------------------------------------------------------------ */

static int read_stat(const struct agent_proc_env *env, int pid, struct agent_proc_stat *st)
{
    char path[AGENT_PATH_BYTES], buf[1024];
    size_t len;
    snprintf(path, sizeof(path), "%s/%d/stat", env->root, pid);
    int rc = agent_procfs_read(path, buf, sizeof(buf), &len);
    if (rc != 0)
        return rc;
    return agent_proc_parse_stat(buf, len, st);
}

static void read_argv0(const struct agent_proc_env *env, int pid, char *out, size_t size)
{
    char path[AGENT_PATH_BYTES], buf[512];
    size_t len;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/%d/cmdline", env->root, pid);
    if (agent_procfs_read(path, buf, sizeof(buf), &len) == 0)
        agent_proc_parse_argv0(buf, len, out, size);
}

static bool is_live(const struct agent_proc_stat *st)
{
    return st->state != 'Z' && st->state != 'X' && st->state != 'x';
}

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Reads pid's command line as text into out (AGENT_CMDLINE_MAX bytes); "" if unreadable. */
static void read_cmdline(const struct agent_proc_env *env, int pid, char *out)
{
    char path[AGENT_PATH_BYTES], buf[AGENT_CMDLINE_MAX];
    size_t len;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/%d/cmdline", env->root, pid);
    if (agent_procfs_read(path, buf, sizeof(buf), &len) == 0)
        agent_proc_cmdline_text(buf, len, out, AGENT_CMDLINE_MAX);
}

static bool cmdline_matches(const struct agent_procwatch *w, const char *text)
{
    return regexec(&w->cmdline_re, text, 0, NULL, 0) == 0;
}

/* Does pid answer to w's process_name and cmdline pattern (each true when not set)? */
static bool name_ok(const struct agent_procwatch *w, const struct agent_proc_env *env,
                    const struct agent_proc_stat *st)
{
    if (w->has_cmdline) {
        char text[AGENT_CMDLINE_MAX];
        read_cmdline(env, st->pid, text);
        if (!cmdline_matches(w, text))
            return false;
    }
    if (!has(w->process_name))
        return true;
    if (agent_proc_name_matches(w->process_name, st->comm, NULL))
        return true;
    char argv0[AGENT_COMM_MAX * 2];
    read_argv0(env, st->pid, argv0, sizeof(argv0));
    return agent_proc_name_matches(w->process_name, NULL, argv0);
}

static int read_pidfile(const char *path)
{
    char buf[64];
    size_t len;
    int pid;
    if (agent_procfs_read(path, buf, sizeof(buf), &len) != 0)
        return 0;
    if (agent_proc_parse_pidfile(buf, len, &pid) != 0)
        return 0;
    return pid;
}

void agent_procwatch_init(struct agent_procwatch *w, const char *name, const char *pid_file,
                          const char *process_name)
{
    memset(w, 0, sizeof(*w));
    w->name = name;
    w->pid_file = pid_file;
    w->process_name = process_name;
    w->pidfd = -1;
}

static void free_cmdline(struct agent_procwatch *w)
{
    if (w->has_cmdline)
        regfree(&w->cmdline_re);
    w->has_cmdline = false;
}

int agent_procwatch_set_cmdline(struct agent_procwatch *w, const char *pattern)
{
    free_cmdline(w);
    if (!has(pattern))
        return 0;
    if (regcomp(&w->cmdline_re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return -EINVAL;
    w->has_cmdline = true;
    return 0;
}

void agent_procwatch_cleanup(struct agent_procwatch *w)
{
    free_cmdline(w);
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->pidfd = -1;
}

static void adopt(struct agent_procwatch *w, const struct agent_proc_stat *st)
{
    w->pid = st->pid;
    w->starttime = st->starttime;
    w->st = *st;
}

/* Steps 1-2 of a refresh: keep the known process or take the pid file's. True when found. */
static bool check_known(struct agent_procwatch *w, const struct agent_proc_env *env)
{
    struct agent_proc_stat st;
    int filepid = has(w->pid_file) ? read_pidfile(w->pid_file) : 0;
    if (w->pid != 0 && (filepid == 0 || filepid == w->pid) && read_stat(env, w->pid, &st) == 0 &&
        is_live(&st) && st.starttime == w->starttime) {
        w->st = st;
        return true;
    }
    w->pid = 0;
    if (filepid != 0 && filepid != env->self_pid && read_stat(env, filepid, &st) == 0 &&
        is_live(&st) && name_ok(w, env, &st)) {
        adopt(w, &st);
        return true;
    }
    return false;
}

size_t agent_proc_parse_pids(const char *buf, size_t len, int *pids, size_t max)
{
    size_t n = 0;
    const char *p = buf, *end = buf + len;
    while (p < end && n < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        long v = 0;
        const char *q = p;
        while (q < eol && *q >= '0' && *q <= '9' && v <= PID_MAX_LINUX)
            v = v * 10 + (*q++ - '0');
        if (q == eol && q > p && v > 0 && v <= PID_MAX_LINUX)
            pids[n++] = (int)v;
        p = eol + 1;
    }
    return n;
}

#define UNIT_PIDS_MAX 512 /* cgroup.procs read: 4 KiB, ~500 pids; the main one comes early */

/* The unit's process: the oldest live one in its cgroup (its main process, forked first; a
 * forking daemon's first parent is gone by then). Keeps the known one while it is listed. */
static void find_in_unit(struct agent_procwatch *w, const struct agent_proc_env *env)
{
    char path[AGENT_PATH_BYTES + 256], buf[4096];
    int pids[UNIT_PIDS_MAX];
    size_t len;
    const char *cg = env->cgroup_root ? env->cgroup_root : "/sys/fs/cgroup";
    snprintf(path, sizeof(path), "%s/%s%s/cgroup.procs", cg,
             strchr(w->systemd_unit, '/') ? "" : "system.slice/", w->systemd_unit);
    int known = w->pid;
    uint64_t known_start = w->starttime;
    w->pid = 0;
    if (agent_procfs_read(path, buf, sizeof(buf), &len) != 0)
        return; /* no such cgroup: the unit is not running */
    size_t n = agent_proc_parse_pids(buf, len, pids, UNIT_PIDS_MAX);
    for (size_t i = 0; i < n; i++) {
        struct agent_proc_stat st;
        if (pids[i] == env->self_pid || read_stat(env, pids[i], &st) != 0 || !is_live(&st))
            continue;
        if (st.pid == known && st.starttime == known_start) {
            adopt(w, &st); /* still there: no need to look further */
            return;
        }
        if (name_ok(w, env, &st) && (w->pid == 0 || st.starttime < w->starttime ||
                                     (st.starttime == w->starttime && st.pid < w->pid)))
            adopt(w, &st);
    }
}

/* One pass over <root>: for each process, offer it to every bot still missing; the earliest
 * started match wins (a bot's parent, not its workers). */
static void scan_by_name(struct agent_procwatch **missing, size_t n,
                         const struct agent_proc_env *env)
{
    char text[AGENT_CMDLINE_MAX];
    DIR *d = opendir(env->root);
    if (!d) {
        BP_WARN(MOD, "cannot list %s: %s", env->root, strerror(errno));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *endp;
        long pid = strtol(de->d_name, &endp, 10);
        if (*endp != '\0' || pid <= 0 || pid > PID_MAX_LINUX || pid == env->self_pid)
            continue;
        struct agent_proc_stat st;
        if (read_stat(env, (int)pid, &st) != 0 || !is_live(&st))
            continue;
        char argv0[AGENT_COMM_MAX * 2];
        argv0[0] = '\0';
        bool argv0_read = false, text_read = false;
        for (size_t i = 0; i < n; i++) {
            struct agent_procwatch *w = missing[i];
            if (has(w->process_name) && !agent_proc_name_matches(w->process_name, st.comm, NULL)) {
                if (!argv0_read) {
                    read_argv0(env, (int)pid, argv0, sizeof(argv0));
                    argv0_read = true;
                }
                if (!agent_proc_name_matches(w->process_name, NULL, argv0))
                    continue;
            }
            if (w->has_cmdline) {
                if (!text_read) {
                    read_cmdline(env, (int)pid, text);
                    text_read = true;
                }
                if (!cmdline_matches(w, text))
                    continue;
            }
            if (w->pid == 0 || st.starttime < w->starttime ||
                (st.starttime == w->starttime && st.pid < w->pid))
                adopt(w, &st);
        }
    }
    closedir(d);
}

static void log_change(const struct agent_procwatch *w, int old_pid)
{
    if (old_pid == w->pid)
        return;
    if (old_pid == 0)
        BP_INFO(MOD, "bot %s: found pid %d (%s)", w->name, w->pid, w->st.comm);
    else if (w->pid == 0)
        BP_WARN(MOD, "bot %s: process %d is gone", w->name, old_pid);
    else
        BP_WARN(MOD, "bot %s: restarted: pid %d -> %d", w->name, old_pid, w->pid);
}

/* A process other than the last one seen is a restart (the first one found is not). */
static void count_restart(struct agent_procwatch *w)
{
    if (w->pid == 0 || (w->seen && w->pid == w->seen_pid && w->starttime == w->seen_starttime))
        return;
    if (w->seen)
        w->restarts++;
    w->seen = true;
    w->seen_pid = w->pid;
    w->seen_starttime = w->starttime;
}

/* Keeps the pidfd on the current process: closes the old one, opens one for a new process and
 * checks it is still the process found (pid reuse between the two reads). */
static void track_exit(struct agent_procwatch *w, const struct agent_proc_env *env)
{
    w->vanished = false;
    if (!env->pidfds || (w->pid == w->pidfd_pid && w->starttime == w->pidfd_starttime))
        return; /* the same process: its pidfd (or the decision not to have one) stands */
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->pidfd = -1;
    w->pidfd_pid = w->pid;
    w->pidfd_starttime = w->starttime;
    if (w->pid == 0)
        return;
    int fd = (int)syscall(SYS_pidfd_open, w->pid, 0);
    struct agent_proc_stat st;
    if (fd < 0 && errno != ESRCH) {
        BP_DEBUG(MOD, "bot %s: no pidfd for pid %d (%s): its exit is seen at the next refresh",
                 w->name, w->pid, strerror(errno));
        return;
    }
    if (fd < 0 || read_stat(env, w->pid, &st) != 0 || !is_live(&st) ||
        st.starttime != w->starttime) {
        if (fd >= 0)
            close(fd);
        w->vanished = true;
        return;
    }
    w->pidfd = fd;
}

int agent_procwatch_pidfd(const struct agent_procwatch *w)
{
    return w->pidfd;
}

void agent_procwatch_pidfd_fired(struct agent_procwatch *w)
{
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->pidfd = -1;
}

bool agent_procwatch_vanished(const struct agent_procwatch *w)
{
    return w->vanished;
}

uint64_t agent_procwatch_restarts(const struct agent_procwatch *w)
{
    return w->restarts;
}

int agent_procwatch_refresh(struct agent_procwatch *const *ws, size_t n,
                            const struct agent_proc_env *env)
{
    struct agent_procwatch *missing[64];
    int old[64];
    size_t nmissing = 0;
    int alive = 0;
    for (size_t off = 0; off < n; off += 64) {
        size_t chunk = n - off < 64 ? n - off : 64;
        nmissing = 0;
        for (size_t i = 0; i < chunk; i++) {
            struct agent_procwatch *w = ws[off + i];
            old[i] = w->pid;
            if (has(w->systemd_unit)) {
                find_in_unit(w, env);
                continue;
            }
            /* A pid file is the bot's own word: when it names no live process (of the right
             * name) the bot is down. Guessing by name instead could pick up a stranger. */
            if (!check_known(w, env) && !has(w->pid_file) &&
                (has(w->process_name) || w->has_cmdline))
                missing[nmissing++] = w;
        }
        if (nmissing > 0)
            scan_by_name(missing, nmissing, env);
        for (size_t i = 0; i < chunk; i++) {
            log_change(ws[off + i], old[i]);
            count_restart(ws[off + i]);
            track_exit(ws[off + i], env);
            alive += ws[off + i]->pid != 0;
        }
    }
    return alive;
}

bool agent_procwatch_is_alive(const struct agent_procwatch *w)
{
    return w->pid != 0;
}

int64_t agent_procwatch_start_ts(const struct agent_procwatch *w, const struct agent_proc_env *env)
{
    if (w->pid == 0)
        return 0;
    return env->btime_ms + (int64_t)(w->starttime * 1000 / (uint64_t)env->hz);
}

int64_t agent_procwatch_uptime_s(const struct agent_procwatch *w, const struct agent_proc_env *env,
                                 int64_t wall_ms)
{
    if (w->pid == 0)
        return 0;
    int64_t up = (wall_ms - agent_procwatch_start_ts(w, env)) / 1000;
    return up > 0 ? up : 0;
}

int64_t agent_procwatch_threads(const struct agent_procwatch *w)
{
    return w->pid != 0 && w->st.num_threads > 0 ? (int64_t)w->st.num_threads : -1;
}

int64_t agent_procwatch_fds(const struct agent_procwatch *w, const struct agent_proc_env *env)
{
    char path[AGENT_PATH_BYTES];
    if (w->pid == 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%d/fd", env->root, w->pid);
    DIR *d = opendir(path);
    if (!d)
        return -1; /* another user's process (EACCES), or gone */
    int64_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

int64_t agent_procwatch_rss_kb(const struct agent_procwatch *w, const struct agent_proc_env *env)
{
    char path[AGENT_PATH_BYTES], buf[256];
    size_t len;
    uint64_t pages;
    if (w->pid == 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%d/statm", env->root, w->pid);
    if (agent_procfs_read(path, buf, sizeof(buf), &len) != 0 ||
        agent_proc_parse_statm(buf, len, &pages) != 0)
        return -1;
    return (int64_t)pages * env->page_kb;
}

double agent_procwatch_cpu_pct(struct agent_procwatch *w, const struct agent_proc_env *env,
                               int64_t mono_ms)
{
    if (w->pid == 0)
        return -1.0;
    uint64_t ticks = w->st.utime + w->st.stime;
    double pct = -1.0;
    if (w->cpu_pid == w->pid && w->cpu_starttime == w->starttime)
        pct = agent_proc_cpu_pct(w->cpu_ticks, ticks, mono_ms - w->cpu_mono_ms, env->hz);
    w->cpu_pid = w->pid;
    w->cpu_starttime = w->starttime;
    w->cpu_ticks = ticks;
    w->cpu_mono_ms = mono_ms;
    return pct;
}
