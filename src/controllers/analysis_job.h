/* The AnalysisRun controller's job provider (argo-rollouts metricproviders/job/job.go): one
 * batch/v1 Job per measurement, named <run-uid>.<metric>.<n> and owned by the run. The
 * measurement stays Running (metadata job-name, job-namespace) until the Job is Complete
 * (Successful) or Failed (Failed), or one of its pods cannot get its image (Inconclusive).
 * Nothing here waits: the controller is woken by the Job and pod events that
 * anl_job_on_job / anl_job_on_pod turn into its run's key. JSON is borrowed unless said. */
#ifndef KROLL_CONTROLLERS_ANALYSIS_JOB_H
#define KROLL_CONTROLLERS_ANALYSIS_JOB_H

#include <jansson.h>
#include <stddef.h>

#include "client/client.h"

#define ANL_JOB_UID_LABEL "analysisrun.argoproj.io/uid"
#define ANL_JOB_NAME_MAX 63 /* the Job controller puts the name in a label */

/* True when provider (a metric's provider object) is a job provider. */
int anl_job_provider(const json_t *provider);

/* Argo's newJobName: "<uid>.<metric>.<id>", the metric name cut so it fits in 63 characters.
 * out must hold ANL_JOB_NAME_MAX + 1 bytes; returns -1 when even an empty metric name would
 * not fit. */
int anl_job_name(const char *uid, const char *metric, long long id, char *out, size_t n);

/* Creates the Job of the next measurement of metric (after args substitution) of run ar,
 * whose metric result so far is mr. Returns the new measurement (new reference): Running with
 * metadata job-name and job-namespace, or Error with the API's message. */
json_t *anl_job_run(struct ctl *c, const json_t *ar, const json_t *metric, const json_t *mr);

/* Looks at the Job of running measurement meas and updates meas in place: returns AP_RUNNING
 * while the Job runs, else the measurement's completed phase (Successful, Failed,
 * Inconclusive for a pod stuck pulling its image, whose Job is then deleted, or Error when
 * the Job is gone), finishedAt set. */
int anl_job_resume(struct ctl *c, const json_t *ar, json_t *meas);

/* Ends running measurement meas because its run stops: a Job that already finished gives its
 * result; otherwise the Job is deleted (foreground, its pods first) and the measurement is
 * Inconclusive "Metric Terminated" (Error when the delete fails). Returns the phase. */
int anl_job_terminate(struct ctl *c, const json_t *ar, json_t *meas);

/* Deletes the oldest Jobs of metric of run ar (by measurement number) beyond keep. */
void anl_job_gc(struct ctl *c, const json_t *ar, const char *metric, long long keep);

/* ctl_watch handlers: a Job event enqueues the AnalysisRun that controls it; a pod event
 * enqueues the run of its Job when a container of the pod waits for an image it cannot get. */
void anl_job_on_job(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx);
void anl_job_on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx);

#endif
