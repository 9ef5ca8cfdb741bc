/* HTTP/1.1 heads for the proxy: collects a request or response head from llhttp callbacks
 * under byte and count caps, classifies framing and Connection tokens, refuses smuggling shapes,
 * and writes the rewritten heads (hop-by-hop headers removed, X-Forwarded-For appended). */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "proxy/proxy-int.h"

void px_head_init(struct px_head *hd, size_t max_bytes, int max_headers)
{
    memset(hd, 0, sizeof *hd);
    buf_init(&hd->raw, max_bytes);
    hd->max = max_headers;
}

void px_head_reset(struct px_head *hd)
{
    hd->raw.len = 0;
    hd->n = 0;
    hd->url_off = hd->url_len = 0;
    hd->in_value = 0;
    hd->cl_count = hd->te_count = hd->host_count = 0;
    hd->flags = 0;
    hd->bad = NULL;
}

void px_head_release(struct px_head *hd)
{
    buf_release(&hd->raw);
    free(hd->h);
    hd->h = NULL;
    hd->cap = hd->n = 0;
}

int px_head_url(struct px_head *hd, const char *at, size_t n)
{
    if (!hd->url_len)
        hd->url_off = (uint32_t)hd->raw.len;
    if (buf_append(&hd->raw, at, n) < 0)
        return -1;
    hd->url_len += (uint32_t)n;
    return 0;
}

int px_head_field(struct px_head *hd, const char *at, size_t n)
{
    struct px_hdr *h;

    if (hd->in_value || hd->n == 0) { /* a new header starts */
        if (hd->n == hd->max)
            return -1;
        if (hd->n == hd->cap) {
            hd->cap = hd->cap ? hd->cap * 2 : 16;
            hd->h = xrealloc(hd->h, (size_t)hd->cap * sizeof *hd->h);
        }
        hd->h[hd->n++] = (struct px_hdr){.name_off = (uint32_t)hd->raw.len};
        hd->in_value = 0;
    }
    h = &hd->h[hd->n - 1];
    if (buf_append(&hd->raw, at, n) < 0)
        return -1;
    h->name_len += (uint32_t)n;
    return 0;
}

int px_head_value(struct px_head *hd, const char *at, size_t n)
{
    struct px_hdr *h;

    if (!hd->n)
        return -1;
    h = &hd->h[hd->n - 1];
    if (!hd->in_value) {
        h->val_off = (uint32_t)hd->raw.len;
        hd->in_value = 1;
    }
    if (buf_append(&hd->raw, at, n) < 0)
        return -1;
    h->val_len += (uint32_t)n;
    return 0;
}

static int name_eq(const struct px_head *hd, const struct px_hdr *h, const char *name)
{
    size_t n = strlen(name);

    return h->name_len == n && !strncasecmp(hd->raw.data + h->name_off, name, n);
}

int px_head_is(const struct px_head *hd, int i, const char *name)
{
    return name_eq(hd, &hd->h[i], name);
}

/* Calls fn for every comma-separated token of header i's value (trimmed, non-empty). */
static void each_token(const struct px_head *hd, const struct px_hdr *h,
                       void (*fn)(const char *tok, size_t n, void *ctx), void *ctx)
{
    const char *p = hd->raw.data + h->val_off, *end = p + h->val_len;

    while (p < end) {
        const char *s, *e;

        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        s = p;
        while (p < end && *p != ',')
            p++;
        e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s)
            fn(s, (size_t)(e - s), ctx);
    }
}

static int tok_eq(const char *tok, size_t n, const char *word)
{
    return strlen(word) == n && !strncasecmp(tok, word, n);
}

static void on_conn_token(const char *tok, size_t n, void *ctx)
{
    struct px_head *hd = ctx;

    if (tok_eq(tok, n, "close"))
        hd->flags |= PX_H_CONN_CLOSE;
    else if (tok_eq(tok, n, "keep-alive"))
        hd->flags |= PX_H_CONN_KEEPALIVE;
    else if (tok_eq(tok, n, "upgrade"))
        hd->flags |= PX_H_CONN_UPGRADE;
    else
        hd->flags |= PX_H_CONN_OTHER;
}

static void on_te_token(const char *tok, size_t n, void *ctx)
{
    struct px_head *hd = ctx;

    hd->te_count++;
    if (tok_eq(tok, n, "chunked"))
        hd->flags |= PX_H_CHUNKED;
}

