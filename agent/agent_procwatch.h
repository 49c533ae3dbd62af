/* SPDX-License-Identifier: MIT */
/* Finds each bot's process (pid file and/or process name), follows it across restarts under a
 * new pid (counting them), watches it through a pidfd so its exit is seen at once, and reads its
 * uptime, CPU time and RSS from /proc. The parsers take buffers and
 * every reader takes the /proc root, so tests feed fixture files and fake process trees. */
#ifndef AGENT_PROCWATCH_H
#define AGENT_PROCWATCH_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_COMM_MAX 64
#define AGENT_PATH_BYTES 320   /* room for a /proc root, a pid and a file name */
#define AGENT_CMDLINE_MAX 4096 /* bytes of /proc/<pid>/cmdline matched against a pattern */

/* The fields we use from /proc/<pid>/stat. */
struct agent_proc_stat {
    int pid;
    char comm[AGENT_COMM_MAX]; /* as the kernel reports it (<= 15 chars, may hold ' ' and ')') */
    char state;                /* 'R', 'S', 'Z', ... */
    uint64_t utime, stime;     /* clock ticks */
    uint64_t num_threads;      /* field 20 */
    uint64_t starttime;        /* clock ticks after boot */
};

/* Parses the text of /proc/<pid>/stat. The comm field runs from the first '(' to the LAST ')',
 * so names with spaces or parentheses parse. 0 or -EINVAL. */
int agent_proc_parse_stat(const char *buf, size_t len, struct agent_proc_stat *out);
/* Resident set from /proc/<pid>/statm (second field, in pages). 0 or -EINVAL. */
int agent_proc_parse_statm(const char *buf, size_t len, uint64_t *rss_pages);
/* VmRSS from /proc/<pid>/status, in kB. 0, or -ENOENT when absent (kernel threads). */
int agent_proc_parse_status_rss(const char *buf, size_t len, uint64_t *rss_kb);
/* A pid file: decimal digits, optional surrounding blanks and newline, 1..4194304. 0/-EINVAL. */
int agent_proc_parse_pidfile(const char *buf, size_t len, int *pid);
/* Copies the basename of argv[0] from the text of /proc/<pid>/cmdline (NUL-separated) into out.
 * 0, or -EINVAL when empty. */
int agent_proc_parse_argv0(const char *buf, size_t len, char *out, size_t size);
/* The text of /proc/<pid>/cmdline as a pattern sees it: NULs between arguments become spaces,
 * trailing NULs are dropped, and it is cut to size - 1 bytes. Always NUL-terminates out. */
void agent_proc_cmdline_text(const char *buf, size_t len, char *out, size_t size);
/* Does a process with this comm and argv[0] basename answer to name? comm matches exactly, or
 * by its first 15 chars when name is longer (the kernel truncates comm); argv0 matches exactly. */
bool agent_proc_name_matches(const char *name, const char *comm, const char *argv0);

/* CPU percent of one core used between two samples: 100 * (dticks / hz) / (dt_ms / 1000).
 * -1 when it cannot be known (no time passed, counters went backwards). */
double agent_proc_cpu_pct(uint64_t prev_ticks, uint64_t cur_ticks, int64_t dt_ms, long hz);

/* The pids listed in a cgroup.procs file (one decimal pid a line), in file order, at most
 * max; lines that are not a pid are skipped. Returns how many were stored. */
size_t agent_proc_parse_pids(const char *buf, size_t len, int *pids, size_t max);

/* Where and how to read: "/proc" in production, a fixture tree in tests. */
struct agent_proc_env {
    const char *root;
    const char *cgroup_root; /* "/sys/fs/cgroup" (cgroup v2), for systemd units */
    long hz;                 /* sysconf(_SC_CLK_TCK) */
    long page_kb;            /* page size in kB */
    int64_t btime_ms;        /* boot time, Unix ms (btime of /proc/stat) */
    int self_pid;            /* never matched by name */
    bool pidfds;             /* watch found processes through pidfds (the real /proc only) */
};

int agent_proc_env_init(struct agent_proc_env *env, const char *root);

