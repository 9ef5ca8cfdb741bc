/* Generic verbs over the resource table: create, get, update, patch, delete (and pods/binding),
 * shared by HTTP clients (verbs_http.c) and the in-process client alike. Every write goes
 * through the same path: metadata rules, defaulting, validation, the kind's strategy hooks
 * (kind_ops), no-op detection, then one durable store write. */
#include "api/api-int.h"
#include "api/kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/patch.h"
#include "core/selector.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"
#include "resources/resources.h"

static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

static void uuid4(char *out)
{
    unsigned char b[16];

    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
            b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
            b[15]);
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
        return err_set(
            err, -E_BAD_REQUEST,
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
    res_unknown_fields(api_kind(r->id)->res, obj, &paths, &e);
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

    if (res_decode_check(api_kind(r->id)->res, obj, err) < 0)
        return -E_BAD_REQUEST;
    if (o->strict && res_unknown_fields(api_kind(r->id)->res, obj, NULL, err) < 0)
        return err->code ? err->code : -E_BAD_REQUEST;
    if (o->warn && o->warnings)
        warn_unknown_fields(r, obj, o->warnings);
    if (res_validate(api_kind(r->id)->res, obj, old, err) < 0)
        return err_invalid(err, r->kind, r->group, name);
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

void api__details_set(struct err *err, const struct resource *r, const char *name)
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
    res_default(api_kind(r->id)->res, obj);
    if ((rc = validate(r, obj, NULL, o, err)) < 0 || (rc = api__lint(api, r, obj, NULL, o, err)) < 0)
        goto out;
    if (o->prune)
        res_prune_unknown(api_kind(r->id)->res, obj);
    if ((rc = namespace_check(api, r, ns, err)) < 0)
        goto out;
    if (store_get(api->store, r->key, r->namespaced ? ns : "", name)) {
        rc = err_set(err, -E_ALREADY_EXISTS, "%s \"%s\" already exists", r->key, name);
        api__details_set(err, r, name);
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
        patch_ssa_track_update(obj, NULL, o->manager, api_kind(r->id)->merge);
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
/* A status write: the stored object with obj's status (and, as in kube-apiserver, its
 * annotations: the deployment controller records revisions this way, without bumping
 * generation; only writes based on the current resourceVersion carry them, a blind status write
 * keeps the stored ones). Takes obj; returns the object to write. */
static json_t *status_write_take(json_t *obj, const json_t *old, int status)
{
    json_t *n = json_deep_copy(old);
    json_t *ann = jx_get(obj, "metadata.annotations");
    json_t *st = json_object_get(obj, "status");

    json_object_set_new(n, "status", st ? json_incref(st) : json_object());
    if (status == 1 && jx_str(obj, "metadata.resourceVersion") &&
        *jx_str(obj, "metadata.resourceVersion")) {
        if (json_is_object(ann))
            jx_set(n, "metadata.annotations", json_deep_copy(ann));
        else
            jx_del(n, "metadata.annotations");
    }
    json_decref(obj);
    return n;
}

/* A main-resource write keeps what the server owns: identity and lifecycle metadata, and the
 * status unless the kind's strategy keeps it. */
static void keep_server_fields(const struct resource *r, json_t *obj, const json_t *old)
{
    static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                       "deletionGracePeriodSeconds", "generation"};
    json_t *m = jx_obj(obj, "metadata");

    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v =
            jx_get(old, "metadata") ? json_object_get(jx_get(old, "metadata"), keep[i]) : NULL;

        if (v)
            json_object_set(m, keep[i], v);
        else
            json_object_del(m, keep[i]);
    }
    json_object_set_new(m, "name", json_string(jx_str(old, "metadata.name")));
    if (r->namespaced)
        json_object_set(m, "namespace", jx_get(old, "metadata.namespace"));
    if ((r->flags & RF_STATUS) && !(api_kind(r->id)->flags & KO_STATUS_BY_STRATEGY)) {
        if (json_object_get(old, "status"))
            json_object_set(obj, "status", json_object_get(old, "status"));
        else
            json_object_del(obj, "status");
    }
}

