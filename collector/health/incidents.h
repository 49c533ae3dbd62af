/* SPDX-License-Identifier: MIT */
/* Correlated incidents: when `min_bots` bots on one exchange (or else one host) turn bad
 * within `window` of each other, that is one incident naming them all and the shared cause,
 * not one alert per bot. Bots that turn bad later on the same exchange or host join it; it
 * resolves when none of its bots is bad any more. While a bot belongs to an incident its own
 * alert events are stored but not announced (see engine.c announce()). The rules thread owns
 * all of it. */
#ifndef COL_INCIDENTS_H
#define COL_INCIDENTS_H

#include "msg.h"
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_INCIDENT_ID_MAX 47

struct col_bot;
struct col_fleet;

struct col_incident_limits {
    int min_bots;      /* bots failing together that make an incident; 0: never */
    int64_t window_ms; /* ... turning bad within this long of each other */
};

struct col_incident {
    char id[COL_INCIDENT_ID_MAX + 1];
    const char *kind; /* "exchange" or "host" */
    char group[BP_TEXT_MAX + 1];
    enum col_severity severity; /* the worst of its bots' */
    int64_t opened_at;          /* Unix ms */
    struct col_bot **bots;      /* every bot that joined (borrowed from the fleet) */
    size_t nbots, cap;
    size_t nbad;   /* of which bad now */
    bool dirty;    /* bots joined since the last announcement */
    bool resolved; /* announced resolved; freed by col_incidents_reap */
};

struct col_strmap;

struct col_incidents {
    struct col_incident **open;
    size_t n, cap;
    struct col_strmap *candidates; /* "kind/group" → the bots that turned bad there lately */
};

enum col_incident_event {
    COL_INCIDENT_NONE = 0,
    COL_INCIDENT_OPENED,
    COL_INCIDENT_UPDATED,
    COL_INCIDENT_RESOLVED
};

const char *col_incident_event_name(enum col_incident_event e);

void col_incidents_cleanup(struct col_incidents *s);

/* A bot's status just changed (b->status, b->severity, b->since_mono are the new ones).
 * Returns what happened to an incident, and which one in *out: OPENED (b and its fellow
 * failures form a new one, new_id names it), UPDATED (b joined one: announce later, it is
 * marked dirty), RESOLVED (b was the last of its bots to recover), or NONE. Bots in an
 * incident point to it (b->incident). O(min_bots), whatever the size of the fleet: the fellow
 * failures are remembered per exchange and host as they happen, not searched for. */
enum col_incident_event col_incidents_on_change(struct col_incidents *s, struct col_bot *b,
                                                const struct col_incident_limits *lim,
                                                const char *new_id, int64_t now_mono,
                                                int64_t now_wall, struct col_incident **out);

/* Frees the incidents announced resolved (their bots no longer point to them). */
void col_incidents_reap(struct col_incidents *s);

/* The shared cause in words: "3 bots on exchange binance stopped, down within 40s". */
void col_incident_reason(const struct col_incident *inc, int64_t window_ms, char *buf, size_t size);

#endif
