/* Pod status as the kubelet reports it (k8s-semantics 7.1-7.3): container statuses, phase,
 * conditions, IPs, startTime and QoS class. Written through the status subresource only when
 * something changed; conditions keep their lastTransitionTime unless their status flips. */
#include "node/node-int.h"
#include "node/ocispec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cond.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"


static json_t *cont_status(const struct kcont *c)
{
    const struct kpod *p = c->p;
    json_t *s = json_pack("{s:s,s:s,s:s,s:i,s:b,s:b}", "name", c->name, "image", c->image,
                          "imageID", c->image_id, "restartCount", c->restart_count, "ready",
                          kubelet__cont_ready(c), "started",
                          c->st == KC_RUNNING && c->started && !c->poststart_pending);
    json_t *state = json_object();

    if (c->st == KC_RUNNING) {
        json_object_set_new(state, "running", json_pack("{s:s}", "startedAt", c->started_at));
    } else if (c->st == KC_EXITED && c->term) {
        json_object_set_new(state, "terminated", json_deep_copy(c->term));
    } else {
        json_t *w = json_pack("{s:s}", "reason", c->reason[0] ? c->reason : "ContainerCreating");

        if (c->message)
            json_object_set_new(w, "message", json_string(c->message));
        if (p->ninit && !c->init && !strcmp(c->reason, "ContainerCreating"))
            json_object_set_new(w, "reason", json_string("PodInitializing"));
        json_object_set_new(state, "waiting", w);
    }
    json_object_set_new(s, "state", state);
    json_object_set_new(s, "lastState", c->last_term ?
                        json_pack("{s:O}", "terminated", c->last_term) : json_object());
    if (c->st != KC_NONE && (c->st == KC_RUNNING || c->term || c->last_term))
        json_object_set_new(s, "containerID",
                            json_sprintf("kroll://%.8s-%s-%d", p->uid, c->name, c->restart_count));
    return s;
}

static const char *pod_phase(const struct kpod *p, const json_t *pod)
{
    const char *policy = jx_str(pod, "spec.restartPolicy") ?: "Always";
    int running = 0, stopped = 0, succeeded = 0, waiting = 0, failed = 0;

    for (int i = 0; i < p->ninit; i++) {
        const struct kcont *c = &p->c[i];
        int code = (int)jx_int(c->term, "exitCode", -1);

        if (c->st == KC_EXITED && code == 0)
            continue;
        if (c->st == KC_EXITED && code != 0 && !strcmp(policy, "Never"))
            return "Failed";
        return "Pending";
    }
    for (int i = p->ninit; i < p->nc; i++) {
        const struct kcont *c = &p->c[i];

        if (c->st == KC_RUNNING) {
            running++;
        } else if (c->st == KC_EXITED || (c->st == KC_WAITING && c->last_term)) {
            const json_t *t = c->term ? c->term : c->last_term;

            stopped++;
            if (jx_int(t, "exitCode", 1) == 0)
                succeeded++;
            else
                failed++;
        } else {
            waiting++;
        }
    }
    if (waiting)
        return "Pending";
    if (running)
        return "Running";
    if (!stopped)
        return "Pending";
    if (p->state == POD_TERMINATED || p->state == POD_CLEANED)
        return failed ? "Failed" : "Succeeded";
    if (!strcmp(policy, "Always"))
        return "Running";
    if (!strcmp(policy, "OnFailure"))
        return failed ? "Running" : "Succeeded";
    /* Never: only finished containers count */
    for (int i = p->ninit; i < p->nc; i++)
        if (p->c[i].st != KC_EXITED)
            return "Running";
    return failed ? "Failed" : "Succeeded";
}

static void names_of(const struct kpod *p, int from, int to, int (*pick)(const struct kcont *),
                     char *out, size_t n)
{
    size_t off = 0;

    out[0] = 0;
    for (int i = from; i < to; i++)
        if (pick(&p->c[i]))
            off += (size_t)snprintf(out + off, off < n ? n - off : 0, "%s%s", off ? " " : "",
                                    p->c[i].name);
}

static int not_ready(const struct kcont *c)
{
    return !kubelet__cont_ready(c);
}

static int init_incomplete(const struct kcont *c)
{
    return !(c->st == KC_EXITED && jx_int(c->term, "exitCode", -1) == 0);
}

