/* AnalysisRun outcome counting (api/metrics_analysis.c): a run counts once, when it reaches a
 * final phase; a later update of a finished run, or a run still running, does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api-int.h"

static json_t *run(const char *ns, const char *phase)
{
    return phase ? json_pack("{s:{s:s},s:{s:s}}", "metadata", "namespace", ns, "status", "phase",
                             phase)
                 : json_pack("{s:{s:s}}", "metadata", "namespace", ns);
}

static long long count(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void test_outcomes(void **state)
{
    json_t *o = json_object(), *a = run("default", NULL), *b = run("default", "Running"),
           *c = run("default", "Successful"), *d = run("default", "Failed"),
           *e = run("prod", "Inconclusive"), *f = run("bad\"ns", "Error");

    (void)state;
    api__metrics_analysis_event(o, a, NULL); /* created: no phase */
    api__metrics_analysis_event(o, b, a);    /* running */
    assert_int_equal(json_object_size(o), 0);
    api__metrics_analysis_event(o, c, b);    /* Running -> Successful: counts */
    api__metrics_analysis_event(o, c, c);    /* a later update of the finished run: not again */
    api__metrics_analysis_event(o, d, NULL); /* created finished (a restore): counts */
    api__metrics_analysis_event(o, e, b);
    api__metrics_analysis_event(o, f, b); /* a namespace that cannot be a label: skipped */
    assert_int_equal(count(o, "default\tSuccessful"), 1);
    assert_int_equal(count(o, "default\tFailed"), 1);
    assert_int_equal(count(o, "prod\tInconclusive"), 1);
    assert_int_equal(json_object_size(o), 3);
    json_decref(o);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
