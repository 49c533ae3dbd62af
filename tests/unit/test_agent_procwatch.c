/* SPDX-License-Identifier: MIT */
/* procwatch: /proc/<pid> parsers on captured and hand-made files, finding bots in a fake /proc
 * tree, CPU % deltas, and following a real child process across a restart under a new pid. */
#include "agent_procwatch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_procfs.h"

#define PROC_DIR BP_FIXTURE_DIR "/proc"
#define TREE PROC_DIR "/tree"
#define PIDFILES PROC_DIR "/pidfiles"

static size_t slurp(const char *path, char *buf, size_t size)
{
    size_t len = 0;
    assert_int_equal(agent_procfs_read(path, buf, size, &len), 0);
    return len;
}

static void test_stat_real(void **state)
{
    char buf[1024];
    size_t len = slurp(PROC_DIR "/pid_stat", buf, sizeof(buf));
    struct agent_proc_stat st;
    assert_int_equal(agent_proc_parse_stat(buf, len, &st), 0);
    assert_int_equal(st.pid, 12511);
    assert_string_equal(st.comm, "bash");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.utime, 0);
    assert_int_equal(st.stime, 0);
    assert_int_equal(st.starttime, 974846);
    assert_int_equal(st.num_threads, 1);
}

static void test_stat_comm_with_spaces_and_parens(void **state)
{
    char buf[1024];
    size_t len = slurp(PROC_DIR "/pid_stat_parens", buf, sizeof(buf));
    struct agent_proc_stat st;
    assert_int_equal(agent_proc_parse_stat(buf, len, &st), 0);
    assert_int_equal(st.pid, 4242);
    assert_string_equal(st.comm, "my bot (v2) ");
    assert_int_equal(st.utime, 1500);
    assert_int_equal(st.stime, 250);
    assert_int_equal(st.starttime, 123456);
}

static void test_stat_close_paren_in_comm_and_negatives(void **state)
{
    char buf[1024];
    size_t len = slurp(PROC_DIR "/pid_stat_negative", buf, sizeof(buf));
    struct agent_proc_stat st;
    assert_int_equal(agent_proc_parse_stat(buf, len, &st), 0);
    assert_string_equal(st.comm, "a) b");
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.starttime, 42);
}

