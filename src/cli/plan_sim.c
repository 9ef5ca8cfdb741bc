/* The planner's simulation (plan.h): simulated ReplicaSets and pods on a simulated clock. The
 * sizes come from the controllers' own functions (rollout_reconcile_new/old for a Deployment,
 * argo_canary_counts/argo_canary_scale for a canary Rollout) and placement from the
 * scheduler's sched_pick_node; only the passage of time (pod start, probes, minReadySeconds,
 * pauses) is modelled here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plan.h"
#include "controllers/argo.h"
#include "controllers/decide.h"
#include "controllers/podutil.h"
#include "controllers/rollout.h"
#include "controllers/surge.h"
#include "core/cond.h"
#include "core/jx.h"
#include "core/log.h"

#define NEVER 1e18
/* A timed pause ends at the controller's requeue, 200 ms after its duration
 * (argo_strategy.c pause_done). */
#define PAUSE_REQUEUE_S 0.2

struct spod {
    size_t rs;
    double created, running, ready, avail, gone;
    int deleting, pending;
    char key[64];
};

struct sim {
    struct plan *p;
    double t, last_progress, paused_s, max_gap;
    json_t *rss;   /* simulated ReplicaSets (owned) */
    json_t *eff;   /* the spec the Deployment decisions use (owned) */
    size_t ni, si; /* new and stable ReplicaSet indexes (si == ni: none distinct) */
    long long R, weight;
    struct spod *pods;
    size_t npods;
    int in_wait, seq;
    char stall[600];
};

static void problem(struct sim *s, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct sim *s, const char *reason, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    size_t i;
    json_t *pr;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_foreach(s->p->problems, i,
                       pr) if (!strcmp(jx_str(pr, "reason") ?: "", reason)) return;
    json_array_append_new(s->p->problems,
                          json_pack("{s:s,s:s,s:f}", "reason", reason, "message", msg, "t", s->t));
}

static json_t *rs_at(struct sim *s, size_t i)
{
    return json_array_get(s->rss, i);
}

static int alive(const struct spod *q)
{
    return !q->deleting;
}

/* The ReplicaSets' status from the pods: replicas (not terminating), ready, available. */
static void rs_status(struct sim *s)
{
    for (size_t i = 0; i < json_array_size(s->rss); i++) {
        long long n = 0, rd = 0, av = 0;

        for (size_t k = 0; k < s->npods; k++) {
            struct spod *q = &s->pods[k];

            if (q->rs != i || !alive(q))
                continue;
            n++;
            rd += q->ready <= s->t;
            av += q->avail <= s->t;
        }
        jx_set(rs_at(s, i), "status.replicas", json_integer(n));
        jx_set(rs_at(s, i), "status.readyReplicas", json_integer(rd));
        jx_set(rs_at(s, i), "status.availableReplicas", json_integer(av));
    }
}

/* A pod bound to a node: it runs, turns Ready and available as the model says. */
static void placed(struct sim *s, struct spod *q)
{
    q->pending = 0;
    q->running = s->t + s->p->m.start_s;
    q->ready = q->running + s->p->m.ready_s;
    q->avail = q->ready + s->p->m.min_ready_s + s->p->m.lag_s;
}

/* Tries to place a pending pod with the scheduler's own fit check. */
static void schedule(struct sim *s, struct spod *q)
{
    json_t *pod;
    char msg[1024], res[128];
    const char *node;

    if (!s->p->nodes || !s->p->sched_pods) {
        placed(s, q);
        return;
    }
    pod = json_pack("{s:s,s:{s:s,s:s},s:O}", "kind", "Pod", "metadata", "name", q->key, "namespace",
                    jx_str(s->p->obj, "metadata.namespace") ?: "default", "spec",
                    jx_get(s->p->obj, "spec.template.spec"));
    node = sched_pick_node(s->p->nodes, pod, s->p->sched_pods, msg, sizeof msg);
    if (node) {
        jx_set(pod, "spec.nodeName", json_string(node));
        jx_set(pod, "status.phase", json_string("Pending"));
        json_object_set(s->p->sched_pods, q->key, pod);
        placed(s, q);
    } else {
        q->pending = 1;
        if (surge_insufficient(msg, res, sizeof res))
            snprintf(s->stall, sizeof s->stall, "%s", res);
        else if (!*s->stall)
            snprintf(s->stall, sizeof s->stall, "?%.500s", msg);
    }
    json_decref(pod);
}

