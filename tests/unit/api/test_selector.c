/* Label and field selectors: every operator, canonical strings, upstream error
 * texts, and a bounded random-input loop that must never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/kind.h"
#include "core/selector.h"

/* The selectable fields of a core kind ("Pod"), as the API server checks them. */
static const char *const *FIELDS(const char *kind)
{
    return api_kind_of(scheme_by_kind("", kind))->field_selectors;
}

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad test JSON: %s: %s", text, e.text);
    return v;
}

/* Parses sel and returns whether it matches the labels given as JSON text. */
static int lmatch(const char *sel, const char *labels)
{
    struct labelsel *s;
    struct err err;
    json_t *l = J(labels);
    int m;

    err_init(&err);
    assert_int_equal(labelsel_parse(sel, &s, &err), 0);
    m = labelsel_match(s, l);
    labelsel_free(s);
    json_decref(l);
    return m;
}

/* Expects sel to fail with exactly msg. */
static void lerror(const char *sel, const char *msg)
{
    struct labelsel *s = (struct labelsel *)1;
    struct err err;

    err_init(&err);
    assert_int_equal(labelsel_parse(sel, &s, &err), -E_BAD_REQUEST);
    assert_null(s);
    assert_int_equal(err.code, -E_BAD_REQUEST);
    assert_string_equal(err.msg, msg);
}

static char *lformat(const char *sel)
{
    struct labelsel *s;
    struct err err;
    char *out;

    err_init(&err);
    assert_int_equal(labelsel_parse(sel, &s, &err), 0);
    out = labelsel_format(s);
    labelsel_free(s);
    return out;
}

static void test_label_operators(void **state)
{
    const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"n\":\"5\",\"empty\":\"\"}";

    assert_true(lmatch("app=web", l));
    assert_false(lmatch("app=db", l));
    assert_true(lmatch("app==web", l));
    assert_true(lmatch("app!=db", l));
    assert_false(lmatch("app!=web", l));
    assert_true(lmatch("missing!=x", l)); /* != matches when the key is absent */
    assert_true(lmatch("app in (db,web)", l));
    assert_false(lmatch("app in (db)", l));
    assert_false(lmatch("missing in (x)", l));
    assert_true(lmatch("app notin (db)", l));
    assert_false(lmatch("app notin (web,db)", l));
    assert_true(lmatch("missing notin (x)", l));
    assert_true(lmatch("tier", l));
    assert_false(lmatch("missing", l));
    assert_true(lmatch("!missing", l));
    assert_false(lmatch("!app", l));
    assert_true(lmatch("n>3", l));
    assert_false(lmatch("n>5", l));
    assert_true(lmatch("n<6", l));
    assert_false(lmatch("app>1", l)); /* non-numeric label value never compares */
    assert_true(lmatch("empty=", l));
    assert_true(lmatch("empty in ()", l));
    assert_true(lmatch("app=web,tier=front,!missing", l));
    assert_false(lmatch("app=web,tier=back", l));
    assert_true(lmatch("app=web", "{\"app\":\"web\"}"));
    assert_false(lmatch("app", "null"));
    assert_true(lmatch("!app", "null"));
}

static void test_label_whitespace_and_keywords(void **state)
{
    assert_true(
        lmatch("  app = web ,  tier in ( a , front ) ", "{\"app\":\"web\",\"tier\":\"front\"}"));
    assert_true(lmatch("\tapp\n==\rweb", "{\"app\":\"web\"}"));
    /* "in" and "notin" are values inside the parentheses */
    assert_true(lmatch("x in (in,notin)", "{\"x\":\"notin\"}"));
    assert_true(lmatch("in=notin", "{\"in\":\"notin\"}"));
    assert_true(lmatch("example.com/role=gpu", "{\"example.com/role\":\"gpu\"}"));
    assert_true(lmatch("", "{}"));
    assert_true(lmatch("   ", "{\"a\":\"b\"}"));
}

static void test_label_empty_and_format(void **state)
{
    struct labelsel *s;
    struct err err;
    char *f;

    err_init(&err);
    assert_int_equal(labelsel_parse("", &s, &err), 0);
    assert_true(labelsel_empty(s));
    labelsel_free(s);
    assert_int_equal(labelsel_parse("a", &s, &err), 0);
    assert_false(labelsel_empty(s));
    labelsel_free(s);

    f = lformat("tier notin (z,a),app=web, !old ,b==c,d!=e,n>3,m<2,x");
    assert_string_equal(f, "app=web,b==c,d!=e,m<2,n>3,!old,tier notin (a,z),x");
    free(f);
    f = lformat("a in (y,x,y)");
    assert_string_equal(f, "a in (x,y)");
    free(f);
}

