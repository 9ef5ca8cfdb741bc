/* The client's HTTPS transport (kc_https_new): for a component outside the server's process.
 * Writes are blocking requests through core/httpc (so the loop that holds such a client waits
 * for each one: fine for a tool or a component of its own, not for the server's loop). An
 * informer's list is a LIST; its watch is a thread per resource that streams a watch from the
 * list's resourceVersion and hands each event to the client's loop through a pipe. When a watch
 * ends (timeout, 410 Gone, a lost connection) the thread lists again and sends what changed
 * meanwhile as events (one batch, then KC_LISTED), so the cache converges whatever was missed
 * and never shows a half-empty state. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/kc.h"
#include "core/buf.h"
#include "core/httpc.h"
#include "core/jx.h"
#include "core/log.h"

#define HX_WATCH_SECONDS 240     /* timeoutSeconds of one watch request */
#define HX_LINE_MAX (16u << 20)  /* one watch event */
#define HX_LIST_MAX (256u << 20) /* one LIST answer */
#define HX_CONNECT_MS 5000       /* a TCP connect (the server's address black-holes) */
#define HX_BACKOFF_MIN_MS 100    /* pause before listing again, doubling while lists fail */
#define HX_BACKOFF_MAX_MS 2000
#define HX_WATCH_LIVED_MS 5000 /* a watch that lasted this long: list again at once */
#define HX_PATH_MAX 1024

struct hev {
    struct hev *next;
    const struct resource *r;
    char type[10];
    json_t *obj;
};

struct hwatch {
    struct hwatch *next;
    struct hx *hx;
    const struct resource *r;
    pthread_t th;
    char rv[32];
    json_t *known; /* "ns/name" -> resourceVersion, the thread's own view */
    int listed;    /* the thread's: known and rv are a list's (and the watch's since) */
    int down;      /* the thread's: KC_LOST sent, KC_LISTED not yet */
    int failing;   /* the thread's: lists failed since the last that worked */
    pthread_mutex_t mu;
    struct httpc_conn *conn; /* under mu: the open watch, shut down to stop */
};

struct hx {
    struct loop *loop;
    char *base, *auth, *ca_pem;
    int timeout_ms;
    kc_event_fn *fn;
    void *ctx;
    json_t *last_list; /* what list_map returned last (borrowed by the caller until the next) */
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* wakes naps when stopping */
    struct hev *head, **tail; /* events from the watch threads, oldest first */
    int pipe[2];
    struct loop_io io;
    struct hwatch *watches;
    int stopping; /* under mu */
};

/* ---- requests ---- */

static void res_path(char *out, size_t n, const struct resource *r, const char *ns,
                     const char *name, const char *sub)
{
    int k = *r->group ? snprintf(out, n, "/apis/%s/%s", r->group, r->version)
                      : snprintf(out, n, "/api/%s", r->version);

    if (r->namespaced && ns && *ns)
        k += snprintf(out + k, n - (size_t)k, "/namespaces/%s", ns);
    k += snprintf(out + k, n - (size_t)k, "/%s", r->plural);
    if (name)
        k += snprintf(out + k, n - (size_t)k, "/%s", name);
    if (sub)
        snprintf(out + k, n - (size_t)k, "/%s", sub);
}

static int err_of(int status, const json_t *st, struct err *err)
{
    const char *reason = jx_str(st, "reason"), *msg = jx_str(st, "message");
    int code = err_from_http(status, reason);

    err_set(err, code, "%s", msg && *msg ? msg : "the server answered an error");
    if (json_is_object(jx_get(st, "details"))) {
        json_decref(err->details);
        err->details = json_deep_copy(jx_get(st, "details"));
    }
    return code;
}

static int stopping(struct hx *h)
{
    int s;

    pthread_mutex_lock(&h->mu);
    s = h->stopping;
    pthread_mutex_unlock(&h->mu);
    return s;
}

