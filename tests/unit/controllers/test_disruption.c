/* The disruption controller against an in-process API: PDB status for int and percent
 * minAvailable and maxUnavailable (expectedPods from the pods' controllers), and the eviction
 * hook's decisions (delete, 429 with the DisruptionBudget cause, 500 for two budgets). */
#include "harness.h"

#include "api/api-int.h"

static void mkpod(struct h *h, const char *name, const char *owner_json, int ready)
{
    char *t = xasprintf(
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"web\"}%s%s},"
        "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}",
        name, owner_json ? ",\"ownerReferences\":" : "", owner_json ? owner_json : "");
    char *st = xasprintf("{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
                         "\"status\":\"%s\"}]}}",
                         ready ? "True" : "False");

    h_create(h, RES_POD, "default", t);
    h_patch(h, RES_POD, "default", name, 1, st);
    free(t);
    free(st);
}

static void mkpdb(struct h *h, const char *name, const char *knob)
{
    char *t =
        xasprintf("{\"metadata\":{\"name\":\"%s\"},\"spec\":{%s,\"selector\":{\"matchLabels\":"
                  "{\"app\":\"web\"}}}}",
                  name, knob);

    h_create(h, RES_PDB, "default", t);
    free(t);
}

static void assert_status(struct h *h, const char *pdb, long long expected, long long desired,
                          long long current, long long allowed)
{
    json_t *p = h_get(h, RES_PDB, "default", pdb);

    assert_non_null(p);
    assert_int_equal(jx_int(p, "status.expectedPods", -1), expected);
    assert_int_equal(jx_int(p, "status.desiredHealthy", -1), desired);
    assert_int_equal(jx_int(p, "status.currentHealthy", -1), current);
    assert_int_equal(jx_int(p, "status.disruptionsAllowed", -1), allowed);
    assert_int_equal(jx_int(p, "status.observedGeneration", -1),
                     jx_int(p, "metadata.generation", 0));
}

static void test_min_available_int(void **state)
{
    struct h *h = h_new();
    json_t *cond;

    h_start(h, ctrl_disruption_start(h->kc));
    mkpod(h, "a", NULL, 1);
    mkpod(h, "b", NULL, 1);
    mkpod(h, "c", NULL, 0);
    mkpdb(h, "p", "\"minAvailable\":1");
    h_run(h, 50);
    assert_status(h, "p", 3, 1, 2, 1);
    cond = json_array_get(jx_get(h_get(h, RES_PDB, "default", "p"), "status.conditions"), 0);
    assert_string_equal(jx_str(cond, "type"), "DisruptionAllowed");
    assert_string_equal(jx_str(cond, "status"), "True");
    assert_string_equal(jx_str(cond, "reason"), "SufficientPods");

    /* A terminating pod is not healthy. */
    assert_int_equal(h_delete(h, RES_POD, "default", "a", 30, NULL), 0);
    h_run(h, 50);
    assert_status(h, "p", 3, 1, 1, 0);
    cond = json_array_get(jx_get(h_get(h, RES_PDB, "default", "p"), "status.conditions"), 0);
    assert_string_equal(jx_str(cond, "status"), "False");
    assert_string_equal(jx_str(cond, "reason"), "InsufficientPods");
    h_free(h);
}

/* Deployment d (replicas 4) -> ReplicaSet rs -> pods; 3 pods exist, all ready. */
static void mkworkload(struct h *h)
{
    json_t *d, *rs;
    char *ref;

    d = h_create(
        h, RES_DEPLOYMENT, "default",
        "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":4,\"selector\":{\"matchLabels\":"
        "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
        "{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}}}");
    ref = xasprintf(
        "[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"d\",\"uid\":\"%s\","
        "\"controller\":true}]",
        jx_str(d, "metadata.uid"));
    rs = json_loads(
        "{\"metadata\":{\"name\":\"rs\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"
        "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
        "{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}}}",
        0, NULL);
    jx_set(rs, "metadata.ownerReferences", json_loads(ref, 0, NULL));
    free(ref);
    {
        char *t = json_dumps(rs, 0);

        rs = (json_decref(rs), h_create(h, RES_REPLICASET, "default", t));
        free(t);
    }
    ref = xasprintf(
        "[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"%s\","
        "\"controller\":true}]",
        jx_str(rs, "metadata.uid"));
    mkpod(h, "a", ref, 1);
    mkpod(h, "b", ref, 1);
    mkpod(h, "c", ref, 1);
    free(ref);
}

