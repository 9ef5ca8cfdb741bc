/* ReplicaSet controller: claims pods (adopt/release by selector and ownerReferences), creates
 * and deletes pods to match spec.replicas with upstream's deletion ranking, and keeps status
 * (replicas, fullyLabeled, ready, available with minReadySeconds, observedGeneration,
 * ReplicaFailure) current, requeueing itself when a pod is about to become available. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/decide.h"
#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

#define COMP "replicaset-controller"

static int labels_superset(const json_t *labels, const json_t *want)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)want, k, v)
    {
        const char *have = json_string_value(json_object_get(labels, k));

        if (!have || strcmp(have, json_string_value(v) ?: "") != 0)
            return 0;
    }
    return 1;
}

static int phase_rank(const json_t *p)
{
    const char *ph = jx_str(p, "status.phase");

    if (!ph || !strcmp(ph, "Pending"))
        return 0;
    if (!strcmp(ph, "Unknown"))
        return 1;
    return 2;
}

static long long max_restarts(const json_t *p)
{
    json_t *cs = jx_get(p, "status.containerStatuses");
    long long m = 0;

    for (size_t i = 0; i < json_array_size(cs); i++) {
        long long r = jx_int(json_array_get(cs, i), "restartCount", 0);

        if (r > m)
            m = r;
    }
    return m;
}

static long long deletion_cost(const json_t *p)
{
    const char *c = jx_annotation(p, "controller.kubernetes.io/pod-deletion-cost");

    return c ? atoll(c) : 0;
}

/* Upstream's ActivePodsWithRanks order: the pod to delete first sorts first. */
static int cmp_victims(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int sx = jx_str(x, "spec.nodeName") != NULL, sy = jx_str(y, "spec.nodeName") != NULL;
    long long cx, cy;
    time_t tx, ty;

    if (sx != sy)
        return sx - sy;
    if (phase_rank(x) != phase_rank(y))
        return phase_rank(x) - phase_rank(y);
    if (pod_is_ready(x) != pod_is_ready(y))
        return pod_is_ready(x) - pod_is_ready(y);
    cx = deletion_cost(x);
    cy = deletion_cost(y);
    if (cx != cy)
        return cx < cy ? -1 : 1;
    if (pod_is_ready(x) && pod_is_ready(y)) {
        tx = time_parse(jx_str(cond_get(x, "Ready"), "lastTransitionTime"));
        ty = time_parse(jx_str(cond_get(y, "Ready"), "lastTransitionTime"));
        if (tx != ty)
            return tx > ty ? -1 : 1; /* more recently ready first */
    }
    if (max_restarts(x) != max_restarts(y))
        return max_restarts(x) > max_restarts(y) ? -1 : 1;
    tx = time_parse(jx_str(x, "metadata.creationTimestamp"));
    ty = time_parse(jx_str(y, "metadata.creationTimestamp"));
    if (tx != ty)
        return tx > ty ? -1 : 1; /* newer first */
    return strcmp(jx_str(x, "metadata.uid") ?: "", jx_str(y, "metadata.uid") ?: "");
}

void rs_victims_sort(json_t **pods, size_t n)
{
    if (n > 1)
        qsort(pods, n, sizeof *pods, cmp_victims);
}

