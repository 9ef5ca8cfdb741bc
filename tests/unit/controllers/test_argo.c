/* The Argo Rollouts decisions (controllers/argo.c) against progressive-delivery.md: the basic
 * canary replica table of section 2.4 and checklist item 23, surge/unavailable defaults
 * (section 0.10), the weight in effect (GetCurrentSetWeight) and the phase algorithm of
 * section 4 with its messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/argo.h"

struct row {
    long long R, W, canary_def, stable_def, canary_s0, stable_s0;
};

/* R, W, default surge (25%) -> canary/stable, maxSurge 0 -> canary/stable. */
static const struct row table[] = {
    {5, 20, 1, 4, 1, 4}, {5, 10, 1, 5, 1, 4},  {5, 40, 2, 3, 2, 3},  {5, 50, 3, 3, 3, 2},
    {4, 25, 1, 3, 1, 3}, {3, 50, 2, 2, 2, 1},  {2, 10, 1, 2, 1, 1},  {1, 10, 1, 1, 0, 1},
    {1, 50, 1, 1, 1, 0}, {10, 5, 1, 10, 1, 9}, {10, 15, 2, 9, 2, 8}, {10, 25, 3, 8, 3, 7},
};

static void test_replica_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct row *r = &table[i];
        json_t *def = json_object();
        long long s, u, c, st;

        argo_surge_unavailable(def, r->R, &s, &u);
        argo_canary_counts(r->R, r->W, 100, s, &c, &st);
        if (c != r->canary_def || st != r->stable_def)
            fail_msg("R=%lld W=%lld default surge: got %lld/%lld, want %lld/%lld", r->R, r->W, c,
                     st, r->canary_def, r->stable_def);
        argo_canary_counts(r->R, r->W, 100, 0, &c, &st);
        if (c != r->canary_s0 || st != r->stable_s0)
            fail_msg("R=%lld W=%lld maxSurge 0: got %lld/%lld, want %lld/%lld", r->R, r->W, c, st,
                     r->canary_s0, r->stable_s0);
        json_decref(def);
    }
}

static void test_replica_edges(void **state)
{
    long long c, st;

    (void)state;
    argo_canary_counts(0, 50, 100, 1, &c, &st);
    assert_true(c == 0 && st == 0);
    argo_canary_counts(5, 0, 100, 2, &c, &st);
    assert_true(c == 0 && st == 5);
    argo_canary_counts(5, 100, 100, 2, &c, &st);
    assert_true(c == 5 && st == 0);
    /* Weight 1..99 with surge allowed never gives 0 canary pods. */
    for (long long w = 1; w < 100; w++) {
        argo_canary_counts(2, w, 100, 1, &c, &st);
        assert_true(c >= 1);
    }
    /* Without surge the pseudo-code has one hole, kept as Argo has it: R=2 at 75% ties
     * (1.5), ceil (2) is all replicas, so no candidate is left and the answer is 0/2. */
    argo_canary_counts(2, 75, 100, 0, &c, &st);
    assert_true(c == 0 && st == 2);
}

static void test_surge_defaults(void **state)
{
    json_t *z = json_loads("{\"maxSurge\":0,\"maxUnavailable\":0}", 0, NULL);
    json_t *p = json_loads("{\"maxSurge\":\"50%\",\"maxUnavailable\":1}", 0, NULL);
    long long s, u;

    (void)state;
    argo_surge_unavailable(NULL, 5, &s, &u);
    assert_true(s == 2 && u == 1); /* 25% of 5: up 2, down 1 */
    argo_surge_unavailable(z, 5, &s, &u);
    assert_true(s == 0 && u == 1);
    argo_surge_unavailable(p, 5, &s, &u);
    assert_true(s == 3 && u == 1);
    json_decref(z);
    json_decref(p);
}

static void test_weight(void **state)
{
    json_t *steps = json_loads("[{\"setWeight\":20},{\"pause\":{}},{\"setWeight\":50},"
                               "{\"pause\":{\"duration\":5}}]",
                               0, NULL);

    (void)state;
    assert_int_equal(argo_current_weight(steps, 0, 0), 20);
    assert_int_equal(argo_current_weight(steps, 1, 0), 20);
    assert_int_equal(argo_current_weight(steps, 3, 0), 50);
    assert_int_equal(argo_current_weight(steps, 4, 0), 100);
    assert_int_equal(argo_current_weight(steps, 1, 1), 0);
    json_decref(steps);
}

