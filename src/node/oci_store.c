/* The content-addressed store under <data-dir>/images: blobs/sha256/<hex> (verified as they
 * are written), layers/<diffID hex>/ (unpacked, overlayfs format) with a <hex>.json size note,
 * and tags.json (repo:tag -> manifest and config digests), replaced atomically. Imports write
 * to a private stage and publish by rename under the store lock, so a failed import leaves the
 * store as it was, and GC (after `image rm`) never deletes what an import is about to use. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "node/oci-int.h"

int oci_digest_ok(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void hex_of(const unsigned char *md, char out[80])
{
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

void oci_sha256(const void *buf, size_t n, char out[80])
{
    unsigned char md[32];
    unsigned int mn = 0;

    EVP_Digest(buf, n, md, &mn, EVP_sha256(), NULL);
    hex_of(md, out);
}

char *oci_blob_path(const char *base, const char *digest)
{
    return xasprintf("%s/blobs/sha256/%s", base, digest + 7);
}

char *oci_layer_path(const char *base, const char *diffid)
{
    return xasprintf("%s/layers/%s", base, diffid + 7);
}

char *oci_blob_find(const struct oci_store *s, const char *digest)
{
    char *p = oci_blob_path(s->root, digest);

    if (access(p, F_OK) == 0)
        return p;
    free(p);
    if (!s->stage)
        return NULL;
    p = oci_blob_path(s->stage, digest);
    if (access(p, F_OK) == 0)
        return p;
    free(p);
    return NULL;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

void oci_rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int oci_mkdir_p(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

long long oci_time_parse(const char *s)
{
    struct tm tm = {0};

    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

/* Stale stages: only the lock holder has one, so any other is a crashed import's. */
static void stages_sweep(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, ".stage-", 7))
            continue;
        char *p = xasprintf("%s/%s", root, e->d_name);

        oci_rm_tree(p);
        free(p);
    }
    if (d)
        closedir(d);
}

static long long import_cap(void)
{
    const char *v = getenv("KROLL_IMAGE_MAX_BYTES");
    char *end;
    long long n;

    if (!v || !*v)
        return OCI_IMPORT_MAX_DEFAULT;
    n = strtoll(v, &end, 10);
    return *end || n <= 0 ? OCI_IMPORT_MAX_DEFAULT : n;
}

int oci_store_open(struct oci_store *s, const char *data_dir, int stage, struct err *err)
{
    char *root = xasprintf("%s/images", data_dir), real[PATH_MAX], *p;

    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->budget = import_cap();
    if (oci_mkdir_p(root) < 0 || !realpath(root, real)) {
        err_set(err, -E_INTERNAL, "image store %s: %s", root, strerror(errno));
        free(root);
        return -E_INTERNAL;
    }
    free(root);
    s->root = xstrdup(real);
    p = xasprintf("%s/.lock", s->root);
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(p);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX) < 0)
        goto fail;
    p = xasprintf("%s/blobs/sha256", s->root);
    oci_mkdir_p(p);
    free(p);
    p = xasprintf("%s/layers", s->root);
    oci_mkdir_p(p);
    free(p);
    if (!stage)
        return 0;
    stages_sweep(s->root);
    s->stage = xasprintf("%s/.stage-%d", s->root, (int)getpid());
    p = xasprintf("%s/blobs/sha256", s->stage);
    if (oci_mkdir_p(p) < 0) {
        free(p);
        goto fail;
    }
    free(p);
    p = xasprintf("%s/layers", s->stage);
    oci_mkdir_p(p);
    free(p);
    return 0;
fail:
    err_set(err, -E_INTERNAL, "image store %s: %s", s->root, strerror(errno));
    oci_store_close(s);
    return -E_INTERNAL;
}

void oci_store_close(struct oci_store *s)
{
    if (s->stage)
        oci_rm_tree(s->stage);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->stage);
    free(s->root);
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
}

int oci_budget_take(struct oci_store *s, long long n, struct err *err)
{
    s->budget -= n;
    if (s->budget < 0)
        return err_set(err, -E_TOO_LARGE, "image is larger than the import limit of %lld bytes "
                       "(KROLL_IMAGE_MAX_BYTES)", import_cap());
    return 0;
}

/* Renames every entry of stage/sub into root/sub unless already there. */
static int publish_dir(struct oci_store *s, const char *sub, struct err *err)
{
    char *from = xasprintf("%s/%s", s->stage, sub);
    DIR *d = opendir(from);
    struct dirent *e;
    int rc = 0;

    while (d && rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *a = xasprintf("%s/%s", from, e->d_name);
        char *b = xasprintf("%s/%s/%s", s->root, sub, e->d_name);

        if (access(b, F_OK) < 0 && rename(a, b) < 0)
            rc = err_set(err, -E_INTERNAL, "publishing %s: %s", b, strerror(errno));
        free(a);
        free(b);
    }
    if (d)
        closedir(d);
    free(from);
    return rc;
}

