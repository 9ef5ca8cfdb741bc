/* CDI: spec validation (every refusal), the registry over directories (priority, conflicts,
 * JSON and YAML, bad files left out), the OCI edits on a made-up vendor's spec (env, device
 * nodes read from the host's /dev/null, allow rules, mounts in order, hooks, gids, nothing
 * changed on error), and allocation (lowest first, exhaustion, release, restore). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/jx.h"
#include "node/cdi.h"

static char g_dir[256];

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

static int parse(const char *text, int yaml, json_t **out, char *msg)
{
    struct err e;
    int rc;

    err_init(&e);
    rc = cdi_spec_parse(text, strlen(text), yaml, "x.json", out, &e);
    snprintf(msg, 1024, "%.1000s", e.msg);
    err_release(&e);
    return rc;
}

#define DEV(n) "{\"name\":\"" n "\",\"containerEdits\":{\"env\":[\"D=" n "\"]}}"

static void test_spec_validation(void **state)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[]", "must be an object"},
        {"{\"cdiVersion\":\"0.2.0\",\"kind\":\"a.com/b\",\"devices\":[" DEV("d") "]}",
         "unsupported cdiVersion \"0.2.0\""},
        {"{\"cdiVersion\":\"1.0.0\",\"kind\":\"a.com/b\",\"devices\":[" DEV("d") "]}",
         "unsupported cdiVersion"},
        {"{\"cdiVersion\":\"0.5.0\",\"devices\":[" DEV("d") "]}", "kind is required"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"gpu\",\"devices\":[" DEV("d") "]}",
         "must be vendor.com/class"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b/c\",\"devices\":[" DEV("d") "]}",
         "must be vendor.com/class"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"1a.com/b\",\"devices\":[" DEV("d") "]}",
         "vendor must start with a letter"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b-\",\"devices\":[" DEV("d") "]}",
         "class must end with a letter or digit"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[]}", "no devices"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[" DEV("d/1") "]}",
         "device name \"d/1\" has a character"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[" DEV("d") "," DEV("d") "]}",
         "multiple device \"d\""},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\"}]}",
         "empty device edits"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"env\":[\"NOEQUALS\"]}}]}",
         "invalid environment variable"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"deviceNodes\":[{\"path\":\"dev/x\"}]}}]}",
         "deviceNodes[0]: path must be an absolute path"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/x\",\"type\":\"z\"}]}}]}",
         "type must be one of"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/x\",\"permissions\":\"rx\"}]}}]}",
         "permissions must be made of r, w and m"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/x\",\"major\":-1}]}}]}",
         "major must be a non-negative integer"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"mounts\":[{\"containerPath\":\"/x\"}]}}]}",
         "empty host path"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"hooks\":[{\"hookName\":\"preStart\",\"path\":\"/x\"}]}}]}",
         "invalid hookName"},
        {"{\"cdiVersion\":\"0.5.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"hooks\":[{\"hookName\":\"poststop\",\"path\":\"/x\","
         "\"timeout\":0}]}}]}",
         "timeout must be greater than zero"},
        /* Features newer than the declared version. */
        {"{\"cdiVersion\":\"0.3.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"mounts\":[{\"hostPath\":\"/a\",\"containerPath\":\"/b\","
         "\"type\":\"bind\"}]}}]}",
         "features of cdiVersion 0.4.0"},
        {"{\"cdiVersion\":\"0.6.0\",\"kind\":\"a.com/b\",\"devices\":[{\"name\":\"d\","
         "\"containerEdits\":{\"additionalGids\":[5]}}]}",
         "features of cdiVersion 0.7.0"},
    };
    char msg[1024];
    json_t *s;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = (json_t *)1;
        assert_true(parse(bad[i].text, 0, &s, msg) < 0);
        assert_null(s);
        if (!strstr(msg, bad[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, msg, bad[i].want);
    }
    assert_int_equal(parse("{\"cdiVersion\":\"0.8.0\",\"kind\":\"a.com/b.c\",\"devices\":[" DEV(
                               "gpu-0:1.a") "]}",
                           0, &s, msg),
                     0);
    json_decref(s);
    assert_true(parse("cdiVersion: 0.6.0\nkind: [", 1, &s, msg) < 0);
    assert_non_null(strstr(msg, "x.json: "));
}

