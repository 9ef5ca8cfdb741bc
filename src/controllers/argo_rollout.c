/* Rollout controller (argoproj.io/v1alpha1, progressive-delivery.md sections 2-4 and 7): new
 * ReplicaSet per template with rollouts-pod-template-hash, revision bookkeeping, the status
 * fields and conditions Argo writes, abort/retry/promote/undo as status and spec changes.
 * The strategies (basic canary, blue-green) are in argo_strategy.c; the decisions that need no
 * I/O are in argo.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/argo-int.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

static long long revision_of(const json_t *rs)
{
    const char *v = jx_annotation(rs, ARGO_A_REV);

    return v ? atoll(v) : 0;
}

long long argo__rs_spec(const json_t *rs)
{
    return rs ? jx_int(rs, "spec.replicas", 1) : 0;
}

long long argo__rs_avail(const json_t *rs)
{
    return rs ? jx_int(rs, "status.availableReplicas", 0) : 0;
}

const char *argo__rs_hash(const json_t *rs)
{
    return rs ? jx_label(rs, ARGO_HASH_LABEL) : NULL;
}

void argo__event(struct rsync *x, const char *type, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kc_event(ctl_kc(x->c), x->ro, type, reason, ARGO_COMP, "%s", msg);
}

void argo__requeue(struct rsync *x, long long ms)
{
    if (ms < 0)
        ms = 0;
    if (x->requeue_ms < 0 || ms < x->requeue_ms)
        x->requeue_ms = ms;
}

void argo__cond(json_t *st, const char *type, const char *status, const char *reason,
                const char *msg)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status,
                           "lastUpdateTime", ts, "lastTransitionTime", ts, "reason", reason,
                           "message", msg));
}

const char *argo__cond_reason(const json_t *st, const char *type)
{
    const json_t *cs = json_object_get(st, "conditions"), *c;
    size_t i;

    json_array_foreach(cs, i,
                       c) if (!strcmp(jx_str(c, "type") ?: "", type)) return jx_str(c, "reason");
    return NULL;
}

/* The ReplicaSet rs of this sync was rewritten as out: the sync's lists and roles follow. */
static void rs_replace(struct rsync *x, const json_t *rs, json_t *out)
{
    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (json_array_get(x->rss, i) == rs) {
            if (x->nrs == rs)
                x->nrs = out;
            if (x->srs == rs)
                x->srs = out;
            json_array_set(x->rss, i, out);
            break;
        }
}

/* Scales rs to n (with the desired-replicas annotation) and records Argo's event. */
int argo__scale(struct rsync *x, const json_t *rs, long long n)
{
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    long long old = argo__rs_spec(rs);
    json_t *nrs, *out = NULL;
    char des[32];
    struct err err;
    int rc;

    snprintf(des, sizeof des, "%lld", x->R);
    if (old == n && !strcmp(jx_annotation(rs, ARGO_A_DESIRED) ?: "", des))
        return 0;
    nrs = json_deep_copy(rs);
    jx_set(nrs, "spec.replicas", json_integer(n));
    json_object_set_new(jx_obj(nrs, "metadata.annotations"), ARGO_A_DESIRED, json_string(des));
    err_init(&err);
    rc = kc_update(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, jx_str(rs, "metadata.name"),
                   nrs, &o, &out, &err);
    json_decref(nrs);
    if (rc < 0) {
        ctl_log_err(x->c, "scale replicaset", x->ns, x->name, &err);
    } else {
        rs_replace(x, rs, out);
        if (old != n)
            argo__event(x, "Normal", "ScalingReplicaSet",
                        "Scaled %s ReplicaSet %s (revision %lld) from %lld to %lld",
                        n > old ? "up" : "down", jx_str(out, "metadata.name"), revision_of(out),
                        old, n);
    }
    json_decref(out);
    err_release(&err);
    return rc < 0 ? rc : old != n;
}

/* Sets an annotation of rs (a deadline; NULL removes it). */
void argo__rs_annotate(struct rsync *x, const json_t *rs, const char *k, const char *v)
{
    json_t *p, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    struct err err;

    if (!v && !jx_annotation(rs, k))
        return;
    if (v && !strcmp(jx_annotation(rs, k) ?: "", v))
        return;
    p = json_pack("{s:{s:{s:o}}}", "metadata", "annotations", k, v ? json_string(v) : json_null());
    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, jx_str(rs, "metadata.name"),
                 "application/merge-patch+json", p, &o, &out, &err) < 0)
        ctl_log_err(x->c, "annotate replicaset", x->ns, x->name, &err);
    else
        rs_replace(x, rs, out);
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

