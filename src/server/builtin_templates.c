/* ClusterAnalysisTemplates named like Flagger's built-in checks, created at start when absent:
 * request-success-rate (the share of non-5xx answers of one revision of a Service, at least
 * args.min) and request-duration (its p99 latency in milliseconds, at most args.max). Both use
 * the prometheus provider without an address, which kroll answers from its proxy's figures
 * (core/promql.h, the series of proxy/stats.c): on a cluster with a Prometheus scraping kroll's
 * proxy, or with templates of the same names querying its own metrics, the Rollouts that
 * reference them work unchanged. No traffic in the window is neither success nor failure:
 * the measurement is Inconclusive. */
#include "server/builtin_templates.h"

#include <jansson.h>
#include <string.h>

#include "core/log.h"

/* Inside a JSON string: the quotes are escaped. */
#define SELECTOR                                                                                   \
    "namespace=\\\"{{args.namespace}}\\\",service=\\\"{{args.service-name}}\\\","                  \
    "revision=\\\"{{args.canary-hash}}\\\""

static const char success_rate[] =
    "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"ClusterAnalysisTemplate\","
    "\"metadata\":{\"name\":\"request-success-rate\","
    "\"labels\":{\"app.kubernetes.io/managed-by\":\"kroll\"}},"
    "\"spec\":{\"args\":[{\"name\":\"service-name\"},{\"name\":\"namespace\"},"
    "{\"name\":\"canary-hash\"},{\"name\":\"min\",\"value\":\"0.99\"},"
    "{\"name\":\"window\",\"value\":\"5m\"}],"
    "\"metrics\":[{\"name\":\"request-success-rate\","
    "\"successCondition\":\"len(result) > 0 && result[0] >= {{args.min}}\","
    "\"failureCondition\":\"len(result) > 0 && result[0] < {{args.min}}\","
    "\"provider\":{\"prometheus\":{\"query\":"
    "\"sum(rate(kroll_http_requests_total{" SELECTOR ",code_class!=\\\"5xx\\\"}"
    "[{{args.window}}])) / sum(rate(kroll_http_requests_total{" SELECTOR "}[{{args.window}}]))"
    "\"}}}]}}";

static const char duration[] =
    "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"ClusterAnalysisTemplate\","
    "\"metadata\":{\"name\":\"request-duration\","
    "\"labels\":{\"app.kubernetes.io/managed-by\":\"kroll\"}},"
    "\"spec\":{\"args\":[{\"name\":\"service-name\"},{\"name\":\"namespace\"},"
    "{\"name\":\"canary-hash\"},{\"name\":\"max\",\"value\":\"500\"},"
    "{\"name\":\"window\",\"value\":\"5m\"}],"
    "\"metrics\":[{\"name\":\"request-duration\","
    "\"successCondition\":\"len(result) > 0 && result[0] <= {{args.max}}\","
    "\"failureCondition\":\"len(result) > 0 && result[0] > {{args.max}}\","
    "\"provider\":{\"prometheus\":{\"query\":"
    "\"histogram_quantile(0.99, sum by (le) "
    "(rate(kroll_http_request_duration_seconds_bucket{" SELECTOR
    "}[{{args.window}}]))) * 1000\"}}}]}}";

static void ensure(struct api *api, const char *text)
{
    const struct resource *r = scheme_resource(RES_CLUSTERANALYSISTEMPLATE);
    struct api_wopts o = {.grace = -1};
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr), *out = NULL;
    const char *name =
        obj ? json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) : NULL;
    struct err err;

    BUG_ON(!name); /* the text above is JSON */
    err_init(&err);
    if (!api_get(api, r, NULL, name) && api_create(api, r, NULL, obj, &o, &out, &err) < 0)
        log_warn("server",
                 "msg=\"cannot create the built-in analysis template\" name=%s "
                 "err=\"%s\"",
                 name, err.msg);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
}

void builtin_templates_ensure(struct api *api)
{
    ensure(api, success_rate);
    ensure(api, duration);
}