/* The made-up vendor: two spec dirs, YAML and JSON, a conflict, and a bad file. */
static struct cdi_registry *load(char *msg)
{
    char d1[300], d2[300];
    const char *dirs[] = {d1, d2};
    struct cdi_registry *r;
    struct err e;

    snprintf(d1, sizeof d1, "%s/etc", g_dir);
    snprintf(d2, sizeof d2, "%s/run", g_dir);
    err_init(&e);
    cdi_registry_load(dirs, 2, &r, &e);
    snprintf(msg, 1024, "%.1000s", e.msg);
    err_release(&e);
    return r;
}

static const char *vendor_yaml =
    "cdiVersion: 0.7.0\n"
    "kind: example.com/gpu\n"
    "containerEdits:\n"
    "  env: [EXAMPLE_DRIVER=1]\n"
    "  mounts:\n"
    "  - {hostPath: /opt/example/lib, containerPath: /usr/lib/example/sub, options: [ro, bind]}\n"
    "  - {hostPath: /opt/example, containerPath: /usr/lib/example, options: [ro, bind]}\n"
    "  hooks:\n"
    "  - {hookName: createContainer, path: /usr/bin/example-hook, args: [example-hook, ldcache]}\n"
    "devices:\n"
    "- name: gpu10\n"
    "  containerEdits:\n"
    "    env: [EXAMPLE_VISIBLE=10]\n"
    "    deviceNodes: [{path: /dev/example10, hostPath: /dev/null}]\n"
    "- name: gpu2\n"
    "  containerEdits:\n"
    "    env: [EXAMPLE_VISIBLE=2]\n"
    "    deviceNodes: [{path: /dev/example2, hostPath: /dev/zero, permissions: rw}]\n"
    "    additionalGids: [0, 44]\n";

static void test_registry(void **state)
{
    char msg[1024];
    struct cdi_registry *r;
    json_t *kinds;

    put("etc/vendor.yaml", vendor_yaml);
    put("etc/gpu-extra.json", "{\"cdiVersion\":\"0.5.0\",\"kind\":\"example.com/gpu\","
                              "\"devices\":[" DEV("gpu1") "]}");
    /* Same directory, same device: both lose it. */
    put("etc/other.json",
        "{\"cdiVersion\":\"0.5.0\",\"kind\":\"example.com/nic\",\"devices\":[" DEV("nic0") "," DEV(
            "nic1") "]}");
    put("etc/other2.json",
        "{\"cdiVersion\":\"0.5.0\",\"kind\":\"example.com/nic\",\"devices\":[" DEV("nic1") "]}");
    put("etc/broken.json", "{\"cdiVersion\":");
    put("etc/ignored.txt", "not a spec");
    /* A later directory overrides: gpu1 from run/ wins over etc/. */
    put("run/override.json", "{\"cdiVersion\":\"0.5.0\",\"kind\":\"example.com/gpu\","
                             "\"devices\":[{\"name\":\"gpu1\",\"containerEdits\":{\"env\":"
                             "[\"FROM=run\"]}}]}");
    r = load(msg);
    assert_non_null(strstr(msg, "broken.json"));
    assert_non_null(strstr(msg, "and 1 more"));
    assert_int_equal(cdi_kind_count(r, "example.com/gpu"), 3);
    assert_int_equal(cdi_kind_count(r, "example.com/nic"), 1);
    assert_int_equal(cdi_kind_count(r, "example.com/none"), 0);
    assert_true(cdi_has_device(r, "example.com/nic=nic0"));
    assert_false(cdi_has_device(r, "example.com/nic=nic1"));
    kinds = cdi_kinds(r);
    assert_int_equal(json_integer_value(json_object_get(kinds, "example.com/gpu")), 3);
    assert_int_equal(json_object_size(kinds), 2);
    json_decref(kinds);
    {
        const char *devs[] = {"example.com/gpu=gpu1"};
        json_t *oci = json_pack("{s:{s:[s]}}", "process", "env", "PATH=/bin");
        struct err e;

        err_init(&e);
        assert_int_equal(cdi_apply(r, devs, 1, oci, &e), 0);
        assert_string_equal(json_string_value(json_array_get(jx_get(oci, "process.env"), 1)),
                            "FROM=run");
        json_decref(oci);
        err_release(&e);
    }
    cdi_registry_free(r);
}

