/* Discovery documents built from the resource table: aggregated discovery (apidiscovery v2 and
 * v2beta1, chosen by the Accept header as kube-apiserver does) and the legacy APIVersions,
 * APIGroupList, APIGroup and APIResourceList shapes. kubectl's drain always reads /api/v1 and
 * needs pods/eviction there with its group and version. */
#include "api/api-int.h"
#include "api/kind.h"

#include <stdio.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

/* Group versions served; a group's versions are consecutive, the preferred one first. */
static const char *const groups[][2] = {
    {"apps", "v1"}, {"policy", "v1"}, {"discovery.k8s.io", "v1"},
    {"autoscaling", "v2"}, {"autoscaling", "v1"}, {"batch", "v1"},
    {"argoproj.io", "v1alpha1"},
    {"gateway.networking.k8s.io", "v1"},
    {"autoscaling.k8s.io", "v1"},
};
#define NGROUPS (sizeof groups / sizeof groups[0])

/* True when r is served in version: its own, or its kind's alt_version (kind.h). */
static int served_in(const struct resource *r, const char *version)
{
    const char *alt = api_kind(r->id)->alt_version;

    return strcmp(r->version, version) == 0 || (alt && strcmp(alt, version) == 0);
}

static json_t *verbs_full(void)
{
    return json_pack("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get", "list",
                     "patch", "update", "watch");
}

static json_t *short_names(const struct resource *r)
{
    json_t *a = json_array();

    if (*r->short_names)
        json_array_append_new(a, json_string(r->short_names));
    return a;
}

static json_t *gvk(const char *g, const char *v, const char *k)
{
    return json_pack("{s:s,s:s,s:s}", "group", g, "version", v, "kind", k);
}

static json_t *agg_resource(const struct resource *r, const char *version)
{
    json_t *o = json_object(), *subs = json_array();

    json_object_set_new(o, "resource", json_string(r->plural));
    json_object_set_new(o, "responseKind", gvk(r->group, version, r->kind));
    json_object_set_new(o, "scope", json_string(r->namespaced ? "Namespaced" : "Cluster"));
    json_object_set_new(o, "singularResource", json_string(r->singular));
    json_object_set_new(o, "verbs", verbs_full());
    if (*r->short_names)
        json_object_set_new(o, "shortNames", short_names(r));
    if (r->flags & RF_ALL)
        json_object_set_new(o, "categories", json_pack("[s]", "all"));
    if (r->flags & RF_STATUS)
        json_array_append_new(subs, json_pack("{s:s,s:o,s:[s,s,s]}", "subresource", "status",
                                              "responseKind", gvk(r->group, version, r->kind),
                                              "verbs", "get", "patch", "update"));
    if (r->flags & RF_SCALE)
        json_array_append_new(subs, json_pack("{s:s,s:o,s:[s,s,s]}", "subresource", "scale",
                                              "responseKind", gvk("autoscaling", "v1", "Scale"),
                                              "verbs", "get", "patch", "update"));
    if (r->flags & RF_LOG)
        json_array_append_new(subs, json_pack("{s:s,s:o,s:[s]}", "subresource", "log",
                                              "responseKind", gvk("", "v1", "Pod"), "verbs", "get"));
    if (r->flags & RF_EVICTION)
        json_array_append_new(subs, json_pack("{s:s,s:o,s:[s]}", "subresource", "eviction",
                                              "responseKind", gvk("policy", "v1", "Eviction"),
                                              "verbs", "create"));
    if (r->flags & RF_BINDING)
        json_array_append_new(subs, json_pack("{s:s,s:o,s:[s]}", "subresource", "binding",
                                              "responseKind", gvk("", "v1", "Binding"), "verbs",
                                              "create"));
    if (r->flags & RF_TOKEN)
        json_array_append_new(
            subs, json_pack("{s:s,s:o,s:[s]}", "subresource", "token", "responseKind",
                            gvk("authentication.k8s.io", "v1", "TokenRequest"), "verbs", "create"));
    if (json_array_size(subs))
        json_object_set_new(o, "subresources", subs);
    else
        json_decref(subs);
    return o;
}

