/* The endpoints controller: for every Service with a selector, the legacy Endpoints object of
 * the same name and the EndpointSlices labelled kubernetes.io/service-name=<svc>, computed from
 * the Service's ports and the matching pods (same namespace, with an IP, not terminal).
 * Slices group pods by their resolved port list (a named targetPort resolves per pod), like the
 * upstream EndpointSlice controller; an empty Service keeps one placeholder slice. Writes happen
 * only when the computed content differs, so pod churn never causes update storms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"

#define MANAGED_BY "endpointslice-controller.k8s.io"
#define LBL_SVC "kubernetes.io/service-name"
#define LBL_MANAGED "endpointslice.kubernetes.io/managed-by"
#define SLICE_MAX_ENDPOINTS 100 /* upstream kube-controller-manager --max-endpoints-per-slice */

/* The Service's selector when it selects pods (a non-empty equality map), else NULL. */
static const json_t *svc_selector(const json_t *svc)
{
    const json_t *sel = jx_get(svc, "spec.selector");

    return json_is_object(sel) && json_object_size(sel) ? sel : NULL;
}

/* Equality-map selector match (Service selectors are plain label maps, ANDed). */
static int selector_matches(const json_t *sel, const json_t *labels)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)sel, k, v)
    {
        const char *have = json_string_value(json_object_get(labels, k));

        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
            return 0;
    }
    return 1;
}

/* Resolves a Service port's targetPort for one pod: the number, or 0 when a named port is not
 * declared by any of the pod's containers (with the Service port's protocol). */
static long long endpoints_port_resolve(const json_t *pod, const json_t *sp)
{
    const json_t *tp = json_object_get(sp, "targetPort");
    const char *proto = jx_str(sp, "protocol") ?: "TCP", *name;
    size_t i, j;
    json_t *c, *p;

    if (json_is_integer(tp))
        return json_integer_value(tp);
    if (!json_is_string(tp) || !*json_string_value(tp))
        return jx_int(sp, "port", 0);
    name = json_string_value(tp);
    json_array_foreach(jx_get(pod, "spec.containers"), i, c) json_array_foreach(
        json_object_get(c, "ports"), j, p) if (strcmp(jx_str(p, "name") ?: "", name) == 0 &&
                                               strcmp(jx_str(p, "protocol") ?: "TCP", proto) ==
                                                   0) return jx_int(p, "containerPort", 0);
    return 0;
}

/* The pod's endpoint ports for this Service, in Service port order (new reference). */
static json_t *pod_ports(const json_t *svc, const json_t *pod, int with_empty_name)
{
    json_t *out = json_array(), *sp;
    size_t i;

    json_array_foreach(jx_get(svc, "spec.ports"), i, sp)
    {
        long long n = endpoints_port_resolve(pod, sp);
        const char *name = jx_str(sp, "name");
        json_t *p;

        if (n <= 0 || n > 65535)
            continue;
        p = json_pack("{s:I,s:s}", "port", (json_int_t)n, "protocol",
                      jx_str(sp, "protocol") ?: "TCP");
        if ((name && *name) || with_empty_name)
            json_object_set_new(p, "name", json_string(name ? name : ""));
        if (jx_str(sp, "appProtocol"))
            json_object_set_new(p, "appProtocol", json_string(jx_str(sp, "appProtocol")));
        json_array_append_new(out, p);
    }
    return out;
}

/* Pods that get an endpoint: IPv4 podIP, not Succeeded/Failed. */
static int pod_eligible(const json_t *pod)
{
    const char *ip = jx_str(pod, "status.podIP"), *phase = jx_str(pod, "status.phase") ?: "";

    if (!ip || !*ip || strchr(ip, ':'))
        return 0;
    return strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0;
}

static json_t *target_ref(const json_t *pod)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace",
                     jx_str(pod, "metadata.namespace") ?: "", "name",
                     jx_str(pod, "metadata.name") ?: "", "uid", jx_str(pod, "metadata.uid") ?: "");
}

/* The Service's matching, eligible pods sorted by IP then name (new reference). */
static int cmp_pod(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(jx_str(x, "status.podIP") ?: "", jx_str(y, "status.podIP") ?: "");

    return c ? c : strcmp(jx_str(x, "metadata.name") ?: "", jx_str(y, "metadata.name") ?: "");
}

