/* The downward API renderer with the keys real pods carry: label and annotation keys with dots
 * and slashes ("app.kubernetes.io/name"), long keys and long values that need escaping, in
 * downwardAPI and projected volumes and in env fieldRefs. Keys are data, never dotted paths:
 * before the fix the volume renderer sized its buffer from a path lookup that found nothing and
 * overran the heap (issue 10, item 1). No API objects are needed, so no API is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "node/env.h"
#include "node/volume.h"

static char g_dir[PATH_MAX];

static int group_setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/kroll-downward-test.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A long value full of quotes: each quote is escaped to two bytes, so a buffer sized without
 * this value is overrun by kilobytes (enough for malloc's own checks, not only ASan's). */
static char *long_value(size_t n)
{
    char *v = malloc(n + 1);

    for (size_t i = 0; i < n; i++)
        v[i] = i % 2 ? '"' : 'q';
    v[n] = 0;
    return v;
}

/* A 317-byte key: the longest a Kubernetes label/annotation key can be (253-byte prefix). */
static char *long_key(void)
{
    char *k = malloc(400);

    memset(k, 'p', 253);
    k[100] = '.';
    k[253] = '/';
    memset(k + 254, 'n', 63);
    k[317] = 0;
    return k;
}

static json_t *dotted_pod(const char *lkey, const char *value)
{
    json_t *pod = json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}, s:{s:[{s:s}]}}",
                            "metadata", "name", "web-1", "namespace", "default", "uid", "u-1",
                            "labels", "app.kubernetes.io/name", "web", "tier", "a.b",
                            "annotations", "kroll.dev/long", value, "plain", "x", "spec",
                            "containers", "name", "app");

    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"), lkey,
                        json_string("long-key-value"));
    return pod;
}

