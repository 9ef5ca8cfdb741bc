/* CDI spec files: parsing (JSON, or YAML through the API's decoder), validation as SPEC.md and
 * the CDI library (pkg/cdi) apply it, and the registry of devices from a list of spec
 * directories. A file that fails validation is left out whole; the other files still count.
 * Conflicts follow the CDI library's cache: a later directory wins; two files of one
 * directory defining the same device both lose it. */
#include "node/cdi-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"

const char *const cdi_default_dirs[] = {"/etc/cdi", "/var/run/cdi"};
const size_t cdi_n_default_dirs = 2;

/* ---- names ---- */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* One name segment: first character a letter (or alnum when first_alnum), last alnum, the
 * middle alnum or one of extra. Returns NULL when valid, else what is wrong. */
static const char *segment_check(const char *s, size_t n, size_t max, int first_alnum,
                                 const char *extra)
{
    if (n == 0)
        return "is empty";
    if (n > max)
        return "is too long";
    if (first_alnum ? !is_alnum(s[0]) : !is_alpha(s[0]))
        return first_alnum ? "must start with a letter or digit" : "must start with a letter";
    if (!is_alnum(s[n - 1]))
        return "must end with a letter or digit";
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && !strchr(extra, s[i]))
            return "has a character that is not allowed";
    return NULL;
}

/* kind = vendor/class: vendor a DNS-subdomain-like name, class up to 63 characters. */
static int kind_check(const char *kind, const char *path, struct err *err)
{
    const char *slash = strchr(kind, '/'), *why;

    if (!slash || strchr(slash + 1, '/'))
        return err_set(err, -E_INVALID, "%s: kind \"%s\" must be vendor.com/class", path, kind);
    if ((why = segment_check(kind, (size_t)(slash - kind), 253, 0, "-_.")))
        return err_set(err, -E_INVALID, "%s: kind \"%s\": vendor %s", path, kind, why);
    if ((why = segment_check(slash + 1, strlen(slash + 1), 63, 0, "-_.")))
        return err_set(err, -E_INVALID, "%s: kind \"%s\": class %s", path, kind, why);
    return 0;
}

static int devname_check(const char *name, const char *path, struct err *err)
{
    const char *why = segment_check(name, strlen(name), CDI_NAME_MAX, 1, "-_.:");

    return why ? err_set(err, -E_INVALID, "%s: device name \"%s\" %s", path, name, why) : 0;
}

/* ---- containerEdits ---- */

struct vctx {
    const char *path; /* spec file, for messages */
    char where[160];  /* "devices[2].containerEdits" */
    int min_minor;    /* the lowest 0.Y.0 version whose features the spec uses */
};

static int need(struct vctx *v, int minor)
{
    if (minor > v->min_minor)
        v->min_minor = minor;
    return 0;
}

static int bad(struct vctx *v, struct err *err, const char *what, size_t i, const char *why)
{
    return err_set(err, -E_INVALID, "%s: %s.%s[%zu]: %s", v->path, v->where, what, i, why);
}

static int strings_check(const json_t *a, int env, struct vctx *v, const char *what,
                         struct err *err)
{
    size_t i;
    json_t *e;

    if (a && !json_is_array(a))
        return err_set(err, -E_INVALID, "%s: %s.%s must be a list", v->path, v->where, what);
    json_array_foreach(a, i, e)
    {
        const char *s = json_string_value(e);

        if (!s)
            return bad(v, err, what, i, "must be a string");
        if (env && (!strchr(s, '=') || s[0] == '='))
            return bad(v, err, what, i, "invalid environment variable (want NAME=VALUE)");
    }
    return 0;
}

/* An optional integer field within [lo, hi]. */
static int int_field(const json_t *o, const char *key, json_int_t lo, json_int_t hi)
{
    const json_t *x = json_object_get(o, key);

    return !x || (json_is_integer(x) && json_integer_value(x) >= lo && json_integer_value(x) <= hi);
}

