/* Endpoint tables: endpoints (one stats/pool slot per worker), immutable tables swapped as a
 * whole per service, the balancer (least-request or round-robin, ready before terminating) and
 * the static provider that the benchmark mode uses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/proxy-int.h"

const double px_lat_bounds[PX_LAT_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  10};

int px_lat_bucket(uint64_t us)
{
    for (int i = 0; i < PX_LAT_BUCKETS - 1; i++)
        if ((double)us <= px_lat_bounds[i] * 1e6)
            return i;
    return PX_LAT_BUCKETS - 1;
}

int px_addr_parse(const char *text, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[64];
    const char *colon, *h = text;
    size_t hl;
    char *end;
    long port;

    colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    hl = (size_t)(colon - text);
    if (text[0] == '[') { /* [v6]:port */
        if (colon[-1] != ']')
            return -1;
        h = text + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 0;
    }
    return -1;
}

struct px_endpoint *px_endpoint_new(const char *addr, const char *pod, const char *revision,
                                    const char *netns, unsigned flags, int nworkers,
                                    const char **errmsg)
{
    struct px_endpoint *ep;
    struct sockaddr_storage sa;
    socklen_t salen;

    if (px_addr_parse(addr, &sa, &salen) < 0) {
        *errmsg = "endpoint address must be a numeric IP and port (e.g. 127.0.0.1:8080)";
        return NULL;
    }
    ep = xcalloc(1, sizeof *ep);
    atomic_init(&ep->refs, 1);
    ep->addr = xstrdup(addr);
    ep->sa = sa;
    ep->salen = salen;
    ep->pod = xstrdup(pod ? pod : "");
    ep->revision = xstrdup(revision ? revision : "");
    ep->netns = xstrdup(netns ? netns : "");
    ep->key = netns && *netns ? xasprintf("%s@%s", addr, netns) : xstrdup(addr);
    atomic_init(&ep->flags, flags);
    ep->nworkers = nworkers;
    if (posix_memalign((void **)&ep->w, 64, (size_t)nworkers * sizeof *ep->w))
        die("out of memory");
    memset(ep->w, 0, (size_t)nworkers * sizeof *ep->w);
    return ep;
}

struct px_endpoint *px_endpoint_ref(struct px_endpoint *ep)
{
    atomic_fetch_add(&ep->refs, 1);
    return ep;
}

void px_endpoint_unref(struct px_endpoint *ep)
{
    if (!ep || atomic_fetch_sub(&ep->refs, 1) != 1)
        return;
    free(ep->key);
    free(ep->addr);
    free(ep->pod);
    free(ep->revision);
    free(ep->netns);
    free(ep->w);
    px_epstats_free(ep->stats);
    free(ep);
}

int64_t px_endpoint_inflight(struct px_endpoint *ep)
{
    int64_t n = 0;

    for (int i = 0; i < ep->nworkers; i++)
        n += PX_STAT_GET(ep->w[i].stats.inflight);
    return n;
}

int64_t px_endpoint_pooled(struct px_endpoint *ep)
{
    int64_t n = 0;

    for (int i = 0; i < ep->nworkers; i++)
        n += PX_STAT_GET(ep->w[i].stats.pooled);
    return n;
}

struct px_table *px_table_new(struct px_endpoint **eps, int n)
{
    struct px_table *t = xcalloc(1, sizeof *t);

    atomic_init(&t->refs, 1);
    t->n = n;
    t->eps = xcalloc(n ? (size_t)n : 1, sizeof *t->eps);
    for (int i = 0; i < n; i++)
        t->eps[i] = px_endpoint_ref(eps[i]);
    return t;
}

