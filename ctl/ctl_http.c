/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's HTTP client: one libcurl request, the body collected in memory. */
#include "ctl_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64 * 1024 * 1024)

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct ctl_answer *a = ud;
    size_t k = size * n;
    if (a->len + k > BODY_MAX)
        return 0;
    char *b = realloc(a->body, a->len + k + 1);
    if (!b)
        return 0;
    memcpy(b + a->len, p, k);
    a->body = b;
    a->len += k;
    a->body[a->len] = '\0';
    return k;
}

int ctl_http_request(const char *method, const char *url, const char *token, const char *body,
                     long timeout_ms, struct ctl_answer *a)
{
    memset(a, 0, sizeof(*a));
    char auth[300];
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (token && *token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
        free(a->body);
        a->body = NULL;
        return -ECONNREFUSED;
    }
    return 0;
}
