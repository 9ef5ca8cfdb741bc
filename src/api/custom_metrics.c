/* custom.metrics.k8s.io/v1beta2 for Pods metrics only kroll has: what its Service proxy measures
 * for each pod (requests per second and latency over the last 30 s, requests in flight). The
 * shapes are the custom metrics API's (kubernetes/metrics pkg/apis/custom_metrics/v1beta2), so
 * an HPA with a `Pods` metric and `kubectl get --raw` read them as they would read
 * prometheus-adapter's. Nothing is stored: each item is a pod of the store plus the value the
 * server's hook has for it; a pod the proxy has no figure for is left out (as the adapter does),
 * and a get of such a pod is 404. */
#include "api/api-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

#define CM_PREFIX "/apis/custom.metrics.k8s.io/v1beta2/"
#define CM_GROUP "custom.metrics.k8s.io"
#define CM_GV "custom.metrics.k8s.io/v1beta2"

/* The metrics served, each for pods; API_CUSTOM_METRICS in api.h says what they measure. */
static const char *const cm_names[] = API_CUSTOM_METRICS;
#define CM_N (sizeof cm_names / sizeof cm_names[0])

int api__is_custom_metrics(const char *path)
{
    return strncmp(path, CM_PREFIX, sizeof CM_PREFIX - 1) == 0;
}

static int known_metric(const char *m)
{
    for (size_t i = 0; i < CM_N; i++)
        if (strcmp(cm_names[i], m) == 0)
            return 1;
    return 0;
}

/* One MetricValue, or NULL when the hook has no figure for the pod. */
static json_t *metric_value(struct api *api, const json_t *pod, const char *metric,
                            const struct labelsel *msel)
{
    json_t *v, *o;

    if (!api->custom_metrics_fn ||
        !(v = api->custom_metrics_fn(pod, metric, api->custom_metrics_ctx)))
        return NULL;
    /* Our metrics carry no labels: a metricLabelSelector matches them only if it matches an
     * empty label set. */
    if (!labelsel_match(msel, NULL)) {
        json_decref(v);
        return NULL;
    }
    o = json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:s,s:n},s:O,s:O,s:O}", "describedObject", "kind", "Pod",
                  "namespace", jx_str(pod, "metadata.namespace") ?: "", "name",
                  jx_str(pod, "metadata.name") ?: "", "apiVersion", "v1", "metric", "name", metric,
                  "selector", "timestamp", json_object_get(v, "timestamp"), "windowSeconds",
                  json_object_get(v, "windowSeconds"), "value", json_object_get(v, "value"));
    json_decref(v);
    return o;
}

struct cm_item {
    const char *metric;
    const struct labelsel *msel;
};

static json_t *cm_item(struct api *api, const json_t *pod, void *ctx)
{
    const struct cm_item *ci = ctx;

    return metric_value(api, pod, ci->metric, ci->msel);
}

static void not_found(struct http_req *req, const char *metric, const char *name)
{
    struct err err;

    err_init(&err);
    if (name)
        err_set(&err, -E_NOT_FOUND, "the server could not find the metric %s for pods %s", metric,
                name);
    else
        err_set(&err, -E_NOT_FOUND, "the server could not find the metric %s for pods", metric);
    err.details = json_pack("{s:s,s:s}", "group", CM_GROUP, "kind", "pods");
    api__fail(req, &err);
    err_release(&err);
}

/* namespaces/NS/pods/(NAME|*)/METRIC: the only paths with data. */
void api__custom_metrics(struct api *api, struct http_req *req, const char *path)
{
    char buf[1024], *seg[6], *p;
    struct labelsel *sel = NULL, *msel = NULL;
    struct err err;
    int n = 0;

    if (strcmp(req->method, "GET") != 0) {
        api__fail_code(req, -E_METHOD,
                       "the server does not allow this method on the requested resource");
        return;
    }
    snprintf(buf, sizeof buf, "%s", path + sizeof CM_PREFIX - 1);
    for (p = strtok(buf, "/"); p && n < 6; p = strtok(NULL, "/"))
        seg[n++] = p;
    if (p || n != 5 || strcmp(seg[0], "namespaces") != 0 || strcmp(seg[2], "pods") != 0) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    if (!known_metric(seg[4])) {
        not_found(req, seg[4], NULL);
        return;
    }
    err_init(&err);
    if (labelsel_parse(http_req_query(req, "labelSelector") ?: "", &sel, &err) < 0 ||
        labelsel_parse(http_req_query(req, "metricLabelSelector") ?: "", &msel, &err) < 0) {
        api__fail(req, &err);
    } else {
        json_t *items;

        if (strcmp(seg[3], "*") == 0) {
            struct cm_item ci = {seg[4], msel};

            items = api__computed_items(api, "pods", seg[1], sel, NULL, cm_item, &ci);
        } else {
            const json_t *pod = store_get(api->store, "pods", seg[1], seg[3]);
            json_t *o = pod ? metric_value(api, pod, seg[4], msel) : NULL;

            items = json_array();
            if (o)
                json_array_append_new(items, o);
        }
        if (json_array_size(items) == 0 && strcmp(seg[3], "*") != 0) {
            not_found(req, seg[4], seg[3]);
            json_decref(items);
        } else {
            json_t *list = json_pack("{s:s,s:s,s:{},s:o}", "kind", "MetricValueList", "apiVersion",
                                     CM_GV, "metadata", "items", items);

            api__respond_json(req, 200, list);
            json_decref(list);
        }
    }
    err_release(&err);
    labelsel_free(sel);
    labelsel_free(msel);
}

/* ---- discovery ---- */

json_t *api__custom_metrics_agg_group(void)
{
    json_t *res = json_array();

    for (size_t i = 0; i < CM_N; i++) {
        char name[128];

        snprintf(name, sizeof name, "pods/%s", cm_names[i]);
        json_array_append_new(res, json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:s,s:[s]}", "resource",
                                             name, "responseKind", "group", CM_GROUP, "version",
                                             "v1beta2", "kind", "MetricValueList", "scope",
                                             "Namespaced", "singularResource", "", "verbs", "get"));
    }
    return json_pack("{s:{s:s},s:[{s:s,s:o,s:s}]}", "metadata", "name", CM_GROUP, "versions",
                     "version", "v1beta2", "resources", res, "freshness", "Current");
}

json_t *api__custom_metrics_resource_list(void)
{
    json_t *res = json_array();

    for (size_t i = 0; i < CM_N; i++) {
        char name[128];

        snprintf(name, sizeof name, "pods/%s", cm_names[i]);
        json_array_append_new(res, json_pack("{s:s,s:s,s:b,s:s,s:[s]}", "name", name,
                                             "singularName", "", "namespaced", 1, "kind",
                                             "MetricValueList", "verbs", "get"));
    }
    return json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                     "groupVersion", CM_GV, "resources", res);
}