/* The thread's open request, for hx_free to cut; one opened after the stop is cut at once. */
static void set_conn(struct hwatch *w, struct httpc_conn *c)
{
    pthread_mutex_lock(&w->mu);
    w->conn = c;
    pthread_mutex_unlock(&w->mu);
    if (c && stopping(w->hx))
        shutdown(httpc_fd(c), SHUT_RDWR);
}

/* One request with a JSON body (or none) and a JSON answer (new reference in *out); a watch
 * thread's (w) can be cut by hx_free. */
static int hx_req(struct hx *h, struct hwatch *w, const char *method, const char *path,
                  const char *ctype, const json_t *body, size_t max, json_t **out, struct err *err)
{
    char url[HTTPC_MAX_URL], hdr[1200], msg[512];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct httpc_req rq = {.method = method,
                           .url = url,
                           .headers = hdr,
                           .body = text,
                           .body_len = text ? strlen(text) : 0,
                           .timeout_ms = h->timeout_ms,
                           .connect_timeout_ms = HX_CONNECT_MS,
                           .ca_pem = h->ca_pem};
    struct httpc_conn *c = NULL;
    struct buf ans;
    json_t *j = NULL;
    int rc = 0, status;

    snprintf(url, sizeof url, "%s%s", h->base, path);
    snprintf(hdr, sizeof hdr, "%sAccept: application/json\r\n%s%s%s", h->auth,
             ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    rc = httpc_open(&rq, &c, msg, sizeof msg);
    free(text);
    if (rc < 0)
        return err_set(err, -E_UNAVAILABLE, "%s %s: %s", method, path, msg);
    if (w)
        set_conn(w, c);
    buf_init(&ans, max ? max : HTTPC_MAX_BODY);
    status = httpc_status(c);
    if (httpc_read_all(c, &ans) < 0)
        rc = err_set(err, -E_UNAVAILABLE, "%s %s: %s", method, path, httpc_error(c));
    else if (!(j = json_loadb(ans.data ? ans.data : "", ans.len, 0, NULL)) && out &&
             status >= 200 && status <= 299)
        rc = err_set(err, -E_UNAVAILABLE, "%s %s: unreadable answer", method, path);
    else if (status < 200 || status > 299)
        rc = err_of(status, j, err);
    else if (out)
        *out = json_incref(j);
    if (w)
        set_conn(w, NULL);
    httpc_close(c);
    buf_release(&ans);
    json_decref(j);
    return rc;
}

static int hx_create(void *t, const struct resource *r, const char *ns, json_t *obj,
                     const struct kc_wopts *o, json_t **out, struct err *err)
{
    char path[HX_PATH_MAX];

    (void)o;
    res_path(path, sizeof path, r, ns, NULL, NULL);
    return hx_req(t, NULL, "POST", path, "application/json", obj, 0, out, err);
}

static int hx_update(void *t, const struct resource *r, const char *ns, const char *name,
                     json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err)
{
    char path[HX_PATH_MAX];

    res_path(path, sizeof path, r, ns, name, o && o->status ? "status" : NULL);
    return hx_req(t, NULL, "PUT", path, "application/json", obj, 0, out, err);
}

static int hx_patch(void *t, const struct resource *r, const char *ns, const char *name,
                    const char *ctype, const json_t *patch, const struct kc_wopts *o, json_t **out,
                    struct err *err)
{
    char path[HX_PATH_MAX];

    res_path(path, sizeof path, r, ns, name, o && o->status ? "status" : NULL);
    return hx_req(t, NULL, "PATCH", path, ctype, patch, 0, out, err);
}

static int hx_delete(void *t, const struct resource *r, const char *ns, const char *name,
                     const struct kc_wopts *o, json_t **out, struct err *err)
{
    char path[HX_PATH_MAX];
    json_t *opts = json_pack("{s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    int rc;

    if (o && o->grace >= 0)
        json_object_set_new(opts, "gracePeriodSeconds", json_integer(o->grace));
    if (o && o->propagation)
        json_object_set_new(opts, "propagationPolicy", json_string(o->propagation));
    res_path(path, sizeof path, r, ns, name, NULL);
    rc = hx_req(t, NULL, "DELETE", path, "application/json", opts, 0, out, err);
    json_decref(opts);
    return rc;
}

static int hx_bind(void *t, const char *ns, const char *name, const char *node, struct err *err)
{
    char path[HX_PATH_MAX];
    json_t *b = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Binding",
                          "metadata", "name", name, "target", "kind", "Node", "name", node);
    int rc;

    res_path(path, sizeof path, kc_resource(RES_POD), ns, name, "binding");
    rc = hx_req(t, NULL, "POST", path, "application/json", b, 0, NULL, err);
    json_decref(b);
    return rc;
}

static void hx_event(void *t, const json_t *obj, const char *type, const char *reason,
                     const char *component, const char *msg)
{
    const char *ns = jx_str(obj, "metadata.namespace");
    char path[HX_PATH_MAX], name[300];
    json_t *ev;
    struct err err;

    if (!ns || !*ns)
        ns = "default";
    snprintf(name, sizeof name, "%.200s.%lx%04lx", jx_str(obj, "metadata.name") ?: "x",
             (unsigned long)time(NULL), (unsigned long)(random() & 0xffff));
    ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s?,s:s?,s:s?,s:s?,s:s?},s:s,s:s,s:s,s:{s:s},s:i}",
                   "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
                   "involvedObject", "kind", jx_str(obj, "kind"), "apiVersion",
                   jx_str(obj, "apiVersion"), "name", jx_str(obj, "metadata.name"), "namespace",
                   jx_str(obj, "metadata.namespace"), "uid", jx_str(obj, "metadata.uid"), "type",
                   type, "reason", reason, "message", msg, "source", "component", component,
                   "count", 1);
    res_path(path, sizeof path, kc_resource(RES_EVENT), ns, NULL, NULL);
    err_init(&err);
    if (ev && hx_req(t, NULL, "POST", path, "application/json", ev, 0, NULL, &err) < 0)
        log_warn("client", "msg=\"event not recorded\" reason=%s err=\"%s\"", reason, err.msg);
    err_release(&err);
    json_decref(ev);
}

