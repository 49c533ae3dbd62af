/* SPDX-License-Identifier: MIT */
/* The two clocks: monotonic for deadlines, wall-clock Unix milliseconds for timestamps. */
#include "clock.h"

#include <errno.h>
#include <time.h>

int64_t bp_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bp_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bp_mono_timespec(int64_t mono_ms, struct timespec *out)
{
    out->tv_sec = (time_t)(mono_ms / 1000);
    out->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

void bp_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec req = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&req, &req) != 0 && errno == EINTR)
        ;
}
