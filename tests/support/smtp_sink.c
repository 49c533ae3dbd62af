/* SPDX-License-Identifier: MIT */
/* The e-mail tests' SMTP receiver: one session per connection, each message logged. */
#include "smtp_sink.h"

#include "recv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_MESSAGE (256 * 1024)

/* A line reader over the connection. */
struct session {
    int fd;
    char buf[4096];
    size_t len;
    char auth[600];      /* "AUTH user password\n" of the session, or "" */
    char envelope[2048]; /* "FROM ...\nTO ...\n" of the message under way */
    size_t elen;
};

/* The next line without its CRLF into line; false at EOF, error or a line too long. */
static bool read_line(struct session *s, char *line, size_t size)
{
    for (;;) {
        char *nl = memchr(s->buf, '\n', s->len);
        if (nl) {
            size_t n = (size_t)(nl - s->buf);
            if (n >= size)
                return false;
            memcpy(line, s->buf, n);
            line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = '\0';
            memmove(s->buf, nl + 1, s->len - n - 1);
            s->len -= n + 1;
            return true;
        }
        if (s->len == sizeof(s->buf))
            return false;
        ssize_t got = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
        if (got <= 0)
            return false;
        s->len += (size_t)got;
    }
}

static void say(struct session *s, const char *text)
{
    if (write(s->fd, text, strlen(text)) < 0)
        perror("smtp_sink: write");
}

static void note(struct session *s, const char *what, const char *arg)
{
    int n = snprintf(s->envelope + s->elen, sizeof(s->envelope) - s->elen, "%s %s\n", what, arg);
    if (n > 0 && s->elen + (size_t)n < sizeof(s->envelope))
        s->elen += (size_t)n;
}

/* AUTH PLAIN's "\0user\0password", base64: the session's "AUTH user password". */
static void note_auth(struct session *s, const char *b64)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[512];
    size_t n = 0;
    unsigned bits = 0, nbits = 0;
    for (const char *p = b64; *p && *p != '=' && n + 1 < sizeof(out); p++) {
        const char *at = strchr(alphabet, *p);
        if (!at || !*p)
            break;
        bits = (bits << 6) | (unsigned)(at - alphabet);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            char c = (char)((bits >> nbits) & 0xff);
            out[n++] = c ? c : ' ';
        }
    }
    out[n] = '\0';
    snprintf(s->auth, sizeof(s->auth), "AUTH %s\n", out[0] == ' ' ? out + 1 : out);
}

/* DATA: reads the message up to its lone ".", undoing the dot-stuffing; answers and logs it. */
static void data(struct bpt_recv *r, struct session *s)
{
    say(s, "354 end with <CRLF>.<CRLF>\r\n");
    size_t alen = strlen(s->auth), cap = alen + s->elen + MAX_MESSAGE + 2, len = 0;
    char *msg = malloc(cap), line[2048];
    if (!msg)
        return;
    memcpy(msg, s->auth, alen); /* a session's messages share its login */
    memcpy(msg + alen, s->envelope, s->elen);
    len = alen + s->elen;
    msg[len++] = '\n';
    while (read_line(s, line, sizeof(line)) && strcmp(line, ".") != 0) {
        const char *l = line[0] == '.' ? line + 1 : line;
        size_t n = strlen(l);
        if (len + n + 3 < cap) {
            memcpy(msg + len, l, n);
            memcpy(msg + len + n, "\r\n", 2);
            len += n + 2;
        }
    }
    msg[len] = '\0';
    int code = bpt_recv_answer(r);
    bpt_recv_add(r, msg, code);
    char reply[64];
    snprintf(reply, sizeof(reply), "%d %s\r\n", code, code == 250 ? "queued" : "scripted refusal");
    say(s, reply);
    s->elen = 0;
}

static void serve(struct bpt_recv *r, int fd)
{
    struct session s = {.fd = fd};
    char line[2048];
    say(&s, "220 localhost ESMTP bpt smtp_sink\r\n");
    while (read_line(&s, line, sizeof(line))) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            say(&s, "250-localhost\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n");
        } else if (strncasecmp(line, "HELO", 4) == 0 || strncasecmp(line, "NOOP", 4) == 0) {
            say(&s, "250 ok\r\n");
        } else if (strncasecmp(line, "AUTH PLAIN ", 11) == 0) {
            note_auth(&s, line + 11);
            say(&s, "235 authenticated\r\n");
        } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
            say(&s, "334 \r\n");
            if (!read_line(&s, line, sizeof(line)))
                return;
            note_auth(&s, line);
            say(&s, "235 authenticated\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            note(&s, "FROM", line + 10);
            say(&s, "250 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            note(&s, "TO", line + 8);
            say(&s, "250 ok\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            data(r, &s);
        } else if (strncasecmp(line, "RSET", 4) == 0) {
            s.elen = 0;
            say(&s, "250 ok\r\n");
        } else if (strncasecmp(line, "QUIT", 4) == 0) {
            say(&s, "221 bye\r\n");
            return;
        } else {
            say(&s, "502 not implemented\r\n");
        }
    }
}

struct bpt_smtp_sink *bpt_smtp_sink_start(const int *codes, int n)
{
    return (struct bpt_smtp_sink *)bpt_recv_start(codes, n, serve);
}

int bpt_smtp_sink_port(struct bpt_smtp_sink *s)
{
    return bpt_recv_port((struct bpt_recv *)s);
}

int bpt_smtp_sink_count(struct bpt_smtp_sink *s)
{
    return bpt_recv_count((struct bpt_recv *)s);
}

char *bpt_smtp_sink_message(struct bpt_smtp_sink *s, int i)
{
    return bpt_recv_item((struct bpt_recv *)s, i);
}

char *bpt_smtp_sink_wait(struct bpt_smtp_sink *s, const char *const *needles, int answered_ok,
                         int64_t timeout_ms)
{
    return bpt_recv_wait((struct bpt_recv *)s, needles, answered_ok, 250, 250, timeout_ms);
}

void bpt_smtp_sink_stop(struct bpt_smtp_sink *s)
{
    bpt_recv_stop((struct bpt_recv *)s);
}
