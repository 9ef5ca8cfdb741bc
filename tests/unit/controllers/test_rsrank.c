/* The ReplicaSet controller's scale-down order (rs_victims_sort), one case per rank of
 * ../shared/reference/k8s-semantics.md section 3.10 (ranks 1-4 and 6-8; rank 5 compares
 * sibling pods per node, moot on a single node): each case holds two pods that differ only in
 * that rank's field and says which goes first, in both input orders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/decide.h"

/* A scheduled, Running, Ready pod created at 10:00 with no restarts, then patched by extra. */
static json_t *pod(const char *name, const char *extra)
{
    json_error_t e;
    json_t *p =
        json_pack("{s:{s:s,s:s,s:s,s:{}},s:{s:s},s:{s:s,s:[{s:s,s:s,s:s}],s:[{s:i}]}}", "metadata",
                  "name", name, "uid", name, "creationTimestamp", "2026-01-01T10:00:00Z",
                  "annotations", "spec", "nodeName", "n1", "status", "phase", "Running",
                  "conditions", "type", "Ready", "status", "True", "lastTransitionTime",
                  "2026-01-01T10:01:00Z", "containerStatuses", "restartCount", 0);
    json_t *x, *v;
    const char *k;

    assert_non_null(p);
    if (extra) {
        x = json_loads(extra, 0, &e);
        assert_non_null(x);
        /* A shallow merge per top-level section keeps the test table short. */
        json_object_foreach(x, k, v)
        {
            if (json_is_object(v) && json_is_object(json_object_get(p, k)))
                json_object_update(json_object_get(p, k), v);
            else
                json_object_set(p, k, v);
        }
        json_decref(x);
    }
    return p;
}

static void test_ranks(void **state)
{
    static const struct {
        const char *rank, *first, *second; /* JSON patches of the pod deleted first / second */
    } t[] = {
        {"1 unscheduled first", "{\"spec\":{}}", NULL},
        {"2 Pending before Running", "{\"status\":{\"phase\":\"Pending\"}}", NULL},
        {"2 Unknown before Running", "{\"status\":{\"phase\":\"Unknown\"}}", NULL},
        {"2 Pending before Unknown", "{\"status\":{\"phase\":\"Pending\"}}",
         "{\"status\":{\"phase\":\"Unknown\"}}"},
        {"3 not Ready first",
         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}", NULL},
        {"4 lower deletion cost first",
         "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"-5\"}}}",
         "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"7\"}}}"},
        {"6 more recently Ready first",
         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
         "\"lastTransitionTime\":\"2026-01-01T11:00:00Z\"}]}}",
         NULL},
        {"7 more restarts first", "{\"status\":{\"containerStatuses\":[{\"restartCount\":3}]}}",
         NULL},
        {"8 newer first", "{\"metadata\":{\"creationTimestamp\":\"2026-01-01T10:00:30Z\"}}", NULL},
        {"4 before 6: cost outranks readiness time",
         "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"1\"}}}",
         "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"2\"}},"
         "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
         "\"lastTransitionTime\":\"2026-01-01T11:00:00Z\"}]}}"},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (int order = 0; order < 2; order++) {
            json_t *a = pod("a", t[i].first), *b = pod("b", t[i].second), *v[2];

            if (strstr(t[i].rank, "unscheduled"))
                json_object_del(json_object_get(a, "spec"), "nodeName");
            v[0] = order ? b : a;
            v[1] = order ? a : b;
            rs_victims_sort(v, 2);
            if (v[0] != a)
                fail_msg("rank %s: b sorted first", t[i].rank);
            json_decref(a);
            json_decref(b);
        }
    }
}

/* Many pods: the order is a total one (sorted output is stable under re-sorting). */
static void test_many(void **state)
{
    json_t *v[6];
    char extra[200];

    for (int i = 0; i < 6; i++) {
        char name[8];

        snprintf(name, sizeof name, "p%d", i);
        snprintf(extra, sizeof extra,
                 "{\"status\":{\"containerStatuses\":[{\"restartCount\":%d}]}}", i % 3);
        v[i] = pod(name, extra);
    }
    json_object_set_new(json_object_get(v[4], "status"), "phase", json_string("Pending"));
    rs_victims_sort(v, 6);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v[0], "metadata"), "name")), "p4");
    /* Then restarts 2 (p2, p5: equal otherwise, uid order), 1 (p1), 0 (p0, p3). */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v[1], "metadata"), "name")), "p2");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v[2], "metadata"), "name")), "p5");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v[3], "metadata"), "name")), "p1");
    for (int i = 0; i < 6; i++)
        json_decref(v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranks),
        cmocka_unit_test(test_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
