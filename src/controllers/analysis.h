/* The AnalysisRun controller's decisions, apart from its writes and its threads so unit tests
 * drive them with plain objects (argo-rollouts analysis/analysis.go, utils/analysis): a
 * metric's settings with Argo's defaults, a measurement's phase from its conditions, the
 * counters, the metric's assessment against its limits, when it measures next, and the run's
 * phase. All JSON is borrowed unless a function says otherwise. */
#ifndef KROLL_CONTROLLERS_ANALYSIS_H
#define KROLL_CONTROLLERS_ANALYSIS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Phases in the order a run reports the worst of its metrics (Argo's IsWorse). */
enum anl_phase {
    AP_SUCCESSFUL,
    AP_RUNNING,
    AP_PENDING,
    AP_INCONCLUSIVE,
    AP_ERROR,
    AP_FAILED,
};

#define ANL_ERROR_RETRY_MS 10000 /* DefaultErrorRetryInterval */
#define ANL_DEFAULT_CONSECUTIVE_ERROR_LIMIT 4
#define ANL_DEFAULT_MEASUREMENT_LIMIT 10 /* measurements kept per metric */

const char *anl_phase_name(int phase);
/* The phase named s, or -1 (NULL and "" are Pending). */
int anl_phase_parse(const char *s);
int anl_phase_completed(int phase);

/* A metric after args substitution, with Argo's defaults. Strings are borrowed from the
 * metric JSON. */
struct anl_metric {
    const char *name;
    int64_t interval_ms;      /* -1: none */
    int64_t initial_delay_ms; /* 0 when unset */
    long long count;          /* measurements to take; 0: unbounded (interval without count) */
    long long failure_limit, inconclusive_limit, consecutive_error_limit, consecutive_success_limit;
    const char *success, *failure; /* conditions or NULL */
};

/* Reads metric m into *out. Returns 0, or -1 with msg ("metrics[i]: invalid interval ..."). */
int anl_metric_read(const json_t *m, size_t index, struct anl_metric *out, char *msg, size_t n);

/* The phase of a measurement whose value is result (NULL: nil), from the metric's conditions:
 * none -> Successful; success only -> Successful or Failed; failure only -> Failed or
 * Successful; both -> Failed, Successful, or Inconclusive when neither holds. An evaluation
 * error is Error with msg set. flags are expr_eval's. */
int anl_evaluate(const struct anl_metric *m, const json_t *result, unsigned flags, char *msg,
                 size_t n);

/* Adds a finished measurement of phase to the counters of metric result mr (an object):
 * count (not for errors), successful, failed, inconclusive, error, consecutiveError,
 * consecutiveSuccess. */
void anl_count(json_t *mr, int phase);

/* The metric's phase from its counters: Failed, Inconclusive or Error past a limit (msg then
 * holds Argo's message), Successful once consecutiveSuccessLimit or count is reached, else
 * Running. */
int anl_assess(const struct anl_metric *m, const json_t *mr, char *msg, size_t n);

/* When the metric measures next, in ms since the epoch, from its last measurement (or the
 * run's start plus initialDelay); -1 when it takes no more (no interval after one success). */
int64_t anl_next_due(const struct anl_metric *m, const json_t *mr, int64_t started_ms);

/* The run's phase from its metric results (array; dryRun ones ignored for the phase and
 * counted in dry instead): any completed metric other than Successful ends the run with the
 * worst phase; all Successful (dry-run ones completed too): Successful; else Running. terminate:
 * running metrics count as Successful and the message is "Run Terminated". summary and dry
 * (objects) receive count/successful/failed/inconclusive/error. */
int anl_run_phase(const json_t *results, int terminate, char *msg, size_t n, json_t *summary,
                  json_t *dry);

#endif
