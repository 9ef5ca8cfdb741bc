/* The server's /metrics in Prometheus text format (0.0.4), behind the same bearer token as
 * the API: the kube-state-metrics series of Deployments, ReplicaSets and Pods (same names and
 * labels, computed from the store at scrape time), kube-apiserver's request counters and
 * latency histogram by verb and resource, registered watchers and stored objects, and kroll's
 * own rollout series: each Deployment's rollouts by outcome and the duration of those that
 * completed. A rollout starts when a Deployment is created or its pod template changes, and
 * ends completed (every replica updated and available at the observed generation), at its
 * progress deadline, superseded by another template, or undone (the template went back to
 * the one before it). Counters live in memory: they start at zero with the server. */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"

static const double req_bounds[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 5, 10, 30, 60};
static const double rollout_bounds[] = {1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600};
#define NREQ (sizeof req_bounds / sizeof req_bounds[0])
#define NROLL (sizeof rollout_bounds / sizeof rollout_bounds[0])
#define METRICS_MAX_SERIES 20000 /* request label sets kept; more are counted as "other" */

struct api_metrics {
    json_t *requests;  /* "verb\tgroup\tresource\tsub\tcode" -> count */
    json_t *durations; /* "verb\tgroup\tresource\tsub" -> [buckets..., count, sum_us] */
    json_t *rollouts;  /* uid -> {ns, name, start, template, prev} of the rollout under way */
    json_t *outcomes;  /* "ns\tname\toutcome" -> count */
    json_t *rollout_h; /* "ns\tname" -> [buckets..., count, sum_ms] */
    json_t *analysis;  /* "ns\toutcome" -> AnalysisRuns ended so (metrics_analysis.c) */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count(json_t *m, const char *key, long long by)
{
    json_t *v = json_object_get(m, key);

    if (v)
        json_integer_set(v, json_integer_value(v) + by);
    else if (json_object_size(m) < METRICS_MAX_SERIES)
        json_object_set_new(m, key, json_integer(by));
}

/* A histogram as a JSON array: n cumulative-ready bucket counts, then count, then sum. */
static void observe(json_t *m, const char *key, const double *bounds, size_t n, double v,
                    double unit)
{
    json_t *h = json_object_get(m, key);

    if (!h) {
        if (json_object_size(m) >= METRICS_MAX_SERIES)
            return;
        h = json_array();
        for (size_t i = 0; i < n + 2; i++)
            json_array_append_new(h, json_integer(0));
        json_object_set_new(m, key, h);
    }
    for (size_t i = 0; i < n; i++)
        if (v <= bounds[i]) {
            json_integer_set(json_array_get(h, i), json_integer_value(json_array_get(h, i)) + 1);
            break;
        }
    json_integer_set(json_array_get(h, n), json_integer_value(json_array_get(h, n)) + 1);
    json_integer_set(json_array_get(h, n + 1),
                     json_integer_value(json_array_get(h, n + 1)) + (json_int_t)(v * unit));
}

/* ---- requests ---- */

/* kube-apiserver's verb label: LIST and WATCH for collections, APPLY for server-side apply. */
static const char *verb_of(struct http_req *req, const struct api_target *t)
{
    const char *m = req->method, *ct;

    if (!t)
        return m;
    if (!strcmp(m, "GET")) /* a collection answered as a stream is a watch */
        return t->name ? "GET" : req->streaming ? "WATCH" : "LIST";
    if (!strcmp(m, "DELETE"))
        return t->name ? "DELETE" : "DELETECOLLECTION";
    if (!strcmp(m, "PATCH") && (ct = http_req_header(req, "Content-Type")) &&
        strstr(ct, "apply-patch"))
        return "APPLY";
    return m;
}

void api__metrics_request(struct api *api, struct http_req *req,
                          const struct api_target *t, double started)
{
    char key[400];
    const char *group = t ? t->r->group : "", *res = t ? t->r->plural : "";
    const char *sub = t && t->sub ? t->sub : "", *verb;

    if (!api->metrics || !req->status)
        return;
    verb = verb_of(req, t);
    snprintf(key, sizeof key, "%s\t%s\t%s\t%s\t%d", verb, group, res, sub, req->status);
    count(api->metrics->requests, key, 1);
    if (!req->streaming) { /* a watch's time is its lifetime, not a latency */
        snprintf(key, sizeof key, "%s\t%s\t%s\t%s", verb, group, res, sub);
        observe(api->metrics->durations, key, req_bounds, NREQ, now_s() - started, 1e6);
    }
}

/* ---- rollouts ---- */

static void outcome(struct api_metrics *m, const json_t *r, const char *what)
{
    char key[600];

    snprintf(key, sizeof key, "%s\t%s\t%s", jx_str(r, "ns") ?: "", jx_str(r, "name") ?: "", what);
    count(m->outcomes, key, 1);
}

static int rollout_done(const json_t *d)
{
    long long want = jx_int(d, "spec.replicas", 1);

    return jx_int(d, "status.observedGeneration", 0) >= jx_int(d, "metadata.generation", 1) &&
           jx_int(d, "status.updatedReplicas", 0) == want &&
           jx_int(d, "status.replicas", 0) == want &&
           jx_int(d, "status.availableReplicas", 0) >= want;
}

static int deadline_exceeded(const json_t *d)
{
    const json_t *c;
    size_t i;

    json_array_foreach(jx_get(d, "status.conditions"), i, c)
    {
        if (!strcmp(jx_str(c, "type") ?: "", "Progressing") &&
            !strcmp(jx_str(c, "reason") ?: "", "ProgressDeadlineExceeded"))
            return 1;
    }
    return 0;
}

static void on_deployment(struct api_metrics *m, enum store_ev type, json_t *d, json_t *old)
{
    const char *uid = jx_str(d, "metadata.uid");
    json_t *r = uid ? json_object_get(m->rollouts, uid) : NULL;
    const json_t *tmpl = jx_get(d, "spec.template");

    if (!uid)
        return;
    if (type == STORE_DELETED) {
        json_object_del(m->rollouts, uid);
        return;
    }
    if (type == STORE_ADDED || !jx_equal_semantic(tmpl, jx_get(old, "spec.template"))) {
        if (r)
            outcome(m, r, jx_equal_semantic(tmpl, json_object_get(r, "prev")) ? "undone"
                                                                               : "superseded");
        r = json_pack("{s:s,s:s,s:f,s:O?,s:O?}", "ns", jx_str(d, "metadata.namespace") ?: "",
                      "name", jx_str(d, "metadata.name") ?: "", "start", now_s(), "template",
                      tmpl, "prev", type == STORE_ADDED ? NULL : jx_get(old, "spec.template"));
        if (r)
            json_object_set_new(m->rollouts, uid, r);
    }
    if (!r)
        return;
    if (rollout_done(d)) {
        char key[600];

        snprintf(key, sizeof key, "%s\t%s", jx_str(r, "ns"), jx_str(r, "name"));
        observe(m->rollout_h, key, rollout_bounds, NROLL,
                now_s() - json_real_value(json_object_get(r, "start")), 1e3);
        outcome(m, r, "completed");
        json_object_del(m->rollouts, uid);
    } else if (deadline_exceeded(d)) {
        outcome(m, r, "progress_deadline_exceeded");
        json_object_del(m->rollouts, uid);
    }
}

static void on_store(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                     void *ctx)
{
    struct api *api = ctx;

    (void)rv;
    if (api->metrics && !strcmp(res, scheme_resources[RES_DEPLOYMENT].key))
        on_deployment(api->metrics, type, obj, old);
    if (api->metrics && type != STORE_DELETED && !strcmp(res, scheme_resources[RES_ANALYSISRUN].key))
        api__metrics_analysis_event(api->metrics->analysis, obj, old);
}

void api__metrics_init(struct api *api)
{
    struct api_metrics *m = xcalloc(1, sizeof *m);

    m->requests = json_object();
    m->durations = json_object();
    m->rollouts = json_object();
    m->outcomes = json_object();
    m->rollout_h = json_object();
    m->analysis = json_object();
    api->metrics = m;
    store_subscribe(api->store, on_store, api);
}

void api__metrics_free(struct api *api)
{
    struct api_metrics *m = api->metrics;

    if (!m)
        return;
    store_unsubscribe(api->store, on_store, api);
    json_decref(m->requests);
    json_decref(m->durations);
    json_decref(m->rollouts);
    json_decref(m->outcomes);
    json_decref(m->rollout_h);
    json_decref(m->analysis);
    free(m);
    api->metrics = NULL;
}

/* ---- rendering ---- */

#define METRICS_MAX_BYTES (64u << 20) /* one scrape's text */

/* A label value with Prometheus' escapes (backslash, quote, newline), truncated at 253. */
static const char *esc(const char *s, char *out, size_t n)
{
    size_t o = 0;

    for (s = s ? s : ""; *s && o + 3 < n && o < 253; s++) {
        if (*s == '\\' || *s == '"')
            out[o++] = '\\';
        if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
            continue;
        }
        out[o++] = *s;
    }
    out[o] = 0;
    return out;
}

