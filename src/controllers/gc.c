/* The garbage collector: deletes objects whose owners (metadata.ownerReferences, matched by
 * uid) are all gone, drops references to vanished owners from objects that still have a live
 * one, and runs the two deletion finalizers: `foregroundDeletion` (the owner stays until every
 * dependent with blockOwnerDeletion is gone; dependents are deleted first) and `orphan` (the
 * owner's references are removed from its dependents before it goes).
 * Queue keys carry the resource: the namespace part is "<resource key>|<namespace>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "core/jx.h"
#include "core/log.h"

#define FIN_FOREGROUND "foregroundDeletion"
#define FIN_ORPHAN "orphan"

enum owner_state { OWNER_SOLID, OWNER_DANGLING, OWNER_WAITING };

/* Resources whose objects can own or be owned (Events never carry ownerReferences). */
static int gc_res_watched(enum res_id id)
{
    return id != RES_EVENT;
}

static void gc_enqueue(struct ctl *c, const struct resource *r, const json_t *obj)
{
    char *k = xasprintf("%s|%s", r->key, jx_str(obj, "metadata.namespace") ?: "");

    ctl_enqueue(c, k, jx_str(obj, "metadata.name"));
    free(k);
}

/* Retries a failed write later rather than spinning on an error that may persist. */
static void gc_retry(struct ctl *c, const struct resource *r, const json_t *obj)
{
    char *k = xasprintf("%s|%s", r->key, jx_str(obj, "metadata.namespace") ?: "");

    ctl_enqueue_after(c, k, jx_str(obj, "metadata.name"), 500);
    free(k);
}

static int has_finalizer(const json_t *obj, const char *f)
{
    size_t i;
    json_t *v;

    json_array_foreach(jx_get(obj, "metadata.finalizers"), i,
                       v) if (strcmp(json_string_value(v) ?: "", f) == 0) return 1;
    return 0;
}

/* The served resource an ownerReference points at, or NULL (unknown kinds are never guessed). */
static const struct resource *ref_resource(const json_t *ref)
{
    const char *av = jx_str(ref, "apiVersion") ?: "", *kind = jx_str(ref, "kind"), *slash;
    char group[128];

    if (!kind)
        return NULL;
    slash = strchr(av, '/');
    snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - av) : 0, av);
    return kc_resource_by_kind(group, kind);
}

/* The live owner object a reference names (same uid), or NULL when absent. *known is 0 when the
 * kind is not served here, so absence cannot be decided. */
static json_t *ref_owner(struct ctl *c, const json_t *dep, const json_t *ref, int *known)
{
    const struct resource *r = ref_resource(ref);
    json_t *o;

    *known = r != NULL;
    if (!r || !jx_str(ref, "name"))
        return NULL;
    o = kc_get(ctl_kc(c), r, r->namespaced ? jx_str(dep, "metadata.namespace") : NULL,
                jx_str(ref, "name"));
    if (o && strcmp(jx_str(o, "metadata.uid") ?: "", jx_str(ref, "uid") ?: "") != 0)
        return NULL; /* a same-name object with another uid is a different owner */
    return o;
}

static enum owner_state ref_state(struct ctl *c, const json_t *dep, const json_t *ref)
{
    int known;
    json_t *o = ref_owner(c, dep, ref, &known);

    if (!known)
        return OWNER_SOLID;
    if (!o)
        return OWNER_DANGLING;
    if (jx_get(o, "metadata.deletionTimestamp") && has_finalizer(o, FIN_FOREGROUND))
        return OWNER_WAITING;
    return OWNER_SOLID;
}

/* Calls fn for every object that lists owner's uid in its ownerReferences. Objects are
 * collected first (increffed) so fn may write. */
typedef void dep_fn(struct ctl *c, const struct resource *r, json_t *dep, const json_t *ref,
                    void *arg);

static int gc_dependents_each(struct ctl *c, const json_t *owner, dep_fn *fn, void *arg)
{
    const char *uid = jx_str(owner, "metadata.uid"), *ns = jx_str(owner, "metadata.namespace");
    json_t *found = json_array();
    int n = 0;

    if (!uid)
        goto out;
    for (int i = 0; i < RES_COUNT; i++) {
        json_t *m = gc_res_watched((enum res_id)i) ? ctl_map(c, (enum res_id)i) : NULL, *v, *ref;
        const char *k;
        size_t j;

        if (!m)
            continue;
        json_object_foreach(m, k, v)
        {
            if (ns && *ns && strcmp(jx_str(v, "metadata.namespace") ?: "", ns) != 0)
                continue;
            json_array_foreach(jx_get(v, "metadata.ownerReferences"), j,
                               ref) if (strcmp(jx_str(ref, "uid") ?: "", uid) == 0)
            {
                json_array_append_new(found,
                                      json_pack("{s:i,s:O,s:O}", "r", i, "o", v, "ref", ref));
                break;
            }
        }
    }
    for (size_t i = 0; i < json_array_size(found); i++) {
        json_t *e = json_array_get(found, i);

        n++;
        if (fn)
            fn(c, kc_resource((enum res_id)jx_int(e, "r", 0)), json_object_get(e, "o"),
               json_object_get(e, "ref"), arg);
    }
out:
    json_decref(found);
    return n;
}

