/* SPDX-License-Identifier: MIT */
/* botpulse-ctl as a test runs it: the built binary against a collector's URL (and token), its
 * output and exit code kept for the test to check. */
#ifndef BPT_CTL_RUN_H
#define BPT_CTL_RUN_H

struct bpt_env;

#define BPT_CTL_BIN BP_BIN_DIR "/ctl/botpulse-ctl"

/* Runs botpulse-ctl --url url and the NULL-terminated words after it (at most 16), within
 * 20 s, with token (NULL: none) in its BOTPULSE_TOKEN. Its stdout and stderr go to *out (what *out
 * held is freed; "" when it printed nothing; the caller frees). Returns its exit status, or -errno.
 */
int bpt_ctl(struct bpt_env *env, char **out, const char *url, const char *token, ...)
    __attribute__((sentinel));
/* The same with the words in a NULL-terminated array. */
int bpt_ctl_argv(struct bpt_env *env, char **out, const char *url, const char *token,
                 const char *const *words);

#endif
