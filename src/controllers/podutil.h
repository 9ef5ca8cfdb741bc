/* Pod and workload helpers shared by the controllers: readiness and availability as
 * Kubernetes computes them, intstr resolution, pod-template hashing, owner references. */
#ifndef KROLL_CONTROLLERS_PODUTIL_H
#define KROLL_CONTROLLERS_PODUTIL_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

/* The status.conditions helpers (cond_get, cond_set, cond_del) these build on, which the kubelet
 * shares, are in core. */
#include "core/cond.h"

/* Pod has condition Ready=True. */
int pod_is_ready(const json_t *pod);
/* Ready and ready for more than min_ready seconds at now (strictly after, as upstream). */
int pod_is_available(const json_t *pod, long long min_ready, time_t now);
/* Seconds until the pod becomes available (ready but not yet for min_ready), or -1. */
long long pod_available_in(const json_t *pod, long long min_ready, time_t now);
/* Not terminating and not Succeeded/Failed. */
int pod_is_active(const json_t *pod);
int pod_is_terminating(const json_t *pod);
/* Resolves an intstr (int or "N%") against total; round_up for percentages. Returns 0 or -1. */
int intstr_scaled(const json_t *v, long long total, int round_up, long long *out);

/* pod-template-hash of a template (pod-template-hash label ignored) and collision count
 * (-1 when unset); out gets up to 10 chars from upstream's alphabet. */
void template_hash(const json_t *tmpl, long long collision, char out[16]);
/* Templates equal, ignoring the pod-template-hash label, null/empty fields, and 0/false in
 * non-pointer (omitempty) fields. */
int template_equal(const json_t *a, const json_t *b);

/* A controller ownerReference to owner (new reference). */
json_t *owner_ref(const json_t *owner);
struct kc;
struct err;
/* Creates a pod from owner's spec.template as kube-controller-manager: generateName
 * "<owner>-", owner as its controller, the template's labels, annotations and finalizers; and
 * records SuccessfulCreate or FailedCreate on owner from component. 0 or the error. */
int pod_create_from_template(struct kc *kc, const json_t *owner, const char *component,
                             struct err *err);
/* Records how deleting pod name for owner went (rc, err): SuccessfulDelete (a pod already
 * gone counts) or FailedDelete. Returns rc, with -E_NOT_FOUND as 0. */
int pod_delete_outcome(struct kc *kc, const json_t *owner, const char *name, int rc,
                       const struct err *err, const char *component);
/* True when obj's controller ownerReference has owner's uid. */
int is_controlled_by(const json_t *obj, const json_t *owner);

/* ---- config that rolls back with the code (kroll.dev/config-rollout) ---- */

#define CFG_A_OPTIN "kroll.dev/config-rollout"      /* Deployment: "true" opts in */
#define CFG_A_HASH "kroll.dev/config-hash"          /* pod template: config_refs_hash() */
#define CFG_A_OBSERVED "kroll.dev/config-observed"  /* Deployment: source -> content hash */
#define CFG_A_SNAPOF "kroll.dev/config-snapshot-of" /* snapshot: the source's name */
#define CFG_L_SNAP "kroll.dev/config-snapshot"      /* snapshot label: "true" */

/* Called for each ConfigMap (secret 0) or Secret (secret 1) reference of a pod spec: the name
 * is holder[field] (a string the callback may replace). */
typedef void config_ref_fn(int secret, json_t *holder, const char *field, void *arg);
/* Walks the references of pod spec `spec`: volumes (configMap, secret, projected sources) and
 * env/envFrom of containers and initContainers. */
void config_refs_each(json_t *spec, config_ref_fn *fn, void *arg);
/* A hash of the sorted set of the template's references ("cm/NAME", "secret/NAME"), 10 chars. */
void config_refs_hash(const json_t *tmpl, char out[16]);
/* True for a Deployment that opted in and whose template references have not been taken over by
 * the config-rollout controller yet (its CFG_A_HASH differs from config_refs_hash): the
 * Deployment controller waits instead of creating a ReplicaSet for that template. */
int config_rollout_pending(const json_t *d);

#endif
