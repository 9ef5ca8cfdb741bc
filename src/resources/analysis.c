/* argoproj.io/v1alpha1 AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun: validation
 * with field paths. Argo itself checks these in its controller (analysisutil ValidateMetric)
 * and marks a bad run Error; kroll refuses them at the API (422 with causes) instead, with
 * Argo's wording, so `kubectl apply` says what is wrong. Argo defaults nothing in the API
 * (no webhook), so neither does kroll: the controller applies the defaults when it measures.
 * Values holding `{{args.x}}` are checked only once the run has substituted them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dur.h"
#include "core/expr.h"
#include "resources/res-int.h"

#define AR_MAX_METRICS 64
#define AR_MAX_ARGS 64

static const char *const providers[] = {
    "prometheus", "kayenta",  "web",      "datadog",    "wavefront", "newRelic", "job",
    "cloudWatch", "graphite", "influxdb", "skywalking", "plugin",    NULL};

static int templated(const char *s)
{
    return s && strstr(s, "{{") != NULL;
}

/* An IntOrString limit: an integer, or a string holding one or an argument. Returns 1 and
 * sets *v when the value is known, 0 when absent or templated, -1 (cause added) when bad. */
static int limit_get(const json_t *m, const char *key, const char *field, long long min,
                     long long *v, struct err *err)
{
    const json_t *x = json_object_get(m, key);
    char f[160], *end;

    res__path(f, sizeof f, "%s.%s", field, key);
    if (!x || json_is_null(x))
        return 0;
    if (json_is_integer(x)) {
        *v = json_integer_value(x);
    } else if (json_is_string(x)) {
        if (templated(json_string_value(x)))
            return 0;
        *v = strtoll(json_string_value(x), &end, 10);
        if (!*json_string_value(x) || *end) {
            err_field_invalid(err, f, x, "must be an integer or an {{args.NAME}} reference");
            return -1;
        }
    } else {
        return 0;
    }
    if (*v < min) {
        err_field_invalid(err, f, x, "must be greater than or equal to %lld", min);
        return -1;
    }
    return 1;
}

static void duration_check(const json_t *m, const char *key, const char *field, struct err *err)
{
    const char *s = json_string_value(json_object_get(m, key));
    char f[160];
    int64_t ms;

    if (!s || templated(s))
        return;
    res__path(f, sizeof f, "%s.%s", field, key);
    if (dur_parse(s, &ms) < 0)
        err_field_invalid(err, f, json_object_get(m, key),
                          "invalid duration: use a number with a unit such as 30s, 5m or 1h");
    else if (ms < 0)
        err_field_invalid(err, f, json_object_get(m, key), "must not be negative");
}

/* A condition that does not parse would fail every measurement: refuse it now. */
static void condition_check(const json_t *m, const char *key, const char *field, struct err *err)
{
    const char *s = json_string_value(json_object_get(m, key));
    char f[160], msg[256];

    if (!s || !*s || templated(s))
        return;
    res__path(f, sizeof f, "%s.%s", field, key);
    if (expr_check(s, msg, sizeof msg) < 0)
        err_field_invalid(err, f, json_object_get(m, key), "%s", msg);
}

/* The job provider needs a Job spec with a pod template (Argo's CRD requires both); the rest
 * is the Job's own validation when the controller creates it. */
static void job_check(const json_t *job, const char *field, struct err *err)
{
    char f[160];

    if (!json_is_object(job))
        return;
    res__path(f, sizeof f, "%s.provider.job.spec", field);
    if (!json_is_object(json_object_get(job, "spec")))
        err_field_required(err, f, "");
    else if (!json_is_object(json_object_get(json_object_get(job, "spec"), "template")))
        err_field_required(err, strncat(f, ".template", sizeof f - strlen(f) - 1), "");
}

