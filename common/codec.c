/* SPDX-License-Identifier: MIT */
/* The table-driven JSON codec: decoding with every bound checked, and encoding, from one table
 * of fields per object (codec.h). */
#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills err (control characters in the detail become '?') and returns -EINVAL. */
int bp_codec_fail(struct bp_msg_error *err, enum bp_msg_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    for (char *p = err->detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    err->code = code;
    return -EINVAL;
}

/* True if s is valid UTF-8 (no overlongs, no surrogates) without control characters (but
 * newlines and tabs when lines is true). */
static bool text_ok(const char *s, bool lines)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, cp, min;
        int n;
        if (c < 0x80) {
            if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f)
                return false;
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* True if d is a whole number that an int64_t holds (no libm needed). */
bool bp_codec_is_integral(double d)
{
    return d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int decode_int(const cJSON *it, const struct bp_codec_field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || !bp_codec_is_integral(d))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected integer", path,
                             f->name);
    if (d < f->min || d > f->max)
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %.0f not in [%.0f, %.0f]", path,
                             f->name, d, f->min, f->max);
    int64_t v = (int64_t)d;
    memcpy(base + f->off, &v, sizeof(v));
    return 0;
}

static int decode_num(const cJSON *it, const struct bp_codec_field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected number", path,
                             f->name);
    bool unknown = f->unknown_ok && d == -1;
    if (!unknown && (!isfinite(d) || d < f->min || d > f->max))
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %g not in [%g, %g]%s", path,
                             f->name, d, f->min, f->max, f->unknown_ok ? " or -1" : "");
    memcpy(base + f->off, &d, sizeof(d));
    return 0;
}

static int decode_str(const cJSON *it, const struct bp_codec_field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    if (!cJSON_IsString(it))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected string", path,
                             f->name);
    const char *s = it->valuestring;
    size_t len = strlen(s);
    if (len < (size_t)f->min || len > (size_t)f->max)
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': length %zu not in [%.0f, %.0f]",
                             path, f->name, len, f->min, f->max);
    bool ok = len == 0; /* only optional fields have min 0 */
    if (!ok && f->kind == BPC_ID)
        ok = bp_id_chars_ok(s, len, (size_t)f->max);
    else if (!ok && (f->kind == BPC_TEXT || f->kind == BPC_LINES))
        ok = text_ok(s, f->kind == BPC_LINES);
    else if (!ok && f->kind == BPC_SIDE)
        ok = strcmp(s, "buy") == 0 || strcmp(s, "sell") == 0;
    else if (!ok && f->kind == BPC_OUTCOME)
        ok = strcmp(s, "ok") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "refused") == 0 ||
             strcmp(s, "timeout") == 0;
    if (!ok)
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': invalid %s", path, f->name,
                             f->kind == BPC_ID     ? "id (want [A-Za-z0-9_.-])"
                             : f->kind == BPC_SIDE ? "side (want buy or sell)"
                             : f->kind == BPC_OUTCOME
                                 ? "outcome (want ok, failed, refused or timeout)"
                                 : "text (want UTF-8 without control characters)");
    memcpy(base + f->off, s, len + 1);
    return 0;
}

static int decode_array(const cJSON *it, const struct bp_codec_field *f, char *base,
                        const char *path, struct bp_msg_error *err)
{
    if (!cJSON_IsArray(it))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected array", path,
                             f->name);
    int n = cJSON_GetArraySize(it);
    if (n > (int)f->max)
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %d items, at most %.0f", path,
                             f->name, n, f->max);
    int i = 0;
    for (const cJSON *el = it->child; el; el = el->next, i++) {
        char sub[128];
        snprintf(sub, sizeof(sub), "%s%s[%d].", path, f->name, i);
        if (!cJSON_IsObject(el))
            return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s[%d]': expected object",
                                 path, f->name, i);
        int rc =
            bp_codec_decode_object(el, f->sub, base + f->off + (size_t)i * f->elem_size, sub, err);
        if (rc)
            return rc;
    }
    memcpy(base + f->count_off, &n, sizeof(n));
    return 0;
}

