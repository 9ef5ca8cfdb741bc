/* HTTP/1.1 server on the loop, over TLS (OpenSSL) or plain TCP, with llhttp parsing.
 * One request at a time per connection; a handler answers at once (http_respond) or streams
 * (http_stream_*) until it ends the stream or the client goes away. Everything a client can
 * make the server hold is bounded (struct httpd_limits): connections, request-head bytes,
 * the time to send a head and a body, body bytes and stream backlogs; hitting a limit answers
 * the client (a Status where a response is possible) or closes its connection, never the
 * server. */
#ifndef KROLL_CORE_HTTPD_H
#define KROLL_CORE_HTTPD_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/loop.h"

struct httpd;
struct http_conn;

/* Defaults of struct httpd_limits (docs/security.md lists them with their flags). */
#define HTTPD_MAX_CONNS 1024                 /* open connections; more are closed at once */
#define HTTPD_MAX_HEAD (128u << 10)          /* request line + headers, bytes: else 431 */
#define HTTPD_MAX_HEADERS 200                /* header fields per request: else 431 */
#define HTTPD_HEAD_TIMEOUT_MS 10000          /* whole head, from its first byte: else 408 */
#define HTTPD_BODY_TIMEOUT_MS 60000          /* whole body, from the end of the head: 408 */
#define HTTPD_MAX_BODY (3u << 20)            /* like kube-apiserver: else 413 */
#define HTTPD_ACCEPT_BACKOFF_MS 250          /* listener rests this long after EMFILE */

struct httpd_limits {
    int max_conns;
    size_t max_head;
    int head_timeout_ms;
    int body_timeout_ms;
    size_t max_body;
};

struct http_hdr {
    char *name;
    char *value;
};

struct http_req {
    struct http_conn *conn;
    char method[16];
    char *target;  /* raw request target */
    char *path;    /* percent-decoded path, no query */
    char *query;   /* raw query string or "" */
    struct http_hdr *hdrs;
    int nhdrs;
    struct buf body;
    char *peer; /* "ip:port" */
    /* Set by handlers that stream: called once when the connection closes. */
    void (*on_close)(struct http_req *req, void *ctx);
    void *on_close_ctx;
    int streaming;
    int done;
    int status; /* the answer's HTTP status once one was started, else 0 */
};

typedef void http_handler_fn(struct http_req *req, void *ctx);
/* Called once the request head is complete, before any body byte is read. Returns 0 to go
 * on; otherwise it has answered (http_respond), the body is never buffered (what arrives is
 * read and dropped for a bounded time, so the client sees the answer) and the connection
 * closes. The handler runs only for requests this accepted. */
typedef int http_head_fn(struct http_req *req, void *ctx);

struct httpd *httpd_new(struct loop *loop, SSL_CTX *tls, http_handler_fn *fn, void *ctx);
/* Listens on host:port (IPv4 or IPv6 literal); port 0 picks one, see httpd_port(). */
int httpd_listen(struct httpd *h, const char *host, int port, struct err *err);
int httpd_port(const struct httpd *h);
/* Closes the listener and every connection (streams get their on_close). */
void httpd_free(struct httpd *h);
/* Maximum request body accepted (default 3 MiB, like kube-apiserver). */
void httpd_set_max_body(struct httpd *h, size_t max);
/* Fills l with the HTTPD_* defaults. */
void httpd_limits_default(struct httpd_limits *l);
/* Replaces the limits (fields <= 0 keep their current value); affects new connections. */
void httpd_set_limits(struct httpd *h, const struct httpd_limits *l);
void httpd_set_head_check(struct httpd *h, http_head_fn *fn, void *ctx);
/* Bytes queued for sending, over all connections (stream backlogs and responses). */
size_t httpd_out_total(const struct httpd *h);
/* Open connections. */
int httpd_conns(const struct httpd *h);

/* Header value (case-insensitive name) or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Decoded query parameter value, or NULL when absent. The returned string lives as long as
 * the request. */
const char *http_req_query(struct http_req *req, const char *key);
/* Every value of a repeated query parameter, in order, into out (at most max; they live as
 * long as the request). Returns the count, or -1 when there are more than max. */
int http_req_query_all(struct http_req *req, const char *key, const char **out, int max);

/* Complete response with Content-Length. extra_headers is NULL or "Name: v\r\n..." lines. */
void http_respond(struct http_req *req, int status, const char *ctype, const char *body,
                  size_t len, const char *extra_headers);
/* Answers with a Kubernetes Status (kind Status, status Failure) for err: its code gives the
 * HTTP status and reason (errors.def), its message, and its details and causes when set.
 * extra_headers as for http_respond. */
void http_respond_err(struct http_req *req, const struct err *err, const char *extra_headers);
/* The same for a code and a printf-style message (cut at 2 KiB). */
void http_respond_errf(struct http_req *req, int code, const char *extra_headers, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* Starts a chunked streaming response. */
void http_stream_start(struct http_req *req, int status, const char *ctype);
/* Sends one chunk; returns -E_TOO_LARGE when the client is too far behind (the connection
 * is then closed and on_close runs later). */
int http_stream_write(struct http_req *req, const char *data, size_t len);
/* Bytes of this request's connection not yet taken by the client. */
size_t http_stream_backlog(const struct http_req *req);
/* Ends the stream (last chunk); the connection goes back to keep-alive. */
void http_stream_end(struct http_req *req);

/* ---- upgraded connections (WebSocket, SPDY): raw bytes both ways after a 101 ---- */

/* Called with each run of bytes the client sends after the upgrade; len 0 never happens (the
 * client going away runs the request's on_close). */
typedef void http_raw_fn(struct http_req *req, const char *data, size_t len, void *ctx);
/* Answers 101 Switching Protocols with extra_headers ("Name: v\r\n" lines, Upgrade and
 * Connection included by the caller) and hands the connection to fn: no deadline, never back
 * to keep-alive. Bytes the client sent behind the head reach fn once the handler returns. */
void http_upgrade(struct http_req *req, const char *extra_headers, http_raw_fn *fn, void *ctx);
/* Queues bytes for the client; -EPIPE when the connection is gone, -E_TOO_LARGE when the
 * client is too far behind (the connection is then closed). */
int http_raw_write(struct http_req *req, const void *data, size_t len);
/* Stops (on != 0) or resumes reading from the client, for callers whose sink is full. */
void http_raw_pause(struct http_req *req, int on);
/* Sends what is queued, then closes the connection; later input is dropped. */
void http_raw_end(struct http_req *req);

#endif
