/* The kubelet's blocking calls, off the server loop: starting a shim (shim_spawn waits up
 * to 5 s for it), starting a container, signalling one, stopping a shim (up to 3 s when
 * processes resist), removing a pod dir and pulling an image (skopeo, up to
 * KROLL_PULL_TIMEOUT). Each runs on a short-lived helper thread that owns
 * copies of everything it needs; when it ends it writes an eventfd watched by the loop, and the
 * result is applied on the loop (kubelet.c, kubelet_term.c). The server stays one thread as far
 * as the kubelet's state is concerned: helpers never touch a kpod, the API or the loop. */
#include "node/node-int.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/rootfs.h"
#include "node/volume.h"

struct kjob {
    struct kubelet *kl;
    struct kjob *next;
    pthread_t th;
    int threaded;
    int efd;
    struct loop_io io;
    struct loop_timer done; /* completes an op run without an eventfd (descriptors exhausted) */
    struct kop *op;
};

void kop__free(struct kop *op)
{
    if (!op)
        return;
    free(op->uid), free(op->dir), free(op->cname), free(op->exe), free(op->cwd), free(op->ip);
    json_decref(op->argv);
    json_decref(op->env);
    json_decref(op->mounts);
    json_decref(op->pod), json_decref(op->ctr), json_decref(op->img_config);
    json_decref(op->layers), json_decref(op->cdi_edits);
    free(op->netns), free(op->pidns);
    err_release(&op->err);
    free(op->ref);
    node__metrics_batch_free(op->metrics);
    free(op);
}

struct kop *kop__new(struct kubelet *kl, enum kop_kind kind, const char *uid, const char *dir)
{
    struct kop *op = xcalloc(1, sizeof *op);

