/* The API-client provider: keeps the proxy's services and endpoint tables equal to the
 * cluster's Services, EndpointSlices, Pods, Gateways and HTTPRoutes. One thread runs a loop that
 * holds the client (client/kc.h, over HTTPS with the kubeconfig the server writes): its
 * informers' events mark the state dirty, and 30 ms later the desired listeners and tables are
 * built from the informers' caches and applied. While the server is away nothing changes: the
 * last tables keep serving; a reconnect re-lists and the client sends only the differences, so
 * a restart never shows a half-empty state. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/kc.h"
#include "client/kubeconfig.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/netns.h"
#include "proxy/dns-int.h"
#include "proxy/proxy-int.h"

#define COALESCE_MS 30 /* the endpoints controller writes a Service's slices back to back */
#define RESYNC_MS 1000 /* retry binds, notice pods whose namespace appeared */
#define LIST_TIMEOUT_MS 30000

/* A service the reconciler created; name + listen is its identity. */
struct api_svc {
    struct px_service *svc;
    int seen, cluster; /* cluster: at the clusterIP (so also inside every pod) */
};

/* Everything but the strings is the provider thread's once it runs. */
struct apic {
    struct proxy *px;
    char *data_dir, *node_address, *kubeconfig;
    struct loop *loop;
    pthread_t th;
    int stop_fd; /* api_stop writes it: the loop ends */
    struct loop_io stop_io;
    struct kc *kc;
    char *kc_id; /* the kubeconfig's server, token and CA the client was made with */
    int cfg_logged;
    /* The view was behind at a resync (the server was away, not a watch's routine end): each
     * informer that lists again is logged. */
    int relisting;
    struct loop_timer coalesce, resync;
    int dirty, retry;
    struct api_svc *svcs;
    int nsvcs;
    struct px_podlis *podlis;
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
    pod = *pname ? kc_get(ac->kc, kc_resource(RES_POD), pns, pname) : NULL;
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
    json_object_foreach(kc_map_ns(ac->kc, kc_resource(RES_ENDPOINTSLICE), ns), k, slice)
    {
        const char *owner = jx_label(slice, "kubernetes.io/service-name");
        size_t i;
        json_t *ep;
        int tp;

        if (!owner || strcmp(owner, name) || !(tp = slice_port(slice, pname)))
            continue;
        json_array_foreach(json_object_get(slice, "endpoints"), i,
                           ep) for (int w = first; w < *n; w++) want_add_ep(ac, &(*ws)[w], ep, tp);
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

    json_object_foreach(kc_map(ac->kc, kc_resource(RES_HTTPROUTE)), k, route)
    {
        json_t *hosts = jx_get(route, "spec.hostnames");
        char *key;

        if (!route_attaches(route, gw, l))
            continue;
        if (!json_array_size(hosts) && lh)
            hosts = json_pack("[s]", lh);
        else
            hosts = hosts ? json_incref(hosts) : json_array(); /* one reference, which "o" takes */
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

    json_object_foreach(kc_map(ac->kc, kc_resource(RES_GATEWAY)), k, gw)
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

/* The desired listeners and tables from the informers' caches. */
static struct want_svc *want_build(struct apic *ac, int *n)
{
    struct want_svc *ws = NULL;
    const char *k;
    json_t *svc;

    *n = 0;
    json_object_foreach(kc_map(ac->kc, kc_resource(RES_SERVICE)), k, svc)
    {
        size_t i;
        json_t *sp;

        if (!strcmp(jx_str(svc, "spec.type") ?: "", "ExternalName"))
            continue;
        json_array_foreach(jx_get(svc, "spec.ports"), i, sp) want_service_port(ac, svc, sp, &ws, n);
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
        ep = px_endpoint_new(we->addr, we->pod, we->rev, we->netns, we->flags, ac->px->cfg.nworkers,
                             &msg);
        if (!ep) {
            log_warn("proxy", "skipping endpoint service=%s addr=%s: %s", svc->name, we->addr, msg);
            continue;
        }
        eps[n++] = ep;
        changed = 1;
    }
    if (changed) {
        px_service_publish(svc, px_table_new(eps, n));
        log_info("proxy", "endpoints service=%s addr=%s count=%d", svc->name, svc->listen_text, n);
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
    struct px_service *svc =
        px_service_new(ws->name, ws->listen, ws->mode, ac->px->cfg.nworkers, &msg);

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

/* ---- the provider's loop: informer events, coalesced, then applied ---- */

static const enum res_id watched[] = {RES_SERVICE, RES_ENDPOINTSLICE, RES_POD, RES_GATEWAY,
                                      RES_HTTPROUTE};

/* Builds the desired state from the informers and applies it. Nothing is applied before every
 * resource has been listed once (an empty map then means "not known yet", not "none"). */
static void reconcile(struct apic *ac)
{
    struct kc_sync s;
    struct want_svc *ws;
    struct px_podns *pods;
    int n, npods;

    if (!ac->kc)
        return;
    kc_sync(ac->kc, &s);
    if (!s.listed)
        return;
    ac->dirty = 0;
    ws = want_build(ac, &n);
    pods = px_podns_build(kc_map(ac->kc, kc_resource(RES_POD)), &npods);
    if (ac->px->dns)
        px_dns_set_view(ac->px->dns, px_dns_view_build(kc_map(ac->kc, kc_resource(RES_SERVICE))));
    ac->retry = apply(ac, ws, n) < 0;
    apply_pods(ac, pods, npods);
    want_free(ws, n);
    px_podns_free(pods, npods);
    /* Current again when every informer follows its watch: their events and marks reach this
     * thread only, so the state just applied is the one kc_sync described. */
    if (s.live)
        atomic_store(&ac->px->view_stale, 0);
}

static void on_change(const char *type, const struct resource *r, json_t *obj, json_t *old,
                      void *ctx)
{
    struct apic *ac = ctx;

    (void)type, (void)r, (void)obj, (void)old;
    ac->dirty = 1;
    if (!loop_timer_active(&ac->coalesce)) /* let a burst of events land before acting on it */
        loop_timer_start(ac->loop, &ac->coalesce, COALESCE_MS);
}

/* An informer lost its watch (the view may be behind until it lists again) or listed again. */
static void on_sync(const struct resource *r, int live, void *ctx)
{
    struct apic *ac = ctx;

    struct kc_sync s;

    if (!live) {
        atomic_store(&ac->px->view_stale, 1);
    } else if (ac->relisting) {
        log_info("proxy", "api server back: re-listed %s", r->plural);
        kc_sync(ac->kc, &s);
        ac->relisting = !s.live;
    }
    on_change(NULL, r, NULL, NULL, ac); /* the apply after the list makes the view current */
}

static void on_coalesce(struct loop_timer *t, void *ctx)
{
    (void)t;
    reconcile(ctx);
}

/* The client, from the kubeconfig the server writes; a new one when that changed (another
 * address, CA or token): the old informers go, the tables stay until the new ones have listed. */
static void client_start(struct apic *ac)
{
    struct kc_config k;
    struct kc_https_opts o = {.timeout_ms = LIST_TIMEOUT_MS};
    struct err err;
    char *id;

    err_init(&err);
    if (kc_config_load(ac->kubeconfig, &k, &err) < 0) {
        atomic_store(&ac->px->view_stale, 1);
        ac->relisting = 1;
        if (!ac->cfg_logged++)
            log_warn("proxy", "cannot list (%s); serving the last endpoints", err.msg);
        err_release(&err);
        return;
    }
    id = xasprintf("%s\n%s\n%s", k.server, k.token, k.ca_pem);
    if (ac->kc && !strcmp(id, ac->kc_id)) {
        free(id);
        kc_config_free(&k);
        err_release(&err);
        return;
    }
    kc_free(ac->kc);
    free(ac->kc_id);
    ac->kc_id = id;
    o.server = k.server, o.token = k.token, o.ca_pem = k.ca_pem;
    if (!(ac->kc = kc_https_new(ac->loop, &o, &err))) {
        atomic_store(&ac->px->view_stale, 1);
        ac->relisting = 1;
        log_warn("proxy", "cannot list (%s); serving the last endpoints", err.msg);
    } else {
        log_info("proxy", "api client server=%s", k.server);
        ac->cfg_logged = 0;
        kc_on_sync(ac->kc, on_sync, ac);
        for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++)
            kc_listen(ac->kc, kc_resource(watched[i]), on_change, ac);
    }
    err_release(&err);
    kc_config_free(&k);
}

static int data_dir_gone(struct apic *ac)
{
    struct stat st;

    return stat(ac->data_dir, &st) < 0 && errno == ENOENT;
}

/* Every RESYNC_MS: stop when the data dir is gone; while the view is behind, look for a new
 * kubeconfig; retry binds and notice pods whose namespace appeared. */
static void on_resync(struct loop_timer *t, void *ctx)
{
    struct apic *ac = ctx;
    struct kc_sync s = {0};

    if (data_dir_gone(ac)) { /* nothing left to serve for; SIGTERM ends the loop (api_stop) */
        log_warn("proxy", "data dir %s is gone; stopping", ac->data_dir);
        kill(getpid(), SIGTERM);
        return;
    }
    if (ac->kc)
        kc_sync(ac->kc, &s);
    if (!s.live) {
        ac->relisting = 1;
        client_start(ac);
    }
    if (!loop_timer_active(&ac->coalesce) && (ac->dirty || ac->retry || ac->nsvcs))
        reconcile(ac);
    loop_timer_start(ac->loop, t, RESYNC_MS);
}

static void on_stop(struct loop_io *io, unsigned events, void *ctx)
{
    struct apic *ac = ctx;

    (void)io, (void)events;
    loop_stop(ac->loop);
}

static void *provider_main(void *arg)
{
    struct apic *ac = arg;

    client_start(ac);
    loop_timer_start(ac->loop, &ac->resync, RESYNC_MS);
    loop_run(ac->loop);
    loop_timer_stop(ac->loop, &ac->resync);
    loop_timer_stop(ac->loop, &ac->coalesce);
    loop_io_stop(ac->loop, &ac->stop_io);
    kc_free(ac->kc); /* ends its watch threads */
    ac->kc = NULL;
    return NULL;
}

/* ---- provider ---- */

static int api_start(struct px_provider *p, struct proxy *px)
{
    struct apic *ac = p->ctx;

    ac->px = px;
    px->dns = px_dns_start();
    ac->podlis = px_podlis_new(px, px->dns);
    ac->loop = loop_new();
    ac->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ac->stop_fd < 0)
        die("proxy: eventfd: %s", strerror(errno));
    loop_io_start(ac->loop, &ac->stop_io, ac->stop_fd, EPOLLIN, on_stop, ac);
    loop_timer_init(&ac->coalesce, on_coalesce, ac);
    loop_timer_init(&ac->resync, on_resync, ac);
    if (pthread_create(&ac->th, NULL, provider_main, ac))
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
    if (ac->px) {
        uint64_t one = 1;
        struct px_dns *d = ac->px->dns;

        if (write(ac->stop_fd, &one, sizeof one) < 0)
            die("proxy: cannot stop the provider: %s", strerror(errno));
        pthread_join(ac->th, NULL);
        loop_free(ac->loop);
        close(ac->stop_fd);
        ac->px->dns = NULL; /* metrics stop reading it */
        px_dns_stop(d);
    }
    px_podlis_free(ac->podlis);
    free(ac->svcs);
    free(ac->kc_id);
    free(ac->data_dir);
    free(ac->node_address);
    free(ac->kubeconfig);
    free(ac);
    p->ctx = NULL;
}

int px_api_provider_init(struct px_provider *p, const char *data_dir, const char *node_address)
{
    struct apic *ac = xcalloc(1, sizeof *ac);

    ac->data_dir = xstrdup(data_dir);
    ac->node_address = xstrdup(node_address);
    ac->kubeconfig = xasprintf("%s/kubeconfig", data_dir);
    *p = (struct px_provider){.name = "api", .start = api_start, .stop = api_stop, .ctx = ac};
    return 0;
}
