/* Unit tests for the proxy's sliding windows (src/proxy/window.c): slots by time, sums over a
 * window, reuse of a slot a whole ring later, deltas of counters, success totals, and latency
 * quantiles interpolated as Prometheus' histogram_quantile() does. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "proxy/window.h"

static struct px_wcount reqs(uint64_t ok, uint64_t e5xx, uint64_t conn_err)
{
    struct px_wcount c;

    memset(&c, 0, sizeof c);
    c.requests[1] = ok;
    c.requests[4] = e5xx;
    c.connect_errors = conn_err;
    return c;
}

static void test_sum_over_window(void **state)
{
    struct px_window *w = calloc(1, sizeof *w);
    struct px_wcount c = reqs(10, 0, 0), out;
    int covered;

    /* 10 requests in each of the seconds 1000..1059. */
    for (int64_t t = 1000; t < 1060; t++)
        px_window_add(w, t, &c);
    covered = px_window_sum(w, 1059, 30, &out);
    /* 30 s rounds up to whole slots: the slot being filled plus 6 whole ones (35 s). */
    assert_int_equal(out.requests[1], 10 * (1059 - 1025 + 1));
    assert_int_equal(covered, 35);
    covered = px_window_sum(w, 1059, 600, &out);
    assert_int_equal(out.requests[1], 600);
    assert_int_equal(covered, 60);
    /* Nothing newer: five minutes later the last minute's counts are still in a 10 min window,
     * not in a 1 min one. */
    covered = px_window_sum(w, 1359, 60, &out);
    assert_int_equal(out.requests[1], 0);
    assert_int_equal(covered, 0);
    covered = px_window_sum(w, 1359, 600, &out);
    assert_int_equal(out.requests[1], 600);
    assert_false(px_window_idle(w, 1359));
    assert_true(px_window_idle(w, 1059 + PX_WIN_MAX_S + PX_WIN_SLOT_S));
    free(w);
}

static void test_slot_reused_after_a_ring(void **state)
{
    struct px_window *w = calloc(1, sizeof *w);
    struct px_wcount c = reqs(1, 0, 0), out;

    px_window_add(w, 100, &c);
    /* The same slot index a whole ring later: the old count is gone, not added to. */
    px_window_add(w, 100 + PX_WIN_SLOT_S * PX_WIN_SLOTS, &c);
    px_window_sum(w, 100 + PX_WIN_SLOT_S * PX_WIN_SLOTS, PX_WIN_MAX_S, &out);
    assert_int_equal(out.requests[1], 1);
    free(w);
}

static void test_delta_and_totals(void **state)
{
    struct px_wcount a = reqs(50, 5, 2), b = reqs(40, 1, 2), d;

    px_wcount_delta(&a, &b, &d);
    assert_int_equal(d.requests[1], 10);
    assert_int_equal(d.requests[4], 4);
    assert_int_equal(d.connect_errors, 0);
    /* A counter that went down (a new endpoint object) counts from zero. */
    px_wcount_delta(&b, &a, &d);
    assert_int_equal(d.requests[1], 40);
    a.requests[PX_CLASS_ABORTED] = 7; /* abandoned by the client: neither success nor failure */
    assert_int_equal(px_wcount_total(&a), 57);
    assert_int_equal(px_wcount_failures(&a), 7);
}

static void test_quantiles(void **state)
{
    struct px_wcount c;

    memset(&c, 0, sizeof c);
    assert_true(px_wcount_quantile(&c, 0.5) < 0); /* no requests: no quantile */
    /* 100 requests in the bucket (0.001, 0.0025]: quantiles interpolate inside it. */
    c.latency[2] = 100;
    assert_true(fabs(px_wcount_quantile(&c, 0.5) - 0.00175) < 1e-9);
    assert_true(fabs(px_wcount_quantile(&c, 0.99) - (0.001 + 0.0015 * 0.99)) < 1e-9);
    /* Add 100 in the first bucket [0, 0.0005]: the median is its upper bound. */
    c.latency[0] = 100;
    assert_true(fabs(px_wcount_quantile(&c, 0.5) - 0.0005) < 1e-9);
    /* In +Inf: the largest finite bound, as histogram_quantile(). */
    memset(&c, 0, sizeof c);
    c.latency[PX_LAT_BUCKETS - 1] = 3;
    assert_true(fabs(px_wcount_quantile(&c, 0.99) - px_lat_bounds[PX_LAT_BUCKETS - 2]) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_over_window),
        cmocka_unit_test(test_slot_reused_after_a_ring),
        cmocka_unit_test(test_delta_and_totals),
        cmocka_unit_test(test_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
