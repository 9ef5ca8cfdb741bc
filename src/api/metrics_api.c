/* metrics.k8s.io/v1beta1 as metrics-server serves it: PodMetrics and NodeMetrics, get and list
 * (one namespace or all, labelSelector and fieldSelector on the pod's or node's own fields).
 * Nothing is stored: each object is the pod or node of the store plus the usage the node's
 * hook computes; a pod or node the hook has no complete sample for is absent (404 on get). */
#include "api/api-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

#define METRICS_PREFIX "/apis/metrics.k8s.io/v1beta1/"
#define METRICS_GV "metrics.k8s.io/v1beta1"

int api__is_metrics(const char *path)
{
    return strncmp(path, METRICS_PREFIX, sizeof METRICS_PREFIX - 1) == 0;
}

struct mreq {
    int pods;         /* PodMetrics, else NodeMetrics */
    const char *ns;   /* NULL: all namespaces (or nodes) */
    const char *name; /* NULL: list */
    struct labelsel *ls;
    struct fieldsel *fs;
    char buf[1024];
};

/* nodes[/NAME], pods, namespaces/NS/pods[/NAME]. 0, or -E_NOT_FOUND. */
static int mreq_parse(const char *path, struct mreq *m)
{
    char *seg[5], *p;
    int n = 0;

    snprintf(m->buf, sizeof m->buf, "%s", path + sizeof METRICS_PREFIX - 1);
    for (p = strtok(m->buf, "/"); p && n < 5; p = strtok(NULL, "/"))
        seg[n++] = p;
    if (p || n == 0)
        return -E_NOT_FOUND;
    if (strcmp(seg[0], "nodes") == 0 && n <= 2) {
        m->name = n == 2 ? seg[1] : NULL;
        return 0;
    }
    m->pods = 1;
    if (strcmp(seg[0], "pods") == 0 && n == 1)
        return 0;
    if (strcmp(seg[0], "namespaces") == 0 && n >= 3 && n <= 4 && strcmp(seg[2], "pods") == 0) {
        m->ns = seg[1];
        m->name = n == 4 ? seg[3] : NULL;
        return 0;
    }
    return -E_NOT_FOUND;
}

