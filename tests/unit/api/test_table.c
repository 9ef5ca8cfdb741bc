/* Table rendering: cells for realistic objects of every supported kind compared
 * with what `kubectl get` shows on a cluster, Table envelope shape, and
 * mistyped objects never crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/kind.h"
#include "api/table.h"
#include "core/jx.h"

/* The kind_ops entry of a served kind, NULL for any other (the default printer). */
static const struct kind_ops *KIND(const char *group, const char *kind)
{
    return api_kind_of(scheme_by_kind(group, kind));
}

static time_t NOW;

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad test JSON: %s: %s", text, e.text);
    return v;
}

/* Asserts the cells of obj equal the expected JSON array (types included: 3 is
 * not "3"). */
static void check_cells(const char *group, const char *kind, const char *obj, const char *want)
{
    json_t *o = J(obj), *w = J(want), *got = table_cells(KIND(group, kind), o, NOW);
    json_t *cols = table_columns(KIND(group, kind));

    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT);
        fail_msg("%s cells\n got: %s\nwant: %s", kind, g, want);
    }
    assert_int_equal(json_array_size(got), json_array_size(cols));
    json_decref(cols);
    json_decref(got);
    json_decref(w);
    json_decref(o);
}

/* The STATUS (third) cell of a pod built from status JSON. */
static char *pod_status_of(const char *spec, const char *status, const char *meta_extra)
{
    char buf[4096];
    json_t *o, *cells;
    char *s;

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-11-"
             "27T01:59:00Z\"%s},"
             "\"spec\":%s,\"status\":%s}",
             meta_extra, spec, status);
    o = J(buf);
    cells = table_cells(KIND("", "Pod"), o, NOW);
    s = strdup(json_string_value(json_array_get(cells, 2)));
    json_decref(cells);
    json_decref(o);
    return s;
}

#define ONE_CONTAINER "{\"containers\":[{\"name\":\"server\",\"image\":\"x\"}]}"

static void expect_status(const char *spec, const char *status, const char *extra, const char *want)
{
    char *s = pod_status_of(spec, status, extra);

    assert_string_equal(s, want);
    free(s);
}

static void test_columns(void **state)
{
    json_t *c = table_columns(KIND("", "Pod")), *d;

    assert_int_equal(json_array_size(c), 9);
    d = json_array_get(c, 0);
    assert_string_equal(jx_str(d, "name"), "Name");
    assert_string_equal(jx_str(d, "format"), "name");
    assert_int_equal(jx_int(d, "priority", -1), 0);
    assert_string_equal(jx_str(json_array_get(c, 3), "name"), "Restarts");
    assert_string_equal(jx_str(json_array_get(c, 5), "name"), "IP");
    assert_int_equal(jx_int(json_array_get(c, 5), "priority", -1), 1);
    assert_string_equal(jx_str(json_array_get(c, 8), "name"), "Readiness Gates");
    json_decref(c);

    c = table_columns(KIND("apps", "ReplicaSet"));
    assert_string_equal(jx_str(json_array_get(c, 1), "type"), "integer");
    json_decref(c);

    c = table_columns(KIND("example.com", "Widget")); /* the apiserver's default convertor */
    assert_int_equal(json_array_size(c), 2);
    assert_string_equal(jx_str(json_array_get(c, 1), "name"), "Created At");
    assert_string_equal(jx_str(json_array_get(c, 1), "type"), "date");
    json_decref(c);

    c = table_columns(KIND("", "Deployment")); /* wrong group: not the apps printer */
    assert_int_equal(json_array_size(c), 2);
    json_decref(c);
}

