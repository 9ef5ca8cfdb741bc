/* OCI import from bytes the test writes itself: layouts with tar, gzip and zstd layers,
 * whiteouts and opaque directories turned into overlayfs format, a docker-save directory, and
 * every refusal (digest, size, diffID, traversal, hardlink or symlink out, device node,
 * truncation, media type, oversized JSON, the size cap), each leaving the store byte for byte
 * as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/log.h"
#include "node/image.h"
#include "node/oci-int.h"

static char g_dir[1024]; /* a mkdtemp path: short, so every path built from it fits PATH_MAX */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* One tar member: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char device. */
struct ent {
    char type;
    const char *name;
    const char *data; /* file content, or link target */
    int mode;
};

static void tar_write(const char *path, const struct ent *e, size_t n)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae;

    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 512); /* no record padding: a cut cuts content */
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0644);
        archive_entry_set_mtime(ae, 1700000000, 0);
        switch (e[i].type) {
        case 'd': archive_entry_set_filetype(ae, AE_IFDIR); break;
        case 'l': archive_entry_set_filetype(ae, AE_IFLNK);
                  archive_entry_set_symlink(ae, e[i].data); break;
        case 'h': archive_entry_set_filetype(ae, AE_IFREG);
                  archive_entry_set_hardlink(ae, e[i].data); break;
        case 'c': archive_entry_set_filetype(ae, AE_IFCHR);
                  archive_entry_set_rdev(ae, makedev(1, 3)); break;
        default: archive_entry_set_filetype(ae, AE_IFREG);
                 archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].type == 'f')
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void file_digest(const char *path, char out[80])
{
    FILE *f = fopen(path, "r");
    char *buf = xmalloc(64 << 20);
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, 64 << 20, f);
    fclose(f);
    oci_sha256(buf, n, out);
    free(buf);
}

static long long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Copies path into the layout's blobs, returns its digest. */
static void blob_add(const char *lay, const char *path, char d[80])
{
    file_digest(path, d);
    assert_int_equal(run("mkdir -p %s/blobs/sha256 && cp %s %s/blobs/sha256/%s", lay, path, lay,
                         d + 7), 0);
}

static void json_blob_add(const char *lay, json_t *v, char d[80], long long *size)
{
    char p[PATH_MAX];

    snprintf(p, sizeof p, "%s/tmp.json", g_dir);
    assert_int_equal(json_dump_file(v, p, JSON_COMPACT), 0);
    *size = file_size(p);
    blob_add(lay, p, d);
    json_decref(v);
}

/* What a layout test may break. */
enum tweak { T_NONE, T_DIGEST, T_SIZE, T_DIFFID, T_MEDIATYPE, T_BIGCONFIG, T_CUT };