static json_t *svc_pods(struct ctl *c, const json_t *svc)
{
    const char *ns = jx_str(svc, "metadata.namespace") ?: "", *k;
    json_t *m = ctl_map_ns(c, RES_POD, ns), *v, *out = json_array();
    const json_t *sel = svc_selector(svc);
    json_t **arr;
    size_t n = 0;

    if (!m || !sel)
        return out;
    arr = xcalloc(json_object_size(m) + 1, sizeof *arr);
    json_object_foreach(
        m, k, v) if (strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0 && pod_eligible(v) &&
                     selector_matches(sel, jx_get(v, "metadata.labels"))) arr[n++] = v;
    qsort(arr, n, sizeof *arr, cmp_pod);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, arr[i]);
    free(arr);
    return out;
}

/* ---- legacy Endpoints ---- */

/* Adds (port, address, ready) to the per-port address table: port dump -> {port, addrs{}}. */
static void ep_table_add(json_t *tab, json_t *port, const json_t *addr, int ready)
{
    char *pk = port ? jx_dump(port) : xstrdup("");
    json_t *e = json_object_get(tab, pk);
    char *ak;

    if (!e) {
        e = json_pack("{s:O,s:{}}", "port", port ? port : json_null(), "addrs");
        json_object_set_new(tab, pk, e);
    }
    ak = xasprintf("%s|%d", jx_str(addr, "ip"), ready);
    json_object_set_new(json_object_get(e, "addrs"), ak,
                        json_pack("{s:O,s:b}", "addr", addr, "ready", ready));
    free(ak);
    free(pk);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The table's address keys, sorted, joined: the signature of one port's address set. */
static char *ep_addr_signature(const json_t *addrs)
{
    const char **keys = xcalloc(json_object_size(addrs) + 1, sizeof *keys), *k;
    char *sig = xstrdup(""), *tmp;
    json_t *a;
    size_t n = 0;

    json_object_foreach((json_t *)addrs, k, a) keys[n++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < n; i++) {
        tmp = xasprintf("%s%s;", sig, keys[i]);
        free(sig);
        sig = tmp;
    }
    free(keys);
    return sig;
}

/* A new subset holding the addresses of one address set, sorted by IP. */
static json_t *ep_subset_new(const json_t *addrs)
{
    const char **keys = xcalloc(json_object_size(addrs) + 1, sizeof *keys), *k;
    json_t *g = json_pack("{s:[],s:[],s:[]}", "addresses", "notReadyAddresses", "ports"), *a;
    size_t n = 0;

    json_object_foreach((json_t *)addrs, k, a) keys[n++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object_get(addrs, keys[i]);
        const char *list = jx_bool(x, "ready") ? "addresses" : "notReadyAddresses";

        json_array_append(json_object_get(g, list), json_object_get(x, "addr"));
    }
    free(keys);
    return g;
}

/* Repacks the per-port table into subsets: ports that share the same address set share one
 * subset, as upstream's RepackSubsets does. Empty lists are dropped (omitempty). */
static json_t *ep_subsets(const json_t *tab)
{
    json_t *groups = json_object(), *out = json_array(), *e, *g;
    const char *k;

    json_object_foreach((json_t *)tab, k, e)
    {
        char *sig = ep_addr_signature(json_object_get(e, "addrs"));

        g = json_object_get(groups, sig);
        if (!g) {
            g = ep_subset_new(json_object_get(e, "addrs"));
            json_object_set_new(groups, sig, g);
        }
        if (!json_is_null(json_object_get(e, "port")))
            json_array_append(json_object_get(g, "ports"), json_object_get(e, "port"));
        free(sig);
    }
    json_object_foreach(groups, k, g)
    {
        static const char *const lists[] = {"addresses", "notReadyAddresses", "ports"};

        for (int i = 0; i < 3; i++)
            if (json_array_size(json_object_get(g, lists[i])) == 0)
                json_object_del(g, lists[i]);
        json_array_append(out, g);
    }
    json_decref(groups);
    return out;
}

/* The desired subsets of the Service's Endpoints (new reference). Terminating pods are left
 * out unless publishNotReadyAddresses, which also makes every listed pod ready. */
static json_t *endpoints_subsets(const json_t *svc, const json_t *pods)
{
    int pnr = jx_bool(svc, "spec.publishNotReadyAddresses");
    int headless = strcmp(jx_str(svc, "spec.clusterIP") ?: "", "None") == 0;
    json_t *tab = json_object(), *pod, *subsets;
    size_t i;

    json_array_foreach(pods, i, pod)
    {
        int ready = pnr || pod_is_ready(pod);
        json_t *addr, *ports, *p;
        size_t j;

        if (jx_get(pod, "metadata.deletionTimestamp") && !pnr)
            continue;
        addr =
            json_pack("{s:s,s:o}", "ip", jx_str(pod, "status.podIP"), "targetRef", target_ref(pod));
        if (jx_str(pod, "spec.nodeName"))
            json_object_set_new(addr, "nodeName", json_string(jx_str(pod, "spec.nodeName")));
        ports = pod_ports(svc, pod, 0);
        json_array_foreach(ports, j, p) ep_table_add(tab, p, addr, ready);
        if (json_array_size(jx_get(svc, "spec.ports")) == 0 && headless)
            ep_table_add(tab, NULL, addr, ready);
        json_decref(ports);
        json_decref(addr);
    }
    subsets = ep_subsets(tab);
    json_decref(tab);
    return subsets;
}

/* Labels for Endpoints and slices: the Service's own labels (plus the headless marker). */
static json_t *svc_labels(const json_t *svc)
{
    json_t *l = json_is_object(jx_get(svc, "metadata.labels"))
                    ? json_deep_copy(jx_get(svc, "metadata.labels"))
                    : json_object();

    if (strcmp(jx_str(svc, "spec.clusterIP") ?: "", "None") == 0)
        json_object_set_new(l, "service.kubernetes.io/headless", json_string(""));
    return l;
}

static void endpoints_write(struct ctl *c, const json_t *svc, const json_t *pods)
{
    struct kc *kc = ctl_kc(c);
    const struct resource *r = kc_resource(RES_ENDPOINTS);
    const char *ns = jx_str(svc, "metadata.namespace"), *name = jx_str(svc, "metadata.name");
    json_t *cur = kc_get(kc, r, ns, name), *subsets = endpoints_subsets(svc, pods);
    json_t *labels = svc_labels(svc), *obj, *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;
    int rc;

    if (cur && jx_equal_semantic(json_object_get(cur, "subsets"), subsets) &&
        jx_equal_semantic(jx_get(cur, "metadata.labels"), labels))
        goto done;
    err_init(&err);
    if (cur) {
        obj = json_deep_copy(cur);
        json_object_set(obj, "subsets", subsets);
        jx_set(obj, "metadata.labels", json_incref(labels));
        if (!json_array_size(subsets))
            json_object_del(obj, "subsets"); /* omitempty, as upstream serializes it */
        rc = kc_update(kc, r, ns, name, obj, &o, &out, &err);
    } else {
        obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:O},s:O}", "apiVersion", "v1", "kind", "Endpoints",
                        "metadata", "name", name, "namespace", ns, "labels", labels, "subsets",
                        subsets);
        if (!json_array_size(subsets))
            json_object_del(obj, "subsets");
        rc = kc_create(kc, r, ns, obj, &o, &out, &err);
    }
    if (rc < 0)
        ctl_log_err(c, cur ? "update endpoints" : "create endpoints", ns, name, &err);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
