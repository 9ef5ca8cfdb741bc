/* Defaults, validation texts and strict unknown-field checks of src/resources, compared with
 * what a real Kubernetes 1.32 API server stores and answers. */
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

static const char *tutorial_deploy =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    "\"metadata\":{\"name\":\"model-serving\",\"namespace\":\"default\"},"
    "\"spec\":{\"replicas\":4,\"revisionHistoryLimit\":10,"
    "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1,"
    "\"maxUnavailable\":0}},\"minReadySeconds\":20,"
    "\"selector\":{\"matchLabels\":{\"app\":\"model-serving\"}},"
    "\"template\":{\"metadata\":{\"creationTimestamp\":null,"
    "\"labels\":{\"app\":\"model-serving\"}},"
    "\"spec\":{\"terminationGracePeriodSeconds\":30,\"containers\":[{\"name\":\"server\","
    "\"image\":\"myrepo/tf-serving:1.0.3\",\"args\":[\"--port=8500\","
    "\"--rest_api_port=8501\",\"--model_name=classifier\","
    "\"--model_base_path=/models/classifier\"],"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/v1/models/classifier\",\"port\":8501},"
    "\"initialDelaySeconds\":5,\"periodSeconds\":5,\"failureThreshold\":3},"
    "\"lifecycle\":{\"preStop\":{\"exec\":{\"command\":[\"/bin/sh\",\"-c\","
    "\"sleep 10\"]}}}}]}}}}";

/* spec as `kubectl get deploy model-serving -o json` shows it on a 1.32 cluster. */
static const char *tutorial_spec_stored =
    "{\"progressDeadlineSeconds\":600,\"replicas\":4,\"revisionHistoryLimit\":10,"
    "\"minReadySeconds\":20,\"selector\":{\"matchLabels\":{\"app\":\"model-serving\"}},"
    "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},"
    "\"type\":\"RollingUpdate\"},"
    "\"template\":{\"metadata\":{\"creationTimestamp\":null,"
    "\"labels\":{\"app\":\"model-serving\"}},"
    "\"spec\":{\"containers\":[{\"args\":[\"--port=8500\",\"--rest_api_port=8501\","
    "\"--model_name=classifier\",\"--model_base_path=/models/classifier\"],"
    "\"image\":\"myrepo/tf-serving:1.0.3\",\"imagePullPolicy\":\"IfNotPresent\","
    "\"lifecycle\":{\"preStop\":{\"exec\":{\"command\":[\"/bin/sh\",\"-c\",\"sleep 10\"]}}},"
    "\"name\":\"server\",\"readinessProbe\":{\"failureThreshold\":3,"
    "\"httpGet\":{\"path\":\"/v1/models/classifier\",\"port\":8501,\"scheme\":\"HTTP\"},"
    "\"initialDelaySeconds\":5,\"periodSeconds\":5,\"successThreshold\":1,"
    "\"timeoutSeconds\":1},\"resources\":{},"
    "\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\"}],\"dnsPolicy\":\"ClusterFirst\","
    "\"restartPolicy\":\"Always\",\"schedulerName\":\"default-scheduler\","
    "\"securityContext\":{},\"terminationGracePeriodSeconds\":30}}}";

static void test_tutorial_defaults(void **state)
{
    json_t *d = parse(tutorial_deploy), *want = parse(tutorial_spec_stored);
    struct err e;

    err_init(&e);
    res_default(res_kind_find("apps", "Deployment"), d);
    if (!json_equal(json_object_get(d, "spec"), want)) {
        char *s = json_dumps(json_object_get(d, "spec"), JSON_SORT_KEYS);

        fail_msg("defaulted spec differs: %s", s);
    }
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), 0);
    assert_int_equal(res_unknown_fields(res_kind_find("apps", "Deployment"), d, NULL, &e), 0);
    /* Defaulting twice changes nothing (updates re-run it on stored objects). */
    res_default(res_kind_find("apps", "Deployment"), d);
    assert_true(json_equal(json_object_get(d, "spec"), want));
    err_release(&e);
    json_decref(d);
    json_decref(want);
}

