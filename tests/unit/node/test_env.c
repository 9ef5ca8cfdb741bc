/* Container environments against a real in-process API (store on a temp data dir): envFrom,
 * $(VAR) expansion, downward API and resource fields, ConfigMap/Secret keys, and the kubelet's
 * error texts for missing sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/env.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/loop.h"
#include "node/envvol-int.h"
#include "server/inproc.h"
#include "store/store.h"

static char g_dir[PATH_MAX];
static struct loop *g_loop;
static struct store *g_store;
static struct api *g_api;
static struct kc *g_kc; /* the client the node's functions use */

static void create(enum res_id id, const char *ns, json_t *obj)
{
    struct api_wopts o = {.grace = -1};
    struct err err;
    json_t *out = NULL;

    err_init(&err);
    if (api_create(g_api, scheme_resource(id), ns, obj, &o, &out, &err) < 0)
        fail_msg("create: %s", err.msg);
    json_decref(out);
    json_decref(obj);
    err_release(&err);
}

static int group_setup(void **state)
{
    struct api_opts ao = {.listen_host = "127.0.0.1", .listen_port = 0};
    char db[PATH_MAX + 16];
    struct err err;

    snprintf(g_dir, sizeof g_dir, "/tmp/kroll-env-test.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    err_init(&err);
    snprintf(db, sizeof db, "%s/kroll.db", g_dir);
    g_loop = loop_new();
    if (store_open(db, &g_store, &err) < 0)
        fail_msg("store: %s", err.msg);
    ao.data_dir = g_dir;
    if (!(g_api = api_new(g_loop, g_store, &ao, &err)))
        fail_msg("api: %s", err.msg);
    g_kc = kc_inproc_new(g_api);
    create(RES_NAMESPACE, NULL,
           json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                     "name", "default"));
    create(RES_CONFIGMAP, "default",
           json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", "cfg", "data", "A", "1", "1BAD", "x",
                     "B", "$(A)-b"));
    create(RES_SECRET, "default",
           json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", "sec", "data", "TOKEN", "czNjcmV0")); /* "s3cret" */
    err_release(&err);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    kc_free(g_kc);
    api_free(g_api);
    store_close(g_store);
    loop_free(g_loop);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *test_pod(void)
{
    return json_pack("{s:{s:s, s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:s, s:s}, "
                     "s:{s:s, s:s, s:[{s:s}, {s:s}]}}",
                     "metadata", "name", "web-1", "namespace", "default", "uid", "u-1", "labels",
                     "app", "web", "annotations", "team", "ml", "spec", "nodeName", "node1",
                     "serviceAccountName", "default", "status", "hostIP", "10.0.0.1", "podIP",
                     "127.78.0.5", "podIPs", "ip", "127.78.0.5", "ip", "fd00::5");
}

/* Value of K in a "K=V" array, or NULL. */
static const char *env_get(const json_t *env, const char *k)
{
    const json_t *e;
    size_t i, n = strlen(k);

    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (strncmp(s, k, n) == 0 && s[n] == '=')
            return s + n + 1;
    }
    return NULL;
}

