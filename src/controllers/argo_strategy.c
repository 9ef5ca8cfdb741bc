/* The Rollout strategies (progressive-delivery.md sections 2.2-2.6, 3 and 7): basic canary
 * (Argo's replica arithmetic approached within maxSurge/maxUnavailable, steps, pauses,
 * canary/stable Service selectors) and blue-green (preview then active Service switch,
 * previewReplicaCount, auto-promotion, scale-down delay). One direction of scaling per
 * ReplicaSet per pass; every pass is recomputed from the objects (level-triggered). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/argo-int.h"
#include "controllers/surge.h"
#include "core/jx.h"
#include "core/log.h"

static long long min_ll(long long a, long long b)
{
    return a < b ? a : b;
}

/* Old ReplicaSets (neither new nor stable) go to 0, at once or at their scale-down deadline. */
static void scale_down_old(struct rsync *x)
{
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = json_array_get(x->rss, i);
        const char *dl = jx_annotation(rs, ARGO_A_DEADLINE);
        time_t t = dl ? time_parse(dl) : -1;

        if (rs == x->nrs || rs == x->srs || argo__rs_spec(rs) == 0)
            continue;
        if (t > x->now) {
            argo__requeue(x, (t - x->now) * 1000 + 200);
            continue;
        }
        argo__scale(x, rs, 0);
    }
}

static void pause_clear(struct rsync *x);

/* ---- canary ---- */

/* Moves the ReplicaSets toward c (new) and s (stable), older ones toward 0, as
 * argo_canary_scale decides; a failed write ends the pass (the next one recomputes). */
static void scale_basic(struct rsync *x, long long c, long long s)
{
    size_t n = json_array_size(x->rss), nops;
    struct argo_rs_size *v = xcalloc(n + 1, sizeof *v);
    struct argo_scale_op *ops = xcalloc(n + 4, sizeof *ops);
    long long S, U;

    argo_surge_unavailable(jx_get(x->ro, "spec.strategy.canary"), x->R, &S, &U);
    if (x->surge_fallback)
        S = 0, U = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *rs = json_array_get(x->rss, i);
        const char *dl = jx_annotation(rs, ARGO_A_DEADLINE);
        time_t t = dl ? time_parse(dl) : -1;

        v[i].spec = argo__rs_spec(rs);
        v[i].avail = argo__rs_avail(rs);
        v[i].role = rs == x->nrs ? ARGO_RS_NEW : rs == x->srs ? ARGO_RS_STABLE : ARGO_RS_OLD;
        if (v[i].role == ARGO_RS_OLD && t > x->now) { /* the previous stable, kept for
                                                         scaleDownDelaySeconds */
            v[i].held = 1;
            argo__requeue(x, (t - x->now) * 1000 + 200);
        }
    }
    nops = argo_canary_scale(v, n, x->R, c, s, S, U, argo__traffic_routed(x->ro), ops);
    for (size_t k = 0; k < nops; k++)
        if (argo__scale(x, json_array_get(x->rss, ops[k].i), ops[k].to) < 0)
            break;
    free(ops);
    free(v);
}

static int at_count(const json_t *rs, long long n)
{
    return argo__rs_spec(rs) == n && jx_int(rs, "status.replicas", 0) == n &&
           argo__rs_avail(rs) >= n;
}

static int at_target(struct rsync *x, long long c, long long s)
{
    if (!at_count(x->nrs, c) || (x->srs && x->srs != x->nrs && !at_count(x->srs, s)))
        return 0;
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = json_array_get(x->rss, i);

        if (rs != x->nrs && rs != x->srs && jx_int(rs, "status.replicas", 0) > 0)
            return 0;
    }
    return 1;
}

static json_t *pause_cond(struct rsync *x, const char *reason)
{
    json_t *pcs = json_object_get(x->st, "pauseConditions"), *pc;
    size_t i;

    json_array_foreach(pcs, i, pc) if (!strcmp(jx_str(pc, "reason") ?: "", reason)) return pc;
    return NULL;
}

