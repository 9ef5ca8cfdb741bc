/* Size and depth limits of the patch engine (issue 10, item 2): JSON patches that double a
 * subtree with "copy" (the class of CVE-2019-1002100) or copy a deep value into its own deepest
 * child are refused while they are applied; merge patch, strategic merge and server-side apply
 * refuse results over the object limit; the measure agrees with jansson's encoder; legitimate
 * patches near the limits still apply. */
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

static json_t *big_string(size_t n)
{
    char *s = malloc(n + 1);
    json_t *v;

    memset(s, 'x', n);
    s[n] = 0;
    v = json_string(s);
    free(s);
    return v;
}

/* {"k":{"k":...{"k":leaf}}} with depth objects. */
static json_t *chain(int depth, json_t *leaf)
{
    json_t *v = leaf;

    for (int i = 0; i < depth; i++)
        v = json_pack("{s:o}", "k", v);
    return v;
}

/* "/<top>/k/k/.../k" with n "k" tokens after top. */
static char *deep_path(const char *top, int n)
{
    char *p = malloc(strlen(top) + 2 + (size_t)n * 2 + 1), *w = p;

    w += sprintf(w, "/%s", top);
    for (int i = 0; i < n; i++)
        w += sprintf(w, "/k");
    return p;
}

static void expect_fail(int rc, int code, const struct err *e, const char *needle)
{
    assert_int_equal(rc, code);
    if (!strstr(e->msg, needle))
        fail_msg("message \"%s\" does not contain \"%s\"", e->msg, needle);
}

static void test_copy_doubling_refused(void **state)
{
    json_t *doc = json_pack("{s:{s:o}}", "data", "a", big_string(1000)), *ops = json_array();
    json_t *out = NULL;
    struct err e;
    int rc;

    /* Each op copies the whole document into a new member of itself: 2^18 KB unbounded. */
    for (int i = 0; i < 18; i++) {
        char path[32];
        snprintf(path, sizeof path, "/d%d", i);
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "",
                                             "path", path));
    }
    err_init(&e);
    rc = patch_json_apply(doc, ops, &out, &e);
    expect_fail(rc, -E_TOO_LARGE, &e, "1572864");
    assert_null(out);
    assert_non_null(e.causes);
    err_release(&e);
    json_decref(ops);
    json_decref(doc);
}

static void test_copy_into_own_child_refused(void **state)
{
    json_t *doc = json_pack("{s:o}", "c", chain(300, json_string("leaf"))), *ops = json_array();
    json_t *out = NULL;
    struct err e;
    int depth = 300;

    /* Copying the chain into its own deepest child doubles its depth each time. */
    for (int i = 0; i < 7; i++) {
        char *to = deep_path("c", depth);
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "/c",
                                             "path", to));
        free(to);
        depth *= 2;
    }
    err_init(&e);
    expect_fail(patch_json_apply(doc, ops, &out, &e), -E_INVALID, &e, "2048");
    assert_null(out);
    err_release(&e);
    json_decref(ops);
    json_decref(doc);
}

static void test_move_deepening_refused(void **state)
{
    json_t *doc = json_pack("{s:o, s:o}", "a", chain(1500, json_integer(1)), "b",
                            chain(1500, json_integer(2)));
    char *to = deep_path("b", 1500);
    json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "move", "from", "/a", "path", to), *out;
    struct err e;

    err_init(&e);
    expect_fail(patch_json_apply(doc, ops, &out, &e), -E_INVALID, &e, "nesting depth");
    err_release(&e);
    json_decref(ops);
    free(to);
    /* Moving it back up (or sideways) is fine. */
    ops = json_pack("[{s:s, s:s, s:s}]", "op", "move", "from", "/a/k/k", "path", "/z");
    err_init(&e);
    assert_int_equal(patch_json_apply(doc, ops, &out, &e), 0);
    assert_non_null(json_object_get(out, "z"));
    json_decref(out);
    err_release(&e);
    json_decref(ops);
    json_decref(doc);
}

static void test_copy_budget(void **state)
{
    json_t *doc = json_pack("{s:o}", "src", big_string(500000)), *ops = json_array(), *out;
    struct err e;

    /* The document stays at ~1 MB (each copy replaces the last), but 7 copies of 500 KB pass
     * the per-patch copy budget of twice the object limit. */
    for (int i = 0; i < 7; i++)
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "/src",
                                             "path", "/dst"));
    err_init(&e);
    expect_fail(patch_json_apply(doc, ops, &out, &e), -E_TOO_LARGE, &e, "copies");
    err_release(&e);
    json_decref(ops);
    json_decref(doc);
}

