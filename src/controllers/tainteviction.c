/* The taint-eviction controller: a pod bound to a node with a NoExecute taint it does not
 * tolerate is deleted at once; one it tolerates with tolerationSeconds is deleted that long
 * after the controller first saw it tainted (the smallest of the tolerations used); removing
 * the taint in time cancels the deletion. Each step is a TaintManagerEviction event ("Marking
 * for deletion Pod ns/name", "Cancelling deletion of Pod ns/name") and a deleted pod first gets
 * the DisruptionTarget condition, as upstream's controller does. A pod owned by a ReplicaSet is
 * recreated by it and stays Pending while the taint is there (the scheduler's TaintToleration
 * filter). The start times live in memory only, as upstream's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/podutil.h"
#include "controllers/taints.h"
#include "core/jx.h"

#define COMP "taint-eviction-controller"

struct te {
    json_t *started; /* "ns/name" -> monotonic ms at which a timed eviction started */
};

static const json_t *node_named(struct ctl *c, const char *name)
{
    json_t *m = ctl_map(c, RES_NODE), *n;
    const char *k;

    json_object_foreach(m, k, n) if (!strcmp(jx_str(n, "metadata.name") ?: "", name)) return n;
    return NULL;
}

static void mark_disrupted(struct ctl *c, const json_t *pod)
{
    struct kc_wopts o = {.grace = -1, .status = 1};
    json_t *np = json_deep_copy(pod), *out = NULL;
    struct err err;
    char ts[32];

    time_rfc3339(time(NULL), ts);
    cond_set(jx_obj(np, "status"),
             json_pack("{s:s,s:s,s:n,s:s,s:s,s:s}", "type", "DisruptionTarget", "status", "True",
                       "lastProbeTime", "lastTransitionTime", ts, "reason",
                       "DeletionByTaintManager", "message",
                       "Taint manager: deleting due to NoExecute taint"));
    err_init(&err);
    kc_update(ctl_kc(c), kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
               jx_str(pod, "metadata.name"), np, &o, &out, &err);
    json_decref(out);
    json_decref(np);
    err_release(&err);
}

static void evict(struct ctl *c, const json_t *pod, const char *ns, const char *name)
{
    struct kc_wopts o = {.grace = -1};
    json_t *out = NULL;
    struct err err;

    kc_event(ctl_kc(c), pod, "Normal", "TaintManagerEviction", COMP,
              "Marking for deletion Pod %s/%s", ns, name);
    mark_disrupted(c, pod);
    err_init(&err);
    if (kc_delete(ctl_kc(c), kc_resource(RES_POD), ns, name, &o, &out, &err) < 0 &&
        err.code != -E_NOT_FOUND)
        ctl_log_err(c, "taint eviction", ns, name, &err);
    json_decref(out);
    err_release(&err);
}

static void cancel(struct ctl *c, struct te *te, const json_t *pod, const char *key)
{
    if (!json_object_get(te->started, key))
        return;
    json_object_del(te->started, key);
    if (pod)
        kc_event(ctl_kc(c), pod, "Normal", "TaintManagerEviction", COMP,
                  "Cancelling deletion of Pod %s", key);
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    struct te *te = ctx;
    json_t *pod = kc_get(ctl_kc(c), kc_resource(RES_POD), ns, name), *st;
    const json_t *node;
    const char *nn = jx_str(pod, "spec.nodeName");
    long long secs;
    int64_t now = time_mono_ms(), start, due;
    char key[512];

    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (!pod || !nn || jx_get(pod, "metadata.deletionTimestamp")) {
        json_object_del(te->started, key);
        return;
    }
    json_incref(pod);
    node = node_named(c, nn);
    secs = node ? noexec_toleration_seconds(node, pod) : -1;
    if (secs < 0) {
        cancel(c, te, pod, key);
    } else if (secs == 0) {
        json_object_del(te->started, key);
        evict(c, pod, ns, name);
    } else {
        st = json_object_get(te->started, key);
        start = st ? json_integer_value(st) : now;
        if (!st)
            json_object_set_new(te->started, key, json_integer(start));
        due = start + secs * 1000;
        if (now >= due) {
            json_object_del(te->started, key);
            evict(c, pod, ns, name);
        } else {
            ctl_enqueue_after(c, ns, name, due - now);
        }
    }
    json_decref(pod);
}

/* A node's NoExecute taints changed (or any change: cheap with one node): every pod bound to
 * it is checked again. */
static void on_node(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx)
{
    json_t *m = ctl_map(c, RES_POD), *p;
    const char *k, *name = jx_str(obj, "metadata.name") ?: "";

    if (old && jx_equal_semantic(jx_get(obj, "spec.taints"), jx_get(old, "spec.taints")))
        return;
    json_object_foreach(m, k, p) if (!strcmp(jx_str(p, "spec.nodeName") ?: "", name))
        ctl_enqueue(c, jx_str(p, "metadata.namespace"), jx_str(p, "metadata.name"));
}

static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    struct te *te = ctx;
    char key[512];

    if (!strcmp(type, "DELETED")) {
        snprintf(key, sizeof key, "%s/%s", jx_str(obj, "metadata.namespace") ?: "",
                 jx_str(obj, "metadata.name") ?: "");
        cancel(c, te, obj, key);
        return;
    }
    if (old &&
        jx_equal_semantic(jx_get(obj, "spec.tolerations"), jx_get(old, "spec.tolerations")) &&
        !strcmp(jx_str(obj, "spec.nodeName") ?: "", jx_str(old, "spec.nodeName") ?: ""))
        return;
    if (jx_str(obj, "spec.nodeName"))
        ctl_enqueue(c, jx_str(obj, "metadata.namespace"), jx_str(obj, "metadata.name"));
}

static void te_release(void *ctx)
{
    struct te *te = ctx;

    json_decref(te->started);
    free(te);
}

struct ctl *ctrl_tainteviction_start(struct kc *kc)
{
    struct te *te = calloc(1, sizeof *te);
    struct ctl *c;

    if (!te)
        abort();
    te->started = json_object();
    c = ctl_new(kc, COMP, sync, te);
    ctl_set_release(c, te_release);
    ctl_watch(c, RES_NODE, on_node);
    ctl_watch(c, RES_POD, on_pod);
    ctl_start(c);
    return c;
}
