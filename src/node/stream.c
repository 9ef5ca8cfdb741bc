/* The transport of kubectl's streaming subresources (see stream-int.h): upgrade negotiation as
 * kube-apiserver and the kubelet do it, WebSocket frames (pings answered, fragments joined, a
 * close answered), SPDY/3.1 frames (SYN_STREAM answered with SYN_REPLY, PING echoed, data and
 * FIN and RST passed on), and SPDY carried inside WebSocket messages for port-forward. Every
 * buffer is capped; a client breaking the protocol ends its session, never the server. */
#include "node/stream-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/kc.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/ws.h"

static int nsessions;

/* 1 when the comma-separated header list (every line of it) has tok, case-insensitively. */
static int hdr_has(const struct http_req *req, const char *name, const char *tok)
{
    size_t tl = strlen(tok);

    for (int i = 0; i < req->nhdrs; i++) {
        const char *v = req->hdrs[i].value;

        if (strcasecmp(req->hdrs[i].name, name) != 0)
            continue;
        while (*v) {
            size_t n;

            v += strspn(v, " \t,");
            n = strcspn(v, ",");
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n == tl && strncasecmp(v, tok, n) == 0)
                return 1;
            v += strcspn(v, ",");
        }
    }
    return 0;
}

static void on_idle(struct loop_timer *t, void *ctx)
{
    struct xs *x = ctx;

    log_info("node", "msg=\"stream session idle, ending it\" ms=%lld", (long long)XS_IDLE_MS);
    xs_end(x);
}

static void on_close(struct http_req *req, void *ctx)
{
    struct xs *x = ctx;

    loop_timer_stop(x->loop, &x->idle);
    x->ended = 1;
    x->app->gone(x->ctx);
    spdy_zin_release(&x->zin);
    spdy_zout_release(&x->zout);
    buf_release(&x->in), buf_release(&x->msg), buf_release(&x->sin), buf_release(&x->out);
    nsessions--;
    free(x);
}

/* ---- output ---- */

static int raw_write(struct xs *x, const void *p, size_t n)
{
    if (x->ended)
        return -EPIPE;
    return http_raw_write(x->req, p, n);
}

/* Sends the SPDY frames composed in x->out (in a WebSocket message when tunnelled). */
static int spdy_flush(struct xs *x)
{
    int rc;

    if (x->proto == XS_TUNNEL) {
        struct buf f;

        buf_init(&f, x->out.len + 16);
        rc = ws_frame_append(&f, WS_OP_BINARY, x->out.data, x->out.len);
        if (!rc)
            rc = raw_write(x, f.data, f.len);
        buf_release(&f);
    } else {
        rc = raw_write(x, x->out.data, x->out.len);
    }
    x->out.len = 0;
    return rc;
}

int xs_ws_send(struct xs *x, int ch, const void *p, size_t n)
{
    static char m[XS_CHUNK + 1];
    const char *d = p;
    int rc = 0;

    do {
        size_t k = n > XS_CHUNK ? XS_CHUNK : n;

        m[0] = (char)ch;
        if (k)
            memcpy(m + 1, d, k);
        x->out.len = 0;
        rc = ws_frame_append(&x->out, WS_OP_BINARY, m, k + 1);
        if (!rc)
            rc = raw_write(x, x->out.data, x->out.len);
        x->out.len = 0;
        d += k, n -= k;
    } while (n && !rc);
    return rc;
}

int xs_spdy_data(struct xs *x, uint32_t id, const void *p, size_t n, int fin)
{
    const char *d = p;
    int rc;

    do {
        size_t k = n > XS_CHUNK ? XS_CHUNK : n;

        rc = spdy_data_append(&x->out, id, fin && k == n, d, k);
        if (!rc)
            rc = spdy_flush(x);
        d += k, n -= k;
    } while (n && !rc);
    return rc;
}

int xs_spdy_rst(struct xs *x, uint32_t id)
{
    int rc = spdy_rst_append(&x->out, id, 5 /* CANCEL */);

    return rc ? rc : spdy_flush(x);
}

size_t xs_backlog(const struct xs *x)
{
    return x->ended ? 0 : http_stream_backlog(x->req);
}

void xs_pause(struct xs *x, int on)
{
    if (!x->ended)
        http_raw_pause(x->req, on);
}

void xs_end(struct xs *x)
{
    if (x->ended)
        return;
    if (x->proto != XS_SPDY) {
        static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000 */

        x->out.len = 0;
        ws_frame_append(&x->out, WS_OP_CLOSE, normal, 2);
        raw_write(x, x->out.data, x->out.len);
        x->out.len = 0;
    }
    x->ended = 1;
    loop_timer_stop(x->loop, &x->idle);
    http_raw_end(x->req);
}

