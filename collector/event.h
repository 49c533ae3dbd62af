/* SPDX-License-Identifier: MIT */
/* What the rules thread takes off its queue: an accepted message from the fleet, a change of
 * our broker connection, our own echo back through the broker, a question from another thread, or
 * shards taken over from another collector. Ingest, the HTTP API and the cluster thread make them;
 * the engine handles them; col_event_free (ingest.h) frees one left unhandled. */
#ifndef COL_EVENT_H
#define COL_EVENT_H

#include "msg.h"

#include <stdint.h>

enum col_event_kind {
    COL_EV_MESSAGE = 0,  /* an accepted message from the fleet */
    COL_EV_CONNECTED,    /* our broker connection is up (again) */
    COL_EV_DISCONNECTED, /* our broker connection is lost: we are blind */
    COL_EV_QUERY,        /* a question from another thread (query.h); carries query */
    COL_EV_TAKEOVER,     /* shards (or the lead) are ours to act for (takeover.h) */
    COL_EV_ECHO,         /* our own echo came back through the broker (echo.h): we see */
};

struct col_query;
struct col_takeover;

/* One accepted message (or a connection change) as the rules thread receives it. */
struct col_event {
    enum col_event_kind kind;
    int64_t recv_mono; /* our monotonic clock at receipt: what liveness is judged on */
    int64_t recv_wall; /* our wall clock at receipt, Unix ms */
    bool retained; /* kept by the broker from before we subscribed: its ts says nothing of now */
    struct col_query *query;       /* COL_EV_QUERY: holds one reference */
    struct col_takeover *takeover; /* COL_EV_TAKEOVER: owned, freed by whoever handles it */
    int64_t echo_sent_mono;        /* COL_EV_ECHO: when we sent it (our monotonic clock) */
    struct bp_msg msg; /* only the header and the variant of msg.hdr.type are allocated */
};

#endif
