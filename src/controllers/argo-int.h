/* Shared between the Rollout controller's files (argo_rollout.c: bookkeeping, services,
 * status; argo_strategy.c: canary and blue-green), nothing else. */
#ifndef KROLL_CONTROLLERS_ARGO_INT_H
#define KROLL_CONTROLLERS_ARGO_INT_H

#include <jansson.h>
#include <stdarg.h>
#include <time.h>

#include "client/client.h"
#include "controllers/argo.h"
#include "controllers/podutil.h"
#include "controllers/rollout.h"

#define ARGO_COMP "rollouts-controller"

struct rsync {
    struct ctl *c;
    json_t *ro; /* the Rollout as read (owned) */
    char ns[256], name[256];
    long long R;
    int bg; /* blueGreen strategy */
    time_t now;
    json_t *rss;    /* owned ReplicaSets, oldest first (owned array) */
    json_t *nrs;    /* the new ReplicaSet (element of rss) or NULL */
    json_t *srs;    /* the stable ReplicaSet (element of rss) or NULL */
    char hash[16];  /* the current pod-template hash */
    json_t *st;     /* the status being built (owned) */
    int skip_steps; /* initial deploy or rollback to stable: no steps */
    long long requeue_ms;
    char abort_cause[600];
    int traffic_ok;       /* the routes carry the step's weight (always true without routing) */
    int window;           /* an undo within spec.rollbackWindow: steps and analysis skipped */
    int surge_fallback;   /* GPU-safe surge: the canary rolls with maxSurge 0, maxUnavailable 1 */
    long long nrs_before; /* the new ReplicaSet's spec.replicas before the strategy ran */
};

long long argo__rs_spec(const json_t *rs);
long long argo__rs_avail(const json_t *rs);
const char *argo__rs_hash(const json_t *rs);
long long argo__revision(const json_t *rs);
void argo__event(struct rsync *x, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sync again after ms (the earliest request of a pass wins). */
void argo__requeue(struct rsync *x, long long ms);
/* Sets a condition in st (status object) with Argo's fields; cond_set's timestamp rules. */
void argo__cond(json_t *st, const char *type, const char *status, const char *reason,
                const char *msg);
const char *argo__cond_reason(const json_t *st, const char *type);
/* Scales rs (an element of x->rss) to n; returns 1 when spec changed, 0, or < 0. */
int argo__scale(struct rsync *x, const json_t *rs, long long n);
/* Sets (v) or removes (NULL) an annotation of rs (an element of x->rss). */
void argo__rs_annotate(struct rsync *x, const json_t *rs, const char *k, const char *v);
/* Points a Service at hash; -1 (and InvalidSpec in x->st) when it is missing or another
 * Rollout's. NULL hash only checks it. */
int argo__service_point(struct rsync *x, const char *name, const char *field, const char *hash);

enum argo_run { ARGO_RUN_STEP, ARGO_RUN_BACKGROUND, ARGO_RUN_PRE, ARGO_RUN_POST };

/* argo_analysis.c: runs the AnalysisRun of kind k (analysis: the RolloutAnalysis object; idx:
 * the step for ARGO_RUN_STEP; field: its spec path for InvalidSpec messages), recorded in
 * status.canary / status.blueGreen as Argo names it: 1 when it is Successful, 2 Inconclusive,
 * 0 while it runs or could not be created (InvalidSpec); Failed or Error sets status.abort and
 * the abort cause. A run the user promoted past while Inconclusive is replaced by a new one. */
int argo__analysis(struct rsync *x, const json_t *an, enum argo_run k, size_t idx,
                   const char *field);
/* argo__analysis for canary step idx (analysis: the step's object). */
int argo__step_analysis(struct rsync *x, const json_t *an, size_t idx);
/* Sets spec.terminate on the running AnalysisRuns of the Rollout except keep and keep2
 * (NULL: none kept). */
void argo__terminate_runs(struct rsync *x, const char *keep, const char *keep2);

/* argo_traffic.c: Argo's Gateway API plugin, done by kroll. True when the Rollout routes
 * traffic through it. */
int argo__traffic_routed(const json_t *ro);
/* Canary and stable counts with traffic routing at weight w (step idx): ceil(w x R / 100) or
 * the last setCanaryScale, the stable at R. */
void argo__traffic_counts(struct rsync *x, const json_t *steps, long long idx, long long w,
                          long long *c, long long *s);
/* Sets the HTTPRoutes' weights for setWeight w (0 on abort or completion, which also remove
 * the managed routes; the previous weight until the canary has its c pods); status.canary
 * .weights. 1 when every route carries w. */
int argo__traffic_sync(struct rsync *x, long long w, long long c, int abort, int done);
/* A setHeaderRoute step (hr: its object) applied to the routes: 1 when written. */
int argo__header_route(struct rsync *x, const json_t *hr);

/* argo_history.c: 1 when the new ReplicaSet is older than the stable one and fewer than
 * spec.rollbackWindow.revisions ReplicaSets were created between them (Argo's count). */
int argo__within_window(const struct rsync *x);
/* Deletes the Rollout's AnalysisRuns beyond spec.analysis.successfulRunHistoryLimit /
 * unsuccessfulRunHistoryLimit (default 5 / 5, newest kept, current runs aside) and those whose
 * ReplicaSet is gone. */
void argo__prune_runs(struct rsync *x);

/* argo_workload.c: with spec.workloadRef, x->ro becomes a copy (owned) holding the
 * Deployment's template (and selector when the Rollout has none) and its generation
 * annotation; 0, or -1 with InvalidSpec and the phase in x->st when the Deployment is missing. */
int argo__workload(struct rsync *x);
/* scaleDown onsuccess / progressively of the workloadRef Deployment during revision 1 (old: the
 * status before this pass). */
void argo__workload_scale_down(struct rsync *x, const json_t *old);
/* Deployment watch: a spec change wakes the Rollouts that reference it. */
void argo__on_workload(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                       json_t *old, void *ctx);

/* argo_strategy.c: pod watch; a pod of a Rollout's ReplicaSet that just became Unschedulable
 * wakes the Rollout (GPU-safe surge reports it at once). */
void argo__on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx);

void argo__canary(struct rsync *x);
void argo__bluegreen(struct rsync *x);

#endif
