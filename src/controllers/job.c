/* The job controller (kube-controller-manager's job_controller.go and ttlafterfinished, 1.32):
 * keeps min(parallelism, remaining completions) pods of a Job active, counts succeeded and
 * failed pods, fails the Job past backoffLimit or activeDeadlineSeconds (FailureTarget, active
 * pods deleted, then Failed once none is terminating), completes it (SuccessCriteriaMet, then
 * Complete), suspends and resumes it, and deletes a finished Job after ttlSecondsAfterFinished.
 * Counting is from the Job's pods (no tracking finalizers): a count never goes down, so pods
 * deleted after they finished stay counted, but a pod deleted and gone between two syncs is
 * missed. */
#include "controllers/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"

#define COMP "job-controller"
#define JOB_BACKOFF_S 10                    /* DefaultJobPodFailureBackOff */
#define JOB_BACKOFF_MAX_S 600               /* MaxJobPodFailureBackOff */
#define JOB_MAX_PER_SYNC 500                /* MaxPodCreateDeletePerSync */
#define JOB_REMOVED "kroll.dev/job-removed" /* pods removed by scale-down/suspend: no failure */
#define JOB_OWNER "kubernetes.io/job-controller"

/* ---- decisions ---- */

long long job_want_active(const struct job_view *v)
{
    long long want;

    if (v->suspended)
        return 0;
    if (!v->has_completions)
        return v->succeeded > 0 ? (v->active < v->parallelism ? v->active : v->parallelism)
                                : v->parallelism;
    want = v->completions - v->succeeded;
    if (want < 0)
        want = 0;
    return want < v->parallelism ? want : v->parallelism;
}

long long job_deadline_left(const struct job_view *v, time_t now)
{
    long long left;

    if (v->deadline < 0 || v->start < 0 || v->suspended)
        return -1;
    left = v->deadline - (long long)(now - v->start);
    return left > 0 ? left : 0;
}

enum job_verdict job_failure(const struct job_view *v, time_t now, const char **reason,
                             const char **message)
{
    int restarts_past = v->on_failure &&
                        (v->backoff_limit == 0 ? v->restarts > 0 : v->restarts >= v->backoff_limit);

    if (v->failed > v->backoff_limit || restarts_past) {
        *reason = "BackoffLimitExceeded";
        *message = "Job has reached the specified backoff limit";
        return JOB_FAILURE;
    }
    if (job_deadline_left(v, now) == 0) {
        *reason = "DeadlineExceeded";
        *message = "Job was active longer than specified deadline";
        return JOB_FAILURE;
    }
    return JOB_GOING;
}

int job_succeeded(const struct job_view *v)
{
    if (v->active > 0)
        return 0;
    return v->has_completions ? v->succeeded >= v->completions : v->succeeded > 0;
}

long long job_backoff_ms(long long fails_since_success, time_t last_failure, time_t now)
{
    long long delay = JOB_BACKOFF_S, passed_ms;

    if (fails_since_success <= 0 || last_failure < 0)
        return 0;
    for (long long i = 1; i < fails_since_success && delay < JOB_BACKOFF_MAX_S; i++)
        delay *= 2;
    if (delay > JOB_BACKOFF_MAX_S)
        delay = JOB_BACKOFF_MAX_S;
    passed_ms = (long long)(now - last_failure) * 1000;
    return passed_ms >= delay * 1000 ? 0 : delay * 1000 - passed_ms;
}

static int cond_is_true(const json_t *c)
{
    return c && !strcmp(jx_str(c, "status") ?: "", "True");
}

const json_t *job_finished_cond(const json_t *job)
{
    const json_t *c = cond_get(job, "Complete");

    if (cond_is_true(c))
        return c;
    c = cond_get(job, "Failed");
    return cond_is_true(c) ? c : NULL;
}

