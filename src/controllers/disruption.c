/* The disruption controller and the eviction subresource: PodDisruptionBudget status
 * (expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods and the
 * DisruptionAllowed condition) and the budget check that decides whether
 * POST pods/<p>/eviction deletes the pod (201) or refuses it (429). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

/* How long an evicted pod listed in status.disruptedPods is presumed on its way out. */
#define DISRUPTED_TIMEOUT_S 120

struct pdb_calc {
    long long expected, desired, healthy, allowed;
    json_t *disrupted; /* pod name -> timestamp still honoured */
    long long next_s;  /* seconds until the earliest disruptedPods entry expires, 0 = none */
};

/* An IntOrString value: *pct 1 for "N%". Returns -1 when it is neither. */
static int pdb_intstr_parse(const json_t *v, long long *n, int *pct)
{
    const char *s;
    char *end;

    *pct = 0;
    if (json_is_integer(v)) {
        *n = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    *n = strtoll(s, &end, 10);
    if (end == s || strcmp(end, "%") != 0)
        return -1;
    *pct = 1;
    return 0;
}

/* intstr.GetScaledValueFromIntOrPercent. */
static long long pdb_intstr_scaled(long long n, int pct, long long total, int round_up)
{
    if (!pct)
        return n;
    return round_up ? (n * total + 99) / 100 : n * total / 100;
}

/* The scale of a pod's controller: owning ReplicaSet, or the Deployment owning that
 * ReplicaSet. Adds it once per controller uid to *sum. -1 with err when it cannot be found. */
static int pod_controller_scale(struct ctl *c, const json_t *pdb, const json_t *pod, json_t *seen,
                                long long *sum, struct err *err)
{
    const char *ns = jx_str(pod, "metadata.namespace");
    json_t *ref = ctl_controller_ref(pod), *rs, *dref, *d;

    if (!ref) {
        /* Upstream refuses to guess a scale for a pod nobody manages: the budget fails to
         * sync (SyncFailed, disruptionsAllowed 0) until the pod goes or gets a controller. */
        err_set(err, -E_INVALID, "found no controller ref for pod \"%s\"",
                jx_str(pod, "metadata.name"));
        kc_event(ctl_kc(c), pdb, "Warning", "NoControllerRef", "controllermanager", "%s", err->msg);
        return err->code;
    }
    rs = strcmp(jx_str(ref, "kind") ?: "", "ReplicaSet") == 0
             ? kc_get(ctl_kc(c), kc_resource(RES_REPLICASET), ns, jx_str(ref, "name") ?: "")
             : NULL;
    if (!rs || strcmp(jx_str(rs, "metadata.uid") ?: "", jx_str(ref, "uid") ?: "") != 0)
        return err_set(err, -E_NOT_FOUND, "found no controllers for pod \"%s\"",
                       jx_str(pod, "metadata.name"));
    dref = ctl_controller_ref(rs);
    d = dref && strcmp(jx_str(dref, "kind") ?: "", "Deployment") == 0
            ? kc_get(ctl_kc(c), kc_resource(RES_DEPLOYMENT), ns, jx_str(dref, "name") ?: "")
            : NULL;
    if (d && strcmp(jx_str(d, "metadata.uid") ?: "", jx_str(dref, "uid") ?: "") == 0)
        rs = d;
    if (json_object_get(seen, jx_str(rs, "metadata.uid")))
        return 0;
    json_object_set_new(seen, jx_str(rs, "metadata.uid"), json_true());
    *sum += jx_int(rs, "spec.replicas", 1);
    return 0;
}

/* expectedPods and desiredHealthy from the spec (see upstream getExpectedPodCount). */
static int pdb_expected(struct ctl *c, const json_t *pdb, const json_t *pods, struct pdb_calc *k,
                        struct err *err)
{
    const json_t *mina = jx_get(pdb, "spec.minAvailable"),
                 *maxu = jx_get(pdb, "spec.maxUnavailable");
    long long n = 0, scale = 0;
    int pct = 0, use_scale;
    json_t *seen, *pod;
    size_t i;

    if (maxu && !json_is_null(maxu) && pdb_intstr_parse(maxu, &n, &pct) < 0)
        return err_set(err, -E_INVALID, "invalid maxUnavailable");
    if ((!maxu || json_is_null(maxu)) && mina && !json_is_null(mina) &&
        pdb_intstr_parse(mina, &n, &pct) < 0)
        return err_set(err, -E_INVALID, "invalid minAvailable");
    use_scale = (maxu && !json_is_null(maxu)) || pct;
    k->expected = k->desired = 0;
    if (!use_scale) {
        if (mina && !json_is_null(mina)) {
            k->expected = (long long)json_array_size(pods);
            k->desired = n;
        }
        return 0;
    }
    seen = json_object();
    json_array_foreach(pods, i, pod) if (pod_controller_scale(c, pdb, pod, seen, &scale, err) < 0)
    {
        json_decref(seen);
        return err->code;
    }
    json_decref(seen);
    k->expected = scale;
    if (maxu && !json_is_null(maxu)) {
        k->desired = scale - pdb_intstr_scaled(n, pct, scale, 1);
        if (k->desired < 0)
            k->desired = 0;
    } else {
        k->desired = pdb_intstr_scaled(n, pct, scale, 1);
    }
    return 0;
}

/* Pods of the PDB's namespace its selector matches (new reference; objects increffed). */
static json_t *pdb_pods(struct ctl *c, const json_t *pdb, struct err *err)
{
    struct labelsel *sel = NULL;
    json_t *out;

    if (labelsel_from_object(jx_get(pdb, "spec.selector"), &sel, err) < 0)
        return NULL;
    out = ctl_select(c, RES_POD, jx_str(pdb, "metadata.namespace") ?: "", sel);
    labelsel_free(sel);
    return out;
}

/* currentHealthy and the disruptedPods entries still honoured at time now. */
static void pdb_healthy(struct ctl *c, const json_t *pdb, const json_t *pods, time_t now,
                        struct pdb_calc *k)
{
    const json_t *dp = jx_get(pdb, "status.disruptedPods");
    json_t *pod;
    size_t i;

    k->healthy = 0;
    k->next_s = 0;
    json_array_foreach(pods, i, pod)
    {
        const char *name = jx_str(pod, "metadata.name");
        const char *ts = json_string_value(json_object_get(dp, name));

        if (jx_get(pod, "metadata.deletionTimestamp"))
            continue;
        if (ts) {
            time_t t = time_parse(ts);
            long long left = t < 0 ? 0 : (long long)(t + DISRUPTED_TIMEOUT_S - now);

            if (left > 0) {
                json_object_set_new(k->disrupted, name, json_string(ts));
                if (!k->next_s || left < k->next_s)
                    k->next_s = left;
                continue;
            }
            kc_event(ctl_kc(c), pdb, "Warning", "NotDeleted", "controllermanager",
                     "Pod %s/%s was expected to be deleted but it hasn't happened yet",
                     jx_str(pod, "metadata.namespace"), name);
        }
        if (pod_is_ready(pod))
            k->healthy++;
    }
}

/* Sets the DisruptionAllowed condition; lastTransitionTime moves only when status changes. */
static void pdb_condition_set(json_t *st, const json_t *old_conds, const char *status,
                              const char *reason, const char *msg, long long gen)
{
    json_t *conds = json_array(), *c, *cond;
    const char *ltt = NULL;
    char now[32];
    size_t i;

    json_array_foreach(old_conds, i, c)
    {
        if (strcmp(jx_str(c, "type") ?: "", "DisruptionAllowed") == 0) {
            if (strcmp(jx_str(c, "status") ?: "", status) == 0)
                ltt = jx_str(c, "lastTransitionTime");
            continue;
        }
        json_array_append(conds, c);
    }
    time_rfc3339(time(NULL), now);
    cond = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", "DisruptionAllowed", "status", status,
                     "reason", reason, "message", msg, "lastTransitionTime", ltt ? ltt : now,
                     "observedGeneration", (json_int_t)gen);
    json_array_append_new(conds, cond);
    json_object_set_new(st, "conditions", conds);
}

