/* GPU-safe surge: detecting a surge pod that can never be scheduled, the verdict (condition
 * reason and message, fallback) shared by the Deployment and Rollout controllers, and the
 * one-at-a-time fallback (see surge.h). When to look and what to scale stay with each. */
#include "controllers/surge.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/selector.h"
#include "controllers/podutil.h"
#include "core/jx.h"

int surge_extended(const char *name, size_t n)
{
    static const char *const native[] = {"cpu", "memory", "pods", "ephemeral-storage"};

    if (n == 0)
        return 0;
    for (size_t i = 0; i < sizeof native / sizeof native[0]; i++)
        if (strlen(native[i]) == n && !memcmp(native[i], name, n))
            return 0;
    if (n > 9 && !memcmp(name, "hugepages-", 10))
        return 0;
    /* Extended resources are domain-prefixed (nvidia.com/gpu); kubernetes.io/ is native. */
    return memchr(name, '/', n) && !(n > 14 && !memcmp(name, "kubernetes.io/", 14));
}

int surge_insufficient(const char *msg, char *out, size_t n)
{
    static const char key[] = "Insufficient ";

    for (const char *p = msg ? strstr(msg, key) : NULL; p; p = strstr(p + 1, key)) {
        const char *r = p + sizeof key - 1;
        size_t len = strcspn(r, " ,;\n");

        /* a trailing '.' ends the sentence; resource names have none at their end */
        while (len > 0 && r[len - 1] == '.')
            len--;
        if (len > 0 && len < n && surge_extended(r, len)) {
            memcpy(out, r, len);
            out[len] = 0;
            return 1;
        }
    }
    return 0;
}

int surge_blocked(struct ctl *c, const json_t *nrs, struct surge_block *b)
{
    json_t *pods = ctl_map(c, RES_POD), *p;
    const char *k;

    if (!nrs || !pods)
        return 0;
    json_object_foreach(pods, k, p)
    {
        const json_t *sc;

        if (!is_controlled_by(p, nrs) || strcmp(jx_str(p, "status.phase") ?: "", "Pending") ||
            jx_get(p, "metadata.deletionTimestamp") || jx_str(p, "spec.nodeName"))
            continue;
        sc = cond_get(p, "PodScheduled");
        if (sc && !strcmp(jx_str(sc, "status") ?: "", "False") &&
            !strcmp(jx_str(sc, "reason") ?: "", "Unschedulable") &&
            surge_insufficient(jx_str(sc, "message"), b->resource, sizeof b->resource)) {
            snprintf(b->pod, sizeof b->pod, "%s", jx_str(p, "metadata.name") ?: "");
            return 1;
        }
    }
    return 0;
}

/* 0 (b->pdb named) when pdb is of namespace ns, selects labels and allows no disruption. */
static int pdb_allows(const json_t *pdb, const char *ns, const json_t *labels,
                      struct surge_block *b)
{
    struct labelsel *sel = NULL;
    struct err err;
    int match;

    if (strcmp(jx_str(pdb, "metadata.namespace") ?: "", ns))
        return 1;
    err_init(&err);
    match = labelsel_from_object(jx_get(pdb, "spec.selector"), &sel, &err) == 0 &&
            !labelsel_empty(sel) && labelsel_match(sel, labels);
    if (sel)
        labelsel_free(sel);
    err_release(&err);
    if (match && jx_int(pdb, "status.disruptionsAllowed", 0) < 1) {
        snprintf(b->pdb, sizeof b->pdb, "%s", jx_str(pdb, "metadata.name") ?: "");
        return 0;
    }
    return 1;
}

int surge_pdb_allows_in(const json_t *pdbs, const json_t *d, struct surge_block *b)
{
    const json_t *labels = jx_get(d, "spec.template.metadata.labels");
    const char *ns = jx_str(d, "metadata.namespace") ?: "";
    json_t *pdb;
    void *it;

    /* An array or a map: both iterate over their values. */
    for (size_t i = 0; json_is_array(pdbs) && i < json_array_size(pdbs); i++)
        if (!pdb_allows(json_array_get(pdbs, i), ns, labels, b))
            return 0;
    for (it = json_is_object(pdbs) ? json_object_iter((json_t *)pdbs) : NULL; it;
         it = json_object_iter_next((json_t *)pdbs, it)) {
        pdb = json_object_iter_value(it);
        if (!pdb_allows(pdb, ns, labels, b))
            return 0;
    }
    return 1;
}

int surge_pdb_allows(struct ctl *c, const json_t *d, struct surge_block *b)
{
    return surge_pdb_allows_in(ctl_map(c, RES_PDB), d, b);
}

json_t *surge_fallback_spec(const json_t *d)
{
    json_t *cp = json_deep_copy(d);

    jx_set(cp, "spec.strategy.rollingUpdate",
           json_pack("{s:i,s:i}", "maxSurge", 0, "maxUnavailable", 1));
    return cp;
}

int surge_assess(struct ctl *c, const json_t *obj, const char *kind, const json_t *nrs,
                 struct surge_verdict *v)
{
    struct surge_block b = {.resource = ""};
    const char *opt = jx_annotation(obj, SURGE_A_FALLBACK);

    memset(v, 0, sizeof *v);
    if (!surge_blocked(c, nrs, &b))
        return 0;
    if (!opt || strcmp(opt, "true") != 0) {
        v->reason = "InsufficientResource";
        snprintf(v->msg, sizeof v->msg,
                 "Surge pod %s cannot be scheduled: Insufficient %s, so this rollout waits for "
                 "capacity. Set maxSurge: 0 and maxUnavailable: 1 to replace pods in place, or "
                 "annotate the %s %s=true to let kroll do that while the "
                 "PodDisruptionBudgets allow it.",
                 b.pod, b.resource, kind, SURGE_A_FALLBACK);
    } else if (!surge_pdb_allows(c, obj, &b)) {
        v->reason = "DisruptionBudget";
        v->recheck = 1;
        snprintf(v->msg, sizeof v->msg,
                 "Surge pod %s cannot be scheduled: Insufficient %s, and PodDisruptionBudget %s "
                 "allows no disruption, so kroll cannot replace pods in place: waiting.",
                 b.pod, b.resource, b.pdb);
    } else {
        v->reason = "SurgeFallback";
        v->fallback = 1;
        snprintf(v->msg, sizeof v->msg,
                 "Surge pod %s cannot be scheduled: Insufficient %s; replacing one pod at a "
                 "time (maxSurge 0, maxUnavailable 1) until the rollout completes.",
                 b.pod, b.resource);
    }
    return 1;
}

json_t *surge_condition(const struct surge_verdict *v)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", SURGE_COND, "status", "True",
                     "lastUpdateTime", ts, "lastTransitionTime", ts, "reason", v->reason, "message",
                     v->msg);
}

static int unschedulable(const json_t *pod)
{
    const json_t *sc = cond_get(pod, "PodScheduled");

    return sc && !strcmp(jx_str(sc, "reason") ?: "", "Unschedulable");
}

int surge_newly_unschedulable(const char *type, const json_t *pod, const json_t *old)
{
    return !strcmp(type, "MODIFIED") && unschedulable(pod) && !(old && unschedulable(old));
}
