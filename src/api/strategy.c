/* The write strategy's entry points, which run the kind's hooks (kind_ops.prepare_create,
 * prepare_update: what a create resets, what the server allocates), and Events recording. */
#include "api/api-int.h"
#include "api/kind.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"

int api__prepare_create(struct api *api, const struct resource *r, json_t *obj, struct err *err)
{
    const struct kind_ops *k = api_kind(r->id);

    return k->prepare_create ? k->prepare_create(api, obj, err) : 0;
}

void api__prepare_update(struct api *api, const struct resource *r, json_t *obj, const json_t *old,
                         int status_only)
{
    const struct kind_ops *k = api_kind(r->id);

    if (!status_only && k->prepare_update)
        k->prepare_update(api, obj, old);
}

/* ---- Events ---- */

void api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...)
{
    const struct resource *r = scheme_resource(RES_EVENT);
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    json_t *m = store_map(api->store, r->key), *v, *ev, *out = NULL;
    struct api_wopts o = {.grace = -1};
    char msg[1024], ts[32], evname[300];
    struct timespec now;
    const char *k;
    struct err err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ns || !*ns)
        ns = "default";
    time_rfc3339(time(NULL), ts);
    err_init(&err);
    /* Aggregate an identical recent event into its count, as the event recorder does. */
    if (m)
        json_object_foreach(m, k, v)
        {
            if (strcmp(jx_str(v, "involvedObject.uid") ?: "", uid ?: "") == 0 &&
                strcmp(jx_str(v, "reason") ?: "", reason) == 0 &&
                strcmp(jx_str(v, "message") ?: "", msg) == 0 &&
                strcmp(jx_str(v, "type") ?: "", type) == 0 &&
                strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0) {
                ev = json_deep_copy(v);
                json_object_set_new(ev, "count", json_integer(jx_int(v, "count", 1) + 1));
                json_object_set_new(ev, "lastTimestamp", json_string(ts));
                if (api_update(api, r, ns, jx_str(v, "metadata.name"), ev, &o, &out, &err) < 0)
                    log_warn("api", "msg=\"event update failed\" err=\"%s\"", err.msg);
                json_decref(ev);
                json_decref(out);
                err_release(&err);
                return;
            }
        }
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(evname, sizeof evname, "%.200s.%llx", name ? name : "object",
             (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    ev = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s},s:s,s:s,s:i,s:s,"
                   "s:n,s:s,s:s}",
                   "metadata", "name", evname, "namespace", ns, "involvedObject", "kind",
                   jx_str(obj, "kind") ?: "", "namespace", jx_str(obj, "metadata.namespace") ?: "",
                   "name", name ?: "", "uid", uid ?: "", "apiVersion",
                   jx_str(obj, "apiVersion") ?: "", "reason", reason, "message", msg, "source",
                   "component", component, "host", api->node_name, "firstTimestamp", ts,
                   "lastTimestamp", ts, "count", 1, "type", type, "eventTime", "reportingComponent",
                   component, "reportingInstance", api->node_name);
    if (jx_str(obj, "metadata.resourceVersion"))
        jx_set(ev, "involvedObject.resourceVersion",
               json_string(jx_str(obj, "metadata.resourceVersion")));
    if (!jx_str(obj, "metadata.namespace") || !*jx_str(obj, "metadata.namespace"))
        jx_del(ev, "involvedObject.namespace");
    if (api_create(api, r, ns, ev, &o, &out, &err) < 0)
        log_warn("api", "msg=\"event create failed\" err=\"%s\"", err.msg);
    json_decref(ev);
    json_decref(out);
    err_release(&err);
}
