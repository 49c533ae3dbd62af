/* SPDX-License-Identifier: MIT */
/* Child processes of a test: spawned by name into their own process group with their output
 * in dir/<name>.log, signalled, waited for on the monotonic clock, or run to completion. */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10
#define STOP_ALL_MS 5000

/* In the child, between fork and exec: only async-signal-safe calls. Puts the child in its
 * own process group, wires stdin to /dev/null and stdout+stderr to out_fd, restores default
 * signal handling (cmocka and Paho may have changed it) and executes argv. */
static void exec_child(int null_fd, int out_fd, char *const argv[])
{
    static const char msg[] = "[fixture] execv failed\n";
    sigset_t none;

    setpgid(0, 0);
    dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], argv);
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to say */
    }
    _exit(127);
}

/* Forks exec_child; both sides call setpgid so the group exists before either goes on. */
static pid_t fork_child(int null_fd, int out_fd, char *const argv[])
{
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0)
        exec_child(null_fd, out_fd, argv);
    setpgid(pid, pid); /* EACCES after the child's exec is fine: it did it itself */
    return pid;
}

/* Non-blocking reap of p; true once p has exited. */
static bool reap(struct bpt_proc *p)
{
    int status;

    if (p->exited)
        return true;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->exited = true;
        p->status = r == p->pid ? status : 0;
    }
    return p->exited;
}

struct bpt_proc *bpt_proc_find(struct bpt_env *env, const char *name)
{
    for (int i = 0; i < BPT_MAX_PROCS; i++) {
        struct bpt_proc *p = &env->procs[i];
        if (p->pid > 0 && strcmp(p->name, name) == 0) {
            reap(p);
            return p;
        }
    }
    return NULL;
}

bool bpt_proc_alive(struct bpt_env *env, const char *name)
{
    struct bpt_proc *p = bpt_proc_find(env, name);
    return p && !p->exited;
}

/* A slot for name: its previous one if that process has exited, else a free one. */
static struct bpt_proc *claim_slot(struct bpt_env *env, const char *name)
{
    struct bpt_proc *p = bpt_proc_find(env, name);

    if (p)
        return p->exited ? p : NULL;
    for (int i = 0; i < BPT_MAX_PROCS; i++)
        if (env->procs[i].pid == 0)
            return &env->procs[i];
    return NULL;
}

pid_t bpt_spawn(struct bpt_env *env, const char *name, char *const argv[])
{
    char path[700];
    int null_fd = -1, out_fd = -1;
    pid_t pid = -EEXIST;
    struct bpt_proc *p = claim_slot(env, name);

    if (!p || strlen(name) >= sizeof(p->name)) {
        bpt_note(env, "spawn %s: name in use, too long or too many children", name);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s.log", env->dir, name);
    out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || null_fd < 0) {
        pid = -errno;
        bpt_note(env, "spawn %s: %s: %s", name, path, strerror(errno));
        goto out;
    }
    dprintf(out_fd, "[fixture] === %s: starting %s at %lld ms ===\n", name, argv[0],
            (long long)bp_wall_ms());
    pid = fork_child(null_fd, out_fd, argv);
    if (pid < 0)
        goto out;
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->pid = pid;
out:
    if (out_fd >= 0)
        close(out_fd);
    if (null_fd >= 0)
        close(null_fd);
    return pid;
}

int bpt_signal(struct bpt_env *env, const char *name, int sig)
{
    struct bpt_proc *p = bpt_proc_find(env, name);

    if (!p || p->exited)
        return -ESRCH;
    return kill(p->pid, sig) == 0 ? 0 : -errno;
}

pid_t bpt_pid(struct bpt_env *env, const char *name)
{
    struct bpt_proc *p = bpt_proc_find(env, name);
    return p && !p->exited ? p->pid : -1;
}

int bpt_wait_exit(struct bpt_env *env, const char *name, int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    struct bpt_proc *p = bpt_proc_find(env, name);

    if (!p)
        return -ESRCH;
    while (!reap(p)) {
        if (bp_mono_ms() >= deadline)
            return -ETIMEDOUT;
        bp_sleep_ms(POLL_MS);
    }
    return p->status;
}