static void pause_add(struct rsync *x, const char *reason)
{
    char ts[32];
    json_t *pcs = json_object_get(x->st, "pauseConditions");

    if (!json_is_array(pcs)) {
        pcs = json_array();
        json_object_set_new(x->st, "pauseConditions", pcs);
    }
    time_rfc3339(x->now, ts);
    json_array_append_new(pcs, json_pack("{s:s,s:s}", "reason", reason, "startTime", ts));
    json_object_set_new(x->st, "controllerPause", json_true());
    argo__event(x, "Normal", "RolloutPaused", "Rollout is paused (%s)", reason);
}

static void pause_clear(struct rsync *x)
{
    json_object_del(x->st, "pauseConditions");
    json_object_del(x->st, "controllerPause");
}

/* A pause of duration ms (< 0: none) under reason: 1 when it has ended (its time passed, or
 * the user cleared the condition: promote), 0 while it holds. */
static int pause_done(struct rsync *x, const char *reason, int64_t ms)
{
    json_t *pc = pause_cond(x, reason);
    time_t start;

    if (!pc) {
        if (jx_bool(x->st, "controllerPause")) {
            pause_clear(x);
            return 1;
        }
        pause_add(x, reason);
        if (ms >= 0)
            argo__requeue(x, ms + 200);
        return 0;
    }
    if (ms < 0)
        return 0;
    start = time_parse(jx_str(pc, "startTime") ?: "");
    if (start < 0 || (int64_t)(x->now - start) * 1000 >= ms) {
        pause_clear(x);
        return 1;
    }
    argo__requeue(x, ms - (int64_t)(x->now - start) * 1000 + 200);
    return 0;
}

/* Background analysis (canary.analysis): from startingStep until the update completes, aborts
 * or is fully promoted; Inconclusive pauses (InconclusiveAnalysisRun) until promote, which
 * starts a fresh run. Returns the current run's name (in x->st) or NULL. */
static const char *background(struct rsync *x, const json_t *cs, long long idx, int done)
{
    const json_t *an = json_object_get(cs, "analysis");

    if (!an || json_is_null(an) || done || x->skip_steps || jx_bool(x->st, "abort") ||
        jx_bool(x->st, "promoteFull") || idx < jx_int(an, "startingStep", 0)) {
        if (done || !an || json_is_null(an))
            json_object_del(json_object_get(x->st, "canary"), "currentBackgroundAnalysisRunStatus");
        return NULL;
    }
    if (argo__analysis(x, an, ARGO_RUN_BACKGROUND, 0, "spec.strategy.canary.analysis") == 2 &&
        !pause_cond(x, "InconclusiveAnalysisRun"))
        pause_add(x, "InconclusiveAnalysisRun");
    return jx_str(jx_get(x->st, "canary.currentBackgroundAnalysisRunStatus"), "name");
}

/* With traffic routing every canary pod is a surge pod (the stable keeps all its pods), so
 * maxSurge does not help: the messages say what does. */
static void routed_surge_text(struct rsync *x, struct surge_verdict *v)
{
    struct surge_block b = {.resource = ""};

    if (!surge_blocked(x->c, x->nrs, &b))
        return;
    if (!strcmp(v->reason, "InsufficientResource"))
        snprintf(v->msg, sizeof v->msg,
                 "Canary pod %s cannot be scheduled: Insufficient %s, and with traffic routing "
                 "the stable keeps all its pods, so this rollout waits for capacity. Annotate the "
                 "Rollout %s=true to let kroll scale the stable down one pod at a time to make "
                 "room while the PodDisruptionBudgets allow it.",
                 b.pod, b.resource, SURGE_A_FALLBACK);
    else if (!strcmp(v->reason, "SurgeFallback"))
        snprintf(v->msg, sizeof v->msg,
                 "Canary pod %s cannot be scheduled: Insufficient %s; scaling the stable down one "
                 "pod at a time to make room (the traffic weights stay as the steps set them).",
                 b.pod, b.resource);
}

