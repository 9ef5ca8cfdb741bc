/* Watch streams: replay from the store's event ring (or the current state for rv 0), then
 * live events, filtered by namespace and selectors, as JSON or one-row Tables, with bookmarks
 * and timeoutSeconds. An object that stops matching a selector is sent as DELETED and one that
 * starts matching as ADDED, as kube-apiserver does. */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/table.h"
#include "core/jx.h"
#include "core/log.h"

struct watch {
    struct api *api;
    struct http_req *req;
    const struct resource *r;
    char *ns;
    struct api_filter *f;
    int table;
    int bookmarks;
    int first_table_sent;
    struct loop_timer timeout, bookmark;
    struct watch *next, *prev;
};

/* Bookmark period; KROLL_WATCH_BOOKMARK_MS shortens it for tests. */
static int bookmark_ms(void)
{
    const char *e = getenv("KROLL_WATCH_BOOKMARK_MS");
    long v = e ? strtol(e, NULL, 10) : 0;

    return v > 0 && v < 3600000 ? (int)v : 60000;
}

static void watch_unlink(struct watch *w)
{
    struct api *api = w->api;

    loop_timer_stop(api->loop, &w->timeout);
    loop_timer_stop(api->loop, &w->bookmark);
    if (w->prev)
        w->prev->next = w->next;
    else if (api->watches == w)
        api->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    api__filter_free(w->f);
    free(w->ns);
    free(w);
}

static void on_req_close(struct http_req *req, void *ctx)
{
    watch_unlink(ctx);
}

static void watch_end(struct watch *w)
{
    struct http_req *req = w->req;

    req->on_close = NULL;
    watch_unlink(w);
    http_stream_end(req);
}

static void watch_send(struct watch *w, const char *type, json_t *obj)
{
    json_t *ev, *payload;
    char *s;
    size_t n;

    if (w->table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
        json_t *items = json_pack("[O]", obj);

        payload = table_build(w->r->group, w->r->kind, items, jx_str(obj, "metadata.resourceVersion"),
                              http_req_query(w->req, "includeObject"), 1, time(NULL));
        json_decref(items);
    } else {
        payload = json_incref(obj);
    }
    ev = json_pack("{s:s,s:o}", "type", type, "object", payload);
    s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    http_stream_write(w->req, s, n);
    free(s);
}

static int in_scope(struct watch *w, const json_t *obj)
{
    if (!obj)
        return 0;
    if (w->ns && strcmp(jx_str(obj, "metadata.namespace") ?: "", w->ns) != 0)
        return 0;
    return api__filter_match(w->f, obj);
}

/* Returns 1 when the event was handled and the watch is still alive. */
static void watch_event(struct watch *w, enum store_ev type, const char *res, json_t *obj,
                        json_t *old)
{
    int now, before;

    if (strcmp(res, w->r->key) != 0)
        return;
    now = in_scope(w, obj);
    before = type == STORE_MODIFIED && in_scope(w, old);
    if (type == STORE_ADDED && now)
        watch_send(w, "ADDED", obj);
    else if (type == STORE_DELETED && (now || in_scope(w, old)))
        watch_send(w, "DELETED", obj);
    else if (type == STORE_MODIFIED && now)
        watch_send(w, before ? "MODIFIED" : "ADDED", obj);
    else if (type == STORE_MODIFIED && before)
        watch_send(w, "DELETED", obj);
}

static void on_replay(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                      void *ctx)
{
    watch_event(ctx, type, res, obj, old);
}

/* The API's single store listener fans events out to every watch. */
void api__watch_fanout(enum store_ev type, const char *res, json_t *obj, json_t *old, int64_t rv,
                       void *ctx)
{
    struct api *api = ctx;
    struct watch *w = api->watches, *next;

    for (; w; w = next) {
        next = w->next;
        watch_event(w, type, res, obj, old);
    }
}

static void on_timeout(struct loop_timer *t, void *ctx)
{
    watch_end(ctx);
}

static void on_bookmark(struct loop_timer *t, void *ctx)
{
    struct watch *w = ctx;
    char rv[32];
    json_t *b;

    snprintf(rv, sizeof rv, "%lld", (long long)store_rv(w->api->store));
    b = json_pack("{s:s,s:s,s:{s:s}}", "kind", w->r->kind, "apiVersion", w->r->api_version,
                  "metadata", "resourceVersion", rv);
    watch_send(w, "BOOKMARK", b);
    json_decref(b);
    loop_timer_start(w->api->loop, &w->bookmark, bookmark_ms());
}

static int cmp_items(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(jx_str(x, "metadata.namespace") ?: "", jx_str(y, "metadata.namespace") ?: "");

    return c ? c : strcmp(jx_str(x, "metadata.name") ?: "", jx_str(y, "metadata.name") ?: "");
}

static void send_current(struct watch *w)
{
    json_t *m = store_map(w->api->store, w->r->key), *v;
    const char *k;
    json_t **arr;
    size_t n = 0;

    if (!m)
        return;
    arr = xcalloc(json_object_size(m) + 1, sizeof *arr);
    json_object_foreach(m, k, v) if (in_scope(w, v)) arr[n++] = v;
    qsort(arr, n, sizeof *arr, cmp_items);
    for (size_t i = 0; i < n; i++)
        watch_send(w, "ADDED", arr[i]);
    free(arr);
}

void api__watch(struct api *api, struct http_req *req, struct api_target *t)
{
    const char *rvs = http_req_query(req, "resourceVersion");
    const char *to = http_req_query(req, "timeoutSeconds");
    const char *bm = http_req_query(req, "allowWatchBookmarks");
    struct watch *w;
    struct err err;
    long long rv = rvs && *rvs ? atoll(rvs) : 0;

    err_init(&err);
    if (rvs && *rvs && (strspn(rvs, "0123456789") != strlen(rvs) || strlen(rvs) > 18)) {
        api__fail_code(req, -E_BAD_REQUEST, "invalid resource version: \"%.64s\"", rvs);
        return;
    }
    w = xcalloc(1, sizeof *w);
    w->api = api;
    w->req = req;
    w->r = t->r;
    w->ns = t->ns ? xstrdup(t->ns) : NULL;
    w->f = api__filter_new(req, t->r, &err);
    if (!w->f) {
        api__fail(req, &err);
        err_release(&err);
        free(w->ns);
        free(w);
        return;
    }
    w->table = api__wants_table(req);
    w->bookmarks = bm && strcmp(bm, "true") == 0;
    loop_timer_init(&w->timeout, on_timeout, w);
    loop_timer_init(&w->bookmark, on_bookmark, w);
    http_stream_start(req, 200, "application/json");
    req->on_close = on_req_close;
    req->on_close_ctx = w;
    w->next = api->watches;
    if (api->watches)
        api->watches->prev = w;
    api->watches = w;
    if (rv <= 0) {
        send_current(w);
    } else if (store_replay(api->store, t->r->key, rv, on_replay, w) < 0) {
        char msg[160];
        json_t *st;

        snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)", rv,
                 (long long)store_oldest_rv(api->store) + 1);
        st = api_status_json(-E_GONE, msg, NULL);
        watch_send(w, "ERROR", st);
        json_decref(st);
        watch_end(w);
        return;
    }
    if (to && atoll(to) > 0)
        loop_timer_start(api->loop, &w->timeout, atoll(to) * 1000);
    if (w->bookmarks)
        loop_timer_start(api->loop, &w->bookmark, bookmark_ms());
}

void api__watch_close_all(struct api *api)
{
    while (api->watches)
        watch_end(api->watches);
}
