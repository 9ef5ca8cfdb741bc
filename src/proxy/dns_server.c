/* The cluster DNS server: one thread and loop that answers on every UDP socket and TCP listener
 * the pod-listener code hands it (one pair per pod network namespace, plus the host's), from
 * the Service view the API provider publishes. Queries are small and answered from memory, so
 * one thread is plenty; TCP connections are capped and closed when idle. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "proxy/dns-int.h"

enum { S_UDP, S_TCP_LISTEN, S_TCP_CONN };

struct dns_sock {
    struct loop_io io;
    struct px_dns *d;
    int kind;
    uint64_t tag;
    int64_t deadline; /* S_TCP_CONN: closed when idle past this */
    size_t len;       /* S_TCP_CONN: bytes in buf */
    uint8_t *buf;     /* S_TCP_CONN: 2-byte length + message */
    struct dns_sock *next;
};

struct dns_msg {
    uint64_t tag;
    int udp, tcp; /* both -1: remove tag */
};

struct px_dns {
    pthread_t th;
    struct loop *loop;
    struct loop_io qio;
    struct loop_timer sweep;
    int efd, stop, ntcp;
    pthread_mutex_t mu; /* view, msgs, stop, counts */
    json_t *view;
    struct dns_msg *msgs;
    int nmsgs;
    uint64_t counts[7];
    struct dns_sock *socks;
};

static void free_later(void *p)
{
    struct dns_sock *s = p;

    free(s->buf);
    free(s);
}

