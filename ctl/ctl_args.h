/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's command line, as pure functions: argv into a command, and the command into
 * the HTTP request it makes (method and path with its query string). */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes scripts can use. */
enum ctl_exit {
    CTL_EXIT_OK = 0,          /* done; for `status`: every bot healthy (or idle) */
    CTL_EXIT_UNHEALTHY = 1,   /* `status`: some bot is neither healthy nor idle */
    CTL_EXIT_USAGE = 2,       /* bad command line */
    CTL_EXIT_UNREACHABLE = 3, /* no answer from the collector */
    CTL_EXIT_NOT_FOUND = 4,   /* no such bot */
    CTL_EXIT_REFUSED = 5,     /* the collector answered an error (token, 400, 409, 429, 503) */
    CTL_EXIT_ABORTED = 6,     /* `restart`: the operator did not confirm */
};

enum ctl_verb {
    CTL_STATUS,
    CTL_BOTS,
    CTL_BOT,
    CTL_HISTORY,
    CTL_ALERTS,
    CTL_RECHECK,
    CTL_HELP,
    CTL_SILENCE_ADD,  /* silence add --bot X|--account A|--host H|--check C --for 30m --reason R */
    CTL_SILENCE_LIST, /* silence list */
    CTL_SILENCE_RM,   /* silence rm ID */
    CTL_REPORT,       /* report --from 7d [--to T] [--bot ID] [--format md|json] */
    CTL_RESTART,      /* restart ID [--yes] */
    CTL_INTEND,       /* intend ID running|stopped */
    CTL_MOVE,         /* move ID AGENT */
    CTL_VERSION,      /* --version */
};

/* What botpulse-ctl takes from its environment (each may be NULL). */
struct ctl_env {
    const char *token; /* $BOTPULSE_TOKEN */
    const char *url;   /* $BOTPULSE_URL */
};

struct ctl_cmd {
    enum ctl_verb verb;
    char url[256];        /* the collector, without a trailing '/' */
    char token[256];      /* "" = none */
    char token_file[256]; /* --token-file: main reads the token from it (secret.h) */
    bool token_on_argv;   /* --token was given: main warns that ps can see it */
    bool json;
    char id[65];                             /* bot, for bot/history/recheck */
    char status[16], account[65], host[256]; /* filters for status/bots */
    int64_t since_ms;                        /* history: Unix ms, 0 = none */
    int64_t limit;                           /* history/bots, 0 = the server's default */
    /* silence add */
    char bot[65], check[33], duration[24], reason[129], by[65];
    int64_t until_ms; /* Unix ms, 0 = use duration */
    /* report */
    int64_t from_ms, to_ms; /* Unix ms, 0 = the server's default */
    bool markdown;          /* --format md (default); --format json or --json: the JSON */
    bool yes;               /* restart: --yes, no question asked */
    char state[8];          /* intend: "running" or "stopped" */
    char agent[65];         /* move: the agent that speaks for the bot from now on */
};

/* Parses argv (options anywhere: --url U, --token T, --token-file F, --json, --status S,
 * --account A, --host H, --since T, --limit N; then the verb and its ID). now_ms turns --since 1h
 * into a time. env may be NULL; --url wins over $BOTPULSE_URL, --token and --token-file (one of
 * them) over $BOTPULSE_TOKEN. 0, or -EINVAL with the reason in err. */
int ctl_args_parse(int argc, char *const argv[], const struct ctl_env *env, int64_t now_ms,
                   struct ctl_cmd *cmd, char *err, size_t errlen);

/* Parses --since: a duration back from now (90s, 30m, 2h, 7d) or Unix ms. 0 or -EINVAL. */
int ctl_parse_since(const char *text, int64_t now_ms, int64_t *out_ms);

/* The request for cmd: method ("GET"/"POST"/"DELETE") and the path with its query string, with
 * every value percent-encoded. 0, or -ENOSPC. */
int ctl_request(const struct ctl_cmd *cmd, const char **method, char *path, size_t size);

/* The JSON body cmd sends (silence add, intend), malloc'd; NULL for none (or ENOMEM: *err set). */
char *ctl_request_body(const struct ctl_cmd *cmd, bool *err);

/* True if the verb changes something and so needs the token. */
bool ctl_needs_token(enum ctl_verb verb);

/* The usage text. */
extern const char ctl_usage[];

#endif
