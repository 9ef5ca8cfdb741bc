/* Windowed request statistics per pod and per revision. Once a second a sampler thread sums each
 * endpoint's per-worker counters (written lock-free by the workers), adds what changed since
 * the last sample to the endpoint's window and to its service's window for the endpoint's
 * revision (pod-template-hash). Revision windows outlive the pods: a canary scaled away still
 * has its last ten minutes. The admin port serves them as JSON on /stats?window=SECONDS:
 * request rate, success rate (non-5xx answers among answers and failed connects), latency
 * quantiles and in-flight requests, per revision and per pod. Windows are kept under
 * px->stats_mu, taken only by the sampler and the admin thread, never by a worker. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy-int.h"
#include "proxy/window.h"

#define SAMPLE_MS 1000
#define MAX_REVISIONS 64 /* per service; the idle ones go first when a new one comes */

struct px_rev {
    char *name;
    struct px_window win;
    struct px_wcount total; /* since the proxy started */
};

/* The endpoint's window and last sample; allocated by the sampler (under stats_mu). */
struct px_epstats {
    struct px_window win;
    struct px_wcount last;
};

static int64_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void px_epstats_free(struct px_epstats *s)
{
    free(s);
}

void px_revs_free(struct px_service *svc)
{
    for (int i = 0; i < svc->nrevs; i++) {
        free(svc->revs[i]->name);
        free(svc->revs[i]);
    }
    free(svc->revs);
    svc->revs = NULL;
    svc->nrevs = 0;
}

static struct px_rev *rev_get(struct px_service *svc, const char *name, int64_t now)
{
    struct px_rev *r;

    for (int i = 0; i < svc->nrevs; i++)
        if (!strcmp(svc->revs[i]->name, name))
            return svc->revs[i];
    if (svc->nrevs == MAX_REVISIONS) { /* forget the idle one seen least, or refuse */
        int victim = -1;

        for (int i = 0; i < svc->nrevs && victim < 0; i++)
            if (px_window_idle(&svc->revs[i]->win, now))
                victim = i;
        if (victim < 0)
            return NULL;
        free(svc->revs[victim]->name);
        free(svc->revs[victim]);
        svc->revs[victim] = svc->revs[--svc->nrevs];
    }
    r = xcalloc(1, sizeof *r);
    r->name = xstrdup(name);
    svc->revs = xrealloc(svc->revs, (size_t)(svc->nrevs + 1) * sizeof *svc->revs);
    svc->revs[svc->nrevs++] = r;
    return r;
}

static void sample_service(struct px_service *svc, int64_t now)
{
    struct px_table *t = px_service_table(svc);

    for (int i = 0; i < t->n; i++) {
        struct px_endpoint *ep = t->eps[i];
        struct px_wcount cur, d;
        struct px_rev *r;

        if (!ep->stats)
            ep->stats = xcalloc(1, sizeof *ep->stats);
        px_wcount_from_stats(&ep->w[0].stats, sizeof ep->w[0], ep->nworkers, &cur);
        px_wcount_delta(&cur, &ep->stats->last, &d);
        ep->stats->last = cur;
        /* A revision is known from its first endpoint on, before any request: its counters
         * start at 0 in the Prometheus series, as a scraper's rate() expects. */
        r = rev_get(svc, ep->revision, now);
        if (px_wcount_total(&d) == 0 && d.requests[PX_CLASS_ABORTED] == 0)
            continue;
        px_window_add(&ep->stats->win, now, &d);
        if (r) {
            px_window_add(&r->win, now, &d);
            px_wcount_add(&r->total, &d);
        }
    }
    px_table_unref(t);
}

static void *sampler_main(void *arg)
{
    struct proxy *px = arg;

    while (!atomic_load(&px->stats_stop)) {
        int64_t now = mono_s();

        pthread_mutex_lock(&px->mu);
        pthread_mutex_lock(&px->stats_mu);
        for (int i = 0; i < px->nsvcs; i++)
            if (!atomic_load(&px->svcs[i]->retired))
                sample_service(px->svcs[i], now);
        pthread_mutex_unlock(&px->stats_mu);
        pthread_mutex_unlock(&px->mu);
        for (int i = 0; i < SAMPLE_MS / 100 && !atomic_load(&px->stats_stop); i++)
            usleep(100 * 1000);
    }
    return NULL;
}

int px_stats_start(struct proxy *px)
{
    if (pthread_create(&px->stats_th, NULL, sampler_main, px))
        return -1;
    px->stats_started = 1;
    return 0;
}

