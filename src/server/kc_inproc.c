/* The client's in-process transport (kc_inproc_new): writes are the API's own verbs, with the
 * validation, admission, defaulting and conflicts kubectl's requests get, without HTTP; list
 * and watch are the API's in-process list and watch. */
#include <stdlib.h>
#include <string.h>

#include "server/inproc.h"

static struct api_wopts wopts(const struct kc_wopts *o)
{
    struct api_wopts w = {.grace = -1};

    if (!o)
        return w;
    w.dry_run = o->dry_run;
    w.manager = o->manager;
    w.strict = o->strict;
    w.warnings = o->warnings;
    w.status = o->status;
    w.preconditions = o->preconditions;
    w.grace = o->grace;
    w.propagation = o->propagation;
    return w;
}

static int ip_create(void *t, const struct resource *r, const char *ns, json_t *obj,
                     const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct api_wopts w = wopts(o);

    return api_create(t, r, ns, obj, &w, out, err);
}

static int ip_update(void *t, const struct resource *r, const char *ns, const char *name,
                     json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct api_wopts w = wopts(o);

    return api_update(t, r, ns, name, obj, &w, out, err);
}

static int ip_patch(void *t, const struct resource *r, const char *ns, const char *name,
                    const char *ctype, const json_t *patch, const struct kc_wopts *o, json_t **out,
                    struct err *err)
{
    struct api_wopts w = wopts(o);

    return api_patch(t, r, ns, name, ctype, patch, &w, out, err);
}

static int ip_delete(void *t, const struct resource *r, const char *ns, const char *name,
                     const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct api_wopts w = wopts(o);

    return api_delete(t, r, ns, name, &w, out, err);
}

static int ip_bind(void *t, const char *ns, const char *name, const char *node, struct err *err)
{
    return api_bind(t, ns, name, node, err);
}

static int ip_token(void *t, const char *ns, const char *sa, const json_t *audiences,
                    long long seconds, const json_t *pod, char **token, long long *exp,
                    struct err *err)
{
    return api_sa_token(t, ns, sa, audiences, seconds, pod, token, exp, err);
}

static void ip_event(void *t, const json_t *obj, const char *type, const char *reason,
                     const char *component, const char *msg)
{
    api_event(t, obj, type, reason, component, "%s", msg);
}

static json_t *ip_list_map(void *t, const struct resource *r)
{
    return api_list_map(t, r);
}

/* api_local_fn and kc_event_fn have the same shape: the client's listener is passed through. */
static void ip_watch(void *t, kc_event_fn *fn, void *ctx)
{
    api_watch_local(t, fn, ctx);
}

static void ip_unwatch(void *t, kc_event_fn *fn, void *ctx)
{
    api_unwatch_local(t, fn, ctx);
}

static json_t *ip_metrics_of(void *t, const json_t *obj)
{
    return api_metrics_of(t, obj);
}

static json_t *ip_custom_metric_of(void *t, const json_t *pod, const char *metric)
{
    return api_custom_metric_of(t, pod, metric);
}

static void ip_server_info(void *t, struct kc_server_info *info)
{
    info->ca_pem = api_ca_pem(t);
    info->kubernetes_ip = api_kubernetes_ip(t);
    info->host_ip = api_host_ip(t);
    info->port = api_port(t);
}

static const struct kc_transport inproc = {
    .create = ip_create,
    .update = ip_update,
    .patch = ip_patch,
    .del = ip_delete,
    .bind = ip_bind,
    .token = ip_token,
    .event = ip_event,
    .list_map = ip_list_map,
    .watch = ip_watch,
    .unwatch = ip_unwatch,
    .metrics_of = ip_metrics_of,
    .custom_metric_of = ip_custom_metric_of,
    .server_info = ip_server_info,
};

struct kc *kc_inproc_new(struct api *api)
{
    return kc_new(api_loop(api), &inproc, api);
}