/* Computes the status the PDB should have (new reference). */
static json_t *pdb_status(struct ctl *c, const json_t *pdb, time_t now, long long *next_s)
{
    struct pdb_calc k = {.disrupted = json_object()};
    json_t *old = jx_get(pdb, "status"), *st, *pods;
    long long gen = jx_int(pdb, "metadata.generation", 1);
    struct err err;

    err_init(&err);
    *next_s = 0;
    pods = pdb_pods(c, pdb, &err);
    if (!pods || pdb_expected(c, pdb, pods, &k, &err) < 0) {
        st = json_is_object(old) ? json_deep_copy(old) : json_object();
        json_object_set_new(st, "disruptionsAllowed", json_integer(0));
        pdb_condition_set(st, json_object_get(old, "conditions"), "False", "SyncFailed", err.msg,
                          gen);
        goto out;
    }
    pdb_healthy(c, pdb, pods, now, &k);
    *next_s = k.next_s;
    k.allowed = k.expected > 0 && k.healthy > k.desired ? k.healthy - k.desired : 0;
    st = json_pack("{s:I,s:I,s:I,s:I,s:I}", "observedGeneration", (json_int_t)gen,
                   "disruptionsAllowed", (json_int_t)k.allowed, "currentHealthy",
                   (json_int_t)k.healthy, "desiredHealthy", (json_int_t)k.desired, "expectedPods",
                   (json_int_t)k.expected);
    if (json_object_size(k.disrupted))
        json_object_set(st, "disruptedPods", k.disrupted);
    pdb_condition_set(st, json_object_get(old, "conditions"), k.allowed > 0 ? "True" : "False",
                      k.allowed > 0 ? "SufficientPods" : "InsufficientPods", "", gen);
out:
    json_decref(pods);
    json_decref(k.disrupted);
    err_release(&err);
    return st;
}