static void pod_new(struct sim *s, size_t rs)
{
    struct spod *q;

    if (s->npods >= PLAN_MAX_PODS) {
        problem(s, "TooLarge", "more than %d pods to simulate: the plan stops short",
                PLAN_MAX_PODS);
        return;
    }
    q = &s->pods[s->npods++];
    *q = (struct spod){.rs = rs,
                       .created = s->t,
                       .running = NEVER,
                       .ready = NEVER,
                       .avail = NEVER,
                       .gone = NEVER,
                       .pending = 1};
    snprintf(q->key, sizeof q->key, "kroll-plan/%d", s->seq++);
    schedule(s, q);
}

/* Victims first: unscheduled, not running, not ready, not available, then the newest (the
 * ranks of rs_victims_sort that differ between simulated pods). */
static int victim_before(const struct spod *a, const struct spod *b, double t)
{
    if (a->pending != b->pending)
        return a->pending;
    if ((a->running <= t) != (b->running <= t))
        return a->running > t;
    if ((a->ready <= t) != (b->ready <= t))
        return a->ready > t;
    if ((a->avail <= t) != (b->avail <= t))
        return a->avail > t;
    return a->created > b->created;
}

/* The ReplicaSet controller: creates or deletes pods of rs i toward its spec. */
static void rs_sync(struct sim *s, size_t i)
{
    long long spec = rollout_spec(rs_at(s, i)), n = 0;

    for (size_t k = 0; k < s->npods; k++)
        n += s->pods[k].rs == i && alive(&s->pods[k]);
    for (; n < spec; n++)
        pod_new(s, i);
    for (; n > spec; n--) {
        struct spod *v = NULL;

        for (size_t k = 0; k < s->npods; k++) {
            struct spod *q = &s->pods[k];

            if (q->rs == i && alive(q) && (!v || victim_before(q, v, s->t)))
                v = q;
        }
        if (!v)
            break;
        v->deleting = 1;
        v->gone = v->pending ? s->t : s->t + s->p->m.term_s;
    }
}

