/* HTTP/1.1 server connections: TLS or plain reads and writes on the loop, llhttp parsing,
 * one request in flight per connection (the parser is paused while a request is handled),
 * complete and chunked responses. Each connection has one deadline timer whose meaning
 * follows its phase (idle, head, body, closing); the head and body deadlines run from the
 * start of the head or body and are never pushed back by arriving bytes, so a client that
 * trickles a byte at a time cannot hold a connection. The parser's callbacks, which build the
 * request, are in httpd_req.c. */
#include "core/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpd-int.h"
#include "core/log.h"

#define IDLE_MS (5 * 60 * 1000) /* keep-alive connection waiting for its next request */
#define FIRST_IDLE_MS 30000     /* new connection: TLS handshake and first request byte */
#define DRAIN_MS 5000 /* longest time a refused upload is read and dropped */
#define FLUSH_MS 60000 /* longest time a finished response may wait for a non-reading client */
#define STREAM_BACKLOG_MAX (32u << 20)
#define READ_BUDGET 256 /* reads per readiness event, so one fast client cannot starve others */
#define ACCEPT_BUDGET 256

static void conn_close(struct http_conn *c);
static void conn_flush(struct http_conn *c);
static void conn_parse(struct http_conn *c);

/* Arms the connection's single deadline for a phase. */
void httpd__conn_deadline(struct http_conn *c, enum conn_phase ph, int64_t ms)
{
    c->phase = ph;
    if (ms > 0)
        loop_timer_start(c->h->loop, &c->idle, ms);
    else
        loop_timer_stop(c->h->loop, &c->idle);
}

/* At most one warning a second for conditions a flood repeats (cap reached, EMFILE). */
static int warn_ok(struct httpd *h)
{
    int64_t now = loop_now_ms(h->loop);

    if (now - h->last_warn_ms < 1000)
        return 0;
    h->last_warn_ms = now;
    return 1;
}

/* ---- output ---- */

static void out_append(struct http_conn *c, const char *p, size_t n)
{
    if (c->closed)
        return;
    if (buf_append(&c->out, p, n) < 0) {
        conn_close(c);
        return;
    }
    c->h->out_total += n;
}

static const char *status_text(int s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void head_write(struct http_conn *c, int status, const char *ctype, const char *extra,
                       long long clen)
{
    char head[1024];
    int n;

    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %.64s\r\nContent-Type: %.200s\r\nCache-Control: no-cache, private\r\n"
                 "%s",
                 status, status_text(status), ctype ? ctype : "application/json",
                 c->keep_alive ? "" : "Connection: close\r\n");
    out_append(c, head, (size_t)n);
    if (extra) /* whole header lines, each ending in CRLF: never cut */
        out_append(c, extra, strlen(extra));
    if (clen >= 0)
        n = snprintf(head, sizeof head, "Content-Length: %lld\r\n\r\n", clen);
    else
        n = snprintf(head, sizeof head, "Transfer-Encoding: chunked\r\n\r\n");
    out_append(c, head, (size_t)n);
}

static void req_finish(struct http_conn *c)
{
    c->resp_done = 1;
    /* A client that stops reading must not hold the answer (or a dropped watch's backlog)
     * forever. */
    if (!c->closed)
        httpd__conn_deadline(c, PH_CLOSING, FLUSH_MS);
    conn_flush(c);
}

void http_respond(struct http_req *req, int status, const char *ctype, const char *body,
                  size_t len, const char *extra)
{
    struct http_conn *c = req->conn;

    if (req->done)
        return;
    req->done = 1;
    req->status = status;
    head_write(c, status, ctype, extra, (long long)len);
    out_append(c, body, len);
    req_finish(c);
}

void http_stream_start(struct http_req *req, int status, const char *ctype)
{
    struct http_conn *c = req->conn;

    req->streaming = 1;
    req->status = status;
    loop_timer_stop(c->h->loop, &c->idle);
    head_write(c, status, ctype, NULL, -1);
    conn_flush(c);
}

int http_stream_write(struct http_req *req, const char *data, size_t len)
{
    struct http_conn *c = req->conn;
    char hdr[32];
    int n;

    if (c->closed || req->done)
        return -EPIPE;
    if (len == 0)
        return 0;
    if (c->out.len > STREAM_BACKLOG_MAX) {
        log_warn("httpd", "msg=\"closing slow stream\" peer=%s backlog=%zu", c->peer, c->out.len);
        conn_close(c);
        return -E_TOO_LARGE;
    }
    n = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
    out_append(c, hdr, (size_t)n);
    out_append(c, data, len);
    out_append(c, "\r\n", 2);
    conn_flush(c);
    return c->closed ? -EPIPE : 0;
}

