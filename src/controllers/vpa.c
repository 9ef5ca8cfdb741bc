/* The VerticalPodAutoscaler recommender (vertical-pod-autoscaler/pkg/recommender): every
 * VPA_SYNC_MS it reads the metrics.k8s.io usage of the pods its target (any kind with a
 * spec.selector: Deployment, ReplicaSet, Rollout...) selects, feeds each new sample into the
 * per-container-name decaying histograms of vpa_model.c (CPU weighted by the container's
 * request, memory as daily peaks), and writes status.recommendation (target, lowerBound,
 * upperBound, uncappedTarget, capped by resourcePolicy) and the RecommendationProvided
 * condition. The histograms live in memory only (upstream checkpoints them into
 * VerticalPodAutoscalerCheckpoint objects; kroll starts over after a restart). Requests are
 * applied at pod creation by the API's admission (api/kind_vpa.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/vpa.h"
#include "core/cond.h"
#include "core/jx.h"
#include "core/selector.h"
#include "core/vpapolicy.h"

#define COMP "vpa-recommender"
#define VPA_SYNC_MS 10000 /* the node's metrics period: each sample is seen once */
#define VPA_MAX_TRACKED 1024
#define VPA_MAX_CONTAINERS 16 /* container names per VPA */
#define VPA_MAX_PEAKS 512     /* pod containers per VPA */

struct vpa_cont {
    char name[64];
    struct vpa_agg agg;
};

struct vpa_pc { /* one pod container's sample cursor and memory window */
    char uid[48], name[64];
    double last_cpu;
    struct vpa_peak peak;
};

/* What the recommender remembers of one VPA between syncs (ctl_state). */
struct vpa_state {
    struct vpa_cont conts[VPA_MAX_CONTAINERS];
    int nconts;
    struct vpa_pc pcs[VPA_MAX_PEAKS];
    int npcs;
};

static struct vpa_cont *cont_get(struct vpa_state *s, const char *name)
{
    for (int i = 0; i < s->nconts; i++)
        if (strcmp(s->conts[i].name, name) == 0)
            return &s->conts[i];
    if (s->nconts >= VPA_MAX_CONTAINERS)
        return NULL;
    struct vpa_cont *c = &s->conts[s->nconts++];
    snprintf(c->name, sizeof c->name, "%s", name);
    vpa_agg_init(&c->agg);
    return c;
}

