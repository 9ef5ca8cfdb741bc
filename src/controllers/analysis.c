/* The AnalysisRun controller (argo-rollouts analysis/analysis.go): per metric, measurements at
 * `interval` up to `count` after `initialDelay`, each judged by successCondition and
 * failureCondition, the counters and limits of analysis.h, and the run's phase, all written
 * to status as Argo writes it (through the main resource: Argo's CRD has no status
 * subresource). Args `{{args.NAME}}` are substituted from spec.args (value or a Secret's
 * key) before anything runs. HTTP measurements run on worker threads (analysis_measure.c);
 * the sync only starts them and takes their results. A job measurement is a Job
 * (analysis_job.c) whose events bring the sync that reads its result. */
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/analysis.h"
#include "controllers/analysis_job.h"
#include "controllers/analysis_measure.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"

#define ARG_VALUE_MAX 4096
#define METRICS_JSON_MAX (256 * 1024)
#define ANL_MAX_MEASUREMENTS 1000 /* per metric, whatever measurementRetention says */

struct anl {
    struct ctl *ctl;
    struct anl_jobs *jobs;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *timestamp(time_t t)
{
    char buf[32];

    time_rfc3339(t, buf);
    return json_string(buf);
}

/* ---- args ---- */

/* The decoded value of a Secret key (new string) or NULL with msg. */
static char *secret_value(struct ctl *c, const char *ns, const json_t *ref, char *msg, size_t n)
{
    const char *sname = jx_str(ref, "name"), *key = jx_str(ref, "key");
    json_t *sec = sname ? kc_get(ctl_kc(c), kc_resource(RES_SECRET), ns, sname) : NULL;
    const char *b64 =
        sec && key ? json_string_value(jx_get(json_object_get(sec, "data"), key)) : NULL;
    size_t l;
    unsigned char *out;
    int len;

    if (!b64 || (l = strlen(b64)) > ARG_VALUE_MAX * 2) {
        snprintf(msg, n, "secret %s/%s key %s not found", ns, sname ? sname : "", key ? key : "");
        return NULL;
    }
    out = xmalloc(l + 4);
    len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)l);
    if (len < 0) {
        free(out);
        snprintf(msg, n, "secret %s/%s key %s is not base64", ns, sname, key);
        return NULL;
    }
    while (l && b64[--l] == '=') /* EVP_DecodeBlock counts the padding */
        len--;
    out[len > 0 ? len : 0] = 0;
    return (char *)out;
}

/* name -> value (strings) from spec.args; NULL with msg when one cannot be resolved. */
static json_t *args_values(struct ctl *c, const json_t *ar, char *msg, size_t n)
{
    json_t *vals = json_object();
    const json_t *a;
    size_t i;

    json_array_foreach(jx_get(ar, "spec.args"), i, a)
    {
        const char *name = jx_str(a, "name"), *v = jx_str(a, "value");
        const json_t *ref = jx_get(a, "valueFrom.secretKeyRef");

        if (!name)
            continue;
        if (v) {
            json_object_set_new(vals, name, json_string(v));
        } else if (ref) {
            char *s = secret_value(c, jx_str(ar, "metadata.namespace"), ref, msg, n);

            if (!s)
                goto fail;
            json_object_set_new(vals, name, json_string(s) ?: json_string(""));
            free(s);
        } else if (json_object_get(a, "valueFrom")) {
            snprintf(msg, n, "args.%s: valueFrom other than secretKeyRef is resolved by a Rollout",
                     name);
            goto fail;
        }
    }
    return vals;
fail:
    json_decref(vals);
    return NULL;
}

/* The metrics with {{args.NAME}} replaced (values JSON-escaped), a new reference, or NULL
 * with msg. */
