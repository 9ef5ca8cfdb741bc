/* The AnalysisRun controller's decisions (controllers/analysis_assess.c) against Argo's rules
 * (progressive-delivery.md 6.2, 6.3, checklist 47-49, 54, 55): defaults, the condition table
 * (both / neither / one given), counters, the limits in order, when the next measurement is
 * due, and the run's phase (worst metric, dry-run apart, terminate); the job provider's Job
 * names (Argo's newJobName). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/analysis.h"
#include "controllers/analysis_job.h"
#include "controllers/analysis_measure.h"
#include "core/jx.h"

static json_t *J(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

    if (!v)
        fail_msg("bad JSON %s", s);
    return v;
}

static struct anl_metric metric(const char *text, json_t **keep)
{
    struct anl_metric m;
    char msg[256];

    *keep = J(text);
    if (anl_metric_read(*keep, 0, &m, msg, sizeof msg) < 0)
        fail_msg("metric %s: %s", text, msg);
    return m;
}

static void test_defaults(void **state)
{
    json_t *k;
    struct anl_metric m;
    char msg[256];

    (void)state;
    m = metric("{\"name\":\"a\"}", &k);
    assert_int_equal(m.count, 1); /* neither count nor interval: one measurement */
    assert_int_equal(m.interval_ms, -1);
    assert_int_equal(m.consecutive_error_limit, 4);
    assert_int_equal(m.failure_limit, 0);
    assert_int_equal(m.inconclusive_limit, 0);
    json_decref(k);
    m = metric("{\"name\":\"a\",\"interval\":\"30s\",\"initialDelay\":\"1m\"}", &k);
    assert_int_equal(m.count, 0); /* interval alone: unbounded */
    assert_int_equal(m.interval_ms, 30000);
    assert_int_equal(m.initial_delay_ms, 60000);
    json_decref(k);
    m = metric("{\"name\":\"a\",\"interval\":\"1s\",\"count\":\"3\",\"failureLimit\":\"-1\"}", &k);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.failure_limit, -1);
    json_decref(k);
    k = J("{\"name\":\"a\",\"count\":2}");
    assert_int_equal(anl_metric_read(k, 3, &m, msg, sizeof msg), -1);
    assert_string_equal(msg, "metrics[3]: More than one measurement was specified, but no interval "
                             "was specified");
    json_decref(k);
    k = J("{\"name\":\"a\",\"interval\":\"5 m\"}");
    assert_int_equal(anl_metric_read(k, 0, &m, msg, sizeof msg), -1);
    json_decref(k);
}

static void test_conditions(void **state)
{
    static const struct {
        const char *succ, *fail, *result;
        int want;
    } rows[] = {
        {NULL, NULL, "1", AP_SUCCESSFUL},
        {"result > 1", NULL, "2", AP_SUCCESSFUL},
        {"result > 1", NULL, "1", AP_FAILED},
        {NULL, "result > 1", "2", AP_FAILED},
        {NULL, "result > 1", "1", AP_SUCCESSFUL},
        {"result > 5", "result < 1", "3", AP_INCONCLUSIVE},
        {"result > 5", "result < 1", "0", AP_FAILED},
        {"result > 5", "result < 1", "6", AP_SUCCESSFUL},
        {"result > 0", "result > 0", "6", AP_FAILED}, /* failure wins */
        {"result[0] > 0", NULL, "[]", AP_ERROR},
        {"result", NULL, "1", AP_ERROR},
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct anl_metric m = {.name = "m", .success = rows[i].succ, .failure = rows[i].fail};
        json_t *r = J(rows[i].result);
        int p = anl_evaluate(&m, r, 0, msg, sizeof msg);

        if (p != rows[i].want)
            fail_msg("row %zu: got %s want %s", i, anl_phase_name(p), anl_phase_name(rows[i].want));
        json_decref(r);
    }
    {
        struct anl_metric m = {.name = "m", .success = "result[0] > 0"};
        json_t *r = J("[]");

        assert_int_equal(anl_evaluate(&m, r, 0, msg, sizeof msg), AP_ERROR);
        assert_non_null(strstr(msg, "could not evaluate successCondition \"result[0] > 0\""));
        assert_non_null(strstr(msg, "metric result is nil or empty"));
        json_decref(r);
    }
}

/* Feeds phases (S F I E) to a fresh metric result and returns its assessment. */
static int feed(const struct anl_metric *m, const char *phases, char *msg, size_t n, json_t **mr)
{
    *mr = json_object();
    for (const char *p = phases; *p; p++)
        anl_count(*mr, *p == 'S'   ? AP_SUCCESSFUL
                       : *p == 'F' ? AP_FAILED
                       : *p == 'I' ? AP_INCONCLUSIVE
                                   : AP_ERROR);
    return anl_assess(m, *mr, msg, n);
}

