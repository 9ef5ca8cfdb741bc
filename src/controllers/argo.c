/* Pure decisions of the Argo Rollouts controller (argo.h): no I/O, no state. The replica
 * arithmetic follows utils/replicaset/canary.go at argo-rollouts 9f8d111 and is checked
 * against its table in tests/unit/controllers/test_argo.c. */
#include "controllers/argo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"

/* |canary*M/total - W| compared without rounding: scaled by total. */
static long long off_by(long long c, long long total, long long w, long long M)
{
    long long d = c * M - w * total;

    return d < 0 ? -d : d;
}

static int is_tie(long long total, long long w, long long M)
{
    /* The fractional part of total*w/M is exactly one half. */
    return (2 * total * w) % (2 * M) == M;
}

void argo_canary_counts(long long R, long long w, long long M, long long s, long long *canary,
                        long long *stable)
{
    long long hi, lo, cand[4][2], best = -1;
    int zero_ok, n = 0;

    *canary = 0;
    *stable = R;
    if (R <= 0) {
        *stable = 0;
        return;
    }
    if (M <= 0)
        M = 100;
    hi = (R * w + M - 1) / M;
    lo = R * w / M;
    zero_ok = w == M || w == 0 || (R == 1 && s == 0);
    if (hi < R || zero_ok)
        cand[n][0] = hi, cand[n++][1] = R;
    if (!is_tie(R, w, M) && (lo != 0 || zero_ok))
        cand[n][0] = lo, cand[n++][1] = R;
    if (s > 0)
        cand[n][0] = hi, cand[n++][1] = R + 1;
    if (s > 0 && !is_tie(R + 1, w, M) && (lo != 0 || zero_ok))
        cand[n][0] = lo, cand[n++][1] = R + 1;
    for (int i = 0; i < n; i++) {
        /* Offsets of different totals compare as fractions: cross-multiply. */
        long long o = off_by(cand[i][0], cand[i][1], w, M);

        if (best < 0 || o * cand[best][1] < off_by(cand[best][0], cand[best][1], w, M) * cand[i][1])
            best = i;
    }
    if (best >= 0) {
        *canary = cand[best][0];
        *stable = cand[best][1] - cand[best][0];
    }
}

void argo_surge_unavailable(const json_t *canary, long long R, long long *surge,
                            long long *unavailable)
{
    json_t *def = json_string("25%");
    const json_t *ms = jx_get(canary, "maxSurge"), *mu = jx_get(canary, "maxUnavailable");

    if (!ms || json_is_null(ms) || intstr_scaled(ms, R, 1, surge) < 0)
        intstr_scaled(def, R, 1, surge);
    if (!mu || json_is_null(mu) || intstr_scaled(mu, R, 0, unavailable) < 0)
        intstr_scaled(def, R, 0, unavailable);
    json_decref(def);
    if (*surge == 0 && *unavailable == 0)
        *unavailable = 1;
    if (*unavailable > R)
        *unavailable = R;
}

struct budget {
    long long max_total, min_avail, sum, avail, *spec;
    const struct argo_rs_size *rs;
    struct argo_scale_op *ops;
    size_t nops;
};

static long long avail_of(const struct budget *b, size_t i)
{
    long long a = b->rs[i].avail;

    return a < b->spec[i] ? a : b->spec[i];
}

static void op(struct budget *b, size_t i, long long to)
{
    b->ops[b->nops++] = (struct argo_scale_op){i, to};
    b->spec[i] = to;
}

/* How far rs i may shrink toward to now without going below the availability floor. */
static void shrink(struct budget *b, size_t i, long long to)
{
    long long spec = b->spec[i], unav = spec - avail_of(b, i), room, n;

    if (unav < 0)
        unav = 0;
    room = unav + (b->avail > b->min_avail ? b->avail - b->min_avail : 0);
    if (spec <= to)
        return;
    n = spec - room > to ? spec - room : to;
    if (n < spec) {
        op(b, i, n);
        b->sum -= spec - n;
        b->avail -= spec - n - unav > 0 ? spec - n - unav : 0;
    }
}

