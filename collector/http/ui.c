/* SPDX-License-Identifier: MIT */
/* The dashboard's embedded files: looked up by name, and served. */
#include "ui.h"

#include "http_parse.h"

#include <stdlib.h>
#include <string.h>

const struct col_ui_asset *col_ui_find(const char *name)
{
    if (!name || !*name)
        name = "index.html";
    for (int i = 0; i < col_ui_assets_count; i++)
        if (strcmp(col_ui_assets[i].name, name) == 0)
            return &col_ui_assets[i];
    return NULL;
}

/* GET / and /ui/{name}: a file of the dashboard, compiled in. */
void col_http_ui(const struct col_http_ctx *ctx, const struct col_http_request *req,
                 struct col_http_reply *reply)
{
    const struct col_ui_asset *a = col_ui_find(req->route->id);
    if (!a) {
        col_http_error(reply, 404, "no dashboard file '%s'", req->route->id);
        return;
    }
    reply->body = malloc(a->len + 1);
    if (!reply->body)
        return; /* the server answers 500 */
    memcpy(reply->body, a->data, a->len + 1);
    reply->body_len = a->len;
    reply->status = 200;
    reply->content_type = a->content_type;
}
