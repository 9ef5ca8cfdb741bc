/* gateway.networking.k8s.io/v1 GatewayClass, Gateway and HTTPRoute kind_ops entries: printers
 * as the Gateway API CRDs print them, and what kroll, the implementation behind the GatewayClass
 * whose controllerName is KROLL_GATEWAY_CONTROLLER, owns on writes: the class's Accepted
 * condition, a Gateway's address (a loopback address from the Services' clusterIP range, so the
 * proxy can listen on it) with Accepted/Programmed, and an HTTPRoute's status.parents
 * (Accepted, ResolvedRefs) for the parents that are kroll's Gateways. Status is decided when the
 * object is written; the proxy serves whatever the objects say at any time. Custom resources:
 * no strategic merge. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"
#include "api/kind.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/tls.h"
#include "store/store.h"

#define GW_IP_BASE 0x7f4d0000u /* 127.77.0.0/16, shared with Services' clusterIPs */
#define GW_IP_COUNT 65534u

/* ---- tables (the CRDs' additionalPrinterColumns) ---- */

static const char *cond_status(const json_t *o, const char *type)
{
    const json_t *c;
    size_t i;

    json_array_foreach(jx_get(o, "status.conditions"), i,
                       c) if (!strcmp(jx_str(c, "type") ?: "", type)) return jx_str(c, "status")
        ?: "";
    return "";
}