static void sock_close(struct px_dns *d, struct dns_sock *s)
{
    for (struct dns_sock **pp = &d->socks; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    if (s->kind == S_TCP_CONN)
        d->ntcp--;
    loop_io_stop(d->loop, &s->io);
    close(s->io.fd);
    loop_defer(d->loop, free_later, s);
}

/* One reply for q; -1 when none is sent. */
static int answer(struct px_dns *d, const uint8_t *q, size_t n, size_t max, uint8_t **out,
                  size_t *outn)
{
    int rc, rcode;

    pthread_mutex_lock(&d->mu);
    rc = px_dns_answer(d->view, q, n, max, out, outn, &rcode);
    if (!rc)
        d->counts[rcode >= 0 && rcode < 6 ? rcode : 6]++;
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static void on_udp(struct dns_sock *s)
{
    uint8_t q[PX_DNS_MAX_MSG], *out;
    size_t outn;

    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        ssize_t n = recvfrom(s->io.fd, q, sizeof q, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);

        if (n < 0)
            return;
        if (answer(s->d, q, (size_t)n, PX_DNS_UDP_MAX, &out, &outn) < 0)
            continue;
        sendto(s->io.fd, out, outn, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
        free(out);
    }
}

static void on_io(struct loop_io *io, unsigned events, void *ctx);

static void on_accept(struct dns_sock *s)
{
    struct px_dns *d = s->d;

    for (int i = 0; i < 16; i++) {
        int fd = accept4(s->io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct dns_sock *c;

        if (fd < 0)
            return;
        if (d->ntcp >= PX_DNS_MAX_TCP) { /* over the cap: refuse rather than queue */
            close(fd);
            continue;
        }
        c = xcalloc(1, sizeof *c);
        c->d = d;
        c->kind = S_TCP_CONN;
        c->tag = s->tag;
        c->buf = xmalloc(2 + PX_DNS_MAX_MSG);
        c->deadline = loop_now_ms(d->loop) + PX_DNS_TCP_IDLE_MS;
        if (loop_io_start(d->loop, &c->io, fd, EPOLLIN, on_io, c) < 0) {
            close(fd);
            free(c->buf);
            free(c);
            continue;
        }
        c->next = d->socks;
        d->socks = c;
        d->ntcp++;
    }
}

/* TCP: each message has a 2-byte length; replies are small and written at once (a client that
 * does not read them is closed). */
static void on_tcp(struct dns_sock *c)
{
    ssize_t n = recv(c->io.fd, c->buf + c->len, 2 + PX_DNS_MAX_MSG - c->len, MSG_DONTWAIT);
    size_t want;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        sock_close(c->d, c);
        return;
    }
    if (n < 0)
        return;
    c->len += (size_t)n;
    c->deadline = loop_now_ms(c->d->loop) + PX_DNS_TCP_IDLE_MS;
    while (c->len >= 2) {
        uint8_t *out, hdr[2];
        size_t outn;

        want = (size_t)c->buf[0] << 8 | c->buf[1];
        if (want == 0 || want > PX_DNS_MAX_MSG) {
            sock_close(c->d, c);
            return;
        }
        if (c->len < 2 + want)
            return;
        if (answer(c->d, c->buf + 2, want, PX_DNS_MAX_MSG, &out, &outn) == 0) {
            struct iovec iov[2] = {{hdr, 2}, {out, outn}};
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

            hdr[0] = (uint8_t)(outn >> 8);
            hdr[1] = (uint8_t)outn;
            n = sendmsg(c->io.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
            free(out);
            if (n != (ssize_t)(outn + 2)) {
                sock_close(c->d, c);
                return;
            }
        }
        memmove(c->buf, c->buf + 2 + want, c->len - 2 - want);
        c->len -= 2 + want;
    }
}

static void on_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct dns_sock *s = ctx;

    if (s->kind == S_UDP)
        on_udp(s);
    else if (s->kind == S_TCP_LISTEN)
        on_accept(s);
    else
        on_tcp(s);
}

static void sock_add(struct px_dns *d, uint64_t tag, int fd, int kind)
{
    struct dns_sock *s = xcalloc(1, sizeof *s);

    s->d = d;
    s->tag = tag;
    s->kind = kind;
    if (loop_io_start(d->loop, &s->io, fd, EPOLLIN, on_io, s) < 0) {
        log_error("proxy", "msg=\"cannot watch a DNS socket\" tag=%llu", (unsigned long long)tag);
        close(fd);
        free(s);
        return;
    }
    s->next = d->socks;
    d->socks = s;
}

static void on_queue(struct loop_io *io, unsigned events, void *ctx)
{
    struct px_dns *d = ctx;
    struct dns_msg *msgs;
    uint64_t v;
    int n, stop;

    if (read(d->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&d->mu);
    msgs = d->msgs;
    n = d->nmsgs;
    stop = d->stop;
    d->msgs = NULL;
    d->nmsgs = 0;
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < n; i++) {
        if (msgs[i].udp >= 0)
            sock_add(d, msgs[i].tag, msgs[i].udp, S_UDP);
        if (msgs[i].tcp >= 0)
            sock_add(d, msgs[i].tag, msgs[i].tcp, S_TCP_LISTEN);
        if (msgs[i].udp < 0 && msgs[i].tcp < 0)
            for (struct dns_sock *s = d->socks, *next; s; s = next) {
                next = s->next;
                if (s->tag == msgs[i].tag && s->kind != S_TCP_CONN)
                    sock_close(d, s);
            }
    }
    free(msgs);
    if (stop)
        loop_stop(d->loop);
}

static void on_sweep(struct loop_timer *t, void *ctx)
{
    struct px_dns *d = ctx;
    int64_t now = loop_now_ms(d->loop);

    for (struct dns_sock *s = d->socks, *next; s; s = next) {
        next = s->next;
        if (s->kind == S_TCP_CONN && now >= s->deadline)
            sock_close(d, s);
    }
    loop_timer_start(d->loop, &d->sweep, 1000);
}

static void post(struct px_dns *d, struct dns_msg m, int stop)
{
    uint64_t one = 1;

    pthread_mutex_lock(&d->mu);
    if (stop) {
        d->stop = 1;
    } else {
        d->msgs = xrealloc(d->msgs, (size_t)(d->nmsgs + 1) * sizeof *d->msgs);
        d->msgs[d->nmsgs++] = m;
    }
    pthread_mutex_unlock(&d->mu);
    if (write(d->efd, &one, sizeof one) < 0)
        log_error("proxy", "msg=\"DNS queue write failed\" err=\"%s\"", strerror(errno));
}

void px_dns_add(struct px_dns *d, uint64_t tag, int udp_fd, int tcp_fd)
{
    if (udp_fd >= 0 || tcp_fd >= 0)
        post(d, (struct dns_msg){tag, udp_fd, tcp_fd}, 0);
}

void px_dns_remove(struct px_dns *d, uint64_t tag)
{
    post(d, (struct dns_msg){tag, -1, -1}, 0);
}

void px_dns_set_view(struct px_dns *d, json_t *view)
{
    json_t *old;

    pthread_mutex_lock(&d->mu);
    old = d->view;
    d->view = view;
    pthread_mutex_unlock(&d->mu);
    json_decref(old);
}

void px_dns_counts(struct px_dns *d, uint64_t out[7])
{
    pthread_mutex_lock(&d->mu);
    memcpy(out, d->counts, sizeof d->counts);
    pthread_mutex_unlock(&d->mu);
}

static void *dns_main(void *arg)
{
    struct px_dns *d = arg;

    loop_run(d->loop);
    return NULL;
}

struct px_dns *px_dns_start(void)
{
    struct px_dns *d = xcalloc(1, sizeof *d);

    d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->efd < 0) {
        log_error("proxy", "msg=\"DNS: eventfd failed\" err=\"%s\"", strerror(errno));
        free(d);
        return NULL;
    }
    d->loop = loop_new();
    d->view = json_object();
    pthread_mutex_init(&d->mu, NULL);
    loop_io_start(d->loop, &d->qio, d->efd, EPOLLIN, on_queue, d);
    loop_timer_init(&d->sweep, on_sweep, d);
    loop_timer_start(d->loop, &d->sweep, 1000);
    if (pthread_create(&d->th, NULL, dns_main, d)) {
        log_error("proxy", "msg=\"DNS: cannot start a thread\"");
        loop_free(d->loop);
        close(d->efd);
        json_decref(d->view);
        free(d);
        return NULL;
    }
    return d;
}

void px_dns_stop(struct px_dns *d)
{
    if (!d)
        return;
    post(d, (struct dns_msg){0}, 1);
    pthread_join(d->th, NULL);
    while (d->socks)
        sock_close(d, d->socks);
    loop_io_stop(d->loop, &d->qio);
    loop_timer_stop(d->loop, &d->sweep);
    loop_free(d->loop); /* runs the deferred frees */
    for (int i = 0; i < d->nmsgs; i++) {
        if (d->msgs[i].udp >= 0)
            close(d->msgs[i].udp);
        if (d->msgs[i].tcp >= 0)
            close(d->msgs[i].tcp);
    }
    free(d->msgs);
    close(d->efd);
    json_decref(d->view);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
