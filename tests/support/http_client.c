/* SPDX-License-Identifier: MIT */
/* One HTTP request through libcurl, its answer kept whole (see http_client.h). */
#include "http_client.h"

#include "fixture.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct bpt_http *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->body = b;
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

/* Copies the value of header name (case-insensitive) from line into buf. */
static void header_value(const char *line, size_t n, const char *name, char *buf, size_t size)
{
    size_t k = strlen(name);
    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    const char *v = line + k + 1;
    while (*v == ' ')
        v++;
    size_t len = n - (size_t)(v - line);
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
        len--;
    snprintf(buf, size, "%.*s", (int)len, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct bpt_http *r = ud;
    char retry[32] = "";
    header_value(p, size * n, "Content-Type", r->ctype, sizeof(r->ctype));
    header_value(p, size * n, "Allow", r->allow, sizeof(r->allow));
    header_value(p, size * n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
    header_value(p, size * n, "Retry-After", retry, sizeof(retry));
    if (retry[0])
        r->retry_after = atol(retry);
    return size * n;
}

long bpt_http(struct bpt_env *env, const struct bpt_http_req *rq, struct bpt_http *r)
{
    bpt_http_cleanup(r);
    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
    const char *method = rq->method ? rq->method : "GET";
    char url[1024], auth[300], ct[200];
    snprintf(url, sizeof(url), "%s%s", rq->base, rq->path);
    CURL *c = curl_easy_init();
    bpt_assert(env, c, "curl_easy_init failed");
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    if (rq->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", rq->token);
        h = curl_slist_append(h, auth);
    }
    snprintf(ct, sizeof(ct), "Content-Type: %s", rq->ctype ? rq->ctype : "");
    h = curl_slist_append(h, ct);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        size_t len = rq->body_len ? rq->body_len : (rq->body ? strlen(rq->body) : 0);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 15000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    if (rc != CURLE_OK && rq->no_answer_ok)
        return -1;
    bpt_assert(env, rc == CURLE_OK && r->body, "%s %s: %s", method, url, curl_easy_strerror(rc));
    return r->status;
}

void bpt_http_cleanup(struct bpt_http *r)
{
    free(r->body);
    r->body = NULL;
}

#define RECORDS "http-responses.jsonl"

void bpt_http_record(struct bpt_env *env, const struct bpt_http_req *rq, const struct bpt_http *r)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/" RECORDS, bpt_env_dir(env));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", rq->method ? rq->method : "GET");
    cJSON_AddStringToObject(o, "path", rq->path);
    cJSON_AddNumberToObject(o, "status", (double)r->status);
    cJSON_AddStringToObject(o, "ctype", r->ctype);
    cJSON_AddStringToObject(o, "body", r->body ? r->body : "");
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FILE *f = fopen(path, "a");
    bpt_assert(env, f && line, "cannot record the response in %s", path);
    fprintf(f, "%s\n", line);
    fclose(f);
    free(line);
}

void bpt_openapi_check(struct bpt_env *env)
{
    char records[1024];
    snprintf(records, sizeof(records), "%s/" RECORDS, bpt_env_dir(env));
    char *argv[] = {"/usr/bin/python3", BP_SOURCE_DIR "/tests/support/openapi_check.py",
                    BP_SOURCE_DIR "/docs/openapi.yaml", records, NULL};
    char *out = NULL;
    int rc = bpt_run(env, argv, 60000, &out);
    bpt_assert(env, rc == 0, "responses do not match docs/openapi.yaml (%d):\n%s", rc,
               out ? out : "");
    fprintf(stderr, "%s", out ? out : "");
    free(out);
}
