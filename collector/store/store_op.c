/* SPDX-License-Identifier: MIT */
/* Store ops: the builders, and the terminator every copy into the spool goes through. */
#include "store_op.h"

#include <stdio.h>
#include <string.h>

void col_store_op_command(struct col_store_op *op, const struct bp_msg *cmd, const char *reason)
{
    const struct bp_command *c = &cmd->u.command;
    *op = (struct col_store_op){.kind = COL_OP_COMMAND, .ts = cmd->hdr.ts};
    snprintf(op->u.command.nonce, sizeof(op->u.command.nonce), "%s", c->nonce);
    snprintf(op->u.command.agent, sizeof(op->u.command.agent), "%s", cmd->hdr.agent);
    snprintf(op->u.command.bot, sizeof(op->u.command.bot), "%s", cmd->hdr.bot);
    snprintf(op->u.command.action, sizeof(op->u.command.action), "%s", c->action);
    op->u.command.expires = c->expires;
    snprintf(op->u.command.reason, sizeof(op->u.command.reason), "%s", reason);
}

void col_store_op_result(struct col_store_op *op, const struct bp_msg *m, int64_t recv_wall)
{
    const struct bp_msg_header *h = &m->hdr;
    const struct bp_command_result *r = &m->u.result;
    *op = (struct col_store_op){.kind = COL_OP_COMMAND_RESULT, .ts = recv_wall};
    snprintf(op->u.result.agent, sizeof(op->u.result.agent), "%s", h->agent);
    snprintf(op->u.result.boot, sizeof(op->u.result.boot), "%s", h->boot);
    op->u.result.seq = h->seq;
    op->u.result.sent_ts = h->ts;
    snprintf(op->u.result.nonce, sizeof(op->u.result.nonce), "%s", r->nonce);
    snprintf(op->u.result.bot, sizeof(op->u.result.bot), "%s", h->bot);
    snprintf(op->u.result.action, sizeof(op->u.result.action), "%s", r->action);
    snprintf(op->u.result.outcome, sizeof(op->u.result.outcome), "%s", r->outcome);
    op->u.result.exit_code = r->exit_code;
    op->u.result.duration_ms = r->duration_ms;
    size_t len = strlen(r->output), keep = COL_RESULT_OUTPUT_MAX;
    const char *tail = r->output + (len > keep ? len - keep : 0);
    while (*tail && ((unsigned char)*tail & 0xc0) == 0x80) /* not inside a UTF-8 sequence */
        tail++;
    snprintf(op->u.result.output, sizeof(op->u.result.output), "%s", tail);
    snprintf(op->u.result.reason, sizeof(op->u.result.reason), "%s", r->reason);
}

void col_store_op_silence(struct col_store_op *op, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_SILENCE;
    op->ts = now_wall;
    op->u.silence.silence = *sl;
    op->u.silence.removed_at = removed_at;
}

#define TERM(a) ((a)[sizeof(a) - 1] = '\0')

void col_store_op_terminate(struct col_store_op *op)
{
    TERM(op->event_id);
    switch (op->kind) {
    case COL_OP_AGENT:
        TERM(op->u.agent.agent), TERM(op->u.agent.host), TERM(op->u.agent.version);
        TERM(op->u.agent.boot);
        break;
    case COL_OP_BOT:
        TERM(op->u.bot.id), TERM(op->u.bot.agent), TERM(op->u.bot.account);
        TERM(op->u.bot.exchange), TERM(op->u.bot.host), TERM(op->u.bot.check);
        TERM(op->u.bot.reason);
        if ((unsigned)op->u.bot.status >= COL_ST_COUNT)
            op->u.bot.status = COL_ST_UNKNOWN;
        break;
    case COL_OP_TRANSITION:
        TERM(op->u.transition.bot), TERM(op->u.transition.from_status);
        TERM(op->u.transition.to_status), TERM(op->u.transition.check);
        TERM(op->u.transition.reason);
        break;
    case COL_OP_TRADE:
        TERM(op->u.trade.agent), TERM(op->u.trade.boot), TERM(op->u.trade.bot);
        TERM(op->u.trade.trade.id), TERM(op->u.trade.trade.symbol), TERM(op->u.trade.trade.side);
        break;
    case COL_OP_ALERT:
        TERM(op->u.alert.bot), TERM(op->u.alert.check), TERM(op->u.alert.event);
        TERM(op->u.alert.severity), TERM(op->u.alert.status), TERM(op->u.alert.reason);
        TERM(op->u.alert.alert_id);
        break;
    case COL_OP_SAMPLE:
        TERM(op->u.sample.bot);
        break;
    case COL_OP_COMMAND:
        TERM(op->u.command.nonce), TERM(op->u.command.agent), TERM(op->u.command.bot);
        TERM(op->u.command.action), TERM(op->u.command.reason);
        break;
    case COL_OP_COMMAND_RESULT:
        TERM(op->u.result.agent), TERM(op->u.result.boot), TERM(op->u.result.nonce);
        TERM(op->u.result.bot), TERM(op->u.result.action), TERM(op->u.result.outcome);
        TERM(op->u.result.output), TERM(op->u.result.reason);
        break;
    case COL_OP_SILENCE:
        TERM(op->u.silence.silence.id), TERM(op->u.silence.silence.bot);
        TERM(op->u.silence.silence.account), TERM(op->u.silence.silence.host);
        TERM(op->u.silence.silence.check), TERM(op->u.silence.silence.reason);
        TERM(op->u.silence.silence.created_by);
        break;
    case COL_OP_INTENT:
        TERM(op->u.intent.bot), TERM(op->u.intent.intended);
        break;
    }
}
