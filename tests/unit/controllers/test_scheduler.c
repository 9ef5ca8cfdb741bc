/* The scheduler (controllers/scheduler.c) on the fake transport (fake.h), one row per case of
 * ../shared/reference/k8s-semantics.md section 11: a pending pod is bound to a node with room
 * (pods/binding, a Scheduled event); requests (cpu, memory, extended) are counted against
 * allocatable minus the pods bound there, terminating ones included (checklist 16.15); a pod
 * that fits nowhere gets PodScheduled=False/Unschedulable with upstream's message and one
 * FailedScheduling event; cordons, taints/tolerations and nodeSelector filter nodes first
 * (controllers/taints.c); and an unschedulable pod is retried when a bound pod goes away. */
#include "fake.h"

#define NS "default"
/* A node with allocatable cpu 2, memory 4Gi, 1 GPU, 110 pods; extra spec fields and labels. */
#define NODE(name, spec, labels)                                                                   \
    "{\"metadata\":{\"name\":\"" name "\",\"labels\":{" labels "}},\"spec\":{" spec "},"           \
    "\"status\":{\"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"nvidia.com/gpu\":\"1\","      \
    "\"pods\":\"110\"}}}"
/* A pod with one container requesting req (a JSON object text) and more spec fields. */
#define POD(name, req, spec, status)                                                               \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" NS "\"},\"spec\":{" spec               \
    "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":" req "}}]},"     \
    "\"status\":" status "}"
#define BOUND(node) "\"nodeName\":\"" node "\","
#define RUNNING "{\"phase\":\"Running\"}"
#define GPU "{\"nvidia.com/gpu\":\"1\"}"
#define NO_GPU_MSG                                                                                 \
    "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are "           \
    "available: 1 No preemption victims found for incoming pod.."

struct sched_row {
    const char *name, *item;
    const char *nodes[3], *bound[3];
    const char *pod;       /* named "p" */
    const char *want_node; /* NULL: unschedulable with want_msg */
    const char *want_msg;
    int terminating; /* the first bound pod is terminating */
};

