/* The job provider of analysis_job.h. Every call is one read of the in-memory objects or one
 * API write; the Job controller and the kubelet do the running, and their writes come back
 * as events. Measurements are plain JSON in the run's status, so a restarted server resumes
 * them from status alone, as Argo does. */
#include "controllers/analysis_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/analysis.h"
#include "core/cond.h"
#include "core/jx.h"
#include "core/log.h"

#define A_NAME "analysisrun.argoproj.io/name"
#define A_NAMESPACE "analysisrun.argoproj.io/namespace"
#define A_METRIC "analysisrun.argoproj.io/metric-name"
#define GC_MAX 1024 /* Jobs of one metric looked at by one collection */

static const char *const terminal_waits[] = {"ErrImagePull", "ImagePullBackOff",
                                             "InvalidImageName"};

int anl_job_provider(const json_t *provider)
{
    return json_is_object(json_object_get(provider, "job"));
}

static void stamp(json_t *meas, const char *key)
{
    char buf[32];

    time_rfc3339(time(NULL), buf);
    json_object_set_new(meas, key, json_string(buf));
}

static int finish(json_t *meas, int phase, const char *msg)
{
    json_object_set_new(meas, "phase", json_string(anl_phase_name(phase)));
    if (msg && *msg)
        json_object_set_new(meas, "message", json_string(msg) ?: json_string(""));
    stamp(meas, "finishedAt");
    return phase;
}

int anl_job_name(const char *uid, const char *metric, long long id, char *out, size_t n)
{
    char tail[32];
    size_t fixed, keep = strlen(metric);

    snprintf(tail, sizeof tail, ".%lld", id);
    fixed = strlen(uid) + 1 + strlen(tail);
    if (fixed + 1 > ANL_JOB_NAME_MAX || n < ANL_JOB_NAME_MAX + 1)
        return -1;
    if (fixed + keep > ANL_JOB_NAME_MAX) /* Argo cuts the metric name, never uid or number */
        keep = ANL_JOB_NAME_MAX - fixed;
    snprintf(out, n, "%s.%.*s%s", uid, (int)keep, metric, tail);
    return 0;
}

/* A deep copy of v when it is an object, else a new empty object. */
static json_t *obj_copy(const json_t *v)
{
    return json_is_object(v) ? json_deep_copy(v) : json_object();
}

/* The Job object of a new measurement (new reference). */
static json_t *job_object(const json_t *ar, const json_t *metric, const char *name)
{
    const json_t *pj = jx_get(metric, "provider.job");
    const char *ns = jx_str(ar, "metadata.namespace"), *uid = jx_str(ar, "metadata.uid") ?: "";
    json_t *labels = obj_copy(jx_get(pj, "metadata.labels"));
    json_t *annos = obj_copy(jx_get(pj, "metadata.annotations"));
    json_t *spec = obj_copy(json_object_get(pj, "spec"));
    json_t *job;

    json_object_set_new(labels, ANL_JOB_UID_LABEL, json_string(uid));
    json_object_set_new(annos, A_NAME, json_string(jx_str(ar, "metadata.name")));
    json_object_set_new(annos, A_NAMESPACE, json_string(ns));
    json_object_set_new(annos, A_METRIC, json_string(jx_str(metric, "name") ?: ""));
    /* Argo labels the pods too (its pod informer filters on it; here anl_job_on_pod does). */
    json_object_set_new(jx_obj(spec, "template.metadata.labels"), ANL_JOB_UID_LABEL,
                        json_string(uid));
    job = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:o}", "apiVersion",
                    "batch/v1", "kind", "Job", "metadata", "name", name, "namespace", ns, "labels",
                    labels, "annotations", annos, "ownerReferences", "apiVersion",
                    "argoproj.io/v1alpha1", "kind", "AnalysisRun", "name",
                    jx_str(ar, "metadata.name"), "uid", uid, "controller", 1, "blockOwnerDeletion",
                    1, "spec", spec);
    return job;
}

