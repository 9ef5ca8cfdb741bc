/* Reading what real tools write into the store's stage: an OCI image layout (oci-layout,
 * index.json, blobs/; as a directory or an oci-archive tar) and the `docker save` archive
 * (manifest.json with Config/RepoTags/Layers). Every file of the source is opened with
 * openat2(RESOLVE_BENEATH), so no name or symlink in it reaches outside; every blob is copied
 * with its digest and size checked; every layer is unpacked once per diffID. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/log.h"
#include "node/image.h"
#include "node/oci-int.h"

static int open_beneath(int rootfd, const char *rel, int flags)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};

    return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
}

static json_t *json_beneath(int rootfd, const char *rel, struct err *err)
{
    int fd = open_beneath(rootfd, rel, O_RDONLY);

    if (fd < 0) {
        err_set(err, -E_INVALID, "%s: %s", rel,
                errno == EXDEV ? "leads outside the image" : strerror(errno));
        return NULL;
    }
    return oci_json_fd(fd, rel, NULL, err);
}

/* Stages the blob a descriptor names (from blobs/<alg>/<hex> of the layout), checking its
 * digest and size; one the store already has is checked but not copied. */
static int blob_stage(struct oci_store *s, int rootfd, const json_t *desc, struct err *err)
{
    const char *d = json_string_value(json_object_get(desc, "digest"));
    json_t *sz = json_object_get(desc, "size");
    char *rel, got[80];
    int fd, rc;

    if (!oci_digest_ok(d))
        return err_set(err, -E_INVALID, "descriptor digest \"%s\" is not sha256:<64 hex> (the "
                       "only algorithm supported)", d ? d : "");
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return err_set(err, -E_INVALID, "descriptor %s has no valid size", d);
    rel = xasprintf("blobs/sha256/%s", d + 7);
    fd = open_beneath(rootfd, rel, O_RDONLY);
    if (fd < 0) {
        rc = err_set(err, -E_INVALID, "blob %s is missing from the image (%s: %s)", d, rel,
                     strerror(errno));
    } else {
        rc = oci_blob_put_fd(s, fd, d, json_integer_value(sz), got, err);
        close(fd);
    }
    free(rel);
    return rc;
}

static json_t *desc_json(struct oci_store *s, int rootfd, const json_t *desc, struct err *err)
{
    json_t *sz = json_object_get(desc, "size");

    if (json_is_integer(sz) && json_integer_value(sz) > OCI_JSON_MAX) {
        err_set(err, -E_TOO_LARGE, "%s: %lld bytes, more than the %d allowed for a JSON "
                "document", json_string_value(json_object_get(desc, "digest")),
                (long long)json_integer_value(sz), OCI_JSON_MAX);
        return NULL;
    }
    if (blob_stage(s, rootfd, desc, err) < 0)
        return NULL;
    return oci_blob_json(s, json_string_value(json_object_get(desc, "digest")), err);
}

static const char *machine_arch(void)
{
    static struct utsname u;

    uname(&u);
    if (!strcmp(u.machine, "x86_64"))
        return "amd64";
    if (!strcmp(u.machine, "aarch64"))
        return "arm64";
    return u.machine;
}

static int platform_ok(const json_t *desc)
{
    const json_t *p = json_object_get(desc, "platform");
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));

    return p && os && arch && !strcmp(os, "linux") && !strcmp(arch, machine_arch());
}

/* Whether desc's ref.name annotation is want (a reference) or want's tag. */
static int ref_name_is(const json_t *desc, const char *want)
{
    const char *rn = json_string_value(
        json_object_get(json_object_get(desc, "annotations"), OCI_REF_NAME));
    struct image_ref r;
    struct err e;
    int ok;

    if (!rn || !want)
        return 0;
    err_init(&e);
    ok = !strcmp(rn, want) || (image_ref_parse(want, &r, &e) == 0 && !strcmp(rn, r.tag));
    err_release(&e);
    return ok;
}

