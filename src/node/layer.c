/* Image layers: unpacking a layer blob (tar, tar+gzip, tar+zstd) into a directory in overlayfs
 * format, and writing a directory as a deterministic tar for `image build`. Unpacking refuses
 * what could reach outside the layer directory (absolute or ".." names, hardlinks out, writes
 * through symlinks: libarchive's ARCHIVE_EXTRACT_SECURE_* checks), device nodes, truncated
 * streams and overlay xattrs smuggled in the tar, and checks the uncompressed stream against
 * the config's diffID. Modes (setuid too), numeric owners, links and xattrs are kept. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/log.h"
#include "node/oci-int.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* The decompressed stream: a "raw" libarchive reader undoes gzip/zstd; the tar reader pulls
 * from it through raw_read, which hashes every byte (the diffID) and charges the budget. */
struct layer_rd {
    struct archive *raw;
    EVP_MD_CTX *md;
    struct oci_store *s;
    struct err *err;
    long long size;
    long long padded;    /* zeros supplied after a stream that ended mid-block */
    long long last_size; /* size of the last entry read */
    int failed;
    char buf[65536];
};

static la_ssize_t raw_read(struct archive *a, void *ctx, const void **out)
{
    struct layer_rd *r = ctx;
    la_ssize_t n = archive_read_data(r->raw, r->buf, sizeof r->buf);

    (void)a;
    /* Some writers (umoci 0.4.7 here) end a layer right after the last file's data, without
     * its block padding and the end-of-archive blocks. The missing padding is supplied (not
     * hashed) and checked afterwards to be exactly what the last entry lacked, so a stream cut
     * inside a header or data is still refused as truncated. */
    if (n == 0 && r->size % 512 && !r->padded) {
        r->padded = 512 - r->size % 512;
        memset(r->buf, 0, (size_t)r->padded);
        *out = r->buf;
        return (la_ssize_t)r->padded;
    }
    if (n < 0) {
        err_set(r->err, -E_INVALID, "layer stream: %s", archive_error_string(r->raw));
        r->failed = 1;
        return -1;
    }
    if (n > 0 && oci_budget_take(r->s, n, r->err) < 0) {
        r->failed = 1;
        return -1;
    }
    EVP_DigestUpdate(r->md, r->buf, (size_t)n);
    r->size += n;
    *out = r->buf;
    return n;
}

/* Normalises a member name in place: drops leading "./", refuses absolute names and any ".."
 * component. Returns the name ("" for the root itself) or NULL. */
static const char *name_clean(char *name)
{
    char *p = name;

    while (p[0] == '.' && p[1] == '/')
        p += 2;
    if (strspn(p, "/") == strlen(p))
        return ""; /* "/" names the root (umoci writes it) */
    if (*p == '/')
        return NULL;
    if (!strcmp(p, "."))
        return "";
    for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == 0))
            return NULL;
    for (size_t n = strlen(p); n && p[n - 1] == '/'; n--)
        p[n - 1] = 0;
    return p;
}

/* Whether every existing component of rel under root is a real directory (not a symlink), so
 * a path built from it stays in the layer. */
static int beneath_ok(const char *root, const char *rel)
{
    char *p = xasprintf("%s/%s", root, rel), *c = p + strlen(root) + 1;
    struct stat st;
    int ok = 1;

    for (char *e; ok && c; c = e ? e + 1 : NULL) {
        if ((e = strchr(c, '/')))
            *e = 0;
        if (lstat(p, &st) < 0)
            break;
        ok = S_ISDIR(st.st_mode);
        if (e)
            *e = '/';
    }
    free(p);
    return ok;
}

/* Drops overlayfs' own xattrs from an entry: only whiteout conversion may set them. */
static void xattrs_filter(struct archive_entry *e)
{
    const char *names[64];
    const void *vals[64];
    size_t sizes[64], n = 0;
    const char *name;
    const void *val;
    size_t sz;

    if (archive_entry_xattr_reset(e) == 0)
        return;
    while (n < 64 && archive_entry_xattr_next(e, &name, &val, &sz) == ARCHIVE_OK) {
        if (strncmp(name, "trusted.overlay.", 16) == 0)
            continue;
        names[n] = xstrdup(name), vals[n] = val, sizes[n++] = sz;
    }
    /* The values stay owned by the entry until clear, so copy them first. */
    void *copies[64];
    for (size_t i = 0; i < n; i++)
        copies[i] = memcpy(xmalloc(sizes[i] ? sizes[i] : 1), vals[i], sizes[i]);
    archive_entry_xattr_clear(e);
    for (size_t i = 0; i < n; i++) {
        archive_entry_xattr_add_entry(e, names[i], copies[i], sizes[i]);
        free((void *)names[i]);
        free(copies[i]);
    }
}