static json_t *metrics_resolve(const json_t *metrics, const json_t *vals, char *msg, size_t n)
{
    char *text = json_dumps(metrics, JSON_COMPACT), *p, *open;
    struct {
        char *d;
        size_t len, cap;
    } out = {0};
    json_t *res = NULL;

    if (!text || strlen(text) > METRICS_JSON_MAX) {
        snprintf(msg, n, "metrics larger than %d bytes", METRICS_JSON_MAX);
        free(text);
        return NULL;
    }
    out.cap = strlen(text) * 2 + 64;
    out.d = xmalloc(out.cap);
    for (p = text; (open = strstr(p, "{{"));) {
        char *close = strstr(open, "}}"), name[256], *esc;
        const char *s, *e;
        const json_t *v;
        size_t need;

        memcpy(out.d + out.len, p, (size_t)(open - p));
        out.len += (size_t)(open - p);
        for (s = open + 2; *s == ' '; s++)
            ;
        for (e = close ? close : s; e > s && e[-1] == ' '; e--)
            ;
        if (!close || strncmp(s, "args.", 5) != 0 || (size_t)(e - s) >= sizeof name) {
            snprintf(msg, n, "failed to resolve %.60s", open);
            goto out;
        }
        snprintf(name, sizeof name, "%.*s", (int)(e - s - 5), s + 5);
        v = json_object_get(vals, name);
        if (!v) {
            snprintf(msg, n, "failed to resolve {{args.%s}}", name);
            goto out;
        }
        esc = json_dumps(v, JSON_ENCODE_ANY); /* "..." with JSON escapes; drop the quotes */
        need = out.len + strlen(esc) + strlen(close);
        if (need + 1 > out.cap) {
            out.cap = need * 2;
            out.d = xrealloc(out.d, out.cap);
        }
        memcpy(out.d + out.len, esc + 1, strlen(esc) - 2);
        out.len += strlen(esc) - 2;
        free(esc);
        p = close + 2;
    }
    if (out.len + strlen(p) + 1 > out.cap)
        out.d = xrealloc(out.d, out.cap = out.len + strlen(p) + 1);
    memcpy(out.d + out.len, p, strlen(p) + 1);
    if (!(res = json_loads(out.d, 0, NULL)))
        snprintf(msg, n, "an argument value breaks the metrics");
out:
    free(text);
    free(out.d);
    return res;
}

/* ---- Service names ---- */

/* url with a Service's host name (name, name.ns, name.ns.svc, name.ns.svc.cluster.local)
 * replaced by its cluster IP, as cluster DNS would answer on a cluster (kroll has none); a new
 * string, or NULL when the host names no Service with a cluster IP. */
static char *service_url(struct ctl *c, const char *ns, const char *url)
{
    char host[256], *dot, *out = NULL;
    const char *h = url ? url + 7 : NULL, *ip, *svc_ns = ns;
    size_t hl, l;
    json_t *svc;

    if (!url || strncmp(url, "http://", 7) != 0 || (hl = strcspn(h, ":/?")) >= sizeof host)
        return NULL;
    memcpy(host, h, hl);
    host[hl] = 0;
    l = strlen(host);
    if (l > 18 && !strcmp(host + l - 18, ".svc.cluster.local"))
        host[l - 18] = 0;
    else if (l > 4 && !strcmp(host + l - 4, ".svc"))
        host[l - 4] = 0;
    if ((dot = strchr(host, '.'))) {
        *dot = 0;
        svc_ns = dot + 1;
        if (strchr(svc_ns, '.'))
            return NULL;
    }
    svc = kc_get(ctl_kc(c), kc_resource(RES_SERVICE), svc_ns, host);
    ip = jx_str(svc, "spec.clusterIP");
    if (!ip || !*ip || !strcmp(ip, "None"))
        return NULL;
    if (asprintf(&out, "http://%s%s", ip, h + hl) < 0)
        return NULL;
    return out;
}

/* The provider with Service host names resolved (new reference). */
static json_t *provider_resolved(struct ctl *c, const char *ns, const json_t *provider)
{
    json_t *p = json_deep_copy(provider);
    static const char *const urls[] = {"web.url", "prometheus.address"};

    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *u = service_url(c, ns, jx_str(p, urls[i]));

        if (u)
            jx_set(p, urls[i], json_string(u));
        free(u);
    }
    return p;
}

/* ---- per metric ---- */

