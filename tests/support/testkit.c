/* SPDX-License-Identifier: MIT */
/* MQTT topic filters and JSON fields for tests (see testkit.h). */
#include "testkit.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool bpt_topic_matches(const char *filter, const char *topic)
{
    /* Wildcards do not match topics starting with '$' at the first level (MQTT 4.7.2). */
    if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
        return false;
    for (;;) {
        if (filter[0] == '#' && filter[1] == '\0')
            return true;
        const char *fend = strchrnul(filter, '/');
        const char *tend = strchrnul(topic, '/');
        if (!(fend - filter == 1 && filter[0] == '+') &&
            (fend - filter != tend - topic || memcmp(filter, topic, (size_t)(fend - filter)) != 0))
            return false;
        if (*fend == '\0' && *tend == '\0')
            return true;
        if (*fend == '\0')
            return false;
        if (*tend == '\0') /* "a/#" also matches "a" */
            return strcmp(fend, "/#") == 0;
        filter = fend + 1;
        topic = tend + 1;
    }
}

/* The member at a dotted path, or NULL. */
static const cJSON *member(const cJSON *o, const char *path)
{
    char name[128];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(name))
            return NULL;
        memcpy(name, path, n);
        name[n] = '\0';
        o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

/* A member as text: a string as is, a number in its shortest exact form, the literals. */
static void text_of(const cJSON *v, char *buf, size_t size)
{
    if (cJSON_IsString(v))
        snprintf(buf, size, "%s", v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
             fabs(v->valuedouble) < 9007199254740992.0)
        snprintf(buf, size, "%lld", (long long)v->valuedouble);
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, size, "null");
    else
        snprintf(buf, size, "(%s)", cJSON_IsArray(v) ? "array" : "object");
}

/* Checks one "key=value", "key=*" or "key!" field of o. */
static bool field_ok(const cJSON *o, const char *field, char *why, size_t whylen)
{
    char key[128], got[512];
    size_t n = strcspn(field, "=!");
    snprintf(key, sizeof(key), "%.*s", (int)n, field);
    const cJSON *v = member(o, key);
    if (field[n] == '!') {
        if (v && why)
            snprintf(why, whylen, "%s: want none, got one", key);
        return !v;
    }
    const char *want = field[n] == '=' ? field + n + 1 : "*";
    if (!v) {
        if (why)
            snprintf(why, whylen, "%s: missing (want %s)", key, want);
        return false;
    }
    text_of(v, got, sizeof(got));
    if (strcmp(want, "*") == 0 || strcmp(want, got) == 0)
        return true;
    if (why)
        snprintf(why, whylen, "%s: want %s, got %s", key, want, got);
    return false;
}

bool bpt_json_fields(const char *json, const char *const *fields, char *why, size_t whylen)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    bool ok = cJSON_IsObject(o);
    if (!ok && why)
        snprintf(why, whylen, "not a JSON object");
    for (size_t i = 0; ok && fields[i]; i++)
        ok = field_ok(o, fields[i], why, whylen);
    cJSON_Delete(o);
    return ok;
}

void bpt_fields_collect(va_list ap, const char *out[BPT_FIELDS_MAX + 1])
{
    size_t n = 0;
    const char *f;
    while (n < BPT_FIELDS_MAX && (f = va_arg(ap, const char *)) != NULL)
        out[n++] = f;
    out[n] = NULL;
}

bool bpt_json_get(const char *json, const char *key, char *buf, size_t size)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *v = member(o, key);
    bool ok = cJSON_IsString(v) || cJSON_IsNumber(v);
    if (ok)
        text_of(v, buf, size);
    cJSON_Delete(o);
    return ok;
}
