/* The scheduler: binds pending pods to the node when it passes the NodeUnschedulable,
 * TaintToleration and NodeAffinity filters and their requests fit its allocatable
 * (cpu, memory, pods, extended resources such as nvidia.com/gpu), counting every bound pod that
 * has not finished — terminating pods included, as upstream. A pod that does not fit stays
 * Pending with PodScheduled=False/Unschedulable, the upstream message and a FailedScheduling
 * event, and is retried whenever a pod goes away or a node changes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "controllers/controllers.h"
#include "controllers/decide.h"
#include "controllers/podutil.h"
#include "controllers/taints.h"
#include "core/jx.h"
#include "core/log.h"

#define COMP "default-scheduler"

/* A quantity given as a string ("500m") or, from YAML, a number (1). */
static int qty(const json_t *v, int64_t *milli)
{
    char buf[64];

    if (json_is_string(v))
        return quantity_parse_milli(json_string_value(v), milli);
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return quantity_parse_milli(buf, milli);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.9g", json_real_value(v));
        return quantity_parse_milli(buf, milli);
    }
    return -1;
}

/* a + b, held at the int64 bounds: quantities go up to 9.2e18 milli-units each, so sums of
 * valid requests ("9P" CPUs twice) overflowed and wrapped to a request that fits. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;

    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* The request of one container for res: requests, or limits when no request is given (the API
 * server defaults requests from limits). */
static int container_request(const json_t *ctr, const char *res, int64_t *v)
{
    json_t *r = jx_get(ctr, "resources");
    json_t *q = json_object_get(json_object_get(r, "requests"), res);

    if (!q)
        q = json_object_get(json_object_get(r, "limits"), res);
    return q && qty(q, v) == 0 ? 0 : -1;
}

/* Effective request of one resource in milli-units: max(sum of containers, max init) plus the
 * pod overhead. */
static int64_t pod_request(const json_t *pod, const char *res)
{
    int64_t sum = 0, init = 0, v;
    json_t *cs = jx_get(pod, "spec.containers"), *ics = jx_get(pod, "spec.initContainers");

    for (size_t i = 0; i < json_array_size(cs); i++)
        if (container_request(json_array_get(cs, i), res, &v) == 0)
            sum = sat_add(sum, v);
    for (size_t i = 0; i < json_array_size(ics); i++)
        if (container_request(json_array_get(ics, i), res, &v) == 0 && v > init)
            init = v;
    if (init > sum)
        sum = init;
    if (qty(json_object_get(jx_get(pod, "spec.overhead"), res), &v) == 0)
        sum = sat_add(sum, v);
    return sum;
}

static int pod_holds_node(const json_t *pod, const char *node)
{
    const char *ph = jx_str(pod, "status.phase");

    return strcmp(jx_str(pod, "spec.nodeName") ?: "", node) == 0 &&
           (!ph || (strcmp(ph, "Succeeded") != 0 && strcmp(ph, "Failed") != 0));
}

/* Names of the resources the pod asks for (requests or limits of any container). */
static json_t *pod_resource_names(const json_t *pod)
{
    json_t *want = json_object(), *v;
    const char *lists[] = {"spec.containers", "spec.initContainers", "spec.overhead"}, *res;

    for (size_t l = 0; l < 2; l++) {
        json_t *cs = jx_get(pod, lists[l]);

        for (size_t i = 0; i < json_array_size(cs); i++) {
            json_t *r = jx_get(json_array_get(cs, i), "resources");

            json_object_foreach(json_object_get(r, "requests"), res, v)
                json_object_set_new(want, res, json_true());
            json_object_foreach(json_object_get(r, "limits"), res, v)
                json_object_set_new(want, res, json_true());
        }
    }
    json_object_foreach(jx_get(pod, lists[2]), res, v) json_object_set_new(want, res, json_true());
    return want;
}

/* The requests of res (NULL: 1000 per pod, the "pods" resource in milli-units) of the pods
 * bound to node that have not finished. */
static int64_t held(const json_t *pods, const char *node, const char *res)
{
    const char *k;
    json_t *p;
    int64_t sum = 0;

    json_object_foreach((json_t *)pods, k, p)
    {
        if (pod_holds_node(p, node))
            sum = sat_add(sum, res ? pod_request(p, res) : 1000);
    }
    return sum;
}

/* The filters that run before the resource fit, in upstream's order, each one ending the
 * node's checks with an unresolvable reason: NodeUnschedulable (a cordoned node, unless the pod
 * tolerates node.kubernetes.io/unschedulable:NoSchedule), TaintToleration (NoSchedule and
 * NoExecute taints; PreferNoSchedule only scores) and NodeAffinity (nodeSelector and required
 * terms). Returns 1 with the reason appended to whys when one fails. */
