/* SPDX-License-Identifier: MIT */
/* The HTTP API's routes: one table (method, path pattern, query parameters, body, handler),
 * declared with its type in http_parse.h and defined in http_routes.c beside the handlers it
 * names. Adding a route is one line there, its handler, and its entry in docs/openapi.yaml. */
#ifndef COL_HTTP_ROUTES_H
#define COL_HTTP_ROUTES_H

#include "http_parse.h"

#endif
