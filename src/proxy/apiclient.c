/* The API-client provider: keeps the proxy's services and endpoint tables equal to the
 * cluster's Services and EndpointSlices. One thread per resource (Services, EndpointSlices,
 * Pods) lists and then watches over HTTPS and keeps a map of the objects; a reconciler thread
 * turns the maps into listeners and tables. While the server is away nothing changes: the last
 * tables keep serving, and every reconnect re-lists, replacing a map only once its list has
 * been read whole, so a restart never shows a half-empty state. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "proxy/dns-int.h"
#include "proxy/kube.h"
#include "proxy/proxy-int.h"

#define WATCH_TIMEOUT_S 240
#define COALESCE_MS 30 /* the endpoints controller writes a Service's slices back to back */
#define RESYNC_MS 1000 /* retry binds, notice pods whose shim appeared */
#define LINE_MAX_BYTES (16u << 20)

enum { INF_SVC, INF_SLICE, INF_POD, INF_GW, INF_ROUTE, NINF };

struct apic;

struct informer {
    struct apic *ac;
    const char *what, *path;
    json_t *objs; /* "ns/name" -> object; under ac->mu */
    int synced;   /* one list has been read */
    int live;     /* listed, and its watch has not ended since */
    int fd;       /* current connection, so that stop can cut it; under ac->mu */
    pthread_t th;
};

/* A service the reconciler created; name + listen is its identity. */
struct api_svc {
    struct px_service *svc;
    int seen, cluster; /* cluster: at the clusterIP (so also inside every pod) */
};

struct apic {
    struct proxy *px;
    char *data_dir, *node_address, *kubeconfig;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int dirty, stop;
    struct informer inf[NINF];
    pthread_t rth;
    struct api_svc *svcs; /* reconciler thread only */
    int nsvcs;
    struct px_podlis *podlis; /* reconciler thread only */
    unsigned lost; /* informer connections lost so far; under mu */
};

/* ---- desired state ---- */

struct want_ep {
    char *addr, *pod, *rev, *netns;
    unsigned flags;
};

struct want_svc {
    char *name, *listen;
    enum px_mode mode;
    int cluster;
    struct want_ep *eps;
    int n;
    json_t *routes; /* a Gateway listener: its routes' entries (px_routes_build), else NULL */
};

static void want_free(struct want_svc *ws, int n)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < ws[i].n; j++) {
            free(ws[i].eps[j].addr);
            free(ws[i].eps[j].pod);
            free(ws[i].eps[j].rev);
            free(ws[i].eps[j].netns);
        }
        free(ws[i].eps);
        json_decref(ws[i].routes);
        free(ws[i].name);
        free(ws[i].listen);
    }
    free(ws);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pod's network namespace, as its kubelet publishes it on the pod (POD_NETNS_ANNOTATION):
 * "" for a pod that has none we can use (hostNetwork pods, whose IP is reachable from here, or
 * a pod whose namespace is gone). */
static char *pod_netns(const json_t *pod)
{
    const char *ns = jx_annotation(pod, POD_NETNS_ANNOTATION);

    if (!netns_path_valid(ns) || access(ns, F_OK) < 0)
        return xstrdup("");
    return xstrdup(ns);
}

/* Kubernetes' condition rules: a nil ready means ready; a nil serving follows ready. */
static unsigned slice_ep_flags(const json_t *ep)
{
    const json_t *c = json_object_get(ep, "conditions");
    const json_t *r = json_object_get(c, "ready"), *s = json_object_get(c, "serving");
    const json_t *t = json_object_get(c, "terminating");
    int ready = !json_is_boolean(r) || json_is_true(r);
    int serving = json_is_boolean(s) ? json_is_true(s) : ready;
    unsigned f = 0;

    if (ready)
        f |= PX_EP_READY | PX_EP_SERVING;
    if (serving)
        f |= PX_EP_SERVING;
    if (json_is_true(t))
        f |= PX_EP_TERMINATING;
    return f;
}

