/* HorizontalPodAutoscaler autoscaling/v1 <-> autoscaling/v2 (the stored version), as
 * pkg/apis/autoscaling/v1/conversion.go does it: v1 holds targetCPUUtilizationPercentage and
 * currentCPUUtilizationPercentage; what it cannot hold (other metrics, their statuses, behavior,
 * conditions) travels as JSON in the autoscaling.alpha.kubernetes.io/ annotations, in the v1
 * MetricSpec/MetricStatus shapes (targetAverageValue, metricName, ...). */
#include "resources/res-int.h"

#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"
#define ANN_MAX_BYTES (256 * 1024)

/* One field of a metric source: its v1 key and its dotted v2 path, per source key. */
struct hpa_map {
    const char *src; /* "resource", "pods", ... (same key in both versions) */
    const char *v1, *v2;
};

static const struct hpa_map spec_map[] = {
    {"resource", "name", "name"},
    {"resource", "targetAverageUtilization", "target.averageUtilization"},
    {"resource", "targetAverageValue", "target.averageValue"},
    {"containerResource", "name", "name"},
    {"containerResource", "container", "container"},
    {"containerResource", "targetAverageUtilization", "target.averageUtilization"},
    {"containerResource", "targetAverageValue", "target.averageValue"},
    {"pods", "metricName", "metric.name"},
    {"pods", "selector", "metric.selector"},
    {"pods", "targetAverageValue", "target.averageValue"},
    {"object", "target", "describedObject"},
    {"object", "metricName", "metric.name"},
    {"object", "selector", "metric.selector"},
    {"object", "targetValue", "target.value"},
    {"object", "averageValue", "target.averageValue"},
    {"external", "metricName", "metric.name"},
    {"external", "metricSelector", "metric.selector"},
    {"external", "targetValue", "target.value"},
    {"external", "targetAverageValue", "target.averageValue"},
    {NULL, NULL, NULL},
};

static const struct hpa_map status_map[] = {
    {"resource", "name", "name"},
    {"resource", "currentAverageUtilization", "current.averageUtilization"},
    {"resource", "currentAverageValue", "current.averageValue"},
    {"containerResource", "name", "name"},
    {"containerResource", "container", "container"},
    {"containerResource", "currentAverageUtilization", "current.averageUtilization"},
    {"containerResource", "currentAverageValue", "current.averageValue"},
    {"pods", "metricName", "metric.name"},
    {"pods", "selector", "metric.selector"},
    {"pods", "currentAverageValue", "current.averageValue"},
    {"object", "target", "describedObject"},
    {"object", "metricName", "metric.name"},
    {"object", "selector", "metric.selector"},
    {"object", "currentValue", "current.value"},
    {"object", "averageValue", "current.averageValue"},
    {"external", "metricName", "metric.name"},
    {"external", "metricSelector", "metric.selector"},
    {"external", "currentValue", "current.value"},
    {"external", "currentAverageValue", "current.averageValue"},
    {NULL, NULL, NULL},
};

static const char *const sources[] = {"resource", "containerResource", "pods", "object",
                                      "external"};

/* One metric (spec or status) from one version's shape to the other's. */
static json_t *metric_convert(const json_t *m, const struct hpa_map *map, int to_v2, int spec)
{
    json_t *out = json_object();

    if (jx_get(m, "type"))
        json_object_set(out, "type", json_object_get(m, "type"));
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        const json_t *src = json_object_get(m, sources[s]);
        json_t *dst;

        if (!json_is_object(src))
            continue;
        dst = json_object();
        for (const struct hpa_map *r = map; r->src; r++) {
            const json_t *v;

            if (strcmp(r->src, sources[s]) != 0)
                continue;
            v = to_v2 ? json_object_get(src, r->v1) : jx_get(src, r->v2);
            if (!v || json_is_null(v))
                continue;
            if (to_v2)
                jx_set(dst, r->v2, json_deep_copy(v));
            else
                json_object_set(dst, r->v1, (json_t *)v);
        }
        if (to_v2 && spec) { /* the target's type follows from what is set */
            json_t *t = jx_obj(dst, "target");

            json_object_set_new(t, "type",
                                json_string(json_object_get(t, "averageUtilization") ? "Utilization"
                                            : json_object_get(t, "value")            ? "Value"
                                                                          : "AverageValue"));
        }
        json_object_set_new(out, sources[s], dst);
    }
    return out;
}

/* Sets annotation key (dotted: not a path) of obj to v as compact JSON. */
static void ann_set(json_t *obj, const char *key, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *ann = jx_obj(obj, "metadata.annotations");

    if (s && ann)
        json_object_set_new(ann, key, json_string(s));
    free(s);
}

static int is_cpu_utilization(const json_t *m)
{
    return strcmp(jx_str(m, "type") ?: "", "Resource") == 0 &&
           strcmp(jx_str(m, "resource.name") ?: "", "cpu") == 0 &&
           json_is_integer(jx_get(m, "resource.target.averageUtilization"));
}

