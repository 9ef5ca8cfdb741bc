/* The kind table: every served resource has a complete kind_ops entry (data rules, printer,
 * merge keys), and the deletion rules that moved from verbs.c into the kinds' entries (pods'
 * graceful deletion, protected namespaces, Terminating, finalization) behave as kubectl users
 * see them on a cluster. */
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
#include "api/table.h"
#include "core/jx.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        fail_msg("bad test JSON: %s: %s", text, e.text);
    return v;
}

/* Every row of resources.def has schema and rules, a printer whose cells match its columns,
 * and strategic-merge metadata (every built-in kind accepts a strategic merge patch; the
 * argoproj.io and Gateway API kinds are custom resources on a cluster, which refuse it). */
static void test_every_kind_complete(void **state)
{
    (void)state;
    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = scheme_resource((enum res_id)i);
        const struct kind_ops *k = api_kind((enum res_id)i);
        json_t *empty = json_object(), *cells, *cols;
        int custom = !strcmp(r->group, "argoproj.io") ||
                     !strcmp(r->group, "gateway.networking.k8s.io"); /* CRDs on a cluster */

        assert_non_null(k);
        assert_ptr_equal(api_kind_of(r), k);
        if (!k->res || (!k->merge && !custom) || !k->cells || !k->cols)
            fail_msg("%s: kind_ops entry lacks res, merge or a printer", r->kind);
        cells = table_cells(k, empty, 0);
        cols = table_columns(k);
        assert_int_equal(json_array_size(cells), json_array_size(cols));
        json_decref(cells);
        json_decref(cols);
        json_decref(empty);
    }
    assert_null(api_kind_of(NULL));
}

/* Selectable fields are the kind's: spec.nodeName for pods only. */
static void test_field_selectors(void **state)
{
    struct fieldsel *fs = NULL;
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(fieldsel_parse("spec.nodeName=n1", &fs, &err), 0);
    assert_int_equal(fieldsel_check(fs, api_kind(RES_POD)->field_selectors, &err), 0);
    assert_int_equal(fieldsel_check(fs, api_kind(RES_CONFIGMAP)->field_selectors, &err),
                     -E_BAD_REQUEST);
    assert_string_equal(err.msg, "field label not supported: spec.nodeName");
    fieldsel_free(fs);
    err_release(&err);
}

static void test_namespace_delete(void **state)
{
    const struct kind_ops *k = api_kind(RES_NAMESPACE);
    json_t *ns = J("{\"metadata\":{\"name\":\"team-a\"},\"spec\":{\"finalizers\":[\"kubernetes\"]},"
                   "\"status\":{\"phase\":\"Active\"}}");
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(k->delete_check("default", &err), -E_FORBIDDEN);
    assert_string_equal(err.msg,
                        "namespaces \"default\" is forbidden: this namespace may not be deleted");
    err_release(&err);
    err_init(&err);
    assert_int_equal(k->delete_check("team-a", &err), 0);
    assert_int_equal(k->delete_mark(ns), 1);
    assert_string_equal(jx_str(ns, "status.phase"), "Terminating");
    /* Held by its spec finalizer until the namespace controller has emptied it. */
    assert_false(k->finalized(ns));
    jx_set(ns, "spec.finalizers", json_array());
    assert_true(k->finalized(ns));
    json_decref(ns);
    err_release(&err);
}

/* Calls the pod's delete_grace on text; returns its result and the grace and remove outputs. */
static int pod_grace(const char *pod, long long wopt, long long *grace, int *remove)
{
    json_t *p = J(pod);
    int rc;

    *grace = -99;
    *remove = 0;
    rc = api_kind(RES_POD)->delete_grace(p, wopt, grace, remove);
    json_decref(p);
    return rc;
}

static void test_pod_delete_grace(void **state)
{
    long long grace;
    int remove;

    (void)state;
    /* A bound, running pod: terminationGracePeriodSeconds, or 30, or the request's grace. */
    assert_int_equal(pod_grace("{\"spec\":{\"nodeName\":\"n\",\"terminationGracePeriodSeconds\":"
                               "5},\"status\":{\"phase\":\"Running\"}}",
                               -1, &grace, &remove),
                     1);
    assert_int_equal(grace, 5);
    assert_int_equal(pod_grace("{\"spec\":{\"nodeName\":\"n\"}}", -1, &grace, &remove), 1);
    assert_int_equal(grace, 30);
    assert_int_equal(pod_grace("{\"spec\":{\"nodeName\":\"n\"}}", 0, &grace, &remove), 0);
    assert_int_equal(grace, 0);
    /* Never scheduled, or finished: nothing to stop, deleted at once. */
    assert_int_equal(pod_grace("{\"spec\":{}}", 10, &grace, &remove), 0);
    assert_int_equal(grace, 0);
    assert_int_equal(pod_grace("{\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":"
                               "\"Succeeded\"}}",
                               -1, &grace, &remove),
                     0);
    /* Already terminating: a longer grace changes nothing, a shorter one shortens it, and
     * grace 0 without finalizers removes the pod now. */
    assert_int_equal(pod_grace("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                               "\"deletionGracePeriodSeconds\":30},\"spec\":{\"nodeName\":\"n\"}}",
                               60, &grace, &remove),
                     -1);
    assert_int_equal(pod_grace("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                               "\"deletionGracePeriodSeconds\":30},\"spec\":{\"nodeName\":\"n\"}}",
                               10, &grace, &remove),
                     1);
    assert_int_equal(grace, 10);
    assert_int_equal(pod_grace("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                               "\"deletionGracePeriodSeconds\":30},\"spec\":{\"nodeName\":\"n\"}}",
                               0, &grace, &remove),
                     0);
    assert_int_equal(remove, 1);
    assert_int_equal(pod_grace("{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                               "\"deletionGracePeriodSeconds\":30,\"finalizers\":[\"x\"]},"
                               "\"spec\":{\"nodeName\":\"n\"}}",
                               0, &grace, &remove),
                     0);
    assert_int_equal(remove, 0); /* finalizers hold it: deletionTimestamp moves to now */
    /* The kubelet, not the last finalizer, ends a pod. */
    assert_false(api_kind(RES_POD)->finalized(NULL));
}

/* Workloads drop status on create; the kinds' flags carry the generation and status rules. */
static void test_create_strategy(void **state)
{
    json_t *d = J("{\"spec\":{},\"status\":{\"replicas\":3}}");
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(api_kind(RES_DEPLOYMENT)->prepare_create(NULL, d, &err), 0);
    assert_null(json_object_get(d, "status"));
    assert_true(api_kind(RES_DEPLOYMENT)->flags & KO_GENERATION_ANNOTATIONS);
    assert_false(api_kind(RES_REPLICASET)->flags & KO_GENERATION_ANNOTATIONS);
    assert_true(api_kind(RES_NAMESPACE)->flags & KO_STATUS_BY_STRATEGY);
    assert_null(api_kind(RES_CONFIGMAP)->prepare_create);
    json_decref(d);
    err_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_complete), cmocka_unit_test(test_field_selectors),
        cmocka_unit_test(test_namespace_delete),    cmocka_unit_test(test_pod_delete_grace),
        cmocka_unit_test(test_create_strategy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
