/* SPDX-License-Identifier: MIT */
/* The v1 wire codec: one table of fields per message type drives decoding, validation and
 * encoding, so what we accept and what we send cannot drift apart. */
#include "msg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_LIMIT 9007199254740992.0 /* 2^53: the largest integer a double holds exactly */
#define MSG_OFF(member) offsetof(struct bp_msg, member)

enum kind {
    K_FIXED,   /* "v" and "type": checked before the table walk */
    K_INT,     /* int64_t; an integral JSON number within +-2^53 */
    K_NUM,     /* double; finite */
    K_BOOL,    /* bool */
    K_ID,      /* char[max + 1] of [A-Za-z0-9_.-] */
    K_TEXT,    /* char[max + 1]: valid UTF-8 without control characters */
    K_SIDE,    /* char[BP_SHORT_MAX + 1]: "buy" or "sell" */
    K_LINES,   /* char[max + 1]: like K_TEXT, but newlines and tabs are allowed */
    K_OUTCOME, /* char[16]: "ok", "failed", "refused" or "timeout" */
    K_OBJ,     /* nested object: sub[] at base + off; optional ones set a bool at base + has_off */
    K_ARR,     /* array of objects: sub[] per element, int count at base + count_off */
    K_METRICS, /* optional object name -> number: struct bp_metric[max] at base + off, int
                  count at base + count_off, bool at base + has_off */
};

struct field {
    const char *name;
    enum kind kind;
    bool required;   /* optional fields default to 0 / "" and "" is accepted as "not given" */
    bool unknown_ok; /* K_NUM: -1 means "unknown" and is accepted outside [min, max] */
    size_t off;      /* from the base of the enclosing object's struct */
    double min, max; /* numbers: value range; strings: length in bytes; arrays: item count */
    const struct field *sub;
    size_t elem_size; /* K_ARR */
    size_t count_off; /* K_ARR */
    size_t has_off;   /* optional K_OBJ (or K_INT/K_NUM with has_flag): bool, true when present */
    bool has_flag;    /* an optional number added to v1: encoded only when its has_off is true */
};

/* clang-format off */
#define REQ true
#define OPT false
#define F_INT(n, r, o, lo, hi) {.name = n, .kind = K_INT, .required = r, .off = o, .min = lo, .max = hi}
#define F_NUM(n, o, lo, hi) {.name = n, .kind = K_NUM, .required = REQ, .off = o, .min = lo, .max = hi}
#define F_BOOL(n, r, o) {.name = n, .kind = K_BOOL, .required = r, .off = o}
#define F_STR(k, n, r, o, lo, hi) {.name = n, .kind = k, .required = r, .off = o, .min = lo, .max = hi}
#define F_OBJ(n, o, s) {.name = n, .kind = K_OBJ, .required = REQ, .off = o, .sub = s}
#define F_OBJ_OPT(n, o, s, h) {.name = n, .kind = K_OBJ, .required = OPT, .off = o, .sub = s, .has_off = h}
#define F_INT_HAS(n, o, lo, hi, h) {.name = n, .kind = K_INT, .required = OPT, .off = o, .min = lo, .max = hi, .has_off = h, .has_flag = true}
#define F_NUM_HAS(n, o, lo, hi, h) {.name = n, .kind = K_NUM, .required = OPT, .off = o, .min = lo, .max = hi, .has_off = h, .has_flag = true}
#define F_END {.name = NULL}
/* clang-format on */
/* The envelope, split around "bot" so that it follows "agent" on the wire. */
#define F_HEAD                                                                                     \
    {.name = "v", .kind = K_FIXED}, {.name = "type", .kind = K_FIXED},                             \
        F_STR(K_ID, "agent", REQ, MSG_OFF(hdr.agent), 1, BP_ID_MAX)
#define F_BOT F_STR(K_ID, "bot", REQ, MSG_OFF(hdr.bot), 1, BP_ID_MAX)
#define F_TAIL                                                                                     \
    F_STR(K_ID, "boot", REQ, MSG_OFF(hdr.boot), 1, BP_BOOT_MAX),                                   \
        F_INT("seq", REQ, MSG_OFF(hdr.seq), 1, INT_LIMIT),                                         \
        F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT)

