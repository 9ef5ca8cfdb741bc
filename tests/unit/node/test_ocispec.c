/* config.json as a kubelet with containerd writes it: securityContext merging (container over
 * pod), users from the image's /etc/passwd and /etc/group, runAsNonRoot with the kubelet's
 * texts, capabilities add/drop/ALL/privileged, no_new_privs defaults, requests/limits to cgroup
 * settings, namespaces for hostNetwork, and the qosClass rules of kubelet_status.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/ocispec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/jx.h"

static char g_root[PATH_MAX];

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);

    if (!j)
        fail_msg("bad JSON in test: %s: %s", je.text, text);
    return j;
}

static void put(const char *rel, const char *text)
{
    char p[PATH_MAX + 64];
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    char p[PATH_MAX + 8];

    (void)state;
    snprintf(g_root, sizeof g_root, "/tmp/kroll-ocispec-test.XXXXXX");
    if (!mkdtemp(g_root))
        return -1;
    snprintf(p, sizeof p, "%s/etc", g_root);
    mkdir(p, 0755);
    put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n"
                      "app:x:1000:1001::/home/app:/bin/sh\n");
    put("etc/group", "root:x:0:\nwww:x:33:\napps:x:1001:\nvideo:x:44:app,web\naudio:x:29:app\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Builds the spec of pod/ctr (as JSON text) with the image config cfg; NULL with *msg on error. */
static json_t *build(const char *pod, const char *ctr, const char *cfg, char *msg, size_t n)
{
    json_t *p = J(pod), *c = J(ctr), *ic = J(cfg), *argv = J("[\"sh\"]"), *env = J("[]");
    struct ocispec_user u;
    struct err err;
    json_t *spec = NULL;

    err_init(&err);
    if (ocispec_user_resolve(p, c, ic, g_root, &u, &err) == 0) {
        struct ocispec_in in = {.pod = p,
                                .container = c,
                                .argv = argv,
                                .env = env,
                                .user = &u,
                                .netns = jx_bool(p, "spec.hostNetwork") ? NULL : "/proc/1/ns/net",
                                .pidns = jx_bool(p, "spec.shareProcessNamespace") ? "/proc/7/ns/pid"
                                                                                  : NULL,
                                .cgroups_path = "kroll/podx/c",
                                .pids_limit = 4096};

        spec = ocispec_build(&in, &err);
    }
    if (!spec && msg)
        snprintf(msg, n, "%.*s", (int)n - 1, err.msg);
    err_release(&err);
    json_decref(p), json_decref(c), json_decref(ic), json_decref(argv), json_decref(env);
    return spec;
}

#define POD "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\"},\"spec\":{}}"