static int node_filters_fail(const json_t *node, const json_t *pod, json_t *whys)
{
    json_t *cordon = json_pack("{s:s,s:s}", "key", "node.kubernetes.io/unschedulable", "effect",
                               "NoSchedule");
    json_t *tols = jx_get(pod, "spec.tolerations"), *t;
    const json_t *bad;
    int tolerated = 0;
    size_t i;

    json_array_foreach(tols, i, t) tolerated |= toleration_tolerates(t, cordon);
    json_decref(cordon);
    if (jx_bool(node, "spec.unschedulable") && !tolerated) {
        json_array_append_new(whys, json_string("node(s) were unschedulable"));
        return 1;
    }
    if ((bad = taint_untolerated(node, pod, 0))) {
        json_array_append_new(whys, json_sprintf("node(s) had untolerated taint {%s: %s}",
                                                 jx_str(bad, "key") ?: "",
                                                 jx_str(bad, "value") ?: ""));
        return 1;
    }
    if (!node_affinity_matches(node, pod)) {
        json_array_append_new(whys,
                              json_string("node(s) didn't match Pod's node affinity/selector"));
        return 1;
    }
    return 0;
}

/* Checks one node. Appends every reason it does not fit to whys (a failed filter of
 * node_filters_fail gives only its reason; the resource fit reports all insufficient resources
 * at once). *unresolvable is set when preemption could not help: a failed filter, or a request
 * larger than the node's whole allocatable. */
static int node_fits(const json_t *node, const json_t *pod, const json_t *pods, json_t *whys,
                     int *unresolvable)
{
    const char *name = jx_str(node, "metadata.name"), *res;
    json_t *alloc = jx_get(node, "status.allocatable"), *v, *want;
    int64_t cap;

    *unresolvable = 1;
    if (node_filters_fail(node, pod, whys))
        return 0;
    *unresolvable = 0;
    if (qty(json_object_get(alloc, "pods"), &cap) == 0 && sat_add(held(pods, name, NULL), 1000) > cap)
        json_array_append_new(whys, json_string("Too many pods"));
    want = pod_resource_names(pod);
    json_object_foreach(want, res, v)
    {
        int64_t need = pod_request(pod, res);

        if (need <= 0)
            continue;
        if (qty(json_object_get(alloc, res), &cap) < 0)
            cap = 0;
        if (sat_add(held(pods, name, res), need) > cap) {
            json_array_append_new(whys, json_sprintf("Insufficient %s", res));
            if (need > cap)
                *unresolvable = 1;
        }
    }
    json_decref(want);
    return json_array_size(whys) == 0;
}

/* Appends ": <count> <reason>, ..." to buf: "count reason" strings sorted as strings, the way
 * upstream's FitError formats its histogram. */
static void reasons_format(const json_t *counts, char *buf, size_t n)
{
    const char *keys[64], *k;
    char items[64][160];
    size_t nk = 0, off = strlen(buf);
    json_t *v;

    json_object_foreach((json_t *)counts, k, v) if (nk < 64)
    {
        snprintf(items[nk], sizeof items[nk], "%lld %s", (long long)json_integer_value(v), k);
        keys[nk] = items[nk];
        nk++;
    }
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];

            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < nk && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s %s", i ? "," : ":", keys[i]);
}

static void count_add(json_t *counts, const char *key)
{
    json_object_set_new(counts, key,
                        json_integer(json_integer_value(json_object_get(counts, key)) + 1));
}

/* The FailedScheduling message: "0/N nodes are available: <reasons>. preemption: 0/N nodes are
 * available: <preemption outcomes>." — the trailing period after upstream's own gives "..". */
static void unschedulable_message(const json_t *reasons, const json_t *preempt, int total,
                                  char *msg, size_t n)
{
    size_t off;

    if (total == 0) {
        snprintf(msg, n, "no nodes available to schedule pods");
        return;
    }
    snprintf(msg, n, "0/%d nodes are available", total);
    reasons_format(reasons, msg, n);
    off = strlen(msg);
    if (off < n)
        snprintf(msg + off, n - off, ". preemption: 0/%d nodes are available", total);
    reasons_format(preempt, msg, n);
    off = strlen(msg);
    if (off < n)
        snprintf(msg + off, n - off, "..");
}

