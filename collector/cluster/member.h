/* SPDX-License-Identifier: MIT */
/* One collector of the cluster as the collectors table shows it: what the cluster thread reads
 * (cluster_db.h) and what its view gives other threads (cluster.h). */
#ifndef COL_MEMBER_H
#define COL_MEMBER_H

#include "msg.h"

#include <stdbool.h>
#include <stdint.h>

#define COL_CLUSTER_MEMBERS_MAX 64

/* One collector as the table shows it. */
struct col_cluster_member {
    char id[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    int64_t started, last_seen, changed_at; /* Unix ms (the server's clock); 0: never */
    int nshards;                            /* shards it says it holds */
    bool leader;
    bool live; /* its lock session is alive and it confirmed a round lately */
};

#endif
