/* A proxy worker's data path: client connections and upstream pools, HTTP/1.1 with llhttp on
 * both sides (bodies streamed and re-framed, Upgrade and TCP tunnels), retries, timeouts and
 * per-worker stats. The worker's thread, listeners and queue are worker_loop.c; nothing here
 * is touched by another thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/netns.h"
#include "proxy/worker-int.h"

static void conn_close(struct px_conn *c);
static void conn_process(struct px_conn *c);
static void conn_update(struct px_conn *c);
static void conn_flush(struct px_conn *c);
static void up_flush(struct px_up *up);
static void up_close(struct px_up *up);
static void conn_upstream_failed(struct px_conn *c, enum ufail why);
static int conn_start_upstream(struct px_conn *c);

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void free_later(void *p)
{
    free(p);
}

/* ---------------------------------------------------------------- upstream connections */

static void up_on_io(struct loop_io *io, unsigned events, void *ctx);

static void pool_remove(struct px_up *up)
{
    struct px_endpoint_worker *slot = &up->ep->w[up->w->id];
    struct px_up **pp = (struct px_up **)&slot->pool_head;

    for (; *pp; pp = &(*pp)->pool_next)
        if (*pp == up) {
            *pp = up->pool_next;
            slot->pool_len--;
            PX_STAT_ADD(slot->stats.pooled, -1);
            return;
        }
}

static void up_close(struct px_up *up)
{
    struct px_worker *w = up->w;

    if (up->closed)
        return;
    up->closed = 1;
    if (up->state == U_POOLED)
        pool_remove(up);
    loop_io_stop(w->loop, &up->io);
    close(up->io.fd);
    if (up->prev)
        up->prev->next = up->next;
    else
        w->ups = up->next;
    if (up->next)
        up->next->prev = up->prev;
    px_endpoint_unref(up->ep);
    loop_defer(w->loop, free_later, up);
}

/* Opens the socket inside the endpoint's network namespace when it has one (core/netns.c:
 * setns() switches only this thread, and back before anything else happens); the worker keeps
 * its own namespace's fd open so that a connect costs no extra open(). */
