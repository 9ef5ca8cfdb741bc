/* Deployment controller: the rollout semantics of k8s-semantics.md sections 2-4 — new
 * ReplicaSet detection and creation, revision bookkeeping, rolling update (one direction per
 * pass), Recreate, proportional scaling, pause, history cleanup, status counters and the
 * Available/Progressing conditions with the progress deadline timer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/selector.h"
#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "controllers/rollout.h"
#include "controllers/surge.h"
#include "core/jx.h"
#include "core/log.h"

#define COMP "deployment-controller"
#define A_REV ROLLOUT_A_REV
#define A_REVHIST "deployment.kubernetes.io/revision-history"
#define A_DESIRED ROLLOUT_A_DESIRED
#define A_MAX ROLLOUT_A_MAX
#define NO_LIMIT 2147483647LL

struct dsync {
    struct ctl *c;
    json_t *d;      /* current Deployment (owned ref, refreshed after writes) */
    const char *ns; /* borrowed from d's first version: copied below */
    char nsbuf[256], name[256];
    long long R;
    json_t *rss;        /* array of owned ReplicaSets (refs) */
    json_t *nrs;        /* new RS (borrowed from rss) or NULL */
    long long deadline; /* progressDeadlineSeconds or -1 */
    json_t *eff;        /* the spec the rollout decisions use when not d's (surge fallback) */
    json_t *surge_cond; /* SurgeBlocked condition to set, or NULL */
    int surge_clear;    /* remove SurgeBlocked */
};

/* ---- small accessors ---- */

static long long revision_of(const json_t *rs)
{
    const char *v = jx_annotation(rs, A_REV);
    char *end;
    long long r;

    if (!v)
        return 0;
    r = strtoll(v, &end, 10);
    return *end ? 0 : r;
}

static struct rollout view(const struct dsync *x)
{
    return (struct rollout){x->eff ? x->eff : x->d, x->R, x->rss, x->nrs};
}

static json_t *rs_at(struct dsync *x, size_t i)
{
    return json_array_get(x->rss, i);
}

static int is_new(struct dsync *x, const json_t *rs)
{
    return x->nrs && strcmp(jx_str(rs, "metadata.name"), jx_str(x->nrs, "metadata.name")) == 0;
}

/* Replaces the cached copy of an RS after a write. */
static void rs_replace(struct dsync *x, json_t *stored)
{
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = rs_at(x, i);

        if (strcmp(jx_str(rs, "metadata.name"), jx_str(stored, "metadata.name")) == 0) {
            int was_new = is_new(x, rs);

            json_array_set(x->rss, i, stored);
            if (was_new)
                x->nrs = json_array_get(x->rss, i);
            return;
        }
    }
}

/* ---- writes ---- */

static int rs_write(struct dsync *x, json_t *rs_new, json_t **stored)
{
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    json_t *out = NULL;
    struct err err;
    int rc;

    err_init(&err);
    rc = kc_update(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns,
                    jx_str(rs_new, "metadata.name"), rs_new, &o, &out, &err);
    if (rc < 0)
        ctl_log_err(x->c, "replicaset update", x->ns, x->name, &err);
    else
        rs_replace(x, out);
    if (stored)
        *stored = out;
    json_decref(out);
    err_release(&err);
    return rc;
}

static void set_ann(json_t *obj, const char *k, const char *v)
{
    json_t *a = jx_obj(obj, "metadata.annotations");

    json_object_set_new(a, k, json_string(v));
}

/* Scales rs to n, refreshing desired/max annotations, and records the event. The ReplicaSet
 * controller sees the new size through its own queue; its status update wakes this
 * Deployment again (on_rs). Returns 1 when spec changed. */
static int scale_rs(struct dsync *x, const json_t *rs, long long n, const char *dir)
{
    long long old = rollout_spec(rs);
    char des[32], max[32];
    json_t *nrs;
    int changed_ann;

    snprintf(des, sizeof des, "%lld", x->R);
    snprintf(max, sizeof max, "%lld", x->R + rollout_max_surge(x->d, x->R));
    changed_ann = strcmp(jx_annotation(rs, A_DESIRED) ?: "", des) != 0 ||
                  strcmp(jx_annotation(rs, A_MAX) ?: "", max) != 0;
    if (old == n && !changed_ann)
        return 0;
    nrs = json_deep_copy(rs);
    jx_set(nrs, "spec.replicas", json_integer(n));
    set_ann(nrs, A_DESIRED, des);
    set_ann(nrs, A_MAX, max);
    if (rs_write(x, nrs, NULL) < 0) {
        json_decref(nrs);
        return 0;
    }
    json_decref(nrs);
    if (old != n) {
        if (!dir)
            dir = n > old ? "up" : "down";
        kc_event(ctl_kc(x->c), x->d, "Normal", "ScalingReplicaSet", COMP,
                  "Scaled %s replica set %s to %lld from %lld", dir, jx_str(rs, "metadata.name"), n,
                  old);
    }
    return old != n;
}

