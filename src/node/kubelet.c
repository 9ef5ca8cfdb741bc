/* The kubelet's pod workers: which pods of the node run, their shims (spawn or re-adopt),
 * container starts (image, env, command, volumes), exits, restarts with back-off, probes and
 * postStart hooks. Status writing is kubelet_status.c, termination kubelet_term.c, probes
 * kubelet_probes.c, the shim connection kubelet_shim.c.
 * Level-triggered: every pod event and every timer enqueues the pod; kubelet_sync() turns the
 * pod object into an event of the pod's state machine (podfsm.c) and kubelet__pod_event()
 * executes the action the table gives. */
#include "node/node-int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/netns.h"
#include "node/cdi.h"
#include "node/env.h"
#include "node/image.h"
#include "node/rootfs.h"
#include "node/volume.h"

#define CRASH_BACKOFF_MS 10000
#define CRASH_BACKOFF_MAX_MS 300000
#define BACKOFF_RESET_MS 600000

static const struct resource *pods_res(void)
{
    return kc_resource(RES_POD);
}

void kubelet__enqueue(struct kpod *p)
{
    ctl_enqueue(p->kl->ctl, p->ns, p->name);
}

static void enqueue_after(struct kpod *p, int64_t ms)
{
    ctl_enqueue_after(p->kl->ctl, p->ns, p->name, ms < 1 ? 1 : ms);
}

struct kpod *kubelet__find_uid(struct kubelet *kl, const char *uid)
{
    for (struct kpod *p = kl->pods; p; p = p->next)
        if (strcmp(p->uid, uid) == 0)
            return p;
    return NULL;
}

static struct kpod *find_name(struct kubelet *kl, const char *ns, const char *name)
{
    for (struct kpod *p = kl->pods; p; p = p->next)
        if (strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

struct kcont *kubelet__find_cont(struct kpod *p, const char *name)
{
    for (int i = 0; i < p->nc; i++)
        if (strcmp(p->c[i].name, name) == 0)
            return &p->c[i];
    return NULL;
}

/* ---- pod records ---- */

static int ip_in_use(struct kubelet *kl, const char *ip)
{
    json_t *m = ctl_map(kl->ctl, RES_POD), *v;
    const char *k;

    for (struct kpod *p = kl->pods; p; p = p->next)
        if (strcmp(p->ip, ip) == 0)
            return 1;
    if (m)
        json_object_foreach(m, k, v) if (strcmp(jx_str(v, "status.podIP") ?: "", ip) == 0)
            return 1;
    return 0;
}

static void ip_alloc(struct kubelet *kl, char out[64])
{
    for (int i = 2; i < 65534; i++) {
        if ((i & 0xff) == 0 || (i & 0xff) == 255)
            continue;
        snprintf(out, 64, "127.78.%d.%d", i >> 8, i & 0xff);
        if (!ip_in_use(kl, out))
            return;
    }
    snprintf(out, 64, "127.78.255.254");
}

static void cont_init(struct kpod *p, struct kcont *c, const json_t *spec, int init)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->init = init;
    c->name = xstrdup(jx_str(spec, "name") ?: "");
    c->spec = json_deep_copy(spec);
    c->st = KC_NONE;
    snprintf(c->reason, sizeof c->reason, "%s", "ContainerCreating");
    snprintf(c->image, sizeof c->image, "%s", jx_str(spec, "image") ?: "");
    loop_timer_init(&c->kill_timer, NULL, NULL);
}

static struct kpod *pod_new(struct kubelet *kl, const json_t *pod)
{
    struct kpod *p = xcalloc(1, sizeof *p);
    const json_t *ic = jx_get(pod, "spec.initContainers"), *cs = jx_get(pod, "spec.containers");
    const char *ip = jx_str(pod, "status.podIP");
    char ts[32];