done:
    json_decref(subsets);
    json_decref(labels);
}

/* ---- EndpointSlices ---- */

static json_t *slice_endpoint(const json_t *svc, const json_t *pod)
{
    int serving = pod_is_ready(pod),
        terminating = jx_get(pod, "metadata.deletionTimestamp") != NULL;
    int ready = jx_bool(svc, "spec.publishNotReadyAddresses") || (serving && !terminating);
    json_t *e = json_pack("{s:[s],s:{s:b,s:b,s:b},s:o}", "addresses", jx_str(pod, "status.podIP"),
                          "conditions", "ready", ready, "serving", serving, "terminating",
                          terminating, "targetRef", target_ref(pod));

    if (jx_str(pod, "spec.nodeName"))
        json_object_set_new(e, "nodeName", json_string(jx_str(pod, "spec.nodeName")));
    return e;
}

/* Desired slices: "<port-list dump>#<n>" -> {ports, endpoints}, in pod order, at most
 * SLICE_MAX_ENDPOINTS endpoints per slice as upstream's default maxEndpointsPerSlice (new
 * reference). */
static json_t *slices_desired(const json_t *svc, const json_t *pods)
{
    json_t *want = json_object(), *counts = json_object(), *pod;
    size_t i;

    json_array_foreach(pods, i, pod)
    {
        json_t *ports = pod_ports(svc, pod, 1), *g;
        char *dump = jx_dump(ports), *key;
        json_int_t n = json_integer_value(json_object_get(counts, dump));

        json_object_set_new(counts, dump, json_integer(n + 1));
        key = xasprintf("%s#%lld", dump, (long long)(n / SLICE_MAX_ENDPOINTS));
        free(dump);
        g = json_object_get(want, key);
        if (!g) {
            g = json_pack("{s:O,s:[]}", "ports", ports, "endpoints");
            json_object_set_new(want, key, g);
        }
        json_array_append_new(json_object_get(g, "endpoints"), slice_endpoint(svc, pod));
        json_decref(ports);
        free(key);
    }
    json_decref(counts);
    return want;
}

