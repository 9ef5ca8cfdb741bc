/* The scheduler's node choice (sched_pick_node) against ../shared/reference/k8s-semantics.md
 * section 11: the effective request is max(sum of containers, largest init container) plus
 * overhead; requests default from limits; bound pods count until Succeeded/Failed (terminating
 * ones too); pods asking nothing of a resource always fit it; the FailedScheduling message
 * counts reasons per node, sorted as strings, with the preemption tail and its double period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/decide.h"

static json_t *j(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);

    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

/* A node with allocatable cpu 4, memory 8Gi, 2 GPUs and 110 pods, cordoned when asked. */
static json_t *node(const char *name, int cordoned)
{
    char buf[400];

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"unschedulable\":%s},\"status\":"
             "{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"nvidia.com/gpu\":\"2\","
             "\"pods\":\"110\"}}}",
             name, cordoned ? "true" : "false");
    return j(buf);
}

/* A pod whose containers, init containers and overhead are given as JSON texts. */
static json_t *pod(const char *name, const char *node_name, const char *phase, const char *cs,
                   const char *ics)
{
    char buf[1200];

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{%s%s%s"
             "\"containers\":%s%s%s},\"status\":{\"phase\":\"%s\"}}",
             name, node_name ? "\"nodeName\":\"" : "", node_name ? node_name : "",
             node_name ? "\"," : "", cs, ics ? ",\"initContainers\":" : "", ics ? ics : "", phase);
    return j(buf);
}

static const char *ctr(const char *req)
{
    static char b[8][300];
    static int n;
    char *s = b[n++ % 8];

    snprintf(s, sizeof b[0], "[{\"name\":\"c\",\"resources\":%s}]", req);
    return s;
}

struct fit_case {
    const char *what, *bound_req, *bound_phase, *want_req, *init_req, *want_node, *want_msg;
};

static void run_case(const struct fit_case *t)
{
    json_t *nodes = json_object(), *pods = json_object(), *p;
    char msg[1024] = "";
    const char *got;

    json_object_set_new(nodes, "n1", node("n1", 0));
    if (t->bound_req)
        json_object_set_new(pods, "default/old",
                            pod("old", "n1", t->bound_phase, ctr(t->bound_req), NULL));
    p = pod("new", NULL, "Pending", ctr(t->want_req), t->init_req ? ctr(t->init_req) : NULL);
    got = sched_pick_node(nodes, p, pods, msg, sizeof msg);
    if (t->want_node) {
        if (!got || strcmp(got, t->want_node) != 0)
            fail_msg("%s: got node %s (%s)", t->what, got ? got : "none", msg);
    } else {
        if (got)
            fail_msg("%s: scheduled to %s", t->what, got);
        if (strcmp(msg, t->want_msg) != 0)
            fail_msg("%s: message\n  got  %s\n  want %s", t->what, msg, t->want_msg);
    }
    json_decref(p);
    json_decref(nodes);
    json_decref(pods);
}

static void test_fit_table(void **state)
{
    static const char *const gpu1 = "{\"limits\":{\"nvidia.com/gpu\":1}}";
    static const char *const nogpu_msg =
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are "
        "available: 1 No preemption victims found for incoming pod..";
    const struct fit_case t[] = {
        {"empty node", NULL, NULL, gpu1, NULL, "n1", NULL},
        {"one GPU used of two", gpu1, "Running", gpu1, NULL, "n1", NULL},
        {"no request always fits", "{\"limits\":{\"nvidia.com/gpu\":2}}", "Running", "{}", NULL,
         "n1", NULL},
        {"both GPUs used", "{\"limits\":{\"nvidia.com/gpu\":2}}", "Running", gpu1, NULL, NULL,
         nogpu_msg},
        {"a bound pod counts until Succeeded or Failed", "{\"limits\":{\"nvidia.com/gpu\":2}}",
         "Pending", gpu1, NULL, NULL, nogpu_msg},
        {"a Succeeded pod frees its GPUs", "{\"limits\":{\"nvidia.com/gpu\":2}}", "Succeeded", gpu1,
         NULL, "n1", NULL},
        {"a Failed pod frees its GPUs", "{\"limits\":{\"nvidia.com/gpu\":2}}", "Failed", gpu1, NULL,
         "n1", NULL},
        {"cpu in milli-units", "{\"requests\":{\"cpu\":\"3500m\"}}", "Running",
         "{\"requests\":{\"cpu\":\"500m\"}}", NULL, "n1", NULL},
        {"cpu one milli over", "{\"requests\":{\"cpu\":\"3500m\"}}", "Running",
         "{\"requests\":{\"cpu\":\"501m\"}}", NULL, NULL,
         "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 "
         "No preemption victims found for incoming pod.."},
        {"init container larger than the containers", NULL, NULL,
         "{\"requests\":{\"memory\":\"1Gi\"}}", "{\"requests\":{\"memory\":\"9Gi\"}}", NULL,
         "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: "
         "1 Preemption is not helpful for scheduling.."},
        {"requests near the int64 limit do not wrap around", "{\"requests\":{\"cpu\":\"9P\"}}",
         "Running", "{\"requests\":{\"cpu\":\"9P\"}}", NULL, NULL,
         "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
         "1 Preemption is not helpful for scheduling.."},
        {"several insufficient resources at once", "{\"requests\":{\"cpu\":\"4\"}}", "Running",
         "{\"requests\":{\"cpu\":\"1\",\"memory\":\"9Gi\"}}", NULL, NULL,
         "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 "
         "nodes are available: 1 Preemption is not helpful for scheduling.."},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        run_case(&t[i]);
}

/* Three nodes: one cordoned, one short of GPUs, one short of cpu; reasons counted and sorted. */
static void test_three_nodes(void **state)
{
    json_t *nodes = json_object(), *pods = json_object(), *p;
    char msg[1024];

    json_object_set_new(nodes, "a", node("a", 1));
    json_object_set_new(nodes, "b", node("b", 0));
    json_object_set_new(nodes, "c", node("c", 0));
    json_object_set_new(pods, "default/x",
                        pod("x", "b", "Running", ctr("{\"limits\":{\"nvidia.com/gpu\":2}}"), NULL));
    json_object_set_new(pods, "default/y",
                        pod("y", "c", "Running", ctr("{\"requests\":{\"cpu\":\"4\"}}"), NULL));
    p = pod("new", NULL, "Pending", ctr("{\"requests\":{\"cpu\":\"1\",\"nvidia.com/gpu\":1}}"),
            NULL);
    assert_null(sched_pick_node(nodes, p, pods, msg, sizeof msg));
    assert_string_equal(msg, "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient "
                             "nvidia.com/gpu, 1 node(s) were unschedulable. preemption: 0/3 nodes "
                             "are available: 1 Preemption is not helpful for scheduling, 2 No "
                             "preemption victims found for incoming pod..");
    /* The GPU pod on b finishes: b fits. */
    json_object_set_new(json_object_get(json_object_get(pods, "default/x"), "status"), "phase",
                        json_string("Succeeded"));
    assert_string_equal(sched_pick_node(nodes, p, pods, msg, sizeof msg), "b");
    json_decref(p);
    json_decref(nodes);
    json_decref(pods);
}

static void test_no_nodes(void **state)
{
    json_t *p = pod("new", NULL, "Pending", ctr("{}"), NULL);
    char msg[200];

    assert_null(sched_pick_node(NULL, p, NULL, msg, sizeof msg));
    assert_string_equal(msg, "no nodes available to schedule pods");
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_table),
        cmocka_unit_test(test_three_nodes),
        cmocka_unit_test(test_no_nodes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
