/* Pod volumes on disk against a real in-process API: the AtomicWriter layout of configMap and
 * secret volumes (..data swap, key symlinks, rewrite only on change, old readers unaffected),
 * items and modes, optional sources, emptyDir, hostPath type checks, downwardAPI, projected,
 * mounts and cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/volume.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/loop.h"
#include "server/inproc.h"
#include "store/store.h"

static char g_dir[PATH_MAX], g_pod_dir[PATH_MAX + 8];
static struct loop *g_loop;
static struct store *g_store;
static struct api *g_api;
static struct kc *g_kc; /* the client the node's functions use */

static void create(enum res_id id, const char *ns, json_t *obj)
{
    struct api_wopts o = {.grace = -1};
    struct err err;
    json_t *out = NULL;

    err_init(&err);
    if (api_create(g_api, scheme_resource(id), ns, obj, &o, &out, &err) < 0)
        fail_msg("create: %s", err.msg);
    json_decref(out);
    json_decref(obj);
    err_release(&err);
}

static void cm_patch(const char *name, json_t *patch)
{
    struct api_wopts o = {.grace = -1};
    struct err err;
    json_t *out = NULL;

    err_init(&err);
    if (api_patch(g_api, scheme_resource(RES_CONFIGMAP), "default", name,
                  "application/merge-patch+json", patch, &o, &out, &err) < 0)
        fail_msg("patch: %s", err.msg);
    json_decref(out);
    json_decref(patch);
    err_release(&err);
}