/* An object of up to f->max metrics: valid unique names, finite numbers. */
static int decode_metrics(const cJSON *it, const struct bp_codec_field *f, char *base,
                          const char *path, struct bp_msg_error *err)
{
    if (!cJSON_IsObject(it))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected object", path,
                             f->name);
    struct bp_metric *m = (struct bp_metric *)(base + f->off);
    int n = 0;
    for (const cJSON *el = it->child; el; el = el->next, n++) {
        if (n >= (int)f->max)
            return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s': more than %.0f metrics",
                                 path, f->name, f->max);
        if (!bp_metric_name_is_valid(el->string))
            return bp_codec_fail(err, BP_MSG_ERR_RANGE,
                                 "field '%s%s': name '%.40s' is not [a-z0-9_]{1,32}", path, f->name,
                                 el->string);
        for (int j = 0; j < n; j++)
            if (strcmp(m[j].name, el->string) == 0)
                return bp_codec_fail(err, BP_MSG_ERR_JSON, "field '%s%s.%s': duplicate", path,
                                     f->name, el->string);
        if (!cJSON_IsNumber(el))
            return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s.%s': expected number",
                                 path, f->name, el->string);
        if (!isfinite(el->valuedouble) || fabs(el->valuedouble) > 1e300)
            return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field '%s%s.%s': not a finite number",
                                 path, f->name, el->string);
        snprintf(m[n].name, sizeof(m[n].name), "%s", el->string);
        m[n].value = el->valuedouble;
    }
    memcpy(base + f->count_off, &n, sizeof(n));
    *(bool *)(base + f->has_off) = true;
    return 0;
}

static int decode_value(const cJSON *it, const struct bp_codec_field *f, char *base,
                        const char *path, struct bp_msg_error *err)
{
    char sub[128];
    switch (f->kind) {
    case BPC_FIXED:
        return 0;
    case BPC_INT:
    case BPC_NUM: {
        int rc = f->kind == BPC_INT ? decode_int(it, f, base, path, err)
                                    : decode_num(it, f, base, path, err);
        if (rc == 0 && f->has_flag)
            *(bool *)(base + f->has_off) = true;
        return rc;
    }
    case BPC_BOOL:
        if (!cJSON_IsBool(it))
            return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected boolean", path,
                                 f->name);
        *(bool *)(base + f->off) = cJSON_IsTrue(it);
        return 0;
    case BPC_OBJ:
        if (!cJSON_IsObject(it))
            return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected object", path,
                                 f->name);
        snprintf(sub, sizeof(sub), "%s%s.", path, f->name);
        if (!f->required)
            *(bool *)(base + f->has_off) = true;
        return bp_codec_decode_object(it, f->sub, base + f->off, sub, err);
    case BPC_ARR:
        return decode_array(it, f, base, path, err);
    case BPC_METRICS:
        return decode_metrics(it, f, base, path, err);
    default:
        return decode_str(it, f, base, path, err);
    }
}

static int find_field(const struct bp_codec_field *fields, const char *name)
{
    for (int i = 0; fields[i].name; i++)
        if (strcmp(fields[i].name, name) == 0)
            return i;
    return -1;
}

/* Walks obj's members against fields[] (at most 64): unknown, duplicate, then missing. */
int bp_codec_decode_object(const cJSON *obj, const struct bp_codec_field *fields, char *base,
                           const char *path, struct bp_msg_error *err)
{
    uint64_t seen = 0;
    for (const cJSON *it = obj->child; it; it = it->next) {
        int i = find_field(fields, it->string);
        if (i < 0)
            return bp_codec_fail(err, BP_MSG_ERR_UNKNOWN_FIELD, "field '%s%s': not defined in v1",
                                 path, it->string);
        if (seen & (UINT64_C(1) << i))
            return bp_codec_fail(err, BP_MSG_ERR_JSON, "field '%s%s': duplicate", path, it->string);
        seen |= UINT64_C(1) << i;
        int rc = decode_value(it, &fields[i], base, path, err);
        if (rc)
            return rc;
    }
    for (int i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (UINT64_C(1) << i)))
            return bp_codec_fail(err, BP_MSG_ERR_MISSING, "field '%s%s': required", path,
                                 fields[i].name);
    return 0;
}

