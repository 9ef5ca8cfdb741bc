/* config.json for one container, as a kubelet with containerd would write it (see ocispec.h).
 * Everything here is derived from its inputs: the same pod, container and image give the same
 * spec, which is what the unit tests hold it to. Defaults follow containerd 1.7's CRI plugin
 * (capabilities, mounts, masked paths) and the kubelet (cpu shares and quota, runAsNonRoot). */
#include "node/ocispec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/jx.h"
#include "core/log.h"

static const char *const all_caps[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"};
#define NCAPS (sizeof all_caps / sizeof all_caps[0])

/* containerd's default set (oci.defaultUnixCaps). */
static const char *const default_caps[] = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID",  "FOWNER", "MKNOD",            "NET_RAW",    "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"};

static const char *const masked_paths[] = {
    "/proc/acpi",         "/proc/asound",     "/proc/kcore",        "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",      "/proc/scsi"};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

/* A securityContext field: the container's wins over the pod's (for fields both have). */
static const json_t *sc_get(const json_t *pod, const json_t *ctr, const char *key)
{
    const json_t *v = json_object_get(json_object_get(ctr, "securityContext"), key);

    if (v && !json_is_null(v))
        return v;
    v = jx_get(pod, "spec.securityContext");
    v = json_object_get(v, key);
    return v && !json_is_null(v) ? v : NULL;
}

int ocispec_privileged(const json_t *pod, const json_t *container)
{
    (void)pod;
    return jx_bool(container, "securityContext.privileged");
}

/* ---- user ----------------------------------------------------------------------------------- */

/* Reads <rootfs>/etc/<file> into a malloc'd string (capped), or NULL. */
static char *etc_read(const char *rootfs, const char *file)
{
    char path[4096];
    FILE *f;
    char *buf;
    size_t n;

    if (!rootfs)
        return NULL;
    snprintf(path, sizeof path, "%s/etc/%s", rootfs, file);
    struct stat st;

    if (!(f = fopen(path, "re")))
        return NULL;
    /* Sized to the file (capped): images are untrusted, and most passwd files are tiny. */
    n = fstat(fileno(f), &st) == 0 && st.st_size < OCISPEC_PASSWD_MAX ? (size_t)st.st_size
                                                                       : OCISPEC_PASSWD_MAX;
    buf = xmalloc(n + 1);
    n = fread(buf, 1, n, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Finds the line of /etc/passwd or /etc/group whose field `by` (0: name, 2: id) equals key;
 * copies its fields 0..3 into f (each truncated to 255 bytes). Returns 1 when found. */
static int etc_find(const char *text, int by, const char *key, char f[4][256])
{
    const char *line = text;

    while (line && *line) {
        const char *end = strchrnul(line, '\n'), *p = line;
        int i;

        for (i = 0; i < 4; i++) {
            const char *c = memchr(p, ':', (size_t)(end - p));
            const char *fe = c ? c : end;
            snprintf(f[i], 256, "%.*s", (int)(fe - p), p);
            p = c ? c + 1 : end;
        }
        if (line[0] != '#' && strcmp(f[by], key) == 0)
            return 1;
        line = *end ? end + 1 : NULL;
    }
    return 0;
}

static int parse_id(const char *s, long *out)
{
    char *end;

    if (!*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtol(s, &end, 10);
    return *end || errno || *out > 0x7fffffffL ? -1 : 0;
}

/* uid (and gid from /etc/passwd when has_gid is 0) of the user text "name" or "123". */
static int user_lookup(const char *rootfs, const char *user, struct ocispec_user *u,
                       int has_gid, char *name, struct err *err)
{
    char *pw = etc_read(rootfs, "passwd"), f[4][256];
    long id;
    int numeric = parse_id(user, &id) == 0, found;

    found = pw && etc_find(pw, numeric ? 2 : 0, user, f);
    free(pw);
    if (!numeric && !found)
        return err_set(err, -E_INVALID, "unable to find user %s: no matching entries in passwd "
                       "file", user);
    u->uid = numeric ? (uid_t)id : (uid_t)strtol(f[2], NULL, 10);
    if (!has_gid)
        u->gid = found ? (gid_t)strtol(f[3], NULL, 10) : 0;
    snprintf(name, 256, "%s", found ? f[0] : "");
    return 0;
}

static int group_lookup(const char *rootfs, const char *group, gid_t *gid, struct err *err)
{
    char *gr, f[4][256];
    long id;
    int found;

    if (parse_id(group, &id) == 0) {
        *gid = (gid_t)id;
        return 0;
    }
    gr = etc_read(rootfs, "group");
    found = gr && etc_find(gr, 0, group, f);
    free(gr);
    if (!found)
        return err_set(err, -E_INVALID, "unable to find group %s: no matching entries in group "
                       "file", group);
    *gid = (gid_t)strtol(f[2], NULL, 10);
    return 0;
}

static void group_add(struct ocispec_user *u, long gid)
{
    for (int i = 0; i < u->ngroups; i++)
        if (u->groups[i] == (gid_t)gid)
            return;
    if (u->ngroups < OCISPEC_GROUPS_MAX && gid >= 0)
        u->groups[u->ngroups++] = (gid_t)gid;
}

/* The groups /etc/group lists name in (containerd's WithAdditionalGIDs). */
static void groups_of(const char *rootfs, const char *name, struct ocispec_user *u)
{
    char *gr = etc_read(rootfs, "group"), *line, *save = NULL;

    if (!gr || !*name) {
        free(gr);
        return;
    }
    for (line = strtok_r(gr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0}, *p = line, *m, *ms = NULL;
        int i;

        for (i = 0; i < 4 && p; i++) {
            f[i] = p;
            if ((p = strchr(p, ':')))
                *p++ = 0;
        }
        if (i < 4 || !f[3])
            continue;
        for (m = strtok_r(f[3], ",", &ms); m; m = strtok_r(NULL, ",", &ms))
            if (strcmp(m, name) == 0)
                group_add(u, strtol(f[2], NULL, 10));
    }
    free(gr);
}

static void pod_ref(const json_t *pod, char *out, size_t n)
{
    snprintf(out, n, "%s_%s(%s)", jx_str(pod, "metadata.name") ?: "",
             jx_str(pod, "metadata.namespace") ?: "", jx_str(pod, "metadata.uid") ?: "");
}

/* runAsNonRoot, with the kubelet's texts (verifyRunAsNonRoot). */
static int nonroot_check(const json_t *pod, const json_t *ctr, const char *img_user,
                         const struct ocispec_user *u, struct err *err)
{
    const json_t *run_as = sc_get(pod, ctr, "runAsUser");
    const char *cname = jx_str(ctr, "name") ?: "";
    char ref[512], head[256];
    long id;

    if (!json_is_true(sc_get(pod, ctr, "runAsNonRoot")))
        return 0;
    pod_ref(pod, ref, sizeof ref);
    if (run_as) {
        if (json_integer_value(run_as) == 0)
            return err_set(err, -E_INVALID, "container's runAsUser breaks non-root policy (pod: "
                           "\"%s\", container: %s)", ref, cname);
        return 0;
    }
    snprintf(head, sizeof head, "%s", img_user ? img_user : "");
    head[strcspn(head, ":")] = 0;
    if (head[0] && parse_id(head, &id) < 0)
        return err_set(err, -E_INVALID, "container has runAsNonRoot and image has non-numeric "
                       "user (%s), cannot verify user is non-root (pod: \"%s\", container: %s)",
                       head, ref, cname);
    if (u->uid == 0)
        return err_set(err, -E_INVALID, "container has runAsNonRoot and image will run as root "
                       "(pod: \"%s\", container: %s)", ref, cname);
    return 0;
}

int ocispec_user_resolve(const json_t *pod, const json_t *ctr, const json_t *img_config,
                         const char *rootfs, struct ocispec_user *u, struct err *err)
{
    const json_t *ru = sc_get(pod, ctr, "runAsUser"), *rg = sc_get(pod, ctr, "runAsGroup"), *g;
    const char *img_user = jx_str(img_config, "User");
    char user[256], name[256] = "", *colon;
    size_t i;
    int rc;

    memset(u, 0, sizeof *u);
    if (ru)
        snprintf(user, sizeof user, "%lld", (long long)json_integer_value(ru));
    else
        snprintf(user, sizeof user, "%s", img_user && *img_user ? img_user : "0");
    colon = ru ? NULL : strchr(user, ':');
    if (colon)
        *colon++ = 0;
    if ((rc = user_lookup(rootfs, user, u, colon != NULL, name, err)) < 0)
        return rc;
    if (colon && (rc = group_lookup(rootfs, colon, &u->gid, err)) < 0)
        return rc;
    if (rg)
        u->gid = (gid_t)json_integer_value(rg);
    group_add(u, u->gid);
    groups_of(rootfs, name, u);
    json_array_foreach(jx_get(pod, "spec.securityContext.supplementalGroups"), i, g)
        group_add(u, (long)json_integer_value(g));
    if ((g = jx_get(pod, "spec.securityContext.fsGroup")) && json_is_integer(g))
        group_add(u, (long)json_integer_value(g));
    return nonroot_check(pod, ctr, img_user, u, err);
}

/* ---- capabilities --------------------------------------------------------------------------- */

static int cap_index(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (size_t i = 0; i < NCAPS; i++)
        if (strcasecmp(all_caps[i], name) == 0)
            return (int)i;
    return -1;
}

static int cap_ok(uint64_t host, size_t k)
{
    return host == 0 || (host >> k) & 1;
}

static void caps_all(char set[NCAPS], uint64_t host)
{
    for (size_t k = 0; k < NCAPS; k++)
        set[k] = (char)cap_ok(host, k);
}

static int list_has_all(const json_t *list)
{
    const json_t *v;
    size_t i;

    json_array_foreach(list, i, v)
        if (strcasecmp(json_string_value(v) ?: "", "ALL") == 0)
            return 1;
    return 0;
}

/* Sets (on) or clears each named capability of list; "ALL" was handled by the caller. */
static int caps_names(char set[NCAPS], const json_t *list, int on, uint64_t host,
                      struct err *err)
{
    const json_t *v;
    size_t i;

    json_array_foreach(list, i, v) {
        const char *name = json_string_value(v) ?: "";
        int k;

        if (strcasecmp(name, "ALL") == 0)
            continue;
        if ((k = cap_index(name)) < 0)
            return err_set(err, -E_INVALID, "unknown capability \"%s\"", name);
        if (on && !cap_ok(host, (size_t)k))
            return err_set(err, -E_INVALID, "capability CAP_%s is not available on this node",
                           all_caps[k]);
        set[k] = (char)on;
    }
    return 0;
}

static json_t *caps_json(const json_t *pod, const json_t *ctr, uint64_t host, struct err *err)
{
    const json_t *caps = jx_get(ctr, "securityContext.capabilities");
    char set[NCAPS] = {0};
    json_t *list, *out;

    if (ocispec_privileged(pod, ctr)) {
        caps_all(set, host);
    } else {
        for (size_t i = 0; i < sizeof default_caps / sizeof *default_caps; i++)
            set[cap_index(default_caps[i])] = 1;
        const json_t *add = json_object_get(caps, "add"), *drop = json_object_get(caps, "drop");

        /* containerd's order: add ALL, drop ALL, then the named adds, then the named drops
         * (so drop ["ALL"] + add ["NET_BIND_SERVICE"] keeps exactly that one). */
        if (list_has_all(add))
            caps_all(set, host);
        if (list_has_all(drop))
            memset(set, 0, NCAPS);
        if (caps_names(set, add, 1, host, err) < 0 || caps_names(set, drop, 0, host, err) < 0)
            return NULL;
    }
    list = json_array();
    for (size_t i = 0; i < NCAPS; i++)
        if (set[i])
            json_array_append_new(list, json_sprintf("CAP_%s", all_caps[i]));
    /* Not inheritable or ambient: a non-root process keeps none after exec (CVE-2022-24769). */
    out = json_pack("{s:O, s:O, s:O}", "bounding", list, "effective", list, "permitted", list);
    json_decref(list);
    return out;
}

/* no_new_privs: allowPrivilegeEscalation when given; otherwise on, unless the container is
 * privileged or adds CAP_SYS_ADMIN (which Kubernetes treats as escalation allowed). */
static int no_new_privs(const json_t *pod, const json_t *ctr)
{
    const json_t *ape = jx_get(ctr, "securityContext.allowPrivilegeEscalation"), *v;
    size_t i;

    if (json_is_boolean(ape))
        return !json_is_true(ape);
    if (ocispec_privileged(pod, ctr))
        return 0;
    json_array_foreach(jx_get(ctr, "securityContext.capabilities.add"), i, v)
        if (cap_index(json_string_value(v) ?: "") == cap_index("SYS_ADMIN"))
            return 0;
    return 1;
}

/* ---- process -------------------------------------------------------------------------------- */

static json_t *process_json(const struct ocispec_in *in, struct err *err)
{
    const struct ocispec_user *u = in->user;
    json_t *caps = caps_json(in->pod, in->container, in->host_caps, err), *gids, *p;
    json_int_t nofile = in->nofile > 0 ? (json_int_t)in->nofile : OCISPEC_NOFILE;

    if (!caps)
        return NULL;
    gids = json_array();
    for (int i = 0; i < u->ngroups; i++)
        json_array_append_new(gids, json_integer(u->groups[i]));
    p = json_pack("{s:b, s:{s:I, s:I, s:o}, s:O, s:O, s:s, s:o, s:b, s:[{s:s, s:I, s:I}]}",
                  "terminal", json_is_true(json_object_get(in->container, "tty")), "user", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid,
                  "additionalGids", gids, "args", in->argv, "env", in->env, "cwd",
                  in->cwd && *in->cwd ? in->cwd : "/", "capabilities", caps, "noNewPrivileges",
                  no_new_privs(in->pod, in->container), "rlimits", "type", "RLIMIT_NOFILE",
                  "hard", nofile, "soft", nofile);
    return p;
}

/* ---- mounts --------------------------------------------------------------------------------- */

static void mount_add(json_t *ms, const char *dst, const char *type, const char *src,
                      const char *opts)
{
    json_t *o = json_array();
    char *copy = xstrdup(opts), *save = NULL;

    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(o, json_string(t));
    free(copy);
    json_array_append_new(ms, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type,
                                        "source", src, "options", o));
}

static void mounts_base(json_t *ms, int privileged)
{
    char shm[64];

    snprintf(shm, sizeof shm, "nosuid,noexec,nodev,mode=1777,size=%ld", OCISPEC_SHM_BYTES);
    mount_add(ms, "/proc", "proc", "proc", "nosuid,noexec,nodev");
    mount_add(ms, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
    mount_add(ms, "/dev/pts", "devpts", "devpts",
              "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_add(ms, "/dev/shm", "tmpfs", "shm", shm);
    mount_add(ms, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
    mount_add(ms, "/sys", "sysfs", "sysfs", privileged ? "nosuid,noexec,nodev,rw"
                                                        : "nosuid,noexec,nodev,ro");
    mount_add(ms, "/sys/fs/cgroup", "cgroup", "cgroup", privileged
                  ? "nosuid,noexec,nodev,relatime,rw" : "nosuid,noexec,nodev,relatime,ro");
}

/* Volumes, then the files the kubelet manages, which win over a volume at the same path. */
static json_t *mounts_json(const struct ocispec_in *in)
{
    const json_t *m;
    json_t *ms = json_array();
    int ro_root = jx_bool(in->container, "securityContext.readOnlyRootFilesystem");
    const char *etc_opts = ro_root ? "rbind,rprivate,ro" : "rbind,rprivate,rw";
    const char *tpath = jx_str(in->container, "terminationMessagePath");
    size_t i;

    mounts_base(ms, ocispec_privileged(in->pod, in->container));
    json_array_foreach(in->mounts, i, m) {
        const char *src = jx_str(m, "source"), *dst = jx_str(m, "target");

        if (src && dst)
            mount_add(ms, dst, "bind", src, json_is_true(json_object_get(m, "readOnly"))
                                                ? "rbind,rprivate,ro" : "rbind,rprivate,rw");
    }
    if (in->etc_hosts)
        mount_add(ms, "/etc/hosts", "bind", in->etc_hosts, etc_opts);
    if (in->etc_hostname)
        mount_add(ms, "/etc/hostname", "bind", in->etc_hostname, etc_opts);
    if (in->etc_resolv)
        mount_add(ms, "/etc/resolv.conf", "bind", in->etc_resolv, etc_opts);
    if (in->termination_log)
        mount_add(ms, tpath && *tpath ? tpath : "/dev/termination-log", "bind",
                  in->termination_log, "rbind,rprivate,rw");
    return ms;
}

/* ---- resources ------------------------------------------------------------------------------ */

/* A container resource in milli-units: limits or requests (request falls back to the limit, as
 * the API server defaults it). -1 when absent, -2 when malformed. */
static int64_t res_milli(const json_t *ctr, const char *kind, const char *name)
{
    const json_t *v = json_object_get(jx_get(ctr, kind), name);
    char buf[64];
    int64_t m;

    if (!v && strcmp(kind, "resources.requests") == 0)
        v = json_object_get(jx_get(ctr, "resources.limits"), name);
    if (!v)
        return -1;
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, sizeof buf, "%s", json_string_value(v) ?: "");
    return quantity_parse_milli(buf, &m) < 0 || m < 0 ? -2 : m;
}

static json_t *resources_json(const struct ocispec_in *in, struct err *err)
{
    int64_t cpu_req = res_milli(in->container, "resources.requests", "cpu");
    int64_t cpu_lim = res_milli(in->container, "resources.limits", "cpu");
    int64_t mem_lim = res_milli(in->container, "resources.limits", "memory");
    json_t *r, *cpu;
    int64_t shares;

    if (cpu_req == -2 || cpu_lim == -2 || mem_lim == -2)
        return err_set(err, -E_INVALID, "container %s: malformed cpu or memory quantity",
                       jx_str(in->container, "name") ?: ""), NULL;
    /* Quantities go up to 9.2e18 milli-units ("10Ti" CPUs is a valid request): both products
     * saturate at the kernel's and runc's ceilings before they could overflow. */
    shares = cpu_req > OCISPEC_CPU_MAX_SHARES ? OCISPEC_CPU_MAX_SHARES : cpu_req * 1024 / 1000;
    shares = shares > OCISPEC_CPU_MAX_SHARES ? OCISPEC_CPU_MAX_SHARES : shares < 2 ? 2 : shares;
    cpu = json_pack("{s:I}", "shares", (json_int_t)shares);
    if (cpu_lim > 0) {
        int64_t quota = cpu_lim > OCISPEC_CPU_MAX_QUOTA / (OCISPEC_CPU_PERIOD / 1000)
                            ? OCISPEC_CPU_MAX_QUOTA
                            : cpu_lim * OCISPEC_CPU_PERIOD / 1000;

        json_object_set_new(cpu, "quota", json_integer(quota < 1000 ? 1000 : quota));
        json_object_set_new(cpu, "period", json_integer(OCISPEC_CPU_PERIOD));
    }
    r = json_pack("{s:o}", "cpu", cpu);
    if (mem_lim > 0)
        json_object_set_new(r, "memory", json_pack("{s:I}", "limit",
                                                   (json_int_t)(mem_lim / 1000)));
    if (in->pids_limit > 0)
        json_object_set_new(r, "pids", json_pack("{s:I}", "limit", (json_int_t)in->pids_limit));
    /* Deny all, then runc adds its default allowlist (null, zero, full, tty, random, urandom,
     * ptmx, pts); privileged containers may use every device. */
    json_object_set_new(r, "devices", json_pack("[{s:b, s:s}]", "allow",
                                                ocispec_privileged(in->pod, in->container),
                                                "access", "rwm"));
    return r;
}

/* ---- linux ---------------------------------------------------------------------------------- */

static json_t *strs(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *linux_json(const struct ocispec_in *in, struct err *err)
{
    json_t *ns, *l, *res = resources_json(in, err);

    if (!res)
        return NULL;
    ns = json_array();
    if (in->pidns)
        json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "pid", "path", in->pidns));
    else if (!jx_bool(in->pod, "spec.hostPID"))
        json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
    if (!jx_bool(in->pod, "spec.hostIPC"))
        json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
    if (in->netns) {
        json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
        json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", in->netns));
    }
    json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
    l = json_pack("{s:o, s:o}", "namespaces", ns, "resources", res);
    if (in->cgroups_path)
        json_object_set_new(l, "cgroupsPath", json_string(in->cgroups_path));
    if (!ocispec_privileged(in->pod, in->container)) {
        json_object_set_new(l, "maskedPaths", strs(masked_paths, sizeof masked_paths /
                                                   sizeof *masked_paths));
        json_object_set_new(l, "readonlyPaths", strs(readonly_paths, sizeof readonly_paths /
                                                     sizeof *readonly_paths));
    }
    return l;
}

json_t *ocispec_build(const struct ocispec_in *in, struct err *err)
{
    json_t *spec, *proc = process_json(in, err), *lin = proc ? linux_json(in, err) : NULL;

    if (!proc || !lin) {
        json_decref(proc);
        return NULL;
    }
    spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2", "process",
                     proc, "root", "path", in->rootfs ? in->rootfs : "rootfs", "readonly",
                     jx_bool(in->container, "securityContext.readOnlyRootFilesystem"), "mounts",
                     mounts_json(in), "linux", lin);
    /* Without a UTS namespace of its own (hostNetwork) the container keeps the host's name. */
    if (in->netns)
        json_object_set_new(spec, "hostname", json_string(jx_str(in->pod, "metadata.name") ?: ""));
    return spec;
}

/* ---- QoS ------------------------------------------------------------------------------------ */

/* Whether one container is Guaranteed-shaped (*any set when it has any cpu/memory setting). */
static int qos_guaranteed(const json_t *c, int *any)
{
    static const char *const res[] = {"cpu", "memory"};
    int ok = 1;

    for (int k = 0; k < 2; k++) {
        int64_t lim = res_milli(c, "resources.limits", res[k]);
        int64_t req = res_milli(c, "resources.requests", res[k]);

        if (lim > 0 || req > 0)
            *any = 1;
        if (lim <= 0 || req != lim)
            ok = 0;
    }
    return ok;
}

const char *ocispec_qos_class(const json_t *pod)
{
    static const char *const lists[] = {"spec.initContainers", "spec.containers"};
    int any = 0, guaranteed = 1;

    for (int l = 0; l < 2; l++) {
        const json_t *c;
        size_t i;

        json_array_foreach(jx_get(pod, lists[l]), i, c)
            if (!qos_guaranteed(c, &any))
                guaranteed = 0;
    }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

/* ---- seccomp profile choice and CDI edits ---------------------------------------------------- */

enum ocispec_seccomp ocispec_seccomp_type(const json_t *pod, const json_t *container,
                                          const char **localhost)
{
    const json_t *sp = sc_get(pod, container, "seccompProfile");
    const char *type = jx_str(sp, "type") ?: "";

    *localhost = NULL;
    /* As containerd: a privileged container gets no profile whatever it asks for. */
    if (ocispec_privileged(pod, container))
        return OCISPEC_SECCOMP_NONE;
    if (strcmp(type, "RuntimeDefault") == 0)
        return OCISPEC_SECCOMP_DEFAULT;
    if (strcmp(type, "Localhost") == 0) {
        *localhost = jx_str(sp, "localhostProfile") ?: "";
        return OCISPEC_SECCOMP_LOCALHOST;
    }
    return OCISPEC_SECCOMP_NONE; /* Unconfined, or unset: the kubelet's default */
}

static json_t *arr_of(json_t *o, const char *path)
{
    json_t *a = jx_get(o, path);

    if (!json_is_array(a)) {
        jx_set(o, path, json_array());
        a = jx_get(o, path); /* NULL only for a path too long: appends to it are no-ops */
    }
    return a;
}

/* Removes the entries of a whose key is val (same destination, same device path). */
static void arr_remove_by(json_t *a, const char *key, const char *val)
{
    for (size_t i = json_array_size(a); i-- > 0;)
        if (strcmp(jx_str(json_array_get(a, i), key) ?: "", val ?: "") == 0)
            json_array_remove(a, i);
}

static void env_merge(json_t *spec, const json_t *env)
{
    json_t *dst = arr_of(spec, "process.env"), *v;
    size_t i;

    json_array_foreach(env, i, v) {
        const char *kv = json_string_value(v) ?: "", *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

        for (size_t j = json_array_size(dst); j-- > 0;) {
            const char *o = json_string_value(json_array_get(dst, j)) ?: "";

            if (strncmp(o, kv, klen) == 0 && o[klen] == '=')
                json_array_remove(dst, j);
        }
        json_array_append(dst, v);
    }
}

static size_t dest_depth(const json_t *m)
{
    size_t n = 0;

    for (const char *p = jx_str(m, "destination") ?: ""; *p; p++)
        n += *p == '/' && p[1] && p[1] != '/';
    return n;
}

/* Stable by depth, so no mount hides one made inside it (the CDI library's sortMounts). */
static void mounts_order(json_t *ms)
{
    for (size_t i = 1; i < json_array_size(ms); i++) {
        json_t *m = json_incref(json_array_get(ms, i));
        size_t d = dest_depth(m), j = i;

        while (j > 0 && dest_depth(json_array_get(ms, j - 1)) > d)
            j--;
        if (j != i) {
            json_array_remove(ms, i);
            json_array_insert(ms, j, m);
        }
        json_decref(m);
    }
}

static void devices_merge(json_t *spec, const json_t *devs)
{
    json_int_t uid = jx_int(spec, "process.user.uid", 0), gid = jx_int(spec, "process.user.gid", 0);
    json_t *dst = arr_of(spec, "linux.devices"), *d;
    size_t i;

    json_array_foreach(devs, i, d) {
        json_t *dev = json_deep_copy(d);

        /* Computed without the user (it is resolved here, from the rootfs): the container's
         * user owns the node unless the CDI spec said otherwise, as cdi_apply does. */
        if (!json_object_get(dev, "uid") && uid > 0)
            json_object_set_new(dev, "uid", json_integer(uid));
        if (!json_object_get(dev, "gid") && gid > 0)
            json_object_set_new(dev, "gid", json_integer(gid));
        arr_remove_by(dst, "path", jx_str(dev, "path"));
        json_array_append_new(dst, dev);
    }
}

void ocispec_cdi_merge(json_t *spec, const json_t *edits)
{
    json_t *hooks = json_object_get(edits, "hooks"), *v, *g;
    json_t *dst;
    const char *k;
    size_t i, j;

    env_merge(spec, jx_get(edits, "process.env"));
    devices_merge(spec, jx_get(edits, "linux.devices"));
    if (json_array_size(jx_get(edits, "linux.resources.devices")))
        json_array_extend(arr_of(spec, "linux.resources.devices"),
                          jx_get(edits, "linux.resources.devices"));
    json_array_foreach(json_object_get(edits, "mounts"), i, v) {
        dst = arr_of(spec, "mounts");
        arr_remove_by(dst, "destination", jx_str(v, "destination"));
        json_array_append(dst, v);
    }
    if (json_array_size(json_object_get(edits, "mounts")))
        mounts_order(json_object_get(spec, "mounts"));
    json_object_foreach(hooks, k, v) {
        char path[80];

        snprintf(path, sizeof path, "hooks.%s", k);
        json_array_extend(arr_of(spec, path), v);
    }
    json_array_foreach(jx_get(edits, "process.user.additionalGids"), i, g) {
        int dup = 0;
        json_t *x;

        dst = arr_of(spec, "process.user.additionalGids");
        json_array_foreach(dst, j, x) dup |= json_integer_value(x) == json_integer_value(g);
        if (!dup)
            json_array_append(dst, g);
    }
}
