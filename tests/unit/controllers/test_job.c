/* The job controller: its pure decisions (how many pods to keep active, when a Job has failed
 * or succeeded, the replacement back-off, the TTL) with plain numbers, and a run against an
 * in-process API where the test plays the kubelet by patching pod phases. */
#include "harness.h"

#include "controllers/job.h"
#include "core/cond.h"

static struct job_view view(long long comp, long long par, long long succ, long long active)
{
    struct job_view v = {.has_completions = comp >= 0,
                         .completions = comp,
                         .parallelism = par,
                         .backoff_limit = 6,
                         .deadline = -1,
                         .start = -1,
                         .succeeded = succ,
                         .active = active};
    return v;
}

static void test_want_active(void **state)
{
    struct job_view v = view(3, 2, 0, 0);

    assert_int_equal(job_want_active(&v), 2); /* min(parallelism, remaining) */
    v.succeeded = 2;
    assert_int_equal(job_want_active(&v), 1);
    v.succeeded = 3;
    assert_int_equal(job_want_active(&v), 0);
    v.succeeded = 5; /* more than asked: never negative */
    assert_int_equal(job_want_active(&v), 0);
    v = view(-1, 3, 0, 0); /* no completions: parallelism until one succeeds */
    assert_int_equal(job_want_active(&v), 3);
    v.succeeded = 1;
    v.active = 2; /* then the running ones finish, none is added or removed */
    assert_int_equal(job_want_active(&v), 2);
    v.active = 0;
    assert_int_equal(job_want_active(&v), 0);
    v = view(3, 2, 0, 2);
    v.suspended = 1;
    assert_int_equal(job_want_active(&v), 0);
}

static void test_verdicts(void **state)
{
    struct job_view v = view(2, 2, 0, 0);
    const char *reason = NULL, *msg = NULL;

    v.backoff_limit = 1;
    v.failed = 1;
    assert_int_equal(job_failure(&v, 1000, &reason, &msg), JOB_GOING);
    v.failed = 2; /* failed > backoffLimit */
    assert_int_equal(job_failure(&v, 1000, &reason, &msg), JOB_FAILURE);
    assert_string_equal(reason, "BackoffLimitExceeded");
    assert_string_equal(msg, "Job has reached the specified backoff limit");
    /* OnFailure: container restarts count, >= backoffLimit (> 0 for a limit of 0). */
    v = view(1, 1, 0, 1);
    v.on_failure = 1;
    v.backoff_limit = 2;
    v.restarts = 1;
    assert_int_equal(job_failure(&v, 1000, &reason, &msg), JOB_GOING);
    v.restarts = 2;
    assert_int_equal(job_failure(&v, 1000, &reason, &msg), JOB_FAILURE);
    v.backoff_limit = 0;
    v.restarts = 1;
    assert_int_equal(job_failure(&v, 1000, &reason, &msg), JOB_FAILURE);
    /* The active deadline counts from startTime. */
    v = view(1, 1, 0, 1);
    v.deadline = 30;
    v.start = 1000;
    assert_int_equal(job_deadline_left(&v, 1010), 20);
    assert_int_equal(job_failure(&v, 1029, &reason, &msg), JOB_GOING);
    assert_int_equal(job_failure(&v, 1030, &reason, &msg), JOB_FAILURE);
    assert_string_equal(reason, "DeadlineExceeded");
    assert_string_equal(msg, "Job was active longer than specified deadline");
    v.suspended = 1; /* a suspended Job's deadline does not run */
    assert_int_equal(job_deadline_left(&v, 5000), -1);
    /* Success: enough succeeded and nothing active. */
    v = view(3, 2, 3, 0);
    assert_true(job_succeeded(&v));
    v.active = 1;
    assert_false(job_succeeded(&v));
    v = view(-1, 2, 1, 0);
    assert_true(job_succeeded(&v));
    v.succeeded = 0;
    assert_false(job_succeeded(&v));
}

static void test_backoff_and_ttl(void **state)
{
    json_t *job;

    assert_int_equal(job_backoff_ms(0, 100, 100), 0);
    assert_int_equal(job_backoff_ms(1, 100, 100), 10000);
    assert_int_equal(job_backoff_ms(1, 100, 104), 6000);
    assert_int_equal(job_backoff_ms(1, 100, 110), 0);
    assert_int_equal(job_backoff_ms(3, 100, 100), 40000);
    assert_int_equal(job_backoff_ms(30, 100, 100), 600000); /* capped at 10 min */
    job = json_loads("{\"spec\":{\"ttlSecondsAfterFinished\":5},\"status\":{\"conditions\":"
                     "[{\"type\":\"Complete\",\"status\":\"True\",\"lastTransitionTime\":"
                     "\"1970-01-01T00:16:40Z\"}]}}",
                     0, NULL);
    assert_int_equal(job_ttl_left(job, 1000), 5);
    assert_int_equal(job_ttl_left(job, 1003), 2);
    assert_int_equal(job_ttl_left(job, 2000), 0);
    json_object_del(json_object_get(job, "spec"), "ttlSecondsAfterFinished");
    assert_int_equal(job_ttl_left(job, 2000), -1);
    json_decref(job);
    job = json_loads("{\"spec\":{\"ttlSecondsAfterFinished\":0},\"status\":{}}", 0, NULL);
    assert_int_equal(job_ttl_left(job, 2000), -1); /* not finished */
    json_decref(job);
}