static void test_label_errors(void **state)
{
    lerror("a in b", "unable to parse requirement: found 'b' expected: '('");
    lerror("a=b,", "found '', expected: identifier after ','");
    lerror("a b", "unable to parse requirement: found 'b', expected: in, notin, "
                  "=, ==, !=, gt, lt");
    lerror("a=b c", "found 'c', expected: ',' or 'end of string'");
    lerror("=a", "found '=', expected: !, identifier, or 'end of string'");
    lerror(",a", "found ',', expected: !, identifier, or 'end of string'");
    lerror("!a=b", "found '=', expected: ',' or 'end of string'");
    lerror("!", "unable to parse requirement: found '', expected: identifier");
    lerror("a in (x", "unable to parse requirement: found '', expected: ',' or ')'");
    lerror("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'");
    lerror("a in (=)", "unable to parse requirement: found '=', expected: ',', "
                       "')' or identifier");
    lerror("a=(", "unable to parse requirement: found '(', expected: identifier");
    lerror("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
                  "for 'Gt', 'Lt' "
                  "operators, the value must be an integer");
    lerror("-a=b", "unable to parse requirement: <nil>: Invalid value: \"-a\": "
                   "name part must consist of "
                   "alphanumeric characters, '-', '_' or '.', and must start and "
                   "end with an alphanumeric "
                   "character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                   "regex used for validation is "
                   "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    lerror("a=b_", "unable to parse requirement: values[0][a]: Invalid value: "
                   "\"b_\": a valid label must "
                   "be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must "
                   "start and end with an alphanumeric character (e.g. "
                   "'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    lerror("Bad_Prefix/x=1", "unable to parse requirement: <nil>: Invalid value: \"Bad_Prefix/x\": "
                             "prefix part a "
                             "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                             "characters, '-' "
                             "or '.', and must start and end with an alphanumeric character (e.g. "
                             "'example.com', "
                             "regex used for validation is "
                             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

static void test_label_from_object(void **state)
{
    struct labelsel *s;
    struct err err;
    json_t *sel, *l;
    char *str;

    err_init(&err);
    assert_int_equal(labelsel_from_object(NULL, &s, &err), 0);
    assert_false(labelsel_empty(s));
    l = J("{\"app\":\"x\"}");
    assert_false(labelsel_match(s, l)); /* nil selector selects nothing */
    labelsel_free(s);

    sel = J("{}");
    assert_int_equal(labelsel_from_object(sel, &s, &err), 0);
    assert_true(labelsel_empty(s));
    assert_true(labelsel_match(s, l));
    labelsel_free(s);
    json_decref(sel);
    json_decref(l);

    sel = J("{\"matchLabels\":{\"tier\":\"gpu\",\"app\":\"model-serving\"},"
            "\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":"
            "[\"b\",\"a\"]},"
            "{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"},"
            "{\"key\":\"zone\",\"operator\":\"Exists\"},"
            "{\"key\":\"track\",\"operator\":\"NotIn\",\"values\":[\"canary\"]}]}");
    str = labelsel_string(sel);
    assert_string_equal(str, "app=model-serving,env in "
                             "(a,b),!legacy,tier=gpu,track notin (canary),zone");
    free(str);
    assert_int_equal(labelsel_from_object(sel, &s, &err), 0);
    l = J("{\"app\":\"model-serving\",\"tier\":\"gpu\",\"env\":\"a\",\"zone\":"
          "\"z1\"}");
    assert_true(labelsel_match(s, l));
    json_object_set_new(l, "track", json_string("canary"));
    assert_false(labelsel_match(s, l));
    json_decref(l);
    labelsel_free(s);
    json_decref(sel);

    sel = J("{\"matchLabels\":{\"app\":\"model-serving\",\"pod-template-hash\":"
            "\"7897d4cc57\"}}");
    str = labelsel_string(sel);
    assert_string_equal(str, "app=model-serving,pod-template-hash=7897d4cc57");
    free(str);
    json_decref(sel);
    str = labelsel_string(NULL);
    assert_string_equal(str, "");
    free(str);
}

static void test_label_from_object_errors(void **state)
{
    struct labelsel *s;
    struct err err;
    json_t *sel;

    err_init(&err);
    sel = J("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}");
    assert_int_equal(labelsel_from_object(sel, &s, &err), -E_BAD_REQUEST);
    assert_null(s);
    assert_string_equal(err.msg, "\"Foo\" is not a valid label selector operator");
    assert_null(labelsel_string(sel));
    json_decref(sel);

    sel = J("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\","
            "\"values\":[]}]}");
    assert_int_equal(labelsel_from_object(sel, &s, &err), -E_BAD_REQUEST);
    assert_string_equal(err.msg, "values: Invalid value: []string(nil): for 'in', 'notin' "
                                 "operators, values set can't be empty");
    json_decref(sel);

    sel = J("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\","
            "\"values\":[\"x\"]}]}");
    assert_int_equal(labelsel_from_object(sel, &s, &err), -E_BAD_REQUEST);
    assert_string_equal(err.msg, "values: Invalid value: []string{\"x\"}: values set must be "
                                 "empty for exists and does not exist");
    json_decref(sel);

    /* Wrong JSON types are errors, not crashes. */
    const char *bad_values = "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\","
                             "\"values\":[1]}]}";
    const char *odd[] = {"[1]",
                         "{\"matchLabels\":[1]}",
                         "{\"matchLabels\":{\"a\":1}}",
                         "{\"matchExpressions\":{}}",
                         "{\"matchExpressions\":[1]}",
                         "{\"matchExpressions\":[{\"key\":1,\"operator\":\"In\"}]}",
                         bad_values};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        sel = J(odd[i]);
        assert_int_equal(labelsel_from_object(sel, &s, &err), -E_BAD_REQUEST);
        assert_null(s);
        json_decref(sel);
    }
}

