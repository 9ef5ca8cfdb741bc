/* The Rollout's workloadRef, rollbackWindow and analysis history rules (resources/rollout.c):
 * a Deployment reference replaces the template and selector, anything beside or instead of it
 * is refused with Argo's words as field causes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/jx.h"
#include "core/log.h"
#include "resources/resources.h"

/* Validates a Rollout whose spec is {"strategy":{"canary":{}}, spec...}; 0 or -E_INVALID. */
static int check(const char *spec, struct err *e)
{
    char *text = xasprintf("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Rollout\","
                           "\"metadata\":{\"name\":\"ro\",\"namespace\":\"default\"},"
                           "\"spec\":{\"strategy\":{\"canary\":{}}%s}}",
                           spec);
    json_error_t je;
    json_t *ro = json_loads(text, 0, &je);
    int rc;

    free(text);
    if (!ro)
        fail_msg("fixture JSON: %s", je.text);
    err_init(e);
    res_default(res_kind_find("argoproj.io", "Rollout"), ro);
    rc = res_validate(res_kind_find("argoproj.io", "Rollout"), ro, NULL, e);
    json_decref(ro);
    return rc;
}

static int has(const struct err *e, const char *field, const char *prefix)
{
    size_t i;
    json_t *c;

    json_array_foreach(e->causes, i, c)
    {
        const char *f = jx_str(c, "field"), *m = jx_str(c, "message");

        if (f && m && !strcmp(f, field) && !strncmp(m, prefix, strlen(prefix)))
            return 1;
    }
    return 0;
}

#define WR(extra)                                                                                  \
    ",\"workloadRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"" extra  \
    "}"

static void test_workload_ref(void **state)
{
    struct err e;

    (void)state;
    assert_int_equal(check(WR(""), &e), 0);
    err_release(&e);
    assert_int_equal(check(WR(",\"scaleDown\":\"progressively\""), &e), 0);
    err_release(&e);
    assert_int_equal(check(WR(",\"scaleDown\":\"sometimes\""), &e), -E_INVALID);
    assert_true(has(&e, "spec.workloadRef.scaleDown", "Unsupported value: \"sometimes\""));
    err_release(&e);
    assert_int_equal(
        check(WR("") ",\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", &e),
        -E_INVALID);
    assert_true(has(&e, "spec.template",
                    "Internal error: template must be empty for workload reference rollout"));
    err_release(&e);
    assert_int_equal(check(",\"workloadRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\","
                           "\"name\":\"web\"}",
                           &e),
                     -E_INVALID);
    assert_true(has(&e, "spec.workloadRef", "Forbidden: kroll takes the pod template"));
    err_release(&e);
    assert_int_equal(
        check(",\"workloadRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}", &e),
        -E_INVALID);
    assert_true(has(&e, "spec.workloadRef.name", "Required value"));
    err_release(&e);
    /* Without workloadRef the selector and template are required as before. */
    assert_int_equal(check("", &e), -E_INVALID);
    assert_true(has(&e, "spec.selector", "Required value"));
    err_release(&e);
}

static void test_history_fields(void **state)
{
    struct err e;

    (void)state;
    assert_int_equal(
        check(WR("") ",\"rollbackWindow\":{\"revisions\":2},\"analysis\":{"
                     "\"successfulRunHistoryLimit\":1,\"unsuccessfulRunHistoryLimit\":0}",
              &e),
        0);
    err_release(&e);
    assert_int_equal(check(WR("") ",\"rollbackWindow\":{\"revisions\":-1},\"analysis\":{"
                                  "\"successfulRunHistoryLimit\":-2}",
                           &e),
                     -E_INVALID);
    assert_true(has(&e, "spec.rollbackWindow.revisions", "Invalid value: -1"));
    assert_true(has(&e, "spec.analysis.successfulRunHistoryLimit", "Invalid value: -2"));
    err_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workload_ref),
        cmocka_unit_test(test_history_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
