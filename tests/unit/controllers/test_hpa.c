/* The HorizontalPodAutoscaler's arithmetic (controllers/hpa_calc.c) against the rules of
 * ../shared/reference/autoscaling-config-exec.md section 1.4/1.5 and checklist items 1-6:
 * utilization as an integer percent of summed requests, the 0.1 tolerance, missing metrics and
 * unready pods, pod grouping (CPU readiness within the initialization period), legacy and
 * behavior normalization (windows, policies, selectPolicy, limits and their conditions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/hpa.h"
#include "core/jx.h"

#define T0 1800000000

static struct hpa_sample ready(int64_t v, int64_t req)
{
    return (struct hpa_sample){HPA_READY, v, req, 1};
}

static int calc(const struct hpa_sample *s, size_t n, int cur, int pct, int64_t tm,
                struct hpa_calc *o)
{
    char msg[256];

    return hpa_replicas(s, n, cur, pct, tm, o, msg, sizeof msg) < 0 ? -1 : o->replicas;
}

/* Checklist 1: 3 pods at request 500m using 90% against 50% -> 6. */
static void test_scale_up(void **state)
{
    struct hpa_sample s[3] = {ready(450, 500), ready(450, 500), ready(450, 500)};
    struct hpa_calc o;

    assert_int_equal(calc(s, 3, 3, 50, 0, &o), 6);
    assert_int_equal(o.utilization, 90);
    assert_int_equal(o.average, 450);
}

/* Checklist 2: within [0.9, 1.1] no change; utilization truncates to an integer percent. */
static void test_tolerance(void **state)
{
    struct hpa_sample s[2] = {ready(109, 200), ready(110, 200)}; /* 54.75% -> 54 */
    struct hpa_sample t[2] = {ready(112, 200), ready(111, 200)}; /* 55.75% -> 55: 1.1 */
    struct hpa_sample u[2] = {ready(113, 200), ready(113, 200)}; /* 56%: 1.12 */
    struct hpa_calc o;

    assert_int_equal(calc(s, 2, 2, 50, 0, &o), 2);
    assert_int_equal(o.utilization, 54);
    assert_int_equal(calc(t, 2, 2, 50, 0, &o), 2);
    assert_int_equal(calc(u, 2, 2, 50, 0, &o), 3);
}

/* Checklist 6: missing metrics count 0 on scale-up, max(100%, target) of request on
 * scale-down; unready pods count 0 on scale-up only. */
static void test_missing_unready(void **state)
{
    struct hpa_sample up[3] = {
        ready(200, 100), ready(200, 100), {HPA_MISSING, 0, 100, 0}}; /* 200% of 50%: 4x, then 2/3 */
    struct hpa_sample down[3] = {ready(10, 100), ready(10, 100), {HPA_MISSING, 0, 100, 0}};
    struct hpa_sample unr[3] = {ready(100, 100), ready(100, 100), {HPA_UNREADY, 900, 100, 1}};
    struct hpa_sample ign[2] = {ready(100, 100), {HPA_IGNORED, 900, 100, 1}};
    struct hpa_calc o;

    /* (200+200+0)/300 = 133% -> ratio 2.66 -> ceil(2.66*3) = 8 */
    assert_int_equal(calc(up, 3, 3, 50, 0, &o), 8);
    /* (10+10+100)/300 = 40% of 50% -> 0.8 -> ceil(0.8*3) = 3: not above current -> 3 */
    assert_int_equal(calc(down, 3, 3, 50, 0, &o), 3);
    /* ready pods at 100% of 50%: the unready one counts 0 -> 66% -> 1.32 -> 4 */
    assert_int_equal(calc(unr, 3, 3, 50, 0, &o), 4);
    /* ignored pods do not count: 100% of 50% on one ready pod -> 2 */
    assert_int_equal(calc(ign, 2, 2, 50, 0, &o), 2);
}

static void test_errors_and_average(void **state)
{
    struct hpa_sample none[1] = {{HPA_UNREADY, 0, 100, 0}};
    struct hpa_sample avg[2] = {ready(300000, 0), ready(100000, 0)}; /* 200 avg vs 100 */
    struct hpa_calc o;
    char msg[256];

    assert_int_equal(hpa_replicas(none, 0, 1, 50, 0, &o, msg, sizeof msg), -1);
    assert_string_equal(msg, "no pods returned by selector while calculating replica count");
    assert_int_equal(hpa_replicas(none, 1, 1, 50, 0, &o, msg, sizeof msg), -1);
    assert_string_equal(msg, "did not receive metrics for targeted pods (pods might be unready)");
    assert_int_equal(calc(avg, 2, 2, 0, 100000, &o), 4);
    assert_int_equal(o.average, 200000);
}

static json_t *pod(const char *phase, const char *ready, const char *start, const char *trans)
{
    char b[512];

    snprintf(b, sizeof b,
             "{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"%s\",\"startTime\":\"%s\","
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":"
             "\"%s\"}]}}",
             phase, start, ready, trans);
    return json_loads(b, 0, NULL);
}

