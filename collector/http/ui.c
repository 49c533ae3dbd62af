/* SPDX-License-Identifier: MIT */
/* Looks up the dashboard's embedded files by name. */
#include "ui.h"

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
