/* HorizontalPodAutoscaler (autoscaling/v2, the stored version): defaults
 * (pkg/apis/autoscaling/v2/defaults.go) and validation
 * (pkg/apis/autoscaling/validation/validation.go) with upstream's field paths and messages. */
#include "resources/res-int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/jx.h"

/* ---- defaults ---- */

static json_t *hpa_policy(const char *type, int value, int period)
{
    return json_pack("{s:s,s:i,s:i}", "type", type, "value", value, "periodSeconds", period);
}

/* Fills the nil fields of one HPAScalingRules (GenerateHPAScale{Up,Down}Rules). */
static void hpa_rules_default(json_t *behavior, const char *key, int up)
{
    json_t *r = res__dobj(behavior, key), *p;

    if (!r)
        return;
    if (up)
        res__dset(r, "stabilizationWindowSeconds", json_integer(0));
    res__dset(r, "selectPolicy", json_string("Max"));
    if (json_object_get(r, "policies") && !json_is_null(json_object_get(r, "policies")))
        return;
    p = json_array();
    if (up) {
        json_array_append_new(p, hpa_policy("Pods", 4, 15));
        json_array_append_new(p, hpa_policy("Percent", 100, 15));
    } else {
        json_array_append_new(p, hpa_policy("Percent", 100, 15));
    }
    json_object_set_new(r, "policies", p);
}

void res__hpa_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *m, *b;

    if (!spec)
        return;
    res__dset(spec, "minReplicas", json_integer(1));
    m = json_object_get(spec, "metrics");
    if (!m || json_is_null(m) || (json_is_array(m) && json_array_size(m) == 0))
        json_object_set_new(spec, "metrics",
                            json_pack("[{s:s,s:{s:s,s:{s:s,s:i}}}]", "type", "Resource", "resource",
                                      "name", "cpu", "target", "type", "Utilization",
                                      "averageUtilization", 80));
    /* An absent behavior stays absent (the controller's legacy path); a present one is
     * completed field by field. The scale-down window stays nil: the controller's flag. */
    b = json_object_get(spec, "behavior");
    if (json_is_object(b)) {
        hpa_rules_default(b, "scaleUp", 1);
        hpa_rules_default(b, "scaleDown", 0);
    }
}

/* ---- validation ---- */

/* IsValidPathSegmentName. */
static void path_segment_check(const json_t *v, const char *field, struct err *err)
{
    const char *s = json_string_value(v);

    if (strcmp(s, ".") == 0)
        err_field_invalid(err, field, v, "may not be '.'");
    else if (strcmp(s, "..") == 0)
        err_field_invalid(err, field, v, "may not be '..'");
    if (strchr(s, '/'))
        err_field_invalid(err, field, v, "may not contain '/'");
    if (strchr(s, '%'))
        err_field_invalid(err, field, v, "may not contain '%%'");
}

static void crossref_validate(const json_t *ref, const char *field, struct err *err)
{
    static const char *const keys[] = {"kind", "name"};
    char f[160];

    for (int i = 0; i < 2; i++) {
        const json_t *v = json_object_get(ref, keys[i]);

        res__path(f, sizeof f, "%s.%s", field, keys[i]);
        if (!json_is_string(v) || !*json_string_value(v))
            err_field_required(err, f, "");
        else
            path_segment_check(v, f, err);
    }
}

/* The sign of a quantity field: 1 positive, 0 zero or negative, -1 absent or not a quantity. */
static int qty_positive(const json_t *v)
{
    int64_t m;
    char buf[64];
    const char *s = json_string_value(v);

    if (json_is_integer(v) || json_is_real(v)) {
        snprintf(buf, sizeof buf, "%g", json_number_value(v));
        s = buf;
    }
    if (!s || quantity_parse_milli(s, &m) < 0)
        return -1;
    return m > 0;
}

static void target_validate(const json_t *t, const char *field, struct err *err)
{
    const char *type = jx_str(t, "type");
    const json_t *au = json_object_get(t, "averageUtilization");
    char f[160];

    res__path(f, sizeof f, "%s.type", field);
    if (!type || !*type)
        err_field_required(err, f, "must specify a metric target type");
    else if (strcmp(type, "Utilization") && strcmp(type, "Value") && strcmp(type, "AverageValue"))
        err_field_invalid(err, f, json_object_get(t, "type"),
                          "must be either Utilization, Value, or AverageValue");
    res__path(f, sizeof f, "%s.value", field);
    if (qty_positive(json_object_get(t, "value")) == 0)
        err_field_invalid(err, f, json_object_get(t, "value"), "must be positive");
    res__path(f, sizeof f, "%s.averageValue", field);
    if (qty_positive(json_object_get(t, "averageValue")) == 0)
        err_field_invalid(err, f, json_object_get(t, "averageValue"), "must be positive");
    res__path(f, sizeof f, "%s.averageUtilization", field);
    if (json_is_integer(au) && json_integer_value(au) < 1)
        err_field_invalid(err, f, au, "must be greater than 0");
}