static void cells_gatewayclass(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "spec.controllerName") ?: "");
    table__cell_str(row, cond_status(o, "Accepted"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cell_str(row, jx_str(o, "spec.description") ?: "");
}

static const struct table_col gatewayclass_cols[] = {
    TABLE_COL_NAME, {"Controller", "string", 0},  {"Accepted", "string", 0},
    TABLE_COL_AGE,  {"Description", "string", 1}, TABLE_COL_END};

/* A JSONPath column over a list prints the values space-separated, as kubectl does. */
static void cell_join(json_t *row, const json_t *arr, const char *key)
{
    char buf[512] = "";
    size_t i, len = 0;
    const json_t *v;

    json_array_foreach(arr, i, v)
    {
        const char *s = key ? jx_str(v, key) : json_string_value(v);

        if (s && len + strlen(s) + 2 < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? " " : "", s);
    }
    table__cell_str(row, buf);
}

static void cells_gateway(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "spec.gatewayClassName") ?: "");
    cell_join(row, jx_get(o, "status.addresses"), "value");
    table__cell_str(row, cond_status(o, "Programmed"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col gateway_cols[] = {
    TABLE_COL_NAME, {"Class", "string", 0}, {"Address", "string", 0}, {"Programmed", "string", 0},
    TABLE_COL_AGE,  TABLE_COL_END};

static void cells_httproute(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    cell_join(row, jx_get(o, "spec.hostnames"), NULL);
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col httproute_cols[] = {
    TABLE_COL_NAME, {"Hostnames", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

/* ---- status owned by kroll ---- */

/* Conditions whose type and status are unchanged keep their lastTransitionTime from old. */
static void keep_times(json_t *conds, const json_t *old)
{
    json_t *c, *o;
    size_t i, j;

    json_array_foreach(conds, i, c) json_array_foreach(
        old, j, o) if (!strcmp(jx_str(c, "type") ?: "", jx_str(o, "type") ?: "-") &&
                       !strcmp(jx_str(c, "status") ?: "", jx_str(o, "status") ?: "-") &&
                       jx_str(o, "lastTransitionTime"))
        json_object_set(c, "lastTransitionTime", json_object_get(o, "lastTransitionTime"));
}

static json_t *cond(const char *type, int ok, const char *reason, const char *msg, long long gen)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", ok ? "True" : "False",
                     "reason", reason, "message", msg, "lastTransitionTime", ts,
                     "observedGeneration", (json_int_t)gen);
}

static int class_is_kroll(struct api *api, const char *name)
{
    const json_t *gc = name ? api_get(api, scheme_resource(RES_GATEWAYCLASS), NULL, name) : NULL;

    return gc && !strcmp(jx_str(gc, "spec.controllerName") ?: "", KROLL_GATEWAY_CONTROLLER);
}

static int gatewayclass_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    (void)api;
    (void)err;
    json_object_del(obj, "status");
    if (!strcmp(jx_str(obj, "spec.controllerName") ?: "", KROLL_GATEWAY_CONTROLLER))
        jx_set(obj, "status.conditions",
               json_pack("[o]", cond("Accepted", 1, "Accepted", "Handled by kroll's proxy",
                                     jx_int(obj, "metadata.generation", 1))));
    return 0;
}

static int ip_in_use(struct api *api, const char *ip)
{
    json_t *m = store_map(api->store, scheme_resources[RES_SERVICE].key), *v;
    const char *k;
    size_t i;
    json_t *a;

    json_object_foreach(m, k, v) if (!strcmp(jx_str(v, "spec.clusterIP") ?: "", ip)) return 1;
    m = store_map(api->store, scheme_resources[RES_GATEWAY].key);
    json_object_foreach(m, k, v) json_array_foreach(
        jx_get(v, "status.addresses"), i, a) if (!strcmp(jx_str(a, "value") ?: "", ip)) return 1;
    return 0;
}

static int gateway_alloc(struct api *api, json_t *obj, struct err *err)
{
    uint32_t r;
    char ip[INET_ADDRSTRLEN];

    random_bytes(&r, sizeof r);
    for (uint32_t n = 0; n < GW_IP_COUNT; n++) {
        struct in_addr a = {.s_addr = htonl(GW_IP_BASE + 1 + (r + n) % GW_IP_COUNT)};

        inet_ntop(AF_INET, &a, ip, sizeof ip);
        if (!ip_in_use(api, ip)) {
            jx_set(obj, "status.addresses",
                   json_pack("[{s:s,s:s}]", "type", "IPAddress", "value", ip));
            return 0;
        }
    }
    return err_set(err, -E_INTERNAL, "no address left in 127.77.0.0/16 for the Gateway");
}

/* Accepted/Programmed and one status per listener: kroll's proxy serves HTTP listeners. */
static void gateway_conditions(json_t *obj)
{
    long long gen = jx_int(obj, "metadata.generation", 1);
    json_t *ls = json_array(), *l;
    size_t i;

    jx_set(obj, "status.conditions",
           json_pack("[o,o]", cond("Accepted", 1, "Accepted", "Handled by kroll's proxy", gen),
                     cond("Programmed", 1, "Programmed", "Listening on its address", gen)));
    json_array_foreach(jx_get(obj, "spec.listeners"), i, l)
    {
        int http = !strcmp(jx_str(l, "protocol") ?: "", "HTTP");

        json_array_append_new(
            ls, json_pack("{s:s,s:[{s:s,s:s}],s:i,s:[o,o]}", "name", jx_str(l, "name") ?: "",
                          "supportedKinds", "group", "gateway.networking.k8s.io", "kind",
                          "HTTPRoute", "attachedRoutes", 0, "conditions",
                          cond("Accepted", http, http ? "Accepted" : "UnsupportedProtocol",
                               http ? "Serving HTTP" : "kroll serves HTTP listeners only", gen),
                          cond("Programmed", http, http ? "Programmed" : "Invalid",
                               http ? "Listening" : "Not served", gen)));
    }
    jx_set(obj, "status.listeners", ls);
}

static int gateway_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    json_object_del(obj, "status");
    if (!class_is_kroll(api, jx_str(obj, "spec.gatewayClassName")))
        return 0; /* another implementation's Gateway: left alone */
    if (gateway_alloc(api, obj, err) < 0)
        return err->code;
    gateway_conditions(obj);
    return 0;
}

static void gateway_prepare_update(struct api *api, json_t *obj, const json_t *old)
{
    json_t *addrs = jx_get(old, "status.addresses");

    (void)api;
    json_object_del(obj, "status");
    if (!addrs)
        return;
    jx_set(obj, "status.addresses", json_deep_copy(addrs));
    gateway_conditions(obj);
    keep_times(jx_get(obj, "status.conditions"), jx_get(old, "status.conditions"));
    for (size_t i = 0; i < json_array_size(jx_get(obj, "status.listeners")); i++) {
        json_t *l = json_array_get(jx_get(obj, "status.listeners"), i);
        const json_t *ol = json_array_get(jx_get(old, "status.listeners"), i);

        keep_times(json_object_get(l, "conditions"), json_object_get(ol, "conditions"));
    }
}

/* status.parents for each parentRef naming one of kroll's Gateways. */
static void httproute_status(struct api *api, json_t *obj)
{
    const char *ns = jx_str(obj, "metadata.namespace") ?: "default";
    long long gen = jx_int(obj, "metadata.generation", 1);
    json_t *parents = json_array(), *p, *r, *b;
    size_t i, j, k;
    char missing[300] = "";

    json_array_foreach(jx_get(obj, "spec.rules"), j, r) json_array_foreach(
        json_object_get(r, "backendRefs"), k,
        b) if (!missing[0] && !api_get(api, scheme_resource(RES_SERVICE), jx_str(b, "namespace") ?: ns,
                                       jx_str(b, "name") ?: ""))
        snprintf(missing, sizeof missing, "Service %s/%s not found", jx_str(b, "namespace") ?: ns,
                 jx_str(b, "name") ?: "");
    json_array_foreach(jx_get(obj, "spec.parentRefs"), i, p)
    {
        const char *pns = jx_str(p, "namespace") ?: ns;
        const json_t *gw = api_get(api, scheme_resource(RES_GATEWAY), pns, jx_str(p, "name") ?: "");

        if (strcmp(jx_str(p, "kind") ?: "Gateway", "Gateway") || !gw ||
            !class_is_kroll(api, jx_str(gw, "spec.gatewayClassName")))
            continue;
        json_array_append_new(
            parents, json_pack("{s:O,s:s,s:[o,o]}", "parentRef", p, "controllerName",
                               KROLL_GATEWAY_CONTROLLER, "conditions",
                               cond("Accepted", 1, "Accepted", "Route attached", gen),
                               cond("ResolvedRefs", !missing[0],
                                    missing[0] ? "BackendNotFound" : "ResolvedRefs",
                                    missing[0] ? missing : "All references resolved", gen)));
    }
    jx_set(obj, "status.parents", parents);
}

static int httproute_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    (void)err;
    json_object_del(obj, "status");
    httproute_status(api, obj);
    return 0;
}

