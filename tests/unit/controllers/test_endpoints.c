/* The endpoints controller against an in-process API: which pods become addresses, the
 * ready/serving/terminating conditions, named targetPorts, subset repacking, no-op syncs,
 * selector-less Services and cleanup. */
#include "harness.h"

static const char *svc_web = "{\"metadata\":{\"name\":\"web\",\"labels\":{\"tier\":\"front\"}},"
                             "\"spec\":{\"selector\":{\"app\":\"web\"},"
                             "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"},"
                             "{\"name\":\"metrics\",\"port\":9090,\"targetPort\":9100}]}}";

/* A pod labelled app=web with container ports given as JSON, on node n1. */
static void mkpod(struct h *h, const char *ns, const char *name, const char *ports)
{
    char *t = xasprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
                        "\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"x:1\","
                        "\"ports\":%s}]}}",
                        name, ports);

    h_create(h, RES_POD, ns, t);
    free(t);
}

static void podstatus(struct h *h, const char *ns, const char *name, const char *phase,
                      const char *ip, const char *ready)
{
    char *t = xasprintf("{\"status\":{\"phase\":\"%s\",\"podIP\":\"%s\",\"conditions\":[{\"type\":"
                        "\"Ready\",\"status\":\"%s\"}]}}",
                        phase, ip, ready);

    h_patch(h, RES_POD, ns, name, 1, t);
    free(t);
}

static const char *http_port = "[{\"name\":\"http\",\"containerPort\":8080}]";

static json_t *the_slices(struct h *h, const char *svc)
{
    json_t *m = store_map(h->store, "endpointslices.discovery.k8s.io"), *v, *out = json_array();
    const char *k;

    if (m)
        json_object_foreach(m, k, v) if (strcmp(jx_label(v, "kubernetes.io/service-name") ?: "",
                                                svc) == 0) json_array_append(out, v);
    return out;
}

/* Finds the slice endpoint of a pod, or NULL. */
static json_t *slice_ep(json_t *slices, const char *pod)
{
    size_t i, j;
    json_t *s, *e;

    json_array_foreach(slices, i, s)
        json_array_foreach(json_object_get(s, "endpoints"), j,
                           e) if (strcmp(jx_str(e, "targetRef.name") ?: "", pod) == 0) return e;
    return NULL;
}

static void test_addresses_and_conditions(void **state)
{
    struct h *h = h_new();
    json_t *ep, *sub, *slices, *e;
    char *dump;

    h_start(h, ctrl_endpoints_start(h->kc));
    h_create(h, RES_SERVICE, "default", svc_web);
    mkpod(h, "default", "ready", http_port);
    mkpod(h, "default", "unready", http_port);
    mkpod(h, "default", "noip", http_port);
    mkpod(h, "default", "failed", http_port);
    mkpod(h, "default", "leaving", http_port);
    h_create(h, RES_NAMESPACE, NULL, "{\"metadata\":{\"name\":\"other\"}}");
    mkpod(h, "other", "elsewhere", http_port);
    podstatus(h, "default", "ready", "Running", "10.0.0.1", "True");
    podstatus(h, "default", "unready", "Running", "10.0.0.2", "False");
    podstatus(h, "default", "failed", "Failed", "10.0.0.4", "False");
    podstatus(h, "default", "leaving", "Running", "10.0.0.5", "True");
    podstatus(h, "other", "elsewhere", "Running", "10.0.0.6", "True");
    assert_int_equal(h_delete(h, RES_POD, "default", "leaving", 30, NULL), 0);
    h_run(h, 50);

    ep = h_get(h, RES_ENDPOINTS, "default", "web");
    assert_non_null(ep);
    assert_string_equal(jx_label(ep, "tier"), "front");
    /* http resolves to 8080 and metrics to 9100 for every pod: one subset. */
    assert_int_equal(json_array_size(json_object_get(ep, "subsets")), 1);
    sub = json_array_get(json_object_get(ep, "subsets"), 0);
    dump = jx_dump(sub);
    assert_int_equal(json_array_size(json_object_get(sub, "addresses")), 1);
    assert_string_equal(jx_str(json_array_get(json_object_get(sub, "addresses"), 0), "ip"),
                        "10.0.0.1");
    assert_string_equal(
        jx_str(json_array_get(json_object_get(sub, "addresses"), 0), "targetRef.name"), "ready");
    assert_string_equal(jx_str(json_array_get(json_object_get(sub, "addresses"), 0), "nodeName"),
                        "n1");
    assert_int_equal(json_array_size(json_object_get(sub, "notReadyAddresses")), 1);
    assert_string_equal(jx_str(json_array_get(json_object_get(sub, "notReadyAddresses"), 0), "ip"),
                        "10.0.0.2");
    assert_non_null(strstr(dump, "\"port\": 8080") ?: strstr(dump, "\"port\":8080"));
    assert_non_null(strstr(dump, "9100"));
    free(dump);

    slices = the_slices(h, "web");
    assert_int_equal(json_array_size(slices), 1);
    assert_int_equal(json_array_size(jx_get(json_array_get(slices, 0), "endpoints")), 3);
    e = slice_ep(slices, "ready");
    assert_true(jx_bool(e, "conditions.ready") && jx_bool(e, "conditions.serving") &&
                !jx_bool(e, "conditions.terminating"));
    e = slice_ep(slices, "unready");
    assert_true(!jx_bool(e, "conditions.ready") && !jx_bool(e, "conditions.serving"));
    e = slice_ep(slices, "leaving");
    assert_non_null(e);
    assert_true(!jx_bool(e, "conditions.ready") && jx_bool(e, "conditions.serving") &&
                jx_bool(e, "conditions.terminating"));
    assert_null(slice_ep(slices, "noip"));
    assert_null(slice_ep(slices, "failed"));
    assert_null(slice_ep(slices, "elsewhere"));
    json_decref(slices);
    h_free(h);
}