static int pdb_status_write(struct ctl *c, const json_t *pdb, json_t *st, struct err *err)
{
    struct kc_wopts o = {.grace = -1, .status = 1};
    json_t *cp = json_deep_copy(pdb), *out = NULL;
    int rc;

    json_object_set(cp, "status", st);
    rc = kc_update(ctl_kc(c), kc_resource(RES_PDB), jx_str(pdb, "metadata.namespace"),
                   jx_str(pdb, "metadata.name"), cp, &o, &out, err);
    json_decref(cp);
    json_decref(out);
    return rc;
}

static void disruption_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *pdb = kc_get(ctl_kc(c), kc_resource(RES_PDB), ns, name), *st;
    long long next_s;

    if (!pdb)
        return;
    pdb = json_incref(pdb);
    st = pdb_status(c, pdb, time(NULL), &next_s);
    ctl_status_write(c, RES_PDB, pdb, jx_get(pdb, "status"), st, NULL);
    if (next_s > 0)
        ctl_enqueue_after(c, ns, name, next_s * 1000 + 100);
    json_decref(pdb);
}

/* ---- watches ---- */

/* 1 when the PDB's selector matches labels; an empty selector matches everything unless
 * empty_none. A selector that does not parse matches when bad_matches. */
static int pdb_selects(const json_t *pdb, const json_t *labels, int empty_none, int bad_matches)
{
    struct labelsel *sel = NULL;
    struct err err;
    int hit;

    err_init(&err);
    if (labelsel_from_object(jx_get(pdb, "spec.selector"), &sel, &err) < 0)
        hit = bad_matches;
    else
        hit = !(empty_none && labelsel_empty(sel)) && labelsel_match(sel, labels);
    labelsel_free(sel);
    err_release(&err);
    return hit;
}

/* A pod event concerns the PDBs of its namespace that select its old or new labels (or whose
 * selector is broken: their sync reports it). */
static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace") ?: "", *k;
    json_t *m = ctl_map_ns(c, RES_PDB, ns), *pdb;

    if (m)
        json_object_foreach(
            m, k, pdb) if (pdb_selects(pdb, jx_get(obj, "metadata.labels"), 0, 1) ||
                           (old && pdb_selects(pdb, jx_get(old, "metadata.labels"), 0, 1)))
            ctl_enqueue(c, ns, jx_str(pdb, "metadata.name"));
}

/* A controller's scale changed: every PDB of the namespace may use it. */
static void on_controller(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                          json_t *old, void *ctx)
{
    const char *ns = jx_str(obj, "metadata.namespace") ?: "", *k;
    json_t *m = ctl_map_ns(c, RES_PDB, ns), *pdb;

    if (old && json_equal(jx_get(obj, "spec.replicas"), jx_get(old, "spec.replicas")) &&
        json_equal(jx_get(obj, "metadata.ownerReferences"),
                   jx_get(old, "metadata.ownerReferences")))
        return;
    if (m)
        json_object_foreach(m, k, pdb) ctl_enqueue(c, ns, jx_str(pdb, "metadata.name"));
}

/* ---- eviction ---- */