static const char *r_ns(const struct resource *r, const json_t *obj)
{
    return r->namespaced ? jx_str(obj, "metadata.namespace") : NULL;
}

/* Removes one finalizer from obj; the API then removes an object whose last finalizer went. */
static void finalizer_remove(struct ctl *c, const struct resource *r, const json_t *obj,
                             const char *f)
{
    json_t *cp = json_deep_copy(obj), *fs = jx_get(cp, "metadata.finalizers"), *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;

    for (size_t i = json_array_size(fs); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(fs, i)) ?: "", f) == 0)
            json_array_remove(fs, i);
    err_init(&err);
    if (kc_update(ctl_kc(c), r, r_ns(r, obj), jx_str(obj, "metadata.name"), cp, &o, &out, &err) <
        0) {
        if (err.code == -E_CONFLICT)
            gc_retry(c, r, obj);
        else if (err.code != -E_NOT_FOUND)
            ctl_log_err(c, "remove finalizer", r_ns(r, obj), jx_str(obj, "metadata.name"), &err);
    } else if (r->id == RES_POD && json_array_size(jx_get(out, "metadata.finalizers")) == 0 &&
               jx_int(out, "metadata.deletionGracePeriodSeconds", -1) == 0) {
        /* The API keeps finalized pods for their kubelet; one with no grace left (e.g. never
         * scheduled) has nothing to wait for, so finish its deletion. */
        json_decref(out);
        out = NULL;
        o.grace = 0;
        if (kc_delete(ctl_kc(c), r, r_ns(r, obj), jx_str(obj, "metadata.name"), &o, &out, &err) <
                0 &&
            err.code != -E_NOT_FOUND)
            ctl_log_err(c, "delete", r_ns(r, obj), jx_str(obj, "metadata.name"), &err);
    }
    json_decref(cp);
    json_decref(out);
    err_release(&err);
}

/* Rewrites obj's ownerReferences without the uids listed in drop (an object uid -> true). */
static int refs_remove(struct ctl *c, const struct resource *r, const json_t *obj,
                       const json_t *drop)
{
    json_t *cp = json_deep_copy(obj), *refs = jx_get(cp, "metadata.ownerReferences"), *out = NULL;
    struct kc_wopts o = {.grace = -1};
    struct err err;
    int rc;

    for (size_t i = json_array_size(refs); i-- > 0;)
        if (json_object_get(drop, jx_str(json_array_get(refs, i), "uid") ?: ""))
            json_array_remove(refs, i);
    if (json_array_size(refs) == 0)
        jx_del(cp, "metadata.ownerReferences");
    err_init(&err);
    rc = kc_update(ctl_kc(c), r, r_ns(r, obj), jx_str(obj, "metadata.name"), cp, &o, &out, &err);
    if (rc < 0 && err.code != -E_NOT_FOUND && err.code != -E_CONFLICT)
        ctl_log_err(c, "remove ownerReferences", r_ns(r, obj), jx_str(obj, "metadata.name"), &err);
    if (err.code == -E_NOT_FOUND)
        rc = 0;
    json_decref(cp);
    json_decref(out);
    err_release(&err);
    return rc;
}

