/* SPDX-License-Identifier: MIT */
/* HTTP API grammar: route table, query parameter lists, strict number parsing. */
#include "http_parse.h"

#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LIST_PARAMS "status account host exchange sort order limit offset"
#define SUMMARY_PARAMS "account host exchange"
#define HISTORY_PARAMS "from to limit before"

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* Fills m for a route that exists at this path; checks the method. */
static int found(struct col_route_match *m, const char *method, enum col_route r, bool post,
                 const char *params)
{
    m->route = r;
    m->allow = post ? "POST" : "GET, HEAD";
    m->params = params;
    m->mutating = post;
    if (post ? strcmp(method, "POST") != 0 : !is_get(method))
        return -EPERM;
    return 0;
}

/* Copies the next path segment of s (up to '/' or the end) into buf; NULL if it does not fit
 * or is empty. Returns the rest (at '/' or '\0'). */
static const char *segment(const char *s, char *buf, size_t size)
{
    size_t n = strcspn(s, "/");
    if (n == 0 || n >= size)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return s + n;
}

/* Routes under /bots/{id}. */
static int bot_route(const char *method, const char *rest, struct col_route_match *m)
{
    char id[BP_ID_MAX + 2]; /* one more: a 65-byte id is invalid, not "not found" */
    const char *tail = segment(rest, id, sizeof(id));
    if (!tail) {
        size_t n = strcspn(rest, "/");
        if (n == 0)
            return -ENOENT;
        tail = rest + n;
        id[0] = '\0'; /* too long: the route decides 404 or 400 below */
    }
    enum col_route r;
    bool post = false;
    const char *params = "";
    if (strcmp(tail, "") == 0 || strcmp(tail, "/health") == 0) {
        r = COL_R_BOT;
    } else if (strcmp(tail, "/history") == 0 || strcmp(tail, "/health/history") == 0) {
        r = COL_R_BOT_HISTORY;
        params = HISTORY_PARAMS;
    } else if (strcmp(tail, "/health/check") == 0) {
        r = COL_R_BOT_CHECK;
        post = true;
    } else if (strcmp(tail, "/restart") == 0) {
        r = COL_R_BOT_RESTART;
        post = true;
    } else if (strcmp(tail, "/intended") == 0) {
        r = COL_R_BOT_INTENDED;
        post = true;
    } else if (strcmp(tail, "/samples") == 0) {
        r = COL_R_BOT_SAMPLES;
        params = "from to";
    } else {
        return -ENOENT;
    }
    int rc = found(m, method, r, post, params);
    if (rc < 0)
        return rc;
    if (!bp_id_is_valid(id))
        return -EINVAL;
    snprintf(m->id, sizeof(m->id), "%s", id);
    return 0;
}

/* DELETE /silences/{id}. */
static int silence_route(const char *method, const char *id, struct col_route_match *m)
{
    m->route = COL_R_SILENCE;
    m->allow = "DELETE";
    m->mutating = true;
    if (strcmp(method, "DELETE") != 0)
        return -EPERM;
    if (!bp_id_is_valid(id))
        return -EINVAL;
    snprintf(m->id, sizeof(m->id), "%s", id);
    return 0;
}

int col_route_match(const char *method, const char *path, struct col_route_match *m)
{
    memset(m, 0, sizeof(*m));
    m->allow = "";
    m->params = "";
    if (strcmp(path, "/health") == 0)
        return found(m, method, COL_R_HEALTH, false, "");
    if (strncmp(path, "/health/", 8) == 0) {
        const char *c = path + 8;
        if (strcmp(c, "broker") != 0 && strcmp(c, "database") != 0 && strcmp(c, "rules") != 0)
            return -ENOENT;
        snprintf(m->id, sizeof(m->id), "%s", c);
        return found(m, method, COL_R_HEALTH_COMPONENT, false, "");
    }
    if (strcmp(path, "/fleet/summary") == 0)
        return found(m, method, COL_R_FLEET_SUMMARY, false, SUMMARY_PARAMS);
    if (strcmp(path, "/bots/health/summary") == 0)
        return found(m, method, COL_R_BOTS_SUMMARY, false, SUMMARY_PARAMS);
    if (strcmp(path, "/bots") == 0)
        return found(m, method, COL_R_BOTS, false, LIST_PARAMS);
    if (strcmp(path, "/bots/heartbeat") == 0)
        return found(m, method, COL_R_HEARTBEAT, true, "");
    if (strcmp(path, "/alerts") == 0)
        return found(m, method, COL_R_ALERTS, false, "state bot from to limit before");
    if (strcmp(path, "/metrics") == 0)
        return found(m, method, COL_R_METRICS, false, "");
    if (strncmp(path, "/bots/", 6) == 0)
        return bot_route(method, path + 6, m);
    if (strcmp(path, "/silences") == 0) { /* GET lists, POST adds */
        int rc = found(m, method, COL_R_SILENCES, strcmp(method, "POST") == 0, "");
        m->allow = "GET, HEAD, POST";
        return rc;
    }
    if (strncmp(path, "/silences/", 10) == 0)
        return silence_route(method, path + 10, m);
    if (strcmp(path, "/report") == 0)
        return found(m, method, COL_R_REPORT, false, "from to bot");
    if (strcmp(path, "/") == 0)
        return found(m, method, COL_R_UI, false, "");
    if (strncmp(path, "/ui/", 4) == 0) {
        if (!bp_id_is_valid(path + 4)) /* one plain file name: no '/' */
            return -ENOENT;
        snprintf(m->id, sizeof(m->id), "%s", path + 4);
        return found(m, method, COL_R_UI, false, "");
    }
    return -ENOENT;
}

bool col_route_takes(const char *params, const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return false;
    for (const char *p = params; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == params || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

int col_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
    const char *p = text;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    int64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (*p - '0');
    }
    if (*p)
        return -EINVAL;
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int col_parse_status(const char *text)
{
    for (int s = 0; s < COL_ST_COUNT; s++)
        if (strcmp(text, col_status_name((enum col_status)s)) == 0)
            return s;
    return -1;
}