static void test_stat_malformed(void **state)
{
    char buf[1024];
    struct agent_proc_stat st;
    size_t len = slurp(PROC_DIR "/pid_stat_truncated", buf, sizeof(buf));
    assert_int_equal(agent_proc_parse_stat(buf, len, &st), -EINVAL);
    const char *bad[] = {"",
                         "12",
                         "12 (x",
                         "x) S 1",
                         "0 (x) S 1 2",
                         "12 (x)S 1",
                         "12 (x) S 1 2 3 4 5 6 7 8 9 10 11 twelve 13 14 15 16 17 18 19"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(agent_proc_parse_stat(bad[i], strlen(bad[i]), &st), -EINVAL);
}

static void test_statm_status_cmdline(void **state)
{
    char buf[2048];
    uint64_t pages = 0, kb = 0;
    size_t len = slurp(PROC_DIR "/pid_statm", buf, sizeof(buf));
    assert_int_equal(agent_proc_parse_statm(buf, len, &pages), 0);
    assert_int_equal(pages, 579);
    len = slurp(PROC_DIR "/pid_status", buf, sizeof(buf));
    assert_int_equal(agent_proc_parse_status_rss(buf, len, &kb), 0);
    assert_int_equal(kb, 2316);
    assert_int_equal(agent_proc_parse_status_rss("Name:\tkthreadd\n", 15, &kb), -ENOENT);
    assert_int_equal(agent_proc_parse_statm("123", 3, &pages), -EINVAL);

    char argv0[64];
    len = slurp(PROC_DIR "/pid_cmdline", buf, sizeof(buf));
    assert_int_equal(agent_proc_parse_argv0(buf, len, argv0, sizeof(argv0)), 0);
    assert_string_equal(argv0, "bash");
    assert_int_equal(agent_proc_parse_argv0("/opt/x/demo-bot\0-c\0", 19, argv0, 64), 0);
    assert_string_equal(argv0, "demo-bot");
    assert_int_equal(agent_proc_parse_argv0("", 0, argv0, 64), -EINVAL);
}

static void test_pidfile_parse(void **state)
{
    int pid = 0;
    assert_int_equal(agent_proc_parse_pidfile("1234\n", 5, &pid), 0);
    assert_int_equal(pid, 1234);
    assert_int_equal(agent_proc_parse_pidfile(" 77 \r\n", 6, &pid), 0);
    assert_int_equal(pid, 77);
    const char *bad[] = {"",        "\n",      "0\n",           "-5\n",
                         "12abc\n", "12 13\n", "99999999999\n", "4194305\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(agent_proc_parse_pidfile(bad[i], strlen(bad[i]), &pid), -EINVAL);
}

static void test_name_matching(void **state)
{
    assert_true(agent_proc_name_matches("demo-bot", "demo-bot", NULL));
    assert_true(agent_proc_name_matches("demo-bot", "python3", "demo-bot"));
    assert_false(agent_proc_name_matches("demo-bot", "demo-bot2", "demo-bot2"));
    /* The kernel keeps 15 chars of comm. */
    assert_true(agent_proc_name_matches("very-long-bot-name", "very-long-bot-n", NULL));
    assert_false(agent_proc_name_matches("very-long-bot-name", "very-long-bot", NULL));
    assert_false(agent_proc_name_matches("short", "shor", NULL));
    assert_false(agent_proc_name_matches("", "", ""));
}

static void test_cpu_pct(void **state)
{
    /* 50 ticks at 100 Hz over 1 s = half a core. */
    assert_float_equal(agent_proc_cpu_pct(1000, 1050, 1000, 100), 50.0, 1e-9);
    /* 400 ticks over 2 s = two cores. */
    assert_float_equal(agent_proc_cpu_pct(0, 400, 2000, 100), 200.0, 1e-9);
    assert_float_equal(agent_proc_cpu_pct(10, 10, 5000, 100), 0.0, 1e-9);
    assert_float_equal(agent_proc_cpu_pct(10, 5, 1000, 100), -1.0, 1e-9);
    assert_float_equal(agent_proc_cpu_pct(10, 20, 0, 100), -1.0, 1e-9);
}

static void tree_env(struct agent_proc_env *env)
{
    agent_proc_env_init(env, TREE);
    env->hz = 100;
    env->page_kb = 4;
    env->btime_ms = 1700000000000LL;
    env->self_pid = -1;
}

static int refresh_one(struct agent_procwatch *w, const struct agent_proc_env *env)
{
    struct agent_procwatch *ws[1] = {w};
    return agent_procwatch_refresh(ws, 1, env);
}

static void test_find_by_name_in_tree(void **state)
{
    struct agent_proc_env env;
    tree_env(&env);
    struct agent_procwatch a, b, c, d, e, f;
    agent_procwatch_init(&a, "a", NULL, "demo-bot");         /* 100 and 101: oldest wins */
    agent_procwatch_init(&b, "b", "", "very-long-bot-name"); /* truncated comm, argv0 */
    agent_procwatch_init(&c, "c", NULL, "argv-bot");         /* only argv[0] matches */
    agent_procwatch_init(&d, "d", NULL, "ghost-bot");        /* a zombie is not alive */
    agent_procwatch_init(&e, "e", NULL, "bot.py");           /* argv[1] is not looked at */
    agent_procwatch_init(&f, "f", NULL, "my bot (v2) ");     /* spaces and parens */
    struct agent_procwatch *ws[] = {&a, &b, &c, &d, &e, &f};
    assert_int_equal(agent_procwatch_refresh(ws, 6, &env), 4);
    assert_int_equal(a.pid, 100);
    assert_int_equal(b.pid, 300);
    assert_int_equal(c.pid, 600);
    assert_int_equal(d.pid, 0);
    assert_int_equal(e.pid, 0);
    assert_int_equal(f.pid, 400);

    /* start_ts = btime + starttime / hz; uptime from the wall clock. */
    assert_int_equal(agent_procwatch_start_ts(&a, &env), 1700000000000LL + 50000);
    assert_int_equal(agent_procwatch_uptime_s(&a, &env, 1700000000000LL + 50000 + 12345), 12);
    assert_int_equal(agent_procwatch_uptime_s(&a, &env, 1700000000000LL), 0);
    assert_int_equal(agent_procwatch_rss_kb(&a, &env), 640 * 4);
    assert_int_equal(agent_procwatch_threads(&a), 2);    /* field 20 of its stat */
    assert_int_equal(agent_procwatch_fds(&a, &env), 5);  /* entries of tree/100/fd */
    assert_int_equal(agent_procwatch_fds(&f, &env), -1); /* no fd dir: cannot list */
    assert_int_equal(agent_procwatch_threads(&d), -1);
    assert_int_equal(agent_procwatch_fds(&d, &env), -1);
    assert_int_equal(agent_procwatch_start_ts(&d, &env), 0);
    assert_int_equal(agent_procwatch_rss_kb(&d, &env), -1);
}

static void test_cmdline_text(void **state)
{
    char buf[64], out[64];
    size_t len = slurp(TREE "/100/cmdline", buf, sizeof(buf));
    agent_proc_cmdline_text(buf, len, out, sizeof(out));
    assert_string_equal(out, "/opt/bots/demo-bot --config demo.ini");
    agent_proc_cmdline_text(buf, len, out, 10);
    assert_string_equal(out, "/opt/bots");
    agent_proc_cmdline_text("\0\0", 2, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_find_by_cmdline_in_tree(void **state)
{
    struct agent_proc_env env;
    tree_env(&env);
    struct agent_procwatch a, b, c, d, e;
    agent_procwatch_init(&a, "a", NULL, NULL);
    agent_procwatch_init(&b, "b", NULL, NULL);
    agent_procwatch_init(&c, "c", NULL, "demo-bot");
    agent_procwatch_init(&d, "d", NULL, NULL);
    agent_procwatch_init(&e, "e", PIDFILES "/good.pid", NULL);                 /* names pid 100 */
    assert_int_equal(agent_procwatch_set_cmdline(&a, "python3 bot\\.py$"), 0); /* argv[1] */
    assert_int_equal(agent_procwatch_set_cmdline(&b, "--worker"), 0);
    assert_int_equal(agent_procwatch_set_cmdline(&c, "--worker"), 0); /* and the name */
    assert_int_equal(agent_procwatch_set_cmdline(&d, "no-such-bot"), 0);
    assert_int_equal(agent_procwatch_set_cmdline(&e, "--worker"), 0); /* 100 is not a worker */
    assert_int_equal(agent_procwatch_set_cmdline(&d, "(bad"), -EINVAL);
    assert_int_equal(agent_procwatch_set_cmdline(&d, "no-such-bot"), 0);
    struct agent_procwatch *ws[] = {&a, &b, &c, &d, &e};
    assert_int_equal(agent_procwatch_refresh(ws, 5, &env), 3);
    assert_int_equal(a.pid, 200);
    assert_int_equal(b.pid, 101);
    assert_int_equal(c.pid, 101);
    assert_int_equal(d.pid, 0);
    assert_int_equal(e.pid, 0);
    for (size_t i = 0; i < 5; i++)
        agent_procwatch_cleanup(ws[i]);
}

static void test_pid_file_in_tree(void **state)
{
    struct agent_proc_env env;
    tree_env(&env);
    struct agent_procwatch w;

    agent_procwatch_init(&w, "good", PIDFILES "/good.pid", NULL);
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 100);

    agent_procwatch_init(&w, "checked", PIDFILES "/good.pid", "demo-bot");
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 100);

    /* The pid file names a process with another name: refused, and nothing else matches. */
    agent_procwatch_init(&w, "wrong-name", PIDFILES "/good.pid", "no-such-bot");
    assert_int_equal(refresh_one(&w, &env), 0);

    /* Stale, garbage, missing or zombie pid files: not alive, even when another process has
     * the bot's name (the pid file is the bot's own word; a name match could be a stranger). */
    const char *dead[] = {"/stale.pid", "/garbage.pid", "/missing.pid", "/zombie.pid"};
    for (size_t i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s%s", PIDFILES, dead[i]);
        agent_procwatch_init(&w, "dead", path, NULL);
        assert_int_equal(refresh_one(&w, &env), 0);
        assert_false(agent_procwatch_is_alive(&w));
        agent_procwatch_init(&w, "no-guessing", path, "argv-bot");
        assert_int_equal(refresh_one(&w, &env), 0);
    }

    agent_procwatch_init(&w, "spaces", PIDFILES "/spaces.pid", "my bot (v2) ");
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 400);
}

/* ---- systemd units, through their cgroup ---------------------------------------------------- */

#define CGROUP BP_FIXTURE_DIR "/cgroup"

static void test_parse_pids(void **state)
{
    int pids[4];
    const char text[] = "12\n\nx1\n4194305\n7\n0\n33";
    assert_int_equal(agent_proc_parse_pids(text, sizeof(text) - 1, pids, 4), 3);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 7);
    assert_int_equal(pids[2], 33); /* the last line needs no newline */
    assert_int_equal(agent_proc_parse_pids("1\n2\n3\n", 6, pids, 2), 2);
    assert_int_equal(agent_proc_parse_pids("", 0, pids, 4), 0);
}

