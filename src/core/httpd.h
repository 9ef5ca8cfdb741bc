/* HTTP/1.1 server on the loop, over TLS (OpenSSL) or plain TCP, with llhttp parsing.
 * One request at a time per connection; a handler answers at once (http_respond) or streams
 * (http_stream_*) until it ends the stream or the client goes away. Request bodies and stream
 * backlogs have caps; hitting one closes the connection, never the server. */
#ifndef KROLL_CORE_HTTPD_H
#define KROLL_CORE_HTTPD_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/loop.h"

struct httpd;
struct http_conn;

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
};

typedef void http_handler_fn(struct http_req *req, void *ctx);

struct httpd *httpd_new(struct loop *loop, SSL_CTX *tls, http_handler_fn *fn, void *ctx);
/* Listens on host:port (IPv4 or IPv6 literal); port 0 picks one, see httpd_port(). */
int httpd_listen(struct httpd *h, const char *host, int port, struct err *err);
int httpd_port(const struct httpd *h);
/* Closes the listener and every connection (streams get their on_close). */
void httpd_free(struct httpd *h);
/* Maximum request body accepted (default 3 MiB, like kube-apiserver). */
void httpd_set_max_body(struct httpd *h, size_t max);

/* Header value (case-insensitive name) or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Decoded query parameter value, or NULL when absent. The returned string lives as long as
 * the request. */
const char *http_req_query(struct http_req *req, const char *key);

/* Complete response with Content-Length. extra_headers is NULL or "Name: v\r\n..." lines. */
void http_respond(struct http_req *req, int status, const char *ctype, const char *body,
                  size_t len, const char *extra_headers);
/* Starts a chunked streaming response. */
void http_stream_start(struct http_req *req, int status, const char *ctype);
/* Sends one chunk; returns -E_TOO_LARGE when the client is too far behind (the connection
 * is then closed and on_close runs later). */
int http_stream_write(struct http_req *req, const char *data, size_t len);
/* Ends the stream (last chunk); the connection goes back to keep-alive. */
void http_stream_end(struct http_req *req);

#endif