long long job_ttl_left(const json_t *job, time_t now)
{
    const json_t *ttl = jx_get(job, "spec.ttlSecondsAfterFinished"), *c = job_finished_cond(job);
    time_t at;
    long long left;

    if (!json_is_integer(ttl) || !c)
        return -1;
    at = time_parse(jx_str(c, "lastTransitionTime"));
    if (at < 0)
        return 0;
    left = json_integer_value(ttl) - (long long)(now - at);
    return left > 0 ? left : 0;
}

/* ---- counting the Job's pods ---- */

/* What one sync learns from the pods, besides the view's counters. */
struct job_pods {
    json_t **active; /* borrowed, n_active entries */
    size_t n_active;
    long long ready, terminating, succeeded, failed;
    long long fails_since_success;
    time_t last_failure, last_success;
};

/* getFinishedTime: the latest container finish, else the deletion time, else -1. */
static time_t pod_finished_at(const json_t *p)
{
    json_t *cs = jx_get(p, "status.containerStatuses");
    time_t best = -1, t;

    for (size_t i = 0; i < json_array_size(cs); i++) {
        t = time_parse(jx_str(json_array_get(cs, i), "state.terminated.finishedAt"));
        if (t > best)
            best = t;
    }
    return best >= 0 ? best : time_parse(jx_str(p, "metadata.deletionTimestamp"));
}

static long long pod_restarts(const json_t *p)
{
    static const char *const lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
    long long n = 0;

    for (int l = 0; l < 2; l++) {
        json_t *cs = jx_get(p, lists[l]);

        for (size_t i = 0; i < json_array_size(cs); i++)
            n += jx_int(json_array_get(cs, i), "restartCount", 0);
    }
    return n;
}

/* Classifies the pods job controls (isPodFailed: with podReplacementPolicy TerminatingOrFailed
 * a pod deleted before it finished counts as failed, unless this controller removed it). */
static void job_pods_count(struct ctl *c, const json_t *job, struct job_view *v,
                           struct job_pods *jp)
{
    const char *ns = jx_str(job, "metadata.namespace"), *k;
    json_t *m = ctl_map_ns(c, RES_POD, ns), *p;
    int term_fails = strcmp(jx_str(job, "spec.podReplacementPolicy") ?: "", "Failed") != 0;
    time_t t;

    memset(jp, 0, sizeof *jp);
    jp->last_failure = jp->last_success = -1;
    jp->active = xcalloc(m ? json_object_size(m) + 1 : 1, sizeof *jp->active);
    if (m)
        json_object_foreach(m, k, p)
        {
            const char *ph = jx_str(p, "status.phase") ?: "";

            if (strcmp(jx_str(p, "metadata.namespace") ?: "", ns) || !is_controlled_by(p, job))
                continue;
            if (!strcmp(ph, "Succeeded")) {
                jp->succeeded++;
                if ((t = pod_finished_at(p)) > jp->last_success)
                    jp->last_success = t;
            } else if (!strcmp(ph, "Failed") ||
                       (pod_is_terminating(p) && term_fails && !jx_annotation(p, JOB_REMOVED))) {
                jp->failed++;
                jp->terminating += strcmp(ph, "Failed") != 0;
                if ((t = pod_finished_at(p)) > jp->last_failure)
                    jp->last_failure = t;
            } else if (pod_is_terminating(p)) {
                jp->terminating++;
            } else {
                jp->active[jp->n_active++] = p;
                jp->ready += pod_is_ready(p);
                v->restarts += pod_restarts(p);
            }
        }
    /* The failures since the last success, for the replacement back-off. */
    if (m)
        json_object_foreach(m, k, p) if (!strcmp(jx_str(p, "metadata.namespace") ?: "", ns) &&
                                         is_controlled_by(p, job) &&
                                         !strcmp(jx_str(p, "status.phase") ?: "", "Failed") &&
                                         pod_finished_at(p) > jp->last_success)
            jp->fails_since_success++;
    v->active = (long long)jp->n_active;
    v->succeeded = jp->succeeded > jx_int(job, "status.succeeded", 0)
                       ? jp->succeeded
                       : jx_int(job, "status.succeeded", 0);
    v->failed =
        jp->failed > jx_int(job, "status.failed", 0) ? jp->failed : jx_int(job, "status.failed", 0);
}

