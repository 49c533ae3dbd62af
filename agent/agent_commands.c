/* SPDX-License-Identifier: MIT */
/* Signed commands: verify, remember nonces, run only the configured command line, report. */
#include "agent_commands.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_config.h"
#include "agent_publisher.h"
#include "agent_spawn.h"
#include "clock.h"
#include "log.h"
#include "queue.h"
#include "sign.h"

#define MOD "commands"
#define INBOX_MAX 64
#define MAX_ARGS 32
#define HOUR_MS 3600000
#define REAP_FIRST_MS 5
#define REAP_MAX_MS 200
#define NONCE_FILE "command-nonces"

static const char *const action_names[AGENT_ACT_COUNT] = {"reconnect", "restart", "hard_restart",
                                                          "pre_restart"};

struct inbox_item {
    size_t len;
    char payload[]; /* len bytes */
};

struct nonce {
    char id[BP_NONCE_MAX + 1];
    int64_t forget_at; /* Unix ms: expires + skew; after it the command is refused as expired */
};

/* One running command (at most one per bot). */
struct run {
    bool active;
    pid_t pid;
    int fd; /* its stdout+stderr; -1 when closed */
    bool killed;
    int64_t started_mono, reap_mono, reap_backoff_ms;
    char nonce[BP_NONCE_MAX + 1];
    enum agent_action action;
    char out[BP_OUTPUT_MAX + 1]; /* the tail of its output */
    size_t outlen;
    bool cut; /* earlier output was dropped */
};

struct agent_commands {
    const struct agent_config *cfg;
    struct bp_queue *inbox;
    int wake_fd;
    char nonce_path[AGENT_PATH_MAX + 32];
    struct nonce nonces[AGENT_NONCES_MAX];
    int nnonces;
    int appended;                        /* lines appended since the file was last rewritten */
    int64_t runs[BP_AGENT_MAX_BOTS][64]; /* start times (mono) per bot, oldest first */
    int nruns[BP_AGENT_MAX_BOTS];
    struct run active[BP_AGENT_MAX_BOTS];
};

/* ---- nonces, persisted ------------------------------------------------------------------------
 */

static void forget_old(struct agent_commands *c, int64_t wall)
{
    int k = 0;
    for (int i = 0; i < c->nnonces; i++)
        if (c->nonces[i].forget_at > wall)
            c->nonces[k++] = c->nonces[i];
    c->nnonces = k;
}

/* Rewrites the file with the live nonces only (write a temp file, rename over). The file is
 * 0600 whatever the umask: it says which commands ran. */
static int rewrite_nonces(struct agent_commands *c)
{
    char tmp[sizeof(c->nonce_path) + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->nonce_path);
    unlink(tmp); /* a leftover keeps its mode under O_CREAT */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    for (int i = 0; i < c->nnonces; i++)
        fprintf(f, "%s %" PRId64 "\n", c->nonces[i].id, c->nonces[i].forget_at);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, c->nonce_path) != 0)
        rc = -errno;
    c->appended = 0;
    return rc;
}

/* One line of the nonce file: "<nonce> <forget_at ms>\n", exactly as written. 0 or -EINVAL. */
static int parse_nonce_line(const char *line, struct nonce *n)
{
    size_t idlen =
        strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (idlen < BP_NONCE_MIN || idlen > BP_NONCE_MAX || line[idlen] != ' ')
        return -EINVAL;
    const char *num = line + idlen + 1;
    size_t digits = strspn(num, "0123456789");
    if (digits == 0 || digits > 18 || strcmp(num + digits, "\n") != 0)
        return -EINVAL;
    memcpy(n->id, line, idlen);
    n->id[idlen] = '\0';
    n->forget_at = strtoll(num, NULL, 10);
    return 0;
}

/* Loads the nonces still live. A line that does not read back (a torn or edited file) stops
 * the agent: skipping it could let the command it named run again. */
