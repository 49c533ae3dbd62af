/* SPDX-License-Identifier: MIT */
/* The tests' network namespaces: a private one for the test, a named one per host, veth links
 * between them, silent cuts with nftables. */
#include "netns.h"

#include "fixture.h"
#include "fixture_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IP_BIN "/usr/sbin/ip"
#define NFT_BIN "/usr/sbin/nft"

bool bpt_netns_usable(char *why, size_t size)
{
    if (geteuid() != 0)
        snprintf(why, size, "needs root (network namespaces, veth, nftables)");
    else if (access(IP_BIN, X_OK) != 0)
        snprintf(why, size, "%s is missing (Debian package iproute2)", IP_BIN);
    else if (access(NFT_BIN, X_OK) != 0)
        snprintf(why, size, "%s is missing (Debian package nftables)", NFT_BIN);
    else
        return true;
    return false;
}

/* Runs argv to completion with no env (before one exists, after it is gone). 0 or -EIO. */
static int run_plain(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s %s %s ... failed\n", argv[0], argv[1], argv[2]);
        return -EIO;
    }
    return 0;
}

int bpt_netns_enter_private(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        int err = errno;
        fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(err));
        return -err;
    }
    char *const argv[] = {IP_BIN, "link", "set", "lo", "up", NULL};
    return run_plain(argv);
}

void bpt_netns_mark(struct bpt_env *env)
{
    env->private_net = true;
}

/* Runs one command to completion; 0, or -EIO with its output noted. */
static int run(struct bpt_env *env, char *const argv[])
{
    char *out = NULL;
    int rc = bpt_run(env, argv, 10000, &out);
    if (rc != 0) {
        bpt_note(env, "%s %s %s ... exited %d: %s", argv[0], argv[1] ? argv[1] : "",
                 argv[1] && argv[2] ? argv[2] : "", rc, out ? out : "");
        rc = -EIO;
    }
    free(out);
    return rc;
}

int bpt_host_add(struct bpt_env *env, int index, struct bpt_host *h)
{
    memset(h, 0, sizeof(*h));
    h->index = index;
    snprintf(h->ns, sizeof(h->ns), "bpt-%d-%d", (int)getpid(), index);
    snprintf(h->hub_if, sizeof(h->hub_if), "vh%d", index);
    snprintf(h->host_if, sizeof(h->host_if), "vx%d", index);
    snprintf(h->hub_addr, sizeof(h->hub_addr), "10.77.%d.1", index);
    snprintf(h->host_addr, sizeof(h->host_addr), "10.77.%d.2", index);
    char hub_cidr[24], host_cidr[24];
    snprintf(hub_cidr, sizeof(hub_cidr), "%s/30", h->hub_addr);
    snprintf(host_cidr, sizeof(host_cidr), "%s/30", h->host_addr);
    char *add[] = {IP_BIN, "netns", "add", h->ns, NULL};
    int rc = run(env, add);
    if (rc < 0)
        return rc;
    h->made = true;
    char *link[] = {IP_BIN, "link", "add",      h->hub_if, "type", "veth",
                    "peer", "name", h->host_if, "netns",   h->ns,  NULL};
    char *hub_addr[] = {IP_BIN, "addr", "add", hub_cidr, "dev", h->hub_if, NULL};
    char *hub_up[] = {IP_BIN, "link", "set", h->hub_if, "up", NULL};
    char *host_addr[] = {IP_BIN, "-n", h->ns, "addr", "add", host_cidr, "dev", h->host_if, NULL};
    char *host_up[] = {IP_BIN, "-n", h->ns, "link", "set", h->host_if, "up", NULL};
    char *host_lo[] = {IP_BIN, "-n", h->ns, "link", "set", "lo", "up", NULL};
    char *const *steps[] = {link, hub_addr, hub_up, host_addr, host_up, host_lo};
    for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
        rc = run(env, steps[i]);
    return rc;
}

/* Loads (cut) or deletes (heal) the dropping chain on one end of the link; in_ns: the host's.
 * port 0: every packet; else TCP to or from that port only. */
static int one_end(struct bpt_env *env, struct bpt_host *h, bool cut, bool in_ns, int port)
{
    const char *dev = in_ns ? h->host_if : h->hub_if;
    char table[32], name[96];
    snprintf(table, sizeof(table), "bptcut%d", h->index);
    const char *path = NULL;
    if (cut) {
        snprintf(name, sizeof(name), "cut-%s-%s.nft", h->ns, dev);
        char rules[128] = "";
        if (port)
            snprintf(rules, sizeof(rules), "    tcp dport %d drop\n    tcp sport %d drop\n", port,
                     port);
        path = bpt_write_file(env, name,
                              "table netdev %s {\n"
                              "  chain drop_in {\n"
                              "    type filter hook ingress device %s priority 0; policy %s;\n"
                              "%s"
                              "  }\n"
                              "}\n",
                              table, dev, port ? "accept" : "drop", rules);
        if (!path)
            return -EIO;
    }
    char *load[] = {NFT_BIN, "-f", (char *)path, NULL};
    char *del[] = {NFT_BIN, "delete", "table", "netdev", table, NULL};
    char *const *cmd = cut ? load : del;
    if (!in_ns)
        return run(env, cmd);
    char *argv[12] = {IP_BIN, "netns", "exec", h->ns};
    for (int i = 0; cmd[i]; i++)
        argv[4 + i] = cmd[i];
    return run(env, argv);
}

int bpt_host_cut_port(struct bpt_env *env, struct bpt_host *h, int port)
{
    int rc = one_end(env, h, true, false, port);
    if (rc == 0)
        rc = one_end(env, h, true, true, port);
    if (rc == 0)
        h->cut = true;
    return rc;
}

int bpt_host_cut(struct bpt_env *env, struct bpt_host *h)
{
    return bpt_host_cut_port(env, h, 0);
}

int bpt_host_heal(struct bpt_env *env, struct bpt_host *h)
{
    int rc = one_end(env, h, false, true, 0);
    int rc2 = one_end(env, h, false, false, 0);
    if (rc == 0 && rc2 == 0)
        h->cut = false;
    return rc < 0 ? rc : rc2;
}

void bpt_host_exec_prefix(const struct bpt_host *h, const char *prefix[4])
{
    prefix[0] = IP_BIN;
    prefix[1] = "netns";
    prefix[2] = "exec";
    prefix[3] = h->ns;
}

void bpt_host_del(struct bpt_host *h)
{
    if (!h->made)
        return;
    char *del[] = {IP_BIN, "netns", "del", h->ns, NULL};
    run_plain(del);
    h->made = false;
}