/* The slice's port number for the Service port named name ("" when unnamed), or 0. */
static int slice_port(const json_t *slice, const char *name)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(slice, "ports"), i, p)
    {
        const char *pn = jx_str(p, "name") ?: "";
        const char *proto = jx_str(p, "protocol") ?: "TCP";

        if (!strcmp(pn, name) && !strcmp(proto, "TCP"))
            return (int)jx_int(p, "port", 0);
    }
    return 0;
}

static int flags_rank(unsigned f)
{
    return (f & PX_EP_READY ? 4 : 0) + (f & PX_EP_SERVING ? 2 : 0) + !(f & PX_EP_TERMINATING);
}

static void want_add_ep(struct apic *ac, struct want_svc *ws, const json_t *ep, int port)
{
    const json_t *ref = json_object_get(ep, "targetRef");
    const char *ip = json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
    const char *pns = jx_str(ref, "namespace") ?: "", *pname = jx_str(ref, "name") ?: "";
    char *addr, *key, *netns;
    const json_t *pod;
    unsigned f = slice_ep_flags(ep);

    if (!ip || !*ip)
        return;
    addr = xasprintf(strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
    for (int i = 0; i < ws->n; i++)
        if (!strcmp(ws->eps[i].addr, addr)) { /* in two slices mid-update: keep the better */
            if (flags_rank(f) > flags_rank(ws->eps[i].flags))
                ws->eps[i].flags = f;
            free(addr);
            return;
        }
    key = xasprintf("%s/%s", pns, pname);
    pod = json_object_get(ac->inf[INF_POD].objs, key);
    netns = pod_netns(pod);
    /* A pod endpoint is only usable once its pod says where its namespace is (or that it has
     * none): a slice can be ahead of the pod watch, and a socket opened in our own namespace
     * instead would fail the request. */
    if (*pname && (!pod || (!*netns && !jx_bool(pod, "spec.hostNetwork")))) {
        free(addr);
        free(key);
        free(netns);
        return;
    }
    ws->eps = xrealloc(ws->eps, (size_t)(ws->n + 1) * sizeof *ws->eps);
    ws->eps[ws->n++] = (struct want_ep){
        .addr = addr,
        .pod = *pname ? key : (free(key), xstrdup("")),
        .rev = xstrdup(jx_str(pod, "metadata.labels.rollouts-pod-template-hash") ?:
                       jx_str(pod, "metadata.labels.pod-template-hash") ?:
                       jx_str(pod, "metadata.labels.controller-revision-hash") ?: ""),
        .netns = netns,
        .flags = f,
    };
}

/* Port names and appProtocol decide between the HTTP path and a byte tunnel. */
static enum px_mode port_mode(const json_t *sp)
{
    const char *ap = jx_str(sp, "appProtocol"), *name = jx_str(sp, "name") ?: "";

    if (ap && *ap)
        return !strcasecmp(ap, "http") || !strcmp(ap, "kubernetes.io/http") ? PX_MODE_HTTP
                                                                             : PX_MODE_TCP;
    if (!strncmp(name, "tcp", 3) || !strncmp(name, "grpc", 4) || !strncmp(name, "h2", 2) ||
        !strncmp(name, "https", 5) || !strncmp(name, "tls", 3))
        return PX_MODE_TCP;
    return PX_MODE_HTTP;
}

static void want_push(struct want_svc **ws, int *n, const char *name, const char *ip, int port,
                      enum px_mode mode, int cluster)
{
    *ws = xrealloc(*ws, (size_t)(*n + 1) * sizeof **ws);
    (*ws)[(*n)++] = (struct want_svc){.name = xstrdup(name),
                                      .listen = xasprintf("%s:%d", ip, port),
                                      .mode = mode,
                                      .cluster = cluster};
}

/* Every listener one Service port needs, each with the endpoints of its slices. */
static void want_service_port(struct apic *ac, const json_t *svc, const json_t *sp,
                              struct want_svc **ws, int *n)
{
    const char *ns = jx_str(svc, "metadata.namespace") ?: "default";
    const char *name = jx_str(svc, "metadata.name") ?: "";
    const char *type = jx_str(svc, "spec.type") ?: "ClusterIP";
    const char *cip = jx_str(svc, "spec.clusterIP"), *pname = jx_str(sp, "name") ?: "";
    int port = (int)jx_int(sp, "port", 0), np = (int)jx_int(sp, "nodePort", 0), first = *n;
    enum px_mode mode = port_mode(sp);
    const char *k;
    json_t *slice;
    char *label;

    if (port <= 0 || strcmp(jx_str(sp, "protocol") ?: "TCP", "TCP"))
        return;
    label = xasprintf("%s/%s:%d", ns, name, port);
    /* CLUSTER_DNS_IP (kube-system/kube-dns) is answered by the DNS thread, not routed. */
    if (cip && *cip && strcmp(cip, "None") && strcmp(cip, CLUSTER_DNS_IP))
        want_push(ws, n, label, cip, port, mode, 1);
    free(label);
    if (np > 0 && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))) {
        label = xasprintf("%s/%s:%d@node:%d", ns, name, port, np);
        want_push(ws, n, label, ac->node_address, np, mode, 0);
        free(label);
    }
    if (!strcmp(type, "LoadBalancer")) {
        label = xasprintf("%s/%s:%d@lb", ns, name, port);
        want_push(ws, n, label, ac->node_address, port, mode, 0);
        free(label);
    }
    json_object_foreach(ac->inf[INF_SLICE].objs, k, slice)
    {
        size_t i;
        json_t *ep;
        int tp;

        const char *owner = json_string_value(json_object_get(
            json_object_get(json_object_get(slice, "metadata"), "labels"),
            "kubernetes.io/service-name"));

        if (strcmp(jx_str(slice, "metadata.namespace") ?: "", ns) || !owner ||
            strcmp(owner, name) || !(tp = slice_port(slice, pname)))
            continue;
        json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
            for (int w = first; w < *n; w++)
                want_add_ep(ac, &(*ws)[w], ep, tp);
    }
}