static void test_deployment_and_replicaset(void **state)
{
    /* Mid-rollout: 3 wanted, 1 updated, 2 ready/available. */
    check_cells("apps", "Deployment",
                "{\"metadata\":{\"name\":\"model-serving\",\"creationTimestamp\":"
                "\"2026-11-27T01:59:55Z\"},"
                "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":"
                "\"model-serving\"}},"
                "\"template\":{\"spec\":{\"containers\":[{\"name\":\"server\","
                "\"image\":\"myrepo/tf-serving:1.0.4\"},"
                "{\"name\":\"sidecar\",\"image\":\"envoy:1\"}]}}},"
                "\"status\":{\"replicas\":4,\"updatedReplicas\":1,"
                "\"readyReplicas\":2,\"availableReplicas\":2}}",
                "[\"model-serving\",\"2/3\",1,2,\"5s\",\"server,sidecar\","
                "\"myrepo/tf-serving:1.0.4,envoy:1\",\"app=model-serving\"]");
    check_cells("apps", "ReplicaSet",
                "{\"metadata\":{\"name\":\"model-serving-7897d4cc57\","
                "\"creationTimestamp\":\"2026-11-27T01:59:56Z\"},"
                "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"pod-"
                "template-hash\":\"7897d4cc57\","
                "\"app\":\"model-serving\"}},\"template\":{\"spec\":{"
                "\"containers\":[{\"name\":\"server\","
                "\"image\":\"myrepo/tf-serving:1.0.3\"}]}}},"
                "\"status\":{\"replicas\":3,\"readyReplicas\":3}}",
                "[\"model-serving-7897d4cc57\",3,3,3,\"4s\",\"server\",\"myrepo/"
                "tf-serving:1.0.3\","
                "\"app=model-serving,pod-template-hash=7897d4cc57\"]");
    check_cells("apps", "DaemonSet",
                "{\"metadata\":{\"name\":\"agent\",\"creationTimestamp\":\"2026-11-20T02:"
                "00:00Z\"},"
                "\"spec\":{\"selector\":{},\"template\":{\"spec\":{\"containers\":[]}}},"
                "\"status\":{\"desiredNumberScheduled\":1,\"currentNumberScheduled\":1,"
                "\"numberReady\":1,"
                "\"updatedNumberScheduled\":1,\"numberAvailable\":0}}",
                "[\"agent\",1,1,1,1,0,\"<none>\",\"7d\",\"\",\"\",\"<none>\"]");
}

/* printJob: STATUS from the conditions (Complete and Failed first, then Terminating,
 * Suspended, FailureTarget, SuccessCriteriaMet), COMPLETIONS with or without spec.completions,
 * DURATION from startTime to completionTime or now. */
static void test_job(void **state)
{
    check_cells("batch", "Job",
                "{\"metadata\":{\"name\":\"three\",\"creationTimestamp\":\"2026-11-27T01:58:00Z\"},"
                "\"spec\":{\"completions\":3,\"parallelism\":2,\"selector\":{\"matchLabels\":"
                "{\"batch.kubernetes.io/controller-uid\":\"u1\"}},\"template\":{\"spec\":"
                "{\"containers\":[{\"name\":\"work\",\"image\":\"busybox\"}]}}},"
                "\"status\":{\"succeeded\":3,\"startTime\":\"2026-11-27T01:58:00Z\","
                "\"completionTime\":\"2026-11-27T01:58:30Z\",\"conditions\":["
                "{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"},"
                "{\"type\":\"Complete\",\"status\":\"True\"}]}}",
                "[\"three\",\"Complete\",\"3/3\",\"30s\",\"2m\",\"work\",\"busybox\","
                "\"batch.kubernetes.io/controller-uid=u1\"]");
    check_cells("batch", "Job",
                "{\"metadata\":{\"name\":\"q\",\"creationTimestamp\":\"2026-11-27T01:59:50Z\"},"
                "\"spec\":{\"parallelism\":3},\"status\":{\"startTime\":"
                "\"2026-11-27T01:59:50Z\",\"succeeded\":1}}",
                "[\"q\",\"Running\",\"1/1 of 3\",\"10s\",\"10s\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "Job",
                "{\"metadata\":{\"name\":\"b\",\"creationTimestamp\":\"2026-11-27T01:59:50Z\"},"
                "\"spec\":{\"completions\":2,\"parallelism\":1},\"status\":{\"conditions\":["
                "{\"type\":\"FailureTarget\",\"status\":\"True\"},"
                "{\"type\":\"Failed\",\"status\":\"True\"}]}}",
                "[\"b\",\"Failed\",\"0/2\",\"\",\"10s\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "Job",
                "{\"metadata\":{\"name\":\"b\",\"creationTimestamp\":\"2026-11-27T01:59:50Z\"},"
                "\"spec\":{\"parallelism\":1},\"status\":{\"conditions\":["
                "{\"type\":\"FailureTarget\",\"status\":\"True\"}]}}",
                "[\"b\",\"FailureTarget\",\"0/1\",\"\",\"10s\",\"\",\"\",\"<none>\"]");
    check_cells("batch", "Job",
                "{\"metadata\":{\"name\":\"b\",\"creationTimestamp\":\"2026-11-27T01:59:50Z\","
                "\"deletionTimestamp\":\"2026-11-27T01:59:59Z\"},\"spec\":{\"parallelism\":1},"
                "\"status\":{\"conditions\":[{\"type\":\"Suspended\",\"status\":\"True\"}]}}",
                "[\"b\",\"Terminating\",\"0/1\",\"\",\"10s\",\"\",\"\",\"<none>\"]");
}

