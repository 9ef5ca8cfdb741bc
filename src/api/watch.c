/* Watch streams: replay from the store's event ring (or the current state for rv 0), then
 * live events, filtered by namespace and selectors, as JSON or one-row Tables, with bookmarks
 * and timeoutSeconds. An object that stops matching a selector is sent as DELETED and one that
 * starts matching as ADDED, as kube-apiserver does. Watches are limited in number (in all and
 * per peer address: 429 with Retry-After) and in the bytes their clients leave unread: a
 * watcher too far behind gets an ERROR event with a 410 Status (client-go re-lists on it) and
 * its stream ends, never silently. */
#include "api/api-int.h"
#include "api/kind.h"

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
    int alt; /* served in the kind's alt_version */
    char *ns;
    struct api_filter *f;
    int table;
    int bookmarks;
    int first_table_sent;
    int dead; /* unlinked; freed in the defer phase, so callers holding it can check */
    char client[64]; /* peer address without the port: the per-client limit's key */
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

    if (w->dead)
        return;
    w->dead = 1;
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
    w->f = NULL;
    free(w->ns);
    w->ns = NULL;
    loop_defer(api->loop, free, w);
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

/* Ends a watch whose client left too many bytes unread, with the 410 ERROR event that
 * makes client-go (and kubectl get -w) start over with a fresh list. */
static void watch_drop(struct watch *w, size_t backlog, const char *limit, size_t max)
{
    char msg[256], *s;
    json_t *st, *ev;
    size_t n;

    log_warn("api", "msg=\"dropping slow watch\" peer=%s resource=%s backlog=%zu limit=%s max=%zu",
             w->req->peer, w->r->key, backlog, limit, max);
    snprintf(msg, sizeof msg,
             "watch dropped: the client is too slow, %zu bytes of events unread (limit %s %zu "
             "bytes); list again and restart the watch",
             backlog, limit, max);
    st = api_status_json(-E_GONE, msg, NULL);
    ev = json_pack("{s:s,s:o}", "type", "ERROR", "object", st);
    s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    http_stream_write(w->req, s, n);
    free(s);
    watch_end(w);
}

/* 0 when an event of n bytes may be queued; otherwise the watch has been dropped. */
static int watch_room(struct watch *w, size_t n)
{
    const struct api_limits *l = &w->api->lim;
    size_t backlog = http_stream_backlog(w->req);

    if (backlog + n > l->watch_buffer_bytes) {
        watch_drop(w, backlog, "--watch-buffer-bytes", l->watch_buffer_bytes);
        return -1;
    }
    /* Over the shared budget, the watchers that are behind make room; one that keeps up
     * (nothing queued) still gets its events. */
    if (backlog && httpd_out_total(w->api->httpd) + n > l->watch_buffer_total) {
        watch_drop(w, backlog, "--watch-buffer-total", l->watch_buffer_total);
        return -1;
    }
    return 0;
}