static void dump_eq(const json_t *v, const char *want)
{
    char *got = jx_dump(v);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static int has(const json_t *arr, const char *s)
{
    const json_t *v;
    size_t i;

    json_array_foreach(arr, i, v)
        if (strcmp(json_string_value(v) ?: "", s) == 0)
            return 1;
    return 0;
}

static void test_user_sources(void **state)
{
    json_t *s;

    (void)state;
    s = build(POD, "{\"name\":\"c\"}", "{\"User\":\"app\"}", NULL, 0);
    assert_int_equal(jx_int(s, "process.user.uid", -1), 1000);
    assert_int_equal(jx_int(s, "process.user.gid", -1), 1001);
    /* primary gid, then the groups /etc/group lists app in */
    dump_eq(jx_get(s, "process.user.additionalGids"), "[1001,44,29]");
    json_decref(s);
    s = build(POD, "{\"name\":\"c\"}", "{\"User\":\"web:audio\"}", NULL, 0);
    assert_int_equal(jx_int(s, "process.user.uid", -1), 33);
    assert_int_equal(jx_int(s, "process.user.gid", -1), 29);
    json_decref(s);
    /* Pod runAsUser over the image; container runAsGroup over the pod; groups appended. */
    s = build("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"securityContext\":{\"runAsUser\":7,"
              "\"runAsGroup\":8,\"supplementalGroups\":[100,101],\"fsGroup\":2000}}}",
              "{\"name\":\"c\",\"securityContext\":{\"runAsGroup\":9}}", "{\"User\":\"app\"}",
              NULL, 0);
    assert_int_equal(jx_int(s, "process.user.uid", -1), 7);
    assert_int_equal(jx_int(s, "process.user.gid", -1), 9);
    dump_eq(jx_get(s, "process.user.additionalGids"), "[9,100,101,2000]");
    json_decref(s);
}

static void test_user_errors(void **state)
{
    char msg[512];

    (void)state;
    assert_null(build(POD, "{\"name\":\"c\"}", "{\"User\":\"nobody\"}", msg, sizeof msg));
    assert_string_equal(msg, "unable to find user nobody: no matching entries in passwd file");
    assert_null(build(POD "", "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}",
                      "{}", msg, sizeof msg));
    assert_string_equal(msg, "container has runAsNonRoot and image will run as root (pod: "
                             "\"p_ns(u1)\", container: c)");
    assert_null(build(POD, "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}",
                      "{\"User\":\"app\"}", msg, sizeof msg));
    assert_string_equal(msg, "container has runAsNonRoot and image has non-numeric user (app), "
                             "cannot verify user is non-root (pod: \"p_ns(u1)\", container: c)");
    assert_null(build(POD, "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true,"
                           "\"runAsUser\":0}}", "{\"User\":\"1000\"}", msg, sizeof msg));
    assert_string_equal(msg, "container's runAsUser breaks non-root policy (pod: \"p_ns(u1)\", "
                             "container: c)");
    json_decref(build(POD, "{\"name\":\"c\",\"securityContext\":{\"runAsNonRoot\":true}}",
                      "{\"User\":\"1000:0\"}", msg, sizeof msg)); /* numeric non-root: fine */
}

static void test_caps(void **state)
{
    json_t *s;
    char msg[256];

    (void)state;
    s = build(POD, "{\"name\":\"c\"}", "{}", NULL, 0);
    assert_int_equal(json_array_size(jx_get(s, "process.capabilities.effective")), 14);
    assert_true(has(jx_get(s, "process.capabilities.bounding"), "CAP_NET_BIND_SERVICE"));
    assert_false(has(jx_get(s, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
    assert_null(jx_get(s, "process.capabilities.inheritable"));
    assert_true(jx_bool(s, "process.noNewPrivileges"));
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":[\"NET_ADMIN\","
                   "\"CAP_SYS_TIME\"],\"drop\":[\"KILL\",\"NET_ADMIN\"]}}}", "{}", NULL, 0);
    assert_true(has(jx_get(s, "process.capabilities.effective"), "CAP_SYS_TIME"));
    assert_false(has(jx_get(s, "process.capabilities.effective"), "CAP_NET_ADMIN")); /* drop wins */
    assert_false(has(jx_get(s, "process.capabilities.effective"), "CAP_KILL"));
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"drop\":[\"ALL\"],"
                   "\"add\":[\"NET_BIND_SERVICE\"]}}}", "{}", NULL, 0);
    dump_eq(jx_get(s, "process.capabilities.effective"),
                        "[\"CAP_NET_BIND_SERVICE\"]");
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":[\"ALL\"]}}}",
              "{}", NULL, 0);
    assert_int_equal(json_array_size(jx_get(s, "process.capabilities.effective")), 41);
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":[\"SYS_ADMIN\"]}}}",
              "{}", NULL, 0);
    assert_false(jx_bool(s, "process.noNewPrivileges")); /* CAP_SYS_ADMIN: escalation allowed */
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"privileged\":true,"
                   "\"allowPrivilegeEscalation\":false}}", "{}", NULL, 0);
    assert_int_equal(json_array_size(jx_get(s, "process.capabilities.effective")), 41);
    assert_true(jx_bool(s, "process.noNewPrivileges")); /* explicit setting wins */
    assert_null(jx_get(s, "linux.maskedPaths"));
    assert_true(json_is_true(json_object_get(json_array_get(jx_get(s, "linux.resources.devices"), 0),
                                             "allow")));
    json_decref(s);
    assert_null(build(POD, "{\"name\":\"c\",\"securityContext\":{\"capabilities\":{\"add\":"
                           "[\"FLY\"]}}}", "{}", msg, sizeof msg));
    assert_string_equal(msg, "unknown capability \"FLY\"");
}

