/* SPDX-License-Identifier: MIT */
/* The v1 wire codec: one table of fields per message type drives decoding, validation and
 * encoding, so what we accept and what we send cannot drift apart. */
#include "msg.h"

#include "codec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_LIMIT BP_CODEC_INT_LIMIT
#define MSG_OFF(member) offsetof(struct bp_msg, member)

/* clang-format off */
#define REQ true
#define OPT false
#define F_INT(n, r, o, lo, hi) {.name = n, .kind = BPC_INT, .required = r, .off = o, .min = lo, .max = hi}
#define F_NUM(n, o, lo, hi) {.name = n, .kind = BPC_NUM, .required = REQ, .off = o, .min = lo, .max = hi}
#define F_BOOL(n, r, o) {.name = n, .kind = BPC_BOOL, .required = r, .off = o}
#define F_STR(k, n, r, o, lo, hi) {.name = n, .kind = k, .required = r, .off = o, .min = lo, .max = hi}
#define F_OBJ(n, o, s) {.name = n, .kind = BPC_OBJ, .required = REQ, .off = o, .sub = s}
#define F_OBJ_OPT(n, o, s, h) {.name = n, .kind = BPC_OBJ, .required = OPT, .off = o, .sub = s, .has_off = h}
#define F_INT_HAS(n, o, lo, hi, h) {.name = n, .kind = BPC_INT, .required = OPT, .off = o, .min = lo, .max = hi, .has_off = h, .has_flag = true}
#define F_NUM_HAS(n, o, lo, hi, h) {.name = n, .kind = BPC_NUM, .required = OPT, .off = o, .min = lo, .max = hi, .has_off = h, .has_flag = true}
#define F_END {.name = NULL}
/* clang-format on */
/* The envelope, split around "bot" so that it follows "agent" on the wire. */
#define F_HEAD                                                                                     \
    {.name = "v", .kind = BPC_FIXED}, {.name = "type", .kind = BPC_FIXED},                         \
        F_STR(BPC_ID, "agent", REQ, MSG_OFF(hdr.agent), 1, BP_ID_MAX)
#define F_BOT F_STR(BPC_ID, "bot", REQ, MSG_OFF(hdr.bot), 1, BP_ID_MAX)
#define F_TAIL                                                                                     \
    F_STR(BPC_ID, "boot", REQ, MSG_OFF(hdr.boot), 1, BP_BOOT_MAX),                                 \
        F_INT("seq", REQ, MSG_OFF(hdr.seq), 1, INT_LIMIT),                                         \
        F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT)

static const struct bp_codec_field bot_info_fields[] = {
    F_STR(BPC_ID, "id", REQ, offsetof(struct bp_bot_info, id), 1, BP_ID_MAX),
    F_STR(BPC_ID, "account", OPT, offsetof(struct bp_bot_info, account), 0, BP_ID_MAX),
    F_STR(BPC_ID, "exchange", OPT, offsetof(struct bp_bot_info, exchange), 0, BP_ID_MAX),
    F_END,
};

static const struct bp_codec_field agent_state_fields[] = {
    F_HEAD,
    F_TAIL,
    F_BOOL("online", REQ, MSG_OFF(u.agent_state.online)),
    F_STR(BPC_TEXT, "version", REQ, MSG_OFF(u.agent_state.version), 1, BP_TEXT_MAX),
    F_STR(BPC_TEXT, "host", REQ, MSG_OFF(u.agent_state.host), 1, BP_TEXT_MAX),
    F_INT("heartbeat_ms", REQ, MSG_OFF(u.agent_state.heartbeat_ms), 100, 3600000),
    {.name = "bots",
     .kind = BPC_ARR,
     .required = REQ,
     .off = MSG_OFF(u.agent_state.bots),
     .min = 0,
     .max = BP_AGENT_MAX_BOTS,
     .sub = bot_info_fields,
     .elem_size = sizeof(struct bp_bot_info),
     .count_off = MSG_OFF(u.agent_state.nbots)},
    F_END,
};