/* Points Service name's selector at hash (rollouts-pod-template-hash), marking it managed by
 * this Rollout. field names the spec field for the InvalidSpec message when it is missing.
 * Returns 0, or -1 when the Service does not exist or belongs to another Rollout. */
int argo__service_point(struct rsync *x, const char *name, const char *field, const char *hash)
{
    json_t *svc, *p, *out = NULL;
    const char *cur, *by;
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    struct err err;
    char msg[700], was[64];

    if (!name || !*name)
        return 0;
    svc = kc_get(ctl_kc(x->c), kc_resource(RES_SERVICE), x->ns, name);
    if (!svc) {
        snprintf(msg, sizeof msg,
                 "The Rollout \"%s\" is invalid: %s: Invalid value: \"%s\": service \"%s\" not "
                 "found",
                 x->name, field, name, name);
        argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", msg);
        return -1;
    }
    by = jx_annotation(svc, ARGO_A_MANAGED);
    if (by && strcmp(by, x->name) != 0) {
        snprintf(msg, sizeof msg,
                 "The Rollout \"%s\" is invalid: %s: Invalid value: \"%s\": Service \"%s\" is "
                 "managed by another Rollout",
                 x->name, field, name, name);
        argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", msg);
        return -1;
    }
    cur = jx_str(svc, "spec.selector." ARGO_HASH_LABEL);
    if (!hash || (cur && !strcmp(cur, hash) && by))
        return 0;
    /* The patch replaces the stored Service that cur points into. */
    snprintf(was, sizeof was, "%s", cur ?: "");
    p = json_pack("{s:{s:{s:s}},s:{s:{s:s}}}", "metadata", "annotations", ARGO_A_MANAGED, x->name,
                  "spec", "selector", ARGO_HASH_LABEL, hash);
    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_SERVICE), x->ns, name,
                 "application/merge-patch+json", p, &o, &out, &err) < 0)
        ctl_log_err(x->c, "switch service", x->ns, x->name, &err);
    else if (strcmp(was, hash) != 0)
        argo__event(x, "Normal", "SwitchService",
                    "Switched selector for service '%s' from '%s' to '%s'", name, was, hash);
    json_decref(out);
    json_decref(p);
    err_release(&err);
    return 0;
}

/* ---- ReplicaSets ---- */

static int template_matches(const json_t *rs, const json_t *tmpl)
{
    json_t *t = json_deep_copy(jx_get(rs, "spec.template"));
    json_t *labels = jx_get(t, "metadata.labels");
    int eq;

    if (json_is_object(labels))
        json_object_del(labels, ARGO_HASH_LABEL);
    eq = template_equal(t, tmpl);
    json_decref(t);
    return eq;
}

static void claim(struct rsync *x)
{
    json_t *m = ctl_map_ns(x->c, RES_REPLICASET, x->ns), *rs, **arr;
    const char *k, *stable = jx_str(x->st, "stableRS");
    size_t n = 0;

    x->rss = json_array();
    if (!m)
        return;
    arr = xcalloc(json_object_size(m) + 1, sizeof *arr);
    json_object_foreach(m, k, rs)
    {
        if (!strcmp(jx_str(rs, "metadata.namespace") ?: "", x->ns) && is_controlled_by(rs, x->ro) &&
            !jx_get(rs, "metadata.deletionTimestamp"))
            arr[n++] = rs;
    }
    qsort(arr, n, sizeof *arr, rollout_cmp_created);
    for (size_t i = 0; i < n; i++)
        json_array_append(x->rss, arr[i]);
    free(arr);
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *r = json_array_get(x->rss, i);

        if (!x->nrs && template_matches(r, jx_get(x->ro, "spec.template")))
            x->nrs = r;
        if (stable && !strcmp(argo__rs_hash(r) ?: "", stable))
            x->srs = r;
    }
}

static long long max_revision(struct rsync *x, const json_t *except)
{
    long long m = 0;

    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = json_array_get(x->rss, i);

        if (rs != except && revision_of(rs) > m)
            m = revision_of(rs);
    }
    return m;
}

