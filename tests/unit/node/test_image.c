/* The image store's references and tags: parsing with the grammar of container tools
 * (registry host, path components, tag, digest; bad ones refused), and rm/import/load that act
 * on exactly the image a reference names — "myrepo:tf-serving" is not the repository
 * "myrepo/tf-serving" — with blobs and layers going when their last tag does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/image.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

static char g_dir[PATH_MAX], g_src[PATH_MAX + 8];

static void parse_ok(const char *ref, const char *repo, const char *tag, const char *digest)
{
    struct image_ref r;
    struct err err;

    err_init(&err);
    if (image_ref_parse(ref, &r, &err) < 0)
        fail_msg("%s: %s", ref, err.msg);
    assert_string_equal(r.repo, repo);
    assert_string_equal(r.tag, tag);
    assert_string_equal(r.digest, digest);
    err_release(&err);
}

static void parse_bad(const char *ref, const char *why)
{
    struct image_ref r;
    struct err err;

    err_init(&err);
    if (image_ref_parse(ref, &r, &err) == 0)
        fail_msg("%s parsed as %s:%s", ref, r.repo, r.tag);
    if (!strstr(err.msg, why))
        fail_msg("%s: [%s] does not say [%s]", ref, err.msg, why);
    if (strchr(err.msg, '/')) /* the kubelet's InvalidImageName test */
        fail_msg("%s: [%s] holds a '/'", ref, err.msg);
    err_release(&err);
}

static void test_parse_good(void **state)
{
    static const char dg[] =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char ref[256];

    (void)state;
    parse_ok("myrepo/tf-serving", "myrepo/tf-serving", "latest", "");
    parse_ok("myrepo/tf-serving:1.0.3", "myrepo/tf-serving", "1.0.3", "");
    parse_ok("myrepo:tf-serving", "myrepo", "tf-serving", "");
    parse_ok("docker.io/library/nginx:1.25", "nginx", "1.25", "");
    parse_ok("library/nginx", "nginx", "latest", "");
    parse_ok("index.docker.io/myrepo/x:V_1", "myrepo/x", "V_1", "");
    parse_ok("localhost:5000/team/app:2", "localhost:5000/team/app", "2", "");
    parse_ok("localhost/app", "localhost/app", "latest", "");
    parse_ok("ghcr.io/o/p", "ghcr.io/o/p", "latest", "");
    parse_ok("a__b/c--d.e_f:_x", "a__b/c--d.e_f", "_x", "");
    snprintf(ref, sizeof ref, "app:1@%s", dg);
    parse_ok(ref, "app", "1", dg);
    snprintf(ref, sizeof ref, "app@%s", dg);
    parse_ok(ref, "app", "latest", dg);
}

static void test_parse_bad(void **state)
{
    char long_tag[200];

    (void)state;
    parse_bad("", "empty");
    parse_bad("../x:1", "registry host");
    parse_bad("a/../../etc:1", "component \"..\"");
    parse_bad("a/./b", "component \".\"");
    parse_bad("a//b", "component \"\"");
    parse_bad("/abs", "component \"\"");
    parse_bad("a/", "component \"\"");
    parse_bad("MyRepo:1", "lowercase");
    parse_bad("a-:1", "component");
    parse_bad("a___b", "component");
    parse_bad("a:.x", "tag \".x\"");
    parse_bad("a:-x", "tag");
    parse_bad("a:x/y", "registry host"); /* "a:x" before a "/" is a host */
    parse_bad("a:", "tag");
    parse_bad("a:b c", "tag");
    parse_bad("a@sha256:123", "digest");
    parse_bad("a@md5", "digest");
    parse_bad("bad_host.io/x", "registry host");
    parse_bad("host.io:/x", "registry host");
    parse_bad(":1", "no repository");
    parse_bad("a/b/../../../c", "component \"..\"");
    memset(long_tag, 'a', sizeof long_tag);
    memcpy(long_tag, "x:", 2);
    long_tag[sizeof long_tag - 1] = 0;
    parse_bad(long_tag, "at most 128");
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[2 * PATH_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Whether ref loads from the store. */
static int exists(const char *ref)
{
    struct image img;
    struct err err;
    int rc;

    err_init(&err);
    rc = image_load(g_dir, ref, &img, &err);
    image_release(&img);
    err_release(&err);
    return rc == 0;
}

/* Entries of a store directory (blobs/sha256 or layers), "." and ".." excluded. */
static int count(const char *sub)
{
    char cmd[2 * PATH_MAX];
    FILE *f;
    int n = -1;

    snprintf(cmd, sizeof cmd, "ls -A %s/images/%s | wc -l", g_dir, sub);
    if ((f = popen(cmd, "r"))) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        pclose(f);
    }
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/kroll-unit-image.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_src, sizeof g_src, "%s/src", g_dir);
    mkdir(g_src, 0700);
    return run("echo '{\"Cmd\":[\"/bin/true\"]}' > %s/image.json", g_src);
}

static int teardown(void **state)
{
    (void)state;
    return run("rm -rf %s", g_dir);
}

static void import(const char *ref)
{
    struct err err;

    err_init(&err);
    if (image_import(g_dir, g_src, ref, &err) < 0)
        fail_msg("import %s: %s", ref, err.msg);
    err_release(&err);
}