static void unit_watch(struct agent_procwatch *w, const char *unit, const char *name)
{
    agent_procwatch_init(w, unit, NULL, name);
    w->systemd_unit = unit;
}

static void test_find_by_unit_in_tree(void **state)
{
    struct agent_proc_env env;
    tree_env(&env);
    env.cgroup_root = CGROUP;
    struct agent_procwatch w;

    /* Workers listed first; the oldest live process is the main one; a zombie, garbage and a
     * pid that is gone are skipped. */
    unit_watch(&w, "grid.service", NULL);
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 100);
    /* process_name narrows it: none of the unit's processes is argv-bot. */
    unit_watch(&w, "grid.service", "argv-bot");
    assert_int_equal(refresh_one(&w, &env), 0);
    /* A unit outside system.slice, by its path under the cgroup root. */
    unit_watch(&w, "user.slice/app.slice/userbot.service", NULL);
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 600);
    /* Not running: only a zombie, an empty cgroup, no cgroup (stopped units have none).
     * Never a guess by name, although process 100 is alive. */
    const char *dead[] = {"zombie.service", "empty.service", "missing.service"};
    for (size_t i = 0; i < 3; i++) {
        unit_watch(&w, dead[i], "demo-bot");
        assert_int_equal(refresh_one(&w, &env), 0);
    }
}

