/* Pod termination on the node (k8s-semantics section 9.2): the wait for the pod's drain at the
 * proxy (the kroll.dev/drained annotation, see node.h), preStop bounded by the
 * grace period, SIGTERM to each container's process group, SIGKILL at the deadline (never
 * sooner than 2 s after SIGTERM), then the shim is stopped and the pod object removed. The
 * same kill procedure serves liveness/startup restarts. */
#include "node/node-int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

/* Signals go through a helper thread: a shim that does not answer must not stall the loop. */
static void signal_cont(struct kcont *c, int sig)
{
    struct kop *op = kop__new(c->p->kl, KOP_SIGNAL, c->p->uid, c->p->dir);

    op->cname = xstrdup(c->name);
    op->sig = sig;
    kubelet__op_run(op);
}

void kubelet__signal_done(struct kop *op)
{
    if (op->rc < 0)
        log_warn("kubelet", "msg=\"cannot signal container\" dir=%s container=%s sig=%d "
                 "err=\"%s\"", op->dir, op->cname, op->sig, op->err.msg);
}

static void on_kill_timer(struct loop_timer *t, void *ctx)
{
    struct kcont *c = ctx;

    if (c->st == KC_RUNNING) {
        log_info("kubelet", "msg=\"grace period over; SIGKILL\" pod=%s/%s container=%s",
                 c->p->ns, c->p->name, c->name);
        signal_cont(c, SIGKILL);
    }
}

/* The grace deadline of c: the pod's while terminating, else now + grace. */
static int64_t kill_deadline(struct kcont *c, int64_t grace_ms)
{
    struct kpod *p = c->p;

    if (podfsm_terminating(p->state))
        return p->term_deadline_ms;
    return loop_now_ms(p->kl->loop) + grace_ms;
}

static void sigterm_now(struct kcont *c, int64_t deadline)
{
    struct loop *l = c->p->kl->loop;
    int64_t now = loop_now_ms(l), at = podfsm_kill_at(deadline, now);

    if (c->st != KC_RUNNING)
        return;
    c->sigterm_ms = now;
    signal_cont(c, SIGTERM);
    loop_timer_init(&c->kill_timer, on_kill_timer, c);
    loop_timer_start(l, &c->kill_timer, at - now);
}

struct prestop_ctx {
    struct kcont *c;
    int64_t deadline;
};

static void on_prestop(struct hook *h, int ok, const char *msg, void *ctx)
{
    struct kcont *c = ctx;
    struct kpod *p = c->p;

    c->hook = NULL;
    if (!ok) {
        const json_t *pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);

        if (pod) {
            kc_event(p->kl->kc, pod, "Warning", "FailedPreStopHook", "kubelet", "%s", msg);
        }
    }
    sigterm_now(c, podfsm_terminating(p->state) ? p->term_deadline_ms : loop_now_ms(p->kl->loop));
}

void kubelet__kill_container(struct kcont *c, int64_t grace_ms, const char *why)
{
    struct kpod *p = c->p;
    const json_t *pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);
    const json_t *pre = jx_get(c->spec, "lifecycle.preStop");
    int64_t deadline, now = loop_now_ms(p->kl->loop);

    if (c->st != KC_RUNNING || c->killing)
        return;
    c->killing = 1;
    if (grace_ms < 0)
        grace_ms = jx_int(pod, "spec.terminationGracePeriodSeconds", 30) * 1000;
    deadline = kill_deadline(c, grace_ms);
    if (pod) {
        if (why)
            kc_event(p->kl->kc, pod, "Normal", "Killing", "kubelet", "Container %s %s",
                      c->name, why);
        else
            kc_event(p->kl->kc, pod, "Normal", "Killing", "kubelet", "Stopping container %s",
                      c->name);
    }
    if (c->hook) { /* a postStart still running is abandoned */
        hook_cancel(c->hook);
        c->hook = NULL;
        c->poststart_pending = 0;
    }
    if (json_is_object(pre) && deadline > now) {
        c->hook = hook_run(p->kl->loop, pre, &c->tgt, deadline - now, on_prestop, c);
        if (c->hook)
            return;
    }
    sigterm_now(c, deadline);
}

static void kill_all(struct kpod *p)
{
    loop_timer_stop(p->kl->loop, &p->drain_timer);
    for (int i = 0; i < p->nc; i++)
        kubelet__kill_container(&p->c[i], 0, NULL);
    kubelet__term_check(p);
}

static void on_drain_timeout(struct loop_timer *t, void *ctx)
{
    struct kpod *p = ctx;

    log_warn("kubelet", "msg=\"drain did not finish within the grace period\" pod=%s/%s", p->ns,
             p->name);
    kubelet__pod_event(p, PEV_DRAINED, NULL);
}