int oci_store_publish(struct oci_store *s, struct err *err)
{
    int rc = publish_dir(s, "blobs/sha256", err);

    /* Layers after blobs, and a layer's size note only after its directory: whoever sees a
     * note finds the layer. */
    if (rc == 0)
        rc = publish_dir(s, "layers", err);
    return rc;
}

/* ---- blobs ---- */

int oci_blob_put_fd(struct oci_store *s, int fd, const char *want, long long want_size,
                    char got[80], struct err *err)
{
    /* A blob the store (or this stage) has already is still read and checked, not copied:
     * a corrupt archive is refused whatever the store holds. */
    char *have = want ? oci_blob_find(s, want) : NULL, *dst = NULL, buf[65536];
    char *tmp = xasprintf("%s/blobs/sha256/.in", s->stage);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    long long total = 0;
    int out = have ? -2 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
    ssize_t n = 0;

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (out != -1 && (n = read(fd, buf, sizeof buf)) > 0) {
        total += n;
        if ((want_size >= 0 && total > want_size) ||
            (out >= 0 && (rc = oci_budget_take(s, n, err)) < 0))
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        if (out >= 0 && write(out, buf, (size_t)n) != n) {
            rc = err_set(err, -E_INTERNAL, "writing %s: %s", tmp, strerror(errno));
            break;
        }
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    hex_of(md, got);
    if (out == -1 || (rc == 0 && (n < 0 || (out >= 0 && fsync(out) < 0))))
        rc = err_set(err, -E_INTERNAL, "blob %s: %s", want ? want : "", strerror(errno));
    if (out >= 0)
        close(out);
    if (rc == 0 && want_size >= 0 && total != want_size)
        rc = err_set(err, -E_INVALID, "blob %s: size mismatch: the descriptor says %lld bytes, "
                     "the file has %s%lld", want ? want : "", want_size,
                     total > want_size ? "at least " : "", total);
    else if (rc == 0 && want && strcmp(want, got))
        rc = err_set(err, -E_INVALID, "blob %s: digest mismatch: its content hashes to %s", want,
                     got);
    if (rc == 0 && out >= 0) {
        dst = oci_blob_path(s->stage, got);
        if (rename(tmp, dst) < 0)
            rc = err_set(err, -E_INTERNAL, "rename %s: %s", dst, strerror(errno));
    }
    if (out >= 0)
        unlink(tmp);
    free(tmp);
    free(dst);
    free(have);
    return rc;
}

int oci_blob_put_mem(struct oci_store *s, const void *buf, size_t n, char got[80],
                     struct err *err)
{
    char *dst;
    FILE *f;
    int rc = 0;

    oci_sha256(buf, n, got);
    dst = oci_blob_path(s->stage, got);
    if (!(f = fopen(dst, "we")) || fwrite(buf, 1, n, f) != n || fflush(f) || fsync(fileno(f)))
        rc = err_set(err, -E_INTERNAL, "writing %s: %s", dst, strerror(errno));
    if (f && fclose(f) && rc == 0)
        rc = err_set(err, -E_INTERNAL, "writing %s: %s", dst, strerror(errno));
    free(dst);
    return rc;
}

json_t *oci_json_fd(int fd, const char *what, char digest[80], struct err *err)
{
    struct stat st;
    char *buf = NULL;
    json_error_t je;
    json_t *v = NULL;
    size_t got = 0;
    ssize_t n;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        err_set(err, -E_INVALID, "%s: not a regular file", what);
        goto out;
    }
    if (st.st_size > OCI_JSON_MAX) {
        err_set(err, -E_TOO_LARGE, "%s: %lld bytes, more than the %d allowed for a JSON "
                "document", what, (long long)st.st_size, OCI_JSON_MAX);
        goto out;
    }
    buf = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    if (digest)
        oci_sha256(buf, got, digest);
    v = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        err_set(err, -E_INVALID, "%s: invalid JSON: %s (line %d)", what, je.text, je.line);
    else if (!json_is_object(v) && !json_is_array(v)) {
        err_set(err, -E_INVALID, "%s: not a JSON object", what);
        json_decref(v);
        v = NULL;
    }
out:
    free(buf);
    close(fd);
    return v;
}

json_t *oci_blob_json(const struct oci_store *s, const char *digest, struct err *err)
{
    char *p = oci_digest_ok(digest) ? oci_blob_find(s, digest) : NULL, got[80];
    json_t *v;
    int fd;

    if (!p) {
        err_set(err, -E_NOT_FOUND, "blob %s is missing from %s/blobs", digest, s->root);
        return NULL;
    }
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        err_set(err, -E_INTERNAL, "%s: %s", p, strerror(errno));
        free(p);
        return NULL;
    }
    v = oci_json_fd(fd, p, got, err);
    if (v && strcmp(got, digest)) {
        err_set(err, -E_INVALID, "%s: digest mismatch (content hashes to %s)", p, got);
        json_decref(v);
        v = NULL;
    }
    free(p);
    return v;
}