size_t http_stream_backlog(const struct http_req *req)
{
    return req->conn->out.len;
}

void http_stream_end(struct http_req *req)
{
    struct http_conn *c = req->conn;

    if (req->done)
        return;
    req->done = 1;
    out_append(c, "0\r\n\r\n", 5);
    req_finish(c);
}

/* ---- upgraded connections ---- */

void http_upgrade(struct http_req *req, const char *extra, http_raw_fn *fn, void *ctx)
{
    struct http_conn *c = req->conn;
    static const char head[] = "HTTP/1.1 101 Switching Protocols\r\n";

    if (req->done || c->closed)
        return;
    req->streaming = 1;
    req->status = 101;
    c->keep_alive = 0;
    c->raw_fn = fn;
    c->raw_ctx = ctx;
    loop_timer_stop(c->h->loop, &c->idle);
    out_append(c, head, sizeof head - 1);
    if (extra)
        out_append(c, extra, strlen(extra));
    out_append(c, "\r\n", 2);
    conn_flush(c);
}

int http_raw_write(struct http_req *req, const void *data, size_t len)
{
    struct http_conn *c = req->conn;

    if (c->closed || req->done)
        return -EPIPE;
    if (c->out.len > STREAM_BACKLOG_MAX) {
        log_warn("httpd", "msg=\"closing slow upgraded connection\" peer=%s backlog=%zu", c->peer,
                 c->out.len);
        conn_close(c);
        return -E_TOO_LARGE;
    }
    out_append(c, data, len);
    conn_flush(c);
    return c->closed ? -EPIPE : 0;
}

void http_raw_end(struct http_req *req)
{
    struct http_conn *c = req->conn;

    if (req->done)
        return;
    c->raw_ended = 1;
    c->raw_fn = NULL;
    req->done = 1;
    req_finish(c);
}

/* ---- connection I/O ---- */

static void conn_update_events(struct http_conn *c, int want_write)
{
    unsigned ev = c->raw_paused ? 0 : EPOLLIN | EPOLLRDHUP;

    if (want_write || c->out.len)
        ev |= EPOLLOUT;
    loop_io_modify(c->h->loop, &c->io, ev);
}

/* Called once the response is fully queued and written: next request or close. */
static void conn_after_response(struct http_conn *c)
{
    if (c->draining) {
        httpd__conn_deadline(c, PH_CLOSING, DRAIN_MS);
        return;
    }
    if (!c->keep_alive) {
        conn_close(c);
        return;
    }
    httpd__req_free(c->req);
    c->req = NULL;
    c->dispatched = 0;
    c->resp_done = 0;
    httpd__conn_deadline(c, PH_IDLE, IDLE_MS);
    llhttp_resume(&c->parser);
    conn_parse(c);
}

static void conn_flush(struct http_conn *c)
{
    while (!c->closed && c->out.len) {
        ssize_t n;

        if (c->ssl) {
            int r;

            ERR_clear_error();
            r = SSL_write(c->ssl, c->out.data, (int)(c->out.len > (1 << 20) ? (1 << 20) : c->out.len));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    conn_update_events(c, 1);
                    return;
                }
                conn_close(c);
                return;
            }
            n = r;
        } else {
            n = send(c->io.fd, c->out.data, c->out.len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    conn_update_events(c, 1);
                    return;
                }
                conn_close(c);
                return;
            }
        }
        buf_consume(&c->out, (size_t)n);
        c->h->out_total -= (size_t)n;
    }
    if (c->closed)
        return;
    conn_update_events(c, 0);
    if (c->resp_done && !c->out.len && !c->in_dispatch)
        conn_after_response(c);
}

static void conn_dispatch(struct http_conn *c)
{
    struct http_req *r = &c->req->pub;

    loop_timer_stop(c->h->loop, &c->idle);
    c->in_dispatch = 1;
    c->h->fn(r, c->h->ctx);
    c->in_dispatch = 0;
    if (!c->closed && c->raw_fn && c->in.len) {
        /* Bytes the client sent right behind the upgrade request's head. */
        struct buf early = c->in;

        buf_init(&c->in, early.max);
        c->raw_fn(r, early.data, early.len, c->raw_ctx);
        buf_release(&early);
    }
    if (!c->closed && c->resp_done && !c->out.len)
        conn_after_response(c);
}

