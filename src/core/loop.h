/* The event loop: epoll for fds (sockets, pidfds, signalfd), a timer heap, and a defer queue
 * that runs after each iteration (two-phase close: unhook now, free in the defer phase).
 * One loop per thread; nothing here is thread-safe. */
#ifndef KROLL_CORE_LOOP_H
#define KROLL_CORE_LOOP_H

#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

typedef void loop_io_fn(struct loop_io *io, unsigned events, void *ctx);
typedef void loop_timer_fn(struct loop_timer *t, void *ctx);
typedef void loop_defer_fn(void *ctx);

struct loop_io {
    int fd;
    unsigned events; /* EPOLLIN | EPOLLOUT ... currently registered */
    loop_io_fn *fn;
    void *ctx;
};

struct loop_timer {
    int64_t due_ms; /* monotonic ms; 0 when not armed */
    int heap_idx;   /* -1 when not in the heap */
    loop_timer_fn *fn;
    void *ctx;
};

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Runs until loop_stop(); returns 0. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
int64_t loop_now_ms(struct loop *l);

/* Registers io->fd for events; io is embedded in its owner and must outlive registration. */
int loop_io_start(struct loop *l, struct loop_io *io, int fd, unsigned events, loop_io_fn *fn,
                  void *ctx);
int loop_io_modify(struct loop *l, struct loop_io *io, unsigned events);
void loop_io_stop(struct loop *l, struct loop_io *io);

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *ctx);
/* (Re)arms t to fire once after ms milliseconds. */
void loop_timer_start(struct loop *l, struct loop_timer *t, int64_t ms);
void loop_timer_stop(struct loop *l, struct loop_timer *t);
int loop_timer_active(const struct loop_timer *t);

/* Runs fn(ctx) after the current iteration's callbacks. What a deferred callback defers runs
 * in the next iteration, after the loop has polled its fds (without waiting) and run its due
 * timers, so a callback that keeps deferring itself cannot starve them; when the loop stops,
 * every deferred callback still runs before loop_run returns. */
void loop_defer(struct loop *l, loop_defer_fn *fn, void *ctx);

/* Routes the given signals (blocked for the process) to fn through a signalfd. */
typedef void loop_signal_fn(int signo, void *ctx);
int loop_signals(struct loop *l, const int *signals, int n, loop_signal_fn *fn, void *ctx);

#endif
