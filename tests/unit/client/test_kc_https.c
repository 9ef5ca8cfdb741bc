/* The client's HTTPS transport (client/kc_https.c) against a real API server on loopback, run
 * on a loop of its own in a second thread: writes come back with the server's answers and
 * errors (AlreadyExists, a conflict, a validation error); an informer lists, then follows the
 * watch, so objects created, changed and deleted appear in the cache and reach a listener on
 * the client's loop, with the previous state for a change. A server that goes away and comes
 * back: the informer says it lost its watch (the cache keeps its last state), lists again and
 * sends only the differences, as one batch before it says it is live again. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "client/kc.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/store.h"

struct srv {
    char dir[64];
    struct loop *loop;
    struct store *store;
    struct api *api;
    struct loop_timer tick;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
};

static void srv_tick(struct loop_timer *t, void *ctx)
{
    struct srv *s = ctx;
    int stop;

    pthread_mutex_lock(&s->mu);
    stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    if (stop)
        loop_stop(s->loop);
    else
        loop_timer_start(s->loop, t, 20);
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;

    loop_run(s->loop);
    return NULL;
}

/* The API server on port (0: any) over s's data dir and store; srv_run serves it. */
static void srv_up(struct srv *s, int port)
{
    struct api_opts ao = {
        .listen_host = "127.0.0.1", .listen_port = port, .node_name = "n", .data_dir = s->dir};
    struct err err;

    err_init(&err);
    s->loop = loop_new();
    s->api = api_new(s->loop, s->store, &ao, &err);
    assert_non_null(s->api);
    err_release(&err);
}

/* Serves on a thread of its own (until srv_down). */
static void srv_run(struct srv *s)
{
    s->stop = 0;
    loop_timer_init(&s->tick, srv_tick, s);
    loop_timer_start(s->loop, &s->tick, 20);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

/* Stops the server (its connections close); the store and the data dir stay. */
static void srv_down(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    api_free(s->api);
    loop_free(s->loop);
}

static struct srv *srv_start(void)
{
    struct srv *s = xcalloc(1, sizeof *s);
    struct api_wopts o = {.grace = -1};
    json_t *ns, *out = NULL;
    struct err err;
    char *db;

    err_init(&err);
    snprintf(s->dir, sizeof s->dir, "/tmp/kroll-kchttps.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    db = xasprintf("%s/state.db", s->dir);
    assert_int_equal(store_open(db, &s->store, &err), 0);
    free(db);
    pthread_mutex_init(&s->mu, NULL);
    srv_up(s, 0);
    ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                   "default");
    assert_int_equal(api_create(s->api, scheme_resource(RES_NAMESPACE), NULL, ns, &o, &out, &err), 0);
    json_decref(ns);
    json_decref(out);
    err_release(&err);
    srv_run(s);
    return s;
}

/* After srv_down: closes the store and removes the data dir. */
static void srv_clean(struct srv *s)
{
    char *cmd;

    store_close(s->store);
    pthread_mutex_destroy(&s->mu);
    cmd = xasprintf("rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", s->dir);
    free(cmd);
    free(s);
}

static void srv_stop(struct srv *s)
{
    srv_down(s);
    srv_clean(s);
}

struct heard {
    int added, modified, deleted, old_ok;
    char last[64];
};

static void on_cm(const char *type, const struct resource *r, json_t *obj, json_t *old, void *ctx)
{
    struct heard *h = ctx;

    (void)r;
    snprintf(h->last, sizeof h->last, "%s %s", type, jx_str(obj, "metadata.name") ?: "?");
    if (!strcmp(type, "ADDED"))
        h->added++;
    if (!strcmp(type, "MODIFIED")) {
        h->modified++;
        /* The watch stream has no previous state: the client gives its cached one. */
        if (old && jx_str(old, "data.v") && strcmp(jx_str(old, "data.v"), "1") == 0)
            h->old_ok++;
    }
    if (!strcmp(type, "DELETED"))
        h->deleted++;
}

static void on_stop(struct loop_timer *t, void *ctx)
{
    (void)t;
    loop_stop(ctx);
}

/* Runs the client's loop in 50 ms steps until *what reaches want or 10 s pass. */
static void run_until(struct loop *l, const int *what, int want)
{
    struct loop_timer t;

    for (int i = 0; i < 200 && *what < want; i++) {
        loop_timer_init(&t, on_stop, l);
        loop_timer_start(l, &t, 50);
        loop_run(l);
    }
}

static json_t *cm(const char *name, const char *v)
{
    return json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "data", "v", v);
}

