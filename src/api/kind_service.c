/* The Service kind's kind_ops entry: its write strategy (clusterIP and nodePort allocation), table
 * printer (pkg/printers/internalversion, 1.32), strategic-merge keys and protobuf message; its
 * schema, defaults and validation are resources/' res_kind descriptor. Objects are untrusted JSON:
 * every getter tolerates absent or mistyped fields. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "core/tls.h"

/* ---- table (pkg/printers/internalversion) ---- */

/* Load-balancer ingress IPs (or hostnames), sorted and unique, then
 * spec.externalIPs. */
static char *service_lb_ips(const json_t *o)
{
    const json_t *ing = jx_get(o, "status.loadBalancer.ingress"),
                 *ext = jx_get(o, "spec.externalIPs");
    size_t ni = json_is_array(ing) ? json_array_size(ing) : 0;
    size_t ne = json_is_array(ext) ? json_array_size(ext) : 0, n = 0, i, len = 1;
    const char **list = xcalloc(ni + ne + 1, sizeof *list);
    char *out;
    json_t *v;

    json_array_foreach(ni ? ing : NULL, i, v)
    {
        const char *s = table__str_or(jx_str(v, "ip"), jx_str(v, "hostname"));
        if (s && *s)
            table__strlist_add_sorted(list, &n, s);
    }
    json_array_foreach(ne ? ext : NULL, i, v) if (json_is_string(v)) list[n++] =
        json_string_value(v);
    for (i = 0; i < n; i++)
        len += strlen(list[i]) + 1;
    out = xcalloc(1, len);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, list[i]);
    }
    free(list);
    return out;
}

static char *join_strings(const json_t *arr)
{
    size_t i, len = 1;
    char *out;
    json_t *v;

    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v) len +=
        strlen(table__str_or(json_string_value(v), "")) + 1;
    out = xcalloc(1, len);
    json_array_foreach(json_is_array(arr) ? arr : NULL, i, v)
    {
        if (i)
            strcat(out, ",");
        strcat(out, table__str_or(json_string_value(v), ""));
    }
    return out;
}

static char *service_external_ip(const json_t *o, const char *type)
{
    const json_t *ext = jx_get(o, "spec.externalIPs");
    char *s;

    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        if (json_array_size(ext) > 0)
            return join_strings(ext);
        return xstrdup("<none>");
    }
    if (!strcmp(type, "LoadBalancer")) {
        s = service_lb_ips(o);
        if (!*s) {
            free(s);
            return xstrdup("<pending>");
        }
        return s;
    }
    if (!strcmp(type, "ExternalName"))
        return xstrdup(table__str_or(jx_str(o, "spec.externalName"), ""));
    return xstrdup("<unknown>");
}

static char *service_ports(const json_t *o)
{
    const json_t *ports = jx_get(o, "spec.ports");
    size_t n = json_is_array(ports) ? json_array_size(ports) : 0, i, off = 0;
    char *out = xmalloc(n * 48 + 8);
    json_t *p;

    out[0] = 0;
    json_array_foreach(n ? ports : NULL, i, p)
    {
        json_int_t port = jx_int(p, "port", 0), np = jx_int(p, "nodePort", 0);
        const char *proto = table__str_or(jx_str(p, "protocol"), "TCP");
        char one[48];
        if (np > 0)
            snprintf(one, sizeof one, "%lld:%lld/%.16s", (long long)port, (long long)np, proto);
        else
            snprintf(one, sizeof one, "%lld/%.16s", (long long)port, proto);
        off += snprintf(out + off, 48 + 1, "%s%s", i ? "," : "", one);
    }
    if (!out[0])
        strcpy(out, "<none>");
    return out;
}

static void cells_service(const json_t *o, time_t now, json_t *row)
{
    const char *type = table__str_or(jx_str(o, "spec.type"), "ClusterIP");
    const char *cip = json_string_value(json_array_get(jx_get(o, "spec.clusterIPs"), 0));

    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, type);
    table__cell_str(row, table__str_or(cip ? cip : jx_str(o, "spec.clusterIP"), "<none>"));
    table__cell_take(row, service_external_ip(o, type));
    table__cell_take(row, service_ports(o));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cell_take(row, table__labels(jx_get(o, "spec.selector")));
}

