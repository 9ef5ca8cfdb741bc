/* The Node object: registration with capacity/allocatable (cpu, memory, pods,
 * ephemeral-storage, extended resources such as nvidia.com/gpu), addresses, nodeInfo, and the
 * Ready/MemoryPressure/DiskPressure/PIDPressure conditions (and KrollRuntimeDegraded, what the
 * container runtime lacks on this host) refreshed by a heartbeat every 10 s.
 * spec.unschedulable (kubectl cordon) belongs to the user; the heartbeat only writes status. */
#include "node/node.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/cdi.h"
#include "node/node-int.h"

#define HEARTBEAT_MS 10000

#ifndef KROLL_VERSION
#define KROLL_VERSION "0.1.0"
#endif

struct node {
    struct kc *kc;
    struct loop *loop;
    char *name, *address, *data_dir;
    json_t *extended; /* resource name -> quantity string, from --node-resource */
    json_t *guessed;  /* the same, guessed from /dev (nvidia.com/gpu) */
    struct cdi_registry *cdi;
    char **cdi_dirs;
    size_t n_cdi_dirs;
    char cdi_err[256]; /* the last CDI load problem logged, so it is logged once */
    struct loop_timer heartbeat;
    struct kubelet *kl;
    struct node_metrics *metrics;
};

const char *node_name(const struct node *n)
{
    return n->name;
}

static long long meminfo_kib(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long long v = -1;
    size_t kl = strlen(key);

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atoll(line + kl + 1);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static char *os_image(void)
{
    FILE *f = fopen("/etc/os-release", "r");
    char line[512], *out = NULL;

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            char *v = line + 12, *e;

            if (*v == '"')
                v++;
            if ((e = strpbrk(v, "\"\n")))
                *e = 0;
            out = xstrdup(v);
            break;
        }
    if (f)
        fclose(f);
    return out ? out : xstrdup("Linux");
}

