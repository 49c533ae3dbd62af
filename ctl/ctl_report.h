/* SPDX-License-Identifier: MIT */
/* botpulse-ctl report: a GET /report answer (the audit report) as Markdown: the fleet, then a
 * table per topic over the bots. Pure, over cJSON; uses ctl_format.h's times and ages. */
#ifndef CTL_REPORT_H
#define CTL_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* 0, or -EINVAL when the body does not have the expected shape. */
int ctl_print_report(FILE *out, const cJSON *body);

#endif