    p->kl = kl;
    p->uid = xstrdup(jx_str(pod, "metadata.uid") ?: "");
    p->ns = xstrdup(jx_str(pod, "metadata.namespace") ?: "default");
    p->name = xstrdup(jx_str(pod, "metadata.name") ?: "");
    p->dir = xasprintf("%s/pods/%s", kl->data_dir, p->uid);
    p->state = POD_NO_SANDBOX;
    p->host_network = jx_bool(pod, "spec.hostNetwork");
    /* The process runtime has no PID namespaces to share; validation refuses hostPID with
     * shareProcessNamespace, as upstream. */
    p->share_pid =
        kl->runtime && jx_bool(pod, "spec.shareProcessNamespace") && !jx_bool(pod, "spec.hostPID");
    if (p->host_network)
        snprintf(p->ip, sizeof p->ip, "%s", kl->node_ip);
    else if (ip && strncmp(ip, "127.78.", 7) == 0)
        snprintf(p->ip, sizeof p->ip, "%s", ip);
    else
        ip_alloc(kl, p->ip);
    p->ninit = (int)json_array_size(ic);
    p->nc = p->ninit + (int)json_array_size(cs);
    p->c = xcalloc((size_t)(p->nc ? p->nc : 1), sizeof *p->c);
    for (int i = 0; i < p->nc; i++)
        cont_init(p, &p->c[i], i < p->ninit ? json_array_get(ic, (size_t)i)
                                            : json_array_get(cs, (size_t)(i - p->ninit)),
                  i < p->ninit);
    if (jx_str(pod, "status.startTime")) {
        snprintf(p->start_time, sizeof p->start_time, "%s", jx_str(pod, "status.startTime"));
    } else {
        time_rfc3339(time(NULL), ts);
        snprintf(p->start_time, sizeof p->start_time, "%s", ts);
    }
    loop_timer_init(&p->drain_timer, NULL, NULL);
    loop_timer_init(&p->finish_timer, NULL, NULL);
    p->next = kl->pods;
    kl->pods = p;
    return p;
}

void kubelet__pod_free(struct kpod *p, int stop_shim)
{
    struct kubelet *kl = p->kl;

    for (struct kpod **pp = &kl->pods; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    kubelet__sub_close(p);
    loop_timer_stop(kl->loop, &p->drain_timer);
    loop_timer_stop(kl->loop, &p->finish_timer);
    if (stop_shim) /* the pod is gone: so are its devices (before the names below are freed) */
        kubelet__cdi_release(kl, p->uid, p->dir, p);
    for (int i = 0; i < p->nc; i++) {
        struct kcont *c = &p->c[i];

        kubelet__probes_stop(c);
        if (c->hook)
            hook_cancel(c->hook);
        loop_timer_stop(kl->loop, &c->kill_timer);
        free(c->name);
        free(c->message);
        free(c->pull_msg);
        free(c->cwd);
        json_decref(c->spec);
        json_decref(c->term);
        json_decref(c->last_term);
        json_decref(c->env);
        metrics_series_release(&c->ms);
    }
    if (stop_shim) {
        /* Stopping may take seconds (processes that resist SIGKILL): off the loop. A shim
         * still being spawned for this pod is stopped when its spawn completes. */
        struct kop *op = kop__new(kl, KOP_STOP, p->uid, p->dir);

        op->rm = 1;
        kubelet__op_run(op);
    }
    free(p->c);
    free(p->uid), free(p->ns), free(p->name), free(p->dir), free(p->netns), free(p->pidns);
    free(p->sandbox_err);
    json_decref(p->vol_paths);
    free(p);
}

/* ---- starting a container ---- */

static void cont_wait(struct kcont *c, const char *reason, const char *msg)
{
    if (c->st == KC_EXITED && c->term) {
        json_decref(c->last_term);
        c->last_term = c->term;
        c->term = NULL;
    }
    c->st = KC_WAITING;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    free(c->message);
    c->message = msg ? xstrdup(msg) : NULL;
}

void kubelet__cont_wait(struct kcont *c, const char *reason, const char *msg)
{
    cont_wait(c, reason, msg);
}

void kubelet__enqueue_after(struct kpod *p, int64_t ms)
{
    enqueue_after(p, ms);
}

/* imagePullPolicy, pulls and their back-off: kubelet_pull.c. */
static int cont_image(struct kcont *c, const json_t *pod, struct image *img)
{
    return kubelet__cont_image(c, pod, img);
}

static json_t *strv_of(const json_t *a)
{
    return json_is_array(a) ? json_deep_copy(a) : json_array();
}

/* command/args over Entrypoint/Cmd, as Kubernetes: command replaces Entrypoint and drops Cmd;
 * args alone replace Cmd. $(VAR) expanded against env. */
static json_t *cont_argv(const json_t *spec, const json_t *cfg, const json_t *env)
{
    const json_t *cmd = json_object_get(spec, "command"), *args = json_object_get(spec, "args");
    json_t *argv, *tail;
    int has_cmd = json_array_size(cmd) > 0, has_args = json_is_array(args) && json_array_size(args);

    if (has_cmd) {
        argv = env_expand(cmd, env);
        tail = has_args ? env_expand(args, env) : json_array();
    } else {
        argv = strv_of(json_object_get(cfg, "Entrypoint"));
        tail = has_args ? env_expand(args, env) : strv_of(json_object_get(cfg, "Cmd"));
    }
    json_array_extend(argv, tail);
    json_decref(tail);
    return argv;
}

static char *image_workdir(const struct image *img)
{
    const char *wd = jx_str(img->config, "WorkingDir");

    if (!img->dir) /* layered image (OCI runtime): a path inside the container */
        return xstrdup(wd && *wd ? wd : "/");
    if (!wd || !*wd)
        return xstrdup(img->dir);
    if (wd[0] == '/')
        return xstrdup(wd);
    return xasprintf("%s/%s", img->dir, wd);
}

void kubelet__adopted_target(struct kpod *p, struct kcont *c, const json_t *pod)
{
    struct image img;
    struct err err;
    json_t *env = NULL;

    err_init(&err);
    if (image_load(p->kl->data_dir, c->image, &img, &err) == 0) {
        kubelet__image_id(c, &img);
        if (env_resolve(p->kl->kc, pod, c->spec, json_object_get(img.config, "Env"),
                        ctl_map(p->kl->ctl, RES_SERVICE), &env, &err) == 0) {
            json_decref(c->env);
            c->env = env;
        }
        free(c->cwd);
        c->cwd = jx_str(c->spec, "workingDir") ? xstrdup(jx_str(c->spec, "workingDir"))
                                               : image_workdir(&img);
        image_release(&img);
    }
    err_release(&err);
}

static void on_poststart(struct hook *h, int ok, const char *msg, void *ctx)
{
    struct kcont *c = ctx;
    struct kpod *p = c->p;
    const json_t *pod = kc_get(p->kl->kc, pods_res(), p->ns, p->name);

    c->hook = NULL;
    c->poststart_pending = 0;
    if (!ok) {
        if (pod) {
            kc_event(p->kl->kc, pod, "Warning", "FailedPostStartHook", "kubelet", "%s", msg);
            kc_event(p->kl->kc, pod, "Warning", "FailedPostStartHook", "kubelet",
                      "PostStartHook failed");
        }
        kubelet__kill_container(c, 0, NULL);
    } else {
        kubelet__probes_start(c);
    }
    kubelet__enqueue(p);
}

/* HOSTNAME is the pod's name, as container runtimes set it, unless the image or the container
 * sets it. */
static void env_hostname(json_t *env, const char *pod_name)
{
    const json_t *v;
    size_t i;

    json_array_foreach(env, i, v)
        if (strncmp(json_string_value(v) ?: "", "HOSTNAME=", 9) == 0)
            return;
    json_array_insert_new(env, 0, json_sprintf("HOSTNAME=%s", pod_name));
}

/* Runs the container: image, env, command, volumes, then the shim's start on a helper
 * thread (start_done() finishes on the loop). */
static void cont_start(struct kcont *c, const json_t *pod)
{
    struct kpod *p = c->p;
    struct kubelet *kl = p->kl;
    struct image img;
    struct err err;
    json_t *env = NULL, *argv = NULL, *mounts = NULL, *cdi = NULL;
    char *cwd = NULL;
    struct kop *op;

    if (cont_image(c, pod, &img))
        return;
    err_init(&err);
    if (kl->runtime && kl->rt_err) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", kl->rt_err);
        cont_wait(c, "CreateContainerError", kl->rt_err);
        enqueue_after(p, 10000);
        goto out;
    }
    kubelet__image_id(c, &img);
    if (env_resolve(kl->kc, pod, c->spec, json_object_get(img.config, "Env"),
                    ctl_map(kl->ctl, RES_SERVICE), &env, &err) < 0) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", err.msg);
        cont_wait(c, "CreateContainerConfigError", err.msg);
        enqueue_after(p, 10000);
        goto out;
    }
    env_hostname(env, p->name);
    argv = cont_argv(c->spec, img.config, env);
    if (json_array_size(argv) == 0) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet",
                  "Error: no command specified");
        cont_wait(c, "CreateContainerError", "no command specified");
        goto out;
    }
    /* Like the kubelet's makeMounts: a bad mount is a configuration error of this container. */
    mounts = volume_mounts_resolve(pod, c->spec, p->vol_paths, &err);
    if (!mounts) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", err.msg);
        cont_wait(c, "CreateContainerConfigError", err.msg);
        enqueue_after(p, 10000);
        goto out;
    }
    /* CDI devices exist only inside containers: the process runtime ignores them, as before. */
    if (kl->runtime && kubelet__cdi_take(c, &cdi, &err) < 0) {
        kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", err.msg);
        cont_wait(c, "CreateContainerError", err.msg);
        enqueue_after(p, 10000);
        goto out;
    }
    cwd = jx_str(c->spec, "workingDir") ? xstrdup(jx_str(c->spec, "workingDir"))
                                        : image_workdir(&img);
    op = kop__new(kl, KOP_START, p->uid, p->dir);
    op->cdi_edits = cdi;
    cdi = NULL;
    op->ctr = json_deep_copy(c->spec); /* stdin/tty; the runtime's bundle reads the rest */
    if (kl->runtime) {
        /* In a container: paths are the container's, the runtime resolves argv[0]. */
        free(cwd);
        cwd = xstrdup(jx_str(c->spec, "workingDir") ?: jx_str(img.config, "WorkingDir") ?: "/");
        op->pod = json_deep_copy(pod);
        op->img_config = img.config ? json_deep_copy(img.config) : json_object();
        op->layers = json_array();
        for (size_t i = 0; i < img.nlayers; i++)
            json_array_append_new(op->layers, json_string(img.layers[i]));
        op->netns = p->netns ? xstrdup(p->netns) : NULL;
        op->pidns = p->pidns ? xstrdup(p->pidns) : NULL;
        op->ip = xstrdup(p->ip);
    } else {
        /* A relative executable ("./serve.sh") lives in the image. */
        const char *exe = json_string_value(json_array_get(argv, 0)) ?: "";

        if (exe[0] != '/' && strchr(exe, '/')) {
            char *wd = image_workdir(&img), *abs = xasprintf("%s/%s", wd, exe);

            json_array_set_new(argv, 0, json_string(abs));
            free(wd);
            free(abs);
        }
    }
    op->cname = xstrdup(c->name);
    op->argv = json_deep_copy(argv);
    op->env = json_deep_copy(env);
    op->mounts = json_array_size(mounts) ? json_deep_copy(mounts) : NULL;
    op->cwd = xstrdup(cwd);
    /* What the container will run with, for its probes and hooks. */
    json_decref(c->env);
    c->env = json_incref(env);
    free(c->cwd);
    c->cwd = cwd;
    cwd = NULL;
    c->starting = 1;
    kubelet__op_run(op);
