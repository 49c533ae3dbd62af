/* SPDX-License-Identifier: MIT */
/* Fuzzes the agent's command verification (agent_commands_check in agent/agent_commands.c, over
 * the codec and common/sign.c) with any payload: nothing unsigned runs; a command signed with the
 * collector's key runs only for a bot and action of the agent's own config, once (a replay is
 * refused, also by an agent restarted on the same state_dir); every refusal has a printable
 * reason, and the command_result the agent publishes about any payload is one the collector
 * accepts. Input: one flag byte (bit 0: sign the decoded command with the collector's key, so
 * the checks behind the signature are reached), then the payload as received from MQTT. */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_commands.h"
#include "agent_config.h"
#include "fuzz_support.h"
#include "sign.h"

#define WALL 1767225600000LL /* the agent's clock, fixed: 2026-01-01 */
#define MONO 5000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_config *cfg;
static uint8_t sk[BP_SIGN_SK_BYTES];
static char nonce_file[AGENT_PATH_MAX + 32];

static void remove_state(void)
{
    unlink(nonce_file);
    rmdir(cfg->state_dir);
}

/* The agent of tests/fuzz/corpus/command's seeds: bots with all, one and no actions. */
static void make_config(void)
{
    static const char *const names[] = {"demo-1", "grid_2", "x.y"};
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        abort();
    snprintf(cfg->id, sizeof(cfg->id), "agent-1");
    for (int i = 0; i < 3; i++)
        snprintf(cfg->bots[i].name, sizeof(cfg->bots[i].name), "%s", names[i]);
    cfg->nbots = 3;
    for (int a = 0; a < AGENT_ACT_COUNT; a++)
        snprintf(cfg->bots[0].actions[a], AGENT_PATH_MAX, "/bin/true");
    snprintf(cfg->bots[1].actions[AGENT_ACT_RESTART], AGENT_PATH_MAX, "/bin/true");
    cfg->command_timeout_ms = 60000;
    cfg->command_max_per_hour = 6;
    cfg->command_skew_ms = 30000;
    cfg->command_max_ttl_ms = 3600000;
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s/botpulse-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"); /* fdatasync costs nothing */
    FUZZ_CHECK(mkdtemp(cfg->state_dir) != NULL, "mkdtemp %s", cfg->state_dir);
    snprintf(nonce_file, sizeof(nonce_file), "%s/command-nonces", cfg->state_dir);
    atexit(remove_state);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    fuzz_log_everything();
    FUZZ_CHECK(bp_sign_init() == 0, "libsodium");
    memset(seed, 7, sizeof(seed)); /* fixed: the same key in every run */
    make_config();
    crypto_sign_seed_keypair(cfg->command_pk, sk, seed);
    cfg->has_command_key = true;
    return 0;
}

/* The payload signed with the collector's key, when it decodes as a command. */
static char *signed_copy(const uint8_t *data, size_t size)
{
    struct bp_msg m;
    if (bp_msg_decode(data, size, &m, NULL) != 0 || m.hdr.type != BP_MSG_COMMAND ||
        bp_sign_command(&m, sk) != 0)
        return NULL;
    return bp_msg_encode(&m);
}

/* What agent_publisher_result sends about it must pass the collector's decoder. */
static void check_result(const struct bp_command_result *res, const char *bot)
{
    struct bp_msg m = {.hdr = {.type = BP_MSG_COMMAND_RESULT, .seq = 1, .ts = WALL},
                       .u.result = *res};
    snprintf(m.hdr.agent, sizeof(m.hdr.agent), "%s", cfg->id);
    snprintf(m.hdr.bot, sizeof(m.hdr.bot), "%s", bot);
    snprintf(m.hdr.boot, sizeof(m.hdr.boot), "b1");
    char *json = bp_msg_encode(&m);
    FUZZ_CHECK(json != NULL, "the result cannot be encoded");
    struct bp_msg back;
    struct bp_msg_error err;
    FUZZ_CHECK(bp_msg_decode(json, strlen(json), &back, &err) == 0,
               "the collector refuses the result: %s: %s\n%s", bp_msg_err_name(err.code),
               err.detail, json);
    free(json);
}

/* Checks payload on an agent just started on an empty state_dir (or the one left behind). */
static int check(const char *payload, size_t len, bool fresh, int *bot,
                 struct bp_command_result *res, char *bot_name)
{
    struct agent_commands *c = NULL;
    enum agent_action action = AGENT_ACT_COUNT;
    if (fresh)
        unlink(nonce_file);
    FUZZ_CHECK(agent_commands_new(cfg, WALL, &c) == 0, "agent_commands_new");
    int rc = agent_commands_check(c, payload, len, MONO, WALL, bot, &action, res, bot_name);
    if (rc == 0) {
        FUZZ_CHECK(*bot >= 0 && *bot < cfg->nbots && action < AGENT_ACT_COUNT, "bot %d", *bot);
        FUZZ_CHECK(cfg->bots[*bot].actions[action][0] != '\0', "an action not configured runs");
        FUZZ_CHECK(strcmp(res->outcome, "ok") == 0, "outcome %s", res->outcome);
        /* the same bytes again, on the same agent: a replay */
        struct bp_command_result again;
        char name[BP_ID_MAX + 1];
        int b2;
        FUZZ_CHECK(agent_commands_check(c, payload, len, MONO, WALL, &b2, &action, &again, name) !=
                       0,
                   "a replay was accepted");
        FUZZ_CHECK(strcmp(again.reason, "replayed nonce") == 0, "replay: %s", again.reason);
    } else {
        size_t n = strnlen(res->reason, sizeof(res->reason));
        FUZZ_CHECK(rc == -EPERM && strcmp(res->outcome, "refused") == 0, "rc %d, %s", rc,
                   res->outcome);
        FUZZ_CHECK(n > 0 && fuzz_is_printable(res->reason, n), "reason '%s'", res->reason);
    }
    check_result(res, bot_name);
    agent_commands_free(c);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    char *sig = (data[0] & 1) ? signed_copy(data + 1, size - 1) : NULL;
    char *payload = sig ? NULL : fuzz_memdup(data + 1, size - 1);
    const char *p = sig ? sig : payload;
    size_t len = sig ? strlen(sig) : size - 1;
    struct bp_command_result res;
    char bot_name[BP_ID_MAX + 1];
    int bot;
    int rc = check(p, len, true, &bot, &res, bot_name);
    FUZZ_CHECK(rc != 0 || sig != NULL, "a command not signed by the collector's key runs");
    if (rc == 0) { /* restarted on the same state_dir: still a replay */
        FUZZ_CHECK(check(p, len, false, &bot, &res, bot_name) != 0, "replay after a restart");
        FUZZ_CHECK(strcmp(res.reason, "replayed nonce") == 0, "after a restart: %s", res.reason);
    }
    free(sig);
    free(payload);
    return 0;
}
