/* The image store's front: reference parsing, loading an image for a container start (the tag
 * index and the config only), removing a tag (and GC), listing and inspecting. The store's
 * layout is in oci_store.c, import in oci_import.c, build in oci_build.c, pull in oci_pull.c. */
#include "node/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "node/oci-int.h"

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

/* ---- the store ---- */

static int tag_is(const json_t *t, const char *repo, const char *tag)
{
    const char *r = json_string_value(json_object_get(t, "repository"));
    const char *g = json_string_value(json_object_get(t, "tag"));

    return r && g && !strcmp(r, repo) && (!tag || !strcmp(g, tag));
}

/* The tag entry r names (borrowed from tags): repo:tag, checked against r->digest when given
 * (the manifest's or the config's digest); NAME@DIGEST without a tag is the first tag of NAME
 * with that content. */
static json_t *tag_find(json_t *tags, const struct image_ref *r)
{
    json_t *t;
    size_t i;

    json_array_foreach(json_object_get(tags, "tags"), i, t) {
        const char *m = json_string_value(json_object_get(t, "manifest"));
        const char *c = json_string_value(json_object_get(t, "config"));

        if (!tag_is(t, r->repo, r->has_tag || !r->digest[0] ? r->tag : NULL))
            continue;
        if (r->digest[0] && (!m || strcmp(m, r->digest)) && (!c || strcmp(c, r->digest)))
            continue;
        return t;
    }
    return NULL;
}

static int not_found(const char *data_dir, const struct image_ref *r, struct err *err)
{
    int tagged = r->has_tag || !r->digest[0];

    return err_set(err, -E_NOT_FOUND, "image \"%s:%s%s%s\" not found in the local image store "
                   "(%s/images); import it with: kroll image import SRC %s:%s", r->repo,
                   tagged ? r->tag : "", r->digest[0] ? "@" : "", r->digest, data_dir, r->repo,
                   tagged ? r->tag : "TAG");
}

/* Fills img's config, id and layers from the config blob of tag entry t. */
static int image_fill(const char *root, const json_t *t, struct image *img, struct err *err)
{
    struct oci_store s = {.root = (char *)root, .lock_fd = -1};
    const char *c = json_string_value(json_object_get(t, "config"));
    const char *m = json_string_value(json_object_get(t, "manifest"));
    json_t *cfg = oci_blob_json(&s, c ? c : "", err), *ids, *v, *cc;
    size_t i;
    int rc = 0;

    if (!cfg)
        return err->code == -E_NOT_FOUND ? -E_INVALID : err->code;
    cc = json_object_get(cfg, "config");
    img->config = json_is_object(cc) ? json_incref(cc) : json_object();
    if (image_config_check(img->config, err) < 0) {
        rc = err_set(err, -E_INVALID, "%s/blobs/sha256/%s: %s", root, c + 7, err->msg);
        goto out;
    }
    ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    img->layers = xcalloc(json_array_size(ids) + 1, sizeof *img->layers);
    json_array_foreach(ids, i, v) {
        img->layers[i] = oci_layer_path(root, oci_digest_ok(json_string_value(v))
                                                  ? json_string_value(v) : "sha256:?");
        img->nlayers++;
        if (access(img->layers[i], F_OK) < 0) {
            rc = err_set(err, -E_INVALID, "layer %s of the image is missing from the store",
                         img->layers[i]);
            goto out;
        }
    }
    if (img->nlayers == 1)
        img->dir = xstrdup(img->layers[0]);
    snprintf(img->id, sizeof img->id, "%s", c);
    snprintf(img->digest, sizeof img->digest, "%s", m ? m : "");
out:
    json_decref(cfg);
    return rc;
}

