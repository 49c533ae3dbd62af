/* SPDX-License-Identifier: MIT */
/* Host CPU, memory, disk and load from /proc and statvfs, with no stdio and no shelling out. */
#include "agent_hoststats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent_procfs.h"
#include "log.h"

#define MOD "hoststats"

struct stat_ctx {
    struct agent_cpu_times *out;
    bool have_cpu;
};

static int parse_cpu_line(const char *line, size_t len, struct agent_cpu_times *out)
{
    const char *p = line + 3, *end = line + len;
    uint64_t v[8] = {0};
    int n = 0;
    /* user nice system idle iowait irq softirq steal [guest guest_nice]: >= 4 fields exist
     * on every kernel we care about; later ones are absent on old kernels. */
    for (; n < 8; n++) {
        if (agent_procfs_parse_u64(&p, end, &v[n]) != 0)
            break;
    }
    if (n < 4)
        return -EINVAL;
    out->total = 0;
    for (int i = 0; i < n; i++)
        out->total += v[i];
    out->idle = v[3] + v[4];
    return 0;
}

static int stat_line(void *ctxp, char *line, size_t len)
{
    struct stat_ctx *ctx = ctxp;
    if (len > 4 && memcmp(line, "cpu ", 4) == 0) {
        if (parse_cpu_line(line, len, ctx->out) != 0)
            return -EINVAL;
        ctx->have_cpu = true;
    } else if (len > 6 && memcmp(line, "btime ", 6) == 0) {
        const char *p = line + 6;
        uint64_t v;
        if (agent_procfs_parse_u64(&p, line + len, &v) != 0)
            return -EINVAL;
        ctx->out->btime = (int64_t)v;
    }
    return 0;
}

static int stat_finish(int rc, struct stat_ctx *ctx)
{
    if (rc != 0)
        return rc;
    return ctx->have_cpu ? 0 : -EINVAL;
}

int agent_hoststats_parse_stat(const char *buf, size_t len, struct agent_cpu_times *out)
{
    struct stat_ctx ctx = {out, false};
    memset(out, 0, sizeof(*out));
    return stat_finish(agent_procfs_buf_foreach_line(buf, len, stat_line, &ctx), &ctx);
}

int agent_hoststats_read_stat(const char *path, struct agent_cpu_times *out)
{
    struct stat_ctx ctx = {out, false};
    memset(out, 0, sizeof(*out));
    return stat_finish(agent_procfs_foreach_line(path, stat_line, &ctx), &ctx);
}

double agent_hoststats_cpu_pct(const struct agent_cpu_times *prev,
                               const struct agent_cpu_times *cur)
{
    if (cur->total <= prev->total || cur->idle < prev->idle)
        return 0.0;
    uint64_t dtotal = cur->total - prev->total;
    uint64_t didle = cur->idle - prev->idle;
    if (didle > dtotal)
        return 0.0;
    return 100.0 * (double)(dtotal - didle) / (double)dtotal;
}

/* ---- meminfo ------------------------------------------------------------------------------ */

struct mem_ctx {
    uint64_t total, avail, free_, buffers, cached, swap_total, swap_free;
    bool have_total, have_avail, have_swap_total, have_swap_free;
};

static bool mem_field(const char *line, size_t len, const char *name, uint64_t *out)
{
    size_t n = strlen(name);
    if (len <= n || memcmp(line, name, n) != 0)
        return false;
    const char *p = line + n;
    return agent_procfs_parse_u64(&p, line + len, out) == 0;
}

static int mem_line(void *ctxp, char *line, size_t len)
{
    struct mem_ctx *c = ctxp;
    if (mem_field(line, len, "MemTotal:", &c->total))
        c->have_total = true;
    else if (mem_field(line, len, "MemAvailable:", &c->avail))
        c->have_avail = true;
    else if (mem_field(line, len, "SwapTotal:", &c->swap_total))
        c->have_swap_total = true;
    else if (mem_field(line, len, "SwapFree:", &c->swap_free))
        c->have_swap_free = true;
    else if (!mem_field(line, len, "MemFree:", &c->free_) &&
             !mem_field(line, len, "Buffers:", &c->buffers))
        mem_field(line, len, "Cached:", &c->cached);
    return 0;
}

static int mem_finish(const struct mem_ctx *c, double *used_pct)
{
    if (!c->have_total || c->total == 0)
        return -EINVAL;
    uint64_t avail = c->have_avail ? c->avail : c->free_ + c->buffers + c->cached;
    if (avail > c->total)
        avail = c->total;
    *used_pct = 100.0 * (double)(c->total - avail) / (double)c->total;
    return 0;
}

static int swap_finish(const struct mem_ctx *c, double *used_pct)
{
    if (!c->have_swap_total || !c->have_swap_free)
        return -ENOENT;
    uint64_t free_ = c->swap_free < c->swap_total ? c->swap_free : c->swap_total;
    *used_pct =
        c->swap_total == 0 ? 0.0 : 100.0 * (double)(c->swap_total - free_) / (double)c->swap_total;
    return 0;
}

