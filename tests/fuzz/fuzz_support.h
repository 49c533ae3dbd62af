/* SPDX-License-Identifier: MIT */
/* What the fuzz targets share: a property check that aborts (so libFuzzer keeps the input as a
 * crash), NUL-terminated copies of the input, splitting it at a separator, and an in-memory file
 * for the parsers whose API takes a path. */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A property every input must keep; when it breaks, print why and abort. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                     \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A refusal by a loader that reports into err[0..size): a negative errno and a message, within
 * the buffer (fill err with non-zero bytes before the call). */
void fuzz_check_refusal(int rc, const char *err, size_t size);

/* A malloc'd NUL-terminated copy of data[0..size) (which may hold NULs); aborts on ENOMEM. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* A malloc'd copy of exactly size bytes (no terminator), so ASan catches a read past the end of
 * a buffer the API takes with its length; aborts on ENOMEM. */
char *fuzz_memdup(const uint8_t *data, size_t size);

/* Splits data at the first byte sep: *head and *head_len before it, the rest after it (NULL
 * and 0 when sep is absent: then the head is everything). */
void fuzz_split(const uint8_t *data, size_t size, uint8_t sep, const uint8_t **rest,
                size_t *rest_len, size_t *head_len);

/* True if s[0..n) holds no byte below 0x20 and no 0x7f (error texts that reach logs). */
bool fuzz_is_printable(const char *s, size_t n);

/* An anonymous in-memory file (memfd, mode 0600) reachable by path (/proc/self/fd/N), for
 * the loaders that open a path. Opened once per process. */
struct fuzz_file {
    int fd;
    char path[64];
};

/* Opens f; aborts on failure (the target cannot run without it). */
void fuzz_file_open(struct fuzz_file *f);
/* Replaces f's contents with data[0..size) and returns its path. */
const char *fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size);

/* Makes every log line be formatted (the formatting of what came from outside is part of what
 * is fuzzed); scripts/fuzz.sh closes the targets' stderr so the lines cost little. */
void fuzz_log_everything(void);

#endif
