/* argoproj.io/v1alpha1 Rollout (progressive-delivery.md sections 2.1-2.6): defaults and the
 * rules Argo's controller reports as InvalidSpec, refused here with 422 and field causes in
 * Argo's words, so a bad spec never reaches the controller. Features kroll does not run yet
 * (other traffic routers, experiment and plugin steps) are refused by name rather than
 * ignored: a Rollout that is accepted runs as Argo would run it. */
#include <stdio.h>
#include <string.h>

#include "core/jx.h"
#include "resources/res-int.h"

#define RO_MAX_STEPS 100

void res__rollout_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec");

    if (!spec)
        return;
    res__dset(spec, "replicas", json_integer(1));
    res__podtemplate_default(json_object_get(spec, "template"));
}

static int is_set(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return v && !json_is_null(v);
}

static void unsupported(struct err *err, const char *field, const char *what)
{
    err_cause(err, "FieldValueForbidden", field, "Forbidden: %s", what);
}

static void pause_validate(const json_t *p, const char *field, struct err *err)
{
    const json_t *d = json_object_get(p, "duration");
    int64_t ms;
    char f[200];

    if (!d || json_is_null(d))
        return;
    res__path(f, sizeof f, "%s.duration", field);
    if (duration_parse_ms(d, &ms) < 0)
        err_field_invalid(err, f, d,
                          "Duration needs to be a non-negative number of seconds "
                          "or a duration such as 10s, 5m or 1h");
}

/* setHeaderRoute {name, match[{headerName, headerValue{exact|prefix|regex}}]}: Argo's rules
 * (traffic routing, a managed route of that name), and kroll's proxy matches exact values. */
static void header_route_validate(const json_t *hr, const json_t *canary, const char *field,
                                  struct err *err)
{
    const char *name = jx_str(hr, "name");
    const json_t *m, *mr;
    size_t i;
    int found = 0;
    char f[260];

    if (!is_set(canary, "trafficRouting")) {
        err_field_invalid(err, field, hr, "SetHeaderRoute requires TrafficRouting to be set");
        return;
    }
    json_array_foreach(jx_get(canary, "trafficRouting.managedRoutes"), i, mr) found |=
        name && !strcmp(jx_str(mr, "name") ?: "", name);
    res__path(f, sizeof f, "%s.name", field);
    if (!found)
        err_field_invalid(err, f, json_object_get(hr, "name"),
                          "SetHeaderRoute has an invalid name; it must be one of the "
                          "trafficRouting.managedRoutes");
    json_array_foreach(json_object_get(hr, "match"), i, m)
    {
        res__path(f, sizeof f, "%s.match[%zu].headerName", field, i);
        if (!jx_str(m, "headerName") || !*jx_str(m, "headerName"))
            err_field_required(err, f, NULL);
        res__path(f, sizeof f, "%s.match[%zu].headerValue", field, i);
        if (!jx_str(m, "headerValue.exact") || !*jx_str(m, "headerValue.exact"))
            unsupported(err, f,
                        "kroll's Gateway API routes match exact header values only "
                        "(headerValue.exact)");
    }
}

/* trafficRouting: Argo's Gateway API plugin (argoproj-labs/gatewayAPI) with an HTTPRoute,
 * which kroll's proxy serves; every other router is refused by name. */
