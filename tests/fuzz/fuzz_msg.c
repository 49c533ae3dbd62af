/* SPDX-License-Identifier: MIT */
/* Fuzzes what the collector does with every MQTT message (collector/ingest.c): the topic parsed
 * under the root, the payload decoded by its type's table, the two checked against each other;
 * then what every accepted message must keep: it encodes again, and that encoding decodes to the
 * very same message under the topic bp_topic_format gives it.
 * Input: "TOPIC\nPAYLOAD" (the payload may hold any bytes, the topic no '\n' or NUL); an empty
 * TOPIC stands for the body's own canonical topic, so the seeds are "\n" + proto/examples. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "msg.h"
#include "sign.h"

#define ROOT "botpulse/v1"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_everything();
    return 0;
}

/* Every rejection names one reason and a detail in UTF-8 text (logs and HTTP show it); an
 * acceptance names none. */
static void check_error(int rc, const struct bp_msg_error *err)
{
    size_t n = strnlen(err->detail, sizeof(err->detail));
    FUZZ_CHECK(n < sizeof(err->detail), "detail not terminated");
    FUZZ_CHECK(bp_text_is_valid(err->detail), "detail not UTF-8 text: '%s'", err->detail);
    if (rc == 0) {
        FUZZ_CHECK(err->code == BP_MSG_OK && n == 0, "accepted with error %d", err->code);
        return;
    }
    FUZZ_CHECK(rc == (err->code == BP_MSG_ERR_TOO_LARGE ? -E2BIG : -EINVAL), "rc %d for %s", rc,
               bp_msg_err_name(err->code));
    FUZZ_CHECK(err->code > BP_MSG_OK && err->code < BP_MSG_ERR_COUNT, "code %d", err->code);
}

/* An accepted message re-encodes, and decodes back to itself under its canonical topic. */
static void check_round_trip(const struct bp_msg *m)
{
    char *json = bp_msg_encode(m);
    if (!json) { /* only a message whose canonical JSON outgrows the limit may fail */
        FUZZ_CHECK(errno == EMSGSIZE, "encode failed: errno %d", errno);
        return;
    }
    struct bp_msg back;
    struct bp_msg_error err;
    int rc = bp_msg_decode(json, strlen(json), &back, &err);
    FUZZ_CHECK(rc == 0, "own encoding refused: %s: %s\n%s", bp_msg_err_name(err.code), err.detail,
               json);
    FUZZ_CHECK(memcmp(&back, m, sizeof(back)) == 0, "decodes to another message:\n%s", json);
    free(json);

    char topic[512];
    struct bp_topic t;
    rc = bp_topic_format(topic, sizeof(topic), ROOT, m->hdr.type, m->hdr.agent, m->hdr.bot);
    FUZZ_CHECK(rc == 0, "no topic for an accepted %s: %d", bp_msg_type_name(m->hdr.type), rc);
    FUZZ_CHECK(bp_topic_parse(ROOT, topic, &t) == 0, "own topic refused: %s", topic);
    FUZZ_CHECK(bp_msg_check_topic(m, &t, &err) == 0, "own topic disagrees: %s", topic);
    if (m->hdr.type == BP_MSG_COMMAND) { /* what the agent verifies must fit its buffer */
        char canon[BP_SIGN_CANON_MAX];
        rc = bp_sign_command_bytes(m, canon, sizeof(canon));
        FUZZ_CHECK(rc > 0, "no canonical bytes for an accepted command: %d", rc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *payload;
    size_t len, topic_len;
    fuzz_split(data, size, '\n', &payload, &len, &topic_len);
    if (!payload)
        return -1; /* not in the input format: keep it out of the corpus */
    char *topic = fuzz_strndup(data, topic_len);
    struct bp_topic t;
    struct bp_msg *m = malloc(sizeof(*m)); /* on the heap: ASan sees a read past its end */
    struct bp_msg_error err = {0};
    if (!m)
        abort();
    int trc = bp_topic_parse(ROOT, topic, &t);
    int rc = bp_msg_decode(payload, len, m, &err);
    check_error(rc, &err);
    if (rc == 0) {
        check_round_trip(m);
        if (topic_len == 0) /* the canonical topic: check_round_trip has checked it */
            trc = -EINVAL;
        if (trc == 0) {
            rc = bp_msg_check_topic(m, &t, &err);
            check_error(rc, &err);
            FUZZ_CHECK(rc == 0 || err.code == BP_MSG_ERR_TOPIC, "topic check said %s",
                       bp_msg_err_name(err.code));
        }
    }
    free(m);
    free(topic);
    return 0;
}
