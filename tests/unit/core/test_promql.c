/* The PromQL subset (core/promql.h): a table of queries against a fixed source of two
 * revisions' request counts and latency buckets, with the answer expected (the value text of
 * each series in label order, or an error type and text), plus the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "core/promql.h"

/* Increase over 300 s (range) or totals (range 0): revision good 990 2xx + 10 5xx, bad 800 2xx
 * + 200 5xx; buckets le 0.1, 0.5, +Inf: good 900, 1000, 1000; bad 100, 600, 1000. */
static int source(const char *metric, int range, struct promql_vec *out, char *msg, size_t n,
                  void *ctx)
{
    static const char *const revs[] = {"good", "bad"};
    static const double codes[2][2] = {{990, 10}, {800, 200}};
    static const double buckets[2][3] = {{900, 1000, 1000}, {100, 600, 1000}};
    static const char *const les[] = {"0.1", "0.5", "+Inf"};
    double mul = range ? 1 : 10;

    (void)ctx;
    if (range && range != 60 && range != 300) {
        snprintf(msg, n, "range %ds is not kept (1m, 5m)", range);
        return -1;
    }
    for (int r = 0; r < 2; r++) {
        if (!strcmp(metric, "kroll_http_requests_total")) {
            for (int c = 0; c < 2; c++) {
                struct promql_series *s = promql_vec_push(out, codes[r][c] * mul);

                promql_series_set(s, "namespace", "default");
                promql_series_set(s, "service", "web");
                promql_series_set(s, "revision", revs[r]);
                promql_series_set(s, "code_class", c ? "5xx" : "2xx");
            }
        } else if (!strcmp(metric, "kroll_http_request_duration_seconds_bucket")) {
            for (int b = 0; b < 3; b++) {
                struct promql_series *s = promql_vec_push(out, buckets[r][b] * mul);

                promql_series_set(s, "service", "web");
                promql_series_set(s, "revision", revs[r]);
                promql_series_set(s, "le", les[b]);
            }
        }
    }
    return 0;
}

struct row {
    const char *q;
    const char *want; /* "v1 v2 ..." values in series order, "s=VALUE" scalar, "!type:text" */
};

#define RATIO_GOOD "sum by (revision) (rate(kroll_http_requests_total{code_class!=\"5xx\"}[5m]))"
#define ALL_BY_REV "sum by (revision) (rate(kroll_http_requests_total[5m]))"

