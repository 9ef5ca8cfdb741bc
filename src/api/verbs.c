/* Generic verbs over the resource table: create, get, list, update, patch, delete and
 * deletecollection, for HTTP clients and for the in-process client alike. Every write goes
 * through the same path: metadata rules, defaulting, validation, kind strategy, no-op
 * detection, then one durable store write. */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/patch.h"
#include "api/protobuf.h"
#include "api/selector.h"
#include "api/table.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/names.h"
#include "core/tls.h"
#include "resources/resources.h"

static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

static void uuid4(char *out)
{
    unsigned char b[16];

    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
            b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15]);
}

static void now_rfc3339(char *out)
{
    time_rfc3339(time(NULL), out);
}

json_t *api_get(struct api *api, const struct resource *r, const char *ns, const char *name)
{
    return store_get(api->store, r->key, r->namespaced ? ns : "", name);
}

static int conflict(struct err *err, const struct resource *r, const char *name)
{
    return err_set(err, -E_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                   "please apply your changes to the latest version and try again",
                   r->key, name);
}

/* Checks apiVersion/kind of a body against the target resource. */
static int check_type(const struct resource *r, const json_t *obj, struct err *err)
{
    const char *k = jx_str(obj, "kind"), *av = jx_str(obj, "apiVersion");

    if (!json_is_object(obj))
        return err_set(err, -E_BAD_REQUEST, "the body of the request must be a JSON object");
    if ((k && strcmp(k, r->kind) != 0) || (av && strcmp(av, r->api_version) != 0))
        return err_set(err, -E_BAD_REQUEST,
                       "the API version in the data (%s) does not match the expected API version (%s)",
                       av ? av : "", r->api_version);
    return 0;
}

/* fieldValidation=Warn: each unknown field becomes a warning, as kube-apiserver words it. */
static void warn_unknown_fields(const struct resource *r, const json_t *obj, json_t *warnings)
{
    json_t *paths = NULL;
    struct err e;

    err_init(&e);
    res_unknown_fields(r->group, r->kind, obj, &paths, &e);
    for (size_t i = 0; i < json_array_size(paths); i++) {
        const char *p = json_string_value(json_array_get(paths, i));

        if (p)
            json_array_append_new(warnings, json_sprintf("unknown field \"%s\"", p));
    }
    json_decref(paths);
    err_release(&e);
}

static int validate(const struct resource *r, const json_t *obj, const json_t *old,
                    const struct api_wopts *o, struct err *err)
{
    const char *name = jx_str(obj, "metadata.name");

    if (res_decode_check(r->group, r->kind, obj, err) < 0)
        return -E_BAD_REQUEST;
    if (o->strict && res_unknown_fields(r->group, r->kind, obj, NULL, err) < 0)
        return err->code ? err->code : -E_BAD_REQUEST;
    if (o->warn && o->warnings)
        warn_unknown_fields(r, obj, o->warnings);
    if (res_validate(r->group, r->kind, obj, old, err) < 0) {
        char msg[sizeof err->msg];
        size_t n = json_array_size(err->causes), off;

        off = (size_t)snprintf(msg, sizeof msg, "%s.%s \"%s\" is invalid: %s", r->kind,
                               *r->group ? r->group : "", name ? name : "", n > 1 ? "[" : "");
        if (!*r->group)
            off = (size_t)snprintf(msg, sizeof msg, "%s \"%s\" is invalid: %s", r->kind,
                                   name ? name : "", n > 1 ? "[" : "");
        for (size_t i = 0; i < n && off < sizeof msg; i++) {
            json_t *c = json_array_get(err->causes, i);

            off += (size_t)snprintf(msg + off, sizeof msg - off, "%s%s: %s", i ? ", " : "",
                                    jx_str(c, "field") ? jx_str(c, "field") : "",
                                    jx_str(c, "message"));
        }
        if (n > 1 && off < sizeof msg)
            snprintf(msg + off, sizeof msg - off, "]");
        memcpy(err->msg, msg, sizeof msg);
        err->code = -E_INVALID;
        json_decref(err->details);
        err->details = json_pack("{s:s,s:s}", "name", name ? name : "", "kind", r->kind);
        if (*r->group)
            json_object_set_new(err->details, "group", json_string(r->group));
        return -E_INVALID;
    }
    return 0;
}

static int namespace_check(struct api *api, const struct resource *r, const char *ns,
                           struct err *err)
{
    json_t *n;

    if (!r->namespaced)
        return 0;
    n = store_get(api->store, "namespaces", "", ns);
    if (!n)
        return err_set(err, -E_NOT_FOUND, "namespaces \"%s\" not found", ns);
    if (jx_get(n, "metadata.deletionTimestamp"))
        return err_set(err, -E_FORBIDDEN,
                       "%s \"%s\" is forbidden: unable to create new content in namespace %s "
                       "because it is being terminated",
                       r->key, "", ns);
    return 0;
}

static void details_for(struct err *err, const struct resource *r, const char *name)
{
    json_decref(err->details);
    err->details = api__details(r, name, NULL);
}

