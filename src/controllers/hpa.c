/* The HorizontalPodAutoscaler controller (pkg/controller/podautoscaler/horizontal.go): every
 * HPA_SYNC_MS it reads the target's scale subresource (the target's kind resolved through the
 * resource table), computes a proposal per metric from the pods' metrics.k8s.io usage (the same
 * hook the API serves), normalizes it (hpa_calc.c), writes the new size through /scale and the
 * status through /status, with upstream's conditions and events. Pods metrics come from the
 * custom metrics the API serves (the Service proxy's per-pod figures, kc_custom_metric_of);
 * Object and External metrics report "unable to get metric" (ScalingActive False). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/hpa.h"
#include "core/cond.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

#define COMP "horizontal-pod-autoscaler"
#define HPA_SYNC_MS 15000 /* --horizontal-pod-autoscaler-sync-period */
#define HPA_MAX_TRACKED 4096

/* What the controller remembers of one HPA between syncs (ctl_state). */
struct hpa_state {
    struct hpa_hist h;
};

/* One reconcile's working set. */
struct hsync {
    struct ctl *c;
    const json_t *hpa;
    json_t *status; /* the new status (a copy) */
    const char *ns;
    time_t now;
};

static void set_cond(struct hsync *y, const char *type, const char *st, const char *reason,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_cond(struct hsync *y, const char *type, const char *st, const char *reason,
                     const char *fmt, ...)
{
    char msg[1024], ts[32];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_rfc3339(y->now, ts);
    /* setCondition: in place (first-set order stays), lastTransitionTime kept while the status
     * does not change. */
    json_t *conds = json_object_get(y->status, "conditions"), *c, *nc;
    size_t i;

    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(y->status, "conditions", conds);
    }
    nc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status", st, "lastTransitionTime", ts,
                   "reason", reason, "message", msg);
    json_array_foreach(conds, i, c)
    {
        if (strcmp(jx_str(c, "type") ?: "", type) != 0)
            continue;
        if (strcmp(jx_str(c, "status") ?: "", st) == 0 && jx_str(c, "lastTransitionTime"))
            json_object_set(nc, "lastTransitionTime", json_object_get(c, "lastTransitionTime"));
        json_array_set_new(conds, i, nc);
        return;
    }
    json_array_append_new(conds, nc);
}

/* The pods of the scale's selector in the HPA's namespace (new array, borrowed items). */
static json_t *target_pods(struct hsync *y, const char *selector, char *msg, size_t n)
{
    struct labelsel *ls = NULL;
    struct err err;
    json_t *out;

    err_init(&err);
    if (labelsel_parse(selector, &ls, &err) < 0) {
        snprintf(msg, n,
                 "couldn't convert selector into a corresponding internal selector "
                 "object: %.400s",
                 err.msg);
        err_release(&err);
        return NULL;
    }
    err_release(&err);
    out = ctl_select(y->c, RES_POD, y->ns, ls);
    labelsel_free(ls);
    return out;
}

/* Sum of the pod's usage of res in milli (cpu from nanocores). -1 when a container lacks it. */
static int64_t pod_usage(const json_t *metrics, const char *res)
{
    const json_t *c;
    int64_t sum = 0, v;
    size_t i;

    json_array_foreach(json_object_get(metrics, "containers"), i, c)
    {
        const char *q = jx_str(jx_get(c, "usage"), res);

        if (!q || quantity_parse_milli(q, &v) < 0)
            return -1;
        sum += v;
    }
    return sum;
}

/* calculatePodRequests for one pod: -1 with msg set when a container has no request. */
static int64_t pod_request(const json_t *pod, const char *res, char *msg, size_t n)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    int64_t sum = 0, v;
    const json_t *c;
    size_t i;

    for (int l = 0; l < 2; l++)
        json_array_foreach(jx_get(pod, lists[l]), i, c)
        {
            const char *q;

            if (l == 1 && strcmp(jx_str(c, "restartPolicy") ?: "", "Always") != 0)
                continue;
            q = jx_str(jx_get(c, "resources.requests"), res);
            if (!q || quantity_parse_milli(q, &v) < 0) {
                snprintf(msg, n, "missing request for %s in container %s of Pod %s", res,
                         jx_str(c, "name") ?: "", jx_str(pod, "metadata.name") ?: "");
                return -1;
            }
            sum += v;
        }
    return sum;
}

