/* CDI edits merged into an OCI runtime spec (as the CDI library's ContainerEdits.Apply does:
 * env set-or-replace, device nodes completed from the host node, cgroup allow rules, mounts
 * ordered parents first, hooks, additional gids), and the allocation of a kind's devices to
 * containers. Edits go to a copy first, so a failure leaves the caller's spec as it was. */
#include "node/cdi-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/jx.h"
#include "core/log.h"

/* ---- edits ---- */

static json_t *arr_at(json_t *o, const char *path)
{
    json_t *a = jx_get(o, path);

    if (!json_is_array(a)) {
        a = json_array();
        jx_set(o, path, a);
    }
    return a;
}

static void env_apply(json_t *oci, const json_t *env)
{
    json_t *dst = arr_at(oci, "process.env"), *e, *x;
    size_t i, j;

    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        size_t kl = strcspn(s, "=");
        int done = 0;

        json_array_foreach(dst, j, x)
        {
            const char *t = json_string_value(x);

            if (t && strncmp(t, s, kl) == 0 && t[kl] == '=') {
                json_array_set(dst, j, e);
                done = 1;
                break;
            }
        }
        if (!done)
            json_array_append(dst, e);
    }
}

/* Fills type, major and minor from the host node when the spec leaves them out (the CDI
 * library's fillMissingInfo). */
static int node_complete(json_t *n, struct err *err)
{
    const char *host = jx_str(n, "hostPath") ?: jx_str(n, "path"), *t = jx_str(n, "type");
    struct stat st;
    char ht;

    if (t && *t && (jx_int(n, "major", 0) != 0 || strcmp(t, "p") == 0))
        return 0;
    if (stat(host, &st) < 0)
        return err_set(err, -errno, "CDI device node %s: %s", host, strerror(errno));
    ht = S_ISBLK(st.st_mode) ? 'b' : S_ISCHR(st.st_mode) ? 'c' : S_ISFIFO(st.st_mode) ? 'p' : 0;
    if (!ht)
        return err_set(err, -E_INVALID, "CDI device node %s is not a device node", host);
    if (t && *t && !(t[0] == ht || (t[0] == 'u' && ht == 'c')))
        return err_set(err, -E_INVALID,
                       "CDI device node %s: the host node is of type %c, the "
                       "spec says %s",
                       host, ht, t);
    if (!t || !*t)
        json_object_set_new(n, "type", json_sprintf("%c", ht));
    if (ht != 'p' && jx_int(n, "major", 0) == 0 && jx_int(n, "minor", 0) == 0) {
        json_object_set_new(n, "major", json_integer(major(st.st_rdev)));
        json_object_set_new(n, "minor", json_integer(minor(st.st_rdev)));
    }
    if (!json_object_get(n, "fileMode"))
        json_object_set_new(n, "fileMode", json_integer(st.st_mode & 07777));
    return 0;
}

static void array_remove_by(json_t *a, const char *key, const char *val)
{
    for (size_t i = json_array_size(a); i-- > 0;)
        if (strcmp(jx_str(json_array_get(a, i), key) ?: "", val) == 0)
            json_array_remove(a, i);
}

static int nodes_apply(json_t *oci, const json_t *nodes, struct err *err)
{
    json_t *n, *dev;
    size_t i;
    int rc;

    json_array_foreach(nodes, i, n)
    {
        const char *perm = jx_str(n, "permissions");
        json_int_t uid = jx_int(oci, "process.user.uid", 0),
                   gid = jx_int(oci, "process.user.gid", 0);

        dev = json_deep_copy(n);
        if ((rc = node_complete(dev, err)) < 0) {
            json_decref(dev);
            return rc;
        }
        json_object_del(dev, "hostPath");
        json_object_del(dev, "permissions");
        /* The container's user owns the node unless the spec says otherwise. */
        if (!json_object_get(dev, "uid") && uid > 0)
            json_object_set_new(dev, "uid", json_integer(uid));
        if (!json_object_get(dev, "gid") && gid > 0)
            json_object_set_new(dev, "gid", json_integer(gid));
        array_remove_by(arr_at(oci, "linux.devices"), "path", jx_str(dev, "path"));
        if (strcmp(jx_str(dev, "type"), "b") == 0 || strcmp(jx_str(dev, "type"), "c") == 0)
            json_array_append_new(arr_at(oci, "linux.resources.devices"),
                                  json_pack("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type",
                                            jx_str(dev, "type"), "major", jx_int(dev, "major", 0),
                                            "minor", jx_int(dev, "minor", 0), "access",
                                            perm && *perm ? perm : "rwm"));
        json_array_append_new(arr_at(oci, "linux.devices"), dev);
    }
    return 0;
}

