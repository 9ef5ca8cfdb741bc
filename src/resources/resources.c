/* The kinds' descriptors (res_kind_<kind>: schema, defaults, rules; the API's kind_ops entries
 * point at them) and the public entry points: defaulting, validation (JSON types first, then
 * the kind's rules) and strict unknown-field detection. Adding a kind is one descriptor here
 * plus its schema in schema.c and its hooks in the kind's file. */
#include "resources/resources.h"

#include <stdio.h>
#include <string.h>

#include "resources/res-int.h"

static void serviceaccount_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
}

static void namespace_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_LABEL, 0, err);
}

const struct res_kind res_kind_namespace = {
    "", "Namespace", "v1", &res__t_namespace, res__namespace_default, namespace_validate};
const struct res_kind res_kind_node = {
    "", "Node", "v1", &res__t_node, res__node_default, res__node_validate};
const struct res_kind res_kind_pod = {
    "", "Pod", "v1", &res__t_pod, res__pod_default, res__pod_validate};
const struct res_kind res_kind_service = {
    "", "Service", "v1", &res__t_service, res__service_default, res__service_validate};
const struct res_kind res_kind_endpoints = {
    "", "Endpoints", "v1", &res__t_endpoints, res__endpoints_default, res__endpoints_validate};
const struct res_kind res_kind_configmap = {
    "", "ConfigMap", "v1", &res__t_configmap, NULL, res__configmap_validate};
const struct res_kind res_kind_secret = {
    "", "Secret", "v1", &res__t_secret, res__secret_default, res__secret_validate};
const struct res_kind res_kind_event = {
    "", "Event", "v1", &res__t_event, NULL, res__event_validate};
const struct res_kind res_kind_serviceaccount = {
    "", "ServiceAccount", "v1", &res__t_serviceaccount, NULL, serviceaccount_validate};
const struct res_kind res_kind_deployment = {"apps",
                                             "Deployment",
                                             "v1",
                                             &res__t_deployment,
                                             res__deployment_default,
                                             res__deployment_validate};
const struct res_kind res_kind_replicaset = {"apps",
                                             "ReplicaSet",
                                             "v1",
                                             &res__t_replicaset,
                                             res__replicaset_default,
                                             res__replicaset_validate};
const struct res_kind res_kind_daemonset = {
    "apps", "DaemonSet", "v1", &res__t_daemonset, res__daemonset_default, res__daemonset_validate};
const struct res_kind res_kind_pdb = {"policy", "PodDisruptionBudget", "v1", &res__t_pdb,
                                      NULL,     res__pdb_validate};
const struct res_kind res_kind_eviction = {"policy",         "Eviction", "v1",
                                           &res__t_eviction, NULL,       res__eviction_validate};
const struct res_kind res_kind_endpointslice = {"discovery.k8s.io",
                                                "EndpointSlice",
                                                "v1",
                                                &res__t_endpointslice,
                                                res__endpointslice_default,
                                                res__endpointslice_validate};
const struct res_kind res_kind_scale = {"autoscaling", "Scale", "v1",
                                        &res__t_scale, NULL,    res__scale_validate};
const struct res_kind res_kind_hpa = {"autoscaling",       "HorizontalPodAutoscaler", "v2",
                                      &res__t_hpa,         res__hpa_default,          res__hpa_validate};
const struct res_kind res_kind_vpa = {"autoscaling.k8s.io", "VerticalPodAutoscaler", "v1",
                                      &res__t_vpa, NULL, res__vpa_validate};
const struct res_kind res_kind_deleteoptions = {
    "meta", "DeleteOptions", "v1", &res__t_deleteoptions, NULL, res__deleteoptions_validate};
const struct res_kind res_kind_analysistemplate = {"argoproj.io", "AnalysisTemplate", "v1alpha1",
                                                   &res__t_analysistemplate, NULL,
                                                   res__analysistemplate_validate};
const struct res_kind res_kind_clusteranalysistemplate = {
    "argoproj.io", "ClusterAnalysisTemplate", "v1alpha1", &res__t_clusteranalysistemplate, NULL,
    res__clusteranalysistemplate_validate};