out:
    free(cwd);
    json_decref(argv);
    json_decref(env);
    json_decref(mounts);
    json_decref(cdi);
    image_release(&img);
    err_release(&err);
}

/* The shim's answer to a container start. */
static void start_done(struct kpod *p, struct kcont *c, struct kop *op)
{
    struct kubelet *kl = p->kl;
    const json_t *pod = kc_get(kl->kc, pods_res(), p->ns, p->name);

    c->starting = 0;
    if (op->rc < 0 && op->reason[0]) {
        /* The bundle could not be made (runAsNonRoot, a bad user, no rootfs): nothing ran. */
        c->early_exit = 0;
        if (pod)
            kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", op->err.msg);
        cont_wait(c, op->reason, op->err.msg);
        enqueue_after(p, 10000);
        kubelet__term_check(p);
        return;
    }
    if (op->copied && !kl->force_copy)
        kl->overlay_failed = 1; /* the node condition says so from now on */
    if (op->copied && pod)
        kc_event(kl->kc, pod, "Warning", "RootfsCopied", "kubelet", "overlayfs could not be "
                  "mounted: container %s runs on a copy of its image's layers", c->name);
    if (op->rc < 0) {
        c->early_exit = 0;
        if (pod)
            kc_event(kl->kc, pod, "Warning", "Failed", "kubelet", "Error: %s", op->err.msg);
        kubelet__cont_exited(c, 128, "StartError", op->err.msg);
        cont_wait(c, "RunContainerError", op->err.msg);
        kubelet__enqueue(p);
        kubelet__term_check(p);
        return;
    }
    if (c->st == KC_EXITED || (c->st == KC_WAITING && c->last_term))
        c->restart_count++;
    if (c->term) {
        json_decref(c->last_term);
        c->last_term = c->term;
        c->term = NULL;
    }
    if (pod) {
        kc_event(kl->kc, pod, "Normal", "Created", "kubelet", "Created container: %s", c->name);
        kc_event(kl->kc, pod, "Normal", "Started", "kubelet", "Started container %s", c->name);
    }
    c->st = KC_RUNNING;
    c->pid = op->pid;
    c->killing = 0;
    c->reason[0] = 0;
    /* The shim's own start time: the one a re-adoption reads back from its state file. */
    time_rfc3339(op->started > 0 ? op->started : time(NULL), c->started_at);
    c->tgt.env = c->env;
    c->tgt.cwd = c->cwd;
    c->tgt.pod_dir = p->dir;
    c->tgt.netns_path = p->netns;
    c->tgt.pod_ip = p->ip;
    c->tgt.container = c->name;
    c->tgt.ports = json_object_get(c->spec, "ports");
    kubelet__enqueue(p);
    if (c->early_exit) {
        json_t *cur = json_incref((json_t *)pod);

        c->early_exit = 0;
        log_info("kubelet", "msg=\"container exited\" pod=%s/%s container=%s code=%d", p->ns,
                 p->name, c->name, c->early_code);
        kubelet__cont_exited(c, c->early_code, c->early_reason[0] ? c->early_reason : NULL, NULL);
        if (cur)
            kubelet__status_write(p, cur);
        json_decref(cur);
        kubelet__term_check(p);
        return;
    }
    if (podfsm_terminating(p->state)) {
        /* Deleted while the start was under way: it stops with the others. */
        if (p->state == POD_KILLING)
            kubelet__kill_container(c, 0, NULL);
        return;
    }
    if (json_is_object(jx_get(c->spec, "lifecycle.postStart"))) {
        c->poststart_pending = 1;
        c->started = 0;
        c->hook = hook_run(kl->loop, jx_get(c->spec, "lifecycle.postStart"), &c->tgt,
                           jx_int(pod, "spec.terminationGracePeriodSeconds", 30) * 1000,
                           on_poststart, c);
    } else {
        kubelet__probes_start(c);
    }
}

