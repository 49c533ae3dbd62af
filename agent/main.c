/* SPDX-License-Identifier: MIT */
/* botpulse-agent: the command line. Runs the agent, or sends one notify request to it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_config.h"
#include "agent_loop.h"
#include "agent_notify.h"
#include "log.h"

#define NOTIFY_TIMEOUT_MS 5000

/* notify exit codes: the agent took it, refused it, or could not be asked. */
enum { EXIT_NOTIFY_OK = 0, EXIT_NOTIFY_REFUSED = 1, EXIT_NOTIFY_UNREACHABLE = 2 };

static void usage(FILE *f)
{
    fprintf(f, "usage: botpulse-agent -c FILE                       run the agent\n"
               "       botpulse-agent -c FILE notify --bot ID trade [--id X] [--symbol S]\n"
               "                      [--side buy|sell] [--ts UNIX_MS]\n"
               "       botpulse-agent notify --socket PATH --bot ID trade [...]\n"
               "       botpulse-agent check -c FILE     one round, one line per bot\n"
               "       botpulse-agent --version | --help\n"
               "notify exits 0 when the agent took the trade, 1 when it refused it (the reason is\n"
               "printed), 2 when the agent could not be reached.\n"
               "check exits 0 when every bot is alive, 1 on a warning (a stale heartbeat file,\n"
               "an unreadable log), 2 when a bot's process is not running or the config is bad.\n");
}

struct notify_args {
    const char *socket, *bot, *verb;
    const char *id, *symbol, *side, *ts;
};

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past what it used. */
static int take_opt(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "error: %s needs a value\n", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_notify_args(int argc, char **argv, int i, struct notify_args *na)
{
    static const char *const names[] = {"--socket", "--bot", "--id", "--symbol", "--side", "--ts"};
    for (; i < argc; i++) {
        const char **slots[] = {&na->socket, &na->bot, &na->id, &na->symbol, &na->side, &na->ts};
        int hit = 0;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && hit == 0; k++)
            hit = take_opt(argc, argv, &i, names[k], slots[k]);
        if (hit < 0)
            return -1;
        if (hit)
            continue;
        if (argv[i][0] != '-' && na->verb == NULL) {
            na->verb = argv[i];
            continue;
        }
        fprintf(stderr, "error: unexpected argument '%s'\n", argv[i]);
        return -1;
    }
    if (!na->bot || !na->verb) {
        fprintf(stderr, "error: notify needs --bot ID and a verb (trade)\n");
        return -1;
    }
    return 0;
}

/* Appends " key=value"; the agent validates values, we only keep the line one line. */
static int append(char *buf, size_t size, const char *key, const char *val)
{
    if (!val)
        return 0;
    for (const char *p = val; *p; p++) {
        if ((unsigned char)*p <= ' ') {
            fprintf(stderr, "error: %s: spaces and control characters are not allowed\n", key);
            return -1;
        }
    }
    size_t len = strlen(buf);
    int n = snprintf(buf + len, size - len, " %s=%s", key, val);
    if (n < 0 || (size_t)n >= size - len) {
        fprintf(stderr, "error: request too long\n");
        return -1;
    }
    return 0;
}

static int run_notify(const struct notify_args *na)
{
    char req[AGENT_NOTIFY_MAX_BYTES + 64], reply[512], why[256];
    snprintf(req, sizeof(req), "%s", na->verb);
    if (append(req, sizeof(req), "bot", na->bot) || append(req, sizeof(req), "id", na->id) ||
        append(req, sizeof(req), "symbol", na->symbol) ||
        append(req, sizeof(req), "side", na->side) || append(req, sizeof(req), "ts", na->ts))
        return EXIT_NOTIFY_REFUSED;
    if (agent_notify_send(na->socket, req, reply, sizeof(reply), NOTIFY_TIMEOUT_MS, why,
                          sizeof(why)) != 0) {
        fprintf(stderr, "error: %s\n", why);
        return EXIT_NOTIFY_UNREACHABLE;
    }
    if (strcmp(reply, "ok") == 0)
        return EXIT_NOTIFY_OK;
    fprintf(stderr, "%s\n", reply);
    return EXIT_NOTIFY_REFUSED;
}

static struct agent_config *load(const char *path)
{
    char err[512];
    struct agent_config *cfg = malloc(sizeof(*cfg));
    if (!cfg) {
        fprintf(stderr, "error: out of memory\n");
        return NULL;
    }
    if (agent_config_load(path, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        free(cfg);
        return NULL;
    }
#if !BP_AGENT_TLS
    const char *url = cfg->mqtt.url;
    if (strncmp(url, "ssl://", 6) == 0 || strncmp(url, "mqtts://", 8) == 0) {
        fprintf(stderr,
                "error: %s: [mqtt] url: %s needs TLS, which this build leaves out to stay small; "
                "run botpulse-agent-tls instead\n",
                path, url);
        free(cfg);
        return NULL;
    }
#endif
    return cfg;
}

static int notify_main(const char *config, int argc, char **argv, int i)
{
    struct notify_args na = {0};
    struct agent_config *cfg = NULL;
    if (parse_notify_args(argc, argv, i, &na) != 0) {
        usage(stderr);
        return EXIT_NOTIFY_REFUSED;
    }
    if (!na.socket) {
        if (!config) {
            fprintf(stderr, "error: notify needs -c FILE or --socket PATH\n");
            return EXIT_NOTIFY_UNREACHABLE;
        }
        if (!(cfg = load(config)))
            return EXIT_NOTIFY_UNREACHABLE;
        na.socket = cfg->notify_socket;
    }
    int rc = run_notify(&na);
    free(cfg);
    return rc;
}

/* check [-c FILE]: -c may come before or after the verb. */
static int check_main(const char *config, int argc, char **argv, int i)
{
    for (; i < argc; i++) {
        int hit = take_opt(argc, argv, &i, "-c", &config);
        if (hit == 0)
            hit = take_opt(argc, argv, &i, "--config", &config);
        if (hit <= 0) {
            if (hit == 0)
                fprintf(stderr, "error: unexpected argument '%s'\n", argv[i]);
            return AGENT_CHECK_CRIT;
        }
    }
    if (!config) {
        fprintf(stderr, "error: check needs -c FILE\n");
        return AGENT_CHECK_CRIT;
    }
    struct agent_config *cfg = load(config);
    if (!cfg) {
        printf("CRITICAL - config error\n");
        return AGENT_CHECK_CRIT;
    }
    bp_log_threshold = BP_LOG_ERROR; /* the summary is the output */
    int rc = agent_check_run(cfg, "/proc", stdout);
    free(cfg);
    return rc;
}

static int agent_main(const char *config)
{
    enum bp_log_level level = BP_LOG_INFO;
    struct agent_config *cfg = load(config);
    if (!cfg)
        return 1;
    bp_log_level_parse(cfg->log_level, &level);
    bp_log_threshold = level;
    int rc = agent_loop_run(cfg);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int hit;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("botpulse-agent %s\n", BP_VERSION);
            return 0;
        }
        if (strcmp(a, "notify") == 0)
            return notify_main(config, argc, argv, i + 1);
        if (strcmp(a, "check") == 0)
            return check_main(config, argc, argv, i + 1);
        if ((hit = take_opt(argc, argv, &i, "-c", &config)) == 0)
            hit = take_opt(argc, argv, &i, "--config", &config);
        if (hit > 0)
            continue;
        if (hit == 0)
            fprintf(stderr, "error: unexpected argument '%s'\n", a);
        usage(stderr);
        return 1;
    }
    if (!config) {
        usage(stderr);
        return 1;
    }
    return agent_main(config);
}