/* A layout at g_dir/<name> with one layer per entry list; comp: "" (tar), "gzip" or "zstd". */
static void layout_make(const char *name, const struct ent *const *layers, const size_t *counts,
                        size_t nl, const char *comp, enum tweak tw)
{
    char lay[PATH_MAX], tar[PATH_MAX + 16], d[80], diff[80];
    json_t *ls = json_array(), *ids = json_array(), *cfg, *man;
    long long size;

    snprintf(lay, sizeof lay, "%s/%s", g_dir, name);
    assert_int_equal(run("rm -rf %s && mkdir -p %s/blobs/sha256 && echo '{\"imageLayoutVersion\":"
                         "\"1.0.0\"}' > %s/oci-layout", lay, lay, lay), 0);
    for (size_t i = 0; i < nl; i++) {
        snprintf(tar, sizeof tar, "%s/l%zu.tar", g_dir, i);
        tar_write(tar, layers[i], counts[i]);
        if (tw == T_CUT)
            assert_int_equal(truncate(tar, file_size(tar) - 2000), 0);
        file_digest(tar, diff);
        if (*comp)
            assert_int_equal(run("%s -q -f %s && mv %s.%s %s", comp, tar, tar,
                                 !strcmp(comp, "gzip") ? "gz" : "zst", tar), 0);
        blob_add(lay, tar, d);
        if (tw == T_DIGEST)
            assert_int_equal(run("printf Z | dd of=%s/blobs/sha256/%s bs=1 seek=600 "
                                 "conv=notrunc status=none", lay, d + 7), 0);
        if (tw == T_DIFFID)
            diff[10] = diff[10] == 'a' ? 'b' : 'a';
        json_array_append_new(ids, json_string(diff));
        json_array_append_new(ls, json_pack("{s:s,s:s,s:I}", "mediaType",
                                            tw == T_MEDIATYPE ? "application/x-foo"
                                            : !*comp ? OCI_MT_LAYER
                                            : !strcmp(comp, "gzip") ? OCI_MT_LAYER "+gzip"
                                                                    : OCI_MT_LAYER "+zstd",
                                            "digest", d, "size",
                                            (json_int_t)file_size(tar) + (tw == T_SIZE)));
    }
    cfg = json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:o}}", "architecture", "amd64", "os", "linux",
                    "config", "Cmd", "/bin/sh", "rootfs", "type", "layers", "diff_ids", ids);
    if (tw == T_BIGCONFIG) {
        char *big = xmalloc(OCI_JSON_MAX + 2);

        memset(big, 'x', OCI_JSON_MAX + 1);
        big[OCI_JSON_MAX + 1] = 0;
        json_object_set_new(cfg, "comment", json_string(big));
        free(big);
    }
    json_blob_add(lay, cfg, d, &size);
    man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                    OCI_MT_MANIFEST, "config", "mediaType", OCI_MT_CONFIG, "digest", d, "size",
                    (json_int_t)size, "layers", ls);
    json_blob_add(lay, man, d, &size);
    man = json_pack("{s:i,s:[{s:s,s:s,s:I,s:{s:s}}]}", "schemaVersion", 2, "manifests",
                    "mediaType", OCI_MT_MANIFEST, "digest", d, "size", (json_int_t)size,
                    "annotations", OCI_REF_NAME, "test/img:1");
    snprintf(tar, sizeof tar, "%s/index.json", lay);
    assert_int_equal(json_dump_file(man, tar, JSON_COMPACT), 0);
    json_decref(man);
}

static void layout1(const char *name, const struct ent *e, size_t n, enum tweak tw)
{
    const struct ent *ls[1] = {e};
    size_t cs[1] = {n};

    layout_make(name, ls, cs, 1, "", tw);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/kroll-unit-oci.XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    unsetenv("KROLL_IMAGE_MAX_BYTES");
    return run("mkdir -p %s/data", g_dir);
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("KROLL_IMAGE_MAX_BYTES");
    return run("rm -rf %s", g_dir);
}

static int import(const char *name, const char *ref, struct err *err)
{
    char src[PATH_MAX + 8], data[PATH_MAX + 8];

    snprintf(src, sizeof src, "%s/%s", g_dir, name);
    snprintf(data, sizeof data, "%s/data", g_dir);
    return image_import(data, src, ref, err);
}

static void import_ok(const char *name, const char *ref)
{
    struct err err;

    err_init(&err);
    if (import(name, ref, &err) < 0)
        fail_msg("import %s: %s", name, err.msg);
    err_release(&err);
}

