/* A proxy worker's thread and loop: its SO_REUSEPORT listeners and accepting (with a pause
 * when out of descriptors and a cap on connections), the sweep that applies deadlines and
 * closes idle pooled upstreams, the message queue through which the proxy hands it listeners
 * and stops it, and the worker's start and end. The data path is worker.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/worker-int.h"

static void lis_on_io(struct loop_io *io, unsigned events, void *ctx)
{
    struct px_listener *lis = ctx;
    struct px_worker *w = lis->w;

    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(io->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            /* Out of descriptors: the connection stays queued and the listener readable, so
             * polling on would spin. Rest it; the sweep resumes it. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!lis->paused_until)
                    log_warn("proxy",
                             "msg=\"cannot accept, pausing the listener\" err=\"%s\" "
                             "service=%s ms=%d",
                             strerror(errno), lis->svc->name, ACCEPT_BACKOFF_MS);
                lis->paused_until = now_ms() + ACCEPT_BACKOFF_MS;
                loop_io_modify(w->loop, &lis->io, 0);
            }
            return;
        }
        if (atomic_fetch_add_explicit(&w->px->conns, 1, memory_order_relaxed) >=
            w->px->cfg.max_conns) {
            /* Over the connection cap: refuse at once rather than queue without bound. */
            atomic_fetch_sub_explicit(&w->px->conns, 1, memory_order_relaxed);
            send(fd,
                 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 74, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        lis->nconns++;
        worker__conn_new(w, lis, fd, &sa);
    }
}

/* Frees the closed pod listeners no connection points at any more (pods come and go, so
 * their listeners must not pile up until the worker ends). */
static void worker_listeners_reap(struct px_worker *w)
{
    for (struct px_listener **pp = &w->listeners; *pp;) {
        struct px_listener *lis = *pp;

        if (!lis->tag || lis->io.fd >= 0 || lis->nconns > 0) {
            pp = &lis->next;
            continue;
        }
        *pp = lis->next;
        px_table_unref(lis->t);
        free(lis);
    }
}

static void worker_sweep(struct loop_timer *t, void *ctx)
{
    struct px_worker *w = ctx;
    int64_t now = now_ms();
    const struct px_config *cfg = &w->px->cfg;

    for (struct px_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        worker__conn_timeout(c, now);
    }
    for (struct px_listener *lis = w->listeners; lis; lis = lis->next)
        if (lis->paused_until && now >= lis->paused_until && lis->io.fd >= 0) {
            lis->paused_until = 0;
            loop_io_modify(w->loop, &lis->io, EPOLLIN);
        }
    for (struct px_up *up = w->ups, *next; up; up = next) {
        next = up->next;
        if (up->state == U_POOLED &&
            (now - up->idle_since >= cfg->pool_idle_ms || atomic_load(&up->ep->draining) ||
             atomic_load(&up->ep->removed)))
            worker__up_close(up);
    }
    worker_listeners_reap(w);
    loop_timer_start(w->loop, &w->sweep, SWEEP_MS);
}

/* The service (tag 0) or one pod listener of it (tag) went away: stop accepting. The listener
 * struct stays while connections accepted on it still point at it: a host listener until the
 * worker ends, a pod listener until its last connection closed (worker_listeners_reap). */
static void worker_listener_close(struct px_worker *w, struct px_service *svc, uint64_t tag)
{
    for (struct px_listener *lis = w->listeners; lis; lis = lis->next)
        if (lis->svc == svc && (!tag || lis->tag == tag) && lis->io.fd >= 0) {
            loop_io_stop(w->loop, &lis->io);
            close(lis->io.fd);
            lis->io.fd = -1;
        }
}