static const struct field bot_info_fields[] = {
    F_STR(K_ID, "id", REQ, offsetof(struct bp_bot_info, id), 1, BP_ID_MAX),
    F_STR(K_ID, "account", OPT, offsetof(struct bp_bot_info, account), 0, BP_ID_MAX),
    F_STR(K_ID, "exchange", OPT, offsetof(struct bp_bot_info, exchange), 0, BP_ID_MAX),
    F_END,
};

static const struct field agent_state_fields[] = {
    F_HEAD,
    F_TAIL,
    F_BOOL("online", REQ, MSG_OFF(u.agent_state.online)),
    F_STR(K_TEXT, "version", REQ, MSG_OFF(u.agent_state.version), 1, BP_TEXT_MAX),
    F_STR(K_TEXT, "host", REQ, MSG_OFF(u.agent_state.host), 1, BP_TEXT_MAX),
    F_INT("heartbeat_ms", REQ, MSG_OFF(u.agent_state.heartbeat_ms), 100, 3600000),
    {.name = "bots",
     .kind = K_ARR,
     .required = REQ,
     .off = MSG_OFF(u.agent_state.bots),
     .min = 0,
     .max = BP_AGENT_MAX_BOTS,
     .sub = bot_info_fields,
     .elem_size = sizeof(struct bp_bot_info),
     .count_off = MSG_OFF(u.agent_state.nbots)},
    F_END,
};

static const struct field proc_info_fields[] = {
    F_BOOL("alive", REQ, offsetof(struct bp_proc_info, alive)),
    F_INT("pid", OPT, offsetof(struct bp_proc_info, pid), 0, INT_LIMIT),
    F_INT("uptime_s", OPT, offsetof(struct bp_proc_info, uptime_s), 0, INT_LIMIT),
    F_INT("start_ts", OPT, offsetof(struct bp_proc_info, start_ts), 0, INT_LIMIT),
    F_INT_HAS("restarts", offsetof(struct bp_proc_info, restarts), 0, INT_LIMIT,
              offsetof(struct bp_proc_info, has_restarts)),
    F_END,
};

