/* The Deployment controller's decisions as pure functions (k8s-semantics.md sections 2, 3.4
 * and 3.6): they read a Deployment and its ReplicaSets and return the sizes to scale to, in
 * the order to apply them; deployment.c does the writes. Nothing here does I/O or keeps state. */
#ifndef KROLL_CONTROLLERS_ROLLOUT_H
#define KROLL_CONTROLLERS_ROLLOUT_H

#include <jansson.h>
#include <stddef.h>

#define ROLLOUT_A_REV "deployment.kubernetes.io/revision"
#define ROLLOUT_A_DESIRED "deployment.kubernetes.io/desired-replicas"
#define ROLLOUT_A_MAX "deployment.kubernetes.io/max-replicas"

/* What a decision looks at; all borrowed. */
struct rollout {
    const json_t *d;   /* the Deployment */
    long long R;       /* its spec.replicas */
    const json_t *rss; /* JSON array of its ReplicaSets, oldest first */
    const json_t *nrs; /* the new ReplicaSet (an element of rss) or NULL */
};

/* One write: scale rss[i] to `to` (also when `to` is its size: its desired/max-replicas
 * annotations are refreshed then). */
struct rollout_step {
    size_t i;
    long long to;
};

long long rollout_spec(const json_t *rs);  /* spec.replicas, default 1 */
long long rollout_avail(const json_t *rs); /* status.availableReplicas, default 0 */
int rollout_is_rolling(const json_t *d);   /* strategy RollingUpdate (the default) */
int rollout_is_new(const struct rollout *r, const json_t *rs);
/* Older first by creationTimestamp, then name (a qsort comparator over json_t pointers). */
int rollout_cmp_created(const void *a, const void *b);

/* MaxSurge and MaxUnavailable resolved against R (section 2: surge rounds up, unavailable
 * down, both zero gives unavailable 1, unavailable clamped to R, 0 when not rolling). */
long long rollout_max_surge(const json_t *d, long long R);
long long rollout_max_unavailable(const json_t *d, long long R);

/* NewRSNewReplicas: the new ReplicaSet's next size within R + maxSurge of spec sums. */
long long rollout_new_rs_replicas(const struct rollout *r);
/* reconcileNew: the size the new ReplicaSet should have now (its spec when nothing to do). */
long long rollout_reconcile_new(const struct rollout *r);
/* reconcileOld: old ReplicaSets' scale-downs, unhealthy replicas first then available ones
 * while keeping R - maxUnavailable available, oldest first. Writes at most 2 x size(rss)
 * steps to steps (caller's array of that size) and returns how many. */
size_t rollout_reconcile_old(const struct rollout *r, struct rollout_step *steps);
/* Scaling (section 3.6): one active ReplicaSet takes R; a complete new one takes everything;
 * otherwise (RollingUpdate) R + maxSurge is shared in proportion to max-replicas, rounding
 * half away from zero, leftovers to the first in order. Writes at most size(rss) steps and
 * returns how many; *dir is "up", "down" or NULL (the event says which way from the sizes). */
size_t rollout_scale(const struct rollout *r, struct rollout_step *steps, const char **dir);

#endif
