/* What the host gives the OCI runtime, and what it lacks: found once at start (overlayfs,
 * seccomp, the cpu, memory and pids cgroup controllers), reported as the node condition
 * KrollRuntimeDegraded, and enforced per container: a container that asks for something the
 * host cannot give (a memory limit without the memory controller, a seccomp profile without
 * seccomp) fails with CreateContainerError and says what is missing; nothing runs with less
 * isolation than it asked for. Detection reads what runc and Docker read (mountinfo,
 * /proc/filesystems, the seccomp sysctls), so a test can hide a feature in a mount namespace. */
#include "node/node-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"

#define RUNTIME_CALL_TIMEOUT_MS 30000 /* `runtime --version`, `modprobe overlay` */

static const char *const ctrl_names[] = {"cpu", "memory", "pids"};
static const int ctrl_bits[] = {HOST_NO_CPU, HOST_NO_MEMORY, HOST_NO_PIDS};

static int file_has(const char *path, const char *word)
{
    char line[512];
    int found = 0;
    FILE *f = fopen(path, "re");

    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, word) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Whether word is one of the items of list, separated by sep ("cpu" is not "cpuset"). */
static int list_has(const char *list, char sep, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; p && *p; p = strchr(p, sep) ? strchr(p, sep) + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == sep || p[n] == 0 || p[n] == '\n'))
            return 1;
    return 0;
}

/* cgroup2: the controllers its cgroup.controllers lists (one line, space-separated). */
static int v2_has(const char *mnt, const char *word)
{
    char path[1100], line[512] = "";
    FILE *f;

    snprintf(path, sizeof path, "%s/cgroup.controllers", mnt);
    if (!(f = fopen(path, "re")))
        return 0;
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    return list_has(line, ' ', word);
}

/* The controllers mounted for us, as runc finds them: a cgroup v1 mount whose super options
 * name the controller, or a cgroup2 mount whose cgroup.controllers lists it. Sets the
 * HOST_NO_* bits of the ones that are not. */
static int controllers_missing(void)
{
    char line[4096];
    int found = 0, missing = 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");

    while (f && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - "), mnt[1024], type[64], src[256], opts[1024];

        if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
            sscanf(sep + 3, "%63s %255s %1023s", type, src, opts) != 3)
            continue;
        for (int i = 0; i < 3; i++) {
            int has = 0;

            if (strcmp(type, "cgroup") == 0)
                has = list_has(opts, ',', ctrl_names[i]);
            else if (strcmp(type, "cgroup2") == 0)
                has = v2_has(mnt, ctrl_names[i]);
            if (has)
                found |= ctrl_bits[i];
        }
    }
    if (f)
        fclose(f);
    for (int i = 0; i < 3; i++)
        if (!(found & ctrl_bits[i]))
            missing |= ctrl_bits[i];
    return missing;
}

/* As Docker's overlay2 driver: the kernel lists overlay, perhaps once modprobe loaded it. */
static int overlay_present(void)
{
    char *mp[] = {"/sbin/modprobe", "-q", "overlay", NULL};

    if (file_has("/proc/filesystems", "\toverlay"))
        return 1;
    if (access(mp[0], X_OK) == 0)
        kubelet__run_bounded(mp, RUNTIME_CALL_TIMEOUT_MS);
    return file_has("/proc/filesystems", "\toverlay");
}

/* The actions containerd's profiles use must be available (the kernel's seccomp sysctls);
 * a kernel before 4.14 has no such directory, and prctl says whether it has seccomp at all. */
static int seccomp_present(void)
{
    if (access("/proc/sys/kernel/seccomp", F_OK) < 0 && errno == ENOENT)
        return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
    return file_has("/proc/sys/kernel/seccomp/actions_avail", "errno") &&
           file_has("/proc/sys/kernel/seccomp/actions_avail", "allow");
}