static json_t *cond(const char *type, int ok, const char *reason, const char *msg)
{
    char ts[32];
    json_t *c;

    time_rfc3339(time(NULL), ts);
    c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", ok ? "True" : "False",
                  "lastProbeTime", "lastTransitionTime", ts);
    if (!ok && reason)
        json_object_set_new(c, "reason", json_string(reason));
    if (!ok && msg)
        json_object_set_new(c, "message", json_string(msg));
    return c;
}

static void conditions_set(const struct kpod *p, json_t *st, const char *phase)
{
    char names[1024], msg[1200];
    int terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    int sandbox = p->shim_pid > 0 || p->host_network;

    names_of(p, 0, p->ninit, init_incomplete, names, sizeof names);
    snprintf(msg, sizeof msg, "containers with incomplete status: [%s]", names);
    cond_set(st, cond("PodReadyToStartContainers", sandbox, NULL, NULL));
    cond_set(st, cond("Initialized", !names[0], "ContainersNotInitialized", msg));
    names_of(p, p->ninit, p->nc, not_ready, names, sizeof names);
    snprintf(msg, sizeof msg, "containers with unready status: [%s]", names);
    if (terminal) {
        const char *r = !strcmp(phase, "Succeeded") ? "PodCompleted" : "PodFailed";

        cond_set(st, cond("ContainersReady", 0, r, NULL));
        cond_set(st, cond("Ready", 0, r, NULL));
    } else {
        cond_set(st, cond("ContainersReady", !names[0], "ContainersNotReady", msg));
        cond_set(st, cond("Ready", !names[0], "ContainersNotReady", msg));
    }
}

/* Publishes where the pod's network namespace is (POD_NETNS_ANNOTATION) when the pod does not
 * say it yet, or says something else. Returns the pod as it is now (a new reference): the
 * status write that follows must start from the resourceVersion this patch made. */
static json_t *netns_publish(struct kpod *p, const json_t *pod)
{
    const char *have, *want = p->host_network || !p->shim_pid ? NULL : p->netns;
    struct kc_wopts o = {.grace = -1, .manager = "kubelet"};
    json_t *patch, *out = NULL;
    struct err err;

    have = jx_annotation(pod, POD_NETNS_ANNOTATION);
    if (!want || (have && !strcmp(have, want)))
        return json_incref((json_t *)pod);
    patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", POD_NETNS_ANNOTATION, want);
    err_init(&err);
    if (kc_patch(p->kl->kc, kc_resource(RES_POD), p->ns, p->name,
                  "application/merge-patch+json", patch, &o, &out, &err) < 0) {
        ctl_log_err(p->kl->ctl, "publish pod netns", p->ns, p->name, &err);
        out = json_incref((json_t *)pod);
    }
    json_decref(patch);
    err_release(&err);
    return out;
}

void kubelet__status_write(struct kpod *p, const json_t *cur)
{
    struct kubelet *kl = p->kl;
    json_t *pod = netns_publish(p, cur);
    json_t *obj = json_deep_copy(pod), *st = jx_obj(obj, "status"), *ics, *cs, *out = NULL;
    const char *phase = pod_phase(p, pod);
    struct kc_wopts o = {.status = 1, .grace = -1, .manager = "kubelet"};
    struct err err;

    json_object_set_new(st, "phase", json_string(phase));
    conditions_set(p, st, phase);
    json_object_set_new(st, "hostIP", json_string(kl->node_ip));
    json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", kl->node_ip));
    if (p->shim_pid || p->host_network) {
        json_object_set_new(st, "podIP", json_string(p->ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
    }
    json_object_set_new(st, "startTime", json_string(p->start_time));
    json_object_set_new(st, "qosClass", json_string(ocispec_qos_class(pod)));
    ics = json_array();
    cs = json_array();
    for (int i = 0; i < p->nc; i++)
        json_array_append_new(p->c[i].init ? ics : cs, cont_status(&p->c[i]));
    if (p->ninit)
        json_object_set_new(st, "initContainerStatuses", ics);
    else
        json_decref(ics);
    json_object_set_new(st, "containerStatuses", cs);
    if (jx_equal_semantic(st, jx_get(pod, "status"))) {
        json_decref(obj);
        json_decref(pod);
        return;
    }
    err_init(&err);
    if (kc_update(kl->kc, kc_resource(RES_POD), p->ns, p->name, obj, &o, &out, &err) < 0)
        ctl_log_err(kl->ctl, "update pod status", p->ns, p->name, &err);
    json_decref(out);
    json_decref(obj);
    json_decref(pod);
    err_release(&err);
}