json_t *res_hpa_to_v1(const json_t *v2)
{
    json_t *out = json_deep_copy(v2), *spec = json_object(), *status = json_object(), *ann, *m;
    const json_t *s2 = json_object_get(v2, "spec"), *st2 = json_object_get(v2, "status"), *v;
    json_t *other = json_array(), *cur = json_array();
    size_t i;

    json_object_set_new(out, "apiVersion", json_string("autoscaling/v1"));
    ann = jx_obj(out, "metadata.annotations");
    json_object_del(ann, ANN_METRICS), json_object_del(ann, ANN_CURRENT);
    json_object_del(ann, ANN_CONDITIONS), json_object_del(ann, ANN_BEHAVIOR);
    static const char *const keep[] = {"scaleTargetRef", "minReplicas", "maxReplicas"};
    for (i = 0; i < 3; i++)
        if ((v = json_object_get(s2, keep[i])))
            json_object_set(spec, keep[i], (json_t *)v);
    json_array_foreach(json_object_get(s2, "metrics"), i, m)
    {
        if (is_cpu_utilization(m) && !json_object_get(spec, "targetCPUUtilizationPercentage"))
            json_object_set(spec, "targetCPUUtilizationPercentage",
                            jx_get(m, "resource.target.averageUtilization"));
        else
            json_array_append_new(other, metric_convert(m, spec_map, 0, 1));
    }
    if (json_array_size(other))
        ann_set(out, ANN_METRICS, other);
    if (json_is_object(json_object_get(s2, "behavior")))
        ann_set(out, ANN_BEHAVIOR, json_object_get(s2, "behavior"));
    static const char *const skeep[] = {"observedGeneration", "lastScaleTime", "currentReplicas",
                                        "desiredReplicas"};
    for (i = 0; i < 4; i++)
        if ((v = json_object_get(st2, skeep[i])))
            json_object_set(status, skeep[i], (json_t *)v);
    json_array_foreach(json_object_get(st2, "currentMetrics"), i, m)
    {
        json_array_append_new(cur, metric_convert(m, status_map, 0, 0));
        if (strcmp(jx_str(m, "type") ?: "", "Resource") == 0 &&
            strcmp(jx_str(m, "resource.name") ?: "", "cpu") == 0 &&
            json_is_integer(jx_get(m, "resource.current.averageUtilization")))
            json_object_set(status, "currentCPUUtilizationPercentage",
                            jx_get(m, "resource.current.averageUtilization"));
    }
    if (json_array_size(cur))
        ann_set(out, ANN_CURRENT, cur);
    if (json_array_size(json_object_get(st2, "conditions")))
        ann_set(out, ANN_CONDITIONS, json_object_get(st2, "conditions"));
    if (json_object_size(jx_get(out, "metadata.annotations")) == 0)
        jx_del(out, "metadata.annotations");
    json_object_set_new(out, "spec", spec);
    if (json_object_get(v2, "status"))
        json_object_set_new(out, "status", status);
    else
        json_decref(status);
    json_decref(other);
    json_decref(cur);
    return out;
}

/* The JSON array or object in annotation key (removed from obj), or NULL. */
static json_t *ann_take(json_t *obj, const char *key)
{
    json_t *ann = jx_get(obj, "metadata.annotations"), *v = NULL;
    const char *s = json_string_value(json_object_get(ann, key));

    if (s && strlen(s) <= ANN_MAX_BYTES)
        v = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
    json_object_del(ann, key);
    return v;
}

json_t *res_hpa_from_v1(const json_t *v1)
{
    json_t *out = json_deep_copy(v1), *spec, *metrics = json_array(), *a, *m, *st;
    const json_t *pct = jx_get(v1, "spec.targetCPUUtilizationPercentage");
    size_t i;

    if (!json_is_object(out))
        return out;
    json_object_set_new(out, "apiVersion", json_string("autoscaling/v2"));
    spec = json_object_get(out, "spec");
    if (json_is_object(spec)) {
        json_object_del(spec, "targetCPUUtilizationPercentage");
        json_object_del(spec, "metrics");
    }
    if ((a = ann_take(out, ANN_METRICS)) && json_is_array(a))
        json_array_foreach(a, i, m)
            json_array_append_new(metrics, metric_convert(m, spec_map, 1, 1));
    json_decref(a);
    if (pct)
        json_array_append_new(metrics, json_pack("{s:s,s:{s:s,s:{s:s,s:O}}}", "type", "Resource",
                                                 "resource", "name", "cpu", "target", "type",
                                                 "Utilization", "averageUtilization", pct));
    if (json_is_object(spec) && json_array_size(metrics))
        json_object_set(spec, "metrics", metrics);
    json_decref(metrics);
    if ((a = ann_take(out, ANN_BEHAVIOR)) && json_is_object(spec))
        json_object_set(spec, "behavior", a);
    json_decref(a);
    st = json_object_get(out, "status");
    if (json_is_object(st)) {
        json_t *cur = json_array();

        json_object_del(st, "currentCPUUtilizationPercentage");
        if ((a = ann_take(out, ANN_CURRENT)) && json_is_array(a))
            json_array_foreach(a, i, m)
                json_array_append_new(cur, metric_convert(m, status_map, 1, 0));
        json_decref(a);
        if (json_array_size(cur))
            json_object_set(st, "currentMetrics", cur);
        json_decref(cur);
        if ((a = ann_take(out, ANN_CONDITIONS)) && json_is_array(a))
            json_object_set(st, "conditions", a);
        json_decref(a);
    }
    json_decref(ann_take(out, ANN_CURRENT));
    json_decref(ann_take(out, ANN_CONDITIONS));
    if (json_object_size(jx_get(out, "metadata.annotations")) == 0)
        jx_del(out, "metadata.annotations");
    return out;
}
