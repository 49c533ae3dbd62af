/* SPDX-License-Identifier: MIT */
/* A JSON Schema checker for the keywords proto/schemas/ uses (see schema.h). */
#include "schema.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
    const cJSON *root; /* the schema, for $ref */
    char *why;
    size_t whylen;
};

static bool fail(struct check *c, const char *path, const char *what)
{
    snprintf(c->why, c->whylen, "%s: %s", path[0] ? path : "(message)", what);
    return false;
}

static bool has_type(const cJSON *v, const char *type)
{
    if (strcmp(type, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0)
        return cJSON_IsArray(v);
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(type, "boolean") == 0)
        return cJSON_IsBool(v);
    if (strcmp(type, "null") == 0)
        return cJSON_IsNull(v);
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(v);
    if (strcmp(type, "integer") == 0)
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    return false;
}

/* An ECMA-262 pattern as a POSIX extended one: each \uXXXX below 0x80 (the schemas use them
 * for control characters) becomes that byte, \u0000 the byte 1 (a C string holds no NUL).
 * false for a \u it cannot translate. */
static bool to_posix(const char *pattern, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 1 < size; p++) {
        if (p[0] == '\\' && p[1] == 'u') {
            char hex[5] = {0};
            memcpy(hex, p + 2, 4);
            unsigned long v = strtoul(hex, NULL, 16);
            if (strlen(hex) != 4 || v >= 0x80)
                return false;
            out[n++] = (char)(v ? v : 1);
            p += 5;
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    return true;
}

static bool matches(const char *pattern, const char *s)
{
    char posix[512];
    regex_t re;
    if (!to_posix(pattern, posix, sizeof(posix)) ||
        regcomp(&re, posix, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static bool valid(struct check *c, const cJSON *s, const cJSON *v, const char *path);

/* The members of an object, under properties, additionalProperties and propertyNames. */
static bool valid_members(struct check *c, const cJSON *s, const cJSON *v, const char *path)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(s, "propertyNames");
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/%s", path, m->string);
        cJSON *name = cJSON_CreateString(m->string);
        bool name_ok = !names || valid(c, names, name, sub);
        cJSON_Delete(name);
        if (!name_ok)
            return false;
        const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
        if (ps && !valid(c, ps, m, sub))
            return false;
        if (!ps && cJSON_IsFalse(extra))
            return fail(c, sub, "not a member the schema allows");
        if (!ps && cJSON_IsObject(extra) && !valid(c, extra, m, sub))
            return false;
    }
    const cJSON *req;
    cJSON_ArrayForEach(req, cJSON_GetObjectItemCaseSensitive(s, "required")) {
        if (!cJSON_GetObjectItemCaseSensitive(v, req->valuestring))
            return fail(c, path, req->valuestring); /* a required member is missing */
    }
    return true;
}

static bool valid_bounds(struct check *c, const cJSON *s, const cJSON *v, const char *path)
{
    const cJSON *k;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "minimum")) && cJSON_IsNumber(v) &&
        v->valuedouble < k->valuedouble)
        return fail(c, path, "below minimum");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "maximum")) && cJSON_IsNumber(v) &&
        v->valuedouble > k->valuedouble)
        return fail(c, path, "above maximum");
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "minLength")) && cJSON_IsString(v) &&
        (double)len < k->valuedouble)
        return fail(c, path, "shorter than minLength");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "maxLength")) && cJSON_IsString(v) &&
        (double)len > k->valuedouble)
        return fail(c, path, "longer than maxLength");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "pattern")) && cJSON_IsString(v) &&
        !matches(k->valuestring, v->valuestring))
        return fail(c, path, "does not match its pattern");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "maxItems")) && cJSON_IsArray(v) &&
        cJSON_GetArraySize(v) > k->valueint)
        return fail(c, path, "more items than maxItems");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "maxProperties")) && cJSON_IsObject(v) &&
        cJSON_GetArraySize(v) > k->valueint)
        return fail(c, path, "more members than maxProperties");
    return true;
}

/* Every keyword of s is one this checker knows. */
static bool known(struct check *c, const cJSON *s, const char *path)
{
    static const char *const words[] = {"$schema",
                                        "$id",
                                        "title",
                                        "description",
                                        "$defs",
                                        "type",
                                        "const",
                                        "enum",
                                        "required",
                                        "properties",
                                        "additionalProperties",
                                        "propertyNames",
                                        "items",
                                        "maxItems",
                                        "minimum",
                                        "maximum",
                                        "minLength",
                                        "maxLength",
                                        "pattern",
                                        "oneOf",
                                        "$ref",
                                        "maxProperties"};
    const cJSON *k;
    cJSON_ArrayForEach(k, s) {
        size_t i = 0;
        while (i < sizeof(words) / sizeof(words[0]) && strcmp(k->string, words[i]) != 0)
            i++;
        if (i == sizeof(words) / sizeof(words[0]))
            return fail(c, path, k->string); /* a keyword the checker does not know */
    }
    return true;
}

/* Exactly one alternative holds (each tried with a scratch reason). */
static bool valid_one_of(struct check *c, const cJSON *s, const cJSON *v, const char *path)
{
    char scratch[256];
    struct check alt_check = {c->root, scratch, sizeof(scratch)};
    int n = 0;
    const cJSON *alt;
    cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(s, "oneOf")) {
        n += valid(&alt_check, alt, v, path);
    }
    return n == 1 || fail(c, path, "not exactly one of oneOf");
}

static bool valid(struct check *c, const cJSON *s, const cJSON *v, const char *path)
{
    if (!known(c, s, path))
        return false;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (k) {
        const char *name = k->valuestring + strlen("#/$defs/");
        const cJSON *defs = cJSON_GetObjectItemCaseSensitive(c->root, "$defs");
        const cJSON *target = defs ? cJSON_GetObjectItemCaseSensitive(defs, name) : NULL;
        return target ? valid(c, target, v, path) : fail(c, path, k->valuestring);
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "type")) && !has_type(v, k->valuestring))
        return fail(c, path, k->valuestring); /* the wrong type */
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "const")) && !cJSON_Compare(k, v, true))
        return fail(c, path, "not the constant");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        bool in = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, k) {
            in = in || cJSON_Compare(e, v, true);
        }
        if (!in)
            return fail(c, path, "not one of the enum");
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "oneOf") && !valid_one_of(c, s, v, path))
        return false;
    if (!valid_bounds(c, s, v, path))
        return false;
    if (cJSON_IsObject(v) && !valid_members(c, s, v, path))
        return false;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *it;
    if (items && cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v) {
            if (!valid(c, items, it, path))
                return false;
        }
    }
    return true;
}

bool schema_check(const char *name, const char *json, char *why, size_t whylen)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/proto/schemas/%s.schema.json", BP_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        len = (size_t)ftell(f);
        rewind(f);
        text = calloc(1, len + 1);
        if (text && fread(text, 1, len, f) != len)
            len = 0;
        fclose(f);
    }
    cJSON *schema = text ? cJSON_Parse(text) : NULL;
    cJSON *msg = cJSON_Parse(json);
    struct check c = {schema, why, whylen};
    bool ok = false;
    if (!schema)
        snprintf(why, whylen, "cannot read %s", path);
    else if (!msg)
        snprintf(why, whylen, "not JSON");
    else
        ok = valid(&c, schema, msg, "");
    cJSON_Delete(schema);
    cJSON_Delete(msg);
    free(text);
    return ok;
}