void kubelet__op_done(struct kop *op)
{
    struct kpod *p = kubelet__find_uid(op->kl, op->uid);
    struct kcont *c = p && op->cname ? kubelet__find_cont(p, op->cname) : NULL;

    switch (op->kind) {
    case KOP_SPAWN:
        if (p && p->state == POD_SPAWNING) {
            kubelet__spawn_done(p, op);
        } else if (!p && op->rc >= 0) {
            /* The pod went away while its shim was starting. */
            struct kop *stop = kop__new(op->kl, KOP_STOP, op->uid, op->dir);

            stop->rm = 1;
            kubelet__op_run(stop);
        }
        break;
    case KOP_START:
        if (c && c->starting)
            start_done(p, c, op);
        break;
    case KOP_SIGNAL:
        kubelet__signal_done(op);
        break;
    case KOP_PULL:
        kubelet__pull_done(op);
        break;
    case KOP_METRICS:
        node__metrics_done(op->metrics);
        break;
    case KOP_STOP:
        if (op->rc < 0)
            log_warn("kubelet", "msg=\"cannot stop shim\" dir=%s err=\"%s\"", op->dir,
                     op->err.msg);
        break;
    }
}

/* ---- restarts ---- */

static int exit_code_of(const struct kcont *c)
{
    const json_t *t = c->term ? c->term : c->last_term;

    return (int)jx_int(t, "exitCode", 0);
}