static void provider_check(const json_t *p, const char *field, struct err *err)
{
    const json_t *web = json_object_get(p, "web"), *prom = json_object_get(p, "prometheus");
    const char *method = json_string_value(json_object_get(web, "method"));
    char f[160];
    int n = 0;

    for (int i = 0; providers[i]; i++)
        n += json_object_get(p, providers[i]) && !json_is_null(json_object_get(p, providers[i]));
    res__path(f, sizeof f, "%s.provider", field);
    if (n == 0)
        err_field_required(err, f, "no provider specified (one of web, prometheus, job)");
    else if (n > 1)
        err_field_forbidden(err, f, "multiple providers specified");
    if (json_is_object(web)) {
        const char *url = json_string_value(json_object_get(web, "url"));

        res__path(f, sizeof f, "%s.provider.web.url", field);
        if (!url || !*url)
            err_field_required(err, f, "");
        else if (!templated(url) && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
            err_field_invalid(err, f, json_object_get(web, "url"),
                              "must start with http:// or https://");
        res__path(f, sizeof f, "%s.provider.web.method", field);
        if (method && *method && strcmp(method, "GET") && strcmp(method, "POST") &&
            strcmp(method, "PUT")) {
            static const char *const ms[] = {"GET", "POST", "PUT", NULL};
            err_field_unsupported(err, f, json_object_get(web, "method"), ms);
        }
        res__path(f, sizeof f, "%s.provider.web", field);
        if (json_object_get(web, "body") && json_object_get(web, "jsonBody"))
            err_field_forbidden(err, f, "use either body or jsonBody; both cannot exist");
        else if ((json_object_get(web, "body") || json_object_get(web, "jsonBody")) &&
                 (!method || !strcmp(method, "GET")))
            err_field_forbidden(err, f,
                                "body can only be used with POST or PUT WebMetric Method "
                                "types");
        res__path(f, sizeof f, "%s.provider.web.timeoutSeconds", field);
        res__nonneg(web, "timeoutSeconds", f, err);
    }
    if (json_is_object(prom)) {
        const char *q = json_string_value(json_object_get(prom, "query"));

        res__path(f, sizeof f, "%s.provider.prometheus.query", field);
        if (!q || !*q)
            err_field_required(err, f, "");
        res__path(f, sizeof f, "%s.provider.prometheus.timeout", field);
        res__nonneg(prom, "timeout", f, err);
    }
    job_check(json_object_get(p, "job"), field, err);
}

static void metric_check(const json_t *m, size_t i, const json_t *metrics, struct err *err)
{
    const char *name = json_string_value(json_object_get(m, "name"));
    long long count = 0, fl = 0, il = 0, v;
    int have_count;
    char field[64], f[160];

    snprintf(field, sizeof field, "spec.metrics[%zu]", i);
    res__path(f, sizeof f, "%s.name", field);
    if (!name || !*name) {
        err_field_required(err, f, "");
    } else {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(metrics, j), "name"))
                            ?: "",
                        name)) {
                err_field_duplicate(err, f, json_object_get(m, "name"));
                break;
            }
    }
    duration_check(m, "interval", field, err);
    duration_check(m, "initialDelay", field, err);
    have_count = limit_get(m, "count", field, 0, &count, err);
    if (limit_get(m, "failureLimit", field, -1, &v, err) > 0)
        fl = v;
    if (limit_get(m, "inconclusiveLimit", field, 0, &v, err) > 0)
        il = v;
    limit_get(m, "consecutiveErrorLimit", field, 0, &v, err);
    limit_get(m, "consecutiveSuccessLimit", field, 0, &v, err);
    res__path(f, sizeof f, "%s.count", field);
    if (have_count > 0 && count > 1 && !json_string_value(json_object_get(m, "interval")))
        err_field_invalid(err, f, json_object_get(m, "count"),
                          "more than one measurement was specified, but no interval was specified");
    if (have_count > 0 && count > 0 && count < fl)
        err_field_invalid(err, f, json_object_get(m, "count"), "count must be >= failureLimit");
    if (have_count > 0 && count > 0 && count < il)
        err_field_invalid(err, f, json_object_get(m, "count"),
                          "count must be >= inconclusiveLimit");
    condition_check(m, "successCondition", field, err);
    condition_check(m, "failureCondition", field, err);
    provider_check(json_object_get(m, "provider"), field, err);
}

static void args_check(const json_t *args, struct err *err)
{
    const json_t *a;
    size_t i;
    char f[96];

    if (json_array_size(args) > AR_MAX_ARGS)
        err_field_invalid(err, "spec.args", NULL, "at most %d arguments", AR_MAX_ARGS);
    json_array_foreach(args, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        const json_t *vf = json_object_get(a, "valueFrom");
        int n;

        snprintf(f, sizeof f, "spec.args[%zu].name", i);
        if (!name || !*name)
            err_field_required(err, f, "");
        for (size_t j = 0; name && j < i; j++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(args, j), "name")) ?: "",
                        name)) {
                err_field_duplicate(err, f, json_object_get(a, "name"));
                break;
            }
        if (!vf || json_is_null(vf))
            continue;
        snprintf(f, sizeof f, "spec.args[%zu].valueFrom", i);
        if (json_object_get(a, "value"))
            err_field_forbidden(err, f, "value and valueFrom cannot both be set");
        n = !!json_object_get(vf, "secretKeyRef") + !!json_object_get(vf, "fieldRef") +
            !!json_object_get(vf, "podTemplateHashValue");
        if (n != 1)
            err_field_invalid(err, f, NULL,
                              "exactly one of secretKeyRef, fieldRef or podTemplateHashValue");
    }
}

static void names_check(const json_t *list, const char *what, struct err *err)
{
    const json_t *e;
    size_t i;
    char f[96];

    json_array_foreach(list, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "metricName"));

        snprintf(f, sizeof f, "spec.%s[%zu].metricName", what, i);
        if (!n || !*n)
            err_field_required(err, f, "");
    }
}

static void spec_check(const json_t *spec, int need_metrics, struct err *err)
{
    const json_t *metrics = json_object_get(spec, "metrics"), *m;
    size_t i;

    if (json_array_size(metrics) == 0 && need_metrics)
        err_field_required(err, "spec.metrics", "at least one metric is required");
    if (json_array_size(metrics) > AR_MAX_METRICS)
        err_field_invalid(err, "spec.metrics", NULL, "at most %d metrics", AR_MAX_METRICS);
    json_array_foreach(metrics, i, m) metric_check(m, i, metrics, err);
    args_check(json_object_get(spec, "args"), err);
    names_check(json_object_get(spec, "dryRun"), "dryRun", err);
    names_check(json_object_get(spec, "measurementRetention"), "measurementRetention", err);
}

void res__analysistemplate_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    spec_check(spec, json_array_size(json_object_get(spec, "templates")) == 0, err);
}

void res__clusteranalysistemplate_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 0, err);
    spec_check(spec, json_array_size(json_object_get(spec, "templates")) == 0, err);
}

void res__analysisrun_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *ttl = json_object_get(json_object_get(obj, "spec"), "ttlStrategy");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    spec_check(json_object_get(obj, "spec"), 1, err);
    res__nonneg(ttl, "secondsAfterCompletion", "spec.ttlStrategy.secondsAfterCompletion", err);
    res__nonneg(ttl, "secondsAfterFailure", "spec.ttlStrategy.secondsAfterFailure", err);
    res__nonneg(ttl, "secondsAfterSuccess", "spec.ttlStrategy.secondsAfterSuccess", err);
}
