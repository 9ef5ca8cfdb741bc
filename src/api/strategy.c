/* Kind-specific write rules that are not validation: what a create resets (status), what the
 * server allocates (Service clusterIPs from 127.77.0.0/16, nodePorts), and Events recording. */
#include "api/api-int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

#define CLUSTER_IP_BASE 0x7f4d0000u /* 127.77.0.0 */
#define CLUSTER_IP_COUNT 65534u

static int ip_in_use(struct api *api, const char *ip)
{
    json_t *m = store_map(api->store, "services"), *v;
    const char *k;

    if (!m)
        return 0;
    json_object_foreach(m, k, v)
    {
        const char *c = jx_str(v, "spec.clusterIP");

        if (c && strcmp(c, ip) == 0)
            return 1;
    }
    return 0;
}

static int alloc_cluster_ip(struct api *api, json_t *svc, struct err *err)
{
    const char *want = jx_str(svc, "spec.clusterIP");
    const char *type = jx_str(svc, "spec.type");
    char ip[INET_ADDRSTRLEN];

    if (type && strcmp(type, "ExternalName") == 0)
        return 0;
    if (want && strcmp(want, "None") == 0) {
        jx_set(svc, "spec.clusterIPs", json_pack("[s]", "None"));
        return 0;
    }
    if (want && *want) {
        struct in_addr a;

        if (inet_pton(AF_INET, want, &a) != 1 || (ntohl(a.s_addr) & 0xffff0000u) != CLUSTER_IP_BASE) {
            err_field_invalid(err, "spec.clusterIPs", json_pack("[s]", want),
                              "failed to allocate IP %s: the provided IP (%s) is not in the valid "
                              "range. The range of valid IPs is 127.77.0.0/16",
                              want, want);
            return -E_INVALID;
        }
        if (ip_in_use(api, want)) {
            err_field_invalid(err, "spec.clusterIPs", json_pack("[s]", want),
                              "failed to allocate IP %s: provided IP is already allocated", want);
            return -E_INVALID;
        }
        jx_set(svc, "spec.clusterIPs", json_pack("[s]", want));
        return 0;
    }
    /* Random like kube-apiserver's allocator: two kroll servers on one machine (tests run in
     * parallel) then rarely hand out the same loopback address. */
    random_bytes(&api->next_ip, sizeof api->next_ip);
    for (uint32_t n = 0; n < CLUSTER_IP_COUNT; n++) {
        uint32_t off = 1 + (api->next_ip + n) % CLUSTER_IP_COUNT;
        struct in_addr a = {.s_addr = htonl(CLUSTER_IP_BASE + off)};

        inet_ntop(AF_INET, &a, ip, sizeof ip);
        if (!ip_in_use(api, ip)) {
            api->next_ip = off;
            jx_set(svc, "spec.clusterIP", json_string(ip));
            jx_set(svc, "spec.clusterIPs", json_pack("[s]", ip));
            return 0;
        }
    }
    return err_set(err, -E_INTERNAL, "no clusterIP left in 127.77.0.0/16");
}

static int node_port_used(struct api *api, long long port)
{
    json_t *m = store_map(api->store, "services"), *v;
    const char *k;

    if (!m)
        return 0;
    json_object_foreach(m, k, v)
    {
        json_t *ports = jx_get(v, "spec.ports");

        for (size_t i = 0; i < json_array_size(ports); i++)
            if (jx_int(json_array_get(ports, i), "nodePort", 0) == port)
                return 1;
    }
    return 0;
}

static int alloc_node_ports(struct api *api, json_t *svc, struct err *err)
{
    const char *type = jx_str(svc, "spec.type");
    json_t *ports = jx_get(svc, "spec.ports");

    if (!type || (strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0))
        return 0;
    for (size_t i = 0; i < json_array_size(ports); i++) {
        json_t *p = json_array_get(ports, i);
        long long np = jx_int(p, "nodePort", 0);

        if (np) {
            if (node_port_used(api, np)) {
                char f[64];

                snprintf(f, sizeof f, "spec.ports[%zu].nodePort", i);
                err_field_invalid(err, f, json_object_get(p, "nodePort"),
                                  "provided port is already allocated");
                return -E_INVALID;
            }
            continue;
        }
        for (long long c = 30000; c <= 32767; c++) {
            if (!node_port_used(api, c)) {
                json_object_set_new(p, "nodePort", json_integer(c));
                break;
            }
        }
    }
    return 0;
}

