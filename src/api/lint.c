/* The workload lint on a client's write (resources/lint.h): what it needs to know of the
 * cluster comes from the store (the namespace's PodDisruptionBudgets, the node's free extended
 * resources); findings become Warning headers, which kubectl prints, or with --lint=error a
 * 422 naming each field. Writes by kroll's own controllers are never linted. An apply that
 * sets replicas on a workload an HPA scales is warned about on every apply. */
#include "api/api-int.h"

#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"
#include "resources/lint.h"

static int pdb_covers(struct api *api, const char *ns, const json_t *labels)
{
    json_t *m = store_map(api->store, scheme_resources[RES_PDB].key), *p;
    const char *k;
    int found = 0;

    json_object_foreach(m, k, p)
    {
        struct labelsel *ls;
        struct err err;

        if (found || strcmp(jx_str(p, "metadata.namespace") ?: "", ns) != 0)
            continue;
        err_init(&err);
        if (labelsel_from_object(jx_get(p, "spec.selector"), &ls, &err) == 0) {
            found = labelsel_match(ls, labels);
            labelsel_free(ls);
        }
        err_release(&err);
    }
    return found;
}

static int extended(const char *name)
{
    return strchr(name, '/') && strncmp(name, "kubernetes.io/", 14) != 0 &&
           strncmp(name, "requests.", 9) != 0;
}

static long long qty(const json_t *v)
{
    int64_t milli;

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v) && quantity_parse_milli(json_string_value(v), &milli) == 0)
        return milli / 1000;
    return 0;
}

/* {"vendor.com/gpu": free, ...}: allocatable of every node minus what live pods request,
 * except the pods the Deployment's selector takes in (its own, whether created yet or not,
 * are counted by the rule from its replicas). */
static json_t *free_extended(struct api *api, const json_t *d)
{
    struct labelsel *own = NULL;
    struct err err;
    const char *ns = jx_str(d, "metadata.namespace") ?: "";
    json_t *nodes = store_map(api->store, scheme_resources[RES_NODE].key);
    json_t *pods = store_map(api->store, scheme_resources[RES_POD].key), *n, *p, *v, *c;
    json_t *free = json_object();
    const char *k, *name;
    size_t i;

    json_object_foreach(nodes, k, n) json_object_foreach(jx_get(n, "status.allocatable"), name, v)
    {
        if (extended(name))
            json_object_set_new(
                free, name, json_integer(json_integer_value(json_object_get(free, name)) + qty(v)));
    }
    err_init(&err);
    if (labelsel_from_object(jx_get(d, "spec.selector"), &own, &err) < 0)
        own = NULL;
    err_release(&err);
    json_object_foreach(pods, k, p)
    {
        const char *phase = jx_str(p, "status.phase") ?: "";

        if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
            continue;
        if (own && !strcmp(jx_str(p, "metadata.namespace") ?: "", ns) &&
            labelsel_match(own, jx_get(p, "metadata.labels")))
            continue;
        json_array_foreach(jx_get(p, "spec.containers"), i, c)
        {
            json_t *req = jx_get(c, "resources.requests");

            json_object_foreach(req, name, v)
            {
                json_t *f = json_object_get(free, name);

                if (f)
                    json_integer_set(f, json_integer_value(f) - qty(v));
            }
        }
    }
    if (own)
        labelsel_free(own);
    return free;
}

/* A change of the spec beyond its replicas: scaling (kubectl scale, an autoscaler) is not
 * the user editing the workload and gets no warnings. */
static int spec_changed(const json_t *obj, const json_t *old)
{
    json_t *a = json_deep_copy(json_object_get(obj, "spec")), *b;
    int changed;

    b = json_deep_copy(json_object_get(old, "spec"));
    json_object_del(a, "replicas");
    json_object_del(b, "replicas");
    changed = !json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return changed;
}

/* The name of an HPA of obj's namespace whose scaleTargetRef is obj (kind, group, name), or
 * NULL (borrowed from the store). */
static const char *hpa_of(struct api *api, const struct resource *r, const json_t *obj)
{
    json_t *m = store_map(api->store, scheme_resources[RES_HPA].key), *h;
    const char *ns = jx_str(obj, "metadata.namespace") ?: "", *name = jx_str(obj, "metadata.name");
    const char *k;

    json_object_foreach(m, k, h)
    {
        const char *av = jx_str(h, "spec.scaleTargetRef.apiVersion") ?: "";
        const char *slash = strchr(av, '/');
        size_t glen = slash ? (size_t)(slash - av) : 0;

        if (strcmp(jx_str(h, "metadata.namespace") ?: "", ns) == 0 &&
            strcmp(jx_str(h, "spec.scaleTargetRef.kind") ?: "", r->kind) == 0 &&
            strcmp(jx_str(h, "spec.scaleTargetRef.name") ?: "", name ?: "") == 0 &&
            strlen(r->group) == glen && strncmp(av, r->group, glen) == 0)
            return jx_str(h, "metadata.name");
    }
    return NULL;
}

