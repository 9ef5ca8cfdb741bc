/* Internals of `kroll demo`, shared by its files: demo.c (the walk-through and its phases),
 * demo_load.c (the HTTP load generator thread), demo_api.c (reads of cluster state over the
 * HTTPS API and the sampled timeline), demo_view.c (the terminal view and the kubectl step
 * runner) and demo_report.c (summary table and the self-contained HTML report). */
#ifndef KROLL_CLI_DEMO_INT_H
#define KROLL_CLI_DEMO_INT_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "cli/apiclient.h"

#define DEMO_MAX_PHASES 16
#define DEMO_MAX_SECONDS 900 /* per-second traffic series: the demo never runs longer */
#define DEMO_MAX_VERSIONS 8  /* distinct X-Model-Version (+ X-Config-Version) values */
#define DEMO_LAT_BUCKETS 160 /* latency histogram: bucket i covers up to 20us * 1.08^i */
#define DEMO_MAX_SAMPLES 2400
#define DEMO_MAX_SERIES 24  /* ReplicaSets plotted */
#define DEMO_MAX_ROLLOUTS 4 /* Rollouts whose traffic weight is sampled */
#define DEMO_MAX_MARKS 400  /* analysis measurements and run outcomes kept for the report */

/* Counters of the load generator; one set per phase. */
struct load_counters {
    uint64_t requests, ok, failed;
    uint64_t fail_status, fail_conn, fail_timeout;
    uint64_t lat_sum_us, lat_max_us;
    uint64_t lat_hist[DEMO_LAT_BUCKETS];
    uint64_t by_version[DEMO_MAX_VERSIONS];
};

struct load_second {
    uint32_t ok, failed;
    uint32_t by_version[DEMO_MAX_VERSIONS];
};

struct load;

/* Starts the load thread (paused: no target). rate is requests per second over conns
 * keep-alive connections. t0 is the demo's start (CLOCK_MONOTONIC seconds). */
struct load *load_start(int conns, int rate, double t0);
/* Sets the target ("IP", port); NULL host stops sending. Connections to an old target finish
 * their request in flight and are closed without counting a failure. */
void load_set_target(struct load *l, const char *host, int port);
/* Requests finishing from now on are counted in phase idx. */
void load_set_phase(struct load *l, int idx);
/* Copies (under the lock) the counters of phase idx, the totals, versions and seconds. */
void load_get_phase(struct load *l, int idx, struct load_counters *out);
void load_get_total(struct load *l, struct load_counters *out);
int load_versions(struct load *l, char names[DEMO_MAX_VERSIONS][32]);
/* Changes the request rate (requests per second, > 0) from now on. */
void load_set_rate(struct load *l, int rate);
/* Copies per-second series; returns the number of seconds covered. */
int load_get_seconds(struct load *l, struct load_second *out, int max);
/* Last error text seen (for the view), "" when none. */
void load_last_error(struct load *l, char *buf, size_t n);
void load_stop(struct load *l);
/* Latency percentile (0..1) in microseconds from a histogram. */
double load_percentile_us(const struct load_counters *c, double q);

/* One ReplicaSet at one sample. */
struct rs_state {
    char name[96], deploy[64], image[64];
    int revision, desired, ready, available;
};

/* One Rollout at one sample: the share of traffic its update gets (canary: the current
 * step's setWeight or status.canary.weights; blue/green: 0 before promotion, 100 after; 0
 * once aborted; 100 when idle). */
struct ro_state {
    char name[48];
    int weight, idle; /* idle: no update in progress (stableRS == currentPodHash) */
};

struct cluster_state {
    double t;
    int nrs, nro;
    struct rs_state rs[DEMO_MAX_SERIES];
    struct ro_state ro[DEMO_MAX_ROLLOUTS];
    int pods_running, pods_pending, pods_terminating, pods_ready;
    char pending_reason[160]; /* PodScheduled message of a Pending pod, if any */
};

/* A connection to the API: address and token from the kubeconfig, CA from the pki dir. */
/* GETs go through c; the sampler reads ReplicaSets, Pods, Rollouts and AnalysisRuns from the
 * client's informers (kc over HTTPS), whose loop it turns at each sample. */
struct loop;
struct kc;
struct demo_api {
    struct cli_api c;
    struct loop *loop;
    struct kc *kc;
};

int demo_api_open(struct demo_api *a, const char *data_dir);
void demo_api_close(struct demo_api *a);
/* GET path; returns the parsed JSON body (new reference) or NULL. */
json_t *demo_api_get(struct demo_api *a, const char *path);
/* Reads ReplicaSets and Pods of the default namespace into st. 0, or -1 while the informers
 * have not listed or lost the server. */
int demo_api_sample(struct demo_api *a, struct cluster_state *st);

/* One analysis measurement (metric[0] set) or one AnalysisRun's outcome (metric ""), at demo
 * time t (its finishedAt). phase: Successful, Failed, Error, Inconclusive. */
struct demo_mark {
    char run[96], metric[48], phase[16], value[64], started[32];
    double t;
};

