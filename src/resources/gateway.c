/* gateway.networking.k8s.io/v1 GatewayClass, Gateway and HTTPRoute: the CRDs' defaults and the
 * rules their OpenAPI schema and CEL validations enforce (Gateway API v1.2, standard channel),
 * refused with 422 and field causes. kroll's proxy serves HTTP listeners and Exact/PathPrefix
 * paths, Exact headers and methods; RegularExpression matches are refused by name rather than
 * accepted and ignored. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/jx.h"
#include "resources/res-int.h"

#define GW_MAX_LISTENERS 64
#define HR_MAX_PARENTS 32
#define HR_MAX_HOSTNAMES 16
#define HR_MAX_RULES 16
#define HR_MAX_MATCHES 64
#define HR_MAX_HEADERS 16
#define HR_MAX_BACKENDS 16
#define HR_MAX_WEIGHT 1000000
#define GW_MAX_VALUE 1024

/* ---- defaults ---- */

static void res__httproute_default(json_t *obj)
{
    json_t *spec = res__dobj(obj, "spec"), *v, *rules;
    size_t i, j;

    if (!spec)
        return;
    json_array_foreach(json_object_get(spec, "parentRefs"), i, v)
    {
        if (!json_is_object(v))
            continue;
        res__dset(v, "group", json_string("gateway.networking.k8s.io"));
        res__dset(v, "kind", json_string("Gateway"));
    }
    rules = json_object_get(spec, "rules");
    if (!rules || json_is_null(rules))
        json_object_set_new(spec, "rules", json_pack("[{}]"));
    json_array_foreach(json_object_get(spec, "rules"), i, v)
    {
        json_t *m, *b, *h;
        size_t k;

        if (!json_is_object(v))
            continue;
        if (!json_object_get(v, "matches") || json_is_null(json_object_get(v, "matches")))
            json_object_set_new(v, "matches", json_pack("[{}]"));
        json_array_foreach(json_object_get(v, "matches"), j, m)
        {
            json_t *p;

            if (!json_is_object(m))
                continue;
            if (!json_object_get(m, "path") || json_is_null(json_object_get(m, "path")))
                json_object_set_new(m, "path", json_object());
            if ((p = json_object_get(m, "path")) && json_is_object(p)) {
                res__dset(p, "type", json_string("PathPrefix"));
                res__dset(p, "value", json_string("/"));
            }
            json_array_foreach(json_object_get(m, "headers"), k, h) if (json_is_object(h))
                res__dset(h, "type", json_string("Exact"));
        }
        json_array_foreach(json_object_get(v, "backendRefs"), j, b)
        {
            if (!json_is_object(b))
                continue;
            res__dset(b, "group", json_string(""));
            res__dset(b, "kind", json_string("Service"));
            res__dset(b, "weight", json_integer(1));
        }
    }
}

static void res__gateway_default(json_t *obj)
{
    json_t *l;
    size_t i;

    json_array_foreach(jx_get(obj, "spec.listeners"), i, l)
    {
        json_t *ar, *ns;

        if (!json_is_object(l) || !(ar = res__dobj(l, "allowedRoutes")) ||
            !(ns = res__dobj(ar, "namespaces")))
            continue;
        res__dset(ns, "from", json_string("Same"));
    }
}

/* ---- validation ---- */

static void too_many(struct err *err, const char *field, size_t n, size_t max)
{
    err_cause(err, "FieldValueTooMany", field, "Too many: %zu: must have at most %zu items", n,
              max);
}

static void value_check(struct err *err, const char *field, const json_t *v, int required)
{
    const char *s = json_string_value(v);

    if (!s || !*s) {
        if (required)
            err_field_required(err, field, NULL);
        return;
    }
    if (strlen(s) > GW_MAX_VALUE)
        err_cause(err, "FieldValueTooLong", field, "Too long: may not be more than %d bytes",
                  GW_MAX_VALUE);
}

static void gatewayclass_validate(const json_t *obj, const json_t *old, struct err *err)
{
    res__meta_validate(obj, old, RN_SUBDOMAIN, 0, err);
    value_check(err, "spec.controllerName", jx_get(obj, "spec.controllerName"), 1);
    if (old && jx_str(old, "spec.controllerName") && jx_str(obj, "spec.controllerName") &&
        strcmp(jx_str(old, "spec.controllerName"), jx_str(obj, "spec.controllerName")))
        err_field_invalid(err, "spec.controllerName", jx_get(obj, "spec.controllerName"),
                          "Value is immutable");
}

