/* SPDX-License-Identifier: MIT */
/* Alert lifecycle for one bot: opened, escalated, resolved. */
#include "alerts.h"

#include <stdio.h>

const char *col_alert_event_name(enum col_alert_event e)
{
    switch (e) {
    case COL_ALERT_OPENED:
        return "opened";
    case COL_ALERT_ESCALATED:
        return "escalated";
    case COL_ALERT_RESOLVED:
        return "resolved";
    default:
        return "none";
    }
}

enum col_alert_event col_alert_apply(struct col_alert *a, enum col_status status, const char *check,
                                     const char *new_id, int64_t now_wall)
{
    enum col_severity sev = col_status_severity(status);
    if (sev == COL_SEV_NONE) {
        if (!a->open || status == COL_ST_UNKNOWN)
            return COL_ALERT_NONE;
        a->open = false;
        return COL_ALERT_RESOLVED;
    }
    if (!a->open) {
        a->open = true;
        snprintf(a->id, sizeof(a->id), "%s", new_id);
        a->severity = sev;
        a->check = check;
        a->opened_at = now_wall;
        return COL_ALERT_OPENED;
    }
    a->check = check;
    if (sev > a->severity) {
        a->severity = sev;
        return COL_ALERT_ESCALATED;
    }
    return COL_ALERT_NONE;
}