struct px_table *px_table_ref(struct px_table *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

void px_table_unref(struct px_table *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (int i = 0; i < t->n; i++)
        px_endpoint_unref(t->eps[i]);
    px_routes_free(t->routes);
    free(t->eps);
    free(t);
}

struct px_service *px_service_new(const char *name, const char *listen, enum px_mode mode,
                                  int nworkers, const char **errmsg)
{
    struct px_service *svc = xcalloc(1, sizeof *svc);

    if (px_addr_parse(listen, &svc->listen, &svc->listen_len) < 0) {
        *errmsg = "listen address must be a numeric IP and port (e.g. 127.0.0.1:8080)";
        free(svc);
        return NULL;
    }
    svc->name = xstrdup(name);
    svc->listen_text = xstrdup(listen);
    svc->mode = mode;
    pthread_mutex_init(&svc->mu, NULL);
    svc->table = px_table_new(NULL, 0);
    svc->nworkers = nworkers;
    if (posix_memalign((void **)&svc->wstats, 64, (size_t)nworkers * sizeof *svc->wstats))
        die("out of memory");
    memset(svc->wstats, 0, (size_t)nworkers * sizeof *svc->wstats);
    return svc;
}

void px_service_free(struct px_service *svc)
{
    if (!svc)
        return;
    px_table_unref(svc->table);
    pthread_mutex_destroy(&svc->mu);
    px_revs_free(svc);
    free(svc->wstats);
    free(svc->name);
    free(svc->listen_text);
    free(svc);
}

static int table_has(const struct px_table *t, const struct px_endpoint *ep)
{
    for (int i = 0; i < t->n; i++)
        if (t->eps[i] == ep)
            return 1;
    return 0;
}

void px_service_publish(struct px_service *svc, struct px_table *t)
{
    struct px_table *old;

    pthread_mutex_lock(&svc->mu);
    old = svc->table;
    t->gen = old->gen + 1;
    svc->table = t;
    for (int i = 0; i < old->n; i++)
        if (!table_has(t, old->eps[i]))
            atomic_store(&old->eps[i]->removed, 1);
    atomic_store_explicit(&svc->gen, t->gen, memory_order_release);
    pthread_mutex_unlock(&svc->mu);
    px_table_unref(old);
}

struct px_table *px_service_table(struct px_service *svc)
{
    struct px_table *t;

    pthread_mutex_lock(&svc->mu);
    t = px_table_ref(svc->table);
    pthread_mutex_unlock(&svc->mu);
    return t;
}

static int skipped(struct px_endpoint *ep, struct px_endpoint *const *skip, int nskip)
{
    for (int i = 0; i < nskip; i++)
        if (skip[i] == ep)
            return 1;
    return 0;
}

/* One pass over the table for endpoints with all of `want` flags. Least-request keeps the
 * lowest in-flight count, starting at a rotating offset so that ties spread evenly. */
static struct px_endpoint *pick_pass(const struct px_table *t, int wid, enum px_balance mode,
                                     unsigned want, struct px_endpoint *const *skip, int nskip,
                                     unsigned start, int64_t now)
{
    struct px_endpoint *best = NULL;

    for (int k = 0; k < t->n; k++) {
        struct px_endpoint *ep = t->eps[(start + (unsigned)k) % (unsigned)t->n];

        unsigned flags = atomic_load_explicit(&ep->flags, memory_order_relaxed);

        if ((flags & want) != want || skipped(ep, skip, nskip) ||
            atomic_load_explicit(&ep->draining, memory_order_relaxed) ||
            ep->w[wid].down_until > now)
            continue;
        if (mode == PX_BALANCE_ROUND_ROBIN)
            return ep;
        if (!best || ep->w[wid].inflight < best->w[wid].inflight)
            best = ep;
    }
    return best;
}

struct px_endpoint *px_balance_pick(const struct px_table *t, int wid, enum px_balance mode,
                                    struct px_endpoint *const *skip, int nskip, unsigned *rr,
                                    int64_t now)
{
    struct px_endpoint *ep;
    unsigned start;

    if (!t->n)
        return NULL;
    start = (*rr)++;
    ep = pick_pass(t, wid, mode, PX_EP_READY, skip, nskip, start, now);
    if (!ep)
        ep = pick_pass(t, wid, mode, PX_EP_SERVING | PX_EP_TERMINATING, skip, nskip, start, now);
    if (!ep) /* only recently failing endpoints are left: better them than a 503 */
        ep = pick_pass(t, wid, mode, PX_EP_READY, skip, nskip, start, INT64_MAX);
    if (!ep)
        ep = pick_pass(t, wid, mode, PX_EP_SERVING | PX_EP_TERMINATING, skip, nskip, start,
                       INT64_MAX);
    return ep;
}

/* ---- static provider ---- */

struct static_ctx {
    char *listen, *backends;
    enum px_mode mode;
};

static int static_start(struct px_provider *p, struct proxy *px)
{
    struct static_ctx *sc = p->ctx;
    struct px_endpoint *eps[256];
    const char *msg = NULL;
    struct px_service *svc;
    char *list = xstrdup(sc->backends), *save = NULL, *tok;
    int n = 0, rc = -1;

    svc = px_service_new("static", sc->listen, sc->mode, px->cfg.nworkers, &msg);
    if (!svc) {
        fprintf(stderr, "kroll proxy: --listen %s: %s\n", sc->listen, msg);
        goto out;
    }
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == 256 || !(eps[n] = px_endpoint_new(tok, "", "", "", PX_EP_READY | PX_EP_SERVING,
                                                  px->cfg.nworkers, &msg))) {
            fprintf(stderr, "kroll proxy: --backends %s: %s\n", tok, n == 256 ? "too many" : msg);
            goto out;
        }
        n++;
    }
    if (!n) {
        fprintf(stderr, "kroll proxy: --backends needs at least one HOST:PORT\n");
        goto out;
    }
    px_service_publish(svc, px_table_new(eps, n));
    rc = proxy_service_add(px, svc);
    svc = NULL;
out:
    for (int i = 0; i < n; i++)
        px_endpoint_unref(eps[i]);
    px_service_free(svc);
    free(list);
    return rc;
}

static void static_stop(struct px_provider *p)
{
    struct static_ctx *sc = p->ctx;

    free(sc->listen);
    free(sc->backends);
    free(sc);
    p->ctx = NULL;
}

int px_static_provider_init(struct px_provider *p, const char *listen, const char *backends,
                            enum px_mode mode)
{
    struct static_ctx *sc = xcalloc(1, sizeof *sc);

    sc->listen = xstrdup(listen);
    sc->backends = xstrdup(backends);
    sc->mode = mode;
    *p = (struct px_provider){.name = "static", .start = static_start, .stop = static_stop,
                              .ctx = sc};
    return 0;
}