static const struct row rows[] = {
    {"1 + 2 * 3", "s=7"},
    {"2 ^ 3 ^ 2", "s=512"},
    {"-2 ^ 2", "s=-4"},
    {"(1 + 2) * 3 - 4 / 8", "s=8.5"},
    {"7 % 4", "s=3"},
    {"1 / 0", "s=+Inf"},
    {"0 / 0", "s=NaN"},
    {"0.1 + 0.2", "s=0.30000000000000004"},
    {"1e-7", "s=0.0000001"},
    {"scalar(sum(kroll_http_requests_total))", "s=20000"},
    {"sum(kroll_http_requests_total)", "20000"},
    {"vector(3) * 2", "6"},
    /* sorted by labels: revision "bad" before "good" */
    {"sum by (revision) (kroll_http_requests_total)", "10000 10000"},
    {"sum by (revision) (increase(kroll_http_requests_total[5m]))", "1000 1000"},
    {ALL_BY_REV, "3.333333333333333 3.333333333333333"},
    {RATIO_GOOD " / " ALL_BY_REV, "0.8 0.99"},
    {"sum(rate(kroll_http_requests_total{revision=\"good\",code_class!~\"5..\"}[5m])) / "
     "sum(rate(kroll_http_requests_total{revision=\"good\"}[5m]))",
     "0.99"},
    {"sum(rate(kroll_http_requests_total{revision=~\"go.*\",code_class=~\"5xx|4xx\"}[1m]))",
     "0.16666666666666666"},
    {"sum(rate(kroll_http_requests_total{revision=~\"o\"}[1m]))", ""}, /* anchored */
    {"sum without (code_class, namespace, service) (increase(kroll_http_requests_total[5m]))",
     "1000 1000"},
    {"max(sum by (revision) (increase(kroll_http_requests_total{code_class=\"5xx\"}[5m])))", "200"},
    {"min(sum by (revision) (increase(kroll_http_requests_total{code_class=\"5xx\"}[5m])))", "10"},
    {"avg(increase(kroll_http_requests_total[5m]))", "500"},
    {"count(kroll_http_requests_total)", "4"},
    {"abs(-1 * sum by (revision) (increase(kroll_http_requests_total{code_class=\"5xx\"}[5m])))",
     "200 10"},
    /* p90 of good: rank 900 = the first bucket's count -> 0.1; bad: in +Inf -> 0.5 */
    {"histogram_quantile(0.9, sum by (revision, le) "
     "(increase(kroll_http_request_duration_seconds_bucket[5m])))",
     "0.5 0.1"},
    {"histogram_quantile(0.5, sum by (revision, le) "
     "(increase(kroll_http_request_duration_seconds_bucket[5m])))",
     "0.42000000000000004 0.05555555555555556"},
    {"histogram_quantile(0.5, sum by (le) (rate(kroll_http_request_duration_seconds_bucket[5m])))"
     " * 1000",
     "100"},
    {"histogram_quantile(0.5, sum by (revision) "
     "(rate(kroll_http_request_duration_seconds_bucket[5m])))",
     ""},
    {"sum by (revision) (increase(kroll_http_requests_total[5m])) - on(revision) "
     "sum by (revision) (increase(kroll_http_requests_total{code_class=\"5xx\"}[5m]))",
     "800 990"},
    {"sum by (revision, code_class) (increase(kroll_http_requests_total[5m])) / ignoring "
     "(code_class) sum by (revision) (increase(kroll_http_requests_total[5m]))",
     "!execution:same labelset"},
    {"increase(kroll_http_requests_total[5m]) / sum by (revision) "
     "(increase(kroll_http_requests_total[5m]))",
     ""},
    {"nosuch_metric", ""},
    {"kroll_http_requests_total # a comment\n * 0 + 1", "1 1 1 1"},
    /* outside the subset */
    {"kroll_http_requests_total[5m]", "s="}, /* a range vector answer: refused below */
    {"rate(kroll_http_requests_total[45s])", "!bad_data:45s"},
    {"rate(kroll_http_requests_total)", "!bad_data:expected type range vector"},
    {"sum(rate(kroll_http_requests_total[5m])) > 0", "!bad_data:comparison"},
    {"up and up", "!bad_data:set operators"},
    {"topk(3, up)", "!bad_data:function \"topk\" is not supported"},
    {"up offset 5m", "!bad_data:offset"},
    {"rate(up[5m:1m])", "!bad_data:subqueries"},
    {"{job=\"x\"}", "!bad_data:metric name"},
    {"up{job=~\"(\"}", "!bad_data:invalid regular expression"},
    {"up{job=\"x}", "!bad_data:unterminated"},
    {"up{__name__=\"x\"}", "!bad_data:__name__"},
    {"sum(up", "!bad_data:expected \")\""},
    {"", "!bad_data:unexpected end"},
    {"1 +", "!bad_data:unexpected end"},
    {"rate(up[5ms])", "!bad_data:whole seconds"},
    {"rate(up[0s])", "!bad_data:duration"},
    {"rate(up[99999d])", "!bad_data:longer than"},
    {"a * on(x) group_left b", "!bad_data:group_left"},
    {"\"str\"", "!bad_data:string"},
    {"sum(1)", "!bad_data:expected type instant vector"},
};

static void check(const char *q, const char *want)
{
    char *body = NULL;
    int status = promql_query(q, 1700000000.5, source, NULL, &body);
    json_t *doc = json_loads(body, 0, NULL), *res, *e;
    char got[2048] = "";
    size_t i;

    assert_non_null(doc);
    if (want[0] == '!') {
        const char *colon = strchr(want, ':');
        const char *type = json_string_value(json_object_get(doc, "errorType"));
        const char *err = json_string_value(json_object_get(doc, "error"));

        if (!type || strncmp(type, want + 1, (size_t)(colon - want - 1)) || !strstr(err, colon + 1))
            fail_msg("%s: want %s, got %d %s", q, want, status, body);
        assert_int_equal(status, !strncmp(want, "!bad_data", 9) ? 400 : 422);
        goto out;
    }
    if (!strncmp(want, "s=", 2) && !want[2]) { /* a range vector is not an answer */
        assert_int_equal(status, 400);
        goto out;
    }
    if (status != 200)
        fail_msg("%s: status %d %s", q, status, body);
    res = json_object_get(json_object_get(doc, "data"), "result");
    if (!strncmp(want, "s=", 2)) {
        snprintf(got, sizeof got, "s=%s", json_string_value(json_array_get(res, 1)));
        assert_true(fabs(json_real_value(json_array_get(res, 0)) - 1700000000.5) < 1e-6);
    } else {
        json_array_foreach(res, i, e)
        {
            size_t l = strlen(got);

            snprintf(got + l, sizeof got - l, "%s%s", l ? " " : "",
                     json_string_value(json_array_get(json_object_get(e, "value"), 1)));
        }
    }
    if (strcmp(got, want))
        fail_msg("%s: want \"%s\", got \"%s\" (%s)", q, want, got, body);
out:
    json_decref(doc);
    free(body);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check(rows[i].q, rows[i].want);
}