static void set_unschedulable(struct ctl *c, const json_t *pod, const char *msg)
{
    json_t *cur = cond_get(pod, "PodScheduled"), *np, *out = NULL;
    struct kc_wopts o = {.grace = -1, .status = 1};
    struct err err;
    char ts[32];

    if (cur && !strcmp(jx_str(cur, "status") ?: "", "False") &&
        !strcmp(jx_str(cur, "message") ?: "", msg))
        return;
    kc_event(ctl_kc(c), pod, "Warning", "FailedScheduling", COMP, "%s", msg);
    np = json_deep_copy(pod);
    time_rfc3339(time(NULL), ts);
    jx_set(np, "status.phase", json_string("Pending"));
    cond_set(jx_obj(np, "status"),
             json_pack("{s:s,s:s,s:n,s:s,s:s,s:s}", "type", "PodScheduled", "status", "False",
                       "lastProbeTime", "lastTransitionTime", ts, "reason", "Unschedulable",
                       "message", msg));
    err_init(&err);
    if (kc_update(ctl_kc(c), kc_resource(RES_POD), jx_str(pod, "metadata.namespace"),
                   jx_str(pod, "metadata.name"), np, &o, &out, &err) < 0)
        ctl_log_err(c, "pod status", jx_str(pod, "metadata.namespace"),
                    jx_str(pod, "metadata.name"), &err);
    json_decref(out);
    json_decref(np);
    err_release(&err);
}

const char *sched_pick_node(const json_t *nodes, const json_t *pod, const json_t *pods, char *msg,
                            size_t msg_size)
{
    json_t *reasons = json_object(), *preempt = json_object(), *node, *why;
    const char *k, *chosen = NULL;
    int total = 0, unres;
    size_t i;

    json_object_foreach((json_t *)nodes, k, node)
    {
        json_t *whys = json_array();

        total++;
        if (node_fits(node, pod, pods, whys, &unres)) {
            chosen = jx_str(node, "metadata.name");
            json_decref(whys);
            break;
        }
        json_array_foreach(whys, i, why) count_add(reasons, json_string_value(why));
        count_add(preempt, unres ? "Preemption is not helpful for scheduling"
                                 : "No preemption victims found for incoming pod");
        json_decref(whys);
    }
    if (!chosen)
        unschedulable_message(reasons, preempt, total, msg, msg_size);
    json_decref(reasons);
    json_decref(preempt);
    return chosen;
}

static void sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    json_t *pod = kc_get(ctl_kc(c), kc_resource(RES_POD), ns, name);
    const char *sched = jx_str(pod, "spec.schedulerName"), *chosen;
    char msg[1024];
    struct err err;

    if (!pod || jx_str(pod, "spec.nodeName") || jx_get(pod, "metadata.deletionTimestamp") ||
        (sched && strcmp(sched, COMP) != 0))
        return;
    json_incref(pod);
    chosen = sched_pick_node(ctl_map(c, RES_NODE), pod, ctl_map(c, RES_POD), msg, sizeof msg);
    err_init(&err);
    if (chosen) {
        if (kc_bind(ctl_kc(c), ns, name, chosen, &err) == 0)
            kc_event(ctl_kc(c), pod, "Normal", "Scheduled", COMP,
                      "Successfully assigned %s/%s to %s", ns, name, chosen);
        else
            ctl_log_err(c, "bind", ns, name, &err);
    } else {
        set_unschedulable(c, pod, msg);
        ctl_enqueue_after(c, ns, name, 300000);
    }
    err_release(&err);
    json_decref(pod);
}

static void requeue_pending(struct ctl *c)
{
    json_t *m = ctl_map(c, RES_POD), *p;
    const char *k;

    if (m)
        json_object_foreach(m, k, p) if (!jx_str(p, "spec.nodeName"))
            ctl_enqueue(c, jx_str(p, "metadata.namespace"), jx_str(p, "metadata.name"));
}

static void on_pod(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                   json_t *old, void *ctx)
{
    const char *ph = jx_str(obj, "status.phase");

    if (!jx_str(obj, "spec.nodeName") && strcmp(type, "DELETED") != 0)
        ctl_enqueue(c, jx_str(obj, "metadata.namespace"), jx_str(obj, "metadata.name"));
    /* A pod that frees resources may let pending pods fit. */
    if (jx_str(obj, "spec.nodeName") &&
        (!strcmp(type, "DELETED") || (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))))
        requeue_pending(c);
}

static void on_node(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                    json_t *old, void *ctx)
{
    requeue_pending(c);
}

struct ctl *ctrl_scheduler_start(struct kc *kc)
{
    struct ctl *c = ctl_new(kc, "scheduler", sync, NULL);

    ctl_watch(c, RES_POD, on_pod);
    ctl_watch(c, RES_NODE, on_node);
    ctl_start(c);
    return c;
}
