/* SPDX-License-Identifier: MIT */
/* botpulse-ctl: the operator's command line over the collector's HTTP API. */
#include "ctl_args.h"
#include "ctl_format.h"
#include "ctl_http.h"
#include "ctl_report.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 10000L

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks on the terminal before a restart; true if the operator answers y or yes. */
static bool confirmed(const struct ctl_cmd *cmd)
{
    char line[16];
    fprintf(stderr, "Restart bot %s through its agent's configured command? [y/N] ", cmd->id);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 || strcmp(line, "yes") == 0;
}

/* Prints the answer and returns the exit code. */
static int report(const struct ctl_cmd *cmd, const struct ctl_answer *a, int64_t now)
{
    cJSON *body = a->body ? cJSON_Parse(a->body) : NULL;
    int code = (int)ctl_exit_for(cmd, a->status, body);
    if (a->status < 200 || a->status > 299) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "error");
        fprintf(stderr, "botpulse-ctl: the collector answered %ld: %s\n", a->status,
                cJSON_IsString(e) ? e->valuestring : "(no reason given)");
    } else if (cmd->json) { /* also report --format json */
        printf("%s\n", a->body ? a->body : "");
    } else if (!body || (cmd->verb == CTL_REPORT ? ctl_print_report(stdout, body)
                                                 : ctl_print(stdout, cmd, body, now)) < 0) {
        fprintf(stderr, "botpulse-ctl: the collector's answer is not what this version "
                        "expects\n");
        code = CTL_EXIT_REFUSED;
    }
    cJSON_Delete(body);
    return code;
}

/* The bearer token: read from --token-file, warned about on the command line, and required
 * by the verbs that change something. CTL_EXIT_OK or the exit code. */
static int token(struct ctl_cmd *cmd)
{
    char err[512];
    if (cmd->token_file[0] &&
        bp_secret_read_file(cmd->token_file, cmd->token, sizeof(cmd->token), err, sizeof(err))) {
        fprintf(stderr, "botpulse-ctl: --token-file %s\n", err);
        return CTL_EXIT_USAGE;
    }
    if (cmd->token_on_argv)
        fprintf(stderr, "botpulse-ctl: warning: --token shows the token to everyone on this host "
                        "(ps, /proc, shell history); use --token-file FILE or BOTPULSE_TOKEN\n");
    if (ctl_needs_token(cmd->verb) && !cmd->token[0]) {
        /* The collector would refuse it (401): the same answer, without the round trip. */
        fprintf(stderr, "botpulse-ctl: refused: this command needs the bearer token "
                        "(--token-file FILE or BOTPULSE_TOKEN)\n");
        return CTL_EXIT_REFUSED;
    }
    return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct ctl_cmd cmd;
    char err[256], path[1024], url[1400];
    const char *method;
    int64_t now = wall_ms();
    struct ctl_env env = {.token = getenv("BOTPULSE_TOKEN"), .url = getenv("BOTPULSE_URL")};
    if (ctl_args_parse(argc, argv, &env, now, &cmd, err, sizeof(err)) < 0) {
        fprintf(stderr, "botpulse-ctl: %s\n\n%s", err, ctl_usage);
        return CTL_EXIT_USAGE;
    }
    if (cmd.verb == CTL_HELP) {
        fputs(ctl_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (cmd.verb == CTL_VERSION) {
        printf("botpulse-ctl %s\n", BP_VERSION);
        return CTL_EXIT_OK;
    }
    int rc = token(&cmd);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (cmd.verb == CTL_RESTART && !cmd.yes && !confirmed(&cmd)) {
        fprintf(stderr, "botpulse-ctl: not restarted\n");
        return CTL_EXIT_ABORTED;
    }
    const char *user = getenv("USER");
    if (cmd.verb == CTL_SILENCE_ADD && !cmd.by[0] && user && strlen(user) < sizeof(cmd.by) &&
        user[0] &&
        strspn(user, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                     "_.-") == strlen(user))
        snprintf(cmd.by, sizeof(cmd.by), "%s", user); /* who made it, for the record */
    bool body_err;
    char *body = ctl_request_body(&cmd, &body_err);
    if (body_err) {
        fprintf(stderr, "botpulse-ctl: out of memory\n");
        return CTL_EXIT_USAGE;
    }
    if (ctl_request(&cmd, &method, path, sizeof(path)) < 0) {
        fprintf(stderr, "botpulse-ctl: arguments too long\n");
        free(body);
        return CTL_EXIT_USAGE;
    }
    snprintf(url, sizeof(url), "%s%s", cmd.url, path);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "botpulse-ctl: libcurl did not initialise\n");
        free(body);
        return CTL_EXIT_UNREACHABLE;
    }
    struct ctl_answer a;
    int code;
    if (ctl_http_request(method, url, ctl_needs_token(cmd.verb) ? cmd.token : NULL, body,
                         TIMEOUT_MS, &a) < 0) {
        fprintf(stderr, "botpulse-ctl: cannot reach the collector at %s: %s\n", cmd.url,
                a.error[0] ? a.error : "out of memory");
        code = CTL_EXIT_UNREACHABLE;
    } else {
        code = report(&cmd, &a, now);
    }
    free(a.body);
    free(body);
    curl_global_cleanup();
    return code;
}