/* PACT_TERM_START */
static void term_start(struct kpod *p, int64_t grace)
{
    struct loop *l = p->kl->loop;
    int64_t now = loop_now_ms(l);

    p->term_start_ms = now;
    p->term_deadline_ms = now + grace;
    p->term_grace_ms = grace;
    log_info("kubelet", "msg=\"terminating pod\" pod=%s/%s grace=%llds", p->ns, p->name,
             (long long)(grace / 1000));
    /* Liveness and startup probes stop; readiness keeps running (serving stays truthful). */
    for (int i = 0; i < p->nc; i++) {
        struct kcont *c = &p->c[i];

        if (c->lp)
            probe_stop(c->lp);
        if (c->sp)
            probe_stop(c->sp);
        c->lp = c->sp = NULL;
    }
    loop_timer_init(&p->drain_timer, on_drain_timeout, p);
    loop_timer_start(l, &p->drain_timer, grace > 0 ? grace : 1);
}

/* PACT_TERM_UPDATE: a second delete with a smaller grace period. As the API
 * (deletionTimestamp = now + G) and the kubelet (a new stop with the shorter timeout), the new
 * period counts from now. */
static void term_update(struct kpod *p, int64_t grace)
{
    struct loop *l = p->kl->loop;
    int64_t now = loop_now_ms(l), deadline;

    if (!podfsm_grace_shorter(now, grace, p->term_grace_ms, p->term_deadline_ms, &deadline))
        return;
    p->term_grace_ms = grace;
    p->term_deadline_ms = deadline;
    if (p->state == POD_DRAINING)
        loop_timer_start(l, &p->drain_timer, deadline > now ? deadline - now : 1);
    for (int i = 0; i < p->nc; i++) {
        struct kcont *c = &p->c[i];
        int64_t at;

        if (c->st != KC_RUNNING || !c->sigterm_ms)
            continue;
        at = podfsm_kill_at(deadline, c->sigterm_ms);
        loop_timer_start(l, &c->kill_timer, at > now ? at - now : 1);
    }
}

static void finish_pod(struct loop_timer *t, void *ctx);

void kubelet__term_act(struct kpod *p, enum pod_action act, const json_t *pod)
{
    int64_t grace;

    if (!pod)
        pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);
    grace = jx_int(pod, "metadata.deletionGracePeriodSeconds", 30) * 1000;
    switch (act) {
    case PACT_TERM_START:
    case PACT_TERM_UPDATE:
        if (act == PACT_TERM_START)
            term_start(p, grace);
        else
            term_update(p, grace);
        /* The pod drain controller marks the pod once the proxy sends it nothing more. */
        if (jx_annotation(pod, POD_DRAINED_ANNOTATION))
            kubelet__pod_event(p, PEV_DRAINED, pod);
        kubelet__term_check(p);
        break;
    case PACT_KILL_ALL:
        kill_all(p);
        break;
    case PACT_FINISH_SOON:
        /* A timer owned by the pod rather than a deferred call: freeing the pod (or the whole
         * kubelet at node_stop) cancels it, so it never runs against freed memory. */
        loop_timer_init(&p->finish_timer, finish_pod, p);
        loop_timer_start(p->kl->loop, &p->finish_timer, 0);
        break;
    case PACT_FINISH:
        finish_pod(NULL, p);
        break;
    default:
        BUG_ON(1);
    }
}

/* When every container of a terminating pod has stopped: stop the shim, delete the object. */
void kubelet__term_check(struct kpod *p)
{
    if (!podfsm_terminating(p->state))
        return;
    for (int i = 0; i < p->nc; i++)
        if (p->c[i].st == KC_RUNNING || p->c[i].hook || p->c[i].starting)
            return;
    kubelet__pod_event(p, PEV_STOPPED, NULL);
}

/* The clean-up timer (t) feeds PEV_FINISHED, whose action (t NULL) does the work. */
static void finish_pod(struct loop_timer *t, void *ctx)
{
    struct kpod *p = ctx;
    struct kubelet *kl = p->kl;
    const struct resource *r = kc_resource(RES_POD);
    const json_t *pod;
    char *ns, *name, *uid;
    struct kc_wopts o = {.grace = 0};
    json_t *out = NULL;
    struct err err;

    if (t) {
        kubelet__pod_event(p, PEV_FINISHED, NULL);
        return;
    }
    ns = xstrdup(p->ns), name = xstrdup(p->name), uid = xstrdup(p->uid);
    pod = kc_get(kl->kc, r, ns, name);
    if (pod)
        kubelet__status_write(p, pod); /* the final phase, Succeeded or Failed */
    kubelet__pod_free(p, 1);
    err_init(&err);
    pod = kc_get(kl->kc, r, ns, name);
    if (pod && strcmp(jx_str(pod, "metadata.uid") ?: "", uid) == 0 &&
        kc_delete(kl->kc, r, ns, name, &o, &out, &err) < 0 && err.code != -E_NOT_FOUND)
        log_warn("kubelet", "msg=\"cannot remove pod object\" pod=%s/%s err=\"%s\"", ns, name,
                 err.msg);
    log_info("kubelet", "msg=\"pod terminated\" pod=%s/%s", ns, name);
    json_decref(out);
    err_release(&err);
    free(ns), free(name), free(uid);
}
