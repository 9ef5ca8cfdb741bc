/* The in-process list and watch the client's informers start from (api.h, api_list_map and
 * api_watch_local): the store's index and its listeners, with resource keys turned into the
 * resource table's entries, so that nothing outside the API reads the store. */
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "core/log.h"

struct api_local {
    struct api_local *next;
    struct api *api;
    api_local_fn *fn;
    void *ctx;
};

static const char *const ev_names[] = {"ADDED", "MODIFIED", "DELETED"};

static void on_store(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                     void *ctx)
{
    struct api_local *l = ctx;
    const struct resource *r = api__resource_by_key(res);

    (void)rv;
    if (r)
        l->fn(ev_names[type], r, obj, old, l->ctx);
}

json_t *api_list_map(struct api *api, const struct resource *r)
{
    return store_map(api->store, r->key);
}

void api_watch_local(struct api *api, api_local_fn *fn, void *ctx)
{
    struct api_local *l = xcalloc(1, sizeof *l);

    l->api = api;
    l->fn = fn;
    l->ctx = ctx;
    l->next = api->locals;
    api->locals = l;
    store_subscribe(api->store, on_store, l);
}

void api_unwatch_local(struct api *api, api_local_fn *fn, void *ctx)
{
    for (struct api_local **p = &api->locals; *p;) {
        struct api_local *l = *p;

        if (l->fn == fn && l->ctx == ctx) {
            *p = l->next;
            store_unsubscribe(api->store, on_store, l);
            free(l);
        } else {
            p = &l->next;
        }
    }
}

void api__local_close_all(struct api *api)
{
    while (api->locals)
        api_unwatch_local(api, api->locals->fn, api->locals->ctx);
}