/* metadata.generation counts spec changes (and annotation changes for KO_GENERATION_ANNOTATIONS
 * kinds). */
static void bump_generation(const struct resource *r, json_t *obj, const json_t *old)
{
    int changed = !json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec"));

    if ((api_kind(r->id)->flags & KO_GENERATION_ANNOTATIONS) &&
        !jx_equal_semantic(jx_get(obj, "metadata.annotations"),
                           jx_get(old, "metadata.annotations")))
        changed = 1;
    if (changed)
        jx_set(obj, "metadata.generation", json_integer(jx_int(old, "metadata.generation", 1) + 1));
}

/* True when a and b differ only in resourceVersion and managedFields: a no-op write. */
static int same_object(const json_t *obj, const json_t *old)
{
    json_t *a = json_deep_copy(obj), *b = json_deep_copy(old);
    int same;

    jx_del(a, "metadata.resourceVersion");
    jx_del(b, "metadata.resourceVersion");
    jx_del(a, "metadata.managedFields");
    jx_del(b, "metadata.managedFields");
    same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

static int update_commit(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         const struct api_wopts *o, json_t **out, struct err *err)
{
    const struct kind_ops *k = api_kind(r->id);
    const char *name = jx_str(old, "metadata.name");
    json_t *stored;
    int rc, same;

    if (o->status)
        obj = status_write_take(obj, old, o->status);
    else
        keep_server_fields(r, obj, old);
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(obj, "apiVersion", json_string(r->api_version));
    res_default(k->res, obj);
    if (!o->status && ((rc = validate(r, obj, old, o, err)) < 0 ||
                       (rc = api__lint(api, r, obj, old, o, err)) < 0)) {
        json_decref(obj);
        return rc;
    }
    if (!o->status && o->prune)
        res_prune_unknown(k->res, obj);
    if ((r->flags & RF_GENERATION) && !o->status)
        bump_generation(r, obj, old);
    api__prepare_update(api, r, obj, old, o->status);
    if (o->manager)
        patch_ssa_track_update(obj, old, o->manager, k->merge);
    /* Defaults and managedFields grow an object: the stored form must fit too (etcd's check). */
    if ((rc = patch_check_object(obj, "the object", err)) < 0) {
        json_decref(obj);
        return rc;
    }
    same = same_object(obj, old);
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
        json_array_size(jx_get(obj, "metadata.finalizers")) == 0 &&
        (!k->finalized || k->finalized(obj))) {
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
                       "the name of the object (%s) does not match the name on the URL (%s)", bname,
                       name);
    if (!old) {
        api__not_found(err, r, name);
        api__details_set(err, r, name);
        return -E_NOT_FOUND;
    }
    rv = jx_str(body, "metadata.resourceVersion");
    if (rv && *rv && strcmp(rv, jx_str(old, "metadata.resourceVersion")) != 0) {
        conflict(err, r, name);
        api__details_set(err, r, name);
        return -E_CONFLICT;
    }
    json_incref(old);
    rc = update_commit(api, r, json_deep_copy(body), old, o, out, err);
    json_decref(old);
    return rc;
}

/* Scale subresource view of a Deployment, ReplicaSet or Rollout. A Rollout's CRD reads
 * .status.HPAReplicas and the string .status.selector (progressive-delivery.md section 0.3):
 * they are used when the object has them. */
