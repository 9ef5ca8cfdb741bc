/* The Pod kind's kind_ops entry: its write strategy, table printer (pkg/printers/internalversion,
 * 1.32), selectable fields, strategic-merge keys and protobuf message; its schema, defaults and
 * validation are resources/' res_kind descriptor. Objects are untrusted JSON: every getter
 * tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static int cond_true(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *st = jx_str(c, "status");
        if (t && !strcmp(t, type))
            return st && !strcmp(st, "True");
    }
    return 0;
}

struct podacc {
    json_int_t restarts, rrestarts; /* all containers / restartable init containers only */
    time_t last, rlast;             /* latest lastState.terminated.finishedAt of each */
    int ready, total;
    char reason[160];
};

static int init_restartable(const json_t *pod, const char *name)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_is_array(jx_get(pod, "spec.initContainers"))
                           ? jx_get(pod, "spec.initContainers")
                           : NULL,
                       i, c)
    {
        const char *n = jx_str(c, "name"), *rp = jx_str(c, "restartPolicy");
        if (n && name && !strcmp(n, name))
            return rp && !strcmp(rp, "Always");
    }
    return 0;
}

static void terminated_reason(const json_t *term, const char *prefix, char *out, size_t n)
{
    const char *r = jx_str(term, "reason");
    json_int_t sig = jx_int(term, "signal", 0);

    if (r && *r)
        snprintf(out, n, "%s%s", prefix, r);
    else if (sig)
        snprintf(out, n, "%sSignal:%lld", prefix, (long long)sig);
    else
        snprintf(out, n, "%sExitCode:%lld", prefix, (long long)jx_int(term, "exitCode", 0));
}

static void last_restart(const json_t *cs, time_t *last)
{
    time_t t = table__time_at(cs, "lastState.terminated.finishedAt");

    if (t > *last)
        *last = t;
}

/* Init containers in order; the first unfinished one decides. Returns
 * "initializing". */
static int pod_init_status(const json_t *pod, struct podacc *a)
{
    const json_t *st = jx_get(pod, "status.initContainerStatuses");
    size_t i, ninit = json_array_size(jx_get(pod, "spec.initContainers"));
    json_t *cs;

    json_array_foreach(json_is_array(st) ? st : NULL, i, cs)
    {
        const json_t *term = jx_get(cs, "state.terminated");
        const char *wr = jx_str(cs, "state.waiting.reason");
        int restartable = init_restartable(pod, jx_str(cs, "name"));

        a->restarts += jx_int(cs, "restartCount", 0);
        last_restart(cs, &a->last);
        if (restartable) {
            a->rrestarts += jx_int(cs, "restartCount", 0);
            last_restart(cs, &a->rlast);
        }
        if (json_is_object(term) && jx_int(term, "exitCode", 0) == 0)
            continue;
        if (restartable && jx_bool(cs, "started")) {
            a->ready += jx_bool(cs, "ready");
            continue;
        }
        if (json_is_object(term))
            terminated_reason(term, "Init:", a->reason, sizeof a->reason);
        else if (wr && *wr && strcmp(wr, "PodInitializing") != 0)
            snprintf(a->reason, sizeof a->reason, "Init:%s", wr);
        else
            snprintf(a->reason, sizeof a->reason, "Init:%zu/%zu", i, ninit);
        return 1;
    }
    return 0;
}

/* Regular containers from last to first, so the first container's state wins.
 */