/* GPU-safe surge (surge.h) for a canary: a canary or stable pod that cannot be scheduled for
 * lack of an extended resource while old pods hold it is reported at once (condition
 * SurgeBlocked, an event); a Rollout annotated kroll.dev/surge-fallback=true then rolls with
 * maxSurge 0 and maxUnavailable 1 while its budgets allow, until no old pod is left (with
 * traffic routing the stable then shrinks by the canary's pods, argo__canary). */
static void canary_surge(struct rsync *x, long long S)
{
    struct surge_verdict v;
    const char *opt = jx_annotation(x->ro, SURGE_A_FALLBACK);
    char was[32];
    int old_left = 0;

    snprintf(was, sizeof was, "%s", argo__cond_reason(x->st, SURGE_COND) ?: "");
    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (json_array_get(x->rss, i) != x->nrs && argo__rs_spec(json_array_get(x->rss, i)) > 0)
            old_left = 1;
    /* Routed, the fallback holds until completion: the stable it emptied would grow back. */
    if (argo__traffic_routed(x->ro) && x->srs != x->nrs)
        old_left = 1;
    if (opt && !strcmp(opt, "true") && old_left && !strcmp(was, "SurgeFallback")) {
        x->surge_fallback = 1;
        return;
    }
    if ((S == 0 && !argo__traffic_routed(x->ro)) || !old_left ||
        !surge_assess(x->c, x->ro, "Rollout", x->nrs, &v)) {
        cond_del(x->st, SURGE_COND);
        return;
    }
    if (argo__traffic_routed(x->ro))
        routed_surge_text(x, &v);
    if (v.recheck)
        argo__requeue(x, 5000); /* budgets are not watched here */
    x->surge_fallback = v.fallback;
    if (strcmp(was, v.reason) != 0)
        argo__event(x, v.fallback ? "Normal" : "Warning", SURGE_COND, "%s", v.msg);
    cond_set(x->st, surge_condition(&v));
}

void argo__on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx)
{
    json_t *ref = ctl_controller_ref(obj), *rs;

    (void)r, (void)ctx;
    if (!ref || strcmp(jx_str(ref, "kind") ?: "", "ReplicaSet") != 0 ||
        !surge_newly_unschedulable(type, obj, old))
        return;
    rs = kc_get(ctl_kc(c), kc_resource(RES_REPLICASET), jx_str(obj, "metadata.namespace"),
                 jx_str(ref, "name"));
    if (rs)
        ctl_enqueue_owner(c, rs, "Rollout");
}

/* With traffic routing an aborted canary keeps its pods for abortScaleDownDelaySeconds (default
 * 30; 0 keeps them) after its weight went to 0, as Argo does: the deadline, abortedAt plus the
 * delay, is the canary ReplicaSet's scale-down-deadline annotation. Returns the canary's count
 * for this pass; outside an abort the annotation goes (a retry, or a new ReplicaSet). */
static long long routed_abort_count(struct rsync *x, const json_t *cs, int abort)
{
    long long delay = jx_int(cs, "abortScaleDownDelaySeconds", 30), cur = argo__rs_spec(x->nrs);
    const char *dl = jx_annotation(x->nrs, ARGO_A_DEADLINE);
    time_t t = dl ? time_parse(dl) : -1, from;
    char ts[32];

    if (!abort) {
        if (dl)
            argo__rs_annotate(x, x->nrs, ARGO_A_DEADLINE, NULL);
        return -1;
    }
    if (delay <= 0)
        return cur;
    if (t < 0) {
        from = time_parse(jx_str(x->st, "abortedAt") ?: "");
        t = (from < 0 ? x->now : from) + delay;
        time_rfc3339(t, ts);
        argo__rs_annotate(x, x->nrs, ARGO_A_DEADLINE, ts);
    }
    if (t > x->now) {
        argo__requeue(x, (t - x->now) * 1000 + 200);
        return cur;
    }
    return 0;
}