/* The Service's managed slices (new reference to an array of borrowed-then-increffed objects,
 * so writes below cannot invalidate the iteration). */
static json_t *slices_existing(struct ctl *c, const char *ns, const char *svc_name)
{
    json_t *m = ctl_map_ns(c, RES_ENDPOINTSLICE, ns), *v, *out = json_array();
    const char *k;

    if (m)
        json_object_foreach(m, k, v) if (strcmp(jx_label(v, LBL_SVC) ?: "", svc_name) == 0 &&
                                         strcmp(jx_label(v, LBL_MANAGED) ?: "", MANAGED_BY) == 0)
            json_array_append(out, v);
    return out;
}

static json_t *slice_labels(const json_t *svc)
{
    json_t *l = svc_labels(svc);

    json_object_set_new(l, LBL_SVC, json_string(jx_str(svc, "metadata.name")));
    json_object_set_new(l, LBL_MANAGED, json_string(MANAGED_BY));
    return l;
}

static json_t *slice_owner(const json_t *svc)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", "v1", "kind", "Service", "name",
                     jx_str(svc, "metadata.name"), "uid", jx_str(svc, "metadata.uid") ?: "",
                     "controller", 1, "blockOwnerDeletion", 1);
}

/* Creates a slice (cur NULL) or rewrites cur with the given ports/endpoints when different. */
static void slice_write(struct ctl *c, const json_t *svc, const json_t *cur, const json_t *ports,
                        const json_t *eps)
{
    struct kc *kc = ctl_kc(c);
    const struct resource *r = kc_resource(RES_ENDPOINTSLICE);
    const char *ns = jx_str(svc, "metadata.namespace");
    json_t *labels = slice_labels(svc), *owner = slice_owner(svc), *obj, *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;
    int rc;

    if (cur && jx_equal_semantic(json_object_get(cur, "endpoints"), eps) &&
        jx_equal_semantic(json_object_get(cur, "ports"), ports) &&
        jx_equal_semantic(jx_get(cur, "metadata.labels"), labels) &&
        jx_equal_semantic(jx_get(cur, "metadata.ownerReferences"), owner))
        goto done;
    err_init(&err);
    if (cur) {
        obj = json_deep_copy(cur);
        jx_set(obj, "metadata.labels", json_incref(labels));
        jx_set(obj, "metadata.ownerReferences", json_incref(owner));
    } else {
        char *gen = xasprintf("%s-", jx_str(svc, "metadata.name"));

        obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:O},s:s}", "apiVersion", "discovery.k8s.io/v1",
                        "kind", "EndpointSlice", "metadata", "generateName", gen, "namespace", ns,
                        "labels", labels, "ownerReferences", owner, "addressType", "IPv4");
        free(gen);
    }
    json_object_set_new(obj, "endpoints", json_deep_copy(eps));
    if (json_array_size(ports))
        json_object_set_new(obj, "ports", json_deep_copy(ports));
    else
        json_object_del(obj, "ports");
    if (cur)
        rc = kc_update(kc, r, ns, jx_str(cur, "metadata.name"), obj, &o, &out, &err);
    else
        rc = kc_create(kc, r, ns, obj, &o, &out, &err);
    if (rc < 0)
        ctl_log_err(c, cur ? "update endpointslice" : "create endpointslice", ns,
                    jx_str(svc, "metadata.name"), &err);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
done:
    json_decref(labels);
    json_decref(owner);
}

