/* Resource metrics of the node and its containers (metrics.k8s.io), computed as metrics-server
 * computes them from the kubelet's: CPU as the rate between the last two samples of a cumulative
 * counter, memory as the working set of the last sample. The pure parts (series, rate, quantity
 * and duration text) are here for the unit tests; sampling is node/metrics.c. */
#ifndef KROLL_NODE_METRICS_H
#define KROLL_NODE_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define METRICS_PERIOD_MS 10000 /* the sampling period (metrics-server's minimum resolution) */

/* One reading: monotonic and wall-clock time, cumulative CPU time and the working set. */
struct msample {
    int64_t mono_ms;
    int64_t wall_s;
    uint64_t cpu_ns;
    uint64_t ws_bytes;
};

/* The last two readings of one container (or the node), embedded in its owner, which frees it
 * with metrics_series_release. pid and the cgroup directories belong to the instance sampled:
 * a new pid (a restart) starts the series again. */
struct mseries {
    struct msample s[2]; /* s[n - 1] is the latest */
    int n;
    pid_t pid;
    char *cpu_dir, *mem_dir; /* cgroup directories (OCI runtime), NULL otherwise */
};

/* Appends a reading, keeping the last two. A cumulative CPU lower than the previous one (the
 * counter restarted) or a time that did not advance drops the older readings. */
void metrics_series_push(struct mseries *m, const struct msample *s);
/* Forgets the readings and the directories (the struct stays usable). */
void metrics_series_reset(struct mseries *m);
void metrics_series_release(struct mseries *m);
/* The CPU rate in nanocores and the window in ms between the two readings. 0, or -1 when the
 * series has fewer than two. */
int metrics_series_rate(const struct mseries *m, uint64_t *nanocores, int64_t *window_ms);

/* Quantities in resource.Quantity's canonical text: CPU from nanocores as DecimalSI ("0",
 * "123456789n", "250m", "2"), memory from bytes as BinarySI ("12345Ki", "3Mi", a bare integer
 * when not a multiple of 1024, DecimalSI below 1024 as Go does: "1k"). buf of at least 32. */
void metrics_cpu_quantity(uint64_t nanocores, char *buf, size_t n);
void metrics_mem_quantity(uint64_t bytes, char *buf, size_t n);
/* A duration in ms as Go's time.Duration.String() prints it ("10.012s", "1m0.5s", "500ms",
 * "0s"). */
void metrics_duration(int64_t ms, char *buf, size_t n);

/* The window fields and usage of a series with two readings as metrics.k8s.io shows them:
 * {"timestamp","window","usage":{"cpu","memory"}}; NULL when it has fewer. New reference. */
json_t *metrics_series_json(const struct mseries *m);

/* Readers (node/metrics.c). 0, or -1 when the values cannot be read. */
/* The cgroup directories of pid's cpuacct (or cgroup v2) and memory controllers. */
int metrics_cgroup_dirs(pid_t pid, char **cpu_dir, char **mem_dir);
/* Cumulative CPU and working set (usage minus inactive file, floored at 0) of those. */
int metrics_cgroup_read(const char *cpu_dir, const char *mem_dir, struct msample *s);
/* The node's from /proc/stat and /proc/meminfo. */
int metrics_node_read(struct msample *s);

#endif