void px_stats_stop(struct proxy *px)
{
    if (!px->stats_started)
        return;
    atomic_store(&px->stats_stop, 1);
    pthread_join(px->stats_th, NULL);
    px->stats_started = 0;
}

/* ---- JSON ---- */

static json_t *quantile_json(const struct px_wcount *c, double q)
{
    double v = px_wcount_quantile(c, q);

    return v < 0 ? json_null() : json_real(v);
}

/* The figures of one window: counts, rates and quantiles (null where nothing was measured). */
static json_t *window_json(const struct px_wcount *c, int covered)
{
    uint64_t total = px_wcount_total(c), fail = px_wcount_failures(c), lat_n = 0;
    json_t *o;

    for (int i = 0; i < PX_LAT_BUCKETS; i++)
        lat_n += c->latency[i];
    o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "requests", (json_int_t)total,
        "errors5xx", (json_int_t)c->requests[4], "connectErrors", (json_int_t)c->connect_errors,
        "aborted", (json_int_t)c->requests[PX_CLASS_ABORTED], "coveredSeconds", (json_int_t)covered,
        "requestsPerSecond", covered > 0 ? json_real((double)total / covered) : json_null(),
        "successRate", total ? json_real(1.0 - (double)fail / (double)total) : json_null(),
        "errorRate", total ? json_real((double)fail / (double)total) : json_null(), "latencyMean",
        lat_n ? json_real((double)c->latency_sum_us / 1e6 / (double)lat_n) : json_null(),
        "latencyP50", quantile_json(c, 0.5), "latencyP90", quantile_json(c, 0.9), "latencyP99",
        quantile_json(c, 0.99));
    return o;
}

/* Raw counts for a query engine: answers by class 1xx..5xx, failed connects, the latency
 * histogram's buckets (not cumulative, the last is +Inf) and the latency sum. */
static json_t *counts_json(const struct px_wcount *c)
{
    json_t *codes = json_array(), *buckets = json_array();

    for (int i = 0; i < PX_CLASS_ABORTED; i++)
        json_array_append_new(codes, json_integer((json_int_t)c->requests[i]));
    for (int i = 0; i < PX_LAT_BUCKETS; i++)
        json_array_append_new(buckets, json_integer((json_int_t)c->latency[i]));
    return json_pack("{s:o,s:I,s:o,s:f}", "codes", codes, "connectErrors",
                     (json_int_t)c->connect_errors, "buckets", buckets, "latencySumSeconds",
                     (double)c->latency_sum_us / 1e6);
}

static json_t *service_json(struct px_service *svc, int secs, int64_t now)
{
    struct px_table *t = px_service_table(svc);
    json_t *revs = json_array(), *pods = json_array();
    struct px_wcount c;
    int covered;

    for (int i = 0; i < svc->nrevs; i++) {
        json_t *r;

        covered = px_window_sum(&svc->revs[i]->win, now, secs, &c);
        r = window_json(&c, covered);
        json_object_set_new(r, "revision", json_string(svc->revs[i]->name));
        json_object_set_new(r, "requestsTotal",
                            json_integer((json_int_t)px_wcount_total(&svc->revs[i]->total)));
        json_object_set_new(r, "counts", counts_json(&c));
        json_object_set_new(r, "countsTotal", counts_json(&svc->revs[i]->total));
        json_array_append_new(revs, r);
    }
    for (int i = 0; i < t->n; i++) {
        struct px_endpoint *ep = t->eps[i];
        json_t *p;

        memset(&c, 0, sizeof c);
        covered = ep->stats ? px_window_sum(&ep->stats->win, now, secs, &c) : 0;
        p = window_json(&c, covered);
        json_object_set_new(p, "pod", json_string(ep->pod));
        json_object_set_new(p, "revision", json_string(ep->revision));
        json_object_set_new(p, "endpoint", json_string(ep->addr));
        json_object_set_new(p, "inFlight", json_integer(px_endpoint_inflight(ep)));
        json_object_set_new(
            p, "ready",
            json_boolean((atomic_load(&ep->flags) & PX_EP_READY) && !atomic_load(&ep->draining)));
        json_array_append_new(pods, p);
    }
    px_table_unref(t);
    return json_pack("{s:s,s:o,s:o}", "service", svc->name, "revisions", revs, "pods", pods);
}

