/* The demo report's Rollouts lane (issue 13): the weight a Rollout sample gets (Argo's
 * GetCurrentSetWeight, blue/green's active switch) and the SVG drawn from samples and analysis
 * marks: one step line per update with its weights in order, markers by outcome and phase, and
 * no lane at all for a demo without Rollouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The sampler's statics (canary_weight). */
#include "../../../src/cli/demo_api.c"

static int weight_of(const char *status)
{
    char text[1024];
    json_t *ro;
    int w;

    snprintf(text, sizeof text,
             "{\"spec\":{\"strategy\":{\"canary\":{\"steps\":[{\"setWeight\":20},"
             "{\"pause\":{}},{\"setWeight\":50},{\"pause\":{\"duration\":\"10s\"}}]}}},"
             "\"status\":%s}",
             status);
    ro = json_loads(text, 0, NULL);
    assert_non_null(ro);
    w = canary_weight(ro);
    json_decref(ro);
    return w;
}

static void test_canary_weight(void **state)
{
    (void)state;
    assert_int_equal(weight_of("{\"currentStepIndex\":0}"), 20);
    assert_int_equal(weight_of("{\"currentStepIndex\":1}"), 20); /* the pause after it */
    assert_int_equal(weight_of("{\"currentStepIndex\":3}"), 50);
    assert_int_equal(weight_of("{\"currentStepIndex\":4}"), 100); /* past the last step */
    assert_int_equal(weight_of("{}"), 100);
    assert_int_equal(weight_of("{\"currentStepIndex\":2,\"abort\":true}"), 0);
    assert_int_equal(
        weight_of("{\"currentStepIndex\":0,\"canary\":{\"weights\":{\"canary\":{\"weight\":33}}}}"),
        33); /* traffic routing's actual weight wins */
}

static void sample(struct demo *d, double t, const char *ro, int weight, int idle)
{
    struct cluster_state *st = &d->samples[d->nsamples++];

    memset(st, 0, sizeof *st);
    st->t = t;
    if (ro) {
        st->nro = 1;
        snprintf(st->ro[0].name, sizeof st->ro[0].name, "%s", ro);
        st->ro[0].weight = weight;
        st->ro[0].idle = idle;
    }
}

static void mark(struct demo *d, double t, const char *metric, const char *phase, const char *v)
{
    struct demo_mark *m = &d->marks[d->nmarks++];

    memset(m, 0, sizeof *m);
    snprintf(m->run, sizeof m->run, "canary-web-abc-%d", (int)t);
    snprintf(m->metric, sizeof m->metric, "%s", metric);
    snprintf(m->phase, sizeof m->phase, "%s", phase);
    snprintf(m->value, sizeof m->value, "%s", v);
    m->t = t;
}

static void demo_two_phases(struct demo *d)
{
    memset(d, 0, sizeof *d);
    d->samples = calloc(DEMO_MAX_SAMPLES, sizeof *d->samples);
    d->marks = calloc(DEMO_MAX_MARKS, sizeof *d->marks);
    d->nphases = 2;
    d->phases[0] = (struct demo_phase){.name = "canary", .title = "c", .why = "", .t_end = 10};
    d->phases[1] = (struct demo_phase){
        .name = "canary-abort", .title = "a", .why = "", .t_start = 10, .t_end = 20};
}

static void test_lane(void **state)
{
    struct demo d;
    char *svg;

    (void)state;
    demo_two_phases(&d);
    sample(&d, 1, "canary-web", 100, 1);
    for (int t = 3; t <= 5; t++)
        sample(&d, t, "canary-web", 20, 0);
    for (int t = 6; t <= 8; t++)
        sample(&d, t, "canary-web", 50, 0);
    sample(&d, 9, "canary-web", 100, 1); /* completed: the step to 100 closes the line */
    sample(&d, 10, "canary-web", 100, 1);
    for (int t = 11; t <= 13; t++)
        sample(&d, t, "canary-web", 20, 0);
    for (int t = 14; t <= 16; t++)
        sample(&d, t, "canary-web", 0, 0); /* aborted */
    sample(&d, 17, NULL, 0, 0);            /* deleted */
    mark(&d, 5, "request-success-rate", "Successful", "[1]");
    mark(&d, 5, "", "Successful", "");
    mark(&d, 14, "request-success-rate", "Failed", "[0.5]");
    mark(&d, 14, "", "Failed", "Metric failed");
    svg = demo_report_svg(&d);
    assert_non_null(strstr(svg, "height='878'"));
    assert_non_null(
        strstr(svg, "<polyline class='weight' data-rollout='canary-web' data-demo-phase='canary'"));
    assert_non_null(strstr(svg, "data-steps='20 50 100'><title>canary-web: weight 20% at 3s, "
                                "50% at 6s, 100% at 9s</title>"));
    assert_non_null(strstr(
        svg, "<polyline class='weight' data-rollout='canary-web' data-demo-phase='canary-abort'"));
    assert_non_null(strstr(svg, "data-steps='20 0'>"));
    assert_null(strstr(strstr(svg, "data-steps='20 0'>") + 1, "class='weight'")); /* two lines */
    assert_non_null(strstr(svg, "<circle class='am Successful' data-kind='run' "
                                "data-demo-phase='canary'"));
    assert_non_null(strstr(svg, "<circle class='am Failed' data-kind='measurement' "
                                "data-demo-phase='canary-abort'"));
    assert_non_null(strstr(svg, "<title>canary-web-abc-14 / request-success-rate: Failed at 14s, "
                                "value [0.5]</title>"));
    assert_non_null(strstr(svg, "<title>canary-web-abc-14: Failed at 14s, Metric failed</title>"));
    free(svg);
    free(d.samples);
    free(d.marks);
}

static void test_no_lane_without_rollouts(void **state)
{
    struct demo d;
    char *svg;

    (void)state;
    demo_two_phases(&d);
    sample(&d, 1, NULL, 0, 0);
    sample(&d, 2, NULL, 0, 0);
    svg = demo_report_svg(&d);
    assert_non_null(strstr(svg, "height='652'"));
    assert_null(strstr(svg, "class='weight'"));
    assert_null(strstr(svg, "class='am "));
    assert_null(strstr(svg, "Rollouts: traffic weight"));
    free(svg);
    free(d.samples);
    free(d.marks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canary_weight),
        cmocka_unit_test(test_lane),
        cmocka_unit_test(test_no_lane_without_rollouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