/* Pods of job in the default namespace, oldest first is not needed: their names. */
static size_t job_pods(struct h *h, const char *phase, char names[][64], size_t max)
{
    json_t *m = store_map(h->store, "pods"), *p;
    const char *k;
    size_t n = 0;

    json_object_foreach(m, k,
                        p) if (!phase || !strcmp(jx_str(p, "status.phase") ?: "Pending", phase))
    {
        if (n < max)
            snprintf(names[n], 64, "%s", jx_str(p, "metadata.name"));
        n++;
    }
    return n;
}

static void pods_finish(struct h *h, const char *phase)
{
    char names[8][64], body[200];
    size_t n = job_pods(h, "Pending", names, 8);

    snprintf(body, sizeof body, "{\"status\":{\"phase\":\"%s\"}}", phase);
    for (size_t i = 0; i < n && i < 8; i++)
        h_patch(h, RES_POD, "default", names[i], 1, body);
}

static const char *job_json(const char *name, const char *spec)
{
    static char buf[600];

    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\"},\"spec\":{%s\"template\":{\"spec\":"
             "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}}}",
             name, spec);
    return buf;
}

static void test_controller_run(void **state)
{
    struct h *h = h_new();
    char names[8][64];
    json_t *job;

    h_start(h, ctrl_job_start(h->kc));
    h_create(h, RES_JOB, "default", job_json("three", "\"completions\":3,\"parallelism\":2,"));
    h_run(h, 50);
    assert_int_equal(job_pods(h, NULL, names, 8), 2);
    job = h_get(h, RES_JOB, "default", "three");
    assert_int_equal(jx_int(job, "status.active", 0), 2);
    assert_non_null(jx_get(job, "status.startTime"));
    pods_finish(h, "Succeeded");
    h_run(h, 50);
    assert_int_equal(job_pods(h, NULL, names, 8), 3); /* one more for the last completion */
    assert_int_equal(jx_int(h_get(h, RES_JOB, "default", "three"), "status.succeeded", 0), 2);
    pods_finish(h, "Succeeded");
    h_run(h, 50);
    job = h_get(h, RES_JOB, "default", "three");
    assert_int_equal(jx_int(job, "status.succeeded", 0), 3);
    assert_string_equal(jx_str(json_array_get(jx_get(job, "status.conditions"), 0), "type"),
                        "SuccessCriteriaMet");
    assert_string_equal(jx_str(json_array_get(jx_get(job, "status.conditions"), 1), "type"),
                        "Complete");
    assert_non_null(jx_get(job, "status.completionTime"));
    assert_int_equal(job_pods(h, NULL, names, 8), 3);

    /* backoffLimit 0: the first failure fails the Job; its other pod is deleted. */
    h_create(h, RES_JOB, "default", job_json("bad", "\"parallelism\":2,\"backoffLimit\":0,"));
    h_run(h, 50);
    assert_int_equal(job_pods(h, "Pending", names, 8), 2);
    h_patch(h, RES_POD, "default", names[0], 1, "{\"status\":{\"phase\":\"Failed\"}}");
    h_run(h, 50);
    job = h_get(h, RES_JOB, "default", "bad");
    assert_string_equal(jx_str(cond_get(job, "FailureTarget"), "reason"), "BackoffLimitExceeded");
    /* The other pod was deleted (at once: it was never bound to a node) and counts as
     * failed; with nothing left terminating the final condition follows. */
    job = h_get(h, RES_JOB, "default", "bad");
    assert_string_equal(jx_str(cond_get(job, "Failed"), "status"), "True");
    assert_int_equal(jx_int(job, "status.failed", 0), 2);

    /* ttlSecondsAfterFinished 0: the finished Job is deleted in the foreground. */
    h_patch(h, RES_JOB, "default", "three", 0, "{\"spec\":{\"ttlSecondsAfterFinished\":0}}");
    h_run(h, 50);
    job = h_get(h, RES_JOB, "default", "three");
    assert_true(!job || jx_get(job, "metadata.deletionTimestamp"));
    assert_int_equal(h_delete(h, RES_JOB, "default", "bad", -1, NULL), 0);
    h_free(h);
}

/* suspend: no pods and Suspended True; resumed: pods and Suspended False (JobResumed). A Job
 * managed by another controller is left alone. */
static void test_suspend_managed_by(void **state)
{
    struct h *h = h_new();
    char names[8][64];
    json_t *job;

    h_start(h, ctrl_job_start(h->kc));
    h_create(h, RES_JOB, "default", job_json("later", "\"suspend\":true,"));
    h_create(h, RES_JOB, "default", job_json("other", "\"managedBy\":\"example.com/q\","));
    h_run(h, 50);
    assert_int_equal(job_pods(h, NULL, names, 8), 0);
    job = h_get(h, RES_JOB, "default", "later");
    assert_string_equal(jx_str(cond_get(job, "Suspended"), "status"), "True");
    assert_string_equal(jx_str(cond_get(job, "Suspended"), "reason"), "JobSuspended");
    assert_null(jx_get(job, "status.startTime"));
    assert_null(jx_get(h_get(h, RES_JOB, "default", "other"), "status.startTime"));
    h_patch(h, RES_JOB, "default", "later", 0, "{\"spec\":{\"suspend\":false}}");
    h_run(h, 50);
    assert_int_equal(job_pods(h, NULL, names, 8), 1);
    job = h_get(h, RES_JOB, "default", "later");
    assert_string_equal(jx_str(cond_get(job, "Suspended"), "status"), "False");
    assert_string_equal(jx_str(cond_get(job, "Suspended"), "reason"), "JobResumed");
    assert_non_null(jx_get(job, "status.startTime"));
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_want_active),        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_backoff_and_ttl),    cmocka_unit_test(test_controller_run),
        cmocka_unit_test(test_suspend_managed_by),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
