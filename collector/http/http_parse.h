/* SPDX-License-Identifier: MIT */
/* The HTTP API's grammar, as pure functions: which route of the table a method and path name
 * (with the bot id or component in it), which query parameters each route takes, and strict
 * parsers for numbers and status words. No I/O, so the unit tests cover every path and every
 * bad input. */
#ifndef COL_HTTP_PARSE_H
#define COL_HTTP_PARSE_H

#include "msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_http_ctx;
struct col_http_request;
struct col_http_reply;

/* One route: a method and a path pattern, what it takes and who answers it. Patterns are
 * matched segment by segment; a segment in braces stands for one path segment:
 *   {bot}, {silence}: an id, 1..64 of [A-Za-z0-9_.-]; any other segment there is a 400
 *                     ({silence} may be empty, and is then a 400 too)
 *   {component}: broker, database or rules;  {file}: a plain file name (else no match: 404) */
struct col_route {
    const char *method;  /* "GET" (which answers HEAD too), "POST" or "DELETE" */
    const char *pattern; /* e.g. "/bots/{bot}/history" */
    const char *params;  /* the query parameters it takes, space-separated ("" = none) */
    const char *body;    /* what a POST must carry, for the 400 (NULL: a body is optional) */
    bool raw_body;       /* the handler decodes the body itself (no JSON-object check first) */
    /* answers it (a col_http_handler, http_reply.h) */
    void (*handler)(const struct col_http_ctx *ctx, const struct col_http_request *req,
                    struct col_http_reply *reply);
};

/* The route table, in the order paths are tried (literal paths before patterns that would
 * also match them); defined with the handlers in http_routes.c. */
extern const struct col_route col_routes[];
extern const size_t col_routes_count;

struct col_route_match {
    const struct col_route *route; /* the route for this path and method */
    char id[BP_ID_MAX + 1]; /* the path's {placeholder}: bot or silence id, component, file */
    const char *what;       /* the placeholder's name ("bot", "silence"), for a 400 */
    char allow[32];         /* the methods the path takes, for 405's Allow header */
    const char *params;     /* the query parameters it takes, space-separated ("" = none) */
    bool mutating;          /* POST, DELETE: needs the bearer token */
};

/* Matches method and path (the part before '?') against col_routes. 0 with m filled; -ENOENT:
 * no such path (404); -EINVAL: the path has a bot or silence id that is not 1..64 of
 * [A-Za-z0-9_.-] (400; m->route set); -EPERM: the path exists but not for this method (405;
 * m->allow set). HEAD counts as GET. */
int col_route_match(const char *method, const char *path, struct col_route_match *m);

/* True if name is one of the space-separated words of params. */
bool col_route_takes(const char *params, const char *name);

/* Parses a decimal integer (digits only, optionally one leading '-') within [min, max].
 * 0, -EINVAL (not a number) or -ERANGE. */
int col_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);

/* The status word's enum value (col_status), or -1. */
int col_parse_status(const char *text);

#endif
