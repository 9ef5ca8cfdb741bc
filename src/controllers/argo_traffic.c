/* Traffic routing of a canary Rollout through Argo's Gateway API plugin
 * (trafficRouting.plugins "argoproj-labs/gatewayAPI", progressive-delivery.md 2.3-2.4): kroll
 * does what the plugin does to the HTTPRoutes it names (pkg/plugin/httproute.go of
 * rollouts-plugin-trafficrouter-gatewayapi): every backendRef named canaryService gets the
 * weight, every one named stableService 100 minus it; setHeaderRoute appends a rule with the
 * header matches (on the paths of the rule holding both Services) to the canary, and the managed
 * routes go at abort and completion. Replica counts follow Argo with traffic routing: the
 * canary at ceil(weight x replicas / 100) (or setCanaryScale), the stable kept at full.
 * kroll tells its managed rules by their rule name (the plugin keeps indexes in a ConfigMap). */
#include <stdio.h>
#include <string.h>

#include "controllers/argo-int.h"
#include "core/jx.h"

#define GW_PLUGIN ARGO_GW_PLUGIN
#define MAX_ROUTES 16

static const json_t *gw_config(const json_t *ro)
{
    return json_object_get(jx_get(ro, "spec.strategy.canary.trafficRouting.plugins"), GW_PLUGIN);
}

int argo__traffic_routed(const json_t *ro)
{
    return argo_traffic_routed(ro);
}

void argo__traffic_counts(struct rsync *x, const json_t *steps, long long idx, long long w,
                          long long *c, long long *s)
{
    argo_traffic_counts(x->R, steps, idx, w, c, s);
}

/* The HTTPRoutes of the plugin config (httpRoute, or httpRoutes[].name), in ns. */
static int route_names(struct rsync *x, const char *names[MAX_ROUTES], const char **ns)
{
    const json_t *cfg = gw_config(x->ro), *r;
    size_t i;
    int n = 0;

    *ns = jx_str(cfg, "namespace") ?: x->ns;
    if (jx_str(cfg, "httpRoute"))
        names[n++] = jx_str(cfg, "httpRoute");
    json_array_foreach(json_object_get(cfg, "httpRoutes"), i,
                       r) if (n < MAX_ROUTES && jx_str(r, "name")) names[n++] = jx_str(r, "name");
    return n;
}

static void route_error(struct rsync *x, const char *route, const char *what)
{
    argo__event(x, "Warning", "TrafficRoutingError", "HTTPRoute \"%s\": %s", route, what);
    argo__requeue(x, 2000);
}

/* Writes rules (taken) into the route when they differ from its own; 0 or -1. */
static int route_write(struct rsync *x, const char *ns, const char *name, const json_t *route,
                       json_t *rules)
{
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    json_t *p, *out = NULL;
    struct err err;
    int rc = 0;

    if (json_equal(rules, jx_get(route, "spec.rules"))) {
        json_decref(rules);
        return 0;
    }
    p = json_pack("{s:{s:o}}", "spec", "rules", rules);
    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_HTTPROUTE), ns, name,
                  "application/merge-patch+json", p, &o, &out, &err) < 0) {
        route_error(x, name, err.msg);
        rc = -1;
    }
    json_decref(out);
    json_decref(p);
    err_release(&err);
    return rc;
}

/* The canary weight the route carries now (-1: no canary backendRef). */
static long long route_weight(const json_t *route, const char *canary)
{
    const json_t *r, *b;
    size_t i, j;

    json_array_foreach(jx_get(route, "spec.rules"), i, r) json_array_foreach(
        json_object_get(r, "backendRefs"), j,
        b) if (!strcmp(jx_str(b, "name") ?: "", canary)) return jx_int(b, "weight", 1);
    return -1;
}

/* setHeaderRoute's rule without match, or every managed rule (name NULL), removed. */
static void drop_managed(struct rsync *x, json_t *rules, const char *name)
{
    const json_t *mr;
    size_t i;

    for (size_t k = json_array_size(rules); k-- > 0;) {
        const char *rn = jx_str(json_array_get(rules, k), "name");
        int managed = 0;

        json_array_foreach(jx_get(x->ro, "spec.strategy.canary.trafficRouting.managedRoutes"), i,
                           mr) managed |= rn && !strcmp(rn, jx_str(mr, "name") ?: "-");
        if (managed && (!name || !strcmp(rn, name)))
            json_array_remove(rules, k);
    }
}