static int create_rs(struct rsync *x)
{
    long long cc = jx_int(x->st, "collisionCount", -1), rev = max_revision(x, NULL) + 1;
    json_t *tmpl = json_deep_copy(jx_get(x->ro, "spec.template")), *rs, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    char name[300], revs[32], des[32];
    struct err err;
    int rc;

    snprintf(name, sizeof name, "%s-%s", x->name, x->hash);
    json_object_set_new(jx_obj(tmpl, "metadata.labels"), ARGO_HASH_LABEL, json_string(x->hash));
    rs = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:[o]},s:{s:O,s:O,s:i}}", "apiVersion", "apps/v1",
                   "kind", "ReplicaSet", "metadata", "name", name, "namespace", x->ns, "labels",
                   jx_get(tmpl, "metadata.labels"), "ownerReferences", owner_ref(x->ro), "spec",
                   "selector", jx_get(x->ro, "spec.selector"), "template", tmpl, "replicas", 0);
    json_decref(tmpl);
    jx_set(rs, "spec.selector", json_deep_copy(jx_get(x->ro, "spec.selector")));
    json_object_set_new(jx_obj(rs, "spec.selector.matchLabels"), ARGO_HASH_LABEL,
                        json_string(x->hash));
    jx_set(rs, "spec.minReadySeconds", json_integer(jx_int(x->ro, "spec.minReadySeconds", 0)));
    snprintf(revs, sizeof revs, "%lld", rev);
    snprintf(des, sizeof des, "%lld", x->R);
    json_object_set_new(jx_obj(rs, "metadata.annotations"), ARGO_A_REV, json_string(revs));
    json_object_set_new(jx_obj(rs, "metadata.annotations"), ARGO_A_DESIRED, json_string(des));
    err_init(&err);
    rc = kc_create(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, rs, &o, &out, &err);
    json_decref(rs);
    if (rc == -E_ALREADY_EXISTS) {
        /* Someone else's ReplicaSet of that name, or a hash collision: a new hash. */
        json_object_set_new(x->st, "collisionCount", json_integer(cc < 0 ? 1 : cc + 1));
        argo__requeue(x, 0);
    } else if (rc < 0) {
        char msg[1400];

        snprintf(msg, sizeof msg, "Failed to create new replica set \"%s\": %s", name, err.msg);
        argo__cond(x->st, "Progressing", "False", "ReplicaSetCreateError", msg);
        argo__event(x, "Warning", "ReplicaSetCreateError", "%s", msg);
    } else {
        char msg[400];

        json_array_append(x->rss, out);
        x->nrs = json_array_get(x->rss, json_array_size(x->rss) - 1);
        argo__event(x, "Normal", "NewReplicaSetCreated", "Created ReplicaSet %s (revision %lld)",
                    name, rev);
        snprintf(msg, sizeof msg, "Created new replica set \"%s\"", name);
        argo__cond(x->st, "Progressing", "True", "NewReplicaSetCreated", msg);
    }
    json_decref(out);
    err_release(&err);
    return x->nrs ? 0 : -1;
}

/* A reused older ReplicaSet (undo) becomes the newest revision, as Argo numbers it. */
static void bump_revision(struct rsync *x)
{
    long long want = max_revision(x, x->nrs) + 1;
    const char *h = jx_annotation(x->nrs, ARGO_A_REVHIST), *cur = jx_annotation(x->nrs, ARGO_A_REV);
    json_t *p, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    struct err err;
    char revs[32], *hist;

    if (revision_of(x->nrs) >= want)
        return;
    snprintf(revs, sizeof revs, "%lld", want);
    hist = cur ? (h && *h ? xasprintf("%s,%s", h, cur) : xstrdup(cur)) : NULL;
    p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", ARGO_A_REV, revs);
    if (hist)
        json_object_set_new(jx_obj(p, "metadata.annotations"), ARGO_A_REVHIST, json_string(hist));
    free(hist);
    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, jx_str(x->nrs, "metadata.name"),
                 "application/merge-patch+json", p, &o, &out, &err) == 0) {
        for (size_t i = 0; i < json_array_size(x->rss); i++)
            if (json_array_get(x->rss, i) == x->nrs) {
                if (x->srs == x->nrs)
                    x->srs = out;
                json_array_set(x->rss, i, out);
                x->nrs = out;
                break;
            }
    } else {
        ctl_log_err(x->c, "revision", x->ns, x->name, &err);
    }
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

long long argo__revision(const json_t *rs)
{
    return revision_of(rs);
}

/* ---- update detection, abort and retry ---- */

