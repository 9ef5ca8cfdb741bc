/* Metrics and the admin port: sums the per-worker stats slots of every endpoint and service into
 * Prometheus text format, served on --admin by a small blocking thread (off the data path). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/dns-int.h"
#include "proxy/proxy-int.h"

static const char *const class_names[PX_NCLASS] = {"1xx", "2xx", "3xx", "4xx", "5xx", "aborted"};

struct sum {
    uint64_t requests[PX_NCLASS], latency[PX_LAT_BUCKETS], sum_us, connect_errors;
    int64_t inflight, pooled;
};

static void sum_stats(const struct px_stats *st, size_t stride, int n, struct sum *s)
{
    memset(s, 0, sizeof *s);
    for (int w = 0; w < n; w++) {
        const struct px_stats *x = (const struct px_stats *)((const char *)st + stride * w);

        for (int i = 0; i < PX_NCLASS; i++)
            s->requests[i] += PX_STAT_GET(x->requests[i]);
        for (int i = 0; i < PX_LAT_BUCKETS; i++)
            s->latency[i] += PX_STAT_GET(x->latency[i]);
        s->sum_us += PX_STAT_GET(x->latency_sum_us);
        s->connect_errors += PX_STAT_GET(x->connect_errors);
        s->inflight += PX_STAT_GET(x->inflight);
        s->pooled += PX_STAT_GET(x->pooled);
    }
}

void px_prom_histogram(struct buf *out, const char *name, const char *labels,
                       const uint64_t latency[PX_LAT_BUCKETS], uint64_t sum_us)
{
    uint64_t cum = 0;

    for (int i = 0; i < PX_LAT_BUCKETS; i++) {
        cum += latency[i];
        if (i < PX_LAT_BUCKETS - 1)
            buf_appendf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, px_lat_bounds[i],
                        (unsigned long long)cum);
        else
            buf_appendf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
                        (unsigned long long)cum);
    }
    buf_appendf(out, "%s_sum{%s} %.6f\n", name, labels, (double)sum_us / 1e6);
    buf_appendf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

static void render_series(struct buf *out, const char *labels, const struct sum *s)
{
    uint64_t total = 0;

    for (int i = 0; i < PX_NCLASS; i++) {
        total += s->requests[i];
        buf_appendf(out, "kroll_proxy_requests_total{%s,code=\"%s\"} %llu\n", labels,
                    class_names[i], (unsigned long long)s->requests[i]);
    }
    px_prom_histogram(out, "kroll_proxy_request_duration_seconds", labels, s->latency, s->sum_us);
    (void)total;
}

static void render_service(struct buf *out, struct px_service *svc)
{
    struct px_table *t = px_service_table(svc);
    struct sum s;
    char labels[512];

    snprintf(labels, sizeof labels, "service=\"%s\",endpoint=\"\",pod=\"\",revision=\"\"",
             svc->name);
    sum_stats(svc->wstats, sizeof *svc->wstats, svc->nworkers, &s);
    render_series(out, labels, &s);
    for (int i = 0; i < t->n; i++) {
        struct px_endpoint *ep = t->eps[i];

        snprintf(labels, sizeof labels, "service=\"%s\",endpoint=\"%s\",pod=\"%s\",revision=\"%s\"",
                 svc->name, ep->addr, ep->pod, ep->revision);
        sum_stats(&ep->w[0].stats, sizeof ep->w[0], ep->nworkers, &s);
        render_series(out, labels, &s);
        buf_appendf(out, "kroll_proxy_requests_in_flight{%s} %lld\n", labels,
                    (long long)s.inflight);
        buf_appendf(out, "kroll_proxy_upstream_connect_errors_total{%s} %llu\n", labels,
                    (unsigned long long)s.connect_errors);
        buf_appendf(out, "kroll_proxy_upstream_idle_connections{%s} %lld\n", labels,
                    (long long)s.pooled);
        buf_appendf(out, "kroll_proxy_drains_total{%s} %llu\n", labels,
                    (unsigned long long)atomic_load(&ep->drains));
        buf_appendf(out, "kroll_proxy_endpoint_ready{%s} %d\n", labels,
                    (atomic_load(&ep->flags) & PX_EP_READY) && !atomic_load(&ep->draining));
    }
    px_table_unref(t);
}

void px_metrics_render(struct proxy *px, struct buf *out)
{
    buf_appendf(out, "# HELP kroll_proxy_requests_total Requests by status class.\n"
                     "# TYPE kroll_proxy_requests_total counter\n"
                     "# HELP kroll_proxy_request_duration_seconds Time to the response's end.\n"
                     "# TYPE kroll_proxy_request_duration_seconds histogram\n"
                     "# TYPE kroll_proxy_requests_in_flight gauge\n"
                     "# TYPE kroll_proxy_upstream_connect_errors_total counter\n"
                     "# TYPE kroll_proxy_upstream_idle_connections gauge\n"
                     "# TYPE kroll_proxy_drains_total counter\n"
                     "# TYPE kroll_proxy_endpoint_ready gauge\n"
                     "# TYPE kroll_proxy_client_connections gauge\n");
    buf_appendf(out, "kroll_proxy_client_connections %d\n", atomic_load(&px->conns));
    buf_appendf(out,
                "# HELP kroll_proxy_pod_listeners Service listeners inside pods.\n"
                "# TYPE kroll_proxy_pod_listeners gauge\n"
                "kroll_proxy_pod_listeners %d\n",
                atomic_load(&px->pod_listeners));
    if (px->dns) {
        static const char *const rc[7] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                          "NOTIMP",  "REFUSED", "other"};
        uint64_t n[7];

        px_dns_counts(px->dns, n);
        buf_appendf(out, "# HELP kroll_proxy_dns_replies_total Cluster DNS replies by rcode.\n"
                         "# TYPE kroll_proxy_dns_replies_total counter\n");
        for (int i = 0; i < 7; i++)
            buf_appendf(out, "kroll_proxy_dns_replies_total{rcode=\"%s\"} %llu\n", rc[i],
                        (unsigned long long)n[i]);
    }
    pthread_mutex_lock(&px->mu);
    for (int i = 0; i < px->nsvcs; i++)
        if (!atomic_load(&px->svcs[i]->retired))
            render_service(out, px->svcs[i]);
    px_stats_render_prom(px, out);
    pthread_mutex_unlock(&px->mu);
}

/* ---- admin listener ---- */