json_t *anl_job_run(struct ctl *c, const json_t *ar, const json_t *metric, const json_t *mr)
{
    const char *ns = jx_str(ar, "metadata.namespace"), *uid = jx_str(ar, "metadata.uid") ?: "";
    struct kc_wopts o = {.grace = -1, .manager = "argo-rollouts"};
    json_t *meas = json_pack("{s:s}", "phase", "Running"), *job, *out = NULL;
    char name[ANL_JOB_NAME_MAX + 1];
    struct err err;
    int rc;

    stamp(meas, "startedAt");
    if (anl_job_name(uid, jx_str(metric, "name") ?: "",
                     jx_int(mr, "count", 0) + jx_int(mr, "error", 0) + 1, name, sizeof name) < 0) {
        finish(meas, AP_ERROR, "job name: the run's uid is too long");
        return meas;
    }
    job = job_object(ar, metric, name);
    if (!job) { /* only text that is not UTF-8 gets here */
        finish(meas, AP_ERROR, "job: the run's name or the metric's is not valid text");
        return meas;
    }
    err_init(&err);
    rc = kc_create(ctl_kc(c), kc_resource(RES_JOB), ns, job, &o, &out, &err);
    if (rc == -E_ALREADY_EXISTS) { /* ours from a sync whose status write was lost: resume it */
        const json_t *old = kc_get(ctl_kc(c), kc_resource(RES_JOB), ns, name);
        const json_t *ref = old ? ctl_controller_ref(old) : NULL;

        if (ref && !strcmp(jx_str(ref, "uid") ?: "", uid))
            rc = 0;
    }
    if (rc < 0)
        finish(meas, AP_ERROR, err.msg);
    else
        json_object_set_new(meas, "metadata",
                            json_pack("{s:s,s:s}", "job-name", name, "job-namespace", ns));
    json_decref(out);
    json_decref(job);
    err_release(&err);
    return meas;
}

/* 1 when a container (init or not) of pod waits for an image it cannot get, with msg
 * "Pod P, container C has terminal error (REASON): MESSAGE" (Argo's processJobPods). */
static int pod_stuck(const json_t *pod, char *msg, size_t n)
{
    static const char *const lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
    const json_t *cs;
    size_t i;

    for (size_t l = 0; l < 2; l++)
        json_array_foreach(jx_get(pod, lists[l]), i, cs)
        {
            const char *why = jx_str(cs, "state.waiting.reason") ?: "";

            for (size_t t = 0; t < sizeof terminal_waits / sizeof terminal_waits[0]; t++)
                if (!strcmp(why, terminal_waits[t])) {
                    snprintf(msg, n, "Pod %s, container %s has terminal error (%s): %s",
                             jx_str(pod, "metadata.name") ?: "", jx_str(cs, "name") ?: "", why,
                             jx_str(cs, "state.waiting.message") ?: "");
                    return 1;
                }
        }
    return 0;
}

/* pod_stuck for the pods job controls; 0 when none is stuck. */
static int job_stuck(struct ctl *c, const json_t *job, char *msg, size_t n)
{
    const char *uid = jx_str(job, "metadata.uid") ?: "", *ns = jx_str(job, "metadata.namespace");
    json_t *pods = ctl_map(c, RES_POD), *p;
    const char *k;

    json_object_foreach(pods, k, p)
    {
        const json_t *ref = ctl_controller_ref(p);

        if (ref && !strcmp(jx_str(ref, "uid") ?: "", uid) &&
            !strcmp(jx_str(p, "metadata.namespace") ?: "", ns ?: "") && pod_stuck(p, msg, n))
            return 1;
    }
    return 0;
}

/* Deletes a Job with its pods first (Argo's foreground delete); 0 or -1 with msg. */
static int job_delete(struct ctl *c, const char *ns, const char *name, char *msg, size_t n)
{
    struct kc_wopts o = {.grace = -1, .propagation = "Foreground"};
    json_t *out = NULL;
    struct err err;
    int rc;

    err_init(&err);
    rc = kc_delete(ctl_kc(c), kc_resource(RES_JOB), ns, name, &o, &out, &err);
    if (rc == -E_NOT_FOUND)
        rc = 0;
    if (rc < 0)
        snprintf(msg, n, "%.500s", err.msg);
    json_decref(out);
    err_release(&err);
    return rc < 0 ? -1 : 0;
}

static int true_cond(const json_t *job, const char *type)
{
    return !strcmp(jx_str(cond_get(job, type), "status") ?: "", "True");
}

/* The Job of meas, its namespace and name; NULL with msg when it is not there. */
static const json_t *meas_job(struct ctl *c, const json_t *ar, const json_t *meas, const char **ns,
                              const char **name, char *msg, size_t n)
{
    const json_t *md = json_object_get(meas, "metadata");
    const json_t *job;

    *name = jx_str(md, "job-name");
    *ns = json_object_get(md, "job-namespace") ? jx_str(md, "job-namespace")
                                               : jx_str(ar, "metadata.namespace");
    if (!*name || !**name || !*ns) {
        snprintf(msg, n, "job metadata reference missing");
        return NULL;
    }
    job = kc_get(ctl_kc(c), kc_resource(RES_JOB), *ns, *name);
    if (!job)
        snprintf(msg, n, "job.batch \"%s\" not found", *name);
    return job;
}

