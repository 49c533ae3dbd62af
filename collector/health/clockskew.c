/* SPDX-License-Identifier: MIT */
/* Agent clock offset: the max of the last few (sent - received) samples. */
#include "clockskew.h"

int64_t col_skew_add(struct col_skew *s, int64_t sent_ts, int64_t recv_wall)
{
    s->samples[s->pos] = sent_ts - recv_wall;
    s->pos = (s->pos + 1) % COL_SKEW_SAMPLES;
    if (s->n < COL_SKEW_SAMPLES)
        s->n++;
    int64_t best = s->samples[0];
    for (int i = 1; i < s->n; i++)
        if (s->samples[i] > best)
            best = s->samples[i];
    s->ahead_ms = best;
    return best;
}

bool col_skew_known(const struct col_skew *s)
{
    return s->n > 0;
}
