/* HorizontalPodAutoscaler data rules (resources/hpa.c, hpa_v1.c): v2 defaults (minReplicas,
 * the cpu 80% metric, behavior filled only when present), upstream's validation causes, and
 * the autoscaling/v1 conversion (targetCPUUtilizationPercentage, round-trip annotations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/jx.h"
#include "resources/resources.h"

static json_t *J(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);

    if (!v)
        fail_msg("fixture JSON: %s", je.text);
    return v;
}

/* The causes of validating spec (after defaults) as "field: message" lines joined by " | ". */
static char *causes_of(const char *spec)
{
    char buf[2048];
    json_t *o, *c;
    struct err e;
    size_t i, off = 0;

    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
             "\"metadata\":{\"name\":\"h\",\"namespace\":\"default\"},\"spec\":%s}",
             spec);
    o = J(buf);
    err_init(&e);
    res_default(&res_kind_hpa, o);
    res_validate(&res_kind_hpa, o, NULL, &e);
    buf[0] = 0;
    json_array_foreach(e.causes, i, c) off +=
        (size_t)snprintf(buf + off, sizeof buf - off, "%s%s: %s", i ? " | " : "",
                         jx_str(c, "field"), jx_str(c, "message"));
    err_release(&e);
    json_decref(o);
    return strdup(buf);
}

#define REF "\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"w\"}"
#define ASSERT_CAUSES(spec, want)                                                                  \
    do {                                                                                           \
        char *got_ = causes_of(spec);                                                              \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_defaults(void **state)
{
    json_t *o = J("{\"spec\":{" REF ",\"maxReplicas\":3}}");
    json_t *b = J("{\"spec\":{" REF ",\"maxReplicas\":3,\"behavior\":{\"scaleDown\":{"
                  "\"stabilizationWindowSeconds\":15}}}}");

    res_default(&res_kind_hpa, o);
    assert_int_equal(jx_int(o, "spec.minReplicas", 0), 1);
    assert_string_equal(jx_str(json_array_get(jx_get(o, "spec.metrics"), 0), "resource.name"),
                        "cpu");
    assert_int_equal(jx_int(json_array_get(jx_get(o, "spec.metrics"), 0),
                            "resource.target.averageUtilization", 0),
                     80);
    assert_null(jx_get(o, "spec.behavior"));
    res_default(&res_kind_hpa, b);
    assert_int_equal(jx_int(b, "spec.behavior.scaleUp.stabilizationWindowSeconds", -1), 0);
    assert_int_equal(json_array_size(jx_get(b, "spec.behavior.scaleUp.policies")), 2);
    assert_int_equal(jx_int(b, "spec.behavior.scaleDown.stabilizationWindowSeconds", -1), 15);
    assert_string_equal(jx_str(b, "spec.behavior.scaleDown.selectPolicy"), "Max");
    json_decref(o);
    json_decref(b);
}

static void test_validation(void **state)
{
    ASSERT_CAUSES("{" REF ",\"maxReplicas\":3}", "");
    ASSERT_CAUSES("{" REF ",\"minReplicas\":4,\"maxReplicas\":3}",
                  "spec.maxReplicas: Invalid value: 3: must be greater than or equal to "
                  "`minReplicas`");
    ASSERT_CAUSES("{\"scaleTargetRef\":{\"kind\":\"a/b\",\"name\":\"\"},\"maxReplicas\":3}",
                  "spec.scaleTargetRef.kind: Invalid value: \"a/b\": may not contain '/' | "
                  "spec.scaleTargetRef.name: Required value");
    ASSERT_CAUSES("{" REF ",\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\"}]}",
                  "spec.metrics[0].resource: Required value: must populate information for the "
                  "given metric source");
    ASSERT_CAUSES("{" REF ",\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{"
                  "\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\"}},\"pods\":{}}]}",
                  "spec.metrics[0].resource.target.averageUtilization: Required value: must set "
                  "either a target raw value or a target utilization | spec.metrics[0].pods: "
                  "Forbidden: must populate the given metric source only");
    ASSERT_CAUSES("{" REF ",\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":{"
                  "\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":"
                  "0}}}]}",
                  "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be "
                  "greater than 0");
    ASSERT_CAUSES("{" REF ",\"maxReplicas\":3,\"behavior\":{\"scaleDown\":{\"selectPolicy\":"
                  "\"Fast\",\"stabilizationWindowSeconds\":4000,\"policies\":[]}}}",
                  "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must "
                  "be less than or equal to 3600 | spec.behavior.scaleDown.selectPolicy: "
                  "Unsupported value: \"Fast\": supported values: \"Max\", \"Min\", \"Disabled\" | "
                  "spec.behavior.scaleDown.policies: Required value: must specify at least one "
                  "Policy");
}

static void test_v1_conversion(void **state)
{
    json_t *v2 = J("{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                   "\"metadata\":{\"name\":\"h\"},\"spec\":{" REF ",\"minReplicas\":1,"
                   "\"maxReplicas\":3,\"metrics\":[{\"type\":\"Pods\",\"pods\":{\"metric\":{"
                   "\"name\":\"rps\"},\"target\":{\"type\":\"AverageValue\",\"averageValue\":"
                   "\"10\"}}},{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{"
                   "\"type\":\"Utilization\",\"averageUtilization\":50}}}]},\"status\":{"
                   "\"currentReplicas\":2,\"desiredReplicas\":2,\"currentMetrics\":[{\"type\":"
                   "\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":{"
                   "\"averageUtilization\":40,\"averageValue\":\"40m\"}}}]}}");
    json_t *v1 = res_hpa_to_v1(v2), *back;

    assert_string_equal(jx_str(v1, "apiVersion"), "autoscaling/v1");
    assert_int_equal(jx_int(v1, "spec.targetCPUUtilizationPercentage", 0), 50);
    assert_null(jx_get(v1, "spec.metrics"));
    assert_int_equal(jx_int(v1, "status.currentCPUUtilizationPercentage", 0), 40);
    assert_string_equal(
        json_string_value(json_object_get(jx_get(v1, "metadata.annotations"),
                                          "autoscaling.alpha.kubernetes.io/metrics")),
        "[{\"type\":\"Pods\",\"pods\":{\"metricName\":\"rps\","
        "\"targetAverageValue\":\"10\"}}]");
    back = res_hpa_from_v1(v1);
    assert_string_equal(jx_str(back, "apiVersion"), "autoscaling/v2");
    assert_null(jx_get(back, "metadata.annotations"));
    assert_true(json_equal(jx_get(back, "spec"), jx_get(v2, "spec")));
    assert_true(
        json_equal(jx_get(back, "status.currentMetrics"), jx_get(v2, "status.currentMetrics")));
    json_decref(v1);
    json_decref(v2);
    json_decref(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_v1_conversion),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
