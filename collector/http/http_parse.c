/* SPDX-License-Identifier: MIT */
/* HTTP API grammar: route table, query parameter lists, strict number parsing. */
#include "http_parse.h"

#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_component(const char *s)
{
    return strcmp(s, "broker") == 0 || strcmp(s, "database") == 0 || strcmp(s, "rules") == 0 ||
           strcmp(s, "cluster") == 0;
}

/* What a {name} segment of a pattern may stand for. */
static const struct placeholder {
    const char *name; /* with its braces */
    const char *what; /* without: for messages */
    bool may_be_empty;
    bool bad_is_404;               /* a value that is not valid: no match (else a 400) */
    bool (*valid)(const char *id); /* NULL: any value that fits */
} placeholders[] = {
    {"{bot}", "bot", false, false, bp_id_is_valid},
    {"{silence}", "silence", true, false, bp_id_is_valid},
    {"{component}", "component", false, true, is_component},
    {"{file}", "file", false, true, bp_id_is_valid}, /* one plain file name: no '/' */
};

static const struct placeholder *placeholder_of(const char *seg, size_t n)
{
    for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
        if (strlen(placeholders[i].name) == n && strncmp(placeholders[i].name, seg, n) == 0)
            return &placeholders[i];
    return NULL;
}

/* Whether path fits pattern; the value of its placeholder (if any) goes to *ph, id (which holds
 * an id, or "" when the value does not fit) and *id_ok. */
static bool fits(const char *pattern, const char *path, const struct placeholder **ph, char *id,
                 size_t idsize, bool *id_ok)
{
    *ph = NULL;
    *id_ok = true;
    id[0] = '\0';
    while (*pattern == '/' && *path == '/') {
        pattern++, path++;
        size_t pn = strcspn(pattern, "/"), n = strcspn(path, "/");
        const struct placeholder *p = placeholder_of(pattern, pn);
        if (!p && (pn != n || strncmp(pattern, path, n) != 0))
            return false;
        if (p) {
            if (n == 0 && !p->may_be_empty)
                return false;
            if (n < idsize) {
                memcpy(id, path, n);
                id[n] = '\0';
            }
            *id_ok = n < idsize && (!p->valid || p->valid(id));
            if (!*id_ok && p->bad_is_404)
                return false;
            if (!*id_ok)
                id[0] = '\0';
            *ph = p;
        }
        pattern += pn;
        path += n;
    }
    return *pattern == '\0' && *path == '\0';
}

static bool method_takes(const char *route_method, const char *method)
{
    if (strcmp(route_method, "GET") == 0)
        return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    return strcmp(route_method, method) == 0;
}

/* The methods every route with this pattern takes, in table order ("GET, HEAD, POST"). */
static void allowed(const char *pattern, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < col_routes_count; i++) {
        const struct col_route *r = &col_routes[i];
        if (strcmp(r->pattern, pattern) == 0)
            n += (size_t)snprintf(buf + n, size - n, "%s%s%s", n ? ", " : "", r->method,
                                  strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
    }
}

int col_route_match(const char *method, const char *path, struct col_route_match *m)
{
    memset(m, 0, sizeof(*m));
    m->params = "";
    const struct col_route *hit = NULL;
    const struct placeholder *ph = NULL;
    bool id_ok = true;
    char id[sizeof(m->id)];
    for (size_t i = 0; i < col_routes_count && !hit; i++)
        if (fits(col_routes[i].pattern, path, &ph, id, sizeof(id), &id_ok))
            hit = &col_routes[i];
    if (!hit)
        return -ENOENT;
    allowed(hit->pattern, m->allow, sizeof(m->allow));
    for (size_t i = 0; i < col_routes_count; i++) {
        const struct col_route *r = &col_routes[i];
        if (strcmp(r->pattern, hit->pattern) == 0 && method_takes(r->method, method)) {
            hit = r;
            break;
        }
    }
    m->route = hit;
    m->params = hit->params;
    m->mutating = strcmp(hit->method, "GET") != 0;
    m->what = ph ? ph->what : "";
    if (!method_takes(hit->method, method))
        return -EPERM;
    if (!id_ok)
        return -EINVAL;
    snprintf(m->id, sizeof(m->id), "%s", id);
    return 0;
}

bool col_route_takes(const char *params, const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return false;
    for (const char *p = params; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == params || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

int col_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
    const char *p = text;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    int64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (*p - '0');
    }
    if (*p)
        return -EINVAL;
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int col_parse_status(const char *text)
{
    for (int s = 0; s < COL_ST_COUNT; s++)
        if (strcmp(text, col_status_name((enum col_status)s)) == 0)
            return s;
    return -1;
}
