/* Unit tests of YAML body decoding (jx_parse_yaml, src/core/jx_yaml.c): the crash input
 * the fuzzer found in libfyaml, core-schema typing, anchors and aliases, merge keys, recursion,
 * the depth and expansion limits, multiple documents and error positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/patch.h"
#include "core/jx.h"

/* One case: YAML in; either the JSON it must give (want) or the code and a message part. */
struct ycase {
    const char *yaml;
    const char *want;
    int code;
    const char *msg;
};

static void run_case(const struct ycase *t, size_t len)
{
    json_t *out = NULL, *want;
    struct err e;
    int rc;

    err_init(&e);
    rc = jx_parse_yaml(t->yaml, len, &out, &e);
    if (t->want) {
        want = json_loads(t->want, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!want)
            fail_msg("bad test JSON: %s", t->want);
        if (rc != 0 || !json_equal(out, want)) {
            char *g = out ? json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
            print_error("yaml: %s\ngot rc %d: %s (%s)\nwant: %s\n", t->yaml, rc, g ? g : "-",
                        e.msg, t->want);
            free(g);
            fail();
        }
        json_decref(want);
    } else {
        if (rc != t->code || out || !strstr(e.msg, t->msg)) {
            print_error("yaml: %s\ngot rc %d msg \"%s\"\nwant rc %d msg containing \"%s\"\n",
                        t->yaml, rc, e.msg, t->code, t->msg);
            fail();
        }
    }
    json_decref(out);
    err_release(&e);
}

static void run_cases(const struct ycase *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_case(&t[i], strlen(t[i].yaml));
}

#define RUN(table) run_cases(table, sizeof table / sizeof table[0])

/* libfyaml 0.7.12 dereferenced NULL (fy_indent_vacuum_internal) cleaning up after its own
 * "cannot use tab for indentation" error on these 15 bytes, and the server died. */
static void test_yaml_libfyaml_crash(void **state)
{
    static const struct ycase t[] = {
        {" : ? 1 : : T:\t:", NULL, -E_BAD_REQUEST, "error converting YAML to JSON: yaml: line 1"},
        {"- a\n-\tb:\t:\n", NULL, -E_BAD_REQUEST, "error converting YAML to JSON: yaml: line "},
    };

    (void)state;
    assert_int_equal(strlen(t[0].yaml), 15);
    RUN(t);
}

static void test_yaml_typing(void **state)
{
    static const struct ycase t[] = {
        {"[~, null, Null, NULL, '', nULL]", "[null,null,null,null,\"\",\"nULL\"]", 0, NULL},
        {"[true, True, TRUE, false, False, FALSE, tRUE]",
         "[true,true,true,false,false,false,\"tRUE\"]", 0, NULL},
        /* YAML 1.1 booleans stay strings under the 1.2 core schema. */
        {"[yes, no, on, off, y, n]", "[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\"]", 0, NULL},
        {"[0, -0, +12, 0755, 0o17, 0x1f, 0x1F, 12345678901234567890]",
         "[0,0,12,755,15,31,31,1.2345678901234567e19]", 0, NULL},
        {"[0o, 0x, 0o19, 0x1g, 0b101, 1_000]",
         "[\"0o\",\"0x\",\"0o19\",\"0x1g\",\"0b101\",\"1_000\"]", 0, NULL},
        {"[1.5, .5, +.5, 1., 1e3, -1.5E-3, 1e400, .inf, .nan, 1.0.4, -.e, 1e]",
         "[1.5,0.5,0.5,1.0,1000.0,-0.0015,\"1e400\",\".inf\",\".nan\",\"1.0.4\",\"-.e\","
         "\"1e\"]", 0, NULL},
        /* Quoted, block and !!str scalars are strings; other tags do not change typing. */
        {"a: '12'\nb: \"true\"\nc: !!str 12\nd: !<tag:yaml.org,2002:str> null\ne: |\n  12\n"
         "f: !!int \"12\"\ng: !custom 12\nh: !!str\n",
         "{\"a\":\"12\",\"b\":\"true\",\"c\":\"12\",\"d\":\"null\",\"e\":\"12\\n\",\"f\":\"12\","
         "\"g\":12,\"h\":\"\"}", 0, NULL},
        /* Keys are the scalar's text, never its typed value. */
        {"~: 1\nnull: 2\n1: 3\ntrue: 4\n0x1f: 5\n",
         "{\"~\":1,\"null\":2,\"1\":3,\"true\":4,\"0x1f\":5}", 0, NULL},
        {"a: \"x\\0y\"\n", "{\"a\":\"x\\u0000y\"}", 0, NULL},
        {"a:\n? b\n", "{\"a\":null,\"b\":null}", 0, NULL},
        {"\"just a string\"", "\"just a string\"", 0, NULL},
        {"12", "12", 0, NULL},
        {"{\"a\":[1,2]}", "{\"a\":[1,2]}", 0, NULL},
    };

    (void)state;
    RUN(t);
}