static json_t *resources_json(struct node *n)
{
    struct statvfs vfs;
    long long mem = meminfo_kib("MemTotal");
    json_t *r = json_object(), *v, *cdi = cdi_kinds(n->cdi);
    const char *k;

    json_object_set_new(r, "cpu", json_sprintf("%ld", sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(r, "memory", json_sprintf("%lldKi", mem > 0 ? mem : 0));
    json_object_set_new(r, "pods", json_string("110"));
    if (statvfs(n->data_dir, &vfs) == 0)
        json_object_set_new(r, "ephemeral-storage",
                            json_sprintf("%lluKi", (unsigned long long)vfs.f_blocks *
                                                       vfs.f_frsize / 1024));
    json_object_set_new(r, "hugepages-2Mi", json_string("0"));
    /* A guess from /dev, then what the CDI specs say, then the flag: later ones win. */
    json_object_foreach(n->guessed, k, v) json_object_set(r, k, v);
    json_object_foreach(cdi, k, v) json_object_set_new(r, k, json_sprintf("%lld",
                                                                  (long long)json_integer_value(v)));
    json_object_foreach(n->extended, k, v) json_object_set(r, k, v);
    json_decref(cdi);
    return r;
}

static json_t *condition(const char *type, int status, const char *reason, const char *msg)
{
    char ts[32];

    time_rfc3339(time(NULL), ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status",
                     status ? "True" : "False", "lastHeartbeatTime", ts, "lastTransitionTime", ts,
                     "reason", reason, "message", msg);
}

/* Sets the conditions on status, keeping lastTransitionTime when the status is unchanged. */
static void conditions_apply(struct node *n, json_t *status)
{
    long long avail = meminfo_kib("MemAvailable"), total = meminfo_kib("MemTotal");
    struct statvfs vfs;
    int mem_pressure = avail >= 0 && total > 0 && avail * 100 < total * 5; /* < 5% free */
    int disk_pressure = statvfs(n->data_dir, &vfs) == 0 && vfs.f_blocks &&
                        vfs.f_bavail * 100 < vfs.f_blocks * 5;
    json_t *conds = jx_get(status, "conditions"), *list[5], *rt = kubelet__runtime_condition(n->kl);
    size_t i;

    list[0] = condition("MemoryPressure", mem_pressure,
                        mem_pressure ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
                        mem_pressure ? "kubelet has insufficient memory available"
                                     : "kubelet has sufficient memory available");
    list[1] = condition("DiskPressure", disk_pressure,
                        disk_pressure ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
                        disk_pressure ? "kubelet has disk pressure" : "kubelet has no disk pressure");
    list[2] = condition("PIDPressure", 0, "KubeletHasSufficientPID",
                        "kubelet has sufficient PID available");
    list[3] = condition("Ready", 1, "KubeletReady", "kubelet is posting ready status");
    /* What the container runtime lacks on this host (kubelet_host.c), for kubectl describe. */
    list[4] = condition(jx_str(rt, "type"), json_is_true(json_object_get(rt, "status")),
                        jx_str(rt, "reason"), jx_str(rt, "message"));
    json_decref(rt);
    for (int k = 0; k < 5; k++) {
        json_t *old;

        json_array_foreach(conds, i, old) {
            if (strcmp(jx_str(old, "type") ?: "", jx_str(list[k], "type")) == 0 &&
                strcmp(jx_str(old, "status") ?: "", jx_str(list[k], "status")) == 0 &&
                jx_str(old, "lastTransitionTime"))
                json_object_set(list[k], "lastTransitionTime",
                                json_object_get(old, "lastTransitionTime"));
        }
    }
    conds = json_array();
    for (int k = 0; k < 5; k++)
        json_array_append_new(conds, list[k]);
    json_object_set_new(status, "conditions", conds);
}

static const char *node_arch(void)
{
    static struct utsname u;

    uname(&u);
    return !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64"
                                                                                 : u.machine;
}

static json_t *status_json(struct node *n, const json_t *old_status)
{
    struct utsname u;
    char *osi = os_image();
    json_t *st = json_object(), *res = resources_json(n);
    const char *arch;

    uname(&u);
    arch = node_arch();
    json_object_set(st, "capacity", res);
    json_object_set_new(st, "allocatable", res);
    json_object_set_new(st, "addresses",
                        json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address",
                                  n->address, "type", "Hostname", "address", n->name));
    json_object_set_new(st, "daemonEndpoints",
                        json_pack("{s:{s:i}}", "kubeletEndpoint", "Port", 10250));
    json_object_set_new(st, "nodeInfo",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "machineID", "",
                                  "systemUUID", "", "bootID", "", "kernelVersion", u.release,
                                  "osImage", osi, "containerRuntimeVersion",
                                  "kroll://" KROLL_VERSION, "kubeletVersion", "v1.32.0-kroll",
                                  "kubeProxyVersion", "v1.32.0-kroll", "operatingSystem",
                                  "linux", "architecture", arch));
    if (old_status) {
        json_t *conds = json_object_get(old_status, "conditions");

        json_object_set_new(st, "conditions", conds ? json_incref(conds) : json_array());
    }
    conditions_apply(n, st);
    free(osi);
    return st;
}

/* The labels the kubelet sets (hostname, os, arch and their beta. twins) and, when the node
 * has NVIDIA GPUs, the ones GPU feature discovery sets that nodeSelectors use
 * (nvidia.com/gpu.present, nvidia.com/gpu.count). Returns 1 when labels changed. */
static int labels_apply(struct node *n, json_t *labels)
{
    json_t *res = resources_json(n), *want = json_object(), *v;
    const char *gpus = json_string_value(json_object_get(res, "nvidia.com/gpu")), *k;
    int64_t milli = 0;
    int changed = 0;

    json_object_set_new(want, "kubernetes.io/hostname", json_string(n->name));
    json_object_set_new(want, "kubernetes.io/os", json_string("linux"));
    json_object_set_new(want, "kubernetes.io/arch", json_string(node_arch()));
    json_object_set_new(want, "beta.kubernetes.io/os", json_string("linux"));
    json_object_set_new(want, "beta.kubernetes.io/arch", json_string(node_arch()));
    if (gpus && quantity_parse_milli(gpus, &milli) == 0 && milli >= 1000) {
        json_object_set_new(want, "nvidia.com/gpu.present", json_string("true"));
        json_object_set_new(want, "nvidia.com/gpu.count",
                            json_sprintf("%lld", (long long)(milli / 1000)));
    } else {
        changed |= json_object_del(labels, "nvidia.com/gpu.present") == 0;
        changed |= json_object_del(labels, "nvidia.com/gpu.count") == 0;
    }
    json_object_foreach(want, k, v) if (!json_equal(json_object_get(labels, k), v))
    {
        json_object_set(labels, k, v);
        changed = 1;
    }
    json_decref(want);
    json_decref(res);
    return changed;
}

