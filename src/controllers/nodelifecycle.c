/* The node lifecycle controller's cordon part: a node with spec.unschedulable (kubectl cordon)
 * gets the node.kubernetes.io/unschedulable:NoSchedule taint, with timeAdded, and loses it when
 * uncordoned, as upstream's taint-nodes-by-condition does. The not-ready and unreachable taints
 * are not set: the node runs inside the server, so it never stops reporting. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "core/jx.h"

#define TAINT_UNSCHED "node.kubernetes.io/unschedulable"

static int is_cordon_taint(const json_t *t)
{
    return !strcmp(jx_str(t, "key") ?: "", TAINT_UNSCHED) &&
           !strcmp(jx_str(t, "effect") ?: "", "NoSchedule");
}

/* The node's taints with the cordon taint added (want) or removed; NULL when unchanged. */
static json_t *taints_wanted(const json_t *node, int want)
{
    json_t *cur = jx_get(node, "spec.taints"), *out = json_array(), *t;
    int had = 0;
    size_t i;
    char ts[32];

    json_array_foreach(cur, i, t)
    {
        if (is_cordon_taint(t))
            had = 1;
        if (!is_cordon_taint(t) || want)
            json_array_append(out, t);
    }
    if (had == want) {
        json_decref(out);
        return NULL;
    }
    if (want) {
        time_rfc3339(time(NULL), ts);
        json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "key", TAINT_UNSCHED, "effect",
                                             "NoSchedule", "timeAdded", ts));
    }
    return out;
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *node = kc_get(ctl_kc(c), kc_resource(RES_NODE), NULL, name), *taints, *np;
    json_t *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "node-lifecycle-controller"};
    struct err err;

    if (!node || !(taints = taints_wanted(node, jx_bool(node, "spec.unschedulable"))))
        return;
    np = json_deep_copy(node);
    if (json_array_size(taints))
        jx_set(np, "spec.taints", taints);
    else {
        json_decref(taints);
        jx_del(np, "spec.taints");
    }
    err_init(&err);
    if (kc_update(ctl_kc(c), kc_resource(RES_NODE), NULL, name, np, &o, &out, &err) < 0)
        ctl_log_err(c, "node taints", NULL, name, &err);
    json_decref(out);
    json_decref(np);
    err_release(&err);
}

struct ctl *ctrl_nodelifecycle_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "node-lifecycle-controller", sync, NULL);

    ctl_watch(c, RES_NODE, NULL);
    ctl_start(c);
    return c;
}