int px_method_is_http(int method)
{
    /* llhttp also accepts RTSP and ICE methods (SETUP, PLAY, SOURCE...) in request mode; only
     * HTTP's own are forwarded, so the upstream head is always an HTTP/1.1 request. */
    switch (method) {
#define XX(num, name, string) case HTTP_##name:
        HTTP_METHOD_MAP(XX)
#undef XX
        return 1;
    default:
        return 0;
    }
}

void px_head_mark_bad(struct px_head *hd, const char *why)
{
    if (!hd->bad)
        hd->bad = why;
    hd->flags |= PX_H_BAD;
}

/* Values must not carry CR, LF or NUL: a folded (obs-fold) or split header is refused, since
 * two parsers may disagree on where it ends. */
static int value_clean(const struct px_head *hd, const struct px_hdr *h)
{
    const char *v = hd->raw.data + h->val_off;

    for (uint32_t i = 0; i < h->val_len; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == 0)
            return 0;
    return 1;
}

void px_head_finish(struct px_head *hd, int is_request)
{
    int te_headers = 0;

    for (int i = 0; i < hd->n; i++) {
        struct px_hdr *h = &hd->h[i];

        if (memchr(hd->raw.data + h->name_off, ' ', h->name_len) ||
            memchr(hd->raw.data + h->name_off, '\t', h->name_len))
            px_head_mark_bad(hd, "white space in a header name");
        if (!value_clean(hd, h))
            px_head_mark_bad(hd, "folded or malformed header value");
        if (name_eq(hd, h, "connection") || name_eq(hd, h, "proxy-connection"))
            each_token(hd, h, on_conn_token, hd);
        else if (name_eq(hd, h, "transfer-encoding")) {
            int before = hd->te_count;

            te_headers++;
            each_token(hd, h, on_te_token, hd);
            if (hd->te_count == before)
                hd->te_count++; /* an empty Transfer-Encoding still counts */
        } else if (name_eq(hd, h, "content-length"))
            hd->cl_count++;
        else if (name_eq(hd, h, "upgrade"))
            hd->flags |= PX_H_UPGRADE;
        else if (name_eq(hd, h, "host"))
            hd->host_count++;
    }
    if (!is_request)
        return;
    if (hd->cl_count && hd->te_count)
        px_head_mark_bad(hd, "both Content-Length and Transfer-Encoding");
    if (hd->cl_count > 1)
        px_head_mark_bad(hd, "duplicate Content-Length");
    if (hd->te_count && (hd->te_count != 1 || te_headers != 1 || !(hd->flags & PX_H_CHUNKED)))
        px_head_mark_bad(hd, "Transfer-Encoding other than chunked");
    if (hd->host_count > 1)
        px_head_mark_bad(hd, "duplicate Host");
}

struct hop_ctx {
    const struct px_head *hd;
    const struct px_hdr *h;
    int found;
};

static void on_named_token(const char *tok, size_t n, void *ctx)
{
    struct hop_ctx *hc = ctx;

    if (hc->h->name_len == n && !strncasecmp(hc->hd->raw.data + hc->h->name_off, tok, n))
        hc->found = 1;
}

int px_head_hop_by_hop(const struct px_head *hd, int i, int keep_upgrade)
{
    static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "te",
                                      "trailer", "transfer-encoding", "upgrade"};
    const struct px_hdr *h = &hd->h[i];
    struct hop_ctx hc = {hd, h, 0};

    for (size_t k = 0; k < sizeof hop / sizeof hop[0]; k++)
        if (name_eq(hd, h, hop[k]))
            return !(keep_upgrade && k == 6);
    if (!(hd->flags & PX_H_CONN_OTHER))
        return 0; /* no Connection token names another header */
    for (int k = 0; k < hd->n && !hc.found; k++)
        if (name_eq(hd, &hd->h[k], "connection"))
            each_token(hd, &hd->h[k], on_named_token, &hc);
    return hc.found;
}

