/* Server wiring: store -> API -> bootstrap objects -> controllers and node agent. */
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/api.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/names.h"
#include "core/netns.h"
#include "node/node.h"
#include "resources/resources.h"
#include "server/builtin_templates.h"
#include "server/inproc.h"
#include "server/pod_drain.h"
#include "server/pod_stats.h"
#include "server/proxy_sup.h"
#include "store/store.h"

struct server {
    struct loop *loop;
    struct store *store;
    struct api *api;
    struct kc *kc; /* the in-process client every component uses */
    struct controllers *ctrls;
    struct node *node;
    struct proxy_sup *psup;
    struct pod_drain *drain;
    struct pod_stats *stats;
    char node_name[256];
};

static void ensure_namespace(struct api *api, const char *name)
{
    const struct resource *r = scheme_resource(RES_NAMESPACE);
    struct api_wopts o = {.grace = -1};
    json_t *obj, *out = NULL;
    struct err err;

    if (api_get(api, r, NULL, name))
        return;
    err_init(&err);
    obj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                    "name", name);
    if (api_create(api, r, NULL, obj, &o, &out, &err) < 0)
        log_warn("server", "msg=\"cannot create namespace\" name=%s err=\"%s\"", name, err.msg);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
}

/* The GatewayClass "kroll" that kroll's proxy implements, unless someone made one already. */
static void ensure_gatewayclass(struct api *api)
{
    const struct resource *r = scheme_resource(RES_GATEWAYCLASS);
    struct api_wopts o = {.grace = -1};
    json_t *obj, *out = NULL;
    struct err err;

    if (api_get(api, r, NULL, "kroll"))
        return;
    err_init(&err);
    obj = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s}}", "apiVersion", "gateway.networking.k8s.io/v1",
                    "kind", "GatewayClass", "metadata", "name", "kroll", "spec", "controllerName",
                    KROLL_GATEWAY_CONTROLLER, "description", "kroll's proxy");
    if (api_create(api, r, NULL, obj, &o, &out, &err) < 0)
        log_warn("server", "msg=\"cannot create gatewayclass\" err=\"%s\"", err.msg);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
}

/* kube-system/kube-dns: the cluster DNS the proxy serves at CLUSTER_DNS_IP, shown as a
 * Service as on a cluster (no selector; the proxy does not route it, it answers it). */
static void ensure_kube_dns(struct api *api)
{
    const struct resource *r = scheme_resource(RES_SERVICE);
    struct api_wopts o = {.grace = -1};
    json_t *obj, *out = NULL;
    struct err err;

    if (api_get(api, r, "kube-system", "kube-dns"))
        return;
    err_init(&err);
    obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}}",
                    "apiVersion", "v1", "kind", "Service", "metadata", "name", "kube-dns",
                    "namespace", "kube-system", "labels", "k8s-app", "kube-dns", "spec",
                    "clusterIP", CLUSTER_DNS_IP, "ports", "name", "dns", "protocol", "UDP", "port",
                    53, "name", "dns-tcp", "protocol", "TCP", "port", 53);
    if (api_create(api, r, "kube-system", obj, &o, &out, &err) < 0)
        log_warn("server", "msg=\"cannot create the kube-dns Service\" err=\"%s\"", err.msg);
    json_decref(obj);
    json_decref(out);
    err_release(&err);
}

/* pods/eviction: the disruption controller decides (the eviction API's PDB check). */
static int evict(struct api *api, const json_t *pod, const json_t *eviction, int dry_run,
                 struct err *err, void *ctx)
{
    struct server *s = ctx;

    (void)api;
    return controllers_evict(s->ctrls, pod, eviction, dry_run, err);
}

int server_start(struct loop *loop, const struct server_opts *o, struct server **out,
                 struct err *err)
{
    struct server *s = xcalloc(1, sizeof *s);
    struct api_opts ao = {0};

    s->loop = loop;
    if (o->node_name)
        snprintf(s->node_name, sizeof s->node_name, "%s", o->node_name);
    else if (gethostname(s->node_name, sizeof s->node_name - 1) < 0 || !s->node_name[0])
        snprintf(s->node_name, sizeof s->node_name, "kroll-node");
    for (char *p = s->node_name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (store_open(o->db_path, &s->store, err) < 0)
        goto fail;
    ao.data_dir = o->data_dir;
    ao.listen_host = o->listen_host;
    ao.listen_port = o->listen_port;
    ao.node_name = s->node_name;
    ao.limits = o->api_limits;
    s->api = api_new(loop, s->store, &ao, err);
    if (!s->api)
        goto fail;
    api_set_sa_admission(s->api, 1);
    for (size_t i = 0; name_builtin_namespace(i); i++)
        ensure_namespace(s->api, name_builtin_namespace(i));
    ensure_gatewayclass(s->api);
    builtin_templates_ensure(s->api);
    ensure_kube_dns(s->api);
    s->kc = kc_inproc_new(s->api);
    s->ctrls = controllers_start(s->kc);
    api_set_evict_hook(s->api, evict, s);
    {
        struct node_opts no = {.data_dir = o->data_dir, .node_name = s->node_name,
                               .node_address = o->node_address, .resources = o->node_resources,
                               .n_resources = o->n_node_resources, .self_exe = o->self_exe,
                               .cdi_dirs = o->cdi_spec_dirs, .n_cdi_dirs = o->n_cdi_spec_dirs,
                               .runtime = o->runtime, .pod_pids_limit = o->pod_pids_limit,
                               .metrics_period_ms = o->metrics_period_ms};

        s->node = node_start(s->kc, &no, err);
        if (!s->node)
            goto fail;
        api_set_log_hook(s->api, node_serve_log, s->node);
        api_set_stream_hook(s->api, node_serve_stream, s->node);
        api_set_metrics_hook(s->api, node_usage, s->node);
    }
    {
        struct proxy_sup_opts po = {.data_dir = o->data_dir, .self_exe = o->self_exe,
                                    .node_address = o->node_address};

        s->psup = proxy_sup_start(loop, &po);
    }
    s->drain = pod_drain_start(s->kc, o->data_dir);
    s->stats = pod_stats_start(s->api, o->data_dir);
    *out = s;
    return 0;
fail:
    server_stop(s);
    return err->code ? err->code : -E_INTERNAL;
}

void server_stop(struct server *s)
{
    if (!s)
        return;
    pod_stats_stop(s->stats);
    pod_drain_stop(s->drain);
    proxy_sup_stop(s->psup);
    if (s->api) {
        api_set_log_hook(s->api, NULL, NULL);
        api_set_stream_hook(s->api, NULL, NULL);
        api_set_metrics_hook(s->api, NULL, NULL);
        api_set_evict_hook(s->api, NULL, NULL);
    }
    node_stop(s->node);
    controllers_stop(s->ctrls);
    kc_free(s->kc);
    api_free(s->api);
    store_close(s->store);
    free(s);
}

int server_port(const struct server *s)
{
    return api_port(s->api);
}

const char *server_token(const struct server *s)
{
    return api_token(s->api);
}