static void reset_for_update(struct rsync *x)
{
    const char *stable = jx_str(x->st, "stableRS");
    long long rev = revision_of(x->nrs);
    char msg[200];

    json_object_set_new(x->st, "currentPodHash", json_string(x->hash));
    json_object_del(x->st, "pauseConditions");
    json_object_del(x->st, "controllerPause");
    json_object_del(x->st, "abort");
    json_object_del(x->st, "abortedAt");
    json_object_del(x->st, "promoteFull");
    json_object_del(x->st, "blueGreen");
    json_object_del(json_object_get(x->st, "canary"), "currentStepAnalysisRunStatus");
    json_object_del(json_object_get(x->st, "canary"), "currentBackgroundAnalysisRunStatus");
    if (!x->bg)
        json_object_set_new(x->st, "currentStepIndex", json_integer(0));
    if (!stable || !*stable || !x->srs) {
        json_object_set_new(x->st, "stableRS", json_string(x->hash));
        x->srs = x->nrs;
        x->skip_steps = 1;
        argo__event(x, "Normal", "RolloutCompleted",
                    "Rollout completed update to revision %lld (%s): Initial deploy", rev, x->hash);
    } else if (!strcmp(stable, x->hash)) {
        x->skip_steps = 1;
        argo__event(x, "Normal", "SkipSteps", "Rollback to stable ReplicaSets");
    } else if (x->window && argo__rs_spec(x->nrs) > 0) {
        argo__event(x, "Normal", "SkipSteps",
                    "Rollback to active ReplicaSets within RollbackWindow");
    } else {
        argo__event(x, "Normal", "RolloutUpdated", "Rollout updated to revision %lld", rev);
        argo__event(x, "Normal", "RolloutNotCompleted",
                    "Rollout not completed, started update to revision %lld (%s)", rev, x->hash);
    }
    if (!strcmp(argo__cond_reason(x->st, "Progressing") ?: "", "RolloutAborted") ||
        !strcmp(argo__cond_reason(x->st, "Progressing") ?: "", "ProgressDeadlineExceeded")) {
        snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.",
                 jx_str(x->nrs, "metadata.name"));
        argo__cond(x->st, "Progressing", "True", "ReplicaSetUpdated", msg);
    }
}

static void steps_hash(const json_t *ro, char out[16])
{
    json_t *w =
        json_pack("{s:O}", "steps", jx_get(ro, "spec.strategy.canary.steps") ?: json_null());

    template_hash(w, -1, out);
    json_decref(w);
}

static void abort_and_retry(struct rsync *x)
{
    const char *reason = argo__cond_reason(x->st, "Progressing");
    char msg[700], ts[32];

    if (jx_bool(x->st, "promoteFull") && jx_bool(x->st, "abort"))
        json_object_del(x->st, "abort");
    if (jx_bool(x->st, "abort")) {
        long long rev = revision_of(x->nrs);

        if (!strcmp(jx_str(x->st, "stableRS") ?: "", x->hash)) {
            json_object_del(x->st, "abort"); /* nothing to abort */
            return;
        }
        if (!jx_get(x->st, "abortedAt")) {
            time_rfc3339(x->now, ts);
            json_object_set_new(x->st, "abortedAt", json_string(ts));
        }
        if (!x->bg)
            json_object_set_new(x->st, "currentStepIndex", json_integer(0));
        json_object_del(x->st, "pauseConditions");
        json_object_del(x->st, "controllerPause");
        if (!x->abort_cause[0] && reason && !strcmp(reason, "ProgressDeadlineExceeded")) {
            const json_t *cs = json_object_get(x->st, "conditions"), *c;
            size_t i;

            /* progressDeadlineAbort: the timed-out condition is the cause. */
            json_array_foreach(cs, i, c) if (!strcmp(jx_str(c, "type") ?: "", "Progressing"))
                snprintf(x->abort_cause, sizeof x->abort_cause, "%s", jx_str(c, "message") ?: "");
        }
        if (strcmp(reason ?: "", "RolloutAborted") != 0) {
            if (x->abort_cause[0])
                snprintf(msg, sizeof msg, "Rollout aborted update to revision %lld: %s", rev,
                         x->abort_cause);
            else
                snprintf(msg, sizeof msg, "Rollout aborted update to revision %lld", rev);
            argo__cond(x->st, "Progressing", "False", "RolloutAborted", msg);
            argo__event(x, "Warning", "RolloutAborted", "%s", msg);
        }
    } else if (reason && !strcmp(reason, "RolloutAborted")) {
        json_object_del(x->st, "abortedAt");
        json_object_del(json_object_get(x->st, "canary"), "currentStepAnalysisRunStatus");
        json_object_del(json_object_get(x->st, "canary"), "currentBackgroundAnalysisRunStatus");
        json_object_del(json_object_get(x->st, "blueGreen"), "prePromotionAnalysisRunStatus");
        json_object_del(json_object_get(x->st, "blueGreen"), "postPromotionAnalysisRunStatus");
        argo__cond(x->st, "Progressing", "Unknown", "RolloutRetry", "Retrying Rollout after abort");
    }
}

