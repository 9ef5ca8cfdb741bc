/* A container's probes on the node: startup first (alone, as the kubelet runs it), then
 * liveness and readiness; what each result does (readiness flips the ready flag, a failed
 * liveness or startup probe restarts the container) and the Unhealthy events. The probing
 * itself is node/probe.c. */
#include "node/node-int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

void kubelet__probes_stop(struct kcont *c)
{
    if (c->rp)
        probe_stop(c->rp);
    if (c->lp)
        probe_stop(c->lp);
    if (c->sp)
        probe_stop(c->sp);
    c->rp = c->lp = c->sp = NULL;
}

static void probes_after_startup(struct kcont *c);

static void on_probe(struct probe *pr, int ok, int state, const char *output, void *ctx)
{
    struct kcont *c = ctx;
    struct kpod *p = c->p;
    const json_t *pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);
    const char *kind = pr == c->rp ? "Readiness" : pr == c->lp ? "Liveness" : "Startup";

    if (c->st != KC_RUNNING)
        return;
    if (ok < 0) {
        if (pod)
            kc_event(p->kl->kc, pod, "Warning", "Unhealthy", "kubelet", "%s probe errored: %s",
                      kind, output ? output : "");
        return;
    }
    if (!ok && pod)
        kc_event(p->kl->kc, pod, "Warning", "Unhealthy", "kubelet", "%s probe failed: %s", kind,
                  output ? output : "");
    if (pr == c->rp) {
        if (c->ready != (state == 1)) {
            c->ready = state == 1;
            kubelet__enqueue(p);
        }
    } else if (pr == c->sp) {
        if (state == 1 && !c->started) {
            c->started = 1;
            probes_after_startup(c);
            kubelet__enqueue(p);
        } else if (state == 0 && !c->killing && !podfsm_terminating(p->state)) {
            kubelet__kill_container(c, -1, "failed startup probe, will be restarted");
        }
    } else if (pr == c->lp && state == 0 && !c->killing && !podfsm_terminating(p->state) &&
               (c->started || !c->sp)) {
        kubelet__kill_container(c, -1, "failed liveness probe, will be restarted");
    }
}

void kubelet__probes_start(struct kcont *c)
{
    struct loop *l = c->p->kl->loop;
    const json_t *rp = json_object_get(c->spec, "readinessProbe");
    const json_t *lp = json_object_get(c->spec, "livenessProbe");
    const json_t *sp = json_object_get(c->spec, "startupProbe");

    kubelet__probes_stop(c);
    c->tgt.pod_dir = c->p->dir;
    c->tgt.netns_path = c->p->netns;
    c->tgt.pod_ip = c->p->ip;
    c->tgt.container = c->name;
    c->tgt.ports = json_object_get(c->spec, "ports");
    c->tgt.env = c->env;
    c->tgt.cwd = c->cwd;
    c->started = !json_is_object(sp);
    c->ready = 0;
    /* As the kubelet: while a startup probe has not succeeded, only it runs. */
    if (json_is_object(sp)) {
        c->sp = probe_start(l, "startup", sp, &c->tgt, on_probe, c);
        return;
    }
    if (json_is_object(lp))
        c->lp = probe_start(l, "liveness", lp, &c->tgt, on_probe, c);
    if (json_is_object(rp))
        c->rp = probe_start(l, "readiness", rp, &c->tgt, on_probe, c);
}

/* The startup probe succeeded: liveness and readiness begin. */
static void probes_after_startup(struct kcont *c)
{
    struct loop *l = c->p->kl->loop;
    const json_t *rp = json_object_get(c->spec, "readinessProbe");
    const json_t *lp = json_object_get(c->spec, "livenessProbe");

    if (json_is_object(lp) && !c->lp && !podfsm_terminating(c->p->state))
        c->lp = probe_start(l, "liveness", lp, &c->tgt, on_probe, c);
    if (json_is_object(rp) && !c->rp)
        c->rp = probe_start(l, "readiness", rp, &c->tgt, on_probe, c);
}

/* Containers without a readiness probe are ready once running and started. */
int kubelet__cont_ready(const struct kcont *c)
{
    if (c->st != KC_RUNNING || c->poststart_pending || !c->started)
        return 0;
    return json_is_object(json_object_get(c->spec, "readinessProbe")) ? c->ready : 1;
}