static const struct bp_codec_field proc_info_fields[] = {
    F_BOOL("alive", REQ, offsetof(struct bp_proc_info, alive)),
    F_INT("pid", OPT, offsetof(struct bp_proc_info, pid), 0, INT_LIMIT),
    F_INT("uptime_s", OPT, offsetof(struct bp_proc_info, uptime_s), 0, INT_LIMIT),
    F_INT("start_ts", OPT, offsetof(struct bp_proc_info, start_ts), 0, INT_LIMIT),
    F_INT_HAS("restarts", offsetof(struct bp_proc_info, restarts), 0, INT_LIMIT,
              offsetof(struct bp_proc_info, has_restarts)),
    F_END,
};

static const struct bp_codec_field hb_log_fields[] = {
    F_INT("last_line_ts", REQ, offsetof(struct bp_hb_log, last_line_ts), 0, INT_LIMIT),
    F_INT("lines", REQ, offsetof(struct bp_hb_log, lines), 0, INT_LIMIT),
    F_INT("trades", REQ, offsetof(struct bp_hb_log, trades), 0, INT_LIMIT),
    F_INT("errors", REQ, offsetof(struct bp_hb_log, errors), 0, INT_LIMIT),
    F_INT("warnings", REQ, offsetof(struct bp_hb_log, warnings), 0, INT_LIMIT),
    F_INT_HAS("reconnects", offsetof(struct bp_hb_log, reconnects), 0, INT_LIMIT,
              offsetof(struct bp_hb_log, has_reconnects)),
    F_INT_HAS("rate_limits", offsetof(struct bp_hb_log, rate_limits), 0, INT_LIMIT,
              offsetof(struct bp_hb_log, has_rate_limits)),
    F_INT_HAS("timeouts", offsetof(struct bp_hb_log, timeouts), 0, INT_LIMIT,
              offsetof(struct bp_hb_log, has_timeouts)),
    F_END,
};

static const struct bp_codec_field hb_file_fields[] = {
    F_BOOL("found", REQ, offsetof(struct bp_hb_file, found)),
    F_INT("mtime_ts", REQ, offsetof(struct bp_hb_file, mtime_ts), 0, INT_LIMIT),
    F_INT("content_ts", REQ, offsetof(struct bp_hb_file, content_ts), 0, INT_LIMIT),
    F_INT("age_ms", REQ, offsetof(struct bp_hb_file, age_ms), 0, INT_LIMIT),
    F_END,
};

static const struct bp_codec_field hb_probe_fields[] = {
    F_INT("last_trade_ts", REQ, offsetof(struct bp_hb_probe, last_trade_ts), 0, INT_LIMIT),
    F_INT("ok_ts", REQ, offsetof(struct bp_hb_probe, ok_ts), 0, INT_LIMIT),
    F_INT("failures", REQ, offsetof(struct bp_hb_probe, failures), 0, INT_LIMIT),
    F_STR(BPC_TEXT, "error", OPT, offsetof(struct bp_hb_probe, error), 0, BP_TEXT_MAX),
    F_END,
};

static const struct bp_codec_field hb_signals_fields[] = {
    F_INT("tick_ts", REQ, offsetof(struct bp_hb_signals, tick_ts), 0, INT_LIMIT),
    F_INT("market_ts", REQ, offsetof(struct bp_hb_signals, market_ts), 0, INT_LIMIT),
    F_INT("positions", REQ, offsetof(struct bp_hb_signals, positions), -1, INT_LIMIT),
    F_INT("orders", REQ, offsetof(struct bp_hb_signals, orders), -1, INT_LIMIT),
    F_INT("api_calls", REQ, offsetof(struct bp_hb_signals, api_calls), 0, INT_LIMIT),
    F_INT("api_errors", REQ, offsetof(struct bp_hb_signals, api_errors), 0, INT_LIMIT),
    F_INT("api_latency_ms_max", REQ, offsetof(struct bp_hb_signals, api_latency_ms_max), 0,
          INT_LIMIT),
    F_INT("maintenance_until", REQ, offsetof(struct bp_hb_signals, maintenance_until), 0,
          INT_LIMIT),
    F_STR(BPC_TEXT, "maintenance_reason", OPT, offsetof(struct bp_hb_signals, maintenance_reason),
          0, BP_TEXT_MAX),
    F_END,
};

