/* Events recording (api_event): a repeat of a recent Event (same involved object uid, reason,
 * message, type and namespace) bumps its count instead of adding an Event, as the event
 * recorder does. The Event to bump is found through an index from that aggregation key to the
 * Event's name, kept from the store's own events (so Events written by anyone count), bounded by
 * API_EVENT_INDEX_MAX, and dropped when the Event goes. Events the index does not hold (over the
 * bound, or a second Event with the same key) are still found, by the scan it replaces. */
#include "api/api-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jx.h"
#include "core/log.h"

/* The aggregation key of an Event's fields: each with its length, so that no field's content
 * can make two different tuples one key (new string). */
static char *agg_key(const char *ns, const char *uid, const char *reason, const char *type,
                     const char *msg)
{
    return xasprintf("%zu:%s|%zu:%s|%zu:%s|%zu:%s|%zu:%s", strlen(ns), ns, strlen(uid), uid,
                     strlen(reason), reason, strlen(type), type, strlen(msg), msg);
}

static char *agg_key_of(const json_t *ev)
{
    return agg_key(jx_str(ev, "metadata.namespace") ?: "", jx_str(ev, "involvedObject.uid") ?: "",
                   jx_str(ev, "reason") ?: "", jx_str(ev, "type") ?: "",
                   jx_str(ev, "message") ?: "");
}

/* Indexes ev unless its key already names another Event (the first one stays, as the scan
 * found the first) or the index is full. */
static void index_add(struct api *api, const json_t *ev)
{
    const char *name = jx_str(ev, "metadata.name");
    char *k;

    if (!name || json_object_size(api->event_idx) >= API_EVENT_INDEX_MAX)
        return;
    k = agg_key_of(ev);
    if (!json_object_get(api->event_idx, k))
        json_object_set_new(api->event_idx, k, json_string(name));
    free(k);
}

/* Drops ev's entry when it names ev. */
static void index_del(struct api *api, const json_t *ev)
{
    char *k = agg_key_of(ev);
    const char *have = json_string_value(json_object_get(api->event_idx, k));

    if (have && strcmp(have, jx_str(ev, "metadata.name") ?: "") == 0)
        json_object_del(api->event_idx, k);
    free(k);
}

static void on_store(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                     void *ctx)
{
    struct api *api = ctx;

    (void)rv;
    if (strcmp(res, scheme_resources[RES_EVENT].key) != 0)
        return;
    if (old && type != STORE_DELETED)
        index_del(api, old);
    if (type == STORE_DELETED)
        index_del(api, obj);
    else
        index_add(api, obj);
}

void api__events_init(struct api *api)
{
    json_t *m = store_map(api->store, scheme_resources[RES_EVENT].key), *v;
    const char *k;

    api->event_idx = json_object();
    if (m)
        json_object_foreach(m, k, v) index_add(api, v);
    store_subscribe(api->store, on_store, api);
}

void api__events_free(struct api *api)
{
    if (!api->event_idx)
        return;
    store_unsubscribe(api->store, on_store, api);
    json_decref(api->event_idx);
    api->event_idx = NULL;
}

static int agg_match(const json_t *v, const char *ns, const char *uid, const char *reason,
                     const char *type, const char *msg)
{
    return strcmp(jx_str(v, "involvedObject.uid") ?: "", uid) == 0 &&
           strcmp(jx_str(v, "reason") ?: "", reason) == 0 &&
           strcmp(jx_str(v, "message") ?: "", msg) == 0 &&
           strcmp(jx_str(v, "type") ?: "", type) == 0 &&
           strcmp(jx_str(v, "metadata.namespace") ?: "", ns) == 0;
}

/* The stored Event a new one with these fields aggregates into (borrowed), or NULL. */
static json_t *agg_find(struct api *api, const char *ns, const char *uid, const char *reason,
                        const char *type, const char *msg)
{
    json_t *m = store_map(api->store, scheme_resources[RES_EVENT].key), *v;
    char *k = agg_key(ns, uid, reason, type, msg);
    const char *name = json_string_value(json_object_get(api->event_idx, k)), *key;

    free(k);
    if (!m)
        return NULL;
    v = name ? store_get(api->store, scheme_resources[RES_EVENT].key, ns, name) : NULL;
    if (v && agg_match(v, ns, uid, reason, type, msg))
        return v;
    /* Every stored Event indexed: no other can match. */
    if (json_object_size(m) <= json_object_size(api->event_idx))
        return NULL;
    json_object_foreach(m, key, v) if (agg_match(v, ns, uid, reason, type, msg)) return v;
    return NULL;
}

void api_event(struct api *api, const json_t *obj, const char *type, const char *reason,
               const char *component, const char *fmt, ...)
{
    const struct resource *r = scheme_resource(RES_EVENT);
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    json_t *v, *ev, *out = NULL;
    struct api_wopts o = {.grace = -1};
    char msg[1024], ts[32], evname[300];
    struct timespec now;
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
    if ((v = agg_find(api, ns, uid ?: "", reason, type, msg))) {
        ev = json_deep_copy(v);
        json_object_set_new(ev, "count", json_integer(jx_int(v, "count", 1) + 1));
        json_object_set_new(ev, "lastTimestamp", json_string(ts));
        if (api_update(api, r, ns, jx_str(v, "metadata.name"), ev, &o, &out, &err) < 0)
            log_warn("api", "msg=\"event update failed\" err=\"%s\"", err.msg);
        goto out;
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
out:
    json_decref(ev);
    json_decref(out);
    err_release(&err);
}