static int node_check(const json_t *d, size_t i, struct vctx *v, struct err *err)
{
    const char *p = jx_str(d, "path"), *t = jx_str(d, "type"), *perm = jx_str(d, "permissions");
    static const char *const ints[] = {"major", "minor", "fileMode", "uid", "gid"};

    if (!json_is_object(d))
        return bad(v, err, "deviceNodes", i, "must be an object");
    if (!p || p[0] != '/')
        return bad(v, err, "deviceNodes", i, "path must be an absolute path");
    if (json_object_get(d, "hostPath") &&
        (!jx_str(d, "hostPath") || jx_str(d, "hostPath")[0] != '/'))
        return bad(v, err, "deviceNodes", i, "hostPath must be an absolute path");
    if (json_object_get(d, "hostPath"))
        need(v, 5);
    if ((json_object_get(d, "type") && !t) || (t && *t && (strlen(t) != 1 || !strchr("bcup", *t))))
        return bad(v, err, "deviceNodes", i, "type must be one of b, c, u, p");
    if ((json_object_get(d, "permissions") && !perm) ||
        (perm && strspn(perm, "rwm") != strlen(perm)))
        return bad(v, err, "deviceNodes", i, "permissions must be made of r, w and m");
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
        if (!int_field(d, ints[k], 0, k < 2 ? INT32_MAX : UINT32_MAX)) {
            char why[64];

            snprintf(why, sizeof why, "%s must be a non-negative integer", ints[k]);
            return bad(v, err, "deviceNodes", i, why);
        }
    return 0;
}

static int mount_check(const json_t *m, size_t i, struct vctx *v, struct err *err)
{
    const char *h = jx_str(m, "hostPath"), *c = jx_str(m, "containerPath");
    int rc;

    if (!json_is_object(m))
        return bad(v, err, "mounts", i, "must be an object");
    if (!h || !*h)
        return bad(v, err, "mounts", i, "invalid mount, empty host path");
    if (!c || c[0] != '/')
        return bad(v, err, "mounts", i, "containerPath must be an absolute path");
    if (json_object_get(m, "type") && !jx_str(m, "type"))
        return bad(v, err, "mounts", i, "type must be a string");
    if (json_object_get(m, "type"))
        need(v, 4);
    snprintf(v->where + strlen(v->where), sizeof v->where - strlen(v->where), ".mounts[%zu]", i);
    rc = strings_check(json_object_get(m, "options"), 0, v, "options", err);
    *strrchr(v->where, '.') = 0;
    return rc;
}

static int hook_check(const json_t *h, size_t i, struct vctx *v, struct err *err)
{
    static const char *const names[] = {"prestart",       "createRuntime", "createContainer",
                                        "startContainer", "poststart",     "poststop"};
    const char *n = jx_str(h, "hookName"), *p = jx_str(h, "path");
    int ok = 0, rc;

    for (size_t k = 0; n && k < sizeof names / sizeof names[0]; k++)
        ok |= strcmp(n, names[k]) == 0;
    if (!json_is_object(h))
        return bad(v, err, "hooks", i, "must be an object");
    if (!ok)
        return bad(v, err, "hooks", i,
                   "invalid hookName (want prestart, createRuntime, "
                   "createContainer, startContainer, poststart or poststop)");
    if (!p || p[0] != '/')
        return bad(v, err, "hooks", i, "path must be an absolute path");
    if (!int_field(h, "timeout", 1, INT32_MAX))
        return bad(v, err, "hooks", i, "timeout must be greater than zero");
    snprintf(v->where + strlen(v->where), sizeof v->where - strlen(v->where), ".hooks[%zu]", i);
    if ((rc = strings_check(json_object_get(h, "args"), 0, v, "args", err)) == 0)
        rc = strings_check(json_object_get(h, "env"), 1, v, "env", err);
    *strrchr(v->where, '.') = 0;
    return rc;
}

typedef int item_check_fn(const json_t *item, size_t i, struct vctx *v, struct err *err);

static int list_check(const json_t *e, const char *key, item_check_fn *fn, struct vctx *v,
                      struct err *err)
{
    const json_t *a = json_object_get(e, key), *it;
    size_t i;
    int rc;

    if (a && !json_is_array(a))
        return err_set(err, -E_INVALID, "%s: %s.%s must be a list", v->path, v->where, key);
    json_array_foreach(a, i, it) if ((rc = fn(it, i, v, err)) < 0) return rc;
    return 0;
}