static json_t *base_spec(void)
{
    return json_pack("{s:{s:[s,s],s:{s:i,s:i}},s:[{s:s,s:s}],s:{}}", "process", "env", "PATH=/bin",
                     "EXAMPLE_DRIVER=0", "user", "uid", 1000, "gid", 1000, "mounts", "destination",
                     "/proc", "type", "proc", "linux");
}

static void test_apply(void **state)
{
    char msg[1024];
    struct cdi_registry *r = load(msg);
    const char *devs[] = {"example.com/gpu=gpu2", "example.com/gpu=gpu10"};
    json_t *oci = base_spec(), *d, *rules, *mounts, *hooks, *env;
    struct stat st;
    struct err e;

    err_init(&e);
    assert_int_equal(cdi_apply(r, devs, 2, oci, &e), 0);
    env = jx_get(oci, "process.env");
    /* Spec edits once, then each device's; a variable already set is replaced in place. */
    assert_int_equal(json_array_size(env), 3);
    assert_string_equal(json_string_value(json_array_get(env, 1)), "EXAMPLE_DRIVER=1");
    assert_string_equal(json_string_value(json_array_get(env, 2)), "EXAMPLE_VISIBLE=10");
    d = jx_get(oci, "linux.devices");
    assert_int_equal(json_array_size(d), 2);
    assert_int_equal(stat("/dev/zero", &st), 0);
    assert_string_equal(jx_str(json_array_get(d, 0), "path"), "/dev/example2");
    assert_string_equal(jx_str(json_array_get(d, 0), "type"), "c");
    assert_int_equal(jx_int(json_array_get(d, 0), "major", -1), major(st.st_rdev));
    assert_int_equal(jx_int(json_array_get(d, 0), "minor", -1), minor(st.st_rdev));
    assert_int_equal(jx_int(json_array_get(d, 0), "uid", -1), 1000);
    assert_null(json_object_get(json_array_get(d, 0), "hostPath"));
    rules = jx_get(oci, "linux.resources.devices");
    assert_int_equal(json_array_size(rules), 2);
    assert_true(jx_bool(json_array_get(rules, 0), "allow"));
    assert_string_equal(jx_str(json_array_get(rules, 0), "access"), "rw");
    assert_string_equal(jx_str(json_array_get(rules, 1), "access"), "rwm");
    /* Mounts: parents before children whatever the spec's order. */
    mounts = json_object_get(oci, "mounts");
    assert_int_equal(json_array_size(mounts), 3);
    assert_string_equal(jx_str(json_array_get(mounts, 1), "destination"), "/usr/lib/example");
    assert_string_equal(jx_str(json_array_get(mounts, 2), "destination"), "/usr/lib/example/sub");
    hooks = jx_get(oci, "hooks.createContainer");
    assert_int_equal(json_array_size(hooks), 1);
    assert_string_equal(jx_str(json_array_get(hooks, 0), "path"), "/usr/bin/example-hook");
    /* gid 0 is ignored, 44 added once. */
    assert_int_equal(json_array_size(jx_get(oci, "process.user.additionalGids")), 1);
    assert_int_equal(
        json_integer_value(json_array_get(jx_get(oci, "process.user.additionalGids"), 0)), 44);
    json_decref(oci);
    err_release(&e);
    cdi_registry_free(r);
}

