/* SPDX-License-Identifier: MIT */
/* Fuzzes the agent's notify protocol (agent/agent_notify.c) as the agent's loop uses it: each
 * request parsed against a config of three bots, then applied like agent_loop.c's handler does
 * (a trade or an event becomes its message, a signal lands in the bot's state that every
 * heartbeat carries). What the parser accepts must make messages the collector accepts: each is
 * encoded and decoded again. A refusal's reason, sent back to the bot, is printable.
 * Input: requests, one per line (each keeps its '\n', as a bot's packet may). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "agent_notify.h"
#include "agent_signals.h"
#include "fuzz_support.h"

#define WALL 1767225600000LL /* 2026-01-01: the agent's clock, fixed */
#define NBOTS 3

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const names[NBOTS] = {"demo-1", "grid_2", "x.y"};
    fuzz_log_everything();
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        abort();
    snprintf(cfg->id, sizeof(cfg->id), "agent-1");
    for (int i = 0; i < NBOTS; i++)
        snprintf(cfg->bots[i].name, sizeof(cfg->bots[i].name), "%s", names[i]);
    cfg->nbots = NBOTS;
    return 0;
}

/* The collector must take what the agent sends: encode, decode, compare. */
static void check_sendable(struct bp_msg *m, enum bp_msg_type type, const char *bot)
{
    m->hdr.type = type;
    snprintf(m->hdr.agent, sizeof(m->hdr.agent), "%s", cfg->id);
    snprintf(m->hdr.bot, sizeof(m->hdr.bot), "%s", bot);
    snprintf(m->hdr.boot, sizeof(m->hdr.boot), "b1");
    m->hdr.seq = 1;
    m->hdr.ts = WALL;
    char *json = bp_msg_encode(m);
    FUZZ_CHECK(json != NULL, "cannot encode a %s from notify", bp_msg_type_name(type));
    struct bp_msg back;
    struct bp_msg_error err;
    int rc = bp_msg_decode(json, strlen(json), &back, &err);
    FUZZ_CHECK(rc == 0, "the collector refuses it: %s: %s\n%s", bp_msg_err_name(err.code),
               err.detail, json);
    free(json);
}

static void apply(const struct agent_notify_req *r, struct agent_signals *sig)
{
    const char *bot = cfg->bots[r->bot].name;
    struct bp_msg *m = calloc(1, sizeof(*m));
    char err[200];
    if (!m)
        abort();
    if (r->verb == AGENT_NOTIFY_TRADE) {
        m->u.trade = r->trade;
        if (m->u.trade.trade_ts == 0)
            m->u.trade.trade_ts = WALL;
        check_sendable(m, BP_MSG_TRADE, bot);
    } else if (r->verb == AGENT_NOTIFY_EVENT) {
        m->u.event.event_ts = WALL;
        memcpy(m->u.event.text, r->text, sizeof(m->u.event.text));
        check_sendable(m, BP_MSG_EVENT, bot);
    } else if (agent_signals_apply(&sig[r->bot], r, WALL, err, sizeof(err)) == 0) {
        m->u.heartbeat.interval_ms = 10000;
        m->u.heartbeat.proc.alive = true;
        agent_signals_fill(&sig[r->bot], &m->u.heartbeat);
        check_sendable(m, BP_MSG_HEARTBEAT, bot);
    } else {
        FUZZ_CHECK(r->verb == AGENT_NOTIFY_METRIC, "verb %d refused: %s", r->verb, err);
    }
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agent_signals sig[NBOTS];
    for (int i = 0; i < NBOTS; i++)
        agent_signals_init(&sig[i]);
    while (size > 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) + 1 : size;
        char *req = fuzz_memdup(data, len);
        struct agent_notify_req r;
        char err[256];
        memset(err, 0x5a, sizeof(err));
        if (agent_notify_parse(req, len, cfg, &r, err, sizeof(err)) == 0) {
            FUZZ_CHECK(r.bot >= 0 && r.bot < NBOTS, "bot %d", r.bot);
            apply(&r, sig);
        } else {
            size_t n = strnlen(err, sizeof(err));
            FUZZ_CHECK(n > 0 && n < sizeof(err), "no reason, or not terminated");
            FUZZ_CHECK(fuzz_is_printable(err, n), "reason with control bytes: %s", err);
        }
        free(req);
        data += len;
        size -= len;
    }
    return 0;
}
