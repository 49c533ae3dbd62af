/* SPDX-License-Identifier: MIT */
/* The outbox as it runs (outbox.h): messages to MQTT through Paho (publish.h builds them), rows
 * into the store's spool, alert and incident events to the alert sinks (sinks.h). Never waits
 * on the network or the database: Paho buffers, the spool and the sinks' queues are bounded
 * and count what they drop. */
#ifndef COL_OUTBOX_LIVE_H
#define COL_OUTBOX_LIVE_H

#include "outbox.h"

#include <stdbool.h>

struct bp_mqtt;
struct col_sinks;
struct col_store;

struct col_outbox_live_opts {
    const char *root;        /* topic root; borrowed, outlives the outbox */
    const char *id;          /* the collector's id, in its stats; borrowed */
    bool per_id;             /* stats on {root}/collector/{id}/stats (several collectors) */
    struct bp_mqtt *mqtt;    /* NULL: nothing is published, a command gets -ENOTCONN */
    struct col_store *store; /* NULL: no rows are kept */
    struct col_sinks *sinks; /* NULL or none: alerts go to MQTT only */
};

/* Everything in opts is borrowed and must outlive the outbox (col_outbox_free). 0 or
 * -ENOMEM. */
int col_outbox_live_new(const struct col_outbox_live_opts *opts, struct col_outbox **out);

#endif
