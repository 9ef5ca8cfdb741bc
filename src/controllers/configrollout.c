/* The config-rollout controller (kroll's addition; nothing upstream does this): a Deployment
 * annotated kroll.dev/config-rollout: "true" gets a rollout whenever a ConfigMap or Secret its
 * pod template references changes, and every revision keeps the config it ran with.
 *
 * Each reference NAME in the template is rewritten to an immutable snapshot NAME-<hash> (the
 * hash covers the content, like kustomize's configMapGenerator suffix), created here with the
 * annotation kroll.dev/config-snapshot-of: NAME. A changed source means a new snapshot name,
 * hence a new template and a normal rolling update; `kubectl rollout undo` copies an old
 * ReplicaSet's template back, with its snapshot names, so the old code runs with its old
 * config. The Deployment's kroll.dev/config-observed annotation (never copied to ReplicaSets,
 * and dropped by undo) records the source hashes last rolled out: a template pointing at a
 * snapshot is rewritten only when its source changed since then, so an undo sticks until the
 * next change. Snapshots are owned by the ReplicaSets whose templates use them (and by the
 * Deployment while its template does), so the garbage collector removes them with the
 * ReplicaSets that revisionHistoryLimit prunes. The template also gets kroll.dev/config-hash
 * (config_refs_hash); the Deployment controller waits while it is stale, so no ReplicaSet is
 * ever created for the plain names of an opted-in Deployment. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"

#define COMP "config-rollout"
#define NAME_MAX_LEN 253 /* a DNS subdomain: ConfigMap and Secret names */
#define HASH_LEN 10

static int opted_in(const json_t *d)
{
    return strcmp(jx_annotation(d, CFG_A_OPTIN) ?: "", "true") == 0;
}

/* Content hash of a ConfigMap or Secret: sha256 of the compact, key-sorted JSON of its kind,
 * data, binaryData and type, first 10 hex digits mapped as kustomize does (0->g 1->h 3->k a->m
 * e->t) so the suffix never reads as a number. */
static void content_hash(const json_t *obj, int secret, char out[HASH_LEN + 1])
{
    json_t *h = json_pack("{s:s}", "kind", secret ? "Secret" : "ConfigMap");
    static const char *const keys[] = {"data", "binaryData", "type"};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mn = 0;
    char *s;

    for (int i = 0; i < 3; i++)
        if (json_object_get(obj, keys[i]))
            json_object_set(h, keys[i], json_object_get(obj, keys[i]));
    s = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    EVP_Digest(s, strlen(s), md, &mn, EVP_sha256(), NULL);
    for (int i = 0; i < HASH_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    for (char *p = out; *p; p++)
        *p = *p == '0'   ? 'g'
             : *p == '1' ? 'h'
             : *p == '3' ? 'k'
             : *p == 'a' ? 'm'
             : *p == 'e' ? 't'
                         : *p;
    free(s);
    json_decref(h);
}

/* One pass over a Deployment's template. */
struct pass {
    struct ctl *c;
    const json_t *d;
    const char *ns;
    json_t *observed; /* "cm/NAME" -> hash, rewritten in place */
    json_t *decided;  /* "cm/NAME" -> snapshot name chosen in this pass */
    int changed;
};

static const struct resource *res_of(int secret)
{
    return kc_resource(secret ? RES_SECRET : RES_CONFIGMAP);
}

/* Creates snapshot `snap` of src unless it exists; returns 0 when it is there. */
static int snapshot_ensure(struct pass *p, int secret, const json_t *src, const char *snap)
{
    struct kc_wopts o = {.grace = -1, .manager = COMP};
    const char *srcname = jx_str(src, "metadata.name");
    const json_t *cur = kc_get(ctl_kc(p->c), res_of(secret), p->ns, snap);
    json_t *obj, *out = NULL, *ref;
    struct err err;
    int rc;

    if (cur) {
        if (strcmp(jx_annotation(cur, CFG_A_SNAPOF) ?: "", srcname) == 0)
            return 0;
        kc_event(ctl_kc(p->c), p->d, "Warning", "ConfigSnapshotConflict", COMP,
                  "%s %s exists and is not a snapshot of %s; the template keeps %s",
                  secret ? "Secret" : "ConfigMap", snap, srcname, srcname);
        return -1;
    }
    ref = owner_ref(p->d);
    json_object_set_new(ref, "controller", json_false());
    json_object_set_new(ref, "blockOwnerDeletion", json_false());
    obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s},s:{s:s},s:[o]},s:b}", "apiVersion", "v1", "kind",
                    secret ? "Secret" : "ConfigMap", "metadata", "name", snap, "namespace", p->ns,
                    "labels", CFG_L_SNAP, "true", "annotations", CFG_A_SNAPOF, srcname,
                    "ownerReferences", ref, "immutable", 1);
    for (int i = 0; i < 3; i++) {
        static const char *const keys[] = {"data", "binaryData", "type"};

        if (json_object_get(src, keys[i]))
            json_object_set(obj, keys[i], json_object_get(src, keys[i]));
    }
    err_init(&err);
    rc = kc_create(ctl_kc(p->c), res_of(secret), p->ns, obj, &o, &out, &err);
    if (rc < 0)
        kc_event(ctl_kc(p->c), p->d, "Warning", "ConfigSnapshotFailed", COMP,
                  "creating snapshot %s of %s: %s", snap, srcname, err.msg);
    else
        kc_event(ctl_kc(p->c), p->d, "Normal", "ConfigSnapshot", COMP,
                  "%s %s changed: snapshot %s", secret ? "Secret" : "ConfigMap", srcname, snap);
    json_decref(out);
    json_decref(obj);
    err_release(&err);
    return rc < 0 ? -1 : 0;
}