static void test_yaml_anchors_aliases(void **state)
{
    static const struct ycase t[] = {
        {"a: &x [1, {b: 2}]\nc: *x\nd: &y 0x10\ne: [*y, *y]\n",
         "{\"a\":[1,{\"b\":2}],\"c\":[1,{\"b\":2}],\"d\":16,\"e\":[16,16]}", 0, NULL},
        /* Redefinition: an alias names the latest anchor of that name. */
        {"a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}", 0, NULL},
        /* An alias key is the anchored scalar's text; alias keys are not duplicate-checked. */
        {"&k 0x1f : v\nw: *k\n", "{\"0x1f\":\"v\",\"w\":31}", 0, NULL},
        {"&x a: 1\n*x : 2\n", "{\"a\":2}", 0, NULL},
        {"a: &x {b: 1}\n*x : 2\n", NULL, -E_BAD_REQUEST, "line 2, column 1: mapping keys must"},
        {"a: *nope\n", NULL, -E_BAD_REQUEST, "line 1, column 4: unknown anchor 'nope'"},
        /* An alias before its anchor is not YAML (libfyaml resolved it; libyaml does not). */
        {"a: *x\nb: &x 1\n", NULL, -E_BAD_REQUEST, "unknown anchor 'x'"},
        /* Recursive aliases are a 400, not an endless expansion. */
        {"&r [a, *r]", NULL, -E_BAD_REQUEST, "line 1, column 8: anchor 'r' is used inside"},
        {"a: &x\n  b: *x\n", NULL, -E_BAD_REQUEST, "recursive alias"},
        {"a: &x {c: 1, <<: *x}", NULL, -E_BAD_REQUEST, "recursive alias"},
        {"- &p\n- *p\n", "[null,null]", 0, NULL},
    };

    (void)state;
    RUN(t);
}

/* An alias is a deep copy: changing the result in one place leaves the other alone. */
static void test_yaml_alias_is_a_copy(void **state)
{
    const char *y = "a: &x {b: [1]}\nc: *x\n";
    json_t *out = NULL;
    struct err e;

    (void)state;
    err_init(&e);
    assert_int_equal(jx_parse_yaml(y, strlen(y), &out, &e), 0);
    assert_ptr_not_equal(json_object_get(out, "a"), json_object_get(out, "c"));
    json_array_append_new(json_object_get(json_object_get(out, "a"), "b"), json_integer(2));
    assert_int_equal(json_array_size(json_object_get(json_object_get(out, "c"), "b")), 1);
    json_decref(out);
}

