/* The OCI runtime spec (config.json) of one container, built the way a kubelet with containerd
 * would: securityContext (pod and container, container wins), containerd's default capability
 * set, masked and read-only paths, namespaces, cgroup resources from requests/limits, and the
 * mounts a kubelet makes. ocispec_build() is a pure function of its inputs; the user lookup in
 * the image's /etc/passwd and /etc/group is the only part that reads files. */
#ifndef KROLL_NODE_OCISPEC_H
#define KROLL_NODE_OCISPEC_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define OCISPEC_NOFILE 1048576        /* RLIMIT_NOFILE, as containerd sets it */
#define OCISPEC_SHM_BYTES (64L << 20) /* /dev/shm size, as Docker and containerd */
#define OCISPEC_PASSWD_MAX (1L << 20) /* bytes of /etc/passwd or /etc/group read */
#define OCISPEC_GROUPS_MAX 64         /* additional gids of one process */
#define OCISPEC_CPU_PERIOD 100000     /* CFS period (µs), as the kubelet */
#define OCISPEC_CPU_MAX_SHARES 262144 /* cpu.shares ceiling, as the kubelet (runc refuses more) */
#define OCISPEC_CPU_MAX_QUOTA ((1LL << 44) - 1) /* the kernel's largest CFS quota (µs) */

/* Who the container's process runs as. */
struct ocispec_user {
    uid_t uid;
    gid_t gid;
    gid_t groups[OCISPEC_GROUPS_MAX]; /* additional gids (primary first) */
    int ngroups;
};

/* Resolves the user of container (securityContext runAsUser/runAsGroup, pod's then the
 * container's, over the image config's User, "uid[:gid]" or names looked up in
 * <rootfs>/etc/passwd and /etc/group; rootfs may be NULL: names then fail), adds the user's
 * groups from /etc/group, supplementalGroups and fsGroup, and enforces runAsNonRoot with the
 * kubelet's messages. pod_ref names the pod in those messages. Returns 0, or -E_INVALID with err
 * (the kubelet's CreateContainerConfigError text). */
int ocispec_user_resolve(const json_t *pod, const json_t *container, const json_t *img_config,
                         const char *rootfs, struct ocispec_user *u, struct err *err);

/* Everything config.json is made of. Borrowed. */
struct ocispec_in {
    const json_t *pod, *container;
    const json_t *argv, *env; /* resolved string arrays */
    const char *cwd;          /* inside the container; NULL: "/" */
    const struct ocispec_user *user;
    const json_t *mounts;   /* volume_mounts_resolve(): [{"source","target","readOnly"}] */
    const char *rootfs;     /* root.path (relative to the bundle is fine) */
    const char *etc_hosts, *etc_hostname, *etc_resolv; /* host files bind-mounted into /etc */
    const char *termination_log; /* host file for terminationMessagePath, may be NULL */
    const char *netns;        /* pod network namespace path; NULL: the host's (hostNetwork) */
    const char *pidns;        /* shareProcessNamespace: the pod's PID namespace to join; NULL:
                               * a new one (or the host's with hostPID) */
    const char *cgroups_path; /* linux.cgroupsPath */
    int64_t pids_limit;       /* <= 0: none */
    int64_t nofile;           /* RLIMIT_NOFILE; <= 0: OCISPEC_NOFILE */
    uint64_t host_caps;       /* capabilities the runtime can grant (bit n = cap n); 0: all.
                               * "ALL" and privileged mean these, as containerd's
                               * WithAllCurrentCapabilities; naming one outside them fails. */
};

/* Builds config.json. Returns a new object, or NULL with err set (a malformed quantity or
 * capability). The seccomp profile and CDI edits are applied by the caller afterwards
 * (kubelet__bundle_prepare, with ocispec_seccomp_type and ocispec_cdi_merge). */
json_t *ocispec_build(const struct ocispec_in *in, struct err *err);

/* Whether the effective securityContext of container (in pod) is privileged. */
int ocispec_privileged(const json_t *pod, const json_t *container);

/* The pod's QoS class by the upstream rules (init containers included; requests default to
 * limits): "Guaranteed" when every container has cpu and memory limits equal to its requests,
 * "BestEffort" when none has any cpu or memory request or limit, else "Burstable". */
const char *ocispec_qos_class(const json_t *pod);

/* Which seccomp profile the container gets: its securityContext.seccompProfile, else the
 * pod's; Unconfined or unset is none (the kubelet's default without --seccomp-default), and a
 * privileged container gets none whatever it asks (as containerd). For Localhost, *localhost
 * is the localhostProfile (borrowed from pod or container), else NULL. */
enum ocispec_seccomp { OCISPEC_SECCOMP_NONE, OCISPEC_SECCOMP_DEFAULT, OCISPEC_SECCOMP_LOCALHOST };
enum ocispec_seccomp ocispec_seccomp_type(const json_t *pod, const json_t *container,
                                          const char **localhost);

/* Merges CDI edits computed elsewhere (cdi_apply into a skeleton: process.env, mounts,
 * linux.devices, linux.resources.devices, hooks, process.user.additionalGids; borrowed) into
 * spec: env set-or-replace, a device node or mount replaces one at the same path, device
 * allow rules after the spec's deny-all, mounts then ordered parents first, hooks appended,
 * gids added once. Device nodes without uid/gid get spec's process.user (when not root). */
void ocispec_cdi_merge(json_t *spec, const json_t *edits);

#endif
