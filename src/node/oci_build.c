/* `kroll image build`: a directory with image.json becomes a real single-layer OCI image (one
 * deterministic tar layer of the directory, a config from image.json with architecture, os,
 * rootfs and history filled in, a manifest and an index), imported into the store or written
 * as an OCI layout directory or oci-archive that skopeo, umoci and podman accept. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "node/image.h"
#include "node/oci-int.h"

/* The image.json fields an OCI config's "config" object carries (today's image directories). */
static const char *const config_keys[] = {"Entrypoint", "Cmd",    "Env",        "WorkingDir",
                                          "User",       "Labels", "StopSignal", "ExposedPorts",
                                          "Volumes",    NULL};

/* SOURCE_DATE_EPOCH (reproducible builds) or now. */
static long long build_time(void)
{
    const char *v = getenv("SOURCE_DATE_EPOCH");

    return v && *v ? strtoll(v, NULL, 10) : (long long)time(NULL);
}

static char *rfc3339(long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[40];

    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup(buf);
}

/* Writes buf as a blob of the layout out; digest in got. */
static int blob_write(const char *out, const char *buf, size_t n, char got[80], struct err *err)
{
    char *p;
    FILE *f;
    int rc = 0;

    oci_sha256(buf, n, got);
    p = xasprintf("%s/blobs/sha256/%s", out, got + 7);
    if (!(f = fopen(p, "we")) || fwrite(buf, 1, n, f) != n)
        rc = err_set(err, -E_INTERNAL, "%s: %s", p, strerror(errno));
    if (f && fclose(f) && rc == 0)
        rc = err_set(err, -E_INTERNAL, "%s: %s", p, strerror(errno));
    free(p);
    return rc;
}

static int json_blob(const char *out, json_t *v, char got[80], size_t *size, struct err *err)
{
    char *txt = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    int rc;

    *size = strlen(txt);
    rc = blob_write(out, txt, *size, got, err);
    free(txt);
    json_decref(v);
    return rc;
}

/* Hashes the tar at tmp and renames it to its digest; its size in *size. */
static int layer_seal(const char *out, const char *tmp, char got[80], long long *size,
                      struct err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32], buf[65536];
    int fd = open(tmp, O_RDONLY | O_CLOEXEC), rc = 0;
    ssize_t n;
    char *dst;

    *size = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) {
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        *size += n;
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    if (fd < 0)
        return err_set(err, -E_INTERNAL, "%s: %s", tmp, strerror(errno));
    close(fd);
    strcpy(got, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(got + 7 + 2 * i, "%02x", md[i]);
    dst = xasprintf("%s/blobs/sha256/%s", out, got + 7);
    if (rename(tmp, dst) < 0)
        rc = err_set(err, -E_INTERNAL, "%s: %s", dst, strerror(errno));
    free(dst);
    return rc;
}

static json_t *config_make(const json_t *img, const char *diffid, long long t)
{
    struct utsname u;
    json_t *c = json_object();
    char *created = rfc3339(t);

    for (const char *const *k = config_keys; *k; k++)
        if (json_object_get(img, *k) && !json_is_null(json_object_get(img, *k)))
            json_object_set(c, *k, json_object_get(img, *k));
    uname(&u);
    json_t *cfg = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:[s]},s:[{s:s,s:s}]}", "created", created,
                            "architecture", !strcmp(u.machine, "x86_64") ? "amd64"
                                            : !strcmp(u.machine, "aarch64") ? "arm64"
                                                                            : u.machine,
                            "os", "linux", "config", c, "rootfs", "type", "layers", "diff_ids",
                            diffid, "history", "created", created, "created_by",
                            "kroll image build");
    free(created);
    return cfg;
}

static json_t *image_json_read(const char *src, struct err *err)
{
    char *p = xasprintf("%s/image.json", src);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    json_t *v = NULL;

    if (fd < 0)
        err_set(err, -E_INVALID, "%s has no image.json (an OCI image config with "
                "Entrypoint/Cmd/Env/WorkingDir)", src);
    else if ((v = oci_json_fd(fd, p, NULL, err)) && image_config_check(v, err) < 0) {
        json_decref(v);
        v = NULL;
    }
    free(p);
    return v;
}