static json_t *metric_result(json_t *st, const char *name, int dry)
{
    json_t *results = json_object_get(st, "metricResults"), *mr;
    size_t i;

    if (!json_is_array(results)) {
        results = json_array();
        json_object_set_new(st, "metricResults", results);
    }
    json_array_foreach(results, i, mr) if (!strcmp(jx_str(mr, "name") ?: "", name)) return mr;
    mr = json_pack("{s:s,s:s}", "name", name, "phase", "Running");
    if (dry)
        json_object_set_new(mr, "dryRun", json_true());
    json_array_append_new(results, mr);
    return mr;
}

/* True when metric name is listed in spec.dryRun (or "*" is). */
static int listed(const json_t *list, const char *name)
{
    const json_t *e;
    size_t i;

    json_array_foreach(list, i, e)
    {
        const char *m = jx_str(e, "metricName") ?: "";
        regex_t re;
        char anchored[300];
        int hit;

        if (!strcmp(m, "*") || !strcmp(m, name))
            return 1;
        snprintf(anchored, sizeof anchored, "^(%s)$", m);
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        hit = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit)
            return 1;
    }
    return 0;
}

/* measurementRetention's limit for name, or the default 10. */
static long long retention(const json_t *ar, const char *name)
{
    const json_t *e;
    size_t i;

    json_array_foreach(jx_get(ar, "spec.measurementRetention"), i, e)
    {
        json_t *one = json_pack("[{s:s}]", "metricName", jx_str(e, "metricName") ?: "");
        int hit = listed(one, name);

        json_decref(one);
        if (hit && jx_int(e, "limit", 0) > 0) /* capped: status must fit an object */
            return jx_int(e, "limit", 0) < ANL_MAX_MEASUREMENTS ? jx_int(e, "limit", 0)
                                                                : ANL_MAX_MEASUREMENTS;
    }
    return ANL_DEFAULT_MEASUREMENT_LIMIT;
}

/* Keeps the last retention() measurements of ms. */
static void trim(const json_t *ar, const struct anl_metric *m, json_t *ms)
{
    while ((long long)json_array_size(ms) > retention(ar, m->name))
        json_array_remove(ms, 0);
}

/* measurements of mr, created empty when absent (borrowed). */
static json_t *measurements(json_t *mr)
{
    json_t *ms = json_object_get(mr, "measurements");

    if (!json_is_array(ms)) {
        ms = json_array();
        json_object_set_new(mr, "measurements", ms);
    }
    return ms;
}

/* Records a finished measurement in mr and updates its counters. */
static void record(const json_t *ar, const struct anl_metric *m, json_t *mr, struct anl_outcome *o)
{
    json_t *ms = measurements(mr), *meas;
    char msg[600] = "";
    int phase;

    phase = o->error ? AP_ERROR : anl_evaluate(m, o->result, o->flags, msg, sizeof msg);
    meas = json_pack("{s:s,s:o,s:o}", "phase", anl_phase_name(phase), "startedAt",
                     timestamp(o->started), "finishedAt", timestamp(o->finished));
    if (o->value)
        json_object_set_new(meas, "value", json_string(o->value) ?: json_string(""));
    if (o->error || phase == AP_ERROR)
        json_object_set_new(meas, "message", json_string(o->error ? o->msg : msg));
    json_array_append_new(ms, meas);
    trim(ar, m, ms);
    anl_count(mr, phase);
}

/* A job metric's turn: the running Job's measurement is resumed (or, the run terminating,
 * stopped); otherwise the next Job starts when one is due. Job and pod events bring the next
 * sync, so only a wait for `interval` sets *next. */
static void job_step(struct anl *a, const json_t *ar, const json_t *metric,
                     const struct anl_metric *m, json_t *mr, int64_t started, int terminating,
                     int64_t *next)
{
    json_t *ms = measurements(mr), *last = json_array_get(ms, json_array_size(ms) - 1);
    int64_t due, now = now_ms();
    char msg[600];
    int phase;

    if (last && !json_object_get(last, "finishedAt") &&
        !strcmp(jx_str(last, "phase") ?: "", "Running")) {
        phase =
            terminating ? anl_job_terminate(a->ctl, ar, last) : anl_job_resume(a->ctl, ar, last);
        if (!anl_phase_completed(phase))
            return;
        anl_count(mr, phase);
    }
    if (terminating)
        return;
    due = anl_next_due(m, mr, started);
    if (due < 0 || anl_assess(m, mr, msg, sizeof msg) != AP_RUNNING)
        return;
    if (due <= now) {
        last = anl_job_run(a->ctl, ar, metric, mr);
        json_array_append_new(ms, last);
        trim(ar, m, ms);
        anl_job_gc(a->ctl, ar, m->name, retention(ar, m->name));
        if (!json_object_get(last, "finishedAt"))
            return;
        anl_count(mr, AP_ERROR);
        due = anl_next_due(m, mr, started);
    }
    if (due > now && (*next < 0 || due < *next))
        *next = due;
}