/* ---- Gateway listeners (gateway.networking.k8s.io/v1) ---- */

/* True when route names gw's listener l as a parent, and l allows the route's namespace. */
static int route_attaches(const json_t *route, const json_t *gw, const json_t *l)
{
    const char *rns = jx_str(route, "metadata.namespace") ?: "default";
    const char *gns = jx_str(gw, "metadata.namespace") ?: "default";
    const char *from = jx_str(l, "allowedRoutes.namespaces.from") ?: "Same";
    const json_t *p;
    size_t i;

    if (!strcmp(from, "Same") ? strcmp(rns, gns) : strcmp(from, "All"))
        return 0; /* a namespace selector is not served */
    json_array_foreach(jx_get(route, "spec.parentRefs"), i, p)
    {
        const char *sec = jx_str(p, "sectionName");
        long long port = jx_int(p, "port", 0);

        if (!strcmp(jx_str(p, "kind") ?: "Gateway", "Gateway") &&
            !strcmp(jx_str(p, "group") ?: "gateway.networking.k8s.io",
                    "gateway.networking.k8s.io") &&
            !strcmp(jx_str(p, "name") ?: "", jx_str(gw, "metadata.name") ?: "-") &&
            !strcmp(jx_str(p, "namespace") ?: rns, gns) &&
            (!sec || !strcmp(sec, jx_str(l, "name") ?: "")) &&
            (!port || port == jx_int(l, "port", 0)))
            return 1;
    }
    return 0;
}

/* The entries of listener l: the attached routes' specs, oldest first (then by namespace and
 * name), as the API's precedence wants. */
static json_t *gateway_entries(struct apic *ac, const json_t *gw, const json_t *l)
{
    json_t *sorted = json_object(), *out = json_array(), *route;
    const char *k, *lh = jx_str(l, "hostname");
    void *it;

    json_object_foreach(ac->inf[INF_ROUTE].objs, k, route)
    {
        json_t *hosts = jx_get(route, "spec.hostnames");
        char *key;

        if (!route_attaches(route, gw, l))
            continue;
        if (!json_array_size(hosts) && lh)
            hosts = json_pack("[s]", lh);
        else
            json_incref(hosts = hosts ? hosts : json_array());
        key = xasprintf("%s|%s", jx_str(route, "metadata.creationTimestamp") ?: "", k);
        json_object_set_new(sorted, key,
                            json_pack("{s:s,s:o,s:O}", "namespace",
                                      jx_str(route, "metadata.namespace") ?: "default", "hostnames",
                                      hosts, "rules", jx_get(route, "spec.rules") ?: json_null()));
        free(key);
    }
    /* jansson keeps insertion order: sort the keys by hand (a few routes per listener). */
    for (size_t n = json_object_size(sorted); n > 0; n--) {
        const char *min = NULL;

        for (it = json_object_iter(sorted); it; it = json_object_iter_next(sorted, it))
            if (!min || strcmp(json_object_iter_key(it), min) < 0)
                min = json_object_iter_key(it);
        json_array_append(out, json_object_get(sorted, min));
        json_object_del(sorted, min);
    }
    json_decref(sorted);
    return out;
}