static void test_named_port_repack(void **state)
{
    struct h *h = h_new();
    json_t *ep, *subs, *slices;

    h_start(h, ctrl_endpoints_start(h->kc));
    h_create(h, RES_SERVICE, "default", svc_web);
    mkpod(h, "default", "a", http_port);
    mkpod(h, "default", "b", "[{\"name\":\"web\",\"containerPort\":8080}]");
    podstatus(h, "default", "a", "Running", "10.0.0.1", "True");
    podstatus(h, "default", "b", "Running", "10.0.0.2", "True");
    h_run(h, 50);

    /* metrics (9100) has {a, b}; http (8080) only {a}: two subsets. */
    ep = h_get(h, RES_ENDPOINTS, "default", "web");
    subs = json_object_get(ep, "subsets");
    assert_int_equal(json_array_size(subs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(subs, i);
        long long port = jx_int(json_array_get(json_object_get(s, "ports"), 0), "port", 0);

        assert_int_equal(json_array_size(json_object_get(s, "ports")), 1);
        assert_int_equal(json_array_size(json_object_get(s, "addresses")), port == 9100 ? 2 : 1);
    }
    /* Slices group pods by their port list. */
    slices = the_slices(h, "web");
    assert_int_equal(json_array_size(slices), 2);
    json_decref(slices);
    h_free(h);
}

static void test_noop_and_cleanup(void **state)
{
    struct h *h = h_new();
    json_t *slices;
    char rv_ep[32], rv_sl[32];

    h_start(h, ctrl_endpoints_start(h->kc));
    h_create(h, RES_SERVICE, "default", svc_web);
    mkpod(h, "default", "a", http_port);
    podstatus(h, "default", "a", "Running", "10.0.0.1", "True");
    h_run(h, 50);
    snprintf(rv_ep, sizeof rv_ep, "%s",
             jx_str(h_get(h, RES_ENDPOINTS, "default", "web"), "metadata.resourceVersion"));
    slices = the_slices(h, "web");
    snprintf(rv_sl, sizeof rv_sl, "%s",
             jx_str(json_array_get(slices, 0), "metadata.resourceVersion"));
    json_decref(slices);

    /* A change the endpoints do not depend on. */
    h_patch(h, RES_POD, "default", "a", 0, "{\"metadata\":{\"annotations\":{\"x\":\"y\"}}}");
    h_run(h, 50);
    assert_string_equal(
        jx_str(h_get(h, RES_ENDPOINTS, "default", "web"), "metadata.resourceVersion"), rv_ep);
    slices = the_slices(h, "web");
    assert_string_equal(jx_str(json_array_get(slices, 0), "metadata.resourceVersion"), rv_sl);
    assert_string_equal(
        jx_str(json_array_get(jx_get(json_array_get(slices, 0), "metadata.ownerReferences"), 0),
               "uid"),
        jx_str(h_get(h, RES_SERVICE, "default", "web"), "metadata.uid"));
    json_decref(slices);

    /* Without pods: an empty Endpoints (no subsets) and one placeholder slice. */
    assert_int_equal(h_delete(h, RES_POD, "default", "a", 0, NULL), 0);
    h_run(h, 50);
    assert_null(json_object_get(h_get(h, RES_ENDPOINTS, "default", "web"), "subsets"));
    slices = the_slices(h, "web");
    assert_int_equal(json_array_size(slices), 1);
    assert_int_equal(json_array_size(jx_get(json_array_get(slices, 0), "endpoints")), 0);
    json_decref(slices);

    assert_int_equal(h_delete(h, RES_SERVICE, "default", "web", -1, NULL), 0);
    h_run(h, 50);
    assert_null(h_get(h, RES_ENDPOINTS, "default", "web"));
    slices = the_slices(h, "web");
    assert_int_equal(json_array_size(slices), 0);
    json_decref(slices);
    h_free(h);
}

static void test_selectorless_left_alone(void **state)
{
    struct h *h = h_new();
    json_t *ep;

    h_start(h, ctrl_endpoints_start(h->kc));
    h_create(h, RES_SERVICE, "default",
             "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
    h_create(
        h, RES_ENDPOINTS, "default",
        "{\"metadata\":{\"name\":\"ext\"},\"subsets\":[{\"addresses\":[{\"ip\":\"192.0.2.1\"}],"
        "\"ports\":[{\"port\":80}]}]}");
    h_create(h, RES_ENDPOINTS, "default",
             "{\"metadata\":{\"name\":\"lonely\"},\"subsets\":[{\"addresses\":[{\"ip\":\"192.0.2."
             "2\"}]}]}");
    h_run(h, 50);
    ep = h_get(h, RES_ENDPOINTS, "default", "ext");
    assert_string_equal(
        jx_str(
            json_array_get(
                json_object_get(json_array_get(json_object_get(ep, "subsets"), 0), "addresses"), 0),
            "ip"),
        "192.0.2.1");
    assert_non_null(h_get(h, RES_ENDPOINTS, "default", "lonely"));
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses_and_conditions),
        cmocka_unit_test(test_named_port_repack),
        cmocka_unit_test(test_noop_and_cleanup),
        cmocka_unit_test(test_selectorless_left_alone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