static const struct table_col svc_cols[] = {TABLE_COL_NAME,
                                            {"Type", "string", 0},
                                            {"Cluster-IP", "string", 0},
                                            {"External-IP", "string", 0},
                                            {"Port(s)", "string", 0},
                                            TABLE_COL_AGE,
                                            {"Selector", "string", 1},
                                            TABLE_COL_END};

/* ---- strategy: clusterIPs from 127.77.0.0/16, nodePorts from 30000-32767 ---- */

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

/* Refuses a requested clusterIP (the cause shows the value as ["IP"], as kube-apiserver does).
 * err_field_invalid borrows the value, so it is released here. */
static int refuse_ip(struct err *err, const char *want, const char *why)
{
    json_t *v = json_pack("[s]", want);

    err_field_invalid(err, "spec.clusterIPs", v, "failed to allocate IP %s: %s", want, why);
    json_decref(v);
    return -E_INVALID;
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

        if (inet_pton(AF_INET, want, &a) != 1 ||
            (ntohl(a.s_addr) & 0xffff0000u) != CLUSTER_IP_BASE) {
            char why[160];

            snprintf(why, sizeof why,
                     "the provided IP (%s) is not in the valid range. The range of valid IPs is "
                     "127.77.0.0/16",
                     want);
            return refuse_ip(err, want, why);
        }
        if (!strcmp(want, CLUSTER_DNS_IP) &&
            (strcmp(jx_str(svc, "metadata.namespace") ?: "", "kube-system") ||
             strcmp(jx_str(svc, "metadata.name") ?: "", "kube-dns")))
            return refuse_ip(err, want, "provided IP is reserved for the cluster DNS");
        if (ip_in_use(api, want))
            return refuse_ip(err, want, "provided IP is already allocated");
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
        if (strcmp(ip, CLUSTER_DNS_IP) && !ip_in_use(api, ip)) {
            api->next_ip = off;
            jx_set(svc, "spec.clusterIP", json_string(ip));
            jx_set(svc, "spec.clusterIPs", json_pack("[s]", ip));
            return 0;
        }
    }
    return err_set(err, -E_INTERNAL, "no clusterIP left in 127.77.0.0/16");
}

int api__service_ip_alloc(struct api *api, json_t *svc)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = alloc_cluster_ip(api, svc, &err);
    err_release(&err);
    return rc;
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

/* Create: the server allocates the clusterIP and nodePorts and owns status. */
static int service_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    int rc;

    if ((rc = alloc_cluster_ip(api, obj, err)) < 0 || (rc = alloc_node_ports(api, obj, err)) < 0)
        return rc;
    json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
    return 0;
}

static void service_prepare_update(struct api *api, json_t *obj, const json_t *old)
{
    (void)api;
    /* clusterIP is immutable and allocated: keep the old one when the update omits it. */
    if (!jx_str(obj, "spec.clusterIP") && jx_str(old, "spec.clusterIP")) {
        jx_set(obj, "spec.clusterIP", json_string(jx_str(old, "spec.clusterIP")));
        jx_set(obj, "spec.clusterIPs", json_deep_copy(jx_get(old, "spec.clusterIPs")));
    }
    if (!json_object_get(obj, "status"))
        json_object_set(obj, "status",
                        json_object_get(old, "status") ?: json_pack("{s:{}}", "loadBalancer"));
}

/* ---- strategic merge keys ---- */

static const struct patch_merge_row merge_rows[] = {
    {"spec.ports", {PATCH_LIST_MAP, {"port", "protocol"}, {NULL, "TCP"}}},
    {NULL, PATCH_ATOMIC},
};
static const struct patch_schema merge = {NULL, merge_rows};

const struct kind_ops kind_SERVICE = {
    .res = &res_kind_service,
    .prepare_create = service_prepare_create,
    .prepare_update = service_prepare_update,
    .cols = svc_cols,
    .cells = cells_service,
    .merge = &merge,
    .pb = &pb_msg_Service,
};