/* ---- claiming and the new ReplicaSet ---- */

static void rs_owner_patch(struct dsync *x, const json_t *rs, json_t *refs)
{
    json_t *p = json_pack("{s:{s:o}}", "metadata", "ownerReferences", refs), *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    struct err err;

    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, jx_str(rs, "metadata.name"),
                  "application/merge-patch+json", p, &o, &out, &err) < 0)
        ctl_log_err(x->c, "claim replicaset", x->ns, x->name, &err);
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

/* Collects owned ReplicaSets (adopting matching orphans, releasing non-matching ones), oldest
 * first, and picks the new one. It walks a copy of the namespace index: each claim is a write
 * whose event updates the index at once (and may free an emptied namespace's map). */
static int claim(struct dsync *x, struct labelsel *sel)
{
    json_t *m = json_copy(ctl_map_ns(x->c, RES_REPLICASET, x->ns)), *rs;
    int deleting = jx_get(x->d, "metadata.deletionTimestamp") != NULL;
    json_t **arr;
    const char *k;
    size_t n = 0;

    x->rss = json_array();
    if (!m)
        return 0;
    arr = xcalloc(json_object_size(m) + 1, sizeof *arr);
    json_object_foreach(m, k, rs)
    {
        int match;

        if (strcmp(jx_str(rs, "metadata.namespace") ?: "", x->ns) != 0)
            continue;
        match = labelsel_match(sel, jx_get(rs, "metadata.labels"));
        if (is_controlled_by(rs, x->d)) {
            if (!match && !deleting) {
                rs_owner_patch(x, rs, json_array());
                continue;
            }
            arr[n++] = rs;
        } else if (!ctl_controller_ref(rs) && match && !deleting) {
            json_t *refs = json_array();

            json_array_append_new(refs, owner_ref(x->d));
            rs_owner_patch(x, rs, refs);
            arr[n++] = kc_get(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns,
                               jx_str(rs, "metadata.name"))
                           ?: rs;
        }
    }
    qsort(arr, n, sizeof *arr, rollout_cmp_created);
    for (size_t i = 0; i < n; i++) {
        json_array_append(x->rss, arr[i]);
        if (!x->nrs &&
            template_equal(jx_get(arr[i], "spec.template"), jx_get(x->d, "spec.template")))
            x->nrs = json_array_get(x->rss, json_array_size(x->rss) - 1);
    }
    free(arr);
    json_decref(m);
    return 0;
}

static int skip_annotation(const char *k)
{
    return !strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") || !strcmp(k, A_REV) ||
           !strcmp(k, A_REVHIST) || !strcmp(k, A_DESIRED) || !strcmp(k, A_MAX) ||
           !strcmp(k, "deprecated.deployment.rollback.to") || !strcmp(k, CFG_A_OBSERVED);
}

/* Copies D's annotations onto rs (additive); returns 1 when something changed. */
static int copy_annotations(const json_t *d, json_t *rs)
{
    json_t *da = jx_get(d, "metadata.annotations"), *v;
    const char *k;
    int changed = 0;

    json_object_foreach(da, k, v)
    {
        json_t *ra;

        if (skip_annotation(k))
            continue;
        ra = jx_obj(rs, "metadata.annotations");
        if (!json_equal(json_object_get(ra, k), v)) {
            json_object_set(ra, k, v);
            changed = 1;
        }
    }
    return changed;
}

static long long max_old_revision(struct dsync *x)
{
    long long m = 0;

    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (!is_new(x, rs_at(x, i)) && revision_of(rs_at(x, i)) > m)
            m = revision_of(rs_at(x, i));
    return m;
}

