/* SPDX-License-Identifier: MIT */
/* Probe runner: spawn, read, time out, reap, judge; all on the agent's loop, never waiting. */
#include "agent_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_spawn.h"
#include "agent_ts.h"
#include "log.h"

#define MOD "probe"
#define REAP_FIRST_MS 5
#define REAP_MAX_MS 200

int agent_probe_init(struct agent_probe *p, const char *cmd, int64_t interval_ms,
                     int64_t timeout_ms, int64_t mono)
{
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->interval_ms = interval_ms;
    p->timeout_ms = timeout_ms;
    p->next_mono = mono;
    size_t len = strlen(cmd);
    if (len >= sizeof(p->cmd))
        return -EINVAL;
    memcpy(p->cmd, cmd, len + 1);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(p->cmd, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        if (n == AGENT_PROBE_MAX_ARGS)
            return -EINVAL;
        p->argv[n++] = w;
    }
    p->argv[n] = NULL;
    return n > 0 ? 0 : -EINVAL;
}

int agent_probe_parse_output(const char *buf, size_t len, int64_t wall, int64_t *trade_ts,
                             char *why, size_t whylen)
{
    const char *nl = memchr(buf, '\n', len);
    size_t line = nl ? (size_t)(nl - buf) : len;
    if (strspn(buf, " \t\r\n") >= len) {
        snprintf(why, whylen, "no output (want the time of the last trade)");
        return -EINVAL;
    }
    if (agent_ts_parse(buf, line, trade_ts) != 0) {
        char shown[41];
        size_t n = line < sizeof(shown) - 1 ? line : sizeof(shown) - 1;
        for (size_t i = 0; i < n; i++) /* keep the reason printable and valid text */
            shown[i] = buf[i] >= ' ' && buf[i] < 0x7f ? buf[i] : '?';
        shown[n] = '\0';
        snprintf(why, whylen, "unparsable output '%s' (want Unix s/ms or ISO-8601)", shown);
        return -EINVAL;
    }
    if (*trade_ts > wall + AGENT_PROBE_FUTURE_MS) {
        snprintf(why, whylen, "last trade %lld ms in the future", (long long)(*trade_ts - wall));
        return -EINVAL;
    }
    return 0;
}

/* ---- running -------------------------------------------------------------------------------- */

static int spawn(struct agent_probe *p)
{
    return agent_spawn(p->argv, &p->who, false, &p->pid, &p->fd);
}

__attribute__((format(printf, 2, 3))) static void fail(struct agent_probe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
    p->failures++;
    BP_WARN(MOD, "%s: %s (%lld failures so far)", p->argv[0], p->error, (long long)p->failures);
}

/* Schedules the next run one interval after this one started (or after now, if late). */
static void schedule(struct agent_probe *p, int64_t mono)
{
    p->next_mono = p->started_mono + p->interval_ms;
    if (p->next_mono <= mono)
        p->next_mono = mono + p->interval_ms;
}

static void start(struct agent_probe *p, int64_t mono)
{
    p->outlen = 0;
    p->killed = false;
    p->reap_mono = 0;
    p->started_mono = mono;
    p->runs++;
    int rc = spawn(p);
    if (rc != 0) {
        fail(p, "cannot run: %s", strerror(-rc));
        schedule(p, mono);
        return;
    }
    BP_DEBUG(MOD, "%s: started pid %d", p->argv[0], (int)p->pid);
}

static void judge(struct agent_probe *p, int status, int64_t wall)
{
    char why[BP_TEXT_MAX + 1];
    int64_t ts;
    if (p->killed) {
        fail(p, "timed out after %lld ms: killed", (long long)p->timeout_ms);
    } else if (WIFSIGNALED(status)) {
        fail(p, "killed by signal %d", WTERMSIG(status));
    } else if (WEXITSTATUS(status) != 0) {
        fail(p, "exit status %d", WEXITSTATUS(status));
    } else if (agent_probe_parse_output(p->out, p->outlen, wall, &ts, why, sizeof(why)) != 0) {
        fail(p, "%s", why);
    } else {
        if (ts > p->last_trade_ts)
            p->last_trade_ts = ts;
        p->ok_ts = wall;
        p->error[0] = '\0';
    }
}

void agent_probe_read(struct agent_probe *p, int64_t mono)
{
    char buf[1024];
    while (p->fd >= 0) {
        ssize_t n = read(p->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* end of output (or an error): time to reap */
            close(p->fd);
            p->fd = -1;
            p->reap_mono = mono;
            p->reap_backoff_ms = REAP_FIRST_MS;
            return;
        }
        size_t keep = AGENT_PROBE_OUT_MAX - p->outlen;
        keep = (size_t)n < keep ? (size_t)n : keep;
        memcpy(p->out + p->outlen, buf, keep);
        p->outlen += keep;
        p->out[p->outlen] = '\0';
    }
}

/* Tries to reap the running probe; true when it has exited and was judged. */
static bool try_reap(struct agent_probe *p, int64_t mono, int64_t wall)
{
    int status = 0;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == 0)
        return false;
    if (r < 0) /* not our child any more (ECHILD): nothing to judge but the output */
        status = 0;
    if (p->fd >= 0)
        agent_probe_read(p, mono); /* whatever it wrote last */
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    p->pid = 0;
    judge(p, status, wall);
    schedule(p, mono);
    return true;
}

void agent_probe_step(struct agent_probe *p, int64_t mono, int64_t wall)
{
    if (p->pid > 0) {
        if (p->fd >= 0)
            agent_probe_read(p, mono);
        if ((p->fd < 0 || p->killed) && try_reap(p, mono, wall))
            goto maybe_start;
        if (!p->killed && mono >= p->started_mono + p->timeout_ms) {
            kill(-p->pid, SIGKILL);
            p->killed = true;
            p->reap_mono = mono;
            p->reap_backoff_ms = REAP_FIRST_MS;
            if (try_reap(p, mono, wall))
                goto maybe_start;
        }
        if (p->fd < 0 || p->killed) { /* output closed but not exited yet: look again soon */
            p->reap_mono = mono + p->reap_backoff_ms;
            if (p->reap_backoff_ms < REAP_MAX_MS)
                p->reap_backoff_ms *= 2;
        }
        return;
    }
maybe_start:
    if (p->pid == 0 && mono >= p->next_mono)
        start(p, mono);
}

int agent_probe_fd(const struct agent_probe *p)
{
    return p->fd;
}

int64_t agent_probe_deadline(const struct agent_probe *p)
{
    if (p->pid == 0)
        return p->next_mono;
    int64_t kill_at = p->started_mono + p->timeout_ms;
    if (p->killed || (p->fd < 0 && p->reap_mono < kill_at))
        return p->reap_mono;
    return kill_at;
}

void agent_probe_moved(struct agent_probe *p, const struct agent_probe *from)
{
    for (size_t i = 0; i < AGENT_PROBE_MAX_ARGS && from->argv[i]; i++)
        p->argv[i] = p->cmd + (from->argv[i] - from->cmd);
}

void agent_probe_cleanup(struct agent_probe *p)
{
    if (p->pid > 0) {
        kill(-p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        p->pid = 0;
    }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}
