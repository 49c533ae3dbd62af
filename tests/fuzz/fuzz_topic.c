/* SPDX-License-Identifier: MIT */
/* Fuzzes the topic parser (bp_topic_parse) with any root and any topic: what it accepts must be
 * exactly the topic bp_topic_format writes for the parsed type, agent and bot, so no second
 * spelling of a topic (an extra level, an empty one, a stray slash) gets through.
 * Input: "ROOT\nTOPIC". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len, root_len;
    fuzz_split(data, size, '\n', &rest, &rest_len, &root_len);
    if (!rest)
        return -1;
    char *root = fuzz_strndup(data, root_len);
    char *topic = fuzz_strndup(rest, rest_len);
    struct bp_topic t;
    memset(&t, 0xa5, sizeof(t)); /* a failed parse must not leave this behind */
    if (bp_topic_parse(root, topic, &t) == 0) {
        char again[1024];
        FUZZ_CHECK(bp_id_is_valid(t.agent), "agent '%s'", t.agent);
        FUZZ_CHECK(!bp_msg_type_is_bot_level(t.type) || bp_id_is_valid(t.bot), "bot '%s'", t.bot);
        FUZZ_CHECK(bp_msg_type_is_bot_level(t.type) || t.bot[0] == '\0', "bot '%s'", t.bot);
        int rc = bp_topic_format(again, sizeof(again), root, t.type, t.agent, t.bot);
        FUZZ_CHECK(rc == 0, "cannot format what was parsed: %d", rc);
        FUZZ_CHECK(strcmp(again, topic) == 0, "parsed '%s' but it is written '%s'", topic, again);
    } else {
        struct bp_topic zero;
        memset(&zero, 0, sizeof(zero));
        FUZZ_CHECK(memcmp(&t, &zero, sizeof(t)) == 0, "a refused topic left a result behind");
    }
    free(topic);
    free(root);
    return 0;
}
