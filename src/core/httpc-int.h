/* Private to core/httpc*.c (and the tests that drive the parser over a socketpair): one
 * connection with its read buffer and the response parser's state. */
#ifndef KROLL_CORE_HTTPC_INT_H
#define KROLL_CORE_HTTPC_INT_H

#include <openssl/ssl.h>

#include "core/httpc.h"

enum httpc_body {
    HTTPC_BODY_LENGTH,  /* Content-Length (or none: HEAD, 204, 304) */
    HTTPC_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    HTTPC_BODY_CLOSE,   /* until the server closes */
};

struct httpc_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int timeout_ms;
    int stream;         /* each httpc_read gets its own deadline (httpc_open) */
    long long deadline; /* CLOCK_MONOTONIC ms */
    int in_body;        /* the head was read: timeouts are the body's */
    int status;
    char *head; /* the head's lines, each NUL-terminated (CR and LF removed) */
    size_t head_len;
    enum httpc_body mode;
    long long left; /* LENGTH: bytes of the body left; CHUNKED: of the current chunk */
    int chunk_crlf; /* CHUNKED: a chunk's data ended, its CRLF comes next */
    int done, failed;
    char err[256];
    size_t off, len; /* unread bytes: in[off..len) */
    char in[HTTPC_MAX_HEAD];
};

long long httpc__now_ms(void);
/* Sets c's error message and returns -1. */
int httpc__fail(struct httpc_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One read from the connection (TLS or not) within c->deadline: bytes, 0 at the end of the
 * stream, -1 with c->err set. */
ssize_t httpc__recv(struct httpc_conn *c, char *buf, size_t len);
/* Reads and parses the response head (skipping interim 1xx answers) for a request of method;
 * sets the status and the body's framing. 0, or -1 with c->err set. */
int httpc__head(struct httpc_conn *c, const char *method);

#endif