static void pod_owner_patch(struct ctl *c, const json_t *pod, json_t *refs)
{
    json_t *p = json_pack("{s:{s:o}}", "metadata", "ownerReferences", refs), *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    struct err err;

    err_init(&err);
    if (kc_patch(ctl_kc(c), kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
                 jx_str(pod, "metadata.name"), "application/merge-patch+json", p, &o, &out,
                 &err) < 0)
        ctl_log_err(c, "claim pod", jx_str(pod, "metadata.namespace"), jx_str(pod, "metadata.name"),
                    &err);
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

/* Returns the active pods owned by rs (adopting orphans that match, releasing non-matching),
 * borrowed from the informer. It walks a copy of the namespace index: each claim is a write
 * whose event updates the index at once (and may free an emptied namespace's map). */
static size_t claim_pods(struct ctl *c, const json_t *rs, struct labelsel *sel, json_t ***out)
{
    const char *ns = jx_str(rs, "metadata.namespace"), *k;
    json_t *m = json_copy(ctl_map_ns(c, RES_POD, ns)), *p;
    int deleting = jx_get(rs, "metadata.deletionTimestamp") != NULL;
    json_t **arr = xcalloc(m ? json_object_size(m) + 1 : 1, sizeof *arr);
    size_t n = 0;

    if (m)
        json_object_foreach(m, k, p)
        {
            int match;

            if (strcmp(jx_str(p, "metadata.namespace") ?: "", ns) != 0)
                continue;
            match = labelsel_match(sel, jx_get(p, "metadata.labels"));
            if (is_controlled_by(p, rs)) {
                if (!match && !deleting) {
                    pod_owner_patch(c, p, json_array());
                    continue;
                }
            } else if (!ctl_controller_ref(p) && match && !deleting && pod_is_active(p)) {
                json_t *refs = json_deep_copy(jx_get(p, "metadata.ownerReferences"));

                if (!json_is_array(refs)) {
                    json_decref(refs);
                    refs = json_array();
                }
                json_array_append_new(refs, owner_ref(rs));
                pod_owner_patch(c, p, refs);
                /* The copy's object is the one before the patch: take the informer's. */
                if (!(p = kc_get(ctl_kc(c), kc_resource(RES_POD), ns, jx_str(p, "metadata.name"))))
                    continue;
            } else {
                continue;
            }
            if (pod_is_active(p))
                arr[n++] = p;
        }
    json_decref(m);
    *out = arr;
    return n;
}

static int create_pod(struct ctl *c, const json_t *rs, struct err *err)
{
    return pod_create_from_template(ctl_kc(c), rs, COMP, err);
}

static int delete_pod(struct ctl *c, const json_t *rs, const json_t *pod, struct err *err)
{
    struct kc_wopts o = {.grace = -1};
    json_t *out = NULL;
    int rc = kc_delete(ctl_kc(c), kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
                       jx_str(pod, "metadata.name"), &o, &out, err);

    json_decref(out);
    return pod_delete_outcome(ctl_kc(c), rs, jx_str(pod, "metadata.name"), rc, err, COMP);
}

static void write_status(struct ctl *c, const json_t *rs, json_t *pods[], size_t n,
                         const char *fail_reason, const char *fail_msg, long long *requeue)
{
    long long min_ready = jx_int(rs, "spec.minReadySeconds", 0), ready = 0, avail = 0, full = 0;
    json_t *tl = jx_get(rs, "spec.template.metadata.labels");
    json_t *st = json_deep_copy(jx_get(rs, "status"));
    time_t now = time(NULL);
    char ts[32];

    if (!st)
        st = json_object();
    for (size_t i = 0; i < n; i++) {
        long long in = pod_available_in(pods[i], min_ready, now);

        if (labels_superset(jx_get(pods[i], "metadata.labels"), tl))
            full++;
        if (pod_is_ready(pods[i]))
            ready++;
        if (in == 0)
            avail++;
        else if (in > 0 && (*requeue < 0 || in < *requeue))
            *requeue = in;
    }
    json_object_set_new(st, "replicas", json_integer((json_int_t)n));
    /* As the Go type's omitempty: zero counters other than replicas are absent. */
    json_object_del(st, "fullyLabeledReplicas");
    json_object_del(st, "readyReplicas");
    json_object_del(st, "availableReplicas");
    if (full)
        json_object_set_new(st, "fullyLabeledReplicas", json_integer(full));
    if (ready)
        json_object_set_new(st, "readyReplicas", json_integer(ready));
    if (avail)
        json_object_set_new(st, "availableReplicas", json_integer(avail));
    json_object_set_new(st, "observedGeneration",
                        json_integer(jx_int(rs, "metadata.generation", 1)));
    if (fail_reason) {
        time_rfc3339(now, ts);
        cond_set(st,
                 json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "ReplicaFailure", "status", "True",
                           "reason", fail_reason, "message", fail_msg, "lastTransitionTime", ts));
    } else {
        cond_del(st, "ReplicaFailure");
        if (json_array_size(json_object_get(st, "conditions")) == 0)
            json_object_del(st, "conditions");
    }
    ctl_status_write(c, RES_REPLICASET, rs, jx_get(rs, "status"), st, NULL);
}