int oci_build_layout(const char *src, const char *out, const char *ref, struct err *err)
{
    json_t *img = image_json_read(src, err), *man, *index;
    char *tmp = xasprintf("%s/blobs/sha256/.layer.tar", out), *p;
    char layer[80], config[80], manifest[80];
    long long t = build_time(), lsize;
    size_t csize, msize;
    int rc;

    if (!img) {
        free(tmp);
        return err->code;
    }
    p = xasprintf("%s/blobs/sha256", out);
    rc = oci_mkdir_p(p) < 0 ? err_set(err, -E_INTERNAL, "%s: %s", p, strerror(errno)) : 0;
    free(p);
    if (rc == 0 && (rc = layer_write_tar(src, tmp, getenv("SOURCE_DATE_EPOCH") ? t : -1, err)) == 0)
        rc = layer_seal(out, tmp, layer, &lsize, err);
    if (rc == 0)
        rc = json_blob(out, config_make(img, layer, t), config, &csize, err);
    if (rc == 0) {
        man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2,
                        "mediaType", OCI_MT_MANIFEST, "config", "mediaType", OCI_MT_CONFIG,
                        "digest", config, "size", (json_int_t)csize, "layers", "mediaType",
                        OCI_MT_LAYER, "digest", layer, "size", (json_int_t)lsize);
        rc = json_blob(out, man, manifest, &msize, err);
    }
    if (rc == 0) {
        json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", OCI_MT_MANIFEST, "digest", manifest,
                              "size", (json_int_t)msize);

        if (ref)
            json_object_set_new(d, "annotations", json_pack("{s:s}", OCI_REF_NAME, ref));
        index = json_pack("{s:i,s:[o]}", "schemaVersion", 2, "manifests", d);
        p = xasprintf("%s/index.json", out);
        if (json_dump_file(index, p, JSON_COMPACT) < 0)
            rc = err_set(err, -E_INTERNAL, "%s: cannot write", p);
        free(p);
        json_decref(index);
        p = xasprintf("%s/oci-layout", out);
        index = json_pack("{s:s}", "imageLayoutVersion", "1.0.0");
        if (rc == 0 && json_dump_file(index, p, JSON_COMPACT) < 0)
            rc = err_set(err, -E_INTERNAL, "%s: cannot write", p);
        free(p);
        json_decref(index);
    }
    unlink(tmp);
    free(tmp);
    json_decref(img);
    return rc;
}

/* --output oci:DIR (a new layout directory) or oci-archive:FILE (written beside, renamed). */
static int build_output(const char *src, const char *ref, const char *output, struct err *err)
{
    char *dir, *tmp = NULL;
    int rc;

    if (!strncmp(output, "oci:", 4) && output[4]) {
        if (mkdir(output + 4, 0755) < 0)
            return err_set(err, -E_INVALID, "%s: %s (the layout directory must be new)",
                           output + 4, strerror(errno));
        if ((rc = oci_build_layout(src, output + 4, ref, err)) < 0)
            oci_rm_tree(output + 4);
        return rc;
    }
    if (strncmp(output, "oci-archive:", 12) || !output[12])
        return err_set(err, -E_INVALID, "--output %s: want oci-archive:FILE or oci:DIR", output);
    dir = xasprintf("%s.build-XXXXXX", output + 12);
    if (!mkdtemp(dir)) {
        rc = err_set(err, -E_INVALID, "%s: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    tmp = xasprintf("%s.tmp", dir); /* beside the layout, not in it: the tar walks it */
    if ((rc = oci_build_layout(src, dir, ref, err)) == 0 &&
        (rc = layer_write_tar(dir, tmp, 0, err)) == 0 && rename(tmp, output + 12) < 0)
        rc = err_set(err, -E_INTERNAL, "%s: %s", output + 12, strerror(errno));
    oci_rm_tree(dir);
    free(dir);
    free(tmp);
    return rc;
}

int image_build(const char *data_dir, const char *src, const char *ref, const char *output,
                struct err *err)
{
    struct image_ref r;
    struct stat st;
    int rc;

    if (ref && (rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    if (stat(src, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(err, -E_INVALID, "%s: not a directory", src);
    if (output)
        return build_output(src, ref, output, err);
    if (!ref)
        return err_set(err, -E_INVALID, "image build needs -t NAME:TAG (or --output)");
    return image_import(data_dir, src, ref, err);
}