/* ---- history ---- */

static int cmp_revision(const void *a, const void *b)
{
    long long x = revision_of(*(json_t *const *)a), y = revision_of(*(json_t *const *)b);

    return x < y ? -1 : x > y;
}

/* revisionHistoryLimit (default 10): old ReplicaSets at 0 (spec and status) beyond the limit
 * are deleted, lowest revision first; only between updates, never the new or stable one. */
static void cleanup_history(struct rsync *x)
{
    long long limit = jx_int(x->ro, "spec.revisionHistoryLimit", 10);
    json_t *c[256];
    size_t n = 0;

    if (x->srs != x->nrs)
        return;
    for (size_t i = 0; i < json_array_size(x->rss) && n < 256; i++) {
        json_t *rs = json_array_get(x->rss, i);

        if (rs != x->nrs && argo__rs_spec(rs) == 0 && jx_int(rs, "status.replicas", 0) == 0)
            c[n++] = rs;
    }
    if ((long long)n <= limit)
        return;
    qsort(c, n, sizeof *c, cmp_revision);
    for (long long i = 0; i < (long long)n - limit; i++) {
        struct kc_wopts o = {.grace = -1};
        json_t *out = NULL;
        struct err err;

        err_init(&err);
        if (kc_delete(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns,
                      jx_str(c[i], "metadata.name"), &o, &out, &err) < 0)
            ctl_log_err(x->c, "history cleanup", x->ns, x->name, &err);
        json_decref(out);
        err_release(&err);
    }
}

/* ---- restart ---- */

static int owned_by_any(const json_t *pod, const json_t *rss)
{
    for (size_t i = 0; i < json_array_size(rss); i++)
        if (is_controlled_by(pod, json_array_get(rss, i)))
            return 1;
    return 0;
}

/* spec.restartAt (the plugin's `restart`): pods created before it are deleted, at most
 * max(maxUnavailable, 1) at a time and only while every ReplicaSet is fully available; when
 * none is left status.restartedAt takes the value. */
static void restart(struct rsync *x)
{
    const char *at = jx_str(x->ro, "spec.restartAt");
    const json_t *strat = jx_get(x->ro, x->bg ? "spec.strategy.blueGreen" : "spec.strategy.canary");
    json_t *pods = ctl_map(x->c, RES_POD), *p, *victims = json_array();
    time_t t = at ? time_parse(at) : -1;
    long long S, U, busy = 0;
    const char *k;

    if (!at || t < 0 || !strcmp(at, jx_str(x->st, "restartedAt") ?: "") ||
        jx_bool(x->ro, "spec.paused"))
        goto out;
    if (t > x->now) {
        argo__requeue(x, (t - x->now) * 1000 + 200);
        goto out;
    }
    argo_surge_unavailable(strat, x->R, &S, &U);
    if (pods)
        json_object_foreach(pods, k, p)
        {
            time_t c = time_parse(jx_str(p, "metadata.creationTimestamp") ?: "");

            if (strcmp(jx_str(p, "metadata.namespace") ?: "", x->ns) || !owned_by_any(p, x->rss))
                continue;
            if (jx_get(p, "metadata.deletionTimestamp"))
                busy++;
            else if (c >= 0 && c < t)
                json_array_append(victims, p);
        }
    if (!json_array_size(victims) && !busy) {
        json_object_set_new(x->st, "restartedAt", json_string(at));
        goto out;
    }
    argo__requeue(x, 1000);
    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (argo__rs_avail(json_array_get(x->rss, i)) < argo__rs_spec(json_array_get(x->rss, i)))
            goto out;
    for (size_t i = 0; i < json_array_size(victims) && busy < (U > 1 ? U : 1); i++, busy++) {
        struct kc_wopts o = {.grace = -1};
        json_t *out = NULL;
        struct err err;

        err_init(&err);
        p = json_array_get(victims, i);
        if (kc_delete(ctl_kc(x->c), kc_resource(RES_POD), x->ns, jx_str(p, "metadata.name"), &o,
                      &out, &err) < 0)
            ctl_log_err(x->c, "restart pod", x->ns, x->name, &err);
        else
            argo__event(x, "Normal", "RolloutRestart", "Restarted pod %s",
                        jx_str(p, "metadata.name"));
        json_decref(out);
        err_release(&err);
    }
out:
    json_decref(victims);
}

/* ---- status ---- */