static void pod_container_status(const json_t *pod, struct podacc *a)
{
    const json_t *st = jx_get(pod, "status.containerStatuses");
    size_t n = json_is_array(st) ? json_array_size(st) : 0;
    int running = 0;

    a->restarts = a->rrestarts;
    a->last = a->rlast;
    for (size_t i = n; i-- > 0;) {
        const json_t *cs = json_array_get(st, i);
        const json_t *term = jx_get(cs, "state.terminated");
        const char *wr = jx_str(cs, "state.waiting.reason");

        a->restarts += jx_int(cs, "restartCount", 0);
        last_restart(cs, &a->last);
        if (wr && *wr)
            snprintf(a->reason, sizeof a->reason, "%s", wr);
        else if (json_is_object(term))
            terminated_reason(term, "", a->reason, sizeof a->reason);
        else if (jx_bool(cs, "ready") && json_is_object(jx_get(cs, "state.running"))) {
            running = 1;
            a->ready++;
        }
    }
    if (!strcmp(a->reason, "Completed") && running)
        snprintf(a->reason, sizeof a->reason, "%s",
                 cond_true(jx_get(pod, "status.conditions"), "Ready") ? "Running" : "NotReady");
}

static void pod_status(const json_t *pod, struct podacc *a)
{
    const char *phase = table__str_or(jx_str(pod, "status.phase"), "");
    const char *sreason = jx_str(pod, "status.reason");
    const json_t *conds = jx_get(pod, "status.conditions");
    size_t i;
    json_t *c;

    memset(a, 0, sizeof *a);
    a->last = a->rlast = -1;
    a->total = (int)json_array_size(jx_get(pod, "spec.containers"));
    json_array_foreach(
        json_is_array(jx_get(pod, "spec.initContainers")) ? jx_get(pod, "spec.initContainers")
                                                          : NULL,
        i, c) a->total += !strcmp(table__str_or(jx_str(c, "restartPolicy"), ""), "Always");
    snprintf(a->reason, sizeof a->reason, "%s", table__str_or(sreason, phase));
    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *r = jx_str(c, "reason");
        if (t && r && !strcmp(t, "PodScheduled") && !strcmp(r, "SchedulingGated"))
            snprintf(a->reason, sizeof a->reason, "SchedulingGated");
    }
    if (!pod_init_status(pod, a) || cond_true(conds, "Initialized"))
        pod_container_status(pod, a);
    if (jx_get(pod, "metadata.deletionTimestamp") &&
        !json_is_null(jx_get(pod, "metadata.deletionTimestamp"))) {
        if (sreason && !strcmp(sreason, "NodeLost"))
            snprintf(a->reason, sizeof a->reason, "Unknown");
        else if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
            snprintf(a->reason, sizeof a->reason, "Terminating");
    }
}

static void pod_readiness_gates(const json_t *pod, char *out, size_t n)
{
    const json_t *gates = jx_get(pod, "spec.readinessGates");
    size_t ng = json_is_array(gates) ? json_array_size(gates) : 0, i, j, ok = 0;
    const json_t *conds = jx_get(pod, "status.conditions");
    json_t *g, *c;

    if (ng == 0) {
        snprintf(out, n, "<none>");
        return;
    }
    json_array_foreach(gates, i, g)
    {
        const char *want = jx_str(g, "conditionType");
        json_array_foreach(json_is_array(conds) ? conds : NULL, j, c)
        {
            const char *t = jx_str(c, "type");
            if (want && t && !strcmp(t, want)) {
                ok += table__str_or(jx_str(c, "status"), "")[0] == 'T';
                break;
            }
        }
    }
    snprintf(out, n, "%zu/%zu", ok, ng);
}

static void cells_pod(const json_t *o, time_t now, json_t *row)
{
    const char *ip = jx_str(json_array_get(jx_get(o, "status.podIPs"), 0), "ip");
    char buf[96], ago[32];
    struct podacc a;

    pod_status(o, &a);
    table__cell_str(row, jx_str(o, "metadata.name"));
    snprintf(buf, sizeof buf, "%d/%d", a.ready, a.total);
    table__cell_str(row, buf);
    table__cell_str(row, a.reason);
    if (a.restarts != 0 && a.last > 0) {
        time_human((int64_t)(now - a.last), ago, sizeof ago);
        snprintf(buf, sizeof buf, "%lld (%s ago)", (long long)a.restarts, ago);
    } else {
        snprintf(buf, sizeof buf, "%lld", (long long)a.restarts);
    }
    table__cell_str(row, buf);
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cell_str(row, table__str_or(ip ? ip : jx_str(o, "status.podIP"), "<none>"));
    table__cell_str(row, table__str_or(jx_str(o, "spec.nodeName"), "<none>"));
    table__cell_str(row, table__str_or(jx_str(o, "status.nominatedNodeName"), "<none>"));
    pod_readiness_gates(o, buf, sizeof buf);
    table__cell_str(row, buf);
}