static void job_view_init(const json_t *job, struct job_view *v)
{
    const json_t *comp = jx_get(job, "spec.completions");

    memset(v, 0, sizeof *v);
    v->has_completions = json_is_integer(comp);
    v->completions = json_integer_value(comp);
    v->parallelism = jx_int(job, "spec.parallelism", 1);
    v->backoff_limit = jx_int(job, "spec.backoffLimit", 6);
    v->deadline = jx_int(job, "spec.activeDeadlineSeconds", -1);
    v->suspended = jx_bool(job, "spec.suspend");
    v->on_failure = !strcmp(jx_str(job, "spec.template.spec.restartPolicy") ?: "", "OnFailure");
    v->start = jx_get(job, "status.startTime") ? time_parse(jx_str(job, "status.startTime")) : -1;
}

/* ---- writes ---- */

static int job_pod_create(struct ctl *c, const json_t *job)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = pod_create_from_template(ctl_kc(c), job, COMP, &err);
    err_release(&err);
    return rc;
}

/* Deletes an active pod; mark (scale-down, suspend) first annotates it so that it is not
 * counted as a failure while it terminates. */
static int job_pod_delete(struct ctl *c, const json_t *job, const json_t *pod, int mark)
{
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    const char *ns = jx_str(pod, "metadata.namespace"), *name = jx_str(pod, "metadata.name");
    json_t *out = NULL, *p;
    struct err err;
    int rc = 0;

    err_init(&err);
    if (mark) {
        p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", JOB_REMOVED, "true");
        rc = kc_patch(ctl_kc(c), kc_resource(RES_POD), ns, name, "application/merge-patch+json", p,
                      &o, &out, &err);
        json_decref(p);
        json_decref(out);
        out = NULL;
    }
    if (rc == 0)
        rc = kc_delete(ctl_kc(c), kc_resource(RES_POD), ns, name, &o, &out, &err);
    rc = pod_delete_outcome(ctl_kc(c), job, name, rc, &err, COMP);
    json_decref(out);
    err_release(&err);
    return rc;
}

/* Deletes the active pods from the end of the list (the newest pods, not ready first would be
 * upstream's order; kroll ranks not-ready before ready). Returns how many went. */
static long long job_pods_delete(struct ctl *c, const json_t *job, struct job_pods *jp, long long n,
                                 int mark)
{
    long long done = 0;

    for (size_t i = 0; i < jp->n_active && done < n && done < JOB_MAX_PER_SYNC; i++) {
        json_t *p = jp->active[jp->n_active - 1 - i];

        if (!pod_is_ready(p) && job_pod_delete(c, job, p, mark) == 0)
            done++;
    }
    for (size_t i = 0; i < jp->n_active && done < n && done < JOB_MAX_PER_SYNC; i++) {
        json_t *p = jp->active[jp->n_active - 1 - i];

        if (pod_is_ready(p) && job_pod_delete(c, job, p, mark) == 0) {
            done++;
            jp->ready--;
        }
    }
    return done;
}

/* manageJob: creates or deletes pods toward job_want_active. Returns ms to requeue after (the
 * replacement back-off), else 0. */
static long long job_manage(struct ctl *c, const json_t *job, struct job_view *v,
                            struct job_pods *jp, time_t now)
{
    long long want = job_want_active(v), wait, made = 0;

    if (v->active > want) {
        long long gone = job_pods_delete(c, job, jp, v->active - want, 1);

        v->active -= gone;
        jp->terminating += gone;
        return 0;
    }
    if (v->active == want)
        return 0;
    wait = job_backoff_ms(jp->fails_since_success, jp->last_failure, now);
    if (wait > 0)
        return wait;
    for (long long i = 0; i < want - v->active && i < JOB_MAX_PER_SYNC; i++)
        if (job_pod_create(c, job) == 0)
            made++;
    v->active += made;
    return 0;
}