static void counters(struct rsync *x)
{
    long long replicas = 0, ready = 0, avail = 0;
    /* Blue-green: the active ReplicaSet (the new one once switched, before it is stable). */
    const json_t *act = !x->bg ? NULL
                        : !strcmp(jx_str(x->st, "blueGreen.activeSelector") ?: "", x->hash)
                            ? x->nrs
                            : x->srs;
    char *sel = labelsel_string(jx_get(x->ro, "spec.selector"));

    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = json_array_get(x->rss, i);

        replicas += jx_int(rs, "status.replicas", 0);
        ready += jx_int(rs, "status.readyReplicas", 0);
        avail += argo__rs_avail(rs);
    }
    if (act)
        avail = argo__rs_avail(act);
    json_object_set_new(x->st, "replicas", json_integer(replicas));
    json_object_set_new(x->st, "updatedReplicas",
                        json_integer(jx_int(x->nrs, "status.replicas", 0)));
    json_object_set_new(x->st, "readyReplicas", json_integer(ready));
    json_object_set_new(x->st, "availableReplicas", json_integer(avail));
    json_object_set_new(x->st, "HPAReplicas",
                        json_integer(act ? jx_int(act, "status.replicas", 0) : replicas));
    if (act && argo__rs_hash(act)) {
        char *s = xasprintf("%s%s%s=%s", sel ?: "", sel && *sel ? "," : "", ARGO_HASH_LABEL,
                            argo__rs_hash(act));

        json_object_set_new(x->st, "selector", json_string(s));
        free(s);
    } else {
        json_object_set_new(x->st, "selector", json_string(sel ?: ""));
    }
    free(sel);
}

/* The Progressing condition's progress and deadline (section 2.1 progressDeadlineSeconds). */
static void progress(struct rsync *x, const json_t *old, const char *phase)
{
    const char *reason = argo__cond_reason(x->st, "Progressing");
    long long deadline = jx_int(x->ro, "spec.progressDeadlineSeconds", 600);
    const char *rsname = jx_str(x->nrs, "metadata.name") ?: x->name;
    char msg[400];
    const json_t *pc = NULL, *cs = json_object_get(x->st, "conditions"), *c;
    size_t i;

    if (!strcmp(phase, "Paused")) {
        if (strcmp(reason ?: "", "RolloutPaused") != 0)
            argo__cond(x->st, "Progressing", "Unknown", "RolloutPaused", "Rollout is paused");
        return;
    }
    if (reason && !strcmp(reason, "RolloutPaused")) {
        argo__cond(x->st, "Progressing", "Unknown", "RolloutResumed", "Rollout is resumed");
        return;
    }
    if (reason && !strcmp(reason, "RolloutAborted"))
        return;
    if (!strcmp(phase, "Healthy")) {
        snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has successfully progressed.", rsname);
        argo__cond(x->st, "Progressing", "True", "NewReplicaSetAvailable", msg);
        return;
    }
    if (jx_int(x->st, "updatedReplicas", 0) != jx_int(old, "updatedReplicas", 0) ||
        jx_int(x->st, "availableReplicas", 0) != jx_int(old, "availableReplicas", 0) ||
        jx_int(x->st, "replicas", 0) != jx_int(old, "replicas", 0) ||
        jx_int(x->st, "currentStepIndex", 0) != jx_int(old, "currentStepIndex", 0) || !reason ||
        !strcmp(reason, "NewReplicaSetAvailable")) {
        snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.", rsname);
        json_array_foreach(cs, i, c) if (!strcmp(jx_str(c, "type") ?: "", "Progressing")) pc = c;
        cond_del(x->st, "Progressing");
        argo__cond(x->st, "Progressing", "True", "ReplicaSetUpdated", msg);
        argo__requeue(x, deadline * 1000 + 500);
        return;
    }
    if (strcmp(reason, "ProgressDeadlineExceeded") != 0) {
        json_array_foreach(cs, i, c) if (!strcmp(jx_str(c, "type") ?: "", "Progressing")) pc = c;
        time_t lu = pc ? time_parse(jx_str(pc, "lastUpdateTime")) : -1;

        if (lu >= 0 && lu + deadline <= x->now) {
            snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has timed out progressing.", rsname);
            argo__cond(x->st, "Progressing", "False", "ProgressDeadlineExceeded", msg);
            argo__event(x, "Warning", "RolloutProgressDeadlineExceeded", "%s", msg);
            if (jx_bool(x->ro, "spec.progressDeadlineAbort")) {
                json_object_set_new(x->st, "abort", json_true());
                snprintf(x->abort_cause, sizeof x->abort_cause, "%s", msg);
                argo__requeue(x, 0);
            }
        } else if (lu >= 0) {
            argo__requeue(x, (lu + deadline - x->now) * 1000 + 500);
        }
    }
}