static void traffic_validate(const json_t *c, struct err *err)
{
    const json_t *tr = json_object_get(c, "trafficRouting"), *plugins, *gw, *v;
    const char *k;
    size_t i;

    if (!is_set(c, "trafficRouting"))
        return;
    json_object_foreach((json_t *)tr, k, v)
    {
        char f[160];

        if (!strcmp(k, "plugins") || !strcmp(k, "managedRoutes") || !strcmp(k, "maxTrafficWeight"))
            continue;
        res__path(f, sizeof f, "spec.strategy.canary.trafficRouting.%s", k);
        unsupported(err, f,
                    "kroll routes traffic through the Gateway API: use trafficRouting.plugins "
                    "argoproj-labs/gatewayAPI with an HTTPRoute");
    }
    if (is_set(tr, "maxTrafficWeight") && jx_int(tr, "maxTrafficWeight", 100) != 100)
        unsupported(err, "spec.strategy.canary.trafficRouting.maxTrafficWeight",
                    "kroll supports the default maxTrafficWeight 100 only");
    plugins = json_object_get(tr, "plugins");
    json_object_foreach((json_t *)plugins, k, v)
    {
        char f[200];

        if (strcmp(k, "argoproj-labs/gatewayAPI")) {
            res__path(f, sizeof f, "spec.strategy.canary.trafficRouting.plugins.%s", k);
            unsupported(err, f, "kroll implements the plugin argoproj-labs/gatewayAPI only");
        }
    }
    gw = json_object_get(plugins, "argoproj-labs/gatewayAPI");
    if (!gw) {
        err_field_required(err, "spec.strategy.canary.trafficRouting.plugins",
                           "argoproj-labs/gatewayAPI with httpRoute or httpRoutes");
        return;
    }
    if (!jx_str(gw, "httpRoute") && !json_array_size(json_object_get(gw, "httpRoutes")))
        err_field_required(err,
                           "spec.strategy.canary.trafficRouting.plugins.argoproj-labs/"
                           "gatewayAPI.httpRoute",
                           "kroll routes HTTPRoutes (httpRoute or httpRoutes)");
    json_array_foreach(json_object_get(gw, "httpRoutes"), i, v) if (!jx_str(v, "name"))
        err_field_required(err,
                           "spec.strategy.canary.trafficRouting.plugins.argoproj-labs/"
                           "gatewayAPI.httpRoutes.name",
                           NULL);
    if (!jx_str(c, "canaryService") || !jx_str(c, "stableService"))
        err_field_invalid(err, "spec.strategy.canary.trafficRouting", tr,
                          "Canary service and Stable service must be set for traffic routing");
    if (is_set(c, "dynamicStableScale"))
        unsupported(err, "spec.strategy.canary.dynamicStableScale",
                    "dynamicStableScale is not supported by kroll yet");
}

/* One step: exactly one key, each with Argo's rule. */
static void step_validate(const json_t *st, const json_t *canary, const char *field,
                          struct err *err)
{
    static const char *const keys[] = {"setWeight",  "pause",  "analysis",       "setCanaryScale",
                                       "experiment", "plugin", "setHeaderRoute", "setMirrorRoute"};
    const char *which = NULL;
    size_t n = 0;
    char f[200];

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (is_set(st, keys[i])) {
            n++;
            which = keys[i];
        }
    if (n != 1) {
        err_field_invalid(err, field, st,
                          "Step must have one of the following set: experiment, setWeight, "
                          "setCanaryScale or pause");
        return;
    }
    res__path(f, sizeof f, "%s.%s", field, which);
    if (!strcmp(which, "setWeight")) {
        json_int_t w = jx_int(st, "setWeight", -1);

        if (w < 0 || w > 100)
            err_field_invalid(err, f, json_object_get(st, "setWeight"),
                              "SetWeight needs to be between 0 and 100");
    } else if (!strcmp(which, "pause")) {
        pause_validate(json_object_get(st, "pause"), f, err);
    } else if (!strcmp(which, "analysis")) {
        if (json_array_size(jx_get(st, "analysis.templates")) == 0)
            err_field_required(err, f, "analysis step must reference at least one template");
    } else if (!strcmp(which, "setHeaderRoute")) {
        header_route_validate(json_object_get(st, which), canary, f, err);
    } else if (!strcmp(which, "setCanaryScale")) {
        if (!is_set(canary, "trafficRouting"))
            err_field_invalid(err, f, json_object_get(st, which),
                              "SetCanaryScale requires TrafficRouting to be set");
    } else {
        char msg[200];

        snprintf(msg, sizeof msg, "%s steps are not supported by kroll", which);
        unsupported(err, f, msg);
    }
}

/* A RolloutAnalysis (background, pre- or post-promotion): at least one template, each named. */
static void ro_analysis_validate(const json_t *an, const char *field, struct err *err)
{
    const json_t *ts = json_object_get(an, "templates"), *t;
    char f[200];
    size_t i;

    if (!an || json_is_null(an))
        return;
    res__path(f, sizeof f, "%s.templates", field);
    if (!json_is_object(an) || json_array_size(ts) == 0) {
        err_field_required(err, f, "analysis must reference at least one template");
        return;
    }
    json_array_foreach(ts, i, t)
    {
        const char *n = jx_str(t, "templateName");

        res__path(f, sizeof f, "%s.templates[%zu].templateName", field, i);
        if (!n || !*n)
            err_field_required(err, f, "");
    }
}

