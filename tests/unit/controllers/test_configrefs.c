/* The pure half of config-rollout (controllers/podutil.c): which references of a pod spec are
 * ConfigMap/Secret names, the reference-set hash, and when the Deployment controller must wait
 * for the config-rollout controller (config_rollout_pending). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/podutil.h"

static const char *const DEPLOY =
    "{\"metadata\":{\"name\":\"m\",\"annotations\":{\"kroll.dev/config-rollout\":\"true\"}},"
    "\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"m\"}},\"spec\":{"
    "\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"cm1\"}},"
    "{\"name\":\"b\",\"secret\":{\"secretName\":\"s1\"}},"
    "{\"name\":\"c\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"cm2\"}},"
    "{\"secret\":{\"name\":\"s2\"}},{\"downwardAPI\":{}}]}},{\"name\":\"d\",\"emptyDir\":{}}],"
    "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm3\"}}]}],"
    "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},"
    "{\"name\":\"Y\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm4\",\"key\":\"k\"}}},"
    "{\"name\":\"Z\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s3\",\"key\":\"k\"}}},"
    "{\"name\":\"F\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],"
    "\"envFrom\":[{\"secretRef\":{\"name\":\"s4\"}}]}]}}}}";

static void collect(int secret, json_t *holder, const char *field, void *arg)
{
    char buf[128];

    snprintf(buf, sizeof buf, "%s:%s", secret ? "secret" : "cm",
             json_string_value(json_object_get(holder, field)));
    json_array_append_new(arg, json_string(buf));
}

static void test_refs_each(void **state)
{
    json_t *d = json_loads(DEPLOY, 0, NULL), *got = json_array();
    char *s;

    assert_non_null(d);
    config_refs_each(
        json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec"), collect,
        got);
    s = json_dumps(got, JSON_COMPACT);
    assert_string_equal(s, "[\"cm:cm1\",\"secret:s1\",\"cm:cm2\",\"secret:s2\",\"cm:cm3\","
                           "\"cm:cm4\",\"secret:s3\",\"secret:s4\"]");
    free(s);
    json_decref(got);
    json_decref(d);
}

static json_t *tmpl_of(json_t *d)
{
    return json_object_get(json_object_get(d, "spec"), "template");
}

static void set_hash(json_t *d, const char *h)
{
    json_t *md = json_object_get(tmpl_of(d), "metadata"), *a = json_object_get(md, "annotations");

    if (!a)
        json_object_set_new(md, "annotations", a = json_object());
    json_object_set_new(a, CFG_A_HASH, json_string(h));
}

static void test_pending(void **state)
{
    json_t *d = json_loads(DEPLOY, 0, NULL), *vol;
    char h[16], h2[16];

    assert_non_null(d);
    assert_true(config_rollout_pending(d)); /* opted in, never taken over */
    config_refs_hash(tmpl_of(d), h);
    assert_int_equal(strlen(h) > 0, 1);
    set_hash(d, h);
    assert_false(config_rollout_pending(d));
    /* `kubectl apply` of another name (or the plain one again): pending until rewritten */
    vol = json_array_get(json_object_get(json_object_get(tmpl_of(d), "spec"), "volumes"), 0);
    json_object_set_new(json_object_get(vol, "configMap"), "name", json_string("cm1-abc"));
    assert_true(config_rollout_pending(d));
    config_refs_hash(tmpl_of(d), h2);
    assert_string_not_equal(h, h2);
    /* without the opt-in annotation, Kubernetes semantics: never pending */
    json_object_del(json_object_get(json_object_get(d, "metadata"), "annotations"), CFG_A_OPTIN);
    assert_false(config_rollout_pending(d));
    json_decref(d);
}

static void test_hash_order_free(void **state)
{
    /* the same set of names in another order (or twice) hashes the same */
    json_t *a = json_loads("{\"spec\":{\"volumes\":[{\"configMap\":{\"name\":\"x\"}},"
                           "{\"secret\":{\"secretName\":\"y\"}}]}}",
                           0, NULL);
    json_t *b = json_loads("{\"spec\":{\"volumes\":[{\"secret\":{\"secretName\":\"y\"}},"
                           "{\"configMap\":{\"name\":\"x\"}},{\"configMap\":{\"name\":\"x\"}}]}}",
                           0, NULL);
    json_t *c = json_loads("{\"spec\":{\"volumes\":[{\"secret\":{\"secretName\":\"x\"}},"
                           "{\"configMap\":{\"name\":\"y\"}}]}}",
                           0, NULL);
    char ha[16], hb[16], hc[16];

    config_refs_hash(a, ha);
    config_refs_hash(b, hb);
    config_refs_hash(c, hc);
    assert_string_equal(ha, hb);
    assert_string_not_equal(ha, hc); /* kinds count: cm/x is not secret/x */
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs_each),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_hash_order_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