/* A milli value as a canonical Quantity string ("250m", "2", "128Mi" is not produced). */
static json_t *milli_qty(int64_t m)
{
    char b[32];

    if (m % 1000 == 0)
        snprintf(b, sizeof b, "%lld", (long long)(m / 1000));
    else
        snprintf(b, sizeof b, "%lldm", (long long)m);
    return json_string(b);
}

/* A Resource metric: its proposal, its status entry and its name. Returns 0 or -1 with msg. */
static int resource_metric(struct hsync *y, const json_t *spec, const json_t *pods, int current,
                           int *proposal, json_t **st, char *name, size_t namen, char *msg,
                           size_t n)
{
    const char *res = jx_str(spec, "resource.name") ?: "";
    const json_t *t = jx_get(spec, "resource.target");
    int pct = (int)jx_int(t, "averageUtilization", 0), cpu = strcmp(res, "cpu") == 0, got = 0;
    int req_err = 0;
    size_t np = json_array_size(pods), i;
    struct hpa_sample *s = calloc(np ? np : 1, sizeof *s);
    int64_t tmilli = 0;
    struct hpa_calc out;
    char inner[512];
    int rc = -1;

    if (!pct && (!jx_str(t, "averageValue") ||
                 quantity_parse_milli(jx_str(t, "averageValue"), &tmilli) < 0 || tmilli <= 0)) {
        snprintf(msg, n,
                 "invalid resource metric source: neither an average utilization target "
                 "nor an average value (usage) target was set");
        goto out;
    }
    for (i = 0; i < np; i++) {
        const json_t *pod = json_array_get(pods, i);
        json_t *m = kc_metrics_of(ctl_kc(y->c), pod);
        int64_t u = m ? pod_usage(m, res) : -1;

        s[i].group = hpa_pod_group(pod, u >= 0 ? m : NULL, cpu, y->now);
        s[i].has_value = u >= 0;
        s[i].value = u;
        got += u >= 0;
        json_decref(m);
        if (pct && !req_err && (s[i].request = pod_request(pod, res, inner, sizeof inner)) < 0)
            req_err = 1;
    }
    /* Upstream's order: no metrics at all first, then a missing request. */
    if (np && !got) {
        snprintf(msg, n,
                 "failed to get %s %s: unable to get metrics for resource %s: no metrics "
                 "returned from resource metrics API",
                 res, pct ? "utilization" : "usage", res);
        goto out;
    }
    if (req_err) {
        snprintf(msg, n, "failed to get %s utilization: %s", res, inner);
        goto out;
    }
    if (hpa_replicas(s, np, current, pct, tmilli, &out, inner, sizeof inner) < 0) {
        snprintf(msg, n, "failed to get %s %s: %s", res, pct ? "utilization" : "usage", inner);
        goto out;
    }
    *proposal = out.replicas;
    *st = json_pack("{s:s,s:{s:s,s:{s:o}}}", "type", "Resource", "resource", "name", res, "current",
                    "averageValue", milli_qty(out.average));
    if (pct) {
        json_object_set_new(jx_get(*st, "resource.current"), "averageUtilization",
                            json_integer(out.utilization));
        snprintf(name, namen, "%s resource utilization (percentage of request)", res);
    } else {
        snprintf(name, namen, "%s resource", res);
    }
    rc = 0;
out:
    free(s);
    return rc;
}

/* A Pods metric from custom.metrics.k8s.io (the Service proxy's per-pod figures): its
 * proposal by calcPlainMetricReplicas against the AverageValue target, its status entry and
 * name. Returns 0 or -1 with msg in upstream's words. */
