/* What the Service proxy measured for each pod, for custom.metrics.k8s.io (see api.h,
 * API_CUSTOM_METRICS): a thread asks the proxy for its request statistics every POLL_S seconds
 * over its control socket ({"op":"stats","window":"30s"}, proxy/stats.c), keeps per pod the
 * requests per second, the p99 latency and the requests in flight (summed over the Service
 * ports that route to it; the p99 of the port with most requests), and the API's hook reads
 * that table. Figures older than STALE_S (the proxy stopped answering) are not served.
 * The same poll fetches the windows a PromQL range may name (query_windows) and serves them as
 * the process-wide source of core/promql.h: each revision's raw counts as the series
 * kroll_http_requests_total and kroll_http_request_duration_seconds_*, the ones the proxy
 * exports on its admin /metrics (a range's increase, or the totals for an instant selector). */
#include "server/pod_stats.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/promql.h"

#define POLL_S 5
#define WINDOW_S 30
#define STALE_S 20
#define REPLY_MAX (16u << 20) /* bytes of one stats reply */
#define IO_TIMEOUT_S 3

struct pod_stats {
    struct api *api;
    char *sock_path;
    pthread_t th;
    _Atomic int stop;
    pthread_mutex_t mu;
    json_t *pods;    /* "ns/name" -> {"rps","inflight","p99","n"} (under mu) */
    time_t polled;   /* wall time of the figures (under mu) */
    json_t *docs[5]; /* the proxy's stats over query_windows (under mu) */
};

/* The ranges a query may ask for: the proxy's windows the poll fetches (query_source). */
static const int query_windows[] = {30, 60, 120, 300, 600};
#define NWINDOWS ((int)(sizeof query_windows / sizeof query_windows[0]))

/* One request and its one-line reply over the proxy's control socket. NULL on failure. */
static json_t *proxy_stats(const char *path, int window_s)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct timeval tv = {IO_TIMEOUT_S, 0};
    char req[64];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    json_t *doc = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return NULL;
    snprintf(req, sizeof req, "{\"op\":\"stats\",\"window\":\"%ds\"}\n", window_s);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
        send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        goto out;
    for (;;) {
        ssize_t n;

        if (len + 65536 > cap) {
            if (cap >= REPLY_MAX)
                goto out;
            cap = cap ? cap * 2 : 65536;
            buf = xrealloc(buf, cap + 1);
        }
        n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            goto out;
        len += (size_t)n;
        if (memchr(buf + len - n, '\n', (size_t)n))
            break;
    }
    doc = json_loadb(buf, len, 0, NULL);
    if (doc && json_is_false(json_object_get(doc, "ok"))) { /* an error reply */
        json_decref(doc);
        doc = NULL;
    }
out:
    free(buf);
    close(fd);
    return doc;
}

/* Folds one Service port's figures for a pod into its entry. */
static void add_pod(json_t *pods, const json_t *p)
{
    const char *key = jx_str(p, "pod");
    json_t *e, *rps = json_object_get(p, "requestsPerSecond");
    double r = json_is_number(rps) ? json_number_value(rps) : 0;
    json_int_t n = jx_int(p, "requests", 0);

    if (!key || !*key)
        return;
    e = json_object_get(pods, key);
    if (!e) {
        e = json_pack("{s:f,s:I,s:I,s:n}", "rps", 0.0, "inflight", (json_int_t)0, "n",
                      (json_int_t)0, "p99");
        json_object_set_new(pods, key, e);
    }
    json_object_set_new(e, "rps", json_real(json_number_value(json_object_get(e, "rps")) + r));
    json_object_set_new(e, "inflight",
                        json_integer(jx_int(e, "inflight", 0) + jx_int(p, "inFlight", 0)));
    if (n > jx_int(e, "n", 0)) {
        json_object_set_new(e, "n", json_integer(n));
        json_object_set(e, "p99", json_object_get(p, "latencyP99"));
    }
}

static json_t *pods_of(const json_t *doc)
{
    json_t *pods = json_object(), *svc, *p;
    size_t i, j;

    json_array_foreach(json_object_get(doc, "services"), i, svc)
        json_array_foreach(json_object_get(svc, "pods"), j, p) add_pod(pods, p);
    return pods;
}

