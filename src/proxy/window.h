/* Sliding windows of request statistics: what the proxy saw per pod and per revision over the
 * last seconds to minutes (requests by status class, connect errors, a latency histogram), for
 * rates, success rates and latency quantiles over a window, as analysis runs and autoscalers ask
 * for them. A window is a ring of fixed-width time slots; counts are added to the slot of the
 * second they were sampled in. Plain data, no locking: the caller serializes. */
#ifndef KROLL_PROXY_WINDOW_H
#define KROLL_PROXY_WINDOW_H

#include <stdint.h>

#include "proxy/proxy-int.h"

#define PX_WIN_SLOT_S 5  /* seconds per slot: the resolution of a window */
#define PX_WIN_SLOTS 121 /* 10 minutes of whole slots plus the one being filled */
#define PX_WIN_MAX_S (PX_WIN_SLOT_S * (PX_WIN_SLOTS - 1))

/* Counts over some time: requests by class (enum PX_CLASS_*: 1xx..5xx, aborted), failed
 * connects, the latency histogram (px_lat_bounds) and the latency sum. */
struct px_wcount {
    uint64_t requests[PX_NCLASS];
    uint64_t latency[PX_LAT_BUCKETS];
    uint64_t latency_sum_us;
    uint64_t connect_errors;
};

struct px_window {
    int64_t slot_start[PX_WIN_SLOTS]; /* first second of the slot's interval; 0: empty */
    struct px_wcount c[PX_WIN_SLOTS];
};

/* The per-worker counters of a stats array, summed (stride: bytes between workers' slots). */
void px_wcount_from_stats(const struct px_stats *st, size_t stride, int n, struct px_wcount *out);
/* out = a - b, field by field; a counter that went down (a new endpoint object) gives a. */
void px_wcount_delta(const struct px_wcount *a, const struct px_wcount *b, struct px_wcount *out);
void px_wcount_add(struct px_wcount *acc, const struct px_wcount *d);

/* Adds d to the slot that holds now_s (seconds, any clock that only goes forward). */
void px_window_add(struct px_window *w, int64_t now_s, const struct px_wcount *d);
/* Sums the slots that overlap the last secs seconds before now_s (rounded up to whole slots,
 * at most PX_WIN_MAX_S). Returns the seconds actually covered by data: from the oldest slot
 * summed to now_s, 0 when the window is empty. */
int px_window_sum(const struct px_window *w, int64_t now_s, int secs, struct px_wcount *out);
/* True when no slot within PX_WIN_MAX_S of now_s has a count. */
int px_window_idle(const struct px_window *w, int64_t now_s);

/* Requests with a status (1xx..5xx) plus failed connects: what a success rate divides by
 * (requests the client abandoned are neither success nor failure). */
uint64_t px_wcount_total(const struct px_wcount *c);
/* 5xx answers plus failed connects. */
uint64_t px_wcount_failures(const struct px_wcount *c);
/* The q-quantile (0 < q < 1) of the latency in seconds, interpolated linearly within the
 * bucket as Prometheus' histogram_quantile() does; a quantile in the +Inf bucket is the last
 * finite bound. Negative when there is no request. */
double px_wcount_quantile(const struct px_wcount *c, double q);

#endif
