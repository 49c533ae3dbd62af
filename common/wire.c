/* SPDX-License-Identifier: MIT */
/* The wire's shared rules: error names, valid ids and metric names (wire.h). */
#include "wire.h"

#include <string.h>

static const char *const err_names[BP_MSG_ERR_COUNT] = {
    "ok",      "too_large",  "json",          "version", "type",
    "missing", "wrong_type", "unknown_field", "range",   "topic"};

const char *bp_msg_err_name(enum bp_msg_err err)
{
    return (unsigned)err < BP_MSG_ERR_COUNT ? err_names[err] : "unknown";
}

/* True if s[0..len) is 1..max characters of [A-Za-z0-9_.-]. */
bool bp_id_chars_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool bp_id_is_valid(const char *s)
{
    return s && bp_id_chars_ok(s, strnlen(s, BP_ID_MAX + 1), BP_ID_MAX);
}

bool bp_metric_name_is_valid(const char *s)
{
    size_t n = s ? strnlen(s, BP_METRIC_NAME_MAX + 1) : 0;
    if (n == 0 || n > BP_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}