static int pods_metric(struct hsync *y, const json_t *spec, const json_t *pods, int current,
                       int *proposal, json_t **st, char *name, size_t namen, char *msg, size_t n)
{
    const char *mn = jx_str(spec, "pods.metric.name") ?: "";
    const char *avg = jx_str(spec, "pods.target.averageValue");
    const json_t *msel_obj = jx_get(spec, "pods.metric.selector");
    size_t np = json_array_size(pods), i;
    struct hpa_sample *s = calloc(np ? np : 1, sizeof *s);
    struct labelsel *msel = NULL;
    int64_t tmilli = 0;
    struct hpa_calc out;
    struct err err;
    char inner[512];
    int rc = -1, got = 0;

    err_init(&err);
    if (!avg || quantity_parse_milli(avg, &tmilli) < 0 || tmilli <= 0) {
        snprintf(msg, n, "invalid pods metric source: an average value target is required");
        goto out;
    }
    if (msel_obj && labelsel_from_object(msel_obj, &msel, &err) < 0) {
        snprintf(msg, n, "unable to get metric %.100s: %.300s", mn, err.msg);
        goto out;
    }
    for (i = 0; i < np; i++) {
        const json_t *pod = json_array_get(pods, i);
        json_t *v = kc_custom_metric_of(ctl_kc(y->c), pod, mn);
        int64_t val = -1;

        /* Our Pods metrics carry no labels: a metric selector must match an empty set. */
        if (v && (!msel || labelsel_match(msel, NULL)) &&
            quantity_parse_milli(jx_str(v, "value") ?: "", &val) < 0)
            val = -1;
        s[i].group = hpa_pod_group(pod, val >= 0 ? v : NULL, 0, y->now);
        s[i].has_value = val >= 0;
        s[i].value = val;
        got += val >= 0;
        json_decref(v);
    }
    if (np && !got) {
        snprintf(msg, n,
                 "unable to get metric %s: unable to fetch metrics from custom metrics API: no "
                 "metrics returned from custom metrics API",
                 mn);
        goto out;
    }
    if (hpa_replicas(s, np, current, 0, tmilli, &out, inner, sizeof inner) < 0) {
        snprintf(msg, n, "failed to get pods metric value: %s", inner);
        goto out;
    }
    *proposal = out.replicas;
    *st = json_pack("{s:s,s:{s:{s:s},s:{s:o}}}", "type", "Pods", "pods", "metric", "name", mn,
                    "current", "averageValue", milli_qty(out.average));
    snprintf(name, namen, "pods metric %s", mn);
    rc = 0;
out:
    labelsel_free(msel);
    err_release(&err);
    free(s);
    return rc;
}

/* computeReplicasForMetrics: the largest proposal, or -1 when the metrics do not allow a
 * decision (status and events written by the caller). */