/* Runs the current step; 1 when it is complete. */
static int step_done(struct rsync *x, const json_t *step, size_t idx, long long c, long long s)
{
    const json_t *p = json_object_get(step, "pause");
    char f[400];

    if (json_object_get(step, "setWeight") || json_object_get(step, "setCanaryScale"))
        return at_target(x, c, s) && x->traffic_ok;
    if (json_object_get(step, "setHeaderRoute"))
        return argo__header_route(x, json_object_get(step, "setHeaderRoute"));
    if (p) {
        int64_t ms = -1;

        if (jx_get(p, "duration") && duration_parse_ms(jx_get(p, "duration"), &ms) < 0)
            ms = 0;
        return pause_done(x, "CanaryPauseStep", ms);
    }
    if (json_object_get(step, "analysis")) {
        int r = argo__step_analysis(x, json_object_get(step, "analysis"), idx);

        /* Inconclusive: a pause that only promote ends (which skips the step). */
        return r == 2 ? pause_done(x, "InconclusiveAnalysisRun", -1) : r;
    }
    snprintf(f, sizeof f,
             "The Rollout \"%s\" is invalid: spec.strategy.canary.steps[%zu]: "
             "unsupported step",
             x->name, idx);
    argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", f);
    return 0;
}

static void canary_steps(struct rsync *x, const json_t *steps, long long idx, long long c,
                         long long s)
{
    size_t n = json_array_size(steps);
    const json_t *step = json_array_get(steps, (size_t)idx);
    char text[120];

    if (idx >= (long long)n)
        return;
    if (!json_object_get(step, "pause") && !json_object_get(step, "analysis") &&
        jx_bool(x->st, "controllerPause") &&
        !json_array_size(json_object_get(x->st, "pauseConditions")))
        json_object_del(x->st, "controllerPause");
    if (!step_done(x, step, (size_t)idx, c, s))
        return;
    argo_step_text(step, text, sizeof text);
    argo__event(x, "Normal", "RolloutStepCompleted", "Rollout step %lld/%zu completed (%s)",
                idx + 1, n, text);
    json_object_set_new(x->st, "currentStepIndex", json_integer(idx + 1));
    json_object_del(json_object_get(x->st, "canary"), "currentStepAnalysisRunStatus");
    argo__requeue(x, 0);
}

