/* The demo's own reads of cluster state, over the CLI's API client (cli/apiclient.c), and the
 * sampler that turns the
 * ReplicaSet and Pod lists into the live view's and the timeline's figures. kubectl does every
 * change; this only watches, so the user's commands stay the real workflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/demo-int.h"
#include "core/err.h"
#include "core/jx.h"
#include "core/log.h"

int demo_api_open(struct demo_api *a, const char *data_dir)
{
    struct err err;
    int rc;

    err_init(&err);
    rc = cli_api_load(&a->c, data_dir, &err);
    a->c.timeout_s = 3; /* the live view must not stall on a slow answer */
    err_release(&err);
    return rc;
}

void demo_api_close(struct demo_api *a)
{
    cli_api_close(&a->c);
}

json_t *demo_api_get(struct demo_api *a, const char *path)
{
    json_t *out = NULL;
    int code = cli_api_do(&a->c, "GET", path, NULL, NULL, &out);

    if (code != 200) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* "myrepo/tf-serving:1.0.4" -> "1.0.4"; other images as they are. */
static void image_short(const char *image, char *out, size_t n)
{
    const char *c = strrchr(image, ':'), *slash = strrchr(image, '/');

    snprintf(out, n, "%s", c && (!slash || c > slash) ? c + 1 : image);
}

static void sample_rs(json_t *list, struct cluster_state *st)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        struct rs_state *r;
        json_t *ctr = json_array_get(jx_get(item, "spec.template.spec.containers"), 0);
        const char *img = jx_str(ctr, "image");
        json_t *owner = json_array_get(jx_get(item, "metadata.ownerReferences"), 0);
        const char *rev = jx_annotation(item, "deployment.kubernetes.io/revision");

        if (st->nrs == DEMO_MAX_SERIES)
            break;
        r = &st->rs[st->nrs++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", jx_str(item, "metadata.name"));
        snprintf(r->deploy, sizeof r->deploy, "%s", owner ? jx_str(owner, "name") : "");
        image_short(img ? img : "", r->image, sizeof r->image);
        r->revision = rev ? atoi(rev) : 0;
        r->desired = (int)jx_int(item, "spec.replicas", 0);
        r->ready = (int)jx_int(item, "status.readyReplicas", 0);
        r->available = (int)jx_int(item, "status.availableReplicas", 0);
    }
}

static void sample_pods(json_t *list, struct cluster_state *st)
{
    json_t *item, *cond;
    size_t i, j;

    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        const char *phase = jx_str(item, "status.phase");

        if (jx_get(item, "metadata.deletionTimestamp")) {
            st->pods_terminating++;
            continue;
        }
        if (phase && !strcmp(phase, "Running"))
            st->pods_running++;
        else if (phase && !strcmp(phase, "Pending"))
            st->pods_pending++;
        json_array_foreach(jx_get(item, "status.conditions"), j, cond)
        {
            const char *type = jx_str(cond, "type"), *status = jx_str(cond, "status");
            const char *msg = jx_str(cond, "message");

            if (type && status && !strcmp(type, "Ready") && !strcmp(status, "True"))
                st->pods_ready++;
            if (type && status && msg && !strcmp(type, "PodScheduled") && !strcmp(status, "False"))
                snprintf(st->pending_reason, sizeof st->pending_reason, "%s", msg);
        }
    }
}

int demo_api_sample(struct demo_api *a, struct cluster_state *st)
{
    json_t *rs = demo_api_get(a, "/apis/apps/v1/namespaces/default/replicasets");
    json_t *pods = rs ? demo_api_get(a, "/api/v1/namespaces/default/pods") : NULL;

    memset(st, 0, sizeof *st);
    if (!rs || !pods) {
        json_decref(rs);
        return -1;
    }
    sample_rs(rs, st);
    sample_pods(pods, st);
    json_decref(rs);
    json_decref(pods);
    return 0;
}