static void test_resolve_all_sources(void **state)
{
    json_t *pod = test_pod(), *out = NULL;
    json_t *image_env = json_pack("[s, s]", "PATH=/usr/bin", "A=image");
    json_t *c = json_pack(
        "{s:s, s:[{s:{s:s}}, {s:s, s:{s:s}}, {s:{s:s, s:b}}], s:{s:{s:s, s:s}}}", "name", "app",
        "envFrom", "configMapRef", "name", "cfg", "prefix", "S_", "secretRef", "name", "sec",
        "configMapRef", "name", "missing", "optional", 1, "resources", "limits", "cpu", "1500m",
        "memory", "1Gi");
    json_t *env = json_array();
    struct err err;

#define ENV(...) json_array_append_new(env, json_pack(__VA_ARGS__))
    ENV("{s:s, s:s}", "name", "GREETING", "value", "hi $(A) $$(A) $(UNKNOWN) $(S_TOKEN)");
    ENV("{s:s, s:{s:{s:s}}}", "name", "POD", "valueFrom", "fieldRef", "fieldPath",
        "metadata.name");
    ENV("{s:s, s:{s:{s:s}}}", "name", "LBL", "valueFrom", "fieldRef", "fieldPath",
        "metadata.labels['app']");
    ENV("{s:s, s:{s:{s:s}}}", "name", "ANN", "valueFrom", "fieldRef", "fieldPath",
        "metadata.annotations['team']");
    ENV("{s:s, s:{s:{s:s}}}", "name", "IPS", "valueFrom", "fieldRef", "fieldPath",
        "status.podIPs");
    ENV("{s:s, s:{s:{s:s}}}", "name", "NODE", "valueFrom", "fieldRef", "fieldPath",
        "spec.nodeName");
    ENV("{s:s, s:{s:{s:s}}}", "name", "CPU", "valueFrom", "resourceFieldRef", "resource",
        "limits.cpu");
    ENV("{s:s, s:{s:{s:s, s:s}}}", "name", "MEM", "valueFrom", "resourceFieldRef", "resource",
        "limits.memory", "divisor", "1Mi");
    ENV("{s:s, s:{s:{s:s, s:s}}}", "name", "REQMEM", "valueFrom", "resourceFieldRef", "resource",
        "requests.memory", "divisor", "1Gi");
    ENV("{s:s, s:{s:{s:s, s:s}}}", "name", "KEY", "valueFrom", "configMapKeyRef", "name", "cfg",
        "key", "B");
    ENV("{s:s, s:{s:{s:s, s:s}}}", "name", "TOK", "valueFrom", "secretKeyRef", "name", "sec",
        "key", "TOKEN");
    ENV("{s:s, s:{s:{s:s, s:s, s:b}}}", "name", "OPT", "valueFrom", "configMapKeyRef", "name",
        "cfg", "key", "nokey", "optional", 1);
    ENV("{s:s, s:{s:{s:s, s:s, s:b}}}", "name", "OPT2", "valueFrom", "secretKeyRef", "name",
        "gone", "key", "k", "optional", 1);
    ENV("{s:s, s:s}", "name", "A", "value", "override");
    ENV("{s:s, s:s}", "name", "LATER", "value", "$(A)");
#undef ENV
    json_object_set_new(c, "env", env);
    err_init(&err);
    assert_int_equal(env_resolve(g_kc, pod, c, image_env, NULL, &out, &err), 0);
    assert_string_equal(env_get(out, "PATH"), "/usr/bin");
    assert_string_equal(env_get(out, "A"), "override");
    assert_null(env_get(out, "1BAD")); /* invalid name from envFrom: skipped */
    assert_string_equal(env_get(out, "B"), "$(A)-b"); /* envFrom values are not expanded */
    assert_string_equal(env_get(out, "S_TOKEN"), "s3cret");
    assert_string_equal(env_get(out, "GREETING"), "hi 1 $(A) $(UNKNOWN) s3cret");
    assert_string_equal(env_get(out, "POD"), "web-1");
    assert_string_equal(env_get(out, "LBL"), "web");
    assert_string_equal(env_get(out, "ANN"), "ml");
    assert_string_equal(env_get(out, "IPS"), "127.78.0.5,fd00::5");
    assert_string_equal(env_get(out, "NODE"), "node1");
    assert_string_equal(env_get(out, "CPU"), "2");
    assert_string_equal(env_get(out, "MEM"), "1024");
    assert_string_equal(env_get(out, "REQMEM"), "1"); /* requests default to limits */
    assert_string_equal(env_get(out, "KEY"), "$(A)-b");
    assert_string_equal(env_get(out, "TOK"), "s3cret");
    assert_null(env_get(out, "OPT"));
    assert_null(env_get(out, "OPT2"));
    assert_string_equal(env_get(out, "LATER"), "override");
    json_decref(out);
    json_decref(c);
    json_decref(pod);
    json_decref(image_env);
    err_release(&err);
}

static void expect_error(json_t *c, const char *msg)
{
    json_t *pod = test_pod(), *out = NULL;
    struct err err;

    err_init(&err);
    assert_true(env_resolve(g_kc, pod, c, NULL, NULL, &out, &err) < 0);
    assert_null(out);
    assert_string_equal(err.msg, msg);
    err_release(&err);
    json_decref(pod);
    json_decref(c);
}

/* Divisors: a quantity or an integer; one too large for milli-units is refused (an integer
 * divisor of 1e16 overflowed int64 when scaled to milli-units). */
static void test_resource_divisor(void **state)
{
    json_t *c = json_pack("{s:{s:{s:s}}}", "resources", "limits", "memory", "3Gi");
    json_t *ref;
    struct err err;
    char *v;

    (void)state;
    err_init(&err);
    ref = json_pack("{s:s, s:I}", "resource", "limits.memory", "divisor", (json_int_t)1048576);
    v = node__resource_value(c, ref, &err);
    assert_string_equal(v, "3072");
    free(v);
    json_decref(ref);
    ref = json_pack("{s:s, s:I}", "resource", "limits.memory", "divisor",
                    (json_int_t)10000000000000000LL);
    assert_null(node__resource_value(c, ref, &err));
    assert_string_equal(err.msg, "invalid divisor 10000000000000000");
    err_release(&err);
    json_decref(ref);
    json_decref(c);
}

