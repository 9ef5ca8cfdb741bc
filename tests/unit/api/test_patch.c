/* Unit tests of the patch engine: RFC 6902 and RFC 7386 examples, kubectl's real strategic
 * merge patches, server-side apply ownership, YAML parsing, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/kind.h"
#include "api/patch.h"
#include "core/jx.h"

/* The strategic-merge schema of a served kind by name ("Deployment"), NULL for any other. */
static const struct patch_schema *SCHEMA(const char *kind)
{
    for (int i = 0; i < RES_COUNT; i++)
        if (strcmp(scheme_resources[i].kind, kind) == 0)
            return api_kind((enum res_id)i)->merge;
    return NULL;
}

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (!v)
        fail_msg("bad test JSON at %d: %s: %s", je.position, je.text, text);
    return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = J(want_text);

    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        print_error("got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

/* Runs one kind of patch on text inputs; returns the code and stores the result. */
enum ptype { PT_JSON, PT_MERGE, PT_SMP };

static int run(enum ptype t, const char *doc, const char *patch, const char *kind, json_t **out,
               struct err *e)
{
    json_t *d = J(doc), *p = J(patch), *d0 = J(doc), *p0 = J(patch);
    int rc;

    err_init(e);
    if (t == PT_JSON)
        rc = patch_json_apply(d, p, out, e);
    else if (t == PT_MERGE)
        rc = patch_merge_apply(d, p, out, e);
    else
        rc = patch_strategic_apply(d, p, SCHEMA(kind), out, e);
    /* The inputs are borrowed: they must come back unchanged. */
    assert_true(json_equal(d, d0));
    assert_true(json_equal(p, p0));
    json_decref(d);
    json_decref(p);
    json_decref(d0);
    json_decref(p0);
    return rc;
}

static void expect_ok(enum ptype t, const char *doc, const char *patch, const char *kind,
                      const char *want)
{
    json_t *out = NULL;
    struct err e;
    int rc = run(t, doc, patch, kind, &out, &e);

    if (rc != 0)
        fail_msg("patch failed (%d): %s", rc, e.msg);
    assert_json(out, want);
    json_decref(out);
    err_release(&e);
}

static void expect_err(enum ptype t, const char *doc, const char *patch, const char *kind,
                       int code, const char *msg_part)
{
    json_t *out = NULL;
    struct err e;
    int rc = run(t, doc, patch, kind, &out, &e);

    assert_int_equal(rc, code);
    assert_null(out);
    if (msg_part && !strstr(e.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg_part);
    err_release(&e);
}

/* ---- RFC 6902 ---------------------------------------------------------------------------- */

static void test_json_patch_rfc6902_examples(void **state)
{
    /* RFC 6902 appendix A.1 to A.10, A.14, A.16. */
    expect_ok(PT_JSON, "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
              NULL, "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    expect_ok(PT_JSON, "{\"foo\":[\"bar\",\"baz\"]}",
              "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", NULL,
              "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    expect_ok(PT_JSON, "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
              NULL, "{\"foo\":\"bar\"}");
    expect_ok(PT_JSON, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
              "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", NULL, "{\"foo\":[\"bar\",\"baz\"]}");
    expect_ok(PT_JSON, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
              "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", NULL,
              "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    expect_ok(PT_JSON, "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
              "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]", NULL,
              "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    expect_ok(PT_JSON, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
              "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]", NULL,
              "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    expect_ok(PT_JSON, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
              "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
              "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
              NULL, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    expect_err(PT_JSON, "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
               NULL, -E_INVALID, "test failed");
    expect_ok(PT_JSON, "{\"foo\":\"bar\"}",
              "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]", NULL,
              "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* A.14: ~0 and ~1 escapes. */
    expect_ok(PT_JSON, "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
              NULL, "{\"/\":9,\"~1\":10}");
    expect_ok(PT_JSON, "{\"foo\":[\"bar\"]}",
              "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]", NULL,
              "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    /* Numbers compare by value in "test". */
    expect_ok(PT_JSON, "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]", NULL,
              "{\"a\":1}");
    /* copy, and replacing the whole document. */
    expect_ok(PT_JSON, "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
              NULL, "{\"a\":{\"b\":1},\"c\":{\"b\":1}}");
    expect_ok(PT_JSON, "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]",
              NULL, "{\"b\":2}");
}

static void test_json_patch_errors(void **state)
{
    expect_err(PT_JSON, "{}", "{\"op\":\"add\"}", NULL, -E_BAD_REQUEST, NULL);
    expect_err(PT_JSON, "{}", "[1]", NULL, -E_BAD_REQUEST, NULL);
    expect_err(PT_JSON, "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a/~2\"}]", NULL,
               -E_INVALID, "~");
    expect_err(PT_JSON, "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]", NULL,
               -E_INVALID, "out of range");
    expect_err(PT_JSON, "{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", NULL,
               -E_INVALID, "missing path");
    expect_err(PT_JSON, "{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/01\",\"value\":2}]",
               NULL, -E_INVALID, NULL);
    expect_err(PT_JSON, "{\"a\":1}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", NULL,
               -E_INVALID, "Unexpected kind");
    expect_err(PT_JSON, "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL,
               -E_INVALID, NULL);
    expect_err(PT_JSON, "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL, -E_INVALID,
               "missing \"value\"");
    expect_err(PT_JSON, "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
               NULL, -E_INVALID, "child");
    expect_err(PT_JSON, "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/nope\",\"path\":\"/b\"}]",
               NULL, -E_INVALID, NULL);
    /* A failing op leaves nothing half-applied: the error wins. */
    expect_err(PT_JSON, "{\"a\":1}",
               "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"test\",\"path\":\"/a\",\"value\":3}]",
               NULL, -E_INVALID, "/a");
}

/* kubectl rollout undo sends a JSON patch replacing the template and annotations. */
static void test_json_patch_rollout_undo(void **state)
{
    expect_ok(PT_JSON,
              "{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\"}},"
              "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"s\",\"image\":\"v2\"}]}}}}",
              "[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":{\"metadata\":{\"creationTimestamp\":null},"
              "\"spec\":{\"containers\":[{\"name\":\"s\",\"image\":\"v1\"}]}}},"
              "{\"op\":\"replace\",\"path\":\"/metadata/annotations\",\"value\":{\"a\":\"b\"}}]",
              NULL,
              "{\"metadata\":{\"annotations\":{\"a\":\"b\"}},\"spec\":{\"template\":{\"metadata\":"
              "{\"creationTimestamp\":null},\"spec\":{\"containers\":[{\"name\":\"s\",\"image\":\"v1\"}]}}}}");
}

/* ---- RFC 7386 ---------------------------------------------------------------------------- */

/* RFC 7386 appendix A, every row. Rows whose patch is not an object are checked one level
 * down ({"x": doc} + {"x": patch}), because Kubernetes refuses non-object merge patches. */
static void test_merge_patch_rfc7386_table(void **state)
{
    static const char *const rows[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    char doc[256], patch[256], want[256];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(doc, sizeof doc, "{\"x\":%s}", rows[i][0]);
        snprintf(want, sizeof want, "{\"x\":%s}", rows[i][2]);
        if (strcmp(rows[i][1], "null") == 0) /* null at a key deletes it */
            snprintf(want, sizeof want, "{}");
        snprintf(patch, sizeof patch, "{\"x\":%s}", rows[i][1]);
        expect_ok(PT_MERGE, doc, patch, NULL, want);
        if (rows[i][1][0] == '{' && rows[i][0][0] == '{')
            expect_ok(PT_MERGE, rows[i][0], rows[i][1], NULL, rows[i][2]);
    }
}

static void test_merge_patch_errors_and_scale(void **state)
{
    expect_err(PT_MERGE, "{}", "[1]", NULL, -E_BAD_REQUEST, NULL);
    expect_err(PT_MERGE, "{}", "\"x\"", NULL, -E_BAD_REQUEST, NULL);
    /* kubectl scale: {"spec":{"replicas":5}} keeps the rest of spec. */
    expect_ok(PT_MERGE, "{\"spec\":{\"replicas\":3,\"paused\":true}}", "{\"spec\":{\"replicas\":5}}",
              NULL, "{\"spec\":{\"replicas\":5,\"paused\":true}}");
    /* Merge patch replaces lists whole, even containers. */
    expect_ok(PT_MERGE, "{\"c\":[{\"name\":\"a\",\"image\":\"1\"},{\"name\":\"b\"}]}",
              "{\"c\":[{\"name\":\"a\",\"image\":\"2\"}]}", NULL,
              "{\"c\":[{\"name\":\"a\",\"image\":\"2\"}]}");
}

/* ---- strategic merge patch --------------------------------------------------------------- */

static const char deploy[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"model-serving\","
    "\"labels\":{\"app\":\"ms\"},\"finalizers\":[\"a\",\"b\"]},"
    "\"spec\":{\"replicas\":3,\"paused\":true,\"selector\":{\"matchLabels\":{\"app\":\"ms\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"ms\"}},\"spec\":{\"containers\":["
    "{\"name\":\"server\",\"image\":\"myrepo/tf-serving:1.0.3\",\"ports\":[{\"containerPort\":8500}],"
    "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]},"
    "{\"name\":\"sidecar\",\"image\":\"proxy:1\",\"args\":[\"-v\"]}]}}}}";

static json_t *smp(const char *doc, const char *patch, const char *kind)
{
    json_t *out = NULL;
    struct err e;
    int rc = run(PT_SMP, doc, patch, kind, &out, &e);

    if (rc != 0)
        fail_msg("strategic patch failed (%d): %s", rc, e.msg);
    err_release(&e);
    return out;
}

static void test_smp_set_image(void **state)
{
    json_t *out = smp(deploy,
                      "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":"
                      "[{\"name\":\"server\"}],\"containers\":[{\"image\":\"myrepo/tf-serving:1.0.4\","
                      "\"name\":\"server\"}]}}}}",
                      "Deployment");
    json_t *cs = jx_get(out, "spec.template.spec.containers");

    assert_int_equal(json_array_size(cs), 2);
    assert_json(json_array_get(cs, 0),
                "{\"name\":\"server\",\"image\":\"myrepo/tf-serving:1.0.4\",\"ports\":"
                "[{\"containerPort\":8500}],\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
                "{\"name\":\"B\",\"value\":\"2\"}]}");
    assert_json(json_array_get(cs, 1), "{\"name\":\"sidecar\",\"image\":\"proxy:1\",\"args\":[\"-v\"]}");
    {
        char *text = jx_dump(out);
        assert_null(strchr(text, '$'));
        free(text);
    }
    assert_int_equal(jx_int(out, "spec.replicas", 0), 3);
    json_decref(out);
}

static void test_smp_pause_resume_cordon(void **state)
{
    json_t *out = smp(deploy, "{\"spec\":{\"paused\":null}}", "Deployment");
    assert_null(jx_get(out, "spec.paused"));
    assert_int_equal(jx_int(out, "spec.replicas", 0), 3);
    json_decref(out);
    out = smp("{\"spec\":{\"replicas\":1}}", "{\"spec\":{\"paused\":true}}", "Deployment");
    assert_json(out, "{\"spec\":{\"replicas\":1,\"paused\":true}}");
    json_decref(out);
    out = smp("{\"metadata\":{\"name\":\"node-1\"},\"spec\":{}}",
              "{\"spec\":{\"unschedulable\":true}}", "Node");
    assert_true(jx_bool(out, "spec.unschedulable"));
    json_decref(out);
    out = smp("{\"metadata\":{\"name\":\"node-1\"},\"spec\":{\"unschedulable\":true}}",
              "{\"spec\":{\"unschedulable\":null}}", "Node");
    assert_json(out, "{\"metadata\":{\"name\":\"node-1\"},\"spec\":{}}");
    json_decref(out);
}

static void test_smp_service_selector_and_ports(void **state)
{
    const char *svc = "{\"spec\":{\"selector\":{\"app\":\"blue\",\"tier\":\"web\"},\"ports\":["
                      "{\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"},{\"port\":9000}]}}";
    json_t *out = smp(svc, "{\"spec\":{\"selector\":{\"app\":\"green\"}}}", "Service");

    assert_json(jx_get(out, "spec.selector"), "{\"app\":\"green\",\"tier\":\"web\"}");
    json_decref(out);
    out = smp(svc, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8081}]}}", "Service");
    assert_json(jx_get(out, "spec.ports"),
                "[{\"port\":80,\"targetPort\":8081,\"protocol\":\"TCP\"},{\"port\":9000}]");
    json_decref(out);
}

static void test_smp_delete_directives(void **state)
{
    json_t *out = smp(deploy,
                      "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"delete\","
                      "\"name\":\"sidecar\"}]}}}}", "Deployment");
    json_t *cs = jx_get(out, "spec.template.spec.containers");

    assert_int_equal(json_array_size(cs), 1);
    assert_string_equal(jx_str(json_array_get(cs, 0), "name"), "server");
    json_decref(out);

    /* env merges by name; a null inside an item deletes that field only. */
    out = smp(deploy,
              "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"server\",\"env\":"
              "[{\"name\":\"B\",\"$patch\":\"delete\"},{\"name\":\"C\",\"value\":\"3\"}],"
              "\"ports\":null}]}}}}", "Deployment");
    assert_json(json_array_get(jx_get(out, "spec.template.spec.containers"), 0),
                "{\"name\":\"server\",\"image\":\"myrepo/tf-serving:1.0.3\",\"env\":"
                "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"}]}");
    json_decref(out);

    /* $patch: replace on a map, $retainKeys, finalizers as a set. */
    out = smp("{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}},"
              "\"x\":{\"a\":1,\"b\":2}},\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
              "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\","
              "\"rollingUpdate\":null},\"x\":{\"$patch\":\"replace\",\"c\":3}},"
              "\"metadata\":{\"finalizers\":[\"c\",\"a\"],\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
              "Deployment");
    assert_json(out, "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"},\"x\":{\"c\":3}},"
                     "\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
    json_decref(out);

    /* A list-level replace, and lists without a merge key (args, tolerations) are replaced. */
    out = smp(deploy,
              "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},"
              "{\"name\":\"only\",\"image\":\"x\",\"args\":[\"a\"]}],\"tolerations\":[{\"key\":\"k\"}]}}}}",
              "Deployment");
    assert_json(jx_get(out, "spec.template.spec"),
                "{\"containers\":[{\"name\":\"only\",\"image\":\"x\",\"args\":[\"a\"]}],"
                "\"tolerations\":[{\"key\":\"k\"}]}");
    json_decref(out);
}

static void test_smp_set_element_order_and_conditions(void **state)
{
    json_t *out = smp(deploy,
                      "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":"
                      "[{\"name\":\"sidecar\"},{\"name\":\"server\"}]}}}}", "Deployment");
    json_t *cs = jx_get(out, "spec.template.spec.containers");

    assert_string_equal(jx_str(json_array_get(cs, 0), "name"), "sidecar");
    assert_string_equal(jx_str(json_array_get(cs, 1), "name"), "server");
    json_decref(out);

    out = smp("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
              "{\"type\":\"MemoryPressure\",\"status\":\"False\"}]}}",
              "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}", "Node");
    assert_json(out, "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},"
                     "{\"type\":\"MemoryPressure\",\"status\":\"False\"}]}}");
    json_decref(out);

    /* kubectl rollout restart adds a template annotation. */
    out = smp(deploy, "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                      "{\"kubectl.kubernetes.io/restartedAt\":\"2026-11-27T02:02:11Z\"}}}}}",
              "Deployment");
    assert_string_equal(jx_annotation(jx_get(out, "spec.template"),
                                      "kubectl.kubernetes.io/restartedAt"),
                        "2026-11-27T02:02:11Z");
    assert_string_equal(jx_label(jx_get(out, "spec.template"), "app"), "ms");
    json_decref(out);
}

static void test_smp_errors(void **state)
{
    expect_err(PT_SMP, "{}", "[]", "Deployment", -E_BAD_REQUEST, NULL);
    expect_err(PT_SMP, "{}", "{\"spec\":{}}", "Widget", -E_UNSUPPORTED_MEDIA, NULL);
    expect_err(PT_SMP, deploy, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}",
               "Deployment", -E_BAD_REQUEST, "merge key");
    expect_err(PT_SMP, deploy, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[\"x\"]}}}}",
               "Deployment", -E_BAD_REQUEST, NULL);
    expect_err(PT_SMP, deploy, "{\"spec\":{\"$patch\":\"explode\"}}", "Deployment",
               -E_BAD_REQUEST, "unknown patch type");
    expect_err(PT_SMP, "{\"spec\":{\"strategy\":{}}}",
               "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"other\":1}}}", "Deployment",
               -E_INVALID, "retainKeys");
    expect_err(PT_SMP, deploy, "{\"metadata\":{\"$setElementOrder/finalizers\":3}}", "Deployment",
               -E_BAD_REQUEST, NULL);
}

/* ---- server-side apply ------------------------------------------------------------------- */

static json_t *ssa(const json_t *live, const char *applied, const char *mgr, int force,
                   int want_rc, struct err *e)
{
    json_t *a = J(applied), *out = NULL;
    int rc;

    err_init(e);
    rc = patch_ssa_apply(live, a, mgr, force, SCHEMA("Deployment"), &out, e);
    json_decref(a);
    if (rc != want_rc)
        fail_msg("apply returned %d (%s), want %d", rc, e->msg, want_rc);
    return out;
}

static const json_t *mf_entry(const json_t *obj, const char *mgr, const char *op)
{
    json_t *mf = jx_get(obj, "metadata.managedFields"), *e;
    size_t i;

    json_array_foreach (mf, i, e)
        if (!strcmp(jx_str(e, "manager"), mgr) && !strcmp(jx_str(e, "operation"), op))
            return e;
    return NULL;
}

static const char applied1[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\","
    "\"labels\":{\"app\":\"d\"}},\"spec\":{\"replicas\":3,\"template\":{\"spec\":{"
    "\"containers\":[{\"name\":\"server\",\"image\":\"v1\"},{\"name\":\"side\",\"image\":\"s1\"}]}}}}";

static void test_ssa_create_and_fields(void **state)
{
    struct err e;
    json_t *out = ssa(NULL, applied1, "kubectl", 0, 0, &e);
    const json_t *ent = mf_entry(out, "kubectl", "Apply");

    assert_non_null(ent);
    assert_string_equal(jx_str(ent, "apiVersion"), "apps/v1");
    assert_string_equal(jx_str(ent, "fieldsType"), "FieldsV1");
    assert_non_null(jx_str(ent, "time"));
    assert_json(json_object_get(ent, "fieldsV1"),
                "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{"
                "\"f:replicas\":{},\"f:template\":{\"f:spec\":{\"f:containers\":{"
                "\"k:{\\\"name\\\":\\\"server\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{}},"
                "\"k:{\\\"name\\\":\\\"side\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{}}}}}}}");
    assert_int_equal(jx_int(out, "spec.replicas", 0), 3);
    assert_string_equal(jx_str(out, "metadata.name"), "d");
    json_decref(out);
    err_release(&e);
}

static void test_ssa_update_removes_dropped_fields(void **state)
{
    struct err e;
    json_t *live = ssa(NULL, applied1, "kubectl", 0, 0, &e), *out;

    /* Another writer (kubectl scale) adds a field this manager never applied. */
    json_object_set_new(jx_obj(live, "spec"), "paused", json_true());
    out = ssa(live,
              "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},"
              "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"server\","
              "\"image\":\"v2\"}]}}}}",
              "kubectl", 0, 0, &e);
    assert_json(jx_get(out, "spec.template.spec.containers"), "[{\"name\":\"server\",\"image\":\"v2\"}]");
    assert_null(jx_get(out, "metadata.labels"));
    assert_true(jx_bool(out, "spec.paused")); /* not ours: kept */
    assert_int_equal(json_array_size(jx_get(out, "metadata.managedFields")), 1);
    json_decref(live);
    json_decref(out);
    err_release(&e);
}

static void test_ssa_conflict_and_force(void **state)
{
    struct err e;
    json_t *live = ssa(NULL, applied1, "kubectl", 0, 0, &e), *old, *out;
    const json_t *cause;

    /* kubectl scale --replicas=5 (an Update by another manager) takes spec.replicas. */
    old = json_deep_copy(live);
    json_object_set_new(jx_obj(live, "spec"), "replicas", json_integer(5));
    patch_ssa_track_update(live, old, "kubectl-scale", SCHEMA("Deployment"));
    json_decref(old);
    assert_non_null(mf_entry(live, "kubectl-scale", "Update"));
    assert_json(json_object_get(mf_entry(live, "kubectl-scale", "Update"), "fieldsV1"),
                "{\"f:spec\":{\"f:replicas\":{}}}");
    assert_null(jx_get(json_object_get(mf_entry(live, "kubectl", "Apply"), "fieldsV1"),
                       "f:spec.f:replicas"));

    /* Re-applying replicas: 3 now conflicts. */
    out = ssa(live, applied1, "kubectl", 0, -E_CONFLICT, &e);
    assert_null(out);
    assert_non_null(strstr(e.msg, "Apply failed with 1 conflict: conflict with \"kubectl-scale\" "
                                  "using apps/v1"));
    assert_non_null(strstr(e.msg, ": .spec.replicas"));
    assert_int_equal(json_array_size(e.causes), 1);
    cause = json_array_get(e.causes, 0);
    assert_string_equal(jx_str(cause, "reason"), "FieldManagerConflict");
    assert_string_equal(jx_str(cause, "field"), ".spec.replicas");
    assert_non_null(strstr(jx_str(cause, "message"), "conflict with \"kubectl-scale\" using apps/v1"));
    err_release(&e);

    /* Applying the same value as the other owner is shared ownership, not a conflict. */
    out = ssa(live,
              "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},"
              "\"spec\":{\"replicas\":5}}", "other", 0, 0, &e);
    json_decref(out);
    err_release(&e);

    /* force takes the field over. */
    out = ssa(live, applied1, "kubectl", 1, 0, &e);
    assert_int_equal(jx_int(out, "spec.replicas", 0), 3);
    assert_null(mf_entry(out, "kubectl-scale", "Update"));
    json_decref(out);
    json_decref(live);
    err_release(&e);
}

static void test_ssa_track_update_create_and_errors(void **state)
{
    json_t *obj = J(deploy), *a;
    struct err e;

    patch_ssa_track_update(obj, NULL, "kubectl-client-side-apply", SCHEMA("Deployment"));
    assert_non_null(mf_entry(obj, "kubectl-client-side-apply", "Update"));
    assert_non_null(jx_get(json_object_get(mf_entry(obj, "kubectl-client-side-apply", "Update"),
                                           "fieldsV1"), "f:spec.f:replicas"));
    /* An apply by kubectl of a different image conflicts with the creator, twice over. */
    a = ssa(obj,
            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"model-serving\"},"
            "\"spec\":{\"replicas\":4,\"template\":{\"spec\":{\"containers\":[{\"name\":\"server\","
            "\"image\":\"new\"}]}}}}", "kubectl", 0, -E_CONFLICT, &e);
    assert_null(a);
    assert_int_equal(json_array_size(e.causes), 2);
    assert_non_null(strstr(e.msg, "Apply failed with 2 conflicts"));
    assert_non_null(strstr(e.msg, "- .spec.template.spec.containers[name=\"server\"].image"));
    err_release(&e);
    /* Malformed applies. */
    ssa(obj, "[1]", "kubectl", 0, -E_BAD_REQUEST, &e);
    err_release(&e);
    ssa(obj, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}", "kubectl",
        0, -E_INVALID, &e);
    err_release(&e);
    ssa(obj, "{}", "", 0, -E_BAD_REQUEST, &e);
    err_release(&e);
    json_decref(obj);
}

/* ---- YAML -------------------------------------------------------------------------------- */

static void test_yaml_parse(void **state)
{
    const char *y = "base: &b\n  image: x\n  port: 80\nc:\n  <<: *b\n  port: 81\n"
                    "n: ~\nt: true\ns: \"true\"\no: 0o17\nh: 0x1f\nf: 1.5\nv: 1.0.4\nl: [1, two]\n"
                    "yes: yes\n";
    json_t *out = NULL;
    struct err e;

    err_init(&e);
    assert_int_equal(jx_parse_yaml(y, strlen(y), &out, &e), 0);
    assert_json(out, "{\"base\":{\"image\":\"x\",\"port\":80},\"c\":{\"port\":81,\"image\":\"x\"},"
                     "\"n\":null,\"t\":true,\"s\":\"true\",\"o\":15,\"h\":31,\"f\":1.5,"
                     "\"v\":\"1.0.4\",\"l\":[1,\"two\"],\"yes\":\"yes\"}");
    json_decref(out);
    assert_int_equal(jx_parse_yaml("{\"a\":[1,2]}", 11, &out, &e), 0);
    assert_json(out, "{\"a\":[1,2]}");
    json_decref(out);
    assert_int_equal(jx_parse_yaml("a: [1\nb: 2\n", 11, &out, &e), -E_BAD_REQUEST);
    assert_null(out);
    assert_non_null(strstr(e.msg, "line "));
    assert_non_null(strstr(e.msg, "column "));
    err_release(&e);
    /* The position points at the offending key (1-based). */
    assert_int_equal(jx_parse_yaml("x: 0\na: 1\na: 2\n", 15, &out, &e), -E_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "line 3, column 1: duplicate key"));
    err_release(&e);
    /* Malformed UTF-8 is refused up front, naming the byte. */
    assert_int_equal(jx_parse_yaml("%0wU\xc2stec", 9, &out, &e), -E_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "invalid UTF-8 at byte 4"));
    err_release(&e);
    assert_int_equal(jx_parse_yaml("a: *nope\n", 9, &out, &e), -E_BAD_REQUEST);
    err_release(&e);
    assert_int_equal(jx_parse_yaml("", 0, &out, &e), 0);
    assert_true(json_is_null(out));
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_patch_rfc6902_examples),
        cmocka_unit_test(test_json_patch_errors),
        cmocka_unit_test(test_json_patch_rollout_undo),
        cmocka_unit_test(test_merge_patch_rfc7386_table),
        cmocka_unit_test(test_merge_patch_errors_and_scale),
        cmocka_unit_test(test_smp_set_image),
        cmocka_unit_test(test_smp_pause_resume_cordon),
        cmocka_unit_test(test_smp_service_selector_and_ports),
        cmocka_unit_test(test_smp_delete_directives),
        cmocka_unit_test(test_smp_set_element_order_and_conditions),
        cmocka_unit_test(test_smp_errors),
        cmocka_unit_test(test_ssa_create_and_fields),
        cmocka_unit_test(test_ssa_update_removes_dropped_fields),
        cmocka_unit_test(test_ssa_conflict_and_force),
        cmocka_unit_test(test_ssa_track_update_create_and_errors),
        cmocka_unit_test(test_yaml_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