/* The metrics object of a pod or node, or NULL when there is no complete sample. */
static json_t *metrics_object(struct api *api, const json_t *obj, int pods, const char *now)
{
    json_t *u, *o, *meta;
    const json_t *labels = jx_get(obj, "metadata.labels");

    if (!api->metrics_fn || !(u = api->metrics_fn(obj, api->metrics_ctx)))
        return NULL;
    meta = json_pack("{s:s}", "name", jx_str(obj, "metadata.name") ?: "");
    if (pods)
        json_object_set_new(meta, "namespace",
                            json_string(jx_str(obj, "metadata.namespace") ?: ""));
    json_object_set_new(meta, "creationTimestamp", json_string(now));
    json_object_set_new(meta, "labels",
                        json_is_object(labels) ? json_deep_copy(labels) : json_object());
    o = json_pack("{s:s,s:s,s:o,s:O,s:O}", "kind", pods ? "PodMetrics" : "NodeMetrics",
                  "apiVersion", METRICS_GV, "metadata", meta, "timestamp",
                  json_object_get(u, "timestamp"), "window", json_object_get(u, "window"));
    json_object_set(o, pods ? "containers" : "usage",
                    json_object_get(u, pods ? "containers" : "usage"));
    json_decref(u);
    return o;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *api__computed_items(struct api *api, const char *res, const char *ns,
                            const struct labelsel *ls, const struct fieldsel *fs, api_item_fn *fn,
                            void *ctx)
{
    json_t *map = store_map(api->store, res), *items = json_array(), *o;
    size_t n = json_object_size(map), i = 0;
    const char **keys = xmalloc(sizeof *keys * (n ? n : 1));
    const char *k;
    json_t *v;

    json_object_foreach(map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, key_cmp);
    for (i = 0; i < n; i++) {
        const json_t *obj = json_object_get(map, keys[i]);

        if (ns && strcmp(jx_str(obj, "metadata.namespace") ?: "", ns) != 0)
            continue;
        if (!labelsel_match(ls, jx_get(obj, "metadata.labels")) || !fieldsel_match(fs, obj))
            continue;
        if ((o = fn(api, obj, ctx)))
            json_array_append_new(items, o);
    }
    free(keys);
    return items;
}

struct metrics_item {
    int pods;
    const char *now;
};

static json_t *metrics_item(struct api *api, const json_t *obj, void *ctx)
{
    const struct metrics_item *mi = ctx;

    return metrics_object(api, obj, mi->pods, mi->now);
}

/* The items of a list, in namespace/name order. */
static json_t *metrics_items(struct api *api, const struct mreq *m, const char *now)
{
    struct metrics_item mi = {m->pods, now};

    return api__computed_items(api, m->pods ? "pods" : "nodes", m->ns, m->ls, m->fs, metrics_item,
                               &mi);
}

static void metrics_get(struct api *api, struct http_req *req, const struct mreq *m,
                        const char *now)
{
    const json_t *obj = store_get(api->store, m->pods ? "pods" : "nodes", m->ns, m->name);
    json_t *o = obj ? metrics_object(api, obj, m->pods, now) : NULL;
    struct err err;
    char full[600];

    if (o) {
        api__respond_json(req, 200, o);
        json_decref(o);
        return;
    }
    /* metrics-server's NotFound: the pod's name is "NS/NAME". */
    snprintf(full, sizeof full, "%s%s%s", m->pods ? m->ns : "", m->pods ? "/" : "", m->name);
    err_init(&err);
    err_set(&err, -E_NOT_FOUND, "%s.metrics.k8s.io \"%s\" not found",
            m->pods ? "podmetrics" : "nodemetrics", full);
    err.details = json_pack("{s:s,s:s,s:s}", "name", full, "group", "metrics.k8s.io", "kind",
                            m->pods ? "podmetrics" : "nodemetrics");
    api__fail(req, &err);
    err_release(&err);
}

void api__metrics(struct api *api, struct http_req *req, const char *path)
{
    struct mreq m = {0};
    struct err err;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;

    if (strcmp(req->method, "GET") != 0) {
        api__fail_code(req, -E_METHOD,
                       "the server does not allow this method on the requested "
                       "resource");
        return;
    }
    if (mreq_parse(path, &m) < 0) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (m.name) {
        metrics_get(api, req, &m, now);
        return;
    }
    err_init(&err);
    if (labelsel_parse(http_req_query(req, "labelSelector") ?: "", &m.ls, &err) < 0 ||
        fieldsel_parse(http_req_query(req, "fieldSelector") ?: "", &m.fs, &err) < 0) {
        api__fail(req, &err);
    } else {
        json_t *list =
            json_pack("{s:s,s:s,s:{},s:o}", "kind", m.pods ? "PodMetricsList" : "NodeMetricsList",
                      "apiVersion", METRICS_GV, "metadata", "items", metrics_items(api, &m, now));

        api__respond_json(req, 200, list);
        json_decref(list);
    }
    err_release(&err);
    labelsel_free(m.ls);
    fieldsel_free(m.fs);
}

/* ---- discovery ---- */

static json_t *agg_resource(const char *plural, const char *kind, int namespaced)
{
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:s,s:[s,s]}", "resource", plural, "responseKind",
                     "group", "metrics.k8s.io", "version", "v1beta1", "kind", kind, "scope",
                     namespaced ? "Namespaced" : "Cluster", "singularResource", "", "verbs", "get",
                     "list");
}

json_t *api__metrics_agg_group(void)
{
    return json_pack("{s:{s:s},s:[{s:s,s:[o,o],s:s}]}", "metadata", "name", "metrics.k8s.io",
                     "versions", "version", "v1beta1", "resources",
                     agg_resource("nodes", "NodeMetrics", 0), agg_resource("pods", "PodMetrics", 1),
                     "freshness", "Current");
}

json_t *api__metrics_resource_list(void)
{
    return json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:b,s:s,s:[s,s]},{s:s,s:s,s:b,s:s,s:[s,s]}]}",
                     "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", METRICS_GV,
                     "resources", "name", "nodes", "singularName", "", "namespaced", 0, "kind",
                     "NodeMetrics", "verbs", "get", "list", "name", "pods", "singularName", "",
                     "namespaced", 1, "kind", "PodMetrics", "verbs", "get", "list");
}