static int has(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return v && !json_is_null(v);
}

static void resource_source_validate(const json_t *src, const char *field, int container,
                                     struct err *err)
{
    const json_t *t = json_object_get(src, "target");
    const char *c = jx_str(src, "container");
    char f[160], msg[256];

    res__path(f, sizeof f, "%s.name", field);
    if (!jx_str(src, "name") || !*jx_str(src, "name"))
        err_field_required(err, f, "must specify a resource name");
    if (container) {
        res__path(f, sizeof f, "%s.container", field);
        if (!c || !*c)
            err_field_required(err, f, "must specify a container");
        else if (!res__is_dns1123_label(c, msg, sizeof msg))
            err_field_invalid(err, f, json_object_get(src, "container"), "%s", msg);
    }
    res__path(f, sizeof f, "%s.target", field);
    target_validate(t, f, err);
    if (!has(t, "averageUtilization") && !has(t, "averageValue")) {
        res__path(f, sizeof f, "%s.target.averageUtilization", field);
        err_field_required(err, f, "must set either a target raw value or a target utilization");
    }
    if (has(t, "averageUtilization") && has(t, "averageValue")) {
        res__path(f, sizeof f, "%s.target.averageValue", field);
        err_field_forbidden(err, f, "may not set both a target raw value and a target utilization");
    }
}

/* Pods, Object and External sources: metric identifier, target and the target rules. */
static void custom_source_validate(const json_t *src, const char *field, const char *type,
                                   struct err *err)
{
    const json_t *t = json_object_get(src, "target");
    char f[160];

    if (strcmp(type, "Object") == 0) {
        res__path(f, sizeof f, "%s.describedObject", field);
        crossref_validate(json_object_get(src, "describedObject"), f, err);
    }
    res__path(f, sizeof f, "%s.metric.name", field);
    if (!jx_str(src, "metric.name") || !*jx_str(src, "metric.name"))
        err_field_required(err, f, "must specify a metric name");
    res__path(f, sizeof f, "%s.target", field);
    target_validate(t, f, err);
    res__path(f, sizeof f, "%s.target.averageValue", field);
    if (strcmp(type, "Pods") == 0) {
        if (!has(t, "averageValue"))
            err_field_required(err, f, "must specify a positive target averageValue");
    } else if (strcmp(type, "Object") == 0) {
        if (!has(t, "value") && !has(t, "averageValue"))
            err_field_required(err, f, "must set either a target value or averageValue");
    } else {
        if (!has(t, "value") && !has(t, "averageValue"))
            err_field_required(err, f,
                               "must set either a target value for metric or a per-pod target");
        if (has(t, "value") && has(t, "averageValue")) {
            res__path(f, sizeof f, "%s.target.value", field);
            err_field_forbidden(err, f,
                                "may not set both a target value for metric and a per-pod target");
        }
    }
}

static const char *const metric_types[] = {
    "Object", "Pods", "Resource", "External", "ContainerResource", NULL};
static const char *const metric_keys[] = {"object", "pods", "resource", "external",
                                          "containerResource"};

static void metric_validate(const json_t *m, const char *field, struct err *err)
{
    const char *type = jx_str(m, "type");
    int want = -1, present = 0;
    char f[160];

    for (int i = 0; metric_types[i]; i++) {
        if (type && strcmp(type, metric_types[i]) == 0)
            want = i;
        present += has(m, metric_keys[i]);
    }
    res__path(f, sizeof f, "%s.type", field);
    if (!type || !*type)
        err_field_required(err, f, "must specify a metric source type");
    if (want < 0) {
        err_field_unsupported(err, f, json_object_get(m, "type"), metric_types);
        return;
    }
    res__path(f, sizeof f, "%s.%s", field, metric_keys[want]);
    if (!has(m, metric_keys[want]))
        err_field_required(err, f, "must populate information for the given metric source");
    else if (want == 2 || want == 4)
        resource_source_validate(json_object_get(m, metric_keys[want]), f, want == 4, err);
    else
        custom_source_validate(json_object_get(m, metric_keys[want]), f, type, err);
    for (int i = 0; metric_types[i] && present > 1; i++) {
        if (i == want || !has(m, metric_keys[i]))
            continue;
        res__path(f, sizeof f, "%s.%s", field, metric_keys[i]);
        err_field_forbidden(err, f, "must populate the given metric source only");
    }
}