static void grow(struct budget *b, size_t i, long long to)
{
    long long spec = b->spec[i], room = b->max_total > b->sum ? b->max_total - b->sum : 0, n;

    if (spec >= to)
        return;
    n = spec + room < to ? spec + room : to;
    if (n > spec) {
        op(b, i, n);
        b->sum += n - spec;
    }
}

size_t argo_canary_scale(const struct argo_rs_size *rs, size_t n, long long R, long long c,
                         long long s, long long S, long long U, int routed,
                         struct argo_scale_op *ops)
{
    struct budget b = {.rs = rs, .ops = ops};
    size_t st = n, nw = n;

    b.spec = xcalloc(n + 1, sizeof *b.spec);
    /* With traffic routing the canary is sized by weight beside a full stable: no surge cap. */
    b.max_total = routed ? R + c + S : R + S;
    b.min_avail = R - U;
    for (size_t i = 0; i < n; i++) {
        b.spec[i] = rs[i].spec;
        b.sum += rs[i].spec;
        b.avail += avail_of(&b, i);
        if (rs[i].role == ARGO_RS_STABLE)
            st = i;
        else if (rs[i].role == ARGO_RS_NEW)
            nw = i;
    }
    for (size_t i = 0; i < n; i++)
        if (rs[i].role == ARGO_RS_OLD && !rs[i].held)
            shrink(&b, i, 0);
    if (st < n)
        grow(&b, st, s);
    if (nw < n)
        grow(&b, nw, c);
    if (st < n)
        shrink(&b, st, s);
    if (nw < n)
        shrink(&b, nw, c);
    free(b.spec);
    return b.nops;
}

int argo_traffic_routed(const json_t *ro)
{
    return json_object_get(jx_get(ro, "spec.strategy.canary.trafficRouting.plugins"),
                           ARGO_GW_PLUGIN) != NULL;
}

void argo_traffic_counts(long long R, const json_t *steps, long long idx, long long w, long long *c,
                         long long *s)
{
    const json_t *scale = NULL;
    long long n = (long long)json_array_size(steps), pct = w;

    for (long long i = 0; i <= idx && i < n; i++) {
        const json_t *sc = jx_get(json_array_get(steps, (size_t)i), "setCanaryScale");

        if (sc)
            scale = jx_bool(sc, "matchTrafficWeight") ? NULL : sc;
    }
    *s = R;
    if (scale && json_is_integer(json_object_get(scale, "replicas"))) {
        *c = jx_int(scale, "replicas", 0);
        return;
    }
    if (scale && json_is_integer(json_object_get(scale, "weight")))
        pct = jx_int(scale, "weight", 0);
    *c = (pct * R + 99) / 100;
}

long long argo_current_weight(const json_t *steps, long long idx, int aborted)
{
    long long w = 0;

    if (aborted)
        return 0;
    if (idx >= (long long)json_array_size(steps))
        return 100;
    for (long long i = 0; i <= idx; i++) {
        const json_t *sw = jx_get(json_array_get(steps, i), "setWeight");

        if (json_is_integer(sw))
            w = json_integer_value(sw);
    }
    return w;
}

void argo_step_text(const json_t *step, char *out, size_t n)
{
    const json_t *p = json_object_get(step, "pause");

    if (json_is_integer(json_object_get(step, "setWeight")))
        snprintf(out, n, "setWeight: %lld",
                 (long long)json_integer_value(json_object_get(step, "setWeight")));
    else if (p && json_is_integer(json_object_get(p, "duration")))
        snprintf(out, n, "pause: {duration: %llds}",
                 (long long)json_integer_value(json_object_get(p, "duration")));
    else if (p && json_is_string(json_object_get(p, "duration")))
        snprintf(out, n, "pause: {duration: %s}",
                 json_string_value(json_object_get(p, "duration")));
    else if (p)
        snprintf(out, n, "pause: {}");
    else if (json_object_size(step) > 0)
        snprintf(out, n, "%s", json_object_iter_key(json_object_iter((json_t *)step)));
    else
        snprintf(out, n, "unknown");
}

