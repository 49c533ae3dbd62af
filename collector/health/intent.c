/* SPDX-License-Identifier: MIT */
/* Operators' intended states: applying them over the config's, and the request body. */
#include "intent.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void col_intent_apply(const struct col_bot *b, struct col_rule_limits *lim)
{
    if (b->intent != COL_INTENT_CONFIG)
        lim->intended_stopped = b->intent == COL_INTENT_STOPPED;
}

int col_intent_set(struct col_bot *b, enum col_intent intent)
{
    if (intent != COL_INTENT_RUNNING && intent != COL_INTENT_STOPPED)
        return -EINVAL;
    b->intent = intent;
    return 0;
}

const char *col_intent_name(enum col_intent i, bool intended_stopped)
{
    if (i == COL_INTENT_CONFIG)
        return intended_stopped ? "stopped" : "running";
    return i == COL_INTENT_STOPPED ? "stopped" : "running";
}

int col_intent_parse(const char *word, enum col_intent *out)
{
    if (strcmp(word, "running") == 0)
        *out = COL_INTENT_RUNNING;
    else if (strcmp(word, "stopped") == 0)
        *out = COL_INTENT_STOPPED;
    else
        return -EINVAL;
    return 0;
}

int col_intent_from_json(const char *body, enum col_intent *out, char *err, size_t errlen)
{
    cJSON *o = cJSON_Parse(body ? body : "");
    int rc = -EINVAL;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "body must be a JSON object {\"state\":\"running\"|\"stopped\"}");
        goto out;
    }
    for (const cJSON *c = o->child; c; c = c->next) {
        if (strcmp(c->string, "state") != 0) {
            snprintf(err, errlen, "unknown member '%.40s': want only 'state'", c->string);
            goto out;
        }
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (!cJSON_IsString(s) || col_intent_parse(s->valuestring, out) < 0) {
        snprintf(err, errlen, "'state': want \"running\" or \"stopped\"");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}