static void test_deployment_strategy_defaults(void **state)
{
    json_t *d = parse("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"template\":{\"spec\":"
                      "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}");

    res_default(res_kind_find("apps", "Deployment"), d);
    assert_int_equal(jx_int(d, "spec.replicas", -1), 1);
    assert_string_equal(jx_str(d, "spec.strategy.type"), "RollingUpdate");
    assert_string_equal(jx_str(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    assert_string_equal(jx_str(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    assert_int_equal(jx_int(d, "spec.revisionHistoryLimit", -1), 10);
    assert_int_equal(jx_int(d, "spec.progressDeadlineSeconds", -1), 600);
    /* No tag means :latest, which is always pulled. */
    assert_string_equal(
        jx_str(json_array_get(jx_get(d, "spec.template.spec.containers"), 0), "imagePullPolicy"),
        "Always");
    assert_null(jx_get(d, "spec.template.spec.enableServiceLinks"));
    json_decref(d);
}

/* Deployment template and ReplicaSet template default identically (rollout undo compares). */
static void test_template_defaults_match_replicaset(void **state)
{
    json_t *d = parse(tutorial_deploy), *rs = parse(tutorial_deploy);

    json_object_set_new(rs, "kind", json_string("ReplicaSet"));
    res_default(res_kind_find("apps", "Deployment"), d);
    res_default(res_kind_find("apps", "ReplicaSet"), rs);
    assert_true(json_equal(jx_get(d, "spec.template"), jx_get(rs, "spec.template")));
    json_decref(d);
    json_decref(rs);
}

static void test_pod_defaults(void **state)
{
    json_t *p = parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"busybox:latest\","
                      "\"ports\":[{\"containerPort\":80}],"
                      "\"resources\":{\"limits\":{\"cpu\":\"1\",\"nvidia.com/gpu\":1}},"
                      "\"livenessProbe\":{\"tcpSocket\":{\"port\":80}}}],"
                      "\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"x\"}},"
                      "{\"name\":\"scratch\"},{\"name\":\"h\",\"hostPath\":{\"path\":\"/d\"}}]}}");
    json_t *c;
    struct err e;

    err_init(&e);
    res_default(res_kind_find("", "Pod"), p);
    c = json_array_get(jx_get(p, "spec.containers"), 0);
    assert_string_equal(jx_str(c, "imagePullPolicy"), "Always");
    assert_string_equal(jx_str(json_array_get(json_object_get(c, "ports"), 0), "protocol"), "TCP");
    assert_string_equal(jx_str(c, "resources.requests.cpu"), "1");
    assert_int_equal(jx_int(c, "resources.requests.nvidia.com/gpu", -1), -1); /* dotted key */
    assert_int_equal(
        json_integer_value(json_object_get(jx_get(c, "resources.requests"), "nvidia.com/gpu")), 1);
    assert_int_equal(jx_int(c, "livenessProbe.periodSeconds", 0), 10);
    assert_int_equal(jx_int(c, "livenessProbe.failureThreshold", 0), 3);
    assert_true(jx_bool(p, "spec.enableServiceLinks"));
    assert_int_equal(
        jx_int(json_array_get(jx_get(p, "spec.volumes"), 0), "configMap.defaultMode", 0), 420);
    assert_non_null(jx_get(json_array_get(jx_get(p, "spec.volumes"), 1), "emptyDir"));
    assert_string_equal(jx_str(json_array_get(jx_get(p, "spec.volumes"), 2), "hostPath.type"), "");
    assert_int_equal(res_validate(res_kind_find("", "Pod"), p, NULL, &e), 0);
    err_release(&e);
    json_decref(p);
}

static void test_service_defaults(void **state)
{
    json_t *s = parse("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
                      "\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}}");
    json_t *p;

    res_default(res_kind_find("", "Service"), s);
    p = json_array_get(jx_get(s, "spec.ports"), 0);
    assert_string_equal(jx_str(s, "spec.type"), "ClusterIP");
    assert_string_equal(jx_str(s, "spec.sessionAffinity"), "None");
    assert_string_equal(jx_str(s, "spec.internalTrafficPolicy"), "Cluster");
    assert_string_equal(jx_str(s, "spec.ipFamilyPolicy"), "SingleStack");
    assert_string_equal(json_string_value(json_array_get(jx_get(s, "spec.ipFamilies"), 0)), "IPv4");
    assert_string_equal(jx_str(p, "protocol"), "TCP");
    assert_int_equal(jx_int(p, "targetPort", 0), 80);
    assert_null(jx_get(s, "spec.externalTrafficPolicy"));
    json_decref(s);
}

/* Runs default + validate on a Deployment built from the tutorial with one edit applied. */
static int deploy_check(const char *path, json_t *value, struct err *e)
{
    json_t *d = parse(tutorial_deploy);
    int rc;

    if (path)
        jx_set(d, path, value);
    res_default(res_kind_find("apps", "Deployment"), d);
    rc = res_validate(res_kind_find("apps", "Deployment"), d, NULL, e);
    json_decref(d);
    return rc;
}

/* Defaults and validates a Job whose spec is {EXTRA "template": TEMPLATE}; old for updates. */
static int job_check(const char *extra, const char *restart, const json_t *old, struct err *e,
                     json_t **out)
{
    char buf[800];
    json_t *j;
    int rc;

    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\","
             "\"namespace\":\"default\"},\"spec\":{%s\"template\":{\"spec\":{%s"
             "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
             extra, restart);
    j = parse(buf);
    res_default(res_kind_find("batch", "Job"), j);
    rc = res_validate(res_kind_find("batch", "Job"), j, old, e);
    if (out)
        *out = j;
    else
        json_decref(j);
    return rc;
}

static void test_job_rules(void **state)
{
    const char *never = "\"restartPolicy\":\"Never\",";
    json_t *j, *old;
    struct err e;

    err_init(&e);
    assert_int_equal(job_check("", never, NULL, &e, &j), 0);
    assert_int_equal(jx_int(j, "spec.completions", 0), 1);
    assert_int_equal(jx_int(j, "spec.parallelism", 0), 1);
    assert_int_equal(jx_int(j, "spec.backoffLimit", 0), 6);
    assert_string_equal(jx_str(j, "spec.completionMode"), "NonIndexed");
    assert_string_equal(jx_str(j, "spec.podReplacementPolicy"), "TerminatingOrFailed");
    assert_true(json_is_false(jx_get(j, "spec.suspend")));
    assert_true(json_is_false(jx_get(j, "spec.manualSelector")));
    json_decref(j);
    /* parallelism alone leaves completions unset (one success is enough). */
    assert_int_equal(job_check("\"parallelism\":3,", never, NULL, &e, &j), 0);
    assert_null(jx_get(j, "spec.completions"));
    json_decref(j);
    assert_int_equal(job_check("", "", NULL, &e, NULL), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.template.spec.restartPolicy",
                 "Required value: valid values: \"OnFailure\", \"Never\"");
    err_release(&e);
    assert_int_equal(
        job_check("\"completions\":-1,\"activeDeadlineSeconds\":-5,", never, NULL, &e, NULL),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.completions", "Invalid value: -1: must be greater than or equal to 0");
    ASSERT_CAUSE(&e, "spec.activeDeadlineSeconds",
                 "Invalid value: -5: must be greater than or equal to 0");
    err_release(&e);
    assert_int_equal(job_check("\"completionMode\":\"Indexed\",", never, NULL, &e, NULL),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.completionMode",
                 "Forbidden: Indexed completion mode is not supported by kroll's job controller");
    err_release(&e);
    /* Updates: the stored Job has its generated selector; template and selector are fixed. */
    old = parse("{\"metadata\":{\"name\":\"j\",\"namespace\":\"default\"},\"spec\":"
                "{\"selector\":{\"matchLabels\":{\"u\":\"1\"}},\"template\":{\"metadata\":"
                "{\"labels\":{\"u\":\"1\"}},\"spec\":{\"restartPolicy\":\"Never\","
                "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}");
    res_default(res_kind_find("batch", "Job"), old);
    assert_int_equal(
        job_check("\"selector\":{\"matchLabels\":{\"u\":\"2\"}},", never, old, &e, NULL),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.selector",
                 "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"u\":\"2\"}, "
                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
    ASSERT_CAUSE(&e, "spec.template.metadata.labels",
                 "Invalid value: {}: `selector` does not match template `labels`");
    err_release(&e);
    json_decref(old);
}

/* VerticalPodAutoscaler: the CRD's required targetRef and enums, the webhook's min <= max. */
static int vpa_check(const char *spec, struct err *e)
{
    char buf[800];
    json_t *j;
    int rc;

    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"autoscaling.k8s.io/v1\",\"kind\":\"VerticalPodAutoscaler\","
             "\"metadata\":{\"name\":\"v\",\"namespace\":\"default\"},\"spec\":%s}",
             spec);
    j = parse(buf);
    rc = res_validate(res_kind_find("autoscaling.k8s.io", "VerticalPodAutoscaler"), j, NULL, e);
    json_decref(j);
    return rc;
}

static void test_vpa_rules(void **state)
{
    struct err e;

    (void)state;
    err_init(&e);
    assert_int_equal(vpa_check("{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},"
                               "\"updatePolicy\":{\"updateMode\":\"Initial\"}}",
                               &e),
                     0);
    assert_int_equal(vpa_check("{}", &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.targetRef", "Required value");
    err_release(&e);
    assert_int_equal(vpa_check("{\"targetRef\":{\"kind\":\"Deployment\"},\"updatePolicy\":"
                               "{\"updateMode\":\"Never\"}}",
                               &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.targetRef.name", "Required value");
    ASSERT_CAUSE(&e, "spec.updatePolicy.updateMode",
                 "Unsupported value: \"Never\": supported values: \"Off\", \"Initial\", "
                 "\"Recreate\", \"Auto\"");
    err_release(&e);
    assert_int_equal(
        vpa_check("{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},\"resourcePolicy\":"
                  "{\"containerPolicies\":[{\"containerName\":\"a\",\"controlledResources\":"
                  "[\"gpu\"],\"minAllowed\":{\"memory\":\"2Gi\"},\"maxAllowed\":{\"memory\":"
                  "\"1Gi\"}},{\"containerName\":\"a\"}]}}",
                  &e),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.resourcePolicy.containerPolicies[0].controlledResources[0]",
                 "Unsupported value: \"gpu\": supported values: \"cpu\", \"memory\"");
    ASSERT_CAUSE(&e, "spec.resourcePolicy.containerPolicies[0].maxAllowed.memory",
                 "Invalid value: \"1Gi\": max resource for memory is lower than min");
    ASSERT_CAUSE(&e, "spec.resourcePolicy.containerPolicies[1].containerName",
                 "Duplicate value: \"a\"");
    err_release(&e);
}

static void test_deployment_rules(void **state)
{
    struct err e;

    err_init(&e);
    /* 1 */
    assert_int_equal(deploy_check("spec.replicas", json_integer(-1), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.replicas", "Invalid value: -1: must be greater than or equal to 0");
    err_release(&e);
    /* 2 */
    assert_int_equal(deploy_check("spec.selector", json_object(), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.selector",
                 "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is "
                 "invalid for deployment");
    err_release(&e);
    assert_int_equal(deploy_check("spec.selector", json_null(), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.selector", "Required value");
    err_release(&e);
    /* 3 */
    assert_int_equal(deploy_check("spec.selector", parse("{\"matchLabels\":{\"app\":\"x\"}}"), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.template.metadata.labels",
                 "Invalid value: map[string]string{\"app\":\"model-serving\"}: `selector` does "
                 "not match template `labels`");
    err_release(&e);
    /* 5 */
    assert_int_equal(deploy_check("spec.template.spec.restartPolicy", json_string("OnFailure"), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.template.spec.restartPolicy",
                 "Unsupported value: \"OnFailure\": supported values: \"Always\"");
    assert_int_equal(json_array_size(e.causes), 1);
    err_release(&e);
    /* 6 */
    assert_int_equal(deploy_check("spec.template.spec.activeDeadlineSeconds", json_integer(5), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.template.spec.activeDeadlineSeconds",
                 "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported");
    err_release(&e);
    /* 7 */
    assert_int_equal(deploy_check("spec.strategy.type", json_string("Recreate"), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate",
                 "Forbidden: may not be specified when strategy `type` is 'Recreate'");
    err_release(&e);
    assert_int_equal(deploy_check("spec.strategy.type", json_string("BlueGreen"), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.type",
                 "Unsupported value: \"BlueGreen\": supported values: \"Recreate\", "
                 "\"RollingUpdate\"");
    err_release(&e);
    /* 8 */
    assert_int_equal(deploy_check("spec.strategy.rollingUpdate.maxSurge", json_string("25"), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxSurge",
                 "Invalid value: 25: a valid percent string must be a numeric string followed "
                 "by an ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                 "'[0-9]+%')");
    err_release(&e);
    assert_int_equal(deploy_check("spec.strategy.rollingUpdate.maxSurge", json_integer(-2), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxSurge",
                 "Invalid value: -2: must be greater than or equal to 0");
    err_release(&e);
    /* 9: maxUnavailable capped, maxSurge not */
    assert_int_equal(
        deploy_check("spec.strategy.rollingUpdate.maxUnavailable", json_string("150%"), &e),
        -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: 150%: must not be greater than 100%");
    err_release(&e);
    assert_int_equal(deploy_check("spec.strategy.rollingUpdate.maxSurge", json_string("300%"), &e),
                     0);
    /* 11 */
    assert_int_equal(deploy_check("spec.progressDeadlineSeconds", json_integer(20), &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.progressDeadlineSeconds",
                 "Invalid value: 20: must be greater than minReadySeconds");
    err_release(&e);
    assert_int_equal(deploy_check("spec.revisionHistoryLimit", json_integer(-1), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.revisionHistoryLimit",
                 "Invalid value: -1: must be greater than or equal to 0");
    err_release(&e);
    assert_int_equal(deploy_check("spec.minReadySeconds", json_integer(-1), &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.minReadySeconds",
                 "Invalid value: -1: must be greater than or equal to 0");
    err_release(&e);
}

/* Rule 10 compares the number part: 0 and "0%" are both zero. */
static void test_both_zero(void **state)
{
    json_t *d = parse(tutorial_deploy);
    struct err e;

    err_init(&e);
    jx_set(d, "spec.strategy.rollingUpdate.maxSurge", json_integer(0));
    res_default(res_kind_find("apps", "Deployment"), d);
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: 0: may not be 0 when `maxSurge` is 0");
    err_release(&e);
    jx_set(d, "spec.strategy.rollingUpdate.maxSurge", json_string("0%"));
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: 0: may not be 0 when `maxSurge` is 0");
    err_release(&e);
    jx_set(d, "spec.strategy.rollingUpdate.maxUnavailable", json_string("0%"));
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.rollingUpdate.maxUnavailable",
                 "Invalid value: 0%: may not be 0 when `maxSurge` is 0");
    err_release(&e);
    jx_set(d, "spec.strategy.rollingUpdate.maxSurge", json_string("1%"));
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), 0);
    err_release(&e);
    json_decref(d);
}

static void test_immutable_selector(void **state)
{
    json_t *old = parse(tutorial_deploy), *d = parse(tutorial_deploy);
    struct err e;

    err_init(&e);
    res_default(res_kind_find("apps", "Deployment"), old);
    jx_set(d, "spec.selector.matchLabels.tier", json_string("web"));
    jx_set(d, "spec.template.metadata.labels.tier", json_string("web"));
    res_default(res_kind_find("apps", "Deployment"), d);
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e), 0);
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, old, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.selector",
                 "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":"
                 "\"model-serving\", \"tier\":\"web\"}, "
                 "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
    err_release(&e);
    /* The same change on a ReplicaSet is refused too; the image is not immutable. */
    jx_set(old, "kind", json_string("ReplicaSet"));
    assert_int_equal(res_validate(res_kind_find("apps", "ReplicaSet"), d, old, &e), -E_INVALID);
    err_release(&e);
    json_object_set_new(json_array_get(jx_get(old, "spec.template.spec.containers"), 0), "image",
                        json_string("myrepo/tf-serving:1.0.4"));
    assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), old, old, &e), 0);
    json_decref(old);
    json_decref(d);
}

static void test_strict_unknown(void **state)
{
    json_t *d = parse(tutorial_deploy), *paths = NULL;
    struct err e;

    err_init(&e);
    json_object_set_new(json_array_get(jx_get(d, "spec.template.spec.containers"), 0),
                        "imagePullPolcy", json_string("Always"));
    jx_set(d, "spec.foo", json_integer(1));
    assert_int_equal(res_unknown_fields(res_kind_find("apps", "Deployment"), d, &paths, &e),
                     -E_BAD_REQUEST);
    assert_string_equal(e.msg, "Deployment in version \"v1\" cannot be handled as a Deployment: "
                               "strict decoding error: unknown field "
                               "\"spec.template.spec.containers[0].imagePullPolcy\", unknown "
                               "field \"spec.foo\"");
    assert_int_equal(json_array_size(paths), 2);
    assert_string_equal(json_string_value(json_array_get(paths, 0)),
                        "spec.template.spec.containers[0].imagePullPolcy");
    json_decref(paths);
    err_release(&e);
    /* Unknown kinds and clean documents report nothing. */
    assert_int_equal(res_unknown_fields(res_kind_find("example.com", "Widget"), d, NULL, &e), 0);
    json_decref(d);
}

/* Realistic documents of every kind, as kubectl or the controllers send them. */
static const struct {
    const char *group, *kind, *json;
} fixtures[] = {
    {"", "Namespace",
     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
     "\"ml\",\"labels\":{\"team\":\"ml\"}}}"},
    {"", "Node",
     "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"kroll-node\",\"labels\":"
     "{\"kubernetes.io/hostname\":\"kroll-node\",\"kubernetes.io/os\":\"linux\"}},"
     "\"spec\":{\"podCIDR\":\"10.244.0.0/24\",\"taints\":[{\"key\":\"gpu\",\"value\":\"true\","
     "\"effect\":\"NoSchedule\"}]},\"status\":{\"capacity\":{\"cpu\":\"8\",\"memory\":"
     "\"16302392Ki\",\"pods\":\"110\",\"nvidia.com/gpu\":\"1\"},\"allocatable\":{\"cpu\":\"8\","
     "\"memory\":\"16200Ki\",\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":"
     "\"True\",\"lastHeartbeatTime\":\"2026-01-04T10:00:00Z\",\"lastTransitionTime\":"
     "\"2026-01-04T10:00:00Z\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting "
     "ready status\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"},"
     "{\"type\":\"Hostname\",\"address\":\"kroll-node\"}],\"daemonEndpoints\":{\"kubeletEndpoint"
     "\":{\"Port\":10250}},\"nodeInfo\":{\"machineID\":\"m\",\"systemUUID\":\"u\",\"bootID\":"
     "\"b\",\"kernelVersion\":\"6.1\",\"osImage\":\"Debian\",\"containerRuntimeVersion\":"
     "\"kroll://0.1\",\"kubeletVersion\":\"v1.32.0\",\"kubeProxyVersion\":\"v1.32.0\","
     "\"operatingSystem\":\"linux\",\"architecture\":\"amd64\"},\"images\":[{\"names\":"
     "[\"myrepo/tf-serving:1.0.3\"],\"sizeBytes\":1234}]}}"},
    {"", "Pod",
     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"model-0\",\"namespace\":"
     "\"default\",\"labels\":{\"app\":\"model\"},\"annotations\":{\"example.com/note\":\"x\"},"
     "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\","
     "\"uid\":\"1\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{"
     "\"initContainers\":[{\"name\":\"fetch\",\"image\":\"busybox:1.36\",\"command\":[\"sh\","
     "\"-c\",\"true\"]}],\"containers\":[{\"name\":\"server\",\"image\":\"model:1\",\"ports\":"
     "[{\"name\":\"http\",\"containerPort\":8501,\"protocol\":\"TCP\"}],\"env\":[{\"name\":"
     "\"POD_IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},{\"name\":\"A\","
     "\"value\":\"1\"}],\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"}}],\"resources\":"
     "{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"},\"limits\":{\"memory\":\"2Gi\","
     "\"nvidia.com/gpu\":1}},\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":"
     "\"http\",\"httpHeaders\":[{\"name\":\"X\",\"value\":\"y\"}]},\"periodSeconds\":2},"
     "\"livenessProbe\":{\"tcpSocket\":{\"port\":8501},\"failureThreshold\":5},\"startupProbe\":"
     "{\"exec\":{\"command\":[\"cat\",\"/tmp/ok\"]},\"failureThreshold\":30},\"lifecycle\":"
     "{\"postStart\":{\"httpGet\":{\"port\":8501}},\"preStop\":{\"sleep\":{\"seconds\":5}}},"
     "\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/cfg\",\"readOnly\":true},"
     "{\"name\":\"models\",\"mountPath\":\"/models\"},{\"name\":\"tok\",\"mountPath\":\"/var/t\"}"
     ",{\"name\":\"info\",\"mountPath\":\"/etc/info\"},{\"name\":\"sec\",\"mountPath\":\"/s\"},"
     "{\"name\":\"data\",\"mountPath\":\"/data\"},{\"name\":\"tmp\",\"mountPath\":\"/tmp\"}],"
     "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":1000,\"capabilities\":"
     "{\"drop\":[\"ALL\"]},\"allowPrivilegeEscalation\":false}}],\"volumes\":[{\"name\":\"cfg\","
     "\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"a\",\"path\":\"a.txt\"}]}},{\"name\":"
     "\"models\",\"hostPath\":{\"path\":\"/srv/models\",\"type\":\"Directory\"}},{\"name\":\"tok\","
     "\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"path\":\"token\"}},{\"configMap\":"
     "{\"name\":\"ca\"}},{\"downwardAPI\":{\"items\":[{\"path\":\"labels\",\"fieldRef\":"
     "{\"fieldPath\":\"metadata.labels\"}}]}}]}},{\"name\":\"info\",\"downwardAPI\":{\"items\":"
     "[{\"path\":\"name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]}},{\"name\":\"sec\","
     "\"secret\":{\"secretName\":\"s\",\"optional\":true}},{\"name\":\"data\","
     "\"persistentVolumeClaim\":{\"claimName\":\"pvc\"}},{\"name\":\"tmp\",\"emptyDir\":"
     "{\"medium\":\"Memory\",\"sizeLimit\":\"64Mi\"}}],\"nodeSelector\":{\"kubernetes.io/os\":"
     "\"linux\"},\"tolerations\":[{\"key\":\"gpu\",\"operator\":\"Exists\",\"effect\":"
     "\"NoSchedule\"},{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
     "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"affinity\":{\"podAntiAffinity\":"
     "{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":100,\"podAffinityTerm\":"
     "{\"labelSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\",\"values\":"
     "[\"model\"]}]},\"topologyKey\":\"kubernetes.io/hostname\"}}]},\"nodeAffinity\":"
     "{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
     "[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]}}},"
     "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\","
     "\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":{\"matchLabels\":{\"app\":"
     "\"model\"}}}],\"securityContext\":{\"fsGroup\":2000,\"seccompProfile\":{\"type\":"
     "\"RuntimeDefault\"}},\"serviceAccountName\":\"default\",\"priority\":0,\"nodeName\":"
     "\"kroll-node\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.5\",\"podIPs\":"
     "[{\"ip\":\"10.244.0.5\"}],\"hostIP\":\"127.0.0.1\",\"startTime\":\"2026-01-04T10:00:00Z\","
     "\"qosClass\":\"Burstable\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
     "\"lastProbeTime\":null,\"lastTransitionTime\":\"2026-01-04T10:00:05Z\"}],"
     "\"containerStatuses\":[{\"name\":\"server\",\"ready\":true,\"restartCount\":0,\"image\":"
     "\"model:1\",\"imageID\":\"\",\"containerID\":\"kroll://1\",\"started\":true,\"state\":"
     "{\"running\":{\"startedAt\":\"2026-01-04T10:00:01Z\"}},\"lastState\":{}}]}}"},
    {"", "Service",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"model\",\"namespace\":"
     "\"default\"},\"spec\":{\"type\":\"NodePort\",\"selector\":{\"app\":\"model\"},\"ports\":"
     "[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\",\"nodePort\":30080},{\"name\":"
     "\"grpc\",\"port\":8500,\"targetPort\":8500,\"appProtocol\":\"grpc\"}],\"clusterIP\":"
     "\"10.96.0.10\",\"sessionAffinity\":\"ClientIP\"},\"status\":{\"loadBalancer\":{}}}"},
    {"", "Endpoints",
     "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"model\",\"namespace\":"
     "\"default\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.0.5\",\"nodeName\":\"kroll-node\","
     "\"targetRef\":{\"kind\":\"Pod\",\"name\":\"model-0\",\"namespace\":\"default\",\"uid\":"
     "\"1\"}}],\"notReadyAddresses\":[{\"ip\":\"10.244.0.6\"}],\"ports\":[{\"name\":\"http\","
     "\"port\":8501},{\"name\":\"grpc\",\"port\":8500}]}]}"},
    {"", "ConfigMap",
     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
     "\"cfg\",\"namespace\":\"default\"},\"data\":{\"model.yaml\":\"a: 1\","
     "\"KEY_NAME\":\"v\"},\"binaryData\":{\"blob\":\"AAEC\"}}"},
    {"", "Secret",
     "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
     "\"namespace\":\"default\"},\"type\":\"Opaque\",\"data\":{\"token\":"
     "\"c2VjcmV0\",\"empty\":\"\"},\"stringData\":{\"plain\":\"hi\"}}"},
    {"", "Event",
     "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"model.17a\",\"namespace\":"
     "\"default\"},\"involvedObject\":{\"kind\":\"Deployment\",\"namespace\":\"default\",\"name\":"
     "\"model\",\"uid\":\"1\",\"apiVersion\":\"apps/v1\",\"resourceVersion\":\"5\"},\"reason\":"
     "\"ScalingReplicaSet\",\"message\":\"Scaled up replica set model-1 to 1\",\"source\":"
     "{\"component\":\"deployment-controller\"},\"firstTimestamp\":\"2026-01-04T10:00:00Z\","
     "\"lastTimestamp\":\"2026-01-04T10:00:00Z\",\"count\":1,\"type\":\"Normal\",\"eventTime\":"
     "null,\"reportingComponent\":\"deployment-controller\",\"reportingInstance\":\"\"}"},
    {"", "ServiceAccount",
     "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":"
     "{\"name\":\"default\",\"namespace\":\"default\"}}"},
    {"apps", "ReplicaSet",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"model-6d4\","
     "\"namespace\":\"default\",\"labels\":{\"app\":\"model\",\"pod-template-hash\":\"6d4\"},"
     "\"annotations\":{\"deployment.kubernetes.io/revision\":\"1\"}},\"spec\":{\"replicas\":2,"
     "\"selector\":{\"matchLabels\":{\"app\":\"model\",\"pod-template-hash\":\"6d4\"}},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"model\",\"pod-template-hash\":\"6d4\"}},"
     "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"model:1\"}]}}},\"status\":"
     "{\"replicas\":2,\"fullyLabeledReplicas\":2,\"readyReplicas\":2,\"availableReplicas\":2,"
     "\"observedGeneration\":1}}"},
    {"apps", "DaemonSet",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"agent\","
     "\"namespace\":\"default\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":{\"containers\":"
     "[{\"name\":\"a\",\"image\":\"agent:1\"}]}}}}"},
    {"policy", "PodDisruptionBudget",
     "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":"
     "\"model\",\"namespace\":\"default\"},\"spec\":{\"minAvailable\":2,\"selector\":"
     "{\"matchLabels\":{\"app\":\"model\"}},\"unhealthyPodEvictionPolicy\":\"AlwaysAllow\"},"
     "\"status\":{\"observedGeneration\":1,\"disruptionsAllowed\":1,\"currentHealthy\":3,"
     "\"desiredHealthy\":2,\"expectedPods\":3,\"disruptedPods\":{},\"conditions\":[{\"type\":"
     "\"DisruptionAllowed\",\"status\":\"True\",\"reason\":\"SufficientPods\",\"message\":\"\","
     "\"observedGeneration\":1,\"lastTransitionTime\":\"2026-01-04T10:00:00Z\"}]}}"},
    {"policy", "Eviction",
     "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":"
     "{\"name\":\"model-0\",\"namespace\":\"default\"},\"deleteOptions\":"
     "{\"gracePeriodSeconds\":30,\"propagationPolicy\":\"Background\"}}"},
    {"discovery.k8s.io", "EndpointSlice",
     "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
     "{\"generateName\":\"model-\",\"namespace\":\"default\",\"labels\":{"
     "\"kubernetes.io/service-name\":\"model\",\"endpointslice.kubernetes.io/managed-by\":"
     "\"endpointslice-controller.k8s.io\"}},\"addressType\":\"IPv4\",\"endpoints\":"
     "[{\"addresses\":[\"10.244.0.5\"],\"conditions\":{\"ready\":true,\"serving\":true,"
     "\"terminating\":false},\"nodeName\":\"kroll-node\",\"targetRef\":{\"kind\":\"Pod\","
     "\"name\":\"model-0\",\"namespace\":\"default\",\"uid\":\"1\"}}],\"ports\":[{\"name\":"
     "\"http\",\"port\":8501,\"protocol\":\"TCP\"}]}"},
    {"autoscaling", "Scale",
     "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"Scale\",\"metadata\":"
     "{\"name\":\"model\",\"namespace\":\"default\"},\"spec\":"
     "{\"replicas\":3}}"},
    {"meta", "DeleteOptions",
     "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
     "\"propagationPolicy\":\"Foreground\",\"preconditions\":{\"uid\":"
     "\"1\"},\"dryRun\":[\"All\"]}"},
};

static void test_valid_fixtures(void **state)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        json_t *o = parse(fixtures[i].json), *paths = NULL;
        struct err e;

        err_init(&e);
        assert_non_null(res_kind_find(fixtures[i].group, fixtures[i].kind));
        assert_int_equal(
            res_unknown_fields(res_kind_find(fixtures[i].group, fixtures[i].kind), o, &paths, &e),
            0);
        assert_int_equal(json_array_size(paths), 0);
        res_default(res_kind_find(fixtures[i].group, fixtures[i].kind), o);
        if (res_validate(res_kind_find(fixtures[i].group, fixtures[i].kind), o, NULL, &e) != 0) {
            dump_causes(&e);
            fail_msg("fixture %s rejected", fixtures[i].kind);
        }
        /* Defaults are schema fields too: strict mode accepts what defaulting produced. */
        assert_int_equal(
            res_unknown_fields(res_kind_find(fixtures[i].group, fixtures[i].kind), o, NULL, &e), 0);
        json_decref(paths);
        err_release(&e);
        json_decref(o);
    }
}

static void test_names(void **state)
{
    json_t *s = parse("{\"metadata\":{\"name\":\"Web_1\",\"namespace\":\"default\"},"
                      "\"data\":{\"bad key\":\"v\"}}");
    struct err e;

    err_init(&e);
    assert_int_equal(res_validate(res_kind_find("", "ConfigMap"), s, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "metadata.name",
                 "Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower "
                 "case alphanumeric characters, '-' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    ASSERT_CAUSE(&e, "data[bad key]",
                 "Invalid value: \"bad key\": a valid config key must consist of alphanumeric "
                 "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                 "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    err_release(&e);
    json_object_del(json_object_get(s, "metadata"), "name");
    json_object_clear(json_object_get(s, "data"));
    assert_int_equal(res_validate(res_kind_find("", "ConfigMap"), s, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "metadata.name", "Required value: name or generateName is required");
    err_release(&e);
    json_decref(s);

    s = parse("{\"metadata\":{\"name\":\"my.ns\"}}");
    assert_int_equal(res_validate(res_kind_find("", "Namespace"), s, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "metadata.name",
                 "Invalid value: \"my.ns\": a lowercase RFC 1123 label must consist of lower "
                 "case alphanumeric characters or '-', and must start and end with an "
                 "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    err_release(&e);
    json_decref(s);

    s = parse("{\"metadata\":{\"name\":\"w\",\"namespace\":\"default\",\"labels\":"
              "{\"app\":\"-bad\",\"a/b/c\":\"x\"}},\"spec\":{\"ports\":[{\"port\":80}]}}");
    assert_int_equal(res_validate(res_kind_find("", "Service"), s, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "metadata.labels",
                 "Invalid value: \"-bad\": a valid label must be an empty string or consist of "
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
                 "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    ASSERT_CAUSE(&e, "metadata.labels",
                 "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric "
                 "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                 "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                 "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional "
                 "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    err_release(&e);
    json_decref(s);
}

static void test_pod_rules(void **state)
{
    json_t *p =
        parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
              "\"containers\":[{\"name\":\"c\",\"image\":\"m:1\",\"resources\":"
              "{\"requests\":{\"nvidia.com/gpu\":\"1\"}},\"livenessProbe\":"
              "{\"httpGet\":{\"port\":70000},\"successThreshold\":2},\"ports\":"
              "[{\"containerPort\":0}]},{\"name\":\"c\"}],\"restartPolicy\":\"Sometimes\"}}");
    json_t *q;
    struct err e;

    err_init(&e);
    res_default(res_kind_find("", "Pod"), p);
    assert_int_equal(res_validate(res_kind_find("", "Pod"), p, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.containers[0].resources.limits",
                 "Required value: Limit must be set for non overcommitable resources");
    ASSERT_CAUSE(&e, "spec.containers[0].livenessProbe.successThreshold",
                 "Invalid value: 2: must be 1");
    ASSERT_CAUSE(&e, "spec.containers[0].livenessProbe.httpGet.port",
                 "Invalid value: 70000: must be between 1 and 65535, inclusive");
    ASSERT_CAUSE(&e, "spec.containers[0].ports[0].containerPort", "Required value");
    ASSERT_CAUSE(&e, "spec.containers[1].name", "Duplicate value: \"c\"");
    ASSERT_CAUSE(&e, "spec.containers[1].image", "Required value");
    ASSERT_CAUSE(&e, "spec.restartPolicy",
                 "Unsupported value: \"Sometimes\": supported "
                 "values: \"Always\", \"OnFailure\", \"Never\"");
    err_release(&e);
    json_decref(p);

    p = parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
              "\"containers\":[{\"name\":\"c\",\"image\":\"m:1\",\"resources\":{\"limits\":"
              "{\"nvidia.com/gpu\":\"2\"},\"requests\":{\"nvidia.com/gpu\":\"1\"}}}]}}");
    res_default(res_kind_find("", "Pod"), p);
    assert_int_equal(res_validate(res_kind_find("", "Pod"), p, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.containers[0].resources.requests[nvidia.com/gpu]",
                 "Invalid value: \"1\": must be equal to nvidia.com/gpu limit of 2");
    err_release(&e);
    json_decref(p);

    p = parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{"
              "\"containers\":[{\"name\":\"c\",\"image\":\"m:1\",\"resources\":{\"limits\":"
              "{\"nvidia.com/gpu\":\"500m\"}}}]}}");
    res_default(res_kind_find("", "Pod"), p);
    assert_int_equal(res_validate(res_kind_find("", "Pod"), p, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.containers[0].resources.limits[nvidia.com/gpu]",
                 "Invalid value: \"500m\": must be an integer");
    err_release(&e);
    /* Updates: the image may change, the command may not. */
    q = json_deep_copy(p);
    json_object_set_new(json_object_get(q, "spec"), "containers",
                        parse("[{\"name\":\"c\",\"image\":\"m:2\"}]"));
    res_default(res_kind_find("", "Pod"), q);
    json_decref(p);
    p = json_deep_copy(q);
    json_object_set_new(json_array_get(jx_get(q, "spec.containers"), 0), "image",
                        json_string("m:3"));
    assert_int_equal(res_validate(res_kind_find("", "Pod"), q, p, &e), 0);
    json_object_set_new(json_array_get(jx_get(q, "spec.containers"), 0), "command",
                        parse("[\"sh\"]"));
    assert_int_equal(res_validate(res_kind_find("", "Pod"), q, p, &e), -E_INVALID);
    assert_string_equal(jx_str(json_array_get(e.causes, 0), "field"), "spec");
    err_release(&e);
    json_decref(p);
    json_decref(q);
}

static void test_other_kinds(void **state)
{
    json_t *o;
    struct err e;

    err_init(&e);
    o = parse("{\"metadata\":{\"name\":\"b\",\"namespace\":\"default\"},\"spec\":"
              "{\"minAvailable\":1,\"maxUnavailable\":\"120%\"}}");
    assert_int_equal(res_validate(res_kind_find("policy", "PodDisruptionBudget"), o, NULL, &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.maxUnavailable", "Invalid value: 120%: must not be greater than 100%");
    assert_string_equal(jx_str(json_array_get(e.causes, 0), "field"), "spec");
    assert_non_null(strstr(jx_str(json_array_get(e.causes, 0), "message"),
                           "minAvailable and maxUnavailable cannot be both set"));
    err_release(&e);
    json_decref(o);

    o = parse("{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"data\":"
              "{\"k\":\"not base64!\"}}");
    res_default(res_kind_find("", "Secret"), o);
    assert_string_equal(jx_str(o, "type"), "Opaque");
    assert_int_equal(res_validate(res_kind_find("", "Secret"), o, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "data[k]",
                 "Invalid value: \"<secret contents redacted>\": illegal base64 "
                 "data at input byte 3");
    err_release(&e);
    json_decref(o);

    o = parse("{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"stringData\":"
              "{\"k\":\"hello\"}}");
    res_default(res_kind_find("", "Secret"), o);
    assert_string_equal(jx_str(o, "data.k"), "aGVsbG8=");
    assert_null(json_object_get(o, "stringData"));
    json_decref(o);

    o = parse("{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"immutable\":true,"
              "\"data\":{\"a\":\"1\"}}");
    {
        json_t *n = json_deep_copy(o);

        jx_set(n, "data.a", json_string("2"));
        assert_int_equal(res_validate(res_kind_find("", "ConfigMap"), n, o, &e), -E_INVALID);
        ASSERT_CAUSE(&e, "data", "Forbidden: field is immutable when `immutable` is set");
        err_release(&e);
        json_decref(n);
    }
    json_decref(o);

    o = parse("{\"metadata\":{\"name\":\"svc\",\"namespace\":\"default\"},\"spec\":{"
              "\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"port\":80,\"nodePort\":30001}]}}");
    res_default(res_kind_find("", "Service"), o);
    assert_int_equal(res_validate(res_kind_find("", "Service"), o, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.ports[0].nodePort",
                 "Forbidden: may not be used when `type` is 'ClusterIP'");
    err_release(&e);
    json_object_del(json_array_get(jx_get(o, "spec.ports"), 0), "nodePort");
    {
        json_t *n = json_deep_copy(o);

        jx_set(n, "spec.clusterIP", json_string("10.96.0.6"));
        assert_int_equal(res_validate(res_kind_find("", "Service"), n, o, &e), -E_INVALID);
        ASSERT_CAUSE(&e, "spec.clusterIPs[0]",
                     "Invalid value: []string{\"10.96.0.6\"}: may not change once set");
        err_release(&e);
        json_decref(n);
    }
    jx_set(o, "spec.ports", json_array());
    assert_int_equal(res_validate(res_kind_find("", "Service"), o, NULL, &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.ports", "Required value");
    err_release(&e);
    json_decref(o);
}

/* Wrong JSON types anywhere give causes, never a crash, in default, validate and strict. */
static void test_garbage(void **state)
{
    static const char *const paths[] = {"spec",
                                        "spec.replicas",
                                        "spec.selector",
                                        "spec.selector.matchLabels",
                                        "spec.selector.matchExpressions",
                                        "spec.strategy",
                                        "spec.strategy.rollingUpdate",
                                        "spec.strategy.rollingUpdate.maxSurge",
                                        "spec.template",
                                        "spec.template.metadata",
                                        "spec.template.metadata.labels",
                                        "spec.template.spec",
                                        "spec.template.spec.containers",
                                        "spec.template.spec.terminationGracePeriodSeconds",
                                        "metadata",
                                        "metadata.name",
                                        "metadata.labels",
                                        "metadata.annotations",
                                        "spec.minReadySeconds",
                                        "spec.paused",
                                        "spec.template.spec.volumes",
                                        "spec.template.spec.tolerations",
                                        "kind",
                                        "status"};
    static const char *const values[] = {"\"x\"", "[1,2]",  "{\"a\":1}", "true", "99999999999",
                                         "-1.5",  "[null]", "[\"s\"]",   "{}"};
    int rejected = 0, runs = 0;

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
            json_t *d = parse(tutorial_deploy), *u = NULL;
            json_error_t je;
            struct err e;
            int rc;

            err_init(&e);
            jx_set(d, paths[i], json_loads(values[j], JSON_DECODE_ANY, &je));
            res_default(res_kind_find("apps", "Deployment"), d);
            rc = res_validate(res_kind_find("apps", "Deployment"), d, d, &e);
            res_unknown_fields(res_kind_find("apps", "Deployment"), d, &u, &e);
            assert_true(rc == 0 || rc == -E_INVALID);
            assert_true(rc == 0 || err_has_causes(&e));
            rejected += rc != 0;
            runs++;
            json_decref(u);
            err_release(&e);
            json_decref(d);
        }
    }
    /* Containers, elements and leaves of a Pod, one by one. */
    {
        static const char *const cpaths[] = {
            "name",      "image",        "ports",           "env", "resources", "livenessProbe",
            "lifecycle", "volumeMounts", "securityContext", "args"};
        for (size_t i = 0; i < sizeof cpaths / sizeof cpaths[0]; i++) {
            for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
                json_t *p = parse(fixtures[2].json), *c;
                json_error_t je;
                struct err e;

                err_init(&e);
                c = json_array_get(jx_get(p, "spec.containers"), 0);
                json_object_set_new(c, cpaths[i], json_loads(values[j], JSON_DECODE_ANY, &je));
                res_default(res_kind_find("", "Pod"), p);
                if (res_validate(res_kind_find("", "Pod"), p, NULL, &e) != 0)
                    assert_true(err_has_causes(&e));
                err_release(&e);
                json_decref(p);
            }
        }
    }
    assert_true(rejected > runs / 2);
    /* A few specific renderings. */
    {
        json_t *d = parse(tutorial_deploy);
        struct err e;

        err_init(&e);
        jx_set(d, "spec.replicas", json_string("3"));
        assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e),
                         -E_INVALID);
        ASSERT_CAUSE(&e, "spec.replicas", "Invalid value: \"3\": must be of type int32");
        err_release(&e);
        jx_set(d, "spec.replicas", json_integer(99999999999LL));
        assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e),
                         -E_INVALID);
        ASSERT_CAUSE(&e, "spec.replicas", "Invalid value: 99999999999: must be of type int32");
        err_release(&e);
        json_decref(d);
        d = json_string("not an object");
        assert_int_equal(res_validate(res_kind_find("apps", "Deployment"), d, NULL, &e),
                         -E_INVALID);
        res_default(res_kind_find("apps", "Deployment"), d);
        assert_int_equal(res_unknown_fields(res_kind_find("apps", "Deployment"), d, NULL, &e), 0);
        err_release(&e);
        json_decref(d);
    }
}

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

static void test_rollout_rules(void **state)
{
    struct err e;

    (void)state;
    err_init(&e);
    assert_int_equal(rollout_check("{\"canary\":{\"steps\":[{\"setWeight\":20},{\"pause\":{}},"
                                   "{\"pause\":{\"duration\":\"1m30s\"}}]}}",
                                   &e),
                     0);
    assert_int_equal(rollout_check("{\"blueGreen\":{\"activeService\":\"a\"}}", &e), 0);
    assert_int_equal(rollout_check("{\"canary\":{},\"blueGreen\":{\"activeService\":\"a\"}}", &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy",
                 "Invalid value: \"canary, blueGreen\": Multiple Strategies can not be listed");
    err_release(&e);
    assert_int_equal(rollout_check("{\"canary\":{\"steps\":[{\"setWeight\":101},"
                                   "{\"pause\":{\"duration\":\"5x\"}},{}]}}",
                                   &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.canary.steps[0].setWeight",
                 "Invalid value: 101: SetWeight needs to be between 0 and 100");
    ASSERT_CAUSE(&e, "spec.strategy.canary.steps[1].pause.duration",
                 "Invalid value: \"5x\": Duration needs to be a non-negative number of seconds "
                 "or a duration such as 10s, 5m or 1h");
    ASSERT_CAUSE(&e, "spec.strategy.canary.steps[2]",
                 "Invalid value: {}: Step must have one of the following set: experiment, "
                 "setWeight, setCanaryScale or pause");
    err_release(&e);
    assert_int_equal(rollout_check("{\"canary\":{\"maxSurge\":0,\"maxUnavailable\":\"0%\","
                                   "\"canaryService\":\"s\",\"stableService\":\"s\","
                                   "\"steps\":[{\"setCanaryScale\":{\"replicas\":1}}]}}",
                                   &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.canary.maxUnavailable",
                 "Invalid value: \"0%\": MaxSurge and MaxUnavailable both can not be zero");
    ASSERT_CAUSE(&e, "spec.strategy.canary.steps[0].setCanaryScale",
                 "Invalid value: {\"replicas\":1}: SetCanaryScale requires TrafficRouting to be "
                 "set");
    err_release(&e);
    assert_int_equal(rollout_check("{\"blueGreen\":{}}", &e), -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.blueGreen.activeService", "Required value");
    err_release(&e);
    /* Background and blue-green analysis: templates required, startingStep not negative. */
    assert_int_equal(rollout_check("{\"canary\":{\"steps\":[{\"pause\":{}}],\"analysis\":{"
                                   "\"startingStep\":1,\"templates\":[{\"templateName\":\"t\"}]}}}",
                                   &e),
                     0);
    assert_int_equal(rollout_check("{\"canary\":{\"steps\":[{\"pause\":{}}],\"analysis\":{"
                                   "\"startingStep\":-1,\"templates\":[{}]}}}",
                                   &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.canary.analysis.templates[0].templateName", "Required value");
    ASSERT_CAUSE(&e, "spec.strategy.canary.analysis.startingStep",
                 "Invalid value: -1: must be greater than or equal to 0");
    err_release(&e);
    assert_int_equal(rollout_check("{\"blueGreen\":{\"activeService\":\"a\","
                                   "\"prePromotionAnalysis\":{\"templates\":[]},"
                                   "\"postPromotionAnalysis\":{}}}",
                                   &e),
                     -E_INVALID);
    ASSERT_CAUSE(&e, "spec.strategy.blueGreen.prePromotionAnalysis.templates",
                 "Required value: analysis must reference at least one template");
    ASSERT_CAUSE(&e, "spec.strategy.blueGreen.postPromotionAnalysis.templates",
                 "Required value: analysis must reference at least one template");
    err_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tutorial_defaults),
        cmocka_unit_test(test_deployment_strategy_defaults),
        cmocka_unit_test(test_template_defaults_match_replicaset),
        cmocka_unit_test(test_pod_defaults),
        cmocka_unit_test(test_service_defaults),
        cmocka_unit_test(test_deployment_rules),
        cmocka_unit_test(test_both_zero),
        cmocka_unit_test(test_rollout_rules),
        cmocka_unit_test(test_immutable_selector),
        cmocka_unit_test(test_strict_unknown),
        cmocka_unit_test(test_valid_fixtures),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_pod_rules),
        cmocka_unit_test(test_job_rules),
        cmocka_unit_test(test_vpa_rules),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