/* Validates a containerEdits object; *empty tells whether it edits nothing. */
static int edits_check(const json_t *e, struct vctx *v, int *empty, struct err *err)
{
    static const char *const keys[] = {"env",   "deviceNodes",    "mounts",
                                       "hooks", "additionalGids", "intelRdt"};
    const json_t *g = json_object_get(e, "additionalGids"), *x;
    size_t i;
    int rc;

    *empty = 1;
    if (!e || json_is_null(e))
        return 0;
    if (!json_is_object(e))
        return err_set(err, -E_INVALID, "%s: %s must be an object", v->path, v->where);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        *empty &= !json_array_size(json_object_get(e, keys[k])) &&
                  !json_is_object(json_object_get(e, keys[k]));
    if ((rc = strings_check(json_object_get(e, "env"), 1, v, "env", err)) < 0 ||
        (rc = list_check(e, "deviceNodes", node_check, v, err)) < 0 ||
        (rc = list_check(e, "mounts", mount_check, v, err)) < 0 ||
        (rc = list_check(e, "hooks", hook_check, v, err)) < 0)
        return rc;
    if (g && !json_is_array(g))
        return err_set(err, -E_INVALID, "%s: %s.additionalGids must be a list", v->path, v->where);
    json_array_foreach(g, i, x) if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                                    json_integer_value(x) >
                                        UINT32_MAX) return bad(v, err, "additionalGids", i,
                                                               "must be a group id");
    if (g || json_object_get(e, "intelRdt"))
        need(v, 7);
    if (json_object_get(e, "intelRdt") && !json_is_object(json_object_get(e, "intelRdt")))
        return err_set(err, -E_INVALID, "%s: %s.intelRdt must be an object", v->path, v->where);
    return 0;
}

/* ---- the spec ---- */

/* "0.Y.Z" with 3 <= Y <= 8: the versions this code knows. Returns Y, or -1. */
static int version_minor(const char *s)
{
    int y, z, n = 0;

    if (!s || sscanf(s, "0.%d.%d%n", &y, &z, &n) != 2 || s[n] || y < 3 || y > 8 || z < 0)
        return -1;
    return y;
}

static int devices_check(const json_t *spec, struct vctx *v, struct err *err)
{
    const json_t *devs = json_object_get(spec, "devices"), *d, *o;
    size_t i, j;
    int rc, empty;

    if (!json_is_array(devs) || json_array_size(devs) == 0)
        return err_set(err, -E_INVALID, "%s: invalid spec, no devices", v->path);
    json_array_foreach(devs, i, d)
    {
        const char *name = jx_str(d, "name");

        if (!json_is_object(d) || !name)
            return err_set(err, -E_INVALID, "%s: devices[%zu] needs a name", v->path, i);
        if ((rc = devname_check(name, v->path, err)) < 0)
            return rc;
        json_array_foreach(devs, j, o)
        {
            if (j >= i)
                break;
            if (strcmp(jx_str(o, "name"), name) == 0)
                return err_set(err, -E_INVALID, "%s: invalid spec, multiple device \"%s\"", v->path,
                               name);
        }
        if (json_object_get(d, "annotations"))
            need(v, 6);
        snprintf(v->where, sizeof v->where, "devices[%zu].containerEdits", i);
        if ((rc = edits_check(json_object_get(d, "containerEdits"), v, &empty, err)) < 0)
            return rc;
        if (empty)
            return err_set(err, -E_INVALID,
                           "%s: device \"%s\": invalid device, empty device "
                           "edits",
                           v->path, name);
    }
    return 0;
}

static int spec_check(const json_t *spec, const char *path, struct err *err)
{
    const char *ver = jx_str(spec, "cdiVersion"), *kind = jx_str(spec, "kind");
    struct vctx v = {.path = path, .min_minor = 3};
    int minor = version_minor(ver), rc, empty;

    if (!json_is_object(spec))
        return err_set(err, -E_INVALID, "%s: a CDI spec must be an object", path);
    if (minor < 0)
        return err_set(err, -E_INVALID, "%s: unsupported cdiVersion %s%s%s (want 0.3.0 to 0.8.0)",
                       path, ver ? "\"" : "", ver ? ver : "(missing)", ver ? "\"" : "");
    if (!kind)
        return err_set(err, -E_INVALID, "%s: kind is required", path);
    if ((rc = kind_check(kind, path, err)) < 0)
        return rc;
    if (strchr(strchr(kind, '/'), '.') || json_object_get(spec, "annotations"))
        need(&v, 6);
    if ((rc = devices_check(spec, &v, err)) < 0)
        return rc;
    snprintf(v.where, sizeof v.where, "containerEdits");
    if ((rc = edits_check(json_object_get(spec, "containerEdits"), &v, &empty, err)) < 0)
        return rc;
    if (minor < v.min_minor)
        return err_set(err, -E_INVALID,
                       "%s: the spec uses features of cdiVersion 0.%d.0 but "
                       "says %s",
                       path, v.min_minor, ver);
    return 0;
}

int cdi_spec_parse(const char *text, size_t len, int yaml, const char *path, json_t **out,
                   struct err *err)
{
    json_t *spec = NULL;
    json_error_t je;
    int rc;