static int load_nonces(struct agent_commands *c, int64_t wall)
{
    FILE *f = fopen(c->nonce_path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char line[256];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        struct nonce n;
        lineno++;
        if (parse_nonce_line(line, &n) != 0) {
            BP_ERROR(MOD,
                     "%s:%d: not '<nonce> <unix ms>': the file is corrupted; refusing to start, "
                     "since a command it no longer lists could be replayed. Once "
                     "command_max_ttl + command_skew have passed since the agent stopped, "
                     "move the file away and start again",
                     c->nonce_path, lineno);
            rc = -EBADMSG;
        } else if (n.forget_at > wall && c->nnonces < AGENT_NONCES_MAX) {
            c->nonces[c->nnonces++] = n;
        }
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    return rc != 0 ? rc : rewrite_nonces(c);
}

static bool nonce_seen(const struct agent_commands *c, const char *id)
{
    for (int i = 0; i < c->nnonces; i++)
        if (strcmp(c->nonces[i].id, id) == 0)
            return true;
    return false;
}

/* Remembers a nonce, on disk (appended, synced) before anything runs. A failed append is cut
 * off again, so the file never holds a torn line. 0 or -errno. */
static int remember_nonce(struct agent_commands *c, const char *id, int64_t forget_at, int64_t wall)
{
    forget_old(c, wall);
    if (c->nnonces == AGENT_NONCES_MAX)
        return -ENOSPC;
    struct nonce *n = &c->nonces[c->nnonces++];
    snprintf(n->id, sizeof(n->id), "%s", id);
    n->forget_at = forget_at;
    if (++c->appended > c->nnonces + 64)
        return rewrite_nonces(c);
    int fd = open(c->nonce_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char line[128];
    int len = snprintf(line, sizeof(line), "%s %" PRId64 "\n", id, forget_at);
    off_t end = lseek(fd, 0, SEEK_END);
    ssize_t w = write(fd, line, (size_t)len);
    int rc = w == len && fdatasync(fd) == 0 ? 0 : w < 0 || w == len ? -errno : -ENOSPC;
    if (rc != 0 && end >= 0 && ftruncate(fd, end) != 0)
        BP_ERROR(MOD, "%s: cannot cut a failed append: %s", c->nonce_path, strerror(errno));
    close(fd);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------------------------
 */

int agent_commands_new(const struct agent_config *cfg, int64_t wall, struct agent_commands **out)
{
    struct agent_commands *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = cfg;
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->inbox = bp_queue_new(INBOX_MAX);
    for (int i = 0; i < BP_AGENT_MAX_BOTS; i++)
        c->active[i].fd = -1;
    snprintf(c->nonce_path, sizeof(c->nonce_path), "%s/" NONCE_FILE, cfg->state_dir);
    int rc = c->wake_fd < 0 ? -errno : !c->inbox ? -ENOMEM : bp_sign_init();
    if (rc == 0 && (rc = load_nonces(c, wall)) != 0 && rc != -EBADMSG)
        BP_ERROR(MOD, "%s: %s", c->nonce_path, strerror(-rc));
    if (rc != 0) {
        agent_commands_free(c);
        return rc;
    }
    BP_INFO(MOD,
            "accepting signed commands (%d nonces remembered, at most %lld runs per bot "
            "per hour)",
            c->nnonces, (long long)cfg->command_max_per_hour);
    *out = c;
    return 0;
}

static void kill_and_reap(struct run *r)
{
    if (r->active && r->pid > 0) {
        kill(-r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (r->fd >= 0)
        close(r->fd);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

void agent_commands_free(struct agent_commands *c)
{
    if (!c)
        return;
    for (int i = 0; i < BP_AGENT_MAX_BOTS; i++)
        kill_and_reap(&c->active[i]);
    bp_queue_free(c->inbox, free);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    free(c);
}

struct renumbered {
    int64_t runs[BP_AGENT_MAX_BOTS][64];
    int nruns[BP_AGENT_MAX_BOTS];
    struct run active[BP_AGENT_MAX_BOTS];
};

int agent_commands_remap(struct agent_commands *c, const int *old_index, int nnew, int nold)
{
    struct renumbered *t = calloc(1, sizeof(*t));
    bool kept[BP_AGENT_MAX_BOTS] = {false};
    if (!t)
        return -ENOMEM;
    for (int j = 0; j < BP_AGENT_MAX_BOTS; j++) {
        int o = j < nnew ? old_index[j] : -1;
        t->active[j].fd = -1;
        if (o < 0)
            continue;
        kept[o] = true;
        t->active[j] = c->active[o];
        t->nruns[j] = c->nruns[o];
        memcpy(t->runs[j], c->runs[o], sizeof(t->runs[j]));
    }
    for (int o = 0; o < nold; o++) {
        if (kept[o] || !c->active[o].active)
            continue;
        BP_WARN(MOD, "bot %s removed from the config: its %s command (pid %d) is killed",
                c->cfg->bots[o].name, action_names[c->active[o].action], (int)c->active[o].pid);
        kill_and_reap(&c->active[o]);
    }
    memcpy(c->runs, t->runs, sizeof(c->runs));
    memcpy(c->nruns, t->nruns, sizeof(c->nruns));
    memcpy(c->active, t->active, sizeof(c->active));
    free(t);
    return 0;
}

void agent_commands_submit(void *ctx, const void *payload, size_t len)
{
    struct agent_commands *c = ctx;
    if (len > BP_MSG_MAX_BYTES)
        len = BP_MSG_MAX_BYTES + 1; /* enough for the decoder to say too_large */
    struct inbox_item *it = malloc(sizeof(*it) + len);
    if (!it)
        return;
    it->len = len;
    memcpy(it->payload, payload, len);
    uint64_t one = 1;
    if (bp_queue_push(c->inbox, it) != 0) {
        free(it);
        BP_WARN(MOD, "command dropped: %d already waiting", INBOX_MAX);
        return;
    }
    if (write(c->wake_fd, &one, sizeof(one)) < 0)
        BP_WARN(MOD, "cannot wake the loop: %s", strerror(errno));
}

/* ---- checks --------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int refuse(struct bp_command_result *res,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    for (char *p = res->reason; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    snprintf(res->outcome, sizeof(res->outcome), "refused");
    res->exit_code = -1;
    return -EPERM;
}

static int parse_action(const char *name, enum agent_action *out)
{
    for (int i = 0; i < AGENT_ACT_COUNT; i++) {
        if (strcmp(name, action_names[i]) == 0) {
            *out = (enum agent_action)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* True (and the run counted) if bot may run one more command at mono. */
static bool rate_ok(struct agent_commands *c, int bot, int64_t mono)
{
    int64_t *t = c->runs[bot];
    int n = c->nruns[bot], drop = 0;
    while (drop < n && t[drop] <= mono - HOUR_MS)
        drop++;
    memmove(t, t + drop, (size_t)(n - drop) * sizeof(*t));
    n -= drop;
    c->nruns[bot] = n;
    if (n >= c->cfg->command_max_per_hour || n >= 64)
        return false;
    t[c->nruns[bot]++] = mono;
    return true;
}

/* The checks that need only the decoded command; the nonce is recorded last. */
static int check_fresh(struct agent_commands *c, const struct bp_msg *m, int64_t wall,
                       struct bp_command_result *res)
{
    const struct agent_config *cfg = c->cfg;
    const struct bp_command *cmd = &m->u.command;
    if (strcmp(m->hdr.agent, cfg->id) != 0)
        return refuse(res, "addressed to agent %s", m->hdr.agent);
    if (bp_sign_verify_command(m, cfg->command_pk) != 0)
        return refuse(res, "bad signature");
    if (wall > cmd->expires + cfg->command_skew_ms)
        return refuse(res, "expired %lld ms ago", (long long)(wall - cmd->expires));
    if (m->hdr.ts > wall + cfg->command_skew_ms)
        return refuse(res, "signed %lld ms in the future", (long long)(m->hdr.ts - wall));
    if (cmd->expires < m->hdr.ts || cmd->expires - m->hdr.ts > cfg->command_max_ttl_ms)
        return refuse(res, "validity of %lld ms not in [0, command_max_ttl]",
                      (long long)(cmd->expires - m->hdr.ts));
    if (nonce_seen(c, cmd->nonce))
        return refuse(res, "replayed nonce");
    int rc = remember_nonce(c, cmd->nonce, cmd->expires + cfg->command_skew_ms, wall);
    if (rc == -ENOSPC)
        return refuse(res, "too many live nonces");
    if (rc != 0) /* without a durable record, a restart would accept it again */
        return refuse(res, "cannot record nonce: %s", strerror(-rc));
    return 0;
}

int agent_commands_check(struct agent_commands *c, const void *payload, size_t len, int64_t mono,
                         int64_t wall, int *bot, enum agent_action *action,
                         struct bp_command_result *res, char bot_name[BP_ID_MAX + 1])
{
    struct bp_msg m;
    struct bp_msg_error err;
    memset(res, 0, sizeof(*res));
    bot_name[0] = '\0';
    if (bp_msg_decode(payload, len, &m, &err) != 0)
        return refuse(res, "malformed: %s: %s", bp_msg_err_name(err.code), err.detail);
    if (m.hdr.type != BP_MSG_COMMAND)
        return refuse(res, "malformed: a %s, not a command", bp_msg_type_name(m.hdr.type));
    snprintf(res->nonce, sizeof(res->nonce), "%s", m.u.command.nonce);
    snprintf(res->action, sizeof(res->action), "%s", m.u.command.action);
    snprintf(bot_name, BP_ID_MAX + 1, "%s", m.hdr.bot);
    int rc = check_fresh(c, &m, wall, res);
    if (rc != 0)
        return rc;
    *bot = agent_config_find_bot(c->cfg, m.hdr.bot);
    if (*bot < 0)
        return refuse(res, "unknown bot");
    if (parse_action(m.u.command.action, action) != 0 ||
        c->cfg->bots[*bot].actions[*action][0] == '\0')
        return refuse(res, "action %s not configured for this bot", m.u.command.action);
    if (c->active[*bot].active)
        return refuse(res, "busy: %s still running", action_names[c->active[*bot].action]);
    if (!rate_ok(c, *bot, mono))
        return refuse(res, "rate limited: %lld runs in the last hour",
                      (long long)c->cfg->command_max_per_hour);
    snprintf(res->outcome, sizeof(res->outcome), "ok");
    return 0;
}

/* ---- running ----------------------------------------------------------------------------------
 */

/* posix_spawnp without a shell: argv split on blanks, stdin /dev/null, stdout and stderr to
 * a non-blocking pipe, its own process group, default signals, nothing above fd 2 and the
 * environment agent_spawn_env_build makes for this bot and action. */
static int spawn(struct run *r, const char *cmdline, const struct agent_spawn_for *who)
{
    char buf[AGENT_PATH_MAX];
    char *argv[MAX_ARGS + 1];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", cmdline);
    for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_ARGS)
            return -E2BIG;
        argv[n++] = w;
    }
    argv[n] = NULL;
    if (n == 0)
        return -EINVAL;
    return agent_spawn(argv, who, true, &r->pid, &r->fd);
}

/* Reads what is there; keeps the last BP_OUTPUT_MAX bytes. */
static void read_output(struct run *r)
{
    char buf[4096];
    while (r->fd >= 0) {
        ssize_t n = read(r->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close(r->fd);
            r->fd = -1;
            return;
        }
        size_t add = (size_t)n, room = BP_OUTPUT_MAX - r->outlen;
        const char *src = buf;
        if (add > BP_OUTPUT_MAX) {
            src += add - BP_OUTPUT_MAX;
            add = BP_OUTPUT_MAX;
            r->cut = true;
        }
        if (add > room) {
            size_t drop = add - room;
            memmove(r->out, r->out + drop, r->outlen - drop);
            r->outlen -= drop;
            r->cut = true;
        }
        memcpy(r->out + r->outlen, src, add);
        r->outlen += add;
        r->out[r->outlen] = '\0';
    }
}

/* The output as wire text: whole lines only when cut, control and non-ASCII bytes as '?'. */
static void output_text(const struct run *r, char *out, size_t size)
{
    const char *s = r->out;
    size_t len = r->outlen;
    const char *nl = r->cut ? memchr(s, '\n', len) : NULL;
    if (nl) {
        len -= (size_t)(nl + 1 - s);
        s = nl + 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[k++] = ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[k] = '\0';
}

static void publish(struct agent_publisher *pub, const char *bot, struct bp_command_result *res,
                    int64_t wall)
{
    if (pub)
        agent_publisher_result(pub, bot, res, wall);
}

static void start(struct agent_commands *c, int bot, enum agent_action action,
                  struct bp_command_result *res, struct agent_publisher *pub, int64_t mono,
                  int64_t wall)
{
    const struct agent_bot_config *b = &c->cfg->bots[bot];
    struct run *r = &c->active[bot];
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    struct agent_spawn_for who = {.bot = b->name,
                                  .action = action_names[action],
                                  .notify_socket = c->cfg->notify_socket,
                                  .pass_env = b->pass_env};
    int rc = spawn(r, b->actions[action], &who);
    if (rc != 0) {
        snprintf(res->outcome, sizeof(res->outcome), "failed");
        res->exit_code = -1;
        snprintf(res->reason, sizeof(res->reason), "cannot run: %s", strerror(-rc));
        BP_WARN(MOD, "%s for bot %s: cannot run '%s': %s", action_names[action], b->name,
                b->actions[action], strerror(-rc));
        publish(pub, b->name, res, wall);
        return;
    }
    r->active = true;
    r->action = action;
    r->started_mono = mono;
    r->reap_mono = mono + REAP_FIRST_MS;
    r->reap_backoff_ms = REAP_FIRST_MS;
    snprintf(r->nonce, sizeof(r->nonce), "%s", res->nonce);
    BP_INFO(MOD, "%s for bot %s: running '%s' (pid %d, nonce %s)", action_names[action], b->name,
            b->actions[action], (int)r->pid, res->nonce);
}

/* Judges a run that exited (or was killed) and publishes its result. */
static void finish(struct agent_commands *c, int bot, int status, struct agent_publisher *pub,
                   int64_t mono, int64_t wall)
{
    struct run *r = &c->active[bot];
    const char *name = c->cfg->bots[bot].name;
    if (r->fd >= 0) {
        read_output(r); /* what it wrote last; a child it left behind may hold the pipe */
        if (r->fd >= 0)
            close(r->fd);
        r->fd = -1;
    }
    struct bp_command_result *res = calloc(1, sizeof(*res));
    if (res) {
        snprintf(res->nonce, sizeof(res->nonce), "%s", r->nonce);
        snprintf(res->action, sizeof(res->action), "%s", action_names[r->action]);
        res->duration_ms = mono - r->started_mono;
        output_text(r, res->output, sizeof(res->output));
        if (r->killed) {
            snprintf(res->outcome, sizeof(res->outcome), "timeout");
            res->exit_code = -1;
            snprintf(res->reason, sizeof(res->reason), "killed after %lld ms",
                     (long long)c->cfg->command_timeout_ms);
        } else if (WIFSIGNALED(status)) {
            snprintf(res->outcome, sizeof(res->outcome), "failed");
            res->exit_code = 128 + WTERMSIG(status) > 255 ? 255 : 128 + WTERMSIG(status);
            snprintf(res->reason, sizeof(res->reason), "killed by signal %d", WTERMSIG(status));
        } else {
            res->exit_code = WEXITSTATUS(status);
            snprintf(res->outcome, sizeof(res->outcome), "%s", res->exit_code ? "failed" : "ok");
            if (res->exit_code)
                snprintf(res->reason, sizeof(res->reason), "exit status %d", (int)res->exit_code);
        }
        BP_INFO(MOD, "%s for bot %s: %s%s%s after %lld ms", res->action, name, res->outcome,
                res->reason[0] ? ": " : "", res->reason, (long long)res->duration_ms);
        publish(pub, name, res, wall);
        free(res);
    }
    r->active = false;
    r->pid = 0;
}

static void step_run(struct agent_commands *c, int bot, struct agent_publisher *pub, int64_t mono,
                     int64_t wall)
{
    struct run *r = &c->active[bot];
    if (!r->active)
        return;
    if (r->fd >= 0)
        read_output(r);
    if (!r->killed && mono >= r->started_mono + c->cfg->command_timeout_ms) {
        kill(-r->pid, SIGKILL);
        r->killed = true;
        r->reap_mono = mono;
    }
    if (mono < r->reap_mono)
        return;
    int status = 0;
    pid_t got = waitpid(r->pid, &status, WNOHANG);
    if (got == r->pid || (got < 0 && errno == ECHILD)) {
        finish(c, bot, status, pub, mono, wall);
        return;
    }
    r->reap_mono = mono + r->reap_backoff_ms;
    if (r->reap_backoff_ms < REAP_MAX_MS)
        r->reap_backoff_ms *= 2;
}

static void handle_one(struct agent_commands *c, const struct inbox_item *it,
                       struct agent_publisher *pub, int64_t mono, int64_t wall)
{
    struct bp_command_result *res = calloc(1, sizeof(*res));
    if (!res)
        return;
    char bot_name[BP_ID_MAX + 1];
    int bot = -1;
    enum agent_action action = AGENT_ACT_RESTART;
    if (agent_commands_check(c, it->payload, it->len, mono, wall, &bot, &action, res, bot_name) !=
        0) {
        BP_WARN(MOD, "refused %s for bot %s (nonce %s): %s",
                res->action[0] ? res->action : "command", bot_name[0] ? bot_name : "?",
                res->nonce[0] ? res->nonce : "-", res->reason);
        /* only one of our bots is named in the result: the id came from the sender */
        publish(pub, agent_config_find_bot(c->cfg, bot_name) >= 0 ? bot_name : "", res, wall);
    } else {
        start(c, bot, action, res, pub, mono, wall);
    }
    free(res);
}

void agent_commands_process(struct agent_commands *c, struct agent_publisher *pub, int64_t mono,
                            int64_t wall)
{
    uint64_t v;
    while (read(c->wake_fd, &v, sizeof(v)) > 0)
        ;
    void *items[INBOX_MAX];
    size_t got = bp_queue_pop_wait(c->inbox, items, INBOX_MAX, 0);
    for (size_t i = 0; i < got; i++) {
        handle_one(c, items[i], pub, mono, wall);
        free(items[i]);
    }
    for (int b = 0; b < c->cfg->nbots; b++)
        step_run(c, b, pub, mono, wall);
}

size_t agent_commands_pollfds(const struct agent_commands *c, struct pollfd *out, size_t max)
{
    size_t k = 0;
    if (k < max)
        out[k++] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
    for (int b = 0; b < c->cfg->nbots && k < max; b++)
        if (c->active[b].active && c->active[b].fd >= 0)
            out[k++] = (struct pollfd){.fd = c->active[b].fd, .events = POLLIN};
    return k;
}

int64_t agent_commands_deadline(const struct agent_commands *c)
{
    int64_t due = INT64_MAX;
    for (int b = 0; b < c->cfg->nbots; b++) {
        const struct run *r = &c->active[b];
        if (!r->active)
            continue;
        int64_t t = r->killed ? r->reap_mono : r->started_mono + c->cfg->command_timeout_ms;
        if (!r->killed && r->reap_mono < t)
            t = r->reap_mono;
        if (t < due)
            due = t;
    }
    return due;
}