static char *slurp(const char *vol, const char *name)
{
    char path[PATH_MAX * 2];
    char *buf = calloc(1, 1 << 16);
    FILE *f;

    snprintf(path, sizeof path, "%s/pod/volumes/%s/%s", g_dir, vol, name);
    if ((f = fopen(path, "r"))) {
        size_t n = fread(buf, 1, (1 << 16) - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

static void expect_file(const char *vol, const char *name, const char *want)
{
    char *got = slurp(vol, name);

    assert_string_equal(got, want);
    free(got);
}

static json_t *items(const char *lkey)
{
    char *ref = malloc(strlen(lkey) + 32);
    json_t *it;

    sprintf(ref, "metadata.labels['%s']", lkey);
    it = json_pack("[{s:s, s:{s:s}}, {s:s, s:{s:s}}, {s:s, s:{s:s}}, {s:s, s:{s:s}}]", "path",
                   "labels", "fieldRef", "fieldPath", "metadata.labels", "path", "annotations",
                   "fieldRef", "fieldPath", "metadata.annotations", "path", "name", "fieldRef",
                   "fieldPath", "metadata.labels['app.kubernetes.io/name']", "path", "longkey",
                   "fieldRef", "fieldPath", ref);
    free(ref);
    return it;
}

static void test_volume_dotted_keys(void **state)
{
    char *value = long_value(3000), *lkey = long_key(), *want_ann, *want_labels;
    json_t *pod = dotted_pod(lkey, value), *vols, *paths = NULL;
    char pod_dir[PATH_MAX + 8];
    struct err err;

    vols = json_pack("[{s:s, s:{s:o}}, {s:s, s:{s:[{s:{s:o}}]}}]", "name", "dw", "downwardAPI",
                     "items", items(lkey), "name", "pj", "projected", "sources", "downwardAPI",
                     "items", items(lkey));
    json_object_set_new(json_object_get(pod, "spec"), "volumes", vols);
    snprintf(pod_dir, sizeof pod_dir, "%s/pod", g_dir);
    mkdir(pod_dir, 0755);
    err_init(&err);
    if (volume_sync(NULL, pod, pod_dir, &paths, &err) < 0)
        fail_msg("volume_sync: %s", err.msg);
    want_ann = malloc(8000);
    strcpy(want_ann, "kroll.dev/long=\"");
    for (size_t i = 0; i < 3000; i++)
        strcat(want_ann, i % 2 ? "\\\"" : "q");
    strcat(want_ann, "\"\nplain=\"x\"");
    want_labels = malloc(1000);
    sprintf(want_labels, "app.kubernetes.io/name=\"web\"\n%s=\"long-key-value\"\ntier=\"a.b\"",
            lkey);
    for (int v = 0; v < 2; v++) {
        const char *vol = v ? "pj" : "dw";
        expect_file(vol, "labels", want_labels);
        expect_file(vol, "annotations", want_ann);
        expect_file(vol, "name", "web");
        expect_file(vol, "longkey", "long-key-value");
    }
    json_decref(paths);
    json_decref(pod);
    err_release(&err);
    free(want_ann);
    free(want_labels);
    free(value);
    free(lkey);
}

static const char *env_get(const json_t *env, const char *k)
{
    const json_t *e;
    size_t i, n = strlen(k);

    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e);
        if (strncmp(s, k, n) == 0 && s[n] == '=')
            return s + n + 1;
    }
    return NULL;
}

static void test_env_dotted_keys(void **state)
{
    char *lkey = long_key(), *ref = malloc(400 + 32);
    json_t *pod = dotted_pod(lkey, "v"), *c, *env = NULL;
    struct err err;

    sprintf(ref, "metadata.labels['%s']", lkey);
    c = json_pack("{s:s, s:[{s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}},"
                  " {s:s, s:{s:{s:s}}}]}", "name", "app", "env",
                  "name", "NAME", "valueFrom", "fieldRef", "fieldPath",
                  "metadata.labels['app.kubernetes.io/name']", "name", "TIER", "valueFrom",
                  "fieldRef", "fieldPath", "metadata.labels['tier']", "name", "ANN", "valueFrom",
                  "fieldRef", "fieldPath", "metadata.annotations['kroll.dev/long']", "name",
                  "LONG", "valueFrom", "fieldRef", "fieldPath", ref);
    err_init(&err);
    assert_int_equal(env_resolve(NULL, pod, c, NULL, NULL, &env, &err), 0);
    assert_string_equal(env_get(env, "NAME"), "web");
    assert_string_equal(env_get(env, "TIER"), "a.b");
    assert_string_equal(env_get(env, "ANN"), "v");
    assert_string_equal(env_get(env, "LONG"), "long-key-value");
    json_decref(env);
    json_decref(c);
    json_decref(pod);
    err_release(&err);
    free(ref);
    free(lkey);
}

/* The path helpers themselves: a dotted key is not reachable through a path, a path far longer
 * than any real one matches nothing and creates nothing, and nothing overflows. */
static void test_jx_paths(void **state)
{
    json_t *o = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a.b/c", "v");
    char *huge = malloc(70000);

    assert_null(jx_str(o, "metadata.labels.a.b/c"));
    assert_string_equal(jx_label(o, "a.b/c"), "v");
    memset(huge, 'k', 69999);
    huge[69999] = 0;
    huge[10] = '.';
    assert_null(jx_get(o, huge));
    jx_set(o, huge, json_string("x"));
    jx_del(o, huge);
    assert_null(jx_obj(o, huge));
    assert_int_equal(json_object_size(o), 1);
    jx_set(o, "metadata.name", json_string("n"));
    assert_string_equal(jx_str(o, "metadata.name"), "n");
    jx_del(o, "metadata.name");
    assert_null(jx_get(o, "metadata.name"));
    free(huge);
    json_decref(o);
    o = json_string("s");
    assert_null(jx_obj(o, "a"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volume_dotted_keys),
        cmocka_unit_test(test_env_dotted_keys),
        cmocka_unit_test(test_jx_paths),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
