/* What the kubelet refreshes under running pods: ConfigMap and Secret volumes when those
 * objects change, projected ServiceAccount tokens before they expire, and shims whose pod
 * object no longer exists (deleted while the server was down). */
#include "node/node-int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/volume.h"

#define TOKEN_CHECK_MS 30000 /* orphan cleanup and projected token renewal */

static const struct resource *pods_res(void)
{
    return kc_resource(RES_POD);
}

static int pod_uses(const json_t *pod, const char *kind_key, const char *name_key, const char *name)
{
    const json_t *vols = jx_get(pod, "spec.volumes"), *v;
    size_t i;

    json_array_foreach(vols, i, v)
    {
        const char *n = jx_str(json_object_get(v, kind_key), name_key);

        if (n && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int pod_uses_sa_token(const json_t *pod)
{
    const json_t *v, *s;
    size_t i, j;

    json_array_foreach(jx_get(pod, "spec.volumes"), i, v)
    {
        json_array_foreach(jx_get(v, "projected.sources"), j, s)
        {
            if (json_object_get(s, "serviceAccountToken"))
                return 1;
        }
    }
    return 0;
}

void kubelet__on_config(struct ctl *ctl, const char *type, const struct resource *r, json_t *obj,
                        json_t *old, void *ctx)
{
    struct kubelet *kl = ctx;
    const char *ns = jx_str(obj, "metadata.namespace") ?: "";
    const char *name = jx_str(obj, "metadata.name") ?: "";
    int secret = r->id == RES_SECRET;

    for (struct kpod *p = kl->pods; p; p = p->next) {
        const json_t *pod = kc_get(kl->kc, pods_res(), p->ns, p->name);

        if (!pod || strcmp(p->ns, ns) != 0 || !p->vol_paths)
            continue;
        if (pod_uses(pod, secret ? "secret" : "configMap", secret ? "secretName" : "name", name)) {
            struct err err;
            json_t *paths = NULL;

            err_init(&err);
            if (volume_sync(kl->kc, pod, p->dir, &paths, &err) == 0) {
                json_decref(p->vol_paths);
                p->vol_paths = paths;
            } else {
                log_warn("kubelet", "msg=\"volume refresh failed\" pod=%s/%s err=\"%s\"", p->ns,
                         p->name, err.msg);
            }
            err_release(&err);
        }
    }
}

/* Projected ServiceAccount tokens are renewed once older than 80% of their life (volume.c
 * decides; this only gives it the chance every TOKEN_CHECK_MS), with the ..data swap. */
static void tokens_refresh(struct kubelet *kl)
{
    for (struct kpod *p = kl->pods; p; p = p->next) {
        const json_t *pod = kc_get(kl->kc, pods_res(), p->ns, p->name);
        json_t *paths = NULL;
        struct err err;

        if (!pod || !p->vol_paths || !pod_uses_sa_token(pod))
            continue;
        err_init(&err);
        if (volume_sync(kl->kc, pod, p->dir, &paths, &err) == 0) {
            json_decref(p->vol_paths);
            p->vol_paths = paths;
        } else {
            log_warn("kubelet", "msg=\"token refresh failed\" pod=%s/%s err=\"%s\"", p->ns, p->name,
                     err.msg);
        }
        err_release(&err);
    }
}

/* Stops shims whose pod object no longer exists (deleted while the server was down). */
void kubelet__gc_orphans(struct loop_timer *t, void *ctx)
{
    struct kubelet *kl = ctx;
    char *root = xasprintf("%s/pods", kl->data_dir);
    json_t *m = ctl_map(kl->ctl, RES_POD), *v, *uids = json_object();
    const char *k;
    DIR *d = opendir(root);
    struct dirent *e;

    if (m)
        json_object_foreach(m, k, v)
            json_object_set_new(uids, jx_str(v, "metadata.uid") ?: "", json_true());
    while (d && (e = readdir(d))) {
        struct kop *op;
        char *dir;

        if (e->d_name[0] == '.' || json_object_get(uids, e->d_name) ||
            kubelet__find_uid(kl, e->d_name))
            continue;
        dir = xasprintf("%s/%s", root, e->d_name);
        log_info("kubelet", "msg=\"cleaning up a deleted pod\" uid=%s", e->d_name);
        kubelet__cdi_release(kl, e->d_name, dir, NULL);
        op = kop__new(kl, KOP_STOP, e->d_name, dir);
        op->rm = 1;
        kubelet__op_run(op);
        free(dir);
    }
    if (d)
        closedir(d);
    json_decref(uids);
    free(root);
    tokens_refresh(kl);
    loop_timer_start(kl->loop, &kl->gc_timer, TOKEN_CHECK_MS);
}
