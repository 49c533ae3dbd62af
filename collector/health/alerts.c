/* SPDX-License-Identifier: MIT */
/* Alert lifecycle, one alert per (bot, check): opened, escalated, resolved. */
#include "alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *col_alert_event_name(enum col_alert_event e)
{
    switch (e) {
    case COL_ALERT_OPENED:
        return "opened";
    case COL_ALERT_ESCALATED:
        return "escalated";
    case COL_ALERT_RESOLVED:
        return "resolved";
    case COL_ALERT_REPEATED:
        return "repeated";
    default:
        return "none";
    }
}

void col_alerts_free(struct col_alerts *s)
{
    free(s->v);
    *s = (struct col_alerts){0};
}

struct col_alert *col_alerts_find(const struct col_alerts *s, const char *check)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].check, check) == 0)
            return &s->v[i];
    return NULL;
}

const struct col_alert *col_alerts_worst(const struct col_alerts *s)
{
    const struct col_alert *w = NULL;
    for (int i = 0; i < s->n; i++)
        if (!w || s->v[i].severity > w->severity)
            w = &s->v[i];
    return w;
}

static struct col_alert *append(struct col_alerts *s)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 2;
        struct col_alert *v = realloc(s->v, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    struct col_alert *a = &s->v[s->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

struct col_alert *col_alerts_open(struct col_alerts *s, const char *check, enum col_severity sev,
                                  const char *reason, const char *id, int64_t now_wall)
{
    struct col_alert *a = append(s);
    if (!a)
        return NULL;
    snprintf(a->id, sizeof(a->id), "%s", id);
    snprintf(a->check, sizeof(a->check), "%s", check);
    snprintf(a->reason, sizeof(a->reason), "%s", reason);
    a->severity = sev;
    a->opened_at = now_wall;
    return a;
}

void col_alerts_remove(struct col_alerts *s, struct col_alert *a)
{
    int i = (int)(a - s->v);
    if (i < 0 || i >= s->n)
        return;
    memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof(*a)); /* oldest first */
    s->n--;
}

int col_alerts_apply(struct col_alerts *s, const struct col_verdict *v, int64_t now_wall,
                     col_alert_id_fn new_id, col_alert_emit_fn emit, void *ctx)
{
    for (int i = s->n - 1; i >= 0; i--) { /* backwards: removal keeps the rest in place */
        struct col_alert *a = &s->v[i];
        if (col_verdict_finding(v, a->check) || !col_verdict_judged(v, a->check))
            continue;
        emit(ctx, a, COL_ALERT_RESOLVED);
        col_alerts_remove(s, a);
    }
    int failed = 0;
    for (int i = 0; i < v->nfindings; i++) {
        const struct col_finding *f = &v->findings[i];
        struct col_alert *a = col_alerts_find(s, f->check);
        if (f->severity == COL_SEV_NONE)
            continue; /* not yet confirmed: opens nothing, and keeps an open one open */
        if (!a) {
            char id[COL_ALERT_ID_MAX + 1];
            new_id(ctx, id, sizeof(id));
            if (!(a = col_alerts_open(s, f->check, f->severity, f->reason, id, now_wall))) {
                failed++;
                continue;
            }
            emit(ctx, a, COL_ALERT_OPENED);
            continue;
        }
        snprintf(a->reason, sizeof(a->reason), "%s", f->reason);
        if (f->severity > a->severity) {
            a->severity = f->severity;
            emit(ctx, a, COL_ALERT_ESCALATED);
        }
    }
    return failed;
}

int col_alerts_restore(struct col_alerts *s, const char *id, const char *severity,
                       const char *check, int64_t opened_at)
{
    if (col_alerts_find(s, check))
        return -EEXIST;
    enum col_severity sev = strcmp(severity, "critical") == 0 ? COL_SEV_CRITICAL : COL_SEV_WARNING;
    struct col_alert *a =
        col_alerts_open(s, check, sev, "left open by the previous run", id, opened_at);
    if (!a)
        return -ENOMEM;
    a->announced = true; /* the previous run announced it */
    return 0;
}

bool col_alert_repeat_due(const struct col_alert *a, int64_t repeat_ms, int64_t now_mono,
                          int64_t *next_mono)
{
    *next_mono = INT64_MAX;
    if (repeat_ms <= 0)
        return false;
    int64_t due = a->last_sent_mono + repeat_ms;
    if (now_mono >= due) {
        *next_mono = now_mono + repeat_ms;
        return true;
    }
    *next_mono = due;
    return false;
}