static int try_rm(const char *ref, char *msg, size_t n)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = image_remove(g_dir, ref, &err);
    snprintf(msg, n, "%s", err.msg);
    err_release(&err);
    return rc;
}

/* The bug: rm of "myrepo:tf-serving" named images/myrepo/tf-serving and deleted every tag.
 * Now each tag is one entry of the index; the last rm takes the blobs and layers with it. */
static void test_rm_exact(void **state)
{
    char msg[1024];

    (void)state;
    import("myrepo/tf-serving:1.0");
    import("myrepo/tf-serving:1.1");
    import("myrepo/tf-serving");
    assert_int_equal(try_rm("myrepo:tf-serving", msg, sizeof msg), -E_NOT_FOUND);
    assert_non_null(strstr(msg, "No such image: myrepo:tf-serving"));
    assert_true(exists("myrepo/tf-serving:1.0") && exists("myrepo/tf-serving:1.1") &&
                exists("myrepo/tf-serving:latest"));
    assert_int_equal(try_rm("myrepo/tf-serving:1.0", msg, sizeof msg), 0);
    assert_false(exists("myrepo/tf-serving:1.0"));
    assert_true(exists("myrepo/tf-serving:1.1") && exists("myrepo/tf-serving"));
    assert_int_equal(try_rm("myrepo/tf-serving:1.0", msg, sizeof msg), -E_NOT_FOUND);
    assert_int_equal(try_rm("myrepo/tf-serving", msg, sizeof msg), 0); /* :latest */
    assert_false(exists("myrepo/tf-serving:latest"));
    assert_true(exists("myrepo/tf-serving:1.1"));
    assert_int_equal(count("layers"), 2); /* the shared layer and its size note */
    assert_int_equal(try_rm("myrepo/tf-serving:1.1", msg, sizeof msg), 0);
    assert_int_equal(count("layers"), 0); /* the last tag takes the content with it */
    assert_int_equal(count("blobs/sha256"), 0);
}

/* Names that were paths in the old layout are just index keys: "app:web" and "app/web:1"
 * coexist, and images built from the same directory share one layer directory. */
static void test_names_coexist(void **state)
{
    struct image a, b;
    struct err err;
    json_t *l;

    (void)state;
    import("app/web:1");
    import("app:web");
    import("app/web/1:x");
    l = image_list(g_dir);
    assert_int_equal(json_array_size(l), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "repository")),
                        "app");
    json_decref(l);
    err_init(&err);
    assert_int_equal(image_load(g_dir, "app:web", &a, &err), 0);
    assert_int_equal(image_load(g_dir, "app/web/1:x", &b, &err), 0);
    assert_int_equal(a.nlayers, 1);
    assert_string_equal(a.dir, b.dir);
    assert_string_equal(a.layers[0], a.dir);
    assert_int_equal(run("test -f %s/image.json", a.dir), 256); /* config lives in the config */
    assert_true(json_is_array(json_object_get(a.config, "Cmd")));
    image_release(&a);
    image_release(&b);
    err_release(&err);
}

/* A symlinked tag index is never followed (it could lead anywhere). */
static void test_symlink_refused(void **state)
{
    struct image img;
    struct err err;
    char msg[1024];

    (void)state;
    assert_int_equal(run("mkdir -p %s/images && echo '{\"tags\":[]}' > %s/outside.json && "
                         "ln -s %s/outside.json %s/images/tags.json",
                         g_dir, g_dir, g_dir, g_dir),
                     0);
    err_init(&err);
    assert_true(image_load(g_dir, "evil:1", &img, &err) < 0);
    assert_non_null(strchr(err.msg, '/')); /* not mistaken for an invalid name */
    err_release(&err);
    assert_true(try_rm("evil:1", msg, sizeof msg) < 0);
    assert_int_equal(run("grep -q tags %s/outside.json", g_dir), 0);
}

/* A digest must match the image's config or manifest digest; NAME@DIGEST finds the tag. */
static void test_digest(void **state)
{
    struct image img;
    struct err err;
    char ref[512], id[80], msg[1024];

    (void)state;
    import("dg:1");
    err_init(&err);
    assert_int_equal(image_load(g_dir, "dg:1", &img, &err), 0);
    snprintf(id, sizeof id, "%s", img.id);
    assert_int_equal(strncmp(img.digest, "sha256:", 7), 0);
    image_release(&img);
    snprintf(ref, sizeof ref, "dg@%s", id);
    assert_int_equal(image_load(g_dir, ref, &img, &err), 0);
    image_release(&img);
    snprintf(ref, sizeof ref, "dg:1@sha256:%064d", 0);
    assert_int_equal(image_load(g_dir, ref, &img, &err), -E_NOT_FOUND);
    assert_int_equal(try_rm(ref, msg, sizeof msg), -E_NOT_FOUND);
    assert_true(exists("dg:1"));
    snprintf(ref, sizeof ref, "dg:1@%s", id);
    assert_int_equal(try_rm(ref, msg, sizeof msg), 0);
    assert_false(exists("dg:1"));
    err_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test_setup_teardown(test_rm_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_coexist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