/* One listener per HTTP port of every Gateway that kroll gave an address (its class is
 * kroll's), named "ns/gateway:port@gateway". */
static void want_gateways(struct apic *ac, struct want_svc **ws, int *n)
{
    const char *k;
    json_t *gw;

    json_object_foreach(ac->inf[INF_GW].objs, k, gw)
    {
        const char *ip = jx_str(json_array_get(jx_get(gw, "status.addresses"), 0), "value");
        const json_t *l;
        size_t i;

        if (!ip || !*ip)
            continue;
        json_array_foreach(jx_get(gw, "spec.listeners"), i, l)
        {
            int port = (int)jx_int(l, "port", 0);
            char *label;

            if (strcmp(jx_str(l, "protocol") ?: "", "HTTP") || port <= 0 || port > 65535)
                continue;
            label = xasprintf("%s:%d@gateway", k, port);
            want_push(ws, n, label, ip, port, PX_MODE_HTTP, 1);
            (*ws)[*n - 1].routes = gateway_entries(ac, gw, l);
            free(label);
        }
    }
}

/* The desired listeners and tables from the current maps; call with ac->mu held. */
static struct want_svc *want_build(struct apic *ac, int *n)
{
    struct want_svc *ws = NULL;
    const char *k;
    json_t *svc;

    *n = 0;
    json_object_foreach(ac->inf[INF_SVC].objs, k, svc)
    {
        size_t i;
        json_t *sp;

        if (!strcmp(jx_str(svc, "spec.type") ?: "", "ExternalName"))
            continue;
        json_array_foreach(jx_get(svc, "spec.ports"), i, sp)
            want_service_port(ac, svc, sp, &ws, n);
    }
    want_gateways(ac, &ws, n); /* after the Services: their tables are the backends */
    return ws;
}

/* ---- applying the desired state ---- */

/* A field we no longer know ("": the pod's shim or its object is gone, so the pod has
 * finished) does not make a new endpoint: the old one keeps its drain mark. Otherwise a
 * drained pod still listed as ready by a slice that lags (as after a server restart) came
 * back as a fresh, undrained endpoint in the host namespace, and requests failed with 502. */
static int same_or_gone(const char *have, const char *want)
{
    return !*want || !strcmp(have, want);
}

static struct px_endpoint *table_find(struct px_table *t, const struct want_ep *we)
{
    for (int i = 0; i < t->n; i++) {
        struct px_endpoint *ep = t->eps[i];

        if (!strcmp(ep->addr, we->addr) && same_or_gone(ep->netns, we->netns) &&
            !strcmp(ep->pod, we->pod) && same_or_gone(ep->revision, we->rev) &&
            !atomic_load(&ep->removed))
            return ep;
    }
    return NULL;
}

/* A backend of a Gateway route: the current table of the Service port's clusterIP listener. */
static struct px_table *backend_lookup(const char *ns, const char *name, int port, void *ctx)
{
    struct apic *ac = ctx;
    char *want = xasprintf("%s/%s:%d", ns, name, port);
    struct px_table *t = NULL;

    for (int i = 0; i < ac->nsvcs && !t; i++)
        if (!strcmp(ac->svcs[i].svc->name, want))
            t = px_service_table(ac->svcs[i].svc);
    free(want);
    return t;
}