static size_t path_depth(const char *p)
{
    size_t n = 0;

    for (; p && *p; p++)
        n += *p == '/' && p[1] && p[1] != '/';
    return n;
}

/* Stable insertion by depth, so a mount never hides one made inside it (sortMounts). */
static void mounts_sort(json_t *mounts)
{
    size_t n = json_array_size(mounts);

    for (size_t i = 1; i < n; i++) {
        json_t *m = json_incref(json_array_get(mounts, i));
        size_t d = path_depth(jx_str(m, "destination")), j = i;

        while (j > 0 && path_depth(jx_str(json_array_get(mounts, j - 1), "destination")) > d)
            j--;
        if (j != i) {
            json_array_remove(mounts, i);
            json_array_insert(mounts, j, m);
        }
        json_decref(m);
    }
}

static void mounts_apply(json_t *oci, const json_t *mounts)
{
    json_t *m, *dst = arr_at(oci, "mounts"), *o;
    size_t i;

    json_array_foreach(mounts, i, m)
    {
        array_remove_by(dst, "destination", jx_str(m, "containerPath"));
        o = json_pack("{s:s,s:s}", "destination", jx_str(m, "containerPath"), "source",
                      jx_str(m, "hostPath"));
        if (jx_str(m, "type"))
            json_object_set(o, "type", json_object_get(m, "type"));
        if (json_object_get(m, "options"))
            json_object_set(o, "options", json_object_get(m, "options"));
        json_array_append_new(dst, o);
    }
}

static void hooks_apply(json_t *oci, const json_t *hooks)
{
    json_t *h, *o;
    size_t i;

    json_array_foreach(hooks, i, h)
    {
        char path[64];

        o = json_pack("{s:s}", "path", jx_str(h, "path"));
        if (json_object_get(h, "args"))
            json_object_set(o, "args", json_object_get(h, "args"));
        if (json_object_get(h, "env"))
            json_object_set(o, "env", json_object_get(h, "env"));
        if (json_object_get(h, "timeout"))
            json_object_set(o, "timeout", json_object_get(h, "timeout"));
        snprintf(path, sizeof path, "hooks.%s", jx_str(h, "hookName"));
        json_array_append_new(arr_at(oci, path), o);
    }
}

static void gids_apply(json_t *oci, const json_t *gids)
{
    json_t *g, *dst = NULL, *x;
    size_t i, j;

    json_array_foreach(gids, i, g)
    {
        int dup = 0;

        if (json_integer_value(g) == 0)
            continue; /* SPEC.md: "Values of 0 are ignored." */
        dst = dst ? dst : arr_at(oci, "process.user.additionalGids");
        json_array_foreach(dst, j, x) dup |= json_integer_value(x) == json_integer_value(g);
        if (!dup)
            json_array_append(dst, g);
    }
}

static int edits_apply(json_t *oci, const json_t *e, struct err *err)
{
    int rc;

    if (!json_is_object(e))
        return 0;
    env_apply(oci, json_object_get(e, "env"));
    if ((rc = nodes_apply(oci, json_object_get(e, "deviceNodes"), err)) < 0)
        return rc;
    mounts_apply(oci, json_object_get(e, "mounts"));
    hooks_apply(oci, json_object_get(e, "hooks"));
    gids_apply(oci, json_object_get(e, "additionalGids"));
    return 0;
}

int cdi_apply(const struct cdi_registry *reg, const char *const *devices, size_t n, json_t *oci,
              struct err *err)
{
    json_t *copy, *seen = json_array(), *missing = json_array(), *s;
    const struct cdi_device *d;
    size_t i, j;
    int rc = 0;

    for (i = 0; i < n; i++)
        if (!cdi__find(reg, devices[i]))
            json_array_append_new(missing, json_string(devices[i]));
    if (json_array_size(missing)) {
        char *m = jx_dump(missing);

        rc = err_set(err, -E_NOT_FOUND, "unresolvable CDI devices %s", m);
        free(m);
        goto out;
    }
    copy = json_deep_copy(oci);
    for (i = 0; i < n && rc == 0; i++) {
        int done = 0;

        d = cdi__find(reg, devices[i]);
        json_array_foreach(seen, j, s) done |= s == d->spec;
        if (!done) {
            json_array_append(seen, d->spec);
            rc = edits_apply(copy, json_object_get(d->spec, "containerEdits"), err);
        }
        if (rc == 0)
            rc = edits_apply(copy, json_object_get(d->dev, "containerEdits"), err);
    }
    if (rc == 0) {
        mounts_sort(json_object_get(copy, "mounts"));
        json_object_clear(oci);
        json_object_update(oci, copy);
    }
    json_decref(copy);
out:
    json_decref(seen);
    json_decref(missing);
    return rc;
}

