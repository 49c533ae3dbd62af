/* SPDX-License-Identifier: MIT */
/* The table-driven JSON codec under the wire messages (msg.c) and batches (batch.c): a table
 * of fields per object says each field's name, kind, bounds and place in a C struct, and the
 * same table decodes (bounds, unknown fields, ranges) and encodes. Internal to common/. */
#ifndef BP_CODEC_H
#define BP_CODEC_H

#include "wire.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BP_CODEC_INT_LIMIT 9007199254740992.0 /* 2^53: the largest integer a double holds */

enum bp_codec_kind {
    BPC_FIXED,   /* "v" and "type": checked before the table walk */
    BPC_INT,     /* int64_t; an integral JSON number within +-2^53 */
    BPC_NUM,     /* double; finite */
    BPC_BOOL,    /* bool */
    BPC_ID,      /* char[max + 1] of [A-Za-z0-9_.-] */
    BPC_TEXT,    /* char[max + 1]: valid UTF-8 without control characters */
    BPC_SIDE,    /* char[BP_SHORT_MAX + 1]: "buy" or "sell" */
    BPC_LINES,   /* char[max + 1]: like BPC_TEXT, but newlines and tabs are allowed */
    BPC_OUTCOME, /* char[16]: "ok", "failed", "refused" or "timeout" */
    BPC_OBJ, /* nested object: sub[] at base + off; optional ones set a bool at base + has_off */
    BPC_ARR, /* array of objects: sub[] per element, int count at base + count_off */
    BPC_METRICS, /* optional object name -> number: struct bp_metric[max] at base + off, int
                  count at base + count_off, bool at base + has_off */
};

struct bp_codec_field {
    const char *name;
    enum bp_codec_kind kind;
    bool required;   /* optional fields default to 0 / "" and "" is accepted as "not given" */
    bool unknown_ok; /* BPC_NUM: -1 means "unknown" and is accepted outside [min, max] */
    size_t off;      /* from the base of the enclosing object's struct */
    double min, max; /* numbers: value range; strings: length in bytes; arrays: item count */
    const struct bp_codec_field *sub;
    size_t elem_size; /* BPC_ARR */
    size_t count_off; /* BPC_ARR */
    size_t
        has_off; /* optional BPC_OBJ (or BPC_INT/BPC_NUM with has_flag): bool, true when present */
    bool has_flag; /* an optional number added to v1: encoded only when its has_off is true */
};

/* Fills err (control characters in the detail become '?') and returns -EINVAL. */
__attribute__((format(printf, 3, 4))) int bp_codec_fail(struct bp_msg_error *err,
                                                        enum bp_msg_err code, const char *fmt, ...);
/* True if d is a whole number that an int64_t holds. */
bool bp_codec_is_integral(double d);
/* Parses exactly len bytes as one JSON value (only whitespace may follow); NULL with err. */
cJSON *bp_codec_parse(const char *s, size_t len, struct bp_msg_error *err);
/* Walks obj's members against fields[] (at most 64) into the struct at base: unknown,
 * duplicate, then missing fields are errors; path prefixes field names in err. 0 or -EINVAL. */
int bp_codec_decode_object(const cJSON *obj, const struct bp_codec_field *fields, char *base,
                           const char *path, struct bp_msg_error *err);
/* Adds every field of fields[] found at base to obj, in table order. False on ENOMEM. */
bool bp_codec_encode_fields(cJSON *obj, const struct bp_codec_field *fields, const char *base);
/* A new object of fields[] at base; NULL on ENOMEM. */
cJSON *bp_codec_encode_object(const struct bp_codec_field *fields, const char *base);
/* Adds item to obj under name (deletes item if that fails); false on ENOMEM. */
bool bp_codec_add(cJSON *obj, const char *name, cJSON *item);
/* Adds an integer as plain digits (never "1e+15"); false on ENOMEM. */
bool bp_codec_add_int(cJSON *obj, const char *name, int64_t v);

#endif
