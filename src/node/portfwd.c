/* pods/portforward: `kubectl port-forward` to a pod, over SPDY/3.1 portforward.k8s.io (every
 * kubectl; 1.31+ first tunnel it in WebSocket messages, which stream.c unwraps). Per local
 * connection kubectl opens an error stream and a data stream sharing a requestid; with both
 * there, this dials 127.0.0.1:port inside the pod's network namespace (so loopback-bound
 * servers are reachable, as with the kubelet) and pumps bytes both ways on the loop. A
 * failed dial is reported as text on the error stream, as the kubelet words it. */
#include "node/node-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "node/stream-int.h"

#define PF_MAX_CONNS 128         /* connections per session: more are refused on their stream */
#define PF_TO_POD_MAX (1u << 20) /* client bytes buffered for one pod socket */
#define PF_OUT_HIGH (4u << 20)   /* client backlog above which pod sockets are not read */
#define PF_POLL_MS 50

struct pfconn {
    struct pfwd *pf;
    struct pfconn *next;
    char reqid[64];
    int port;
    uint32_t err_sid, data_sid;
    int fd;
    struct loop_io io;
    int connecting, pod_eof, client_fin, shut;
    struct buf to_pod;
};

struct pfwd {
    struct kubelet *kl;
    struct xs *xs;
    char *netns; /* the pod's network namespace path, or NULL for the host's */
    char uid[64];
    struct pfconn *conns;
    int nconns;
    int paused_out;
    struct loop_timer timer;
};

static void conn_free(struct pfconn *c)
{
    struct pfwd *pf = c->pf;

    for (struct pfconn **pp = &pf->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pf->nconns--;
    if (c->fd >= 0) {
        loop_io_stop(pf->kl->loop, &c->io);
        close(c->fd);
    }
    buf_release(&c->to_pod);
    free(c);
}

/* Client reads pause while any socket's buffer is full. */
static void in_pressure(struct pfwd *pf)
{
    int full = 0;

    for (struct pfconn *c = pf->conns; c; c = c->next)
        if (c->to_pod.len >= PF_TO_POD_MAX)
            full = 1;
    if (pf->xs)
        xs_pause(pf->xs, full);
}

static void conn_events(struct pfconn *c)
{
    unsigned ev = 0;

    if (c->fd < 0)
        return;
    if (c->connecting || c->to_pod.len)
        ev |= EPOLLOUT;
    if (!c->connecting && !c->pod_eof && !c->pf->paused_out)
        ev |= EPOLLIN;
    loop_io_modify(c->pf->kl->loop, &c->io, ev);
}

static void conn_error(struct pfconn *c, const char *why)
{
    struct pfwd *pf = c->pf;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "error forwarding port %d to pod %s, uid : %s", c->port,
                     pf->uid, why);

    if (pf->xs && c->err_sid)
        xs_spdy_data(pf->xs, c->err_sid, msg, (size_t)n, 1);
    if (pf->xs && c->data_sid)
        xs_spdy_data(pf->xs, c->data_sid, NULL, 0, 1);
    conn_free(c);
}

/* The pod side ended: FIN both streams (kubectl waits for the error stream's end). */
static void pod_done(struct pfconn *c)
{
    struct pfwd *pf = c->pf;

    c->pod_eof = 1;
    if (pf->xs) {
        xs_spdy_data(pf->xs, c->data_sid, NULL, 0, 1);
        if (c->err_sid)
            xs_spdy_data(pf->xs, c->err_sid, NULL, 0, 1);
    }
    if (c->client_fin)
        conn_free(c);
    else
        conn_events(c);
}

static void to_pod_flush(struct pfconn *c)
{
    while (c->to_pod.len) {
        ssize_t n = send(c->fd, c->to_pod.data, c->to_pod.len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            c->to_pod.len = 0;
            break;
        }
        buf_consume(&c->to_pod, (size_t)n);
    }
    if (!c->to_pod.len && c->client_fin && !c->shut) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
    in_pressure(c->pf);
}

static void on_sock(struct loop_io *io, unsigned ev, void *ctx)
{
    static char tmp[XS_CHUNK];
    struct pfconn *c = ctx;
    struct pfwd *pf = c->pf;

    if (c->connecting) {
        int e = 0;
        socklen_t l = sizeof e;

        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
        if (e) {
            char why[160];

            snprintf(why, sizeof why,
                     "failed to connect to localhost:%d inside namespace "
                     "\"%s\": %s",
                     c->port, pf->netns ? pf->netns : "host", strerror(e));
            conn_error(c, why);
            return;
        }
        c->connecting = 0;
    }
    if (ev & EPOLLOUT)
        to_pod_flush(c);
    for (int i = 0; i < 16 && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->pod_eof; i++) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            pod_done(c); /* may free c */
            return;
        }
        if (pf->xs)
            xs_spdy_data(pf->xs, c->data_sid, tmp, (size_t)n, 0);
        if (pf->xs && xs_backlog(pf->xs) > PF_OUT_HIGH && !pf->paused_out) {
            pf->paused_out = 1;
            for (struct pfconn *o = pf->conns; o; o = o->next)
                conn_events(o);
            loop_timer_start(pf->kl->loop, &pf->timer, PF_POLL_MS);
            return;
        }
    }
    conn_events(c);
}

