/* Bearer-token checks (server.c) and path routing (route.c): only the exact token passes,
 * an empty token never does, an empty token file is refused, and hostile paths never parse
 * into a target outside the resource table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api-int.h"

static void test_token(void **state)
{
    struct api api;

    (void)state;
    memset(&api, 0, sizeof api);
    assert_int_equal(api__token_set(&api, "0123456789abcdef\n"), 0);
    assert_string_equal(api.token, "0123456789abcdef");
    assert_true(api__token_ok(&api, "Bearer 0123456789abcdef"));
    assert_false(api__token_ok(&api, "Bearer "));
    assert_false(api__token_ok(&api, "Bearer"));
    assert_false(api__token_ok(&api, NULL));
    assert_false(api__token_ok(&api, "Bearer 0123456789abcde"));   /* prefix */
    assert_false(api__token_ok(&api, "Bearer 0123456789abcdef0")); /* longer */
    assert_false(api__token_ok(&api, "Bearer 0123456789abcdeF"));  /* case */
    assert_false(api__token_ok(&api, "Basic 0123456789abcdef"));
    assert_false(api__token_ok(&api, "bearer 0123456789abcdef"));
    free(api.token);
}

static void test_token_empty(void **state)
{
    struct api api;

    (void)state;
    memset(&api, 0, sizeof api);
    assert_int_equal(api__token_set(&api, ""), -EINVAL);
    assert_int_equal(api__token_set(&api, " \n\r\t"), -EINVAL);
    assert_null(api.token);
    /* No token set: nothing passes, not even an empty one. */
    assert_false(api__token_ok(&api, "Bearer "));
    assert_false(api__token_ok(&api, "Bearer x"));
}

static void test_route(void **state)
{
    struct api_target t;

    (void)state;
    assert_int_equal(api__target_parse("/api/v1/namespaces/default/pods/p/log", &t), 0);
    assert_string_equal(t.r->plural, "pods");
    assert_string_equal(t.ns, "default");
    assert_string_equal(t.name, "p");
    assert_string_equal(t.sub, "log");
    assert_int_equal(api__target_parse("/apis/apps/v1/deployments", &t), 0);
    assert_null(t.name);
    assert_true(api__target_parse("/apis/apps/v2/deployments", &t) < 0);
    assert_true(api__target_parse("/api/v1/a/b/c/d/e/f/g/h/i", &t) < 0);
    assert_true(api__target_parse("/api/v1", &t) < 0);
    assert_true(api__target_parse("", &t) < 0);
    assert_true(api__is_public("/healthz"));
    assert_true(api__is_public("/readyz/ping"));
    assert_false(api__is_public("/healthzx"));
    assert_false(api__is_public("/api/v1/namespaces"));
    /* the dashboard page is served without a token; nothing else under /dashboard is */
    assert_true(api__is_dashboard("/dashboard/"));
    assert_true(api__is_dashboard("/dashboard"));
    assert_false(api__is_dashboard("/dashboard/x"));
    assert_false(api__is_dashboard("/dashboardx"));
    assert_false(api__is_dashboard("/dashboard/../api/v1/pods"));
    assert_true(api__is_discovery("/apis/apps/v1"));
    assert_false(api__is_discovery("/apis/apps/v1/deployments"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_token_empty),
        cmocka_unit_test(test_route),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
