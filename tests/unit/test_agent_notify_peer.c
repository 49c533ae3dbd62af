/* SPDX-License-Identifier: MIT */
/* Who may speak for a bot on the notify socket: the rule (anyone without notify_user; else that
 * uid and root), and the real thing: a server whose socket anyone may connect to, a client
 * running as another uid (a forked child that drops to nobody when we are root; ourselves
 * against another uid when we are not) refused with a reason, the allowed uid accepted. */
#include "agent_notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_config.h"

#define NOBODY 65534u

static struct agent_config cfg;

static void one_bot(const char *user, uint32_t uid, bool restricted)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.nbots = 1;
    snprintf(cfg.bots[0].name, sizeof(cfg.bots[0].name), "b1");
    snprintf(cfg.bots[0].notify_user, sizeof(cfg.bots[0].notify_user), "%s", user);
    cfg.bots[0].has_notify_uid = restricted;
    cfg.bots[0].notify_uid = uid;
}

static void test_rule(void **state)
{
    char err[256];
    struct agent_notify_peer alice = {true, 42, 1000, 1000}, bob = {true, 43, 1001, 1001},
                             root = {true, 1, 0, 0}, unknown = {false, 0, 0, 0};
    one_bot("", 0, false); /* the default: whoever can connect */
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &bob, err, sizeof(err)), 0);
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &unknown, err, sizeof(err)), 0);
    one_bot("alice", 1000, true);
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &alice, err, sizeof(err)), 0);
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &root, err, sizeof(err)), 0);
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &bob, err, sizeof(err)), -EPERM);
    assert_string_equal(err, "uid 1001 (pid 43) may not speak for bot b1: it takes requests from "
                             "user alice (uid 1000) and root only");
    assert_int_equal(agent_notify_check_peer(&cfg.bots[0], &unknown, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "the sender is unknown"));
}

/* The agent's handler in small: parse, then ask who sent it. */
static void handler(void *ctx, const struct agent_notify_peer *peer, const char *req, size_t len,
                    char *out, size_t outlen)
{
    struct agent_notify_req r;
    char err[300];
    if (agent_notify_parse(req, len, &cfg, &r, err, sizeof(err)) != 0 ||
        agent_notify_check_peer(&cfg.bots[r.bot], peer, err, sizeof(err)) != 0)
        snprintf(out, outlen, "error: %s", err);
    else
        snprintf(out, outlen, "ok");
}

/* Sends "tick bot=b1" as uid (dropping to it in a child when it is not ours) while this
 * process serves; returns the agent's reply (static). */
static const char *tick_as(struct agent_notify_server *s, const char *path, uid_t uid)
{
    static char reply[512];
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[512] = "", why[256] = "";
        if (uid != getuid() && (setgid(uid) != 0 || setuid(uid) != 0))
            snprintf(buf, sizeof(buf), "cannot become uid %u", (unsigned)uid);
        else if (agent_notify_send(path, "tick bot=b1", buf, sizeof(buf), 3000, why, sizeof(why)) !=
                 0)
            snprintf(buf, sizeof(buf), "unreachable: %s", why);
        ssize_t w = write(pfd[1], buf, strlen(buf));
        _exit(w < 0);
    }
    close(pfd[1]);
    int status = -1;
    for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++) {
        struct pollfd pfds[1 + AGENT_NOTIFY_MAX_CONNS];
        size_t n = agent_notify_server_pollfds(s, pfds, 1 + AGENT_NOTIFY_MAX_CONNS);
        if (poll(pfds, n, 20) > 0)
            agent_notify_server_process(s, pfds, n, 0, handler, NULL);
    }
    ssize_t n = read(pfd[0], reply, sizeof(reply) - 1);
    reply[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    return reply;
}

static void test_real_sender_checked(void **state)
{
    char dir[] = "/tmp/bp-notify-peer-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/notify.sock", dir);
    struct agent_notify_server s;
    assert_int_equal(agent_notify_server_start(&s, path), 0);
    assert_int_equal(chmod(path, 0666), 0); /* anyone may connect: only the uid check is left */
    uid_t me = getuid(), other = me == 0 ? NOBODY : me + 1;
    char want[256];

    one_bot("", 0, false);
    if (me == 0)
        assert_string_equal(tick_as(&s, path, other), "ok");
    assert_string_equal(tick_as(&s, path, me), "ok");

    /* The bot takes requests from some third user only: the other uid is refused... */
    one_bot("someone", other + 1, true);
    snprintf(want, sizeof(want), "error: uid %u (pid ", (unsigned)(me == 0 ? other : me));
    const char *got = tick_as(&s, path, me == 0 ? other : me);
    if (strncmp(got, want, strlen(want)) != 0 || !strstr(got, "may not speak for bot b1"))
        fail_msg("want '%s...', got '%s'", want, got);
    /* ...and the user it names is accepted. */
    one_bot("someone", me == 0 ? other : me, true);
    assert_string_equal(tick_as(&s, path, me == 0 ? other : me), "ok");
    agent_notify_server_stop(&s);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_real_sender_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
