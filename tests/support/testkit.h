/* SPDX-License-Identifier: MIT */
/* What unit and integration tests both need and no server: MQTT topic filters, and JSON
 * messages checked field by field ("key=value", dotted keys reach into objects), so a test
 * says which fields it expects instead of searching the text. */
#ifndef BPT_TESTKIT_H
#define BPT_TESTKIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define BPT_FIELDS_MAX 24

/* True if topic matches an MQTT filter with + and # wildcards. */
bool bpt_topic_matches(const char *filter, const char *topic);

/* True if json is an object with every field of the NULL-terminated list, each "key=value":
 * key a member name, or names joined by '.' into nested objects ("by_status.down"); value
 * compared with the member printed as JSON text without quotes (a string as is, 12, 1.5,
 * true, false, null). "key=*" asks only that the member exists, "key!" that it does not.
 * Otherwise false, with why (may be NULL) naming the first field that differs. */
bool bpt_json_fields(const char *json, const char *const *fields, char *why, size_t whylen);
/* Collects the NULL-terminated variadic fields after a call's last named argument into out
 * (at most BPT_FIELDS_MAX, then NULL). */
void bpt_fields_collect(va_list ap, const char *out[BPT_FIELDS_MAX + 1]);
/* Copies the string (or number, as text) member key (dotted) of json into buf; false if it
 * has none. */
bool bpt_json_get(const char *json, const char *key, char *buf, size_t size);

#endif