/* The PDBs whose (non-empty) selector matches the pod; an empty selector matches nothing here,
 * as in the upstream eviction handler. New reference. */
static json_t *pod_pdbs(struct ctl *c, const json_t *pod)
{
    const char *ns = jx_str(pod, "metadata.namespace") ?: "", *k;
    json_t *m = ctl_map_ns(c, RES_PDB, ns), *pdb, *out = json_array();

    if (m)
        json_object_foreach(m, k, pdb) if (pdb_selects(pdb, jx_get(pod, "metadata.labels"), 1, 0))
            json_array_append(out, pdb);
    return out;
}

/* Deletes the evicted pod with the Eviction's deleteOptions. */
static int evict_delete(struct kc *kc, const json_t *pod, const json_t *eviction, int dry_run,
                        const json_t *rv_guard, struct err *err)
{
    const json_t *dopts = json_object_get(eviction, "deleteOptions");
    struct kc_wopts o = {.grace = -1, .dry_run = dry_run};
    json_t *out = NULL;
    int rc;

    if (json_is_integer(json_object_get(dopts, "gracePeriodSeconds")))
        o.grace = json_integer_value(json_object_get(dopts, "gracePeriodSeconds"));
    o.preconditions = json_object_get(dopts, "preconditions");
    if (!o.preconditions)
        o.preconditions = rv_guard;
    rc = kc_delete(kc, kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
                   jx_str(pod, "metadata.name"), &o, &out, err);
    json_decref(out);
    return rc;
}

/* Marks the pod with the DisruptionTarget condition before it is deleted (best effort). */
static void pod_mark_disruption(struct kc *kc, const json_t *pod)
{
    struct kc_wopts o = {.grace = -1, .status = 1};
    json_t *cp = json_deep_copy(pod), *conds = jx_get(cp, "status.conditions"), *out = NULL;
    struct err err;
    char now[32];

    if (!json_is_array(conds)) {
        conds = json_array();
        jx_set(cp, "status.conditions", conds);
    }
    for (size_t i = json_array_size(conds); i-- > 0;)
        if (strcmp(jx_str(json_array_get(conds, i), "type") ?: "", "DisruptionTarget") == 0)
            json_array_remove(conds, i);
    time_rfc3339(time(NULL), now);
    json_array_append_new(conds,
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "DisruptionTarget", "status",
                                    "True", "reason", "EvictionByEvictionAPI", "message",
                                    "Eviction API: evicting", "lastTransitionTime", now));
    err_init(&err);
    if (kc_update(kc, kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
                  jx_str(pod, "metadata.name"), cp, &o, &out, &err) < 0)
        log_warn("disruption", "msg=\"cannot mark pod\" pod=%s err=\"%s\"",
                 jx_str(pod, "metadata.name"), err.msg);
    json_decref(cp);
    json_decref(out);
    err_release(&err);
}

static int budget_refuse(struct err *err, const char *cause_fmt_name, const json_t *pdb,
                         int processing)
{
    err_set(err, -E_TOO_MANY, "Cannot evict pod as it would violate the pod's disruption budget.");
    if (processing)
        err_cause(err, "DisruptionBudget", NULL,
                  "The disruption budget %s is still being processed by the server.",
                  cause_fmt_name);
    else
        err_cause(err, "DisruptionBudget", NULL,
                  "The disruption budget %s needs %lld healthy pods and has %lld currently",
                  cause_fmt_name, (long long)jx_int(pdb, "status.desiredHealthy", 0),
                  (long long)jx_int(pdb, "status.currentHealthy", 0));
    return -E_TOO_MANY;
}

/* Takes one disruption from the budget: disruptionsAllowed - 1 and disruptedPods[pod] = now. */
static int budget_take(struct ctl *c, const json_t *pdb, const json_t *pod, struct err *err)
{
    json_t *st = json_deep_copy(jx_get(pdb, "status")), *dp;
    char now[32];
    int rc;

    json_object_set_new(st, "disruptionsAllowed",
                        json_integer(jx_int(pdb, "status.disruptionsAllowed", 0) - 1));
    dp = json_object_get(st, "disruptedPods");
    if (!json_is_object(dp)) {
        dp = json_object();
        json_object_set_new(st, "disruptedPods", dp);
    }
    time_rfc3339(time(NULL), now);
    json_object_set_new(dp, jx_str(pod, "metadata.name"), json_string(now));
    rc = pdb_status_write(c, pdb, st, err);
    json_decref(st);
    return rc;
}