/* Writes nd (taken) through the Deployment's status subresource and keeps x->d current. */
static void d_write_status(struct dsync *x, json_t *nd, const char *what)
{
    struct kc_wopts o = {.grace = -1, .status = 1};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    if (kc_update(ctl_kc(x->c), kc_resource(RES_DEPLOYMENT), x->ns, x->name, nd, &o, &out,
                   &err) == 0) {
        json_decref(x->d);
        x->d = out;
    } else {
        ctl_log_err(x->c, what, x->ns, x->name, &err);
    }
    json_decref(nd);
    err_release(&err);
}

static void d_set_revision(struct dsync *x, long long rev)
{
    char s[32];

    snprintf(s, sizeof s, "%lld", rev);
    if (strcmp(jx_annotation(x->d, A_REV) ?: "", s) != 0) {
        json_t *nd = json_deep_copy(x->d);

        set_ann(nd, A_REV, s);
        /* Upstream writes the revision through UpdateStatus, so it does not bump generation. */
        d_write_status(x, nd, "revision annotation");
    }
}

static void status_progressing(json_t *st, const char *status, const char *reason, const char *msg);
static void status_write(struct dsync *x, json_t *st);

/* Creates the new ReplicaSet at revision want (rev is its text), sized by the strategy; an
 * existing one of the same name is adopted when it has our template, else collisionCount
 * grows and the Deployment is synced again. */
static int create_new_rs(struct dsync *x, long long want, const char *rev)
{
    long long cc = jx_int(x->d, "status.collisionCount", -1);
    json_t *tmpl = json_deep_copy(jx_get(x->d, "spec.template")), *rs, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    struct rollout r;
    char hash[16], name[300], des[32], max[32];
    struct err err;
    long long n;
    int rc;

    template_hash(tmpl, cc, hash);
    snprintf(name, sizeof name, "%s-%s", x->name, hash);
    json_object_set_new(jx_obj(tmpl, "metadata.labels"), "pod-template-hash", json_string(hash));
    rs = json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:[o]},s:{s:O,s:O}}", "apiVersion", "apps/v1", "kind",
                   "ReplicaSet", "metadata", "name", name, "namespace", x->ns, "labels",
                   jx_get(tmpl, "metadata.labels"), "ownerReferences", owner_ref(x->d), "spec",
                   "selector", jx_get(x->d, "spec.selector"), "template", tmpl);
    json_decref(tmpl);
    jx_set(rs, "spec.selector", json_deep_copy(jx_get(x->d, "spec.selector")));
    json_object_set_new(jx_obj(rs, "spec.selector.matchLabels"), "pod-template-hash",
                        json_string(hash));
    jx_set(rs, "spec.minReadySeconds", json_integer(jx_int(x->d, "spec.minReadySeconds", 0)));
    copy_annotations(x->d, rs);
    snprintf(des, sizeof des, "%lld", x->R);
    snprintf(max, sizeof max, "%lld", x->R + rollout_max_surge(x->d, x->R));
    set_ann(rs, A_REV, rev);
    set_ann(rs, A_DESIRED, des);
    set_ann(rs, A_MAX, max);
    r = view(x);
    n = rollout_new_rs_replicas(&r);
    jx_set(rs, "spec.replicas", json_integer(n));
    err_init(&err);
    rc = kc_create(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, rs, &o, &out, &err);
    json_decref(rs);
    if (rc == -E_ALREADY_EXISTS) {
        json_t *ex = kc_get(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns, name);

        if (ex && is_controlled_by(ex, x->d) &&
            template_equal(jx_get(ex, "spec.template"), jx_get(x->d, "spec.template"))) {
            json_array_append(x->rss, ex);
            x->nrs = json_array_get(x->rss, json_array_size(x->rss) - 1);
        } else {
            json_t *st = json_deep_copy(jx_get(x->d, "status"));

            if (!st)
                st = json_object();
            json_object_set_new(st, "collisionCount", json_integer(cc < 0 ? 1 : cc + 1));
            status_write(x, st);
            ctl_enqueue(x->c, x->ns, x->name);
        }
        err_release(&err);
        return -1;
    }
    if (rc < 0) {
        json_t *st = json_deep_copy(jx_get(x->d, "status"));
        char msg[1400];

        if (!st)
            st = json_object();
        snprintf(msg, sizeof msg, "Failed to create new replica set \"%s\": %s", name, err.msg);
        kc_event(ctl_kc(x->c), x->d, "Warning", "ReplicaSetCreateError", COMP, "%s", msg);
        if (x->deadline >= 0)
            status_progressing(st, "False", "ReplicaSetCreateError", msg);
        status_write(x, st);
        err_release(&err);
        return -1;
    }
    json_array_append(x->rss, out);
    x->nrs = json_array_get(x->rss, json_array_size(x->rss) - 1);
    if (n > 0)
        kc_event(ctl_kc(x->c), x->d, "Normal", "ScalingReplicaSet", COMP,
                  "Scaled up replica set %s to %lld", name, n);
    d_set_revision(x, want);
    if (x->deadline >= 0) {
        json_t *st = json_deep_copy(jx_get(x->d, "status"));
        char msg[400];

        if (!st)
            st = json_object();
        snprintf(msg, sizeof msg, "Created new replica set \"%s\"", name);
        status_progressing(st, "True", "NewReplicaSetCreated", msg);
        status_write(x, st);
    }
    json_decref(out);
    err_release(&err);
    return 0;
}