int api__prepare_create(struct api *api, const struct resource *r, json_t *obj, struct err *err)
{
    int rc;

    switch (r->id) {
    case RES_SERVICE:
        if ((rc = alloc_cluster_ip(api, obj, err)) < 0 || (rc = alloc_node_ports(api, obj, err)) < 0)
            return rc;
        json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
        break;
    case RES_POD:
        json_object_set_new(obj, "status", json_pack("{s:s,s:s}", "phase", "Pending", "qosClass",
                                                     "BestEffort"));
        break;
    case RES_NAMESPACE:
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        jx_set(obj, "spec.finalizers", json_pack("[s]", "kubernetes"));
        jx_obj(obj, "metadata.labels");
        json_object_set_new(jx_get(obj, "metadata.labels"), "kubernetes.io/metadata.name",
                            json_string(jx_str(obj, "metadata.name")));
        break;
    case RES_DEPLOYMENT:
    case RES_REPLICASET:
    case RES_DAEMONSET:
    case RES_PDB:
        json_object_del(obj, "status");
        break;
    default:
        break;
    }
    return 0;
}

void api__prepare_update(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         int status_only)
{
    if (status_only)
        return;
    if (r->id == RES_SERVICE) {
        /* clusterIP is immutable and allocated: keep the old one when the update omits it. */
        if (!jx_str(obj, "spec.clusterIP") && jx_str(old, "spec.clusterIP")) {
            jx_set(obj, "spec.clusterIP", json_string(jx_str(old, "spec.clusterIP")));
            jx_set(obj, "spec.clusterIPs", json_deep_copy(jx_get(old, "spec.clusterIPs")));
        }
        if (!json_object_get(obj, "status"))
            json_object_set(obj, "status", json_object_get(old, "status") ?: json_pack("{s:{}}", "loadBalancer"));
    }
    if (r->id == RES_NAMESPACE) {
        json_object_set(obj, "status", json_object_get(old, "status"));
        if (!jx_get(obj, "spec.finalizers") && jx_get(old, "spec.finalizers"))
            jx_set(obj, "spec.finalizers", json_deep_copy(jx_get(old, "spec.finalizers")));
    }
}

/* ---- Events ---- */

void api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...)
{
    const struct resource *r = api_resource(RES_EVENT);
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    json_t *m = store_map(api->store, r->key), *v, *ev, *out = NULL;
    struct api_wopts o = {.grace = -1};
    char msg[1024], ts[32], evname[300];
    struct timespec now;
    const char *k;
    struct err err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ns || !*ns)
        ns = "default";
    time_rfc3339(time(NULL), ts);
    err_init(&err);
    /* Aggregate an identical recent event into its count, as the event recorder does. */
    if (m)
        json_object_foreach(m, k, v)
        {
            if (strcmp(jx_str(v, "involvedObject.uid") ?: "", uid ?: "") == 0 &&
                strcmp(jx_str(v, "reason") ?: "", reason) == 0 &&
                strcmp(jx_str(v, "message") ?: "", msg) == 0 &&
                strcmp(jx_str(v, "type") ?: "", type) == 0 &&
                strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0) {
                ev = json_deep_copy(v);
                json_object_set_new(ev, "count", json_integer(jx_int(v, "count", 1) + 1));
                json_object_set_new(ev, "lastTimestamp", json_string(ts));
                if (api_update(api, r, ns, jx_str(v, "metadata.name"), ev, &o, &out, &err) < 0)
                    log_warn("api", "msg=\"event update failed\" err=\"%s\"", err.msg);
                json_decref(ev);
                json_decref(out);
                err_release(&err);
                return;
            }
        }
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(evname, sizeof evname, "%.200s.%llx", name ? name : "object",
             (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    ev = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s},s:s,s:s,s:i,s:s,"
                   "s:n,s:s,s:s}",
                   "metadata", "name", evname, "namespace", ns, "involvedObject", "kind",
                   jx_str(obj, "kind") ?: "", "namespace", jx_str(obj, "metadata.namespace") ?: "",
                   "name", name ?: "", "uid", uid ?: "", "apiVersion", jx_str(obj, "apiVersion") ?: "",
                   "reason", reason, "message", msg, "source", "component", component, "host",
                   api->node_name, "firstTimestamp", ts, "lastTimestamp", ts, "count", 1, "type",
                   type, "eventTime", "reportingComponent", component, "reportingInstance",
                   api->node_name);
    if (jx_str(obj, "metadata.resourceVersion"))
        jx_set(ev, "involvedObject.resourceVersion",
               json_string(jx_str(obj, "metadata.resourceVersion")));
    if (!jx_str(obj, "metadata.namespace") || !*jx_str(obj, "metadata.namespace"))
        jx_del(ev, "involvedObject.namespace");
    if (api_create(api, r, ns, ev, &o, &out, &err) < 0)
        log_warn("api", "msg=\"event create failed\" err=\"%s\"", err.msg);
    json_decref(ev);
    json_decref(out);
    err_release(&err);
}