/* A Gateway listener: publishes new routes when the routes or their backends' tables changed. */
static void apply_routes(struct apic *ac, struct px_service *svc, const struct want_svc *ws)
{
    struct px_table *cur = px_service_table(svc), *t;
    struct px_routes *r =
        px_routes_build(json_incref(ws->routes), ac->px->cfg.nworkers, backend_lookup, ac);

    if (cur->routes && !strcmp(px_routes_sig(cur->routes), px_routes_sig(r))) {
        px_routes_free(r);
    } else {
        t = px_table_new(NULL, 0);
        t->routes = r;
        px_service_publish(svc, t);
        log_info("proxy", "routes service=%s addr=%s routes=%zu", svc->name, svc->listen_text,
                 json_array_size(ws->routes));
    }
    px_table_unref(cur);
}

/* Publishes a new table when membership or conditions changed. Endpoints that stay keep their
 * object (stats, pools); a condition change flips their flags in place. */
static void apply_table(struct apic *ac, struct px_service *svc, const struct want_svc *ws)
{
    struct px_table *cur = px_service_table(svc);
    struct px_endpoint **eps = xcalloc((size_t)ws->n + 1, sizeof *eps);
    int changed = cur->n != ws->n;
    const char *msg = NULL;
    int n = 0;

    if (ws->routes) {
        free(eps);
        px_table_unref(cur);
        apply_routes(ac, svc, ws);
        return;
    }
    for (int i = 0; i < ws->n; i++) {
        const struct want_ep *we = &ws->eps[i];
        struct px_endpoint *ep = table_find(cur, we);

        if (ep) {
            if (atomic_load(&ep->flags) != we->flags) {
                atomic_store(&ep->flags, we->flags);
                changed = 1;
            }
            changed |= i >= cur->n || cur->eps[i] != ep;
            eps[n++] = px_endpoint_ref(ep);
            continue;
        }
        ep = px_endpoint_new(we->addr, we->pod, we->rev, we->netns, we->flags,
                             ac->px->cfg.nworkers, &msg);
        if (!ep) {
            log_warn("proxy", "skipping endpoint service=%s addr=%s: %s", svc->name, we->addr,
                     msg);
            continue;
        }
        eps[n++] = ep;
        changed = 1;
    }
    if (changed) {
        px_service_publish(svc, px_table_new(eps, n));
        log_info("proxy", "endpoints service=%s addr=%s count=%d", svc->name, svc->listen_text,
                 n);
    }
    for (int i = 0; i < n; i++)
        px_endpoint_unref(eps[i]);
    free(eps);
    px_table_unref(cur);
}

/* Creates a service and its listeners; -1 when the address cannot be bound (retried later). */
static int apply_new(struct apic *ac, const struct want_svc *ws)
{
    const char *msg = NULL;
    struct px_service *svc = px_service_new(ws->name, ws->listen, ws->mode, ac->px->cfg.nworkers,
                                            &msg);

    if (!svc) {
        log_warn("proxy", "skipping service=%s addr=%s: %s", ws->name, ws->listen, msg);
        return 0;
    }
    apply_table(ac, svc, ws);
    if (proxy_service_add(ac->px, svc) < 0) /* frees svc */
        return -1;
    ac->svcs = xrealloc(ac->svcs, (size_t)(ac->nsvcs + 1) * sizeof *ac->svcs);
    ac->svcs[ac->nsvcs++] = (struct api_svc){.svc = svc, .seen = 1, .cluster = ws->cluster};
    return 0;
}

/* Returns -1 when something must be retried. */
static int apply(struct apic *ac, struct want_svc *ws, int n)
{
    int rc = 0;

    for (int i = 0; i < ac->nsvcs; i++)
        ac->svcs[i].seen = 0;
    for (int i = 0; i < n; i++) {
        int j;

        for (j = 0; j < ac->nsvcs; j++)
            if (!strcmp(ac->svcs[j].svc->name, ws[i].name) &&
                !strcmp(ac->svcs[j].svc->listen_text, ws[i].listen) &&
                ac->svcs[j].svc->mode == ws[i].mode)
                break;
        if (j < ac->nsvcs) {
            ac->svcs[j].seen = 1;
            apply_table(ac, ac->svcs[j].svc, &ws[i]);
        } else if (apply_new(ac, &ws[i]) < 0) {
            rc = -1;
        }
    }
    for (int i = 0; i < ac->nsvcs;) {
        if (ac->svcs[i].seen) {
            i++;
            continue;
        }
        proxy_service_retire(ac->px, ac->svcs[i].svc);
        ac->svcs[i] = ac->svcs[--ac->nsvcs];
    }
    return rc;
}

