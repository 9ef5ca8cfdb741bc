/* The demo's own reads of cluster state: single objects over the CLI's API client
 * (cli/apiclient.c); the sampler reads the client's informers (client/kc.h over HTTPS: a list,
 * then a watch, instead of four LISTs every sample) and turns ReplicaSets, Pods, Rollouts and
 * AnalysisRuns into the live view's and the timeline's figures. kubectl does every change; this
 * only watches, so the user's commands stay the real workflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/demo-int.h"
#include "client/kc.h"
#include "core/err.h"
#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"

int demo_api_open(struct demo_api *a, const char *data_dir)
{
    struct kc_https_opts o = {.timeout_ms = 3000};
    struct err err;
    int rc;

    err_init(&err);
    rc = cli_api_load(&a->c, data_dir, &err);
    a->c.timeout_s = 3; /* the live view must not stall on a slow answer */
    if (rc == 0) {
        o.server = a->c.cfg.server, o.token = a->c.cfg.token, o.ca_pem = a->c.cfg.ca_pem;
        a->loop = loop_new();
        if (!(a->kc = kc_https_new(a->loop, &o, &err)))
            rc = -1;
    }
    err_release(&err);
    return rc;
}

void demo_api_close(struct demo_api *a)
{
    kc_free(a->kc);
    if (a->loop)
        loop_free(a->loop);
    a->kc = NULL, a->loop = NULL;
    cli_api_close(&a->c);
}

static void pump_done(struct loop_timer *t, void *ctx)
{
    (void)t;
    loop_stop(ctx);
}

/* The default namespace's objects of id from the informers (borrowed; NULL when none), after
 * handing them the events that came meanwhile. 0, or -1 while they have not listed or have
 * lost the server. */
static int informer(struct demo_api *a, enum res_id id, json_t **map)
{
    struct loop_timer t;
    struct kc_sync s;

    if (!a->kc)
        return -1;
    kc_map_ns(a->kc, kc_resource(id), "default"); /* the first read lists */
    loop_timer_init(&t, pump_done, a->loop);
    loop_timer_start(a->loop, &t, 0); /* one turn: the queued events, then stop */
    loop_run(a->loop);
    kc_sync(a->kc, &s);
    *map = kc_map_ns(a->kc, kc_resource(id), "default");
    return s.listed && s.live ? 0 : -1;
}

json_t *demo_api_get(struct demo_api *a, const char *path)
{
    json_t *out = NULL;
    int code = cli_api_do(&a->c, "GET", path, NULL, NULL, &out);

    if (code != 200) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* "myrepo/tf-serving:1.0.4" -> "1.0.4"; other images as they are. */
static void image_short(const char *image, char *out, size_t n)
{
    const char *c = strrchr(image, ':'), *slash = strrchr(image, '/');

    snprintf(out, n, "%s", c && (!slash || c > slash) ? c + 1 : image);
}

static void sample_rs(json_t *map, struct cluster_state *st)
{
    const char *k;
    json_t *item;

    json_object_foreach(map, k, item)
    {
        struct rs_state *r;
        json_t *ctr = json_array_get(jx_get(item, "spec.template.spec.containers"), 0);
        const char *img = jx_str(ctr, "image");
        json_t *owner = json_array_get(jx_get(item, "metadata.ownerReferences"), 0);
        const char *rev = jx_annotation(item, "deployment.kubernetes.io/revision");

        if (st->nrs == DEMO_MAX_SERIES)
            break;
        r = &st->rs[st->nrs++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", jx_str(item, "metadata.name"));
        snprintf(r->deploy, sizeof r->deploy, "%s", owner ? jx_str(owner, "name") : "");
        image_short(img ? img : "", r->image, sizeof r->image);
        r->revision = rev ? atoi(rev) : 0;
        r->desired = (int)jx_int(item, "spec.replicas", 0);
        r->ready = (int)jx_int(item, "status.readyReplicas", 0);
        r->available = (int)jx_int(item, "status.availableReplicas", 0);
    }
}

static void sample_pods(json_t *map, struct cluster_state *st)
{
    json_t *item, *cond;
    const char *k;
    size_t j;

    json_object_foreach(map, k, item)
    {
        const char *phase = jx_str(item, "status.phase");

        if (jx_get(item, "metadata.deletionTimestamp")) {
            st->pods_terminating++;
            continue;
        }
        if (phase && !strcmp(phase, "Running"))
            st->pods_running++;
        else if (phase && !strcmp(phase, "Pending"))
            st->pods_pending++;
        json_array_foreach(jx_get(item, "status.conditions"), j, cond)
        {
            const char *type = jx_str(cond, "type"), *status = jx_str(cond, "status");
            const char *msg = jx_str(cond, "message");

            if (type && status && !strcmp(type, "Ready") && !strcmp(status, "True"))
                st->pods_ready++;
            if (type && status && msg && !strcmp(type, "PodScheduled") && !strcmp(status, "False"))
                snprintf(st->pending_reason, sizeof st->pending_reason, "%s", msg);
        }
    }
}

int demo_api_sample(struct demo_api *a, struct cluster_state *st)
{
    json_t *rs, *pods;

    memset(st, 0, sizeof *st);
    if (informer(a, RES_REPLICASET, &rs) < 0 || informer(a, RES_POD, &pods) < 0)
        return -1;
    sample_rs(rs, st);
    sample_pods(pods, st);
    return 0;
}

/* Argo's GetCurrentSetWeight: 0 once aborted, 100 past the last step, else the last setWeight
 * at or before the current step; status.canary.weights (traffic routing) wins when present. */
static int canary_weight(json_t *ro)
{
    json_t *steps = jx_get(ro, "spec.strategy.canary.steps");
    long long idx = jx_int(ro, "status.currentStepIndex", -1);

    if (jx_bool(ro, "status.abort"))
        return 0;
    if (jx_get(ro, "status.canary.weights.canary.weight"))
        return (int)jx_int(ro, "status.canary.weights.canary.weight", 0);
    if (idx < 0 || (size_t)idx >= json_array_size(steps))
        return 100;
    for (long long i = idx; i >= 0; i--) {
        json_t *w = jx_get(json_array_get(steps, (size_t)i), "setWeight");

        if (json_is_integer(w))
            return (int)json_integer_value(w);
    }
    return 0;
}

int demo_api_sample_rollouts(struct demo_api *a, struct cluster_state *st)
{
    json_t *map, *item;
    const char *k;

    st->nro = 0;
    if (informer(a, RES_ROLLOUT, &map) < 0)
        return -1;
    json_object_foreach(map, k, item)
    {
        struct ro_state *r;
        const char *stable = jx_str(item, "status.stableRS");
        const char *cur = jx_str(item, "status.currentPodHash");
        const char *active = jx_str(item, "status.blueGreen.activeSelector");

        if (st->nro == DEMO_MAX_ROLLOUTS)
            break;
        r = &st->ro[st->nro++];
        snprintf(r->name, sizeof r->name, "%s", jx_str(item, "metadata.name"));
        r->idle = stable && cur && !strcmp(stable, cur);
        if (jx_get(item, "spec.strategy.blueGreen"))
            r->weight =
                jx_bool(item, "status.abort") || !cur || !active || strcmp(cur, active) ? 0 : 100;
        else
            r->weight = canary_weight(item);
        if (r->idle)
            r->weight = 100;
    }
    return 0;
}

static int mark_known(const struct demo_mark *m, int n, const char *run, const char *metric,
                      const char *started)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].run, run) && !strcmp(m[i].metric, metric) &&
            !strcmp(m[i].started, started))
            return 1;
    return 0;
}