/* The budget decision for a pod covered by exactly one PDB: 0 = evict (with *touch 1 when the
 * budget must be charged), or -E_TOO_MANY. */
static int budget_check(struct ctl *c, const json_t *pdb, const json_t *pod, int *touch,
                        struct err *err)
{
    const char *name = jx_str(pdb, "metadata.name");
    const char *policy = jx_str(pdb, "spec.unhealthyPodEvictionPolicy") ?: "IfHealthyBudget";
    long long desired = jx_int(pdb, "status.desiredHealthy", 0);

    *touch = 0;
    if (!pod_is_ready(pod) && (strcmp(policy, "AlwaysAllow") == 0 ||
                               (jx_int(pdb, "status.currentHealthy", 0) >= desired && desired > 0)))
        return 0;
    if (jx_int(pdb, "status.observedGeneration", 0) < jx_int(pdb, "metadata.generation", 1))
        return budget_refuse(err, name, pdb, 1);
    if (jx_int(pdb, "status.disruptionsAllowed", 0) <= 0)
        return budget_refuse(err, name, pdb, 0);
    *touch = 1;
    return 0;
}

/* The eviction subresource (k8s-semantics 12.2). */
int ctrl_disruption_evict(struct ctl *c, const json_t *pod, const json_t *eviction, int dry_run,
                          struct err *err)
{
    struct kc *kc = ctl_kc(c);
    const char *phase = jx_str(pod, "status.phase") ?: "Pending", *bname;
    json_t *pdbs = NULL, *pdb, *guard = NULL;
    int rc, touch = 0;

    bname = jx_str(eviction, "metadata.name");
    if (bname && *bname && strcmp(bname, jx_str(pod, "metadata.name")) != 0)
        return err_set(err, -E_BAD_REQUEST, "name in URL does not match name in Eviction object");
    if (!strcmp(phase, "Pending") || !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") ||
        jx_get(pod, "metadata.deletionTimestamp"))
        return evict_delete(kc, pod, eviction, dry_run, NULL, err);
    pdbs = pod_pdbs(c, pod);
    if (json_array_size(pdbs) > 1) {
        rc = err_set(err, -E_INTERNAL,
                     "This pod has more than one PodDisruptionBudget, which the "
                     "eviction subresource does not support.");
        goto out;
    }
    if (json_array_size(pdbs) == 0) {
        rc = evict_delete(kc, pod, eviction, dry_run, NULL, err);
        goto out;
    }
    pdb = json_array_get(pdbs, 0);
    /* A budget not yet computed for its current generation is computed now rather than
     * refusing the eviction while the queue catches up. */
    if (jx_int(pdb, "status.observedGeneration", 0) < jx_int(pdb, "metadata.generation", 1)) {
        disruption_sync(c, jx_str(pdb, "metadata.namespace"), jx_str(pdb, "metadata.name"), NULL);
        pdb = kc_get(kc, kc_resource(RES_PDB), jx_str(pdb, "metadata.namespace"),
                     jx_str(pdb, "metadata.name"))
                  ?: pdb;
    }
    if ((rc = budget_check(c, pdb, pod, &touch, err)) < 0)
        goto out;
    if (!touch) {
        guard =
            json_pack("{s:s}", "resourceVersion", jx_str(pod, "metadata.resourceVersion") ?: "");
        rc = evict_delete(kc, pod, eviction, dry_run, guard, err);
        goto out;
    }
    if (!dry_run && (rc = budget_take(c, pdb, pod, err)) < 0)
        goto out;
    /* The condition write changes the pod's resourceVersion, so a caller's preconditions
     * would then fail: skip the (informational) condition in that case. */
    if (!dry_run && !jx_get(eviction, "deleteOptions.preconditions"))
        pod_mark_disruption(kc, pod);
    rc = evict_delete(kc, pod, eviction, dry_run, NULL, err);
out:
    json_decref(guard);
    json_decref(pdbs);
    return rc;
}

struct ctl *ctrl_disruption_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "disruption-controller", disruption_sync, NULL);

    ctl_watch(c, RES_PDB, NULL);
    ctl_watch(c, RES_POD, on_pod);
    ctl_watch(c, RES_REPLICASET, on_controller);
    ctl_watch(c, RES_DEPLOYMENT, on_controller);
    ctl_start(c);
    return c;
}
