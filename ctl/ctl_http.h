/* SPDX-License-Identifier: MIT */
/* botpulse-ctl's one HTTP request to the collector (libcurl). */
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include <stddef.h>

struct ctl_answer {
    long status;
    char *body; /* malloc'd, NUL-terminated; NULL when empty */
    size_t len;
    char error[256]; /* why there is no answer */
};

/* Sends method url (a POST with body as JSON, or empty when body is NULL), with
 * "Authorization: Bearer token" when token is not empty, waiting at most timeout_ms. 0 with *a
 * filled, or -ECONNREFUSED (no answer: a->error says why) or -ENOMEM. Free a->body. */
int ctl_http_request(const char *method, const char *url, const char *token, const char *body,
                     long timeout_ms, struct ctl_answer *a);

#endif
