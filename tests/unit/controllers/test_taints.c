/* Taint/toleration and node affinity matching (controllers/taints.h) and the scheduler's
 * filter messages (sched_pick_node), against upstream's ToleratesTaint, TaintToleration,
 * NodeAffinity and the taint-eviction controller's getMinTolerationTime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/decide.h"
#include "controllers/taints.h"

static json_t *j(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);

    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

static void test_tolerates(void **state)
{
    static const struct {
        const char *tol, *taint;
        int want;
    } t[] = {
        {"{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\"}",
         "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}", 1},
        {"{\"key\":\"k\",\"value\":\"v\"}",
         "{\"key\":\"k\",\"value\":\"w\",\"effect\":\"NoSchedule\"}", 0},
        {"{\"key\":\"k\",\"operator\":\"Exists\"}",
         "{\"key\":\"k\",\"value\":\"w\",\"effect\":\"NoExecute\"}", 1},
        {"{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}",
         "{\"key\":\"k\",\"effect\":\"NoSchedule\"}", 0},
        {"{\"operator\":\"Exists\"}", "{\"key\":\"any\",\"value\":\"x\",\"effect\":\"NoExecute\"}",
         1},
        {"{\"key\":\"other\",\"operator\":\"Exists\"}", "{\"key\":\"k\",\"effect\":\"NoSchedule\"}",
         0},
        {"{\"key\":\"k\",\"operator\":\"Equal\"}", "{\"key\":\"k\",\"effect\":\"NoSchedule\"}", 1},
        {"{\"key\":\"k\",\"operator\":\"Lt\",\"value\":\"1\"}",
         "{\"key\":\"k\",\"value\":\"0\",\"effect\":\"NoSchedule\"}", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *a = j(t[i].tol), *b = j(t[i].taint);

        if (toleration_tolerates(a, b) != t[i].want)
            fail_msg("case %zu: %s vs %s: want %d", i, t[i].tol, t[i].taint, t[i].want);
        json_decref(a);
        json_decref(b);
    }
}

static json_t *node(void)
{
    return j("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\","
             "\"nvidia.com/gpu.count\":\"2\",\"empty\":\"\"}},\"spec\":{\"taints\":["
             "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"},"
             "{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":\"NoSchedule\"},"
             "{\"key\":\"bad\",\"value\":\"disk\",\"effect\":\"NoExecute\"}]},"
             "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"pods\":\"110\"}}}");
}

/* A pod whose spec is given as the inside of a JSON object. */
static json_t *pod(const char *spec)
{
    char buf[2000];

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{%s%s"
             "\"containers\":[{\"name\":\"c\"}]}}",
             spec, *spec ? "," : "");
    return j(buf);
}

static void test_untolerated(void **state)
{
    json_t *n = node(), *p = pod("");
    const json_t *t;

    (void)state;
    t = taint_untolerated(n, p, 0);
    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "key")), "gpu");
    assert_string_equal(json_string_value(json_object_get(taint_untolerated(n, p, 1), "key")),
                        "bad");
    assert_int_equal(noexec_toleration_seconds(n, p), 0);
    json_decref(p);
    p = pod("\"tolerations\":[{\"key\":\"gpu\",\"operator\":\"Exists\"},{\"key\":\"bad\","
            "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":30},"
            "{\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":10}]");
    assert_null(taint_untolerated(n, p, 0));
    /* The first toleration matching the taint is the one used: 30, not 10. */
    assert_int_equal(noexec_toleration_seconds(n, p), 30);
    json_decref(p);
    p = pod("\"tolerations\":[{\"operator\":\"Exists\"}]");
    assert_int_equal(noexec_toleration_seconds(n, p), -1);
    json_decref(p);
    p = pod("\"tolerations\":[{\"operator\":\"Exists\",\"effect\":\"NoExecute\","
            "\"tolerationSeconds\":-5}]");
    assert_int_equal(noexec_toleration_seconds(n, p), 0);
    json_decref(p);
    json_decref(n);
}