/* A finished Job's measurement phase: Successful when Complete, Failed when Failed, else
 * AP_RUNNING. */
static int job_done_phase(const json_t *job)
{
    if (true_cond(job, "Complete"))
        return AP_SUCCESSFUL;
    return true_cond(job, "Failed") ? AP_FAILED : AP_RUNNING;
}

int anl_job_resume(struct ctl *c, const json_t *ar, json_t *meas)
{
    const char *ns, *name;
    const json_t *job;
    char msg[700];
    int phase;

    job = meas_job(c, ar, meas, &ns, &name, msg, sizeof msg);
    if (!job)
        return finish(meas, AP_ERROR, msg);
    if ((phase = job_done_phase(job)) != AP_RUNNING)
        return finish(meas, phase, NULL);
    if (!jx_get(job, "metadata.deletionTimestamp") && job_stuck(c, job, msg, sizeof msg)) {
        char dmsg[512];

        /* Its template cannot change, so it would wait forever (Argo leaves it). */
        if (job_delete(c, ns, name, dmsg, sizeof dmsg) < 0)
            return AP_RUNNING; /* a later sync retries */
        return finish(meas, AP_INCONCLUSIVE, msg);
    }
    return AP_RUNNING;
}

int anl_job_terminate(struct ctl *c, const json_t *ar, json_t *meas)
{
    const char *ns, *name;
    const json_t *job;
    char msg[700];
    int phase;

    job = meas_job(c, ar, meas, &ns, &name, msg, sizeof msg);
    if (!name || !*name || !ns)
        return finish(meas, AP_ERROR, msg);
    if (job && (phase = job_done_phase(job)) != AP_RUNNING)
        return finish(meas, phase, NULL);
    if (job && job_delete(c, ns, name, msg, sizeof msg) < 0)
        return finish(meas, AP_ERROR, msg);
    return finish(meas, AP_INCONCLUSIVE, "Metric Terminated");
}

struct gc_ent {
    long long id;
    const char *ns, *name;
};

static int gc_cmp(const void *a, const void *b)
{
    const struct gc_ent *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

void anl_job_gc(struct ctl *c, const json_t *ar, const char *metric, long long keep)
{
    const char *uid = jx_str(ar, "metadata.uid") ?: "", *k, *dot;
    json_t *jobs = ctl_map(c, RES_JOB), *j, *held = json_array();
    struct gc_ent *e = xcalloc(GC_MAX, sizeof *e);
    size_t n = 0;
    char msg[512];

    json_object_foreach(jobs, k, j)
    {
        const char *name = jx_str(j, "metadata.name") ?: "";

        if (n == GC_MAX || strcmp(jx_label(j, ANL_JOB_UID_LABEL) ?: "", uid) ||
            strcmp(jx_annotation(j, A_METRIC) ?: "", metric) ||
            jx_get(j, "metadata.deletionTimestamp") || !(dot = strrchr(name, '.')))
            continue;
        json_array_append(held, j); /* the deletes below must not free what e points into */
        e[n].id = strtoll(dot + 1, NULL, 10);
        e[n].ns = jx_str(j, "metadata.namespace");
        e[n].name = name;
        n++;
    }
    qsort(e, n, sizeof *e, gc_cmp);
    for (size_t i = 0; keep >= 0 && (long long)n - (long long)i > keep; i++)
        if (job_delete(c, e[i].ns, e[i].name, msg, sizeof msg) < 0)
            break; /* the next measurement's collection retries */
    free(e);
    json_decref(held);
}

void anl_job_on_job(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx)
{
    (void)type, (void)r, (void)old, (void)ctx;
    ctl_enqueue_owner(c, obj, "AnalysisRun");
}

void anl_job_on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx)
{
    const json_t *ref = ctl_controller_ref(obj), *job;
    char msg[512];

    (void)type, (void)r, (void)old, (void)ctx;
    if (!jx_label(obj, ANL_JOB_UID_LABEL) || !ref || strcmp(jx_str(ref, "kind") ?: "", "Job") ||
        !pod_stuck(obj, msg, sizeof msg))
        return;
    job = kc_get(ctl_kc(c), kc_resource(RES_JOB), jx_str(obj, "metadata.namespace"),
                 jx_str(ref, "name"));
    if (job)
        ctl_enqueue_owner(c, job, "AnalysisRun");
}
