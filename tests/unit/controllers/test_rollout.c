/* The Deployment controller's decisions (controllers/rollout.c) against the worked values of
 * ../shared/reference/k8s-semantics.md: the fencepost table of section 2, traces A, B and C of
 * section 3.4, the proportional-scaling example of section 3.6, and checklist items 16.1
 * (rounding), 16.2 (budgets from spec and status.available sums), 16.4 (unhealthy old
 * replicas first, oldest first) and 16.5 (proportional scaling by max-replicas). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/rollout.h"

/* A Deployment; surge/unav are JSON texts ("1", "\"25%\""); NULL surge means Recreate. */
static json_t *deploy(long long R, const char *surge, const char *unav)
{
    char buf[512];
    json_error_t e;
    json_t *d;

    if (surge)
        snprintf(buf, sizeof buf,
                 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":%lld,\"strategy\":"
                 "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":%s,"
                 "\"maxUnavailable\":%s}}}}",
                 R, surge, unav);
    else
        snprintf(buf, sizeof buf,
                 "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":%lld,\"strategy\":"
                 "{\"type\":\"Recreate\"}}}",
                 R);
    d = json_loads(buf, 0, &e);
    assert_non_null(d);
    return d;
}

/* A ReplicaSet created at minute `age` (larger is newer) with spec and available replicas;
 * max < 0 leaves out the max-replicas annotation. */
static json_t *rs(const char *name, int age, long long spec, long long avail, long long max)
{
    char ts[32], mx[32];
    json_t *r;

    snprintf(ts, sizeof ts, "2026-01-01T00:%02d:00Z", age);
    r = json_pack("{s:{s:s,s:s,s:{}},s:{s:I},s:{s:I}}", "metadata", "name", name,
                  "creationTimestamp", ts, "annotations", "spec", "replicas", (json_int_t)spec,
                  "status", "availableReplicas", (json_int_t)avail);
    if (max >= 0) {
        snprintf(mx, sizeof mx, "%lld", max);
        json_object_set_new(json_object_get(json_object_get(r, "metadata"), "annotations"),
                            ROLLOUT_A_MAX, json_string(mx));
    }
    return r;
}

static void set_spec(json_t *r, long long spec, long long avail)
{
    json_object_set_new(json_object_get(r, "spec"), "replicas", json_integer(spec));
    json_object_set_new(json_object_get(r, "status"), "availableReplicas", json_integer(avail));
}

/* Section 2's table (checklist 16.1). */
static void test_fenceposts(void **state)
{
    static const struct {
        long long R;
        const char *surge, *unav;
        long long want_surge, want_unav;
    } t[] = {
        {1, "\"25%\"", "\"25%\"", 1, 0},
        {2, "\"25%\"", "\"25%\"", 1, 0},
        {3, "\"25%\"", "\"25%\"", 1, 0},
        {4, "\"25%\"", "\"25%\"", 1, 1},
        {10, "\"25%\"", "\"25%\"", 3, 2},
        {5, "0", "\"10%\"", 0, 1}, /* both-zero rule */
        {3, "0", "10", 0, 3},      /* clamped to R */
        {0, "\"25%\"", "\"25%\"", 0, 0},
        {10, "\"15%\"", "\"15%\"", 2, 1}, /* 1.5: up/down */
        {4, NULL, NULL, 0, 0},            /* Recreate */
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *d = deploy(t[i].R, t[i].surge, t[i].unav);

        assert_int_equal(rollout_max_surge(d, t[i].R), t[i].want_surge);
        assert_int_equal(rollout_max_unavailable(d, t[i].R), t[i].want_unav);
        json_decref(d);
    }
}

/* Runs rolling passes as rollout_rolling does (new RS first, else old ones, one direction per
 * pass), every pod available at once unless stuck_new, and checks the (old, new) sizes after
 * each pass. The new RS starts at the size rollout_new_rs_replicas gives it on creation. */
