/* core/v1 Service and Endpoints, discovery.k8s.io/v1 EndpointSlice: defaults (including the
 * single-stack IPv4 family fields the REST layer fills) and validation. ClusterIP and nodePort
 * allocation belong to the API layer; this file only checks what it is given. */
#include "resources/res-int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/jx.h"

/* Field paths are bounded; a path that does not fit is cut, never overflowed. */
#define P(buf, ...) res__path(buf, sizeof buf, __VA_ARGS__)

static int is_ip(const char *s)
{
    unsigned char buf[16];

    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* ---- Service ---- */

static void service_ports_default(json_t *spec)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        const json_t *tp = json_object_get(p, "targetPort");

        if (!json_is_object(p))
            continue;
        res__dset(p, "protocol", json_string("TCP"));
        if ((!tp || json_is_null(tp) || (json_is_integer(tp) && !json_integer_value(tp)) ||
             (json_is_string(tp) && !*json_string_value(tp))) &&
            json_is_integer(json_object_get(p, "port")))
            json_object_set(p, "targetPort", json_object_get(p, "port"));
    }
}

void res__service_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *cfg;
    const char *type, *aff, *cip;

    if (!spec)
        return;
    res__dset(spec, "type", json_string("ClusterIP"));
    res__dset(spec, "sessionAffinity", json_string("None"));
    type = jx_str(spec, "type");
    aff = jx_str(spec, "sessionAffinity");
    if (aff && !strcmp(aff, "ClientIP") && (cfg = res__dobj(spec, "sessionAffinityConfig")) &&
        (cfg = res__dobj(cfg, "clientIP")))
        res__dset(cfg, "timeoutSeconds", json_integer(10800));
    service_ports_default(spec);
    if (!type)
        return;
    if (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
        res__dset(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (!strcmp(type, "LoadBalancer"))
        res__dset(spec, "allocateLoadBalancerNodePorts", json_true());
    if (!strcmp(type, "ExternalName"))
        return;
    res__dset(spec, "internalTrafficPolicy", json_string("Cluster"));
    cip = jx_str(spec, "clusterIP");
    if (cip && *cip && !json_object_get(spec, "clusterIPs")) {
        json_t *a = json_array();

        json_array_append_new(a, json_string(cip));
        json_object_set_new(spec, "clusterIPs", a);
    }
    /* Headless Services without a selector default to every cluster family. */
    if (cip && !strcmp(cip, "None") && json_object_size(json_object_get(spec, "selector")) == 0)
        res__dset(spec, "ipFamilyPolicy", json_string("RequireDualStack"));
    else
        res__dset(spec, "ipFamilyPolicy", json_string("SingleStack"));
    if (!json_object_get(spec, "ipFamilies") || json_is_null(json_object_get(spec, "ipFamilies"))) {
        json_t *a = json_array();

        json_array_append_new(a, json_string("IPv4"));
        json_object_set_new(spec, "ipFamilies", a);
    }
}

static void target_port_check(const json_t *tp, const char *f, struct err *err)
{
    const char *s = json_string_value(tp);

    if (json_is_integer(tp)) {
        json_int_t n = json_integer_value(tp);

        if (n < 1 || n > 65535)
            err_field_invalid(err, f, tp, "must be between 1 and 65535, inclusive");
        return;
    }
    if (!s)
        return;
    if (strlen(s) > 15)
        err_field_invalid(err, f, tp, "must be no more than 15 characters");
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
            err_field_invalid(err, f, tp, "must contain only alpha-numeric characters (a-z, "
                                          "0-9), and hyphens (-)");
            break;
        }
}