static const struct field hb_log_fields[] = {
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

static const struct field hb_file_fields[] = {
    F_BOOL("found", REQ, offsetof(struct bp_hb_file, found)),
    F_INT("mtime_ts", REQ, offsetof(struct bp_hb_file, mtime_ts), 0, INT_LIMIT),
    F_INT("content_ts", REQ, offsetof(struct bp_hb_file, content_ts), 0, INT_LIMIT),
    F_INT("age_ms", REQ, offsetof(struct bp_hb_file, age_ms), 0, INT_LIMIT),
    F_END,
};

static const struct field hb_probe_fields[] = {
    F_INT("last_trade_ts", REQ, offsetof(struct bp_hb_probe, last_trade_ts), 0, INT_LIMIT),
    F_INT("ok_ts", REQ, offsetof(struct bp_hb_probe, ok_ts), 0, INT_LIMIT),
    F_INT("failures", REQ, offsetof(struct bp_hb_probe, failures), 0, INT_LIMIT),
    F_STR(K_TEXT, "error", OPT, offsetof(struct bp_hb_probe, error), 0, BP_TEXT_MAX),
    F_END,
};

static const struct field hb_signals_fields[] = {
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
    F_STR(K_TEXT, "maintenance_reason", OPT, offsetof(struct bp_hb_signals, maintenance_reason), 0,
          BP_TEXT_MAX),
    F_END,
};

static const struct field heartbeat_fields[] = {
    F_HEAD,
    F_BOT,
    F_TAIL,
    F_INT("interval_ms", REQ, MSG_OFF(u.heartbeat.interval_ms), 100, 3600000),
    F_OBJ("proc", MSG_OFF(u.heartbeat.proc), proc_info_fields),
    F_INT("last_trade_ts", OPT, MSG_OFF(u.heartbeat.last_trade_ts), 0, INT_LIMIT),
    F_OBJ_OPT("log", MSG_OFF(u.heartbeat.log), hb_log_fields, MSG_OFF(u.heartbeat.has_log)),
    F_OBJ_OPT("hb_file", MSG_OFF(u.heartbeat.hb_file), hb_file_fields,
              MSG_OFF(u.heartbeat.has_hb_file)),
    F_OBJ_OPT("probe", MSG_OFF(u.heartbeat.probe), hb_probe_fields, MSG_OFF(u.heartbeat.has_probe)),
    F_OBJ_OPT("signals", MSG_OFF(u.heartbeat.signals), hb_signals_fields,
              MSG_OFF(u.heartbeat.has_signals)),
    {.name = "metrics",
     .kind = K_METRICS,
     .required = OPT,
     .off = MSG_OFF(u.heartbeat.metrics),
     .max = BP_METRICS_MAX,
     .count_off = MSG_OFF(u.heartbeat.nmetrics),
     .has_off = MSG_OFF(u.heartbeat.has_metrics)},
    F_END,
};

/* Both stats objects map onto the flat struct bp_stats: offsets are from its start. */
static const struct field stats_proc_fields[] = {
    {.name = "cpu_pct",
     .kind = K_NUM,
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

static const struct field stats_host_fields[] = {
    F_NUM("cpu_pct", offsetof(struct bp_stats, host_cpu_pct), 0, 100),
    F_NUM("mem_pct", offsetof(struct bp_stats, host_mem_pct), 0, 100),
    F_NUM("disk_pct", offsetof(struct bp_stats, host_disk_pct), 0, 100),
    F_NUM("load1", offsetof(struct bp_stats, host_load1), 0, INFINITY),
    F_NUM_HAS("swap_pct", offsetof(struct bp_stats, host_swap_pct), 0, 100,
              offsetof(struct bp_stats, has_host_swap)),
    F_END,
};

static const struct field stats_fields[] = {
    F_HEAD,
    F_BOT,
    F_TAIL,
    F_OBJ("proc", MSG_OFF(u.stats), stats_proc_fields),
    F_OBJ("host", MSG_OFF(u.stats), stats_host_fields),
    F_END,
};

static const struct field trade_info_fields[] = {
    F_INT("ts", REQ, offsetof(struct bp_trade, trade_ts), 1, INT_LIMIT),
    F_STR(K_TEXT, "id", OPT, offsetof(struct bp_trade, id), 0, BP_TEXT_MAX),
    F_STR(K_TEXT, "symbol", OPT, offsetof(struct bp_trade, symbol), 0, BP_SHORT_MAX),
    F_STR(K_SIDE, "side", OPT, offsetof(struct bp_trade, side), 0, BP_SHORT_MAX),
    F_END,
};

static const struct field trade_fields[] = {
    F_HEAD, F_BOT, F_TAIL, F_OBJ("trade", MSG_OFF(u.trade), trade_info_fields), F_END,
};

/* Sent by the collector: no boot or seq (the nonce identifies it), signed. */
static const struct field command_fields[] = {
    F_HEAD,
    F_BOT,
    F_STR(K_ID, "action", REQ, MSG_OFF(u.command.action), 1, BP_ACTION_MAX),
    F_STR(K_ID, "nonce", REQ, MSG_OFF(u.command.nonce), BP_NONCE_MIN, BP_NONCE_MAX),
    F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT),
    F_INT("expires", REQ, MSG_OFF(u.command.expires), 1, INT_LIMIT),
    F_STR(K_ID, "sig", REQ, MSG_OFF(u.command.sig), BP_SIG_HEX, BP_SIG_HEX),
    F_END,
};

/* bot, nonce and action are optional: a command that could not be read is still answered. */
static const struct field command_result_fields[] = {
    F_HEAD,
    F_STR(K_ID, "boot", REQ, MSG_OFF(hdr.boot), 1, BP_BOOT_MAX),
    F_INT("seq", REQ, MSG_OFF(hdr.seq), 1, INT_LIMIT),
    F_INT("ts", REQ, MSG_OFF(hdr.ts), 1, INT_LIMIT),
    F_STR(K_ID, "nonce", OPT, MSG_OFF(u.result.nonce), 0, BP_NONCE_MAX),
    F_STR(K_ID, "bot", OPT, MSG_OFF(hdr.bot), 0, BP_ID_MAX),
    F_STR(K_ID, "action", OPT, MSG_OFF(u.result.action), 0, BP_ACTION_MAX),
    F_STR(K_OUTCOME, "outcome", REQ, MSG_OFF(u.result.outcome), 1, 15),
    F_INT("exit_code", REQ, MSG_OFF(u.result.exit_code), -1, 255),
    F_INT("duration_ms", REQ, MSG_OFF(u.result.duration_ms), 0, INT_LIMIT),
    F_STR(K_LINES, "output", OPT, MSG_OFF(u.result.output), 0, BP_OUTPUT_MAX),
    F_STR(K_TEXT, "reason", OPT, MSG_OFF(u.result.reason), 0, BP_TEXT_MAX),
    F_END,
};

static const struct field event_info_fields[] = {
    F_INT("ts", REQ, offsetof(struct bp_event, event_ts), 1, INT_LIMIT),
    F_STR(K_TEXT, "text", REQ, offsetof(struct bp_event, text), 1, BP_EVENT_TEXT_MAX),
    F_END,
};

static const struct field event_fields[] = {
    F_HEAD, F_BOT, F_TAIL, F_OBJ("event", MSG_OFF(u.event), event_info_fields), F_END,
};

static const struct field *const type_fields[BP_MSG_TYPE_COUNT] = {
    agent_state_fields, heartbeat_fields,      stats_fields, trade_fields,
    command_fields,     command_result_fields, event_fields};
static const char *const type_names[BP_MSG_TYPE_COUNT] = {
    "agent_state", "heartbeat", "stats", "trade", "command", "command_result", "event"};
static const char *const topic_leaves[BP_MSG_TYPE_COUNT] = {
    "state", "heartbeat", "stats", "trades", "commands", "results", "events"};
static const char *const err_names[BP_MSG_ERR_COUNT] = {
    "ok",      "too_large",  "json",          "version", "type",
    "missing", "wrong_type", "unknown_field", "range",   "topic"};

const char *bp_msg_err_name(enum bp_msg_err err)
{
    return (unsigned)err < BP_MSG_ERR_COUNT ? err_names[err] : "unknown";
}

const char *bp_msg_type_name(enum bp_msg_type type)
{
    return (unsigned)type < BP_MSG_TYPE_COUNT ? type_names[type] : "unknown";
}

/* Fills err (what is not UTF-8 text in the detail becomes '?') and returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct bp_msg_error *err,
                                                      enum bp_msg_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    bp_text_sanitize(err->detail); /* it quotes the payload: logs and HTTP 400s show it */
    err->code = code;
    return -EINVAL;
}

/* True if s[0..len) is 1..max characters of [A-Za-z0-9_.-]. */
static bool id_chars_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool bp_id_is_valid(const char *s)
{
    return s && id_chars_ok(s, strnlen(s, BP_ID_MAX + 1), BP_ID_MAX);
}

bool bp_metric_name_is_valid(const char *s)
{
    size_t n = s ? strnlen(s, BP_METRIC_NAME_MAX + 1) : 0;
    if (n == 0 || n > BP_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Bytes in the character at p: 1..4 for valid UTF-8 (no overlong, no surrogate, nothing past
 * U+10FFFF, not cut short by the terminator), 0 for a byte that starts none. */
static int utf8_char_len(const unsigned char *p)
{
    unsigned c = *p, cp, min;
    int n;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        n = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n + 1;
}

static bool is_control(unsigned char c, bool lines)
{
    return (c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f;
}

/* True if s is valid UTF-8 without control characters (but newlines and tabs when lines). */
static bool text_ok(const char *s, bool lines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_char_len(p);
        if (n == 0 || (n == 1 && is_control(*p, lines)))
            return false;
        p += n;
    }
    return true;
}

bool bp_text_is_valid(const char *s)
{
    return text_ok(s, false);
}

void bp_text_sanitize(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p;) {
        int n = utf8_char_len(p);
        if (n == 0 || (n == 1 && is_control(*p, false))) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* True if d is a whole number that an int64_t holds (no libm needed). */
static bool is_integral(double d)
{
    return d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int decode_object(const cJSON *obj, const struct field *fields, char *base, const char *path,
                         struct bp_msg_error *err);

static int decode_int(const cJSON *it, const struct field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || !is_integral(d))
        return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected integer", path, f->name);
    if (d < f->min || d > f->max)
        return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %.0f not in [%.0f, %.0f]", path, f->name,
                    d, f->min, f->max);
    int64_t v = (int64_t)d;
    memcpy(base + f->off, &v, sizeof(v));
    return 0;
}

static int decode_num(const cJSON *it, const struct field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it))
        return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected number", path, f->name);
    bool unknown = f->unknown_ok && d == -1;
    if (!unknown && (!isfinite(d) || d < f->min || d > f->max))
        return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %g not in [%g, %g]%s", path, f->name, d,
                    f->min, f->max, f->unknown_ok ? " or -1" : "");
    memcpy(base + f->off, &d, sizeof(d));
    return 0;
}

