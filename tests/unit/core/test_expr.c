/* The expr-lang subset of AnalysisRun conditions: a table of expressions, results and
 * expected outcomes (true, false, a value, or an error text), plus the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/expr.h"

struct row {
    const char *src, *result; /* result: JSON text or NULL (nil) */
    unsigned flags;
    const char *want; /* "true", "false", "=JSON" (the value), "!substring" (an error) */
};

static const struct row rows[] = {
    /* Argo's typical conditions. */
    {"result[0] >= 0.95", "[0.97]", 0, "true"},
    {"result[0] >= 0.95", "[0.9]", 0, "false"},
    {"len(result) > 0 && all(result, {# < 0.5})", "[0.1, 0.4]", 0, "true"},
    {"len(result) > 0 && all(result, {# < 0.5})", "[0.1, 0.6]", 0, "false"},
    {"len(result) > 0 && all(result, {# < 0.5})", "[]", 0, "false"},
    {"default(result, 0) < 5", NULL, 0, "true"},
    {"default(result, 0) < 5", "7", 0, "false"},
    {"result.ok == true", "{\"ok\":true}", 0, "true"},
    {"result.ok", "{\"ok\":false}", 0, "false"},
    {"result.status == 'green' and result.errors < 3", "{\"status\":\"green\",\"errors\":2}", 0,
     "true"},
    {"result == 'ok'", "\"ok\"", 0, "true"},
    {"any(result, {# > 1})", "[0, 2]", 0, "true"},
    {"any(result, {# > 1})", "[0, 1]", 0, "false"},
    {"none(result, {# > 1})", "[0, 1]", 0, "true"},
    {"all(result.items, {.ready})", "{\"items\":[{\"ready\":true},{\"ready\":true}]}", 0, "true"},
    {"count(result, {# > 0}) == 2", "[1, 0, 3]", 0, "true"},
    {"isNaN(result[0])", "[\"NaN\"]", EXPR_NUMERIC_STRINGS, "true"},
    {"isNaN(result[0]) || result[0] < 1", "[0.5]", EXPR_NUMERIC_STRINGS, "true"},
    {"isInf(result)", "\"+Inf\"", EXPR_NUMERIC_STRINGS, "true"},
    {"result == 'NaN'", "\"NaN\"", 0, "true"},
    {"asInt(result) == 3", "\"3\"", 0, "true"},
    {"asFloat(result) > 2.5", "\"2.75\"", 0, "true"},
    {"asInt(result)", "\"x\"", 0, "!invalid syntax"},
    {"isNil(result.missing)", "{}", 0, "true"},
    {"result?.a?.b == nil", NULL, 0, "true"},
    {"result[-1] == 3", "[1,2,3]", 0, "true"},
    {"result['a-b'] == 1", "{\"a-b\":1}", 0, "true"},
    {"'x' in result", "[\"x\",\"y\"]", 0, "true"},
    {"'k' in result", "{\"k\":1}", 0, "true"},
    {"3 not in result", "[1,2]", 0, "true"},
    {"result contains 'ell' && result startsWith 'h' && result endsWith 'o'", "\"hello\"", 0,
     "true"},
    {"result matches '^v[0-9]+\\\\.[0-9]+$'", "\"v1.22\"", 0, "true"},
    {"result matches 'x'", "\"abc\"", 0, "false"},
    {"result matches '('", "\"abc\"", 0, "!error parsing regexp"},
    {"result matches '(a{99}){99}{2}'", "\"abc\"", 0, "!repetition too large"},
    {"result matches 'a{1000}'", "\"abc\"", 0, "!repetition too large"},
    {"!(result > 1)", "0", 0, "true"},
    {"not false", NULL, 0, "true"},
    {"result > 1 ? true : false", "2", 0, "true"},
    {"result ?? 4", NULL, 0, "=4"},
    /* Arithmetic: / is float division, ints stay ints, ** and %. */
    {"7 / 2", NULL, 0, "=3.5"},
    {"7 % 3 + 2 * 3 - 1", NULL, 0, "=6"},
    {"2 ** 10", NULL, 0, "=1024.0"},
    {"-result + 1", "2", 0, "=-1"},
    {"1_000 + 0.5", NULL, 0, "=1000.5"},
    {"1 == 1.0", NULL, 0, "true"},
    {"'a' + 'b' == 'ab'", NULL, 0, "true"},
    {"sum(result) / len(result)", "[1,2,3]", 0, "=2.0"},
    {"max(result) - min(result)", "[1,5,3]", 0, "=4"},
    {"max(1, 2.5)", NULL, 0, "=2.5"},
    {"abs(-2) + ceil(1.2) + floor(1.8) + round(1.5)", NULL, 0, "=7.0"},
    {"int(2.9) + int('4') + float(1)", NULL, 0, "=7.0"},
    {"string(0.1) + string(true) + string(3)", NULL, 0, "=\"0.1true3\""},
    {"filter(result, {# > 1})", "[1,2,3]", 0, "=[2,3]"},
    {"map(result, {# * 2})", "[1,2]", 0, "=[2,4]"},
    {"len('héllo')", NULL, 0, "=5"},
    {"[1, 2, result][2]", "3", 0, "=3"},
    {"result[0] < 1", "[\"NaN\"]", EXPR_NUMERIC_STRINGS, "false"},
    /* Errors, as measurements report them. */
    {"result[0] > 1", "[]", 0, "!index out of range"},
    {"result.a > 1", NULL, 0, "!cannot fetch a from <nil>"},
    {"result > 1", "\"x\"", 0, "!mismatched types string and int"},
    {"result && true", "1", 0, "!mismatched types int and bool"},
    {"result", "1.5", 0, "!expected bool, but got float64"},
    {"1 % 0", NULL, 0, "!integer divide by zero"},
    {"nosuch(1)", NULL, 0, "!unknown function nosuch"},
    {"foo > 1", NULL, 0, "!unknown name foo"},
    {"result >", NULL, 0, "!unexpected end of expression"},
    {"(1 > 0", NULL, 0, "!expected ')'"},
    {"1 > 0 )", NULL, 0, "!unexpected ')'"},
    {"'abc", NULL, 0, "!unterminated string"},
    {"all(result, # > 1)", "[1]", 0, "false"},
    {"any(result, .ok)", "[{\"ok\":true}]", 0, "true"},
    {"all({# > 1}, result)", "[1]", 0, "!must be a predicate"},
    {"len(1, 2)", NULL, 0, "!wrong number of arguments"},
    {"# > 1", NULL, 0, "!only defined inside a predicate"},
    {"{1}", NULL, 0, "!predicate"},
    {"all(result, {#})", "[1]", 0, "!predicate should return boolean"},
    {"", NULL, 0, "!unexpected end of expression"},
};

