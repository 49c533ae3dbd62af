/* SPDX-License-Identifier: MIT */
/* Checks a JSON message against one of the schemas in proto/schemas/, for the golden tests. The
 * keywords those schemas use, and only those: type, const, enum, required, properties,
 * additionalProperties, propertyNames, maxProperties, items, maxItems, minimum, maximum, minLength,
 * maxLength, pattern (POSIX extended), oneOf and $ref to "#/$defs/NAME". Any other keyword
 * fails the check, so a schema cannot grow past what is checked without the tests noticing. */
#ifndef TEST_SCHEMA_H
#define TEST_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* True if json is valid under proto/schemas/<name>.schema.json (name e.g. "alert"); else
 * false with why naming the path and the broken rule. */
bool schema_check(const char *name, const char *json, char *why, size_t whylen);

#endif