static void service_port_validate(const json_t *spec, size_t i, const json_t *p, int need_name,
                                  const char *type, struct err *err)
{
    static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
    const json_t *name = json_object_get(p, "name"), *port = json_object_get(p, "port");
    const json_t *np = json_object_get(p, "nodePort");
    char f[200];
    size_t j;
    json_t *q;

    P(f, "spec.ports[%zu].name", i);
    if (!json_string_value(name) || !*json_string_value(name)) {
        if (need_name)
            err_field_required(err, f, "");
    } else {
        res__name_check(err, f, json_string_value(name), RN_LABEL);
        json_array_foreach(json_object_get(spec, "ports"), j, q) {
            if (j >= i)
                break;
            if (json_equal(json_object_get(q, "name"), (json_t *)name)) {
                err_field_duplicate(err, f, name);
                break;
            }
        }
    }
    P(f, "spec.ports[%zu].port", i);
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        err_field_invalid(err, f, port, "must be between 1 and 65535, inclusive");
    P(f, "spec.ports[%zu].protocol", i);
    if (!jx_str(p, "protocol") || !*jx_str(p, "protocol"))
        err_field_required(err, f, "");
    else if (strcmp(jx_str(p, "protocol"), "TCP") && strcmp(jx_str(p, "protocol"), "UDP") &&
             strcmp(jx_str(p, "protocol"), "SCTP"))
        err_field_unsupported(err, f, json_object_get(p, "protocol"), protos);
    P(f, "spec.ports[%zu].targetPort", i);
    target_port_check(json_object_get(p, "targetPort"), f, err);
    if (!json_is_integer(np) || json_integer_value(np) == 0)
        return;
    P(f, "spec.ports[%zu].nodePort", i);
    if (type && (!strcmp(type, "ClusterIP") || !strcmp(type, "ExternalName"))) {
        err_field_forbidden(err, f, !strcmp(type, "ClusterIP")
                                        ? "may not be used when `type` is 'ClusterIP'"
                                        : "may not be used when `type` is 'ExternalName'");
        return;
    }
    if (json_integer_value(np) < 30000 || json_integer_value(np) > 32767)
        err_field_invalid(err, f, np, "provided port is not in the valid range. The range of "
                                      "valid ports is 30000-32767");
    json_array_foreach(json_object_get(spec, "ports"), j, q) {
        if (j >= i)
            break;
        if (json_equal(json_object_get(q, "nodePort"), (json_t *)np) &&
            jx_equal_semantic(json_object_get(q, "protocol"), json_object_get(p, "protocol"))) {
            err_field_duplicate(err, f, np);
            break;
        }
    }
}

static void service_enums_validate(const json_t *spec, struct err *err)
{
    static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort",
                                        NULL};
    static const char *const affs[] = {"ClientIP", "None", NULL};
    static const char *const pols[] = {"SingleStack", "PreferDualStack", "RequireDualStack",
                                       NULL};
    static const char *const itp[] = {"Cluster", "Local", NULL};
    static const struct {
        const char *key, *field;
        const char *const *set;
    } enums[] = {{"type", "spec.type", types},
                 {"sessionAffinity", "spec.sessionAffinity", affs},
                 {"ipFamilyPolicy", "spec.ipFamilyPolicy", pols},
                 {"internalTrafficPolicy", "spec.internalTrafficPolicy", itp},
                 {"externalTrafficPolicy", "spec.externalTrafficPolicy", itp}};

    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        const json_t *v = json_object_get(spec, enums[i].key);
        const char *s = json_string_value(v);
        int ok = 0;

        if (!s || (!*s && i >= 2))
            continue;
        for (const char *const *e = enums[i].set; *e; e++)
            ok |= !strcmp(*e, s);
        if (!ok)
            err_field_unsupported(err, enums[i].field, v, enums[i].set);
    }
}