static int append_str(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

static int append_header(struct buf *out, const struct px_head *hd, const struct px_hdr *h)
{
    if (buf_append(out, hd->raw.data + h->name_off, h->name_len) < 0 ||
        buf_append(out, ": ", 2) < 0 ||
        buf_append(out, hd->raw.data + h->val_off, h->val_len) < 0 ||
        buf_append(out, "\r\n", 2) < 0)
        return -E_TOO_LARGE;
    return 0;
}

int px_head_build_request(const struct px_head *hd, const struct px_req_info *ri, struct buf *out)
{
    if (append_str(out, ri->method) < 0 || buf_append(out, " ", 1) < 0 ||
        buf_append(out, hd->raw.data + hd->url_off, hd->url_len) < 0 ||
        buf_append(out, " HTTP/1.1\r\n", 11) < 0)
        return -E_TOO_LARGE;
    for (int i = 0; i < hd->n; i++) {
        const struct px_hdr *h = &hd->h[i];

        if (px_head_hop_by_hop(hd, i, ri->upgrade))
            continue;
        if (name_eq(hd, h, "x-forwarded-for"))
            continue; /* written below as one line */
        if (append_header(out, hd, h) < 0)
            return -E_TOO_LARGE;
    }
    /* Several X-Forwarded-For lines are one list: join them, then add the client. */
    if (buf_append(out, "X-Forwarded-For: ", 17) < 0)
        return -E_TOO_LARGE;
    for (int i = 0; i < hd->n; i++) {
        const struct px_hdr *h = &hd->h[i];

        if (!name_eq(hd, h, "x-forwarded-for"))
            continue;
        if (buf_append(out, hd->raw.data + h->val_off, h->val_len) < 0 ||
            buf_append(out, ", ", 2) < 0)
            return -E_TOO_LARGE;
    }
    if (append_str(out, ri->client_ip) < 0 || buf_append(out, "\r\n", 2) < 0)
        return -E_TOO_LARGE;
    if (!hd->host_count &&
        (buf_append(out, "Host: ", 6) < 0 || append_str(out, ri->host_fallback) < 0 ||
         buf_append(out, "\r\n", 2) < 0))
        return -E_TOO_LARGE;
    if (hd->flags & PX_H_CHUNKED && buf_append(out, "Transfer-Encoding: chunked\r\n", 28) < 0)
        return -E_TOO_LARGE;
    if (ri->upgrade && buf_append(out, "Connection: upgrade\r\n", 21) < 0)
        return -E_TOO_LARGE;
    if (buf_append(out, "\r\n", 2) < 0)
        return -E_TOO_LARGE;
    return 0;
}

int px_head_build_response(const struct px_head *hd, int status, int framing, int keep_alive,
                           int client_minor, int upgrade, struct buf *out)
{
    char line[16] = "HTTP/1.1 ";
    size_t n = 9;

    /* No printf on the per-request path (it was a few percent of a worker's CPU). llhttp
     * gives a status of at most 3 digits; anything else takes the slow path. */
    if (status >= 100 && status <= 999) {
        line[n++] = (char)('0' + status / 100);
        line[n++] = (char)('0' + status / 10 % 10);
        line[n++] = (char)('0' + status % 10);
        line[n++] = ' ';
        if (buf_append(out, line, n) < 0)
            return -E_TOO_LARGE;
    } else if (buf_appendf(out, "HTTP/1.1 %d ", status) < 0) {
        return -E_TOO_LARGE;
    }
    if (buf_append(out, hd->raw.data + hd->url_off, hd->url_len) < 0 ||
        buf_append(out, "\r\n", 2) < 0)
        return -E_TOO_LARGE;
    for (int i = 0; i < hd->n; i++) {
        if (px_head_hop_by_hop(hd, i, upgrade))
            continue;
        /* Our framing replaces the upstream's when the body is re-framed. */
        if (framing != PX_FRAME_LENGTH && framing != PX_FRAME_NONE &&
            px_head_is(hd, i, "content-length"))
            continue;
        if (append_header(out, hd, &hd->h[i]) < 0)
            return -E_TOO_LARGE;
    }
    if (framing == PX_FRAME_CHUNKED && buf_append(out, "Transfer-Encoding: chunked\r\n", 28) < 0)
        return -E_TOO_LARGE;
    if (upgrade) {
        if (buf_append(out, "Connection: upgrade\r\n", 21) < 0)
            return -E_TOO_LARGE;
    } else if (status >= 200 && !keep_alive) {
        if (buf_append(out, "Connection: close\r\n", 19) < 0)
            return -E_TOO_LARGE;
    } else if (status >= 200 && client_minor == 0) {
        if (buf_append(out, "Connection: keep-alive\r\n", 24) < 0)
            return -E_TOO_LARGE;
    }
    if (buf_append(out, "\r\n", 2) < 0)
        return -E_TOO_LARGE;
    return 0;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

void px_http_error(struct buf *out, int status, int close)
{
    const char *reason = reason_of(status);
    char body[128];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);

    buf_appendf(out,
                "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
                status, reason, n, close ? "Connection: close\r\n" : "", body);
}