static void test_scale_based(void **state)
{
    struct h *h = h_new();

    h_start(h, ctrl_disruption_start(h->kc));
    mkworkload(h);
    mkpdb(h, "pct", "\"minAvailable\":\"50%\"");
    h_run(h, 50);
    /* expected from the Deployment (4), 50% of 4 rounds up to 2. */
    assert_status(h, "pct", 4, 2, 3, 1);
    assert_int_equal(h_delete(h, RES_PDB, "default", "pct", -1, NULL), 0);
    mkpdb(h, "max", "\"maxUnavailable\":\"30%\"");
    h_run(h, 50);
    /* maxUnavailable 30% of 4 rounds up to 2: desired 2. */
    assert_status(h, "max", 4, 2, 3, 1);
    h_patch(h, RES_DEPLOYMENT, "default", "d", 0, "{\"spec\":{\"replicas\":10}}");
    h_run(h, 50);
    assert_status(h, "max", 10, 7, 3, 0);
    h_free(h);
}

static int evict(struct h *h, const char *pod, int dry, struct err *err)
{
    json_t *ev =
        json_pack("{s:s,s:s,s:{s:s},s:{s:i}}", "apiVersion", "policy/v1", "kind", "Eviction",
                  "metadata", "name", pod, "deleteOptions", "gracePeriodSeconds", 0);
    json_t *p = json_incref(h_get(h, RES_POD, "default", pod));
    int rc;

    rc = ctrl_disruption_evict(h->ctl[0], p, ev, dry, err);
    json_decref(p);
    json_decref(ev);
    return rc;
}

static void test_eviction(void **state)
{
    struct h *h = h_new();
    struct err err;

    err_init(&err);
    h_start(h, ctrl_disruption_start(h->kc));
    mkpod(h, "a", NULL, 1);
    mkpod(h, "b", NULL, 1);
    mkpod(h, "c", NULL, 0);
    mkpdb(h, "p", "\"minAvailable\":1");
    /* Evicting before the first sync: the hook computes the budget itself. */
    assert_int_equal(evict(h, "a", 1, &err), 0);
    assert_non_null(h_get(h, RES_POD, "default", "a"));
    assert_int_equal(evict(h, "a", 0, &err), 0);
    assert_null(h_get(h, RES_POD, "default", "a"));
    /* The budget is charged at once: b cannot go. */
    assert_int_equal(jx_int(h_get(h, RES_PDB, "default", "p"), "status.disruptionsAllowed", -1), 0);
    h_run(h, 50);
    assert_status(h, "p", 2, 1, 1, 0);
    assert_int_equal(evict(h, "b", 0, &err), -E_TOO_MANY);
    assert_string_equal(err.msg,
                        "Cannot evict pod as it would violate the pod's disruption budget.");
    assert_int_equal(json_array_size(err.causes), 1);
    assert_string_equal(jx_str(json_array_get(err.causes, 0), "reason"), "DisruptionBudget");
    assert_string_equal(jx_str(json_array_get(err.causes, 0), "message"),
                        "The disruption budget p needs 1 healthy pods and has 1 currently");
    assert_non_null(h_get(h, RES_POD, "default", "b"));
    err_release(&err);
    err_init(&err);
    /* An unready pod goes while the budget is healthy (current 1 >= desired 1 > 0). */
    h_run(h, 50);
    assert_int_equal(evict(h, "c", 0, &err), 0);
    assert_null(h_get(h, RES_POD, "default", "c"));
    /* Two budgets: 500. */
    mkpdb(h, "q", "\"maxUnavailable\":1");
    h_run(h, 50);
    assert_int_equal(evict(h, "b", 0, &err), -E_INTERNAL);
    assert_string_equal(err.msg, "This pod has more than one PodDisruptionBudget, which the "
                                 "eviction subresource does not support.");
    err_release(&err);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_available_int),
        cmocka_unit_test(test_scale_based),
        cmocka_unit_test(test_eviction),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