/* ---- informers: list, and a watch thread per resource ---- */

/* Waits ms, or less when the client stops. */
static void nap(struct hx *h, int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&h->mu);
    while (!h->stopping && pthread_cond_timedwait(&h->cv, &h->mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&h->mu);
}

/* LIST w->r: the items as a map "ns/name" -> object (new reference) and the list's
 * resourceVersion into w->rv; NULL with err set on failure. */
static json_t *hx_list(struct hwatch *w, struct err *err)
{
    char path[HX_PATH_MAX];
    json_t *list = NULL, *map, *it;
    size_t i;

    res_path(path, sizeof path, w->r, NULL, NULL, NULL);
    if (hx_req(w->hx, w, "GET", path, NULL, NULL, HX_LIST_MAX, &list, err) < 0)
        return NULL;
    snprintf(w->rv, sizeof w->rv, "%s", jx_str(list, "metadata.resourceVersion") ?: "0");
    map = json_object();
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        char *k = kc_key(it);

        /* Items of a list carry no kind: give them the resource's, as a GET would. */
        if (!json_object_get(it, "kind")) {
            json_object_set_new(it, "kind", json_string(w->r->kind));
            json_object_set_new(it, "apiVersion", json_string(w->r->api_version));
        }
        json_object_set(map, k, it);
        free(k);
    }
    json_decref(list);
    return map;
}

/* Appends an event (obj NULL: KC_LISTED, KC_LOST) to a batch. */
static void batch_add(struct hev ***tail, const struct resource *r, const char *type, json_t *obj)
{
    struct hev *e = xcalloc(1, sizeof *e);

    e->r = r;
    snprintf(e->type, sizeof e->type, "%s", type);
    e->obj = json_incref(obj);
    **tail = e;
    *tail = &e->next;
}