static void test_pod_running_row(void **state)
{
    check_cells("", "Pod",
                "{\"metadata\":{\"name\":\"model-serving-7897d4cc57-bbctf\","
                "\"creationTimestamp\":\"2026-11-27T01:59:56Z\"},"
                "\"spec\":{\"nodeName\":\"node-2\",\"containers\":[{\"name\":\"server\"}]"
                "},"
                "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.13\",\"podIPs\":["
                "{\"ip\":\"10.244.0.13\"}],"
                "\"containerStatuses\":[{\"name\":\"server\",\"ready\":true,"
                "\"restartCount\":0,"
                "\"state\":{\"running\":{\"startedAt\":\"2026-11-27T01:59:57Z\"}}}]}}",
                "[\"model-serving-7897d4cc57-bbctf\",\"1/"
                "1\",\"Running\",\"0\",\"4s\",\"10.244.0.13\","
                "\"node-2\",\"<none>\",\"<none>\"]");
    /* Crash looping: restarts with the age of the last termination; readiness
     * gates 1/2. */
    check_cells("", "Pod",
                "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-11-"
                "27T01:00:00Z\"},"
                "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
                "\"readinessGates\":[{\"conditionType\":\"g1\"},{"
                "\"conditionType\":\"g2\"}]},"
                "\"status\":{\"phase\":\"Running\",\"nominatedNodeName\":\"n9\","
                "\"conditions\":[{\"type\":\"g1\",\"status\":\"True\"},{\"type\":"
                "\"g2\",\"status\":\"False\"}],"
                "\"containerStatuses\":["
                "{\"name\":\"a\",\"ready\":false,\"restartCount\":3,\"state\":{"
                "\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
                "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
                "\"2026-11-27T01:58:00Z\"}}},"
                "{\"name\":\"b\",\"ready\":true,\"restartCount\":1,\"state\":{"
                "\"running\":{}},"
                "\"lastState\":{\"terminated\":{\"exitCode\":1,\"finishedAt\":"
                "\"2026-11-27T01:30:00Z\"}}}]}}",
                "[\"p\",\"1/2\",\"CrashLoopBackOff\",\"4 (2m "
                "ago)\",\"60m\",\"<none>\",\"<none>\","
                "\"n9\",\"1/2\"]");
}