/* The replicas a manifest applied by this write's field manager sets, or -1. Client-side apply
 * (kubectl apply's default, manager kubectl-client-side-apply) keeps the manifest in the
 * last-applied annotation; server-side apply records the manager's applied fields in
 * managedFields (operation Apply). Other writes (kubectl scale, edit, patch, set) are no apply
 * of a manifest. */
static long long applied_replicas(const json_t *obj, const char *manager)
{
    const char *la = json_string_value(json_object_get(
        jx_get(obj, "metadata.annotations"), "kubectl.kubernetes.io/last-applied-configuration"));
    long long n = -1;
    const json_t *e;
    size_t i;

    if (!manager)
        return -1;
    if (la && strcmp(manager, "kubectl-client-side-apply") == 0) {
        json_t *applied = json_loads(la, 0, NULL);

        if (json_is_integer(jx_get(applied, "spec.replicas")))
            n = json_integer_value(jx_get(applied, "spec.replicas"));
        json_decref(applied);
        return n;
    }
    json_array_foreach(jx_get(obj, "metadata.managedFields"), i, e)
    {
        if (strcmp(jx_str(e, "manager") ?: "", manager) == 0 &&
            strcmp(jx_str(e, "operation") ?: "", "Apply") == 0 &&
            json_object_get(json_object_get(json_object_get(e, "fieldsV1"), "f:spec"),
                            "f:replicas"))
            return jx_int(obj, "spec.replicas", -1);
    }
    return -1;
}

/* kube-score's deployment-targeted-by-hpa-does-not-have-replicas-configured: `kubectl apply` of
 * a manifest that sets replicas while an HPA scales the workload puts the count back to the
 * manifest's on every apply. */
static void lint_hpa_replicas(struct api *api, const struct resource *r, const json_t *obj,
                              const struct api_wopts *o, json_t *found)
{
    long long n = applied_replicas(obj, o->manager);
    const char *hpa;
    char *msg;

    if (n < 0 || !(hpa = hpa_of(api, r, obj)))
        return;
    msg = xasprintf("set to %lld while HorizontalPodAutoscaler \"%s\" scales this %s: every "
                    "apply resets its count to %lld; remove replicas from the manifest and let "
                    "the HPA own it",
                    n, hpa, r->kind, n);
    json_array_append_new(found, json_pack("{s:s,s:s}", "field", "spec.replicas", "message", msg));
    free(msg);
}

int api__lint(struct api *api, const struct resource *r, const json_t *obj, const json_t *old,
              const struct api_wopts *o, struct err *err)
{
    struct lint_ctx ctx = {.old = old, .pdb_covers = -1};
    json_t *found, *f, *fr = NULL;
    size_t i;

    /* Only clients' writes (controllers and the scale subresource pass no warnings array),
     * only workloads; the HPA check on every apply, the rest on update only when the spec
     * changes beyond replicas. */
    if (!o->warnings || api->lim.lint == API_LINT_OFF ||
        (r->id != RES_DEPLOYMENT && r->id != RES_ROLLOUT))
        return 0;
    found = json_array();
    lint_hpa_replicas(api, r, obj, o, found);
    if (!old || spec_changed(obj, old)) {
        if (old)
            ctx.pdb_covers = pdb_covers(api, jx_str(obj, "metadata.namespace") ?: "",
                                        jx_get(obj, "spec.template.metadata.labels"));
        ctx.free = fr = free_extended(api, obj);
        lint_workload(api_kind(r->id)->res, obj, &ctx, found);
    }
    json_array_foreach(found, i, f)
    {
        if (api->lim.lint == API_LINT_ERROR) {
            err_cause(err, "FieldValueInvalid", jx_str(f, "field"), "%s", jx_str(f, "message"));
        } else {
            char *t = lint_text(f);

            json_array_append_new(o->warnings, json_string(t));
            free(t);
        }
    }
    json_decref(found);
    json_decref(fr);
    if (err_has_causes(err))
        return err_invalid(err, r->kind, r->group, jx_str(obj, "metadata.name"));
    return 0;
}
