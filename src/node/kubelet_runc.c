/* The kubelet's side of the OCI runtime (--runtime=runc|PATH): its selection at start (the host
 * features it needs are kubelet_host.c's), the bundle of each container start (rootfs, /etc
 * files, termination log, config.json), and the cleanup of a pod's containers, rootfs mounts
 * and cgroups when its shim is stopped or found dead. Bundle and cleanup run on the helper threads
 * of kubelet_ops.c and touch only the op's copies and the kubelet's runtime fields, which never
 * change after start. */
#include "node/node-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/ocispec.h"
#include "node/rootfs.h"
#include "node/seccomp.h"

#define RUNTIME_CALL_TIMEOUT_MS 30000 /* one `runtime delete` or `--version` */

int kubelet__run_bounded(char *const argv[], int timeout_ms)
{
    struct timespec t0, t;
    int status, nullfd;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if ((nullfd = open("/dev/null", O_RDWR)) >= 0)
            dup2(nullfd, 0), dup2(nullfd, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(2000);
    }
}

static char *path_lookup(const char *name)
{
    const char *path = getenv("PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

    if (strchr(name, '/'))
        return realpath(name, NULL);
    while (*path) {
        const char *end = strchrnul(path, ':');
        char *cand = xasprintf("%.*s/%s", (int)(end - path), path, name);

        if (access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path = *end ? end + 1 : end;
    }
    return NULL;
}

/* What the runtime (a child of ours) can grant: our bounding set, and RLIMIT_NOFILE up to
 * OCISPEC_NOFILE only with CAP_SYS_RESOURCE (else up to our own hard limit). */
static void host_limits(struct kubelet *kl)
{
    char line[256];
    unsigned long long bnd = 0;
    struct rlimit rl;
    FILE *f = fopen("/proc/self/status", "re");

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "CapBnd: %llx", &bnd) == 1)
            break;
    if (f)
        fclose(f);
    kl->host_caps = bnd;
    kl->nofile = OCISPEC_NOFILE;
    if (!((bnd >> 24) & 1) && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_max < (rlim_t)OCISPEC_NOFILE) {
        kl->nofile = (int64_t)rl.rlim_max;
        log_warn("kubelet", "msg=\"no CAP_SYS_RESOURCE: containers get RLIMIT_NOFILE %lld, the "
                 "server's hard limit\"", (long long)kl->nofile);
    }
}

void kubelet__runtime_set(struct kubelet *kl, const char *runtime, int64_t pids_limit)
{
    char *root;

    kl->pids_limit = pids_limit;
    if (!runtime || !*runtime || strcmp(runtime, "process") == 0) {
        log_warn("kubelet", "msg=\"--runtime=process: pods run as host processes, without "
                 "container isolation (development only)\"");
        return;
    }
    kl->force_copy = getenv("KROLL_ROOTFS_COPY") && strcmp(getenv("KROLL_ROOTFS_COPY"), "1") == 0;
    kl->runtime = path_lookup(runtime);
    root = xasprintf("%s/runc", kl->data_dir);
    mkdir(root, 0700);
    kl->rt_root = realpath(root, NULL);
    free(root);
    if (!kl->runtime || !kl->rt_root) {
        kl->rt_err = xasprintf("the OCI runtime %s was not found", runtime);
        log_error("kubelet", "msg=\"containers cannot run on this host\" err=\"%s\"", kl->rt_err);
        if (!kl->runtime)
            kl->runtime = xstrdup(runtime);
        return;
    }
    kubelet__host_check(kl);
    host_limits(kl);
    log_info("kubelet", "msg=\"container runtime\" runtime=%s root=%s pids_limit=%lld",
             kl->runtime, kl->rt_root, (long long)pids_limit);
}

/* ---- bundle --------------------------------------------------------------------------------- */

static int bundle_fail(struct kop *op, const char *reason, int rc)
{
    snprintf(op->reason, sizeof op->reason, "%s", reason);
    return rc < 0 ? rc : -E_INVALID;
}

/* 0600: the spec holds the containers' environment, Secret values included. */
static int config_write(const char *bundle, json_t *spec, struct err *err)
{
    char path[PATH_MAX + 16], *text = json_dumps(spec, JSON_COMPACT);
    int rc;

    snprintf(path, sizeof path, "%s/config.json", bundle);
    rc = text ? file_write_atomic(path, text, strlen(text), 0600) : -ENOMEM;
    free(text);
    return rc < 0 ? err_set(err, -EIO, "cannot write %s: %s", path, strerror(-rc)) : 0;
}

