/* The local image store: reference parsing, loading image.json, import (recursive copy beside
 * the final place, then rename), removal and listing. Used by the kubelet and `kroll image`. */
#include "node/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* ---- references ----
 * The grammar of container tools (distribution/reference):
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] component ("/" component)*
 *   domain    := host [":" port]   (the first part, when it has a "." or ":" or is localhost)
 *   component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest    := algorithm ":" hex (sha256: 64 lower-case hex digits)
 * No component can be empty, ".", ".." or hold a "/", so a reference cannot name a path
 * outside images/. Error texts quote only the offending part and so hold no "/": the kubelet
 * tells an invalid name (InvalidImageName) from a broken image.json by that. */

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One repository path component of n bytes. */
static int component_ok(const char *c, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t run = 0;

        while (i < n && is_lower_alnum(c[i]))
            i++, run++;
        if (!run)
            return 0; /* empty, or a separator at the start, end or next to another */
        if (i == n)
            return 1;
        if (c[i] == '.' || (c[i] == '_' && !(i + 1 < n && c[i + 1] == '_')))
            i++;
        else if (c[i] == '_')
            i += 2;
        else if (c[i] == '-')
            while (i < n && c[i] == '-')
                i++;
        else
            return 0;
    }
    return 0; /* ended on a separator */
}

/* A registry host[:port]: dot-separated labels of [A-Za-z0-9-] not starting/ending in "-". */
static int domain_ok(const char *d, size_t n)
{
    const char *colon = memchr(d, ':', n);
    size_t hn = colon ? (size_t)(colon - d) : n, lab = 0;

    if (colon) {
        if (colon + 1 == d + n)
            return 0;
        for (const char *p = colon + 1; p < d + n; p++)
            if (*p < '0' || *p > '9')
                return 0;
    }
    for (size_t i = 0; i <= hn; i++) {
        if (i == hn || d[i] == '.') {
            if (!lab || d[i - 1] == '-' || d[i - lab] == '-')
                return 0;
            lab = 0;
        } else if (is_alnum(d[i]) || d[i] == '-') {
            lab++;
        } else {
            return 0;
        }
    }
    return hn > 0;
}

