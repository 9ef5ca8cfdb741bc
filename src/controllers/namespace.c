/* The namespace controller: a namespace being deleted (deletionTimestamp set, phase
 * Terminating) has every namespaced object deleted (pods gracefully, dependents in the
 * background); once nothing is left, the `kubernetes` finalizer is removed from spec.finalizers
 * and the namespace is deleted again, which removes it for good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/names.h"

#define NS_FINALIZER "kubernetes"
#define NS_RECHECK_MS 1000

/* Names of the objects of one resource in namespace ns (new reference). */
static json_t *ns_names(struct ctl *c, enum res_id res, const char *ns)
{
    json_t *m = ctl_map_ns(c, res, ns), *v, *out = json_array();
    const char *k;

    if (m)
        json_object_foreach(m, k, v) if (strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0)
            json_array_append_new(out, json_pack("{s:s,s:b}", "name", jx_str(v, "metadata.name"),
                                                 "deleting",
                                                 jx_get(v, "metadata.deletionTimestamp") != NULL));
    return out;
}

/* Deletes what is not being deleted yet; returns how many objects are still there. */
static int ns_content_delete(struct ctl *c, const char *ns)
{
    struct kc_wopts o = {.grace = -1, .propagation = "Background"};
    int left = 0;

    for (int i = 0; i < RES_COUNT; i++) {
        const struct resource *r = kc_resource((enum res_id)i);
        json_t *names, *e;
        size_t j;

        if (!r->namespaced)
            continue;
        names = ns_names(c, r->id, ns);
        json_array_foreach(names, j, e)
        {
            json_t *out = NULL;
            struct err err;

            if (jx_bool(e, "deleting"))
                continue;
            err_init(&err);
            if (kc_delete(ctl_kc(c), r, ns, jx_str(e, "name"), &o, &out, &err) < 0 &&
                err.code != -E_NOT_FOUND)
                ctl_log_err(c, "delete namespace content", ns, jx_str(e, "name"), &err);
            json_decref(out);
            err_release(&err);
        }
        json_decref(names);
        names = ns_names(c, r->id, ns);
        left += (int)json_array_size(names);
        json_decref(names);
    }
    return left;
}

/* Drops the `kubernetes` finalizer, then deletes the namespace again for the final removal. */
static void ns_finalize(struct ctl *c, const json_t *nsobj)
{
    const struct resource *r = kc_resource(RES_NAMESPACE);
    const char *name = jx_str(nsobj, "metadata.name");
    struct kc_wopts o = {.grace = -1};
    json_t *cp, *fs, *out = NULL, *cur;
    struct err err;

    err_init(&err);
    cp = json_deep_copy(nsobj);
    fs = jx_get(cp, "spec.finalizers");
    for (size_t i = json_array_size(fs); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(fs, i)) ?: "", NS_FINALIZER) == 0)
            json_array_remove(fs, i);
    if (json_array_size(fs) != json_array_size(jx_get(nsobj, "spec.finalizers")) &&
        kc_update(ctl_kc(c), r, NULL, name, cp, &o, &out, &err) < 0) {
        ctl_log_err(c, "finalize namespace", "", name, &err);
        goto out;
    }
    json_decref(out);
    out = NULL;
    cur = kc_get(ctl_kc(c), r, NULL, name);
    if (cur && json_array_size(jx_get(cur, "spec.finalizers")) == 0 &&
        json_array_size(jx_get(cur, "metadata.finalizers")) == 0 &&
        kc_delete(ctl_kc(c), r, NULL, name, &o, &out, &err) < 0 && err.code != -E_NOT_FOUND)
        ctl_log_err(c, "delete namespace", "", name, &err);
out:
    json_decref(out);
    json_decref(cp);
    err_release(&err);
}

static void namespace_sync(struct ctl *c, const char *unused, const char *name, void *ctx)
{
    json_t *nsobj = kc_get(ctl_kc(c), kc_resource(RES_NAMESPACE), NULL, name);
    int left;

    if (!nsobj || !jx_get(nsobj, "metadata.deletionTimestamp"))
        return;
    if (name_namespace_is_builtin(name)) {
        log_warn(ctl_name(c), "msg=\"refusing to empty a built-in namespace\" namespace=%s", name);
        return;
    }
    nsobj = json_incref(nsobj);
    left = ns_content_delete(c, name);
    if (left) {
        /* Graceful pods and objects with finalizers take time; deletions also re-enqueue. */
        ctl_enqueue_after(c, "", name, NS_RECHECK_MS);
    } else {
        json_t *cur = kc_get(ctl_kc(c), kc_resource(RES_NAMESPACE), NULL, name);

        if (cur)
            ns_finalize(c, cur);
    }
    json_decref(nsobj);
}

/* A namespaced object changed: if its namespace is terminating, re-check it. */
static void on_content(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                       json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace");
    json_t *nsobj = ns ? kc_get(ctl_kc(c), kc_resource(RES_NAMESPACE), NULL, ns) : NULL;

    if (nsobj && jx_get(nsobj, "metadata.deletionTimestamp"))
        ctl_enqueue(c, "", ns);
}

struct ctl *ctrl_namespace_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "namespace-controller", namespace_sync, NULL);

    ctl_watch(c, RES_NAMESPACE, NULL);
    for (int i = 0; i < RES_COUNT; i++)
        if (kc_resource((enum res_id)i)->namespaced)
            ctl_watch(c, (enum res_id)i, on_content);
    ctl_start(c);
    return c;
}