/* Pods that ran to completion carry a row condition, as upstream (kubectl may
 * use it). */
static json_t *pod_row_conditions(const json_t *obj)
{
    const char *phase = jx_str(obj, "status.phase");

    if (!phase)
        return NULL;
    if (!strcmp(phase, "Succeeded"))
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Succeeded", "message", "The pod has completed successfully.");
    if (!strcmp(phase, "Failed"))
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Failed", "message", "The pod failed.");
    return NULL;
}

static const struct table_col pod_cols[] = {TABLE_COL_NAME,
                                            {"Ready", "string", 0},
                                            {"Status", "string", 0},
                                            {"Restarts", "string", 0},
                                            TABLE_COL_AGE,
                                            {"IP", "string", 1},
                                            {"Node", "string", 1},
                                            {"Nominated Node", "string", 1},
                                            {"Readiness Gates", "string", 1},
                                            TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const pod_fields[] = {"spec.nodeName",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.nominatedNodeName",
                                         NULL};

/* ---- strategy: writes and deletion ---- */

/* Create: status is the kubelet's; a new pod is Pending. */
static int pod_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    int rc = api__sa_admit(api, obj, err);

    if (rc < 0)
        return rc;
    api__vpa_admit(api, obj);
    json_object_set_new(obj, "status",
                        json_pack("{s:s,s:s}", "phase", "Pending", "qosClass", "BestEffort"));
    return 0;
}

/* Graceful deletion: terminationGracePeriodSeconds (or the request's), none for a pod that
 * never ran on a node or has finished. A repeated delete only shortens the grace; one with
 * no grace removes the pod at once unless finalizers hold it. */
static int pod_delete_grace(const json_t *old, long long wopt_grace, long long *grace, int *remove)
{
    const char *phase = jx_str(old, "status.phase");

    *grace = wopt_grace >= 0 ? wopt_grace : jx_int(old, "spec.terminationGracePeriodSeconds", 30);
    if (!jx_str(old, "spec.nodeName") ||
        (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
        *grace = 0;
    if (jx_get(old, "metadata.deletionTimestamp")) {
        if (*grace == 0 && json_array_size(jx_get(old, "metadata.finalizers")) == 0) {
            *remove = 1;
            return 0;
        }
        if (*grace >= jx_int(old, "metadata.deletionGracePeriodSeconds", 0))
            return -1;
    }
    return *grace > 0;
}

/* A deleted pod goes away when its kubelet has stopped it, not when its finalizers are gone. */
static int pod_finalized(const json_t *obj)
{
    (void)obj;
    return 0;
}

/* ---- strategic merge keys ---- */

static const struct patch_merge_row merge_rows[] = {
    {"status.conditions", PATCH_MAP1("type")},
    {"status.podIPs", PATCH_MAP1("ip")},
    {"status.hostIPs", PATCH_MAP1("ip")},
    {NULL, PATCH_ATOMIC},
};
static const struct patch_schema merge = {"spec", merge_rows};

const struct kind_ops kind_POD = {
    .res = &res_kind_pod,
    .prepare_create = pod_prepare_create,
    .delete_grace = pod_delete_grace,
    .finalized = pod_finalized,
    .cols = pod_cols,
    .cells = cells_pod,
    .row_conditions = pod_row_conditions,
    .field_selectors = pod_fields,
    .merge = &merge,
    .pb = &pb_msg_Pod,
};