void argo__canary(struct rsync *x)
{
    const json_t *cs = jx_get(x->ro, "spec.strategy.canary");
    const json_t *steps = json_object_get(cs, "steps");
    long long n = (long long)json_array_size(steps), idx, c, s, S, U, w, ac;
    int abort = jx_bool(x->st, "abort"), paused = jx_bool(x->ro, "spec.paused");
    int done = x->srs == x->nrs, held, routed = argo__traffic_routed(x->ro);
    char stable_hash[16], bgrun[300];
    const char *sh, *b;

    /* Copied: scaling replaces the object the label lives in. */
    snprintf(stable_hash, sizeof stable_hash, "%s", argo__rs_hash(x->srs) ?: "");
    if (!json_is_object(json_object_get(x->st, "canary")))
        json_object_set_new(x->st, "canary", json_object());
    if (n == 0)
        json_object_del(x->st, "currentStepIndex");
    idx = jx_int(x->st, "currentStepIndex", n);
    if (jx_bool(x->st, "promoteFull") && !done) {
        /* Skips the remaining steps and whatever pause holds the rollout. */
        idx = n;
        if (n > 0)
            json_object_set_new(x->st, "currentStepIndex", json_integer(n));
        pause_clear(x);
    }
    w = done ? 100 : argo_current_weight(steps, idx, abort);
    argo_surge_unavailable(cs, x->R, &S, &U);
    canary_surge(x, S);
    if (x->surge_fallback)
        S = 0, U = 1;
    if (routed)
        argo__traffic_counts(x, steps, idx, w, &c, &s);
    else
        argo_canary_counts(x->R, w, 100, S, &c, &s);
    b = paused ? jx_str(jx_get(x->st, "canary.currentBackgroundAnalysisRunStatus"), "name")
               : background(x, cs, idx, done);
    snprintf(bgrun, sizeof bgrun, "%s", b && !jx_bool(x->st, "abort") ? b : "");
    /* An Inconclusive analysis holds the rollout where it is until promote. */
    held = pause_cond(x, "InconclusiveAnalysisRun") != NULL;
    if (routed && (ac = routed_abort_count(x, cs, abort)) >= 0)
        c = ac;
    if (routed && x->surge_fallback && !abort) /* room for the canary: the stable shrinks */
        s = x->R > c ? x->R - c : 0;
    if (!paused && !held)
        scale_basic(x, c, done ? 0 : s);
    x->traffic_ok = !routed || argo__traffic_sync(x, w, c, abort, done);
    /* Services: stable at the stable hash; canary at the new one once it serves (back to
     * stable on abort). */
    sh = *stable_hash ? stable_hash : NULL;
    argo__service_point(x, jx_str(cs, "stableService"), "spec.strategy.canary.stableService",
                        argo__rs_avail(x->srs) > 0 || x->R == 0 ? sh : NULL);
    argo__service_point(x, jx_str(cs, "canaryService"), "spec.strategy.canary.canaryService",
                        abort                                             ? sh
                        : argo__rs_avail(x->nrs) > 0 || x->R == 0 || done ? x->hash
                                                                          : NULL);
    if (abort || paused || done || held || jx_bool(x->st, "abort") ||
        argo__cond_reason(x->st, "InvalidSpec"))
        goto complete;
    canary_steps(x, steps, idx, c, s);
complete:
    idx = jx_int(x->st, "currentStepIndex", n);
    /* Runs no longer current (aborted, promoted, moved on, completed) are terminated. */
    argo__terminate_runs(x,
                         !jx_bool(x->st, "abort") && idx < n &&
                                 json_object_get(json_array_get(steps, (size_t)idx), "analysis")
                             ? jx_str(jx_get(x->st, "canary.currentStepAnalysisRunStatus"), "name")
                             : NULL,
                         *bgrun && !jx_bool(x->st, "abort") ? bgrun : NULL);
    if (!done && !jx_bool(x->st, "abort") && !held && idx >= n && at_count(x->nrs, x->R)) {
        argo__event(x, "Normal", "RolloutCompleted",
                    "Rollout completed update to revision %lld (%s): %s", argo__revision(x->nrs),
                    x->hash,
                    jx_bool(x->st, "promoteFull") ? "Full promotion requested"
                    : x->window                   ? "Rollback within window"
                                                  : "Completed all canary steps");
        json_object_set_new(x->st, "stableRS", json_string(x->hash));
        json_object_del(x->st, "promoteFull");
        if (routed && x->srs) { /* the previous stable stays up scaleDownDelaySeconds */
            char ts[32];

            time_rfc3339(x->now + jx_int(cs, "scaleDownDelaySeconds", 30), ts);
            argo__rs_annotate(x, x->srs, ARGO_A_DEADLINE, ts);
        }
        x->srs = x->nrs;
        argo__requeue(x, 0);
    }
}

/* ---- blue-green ---- */

struct bgspec {
    const char *active, *preview;
    int auto_promote;
    long long auto_secs, preview_count, delay, abort_delay;
    const json_t *pre, *post; /* pre- and postPromotionAnalysis or NULL */
};

static void bg_spec(const struct rsync *x, struct bgspec *b)
{
    const json_t *bg = jx_get(x->ro, "spec.strategy.blueGreen");
    const json_t *ap = json_object_get(bg, "autoPromotionEnabled");

    b->active = jx_str(bg, "activeService");
    b->preview = jx_str(bg, "previewService");
    b->auto_promote = !json_is_false(ap);
    b->auto_secs = jx_int(bg, "autoPromotionSeconds", 0);
    b->preview_count = jx_int(bg, "previewReplicaCount", -1);
    b->delay = jx_int(bg, "scaleDownDelaySeconds", 30);
    b->abort_delay = jx_int(bg, "abortScaleDownDelaySeconds", 30);
    b->pre = json_object_get(bg, "prePromotionAnalysis");
    b->post = json_object_get(bg, "postPromotionAnalysis");
    if (json_is_null(b->pre))
        b->pre = NULL;
    if (json_is_null(b->post))
        b->post = NULL;
}

