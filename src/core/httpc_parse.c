/* The HTTP client's one response parser (httpc.h): the head (status line and headers, within
 * HTTPC_MAX_HEAD), then the body decoded as it is read: Content-Length, chunked (extensions
 * ignored, trailers read and dropped, each framing line within HTTPC_MAX_CHUNK_LINE) or until
 * the server closes. Every byte comes through httpc__recv, which bounds each wait. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/httpc-int.h"
#include "core/log.h"

#define MAX_INTERIM 4 /* 1xx answers skipped before the final one */

/* The length of the head at the start of p (through its empty line), or 0 when not all there.
 * Lines end in LF, with or without a CR before it. */
static size_t head_end(const char *p, size_t len)
{
    const char *s = p, *e = p + len, *nl;

    while ((nl = memchr(s, '\n', (size_t)(e - s)))) {
        size_t l = (size_t)(nl - s);

        if (s > p && (l == 0 || (l == 1 && s[0] == '\r')))
            return (size_t)(nl + 1 - p);
        s = nl + 1;
    }
    return 0;
}

static const char *trim(char *s)
{
    char *e = s + strlen(s);

    while (*s == ' ' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = 0;
    return s;
}

/* A Content-Length value: digits only, at most 18 of them; -1 otherwise. */
static long long parse_length(const char *v)
{
    long long x = 0;
    size_t n = strlen(v);

    if (!n || n > 18 || strspn(v, "0123456789") != n)
        return -1;
    for (; *v; v++)
        x = x * 10 + (*v - '0');
    return x;
}

/* Splits the head into NUL-terminated lines, reads the status line and the body's framing. */
static int parse_head(struct httpc_conn *c, const char *method)
{
    char *p = c->head, *end = c->head + c->head_len, *line;
    long long clen = -1;
    int chunked = 0, te = 0;

    if (memchr(p, 0, c->head_len))
        return httpc__fail(c, "malformed HTTP response");
    for (char *q = p; q < end; q++)
        if (*q == '\r' || *q == '\n')
            *q = 0;
    if (strncmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' || p[8] != ' ' ||
        strspn(p + 9, "0123456789") != 3 || (p[12] && p[12] != ' '))
        return httpc__fail(c, "malformed HTTP response");
    c->status = atoi(p + 9);
    if (c->status < 100)
        return httpc__fail(c, "malformed HTTP response");
    for (line = p + strlen(p) + 1; line < end; line += strlen(line) + 1) {
        char *colon = strchr(line, ':');

        if (!colon)
            continue; /* an empty line, or one the client has no use for */
        *colon = 0;
        if (!strcasecmp(line, "content-length")) {
            long long v = parse_length(trim(colon + 1));

            if (v < 0 || (clen >= 0 && v != clen))
                return httpc__fail(c, "malformed HTTP response: bad Content-Length");
            clen = v;
        } else if (!strcasecmp(line, "transfer-encoding")) {
            const char *v = trim(colon + 1);
            size_t vl = strlen(v);

            te = 1;
            chunked = vl >= 7 && !strcasecmp(v + vl - 7, "chunked");
        }
        *colon = ':';
    }
    c->left = 0;
    if (!strcmp(method, "HEAD") || c->status == 204 || c->status == 304)
        c->mode = HTTPC_BODY_LENGTH;
    else if (chunked)
        c->mode = HTTPC_BODY_CHUNKED;
    else if (te || clen < 0) /* a coding other than chunked ends with the connection */
        c->mode = HTTPC_BODY_CLOSE;
    else
        c->mode = HTTPC_BODY_LENGTH, c->left = clen;
    return 0;
}

int httpc__head(struct httpc_conn *c, const char *method)
{
    for (int interim = 0;; interim++) {
        size_t hl;
        ssize_t r;

        while (!(hl = head_end(c->in + c->off, c->len - c->off))) {
            if (c->off) {
                memmove(c->in, c->in + c->off, c->len - c->off);
                c->len -= c->off, c->off = 0;
            }
            if (c->len == sizeof c->in)
                return httpc__fail(c, "response headers larger than %u bytes", HTTPC_MAX_HEAD);
            if ((r = httpc__recv(c, c->in + c->len, sizeof c->in - c->len)) < 0)
                return -1;
            if (r == 0)
                return httpc__fail(c, "malformed HTTP response: %s",
                                   c->len ? "cut short" : "the server closed the connection");
            c->len += (size_t)r;
        }
        free(c->head);
        c->head = xmalloc(hl + 1);
        memcpy(c->head, c->in + c->off, hl);
        c->head[hl] = 0;
        c->head_len = hl;
        c->off += hl;
        if (parse_head(c, method) < 0)
            return -1;
        /* 101 is not expected (no Upgrade is sent) and not skipped: the caller sees it. */
        if (c->status >= 200 || c->status == 101)
            break;
        if (interim == MAX_INTERIM)
            return httpc__fail(c, "malformed HTTP response: too many 1xx answers");
    }
    c->in_body = 1;
    return 0;
}

const char *httpc_header(const struct httpc_conn *c, const char *name)
{
    const char *end = c->head + c->head_len, *line;
    size_t nl = strlen(name);

    if (!c->head)
        return NULL;
    for (line = c->head + strlen(c->head) + 1; line < end; line += strlen(line) + 1) {
        const char *v = line + nl;

        if (strncasecmp(line, name, nl) || *v != ':')
            continue;
        for (v++; *v == ' ' || *v == '\t'; v++)
            ;
        return v;
    }
    return NULL;
}

/* Up to n buffered (or newly read) bytes: > 0, 0 at the end of the stream, -1 on an error. */
static ssize_t raw(struct httpc_conn *c, char *out, size_t n)
{
    if (c->off == c->len) {
        ssize_t r;

        c->off = c->len = 0;
        if ((r = httpc__recv(c, c->in, sizeof c->in)) <= 0)
            return r;
        c->len = (size_t)r;
    }
    if (n > c->len - c->off)
        n = c->len - c->off;
    memcpy(out, c->in + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

/* One line of chunk framing, shorter than cap bytes: 0 with *line (in the buffer, valid until
 * the next read; CR and LF not counted in *len), 1 at the end of the stream, -1 on an error. */
static int line_get(struct httpc_conn *c, size_t cap, char **line, size_t *len)
{
    for (;;) {
        char *s = c->in + c->off, *nl = memchr(s, '\n', c->len - c->off);
        ssize_t r;

        if (nl) {
            *line = s;
            *len = (size_t)(nl - s);
            c->off += *len + 1;
            if (*len && s[*len - 1] == '\r')
                (*len)--;
            return 0;
        }
        if (c->len - c->off >= cap)
            return httpc__fail(c, "malformed chunked response body: line too long");
        if (c->off) {
            memmove(c->in, s, c->len - c->off);
            c->len -= c->off, c->off = 0;
        }
        if ((r = httpc__recv(c, c->in + c->len, sizeof c->in - c->len)) < 0)
            return -1;
        if (r == 0)
            return 1;
        c->len += (size_t)r;
    }
}

/* A chunk-size line: hex digits (at most 15), optional blanks, then nothing or ";extensions".
 * The size, or -1. */
static long long chunk_size(const char *s, size_t len)
{
    long long v = 0;
    size_t i = 0;

    for (; i < len && i < 16; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        if (i < 15) /* a 16th digit is refused below, before it could overflow */
            v = v * 16 + d;
    }
    if (i == 0 || i > 15)
        return -1;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == len || s[i] == ';' ? v : -1;
}

/* After the last chunk: trailer lines up to an empty one (or the end of the stream). */
static int trailers(struct httpc_conn *c)
{
    size_t total = 0, len;
    char *line;
    int rc;

    while ((rc = line_get(c, HTTPC_MAX_CHUNK_LINE, &line, &len)) == 0 && len) {
        if ((total += len) > HTTPC_MAX_HEAD)
            return httpc__fail(c, "response trailers larger than %u bytes", HTTPC_MAX_HEAD);
    }
    return rc < 0 ? -1 : 0;
}

static ssize_t chunked_read(struct httpc_conn *c, char *out, size_t n)
{
    char *line;
    size_t len;
    ssize_t r;

    while (c->left == 0) {
        int rc;

        if (c->chunk_crlf) { /* the CRLF that ends a chunk's data */
            if ((rc = line_get(c, 2, &line, &len)) < 0)
                return -1;
            if (rc == 1 || len)
                return httpc__fail(c, "malformed chunked response body");
            c->chunk_crlf = 0;
        }
        if ((rc = line_get(c, HTTPC_MAX_CHUNK_LINE, &line, &len)) < 0)
            return -1;
        if (rc == 1)
            return httpc__fail(c, "unexpected EOF reading the response body");
        if ((c->left = chunk_size(line, len)) < 0)
            return httpc__fail(c, "malformed chunked response body");
        if (c->left == 0) {
            if (trailers(c) < 0)
                return -1;
            c->done = 1;
            return 0;
        }
        c->chunk_crlf = 1;
    }
    if ((r = raw(c, out, n < (size_t)c->left ? n : (size_t)c->left)) == 0)
        return httpc__fail(c, "unexpected EOF reading the response body");
    if (r > 0)
        c->left -= r;
    return r;
}

ssize_t httpc_read(struct httpc_conn *c, void *buf, size_t n)
{
    ssize_t r;

    if (c->failed)
        return -1;
    if (c->done || !n)
        return 0;
    if (c->stream)
        c->deadline = httpc__now_ms() + c->timeout_ms;
    switch (c->mode) {
    case HTTPC_BODY_CHUNKED:
        return chunked_read(c, buf, n);
    case HTTPC_BODY_LENGTH:
        if (c->left == 0) {
            c->done = 1;
            return 0;
        }
        if ((r = raw(c, buf, n < (size_t)c->left ? n : (size_t)c->left)) == 0)
            return httpc__fail(c, "unexpected EOF reading the response body");
        if (r > 0)
            c->left -= r;
        return r;
    case HTTPC_BODY_CLOSE:
        if ((r = raw(c, buf, n)) == 0)
            c->done = 1;
        return r;
    }
    return -1;
}

int httpc_read_all(struct httpc_conn *c, struct buf *out)
{
    char tmp[16384];
    ssize_t r;

    while ((r = httpc_read(c, tmp, sizeof tmp)) > 0) {
        if (buf_append(out, tmp, (size_t)r) < 0)
            return httpc__fail(c, "response larger than %zu bytes", out->max);
    }
    return r < 0 ? -1 : 0;
}

int httpc__fail(struct httpc_conn *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->failed = 1;
    return -1;
}

const char *httpc_error(const struct httpc_conn *c)
{
    return c->err;
}

int httpc_status(const struct httpc_conn *c)
{
    return c->status;
}