static const char *bad_reason(int status)
{
    switch (status) {
    case 408: return "Timeout";
    case 413: return "RequestEntityTooLarge";
    case 431: return "RequestHeaderFieldsTooLarge";
    default: return "BadRequest";
    }
}

/* Answers a request the server will not handle with a Status (msg is our own text, no
 * quoting needed) and closes the connection once it is sent. */
static void conn_bad(struct http_conn *c, int status, const char *msg)
{
    char body[512];
    int n;

    n = snprintf(body, sizeof body,
                 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                 "\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
                 msg, bad_reason(status), status);
    c->keep_alive = 0;
    /* Closing with unread upload bytes makes the kernel send RST, and the client would
     * never see this answer: read and drop the rest for a bounded time instead. A client
     * that was too slow (408) gets no such grace. */
    c->draining = status != 408;
    head_write(c, status, "application/json", NULL, n);
    out_append(c, body, (size_t)n);
    c->dispatched = 1;
    c->resp_done = 1;
    httpd__conn_deadline(c, PH_CLOSING, DRAIN_MS);
    conn_flush(c);
}

/* Runs the head check inside llhttp's headers-complete callback. The answer is queued but
 * not flushed here (in_dispatch holds completion back) since the parser is mid-call. */
int httpd__head_refused(struct http_conn *c)
{
    struct http_req *r = &c->req->pub;
    int rc;

    c->keep_alive = 0; /* a refusal says Connection: close */
    c->in_dispatch = 1;
    rc = c->h->head_fn(r, c->h->head_ctx);
    c->in_dispatch = 0;
    if (!rc)
        return 0;
    if (!r->done)
        http_respond(r, 500, "application/json", "{}", 2, NULL);
    c->refused = 1;
    c->draining = 1;
    return 1;
}

/* The parser stopped with an error: answer it with the right Status. */
static void conn_parse_error(struct http_conn *c)
{
    char msg[160];

    c->in.len = 0; /* the rest of this input is not a request we will read */
    if (c->refused) {
        c->dispatched = 1;
        conn_flush(c);
    } else if (c->head_too_large == 2) {
        snprintf(msg, sizeof msg, "request head has more than the limit of %d header fields",
                 HTTPD_MAX_HEADERS);
        conn_bad(c, 431, msg);
    } else if (c->head_too_large) {
        snprintf(msg, sizeof msg, "request head larger than the limit of %zu bytes",
                 c->h->lim.max_head);
        conn_bad(c, 431, msg);
    } else if (c->body_too_large) {
        snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes",
                 c->h->lim.max_body);
        conn_bad(c, 413, msg);
    } else {
        conn_bad(c, 400, "malformed HTTP request");
    }
}

static void conn_parse(struct http_conn *c)
{
    while (!c->closed && !c->dispatched && c->in.len) {
        llhttp_errno_t e = llhttp_execute(&c->parser, c->in.data, c->in.len);
        size_t used = c->in.len;

        if (e == HPE_PAUSED) {
            used = (size_t)(llhttp_get_error_pos(&c->parser) - c->in.data);
            buf_consume(&c->in, used);
            conn_dispatch(c);
            return;
        }
        if (e != HPE_OK) {
            conn_parse_error(c);
            return;
        }
        buf_consume(&c->in, used);
    }
}

static void conn_read(struct http_conn *c)
{
    char tmp[16384];

    for (int budget = READ_BUDGET; budget > 0; budget--) {
        ssize_t n;

        if (c->ssl) {
            int r;

            ERR_clear_error();
            r = SSL_read(c->ssl, tmp, sizeof tmp);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_READ)
                    break;
                if (e == SSL_ERROR_WANT_WRITE) {
                    conn_update_events(c, 1);
                    break;
                }
                conn_close(c);
                return;
            }
            n = r;
        } else {
            n = recv(c->io.fd, tmp, sizeof tmp, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n <= 0) {
                conn_close(c);
                return;
            }
        }
        if (c->draining || c->raw_ended)
            continue;
        if (c->raw_fn) {
            c->raw_fn(&c->req->pub, tmp, (size_t)n, c->raw_ctx);
            if (c->closed || c->raw_paused)
                return;
            continue;
        }
        /* Only bytes pipelined behind a request in flight wait here; their cap (one head
         * and a little) closes a client that floods while its handler works. */
        if (buf_append(&c->in, tmp, (size_t)n) < 0) {
            conn_close(c);
            return;
        }
        /* Parse as we go: the head and body land in their own capped buffers, the parser
         * refuses oversize with 431/413 early, and nothing piles up unparsed. Reading does
         * not move the deadline: it runs from the start of the head or body. */
        if (!c->dispatched) {
            conn_parse(c);
            if (c->closed)
                return;
        }
    }
}

