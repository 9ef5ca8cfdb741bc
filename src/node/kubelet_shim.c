/* The kubelet's connection to each pod's shim: starting a shim or re-adopting a running one
 * (the subscribe reply carries its state), the exit events it sends, and what a container's
 * exit records (lastState/terminated, the termination message). */
#include "node/node-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/rootfs.h"

/* A container the kernel's OOM killer ended: the Warning event upstream's kubelet records on
 * its Node (oom_watcher: reason SystemOOM), naming the victim by its command and host pid. */
static void oom_event(struct kcont *c)
{
    struct kubelet *kl = c->p->kl;
    const json_t *node = kc_get(kl->kc, kc_resource(RES_NODE), NULL, kl->node_name);
    const char *cmd = json_string_value(json_array_get(json_object_get(c->spec, "command"), 0));
    const char *slash;

    if (!node)
        return;
    if (!cmd || !*cmd)
        cmd = c->name;
    slash = strrchr(cmd, '/');
    kc_event(kl->kc, node, "Warning", "SystemOOM", "kubelet",
             "System OOM encountered, victim process: %s, pid: %d", slash ? slash + 1 : cmd,
             (int)c->pid);
}

void kubelet__cont_exited(struct kcont *c, int code, const char *reason, const char *msg)
{
    char ts[40];

    if (reason && strcmp(reason, "OOMKilled") == 0)
        oom_event(c);

    time_rfc3339(time(NULL), ts);
    json_decref(c->term);
    c->term = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", code, "reason",
                        reason      ? reason
                        : code == 0 ? "Completed"
                                    : "Error",
                        "startedAt", c->started_at[0] ? c->started_at : ts, "finishedAt", ts);
    if (msg) {
        json_object_set_new(c->term, "message", json_string(msg));
    } else if (!reason || strcmp(reason, "ContainerStatusUnknown") != 0) {
        /* terminationMessagePath: what the container wrote to its termination log; with
         * FallbackToLogsOnError and a failure, else the tail of its log. */
        char *tm = c->p->kl->runtime ? rootfs_termlog_read(c->p->dir, c->name) : NULL;

        if (!tm && code != 0 &&
            strcmp(jx_str(c->spec, "terminationMessagePolicy") ?: "", "FallbackToLogsOnError") == 0)
            tm = rootfs_log_tail(c->p->dir, c->name);
        if (tm)
            json_object_set_new(c->term, "message", json_string(tm));
        free(tm);
    }
    c->st = KC_EXITED;
    c->pid = 0;
    c->ready = 0;
    c->finished_ms = loop_now_ms(c->p->kl->loop);
    kubelet__probes_stop(c);
    if (c->hook && !podfsm_terminating(c->p->state)) {
        hook_cancel(c->hook);
        c->hook = NULL;
        c->poststart_pending = 0;
    }
    loop_timer_stop(c->p->kl->loop, &c->kill_timer);
}

void kubelet__sub_close(struct kpod *p)
{
    if (!p->sub_on)
        return;
    loop_io_stop(p->kl->loop, &p->sub_io);
    shim_call_release(&p->sub);
    p->sub_on = 0;
}

static void state_apply(struct kpod *p, const json_t *state);

/* The container's ready flag as the API last recorded it. */
static int adopted_ready(const json_t *pod, const char *name)
{
    json_t *cs = jx_get(pod, "status.containerStatuses");

    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);

        if (strcmp(jx_str(c, "name") ?: "", name) == 0)
            return json_is_true(json_object_get(c, "ready"));
    }
    return 0;
}

/* The subscribe reply of a shim we re-adopt carries its state, taken atomically with the
 * subscription, so no exit can fall between the snapshot and the first event. */