    *out = NULL;
    if (len > CDI_SPEC_MAX_BYTES)
        return err_set(err, -E_TOO_LARGE, "%s: larger than %d bytes", path, CDI_SPEC_MAX_BYTES);
    if (yaml) {
        if ((rc = jx_parse_yaml(text, len, &spec, err)) < 0) {
            char m[sizeof err->msg];

            snprintf(m, sizeof m, "%s", err->msg);
            return err_set(err, rc, "%s: %s", path, m);
        }
    } else if (!(spec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je))) {
        return err_set(err, -E_INVALID, "%s: line %d: %s", path, je.line, je.text);
    }
    if ((rc = spec_check(spec, path, err)) < 0) {
        json_decref(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

/* ---- the registry ---- */

struct loadctx {
    struct cdi_registry *reg;
    int nerr;
    struct err *err;
};

static void problem(struct loadctx *c, const struct err *e)
{
    log_warn("cdi", "msg=\"CDI spec refused\" err=\"%s\"", e->msg);
    if (c->nerr++ == 0)
        err_set(c->err, e->code ? e->code : -E_INVALID, "%s", e->msg);
}

static int read_file(const char *path, char **buf, size_t *len, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    ssize_t r = 0;
    size_t n = 0;

    if (fd < 0)
        return err_set(err, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CDI_SPEC_MAX_BYTES) {
        close(fd);
        return err_set(err, -E_TOO_LARGE, "%s: not a regular file of at most %d bytes", path,
                       CDI_SPEC_MAX_BYTES);
    }
    *buf = xmalloc(CDI_SPEC_MAX_BYTES + 1);
    while (n <= CDI_SPEC_MAX_BYTES && (r = read(fd, *buf + n, CDI_SPEC_MAX_BYTES + 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    if (r < 0 || n > CDI_SPEC_MAX_BYTES) {
        free(*buf);
        return err_set(err, r < 0 ? -EIO : -E_TOO_LARGE,
                       "%s: cannot read (or grew past %d "
                       "bytes)",
                       path, CDI_SPEC_MAX_BYTES);
    }
    *len = n;
    return 0;
}

static int devcmp(const void *a, const void *b)
{
    return strverscmp(((const struct cdi_device *)a)->name, ((const struct cdi_device *)b)->name);
}

static void device_clear(struct cdi_device *d)
{
    free(d->name);
    free(d->path);
    json_decref(d->spec);
}

/* Adds the devices of one valid spec; a name already present from a lower-priority directory
 * is replaced, one from the same directory is a conflict (marked with prio -1, dropped). */
static void spec_add(struct loadctx *c, json_t *spec, const char *path, int prio)
{
    struct cdi_registry *r = c->reg;
    const char *kind = jx_str(spec, "kind");
    json_t *d;
    size_t i;

    json_array_foreach(json_object_get(spec, "devices"), i, d)
    {
        char *name = xasprintf("%s=%s", kind, jx_str(d, "name"));
        struct cdi_device *old = NULL;

        /* Resource control classes are the host admin's business, not a device's. */
        if (jx_get(d, "containerEdits.intelRdt") ||
            (i == 0 && jx_get(spec, "containerEdits.intelRdt")))
            log_info("cdi", "msg=\"intelRdt edits are ignored\" spec=%s device=%s", path, name);

        for (size_t k = 0; k < r->n && !old; k++)
            if (strcmp(r->devs[k].name, name) == 0)
                old = &r->devs[k];
        if (old && old->prio == prio) {
            struct err e = {.code = -E_CONFLICT};

            snprintf(e.msg, sizeof e.msg, "conflicting device \"%s\" (specs \"%s\", \"%s\")", name,
                     old->path, path);
            problem(c, &e);
            old->prio = -1 - prio;
            free(name);
            continue;
        }
        if (!old && r->n >= CDI_MAX_DEVICES) {
            struct err e = {.code = -E_TOO_LARGE};

            snprintf(e.msg, sizeof e.msg, "%s: more than %d CDI devices", path, CDI_MAX_DEVICES);
            problem(c, &e);
            free(name);
            break;
        }
        if (old && old->prio < 0 && -1 - old->prio == prio) {
            free(name); /* a third definition of a conflicting name stays dropped */
            continue;
        }
        if (old) {
            device_clear(old);
        } else {
            if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 16;
                r->devs = xrealloc(r->devs, r->cap * sizeof *r->devs);
            }
            old = &r->devs[r->n++];
        }
        *old = (struct cdi_device){.name = name,
                                   .kind_len = strlen(kind),
                                   .dev = d,
                                   .spec = json_incref(spec),
                                   .path = xstrdup(path),
                                   .prio = prio};
    }
}

static int spec_name_ok(const char *n)
{
    size_t l = strlen(n);

    if (n[0] == '.')
        return 0;
    return (l > 5 && strcmp(n + l - 5, ".json") == 0) ||
           (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

static int namecmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the spec files of one directory, in name order. */
static void dir_load(struct loadctx *c, const char *dir, int prio)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *names[CDI_MAX_SPEC_FILES];
    size_t n = 0;

    if (!d) {
        if (errno != ENOENT)
            log_warn("cdi", "msg=\"cannot read CDI spec directory\" dir=%s err=\"%s\"", dir,
                     strerror(errno));
        return;
    }
    while ((de = readdir(d)))
        if (spec_name_ok(de->d_name)) {
            if (n == CDI_MAX_SPEC_FILES) {
                struct err e = {.code = -E_TOO_LARGE};

                snprintf(e.msg, sizeof e.msg,
                         "%s: more than %d spec files; the rest are "
                         "ignored",
                         dir, CDI_MAX_SPEC_FILES);
                problem(c, &e);
                break;
            }
            names[n++] = xstrdup(de->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof names[0], namecmp);
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]), *buf = NULL;
        size_t len = 0, l = strlen(names[i]);
        json_t *spec = NULL;
        struct err e;

        err_init(&e);
        if (read_file(path, &buf, &len, &e) < 0 ||
            cdi_spec_parse(buf, len, names[i][l - 1] != 'n', path, &spec, &e) < 0)
            problem(c, &e);
        else
            spec_add(c, spec, path, prio);
        json_decref(spec);
        err_release(&e);
        free(buf);
        free(path);
        free(names[i]);
    }
}

int cdi_registry_load(const char *const *dirs, size_t n, struct cdi_registry **out, struct err *err)
{
    struct cdi_registry *r = xcalloc(1, sizeof *r);
    struct loadctx c = {.reg = r, .err = err};
    size_t k = 0;

    if (n > CDI_MAX_DIRS) {
        struct err e = {.code = -E_TOO_LARGE};

        snprintf(e.msg, sizeof e.msg, "more than %d CDI spec directories; the rest are ignored",
                 CDI_MAX_DIRS);
        problem(&c, &e);
        n = CDI_MAX_DIRS;
    }
    for (size_t i = 0; i < n; i++)
        dir_load(&c, dirs[i], (int)i);
    for (size_t i = 0; i < r->n; i++) {
        if (r->devs[i].prio < 0)
            device_clear(&r->devs[i]);
        else
            r->devs[k++] = r->devs[i];
    }
    r->n = k;
    if (r->n) /* qsort of NULL is undefined even for 0 elements */
        qsort(r->devs, r->n, sizeof *r->devs, devcmp);
    *out = r;
    if (c.nerr > 1) {
        char m[sizeof err->msg];

        snprintf(m, sizeof m, "%s", err->msg);
        err_set(err, err->code, "%s (and %d more problems)", m, c.nerr - 1);
    }
    return c.nerr ? err->code : 0;
}

void cdi_registry_free(struct cdi_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        device_clear(&reg->devs[i]);
    free(reg->devs);
    free(reg);
}

const struct cdi_device *cdi__find(const struct cdi_registry *reg, const char *name)
{
    struct cdi_device key = {.name = (char *)name};

    return reg && reg->n ? bsearch(&key, reg->devs, reg->n, sizeof key, devcmp) : NULL;
}

int cdi_has_device(const struct cdi_registry *reg, const char *name)
{
    return cdi__find(reg, name) != NULL;
}

size_t cdi_kind_count(const struct cdi_registry *reg, const char *kind)
{
    size_t n = 0, kl = strlen(kind);

    for (size_t i = 0; reg && i < reg->n; i++)
        n += reg->devs[i].kind_len == kl && strncmp(reg->devs[i].name, kind, kl) == 0;
    return n;
}

json_t *cdi_kinds(const struct cdi_registry *reg)
{
    json_t *o = json_object();

    for (size_t i = 0; reg && i < reg->n; i++) {
        char kind[CDI_NAME_MAX * 2 + 2];
        const struct cdi_device *d = &reg->devs[i];

        snprintf(kind, sizeof kind, "%.*s", (int)d->kind_len, d->name);
        json_object_set_new(o, kind,
                            json_integer(json_integer_value(json_object_get(o, kind)) + 1));
    }
    return o;
}