static int metrics_replicas(struct hsync *y, const json_t *pods, int current, char *name,
                            size_t namen, char *first_err, size_t errn)
{
    const json_t *specs = jx_get(y->hpa, "spec.metrics"), *m;
    json_t *statuses = json_array();
    int best = 0, invalid = 0;
    char cond_reason[64] = "", cond_msg[1024] = "", mname[160] = "";
    size_t i;

    json_array_foreach(specs, i, m)
    {
        const char *type = jx_str(m, "type") ?: "";
        char msg[768] = "", nm[160];
        json_t *st = NULL;
        int p = 0, rc;

        if (strcmp(type, "Resource") == 0) {
            rc = resource_metric(y, m, pods, current, &p, &st, nm, sizeof nm, msg, sizeof msg);
            if (rc < 0) {
                kc_event(ctl_kc(y->c), y->hpa, "Warning", "FailedGetResourceMetric", COMP, "%s",
                         msg);
                if (!invalid++) {
                    snprintf(cond_reason, sizeof cond_reason, "FailedGetResourceMetric");
                    snprintf(cond_msg, sizeof cond_msg, "%s", msg);
                    snprintf(first_err, errn, "failed to get %s resource metric value: %s",
                             jx_str(m, "resource.name") ?: "", msg);
                }
            }
        } else if (strcmp(type, "Pods") == 0) {
            rc = pods_metric(y, m, pods, current, &p, &st, nm, sizeof nm, msg, sizeof msg);
            if (rc < 0) {
                kc_event(ctl_kc(y->c), y->hpa, "Warning", "FailedGetPodsMetric", COMP, "%s", msg);
                if (!invalid++) {
                    snprintf(cond_reason, sizeof cond_reason, "FailedGetPodsMetric");
                    snprintf(cond_msg, sizeof cond_msg, "%s", msg);
                    snprintf(first_err, errn, "failed to get pods metric value: %s", msg);
                }
            }
        } else {
            /* No external metrics API, and no Object metrics. */
            const char *reason = strcmp(type, "Pods") == 0     ? "FailedGetPodsMetric"
                                 : strcmp(type, "Object") == 0 ? "FailedGetObjectMetric"
                                 : strcmp(type, "External") == 0
                                     ? "FailedGetExternalMetric"
                                     : "FailedGetContainerResourceMetric";
            const char *mn = jx_str(m, "pods.metric.name") ?: jx_str(m, "object.metric.name")
                                 ?: jx_str(m, "external.metric.name") ?: jx_str(m, "containerResource.name") ?: "";

            snprintf(msg, sizeof msg,
                     "unable to get metric %s: no custom or external metrics API "
                     "is served by kroll",
                     mn);
            kc_event(ctl_kc(y->c), y->hpa, "Warning", reason, COMP, "%s", msg);
            if (!invalid++) {
                snprintf(cond_reason, sizeof cond_reason, "%s", reason);
                snprintf(cond_msg, sizeof cond_msg, "%s", msg);
                snprintf(first_err, errn, "failed to get %s metric value: %s", type, msg);
            }
            rc = -1;
        }
        json_array_append_new(statuses, st ? st : json_pack("{s:s}", "type", ""));
        if (rc == 0 && (best == 0 || p > best)) {
            best = p;
            snprintf(mname, sizeof mname, "%s", nm);
        }
    }
    /* Failed metrics leave empty entries, which status does not keep. */
    for (i = json_array_size(statuses); i-- > 0;)
        if (!*(jx_str(json_array_get(statuses, i), "type") ?: ""))
            json_array_remove(statuses, i);
    if (json_array_size(statuses))
        json_object_set_new(y->status, "currentMetrics", statuses);
    else
        json_decref(statuses), json_object_del(y->status, "currentMetrics");
    if (invalid >= (int)json_array_size(specs) || (invalid > 0 && best < current)) {
        set_cond(y, "ScalingActive", "False", cond_reason,
                 "the HPA was unable to compute the replica count: %s", cond_msg);
        snprintf(cond_msg, sizeof cond_msg, "%s", first_err);
        snprintf(first_err, errn, "invalid metrics (%d invalid out of %zu), first error is: %s",
                 invalid, json_array_size(specs), cond_msg);
        return -1;
    }
    set_cond(y, "ScalingActive", "True", "ValidMetricFound",
             "the HPA was able to successfully calculate a replica count from %s", mname);
    snprintf(name, namen, "%s", mname);
    return best;
}

/* The target's resource from scaleTargetRef (group of apiVersion, kind) through the table. */
static const struct resource *target_resource(const json_t *ref, char *msg, size_t n)
{
    const char *av = jx_str(ref, "apiVersion") ?: "", *kind = jx_str(ref, "kind") ?: "";
    const char *slash = strchr(av, '/');
    char group[128];
    const struct resource *r;

    snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - av) : 0, av);
    r = kc_resource_by_kind(group, kind);
    if (!r || !(r->flags & RF_SCALE)) {
        snprintf(msg, n, "no matches for kind \"%s\" in group \"%s\"", kind, group);
        return NULL;
    }
    return r;
}

/* Writes status when it changed (PUT .../status). */
static void status_write(struct hsync *y)
{
    ctl_status_write(y->c, RES_HPA, y->hpa, json_object_get(y->hpa, "status"),
                     json_incref(y->status), NULL);
}

/* PUT .../scale with the new size. 0, or -1 with msg set. */
static int scale_write(struct hsync *y, const struct resource *r, const char *name, int replicas,
                       char *msg, size_t n)
{
    struct kc_wopts o = {.grace = -1, .status = 2, .manager = COMP};
    json_t *p = json_pack("{s:{s:i}}", "spec", "replicas", replicas), *out = NULL;
    struct err err;
    int rc;

    err_init(&err);
    rc = kc_patch(ctl_kc(y->c), r, y->ns, name, "application/merge-patch+json", p, &o, &out, &err);
    if (rc < 0)
        snprintf(msg, n, "%s", err.msg);
    json_decref(out);
    json_decref(p);
    err_release(&err);
    return rc < 0 ? -1 : 0;
}