int image_load(const char *data_dir, const char *ref, struct image *img, struct err *err)
{
    struct image_ref r;
    char *root;
    json_t *tags, *t;
    int rc;

    memset(img, 0, sizeof *img);
    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    root = xasprintf("%s/images", data_dir);
    if (!(tags = oci_tags_read(root, err)))
        rc = err->code;
    else if (!(t = tag_find(tags, &r)))
        rc = not_found(data_dir, &r, err);
    else
        rc = image_fill(root, t, img, err);
    if (rc < 0)
        image_release(img);
    json_decref(tags);
    free(root);
    return rc;
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

int image_remove(const char *data_dir, const char *ref, struct err *err)
{
    struct oci_store s;
    struct image_ref r;
    json_t *tags = NULL, *t, *list;
    int rc;

    if ((rc = image_ref_parse(ref, &r, err)) < 0)
        return rc;
    if (r.digest[0] && !r.has_tag)
        return err_set(err, -E_INVALID, "rm removes one tag: name it as NAME:TAG (optionally "
                       "NAME:TAG@DIGEST to check its content)");
    if ((rc = oci_store_open(&s, data_dir, 0, err)) < 0)
        return rc;
    if (!(tags = oci_tags_read(s.root, err))) {
        rc = err->code;
    } else if (!(t = tag_find(tags, &r))) {
        rc = err_set(err, -E_NOT_FOUND, "No such image: %s:%s%s%s", r.repo, r.tag,
                     r.digest[0] ? "@" : "", r.digest);
    } else {
        list = json_object_get(tags, "tags");
        for (size_t i = 0; i < json_array_size(list); i++)
            if (json_array_get(list, i) == t)
                json_array_remove(list, i);
        if ((rc = oci_tags_write(s.root, tags, err)) == 0)
            oci_store_gc(&s, tags);
    }
    json_decref(tags);
    oci_store_close(&s);
    return rc;
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
    struct err err;
    json_t *tags, *out = json_array(), *t, **v;
    size_t n, i;

    err_init(&err);
    tags = oci_tags_read(root, &err);
    n = json_array_size(json_object_get(tags, "tags"));
    v = xcalloc(n ? n : 1, sizeof *v);
    json_array_foreach(json_object_get(tags, "tags"), i, t) {
        if (!json_string_value(json_object_get(t, "repository")) ||
            !json_string_value(json_object_get(t, "tag")))
            t = json_pack("{s:s,s:s}", "repository", "<broken>", "tag", "<broken>");
        else
            t = json_deep_copy(t);
        json_object_set_new(t, "id", json_string(json_string_value(json_object_get(t, "config"))
                                                     ?: ""));
        v[i] = t;
    }
    qsort(v, n, sizeof *v, cmp_img);
    for (i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    json_decref(tags);
    err_release(&err);
    free(root);
    return out;
}

/* RepoTags and RepoDigests: every tag of the store holding the config id. */
static void inspect_names(json_t *tags, const char *id, json_t *out)
{
    json_t *rt = json_array(), *rd = json_array(), *t;
    size_t i;

    json_array_foreach(json_object_get(tags, "tags"), i, t) {
        const char *c = json_string_value(json_object_get(t, "config"));
        const char *repo = json_string_value(json_object_get(t, "repository"));
        const char *m = json_string_value(json_object_get(t, "manifest"));

        if (!c || !repo || strcmp(c, id))
            continue;
        json_array_append_new(rt, json_sprintf("%s:%s", repo,
                                               json_string_value(json_object_get(t, "tag"))));
        json_array_append_new(rd, json_sprintf("%s@%s", repo, m ? m : ""));
    }
    json_object_set_new(out, "RepoTags", rt);
    json_object_set_new(out, "RepoDigests", rd);
}

json_t *image_inspect(const char *data_dir, const char *ref, struct err *err)
{
    struct image_ref r;
    struct image img;
    char *root = xasprintf("%s/images", data_dir);
    json_t *tags = NULL, *t, *out = NULL, *cfg = NULL, *layers;
    struct oci_store s = {.root = root, .lock_fd = -1};

    if (image_load(data_dir, ref, &img, err) < 0 || image_ref_parse(ref, &r, err) < 0 ||
        !(tags = oci_tags_read(root, err)) || !(t = tag_find(tags, &r)) ||
        !(cfg = oci_blob_json(&s, img.id, err)))
        goto out;
    layers = json_array();
    for (size_t i = 0; i < img.nlayers; i++)
        json_array_append_new(layers, json_string(img.layers[i]));
    out = json_pack("{s:s,s:s,s:O?,s:O?,s:O?,s:O,s:O?,s:O?,s:o}", "Id", img.id, "Digest",
                    img.digest, "Created", json_object_get(cfg, "created"), "Architecture",
                    json_object_get(cfg, "architecture"), "Os", json_object_get(cfg, "os"),
                    "Config", img.config, "RootFS", json_object_get(cfg, "rootfs"), "Size",
                    json_object_get(t, "size"), "Layers", layers);
    inspect_names(tags, img.id, out);
out:
    image_release(&img);
    json_decref(cfg);
    json_decref(tags);
    free(root);
    return out;
}