static void test_https_client(void **state)
{
    struct srv *s = srv_start();
    struct loop *l = loop_new();
    char url[64];
    struct kc_https_opts o = {
        .server = url, .token = api_token(s->api), .ca_pem = api_ca_pem(s->api)};
    const struct resource *r = kc_resource(RES_CONFIGMAP);
    struct heard h = {0};
    struct kc *kc;
    json_t *obj, *out = NULL, *stale;
    struct err err;

    (void)state;
    err_init(&err);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", api_port(s->api));
    kc = kc_https_new(l, &o, &err);
    assert_non_null(kc);

    /* A write before the informer starts: the list finds it. */
    obj = cm("a", "1");
    assert_int_equal(kc_create(kc, r, "default", obj, NULL, &out, &err), 0);
    assert_string_equal(jx_str(out, "metadata.namespace"), "default");
    assert_non_null(jx_str(out, "metadata.uid"));
    json_decref(obj);
    assert_int_equal(kc_listen(kc, r, on_cm, &h), 0);
    assert_non_null(kc_get(kc, r, "default", "a"));

    /* The server's errors come back with their codes and causes. */
    obj = cm("a", "2");
    assert_int_equal(kc_create(kc, r, "default", obj, NULL, NULL, &err), -E_ALREADY_EXISTS);
    json_decref(obj);
    stale = json_deep_copy(out);
    json_object_set_new(json_object_get(stale, "data"), "v", json_string("2"));
    assert_int_equal(kc_update(kc, r, "default", "a", stale, NULL, NULL, &err), 0);
    assert_int_equal(kc_update(kc, r, "default", "a", stale, NULL, NULL, &err), -E_CONFLICT);
    json_decref(stale);
    json_decref(out);
    out = NULL;
    obj = cm("Bad_Name", "1");
    assert_int_equal(kc_create(kc, r, "default", obj, NULL, NULL, &err), -E_INVALID);
    json_decref(obj);

    /* The update above reaches the listener through the watch, with the cached old state. */
    run_until(l, &h.modified, 1);
    assert_int_equal(h.modified, 1);
    assert_int_equal(h.old_ok, 1);
    assert_string_equal(jx_str(kc_get(kc, r, "default", "a"), "data.v"), "2");

    /* Created and deleted after the informer started: seen through the watch. */
    obj = cm("b", "1");
    assert_int_equal(kc_create(kc, r, "default", obj, NULL, NULL, &err), 0);
    json_decref(obj);
    run_until(l, &h.added, 1);
    assert_int_equal(h.added, 1);
    assert_non_null(kc_get(kc, r, "default", "b"));
    assert_int_equal(json_object_size(kc_map_ns(kc, r, "default")), 2);
    assert_int_equal(kc_delete(kc, r, "default", "b", NULL, NULL, &err), 0);
    run_until(l, &h.deleted, 1);
    assert_int_equal(h.deleted, 1);
    assert_null(kc_get(kc, r, "default", "b"));
    assert_int_equal(kc_delete(kc, r, "default", "b", NULL, NULL, &err), -E_NOT_FOUND);

    kc_free(kc);
    loop_free(l);
    err_release(&err);
    srv_stop(s);
}

struct synced {
    int live, lost;
    int b_at_live; /* the cache had "b" when the informer said it was live again */
    struct kc *kc;
};

