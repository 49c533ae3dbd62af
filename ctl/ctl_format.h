/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's output: the API's JSON as human-readable tables, and the exit code each
 * answer means. Pure functions over cJSON, so the unit tests check them without a collector. */
#ifndef CTL_FORMAT_H
#define CTL_FORMAT_H

#include "ctl_args.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

/* Prints body (the 2xx answer to cmd) as a table or key: value lines (the report is Markdown:
 * ctl_report.h). 0, or -EINVAL when the body does not have the expected shape. */
int ctl_print(FILE *out, const struct ctl_cmd *cmd, const cJSON *body, int64_t now_ms);

/* The exit code for an answer: HTTP status and body (NULL if not JSON). */
enum ctl_exit ctl_exit_for(const struct ctl_cmd *cmd, long http_status, const cJSON *body);

/* "3s", "4m12s", "2h05m", "3d04h"; "-" for a negative span. */
void ctl_format_age(int64_t ms, char *buf, size_t size);
/* Unix ms as "2026-01-31 23:59:59Z"; "never" for 0. */
void ctl_format_time(int64_t ms, char *buf, size_t size);

#endif