/* A listing of the store (names, modes, sizes, content hashes), to compare before/after. */
static char *store_sum(void)
{
    char cmd[2 * PATH_MAX], buf[128] = "";
    FILE *f;

    snprintf(cmd, sizeof cmd, "cd %s/data && { find . ! -name .lock -printf '%%p %%m %%s\\n'; "
             "find . -type f ! -name .lock -exec sha256sum {} +; } | sort | sha256sum", g_dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    pclose(f);
    return xstrdup(buf);
}

/* Imports name expecting a refusal whose message holds want, with the store unchanged. */
static void refused(const char *name, const char *want)
{
    char *before = store_sum(), *after;
    struct err err;

    err_init(&err);
    if (import(name, "test/bad:1", &err) == 0)
        fail_msg("%s was imported", name);
    if (!strstr(err.msg, want))
        fail_msg("%s: [%s] does not say [%s]", name, err.msg, want);
    err_release(&err);
    after = store_sum();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static const struct ent base[] = {
    {'d', "etc/", NULL, 0755},      {'f', "etc/a", "a\n", 0},
    {'f', "etc/b", "b\n", 0},       {'d', "opq/", NULL, 0755},
    {'f', "opq/old", "old\n", 0},   {'f', "bin/su", "setuid\n", 04755},
    {'l', "bin/sh", "/bin/busybox", 0777}, {'h', "bin/su2", "bin/su", 0},
};
static const struct ent upper[] = {
    {'f', "etc/.wh.a", "", 0},
    {'f', "opq/.wh..wh..opq", "", 0},
    {'f', "opq/new", "new\n", 0},
};

/* Whether path (under the layer dir of img's layer i) has the given type. */
static struct stat layer_stat(const struct image *img, size_t i, const char *rel)
{
    char p[PATH_MAX * 2];
    struct stat st;

    memset(&st, 0, sizeof st);
    snprintf(p, sizeof p, "%s/%s", img->layers[i], rel);
    lstat(p, &st);
    return st;
}

static void check_two_layers(const char *ref)
{
    char p[PATH_MAX * 2], v[8] = "";
    struct image img;
    struct err err;
    struct stat st;

    err_init(&err);
    assert_int_equal(image_load(g_dir, "x", &img, &err), -E_NOT_FOUND);
    snprintf(p, sizeof p, "%s/data", g_dir);
    if (image_load(p, ref, &img, &err) < 0)
        fail_msg("load %s: %s", ref, err.msg);
    assert_int_equal(img.nlayers, 2);
    assert_null(img.dir);
    st = layer_stat(&img, 0, "bin/su");
    assert_int_equal(st.st_mode & 07777, 04755); /* setuid kept */
    assert_int_equal(layer_stat(&img, 0, "bin/su2").st_ino, st.st_ino); /* hardlink kept */
    assert_true(S_ISLNK(layer_stat(&img, 0, "bin/sh").st_mode));
    st = layer_stat(&img, 1, "etc/a");
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)); /* whiteout */
    assert_false(S_ISREG(layer_stat(&img, 1, "opq/.wh..wh..opq").st_mode));
    snprintf(p, sizeof p, "%s/opq", img.layers[1]);
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
    assert_int_equal(v[0], 'y');
    image_release(&img);
    err_release(&err);
}

static void test_layout_tar(void **state)
{
    const struct ent *ls[2] = {base, upper};
    size_t cs[2] = {sizeof base / sizeof *base, sizeof upper / sizeof *upper};

    (void)state;
    layout_make("lay", ls, cs, 2, "", T_NONE);
    import_ok("lay", NULL); /* the name comes from the ref.name annotation */
    check_two_layers("test/img:1");
}

static void test_layout_gzip_zstd_shared(void **state)
{
    const struct ent *ls[2] = {base, upper};
    size_t cs[2] = {sizeof base / sizeof *base, sizeof upper / sizeof *upper};
    char p[PATH_MAX + 8];

    (void)state;
    layout_make("gz", ls, cs, 2, "gzip", T_NONE);
    import_ok("gz", "test/gz:1");
    check_two_layers("test/gz:1");
    layout_make("zs", ls, cs, 2, "zstd", T_NONE);
    import_ok("zs", "test/zs:1");
    check_two_layers("test/zs:1");
    /* Same uncompressed layers: one directory each, however they were compressed. */
    snprintf(p, sizeof p, "test $(ls -d %s/data/images/layers/*/ | wc -l) = 2", g_dir);
    assert_int_equal(run("%s", p), 0);
}