int agent_hoststats_parse_swap(const char *buf, size_t len, double *used_pct)
{
    struct mem_ctx c = {0};
    agent_procfs_buf_foreach_line(buf, len, mem_line, &c);
    return swap_finish(&c, used_pct);
}

/* Memory and swap in one read of meminfo: -1 for what it does not tell. */
static void read_mem_and_swap(const char *path, double *mem_pct, double *swap_pct)
{
    struct mem_ctx c = {0};
    *mem_pct = *swap_pct = -1.0;
    if (agent_procfs_foreach_line(path, mem_line, &c) != 0)
        return;
    if (mem_finish(&c, mem_pct) != 0)
        *mem_pct = -1.0;
    if (swap_finish(&c, swap_pct) != 0)
        *swap_pct = -1.0;
}

int agent_hoststats_parse_meminfo(const char *buf, size_t len, double *used_pct)
{
    struct mem_ctx c = {0};
    agent_procfs_buf_foreach_line(buf, len, mem_line, &c);
    return mem_finish(&c, used_pct);
}

int agent_hoststats_read_meminfo(const char *path, double *used_pct)
{
    struct mem_ctx c = {0};
    int rc = agent_procfs_foreach_line(path, mem_line, &c);
    if (rc != 0)
        return rc;
    return mem_finish(&c, used_pct);
}

/* ---- loadavg and disk --------------------------------------------------------------------- */

int agent_hoststats_parse_loadavg(const char *buf, size_t len, double *load1)
{
    char tmp[64];
    size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
    memcpy(tmp, buf, n);
    tmp[n] = '\0';
    if (tmp[0] < '0' || tmp[0] > '9')
        return -EINVAL;
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || (*end != ' ' && *end != '\n' && *end != '\0') || !(v >= 0.0) || v > 1e9)
        return -EINVAL;
    *load1 = v;
    return 0;
}

int agent_hoststats_read_loadavg(const char *path, double *load1)
{
    char buf[128];
    size_t len;
    int rc = agent_procfs_read(path, buf, sizeof(buf), &len);
    if (rc != 0)
        return rc;
    return agent_hoststats_parse_loadavg(buf, len, load1);
}

int agent_hoststats_disk_pct(const char *mount, double *used_pct)
{
    struct statvfs vfs;
    if (statvfs(mount, &vfs) != 0)
        return -errno;
    if (vfs.f_blocks == 0 || vfs.f_bfree > vfs.f_blocks)
        return -EINVAL;
    double used = (double)(vfs.f_blocks - vfs.f_bfree);
    double denom = used + (double)vfs.f_bavail;
    *used_pct = denom > 0 ? 100.0 * used / denom : 0.0;
    return 0;
}

/* ---- the sampler -------------------------------------------------------------------------- */

void agent_hoststats_init(struct agent_hoststats *h, const char *proc_root)
{
    memset(h, 0, sizeof(*h));
    h->proc_root = proc_root;
}

static void sample_disk(struct agent_hoststats *h, const char (*mounts)[256], int nmounts,
                        double *out)
{
    bool failed = false;
    *out = -1.0;
    for (int i = 0; i < nmounts; i++) {
        double pct;
        int rc = agent_hoststats_disk_pct(mounts[i], &pct);
        if (rc != 0) {
            if (!h->disk_warned) /* once per run: a missing mount is config, not news */
                BP_WARN(MOD, "mount %s: %s", mounts[i], strerror(-rc));
            failed = true;
            continue;
        }
        if (pct > *out)
            *out = pct;
    }
    h->disk_warned = h->disk_warned || failed;
}

void agent_hoststats_sample(struct agent_hoststats *h, const char (*mounts)[256], int nmounts,
                            struct agent_host_sample *out)
{
    char path[320];
    struct agent_cpu_times cur;
    out->cpu_pct = -1.0;
    out->btime_ms = 0;
    snprintf(path, sizeof(path), "%s/stat", h->proc_root);
    if (agent_hoststats_read_stat(path, &cur) == 0) {
        if (h->have_prev)
            out->cpu_pct = agent_hoststats_cpu_pct(&h->prev, &cur);
        h->prev = cur;
        h->have_prev = true;
        out->btime_ms = cur.btime * 1000;
    }
    snprintf(path, sizeof(path), "%s/meminfo", h->proc_root);
    read_mem_and_swap(path, &out->mem_pct, &out->swap_pct);
    snprintf(path, sizeof(path), "%s/loadavg", h->proc_root);
    if (agent_hoststats_read_loadavg(path, &out->load1) != 0)
        out->load1 = -1.0;
    sample_disk(h, mounts, nmounts, &out->disk_pct);
}