/* Syncs the new RS's revision and annotations, or creates it when create is set. */
static int sync_revision(struct dsync *x, int create)
{
    long long want = max_old_revision(x) + 1;
    char rev[32];

    snprintf(rev, sizeof rev, "%lld", want);
    if (x->nrs) {
        json_t *rs = json_deep_copy(x->nrs);
        int changed = copy_annotations(x->d, rs);
        long long have = revision_of(rs);

        if (have < want) {
            if (jx_annotation(rs, A_REV)) {
                const char *h = jx_annotation(rs, A_REVHIST);
                char *nh = h && *h ? xasprintf("%s,%s", h, jx_annotation(rs, A_REV))
                                   : xstrdup(jx_annotation(rs, A_REV));

                set_ann(rs, A_REVHIST, nh);
                free(nh);
            }
            set_ann(rs, A_REV, rev);
            changed = 1;
        }
        if (jx_int(rs, "spec.minReadySeconds", 0) != jx_int(x->d, "spec.minReadySeconds", 0)) {
            jx_set(rs, "spec.minReadySeconds",
                   json_integer(jx_int(x->d, "spec.minReadySeconds", 0)));
            changed = 1;
        }
        if (changed)
            rs_write(x, rs, NULL);
        json_decref(rs);
        d_set_revision(x, revision_of(x->nrs));
        if (x->deadline >= 0 && !cond_get(x->d, "Progressing")) {
            json_t *st = json_deep_copy(jx_get(x->d, "status"));
            char msg[400];

            if (!st)
                st = json_object();
            snprintf(msg, sizeof msg, "Found new replica set \"%s\"",
                     jx_str(x->nrs, "metadata.name"));
            status_progressing(st, "True", "FoundNewReplicaSet", msg);
            status_write(x, st);
        }
        return 0;
    }
    if (!create)
        return 0;
    return create_new_rs(x, want, rev);
}

/* ---- rolling update and scaling: rollout.c decides, these write ---- */

static int reconcile_new(struct dsync *x)
{
    struct rollout r = view(x);

    if (rollout_spec(x->nrs) == x->R)
        return 0;
    return scale_rs(x, x->nrs, rollout_reconcile_new(&r), NULL);
}

/* Applies steps in order; each scales the cached copy of its ReplicaSet. */
static int apply_steps(struct dsync *x, const struct rollout_step *st, size_t n, const char *dir)
{
    int changed = 0;

    for (size_t i = 0; i < n; i++)
        changed |= scale_rs(x, rs_at(x, st[i].i), st[i].to, dir);
    return changed;
}

static int reconcile_old(struct dsync *x)
{
    struct rollout r = view(x);
    struct rollout_step *st = xcalloc(2 * json_array_size(x->rss) + 1, sizeof *st);
    size_t n = rollout_reconcile_old(&r, st);

    apply_steps(x, st, n, NULL);
    free(st);
    return n > 0;
}

static void scale_all(struct dsync *x)
{
    struct rollout r = view(x);
    struct rollout_step *st = xcalloc(json_array_size(x->rss) + 1, sizeof *st);
    const char *dir;
    size_t n = rollout_scale(&r, st, &dir);

    apply_steps(x, st, n, dir);
    free(st);
}

/* ---- history ---- */

static int cmp_revision(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long rx = revision_of(x), ry = revision_of(y);

    if (rx != ry)
        return rx < ry ? -1 : 1;
    return rollout_cmp_created(a, b);
}

