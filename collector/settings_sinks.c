/* SPDX-License-Identifier: MIT */
/* The alert sinks' configuration: [sink NAME] keys, and [webhook] and [sink NAME] resolved into
 * the sinks the collector runs, with their secrets read from files. */
#include "settings_sinks.h"

#include "msg.h"
#include "secret.h"
#include "sign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One [sink NAME] section as written. */
struct col_sink_section {
    char name[BP_ID_MAX + 1];
    char kind[16];
    char url[512], url_file[256];
    char severity[16];
    char accounts[1024];
    char chat_id[64];
    char routing_key_file[256];
    char from[256], to[512];
    char username[128], password_file[256];
    bool starttls;
    int64_t timeout_ms, retries, backoff_ms, queue_max;
};

#define K(field)                                                                                   \
    offsetof(struct col_sink_section, field), sizeof(((struct col_sink_section *)0)->field)

const struct bp_cfg_key col_sink_keys[] = {
    {"kind", BP_CFG_STR, 0, 0, NULL, K(kind),
     "json (PagerDuty Events v2 and Alertmanager-style receivers), alert, slack, discord, "
     "telegram or email"},
    {"url", BP_CFG_STR, 0, 0, "", K(url),
     "http(s):// to POST to, or smtp(s)://host:port for email (not for a chat webhook: its URL is "
     "a secret, use url_file)"},
    {"url_file", BP_CFG_STR, 0, 0, "", K(url_file), "a file (mode 0600) holding the URL"},
    {"severity", BP_CFG_STR, 0, 0, "warning", K(severity),
     "warning: every alert; critical: critical alerts only"},
    {"accounts", BP_CFG_STR, 0, 0, "", K(accounts),
     "only bots of these accounts (comma-separated); empty: every account"},
    {"chat_id", BP_CFG_STR, 0, 0, "", K(chat_id), "Telegram chat id (kind telegram)"},
    {"routing_key_file", BP_CFG_STR, 0, 0, "", K(routing_key_file),
     "a file (mode 0600) holding PagerDuty's integration key (kind json)"},
    {"from", BP_CFG_STR, 0, 0, "", K(from), "email: the sender, a@b or 'Name <a@b>'"},
    {"to", BP_CFG_STR, 0, 0, "", K(to), "email: the recipients, comma-separated"},
    {"username", BP_CFG_STR, 0, 0, "", K(username), "email: SMTP login"},
    {"password_file", BP_CFG_STR, 0, 0, "", K(password_file),
     "email: a file (mode 0600) holding the SMTP password"},
    {"starttls", BP_CFG_BOOL, 0, 0, "on", K(starttls),
     "email over smtp://: require STARTTLS (off only for a relay on a trusted link)"},
    {"timeout", BP_CFG_MS, 100, 300000, "5s", K(timeout_ms), "per attempt"},
    {"retries", BP_CFG_INT, 0, 100, "5", K(retries), "attempts after a failed one"},
    {"backoff", BP_CFG_MS, 10, 60000, "1s", K(backoff_ms),
     "wait before the first retry; doubles each time, at most 60 s"},
    {"queue_max", BP_CFG_INT, 1, 1000000, "10000", K(queue_max),
     "alerts waiting for delivery; beyond it they are dropped, counted"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

struct col_sink_section *col_sink_section_new(const char *name, char *err, size_t errlen)
{
    if (!bp_id_is_valid(name)) {
        snprintf(err, errlen, "[sink %s]: not a valid name ([A-Za-z0-9_.-], 1..64)", name);
        return NULL;
    }
    struct col_sink_section *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(k->name, sizeof(k->name), "%s", name);
    return k;
}

void col_sink_section_free(struct col_sink_section *k)
{
    free(k);
}

/* What resolving one sink needs to say where an error is. */
struct where {
    const char *path;
    char section[BP_ID_MAX + 16]; /* "[sink pager]" or "[webhook]" */
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct where *w, const char *key,
                                                      const char *fmt, ...)
{
    int n = snprintf(w->err, w->errlen, "%s: %s %s: ", w->path, w->section, key);
    if (n > 0 && (size_t)n < w->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Reads a secret file into out; its errors name the file, never the secret. */
static int read_secret(struct where *w, const char *key, const char *file, char *out, size_t size)
{
    char why[512];
    int rc = bp_secret_read_file(file, out, size, why, sizeof(why));
    return rc < 0 ? (fail(w, key, "%s", why), rc) : 0;
}

static bool has_scheme(const char *url, const char *a, const char *b)
{
    return strncmp(url, a, strlen(a)) == 0 || strncmp(url, b, strlen(b)) == 0;
}

/* The URL, inline or from its file, and its scheme for the kind. */
static int resolve_url(struct where *w, const char *url, const char *url_file, bool inline_ok,
                       struct col_sink_config *c)
{
    if (url[0] && url_file[0])
        return fail(w, "url", "set url or url_file, not both");
    if (!url[0] && !url_file[0])
        return fail(w, "url", "required (or url_file)");
    if (url[0] && !inline_ok)
        return fail(w, "url",
                    "a %s webhook's URL is its password: put it in a file of mode 0600 "
                    "and name it with url_file",
                    col_sink_kind_name(c->kind));
    if (url[0])
        snprintf(c->url, sizeof(c->url), "%s", url);
    else if (read_secret(w, "url_file", url_file, c->url, sizeof(c->url)) < 0)
        return -EINVAL;
    bool email = c->kind == COL_SINK_EMAIL;
    if (email ? !has_scheme(c->url, "smtp://", "smtps://")
              : !has_scheme(c->url, "http://", "https://"))
        return fail(w, url[0] ? "url" : "url_file", "not an %s URL",
                    email ? "smtp:// or smtps://" : "http:// or https://");
    return 0;
}

static int parse_accounts(struct where *w, const char *list, struct col_sink_config *c)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *a = strtok_r(buf, ", \t", &save); a;
         a = strtok_r(NULL, ", \t", &save)) {
        if (!bp_id_is_valid(a))
            return fail(w, "accounts", "'%s' is not an account id", a);
        if (c->naccounts == COL_SINK_ACCOUNTS_MAX)
            return fail(w, "accounts", "more than %d accounts", COL_SINK_ACCOUNTS_MAX);
        snprintf(c->accounts[c->naccounts++], sizeof(c->accounts[0]), "%s", a);
    }
    return 0;
}

/* Email: a sender, recipients, and a password only from a file and only with a login. */
static int resolve_email(struct where *w, const struct col_sink_section *k,
                         struct col_sink_config *c)
{
    if (!k->from[0])
        return fail(w, "from", "required for kind email");
    if (!k->to[0])
        return fail(w, "to", "required for kind email");
    if (strpbrk(k->from, "\r\n") || strpbrk(k->to, "\r\n"))
        return fail(w, "from", "no line breaks");
    if (k->password_file[0] && !k->username[0])
        return fail(w, "password_file", "needs username");
    snprintf(c->from, sizeof(c->from), "%s", k->from);
    snprintf(c->to, sizeof(c->to), "%s", k->to);
    snprintf(c->username, sizeof(c->username), "%s", k->username);
    if (k->password_file[0])
        return read_secret(w, "password_file", k->password_file, c->password, sizeof(c->password));
    return 0;
}

static int resolve_section(struct where *w, const struct col_sink_section *k,
                           struct col_sink_config *c)
{
    snprintf(c->name, sizeof(c->name), "%s", k->name);
    if (col_sink_kind_parse(k->kind, &c->kind) < 0)
        return fail(w, "kind", "'%s' is not json, alert, slack, discord, telegram or email",
                    k->kind);
    if (strcmp(k->severity, "warning") == 0)
        c->min_severity = COL_SEV_WARNING;
    else if (strcmp(k->severity, "critical") == 0)
        c->min_severity = COL_SEV_CRITICAL;
    else
        return fail(w, "severity", "'%s' is not warning or critical", k->severity);
    if (parse_accounts(w, k->accounts, c) < 0 ||
        resolve_url(w, k->url, k->url_file, !col_sink_kind_url_is_secret(c->kind), c) < 0)
        return -EINVAL;
    if (c->kind == COL_SINK_TELEGRAM && !k->chat_id[0])
        return fail(w, "chat_id", "required for kind telegram");
    snprintf(c->chat_id, sizeof(c->chat_id), "%s", k->chat_id);
    if (k->routing_key_file[0] && c->kind != COL_SINK_JSON)
        return fail(w, "routing_key_file", "only for kind json");
    if (k->routing_key_file[0] && read_secret(w, "routing_key_file", k->routing_key_file,
                                              c->routing_key, sizeof(c->routing_key)) < 0)
        return -EINVAL;
    if (c->kind == COL_SINK_EMAIL && resolve_email(w, k, c) < 0)
        return -EINVAL;
    c->starttls = k->starttls;
    c->timeout_ms = k->timeout_ms;
    c->retries = (int)k->retries;
    c->backoff_ms = k->backoff_ms;
    c->queue_max = (size_t)k->queue_max;
    return 0;
}

/* Today's [webhook] section: a catch-all sink called "webhook" (its URL may be inline). */
static int webhook_kind(struct where *w, const struct col_webhook_section *wh,
                        enum col_sink_kind *kind)
{
    if (col_sink_kind_parse(wh->format, kind) < 0 || *kind == COL_SINK_EMAIL)
        return fail(w, "format", "'%s' is not alert, json, slack, discord or telegram", wh->format);
    return 0;
}

static int resolve_webhook(struct where *w, const struct col_webhook_section *wh,
                           struct col_sink_config *c)
{
    snprintf(c->name, sizeof(c->name), "webhook");
    if (webhook_kind(w, wh, &c->kind) < 0)
        return -EINVAL;
    c->min_severity = COL_SEV_WARNING;
    if (resolve_url(w, wh->url, wh->url_file, true, c) < 0)
        return -EINVAL;
    if (c->kind == COL_SINK_TELEGRAM && !wh->chat_id[0])
        return fail(w, "chat_id", "required with format = telegram");
    snprintf(c->chat_id, sizeof(c->chat_id), "%s", wh->chat_id);
    c->timeout_ms = wh->timeout_ms;
    c->retries = (int)wh->retries;
    c->backoff_ms = wh->backoff_ms;
    c->queue_max = (size_t)wh->queue_max;
    return 0;
}

int col_settings_sinks_resolve(const char *path, const struct col_webhook_section *wh,
                               struct col_sink_section *const *sections, size_t nsections,
                               struct col_sink_config **out, size_t *n, char *err, size_t errlen)
{
    struct where w = {.path = path, .err = err, .errlen = errlen};
    bool webhook = wh->url[0] || wh->url_file[0];
    enum col_sink_kind kind;
    *out = NULL;
    *n = 0;
    snprintf(w.section, sizeof(w.section), "[webhook]");
    if (webhook_kind(&w, wh, &kind) < 0)
        return -EINVAL;
    size_t want = nsections + (webhook ? 1 : 0);
    if (want > COL_SINKS_MAX)
        return fail(&w, "url", "more than %d sinks with the [webhook] one", COL_SINKS_MAX);
    if (want == 0)
        return 0;
    struct col_sink_config *v = calloc(want, sizeof(*v));
    if (!v)
        return -ENOMEM;
    *out = v;
    if (webhook && resolve_webhook(&w, wh, &v[(*n)++]) < 0)
        return -EINVAL;
    for (size_t i = 0; i < nsections; i++) {
        const struct col_sink_section *k = sections[i];
        snprintf(w.section, sizeof(w.section), "[sink %s]", k->name);
        if (webhook && strcmp(k->name, "webhook") == 0)
            return fail(&w, "name", "the [webhook] section is the sink called webhook already");
        if (resolve_section(&w, k, &v[(*n)++]) < 0)
            return -EINVAL;
    }
    return 0;
}

void col_settings_sinks_free(struct col_sink_config *sinks, size_t n)
{
    if (sinks) /* they hold secrets: wipe them before the memory goes back */
        bp_sign_wipe(sinks, n * sizeof(*sinks));
    free(sinks);
}