static void policy_validate(const json_t *p, const char *field, struct err *err)
{
    static const char *const types[] = {"Pods", "Percent", NULL};
    const char *type = jx_str(p, "type");
    json_t *v = json_integer(jx_int(p, "value", 0)),
           *per = json_integer(jx_int(p, "periodSeconds", 0));
    json_t *t = json_string(type ? type : "");
    char f[160];

    res__path(f, sizeof f, "%s.type", field);
    if (!type || (strcmp(type, "Pods") && strcmp(type, "Percent")))
        err_field_unsupported(err, f, t, types);
    res__path(f, sizeof f, "%s.value", field);
    if (jx_int(p, "value", 0) <= 0)
        err_field_invalid(err, f, v, "must be greater than zero");
    res__path(f, sizeof f, "%s.periodSeconds", field);
    if (jx_int(p, "periodSeconds", 0) <= 0)
        err_field_invalid(err, f, per, "must be greater than zero");
    if (jx_int(p, "periodSeconds", 0) > 1800)
        err_field_invalid(err, f, per, "must be less than or equal to 1800");
    json_decref(v);
    json_decref(per);
    json_decref(t);
}

static void rules_validate(const json_t *r, const char *field, struct err *err)
{
    static const char *const pols[] = {"Max", "Min", "Disabled", NULL};
    const json_t *w = json_object_get(r, "stabilizationWindowSeconds");
    const json_t *sp = json_object_get(r, "selectPolicy"), *p;
    const char *s = json_string_value(sp);
    char f[160];
    size_t i;

    if (!json_is_object(r))
        return;
    res__path(f, sizeof f, "%s.stabilizationWindowSeconds", field);
    if (json_is_integer(w) && json_integer_value(w) < 0)
        err_field_invalid(err, f, w, "must be greater than or equal to zero");
    if (json_is_integer(w) && json_integer_value(w) > 3600)
        err_field_invalid(err, f, w, "must be less than or equal to 3600");
    res__path(f, sizeof f, "%s.selectPolicy", field);
    if (s && strcmp(s, "Max") && strcmp(s, "Min") && strcmp(s, "Disabled"))
        err_field_unsupported(err, f, sp, pols);
    res__path(f, sizeof f, "%s.policies", field);
    if (json_array_size(json_object_get(r, "policies")) == 0)
        err_field_required(err, f, "must specify at least one Policy");
    json_array_foreach(json_object_get(r, "policies"), i, p)
    {
        res__path(f, sizeof f, "%s.policies[%zu]", field, i);
        policy_validate(p, f, err);
    }
}

void res__hpa_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec"), *m;
    const json_t *minr = json_object_get(spec, "minReplicas");
    json_int_t maxr = jx_int(spec, "maxReplicas", 0);
    json_t *maxv = json_integer(maxr);
    size_t before, i;
    char f[64];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (json_is_integer(minr) && json_integer_value(minr) < 1)
        err_field_invalid(err, "spec.minReplicas", minr, "must be greater than or equal to 1");
    if (maxr < 1)
        err_field_invalid(err, "spec.maxReplicas", maxv, "must be greater than 0");
    if (json_is_integer(minr) && maxr < json_integer_value(minr))
        err_field_invalid(err, "spec.maxReplicas", maxv,
                          "must be greater than or equal to `minReplicas`");
    json_decref(maxv);
    /* As upstream: metrics are checked only with a valid reference, behavior only after. */
    before = err->causes ? json_array_size(err->causes) : 0;
    crossref_validate(json_object_get(spec, "scaleTargetRef"), "spec.scaleTargetRef", err);
    if ((err->causes ? json_array_size(err->causes) : 0) > before)
        return;
    json_array_foreach(json_object_get(spec, "metrics"), i, m)
    {
        res__path(f, sizeof f, "spec.metrics[%zu]", i);
        metric_validate(m, f, err);
    }
    if ((err->causes ? json_array_size(err->causes) : 0) > before)
        return;
    rules_validate(jx_get(spec, "behavior.scaleUp"), "spec.behavior.scaleUp", err);
    rules_validate(jx_get(spec, "behavior.scaleDown"), "spec.behavior.scaleDown", err);
}
