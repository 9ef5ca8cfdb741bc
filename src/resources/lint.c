/* The tutorial's common mistakes in a Deployment or an Argo Rollout (lint.h). The thresholds are
 * the tutorial's own words made exact: "few replicas" is at most LINT_FEW_REPLICAS, "low history"
 * below 2. */
#include "resources/lint.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "resources/res-int.h"

#define LINT_FEW_REPLICAS 5 /* a rollout that may drop a pod of 5 or fewer loses >= 20% */
#define LINT_MIN_HISTORY 2  /* revisions kept for `kubectl rollout undo` */

static void add(json_t *out, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(json_t *out, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(out, json_pack("{s:s,s:s}", "field", field, "message", msg));
}

/* "repo/name:tag" -> the tag, "" when none; a digest (@sha256:...) pins whatever the tag. */
static int image_pinned(const char *img, const char **tag)
{
    const char *slash = strrchr(img, '/'), *colon;

    if (strchr(img, '@'))
        return 1;
    colon = strrchr(slash ? slash : img, ':');
    *tag = colon ? colon + 1 : "";
    return colon && strcmp(colon + 1, "latest") != 0;
}

/* The seconds a preStop hook sleeps: the sleep action, or an exec of `sleep N` (directly or
 * through `sh -c "sleep N"`); -1 when it does not just sleep. */
static long long prestop_sleep(const json_t *pre)
{
    const json_t *cmd = jx_get(pre, "exec.command");
    const char *a0 = json_string_value(json_array_get(cmd, 0)), *s = NULL;

    if (jx_get(pre, "sleep.seconds"))
        return jx_int(pre, "sleep.seconds", -1);
    if (!a0)
        return -1;
    if (strcmp(a0, "sleep") == 0 || strcmp(a0, "/bin/sleep") == 0)
        s = json_string_value(json_array_get(cmd, 1));
    else if (json_array_size(cmd) == 3 && strstr(a0, "sh") &&
             strncmp(json_string_value(json_array_get(cmd, 2)) ?: "", "sleep ", 6) == 0)
        s = json_string_value(json_array_get(cmd, 2)) + 6;
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return -1;
    return atoll(s);
}

static void lint_containers(const json_t *spec, json_t *out)
{
    const json_t *cs = json_object_get(spec, "containers"), *c;
    long long grace = jx_int(spec, "terminationGracePeriodSeconds", 30);
    size_t i;
    char f[160];

    json_array_foreach(cs, i, c)
    {
        const char *img = jx_str(c, "image"), *tag = "";
        const json_t *pre = jx_get(c, "lifecycle.preStop");
        long long sleep_s;

        if (img && !image_pinned(img, &tag)) {
            snprintf(f, sizeof f, "spec.template.spec.containers[%zu].image", i);
            add(out, f,
                "\"%.100s\" %s, which moves; pin a version tag or a digest so a rollout "
                "and an undo run the image you mean",
                img, *tag ? "uses the latest tag" : "has no tag, so it means :latest");
        }
        if (!jx_get(c, "readinessProbe")) {
            snprintf(f, sizeof f, "spec.template.spec.containers[%zu].readinessProbe", i);
            add(out, f,
                "not set, so a new pod gets traffic as soon as it starts, before its "
                "model is loaded; add a readinessProbe on a health endpoint");
        }
        if (!json_array_size(json_object_get(c, "ports")))
            continue; /* serves nothing: nothing to drain */
        snprintf(f, sizeof f, "spec.template.spec.containers[%zu].lifecycle.preStop", i);
        if (!pre) {
            add(out, f,
                "not set; on a cluster a pod can stop before the endpoints stop "
                "sending it requests, cutting them; add a preStop sleep of a few seconds "
                "(kroll's proxy drains without it)");
        } else if ((sleep_s = prestop_sleep(pre)) >= 0 && sleep_s >= grace) {
            add(out, "spec.template.spec.terminationGracePeriodSeconds",
                "%lld is not longer than the preStop sleep of %llds of containers[%zu], so the "
                "container is killed before it finishes its requests; make it at least %lld",
                grace, sleep_s, i, sleep_s + 10);
        }
    }
}

/* Where a workload's rolling parameters live: a Deployment's rollingUpdate, a Rollout's canary
 * or blueGreen strategy (Argo). recreate: nothing rolls; bluegreen: a full preview set. */
struct strat {
    const char *path;
    int recreate, bluegreen;
};

static struct strat strat_of(const json_t *obj)
{
    struct strat st = {"spec.strategy.rollingUpdate", 0, 0};

    if (strcmp(jx_str(obj, "kind") ?: "", "Rollout") == 0) {
        if (jx_get(obj, "spec.strategy.blueGreen"))
            st.path = "spec.strategy.blueGreen", st.bluegreen = 1;
        else
            st.path = "spec.strategy.canary";
    } else if (strcmp(jx_str(obj, "spec.strategy.type") ?: "", "Recreate") == 0) {
        st.recreate = 1;
    }
    return st;
}

/* One intstr of the strategy resolved against replicas (percentages up for maxSurge, down for
 * maxUnavailable); absent is 25%, the default of both a Deployment and an Argo canary. */
static long long resolve(const json_t *v, long long replicas, int up)
{
    long long n = 25;
    int pct = 1;

    if (v && res__intstr_parse(v, &n, &pct) < 0)
        return 0;
    if (!pct)
        return n;
    return up ? (n * replicas + 99) / 100 : n * replicas / 100;
}

/* maxSurge and maxUnavailable as the controllers resolve them; both 0 means maxUnavailable 1.
 * Blue/green keeps the active set whole and surges by the preview (previewReplicaCount, or all
 * replicas). */
static void rolling_params(const json_t *obj, const struct strat *st, long long replicas,
                           long long *surge, long long *unavail)
{
    const json_t *ru = jx_get(obj, st->path);

    if (st->bluegreen) {
        *surge = jx_int(ru, "previewReplicaCount", replicas);
        *unavail = 0;
        return;
    }
    *surge = resolve(json_object_get(ru, "maxSurge"), replicas, 1);
    *unavail = resolve(json_object_get(ru, "maxUnavailable"), replicas, 0);
    if (*surge == 0 && *unavail == 0)
        *unavail = 1;
    if (*unavail > replicas)
        *unavail = replicas;
}

static const char *short_of(const json_t *obj, const struct lint_ctx *ctx, long long replicas,
                            long long pods, long long *need, long long *have);

static void lint_strategy(const json_t *obj, const struct lint_ctx *ctx, long long replicas,
                          json_t *out)
{
    struct strat st = strat_of(obj);
    long long need, have, surge, unavail;
    char field[80];

    if (st.recreate) {
        if (replicas > 0)
            add(out, "spec.strategy.type",
                "Recreate stops all %lld pods before new ones start, "
                "so nothing serves during a rollout; use RollingUpdate with maxUnavailable: 0",
                replicas);
        return;
    }
    rolling_params(obj, &st, replicas, &surge, &unavail);
    /* No room for a surge pod (the tutorial's GPU case): taking one down first is the fix. */
    if (surge == 0 && ctx->free && short_of(obj, ctx, replicas, 1, &need, &have))
        return;
    snprintf(field, sizeof field, "%s.maxUnavailable", st.path);
    if (unavail > 0 && replicas > 0 && replicas <= LINT_FEW_REPLICAS)
        add(out, field,
            "%lld of %lld replicas lets a rollout go down to %lld available pod%s; set "
            "maxUnavailable: 0 with maxSurge: 1 to keep all %lld serving",
            unavail, replicas, replicas - unavail, replicas - unavail == 1 ? "" : "s", replicas);
}

/* What one pod of the template requests of an extended resource (requests, else limits, as
 * the API server defaults a pod's requests from its limits). */
static long long per_pod(const json_t *obj, const char *name)
{
    const json_t *cs = jx_get(obj, "spec.template.spec.containers"), *c;
    long long sum = 0;
    size_t i;

    json_array_foreach(cs, i, c)
    {
        const json_t *v = json_object_get(jx_get(c, "resources.requests"), name);
        int64_t milli;

        if (!v)
            v = json_object_get(jx_get(c, "resources.limits"), name);
        if (v && json_is_string(v) && quantity_parse_milli(json_string_value(v), &milli) == 0)
            milli /= 1000;
        else
            milli = json_is_integer(v) ? json_integer_value(v) : 0;
        /* Requests are valid up to the int64 bounds: the sum saturates instead of wrapping. */
        if (__builtin_add_overflow(sum, milli, &sum))
            sum = milli > 0 ? LLONG_MAX : LLONG_MIN;
    }
    return sum;
}

/* The first extended resource the node lacks for the replicas plus `pods` more (ctx->free
 * leaves out what the Deployment's own pods hold); NULL when there is room. */
static const char *short_of(const json_t *obj, const struct lint_ctx *ctx, long long replicas,
                            long long pods, long long *need, long long *have)
{
    const char *name;
    const json_t *q;

    json_object_foreach((json_t *)ctx->free, name, q)
    {
        long long p = per_pod(obj, name), n;

        *have = json_integer_value(q);
        if (__builtin_add_overflow(replicas, pods, &n) || __builtin_mul_overflow(p, n, need))
            *need = LLONG_MAX;
        if (p > 0 && *need > *have)
            return name;
    }
    return NULL;
}

static void lint_capacity(const json_t *obj, const struct lint_ctx *ctx, long long replicas,
                          json_t *out)
{
    struct strat st = strat_of(obj);
    long long surge, unavail, need, have;
    const char *name;
    char field[80];

    if (!ctx->free || st.recreate)
        return;
    rolling_params(obj, &st, replicas, &surge, &unavail);
    if (surge <= 0 || !(name = short_of(obj, ctx, replicas, surge, &need, &have)))
        return;
    if (st.bluegreen) {
        add(out, "spec.strategy.blueGreen.previewReplicaCount",
            "the preview's %lld pod%s need%s %lld %s with the active ones but the node has %lld "
            "free, so the preview will stay Pending; set previewReplicaCount lower, or free the "
            "devices first",
            surge, surge == 1 ? "" : "s", surge == 1 ? "s" : "", need, name, have);
        return;
    }
    snprintf(field, sizeof field, "%s.maxSurge", st.path);
    add(out, field,
        "%lld surge pod%s need%s %lld %s with the replicas but the node has %lld free, so a "
        "rollout will stall with a Pending pod; set maxSurge: 0 and maxUnavailable: 1, or "
        "free the devices first",
        surge, surge == 1 ? "" : "s", surge == 1 ? "s" : "", need, name, have);
}

int lint_workload(const struct res_kind *k, const json_t *obj, const struct lint_ctx *ctx,
                  json_t *out)
{
    size_t before = json_array_size(out);
    long long replicas = jx_int(obj, "spec.replicas", 1), hist;

    if ((k != &res_kind_deployment && k != &res_kind_rollout) || !json_is_object(obj))
        return 0;
    lint_containers(jx_get(obj, "spec.template.spec"), out);
    lint_strategy(obj, ctx, replicas, out);
    hist = jx_int(obj, "spec.revisionHistoryLimit", 10);
    if (hist < LINT_MIN_HISTORY)
        add(out, "spec.revisionHistoryLimit",
            "%lld keeps too few old ReplicaSets for "
            "`kubectl rollout undo` to have a safe restore point; keep at least %d (the default "
            "is 10)",
            hist, LINT_MIN_HISTORY);
    lint_capacity(obj, ctx, replicas, out);
    if (ctx->pdb_covers == 0 && replicas > 0)
        add(out, "spec.template.metadata.labels",
            "no PodDisruptionBudget selects these pods, "
            "so a node drain can evict them all at once; add one with minAvailable or "
            "maxUnavailable");
    return (int)(json_array_size(out) - before);
}

char *lint_text(const json_t *finding)
{
    return xasprintf("%s: %s", jx_str(finding, "field") ?: "", jx_str(finding, "message") ?: "");
}