void kubelet__host_check(struct kubelet *kl)
{
    char *ver[] = {kl->runtime, "--version", NULL};

    if (kubelet__run_bounded(ver, RUNTIME_CALL_TIMEOUT_MS) != 0)
        kl->rt_err = xasprintf("the OCI runtime %s does not run (%s --version failed)", kl->runtime,
                               kl->runtime);
    kl->host_missing = controllers_missing();
    if (!overlay_present())
        kl->host_missing |= HOST_NO_OVERLAY;
    if (!seccomp_present())
        kl->host_missing |= HOST_NO_SECCOMP;
    /* Without overlayfs every container root is a copy; no mount is tried. */
    if (kl->host_missing & HOST_NO_OVERLAY)
        kl->force_copy = 1;
    if (kl->rt_err)
        log_error("kubelet", "msg=\"containers cannot run on this host\" err=\"%s\"", kl->rt_err);
    if (kl->host_missing) {
        char msg[1024];

        kubelet__host_missing_text(kl, msg, sizeof msg);
        log_warn("kubelet", "msg=\"the host lacks container features\" missing=\"%s\"", msg);
    }
}

void kubelet__host_missing_text(const struct kubelet *kl, char *out, size_t n)
{
    static const struct {
        int bit;
        const char *text;
    } what[] = {
        {HOST_NO_OVERLAY, "overlayfs (container roots are copies of their images' layers)"},
        {HOST_NO_SECCOMP, "seccomp (containers that ask for a seccomp profile are refused)"},
        {HOST_NO_MEMORY, "the memory cgroup controller (containers with a memory limit are "
                         "refused)"},
        {HOST_NO_CPU, "the cpu cgroup controller (containers with a cpu request or limit are "
                      "refused)"},
        {HOST_NO_PIDS, "the pids cgroup controller (containers are refused while "
                       "--pod-pids-limit is set)"},
    };
    size_t o = 0;

    out[0] = 0;
    for (size_t i = 0; i < sizeof what / sizeof what[0] && o < n; i++)
        if (kl->host_missing & what[i].bit)
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "; " : "", what[i].text);
    if (kl->overlay_failed && !(kl->host_missing & HOST_NO_OVERLAY) && o < n)
        snprintf(out + o, n - o,
                 "%soverlayfs mounts fail (container roots are copies of "
                 "their images' layers)",
                 o ? "; " : "");
}

json_t *kubelet__runtime_condition(const struct kubelet *kl)
{
    char msg[1200], text[1024];
    const char *reason = "RuntimeComplete";
    int degraded = 1;

    if (!kl || !kl->runtime) {
        reason = "ProcessRuntime";
        snprintf(msg, sizeof msg,
                 "--runtime=process: pods run as host processes, without "
                 "container isolation");
    } else if (kl->rt_err) {
        reason = "RuntimeUnavailable";
        snprintf(msg, sizeof msg, "no container can start: %s", kl->rt_err);
    } else if (kubelet__host_missing_text(kl, text, sizeof text), text[0]) {
        reason = "HostFeaturesMissing";
        snprintf(msg, sizeof msg, "missing on this host: %s", text);
    } else {
        degraded = 0;
        snprintf(msg, sizeof msg,
                 "%s with overlayfs, seccomp and the cpu, memory and pids "
                 "cgroup controllers",
                 kl->runtime);
    }
    return json_pack("{s:s, s:b, s:s, s:s}", "type", "KrollRuntimeDegraded", "status", degraded,
                     "reason", reason, "message", msg);
}

static int fit_fail(struct kop *op, const char *what, const char *ctrl)
{
    return err_set(&op->err, -E_INVALID,
                   "container %s asks for %s, but this node has no %s "
                   "to enforce it: refusing to run the container without it",
                   op->cname, what, ctrl);
}

int kubelet__spec_host_fit(struct kop *op, json_t *spec)
{
    int missing = op->kl->host_missing;
    const json_t *res = json_object_get(op->ctr, "resources");

    if ((missing & HOST_NO_MEMORY) && jx_get(spec, "linux.resources.memory"))
        return fit_fail(op, "a memory limit", "memory cgroup controller");
    if (missing & HOST_NO_CPU) {
        if (jx_get(res, "requests.cpu") || jx_get(res, "limits.cpu"))
            return fit_fail(op, "cpu resources", "cpu cgroup controller");
        /* The default weight (2 shares) is the kubelet's, not asked for: left out. */
        json_object_del(jx_obj(spec, "linux.resources"), "cpu");
    }
    if ((missing & HOST_NO_PIDS) && jx_get(spec, "linux.resources.pids"))
        return err_set(&op->err, -E_INVALID,
                       "the node's pids limit (--pod-pids-limit %lld) "
                       "cannot be enforced: this node has no pids cgroup controller (start the "
                       "server with --pod-pids-limit=0 to run containers without it)",
                       (long long)op->kl->pids_limit);
    return 0;
}