static void *poll_main(void *arg)
{
    struct pod_stats *ps = arg;

    while (!atomic_load(&ps->stop)) {
        json_t *docs[NWINDOWS];
        int ok = 1;

        for (int i = 0; i < NWINDOWS; i++) /* the first is WINDOW_S, for custom metrics */
            ok = (docs[i] = ok ? proxy_stats(ps->sock_path, query_windows[i]) : NULL) != NULL;
        if (ok) {
            json_t *pods = pods_of(docs[0]);

            pthread_mutex_lock(&ps->mu);
            json_decref(ps->pods);
            ps->pods = pods;
            ps->polled = time(NULL);
            for (int i = 0; i < NWINDOWS; i++) {
                json_decref(ps->docs[i]);
                ps->docs[i] = docs[i];
            }
            pthread_mutex_unlock(&ps->mu);
        } else {
            for (int i = 0; i < NWINDOWS; i++)
                json_decref(docs[i]);
        }
        for (int i = 0; i < POLL_S * 10 && !atomic_load(&ps->stop); i++)
            usleep(100 * 1000);
    }
    return NULL;
}

/* A quantity the way resource.Quantity prints one, to the microunit: "12500m", "3", "420u"
 * (a sub-millisecond latency in seconds must not round to 0). */
static json_t *quantity(double v)
{
    long long u;

    if (!(v >= 0)) /* NaN, negative: nothing measured */
        v = 0;
    if (v > 9e12)
        v = 9e12;
    u = llround(v * 1e6);
    if (u % 1000000 == 0)
        return json_sprintf("%lld", u / 1000000);
    if (u % 1000 == 0)
        return json_sprintf("%lldm", u / 1000);
    return json_sprintf("%lldu", u);
}

