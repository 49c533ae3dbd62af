/* SPDX-License-Identifier: MIT */
/* Signed commands out, and results into the record. */
#include "commander.h"

#include "clock.h"
#include "log.h"
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MOD "recovery"

struct col_commander {
    struct col_commander_opts o;
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

int col_commander_new(const struct col_commander_opts *opts, struct col_commander **out)
{
    struct col_commander *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->o = *opts;
    char err[300];
    int rc = bp_sign_init();
    if (rc == 0)
        rc = bp_sign_load_secret_key(opts->key_file, c->sk, err, sizeof(err));
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

/* Signs one command and hands it to the sender with reason. */
static int send_one(struct col_commander *c, const char *agent, const char *bot, const char *action,
                    const char *reason, char nonce[BP_NONCE_MAX + 1])
{
    struct bp_msg *m = &c->msg;
    memset(m, 0, sizeof(*m));
    m->hdr.v = BP_PROTO_VERSION;
    m->hdr.type = BP_MSG_COMMAND;
    snprintf(m->hdr.agent, sizeof(m->hdr.agent), "%s", agent);
    snprintf(m->hdr.bot, sizeof(m->hdr.bot), "%s", bot);
    m->hdr.ts = bp_wall_ms();
    struct bp_command *cmd = &m->u.command;
    snprintf(cmd->action, sizeof(cmd->action), "%s", action);
    cmd->expires = m->hdr.ts + c->o.ttl_ms;
    int rc = random_hex(cmd->nonce, 16);
    if (rc == 0)
        rc = bp_sign_command(m, c->sk);
    if (rc == 0)
        rc = c->o.send(c->o.ctx, m, reason);
    if (rc < 0)
        return rc;
    snprintf(nonce, BP_NONCE_MAX + 1, "%s", cmd->nonce);
    for (int a = 0; a < COL_REC_NACTIONS; a++)
        if (strcmp(action, col_rec_action_name((enum col_rec_action)a)) == 0)
            c->counts.sent[a]++;
    BP_INFO(MOD, "sent %s for bot %s to agent %s (nonce %s, expires in %lld ms): %s", cmd->action,
            bot, agent, cmd->nonce, (long long)c->o.ttl_ms, reason);
    return 0;
}

int col_commander_send(struct col_commander *c, const char *agent, const char *bot,
                       enum col_rec_action action, const char *reason, char nonce[BP_NONCE_MAX + 1])
{
    return send_one(c, agent, bot, col_rec_action_name(action), reason, nonce);
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