static void test_resources(void **state)
{
    json_t *s;
    char msg[256];

    (void)state;
    s = build(POD, "{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"250m\"},"
                   "\"limits\":{\"cpu\":\"1500m\",\"memory\":\"32Mi\"}}}", "{}", NULL, 0);
    assert_int_equal(jx_int(s, "linux.resources.cpu.shares", -1), 256);
    assert_int_equal(jx_int(s, "linux.resources.cpu.quota", -1), 150000);
    assert_int_equal(jx_int(s, "linux.resources.cpu.period", -1), 100000);
    assert_int_equal(jx_int(s, "linux.resources.memory.limit", -1), 32 << 20);
    assert_int_equal(jx_int(s, "linux.resources.pids.limit", -1), 4096);
    assert_string_equal(jx_str(s, "linux.cgroupsPath"), "kroll/podx/c");
    json_decref(s);
    s = build(POD, "{\"name\":\"c\"}", "{}", NULL, 0); /* BestEffort: minimum shares, no quota */
    assert_int_equal(jx_int(s, "linux.resources.cpu.shares", -1), 2);
    assert_null(jx_get(s, "linux.resources.cpu.quota"));
    assert_null(jx_get(s, "linux.resources.memory"));
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1m\"}}}", "{}", NULL, 0);
    assert_int_equal(jx_int(s, "linux.resources.cpu.shares", -1), 2);     /* request = limit */
    assert_int_equal(jx_int(s, "linux.resources.cpu.quota", -1), 1000);   /* kernel minimum */
    json_decref(s);
    /* Valid quantities far beyond any machine saturate at the ceilings runc and the kernel
     * take (the products overflowed int64: found by fuzz/ocispec). */
    s = build(POD,
              "{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"10Ti\"},"
              "\"limits\":{\"cpu\":\"9P\"}}}",
              "{}", NULL, 0);
    assert_int_equal(jx_int(s, "linux.resources.cpu.shares", -1), 262144);
    assert_int_equal(jx_int(s, "linux.resources.cpu.quota", -1), (1LL << 44) - 1);
    json_decref(s);
    s = build(POD, "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"257\"}}}", "{}", NULL, 0);
    assert_int_equal(jx_int(s, "linux.resources.cpu.shares", -1), 262144);
    assert_int_equal(jx_int(s, "linux.resources.cpu.quota", -1), 25700000);
    json_decref(s);
    assert_null(build(POD, "{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"lots\"}}}",
                      "{}", msg, sizeof msg));
    assert_string_equal(msg, "container c: malformed cpu or memory quantity");
}

static void test_namespaces_mounts(void **state)
{
    json_t *s;

    (void)state;
    s = build(POD, "{\"name\":\"c\",\"securityContext\":{\"readOnlyRootFilesystem\":true}}", "{}",
              NULL, 0);
    dump_eq(jx_get(s, "linux.namespaces"),
            "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
            "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"mount\"}]");
    assert_string_equal(jx_str(s, "hostname"), "p");
    assert_true(jx_bool(s, "root.readonly"));
    assert_string_equal(jx_str(json_array_get(jx_get(s, "mounts"), 3), "destination"), "/dev/shm");
    assert_true(has(json_object_get(json_array_get(jx_get(s, "mounts"), 5), "options"), "ro"));
    assert_int_equal(json_array_size(jx_get(s, "linux.maskedPaths")), 10);
    json_decref(s);
    s = build("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"hostNetwork\":true}}", "{\"name\":\"c\"}",
              "{}", NULL, 0);
    dump_eq(jx_get(s, "linux.namespaces"),
            "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}]");
    assert_null(jx_get(s, "hostname")); /* the host's UTS namespace keeps the host's name */
    json_decref(s);
    /* shareProcessNamespace: the pod's PID namespace is joined by path; hostPID: none. */
    s = build("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"shareProcessNamespace\":true}}",
              "{\"name\":\"c\"}", "{}", NULL, 0);
    dump_eq(json_array_get(jx_get(s, "linux.namespaces"), 0),
            "{\"type\":\"pid\",\"path\":\"/proc/7/ns/pid\"}");
    json_decref(s);
    s = build("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"hostPID\":true}}", "{\"name\":\"c\"}",
              "{}", NULL, 0);
    assert_string_equal(jx_str(json_array_get(jx_get(s, "linux.namespaces"), 0), "type"), "ipc");
    json_decref(s);
}

static const char *qos(const char *pod)
{
    static char out[32];
    json_t *p = J(pod);

    snprintf(out, sizeof out, "%s", ocispec_qos_class(p));
    json_decref(p);
    return out;
}

static void test_qos(void **state)
{
    (void)state;
    assert_string_equal(qos("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}"), "BestEffort");
    /* limits only: requests default to them; "1" and "1000m" are the same quantity */
    assert_string_equal(qos("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\","
                            "\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"1000m\"}}}]}}"),
                        "Guaranteed");
    assert_string_equal(qos("{\"spec\":{\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\","
                            "\"memory\":\"1Gi\"}}},{\"name\":\"b\"}]}}"), "Burstable");
    assert_string_equal(qos("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
                            "{\"memory\":\"1Gi\"}}}]}}"), "Burstable");
    /* an init container without limits makes an otherwise Guaranteed pod Burstable */
    assert_string_equal(qos("{\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":"
                            "[{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}"),
                        "Burstable");
}

/* seccompProfile: the container's wins over the pod's; unset and Unconfined are none;
 * privileged is none whatever it asks. */