/* The cluster-IP listeners inside every running pod (podlis.c). */
static void apply_pods(struct apic *ac, const struct px_podns *pods, int npods)
{
    struct px_service **svcs = xcalloc((size_t)ac->nsvcs + 1, sizeof *svcs);
    int n = 0;

    for (int i = 0; i < ac->nsvcs; i++)
        if (ac->svcs[i].cluster)
            svcs[n++] = ac->svcs[i].svc;
    px_podlis_sync(ac->podlis, svcs, n, pods, npods);
    free(svcs);
}

static void *reconcile_main(void *arg)
{
    struct apic *ac = arg;
    int retry = 0;

    pthread_mutex_lock(&ac->mu);
    while (!ac->stop) {
        struct timespec ts;
        struct want_svc *ws;
        struct px_podns *pods;
        int n, npods, ready = 1, live;
        unsigned lost;

        for (int i = 0; i < NINF; i++)
            ready &= ac->inf[i].synced;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += RESYNC_MS / 1000;
        if (!ac->dirty || !ready)
            pthread_cond_timedwait(&ac->cv, &ac->mu, &ts);
        if (ac->stop)
            break;
        for (int i = 0; i < NINF; i++)
            ready &= ac->inf[i].synced;
        if (!ready || (!ac->dirty && !retry && ac->nsvcs == 0))
            continue;
        if (ac->dirty) { /* let a burst of events land before acting on it */
            pthread_mutex_unlock(&ac->mu);
            usleep(COALESCE_MS * 1000);
            pthread_mutex_lock(&ac->mu);
        }
        ac->dirty = 0;
        ws = want_build(ac, &n);
        pods = px_podns_build(ac->inf[INF_POD].objs, &npods);
        if (ac->px->dns)
            px_dns_set_view(ac->px->dns, px_dns_view_build(ac->inf[INF_SVC].objs));
        lost = ac->lost;
        live = 1;
        for (int i = 0; i < NINF; i++)
            live &= ac->inf[i].live;
        pthread_mutex_unlock(&ac->mu);
        retry = apply(ac, ws, n) < 0;
        apply_pods(ac, pods, npods);
        want_free(ws, n);
        px_podns_free(pods, npods);
        pthread_mutex_lock(&ac->mu);
        /* Current again only if nothing was lost while this state was being applied. */
        if (live && lost == ac->lost)
            atomic_store(&ac->px->view_stale, 0);
    }
    pthread_mutex_unlock(&ac->mu);
    return NULL;
}

/* ---- informers ---- */

static void inf_mark(struct informer *inf, json_t *objs)
{
    struct apic *ac = inf->ac;

    pthread_mutex_lock(&ac->mu);
    if (objs) {
        json_decref(inf->objs);
        inf->objs = objs;
        inf->synced = 1;
        inf->live = 1;
    }
    ac->dirty = 1;
    pthread_cond_signal(&ac->cv);
    pthread_mutex_unlock(&ac->mu);
}

static char *obj_key(const json_t *o)
{
    return xasprintf("%s/%s", jx_str(o, "metadata.namespace") ?: "",
                     jx_str(o, "metadata.name") ?: "");
}

static int inf_set_conn(struct informer *inf, struct httpc_conn *c)
{
    int stop;

    pthread_mutex_lock(&inf->ac->mu);
    inf->fd = c ? httpc_fd(c) : -1;
    stop = inf->ac->stop;
    pthread_mutex_unlock(&inf->ac->mu);
    return stop;
}

