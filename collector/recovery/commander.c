/* SPDX-License-Identifier: MIT */
/* Signed commands out, and results into the record. */
#include "commander.h"

#include "clock.h"
#include "log.h"
#include "publish.h"
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MOD "recovery"

struct col_commander {
    const struct col_settings *cfg;
    struct bp_mqtt *mqtt;
    struct col_store *store;
    uint8_t sk[BP_SIGN_SK_BYTES];
    char run_id[17];
    struct bp_msg msg; /* scratch */
    struct col_command_counts counts;
};

static int random_hex(char *out, size_t nbytes)
{
    uint8_t raw[32];
    if (nbytes > sizeof(raw) || getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
        return -EIO;
    bp_hex_encode(raw, nbytes, out);
    return 0;
}

int col_commander_new(const struct col_settings *cfg, struct bp_mqtt *mqtt, struct col_store *store,
                      struct col_commander **out)
{
    struct col_commander *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = cfg;
    c->mqtt = mqtt;
    c->store = store;
    char err[300];
    int rc = bp_sign_init();
    if (rc == 0)
        rc = bp_sign_load_secret_key(cfg->rec_signing_key_file, c->sk, err, sizeof(err));
    if (rc < 0)
        BP_ERROR(MOD, "[recovery] signing_key_file: %s", rc == -EIO ? "libsodium failed" : err);
    if (rc == 0 && (rc = random_hex(c->run_id, 8)) < 0)
        BP_ERROR(MOD, "getrandom failed");
    if (rc < 0) {
        col_commander_free(c);
        return rc;
    }
    uint8_t pk[BP_SIGN_PK_BYTES];
    char pkhex[2 * BP_SIGN_PK_BYTES + 1];
    bp_sign_public_of(c->sk, pk);
    bp_hex_encode(pk, sizeof(pk), pkhex);
    BP_INFO(MOD, "commands are signed; agents verify with public key %s", pkhex);
    *out = c;
    return 0;
}

void col_commander_free(struct col_commander *c)
{
    if (!c)
        return;
    bp_sign_wipe(c->sk, sizeof(c->sk));
    free(c);
}

static void submit(struct col_commander *c, const struct col_store_op *op)
{
    if (c->store)
        col_store_submit(c->store, op);
}

/* Signs, publishes and records one command; reason goes into the commands row. */
static int send_one(struct col_commander *c, const char *agent, const char *bot, const char *action,
                    const char *reason, char nonce[BP_NONCE_MAX + 1])
{
    if (!c->mqtt)
        return -ENOTCONN;
    struct bp_msg *m = &c->msg;
    memset(m, 0, sizeof(*m));
    m->hdr.v = BP_PROTO_VERSION;
    m->hdr.type = BP_MSG_COMMAND;
    snprintf(m->hdr.agent, sizeof(m->hdr.agent), "%s", agent);
    snprintf(m->hdr.bot, sizeof(m->hdr.bot), "%s", bot);
    m->hdr.ts = bp_wall_ms();
    struct bp_command *cmd = &m->u.command;
    snprintf(cmd->action, sizeof(cmd->action), "%s", action);
    cmd->expires = m->hdr.ts + c->cfg->rec_command_ttl_ms;
    char topic[512];
    int rc = random_hex(cmd->nonce, 16);
    if (rc == 0)
        rc = bp_sign_command(m, c->sk);
    if (rc == 0)
        rc = bp_topic_format(topic, sizeof(topic), c->cfg->topic_root, BP_MSG_COMMAND, agent, bot);
    char *json = rc == 0 ? bp_msg_encode(m) : NULL;
    if (rc == 0 && !json)
        rc = -ENOMEM;
    if (rc == 0)
        rc = bp_mqtt_publish(c->mqtt, topic, json, strlen(json), 1, false);
    free(json);
    if (rc < 0)
        return rc;
    snprintf(nonce, BP_NONCE_MAX + 1, "%s", cmd->nonce);
    for (int a = 0; a < COL_REC_NACTIONS; a++)
        if (strcmp(action, col_rec_action_name((enum col_rec_action)a)) == 0)
            c->counts.sent[a]++;
    BP_INFO(MOD, "sent %s for bot %s to agent %s (nonce %s, expires in %lld ms): %s", cmd->action,
            bot, agent, cmd->nonce, (long long)c->cfg->rec_command_ttl_ms, reason);
    struct col_store_op op = {.kind = COL_OP_COMMAND, .ts = m->hdr.ts};
    snprintf(op.u.command.nonce, sizeof(op.u.command.nonce), "%s", cmd->nonce);
    snprintf(op.u.command.agent, sizeof(op.u.command.agent), "%s", agent);
    snprintf(op.u.command.bot, sizeof(op.u.command.bot), "%s", bot);
    snprintf(op.u.command.action, sizeof(op.u.command.action), "%s", cmd->action);
    op.u.command.expires = cmd->expires;
    snprintf(op.u.command.reason, sizeof(op.u.command.reason), "%s", reason);
    submit(c, &op);
    return 0;
}

int col_commander_send(struct col_commander *c, const char *agent, const char *bot,
                       enum col_rec_action action, const char *reason, char nonce[BP_NONCE_MAX + 1])
{
    return send_one(c, agent, bot, col_rec_action_name(action), reason, nonce);
}

void col_commander_store_result(struct col_store *store, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    const struct bp_command_result *r = &ev->msg.u.result;
    struct col_store_op op = {.kind = COL_OP_COMMAND_RESULT, .ts = ev->recv_wall};
    snprintf(op.u.result.agent, sizeof(op.u.result.agent), "%s", h->agent);
    snprintf(op.u.result.boot, sizeof(op.u.result.boot), "%s", h->boot);
    op.u.result.seq = h->seq;
    op.u.result.sent_ts = h->ts;
    snprintf(op.u.result.nonce, sizeof(op.u.result.nonce), "%s", r->nonce);
    snprintf(op.u.result.bot, sizeof(op.u.result.bot), "%s", h->bot);
    snprintf(op.u.result.action, sizeof(op.u.result.action), "%s", r->action);
    snprintf(op.u.result.outcome, sizeof(op.u.result.outcome), "%s", r->outcome);
    op.u.result.exit_code = r->exit_code;
    op.u.result.duration_ms = r->duration_ms;
    size_t len = strlen(r->output), keep = COL_RESULT_OUTPUT_MAX;
    const char *tail = r->output + (len > keep ? len - keep : 0);
    while (*tail && ((unsigned char)*tail & 0xc0) == 0x80) /* not inside a UTF-8 sequence */
        tail++;
    snprintf(op.u.result.output, sizeof(op.u.result.output), "%s", tail);
    snprintf(op.u.result.reason, sizeof(op.u.result.reason), "%s", r->reason);
    BP_INFO(MOD, "agent %s: %s for bot %s: %s%s%s (exit %lld, %lld ms, nonce %s)", h->agent,
            r->action[0] ? r->action : "command", h->bot[0] ? h->bot : "?", r->outcome,
            r->reason[0] ? ": " : "", r->reason, (long long)r->exit_code, (long long)r->duration_ms,
            r->nonce[0] ? r->nonce : "-");
    if (store)
        col_store_submit(store, &op);
}

void col_commander_count_result(struct col_commander *c, const char *action, const char *outcome)
{
    for (int a = 0; a < COL_REC_NACTIONS; a++) {
        if (strcmp(action, col_rec_action_name((enum col_rec_action)a)) != 0)
            continue;
        for (int o = 0; o < COL_OUT_COUNT; o++)
            if (strcmp(outcome, col_rec_outcome_name((enum col_rec_outcome)o)) == 0)
                c->counts.results[a][o]++;
    }
}

void col_commander_counts(const struct col_commander *c, struct col_command_counts *out)
{
    *out = c->counts;
}