/* A heartbeat's own fields after its envelope: also those of a heartbeat in a batch. */
#define HEARTBEAT_BODY                                                                             \
    F_INT("interval_ms", REQ, MSG_OFF(u.heartbeat.interval_ms), 100, 3600000),                     \
        F_OBJ("proc", MSG_OFF(u.heartbeat.proc), proc_info_fields),                                \
        F_INT("last_trade_ts", OPT, MSG_OFF(u.heartbeat.last_trade_ts), 0, INT_LIMIT),             \
        F_OBJ_OPT("log", MSG_OFF(u.heartbeat.log), hb_log_fields, MSG_OFF(u.heartbeat.has_log)),   \
        F_OBJ_OPT("hb_file", MSG_OFF(u.heartbeat.hb_file), hb_file_fields,                         \
                  MSG_OFF(u.heartbeat.has_hb_file)),                                               \
        F_OBJ_OPT("probe", MSG_OFF(u.heartbeat.probe), hb_probe_fields,                            \
                  MSG_OFF(u.heartbeat.has_probe)),                                                 \
        F_OBJ_OPT("signals", MSG_OFF(u.heartbeat.signals), hb_signals_fields,                      \
                  MSG_OFF(u.heartbeat.has_signals)),                                               \
    {                                                                                              \
        .name = "metrics", .kind = BPC_METRICS, .required = OPT,                                   \
        .off = MSG_OFF(u.heartbeat.metrics), .max = BP_METRICS_MAX,                                \
        .count_off = MSG_OFF(u.heartbeat.nmetrics), .has_off = MSG_OFF(u.heartbeat.has_metrics)    \
    }

static const struct bp_codec_field heartbeat_fields[] = {
    F_HEAD, F_BOT, F_TAIL, HEARTBEAT_BODY, F_END,
};

/* One item of a batch: its type and bot, then the body; the batch carries the envelope. */
#define F_ITEM_TYPE                                                                                \
    {                                                                                              \
        .name = "type", .kind = BPC_FIXED                                                          \
    }

static const struct bp_codec_field heartbeat_item_fields[] = {
    F_ITEM_TYPE,
    F_BOT,
    HEARTBEAT_BODY,
    F_END,
};

/* Both stats objects map onto the flat struct bp_stats: offsets are from its start. */
static const struct bp_codec_field stats_proc_fields[] = {
    {.name = "cpu_pct",
     .kind = BPC_NUM,
     .required = REQ,
     .unknown_ok = true,
     .off = offsetof(struct bp_stats, proc_cpu_pct),
     .min = 0,
     .max = INFINITY},
    F_INT("rss_kb", REQ, offsetof(struct bp_stats, proc_rss_kb), -1, INT_LIMIT),
    F_INT_HAS("threads", offsetof(struct bp_stats, proc_threads), 1, INT_LIMIT,
              offsetof(struct bp_stats, has_proc_threads)),
    F_INT_HAS("fds", offsetof(struct bp_stats, proc_fds), 0, INT_LIMIT,
              offsetof(struct bp_stats, has_proc_fds)),
    F_END,
};