static void gc_delete(struct ctl *c, const struct resource *r, const json_t *obj,
                      const char *propagation)
{
    struct kc_wopts o = {.grace = -1, .propagation = propagation};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    log_info(ctl_name(c),
             "msg=\"deleting object whose owners are gone\" resource=%s object=%s/%s "
             "propagation=%s",
             r->key, r_ns(r, obj) ?: "", jx_str(obj, "metadata.name"), propagation);
    if (kc_delete(ctl_kc(c), r, r_ns(r, obj), jx_str(obj, "metadata.name"), &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(c, "delete", r_ns(r, obj), jx_str(obj, "metadata.name"), &err);
    json_decref(out);
    err_release(&err);
}

/* ---- owner side: the deletion finalizers ---- */

static void orphan_one(struct ctl *c, const struct resource *r, json_t *dep, const json_t *ref,
                       void *arg)
{
    json_t *drop = json_pack("{s:b}", jx_str(ref, "uid"), 1);

    if (refs_remove(c, r, dep, drop) < 0)
        *(int *)arg = 1;
    json_decref(drop);
}

static void count_blocking(struct ctl *c, const struct resource *r, json_t *dep, const json_t *ref,
                           void *arg)
{
    if (jx_bool(ref, "blockOwnerDeletion"))
        (*(int *)arg)++;
    if (!jx_get(dep, "metadata.deletionTimestamp"))
        gc_enqueue(c, r, dep); /* its sync sees a waiting owner and deletes it */
}

static void owner_finalize(struct ctl *c, const struct resource *r, const json_t *obj)
{
    if (has_finalizer(obj, FIN_ORPHAN)) {
        int failed = 0;

        gc_dependents_each(c, obj, orphan_one, &failed);
        if (!failed)
            finalizer_remove(c, r, obj, FIN_ORPHAN);
        else
            gc_retry(c, r, obj);
        return;
    }
    if (has_finalizer(obj, FIN_FOREGROUND)) {
        int blocking = 0;

        gc_dependents_each(c, obj, count_blocking, &blocking);
        if (!blocking)
            finalizer_remove(c, r, obj, FIN_FOREGROUND);
    }
}

/* ---- dependent side ---- */

static void dependent_check(struct ctl *c, const struct resource *r, const json_t *obj)
{
    json_t *refs = jx_get(obj, "metadata.ownerReferences"), *ref, *drop = json_object();
    int solid = 0, waiting = 0;
    size_t i;

    json_array_foreach(refs, i, ref)
    {
        enum owner_state s = ref_state(c, obj, ref);

        if (s == OWNER_SOLID)
            solid++;
        else
            json_object_set_new(drop, jx_str(ref, "uid") ?: "", json_true());
        waiting += s == OWNER_WAITING;
    }
    if (!json_object_size(drop))
        goto out;
    if (solid) {
        /* A live owner keeps the object; references to vanished owners are dropped. */
        if (refs_remove(c, r, obj, drop) < 0)
            gc_retry(c, r, obj);
        goto out;
    }
    /* Behind a foreground-deleting owner, an object that itself has dependents is deleted in
     * the foreground too, so the whole chain blocks the owner. */
    gc_delete(c, r, obj,
              waiting && gc_dependents_each(c, obj, NULL, NULL) ? "Foreground" : "Background");
out:
    json_decref(drop);
}

static void gc_sync(struct ctl *c, const char *key, const char *name, void *ctx)
{
    const char *bar = strchr(key, '|');
    char reskey[128];
    const struct resource *r = NULL;
    json_t *obj;

    if (!bar)
        return;
    snprintf(reskey, sizeof reskey, "%.*s", (int)(bar - key), key);
    for (int i = 0; i < RES_COUNT && !r; i++)
        if (strcmp(kc_resource((enum res_id)i)->key, reskey) == 0)
            r = kc_resource((enum res_id)i);
    if (!r || !(obj = kc_get(ctl_kc(c), r, r->namespaced ? bar + 1 : NULL, name)))
        return;
    obj = json_incref(obj);
    if (jx_get(obj, "metadata.deletionTimestamp"))
        owner_finalize(c, r, obj);
    else if (json_array_size(jx_get(obj, "metadata.ownerReferences")))
        dependent_check(c, r, obj);
    json_decref(obj);
}

/* Enqueues the owners of obj that are waiting for their dependents (foreground deletion). */
static void enqueue_waiting_owners(struct ctl *c, const json_t *obj)
{
    json_t *ref;
    size_t i;

    json_array_foreach(jx_get(obj, "metadata.ownerReferences"), i, ref)
    {
        int known;
        json_t *o = ref_owner(c, obj, ref, &known);

        if (o && jx_get(o, "metadata.deletionTimestamp"))
            gc_enqueue(c, ref_resource(ref), o);
    }
}

static void enqueue_dep(struct ctl *c, const struct resource *r, json_t *dep, const json_t *ref,
                        void *arg)
{
    gc_enqueue(c, r, dep);
}

static void on_event(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                     json_t *old, void *ctx)
{
    int deleted = strcmp(type, "DELETED") == 0;

    if (!deleted && (json_array_size(jx_get(obj, "metadata.ownerReferences")) ||
                     has_finalizer(obj, FIN_FOREGROUND) || has_finalizer(obj, FIN_ORPHAN)))
        gc_enqueue(c, r, obj);
    enqueue_waiting_owners(c, obj);
    if (old)
        enqueue_waiting_owners(c, old);
    if (deleted)
        gc_dependents_each(c, obj, enqueue_dep, NULL);
}

struct ctl *ctrl_gc_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "garbage-collector", gc_sync, NULL);

    for (int i = 0; i < RES_COUNT; i++)
        if (gc_res_watched((enum res_id)i))
            ctl_watch(c, (enum res_id)i, on_event);
    ctl_start(c);
    return c;
}