/* The manifest an index leads to: the one whose ref.name is the wanted name or tag, else the
 * first for linux/<this machine>, else the only one. Nested indexes are followed up to
 * OCI_INDEX_DEPTH. Returns a borrowed descriptor. */
static const json_t *index_pick(struct oci_store *s, int rootfd, const json_t *index,
                                const char *want, int depth, json_t **keep, struct err *err)
{
    const json_t *ms = json_object_get(index, "manifests"), *m, *pick = NULL;
    const char *mt;
    size_t i;

    if (!json_is_array(ms) || !json_array_size(ms)) {
        err_set(err, -E_INVALID, "image index lists no manifests");
        return NULL;
    }
    json_array_foreach(ms, i, m) if (!pick && ref_name_is(m, want) &&
                                     (!json_object_get(m, "platform") || platform_ok(m)))
        pick = m;
    json_array_foreach(ms, i, m) if (!pick && platform_ok(m)) pick = m;
    if (!pick && json_array_size(ms) == 1)
        pick = json_array_get(ms, 0);
    if (!pick) {
        err_set(err, -E_INVALID, "image index has %zu manifests, none for linux/%s and none "
                "named %s (name the one to import with NAME:TAG matching its %s)",
                json_array_size(ms), machine_arch(), want ? want : "(no name given)",
                OCI_REF_NAME);
        return NULL;
    }
    mt = json_string_value(json_object_get(pick, "mediaType"));
    if (!mt || (strcmp(mt, OCI_MT_INDEX) &&
                strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json")))
        return pick;
    if (depth >= OCI_INDEX_DEPTH) {
        err_set(err, -E_INVALID, "image indexes nest deeper than %d levels", OCI_INDEX_DEPTH);
        return NULL;
    }
    json_decref(*keep);
    if (!(*keep = desc_json(s, rootfd, pick, err)))
        return NULL;
    return index_pick(s, rootfd, *keep, NULL, depth + 1, keep, err);
}

static int mt_one_of(const char *mt, const char *const *ok)
{
    for (; *ok; ok++)
        if (mt && !strcmp(mt, *ok))
            return 1;
    return 0;
}

static const char *const layer_types[] = {
    OCI_MT_LAYER,
    OCI_MT_LAYER "+gzip",
    OCI_MT_LAYER "+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    NULL,
};
static const char *const manifest_types[] = {
    OCI_MT_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json", NULL};
static const char *const config_types[] = {
    OCI_MT_CONFIG, "application/vnd.docker.container.image.v1+json", NULL};

/* Checks an image config: an object with rootfs.diff_ids of n sha256 digests and a valid
 * "config" part. */
static int config_check(const json_t *cfg, size_t n, struct err *err)
{
    const json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), *v;
    const json_t *c = json_object_get(cfg, "config");
    size_t i;

    if (!json_is_object(cfg) || !json_is_array(ids))
        return err_set(err, -E_INVALID, "image config has no rootfs.diff_ids");
    if (json_array_size(ids) != n)
        return err_set(err, -E_INVALID, "image config lists %zu diff_ids for %zu layers",
                       json_array_size(ids), n);
    json_array_foreach(ids, i, v) if (!oci_digest_ok(json_string_value(v)))
        return err_set(err, -E_INVALID, "image config: diff_ids[%zu] is not a sha256 digest", i);
    if (c && !json_is_null(c))
        return image_config_check(c, err);
    return 0;
}

/* Stages (verifying) a layer blob the store lacks, and unpacks it unless the store already
 * has its diffID unpacked: the blob is checked even then, so a corrupt archive is refused
 * whatever the store holds. */
static int layer_stage(struct oci_store *s, int rootfd, const json_t *desc, const char *diffid,
                       struct err *err)
{
    char *dir = oci_layer_path(s->root, diffid), *sdir = oci_layer_path(s->stage, diffid), *blob;
    const char *d = json_string_value(json_object_get(desc, "digest"));
    long long size;
    int rc = blob_stage(s, rootfd, desc, err);

    if (rc == 0 && access(dir, F_OK) < 0 && access(sdir, F_OK) < 0) {
        blob = oci_blob_find(s, d);
        rc = layer_unpack(s, blob, diffid, &size, err);
        free(blob);
    }
    free(dir);
    free(sdir);
    return rc;
}

/* Imports the manifest desc names: manifest, config, layers. */
static int manifest_import(struct oci_store *s, int rootfd, const json_t *desc, char manifest[80],
                           char config[80], struct err *err)
{
    json_t *man = NULL, *cfg = NULL, *layers, *l;
    const json_t *cd;
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    size_t i;
    int rc = -E_INVALID;

    if (mt && !mt_one_of(mt, manifest_types))
        return err_set(err, -E_INVALID, "unsupported manifest mediaType \"%s\"", mt);
    if (!(man = desc_json(s, rootfd, desc, err)))
        return err->code;
    mt = json_string_value(json_object_get(man, "mediaType"));
    layers = json_object_get(man, "layers");
    cd = json_object_get(man, "config");
    if (mt && !mt_one_of(mt, manifest_types)) {
        err_set(err, -E_INVALID, "unsupported manifest mediaType \"%s\"", mt);
    } else if (!json_is_array(layers) || json_array_size(layers) > OCI_LAYERS_MAX) {
        err_set(err, -E_INVALID, "manifest has no layers array or more than %d layers",
                OCI_LAYERS_MAX);
    } else if (!mt_one_of(json_string_value(json_object_get(cd, "mediaType")), config_types)) {
        err_set(err, -E_INVALID, "unsupported config mediaType \"%s\"",
                json_string_value(json_object_get(cd, "mediaType")) ?: "(none)");
    } else if ((cfg = desc_json(s, rootfd, cd, err)) &&
               config_check(cfg, json_array_size(layers), err) == 0) {
        rc = 0;
    }
    json_array_foreach(layers, i, l) {
        const char *lt = json_string_value(json_object_get(l, "mediaType"));

        if (rc < 0)
            break;
        if (!mt_one_of(lt, layer_types))
            rc = err_set(err, -E_INVALID, "layer %zu: unsupported mediaType \"%s\"", i,
                         lt ? lt : "(none)");
        else
            rc = layer_stage(s, rootfd, l, json_string_value(json_array_get(
                             json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i)),
                             err);
    }
    if (rc == 0) {
        snprintf(manifest, 80, "%s", json_string_value(json_object_get(desc, "digest")));
        snprintf(config, 80, "%s", json_string_value(json_object_get(cd, "digest")));
    }
    json_decref(man);
    json_decref(cfg);
    return rc;
}

/* An annotation is a name only when it is a whole reference (skopeo's oci: tags are bare). */
static void names_add(json_t *names, const char *ref)
{
    struct image_ref r;
    struct err e;

    err_init(&e);
    if (ref && (strchr(ref, ':') || strchr(ref, '/')) && image_ref_parse(ref, &r, &e) == 0 &&
        !r.digest[0])
        json_array_append_new(names, json_string(ref));
    err_release(&e);
}

static int layout_import(struct oci_store *s, int rootfd, const char *want, char manifest[80],
                         char config[80], json_t *names, struct err *err)
{
    json_t *index = json_beneath(rootfd, "index.json", err), *keep = NULL;
    const json_t *desc;
    int rc;

    if (!index)
        return err->code;
    desc = index_pick(s, rootfd, index, want, 1, &keep, err);
    rc = desc ? manifest_import(s, rootfd, desc, manifest, config, err) : err->code;
    if (rc == 0) {
        /* The name is on the top-level descriptor that led here (desc may be nested). */
        const json_t *top = json_array_size(json_object_get(index, "manifests")) == 1
                                ? json_array_get(json_object_get(index, "manifests"), 0)
                                : desc;

        names_add(names, json_string_value(json_object_get(json_object_get(top, "annotations"),
                                                           OCI_REF_NAME)));
    }
    json_decref(keep);
    json_decref(index);
    return rc;
}

/* ---- docker save ---- */

/* Stages the file rel of the archive as a blob; got is its digest. */
static int file_stage(struct oci_store *s, int rootfd, const char *rel, long long max,
                      char got[80], long long *size, struct err *err)
{
    int fd = rel ? open_beneath(rootfd, rel, O_RDONLY) : -1, rc;
    struct stat st;

    if (fd < 0)
        return err_set(err, -E_INVALID, "%s: %s", rel ? rel : "(no path)",
                       errno == EXDEV ? "leads outside the archive" : strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        rc = err_set(err, -E_INVALID, "%s: not a regular file", rel);
    else if (max >= 0 && st.st_size > max)
        rc = err_set(err, -E_TOO_LARGE, "%s: %lld bytes, more than the %lld allowed", rel,
                     (long long)st.st_size, max);
    else
        rc = oci_blob_put_fd(s, fd, NULL, st.st_size, got, err);
    *size = st.st_size;
    close(fd);
    return rc;
}

static const char *layer_type_of(const struct oci_store *s, const char *digest)
{
    char *p = oci_blob_find(s, digest);
    unsigned char m[4] = {0};
    FILE *f = p ? fopen(p, "re") : NULL;

    if (f) {
        if (fread(m, 1, 4, f) != 4)
            memset(m, 0, 4);
        fclose(f);
    }
    free(p);
    if (m[0] == 0x1f && m[1] == 0x8b)
        return OCI_MT_LAYER "+gzip";
    if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return OCI_MT_LAYER "+zstd";
    return OCI_MT_LAYER;
}

/* Stages the layers of a docker-save entry and appends their descriptors to layers. */
static int docker_layers(struct oci_store *s, int rootfd, const json_t *paths, const json_t *ids,
                         json_t *layers, struct err *err)
{
    const json_t *p;
    size_t i;
    int rc = 0;

    json_array_foreach(paths, i, p) {
        char got[80], *blob;
        const char *diffid = json_string_value(json_array_get(ids, i));
        long long size, usize;
        json_t *desc;

        if ((rc = file_stage(s, rootfd, json_string_value(p), -1, got, &size, err)) < 0)
            break;
        desc = json_pack("{s:s,s:s,s:I}", "mediaType", layer_type_of(s, got), "digest", got,
                         "size", (json_int_t)size);
        json_array_append_new(layers, desc);
        blob = oci_layer_path(s->root, diffid);
        if (access(blob, F_OK) < 0) {
            free(blob);
            blob = oci_layer_path(s->stage, diffid);
            if (access(blob, F_OK) < 0) {
                free(blob);
                blob = oci_blob_find(s, got);
                rc = layer_unpack(s, blob, diffid, &usize, err);
            }
        }
        free(blob);
        if (rc < 0)
            break;
    }
    return rc;
}

static int docker_import(struct oci_store *s, int rootfd, char manifest[80], char config[80],
                         json_t *names, struct err *err)
{
    json_t *list = json_beneath(rootfd, "manifest.json", err), *ent, *cfg = NULL, *man;
    json_t *paths, *tags, *t, *layers;
    long long csize;
    char *txt;
    size_t i;
    int rc;

    if (!list)
        return err->code;
    layers = json_array();
    ent = json_array_get(list, 0);
    paths = json_object_get(ent, "Layers");
    if (!json_is_array(list) || !json_is_object(ent) || !json_is_array(paths) ||
        json_array_size(paths) > OCI_LAYERS_MAX) {
        rc = err_set(err, -E_INVALID, "manifest.json: want [{\"Config\", \"RepoTags\", "
                     "\"Layers\"}] with at most %d layers", OCI_LAYERS_MAX);
        goto out;
    }
    if ((rc = file_stage(s, rootfd, json_string_value(json_object_get(ent, "Config")),
                         OCI_JSON_MAX, config, &csize, err)) < 0 ||
        !(cfg = oci_blob_json(s, config, err)) ||
        (rc = config_check(cfg, json_array_size(paths), err)) < 0 ||
        (rc = docker_layers(s, rootfd, paths, json_object_get(json_object_get(cfg, "rootfs"),
                                                              "diff_ids"), layers, err)) < 0)
        goto out;
    /* docker save carries no manifest: the store keeps the OCI manifest it would have. */
    man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
                    OCI_MT_MANIFEST, "config", "mediaType", OCI_MT_CONFIG, "digest", config,
                    "size", (json_int_t)csize, "layers", layers);
    txt = json_dumps(man, JSON_COMPACT);
    rc = oci_blob_put_mem(s, txt, strlen(txt), manifest, err);
    free(txt);
    json_decref(man);
    tags = json_object_get(ent, "RepoTags");
    json_array_foreach(tags, i, t) names_add(names, json_string_value(t));
out:
    rc = rc < 0 ? rc : (cfg ? 0 : err->code);
    json_decref(layers);
    json_decref(cfg);
    json_decref(list);
    return rc;
}

int oci_import_dir(struct oci_store *s, int rootfd, const char *want, char manifest[80],
                   char config[80], json_t **names, struct err *err)
{
    int fd;

    *names = json_array();
    if ((fd = open_beneath(rootfd, "index.json", O_RDONLY)) >= 0) {
        close(fd);
        return layout_import(s, rootfd, want, manifest, config, *names, err);
    }
    if ((fd = open_beneath(rootfd, "manifest.json", O_RDONLY)) >= 0) {
        close(fd);
        return docker_import(s, rootfd, manifest, config, *names, err);
    }
    return err_set(err, -E_INVALID, "not an image: no index.json (OCI layout), manifest.json "
                   "(docker save) or image.json (kroll image directory)");
}

/* ---- archives ---- */

/* Creates the directories of rel under rootfd, never following a symlink; returns an fd of
 * rel's parent and points *last at its final component. */
static int parent_open(int rootfd, char *rel, char **last, struct err *err)
{
    int fd = dup(rootfd);
    char *c = rel, *e;

    while (fd >= 0 && (e = strchr(c, '/'))) {
        int nfd;

        *e = 0;
        if (*c && strcmp(c, ".")) {
            mkdirat(fd, c, 0700);
            nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            close(fd);
            fd = nfd;
        }
        *e = '/';
        c = e + 1;
    }
    if (fd < 0)
        err_set(err, -E_INVALID, "archive member %s: a symlink or file is in its path", rel);
    *last = c;
    return fd;
}

static int member_write(struct archive *a, struct archive_entry *e, int rootfd, char *rel,
                        struct oci_store *s, struct err *err)
{
    char *last;
    int dfd = parent_open(rootfd, rel, &last, err), fd, rc = 0;
    mode_t type = archive_entry_filetype(e);
    const void *buf;
    size_t n;
    la_int64_t off;

    if (dfd < 0)
        return -E_INVALID;
    if (!*last || !strcmp(last, ".")) {
        close(dfd);
        return 0;
    }
    unlinkat(dfd, last, 0);
    if (type == AE_IFDIR) {
        if (mkdirat(dfd, last, 0700) < 0 && errno != EEXIST)
            rc = err_set(err, -E_INTERNAL, "%s: %s", rel, strerror(errno));
    } else if (type == AE_IFLNK) {
        if (symlinkat(archive_entry_symlink(e), dfd, last) < 0)
            rc = err_set(err, -E_INTERNAL, "%s: %s", rel, strerror(errno));
    } else if (type == AE_IFREG) {
        fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            rc = err_set(err, -E_INTERNAL, "%s: %s", rel, strerror(errno));
        while (rc == 0 && (rc = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
            if ((rc = oci_budget_take(s, (long long)n, err)) < 0)
                break;
            if (pwrite(fd, buf, n, off) != (ssize_t)n)
                rc = err_set(err, -E_INTERNAL, "%s: %s", rel, strerror(errno));
        }
        if (rc == ARCHIVE_EOF)
            rc = 0;
        else if (rc > ARCHIVE_EOF || (rc < 0 && !err->code))
            rc = err_set(err, -E_INVALID, "archive member %s: %s", rel, archive_error_string(a));
        if (fd >= 0)
            close(fd);
    } /* other member types are not part of an image layout: skipped */
    close(dfd);
    return rc;
}

/* Unpacks an oci-archive or docker-save tar (maybe gzip-compressed) into the empty dir. */
static int archive_unpack(struct oci_store *s, const char *file, const char *dir,
                          struct err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0, ar;
    long n = 0;

    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    if (rootfd < 0 || archive_read_open_filename(a, file, 65536) != ARCHIVE_OK)
        rc = err_set(err, -E_INVALID, "%s: %s", file,
                     rootfd < 0 ? strerror(errno) : archive_error_string(a));
    while (rc == 0 && ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN)) {
        char *rel = xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");

        if (rel[0] == '/' || strstr(rel, "..") || ++n > OCI_LAYER_ENTRIES_MAX)
            rc = err_set(err, -E_INVALID, "%s: member \"%s\" refused (absolute, \"..\" or too "
                         "many members)", file, rel);
        else
            rc = member_write(a, e, rootfd, rel, s, err);
        free(rel);
    }
    if (rc == 0 && ar != ARCHIVE_EOF)
        rc = err_set(err, -E_INVALID, "%s: %s", file, archive_error_string(a));
    if (rootfd >= 0)
        close(rootfd);
    archive_read_free(a);
    return rc;
}

/* ---- import ---- */

/* The directory to import from: src itself (a layout or an unpacked docker save), the layout
 * built from an image.json directory, or an archive unpacked into the stage. */
static int src_root(struct oci_store *s, const char *src, const char *ref, int *rootfd,
                    struct err *err)
{
    struct stat st;
    char *dir = NULL;
    int fd, rc = 0;

    if (stat(src, &st) < 0)
        return err_set(err, -E_INVALID, "%s: %s", src, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if ((fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            return err_set(err, -E_INVALID, "%s: %s", src, strerror(errno));
        if (faccessat(fd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
            faccessat(fd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            *rootfd = fd;
            return 0;
        }
        rc = faccessat(fd, "image.json", F_OK, AT_SYMLINK_NOFOLLOW);
        close(fd);
        if (rc < 0)
            return err_set(err, -E_INVALID, "%s has no image.json (an OCI image config with "
                           "Entrypoint/Cmd/Env/WorkingDir), index.json (OCI layout) or "
                           "manifest.json (docker save)", src);
        dir = xasprintf("%s/build", s->stage);
        rc = mkdir(dir, 0700) < 0 ? err_set(err, -E_INTERNAL, "%s: %s", dir, strerror(errno))
                                  : oci_build_layout(src, dir, ref, err);
    } else if (S_ISREG(st.st_mode)) {
        dir = xasprintf("%s/in", s->stage);
        rc = mkdir(dir, 0700) < 0 ? err_set(err, -E_INTERNAL, "%s: %s", dir, strerror(errno))
                                  : archive_unpack(s, src, dir, err);
    } else {
        return err_set(err, -E_INVALID, "%s: neither a directory nor an archive file", src);
    }
    if (rc == 0 && (*rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = err_set(err, -E_INTERNAL, "%s: %s", dir, strerror(errno));
    free(dir);
    return rc;
}

/* Sum of the uncompressed sizes of the image's layers (their notes in the store). */
static long long image_size(const char *root, const json_t *cfg)
{
    const json_t *v;
    long long total = 0;
    size_t i;

    json_array_foreach(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i, v) {
        char *p = xasprintf("%s/layers/%s.json", root, json_string_value(v) + 7);
        json_t *note = json_load_file(p, 0, NULL);

        total += json_integer_value(json_object_get(note, "size"));
        json_decref(note);
        free(p);
    }
    return total;
}

/* Points each of refs at the imported image in tags.json, then lets GC take what the tags
 * moved away from. */
static int tags_set(struct oci_store *s, const json_t *refs, const char *manifest,
                    const char *config, struct err *err)
{
    json_t *tags = oci_tags_read(s->root, err), *cfg = oci_blob_json(s, config, err), *ref, *t;
    long long size = image_size(s->root, cfg);
    long long created = oci_time_parse(json_string_value(json_object_get(cfg, "created")));
    size_t i, j;
    int rc = 0;

    if (!tags || !cfg) {
        rc = err->code;
        goto out;
    }
    json_array_foreach(refs, i, ref) {
        struct image_ref r;
        json_t *list = json_object_get(tags, "tags");

        if ((rc = image_ref_parse(json_string_value(ref), &r, err)) < 0)
            goto out;
        for (j = 0; j < json_array_size(list); j++) {
            t = json_array_get(list, j);
            if (!strcmp(json_string_value(json_object_get(t, "repository")), r.repo) &&
                !strcmp(json_string_value(json_object_get(t, "tag")), r.tag))
                json_array_remove(list, j--);
        }
        if (json_array_size(list) >= OCI_TAGS_MAX) {
            rc = err_set(err, -E_TOO_LARGE, "the store holds %d tags, the most allowed",
                         OCI_TAGS_MAX);
            goto out;
        }
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "repository", r.repo,
                                              "tag", r.tag, "manifest", manifest, "config",
                                              config, "size", (json_int_t)size, "created",
                                              (json_int_t)created));
    }
    if ((rc = oci_tags_write(s->root, tags, err)) == 0)
        oci_store_gc(s, tags);
out:
    json_decref(tags);
    json_decref(cfg);
    return rc;
}

/* The tags to set: ref when given, else the names the archive carries. */
static json_t *import_refs(const char *src, const char *ref, json_t *names, struct err *err)
{
    struct image_ref r;

    if (ref) {
        if (image_ref_parse(ref, &r, err) < 0)
            return NULL;
        if (r.digest[0]) {
            err_set(err, -E_INVALID, "import names a tag (NAME[:TAG]), not a digest: the "
                    "digest of an image is computed from its content");
            return NULL;
        }
        return json_pack("[s]", ref);
    }
    if (!json_array_size(names)) {
        err_set(err, -E_INVALID, "%s names no image (no RepoTags or %s annotation): give one, "
                "as in: kroll image import %s NAME:TAG", src, OCI_REF_NAME, src);
        return NULL;
    }
    return json_incref(names);
}

int image_import_names(const char *data_dir, const char *src, const char *ref, json_t **tags,
                       struct err *err)
{
    struct oci_store s;
    char manifest[80], config[80];
    json_t *names = NULL, *refs = NULL;
    int rootfd = -1, rc;

    if (ref && !(refs = import_refs(src, ref, NULL, err)))
        return err->code;
    if ((rc = oci_store_open(&s, data_dir, 1, err)) < 0)
        goto out;
    if ((rc = src_root(&s, src, ref, &rootfd, err)) == 0 &&
        (rc = oci_import_dir(&s, rootfd, ref, manifest, config, &names, err)) == 0 && !refs &&
        !(refs = import_refs(src, NULL, names, err)))
        rc = err->code;
    if (rc == 0 && (rc = oci_store_publish(&s, err)) == 0)
        rc = tags_set(&s, refs, manifest, config, err);
    if (rootfd >= 0)
        close(rootfd);
    oci_store_close(&s);
out:
    if (rc == 0 && tags)
        *tags = json_incref(refs);
    json_decref(names);
    json_decref(refs);
    return rc;
}

int image_import(const char *data_dir, const char *src, const char *ref, struct err *err)
{
    return image_import_names(data_dir, src, ref, NULL, err);
}
