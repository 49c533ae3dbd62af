/* SPDX-License-Identifier: MIT */
/* botpulse-agent: the command line. Runs the agent, or sends one notify request to it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    fprintf(f,
            "usage: botpulse-agent -c FILE                       run the agent\n"
            "       botpulse-agent -c FILE notify --bot ID VERB [options]\n"
            "       botpulse-agent notify --socket PATH --bot ID VERB [options]\n"
            "  verbs: trade [--id X] [--symbol S] [--side buy|sell] [--ts UNIX_MS]\n"
            "         tick [--ts UNIX_MS]             the strategy loop evaluated\n"
            "         market --ts UNIX_MS             time of the newest market data\n"
            "         exposure --positions N --orders N\n"
            "         metric NAME=NUMBER [NAME=NUMBER...]\n"
            "         api --ok|--error [--latency-ms N]\n"
            "         maintenance --for DURATION [--reason TEXT]   (--for 0 ends it)\n"
            "         event --text TEXT\n"
            "       botpulse-agent check -c FILE     one round, one line per bot\n"
            "       botpulse-agent --version | --help\n"
            "notify exits 0 when the agent took the request, 1 when it refused it (the reason is\n"
            "printed), 2 when the agent could not be reached.\n"
            "check exits 0 when every bot is alive, 1 on a warning (a stale heartbeat file,\n"
            "an unreadable log), 2 when a bot's process is not running or the config is bad.\n");
}

#define NOTIFY_MAX_METRICS 16

/* Options that become one key=value each; --reason and --text go last (they may hold spaces). */
static const char *const opt_names[] = {"--socket",     "--bot", "--id",        "--symbol",
                                        "--side",       "--ts",  "--positions", "--orders",
                                        "--latency-ms", "--for", "--reason",    "--text"};
static const char *const opt_keys[] = {NULL,         NULL,  "id",        "symbol",
                                       "side",       "ts",  "positions", "orders",
                                       "latency_ms", "for", "reason",    "text"};
#define NOPTS (sizeof(opt_names) / sizeof(opt_names[0]))
enum { O_SOCKET, O_BOT, O_REASON = 10, O_TEXT = 11 };

struct notify_args {
    const char *verb;
    const char *opt[NOPTS];
    const char *result; /* --ok / --error */
    int nmetrics;
    const char *metrics[NOTIFY_MAX_METRICS];
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

static int take_positional(struct notify_args *na, const char *arg)
{
    if (na->verb == NULL) {
        na->verb = arg;
        return 0;
    }
    if (strcmp(na->verb, "metric") == 0 && strchr(arg, '=')) {
        if (na->nmetrics == NOTIFY_MAX_METRICS) {
            fprintf(stderr, "error: at most %d metrics in one request\n", NOTIFY_MAX_METRICS);
            return -1;
        }
        na->metrics[na->nmetrics++] = arg;
        return 0;
    }
    fprintf(stderr, "error: unexpected argument '%s'\n", arg);
    return -1;
}

static int parse_notify_args(int argc, char **argv, int i, struct notify_args *na)
{
    for (; i < argc; i++) {
        int hit = 0;
        for (size_t k = 0; k < NOPTS && hit == 0; k++)
            hit = take_opt(argc, argv, &i, opt_names[k], &na->opt[k]);
        if (hit < 0)
            return -1;
        if (hit)
            continue;
        if (strcmp(argv[i], "--ok") == 0 || strcmp(argv[i], "--error") == 0) {
            na->result = argv[i] + 2;
            continue;
        }
        if (argv[i][0] != '-' || (na->verb && strcmp(na->verb, "metric") == 0)) {
            if (take_positional(na, argv[i]) != 0)
                return -1;
            continue;
        }
        fprintf(stderr, "error: unexpected argument '%s'\n", argv[i]);
        return -1;
    }
    if (!na->opt[O_BOT] || !na->verb) {
        fprintf(stderr, "error: notify needs --bot ID and a verb (trade, tick, market, exposure, "
                        "metric, api, maintenance, event)\n");
        return -1;
    }
    return 0;
}

/* Appends " key=value"; the agent validates values, we only keep the line one line. With
 * spaces_ok (the last key, which takes the rest of the line) spaces are allowed. */
static int append(char *buf, size_t size, const char *key, const char *val, bool spaces_ok)
{
    if (!val)
        return 0;
    for (const char *p = val; *p; p++) {
        if ((unsigned char)*p < ' ' || (*p == ' ' && !spaces_ok)) {
            fprintf(stderr, "error: %s: %scontrol characters are not allowed\n", key,
                    spaces_ok ? "" : "spaces and ");
            return -1;
        }
    }
    size_t len = strlen(buf);
    int n = key ? snprintf(buf + len, size - len, " %s=%s", key, val)
                : snprintf(buf + len, size - len, " %s", val);
    if (n < 0 || (size_t)n >= size - len) {
        fprintf(stderr, "error: request too long\n");
        return -1;
    }
    return 0;
}

static int build_request(const struct notify_args *na, char *req, size_t size)
{
    snprintf(req, size, "%s", na->verb);
    int rc = append(req, size, "bot", na->opt[O_BOT], false);
    for (size_t k = O_BOT + 1; k < O_REASON && rc == 0; k++)
        rc = append(req, size, opt_keys[k], na->opt[k], false);
    if (rc == 0)
        rc = append(req, size, "result", na->result, false);
    for (int m = 0; m < na->nmetrics && rc == 0; m++)
        rc = append(req, size, NULL, na->metrics[m], false);
    if (rc == 0 && na->opt[O_REASON] && na->opt[O_TEXT]) {
        fprintf(stderr, "error: --reason and --text: give one\n");
        rc = -1;
    }
    if (rc == 0)
        rc = append(req, size, "reason", na->opt[O_REASON], true);
    if (rc == 0)
        rc = append(req, size, "text", na->opt[O_TEXT], true);
    return rc;
}

static int run_notify(const struct notify_args *na)
{
    char req[AGENT_NOTIFY_MAX_BYTES + 64], reply[512], why[256];
    if (build_request(na, req, sizeof(req)) != 0)
        return EXIT_NOTIFY_REFUSED;
    if (agent_notify_send(na->opt[O_SOCKET], req, reply, sizeof(reply), NOTIFY_TIMEOUT_MS, why,
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
    if (!na.opt[O_SOCKET]) {
        if (!config) {
            fprintf(stderr, "error: notify needs -c FILE or --socket PATH\n");
            return EXIT_NOTIFY_UNREACHABLE;
        }
        if (!(cfg = load(config)))
            return EXIT_NOTIFY_UNREACHABLE;
        na.opt[O_SOCKET] = cfg->notify_socket;
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
    char err[1024];
    struct agent_config *cfg = load(config);
    if (!cfg)
        return 1;
    if (agent_config_load_secrets(cfg, config, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n", err);
        free(cfg);
        return 1;
    }
    bp_log_level_parse(cfg->log_level, &level);
    bp_log_threshold = level;
    int rc = agent_loop_run(cfg, config);
    free(cfg);
    return rc;
}

/* A daemon started with 0, 1 or 2 closed would hand those numbers to its first sockets and
 * pipes, and a command's stdout could land on the broker connection: open /dev/null there. */
static void keep_std_fds_open(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd >= 0 && nfd != fd) /* a lower one was closed too: it took that */
            close(nfd);
    }
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    keep_std_fds_open();
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