static void on_sync(const struct resource *r, int live, void *ctx)
{
    struct synced *sy = ctx;

    (void)r;
    if (!live) {
        sy->lost++;
        return;
    }
    sy->live++;
    sy->b_at_live = kc_get(sy->kc, kc_resource(RES_CONFIGMAP), "default", "b") != NULL;
}

static void test_https_reconnect(void **state)
{
    struct srv *s = srv_start();
    struct loop *l = loop_new();
    char url[64];
    struct kc_https_opts o = {
        .server = url, .token = api_token(s->api), .ca_pem = api_ca_pem(s->api)};
    const struct resource *r = kc_resource(RES_CONFIGMAP);
    struct api_wopts wo = {.grace = -1};
    struct heard h = {0};
    struct synced sy = {0};
    struct kc_sync ks;
    json_t *obj, *out = NULL;
    struct err err;
    int port = api_port(s->api);

    (void)state;
    err_init(&err);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    sy.kc = kc_https_new(l, &o, &err);
    assert_non_null(sy.kc);
    obj = cm("a", "1");
    assert_int_equal(kc_create(sy.kc, r, "default", obj, NULL, NULL, &err), 0);
    json_decref(obj);
    kc_on_sync(sy.kc, on_sync, &sy);
    assert_int_equal(kc_listen(sy.kc, r, on_cm, &h), 0);

    /* Listed once: the mark comes through the loop. */
    kc_sync(sy.kc, &ks);
    assert_int_equal(ks.listed, 0);
    run_until(l, &sy.live, 1);
    kc_sync(sy.kc, &ks);
    assert_true(ks.listed && ks.live);
    assert_int_equal(ks.lost, 0);

    /* The server goes: the watch is lost, the cache keeps its last state. */
    srv_down(s);
    run_until(l, &sy.lost, 1);
    kc_sync(sy.kc, &ks);
    assert_int_equal(sy.lost, 1);
    assert_true(ks.listed && !ks.live);
    assert_int_equal(ks.lost, 1);
    assert_non_null(kc_get(sy.kc, r, "default", "a"));

    /* It comes back on the same port with "a" gone and "b" new: the list's differences arrive,
     * all of them before the informer is live again. */
    srv_up(s, port);
    assert_int_equal(api_delete(s->api, r, "default", "a", &wo, &out, &err), 0);
    json_decref(out);
    out = NULL;
    obj = cm("b", "1");
    assert_int_equal(api_create(s->api, r, "default", obj, &wo, &out, &err), 0);
    json_decref(obj);
    json_decref(out);
    srv_run(s);
    run_until(l, &sy.live, 2);
    assert_int_equal(sy.live, 2);
    assert_int_equal(sy.b_at_live, 1);
    assert_int_equal(h.added, 1);
    assert_int_equal(h.deleted, 1);
    assert_null(kc_get(sy.kc, r, "default", "a"));
    kc_sync(sy.kc, &ks);
    assert_true(ks.listed && ks.live);
    assert_int_equal(ks.lost, 1);

    /* A client whose server is gone stops: kc_free wakes its threads from their waits. */
    srv_down(s);
    run_until(l, &sy.lost, 2);
    assert_int_equal(sy.lost, 2);
    kc_free(sy.kc);
    loop_free(l);
    err_release(&err);
    srv_clean(s);
}

static void test_https_refuses(void **state)
{
    struct loop *l = loop_new();
    struct kc_https_opts o = {.server = "http://127.0.0.1:1", .token = "t"};
    struct err err;

    (void)state;
    err_init(&err);
    assert_null(kc_https_new(l, &o, &err));
    assert_int_equal(err.code, -E_BAD_REQUEST);
    o.server = "https://127.0.0.1:1";
    o.token = "a\r\nX-Injected: 1";
    assert_null(kc_https_new(l, &o, &err));
    err_release(&err);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_client),
        cmocka_unit_test(test_https_reconnect),
        cmocka_unit_test(test_https_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