static void write_procs(const char *dir, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/system.slice/bot.service/cgroup.procs", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_unit_restarted_under_new_pid(void **state)
{
    char dir[64], sub[128];
    snprintf(dir, sizeof(dir), "/tmp/bp-cgroup-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/system.slice", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/system.slice/bot.service", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    struct agent_proc_env env;
    tree_env(&env);
    env.cgroup_root = dir;
    struct agent_procwatch w;
    unit_watch(&w, "bot.service", NULL);

    write_procs(dir, "200\n");
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 200);
    /* A worker starts: the known main process stays. */
    write_procs(dir, "200\n100\n");
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 200);
    assert_int_equal(agent_procwatch_restarts(&w), 0);
    assert_int_equal(agent_procwatch_pidfd(&w), -1); /* a fixture tree: no pidfds */
    /* systemctl restart: the cgroup lists the new main process only. */
    write_procs(dir, "300\n");
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(w.pid, 300);
    assert_int_equal(agent_procwatch_restarts(&w), 1);
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_int_equal(agent_procwatch_restarts(&w), 1); /* the same one: no new restart */
    /* systemctl stop: the cgroup is removed. */
    char path[256];
    snprintf(path, sizeof(path), "%s/cgroup.procs", sub);
    unlink(path);
    assert_int_equal(refresh_one(&w, &env), 0);
    rmdir(sub);
    snprintf(sub, sizeof(sub), "%s/system.slice", dir);
    rmdir(sub);
    rmdir(dir);
}