static void test_missing_sources(void **state)
{
    expect_error(json_pack("{s:[{s:{s:s}}]}", "envFrom", "configMapRef", "name", "nope"),
                 "configmap \"nope\" not found");
    expect_error(json_pack("{s:[{s:{s:s}}]}", "envFrom", "secretRef", "name", "nos"),
                 "secret \"nos\" not found");
    expect_error(json_pack("{s:[{s:s, s:{s:{s:s, s:s}}}]}", "env", "name", "X", "valueFrom",
                           "configMapKeyRef", "name", "cfg", "key", "zz"),
                 "couldn't find key zz in ConfigMap default/cfg");
    expect_error(json_pack("{s:[{s:s, s:{s:{s:s, s:s}}}]}", "env", "name", "X", "valueFrom",
                           "secretKeyRef", "name", "sec", "key", "zz"),
                 "couldn't find key zz in Secret default/sec");
    expect_error(json_pack("{s:[{s:s, s:{s:{s:s, s:s}}}]}", "env", "name", "X", "valueFrom",
                           "configMapKeyRef", "name", "other", "key", "zz"),
                 "configmap \"other\" not found");
    expect_error(json_pack("{s:[{s:s, s:{s:{s:s}}}]}", "env", "name", "X", "valueFrom",
                           "fieldRef", "fieldPath", "spec.bogus"),
                 "unsupported fieldPath: spec.bogus");
}

static void test_expand(void **state)
{
    json_t *env = json_pack("[s, s]", "A=1", "EMPTY=");
    json_t *args = json_pack("[s, s, s, s, s, s, s, s, s]", "$(A)", "$$(A)", "$(B", "$",
                             "x$(NOPE)y", "$$", "$(A)$(A)", "a$b", "[$(EMPTY)]");
    json_t *out = env_expand(args, env);
    static const char *const want[] = {"1",  "$(A)", "$(B", "$", "x$(NOPE)y",
                                       "$",  "11",   "a$b", "[]"};

    assert_int_equal(json_array_size(out), 9);
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(json_string_value(json_array_get(out, i)), want[i]);
    json_decref(out);
    json_decref(args);
    json_decref(env);
}

/* Service links as the kubelet makes them (pkg/kubelet/envvars), lowest in priority. */
static void test_service_links(void **state)
{
    json_t *svcs = json_pack(
        "{s:{s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:s},{s:s,s:i}]}},"
        " s:{s:{s:s,s:s},s:{s:s}}, s:{s:{s:s,s:s},s:{s:s,s:[{s:i}]}}}",
        "default/model-serving", "metadata", "name", "model-serving", "namespace", "default",
        "spec", "clusterIP", "127.77.0.9", "ports", "name", "http", "port", 8501, "protocol",
        "TCP", "name", "grpc-api", "port", 8500,
        "default/headless", "metadata", "name", "headless", "namespace", "default", "spec",
        "clusterIP", "None",
        "other/db", "metadata", "name", "db", "namespace", "other", "spec", "clusterIP",
        "127.77.0.10", "ports", "port", 5432);
    json_t *pod = json_pack("{s:{s:s,s:s},s:{}}", "metadata", "name", "p", "namespace",
                            "default", "spec");
    json_t *c = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}]}", "name", "c", "env", "name",
                          "MODEL_SERVING_SERVICE_PORT", "value", "mine", "name", "URL", "value",
                          "http://$(MODEL_SERVING_SERVICE_HOST):$(MODEL_SERVING_SERVICE_PORT_HTTP)");
    json_t *out = NULL;
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(env_resolve(NULL, pod, c, NULL, svcs, &out, &err), 0);
    assert_string_equal(env_get(out, "MODEL_SERVING_SERVICE_HOST"), "127.77.0.9");
    assert_string_equal(env_get(out, "MODEL_SERVING_SERVICE_PORT"), "mine"); /* env wins */
    assert_string_equal(env_get(out, "MODEL_SERVING_SERVICE_PORT_HTTP"), "8501");
    assert_string_equal(env_get(out, "MODEL_SERVING_SERVICE_PORT_GRPC_API"), "8500");
    assert_string_equal(env_get(out, "MODEL_SERVING_PORT"), "tcp://127.77.0.9:8501");
    assert_string_equal(env_get(out, "MODEL_SERVING_PORT_8500_TCP"), "tcp://127.77.0.9:8500");
    assert_string_equal(env_get(out, "MODEL_SERVING_PORT_8500_TCP_PROTO"), "tcp");
    assert_string_equal(env_get(out, "MODEL_SERVING_PORT_8500_TCP_PORT"), "8500");
    assert_string_equal(env_get(out, "MODEL_SERVING_PORT_8500_TCP_ADDR"), "127.77.0.9");
    assert_string_equal(env_get(out, "URL"), "http://127.77.0.9:8501"); /* $(VAR) sees them */
    assert_null(env_get(out, "HEADLESS_SERVICE_HOST")); /* no cluster IP */
    assert_null(env_get(out, "DB_SERVICE_HOST"));       /* another namespace */
    json_decref(out);
    jx_set(pod, "spec.enableServiceLinks", json_false());
    assert_int_equal(env_resolve(NULL, pod, c, NULL, svcs, &out, &err), 0);
    assert_null(env_get(out, "MODEL_SERVING_SERVICE_HOST"));
    assert_null(env_get(out, "MODEL_SERVING_PORT"));
    json_decref(out);
    json_decref(c);
    json_decref(pod);
    json_decref(svcs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_all_sources),
        cmocka_unit_test(test_resource_divisor),
        cmocka_unit_test(test_missing_sources),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_service_links),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
