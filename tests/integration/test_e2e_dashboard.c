/* SPDX-License-Identifier: MIT */
/* End to end, the dashboard in a real browser: the whole stack, then headless Chromium driven
 * through chromedriver's WebDriver HTTP API (libcurl). The page shows the fleet; a bot killed
 * with SIGKILL turns red without a reload (a marker set in the page survives); the bot page
 * draws its timeline from the database; the re-check button works with the token and reports
 * a wrong one. A screenshot goes to the test's directory (dashboard.png), and also to
 * $BP_DASHBOARD_PNG when set (that is how docs/dashboard.png is made). */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "dash-token"
#define CHROMEDRIVER "/usr/bin/chromedriver"
#define CHROMIUM "/usr/bin/chromium"

struct t {
    struct bpt_env *env;
    struct bpt_stack s;
    int wd_port;
    char session[128];
};

/* One WebDriver call; returns the response's "value" (caller deletes the returned root through
 * *root), or NULL when the driver does not answer or answers an error. */
static cJSON *wd(struct t *t, const char *method, const char *path, const char *body, cJSON **root)
{
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", t->wd_port);
    struct bpt_http r = {0};
    struct bpt_http_req rq = {.method = method,
                              .base = base,
                              .path = path,
                              .ctype = "application/json",
                              .body = body,
                              .timeout_ms = 90000,
                              .no_answer_ok = true};
    *root = NULL;
    long status = bpt_http(t->env, &rq, &r);
    if (status >= 0)
        *root = cJSON_Parse(r.body);
    if (status >= 0 && status != 200)
        fprintf(stderr, "[dashboard] %s %s -> %ld %.300s\n", method, path, status, r.body);
    bpt_http_cleanup(&r);
    return status == 200 ? cJSON_GetObjectItem(*root, "value") : NULL;
}

/* Runs script in the page; returns its result as a malloc'd string ("" for non-strings). */
static char *js(struct t *t, const char *script)
{
    char path[256];
    cJSON *root, *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "script", script);
    cJSON_AddArrayToObject(req, "args");
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    snprintf(path, sizeof(path), "/session/%s/execute/sync", t->session);
    cJSON *v = wd(t, "POST", path, body, &root);
    free(body);
    char *out = strdup(cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(root);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls script until its result contains every needle (NULL-terminated) or timeout_ms. */
static bool js_wait(struct t *t, const char *script, const char *const *needles, int timeout_ms,
                    char **last)
{
    for (int waited = 0;; waited += 250) {
        char *r = js(t, script);
        bool all = true;
        for (int i = 0; needles[i]; i++)
            all = all && strstr(r, needles[i]);
        if (all || waited >= timeout_ms) {
            if (last)
                *last = r;
            else
                free(r);
            return all;
        }
        free(r);
        sleep_ms(250);
    }
}

static void start_browser(struct t *t)
{
    char port_arg[32], caps[1024];
    t->wd_port = bpt_free_port();
    snprintf(port_arg, sizeof(port_arg), "--port=%d", t->wd_port);
    char *argv[] = {CHROMEDRIVER, port_arg, NULL};
    bpt_assert(t->env, access(CHROMEDRIVER, X_OK) == 0 && access(CHROMIUM, X_OK) == 0,
               "chromium and chromium-driver are not installed (scripts/deps.sh installs them)");
    bpt_assert(t->env, bpt_spawn(t->env, "chromedriver", argv) > 0, "chromedriver did not start");
    cJSON *root = NULL;
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) {
        cJSON *v = wd(t, "GET", "/status", NULL, &root);
        ready = cJSON_IsTrue(cJSON_GetObjectItem(v, "ready"));
        cJSON_Delete(root);
        if (!ready)
            sleep_ms(100);
    }
    bpt_assert(t->env, ready, "chromedriver not ready after 10 s");
    /* --no-sandbox: the tests may run as root; the profile lives in the test's dir */
    snprintf(caps, sizeof(caps),
             "{\"capabilities\":{\"alwaysMatch\":{\"goog:chromeOptions\":{\"binary\":\"%s\","
             "\"args\":[\"--headless=new\",\"--no-sandbox\",\"--disable-gpu\","
             "\"--disable-dev-shm-usage\",\"--no-first-run\",\"--window-size=1360,860\","
             "\"--user-data-dir=%s/chromium-profile\"]}}}}",
             CHROMIUM, bpt_env_dir(t->env));
    cJSON *v = wd(t, "POST", "/session", caps, &root);
    const cJSON *sid = cJSON_GetObjectItem(v, "sessionId");
    bpt_assert(t->env, cJSON_IsString(sid), "no WebDriver session (Chromium did not start)");
    snprintf(t->session, sizeof(t->session), "%s", sid->valuestring);
    cJSON_Delete(root);
}

static void stop_browser(struct t *t)
{
    char path[256];
    cJSON *root;
    snprintf(path, sizeof(path), "/session/%s", t->session);
    wd(t, "DELETE", path, NULL, &root);
    cJSON_Delete(root);
}