static const struct bp_codec_field stats_host_fields[] = {
    F_NUM("cpu_pct", offsetof(struct bp_stats, host_cpu_pct), 0, 100),
    F_NUM("mem_pct", offsetof(struct bp_stats, host_mem_pct), 0, 100),
    F_NUM("disk_pct", offsetof(struct bp_stats, host_disk_pct), 0, 100),
    F_NUM("load1", offsetof(struct bp_stats, host_load1), 0, INFINITY),
    F_NUM_HAS("swap_pct", offsetof(struct bp_stats, host_swap_pct), 0, 100,
              offsetof(struct bp_stats, has_host_swap)),
    F_END,
};

#define STATS_BODY                                                                                 \
    F_OBJ("proc", MSG_OFF(u.stats), stats_proc_fields),                                            \
        F_OBJ("host", MSG_OFF(u.stats), stats_host_fields)

static const struct bp_codec_field stats_fields[] = {
    F_HEAD, F_BOT, F_TAIL, STATS_BODY, F_END,
};

static const struct bp_codec_field stats_item_fields[] = {
    F_ITEM_TYPE,
    F_BOT,
    STATS_BODY,
    F_END,
};

static const struct bp_codec_field trade_info_fields[] = {
    F_INT("ts", REQ, offsetof(struct bp_trade, trade_ts), 1, INT_LIMIT),
    F_STR(BPC_TEXT, "id", OPT, offsetof(struct bp_trade, id), 0, BP_TEXT_MAX),
    F_STR(BPC_TEXT, "symbol", OPT, offsetof(struct bp_trade, symbol), 0, BP_SHORT_MAX),
    F_STR(BPC_SIDE, "side", OPT, offsetof(struct bp_trade, side), 0, BP_SHORT_MAX),
    F_END,
};

static const struct bp_codec_field trade_fields[] = {
    F_HEAD, F_BOT, F_TAIL, F_OBJ("trade", MSG_OFF(u.trade), trade_info_fields), F_END,
};

/* Sent by the collector: no boot or seq (the nonce identifies it), signed. */
static const struct bp_codec_field command_fields[] = {
    F_HEAD,
    F_BOT,
    F_STR(BPC_ID, "action", REQ, MSG_OFF(u.command.action), 1, BP_ACTION_MAX),
    F_STR(BPC_ID, "nonce", REQ, MSG_OFF(u.command.nonce), BP_NONCE_MIN, BP_NONCE_MAX),
    F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT),
    F_INT("expires", REQ, MSG_OFF(u.command.expires), 1, INT_LIMIT),
    F_STR(BPC_ID, "sig", REQ, MSG_OFF(u.command.sig), BP_SIG_HEX, BP_SIG_HEX),
    F_END,
};

/* bot, nonce and action are optional: a command that could not be read is still answered. */
static const struct bp_codec_field command_result_fields[] = {
    F_HEAD,
    F_STR(BPC_ID, "boot", REQ, MSG_OFF(hdr.boot), 1, BP_BOOT_MAX),
    F_INT("seq", REQ, MSG_OFF(hdr.seq), 1, INT_LIMIT),
    F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT),
    F_STR(BPC_ID, "nonce", OPT, MSG_OFF(u.result.nonce), 0, BP_NONCE_MAX),
    F_STR(BPC_ID, "bot", OPT, MSG_OFF(hdr.bot), 0, BP_ID_MAX),
    F_STR(BPC_ID, "action", OPT, MSG_OFF(u.result.action), 0, BP_ACTION_MAX),
    F_STR(BPC_OUTCOME, "outcome", REQ, MSG_OFF(u.result.outcome), 1, 15),
    F_INT("exit_code", REQ, MSG_OFF(u.result.exit_code), -1, 255),
    F_INT("duration_ms", REQ, MSG_OFF(u.result.duration_ms), 0, INT_LIMIT),
    F_STR(BPC_LINES, "output", OPT, MSG_OFF(u.result.output), 0, BP_OUTPUT_MAX),
    F_STR(BPC_TEXT, "reason", OPT, MSG_OFF(u.result.reason), 0, BP_TEXT_MAX),
    F_END,
};