static void cleanup_history(struct dsync *x)
{
    long long limit = jx_int(x->d, "spec.revisionHistoryLimit", 10), diff;
    json_t *c[256];
    size_t n = 0;

    if (limit == NO_LIMIT)
        return;
    for (size_t i = 0; i < json_array_size(x->rss) && n < 256; i++) {
        json_t *rs = rs_at(x, i);

        if (!is_new(x, rs) && !jx_get(rs, "metadata.deletionTimestamp"))
            c[n++] = rs;
    }
    diff = (long long)n - limit;
    if (diff <= 0)
        return;
    qsort(c, n, sizeof *c, cmp_revision);
    for (long long i = 0; i < diff; i++) {
        json_t *rs = c[i], *out = NULL;
        struct kc_wopts o = {.grace = -1};
        struct err err;

        if (jx_int(rs, "status.replicas", 0) != 0 || rollout_spec(rs) != 0 ||
            jx_int(rs, "metadata.generation", 1) > jx_int(rs, "status.observedGeneration", 0))
            continue;
        err_init(&err);
        if (kc_delete(ctl_kc(x->c), kc_resource(RES_REPLICASET), x->ns,
                       jx_str(rs, "metadata.name"), &o, &out, &err) < 0)
            ctl_log_err(x->c, "history cleanup", x->ns, x->name, &err);
        json_decref(out);
        err_release(&err);
    }
}

/* ---- status ---- */

static void status_progressing(json_t *st, const char *status, const char *reason, const char *msg)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Progressing", "status", status,
                           "lastUpdateTime", ts, "lastTransitionTime", ts, "reason", reason,
                           "message", msg));
}

static void status_write(struct dsync *x, json_t *st)
{
    json_t *nd;

    if (json_equal(st, jx_get(x->d, "status"))) {
        json_decref(st);
        return;
    }
    nd = json_deep_copy(x->d);
    json_object_set_new(nd, "status", st);
    d_write_status(x, nd, "status update");
}

/* Counters and the Available condition; Progressing and ReplicaFailure are carried over. */
static json_t *status_calc(struct dsync *x)
{
    json_t *st = json_object(), *old = jx_get(x->d, "status"), *cs = jx_get(old, "conditions");
    long long replicas = 0, ready = 0, avail = 0, specs = 0, min_avail;
    char ts[32];

    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = rs_at(x, i);

        replicas += jx_int(rs, "status.replicas", 0);
        ready += jx_int(rs, "status.readyReplicas", 0);
        avail += rollout_avail(rs);
        specs += rollout_spec(rs);
    }
    json_object_set_new(st, "observedGeneration",
                        json_integer(jx_int(x->d, "metadata.generation", 1)));
    json_object_set_new(st, "replicas", json_integer(replicas));
    json_object_set_new(st, "updatedReplicas",
                        json_integer(x->nrs ? jx_int(x->nrs, "status.replicas", 0) : 0));
    json_object_set_new(st, "readyReplicas", json_integer(ready));
    json_object_set_new(st, "availableReplicas", json_integer(avail));
    json_object_set_new(st, "unavailableReplicas",
                        json_integer(specs - avail > 0 ? specs - avail : 0));
    if (json_object_get(old, "collisionCount"))
        json_object_set(st, "collisionCount", json_object_get(old, "collisionCount"));
    /* Zero counters are omitted, as the Go types' omitempty does. */
    {
        static const char *const ks[] = {"replicas", "updatedReplicas", "readyReplicas",
                                         "availableReplicas", "unavailableReplicas"};

        for (size_t i = 0; i < 5; i++)
            if (jx_int(st, ks[i], 0) == 0)
                json_object_del(st, ks[i]);
    }
    if (json_is_array(cs))
        json_object_set_new(st, "conditions", json_deep_copy(cs));
    if (x->surge_cond)
        cond_set(st, json_incref(x->surge_cond));
    else if (x->surge_clear)
        cond_del(st, SURGE_COND);
    time_rfc3339(time(NULL), ts);
    min_avail = x->R - rollout_max_unavailable(x->d, x->R);
    if (avail >= min_avail)
        cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Available", "status", "True",
                               "lastUpdateTime", ts, "lastTransitionTime", ts, "reason",
                               "MinimumReplicasAvailable", "message",
                               "Deployment has minimum availability."));
    else
        cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Available", "status", "False",
                               "lastUpdateTime", ts, "lastTransitionTime", ts, "reason",
                               "MinimumReplicasUnavailable", "message",
                               "Deployment does not have minimum availability."));
    if (x->deadline < 0)
        cond_del(st, "Progressing");
    return st;
}