/* The spec of a prepared rootfs; NULL with op->err on a configuration error. */
static json_t *bundle_spec(struct kop *op, const char *bundle, const char *termlog)
{
    struct ocispec_user u;
    char root[PATH_MAX + 8], hosts[PATH_MAX], hostname[PATH_MAX], resolv[PATH_MAX], cg[256];
    struct ocispec_in in = {.pod = op->pod, .container = op->ctr, .argv = op->argv,
                            .env = op->env, .cwd = op->cwd, .user = &u, .mounts = op->mounts,
                            .rootfs = "rootfs", .etc_hosts = hosts, .etc_hostname = hostname,
                            .etc_resolv = resolv, .termination_log = termlog,
                            .netns = op->netns, .pidns = op->pidns, .cgroups_path = cg,
                            .pids_limit = op->kl->pids_limit, .nofile = op->kl->nofile,
                            .host_caps = op->kl->host_caps};

    snprintf(root, sizeof root, "%s/rootfs", bundle);
    if (jx_bool(op->pod, "spec.shareProcessNamespace") && !jx_bool(op->pod, "spec.hostPID") &&
        !op->pidns)
        return err_set(&op->err, -E_INVALID, "the pod shares its process namespace, but its "
                       "sandbox holds none (a shim started without it): delete the pod to "
                       "recreate it"), NULL;
    if (ocispec_user_resolve(op->pod, op->ctr, op->img_config, root, &u, &op->err) < 0)
        return NULL;
    snprintf(hosts, sizeof hosts, "%s/etc/hosts", op->dir);
    snprintf(hostname, sizeof hostname, "%s/etc/hostname", op->dir);
    snprintf(resolv, sizeof resolv, "%s/etc/resolv.conf", op->dir);
    /* Relative: runc 1.1 puts it under the shim's own cgroup in each hierarchy (on this kind of
     * host the memory hierarchy may be nested), so kroll's limits nest inside the server's. */
    snprintf(cg, sizeof cg, "kroll/pod%s/%s", op->uid, op->cname);
    return ocispec_build(&in, &op->err);
}

/* The seccomp profile (after the capabilities: RuntimeDefault and Localhost profiles allow
 * syscalls by the bounding set) and the CDI edits computed on the loop. A profile that cannot
 * be loaded or enforced fails the start: never run a container with less than it asked. */
static int spec_security(struct kop *op, json_t *spec)
{
    const char *local;
    enum ocispec_seccomp t = ocispec_seccomp_type(op->pod, op->ctr, &local);
    const json_t *caps = jx_get(spec, "process.capabilities.bounding");
    json_t *prof = NULL;
    int rc;

    if (t != OCISPEC_SECCOMP_NONE && (op->kl->host_missing & HOST_NO_SECCOMP))
        return err_set(&op->err, -E_INVALID, "seccomp profile %s was asked for, but this host's "
                       "kernel has no seccomp: refusing to run the container unconfined",
                       t == OCISPEC_SECCOMP_DEFAULT ? "RuntimeDefault" : "Localhost");
    if (t == OCISPEC_SECCOMP_DEFAULT)
        prof = seccomp_runtime_default(caps);
    else if (t == OCISPEC_SECCOMP_LOCALHOST &&
             (rc = seccomp_localhost(op->kl->data_dir, local, caps, &prof, &op->err)) < 0)
        return rc;
    if (prof)
        json_object_set_new(jx_obj(spec, "linux"), "seccomp", prof);
    if (op->cdi_edits)
        ocispec_cdi_merge(spec, op->cdi_edits);
    return 0;
}

