/* SPDX-License-Identifier: MIT */
/* Fuzzes the agent's log-line splitting and matching (agent/agent_logtail.c, under
 * agent_logtail_poll) with any bytes, as a bot's log: the lines and matches counted must not
 * depend on how the bytes arrive (all at once, or cut at arbitrary points as a writer and the
 * agent's reads interleave), and must be what a plain split at '\n' gives: a line longer than
 * the cap is counted once, cut. The patterns are deploy/agent.example.ini's.
 * Input: one byte choosing where the chunks are cut, then the log; "\x01" C N1 N2 in the log
 * stands for the byte C repeated (N1 * 256 + N2) * 16 times, so lines past the 64 KiB cap fit
 * in a short input (C = '\n' is not repeated: a flood of lines only costs regexec time).
 * Opening, rotation and truncation are file system work, not fuzzed here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_logtail.h"
#include "fuzz_support.h"

#define WALL 1767225600000LL
#define EXPANDED_MAX (256 * 1024) /* past the 64 KiB cap, not a flood of regexec */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[AGENT_LOG_NPAT] = {
    "order (filled|executed)",          "^(ERROR|CRITICAL)",   "^WARN",
    "(websocket|ws) reconnect(ing|ed)", "HTTP 429|rate limit", "(Request|Read) ?[Tt]imeout",
};

static struct agent_logtail whole, cut; /* the patterns compiled once; the state per input */

static void tail_init(struct agent_logtail *t)
{
    char err[160];
    FUZZ_CHECK(agent_logtail_init(t, "/nonexistent", patterns, err, sizeof(err)) == 0, "%s", err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_everything();
    tail_init(&whole);
    tail_init(&cut);
    return 0;
}

/* A tail as agent_logtail_init leaves it, but for its compiled patterns (regcomp is most of the
 * cost of an input): what agent_logtail_feed reads and writes starts afresh. */
static void tail_reset(struct agent_logtail *t)
{
    memset(&t->c, 0, sizeof(t->c));
    t->len = 0;
    t->skipping = false;
}

/* The bytes "\x01" C N1 N2 at p stand for. */
static size_t run_length(const uint8_t *p)
{
    return p[1] == '\n' ? 1 : ((size_t)p[2] * 256 + p[3]) * 16;
}

/* The log the input stands for, with its runs expanded; NULL when it would be too long. */
static char *expand(const uint8_t *in, size_t n, size_t *out_len)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 1 && i + 3 < n) {
            len += run_length(in + i);
            i += 3;
        } else {
            len++;
        }
    }
    if (len > EXPANDED_MAX)
        return NULL;
    char *out = malloc(len ? len : 1), *p = out;
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 1 && i + 3 < n) {
            size_t run = run_length(in + i);
            memset(p, in[i + 1], run);
            p += run;
            i += 3;
        } else {
            *p++ = (char)in[i];
        }
    }
    *out_len = len;
    return out;
}

/* Lines a plain split gives: every '\n'-terminated segment, and a last unterminated one only
 * when it is past the cap (a shorter one waits for its '\n'). */
static void count_lines(const char *log, size_t n, int64_t *lines, int64_t *long_lines)
{
    size_t start = 0;
    *lines = *long_lines = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && log[i] != '\n')
            continue;
        size_t len = i - start;
        if (len > AGENT_LOGTAIL_LINE_MAX) {
            (*lines)++;
            (*long_lines)++;
        } else if (i < n) {
            (*lines)++;
        }
        start = i + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    size_t n;
    char *log = expand(data + 1, size - 1, &n);
    if (!log)
        return -1;
    tail_reset(&whole);
    tail_reset(&cut);
    int64_t lines = agent_logtail_feed(&whole, log, n, WALL), cut_lines = 0;
    uint32_t seed = data[0] * 2654435761u + 1;
    for (size_t off = 0; off < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t len = seed >> 16 & 0x3fff; /* 0..16383 bytes: also zero-length reads */
        if (len > n - off)
            len = n - off;
        char *chunk = fuzz_memdup((const uint8_t *)log + off, len);
        cut_lines += agent_logtail_feed(&cut, chunk, len, WALL);
        free(chunk);
        off += len;
    }
    int64_t want, want_cut;
    count_lines(log, n, &want, &want_cut);
    FUZZ_CHECK(lines == want && whole.c.lines == want, "%lld lines, want %lld", (long long)lines,
               (long long)want);
    FUZZ_CHECK(whole.c.long_lines == want_cut, "%lld cut, want %lld", (long long)whole.c.long_lines,
               (long long)want_cut);
    FUZZ_CHECK(cut_lines == lines && memcmp(&cut.c, &whole.c, sizeof(cut.c)) == 0,
               "counts depend on how the bytes arrive: %lld lines in chunks, %lld at once",
               (long long)cut_lines, (long long)lines);
    free(log);
    return 0;
}