static void node_register(struct node *n)
{
    const struct resource *r = kc_resource(RES_NODE);
    json_t *cur = kc_get(n->kc, r, NULL, n->name), *obj, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "kubelet"};
    struct err err;

    err_init(&err);
    if (!cur) {
        obj = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{}}", "apiVersion", "v1", "kind", "Node",
                        "metadata", "name", n->name, "labels",
                        "node-role.kubernetes.io/control-plane", "", "spec");
        labels_apply(n, jx_obj(obj, "metadata.labels"));
        if (kc_create(n->kc, r, NULL, obj, &o, &out, &err) < 0) {
            log_error("node", "msg=\"cannot register node\" name=%s err=\"%s\"", n->name, err.msg);
            json_decref(obj);
            goto out;
        }
        json_decref(obj);
        cur = out;
        out = NULL;
    } else {
        cur = json_incref(cur);
        obj = json_deep_copy(cur);
        if (labels_apply(n, jx_obj(obj, "metadata.labels")) &&
            kc_update(n->kc, r, NULL, n->name, obj, &o, &out, &err) == 0) {
            json_decref(cur);
            cur = out;
            out = NULL;
        }
        json_decref(obj);
    }
    obj = json_deep_copy(cur);
    json_object_set_new(obj, "status", status_json(n, jx_get(cur, "status")));
    o.status = 1;
    if (kc_update(n->kc, r, NULL, n->name, obj, &o, &out, &err) < 0)
        log_warn("node", "msg=\"node status update failed\" err=\"%s\"", err.msg);
    json_decref(obj);
    json_decref(cur);
out:
    json_decref(out);
    err_release(&err);
}

/* Reloads the CDI registry: spec files come and go with drivers (/var/run/cdi is written at
 * boot), and the node's capacity follows them at the next heartbeat. */
static void cdi_refresh(struct node *n)
{
    struct cdi_registry *reg;
    struct err err;

    err_init(&err);
    if (cdi_registry_load((const char *const *)n->cdi_dirs, n->n_cdi_dirs, &reg, &err) < 0) {
        if (strncmp(n->cdi_err, err.msg, sizeof n->cdi_err - 1) != 0)
            log_warn("node", "msg=\"some CDI specs were refused\" err=\"%s\"", err.msg);
        snprintf(n->cdi_err, sizeof n->cdi_err, "%.255s", err.msg);
    } else {
        n->cdi_err[0] = 0;
    }
    err_release(&err);
    cdi_registry_free(n->cdi);
    n->cdi = reg;
}

const struct cdi_registry *node_cdi(const struct node *n)
{
    return n->cdi;
}

static void on_heartbeat(struct loop_timer *t, void *ctx)
{
    struct node *n = ctx;

    cdi_refresh(n);
    node_register(n);
    loop_timer_start(n->loop, &n->heartbeat, HEARTBEAT_MS);
}

/* Extended resources: --node-resource NAME=N, else NVIDIA devices found under /dev. */
static void extended_init(struct node *n, const struct node_opts *o)
{
    glob_t g;

    n->extended = json_object();
    for (int i = 0; i < o->n_resources; i++) {
        const char *eq = strchr(o->resources[i], '=');
        char key[256];

        if (!eq || eq == o->resources[i] || (size_t)(eq - o->resources[i]) >= sizeof key) {
            log_warn("node", "msg=\"ignoring --node-resource (want NAME=N)\" value=\"%s\"",
                     o->resources[i]);
            continue;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->resources[i]), o->resources[i]);
        json_object_set_new(n->extended, key, json_string(eq + 1));
    }
    n->guessed = json_object();
    if (glob("/dev/nvidia[0-9]*", 0, NULL, &g) == 0) {
        json_object_set_new(n->guessed, "nvidia.com/gpu", json_sprintf("%zu", g.gl_pathc));
        globfree(&g);
    }
}