static void test_docker_save(void **state)
{
    char d[PATH_MAX + 16], cfg[80], diff[80];
    struct err err;
    struct image img;
    json_t *c, *m;
    long long size;

    (void)state;
    snprintf(d, sizeof d, "%s/ds", g_dir);
    assert_int_equal(run("mkdir -p %s/abc", d), 0);
    snprintf(d, sizeof d, "%s/ds/abc/layer.tar", g_dir);
    tar_write(d, base, sizeof base / sizeof *base);
    file_digest(d, diff);
    c = json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:[s]}}", "architecture", "amd64", "os", "linux",
                  "config", "Cmd", "/bin/sh", "rootfs", "type", "layers", "diff_ids", diff);
    snprintf(d, sizeof d, "%s/ds", g_dir);
    json_blob_add(d, c, cfg, &size);
    assert_int_equal(run("mv %s/blobs/sha256/%s %s/%s.json", d, cfg + 7, d, cfg + 7), 0);
    m = json_pack("[{s:[s,s],s:[s]}]", "RepoTags", "saved/app:1", "saved/app:latest", "Layers",
                  "abc/layer.tar");
    json_object_set_new(json_array_get(m, 0), "Config", json_sprintf("%s.json", cfg + 7));
    snprintf(d, sizeof d, "%s/ds/manifest.json", g_dir);
    assert_int_equal(json_dump_file(m, d, 0), 0);
    json_decref(m);
    import_ok("ds", NULL);
    err_init(&err);
    snprintf(d, sizeof d, "%s/data", g_dir);
    assert_int_equal(image_load(d, "saved/app", &img, &err), 0); /* both RepoTags set */
    assert_string_equal(img.id, cfg);
    assert_non_null(img.dir);
    assert_int_equal(layer_stat(&img, 0, "bin/su").st_mode & 07777, 04755);
    image_release(&img);
    assert_int_equal(image_load(d, "saved/app:1", &img, &err), 0);
    image_release(&img);
    err_release(&err);
}

static void test_refusals(void **state)
{
    static const struct ent dotdot[] = {{'f', "../evil", "x", 0}};
    static const struct ent abs[] = {{'f', "/etc/evil", "x", 0}};
    static const struct ent hl[] = {{'h', "x", "../../outside", 0}};
    static const struct ent sl[] = {{'l', "up", "/tmp", 0777}, {'f', "up/evil", "x", 0}};
    static const struct ent sl2[] = {{'l', "up", "..", 0777}, {'f', "up/evil", "x", 0}};
    static const struct ent dev[] = {{'c', "dev/null", NULL, 0666}};
    static struct ent cut[] = {{'f', "big", NULL, 0}};
    static char data[3001];
    static const struct ent big[] = {{'f', "a", "0123456789012345678901234567890123456789", 0},
                                     {'f', "b", "x", 0}};
    const struct ent *ls[2] = {base, upper};
    size_t cs[2] = {sizeof base / sizeof *base, sizeof upper / sizeof *upper};

    (void)state;
    memset(data, 'x', 3000);
    cut[0].data = data;
    layout_make("good", ls, cs, 2, "gzip", T_NONE);
    import_ok("good", "test/good:1"); /* the store is not empty while refusing */
    layout1("b1", base, 8, T_DIGEST);
    refused("b1", "digest mismatch");
    layout1("b2", base, 8, T_SIZE);
    refused("b2", "size mismatch");
    layout1("b3", base, 8, T_DIFFID);
    refused("b3", "diffID mismatch");
    layout1("b4", base, 8, T_MEDIATYPE);
    refused("b4", "unsupported mediaType");
    layout1("b5", base, 8, T_BIGCONFIG);
    refused("b5", "more than the 4194304 allowed");
    layout1("b6", cut, 1, T_CUT);
    refused("b6", "runcat"); /* libarchive: "Truncated tar archive" */
    layout1("b7", dotdot, 1, T_NONE);
    refused("b7", "\"..\" path refused");
    layout1("b8", abs, 1, T_NONE);
    refused("b8", "absolute");
    layout1("b9", hl, 1, T_NONE);
    refused("b9", "hard link");
    layout1("b10", sl, 2, T_NONE);
    refused("b10", "refused");
    assert_int_equal(access("/tmp/evil", F_OK), -1);
    layout1("b11", sl2, 2, T_NONE);
    refused("b11", "refused");
    layout1("b12", dev, 1, T_NONE);
    refused("b12", "device nodes");
    layout1("b13", big, 2, T_NONE);
    setenv("KROLL_IMAGE_MAX_BYTES", "3000", 1);
    refused("b13", "KROLL_IMAGE_MAX_BYTES");
    unsetenv("KROLL_IMAGE_MAX_BYTES");
    import_ok("b13", "test/b13:1"); /* the same image fits the default cap */
}