/* Proposal to desired count (normalization), with the AbleToScale/ScalingLimited conditions. */
static int normalize(struct hsync *y, struct hpa_state *s, int current, int proposal, int min,
                     int max)
{
    const json_t *b = jx_get(y->hpa, "spec.behavior");
    struct hpa_norm no = {0};
    struct hpa_rules up, down;
    int d;

    if (!json_is_object(b)) {
        d = hpa_normalize_legacy(&s->h, current, proposal, min, max, y->now, &no);
    } else {
        hpa_rules_read(json_object_get(b, "scaleUp"), 0, &up);
        hpa_rules_read(json_object_get(b, "scaleDown"), HPA_DOWNSCALE_WINDOW, &down);
        d = hpa_normalize_behavior(&s->h, current, proposal, min, max, &up, &down, y->now, &no);
    }
    set_cond(y, "AbleToScale", "True", no.able_reason, "%s", no.able_msg);
    set_cond(y, "ScalingLimited", no.limited ? "True" : "False", no.limit_reason, "%s",
             no.limit_msg);
    return d;
}

/* reconcileAutoscaler from the scale on: returns -1 when it stopped early (status written). */
static void reconcile(struct hsync *y, struct hpa_state *s, const struct resource *r,
                      const json_t *scale, const char *name)
{
    int current = (int)jx_int(scale, "spec.replicas", 0), desired = 0, rescale = 1;
    int min = (int)jx_int(y->hpa, "spec.minReplicas", 1);
    int max = (int)jx_int(y->hpa, "spec.maxReplicas", 1);
    const char *sel = jx_str(scale, "status.selector") ?: "";
    char reason[256] = "", mname[160] = "", err[1024] = "";
    const char *tname = jx_str(y->hpa, "spec.scaleTargetRef.name");

    if (current == 0 && min != 0) {
        rescale = 0;
        set_cond(y, "ScalingActive", "False", "ScalingDisabled",
                 "scaling is disabled since the replica count of the target is zero");
    } else if (current > max) {
        snprintf(reason, sizeof reason, "Current number of replicas above Spec.MaxReplicas");
        desired = max;
    } else if (current < min) {
        snprintf(reason, sizeof reason, "Current number of replicas below Spec.MinReplicas");
        desired = min;
    } else {
        json_t *pods;
        int p;

        if (!*sel) {
            kc_event(ctl_kc(y->c), y->hpa, "Warning", "SelectorRequired", COMP,
                     "selector is required");
            set_cond(y, "ScalingActive", "False", "InvalidSelector",
                     "the HPA target's scale is missing a selector");
            goto status;
        }
        if (!(pods = target_pods(y, sel, err, sizeof err))) {
            kc_event(ctl_kc(y->c), y->hpa, "Warning", "InvalidSelector", COMP, "%s", err);
            set_cond(y, "ScalingActive", "False", "InvalidSelector", "%s", err);
            goto status;
        }
        p = metrics_replicas(y, pods, current, mname, sizeof mname, err, sizeof err);
        json_decref(pods);
        if (p < 0) {
            kc_event(ctl_kc(y->c), y->hpa, "Warning", "FailedComputeMetricsReplicas", COMP, "%s",
                     err);
            goto status;
        }
        desired = p;
        if (desired > current)
            snprintf(reason, sizeof reason, "%s above target", mname);
        else if (desired < current)
            snprintf(reason, sizeof reason, "All metrics below target");
        desired = normalize(y, s, current, desired, min, max);
        rescale = desired != current;
    }
    if (rescale && desired != current) {
        if (scale_write(y, r, tname, desired, err, sizeof err) < 0) {
            kc_event(ctl_kc(y->c), y->hpa, "Warning", "FailedRescale", COMP,
                     "New size: %d; reason: %s; error: %s", desired, reason, err);
            set_cond(y, "AbleToScale", "False", "FailedUpdateScale",
                     "the HPA controller was unable to update the target scale: %s", err);
            goto status;
        }
        set_cond(y, "AbleToScale", "True", "SucceededRescale",
                 "the HPA controller was able to update the target scale to %d", desired);
        kc_event(ctl_kc(y->c), y->hpa, "Normal", "SuccessfulRescale", COMP,
                 "New size: %d; reason: %s", desired, reason);
        if (json_is_object(jx_get(y->hpa, "spec.behavior"))) {
            struct hpa_rules up, down;

            hpa_rules_read(jx_get(y->hpa, "spec.behavior.scaleUp"), 0, &up);
            hpa_rules_read(jx_get(y->hpa, "spec.behavior.scaleDown"), HPA_DOWNSCALE_WINDOW, &down);
            hpa_scale_event_add(&s->h, current, desired, &up, &down, y->now);
        }
        char ts[32];

        time_rfc3339(y->now, ts);
        json_object_set_new(y->status, "lastScaleTime", json_string(ts));
    } else {
        desired = current;
    }
    json_object_set_new(y->status, "desiredReplicas", json_integer(desired));
status:
    json_object_set_new(y->status, "currentReplicas", json_integer(current));
    if (!json_object_get(y->status, "desiredReplicas"))
        json_object_set_new(y->status, "desiredReplicas", json_integer(current));
    status_write(y);
}