static void object_delete(struct ctl *c, enum res_id res, const char *ns, const char *name)
{
    struct kc_wopts o = {.grace = -1};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    if (kc_delete(ctl_kc(c), kc_resource(res), ns, name, &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(c, "delete", ns, name, &err);
    json_decref(out);
    err_release(&err);
}

/* Reconciles the managed slices: reuse a slice whose ports match a wanted group, create the
 * missing ones, delete the rest. No pods at all leaves one empty placeholder slice. */
static void slices_sync(struct ctl *c, const json_t *svc, const json_t *pods)
{
    const char *ns = jx_str(svc, "metadata.namespace"), *k;
    json_t *want = slices_desired(svc, pods), *have, *g, *used = json_object();
    size_t i;

    have = slices_existing(c, ns, jx_str(svc, "metadata.name"));
    if (json_object_size(want) == 0)
        json_object_set_new(want, "", json_pack("{s:[],s:[]}", "ports", "endpoints"));
    json_object_foreach(want, k, g)
    {
        const json_t *ports = json_object_get(g, "ports"), *cur = NULL, *s;

        json_array_foreach(have, i, s) if (!json_object_get(used, jx_str(s, "metadata.name")) &&
                                           jx_equal_semantic(json_object_get(s, "ports"), ports))
        {
            cur = s;
            break;
        }
        if (!cur) /* else: any unused slice can be rewritten rather than deleted + created */
            json_array_foreach(have, i, s) if (!json_object_get(used, jx_str(s, "metadata.name")))
            {
                cur = s;
                break;
            }
        if (cur)
            json_object_set_new(used, jx_str(cur, "metadata.name"), json_true());
        slice_write(c, svc, cur, ports, json_object_get(g, "endpoints"));
    }
    json_array_foreach(have, i, g) if (!json_object_get(used, jx_str(g, "metadata.name")))
        object_delete(c, RES_ENDPOINTSLICE, ns, jx_str(g, "metadata.name"));
    json_decref(used);
    json_decref(have);
    json_decref(want);
}

/* ---- controller ---- */

static void endpoints_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *svc = kc_get(ctl_kc(c), kc_resource(RES_SERVICE), ns, name), *pods, *have, *s;
    size_t i;

    if (!svc) {
        /* The Service is gone: its Endpoints and managed slices go too. */
        if (kc_get(ctl_kc(c), kc_resource(RES_ENDPOINTS), ns, name))
            object_delete(c, RES_ENDPOINTS, ns, name);
        have = slices_existing(c, ns, name);
        json_array_foreach(have, i, s)
            object_delete(c, RES_ENDPOINTSLICE, ns, jx_str(s, "metadata.name"));
        json_decref(have);
        return;
    }
    if (!svc_selector(svc))
        return; /* user-managed Endpoints */
    svc = json_incref(svc);
    pods = svc_pods(c, svc);
    endpoints_write(c, svc, pods);
    slices_sync(c, svc, pods);
    json_decref(pods);
    json_decref(svc);
}

/* A pod event concerns every Service in its namespace whose selector matches its old or new
 * labels. */
static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace") ?: "", *k;
    json_t *m = ctl_map_ns(c, RES_SERVICE, ns), *svc;

    if (!m)
        return;
    json_object_foreach(m, k, svc)
    {
        const json_t *sel = svc_selector(svc);

        if (!sel)
            continue;
        if (selector_matches(sel, jx_get(obj, "metadata.labels")) ||
            (old && selector_matches(sel, jx_get(old, "metadata.labels"))))
            ctl_enqueue(c, ns, jx_str(svc, "metadata.name"));
    }
}

/* Someone else changed a managed slice: recompute its Service. */
static void on_slice(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                     json_t *old, void *ctx)
{
    if (strcmp(jx_label(obj, LBL_MANAGED) ?: "", MANAGED_BY) == 0 && jx_label(obj, LBL_SVC))
        ctl_enqueue(c, jx_str(obj, "metadata.namespace"), jx_label(obj, LBL_SVC));
}

/* Endpoints edited or deleted by someone else are repaired, but only for Services that have a
 * selector: an Endpoints object without such a Service is user-managed. */
static void on_endpoints(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                         json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    json_t *svc = kc_get(ctl_kc(c), kc_resource(RES_SERVICE), ns, name);

    if (svc && svc_selector(svc))
        ctl_enqueue(c, ns, name);
}

struct ctl *ctrl_endpoints_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "endpoints-controller", endpoints_sync, NULL);

    ctl_watch(c, RES_SERVICE, NULL);
    ctl_watch(c, RES_ENDPOINTS, on_endpoints);
    ctl_watch(c, RES_POD, on_pod);
    ctl_watch(c, RES_ENDPOINTSLICE, on_slice);
    ctl_start(c);
    return c;
}