/* Go's time.Duration text for whole seconds: 10s, 1m20s, 5m0s. */
static void dur_text(int64_t ms, char *out, size_t n)
{
    long s = (long)(ms / 1000);

    if (s < 60)
        snprintf(out, n, "%lds", s);
    else
        snprintf(out, n, "%ldm%lds", s / 60, s % 60);
}

/* Restarts an exited container now, or waits out its CrashLoopBackOff (k8s-semantics 7.1). */
static void cont_restart(struct kcont *c, const json_t *pod)
{
    struct kpod *p = c->p;
    int64_t now = loop_now_ms(p->kl->loop), f = c->finished_ms;
    int expired = c->crash_delay_ms && f - c->crash_updated_ms > BACKOFF_RESET_MS;

    if (now < c->retry_at_ms) {
        enqueue_after(p, c->retry_at_ms - now);
        return;
    }
    if (c->crash_delay_ms && !expired && now - f < c->crash_delay_ms) {
        char d[32], *m;

        dur_text(c->crash_delay_ms, d, sizeof d);
        m = xasprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c->name,
                      p->name, p->ns, p->uid);
        if (c->st != KC_WAITING || strcmp(c->reason, "CrashLoopBackOff") != 0)
            kc_event(p->kl->kc, pod, "Warning", "BackOff", "kubelet",
                      "Back-off restarting failed container %s in pod %s_%s(%s)", c->name,
                      p->name, p->ns, p->uid);
        cont_wait(c, "CrashLoopBackOff", m);
        free(m);
        enqueue_after(p, f + c->crash_delay_ms - now);
        return;
    }
    if (!c->crash_delay_ms || expired)
        c->crash_delay_ms = CRASH_BACKOFF_MS;
    else if ((c->crash_delay_ms *= 2) > CRASH_BACKOFF_MAX_MS)
        c->crash_delay_ms = CRASH_BACKOFF_MAX_MS;
    c->crash_updated_ms = now;
    cont_start(c, pod);
}

