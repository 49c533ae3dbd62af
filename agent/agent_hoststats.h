/* SPDX-License-Identifier: MIT */
/* Host resources from /proc and statvfs: CPU busy % between samples, memory in use, the
 * fullest watched mount, the 1-minute load. Parsers take buffers or paths (fixture files). */
#ifndef AGENT_HOSTSTATS_H
#define AGENT_HOSTSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The aggregate "cpu" line of /proc/stat, in ticks, and btime. */
struct agent_cpu_times {
    uint64_t total; /* user+nice+system+idle+iowait+irq+softirq+steal (guest is inside user) */
    uint64_t idle;  /* idle + iowait */
    int64_t btime;  /* boot time, Unix seconds; 0 if absent */
};

int agent_hoststats_parse_stat(const char *buf, size_t len, struct agent_cpu_times *out);
int agent_hoststats_read_stat(const char *path, struct agent_cpu_times *out);
/* Busy % between two samples, 0..100 (0 when no tick passed). */
double agent_hoststats_cpu_pct(const struct agent_cpu_times *prev,
                               const struct agent_cpu_times *cur);

/* Memory in use, %: (MemTotal - MemAvailable) / MemTotal; kernels without MemAvailable fall
 * back to MemFree + Buffers + Cached. 0 or -EINVAL. */
int agent_hoststats_parse_meminfo(const char *buf, size_t len, double *used_pct);
int agent_hoststats_read_meminfo(const char *path, double *used_pct);

/* Swap in use, %: (SwapTotal - SwapFree) / SwapTotal, 0 without swap. 0, or -ENOENT when
 * meminfo has no swap lines. */
int agent_hoststats_parse_swap(const char *buf, size_t len, double *used_pct);

/* First field of /proc/loadavg. 0 or -EINVAL. */
int agent_hoststats_parse_loadavg(const char *buf, size_t len, double *load1);
int agent_hoststats_read_loadavg(const char *path, double *load1);

/* Used % of one mount as df shows it: used / (used + available to users). 0 or -errno. */
int agent_hoststats_disk_pct(const char *mount, double *used_pct);

/* The sampler: keeps the previous CPU sample between calls. Caller-allocated. */
struct agent_hoststats {
    const char *proc_root; /* "/proc" (borrowed) */
    struct agent_cpu_times prev;
    bool have_prev;
    bool disk_warned;
};

struct agent_host_sample {
    double cpu_pct;  /* -1 on the first sample */
    double mem_pct;  /* -1 when unreadable */
    double swap_pct; /* -1 when unreadable; 0 without swap */
    double disk_pct; /* fullest of the mounts; -1 when none could be read */
    double load1;    /* -1 when unreadable */
    int64_t btime_ms;
};

void agent_hoststats_init(struct agent_hoststats *h, const char *proc_root);
/* Samples everything; mounts[0..nmounts). Never fails: unknown values are -1. */
void agent_hoststats_sample(struct agent_hoststats *h, const char (*mounts)[256], int nmounts,
                            struct agent_host_sample *out);

#endif
