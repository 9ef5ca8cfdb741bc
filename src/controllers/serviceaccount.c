/* The ServiceAccount controllers of kube-controller-manager and kube-apiserver in one: every
 * namespace that is not terminating has the ServiceAccount `default` (recreated when deleted,
 * as upstream's ServiceAccountsController) and the ConfigMap `kube-root-ca.crt` with key ca.crt
 * = kroll's CA (as the root-ca-cert-publisher; put back when edited). Namespace `default` also
 * has the `kubernetes` Service (port 443 to the API server, the cluster IP in the server
 * certificate) and its EndpointSlice pointing at the API server's address, as kube-apiserver
 * keeps them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"

#define SA_DEFAULT "default"
#define ROOT_CA_CM "kube-root-ca.crt"
#define KUBERNETES_SVC "kubernetes"

static void create_logged(struct ctl *c, enum res_id res, const char *ns, json_t *obj)
{
    json_t *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;

    err_init(&err);
    if (kc_create(ctl_kc(c), kc_resource(res), ns, obj, &o, &out, &err) < 0 &&
        err.code != -E_ALREADY_EXISTS)
        ctl_log_err(c, "create", ns, jx_str(obj, "metadata.name"), &err);
    json_decref(out);
    err_release(&err);
}

static void update_logged(struct ctl *c, enum res_id res, const char *ns, json_t *obj)
{
    json_t *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;

    err_init(&err);
    if (kc_update(ctl_kc(c), kc_resource(res), ns, jx_str(obj, "metadata.name"), obj, &o, &out,
                   &err) < 0)
        ctl_log_err(c, "update", ns, jx_str(obj, "metadata.name"), &err);
    json_decref(out);
    err_release(&err);
}

static void root_ca_sync(struct ctl *c, const char *ns)
{
    struct kc_server_info si;
    const char *ca;
    const json_t *cm = kc_get(ctl_kc(c), kc_resource(RES_CONFIGMAP), ns, ROOT_CA_CM);
    json_t *want;

    kc_server_info(ctl_kc(c), &si);
    ca = si.ca_pem;
    if (!ca)
        return;
    if (!cm) {
        want =
            json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                      "metadata", "name", ROOT_CA_CM, "annotations", "kubernetes.io/description",
                      "Contains a CA bundle that can be used to verify the kube-apiserver "
                      "when using internal endpoints such as the internal service IP or "
                      "kubernetes.default.svc. No other usage is guaranteed across "
                      "distributions of Kubernetes clusters.",
                      "data", "ca.crt", ca);
        create_logged(c, RES_CONFIGMAP, ns, want);
    } else if (strcmp(json_string_value(json_object_get(jx_get(cm, "data"), "ca.crt")) ?: "", ca) !=
                   0 ||
               json_object_size(jx_get(cm, "data")) != 1) {
        want = json_deep_copy(cm);
        json_object_set_new(want, "data", json_pack("{s:s}", "ca.crt", ca));
        update_logged(c, RES_CONFIGMAP, ns, want);
    } else {
        return;
    }
    json_decref(want);
}

static void kubernetes_svc_sync(struct ctl *c)
{
    struct kc *kc = ctl_kc(c);
    struct kc_server_info si;
    const char *ip;
    int port;
    const json_t *svc = kc_get(kc, kc_resource(RES_SERVICE), "default", KUBERNETES_SVC);
    const json_t *sl = kc_get(kc, kc_resource(RES_ENDPOINTSLICE), "default", KUBERNETES_SVC);
    json_t *want;

    kc_server_info(kc, &si);
    ip = si.kubernetes_ip;
    port = si.port;
    if (!si.host_ip)
        return;
    if (!svc && ip && *ip) {
        want = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:s,s:s,s:s,s:[{s:s,s:i,s:s,s:i}]}}",
                         "apiVersion", "v1", "kind", "Service", "metadata", "name", KUBERNETES_SVC,
                         "labels", "component", "apiserver", "provider", "kubernetes", "spec",
                         "type", "ClusterIP", "clusterIP", ip, "sessionAffinity", "None", "ports",
                         "name", "https", "port", 443, "protocol", "TCP", "targetPort", port);
        create_logged(c, RES_SERVICE, "default", want);
        json_decref(want);
    }
    want = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:s,s:[{s:[s],s:{s:b}}],s:[{s:s,s:i,s:s}]}",
                     "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
                     "name", KUBERNETES_SVC, "labels", "kubernetes.io/service-name", KUBERNETES_SVC,
                     "addressType", strchr(si.host_ip, ':') ? "IPv6" : "IPv4", "endpoints",
                     "addresses", si.host_ip, "conditions", "ready", 1, "ports", "name",
                     "https", "port", port, "protocol", "TCP");
    if (!sl) {
        create_logged(c, RES_ENDPOINTSLICE, "default", want);
    } else if (!json_equal(json_object_get(sl, "endpoints"), json_object_get(want, "endpoints")) ||
               !json_equal(json_object_get(sl, "ports"), json_object_get(want, "ports"))) {
        json_t *cp = json_deep_copy(sl);

        json_object_set(cp, "endpoints", json_object_get(want, "endpoints"));
        json_object_set(cp, "ports", json_object_get(want, "ports"));
        update_logged(c, RES_ENDPOINTSLICE, "default", cp);
        json_decref(cp);
    }
    json_decref(want);
}

static void serviceaccount_sync(struct ctl *c, const char *unused, const char *ns, void *ctx)
{
    const json_t *nsobj = kc_get(ctl_kc(c), kc_resource(RES_NAMESPACE), NULL, ns);
    json_t *sa;

    if (!nsobj || jx_get(nsobj, "metadata.deletionTimestamp"))
        return;
    if (!kc_get(ctl_kc(c), kc_resource(RES_SERVICEACCOUNT), ns, SA_DEFAULT)) {
        sa = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
                       "metadata", "name", SA_DEFAULT);
        create_logged(c, RES_SERVICEACCOUNT, ns, sa);
        json_decref(sa);
    }
    root_ca_sync(c, ns);
    if (strcmp(ns, "default") == 0)
        kubernetes_svc_sync(c);
}

/* An object this controller keeps changed or went away: re-check its namespace. */
static void on_owned(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                     json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");

    if (!ns || !name)
        return;
    if ((r->id == RES_SERVICEACCOUNT && !strcmp(name, SA_DEFAULT)) ||
        (r->id == RES_CONFIGMAP && !strcmp(name, ROOT_CA_CM)) ||
        ((r->id == RES_SERVICE || r->id == RES_ENDPOINTSLICE) && !strcmp(ns, "default") &&
         !strcmp(name, KUBERNETES_SVC)))
        ctl_enqueue(c, "", ns);
}

struct ctl *ctrl_serviceaccount_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "serviceaccount-controller", serviceaccount_sync, NULL);

    ctl_watch(c, RES_NAMESPACE, NULL);
    ctl_watch(c, RES_SERVICEACCOUNT, on_owned);
    ctl_watch(c, RES_CONFIGMAP, on_owned);
    ctl_watch(c, RES_SERVICE, on_owned);
    ctl_watch(c, RES_ENDPOINTSLICE, on_owned);
    ctl_start(c);
    return c;
}