static struct vpa_pc *pc_get(struct vpa_state *s, const char *uid, const char *name)
{
    for (int i = 0; i < s->npcs; i++)
        if (strcmp(s->pcs[i].uid, uid) == 0 && strcmp(s->pcs[i].name, name) == 0)
            return &s->pcs[i];
    if (s->npcs >= VPA_MAX_PEAKS)
        s->npcs = 0; /* the oldest cursors go; at worst one sample is counted again */
    struct vpa_pc *p = &s->pcs[s->npcs++];
    memset(p, 0, sizeof *p);
    snprintf(p->uid, sizeof p->uid, "%s", uid);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

/* The cpu request (cores) of container name in pod, 0 when unset. */
static double request_cores(const json_t *pod, const char *name)
{
    const json_t *c;
    int64_t m;
    size_t i;

    json_array_foreach(jx_get(pod, "spec.containers"), i, c)
    {
        if (strcmp(jx_str(c, "name") ?: "", name) == 0 &&
            quantity_json_milli(jx_get(c, "resources.requests.cpu"), &m) == 0)
            return (double)m / 1000.0;
    }
    return 0;
}

/* Feeds the samples of one pod not seen yet. */
static void pod_feed(struct ctl *c, struct vpa_state *s, const json_t *pod)
{
    json_t *m = kc_metrics_of(ctl_kc(c), pod);
    const char *uid = jx_str(pod, "metadata.uid") ?: "";
    double t = (double)time_parse(jx_str(m, "timestamp") ?: "");
    const json_t *mc;
    size_t i;

    json_array_foreach(json_object_get(m, "containers"), i, mc)
    {
        const char *name = jx_str(mc, "name") ?: "";
        struct vpa_cont *vc = cont_get(s, name);
        struct vpa_pc *pc;
        int64_t cpu, mem;

        if (!vc || t <= 0 || quantity_parse_milli(jx_str(mc, "usage.cpu") ?: "", &cpu) < 0 ||
            quantity_parse_milli(jx_str(mc, "usage.memory") ?: "", &mem) < 0)
            continue;
        pc = pc_get(s, uid, name);
        if (t <= pc->last_cpu)
            continue;
        pc->last_cpu = t;
        vpa_agg_add_cpu(&vc->agg, (double)cpu / 1000.0, request_cores(pod, name), t);
        vpa_peak_add(&pc->peak, &vc->agg, (double)mem / 1000.0, t);
    }
    json_decref(m);
}

/* The target's pods (running, not being deleted), or NULL with msg set. */
static json_t *target_pods(struct ctl *c, const json_t *vpa, const char *ns, char *msg, size_t n)
{
    const json_t *ref = jx_get(vpa, "spec.targetRef"), *t;
    json_t *v;
    const char *av = jx_str(ref, "apiVersion") ?: "", *slash = strchr(av, '/');
    const struct resource *r;
    struct labelsel *ls = NULL;
    struct err err;
    char group[128];
    json_t *out;

    snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - av) : 0, av);
    r = kc_resource_by_kind(group, jx_str(ref, "kind") ?: "");
    if (!r || !(t = kc_get(ctl_kc(c), r, ns, jx_str(ref, "name") ?: ""))) {
        snprintf(msg, n, "Cannot read targetRef: %s \"%s\" not found", jx_str(ref, "kind") ?: "",
                 jx_str(ref, "name") ?: "");
        return NULL;
    }
    err_init(&err);
    if (!json_is_object(jx_get(t, "spec.selector")) ||
        labelsel_from_object(jx_get(t, "spec.selector"), &ls, &err) < 0 || labelsel_empty(ls)) {
        snprintf(msg, n, "Cannot read targetRef: %s \"%s\" has no usable selector", r->kind,
                 jx_str(ref, "name") ?: "");
        err_release(&err);
        labelsel_free(ls);
        return NULL;
    }
    err_release(&err);
    out = ctl_select(c, RES_POD, ns, ls);
    labelsel_free(ls);
    for (size_t i = json_array_size(out); i-- > 0;) {
        v = json_array_get(out, i);
        if (jx_get(v, "metadata.deletionTimestamp") ||
            strcmp(jx_str(v, "status.phase") ?: "", "Running") != 0)
            json_array_remove(out, i);
    }
    return out;
}

static void set_cond(json_t *status, const char *type, const char *st, const char *reason,
                     const char *msg)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    cond_set(status, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status", st,
                               "lastTransitionTime", ts, "reason", reason, "message", msg));
}

/* cpu in millicores, memory in bytes with the largest exact decimal suffix (DecimalSI). */
static json_t *qty(double v, int cpu)
{
    char out[48];

    quantity_fmt_milli(cpu ? (int64_t)(v * 1000.0) : (int64_t)v * 1000, cpu, out, sizeof out);
    return json_string(out);
}

/* v within the policy's minAllowed/maxAllowed of res (cores or bytes). */
static double cap(const json_t *pol, const char *res, double v)
{
    const double scale = 1000.0; /* quantities parse to milli-units: cores and bytes */
    int64_t m;

    if (quantity_json_milli(jx_get(jx_get(pol, "minAllowed"), res), &m) == 0 &&
        v < (double)m / scale)
        v = (double)m / scale;
    if (quantity_json_milli(jx_get(jx_get(pol, "maxAllowed"), res), &m) == 0 &&
        v > (double)m / scale)
        v = (double)m / scale;
    return v;
}

