/* The HorizontalPodAutoscaler's arithmetic, apart from the controller's reads and writes so unit
 * tests drive it with plain values: pod grouping (groupPods), the replica calculation of
 * replica_calculator.go (tolerance, missing metrics, unready pods) and the normalization of
 * horizontal.go (stabilization windows, behavior policies, min/max) with upstream's condition
 * reasons and messages. Times are UNIX seconds. */
#ifndef KROLL_CONTROLLERS_HPA_H
#define KROLL_CONTROLLERS_HPA_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#define HPA_TOLERANCE 0.1
#define HPA_CPU_INIT_PERIOD 300        /* --horizontal-pod-autoscaler-cpu-initialization-period */
#define HPA_INITIAL_READINESS_DELAY 30 /* --horizontal-pod-autoscaler-initial-readiness-delay */
#define HPA_DOWNSCALE_WINDOW 300       /* --horizontal-pod-autoscaler-downscale-stabilization */
#define HPA_MAX_RECS 512               /* recommendations kept per HPA (oldest overwritten) */
#define HPA_MAX_EVENTS 256             /* scale events kept per HPA and direction */
#define HPA_MAX_POLICIES 16            /* policies of one direction that are applied */

enum hpa_group { HPA_READY, HPA_UNREADY, HPA_MISSING, HPA_IGNORED };

/* One pod of the target as the replica calculation sees it; values are milli-units. */
struct hpa_sample {
    enum hpa_group group;
    int64_t value;   /* the metric (when group is READY or UNREADY and has_value) */
    int64_t request; /* the pod's summed request of the resource (utilization only) */
    int has_value;
};

/* groupPods for one pod: metrics is the pod's metrics.k8s.io usage object or NULL, cpu says the
 * metric is the cpu resource (only cpu applies the readiness rules). */
enum hpa_group hpa_pod_group(const json_t *pod, const json_t *metrics, int cpu, time_t now);

struct hpa_calc {
    int replicas;    /* the proposal */
    int utilization; /* integer percent of requests (utilization targets) */
    int64_t average; /* milli: average of the ready pods' samples */
};

/* GetResourceReplicas (target_pct > 0: utilization of requests) or calcPlainMetricReplicas
 * (target_pct 0, target_milli: average value). Returns 0, or -1 with msg set to upstream's
 * text ("did not receive metrics for targeted pods (pods might be unready)", ...). */
int hpa_replicas(const struct hpa_sample *s, size_t n, int current, int target_pct,
                 int64_t target_milli, struct hpa_calc *out, char *msg, size_t msgn);

/* One direction's HPAScalingRules. */
enum hpa_select { HPA_SELECT_MAX, HPA_SELECT_MIN, HPA_SELECT_DISABLED };
struct hpa_rules {
    int window;
    enum hpa_select select;
    int npol;
    struct {
        int percent; /* Percent, else Pods */
        int value, period;
    } pol[HPA_MAX_POLICIES];
};
/* Reads spec.behavior.<key> (defaults already applied by the API); window_default is used when
 * stabilizationWindowSeconds is absent. */
void hpa_rules_read(const json_t *rules, int window_default, struct hpa_rules *out);

struct hpa_ev {
    int replicas; /* a recommendation, or the size of a scale event */
    time_t at;
};
/* What the controller remembers of one HPA between syncs. */
struct hpa_hist {
    struct hpa_ev recs[HPA_MAX_RECS];
    int nrecs;
    struct hpa_ev up[HPA_MAX_EVENTS], down[HPA_MAX_EVENTS];
    int nup, ndown;
};

/* The conditions the normalization sets. */
struct hpa_norm {
    const char *able_reason, *able_msg;
    const char *limit_reason, *limit_msg;
    int limited; /* ScalingLimited True */
};

/* Records a recommendation (reusing an entry older than every window, else the oldest when
 * full). */
void hpa_rec_add(struct hpa_hist *h, int replicas, time_t now, int keep_seconds);
/* normalizeDesiredReplicas (spec.behavior absent). Returns the desired count. */
int hpa_normalize_legacy(struct hpa_hist *h, int current, int proposal, int min, int max,
                         time_t now, struct hpa_norm *out);
/* normalizeDesiredReplicasWithBehaviors. Returns the desired count. */
int hpa_normalize_behavior(struct hpa_hist *h, int current, int proposal, int min, int max,
                           const struct hpa_rules *up, const struct hpa_rules *down, time_t now,
                           struct hpa_norm *out);
/* storeScaleEvent: remembers a rescale from prev to next for the rate policies. */
void hpa_scale_event_add(struct hpa_hist *h, int prev, int next, const struct hpa_rules *up,
                         const struct hpa_rules *down, time_t now);

#endif