static int decode_str(const cJSON *it, const struct field *f, char *base, const char *path,
                      struct bp_msg_error *err)
{
    if (!cJSON_IsString(it))
        return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected string", path, f->name);
    const char *s = it->valuestring;
    size_t len = strlen(s);
    if (len < (size_t)f->min || len > (size_t)f->max)
        return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': length %zu not in [%.0f, %.0f]", path,
                    f->name, len, f->min, f->max);
    bool ok = len == 0; /* only optional fields have min 0 */
    if (!ok && f->kind == K_ID)
        ok = id_chars_ok(s, len, (size_t)f->max);
    else if (!ok && (f->kind == K_TEXT || f->kind == K_LINES))
        ok = text_ok(s, f->kind == K_LINES);
    else if (!ok && f->kind == K_SIDE)
        ok = strcmp(s, "buy") == 0 || strcmp(s, "sell") == 0;
    else if (!ok && f->kind == K_OUTCOME)
        ok = strcmp(s, "ok") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "refused") == 0 ||
             strcmp(s, "timeout") == 0;
    if (!ok)
        return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': invalid %s", path, f->name,
                    f->kind == K_ID        ? "id (want [A-Za-z0-9_.-])"
                    : f->kind == K_SIDE    ? "side (want buy or sell)"
                    : f->kind == K_OUTCOME ? "outcome (want ok, failed, refused or timeout)"
                                           : "text (want UTF-8 without control characters)");
    memcpy(base + f->off, s, len + 1);
    return 0;
}