/* ---- real processes ------------------------------------------------------------------------ */

static pid_t spawn_named(const char *name)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_NAME, name, 0, 0, 0);
        for (;;)
            pause();
    }
    return pid;
}

static void write_pidfile(const char *path, pid_t pid)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", (int)pid);
    fclose(f);
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Spins until this thread has used ms of CPU time, however busy the machine is. */
static void burn_cpu(int64_t ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void test_real_restart_under_new_pid(void **state)
{
    char name[16], pidfile[] = "/tmp/bp-agent-test-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    snprintf(name, sizeof(name), "bpt-%d", (int)getpid() % 100000);

    struct agent_proc_env env;
    agent_proc_env_init(&env, "/proc");
    struct agent_procwatch byfile, byname;
    agent_procwatch_init(&byfile, "byfile", pidfile, name);
    agent_procwatch_init(&byname, "byname", NULL, name);
    struct agent_procwatch *ws[] = {&byfile, &byname};

    pid_t first = spawn_named(name);
    write_pidfile(pidfile, first);
    usleep(50000); /* let the child set its name */
    assert_int_equal(agent_procwatch_refresh(ws, 2, &env), 2);
    assert_int_equal(byfile.pid, first);
    assert_int_equal(byname.pid, first);
    assert_true(agent_procwatch_rss_kb(&byname, &env) > 0);

    assert_int_equal(agent_procwatch_restarts(&byfile), 0);

    reap(first);
    assert_int_equal(agent_procwatch_refresh(ws, 2, &env), 0);
    assert_int_equal(agent_procwatch_restarts(&byfile), 0); /* gone is not restarted */

    pid_t second = spawn_named(name);
    write_pidfile(pidfile, second);
    usleep(50000);
    assert_int_equal(agent_procwatch_refresh(ws, 2, &env), 2);
    assert_int_equal(byfile.pid, second);
    assert_int_equal(byname.pid, second);
    assert_int_equal(agent_procwatch_restarts(&byfile), 1);
    assert_int_equal(agent_procwatch_restarts(&byname), 1);
    reap(second);
    unlink(pidfile);
    agent_procwatch_cleanup(&byfile);
    agent_procwatch_cleanup(&byname);
}

/* The pidfd of a found process is readable the moment it exits (no refresh needed to see it),
 * is closed once a refresh finds it gone, and a new process gets a new one. */
static void test_real_exit_seen_through_pidfd(void **state)
{
    char name[16], pidfile[] = "/tmp/bp-agent-pidfd-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    snprintf(name, sizeof(name), "bpx-%d", (int)getpid() % 100000);
    struct agent_proc_env env;
    agent_proc_env_init(&env, "/proc");
    assert_true(env.pidfds);
    struct agent_procwatch w;
    agent_procwatch_init(&w, "exit", pidfile, NULL);
    pid_t first = spawn_named(name);
    write_pidfile(pidfile, first);
    assert_int_equal(refresh_one(&w, &env), 1);
    int pfd = agent_procwatch_pidfd(&w);
    assert_true(pfd >= 0);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0); /* alive: not readable */
    kill(first, SIGKILL);
    assert_int_equal(poll(&p, 1, 10000), 1); /* dead (a zombie, not reaped yet): readable */
    agent_procwatch_pidfd_fired(&w);
    assert_int_equal(agent_procwatch_pidfd(&w), -1);
    assert_int_equal(refresh_one(&w, &env), 0); /* a zombie is not alive */
    waitpid(first, NULL, 0);
    pid_t second = spawn_named(name);
    write_pidfile(pidfile, second);
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_true(agent_procwatch_pidfd(&w) >= 0);
    assert_int_equal(agent_procwatch_restarts(&w), 1);
    reap(second);
    assert_int_equal(refresh_one(&w, &env), 0);
    assert_int_equal(agent_procwatch_pidfd(&w), -1);
    agent_procwatch_cleanup(&w);
    unlink(pidfile);
}

