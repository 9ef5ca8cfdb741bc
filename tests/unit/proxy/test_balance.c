/* Unit tests for the proxy balancer and endpoint tables: least-request, round-robin, ready before
 * serving-but-terminating (Kubernetes' fallback), draining and skipped endpoints, table swaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/proxy-int.h"

static struct px_endpoint *ep_new(const char *addr, unsigned flags)
{
    const char *msg = NULL;
    struct px_endpoint *ep = px_endpoint_new(addr, "ns/pod", "abc123", "", flags, 2, &msg);

    assert_non_null(ep);
    return ep;
}

static void test_least_request_prefers_fewest_inflight(void **state)
{
    struct px_endpoint *e[3] = {ep_new("127.0.0.1:1", PX_EP_READY), ep_new("127.0.0.1:2", PX_EP_READY),
                                ep_new("127.0.0.1:3", PX_EP_READY)};
    struct px_table *t = px_table_new(e, 3);
    unsigned rr = 0;

    e[0]->w[0].inflight = 3;
    e[1]->w[0].inflight = 1;
    e[2]->w[0].inflight = 2;
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 0), e[1]);
    /* Worker 1 has its own counts: all zero, so ties rotate over every endpoint. */
    int seen[3] = {0};
    for (int i = 0; i < 6; i++) {
        struct px_endpoint *p = px_balance_pick(t, 1, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 0);
        for (int k = 0; k < 3; k++)
            seen[k] += p == e[k];
    }
    assert_int_equal(seen[0], 2);
    assert_int_equal(seen[1], 2);
    assert_int_equal(seen[2], 2);
    px_table_unref(t);
    for (int i = 0; i < 3; i++)
        px_endpoint_unref(e[i]);
}

static void test_round_robin_rotates(void **state)
{
    struct px_endpoint *e[2] = {ep_new("127.0.0.1:1", PX_EP_READY), ep_new("127.0.0.1:2", PX_EP_READY)};
    struct px_table *t = px_table_new(e, 2);
    unsigned rr = 0;

    e[0]->w[0].inflight = 100; /* ignored by round-robin */
    assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_ROUND_ROBIN, NULL, 0, &rr, 0), e[0]);
    assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_ROUND_ROBIN, NULL, 0, &rr, 0), e[1]);
    assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_ROUND_ROBIN, NULL, 0, &rr, 0), e[0]);
    px_table_unref(t);
    px_endpoint_unref(e[0]);
    px_endpoint_unref(e[1]);
}

static void test_terminating_only_when_nothing_ready(void **state)
{
    struct px_endpoint *ready = ep_new("127.0.0.1:1", PX_EP_READY | PX_EP_SERVING);
    struct px_endpoint *term = ep_new("127.0.0.1:2", PX_EP_SERVING | PX_EP_TERMINATING);
    struct px_endpoint *notserving = ep_new("127.0.0.1:3", PX_EP_TERMINATING);
    struct px_endpoint *e[3] = {term, ready, notserving};
    struct px_table *t = px_table_new(e, 3);
    unsigned rr = 0;

    for (int i = 0; i < 4; i++)
        assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 0), ready);
    /* The ready endpoint failed: fall back to the serving, terminating one, never to one that
     * is neither ready nor serving. */
    assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, &ready, 1, &rr, 0), term);
    struct px_endpoint *skip[2] = {ready, term};
    assert_null(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, skip, 2, &rr, 0));
    px_table_unref(t);
    for (int i = 0; i < 3; i++)
        px_endpoint_unref(e[i]);
}

static void test_draining_never_picked(void **state)
{
    struct px_endpoint *e[2] = {ep_new("127.0.0.1:1", PX_EP_READY), ep_new("127.0.0.1:2", PX_EP_READY)};
    struct px_table *t = px_table_new(e, 2);
    unsigned rr = 0;

    atomic_store(&e[0]->draining, 1);
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_ROUND_ROBIN, NULL, 0, &rr, 0), e[1]);
    atomic_store(&e[1]->draining, 1);
    assert_null(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 0));
    px_table_unref(t);
    px_endpoint_unref(e[0]);
    px_endpoint_unref(e[1]);
}