static void worker_on_queue(struct loop_io *io, unsigned events, void *ctx)
{
    struct px_worker *w = ctx;
    uint64_t v;
    struct px_msg *msgs;
    int n, stop;

    if (read(w->efd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&w->qmu);
    msgs = w->msgs;
    n = w->nmsgs;
    stop = w->stop;
    w->msgs = NULL;
    w->nmsgs = 0;
    pthread_mutex_unlock(&w->qmu);
    for (int i = 0; i < n; i++) {
        struct px_listener *lis;

        if (msgs[i].fd < 0) {
            worker_listener_close(w, msgs[i].svc, msgs[i].tag);
            continue;
        }
        lis = xcalloc(1, sizeof *lis);

        lis->w = w;
        lis->tag = msgs[i].tag;
        lis->svc = msgs[i].svc;
        lis->t = px_service_table(lis->svc);
        lis->gen = lis->t->gen;
        lis->next = w->listeners;
        w->listeners = lis;
        if (loop_io_start(w->loop, &lis->io, msgs[i].fd, EPOLLIN, lis_on_io, lis) < 0)
            log_error("proxy", "cannot watch listener service=%s", lis->svc->name);
    }
    free(msgs);
    if (stop)
        loop_stop(w->loop);
}

void px_worker_post_listener(struct px_worker *w, struct px_service *svc, int fd)
{
    px_worker_post_pod_listener(w, svc, fd, 0);
}

void px_worker_post_pod_listener(struct px_worker *w, struct px_service *svc, int fd, uint64_t tag)
{
    uint64_t one = 1;

    pthread_mutex_lock(&w->qmu);
    w->msgs = xrealloc(w->msgs, (size_t)(w->nmsgs + 1) * sizeof *w->msgs);
    w->msgs[w->nmsgs++] = (struct px_msg){svc, fd, tag};
    pthread_mutex_unlock(&w->qmu);
    if (write(w->efd, &one, sizeof one) < 0)
        log_error("proxy", "worker queue write failed: %s", strerror(errno));
}

struct px_worker *px_worker_new(struct proxy *px, int id)
{
    struct px_worker *w = xcalloc(1, sizeof *w);

    w->px = px;
    w->id = id;
    w->rr = (unsigned)id;
    w->loop = loop_new();
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0)
        die("eventfd: %s", strerror(errno));
    w->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&w->qmu, NULL);
    worker__settings_init(w);
    loop_io_start(w->loop, &w->qio, w->efd, EPOLLIN, worker_on_queue, w);
    loop_timer_init(&w->sweep, worker_sweep, w);
    loop_timer_start(w->loop, &w->sweep, SWEEP_MS);
    return w;
}

static void *worker_main(void *arg)
{
    struct px_worker *w = arg;

    loop_run(w->loop);
    return NULL;
}

int px_worker_start(struct px_worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);

    return rc ? -rc : 0;
}

void px_worker_stop_join(struct px_worker *w)
{
    uint64_t one = 1;

    pthread_mutex_lock(&w->qmu);
    w->stop = 1;
    pthread_mutex_unlock(&w->qmu);
    if (write(w->efd, &one, sizeof one) < 0)
        log_error("proxy", "worker queue write failed: %s", strerror(errno));
    pthread_join(w->thread, NULL);
}

static void worker_stop_timer(struct loop_timer *t, void *ctx)
{
    struct px_worker *w = ctx;

    loop_stop(w->loop);
}

void px_worker_free(struct px_worker *w)
{
    if (!w)
        return;
    while (w->conns)
        worker__conn_close(w->conns);
    while (w->ups)
        worker__up_close(w->ups);
    while (w->listeners) {
        struct px_listener *lis = w->listeners;

        w->listeners = lis->next;
        if (lis->io.fd >= 0) {
            loop_io_stop(w->loop, &lis->io);
            close(lis->io.fd);
        }
        px_table_unref(lis->t);
        free(lis);
    }
    loop_io_stop(w->loop, &w->qio);
    /* One more turn of the loop runs the deferred frees queued by the closes above; the
     * zero-delay timer ends it. */
    loop_timer_stop(w->loop, &w->sweep);
    loop_timer_init(&w->sweep, worker_stop_timer, w);
    loop_timer_start(w->loop, &w->sweep, 0);
    loop_run(w->loop);
    loop_free(w->loop);
    for (int i = 0; i < w->nmsgs; i++)
        if (w->msgs[i].fd >= 0)
            close(w->msgs[i].fd);
    free(w->msgs);
    close(w->efd);
    if (w->self_ns >= 0)
        close(w->self_ns);
    pthread_mutex_destroy(&w->qmu);
    free(w);
}

struct px_table *worker__lis_table(struct px_listener *lis)
{
    if (atomic_load_explicit(&lis->svc->gen, memory_order_acquire) != lis->gen) {
        px_table_unref(lis->t);
        lis->t = px_service_table(lis->svc);
        lis->gen = lis->t->gen;
    }
    return lis->t;
}

int worker__conn_route(struct px_conn *c, const char *method)
{
    struct px_table *t = worker__lis_table(c->lis), *bt;
    int st = 0;

    px_table_unref(c->bt);
    c->bt = NULL;
    if (!t->routes) /* a Service's listener */
        return 0;
    if (!(bt = px_routes_pick(t->routes, &c->head, method, c->w->id, &st)))
        return st;
    c->bt = px_table_ref(bt);
    return 0;
}