static void canary_validate(const json_t *c, struct err *err)
{
    const json_t *steps = json_object_get(c, "steps");
    const json_t *ms = json_object_get(c, "maxSurge"), *mu = json_object_get(c, "maxUnavailable");
    const char *cs = jx_str(c, "canaryService"), *ss = jx_str(c, "stableService");
    long long vs = 1, vu = 1;
    int ps, pu;
    char f[200];

    res__intstr_nonneg(ms, "spec.strategy.canary.maxSurge", err);
    res__intstr_nonneg(mu, "spec.strategy.canary.maxUnavailable", err);
    res__intstr_le100pct(mu, "spec.strategy.canary.maxUnavailable", err);
    if (ms && res__intstr_parse(ms, &vs, &ps) < 0)
        vs = 1;
    if (mu && res__intstr_parse(mu, &vu, &pu) < 0)
        vu = 1;
    if (ms && mu && vs == 0 && vu == 0)
        err_field_invalid(err, "spec.strategy.canary.maxUnavailable", mu,
                          "MaxSurge and MaxUnavailable both can not be zero");
    if (cs && ss && *cs && !strcmp(cs, ss))
        err_field_invalid(err, "spec.strategy.canary.stableService",
                          json_object_get(c, "stableService"),
                          "This rollout uses the same service for the stable and canary services, "
                          "but two different services are required.");
    traffic_validate(c, err);
    if (is_set(c, "scaleDownDelaySeconds") && !is_set(c, "trafficRouting"))
        err_field_invalid(err, "spec.strategy.canary.scaleDownDelaySeconds",
                          json_object_get(c, "scaleDownDelaySeconds"),
                          "Canary scaleDownDelaySeconds can only be used with traffic routing");
    if (is_set(c, "abortScaleDownDelaySeconds") && !is_set(c, "trafficRouting"))
        err_field_invalid(err, "spec.strategy.canary.abortScaleDownDelaySeconds",
                          json_object_get(c, "abortScaleDownDelaySeconds"),
                          "abortScaleDownDelaySeconds can only be used with traffic routing");
    ro_analysis_validate(json_object_get(c, "analysis"), "spec.strategy.canary.analysis", err);
    /* Argo takes any startingStep (past the last step: no background run); a negative one is
     * refused here. */
    if (json_is_integer(jx_get(c, "analysis.startingStep")) &&
        jx_int(c, "analysis.startingStep", 0) < 0)
        err_field_invalid(err, "spec.strategy.canary.analysis.startingStep",
                          jx_get(c, "analysis.startingStep"), "must be greater than or equal to 0");
    if (json_array_size(steps) > RO_MAX_STEPS) {
        err_cause(err, "FieldValueTooMany", "spec.strategy.canary.steps",
                  "Too many: %zu: must have at most %d items", json_array_size(steps),
                  RO_MAX_STEPS);
        return;
    }
    for (size_t i = 0; i < json_array_size(steps); i++) {
        res__path(f, sizeof f, "spec.strategy.canary.steps[%zu]", i);
        step_validate(json_array_get(steps, i), c, f, err);
    }
}

static void bluegreen_validate(const json_t *b, struct err *err)
{
    const char *as = jx_str(b, "activeService"), *ps = jx_str(b, "previewService");

    if (!as || !*as)
        err_field_required(err, "spec.strategy.blueGreen.activeService", "");
    if (as && ps && *ps && !strcmp(as, ps))
        err_field_invalid(err, "spec.strategy.blueGreen.previewService",
                          json_object_get(b, "previewService"),
                          "This rollout uses the same service for the active and preview "
                          "services, but two different services are required.");
    res__nonneg(b, "autoPromotionSeconds", "spec.strategy.blueGreen.autoPromotionSeconds", err);
    res__nonneg(b, "previewReplicaCount", "spec.strategy.blueGreen.previewReplicaCount", err);
    res__nonneg(b, "scaleDownDelaySeconds", "spec.strategy.blueGreen.scaleDownDelaySeconds", err);
    res__nonneg(b, "abortScaleDownDelaySeconds",
                "spec.strategy.blueGreen.abortScaleDownDelaySeconds", err);
    res__intstr_nonneg(json_object_get(b, "maxUnavailable"),
                       "spec.strategy.blueGreen.maxUnavailable", err);
    ro_analysis_validate(json_object_get(b, "prePromotionAnalysis"),
                         "spec.strategy.blueGreen.prePromotionAnalysis", err);
    ro_analysis_validate(json_object_get(b, "postPromotionAnalysis"),
                         "spec.strategy.blueGreen.postPromotionAnalysis", err);
}

