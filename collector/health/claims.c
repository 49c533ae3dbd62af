/* SPDX-License-Identifier: MIT */
/* Bot ownership: whose claims on a bot count, refusals counted. */
#include "claims.h"

#include "fleet.h"
#include "strmap.h"

#include <errno.h>
#include <string.h>

static const char *const claim_names[COL_CLAIM_COUNT] = {"ok", "foreign"};

int col_claims_init(struct col_claims *o)
{
    memset(o, 0, sizeof(*o));
    o->restored = col_strmap_new();
    return o->restored ? 0 : -ENOMEM;
}

void col_claims_cleanup(struct col_claims *o)
{
    col_strmap_free(o->restored, NULL); /* the agents are the fleet's */
    o->restored = NULL;
}

int col_claims_restore(struct col_claims *o, const char *bot, struct col_agent *a)
{
    return col_strmap_put(o->restored, bot, a);
}

const char *col_claims_owner(const struct col_claims *o, const char *bot, const struct col_bot *b,
                             const char *pinned)
{
    if (pinned && pinned[0])
        return pinned;
    if (b && b->agent)
        return b->agent->id;
    const struct col_agent *a = col_strmap_get(o->restored, bot);
    return a ? a->id : NULL;
}

enum col_claim col_claims_judge(const struct col_claims *o, const char *bot,
                                const struct col_bot *b, const char *pinned,
                                const struct col_agent *a)
{
    const char *owner = col_claims_owner(o, bot, b, pinned);
    return !owner || strcmp(owner, a->id) == 0 ? COL_CLAIM_OK : COL_CLAIM_FOREIGN;
}

bool col_claims_refuse(struct col_claims *o, enum col_claim why, int64_t now_mono, uint64_t *since)
{
    o->refused[why]++;
    if (o->logged[why] != 0 && now_mono < o->next_log_mono[why])
        return false;
    *since = o->refused[why] - o->logged[why];
    o->logged[why] = o->refused[why];
    o->next_log_mono[why] = now_mono + COL_OWNERS_LOG_EVERY_MS;
    return true;
}

const char *col_claim_name(enum col_claim c)
{
    return c >= 0 && c < COL_CLAIM_COUNT ? claim_names[c] : "?";
}