/* A multi-platform image: index -> nested index -> one manifest per platform. The one for this
 * machine (amd64 here) is imported; the arm64 one, whose blobs are absent, is never read. */
static void test_platform_index(void **state)
{
    char p[PATH_MAX + 32], d[80], data[PATH_MAX + 8];
    json_t *top, *desc, *nested;
    long long size;
    struct image img;
    struct err err;

    (void)state;
    layout1("multi", base, 8, T_NONE);
    snprintf(p, sizeof p, "%s/multi/index.json", g_dir);
    top = json_load_file(p, 0, NULL);
    assert_non_null(top);
    desc = json_deep_copy(json_array_get(json_object_get(top, "manifests"), 0));
    json_object_del(desc, "annotations");
    json_object_set_new(desc, "platform", json_pack("{s:s,s:s}", "os", "linux",
                                                    "architecture", "amd64"));
    nested = json_pack("{s:i,s:s,s:[{s:s,s:s,s:i,s:{s:s,s:s}},o]}", "schemaVersion", 2,
                       "mediaType", OCI_MT_INDEX, "manifests", "mediaType", OCI_MT_MANIFEST,
                       "digest", "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                       "size", 100, "platform", "os", "linux", "architecture", "arm64", desc);
    snprintf(p, sizeof p, "%s/multi", g_dir);
    json_blob_add(p, nested, d, &size);
    json_decref(top);
    top = json_pack("{s:i,s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "manifests", "mediaType",
                    OCI_MT_INDEX, "digest", d, "size", (json_int_t)size);
    snprintf(p, sizeof p, "%s/multi/index.json", g_dir);
    assert_int_equal(json_dump_file(top, p, 0), 0);
    json_decref(top);
    import_ok("multi", "test/multi:1");
    err_init(&err);
    snprintf(data, sizeof data, "%s/data", g_dir);
    assert_int_equal(image_load(data, "test/multi:1", &img, &err), 0);
    assert_int_equal(img.nlayers, 1);
    image_release(&img);
    err_release(&err);
}

/* A truncated oci-archive (the outer tar) is refused too, store unchanged. */
static void test_archive_truncated(void **state)
{
    const struct ent *ls[1] = {base};
    size_t cs[1] = {8};
    char a[PATH_MAX + 16];

    (void)state;
    layout_make("arch", ls, cs, 1, "", T_NONE);
    import_ok("arch", "test/first:1");
    assert_int_equal(run("cd %s/arch && tar -b 1 -cf ../a.tar oci-layout index.json blobs && cp "
                         "../a.tar ../cut.tar && truncate -s -2000 ../cut.tar", g_dir), 0);
    snprintf(a, sizeof a, "cut.tar");
    refused(a, "runcat");
    import_ok("a.tar", "test/arch:1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_tar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_gzip_zstd_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_index, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
