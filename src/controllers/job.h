/* The job controller's pure decisions (kube-controller-manager's job_controller.go, 1.32), apart
 * from its writes so unit tests drive them with plain numbers and objects. */
#ifndef KROLL_CONTROLLERS_JOB_H
#define KROLL_CONTROLLERS_JOB_H

#include <jansson.h>
#include <time.h>

/* What a sync knows about one Job and its pods. */
struct job_view {
    int has_completions;     /* spec.completions set (else: one success is enough) */
    long long completions;   /* spec.completions */
    long long parallelism;   /* spec.parallelism */
    long long backoff_limit; /* spec.backoffLimit */
    long long deadline;      /* spec.activeDeadlineSeconds, -1 when unset */
    int suspended;           /* spec.suspend */
    int on_failure;          /* template restartPolicy OnFailure */
    time_t start;            /* status.startTime, -1 when unset */
    long long active;        /* pods neither finished nor terminating */
    long long succeeded;     /* status.succeeded as this sync counts it */
    long long failed;        /* status.failed as this sync counts it */
    long long restarts;      /* container restarts of Pending/Running pods (OnFailure) */
};

enum job_verdict { JOB_GOING, JOB_SUCCESS, JOB_FAILURE };

/* How many pods should be active now: min(parallelism, remaining completions), none when
 * suspended; without completions, parallelism until a pod succeeds, then no new ones (the
 * active ones finish). */
long long job_want_active(const struct job_view *v);

/* Whether the Job has failed (backoff limit: failed pods > backoffLimit, or for OnFailure the
 * restarts reach it; then the active deadline), with upstream's reason and message. Success is
 * not decided here: see job_succeeded. */
enum job_verdict job_failure(const struct job_view *v, time_t now, const char **reason,
                             const char **message);

/* True when enough pods succeeded and none is active any more. */
int job_succeeded(const struct job_view *v);

/* Milliseconds to wait before creating a replacement pod after fails_since_success failures,
 * the last at last_failure: 10 s doubled per failure, at most 10 min; 0 when due. */
long long job_backoff_ms(long long fails_since_success, time_t last_failure, time_t now);

/* Seconds until the active deadline passes (> 0), 0 when passed, -1 when none applies. */
long long job_deadline_left(const struct job_view *v, time_t now);

/* Seconds until a finished Job's ttlSecondsAfterFinished expires (0: delete now), -1 when it
 * has no TTL or is not finished. */
long long job_ttl_left(const json_t *job, time_t now);

/* The Job's finish condition (Complete or Failed with status True), or NULL. */
const json_t *job_finished_cond(const json_t *job);

#endif