static int full_source(const char *metric, int range, struct promql_vec *out, char *msg, size_t n,
                       void *ctx)
{
    (void)range, (void)out, (void)ctx;
    snprintf(msg, n, "%s selects too many series", metric);
    return -2;
}

static void test_shapes(void **state)
{
    char *body = NULL;
    json_t *doc, *m;

    (void)state;
    assert_int_equal(promql_query(RATIO_GOOD, 1, source, NULL, &body), 200);
    doc = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "success");
    m = json_object_get(json_array_get(json_object_get(json_object_get(doc, "data"), "result"), 0),
                        "metric");
    assert_int_equal(json_object_size(m), 1); /* only the grouping label, no __name__ */
    assert_string_equal(json_string_value(json_object_get(m, "revision")), "bad");
    json_decref(doc);
    free(body);
    /* an instant selector keeps its name */
    assert_int_equal(promql_query("kroll_http_requests_total{revision=\"good\",code_class=\"5xx\"}",
                                  1, source, NULL, &body),
                     200);
    assert_non_null(strstr(body, "\"__name__\":\"kroll_http_requests_total\""));
    free(body);
    /* a source that cannot answer: an execution error, 422 */
    assert_int_equal(promql_query("sum(x)", 1, full_source, NULL, &body), 422);
    assert_non_null(strstr(body, "\"errorType\":\"execution\""));
    assert_non_null(strstr(body, "x selects too many series"));
    free(body);
    /* no source: empty answers */
    promql_set_source(NULL, NULL);
    assert_int_equal(promql_query_default("sum(kroll_http_requests_total)", 1, &body), 200);
    assert_non_null(strstr(body, "\"result\":[]"));
    free(body);
    promql_set_source(source, NULL);
    assert_int_equal(promql_query_default("sum(kroll_http_requests_total)", 1, &body), 200);
    assert_non_null(strstr(body, "\"20000\""));
    free(body);
    promql_set_source(NULL, NULL);
}

static void test_limits(void **state)
{
    char q[PROMQL_MAX_QUERY + 64], msg[256];
    struct promql_expr *e;
    size_t n = 0;

    (void)state;
    memset(q, ' ', sizeof q - 1);
    q[sizeof q - 1] = 0;
    q[0] = '1';
    assert_null(promql_parse(q, msg, sizeof msg));
    assert_non_null(strstr(msg, "longer than"));
    for (int i = 0; i < PROMQL_MAX_DEPTH + 1; i++)
        q[n++] = '(';
    q[n++] = '1';
    for (int i = 0; i < PROMQL_MAX_DEPTH + 1; i++)
        q[n++] = ')';
    q[n] = 0;
    assert_null(promql_parse(q, msg, sizeof msg));
    assert_non_null(strstr(msg, "nests deeper"));
    n = 0;
    for (int i = 0; i < PROMQL_MAX_NODES; i++)
        n += (size_t)sprintf(q + n, "1+");
    q[n++] = '1';
    q[n] = 0;
    assert_null(promql_parse(q, msg, sizeof msg));
    assert_non_null(strstr(msg, "more than"));
    n = 0;
    for (int i = 0; i < PROMQL_MAX_DEPTH + 1; i++)
        n += (size_t)sprintf(q + n, i ? "^-1" : "1");
    assert_null(promql_parse(q, msg, sizeof msg));
    assert_non_null(strstr(msg, "nests deeper"));
    e = promql_parse("sum by (revision) (rate(x{a=~\"b|c\"}[5m]))", msg, sizeof msg);
    assert_non_null(e);
    promql_expr_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