/* Brings one ReplicaSet's pods to spec.replicas and writes its status. */
static void rs_sync(struct ctl *c, const char *ns, const char *name)
{
    json_t *rs = kc_get(ctl_kc(c), kc_resource(RES_REPLICASET), ns, name), **pods = NULL, *cur;
    struct labelsel *sel = NULL;
    long long want, requeue = -1;
    const char *fail_reason = NULL;
    char fail_msg[1100] = "";
    struct err err;
    size_t n;

    if (!rs)
        return;
    json_incref(rs);
    err_init(&err);
    if (labelsel_from_object(jx_get(rs, "spec.selector"), &sel, &err) < 0)
        goto out;
    n = claim_pods(c, rs, sel, &pods);
    want = jx_int(rs, "spec.replicas", 1);
    if (!jx_get(rs, "metadata.deletionTimestamp")) {
        if ((long long)n < want) {
            for (long long i = 0; i < want - (long long)n && i < 500; i++) {
                err_release(&err);
                if (create_pod(c, rs, &err) < 0) {
                    fail_reason = "FailedCreate";
                    snprintf(fail_msg, sizeof fail_msg, "%s", err.msg);
                    break;
                }
            }
        } else if ((long long)n > want) {
            rs_victims_sort(pods, n);
            for (long long i = 0; i < (long long)n - want && i < 500; i++) {
                err_release(&err);
                if (delete_pod(c, rs, pods[i], &err) < 0) {
                    fail_reason = "FailedDelete";
                    snprintf(fail_msg, sizeof fail_msg, "%s", err.msg);
                    break;
                }
            }
        }
    }
    cur = kc_get(ctl_kc(c), kc_resource(RES_REPLICASET), ns, name);
    if (!cur)
        goto out;
    free(pods);
    n = claim_pods(c, cur, sel, &pods);
    write_status(c, cur, pods, n, fail_reason, fail_msg, &requeue);
    if (requeue > 0)
        ctl_enqueue_after(c, ns, name, requeue * 1000);
out:
    free(pods);
    if (sel)
        labelsel_free(sel);
    err_release(&err);
    json_decref(rs);
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    rs_sync(c, ns, name);
}

static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    ctl_enqueue_owner(c, obj, "ReplicaSet");
    if (old)
        ctl_enqueue_owner(c, old, "ReplicaSet");
    if (!ctl_controller_ref(obj) && strcmp(type, "DELETED") != 0) {
        /* An orphan: every ReplicaSet of its namespace whose selector matches may adopt it. */
        json_t *m = ctl_map(c, RES_REPLICASET), *rs;
        const char *k;

        if (m)
            json_object_foreach(m, k, rs)
            {
                struct labelsel *sel = NULL;
                struct err err;

                if (strcmp(jx_str(rs, "metadata.namespace") ?: "",
                           jx_str(obj, "metadata.namespace") ?: ""))
                    continue;
                err_init(&err);
                if (labelsel_from_object(jx_get(rs, "spec.selector"), &sel, &err) == 0 &&
                    labelsel_match(sel, jx_get(obj, "metadata.labels")))
                    ctl_enqueue(c, jx_str(rs, "metadata.namespace"), jx_str(rs, "metadata.name"));
                if (sel)
                    labelsel_free(sel);
                err_release(&err);
            }
    }
}

struct ctl *ctrl_replicaset_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "replicaset", sync, NULL);

    ctl_watch(c, RES_REPLICASET, NULL);
    ctl_watch(c, RES_POD, on_pod);
    ctl_start(c);
    return c;
}