static const struct bp_codec_field event_info_fields[] = {
    F_INT("ts", REQ, offsetof(struct bp_event, event_ts), 1, INT_LIMIT),
    F_STR(BPC_TEXT, "text", REQ, offsetof(struct bp_event, text), 1, BP_EVENT_TEXT_MAX),
    F_END,
};

static const struct bp_codec_field event_fields[] = {
    F_HEAD, F_BOT, F_TAIL, F_OBJ("event", MSG_OFF(u.event), event_info_fields), F_END,
};

static const struct bp_codec_field *const type_fields[BP_MSG_TYPE_COUNT] = {
    agent_state_fields, heartbeat_fields,      stats_fields, trade_fields,
    command_fields,     command_result_fields, event_fields, NULL /* batch: batch.h */};
static const char *const type_names[BP_MSG_TYPE_COUNT] = {
    "agent_state", "heartbeat", "stats", "trade", "command", "command_result", "event", "batch"};
static const char *const topic_leaves[BP_MSG_TYPE_COUNT] = {
    "state", "heartbeat", "stats", "trades", "commands", "results", "events", "batch"};

const char *bp_msg_type_name(enum bp_msg_type type)
{
    return (unsigned)type < BP_MSG_TYPE_COUNT ? type_names[type] : "unknown";
}

/* True if s is valid UTF-8 (no overlongs, no surrogates) without control characters (but
 * newlines and tabs when lines is true). */
/* ---- decoding ----------------------------------------------------------------------------- */

static int check_version(const cJSON *root, struct bp_msg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (!v)
        return bp_codec_fail(err, BP_MSG_ERR_VERSION, "field 'v': required");
    if (!cJSON_IsNumber(v) || !bp_codec_is_integral(v->valuedouble))
        return bp_codec_fail(err, BP_MSG_ERR_VERSION, "field 'v': expected integer");
    if (v->valuedouble != BP_PROTO_VERSION)
        return bp_codec_fail(err, BP_MSG_ERR_VERSION,
                             "field 'v': version %g not supported (want %d)", v->valuedouble,
                             BP_PROTO_VERSION);
    return 0;
}

static int check_type(const cJSON *root, enum bp_msg_type *type, struct bp_msg_error *err)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!t)
        return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': required");
    if (!cJSON_IsString(t))
        return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': expected string");
    for (int i = 0; i < BP_MSG_TYPE_COUNT; i++) {
        if (strcmp(t->valuestring, type_names[i]) == 0) {
            *type = (enum bp_msg_type)i;
            return 0;
        }
    }
    return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': unknown type '%.40s'",
                         t->valuestring);
}

/* Rules that span fields: bot ids in an agent_state are unique. */
static int check_semantics(const struct bp_msg *m, struct bp_msg_error *err)
{
    if (m->hdr.type != BP_MSG_AGENT_STATE)
        return 0;
    const struct bp_agent_state *a = &m->u.agent_state;
    for (int i = 0; i < a->nbots; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(a->bots[i].id, a->bots[j].id) == 0)
                return bp_codec_fail(err, BP_MSG_ERR_RANGE,
                                     "field 'bots[%d].id': duplicate of bots[%d]", i, j);
    return 0;
}

static int decode_root(const cJSON *root, struct bp_msg *out, struct bp_msg_error *err)
{
    if (!cJSON_IsObject(root))
        return bp_codec_fail(err, BP_MSG_ERR_JSON, "not a JSON object");
    int rc = check_version(root, err);
    if (!rc)
        rc = check_type(root, &out->hdr.type, err);
    if (!rc && !type_fields[out->hdr.type])
        rc = bp_codec_fail(err, BP_MSG_ERR_TYPE, "type '%s': read it with bp_batch_open",
                           type_names[out->hdr.type]);
    if (!rc)
        rc = bp_codec_decode_object(root, type_fields[out->hdr.type], (char *)out, "", err);
    if (!rc)
        rc = check_semantics(out, err);
    out->hdr.v = BP_PROTO_VERSION;
    return rc;
}