/* Drives one metric; *next receives the earliest time (ms) it wants a sync, if sooner. */
static void metric_step(struct anl *a, const json_t *ar, const json_t *metric, size_t idx,
                        json_t *st, int64_t started, int terminating, int64_t *next)
{
    const char *ns = jx_str(ar, "metadata.namespace"), *name = jx_str(ar, "metadata.name");
    const char *mname = jx_str(metric, "name") ?: "";
    json_t *mr = metric_result(st, mname, listed(jx_get(ar, "spec.dryRun"), mname));
    struct anl_metric m;
    struct anl_outcome o;
    char key[1024], msg[600];
    int64_t due, now = now_ms();
    int phase, rc;

    if (anl_phase_completed(anl_phase_parse(jx_str(mr, "phase"))))
        return;
    snprintf(key, sizeof key, "%s/%s/%s/%s", ns, name, jx_str(ar, "metadata.uid") ?: "", mname);
    if (anl_metric_read(metric, idx, &m, msg, sizeof msg) < 0) {
        json_object_set_new(mr, "phase", json_string("Error"));
        json_object_set_new(mr, "message", json_string(msg));
        return;
    }
    if (anl_job_provider(json_object_get(metric, "provider"))) {
        job_step(a, ar, metric, &m, mr, started, terminating, next);
        goto assess;
    }
    rc = anl_jobs_take(a->jobs, key, &o);
    if (rc == 2) {
        record(ar, &m, mr, &o);
        anl_outcome_release(&o);
    }
    if (rc != 1 && !jx_bool(ar, "spec.terminate")) {
        due = anl_next_due(&m, mr, started);
        phase = anl_assess(&m, mr, msg, sizeof msg);
        if (phase == AP_RUNNING && due >= 0 && due <= now) {
            json_t *prov = provider_resolved(a->ctl, ns, json_object_get(metric, "provider"));

            rc = anl_jobs_start(a->jobs, key, ns, name, prov, &o);
            json_decref(prov);
            if (rc < 0) { /* the provider cannot run: an Error that retrying cannot fix */
                record(ar, &m, mr, &o);
                anl_outcome_release(&o);
                json_object_set_new(mr, "phase", json_string("Error"));
                json_object_set_new(mr, "message", json_string(o.msg));
                return;
            }
            if (rc == 1)
                due = now + 1000;
        }
        if (due > now && (*next < 0 || due < *next))
            *next = due;
    }
assess:
    phase = anl_assess(&m, mr, msg, sizeof msg);
    json_object_set_new(mr, "phase", json_string(anl_phase_name(phase)));
    if (*msg)
        json_object_set_new(mr, "message", json_string(msg));
}

/* Drops zero counters (Argo's omitempty) so the status reads as Argo writes it. */
static void omit_zeros(json_t *o)
{
    static const char *const keys[] = {"count",
                                       "successful",
                                       "failed",
                                       "inconclusive",
                                       "error",
                                       "consecutiveError",
                                       "consecutiveSuccess"};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_is_integer(json_object_get(o, keys[i])) &&
            json_integer_value(json_object_get(o, keys[i])) == 0)
            json_object_del(o, keys[i]);
}

/* ---- the run ---- */

static void write_status(struct ctl *c, const json_t *ar, json_t *st)
{
    json_t *patch = json_pack("{s:O}", "status", st), *out = NULL;
    struct kc_wopts o = {.manager = "argo-rollouts"};
    struct err err;

    err_init(&err);
    if (kc_patch(ctl_kc(c), kc_resource(RES_ANALYSISRUN), jx_str(ar, "metadata.namespace"),
                  jx_str(ar, "metadata.name"), "application/merge-patch+json", patch, &o, &out,
                  &err) < 0)
        ctl_log_err(c, "update analysis run status", jx_str(ar, "metadata.namespace"),
                    jx_str(ar, "metadata.name"), &err);
    json_decref(out);
    json_decref(patch);
    err_release(&err);
}

