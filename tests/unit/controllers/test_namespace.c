/* The namespace controller against an in-process API: a deleted namespace has its content
 * deleted and its `kubernetes` finalizer removed once empty; built-in namespaces are never
 * emptied by the controller. */
#include "harness.h"

static int ns_gone_or_finalized(struct h *h, const char *name)
{
    json_t *ns = h_get(h, RES_NAMESPACE, NULL, name);

    return !ns || json_array_size(jx_get(ns, "spec.finalizers")) == 0;
}

static void test_terminating_namespace(void **state)
{
    struct h *h = h_new();

    h_start(h, ctrl_namespace_start(h->kc));
    h_create(h, RES_NAMESPACE, NULL, "{\"metadata\":{\"name\":\"doomed\"}}");
    h_create(h, RES_CONFIGMAP, "doomed", "{\"metadata\":{\"name\":\"a\"}}");
    h_create(h, RES_CONFIGMAP, "doomed",
             "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"x.io/f\"]}}");
    h_create(h, RES_SERVICE, "doomed",
             "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
    h_create(h, RES_POD, "doomed",
             "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\","
             "\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}");
    h_create(h, RES_CONFIGMAP, "default", "{\"metadata\":{\"name\":\"a\"}}");
    assert_int_equal(h_delete(h, RES_NAMESPACE, NULL, "doomed", -1, NULL), 0);
    assert_string_equal(jx_str(h_get(h, RES_NAMESPACE, NULL, "doomed"), "status.phase"),
                        "Terminating");
    h_run(h, 50);
    assert_null(h_get(h, RES_CONFIGMAP, "doomed", "a"));
    assert_null(h_get(h, RES_SERVICE, "doomed", "s"));
    /* The pod is deleted gracefully (its kubelet finishes it); the held object waits. */
    assert_non_null(jx_get(h_get(h, RES_POD, "doomed", "p"), "metadata.deletionTimestamp"));
    assert_non_null(
        jx_get(h_get(h, RES_CONFIGMAP, "doomed", "held"), "metadata.deletionTimestamp"));
    assert_string_equal(json_string_value(json_array_get(
                            jx_get(h_get(h, RES_NAMESPACE, NULL, "doomed"), "spec.finalizers"), 0)),
                        "kubernetes");
    assert_non_null(h_get(h, RES_CONFIGMAP, "default", "a"));

    h_patch(h, RES_CONFIGMAP, "doomed", "held", 0, "{\"metadata\":{\"finalizers\":null}}");
    assert_int_equal(h_delete(h, RES_POD, "doomed", "p", 0, NULL), 0);
    h_run(h, 50);
    assert_null(h_get(h, RES_POD, "doomed", "p"));
    assert_true(ns_gone_or_finalized(h, "doomed"));
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminating_namespace),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