static void watch_send(struct watch *w, const char *type, json_t *obj)
{
    json_t *ev, *payload;
    char *s;
    size_t n;

    if (w->dead)
        return;
    if (w->table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
        json_t *items = json_pack("[O]", obj);

        payload = table_build(api_kind(w->r->id), items, jx_str(obj, "metadata.resourceVersion"),
                              http_req_query(w->req, "includeObject"), 1, time(NULL));
        json_decref(items);
    } else if (strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
        payload = kind_served(w->r, w->alt, obj);
    } else {
        payload = json_incref(obj);
    }
    ev = json_pack("{s:s,s:o}", "type", type, "object", payload);
    s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    if (watch_room(w, n) == 0)
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

    if (w->dead || strcmp(res, w->r->key) != 0)
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

/* A BOOKMARK at the store's revision; the one ending a watch's initial events carries the
 * annotation k8s.io/initial-events-end: "true" (the streaming list's end marker). */
static void send_bookmark(struct watch *w, int initial_end)
{
    char rv[32];
    json_t *b;

    snprintf(rv, sizeof rv, "%lld", (long long)store_rv(w->api->store));
    b = json_pack("{s:s,s:s,s:{s:s}}", "kind", w->r->kind, "apiVersion", w->r->api_version,
                  "metadata", "resourceVersion", rv);
    if (initial_end)
        json_object_set_new(json_object_get(b, "metadata"), "annotations",
                            json_pack("{s:s}", "k8s.io/initial-events-end", "true"));
    watch_send(w, "BOOKMARK", b);
    json_decref(b);
}

static void on_bookmark(struct loop_timer *t, void *ctx)
{
    struct watch *w = ctx;

    (void)t;
    send_bookmark(w, 0);
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
    for (size_t i = 0; i < n && !w->dead; i++)
        watch_send(w, "ADDED", arr[i]);
    free(arr);
}

static void client_of(const char *peer, char *out, size_t n)
{
    const char *colon = strrchr(peer, ':');

    snprintf(out, n, "%.*s", colon ? (int)(colon - peer) : (int)strlen(peer), peer);
}

/* 429 with Retry-After, as kube-apiserver's max-in-flight filter answers. */
static void watch_refuse(struct http_req *req, const char *msg)
{
    json_t *st = api_status_json(-E_TOO_MANY, msg, NULL);
    char *s;

    json_object_set_new(st, "details", json_pack("{s:i}", "retryAfterSeconds", 1));
    s = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    http_respond(req, 429, "application/json", s, strlen(s), "Retry-After: 1\r\n");
    free(s);
    json_decref(st);
}

/* 0 when another watch from this client fits under the limits; otherwise answered. */
static int watch_admit(struct api *api, struct http_req *req, const char *client)
{
    int all = 0, mine = 0;
    char msg[200];

    for (struct watch *w = api->watches; w; w = w->next) {
        all++;
        mine += strcmp(w->client, client) == 0;
    }
    if (all >= api->lim.max_watches) {
        snprintf(msg, sizeof msg, "too many watches: the server holds its limit of %d "
                 "(--max-watches); retry later", api->lim.max_watches);
        watch_refuse(req, msg);
        return -1;
    }
    if (mine >= api->lim.max_watches_per_client) {
        snprintf(msg, sizeof msg, "too many watches from %s: the limit per client is %d "
                 "(--max-watches-per-client); retry later", client,
                 api->lim.max_watches_per_client);
        watch_refuse(req, msg);
        return -1;
    }
    return 0;
}

/* The start of a watch: the current state as ADDED events (resourceVersion unset or "0", or
 * sendInitialEvents=true, then a bookmark marking their end when bookmarks were asked for),
 * or the store's events after resourceVersion, or nothing (sendInitialEvents=false and no
 * resourceVersion: changes from now on). 0, or -1 after ending the watch with a 410. */
static int watch_begin(struct watch *w, const struct api_listopts *o)
{
    struct api *api = w->api;
    char msg[160];
    json_t *st;

    if (o->send_initial == 1 || (o->send_initial < 0 && o->rv_n <= 0)) {
        send_current(w);
        if (o->send_initial == 1 && w->bookmarks && !w->dead)
            send_bookmark(w, 1);
        return 0;
    }
    if (o->rv_n <= 0)
        return 0;
    if (store_replay(api->store, w->r->key, o->rv_n, on_replay, w) == 0)
        return 0;
    snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)", o->rv_n,
             (long long)store_oldest_rv(api->store) + 1);
    st = api_status_json(-E_GONE, msg, NULL);
    watch_send(w, "ERROR", st);
    json_decref(st);
    watch_end(w);
    return -1;
}

void api__watch(struct api *api, struct http_req *req, struct api_target *t,
                const struct api_listopts *o)
{
    struct watch *w;
    struct err err;
    char client[64];

    err_init(&err);
    if (o->send_initial == 1 && o->rv_n > (long long)store_rv(api->store)) {
        api__rv_too_large(&err, o->rv_n, (long long)store_rv(api->store));
        api__fail(req, &err);
        err_release(&err);
        return;
    }
    client_of(req->peer, client, sizeof client);
    if (watch_admit(api, req, client) < 0)
        return;
    w = xcalloc(1, sizeof *w);
    snprintf(w->client, sizeof w->client, "%s", client);
    w->api = api;
    w->req = req;
    w->r = t->r;
    w->ns = t->ns ? xstrdup(t->ns) : NULL;
    w->f = api__filter_new(req, t->r, &err);
    if (!w->f) {
    w->alt = t->alt;
        api__fail(req, &err);
        err_release(&err);
        free(w->ns);
        free(w);
        return;
    }
    w->table = api__wants_table(req);
    w->bookmarks = o->bookmarks;
    loop_timer_init(&w->timeout, on_timeout, w);
    loop_timer_init(&w->bookmark, on_bookmark, w);
    http_stream_start(req, 200, "application/json");
    req->on_close = on_req_close;
    req->on_close_ctx = w;
    w->next = api->watches;
    if (api->watches)
        api->watches->prev = w;
    api->watches = w;
    if (watch_begin(w, o) < 0 || w->dead) /* ended, or dropped while sending the first events */
        return;
    if (o->timeout > 0)
        loop_timer_start(api->loop, &w->timeout, o->timeout * 1000);
    if (w->bookmarks)
        loop_timer_start(api->loop, &w->bookmark, bookmark_ms());
}

void api__watch_close_all(struct api *api)
{
    while (api->watches)
        watch_end(api->watches);
}

int api__watch_count(const struct api *api, const struct resource *r)
{
    int n = 0;

    for (const struct watch *w = api->watches; w; w = w->next)
        if (w->r == r && !w->dead)
            n++;
    return n;
}