/* The snapshot name a reference should use in this pass, or NULL to keep the reference. */
static const char *ref_decide(struct pass *p, int secret, const char *name)
{
    const json_t *cur = kc_get(ctl_kc(p->c), res_of(secret), p->ns, name), *src = cur;
    const char *srcname = name, *seen;
    char key[NAME_MAX_LEN + 16], h[HASH_LEN + 1], snap[NAME_MAX_LEN + 1];
    int is_snap = 0;

    if (cur && jx_annotation(cur, CFG_A_SNAPOF)) {
        srcname = jx_annotation(cur, CFG_A_SNAPOF);
        src = kc_get(ctl_kc(p->c), res_of(secret), p->ns, srcname);
        is_snap = 1;
    }
    snprintf(key, sizeof key, "%s/%s", secret ? "secret" : "cm", srcname);
    if (json_object_get(p->decided, key))
        return json_string_value(json_object_get(p->decided, key));
    if (!src || jx_annotation(src, CFG_A_SNAPOF))
        return NULL; /* missing (the pod reports it as upstream) or a snapshot of a snapshot */
    content_hash(src, secret, h);
    seen = json_string_value(json_object_get(p->observed, key));
    if (is_snap && (!seen || !strcmp(seen, h))) {
        /* Unchanged since the last rollout, or just undone (undo drops the observed map):
         * keep this revision's snapshot and remember the source's current hash. */
        if (!seen) {
            json_object_set_new(p->observed, key, json_string(h));
            p->changed = 1;
        }
        json_object_set_new(p->decided, key, json_string(name));
        return name;
    }
    if (strlen(srcname) + 1 + HASH_LEN > NAME_MAX_LEN) {
        kc_event(ctl_kc(p->c), p->d, "Warning", "ConfigSnapshotFailed", COMP,
                  "%s name %s is too long for a snapshot (at most %d characters)",
                  secret ? "Secret" : "ConfigMap", srcname, NAME_MAX_LEN - 1 - HASH_LEN);
        return NULL;
    }
    snprintf(snap, sizeof snap, "%s-%s", srcname, h);
    if (snapshot_ensure(p, secret, src, snap) < 0)
        return NULL;
    if (!seen || strcmp(seen, h)) {
        json_object_set_new(p->observed, key, json_string(h));
        p->changed = 1;
    }
    json_object_set_new(p->decided, key, json_string(snap));
    return json_string_value(json_object_get(p->decided, key));
}

static void on_ref(int secret, json_t *holder, const char *field, void *arg)
{
    struct pass *p = arg;
    char name[NAME_MAX_LEN + 1];
    const char *want;

    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(holder, field)));
    want = ref_decide(p, secret, name);
    if (want && strcmp(want, name)) {
        json_object_set_new(holder, field, json_string(want));
        p->changed = 1;
    }
}