static int decode_array(const cJSON *it, const struct field *f, char *base, const char *path,
                        struct bp_msg_error *err)
{
    if (!cJSON_IsArray(it))
        return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected array", path, f->name);
    int n = cJSON_GetArraySize(it);
    if (n > (int)f->max)
        return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': %d items, at most %.0f", path, f->name, n,
                    f->max);
    int i = 0;
    for (const cJSON *el = it->child; el; el = el->next, i++) {
        char sub[128];
        snprintf(sub, sizeof(sub), "%s%s[%d].", path, f->name, i);
        if (!cJSON_IsObject(el))
            return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s[%d]': expected object", path,
                        f->name, i);
        int rc = decode_object(el, f->sub, base + f->off + (size_t)i * f->elem_size, sub, err);
        if (rc)
            return rc;
    }
    memcpy(base + f->count_off, &n, sizeof(n));
    return 0;
}

/* An object of up to f->max metrics: valid unique names, finite numbers. */
static int decode_metrics(const cJSON *it, const struct field *f, char *base, const char *path,
                          struct bp_msg_error *err)
{
    if (!cJSON_IsObject(it))
        return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected object", path, f->name);
    struct bp_metric *m = (struct bp_metric *)(base + f->off);
    int n = 0;
    for (const cJSON *el = it->child; el; el = el->next, n++) {
        if (n >= (int)f->max)
            return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': more than %.0f metrics", path,
                        f->name, f->max);
        if (!bp_metric_name_is_valid(el->string))
            return fail(err, BP_MSG_ERR_RANGE, "field '%s%s': name '%.40s' is not [a-z0-9_]{1,32}",
                        path, f->name, el->string);
        for (int j = 0; j < n; j++)
            if (strcmp(m[j].name, el->string) == 0)
                return fail(err, BP_MSG_ERR_JSON, "field '%s%s.%s': duplicate", path, f->name,
                            el->string);
        if (!cJSON_IsNumber(el))
            return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s.%s': expected number", path,
                        f->name, el->string);
        if (!isfinite(el->valuedouble) || fabs(el->valuedouble) > 1e300)
            return fail(err, BP_MSG_ERR_RANGE, "field '%s%s.%s': not a finite number", path,
                        f->name, el->string);
        snprintf(m[n].name, sizeof(m[n].name), "%s", el->string);
        m[n].value = el->valuedouble;
    }
    memcpy(base + f->count_off, &n, sizeof(n));
    *(bool *)(base + f->has_off) = true;
    return 0;
}

