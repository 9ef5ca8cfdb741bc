/* The planner's simulation core (cli/plan_sim.c): a table of Deployment rolling updates
 * (replicas, maxSurge, maxUnavailable, minReadySeconds -> scale steps and duration, worked by
 * hand from k8s-semantics.md's arithmetic with a pod that is Ready 2 s after creation), a
 * canary Rollout's weights and pauses, and the problems: a surge pod short of nvidia.com/gpu,
 * the surge fallback blocked by a PodDisruptionBudget, and allowed by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/plan.h"

/* A Deployment of R replicas moving from image v1 to v2, its ReplicaSet and R ready pods. */
struct fixture {
    json_t *d, *rss, *pods;
};

static json_t *tmpl(const char *img, long long gpu)
{
    json_t *c = json_pack("{s:s,s:s}", "name", "app", "image", img);

    if (gpu)
        json_object_set_new(c, "resources",
                            json_pack("{s:{s:I}}", "requests", "nvidia.com/gpu", (json_int_t)gpu));
    return json_pack("{s:{s:{s:s}},s:{s:[o]}}", "metadata", "labels", "app", "a", "spec",
                     "containers", c);
}

/* An IntOrString: "25%" stays a string, "1" is the integer 1. */
static json_t *intstr(const char *v)
{
    return strchr(v, '%') ? json_string(v) : json_integer(atoll(v));
}

static void fixture(struct fixture *f, long long R, const char *surge, const char *unav,
                    long long min_ready, long long gpu)
{
    json_t *rs;

    f->d = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:I,s:I,s:{s:s,s:{s:o,s:o}},s:o}}", "apiVersion",
                     "apps/v1", "kind", "Deployment", "metadata", "name", "a", "namespace",
                     "default", "uid", "d1", "spec", "replicas", (json_int_t)R, "minReadySeconds",
                     (json_int_t)min_ready, "strategy", "type", "RollingUpdate", "rollingUpdate",
                     "maxSurge", intstr(surge), "maxUnavailable", intstr(unav), "template",
                     tmpl("v2", gpu));
    rs = json_pack("{s:{s:s,s:s,s:s,s:[{s:s,s:s,s:b}]},s:{s:I,s:o},s:{s:I,s:I}}", "metadata",
                   "name", "a-1", "uid", "rs1", "creationTimestamp", "2026-01-01T00:00:00Z",
                   "ownerReferences", "kind", "Deployment", "uid", "d1", "controller", 1, "spec",
                   "replicas", (json_int_t)R, "template", tmpl("v1", gpu), "status", "replicas",
                   (json_int_t)R, "availableReplicas", (json_int_t)R);
    f->rss = json_pack("[o]", rs);
    f->pods = json_array();
    for (long long i = 0; i < R; i++) {
        char name[32];

        snprintf(name, sizeof name, "a-1-%lld", i);
        json_array_append_new(
            f->pods, json_pack("{s:{s:s,s:s,s:[{s:s,s:s,s:b}]},s:{s:s,s:[{s:s,s:s}]}}", "metadata",
                               "name", name, "namespace", "default", "ownerReferences", "kind",
                               "ReplicaSet", "uid", "rs1", "controller", 1, "status", "phase",
                               "Running", "conditions", "type", "Ready", "status", "True"));
    }
}

static void fixture_release(struct fixture *f)
{
    json_decref(f->d);
    json_decref(f->rss);
    json_decref(f->pods);
}

static void plan_init(struct plan *p, const struct fixture *f, double min_ready)
{
    memset(p, 0, sizeof *p);
    p->obj = f->d;
    p->rss = f->rss;
    p->pods = f->pods;
    p->m = (struct plan_model){
        .start_s = 1, .ready_s = 1, .min_ready_s = min_ready, .term_s = 1, .lag_s = 0};
}

static size_t scale_rows(const struct plan *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->nrows; i++)
        n += !strncmp(p->rows[i].step, "scale ", 6);
    return n;
}