/* Rewrites the Deployment's template; returns 1 when it wrote the Deployment. */
static int template_sync(struct ctl *c, const json_t *d, const char *ns)
{
    struct kc_wopts o = {.grace = -1, .manager = COMP};
    json_t *cp = json_deep_copy(d), *tmpl = jx_get(cp, "spec.template"), *out = NULL, *obs;
    struct pass p = {.c = c, .d = d, .ns = ns, .decided = json_object()};
    char h[16], *s;
    struct err err;
    int rc = 0;

    obs = json_loads(jx_annotation(d, CFG_A_OBSERVED) ?: "{}", 0, NULL);
    p.observed = json_is_object(obs) ? obs : json_object();
    if (p.observed != obs)
        json_decref(obs);
    if (json_is_object(tmpl)) {
        config_refs_each(json_object_get(tmpl, "spec"), on_ref, &p);
        config_refs_hash(tmpl, h);
        if (strcmp(jx_annotation(tmpl, CFG_A_HASH) ?: "", h)) {
            json_object_set_new(jx_obj(tmpl, "metadata.annotations"), CFG_A_HASH, json_string(h));
            p.changed = 1;
        }
    }
    if (p.changed) {
        s = json_dumps(p.observed, JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(jx_obj(cp, "metadata.annotations"), CFG_A_OBSERVED, json_string(s));
        free(s);
        err_init(&err);
        if (kc_update(ctl_kc(c), kc_resource(RES_DEPLOYMENT), ns, jx_str(d, "metadata.name"), cp,
                       &o, &out, &err) < 0)
            ctl_log_err(c, "deployment update", ns, jx_str(d, "metadata.name"), &err);
        else
            rc = 1;
        err_release(&err);
    }
    json_decref(out);
    json_decref(p.observed);
    json_decref(p.decided);
    json_decref(cp);
    return rc;
}

/* ---- snapshot ownership: the ReplicaSets (and the Deployment) whose templates use them ---- */

struct want {
    json_t *by_key; /* "cm/NAME" -> [ownerReference...] */
    json_t *ref;    /* the owner reference being added */
};

static void want_ref(int secret, json_t *holder, const char *field, void *arg)
{
    struct want *w = arg;
    char key[NAME_MAX_LEN + 16];
    json_t *arr;

    snprintf(key, sizeof key, "%s/%s", secret ? "secret" : "cm",
             json_string_value(json_object_get(holder, field)));
    if (!(arr = json_object_get(w->by_key, key)))
        json_object_set_new(w->by_key, key, arr = json_array());
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_equal(json_array_get(arr, i), w->ref))
            return;
    json_array_append(arr, w->ref);
}

static void want_add(struct want *w, const json_t *owner, const char *kind, const char *api_ver)
{
    json_t *spec = json_deep_copy(jx_get(owner, "spec.template.spec"));

    w->ref =
        json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", api_ver, "kind", kind, "name",
                  jx_str(owner, "metadata.name") ?: "", "uid", jx_str(owner, "metadata.uid") ?: "",
                  "controller", 0, "blockOwnerDeletion", 0);
    config_refs_each(spec, want_ref, w);
    json_decref(w->ref);
    json_decref(spec);
}

/* Sets one snapshot's ownerReferences to the others' plus want (deletes it when none is left). */
static void snapshot_owners(struct ctl *c, const json_t *snap, int secret, const json_t *mine,
                            json_t *want)
{
    struct kc_wopts o = {.grace = -1, .manager = COMP};
    json_t *refs = jx_get(snap, "metadata.ownerReferences"), *next = json_array(), *r, *out = NULL;
    const char *ns = jx_str(snap, "metadata.namespace"), *name = jx_str(snap, "metadata.name");
    size_t i, ours = 0, same = 1;
    struct err err;

    json_array_foreach(refs, i, r)
    {
        if (json_object_get(mine, jx_str(r, "uid") ?: ""))
            ours++;
        else
            json_array_append(next, r);
    }
    if (!ours && json_array_size(want) == 0)
        goto out; /* another Deployment's snapshot */
    if (want)
        json_array_extend(next, want);
    if (json_array_size(next) != json_array_size(refs))
        same = 0;
    for (i = 0; same && i < json_array_size(next); i++) {
        const char *uid = jx_str(json_array_get(next, i), "uid") ?: "";
        size_t j;

        for (j = 0; j < json_array_size(refs); j++)
            if (!strcmp(jx_str(json_array_get(refs, j), "uid") ?: "", uid))
                break;
        same = j < json_array_size(refs);
    }
    if (same)
        goto out;
    err_init(&err);
    if (json_array_size(next) == 0) {
        if (kc_delete(ctl_kc(c), res_of(secret), ns, name, &o, &out, &err) < 0 &&
            err.code != -E_NOT_FOUND)
            ctl_log_err(c, "snapshot delete", ns, name, &err);
    } else {
        json_t *cp = json_deep_copy(snap);

        jx_set(cp, "metadata.ownerReferences", json_incref(next));
        if (kc_update(ctl_kc(c), res_of(secret), ns, name, cp, &o, &out, &err) < 0)
            ctl_log_err(c, "snapshot owners", ns, name, &err);
        json_decref(cp);
    }
    err_release(&err);
out:
    json_decref(out);
    json_decref(next);
}