static void bg_selectors(struct rsync *x, const char *active, const char *preview)
{
    json_t *o = json_object_get(x->st, "blueGreen");

    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(x->st, "blueGreen", o);
    }
    if (active)
        json_object_set_new(o, "activeSelector", json_string(active));
    if (preview)
        json_object_set_new(o, "previewSelector", json_string(preview));
}

static void bg_points(struct rsync *x, const struct bgspec *b, const char *active,
                      const char *preview)
{
    argo__service_point(x, b->active, "spec.strategy.blueGreen.activeService", active);
    argo__service_point(x, b->preview, "spec.strategy.blueGreen.previewService", preview);
    bg_selectors(x, active, b->preview && *b->preview ? preview : NULL);
}

static void bg_abort(struct rsync *x, const struct bgspec *b, const char *stable)
{
    char ts[32];

    bg_points(x, b, stable, stable);
    argo__scale(x, x->srs, x->R);
    /* A post-promotion failure: the stable one serves again and loses its switch deadline. */
    argo__rs_annotate(x, x->srs, ARGO_A_DEADLINE, NULL);
    if (b->abort_delay <= 0 || argo__rs_spec(x->nrs) == 0)
        return;
    if (!jx_annotation(x->nrs, ARGO_A_DEADLINE)) {
        time_rfc3339(x->now + b->abort_delay, ts);
        argo__rs_annotate(x, x->nrs, ARGO_A_DEADLINE, ts);
        argo__requeue(x, b->abort_delay * 1000 + 200);
    } else if (time_parse(jx_annotation(x->nrs, ARGO_A_DEADLINE)) <= x->now) {
        argo__scale(x, x->nrs, 0);
    } else {
        argo__requeue(x,
                      (time_parse(jx_annotation(x->nrs, ARGO_A_DEADLINE)) - x->now) * 1000 + 200);
    }
}

/* The pause before the switch: 1 when promotion may go ahead. */
static int bg_may_promote(struct rsync *x, const struct bgspec *b)
{
    if (jx_bool(json_object_get(x->st, "blueGreen"), "scaleUpPreviewCheckPoint") || x->window)
        return 1;
    if (b->auto_promote && b->auto_secs == 0)
        return 1;
    return pause_done(x, "BlueGreenPause", b->auto_promote ? b->auto_secs * 1000 : -1);
}

/* The new ReplicaSet becomes stable: after the switch, or after post-promotion analysis. */
static void bg_promoted(struct rsync *x)
{
    json_object_set_new(x->st, "stableRS", json_string(x->hash));
    x->srs = x->nrs;
    argo__event(x, "Normal", "RolloutCompleted",
                "Rollout completed update to revision %lld (%s): %s", argo__revision(x->nrs),
                x->hash, x->window ? "Rollback within window" : "Completed blue-green update");
    argo__requeue(x, 0);
}

/* Active and preview to the new hash; the old active one is kept scaleDownDelaySeconds from
 * now (it stays up as the stable one while post-promotion analysis runs). */
static void bg_switch(struct rsync *x, const struct bgspec *b)
{
    char ts[32];
    json_t *old = x->srs;

    bg_points(x, b, x->hash, x->hash);
    if (old && old != x->nrs) {
        if (b->delay > 0) {
            time_rfc3339(x->now + b->delay, ts);
            argo__rs_annotate(x, old, ARGO_A_DEADLINE, ts);
        } else if (!b->post) {
            argo__scale(x, old, 0);
        }
    }
    argo__rs_annotate(x, x->nrs, ARGO_A_DEADLINE, NULL);
    pause_clear(x);
    json_object_del(json_object_get(x->st, "blueGreen"), "scaleUpPreviewCheckPoint");
    if (b->post && !x->window)
        argo__requeue(x, 0);
    else
        bg_promoted(x);
}

/* Analysis of kind k (pre or post): 1 Successful, 0 running; Inconclusive pauses. */
static int bg_analysis(struct rsync *x, const json_t *an, enum argo_run k, const char *field)
{
    int r = argo__analysis(x, an, k, 0, field);

    if (r == 2 && !pause_cond(x, "InconclusiveAnalysisRun"))
        pause_add(x, "InconclusiveAnalysisRun");
    argo__terminate_runs(
        x,
        jx_str(jx_get(x->st, k == ARGO_RUN_PRE ? "blueGreen.prePromotionAnalysisRunStatus"
                                               : "blueGreen.postPromotionAnalysisRunStatus"),
               "name"),
        NULL);
    return r == 1;
}