/* ---- input ---- */

static void spdy_control(struct xs *x, const struct spdy_frame *f, const uint8_t *frame,
                         size_t flen)
{
    struct spdy_hdr h[SPDY_MAX_PAIRS];
    int nh;

    switch (f->type) {
    case SPDY_SYN_STREAM:
        if (f->len < 10 ||
            (nh = spdy_headers_decode(&x->zin, f->data + 10, f->len - 10, h, SPDY_MAX_PAIRS)) < 0)
            goto bad;
        if (spdy_syn_reply_append(&x->zout, &x->out, f->stream) < 0 || spdy_flush(x) < 0)
            return;
        x->app->syn(x->ctx, f->stream, h, nh);
        if (!x->ended && (f->flags & SPDY_FLAG_FIN))
            x->app->fin(x->ctx, f->stream, 0);
        return;
    case SPDY_HEADERS: /* decoded to keep the zlib stream in step, then dropped */
        if (f->len < 4 ||
            spdy_headers_decode(&x->zin, f->data + 4, f->len - 4, h, SPDY_MAX_PAIRS) < 0)
            goto bad;
        return;
    case SPDY_RST_STREAM:
        if (f->len >= 8)
            x->app->fin(x->ctx, f->stream, 1);
        return;
    case SPDY_PING:
        if (buf_append(&x->out, frame, flen) == 0)
            spdy_flush(x);
        return;
    case SPDY_GOAWAY:
        xs_end(x);
        return;
    default:
        return; /* SETTINGS, WINDOW_UPDATE: spdystream uses no flow control */
    }
bad:
    log_warn("node", "msg=\"bad SPDY header block, ending the stream session\" peer=%s",
             x->req->peer);
    xs_end(x);
}

/* Parses and handles the SPDY frames in b; keeps an incomplete tail. */
static void spdy_input(struct xs *x, struct buf *b)
{
    size_t off = 0;

    while (!x->ended && off < b->len) {
        struct spdy_frame f;
        ssize_t n = spdy_frame_parse((const uint8_t *)b->data + off, b->len - off, &f);

        if (n == 0)
            break;
        if (n < 0) {
            log_warn("node", "msg=\"bad SPDY frame, ending the stream session\" peer=%s err=%zd",
                     x->req->peer, n);
            xs_end(x);
            return;
        }
        if (f.control) {
            spdy_control(x, &f, (const uint8_t *)b->data + off, (size_t)n);
        } else {
            if (f.len)
                x->app->data(x->ctx, f.stream, f.data, f.len);
            if (!x->ended && (f.flags & SPDY_FLAG_FIN))
                x->app->fin(x->ctx, f.stream, 0);
        }
        off += (size_t)n;
    }
    if (!x->ended)
        buf_consume(b, off);
}

/* One complete WebSocket data message. */
static void ws_message(struct xs *x, const uint8_t *p, size_t n)
{
    if (x->proto == XS_WS) {
        x->app->ws_msg(x->ctx, p, n);
        return;
    }
    if (buf_append(&x->sin, p, n) < 0) {
        log_warn("node", "msg=\"SPDY tunnel backlog over its cap, ending\" peer=%s", x->req->peer);
        xs_end(x);
        return;
    }
    spdy_input(x, &x->sin);
}

static void ws_input(struct xs *x)
{
    size_t off = 0;

    while (!x->ended && off < x->in.len) {
        struct ws_frame f;
        ssize_t n = ws_frame_parse((uint8_t *)x->in.data + off, x->in.len - off, XS_MAX_MSG, &f);

        if (n == 0)
            break;
        if (n < 0) {
            log_warn("node",
                     "msg=\"bad WebSocket frame, ending the stream session\" peer=%s "
                     "err=%zd",
                     x->req->peer, n);
            xs_end(x);
            return;
        }
        off += (size_t)n;
        switch (f.op) {
        case WS_OP_PING:
            x->out.len = 0;
            if (ws_frame_append(&x->out, WS_OP_PONG, f.payload, f.len) == 0)
                raw_write(x, x->out.data, x->out.len);
            x->out.len = 0;
            break;
        case WS_OP_PONG:
            break;
        case WS_OP_CLOSE:
            xs_end(x);
            break;
        case WS_OP_CONT: /* only inside a fragmented message */
            if (!x->in_msg || buf_append(&x->msg, f.payload, f.len) < 0) {
                xs_end(x);
                break;
            }
            if (f.fin) {
                x->in_msg = 0;
                ws_message(x, (const uint8_t *)x->msg.data, x->msg.len);
                x->msg.len = 0;
            }
            break;
        default: /* a new message may not start inside another */
            if (x->in_msg)
                xs_end(x);
            else if (f.fin)
                ws_message(x, f.payload, f.len);
            else if (buf_append(&x->msg, f.payload, f.len) < 0)
                xs_end(x);
            else
                x->in_msg = 1;
        }
    }
    if (!x->ended)
        buf_consume(&x->in, off);
}