/* Many add/remove pairs near the limit: the running count follows removals, so this applies. */
static void test_legit_churn_applies(void **state)
{
    json_t *doc = json_pack("{s:o, s:o}", "big", big_string(1500000), "r", big_string(20000));
    json_t *v = big_string(20000), *ops = json_array(), *out;
    struct err e;

    for (int i = 0; i < 1000; i++) {
        json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "add", "path", "/tmp",
                                             "value", v));
        json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", "/tmp"));
        json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "replace", "path", "/r",
                                             "value", v));
    }
    err_init(&e);
    if (patch_json_apply(doc, ops, &out, &e) < 0)
        fail_msg("legitimate patch refused: %s", e.msg);
    assert_true(json_equal(out, doc));
    json_decref(out);
    err_release(&e);
    json_decref(v);
    json_decref(ops);
    json_decref(doc);
}

static void test_ops_limit(void **state)
{
    json_t *ops = json_array(), *doc = json_object(), *out;
    struct err e;

    for (int i = 0; i <= JSON_PATCH_MAX_OPS; i++)
        json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "test", "path", ""));
    err_init(&e);
    expect_fail(patch_json_apply(doc, ops, &out, &e), -E_TOO_LARGE, &e, "10000");
    err_release(&e);
    json_decref(ops);
    json_decref(doc);
}

static void test_merge_smp_ssa_limits(void **state)
{
    json_t *doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:o}}", "apiVersion", "v1", "kind",
                            "ConfigMap", "metadata", "name", "c", "data", "a",
                            big_string(1000000));
    json_t *patch = json_pack("{s:{s:o}}", "data", "b", big_string(1000000)), *out = NULL;
    json_t *applied = json_pack("{s:s, s:s, s:{s:s}, s:{s:o}}", "apiVersion", "v1", "kind",
                                "ConfigMap", "metadata", "name", "c", "data", "z",
                                big_string(1600000));
    struct err e;

    err_init(&e);
    expect_fail(patch_merge_apply(doc, patch, &out, &e), -E_TOO_LARGE, &e, "1572864");
    assert_null(out);
    err_release(&e);
    err_init(&e);
    expect_fail(patch_strategic_apply(doc, patch, SCHEMA("Pod"), &out, &e), -E_TOO_LARGE, &e,
                "1572864");
    assert_null(out);
    err_release(&e);
    /* Apply: an applied configuration over the limit, and one whose merge is over it. */
    err_init(&e);
    expect_fail(patch_ssa_apply(doc, applied, "m", 0, SCHEMA("ConfigMap"), &out, &e), -E_TOO_LARGE, &e,
                "1572864");
    err_release(&e);
    json_object_set_new(json_object_get(applied, "data"), "z", big_string(1000000));
    err_init(&e);
    expect_fail(patch_ssa_apply(doc, applied, "m", 0, SCHEMA("ConfigMap"), &out, &e), -E_TOO_LARGE, &e,
                "1572864");
    assert_null(out);
    err_release(&e);
    json_decref(applied);
    json_decref(patch);
    json_decref(doc);
}

static void test_measure_matches_encoder(void **state)
{
    static const char *const docs[] = {
        "{}", "[]", "[1,2.5,-3e300,true,false,null]", "{\"a\":{\"b\":[\"x\\\"y\\\\z\\n\\t\\u0001\"]}}",
        "{\"\\u00e9t\\u00e9\":\"\\u2603 snow\",\"k\":[[],{},[[1]]]}", "\"\\u001f/\"",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        struct patch_measure m = {.max_bytes = SIZE_MAX, .max_depth = PATCH_MAX_DEPTH};

        assert_non_null(v);
        assert_int_equal(patch_measure(v, 0, &m), 0);
        if (m.bytes != strlen(s))
            fail_msg("%s: measured %zu, encoded %zu (%s)", docs[i], m.bytes, strlen(s), s);
        free(s);
        json_decref(v);
    }
}

static void test_depth_bound_inclusive(void **state)
{
    json_t *ok = chain(PATCH_MAX_DEPTH, json_null()), *deep = chain(PATCH_MAX_DEPTH + 1, json_null());
    struct err e;

    err_init(&e);
    assert_int_equal(patch_check_object(ok, "the object", &e), 0);
    expect_fail(patch_check_object(deep, "the object", &e), -E_INVALID, &e, "2048");
    err_release(&e);
    json_decref(ok);
    json_decref(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_doubling_refused),
        cmocka_unit_test(test_copy_into_own_child_refused),
        cmocka_unit_test(test_move_deepening_refused),
        cmocka_unit_test(test_copy_budget),
        cmocka_unit_test(test_legit_churn_applies),
        cmocka_unit_test(test_ops_limit),
        cmocka_unit_test(test_merge_smp_ssa_limits),
        cmocka_unit_test(test_measure_matches_encoder),
        cmocka_unit_test(test_depth_bound_inclusive),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