/* One aggregated group: every served version of it (groups[] from index first on). */
static json_t *agg_group(size_t first)
{
    const char *group = groups[first][0];
    json_t *vers = json_array();

    for (size_t g = first; g < NGROUPS && strcmp(groups[g][0], group) == 0; g++) {
        json_t *res = json_array();

        for (int i = 0; i < RES_COUNT; i++)
            if (strcmp(scheme_resources[i].group, group) == 0 &&
                served_in(&scheme_resources[i], groups[g][1]))
                json_array_append_new(res, agg_resource(&scheme_resources[i], groups[g][1]));
        json_array_append_new(vers, json_pack("{s:s,s:o,s:s}", "version", groups[g][1], "resources",
                                              res, "freshness", "Current"));
    }
    return json_pack("{s:{s:s},s:o}", "metadata", "name", group, "versions", vers);
}

static void serve_aggregated(struct http_req *req, int core, const char *ver)
{
    json_t *items = json_array(), *doc;
    char ctype[160];
    char *s;

    if (core) {
        json_t *res = json_array();

        for (int i = 0; i < RES_COUNT; i++)
            if (!*scheme_resources[i].group)
                json_array_append_new(res, agg_resource(&scheme_resources[i], "v1"));
        json_array_append_new(items, json_pack("{s:{s:s},s:[{s:s,s:o,s:s}]}", "metadata", "name",
                                               "", "versions", "version", "v1", "resources", res,
                                               "freshness", "Current"));
    } else {
        for (size_t i = 0; i < NGROUPS; i++)
            if (i == 0 || strcmp(groups[i][0], groups[i - 1][0]) != 0)
                json_array_append_new(items, agg_group(i));
        json_array_append_new(items, api__metrics_agg_group());
        json_array_append_new(items, api__custom_metrics_agg_group());
    }
    doc = json_pack("{s:s,s:s,s:{},s:o}", "kind", "APIGroupDiscoveryList", "apiVersion", ver,
                    "metadata", "items", items);
    snprintf(ctype, sizeof ctype, "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
             strchr(ver, '/') + 1);
    s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    http_respond(req, 200, ctype, s, strlen(s), "Vary: Accept\r\n");
    free(s);
    json_decref(doc);
}

static json_t *legacy_resource(const struct resource *r, const char *sub, const char *kind,
                               const char *group, const char *version, json_t *verbs)
{
    json_t *o = json_object();
    char name[128];

    snprintf(name, sizeof name, "%s%s%s", r->plural, sub ? "/" : "", sub ? sub : "");
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "singularName", json_string(sub ? "" : r->singular));
    json_object_set_new(o, "namespaced", json_boolean(r->namespaced));
    if (group) {
        json_object_set_new(o, "group", json_string(group));
        json_object_set_new(o, "version", json_string(version));
    }
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "verbs", verbs);
    if (!sub && *r->short_names)
        json_object_set_new(o, "shortNames", short_names(r));
    if (!sub && (r->flags & RF_ALL))
        json_object_set_new(o, "categories", json_pack("[s]", "all"));
    return o;
}