static const struct sched_row rows[] = {
    {.name = "binds to the only node",
     .item = "11",
     .nodes = {NODE("n1", "", "")},
     .pod = POD("p", "{\"cpu\":\"500m\"}", "", "{}"),
     .want_node = "n1"},
    {.name = "a pod asking nothing fits",
     .item = "11",
     .nodes = {NODE("n1", "", "")},
     .bound = {POD("big", "{\"cpu\":\"2\"}", BOUND("n1"), RUNNING)},
     .pod = POD("p", "{}", "", "{}"),
     .want_node = "n1"},
    {.name = "the GPU is taken: upstream's message",
     .item = "11, section 6",
     .nodes = {NODE("n1", "", "")},
     .bound = {POD("gpu", GPU, BOUND("n1"), RUNNING)},
     .pod = POD("p", GPU, "", "{}"),
     .want_msg = NO_GPU_MSG},
    {.name = "a terminating pod still holds its GPU",
     .item = "16.15",
     .nodes = {NODE("n1", "", "")},
     .bound = {POD("gpu", GPU, BOUND("n1"), RUNNING)},
     .terminating = 1,
     .pod = POD("p", GPU, "", "{}"),
     .want_msg = NO_GPU_MSG},
    {.name = "a finished pod frees its GPU",
     .item = "11",
     .nodes = {NODE("n1", "", "")},
     .bound = {POD("gpu", GPU, BOUND("n1"), "{\"phase\":\"Succeeded\"}")},
     .pod = POD("p", GPU, "", "{}"),
     .want_node = "n1"},
    {.name = "cpu and memory both short, counted over bound pods",
     .item = "11",
     .nodes = {NODE("n1", "", "")},
     .bound = {POD("a", "{\"cpu\":\"1500m\",\"memory\":\"3Gi\"}", BOUND("n1"), RUNNING)},
     .pod = POD("p", "{\"cpu\":\"1\",\"memory\":\"2Gi\"}", "", "{}"),
     .want_msg = "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. "
                 "preemption: 0/1 nodes are available: 1 No preemption victims found for "
                 "incoming pod.."},
    {.name = "more than allocatable: preemption is not helpful",
     .item = "11",
     .nodes = {NODE("n1", "", "")},
     .pod = POD("p", "{\"nvidia.com/gpu\":\"2\"}", "", "{}"),
     .want_msg = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 "
                 "nodes are available: 1 Preemption is not helpful for scheduling.."},
    {.name = "the node with room is chosen",
     .item = "11",
     .nodes = {NODE("n1", "", ""), NODE("n2", "", "")},
     .bound = {POD("gpu", GPU, BOUND("n1"), RUNNING)},
     .pod = POD("p", GPU, "", "{}"),
     .want_node = "n2"},
    {.name = "a cordoned node is skipped",
     .item = "11 (NodeUnschedulable)",
     .nodes = {NODE("n1", "\"unschedulable\":true", "")},
     .pod = POD("p", "{}", "", "{}"),
     .want_msg = "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes "
                 "are available: 1 Preemption is not helpful for scheduling.."},
    {.name = "an untolerated NoSchedule taint",
     .item = "11 (TaintToleration)",
     .nodes = {NODE(
         "n1", "\"taints\":[{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]", "")},
     .pod = POD("p", "{}", "", "{}"),
     .want_msg = "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: yes}. "
                 "preemption: 0/1 nodes are available: 1 Preemption is not helpful for "
                 "scheduling.."},
    {.name = "a tolerated taint",
     .item = "11 (TaintToleration)",
     .nodes = {NODE(
         "n1", "\"taints\":[{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":\"NoSchedule\"}]", "")},
     .pod = POD("p", "{}",
                "\"tolerations\":[{\"key\":\"gpu\",\"operator\":\"Equal\",\"value\":\"yes\","
                "\"effect\":\"NoSchedule\"}],",
                "{}"),
     .want_node = "n1"},
    {.name = "nodeSelector picks the labelled node",
     .item = "11 (NodeAffinity)",
     .nodes = {NODE("n1", "", "\"zone\":\"a\""), NODE("n2", "", "\"zone\":\"b\"")},
     .pod = POD("p", "{}", "\"nodeSelector\":{\"zone\":\"b\"},", "{}"),
     .want_node = "n2"},
    {.name = "nodeSelector matching no node",
     .item = "11 (NodeAffinity)",
     .nodes = {NODE("n1", "", "\"zone\":\"a\"")},
     .pod = POD("p", "{}", "\"nodeSelector\":{\"zone\":\"c\"},", "{}"),
     .want_msg = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
                 "preemption: 0/1 nodes are available: 1 Preemption is not helpful for "
                 "scheduling.."},
};