static void adopt_finish(struct kpod *p, const json_t *reply)
{
    const json_t *pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);
    const json_t *state = json_object_get(reply, "state");
    json_t *file = NULL;
    struct err err;

    err_init(&err);
    if (!json_is_object(state) && shim_state_read(p->dir, &file, &err) == 0)
        state = file; /* a shim from before the state-in-reply protocol */
    p->shim_pid = (pid_t)jx_int(state, "shimPid", 0);
    if (!p->shim_pid)
        p->shim_pid = shim_pid_alive(p->dir);
    free(p->netns);
    p->netns = jx_str(state, "netns") ? xstrdup(jx_str(state, "netns")) : NULL;
    free(p->pidns);
    p->pidns = jx_str(state, "pidns") ? xstrdup(jx_str(state, "pidns")) : NULL;
    state_apply(p, state);
    /* An adopted pod is not terminating yet: a deletion waits for the adoption (podfsm.c). */
    for (int i = 0; i < p->nc; i++)
        if (p->c[i].st == KC_RUNNING && pod) {
            kubelet__adopted_target(p, &p->c[i], pod);
            kubelet__probes_start(&p->c[i]);
            /* A server restart must not flap readiness (and so drop Service traffic): keep
             * what the API last recorded until the probe's own result changes it. */
            p->c[i].ready = adopted_ready(pod, p->c[i].name);
        }
    log_info("kubelet", "msg=\"re-adopted running pod\" pod=%s/%s shim=%d", p->ns, p->name,
             (int)p->shim_pid);
    json_decref(file);
    err_release(&err);
    kubelet__pod_event(p, PEV_ADOPTED, pod);
}

static void on_sub(struct loop_io *io, unsigned events, void *ctx)
{
    struct kpod *p = ctx;
    json_t *ev = NULL;
    struct err err;
    int rc;

    err_init(&err);
    while ((rc = shim_call_read(&p->sub, &ev, &err)) == 0) {
        const char *name = jx_str(ev, "container");
        struct kcont *c = name ? kubelet__find_cont(p, name) : NULL;

        if (!jx_str(ev, "event")) {
            if (p->state == POD_ADOPTING)
                adopt_finish(p, ev);
        } else if (c && c->starting && strcmp(jx_str(ev, "event"), "exit") == 0) {
            /* Events and the start reply travel on different connections: an instance that
             * dies at once can be reported before we know it started. */
            c->early_exit = 1;
            c->early_code = (int)jx_int(ev, "exitCode", 0);
            snprintf(c->early_reason, sizeof c->early_reason, "%s", jx_str(ev, "reason") ?: "");
        } else if (c && strcmp(jx_str(ev, "event"), "exit") == 0 && c->st == KC_RUNNING) {
            log_info("kubelet", "msg=\"container exited\" pod=%s/%s container=%s code=%d", p->ns,
                     p->name, name, (int)jx_int(ev, "exitCode", -1));
            kubelet__cont_exited(c, (int)jx_int(ev, "exitCode", 0), jx_str(ev, "reason"), NULL);
            /* Publish the termination before the restart decision, so the exit is visible
             * (STATUS Error, then CrashLoopBackOff) as with the kubelet's relist. */
            if (p->state < POD_TERMINATED) {
                json_t *pod =
                    json_incref(kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name));

                if (pod)
                    kubelet__status_write(p, pod);
                json_decref(pod);
            }
            kubelet__enqueue(p);
            kubelet__term_check(p);
        }
        json_decref(ev);
        ev = NULL;
    }
    if (rc != -EAGAIN) {
        /* The shim is gone (killed or stopped): its containers died with it. */
        log_warn("kubelet", "msg=\"lost the pod's shim\" pod=%s/%s err=\"%s\"", p->ns, p->name,
                 err.msg);
        kubelet__sub_close(p);
        p->shim_pid = 0;
        kubelet__pod_event(p, PEV_SHIM_LOST, NULL);
    }
    err_release(&err);
}

static int sub_open(struct kpod *p, struct err *err)
{
    json_t *req = json_pack("{s:s}", "op", "subscribe");
    int rc = shim_call_start(&p->sub, p->dir, req, err);

    json_decref(req);
    if (rc < 0)
        return rc;
    p->sub_on = 1;
    if (loop_io_start(p->kl->loop, &p->sub_io, p->sub.fd, EPOLLIN, on_sub, p) < 0) {
        shim_call_release(&p->sub);
        p->sub_on = 0;
        return err_set(err, -E_INTERNAL, "cannot watch the shim connection");
    }
    return 0;
}

/* The shim records times with nanoseconds; the API's container times have seconds, as the
 * kubelet writes them itself. Without this a re-adopted pod's status differs from the one
 * written before the restart and every restart rewrites every pod. */
static void secs_only(char *ts)
{
    char *dot = strchr(ts, '.'), *z = dot ? strchr(dot, 'Z') : NULL;

    if (z)
        memmove(dot, z, strlen(z) + 1);
}

