/* The kube-state-metrics series of Deployments, ReplicaSets and Pods, computed from the store
 * at scrape time with kube-state-metrics' names, labels and values, so dashboards and alerts
 * written for a cluster (kube_deployment_status_replicas_available < spec, a condition's
 * status, restarts) work against kroll unchanged. */
#include "api/api-int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/jx.h"

/* Object names are DNS names and label keys: no quote or backslash to escape; anything else
 * is skipped rather than emitted broken. */
static int plain(const char *s)
{
    return s && strlen(s) < 254 && !strpbrk(s, "\"\\\n");
}

typedef void row_fn(struct buf *b, const char *l, const json_t *o, void *arg);

/* One series per object of res: name{namespace,<kind_label>} value, via fn. */
static void each(struct buf *b, struct api *api, enum res_id res, const char *kind_label,
                 row_fn *fn, void *arg)
{
    json_t *m = store_map(api->store, scheme_resources[res].key), *o;
    const char *k;
    char l[600];

    json_object_foreach(m, k, o)
    {
        const char *ns = jx_str(o, "metadata.namespace"), *name = jx_str(o, "metadata.name");

        if (!plain(ns) || !plain(name))
            continue;
        snprintf(l, sizeof l, "namespace=\"%s\",%s=\"%s\"", ns, kind_label, name);
        fn(b, l, o, arg);
    }
}

struct field {
    const char *metric, *path, *help;
};

static void row_field(struct buf *b, const char *l, const json_t *o, void *arg)
{
    const struct field *f = arg;
    const json_t *v = jx_get(o, f->path);

    buf_appendf(b, "%s{%s} %lld\n", f->metric, l,
                json_is_true(v) ? 1LL : (long long)json_integer_value(v));
}

static void fields(struct buf *b, struct api *api, enum res_id res, const char *label,
                   const struct field *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        api__metrics_help(b, fs[i].metric, "gauge", fs[i].help);
        each(b, api, res, label, row_field, (void *)&fs[i]);
    }
}

static void row_created(struct buf *b, const char *l, const json_t *o, void *arg)
{
    buf_appendf(b, "%s{%s} %lld\n", (const char *)arg, l,
                (long long)time_parse(jx_str(o, "metadata.creationTimestamp") ?: ""));
}

/* kube_deployment_status_condition: three series per condition, one of them 1. */
static void row_conditions(struct buf *b, const char *l, const json_t *o, void *arg)
{
    static const char *const st[] = {"true", "false", "unknown"};
    const json_t *c;
    size_t i;

    json_array_foreach(jx_get(o, "status.conditions"), i, c)
    {
        const char *type = jx_str(c, "type"), *s = jx_str(c, "status") ?: "Unknown";

        if (!plain(type))
            continue;
        for (int j = 0; j < 3; j++)
            buf_appendf(b, "%s{%s,condition=\"%s\",status=\"%s\"} %d\n", (const char *)arg, l,
                        type, st[j], strcasecmp(s, st[j]) == 0);
    }
}

static void deployments(struct buf *b, struct api *api)
{
    static const struct field fs[] = {
        {"kube_deployment_spec_replicas", "spec.replicas", "Number of desired pods for a deployment."},
        {"kube_deployment_spec_paused", "spec.paused", "Whether the deployment is paused and will not be processed by the deployment controller."},
        {"kube_deployment_metadata_generation", "metadata.generation", "Sequence number representing a specific generation of the desired state."},
        {"kube_deployment_status_observed_generation", "status.observedGeneration", "The generation observed by the deployment controller."},
        {"kube_deployment_status_replicas", "status.replicas", "The number of replicas per deployment."},
        {"kube_deployment_status_replicas_ready", "status.readyReplicas", "The number of ready replicas per deployment."},
        {"kube_deployment_status_replicas_available", "status.availableReplicas", "The number of available replicas per deployment."},
        {"kube_deployment_status_replicas_unavailable", "status.unavailableReplicas", "The number of unavailable replicas per deployment."},
        {"kube_deployment_status_replicas_updated", "status.updatedReplicas", "The number of updated replicas per deployment."},
    };

    api__metrics_help(b, "kube_deployment_created", "gauge", "Unix creation timestamp");
    each(b, api, RES_DEPLOYMENT, "deployment", row_created, "kube_deployment_created");
    fields(b, api, RES_DEPLOYMENT, "deployment", fs, sizeof fs / sizeof fs[0]);
    api__metrics_help(b, "kube_deployment_status_condition", "gauge",
         "The current status conditions of a deployment.");
    each(b, api, RES_DEPLOYMENT, "deployment", row_conditions, "kube_deployment_status_condition");
}

