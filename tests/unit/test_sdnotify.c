/* SPDX-License-Identifier: MIT */
/* bp_sdnotify: datagrams on a NOTIFY_SOCKET the test binds (path and abstract), the
 * watchdog period and deadline, WATCHDOG_PID for another process, and doing nothing when off. */
#include "sdnotify.h"

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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64], sock_path[128];

/* Binds a datagram socket at name (a path, or "@abstract") and points NOTIFY_SOCKET at it. */
static int bind_fake(const char *name)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    size_t len = strlen(name);
    memcpy(a.sun_path, name, len);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] != '@'));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
    setenv("NOTIFY_SOCKET", name, 1);
    return fd;
}

/* The next datagram (waits up to 1 s), NUL-terminated in buf; "" on timeout. */
static const char *recv_one(int fd, char *buf, size_t size)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    buf[0] = '\0';
    if (poll(&p, 1, 1000) == 1) {
        ssize_t n = recv(fd, buf, size - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
    return buf;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/bp-sdnotify-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
    unsetenv("WATCHDOG_PID");
    return 0;
}

static int teardown(void **state)
{
    unlink(sock_path);
    rmdir(dir);
    return 0;
}

static void test_ready_status_watchdog(void **state)
{
    char buf[512];
    int fd = bind_fake(sock_path);
    setenv("WATCHDOG_USEC", "3000000", 1);
    struct bp_sdnotify n;
    assert_int_equal(bp_sdnotify_init(&n, 1000), 0);
    /* Unset, so probes and commands do not inherit them. */
    assert_null(getenv("NOTIFY_SOCKET"));
    assert_null(getenv("WATCHDOG_USEC"));

    bp_sdnotify_ready(&n, "connected");
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "READY=1\nSTATUS=connected");
    bp_sdnotify_ready(&n, "again");
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "STATUS=again");

    /* Half of WATCHDOG_USEC, from the first deadline (due at once). */
    assert_int_equal(bp_sdnotify_deadline(&n), 1000);
    bp_sdnotify_step(&n, 1000);
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "WATCHDOG=1");
    assert_int_equal(bp_sdnotify_deadline(&n), 2500);
    bp_sdnotify_step(&n, 2499); /* not yet: nothing sent */
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "");
    bp_sdnotify_step(&n, 2500);
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "WATCHDOG=1");

    assert_int_equal(bp_sdnotify_send(&n, "STOPPING=1"), 0);
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "STOPPING=1");
    bp_sdnotify_cleanup(&n);
    close(fd);
}

static void test_abstract_and_other_pid(void **state)
{
    char buf[512], name[64];
    snprintf(name, sizeof(name), "@bp-sdnotify-test-%d", (int)getpid());
    int fd = bind_fake(name);
    setenv("WATCHDOG_USEC", "1000000", 1);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    struct bp_sdnotify n;
    assert_int_equal(bp_sdnotify_init(&n, 0), 0);
    assert_int_equal(bp_sdnotify_deadline(&n), INT64_MAX);
    bp_sdnotify_ready(&n, "up");
    assert_string_equal(recv_one(fd, buf, sizeof(buf)), "READY=1\nSTATUS=up");
    bp_sdnotify_cleanup(&n);
    close(fd);
}

static void test_off(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "1000000", 1);
    struct bp_sdnotify n;
    assert_int_equal(bp_sdnotify_init(&n, 0), 0);
    assert_int_equal(bp_sdnotify_deadline(&n), INT64_MAX);
    assert_int_equal(bp_sdnotify_send(&n, "READY=1"), 0);
    bp_sdnotify_ready(&n, "x");
    assert_true(n.ready);
    bp_sdnotify_cleanup(&n);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(bp_sdnotify_init(&n, 0), -EINVAL);
    assert_int_equal(bp_sdnotify_deadline(&n), INT64_MAX);
    bp_sdnotify_cleanup(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_status_watchdog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abstract_and_other_pid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