static const char *problem(const struct plan *p, const char *reason)
{
    size_t i;
    json_t *pr;

    json_array_foreach(
        p->problems, i,
        pr) if (!strcmp(json_string_value(json_object_get(pr, "reason")),
                        reason)) return json_string_value(json_object_get(pr, "message"));
    return NULL;
}

struct row {
    long long R;
    const char *surge, *unav;
    long long min_ready;
    size_t steps;
    double duration, min_available;
};

/* A new pod is available start 1 + ready 1 + minReadySeconds after its scale-up. */
static const struct row table[] = {
    /* one at a time: 4 surges, 4 scale-downs, 4 x 4 s */
    {4, "1", "0", 2, 8, 16, 4},
    /* in place: down one, then up one, 4 rounds of 4 s */
    {4, "0", "1", 2, 8, 16, 3},
    /* the defaults (25%: surge 1, unavailable 1): new 1, old 3, new 2; then old 1, new 4;
     * then old 0: 2 rounds of 4 s */
    {4, "25%", "25%", 2, 6, 8, 3},
    /* surge 3 of 10, none unavailable, no minReadySeconds: 3, 6, 9, 10 new; 4 rounds of 2 s */
    {10, "3", "0", 0, 8, 8, 10},
    /* 100% surge: all new at once, all old down once they are available */
    {5, "100%", "0", 0, 2, 2, 5},
};

static void test_deployment_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct row *r = &table[i];
        struct fixture f;
        struct plan p;

        fixture(&f, r->R, r->surge, r->unav, r->min_ready, 0);
        plan_init(&p, &f, (double)r->min_ready);
        assert_int_equal(plan_run(&p), 0);
        if (scale_rows(&p) != r->steps || p.duration != r->duration)
            fail_msg("R=%lld surge %s unavailable %s minReady %lld: %zu steps in %.2f s, want "
                     "%zu in %.2f s",
                     r->R, r->surge, r->unav, r->min_ready, scale_rows(&p), p.duration, r->steps,
                     r->duration);
        for (size_t k = 0; k < p.nrows; k++)
            if (p.rows[k].available < r->min_available)
                fail_msg("row %zu (%s): %lld available, below %g", k, p.rows[k].step,
                         p.rows[k].available, r->min_available);
        assert_int_equal(json_array_size(p.problems), 0);
        plan_release(&p);
        fixture_release(&f);
    }
}