static void test_pod_statuses(void **state)
{
    const char *one = ONE_CONTAINER;

    expect_status(one, "{\"phase\":\"Pending\"}", "", "Pending");
    expect_status(one,
                  "{\"phase\":\"Pending\",\"containerStatuses\":[{\"state\":{\"waiting\":"
                  "{\"reason\":\"ContainerCreating\"}}}]}",
                  "", "ContainerCreating");
    expect_status(one,
                  "{\"phase\":\"Pending\",\"containerStatuses\":[{\"state\":{\"waiting\":"
                  "{\"reason\":\"ImagePullBackOff\"}}}]}",
                  "", "ImagePullBackOff");
    expect_status(one,
                  "{\"phase\":\"Pending\",\"containerStatuses\":[{\"state\":{\"waiting\":"
                  "{\"reason\":\"ErrImagePull\"}}}]}",
                  "", "ErrImagePull");
    expect_status(one,
                  "{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"state\":{"
                  "\"terminated\":"
                  "{\"exitCode\":0,\"reason\":\"Completed\"}}}]}",
                  "", "Completed");
    expect_status(one,
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{"
                  "\"terminated\":"
                  "{\"exitCode\":1,\"reason\":\"Error\"}}}]}",
                  "", "Error");
    expect_status(one,
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{"
                  "\"terminated\":"
                  "{\"exitCode\":137,\"reason\":\"OOMKilled\"}}}]}",
                  "", "OOMKilled");
    expect_status(one,
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{"
                  "\"terminated\":"
                  "{\"exitCode\":3}}}]}",
                  "", "ExitCode:3");
    expect_status(one,
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{"
                  "\"terminated\":"
                  "{\"exitCode\":137,\"signal\":9}}}]}",
                  "", "Signal:9");
    expect_status(one,
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"ready\":true,\"state\":"
                  "{\"running\":{}}}]}",
                  ",\"deletionTimestamp\":\"2026-11-27T02:00:00Z\"", "Terminating");
    expect_status(one, "{\"phase\":\"Succeeded\"}",
                  ",\"deletionTimestamp\":\"2026-11-27T02:00:00Z\"", "Succeeded");
    expect_status(one, "{\"phase\":\"Running\",\"reason\":\"NodeLost\"}",
                  ",\"deletionTimestamp\":\"2026-11-27T02:00:00Z\"", "Unknown");
    expect_status(one, "{\"phase\":\"Failed\",\"reason\":\"Evicted\"}", "", "Evicted");
    expect_status(one,
                  "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
                  "\"status\":\"False\",\"reason\":\"SchedulingGated\"}]}",
                  "", "SchedulingGated");
    /* The first container wins (containers are walked last to first). */
    expect_status("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
                  "{\"phase\":\"Pending\",\"containerStatuses\":["
                  "{\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\"}}},"
                  "{\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}",
                  "", "ErrImagePull");
    /* A completed container next to a running one: Running when the pod is Ready.
     */
    expect_status("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
                  "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
                  "\"True\"}],"
                  "\"containerStatuses\":[{\"ready\":true,\"state\":{\"running\":{}}},"
                  "{\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}]"
                  "}",
                  "", "Running");
    expect_status("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
                  "{\"phase\":\"Running\",\"containerStatuses\":[{\"ready\":true,"
                  "\"state\":{\"running\":{}}},"
                  "{\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
                  "\"Completed\"}}}]}",
                  "", "NotReady");
}

static void test_pod_init_containers(void **state)
{
    const char *spec = "{\"initContainers\":[{\"name\":\"init\"}],\"containers\":"
                       "[{\"name\":\"a\"}]}";

    expect_status(spec,
                  "{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"init\","
                  "\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}",
                  "", "Init:0/1");
    expect_status(spec,
                  "{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"init\","
                  "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}",
                  "", "Init:CrashLoopBackOff");
    expect_status(spec,
                  "{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"init\","
                  "\"state\":{\"terminated\":{\"exitCode\":2,\"reason\":\"Error\"}}}]}",
                  "", "Init:Error");
    expect_status(spec,
                  "{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"init\","
                  "\"state\":{\"terminated\":{\"exitCode\":2}}}]}",
                  "", "Init:ExitCode:2");
    expect_status(spec,
                  "{\"phase\":\"Running\",\"initContainerStatuses\":[{\"name\":\"init\","
                  "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}],"
                  "\"containerStatuses\":[{\"ready\":true,\"state\":{\"running\":{}}}]}",
                  "", "Running");
    /* A sidecar (restartable init container) counts in READY's total. */
    check_cells("", "Pod",
                "{\"metadata\":{\"name\":\"s\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:50Z\"},"
                "\"spec\":{\"initContainers\":[{\"name\":\"proxy\","
                "\"restartPolicy\":\"Always\"}],"
                "\"containers\":[{\"name\":\"a\"}]},"
                "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
                "\"Initialized\",\"status\":\"True\"}],"
                "\"initContainerStatuses\":[{\"name\":\"proxy\",\"started\":true,"
                "\"ready\":true,"
                "\"restartCount\":0,\"state\":{\"running\":{}}}],"
                "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,"
                "\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
                "[\"s\",\"2/"
                "2\",\"Running\",\"0\",\"10s\",\"<none>\",\"<none>\",\"<none>\","
                "\"<none>\"]");
}

static void test_service(void **state)
{
    check_cells("", "Service",
                "{\"metadata\":{\"name\":\"model-serving\",\"creationTimestamp\":"
                "\"2026-11-27T01:50:00Z\"},"
                "\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"127.77.0.10\","
                "\"clusterIPs\":[\"127.77.0.10\"],"
                "\"selector\":{\"app\":\"model-serving\"},\"ports\":[{\"port\":"
                "80,\"nodePort\":30080,"
                "\"protocol\":\"TCP\"},{\"port\":8500,\"nodePort\":30500,"
                "\"protocol\":\"UDP\"}]}}",
                "[\"model-serving\",\"NodePort\",\"127.77.0.10\",\"<none>\","
                "\"80:30080/TCP,8500:30500/UDP\",\"10m\",\"app=model-serving\"]");
    check_cells("", "Service",
                "{\"metadata\":{\"name\":\"h\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:00Z\"},"
                "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"None\","
                "\"ports\":[{\"port\":80}]}}",
                "[\"h\",\"ClusterIP\",\"None\",\"<none>\",\"80/"
                "TCP\",\"60s\",\"<none>\"]");
    check_cells("", "Service",
                "{\"metadata\":{\"name\":\"lb\",\"creationTimestamp\":\"2026-11-27T01:59:"
                "00Z\"},"
                "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"127.77.0.11\"}}",
                "[\"lb\",\"LoadBalancer\",\"127.77.0.11\",\"<pending>\",\"<none>\","
                "\"60s\",\"<none>\"]");
    check_cells("", "Service",
                "{\"metadata\":{\"name\":\"lb\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:00Z\"},"
                "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"127.77.0."
                "11\",\"externalIPs\":[\"1.1.1.1\"]},"
                "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"9.9.9.9\"},"
                "{\"hostname\":\"a.example\"},"
                "{\"ip\":\"9.9.9.9\"}]}}}",
                "[\"lb\",\"LoadBalancer\",\"127.77.0.11\",\"9.9.9.9,a.example,1."
                "1.1.1\",\"<none>\","
                "\"60s\",\"<none>\"]");
}

static void test_endpoints(void **state)
{
    check_cells("", "Endpoints",
                "{\"metadata\":{\"name\":\"model-serving\",\"creationTimestamp\":"
                "\"2026-11-27T01:59:58Z\"},"
                "\"subsets\":[{\"addresses\":[{\"ip\":\"127.0.0.1\"},{\"ip\":"
                "\"127.0.0.2\"},"
                "{\"ip\":\"127.0.0.3\"},{\"ip\":\"127.0.0.4\"}],\"ports\":[{"
                "\"port\":8501}]}]}",
                "[\"model-serving\",\"127.0.0.1:8501,127.0.0.2:8501,127.0.0.3:"
                "8501 + 1 more...\",\"2s\"]");
    check_cells("", "Endpoints",
                "{\"metadata\":{\"name\":\"e\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:58Z\"},"
                "\"subsets\":[{\"addresses\":[{\"ip\":\"fd00::1\"}],\"ports\":[{"
                "\"port\":80}]}]}",
                "[\"e\",\"[fd00::1]:80\",\"2s\"]");
    check_cells("", "Endpoints",
                "{\"metadata\":{\"name\":\"e\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:58Z\"}}",
                "[\"e\",\"<none>\",\"2s\"]");
    check_cells("discovery.k8s.io", "EndpointSlice",
                "{\"metadata\":{\"name\":\"model-serving-abcde\","
                "\"creationTimestamp\":\"2026-11-27T01:59:58Z\"},"
                "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":"
                "8501,\"protocol\":\"TCP\"}],"
                "\"endpoints\":[{\"addresses\":[\"127.0.0.1\"]},{\"addresses\":["
                "\"127.0.0.2\"]}]}",
                "[\"model-serving-abcde\",\"IPv4\",\"8501\",\"127.0.0.1,127.0.0."
                "2\",\"2s\"]");
    check_cells("discovery.k8s.io", "EndpointSlice",
                "{\"metadata\":{\"name\":\"s\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:58Z\"},"
                "\"addressType\":\"IPv4\",\"endpoints\":[]}",
                "[\"s\",\"IPv4\",\"<unset>\",\"<unset>\",\"2s\"]");
}

static void test_node(void **state)
{
    check_cells("", "Node",
                "{\"metadata\":{\"name\":\"node-1\",\"creationTimestamp\":\"2026-"
                "11-25T02:00:00Z\","
                "\"labels\":{\"node-role.kubernetes.io/"
                "control-plane\":\"\",\"kubernetes.io/role\":\"gpu\"}},"
                "\"spec\":{\"unschedulable\":true},"
                "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\","
                "\"status\":\"False\"},"
                "{\"type\":\"Ready\",\"status\":\"True\"}],"
                "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.1."
                "5\"},{\"type\":\"Hostname\",\"address\":\"n\"}],"
                "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.4-kroll\",\"osImage\":"
                "\"Debian GNU/Linux 12\","
                "\"kernelVersion\":\"6.1.0\",\"containerRuntimeVersion\":\"kroll:"
                "//0.1\"}}}",
                "[\"node-1\",\"Ready,SchedulingDisabled\",\"control-plane,gpu\","
                "\"2d\",\"v1.32.4-kroll\","
                "\"192.168.1.5\",\"<none>\",\"Debian GNU/Linux "
                "12\",\"6.1.0\",\"kroll://0.1\"]");
    check_cells("", "Node",
                "{\"metadata\":{\"name\":\"n2\",\"creationTimestamp\":\"2026-11-"
                "27T01:00:00Z\"},"
                "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
                "\"Unknown\"}]}}",
                "[\"n2\",\"NotReady\",\"<none>\",\"60m\",\"\",\"<none>\",\"<none>"
                "\",\"<unknown>\","
                "\"<unknown>\",\"<unknown>\"]");
    check_cells("", "Node", "{\"metadata\":{\"name\":\"n3\"}}",
                "[\"n3\",\"Unknown\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<"
                "none>\",\"<unknown>\","
                "\"<unknown>\",\"<unknown>\"]");
}

static void test_small_kinds(void **state)
{
    check_cells("", "Namespace",
                "{\"metadata\":{\"name\":\"old\",\"creationTimestamp\":\"2026-11-"
                "27T01:00:00Z\"},"
                "\"status\":{\"phase\":\"Terminating\"}}",
                "[\"old\",\"Terminating\",\"60m\"]");
    check_cells("", "ConfigMap",
                "{\"metadata\":{\"name\":\"cfg\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},"
                "\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
                "[\"cfg\",3,\"60s\"]");
    check_cells("", "Secret",
                "{\"metadata\":{\"name\":\"tok\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:00Z\"},"
                "\"type\":\"Opaque\",\"data\":{\"t\":\"eA==\"}}",
                "[\"tok\",\"Opaque\",1,\"60s\"]");
    check_cells("", "ServiceAccount",
                "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":"
                "\"2026-11-27T01:59:00Z\"}}",
                "[\"default\",0,\"60s\"]");
    check_cells("policy", "PodDisruptionBudget",
                "{\"metadata\":{\"name\":\"pdb\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},"
                "\"spec\":{\"minAvailable\":2},\"status\":{\"disruptionsAllowed\":1}}",
                "[\"pdb\",\"2\",\"N/A\",1,\"60s\"]");
    check_cells("policy", "PodDisruptionBudget",
                "{\"metadata\":{\"name\":\"pdb\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:00Z\"},"
                "\"spec\":{\"maxUnavailable\":\"25%\"}}",
                "[\"pdb\",\"N/A\",\"25%\",0,\"60s\"]");
    check_cells("autoscaling.k8s.io", "VerticalPodAutoscaler",
                "{\"metadata\":{\"name\":\"vpa\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"updatePolicy\":{\"updateMode\":\"Off\"}},\"status\":"
                "{\"recommendation\":{\"containerRecommendations\":[{\"containerName\":\"c\","
                "\"target\":{\"cpu\":\"587m\",\"memory\":\"262144k\"}}]},\"conditions\":"
                "[{\"type\":\"RecommendationProvided\",\"status\":\"True\"}]}}",
                "[\"vpa\",\"Off\",\"587m\",\"262144k\",\"True\",\"60s\"]");
    check_cells("autoscaling.k8s.io", "VerticalPodAutoscaler",
                "{\"metadata\":{\"name\":\"new\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{}}",
                "[\"new\",\"\",\"\",\"\",\"\",\"60s\"]");
    check_cells("autoscaling", "HorizontalPodAutoscaler",
                "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":"
                "\"web\"},\"minReplicas\":1,\"maxReplicas\":3,\"metrics\":[{\"type\":"
                "\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":"
                "\"Utilization\",\"averageUtilization\":50}}},{\"type\":\"Resource\","
                "\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"AverageValue\","
                "\"averageValue\":\"200Mi\"}}},{\"type\":\"Pods\",\"pods\":{\"metric\":"
                "{\"name\":\"rps\"},\"target\":{\"averageValue\":\"10\"}}}]},"
                "\"status\":{\"currentReplicas\":2,\"currentMetrics\":[{\"type\":"
                "\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":"
                "{\"averageUtilization\":45,\"averageValue\":\"45m\"}}}]}}",
                "[\"web\",\"Deployment/web\",\"cpu: 45%/50%, memory: <unknown>/200Mi + 1 "
                "more...\",\"1\",3,2,\"60s\"]");
    check_cells("autoscaling", "HorizontalPodAutoscaler",
                "{\"metadata\":{\"name\":\"q\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"ReplicaSet\",\"name\":"
                "\"q\"},\"maxReplicas\":2}}",
                "[\"q\",\"ReplicaSet/q\",\"<none>\",\"<unset>\",2,0,\"60s\"]");
    check_cells("argoproj.io", "AnalysisRun",
                "{\"metadata\":{\"name\":\"ar\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"status\":{\"phase\":\"Successful\"}}",
                "[\"ar\",\"Successful\",\"60s\"]");
    check_cells("argoproj.io", "AnalysisRun",
                "{\"metadata\":{\"name\":\"ar\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"}}",
                "[\"ar\",\"\",\"60s\"]");
    check_cells("argoproj.io", "AnalysisTemplate",
                "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"}}",
                "[\"t\",\"60s\"]");
    check_cells("argoproj.io", "ClusterAnalysisTemplate",
                "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"}}",
                "[\"t\",\"60s\"]");
    check_cells("argoproj.io", "Rollout",
                "{\"metadata\":{\"name\":\"demo\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"replicas\":5},\"status\":{\"replicas\":6,"
                "\"updatedReplicas\":1,\"availableReplicas\":5}}",
                "[\"demo\",5,6,1,5,\"60s\"]");
    /* Absent counters are null cells (kubectl prints them empty), as for a CRD's columns. */
    check_cells("argoproj.io", "Rollout",
                "{\"metadata\":{\"name\":\"demo\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"replicas\":5}}",
                "[\"demo\",5,null,null,null,\"60s\"]");
    check_cells("gateway.networking.k8s.io", "GatewayClass",
                "{\"metadata\":{\"name\":\"kroll\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"controllerName\":\"kroll.dev/gateway-controller\"},"
                "\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\"}]}}",
                "[\"kroll\",\"kroll.dev/gateway-controller\",\"True\",\"60s\",\"\"]");
    check_cells("gateway.networking.k8s.io", "Gateway",
                "{\"metadata\":{\"name\":\"gw\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"gatewayClassName\":\"kroll\"},\"status\":{"
                "\"addresses\":[{\"value\":\"127.77.0.9\"},{\"value\":\"127.77.0.10\"}],"
                "\"conditions\":[{\"type\":\"Programmed\",\"status\":\"True\"}]}}",
                "[\"gw\",\"kroll\",\"127.77.0.9 127.77.0.10\",\"True\",\"60s\"]");
    check_cells("gateway.networking.k8s.io", "HTTPRoute",
                "{\"metadata\":{\"name\":\"r\",\"creationTimestamp\":\"2026-11-27T01:"
                "59:00Z\"},\"spec\":{\"hostnames\":[\"a.example\",\"b.example\"]}}",
                "[\"r\",\"a.example b.example\",\"60s\"]");
    check_cells("example.com", "Widget",
                "{\"metadata\":{\"name\":\"w\",\"creationTimestamp\":\"2026-11-"
                "27T01:59:00+00:00\"}}",
                "[\"w\",\"2026-11-27T01:59:00Z\"]");
}

