/* A small blocking HTTP/1.1 client for worker threads (never the loop's thread): one request
 * per connection to an http:// or https:// URL (certificates verified against the system's CAs,
 * a CA file or in-memory PEM, and the host name, unless insecure). Two ways to use it:
 * httpc_do() performs a request and keeps the whole answer (a deadline over the exchange, a cap
 * on the body); httpc_open() + httpc_read() stream a body (watch streams), each read bounded by
 * the request's timeout. Both share one response parser (Content-Length, chunked, or until
 * close). Users: the AnalysisRun providers (web, prometheus), the CLI's API client
 * (cli/apiclient.c) and the client's HTTPS transport (client/kc_https.c: the Service proxy). */
#ifndef KROLL_CORE_HTTPC_H
#define KROLL_CORE_HTTPC_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

#define HTTPC_MAX_BODY (1u << 20)   /* bytes of a response body httpc_do keeps; more: error */
#define HTTPC_MAX_HEAD (32u * 1024) /* bytes of status line and headers (and of trailers) */
#define HTTPC_MAX_URL 2048
#define HTTPC_MAX_CHUNK_LINE 4096 /* a chunk-size line with its extensions */

struct httpc_req {
    const char *method;  /* "GET", "POST", "PUT" */
    const char *url;     /* http[s]://host[:port][/path][?query] */
    const char *headers; /* extra header lines, each ending in "\r\n" (e.g. Authorization) */
    const char *body;    /* or NULL */
    size_t body_len;
    /* httpc_do: the whole exchange (resolve, connect, send, receive). httpc_open: resolve to
     * the end of the response head; then each httpc_read on its own. */
    int timeout_ms;
    int connect_timeout_ms; /* a shorter bound on the TCP connect, or 0 */
    int insecure;           /* https: do not verify the server's certificate */
    const char *ca_file;    /* https: trust this CA (PEM file) instead of the system's; or NULL */
    const char *ca_pem;     /* https: trust these PEM certificates (in memory); or NULL */
    size_t max_body;        /* httpc_do: bytes of the answer kept (0: HTTPC_MAX_BODY) */
    const char *user_agent; /* or NULL: "kroll" */
};

struct httpc_resp {
    int status; /* HTTP status code */
    char *body; /* malloc'd, NUL-terminated (free it) */
    size_t body_len;
};

/* One open response (opaque): its head has been read, its body not yet. */
struct httpc_conn;

/* Performs req. Returns 0 with resp filled (any status code), or -1 with a message in err
 * ("dial tcp 127.0.0.1:1: connect: connection refused", "tls: failed to verify certificate:
 * ...", "timeout awaiting response headers", "response larger than N bytes"). */
int httpc_do(const struct httpc_req *req, struct httpc_resp *resp, char *err, size_t n);

/* Sends req and reads the response head. Returns 0 with *out (free with httpc_close), or -1 with
 * a message in err (the texts of httpc_do). req is borrowed for the call only. */
int httpc_open(const struct httpc_req *req, struct httpc_conn **out, char *err, size_t n);
/* The response's status code. */
int httpc_status(const struct httpc_conn *c);
/* The value of the response header name (case-insensitive; the first one), or NULL. The string
 * lives as long as c. */
const char *httpc_header(const struct httpc_conn *c, const char *name);
/* Reads up to n decoded body bytes into buf: > 0 bytes, 0 at the end of the body, -1 on an error
 * or a timeout (the message: httpc_error). A read waits at most the request's timeout_ms. */
ssize_t httpc_read(struct httpc_conn *c, void *buf, size_t n);
/* Appends the rest of the body to out, within out's cap. 0, or -1 (httpc_error says why:
 * "response larger than N bytes" when over the cap). */
int httpc_read_all(struct httpc_conn *c, struct buf *out);
/* The last error's message ("" when none). */
const char *httpc_error(const struct httpc_conn *c);
/* The connection's socket, for another thread to shutdown() it to end a blocked read early. */
int httpc_fd(const struct httpc_conn *c);
/* Closes the connection and frees c; NULL is a no-op. */
void httpc_close(struct httpc_conn *c);

/* Percent-encodes s for a query parameter into a new malloc'd string. */
char *httpc_query_escape(const char *s);

#endif