static void serve_resource_list(struct http_req *req, const char *group, const char *version)
{
    json_t *res = json_array(), *doc;
    char gv[128];

    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = &scheme_resources[i];

        if (strcmp(r->group, group) != 0 || !served_in(r, version))
            continue;
        json_array_append_new(res, legacy_resource(r, NULL, r->kind, NULL, NULL, verbs_full()));
        if (r->flags & RF_STATUS)
            json_array_append_new(res, legacy_resource(r, "status", r->kind, NULL, NULL,
                                                       json_pack("[s,s,s]", "get", "patch", "update")));
        if (r->flags & RF_SCALE)
            json_array_append_new(res, legacy_resource(r, "scale", "Scale", "autoscaling", "v1",
                                                       json_pack("[s,s,s]", "get", "patch", "update")));
        if (r->flags & RF_LOG)
            json_array_append_new(res, legacy_resource(r, "log", "Pod", NULL, NULL, json_pack("[s]", "get")));
        if (r->flags & RF_EVICTION)
            json_array_append_new(res, legacy_resource(r, "eviction", "Eviction", "policy", "v1",
                                                       json_pack("[s]", "create")));
        if (r->flags & RF_BINDING)
            json_array_append_new(res, legacy_resource(r, "binding", "Binding", NULL, NULL,
                                                       json_pack("[s]", "create")));
        if (r->flags & RF_TOKEN)
            json_array_append_new(res, legacy_resource(r, "token", "TokenRequest",
                                                       "authentication.k8s.io", "v1",
                                                       json_pack("[s]", "create")));
    }
    snprintf(gv, sizeof gv, "%s%s%s", group, *group ? "/" : "", version);
    doc = json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                    "groupVersion", gv, "resources", res);
    api__respond_json(req, 200, doc);
    json_decref(doc);
}

static json_t *legacy_group(const char *g, const char *v)
{
    char gv[128];

    snprintf(gv, sizeof gv, "%s/%s", g, v);
    return json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", g, "versions", "groupVersion", gv,
                     "version", v, "preferredVersion", "groupVersion", gv, "version", v);
}

/* An APIGroup of groups[] from index first on: every version, the first preferred. */
static json_t *legacy_group_at(size_t first)
{
    json_t *doc = legacy_group(groups[first][0], groups[first][1]);
    json_t *vers = json_object_get(doc, "versions");
    char gv[128];

    for (size_t g = first + 1; g < NGROUPS && strcmp(groups[g][0], groups[first][0]) == 0; g++) {
        snprintf(gv, sizeof gv, "%s/%s", groups[g][0], groups[g][1]);
        json_array_append_new(vers,
                              json_pack("{s:s,s:s}", "groupVersion", gv, "version", groups[g][1]));
    }
    return doc;
}

void api__discovery(struct api *api, struct http_req *req, const char *path)
{
    const char *accept = http_req_header(req, "Accept");
    const char *agg = NULL;
    char g[128] = "", v[64] = "";

    if (accept && strstr(accept, "as=APIGroupDiscoveryList")) {
        /* The first offered version we serve wins, as in content negotiation. */
        const char *v2 = strstr(accept, "v=v2;"), *v2b = strstr(accept, "v=v2beta1");

        if (v2 && (!v2b || v2 < v2b))
            agg = "apidiscovery.k8s.io/v2";
        else if (v2b)
            agg = "apidiscovery.k8s.io/v2beta1";
    }
    if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0) {
        json_t *doc;

        if (agg) {
            serve_aggregated(req, 1, agg);
            return;
        }
        doc = json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                        "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
                        "127.0.0.1");
        api__respond_json(req, 200, doc);
        json_decref(doc);
        return;
    }
    if (strncmp(path, "/api/v1", 7) == 0) {
        serve_resource_list(req, "", "v1");
        return;
    }
    if (strcmp(path, "/apis") == 0 || strcmp(path, "/apis/") == 0) {
        json_t *list, *doc;

        if (agg) {
            serve_aggregated(req, 0, agg);
            return;
        }
        list = json_array();
        for (size_t i = 0; i < NGROUPS; i++)
            if (i == 0 || strcmp(groups[i][0], groups[i - 1][0]) != 0)
                json_array_append_new(list, legacy_group_at(i));
        /* Served by kroll itself where a cluster's aggregator proxies it to metrics-server:
         * not in groups[], which also lists the OpenAPI documents. */
        json_array_append_new(list, legacy_group("metrics.k8s.io", "v1beta1"));
        json_array_append_new(list, legacy_group("custom.metrics.k8s.io", "v1beta2"));
        doc = json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", list);
        api__respond_json(req, 200, doc);
        json_decref(doc);
        return;
    }
    sscanf(path, "/apis/%127[^/]/%63[^/]", g, v);
    if ((strcmp(g, "metrics.k8s.io") == 0 && (!*v || strcmp(v, "v1beta1") == 0)) ||
        (strcmp(g, "custom.metrics.k8s.io") == 0 && (!*v || strcmp(v, "v1beta2") == 0))) {
        int custom = g[0] == 'c';
        json_t *doc = *v ? (custom ? api__custom_metrics_resource_list() : api__metrics_resource_list())
                         : legacy_group(g, custom ? "v1beta2" : "v1beta1");

        if (!*v) {
            json_object_set_new(doc, "kind", json_string("APIGroup"));
            json_object_set_new(doc, "apiVersion", json_string("v1"));
        }
        api__respond_json(req, 200, doc);
        json_decref(doc);
        return;
    }
    for (size_t i = 0; i < NGROUPS; i++) {
        if (strcmp(groups[i][0], g) != 0)
            continue;
        if (!*v) {
            json_t *doc = legacy_group_at(i);

            json_object_set_new(doc, "kind", json_string("APIGroup"));
            json_object_set_new(doc, "apiVersion", json_string("v1"));
            api__respond_json(req, 200, doc);
            json_decref(doc);
            return;
        }
        if (strcmp(groups[i][1], v) == 0) {
            serve_resource_list(req, g, v);
            return;
        }
    }
    api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
}