static void row(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row(struct sim *s, const char *fmt, ...)
{
    struct plan *p = s->p;
    struct plan_row *r;
    long long U;
    va_list ap;

    if (p->nrows >= PLAN_MAX_ROWS)
        return;
    rs_status(s);
    r = &p->rows[p->nrows++];
    memset(r, 0, sizeof *r);
    r->t = s->t;
    va_start(ap, fmt);
    vsnprintf(r->step, sizeof r->step, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < json_array_size(s->rss); i++) {
        json_t *rs = rs_at(s, i);
        long long d = rollout_spec(rs), rd = jx_int(rs, "status.readyReplicas", 0);

        if (i == s->ni) {
            r->new_desired = d;
            r->new_ready = rd;
        } else {
            r->old_desired += d;
            r->old_ready += rd;
        }
        r->available += jx_int(rs, "status.availableReplicas", 0);
    }
    if (p->rollout) {
        long long S;

        argo_surge_unavailable(jx_get(p->obj, "spec.strategy.canary"), s->R, &S, &U);
    } else {
        U = rollout_max_unavailable(s->eff, s->R);
    }
    r->min_available = s->R - U;
    r->weight = s->weight;
}

/* Scales rs i to n (a controller write) and lets the ReplicaSet controller act on it. */
static void scale(struct sim *s, size_t i, long long n)
{
    long long old = rollout_spec(rs_at(s, i));

    if (old == n)
        return;
    jx_set(rs_at(s, i), "spec.replicas", json_integer(n));
    rs_sync(s, i);
    s->last_progress = s->t;
    row(s, "scale %s %s to %lld", i == s->ni ? "new RS" : "old RS", n > old ? "up" : "down", n);
}

/* ---- Deployment ---- */

static int deploy_pass(struct sim *s)
{
    struct rollout r = {s->eff, s->R, s->rss, rs_at(s, s->ni)};
    struct rollout_step *st;
    size_t n;
    int changed = 0;

    rs_status(s);
    if (rollout_spec(r.nrs) != s->R) {
        long long to = rollout_reconcile_new(&r);

        if (to != rollout_spec(r.nrs)) {
            scale(s, s->ni, to);
            return 1;
        }
    }
    st = xcalloc(2 * json_array_size(s->rss) + 1, sizeof *st);
    n = rollout_reconcile_old(&r, st);
    for (size_t k = 0; k < n; k++)
        if (st[k].to != rollout_spec(rs_at(s, st[k].i))) {
            scale(s, st[k].i, st[k].to);
            changed = 1;
        }
    free(st);
    return changed;
}

static int all_done(struct sim *s, long long want_new)
{
    rs_status(s);
    for (size_t i = 0; i < json_array_size(s->rss); i++) {
        json_t *rs = rs_at(s, i);
        long long want = i == s->ni ? want_new : 0;

        if (rollout_spec(rs) != want || jx_int(rs, "status.replicas", 0) != want ||
            jx_int(rs, "status.availableReplicas", 0) < want)
            return 0;
    }
    return 1;
}

/* GPU-safe surge as the Deployment controller does it (deployment.c surge_check): a blocked
 * surge pod is reported; an opted-in Deployment whose budgets allow it goes one at a time. */
static void surge_stall(struct sim *s)
{
    const char *opt = jx_annotation(s->p->obj, SURGE_A_FALLBACK);
    struct surge_block b = {.resource = ""};

    if (*s->stall == '?' || !*s->stall) {
        problem(s, "Unschedulable", "a pod cannot be scheduled: %s: the rollout waits",
                *s->stall ? s->stall + 1 : "no node fits");
        return;
    }
    snprintf(b.resource, sizeof b.resource, "%.120s", s->stall);
    if (!s->p->rollout && opt && !strcmp(opt, "true") && rollout_max_surge(s->eff, s->R) > 0) {
        if (surge_pdb_allows_in(s->p->pdbs, s->p->obj, &b)) {
            json_decref(s->eff);
            s->eff = surge_fallback_spec(s->p->obj);
            problem(s, "SurgeFallback",
                    "surge pod cannot be scheduled: Insufficient %s; kroll replaces one pod at a "
                    "time (maxSurge 0, maxUnavailable 1) (annotation %s)",
                    b.resource, SURGE_A_FALLBACK);
            s->stall[0] = 0;
            return;
        }
        problem(s, "DisruptionBudget",
                "surge pod cannot be scheduled: Insufficient %s, and PodDisruptionBudget %s "
                "allows no disruption, so kroll cannot replace pods in place: the rollout "
                "waits",
                b.resource, b.pdb);
        return;
    }
    problem(s, "InsufficientResource",
            "surge pod cannot be scheduled: Insufficient %s, so the rollout waits for capacity. "
            "Set maxSurge: 0 and maxUnavailable: 1 to replace pods in place, or annotate the "
            "Deployment %s=true",
            b.resource, SURGE_A_FALLBACK);
}

/* ---- time ---- */

static double next_event(struct sim *s)
{
    double n = NEVER;

    for (size_t k = 0; k < s->npods; k++) {
        const struct spod *q = &s->pods[k];
        const double ts[] = {q->running, q->ready, q->avail, q->gone};

        for (size_t j = 0; j < 4; j++)
            if (ts[j] > s->t && ts[j] < n)
                n = ts[j];
    }
    return n;
}

/* Moves the clock to t: pods gone leave the scheduler's view; pending ones retry. */
static void advance(struct sim *s, double t)
{
    if (!s->in_wait && t - s->last_progress > s->max_gap)
        s->max_gap = t - s->last_progress;
    s->t = t;
    s->stall[0] = 0; /* pending pods say again why they wait */
    for (size_t k = 0; k < s->npods; k++) {
        struct spod *q = &s->pods[k];

        if (q->gone <= t && q->deleting != 2) {
            q->deleting = 2;
            if (s->p->sched_pods)
                json_object_del(s->p->sched_pods, q->key);
            s->last_progress = t;
        }
        if (q->avail == t || q->ready == t)
            s->last_progress = t;
    }
    for (size_t k = 0; k < s->npods; k++)
        if (s->pods[k].pending && alive(&s->pods[k]))
            schedule(s, &s->pods[k]);
}

/* Waits for the next change; 0 when nothing will ever change (a stall). */
static int wait_event(struct sim *s)
{
    double n = next_event(s);

    if (n >= NEVER || n > PLAN_MAX_SECONDS)
        return 0;
    advance(s, n);
    return 1;
}

/* A wait of d seconds (a pause, an analysis) with no progress expected. */
static void wait_for(struct sim *s, double d)
{
    double end = s->t + d;

    s->in_wait = 1;
    while (next_event(s) <= end)
        advance(s, next_event(s));
    s->in_wait = 0;
    s->t = end;
    s->paused_s += d;
    s->p->waits += d;
    s->last_progress = end;
}

/* ---- canary Rollout ---- */

static int at_count(struct sim *s, size_t i, long long n)
{
    json_t *rs = rs_at(s, i);

    return rollout_spec(rs) == n && jx_int(rs, "status.replicas", 0) == n &&
           jx_int(rs, "status.availableReplicas", 0) >= n;
}

static int canary_pass(struct sim *s, long long c, long long st)
{
    size_t n = json_array_size(s->rss), nops;
    struct argo_rs_size *v = xcalloc(n + 1, sizeof *v);
    struct argo_scale_op *ops = xcalloc(n + 4, sizeof *ops);
    long long S, U;

    rs_status(s);
    argo_surge_unavailable(jx_get(s->p->obj, "spec.strategy.canary"), s->R, &S, &U);
    for (size_t i = 0; i < n; i++) {
        v[i].spec = rollout_spec(rs_at(s, i));
        v[i].avail = jx_int(rs_at(s, i), "status.availableReplicas", 0);
        v[i].role = i == s->ni ? ARGO_RS_NEW : i == s->si ? ARGO_RS_STABLE : ARGO_RS_OLD;
    }
    nops = argo_canary_scale(v, n, s->R, c, st, S, U, argo_traffic_routed(s->p->obj), ops);
    for (size_t k = 0; k < nops; k++)
        scale(s, ops[k].i, ops[k].to);
    free(ops);
    free(v);
    return nops > 0;
}

static int canary_at_target(struct sim *s, long long c, long long st)
{
    rs_status(s);
    if (!at_count(s, s->ni, c) || (s->si != s->ni && !at_count(s, s->si, st)))
        return 0;
    for (size_t i = 0; i < json_array_size(s->rss); i++)
        if (i != s->ni && i != s->si && jx_int(rs_at(s, i), "status.replicas", 0) > 0)
            return 0;
    return 1;
}

/* A step that waits (pause or analysis); 1 when handled. */
static int canary_wait_step(struct sim *s, const json_t *step, long long idx, size_t n)
{
    const json_t *p = json_object_get(step, "pause");
    char key[32], text[120];
    int64_t ms = -1;

    argo_step_text(step, text, sizeof text);
    if (p) {
        if (jx_get(p, "duration") && duration_parse_ms(jx_get(p, "duration"), &ms) < 0)
            ms = 0;
        if (ms < 0) {
            s->p->promote_waits++;
            problem(s, "PauseWithoutDuration",
                    "step %lld/%zu (%s) waits for `kroll rollouts promote`: the duration assumes "
                    "a promote at once",
                    idx + 1, n, text);
            row(s, "step %lld/%zu %s: waits for promote", idx + 1, n, text);
            return 1;
        }
        row(s, "step %lld/%zu %s", idx + 1, n, text);
        wait_for(s, (double)ms / 1000 + PAUSE_REQUEUE_S);
        return 1;
    }
    if (json_object_get(step, "analysis")) {
        snprintf(key, sizeof key, "%lld", idx);
        if (!json_is_number(json_object_get(s->p->analysis_s, key))) {
            problem(s, "AnalysisUnknown",
                    "step %lld/%zu (analysis): its templates could not be read; counted as 0 s",
                    idx + 1, n);
            return 1;
        }
        row(s, "step %lld/%zu analysis (%.0f s)", idx + 1, n,
            json_number_value(json_object_get(s->p->analysis_s, key)));
        wait_for(s, json_number_value(json_object_get(s->p->analysis_s, key)));
        return 1;
    }
    return 0;
}

static int canary_run(struct sim *s)
{
    const json_t *cs = jx_get(s->p->obj, "spec.strategy.canary"), *steps;
    size_t n;
    long long idx = 0, S, U, c, st;
    char text[120];

    steps = json_object_get(cs, "steps");
    n = json_array_size(steps);
    argo_surge_unavailable(cs, s->R, &S, &U);
    for (int guard = 0; guard < 100000; guard++) {
        int done = s->si == s->ni;
        const json_t *step = json_array_get(steps, (size_t)idx);

        s->weight = done ? 100 : argo_current_weight(steps, idx, 0);
        if (argo_traffic_routed(s->p->obj))
            argo_traffic_counts(s->R, steps, idx, s->weight, &c, &st);
        else
            argo_canary_counts(s->R, s->weight, 100, S, &c, &st);
        for (int k = 0; k < 50 && canary_pass(s, c, done ? 0 : st); k++)
            ;
        if (done && all_done(s, s->R))
            return 0;
        if (!done && idx < (long long)n && !json_object_get(step, "setWeight") &&
            !json_object_get(step, "setCanaryScale")) {
            if (!canary_wait_step(s, step, idx, n)) {
                argo_step_text(step, text, sizeof text);
                problem(s, "UnsupportedStep", "step %lld/%zu (%s) is not planned: skipped", idx + 1,
                        n, text);
            }
            idx++;
            continue;
        }
        if (!done && canary_at_target(s, c, st)) {
            if (idx < (long long)n) {
                argo_step_text(step, text, sizeof text);
                row(s, "step %lld/%zu %s done", idx + 1, n, text);
                idx++;
            } else {
                s->si = s->ni; /* RolloutCompleted: the new ReplicaSet is stable */
                row(s, "all steps done: new RS is stable");
                if (argo_traffic_routed(s->p->obj)) { /* the old one is kept a while */
                    row(s, "previous stable kept scaleDownDelaySeconds %lld",
                        (long long)jx_int(cs, "scaleDownDelaySeconds", 30));
                    return 0;
                }
            }
            continue;
        }
        if (!wait_event(s))
            return -1;
    }
    return -1;
}

/* ---- blue-green Rollout ---- */

/* Waits until the new ReplicaSet has n available pods beside a full stable one; 0 on a stall. */
static int bg_reach(struct sim *s, long long n)
{
    for (int guard = 0; guard < 100000; guard++) {
        scale(s, s->si, s->R);
        scale(s, s->ni, n);
        for (size_t i = 0; i < json_array_size(s->rss); i++)
            if (i != s->ni && i != s->si)
                scale(s, i, 0);
        rs_status(s);
        if (at_count(s, s->ni, n))
            return 1;
        if (!wait_event(s))
            return 0;
    }
    return 0;
}

/* argo_strategy.c's argo__bluegreen: the new ReplicaSet up to previewReplicaCount (or R)
 * beside the stable one, the pause (autoPromotionSeconds, or promote), the rest of the new
 * pods, the switch; the old ReplicaSet goes scaleDownDelaySeconds after it. */
static int bg_run(struct sim *s)
{
    const json_t *bg = jx_get(s->p->obj, "spec.strategy.blueGreen");
    long long preview = jx_int(bg, "previewReplicaCount", -1);
    long long secs = jx_int(bg, "autoPromotionSeconds", 0);
    long long delay = jx_int(bg, "scaleDownDelaySeconds", 30);
    int autop = !json_is_false(json_object_get(bg, "autoPromotionEnabled"));

    if (s->si == s->ni)
        return bg_reach(s, s->R) ? 0 : -1;
    if (!bg_reach(s, preview >= 0 && preview < s->R ? preview : s->R))
        return -1;
    row(s, "preview ready");
    if (json_object_get(bg, "prePromotionAnalysis"))
        problem(s, "AnalysisUnknown",
                "prePromotionAnalysis is not planned: its time is not counted");
    if (!autop) {
        s->p->promote_waits++;
        problem(s, "PauseWithoutDuration",
                "autoPromotionEnabled is false: the switch waits for `kroll rollouts promote`; "
                "the duration assumes a promote at once");
        row(s, "waits for promote");
    } else if (secs > 0) {
        row(s, "autoPromotionSeconds %lld", secs);
        wait_for(s, (double)secs + PAUSE_REQUEUE_S);
    }
    if (!bg_reach(s, s->R))
        return -1;
    row(s, "switch: active Service to the new RS");
    s->p->switch_t = s->t;
    if (delay > 0) {
        row(s, "old RS kept scaleDownDelaySeconds %lld", delay);
        s->t += (double)delay;
    }
    scale(s, s->si, 0);
    s->si = s->ni;
    return all_done(s, s->R) ? 0 : -1;
}

/* ---- driver ---- */

/* Recreate (deployment.c rollout_recreate): every old ReplicaSet to 0, then, once their pods
 * are gone, the new one to R. */
static int recreate_run(struct sim *s)
{
    for (int guard = 0; guard < 100000; guard++) {
        int old_left = 0;

        for (size_t i = 0; i < json_array_size(s->rss); i++)
            if (i != s->ni)
                scale(s, i, 0);
        for (size_t k = 0; k < s->npods; k++)
            old_left |= s->pods[k].rs != s->ni && s->pods[k].deleting != 2;
        if (!old_left)
            scale(s, s->ni, s->R);
        if (all_done(s, s->R))
            return 0;
        if (!wait_event(s))
            return -1;
    }
    return -1;
}

static int deploy_run(struct sim *s)
{
    if (!rollout_is_rolling(s->p->obj))
        return recreate_run(s);
    for (int guard = 0; guard < 100000; guard++) {
        for (int k = 0; k < 50 && deploy_pass(s); k++)
            ;
        if (all_done(s, s->R))
            return 0;
        if (!wait_event(s)) {
            if (*s->stall && !s->p->rollout) {
                int was = !!s->eff && rollout_max_surge(s->eff, s->R) > 0;

                surge_stall(s);
                if (was && rollout_max_surge(s->eff, s->R) == 0)
                    continue; /* the fallback runs */
            }
            return -1;
        }
    }
    return -1;
}

/* The simulated ReplicaSets from the current ones; the new one is the one whose template is
 * the new spec's (an undo), or a new one. */
static void sim_rss(struct sim *s)
{
    const json_t *tmpl = jx_get(s->p->obj, "spec.template");
    const char *stable = jx_str(s->p->obj, "status.stableRS");
    size_t i;
    json_t *rs;

    s->ni = s->si = (size_t)-1;
    json_array_foreach(s->p->rss, i, rs)
    {
        json_t *t = json_deep_copy(jx_get(rs, "spec.template")), *cp;

        json_object_del(jx_get(t, "metadata.labels"), ARGO_HASH_LABEL);
        cp = json_pack("{s:{s:O,s:O,s:O},s:{s:I},s:{}}", "metadata", "name",
                       jx_get(rs, "metadata.name"), "creationTimestamp",
                       jx_get(rs, "metadata.creationTimestamp") ?: json_null(), "annotations",
                       jx_get(rs, "metadata.annotations") ?: json_null(), "spec", "replicas",
                       (json_int_t)rollout_spec(rs), "status");
        json_array_append_new(s->rss, cp);
        if (s->ni == (size_t)-1 && template_equal(t, tmpl))
            s->ni = i;
        if (stable && !strcmp(jx_label(rs, ARGO_HASH_LABEL) ?: "", stable))
            s->si = i;
        json_decref(t);
    }
    if (s->ni == (size_t)-1) {
        s->ni = json_array_size(s->rss);
        json_array_append_new(s->rss,
                              json_pack("{s:{s:s,s:s},s:{s:i},s:{}}", "metadata", "name", "(new)",
                                        "creationTimestamp", "9999-12-31T23:59:59Z", "spec",
                                        "replicas", 0, "status"));
    }
    if (s->si == (size_t)-1)
        s->si = s->ni;
}

/* The current pods, as they are now: ready ones are available, the others never become so. */
static void sim_pods(struct sim *s)
{
    size_t i, j;
    json_t *pod, *rs;

    json_array_foreach(s->p->pods, i, pod)
    {
        const json_t *rc = cond_get(pod, "Ready");
        int ready = rc && !strcmp(jx_str(rc, "status") ?: "", "True");
        struct spod *q;

        if (s->npods >= PLAN_MAX_PODS)
            break;
        json_array_foreach(s->p->rss, j, rs) if (is_controlled_by(pod, rs)) break;
        if (j >= json_array_size(s->p->rss))
            continue;
        q = &s->pods[s->npods++];
        *q = (struct spod){.rs = j,
                           .created = -1,
                           .running = -1,
                           .ready = ready ? -1 : NEVER,
                           .avail = ready ? -1 : NEVER,
                           .gone = NEVER};
        snprintf(q->key, sizeof q->key, "%s/%s", jx_str(pod, "metadata.namespace") ?: "",
                 jx_str(pod, "metadata.name") ?: "");
        if (jx_get(pod, "metadata.deletionTimestamp")) {
            q->deleting = 1;
            q->gone = s->p->m.term_s;
        }
    }
}

int plan_run(struct plan *p)
{
    struct sim s = {.p = p};
    int rc;

    p->problems = json_array();
    p->rows = xcalloc(PLAN_MAX_ROWS, sizeof *p->rows);
    p->duration = -1;
    s.rss = json_array();
    s.pods = xcalloc(PLAN_MAX_PODS, sizeof *s.pods);
    s.R = jx_int(p->obj, "spec.replicas", 1);
    s.eff = json_deep_copy(p->obj);
    sim_rss(&s);
    sim_pods(&s);
    if (p->rollout && !jx_get(p->obj, "spec.strategy.canary") &&
        !jx_get(p->obj, "spec.strategy.blueGreen")) {
        problem(&s, "Unsupported", "the Rollout has neither a canary nor a blueGreen strategy");
        rc = -1;
        goto out;
    }
    s.weight =
        p->rollout ? argo_current_weight(jx_get(p->obj, "spec.strategy.canary.steps"), 0, 0) : 0;
    row(&s, "start");
    s.t = p->m.lag_s; /* the controller sees the changed spec */
    p->switch_t = -1;
    rc = !p->rollout                                 ? deploy_run(&s)
         : jx_get(p->obj, "spec.strategy.blueGreen") ? bg_run(&s)
                                                     : canary_run(&s);
    if (rc == 0) {
        p->duration = s.t;
        row(&s, "complete");
    } else {
        if (*s.stall && s.stall[0] != '?' && !p->rollout)
            surge_stall(&s);
        else if (*s.stall)
            problem(&s, "Unschedulable", "a pod cannot be scheduled: %s: the rollout waits",
                    s.stall[0] == '?' ? s.stall + 1 : s.stall);
        problem(&s, "Stalls", "the rollout makes no progress after %.1f s", s.t);
        rc = 0;
    }
    {
        long long dl = jx_int(p->obj, "spec.progressDeadlineSeconds", 600);

        if (dl < 2147483647LL && (p->duration < 0 || s.max_gap > (double)dl))
            problem(&s, "ProgressDeadlineExceeded",
                    "progressDeadlineSeconds %lld is shorter than the %s: the rollout will be "
                    "reported as failed (ProgressDeadlineExceeded)",
                    dl, p->duration < 0 ? "stall" : "longest wait without progress");
    }
out:
    for (size_t k = 0; k < s.npods; k++)
        if (p->sched_pods && !strncmp(s.pods[k].key, "kroll-plan/", 11))
            json_object_del(p->sched_pods, s.pods[k].key);
    free(s.pods);
    json_decref(s.rss);
    json_decref(s.eff);
    return rc;
}

void plan_release(struct plan *p)
{
    free(p->rows);
    p->rows = NULL;
    json_decref(p->problems);
    p->problems = NULL;
}