/* workloadRef {apiVersion apps/v1, kind Deployment, name, scaleDown}: the Deployment gives
 * the template (and the selector when none is set), so the Rollout's own must be empty. */
static void workload_validate(const json_t *spec, struct err *err)
{
    const json_t *wr = json_object_get(spec, "workloadRef"), *t = json_object_get(spec, "template");
    const char *sd = jx_str(wr, "scaleDown");

    if (!json_is_object(wr)) {
        err_field_invalid(err, "spec.workloadRef", wr, "must be an object");
        return;
    }
    if (strcmp(jx_str(wr, "apiVersion") ?: "", "apps/v1") != 0 ||
        strcmp(jx_str(wr, "kind") ?: "", "Deployment") != 0)
        unsupported(err, "spec.workloadRef",
                    "kroll takes the pod template from an apps/v1 Deployment only "
                    "(apiVersion: apps/v1, kind: Deployment)");
    if (!jx_str(wr, "name") || !*jx_str(wr, "name"))
        err_field_required(err, "spec.workloadRef.name", NULL);
    if (sd && *sd && strcmp(sd, "never") && strcmp(sd, "onsuccess") && strcmp(sd, "progressively"))
        err_cause(err, "FieldValueNotSupported", "spec.workloadRef.scaleDown",
                  "Unsupported value: \"%s\": supported values: \"never\", \"onsuccess\", "
                  "\"progressively\"",
                  sd);
    /* Argo's EmptyTemplate looks at labels and annotations; a pod spec would be ignored as
     * silently, so kroll refuses it too. */
    if (json_object_size(jx_get(t, "metadata.labels")) ||
        json_object_size(jx_get(t, "metadata.annotations")) ||
        json_array_size(jx_get(t, "spec.containers")))
        err_cause(err, "FieldValueInternal", "spec.template",
                  "Internal error: template must be empty for workload reference rollout");
    if (is_set(spec, "selector") && !json_object_size(jx_get(spec, "selector.matchLabels")) &&
        !json_array_size(jx_get(spec, "selector.matchExpressions")))
        err_field_invalid(err, "spec.selector", json_object_get(spec, "selector"),
                          "empty selector is invalid for deployment");
}

void res__rollout_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(spec, "strategy");
    const json_t *pds = json_object_get(spec, "progressDeadlineSeconds");
    int c = is_set(st, "canary"), b = is_set(st, "blueGreen");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    res__nonneg(spec, "replicas", "spec.replicas", err);
    res__nonneg(spec, "minReadySeconds", "spec.minReadySeconds", err);
    res__nonneg(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", err);
    res__nonneg(json_object_get(spec, "rollbackWindow"), "revisions",
                "spec.rollbackWindow.revisions", err);
    res__nonneg(json_object_get(spec, "analysis"), "successfulRunHistoryLimit",
                "spec.analysis.successfulRunHistoryLimit", err);
    res__nonneg(json_object_get(spec, "analysis"), "unsuccessfulRunHistoryLimit",
                "spec.analysis.unsuccessfulRunHistoryLimit", err);
    if (is_set(spec, "workloadRef"))
        workload_validate(spec, err);
    else
        res__workload_selector_template(spec, "rollout", err);
    if (json_is_integer(pds) && json_integer_value(pds) <= jx_int(spec, "minReadySeconds", 0))
        err_field_invalid(err, "spec.progressDeadlineSeconds", pds,
                          "progressDeadlineSeconds must be greater than minReadySeconds");
    if (is_set(spec, "restartAt") && time_parse(jx_str(spec, "restartAt") ?: "") < 0)
        err_field_invalid(err, "spec.restartAt", json_object_get(spec, "restartAt"),
                          "must be an RFC 3339 time");
    if (c && b)
        err_cause(err, "FieldValueInvalid", "spec.strategy",
                  "Invalid value: \"canary, blueGreen\": Multiple Strategies can not be listed");
    else if (!c && !b)
        err_field_required(err, "spec.strategy",
                           "Rollout needs exactly one of canary or blueGreen");
    if (c)
        canary_validate(json_object_get(st, "canary"), err);
    if (b)
        bluegreen_validate(json_object_get(st, "blueGreen"), err);
    if (old)
        res__selector_immutable(obj, old, err);
}
