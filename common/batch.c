/* SPDX-License-Identifier: MIT */
/* Batches of heartbeats and stats: reading them item by item, and writing them (batch.h). */
#include "batch.h"

#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_OFF(member) offsetof(struct bp_msg_header, member)
#define ENVELOPE_MAX 400 /* {"v":1,"type":"batch", agent, boot, seq, ts, "items":[ and ]} */

static const struct bp_codec_field envelope_fields[] = {
    {.name = "v", .kind = BPC_FIXED},
    {.name = "type", .kind = BPC_FIXED},
    {.name = "agent",
     .kind = BPC_ID,
     .required = true,
     .off = HDR_OFF(agent),
     .min = 1,
     .max = BP_ID_MAX},
    {.name = "boot",
     .kind = BPC_ID,
     .required = true,
     .off = HDR_OFF(boot),
     .min = 1,
     .max = BP_BOOT_MAX},
    {.name = "seq",
     .kind = BPC_INT,
     .required = true,
     .off = HDR_OFF(seq),
     .min = 1,
     .max = BP_CODEC_INT_LIMIT},
    {.name = "ts",
     .kind = BPC_INT,
     .required = true,
     .off = HDR_OFF(ts),
     .min = 1,
     .max = BP_CODEC_INT_LIMIT},
    {.name = "items", .kind = BPC_FIXED, .required = true}, /* checked by bp_batch_open */
    {.name = NULL},
};

struct bp_batch {
    cJSON *root;
    struct bp_msg_header hdr;
    const cJSON *next; /* the next item to read */
    int count, index;
};

/* "v" is 1 and "type" is "batch". 0 or -EINVAL. */
static int check_kind(const cJSON *root, struct bp_msg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!v)
        return bp_codec_fail(err, BP_MSG_ERR_VERSION, "field 'v': required");
    if (!cJSON_IsNumber(v) || !bp_codec_is_integral(v->valuedouble) ||
        v->valuedouble != BP_PROTO_VERSION)
        return bp_codec_fail(err, BP_MSG_ERR_VERSION, "field 'v': want %d", BP_PROTO_VERSION);
    if (!cJSON_IsString(t) || strcmp(t->valuestring, "batch") != 0)
        return bp_codec_fail(err, BP_MSG_ERR_TYPE, "field 'type': want \"batch\"");
    return 0;
}

static int check_items(const cJSON *items, struct bp_msg_error *err)
{
    if (!cJSON_IsArray(items))
        return bp_codec_fail(err, BP_MSG_ERR_WRONG_TYPE, "field 'items': expected array");
    int n = cJSON_GetArraySize(items);
    if (n < 1 || n > BP_BATCH_MAX_ITEMS)
        return bp_codec_fail(err, BP_MSG_ERR_RANGE, "field 'items': %d items, want 1..%d", n,
                             BP_BATCH_MAX_ITEMS);
    return 0;
}