static void test_seccomp_type(void **state)
{
    json_t *pod = J("{\"spec\":{\"securityContext\":{\"seccompProfile\":{\"type\":\"Localhost\","
                    "\"localhostProfile\":\"pod.json\"}}}}");
    json_t *none = J("{\"spec\":{}}"), *c0 = J("{\"name\":\"c\"}");
    json_t *cu = J("{\"securityContext\":{\"seccompProfile\":{\"type\":\"Unconfined\"}}}");
    json_t *cd = J("{\"securityContext\":{\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}}");
    json_t *cp = J("{\"securityContext\":{\"privileged\":true,\"seccompProfile\":"
                   "{\"type\":\"RuntimeDefault\"}}}");
    const char *lp;

    (void)state;
    assert_int_equal(ocispec_seccomp_type(none, c0, &lp), OCISPEC_SECCOMP_NONE);
    assert_null(lp);
    assert_int_equal(ocispec_seccomp_type(pod, c0, &lp), OCISPEC_SECCOMP_LOCALHOST);
    assert_string_equal(lp, "pod.json");
    assert_int_equal(ocispec_seccomp_type(pod, cu, &lp), OCISPEC_SECCOMP_NONE);
    assert_int_equal(ocispec_seccomp_type(pod, cd, &lp), OCISPEC_SECCOMP_DEFAULT);
    assert_int_equal(ocispec_seccomp_type(none, cp, &lp), OCISPEC_SECCOMP_NONE);
    json_decref(pod), json_decref(none), json_decref(c0), json_decref(cu), json_decref(cd);
    json_decref(cp);
}

/* CDI edits merged into a built spec: env replaced or appended, the device node owned by the
 * container's user, its allow rule after the deny-all, a mount replacing the one at its
 * destination and ordered after its parent, hooks and gids added. */
static void test_cdi_merge(void **state)
{
    json_t *spec = build(POD, "{\"name\":\"c\",\"securityContext\":{\"runAsUser\":1000}}", "{}",
                         NULL, 0);
    json_t *edits = J("{\"process\":{\"env\":[\"HOSTNAME=x\",\"GPU=1\"],\"user\":"
                      "{\"additionalGids\":[44,45]}},"
                      "\"mounts\":[{\"destination\":\"/usr/lib/x/y\",\"source\":\"/a\"},"
                      "{\"destination\":\"/dev/shm\",\"source\":\"/b\"}],"
                      "\"linux\":{\"devices\":[{\"path\":\"/dev/g0\",\"type\":\"c\","
                      "\"major\":1,\"minor\":3}],\"resources\":{\"devices\":[{\"allow\":true,"
                      "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}},"
                      "\"hooks\":{\"createContainer\":[{\"path\":\"/bin/true\"}]}}");
    const json_t *ms, *rd;
    size_t n, shm = 0, deep = 0, i;

    (void)state;
    assert_non_null(spec);
    json_array_append_new(jx_get(spec, "process.env"), json_string("HOSTNAME=p"));
    ocispec_cdi_merge(spec, edits);
    assert_true(has(jx_get(spec, "process.env"), "GPU=1"));
    assert_true(has(jx_get(spec, "process.env"), "HOSTNAME=x"));
    assert_false(has(jx_get(spec, "process.env"), "HOSTNAME=p"));
    dump_eq(jx_get(spec, "linux.devices"),
            "[{\"path\":\"/dev/g0\",\"type\":\"c\",\"major\":1,\"minor\":3,\"uid\":1000,\"gid\":1001}]");
    rd = jx_get(spec, "linux.resources.devices");
    n = json_array_size(rd);
    assert_true(n >= 2);
    assert_false(jx_bool(json_array_get(rd, 0), "allow"));
    assert_true(jx_bool(json_array_get(rd, n - 1), "allow"));
    ms = json_object_get(spec, "mounts");
    json_array_foreach(ms, i, rd) {
        if (strcmp(jx_str(rd, "destination"), "/dev/shm") == 0)
            shm++, assert_string_equal(jx_str(rd, "source"), "/b");
        if (strcmp(jx_str(rd, "destination"), "/usr/lib/x/y") == 0)
            deep = i;
    }
    assert_int_equal(shm, 1);
    assert_int_equal(deep, json_array_size(ms) - 1);
    assert_string_equal(jx_str(json_array_get(jx_get(spec, "hooks.createContainer"), 0), "path"),
                        "/bin/true");
    dump_eq(jx_get(spec, "process.user.additionalGids"), "[1001,44,29,45]");
    json_decref(spec), json_decref(edits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_sources),
        cmocka_unit_test(test_user_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_namespaces_mounts),
        cmocka_unit_test(test_qos),
        cmocka_unit_test(test_seccomp_type),
        cmocka_unit_test(test_cdi_merge),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