/* Parses exactly len bytes as one JSON value; only whitespace may follow it. */
cJSON *bp_codec_parse(const char *s, size_t len, struct bp_msg_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!root) {
        bp_codec_fail(err, BP_MSG_ERR_JSON, "invalid JSON near byte %td",
                      end ? end - s : (ptrdiff_t)0);
        return NULL;
    }
    for (; end < s + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            bp_codec_fail(err, BP_MSG_ERR_JSON, "garbage after the JSON value at byte %td",
                          end - s);
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* Adds item to obj under name; deletes item if that fails. False on ENOMEM. */
bool bp_codec_add(cJSON *obj, const char *name, cJSON *item)
{
    if (item && cJSON_AddItemToObject(obj, name, item))
        return true;
    cJSON_Delete(item);
    return false;
}

/* Integers are written as plain digits (never "1e+15"), so strict int64 readers accept them. */
bool bp_codec_add_int(cJSON *obj, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return bp_codec_add(obj, name, cJSON_CreateRaw(buf));
}

static cJSON *encode_array(const struct bp_codec_field *f, const char *base)
{
    cJSON *arr = cJSON_CreateArray();
    int n;
    memcpy(&n, base + f->count_off, sizeof(n));
    n = n < 0 ? 0 : n > (int)f->max ? (int)f->max : n;
    for (int i = 0; arr && i < n; i++) {
        cJSON *el = bp_codec_encode_object(f->sub, base + f->off + (size_t)i * f->elem_size);
        if (!el || !cJSON_AddItemToArray(arr, el)) {
            cJSON_Delete(el);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static cJSON *encode_metrics(const struct bp_codec_field *f, const char *base)
{
    const struct bp_metric *m = (const struct bp_metric *)(base + f->off);
    int n;
    memcpy(&n, base + f->count_off, sizeof(n));
    n = n < 0 ? 0 : n > (int)f->max ? (int)f->max : n;
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; obj && i < n; i++) {
        if (!bp_codec_add(obj, m[i].name, cJSON_CreateNumber(m[i].value))) {
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

static bool encode_value(cJSON *obj, const struct bp_codec_field *f, const char *base)
{
    const char *p = base + f->off;
    int64_t i64;
    double d;
    switch (f->kind) {
    case BPC_FIXED:
        return true;
    case BPC_INT:
        if (f->has_flag && !*(const bool *)(base + f->has_off))
            return true;
        memcpy(&i64, p, sizeof(i64));
        return bp_codec_add_int(obj, f->name, i64);
    case BPC_NUM:
        if (f->has_flag && !*(const bool *)(base + f->has_off))
            return true;
        memcpy(&d, p, sizeof(d));
        return bp_codec_add(obj, f->name, cJSON_CreateNumber(d));
    case BPC_BOOL:
        return bp_codec_add(obj, f->name, cJSON_CreateBool(*(const bool *)p));
    case BPC_OBJ:
        if (!f->required && !*(const bool *)(base + f->has_off))
            return true;
        return bp_codec_add(obj, f->name, bp_codec_encode_object(f->sub, p));
    case BPC_ARR:
        return bp_codec_add(obj, f->name, encode_array(f, base));
    case BPC_METRICS:
        if (!*(const bool *)(base + f->has_off))
            return true;
        return bp_codec_add(obj, f->name, encode_metrics(f, base));
    default:
        if (!f->required && p[0] == '\0')
            return true;
        return bp_codec_add(obj, f->name, cJSON_CreateString(p));
    }
}

/* Adds every field of fields[] found at base to obj, in table order. False on ENOMEM. */
bool bp_codec_encode_fields(cJSON *obj, const struct bp_codec_field *fields, const char *base)
{
    for (int i = 0; fields[i].name; i++)
        if (!encode_value(obj, &fields[i], base))
            return false;
    return true;
}

cJSON *bp_codec_encode_object(const struct bp_codec_field *fields, const char *base)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj && !bp_codec_encode_fields(obj, fields, base)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}