static int decode_value(const cJSON *it, const struct field *f, char *base, const char *path,
                        struct bp_msg_error *err)
{
    char sub[128];
    switch (f->kind) {
    case K_FIXED:
        return 0;
    case K_INT:
    case K_NUM: {
        int rc = f->kind == K_INT ? decode_int(it, f, base, path, err)
                                  : decode_num(it, f, base, path, err);
        if (rc == 0 && f->has_flag)
            *(bool *)(base + f->has_off) = true;
        return rc;
    }
    case K_BOOL:
        if (!cJSON_IsBool(it))
            return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected boolean", path,
                        f->name);
        *(bool *)(base + f->off) = cJSON_IsTrue(it);
        return 0;
    case K_OBJ:
        if (!cJSON_IsObject(it))
            return fail(err, BP_MSG_ERR_WRONG_TYPE, "field '%s%s': expected object", path, f->name);
        snprintf(sub, sizeof(sub), "%s%s.", path, f->name);
        if (!f->required)
            *(bool *)(base + f->has_off) = true;
        return decode_object(it, f->sub, base + f->off, sub, err);
    case K_ARR:
        return decode_array(it, f, base, path, err);
    case K_METRICS:
        return decode_metrics(it, f, base, path, err);
    default:
        return decode_str(it, f, base, path, err);
    }
}

static int find_field(const struct field *fields, const char *name)
{
    for (int i = 0; fields[i].name; i++)
        if (strcmp(fields[i].name, name) == 0)
            return i;
    return -1;
}

/* Walks obj's members against fields[] (at most 64): unknown, duplicate, then missing. */
static int decode_object(const cJSON *obj, const struct field *fields, char *base, const char *path,
                         struct bp_msg_error *err)
{
    uint64_t seen = 0;
    for (const cJSON *it = obj->child; it; it = it->next) {
        int i = find_field(fields, it->string);
        if (i < 0)
            return fail(err, BP_MSG_ERR_UNKNOWN_FIELD, "field '%s%s': not defined in v1", path,
                        it->string);
        if (seen & (UINT64_C(1) << i))
            return fail(err, BP_MSG_ERR_JSON, "field '%s%s': duplicate", path, it->string);
        seen |= UINT64_C(1) << i;
        int rc = decode_value(it, &fields[i], base, path, err);
        if (rc)
            return rc;
    }
    for (int i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (UINT64_C(1) << i)))
            return fail(err, BP_MSG_ERR_MISSING, "field '%s%s': required", path, fields[i].name);
    return 0;
}

static int check_version(const cJSON *root, struct bp_msg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (!v)
        return fail(err, BP_MSG_ERR_VERSION, "field 'v': required");
    if (!cJSON_IsNumber(v) || !is_integral(v->valuedouble))
        return fail(err, BP_MSG_ERR_VERSION, "field 'v': expected integer");
    if (v->valuedouble != BP_PROTO_VERSION)
        return fail(err, BP_MSG_ERR_VERSION, "field 'v': version %g not supported (want %d)",
                    v->valuedouble, BP_PROTO_VERSION);
    return 0;
}

