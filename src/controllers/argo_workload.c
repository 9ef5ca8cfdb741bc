/* A Rollout's spec.workloadRef (argo-rollouts rollout/templateref.go, replicaset.go,
 * scale_utils.go and sync.go promoteStable at 9f8d111): the pod template, and the selector
 * when the Rollout has none, come from an apps/v1 Deployment, read on every pass (a change of
 * the Deployment's template is a new Rollout revision); its generation is stamped on the
 * Rollout (annotation rollout.argoproj.io/workload-generation, status.workloadObservedGeneration);
 * scaleDown onsuccess / progressively shrinks the Deployment while revision 1 takes over. */
#include <stdio.h>
#include <string.h>

#include "controllers/argo-int.h"
#include "core/jx.h"

#define ARGO_A_WORKLOAD_GEN "rollout.argoproj.io/workload-generation"

/* The phase Argo computes for an InvalidSpec (the strategies do not run). */
static void invalid(struct rsync *x, const char *msg)
{
    const char *phase;
    char pm[1200];

    argo__cond(x->st, "InvalidSpec", "True", "InvalidSpec", msg);
    argo_phase(x->ro, x->st, x->bg, &phase, pm, sizeof pm);
    json_object_set_new(x->st, "phase", json_string(phase));
    json_object_set_new(x->st, "message", json_string(pm));
}

int argo__workload(struct rsync *x)
{
    const json_t *wr = jx_get(x->ro, "spec.workloadRef");
    const char *name = jx_str(wr, "name") ?: "";
    json_t *d, *r;
    char gen[32], msg[700];

    if (!wr || json_is_null(wr)) {
        json_object_del(x->st, "workloadObservedGeneration");
        return 0;
    }
    d = kc_get(ctl_kc(x->c), kc_resource(RES_DEPLOYMENT), x->ns, name);
    if (!d) {
        /* The lister's NotFound, as Argo's condition quotes it. */
        snprintf(msg, sizeof msg,
                 "The Rollout \"%s\" is invalid: deployments.apps \"%s\" not found", x->name, name);
        invalid(x, msg);
        return -1;
    }
    r = json_deep_copy(x->ro);
    jx_set(r, "spec.template", json_deep_copy(jx_get(d, "spec.template")));
    if (!jx_get(r, "spec.selector") || json_is_null(jx_get(r, "spec.selector")))
        jx_set(r, "spec.selector", json_deep_copy(jx_get(d, "spec.selector")));
    snprintf(gen, sizeof gen, "%lld", (long long)jx_int(d, "metadata.generation", 1));
    json_object_set_new(jx_obj(r, "metadata.annotations"), ARGO_A_WORKLOAD_GEN, json_string(gen));
    json_object_set_new(x->st, "workloadObservedGeneration", json_string(gen));
    /* The status write sends this copy's annotations; its spec is ignored there. */
    x->ro = r;
    return 0;
}

static void deployment_scale(struct rsync *x, const char *name, long long n)
{
    json_t *d = kc_get(ctl_kc(x->c), kc_resource(RES_DEPLOYMENT), x->ns, name), *p, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = ARGO_COMP};
    struct err err;

    if (n < 0)
        n = 0;
    if (!d || jx_int(d, "spec.replicas", 1) == n)
        return;
    p = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)n);
    err_init(&err);
    if (kc_patch(ctl_kc(x->c), kc_resource(RES_DEPLOYMENT), x->ns, name,
                  "application/merge-patch+json", p, &o, &out, &err) < 0)
        ctl_log_err(x->c, "scale workload deployment", x->ns, x->name, &err);
    json_decref(out);
    json_decref(p);
    err_release(&err);
}

void argo__workload_scale_down(struct rsync *x, const json_t *old)
{
    const char *mode = jx_str(x->ro, "spec.workloadRef.scaleDown") ?: "";
    const char *name = jx_str(x->ro, "spec.workloadRef.name");
    int healthy = !strcmp(jx_str(old, "phase") ?: "", "Healthy");
    long long ready = jx_int(old, "readyReplicas", 0);

    /* Only the migration (revision 1) scales the Deployment, judged by the status before this
     * pass, as Argo does; progressively also scales it back up while the new ReplicaSet
     * shrinks (an abort). */
    if (!name || !x->nrs || argo__revision(x->nrs) != 1)
        return;
    if (!strcmp(mode, "onsuccess") && healthy)
        deployment_scale(x, name, 0);
    else if (!strcmp(mode, "progressively") &&
             (healthy || ready > 0 || argo__rs_spec(x->nrs) < x->nrs_before))
        deployment_scale(x, name, healthy ? 0 : x->R - ready);
}

void argo__on_workload(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                       json_t *old, void *ctx)
{
    json_t *m = ctl_map(c, RES_ROLLOUT), *ro;
    const char *k, *ns = jx_str(obj, "metadata.namespace") ?: "";
    const char *name = jx_str(obj, "metadata.name") ?: "";

    (void)r, (void)ctx;
    /* Status churn of the Deployment changes nothing here: only its spec (generation). */
    if (!m || (!strcmp(type, "MODIFIED") && old &&
               jx_int(old, "metadata.generation", 0) == jx_int(obj, "metadata.generation", 0)))
        return;
    json_object_foreach(m, k, ro) if (!strcmp(jx_str(ro, "metadata.namespace") ?: "", ns) &&
                                      !strcmp(jx_str(ro, "spec.workloadRef.name") ?: "", name))
        ctl_enqueue(c, ns, jx_str(ro, "metadata.name"));
}