int bpt_proc_stop(struct bpt_env *env, const char *name, int64_t timeout_ms)
{
    struct bpt_proc *p = bpt_proc_find(env, name);

    if (!p || p->exited)
        return -ESRCH;
    kill(-p->pid, SIGTERM);
    int status = bpt_wait_exit(env, name, timeout_ms);
    if (status != -ETIMEDOUT)
        return status;
    bpt_note(env, "%s (pid %d) ignored SIGTERM for %lld ms: SIGKILL", name, (int)p->pid,
             (long long)timeout_ms);
    kill(-p->pid, SIGKILL);
    if (waitpid(p->pid, &status, 0) == p->pid) {
        p->exited = true;
        p->status = status;
    }
    return p->status;
}

/* True for the broker's processes. */
static bool is_broker(const struct bpt_proc *p)
{
    return strcmp(p->name, BPT_BROKER_NAME) == 0 || strcmp(p->name, BPT_RABBIT_NAME) == 0 ||
           strcmp(p->name, BPT_RABBIT_EPMD_NAME) == 0;
}

void bpt_procs_stop_all(struct bpt_env *env, bool keep_broker)
{
    int64_t deadline = bp_mono_ms() + STOP_ALL_MS;
    bool waiting = false;

    for (int i = 0; i < BPT_MAX_PROCS; i++) {
        struct bpt_proc *p = &env->procs[i];
        if (p->pid <= 0 || reap(p) || (keep_broker && is_broker(p)))
            continue;
        kill(-p->pid, SIGTERM);
        waiting = true;
    }
    while (waiting && bp_mono_ms() < deadline) {
        bp_sleep_ms(POLL_MS);
        waiting = false;
        for (int i = 0; i < BPT_MAX_PROCS; i++) {
            struct bpt_proc *p = &env->procs[i];
            if (p->pid > 0 && !reap(p) && !(keep_broker && is_broker(p)))
                waiting = true;
        }
    }
    for (int i = 0; i < BPT_MAX_PROCS; i++) {
        struct bpt_proc *p = &env->procs[i];
        if (p->pid <= 0 || p->exited || (keep_broker && is_broker(p)))
            continue;
        bpt_note(env, "%s (pid %d) ignored SIGTERM for 5 s: SIGKILL", p->name, (int)p->pid);
        kill(-p->pid, SIGKILL);
        if (waitpid(p->pid, &p->status, 0) == p->pid)
            p->exited = true;
    }
}

/* ---- bpt_run ------------------------------------------------------------------------------ */

/* Appends n bytes to the growing buffer *buf of length *len. */
static void append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p = realloc(*buf, *len + n + 1);

    if (!p)
        return;
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

/* Reads the pipe until EOF, or until the child has exited and the pipe is quiet (a daemon it
 * started may hold the pipe open), or the deadline. Returns the wait status or -ETIMEDOUT. */
static int collect(pid_t pid, int fd, int64_t deadline, char **buf, size_t *len)
{
    bool eof = false, exited = false;
    int status = 0;

    while (!(exited && eof)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char chunk[4096];
        int ready = eof ? 0 : poll(&pfd, 1, 20);
        if (ready > 0) {
            ssize_t n = read(fd, chunk, sizeof(chunk));
            if (n > 0)
                append(buf, len, chunk, (size_t)n);
            else if (n == 0 || errno != EINTR)
                eof = true;
        } else if (eof) {
            bp_sleep_ms(POLL_MS);
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = true;
        else if (exited && ready == 0)
            break; /* exited, nothing more to read */
        if (bp_mono_ms() >= deadline)
            return exited ? status : -ETIMEDOUT;
    }
    return status;
}

int bpt_run(struct bpt_env *env, char *const argv[], int64_t timeout_ms, char **output)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    int fds[2] = {-1, -1}, null_fd = -1, status;
    char *buf = NULL;
    size_t len = 0;
    pid_t pid;

    if (output)
        *output = NULL;
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || pipe2(fds, O_CLOEXEC) != 0) {
        status = -errno;
        goto out;
    }
    pid = fork_child(null_fd, fds[1], argv);
    if (pid < 0) {
        status = (int)pid;
        goto out;
    }
    close(fds[1]);
    fds[1] = -1;
    status = collect(pid, fds[0], deadline, &buf, &len);
    if (status == -ETIMEDOUT) {
        bpt_note(env, "%s did not finish within %lld ms: SIGKILL", argv[0], (long long)timeout_ms);
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    } else if (WIFEXITED(status)) {
        status = WEXITSTATUS(status);
    } else {
        status = 128 + WTERMSIG(status); /* as a shell reports it */
    }
out:
    if (output)
        *output = buf;
    else
        free(buf);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (null_fd >= 0)
        close(null_fd);
    return status;
}