static void test_recent_connect_failure_avoided(void **state)
{
    struct px_endpoint *e[2] = {ep_new("127.0.0.1:1", PX_EP_READY), ep_new("127.0.0.1:2", PX_EP_READY)};
    struct px_table *t = px_table_new(e, 2);
    unsigned rr = 0;

    e[0]->w[0].down_until = 2000;
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 1000), e[1]);
    /* Other workers keep their own view: worker 1 still uses endpoint 0. */
    int used0 = 0;
    for (int i = 0; i < 2; i++)
        used0 += px_balance_pick(t, 1, PX_BALANCE_ROUND_ROBIN, NULL, 0, &rr, 1000) == e[0];
    assert_int_equal(used0, 1);
    /* Past the cool-down it is used again. */
    e[1]->w[0].inflight = 5;
    assert_ptr_equal(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 2001), e[0]);
    /* When every endpoint failed recently, one is still tried rather than nothing. */
    e[1]->w[0].down_until = 2000;
    assert_non_null(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 1500));
    px_table_unref(t);
    px_endpoint_unref(e[0]);
    px_endpoint_unref(e[1]);
}

static void test_empty_table(void **state)
{
    struct px_table *t = px_table_new(NULL, 0);
    unsigned rr = 0;

    assert_null(px_balance_pick(t, 0, PX_BALANCE_LEAST_REQUEST, NULL, 0, &rr, 0));
    px_table_unref(t);
}

static void test_publish_marks_removed_and_bumps_gen(void **state)
{
    const char *msg = NULL;
    struct px_service *svc = px_service_new("static", "127.0.0.1:9", PX_MODE_HTTP, 2, &msg);
    struct px_endpoint *a = ep_new("127.0.0.1:1", PX_EP_READY), *b = ep_new("127.0.0.1:2", PX_EP_READY);
    struct px_endpoint *both[2] = {a, b};
    struct px_table *held;

    assert_non_null(svc);
    px_service_publish(svc, px_table_new(both, 2));
    assert_int_equal(atomic_load(&svc->gen), 1);
    held = px_service_table(svc); /* a worker still using the old table */
    px_service_publish(svc, px_table_new(&b, 1));
    assert_int_equal(atomic_load(&svc->gen), 2);
    assert_int_equal(atomic_load(&a->removed), 1);
    assert_int_equal(atomic_load(&b->removed), 0);
    assert_int_equal(held->n, 2); /* the old snapshot stays intact until released */
    px_table_unref(held);
    px_endpoint_unref(a);
    px_endpoint_unref(b);
    px_service_free(svc);
}

static void test_bad_addresses(void **state)
{
    const char *msg = NULL;
    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
                         "host.example:80", ":80", "127.0.0.1:8x"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = NULL;
        assert_null(px_endpoint_new(bad[i], "", "", "", PX_EP_READY, 1, &msg));
        assert_non_null(msg);
    }
    struct px_endpoint *v6 = px_endpoint_new("[::1]:8080", "", "", "", PX_EP_READY, 1, &msg);
    assert_non_null(v6);
    px_endpoint_unref(v6);
}

static void test_latency_buckets(void **state)
{
    assert_int_equal(px_lat_bucket(0), 0);
    assert_int_equal(px_lat_bucket(500), 0);
    assert_int_equal(px_lat_bucket(501), 1);
    assert_int_equal(px_lat_bucket(60 * 1000000ULL), PX_LAT_BUCKETS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_request_prefers_fewest_inflight),
        cmocka_unit_test(test_round_robin_rotates),
        cmocka_unit_test(test_terminating_only_when_nothing_ready),
        cmocka_unit_test(test_draining_never_picked),
        cmocka_unit_test(test_recent_connect_failure_avoided),
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_publish_marks_removed_and_bumps_gen),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_latency_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