static void httproute_prepare_update(struct api *api, json_t *obj, const json_t *old)
{
    json_t *ps;

    json_object_del(obj, "status");
    httproute_status(api, obj);
    ps = jx_get(obj, "status.parents");
    for (size_t i = 0; i < json_array_size(ps); i++) {
        const json_t *op = json_array_get(jx_get(old, "status.parents"), i);

        keep_times(json_object_get(json_array_get(ps, i), "conditions"),
                   json_object_get(op, "conditions"));
    }
}

const struct kind_ops kind_GATEWAYCLASS = {
    .res = &res_kind_gatewayclass,
    .flags = KO_STATUS_BY_STRATEGY,
    .prepare_create = gatewayclass_prepare_create,
    .cols = gatewayclass_cols,
    .cells = cells_gatewayclass,
};

const struct kind_ops kind_GATEWAY = {
    .res = &res_kind_gateway,
    .flags = KO_STATUS_BY_STRATEGY,
    .prepare_create = gateway_prepare_create,
    .prepare_update = gateway_prepare_update,
    .cols = gateway_cols,
    .cells = cells_gateway,
};

const struct kind_ops kind_HTTPROUTE = {
    .res = &res_kind_httproute,
    .flags = KO_STATUS_BY_STRATEGY,
    .prepare_create = httproute_prepare_create,
    .prepare_update = httproute_prepare_update,
    .cols = httproute_cols,
    .cells = cells_httproute,
};