/* Reads the default namespace's Rollouts into st->ro. 0 or -1. */
int demo_api_sample_rollouts(struct demo_api *a, struct cluster_state *st);
/* Adds the finished measurements and run outcomes of the default namespace's AnalysisRuns not
 * yet in marks[*n] (at most max). wall_offset: wall-clock minus demo time, seconds. */
void demo_api_sample_analysis(struct demo_api *a, struct demo_mark *marks, int *n, int max,
                              double wall_offset);

struct demo_phase {
    const char *name, *title, *why;
    int zero_downtime;
    double t_start, t_end;
    struct load_counters c;
    int check_ok; /* the phase's own expectations (rollout outcomes) held */
    char note[200];
};

struct demo {
    char *data_dir, *exe, *kubectl, *report_path, *images_dir;
    int tty, keep, server_pid;
    int rate; /* the load generator's base rate, requests per second */
    double t0;
    struct demo_api api;
    struct load *load;
    char target[64];
    int target_port;
    char node[128];
    int nphases, cur;
    struct demo_phase phases[DEMO_MAX_PHASES];
    int nsamples;
    struct cluster_state *samples; /* DEMO_MAX_SAMPLES */
    struct cluster_state last;
    struct demo_mark *marks; /* DEMO_MAX_MARKS */
    int nmarks;
    double last_sample, last_plain;
    char last_plain_line[512];
    int view_lines; /* lines of the live view currently drawn below the log */
    int steps_failed;
    char failed_steps[1024];
    /* copied from the load generator when it stops, for the summary and the report */
    struct load_second *secs;
    int nsecs, nversions;
    char versions[DEMO_MAX_VERSIONS][32];
    struct load_counters total;
};

extern volatile sig_atomic_t demo_interrupted;

double demo_now(void);
/* Seconds since the demo started. */
double demo_elapsed(const struct demo *d);

/* Prints a log line above the live view (the view is redrawn after it). */
void demo_say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Samples the cluster when due and redraws the view (TTY) or prints a state line. */
void demo_tick(struct demo *d);
/* Removes the live view from the screen (before the summary). */
void demo_view_clear(struct demo *d);
/* Runs `kubectl ARGS...` (NULL-terminated) with the demo's KUBECONFIG, printing the command
 * and its output; timeout_s bounds it (the child is killed). Returns its exit code, 124 on
 * timeout, 130 when interrupted. The output is kept in out (malloc'd) when out is non-NULL. */
int demo_kubectl(struct demo *d, int timeout_s, char **out, ...) __attribute__((sentinel));
/* Waits up to secs seconds (ticking the view) until cond(d) is true (cond NULL: just waits).
 * Returns 1 when cond held, 0 on timeout or interruption. */
int demo_wait(struct demo *d, double secs, int (*cond)(struct demo *d));

/* The phases' common steps (demo.c). */
/* <data dir>/manifests/FILE (malloc'd). */
char *demo_mpath(struct demo *d, const char *file);
/* Records a failed expectation of the current phase unless ok. */
void demo_expect(struct demo *d, int ok, const char *what);
/* Starts a phase: its summary row, title and purpose; zd marks it zero-downtime. */
void demo_phase_begin(struct demo *d, const char *name, const char *title, int zd, const char *why);
/* Points the load generator at Service name's clusterIP:8501. 0 or -1. */
int demo_target_service(struct demo *d, const char *name);
/* Requests answered so far by version ver (X-Model-Version, or "V cfg C"). */
uint64_t demo_version_count(struct demo *d, const char *ver);
/* The latest sample's ReplicaSet of deploy running image tag, or NULL. */
const struct rs_state *demo_rs_find(struct demo *d, const char *deploy, const char *image);

/* Phases beyond the tutorial's examples (demo_more.c). */
void demo_phase_config(struct demo *d);
void demo_phase_autoscale(struct demo *d);

/* Progressive delivery (demo_progressive.c), only with --progressive or --only. */
void demo_phase_canary(struct demo *d);
void demo_phase_canary_abort(struct demo *d);
void demo_phase_bluegreen_analysis(struct demo *d);

/* Setup (demo_setup.c): <dir of the kroll binary>/examples/images (malloc'd) or NULL. */
char *demo_images_default(void);
/* Imports every image listed in d->images_dir/images.txt into d->data_dir. 0 or -1. */
int demo_images_import(struct demo *d);
/* Starts `kroll server` for d->data_dir, waits until it serves, opens d->api and exports
 * KUBECONFIG. 0 or -1 (with the server's log on stderr). */
int demo_server_start(struct demo *d, const char *node_resource);
int demo_node_name(struct demo *d);
/* Stops the server, every pod of the data dir and the Service proxy. */
void demo_server_stop(struct demo *d);

/* Summary table on stdout; returns 1 when every zero-downtime phase had no failed request. */
int demo_summary(struct demo *d);
/* Writes the HTML report to d->report_path. 0 or -1. */
int demo_report_write(struct demo *d);
/* The SVG timeline alone (malloc'd string). */
char *demo_report_svg(struct demo *d);

#endif