/* One watched bot. Caller-allocated; agent_procwatch_init, then refresh on every heartbeat. */
struct agent_procwatch {
    const char *name;         /* bot name, for logs (borrowed) */
    const char *pid_file;     /* "" or NULL: none (borrowed) */
    const char *process_name; /* "" or NULL: none (borrowed) */
    const char *systemd_unit; /* "" or NULL: none (borrowed); set after init */
    bool has_cmdline;         /* a command-line pattern is set (agent_procwatch_set_cmdline) */
    regex_t cmdline_re;
    /* Current process; pid 0 when not found. (pid, starttime) identifies it across pid reuse. */
    int pid;
    uint64_t starttime;
    struct agent_proc_stat st; /* last read of /proc/<pid>/stat */
    /* Last CPU sample, for agent_procwatch_cpu_pct. */
    int cpu_pid;
    uint64_t cpu_starttime, cpu_ticks;
    int64_t cpu_mono_ms;
    /* Restarts: a process other than the last one seen (new pid or start time). */
    uint64_t restarts;
    bool seen; /* some process was found once: the next different one is a restart */
    int seen_pid;
    uint64_t seen_starttime;
    /* The pidfd of the current process (-1: none), readable the moment it exits, and the
     * process it was opened for (or given up on). */
    int pidfd;
    int pidfd_pid;
    uint64_t pidfd_starttime;
    bool vanished; /* it exited between being found and its pidfd being opened */
};

void agent_procwatch_init(struct agent_procwatch *w, const char *name, const char *pid_file,
                          const char *process_name);

/* Adds a POSIX extended pattern that the process's command line (agent_proc_cmdline_text)
 * must match: with a pid file or process name, as an extra condition; alone, to find the
 * bot by one scan like process_name. "" or NULL: none. 0, or -EINVAL for a bad pattern. */
int agent_procwatch_set_cmdline(struct agent_procwatch *w, const char *pattern);
/* Frees the pattern and closes the pidfd. */
void agent_procwatch_cleanup(struct agent_procwatch *w);

/* A bot with systemd_unit is the oldest live process listed in
 * <cgroup_root>/system.slice/<unit>/cgroup.procs (<cgroup_root>/<unit>/cgroup.procs when the
 * unit holds a '/', e.g. "user.slice/.../bot.service"), that also passes process_name and
 * cmdline when they are set; it is re-read on every refresh, so a restarted unit is found
 * under its new pid. Otherwise: re-checks each bot: keeps the known process while (pid, starttime)
 * lives and its pid file (if any) still names it; a bot with a pid file is the live process that
 * file names (which, when process_name is set too, must have that name), and nothing else; bots
 * with only a process_name and/or a cmdline pattern are found by one scan of <root>/ * for all of
 * them. Logs when a bot is found, lost or restarted, and counts each process found after
 * another one as a restart. With env->pidfds, opens a pidfd for each newly found process and
 * closes the one of a process that is gone (agent_procwatch_pidfd). Returns how many bots are
 * alive. */
int agent_procwatch_refresh(struct agent_procwatch *const *ws, size_t n,
                            const struct agent_proc_env *env);

/* The pidfd of the watched process (poll it: readable = it exited), or -1 (none found, not on
 * the real /proc, or a kernel without pidfd_open). */
int agent_procwatch_pidfd(const struct agent_procwatch *w);
/* After its pidfd was readable: closes it and does not open another for the same process
 * (a refresh follows; a process that somehow still lives is then only polled). */
void agent_procwatch_pidfd_fired(struct agent_procwatch *w);
/* True when the last refresh found the process, but it was gone before its pidfd could be
 * opened: look again at once. */
bool agent_procwatch_vanished(const struct agent_procwatch *w);
/* Processes found after another one since the agent started (agent_procwatch_refresh). */
uint64_t agent_procwatch_restarts(const struct agent_procwatch *w);

bool agent_procwatch_is_alive(const struct agent_procwatch *w);
/* Process start, Unix ms (btime + starttime), and whole seconds since then (>= 0). */
int64_t agent_procwatch_start_ts(const struct agent_procwatch *w, const struct agent_proc_env *env);
int64_t agent_procwatch_uptime_s(const struct agent_procwatch *w, const struct agent_proc_env *env,
                                 int64_t wall_ms);
/* Threads of the current process (from the stat of the last refresh), or -1 when unknown. */
int64_t agent_procwatch_threads(const struct agent_procwatch *w);
/* Open file descriptors of the current process (entries of <root>/<pid>/fd), or -1 when it
 * cannot be listed (another user's process, or gone). One readdir per call. */
int64_t agent_procwatch_fds(const struct agent_procwatch *w, const struct agent_proc_env *env);
/* RSS of the current process in kB, or -1 when unknown. */
int64_t agent_procwatch_rss_kb(const struct agent_procwatch *w, const struct agent_proc_env *env);
/* CPU % since the previous call (the first call for a process sets the baseline and gives -1).
 * Uses the stat read by the last refresh. */
double agent_procwatch_cpu_pct(struct agent_procwatch *w, const struct agent_proc_env *env,
                               int64_t mono_ms);

#endif
