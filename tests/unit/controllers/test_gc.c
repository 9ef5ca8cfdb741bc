/* The garbage collector against an in-process API: dangling owners (absent, or same name with
 * another uid), partial dangling references, foreground and orphan finalizers, and graceful
 * deletion of owned pods. */
#include "harness.h"

static json_t *mkcm(struct h *h, const char *name, const char *refs, const char *finalizers)
{
    char *t = xasprintf("{\"metadata\":{\"name\":\"%s\"%s%s%s%s}}", name,
                        refs ? ",\"ownerReferences\":" : "", refs ? refs : "",
                        finalizers ? ",\"finalizers\":" : "", finalizers ? finalizers : "");
    json_t *o = h_create(h, RES_CONFIGMAP, "default", t);

    free(t);
    return o;
}

/* One ownerReference JSON array to a ConfigMap owner (malloc'd). */
static char *ref(const char *name, const char *uid, int block)
{
    return xasprintf(
        "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"%s\",\"uid\":\"%s\","
        "\"blockOwnerDeletion\":%s}]",
        name, uid, block ? "true" : "false");
}

static void test_background(void **state)
{
    struct h *h = h_new();
    json_t *owner;
    char *r;

    h_start(h, ctrl_gc_start(h->kc));
    owner = mkcm(h, "owner", NULL, NULL);
    r = ref("owner", jx_str(owner, "metadata.uid"), 0);
    mkcm(h, "dep", r, NULL);
    free(r);
    r = ref("owner", "00000000-0000-4000-8000-000000000000", 0);
    mkcm(h, "wrong-uid", r, NULL);
    free(r);
    h_run(h, 50);
    assert_non_null(h_get(h, RES_CONFIGMAP, "default", "dep"));
    assert_null(h_get(h, RES_CONFIGMAP, "default", "wrong-uid"));
    assert_int_equal(h_delete(h, RES_CONFIGMAP, "default", "owner", -1, NULL), 0);
    h_run(h, 50);
    assert_null(h_get(h, RES_CONFIGMAP, "default", "dep"));
    h_free(h);
}

static void test_partial_dangling(void **state)
{
    struct h *h = h_new();
    json_t *owner, *dep;
    char *t;

    h_start(h, ctrl_gc_start(h->kc));
    owner = mkcm(h, "owner", NULL, NULL);
    t = xasprintf(
        "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"owner\",\"uid\":\"%s\"},"
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"ghost\",\"uid\":\"g\"},"
        "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Unknown\",\"name\":\"u\",\"uid\":\"u\"}]",
        jx_str(owner, "metadata.uid"));
    mkcm(h, "dep", t, NULL);
    free(t);
    h_run(h, 50);
    dep = h_get(h, RES_CONFIGMAP, "default", "dep");
    assert_non_null(dep);
    /* The absent ConfigMap owner is dropped; an unknown kind is never presumed absent. */
    assert_int_equal(json_array_size(jx_get(dep, "metadata.ownerReferences")), 2);
    assert_string_equal(jx_str(json_array_get(jx_get(dep, "metadata.ownerReferences"), 1), "name"),
                        "u");
    h_free(h);
}

static void test_foreground(void **state)
{
    struct h *h = h_new();
    json_t *owner;
    char *r;

    h_start(h, ctrl_gc_start(h->kc));
    owner = mkcm(h, "owner", NULL, NULL);
    r = ref("owner", jx_str(owner, "metadata.uid"), 1);
    mkcm(h, "held", r, "[\"example.com/hold\"]");
    mkcm(h, "plain", r, NULL);
    free(r);
    assert_int_equal(h_delete(h, RES_CONFIGMAP, "default", "owner", -1, "Foreground"), 0);
    h_run(h, 50);
    assert_null(h_get(h, RES_CONFIGMAP, "default", "plain"));
    assert_non_null(
        jx_get(h_get(h, RES_CONFIGMAP, "default", "held"), "metadata.deletionTimestamp"));
    owner = h_get(h, RES_CONFIGMAP, "default", "owner");
    assert_non_null(owner);
    assert_string_equal(json_string_value(json_array_get(jx_get(owner, "metadata.finalizers"), 0)),
                        "foregroundDeletion");
    h_patch(h, RES_CONFIGMAP, "default", "held", 0, "{\"metadata\":{\"finalizers\":null}}");
    h_run(h, 50);
    assert_null(h_get(h, RES_CONFIGMAP, "default", "held"));
    assert_null(h_get(h, RES_CONFIGMAP, "default", "owner"));
    h_free(h);
}

static void test_orphan_and_pods(void **state)
{
    struct h *h = h_new();
    json_t *owner, *pod;
    char *r, *t;

    h_start(h, ctrl_gc_start(h->kc));
    owner = mkcm(h, "owner", NULL, NULL);
    r = ref("owner", jx_str(owner, "metadata.uid"), 1);
    mkcm(h, "dep", r, NULL);
    t = xasprintf(
        "{\"metadata\":{\"name\":\"p\",\"ownerReferences\":%s},\"spec\":{\"nodeName\":\"n1\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}",
        r);
    h_create(h, RES_POD, "default", t);
    free(t);
    free(r);
    assert_int_equal(h_delete(h, RES_CONFIGMAP, "default", "owner", -1, "Orphan"), 0);
    h_run(h, 50);
    assert_null(h_get(h, RES_CONFIGMAP, "default", "owner"));
    assert_non_null(h_get(h, RES_CONFIGMAP, "default", "dep"));
    assert_null(jx_get(h_get(h, RES_CONFIGMAP, "default", "dep"), "metadata.ownerReferences"));
    pod = h_get(h, RES_POD, "default", "p");
    assert_non_null(pod);
    assert_null(jx_get(pod, "metadata.ownerReferences"));

    /* A pod whose owner is gone is deleted gracefully (default grace period). */
    owner = mkcm(h, "owner2", NULL, NULL);
    t = xasprintf(
        "{\"metadata\":{\"name\":\"p2\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
        "\"ConfigMap\",\"name\":\"owner2\",\"uid\":\"%s\"}]},\"spec\":{\"nodeName\":\"n1\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}",
        jx_str(owner, "metadata.uid"));
    h_create(h, RES_POD, "default", t);
    free(t);
    assert_int_equal(h_delete(h, RES_CONFIGMAP, "default", "owner2", -1, NULL), 0);
    h_run(h, 50);
    pod = h_get(h, RES_POD, "default", "p2");
    assert_non_null(pod);
    assert_non_null(jx_get(pod, "metadata.deletionTimestamp"));
    assert_int_equal(jx_int(pod, "metadata.deletionGracePeriodSeconds", -1), 30);
    h_free(h);
}

/* Foreground deletion of an unscheduled pod: no grace, so it goes once the finalizer is off. */
static void test_foreground_unscheduled_pod(void **state)
{
    struct h *h = h_new();

    h_start(h, ctrl_gc_start(h->kc));
    h_create(h, RES_POD, "default",
             "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":"
             "[{\"name\":\"c\",\"image\":\"x:1\"}]}}");
    assert_int_equal(h_delete(h, RES_POD, "default", "p", -1, "Foreground"), 0);
    assert_non_null(h_get(h, RES_POD, "default", "p"));
    h_run(h, 50);
    assert_null(h_get(h, RES_POD, "default", "p"));
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_partial_dangling),
        cmocka_unit_test(test_foreground),
        cmocka_unit_test(test_orphan_and_pods),
        cmocka_unit_test(test_foreground_unscheduled_pod),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