/* Hands a batch to the loop as a whole: on_pipe takes all of it or none. */
static void hx_send(struct hx *h, struct hev *head, struct hev **tail)
{
    char one = 1;

    if (!head)
        return;
    pthread_mutex_lock(&h->mu);
    *h->tail = head;
    h->tail = tail;
    pthread_mutex_unlock(&h->mu);
    if (write(h->pipe[1], &one, 1) < 0 && errno != EAGAIN)
        log_warn("client", "msg=\"cannot wake the loop\" err=\"%s\"", strerror(errno));
}

/* One event, or a KC_LISTED / KC_LOST mark (obj NULL). */
static void hx_push(struct hx *h, const struct resource *r, const char *type, json_t *obj)
{
    struct hev *head = NULL, **tail = &head;

    batch_add(&tail, r, type, obj);
    hx_send(h, head, tail);
}

/* The informer's view went stale (a watch ended, a list failed): said once until it lists. */
static void lost(struct hwatch *w)
{
    if (!w->down)
        hx_push(w->hx, w->r, KC_LOST, NULL);
    w->down = 1;
}

/* A list failed: logged once until one works. */
static void list_failed(struct hwatch *w, const struct err *err)
{
    if (!w->failing++)
        log_warn("client",
                 "msg=\"list failed; the cache keeps its last state\" resource=%s err=\"%s\"",
                 w->r->key, err->msg);
    lost(w);
}

/* Lists again and sends what changed since the thread's view (w->known), then KC_LISTED, as
 * one batch. 0, or -1 when the list failed. */
static int relist(struct hwatch *w)
{
    struct hev *head = NULL, **tail = &head;
    struct err err;
    json_t *map, *v, *gone = json_array();
    const char *k;
    size_t i;

    err_init(&err);
    if (!(map = hx_list(w, &err))) {
        list_failed(w, &err);
        err_release(&err);
        json_decref(gone);
        return -1;
    }
    json_object_foreach(w->known, k, v) if (!json_object_get(map, k))
        json_array_append_new(gone, json_string(k));
    json_array_foreach(gone, i, v)
    {
        const char *key = json_string_value(v), *slash = strchr(key, '/');
        json_t *last =
            json_pack("{s:s,s:s,s:{s:s%,s:s}}", "kind", w->r->kind, "apiVersion", w->r->api_version,
                      "metadata", "namespace", key, (size_t)(slash - key), "name", slash + 1);

        batch_add(&tail, w->r, "DELETED", last);
        json_decref(last);
        json_object_del(w->known, key);
    }
    json_object_foreach(map, k, v)
    {
        const char *rv = jx_str(v, "metadata.resourceVersion") ?: "";
        const char *had = json_string_value(json_object_get(w->known, k));

        if (!had || strcmp(had, rv) != 0) {
            batch_add(&tail, w->r, had ? "MODIFIED" : "ADDED", v);
            json_object_set_new(w->known, k, json_string(rv));
        }
    }
    batch_add(&tail, w->r, KC_LISTED, NULL);
    hx_send(w->hx, head, tail);
    if (w->failing)
        log_info("client", "msg=\"listed again\" resource=%s objects=%zu", w->r->key,
                 json_object_size(map));
    w->down = w->failing = 0;
    json_decref(gone);
    json_decref(map);
    err_release(&err);
    return 0;
}

static void watch_line(struct hwatch *w, const char *line, size_t n)
{
    json_t *ev = json_loadb(line, n, 0, NULL), *obj = json_object_get(ev, "object");
    const char *type = jx_str(ev, "type") ?: "";
    const char *rv = jx_str(obj, "metadata.resourceVersion");

    if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
        char *k = kc_key(obj);

        if (!strcmp(type, "DELETED"))
            json_object_del(w->known, k);
        else
            json_object_set_new(w->known, k, json_string(rv ? rv : ""));
        free(k);
        hx_push(w->hx, w->r, type, obj);
    }
    if (rv && strcmp(type, "ERROR") != 0)
        snprintf(w->rv, sizeof w->rv, "%s", rv);
    json_decref(ev);
}

