/* The VerticalPodAutoscaler kind's kind_ops entry (autoscaling.k8s.io/v1, a CRD upstream): status
 * through /status only, the CRD's additionalPrinterColumns (Mode, CPU, Mem, Provided, Age: the
 * first container's target) and, for pods, the admission of updateMode Initial (and Auto and
 * Recreate, which kroll treats as Initial): a new pod whose labels a VPA's target selects gets
 * the VPA's target requests, and limits scaled in proportion (controlledValues
 * RequestsAndLimits), with the vpaUpdates / vpaObservedContainers annotations of upstream's
 * admission controller. Schema and validation are resources/vpa.c; the recommendations come
 * from controllers/vpa.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/selector.h"
#include "core/vpapolicy.h"

static const char *first_target(const json_t *o, const char *res)
{
    const json_t *c =
        json_array_get(jx_get(o, "status.recommendation.containerRecommendations"), 0);

    return jx_str(jx_get(c, "target"), res) ?: "";
}

static void cells_vpa(const json_t *o, time_t now, json_t *row)
{
    const json_t *c;
    const char *provided = "";
    size_t i;

    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "spec.updatePolicy.updateMode") ?: "");
    table__cell_str(row, first_target(o, "cpu"));
    table__cell_str(row, first_target(o, "memory"));
    json_array_foreach(jx_get(o, "status.conditions"), i, c)
    {
        if (strcmp(jx_str(c, "type") ?: "", "RecommendationProvided") == 0)
            provided = jx_str(c, "status") ?: "";
    }
    table__cell_str(row, provided);
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col vpa_cols[] = {
    TABLE_COL_NAME,       {"Mode", "string", 0},     {"CPU", "string", 0},
    {"Mem", "string", 0}, {"Provided", "string", 0}, TABLE_COL_AGE,
    TABLE_COL_END};

static const struct patch_merge_row merge_rows[] = {
    {NULL, PATCH_ATOMIC},
};
static const struct patch_schema merge = {NULL, merge_rows};

const struct kind_ops kind_VPA = {
    .res = &res_kind_vpa,
    .prepare_create = kind_create_drop_status,
    .cols = vpa_cols,
    .cells = cells_vpa,
    .merge = &merge,
};

/* ---- admission of pods (updateMode Initial) ---- */

#define VPA_ADMIT_MAX 256 /* VPAs looked at per pod */

/* True when the VPA's target (resolved through the resource table) selects the pod. */
static int vpa_selects(struct api *api, const json_t *vpa, const json_t *pod, const char *ns)
{
    const json_t *ref = jx_get(vpa, "spec.targetRef"), *t;
    const char *av = jx_str(ref, "apiVersion") ?: "", *slash = strchr(av, '/');
    const struct resource *r;
    struct labelsel *ls = NULL;
    struct err err;
    char group[128];
    int ok = 0;

    snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - av) : 0, av);
    r = scheme_by_kind(group, jx_str(ref, "kind") ?: "");
    if (!r || !(t = api_get(api, r, ns, jx_str(ref, "name") ?: "")))
        return 0;
    err_init(&err);
    if (json_is_object(jx_get(t, "spec.selector")) &&
        labelsel_from_object(jx_get(t, "spec.selector"), &ls, &err) == 0)
        ok = !labelsel_empty(ls) && labelsel_match(ls, jx_get(pod, "metadata.labels"));
    labelsel_free(ls);
    err_release(&err);
    return ok;
}

/* Sets one resource of one container to target; records the request change in req and the
 * limit change in lim ("cpu request", "cpu limit") as upstream's vpaUpdates lists them. */
static void admit_resource(json_t *c, const json_t *target, const char *res, int limits,
                           struct buf *req, struct buf *lim)
{
    const char *want = jx_str(target, res);
    int64_t nv, ov, lv;
    char path[64], q[48];

