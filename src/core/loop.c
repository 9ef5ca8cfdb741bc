/* epoll loop with a binary heap of timers and a defer queue (see loop.h). The timeout of
 * epoll_wait comes from the earliest timer, so timers need no timerfd. */
#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

struct defer {
    loop_defer_fn *fn;
    void *ctx;
};

struct loop {
    int epfd;
    int stop;
    int64_t now;
    struct loop_timer **heap;
    int nheap, capheap;
    struct defer *defers;
    int ndefer, capdefer;
    struct loop_io sig_io;
    loop_signal_fn *sig_fn;
    void *sig_ctx;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_defers(struct loop *l);

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof *l);

    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    l->now = mono_ms();
    l->sig_io.fd = -1;
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    /* Objects closed after the loop stopped are freed by their deferred callbacks. */
    run_defers(l);
    close(l->epfd);
    if (l->sig_io.fd >= 0)
        close(l->sig_io.fd);
    free(l->heap);
    free(l->defers);
    free(l);
}

int64_t loop_now_ms(struct loop *l)
{
    return l->now = mono_ms();
}

void loop_stop(struct loop *l)
{
    l->stop = 1;
}

int loop_io_start(struct loop *l, struct loop_io *io, int fd, unsigned events, loop_io_fn *fn,
                  void *ctx)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};

    io->fd = fd;
    io->events = events;
    io->fn = fn;
    io->ctx = ctx;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    return 0;
}

int loop_io_modify(struct loop *l, struct loop_io *io, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};

    if (io->events == events)
        return 0;
    io->events = events;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -errno;
    return 0;
}

void loop_io_stop(struct loop *l, struct loop_io *io)
{
    if (io->fd >= 0)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->fn = NULL;
}

/* Timer heap: a min-heap on due_ms; each timer knows its index for O(log n) removal. */
static void heap_swap(struct loop *l, int a, int b)
{
    struct loop_timer *t = l->heap[a];

    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_idx = a;
    l->heap[b]->heap_idx = b;
}

static void heap_up(struct loop *l, int i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->due_ms > l->heap[i]->due_ms) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct loop *l, int i)
{
    for (;;) {
        int c = 2 * i + 1, m = i;

        if (c < l->nheap && l->heap[c]->due_ms < l->heap[m]->due_ms)
            m = c;
        if (c + 1 < l->nheap && l->heap[c + 1]->due_ms < l->heap[m]->due_ms)
            m = c + 1;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *ctx)
{
    t->due_ms = 0;
    t->heap_idx = -1;
    t->fn = fn;
    t->ctx = ctx;
}

int loop_timer_active(const struct loop_timer *t)
{
    return t->heap_idx >= 0;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
    int i = t->heap_idx;

    if (i < 0)
        return;
    l->nheap--;
    if (i != l->nheap) {
        heap_swap(l, i, l->nheap);
        heap_up(l, i);
        heap_down(l, i);
    }
    t->heap_idx = -1;
    t->due_ms = 0;
}

void loop_timer_start(struct loop *l, struct loop_timer *t, int64_t ms)
{
    loop_timer_stop(l, t);
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = xrealloc(l->heap, (size_t)l->capheap * sizeof *l->heap);
    }
    t->due_ms = mono_ms() + (ms < 0 ? 0 : ms);
    t->heap_idx = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l, t->heap_idx);
}

void loop_defer(struct loop *l, loop_defer_fn *fn, void *ctx)
{
    if (l->ndefer == l->capdefer) {
        l->capdefer = l->capdefer ? l->capdefer * 2 : 64;
        l->defers = xrealloc(l->defers, (size_t)l->capdefer * sizeof *l->defers);
    }
    l->defers[l->ndefer++] = (struct defer){fn, ctx};
}

/* One round: the callbacks queued when it starts. What they defer waits for the next round, after
 * the loop has polled its fds and run its timers (with a zero timeout while defers are pending),
 * so a callback that keeps deferring itself (a work queue that always finds work) cannot starve
 * the sockets, the signals or the timers. */
static void run_defer_round(struct loop *l)
{
    int n = l->ndefer;
    struct defer *d;

    if (!n)
        return;
    d = xmalloc((size_t)n * sizeof *d);
    memcpy(d, l->defers, (size_t)n * sizeof *d);
    l->ndefer = 0;
    for (int i = 0; i < n; i++)
        d[i].fn(d[i].ctx);
    free(d);
}

/* At the end: until the queue is empty (the second phase of every close frees here). */
static void run_defers(struct loop *l)
{
    while (l->ndefer)
        run_defer_round(l);
}

static void run_timers(struct loop *l)
{
    int64_t now = mono_ms();

    l->now = now;
    while (l->nheap && l->heap[0]->due_ms <= now) {
        struct loop_timer *t = l->heap[0];

        loop_timer_stop(l, t);
        t->fn(t, t->ctx);
    }
}

static void on_signal(struct loop_io *io, unsigned events, void *ctx)
{
    struct loop *l = ctx;
    struct signalfd_siginfo si;

    while (read(io->fd, &si, sizeof si) == sizeof si)
        if (l->sig_fn)
            l->sig_fn((int)si.ssi_signo, l->sig_ctx);
}

int loop_signals(struct loop *l, const int *signals, int n, loop_signal_fn *fn, void *ctx)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    for (int i = 0; i < n; i++)
        sigaddset(&set, signals[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    l->sig_fn = fn;
    l->sig_ctx = ctx;
    return loop_io_start(l, &l->sig_io, fd, EPOLLIN, on_signal, l);
}

int loop_run(struct loop *l)
{
    struct epoll_event evs[128];

    l->stop = 0;
    while (!l->stop) {
        int timeout = -1, n;

        run_defer_round(l);
        if (l->ndefer) {
            timeout = 0;
        } else if (l->nheap) {
            int64_t d = l->heap[0]->due_ms - mono_ms();

            timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        }
        n = epoll_wait(l->epfd, evs, 128, timeout);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        l->now = mono_ms();
        for (int i = 0; i < n; i++) {
            struct loop_io *io = evs[i].data.ptr;

            if (io->fn)
                io->fn(io, evs[i].events, io->ctx);
        }
        run_defer_round(l);
        run_timers(l);
    }
    run_defers(l);
    return 0;
}