static void listener_validate(const json_t *l, size_t i, const json_t *all, struct err *err)
{
    static const char *const protos[] = {"HTTP", "HTTPS", "TLS", "TCP", "UDP", NULL};
    const char *name = jx_str(l, "name"), *proto = jx_str(l, "protocol");
    long long port = jx_int(l, "port", 0);
    char f[96];

    res__path(f, sizeof f, "spec.listeners[%zu].name", i);
    if (!name || !*name)
        err_field_required(err, f, NULL);
    else
        res__name_check(err, f, name, RN_LABEL);
    for (size_t j = 0; name && j < i; j++)
        if (!strcmp(jx_str(json_array_get(all, j), "name") ?: "", name))
            err_field_duplicate(err, f, json_object_get(l, "name"));
    res__path(f, sizeof f, "spec.listeners[%zu].port", i);
    if (port < 1 || port > 65535)
        err_field_invalid(err, f, json_object_get(l, "port"),
                          "should be between 1 and 65535 (inclusive)");
    res__path(f, sizeof f, "spec.listeners[%zu].protocol", i);
    if (!proto || !*proto) {
        err_field_required(err, f, NULL);
    } else {
        int ok = 0;

        for (int k = 0; protos[k]; k++)
            ok |= !strcmp(proto, protos[k]);
        if (!ok)
            err_field_unsupported(err, f, json_object_get(l, "protocol"), protos);
    }
    res__path(f, sizeof f, "spec.listeners[%zu].hostname", i);
    if (jx_str(l, "hostname") && strcmp(jx_str(l, "protocol") ?: "", "HTTP") &&
        strcmp(jx_str(l, "protocol") ?: "", "HTTPS") && strcmp(jx_str(l, "protocol") ?: "", "TLS"))
        err_field_forbidden(err, f, "hostname must not be specified for protocols ['TCP', 'UDP']");
}

static void gateway_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *ls = jx_get(obj, "spec.listeners");
    const json_t *l;
    size_t i;

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    value_check(err, "spec.gatewayClassName", jx_get(obj, "spec.gatewayClassName"), 1);
    if (json_array_size(ls) == 0)
        err_field_required(err, "spec.listeners", NULL);
    else if (json_array_size(ls) > GW_MAX_LISTENERS)
        too_many(err, "spec.listeners", json_array_size(ls), GW_MAX_LISTENERS);
    else
        json_array_foreach(ls, i, l) listener_validate(l, i, ls, err);
    if (old && jx_str(old, "spec.gatewayClassName") && jx_str(obj, "spec.gatewayClassName") &&
        strcmp(jx_str(old, "spec.gatewayClassName"), jx_str(obj, "spec.gatewayClassName")))
        err_field_invalid(err, "spec.gatewayClassName", jx_get(obj, "spec.gatewayClassName"),
                          "Value is immutable");
}

static void path_validate(const json_t *p, const char *field, struct err *err)
{
    static const char *const types[] = {"Exact", "PathPrefix", NULL};
    const char *t = jx_str(p, "type"), *v = jx_str(p, "value");
    char f[160];

    res__path(f, sizeof f, "%s.type", field);
    if (!t || (strcmp(t, "Exact") && strcmp(t, "PathPrefix"))) {
        if (t && !strcmp(t, "RegularExpression"))
            err_field_forbidden(err, f, "kroll's proxy supports Exact and PathPrefix paths only");
        else
            err_field_unsupported(err, f, json_object_get(p, "type"), types);
    }
    res__path(f, sizeof f, "%s.value", field);
    value_check(err, f, json_object_get(p, "value"), 1);
    if (v && *v != '/')
        err_field_invalid(err, f, json_object_get(p, "value"), "value must be an absolute path");
    else if (v && (strstr(v, "//") || strstr(v, "/./") || strstr(v, "/../") || strchr(v, '#') ||
                   strchr(v, '?')))
        err_field_invalid(err, f, json_object_get(p, "value"),
                          "must not contain '//', '/./', '/../', '#' or '?'");
}

static void headers_validate(const json_t *hs, const char *field, struct err *err)
{
    const json_t *h;
    size_t i;
    char f[200];

    if (json_array_size(hs) > HR_MAX_HEADERS) {
        too_many(err, field, json_array_size(hs), HR_MAX_HEADERS);
        return;
    }
    json_array_foreach(hs, i, h)
    {
        const char *t = jx_str(h, "type");

        res__path(f, sizeof f, "%s[%zu].type", field, i);
        if (t && strcmp(t, "Exact"))
            err_field_forbidden(err, f, "kroll's proxy supports Exact header matches only");
        res__path(f, sizeof f, "%s[%zu].name", field, i);
        value_check(err, f, json_object_get(h, "name"), 1);
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(jx_str(json_array_get(hs, j), "name") ?: "", jx_str(h, "name") ?: "-"))
                err_field_duplicate(err, f, json_object_get(h, "name"));
        res__path(f, sizeof f, "%s[%zu].value", field, i);
        value_check(err, f, json_object_get(h, "value"), 1);
    }
}

static void match_validate(const json_t *m, const char *field, struct err *err)
{
    static const char *const methods[] = {"GET",     "HEAD",    "POST",  "PUT",   "DELETE",
                                          "CONNECT", "OPTIONS", "TRACE", "PATCH", NULL};
    const char *meth = jx_str(m, "method");
    char f[160];

    res__path(f, sizeof f, "%s.path", field);
    path_validate(json_object_get(m, "path"), f, err);
    res__path(f, sizeof f, "%s.headers", field);
    headers_validate(json_object_get(m, "headers"), f, err);
    res__path(f, sizeof f, "%s.queryParams", field);
    if (json_array_size(json_object_get(m, "queryParams")))
        err_field_forbidden(err, f, "kroll's proxy does not match query parameters");
    if (meth) {
        int ok = 0;

        for (int k = 0; methods[k]; k++)
            ok |= !strcmp(meth, methods[k]);
        res__path(f, sizeof f, "%s.method", field);
        if (!ok)
            err_field_unsupported(err, f, json_object_get(m, "method"), methods);
    }
}