static void on_timer(struct loop_timer *t, void *ctx)
{
    struct pfwd *pf = ctx;

    if (pf->xs && xs_backlog(pf->xs) > PF_OUT_HIGH / 2) {
        loop_timer_start(pf->kl->loop, &pf->timer, PF_POLL_MS);
        return;
    }
    pf->paused_out = 0;
    for (struct pfconn *c = pf->conns; c; c = c->next)
        conn_events(c);
}

static void dial(struct pfconn *c)
{
    struct pfwd *pf = c->pf;
    int fd;

    if (c->port <= 0 || c->port > 65535) {
        conn_error(c, "invalid port");
        return;
    }
    fd = netns_connect_tcp(pf->netns, "127.0.0.1", c->port);
    if (fd < 0) {
        char why[160];

        snprintf(why, sizeof why, "failed to connect to localhost:%d: %s", c->port, strerror(-fd));
        conn_error(c, why);
        return;
    }
    c->fd = fd;
    c->connecting = 1;
    loop_io_start(pf->kl->loop, &c->io, fd, EPOLLOUT, on_sock, c);
}

/* ---- the session ---- */

static struct pfconn *by_stream(struct pfwd *pf, uint32_t id)
{
    for (struct pfconn *c = pf->conns; c; c = c->next)
        if (c->data_sid == id || c->err_sid == id)
            return c;
    return NULL;
}

static void on_syn(void *ctx, uint32_t id, const struct spdy_hdr *h, int nh)
{
    struct pfwd *pf = ctx;
    const char *type = "", *port = "", *reqid = "";
    struct pfconn *c = NULL;

    for (int i = 0; i < nh; i++) {
        if (strcmp(h[i].name, "streamtype") == 0)
            type = h[i].value;
        else if (strcmp(h[i].name, "port") == 0)
            port = h[i].value;
        else if (strcmp(h[i].name, "requestid") == 0)
            reqid = h[i].value;
    }
    if (strcmp(type, "error") != 0 && strcmp(type, "data") != 0) {
        if (pf->xs)
            xs_spdy_rst(pf->xs, id);
        return;
    }
    for (c = pf->conns; c; c = c->next)
        if (strcmp(c->reqid, reqid) == 0 && (type[0] == 'e' ? !c->err_sid : !c->data_sid))
            break;
    if (!c) {
        if (pf->nconns >= PF_MAX_CONNS) {
            log_warn("node", "msg=\"port-forward connection limit reached\" max=%d", PF_MAX_CONNS);
            if (pf->xs)
                xs_spdy_rst(pf->xs, id);
            return;
        }
        c = xcalloc(1, sizeof *c);
        c->pf = pf;
        c->fd = -1;
        snprintf(c->reqid, sizeof c->reqid, "%s", reqid);
        c->port = atoi(port);
        buf_init(&c->to_pod, PF_TO_POD_MAX + XS_MAX_MSG);
        c->next = pf->conns;
        pf->conns = c;
        pf->nconns++;
    }
    if (type[0] == 'e') {
        c->err_sid = id;
    } else {
        c->data_sid = id;
        dial(c);
    }
}

static void on_data(void *ctx, uint32_t id, const uint8_t *p, size_t n)
{
    struct pfconn *c = by_stream(ctx, id);

    if (!c || id != c->data_sid || c->client_fin)
        return;
    if (buf_append(&c->to_pod, p, n) < 0) {
        conn_error(c, "client sent more than the buffer holds");
        return;
    }
    if (!c->connecting && c->fd >= 0)
        to_pod_flush(c);
    conn_events(c);
}

static void on_fin(void *ctx, uint32_t id, int reset)
{
    struct pfconn *c = by_stream(ctx, id);

    if (!c || id != c->data_sid)
        return; /* kubectl half-closes the error stream at once */
    if (reset || c->pod_eof) {
        conn_free(c);
        return;
    }
    c->client_fin = 1;
    if (!c->connecting && c->fd >= 0)
        to_pod_flush(c);
}

static void on_gone(void *ctx)
{
    struct pfwd *pf = ctx;

    pf->xs = NULL;
    while (pf->conns)
        conn_free(pf->conns);
    loop_timer_stop(pf->kl->loop, &pf->timer);
    free(pf->netns);
    free(pf);
}

static void on_ws_msg(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx, (void)p, (void)n; /* the tunnel's messages are SPDY bytes: stream.c parses them */
}

static const struct xs_app pf_app = {on_ws_msg, on_syn, on_data, on_fin, on_gone};

void portfwd__serve(struct kubelet *kl, struct http_req *req, const json_t *pod)
{
    const char *uid = jx_str(pod, "metadata.uid");
    struct kpod *p = uid ? kubelet__find_uid(kl, uid) : NULL;
    struct pfwd *pf;
    int running = 0;

    for (int i = 0; p && i < p->nc; i++)
        if (!p->c[i].init && p->c[i].st == KC_RUNNING)
            running = 1;
    if (!p || !running || podfsm_terminating(p->state) || (!p->host_network && !p->netns)) {
        http_respond_errf(req, -E_NOT_FOUND, NULL,
                          "pod does not exist or has no running container on this node");
        return;
    }
    pf = xcalloc(1, sizeof *pf);
    pf->kl = kl;
    pf->netns = p->host_network || !p->netns ? NULL : xstrdup(p->netns);
    snprintf(pf->uid, sizeof pf->uid, "%s", uid);
    loop_timer_init(&pf->timer, on_timer, pf);
    if (!(pf->xs = xs_accept(req, kl->loop, "portforward", &pf_app, pf))) {
        free(pf->netns);
        free(pf);
    }
}
