/* The VerticalPodAutoscaler recommender's model, as upstream's
 * vertical-pod-autoscaler/pkg/recommender (util/histogram.go, util/decaying_histogram.go,
 * model/aggregate_container_state.go, model/container.go, logic/estimator.go,
 * logic/recommender.go): decaying exponential histograms of CPU usage (weighted by the
 * request) and of per-day memory peaks, and the percentile/margin/confidence/minimum
 * estimators. Pure arithmetic: no I/O, unit-tested against upstream's numbers. */
#ifndef KROLL_CONTROLLERS_VPA_H
#define KROLL_CONTROLLERS_VPA_H

#include <stdint.h>

#define VPA_HIST_BUCKETS 176 /* both histograms: ceil(log(5001)/log(1.05)) + 1 */

/* aggregations_config.go */
#define VPA_CPU_FIRST_BUCKET 0.01 /* cores */
#define VPA_CPU_MAX 1000.0        /* cores */
#define VPA_MEM_FIRST_BUCKET 1e7  /* bytes */
#define VPA_MEM_MAX 1e12          /* bytes */
#define VPA_BUCKET_RATIO 1.05
#define VPA_MIN_SAMPLE_WEIGHT 0.1
#define VPA_EPSILON (0.001 * VPA_MIN_SAMPLE_WEIGHT)
#define VPA_HALF_LIFE_S (24 * 3600)    /* CPU and memory histograms' decay half-life */
#define VPA_MEM_INTERVAL_S (24 * 3600) /* memory peaks: one per container per day */
#define VPA_MAX_DECAY_EXPONENT 100

/* recommender.go flags' defaults */
#define VPA_SAFETY_MARGIN 0.15
#define VPA_POD_MIN_CPU_MILLI 25.0
#define VPA_POD_MIN_MEM_BYTES (250.0 * 1024 * 1024)

struct vpa_hist {
    double first, max, ratio, w[VPA_HIST_BUCKETS], total;
    int nb, minb, maxb;
    double ref; /* the decay's reference time (UNIX seconds) */
};

/* An empty histogram of first-bucket size first and largest value max (ratio 1.05). */
void vpa_hist_init(struct vpa_hist *h, double first, double max);
/* The same with another bucket ratio (NewExponentialHistogramOptions); at most
 * VPA_HIST_BUCKETS buckets. */
void vpa_hist_init_ratio(struct vpa_hist *h, double first, double max, double ratio);
int vpa_hist_bucket(const struct vpa_hist *h, double value);
double vpa_hist_bucket_start(const struct vpa_hist *h, int bucket);
/* Adds (or subtracts) value with weight at time t, decayed with half-life VPA_HALF_LIFE_S. */
void vpa_hist_add(struct vpa_hist *h, double value, double weight, double t);
void vpa_hist_sub(struct vpa_hist *h, double value, double weight, double t);
int vpa_hist_empty(const struct vpa_hist *h);
/* The end of the bucket where the cumulative weight reaches p of the total (0 when empty). */
double vpa_hist_percentile(const struct vpa_hist *h, double p);

/* One container name's aggregate over the target's pods (AggregateContainerState). */
struct vpa_agg {
    struct vpa_hist cpu, mem;
    double first_sample, last_sample; /* of CPU samples, UNIX seconds */
    long long samples;                /* CPU samples */
};

void vpa_agg_init(struct vpa_agg *a);
/* A CPU sample: usage and request in cores, at t. */
void vpa_agg_add_cpu(struct vpa_agg *a, double usage, double request, double t);

/* One pod container's memory-peak window (ContainerState): feeds a's memory histogram. */
struct vpa_peak {
    double window_end, peak, last;
};
void vpa_peak_add(struct vpa_peak *p, struct vpa_agg *a, double bytes, double t);

/* min(lifespan in days, samples / (60 * 24)), as getConfidence. */
double vpa_confidence(const struct vpa_agg *a);

/* One container's estimate: CPU in cores, memory in bytes. */
struct vpa_est {
    double cpu, mem;
};
struct vpa_rec {
    struct vpa_est target, lower, upper;
};
/* The target, lowerBound and upperBound of a (percentiles 0.9 / 0.5 / 0.95, margin 15%,
 * confidence multipliers (1, 1) upper and (0.001, -2) lower, then the pod minimums 25m and
 * 250Mi divided among ncontainers). Upper bounds stay within the histograms' range. */
void vpa_recommend(const struct vpa_agg *a, int ncontainers, struct vpa_rec *out);

#endif
