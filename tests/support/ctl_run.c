/* SPDX-License-Identifier: MIT */
/* Runs botpulse-ctl with the fixture's bpt_run and keeps what it printed. */
#include "ctl_run.h"

#include "fixture.h"

#include <stdarg.h>
#include <stdlib.h>

#define WORDS_MAX 16

int bpt_ctl_argv(struct bpt_env *env, char **out, const char *url, const char *token,
                 const char *const *words)
{
    char *argv[3 + WORDS_MAX + 1] = {BPT_CTL_BIN, "--url", (char *)url};
    int n = 3;
    for (int i = 0; i < WORDS_MAX && words[i]; i++)
        argv[n++] = (char *)words[i];
    argv[n] = NULL;
    free(*out);
    *out = NULL;
    if (token) /* not on the command line, where everyone on the host would see it */
        setenv("BOTPULSE_TOKEN", token, 1);
    int rc = bpt_run(env, argv, 20000, out);
    unsetenv("BOTPULSE_TOKEN");
    if (!*out)
        *out = calloc(1, 1);
    return rc;
}

int bpt_ctl(struct bpt_env *env, char **out, const char *url, const char *token, ...)
{
    const char *words[WORDS_MAX + 1];
    int n = 0;
    va_list ap;
    va_start(ap, token);
    const char *w;
    while (n < WORDS_MAX && (w = va_arg(ap, const char *)) != NULL)
        words[n++] = w;
    va_end(ap);
    words[n] = NULL;
    return bpt_ctl_argv(env, out, url, token, words);
}
