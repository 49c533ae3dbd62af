/* SPDX-License-Identifier: MIT */
/* Command signatures: the golden command in proto/examples verifies with its documented key;
 * any change to a signed field breaks it; keys parse from hex and base64. */
#include "sign.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The key of proto/examples/valid/command_restart.json: seed bytes 01..20. */
#define GOLDEN_SEED "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define GOLDEN_PK "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
#define GOLDEN BP_SOURCE_DIR "/proto/examples/valid/command_restart.json"

static void load_golden(struct bp_msg *m)
{
    char buf[2048];
    FILE *f = fopen(GOLDEN, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct bp_msg_error err;
    assert_int_equal(bp_msg_decode(buf, n, m, &err), 0);
}

static void test_canonical_bytes(void **state)
{
    struct bp_msg m;
    char buf[BP_SIGN_CANON_MAX];
    load_golden(&m);
    int n = bp_sign_command_bytes(&m, buf, sizeof(buf));
    assert_string_equal(buf, "botpulse-command-v1|vps-eu-1|grid-btc-1|restart|"
                             "9f2c4e1a7b3d5f60a1b2c3d4e5f60718|1767225601234|1767225661234");
    assert_int_equal(n, (int)strlen(buf));
    m.hdr.type = BP_MSG_HEARTBEAT;
    assert_int_equal(bp_sign_command_bytes(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_golden_verifies_and_tampering_breaks_it(void **state)
{
    uint8_t pk[BP_SIGN_PK_BYTES];
    struct bp_msg m, t;
    assert_int_equal(bp_sign_parse_key(GOLDEN_PK, pk, sizeof(pk)), 0);
    load_golden(&m);
    assert_int_equal(bp_sign_verify_command(&m, pk), 0);
    t = m, snprintf(t.hdr.agent, sizeof(t.hdr.agent), "vps-eu-2");
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, snprintf(t.hdr.bot, sizeof(t.hdr.bot), "grid-btc-2");
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, snprintf(t.u.command.action, sizeof(t.u.command.action), "hard_restart");
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, t.u.command.nonce[0] = 'a';
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, t.hdr.ts++;
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, t.u.command.expires += 3600000; /* extending the validity is the classic attack */
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, t.u.command.sig[10] = t.u.command.sig[10] == '0' ? '1' : '0';
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
    t = m, t.u.command.sig[0] = 'z'; /* not hex */
    assert_int_equal(bp_sign_verify_command(&t, pk), -EBADMSG);
}

static void test_sign_then_verify(void **state)
{
    uint8_t pk[BP_SIGN_PK_BYTES], sk[BP_SIGN_SK_BYTES], other_pk[BP_SIGN_PK_BYTES],
        other_sk[BP_SIGN_SK_BYTES];
    struct bp_msg m;
    assert_int_equal(bp_sign_keypair(pk, sk), 0);
    assert_int_equal(bp_sign_keypair(other_pk, other_sk), 0);
    load_golden(&m);
    assert_int_equal(bp_sign_command(&m, sk), 0);
    assert_int_equal(bp_sign_verify_command(&m, pk), 0);
    assert_int_equal(bp_sign_verify_command(&m, other_pk), -EBADMSG);
    /* the signature survives the wire: encode, decode, verify */
    char *json = bp_msg_encode(&m);
    struct bp_msg back;
    assert_int_equal(bp_msg_decode(json, strlen(json), &back, NULL), 0);
    assert_int_equal(bp_sign_verify_command(&back, pk), 0);
    free(json);
    uint8_t pk2[BP_SIGN_PK_BYTES];
    bp_sign_public_of(sk, pk2);
    assert_memory_equal(pk, pk2, sizeof(pk));
}

static void test_parse_keys(void **state)
{
    uint8_t k[32], want[32];
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(i + 1);
    assert_int_equal(bp_sign_parse_key("  " GOLDEN_SEED "\n", k, sizeof(k)), 0);
    assert_memory_equal(k, want, sizeof(k));
    assert_int_equal(bp_sign_parse_key("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", k, 32), 0);
    assert_memory_equal(k, want, sizeof(k));
    assert_int_equal(bp_sign_parse_key("0102", k, sizeof(k)), -EINVAL);
    assert_int_equal(bp_sign_parse_key("", k, sizeof(k)), -EINVAL);
    assert_int_equal(bp_sign_parse_key(GOLDEN_SEED "00", k, sizeof(k)), -EINVAL);
}

static void test_load_secret_key_from_seed_or_full_key(void **state)
{
    char path[] = "/tmp/bp-test-sign-XXXXXX", err[300];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, GOLDEN_SEED "\n", strlen(GOLDEN_SEED) + 1),
                     (ssize_t)strlen(GOLDEN_SEED) + 1);
    close(fd);
    uint8_t sk[BP_SIGN_SK_BYTES], pk[BP_SIGN_PK_BYTES], want[BP_SIGN_PK_BYTES];
    assert_int_equal(bp_sign_load_secret_key(path, sk, err, sizeof(err)), 0);
    bp_sign_public_of(sk, pk);
    assert_int_equal(bp_sign_parse_key(GOLDEN_PK, want, sizeof(want)), 0);
    assert_memory_equal(pk, want, sizeof(pk));
    /* the full 64-byte key works too; a corrupted one (halves disagree) does not */
    char hex[2 * BP_SIGN_SK_BYTES + 1];
    bp_hex_encode(sk, sizeof(sk), hex);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    assert_int_equal(bp_sign_load_secret_key(path, sk, err, sizeof(err)), 0);
    hex[127] = hex[127] == '0' ? '1' : '0';
    f = fopen(path, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    assert_int_equal(bp_sign_load_secret_key(path, sk, err, sizeof(err)), -EINVAL);
    /* a key its group or others may read is refused, good or not */
    f = fopen(path, "w");
    fprintf(f, "%s\n", GOLDEN_SEED);
    fclose(f);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(bp_sign_load_secret_key(path, sk, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    unlink(path);
    assert_true(bp_sign_load_secret_key(path, sk, err, sizeof(err)) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_golden_verifies_and_tampering_breaks_it),
        cmocka_unit_test(test_sign_then_verify),
        cmocka_unit_test(test_parse_keys),
        cmocka_unit_test(test_load_secret_key_from_seed_or_full_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