static int up_socket(struct px_worker *w, struct px_endpoint *ep)
{
    return netns_socket(ep->netns, w->self_ns, ep->sa.ss_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* Starts a non-blocking connect; NULL when it fails at once (refused on loopback). */
static struct px_up *up_connect(struct px_worker *w, struct px_endpoint *ep)
{
    struct px_up *up;
    int fd = up_socket(w, ep), one = 1;

    if (fd < 0)
        return NULL;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ep->sa, ep->salen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    up = xcalloc(1, sizeof *up);
    up->w = w;
    up->ep = px_endpoint_ref(ep);
    up->state = U_CONNECTING;
    if (loop_io_start(w->loop, &up->io, fd, EPOLLOUT | EPOLLIN, up_on_io, up) < 0) {
        close(fd);
        px_endpoint_unref(ep);
        free(up);
        return NULL;
    }
    up->next = w->ups;
    if (w->ups)
        w->ups->prev = up;
    w->ups = up;
    return up;
}

static struct px_up *pool_get(struct px_worker *w, struct px_endpoint *ep)
{
    struct px_endpoint_worker *slot = &ep->w[w->id];
    struct px_up *up = slot->pool_head;

    if (!up)
        return NULL;
    slot->pool_head = up->pool_next;
    slot->pool_len--;
    PX_STAT_ADD(slot->stats.pooled, -1);
    up->pool_next = NULL;
    up->state = U_ACTIVE;
    up->reused = 1;
    return up;
}

static void pool_put(struct px_up *up)
{
    struct px_endpoint_worker *slot = &up->ep->w[up->w->id];

    up->c = NULL;
    up->state = U_POOLED;
    up->idle_since = now_ms();
    up->pool_next = slot->pool_head;
    slot->pool_head = up;
    slot->pool_len++;
    PX_STAT_ADD(slot->stats.pooled, 1);
    loop_io_modify(up->w->loop, &up->io, EPOLLIN);
}

/* ---------------------------------------------------------------- request bookkeeping */

static void conn_count_ep(struct px_conn *c, struct px_endpoint *ep)
{
    struct px_endpoint_worker *slot;

    if (c->ep) {
        slot = &c->ep->w[c->w->id];
        slot->inflight--;
        PX_STAT_ADD(slot->stats.inflight, -1);
    }
    c->ep = ep;
    if (ep) {
        slot = &ep->w[c->w->id];
        slot->inflight++;
        PX_STAT_ADD(slot->stats.inflight, 1);
    }
}

/* Records the outcome of the current request: status class and latency, on the endpoint when
 * one was chosen, else on the service (answers the proxy gave itself). */
static void conn_account(struct px_conn *c, int status)
{
    struct px_stats *st = c->ep ? &c->ep->w[c->w->id].stats : &c->lis->svc->wstats[c->w->id];
    uint64_t us = now_us() - c->t_start_us;
    int cls = status >= 100 && status < 600 ? status / 100 - 1 : PX_CLASS_ABORTED;

    PX_STAT_ADD(st->requests[cls], 1);
    PX_STAT_ADD(st->latency[px_lat_bucket(us)], 1);
    PX_STAT_ADD(st->latency_sum_us, us);
    if (c->w->px->cfg.access_log)
        log_info("proxy", "access client=%s method=%s target=\"%.*s\" status=%d upstream=%s "
                 "duration_us=%llu", c->ip, llhttp_method_name(llhttp_get_method(&c->req)),
                 (int)c->head.url_len, c->head.raw.data ? c->head.raw.data + c->head.url_off : "",
                 status, c->ep ? c->ep->addr : "-", (unsigned long long)us);
    conn_count_ep(c, NULL);
}

/* Sends a proxy-generated error and closes the client connection after it. */
static void conn_fail(struct px_conn *c, int status)
{
    if (c->up) {
        up_close(c->up);
        c->up = NULL;
    }
    if (c->resp_started || status == 0 || c->lis->svc->mode == PX_MODE_TCP) {
        /* Too late for a status (or not HTTP at all): cut the connection. */
        if (c->t_start_us)
            conn_account(c, 0);
        conn_close(c);
        return;
    }
    conn_account(c, status);
    c->out.len = c->out_off = 0;
    px_http_error(&c->out, status, 1);
    c->resp_started = 1;
    c->keep_alive = 0;
    c->state = C_CLOSING;
    c->cdeadline = now_ms() + c->w->px->cfg.idle_timeout_ms;
    c->udeadline = 0;
    conn_flush(c);
}

/* ---------------------------------------------------------------- request parser callbacks */

static struct px_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int req_on_begin(llhttp_t *p)
{
    struct px_conn *c = conn_of(p);

    px_head_reset(&c->head);
    c->t_start_us = now_us();
    c->cdeadline = now_ms() + c->w->px->cfg.header_timeout_ms;
    return 0;
}

static int req_limit(struct px_conn *c, int rc)
{
    if (rc < 0) {
        c->err_status = 431;
        return -1;
    }
    return 0;
}

static int req_on_url(llhttp_t *p, const char *at, size_t n)
{
    return req_limit(conn_of(p), px_head_url(&conn_of(p)->head, at, n));
}

static int req_on_field(llhttp_t *p, const char *at, size_t n)
{
    return req_limit(conn_of(p), px_head_field(&conn_of(p)->head, at, n));
}

static int req_on_value(llhttp_t *p, const char *at, size_t n)
{
    struct px_conn *c = conn_of(p);
    char before = at > c->in ? at[-1] : c->last_fed;

    /* llhttp hands over an obs-fold continuation as a second piece of the same value, right
     * after a line end: refuse it (two parsers may disagree on where the header ends). */
    if (c->head.in_value && before == '\n')
        px_head_mark_bad(&c->head, "obs-fold header");
    return req_limit(c, px_head_value(&c->head, at, n));
}

static int req_on_headers(llhttp_t *p)
{
    struct px_conn *c = conn_of(p);

    px_head_finish(&c->head, 1);
    c->need_dispatch = 1;
    return HPE_PAUSED; /* dispatch outside the parser, then resume for the body */
}

static int req_on_body(llhttp_t *p, const char *at, size_t n)
{
    struct px_conn *c = conn_of(p);
    int64_t max = c->w->px->cfg.max_body_bytes;
    char sz[24];

    c->body_bytes += (int64_t)n;
    if (max && c->body_bytes > max) {
        c->err_status = 413;
        return -1;
    }
    if (c->head.flags & PX_H_CHUNKED) {
        int k = snprintf(sz, sizeof sz, "%zx\r\n", n);

        buf_append(&c->upout, sz, (size_t)k);
        buf_append(&c->upout, at, n);
        buf_append(&c->upout, "\r\n", 2);
    } else {
        buf_append(&c->upout, at, n);
    }
    return 0;
}

static int req_on_complete(llhttp_t *p)
{
    struct px_conn *c = conn_of(p);

    if (c->head.flags & PX_H_CHUNKED)
        buf_append(&c->upout, "0\r\n\r\n", 5);
    c->req_done = 1;
    c->cdeadline = 0;
    return HPE_PAUSED; /* one request at a time: pipelined bytes wait in c->in */
}

/* ---------------------------------------------------------------- response parser callbacks */

static int resp_on_begin(llhttp_t *p)
{
    px_head_reset(&conn_of(p)->rhead);
    return 0;
}

static int resp_on_status(llhttp_t *p, const char *at, size_t n)
{
    return px_head_url(&conn_of(p)->rhead, at, n);
}

static int resp_on_field(llhttp_t *p, const char *at, size_t n)
{
    return px_head_field(&conn_of(p)->rhead, at, n);
}

static int resp_on_value(llhttp_t *p, const char *at, size_t n)
{
    return px_head_value(&conn_of(p)->rhead, at, n);
}

static int resp_framing(struct px_conn *c, int status)
{
    if (c->head_method || status == 204 || status == 304 || status < 200)
        return PX_FRAME_NONE;
    if (c->resp.flags & F_CONTENT_LENGTH)
        return PX_FRAME_LENGTH;
    /* Chunked or read-until-close bodies are re-chunked for HTTP/1.1 clients; an HTTP/1.0
     * client gets the bare body and the end of the connection. */
    return c->minor >= 1 ? PX_FRAME_CHUNKED : PX_FRAME_CLOSE;
}

static int resp_on_headers(llhttp_t *p)
{
    struct px_conn *c = conn_of(p);
    int status = p->status_code, up101 = status == 101, keep;

    px_head_finish(&c->rhead, 0);
    if (up101 && !c->upgrade)
        return -1; /* 101 without an Upgrade request: a broken upstream */
    c->interim = status < 200 && !up101;
    c->status = status;
    c->framing = resp_framing(c, status);
    if (!c->interim) {
        keep = c->keep_alive && c->req_done && c->framing != PX_FRAME_CLOSE;
        c->keep_alive = keep;
        c->resp_started = 1;
    }
    if (px_head_build_response(&c->rhead, status, c->framing, c->keep_alive, c->minor, up101,
                               &c->out) < 0)
        return -1;
    return c->head_method && !c->interim ? 1 : 0; /* 1: a HEAD response has no body */
}

static int resp_on_body(llhttp_t *p, const char *at, size_t n)
{
    struct px_conn *c = conn_of(p);
    char sz[24];

    c->resp_bytes += (int64_t)n;
    if (c->framing == PX_FRAME_CHUNKED) {
        int k = snprintf(sz, sizeof sz, "%zx\r\n", n);

        buf_append(&c->out, sz, (size_t)k);
        buf_append(&c->out, at, n);
        buf_append(&c->out, "\r\n", 2);
    } else {
        buf_append(&c->out, at, n);
    }
    return 0;
}

static int resp_on_complete(llhttp_t *p)
{
    struct px_conn *c = conn_of(p);

    if (c->interim) { /* 100 Continue and friends: the final response follows */
        c->interim = 0;
        return 0;
    }
    if (c->framing == PX_FRAME_CHUNKED)
        buf_append(&c->out, "0\r\n\r\n", 5);
    c->resp_done = 1;
    return HPE_PAUSED;
}

void worker__settings_init(struct px_worker *w)
{
    llhttp_settings_init(&w->req_settings);
    w->req_settings.on_message_begin = req_on_begin;
    w->req_settings.on_url = req_on_url;
    w->req_settings.on_header_field = req_on_field;
    w->req_settings.on_header_value = req_on_value;
    w->req_settings.on_headers_complete = req_on_headers;
    w->req_settings.on_body = req_on_body;
    w->req_settings.on_message_complete = req_on_complete;
    llhttp_settings_init(&w->resp_settings);
    w->resp_settings.on_message_begin = resp_on_begin;
    w->resp_settings.on_status = resp_on_status;
    w->resp_settings.on_header_field = resp_on_field;
    w->resp_settings.on_header_value = resp_on_value;
    w->resp_settings.on_headers_complete = resp_on_headers;
    w->resp_settings.on_body = resp_on_body;
    w->resp_settings.on_message_complete = resp_on_complete;
}

/* ---------------------------------------------------------------- dispatch and retry */

/* Binds the request to an endpoint and an upstream connection (pooled or new), trying other
 * endpoints when a connect fails at once. 0, or the status to answer with. */
static int conn_start_upstream(struct px_conn *c)
{
    struct px_worker *w = c->w;
    struct px_table *t = c->bt ? c->bt : worker__lis_table(c->lis);
    int limit = w->px->cfg.retries + 1;

    while (c->ntried < limit && c->ntried < (int)(sizeof c->tried / sizeof c->tried[0])) {
        struct px_endpoint *ep = px_balance_pick(t, w->id, w->px->cfg.balance, c->tried,
                                                 c->ntried, &w->rr, now_ms());
        struct px_up *up;

        if (!ep)
            return c->ntried ? 502 : 503;
        conn_count_ep(c, ep);
        up = pool_get(w, ep);
        if (!up)
            up = up_connect(w, ep);
        if (!up) {
            PX_STAT_ADD(ep->w[w->id].stats.connect_errors, 1);
            ep->w[w->id].down_until = now_ms() + DOWN_MS;
            c->tried[c->ntried++] = ep;
            continue;
        }
        up->c = c;
        c->up = up;
        c->upout_off = 0;
        llhttp_init(&c->resp, HTTP_RESPONSE, &w->resp_settings);
        c->resp.data = c;
        c->uin_len = 0;
        c->udeadline = now_ms() + (up->state == U_CONNECTING ? w->px->cfg.connect_timeout_ms
                                                           : w->px->cfg.response_timeout_ms);
        if (up->state == U_ACTIVE)
            up_flush(up);
        return 0;
    }
    return 502;
}

static int method_idempotent(int m)
{
    return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS || m == HTTP_PUT ||
           m == HTTP_DELETE || m == HTTP_TRACE;
}

static void conn_dispatch(struct px_conn *c)
{
    struct px_worker *w = c->w;
    struct px_req_info ri;
    int m = llhttp_get_method(&c->req), st;

    if (c->head.flags & PX_H_BAD) {
        log_debug("proxy", "refused request client=%s reason=\"%s\"", c->ip, c->head.bad);
        conn_fail(c, 400);
        return;
    }
    if (!px_method_is_http(m)) {
        conn_fail(c, 400);
        return;
    }
    if (m == HTTP_CONNECT) {
        conn_fail(c, 405);
        return;
    }
    if (w->px->cfg.max_body_bytes && (c->req.flags & F_CONTENT_LENGTH) &&
        c->req.content_length > (uint64_t)w->px->cfg.max_body_bytes) {
        conn_fail(c, 413);
        return;
    }
    c->minor = c->req.http_major == 1 ? c->req.http_minor : 0;
    c->keep_alive = llhttp_should_keep_alive(&c->req);
    c->upgrade = (c->head.flags & PX_H_UPGRADE) && (c->head.flags & PX_H_CONN_UPGRADE);
    c->head_method = m == HTTP_HEAD;
    c->idempotent = method_idempotent(m);
    c->ntried = 0;
    c->replayable = 1;
    c->body_bytes = c->resp_bytes = 0;
    c->req_done = c->resp_started = c->resp_done = c->interim = 0;
    c->upout.len = c->upout_off = 0;
    ri = (struct px_req_info){.method = llhttp_method_name(m), .major = 1, .minor = c->minor,
                              .client_ip = c->ip, .host_fallback = c->lis->svc->listen_text,
                              .upgrade = c->upgrade};
    if (px_head_build_request(&c->head, &ri, &c->upout) < 0) {
        conn_fail(c, 431);
        return;
    }
    if ((st = worker__conn_route(c, ri.method))) {
        conn_fail(c, st);
        return;
    }
    c->state = C_BODY;
    c->cdeadline = now_ms() + w->px->cfg.body_timeout_ms;
    st = conn_start_upstream(c);
    if (st)
        conn_fail(c, st);
}

/* The upstream connection of c failed. Before any response byte, the request is sent again on
 * another endpoint when that is safe: always after a failed connect (nothing was sent), and for
 * idempotent methods when a reused keep-alive connection turned out to be closed. */
static void conn_upstream_failed(struct px_conn *c, enum ufail why)
{
    struct px_up *up = c->up;
    struct px_worker *w = c->w;
    int reused = up ? up->reused : 0, st;

    if (up) {
        if (why == F_CONNECT) {
            PX_STAT_ADD(up->ep->w[w->id].stats.connect_errors, 1);
            up->ep->w[w->id].down_until = now_ms() + DOWN_MS;
        }
        up_close(up);
        c->up = NULL;
    }
    if (!c->resp_started && !c->uin_len && c->replayable &&
        (why == F_CONNECT || (why == F_RESET && c->idempotent))) {
        /* A stale pooled connection says nothing about the endpoint: retry it too. A fresh
         * connection reset before any answer means the pod died under the request (kill -9):
         * an idempotent request goes to another endpoint. */
        if ((why == F_CONNECT || !reused) &&
            c->ntried < (int)(sizeof c->tried / sizeof c->tried[0]))
            c->tried[c->ntried++] = c->ep;
        st = conn_start_upstream(c);
        if (!st)
            return;
        conn_fail(c, st == 503 ? 502 : st);
        return;
    }
    conn_fail(c, why == F_TIMEOUT ? 504 : 502);
}

/* ---------------------------------------------------------------- client side */

static void conn_close(struct px_conn *c)
{
    struct px_worker *w = c->w;

    if (c->closed)
        return;
    c->closed = 1;
    px_table_unref(c->bt);
    c->bt = NULL;
    c->lis->nconns--;
    if (c->up) {
        up_close(c->up);
        c->up = NULL;
    }
    if (c->ep && c->t_start_us && c->state != C_HEAD && c->lis->svc->mode != PX_MODE_TCP)
        conn_account(c, 0);
    conn_count_ep(c, NULL);
    loop_io_stop(w->loop, &c->io);
    close(c->io.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub_explicit(&w->px->conns, 1, memory_order_relaxed);
    px_head_release(&c->head);
    px_head_release(&c->rhead);
    buf_release(&c->out);
    buf_release(&c->upout);
    free(c->in);
    free(c->uin);
    loop_defer(w->loop, free_later, c);
}

/* Desired epoll interest for both sockets of c, from buffer levels (backpressure) and state. */
static void conn_update(struct px_conn *c)
{
    unsigned ev = 0;

    if (c->closed)
        return;
    if (c->state != C_CLOSING && !c->eof && c->in_len < IN_CAP && c->upout.len - c->upout_off < HIGH_WATER)
        ev |= EPOLLIN;
    if (c->out.len > c->out_off)
        ev |= EPOLLOUT;
    loop_io_modify(c->w->loop, &c->io, ev);
    if (c->up && !c->up->closed) {
        ev = c->out.len - c->out_off < HIGH_WATER ? EPOLLIN : 0;
        if (c->up->state == U_CONNECTING || c->upout.len > c->upout_off)
            ev |= EPOLLOUT;
        loop_io_modify(c->w->loop, &c->up->io, ev);
    }
}

static void conn_flush(struct px_conn *c)
{
    while (c->out.len > c->out_off) {
        ssize_t n = send(c->io.fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
        if (c->udeadline)
            c->udeadline = now_ms() + c->w->px->cfg.response_timeout_ms;
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        if (c->state == C_CLOSING) {
            shutdown(c->io.fd, SHUT_WR);
            conn_close(c);
            return;
        }
    }
    conn_update(c);
}

static void conn_reset_request(struct px_conn *c)
{
    c->state = C_HEAD;
    c->t_start_us = 0;
    c->up = NULL;
    c->ep = NULL;
    c->udeadline = 0;
    c->cdeadline = now_ms() + c->w->px->cfg.idle_timeout_ms;
    px_head_reset(&c->head);
}

/* The response is complete: account, pool or close the upstream connection, then go on with the
 * next request of a keep-alive client (maybe already buffered) or close. */
static void conn_finish(struct px_conn *c, int up_clean)
{
    struct px_up *up = c->up;
    const struct px_config *cfg = &c->w->px->cfg;

    conn_account(c, c->status);
    c->up = NULL;
    if (up) {
        struct px_endpoint *ep = up->ep;

        if (up_clean && c->req_done && c->upout_off == c->upout.len &&
            llhttp_should_keep_alive(&c->resp) && !atomic_load(&ep->draining) &&
            !atomic_load(&ep->removed) && ep->w[c->w->id].pool_len < cfg->pool_max)
            pool_put(up);
        else
            up_close(up);
    }
    c->upout.len = c->upout_off = 0;
    if (!c->keep_alive || !c->req_done) {
        c->state = C_CLOSING;
        c->cdeadline = now_ms() + cfg->idle_timeout_ms;
        c->udeadline = 0;
        conn_flush(c);
        return;
    }
    conn_reset_request(c);
    conn_flush(c);
    if (!c->closed && c->in_len)
        conn_process(c);
}

static void conn_to_tunnel(struct px_conn *c, const char *rest, size_t n)
{
    c->state = C_TUNNEL;
    c->replayable = 0;
    c->cdeadline = 0;
    c->udeadline = now_ms() + c->w->px->cfg.response_timeout_ms;
    if (n)
        buf_append(&c->out, rest, n);
    if (c->in_len) {
        buf_append(&c->upout, c->in, c->in_len);
        c->in_len = 0;
    }
    conn_account(c, 101);
}

/* Runs the request parser over buffered client bytes, one request at a time. */
static void conn_process(struct px_conn *c)
{
    int kick = 0; /* after the head, run the parser once more even without new bytes: a
                   * request without body completes only then */

    while ((c->in_len || kick) && (c->state == C_HEAD || c->state == C_BODY) && !c->closed) {
        llhttp_errno_t e = llhttp_execute(&c->req, c->in, c->in_len);
        size_t used = c->in_len;

        kick = 0;
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            used = (size_t)(llhttp_get_error_pos(&c->req) - c->in);
            llhttp_resume(&c->req);
        } else if (e != HPE_OK) {
            log_debug("proxy", "bad request client=%s error=%s", c->ip, llhttp_errno_name(e));
            conn_fail(c, c->err_status ? c->err_status : 400);
            return;
        }
        if (used)
            c->last_fed = c->in[used - 1];
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        if (c->need_dispatch) {
            c->need_dispatch = 0;
            conn_dispatch(c);
            if (c->closed || c->state == C_CLOSING)
                return;
            kick = 1;
        }
        if (c->req_done)
            c->state = C_WAIT;
        if (e == HPE_PAUSED_UPGRADE || c->upgrade)
            break; /* the bytes after an Upgrade request belong to the tunnel */
    }
    if (c->up && c->up->state == U_ACTIVE)
        up_flush(c->up);
    if (!c->closed)
        conn_update(c);
}

/* End of the client's stream: a client that half-closes after a complete request still gets
 * its answer (then the connection closes); anywhere else the exchange is over. */
static void conn_on_eof(struct px_conn *c)
{
    c->eof = 1;
    if (c->state == C_WAIT && c->req_done) {
        c->keep_alive = 0;
        conn_update(c);
        return;
    }
    conn_close(c);
}

static void conn_read(struct px_conn *c)
{
    ssize_t n = recv(c->io.fd, c->in + c->in_len, IN_CAP - c->in_len, 0);

    if (n == 0) {
        if (c->state == C_TUNNEL && c->up && c->up->state == U_ACTIVE) {
            c->eof = 1;
            shutdown(c->up->io.fd, SHUT_WR); /* pass the half-close on */
            conn_update(c);
            return;
        }
        conn_on_eof(c);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    if (c->state == C_BODY)
        c->cdeadline = now_ms() + c->w->px->cfg.body_timeout_ms;
    if (c->state == C_TUNNEL) {
        buf_append(&c->upout, c->in, c->in_len);
        c->in_len = 0;
        c->udeadline = now_ms() + c->w->px->cfg.response_timeout_ms;
        if (c->up && c->up->state == U_ACTIVE)
            up_flush(c->up);
        conn_update(c);
        return;
    }
    if (c->state == C_HEAD && !c->t_start_us)
        c->cdeadline = now_ms() + c->w->px->cfg.header_timeout_ms;
    conn_process(c);
}

static void conn_on_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct px_conn *c = ctx;

    if (events & EPOLLOUT)
        conn_flush(c);
    if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        conn_read(c);
}

/* ---------------------------------------------------------------- upstream side */

static void up_flush(struct px_up *up)
{
    struct px_conn *c = up->c;

    while (c->upout.len > c->upout_off) {
        ssize_t n = send(up->io.fd, c->upout.data + c->upout_off, c->upout.len - c->upout_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            conn_upstream_failed(c, F_RESET);
            return;
        }
        c->upout_off += (size_t)n;
    }
    /* Written bytes are kept while the request may still be sent again elsewhere. */
    if (c->replayable && (c->upout.len > REPLAY_MAX || c->state == C_TUNNEL))
        c->replayable = 0;
    if (!c->replayable && c->upout_off == c->upout.len)
        c->upout.len = c->upout_off = 0;
    conn_update(c);
}

static void up_on_response_done(struct px_conn *c, llhttp_errno_t e)
{
    size_t used = (size_t)(llhttp_get_error_pos(&c->resp) - c->uin);
    size_t rest = c->uin_len - used;

    if (c->status == 101) {
        conn_to_tunnel(c, c->uin + used, rest);
        c->uin_len = 0;
        if (c->up)
            up_flush(c->up);
        conn_flush(c);
        return;
    }
    c->uin_len = 0;
    conn_finish(c, rest == 0 && e == HPE_PAUSED);
}

static void up_read(struct px_up *up)
{
    struct px_conn *c = up->c;
    ssize_t n;
    llhttp_errno_t e;

    if (!c->uin)
        c->uin = xmalloc(IN_CAP);
    n = recv(up->io.fd, c->uin, IN_CAP, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (c->state == C_TUNNEL) {
        if (n <= 0) {
            c->keep_alive = 0;
            c->state = C_CLOSING;
            up_close(up);
            c->up = NULL;
            conn_flush(c);
            return;
        }
        buf_append(&c->out, c->uin, (size_t)n);
        c->udeadline = now_ms() + c->w->px->cfg.response_timeout_ms;
        conn_flush(c);
        return;
    }
    if (n <= 0) {
        e = c->resp_bytes || c->resp_started ? llhttp_finish(&c->resp) : HPE_INVALID_EOF_STATE;
        if (c->resp_done) {
            c->uin_len = 0;
            conn_finish(c, 0);
        } else {
            conn_upstream_failed(c, F_RESET);
        }
        return;
    }
    c->uin_len = (size_t)n;
    c->udeadline = now_ms() + c->w->px->cfg.response_timeout_ms;
    e = llhttp_execute(&c->resp, c->uin, c->uin_len);
    if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
        llhttp_resume(&c->resp);
        up_on_response_done(c, e);
        return;
    }
    c->uin_len = 0;
    if (e != HPE_OK) {
        log_debug("proxy", "bad response upstream=%s error=%s", up->ep->addr,
                  llhttp_errno_name(e));
        conn_upstream_failed(c, F_PROTOCOL);
        return;
    }
    conn_flush(c);
}

static void up_on_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct px_up *up = ctx;
    int err = 0;
    socklen_t len = sizeof err;

    if (up->state == U_POOLED) { /* the server closed an idle connection (or broke protocol) */
        up_close(up);
        return;
    }
    if (up->state == U_CONNECTING) {
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
            conn_upstream_failed(up->c, F_CONNECT);
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLIN)))
            return;
        up->state = U_ACTIVE;
        up->c->udeadline = now_ms() + up->w->px->cfg.response_timeout_ms;
        up_flush(up);
        if (up->closed || !(events & EPOLLIN))
            return;
    }
    if ((events & EPOLLOUT) && !up->closed)
        up_flush(up);
    if (!up->closed && up->c && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        up_read(up);
}