static void owners_sync(struct ctl *c, const json_t *d, const char *ns)
{
    struct want w = {.by_key = json_object()};
    json_t *mine = json_object(), *m, *v;
    const char *k;

    json_object_set_new(mine, jx_str(d, "metadata.uid") ?: "", json_true());
    want_add(&w, d, "Deployment", "apps/v1");
    if ((m = ctl_map(c, RES_REPLICASET)))
        json_object_foreach(m, k, v) if (is_controlled_by(v, d))
        {
            json_object_set_new(mine, jx_str(v, "metadata.uid") ?: "", json_true());
            want_add(&w, v, "ReplicaSet", "apps/v1");
        }
    for (int secret = 0; secret < 2; secret++) {
        char key[NAME_MAX_LEN + 16];
        json_t *snaps = json_array();
        size_t i;

        /* Collect first: the writes below change the map being walked. */
        if ((m = ctl_map(c, secret ? RES_SECRET : RES_CONFIGMAP)))
            json_object_foreach(m, k, v) if (!strcmp(jx_str(v, "metadata.namespace") ?: "", ns) &&
                                             !strcmp(jx_label(v, CFG_L_SNAP) ?: "", "true"))
                json_array_append(snaps, v);
        json_array_foreach(snaps, i, v)
        {
            snprintf(key, sizeof key, "%s/%s", secret ? "secret" : "cm",
                     jx_str(v, "metadata.name"));
            snapshot_owners(c, v, secret, mine, json_object_get(w.by_key, key));
        }
        json_decref(snaps);
    }
    json_decref(mine);
    json_decref(w.by_key);
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *d = kc_get(ctl_kc(c), kc_resource(RES_DEPLOYMENT), ns, name);

    if (!d || jx_get(d, "metadata.deletionTimestamp"))
        return;
    if (!opted_in(d) && !jx_annotation(jx_get(d, "spec.template"), CFG_A_HASH))
        return;
    d = json_incref(d);
    if (!opted_in(d) || !template_sync(c, d, ns))
        owners_sync(c, d, ns); /* after a template write, its own event comes back here */
    json_decref(d);
}

/* A ConfigMap or Secret changed: every Deployment of its namespace that opted in re-checks. */
static void on_config(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                      json_t *old, void *ctx)
{
    json_t *m = ctl_map(c, RES_DEPLOYMENT), *d;
    const char *ns = jx_str(obj, "metadata.namespace") ?: "", *k;

    if (m)
        json_object_foreach(
            m, k, d) if (!strcmp(jx_str(d, "metadata.namespace") ?: "", ns) &&
                         (opted_in(d) || jx_annotation(jx_get(d, "spec.template"), CFG_A_HASH)))
            ctl_enqueue(c, ns, jx_str(d, "metadata.name"));
}

static void on_rs(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx)
{
    ctl_enqueue_owner(c, obj, "Deployment");
}

struct ctl *ctrl_configrollout_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, COMP, sync, NULL);

    ctl_watch(c, RES_DEPLOYMENT, NULL);
    ctl_watch(c, RES_REPLICASET, on_rs);
    ctl_watch(c, RES_CONFIGMAP, on_config);
    ctl_watch(c, RES_SECRET, on_config);
    ctl_start(c);
    return c;
}