static void phase_is(const char *ro, const char *st, int bg, const char *want_phase,
                     const char *want_msg)
{
    json_t *r = json_loads(ro, 0, NULL), *s = json_loads(st, 0, NULL);
    const char *ph;
    char msg[512];

    assert_non_null(r);
    assert_non_null(s);
    argo_phase(r, s, bg, &ph, msg, sizeof msg);
    assert_string_equal(ph, want_phase);
    assert_string_equal(msg, want_msg);
    json_decref(r);
    json_decref(s);
}

static void test_phase(void **state)
{
    const char *ro = "{\"spec\":{\"replicas\":5}}";

    (void)state;
    phase_is(ro,
             "{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":"
             "\"RolloutAborted\",\"message\":\"Rollout aborted update to revision 2\"}]}",
             0, "Degraded", "RolloutAborted: Rollout aborted update to revision 2");
    phase_is("{\"spec\":{\"replicas\":5,\"paused\":true}}", "{}", 0, "Paused", "manually paused");
    phase_is(ro, "{\"pauseConditions\":[{\"reason\":\"CanaryPauseStep\"}],\"updatedReplicas\":1}",
             0, "Paused", "CanaryPauseStep");
    phase_is(ro, "{\"updatedReplicas\":1}", 0, "Progressing", "more replicas need to be updated");
    phase_is(ro, "{\"updatedReplicas\":5,\"availableReplicas\":4}", 0, "Progressing",
             "updated replicas are still becoming available");
    phase_is(ro, "{\"updatedReplicas\":5,\"availableReplicas\":5,\"replicas\":6}", 0, "Progressing",
             "old replicas are pending termination");
    phase_is(ro,
             "{\"updatedReplicas\":5,\"availableReplicas\":5,\"replicas\":5,"
             "\"currentPodHash\":\"a\",\"stableRS\":\"b\"}",
             0, "Progressing", "waiting for all steps to complete");
    phase_is(
        ro,
        "{\"updatedReplicas\":5,\"availableReplicas\":5,\"replicas\":10,"
        "\"currentPodHash\":\"a\",\"stableRS\":\"b\",\"blueGreen\":{\"activeSelector\":\"b\"}}",
        1, "Progressing", "active service cutover pending");
    /* Switched, not stable: post-promotion analysis pending or not configured. */
    phase_is("{\"spec\":{\"replicas\":5,\"strategy\":{\"blueGreen\":{"
             "\"postPromotionAnalysis\":{\"templates\":[{\"templateName\":\"t\"}]}}}}}",
             "{\"updatedReplicas\":5,\"availableReplicas\":5,\"currentPodHash\":\"a\","
             "\"stableRS\":\"b\",\"blueGreen\":{\"activeSelector\":\"a\","
             "\"postPromotionAnalysisRunStatus\":{\"status\":\"Running\"}}}",
             1, "Progressing", "waiting for analysis to complete");
    phase_is("{\"spec\":{\"replicas\":5,\"strategy\":{\"blueGreen\":{"
             "\"postPromotionAnalysis\":{\"templates\":[{\"templateName\":\"t\"}]}}}}}",
             "{\"updatedReplicas\":5,\"availableReplicas\":5,\"currentPodHash\":\"a\","
             "\"stableRS\":\"b\",\"blueGreen\":{\"activeSelector\":\"a\","
             "\"postPromotionAnalysisRunStatus\":{\"status\":\"Successful\"}}}",
             1, "Progressing", "waiting for post-promotion verification to complete");
    phase_is(ro,
             "{\"updatedReplicas\":5,\"availableReplicas\":5,\"currentPodHash\":\"a\","
             "\"stableRS\":\"b\",\"blueGreen\":{\"activeSelector\":\"a\"}}",
             1, "Progressing", "waiting for post-promotion verification to complete");
    phase_is(ro,
             "{\"updatedReplicas\":5,\"availableReplicas\":5,\"replicas\":5,"
             "\"currentPodHash\":\"a\",\"stableRS\":\"a\"}",
             0, "Healthy", "");
    phase_is(ro,
             "{\"conditions\":[{\"type\":\"InvalidSpec\",\"status\":\"True\",\"message\":\"x\"}]}",
             0, "Degraded", "InvalidSpec: x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replica_table),  cmocka_unit_test(test_replica_edges),
        cmocka_unit_test(test_surge_defaults), cmocka_unit_test(test_weight),
        cmocka_unit_test(test_phase),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