/* ---------------------------------------------------------------- accept, sweep, queue */

void worker__conn_new(struct px_worker *w, struct px_listener *lis, int fd,
                      struct sockaddr_storage *sa)
{
    struct px_conn *c = xcalloc(1, sizeof *c);
    int one = 1;

    c->w = w;
    c->lis = lis; /* lis->nconns counted by the caller; conn_close uncounts */
    c->in = xmalloc(IN_CAP);
    buf_init(&c->out, SIZE_MAX);
    buf_init(&c->upout, SIZE_MAX);
    px_head_init(&c->head, w->px->cfg.max_header_bytes, w->px->cfg.max_headers);
    px_head_init(&c->rhead, w->px->cfg.max_header_bytes, w->px->cfg.max_headers);
    if (sa->ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->ip, sizeof c->ip);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->ip, sizeof c->ip);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    llhttp_init(&c->req, HTTP_REQUEST, &w->req_settings);
    c->req.data = c;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    c->cdeadline = now_ms() + w->px->cfg.idle_timeout_ms;
    if (loop_io_start(w->loop, &c->io, fd, EPOLLIN, conn_on_io, c) < 0) {
        c->io.fd = fd;
        conn_close(c);
        return;
    }
    if (lis->svc->mode == PX_MODE_TCP) { /* L4: connect now and pass bytes through */
        c->t_start_us = now_us();
        c->state = C_TUNNEL;
        c->replayable = 1;
        if (conn_start_upstream(c))
            conn_close(c);
    }
}

void worker__conn_timeout(struct px_conn *c, int64_t now)
{
    if (c->udeadline && now >= c->udeadline) {
        if (c->up && c->up->state == U_CONNECTING) {
            conn_upstream_failed(c, F_CONNECT); /* a connect timeout is a failed connect */
            return;
        }
        if (c->state == C_TUNNEL) {
            conn_close(c);
            return;
        }
        conn_upstream_failed(c, F_TIMEOUT);
        return;
    }
    if (c->cdeadline && now >= c->cdeadline) {
        if (c->state == C_HEAD && c->t_start_us && !c->resp_started) {
            conn_fail(c, 408); /* slow or incomplete head (slowloris) */
            return;
        }
        if (c->state == C_BODY && !c->resp_started) {
            conn_fail(c, 408);
            return;
        }
        conn_close(c);
    }
}

/* For worker_loop.c, which owns the listeners, the sweep and the worker's life. */
void worker__conn_close(struct px_conn *c)
{
    conn_close(c);
}

void worker__up_close(struct px_up *up)
{
    up_close(up);
}