static int cont_exited_state(const struct kcont *c)
{
    return c->st == KC_EXITED ||
           (c->st == KC_WAITING && c->last_term && strcmp(c->reason, "CrashLoopBackOff") == 0) ||
           (c->st == KC_WAITING && strcmp(c->reason, "RunContainerError") == 0);
}

/* One step for one container. Returns 1 when it is done (init: succeeded). */
static int cont_step(struct kcont *c, const json_t *pod)
{
    if (c->st == KC_RUNNING || c->starting)
        return 0;
    if (c->pull_id) { /* this start's image pull: under way or just ended */
        cont_start(c, pod);
        return 0;
    }
    if (cont_exited_state(c)) {
        enum cont_next n =
            podfsm_cont_exit(jx_str(pod, "spec.restartPolicy"), c->init, exit_code_of(c));

        if (n == CONT_DONE && c->st == KC_EXITED)
            return 1;
        if (n == CONT_RESTART)
            cont_restart(c, pod);
        return 0;
    }
    if (c->retry_at_ms > loop_now_ms(c->p->kl->loop)) {
        enqueue_after(c->p, c->retry_at_ms - loop_now_ms(c->p->kl->loop));
        return 0;
    }
    cont_start(c, pod);
    return 0;
}

/* ---- the pod worker ---- */

/* PACT_SANDBOX: a node without network namespaces runs only hostNetwork pods (the pod
 * stays without a sandbox); else look for a shim to re-adopt, or start one. */
static void pod_sandbox(struct kpod *p, const json_t *pod)
{
    struct kubelet *kl = p->kl;

    if (!p->host_network && !kl->netns_ok) {
        if (!p->sandbox_err) {
            p->sandbox_err = xasprintf("cannot create a network namespace for the pod: %s; only "
                                       "hostNetwork pods can run on this node", kl->netns_err);
            kc_event(kl->kc, pod, "Warning", "FailedCreatePodSandBox", "kubelet", "%s",
                      p->sandbox_err);
        }
        return;
    }
    kubelet__shim_probe(p, pod);
}

