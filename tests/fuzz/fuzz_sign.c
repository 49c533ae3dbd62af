/* SPDX-License-Identifier: MIT */
/* Fuzzes the key text readers of common/sign.c with any bytes: bp_sign_parse_key (the agent's
 * command_public_key, hex or base64) and bp_sign_load_secret_key (the collector's key file). A
 * key read from text is read the same from its hex and its base64; a secret key read from a file
 * signs commands its public half verifies. Input: the text. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FUZZ_CHECK(bp_sign_init() == 0, "libsodium");
    fuzz_file_open(&file);
    return 0;
}

/* key[0..n) read from its hex and its base64 is key again. */
static void check_texts(const uint8_t *key, size_t n)
{
    char hex[2 * BP_SIGN_SK_BYTES + 1],
        b64[sodium_base64_ENCODED_LEN(BP_SIGN_SK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    uint8_t back[BP_SIGN_SK_BYTES];
    bp_hex_encode(key, n, hex);
    FUZZ_CHECK(bp_sign_parse_key(hex, back, n) == 0 && memcmp(back, key, n) == 0, "hex %s", hex);
    sodium_bin2base64(b64, sizeof(b64), key, n, sodium_base64_VARIANT_ORIGINAL);
    FUZZ_CHECK(bp_sign_parse_key(b64, back, n) == 0 && memcmp(back, key, n) == 0, "b64 %s", b64);
}

/* A command signed with sk verifies with its public half, and not once changed. */
static void check_signs(const uint8_t sk[BP_SIGN_SK_BYTES])
{
    struct bp_msg m = {.hdr = {.type = BP_MSG_COMMAND, .ts = 1767225600000LL}};
    uint8_t pk[BP_SIGN_PK_BYTES];
    snprintf(m.hdr.agent, sizeof(m.hdr.agent), "agent-1");
    snprintf(m.hdr.bot, sizeof(m.hdr.bot), "demo-1");
    snprintf(m.u.command.action, sizeof(m.u.command.action), "restart");
    snprintf(m.u.command.nonce, sizeof(m.u.command.nonce), "0123456789abcdef");
    m.u.command.expires = m.hdr.ts + 60000;
    bp_sign_public_of(sk, pk);
    FUZZ_CHECK(bp_sign_command(&m, sk) == 0, "cannot sign");
    FUZZ_CHECK(bp_sign_verify_command(&m, pk) == 0, "its own signature does not verify");
    m.u.command.expires++;
    FUZZ_CHECK(bp_sign_verify_command(&m, pk) != 0, "a changed command still verifies");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    uint8_t key[BP_SIGN_SK_BYTES], sk[BP_SIGN_SK_BYTES];
    if (bp_sign_parse_key(text, key, BP_SIGN_PK_BYTES) == 0)
        check_texts(key, BP_SIGN_PK_BYTES);
    if (bp_sign_parse_key(text, key, BP_SIGN_SK_BYTES) == 0)
        check_texts(key, BP_SIGN_SK_BYTES);
    char err[256] = "";
    int rc = bp_sign_load_secret_key(fuzz_file_write(&file, data, size), sk, err, sizeof(err));
    if (rc == 0)
        check_signs(sk);
    else
        FUZZ_CHECK(rc < 0 && err[0] != '\0', "rc %d without a reason", rc);
    free(text);
    return 0;
}
