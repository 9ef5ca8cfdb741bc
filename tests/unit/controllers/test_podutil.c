/* Pod-template equality as the Deployment controller uses it to find the new ReplicaSet: the
 * pod-template-hash label, null/empty values and zero omitempty fields do not count (kubectl
 * rollout undo sends templates through Go types); real differences, pointer zeros included, do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>

#include "controllers/podutil.h"

static json_t *j(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);

    assert_non_null(v);
    return v;
}

static void check(const char *a, const char *b, int want)
{
    json_t *x = j(a), *y = j(b);

    assert_int_equal(template_equal(x, y), want);
    assert_int_equal(template_equal(y, x), want);
    json_decref(x);
    json_decref(y);
}

static void test_equal_ignoring_noise(void **state)
{
    check("{\"metadata\":{\"labels\":{\"app\":\"a\",\"pod-template-hash\":\"5d4\"}},"
          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\",\"readinessProbe\":"
          "{\"initialDelaySeconds\":0,\"periodSeconds\":1},\"env\":[{\"name\":\"X\",\"value\":\"\"}],"
          "\"stdin\":false}]}}",
          "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"a\"}},"
          "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\",\"readinessProbe\":"
          "{\"periodSeconds\":1},\"env\":[{\"name\":\"X\"}]}]}}",
          1);
}

static void test_real_differences(void **state)
{
    check("{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\"}]}}",
          "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:2\"}]}}", 0);
    check("{\"spec\":{\"containers\":[{\"name\":\"c\",\"readinessProbe\":{\"periodSeconds\":2}}]}}",
          "{\"spec\":{\"containers\":[{\"name\":\"c\",\"readinessProbe\":{\"periodSeconds\":1}}]}}", 0);
    /* runAsUser is a pointer: 0 (root) differs from unset. */
    check("{\"spec\":{\"securityContext\":{\"runAsUser\":0},\"containers\":[{\"name\":\"c\"}]}}",
          "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}", 0);
    check("{\"metadata\":{\"labels\":{\"app\":\"a\"}}}", "{\"metadata\":{\"labels\":{\"app\":\"b\"}}}", 0);
}

static void test_null_inputs(void **state)
{
    assert_int_equal(template_equal(NULL, NULL), 1);
    {
        json_t *x = j("{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");

        assert_int_equal(template_equal(x, NULL), 0);
        json_decref(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_ignoring_noise),
        cmocka_unit_test(test_real_differences),
        cmocka_unit_test(test_null_inputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