static void hpa_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    const json_t *hpa = kc_get(ctl_kc(c), kc_resource(RES_HPA), ns, name);
    const json_t *ref, *st;
    const struct resource *r;
    struct hpa_state *s;
    struct hsync y = {.c = c, .ns = ns, .now = time(NULL)};
    char msg[512];
    json_t *target, *scale;
    int fresh = 0;

    (void)ctx;
    if (!hpa || jx_get(hpa, "metadata.deletionTimestamp")) {
        ctl_state_drop(c, ns, name);
        return;
    }
    hpa = json_incref((json_t *)hpa);
    y.hpa = hpa;
    st = json_object_get(hpa, "status");
    y.status = json_is_object(st) ? json_deep_copy(st) : json_object();
    json_object_del(y.status, "desiredReplicas");
    ctl_enqueue_after(c, ns, name, HPA_SYNC_MS);
    if (!(s = ctl_state(c, ns, name, 1, &fresh)))
        goto out;
    ref = jx_get(hpa, "spec.scaleTargetRef");
    target = NULL;
    if ((r = target_resource(ref, msg, sizeof msg)) &&
        !(target = kc_get(ctl_kc(c), r, ns, jx_str(ref, "name") ?: "")))
        snprintf(msg, sizeof msg, "%s \"%s\" not found", r->key, jx_str(ref, "name") ?: "");
    if (!target) {
        kc_event(ctl_kc(c), hpa, "Warning", "FailedGetScale", COMP, "%s", msg);
        set_cond(&y, "AbleToScale", "False", "FailedGetScale",
                 "the HPA controller was unable to get the target's current scale: %s", msg);
        json_object_set_new(y.status, "currentReplicas",
                            json_integer(jx_int(st, "currentReplicas", 0)));
        json_object_set_new(y.status, "desiredReplicas",
                            json_integer(jx_int(st, "desiredReplicas", 0)));
        status_write(&y);
        goto out;
    }
    scale = kc_scale_of(r, target);
    set_cond(&y, "AbleToScale", "True", "SucceededGetScale",
             "the HPA controller was able to get the target's current scale");
    /* A new HPA (or a restarted controller) does not go below the size it first sees
     * within the scale-down window. */
    if (fresh)
        hpa_rec_add(&s->h, (int)jx_int(scale, "spec.replicas", 0), y.now, 0);
    reconcile(&y, s, r, scale, name);
    json_decref(scale);
out:
    json_decref(y.status);
    json_decref((json_t *)hpa);
}

struct ctl *ctrl_hpa_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, COMP, hpa_sync, NULL);

    ctl_state_init(c, sizeof(struct hpa_state), HPA_MAX_TRACKED);
    ctl_watch(c, RES_HPA, ctl_on_spec); /* the sync period does the rest */
    ctl_start(c);
    return c;
}
