/* CDI devices of the kubelet's containers (OCI runtime only): a container whose limits name a
 * CDI kind of the node's registry gets that many devices, allocated on the loop when it starts
 * (the same ones again on a restart of the container), written to <pod dir>/devices.json so
 * that a server restart restores the allocation before any new pod asks, and released when the
 * pod is gone. The edits are computed here, on the loop, where the registry lives: the helper
 * thread that writes config.json merges them (ocispec_cdi_merge) and never sees the registry. */
#include "node/node-int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/jx.h"
#include "core/log.h"
#include "node/cdi.h"

#define DEVICES_FILE "devices.json"
/* devices.json is ours, but it is read back at start: a bound on what we parse. */
#define DEVICES_FILE_MAX_BYTES (256 * 1024)

static json_t *devices_read(const char *dir)
{
    char *path = xasprintf("%s/" DEVICES_FILE, dir);
    json_t *o = NULL;
    FILE *f = fopen(path, "re");

    if (f) {
        char *buf = xmalloc(DEVICES_FILE_MAX_BYTES + 1);
        size_t n = fread(buf, 1, DEVICES_FILE_MAX_BYTES + 1, f);

        if (n <= DEVICES_FILE_MAX_BYTES)
            o = json_loadb(buf, n, 0, NULL);
        if (!json_is_object(o)) {
            log_warn("kubelet", "msg=\"ignoring an unreadable device allocation\" path=%s", path);
            json_decref(o);
            o = NULL;
        }
        free(buf);
        fclose(f);
    }
    free(path);
    return o;
}

/* Records container -> devices (NULL: none) in the pod dir (atomically: a crash leaves the old
 * or the new). */
static int devices_write(const char *dir, const char *cname, const json_t *devs,
                         struct err *err)
{
    char *path = xasprintf("%s/" DEVICES_FILE, dir), *txt;
    json_t *o = devices_read(dir) ?: json_object();
    int rc = 0;

    if (devs)
        json_object_set(o, cname, (json_t *)devs);
    else
        json_object_del(o, cname);
    /* fsynced: the allocation must survive a crash to be restored on re-adoption. */
    txt = json_dumps(o, JSON_COMPACT);
    if (!txt || file_write_atomic(path, txt, strlen(txt), 0600) < 0)
        rc = err_set(err, -EIO, "cannot record the CDI devices of container %s in %s", cname,
                     path);
    free(txt);
    json_decref(o);
    free(path);
    return rc;
}

/* The edits of devs as a skeleton spec (the user is not known here: ocispec_cdi_merge gives
 * device nodes the container's uid/gid). */
static json_t *edits_of(const struct cdi_registry *reg, const json_t *devs, struct err *err)
{
    size_t n = json_array_size(devs);
    const char **names = xcalloc(n ? n : 1, sizeof *names);
    json_t *sk = json_pack("{s:{s:[]}, s:[], s:{s:[], s:{s:[]}}}", "process", "env", "mounts",
                           "linux", "devices", "resources", "devices");

    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(devs, i));
    if (cdi_apply(reg, names, n, sk, err) < 0) {
        json_decref(sk);
        sk = NULL;
    }
    free(names);
    return sk;
}

/* Init containers that have finished give their devices back before the next container takes
 * some, as the kubelet's device manager reuses them: a pod whose init and app containers each
 * ask for the node's only device is schedulable (effective request = the max) and must run. */
static void init_devices_return(struct kcont *c)
{
    struct kpod *p = c->p;
    struct err err;

    for (int i = 0; i < p->ninit; i++) {
        struct kcont *ic = &p->c[i];
        char *owner;

        if (ic == c || ic->st != KC_EXITED)
            continue;
        owner = xasprintf("%s/%s", p->uid, ic->name);
        if (cdi_alloc_get(p->kl->cdi_alloc, owner)) {
            cdi_alloc_release(p->kl->cdi_alloc, owner);
            err_init(&err);
            if (devices_write(p->dir, ic->name, NULL, &err) < 0)
                log_warn("kubelet", "msg=\"%s\"", err.msg);
            err_release(&err);
        }
        free(owner);
    }
}

int kubelet__cdi_take(struct kcont *c, json_t **edits, struct err *err)
{
    struct kpod *p = c->p;
    struct kubelet *kl = p->kl;
    const struct cdi_registry *reg = kl->node ? node_cdi(kl->node) : NULL;
    char *owner = xasprintf("%s/%s", p->uid, c->name);
    json_t *devs = NULL;
    int rc;

    *edits = NULL;
    if (!reg || !kl->cdi_alloc) {
        free(owner);
        return 0;
    }
    init_devices_return(c);
    rc = cdi_alloc_take(kl->cdi_alloc, reg, owner, jx_get(c->spec, "resources.limits"), &devs,
                        err);
    if (rc < 0) {
        char *m = xstrdup(err->msg);

        err_release(err);
        err_init(err);
        rc = err_set(err, rc, "cannot allocate the CDI devices of container %s: %s", c->name, m);
        free(m);
    }
    if (rc == 0 && json_array_size(devs)) {
        if ((rc = devices_write(p->dir, c->name, devs, err)) == 0 &&
            !(*edits = edits_of(reg, devs, err)))
            rc = err->code < 0 ? err->code : -E_INVALID;
        if (rc == -EIO)
            cdi_alloc_release(kl->cdi_alloc, owner); /* not recorded: not held */
    }
    json_decref(devs);
    free(owner);
    return rc;
}

static void release_file(struct kubelet *kl, const char *uid, const char *dir)
{
    json_t *o = devices_read(dir), *v;
    const char *k;

    json_object_foreach(o, k, v) {
        char *owner = xasprintf("%s/%s", uid, k);

        cdi_alloc_release(kl->cdi_alloc, owner);
        free(owner);
    }
    json_decref(o);
}

void kubelet__cdi_release(struct kubelet *kl, const char *uid, const char *dir,
                          const struct kpod *p)
{
    if (!kl->cdi_alloc)
        return;
    release_file(kl, uid, dir);
    for (int i = 0; p && i < p->nc; i++) {
        char *owner = xasprintf("%s/%s", uid, p->c[i].name);

        cdi_alloc_release(kl->cdi_alloc, owner);
        free(owner);
    }
}

static void restore_pod(struct kubelet *kl, const char *uid, const char *dir)
{
    json_t *o = devices_read(dir), *v;
    const char *k;
    struct err err;

    err_init(&err);
    json_object_foreach(o, k, v) {
        char *owner = xasprintf("%s/%s", uid, k);

        if (cdi_alloc_restore(kl->cdi_alloc, owner, v, &err) < 0)
            log_warn("kubelet", "msg=\"cannot restore a CDI device allocation\" owner=%s "
                     "err=\"%s\"", owner, err.msg);
        else
            log_info("kubelet", "msg=\"CDI devices restored\" owner=%s count=%zu", owner,
                     json_array_size(v));
        err_release(&err);
        err_init(&err);
        free(owner);
    }
    json_decref(o);
    err_release(&err);
}

void kubelet__cdi_restore(struct kubelet *kl)
{
    char *root = xasprintf("%s/pods", kl->data_dir);
    DIR *d = opendir(root);
    struct dirent *e;

    if (!kl->cdi_alloc)
        kl->cdi_alloc = cdi_alloc_new();
    while (d && (e = readdir(d))) {
        char *dir;

        if (e->d_name[0] == '.')
            continue;
        dir = xasprintf("%s/%s", root, e->d_name);
        restore_pod(kl, e->d_name, dir);
        free(dir);
    }
    if (d)
        closedir(d);
    free(root);
}
