/* SPDX-License-Identifier: MIT */
/* What every part of the wire code shares: the protocol's limits, why a message is rejected,
 * and what makes an id or a metric name valid. The messages are msg.h, their codec codec.h. */
#ifndef BP_WIRE_H
#define BP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BP_PROTO_VERSION 1
/* Largest payload accepted or produced, in bytes. Larger messages are rejected unparsed. */
#define BP_MSG_MAX_BYTES 8192
/* Agent and bot ids: 1..64 chars of [A-Za-z0-9_.-] (safe in topics, file names and SQL). */
#define BP_ID_MAX 64
#define BP_BOOT_MAX 32  /* boot id: 1..32 chars of [A-Za-z0-9_.-] */
#define BP_TEXT_MAX 128 /* free text (reasons, versions, host names); longer is rejected */
#define BP_SHORT_MAX 32 /* symbol, side */
#define BP_AGENT_MAX_BOTS 64
#define BP_ACTION_MAX 32 /* command action names: ids of at most 32 chars */
#define BP_NONCE_MIN 16  /* command nonces: 16..64 id chars (the collector sends 32 hex) */
#define BP_NONCE_MAX 64
#define BP_SIG_HEX 128        /* an Ed25519 signature (64 bytes) as lowercase hex */
#define BP_OUTPUT_MAX 2048    /* a command result's output: its last lines, in bytes */
#define BP_METRICS_MAX 16     /* custom metrics per bot in one heartbeat */
#define BP_METRIC_NAME_MAX 32 /* metric names: 1..32 chars of [a-z0-9_] */
#define BP_EVENT_TEXT_MAX 256 /* free-form event text, in bytes */

/* Why a message was rejected; each has a counter in the collector. */
enum bp_msg_err {
    BP_MSG_OK = 0,
    BP_MSG_ERR_TOO_LARGE,     /* payload over BP_MSG_MAX_BYTES */
    BP_MSG_ERR_JSON,          /* not a JSON object */
    BP_MSG_ERR_VERSION,       /* "v" missing, not an integer, or not a supported version */
    BP_MSG_ERR_TYPE,          /* "type" missing or not a known message type */
    BP_MSG_ERR_MISSING,       /* a required field is absent */
    BP_MSG_ERR_WRONG_TYPE,    /* a field has the wrong JSON type */
    BP_MSG_ERR_UNKNOWN_FIELD, /* a field this version does not define */
    BP_MSG_ERR_RANGE,         /* a value out of its documented range or format */
    BP_MSG_ERR_TOPIC,         /* topic malformed, or its agent/bot/type disagree with the body */
    BP_MSG_ERR_COUNT
};

/* Stable snake_case name of an error ("too_large", "json", ...), for logs and metrics. */
const char *bp_msg_err_name(enum bp_msg_err err);
struct bp_msg_error {
    enum bp_msg_err code;
    char detail[160]; /* human-readable: names the field, e.g. "field 'seq': expected integer" */
};

struct bp_metric {
    char name[BP_METRIC_NAME_MAX + 1]; /* [a-z0-9_]{1,32} */
    double value;                      /* finite */
};

/* Returns true if s is a valid agent or bot id. */
bool bp_id_is_valid(const char *s);
/* True if s is a valid metric name: 1..32 chars of [a-z0-9_]. */
bool bp_metric_name_is_valid(const char *s);
/* True if s[0..len) is 1..max characters of [A-Za-z0-9_.-]. */
bool bp_id_chars_ok(const char *s, size_t len, size_t max);

#endif