static void test_pod_group(void **state)
{
    json_t *m = json_pack("{s:s,s:s}", "timestamp", "2027-01-15T08:00:40Z", "window", "10.5s");
    time_t now = time_parse("2027-01-15T08:00:45Z");
    json_t *fresh = pod("Running", "True", "2027-01-15T08:00:00Z", "2027-01-15T08:00:20Z");
    json_t *justready = pod("Running", "True", "2027-01-15T08:00:00Z", "2027-01-15T08:00:35Z");
    json_t *pending = pod("Pending", "False", "2027-01-15T08:00:00Z", "2027-01-15T08:00:00Z");
    json_t *old_never = pod("Running", "False", "2027-01-15T07:00:00Z", "2027-01-15T07:00:10Z");
    json_t *old_was = pod("Running", "False", "2027-01-15T07:00:00Z", "2027-01-15T07:30:00Z");

    assert_int_equal(hpa_pod_group(fresh, m, 1, now), HPA_READY);
    /* A metric window has not passed since it became ready: unready for cpu only. */
    assert_int_equal(hpa_pod_group(justready, m, 1, now), HPA_UNREADY);
    assert_int_equal(hpa_pod_group(justready, m, 0, now), HPA_READY);
    assert_int_equal(hpa_pod_group(pending, m, 0, now), HPA_UNREADY);
    assert_int_equal(hpa_pod_group(fresh, NULL, 1, now), HPA_MISSING);
    assert_int_equal(hpa_pod_group(old_never, m, 1, now), HPA_UNREADY);
    assert_int_equal(hpa_pod_group(old_was, m, 1, now), HPA_READY);
    json_object_set_new(json_object_get(fresh, "metadata"), "deletionTimestamp",
                        json_string("2027-01-15T08:00:44Z"));
    assert_int_equal(hpa_pod_group(fresh, m, 1, now), HPA_IGNORED);
    json_decref(m), json_decref(fresh), json_decref(justready), json_decref(pending);
    json_decref(old_never), json_decref(old_was);
}

/* Checklist 3-5, legacy path: 300 s scale-down window, max(2x, 4) per sync, min/max. */
static void test_legacy(void **state)
{
    static struct hpa_hist h;
    struct hpa_norm n;

    hpa_rec_add(&h, 5, T0, 0); /* first sight of a 5-replica target */
    assert_int_equal(hpa_normalize_legacy(&h, 5, 2, 1, 10, T0 + 15, &n), 5);
    assert_string_equal(n.able_reason, "ScaleDownStabilized");
    assert_int_equal(hpa_normalize_legacy(&h, 5, 2, 1, 10, T0 + 301, &n), 2);
    assert_string_equal(n.able_reason, "ReadyForNewScale");
    assert_int_equal(hpa_normalize_legacy(&h, 2, 40, 1, 10, T0 + 320, &n), 4);
    assert_string_equal(n.limit_reason, "ScaleUpLimit");
    assert_true(n.limited);
    assert_int_equal(hpa_normalize_legacy(&h, 8, 40, 1, 10, T0 + 340, &n), 10);
    assert_string_equal(n.limit_reason, "TooManyReplicas");
}

static struct hpa_rules rules(const char *json, int def)
{
    json_t *j = json_loads(json, 0, NULL);
    struct hpa_rules r;

    hpa_rules_read(j, def, &r);
    json_decref(j);
    return r;
}

/* Behavior path: default up (max(+4, x2) per 15 s), window and policies down, Min/Disabled. */
static void test_behavior(void **state)
{
    static struct hpa_hist h;
    struct hpa_rules up = rules("{\"stabilizationWindowSeconds\":0,\"selectPolicy\":\"Max\","
                                "\"policies\":[{\"type\":\"Pods\",\"value\":4,\"periodSeconds\":"
                                "15},{\"type\":\"Percent\",\"value\":100,\"periodSeconds\":15}]}",
                                0);
    struct hpa_rules down = rules("{\"selectPolicy\":\"Max\",\"policies\":[{\"type\":\"Pods\","
                                  "\"value\":1,\"periodSeconds\":60}]}",
                                  HPA_DOWNSCALE_WINDOW);
    struct hpa_rules off = rules("{\"selectPolicy\":\"Disabled\",\"policies\":[{\"type\":"
                                 "\"Pods\",\"value\":1,\"periodSeconds\":60}]}",
                                 0);
    struct hpa_norm n;
    int d;

    assert_int_equal(down.window, 300);
    d = hpa_normalize_behavior(&h, 1, 20, 1, 30, &up, &down, T0, &n);
    assert_int_equal(d, 5); /* max(1+4, 1*2) */
    assert_string_equal(n.limit_reason, "ScaleUpLimit");
    hpa_scale_event_add(&h, 1, 5, &up, &down, T0);
    /* Within the same period the budget is spent: from 5, start of period 1 -> 5 again. */
    assert_int_equal(hpa_normalize_behavior(&h, 5, 20, 1, 30, &up, &down, T0 + 5, &n), 5);
    /* A later period: 5 -> max(9, 10). */
    assert_int_equal(hpa_normalize_behavior(&h, 5, 20, 1, 30, &up, &down, T0 + 20, &n), 10);
    /* Scale down within the 300 s window: the highest recent recommendation (20) holds. */
    assert_int_equal(hpa_normalize_behavior(&h, 10, 2, 1, 30, &up, &down, T0 + 30, &n), 10);
    assert_string_equal(n.able_reason, "ScaleDownStabilized");
    /* After the window, one pod per 60 s. */
    assert_int_equal(hpa_normalize_behavior(&h, 10, 2, 1, 30, &up, &down, T0 + 400, &n), 9);
    assert_string_equal(n.limit_reason, "ScaleDownLimit");
    /* Disabled: never down. */
    assert_int_equal(hpa_normalize_behavior(&h, 9, 2, 1, 30, &up, &off, T0 + 1000, &n), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_up),        cmocka_unit_test(test_tolerance),
        cmocka_unit_test(test_missing_unready), cmocka_unit_test(test_errors_and_average),
        cmocka_unit_test(test_pod_group),       cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_behavior),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