static void test_limits(void **state)
{
    struct anl_metric m = {.name = "m",
                           .count = 3,
                           .interval_ms = 1000,
                           .failure_limit = 1,
                           .consecutive_error_limit = 4};
    json_t *mr;
    char msg[512];

    (void)state;
    /* Checklist 49: count 3, failureLimit 1. */
    assert_int_equal(feed(&m, "FSS", msg, sizeof msg, &mr), AP_SUCCESSFUL);
    json_decref(mr);
    assert_int_equal(feed(&m, "FF", msg, sizeof msg, &mr), AP_FAILED);
    assert_string_equal(msg, "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)");
    json_decref(mr);
    assert_int_equal(feed(&m, "FS", msg, sizeof msg, &mr), AP_RUNNING);
    json_decref(mr);
    /* Checklist 47: the fifth consecutive error with the default limit 4; errors do not count
     * as measurements, a success resets the run of errors. */
    assert_int_equal(feed(&m, "EEEE", msg, sizeof msg, &mr), AP_RUNNING);
    assert_int_equal(jx_int(mr, "count", 0), 0);
    json_decref(mr);
    assert_int_equal(feed(&m, "EEEEE", msg, sizeof msg, &mr), AP_ERROR);
    assert_string_equal(msg, "Metric \"m\" assessed Error due to consecutiveErrors (5) > "
                             "consecutiveErrorLimit (4)");
    json_decref(mr);
    assert_int_equal(feed(&m, "EEEESEEEE", msg, sizeof msg, &mr), AP_RUNNING);
    assert_int_equal(jx_int(mr, "error", 0), 8);
    json_decref(mr);
    assert_int_equal(feed(&m, "I", msg, sizeof msg, &mr), AP_INCONCLUSIVE);
    assert_string_equal(msg, "Metric \"m\" assessed Inconclusive due to inconclusive (1) > "
                             "inconclusiveLimit (0)");
    json_decref(mr);
    /* failureLimit -1 disables it; consecutiveSuccessLimit ends early or fails at count. */
    m.failure_limit = -1;
    m.consecutive_success_limit = 2;
    assert_int_equal(feed(&m, "FSS", msg, sizeof msg, &mr), AP_SUCCESSFUL);
    json_decref(mr);
    assert_int_equal(feed(&m, "SFS", msg, sizeof msg, &mr), AP_FAILED);
    json_decref(mr);
    m.count = 0; /* unbounded */
    m.consecutive_success_limit = 0;
    assert_int_equal(feed(&m, "SSSSSSSS", msg, sizeof msg, &mr), AP_RUNNING);
    json_decref(mr);
}

static void test_next_due(void **state)
{
    struct anl_metric m = {.name = "m", .count = 3, .interval_ms = 5000, .initial_delay_ms = 2000};
    json_t *mr = J("{}");

    (void)state;
    assert_int_equal(anl_next_due(&m, mr, 1000000), 1002000);
    json_decref(mr);
    mr = J(
        "{\"measurements\":[{\"phase\":\"Successful\",\"finishedAt\":\"1970-01-01T00:16:40Z\"}]}");
    assert_int_equal(anl_next_due(&m, mr, 0), 1005000);
    json_decref(mr);
    /* After an Error: min(10 s, interval). */
    mr = J("{\"measurements\":[{\"phase\":\"Error\",\"finishedAt\":\"1970-01-01T00:16:40Z\"}]}");
    assert_int_equal(anl_next_due(&m, mr, 0), 1005000);
    m.interval_ms = 60000;
    assert_int_equal(anl_next_due(&m, mr, 0), 1010000);
    m.interval_ms = -1;
    assert_int_equal(anl_next_due(&m, mr, 0), 1010000);
    json_decref(mr);
    /* No interval after a measurement: none more. */
    mr = J("{\"measurements\":[{\"phase\":\"Failed\",\"finishedAt\":\"1970-01-01T00:16:40Z\"}]}");
    assert_int_equal(anl_next_due(&m, mr, 0), -1);
    json_decref(mr);
}

