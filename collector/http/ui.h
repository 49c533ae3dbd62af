/* SPDX-License-Identifier: MIT */
/* The dashboard's files (collector/http/ui/: html, js, css), compiled into the collector by
 * embed_ui.cmake: GET / serves index.html, GET /ui/{name} the others. */
#ifndef COL_UI_H
#define COL_UI_H

#include "http_reply.h"

#include <stddef.h>

struct col_ui_asset {
    const char *name;          /* file name, e.g. "app.js" */
    const char *content_type;  /* from the extension */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
};

extern const struct col_ui_asset col_ui_assets[];
extern const int col_ui_assets_count;

/* The asset called name ("" means index.html), or NULL. */
const struct col_ui_asset *col_ui_find(const char *name);

/* GET / and GET /ui/{file}: 200 with the file and its content type, or 404. */
void col_http_ui(const struct col_http_ctx *ctx, const struct col_http_request *req,
                 struct col_http_reply *reply);

#endif
