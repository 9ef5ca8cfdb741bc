/* Per-kind defaulting, validation and strict unknown-field checking, as the Kubernetes API
 * server does them for the kinds kroll serves. Everything works on jansson objects in place;
 * no function keeps a reference to its arguments, and none crashes on wrongly-typed input. */
#ifndef KROLL_RESOURCES_RESOURCES_H
#define KROLL_RESOURCES_RESOURCES_H

#include <jansson.h>

#include "core/err.h"

/* A kind this module knows: its schema (Kubernetes 1.32 types), defaults and rules. The API's
 * kind_ops entries point at these; every function below takes one, and a NULL kind (one this
 * module does not know) leaves obj alone and returns 0. */
struct res_kind;
extern const struct res_kind res_kind_namespace, res_kind_node, res_kind_pod, res_kind_service,
    res_kind_endpoints, res_kind_configmap, res_kind_secret, res_kind_event,
    res_kind_serviceaccount, res_kind_deployment, res_kind_replicaset, res_kind_daemonset,
    res_kind_pdb, res_kind_eviction, res_kind_endpointslice, res_kind_scale, res_kind_deleteoptions;
extern const struct res_kind res_kind_job;
extern const struct res_kind res_kind_vpa; /* autoscaling.k8s.io/v1 VerticalPodAutoscaler */
extern const struct res_kind res_kind_hpa; /* autoscaling/v2 HorizontalPodAutoscaler */
/* HorizontalPodAutoscaler autoscaling/v2 (stored) to autoscaling/v1 and back, as upstream's
 * conversion (round-trip annotations autoscaling.alpha.kubernetes.io/...). New references. */
json_t *res_hpa_to_v1(const json_t *v2);
json_t *res_hpa_from_v1(const json_t *v1);
extern const struct res_kind res_kind_analysistemplate, res_kind_clusteranalysistemplate,
    res_kind_analysisrun;
extern const struct res_kind res_kind_rollout, res_kind_experiment;
extern const struct res_kind res_kind_gatewayclass, res_kind_gateway, res_kind_httproute;
/* The controllerName of the GatewayClass kroll implements (the server creates class "kroll"). */
#define KROLL_GATEWAY_CONTROLLER "kroll.dev/gateway-controller"

/* The descriptor of kind in group ("" for core, "apps", "policy", "discovery.k8s.io",
 * "autoscaling", "meta"), or NULL. For callers that only have names (tests, request bodies). */
const struct res_kind *res_kind_find(const char *group, const char *kind);

/* Fills Kubernetes' defaults in place (create and update). Non-object input is left alone;
 * wrongly-typed fields are never overwritten (validation reports them). */
void res_default(const struct res_kind *k, json_t *obj);

/* Validates obj (after defaulting). old is the stored object on update (NULL on create) and
 * is used for the immutable-field rules. Appends Kubernetes-style field causes to err and
 * returns -E_INVALID when any cause was added, else 0. Wrong JSON types are reported as
 * causes first (as Kubernetes' decoder would refuse them) and stop further checks. */
int res_validate(const struct res_kind *k, const json_t *obj, const json_t *old, struct err *err);

/* fieldValidation=Strict: lists fields of obj that are not in the kind's schema (Kubernetes
 * 1.32 types). When paths is not NULL, *paths receives a new array of the dotted paths
 * ("spec.template.spec.containers[0].imagePullPolcy"), also when none was found (empty array)
 * so Warn mode can use it. Returns -E_BAD_REQUEST with err->msg as Kubernetes words it
 * (`Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
 * unknown field "spec.foo"`) when any was found, else 0. */
int res_unknown_fields(const struct res_kind *k, const json_t *obj, json_t **paths,
                       struct err *err);

/* The decoding step of a write: a field of the wrong JSON type is refused as the API server's
 * decoder refuses it, -E_BAD_REQUEST with `Deployment in version "v1" cannot be handled as a
 * Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
 * of type int32`. Returns 0 when every field has its schema type. */
int res_decode_check(const struct res_kind *k, const json_t *obj, struct err *err);

/* Drops the fields obj's kind does not declare, as decoding into the Go types does
 * (fieldValidation=Ignore and Warn). */
void res_prune_unknown(const struct res_kind *k, json_t *obj);

#endif