/* ---- allocation ---- */

static int name_in(const json_t *list, const char *name)
{
    size_t i;
    json_t *x;

    json_array_foreach(list, i, x) if (json_is_string(x) &&
                                       strcmp(json_string_value(x), name) == 0) return 1;
    return 0;
}

int cdi_allocate(const struct cdi_registry *reg, const char *kind, int64_t count,
                 const json_t *in_use, json_t **out, struct err *err)
{
    size_t kl = strlen(kind), total = 0;
    json_t *a = json_array();

    *out = NULL;
    /* The registry is in natural name order, so the first free ones are the lowest. */
    for (size_t i = 0; reg && i < reg->n; i++) {
        const struct cdi_device *d = &reg->devs[i];

        if (d->kind_len != kl || strncmp(d->name, kind, kl) != 0)
            continue;
        total++;
        if ((int64_t)json_array_size(a) < count && !name_in(in_use, d->name))
            json_array_append_new(a, json_string(d->name));
    }
    if (total == 0 || count < 0 || (int64_t)json_array_size(a) < count) {
        int rc = total == 0
                     ? err_set(err, -E_NOT_FOUND, "no CDI devices of kind %s on this node", kind)
                     : err_set(err, -E_CONFLICT,
                               "insufficient %s: %lld requested, %zu free of "
                               "%zu",
                               kind, (long long)count, json_array_size(a), total);

        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

struct cdi_alloc {
    json_t *owners; /* owner -> array of device names */
};

struct cdi_alloc *cdi_alloc_new(void)
{
    struct cdi_alloc *a = xcalloc(1, sizeof *a);

    a->owners = json_object();
    return a;
}

void cdi_alloc_free(struct cdi_alloc *a)
{
    if (!a)
        return;
    json_decref(a->owners);
    free(a);
}

/* Every allocated device, but those of except (may be NULL). */
static json_t *all_in_use(const struct cdi_alloc *a, const char *except)
{
    json_t *all = json_array(), *v;
    const char *k;

    json_object_foreach(a->owners, k, v) if (!except || strcmp(k, except) != 0)
        json_array_extend(all, v);
    return all;
}

int cdi_alloc_take(struct cdi_alloc *a, const struct cdi_registry *reg, const char *owner,
                   const json_t *limits, json_t **out, struct err *err)
{
    json_t *held = json_object_get(a->owners, owner), *used, *got = json_array(), *part, *v;
    const char *k;
    int rc = 0;

    *out = NULL;
    if (held) {
        *out = json_copy(held);
        json_decref(got);
        return 0;
    }
    used = all_in_use(a, NULL);
    json_object_foreach((json_t *)limits, k, v)
    {
        int64_t milli;
        const char *q = json_string_value(v);
        char num[32];

        if (!strchr(k, '/') || cdi_kind_count(reg, k) == 0)
            continue;
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), q = num;
        if (!q || quantity_parse_milli(q, &milli) < 0 || milli % 1000) {
            rc = err_set(err, -E_INVALID, "limits[%s] must be a whole number of devices", k);
            break;
        }
        if ((rc = cdi_allocate(reg, k, milli / 1000, used, &part, err)) < 0)
            break;
        json_array_extend(got, part);
        json_array_extend(used, part);
        json_decref(part);
    }
    json_decref(used);
    if (rc < 0) {
        json_decref(got);
        return rc;
    }
    if (json_array_size(got))
        json_object_set(a->owners, owner, got);
    *out = got;
    return 0;
}

int cdi_alloc_restore(struct cdi_alloc *a, const char *owner, const json_t *devices,
                      struct err *err)
{
    json_t *used = all_in_use(a, owner), *x;
    size_t i;

    json_array_foreach(devices, i, x)
    {
        if (!json_is_string(x) || name_in(used, json_string_value(x))) {
            json_decref(used);
            return err_set(err, -E_CONFLICT, "CDI device %s is already allocated",
                           json_is_string(x) ? json_string_value(x) : "(not a name)");
        }
    }
    json_decref(used);
    cdi_alloc_release(a, owner); /* what was persisted replaces what owner held */
    if (json_array_size(devices))
        json_object_set_new(a->owners, owner, json_copy((json_t *)devices));
    return 0;
}

void cdi_alloc_release(struct cdi_alloc *a, const char *owner)
{
    if (a)
        json_object_del(a->owners, owner);
}

const json_t *cdi_alloc_get(const struct cdi_alloc *a, const char *owner)
{
    return a ? json_object_get(a->owners, owner) : NULL;
}