static void test_yaml_merge_keys(void **state)
{
    static const struct ycase t[] = {
        {"base: &b\n  image: x\n  port: 80\nc:\n  port: 81\n  <<: *b\n",
         "{\"base\":{\"image\":\"x\",\"port\":80},\"c\":{\"port\":81,\"image\":\"x\"}}", 0, NULL},
        /* A list of mappings: earlier ones win over later ones, explicit keys over both. */
        {"a: {<<: [{x: 1, y: 1}, {x: 2, z: 2}], y: 9}", "{\"a\":{\"x\":1,\"y\":9,\"z\":2}}",
         0, NULL},
        {"b: &b [{x: 1}, {y: 2}]\nm: {<<: *b, x: 3}",
         "{\"b\":[{\"x\":1},{\"y\":2}],\"m\":{\"x\":3,\"y\":2}}", 0, NULL},
        /* Only a plain "<<" merges. */
        {"a: {\"<<\": {x: 1}}", "{\"a\":{\"<<\":{\"x\":1}}}", 0, NULL},
        {"a: {<<: 5}", NULL, -E_BAD_REQUEST, "line 1, column 9: merge key \"<<\" needs a mapping"},
        {"a: {<<: [1]}", NULL, -E_BAD_REQUEST, "line 1, column 9: merge key \"<<\" needs mappings"},
        {"<<: {a: 1}\n<<: {b: 2}\n", NULL, -E_BAD_REQUEST, "line 2, column 1: duplicate key"},
    };

    (void)state;
    RUN(t);
}

static void test_yaml_keys(void **state)
{
    static const struct ycase t[] = {
        {"x: 0\na: 1\na: 2\n", NULL, -E_BAD_REQUEST,
         "error converting YAML to JSON: yaml: line 3, column 1: duplicate key"},
        {"{a: 1, a: 1}", NULL, -E_BAD_REQUEST, "line 1, column 8: duplicate key"},
        {"\"a\": 1\na: 2\n", NULL, -E_BAD_REQUEST, "line 2, column 1: duplicate key"},
        {"? [1]\n: 2\n", NULL, -E_BAD_REQUEST, "line 1, column 3: mapping keys must be scalars"},
        {"[a, b]: 1", NULL, -E_BAD_REQUEST, "line 1, column 1: mapping keys must be scalars"},
        {"? {a: 1}\n: 2\n", NULL, -E_BAD_REQUEST, "mapping keys must be scalars"},
    };

    (void)state;
    RUN(t);
}

/* Only the first document counts; what follows it is not parsed at all (as before). */
static void test_yaml_documents(void **state)
{
    static const struct ycase t[] = {
        {"a: 1\n---\nb: 2\n", "{\"a\":1}", 0, NULL},
        {"a: 1\n---\nb: [\n", "{\"a\":1}", 0, NULL},
        {"---\na: 1\n...\ngarbage: [\n", "{\"a\":1}", 0, NULL},
        {"%YAML 1.2\n---\na: 1\n", "{\"a\":1}", 0, NULL},
        {"%YAML 1.1\n---\na: yes\n", "{\"a\":\"yes\"}", 0, NULL},
        {"---\n", "null", 0, NULL},
        {"", "null", 0, NULL},
        {" \n\t\n", "null", 0, NULL},
        {"# only a comment\n", NULL, -E_BAD_REQUEST, "error converting YAML to JSON: invalid YAML"},
        {"%YAML 1.2\n%YAML 1.2\n---\na: 1\n", NULL, -E_BAD_REQUEST, "line 2, column 1: "},
    };

    (void)state;
    RUN(t);
}

/* Positions are 1-based lines and columns, as kubectl users read them. */
static void test_yaml_error_positions(void **state)
{
    static const struct ycase t[] = {
        {"a: [1\nb: 2\n", NULL, -E_BAD_REQUEST,
         "yaml: line 2, column 2: did not find expected ',' or ']' "
         "(while parsing a flow sequence at line 1, column 4)"},
        {"a: b\n  c: d\n", NULL, -E_BAD_REQUEST, "yaml: line 2, column 4: mapping values are"},
        {"key: \"open\n", NULL, -E_BAD_REQUEST, "(while scanning a quoted scalar at line 1, "
         "column 6)"},
        {"a: *\n", NULL, -E_BAD_REQUEST, "yaml: line 1, column 5: "},
        {"a: 1\n\x01", NULL, -E_BAD_REQUEST, "yaml: byte 5: control characters are not allowed"},
        /* Malformed UTF-8 is refused before the parser sees it, naming the byte. */
        {"%0wU\xc2stec", NULL, -E_BAD_REQUEST, "invalid UTF-8 at byte 4"},
        {"a: \xed\xa0\x80\n", NULL, -E_BAD_REQUEST, "invalid UTF-8 at byte 3"},
    };

    (void)state;
    RUN(t);
}

