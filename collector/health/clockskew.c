/* SPDX-License-Identifier: MIT */
/* Agent clock offset: the largest of the last few (sent - received) samples once the top
 * quarter is set aside. */
#include "clockskew.h"

#include <string.h>

/* The samples set aside at the top: a quarter of them, at least one once there are two. */
static int aside(int n)
{
    if (n < 2)
        return 0;
    return n / 4 > 1 ? n / 4 : 1;
}

int64_t col_skew_add(struct col_skew *s, int64_t sent_ts, int64_t recv_wall)
{
    s->samples[s->pos] = sent_ts - recv_wall;
    s->pos = (s->pos + 1) % COL_SKEW_SAMPLES;
    if (s->n < COL_SKEW_SAMPLES)
        s->n++;
    int64_t v[COL_SKEW_SAMPLES];
    memcpy(v, s->samples, sizeof(v[0]) * (size_t)s->n);
    for (int i = 1; i < s->n; i++) { /* insertion sort, largest first: 16 at most */
        int64_t x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1] < x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    s->ahead_ms = v[aside(s->n)];
    return s->ahead_ms;
}

bool col_skew_known(const struct col_skew *s)
{
    return s->n > 0;
}
