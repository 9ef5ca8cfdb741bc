/* GPU-safe surge (kroll's addition): a rolling update whose surge pod cannot be scheduled for
 * lack of an extended resource (nvidia.com/gpu on a full node) waits forever on Kubernetes.
 * The Deployment controller says so at once (condition SurgeBlocked and a Warning event naming
 * the resource and the fix), and a Deployment annotated kroll.dev/surge-fallback=true is rolled
 * one pod at a time instead (maxSurge 0, maxUnavailable 1) when its PodDisruptionBudgets allow
 * a disruption. Without the annotation the rollout itself follows Kubernetes exactly. */
#ifndef KROLL_CONTROLLERS_SURGE_H
#define KROLL_CONTROLLERS_SURGE_H

#include <jansson.h>
#include <stddef.h>

#include "client/client.h"

#define SURGE_A_FALLBACK "kroll.dev/surge-fallback"
#define SURGE_COND "SurgeBlocked"

struct surge_block {
    char resource[128]; /* the extended resource, e.g. nvidia.com/gpu */
    char pod[256];      /* the Pending pod */
    char pdb[256];      /* the PodDisruptionBudget allowing no disruption, if any */
};

/* Is the resource name an extended resource (not cpu, memory, pods, storage or hugepages)? */
int surge_extended(const char *name, size_t n);
/* The extended resource an Unschedulable message names as "Insufficient X", copied to out;
 * 1 found, 0 not. */
int surge_insufficient(const char *msg, char *out, size_t n);
/* 1 when a pod of ReplicaSet nrs is Pending and Unschedulable for lack of an extended
 * resource (b->resource and b->pod filled in). */
int surge_blocked(struct ctl *c, const json_t *nrs, struct surge_block *b);
/* 1 when every PodDisruptionBudget of d's namespace that selects its pods allows a
 * disruption; 0 names the first that does not in b->pdb. */
int surge_pdb_allows(struct ctl *c, const json_t *d, struct surge_block *b);
/* The same over pdbs, an array or a map of PodDisruptionBudgets (NULL: none); no I/O. */
int surge_pdb_allows_in(const json_t *pdbs, const json_t *d, struct surge_block *b);
/* A copy of Deployment d (new reference) with rollingUpdate maxSurge 0, maxUnavailable 1. */
json_t *surge_fallback_spec(const json_t *d);

/* What a blocked surge means for workload obj (a Deployment or a Rollout, named kind in the
 * messages) whose new ReplicaSet is nrs, given the opt-in annotation and the budgets. */
struct surge_verdict {
    const char *reason; /* InsufficientResource, DisruptionBudget or SurgeFallback */
    int fallback;       /* roll one pod at a time (maxSurge 0, maxUnavailable 1) now */
    int recheck;        /* budgets are not watched: look again in a few seconds */
    char msg[900];
};
/* 1 with v filled in when a surge pod of nrs cannot be scheduled for lack of an extended
 * resource, 0 when none is blocked. */
int surge_assess(struct ctl *c, const json_t *obj, const char *kind, const json_t *nrs,
                 struct surge_verdict *v);
/* The SurgeBlocked condition (new reference) for v. */
json_t *surge_condition(const struct surge_verdict *v);
/* Has the pod just become Unschedulable (a watch event's object and its previous version)? */
int surge_newly_unschedulable(const char *type, const json_t *pod, const json_t *old);

#endif
