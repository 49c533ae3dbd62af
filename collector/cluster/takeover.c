/* SPDX-License-Identifier: MIT */
/* A takeover's memory. */
#include "takeover.h"

#include <stdlib.h>

void col_takeover_free(struct col_takeover *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->epochs);
    free(t->bots);
    free(t->alerts);
    free(t);
}
