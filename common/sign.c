/* SPDX-License-Identifier: MIT */
/* Ed25519 signing and verification of commands with libsodium, and key text parsing. */
#include "sign.h"

#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CANON_PREFIX "botpulse-command-v1"

int bp_sign_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

int bp_sign_keypair(uint8_t pk[BP_SIGN_PK_BYTES], uint8_t sk[BP_SIGN_SK_BYTES])
{
    if (bp_sign_init() < 0)
        return -EIO;
    return crypto_sign_keypair(pk, sk) == 0 ? 0 : -EIO;
}

void bp_sign_public_of(const uint8_t sk[BP_SIGN_SK_BYTES], uint8_t pk[BP_SIGN_PK_BYTES])
{
    crypto_sign_ed25519_sk_to_pk(pk, sk);
}

int bp_sign_command_bytes(const struct bp_msg *m, char *buf, size_t size)
{
    if (m->hdr.type != BP_MSG_COMMAND)
        return -EINVAL;
    const struct bp_command *c = &m->u.command;
    int n = snprintf(buf, size, CANON_PREFIX "|%s|%s|%s|%s|%" PRId64 "|%" PRId64, m->hdr.agent,
                     m->hdr.bot, c->action, c->nonce, m->hdr.ts, c->expires);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int bp_sign_command(struct bp_msg *m, const uint8_t sk[BP_SIGN_SK_BYTES])
{
    char canon[BP_SIGN_CANON_MAX];
    uint8_t sig[BP_SIGN_BYTES];
    int n = bp_sign_command_bytes(m, canon, sizeof(canon));
    if (n < 0)
        return n;
    if (bp_sign_init() < 0 ||
        crypto_sign_detached(sig, NULL, (const unsigned char *)canon, (size_t)n, sk) != 0)
        return -EIO;
    bp_hex_encode(sig, sizeof(sig), m->u.command.sig);
    return 0;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2n hex chars into n bytes. 0 or -EINVAL. */
static int hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int bp_sign_verify_command(const struct bp_msg *m, const uint8_t pk[BP_SIGN_PK_BYTES])
{
    char canon[BP_SIGN_CANON_MAX];
    uint8_t sig[BP_SIGN_BYTES];
    int n = bp_sign_command_bytes(m, canon, sizeof(canon));
    if (n < 0 || bp_sign_init() < 0 ||
        hex_decode(m->u.command.sig, strlen(m->u.command.sig), sig, sizeof(sig)) < 0)
        return -EBADMSG;
    return crypto_sign_verify_detached(sig, (const unsigned char *)canon, (size_t)n, pk) == 0
               ? 0
               : -EBADMSG;
}

int bp_sign_parse_key(const char *text, uint8_t *out, size_t n)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (hex_decode(text, len, out, n) == 0)
        return 0;
    size_t got = 0;
    if (bp_sign_init() < 0 ||
        sodium_base642bin(out, n, text, len, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        got != n)
        return -EINVAL;
    return 0;
}

int bp_sign_load_secret_key(const char *path, uint8_t sk[BP_SIGN_SK_BYTES], char *err,
                            size_t errlen)
{
    char buf[512];
    int rc = bp_secret_read_file(path, buf, sizeof(buf), err, errlen); /* 0600 or refused */
    if (rc < 0)
        return rc;
    uint8_t seed[crypto_sign_SEEDBYTES], pk[BP_SIGN_PK_BYTES];
    if (bp_sign_parse_key(buf, sk, BP_SIGN_SK_BYTES) == 0) {
        /* a libsodium secret key carries its public half: check that they agree */
        crypto_sign_ed25519_sk_to_seed(seed, sk);
        uint8_t sk2[BP_SIGN_SK_BYTES];
        crypto_sign_seed_keypair(pk, sk2, seed);
        if (sodium_memcmp(sk, sk2, BP_SIGN_SK_BYTES) != 0)
            rc = -EINVAL;
        sodium_memzero(sk2, sizeof(sk2));
    } else if (bp_sign_parse_key(buf, seed, sizeof(seed)) == 0) {
        crypto_sign_seed_keypair(pk, sk, seed);
    } else {
        rc = -EINVAL;
    }
    if (rc)
        snprintf(err, errlen,
                 "%s: not an Ed25519 secret key (64 bytes, or a 32-byte seed, as "
                 "hex or base64)",
                 path);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

void bp_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void bp_sign_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}