static void trace(json_t *d, long long R, int stuck_new, const long long (*want)[2], size_t nw)
{
    json_t *old = rs("web-old", 1, R, R, R), *nrs, *rss = json_array();
    struct rollout r = {d, R, rss, NULL};
    struct rollout_step st[4];
    long long created;

    json_array_append(rss, old);
    created = rollout_new_rs_replicas(&r);
    nrs = rs("web-new", 2, created, stuck_new ? 0 : created, -1);
    json_array_append(rss, nrs);
    r.nrs = nrs;
    for (size_t p = 0; p < nw; p++) {
        long long ns =
            json_integer_value(json_object_get(json_object_get(nrs, "spec"), "replicas"));
        long long os =
            json_integer_value(json_object_get(json_object_get(old, "spec"), "replicas"));

        if (p > 0) {
            long long to = rollout_reconcile_new(&r);

            if (ns != R && to != ns) {
                ns = to;
            } else {
                size_t n = rollout_reconcile_old(&r, st);

                for (size_t i = 0; i < n; i++) {
                    assert_int_equal(st[i].i, 0); /* only the old RS is scaled down */
                    os = st[i].to;
                }
            }
            set_spec(nrs, ns, stuck_new ? 0 : ns);
            set_spec(old, os, os);
        }
        assert_int_equal(os, want[p][0]);
        assert_int_equal(ns, want[p][1]);
    }
    json_decref(old);
    json_decref(nrs);
    json_decref(rss);
}

/* Section 3.4 trace A: R=4, maxSurge 1, maxUnavailable 0; spec sums alternate 5, 4. */
static void test_trace_a(void **state)
{
    static const long long want[][2] = {{4, 1}, {3, 1}, {3, 2}, {2, 2}, {2, 3},
                                        {1, 3}, {1, 4}, {0, 4}, {0, 4}};
    json_t *d = deploy(4, "1", "0");

    trace(d, 4, 0, want, sizeof want / sizeof want[0]);
    json_decref(d);
}

/* Trace B: R=4, maxSurge 0, maxUnavailable 1; the new RS is created with 0 replicas. */
static void test_trace_b(void **state)
{
    static const long long want[][2] = {{4, 0}, {3, 0}, {3, 1}, {2, 1}, {2, 2},
                                        {1, 2}, {1, 3}, {0, 3}, {0, 4}, {0, 4}};
    json_t *d = deploy(4, "0", "1");

    trace(d, 4, 0, want, sizeof want / sizeof want[0]);
    json_decref(d);
}

/* Trace C: R=10, 25%/25%, the new pods never become available: stuck at old 8 / new 5. */
static void test_trace_c(void **state)
{
    static const long long want[][2] = {{10, 3}, {8, 3}, {8, 5}, {8, 5}, {8, 5}};
    json_t *d = deploy(10, "\"25%\"", "\"25%\"");

    trace(d, 10, 1, want, sizeof want / sizeof want[0]);
    json_decref(d);
}

/* Checklist 16.2 and 16.4 and section 3.5: unavailable old replicas go first (they cost no
 * availability), then available ones oldest first, within R - maxUnavailable of the
 * status.available sums. */
static void test_old_unhealthy_first(void **state)
{
    json_t *d = deploy(4, "1", "1"), *rss = json_array();
    json_t *o1 = rs("o1", 1, 2, 2, 5), *o2 = rs("o2", 2, 3, 1, 5), *n = rs("n", 3, 1, 0, 5);
    struct rollout r = {d, 4, rss, n};
    struct rollout_step st[6];
    size_t ns;

    json_array_append(rss, o1);
    json_array_append(rss, o2);
    json_array_append(rss, n);
    /* max down = 6 - 3 - 1 = 2: both from o2's two unavailable replicas; none available. */
    ns = rollout_reconcile_old(&r, st);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 1);
    assert_int_equal(st[0].to, 1);
    /* All healthy, maxSurge 2 maxUnavailable 0: the oldest RS goes first. */
    json_decref(d);
    d = deploy(4, "2", "0");
    r.d = d;
    set_spec(o2, 2, 2);
    set_spec(n, 2, 2);
    ns = rollout_reconcile_old(&r, st);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 0);
    assert_int_equal(st[0].to, 0);
    /* maxUnavailable 1 with the new RS all unavailable: max down = 6 - 3 - 2 = 1, taken from
     * the oldest RS's unavailable replica; with 2 of 4 available nothing more may go. */
    set_spec(o1, 2, 1);
    set_spec(o2, 2, 1);
    set_spec(n, 2, 0);
    json_decref(d);
    d = deploy(4, "0", "1");
    r.d = d;
    ns = rollout_reconcile_old(&r, st);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 0);
    assert_int_equal(st[0].to, 1);
    json_decref(d);
    json_decref(o1);
    json_decref(o2);
    json_decref(n);
    json_decref(rss);
}