/* A real exec'd process with a unique command line: "sleep 1000 0.00<our pid>" (GNU sleep adds
 * its arguments), found by pattern, lost when killed, found again under its new pid. */
static pid_t spawn_sleep(const char *marker)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sleep", "/bin/sleep", "1000", marker, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void test_real_restart_by_cmdline(void **state)
{
    char marker[32], pattern[80];
    snprintf(marker, sizeof(marker), "0.00%d", (int)getpid());
    snprintf(pattern, sizeof(pattern), "^/bin/sleep 1000 %s$", marker);
    struct agent_proc_env env;
    agent_proc_env_init(&env, "/proc");
    struct agent_procwatch w;
    agent_procwatch_init(&w, "bycmd", NULL, NULL);
    assert_int_equal(agent_procwatch_set_cmdline(&w, pattern), 0);
    struct agent_procwatch *ws[] = {&w};

    pid_t first = spawn_sleep(marker);
    usleep(100000); /* let it exec */
    assert_int_equal(agent_procwatch_refresh(ws, 1, &env), 1);
    assert_int_equal(w.pid, first);
    reap(first);
    assert_int_equal(agent_procwatch_refresh(ws, 1, &env), 0);
    pid_t second = spawn_sleep(marker);
    usleep(100000);
    assert_int_equal(agent_procwatch_refresh(ws, 1, &env), 1);
    assert_int_equal(w.pid, second);
    reap(second);
    agent_procwatch_cleanup(&w);
}

static void test_real_cpu_pct_of_self(void **state)
{
    struct agent_proc_env env;
    agent_proc_env_init(&env, "/proc");
    char pidfile[] = "/tmp/bp-agent-self-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    write_pidfile(pidfile, getpid());
    env.self_pid = -1; /* we watch ourselves here */
    struct agent_procwatch w;
    agent_procwatch_init(&w, "self", pidfile, NULL);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t t0 = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
    assert_int_equal(refresh_one(&w, &env), 1);
    assert_float_equal(agent_procwatch_cpu_pct(&w, &env, t0), -1.0, 0); /* baseline */
    burn_cpu(300);
    assert_int_equal(refresh_one(&w, &env), 1);
    /* 300 ms of CPU over a "300 ms" interval: one core, give or take a few 10 ms ticks. */
    double pct = agent_procwatch_cpu_pct(&w, &env, t0 + 300);
    if (!(pct > 80.0 && pct < 120.0))
        fail_msg("cpu %% = %f", pct);
    unlink(pidfile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pids),
        cmocka_unit_test(test_find_by_unit_in_tree),
        cmocka_unit_test(test_unit_restarted_under_new_pid),
        cmocka_unit_test(test_stat_real),
        cmocka_unit_test(test_stat_comm_with_spaces_and_parens),
        cmocka_unit_test(test_stat_close_paren_in_comm_and_negatives),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_statm_status_cmdline),
        cmocka_unit_test(test_pidfile_parse),
        cmocka_unit_test(test_name_matching),
        cmocka_unit_test(test_cpu_pct),
        cmocka_unit_test(test_find_by_name_in_tree),
        cmocka_unit_test(test_cmdline_text),
        cmocka_unit_test(test_find_by_cmdline_in_tree),
        cmocka_unit_test(test_pid_file_in_tree),
        cmocka_unit_test(test_real_restart_under_new_pid),
        cmocka_unit_test(test_real_restart_by_cmdline),
        cmocka_unit_test(test_real_exit_seen_through_pidfd),
        cmocka_unit_test(test_real_cpu_pct_of_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