static void test_event(void **state)
{
    check_cells("", "Event",
                "{\"metadata\":{\"name\":\"model-serving.17f1\",\"namespace\":"
                "\"default\"},"
                "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"model-serving\"},"
                "\"reason\":\"ScalingReplicaSet\",\"type\":\"Normal\",\"count\":5,"
                "\"message\":\"Scaled up replica set model-serving-59c67cfcb5 to 1\\n\","
                "\"source\":{\"component\":\"deployment-controller\"},"
                "\"firstTimestamp\":\"2026-11-27T01:55:00Z\",\"lastTimestamp\":\"2026-11-"
                "27T01:59:50Z\"}",
                "[\"10s\",\"Normal\",\"ScalingReplicaSet\",\"deployment/"
                "model-serving\",\"\","
                "\"deployment-controller\",\"Scaled up replica set "
                "model-serving-59c67cfcb5 to 1\","
                "\"5m\",5,\"model-serving.17f1\"]");
    /* events.k8s.io-style: eventTime only, no count, reporting fields, a
     * sub-object. */
    check_cells("", "Event",
                "{\"metadata\":{\"name\":\"e2\"},\"eventTime\":\"2026-11-27T01:"
                "59:30.123456Z\","
                "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\","
                "\"fieldPath\":\"spec.containers{server}\"},"
                "\"reason\":\"Pulled\",\"type\":\"Normal\","
                "\"reportingComponent\":\"kubelet\","
                "\"reportingInstance\":\"node-1\",\"message\":\"ok\"}",
                "[\"30s\",\"Normal\",\"Pulled\",\"pod/"
                "p\",\"spec.containers{server}\",\"kubelet, node-1\","
                "\"ok\",\"30s\",1,\"e2\"]");
}

