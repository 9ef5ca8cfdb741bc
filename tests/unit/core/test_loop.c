/* The event loop's defer queue (core/loop.c): a callback that keeps deferring itself (a work
 * queue that always finds work) must not starve the loop's timers and fds, and what is still
 * deferred when the loop stops runs before loop_run returns (the second phase of a close). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"

#define SPIN_LIMIT 2000000 /* rounds before the spinning callback gives up and stops the loop */

struct spin {
    struct loop *loop;
    long rounds;
    int stop_seen; /* set by the timer or the fd callback */
    int gave_up;
};

static void spin(void *ctx)
{
    struct spin *s = ctx;

    if (s->stop_seen)
        return;
    if (++s->rounds >= SPIN_LIMIT) {
        s->gave_up = 1;
        loop_stop(s->loop);
        return;
    }
    loop_defer(s->loop, spin, s);
}

static void on_timer(struct loop_timer *t, void *ctx)
{
    struct spin *s = ctx;

    (void)t;
    s->stop_seen = 1;
    loop_stop(s->loop);
}

static void test_timer_not_starved(void **state)
{
    struct spin s = {.loop = loop_new()};
    struct loop_timer t;

    (void)state;
    loop_timer_init(&t, on_timer, &s);
    loop_timer_start(s.loop, &t, 5);
    loop_defer(s.loop, spin, &s);
    loop_run(s.loop);
    assert_false(s.gave_up);
    assert_true(s.stop_seen);
    loop_free(s.loop);
}

static void on_read(struct loop_io *io, unsigned events, void *ctx)
{
    struct spin *s = ctx;
    char c;

    (void)events;
    assert_int_equal(read(io->fd, &c, 1), 1);
    s->stop_seen = 1;
    loop_stop(s->loop);
}

static void test_fd_not_starved(void **state)
{
    struct spin s = {.loop = loop_new()};
    struct loop_io io;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop_io_start(s.loop, &io, p[0], EPOLLIN, on_read, &s), 0);
    loop_defer(s.loop, spin, &s);
    assert_int_equal(write(p[1], "x", 1), 1);
    loop_run(s.loop);
    assert_false(s.gave_up);
    assert_true(s.stop_seen);
    loop_io_stop(s.loop, &io);
    close(p[0]);
    close(p[1]);
    loop_free(s.loop);
}

struct chain {
    struct loop *loop;
    int left, ran;
};

static void chained(void *ctx)
{
    struct chain *c = ctx;

    c->ran++;
    if (--c->left > 0)
        loop_defer(c->loop, chained, c);
}

static void stop_now(struct loop_timer *t, void *ctx)
{
    struct chain *c = ctx;

    (void)t;
    loop_defer(c->loop, chained, c);
    loop_stop(c->loop);
}

static void test_defers_drained_at_stop(void **state)
{
    struct chain c = {.loop = loop_new(), .left = 50};
    struct loop_timer t;

    (void)state;
    loop_timer_init(&t, stop_now, &c);
    loop_timer_start(c.loop, &t, 0);
    loop_run(c.loop);
    assert_int_equal(c.ran, 50);
    loop_free(c.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_not_starved),
        cmocka_unit_test(test_fd_not_starved),
        cmocka_unit_test(test_defers_drained_at_stop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
