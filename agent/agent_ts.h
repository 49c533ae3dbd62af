/* SPDX-License-Identifier: MIT */
/* Parses the times bots write (heartbeat files, probe output): Unix seconds or milliseconds,
 * or ISO-8601. Pure functions on buffers, so tests need no files. */
#ifndef AGENT_TS_H
#define AGENT_TS_H

#include <stddef.h>
#include <stdint.h>

/* Parses one time into Unix milliseconds. Accepted, with blanks and line ends around it:
 *  - digits: Unix seconds when below 10^11 (until the year 5138), else milliseconds; seconds
 *    may carry a fraction ("1767225600.25"); "0" means "none" and gives 0;
 *  - ISO-8601: "YYYY-MM-DDTHH:MM:SS" (or a space for the T), optional fraction, then "Z",
 *    "+HH:MM", "+HHMM", "-HH:MM" or nothing (taken as UTC).
 * 0, or -EINVAL for anything else (other text, a day that does not exist such as February 30,
 * a date before 1970 or after 9999). */
int agent_ts_parse(const char *s, size_t len, int64_t *ms);

#endif