const struct res_kind res_kind_analysisrun = {"argoproj.io", "AnalysisRun", "v1alpha1",
                                              &res__t_analysisrun, NULL, res__analysisrun_validate};

const struct res_kind res_kind_job = {
    "batch", "Job", "v1", &res__t_job, res__job_default, res__job_validate};

const struct res_kind res_kind_rollout = {"argoproj.io",        "Rollout",
                                          "v1alpha1",           &res__t_rollout,
                                          res__rollout_default, res__rollout_validate};

static void experiment_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
}

const struct res_kind res_kind_experiment = {
    "argoproj.io", "Experiment", "v1alpha1", &res__t_experiment, NULL, experiment_validate};

static const struct res_kind *const kinds[] = {
    &res_kind_namespace,  &res_kind_node,          &res_kind_pod,
    &res_kind_service,    &res_kind_endpoints,     &res_kind_configmap,
    &res_kind_secret,     &res_kind_event,         &res_kind_serviceaccount,
    &res_kind_deployment, &res_kind_replicaset,    &res_kind_daemonset,
    &res_kind_pdb,        &res_kind_eviction,      &res_kind_endpointslice,
    &res_kind_scale,      &res_kind_deleteoptions,
    &res_kind_job,
    &res_kind_hpa,
    &res_kind_vpa,
    &res_kind_analysistemplate, &res_kind_clusteranalysistemplate, &res_kind_analysisrun,
    &res_kind_rollout,
    &res_kind_experiment,
    &res_kind_gatewayclass, &res_kind_gateway, &res_kind_httproute,
};

const struct res_kind *res_kind_find(const char *group, const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i]->group, group ? group : "") && !strcmp(kinds[i]->kind, kind))
            return kinds[i];
    return NULL;
}

void res_default(const struct res_kind *k, json_t *obj)
{

    if (k && k->def && json_is_object(obj))
        k->def(obj);
}

int res_validate(const struct res_kind *k, const json_t *obj, const json_t *old, struct err *err)
{
    size_t before = err->causes ? json_array_size(err->causes) : 0;

    if (!k)
        return 0;
    /* A wrongly-typed document never reaches the kind's rules: Kubernetes' decoder would
     * have refused it, and the rules assume the schema's types. */
    if (res__schema_walk(k->schema, obj, NULL, err) > 0)
        return -E_INVALID;
    if (old && !json_is_object(old))
        old = NULL;
    k->validate(obj, old, err);
    return (err->causes ? json_array_size(err->causes) : 0) > before ? -E_INVALID : 0;
}

int res_decode_check(const struct res_kind *k, const json_t *obj, struct err *err)
{
    char msg[512];

    if (!k || !json_is_object(obj) || !res__schema_decode_error(k->schema, obj, msg, sizeof msg))
        return 0;
    return err_set(err, -E_BAD_REQUEST, "%s in version \"%s\" cannot be handled as a %s: %s",
                   k->kind, k->version, k->kind, msg);
}

void res_prune_unknown(const struct res_kind *k, json_t *obj)
{

    if (k && json_is_object(obj))
        res__schema_prune(k->schema, obj);
}

int res_unknown_fields(const struct res_kind *k, const json_t *obj, json_t **paths, struct err *err)
{
    json_t *unknown = json_array(), *p;
    size_t i, off;
    int rc = 0;

    if (k)
        res__schema_walk(k->schema, obj, unknown, NULL);
    if (json_array_size(unknown) > 0) {
        off = (size_t)snprintf(err->msg, sizeof err->msg,
                               "%s in version \"%s\" cannot be handled as a %s: strict decoding "
                               "error: ",
                               k->kind, k->version, k->kind);
        json_array_foreach(unknown, i, p)
        {
            if (off >= sizeof err->msg)
                break;
            off += (size_t)snprintf(err->msg + off, sizeof err->msg - off, "%sunknown field \"%s\"",
                                    i ? ", " : "", json_string_value(p));
        }
        err->code = rc = -E_BAD_REQUEST;
    }
    if (paths)
        *paths = unknown;
    else
        json_decref(unknown);
    return rc;
}