/* Sets the run's phase (and completedAt once it is final). */
static void run_finish(json_t *st, int phase, const char *msg)
{
    json_object_set_new(st, "phase", json_string(anl_phase_name(phase)));
    if (msg && *msg)
        json_object_set_new(st, "message", json_string(msg));
    if (anl_phase_completed(phase) && !json_object_get(st, "completedAt"))
        json_object_set_new(st, "completedAt", timestamp(time(NULL)));
}

/* The run's phase and summaries from its metric results, written to st. */
static int run_assess(const json_t *ar, json_t *st, char *msg, size_t n)
{
    json_t *sum = json_object(), *dry = json_object(), *mr;
    size_t i;
    int phase;

    phase =
        anl_run_phase(jx_get(st, "metricResults"), jx_bool(ar, "spec.terminate"), msg, n, sum, dry);
    json_object_set_new(st, "runSummary", sum);
    if (json_object_size(dry))
        json_object_set_new(st, "dryRunSummary", dry);
    else
        json_decref(dry);
    json_array_foreach(jx_get(st, "metricResults"), i, mr) omit_zeros(mr);
    return phase;
}

/* Argo's IsTerminating: spec.terminate, or a metric (not dry-run) ended other than Successful. */
static int run_terminating(const json_t *ar, const json_t *st)
{
    const json_t *mr;
    size_t i;

    if (jx_bool(ar, "spec.terminate"))
        return 1;
    json_array_foreach(jx_get(st, "metricResults"), i, mr)
    {
        int p = anl_phase_parse(jx_str(mr, "phase"));

        if (!jx_bool(mr, "dryRun") && anl_phase_completed(p) && p != AP_SUCCESSFUL)
            return 1;
    }
    return 0;
}

/* One reconcile of a running run: measures and assesses each metric; returns the next time
 * (ms) it wants a sync or -1. */
static int64_t run_step(struct anl *a, const json_t *ar, json_t *st)
{
    char msg[600] = "", prefix[600];
    json_t *vals, *metrics, *m;
    int64_t started = (int64_t)time_parse(jx_str(st, "startedAt")) * 1000, next = -1;
    int phase, term = run_terminating(ar, st);
    size_t i;

    vals = args_values(a->ctl, ar, msg, sizeof msg);
    metrics = vals ? metrics_resolve(jx_get(ar, "spec.metrics"), vals, msg, sizeof msg) : NULL;
    json_decref(vals);
    if (!metrics) {
        char full[700];

        snprintf(full, sizeof full, "Unable to resolve metric arguments: %s", msg);
        run_finish(st, AP_ERROR, full);
        return -1;
    }
    json_array_foreach(metrics, i, m) metric_step(a, ar, m, i, st, started, term, &next);
    phase = run_assess(ar, st, msg, sizeof msg);
    if (!term && anl_phase_completed(phase)) {
        /* A metric just ended the run: its other metrics' Jobs are stopped now (Argo would
         * leave them running until the run is deleted). The message stays the cause's unless
         * a Job that finished meanwhile made the phase worse. */
        char first[sizeof msg];
        int was = phase;

        snprintf(first, sizeof first, "%s", msg);
        json_array_foreach(metrics, i, m) if (anl_job_provider(jx_get(m, "provider")))
            metric_step(a, ar, m, i, st, started, 1, &next);
        phase = run_assess(ar, st, msg, sizeof msg);
        if (phase == was)
            snprintf(msg, sizeof msg, "%s", first);
    }
    json_decref(metrics);
    run_finish(st, phase, msg);
    if (anl_phase_completed(phase)) {
        snprintf(prefix, sizeof prefix, "%s/%s/%s/", jx_str(ar, "metadata.namespace"),
                 jx_str(ar, "metadata.name"), jx_str(ar, "metadata.uid") ?: "");
        anl_jobs_cancel(a->jobs, prefix);
        return -1;
    }
    return next;
}

