/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr: one line per event with wall time, level and module, and the
 * syslog priority in front when stderr is the systemd journal. */
#ifndef BP_LOG_H
#define BP_LOG_H

enum bp_log_level { BP_LOG_ERROR = 0, BP_LOG_WARN = 1, BP_LOG_INFO = 2, BP_LOG_DEBUG = 3 };

/* The process-wide threshold; set once at start-up (before threads), read thereafter. */
extern enum bp_log_level bp_log_threshold;

/* Looks again whether stderr is the systemd journal: $JOURNAL_STREAM ("DEV:INODE", set by
 * systemd for a unit whose output goes to the journal) names stderr's device and inode. Then
 * every line starts with its syslog priority ("<3>" error, "<4>" warn, "<6>" info, "<7>" debug),
 * which journald strips and stores, so `journalctl -p warning` works. Done by itself before the
 * first line; call it again after redirecting stderr (before threads log). */
void bp_log_setup(void);

/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int bp_log_level_parse(const char *name, enum bp_log_level *out);

void bp_log_write(enum bp_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the level before formatting anything. */
#define bp_log(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= bp_log_threshold)                                                           \
            bp_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)

#define BP_ERROR(mod, ...) bp_log(BP_LOG_ERROR, mod, __VA_ARGS__)
#define BP_WARN(mod, ...) bp_log(BP_LOG_WARN, mod, __VA_ARGS__)
#define BP_INFO(mod, ...) bp_log(BP_LOG_INFO, mod, __VA_ARGS__)
#define BP_DEBUG(mod, ...) bp_log(BP_LOG_DEBUG, mod, __VA_ARGS__)

#endif
