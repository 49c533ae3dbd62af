/* SPDX-License-Identifier: MIT */
/* One check round: procwatch, heartbeat files and log files per bot, then the host. */
#include "agent_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_hbfile.h"
#include "agent_hoststats.h"
#include "agent_procwatch.h"
#include "clock.h"

static const char *const state_names[] = {"OK", "WARNING", "CRITICAL"};

struct line {
    int state;
    char text[512];
    size_t len;
};

__attribute__((format(printf, 3, 4))) static void note(struct line *l, int state, const char *fmt,
                                                       ...)
{
    va_list ap;
    if (state > l->state)
        l->state = state;
    if (l->len >= sizeof(l->text) - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->text) - l->len ? (size_t)n : sizeof(l->text) - 1 - l->len;
}

static void check_hbfile(const struct agent_bot_config *c, bool finder, int64_t wall,
                         struct line *l)
{
    struct agent_hbfile_sample s;
    int rc = agent_hbfile_read(c->heartbeat_file, wall, &s);
    int bad = finder ? AGENT_CHECK_WARN : AGENT_CHECK_CRIT; /* alone it is the liveness */
    if (rc != 0)
        note(l, bad, "; heartbeat file %s: %s", c->heartbeat_file, strerror(-rc));
    else if (!agent_hbfile_is_fresh(&s, c->heartbeat_file_max_age_ms))
        note(l, bad, "; heartbeat file %llds old (max %llds)", (long long)(s.age_ms / 1000),
             (long long)(c->heartbeat_file_max_age_ms / 1000));
    else
        note(l, AGENT_CHECK_OK, "; heartbeat file %llds old", (long long)(s.age_ms / 1000));
}

static void check_log(const struct agent_bot_config *c, struct line *l)
{
    int fd = open(c->log_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        note(l, AGENT_CHECK_WARN, "; log %s: %s", c->log_file, strerror(errno));
        return;
    }
    close(fd);
}

static void check_bot(const struct agent_bot_config *c, struct agent_procwatch *w,
                      const struct agent_proc_env *env, int64_t wall, FILE *out, int *worst)
{
    struct line l = {0};
    bool finder = c->pid_file[0] || c->process_name[0] || c->cmdline[0] || c->systemd_unit[0];
    if (finder && agent_procwatch_is_alive(w))
        note(&l, AGENT_CHECK_OK, "pid %d up %llds", w->pid,
             (long long)agent_procwatch_uptime_s(w, env, wall));
    else if (finder)
        note(&l, AGENT_CHECK_CRIT, "process not running");
    else
        note(&l, AGENT_CHECK_OK, "no process to find");
    if (c->heartbeat_file[0])
        check_hbfile(c, finder, wall, &l);
    if (c->log_file[0])
        check_log(c, &l);
    fprintf(out, "%s: %s - %s\n", c->name, state_names[l.state], l.text);
    if (l.state > *worst)
        *worst = l.state;
}

static void print_host(const struct agent_config *cfg, const struct agent_host_sample *hs,
                       FILE *out)
{
    fprintf(out, "host %s:", cfg->host);
    if (hs->mem_pct >= 0)
        fprintf(out, " mem %.0f%%", hs->mem_pct);
    if (hs->disk_pct >= 0)
        fprintf(out, " disk %.0f%%", hs->disk_pct);
    if (hs->load1 >= 0)
        fprintf(out, " load %.2f", hs->load1);
    fputc('\n', out);
}

int agent_check_run(const struct agent_config *cfg, const char *proc_root, FILE *out)
{
    struct agent_proc_env env;
    struct agent_hoststats host;
    struct agent_host_sample hs;
    int worst = AGENT_CHECK_OK;
    int64_t wall = bp_wall_ms();
    struct agent_procwatch *ws = calloc((size_t)cfg->nbots + 1, sizeof(*ws));
    struct agent_procwatch *ptrs[BP_AGENT_MAX_BOTS];
    if (!ws) {
        fprintf(out, "CRITICAL - out of memory\n");
        return AGENT_CHECK_CRIT;
    }
    agent_proc_env_init(&env, proc_root);
    env.pidfds = false; /* one look: nothing to wait for */
    agent_hoststats_init(&host, proc_root);
    agent_hoststats_sample(&host, cfg->mounts, cfg->nmounts, &hs);
    env.btime_ms = hs.btime_ms;
    for (int i = 0; i < cfg->nbots; i++) {
        const struct agent_bot_config *c = &cfg->bots[i];
        agent_procwatch_init(&ws[i], c->name, c->pid_file, c->process_name);
        ws[i].systemd_unit = c->systemd_unit;
        if (agent_procwatch_set_cmdline(&ws[i], c->cmdline) != 0)
            worst = AGENT_CHECK_CRIT; /* the config loader compiled it: cannot happen */
        ptrs[i] = &ws[i];
    }
    agent_procwatch_refresh(ptrs, (size_t)cfg->nbots, &env);
    for (int i = 0; i < cfg->nbots; i++) {
        check_bot(&cfg->bots[i], &ws[i], &env, wall, out, &worst);
        agent_procwatch_cleanup(&ws[i]);
    }
    print_host(cfg, &hs, out);
    free(ws);
    return worst;
}