    if (!want || quantity_parse_milli(want, &nv) < 0)
        return;
    /* A container without a request takes its limit as request (the apiserver's default). */
    snprintf(path, sizeof path, "resources.requests.%s", res);
    if (quantity_json_milli(jx_get(c, path), &ov) < 0) {
        snprintf(path, sizeof path, "resources.limits.%s", res);
        if (quantity_json_milli(jx_get(c, path), &ov) < 0)
            ov = 0;
        snprintf(path, sizeof path, "resources.requests.%s", res);
    }
    snprintf(q, sizeof q, "resources.limits.%s", res);
    if (!limits && quantity_json_milli(jx_get(c, q), &lv) == 0 && nv > lv) {
        /* RequestsOnly: the request stays within the limit (capRecommendationToContainerLimit),
         * so the pod stays valid (requests <= limits). */
        jx_set(c, path, json_incref(jx_get(c, q)));
    } else {
        jx_set(c, path, json_string(want));
    }
    buf_appendf(req, "%s%s request", req->len ? ", " : "", res);
    snprintf(path, sizeof path, "resources.limits.%s", res);
    if (!limits || quantity_json_milli(jx_get(c, path), &lv) < 0 || ov <= 0)
        return;
    /* The limit scales as the request did (upstream's proportional limit). */
    lv = (int64_t)((double)lv * ((double)nv / (double)ov));
    quantity_fmt_milli(lv, strcmp(res, "cpu") == 0, q, sizeof q);
    jx_set(c, path, json_string(q));
    buf_appendf(lim, ", %s limit", res);
}

/* One container against its recommendation: appends "container i: ..." to upd when it changed. */
static void admit_container(const json_t *vpa, const json_t *rc, json_t *c, size_t i,
                            struct buf *upd)
{
    const json_t *pol = vpa_policy_of(vpa, jx_str(c, "name") ?: "");
    int limits = strcmp(jx_str(pol, "controlledValues") ?: "", "RequestsOnly") != 0;
    struct buf req, lim;

    if (strcmp(jx_str(pol, "mode") ?: "", "Off") == 0)
        return;
    buf_init(&req, 256);
    buf_init(&lim, 256);
    for (int k = 0; k < 2; k++) {
        const char *res = k ? "memory" : "cpu";

        if (vpa_policy_controls(pol, res))
            admit_resource(c, json_object_get(rc, "target"), res, limits, &req, &lim);
    }
    if (req.len)
        buf_appendf(upd, "%scontainer %zu: %.*s%.*s", upd->len ? "; " : "", i, (int)req.len,
                    req.data, (int)lim.len, lim.data ? lim.data : "");
    buf_release(&req);
    buf_release(&lim);
}

static void admit_pod(const json_t *vpa, json_t *pod)
{
    const json_t *recs = jx_get(vpa, "status.recommendation.containerRecommendations"), *rc;
    json_t *cs = jx_get(pod, "spec.containers"), *c;
    struct buf upd, obs;
    size_t i, j;

    buf_init(&upd, 8192);
    buf_init(&obs, 8192);
    json_array_foreach(cs, i, c)
    {
        const char *name = jx_str(c, "name") ?: "";

        buf_appendf(&obs, "%s%s", i ? ", " : "", name);
        json_array_foreach(recs, j, rc)
        {
            if (strcmp(jx_str(rc, "containerName") ?: "", name) == 0) {
                admit_container(vpa, rc, c, i, &upd);
                break;
            }
        }
    }
    jx_set(pod, "metadata.annotations.vpaObservedContainers",
           json_stringn(obs.data ? obs.data : "", obs.len));
    if (upd.len)
        jx_set(pod, "metadata.annotations.vpaUpdates",
               json_sprintf("Pod resources updated by %s: %.*s", jx_str(vpa, "metadata.name") ?: "",
                            (int)upd.len, upd.data));
    buf_release(&upd);
    buf_release(&obs);
}

/* Sets a new pod's requests from the first VPA (not Off) whose target selects it. Returns 1
 * when one applied, else 0. */
int api__vpa_admit(struct api *api, json_t *pod)
{
    json_t *m = store_map(api->store, scheme_resources[RES_VPA].key), *v;
    const char *ns = jx_str(pod, "metadata.namespace") ?: "", *k;
    int seen = 0;

    json_object_foreach(m, k, v)
    {
        const char *mode = jx_str(v, "spec.updatePolicy.updateMode") ?: "Auto";

        if (strcmp(jx_str(v, "metadata.namespace") ?: "", ns) != 0 || strcmp(mode, "Off") == 0)
            continue;
        if (++seen > VPA_ADMIT_MAX)
            break;
        if (!json_array_size(jx_get(v, "status.recommendation.containerRecommendations")) ||
            !vpa_selects(api, v, pod, ns))
            continue;
        admit_pod(v, pod);
        return 1;
    }
    return 0;
}