/* Section 3.6's example (checklist 16.5): R 10 -> 30, maxSurge 3, stuck at old 8 / new 5 with
 * max-replicas 13: old 8 -> 20, new 5 -> 13, direction "up". */
static void test_proportional(void **state)
{
    json_t *d = deploy(30, "3", "2"), *rss = json_array();
    json_t *o = rs("old", 1, 8, 8, 13), *n = rs("new", 2, 5, 0, 13);
    struct rollout r = {d, 30, rss, n};
    struct rollout_step st[2];
    const char *dir;
    size_t ns;

    json_array_append(rss, o);
    json_array_append(rss, n);
    ns = rollout_scale(&r, st, &dir);
    assert_int_equal(ns, 2);
    assert_string_equal(dir, "up");
    assert_int_equal(st[0].i, 0);
    assert_int_equal(st[0].to, 20);
    assert_int_equal(st[1].i, 1);
    assert_int_equal(st[1].to, 13);
    /* Back down to 10 (allowed 13) from 20/13 with max-replicas 33: round(20*13/33) = 8 and
     * round(13*13/33) = 5, leftovers to the largest. */
    json_decref(d);
    d = deploy(10, "3", "2");
    r.d = d;
    r.R = 10;
    set_spec(o, 20, 20);
    set_spec(n, 13, 0);
    json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
                        ROLLOUT_A_MAX, json_string("33"));
    json_object_set_new(json_object_get(json_object_get(n, "metadata"), "annotations"),
                        ROLLOUT_A_MAX, json_string("33"));
    ns = rollout_scale(&r, st, &dir);
    assert_int_equal(ns, 2);
    assert_string_equal(dir, "down");
    assert_int_equal(st[0].to + st[1].to, 13);
    assert_int_equal(st[0].to, 8);
    assert_int_equal(st[1].to, 5);
    json_decref(d);
    json_decref(o);
    json_decref(n);
    json_decref(rss);
}

/* Section 3.6's other branches: one active RS takes R; a saturated new RS (spec, available and
 * desired-replicas all R) lets every old one go to 0; none active scales the new RS. */
static void test_scale_branches(void **state)
{
    json_t *d = deploy(6, "1", "0"), *rss = json_array();
    json_t *o = rs("old", 1, 0, 0, -1), *n = rs("new", 2, 3, 3, -1);
    struct rollout r = {d, 6, rss, n};
    struct rollout_step st[2];
    const char *dir;
    size_t ns;

    json_array_append(rss, o);
    json_array_append(rss, n);
    ns = rollout_scale(&r, st, &dir);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 1);
    assert_int_equal(st[0].to, 6);
    assert_null(dir);
    set_spec(n, 0, 0);
    ns = rollout_scale(&r, st, &dir);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 1); /* none active: the new RS */
    set_spec(o, 2, 2);
    set_spec(n, 6, 6);
    json_object_set_new(json_object_get(json_object_get(n, "metadata"), "annotations"),
                        ROLLOUT_A_DESIRED, json_string("6"));
    ns = rollout_scale(&r, st, &dir);
    assert_int_equal(ns, 1);
    assert_int_equal(st[0].i, 0);
    assert_int_equal(st[0].to, 0);
    json_decref(d);
    json_decref(o);
    json_decref(n);
    json_decref(rss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fenceposts),
        cmocka_unit_test(test_trace_a),
        cmocka_unit_test(test_trace_b),
        cmocka_unit_test(test_trace_c),
        cmocka_unit_test(test_old_unhealthy_first),
        cmocka_unit_test(test_proportional),
        cmocka_unit_test(test_scale_branches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