static int group_setup(void **state)
{
    struct api_opts ao = {.listen_host = "127.0.0.1", .listen_port = 0};
    char db[PATH_MAX + 16];
    struct err err;

    snprintf(g_dir, sizeof g_dir, "/tmp/kroll-volume-test.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_pod_dir, sizeof g_pod_dir, "%s/pod", g_dir);
    mkdir(g_pod_dir, 0755);
    err_init(&err);
    snprintf(db, sizeof db, "%s/kroll.db", g_dir);
    g_loop = loop_new();
    if (store_open(db, &g_store, &err) < 0)
        fail_msg("store: %s", err.msg);
    ao.data_dir = g_dir;
    if (!(g_api = api_new(g_loop, g_store, &ao, &err)))
        fail_msg("api: %s", err.msg);
    g_kc = kc_inproc_new(g_api);
    create(RES_NAMESPACE, NULL,
           json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata",
                     "name", "default"));
    create(RES_CONFIGMAP, "default",
           json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", "cfg", "data", "a", "one", "b", "two"));
    create(RES_SECRET, "default",
           json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", "sec", "data", "token", "czNjcmV0"));
    err_release(&err);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    kc_free(g_kc);
    api_free(g_api);
    store_close(g_store);
    loop_free(g_loop);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *pod_with(json_t *volumes)
{
    return json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:{s:o, s:[{s:s}]}}", "metadata", "name",
                     "web-1", "namespace", "default", "uid", "u-1", "labels", "app", "web",
                     "tier", "a\"b", "spec", "volumes", volumes, "containers", "name", "app");
}

static char *slurp(const char *fmt, const char *name)
{
    static char buf[4096];
    char path[PATH_MAX * 2];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, fmt, g_pod_dir, name);
    if (!(f = fopen(path, "r")))
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void link_of(const char *rel, char *out, size_t n)
{
    char path[PATH_MAX * 2];
    ssize_t len;

    snprintf(path, sizeof path, "%s/volumes/%s", g_pod_dir, rel);
    len = readlink(path, out, n - 1);
    out[len < 0 ? 0 : len] = '\0';
}

static int sync_pod(json_t *pod, json_t **paths, struct err *err)
{
    err_init(err);
    return volume_sync(g_kc, pod, g_pod_dir, paths, err);
}

static void test_configmap_layout_and_update(void **state)
{
    json_t *pod = pod_with(json_pack("[{s:s, s:{s:s}}]", "name", "cfg", "configMap", "name",
                                     "cfg"));
    char data1[256], data2[256], data3[256], lnk[256], path[PATH_MAX * 2];
    json_t *paths = NULL;
    struct err err;
    struct stat st;
    int fd;

    assert_int_equal(sync_pod(pod, &paths, &err), 0);
    snprintf(path, sizeof path, "%s/volumes/cfg", g_pod_dir);
    assert_string_equal(json_string_value(json_object_get(paths, "cfg")), path);
    link_of("cfg/..data", data1, sizeof data1);
    assert_int_equal(strncmp(data1, "..20", 4), 0); /* ..YYYY_MM_DD_HH_MM_SS.<random> */
    link_of("cfg/a", lnk, sizeof lnk);
    assert_string_equal(lnk, "..data/a");
    assert_string_equal(slurp("%s/volumes/cfg/%s", "a"), "one");
    assert_string_equal(slurp("%s/volumes/cfg/%s", "b"), "two");
    snprintf(path, sizeof path, "%s/volumes/cfg/%s/a", g_pod_dir, data1);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* Unchanged: nothing is rewritten. */
    json_decref(paths);
    err_release(&err);
    assert_int_equal(sync_pod(pod, NULL, &err), 0);
    link_of("cfg/..data", data2, sizeof data2);
    assert_string_equal(data1, data2);

    /* Changed: a new directory, swapped in; an open reader keeps the old content. */
    snprintf(path, sizeof path, "%s/volumes/cfg/a", g_pod_dir);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    cm_patch("cfg", json_pack("{s:{s:s, s:n, s:s}}", "data", "a", "uno", "b", "c", "three"));
    err_release(&err);
    assert_int_equal(sync_pod(pod, NULL, &err), 0);
    link_of("cfg/..data", data3, sizeof data3);
    assert_string_not_equal(data1, data3);
    assert_string_equal(slurp("%s/volumes/cfg/%s", "a"), "uno");
    assert_string_equal(slurp("%s/volumes/cfg/%s", "c"), "three");
    assert_null(slurp("%s/volumes/cfg/%s", "b")); /* removed key: its link is gone */
    snprintf(path, sizeof path, "%s/volumes/cfg/b", g_pod_dir);
    assert_int_equal(lstat(path, &st), -1);
    snprintf(path, sizeof path, "%s/volumes/cfg/%s", g_pod_dir, data1);
    assert_int_equal(lstat(path, &st), -1); /* old directory removed */
    {
        char buf[16] = "";
        assert_int_equal(read(fd, buf, sizeof buf - 1), 3);
        assert_string_equal(buf, "one");
    }
    close(fd);
    err_release(&err);
    json_decref(pod);
}

static void test_items_modes_secret_optional(void **state)
{
    json_t *pod = pod_with(json_pack(
        "[{s:s, s:{s:s, s:i, s:[{s:s, s:s, s:i}]}}, {s:s, s:{s:s}}, {s:s, s:{s:s, s:b}}]",
        "name", "items", "configMap", "name", "cfg", "defaultMode", 0600, "items", "key", "a",
        "path", "sub/x.txt", "mode", 0640, "name", "sec", "secret", "secretName", "sec", "name",
        "opt", "configMap", "name", "absent", "optional", 1));
    char lnk[256], data[256], path[PATH_MAX * 2];
    json_t *paths = NULL;
    struct err err;
    struct stat st;

    assert_int_equal(sync_pod(pod, &paths, &err), 0);
    link_of("items/sub", lnk, sizeof lnk);
    assert_string_equal(lnk, "..data/sub");
    assert_string_equal(slurp("%s/volumes/items/%s", "sub/x.txt"), "uno");
    link_of("items/..data", data, sizeof data);
    snprintf(path, sizeof path, "%s/volumes/items/%s/sub/x.txt", g_pod_dir, data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_null(slurp("%s/volumes/items/%s", "c")); /* only the listed items */
    assert_string_equal(slurp("%s/volumes/sec/%s", "token"), "s3cret");
    assert_non_null(json_object_get(paths, "opt")); /* optional and absent: an empty volume */
    link_of("opt/..data", data, sizeof data);
    assert_int_equal(strncmp(data, "..20", 4), 0);
    json_decref(paths);
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s}}]", "name", "v", "configMap", "name", "nope"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    assert_string_equal(err.msg, "configmap \"nope\" not found");
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s, s:[{s:s, s:s}]}}]", "name", "v", "configMap", "name",
                             "cfg", "items", "key", "zz", "path", "zz"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    assert_string_equal(err.msg, "configmap references non-existent config key: zz");
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s}}]", "name", "v", "secret", "secretName", "nos"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    assert_string_equal(err.msg, "secret \"nos\" not found");
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s, s:[{s:s, s:s}]}}]", "name", "v", "configMap", "name",
                             "cfg", "items", "key", "a", "path", "../escape"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    assert_string_equal(err.msg, "invalid path: ../escape");
    json_decref(pod);
    err_release(&err);
}