static void test_run_phase(void **state)
{
    json_t *sum = json_object(), *dry = json_object(), *rs;
    char msg[512];

    (void)state;
    rs = J("[{\"name\":\"a\",\"phase\":\"Successful\"},{\"name\":\"b\",\"phase\":\"Running\"}]");
    assert_int_equal(anl_run_phase(rs, 0, msg, sizeof msg, sum, dry), AP_RUNNING);
    json_decref(rs);
    json_object_clear(sum);
    /* A failed metric ends the run even with others running; the worst phase wins. */
    rs = J("[{\"name\":\"a\",\"phase\":\"Error\",\"message\":\"e\"},{\"name\":\"b\",\"phase\":"
           "\"Running\"},{\"name\":\"c\",\"phase\":\"Failed\",\"message\":\"f\"}]");
    assert_int_equal(anl_run_phase(rs, 0, msg, sizeof msg, sum, dry), AP_FAILED);
    assert_string_equal(msg, "f");
    assert_int_equal(jx_int(sum, "count", 0), 3);
    assert_int_equal(jx_int(sum, "failed", 0), 1);
    assert_int_equal(jx_int(sum, "error", 0), 1);
    json_decref(rs);
    json_object_clear(sum);
    /* Dry-run metrics are tallied apart and never decide the phase. */
    rs = J("[{\"name\":\"a\",\"phase\":\"Successful\"},{\"name\":\"d\",\"phase\":\"Failed\","
           "\"dryRun\":true}]");
    assert_int_equal(anl_run_phase(rs, 0, msg, sizeof msg, sum, dry), AP_SUCCESSFUL);
    assert_int_equal(jx_int(dry, "failed", 0), 1);
    assert_int_equal(jx_int(sum, "count", 0), 1);
    json_decref(rs);
    json_object_clear(sum);
    /* Terminate: running metrics count as Successful. */
    rs = J("[{\"name\":\"a\",\"phase\":\"Running\"}]");
    assert_int_equal(anl_run_phase(rs, 1, msg, sizeof msg, sum, dry), AP_SUCCESSFUL);
    assert_string_equal(msg, "Run Terminated");
    json_decref(rs);
    json_decref(sum);
    json_decref(dry);
    assert_string_equal(anl_phase_name(AP_INCONCLUSIVE), "Inconclusive");
    assert_int_equal(anl_phase_parse("Failed"), AP_FAILED);
    assert_int_equal(anl_phase_parse(""), AP_PENDING);
    assert_int_equal(anl_phase_parse("Nope"), -1);
}

/* The web provider's JSONPath subset. */
static void test_jsonpath(void **state)
{
    static const struct {
        const char *path, *want; /* want: JSON, or "!" + error text */
    } rows[] = {
        {"{$}", "{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}"},
        {"", "{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}"},
        {"{$.a.b[0]}", "1"},
        {"{.a.b[1].c}", "\"x\""},
        {"{$.a.b[-1].c}", "\"x\""},
        {"{$.a.nope}", "!nope is not found"},
        {"{$.a.b[5]}", "!array index out of bounds"},
        {"{$.a.b[*]}", "!only .name and [index]"},
        {"{$..c}", "!only .name and [index]"},
    };
    json_t *doc = J("{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}");
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *got = anl_jsonpath(doc, rows[i].path, msg, sizeof msg), *want;

        if (rows[i].want[0] == '!') {
            if (got || !strstr(msg, rows[i].want + 1))
                fail_msg("row %zu (%s): want error %s, got %s", i, rows[i].path, rows[i].want,
                         got ? "a value" : msg);
            continue;
        }
        want = J(rows[i].want);
        if (!got || !json_equal(got, want))
            fail_msg("row %zu (%s): %s", i, rows[i].path, got ? "wrong value" : msg);
        json_decref(want);
        json_decref(got);
    }
    json_decref(doc);
}

/* <uid>.<metric>.<n>; past 63 characters the metric name is cut, never the uid or number. */
static void test_job_name(void **state)
{
    const char *uid = "cb9172e8-e4d8-4043-8373-2a5ba917abfb";
    char name[ANL_JOB_NAME_MAX + 1], longuid[80];
    json_t *p;

    (void)state;
    assert_int_equal(anl_job_name(uid, "m", 1, name, sizeof name), 0);
    assert_string_equal(name, "cb9172e8-e4d8-4043-8373-2a5ba917abfb.m.1");
    assert_int_equal(
        anl_job_name(uid, "a-metric-name-that-is-much-too-long-for-a-job", 1, name, sizeof name),
        0);
    assert_string_equal(name, "cb9172e8-e4d8-4043-8373-2a5ba917abfb.a-metric-name-that-is-mu.1");
    assert_int_equal(strlen(name), 63);
    assert_int_equal(anl_job_name(uid, "a-metric-name-that-is-much-too-long-for-a-job", 12345, name,
                                  sizeof name),
                     0);
    assert_string_equal(name, "cb9172e8-e4d8-4043-8373-2a5ba917abfb.a-metric-name-that-i.12345");
    assert_int_equal(anl_job_name(uid, "exactly-twenty-four-char", 1, name, sizeof name), 0);
    assert_int_equal(strlen(name), 63);
    memset(longuid, 'u', 70);
    longuid[70] = 0;
    assert_int_equal(anl_job_name(longuid, "m", 1, name, sizeof name), -1);
    assert_int_equal(anl_job_name(uid, "m", 1, name, 10), -1);
    p = J("{\"job\": {\"spec\": {}}}");
    assert_true(anl_job_provider(p));
    json_decref(p);
    p = J("{\"web\": {\"url\": \"http://x\"}}");
    assert_false(anl_job_provider(p));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_limits),    cmocka_unit_test(test_next_due),
        cmocka_unit_test(test_run_phase), cmocka_unit_test(test_jsonpath),
        cmocka_unit_test(test_job_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