static int complete(struct dsync *x, const json_t *st)
{
    return jx_int(st, "updatedReplicas", 0) == x->R && jx_int(st, "replicas", 0) == x->R &&
           jx_int(st, "availableReplicas", 0) == x->R &&
           jx_int(st, "observedGeneration", 0) >= jx_int(x->d, "metadata.generation", 1);
}

static void replica_failure(struct dsync *x, json_t *st)
{
    json_t *f = x->nrs ? cond_get(x->nrs, "ReplicaFailure") : NULL;

    for (size_t i = 0; !f && i < json_array_size(x->rss); i++)
        f = cond_get(rs_at(x, i), "ReplicaFailure");
    if (f) {
        const char *t = jx_str(f, "lastTransitionTime");

        cond_set(st, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "ReplicaFailure", "status",
                               jx_str(f, "status") ?: "True", "lastUpdateTime", t ?: "",
                               "lastTransitionTime", t ?: "", "reason", jx_str(f, "reason") ?: "",
                               "message", jx_str(f, "message") ?: ""));
    } else {
        cond_del(st, "ReplicaFailure");
    }
}

static void sync_rollout_status(struct dsync *x)
{
    json_t *st = status_calc(x), *old = jx_get(x->d, "status"),
           *cur = cond_get(x->d, "Progressing");
    const char *cur_reason = cur ? jx_str(cur, "reason") : NULL;
    char msg[400], who[300];
    int already = cur_reason && !strcmp(cur_reason, "NewReplicaSetAvailable") &&
                  jx_int(st, "replicas", 0) == jx_int(st, "updatedReplicas", 0);
    long long requeue = -1;

    if (x->nrs)
        snprintf(who, sizeof who, "ReplicaSet \"%s\"", jx_str(x->nrs, "metadata.name"));
    else
        snprintf(who, sizeof who, "Deployment \"%s\"", x->name);
    if (x->deadline >= 0 && !already) {
        long long ou = jx_int(old, "updatedReplicas", 0), nu = jx_int(st, "updatedReplicas", 0);
        long long oold = jx_int(old, "replicas", 0) - ou, nold = jx_int(st, "replicas", 0) - nu;
        int progressed = nu > ou || nold < oold ||
                         jx_int(st, "readyReplicas", 0) > jx_int(old, "readyReplicas", 0) ||
                         jx_int(st, "availableReplicas", 0) > jx_int(old, "availableReplicas", 0);
        json_t *pc = cond_get(x->d, "Progressing");
        time_t lu = pc ? time_parse(jx_str(pc, "lastUpdateTime")) : -1;
        int timed_out = pc && (!strcmp(jx_str(pc, "reason") ?: "", "ProgressDeadlineExceeded") ||
                               (strcmp(jx_str(pc, "reason") ?: "", "NewReplicaSetAvailable") != 0 &&
                                lu >= 0 && lu + x->deadline < time(NULL)));

        if (complete(x, st)) {
            snprintf(msg, sizeof msg, "%s has successfully progressed.", who);
            status_progressing(st, "True", "NewReplicaSetAvailable", msg);
        } else if (progressed) {
            char ts[32];
            json_t *c;

            snprintf(msg, sizeof msg, "%s is progressing.", who);
            time_rfc3339(time(NULL), ts);
            c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Progressing", "status", "True",
                          "lastUpdateTime", ts, "lastTransitionTime", ts, "reason",
                          "ReplicaSetUpdated", "message", msg);
            if (pc && !strcmp(jx_str(pc, "status") ?: "", "True"))
                json_object_set(c, "lastTransitionTime", json_object_get(pc, "lastTransitionTime"));
            cond_del(st, "Progressing");
            json_array_append_new(json_object_get(st, "conditions"), c);
            requeue = x->deadline;
        } else if (timed_out) {
            snprintf(msg, sizeof msg, "%s has timed out progressing.", who);
            status_progressing(st, "False", "ProgressDeadlineExceeded", msg);
        } else if (pc && lu >= 0) {
            requeue = lu + x->deadline - time(NULL) + 1;
        }
    }
    replica_failure(x, st);
    status_write(x, st);
    if (requeue > 0)
        ctl_enqueue_after(x->c, x->ns, x->name, requeue * 1000);
}

/* Scale-only and paused passes: counters and Available only. */
static void sync_status_only(struct dsync *x)
{
    json_t *st = status_calc(x);

    status_write(x, st);
}

