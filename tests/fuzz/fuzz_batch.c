/* SPDX-License-Identifier: MIT */
/* Fuzzes what the collector does with a batch (collector/ingest.c's on_batch over
 * common/batch.c): the envelope opened, then every item read on its own. What must hold: a
 * refusal names one reason in UTF-8 text (it reaches logs and the rejection counters) and
 * leaves no batch; an opened batch is a BP_MSG_BATCH of 1..BP_BATCH_MAX_ITEMS items, read in
 * exactly that many calls; an accepted item is a heartbeat or stats under the batch's envelope
 * that encodes and decodes back to itself on its own topic; and the agent's writer, given the
 * accepted items, writes a batch that reads back to the very same items.
 * Input: the payload as it arrives on {root}/agents/{agent}/batch. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "fuzz_support.h"
#include "msg.h"

#define ROOT "botpulse/v1"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_everything();
    return 0;
}

static void check_error(int rc, const struct bp_msg_error *err, int want_rc)
{
    size_t n = strnlen(err->detail, sizeof(err->detail));
    FUZZ_CHECK(n < sizeof(err->detail), "detail not terminated");
    FUZZ_CHECK(bp_text_is_valid(err->detail), "detail not UTF-8 text: '%s'", err->detail);
    FUZZ_CHECK(rc == want_rc, "rc %d for %s", rc, bp_msg_err_name(err->code));
    FUZZ_CHECK(err->code > BP_MSG_OK && err->code < BP_MSG_ERR_COUNT, "code %d", err->code);
}

/* An accepted item: a whole heartbeat or stats under the envelope, that round-trips alone. */
static void check_item(const struct bp_msg *m, const struct bp_msg_header *env)
{
    FUZZ_CHECK(m->hdr.type == BP_MSG_HEARTBEAT || m->hdr.type == BP_MSG_STATS, "item of type %s",
               bp_msg_type_name(m->hdr.type));
    FUZZ_CHECK(strcmp(m->hdr.agent, env->agent) == 0 && strcmp(m->hdr.boot, env->boot) == 0 &&
                   m->hdr.seq == env->seq && m->hdr.ts == env->ts && m->hdr.v == env->v,
               "item's envelope is not the batch's");
    char *json = bp_msg_encode(m);
    FUZZ_CHECK(json != NULL, "an accepted item does not encode: errno %d", errno);
    struct bp_msg back;
    struct bp_msg_error err;
    int rc = bp_msg_decode(json, strlen(json), &back, &err);
    FUZZ_CHECK(rc == 0, "item's own encoding refused: %s: %s\n%s", bp_msg_err_name(err.code),
               err.detail, json);
    FUZZ_CHECK(memcmp(&back, m, sizeof(back)) == 0, "item decodes to another message:\n%s", json);
    free(json);
    char topic[512];
    struct bp_topic t;
    FUZZ_CHECK(bp_topic_format(topic, sizeof(topic), ROOT, m->hdr.type, m->hdr.agent, m->hdr.bot) ==
                   0,
               "no topic for an item");
    FUZZ_CHECK(bp_topic_parse(ROOT, topic, &t) == 0 && bp_msg_check_topic(m, &t, &err) == 0,
               "item's own topic refused: %s", topic);
}

/* The writer's batch of items[0..n) reads back as exactly those items, under env. */
static void check_rewrite(const struct bp_msg *items, int n, const struct bp_msg_header *env)
{
    struct bp_batch_writer *w = bp_batch_writer_new(env->agent, env->boot);
    FUZZ_CHECK(w != NULL, "no writer for the batch's own agent and boot");
    for (int i = 0; i < n; i++) {
        int rc = bp_batch_writer_add(w, &items[i]);
        FUZZ_CHECK(rc == 0, "writer refused item %d of %d: %d", i, n, rc);
    }
    char *json = bp_batch_writer_take(w, env->seq, env->ts);
    FUZZ_CHECK(json != NULL, "writer wrote nothing for %d items", n);
    bp_batch_writer_free(w);
    struct bp_batch *b = NULL;
    struct bp_msg_error err = {0};
    int rc = bp_batch_open(json, strlen(json), &b, &err);
    FUZZ_CHECK(rc == 0, "writer's batch refused: %s: %s", bp_msg_err_name(err.code), err.detail);
    FUZZ_CHECK(memcmp(bp_batch_header(b), env, sizeof(*env)) == 0, "writer's envelope differs");
    FUZZ_CHECK(bp_batch_count(b) == n, "writer's batch has %d items, not %d", bp_batch_count(b), n);
    struct bp_msg *m = malloc(sizeof(*m));
    if (!m)
        abort();
    for (int i = 0; i < n; i++) {
        rc = bp_batch_next(b, m, &err);
        FUZZ_CHECK(rc == 1, "writer's item %d refused: %s", i, err.detail);
        FUZZ_CHECK(memcmp(m, &items[i], sizeof(*m)) == 0, "writer's item %d differs:\n%s", i, json);
    }
    FUZZ_CHECK(bp_batch_next(b, m, &err) == 0, "writer's batch has more items");
    free(m);
    bp_batch_free(b);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *payload = fuzz_memdup(data, size); /* no terminator: ASan sees a read past the end */
    struct bp_batch *b = NULL;
    struct bp_msg_error err = {0};
    int rc = bp_batch_open(payload, size, &b, &err);
    if (rc != 0) {
        check_error(rc, &err, err.code == BP_MSG_ERR_TOO_LARGE ? -E2BIG : -EINVAL);
        FUZZ_CHECK(b == NULL, "a refused batch is left open");
        free(payload);
        return 0;
    }
    const struct bp_msg_header env = *bp_batch_header(b);
    FUZZ_CHECK(env.type == BP_MSG_BATCH && env.bot[0] == '\0', "envelope of type %s, bot '%s'",
               bp_msg_type_name(env.type), env.bot);
    int n = bp_batch_count(b), got = 0, calls = 0;
    FUZZ_CHECK(n >= 1 && n <= BP_BATCH_MAX_ITEMS, "%d items", n);
    struct bp_msg *items = malloc((size_t)n * sizeof(*items));
    if (!items)
        abort();
    while ((rc = bp_batch_next(b, &items[got], &err)) != 0) {
        FUZZ_CHECK(++calls <= n, "more than %d items read", n);
        if (rc < 0) {
            check_error(rc, &err, -EINVAL);
            continue;
        }
        FUZZ_CHECK(rc == 1, "bp_batch_next gave %d", rc);
        check_item(&items[got++], &env);
    }
    FUZZ_CHECK(calls == n, "%d items read of %d", calls, n);
    bp_batch_free(b);
    free(payload);
    if (got > 0)
        check_rewrite(items, got, &env);
    free(items);
    return 0;
}