int api_create(struct api *api, const struct resource *r, const char *ns, json_t *body,
               const struct api_wopts *o, json_t **out, struct err *err)
{
    json_t *obj = NULL, *stored;
    const char *name, *bns, *gen;
    char uid[40], ts[32], nm[300];
    int rc;

    if ((rc = check_type(r, body, err)) < 0)
        return rc;
    /* Bounded before defaulting, validation or the copy below walk it. */
    if ((rc = patch_check_object(body, "the object", err)) < 0)
        return rc;
    obj = json_deep_copy(body);
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(obj, "apiVersion", json_string(r->api_version));
    if (!json_is_object(json_object_get(obj, "metadata")))
        json_object_set_new(obj, "metadata", json_object());
    bns = jx_str(obj, "metadata.namespace");
    if (r->namespaced) {
        if (bns && *bns && ns && strcmp(bns, ns) != 0) {
            rc = err_set(err, -E_BAD_REQUEST,
                         "the namespace of the provided object does not match the namespace sent "
                         "on the request");
            goto out;
        }
        jx_set(obj, "metadata.namespace", json_string(ns ? ns : "default"));
        ns = jx_str(obj, "metadata.namespace");
    } else {
        jx_del(obj, "metadata.namespace");
    }
    name = jx_str(obj, "metadata.name");
    gen = jx_str(obj, "metadata.generateName");
    if ((!name || !*name) && gen && *gen) {
        for (int tries = 0; tries < 8; tries++) {
            unsigned char rnd[5];
            char sfx[6];

            random_bytes(rnd, sizeof rnd);
            for (int i = 0; i < 5; i++)
                sfx[i] = name_alphabet[rnd[i] % (sizeof name_alphabet - 1)];
            sfx[5] = 0;
            snprintf(nm, sizeof nm, "%.*s%s", 58, gen, sfx);
            if (!store_get(api->store, r->key, r->namespaced ? ns : "", nm))
                break;
        }
        jx_set(obj, "metadata.name", json_string(nm));
    }
    name = jx_str(obj, "metadata.name");
    res_default(r->group, r->kind, obj);
    if ((rc = validate(r, obj, NULL, o, err)) < 0)
        goto out;
    if (o->prune)
        res_prune_unknown(r->group, r->kind, obj);
    if ((rc = namespace_check(api, r, ns, err)) < 0)
        goto out;
    if (store_get(api->store, r->key, r->namespaced ? ns : "", name)) {
        rc = err_set(err, -E_ALREADY_EXISTS, "%s \"%s\" already exists", r->key, name);
        details_for(err, r, name);
        goto out;
    }
    uuid4(uid);
    now_rfc3339(ts);
    jx_set(obj, "metadata.uid", json_string(uid));
    jx_set(obj, "metadata.creationTimestamp", json_string(ts));
    jx_del(obj, "metadata.resourceVersion");
    jx_del(obj, "metadata.deletionTimestamp");
    jx_del(obj, "metadata.deletionGracePeriodSeconds");
    if (r->flags & RF_GENERATION)
        jx_set(obj, "metadata.generation", json_integer(1));
    if ((rc = api__prepare_create(api, r, obj, err)) < 0)
        goto out;
    if (o->manager)
        patch_ssa_track_update(obj, NULL, o->manager, r->kind);
    /* Defaults and managedFields grow an object: the stored form must fit too (etcd's check). */
    if ((rc = patch_check_object(obj, "the object", err)) < 0)
        goto out;
    if (o->dry_run) {
        *out = obj;
        return 0;
    }
    rc = store_put(api->store, r->key, obj, &stored, err);
    obj = NULL;
    if (rc == 0)
        *out = json_incref(stored);
out:
    json_decref(obj);
    return rc;
}