static void navigate(struct t *t, const char *url)
{
    char path[256], body[512];
    cJSON *root;
    snprintf(path, sizeof(path), "/session/%s/url", t->session);
    snprintf(body, sizeof(body), "{\"url\":\"%s\"}", url);
    cJSON *v = wd(t, "POST", path, body, &root);
    bool ok = root && cJSON_IsNull(v);
    cJSON_Delete(root);
    bpt_assert(t->env, ok, "the browser could not load %s", url);
}

static int b64val(int c)
{
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

/* Decodes base64 text into out (at least strlen(in) * 3 / 4 bytes); returns the length. */
static size_t b64decode(const char *in, unsigned char *out)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in; in++) {
        int v = b64val(*in);
        if (v < 0)
            continue; /* '=' and line breaks */
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static void save_png(struct t *t, const unsigned char *png, size_t n, const char *path)
{
    FILE *f = fopen(path, "wb");
    bpt_assert(t->env, f && fwrite(png, 1, n, f) == n, "cannot write %s", path);
    fclose(f);
    fprintf(stderr, "[dashboard] screenshot: %s (%zu bytes)\n", path, n);
}

static void screenshot(struct t *t, const char *name, bool publish)
{
    char path[600];
    cJSON *root;
    snprintf(path, sizeof(path), "/session/%s/screenshot", t->session);
    cJSON *v = wd(t, "GET", path, NULL, &root);
    bpt_assert(t->env, cJSON_IsString(v), "no screenshot");
    unsigned char *png = malloc(strlen(v->valuestring));
    bpt_assert(t->env, png, "out of memory");
    size_t n = b64decode(v->valuestring, png);
    cJSON_Delete(root);
    bpt_assert(t->env, n > 8 && memcmp(png, "\x89PNG", 4) == 0, "the screenshot is not a PNG");
    snprintf(path, sizeof(path), "%s/%s", bpt_env_dir(t->env), name);
    save_png(t, png, n, path);
    save_png(t, png, n, name); /* the test's working directory (build/tests) keeps it */
    const char *extra = getenv("BP_DASHBOARD_PNG");
    if (publish && extra && *extra)
        save_png(t, png, n, extra);
    free(png);
}

#define ROWS_JS                                                                                    \
    "return [...document.querySelectorAll('#bots tbody tr')]"                                      \
    ".map(r => r.dataset.bot + '=' + r.dataset.status).join(',');"

static void test_dashboard_shows_fleet_and_a_killed_bot_turns_red(void **state)
{
    struct t t = {.env = *state};
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2", "bot-3"},
                               .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t.env, bpt_stack_start(t.env, &o, &t.s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(t.env, BPT_ROOT "/status/#");
    bpt_assert(t.env, rec, "recorder did not connect");
    for (int i = 0; i < 3; i++)
        bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, o.bots[i], "healthy", 15000) == 0,
                   "%s never became healthy", o.bots[i]);
    start_browser(&t);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", t.s.http_port);
    navigate(&t, url);

    char *last = NULL;
    const char *fleet[] = {"bot-1=healthy", "bot-2=healthy", "bot-3=healthy", NULL};
    bpt_assert(t.env, js_wait(&t, ROWS_JS, fleet, 15000, &last),
               "the dashboard does not show the healthy fleet: '%s'", last);
    free(last);
    const char *count3[] = {"3/3", NULL};
    bpt_assert(t.env,
               js_wait(&t,
                       "return document.querySelector('.count.st-healthy b').textContent + '/' +"
                       " document.querySelector('.count b').textContent;",
                       count3, 5000, NULL),
               "the fleet counts do not say 3 healthy of 3");
    const char *accounts[] = {"acct-0", "acct-1", NULL};
    bpt_assert(t.env,
               js_wait(&t, "return document.querySelector('#by-account').textContent;", accounts,
                       5000, NULL),
               "the per-account counts are missing");
    free(js(&t, "window.bpMarker = 'same-page'; return '';"));

    bpt_assert(t.env, bpt_signal(t.env, "bot-bot-2", SIGKILL) == 0, "could not kill bot-2");
    const char *red[] = {"bot-2=stopped", "bot-1=healthy", "bot-3=healthy", NULL};
    bpt_assert(t.env, js_wait(&t, ROWS_JS, red, 15000, &last),
               "bot-2's row did not turn stopped: '%s'", last);
    free(last);
    char *marker = js(&t, "return String(window.bpMarker);");
    bpt_assert(t.env, strcmp(marker, "same-page") == 0, "the page was reloaded ('%s')", marker);
    free(marker);
    char *bg = js(&t, "return getComputedStyle(document.querySelector("
                      "'#bots tr[data-bot=\"bot-2\"] .badge')).backgroundColor;");
    bpt_assert(t.env, strcmp(bg, "rgb(198, 40, 40)") == 0, "bot-2's badge is not red: %s", bg);
    free(bg);
    const char *alert[] = {"bot-2", "critical", NULL};
    bpt_assert(t.env,
               js_wait(&t, "return document.querySelector('#alerts tbody').textContent;", alert,
                       5000, NULL),
               "bot-2's alert is not in the open alerts");
    sleep_ms(1600); /* one more poll, so the "ago" columns are fresh in the picture */
    screenshot(&t, "dashboard.png", true);

    /* the filter is the collector's (GET /bots?q=…, paged): only bot-3, one of one */
    free(js(&t, "const f = document.querySelector('#filter'); f.value = 'bot-3';"
                "f.dispatchEvent(new Event('input')); return '';"));
    const char *one[] = {"rows=bot-3 shown=1–1 of 1", NULL};
    const char *shown_js = "return 'rows=' + [...document.querySelectorAll('#bots tr[data-bot]')]"
                           ".map(r => r.dataset.bot).join(',') + ' shown=' +"
                           " document.querySelector('#bots-shown').textContent;";
    bpt_assert(t.env, js_wait(&t, shown_js, one, 10000, &last),
               "filtering for bot-3 does not show it alone: '%s'", last);
    free(last);
    free(js(&t, "const f = document.querySelector('#filter'); f.value = '';"
                "f.dispatchEvent(new Event('input')); return '';"));
    const char *all[] = {"shown=1–3 of 3", NULL};
    bpt_assert(t.env, js_wait(&t, shown_js, all, 10000, &last),
               "clearing the filter does not bring the fleet back: '%s'", last);
    free(last);

    /* the bot page: timeline and transitions from the database, same page still */
    free(js(&t, "location.hash = '#/bot/bot-2'; return '';"));
    const char *timeline[] = {"st-healthy", "st-stopped", NULL};
    bpt_assert(t.env,
               js_wait(&t,
                       "return [...document.querySelectorAll('#timeline div')]"
                       ".map(d => d.className).join(',');",
                       timeline, 10000, &last),
               "bot-2's timeline does not show healthy then stopped: '%s'", last);
    free(last);
    /* its charts: six inline SVGs from GET /bots/{id}/samples, the trade rate drawn as a line */
    const char *charts[] = {"svgs=6", "trades-line=yes", NULL};
    bpt_assert(t.env,
               js_wait(&t,
                       "return 'svgs=' + document.querySelectorAll('#charts svg').length +"
                       " ' trades-line=' + (document.querySelector("
                       "'#charts [data-chart=\"trades per 10 min\"] path') ? 'yes' : 'no');",
                       charts, 10000, &last),
               "bot-2's charts did not render: '%s'", last);
    free(last);
    screenshot(&t, "dashboard-bot.png", false);

    /* re-check: with the token it succeeds; a wrong one is reported and forgotten */
    free(js(&t, "window.confirm = () => true; sessionStorage.setItem('botpulse.token', '" TOKEN
                "'); document.querySelector('#bot-recheck').click(); return '';"));
    sleep_ms(1000);
    char *err = js(&t, "const e = document.querySelector('#error');"
                       "return e.hidden ? 'ok' : e.textContent;");
    bpt_assert(t.env, strcmp(err, "ok") == 0, "re-check with the token failed: %s", err);
    free(err);
    free(js(&t, "sessionStorage.setItem('botpulse.token', 'wrong');"
                "document.querySelector('#bot-recheck').click(); return '';"));
    const char *denied[] = {"401", "|gone", NULL};
    bpt_assert(t.env,
               js_wait(&t,
                       "return document.querySelector('#error').textContent + '|' +"
                       " (sessionStorage.getItem('botpulse.token') ? 'kept' : 'gone');",
                       denied, 5000, &last),
               "a wrong token was not reported: '%s'", last);
    free(last);

    /* restart: confirmed and sent; this stack has no signing key, so the 409 is shown */
    free(js(&t, "sessionStorage.setItem('botpulse.token', '" TOKEN "');"
                "document.querySelector('#bot-restart').click(); return '';"));
    const char *no_key[] = {"409", "recovery is not configured", NULL};
    bpt_assert(
        t.env,
        js_wait(&t, "return document.querySelector('#error').textContent;", no_key, 5000, &last),
        "the restart button's 409 was not shown: '%s'", last);
    free(last);

    /* the intended-state toggle: bot-2 (dead) intended stopped, shown on its card, which
     * also shows its agent's restart count */
    free(js(&t, "document.querySelector('#bot-intend').click(); return '';"));
    const char *intended[] = {"stopped (by operator)", "Intend running", "since its agent started",
                              NULL};
    bpt_assert(t.env,
               js_wait(&t,
                       "return document.querySelector('#bot-card').textContent + '|' +"
                       " document.querySelector('#bot-intend').textContent;",
                       intended, 5000, &last),
               "the intended toggle did not take: '%s'", last);
    free(last);

    stop_browser(&t);
    bpt_rec_free(rec);
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
}

static int setup(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct bpt_env *env = bpt_env_new("dashboard");
    *state = env;
    return env ? 0 : -1;
}

static int teardown(void **state)
{
    bpt_env_free(*state);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_shows_fleet_and_a_killed_bot_turns_red,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