static int tag_ok(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > IMAGE_TAG_MAX || !(is_alnum(t[0]) || t[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(is_alnum(t[i]) || strchr("_.-", t[i])))
            return 0;
    return 1;
}

static int digest_ok(const char *d)
{
    const char *colon = strchr(d, ':');
    size_t hex = 0;

    if (!colon || colon == d)
        return 0;
    for (const char *p = d; p < colon; p++)
        if (!is_lower_alnum(*p) && !(strchr("+._-", *p) && p > d && p + 1 < colon))
            return 0;
    for (const char *p = colon + 1; *p; p++, hex++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return strncmp(d, "sha256:", 7) ? hex >= 32 : hex == 64;
}

/* Whether the part before the first "/" is a registry host rather than a path component. */
static int is_domain(const char *name, size_t n)
{
    return memchr(name, '.', n) || memchr(name, ':', n) ||
           (n == 9 && !strncmp(name, "localhost", 9));
}

/* Validates name and stores its repository: the registry host is kept except Docker Hub's, and
 * Docker Hub's "library/" prefix of official images is dropped ("library/x" -> "x"). */
static int name_parse(const char *name, struct image_ref *out, struct err *err)
{
    const char *slash = strchr(name, '/'), *path = name, *start = name, *p, *e;
    size_t n, dn = slash ? (size_t)(slash - name) : 0;
    int hub = 1;

    if (slash && is_domain(name, dn)) {
        if (!domain_ok(name, dn))
            return err_set(err, -E_INVALID, "invalid reference format: bad registry host "
                           "\"%.*s\"", (int)dn, name);
        path = slash + 1;
        hub = (dn == 9 && !strncmp(name, "docker.io", 9)) ||
              (dn == 15 && !strncmp(name, "index.docker.io", 15));
    }
    for (p = path;; p = e + 1) {
        e = strchr(p, '/');
        n = e ? (size_t)(e - p) : strlen(p);
        if (!component_ok(p, n))
            return err_set(err, -E_INVALID, "invalid reference format: repository path "
                           "component \"%.*s\" must be lowercase [a-z0-9] words joined by '.', "
                           "'_', '__' or '-'", (int)n, p);
        if (!e)
            break;
    }
    if (hub) {
        start = path;
        if (!strncmp(path, "library/", 8) && !strchr(path + 8, '/'))
            start = path + 8;
    }
    n = strlen(start);
    if (n >= sizeof out->repo)
        return err_set(err, -E_INVALID, "invalid reference format: repository name longer "
                       "than %zu characters", sizeof out->repo - 1);
    memcpy(out->repo, start, n + 1);
    return 0;
}

int image_ref_parse(const char *ref, struct image_ref *out, struct err *err)
{
    char name[IMAGE_REF_MAX + 1], *at, *colon, *slash;
    int rc;

    memset(out, 0, sizeof *out);
    if (!ref || !*ref)
        return err_set(err, -E_INVALID, "image name is empty");
    if (strlen(ref) > IMAGE_REF_MAX)
        return err_set(err, -E_INVALID, "invalid reference format: longer than %d characters",
                       IMAGE_REF_MAX);
    snprintf(name, sizeof name, "%s", ref);
    if ((at = strchr(name, '@'))) {
        *at++ = 0;
        if (!digest_ok(at) || strlen(at) >= sizeof out->digest)
            return err_set(err, -E_INVALID, "invalid reference format: bad digest \"%s\" "
                           "(want sha256:<64 hex digits>)", at);
        strcpy(out->digest, at);
    }
    slash = strrchr(name, '/');
    colon = strrchr(name, ':');
    if (colon && (!slash || colon > slash)) {
        *colon++ = 0;
        if (!tag_ok(colon))
            return err_set(err, -E_INVALID, "invalid reference format: tag \"%s\" must be "
                           "[A-Za-z0-9_][A-Za-z0-9_.-], at most %d characters", colon,
                           IMAGE_TAG_MAX);
        strcpy(out->tag, colon);
    }
    if (!name[0])
        return err_set(err, -E_INVALID, "invalid reference format: no repository name");
    if ((rc = name_parse(name, out, err)) < 0)
        return rc;
    out->has_tag = out->tag[0] != 0;
    if (!out->has_tag)
        strcpy(out->tag, "latest");
    return 0;
}

static int strv_check(const json_t *cfg, const char *key, struct err *err)
{
    const json_t *a = json_object_get(cfg, key), *v;
    size_t i;

    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return err_set(err, -E_INVALID, "image.json: %s must be an array of strings", key);
    json_array_foreach(a, i, v) if (!json_is_string(v))
        return err_set(err, -E_INVALID, "image.json: %s[%zu] must be a string", key, i);
    return 0;
}

int image_config_check(const json_t *cfg, struct err *err)
{
    const json_t *wd = json_object_get(cfg, "WorkingDir");
    int rc;

    if (!json_is_object(cfg))
        return err_set(err, -E_INVALID, "image.json must hold a JSON object");
    if ((rc = strv_check(cfg, "Entrypoint", err)) < 0 || (rc = strv_check(cfg, "Cmd", err)) < 0 ||
        (rc = strv_check(cfg, "Env", err)) < 0)
        return rc;
    if (wd && !json_is_null(wd) && !json_is_string(wd))
        return err_set(err, -E_INVALID, "image.json: WorkingDir must be a string");
    return 0;
}

static char *image_dir_of(const char *data_dir, const struct image_ref *r)
{
    return xasprintf("%s/images/%s/%s", data_dir, r->repo, r->tag);
}

/* What images/<repo>/<tag> is on disk. The layout nests repositories and tags in the same
 * tree ("a:b" and the repository "a/b" are both images/a/b), so a directory is an image only
 * if it holds image.json, and an image never holds another image or repository. */
enum walk { WALK_NONE, WALK_REPO, WALK_IMAGE };

static int has_config(const char *dir)
{
    char *p = xasprintf("%s/image.json", dir);
    struct stat st;
    int ok = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

    free(p);
    return ok;
}

/* Walks images/<repo>/<tag> level by level: every level must be a real directory (never a
 * symlink, which could lead outside images/) and no level above the tag may be an image.
 * Returns a WALK_ value, or -E_CONFLICT with err saying which level is in the way. */
static int image_walk(const char *data_dir, const struct image_ref *r, struct err *err)
{
    char *path = xasprintf("%s/images", data_dir), *rel = xasprintf("%s/%s", r->repo, r->tag);
    int rc = WALK_NONE;
    struct stat st;

    for (char *c = rel, *e; c; c = e ? e + 1 : NULL) {
        char *next;

        if ((e = strchr(c, '/')))
            *e = 0;
        next = xasprintf("%s/%s", path, c);
        free(path);
        path = next;
        if (lstat(path, &st) < 0)
            goto out; /* WALK_NONE */
        if (!S_ISDIR(st.st_mode)) {
            rc = err_set(err, -E_CONFLICT, "%s is not a directory (refusing to follow it)",
                         path);
            goto out;
        }
        if (e && has_config(path)) {
            rc = err_set(err, -E_CONFLICT, "%s is an image, so \"%s:%s\" cannot be stored "
                         "under it", path, r->repo, r->tag);
            goto out;
        }
    }
    rc = has_config(path) ? WALK_IMAGE : WALK_REPO;
out:
    free(path);
    free(rel);
    return rc;
}

static json_t *config_read(const char *dir, char id[80], struct err *err);

/* Loads the image at images/<repo>/<tag> if it is one (and matches r->digest if given). */
static int image_load_tag(const char *data_dir, const struct image_ref *r, struct image *img,
                          struct err *err)
{
    int rc = image_walk(data_dir, r, err);

    if (rc < 0)
        return rc;
    if (rc != WALK_IMAGE)
        return -E_NOT_FOUND;
    img->dir = image_dir_of(data_dir, r);
    img->layers = xcalloc(1, sizeof *img->layers);
    img->layers[0] = xstrdup(img->dir);
    img->nlayers = 1;
    img->config = config_read(img->dir, img->id, err);
    if (!img->config) {
        image_release(img);
        return -E_INVALID;
    }
    if (r->digest[0] && strcmp(img->id, r->digest)) {
        image_release(img);
        return -E_NOT_FOUND;
    }
    return 0;
}

/* NAME@DIGEST without a tag: the first tag of NAME (in directory order) with that content. */
static int image_load_digest(const char *data_dir, struct image_ref *r, struct image *img,
                             struct err *err)
{
    char *dir = xasprintf("%s/images/%s", data_dir, r->repo);
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = -E_NOT_FOUND;

    while (d && rc == -E_NOT_FOUND && (e = readdir(d))) {
        if (!tag_ok(e->d_name))
            continue;
        memcpy(r->tag, e->d_name, strlen(e->d_name) + 1); /* tag_ok: <= IMAGE_TAG_MAX */
        rc = image_load_tag(data_dir, r, img, err);
        if (rc == -E_INVALID || rc == -E_CONFLICT)
            rc = -E_NOT_FOUND; /* a broken sibling does not hide a good one */
    }
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

int image_load(const char *data_dir, const char *ref, struct image *img, struct err *err)
{
    struct image_ref r;
    int rc;

    memset(img, 0, sizeof *img);
    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    if (r.digest[0] && !r.has_tag)
        rc = image_load_digest(data_dir, &r, img, err);
    else
        rc = image_load_tag(data_dir, &r, img, err);
    if (rc == -E_NOT_FOUND) {
        char *where = xasprintf("%s/images", data_dir);

        err_set(err, -E_NOT_FOUND, "image \"%s:%s%s%s\" not found in the local image store "
                "(%s); import it with: kroll image import DIR %s:%s", r.repo,
                r.has_tag || !r.digest[0] ? r.tag : "", r.digest[0] ? "@" : "", r.digest, where,
                r.repo, r.has_tag || !r.digest[0] ? r.tag : "TAG");
        free(where);
    }
    return rc;
}

static json_t *config_read(const char *dir, char id[80], struct err *err)
{
    char *path = xasprintf("%s/image.json", dir);
    json_error_t je;
    json_t *cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &je);

    if (!cfg) {
        err_set(err, -E_INVALID, "%s: %s (line %d)", path, je.text, je.line);
    } else if (image_config_check(cfg, err) < 0) {
        json_decref(cfg);
        cfg = NULL;
    } else if (id) {
        char *txt = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        unsigned char md[32];
        unsigned int n = 0;

        EVP_Digest(txt, strlen(txt), md, &n, EVP_sha256(), NULL);
        strcpy(id, "sha256:");
        for (unsigned i = 0; i < n && i < 32; i++)
            sprintf(id + 7 + 2 * i, "%02x", md[i]);
        free(txt);
    }
    free(path);
    return cfg;
}

void image_release(struct image *img)
{
    for (size_t i = 0; i < img->nlayers; i++)
        free(img->layers[i]);
    free(img->layers);
    free(img->dir);
    json_decref(img->config);
    memset(img, 0, sizeof *img);
}

/* ---- import / remove / list ---- */

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    ssize_t n;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (out < 0)
        goto out;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            goto out;
    rc = n < 0 ? -1 : 0;
out:
    if (out >= 0 && close(out) < 0)
        rc = -1;
    close(in);
    return rc;
}

/* Recursive copy of src into dst (which must not exist): directories, regular files (mode
 * kept) and symlinks (copied as links). */
static int copy_tree(const char *src, const char *dst, struct err *err)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (lstat(src, &st) < 0)
        return err_set(err, -E_INVALID, "%s: %s", src, strerror(errno));
    if (S_ISLNK(st.st_mode)) {
        char t[PATH_MAX];
        ssize_t n = readlink(src, t, sizeof t - 1);

        if (n < 0 || (t[n] = 0, symlink(t, dst) < 0))
            return err_set(err, -E_INTERNAL, "copying link %s: %s", src, strerror(errno));
        return 0;
    }
    if (S_ISREG(st.st_mode)) {
        if (copy_file(src, dst, st.st_mode) < 0)
            return err_set(err, -E_INTERNAL, "copying %s: %s", src, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return 0; /* sockets, fifos, devices: not image content */
    if (mkdir(dst, (st.st_mode & 07777) | 0700) < 0)
        return err_set(err, -E_INTERNAL, "mkdir %s: %s", dst, strerror(errno));
    if (!(d = opendir(src)))
        return err_set(err, -E_INTERNAL, "%s: %s", src, strerror(errno));
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *s = xasprintf("%s/%s", src, e->d_name), *t = xasprintf("%s/%s", dst, e->d_name);

        rc = copy_tree(s, t, err);
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p) < 0 ? -1 : 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates path and missing parents 0700 (the data dir and images/ are private). */
static int mkdir_p(const char *path)
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

/* Where an import of r may go: not over a repository (which would take its tags with it),
 * not under another image, not through a symlink. */
static int import_target_check(const char *data_dir, const struct image_ref *r, struct err *err)
{
    int rc;

    if (r->digest[0])
        return err_set(err, -E_INVALID, "import names a tag (NAME[:TAG]), not a digest: the "
                       "digest of an image is computed from its image.json");
    rc = image_walk(data_dir, r, err);
    if (rc == WALK_REPO)
        return err_set(err, -E_CONFLICT, "cannot import as %s:%s: %s/images/%s/%s holds the "
                       "repository %s/%s; choose another name", r->repo, r->tag, data_dir,
                       r->repo, r->tag, r->repo, r->tag);
    return rc < 0 ? rc : 0;
}

static int src_check(const char *src_dir, struct err *err)
{
    struct stat st;
    json_t *cfg;

    if (stat(src_dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(err, -E_INVALID, "%s: not a directory", src_dir);
    if (!(cfg = config_read(src_dir, NULL, err))) {
        char *p = xasprintf("%s/image.json", src_dir);

        if (access(p, F_OK) < 0)
            err_set(err, -E_INVALID, "%s has no image.json (an OCI image config with "
                    "Entrypoint/Cmd/Env/WorkingDir)", src_dir);
        free(p);
        return -E_INVALID;
    }
    json_decref(cfg);
    return 0;
}

int image_import(const char *data_dir, const char *src_dir, const char *ref, struct err *err)
{
    struct image_ref r;
    char *dst = NULL, *tmp = NULL, *old = NULL, *parent = NULL;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0 || (rc = src_check(src_dir, err)) < 0 ||
        (rc = import_target_check(data_dir, &r, err)) < 0)
        return rc;
    dst = image_dir_of(data_dir, &r);
    parent = xstrdup(dst);
    *strrchr(parent, '/') = 0;
    /* Scratch names start with "." and so can be neither a tag nor a repository component. */
    tmp = xasprintf("%s/.import-%s-%d", parent, r.tag, (int)getpid());
    old = xasprintf("%s/.old-%s-%d", parent, r.tag, (int)getpid());
    if (mkdir_p(parent) < 0) {
        rc = err_set(err, -E_INTERNAL, "mkdir %s: %s", parent, strerror(errno));
        goto out;
    }
    rm_tree(tmp);
    if ((rc = copy_tree(src_dir, tmp, err)) < 0) {
        rm_tree(tmp);
        goto out;
    }
    /* Replace an older copy: move it aside first so dst is never half-written. */
    if (rename(dst, old) < 0 && errno != ENOENT) {
        rc = err_set(err, -E_INTERNAL, "rename %s: %s", dst, strerror(errno));
        rm_tree(tmp);
        goto out;
    }
    if (rename(tmp, dst) < 0) {
        rc = err_set(err, -E_INTERNAL, "rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    rm_tree(old);
    rc = 0;
out:
    free(dst), free(tmp), free(old), free(parent);
    return rc;
}

int image_remove(const char *data_dir, const char *ref, struct err *err)
{
    struct image_ref r;
    struct image img;
    char *dir, *p;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    if (r.digest[0] && !r.has_tag)
        return err_set(err, -E_INVALID, "rm removes one tag: name it as NAME:TAG (optionally "
                       "NAME:TAG@DIGEST to check its content)");
    memset(&img, 0, sizeof img);
    rc = image_load_tag(data_dir, &r, &img, err);
    image_release(&img);
    if (rc == -E_NOT_FOUND || rc == -E_CONFLICT)
        return err_set(err, -E_NOT_FOUND, "No such image: %s:%s%s%s", r.repo, r.tag,
                       r.digest[0] ? "@" : "", r.digest);
    if (rc == -E_INVALID && r.digest[0])
        return rc; /* the content cannot be checked against the digest */
    if (rc < 0 && rc != -E_INVALID)
        return rc; /* an unreadable image.json is still an image: it may be removed */
    dir = image_dir_of(data_dir, &r);
    rm_tree(dir);
    /* Drop now-empty repository directories up to images/. */
    while ((p = strrchr(dir, '/')) && (*p = 0, strlen(dir) > strlen(data_dir) + 7))
        if (rmdir(dir) < 0)
            break;
    free(dir);
    return 0;
}

static long long tree_size;
static int size_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)p, (void)f;
    if (flag == FTW_F)
        tree_size += st->st_size;
    return 0;
}

/* Whether rel ("<repo...>/<tag>") is what parsing its reference names, so ls shows only
 * images that import, rm and pods can name. */
static int rel_is_ref(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    char *ref = xasprintf("%.*s:%s", (int)(slash - rel), rel, slash + 1);
    struct image_ref r;
    struct err err;
    int ok;

    err_init(&err);
    ok = image_ref_parse(ref, &r, &err) == 0 && !strncmp(r.repo, rel, (size_t)(slash - rel)) &&
         r.repo[slash - rel] == 0 && !strcmp(r.tag, slash + 1);
    err_release(&err);
    free(ref);
    return ok;
}

/* Walks images/ recursively (never through symlinks): a directory with image.json is an
 * image (<repo...>/<tag>) and is not descended into. */
static void list_walk(const char *root, const char *rel, json_t *out, int depth)
{
    char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    char *cfg = xasprintf("%s/image.json", dir);
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (depth > 0 && lstat(cfg, &st) == 0 && S_ISREG(st.st_mode)) {
        const char *slash = strrchr(rel, '/');

        tree_size = 0;
        if (slash && rel_is_ref(rel)) {
            nftw(dir, size_entry, 16, FTW_PHYS);
            json_array_append_new(out, json_pack("{s:s%,s:s,s:I,s:I}", "repository", rel,
                                                 (size_t)(slash - rel), "tag", slash + 1,
                                                 "size", (json_int_t)tree_size, "created",
                                                 (json_int_t)st.st_mtime));
        }
    } else if (depth < 8 && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (d = opendir(dir))) {
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue; /* ., .., and import scratch directories */
            char *sub = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);

            list_walk(root, sub, out, depth + 1);
            free(sub);
        }
        closedir(d);
    }
    free(cfg);
    free(dir);
}

static int cmp_img(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "repository")),
                   json_string_value(json_object_get(y, "repository")));

    return c ? c : strcmp(json_string_value(json_object_get(x, "tag")),
                          json_string_value(json_object_get(y, "tag")));
}

json_t *image_list(const char *data_dir)
{
    char *root = xasprintf("%s/images", data_dir);
    json_t *out = json_array(), *sorted = json_array();
    size_t n, i;
    json_t **v;

    list_walk(root, "", out, 0);
    n = json_array_size(out);
    v = xcalloc(n ? n : 1, sizeof *v);
    for (i = 0; i < n; i++)
        v[i] = json_array_get(out, i);
    qsort(v, n, sizeof *v, cmp_img);
    for (i = 0; i < n; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(out);
    free(root);
    return sorted;
}