static void test_label_validate(void **state)
{
    struct err err;
    json_t *sel, *c;

    err_init(&err);
    sel = J("{\"matchLabels\":{\"app\":\"ok\",\"-bad\":\"v\"},\"matchExpressions\":["
            "{\"key\":\"a\",\"operator\":\"In\"},"
            "{\"key\":\"b\",\"operator\":\"Exists\",\"values\":[\"x\"]},"
            "{\"key\":\"c\",\"operator\":\"Near\"}]}");
    assert_int_equal(labelsel_validate(sel, "spec.selector", &err), 4);
    assert_int_equal(json_array_size(err.causes), 4);
    c = json_array_get(err.causes, 0);
    assert_string_equal(json_string_value(json_object_get(c, "field")),
                        "spec.selector.matchLabels");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "FieldValueInvalid");
    c = json_array_get(err.causes, 1);
    assert_string_equal(json_string_value(json_object_get(c, "field")),
                        "spec.selector.matchExpressions[0].values");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "FieldValueRequired");
    c = json_array_get(err.causes, 2);
    assert_string_equal(json_string_value(json_object_get(c, "field")),
                        "spec.selector.matchExpressions[1].values");
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "FieldValueForbidden");
    c = json_array_get(err.causes, 3);
    assert_string_equal(json_string_value(json_object_get(c, "field")),
                        "spec.selector.matchExpressions[2].operator");
    json_decref(sel);
    err_release(&err);

    sel = J("{\"matchLabels\":{\"app\":\"model-serving\"}}");
    assert_int_equal(labelsel_validate(sel, "spec.selector", &err), 0);
    assert_int_equal(labelsel_validate(NULL, "spec.selector", &err), 0);
    json_decref(sel);
    err_release(&err);
}

static void test_labels_string(void **state)
{
    json_t *l = J("{\"tier\":\"y\",\"app\":\"x\"}");
    char *s = labels_string(l);

    assert_string_equal(s, "app=x,tier=y");
    free(s);
    json_decref(l);
    s = labels_string(NULL);
    assert_string_equal(s, "");
    free(s);
}

/* ---- field selectors ---- */

static int fmatch(const char *sel, const char *obj)
{
    struct fieldsel *s;
    struct err err;
    json_t *o = J(obj);
    int m;

    err_init(&err);
    assert_int_equal(fieldsel_parse(sel, &s, &err), 0);
    m = fieldsel_match(s, o);
    fieldsel_free(s);
    json_decref(o);
    return m;
}

static void field_error(const char *sel, const char *msg)
{
    struct fieldsel *s = (struct fieldsel *)1;
    struct err err;

    err_init(&err);
    assert_int_equal(fieldsel_parse(sel, &s, &err), -E_BAD_REQUEST);
    assert_null(s);
    assert_string_equal(err.msg, msg);
}

static void test_field_match(void **state)
{
    const char *pod = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\","
                      "\"namespace\":\"default\"},"
                      "\"spec\":{\"nodeName\":\"node-1\",\"hostNetwork\":true},"
                      "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\","
                      "\"podIPs\":[{\"ip\":\"10.0.0.9\"}]}}";

    assert_true(fmatch("metadata.name=p1", pod));
    assert_true(fmatch("spec.nodeName==node-1,metadata.namespace=default", pod));
    assert_false(fmatch("status.phase!=Running", pod));
    assert_true(fmatch("status.phase!=Pending", pod));
    assert_true(fmatch("status.podIP=10.0.0.9", pod)); /* podIPs[0] wins, as upstream */
    assert_true(fmatch("spec.hostNetwork=true", pod));
    assert_true(fmatch("spec.restartPolicy=", pod)); /* absent field is "" */
    assert_true(fmatch("", pod));
    assert_true(fmatch(",,", pod));
    assert_true(fmatch("spec.unschedulable=false", "{\"spec\":{}}"));
    assert_true(fmatch("status.replicas=3", "{\"status\":{\"replicas\":3}}"));
    assert_true(fmatch("source=kubelet", "{\"source\":{\"component\":\"kubelet\"}}"));
    assert_true(fmatch("metadata.name=a\\,b\\=c\\\\", "{\"metadata\":{\"name\":\"a,b=c\\\\\"}}"));
    assert_true(fmatch("involvedObject.name=model-serving,involvedObject.kind=Deployment",
                       "{\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"model-"
                       "serving\"}}"));
}