/* One watch from w->rv until it ends. */
static void watch_once(struct hwatch *w)
{
    struct hx *h = w->hx;
    char path[HX_PATH_MAX], url[HTTPC_MAX_URL], hdr[1200], msg[512];
    struct httpc_req rq = {.method = "GET",
                           .url = url,
                           .headers = hdr,
                           .timeout_ms = (HX_WATCH_SECONDS + 30) * 1000,
                           .connect_timeout_ms = HX_CONNECT_MS,
                           .ca_pem = h->ca_pem};
    struct httpc_conn *c = NULL;
    struct buf line;
    char chunk[16384];
    ssize_t n;

    res_path(path, sizeof path, w->r, NULL, NULL, NULL);
    snprintf(url, sizeof url,
             "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&"
             "timeoutSeconds=%d",
             h->base, path, w->rv, HX_WATCH_SECONDS);
    snprintf(hdr, sizeof hdr, "%sAccept: application/json\r\n", h->auth);
    if (httpc_open(&rq, &c, msg, sizeof msg) < 0) {
        log_warn("client", "msg=\"watch failed\" resource=%s err=\"%s\"", w->r->key, msg);
        return;
    }
    buf_init(&line, HX_LINE_MAX);
    set_conn(w, c);
    while (httpc_status(c) == 200 && !stopping(h) && (n = httpc_read(c, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (buf_append(&line, &chunk[i], 1) < 0) /* too long: the line is dropped */
                    line.len = 0, line.max = 0;
                continue;
            }
            if (line.len && line.max)
                watch_line(w, line.data, line.len);
            line.len = 0, line.max = HX_LINE_MAX;
        }
    }
    set_conn(w, NULL);
    httpc_close(c);
    buf_release(&line);
}

/* List (until it works), watch, and again. A watch that lived a while is followed by a list at
 * once; failed lists and watches that end quickly back off, so a struggling server is not
 * hammered. */
