/* The Argo Rollouts controller's decisions as pure functions (progressive-delivery.md sections
 * 2.4, 3 and 4): basic-canary replica arithmetic, the weight in effect, surge/unavailable
 * resolution and the phase algorithm. argo_rollout.c does the reads and writes. */
#ifndef KROLL_CONTROLLERS_ARGO_H
#define KROLL_CONTROLLERS_ARGO_H

#include <jansson.h>
#include <stddef.h>

#define ARGO_HASH_LABEL "rollouts-pod-template-hash"
#define ARGO_A_REV "rollout.argoproj.io/revision"
#define ARGO_A_REVHIST "rollout.argoproj.io/revision-history"
#define ARGO_A_DESIRED "rollout.argoproj.io/desired-replicas"
#define ARGO_A_DEADLINE "scale-down-deadline"
#define ARGO_A_MANAGED "argo-rollouts.argoproj.io/managed-by-rollouts"

/* approximateWeightedCanaryStableReplicaCounts: canary and stable pod counts for R replicas at
 * weight w of max_weight with surge s (section 2.4, the optimiser, not a ceil). */
void argo_canary_counts(long long R, long long w, long long max_weight, long long s,
                        long long *canary, long long *stable);

/* maxSurge and maxUnavailable of a canary strategy (NULL: defaults) resolved against R:
 * default 25% each, surge rounds up, unavailable down, both 0 gives unavailable 1. */
void argo_surge_unavailable(const json_t *canary, long long R, long long *surge,
                            long long *unavailable);

/* GetCurrentSetWeight: the last setWeight at or before index idx of steps (0 when none), 100
 * at or after the end, 0 when aborted. */
long long argo_current_weight(const json_t *steps, long long idx, int aborted);

/* "setWeight: 20", "pause: {}", "pause: {duration: 5s}", "analysis" for events. */
void argo_step_text(const json_t *step, char *out, size_t n);

/* CalculateRolloutPhase (section 4) from the Rollout (spec) and the status being written.
 * bluegreen selects the blue-green rules. Writes the phase and message (message "" for
 * none); both point into st or static strings and stay valid while st does. */
void argo_phase(const json_t *ro, const json_t *st, int bluegreen, const char **phase, char *msg,
                size_t n);

#endif