static void on_raw(struct http_req *req, const char *data, size_t len, void *ctx)
{
    struct xs *x = ctx;

    if (x->ended)
        return;
    loop_timer_start(x->loop, &x->idle, XS_IDLE_MS);
    if (buf_append(&x->in, data, len) < 0) {
        log_warn("node", "msg=\"stream input over its cap, ending\" peer=%s", req->peer);
        xs_end(x);
        return;
    }
    if (x->proto == XS_SPDY)
        spdy_input(x, &x->in);
    else
        ws_input(x);
}

/* ---- negotiation ---- */

/* The first X-Stream-Protocol-Version the client offers that is want, or NULL. */
static const char *spdy_protocol(const struct http_req *req, const char *want)
{
    return hdr_has(req, "X-Stream-Protocol-Version", want) ? want : NULL;
}

struct xs *xs_accept(struct http_req *req, struct loop *loop, const char *sub,
                     const struct xs_app *app, void *ctx)
{
    int pf = strcmp(sub, "portforward") == 0;
    const char *proto, *want;
    char extra[512], key[29];
    enum xs_proto kind;
    struct xs *x;

    if (hdr_has(req, "Upgrade", "websocket")) {
        want = pf ? "SPDY/3.1+portforward.k8s.io" : "v5.channel.k8s.io";
        if (!hdr_has(req, "Sec-WebSocket-Protocol", want) ||
            ws_accept_key(http_req_header(req, "Sec-WebSocket-Key"), key) < 0) {
            /* kubectl takes any non-101 answer as "no WebSocket here" and retries with SPDY. */
            http_respond_errf(req, -E_BAD_REQUEST, NULL, "%s",
                              pf ? "port-forward over WebSocket needs the "
                                   "SPDY/3.1+portforward.k8s.io subprotocol"
                                 : "exec over WebSocket "
                                   "needs the v5.channel.k8s.io subprotocol");
            return NULL;
        }
        kind = pf ? XS_TUNNEL : XS_WS;
        snprintf(extra, sizeof extra,
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n",
                 key, want);
    } else if (hdr_has(req, "Upgrade", "SPDY/3.1")) {
        want = pf ? "portforward.k8s.io" : "v4.channel.k8s.io";
        if (!(proto = spdy_protocol(req, want))) {
            snprintf(extra, sizeof extra, "X-Accepted-Stream-Protocol-Versions: %s\r\n", want);
            http_respond_errf(req, -E_FORBIDDEN, extra,
                              "unable to upgrade: unable to negotiate protocol: server "
                              "accepts [%s]",
                              want);
            return NULL;
        }
        kind = XS_SPDY;
        snprintf(extra, sizeof extra,
                 "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                 "X-Stream-Protocol-Version: %s\r\n",
                 proto);
    } else {
        http_respond_errf(req, -E_BAD_REQUEST, NULL, "Upgrade request required");
        return NULL;
    }
    if (nsessions >= XS_MAX_SESSIONS) {
        http_respond_errf(req, -E_TOO_MANY, "Retry-After: 1\r\n",
                          "too many exec, attach and port-forward sessions (limit %d)",
                          XS_MAX_SESSIONS);
        return NULL;
    }
    x = xcalloc(1, sizeof *x);
    x->req = req;
    x->loop = loop;
    x->proto = kind;
    x->app = app;
    x->ctx = ctx;
    buf_init(&x->in, (kind == XS_SPDY ? SPDY_MAX_FRAME : XS_MAX_MSG) + 64);
    buf_init(&x->msg, XS_MAX_MSG);
    buf_init(&x->sin, SPDY_MAX_FRAME + XS_MAX_MSG);
    buf_init(&x->out, SPDY_MAX_FRAME + 64);
    loop_timer_init(&x->idle, on_idle, x);
    loop_timer_start(loop, &x->idle, XS_IDLE_MS);
    nsessions++;
    req->on_close = on_close;
    req->on_close_ctx = x;
    http_upgrade(req, extra, on_raw, x);
    log_info("node", "msg=\"stream session\" sub=%s proto=%s peer=%s sessions=%d", sub,
             kind == XS_WS     ? "websocket"
             : kind == XS_SPDY ? "spdy"
                               : "spdy-in-websocket",
             req->peer, nsessions);
    return x;
}