/* Sets the weights (and, at abort or completion, removes the managed routes) of one route. */
static void route_weights(struct rsync *x, const char *ns, const char *name, long long target,
                          long long want, int cleanup, long long *set)
{
    const json_t *route = kc_get(ctl_kc(x->c), kc_resource(RES_HTTPROUTE), ns, name);
    const char *cs = jx_str(x->ro, "spec.strategy.canary.canaryService") ?: "";
    const char *ss = jx_str(x->ro, "spec.strategy.canary.stableService") ?: "";
    json_t *rules, *r, *b;
    long long cur;
    int fc = 0, fs = 0;
    size_t i, j;

    if (!route) {
        route_error(x, name, "not found");
        return;
    }
    cur = route_weight(route, cs);
    /* Argo keeps the previous weight until the canary reaches its count; none while it has no
     * available pod. */
    if (want > 0 && argo__rs_avail(x->nrs) < target)
        want = argo__rs_avail(x->nrs) == 0 ? 0 : (cur >= 0 && cur < want ? cur : want);
    rules = json_deep_copy(jx_get(route, "spec.rules") ?: json_array());
    if (cleanup)
        drop_managed(x, rules, NULL);
    json_array_foreach(rules, i, r) json_array_foreach(json_object_get(r, "backendRefs"), j, b)
    {
        const char *bn = jx_str(b, "name") ?: "";

        if (!strcmp(bn, cs) && ++fc)
            json_object_set_new(b, "weight", json_integer(want));
        else if (!strcmp(bn, ss) && ++fs)
            json_object_set_new(b, "weight", json_integer(100 - want));
    }
    if (!fc || !fs) {
        json_decref(rules);
        route_error(x, name, "backendRef was not found in httpRoute");
        return;
    }
    if (route_write(x, ns, name, route, rules) == 0) {
        if (cur != want)
            argo__event(x, "Normal", "TrafficWeightUpdated",
                        "Traffic weight updated from %lld to %lld", cur < 0 ? 0 : cur, want);
        *set = want;
    }
}

int argo__traffic_sync(struct rsync *x, long long w, long long c, int abort, int done)
{
    const char *names[MAX_ROUTES], *ns;
    const char *sh = argo__rs_hash(x->srs) ?: "";
    long long want = abort || done ? 0 : w, set = -1, all = 1;
    int n = route_names(x, names, &ns);

    for (int i = 0; i < n; i++) {
        long long one = -1;

        route_weights(x, ns, names[i], c, want, abort || done, &one);
        set = i == 0 ? one : set;
        all &= one == want;
    }
    if (set >= 0)
        jx_set(x->st, "canary.weights",
               json_pack("{s:{s:s,s:s,s:I},s:{s:s,s:s,s:I},s:b}", "canary", "podTemplateHash",
                         x->hash, "serviceName",
                         jx_str(x->ro, "spec.strategy.canary.canaryService") ?: "", "weight",
                         (json_int_t)set, "stable", "podTemplateHash", sh, "serviceName",
                         jx_str(x->ro, "spec.strategy.canary.stableService") ?: "", "weight",
                         (json_int_t)(100 - set), "verified", all));
    return n > 0 && all;
}

/* The rule the plugin adds for setHeaderRoute: the paths of the rule routing to both Services,
 * with the step's headers, to the canary alone. */
static json_t *header_rule(const json_t *rules, const json_t *hr, const char *cs, const char *ss)
{
    const json_t *r, *b, *m, *h;
    const json_t *base = NULL, *cref = NULL;
    json_t *headers = json_array(), *matches = json_array();
    size_t i, j;

    json_array_foreach(rules, i, r)
    {
        const json_t *c = NULL, *s = NULL;

        json_array_foreach(json_object_get(r, "backendRefs"), j, b)
        {
            if (!strcmp(jx_str(b, "name") ?: "", cs))
                c = b;
            if (!strcmp(jx_str(b, "name") ?: "", ss))
                s = b;
        }
        if (c && s && !base) {
            base = r;
            cref = c;
        }
    }
    json_array_foreach(json_object_get(hr, "match"), i, h) json_array_append_new(
        headers, json_pack("{s:s,s:s,s:s}", "type", "Exact", "name", jx_str(h, "headerName") ?: "",
                           "value", jx_str(h, "headerValue.exact") ?: ""));
    if (!base) {
        json_decref(headers);
        json_decref(matches);
        return NULL;
    }
    json_array_foreach(json_object_get(base, "matches"), i, m) json_array_append_new(
        matches, json_pack("{s:O*,s:O}", "path", json_object_get(m, "path"), "headers", headers));
    json_decref(headers);
    return json_pack("{s:s,s:o,s:[{s:s,s:s,s:s,s:O*}]}", "name", jx_str(hr, "name") ?: "",
                     "matches", matches, "backendRefs", "group", "", "kind", "Service", "name", cs,
                     "port", json_object_get(cref, "port"));
}

int argo__header_route(struct rsync *x, const json_t *hr)
{
    const char *names[MAX_ROUTES], *ns;
    const char *cs = jx_str(x->ro, "spec.strategy.canary.canaryService") ?: "";
    const char *ss = jx_str(x->ro, "spec.strategy.canary.stableService") ?: "";
    int n = route_names(x, names, &ns), ok = 1;

    for (int i = 0; i < n; i++) {
        const json_t *route = kc_get(ctl_kc(x->c), kc_resource(RES_HTTPROUTE), ns, names[i]);
        json_t *rules, *rule;

        if (!route) {
            route_error(x, names[i], "not found");
            ok = 0;
            continue;
        }
        rules = json_deep_copy(jx_get(route, "spec.rules") ?: json_array());
        drop_managed(x, rules, jx_str(hr, "name") ?: "");
        if (json_array_size(json_object_get(hr, "match"))) {
            if (!(rule = header_rule(rules, hr, cs, ss))) {
                json_decref(rules);
                route_error(x, names[i], "no rule routes to both canaryService and stableService");
                ok = 0;
                continue;
            }
            json_array_append_new(rules, rule);
        }
        ok &= route_write(x, ns, names[i], route, rules) == 0;
    }
    return ok;
}
