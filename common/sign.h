/* SPDX-License-Identifier: MIT */
/* Signed commands: Ed25519 (libsodium) over a fixed canonical byte string, keys as hex or
 * base64 text. The collector holds the secret key; agents hold only the public key.
 * The signed bytes (docs/recovery.md, proto/README.md) are exactly
 *   "botpulse-command-v1|" agent "|" bot "|" action "|" nonce "|" ts "|" expires
 * with ts and expires as decimal Unix ms. Ids cannot contain '|', so the string is
 * unambiguous, and it does not depend on any JSON encoder's spacing or key order. */
#ifndef BP_SIGN_H
#define BP_SIGN_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

#define BP_SIGN_PK_BYTES 32
#define BP_SIGN_SK_BYTES 64
#define BP_SIGN_BYTES 64
#define BP_SIGN_CANON_MAX 512

/* Initialises libsodium (idempotent, thread-safe). 0 or -EIO. */
int bp_sign_init(void);
/* A new key pair. 0 or -errno. */
int bp_sign_keypair(uint8_t pk[BP_SIGN_PK_BYTES], uint8_t sk[BP_SIGN_SK_BYTES]);
/* The public half of a secret key. */
void bp_sign_public_of(const uint8_t sk[BP_SIGN_SK_BYTES], uint8_t pk[BP_SIGN_PK_BYTES]);

/* Writes the canonical bytes of command m into buf (NUL-terminated); their length, or
 * -EINVAL (not a command) / -ENAMETOOLONG. */
int bp_sign_command_bytes(const struct bp_msg *m, char *buf, size_t size);
/* Signs command m in place (m->u.command.sig). 0 or -errno. */
int bp_sign_command(struct bp_msg *m, const uint8_t sk[BP_SIGN_SK_BYTES]);
/* 0 if m's signature is valid for pk, -EBADMSG otherwise (also for a malformed sig). */
int bp_sign_verify_command(const struct bp_msg *m, const uint8_t pk[BP_SIGN_PK_BYTES]);

/* Parses a key of exactly n bytes written as hex (2n chars) or standard base64, surrounding
 * whitespace ignored. 0 or -EINVAL. */
int bp_sign_parse_key(const char *text, uint8_t *out, size_t n);
/* Reads a secret key file (one line: hex or base64 of the 64-byte libsodium secret key, or of
 * its 32-byte seed) with bp_secret_read_file: refused (-EPERM) when its group or others may
 * read it. 0, or -errno with the reason in err. */
int bp_sign_load_secret_key(const char *path, uint8_t sk[BP_SIGN_SK_BYTES], char *err,
                            size_t errlen);
/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void bp_hex_encode(const uint8_t *in, size_t n, char *out);
/* Wipes secret material. */
void bp_sign_wipe(void *p, size_t n);

#endif