static void test_emptydir_hostpath(void **state)
{
    char hp[PATH_MAX * 2], file[PATH_MAX * 2], want[PATH_MAX * 3];
    json_t *pod, *paths = NULL;
    struct err err;
    struct stat st;

    snprintf(hp, sizeof hp, "%s/host/made", g_dir);
    snprintf(file, sizeof file, "%s/host/f.txt", g_dir);
    pod = pod_with(json_pack("[{s:s, s:{}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]", "name",
                             "scratch", "emptyDir", "name", "hp", "hostPath", "path", hp, "type",
                             "DirectoryOrCreate", "name", "hf", "hostPath", "path", file, "type",
                             "FileOrCreate"));
    assert_int_equal(sync_pod(pod, &paths, &err), 0);
    snprintf(want, sizeof want, "%s/volumes/scratch", g_pod_dir);
    assert_int_equal(stat(want, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(hp, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(json_string_value(json_object_get(paths, "hp")), hp);
    json_decref(paths);
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s, s:s}}]", "name", "hp", "hostPath", "path", file,
                             "type", "Directory"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    snprintf(want, sizeof want, "hostPath type check failed: %s is not a directory", file);
    assert_string_equal(err.msg, want);
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s, s:s}}]", "name", "hp", "hostPath", "path", hp,
                             "type", "Socket"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    snprintf(want, sizeof want, "hostPath type check failed: %s is not a socket file", hp);
    assert_string_equal(err.msg, want);
    json_decref(pod);
    err_release(&err);

    pod = pod_with(json_pack("[{s:s, s:{s:s}}]", "name", "pvc", "persistentVolumeClaim",
                             "claimName", "x"));
    assert_true(sync_pod(pod, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "unsupported volume type"));
    json_decref(pod);
    err_release(&err);
}

static void test_downward_projected(void **state)
{
    json_t *pod = pod_with(json_pack(
        "[{s:s, s:{s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}]}},"
        " {s:s, s:{s:[{s:{s:s, s:[{s:s, s:s}]}}, {s:{s:s}}, {s:{s:[{s:s, s:{s:s}}]}}]}}]",
        "name", "dw", "downwardAPI", "items", "path", "labels", "fieldRef", "fieldPath",
        "metadata.labels", "path", "name", "fieldRef", "fieldPath", "metadata.name",
        "name", "pj", "projected", "sources", "configMap", "name", "cfg", "items", "key", "a",
        "path", "a.txt", "secret", "name", "sec", "downwardAPI", "items", "path", "ns",
        "fieldRef", "fieldPath", "metadata.namespace"));
    struct err err;

    assert_int_equal(sync_pod(pod, NULL, &err), 0);
    assert_string_equal(slurp("%s/volumes/dw/%s", "labels"), "app=\"web\"\ntier=\"a\\\"b\"");
    assert_string_equal(slurp("%s/volumes/dw/%s", "name"), "web-1");
    assert_string_equal(slurp("%s/volumes/pj/%s", "a.txt"), "uno");
    assert_string_equal(slurp("%s/volumes/pj/%s", "token"), "s3cret");
    assert_string_equal(slurp("%s/volumes/pj/%s", "ns"), "default");
    json_decref(pod);
    err_release(&err);
}

static void test_mounts_and_cleanup(void **state)
{
    json_t *pod = pod_with(json_pack("[{s:s, s:{s:s}}, {s:s, s:{}}]", "name", "cfg", "configMap",
                                     "name", "cfg", "name", "scratch", "emptyDir"));
    json_t *c = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:b}]}", "name", "app",
                          "volumeMounts", "name", "cfg", "mountPath", "/etc/cfg", "name", "cfg",
                          "mountPath", "/etc/a", "subPath", "a", "name", "scratch", "mountPath",
                          "/tmp/s", "readOnly", 1);
    json_t *paths = NULL, *m, *bad;
    char want[PATH_MAX * 2], root[PATH_MAX * 2];
    struct err err;
    struct stat st;

    assert_int_equal(sync_pod(pod, &paths, &err), 0);
    m = volume_mounts(pod, c, paths);
    assert_non_null(m);
    assert_int_equal(json_array_size(m), 3);
    snprintf(want, sizeof want, "%s/volumes/cfg", g_pod_dir);
    assert_string_equal(jx_str(json_array_get(m, 0), "source"), want);
    assert_string_equal(jx_str(json_array_get(m, 0), "target"), "/etc/cfg");
    assert_true(jx_bool(json_array_get(m, 0), "readOnly")); /* configMap: always read-only */
    snprintf(want, sizeof want, "%s/volumes/cfg/a", g_pod_dir);
    assert_string_equal(jx_str(json_array_get(m, 1), "source"), want);
    assert_true(jx_bool(json_array_get(m, 2), "readOnly"));
    json_decref(m);

    bad = json_pack("{s:s, s:[{s:s, s:s}]}", "name", "app", "volumeMounts", "name", "ghost",
                    "mountPath", "/x");
    err_release(&err);
    err_init(&err);
    assert_null(volume_mounts_resolve(pod, bad, paths, &err));
    assert_string_equal(err.msg, "cannot find volume \"ghost\" to mount into container \"app\"");
    json_decref(bad);
    bad = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "name", "app", "volumeMounts", "name", "cfg",
                    "mountPath", "/x", "subPath", "../../etc");
    assert_null(volume_mounts(pod, bad, paths));
    json_decref(bad);

    volume_cleanup(g_pod_dir);
    snprintf(root, sizeof root, "%s/volumes", g_pod_dir);
    assert_int_equal(stat(root, &st), -1);
    json_decref(paths);
    json_decref(c);
    json_decref(pod);
    err_release(&err);
}