static void cond_put(json_t *st, const char *type, const char *status, const char *reason,
                     const char *msg, time_t now)
{
    char ts[32];

    time_rfc3339(now, ts);
    cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status, "reason",
                           reason, "message", msg, "lastProbeTime", ts, "lastTransitionTime", ts));
}

/* ---- sync ---- */

/* Outcome of one sync, for the status write. */
struct job_sync {
    const char *fail_reason, *fail_msg; /* FailureTarget set or found */
    int success;                        /* SuccessCriteriaMet set or found */
    int suspend_changed;
};

/* The interim condition (FailureTarget, SuccessCriteriaMet), then the final one (Failed,
 * Complete) once no pod is left terminating; events as recordJobFinished. */
static void job_status_conds(struct ctl *c, const json_t *job, json_t *st, struct job_sync *s,
                             const struct job_pods *jp, time_t now)
{
    char ts[32];

    if (s->fail_reason) {
        if (!cond_is_true(cond_get(job, "FailureTarget")))
            cond_put(st, "FailureTarget", "True", s->fail_reason, s->fail_msg, now);
        if (jp->terminating == 0 && !cond_is_true(cond_get(job, "Failed"))) {
            cond_put(st, "Failed", "True", s->fail_reason, s->fail_msg, now);
            kc_event(ctl_kc(c), job, "Warning", s->fail_reason, COMP, "%s", s->fail_msg);
        }
    } else if (s->success) {
        if (!cond_is_true(cond_get(job, "SuccessCriteriaMet")))
            cond_put(st, "SuccessCriteriaMet", "True", "CompletionsReached",
                     "Reached expected number of succeeded pods", now);
        if (jp->terminating == 0 && !cond_is_true(cond_get(job, "Complete"))) {
            cond_put(st, "Complete", "True", "CompletionsReached",
                     "Reached expected number of succeeded pods", now);
            time_rfc3339(now, ts);
            json_object_set_new(st, "completionTime", json_string(ts));
            kc_event(ctl_kc(c), job, "Normal", "Completed", COMP, "Job completed");
        }
    }
}

/* Writes the status job's sync computed, when it differs from stored (the status read). */
static void job_status_write(struct ctl *c, const json_t *job, const json_t *stored,
                             const struct job_view *v, const struct job_pods *jp,
                             struct job_sync *s, time_t now)
{
    json_t *st = json_deep_copy(jx_get(job, "status"));
    static const char *const counters[] = {"active", "succeeded", "failed"};
    long long vals[] = {v->active, v->succeeded, v->failed};
    char ts[32];

    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    if (!json_object_get(st, "startTime") && !v->suspended) {
        time_rfc3339(now, ts);
        json_object_set_new(st, "startTime", json_string(ts));
    }
    /* As the Go type's omitempty: zero counters are absent; ready and terminating are
     * pointers, so 0 shows. */
    for (int i = 0; i < 3; i++)
        if (vals[i])
            json_object_set_new(st, counters[i], json_integer(vals[i]));
        else
            json_object_del(st, counters[i]);
    json_object_set_new(st, "ready", json_integer(jp->ready > 0 ? jp->ready : 0));
    json_object_set_new(st, "terminating", json_integer(jp->terminating));
    if (!json_object_get(st, "uncountedTerminatedPods"))
        json_object_set_new(st, "uncountedTerminatedPods", json_object());
    job_status_conds(c, job, st, s, jp, now);
    ctl_status_write(c, RES_JOB, job, stored, st, "kube-controller-manager");
}

/* Suspended: condition Suspended True; resumed: False, and the active deadline starts over. */
static void job_suspend_conds(struct ctl *c, json_t *job, const struct job_view *v, time_t now,
                              struct job_sync *s)
{
    const json_t *cur = cond_get(job, "Suspended");
    json_t *st = json_object_get(job, "status");
    char ts[32];