static void test_field_errors(void **state)
{
    field_error("foo", "invalid selector: 'foo'; can't understand 'foo'");
    field_error("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'");
    field_error("a=b=c", "invalid field selector: unescaped character in value: 61");
    field_error("a=b\\x", "invalid field selector: invalid escape sequence: \\x");
    field_error("a=b\\", "invalid field selector: invalid escape sequence: \\");
}

static void test_field_check_and_name(void **state)
{
    struct fieldsel *s;
    struct err err;

    err_init(&err);
    assert_int_equal(
        fieldsel_parse("metadata.namespace=ns,metadata.name=x,spec.nodeName=n", &s, &err), 0);
    assert_int_equal(fieldsel_check(s, FIELDS("Pod"), &err), 0);
    assert_int_equal(fieldsel_check(s, FIELDS("Node"), &err), -E_BAD_REQUEST);
    assert_string_equal(err.msg, "field label not supported: spec.nodeName");
    assert_string_equal(fieldsel_name(s), "x");
    assert_string_equal(fieldsel_namespace(s), "ns");
    fieldsel_free(s);

    assert_int_equal(fieldsel_parse("metadata.name!=x,foo.bar=1", &s, &err), 0);
    assert_null(fieldsel_name(s));
    assert_int_equal(fieldsel_check(s, FIELDS("Pod"), &err), -E_BAD_REQUEST);
    assert_string_equal(err.msg, "field label not supported: foo.bar");
    fieldsel_free(s);

    assert_int_equal(fieldsel_parse("involvedObject.uid=u,reason=Killing,type=Normal", &s, &err),
                     0);
    assert_int_equal(fieldsel_check(s, FIELDS("Event"), &err), 0);
    fieldsel_free(s);
    assert_int_equal(fieldsel_parse("spec.unschedulable=true", &s, &err), 0);
    assert_int_equal(fieldsel_check(s, FIELDS("Node"), &err), 0);
    fieldsel_free(s);
}

/* Random text from an alphabet heavy in selector syntax, plus raw bytes:
 * parsing must either succeed or fail with a message; a successful label parse
 * must round-trip through its canonical form. */
static void test_random_input(void **state)
{
    static const char alpha[] = "ab=!(),<> \tin notin\\x-_./9";
    char buf[64];
    unsigned seed = 12345;
    json_t *labels = J("{\"a\":\"b\",\"in\":\"9\"}");

    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (seed = seed * 1103515245 + 12345) % (sizeof buf - 1);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            buf[i] = (iter & 1) ? alpha[(seed >> 16) % (sizeof alpha - 1)]
                                : (char)(1 + (seed >> 16) % 255);
        }
        buf[n] = 0;

        struct labelsel *ls;
        struct fieldsel *fs;
        struct err err;
        err_init(&err);
        if (labelsel_parse(buf, &ls, &err) == 0) {
            char *f = labelsel_format(ls), *f2;
            (void)labelsel_match(ls, labels);
            f2 = lformat(f);
            assert_string_equal(f, f2);
            free(f);
            free(f2);
            labelsel_free(ls);
        } else {
            assert_non_null(ls == NULL ? "ok" : NULL);
            assert_true(err.msg[0] != 0);
        }
        err_init(&err);
        if (fieldsel_parse(buf, &fs, &err) == 0) {
            (void)fieldsel_match(fs, labels);
            (void)fieldsel_check(fs, FIELDS("Pod"), &err);
            fieldsel_free(fs);
        } else {
            assert_true(err.msg[0] != 0);
        }
    }
    json_decref(labels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_operators),
        cmocka_unit_test(test_label_whitespace_and_keywords),
        cmocka_unit_test(test_label_empty_and_format),
        cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_label_from_object),
        cmocka_unit_test(test_label_from_object_errors),
        cmocka_unit_test(test_label_validate),
        cmocka_unit_test(test_labels_string),
        cmocka_unit_test(test_field_match),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_field_check_and_name),
        cmocka_unit_test(test_random_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