int kubelet__bundle_prepare(struct kop *op, char *bundle, char *id, size_t idn)
{
    char *layers[ROOTFS_LAYERS_MAX], *termlog;
    size_t n = json_array_size(op->layers);
    json_t *spec;
    int rc;

    if (op->kl->rt_err)
        return bundle_fail(op, "CreateContainerError",
                           err_set(&op->err, -E_INVALID, "%s", op->kl->rt_err));
    /* The parent in its own buffer: gcc's UBSan build (nonnull checks after mkdir) warned that
     * a reused bundle could be NULL in the second snprintf. */
    char ctr[PATH_MAX];
    snprintf(ctr, sizeof ctr, "%s/ctr", op->dir);
    mkdir(ctr, 0700);
    snprintf(bundle, PATH_MAX, "%s/ctr/%s", op->dir, op->cname);
    mkdir(bundle, 0700);
    rootfs_container_id(op->uid, op->cname, id, idn);
    if ((rc = rootfs_etc_write(op->dir, jx_str(op->pod, "metadata.name") ?: "", op->ip, op->pod,
                               &op->err)) < 0)
        return bundle_fail(op, "CreateContainerError", rc);
    for (size_t i = 0; i < n && i < ROOTFS_LAYERS_MAX; i++)
        layers[i] = (char *)json_string_value(json_array_get(op->layers, i));
    if ((rc = rootfs_make(bundle, layers, n, op->kl->force_copy, &op->err)) < 0)
        return bundle_fail(op, "CreateContainerError", rc);
    op->copied = rc == ROOTFS_COPY;
    if (!(termlog = rootfs_termlog_create(bundle, &op->err)))
        return bundle_fail(op, "CreateContainerError", -EIO);
    spec = bundle_spec(op, bundle, termlog);
    free(termlog);
    if (!spec)
        return bundle_fail(op, "CreateContainerConfigError", op->err.code);
    if ((rc = kubelet__spec_host_fit(op, spec)) < 0 || (rc = spec_security(op, spec)) < 0) {
        json_decref(spec);
        return bundle_fail(op, "CreateContainerError", rc);
    }
    rc = config_write(bundle, spec, &op->err);
    json_decref(spec);
    return rc < 0 ? bundle_fail(op, "CreateContainerError", rc) : 0;
}

/* ---- cleanup -------------------------------------------------------------------------------- */

struct cleanup_ctx {
    struct kubelet *kl;
    const char *uid, *dir;
};

static void delete_one(const char *name, void *arg)
{
    struct cleanup_ctx *x = arg;
    char id[160], bundle[PATH_MAX];
    char *argv[] = {x->kl->runtime, "--root", x->kl->rt_root, "delete", "--force", id, NULL};

    rootfs_container_id(x->uid, name, id, sizeof id);
    if (kubelet__run_bounded(argv, RUNTIME_CALL_TIMEOUT_MS) < 0)
        log_warn("kubelet", "msg=\"runtime delete failed\" id=%s", id);
    shim_runc_state_sweep(x->kl->rt_root, id);
    snprintf(bundle, sizeof bundle, "%s/ctr/%s", x->dir, name);
    rootfs_unmount(bundle);
}

/* rmdir of kroll/pod<uid> under this process's cgroup in every hierarchy (where runc made the
 * containers' cgroups: see bundle_spec). The containers' own directories went with
 * `runc delete`; "kroll" itself stays, shared by every pod. */
static void pod_cgroups_remove(const char *uid)
{
    char line[1024], path[PATH_MAX];
    FILE *f = fopen("/proc/self/cgroup", "re");

    while (f && fgets(line, sizeof line, f)) {
        char *ctrl = strchr(line, ':'), *cg = ctrl ? strchr(ctrl + 1, ':') : NULL, *comma;
        const char *mnt;

        if (!cg)
            continue;
        *cg++ = 0;
        cg[strcspn(cg, "\n")] = 0;
        ctrl++;
        if ((comma = strchr(ctrl, '=')))
            ctrl = comma + 1; /* name=systemd */
        if (!*ctrl)
            mnt = access("/sys/fs/cgroup/unified", F_OK) == 0 ? "/sys/fs/cgroup/unified"
                                                               : "/sys/fs/cgroup";
        else
            mnt = NULL;
        snprintf(path, sizeof path, "%s%s%s/%s/kroll/pod%s", mnt ? mnt : "/sys/fs/cgroup",
                 mnt ? "" : "/", mnt ? "" : ctrl, strcmp(cg, "/") ? cg : "", uid);
        rmdir(path);
    }
    if (f)
        fclose(f);
}

void kubelet__runtime_cleanup(struct kubelet *kl, const char *uid, const char *dir)
{
    struct cleanup_ctx x = {kl, uid, dir};

    if (!kl->runtime || !kl->rt_root)
        return;
    rootfs_bundles_each(dir, delete_one, &x);
    pod_cgroups_remove(uid);
}
