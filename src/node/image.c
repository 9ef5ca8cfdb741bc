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

int image_ref_parse(const char *ref, struct image_ref *out, struct err *err)
{
    const char *p = ref, *slash, *colon;
    size_t rlen;

    if (!ref || !*ref)
        return err_set(err, -E_INVALID, "image name is empty");
    if (strchr(ref, '@'))
        return err_set(err, -E_INVALID, "image \"%s\": digests are not supported by the local "
                       "image store; use NAME:TAG", ref);
    if (strncmp(p, "docker.io/", 10) == 0)
        p += 10;
    if (strncmp(p, "library/", 8) == 0 && strchr(p + 8, '/') == NULL)
        p += 8;
    slash = strrchr(p, '/');
    colon = strrchr(p, ':');
    if (colon && slash && colon < slash)
        colon = NULL;
    rlen = colon ? (size_t)(colon - p) : strlen(p);
    if (rlen == 0 || rlen >= sizeof out->repo)
        return err_set(err, -E_INVALID, "invalid image name \"%s\"", ref);
    memcpy(out->repo, p, rlen);
    out->repo[rlen] = 0;
    snprintf(out->tag, sizeof out->tag, "%s", colon ? colon + 1 : "latest");
    if (!out->tag[0] || strlen(colon ? colon + 1 : "") >= sizeof out->tag)
        return err_set(err, -E_INVALID, "invalid image tag in \"%s\"", ref);
    /* Docker's grammar, loosely: lower-case path components of [a-z0-9._-]. */
    for (const char *c = out->repo; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("._-/", *c)))
            return err_set(err, -E_INVALID, "invalid reference format: repository name \"%s\" "
                           "must be lowercase [a-z0-9._-/]", out->repo);
    if (strstr(out->repo, "..") || out->repo[0] == '/' || out->repo[rlen - 1] == '/' ||
        strstr(out->repo, "//"))
        return err_set(err, -E_INVALID, "invalid reference format: \"%s\"", ref);
    for (const char *c = out->tag; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("._-", *c)))
            return err_set(err, -E_INVALID, "invalid reference format: tag \"%s\"", out->tag);
    if (out->tag[0] == '.' || out->tag[0] == '-')
        return err_set(err, -E_INVALID, "invalid reference format: tag \"%s\"", out->tag);
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

int image_load(const char *data_dir, const char *ref, struct image *img, struct err *err)
{
    struct image_ref r;
    struct stat st;
    int rc;

    memset(img, 0, sizeof *img);
    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    img->dir = image_dir_of(data_dir, &r);
    if (stat(img->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        err_set(err, -E_NOT_FOUND, "image \"%s:%s\" not found in the local image store (%s); "
                "import it with: kroll image import DIR %s:%s", r.repo, r.tag, img->dir, r.repo,
                r.tag);
        image_release(img);
        return -E_NOT_FOUND;
    }
    img->config = config_read(img->dir, img->id, err);
    if (!img->config) {
        image_release(img);
        return -E_INVALID;
    }
    return 0;
}

void image_release(struct image *img)
{
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

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];

    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int image_import(const char *data_dir, const char *src_dir, const char *ref, struct err *err)
{
    struct image_ref r;
    struct stat st;
    char *dst = NULL, *tmp = NULL, *old = NULL, *parent = NULL, *slash;
    json_t *cfg;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
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
    dst = image_dir_of(data_dir, &r);
    tmp = xasprintf("%s.import-%d", dst, (int)getpid());
    old = xasprintf("%s.old-%d", dst, (int)getpid());
    parent = xstrdup(dst);
    if ((slash = strrchr(parent, '/')))
        *slash = 0;
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
    struct stat st;
    char *dir, *p;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    dir = image_dir_of(data_dir, &r);
    if (stat(dir, &st) < 0) {
        err_set(err, -E_NOT_FOUND, "No such image: %s:%s", r.repo, r.tag);
        free(dir);
        return -E_NOT_FOUND;
    }
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

/* Walks images/ recursively: a directory with image.json is an image (<repo...>/<tag>). */
static void list_walk(const char *root, const char *rel, json_t *out, int depth)
{
    char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    char *cfg = xasprintf("%s/image.json", dir);
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (depth > 0 && stat(cfg, &st) == 0 && strrchr(rel, '/')) {
        const char *slash = strrchr(rel, '/');

        tree_size = 0;
        nftw(dir, size_entry, 16, FTW_PHYS);
        json_array_append_new(out, json_pack("{s:s%,s:s,s:I,s:I}", "repository", rel,
                                             (size_t)(slash - rel), "tag", slash + 1, "size",
                                             (json_int_t)tree_size, "created",
                                             (json_int_t)st.st_mtime));
    } else if (depth < 8 && (d = opendir(dir))) {
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strstr(e->d_name, ".import-") || strstr(e->d_name, ".old-"))
                continue;
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