static void test_table_build(void **state)
{
    json_t *items = J("[{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\","
                      "\"namespace\":\"default\","
                      "\"labels\":{\"app\":\"x\"},\"uid\":\"u1\",\"resourceVersion\":\"145\","
                      "\"creationTimestamp\":\"2026-11-27T01:59:56Z\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\"}]},"
                      "\"status\":{\"phase\":\"Succeeded\"}}]");
    json_t *t = table_build(KIND("", "Pod"), items, "158", NULL, 1, NOW), *row, *obj;

    assert_string_equal(jx_str(t, "kind"), "Table");
    assert_string_equal(jx_str(t, "apiVersion"), "meta.k8s.io/v1");
    assert_string_equal(jx_str(t, "metadata.resourceVersion"), "158");
    assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")), 9);
    row = json_array_get(json_object_get(t, "rows"), 0);
    assert_int_equal(json_array_size(json_object_get(row, "cells")), 9);
    assert_string_equal(jx_str(json_array_get(json_object_get(row, "conditions"), 0), "reason"),
                        "Succeeded");
    obj = json_object_get(row, "object");
    assert_string_equal(jx_str(obj, "kind"), "PartialObjectMetadata");
    assert_string_equal(jx_str(obj, "apiVersion"), "meta.k8s.io/v1");
    assert_string_equal(jx_str(obj, "metadata.namespace"), "default");
    assert_string_equal(jx_label(obj, "app"), "x");
    assert_null(jx_get(obj, "spec"));
    json_decref(t);

    t = table_build(KIND("", "Pod"), items, NULL, "Object", 0, NOW);
    assert_null(json_object_get(t, "columnDefinitions"));
    assert_null(jx_get(t, "metadata.resourceVersion"));
    row = json_array_get(json_object_get(t, "rows"), 0);
    assert_string_equal(jx_str(json_object_get(row, "object"), "kind"), "Pod");
    json_decref(t);

    t = table_build(KIND("", "Pod"), items, "1", "None", 1, NOW);
    row = json_array_get(json_object_get(t, "rows"), 0);
    assert_null(json_object_get(row, "object"));
    json_decref(t);

    t = table_build(KIND("", "Pod"), NULL, "1", NULL, 1, NOW); /* no items: empty rows */
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 0);
    json_decref(t);
    json_decref(items);
}