/* Parses the window parameter: whole seconds, or a duration such as 30s, 5m. */
static int window_param(const char *q, int *secs)
{
    const char *v = q ? strstr(q, "window=") : NULL;
    char *end;
    long n;

    *secs = 60;
    if (!v)
        return 0;
    v += 7;
    n = strtol(v, &end, 10);
    if (end == v || n <= 0)
        return -1;
    if (*end == 'm')
        n *= 60, end++;
    else if (*end == 's')
        end++;
    if ((*end && *end != '&' && *end != ' ') || n > PX_WIN_MAX_S)
        return -1;
    *secs = (int)n;
    return 0;
}

int px_stats_render(struct proxy *px, const char *query, struct buf *out)
{
    int64_t now = mono_s();
    int secs;
    json_t *svcs, *doc, *bounds;
    char *txt, ts[40];
    time_t wall = time(NULL);
    struct tm tm;

    if (window_param(query, &secs) < 0) {
        buf_appendf(out, "window must be a number of seconds (or 30s, 5m) from 1 to %d\n",
                    PX_WIN_MAX_S);
        return -1;
    }
    gmtime_r(&wall, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    svcs = json_array();
    pthread_mutex_lock(&px->mu);
    pthread_mutex_lock(&px->stats_mu);
    for (int i = 0; i < px->nsvcs; i++)
        if (!atomic_load(&px->svcs[i]->retired))
            json_array_append_new(svcs, service_json(px->svcs[i], secs, now));
    pthread_mutex_unlock(&px->stats_mu);
    pthread_mutex_unlock(&px->mu);
    bounds = json_array();
    for (int i = 0; i < PX_LAT_BUCKETS - 1; i++)
        json_array_append_new(bounds, json_real(px_lat_bounds[i]));
    doc = json_pack("{s:s,s:i,s:i,s:o,s:o}", "timestamp", ts, "windowSeconds", secs,
                    "resolutionSeconds", PX_WIN_SLOT_S, "latencyBounds", bounds, "services", svcs);
    txt = json_dumps(doc, JSON_COMPACT);
    buf_appendf(out, "%s\n", txt);
    free(txt);
    json_decref(doc);
    return 0;
}

/* ---- Prometheus series per revision ---- */

static const char *const code_classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

/* svc->name "ns/name:port" as Prometheus labels; "static" has no namespace. */
static void revision_labels(const char *svc, const char *rev, char *out, size_t n)
{
    const char *slash = strchr(svc, '/'), *name = slash ? slash + 1 : svc;
    const char *colon = strrchr(name, ':');
    int nl = colon ? (int)(colon - name) : (int)strlen(name);

    snprintf(out, n, "namespace=\"%.*s\",service=\"%.*s\",port=\"%s\",revision=\"%s\"",
             slash ? (int)(slash - svc) : 0, svc, nl, name, colon ? colon + 1 : "", rev);
}

/* One revision's lines of one family (0: requests by class, 1: the latency histogram). */
static void render_revision(struct buf *out, const char *labels, const struct px_wcount *c,
                            int family)
{
    for (int i = 0; i < PX_CLASS_ABORTED && family == 0; i++) /* a failed connect: the 502 */
        buf_appendf(out, "kroll_http_requests_total{%s,code_class=\"%s\"} %llu\n", labels,
                    code_classes[i],
                    (unsigned long long)(c->requests[i] + (i == 4 ? c->connect_errors : 0)));
    if (family)
        px_prom_histogram(out, "kroll_http_request_duration_seconds", labels, c->latency,
                          c->latency_sum_us);
}

void px_stats_render_prom(struct proxy *px, struct buf *out)
{
    char labels[1024];

    static const char *const head[] = {
        "# HELP kroll_http_requests_total Requests per Service port and revision "
        "(pod-template-hash) by status class; failed connects count as 5xx.\n"
        "# TYPE kroll_http_requests_total counter\n",
        "# HELP kroll_http_request_duration_seconds Time to the response's end, per Service "
        "port and revision.\n"
        "# TYPE kroll_http_request_duration_seconds histogram\n"};

    pthread_mutex_lock(&px->stats_mu);
    for (int f = 0; f < 2; f++) { /* each family's lines in one group, as the format wants */
        buf_appendf(out, "%s", head[f]);
        for (int i = 0; i < px->nsvcs; i++) {
            struct px_service *svc = px->svcs[i];

            if (atomic_load(&svc->retired))
                continue;
            for (int k = 0; k < svc->nrevs; k++) {
                revision_labels(svc->name, svc->revs[k]->name, labels, sizeof labels);
                render_revision(out, labels, &svc->revs[k]->total, f);
            }
        }
    }
    pthread_mutex_unlock(&px->stats_mu);
}
