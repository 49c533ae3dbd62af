/* SPDX-License-Identifier: MIT */
/* Alert lifecycle for one bot: opened, escalated, resolved. */
#include "alerts.h"

#include <stdio.h>
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

enum col_alert_event col_alert_apply(struct col_alert *a, enum col_status status,
                                     enum col_severity sev, const char *check, const char *new_id,
                                     int64_t now_wall)
{
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

void col_alert_restore(struct col_alert *a, const char *id, const char *severity,
                       const char *check, int64_t opened_at)
{
    a->open = true;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->severity = strcmp(severity, "critical") == 0 ? COL_SEV_CRITICAL : COL_SEV_WARNING;
    a->check = col_check_static(check);
    a->opened_at = opened_at;
    a->repeats = 0;
    a->announced = true; /* the previous run announced it */
}

bool col_alert_repeat_due(const struct col_alert *a, int64_t repeat_ms, int64_t now_mono,
                          int64_t *next_mono)
{
    *next_mono = INT64_MAX;
    if (!a->open || repeat_ms <= 0)
        return false;
    int64_t due = a->last_sent_mono + repeat_ms;
    if (now_mono >= due) {
        *next_mono = now_mono + repeat_ms;
        return true;
    }
    *next_mono = due;
    return false;
}