int bp_batch_open(const void *payload, size_t len, struct bp_batch **out, struct bp_msg_error *err)
{
    *out = NULL;
    err->code = BP_MSG_OK;
    err->detail[0] = '\0';
    if (len > BP_BATCH_MAX_BYTES) {
        bp_codec_fail(err, BP_MSG_ERR_TOO_LARGE, "batch of %zu bytes, at most %d", len,
                      BP_BATCH_MAX_BYTES);
        return -E2BIG;
    }
    if (!payload || len == 0)
        return bp_codec_fail(err, BP_MSG_ERR_JSON, "empty payload");
    struct bp_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return bp_codec_fail(err, BP_MSG_ERR_JSON, "out of memory");
    int rc = -EINVAL;
    if (!(b->root = bp_codec_parse(payload, len, err)))
        goto out;
    if (!cJSON_IsObject(b->root)) {
        rc = bp_codec_fail(err, BP_MSG_ERR_JSON, "not a JSON object");
        goto out;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(b->root, "items");
    if ((rc = check_kind(b->root, err)) ||
        (rc = bp_codec_decode_object(b->root, envelope_fields, (char *)&b->hdr, "", err)) ||
        (rc = check_items(items, err)))
        goto out;
    b->hdr.v = BP_PROTO_VERSION;
    b->hdr.type = BP_MSG_BATCH;
    b->next = items->child;
    b->count = cJSON_GetArraySize(items);
    *out = b;
    return 0;
out:
    bp_batch_free(b);
    return rc;
}

const struct bp_msg_header *bp_batch_header(const struct bp_batch *b)
{
    return &b->hdr;
}

int bp_batch_count(const struct bp_batch *b)
{
    return b->count;
}

int bp_batch_next(struct bp_batch *b, struct bp_msg *out, struct bp_msg_error *err)
{
    if (!b->next)
        return 0;
    const cJSON *item = b->next;
    int i = b->index++;
    b->next = item->next;
    err->code = BP_MSG_OK;
    err->detail[0] = '\0';
    if (bp_msg_decode_body(item, &b->hdr, out, err) == 0)
        return 1;
    char why[sizeof(err->detail)];
    snprintf(why, sizeof(why), "%s", err->detail); /* name the item that failed */
    snprintf(err->detail, sizeof(err->detail), "items[%d]: %.140s", i, why);
    return -EINVAL;
}

void bp_batch_free(struct bp_batch *b)
{
    if (!b)
        return;
    cJSON_Delete(b->root);
    free(b);
}

/* ---- writing --------------------------------------------------------------------------------- */

struct bp_batch_writer {
    char agent[BP_ID_MAX + 1];
    char boot[BP_BOOT_MAX + 1];
    char *items; /* the items' JSON, comma-separated */
    size_t len, cap;
    int count;
};

struct bp_batch_writer *bp_batch_writer_new(const char *agent, const char *boot)
{
    if (!bp_id_is_valid(agent) || !boot || !bp_id_chars_ok(boot, strlen(boot), BP_BOOT_MAX))
        return NULL;
    struct bp_batch_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    snprintf(w->agent, sizeof(w->agent), "%s", agent);
    snprintf(w->boot, sizeof(w->boot), "%s", boot);
    return w;
}

void bp_batch_writer_free(struct bp_batch_writer *w)
{
    if (!w)
        return;
    free(w->items);
    free(w);
}

int bp_batch_writer_add(struct bp_batch_writer *w, const struct bp_msg *m)
{
    if (m->hdr.type != BP_MSG_HEARTBEAT && m->hdr.type != BP_MSG_STATS)
        return -EINVAL;
    cJSON *obj = bp_msg_encode_body(m);
    char *json = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!json)
        return -ENOMEM;
    size_t n = strlen(json), need = w->len + n + 1;
    int rc = 0;
    if (w->count >= BP_BATCH_MAX_ITEMS || need + ENVELOPE_MAX > BP_BATCH_MAX_BYTES) {
        rc = -EMSGSIZE;
    } else if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(w->items, cap);
        if (p) {
            w->items = p;
            w->cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        if (w->count++ > 0)
            w->items[w->len++] = ',';
        memcpy(w->items + w->len, json, n);
        w->len += n;
    }
    free(json);
    return rc;
}

int bp_batch_writer_count(const struct bp_batch_writer *w)
{
    return w->count;
}

char *bp_batch_writer_take(struct bp_batch_writer *w, int64_t seq, int64_t ts)
{
    errno = 0;
    if (w->count == 0)
        return NULL;
    size_t size = w->len + ENVELOPE_MAX;
    char *out = malloc(size);
    if (!out) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(out, size,
             "{\"v\":%d,\"type\":\"batch\",\"agent\":\"%s\",\"boot\":\"%s\",\"seq\":%" PRId64
             ",\"ts\":%" PRId64 ",\"items\":[%.*s]}",
             BP_PROTO_VERSION, w->agent, w->boot, seq, ts, (int)w->len, w->items);
    w->len = 0;
    w->count = 0;
    return out;
}