/* Writes new (taken) over old after the update rules; *out gets the stored object. */
static int update_commit(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         const struct api_wopts *o, json_t **out, struct err *err)
{
    const char *name = jx_str(old, "metadata.name");
    json_t *a, *b, *stored;
    int rc, same;

    if (o->status) {
        json_t *n = json_deep_copy(old);
        json_t *ann = jx_get(obj, "metadata.annotations");
        json_t *st = json_object_get(obj, "status");

        json_object_set_new(n, "status", st ? json_incref(st) : json_object());
        /* As in kube-apiserver, a status write may carry annotations (the deployment
         * controller records revisions this way, without bumping generation). Only writes
         * based on the current resourceVersion do: a blind status write keeps them. */
        if (o->status == 1 && jx_str(obj, "metadata.resourceVersion") &&
            *jx_str(obj, "metadata.resourceVersion")) {
            if (json_is_object(ann))
                jx_set(n, "metadata.annotations", json_deep_copy(ann));
            else
                jx_del(n, "metadata.annotations");
        }
        json_decref(obj);
        obj = n;
    } else {
        static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                           "deletionGracePeriodSeconds", "generation"};
        json_t *m = jx_obj(obj, "metadata");

        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            json_t *v = jx_get(old, "metadata") ? json_object_get(jx_get(old, "metadata"), keep[i]) : NULL;

            if (v)
                json_object_set(m, keep[i], v);
            else
                json_object_del(m, keep[i]);
        }
        json_object_set_new(m, "name", json_string(name));
        if (r->namespaced)
            json_object_set(m, "namespace", jx_get(old, "metadata.namespace"));
        if ((r->flags & RF_STATUS) && r->id != RES_NAMESPACE) {
            if (json_object_get(old, "status"))
                json_object_set(obj, "status", json_object_get(old, "status"));
            else
                json_object_del(obj, "status");
        }
    }
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(obj, "apiVersion", json_string(r->api_version));
    res_default(r->group, r->kind, obj);
    if (!o->status && (rc = validate(r, obj, old, o, err)) < 0) {
        json_decref(obj);
        return rc;
    }
    if (!o->status && o->prune)
        res_prune_unknown(r->group, r->kind, obj);
    if ((r->flags & RF_GENERATION) && !o->status) {
        int changed = !json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec"));

        if (r->id == RES_DEPLOYMENT &&
            !jx_equal_semantic(jx_get(obj, "metadata.annotations"), jx_get(old, "metadata.annotations")))
            changed = 1;
        if (changed)
            jx_set(obj, "metadata.generation", json_integer(jx_int(old, "metadata.generation", 1) + 1));
    }
    api__prepare_update(api, r, obj, old, o->status);
    if (o->manager)
        patch_ssa_track_update(obj, old, o->manager, r->kind);
    /* Defaults and managedFields grow an object: the stored form must fit too (etcd's check). */
    if ((rc = patch_check_object(obj, "the object", err)) < 0) {
        json_decref(obj);
        return rc;
    }
    a = json_deep_copy(obj);
    b = json_deep_copy(old);
    jx_del(a, "metadata.resourceVersion");
    jx_del(b, "metadata.resourceVersion");
    jx_del(a, "metadata.managedFields");
    jx_del(b, "metadata.managedFields");
    same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (same || o->dry_run) {
        if (same) {
            json_decref(obj);
            *out = json_incref((json_t *)old);
        } else {
            *out = obj;
        }
        return 0;
    }
    /* An object being deleted goes away once its last finalizer is removed. */
    if (jx_get(obj, "metadata.deletionTimestamp") &&
        json_array_size(jx_get(obj, "metadata.finalizers")) == 0 && r->id != RES_POD &&
        (r->id != RES_NAMESPACE || json_array_size(jx_get(obj, "spec.finalizers")) == 0)) {
        json_decref(obj);
        return store_remove(api->store, r->key, jx_str(old, "metadata.namespace"), name, out, err);
    }
    rc = store_put(api->store, r->key, obj, &stored, err);
    if (rc == 0)
        *out = json_incref(stored);
    return rc;
}

int api_update(struct api *api, const struct resource *r, const char *ns, const char *name,
               json_t *body, const struct api_wopts *o, json_t **out, struct err *err)
{
    json_t *old = api_get(api, r, ns, name);
    const char *rv, *bname;
    int rc;

    if ((rc = check_type(r, body, err)) < 0)
        return rc;
    if ((rc = patch_check_object(body, "the object", err)) < 0)
        return rc;
    bname = jx_str(body, "metadata.name");
    if (bname && strcmp(bname, name) != 0)
        return err_set(err, -E_BAD_REQUEST,
                       "the name of the object (%s) does not match the name on the URL (%s)",
                       bname, name);
    if (!old) {
        api__not_found(err, r, name);
        details_for(err, r, name);
        return -E_NOT_FOUND;
    }
    rv = jx_str(body, "metadata.resourceVersion");
    if (rv && *rv && strcmp(rv, jx_str(old, "metadata.resourceVersion")) != 0) {
        conflict(err, r, name);
        details_for(err, r, name);
        return -E_CONFLICT;
    }
    json_incref(old);
    rc = update_commit(api, r, json_deep_copy(body), old, o, out, err);
    json_decref(old);
    return rc;
}

/* Scale subresource view of a Deployment or ReplicaSet. */
static json_t *scale_of(const struct resource *r, const json_t *obj)
{
    json_t *s = json_pack("{s:s,s:s}", "kind", "Scale", "apiVersion", "autoscaling/v1");
    json_t *m = json_object();
    char *sel = labelsel_string(jx_get(obj, "spec.selector"));
    static const char *const keys[] = {"name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp"};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(json_object_get(obj, "metadata"), keys[i]);

        if (v)
            json_object_set(m, keys[i], v);
    }
    json_object_set_new(s, "metadata", m);
    json_object_set_new(s, "spec", json_pack("{s:I}", "replicas", jx_int(obj, "spec.replicas", 1)));
    json_object_set_new(s, "status", json_pack("{s:I,s:s}", "replicas",
                                               jx_int(obj, "status.replicas", 0), "selector",
                                               sel ? sel : ""));
    free(sel);
    return s;
}