void http_raw_pause(struct http_req *req, int on)
{
    struct http_conn *c = req->conn;

    if (c->closed || c->raw_paused == !!on)
        return;
    c->raw_paused = !!on;
    conn_update_events(c, 0);
    /* TLS may hold decrypted bytes that no readiness event will announce. */
    if (!on && c->ssl && SSL_pending(c->ssl) > 0 && !c->in_dispatch)
        conn_read(c);
}

static void on_conn_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct http_conn *c = ctx;

    if (!c->handshake_done && c->ssl) {
        int r = SSL_do_handshake(c->ssl);

        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);

            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                conn_update_events(c, e == SSL_ERROR_WANT_WRITE);
                return;
            }
            conn_close(c);
            return;
        }
        c->handshake_done = 1;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) && !c->raw_paused)
        conn_read(c);
    else if (events & (EPOLLHUP | EPOLLERR))
        conn_close(c);
    if (!c->closed && (events & EPOLLOUT))
        conn_flush(c);
}

static void on_deadline(struct loop_timer *t, void *ctx)
{
    struct http_conn *c = ctx;
    char msg[128];

    switch (c->phase) {
    case PH_HEAD:
        snprintf(msg, sizeof msg, "request head not received within %d ms",
                 c->h->lim.head_timeout_ms);
        conn_bad(c, 408, msg);
        break;
    case PH_BODY:
        snprintf(msg, sizeof msg, "request body not received within %d ms",
                 c->h->lim.body_timeout_ms);
        conn_bad(c, 408, msg);
        break;
    case PH_HANDLER:
        break;
    default:
        conn_close(c);
    }
}

static void conn_free(void *ctx)
{
    struct http_conn *c = ctx;

    if (c->req && c->req->pub.on_close)
        c->req->pub.on_close(&c->req->pub, c->req->pub.on_close_ctx);
    httpd__req_free(c->req);
    if (c->ssl)
        SSL_free(c->ssl);
    close(c->io.fd);
    buf_release(&c->in);
    buf_release(&c->out);
    buf_release(&c->url);
    buf_release(&c->hname);
    buf_release(&c->hval);
    free(c);
}

static void conn_close(struct http_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    c->h->nconns--;
    c->h->out_total -= c->out.len;
    loop_io_stop(c->h->loop, &c->io);
    loop_timer_stop(c->h->loop, &c->idle);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->req)
        c->req->pub.done = 1;
    loop_defer(c->h->loop, conn_free, c);
}

static void peer_format(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, n, "%s:%d", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, n, "[%s]:%d", ip, ntohs(a->sin6_port));
    }
}

static void conn_new(struct httpd *h, int fd, const struct sockaddr_storage *ss)
{
    struct http_conn *c = xcalloc(1, sizeof *c);
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->h = h;
    buf_init(&c->in, h->lim.max_head + (64u << 10));
    buf_init(&c->out, STREAM_BACKLOG_MAX + (64u << 20));
    buf_init(&c->url, h->lim.max_head);
    buf_init(&c->hname, h->lim.max_head);
    buf_init(&c->hval, h->lim.max_head);
    peer_format(ss, c->peer, sizeof c->peer);
    llhttp_init(&c->parser, HTTP_REQUEST, &h->settings);
    c->parser.data = c;
    if (h->tls) {
        c->ssl = SSL_new(h->tls);
        SSL_set_fd(c->ssl, fd);
        SSL_set_accept_state(c->ssl);
    } else {
        c->handshake_done = 1;
    }
    loop_timer_init(&c->idle, on_deadline, c);
    httpd__conn_deadline(c, PH_IDLE, FIRST_IDLE_MS);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (loop_io_start(h->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP, on_conn_io, c) < 0) {
        c->io.fd = fd;
        conn_close(c);
    }
}