static json_t *on_custom_metric(const json_t *pod, const char *metric, void *ctx)
{
    struct pod_stats *ps = ctx;
    char key[600], ts[32];
    const json_t *e;
    json_t *value = NULL, *out = NULL;
    struct tm tm;

    snprintf(key, sizeof key, "%s/%s", jx_str(pod, "metadata.namespace") ?: "",
             jx_str(pod, "metadata.name") ?: "");
    pthread_mutex_lock(&ps->mu);
    e = ps->pods && time(NULL) - ps->polled <= STALE_S ? json_object_get(ps->pods, key) : NULL;
    if (e && !strcmp(metric, "http_requests_per_second"))
        value = quantity(json_number_value(json_object_get(e, "rps")));
    else if (e && !strcmp(metric, "http_requests_in_flight"))
        value = quantity((double)jx_int(e, "inflight", 0));
    else if (e && !strcmp(metric, "http_request_duration_seconds_p99") &&
             json_is_number(json_object_get(e, "p99")))
        value = quantity(json_number_value(json_object_get(e, "p99")));
    if (value) {
        gmtime_r(&ps->polled, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        out =
            json_pack("{s:o,s:i,s:s}", "value", value, "windowSeconds", WINDOW_S, "timestamp", ts);
    }
    pthread_mutex_unlock(&ps->mu);
    return out;
}

/* ---- the built-in metrics for PromQL (core/promql.h) ---- */

static const char *const code_classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

/* A series with the labels of a proxy service "ns/name:port" and a revision. */
static struct promql_series *series(struct promql_vec *out, double v, const char *svc,
                                    const char *rev)
{
    struct promql_series *s = promql_vec_push(out, v);
    const char *slash = strchr(svc, '/'), *name = slash ? slash + 1 : svc;
    const char *colon = strrchr(name, ':');
    char ns[256], nm[256];

    if (!s)
        return NULL;
    snprintf(ns, sizeof ns, "%.*s", slash ? (int)(slash - svc) : 0, svc);
    snprintf(nm, sizeof nm, "%.*s", colon ? (int)(colon - name) : (int)strlen(name), name);
    promql_series_set(s, "namespace", ns);
    promql_series_set(s, "service", nm);
    promql_series_set(s, "port", colon ? colon + 1 : "");
    promql_series_set(s, "revision", rev);
    return s;
}

/* The series of metric for one revision's counts (proxy/stats.c counts_json). */
static int revision_series(const char *metric, const json_t *bounds, const char *svc,
                           const char *rev, const json_t *c, struct promql_vec *out)
{
    const json_t *codes = json_object_get(c, "codes"), *b = json_object_get(c, "buckets");
    double cum = 0;
    struct promql_series *s;

    if (!strcmp(metric, "kroll_http_requests_total")) {
        for (size_t i = 0; i < json_array_size(codes) && i < 5; i++) {
            double v = (double)json_integer_value(json_array_get(codes, i)) +
                       (i == 4 ? (double)jx_int(c, "connectErrors", 0) : 0);

            if (!(s = series(out, v, svc, rev)))
                return -1;
            promql_series_set(s, "code_class", code_classes[i]);
        }
        return 0;
    }
    for (size_t i = 0; i < json_array_size(b); i++)
        cum += (double)json_integer_value(json_array_get(b, i));
    if (!strcmp(metric, "kroll_http_request_duration_seconds_count"))
        return series(out, cum, svc, rev) ? 0 : -1;
    if (!strcmp(metric, "kroll_http_request_duration_seconds_sum"))
        return series(out, json_number_value(json_object_get(c, "latencySumSeconds")), svc, rev)
                   ? 0
                   : -1;
    if (strcmp(metric, "kroll_http_request_duration_seconds_bucket"))
        return 0;
    cum = 0;
    for (size_t i = 0; i < json_array_size(b); i++) {
        char le[32];

        cum += (double)json_integer_value(json_array_get(b, i));
        if (i < json_array_size(bounds))
            snprintf(le, sizeof le, "%g", json_number_value(json_array_get(bounds, i)));
        else
            snprintf(le, sizeof le, "+Inf");
        if (!(s = series(out, cum, svc, rev)))
            return -1;
        promql_series_set(s, "le", le);
    }
    return 0;
}

static int query_source(const char *metric, int range_s, struct promql_vec *out, char *msg,
                        size_t n, void *ctx)
{
    struct pod_stats *ps = ctx;
    const json_t *doc, *svc, *rev;
    int w = range_s ? -1 : 0, rc = 0;
    size_t i, j;

    for (int k = 0; k < NWINDOWS && w < 0; k++)
        if (query_windows[k] == range_s)
            w = k;
    if (w < 0) {
        snprintf(msg, n,
                 "range %ds: the built-in metrics have the proxy's windows 30s, 1m, 2m, "
                 "5m and 10m",
                 range_s);
        return -1;
    }
    pthread_mutex_lock(&ps->mu);
    doc = time(NULL) - ps->polled <= STALE_S ? ps->docs[w] : NULL; /* stale: no series */
    json_array_foreach(json_object_get(doc, "services"), i, svc)
    {
        const char *name = jx_str(svc, "service") ?: "";

        json_array_foreach(json_object_get(svc, "revisions"), j, rev)
        {
            if (rc == 0 &&
                revision_series(metric, json_object_get(doc, "latencyBounds"), name,
                                jx_str(rev, "revision") ?: "",
                                json_object_get(rev, range_s ? "counts" : "countsTotal"), out) < 0)
                rc = -1;
        }
    }
    pthread_mutex_unlock(&ps->mu);
    if (rc < 0) {
        snprintf(msg, n, "%s selects more than %d series", metric, PROMQL_MAX_SERIES);
        return -2;
    }
    return 0;
}

struct pod_stats *pod_stats_start(struct api *api, const char *data_dir)
{
    struct pod_stats *ps = xcalloc(1, sizeof *ps);

    ps->api = api;
    ps->sock_path = xasprintf("%s/run/proxy.sock", data_dir);
    pthread_mutex_init(&ps->mu, NULL);
    if (pthread_create(&ps->th, NULL, poll_main, ps)) {
        log_warn("server", "msg=\"cannot start the pod stats thread: no custom metrics\"");
        pthread_mutex_destroy(&ps->mu);
        free(ps->sock_path);
        free(ps);
        return NULL;
    }
    api_set_custom_metrics_hook(api, on_custom_metric, ps);
    promql_set_source(query_source, ps);
    return ps;
}

void pod_stats_stop(struct pod_stats *ps)
{
    if (!ps)
        return;
    api_set_custom_metrics_hook(ps->api, NULL, NULL);
    promql_set_source(NULL, NULL);
    atomic_store(&ps->stop, 1);
    pthread_join(ps->th, NULL);
    pthread_mutex_destroy(&ps->mu);
    json_decref(ps->pods);
    for (int i = 0; i < NWINDOWS; i++)
        json_decref(ps->docs[i]);
    free(ps->sock_path);
    free(ps);
}