static void test_table(void **state)
{
    char msg[256];
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        json_t *res = r->result ? json_loads(r->result, JSON_DECODE_ANY, NULL) : NULL, *out = NULL;
        int rc;

        if (r->result && !res)
            fail_msg("row %zu: bad result JSON", i);
        if (r->want[0] == '=') {
            json_t *want = json_loads(r->want + 1, JSON_DECODE_ANY, NULL);

            rc = expr_eval(r->src, res, r->flags, &out, msg, sizeof msg);
            if (rc < 0 || !json_equal(out, want)) {
                char *g = out ? json_dumps(out, JSON_ENCODE_ANY) : NULL;
                fail_msg("row %zu `%s`: got rc %d %s (%s), want %s", i, r->src, rc, g ? g : "",
                         rc < 0 ? msg : "", r->want + 1);
            }
            json_decref(want);
        } else {
            rc = expr_eval_bool(r->src, res, r->flags, msg, sizeof msg);
            if (r->want[0] == '!') {
                if (rc != -1 || !strstr(msg, r->want + 1))
                    fail_msg("row %zu `%s`: got rc %d msg [%s], want error [%s]", i, r->src, rc,
                             rc < 0 ? msg : "", r->want + 1);
            } else if (rc != !strcmp(r->want, "true")) {
                fail_msg("row %zu `%s`: got rc %d (%s), want %s", i, r->src, rc, rc < 0 ? msg : "",
                         r->want);
            }
        }
        json_decref(out);
        json_decref(res);
    }
}

static void test_limits(void **state)
{
    char msg[256], *src;
    json_t *big = json_array();
    int rc;

    (void)state;
    /* Depth: 200 nested parentheses. */
    src = malloc(512);
    memset(src, '(', 200);
    strcpy(src + 200, "1");
    assert_int_equal(expr_check(src, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "nested too deeply"));
    free(src);
    /* Length. */
    src = malloc(EXPR_MAX_LEN + 16);
    memset(src, '1', EXPR_MAX_LEN + 8);
    src[EXPR_MAX_LEN + 8] = 0;
    assert_int_equal(expr_check(src, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "longer than"));
    free(src);
    /* Nodes: 1+1+...+1 fits the length but not the node array. */
    src = malloc(EXPR_MAX_LEN);
    for (int i = 0; i < 1500; i++)
        memcpy(src + 2 * i, "1+", 2);
    strcpy(src + 3000, "1");
    assert_int_equal(expr_check(src, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "too large"));
    free(src);
    /* Steps: nested predicates over a long list. */
    for (int i = 0; i < 1000; i++)
        json_array_append_new(big, json_integer(i));
    rc = expr_eval_bool("all(result, {all(result, {# >= 0})})", big, 0, msg, sizeof msg);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(msg, "steps"));
    json_decref(big);
    assert_int_equal(expr_check("result[0] >= 0.95 && len(result) > 0", msg, sizeof msg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
