/* SPDX-License-Identifier: MIT */
/* Correlated incidents over the fleet: formed, joined, resolved on status changes. */
#include "incidents.h"

#include "fleet.h"
#include "strmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *col_incident_event_name(enum col_incident_event e)
{
    switch (e) {
    case COL_INCIDENT_OPENED:
        return "opened";
    case COL_INCIDENT_UPDATED:
        return "updated";
    case COL_INCIDENT_RESOLVED:
        return "resolved";
    default:
        return "none";
    }
}

static bool is_bad(const struct col_bot *b)
{
    return b->severity != COL_SEV_NONE;
}

static const char *group_of(const struct col_bot *b, const char *kind)
{
    return strcmp(kind, "exchange") == 0 ? b->exchange : col_bot_host(b);
}

static void free_incident(struct col_incident *inc)
{
    if (!inc)
        return;
    free(inc->bots);
    free(inc);
}

static int add_bot(struct col_incident *inc, struct col_bot *b)
{
    if (inc->nbots == inc->cap) {
        size_t cap = inc->cap ? inc->cap * 2 : 8;
        struct col_bot **v = realloc(inc->bots, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        inc->bots = v;
        inc->cap = cap;
    }
    inc->bots[inc->nbots++] = b;
    b->incident = inc;
    b->incident_bad = true;
    inc->nbad++;
    if (b->severity > inc->severity)
        inc->severity = b->severity;
    return 0;
}

static struct col_incident *find_open(struct col_incidents *s, const char *kind, const char *group)
{
    for (size_t i = 0; i < s->n; i++) {
        struct col_incident *inc = s->open[i];
        if (!inc->resolved && strcmp(inc->kind, kind) == 0 && strcmp(inc->group, group) == 0)
            return inc;
    }
    return NULL;
}

/* Fellow failures, without scanning the fleet: each group keeps the bots that turned bad in
 * it lately (one entry per change to a bad status), and an attempt to form keeps only those
 * still failing, in no incident, of the same bad episode, within the window. After an attempt
 * that forms nothing fewer than min_bots are left, so a status change costs O(min_bots). */
struct candidate {
    struct col_bot *bot;
    int64_t since_mono; /* the bot's since_mono when it was added: the same bad episode */
};

struct group_candidates {
    struct candidate *v;
    size_t n, cap;
};

static void free_candidates(void *p)
{
    struct group_candidates *g = p;
    if (g)
        free(g->v);
    free(g);
}

/* The candidates of kind/group, created on first use. NULL on ENOMEM. */
static struct group_candidates *candidates_of(struct col_incidents *s, const char *kind,
                                              const char *group)
{
    char key[BP_TEXT_MAX + 16];
    snprintf(key, sizeof(key), "%s/%s", kind, group);
    if (!s->candidates && !(s->candidates = col_strmap_new()))
        return NULL;
    struct group_candidates *g = col_strmap_get(s->candidates, key);
    if (g)
        return g;
    if (!(g = calloc(1, sizeof(*g))) || col_strmap_put(s->candidates, key, g) < 0) {
        free(g);
        return NULL;
    }
    return g;
}

void col_incidents_cleanup(struct col_incidents *s)
{
    for (size_t i = 0; i < s->n; i++)
        free_incident(s->open[i]);
    free(s->open);
    col_strmap_free(s->candidates, free_candidates);
    memset(s, 0, sizeof(*s));
}

static int add_candidate(struct group_candidates *g, struct col_bot *b)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        struct candidate *v = realloc(g->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        g->v = v;
        g->cap = cap;
    }
    g->v[g->n++] = (struct candidate){b, b->since_mono};
    return 0;
}

/* Keeps the candidates that still count: in no incident, bad since they were added, in this
 * group still, turned bad within the window. Returns how many. */
static size_t keep_fellows(struct group_candidates *g, const char *kind, const char *group,
                           int64_t since)
{
    size_t kept = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct candidate c = g->v[i];
        if (!c.bot->incident && is_bad(c.bot) && c.bot->since_mono == c.since_mono &&
            c.since_mono >= since && strcmp(group_of(c.bot, kind), group) == 0)
            g->v[kept++] = c;
    }
    return g->n = kept;
}