static void cdi_init(struct node *n, const struct node_opts *o)
{
    const char *const *dirs = o->n_cdi_dirs > 0 ? o->cdi_dirs : cdi_default_dirs;
    json_t *kinds, *v;
    const char *k;

    n->n_cdi_dirs = o->n_cdi_dirs > 0 ? (size_t)o->n_cdi_dirs : cdi_n_default_dirs;
    n->cdi_dirs = xcalloc(n->n_cdi_dirs, sizeof *n->cdi_dirs);
    for (size_t i = 0; i < n->n_cdi_dirs; i++)
        n->cdi_dirs[i] = xstrdup(dirs[i]);
    cdi_refresh(n);
    kinds = cdi_kinds(n->cdi);
    json_object_foreach(kinds, k, v)
        log_info("node", "msg=\"CDI devices\" kind=%s count=%lld", k,
                 (long long)json_integer_value(v));
    json_decref(kinds);
}

/* Once per start, as the kubelet's node events: a Warning saying what the runtime lacks. */
static void runtime_event(struct node *n)
{
    json_t *c = kubelet__runtime_condition(n->kl);
    const json_t *obj = kc_get(n->kc, kc_resource(RES_NODE), NULL, n->name);

    if (obj && json_is_true(json_object_get(c, "status")))
        kc_event(n->kc, obj, "Warning", jx_str(c, "reason"), "kubelet", "%s",
                  jx_str(c, "message"));
    json_decref(c);
}

struct node *node_start(struct kc *kc, const struct node_opts *o, struct err *err)
{
    struct node *n = xcalloc(1, sizeof *n);
    char host[256] = "";

    n->kc = kc;
    n->loop = kc_loop(kc);
    if (o->node_name && *o->node_name)
        snprintf(host, sizeof host, "%s", o->node_name);
    else if (gethostname(host, sizeof host - 1) < 0 || !host[0])
        snprintf(host, sizeof host, "kroll-node");
    for (char *p = host; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    n->name = xstrdup(host);
    n->address = xstrdup(o->node_address ? o->node_address : "127.0.0.1");
    n->data_dir = xstrdup(o->data_dir ? o->data_dir : ".");
    extended_init(n, o);
    cdi_init(n, o);
    /* The runtime's host checks come first: the first status carries their condition. */
    n->kl = kubelet__new(kc, n->data_dir, n->name, n->address, o->self_exe);
    n->kl->node = n; /* the kubelet allocates the CDI devices of node_cdi(n) */
    kubelet__runtime_set(n->kl, o->runtime, o->pod_pids_limit);
    node_register(n);
    runtime_event(n);
    loop_timer_init(&n->heartbeat, on_heartbeat, n);
    loop_timer_start(n->loop, &n->heartbeat, HEARTBEAT_MS);
    if (o->metrics_period_ms >= 0)
        n->metrics = node__metrics_start(
            n->kl, n->name, o->metrics_period_ms ? o->metrics_period_ms : METRICS_PERIOD_MS);
    log_info("node", "msg=\"node registered\" name=%s address=%s", n->name, n->address);
    return n;
}

void node_stop(struct node *n)
{
    if (!n)
        return;
    node__metrics_stop(n->metrics);
    kubelet__free(n->kl);
    loop_timer_stop(n->loop, &n->heartbeat);
    free(n->name), free(n->address), free(n->data_dir);
    json_decref(n->extended);
    json_decref(n->guessed);
    cdi_registry_free(n->cdi);
    for (size_t i = 0; i < n->n_cdi_dirs; i++)
        free(n->cdi_dirs[i]);
    free(n->cdi_dirs);
    free(n);
}

void node_serve_log(struct http_req *req, const json_t *pod, const char *container, void *ctx)
{
    struct node *n = ctx;

    logs__serve(req, pod, container, n->kl);
}

void node_serve_stream(struct http_req *req, const json_t *pod, const char *sub, void *ctx)
{
    struct node *n = ctx;

    exec__hook(req, pod, sub, n->kl);
}

json_t *node_usage(const json_t *obj, void *ctx)
{
    struct node *n = ctx;

    return node__metrics_of(n->metrics, obj);
}