static void row_owner(struct buf *b, const char *l, const json_t *o, void *arg)
{
    const json_t *refs = jx_get(o, "metadata.ownerReferences"), *r;
    size_t i;

    (void)arg;
    if (!json_array_size(refs)) {
        buf_appendf(b, "kube_replicaset_owner{%s,owner_kind=\"<none>\",owner_name=\"<none>\","
                       "owner_is_controller=\"<none>\"} 1\n", l);
        return;
    }
    json_array_foreach(refs, i, r) if (plain(jx_str(r, "kind")) && plain(jx_str(r, "name")))
        buf_appendf(b, "kube_replicaset_owner{%s,owner_kind=\"%s\",owner_name=\"%s\","
                       "owner_is_controller=\"%s\"} 1\n", l, jx_str(r, "kind"), jx_str(r, "name"),
                    json_is_true(json_object_get(r, "controller")) ? "true" : "false");
}

static void replicasets(struct buf *b, struct api *api)
{
    static const struct field fs[] = {
        {"kube_replicaset_spec_replicas", "spec.replicas", "Number of desired pods for a ReplicaSet."},
        {"kube_replicaset_status_replicas", "status.replicas", "The number of replicas per ReplicaSet."},
        {"kube_replicaset_status_ready_replicas", "status.readyReplicas", "The number of ready replicas per ReplicaSet."},
        {"kube_replicaset_status_observed_generation", "status.observedGeneration", "The generation observed by the ReplicaSet controller."},
    };

    fields(b, api, RES_REPLICASET, "replicaset", fs, sizeof fs / sizeof fs[0]);
    api__metrics_help(b, "kube_replicaset_owner", "gauge", "Information about the ReplicaSet's owner.");
    each(b, api, RES_REPLICASET, "replicaset", row_owner, NULL);
}

static void row_phase(struct buf *b, const char *l, const json_t *o, void *arg)
{
    static const char *const ph[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    const char *p = jx_str(o, "status.phase") ?: "";

    (void)arg;
    for (int i = 0; i < 5; i++)
        buf_appendf(b, "kube_pod_status_phase{%s,phase=\"%s\"} %d\n", l, ph[i], !strcmp(p, ph[i]));
}

static void row_ready(struct buf *b, const char *l, const json_t *o, void *arg)
{
    const json_t *c;
    size_t i;

    (void)arg;
    json_array_foreach(jx_get(o, "status.conditions"), i, c)
    {
        const char *s = jx_str(c, "status") ?: "";

        if (strcmp(jx_str(c, "type") ?: "", "Ready") != 0)
            continue;
        buf_appendf(b, "kube_pod_status_ready{%s,condition=\"true\"} %d\n", l, !strcmp(s, "True"));
        buf_appendf(b, "kube_pod_status_ready{%s,condition=\"false\"} %d\n", l, !strcmp(s, "False"));
        buf_appendf(b, "kube_pod_status_ready{%s,condition=\"unknown\"} %d\n", l,
                    strcmp(s, "True") && strcmp(s, "False"));
    }
}

static void row_restarts(struct buf *b, const char *l, const json_t *o, void *arg)
{
    const json_t *cs;
    size_t i;

    (void)arg;
    json_array_foreach(jx_get(o, "status.containerStatuses"), i, cs) if (plain(jx_str(cs, "name")))
        buf_appendf(b, "kube_pod_container_status_restarts_total{%s,container=\"%s\"} %lld\n", l,
                    jx_str(cs, "name"), (long long)jx_int(cs, "restartCount", 0));
}

static void pods(struct buf *b, struct api *api)
{
    api__metrics_help(b, "kube_pod_status_phase", "gauge", "The pods current phase.");
    each(b, api, RES_POD, "pod", row_phase, NULL);
    api__metrics_help(b, "kube_pod_status_ready", "gauge", "Describes whether the pod is ready to serve requests.");
    each(b, api, RES_POD, "pod", row_ready, NULL);
    api__metrics_help(b, "kube_pod_container_status_restarts_total", "counter",
         "The number of container restarts per container.");
    each(b, api, RES_POD, "pod", row_restarts, NULL);
}

void api__metrics_state(struct api *api, struct buf *b)
{
    deployments(b, api);
    replicasets(b, api);
    pods(b, api);
}