static struct col_incident *form(struct col_incidents *s, struct group_candidates *g,
                                 const char *kind, const char *group,
                                 const struct col_incident_limits *lim, const char *new_id,
                                 int64_t now_mono, int64_t now_wall)
{
    if (keep_fellows(g, kind, group, now_mono - lim->window_ms) < (size_t)lim->min_bots)
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct col_incident **v = realloc(s->open, cap * sizeof(*v));
        if (!v)
            return NULL;
        s->open = v;
        s->cap = cap;
    }
    struct col_incident *inc = calloc(1, sizeof(*inc));
    if (!inc)
        return NULL;
    snprintf(inc->id, sizeof(inc->id), "%s", new_id);
    inc->kind = kind;
    snprintf(inc->group, sizeof(inc->group), "%s", group);
    inc->opened_at = now_wall;
    for (size_t i = 0; i < g->n; i++) {
        if (add_bot(inc, g->v[i].bot) < 0) { /* undo: no half-made incident */
            for (size_t j = 0; j < inc->nbots; j++)
                inc->bots[j]->incident = NULL;
            free_incident(inc);
            return NULL;
        }
    }
    g->n = 0; /* they are its members now */
    s->open[s->n++] = inc;
    return inc;
}

enum col_incident_event col_incidents_on_change(struct col_incidents *s, struct col_bot *b,
                                                const struct col_incident_limits *lim,
                                                const char *new_id, int64_t now_mono,
                                                int64_t now_wall, struct col_incident **out)
{
    *out = NULL;
    struct col_incident *inc = b->incident;
    if (inc) {
        if (is_bad(b) && !b->incident_bad) { /* failed again before the rest recovered */
            b->incident_bad = true;
            inc->nbad++;
        } else if (!is_bad(b) && b->incident_bad) {
            b->incident_bad = false;
            inc->nbad--;
        }
        if (is_bad(b) && b->severity > inc->severity)
            inc->severity = b->severity;
        if (inc->nbad > 0)
            return COL_INCIDENT_NONE;
        inc->resolved = true;
        for (size_t i = 0; i < inc->nbots; i++)
            inc->bots[i]->incident = NULL;
        *out = inc;
        return COL_INCIDENT_RESOLVED;
    }
    if (!is_bad(b) || lim->min_bots <= 0)
        return COL_INCIDENT_NONE;
    static const char *const kinds[] = {"exchange", "host"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *group = group_of(b, kinds[k]);
        if (!group[0])
            continue;
        if ((inc = find_open(s, kinds[k], group)) != NULL) {
            if (add_bot(inc, b) < 0)
                return COL_INCIDENT_NONE;
            inc->dirty = true;
            *out = inc;
            return COL_INCIDENT_UPDATED;
        }
        struct group_candidates *g = candidates_of(s, kinds[k], group);
        if (!g || add_candidate(g, b) < 0)
            continue; /* out of memory: this bot alerts on its own */
        if ((inc = form(s, g, kinds[k], group, lim, new_id, now_mono, now_wall)) != NULL) {
            *out = inc;
            return COL_INCIDENT_OPENED;
        }
    }
    return COL_INCIDENT_NONE;
}

void col_incidents_reap(struct col_incidents *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->open[i]->resolved)
            free_incident(s->open[i]);
        else
            s->open[kept++] = s->open[i];
    }
    s->n = kept;
}

void col_incident_reason(const struct col_incident *inc, int64_t window_ms, char *buf, size_t size)
{
    bool seen[COL_ST_COUNT] = {false};
    for (size_t i = 0; i < inc->nbots; i++)
        seen[inc->bots[i]->status] = true;
    char statuses[96] = "";
    size_t n = 0;
    for (int st = 0; st < COL_ST_COUNT; st++)
        if (seen[st] && n < sizeof(statuses))
            n += (size_t)snprintf(statuses + n, sizeof(statuses) - n, "%s%s", n ? ", " : "",
                                  col_status_name((enum col_status)st));
    char w[32];
    col_format_duration(window_ms, w, sizeof(w));
    snprintf(buf, size, "%zu bots on %s %s failed within %s (%zu still failing; now %s)",
             inc->nbots, inc->kind, inc->group, w, inc->nbad, statuses);
}