static void service_spec_validate(const json_t *spec, struct err *err)
{
    const char *type = jx_str(spec, "type"), *cip = jx_str(spec, "clusterIP");
    const char *etp = jx_str(spec, "externalTrafficPolicy");
    const json_t *ports = json_object_get(spec, "ports");
    int headless = cip && !strcmp(cip, "None");
    int extname = type && !strcmp(type, "ExternalName");
    size_t i;
    json_t *p;

    service_enums_validate(spec, err);
    if (json_array_size(ports) == 0 && !headless && !extname)
        err_field_required(err, "spec.ports", "");
    json_array_foreach(ports, i, p)
        service_port_validate(spec, i, p, json_array_size(ports) > 1, type, err);
    res__labels_validate(json_object_get(spec, "selector"), "spec.selector", err);
    if (extname) {
        const char *en = jx_str(spec, "externalName");

        if (!en || !*en)
            err_field_required(err, "spec.externalName", "");
        else
            res__name_check(err, "spec.externalName", en, RN_SUBDOMAIN);
        if (cip && *cip)
            err_field_forbidden(err, "spec.clusterIPs", "may not be set for ExternalName services");
    } else if (cip && *cip && !headless && !is_ip(cip)) {
        err_field_invalid(err, "spec.clusterIPs[0]", json_object_get(spec, "clusterIP"),
                          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    }
    if (etp && *etp && type && strcmp(type, "NodePort") && strcmp(type, "LoadBalancer"))
        err_field_invalid(err, "spec.externalTrafficPolicy", json_object_get(spec,
                          "externalTrafficPolicy"),
                          "may only be set when `type` is 'NodePort' or 'LoadBalancer'");
    if (jx_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds", 1) <= 0 ||
        jx_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds", 1) > 86400)
        err_field_invalid(err, "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                          jx_get(spec, "sessionAffinityConfig.clientIP.timeoutSeconds"),
                          "must be greater than 0 and less than 86400");
}

void res__service_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec");

    res__meta_validate(obj, old, RN_DNS1035, 1, err);
    if (!json_is_object(spec)) {
        err_field_required(err, "spec", "");
        return;
    }
    service_spec_validate(spec, err);
    if (old) {
        const char *a = jx_str(spec, "clusterIP"), *b = jx_str(old, "spec.clusterIP");

        /* An empty clusterIP on update means "keep the allocated one" (the API layer copies
         * it over); only a different explicit value is a change. */
        if (a && *a && b && *b && strcmp(a, b) != 0)
            err_cause(err, "FieldValueInvalid", "spec.clusterIPs[0]",
                      "Invalid value: []string{\"%s\"}: may not change once set", a);
    }
}

/* ---- Endpoints ---- */

void res__endpoints_default(json_t *obj)
{
    size_t i, j;
    json_t *s, *p;

    json_array_foreach(json_object_get(obj, "subsets"), i, s)
        json_array_foreach(json_object_get(s, "ports"), j, p)
            res__dset(p, "protocol", json_string("TCP"));
}

static void ep_port_validate(const json_t *p, const char *f0, int need_name, int port_required,
                             struct err *err)
{
    static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
    const json_t *port = json_object_get(p, "port");
    const char *name = jx_str(p, "name"), *proto = jx_str(p, "protocol");
    char f[200];

    P(f, "%s.name", f0);
    if (name && *name)
        res__name_check(err, f, name, RN_LABEL);
    else if (need_name)
        err_field_required(err, f, "");
    P(f, "%s.port", f0);
    if ((port_required || json_is_integer(port)) &&
        (json_integer_value(port) < 1 || json_integer_value(port) > 65535))
        err_field_invalid(err, f, port, "must be between 1 and 65535, inclusive");
    P(f, "%s.protocol", f0);
    if (proto && strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
        err_field_unsupported(err, f, json_object_get(p, "protocol"), protos);
}

void res__endpoints_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const lists[] = {"addresses", "notReadyAddresses"};
    size_t i, j;
    json_t *s, *a;
    char f[200];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    json_array_foreach(json_object_get(obj, "subsets"), i, s) {
        const json_t *ports = json_object_get(s, "ports");

        for (int l = 0; l < 2; l++)
            json_array_foreach(json_object_get(s, lists[l]), j, a) {
                P(f, "subsets[%zu].%s[%zu].ip", i, lists[l], j);
                if (!is_ip(jx_str(a, "ip")))
                    err_field_invalid(err, f, json_object_get(a, "ip"),
                                      "must be a valid IP address, (e.g. 10.9.8.7 or "
                                      "2001:db8::ffff)");
            }
        json_array_foreach(ports, j, a) {
            P(f, "subsets[%zu].ports[%zu]", i, j);
            ep_port_validate(a, f, json_array_size(ports) > 1, 1, err);
        }
    }
}

/* ---- EndpointSlice ---- */

void res__endpointslice_default(json_t *obj)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(obj, "ports"), i, p) {
        res__dset(p, "name", json_string(""));
        res__dset(p, "protocol", json_string("TCP"));
    }
}

void res__endpointslice_validate(const json_t *obj, const json_t *old, struct err *err)
{
    static const char *const types[] = {"IPv4", "IPv6", "FQDN", NULL};
    const json_t *at = json_object_get(obj, "addressType");
    const char *ats = json_string_value(at);
    size_t i, j;
    json_t *e, *a;
    char f[200];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (!ats || !*ats)
        err_field_required(err, "addressType", "");
    else if (strcmp(ats, "IPv4") && strcmp(ats, "IPv6") && strcmp(ats, "FQDN"))
        err_field_unsupported(err, "addressType", at, types);
    if (json_array_size(json_object_get(obj, "endpoints")) > 1000)
        err_cause(err, "FieldValueTooMany", "endpoints",
                  "Too many: %zu: must have at most 1000 items",
                  json_array_size(json_object_get(obj, "endpoints")));
    json_array_foreach(json_object_get(obj, "endpoints"), i, e) {
        const json_t *addrs = json_object_get(e, "addresses");

        P(f, "endpoints[%zu].addresses", i);
        if (json_array_size(addrs) == 0)
            err_field_required(err, f, "must contain at least 1 address");
        json_array_foreach(addrs, j, a) {
            P(f, "endpoints[%zu].addresses[%zu]", i, j);
            if (ats && strcmp(ats, "FQDN") && !is_ip(json_string_value(a)))
                err_field_invalid(err, f, a, "must be a valid IP address");
        }
    }
    json_array_foreach(json_object_get(obj, "ports"), i, e) {
        P(f, "ports[%zu]", i);
        ep_port_validate(e, f, 0, 0, err);
    }
    if (old && !jx_equal_semantic(at, json_object_get(old, "addressType")))
        err_field_invalid(err, "addressType", at, "field is immutable");
}