int bp_msg_decode(const void *payload, size_t len, struct bp_msg *out, struct bp_msg_error *err)
{
    struct bp_msg_error scratch;
    if (!err)
        err = &scratch;
    err->code = BP_MSG_OK;
    err->detail[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (len > BP_MSG_MAX_BYTES) {
        bp_codec_fail(err, BP_MSG_ERR_TOO_LARGE, "payload of %zu bytes, at most %d", len,
                      BP_MSG_MAX_BYTES);
        return -E2BIG;
    }
    if (!payload || len == 0)
        return bp_codec_fail(err, BP_MSG_ERR_JSON, "empty payload");
    cJSON *root = bp_codec_parse(payload, len, err);
    if (!root)
        return -EINVAL;
    int rc = decode_root(root, out, err);
    cJSON_Delete(root);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* Contract addition: NULL with errno EINVAL for a bad type and EMSGSIZE when the JSON would
 * exceed BP_MSG_MAX_BYTES (64 bots with 64-character ids and accounts can). */
char *bp_msg_encode(const struct bp_msg *m)
{
    if ((unsigned)m->hdr.type >= BP_MSG_TYPE_COUNT || !type_fields[m->hdr.type]) {
        errno = EINVAL;
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;
    if (root && bp_codec_add_int(root, "v", BP_PROTO_VERSION) &&
        bp_codec_add(root, "type", cJSON_CreateString(type_names[m->hdr.type])) &&
        bp_codec_encode_fields(root, type_fields[m->hdr.type], (const char *)m))
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!out) {
        errno = ENOMEM;
    } else if (strlen(out) > BP_MSG_MAX_BYTES) {
        free(out);
        out = NULL;
        errno = EMSGSIZE;
    }
    return out;
}

/* The item table of a type a batch may carry, or NULL. */
static const struct bp_codec_field *item_fields(enum bp_msg_type type)
{
    return type == BP_MSG_HEARTBEAT ? heartbeat_item_fields
           : type == BP_MSG_STATS   ? stats_item_fields
                                    : NULL;
}

int bp_msg_decode_body(const struct cJSON *obj, const struct bp_msg_header *hdr, struct bp_msg *out,
                       struct bp_msg_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "expected object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (!cJSON_IsString(t))
        return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': expected string");
    int i = 0;
    while (i < BP_MSG_TYPE_COUNT && strcmp(t->valuestring, type_names[i]) != 0)
        i++;
    const struct bp_codec_field *fields = item_fields((enum bp_msg_type)i);
    if (!fields)
        return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': '%.40s' cannot be batched",
                             t->valuestring);
    int rc = bp_codec_decode_object(obj, fields, (char *)out, "", err);
    char bot[BP_ID_MAX + 1];
    snprintf(bot, sizeof(bot), "%s", out->hdr.bot);
    out->hdr = *hdr; /* the batch's agent, boot, seq and ts */
    out->hdr.type = (enum bp_msg_type)i;
    snprintf(out->hdr.bot, sizeof(out->hdr.bot), "%s", bot);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

struct cJSON *bp_msg_encode_body(const struct bp_msg *m)
{
    const struct bp_codec_field *fields = item_fields(m->hdr.type);
    cJSON *obj = fields ? cJSON_CreateObject() : NULL;
    if (obj && !(bp_codec_add(obj, "type", cJSON_CreateString(type_names[m->hdr.type])) &&
                 bp_codec_encode_fields(obj, fields, (const char *)m))) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    return obj;
}

/* ---- topics ------------------------------------------------------------------------------- */

/* Copies the next level of *p into buf and moves *p past its '/' (NULL after the last level).
 * False if there is no level, it is empty, or it does not fit. */
static bool take_level(const char **p, char *buf, size_t size)
{
    if (!*p)
        return false;
    const char *s = *p, *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= size)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *p = slash ? slash + 1 : NULL;
    return true;
}

static int parse_bot_leaf(const char *p, struct bp_topic *out)
{
    char level[BP_ID_MAX + 1];
    if (!take_level(&p, out->bot, sizeof(out->bot)) || !bp_id_is_valid(out->bot) ||
        !take_level(&p, level, sizeof(level)) || p)
        return -EINVAL;
    for (int t = 0; t < BP_MSG_TYPE_COUNT; t++) {
        if (bp_msg_type_is_bot_level((enum bp_msg_type)t) && strcmp(level, topic_leaves[t]) == 0) {
            out->type = (enum bp_msg_type)t;
            return 0;
        }
    }
    return -EINVAL;
}

int bp_topic_parse(const char *root, const char *topic, struct bp_topic *out)
{
    memset(out, 0, sizeof(*out));
    size_t rl = strlen(root);
    if (rl == 0 || strncmp(topic, root, rl) != 0 || topic[rl] != '/')
        return -EINVAL;
    const char *p = topic + rl + 1;
    char level[BP_ID_MAX + 1];
    if (!take_level(&p, level, sizeof(level)) || strcmp(level, "agents") != 0 ||
        !take_level(&p, out->agent, sizeof(out->agent)) || !bp_id_is_valid(out->agent) ||
        !take_level(&p, level, sizeof(level)))
        return -EINVAL;
    int rc = -EINVAL;
    if (strcmp(level, "state") == 0 && !p) {
        out->type = BP_MSG_AGENT_STATE;
        rc = 0;
    } else if (strcmp(level, "commands") == 0 && !p) {
        out->type = BP_MSG_COMMAND;
        rc = 0;
    } else if (strcmp(level, "results") == 0 && !p) {
        out->type = BP_MSG_COMMAND_RESULT;
        rc = 0;
    } else if (strcmp(level, "batch") == 0 && !p) {
        out->type = BP_MSG_BATCH;
        rc = 0;
    } else if (strcmp(level, "bots") == 0) {
        rc = parse_bot_leaf(p, out);
    }
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int bp_msg_check_topic(const struct bp_msg *m, const struct bp_topic *t, struct bp_msg_error *err)
{
    if (m->hdr.type != t->type)
        return bp_codec_fail(err, BP_MSG_ERR_TOPIC, "topic carries %s but the body is %s",
                             bp_msg_type_name(t->type), bp_msg_type_name(m->hdr.type));
    if (strcmp(m->hdr.agent, t->agent) != 0)
        return bp_codec_fail(err, BP_MSG_ERR_TOPIC, "topic agent '%s' but body agent '%s'",
                             t->agent, m->hdr.agent);
    if (bp_msg_type_is_bot_level(t->type) && strcmp(m->hdr.bot, t->bot) != 0)
        return bp_codec_fail(err, BP_MSG_ERR_TOPIC, "topic bot '%s' but body bot '%s'", t->bot,
                             m->hdr.bot);
    err->code = BP_MSG_OK;
    err->detail[0] = '\0';
    return 0;
}

int bp_topic_format(char *buf, size_t size, const char *root, enum bp_msg_type type,
                    const char *agent, const char *bot)
{
    if ((unsigned)type >= BP_MSG_TYPE_COUNT || !bp_id_is_valid(agent) ||
        (bp_msg_type_is_bot_level(type) && !bp_id_is_valid(bot)))
        return -EINVAL;
    int n;
    if (!bp_msg_type_is_bot_level(type))
        n = snprintf(buf, size, "%s/agents/%s/%s", root, agent, topic_leaves[type]);
    else
        n = snprintf(buf, size, "%s/agents/%s/bots/%s/%s", root, agent, bot, topic_leaves[type]);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool bp_msg_type_is_bot_level(enum bp_msg_type type)
{
    return (type >= BP_MSG_HEARTBEAT && type <= BP_MSG_TRADE) || type == BP_MSG_EVENT;
}