static void run_row(const struct sched_row *row)
{
    struct fake *f = fake_new();
    json_t *p;
    char want[256];

    for (int i = 0; i < 3 && row->nodes[i]; i++)
        fake_add(f, RES_NODE, "%s", row->nodes[i]);
    for (int i = 0; i < 3 && row->bound[i]; i++)
        fake_add(f, RES_POD, "%s", row->bound[i]);
    if (row->terminating)
        fake_set(f, RES_POD, NS, jx_str(fake_lookup(f, RES_POD, NS, "gpu"), "metadata.name"),
                 "metadata.deletionTimestamp", "\"2026-01-01T00:00:00Z\"");
    fake_add(f, RES_POD, "%s", row->pod);
    fake_mark(f);
    fake_start(f, ctrl_scheduler_start(f->kc));
    fake_settle(f);
    p = fake_lookup(f, RES_POD, NS, "p");
    if (row->want_node) {
        snprintf(want, sizeof want, "\"%s\"", row->want_node);
        fake_check_field(p, row->name, "spec.nodeName", want);
        fake_check_field(p, row->name, "status.conditions.PodScheduled.status", "\"True\"");
        snprintf(want, sizeof want, "Successfully assigned %s/p to %s", NS, row->want_node);
        if (fake_count_events(f, "Scheduled", want) != 1 ||
            fake_count_events(f, "FailedScheduling", NULL) != 0)
            fail_msg("%s: want one Scheduled event \"%s\" and no FailedScheduling", row->name,
                     want);
        assert_int_equal(fake_count_writes(f, "bind", RES_POD, "p"), 1);
        assert_string_equal(fake_event_type(f, "Scheduled"), "Normal");
    } else {
        fake_check_field(p, row->name, "spec.nodeName", NULL);
        fake_check_field(p, row->name, "status.phase", "\"Pending\"");
        fake_check_field(p, row->name, "status.conditions.PodScheduled.status", "\"False\"");
        fake_check_field(p, row->name, "status.conditions.PodScheduled.reason",
                         "\"Unschedulable\"");
        if (strcmp(jx_str(cond_get(p, "PodScheduled"), "message") ?: "", row->want_msg) != 0)
            fail_msg("%s: message\n  got  %s\n  want %s", row->name,
                     jx_str(cond_get(p, "PodScheduled"), "message"), row->want_msg);
        /* One event and one status write, however often the pod is synced again. */
        if (fake_count_events(f, "FailedScheduling", row->want_msg) != 1 ||
            strcmp(fake_event_type(f, "FailedScheduling"), "Warning") != 0)
            fail_msg("%s: want one Warning FailedScheduling event with the message", row->name);
        assert_int_equal(fake_count_writes(f, "status", RES_POD, "p"), 1);
        assert_int_equal(fake_count_writes(f, "bind", RES_POD, NULL), 0);
    }
    fake_free(f);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* The GPU trap of section 11 resolved: the pending pod is bound once the pod holding the GPU
 * has terminated (a pod going away requeues pending pods), not while it is terminating. */
static void test_retry_when_freed(void **state)
{
    struct fake *f = fake_new();
    struct err err;

    (void)state;
    err_init(&err);
    fake_add(f, RES_NODE, "%s", NODE("n1", "", ""));
    fake_add(f, RES_POD, "%s", POD("gpu", GPU, BOUND("n1"), RUNNING));
    fake_add(f, RES_POD, "%s", POD("p", GPU, "", "{}"));
    fake_start(f, ctrl_scheduler_start(f->kc));
    fake_settle(f);
    assert_null(jx_str(fake_lookup(f, RES_POD, NS, "p"), "spec.nodeName"));

    fake_mark(f);
    assert_int_equal(kc_delete(f->kc, kc_resource(RES_POD), NS, "gpu", NULL, NULL, &err), 0);
    fake_settle(f);
    assert_non_null(jx_get(fake_lookup(f, RES_POD, NS, "gpu"), "metadata.deletionTimestamp"));
    assert_int_equal(fake_count_writes(f, "bind", RES_POD, NULL), 0);

    fake_pods_finish(f);
    fake_settle(f);
    assert_string_equal(jx_str(fake_lookup(f, RES_POD, NS, "p"), "spec.nodeName"), "n1");
    assert_int_equal(fake_count_events(f, "Scheduled", "Successfully assigned default/p to n1"), 1);
    err_release(&err);
    fake_free(f);
}

/* A pod for another scheduler is left alone. */
static void test_other_scheduler(void **state)
{
    struct fake *f = fake_new();

    (void)state;
    fake_add(f, RES_NODE, "%s", NODE("n1", "", ""));
    fake_add(f, RES_POD, "%s", POD("p", "{}", "\"schedulerName\":\"volcano\",", "{}"));
    fake_mark(f);
    fake_start(f, ctrl_scheduler_start(f->kc));
    fake_settle(f);
    assert_int_equal(fake_count_writes(f, NULL, RES_POD, NULL), 0);
    assert_int_equal(fake_count_events(f, "Scheduled", NULL), 0);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_retry_when_freed),
        cmocka_unit_test(test_other_scheduler),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