/* One container's entry of status.recommendation (new), or NULL when its policy is Off. */
static json_t *container_rec(const json_t *vpa, const struct vpa_cont *vc, int ncontainers)
{
    const json_t *pol = vpa_policy_of(vpa, vc->name);
    static const char *const keys[] = {"target", "lowerBound", "upperBound", "uncappedTarget"};
    struct vpa_rec r;
    json_t *out;

    if (strcmp(jx_str(pol, "mode") ?: "", "Off") == 0)
        return NULL;
    vpa_recommend(&vc->agg, ncontainers, &r);
    const struct vpa_est *e[] = {&r.target, &r.lower, &r.upper, &r.target};
    out = json_pack("{s:s}", "containerName", vc->name);
    for (int i = 0; i < 4; i++) {
        json_t *q = json_object();

        if (vpa_policy_controls(pol, "cpu"))
            json_object_set_new(q, "cpu", qty(i < 3 ? cap(pol, "cpu", e[i]->cpu) : e[i]->cpu, 1));
        if (vpa_policy_controls(pol, "memory"))
            json_object_set_new(q, "memory",
                                qty(i < 3 ? cap(pol, "memory", e[i]->mem) : e[i]->mem, 0));
        json_object_set_new(out, keys[i], q);
    }
    return out;
}

/* status.recommendation and the conditions from the state. */
static void status_fill(const json_t *vpa, struct vpa_state *s, int npods, json_t *st)
{
    json_t *recs = json_array(), *r;
    const char *mode = jx_str(vpa, "spec.updatePolicy.updateMode") ?: "Auto";
    char msg[256];

    for (int i = 0; i < s->nconts; i++)
        if (s->conts[i].agg.samples > 0 && (r = container_rec(vpa, &s->conts[i], s->nconts)))
            json_array_append_new(recs, r);
    if (json_array_size(recs)) {
        json_object_set_new(st, "recommendation",
                            json_pack("{s:o}", "containerRecommendations", recs));
        set_cond(st, "RecommendationProvided", "True", "", "");
    } else {
        json_decref(recs);
        set_cond(st, "RecommendationProvided", "False", "NoSamples",
                 "no usage samples of the target's pods yet");
    }
    if (npods == 0)
        set_cond(st, "NoPodsMatched", "True", "NoPodsMatched", "No pods match this VPA object");
    else
        cond_del(st, "NoPodsMatched");
    if (strcmp(mode, "Auto") == 0 || strcmp(mode, "Recreate") == 0) {
        snprintf(msg, sizeof msg,
                 "updateMode %s is applied as Initial: requests are set when pods are created; "
                 "running pods are not evicted",
                 mode);
        set_cond(st, "ConfigUnsupported", "True", "UpdateModeAppliedAsInitial", msg);
    } else {
        cond_del(st, "ConfigUnsupported");
    }
}

static void vpa_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    const json_t *vpa = kc_get(ctl_kc(c), kc_resource(RES_VPA), ns, name), *pod, *st;
    struct vpa_state *s;
    json_t *status, *pods;
    char msg[512];
    size_t i;

    (void)ctx;
    if (!vpa || jx_get(vpa, "metadata.deletionTimestamp")) {
        ctl_state_drop(c, ns, name);
        return;
    }
    ctl_enqueue_after(c, ns, name, VPA_SYNC_MS);
    if (!(s = ctl_state(c, ns, name, 1, NULL)))
        return;
    vpa = json_incref((json_t *)vpa);
    st = json_object_get(vpa, "status");
    status = json_is_object(st) ? json_deep_copy(st) : json_object();
    if (!(pods = target_pods(c, vpa, ns, msg, sizeof msg))) {
        set_cond(status, "ConfigUnsupported", "True", "InvalidTargetRef", msg);
        set_cond(status, "RecommendationProvided", "False", "InvalidTargetRef", msg);
        ctl_status_write(c, RES_VPA, vpa, st, status, COMP);
        json_decref((json_t *)vpa);
        return;
    }
    json_array_foreach(pods, i, pod)
    {
        pod_feed(c, s, pod);
    }
    status_fill(vpa, s, (int)json_array_size(pods), status);
    ctl_status_write(c, RES_VPA, vpa, st, status, COMP);
    json_decref(pods);
    json_decref((json_t *)vpa);
}

struct ctl *ctrl_vpa_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, COMP, vpa_sync, NULL);

    ctl_state_init(c, sizeof(struct vpa_state), VPA_MAX_TRACKED);
    ctl_watch(c, RES_VPA, ctl_on_spec); /* the sync period does the rest */
    ctl_start(c);
    return c;
}
