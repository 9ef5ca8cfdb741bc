/* The HTTP/1.1 server's private types, shared by its two files: httpd.c (connections, I/O,
 * deadlines, responses) and httpd_req.c (the llhttp callbacks that build a request). */
#ifndef KROLL_CORE_HTTPD_INT_H
#define KROLL_CORE_HTTPD_INT_H

#include <llhttp.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/httpd.h"
#include "core/loop.h"

/* What the connection's deadline timer means when it fires. */
enum conn_phase {
    PH_IDLE,    /* no request byte yet: close */
    PH_HEAD,    /* head started: 408, close */
    PH_BODY,    /* head done, body incomplete: 408, close */
    PH_HANDLER, /* the handler owns the request (streams): no deadline */
    PH_CLOSING, /* refused or final answer queued: close */
};

struct query_kv {
    char *key, *val;
};

struct req_priv {
    struct http_req pub;
    struct query_kv *q;
    int nq, q_parsed;
};

struct http_conn {
    struct httpd *h;
    struct loop_io io;
    struct loop_timer idle;
    SSL *ssl;
    int handshake_done;
    int closed;
    int keep_alive;
    int dispatched;  /* request handed to the handler, parser paused */
    int in_dispatch; /* inside the handler call: completion waits for its return */
    int resp_done;   /* response completely queued */
    int body_too_large;
    int head_too_large; /* 431: head bytes or header count over the limit */
    int refused;        /* answered by the head check: the body is never read */
    enum conn_phase phase;
    size_t head_bytes;
    int draining; /* refused request answered: discard the rest of the upload, then close */
    llhttp_t parser;
    struct buf in, out;
    struct buf url, hname, hval;
    int in_value;
    struct req_priv *req;
    http_raw_fn *raw_fn; /* upgraded: every input byte goes here */
    void *raw_ctx;
    int raw_paused, raw_ended;
    struct http_conn *next, *prev;
    char peer[64];
};

struct httpd {
    struct loop *loop;
    SSL_CTX *tls;
    http_handler_fn *fn;
    void *ctx;
    int lfd;
    int port;
    struct httpd_limits lim;
    struct loop_io lio;
    struct loop_timer accept_backoff;
    struct http_conn *conns;
    int nconns;
    size_t out_total;
    int64_t last_warn_ms;
    http_head_fn *head_fn;
    void *head_ctx;
    llhttp_settings_t settings;
};

/* Arms the connection's single deadline for a phase (ms <= 0: none). */
void httpd__conn_deadline(struct http_conn *c, enum conn_phase ph, int64_t ms);
/* Runs the head check on a complete head; 1 when it answered (the body is never read). */
int httpd__head_refused(struct http_conn *c);
/* Frees a request and everything it owns; NULL is a no-op. */
void httpd__req_free(struct req_priv *r);
/* Fills s with the parser callbacks of httpd_req.c. */
void httpd__parser_settings(llhttp_settings_t *s);

#endif