static void on_accept_resume(struct loop_timer *t, void *ctx)
{
    struct httpd *h = ctx;

    loop_io_modify(h->loop, &h->lio, EPOLLIN);
}

/* Out of descriptors (or kernel memory): the pending connection stays queued and the
 * listener stays readable, so accepting again at once would spin. Stop polling it for a
 * while; connections that close meanwhile free descriptors. */
static void accept_backoff(struct httpd *h, int e)
{
    if (warn_ok(h))
        log_warn("httpd", "msg=\"cannot accept, pausing the listener\" err=\"%s\" ms=%d conns=%d",
                 strerror(e), HTTPD_ACCEPT_BACKOFF_MS, h->nconns);
    loop_io_modify(h->loop, &h->lio, 0);
    loop_timer_start(h->loop, &h->accept_backoff, HTTPD_ACCEPT_BACKOFF_MS);
}

static void on_accept(struct loop_io *io, unsigned events, void *ctx)
{
    struct httpd *h = ctx;

    for (int i = 0; i < ACCEPT_BUDGET; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(h->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_backoff(h, errno);
            return;
        }
        if (h->nconns >= h->lim.max_conns) {
            /* Over the cap: close at once; the connections already open are unaffected. */
            if (warn_ok(h))
                log_warn("httpd", "msg=\"connection limit reached, closing new connections\" "
                                  "max=%d", h->lim.max_conns);
            close(fd);
            continue;
        }
        conn_new(h, fd, &ss);
    }
}

struct httpd *httpd_new(struct loop *loop, SSL_CTX *tls, http_handler_fn *fn, void *ctx)
{
    struct httpd *h = xcalloc(1, sizeof *h);

    h->loop = loop;
    h->tls = tls;
    h->fn = fn;
    h->ctx = ctx;
    h->lfd = -1;
    httpd_limits_default(&h->lim);
    loop_timer_init(&h->accept_backoff, on_accept_resume, h);
    httpd__parser_settings(&h->settings);
    return h;
}

void httpd_set_max_body(struct httpd *h, size_t max)
{
    h->lim.max_body = max;
}

void httpd_limits_default(struct httpd_limits *l)
{
    l->max_conns = HTTPD_MAX_CONNS;
    l->max_head = HTTPD_MAX_HEAD;
    l->head_timeout_ms = HTTPD_HEAD_TIMEOUT_MS;
    l->body_timeout_ms = HTTPD_BODY_TIMEOUT_MS;
    l->max_body = HTTPD_MAX_BODY;
}

void httpd_set_limits(struct httpd *h, const struct httpd_limits *l)
{
    if (l->max_conns > 0)
        h->lim.max_conns = l->max_conns;
    if (l->max_head > 0)
        h->lim.max_head = l->max_head;
    if (l->head_timeout_ms > 0)
        h->lim.head_timeout_ms = l->head_timeout_ms;
    if (l->body_timeout_ms > 0)
        h->lim.body_timeout_ms = l->body_timeout_ms;
    if (l->max_body > 0)
        h->lim.max_body = l->max_body;
}

void httpd_set_head_check(struct httpd *h, http_head_fn *fn, void *ctx)
{
    h->head_fn = fn;
    h->head_ctx = ctx;
}

size_t httpd_out_total(const struct httpd *h)
{
    return h->out_total;
}

int httpd_conns(const struct httpd *h)
{
    return h->nconns;
}

int httpd_listen(struct httpd *h, const char *host, int port, struct err *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    int one = 1, fd;

    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return err_set(err, -EINVAL, "bad listen address %s", host);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return err_set(err, -EINVAL, "bad listen address %s", host);
        sl = sizeof *a;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(err, -errno, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0) {
        int e = errno;

        close(fd);
        return err_set(err, -e, "listen on %s:%d: %s", host, port, strerror(e));
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    h->lfd = fd;
    return loop_io_start(h->loop, &h->lio, fd, EPOLLIN, on_accept, h);
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_free(struct httpd *h)
{
    if (!h)
        return;
    loop_timer_stop(h->loop, &h->accept_backoff);
    if (h->lfd >= 0) {
        loop_io_stop(h->loop, &h->lio);
        close(h->lfd);
    }
    while (h->conns)
        conn_close(h->conns);
    free(h);
}