void api__metrics_help(struct buf *b, const char *name, const char *type, const char *text)
{
    buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void histogram(struct buf *b, const char *name, const char *labels, const json_t *h,
                      const double *bounds, size_t n, double unit)
{
    long long cum = 0;

    for (size_t i = 0; i < n; i++) {
        cum += json_integer_value(json_array_get(h, i));
        buf_appendf(b, "%s_bucket{%s,le=\"%g\"} %lld\n", name, labels, bounds[i], cum);
    }
    buf_appendf(b, "%s_bucket{%s,le=\"+Inf\"} %lld\n", name, labels,
                (long long)json_integer_value(json_array_get(h, n)));
    buf_appendf(b, "%s_sum{%s} %.6f\n", name, labels,
                (double)json_integer_value(json_array_get(h, n + 1)) / unit);
    buf_appendf(b, "%s_count{%s} %lld\n", name, labels,
                (long long)json_integer_value(json_array_get(h, n)));
}

/* Splits a tab-joined key into at most n fields (escaped for labels) in place. */
static int fields(const char *key, char f[][256], int n)
{
    int i = 0;
    const char *p = key;

    while (i < n) {
        const char *tab = strchr(p, '\t');
        char raw[256];

        snprintf(raw, sizeof raw, "%.*s", tab ? (int)(tab - p) : (int)strlen(p), p);
        esc(raw, f[i++], 256);
        if (!tab)
            break;
        p = tab + 1;
    }
    return i;
}

static void render_requests(struct buf *b, const struct api_metrics *m)
{
    const char *k;
    json_t *v;
    char f[5][256], l[1400];

    api__metrics_help(b, "apiserver_request_total", "counter",
         "Counter of apiserver requests broken out for each verb, group, resource, subresource "
         "and HTTP response code.");
    json_object_foreach(m->requests, k, v) if (fields(k, f, 5) == 5)
        buf_appendf(b, "apiserver_request_total{verb=\"%s\",group=\"%s\",resource=\"%s\","
                       "subresource=\"%s\",code=\"%s\"} %lld\n",
                    f[0], f[1], f[2], f[3], f[4], (long long)json_integer_value(v));
    api__metrics_help(b, "apiserver_request_duration_seconds", "histogram",
         "Response latency distribution in seconds for each verb, group, resource and "
         "subresource (watches excluded).");
    json_object_foreach(m->durations, k, v) if (fields(k, f, 4) == 4)
    {
        snprintf(l, sizeof l, "verb=\"%s\",group=\"%s\",resource=\"%s\",subresource=\"%s\"", f[0],
                 f[1], f[2], f[3]);
        histogram(b, "apiserver_request_duration_seconds", l, v, req_bounds, NREQ, 1e6);
    }
}

static void render_rollouts(struct buf *b, const struct api_metrics *m)
{
    const char *k;
    json_t *v;
    char f[3][256], l[800];

    api__metrics_help(b, "kroll_deployment_rollouts_total", "counter",
         "Rollouts of each Deployment since the server started, by outcome (completed, "
         "progress_deadline_exceeded, superseded, undone).");
    json_object_foreach(m->outcomes, k, v) if (fields(k, f, 3) == 3)
        buf_appendf(b, "kroll_deployment_rollouts_total{namespace=\"%s\",deployment=\"%s\","
                       "outcome=\"%s\"} %lld\n", f[0], f[1], f[2], (long long)json_integer_value(v));
    api__metrics_help(b, "kroll_deployment_rollout_duration_seconds", "histogram",
         "Time from a Deployment's new pod template to every replica updated and available.");
    json_object_foreach(m->rollout_h, k, v) if (fields(k, f, 2) == 2)
    {
        snprintf(l, sizeof l, "namespace=\"%s\",deployment=\"%s\"", f[0], f[1]);
        histogram(b, "kroll_deployment_rollout_duration_seconds", l, v, rollout_bounds, NROLL,
                  1e3);
    }
    api__metrics_help(b, "kroll_deployment_rollouts_in_progress", "gauge",
         "Rollouts started and not yet ended.");
    buf_appendf(b, "kroll_deployment_rollouts_in_progress %zu\n", json_object_size(m->rollouts));
}

static void render_store(struct buf *b, struct api *api)
{
    api__metrics_help(b, "apiserver_storage_objects", "gauge", "Number of stored objects at the time of "
                                                  "the scrape, by resource.");
    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = &scheme_resources[i];
        json_t *m = store_map(api->store, r->key);

        buf_appendf(b, "apiserver_storage_objects{resource=\"%s\"} %zu\n", r->key,
                    m ? json_object_size(m) : 0);
    }
    api__metrics_help(b, "apiserver_registered_watchers", "gauge", "Number of currently open watches, by "
                                                      "group and kind.");
    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = &scheme_resources[i];
        int n = api__watch_count(api, r);

        if (n)
            buf_appendf(b, "apiserver_registered_watchers{group=\"%s\",kind=\"%s\"} %d\n",
                        r->group, r->kind, n);
    }
}

void api__metrics_serve(struct api *api, struct http_req *req)
{
    struct buf b;

    buf_init(&b, METRICS_MAX_BYTES);
    if (api->metrics) {
        render_requests(&b, api->metrics);
        render_rollouts(&b, api->metrics);
        api__metrics_analysis(api, api->metrics->analysis, &b);
    }
    render_store(&b, api);
    api__metrics_state(api, &b);
    http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                 b.len, NULL);
    buf_release(&b);
}
