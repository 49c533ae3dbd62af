/* SPDX-License-Identifier: MIT */
/* The alert sinks' part of the collector's configuration: the [sink NAME] key table and its
 * sections, and the step of col_settings_load that turns [webhook] and every [sink NAME] into
 * the sinks the collector runs (secrets read from their files, filters parsed). */
#ifndef COL_SETTINGS_SINKS_H
#define COL_SETTINGS_SINKS_H

#include "config.h"
#include "sinks.h"

#include <stddef.h>
#include <stdint.h>

/* One [sink NAME] section as written (opaque). */
struct col_sink_section;

/* The [webhook] section's values; borrowed. */
struct col_webhook_section {
    const char *url, *url_file, *format, *chat_id;
    int64_t timeout_ms, retries, backoff_ms, queue_max;
};

extern const struct bp_cfg_key col_sink_keys[];
/* A zeroed [sink name] section for the loader to fill, or NULL with why in err (a bad name,
 * ENOMEM). */
struct col_sink_section *col_sink_section_new(const char *name, char *err, size_t errlen);
void col_sink_section_free(struct col_sink_section *k);

/* Validates [webhook] (when it has a URL: the sink "webhook", first) and the sections into
 * *out (malloc'd, *n of them; NULL when none). 0, or -errno with the file, section and key in
 * err (never a secret). */
int col_settings_sinks_resolve(const char *path, const struct col_webhook_section *wh,
                               struct col_sink_section *const *sections, size_t nsections,
                               struct col_sink_config **out, size_t *n, char *err, size_t errlen);
/* Wipes (they hold secrets) and frees what col_settings_sinks_resolve made. */
void col_settings_sinks_free(struct col_sink_config *sinks, size_t n);

#endif