static void mark_add(struct demo_mark *m, int *n, int max, const char *run, const char *metric,
                     const char *phase, const char *value, const char *started, double t)
{
    struct demo_mark *k;

    if (*n >= max || mark_known(m, *n, run, metric, started))
        return;
    k = &m[(*n)++];
    snprintf(k->run, sizeof k->run, "%s", run);
    snprintf(k->metric, sizeof k->metric, "%s", metric);
    snprintf(k->phase, sizeof k->phase, "%s", phase);
    snprintf(k->value, sizeof k->value, "%s", value);
    snprintf(k->started, sizeof k->started, "%s", started);
    k->t = t;
}

static int phase_final(const char *p)
{
    return p && (!strcmp(p, "Successful") || !strcmp(p, "Failed") || !strcmp(p, "Error") ||
                 !strcmp(p, "Inconclusive"));
}

/* The run's finished measurements, each once (keyed by startedAt: the controller keeps only
 * the latest ones), then its outcome once it has one. */
static void sample_run(json_t *ar, struct demo_mark *m, int *n, int max, double off)
{
    const char *run = jx_str(ar, "metadata.name"), *phase = jx_str(ar, "status.phase");
    json_t *mr, *ms;
    size_t i, j;

    if (!run)
        return;
    json_array_foreach(jx_get(ar, "status.metricResults"), i, mr)
    {
        const char *metric = jx_str(mr, "name");

        json_array_foreach(json_object_get(mr, "measurements"), j, ms)
        {
            const char *p = jx_str(ms, "phase"), *fin = jx_str(ms, "finishedAt");
            const char *st = jx_str(ms, "startedAt"), *v = jx_str(ms, "value");

            if (metric && phase_final(p) && fin && st)
                mark_add(m, n, max, run, metric, p, v ? v : "", st, (double)time_parse(fin) - off);
        }
    }
    if (phase_final(phase)) {
        const char *fin = jx_str(ar, "status.completedAt");
        const char *msg = jx_str(ar, "status.message");

        mark_add(m, n, max, run, "", phase, msg ? msg : "", "run",
                 fin ? (double)time_parse(fin) - off : (double)time(NULL) - off);
    }
}

void demo_api_sample_analysis(struct demo_api *a, struct demo_mark *marks, int *n, int max,
                              double wall_offset)
{
    json_t *map, *item;
    const char *k;

    if (informer(a, RES_ANALYSISRUN, &map) == 0)
        json_object_foreach(map, k, item) sample_run(item, marks, n, max, wall_offset);
}