/* LIST: replaces the map only after the whole list was read. Returns the resourceVersion. */
static char *inf_list(struct informer *inf, struct px_kube *kc, char *msg, size_t msgn)
{
    struct httpc_conn *c = NULL;
    struct buf body;
    json_t *list = NULL, *objs, *it;
    char *rv = NULL;
    size_t i;

    buf_init(&body, 256u << 20);
    if (px_kube_get(kc, inf->path, 30, &c, msg, msgn) < 0 || inf_set_conn(inf, c))
        goto out;
    if (httpc_status(c) != 200) {
        snprintf(msg, msgn, "list %s: HTTP %d", inf->what, httpc_status(c));
        goto out;
    }
    if (httpc_read_all(c, &body) < 0) {
        snprintf(msg, msgn, "list %s: %s", inf->what, httpc_error(c));
        goto out;
    }
    if (!(list = json_loadb(body.data, body.len, 0, NULL))) {
        snprintf(msg, msgn, "list %s: unreadable answer", inf->what);
        goto out;
    }
    objs = json_object();
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        char *k = obj_key(it);

        json_object_set(objs, k, it);
        free(k);
    }
    rv = xstrdup(jx_str(list, "metadata.resourceVersion") ?: "0");
    inf_mark(inf, objs);
out:
    inf_set_conn(inf, NULL);
    httpc_close(c);
    json_decref(list);
    buf_release(&body);
    return rv;
}

/* One watch event line; -1 when the stream must be re-listed (410 Expired, garbage). */
static int inf_event(struct informer *inf, const char *line, size_t n)
{
    json_t *ev = json_loadb(line, n, 0, NULL), *obj = json_object_get(ev, "object");
    const char *type = jx_str(ev, "type");
    char *k;
    int rc = 0;

    if (!ev || !type || !json_is_object(obj)) {
        json_decref(ev);
        return -1;
    }
    if (!strcmp(type, "ERROR")) {
        rc = -1;
    } else if (strcmp(type, "BOOKMARK")) {
        k = obj_key(obj);
        pthread_mutex_lock(&inf->ac->mu);
        if (!strcmp(type, "DELETED"))
            json_object_del(inf->objs, k);
        else
            json_object_set(inf->objs, k, obj);
        pthread_mutex_unlock(&inf->ac->mu);
        free(k);
        inf_mark(inf, NULL);
    }
    json_decref(ev);
    return rc;
}

static void inf_watch(struct informer *inf, struct px_kube *kc, const char *rv)
{
    char path[512], msg[256], tmp[16384];
    struct httpc_conn *c = NULL;
    struct buf line;
    ssize_t r;

    buf_init(&line, LINE_MAX_BYTES);
    snprintf(path, sizeof path, "%s?watch=true&resourceVersion=%s&timeoutSeconds=%d", inf->path,
             rv, WATCH_TIMEOUT_S);
    if (px_kube_get(kc, path, WATCH_TIMEOUT_S + 30, &c, msg, sizeof msg) < 0 ||
        inf_set_conn(inf, c) || httpc_status(c) != 200)
        goto out;
    while ((r = httpc_read(c, tmp, sizeof tmp)) > 0) {
        char *nl;

        if (buf_append(&line, tmp, (size_t)r) < 0)
            break;
        while ((nl = memchr(line.data, '\n', line.len))) {
            size_t n = (size_t)(nl - line.data);

            if (n && inf_event(inf, line.data, n) < 0)
                goto out;
            buf_consume(&line, n + 1);
        }
    }
out:
    inf_set_conn(inf, NULL);
    httpc_close(c);
    buf_release(&line);
}

static int data_dir_gone(struct apic *ac)
{
    struct stat st;

    return stat(ac->data_dir, &st) < 0 && errno == ENOENT;
}

/* The informer's stream ended (or its list failed): the proxy's view may be behind now. */
static void inf_lost(struct informer *inf)
{
    struct apic *ac = inf->ac;

    pthread_mutex_lock(&ac->mu);
    inf->live = 0;
    ac->lost++;
    atomic_store(&ac->px->view_stale, 1);
    pthread_mutex_unlock(&ac->mu);
}