static void check_paused(struct dsync *x)
{
    json_t *pc = cond_get(x->d, "Progressing"), *st;
    const char *reason = pc ? jx_str(pc, "reason") : "";
    int paused = jx_bool(x->d, "spec.paused");

    if (x->deadline < 0 || (reason && !strcmp(reason, "ProgressDeadlineExceeded")))
        return;
    if (paused && strcmp(reason ?: "", "DeploymentPaused") != 0) {
        st = json_deep_copy(jx_get(x->d, "status"));
        if (!st)
            st = json_object();
        status_progressing(st, "Unknown", "DeploymentPaused", "Deployment is paused");
        status_write(x, st);
    } else if (!paused && reason && !strcmp(reason, "DeploymentPaused")) {
        st = json_deep_copy(jx_get(x->d, "status"));
        status_progressing(st, "Unknown", "DeploymentResumed", "Deployment is resumed");
        status_write(x, st);
    }
}

static int scaling_event(struct dsync *x)
{
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = rs_at(x, i);
        const char *des = jx_annotation(rs, A_DESIRED);

        if (rollout_spec(rs) == 0 || !des)
            continue;
        if (atoll(des) != x->R)
            return 1;
    }
    return 0;
}

static int pods_of_old_running(struct dsync *x)
{
    json_t *m = ctl_map(x->c, RES_POD), *p;
    const char *k;

    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = rs_at(x, i);

        if (is_new(x, rs))
            continue;
        if (jx_int(rs, "status.replicas", 0) > 0)
            return 1;
        if (m)
            json_object_foreach(m, k, p)
            {
                const char *ph = jx_str(p, "status.phase");

                if (is_controlled_by(p, rs) &&
                    (!ph || (strcmp(ph, "Succeeded") != 0 && strcmp(ph, "Failed") != 0)))
                    return 1;
            }
    }
    return 0;
}

static void rollout_recreate(struct dsync *x)
{
    int any = 0;

    sync_revision(x, 0);
    for (size_t i = 0; i < json_array_size(x->rss); i++) {
        json_t *rs = rs_at(x, i);

        if (!is_new(x, rs) && rollout_spec(rs) > 0) {
            scale_rs(x, rs, 0, NULL);
            any = 1;
        }
    }
    if (any || pods_of_old_running(x)) {
        sync_rollout_status(x);
        return;
    }
    if (!x->nrs && sync_revision(x, 1) < 0)
        return;
    if (x->nrs)
        scale_rs(x, x->nrs, x->R, NULL);
    if (complete(x, jx_get(x->d, "status")))
        cleanup_history(x);
    sync_rollout_status(x);
}

/* GPU-safe surge (surge.h): a surge pod that can never be scheduled is reported at once, and
 * a Deployment that opted in is rolled one pod at a time while its budgets allow it. The
 * fallback sticks until the old pods are gone; the condition goes with them. */
static void surge_check(struct dsync *x)
{
    struct surge_verdict v;
    const json_t *cur = cond_get(x->d, SURGE_COND);
    const char *was = cur ? jx_str(cur, "reason") : NULL, *opt;
    int optin, old_left = 0;

    opt = jx_annotation(x->d, SURGE_A_FALLBACK);
    optin = opt && !strcmp(opt, "true");
    for (size_t i = 0; i < json_array_size(x->rss); i++)
        if (!is_new(x, rs_at(x, i)) && rollout_spec(rs_at(x, i)) > 0)
            old_left = 1;
    if (optin && old_left && was && !strcmp(was, "SurgeFallback")) {
        x->eff = surge_fallback_spec(x->d);
        return;
    }
    if (rollout_max_surge(x->d, x->R) == 0 || !old_left ||
        !surge_assess(x->c, x->d, "Deployment", x->nrs, &v)) {
        x->surge_clear = cur != NULL;
        return;
    }
    if (v.recheck)
        ctl_enqueue_after(x->c, x->ns, x->name, 5000); /* budgets are not watched here */
    if (v.fallback)
        x->eff = surge_fallback_spec(x->d);
    if (!was || strcmp(was, v.reason))
        kc_event(ctl_kc(x->c), x->d, x->eff ? "Normal" : "Warning", SURGE_COND, COMP, "%s",
                  v.msg);
    x->surge_cond = surge_condition(&v);
}