/* Returns n nested flow sequences, or n-1 around an alias to an anchor of depth m at the top. */
static char *nested(int n, int m)
{
    size_t cap = 2 * (size_t)(n + m) + 64;
    char *s = malloc(cap), *p = s;

    if (!s) /* not assert_non_null: gcc's UBSan build cannot see that it stops the test */
        abort();
    if (m) {
        p += sprintf(p, "- &a ");
        for (int i = 0; i < m; i++)
            *p++ = '[';
        for (int i = 0; i < m; i++)
            *p++ = ']';
        p += sprintf(p, "\n- ");
    }
    for (int i = 0; i < n; i++)
        *p++ = '[';
    if (m)
        p += sprintf(p, "*a");
    for (int i = 0; i < n; i++)
        *p++ = ']';
    *p = 0;
    return s;
}

static void check_depth(char *y, int code)
{
    json_t *out = NULL;
    struct err e;

    err_init(&e);
    assert_int_equal(jx_parse_yaml(y, strlen(y), &out, &e), code);
    if (code)
        assert_non_null(strstr(e.msg, "deeper than the depth limit of 512"));
    json_decref(out);
    err_release(&e);
    free(y);
}

static void test_yaml_depth(void **state)
{
    (void)state;
    check_depth(nested(512, 0), 0);
    check_depth(nested(513, 0), -E_TOO_LARGE);
    check_depth(nested(200000, 0), -E_TOO_LARGE);
    /* An alias counts with the depth of its value: 1 (the list) + 211 + 300 = 512. */
    check_depth(nested(211, 300), 0);
    check_depth(nested(212, 300), -E_TOO_LARGE);
}

/* Billion laughs: 9 levels of 10 aliases each would expand to 10^9 values. */
static void test_yaml_expansion_budget(void **state)
{
    char y[4096], *p = y;
    json_t *out = NULL;
    struct err e;

    (void)state;
    p += sprintf(p, "x0: &a0 [lol]\n");
    for (int i = 1; i < 10; i++) {
        p += sprintf(p, "x%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            p += sprintf(p, "%s*a%d", j ? "," : "", i - 1);
        p += sprintf(p, "]\n");
    }
    err_init(&e);
    assert_int_equal(jx_parse_yaml(y, strlen(y), &out, &e), -E_TOO_LARGE);
    assert_null(out);
    assert_non_null(strstr(e.msg, "more than 1000000 values (aliases expanded)"));
    err_release(&e);
    /* Four levels (about 10^4 values) are well within the budget. */
    *strstr(y, "x5:") = 0;
    assert_int_equal(jx_parse_yaml(y, strlen(y), &out, &e), 0);
    assert_int_equal(json_array_size(json_object_get(out, "x4")), 10);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_libfyaml_crash),
        cmocka_unit_test(test_yaml_typing),
        cmocka_unit_test(test_yaml_anchors_aliases),
        cmocka_unit_test(test_yaml_alias_is_a_copy),
        cmocka_unit_test(test_yaml_merge_keys),
        cmocka_unit_test(test_yaml_keys),
        cmocka_unit_test(test_yaml_documents),
        cmocka_unit_test(test_yaml_error_positions),
        cmocka_unit_test(test_yaml_depth),
        cmocka_unit_test(test_yaml_expansion_budget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