static json_t *term_copy(const json_t *t)
{
    json_t *c = json_deep_copy(t);
    static const char *const keys[] = {"startedAt", "finishedAt"};

    json_object_del(c, "signal");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = jx_str(c, keys[i]);
        char buf[64];

        if (!v || strlen(v) >= sizeof buf)
            continue;
        snprintf(buf, sizeof buf, "%s", v);
        secs_only(buf);
        json_object_set_new(c, keys[i], json_string(buf));
    }
    return c;
}

/* Rebuilds the containers' records from the shim's state (after a server restart). */
static void state_apply(struct kpod *p, const json_t *state)
{
    const json_t *cs = json_object_get(state, "containers"), *v;
    size_t i;

    json_array_foreach(cs, i, v)
    {
        struct kcont *c = kubelet__find_cont(p, jx_str(v, "name") ?: "");
        const json_t *t = json_object_get(v, "terminated"),
                     *lt = json_object_get(v, "lastTerminated");

        if (!c)
            continue;
        c->restart_count = (int)jx_int(v, "restartCount", 0);
        snprintf(c->started_at, sizeof c->started_at, "%s", jx_str(v, "startedAt") ?: "");
        secs_only(c->started_at);
        if (json_is_object(lt)) {
            json_decref(c->last_term);
            c->last_term = term_copy(lt);
        }
        if (strcmp(jx_str(v, "state") ?: "", "running") == 0 && !jx_bool(state, "stopped")) {
            c->st = KC_RUNNING;
            c->pid = (pid_t)jx_int(v, "pid", 0);
        } else if (json_is_object(t)) {
            c->st = KC_EXITED;
            json_decref(c->term);
            c->term = term_copy(t);
            c->finished_ms = loop_now_ms(p->kl->loop);
        }
    }
}

static void mark_lost(struct kpod *p)
{
    for (int i = 0; i < p->nc; i++)
        if (p->c[i].st == KC_RUNNING)
            kubelet__cont_exited(&p->c[i], 137, "ContainerStatusUnknown",
                                 "The container could not be located when the pod was terminated");
}

void kubelet__shim_lost(struct kpod *p)
{
    mark_lost(p);
    kubelet__enqueue(p);
    kubelet__term_check(p);
}

/* A running shim is re-adopted: subscribe; the reply carries its state (adopt_finish). */
void kubelet__shim_probe(struct kpod *p, const json_t *pod)
{
    struct err err;
    int found;

    err_init(&err);
    found = shim_pid_alive(p->dir) > 0 && sub_open(p, &err) == 0;
    err_release(&err);
    kubelet__pod_event(p, found ? PEV_SHIM_FOUND : PEV_SHIM_MISSING, pod);
}

void kubelet__shim_spawn(struct kpod *p)
{
    json_t *state = NULL;
    struct err err;
    struct kop *op;

    /* A pod dir without a live shim: the shim died (reboot, kill -9); count what it ran. */
    err_init(&err);
    if (shim_state_read(p->dir, &state, &err) == 0) {
        state_apply(p, state);
        mark_lost(p);
        json_decref(state);
    }
    err_release(&err);
    op = kop__new(p->kl, KOP_SPAWN, p->uid, p->dir);
    op->exe = xstrdup(p->kl->self_exe);
    op->ip = xstrdup(p->ip);
    op->host_network = p->host_network;
    op->share_pid = p->share_pid;
    kubelet__op_run(op);
}

void kubelet__spawn_done(struct kpod *p, struct kop *op)
{
    const json_t *pod = kc_get(p->kl->kc, kc_resource(RES_POD), p->ns, p->name);
    struct err err;

    err_init(&err);
    if (op->rc < 0 || sub_open(p, &err) < 0) {
        const char *msg = op->rc < 0 ? op->err.msg : err.msg;

        if (pod)
            kc_event(p->kl->kc, pod, "Warning", "FailedCreatePodSandBox", "kubelet",
                      "Failed to create pod sandbox: %s", msg);
        err_release(&err);
        kubelet__pod_event(p, PEV_SPAWN_FAILED, pod); /* retried in 5 s */
        return;
    }
    p->shim_pid = op->pid;
    free(p->netns);
    p->netns = p->host_network ? NULL : xasprintf("/proc/%d/ns/net", (int)op->pid);
    free(p->pidns);
    p->pidns = op->pidns;
    op->pidns = NULL;
    log_info("kubelet", "msg=\"pod sandbox started\" pod=%s/%s shim=%d ip=%s", p->ns, p->name,
             (int)op->pid, p->ip);
    err_release(&err);
    kubelet__pod_event(p, PEV_SPAWN_OK, pod);
}
