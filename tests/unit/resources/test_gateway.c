/* The Gateway API kinds' defaults and rules (resources/gateway.c) and a Rollout's
 * trafficRouting rules (resources/rollout.c), as field causes. */
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

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);

    if (!v)
        fail_msg("fixture JSON: %s at line %d", je.text, je.line);
    return v;
}

/* True when err holds a cause with exactly this field and message. */
static int has_cause(const struct err *e, const char *field, const char *msg)
{
    size_t i;
    json_t *c;

    json_array_foreach(e->causes, i, c)
    {
        const char *f = jx_str(c, "field"), *m = jx_str(c, "message");

        if (f && m && !strcmp(f, field) && !strcmp(m, msg))
            return 1;
    }
    return 0;
}

static void dump_causes(const struct err *e)
{
    char *s = e->causes ? json_dumps(e->causes, JSON_INDENT(1)) : NULL;

    fprintf(stderr, "causes: %s\n", s ? s : "(none)");
    free(s);
}

#define ASSERT_CAUSE(e, field, msg)                                                                \
    do {                                                                                           \
        if (!has_cause(e, field, msg)) {                                                           \
            dump_causes(e);                                                                        \
            fail_msg("missing cause %s: %s", field, msg);                                          \
        }                                                                                          \
    } while (0)

/* The Rollout's rules (resources/rollout.c) with Argo's messages as field causes. */
static int rollout_check(const char *strategy, struct err *e)
{
    char *text = xasprintf(
        "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Rollout\",\"metadata\":{\"name\":"
        "\"demo\",\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
        "\"demo\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"demo\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"app\",\"image\":\"a\"}]}},\"strategy\":%s}}",
        strategy);
    json_t *ro = parse(text);
    int rc;

    free(text);
    res_default(res_kind_find("argoproj.io", "Rollout"), ro);
    assert_int_equal(jx_int(ro, "spec.replicas", 0), 1);
    rc = res_validate(res_kind_find("argoproj.io", "Rollout"), ro, NULL, e);
    json_decref(ro);
    return rc;
}

/* Gateway API kinds (resources/gateway.c): the CRDs' defaults and rules. */
static int gw_check(const char *kind, const char *spec, struct err *e, json_t **out)
{
    char *text = xasprintf("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"%s\","
                           "\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"},\"spec\":%s}",
                           kind, spec);
    json_t *o = parse(text);
    int rc;

    free(text);
    res_default(res_kind_find("gateway.networking.k8s.io", kind), o);
    rc = res_validate(res_kind_find("gateway.networking.k8s.io", kind), o, NULL, e);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static void test_gateway_rules(void **state)
{
    struct err e;
    json_t *o;

    (void)state;
    err_init(&e);
    assert_int_equal(gw_check("HTTPRoute",
                              "{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{"
                              "\"backendRefs\":[{\"name\":\"a\",\"port\":80}]}]}",
                              &e, &o),
                     0);
    assert_string_equal(jx_str(json_array_get(jx_get(o, "spec.parentRefs"), 0), "kind"), "Gateway");
    {
        json_t *r = json_array_get(jx_get(o, "spec.rules"), 0);
        json_t *m = json_array_get(json_object_get(r, "matches"), 0);
        json_t *b = json_array_get(json_object_get(r, "backendRefs"), 0);

        assert_string_equal(jx_str(m, "path.type"), "PathPrefix");
        assert_string_equal(jx_str(m, "path.value"), "/");
        assert_int_equal(jx_int(b, "weight", 0), 1);
        assert_string_equal(jx_str(b, "kind"), "Service");
    }
    json_decref(o);
    assert_int_equal(gw_check("HTTPRoute",
                              "{\"rules\":[{\"matches\":[{\"path\":{\"type\":\"RegularExpression\","
                              "\"value\":\"/a\"},\"headers\":[{\"name\":\"h\",\"value\":\"v\"},"
                              "{\"name\":\"H\",\"value\":\"w\"}]}],\"backendRefs\":[{\"name\":"
                              "\"a\",\"port\":80,\"weight\":-1}]}]}",
                              &e, NULL),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.rules[0].matches[0].path.type",
                 "Forbidden: kroll's proxy supports Exact and PathPrefix paths only");
    ASSERT_CAUSE(&e, "spec.rules[0].matches[0].headers[1].name", "Duplicate value: \"H\"");
    ASSERT_CAUSE(&e, "spec.rules[0].backendRefs[0].weight",
                 "Invalid value: -1: should be between 0 and 1000000 (inclusive)");
    err_release(&e);
    assert_int_equal(
        gw_check("Gateway", "{\"gatewayClassName\":\"kroll\",\"listeners\":[]}", &e, NULL),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.listeners", "Required value");
    err_release(&e);
    assert_int_equal(gw_check("Gateway",
                              "{\"gatewayClassName\":\"kroll\",\"listeners\":[{\"name\":\"web\","
                              "\"port\":80,\"protocol\":\"HTTP\"}]}",
                              &e, &o),
                     0);
    assert_string_equal(
        jx_str(json_array_get(jx_get(o, "spec.listeners"), 0), "allowedRoutes.namespaces.from"),
        "Same");
    json_decref(o);
}

static void test_rollout_traffic_rules(void **state)
{
    struct err e;

    (void)state;
    err_init(&e);
    assert_int_equal(
        rollout_check(
            "{\"canary\":{\"canaryService\":\"c\",\"stableService\":\"s\","
            "\"trafficRouting\":{\"plugins\":{\"argoproj-labs/gatewayAPI\":{"
            "\"httpRoute\":\"r\"}},\"managedRoutes\":[{\"name\":\"t\"}]},\"steps\":["
            "{\"setWeight\":20},{\"setCanaryScale\":{\"replicas\":2}},{\"setHeaderRoute\":"
            "{\"name\":\"t\",\"match\":[{\"headerName\":\"h\",\"headerValue\":{\"exact\":"
            "\"1\"}}]}}]}}",
            &e),
        0);
    assert_int_equal(
        rollout_check("{\"canary\":{\"trafficRouting\":{\"nginx\":{},\"plugins\":{\"x/y\":{}}},"
                      "\"steps\":[{\"setHeaderRoute\":{\"name\":\"t\"}}]}}",
                      &e),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.canary.trafficRouting.nginx",
                 "Forbidden: kroll routes traffic through the Gateway API: use "
                 "trafficRouting.plugins argoproj-labs/gatewayAPI with an HTTPRoute");
    ASSERT_CAUSE(&e, "spec.strategy.canary.trafficRouting.plugins.x/y",
                 "Forbidden: kroll implements the plugin argoproj-labs/gatewayAPI only");
    ASSERT_CAUSE(&e, "spec.strategy.canary.steps[0].setHeaderRoute.name",
                 "Invalid value: \"t\": SetHeaderRoute has an invalid name; it must be one of the "
                 "trafficRouting.managedRoutes");
    err_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_rules),
        cmocka_unit_test(test_rollout_traffic_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