static void rollout_rolling(struct dsync *x)
{
    json_t *before = json_deep_copy(jx_get(x->d, "status"));

    if (!before)
        before = json_object();
    if (sync_revision(x, 1) < 0 || !x->nrs) {
        json_decref(before);
        return;
    }
    surge_check(x);
    if (reconcile_new(x) || reconcile_old(x)) {
        sync_rollout_status(x);
        json_decref(before);
        return;
    }
    if (complete(x, before))
        cleanup_history(x);
    json_decref(before);
    sync_rollout_status(x);
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *d = kc_get(ctl_kc(c), kc_resource(RES_DEPLOYMENT), ns, name);
    struct labelsel *sel = NULL;
    struct dsync x = {0};
    struct err err;

    if (!d)
        return;
    err_init(&err);
    x.c = c;
    x.d = json_incref(d);
    snprintf(x.nsbuf, sizeof x.nsbuf, "%s", ns);
    snprintf(x.name, sizeof x.name, "%s", name);
    x.ns = x.nsbuf;
    x.R = jx_int(d, "spec.replicas", 1);
    x.deadline = jx_int(d, "spec.progressDeadlineSeconds", 600);
    if (x.deadline == NO_LIMIT)
        x.deadline = -1;
    if (labelsel_from_object(jx_get(d, "spec.selector"), &sel, &err) < 0 || labelsel_empty(sel)) {
        kc_event(ctl_kc(c), d, "Warning", "SelectingAll", COMP,
                  "This deployment is selecting all pods. A non-empty selector is required.");
        goto out;
    }
    claim(&x, sel);
    if (jx_get(x.d, "metadata.deletionTimestamp")) {
        sync_status_only(&x);
        goto out;
    }
    check_paused(&x);
    if (jx_bool(x.d, "spec.paused") || scaling_event(&x)) {
        sync_revision(&x, 0);
        scale_all(&x);
        if (jx_bool(x.d, "spec.paused"))
            cleanup_history(&x);
        sync_status_only(&x);
        goto out;
    }
    if (config_rollout_pending(x.d))
        goto out; /* the config-rollout controller rewrites the template first */
    if (rollout_is_rolling(x.d))
        rollout_rolling(&x);
    else
        rollout_recreate(&x);
out:
    if (sel)
        labelsel_free(sel);
    json_decref(x.rss);
    json_decref(x.d);
    json_decref(x.eff);
    json_decref(x.surge_cond);
    err_release(&err);
}

static void on_rs(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                  json_t *old, void *ctx)
{
    ctl_enqueue_owner(c, obj, "Deployment");
    if (!ctl_controller_ref(obj)) {
        /* An orphan ReplicaSet may be adopted by any Deployment of its namespace. */
        json_t *m = ctl_map(c, RES_DEPLOYMENT), *d;
        const char *k;

        if (m)
            json_object_foreach(m, k, d) if (!strcmp(jx_str(d, "metadata.namespace") ?: "",
                                                     jx_str(obj, "metadata.namespace") ?: ""))
                ctl_enqueue(c, jx_str(d, "metadata.namespace"), jx_str(d, "metadata.name"));
    }
}

static int pod_unschedulable(const json_t *pod)
{
    const json_t *sc = cond_get(pod, "PodScheduled");

    return sc && !strcmp(jx_str(sc, "reason") ?: "", "Unschedulable");
}

static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    /* Recreate waits for old pods to be gone: their deletion must wake the Deployment. So
     * must a pod the scheduler just gave up on (GPU-safe surge reports it at once). */
    json_t *ref = ctl_controller_ref(obj), *rs;
    int unsched = !strcmp(type, "MODIFIED") && pod_unschedulable(obj) && !pod_unschedulable(old);

    if (!ref || (strcmp(type, "DELETED") != 0 && !unsched) ||
        strcmp(jx_str(ref, "kind") ?: "", "ReplicaSet") != 0)
        return;
    rs = kc_get(ctl_kc(c), kc_resource(RES_REPLICASET), jx_str(obj, "metadata.namespace"),
                 jx_str(ref, "name"));
    if (rs)
        ctl_enqueue_owner(c, rs, "Deployment");
}

struct ctl *ctrl_deployment_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "deployment", sync, NULL);

    ctl_watch(c, RES_DEPLOYMENT, NULL);
    ctl_watch(c, RES_REPLICASET, on_rs);
    ctl_watch(c, RES_POD, on_pod);
    ctl_start(c);
    return c;
}
