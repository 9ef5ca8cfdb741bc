/* argoproj.io analysis kinds: validation causes (field paths and Argo's wording) and the Go
 * duration strings their metrics use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/dur.h"
#include "core/jx.h"
#include "resources/resources.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);

    if (!v)
        fail_msg("fixture JSON: %s at line %d", je.text, je.line);
    return v;
}

/* The message of the first cause at field, or NULL. */
static const char *cause_at(const struct err *e, const char *field)
{
    size_t i;
    json_t *c;

    json_array_foreach(e->causes, i,
                       c) if (!strcmp(jx_str(c, "field") ?: "", field)) return jx_str(c, "message");
    return NULL;
}

/* Validates an AnalysisRun whose spec is spec_json; returns the err (to release). */
static int run_validate(const char *spec_json, struct err *e)
{
    char buf[4096];
    json_t *o;
    int rc;

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"r\",\"namespace\":\"default\"},\"spec\":%s}", spec_json);
    o = parse(buf);
    err_init(e);
    rc = res_validate(res_kind_find("argoproj.io", "AnalysisRun"), o, NULL, e);
    json_decref(o);
    return rc;
}

#define WEB "{\"web\":{\"url\":\"http://127.0.0.1:1/x\"}}"

static void test_valid_runs(void **state)
{
    struct err e;

    (void)state;
    assert_int_equal(run_validate("{\"metrics\":[{\"name\":\"a\",\"provider\":" WEB "}]}", &e), 0);
    err_release(&e);
    assert_int_equal(run_validate("{\"metrics\":[{\"name\":\"a\",\"interval\":\"1m30s\","
                                  "\"count\":\"{{args.n}}\",\"failureLimit\":-1,"
                                  "\"provider\":{\"prometheus\":{\"query\":\"up\"}}}],"
                                  "\"args\":[{\"name\":\"n\",\"value\":\"3\"}]}",
                                  &e),
                     0);
    err_release(&e);
    /* Unsupported providers are the controller's business (an Error measurement). */
    assert_int_equal(
        run_validate("{\"metrics\":[{\"name\":\"a\",\"provider\":{\"datadog\":{}}}]}", &e), 0);
    err_release(&e);
}

static void test_bad_runs(void **state)
{
    struct err e;

    (void)state;
    assert_int_equal(run_validate("{\"metrics\":[]}", &e), -E_INVALID);
    assert_non_null(cause_at(&e, "spec.metrics"));
    err_release(&e);

    assert_int_equal(run_validate("{\"metrics\":[{\"provider\":" WEB "},"
                                  "{\"name\":\"b\",\"interval\":\"30\",\"provider\":" WEB "},"
                                  "{\"name\":\"b\",\"count\":5,\"failureLimit\":6,\"provider\":"
                                  "{\"web\":{\"url\":\"x\",\"method\":\"DELETE\"}}},"
                                  "{\"name\":\"c\",\"initialDelay\":\"-1s\",\"count\":\"x\","
                                  "\"consecutiveErrorLimit\":-1,\"provider\":{},"
                                  "\"successCondition\":\"result[0] >\"}],"
                                  "\"args\":[{\"name\":\"a\",\"value\":\"1\",\"valueFrom\":"
                                  "{\"fieldRef\":{\"fieldPath\":\"x\"}}},{}],"
                                  "\"dryRun\":[{}],\"ttlStrategy\":{\"secondsAfterFailure\":-1}}",
                                  &e),
                     -E_INVALID);
    assert_string_equal(cause_at(&e, "spec.metrics[0].name"), "Required value");
    assert_non_null(strstr(cause_at(&e, "spec.metrics[1].interval"), "invalid duration"));
    assert_string_equal(cause_at(&e, "spec.metrics[2].name"), "Duplicate value: \"b\"");
    assert_non_null(strstr(cause_at(&e, "spec.metrics[2].count"), "more than one measurement"));
    assert_non_null(strstr(cause_at(&e, "spec.metrics[2].provider.web.url"), "http://"));
    assert_non_null(strstr(cause_at(&e, "spec.metrics[2].provider.web.method"), "DELETE"));
    assert_non_null(strstr(cause_at(&e, "spec.metrics[3].initialDelay"), "negative"));
    assert_non_null(strstr(cause_at(&e, "spec.metrics[3].count"), "integer"));
    assert_non_null(
        strstr(cause_at(&e, "spec.metrics[3].consecutiveErrorLimit"), ">= 0")
            ?: strstr(cause_at(&e, "spec.metrics[3].consecutiveErrorLimit"), "equal to 0"));
    assert_non_null(strstr(cause_at(&e, "spec.metrics[3].provider"), "no provider"));
    assert_non_null(
        strstr(cause_at(&e, "spec.metrics[3].successCondition"), "unexpected end of expression"));
    assert_non_null(strstr(cause_at(&e, "spec.args[0].valueFrom"), "cannot both be set"));
    assert_string_equal(cause_at(&e, "spec.args[1].name"), "Required value");
    assert_string_equal(cause_at(&e, "spec.dryRun[0].metricName"), "Required value");
    assert_non_null(cause_at(&e, "spec.ttlStrategy.secondsAfterFailure"));
    err_release(&e);

    /* The job provider: a Job spec with a pod template (the rest is the Job's validation). */
    assert_int_equal(run_validate("{\"metrics\":[{\"name\":\"a\",\"provider\":{\"job\":{}}},"
                                  "{\"name\":\"b\",\"provider\":{\"job\":{\"spec\":{}}}},"
                                  "{\"name\":\"c\",\"provider\":{\"job\":{\"spec\":"
                                  "{\"template\":{\"spec\":{}}}}}}]}",
                                  &e),
                     -E_INVALID);
    assert_string_equal(cause_at(&e, "spec.metrics[0].provider.job.spec"), "Required value");
    assert_string_equal(cause_at(&e, "spec.metrics[1].provider.job.spec.template"),
                        "Required value");
    assert_null(cause_at(&e, "spec.metrics[2].provider.job.spec"));
    assert_null(cause_at(&e, "spec.metrics[2].provider.job.spec.template"));
    err_release(&e);
}

