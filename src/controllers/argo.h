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
#define ARGO_GW_PLUGIN "argoproj-labs/gatewayAPI" /* the trafficRouting plugin kroll implements */

/* approximateWeightedCanaryStableReplicaCounts: canary and stable pod counts for R replicas at
 * weight w of max_weight with surge s (section 2.4, the optimiser, not a ceil). */
void argo_canary_counts(long long R, long long w, long long max_weight, long long s,
                        long long *canary, long long *stable);

/* maxSurge and maxUnavailable of a canary strategy (NULL: defaults) resolved against R:
 * default 25% each, surge rounds up, unavailable down, both 0 gives unavailable 1. */
void argo_surge_unavailable(const json_t *canary, long long R, long long *surge,
                            long long *unavailable);

/* One ReplicaSet as the basic canary's scaling sees it (argo_canary_scale). */
enum argo_rs_role { ARGO_RS_OLD, ARGO_RS_STABLE, ARGO_RS_NEW };
struct argo_rs_size {
    long long spec, avail; /* spec.replicas and status.availableReplicas */
    enum argo_rs_role role;
    int held; /* an old one kept up until its scale-down deadline */
};
struct argo_scale_op {
    size_t i;     /* index into the caller's array */
    long long to; /* the new spec.replicas */
};

/* The basic canary's scaling pass toward c canary (new) and s stable pods: older ReplicaSets
 * shrink first, stable grows before the canary, within R + maxSurge pods (R + c + S with
 * traffic routing) and R - maxUnavailable available ones. Writes the scale operations in the
 * order to apply them to ops (caller's array of n + 4) and returns how many. The controller
 * (argo_strategy.c) and `kroll rollouts plan` both take their sizes from here. */
size_t argo_canary_scale(const struct argo_rs_size *rs, size_t n, long long R, long long c,
                         long long s, long long S, long long U, int routed,
                         struct argo_scale_op *ops);

/* True when the Rollout routes traffic through Argo's Gateway API plugin (trafficRouting
 * .plugins names it). */
int argo_traffic_routed(const json_t *ro);
/* Canary and stable counts with traffic routing at weight w (step idx of steps): ceil(w x R /
 * 100) or the last setCanaryScale, the stable at R. */
void argo_traffic_counts(long long R, const json_t *steps, long long idx, long long w, long long *c,
                         long long *s);

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