/* One node with 4 GPUs, all held by the 4 current pods: the surge pod cannot be placed. */
static void gpu_cluster(struct fixture *f, struct plan *p)
{
    size_t i;
    json_t *pod;

    p->nodes = json_pack("{s:{s:{s:s},s:{s:{s:s,s:s}}}}", "n1", "metadata", "name", "n1", "status",
                         "allocatable", "nvidia.com/gpu", "4", "pods", "110");
    p->sched_pods = json_object();
    json_array_foreach(f->pods, i, pod)
    {
        json_t *cp = json_deep_copy(pod);
        char key[64];

        json_object_set_new(cp, "spec",
                            json_pack("{s:s,s:[{s:s,s:{s:{s:i}}}]}", "nodeName", "n1", "containers",
                                      "name", "app", "resources", "requests", "nvidia.com/gpu", 1));
        snprintf(key, sizeof key, "default/%s",
                 json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")));
        json_object_set_new(p->sched_pods, key, cp);
    }
}

static void test_gpu_surge(void **state)
{
    struct fixture f;
    struct plan p;
    json_t *pdbs;
    const char *msg;

    (void)state;
    /* No opt-in: reported with the resource named, never completes. */
    fixture(&f, 4, "1", "0", 0, 1);
    plan_init(&p, &f, 0);
    gpu_cluster(&f, &p);
    assert_int_equal(plan_run(&p), 0);
    msg = problem(&p, "InsufficientResource");
    assert_non_null(msg);
    assert_non_null(strstr(msg, "Insufficient nvidia.com/gpu"));
    assert_true(p.duration < 0);
    assert_non_null(problem(&p, "Stalls"));
    json_decref(p.nodes);
    json_decref(p.sched_pods);
    plan_release(&p);

    /* Opted in, a budget allowing no disruption: reported, never completes. */
    json_object_set_new(json_object_get(f.d, "metadata"), "annotations",
                        json_pack("{s:s}", "kroll.dev/surge-fallback", "true"));
    pdbs = json_pack("[{s:{s:s,s:s},s:{s:{s:{s:s}}},s:{s:i}}]", "metadata", "name", "a-pdb",
                     "namespace", "default", "spec", "selector", "matchLabels", "app", "a",
                     "status", "disruptionsAllowed", 0);
    plan_init(&p, &f, 0);
    gpu_cluster(&f, &p);
    p.pdbs = pdbs;
    assert_int_equal(plan_run(&p), 0);
    msg = problem(&p, "DisruptionBudget");
    assert_non_null(msg);
    assert_non_null(strstr(msg, "a-pdb"));
    assert_true(p.duration < 0);
    json_decref(p.nodes);
    json_decref(p.sched_pods);
    plan_release(&p);

    /* The budget allows one: one pod at a time (maxSurge 0, maxUnavailable 1), completes. */
    json_object_set_new(json_object_get(json_array_get(pdbs, 0), "status"), "disruptionsAllowed",
                        json_integer(1));
    plan_init(&p, &f, 0);
    gpu_cluster(&f, &p);
    p.pdbs = pdbs;
    assert_int_equal(plan_run(&p), 0);
    assert_non_null(problem(&p, "SurgeFallback"));
    assert_true(p.duration > 0);
    for (size_t k = 0; k < p.nrows; k++)
        assert_true(p.rows[k].new_desired + p.rows[k].old_desired <= 5);
    json_decref(p.nodes);
    json_decref(p.sched_pods);
    plan_release(&p);
    json_decref(pdbs);
    fixture_release(&f);
}

static void test_canary(void **state)
{
    struct fixture f;
    struct plan p;
    int saw20 = 0, saw50 = 0;

    (void)state;
    fixture(&f, 5, "1", "0", 0, 0);
    json_object_set_new(f.d, "kind", json_string("Rollout"));
    /* The current ReplicaSet is the stable one (status.stableRS, its hash label). */
    json_object_set_new(f.d, "status", json_pack("{s:s}", "stableRS", "h1"));
    json_object_set_new(json_object_get(json_array_get(f.rss, 0), "metadata"), "labels",
                        json_pack("{s:s}", "rollouts-pod-template-hash", "h1"));
    json_object_set_new(json_object_get(f.d, "spec"), "strategy",
                        json_pack("{s:{s:[{s:i},{s:{s:s}},{s:i},{s:{}}]}}", "canary", "steps",
                                  "setWeight", 20, "pause", "duration", "5s", "setWeight", 50,
                                  "pause"));
    plan_init(&p, &f, 0);
    p.rollout = 1;
    assert_int_equal(plan_run(&p), 0);
    for (size_t k = 0; k < p.nrows; k++) {
        saw20 |= p.rows[k].weight == 20 && p.rows[k].new_desired == 1;
        saw50 |= p.rows[k].weight == 50 && p.rows[k].new_desired == 3;
    }
    assert_true(saw20); /* setWeight 20 of 5: canary 1 (argo_canary_counts) */
    assert_true(saw50); /* setWeight 50 of 5: canary 3 */
    assert_int_equal(p.promote_waits, 1);
    assert_non_null(problem(&p, "PauseWithoutDuration"));
    assert_true(p.waits > 5.1 && p.waits < 5.3);
    /* Three rounds of 2 s to reach 1, 3 and 5 canary pods at least, plus the 5 s pause. */
    assert_true(p.duration >= 11);
    plan_release(&p);
    fixture_release(&f);
}

/* With Argo's Gateway API plugin the canary is sized ceil(w x R / 100) beside a full stable,
 * and the previous stable stays up after completion (scaleDownDelaySeconds). */
static void test_canary_routed(void **state)
{
    struct fixture f;
    struct plan p;
    int saw = 0;

    (void)state;
    fixture(&f, 4, "1", "0", 0, 0);
    json_object_set_new(f.d, "kind", json_string("Rollout"));
    json_object_set_new(f.d, "status", json_pack("{s:s}", "stableRS", "h1"));
    json_object_set_new(json_object_get(json_array_get(f.rss, 0), "metadata"), "labels",
                        json_pack("{s:s}", "rollouts-pod-template-hash", "h1"));
    json_object_set_new(json_object_get(f.d, "spec"), "strategy",
                        json_pack("{s:{s:[{s:i}],s:{s:{s:{s:s}}}}}", "canary", "steps", "setWeight",
                                  30, "trafficRouting", "plugins", "argoproj-labs/gatewayAPI",
                                  "httpRoute", "r"));
    plan_init(&p, &f, 0);
    p.rollout = 1;
    assert_int_equal(plan_run(&p), 0);
    for (size_t k = 0; k < p.nrows; k++)
        saw |= !strncmp(p.rows[k].step, "step 1/1", 8) && p.rows[k].new_desired == 2 &&
               p.rows[k].old_desired == 4;
    assert_true(saw); /* ceil(30 x 4 / 100) = 2 canary pods, 4 stable */
    assert_non_null(strstr(p.rows[p.nrows - 2].step, "scaleDownDelaySeconds 30"));
    assert_true(p.duration > 0);
    plan_release(&p);
    fixture_release(&f);
}

/* Blue-green: 2 preview pods, autoPromotionSeconds 10, then the other 2, the switch, and the old
 * ReplicaSet 30 s later (scaleDownDelaySeconds' default). */
static void test_bluegreen(void **state)
{
    struct fixture f;
    struct plan p;

    (void)state;
    fixture(&f, 4, "1", "0", 0, 0);
    json_object_set_new(f.d, "kind", json_string("Rollout"));
    json_object_set_new(f.d, "status", json_pack("{s:s}", "stableRS", "h1"));
    json_object_set_new(json_object_get(json_array_get(f.rss, 0), "metadata"), "labels",
                        json_pack("{s:s}", "rollouts-pod-template-hash", "h1"));
    json_object_set_new(json_object_get(f.d, "spec"), "strategy",
                        json_pack("{s:{s:s,s:i,s:i}}", "blueGreen", "activeService", "a",
                                  "previewReplicaCount", 2, "autoPromotionSeconds", 10));
    plan_init(&p, &f, 0);
    p.rollout = 1;
    assert_int_equal(plan_run(&p), 0);
    /* 2 s for the preview pods, 10.2 s of auto-promotion, 2 s for the rest: the switch. */
    assert_true(p.switch_t > 14.1 && p.switch_t < 14.3);
    assert_true(p.duration > 44.1 && p.duration < 44.3);
    for (size_t k = 0; k < p.nrows; k++)
        assert_true(p.rows[k].old_desired == 4 || p.rows[k].t > p.duration - 0.01);
    plan_release(&p);
    fixture_release(&f);
}

/* Recreate: the 3 old pods go (1 s of termination), then 3 new ones (2 s to Ready). */
static void test_recreate(void **state)
{
    struct fixture f;
    struct plan p;

    (void)state;
    fixture(&f, 3, "1", "0", 0, 0);
    json_object_set_new(json_object_get(f.d, "spec"), "strategy",
                        json_pack("{s:s}", "type", "Recreate"));
    plan_init(&p, &f, 0);
    assert_int_equal(plan_run(&p), 0);
    assert_true(p.duration > 2.99 && p.duration < 3.01);
    for (size_t k = 0; k < p.nrows; k++)
        assert_true(p.rows[k].new_desired == 0 || p.rows[k].old_desired == 0);
    plan_release(&p);
    fixture_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deployment_table), cmocka_unit_test(test_gpu_surge),
        cmocka_unit_test(test_canary),           cmocka_unit_test(test_canary_routed),
        cmocka_unit_test(test_bluegreen),        cmocka_unit_test(test_recreate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