static void backend_validate(const json_t *b, const char *field, struct err *err)
{
    const char *kind = jx_str(b, "kind") ?: "Service", *group = jx_str(b, "group") ?: "";
    long long w = jx_int(b, "weight", 1);
    char f[160];

    res__path(f, sizeof f, "%s.name", field);
    value_check(err, f, json_object_get(b, "name"), 1);
    res__path(f, sizeof f, "%s.kind", field);
    if (strcmp(kind, "Service") || *group)
        err_field_forbidden(err, f, "kroll routes to core Services only");
    res__path(f, sizeof f, "%s.port", field);
    if (!json_object_get(b, "port"))
        err_field_required(err, f, "Must have port for Service reference");
    else if (jx_int(b, "port", 0) < 1 || jx_int(b, "port", 0) > 65535)
        err_field_invalid(err, f, json_object_get(b, "port"),
                          "should be between 1 and 65535 (inclusive)");
    res__path(f, sizeof f, "%s.weight", field);
    if (w < 0 || w > HR_MAX_WEIGHT)
        err_field_invalid(err, f, json_object_get(b, "weight"),
                          "should be between 0 and 1000000 (inclusive)");
}

/* spec.rules[i].<name>: at most max elements, each checked by fn. */
static void list_validate(const json_t *arr, size_t i, const char *name, size_t max,
                          void (*fn)(const json_t *, const char *, struct err *), struct err *err)
{
    const json_t *v;
    size_t j;
    char f[128];

    res__path(f, sizeof f, "spec.rules[%zu].%s", i, name);
    if (json_array_size(arr) > max) {
        too_many(err, f, json_array_size(arr), max);
        return;
    }
    json_array_foreach(arr, j, v)
    {
        res__path(f, sizeof f, "spec.rules[%zu].%s[%zu]", i, name, j);
        fn(v, f, err);
    }
}

static void rule_validate(const json_t *r, size_t i, struct err *err)
{
    const json_t *ms = json_object_get(r, "matches"), *bs = json_object_get(r, "backendRefs");
    char f[128];

    list_validate(ms, i, "matches", HR_MAX_MATCHES, match_validate, err);
    list_validate(bs, i, "backendRefs", HR_MAX_BACKENDS, backend_validate, err);
    res__path(f, sizeof f, "spec.rules[%zu].filters", i);
    if (json_array_size(json_object_get(r, "filters")))
        err_field_forbidden(err, f, "kroll's proxy does not run HTTPRoute filters");
}

static void httproute_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec"), *v;
    const json_t *ps = json_object_get(spec, "parentRefs"),
                 *hs = json_object_get(spec, "hostnames");
    const json_t *rs = json_object_get(spec, "rules");
    size_t i;
    char f[96];

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    if (json_array_size(ps) > HR_MAX_PARENTS)
        too_many(err, "spec.parentRefs", json_array_size(ps), HR_MAX_PARENTS);
    else
        json_array_foreach(ps, i, v)
        {
            res__path(f, sizeof f, "spec.parentRefs[%zu].name", i);
            value_check(err, f, json_object_get(v, "name"), 1);
        }
    if (json_array_size(hs) > HR_MAX_HOSTNAMES)
        too_many(err, "spec.hostnames", json_array_size(hs), HR_MAX_HOSTNAMES);
    else
        json_array_foreach(hs, i, v)
        {
            const char *h = json_string_value(v);

            res__path(f, sizeof f, "spec.hostnames[%zu]", i);
            if (!h || !*h || strchr(h, ':') || strlen(h) > 253 ||
                (strchr(h, '*') && (h[0] != '*' || h[1] != '.' || strchr(h + 1, '*'))))
                err_field_invalid(err, f, v,
                                  "must be a hostname, optionally with a leading '*.' wildcard");
        }
    if (json_array_size(rs) > HR_MAX_RULES)
        too_many(err, "spec.rules", json_array_size(rs), HR_MAX_RULES);
    else
        json_array_foreach(rs, i, v) rule_validate(v, i, err);
}

const struct res_kind res_kind_gatewayclass = {
    "gateway.networking.k8s.io", "GatewayClass", "v1",
    &res__t_gatewayclass,        NULL,           gatewayclass_validate};
const struct res_kind res_kind_gateway = {
    "gateway.networking.k8s.io", "Gateway",       "v1", &res__t_gateway,
    res__gateway_default,        gateway_validate};
const struct res_kind res_kind_httproute = {
    "gateway.networking.k8s.io", "HTTPRoute",       "v1", &res__t_httproute,
    res__httproute_default,      httproute_validate};
