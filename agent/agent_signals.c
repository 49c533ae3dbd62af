/* SPDX-License-Identifier: MIT */
/* Per-bot signals from notify, folded into the heartbeat. */
#include "agent_signals.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void agent_signals_init(struct agent_signals *s)
{
    memset(s, 0, sizeof(*s));
    s->positions = s->orders = -1;
}

static int find_metric(const struct agent_signals *s, const char *name)
{
    for (int i = 0; i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return i;
    return -1;
}

/* All or nothing: a request that would overflow the bound changes no value. */
static int apply_metrics(struct agent_signals *s, const struct agent_notify_req *r, char *err,
                         size_t errlen)
{
    int fresh = 0;
    for (int i = 0; i < r->nmetrics; i++)
        fresh += find_metric(s, r->metrics[i].name) < 0;
    if (s->nmetrics + fresh > BP_METRICS_MAX) {
        snprintf(err, errlen, "too many metrics for this bot (at most %d names; it has %d)",
                 BP_METRICS_MAX, s->nmetrics);
        return -ENOSPC;
    }
    for (int i = 0; i < r->nmetrics; i++) {
        int k = find_metric(s, r->metrics[i].name);
        s->metrics[k < 0 ? s->nmetrics++ : k] = r->metrics[i];
    }
    return 0;
}

int agent_signals_apply(struct agent_signals *s, const struct agent_notify_req *r, int64_t wall_ms,
                        char *err, size_t errlen)
{
    switch (r->verb) {
    case AGENT_NOTIFY_TICK:
        s->tick_ts = r->ts > 0 ? r->ts : wall_ms;
        break;
    case AGENT_NOTIFY_MARKET:
        s->market_ts = r->ts;
        break;
    case AGENT_NOTIFY_EXPOSURE:
        s->positions = r->positions;
        s->orders = r->orders;
        break;
    case AGENT_NOTIFY_API:
        s->api[s->api_next] =
            (struct agent_api_call){r->api_ok, r->latency_ms > 0 ? r->latency_ms : 0};
        s->api_next = (s->api_next + 1) % AGENT_API_WINDOW;
        if (s->api_n < AGENT_API_WINDOW)
            s->api_n++;
        break;
    case AGENT_NOTIFY_MAINTENANCE:
        s->maintenance_until = r->duration_ms > 0 ? wall_ms + r->duration_ms : 0;
        memset(s->maintenance_reason, 0, sizeof(s->maintenance_reason));
        if (r->duration_ms > 0) /* the parser bounds a reason to BP_TEXT_MAX */
            memcpy(s->maintenance_reason, r->text, strnlen(r->text, BP_TEXT_MAX));
        break;
    case AGENT_NOTIFY_METRIC:
        return apply_metrics(s, r, err, errlen);
    default:
        snprintf(err, errlen, "not a signal");
        return -EINVAL;
    }
    s->any = true;
    return 0;
}

void agent_signals_fill(const struct agent_signals *s, struct bp_heartbeat *hb)
{
    if ((hb->has_signals = s->any)) {
        struct bp_hb_signals *o = &hb->signals;
        memset(o, 0, sizeof(*o));
        o->tick_ts = s->tick_ts;
        o->market_ts = s->market_ts;
        o->positions = s->positions;
        o->orders = s->orders;
        o->api_calls = s->api_n;
        for (int i = 0; i < s->api_n; i++) {
            o->api_errors += !s->api[i].ok;
            if (s->api[i].latency_ms > o->api_latency_ms_max)
                o->api_latency_ms_max = s->api[i].latency_ms;
        }
        o->maintenance_until = s->maintenance_until;
        memcpy(o->maintenance_reason, s->maintenance_reason, sizeof(o->maintenance_reason));
    }
    if ((hb->has_metrics = s->nmetrics > 0)) {
        hb->nmetrics = s->nmetrics;
        memcpy(hb->metrics, s->metrics, sizeof(hb->metrics[0]) * (size_t)s->nmetrics);
    }
}