static const json_t *cond_with_reason(const json_t *st, const char *reason)
{
    const json_t *cs = json_object_get(st, "conditions"), *c;
    size_t i;

    json_array_foreach(cs, i, c) if (!strcmp(jx_str(c, "reason") ?: "", reason)) return c;
    return NULL;
}

static const json_t *cond_of_type(const json_t *st, const char *type)
{
    const json_t *cs = json_object_get(st, "conditions"), *c;
    size_t i;

    json_array_foreach(cs, i, c) if (!strcmp(jx_str(c, "type") ?: "", type)) return c;
    return NULL;
}

/* AnalysisPhase.Completed(): Successful, Failed, Error, Inconclusive. */
static int post_completed(const char *p)
{
    return p && (!strcmp(p, "Successful") || !strcmp(p, "Failed") || !strcmp(p, "Error") ||
                 !strcmp(p, "Inconclusive"));
}

void argo_phase(const json_t *ro, const json_t *st, int bluegreen, const char **phase, char *msg,
                size_t n)
{
    const json_t *c, *pcs = json_object_get(st, "pauseConditions");
    const char *restart = jx_str(ro, "spec.restartAt");
    long long R = jx_int(ro, "spec.replicas", 1), upd = jx_int(st, "updatedReplicas", 0);
    const char *cur = jx_str(st, "currentPodHash") ?: "", *stable = jx_str(st, "stableRS") ?: "";

    *msg = 0;
    *phase = "Degraded";
    if ((c = cond_of_type(st, "InvalidSpec")) && !strcmp(jx_str(c, "status") ?: "", "True")) {
        snprintf(msg, n, "InvalidSpec: %s", jx_str(c, "message") ?: "");
        return;
    }
    if ((c = cond_with_reason(st, "RolloutAborted")) ||
        (c = cond_with_reason(st, "ProgressDeadlineExceeded"))) {
        snprintf(msg, n, "%s: %s", jx_str(c, "reason"), jx_str(c, "message") ?: "");
        return;
    }
    *phase = "Paused";
    if (jx_bool(ro, "spec.paused")) {
        snprintf(msg, n, "manually paused");
        return;
    }
    if (json_array_size(pcs) > 0) {
        snprintf(msg, n, "%s", jx_str(json_array_get(pcs, 0), "reason") ?: "");
        return;
    }
    *phase = "Progressing";
    if (restart && strcmp(restart, jx_str(st, "restartedAt") ?: "") != 0)
        snprintf(msg, n, "rollout is restarting");
    else if (upd < R)
        snprintf(msg, n, "more replicas need to be updated");
    else if (jx_int(st, "availableReplicas", 0) < upd)
        snprintf(msg, n, "updated replicas are still becoming available");
    else if (bluegreen && strcmp(jx_str(st, "blueGreen.activeSelector") ?: "", cur) != 0)
        snprintf(msg, n, "active service cutover pending");
    else if (bluegreen && strcmp(stable, cur) != 0 &&
             jx_get(ro, "spec.strategy.blueGreen.postPromotionAnalysis") &&
             !json_is_null(jx_get(ro, "spec.strategy.blueGreen.postPromotionAnalysis")) &&
             !post_completed(jx_str(st, "blueGreen.postPromotionAnalysisRunStatus.status")))
        snprintf(msg, n, "waiting for analysis to complete");
    else if (bluegreen && strcmp(stable, cur) != 0)
        snprintf(msg, n, "waiting for post-promotion verification to complete");
    else if (!bluegreen && !jx_get(ro, "spec.strategy.canary.trafficRouting") &&
             jx_int(st, "replicas", 0) > upd) /* routed: the old stable waits its delay */
        snprintf(msg, n, "old replicas are pending termination");
    else if (!bluegreen && strcmp(stable, cur) != 0)
        snprintf(msg, n, "waiting for all steps to complete");
    else
        *phase = "Healthy";
}
