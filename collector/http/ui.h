/* SPDX-License-Identifier: MIT */
/* The dashboard's files (collector/http/ui/: html, js, css), compiled into the collector by
 * embed_ui.cmake: GET / serves index.html, GET /ui/{name} the others. */
#ifndef COL_UI_H
#define COL_UI_H

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

#endif