static void conditions(struct rsync *x, const json_t *old)
{
    const char *phase;
    char msg[1200];
    int paused = jx_bool(x->ro, "spec.paused") ||
                 json_array_size(json_object_get(x->st, "pauseConditions")) > 0;
    int avail = x->bg ? (x->srs && argo__rs_avail(x->srs) >= x->R)
                      : jx_int(x->st, "availableReplicas", 0) >= x->R;

    argo_phase(x->ro, x->st, x->bg, &phase, msg, sizeof msg);
    progress(x, old, phase);
    argo_phase(x->ro, x->st, x->bg, &phase, msg, sizeof msg);
    argo__cond(x->st, "Available", avail ? "True" : "False", "AvailableReason",
               avail ? "Rollout has minimum availability"
                     : "Rollout does not have minimum availability");
    argo__cond(x->st, "Completed",
               !strcmp(jx_str(x->st, "stableRS") ?: "", x->hash) ? "True" : "False",
               "RolloutCompleted", "RolloutCompleted");
    if (paused || argo__cond_reason(x->st, "Paused"))
        argo__cond(x->st, "Paused", paused ? "True" : "False", "RolloutPaused",
                   "Rollout is paused");
    argo__cond(x->st, "Healthy", !strcmp(phase, "Healthy") ? "True" : "False", "RolloutHealthy",
               !strcmp(phase, "Healthy") ? "Rollout is healthy" : "Rollout is not healthy");
    json_object_set_new(x->st, "phase", json_string(phase));
    if (*msg)
        json_object_set_new(x->st, "message", json_string(msg));
    else
        json_object_del(x->st, "message");
}

static void status_write(struct rsync *x)
{
    struct kc_wopts o = {.grace = -1, .status = 1};
    json_t *nro, *out = NULL;
    char gen[32], rev[32];
    struct err err;

    snprintf(gen, sizeof gen, "%lld", (long long)jx_int(x->ro, "metadata.generation", 1));
    json_object_set_new(x->st, "observedGeneration", json_string(gen));
    snprintf(rev, sizeof rev, "%lld", revision_of(x->nrs));
    if (json_equal(x->st, jx_get(x->ro, "status")) &&
        (!x->nrs || !strcmp(jx_annotation(x->ro, ARGO_A_REV) ?: "", rev)))
        return;
    nro = json_deep_copy(x->ro);
    json_object_set(nro, "status", x->st);
    if (x->nrs)
        json_object_set_new(jx_obj(nro, "metadata.annotations"), ARGO_A_REV, json_string(rev));
    err_init(&err);
    if (kc_update(ctl_kc(x->c), kc_resource(RES_ROLLOUT), x->ns, x->name, nro, &o, &out, &err) <
        0) {
        ctl_log_err(x->c, "status update", x->ns, x->name, &err);
        argo__requeue(x, 1000);
    }
    json_decref(out);
    json_decref(nro);
    err_release(&err);
}

/* A deleted Rollout lets go of its Services: the hash key leaves their selector and the
 * managed-by annotation goes (Argo's service controller does the same). */