/* PACT_MOUNT. Volumes set up before a lost shim was replaced are still there. */
static int pod_volumes(struct kpod *p, const json_t *pod)
{
    struct err err;
    json_t *paths = NULL;

    if (p->vol_paths)
        return kubelet__pod_event(p, PEV_MOUNTED, pod);
    err_init(&err);
    if (volume_sync(p->kl->kc, pod, p->dir, &paths, &err) < 0) {
        kc_event(p->kl->kc, pod, "Warning", "FailedMount", "kubelet",
                  "MountVolume.SetUp failed: %s", err.msg);
        err_release(&err);
        return kubelet__pod_event(p, PEV_MOUNT_FAILED, pod);
    }
    p->vol_paths = paths;
    err_release(&err);
    return kubelet__pod_event(p, PEV_MOUNTED, pod);
}

/* PACT_DRIVE */
static void pod_drive(struct kpod *p, const json_t *pod)
{
    for (int i = 0; i < p->ninit; i++) {
        struct kcont *c = &p->c[i];

        if (cont_step(c, pod))
            continue;
        return; /* init containers run one at a time, in order */
    }
    for (int i = p->ninit; i < p->nc; i++)
        cont_step(&p->c[i], pod);
}

/* PACT_FORGET: a deleted pod of which nothing runs is removed at once. */
static void pod_forget(struct kpod *p)
{
    struct kubelet *kl = p->kl;
    char *ns = xstrdup(p->ns), *name = xstrdup(p->name);
    struct kc_wopts o = {.grace = 0};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    kubelet__pod_free(p, 1);
    if (kc_delete(kl->kc, pods_res(), ns, name, &o, &out, &err) < 0 && err.code != -E_NOT_FOUND)
        ctl_log_err(kl->ctl, "delete pod", ns, name, &err);
    json_decref(out);
    err_release(&err);
    free(ns), free(name);
}

int kubelet__pod_event(struct kpod *p, enum pod_event ev, const json_t *pod)
{
    char who[512];
    enum pod_action a;

    snprintf(who, sizeof who, "%s/%s", p->ns, p->name);
    a = podfsm_step(&p->state, ev, who);
    if (!pod && (a == PACT_SANDBOX || a == PACT_MOUNT || a == PACT_DRIVE))
        pod = kc_get(p->kl->kc, pods_res(), p->ns, p->name);
    switch (a) {
    case PACT_NONE:
    case PACT_REFUSED:
        break;
    case PACT_SANDBOX:
        if (pod)
            pod_sandbox(p, pod);
        break;
    case PACT_SPAWN:
        kubelet__shim_spawn(p);
        break;
    case PACT_SYNC_NOW:
        kubelet__enqueue(p);
        break;
    case PACT_RETRY:
        enqueue_after(p, 5000);
        break;
    case PACT_MOUNT:
        return pod ? pod_volumes(p, pod) : 0;
    case PACT_DRIVE:
        if (pod)
            pod_drive(p, pod);
        break;
    case PACT_LOST:
        kubelet__shim_lost(p);
        break;
    case PACT_TERM_START:
    case PACT_TERM_UPDATE:
    case PACT_KILL_ALL:
    case PACT_FINISH_SOON:
        kubelet__term_act(p, a, pod);
        break;
    case PACT_FINISH:
        kubelet__term_act(p, a, pod);
        return -1;
    case PACT_FORGET:
        pod_forget(p);
        return -1;
    case PACT_FREE:
        kubelet__pod_free(p, 1);
        return -1;
    }
    return 0;
}