    op->kl = kl;
    op->kind = kind;
    op->uid = xstrdup(uid ? uid : "");
    op->dir = xstrdup(dir);
    err_init(&op->err);
    return op;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

/* Container root filesystems are unmounted first, and the walk never crosses into another
 * file system: a rootfs still mounted (or mounted again meanwhile) is left alone rather than
 * deleted through, which would delete the image's layers. */
void kubelet__rm_tree(const char *dir)
{
    rootfs_unmount_all(dir);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* A NULL-terminated vector borrowing the strings of a JSON array. */
static const char **strv_borrow(const json_t *a)
{
    size_t n = json_array_size(a);
    const char **v = xcalloc(n + 1, sizeof *v);

    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(a, i)) ?: "";
    return v;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* skopeo into the store (dir is the data dir), then the size the Pulled event reports. */
static void pull_work(struct kop *op)
{
    int64_t t0 = mono_ms();
    json_t *ins;

    op->rc = image_pull(op->dir, op->ref, &op->err);
    op->took_ms = mono_ms() - t0;
    if (op->rc < 0)
        return;
    ins = image_inspect(op->dir, op->ref, &op->err);
    op->size = json_integer_value(json_object_get(ins, "Size"));
    json_decref(ins);
}

/* Runs on the helper thread: only the op's own copies are used. */
static void kop_work(struct kop *op)
{
    switch (op->kind) {
    case KOP_SPAWN: {
        struct shim_opts so = {
            .pod_ip = op->ip, .host_network = op->host_network, .share_pid = op->share_pid};
        json_t *state = NULL;

        /* Containers of a shim that died live on under the runtime: end them first. */
        kubelet__runtime_cleanup(op->kl, op->uid, op->dir);
        op->pid = shim_spawn(op->exe, op->dir, &so, &op->err);
        op->rc = op->pid < 0 ? (int)op->pid : 0;
        /* The shared PID namespace is named in the state the shim wrote before serving. */
        if (op->rc == 0 && op->share_pid && shim_state_read(op->dir, &state, &op->err) == 0 &&
            jx_str(state, "pidns"))
            op->pidns = xstrdup(jx_str(state, "pidns"));
        json_decref(state);
        break;
    }
    case KOP_START: {
        const char **av = strv_borrow(op->argv), **ev = strv_borrow(op->env);
        struct shim_container_spec spec = {.name = op->cname,
                                           .argv = av,
                                           .env = ev,
                                           .cwd = op->cwd,
                                           .mounts = op->mounts,
                                           .stdin_open = jx_bool(op->ctr, "stdin"),
                                           .tty = jx_bool(op->ctr, "tty"),
                                           .stdin_once = jx_bool(op->ctr, "stdinOnce")};
        char bundle[PATH_MAX], id[160];
        int timeout = 3000;

        if (op->layers) {
            op->rc = kubelet__bundle_prepare(op, bundle, id, sizeof id);
            if (op->rc < 0) {
                free(av), free(ev);
                break;
            }
            spec.bundle = bundle;
            spec.mounts = NULL; /* in config.json: runc makes them inside the container */
            spec.runtime = op->kl->runtime;
            spec.runtime_root = op->kl->rt_root;
            spec.container_id = id;
            timeout = SHIM_START_RUNTIME_TIMEOUT_MS;
        }
        op->pid = shim_container_start(op->dir, &spec, timeout, &op->started, &op->err);
        op->rc = op->pid < 0 ? (int)op->pid : 0;
        free(av);
        free(ev);
        break;
    }
    case KOP_SIGNAL:
        op->rc = shim_container_signal(op->dir, op->cname, op->sig, 2000, &op->err);
        break;
    case KOP_PULL:
        pull_work(op);
        break;
    case KOP_METRICS:
        node__metrics_work(op->metrics);
        break;
    case KOP_STOP:
        if (shim_pid_alive(op->dir) > 0)
            op->rc = shim_stop(op->dir, 5000, &op->err);
        kubelet__runtime_cleanup(op->kl, op->uid, op->dir);
        if (op->rm) {
            volume_cleanup(op->dir);
            kubelet__rm_tree(op->dir);
        }
        break;
    }
}

static void *job_main(void *arg)
{
    struct kjob *j = arg;
    uint64_t one = 1;

    kop_work(j->op);
    while (write(j->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void job_unlink(struct kjob *j)
{
    for (struct kjob **pp = &j->kl->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    loop_io_stop(j->kl->loop, &j->io);
    loop_timer_stop(j->kl->loop, &j->done);
    if (j->threaded)
        pthread_join(j->th, NULL);
    if (j->efd >= 0)
        close(j->efd);
}

static void on_job_done(struct loop_io *io, unsigned events, void *ctx)
{
    struct kjob *j = ctx;
    struct kop *op = j->op;

    job_unlink(j);
    free(j);
    kubelet__op_done(op);
    kop__free(op);
}

static void on_job_timer(struct loop_timer *t, void *ctx)
{
    (void)t;
    on_job_done(NULL, 0, ctx);
}

void kubelet__op_run(struct kop *op)
{
    struct kubelet *kl = op->kl;
    struct kjob *j = xcalloc(1, sizeof *j);
    sigset_t all, old;

    j->kl = kl;
    j->op = op;
    j->io.fd = -1;
    loop_timer_init(&j->done, on_job_timer, j);
    j->next = kl->jobs;
    kl->jobs = j;
    j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (j->efd < 0 || loop_io_start(kl->loop, &j->io, j->efd, EPOLLIN, on_job_done, j) < 0) {
        /* Out of descriptors (a flood of connections): the call runs here, meets the same
         * shortage as its own error, and completes from the loop as any other; the server
         * keeps running. */
        log_warn("kubelet", "msg=\"cannot watch a helper call; running it inline\" err=\"%s\"",
                 strerror(errno));
        if (j->efd >= 0)
            close(j->efd);
        j->efd = -1;
        j->io.fd = -1;
        kop_work(op);
        loop_timer_start(kl->loop, &j->done, 0);
        return;
    }
    /* Helpers take no signals: the loop's signalfd stays the only consumer. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    j->threaded = pthread_create(&j->th, NULL, job_main, j) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!j->threaded) {
        log_warn("kubelet", "msg=\"cannot start a helper thread; running the call inline\"");
        job_main(j); /* the result is still applied from the loop */
    }
}

void kubelet__ops_join(struct kubelet *kl)
{
    image_pull_cancel_all(); /* a pull may otherwise hold the join for minutes */
    while (kl->jobs) {
        struct kjob *j = kl->jobs;

        job_unlink(j);
        kop__free(j->op);
        free(j);
    }
}