struct admin {
    struct proxy *px;
    int fd;
};

/* The whole request head must arrive within this many seconds. */
#define ADMIN_HEAD_TIMEOUT_S 5

static void admin_serve(struct proxy *px, int fd)
{
    char req[4096];
    size_t len = 0;
    struct buf body, out;
    struct timeval tv = {2, 0};
    const char *status = "200 OK", *ctype = "text/plain; version=0.0.4";

    time_t until = time(NULL) + ADMIN_HEAD_TIMEOUT_S;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (len < sizeof req - 1) {
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);

        /* The per-recv timeout alone lets a client trickle a byte every 2 s and hold this
         * single-threaded listener for hours: the whole head has a deadline too. */
        if (n <= 0 || time(NULL) > until)
            return;
        len += (size_t)n;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    buf_init(&body, 64 << 20);
    buf_init(&out, 64 << 20);
    if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13))
        px_metrics_render(px, &body);
    else if (!strncmp(req, "GET /stats ", 11) || !strncmp(req, "GET /stats?", 11)) {
        char *eol = strchr(req, '\n');

        if (eol) /* the query ends at the request line's end */
            *eol = 0;
        ctype = "application/json";
        if (px_stats_render(px, req[10] == '?' ? req + 11 : NULL, &body) < 0) {
            status = "400 Bad Request";
            ctype = "text/plain";
        }
    } else if (!strncmp(req, "GET /healthz ", 13))
        buf_appendf(&body, "ok\n");
    else {
        status = "404 Not Found";
        buf_appendf(&body, "not found\n");
    }
    buf_appendf(&out,
                "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n",
                status, ctype, body.len);
    buf_append(&out, body.data, body.len);
    for (size_t off = 0; off < out.len;) {
        ssize_t n = send(fd, out.data + off, out.len - off, MSG_NOSIGNAL);

        if (n <= 0)
            break;
        off += (size_t)n;
    }
    buf_release(&body);
    buf_release(&out);
}

static void *admin_main(void *arg)
{
    struct admin *a = arg;
    int backoff = 0;

    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (px_accept_retry(errno, "admin", &backoff))
                continue; /* EMFILE and friends: back off, never spin, never exit */
            break;        /* the listener was shut down */
        }
        backoff = 0;
        admin_serve(a->px, fd);
        close(fd);
    }
    close(a->fd);
    free(a);
    return NULL;
}

int px_admin_start(struct proxy *px, const char *listen_addr)
{
    struct sockaddr_storage sa;
    socklen_t len;
    pthread_t th;
    struct admin *a;
    int fd, one = 1;

    size_t ll = strlen(listen_addr);
    char *any = ll > 2 && !strcmp(listen_addr + ll - 2, ":0")
                    ? xasprintf("%.*s:1", (int)(ll - 2), listen_addr)
                    : NULL; /* port 0: any port */
    int bad = px_addr_parse(any ? any : listen_addr, &sa, &len) < 0;

    free(any);
    if (any && !bad)
        ((struct sockaddr_in *)&sa)->sin_port = 0; /* same offset in sockaddr_in6 */
    if (bad) {
        fprintf(stderr, "kroll proxy: --admin %s: expected IP:PORT\n", listen_addr);
        return -1;
    }
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "kroll proxy: --admin %s: %s\n", listen_addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.ss_family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sa;

        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        snprintf(px->admin_bound, sizeof px->admin_bound, "%s:%d", ip, ntohs(s4->sin_port));
    }
    a = xcalloc(1, sizeof *a);
    a->px = px;
    a->fd = fd;
    if (pthread_create(&th, NULL, admin_main, a)) {
        close(fd);
        free(a);
        return -1;
    }
    pthread_detach(th);
    return 0;
}
