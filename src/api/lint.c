/* The workload lint on a client's write (resources/lint.h): what it needs to know of the
 * cluster comes from the store (the namespace's PodDisruptionBudgets, the node's free extended
 * resources); findings become Warning headers, which kubectl prints, or with --lint=error a
 * 422 naming each field. Writes by kroll's own controllers are never linted. */
#include "api/api-int.h"

#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "core/selector.h"
#include "core/jx.h"
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

int api__lint(struct api *api, const struct resource *r, const json_t *obj, const json_t *old,
              const struct api_wopts *o, struct err *err)
{
    struct lint_ctx ctx = {.old = old, .pdb_covers = -1};
    json_t *found, *f, *fr;
    size_t i;

    /* Only clients' writes (controllers pass no warnings array), only workloads, and on update
     * only when the spec changes beyond replicas. */
    if (!o->warnings || api->lim.lint == API_LINT_OFF ||
        (r->id != RES_DEPLOYMENT && r->id != RES_ROLLOUT) || (old && !spec_changed(obj, old)))
        return 0;
    if (old)
        ctx.pdb_covers = pdb_covers(api, jx_str(obj, "metadata.namespace") ?: "",
                                    jx_get(obj, "spec.template.metadata.labels"));
    ctx.free = fr = free_extended(api, obj);
    found = json_array();
    lint_workload(api_kind(r->id)->res, obj, &ctx, found);
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
