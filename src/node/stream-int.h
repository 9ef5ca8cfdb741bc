/* The node's streaming subresources (pods/exec, attach, portforward): the transport session of
 * one upgraded connection (stream.c: WebSocket channels, SPDY/3.1, or SPDY tunnelled in
 * WebSocket messages) and the two applications on top of it (exec.c, portfwd.c). */
#ifndef KROLL_NODE_STREAM_INT_H
#define KROLL_NODE_STREAM_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/httpd.h"
#include "core/loop.h"
#include "core/spdy.h"

#define XS_MAX_SESSIONS 64             /* open exec/attach/port-forward sessions: else 429 */
#define XS_MAX_MSG (1u << 20)          /* one WebSocket message (kubectl sends 32 KiB) */
#define XS_IDLE_MS (4LL * 3600 * 1000) /* no client byte for this long ends it (the kubelet's) */
#define XS_CHUNK 32768                 /* largest data frame or message the server sends */

enum xs_proto {
    XS_WS,     /* v5.channel.k8s.io: one channel byte, then data */
    XS_SPDY,   /* SPDY/3.1 after an HTTP upgrade */
    XS_TUNNEL, /* SPDY/3.1+portforward.k8s.io: SPDY bytes inside WebSocket messages */
};

/* What a session reports to its application (ctx is the application's). After gone the
 * session is invalid; the application frees itself there or when its own work ends. */
struct xs_app {
    void (*ws_msg)(void *ctx, const uint8_t *p, size_t n); /* XS_WS: channel byte first */
    void (*syn)(void *ctx, uint32_t id, const struct spdy_hdr *h, int nh);
    void (*data)(void *ctx, uint32_t id, const uint8_t *p, size_t n);
    void (*fin)(void *ctx, uint32_t id, int reset); /* client half-closed (or reset) a stream */
    void (*gone)(void *ctx);
};

struct xs {
    struct http_req *req;
    struct loop *loop;
    enum xs_proto proto;
    const struct xs_app *app;
    void *ctx;
    struct buf in;  /* unparsed client bytes (WebSocket frames, or SPDY frames for XS_SPDY) */
    struct buf msg; /* a fragmented WebSocket message */
    int in_msg;     /* inside one (its first frame had no FIN) */
    struct buf sin; /* XS_TUNNEL: SPDY bytes taken out of WebSocket messages */
    struct buf out; /* scratch for the frames being composed */
    struct spdy_zin zin;
    struct spdy_zout zout;
    struct loop_timer idle;
    int ended;
};

/* Negotiates the upgrade of req for sub ("exec", "attach" or "portforward"). On success
 * returns a session bound to app/ctx (the 101 is sent); otherwise answers req as kube-apiserver
 * would (400 for no or another upgrade, 403 for no common SPDY protocol, 429 over
 * XS_MAX_SESSIONS) and returns NULL. */
struct xs *xs_accept(struct http_req *req, struct loop *loop, const char *sub,
                     const struct xs_app *app, void *ctx);
/* XS_WS: one message on channel ch. */
int xs_ws_send(struct xs *x, int ch, const void *p, size_t n);
/* SPDY: data (cut into XS_CHUNK frames), FIN with the last when fin. */
int xs_spdy_data(struct xs *x, uint32_t id, const void *p, size_t n, int fin);
int xs_spdy_rst(struct xs *x, uint32_t id);
/* Bytes queued for the client. */
size_t xs_backlog(const struct xs *x);
/* Stops or resumes reading the client (its sink is full). */
void xs_pause(struct xs *x, int on);
/* Ends the session: a WebSocket close (1000) or nothing more for SPDY, then the connection is
 * closed once flushed; gone follows. */
void xs_end(struct xs *x);

/* exec.c / portfwd.c: serve one request (answering or upgrading it). */
struct kubelet;
void exec__serve(struct kubelet *kl, struct http_req *req, const json_t *pod, const char *sub);
void portfwd__serve(struct kubelet *kl, struct http_req *req, const json_t *pod);
/* attach.c: output-only attach to a running container c (found by exec.c). */
struct kcont;
void attach__serve(struct kubelet *kl, struct http_req *req, const json_t *pod,
                   const struct kcont *c);

#endif