/* The minimal OpenAPI v3 documents: per group-version, a patch operation per kind carrying the GVK extension
 * and the fieldValidation parameter. That is what makes kubectl apply rely on server-side
 * field validation (kubectl-api.md section 2). */
void api__openapi(struct api *api, struct http_req *req, const char *path)
{
    json_t *doc, *paths = json_object();

    if (strcmp(path, "/openapi/v3") == 0 || strcmp(path, "/openapi/v3/") == 0) {
        json_object_set_new(paths, "api/v1",
                            json_pack("{s:s}", "serverRelativeURL", "/openapi/v3/api/v1"));
        for (size_t i = 0; i < NGROUPS; i++) {
            char k[128], u[160];

            snprintf(k, sizeof k, "apis/%s/%s", groups[i][0], groups[i][1]);
            snprintf(u, sizeof u, "/openapi/v3/%s", k);
            json_object_set_new(paths, k, json_pack("{s:s}", "serverRelativeURL", u));
        }
        doc = json_pack("{s:o}", "paths", paths);
        api__respond_json(req, 200, doc);
        json_decref(doc);
        return;
    }
    if (strncmp(path, "/openapi/v3/", 12) == 0) {
        const char *gv = path + 12, *group = NULL, *version = "v1";
        int found = 0;

        if (strcmp(gv, "api/v1") == 0) {
            group = "";
        } else {
            for (size_t i = 0; i < NGROUPS; i++) {
                char k[128];

                snprintf(k, sizeof k, "apis/%s/%s", groups[i][0], groups[i][1]);
                if (strcmp(gv, k) == 0) {
                    group = groups[i][0];
                    version = groups[i][1];
                }
            }
        }
        if (group) {
            for (int i = 0; i < RES_COUNT; i++) {
                const struct resource *r = &scheme_resources[i];
                char k[160];

                if (strcmp(r->group, group) != 0 || !served_in(r, version))
                    continue;
                found = 1;
                snprintf(k, sizeof k, "/%s", r->plural);
                json_object_set_new(
                    paths, k,
                    json_pack("{s:{s:o,s:[{s:s,s:s}]}}", "patch", "x-kubernetes-group-version-kind",
                              gvk(r->group, version, r->kind), "parameters", "name",
                              "fieldValidation", "in", "query"));
            }
            if (strcmp(group, "autoscaling") == 0)
                found = 1;
        }
        if (found) {
            doc = json_pack("{s:s,s:{s:s,s:s},s:o}", "openapi", "3.0.0", "info", "title",
                            "Kubernetes", "version", "v1.32.0", "paths", paths);
            api__respond_json(req, 200, doc);
            json_decref(doc);
            return;
        }
    }
    json_decref(paths);
    api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
}