static void *watch_main(void *arg)
{
    struct hwatch *w = arg;
    int backoff = HX_BACKOFF_MIN_MS;

    while (!stopping(w->hx)) {
        int64_t t0;

        if (!w->listed && relist(w) < 0) {
            nap(w->hx, backoff);
            backoff = backoff * 2 > HX_BACKOFF_MAX_MS ? HX_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        w->listed = 1;
        t0 = time_mono_ms();
        watch_once(w);
        w->listed = 0;
        if (stopping(w->hx))
            break;
        lost(w);
        if (time_mono_ms() - t0 > HX_WATCH_LIVED_MS) {
            backoff = HX_BACKOFF_MIN_MS;
            continue;
        }
        nap(w->hx, backoff);
        backoff = backoff * 2 > HX_BACKOFF_MAX_MS ? HX_BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

/* The loop's side: hands the queued events to the client, oldest first. */
static void on_pipe(struct loop_io *io, unsigned events, void *ctx)
{
    struct hx *h = ctx;
    char drain[256];
    struct hev *e;

    (void)io, (void)events;
    while (read(h->pipe[0], drain, sizeof drain) > 0)
        ;
    pthread_mutex_lock(&h->mu);
    e = h->head;
    h->head = NULL;
    h->tail = &h->head;
    pthread_mutex_unlock(&h->mu);
    while (e) {
        struct hev *next = e->next;

        if (h->fn)
            h->fn(e->type, e->r, e->obj, NULL, h->ctx);
        json_decref(e->obj);
        free(e);
        e = next;
    }
}

/* The first list, on the loop's thread; then the resource's watch thread. A failed list leaves
 * the informer empty and unlisted (KC_LOST) until the thread lists. */
static json_t *hx_list_map(void *t, const struct resource *r)
{
    struct hx *h = t;
    struct hwatch *w = xcalloc(1, sizeof *w);
    sigset_t all, old;
    struct err err;
    const char *k;
    json_t *v;
    int rc;

    err_init(&err);
    w->hx = h;
    w->r = r;
    w->known = json_object();
    pthread_mutex_init(&w->mu, NULL);
    json_decref(h->last_list);
    h->last_list = hx_list(w, &err);
    if (h->last_list) {
        w->listed = 1;
        hx_push(h, r, KC_LISTED, NULL);
    } else {
        list_failed(w, &err);
    }
    err_release(&err);
    json_object_foreach(h->last_list, k, v)
        json_object_set_new(w->known, k, json_string(jx_str(v, "metadata.resourceVersion") ?: ""));
    sigfillset(&all); /* the watch threads leave signals to the threads of their owner */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->th, NULL, watch_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("client", "msg=\"cannot start a watch thread\" resource=%s", r->key);
        json_decref(w->known);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return h->last_list;
    }
    w->next = h->watches;
    h->watches = w;
    return h->last_list;
}

static void hx_watch(void *t, kc_event_fn *fn, void *ctx)
{
    struct hx *h = t;

    h->fn = fn;
    h->ctx = ctx;
}

static void hx_unwatch(void *t, kc_event_fn *fn, void *ctx)
{
    struct hx *h = t;

    (void)fn, (void)ctx;
    h->fn = NULL;
}

static void hx_free(void *t)
{
    struct hx *h = t;
    struct hev *e;

    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (struct hwatch *w = h->watches; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        if (w->conn)
            shutdown(httpc_fd(w->conn), SHUT_RDWR);
        pthread_mutex_unlock(&w->mu);
    }
    while (h->watches) {
        struct hwatch *w = h->watches;

        h->watches = w->next;
        pthread_join(w->th, NULL);
        json_decref(w->known);
        pthread_mutex_destroy(&w->mu);
        free(w);
    }
    loop_io_stop(h->loop, &h->io);
    close(h->pipe[0]);
    close(h->pipe[1]);
    for (e = h->head; e;) {
        struct hev *next = e->next;

        json_decref(e->obj);
        free(e);
        e = next;
    }
    json_decref(h->last_list);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h->base), free(h->auth), free(h->ca_pem);
    free(h);
}

static const struct kc_transport https_ops = {
    .sync_events = 1,
    .create = hx_create,
    .update = hx_update,
    .patch = hx_patch,
    .del = hx_delete,
    .bind = hx_bind,
    .event = hx_event,
    .list_map = hx_list_map,
    .watch = hx_watch,
    .unwatch = hx_unwatch,
    .free = hx_free,
};

struct kc *kc_https_new(struct loop *loop, const struct kc_https_opts *o, struct err *err)
{
    struct hx *h;

    if (!o->server || strncmp(o->server, "https://", 8) != 0 ||
        strlen(o->server) > HTTPC_MAX_URL - HX_PATH_MAX)
        return err_set(err, -E_BAD_REQUEST, "the server must be an https:// URL"), NULL;
    if (!o->token || strlen(o->token) > 1024 || strpbrk(o->token, "\r\n"))
        return err_set(err, -E_BAD_REQUEST, "a bearer token of at most 1024 bytes is needed"), NULL;
    h = xcalloc(1, sizeof *h);
    if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        err_set(err, -E_INTERNAL, "pipe: %s", strerror(errno));
        free(h);
        return NULL;
    }
    h->loop = loop;
    h->base = xstrdup(o->server);
    h->auth = xasprintf("Authorization: Bearer %s\r\n", o->token);
    h->ca_pem = o->ca_pem ? xstrdup(o->ca_pem) : NULL;
    h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    h->tail = &h->head;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    loop_io_start(loop, &h->io, h->pipe[0], EPOLLIN, on_pipe, h);
    return kc_new(loop, &https_ops, h);
}