/* Switched, not yet stable: post-promotion analysis decides (failure aborts, which points
 * the active Service back at the stable ReplicaSet). */
static void bg_post(struct rsync *x, const struct bgspec *b, int paused)
{
    bg_points(x, b, x->hash, x->hash);
    if (!paused)
        argo__scale(x, x->nrs, x->R);
    if (!b->post || x->window) {
        bg_promoted(x);
        return;
    }
    if (paused || pause_cond(x, "InconclusiveAnalysisRun"))
        return;
    if (!json_array_size(json_object_get(x->st, "pauseConditions")))
        json_object_del(x->st, "controllerPause"); /* promoted past an Inconclusive run */
    if (bg_analysis(x, b->post, ARGO_RUN_POST, "spec.strategy.blueGreen.postPromotionAnalysis"))
        bg_promoted(x);
}

void argo__bluegreen(struct rsync *x)
{
    struct bgspec b;
    char stable_buf[16];
    const char *stable;
    int paused = jx_bool(x->ro, "spec.paused"), ready = 1;
    long long target;

    bg_spec(x, &b);
    /* Copied: scaling replaces the object the label lives in. */
    snprintf(stable_buf, sizeof stable_buf, "%s", argo__rs_hash(x->srs) ?: "");
    stable = *stable_buf ? stable_buf : NULL;
    json_object_del(x->st, "currentStepIndex");
    scale_down_old(x);
    if (x->srs == x->nrs) {
        if (!paused)
            argo__scale(x, x->nrs, x->R);
        bg_points(x, &b, x->hash, x->hash);
        argo__terminate_runs(x, NULL, NULL);
        return;
    }
    if (jx_bool(x->st, "abort")) {
        bg_abort(x, &b, stable);
        argo__terminate_runs(x, NULL, NULL);
        return;
    }
    if (!strcmp(jx_str(x->st, "blueGreen.activeSelector") ?: "", x->hash)) {
        bg_post(x, &b, paused);
        return;
    }
    target = b.preview_count >= 0 &&
                     !jx_bool(json_object_get(x->st, "blueGreen"), "scaleUpPreviewCheckPoint")
                 ? min_ll(b.preview_count, x->R)
                 : x->R;
    argo__rs_annotate(x, x->nrs, ARGO_A_DEADLINE, NULL);
    if (!paused) {
        argo__scale(x, x->srs, x->R);
        argo__scale(x, x->nrs, target);
    }
    bg_points(x, &b, stable, x->hash);
    if (paused || !at_count(x->nrs, target) || argo__cond_reason(x->st, "InvalidSpec"))
        return;
    /* Pre-promotion analysis runs against the preview alongside the pause; the switch (or the
     * previewReplicaCount scale-up) waits for both. */
    if (b.pre && !x->window &&
        !jx_bool(json_object_get(x->st, "blueGreen"), "scaleUpPreviewCheckPoint"))
        ready = !pause_cond(x, "InconclusiveAnalysisRun") &&
                bg_analysis(x, b.pre, ARGO_RUN_PRE, "spec.strategy.blueGreen.prePromotionAnalysis");
    if (jx_bool(x->st, "abort"))
        return;
    if (!ready) {
        /* The pause starts now; a promote given meanwhile is kept until the run succeeds. */
        if (!pause_cond(x, "BlueGreenPause") && !jx_bool(x->st, "controllerPause"))
            bg_may_promote(x, &b);
        return;
    }
    if (!bg_may_promote(x, &b))
        return;
    if (target < x->R) {
        pause_clear(x);
        json_object_set_new(json_object_get(x->st, "blueGreen"), "scaleUpPreviewCheckPoint",
                            json_true());
        argo__requeue(x, 0);
        return;
    }
    bg_switch(x, &b);
}