static void test_templates(void **state)
{
    json_t *o;
    struct err e;

    (void)state;
    err_init(&e);
    /* A template may hold only references to others; a cluster template has no namespace. */
    o = parse(
        "{\"metadata\":{\"name\":\"t\"},\"spec\":{\"templates\":[{\"templateName\":\"x\"}]}}");
    assert_int_equal(
        res_validate(res_kind_find("argoproj.io", "ClusterAnalysisTemplate"), o, NULL, &e), 0);
    json_decref(o);
    o = parse("{\"metadata\":{\"name\":\"t\",\"namespace\":\"default\"},\"spec\":{}}");
    assert_int_equal(res_validate(res_kind_find("argoproj.io", "AnalysisTemplate"), o, NULL, &e),
                     -E_INVALID);
    assert_non_null(cause_at(&e, "spec.metrics"));
    json_decref(o);
    err_release(&e);
    /* Strict decoding knows the provider fields. */
    err_init(&e);
    o = parse("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"AnalysisTemplate\","
              "\"metadata\":{\"name\":\"t\"},\"spec\":{\"metrics\":[{\"name\":\"a\","
              "\"provider\":{\"web\":{\"url\":\"http://x\",\"jsonpath\":\"{$}\"}}}]}}");
    assert_int_equal(
        res_unknown_fields(res_kind_find("argoproj.io", "AnalysisTemplate"), o, NULL, &e),
        -E_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "spec.metrics[0].provider.web.jsonpath"));
    json_decref(o);
    err_release(&e);
}

static void test_durations(void **state)
{
    static const struct {
        const char *s;
        int rc;
        int64_t ms;
    } cases[] = {
        {"30s", 0, 30000},
        {"5m", 0, 300000},
        {"1h30m", 0, 5400000},
        {"1.5h", 0, 5400000},
        {"250ms", 0, 250},
        {"0", 0, 0},
        {"-2s", 0, -2000},
        {"1m0.5s", 0, 60500},
        {"10us", 0, 0},
        {"30", -1, 0},
        {"", -1, 0},
        {"s", -1, 0},
        {"5 m", -1, 0},
        {"1d", -1, 0},
        {"1h-1m", -1, 0},
        {".s", -1, 0},
        {"99999999999999h", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -7;
        int rc = dur_parse(cases[i].s, &ms);

        if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
            fail_msg("dur_parse(\"%s\") = %d, %lld", cases[i].s, rc, (long long)ms);
    }
    assert_int_equal(dur_parse(NULL, &(int64_t){0}), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_runs),
        cmocka_unit_test(test_bad_runs),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