static void test_apply_errors_change_nothing(void **state)
{
    char msg[1024];
    struct cdi_registry *r;
    const char *unknown[] = {"example.com/gpu=gpu2", "example.com/gpu=gpu99"};
    const char *gone[] = {"example.com/gone=g0"};
    json_t *oci = base_spec(), *before = json_deep_copy(oci);
    struct err e;

    put("run/gone.json", "{\"cdiVersion\":\"0.5.0\",\"kind\":\"example.com/gone\",\"devices\":"
                         "[{\"name\":\"g0\",\"containerEdits\":{\"env\":[\"A=1\"],\"deviceNodes\":"
                         "[{\"path\":\"/dev/kroll-test-missing-node\"}]}}]}");
    r = load(msg);
    err_init(&e);
    assert_true(cdi_apply(r, unknown, 2, oci, &e) < 0);
    assert_string_equal(e.msg, "unresolvable CDI devices [\"example.com/gpu=gpu99\"]");
    assert_true(json_equal(oci, before));
    err_release(&e);
    assert_true(cdi_apply(r, gone, 1, oci, &e) < 0);
    assert_non_null(strstr(e.msg, "/dev/kroll-test-missing-node"));
    assert_true(json_equal(oci, before));
    err_release(&e);
    json_decref(oci);
    json_decref(before);
    cdi_registry_free(r);
}

static void test_allocation(void **state)
{
    char msg[1024];
    struct cdi_registry *r = load(msg);
    struct cdi_alloc *a = cdi_alloc_new();
    json_t *lim2 = json_pack("{s:s,s:s}", "example.com/gpu", "2", "cpu", "1");
    json_t *lim1 = json_pack("{s:i}", "example.com/gpu", 1), *got, *again;
    struct err e;

    err_init(&e);
    /* Natural order: gpu1, gpu2, gpu10. */
    assert_int_equal(cdi_alloc_take(a, r, "uid-a/main", lim2, &got, &e), 0);
    assert_int_equal(json_array_size(got), 2);
    assert_string_equal(json_string_value(json_array_get(got, 0)), "example.com/gpu=gpu1");
    assert_string_equal(json_string_value(json_array_get(got, 1)), "example.com/gpu=gpu2");
    json_decref(got);
    /* The same owner again gets the same devices. */
    assert_int_equal(cdi_alloc_take(a, r, "uid-a/main", lim2, &again, &e), 0);
    assert_int_equal(json_array_size(again), 2);
    json_decref(again);
    assert_int_equal(cdi_alloc_take(a, r, "uid-b/main", lim1, &got, &e), 0);
    assert_string_equal(json_string_value(json_array_get(got, 0)), "example.com/gpu=gpu10");
    json_decref(got);
    /* Exhausted: an error, nothing recorded. */
    assert_true(cdi_alloc_take(a, r, "uid-c/main", lim1, &got, &e) < 0);
    assert_null(got);
    assert_string_equal(e.msg, "insufficient example.com/gpu: 1 requested, 0 free of 3");
    assert_null(cdi_alloc_get(a, "uid-c/main"));
    err_release(&e);
    /* Release frees the lowest again. */
    cdi_alloc_release(a, "uid-a/main");
    assert_int_equal(cdi_alloc_take(a, r, "uid-c/main", lim1, &got, &e), 0);
    assert_string_equal(json_string_value(json_array_get(got, 0)), "example.com/gpu=gpu1");
    json_decref(got);
    /* Restore after a restart: a device someone else holds is a conflict. */
    got = json_pack("[s]", "example.com/gpu=gpu10");
    assert_true(cdi_alloc_restore(a, "uid-d/main", got, &e) < 0);
    err_release(&e);
    json_decref(got);
    got = json_pack("[s]", "example.com/gpu=gpu2");
    assert_int_equal(cdi_alloc_restore(a, "uid-d/main", got, &e), 0);
    json_decref(got);
    assert_int_equal(json_array_size(cdi_alloc_get(a, "uid-d/main")), 1);
    /* A limit that is no CDI kind allocates nothing; an unknown kind alone is an error. */
    assert_true(cdi_allocate(r, "example.com/none", 1, NULL, &got, &e) < 0);
    assert_non_null(strstr(e.msg, "no CDI devices of kind example.com/none"));
    err_release(&e);
    json_decref(lim1);
    json_decref(lim2);
    cdi_alloc_free(a);
    cdi_registry_free(r);
}

static int setup(void **state)
{
    char p[300];

    snprintf(g_dir, sizeof g_dir, "%s/kroll-cdi.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(p, sizeof p, "%s/etc", g_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/run", g_dir);
    return mkdir(p, 0755);
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_validation), cmocka_unit_test(test_registry),
        cmocka_unit_test(test_apply),           cmocka_unit_test(test_apply_errors_change_nothing),
        cmocka_unit_test(test_allocation),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