/* spec.ttlStrategy: a finished run is deleted its seconds after completedAt (secondsAfterSuccess
 * for Successful, secondsAfterFailure for Failed and Error, else secondsAfterCompletion). */
static void ttl_expire(struct ctl *c, const json_t *ar)
{
    const json_t *ttl = jx_get(ar, "spec.ttlStrategy");
    const char *phase = jx_str(ar, "status.phase") ?: "";
    const char *key = !strcmp(phase, "Successful")                          ? "secondsAfterSuccess"
                      : !strcmp(phase, "Failed") || !strcmp(phase, "Error") ? "secondsAfterFailure"
                                                                            : NULL;
    const json_t *secs = key ? json_object_get(ttl, key) : NULL;
    time_t done = time_parse(jx_str(ar, "status.completedAt"));
    int64_t left;

    if (!json_is_integer(secs))
        secs = json_object_get(ttl, "secondsAfterCompletion");
    if (!json_is_integer(secs) || done < 0)
        return;
    left = ((int64_t)done + json_integer_value(secs)) * 1000 - now_ms();
    if (left > 0) {
        ctl_enqueue_after(c, jx_str(ar, "metadata.namespace"), jx_str(ar, "metadata.name"), left);
    } else {
        struct kc_wopts o = {.grace = -1, .propagation = "Background"};
        json_t *out = NULL;
        struct err err;

        err_init(&err);
        if (kc_delete(ctl_kc(c), kc_resource(RES_ANALYSISRUN), jx_str(ar, "metadata.namespace"),
                       jx_str(ar, "metadata.name"), &o, &out, &err) < 0 &&
            err.code != -E_NOT_FOUND)
            ctl_log_err(c, "delete expired analysis run", jx_str(ar, "metadata.namespace"),
                        jx_str(ar, "metadata.name"), &err);
        json_decref(out);
        err_release(&err);
    }
}

static void analysis_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    struct anl *a = ctx;
    json_t *ar = kc_get(ctl_kc(c), kc_resource(RES_ANALYSISRUN), ns, name), *st;
    int64_t next;

    if (!ar || jx_get(ar, "metadata.deletionTimestamp")) { /* its measurements are moot */
        char prefix[600];

        snprintf(prefix, sizeof prefix, "%s/%s/", ns, name);
        anl_jobs_cancel(a->jobs, prefix);
        return;
    }
    if (anl_phase_completed(anl_phase_parse(jx_str(ar, "status.phase")))) {
        ttl_expire(c, ar);
        return;
    }
    ar = json_incref(ar);
    st =
        json_is_object(jx_get(ar, "status")) ? json_deep_copy(jx_get(ar, "status")) : json_object();
    if (!jx_str(st, "startedAt"))
        json_object_set_new(st, "startedAt", timestamp(time(NULL)));
    json_object_set_new(st, "phase", json_string("Running"));
    next = run_step(a, ar, st);
    if (!json_equal(st, jx_get(ar, "status")))
        write_status(c, ar, st);
    if (next >= 0) {
        int64_t wait = next - now_ms();
        ctl_enqueue_after(c, ns, name, wait < 50 ? 50 : wait);
    }
    json_decref(st);
    json_decref(ar);
}

static void on_measured(const char *ns, const char *name, void *ctx)
{
    struct anl *a = ctx;

    ctl_enqueue(a->ctl, ns, name);
}

static void anl_release(void *ctx)
{
    struct anl *a = ctx;

    anl_jobs_free(a->jobs);
    free(a);
}

struct ctl *ctrl_analysis_start(struct kc *kc)
{
    struct anl *a = xcalloc(1, sizeof *a);

    a->ctl = ctl_new(kc, "analysis-controller", analysis_sync, a);
    a->jobs = anl_jobs_new(kc_loop(kc), on_measured, a);
    ctl_set_release(a->ctl, anl_release);
    ctl_watch(a->ctl, RES_ANALYSISRUN, NULL);
    ctl_watch(a->ctl, RES_JOB, anl_job_on_job); /* the job provider's Jobs and their pods */
    ctl_watch(a->ctl, RES_POD, anl_job_on_pod);
    ctl_start(a->ctl);
    return a->ctl;
}