/* ---- the tag index ---- */

json_t *oci_tags_read(const char *root, struct err *err)
{
    char *p = xasprintf("%s/tags.json", root);
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    json_t *v, *tags;

    if (fd < 0 && errno == ENOENT) {
        free(p);
        return json_pack("{s:[]}", "tags");
    }
    v = fd < 0 ? NULL : oci_json_fd(fd, p, NULL, err);
    if (fd < 0)
        err_set(err, -E_INTERNAL, "%s: %s", p, strerror(errno));
    tags = json_object_get(v, "tags");
    if (v && !json_is_array(tags)) {
        err_set(err, -E_INVALID, "%s: no \"tags\" array", p);
        json_decref(v);
        v = NULL;
    }
    free(p);
    return v;
}

int oci_tags_write(const char *root, json_t *tags, struct err *err)
{
    char *p = xasprintf("%s/tags.json", root);
    char *text = json_dumps(tags, JSON_INDENT(1) | JSON_SORT_KEYS);
    int rc = text ? file_write_atomic(p, text, strlen(text), 0644) : -ENOMEM;

    if (rc < 0)
        rc = err_set(err, -E_INTERNAL, "writing %s: %s", p, strerror(-rc));
    free(text);
    free(p);
    return rc;
}

/* ---- garbage collection ---- */

/* Marks what one tagged image references: its manifest, config, layer blobs and diffIDs. */
static int gc_mark(struct oci_store *s, const json_t *t, json_t *keep)
{
    const char *m = json_string_value(json_object_get(t, "manifest"));
    const char *c = json_string_value(json_object_get(t, "config"));
    struct err err;
    json_t *man, *cfg, *v;
    size_t i;

    err_init(&err);
    json_object_set_new(keep, m ? m : "", json_true());
    json_object_set_new(keep, c ? c : "", json_true());
    if ((man = m ? oci_blob_json(s, m, &err) : NULL))
        json_array_foreach(json_object_get(man, "layers"), i, v)
            json_object_set_new(keep, json_string_value(json_object_get(v, "digest")) ?: "",
                                json_true());
    if ((cfg = c ? oci_blob_json(s, c, &err) : NULL))
        json_array_foreach(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i, v)
            json_object_set_new(keep, json_string_value(v) ?: "", json_true());
    i = man && cfg;
    json_decref(man);
    json_decref(cfg);
    err_release(&err);
    return i ? 0 : -1;
}

static void gc_sweep(const char *dir, const json_t *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        char hex[80], *p;

        if (e->d_name[0] == '.' && (!e->d_name[1] || e->d_name[1] == '.'))
            continue;
        snprintf(hex, sizeof hex, "sha256:%.64s", e->d_name);
        if (json_object_get(keep, hex) && (strlen(e->d_name) == 64 ||
                                           !strcmp(e->d_name + 64, ".json")))
            continue;
        p = xasprintf("%s/%s", dir, e->d_name);
        oci_rm_tree(p);
        free(p);
    }
    if (d)
        closedir(d);
}

/* Keeps the layers a container's root is stacked on: every <data-dir>/pods/<uid>/ctr/<name>/l/<i>
 * symlink (rootfs.c) names one, and it stays while the pod's directory does, so `image rm` of an
 * image a pod still runs from untags it but leaves its layers (docker refuses instead). */
static void gc_mark_in_use(const struct oci_store *s, json_t *keep)
{
    char *pattern = xasprintf("%s/../pods/*/ctr/*/l/*", s->root);
    glob_t g;

    if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            char target[PATH_MAX], hex[80];
            ssize_t n = readlink(g.gl_pathv[i], target, sizeof target - 1);
            const char *base;

            if (n <= 0)
                continue;
            target[n] = 0;
            base = strrchr(target, '/');
            if (!base || base - target < 7 || strncmp(base - 7, "/layers", 7) != 0)
                continue;
            snprintf(hex, sizeof hex, "sha256:%.64s", base + 1);
            json_object_set_new(keep, hex, json_true());
        }
        globfree(&g);
    }
    free(pattern);
}

void oci_store_gc(struct oci_store *s, const json_t *tags)
{
    json_t *keep = json_object(), *t;
    size_t i;
    char *p;

    /* An image whose manifest or config cannot be read is not swept around: its layers
     * are unknown, and a broken store is better left for a human than made worse. */
    json_array_foreach(json_object_get(tags, "tags"), i, t) if (gc_mark(s, t, keep) < 0) {
        log_warn("image", "msg=\"gc skipped: an image's manifest or config is unreadable\"");
        json_decref(keep);
        return;
    }
    p = xasprintf("%s/blobs/sha256", s->root);
    gc_sweep(p, keep);
    free(p);
    gc_mark_in_use(s, keep);
    p = xasprintf("%s/layers", s->root);
    gc_sweep(p, keep);
    free(p);
    json_decref(keep);
}