static int check_type(const cJSON *root, enum bp_msg_type *type, struct bp_msg_error *err)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!t)
        return fail(err, BP_MSG_ERR_TYPE, "field 'type': required");
    if (!cJSON_IsString(t))
        return fail(err, BP_MSG_ERR_TYPE, "field 'type': expected string");
    for (int i = 0; i < BP_MSG_TYPE_COUNT; i++) {
        if (strcmp(t->valuestring, type_names[i]) == 0) {
            *type = (enum bp_msg_type)i;
            return 0;
        }
    }
    return fail(err, BP_MSG_ERR_TYPE, "field 'type': unknown type '%.40s'", t->valuestring);
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
                return fail(err, BP_MSG_ERR_RANGE, "field 'bots[%d].id': duplicate of bots[%d]", i,
                            j);
    return 0;
}

/* Parses exactly len bytes as one JSON value; only whitespace may follow it. */
static cJSON *parse_json(const char *s, size_t len, struct bp_msg_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!root) {
        fail(err, BP_MSG_ERR_JSON, "invalid JSON near byte %td", end ? end - s : (ptrdiff_t)0);
        return NULL;
    }
    for (; end < s + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            fail(err, BP_MSG_ERR_JSON, "garbage after the JSON value at byte %td", end - s);
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

static int decode_root(const cJSON *root, struct bp_msg *out, struct bp_msg_error *err)
{
    if (!cJSON_IsObject(root))
        return fail(err, BP_MSG_ERR_JSON, "not a JSON object");
    int rc = check_version(root, err);
    if (!rc)
        rc = check_type(root, &out->hdr.type, err);
    if (!rc)
        rc = decode_object(root, type_fields[out->hdr.type], (char *)out, "", err);
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
        fail(err, BP_MSG_ERR_TOO_LARGE, "payload of %zu bytes, at most %d", len, BP_MSG_MAX_BYTES);
        return -E2BIG;
    }
    if (!payload || len == 0)
        return fail(err, BP_MSG_ERR_JSON, "empty payload");
    cJSON *root = parse_json(payload, len, err);
    if (!root)
        return -EINVAL;
    int rc = decode_root(root, out, err);
    cJSON_Delete(root);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* Adds item to obj under name; deletes item if that fails. False on ENOMEM. */
static bool add(cJSON *obj, const char *name, cJSON *item)
{
    if (item && cJSON_AddItemToObject(obj, name, item))
        return true;
    cJSON_Delete(item);
    return false;
}

/* Integers are written as plain digits (never "1e+15"), so strict int64 readers accept them. */
static bool add_int(cJSON *obj, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return add(obj, name, cJSON_CreateRaw(buf));
}

/* A finite double in the fewest significant digits (15 to 17) that read back as exactly it:
 * cJSON_CreateNumber prints 15 when they come within an epsilon, losing the last bits. */
static bool add_num(cJSON *obj, const char *name, double d)
{
    char buf[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return add(obj, name, cJSON_CreateRaw(buf));
}

static cJSON *encode_object(const struct field *fields, const char *base);

static cJSON *encode_array(const struct field *f, const char *base)
{
    cJSON *arr = cJSON_CreateArray();
    int n;
    memcpy(&n, base + f->count_off, sizeof(n));
    n = n < 0 ? 0 : n > (int)f->max ? (int)f->max : n;
    for (int i = 0; arr && i < n; i++) {
        cJSON *el = encode_object(f->sub, base + f->off + (size_t)i * f->elem_size);
        if (!el || !cJSON_AddItemToArray(arr, el)) {
            cJSON_Delete(el);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static cJSON *encode_metrics(const struct field *f, const char *base)
{
    const struct bp_metric *m = (const struct bp_metric *)(base + f->off);
    int n;
    memcpy(&n, base + f->count_off, sizeof(n));
    n = n < 0 ? 0 : n > (int)f->max ? (int)f->max : n;
    cJSON *obj = cJSON_CreateObject();
    for (int i = 0; obj && i < n; i++) {
        if (!add_num(obj, m[i].name, m[i].value)) {
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

static bool encode_value(cJSON *obj, const struct field *f, const char *base)
{
    const char *p = base + f->off;
    int64_t i64;
    double d;
    switch (f->kind) {
    case K_FIXED:
        return true;
    case K_INT:
        if (f->has_flag && !*(const bool *)(base + f->has_off))
            return true;
        memcpy(&i64, p, sizeof(i64));
        return add_int(obj, f->name, i64);
    case K_NUM:
        if (f->has_flag && !*(const bool *)(base + f->has_off))
            return true;
        memcpy(&d, p, sizeof(d));
        return add_num(obj, f->name, d);
    case K_BOOL:
        return add(obj, f->name, cJSON_CreateBool(*(const bool *)p));
    case K_OBJ:
        if (!f->required && !*(const bool *)(base + f->has_off))
            return true;
        return add(obj, f->name, encode_object(f->sub, p));
    case K_ARR:
        return add(obj, f->name, encode_array(f, base));
    case K_METRICS:
        if (!*(const bool *)(base + f->has_off))
            return true;
        return add(obj, f->name, encode_metrics(f, base));
    default:
        if (!f->required && p[0] == '\0')
            return true;
        return add(obj, f->name, cJSON_CreateString(p));
    }
}

/* Adds every field of fields[] found at base to obj, in table order. False on ENOMEM. */
static bool encode_fields(cJSON *obj, const struct field *fields, const char *base)
{
    for (int i = 0; fields[i].name; i++)
        if (!encode_value(obj, &fields[i], base))
            return false;
    return true;
}

static cJSON *encode_object(const struct field *fields, const char *base)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj && !encode_fields(obj, fields, base)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* Contract addition: NULL with errno EINVAL for a bad type and EMSGSIZE when the JSON would
 * exceed BP_MSG_MAX_BYTES (64 bots with 64-character ids and accounts can). */
char *bp_msg_encode(const struct bp_msg *m)
{
    if ((unsigned)m->hdr.type >= BP_MSG_TYPE_COUNT) {
        errno = EINVAL;
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;
    if (root && add_int(root, "v", BP_PROTO_VERSION) &&
        add(root, "type", cJSON_CreateString(type_names[m->hdr.type])) &&
        encode_fields(root, type_fields[m->hdr.type], (const char *)m))
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

/* The levels after the root; fills out as it goes (bp_topic_parse clears it on failure). */
static int parse_agent_topic(const char *root, const char *topic, struct bp_topic *out)
{
    size_t rl = strlen(root);
    if (rl == 0 || strncmp(topic, root, rl) != 0 || topic[rl] != '/')
        return -EINVAL;
    const char *p = topic + rl + 1;
    char level[BP_ID_MAX + 1];
    if (!take_level(&p, level, sizeof(level)) || strcmp(level, "agents") != 0 ||
        !take_level(&p, out->agent, sizeof(out->agent)) || !bp_id_is_valid(out->agent) ||
        !take_level(&p, level, sizeof(level)))
        return -EINVAL;
    if (strcmp(level, "state") == 0 && !p) {
        out->type = BP_MSG_AGENT_STATE;
        return 0;
    }
    if (strcmp(level, "commands") == 0 && !p) {
        out->type = BP_MSG_COMMAND;
        return 0;
    }
    if (strcmp(level, "results") == 0 && !p) {
        out->type = BP_MSG_COMMAND_RESULT;
        return 0;
    }
    return strcmp(level, "bots") == 0 ? parse_bot_leaf(p, out) : -EINVAL;
}

int bp_topic_parse(const char *root, const char *topic, struct bp_topic *out)
{
    memset(out, 0, sizeof(*out));
    int rc = parse_agent_topic(root, topic, out);
    if (rc) /* every refusal leaves nothing half-read behind (the agent of ".../agents/a") */
        memset(out, 0, sizeof(*out));
    return rc;
}

int bp_msg_check_topic(const struct bp_msg *m, const struct bp_topic *t, struct bp_msg_error *err)
{
    if (m->hdr.type != t->type)
        return fail(err, BP_MSG_ERR_TOPIC, "topic carries %s but the body is %s",
                    bp_msg_type_name(t->type), bp_msg_type_name(m->hdr.type));
    if (strcmp(m->hdr.agent, t->agent) != 0)
        return fail(err, BP_MSG_ERR_TOPIC, "topic agent '%s' but body agent '%s'", t->agent,
                    m->hdr.agent);
    if (bp_msg_type_is_bot_level(t->type) && strcmp(m->hdr.bot, t->bot) != 0)
        return fail(err, BP_MSG_ERR_TOPIC, "topic bot '%s' but body bot '%s'", t->bot, m->hdr.bot);
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
