/* SPDX-License-Identifier: MIT */
/* Flapping detection over a ring of the newest status changes. */
#include "flapping.h"

static int64_t newest(const struct col_flap *f)
{
    return f->n ? f->at[(f->pos + COL_FLAP_MAX_CHANGES - 1) % COL_FLAP_MAX_CHANGES] : INT64_MIN;
}

int col_flap_count(const struct col_flap *f, const struct col_flap_limits *lim, int64_t now)
{
    int c = 0;
    for (int i = 0; i < f->n; i++)
        if (f->at[i] > now - lim->window_ms)
            c++;
    return c;
}

bool col_flap_change(struct col_flap *f, const struct col_flap_limits *lim, int64_t now)
{
    f->at[f->pos] = now;
    f->pos = (f->pos + 1) % COL_FLAP_MAX_CHANGES;
    if (f->n < COL_FLAP_MAX_CHANGES)
        f->n++;
    int need = lim->changes < COL_FLAP_MAX_CHANGES ? lim->changes : COL_FLAP_MAX_CHANGES;
    if (f->flapping || need <= 0 || col_flap_count(f, lim, now) < need)
        return false;
    f->flapping = true;
    return true;
}

bool col_flap_settled(struct col_flap *f, const struct col_flap_limits *lim, int64_t now,
                      int64_t *next_due)
{
    *next_due = INT64_MAX;
    if (!f->flapping)
        return false;
    int64_t calm = newest(f) + lim->window_ms;
    if (now < calm) {
        *next_due = calm;
        return false;
    }
    f->flapping = false;
    return true;
}