static void release_services(struct ctl *c, const char *ns, const char *name)
{
    json_t *m = ctl_map(c, RES_SERVICE), *svc, *todo = json_array();
    const char *k;

    if (m)
        json_object_foreach(m, k, svc) if (!strcmp(jx_str(svc, "metadata.namespace") ?: "", ns) &&
                                           !strcmp(jx_annotation(svc, ARGO_A_MANAGED) ?: "", name))
            json_array_append_new(todo, json_string(jx_str(svc, "metadata.name")));
    for (size_t i = 0; i < json_array_size(todo); i++) {
        json_t *p = json_pack("{s:{s:{s:n}},s:{s:{s:n}}}", "metadata", "annotations",
                              ARGO_A_MANAGED, "spec", "selector", ARGO_HASH_LABEL),
               *out = NULL;
        struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
        struct err err;

        err_init(&err);
        if (kc_patch(ctl_kc(c), kc_resource(RES_SERVICE), ns,
                     json_string_value(json_array_get(todo, i)), "application/merge-patch+json", p,
                     &o, &out, &err) < 0)
            ctl_log_err(c, "release service", ns, name, &err);
        json_decref(out);
        json_decref(p);
        err_release(&err);
    }
    json_decref(todo);
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *ro = kc_get(ctl_kc(c), kc_resource(RES_ROLLOUT), ns, name), *old;
    struct rsync x = {0};
    char sh[16];

    (void)ctx;
    if (!ro) {
        release_services(c, ns, name);
        return;
    }
    if (jx_get(ro, "metadata.deletionTimestamp"))
        return;
    /* kc_get lends the stored object: hold it for the pass, writes replace the stored one. */
    json_incref(ro);
    x.c = c;
    x.ro = ro;
    x.requeue_ms = -1;
    x.now = time(NULL);
    snprintf(x.ns, sizeof x.ns, "%s", ns);
    snprintf(x.name, sizeof x.name, "%s", name);
    x.R = jx_int(ro, "spec.replicas", 1);
    x.bg = jx_get(ro, "spec.strategy.blueGreen") != NULL;
    old = jx_get(ro, "status") ?: json_object();
    x.st = json_is_object(jx_get(ro, "status")) ? json_deep_copy(old) : json_object();
    cond_del(x.st, "InvalidSpec");
    if (argo__workload(&x) < 0)
        goto write;
    template_hash(jx_get(x.ro, "spec.template"), jx_int(x.st, "collisionCount", -1), x.hash);
    claim(&x);
    if (!x.nrs && create_rs(&x) < 0)
        goto write;
    bump_revision(&x);
    x.nrs_before = argo__rs_spec(x.nrs);
    /* Within the window every pass skips the steps, pauses and analysis (Argo's canary.go). */
    x.window = argo__within_window(&x);
    if (x.window) {
        x.skip_steps = 1;
        json_object_del(x.st, "pauseConditions");
        json_object_del(x.st, "controllerPause");
        json_object_del(x.st, "abort");
    }
    if (strcmp(jx_str(x.st, "currentPodHash") ?: "", x.hash) != 0)
        reset_for_update(&x);
    steps_hash(ro, sh);
    if (!x.bg && strcmp(jx_str(x.st, "currentStepHash") ?: "", sh) != 0) {
        if (jx_get(x.st, "currentStepHash") && strcmp(jx_str(x.st, "stableRS") ?: "", x.hash))
            json_object_set_new(x.st, "currentStepIndex", json_integer(0));
        json_object_set_new(x.st, "currentStepHash", json_string(sh));
    }
    if (x.skip_steps && !x.bg)
        json_object_set_new(
            x.st, "currentStepIndex",
            json_integer(json_array_size(jx_get(ro, "spec.strategy.canary.steps"))));
    abort_and_retry(&x);
    restart(&x);
    if (x.bg)
        argo__bluegreen(&x);
    else
        argo__canary(&x);
    abort_and_retry(&x); /* an abort decided by the strategy (analysis, deadline) */
    cleanup_history(&x);
    argo__prune_runs(&x);
    argo__workload_scale_down(&x, old);
    counters(&x);
    conditions(&x, old);
write:
    status_write(&x);
    if (x.requeue_ms >= 0)
        ctl_enqueue_after(c, ns, name, x.requeue_ms);
    if (!jx_get(ro, "status"))
        json_decref(old);
    json_decref(x.st);
    json_decref(x.rss);
    if (x.ro != ro)
        json_decref(x.ro);
    json_decref(ro);
}

static void on_rs(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx)
{
    (void)type, (void)r, (void)old, (void)ctx;
    ctl_enqueue_owner(c, obj, "Rollout");
}

/* A Service a Rollout names may appear after it: every Rollout of the namespace looks again. */
static void on_svc(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    json_t *m = ctl_map(c, RES_ROLLOUT), *ro;
    const char *k;

    (void)type, (void)r, (void)old, (void)ctx;
    if (!m || strcmp(type, "ADDED") != 0)
        return;
    json_object_foreach(m, k, ro) if (!strcmp(jx_str(ro, "metadata.namespace") ?: "",
                                              jx_str(obj, "metadata.namespace") ?: ""))
        ctl_enqueue(c, jx_str(ro, "metadata.namespace"), jx_str(ro, "metadata.name"));
}

struct ctl *ctrl_argo_rollout_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "argo-rollout", sync, NULL);

    ctl_watch(c, RES_ROLLOUT, NULL);
    ctl_watch(c, RES_REPLICASET, on_rs);
    ctl_watch(c, RES_SERVICE, on_svc);
    ctl_watch(c, RES_ANALYSISRUN, on_rs);
    ctl_watch(c, RES_DEPLOYMENT, argo__on_workload);
    ctl_watch(c, RES_POD, argo__on_pod);
    ctl_start(c);
    return c;
}