int api__apply_patch(const char *ctype, const json_t *cur, const json_t *patch,
                     const struct patch_schema *schema, const struct api_wopts *o, int force,
                     json_t **out, struct err *err)
{
    if (!ctype)
        ctype = "";
    if (strncmp(ctype, "application/json-patch+json", 27) == 0)
        return patch_json_apply(cur, patch, out, err);
    if (strncmp(ctype, "application/merge-patch+json", 28) == 0)
        return patch_merge_apply(cur, patch, out, err);
    if (strncmp(ctype, "application/strategic-merge-patch+json", 38) == 0)
        return patch_strategic_apply(cur, patch, schema, out, err);
    if (strncmp(ctype, "application/apply-patch+yaml", 28) == 0 ||
        strncmp(ctype, "application/apply-patch+cbor", 28) == 0)
        return patch_ssa_apply(cur, patch, o->manager, force, schema, out, err);
    return err_set(err, -E_UNSUPPORTED_MEDIA,
                   "the body of the request was in an unknown format - accepted media types "
                   "include: application/json-patch+json, application/merge-patch+json, "
                   "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

/* Server-side apply of an object that does not exist yet creates it (the applier owns its
 * fields through the apply's managedFields entry). */
static int apply_create(struct api *api, const struct resource *r, const char *ns, const char *name,
                        const json_t *patch, const struct api_wopts *o, int force, json_t **out,
                        struct err *err)
{
    struct api_wopts co = *o;
    json_t *res = NULL;
    int rc = patch_ssa_apply(NULL, patch, o->manager, force, api_kind(r->id)->merge, &res, err);

    if (rc < 0)
        return rc;
    co.manager = NULL;
    jx_set(res, "metadata.name", json_string(name));
    rc = api_create(api, r, ns, res, &co, out, err);
    json_decref(res);
    return rc;
}

/* A patch of the scale subresource: patches the Scale view, writes spec.replicas back, and
 * answers with the new Scale. */
static int patch_scale(struct api *api, const struct resource *r, const json_t *old,
                       const char *ctype, const json_t *patch, const struct api_wopts *o, int force,
                       json_t **out, struct err *err)
{
    json_t *sc = scheme_scale_of(old), *nsc = NULL, *res = NULL;
    int rc = api__apply_patch(ctype, sc, patch, &patch_schema_plain, o, force, &nsc, err);

    json_decref(sc);
    if (rc == 0) {
        json_t *obj = json_deep_copy(old);
        struct api_wopts so = *o;

        so.status = 0;
        so.warnings = NULL; /* a scale is no edit of the workload: not linted */
        jx_set(obj, "spec.replicas", json_integer(jx_int(nsc, "spec.replicas", 0)));
        rc = update_commit(api, r, obj, old, &so, &res, err);
        if (rc == 0) {
            *out = scheme_scale_of(res);
            json_decref(res);
        }
    }
    json_decref(nsc);
    return rc;
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

    if (!old && apply)
        return apply_create(api, r, ns, name, patch, o, force, out, err);
    if (!old) {
        api__not_found(err, r, name);
        api__details_set(err, r, name);
        return -E_NOT_FOUND;
    }
    json_incref(old);
    if (o->status == 2) { /* scale */
        rc = patch_scale(api, r, old, ctype, patch, o, force, out, err);
        json_decref(old);
        return rc;
    }
    rc = api__apply_patch(ctype, old, patch, api_kind(r->id)->merge, o, force, &res, err);
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
        api__details_set(err, r, name);
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
    const struct kind_ops *k = api_kind(r->id);
    json_t *old = api_get(api, r, ns, name), *obj, *stored;
    long long grace = 0;
    int graceful = 0, remove = 0, rc;
    char ts[32];

    if (!old) {
        api__not_found(err, r, name);
        api__details_set(err, r, name);
        return -E_NOT_FOUND;
    }
    if (k->delete_check && (rc = k->delete_check(name, err)) < 0) {
        api__details_set(err, r, name);
        return rc;
    }
    if (o->preconditions && (rc = precond_check(r, old, o->preconditions, err)) < 0)
        return rc;
    if (o->dry_run) {
        *out = json_incref(old);
        return 0;
    }
    if (k->delete_grace) {
        graceful = k->delete_grace(old, o->grace, &grace, &remove);
        if (remove)
            return store_remove(api->store, r->key, ns, name, out, err);
        if (graceful < 0) {
            *out = json_incref(old);
            return 0;
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
    if (k->delete_mark && k->delete_mark(obj))
        graceful = 1;
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

/* ---- pods/binding ---- */

int api_bind(struct api *api, const char *ns, const char *name, const char *node, struct err *err)
{
    const struct resource *r = scheme_resource(RES_POD);
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
        json_array_append_new(conds,
                              json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status",
                                        "True", "lastProbeTime", "lastTransitionTime", ts));
    }
    return store_put(api->store, r->key, obj, &stored, err);
}