    if (!json_is_object(st))
        return;
    if (v->suspended && !cond_is_true(cur)) {
        cond_put(st, "Suspended", "True", "JobSuspended", "Job suspended", now);
        kc_event(ctl_kc(c), job, "Normal", "Suspended", COMP, "Job suspended");
        s->suspend_changed = 1;
    } else if (!v->suspended && cond_is_true(cur)) {
        cond_put(st, "Suspended", "False", "JobResumed", "Job resumed", now);
        kc_event(ctl_kc(c), job, "Normal", "Resumed", COMP, "Job resumed");
        time_rfc3339(now, ts);
        json_object_set_new(st, "startTime", json_string(ts));
        s->suspend_changed = 1;
    }
}

/* ttlafterfinished: deletes a finished Job (its pods follow, foreground) once its TTL expired. */
static void job_ttl(struct ctl *c, const json_t *job, time_t now)
{
    struct kc_wopts o = {.grace = -1, .propagation = "Foreground"};
    long long left = job_ttl_left(job, now);
    const char *ns = jx_str(job, "metadata.namespace"), *name = jx_str(job, "metadata.name");
    json_t *out = NULL;
    struct err err;

    if (left < 0 || jx_get(job, "metadata.deletionTimestamp"))
        return;
    if (left > 0) {
        ctl_enqueue_after(c, ns, name, left * 1000);
        return;
    }
    err_init(&err);
    if (kc_delete(ctl_kc(c), kc_resource(RES_JOB), ns, name, &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(c, "ttl delete", ns, name, &err);
    json_decref(out);
    err_release(&err);
}

static void job_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *job = kc_get(ctl_kc(c), kc_resource(RES_JOB), ns, name), *stored;
    const char *mb = jx_str(job, "spec.managedBy");
    struct job_sync s = {0};
    struct job_view v;
    struct job_pods jp = {0};
    time_t now = time(NULL);
    long long requeue = 0, left;

    if (!job)
        return;
    if (job_finished_cond(job)) {
        job_ttl(c, job, now);
        return;
    }
    if ((mb && strcmp(mb, JOB_OWNER)) || jx_get(job, "metadata.deletionTimestamp"))
        return;
    stored = json_deep_copy(json_object_get(job, "status"));
    job = json_deep_copy(job);
    if (!json_is_object(json_object_get(job, "status")))
        json_object_set_new(job, "status", json_object());
    job_view_init(job, &v);
    if (v.start < 0 && !v.suspended)
        v.start = now;
    job_pods_count(c, job, &v, &jp);
    s.success = cond_is_true(cond_get(job, "SuccessCriteriaMet"));
    if (!s.success && cond_is_true(cond_get(job, "FailureTarget"))) {
        /* Another writer's condition may lack either: the final one copies what is there. */
        s.fail_reason = jx_str(cond_get(job, "FailureTarget"), "reason") ?: "";
        s.fail_msg = jx_str(cond_get(job, "FailureTarget"), "message") ?: "";
    } else if (!s.success && job_failure(&v, now, &s.fail_reason, &s.fail_msg) != JOB_FAILURE) {
        s.fail_reason = NULL;
    }
    if (s.fail_reason) {
        /* Every pod still running is stopped; they count as failed while terminating. */
        long long gone = job_pods_delete(c, job, &jp, v.active, 0);

        v.active -= gone;
        jp.terminating += gone;
        v.failed += gone;
    } else if (!s.success) {
        job_suspend_conds(c, job, &v, now, &s);
        requeue = job_manage(c, job, &v, &jp, now);
        s.success = job_succeeded(&v);
        if (!s.success && (left = job_deadline_left(&v, now)) > 0 &&
            (requeue == 0 || left * 1000 < requeue))
            requeue = left * 1000;
    }
    job_status_write(c, job, stored, &v, &jp, &s, now);
    if (requeue > 0)
        ctl_enqueue_after(c, ns, name, requeue);
    free(jp.active);
    json_decref(stored);
    json_decref(job);
}

static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    ctl_enqueue_owner(c, obj, "Job");
    if (old)
        ctl_enqueue_owner(c, old, "Job");
}

struct ctl *ctrl_job_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, COMP, job_sync, NULL);

    ctl_watch(c, RES_JOB, NULL);
    ctl_watch(c, RES_POD, on_pod);
    ctl_start(c);
    return c;
}
