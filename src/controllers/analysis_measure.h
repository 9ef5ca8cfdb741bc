/* The AnalysisRun controller's measurements: each web or prometheus measurement is one HTTP
 * exchange on a worker thread (core/httpc, bounded by the provider's timeout), so the server's
 * loop never waits; an eventfd wakes the loop when one ends, and the controller takes the
 * result on its next sync of that run. Results are keyed "ns/name/uid/metric". */
#ifndef KROLL_CONTROLLERS_ANALYSIS_MEASURE_H
#define KROLL_CONTROLLERS_ANALYSIS_MEASURE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "core/loop.h"

#define ANL_MAX_JOBS 64    /* measurements in flight; more wait for a later sync */
#define ANL_MAX_HEADERS 32 /* headers of one request */
#define ANL_MAX_HEADER_LEN 4096

struct anl_jobs;

/* Called on the loop when a measurement of run ns/name ended. */
typedef void anl_done_fn(const char *ns, const char *name, void *ctx);

struct anl_jobs *anl_jobs_new(struct loop *loop, anl_done_fn *fn, void *ctx);
/* Stops watching; running threads finish on their own and free what they hold. */
void anl_jobs_free(struct anl_jobs *j);

/* A finished measurement: phase Error with msg, or a result to evaluate. */
struct anl_outcome {
    int error; /* 1: an Error measurement, msg says why */
    char msg[512];
    json_t *result; /* owned: the value conditions see (NULL: nil) */
    unsigned flags; /* expr flags for result */
    char *value;    /* owned: measurement.value */
    time_t started, finished;
};
void anl_outcome_release(struct anl_outcome *o);

/* Starts measuring provider (the metric's substituted provider object) for key. Returns 0
 * when started, 1 when too many are in flight (try later), -1 with o filled as an Error
 * measurement when the provider cannot be used ("provider datadog is not supported"); the job
 * provider never comes here (analysis_job.h). */
int anl_jobs_start(struct anl_jobs *j, const char *key, const char *ns, const char *name,
                   const json_t *provider, struct anl_outcome *o);
/* 0: nothing for key; 1: running; 2: finished, o filled (the job is gone). */
int anl_jobs_take(struct anl_jobs *j, const char *key, struct anl_outcome *o);
/* Forgets every job whose key starts with prefix (a run being terminated or deleted). */
void anl_jobs_cancel(struct anl_jobs *j, const char *prefix);

/* Narrows doc with a JSONPath of the subset Argo's users write ({$}, {$.a.b}, {$.a[0].b},
 * {.a}): returns a new reference or NULL with msg. */
json_t *anl_jsonpath(const json_t *doc, const char *path, char *msg, size_t n);

#endif