static void test_affinity(void **state)
{
    static const struct {
        const char *spec;
        int want;
    } t[] = {
        {"", 1},
        {"\"nodeSelector\":{\"kubernetes.io/hostname\":\"n1\"}", 1},
        {"\"nodeSelector\":{\"kubernetes.io/hostname\":\"n2\"}", 0},
        {"\"nodeSelector\":{\"empty\":\"\"}", 1},
        {"\"nodeSelector\":{\"missing\":\"\"}", 0},
#define REQ(terms)                                                                                 \
    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"         \
    "\"nodeSelectorTerms\":" terms "}}}"
#define EXPR(k, op, vals)                                                                          \
    "{\"matchExpressions\":[{\"key\":\"" k "\",\"operator\":\"" op "\"" vals "}]}"
        {REQ("[]"), 0},
        {REQ("[{}]"), 0},
        {REQ("[" EXPR("kubernetes.io/hostname", "In", ",\"values\":[\"a\",\"n1\"]") "]"), 1},
        {REQ("[" EXPR("kubernetes.io/hostname", "In", ",\"values\":[\"a\"]") "]"), 0},
        {REQ("[" EXPR("kubernetes.io/hostname", "In",
                      ",\"values\":[\"a\"]") "," EXPR("empty", "Exists", "") "]"),
         1},
        {REQ("[" EXPR("kubernetes.io/hostname", "NotIn", ",\"values\":[\"n1\"]") "]"), 0},
        {REQ("[" EXPR("zone", "NotIn", ",\"values\":[\"a\"]") "]"), 1},
        {REQ("[" EXPR("zone", "DoesNotExist", "") "]"), 1},
        {REQ("[" EXPR("zone", "Exists", "") "]"), 0},
        {REQ("[" EXPR("nvidia.com/gpu.count", "Gt", ",\"values\":[\"1\"]") "]"), 1},
        {REQ("[" EXPR("nvidia.com/gpu.count", "Gt", ",\"values\":[\"2\"]") "]"), 0},
        {REQ("[" EXPR("nvidia.com/gpu.count", "Lt", ",\"values\":[\"3\"]") "]"), 1},
        {REQ("[" EXPR("nvidia.com/gpu.count", "Lt", ",\"values\":[\"x\"]") "]"), 0},
        {REQ("[" EXPR("kubernetes.io/hostname", "Gt", ",\"values\":[\"1\"]") "]"), 0},
        {REQ("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
             "\"values\":[\"n1\"]}]}]"),
         1},
        {REQ("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"NotIn\","
             "\"values\":[\"n1\"]}]}]"),
         0},
        /* Expressions and fields of one term are ANDed. */
        {REQ("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
             "\"values\":[\"n1\"]}],\"matchExpressions\":[{\"key\":\"zone\",\"operator\":"
             "\"Exists\"}]}]"),
         0},
        /* nodeSelector and required affinity must both match. */
        {"\"nodeSelector\":{\"kubernetes.io/hostname\":\"n2\"}," REQ(
             "[" EXPR("empty", "Exists", "") "]"),
         0},
    };
    json_t *n = node();

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *p = pod(t[i].spec);

        if (node_affinity_matches(n, p) != t[i].want)
            fail_msg("case %zu: %s: want %d", i, t[i].spec, t[i].want);
        json_decref(p);
    }
    json_decref(n);
}

static void expect_msg(const char *spec, int cordon, const char *want)
{
    json_t *nodes = json_object(), *n = node(), *p = pod(spec);
    char msg[1024] = "";
    const char *got;

    json_object_set_new(json_object_get(n, "spec"), "unschedulable", json_boolean(cordon));
    json_object_set_new(nodes, "n1", n);
    got = sched_pick_node(nodes, p, NULL, msg, sizeof msg);
    if (want)
        assert_string_equal(msg, want);
    else
        assert_string_equal(got ? got : "(none)", "n1");
    json_decref(p);
    json_decref(nodes);
}

static void test_messages(void **state)
{
    const char *tail = ". preemption: 0/1 nodes are available: 1 Preemption is not helpful for "
                       "scheduling..";
    char want[400];

    (void)state;
    snprintf(want, sizeof want,
             "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: yes}%s", tail);
    expect_msg("", 0, want);
    snprintf(want, sizeof want,
             "0/1 nodes are available: 1 node(s) had untolerated taint {bad: disk}%s", tail);
    expect_msg("\"tolerations\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]", 0, want);
    expect_msg("\"tolerations\":[{\"operator\":\"Exists\"}]", 0, NULL);
    snprintf(want, sizeof want, "0/1 nodes are available: 1 node(s) were unschedulable%s", tail);
    expect_msg("\"tolerations\":[{\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]", 1, want);
    /* Tolerating everything tolerates the cordon too, as upstream's NodeUnschedulable. */
    expect_msg("\"tolerations\":[{\"operator\":\"Exists\"}]", 1, NULL);
    snprintf(want, sizeof want,
             "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector%s",
             tail);
    expect_msg("\"tolerations\":[{\"operator\":\"Exists\"}],\"nodeSelector\":{\"a\":\"b\"}", 0,
               want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tolerates),
        cmocka_unit_test(test_untolerated),
        cmocka_unit_test(test_affinity),
        cmocka_unit_test(test_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