static int apply_patch(const char *ctype, const json_t *cur, const json_t *patch, const char *kind,
                       const struct api_wopts *o, int force, json_t **out, struct err *err)
{
    if (!ctype)
        ctype = "";
    if (strncmp(ctype, "application/json-patch+json", 27) == 0)
        return patch_json_apply(cur, patch, out, err);
    if (strncmp(ctype, "application/merge-patch+json", 28) == 0)
        return patch_merge_apply(cur, patch, out, err);
    if (strncmp(ctype, "application/strategic-merge-patch+json", 38) == 0)
        return patch_strategic_apply(cur, patch, kind, out, err);
    if (strncmp(ctype, "application/apply-patch+yaml", 28) == 0 ||
        strncmp(ctype, "application/apply-patch+cbor", 28) == 0)
        return patch_ssa_apply(cur, patch, o->manager, force, kind, out, err);
    return err_set(err, -E_UNSUPPORTED_MEDIA,
                   "the body of the request was in an unknown format - accepted media types "
                   "include: application/json-patch+json, application/merge-patch+json, "
                   "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

int api_patch(struct api *api, const struct resource *r, const char *ns, const char *name,
              const char *ctype, const json_t *patch, const struct api_wopts *o, json_t **out,
              struct err *err)
{
    json_t *old = api_get(api, r, ns, name), *res = NULL;
    int apply = ctype && strncmp(ctype, "application/apply-patch", 23) == 0;
    int force = o->propagation && strcmp(o->propagation, "force") == 0;
    const char *rv;
    int rc;

    if (!old && apply) {
        json_t *base = json_pack("{s:{s:s}}", "metadata", "name", name);

        if (r->namespaced)
            jx_set(base, "metadata.namespace", json_string(ns));
        rc = patch_ssa_apply(NULL, patch, o->manager, force, r->kind, &res, err);
        json_decref(base);
        if (rc < 0)
            return rc;
        {
            struct api_wopts co = *o;

            co.manager = NULL;
            jx_set(res, "metadata.name", json_string(name));
            rc = api_create(api, r, ns, res, &co, out, err);
        }
        json_decref(res);
        return rc;
    }
    if (!old) {
        api__not_found(err, r, name);
        details_for(err, r, name);
        return -E_NOT_FOUND;
    }
    json_incref(old);
    if (o->status == 2) { /* scale */
        json_t *sc = scale_of(r, old), *nsc = NULL;

        rc = apply_patch(ctype, sc, patch, "Scale", o, force, &nsc, err);
        json_decref(sc);
        if (rc == 0) {
            json_t *obj = json_deep_copy(old);
            struct api_wopts so = *o;

            so.status = 0;
            jx_set(obj, "spec.replicas", json_integer(jx_int(nsc, "spec.replicas", 0)));
            rc = update_commit(api, r, obj, old, &so, &res, err);
            if (rc == 0) {
                *out = scale_of(r, res);
                json_decref(res);
            }
        }
        json_decref(nsc);
        json_decref(old);
        return rc;
    }
    rc = apply_patch(ctype, old, patch, r->kind, o, force, &res, err);
    if (rc < 0)
        goto out;
    /* The engines bound their results as they build them; this exact measure is cheap (the
     * result is near the limit at most) and keeps every later walk on a bounded shape. */
    if ((rc = patch_check_object(res, "the patched object", err)) < 0)
        goto out;
    if (!json_is_object(res)) {
        rc = err_set(err, -E_BAD_REQUEST, "the patch did not produce an object");
        goto out;
    }
    rv = jx_str(res, "metadata.resourceVersion");
    if (rv && strcmp(rv, jx_str(old, "metadata.resourceVersion")) != 0) {
        rc = conflict(err, r, name);
        details_for(err, r, name);
        goto out;
    }
    {
        const char *k = jx_str(res, "kind"), *av = jx_str(res, "apiVersion");
        const char *pn = jx_str(res, "metadata.name"), *pns = jx_str(res, "metadata.namespace");

        if ((pn && strcmp(pn, name) != 0) ||
            (r->namespaced && pns && strcmp(pns, jx_str(old, "metadata.namespace") ?: "") != 0)) {
            rc = err_set(err, -E_BAD_REQUEST,
                         "the name of the object (%s) does not match the name on the URL (%s)",
                         pn ? pn : "", name);
            goto out;
        }

        if ((k && strcmp(k, r->kind) != 0) || (av && strcmp(av, r->api_version) != 0)) {
            rc = err_set(err, -E_BAD_REQUEST, "the patch changed the object's kind or apiVersion");
            goto out;
        }
    }
    {
        /* Server-side apply already recorded its own managedFields entry; tracking the write
         * again as an Update would move the applied fields to a second entry. */
        struct api_wopts uo = *o;

        if (apply)
            uo.manager = NULL;
        rc = update_commit(api, r, res, old, &uo, out, err);
    }
    res = NULL;
out:
    json_decref(res);
    json_decref(old);
    return rc;
}

static int precond_check(const struct resource *r, const json_t *old, const json_t *pre,
                         struct err *err)
{
    const char *uid = jx_str(pre, "uid"), *rv = jx_str(pre, "resourceVersion");

    if (uid && strcmp(uid, jx_str(old, "metadata.uid")) != 0)
        return err_set(err, -E_CONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in "
                       "precondition: %s, UID in object meta: %s",
                       r->key, jx_str(old, "metadata.name"), uid, jx_str(old, "metadata.uid"));
    if (rv && strcmp(rv, jx_str(old, "metadata.resourceVersion")) != 0)
        return err_set(err, -E_CONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
                       "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
                       r->key, jx_str(old, "metadata.name"), rv,
                       jx_str(old, "metadata.resourceVersion"));
    return 0;
}

static void finalizer_add(json_t *obj, const char *f)
{
    json_t *fs = jx_get(obj, "metadata.finalizers");

    if (!json_is_array(fs)) {
        fs = json_array();
        jx_set(obj, "metadata.finalizers", fs);
    }
    for (size_t i = 0; i < json_array_size(fs); i++)
        if (strcmp(json_string_value(json_array_get(fs, i)) ?: "", f) == 0)
            return;
    json_array_append_new(fs, json_string(f));
}

int api_delete(struct api *api, const struct resource *r, const char *ns, const char *name,
               const struct api_wopts *o, json_t **out, struct err *err)
{
    json_t *old = api_get(api, r, ns, name), *obj, *stored;
    long long grace = 0;
    int graceful = 0, rc;
    char ts[32];

    if (!old) {
        api__not_found(err, r, name);
        details_for(err, r, name);
        return -E_NOT_FOUND;
    }
    if (r->id == RES_NAMESPACE && name_namespace_is_builtin(name)) {
        /* kube-apiserver's NamespaceLifecycle admission words it this way. */
        err_set(err, -E_FORBIDDEN, "namespaces \"%s\" is forbidden: this namespace may not be deleted",
                name);
        details_for(err, r, name);
        return -E_FORBIDDEN;
    }
    if (o->preconditions && (rc = precond_check(r, old, o->preconditions, err)) < 0)
        return rc;
    if (o->dry_run) {
        *out = json_incref(old);
        return 0;
    }
    if (r->id == RES_POD) {
        const char *phase = jx_str(old, "status.phase");

        grace = o->grace >= 0 ? o->grace : jx_int(old, "spec.terminationGracePeriodSeconds", 30);
        if (!jx_str(old, "spec.nodeName") || (phase && (!strcmp(phase, "Succeeded") ||
                                                        !strcmp(phase, "Failed"))))
            grace = 0;
        graceful = grace > 0;
        if (jx_get(old, "metadata.deletionTimestamp")) {
            long long cur = jx_int(old, "metadata.deletionGracePeriodSeconds", 0);

            if (!graceful && json_array_size(jx_get(old, "metadata.finalizers")) == 0)
                return store_remove(api->store, r->key, ns, name, out, err);
            if (grace >= cur) {
                *out = json_incref(old);
                return 0;
            }
        }
    } else if (jx_get(old, "metadata.deletionTimestamp")) {
        *out = json_incref(old);
        return 0;
    }
    obj = json_deep_copy(old);
    if (o->propagation && strcmp(o->propagation, "Foreground") == 0)
        finalizer_add(obj, "foregroundDeletion");
    else if (o->propagation && strcmp(o->propagation, "Orphan") == 0)
        finalizer_add(obj, "orphan");
    if (r->id == RES_NAMESPACE) {
        jx_set(obj, "status.phase", json_string("Terminating"));
        graceful = 1;
    }
    if (!graceful && json_array_size(jx_get(obj, "metadata.finalizers")) == 0) {
        json_decref(obj);
        return store_remove(api->store, r->key, ns, name, out, err);
    }
    time_rfc3339(time(NULL) + grace, ts);
    jx_set(obj, "metadata.deletionTimestamp", json_string(ts));
    jx_set(obj, "metadata.deletionGracePeriodSeconds", json_integer(grace));
    rc = store_put(api->store, r->key, obj, &stored, err);
    if (rc == 0)
        *out = json_incref(stored);
    return rc;
}

/* ---- HTTP side ---- */

struct api_filter {
    struct labelsel *ls;
    struct fieldsel *fs;
};

struct api_filter *api__filter_new(struct http_req *req, const struct resource *r, struct err *err)
{
    struct api_filter *f = xcalloc(1, sizeof *f);
    const char *l = http_req_query(req, "labelSelector"), *fl = http_req_query(req, "fieldSelector");

    if (l && *l && labelsel_parse(l, &f->ls, err) < 0)
        goto fail;
    if (fl && *fl && (fieldsel_parse(fl, &f->fs, err) < 0 || fieldsel_check(f->fs, r->kind, err) < 0))
        goto fail;
    return f;
fail:
    if (!err->code)
        err->code = -E_BAD_REQUEST;
    api__filter_free(f);
    return NULL;
}

int api__filter_match(const struct api_filter *f, const json_t *obj)
{
    if (f->ls && !labelsel_match(f->ls, jx_get(obj, "metadata.labels")))
        return 0;
    if (f->fs && !fieldsel_match(f->fs, obj))
        return 0;
    return 1;
}

void api__filter_free(struct api_filter *f)
{
    if (!f)
        return;
    if (f->ls)
        labelsel_free(f->ls);
    if (f->fs)
        fieldsel_free(f->fs);
    free(f);
}

static int cmp_items(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(jx_str(x, "metadata.namespace") ?: "", jx_str(y, "metadata.namespace") ?: "");

    return c ? c : strcmp(jx_str(x, "metadata.name") ?: "", jx_str(y, "metadata.name") ?: "");
}

static void send_object(struct api *api, struct http_req *req, const struct resource *r,
                        json_t *obj, int status, const json_t *warnings)
{
    if (api__wants_table(req)) {
        json_t *items = json_pack("[O]", obj);
        json_t *t = table_build(r->group, r->kind, items, jx_str(obj, "metadata.resourceVersion"),
                                http_req_query(req, "includeObject"), 1, time(NULL));

        api__respond_json_warn(req, status, t, warnings);
        json_decref(t);
        json_decref(items);
        return;
    }
    api__respond_json_warn(req, status, obj, warnings);
}

static void do_list(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    struct api_filter *f;
    json_t *m = store_map(api->store, t->r->key), *items = json_array(), *v, *doc;
    const char *k;
    json_t **arr;
    size_t n = 0, i = 0;
    char rv[32], kind[96];

    err_init(&err);
    f = api__filter_new(req, t->r, &err);
    if (!f) {
        api__fail(req, &err);
        err_release(&err);
        json_decref(items);
        return;
    }
    n = m ? json_object_size(m) : 0;
    arr = xcalloc(n + 1, sizeof *arr);
    if (m)
        json_object_foreach(m, k, v)
        {
            if (t->ns && strcmp(jx_str(v, "metadata.namespace") ?: "", t->ns) != 0)
                continue;
            if (!api__filter_match(f, v))
                continue;
            arr[i++] = v;
        }
    qsort(arr, i, sizeof *arr, cmp_items);
    for (size_t j = 0; j < i; j++)
        json_array_append(items, arr[j]);
    free(arr);
    api__filter_free(f);
    snprintf(rv, sizeof rv, "%lld", (long long)store_rv(api->store));
    if (api__wants_table(req)) {
        doc = table_build(t->r->group, t->r->kind, items, rv, http_req_query(req, "includeObject"),
                          1, time(NULL));
    } else {
        snprintf(kind, sizeof kind, "%sList", t->r->kind);
        doc = json_pack("{s:s,s:s,s:{s:s},s:O}", "kind", kind, "apiVersion", t->r->api_version,
                        "metadata", "resourceVersion", rv, "items", items);
    }
    api__respond_json(req, 200, doc);
    json_decref(doc);
    json_decref(items);
}

/* Parses the request body by Content-Type: JSON, YAML, or Kubernetes protobuf. */
static int body_parse(struct http_req *req, json_t **out, struct err *err)
{
    const char *ct = http_req_header(req, "Content-Type");
    json_error_t je;

    if (!req->body.len)
        return err_set(err, -E_BAD_REQUEST, "the request body is empty");
    if (ct && strncmp(ct, "application/vnd.kubernetes.protobuf", 35) == 0)
        return pb_decode_object(req->body.data, req->body.len, out, err);
    if (ct && (strstr(ct, "yaml") != NULL))
        return patch_parse_yaml(req->body.data, req->body.len, out, err);
    if (ct && *ct && !strstr(ct, "json"))
        return err_set(err, -E_UNSUPPORTED_MEDIA,
                       "the body of the request was in an unknown format - accepted media types "
                       "include: application/json, application/yaml, "
                       "application/vnd.kubernetes.protobuf");
    *out = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return err_set(err, -E_BAD_REQUEST, "error decoding request body: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    return 0;
}

static void wopts_from_req(struct http_req *req, struct api_wopts *o)
{
    const char *dry = http_req_query(req, "dryRun"), *fv = http_req_query(req, "fieldValidation");
    const char *force = http_req_query(req, "force");

    memset(o, 0, sizeof *o);
    o->grace = -1;
    o->dry_run = dry && strcmp(dry, "All") == 0;
    o->manager = http_req_query(req, "fieldManager");
    o->strict = fv && strcmp(fv, "Strict") == 0;
    o->warn = !fv || strcmp(fv, "Warn") == 0; /* Warn is kube-apiserver's default */
    o->prune = !o->strict;
    if (force && strcmp(force, "true") == 0)
        o->propagation = "force";
}

/* DeleteOptions from the body (JSON or protobuf) and the query. */
static int delete_opts(struct http_req *req, struct api_wopts *o, json_t **keep, struct err *err)
{
    const char *g = http_req_query(req, "gracePeriodSeconds"), *pp = http_req_query(req, "propagationPolicy");
    json_t *body = NULL;

    if (g)
        o->grace = atoll(g);
    if (pp)
        o->propagation = pp;
    if (req->body.len) {
        if (body_parse(req, &body, err) < 0)
            return err->code;
        if (json_is_integer(json_object_get(body, "gracePeriodSeconds")))
            o->grace = json_integer_value(json_object_get(body, "gracePeriodSeconds"));
        if (jx_str(body, "propagationPolicy"))
            o->propagation = jx_str(body, "propagationPolicy");
        if (json_is_array(json_object_get(body, "dryRun")) &&
            json_array_size(json_object_get(body, "dryRun")))
            o->dry_run = 1;
        o->preconditions = json_object_get(body, "preconditions");
        if (json_is_true(json_object_get(body, "orphanDependents")))
            o->propagation = "Orphan";
    }
    *keep = body;
    return 0;
}

static void do_write(struct api *api, struct http_req *req, struct api_target *t)
{
    struct api_wopts o;
    struct err err;
    json_t *body = NULL, *out = NULL;
    int rc = 0, created = 0;

    err_init(&err);
    wopts_from_req(req, &o);
    o.warnings = json_array();
    if (strcmp(req->method, "DELETE") == 0) {
        if ((rc = delete_opts(req, &o, &body, &err)) == 0)
            rc = api_delete(api, t->r, t->ns, t->name, &o, &out, &err);
        goto done;
    }
    if ((rc = body_parse(req, &body, &err)) < 0)
        goto done;
    if (t->sub && strcmp(t->sub, "status") == 0)
        o.status = 1;
    else if (t->sub && strcmp(t->sub, "scale") == 0 && (t->r->flags & RF_SCALE))
        o.status = 2;
    else if (t->sub) {
        rc = err_set(&err, -E_NOT_FOUND, "the server could not find the requested resource");
        goto done;
    }
    if (strcmp(req->method, "POST") == 0) {
        rc = api_create(api, t->r, t->ns, body, &o, &out, &err);
        created = 1;
    } else if (strcmp(req->method, "PUT") == 0) {
        if (o.status == 2) {
            json_t *p = json_pack("{s:{s:O}}", "spec", "replicas", jx_get(body, "spec.replicas") ?: json_null());

            rc = api_patch(api, t->r, t->ns, t->name, "application/merge-patch+json", p, &o, &out, &err);
            json_decref(p);
        } else {
            rc = api_update(api, t->r, t->ns, t->name, body, &o, &out, &err);
        }
    } else {
        int existed = api_get(api, t->r, t->ns, t->name) != NULL;

        rc = api_patch(api, t->r, t->ns, t->name, http_req_header(req, "Content-Type"), body, &o,
                       &out, &err);
        created = !existed;
    }
done:
    if (rc < 0) {
        if (!err.code)
            err.code = rc;
        api__fail(req, &err);
    } else {
        send_object(api, req, t->r, out, created ? 201 : 200, o.warnings);
    }
    json_decref(out);
    json_decref(body);
    json_decref(o.warnings);
    err_release(&err);
}

static void do_deletecollection(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    struct api_filter *f;
    struct api_wopts o;
    json_t *m = store_map(api->store, t->r->key), *names = json_array(), *items = json_array(), *v, *body = NULL;
    const char *k;
    char kind[96];

    err_init(&err);
    wopts_from_req(req, &o);
    f = api__filter_new(req, t->r, &err);
    if (!f || delete_opts(req, &o, &body, &err) < 0) {
        api__fail(req, &err);
        goto out;
    }
    if (m)
        json_object_foreach(m, k, v) if ((!t->ns || strcmp(jx_str(v, "metadata.namespace") ?: "", t->ns) == 0) &&
                                         api__filter_match(f, v))
            json_array_append_new(names, json_string(jx_str(v, "metadata.name")));
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *out = NULL;
        struct err e2;

        err_init(&e2);
        if (api_delete(api, t->r, t->ns, json_string_value(json_array_get(names, i)), &o, &out, &e2) == 0)
            json_array_append_new(items, out);
        err_release(&e2);
    }
    snprintf(kind, sizeof kind, "%sList", t->r->kind);
    {
        json_t *doc = json_pack("{s:s,s:s,s:{},s:O}", "kind", kind, "apiVersion", t->r->api_version,
                                "metadata", "items", items);

        api__respond_json(req, 200, doc);
        json_decref(doc);
    }
out:
    api__filter_free(f);
    json_decref(body);
    json_decref(names);
    json_decref(items);
    err_release(&err);
}

static void do_eviction(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    json_t *body = NULL, *pod = api_get(api, t->r, t->ns, t->name);
    int rc, dry = 0;

    err_init(&err);
    if (!pod) {
        api__not_found(&err, t->r, t->name);
        api__fail(req, &err);
        return;
    }
    if (body_parse(req, &body, &err) < 0) {
        api__fail(req, &err);
        err_release(&err);
        return;
    }
    dry = json_array_size(jx_get(body, "deleteOptions.dryRun")) > 0 ||
          (http_req_query(req, "dryRun") && strcmp(http_req_query(req, "dryRun"), "All") == 0);
    json_incref(pod);
    if (api->evict_fn) {
        rc = api->evict_fn(api, pod, body, dry, &err, api->evict_ctx);
    } else {
        struct api_wopts o = {.grace = -1, .dry_run = dry};
        json_t *out = NULL;

        rc = api_delete(api, t->r, t->ns, t->name, &o, &out, &err);
        json_decref(out);
    }
    if (rc < 0) {
        api__fail(req, &err);
    } else {
        static const char ok[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                 "\"status\":\"Success\",\"code\":201}";

        http_respond(req, 201, "application/json", ok, sizeof ok - 1, NULL);
    }
    json_decref(pod);
    json_decref(body);
    err_release(&err);
}

int api_bind(struct api *api, const char *ns, const char *name, const char *node, struct err *err)
{
    const struct resource *r = api_resource(RES_POD);
    json_t *old = api_get(api, r, ns, name), *obj, *stored;
    char ts[32];

    if (!old)
        return api__not_found(err, r, name);
    if (jx_str(old, "spec.nodeName"))
        return err_set(err, -E_CONFLICT, "pod %s is already assigned to node \"%s\"", name,
                       jx_str(old, "spec.nodeName"));
    if (jx_get(old, "metadata.deletionTimestamp"))
        return err_set(err, -E_CONFLICT, "pod %s is being deleted, cannot be assigned to a host",
                       name);
    obj = json_deep_copy(old);
    jx_set(obj, "spec.nodeName", json_string(node));
    time_rfc3339(time(NULL), ts);
    {
        json_t *conds = jx_get(obj, "status.conditions");

        if (!json_is_array(conds)) {
            conds = json_array();
            jx_set(obj, "status.conditions", conds);
        }
        for (size_t i = 0; i < json_array_size(conds); i++)
            if (strcmp(jx_str(json_array_get(conds, i), "type") ?: "", "PodScheduled") == 0) {
                json_array_remove(conds, i);
                break;
            }
        json_array_append_new(conds, json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled",
                                               "status", "True", "lastProbeTime",
                                               "lastTransitionTime", ts));
    }
    return store_put(api->store, r->key, obj, &stored, err);
}

static void do_binding(struct api *api, struct http_req *req, struct api_target *t)
{
    struct err err;
    json_t *body = NULL;
    const char *node;

    err_init(&err);
    if (body_parse(req, &body, &err) < 0 || !(node = jx_str(body, "target.name"))) {
        if (!err.code)
            err_set(&err, -E_BAD_REQUEST, "binding requires target.name");
        api__fail(req, &err);
    } else if (api_bind(api, t->ns, t->name, node, &err) < 0) {
        api__fail(req, &err);
    } else {
        static const char ok[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                 "\"status\":\"Success\",\"code\":201}";

        http_respond(req, 201, "application/json", ok, sizeof ok - 1, NULL);
    }
    json_decref(body);
    err_release(&err);
}

void api__resource(struct api *api, struct http_req *req, struct api_target *t)
{
    const char *m = req->method;

    if (!api__accepts_json(req)) {
        api__fail_code(req, -E_NOT_ACCEPTABLE, "only the following media types are accepted: "
                                                "application/json, application/yaml");
        return;
    }
    if (t->r->namespaced && !t->ns && t->name) {
        api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        return;
    }
    if (strcmp(m, "GET") == 0) {
        json_t *obj;
        const char *w = http_req_query(req, "watch");

        if (!t->name) {
            if (w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0))
                api__watch(api, req, t);
            else
                do_list(api, req, t);
            return;
        }
        obj = api_get(api, t->r, t->ns, t->name);
        if (!obj) {
            struct err err;

            err_init(&err);
            api__not_found(&err, t->r, t->name);
            details_for(&err, t->r, t->name);
            api__fail(req, &err);
            err_release(&err);
            return;
        }
        if (!t->sub || strcmp(t->sub, "status") == 0) {
            send_object(api, req, t->r, obj, 200, NULL);
        } else if (strcmp(t->sub, "scale") == 0 && (t->r->flags & RF_SCALE)) {
            json_t *s = scale_of(t->r, obj);

            api__respond_json(req, 200, s);
            json_decref(s);
        } else if (strcmp(t->sub, "log") == 0 && (t->r->flags & RF_LOG) && api->log_fn) {
            api->log_fn(req, obj, http_req_query(req, "container"), api->log_ctx);
        } else {
            api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
        }
        return;
    }
    if (strcmp(m, "POST") == 0 && t->name) {
        if (t->sub && strcmp(t->sub, "eviction") == 0 && (t->r->flags & RF_EVICTION))
            do_eviction(api, req, t);
        else if (t->sub && strcmp(t->sub, "binding") == 0 && (t->r->flags & RF_BINDING))
            do_binding(api, req, t);
        else
            api__fail_code(req, -E_METHOD, "the server does not allow this method on the requested resource");
        return;
    }
    if (strcmp(m, "POST") == 0 || ((strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) && t->name) ||
        (strcmp(m, "DELETE") == 0 && t->name && !t->sub)) {
        if (strcmp(m, "POST") == 0 && !t->ns && t->r->namespaced) {
            api__fail_code(req, -E_NOT_FOUND, "the server could not find the requested resource");
            return;
        }
        do_write(api, req, t);
        return;
    }
    if (strcmp(m, "DELETE") == 0 && !t->name) {
        do_deletecollection(api, req, t);
        return;
    }
    api__fail_code(req, -E_METHOD, "the server does not allow this method on the requested resource");
}