/* fsGroup as the kubelet's SetVolumeOwnership: group and mode bits, setgid directories, the
 * symlinks' own targets untouched, an unchanged volume not rewritten, hostPath left alone. */
static void test_fsgroup_ownership(void **state)
{
    char hp[PATH_MAX * 2], path[PATH_MAX * 2 + 8], data1[256] = "", data2[256] = "";
    json_t *pod, *sc;
    struct err err;
    struct stat st;

    volume_cleanup(g_pod_dir);
    snprintf(hp, sizeof hp, "%s/host-fsg", g_dir);
    mkdir(hp, 0750);
    pod = pod_with(json_pack("[{s:s, s:{s:s, s:i}}, {s:s, s:{}}, {s:s, s:{s:s}}]", "name", "cfg",
                             "configMap", "name", "cfg", "defaultMode", 0400, "name", "scratch",
                             "emptyDir", "name", "hp", "hostPath", "path", hp));
    sc = json_pack("{s:i}", "fsGroup", 2000);
    json_object_set_new(json_object_get(pod, "spec"), "securityContext", sc);
    assert_int_equal(sync_pod(pod, NULL, &err), 0);

    snprintf(path, sizeof path, "%s/volumes/cfg/a", g_pod_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, 2000);
    assert_int_equal(st.st_mode & 07777, 0440); /* 0400 | group read */
    snprintf(path, sizeof path, "%s/volumes/cfg", g_pod_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, 2000);
    assert_int_equal(st.st_mode & 07777, 02755);
    snprintf(path, sizeof path, "%s/volumes/cfg/..data", g_pod_dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_gid, 2000);
    assert_int_equal(readlink(path, data1, sizeof data1 - 1) > 0, 1);

    snprintf(path, sizeof path, "%s/volumes/scratch", g_pod_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, 2000);
    assert_int_equal(st.st_mode & 07777, 02777);

    assert_int_equal(stat(hp, &st), 0);
    assert_int_equal(st.st_gid, 0);
    assert_int_equal(st.st_mode & 07777, 0750);

    /* Nothing changed: the same ..data directory stays (the group-read mode compares equal). */
    err_release(&err);
    assert_int_equal(sync_pod(pod, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/volumes/cfg/..data", g_pod_dir);
    assert_int_equal(readlink(path, data2, sizeof data2 - 1) > 0, 1);
    assert_string_equal(data1, data2);

    /* OnRootMismatch: a root already right is not walked (a file changed by hand stays). */
    assert_int_equal(volume_owner_set(hp, 3000, 0, 0), 0);
    snprintf(path, sizeof path, "%s/f", hp);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    assert_int_equal(chown(path, 0, 0), 0);
    assert_int_equal(volume_owner_set(hp, 3000, 0, 1), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, 0);
    assert_int_equal(volume_owner_set(hp, 3000, 0, 0), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, 3000);
    assert_int_equal(st.st_mode & 07777, 0660);
    json_decref(pod);
    err_release(&err);
    volume_cleanup(g_pod_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_layout_and_update),
        cmocka_unit_test(test_items_modes_secret_optional),
        cmocka_unit_test(test_emptydir_hostpath),
        cmocka_unit_test(test_downward_projected),
        cmocka_unit_test(test_mounts_and_cleanup),
        cmocka_unit_test(test_fsgroup_ownership),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
