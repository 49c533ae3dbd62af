/* SPDX-License-Identifier: MIT */
/* Table-driven INI config: inih parses, one table of keys per section kind validates
 * (name, type, range, default, where it goes). Errors name the file, line and key. */
#ifndef BP_CONFIG_H
#define BP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum bp_cfg_type {
    BP_CFG_STR,    /* char[size] inside the target struct; too long is an error */
    BP_CFG_INT,    /* int64_t */
    BP_CFG_DOUBLE, /* double */
    BP_CFG_BOOL,   /* bool: true/false/yes/no/on/off/1/0 */
    BP_CFG_MS,     /* int64_t milliseconds: "250ms", "10s", "30m", "2h", "1d"; bare number = s */
    BP_CFG_REGEX,  /* char[size] like BP_CFG_STR, and must compile as a POSIX extended regex */
};

struct bp_cfg_key {
    const char *name;
    enum bp_cfg_type type;
    double min, max;  /* range for numbers (ms for BP_CFG_MS); ignored for strings and bools */
    const char *def;  /* default as text, parsed like a file value; NULL = no default */
    size_t offset;    /* offsetof(target struct, field) */
    size_t size;      /* sizeof the field (the buffer size for strings) */
    const char *help; /* one line for docs and errors */
};

/* A repeated section such as [bot demo-1]: the text after the prefix and a space is the
 * item's name. add() returns a zeroed item struct for that name (or NULL: "too many"/ENOMEM);
 * its keys come from keys[], defaults applied before the file's values. */
struct bp_cfg_section {
    const char *prefix; /* "bot" */
    const struct bp_cfg_key *keys;
    void *(*add)(void *cfg, const char *name, char *err, size_t errlen);
};

struct bp_cfg_schema {
    /* Plain sections, e.g. {"mqtt", mqtt_keys}; the section name is matched exactly. */
    struct {
        const char *name;
        const struct bp_cfg_key *keys;
    } sections[12];
    struct bp_cfg_section repeated[4];
};

/* Applies every default, then loads path into cfg. Unknown sections or keys, bad values and
 * missing required keys (no default, never set) are errors. Returns 0, or -errno with
 * "file:line: [section] key: what is wrong" in err. */
int bp_config_load(const char *path, const struct bp_cfg_schema *schema, void *cfg, char *err,
                   size_t errlen);

/* Applies the defaults of one key table to target (used for repeated items and tests). */
int bp_config_defaults(const struct bp_cfg_key *keys, void *target, char *err, size_t errlen);

/* Parses a duration ("250ms", "10s", "30m", "2h", "1d"; a bare number means seconds). */
int bp_config_parse_ms(const char *text, int64_t *out);

#endif