static void *inf_main(void *arg)
{
    struct informer *inf = arg;
    struct apic *ac = inf->ac;
    int backoff = 100, logged = 0;

    while (!ac->stop) {
        struct px_kube kc;
        char msg[256] = "", *rv = NULL;
        int64_t t0 = mono_ms();

        if (data_dir_gone(ac)) { /* the data dir was removed: nothing left to serve for */
            log_warn("proxy", "data dir %s is gone; stopping", ac->data_dir);
            kill(getpid(), SIGTERM);
            break;
        }
        if (px_kube_config_load(ac->kubeconfig, &kc, msg, sizeof msg) == 0) {
            rv = inf_list(inf, &kc, msg, sizeof msg);
            if (rv) {
                if (logged)
                    log_info("proxy", "api server back: re-listed %s", inf->what);
                logged = 0;
                inf_watch(inf, &kc, rv);
            }
            px_kube_config_free(&kc);
        }
        inf_lost(inf);
        if (!rv && !logged++)
            log_warn("proxy", "cannot list %s (%s); serving the last endpoints", inf->what, msg);
        /* A watch that lived a while: reconnect at once. One that ended quickly (or a failed
         * list) backs off, so a misbehaving server is not hammered. */
        free(rv);
        if (mono_ms() - t0 > 5000)
            backoff = 100;
        else
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        for (int i = 0; i < backoff / 50 && !ac->stop; i++)
            usleep(50000);
    }
    return NULL;
}

/* ---- provider ---- */

static const char *const inf_paths[NINF][2] = {
    {"services", "/api/v1/services"},
    {"endpointslices", "/apis/discovery.k8s.io/v1/endpointslices"},
    {"pods", "/api/v1/pods"},
    {"gateways", "/apis/gateway.networking.k8s.io/v1/gateways"},
    {"httproutes", "/apis/gateway.networking.k8s.io/v1/httproutes"},
};

static int api_start(struct px_provider *p, struct proxy *px)
{
    struct apic *ac = p->ctx;

    ac->px = px;
    px->dns = px_dns_start();
    ac->podlis = px_podlis_new(px, px->dns);
    for (int i = 0; i < NINF; i++) {
        ac->inf[i] = (struct informer){.ac = ac, .what = inf_paths[i][0], .path = inf_paths[i][1],
                                       .objs = json_object(), .fd = -1};
        if (pthread_create(&ac->inf[i].th, NULL, inf_main, &ac->inf[i]))
            die("proxy: cannot start a thread");
    }
    if (pthread_create(&ac->rth, NULL, reconcile_main, ac))
        die("proxy: cannot start a thread");
    log_info("proxy", "api-client mode data_dir=%s node_address=%s", ac->data_dir,
             ac->node_address);
    return 0;
}

static void api_stop(struct px_provider *p)
{
    struct apic *ac = p->ctx;

    if (!ac)
        return;
    pthread_mutex_lock(&ac->mu);
    ac->stop = 1;
    for (int i = 0; i < NINF; i++)
        if (ac->inf[i].fd >= 0)
            shutdown(ac->inf[i].fd, SHUT_RDWR);
    pthread_cond_broadcast(&ac->cv);
    pthread_mutex_unlock(&ac->mu);
    if (ac->px) {
        for (int i = 0; i < NINF; i++)
            pthread_join(ac->inf[i].th, NULL);
        pthread_join(ac->rth, NULL);
        struct px_dns *d = ac->px->dns;

        ac->px->dns = NULL; /* metrics stop reading it */
        px_dns_stop(d);
    }
    px_podlis_free(ac->podlis);
    for (int i = 0; i < NINF; i++)
        json_decref(ac->inf[i].objs);
    free(ac->svcs);
    free(ac->data_dir);
    free(ac->node_address);
    free(ac->kubeconfig);
    pthread_mutex_destroy(&ac->mu);
    pthread_cond_destroy(&ac->cv);
    free(ac);
    p->ctx = NULL;
}

int px_api_provider_init(struct px_provider *p, const char *data_dir, const char *node_address)
{
    struct apic *ac = xcalloc(1, sizeof *ac);

    ac->data_dir = xstrdup(data_dir);
    ac->node_address = xstrdup(node_address);
    ac->kubeconfig = xasprintf("%s/kubeconfig", data_dir);
    pthread_mutex_init(&ac->mu, NULL);
    pthread_cond_init(&ac->cv, NULL);
    *p = (struct px_provider){.name = "api", .start = api_start, .stop = api_stop, .ctx = ac};
    return 0;
}