/* Turns a ".wh." entry into what overlayfs expects: .wh..wh..opq marks its directory opaque
 * (done here; returns 1: nothing to write), .wh.NAME becomes a 0/0 character device NAME. */
static int whiteout(const char *dir, struct archive *disk, struct archive_entry *e,
                    const char *name, struct err *err)
{
    const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
    char *parent = slash ? xasprintf("%.*s", (int)(slash - name), name) : xstrdup(""), *p;
    int rc = 0;

    if (!beneath_ok(dir, parent)) {
        rc = err_set(err, -E_INVALID, "layer entry %s: a symlink in its path leads outside "
                     "the layer", name);
    } else if (!strcmp(base, WH_OPAQUE)) {
        p = xasprintf("%s/%s", dir, parent);
        if (oci_mkdir_p(p) < 0 || lsetxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0)
            rc = err_set(err, -E_INTERNAL, "opaque directory %s: %s", p, strerror(errno));
        free(p);
        rc = rc ? rc : 1;
    } else if (!base[4] || !strcmp(base + 4, ".") || !strcmp(base + 4, "..") ||
               !strncmp(base + 4, WH_PREFIX, 4)) {
        rc = err_set(err, -E_INVALID, "layer entry %s: not a valid whiteout", name);
    } else {
        p = xasprintf("%s/%s%s%s", dir, parent, *parent ? "/" : "", base + 4);
        archive_entry_set_pathname(e, p);
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_perm(e, 0);
        archive_entry_set_rdev(e, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_size(e, 0);
        archive_entry_xattr_clear(e);
        free(p);
    }
    free(parent);
    return rc;
}

/* Checks one entry and points it into dir. Returns 0 to write it, 1 to skip, or -E_xxx. */
static int entry_prepare(const char *dir, struct archive *disk, struct archive_entry *e,
                         struct err *err)
{
    char *raw = xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    const char *name = name_clean(raw), *base, *hl = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    int rc = 0;

    if (!name) {
        rc = err_set(err, -E_INVALID, "layer entry \"%s\": absolute or \"..\" path refused",
                     archive_entry_pathname(e));
        goto out;
    }
    if (!*name) {
        rc = 1; /* the layer root itself: its directory is ours */
        goto out;
    }
    base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (type == AE_IFCHR || type == AE_IFBLK) {
        rc = err_set(err, -E_INVALID, "layer entry %s: device nodes are not allowed in an "
                     "image", name);
        goto out;
    }
    xattrs_filter(e);
    if (!strncmp(base, WH_PREFIX, 4)) {
        rc = whiteout(dir, disk, e, name, err);
        goto out;
    }
    if (hl) {
        char *t = xstrdup(hl), *full;
        const char *tn = name_clean(t);

        if (!tn || !*tn) {
            rc = err_set(err, -E_INVALID, "layer entry %s: hard link to \"%s\" points outside "
                         "the layer", name, hl);
            free(t);
            goto out;
        }
        full = xasprintf("%s/%s", dir, tn);
        archive_entry_set_hardlink(e, full);
        free(full);
        free(t);
    }
    {
        char *full = xasprintf("%s/%s", dir, name);

        archive_entry_set_pathname(e, full);
        free(full);
    }
out:
    free(raw);
    return rc;
}

/* Copies one entry's data to disk; a short or failing read is a truncated layer. */
static int entry_copy(struct archive *tar, struct archive *disk, const char *name,
                      struct err *err)
{
    const void *buf;
    size_t n;
    la_int64_t off;
    int ar;

    while ((ar = archive_read_data_block(tar, &buf, &n, &off)) == ARCHIVE_OK)
        if (archive_write_data_block(disk, buf, n, off) < ARCHIVE_OK)
            return err_set(err, -E_INTERNAL, "layer entry %s: %s", name,
                           archive_error_string(disk));
    if (ar != ARCHIVE_EOF)
        return err_set(err, -E_INVALID, "layer entry %s: %s", name, archive_error_string(tar));
    if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
        return err_set(err, -E_INTERNAL, "layer entry %s: %s", name,
                       archive_error_string(disk));
    return 0;
}

static int layer_entries(const char *dir, struct archive *tar, struct archive *disk,
                         struct layer_rd *r, struct err *err)
{
    struct archive_entry *e;
    long n = 0;
    int rc, ar;

    while ((ar = archive_read_next_header(tar, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
        char *name = xstrdup(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");

        rc = ++n > OCI_LAYER_ENTRIES_MAX
                 ? err_set(err, -E_TOO_LARGE, "layer has more than %d entries",
                           OCI_LAYER_ENTRIES_MAX)
                 : entry_prepare(dir, disk, e, err);
        /* write_header refuses paths through symlinks (SECURE_SYMLINKS) with FAILED. */
        if (rc == 0 && archive_write_header(disk, e) < ARCHIVE_WARN)
            rc = err_set(err, -E_INVALID, "layer entry %s refused: %s", name,
                         archive_error_string(disk));
        r->last_size = archive_entry_size(e);
        if (rc == 0)
            rc = entry_copy(tar, disk, name, err);
        free(name);
        if (rc < 0)
            return r->failed ? r->err->code : rc;
    }
    if (ar != ARCHIVE_EOF)
        return r->failed ? r->err->code
                         : err_set(err, -E_INVALID, "layer tar: %s", archive_error_string(tar));
    if (r->padded && r->padded != (512 - r->last_size % 512) % 512)
        return err_set(err, -E_INVALID, "layer tar: truncated (the stream ends inside an "
                       "entry)");
    return 0;
}

/* Opens the decompressing reader of blob: gzip, zstd or none, nothing else. */
static struct archive *raw_open(const char *blob, struct err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;

    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, blob, 65536) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        err_set(err, -E_INVALID, "layer %s: %s", blob, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int layer_extract(struct layer_rd *r, const char *dir, struct err *err)
{
    struct archive *tar = archive_read_new(), *disk = archive_write_disk_new();
    int rc;

    archive_read_support_format_tar(tar);
    archive_write_disk_set_options(
        disk, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                  ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                  ARCHIVE_EXTRACT_XATTR);
    if (archive_read_open(tar, r, NULL, raw_read, NULL) != ARCHIVE_OK)
        rc = r->failed ? r->err->code
                       : err_set(err, -E_INVALID, "layer tar: %s", archive_error_string(tar));
    else
        rc = layer_entries(dir, tar, disk, r, err);
    if (archive_write_close(disk) < ARCHIVE_WARN && rc == 0)
        rc = err_set(err, -E_INTERNAL, "layer %s: %s", dir, archive_error_string(disk));
    archive_write_free(disk);
    archive_read_free(tar);
    return rc;
}

int layer_unpack(struct oci_store *s, const char *blob, const char *diffid, long long *size,
                 struct err *err)
{
    struct layer_rd r = {.s = s, .err = err};
    char *dir = oci_layer_path(s->stage, diffid), *note = NULL, got[80];
    unsigned char md[32];
    int rc;
    la_ssize_t n;
    FILE *f;

    if (mkdir(dir, 0755) < 0 || !(r.raw = raw_open(blob, err))) {
        rc = err->code ? err->code : err_set(err, -E_INTERNAL, "%s: %s", dir, strerror(errno));
        goto out;
    }
    r.md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(r.md, EVP_sha256(), NULL);
    rc = layer_extract(&r, dir, err);
    /* The tar reader stops at the end-of-archive blocks; the diffID covers the padding too. */
    while (rc == 0 && (n = archive_read_data(r.raw, r.buf, sizeof r.buf)) != 0) {
        if (n < 0 || oci_budget_take(s, n, err) < 0) {
            rc = n < 0 ? err_set(err, -E_INVALID, "layer stream: %s",
                                 archive_error_string(r.raw))
                       : err->code;
            break;
        }
        EVP_DigestUpdate(r.md, r.buf, (size_t)n);
        r.size += n;
    }
    EVP_DigestFinal_ex(r.md, md, NULL);
    for (int i = 0; i < 32; i++)
        sprintf(got + 2 * i, "%02x", md[i]);
    if (rc == 0 && strcmp(got, diffid + 7))
        rc = err_set(err, -E_INVALID, "layer %s: diffID mismatch: the config says %s, the "
                     "uncompressed layer hashes to sha256:%s", blob, diffid, got);
    note = xasprintf("%s.json", dir);
    if (rc == 0 && (!(f = fopen(note, "we")) || fprintf(f, "{\"size\": %lld}\n", r.size) < 0 ||
                    fclose(f)))
        rc = err_set(err, -E_INTERNAL, "%s: %s", note, strerror(errno));
    *size = r.size;
out:
    EVP_MD_CTX_free(r.md);
    if (r.raw)
        archive_read_free(r.raw);
    free(dir);
    free(note);
    return rc;
}

/* ---- writing a layer ---- */

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int no_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

struct tar_wr {
    struct archive *a;
    const char *root;
    long long mtime;
    struct err *err;
};

static int tar_file(struct tar_wr *w, const char *path, const struct stat *st,
                    struct archive_entry *e)
{
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0)
        return err_set(w->err, -E_INVALID, "%s: %s", path, strerror(errno));
    archive_entry_set_size(e, st->st_size);
    if (archive_write_header(w->a, e) < ARCHIVE_WARN)
        rc = err_set(w->err, -E_INTERNAL, "tar %s: %s", path, archive_error_string(w->a));
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0)
        if (archive_write_data(w->a, buf, (size_t)n) != n)
            rc = err_set(w->err, -E_INTERNAL, "tar %s: %s", path, archive_error_string(w->a));
    close(fd);
    return rc;
}

/* One entry (rel is its name in the tar), then its children in byte order. */
static int tar_walk(struct tar_wr *w, const char *rel, int depth)
{
    char *path = *rel ? xasprintf("%s/%s", w->root, rel) : xstrdup(w->root);
    struct archive_entry *e = archive_entry_new();
    struct dirent **names = NULL;
    struct stat st;
    int rc = 0, n = 0;

    if (lstat(path, &st) < 0 || depth > 64) {
        rc = err_set(w->err, -E_INVALID, "%s: %s", path, depth > 64 ? "too deep" : strerror(errno));
        goto out;
    }
    archive_entry_copy_stat(e, &st);
    archive_entry_set_pathname(e, *rel ? rel : ".");
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_nlink(e, 1);
    if (w->mtime >= 0)
        archive_entry_set_mtime(e, w->mtime, 0);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    if (S_ISREG(st.st_mode)) {
        rc = tar_file(w, path, &st, e);
    } else if (S_ISLNK(st.st_mode)) {
        char t[4096];
        ssize_t tn = readlink(path, t, sizeof t - 1);

        t[tn < 0 ? 0 : tn] = 0;
        archive_entry_set_symlink(e, t);
        if (archive_write_header(w->a, e) < ARCHIVE_WARN)
            rc = err_set(w->err, -E_INTERNAL, "tar %s: %s", path, archive_error_string(w->a));
    } else if (S_ISDIR(st.st_mode)) {
        if (*rel && archive_write_header(w->a, e) < ARCHIVE_WARN)
            rc = err_set(w->err, -E_INTERNAL, "tar %s: %s", path, archive_error_string(w->a));
        n = scandir(path, &names, no_dots, name_cmp);
        for (int i = 0; rc == 0 && i < n; i++) {
            char *sub;

            if (!*rel && !strcmp(names[i]->d_name, "image.json"))
                continue;
            sub = *rel ? xasprintf("%s/%s", rel, names[i]->d_name) : xstrdup(names[i]->d_name);
            rc = tar_walk(w, sub, depth + 1);
            free(sub);
        }
    } /* sockets, fifos and devices are not image content: skipped, as before */
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    archive_entry_free(e);
    free(path);
    return rc;
}

int layer_write_tar(const char *dir, const char *path, long long mtime, struct err *err)
{
    struct tar_wr w = {.a = archive_write_new(), .root = dir, .mtime = mtime, .err = err};
    int rc;

    archive_write_set_format_pax_restricted(w.a);
    archive_write_set_bytes_in_last_block(w.a, 1);
    if (archive_write_open_filename(w.a, path) != ARCHIVE_OK) {
        rc = err_set(err, -E_INTERNAL, "%s: %s", path, archive_error_string(w.a));
        archive_write_free(w.a);
        return rc;
    }
    rc = tar_walk(&w, "", 0);
    if (archive_write_close(w.a) != ARCHIVE_OK && rc == 0)
        rc = err_set(err, -E_INTERNAL, "%s: %s", path, archive_error_string(w.a));
    archive_write_free(w.a);
    return rc;
}
