/* SPDX-License-Identifier: MIT */
/* Network namespaces for the tests that cut links. The test process first moves into a network
 * namespace of its own (bpt_netns_enter_private): the broker and PostgreSQL it starts then also
 * listen on that namespace's addresses, which nothing outside it can reach. Each "host" (an
 * agent, a collector) is a named namespace joined to it by a veth pair; its daemons run in it
 * through `ip netns exec`. A cut drops every packet on that link at both ends (an nftables
 * netdev ingress chain, policy drop): no FIN, no RST, no ICMP, as a dead route or a dropping
 * firewall does; a heal deletes the chains. Needs root, iproute2 and nftables. */
#ifndef BPT_NETNS_H
#define BPT_NETNS_H

#include <stdbool.h>
#include <stddef.h>

struct bpt_env;

/* True when this machine can run these tests (root, ip, nft, and a network namespace can be
 * made); else false with the reason in why. */
bool bpt_netns_usable(char *why, size_t size);
/* Moves the calling process into a new network namespace with loopback up, and tells env that
 * its servers listen on every address of it. Call first in main(), before any thread starts
 * (a namespace is per thread; threads made later inherit it). 0 or -errno. */
int bpt_netns_enter_private(void);
void bpt_netns_mark(struct bpt_env *env);

struct bpt_host {
    char ns[48];        /* its namespace's name (ip netns) */
    char hub_if[16];    /* our end of the link */
    char host_if[16];   /* its end */
    char hub_addr[16];  /* where it reaches the broker and PostgreSQL */
    char host_addr[16]; /* where we reach it (a daemon's HTTP API) */
    int index;
    bool made, cut;
};

/* Makes host number index (0..200): namespace "bpt-<pid>-<index>" with loopback up and the
 * link 10.77.<index>.1 (ours) -- 10.77.<index>.2 (its). 0 or -errno (logged). */
int bpt_host_add(struct bpt_env *env, int index, struct bpt_host *h);
/* Cuts the link silently in both directions; heals it. 0 or -errno (logged). */
int bpt_host_cut(struct bpt_env *env, struct bpt_host *h);
/* Cuts only TCP to and from port on the link (e.g. PostgreSQL's), the rest flows. */
int bpt_host_cut_port(struct bpt_env *env, struct bpt_host *h, int port);
int bpt_host_heal(struct bpt_env *env, struct bpt_host *h);
/* The argv prefix that runs a command in the host's namespace: {"ip", "netns", "exec", ns}. */
void bpt_host_exec_prefix(const struct bpt_host *h, const char *prefix[4]);
/* Deletes the namespace (its link goes with it); for teardown, after the env (and with it
 * every daemon) is gone. */
void bpt_host_del(struct bpt_host *h);

#endif