static void kubelet_sync(struct ctl *ctl, const char *ns, const char *name, void *ctx)
{
    struct kubelet *kl = ctx;
    json_t *pod = kc_get(kl->kc, pods_res(), ns, name);
    struct kpod *p = find_name(kl, ns, name);
    const char *phase;

    if (p && (!pod || strcmp(jx_str(pod, "metadata.uid") ?: "", p->uid) != 0)) {
        /* The object is gone (force delete, or deleted while we were down): kill at once. */
        log_info("kubelet", "msg=\"pod object gone; stopping its processes\" pod=%s/%s", ns, name);
        kubelet__pod_event(p, PEV_OBJECT_GONE, NULL);
        p = NULL;
    }
    if (!pod || strcmp(jx_str(pod, "spec.nodeName") ?: "", kl->node_name) != 0)
        return;
    pod = json_incref(pod);
    phase = jx_str(pod, "status.phase") ?: "";
    if (!p) {
        char *dir = xasprintf("%s/pods/%s", kl->data_dir, jx_str(pod, "metadata.uid") ?: "x");
        int have_dir = access(dir, F_OK) == 0;

        free(dir);
        if (!have_dir && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) &&
            !jx_get(pod, "metadata.deletionTimestamp"))
            goto out; /* finished before we knew it */
        p = pod_new(kl, pod);
    }
    if (jx_get(pod, "metadata.deletionTimestamp")) {
        /* Nothing runs: nothing to stop. Else (re-adopt first) the containers are stopped
         * gracefully. */
        int none = !p->shim_pid && !shim_pid_alive(p->dir);

        if (kubelet__pod_event(p, none ? PEV_NOTHING_RUNS : PEV_DELETE, pod) < 0)
            goto out;
    } else if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0) {
        if (kubelet__pod_event(p, PEV_SYNC, pod) < 0)
            goto out;
    }
    /* While a running shim is being re-adopted (after a server restart) we know nothing yet
     * about its containers: the API's status is still the truth. Writing ours now would show
     * them waiting and unready for a moment, and the Service would drop them (503s). */
    if (find_name(kl, ns, name) == p && p->state != POD_ADOPTING)
        kubelet__status_write(p, pod);
out:
    json_decref(pod);
}

struct kubelet *kubelet__new(struct kc *kc, const char *data_dir, const char *node_name,
                             const char *node_ip, const char *self_exe)
{
    struct kubelet *kl = xcalloc(1, sizeof *kl);
    struct err err;
    char *pods = xasprintf("%s/pods", data_dir);

    mkdir(pods, 0700);
    free(pods);
    kl->kc = kc;
    kl->loop = kc_loop(kc);
    kl->data_dir = xstrdup(data_dir);
    kl->node_name = xstrdup(node_name);
    kl->node_ip = xstrdup(node_ip);
    kl->self_exe = xstrdup(self_exe ? self_exe : "/proc/self/exe");
    err_init(&err);
    if (netns_probe(0, &err) > 0) {
        kl->netns_ok = 1;
    } else {
        snprintf(kl->netns_err, sizeof kl->netns_err, "%s", err.msg);
        log_warn("kubelet", "msg=\"network namespaces cannot be created here: only hostNetwork "
                 "pods will run\" err=\"%s\"", err.msg);
    }
    err_release(&err);
    kubelet__cdi_restore(kl); /* before any pod is synced: no new pod takes a held device */
    kl->ctl = ctl_new(kc, "kubelet", kubelet_sync, kl);
    ctl_watch(kl->ctl, RES_POD, NULL);
    ctl_watch(kl->ctl, RES_CONFIGMAP, kubelet__on_config);
    ctl_watch(kl->ctl, RES_SECRET, kubelet__on_config);
    ctl_start(kl->ctl);
    loop_timer_init(&kl->gc_timer, kubelet__gc_orphans, kl);
    loop_timer_start(kl->loop, &kl->gc_timer, 2000);
    return kl;
}

void kubelet__free(struct kubelet *kl)
{
    if (!kl)
        return;
    loop_timer_stop(kl->loop, &kl->gc_timer);
    while (kl->pods)
        kubelet__pod_free(kl->pods, 0); /* pods keep running under their shims */
    kubelet__ops_join(kl);
    kubelet__pulls_free(kl);
    ctl_free(kl->ctl);
    free(kl->data_dir), free(kl->node_name), free(kl->node_ip), free(kl->self_exe);
    free(kl->runtime), free(kl->rt_root), free(kl->rt_err);
    cdi_alloc_free(kl->cdi_alloc);
    free(kl);
}