/* Random JSON shaped like the fields printers read, with wrong types sprinkled
 * in: every kind must produce as many cells as columns and never crash. */
static json_t *random_value(unsigned *seed, int depth)
{
    static const char *keys[] = {"metadata",
                                 "spec",
                                 "status",
                                 "name",
                                 "creationTimestamp",
                                 "containers",
                                 "containerStatuses",
                                 "initContainers",
                                 "state",
                                 "waiting",
                                 "terminated",
                                 "reason",
                                 "ports",
                                 "port",
                                 "subsets",
                                 "addresses",
                                 "ip",
                                 "conditions",
                                 "type",
                                 "labels",
                                 "selector",
                                 "matchLabels",
                                 "matchExpressions",
                                 "operator",
                                 "values",
                                 "replicas",
                                 "count",
                                 "series",
                                 "lastState",
                                 "finishedAt",
                                 "deletionTimestamp",
                                 "involvedObject",
                                 "kind",
                                 "endpoints"};
    unsigned r = (*seed = *seed * 1103515245 + 12345) >> 16;

    if (depth > 4 || r % 7 == 0)
        return json_integer(r % 5);
    switch (r % 6) {
    case 0:
        return json_string(r & 64 ? "2026-11-27T01:00:00Z" : "x");
    case 1:
        return json_true();
    case 2: {
        json_t *a = json_array();
        for (unsigned i = 0; i < r % 4; i++)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = 0; i < 1 + r % 5; i++) {
            unsigned k = (*seed = *seed * 1103515245 + 12345) >> 16;
            json_object_set_new(o, keys[k % (sizeof keys / sizeof keys[0])],
                                random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_hostile_objects(void **state)
{
    static const char *kinds[][2] = {{"", "Pod"},
                                     {"apps", "Deployment"},
                                     {"apps", "ReplicaSet"},
                                     {"apps", "DaemonSet"},
                                     {"", "Service"},
                                     {"", "Endpoints"},
                                     {"discovery.k8s.io", "EndpointSlice"},
                                     {"", "Node"},
                                     {"", "Namespace"},
                                     {"", "ConfigMap"},
                                     {"", "Secret"},
                                     {"", "ServiceAccount"},
                                     {"", "Event"},
                                     {"policy", "PodDisruptionBudget"},
                                     {"x", "Other"}};
    unsigned seed = 7;

    for (int iter = 0; iter < 3000; iter++) {
        json_t *o = random_value(&seed, 0), *items = json_array();
        json_array_append(items, o);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            json_t *t = table_build(KIND(kinds[k][0], kinds[k][1]), items, "1", NULL, 1, NOW);
            json_t *row = json_array_get(json_object_get(t, "rows"), 0);
            assert_int_equal(json_array_size(json_object_get(row, "cells")),
                             json_array_size(json_object_get(t, "columnDefinitions")));
            json_decref(t);
        }
        json_decref(items);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_deployment_and_replicaset),
        cmocka_unit_test(test_pod_running_row),
        cmocka_unit_test(test_pod_statuses),
        cmocka_unit_test(test_pod_init_containers),
        cmocka_unit_test(test_service),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_node),
        cmocka_unit_test(test_small_kinds),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_table_build),
        cmocka_unit_test(test_hostile_objects),
    };

    NOW = time_parse("2026-11-27T02:00:00Z");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
