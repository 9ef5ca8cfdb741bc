/* api_event's aggregation (api/event.c): a repeat bumps the count of the Event with the same
 * involved object, reason, type, message and namespace, found through the aggregation index;
 * the index follows Events written by anyone, is rebuilt from the store by a new API server,
 * and a repeat still finds an Event the index does not hold. And the store key lookup
 * (scheme_by_key) of api/local.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api-int.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/store.h"

struct t {
    char dir[64];
    struct loop *loop;
    struct store *store;
    struct api *api;
};

static struct api *api_start(struct t *t)
{
    struct api_opts ao = {.data_dir = t->dir, .listen_host = "127.0.0.1", .node_name = "n1"};
    struct err err;
    struct api *api;

    err_init(&err);
    api = api_new(t->loop, t->store, &ao, &err);
    assert_non_null(api);
    return api;
}

static int setup(void **state)
{
    struct t *t = xcalloc(1, sizeof *t);
    struct api_wopts o = {.grace = -1};
    json_t *ns, *out = NULL;
    struct err err;
    char *db;

    snprintf(t->dir, sizeof t->dir, "/tmp/kroll-event-test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    err_init(&err);
    t->loop = loop_new();
    db = xasprintf("%s/state.db", t->dir);
    assert_int_equal(store_open(db, &t->store, &err), 0);
    free(db);
    t->api = api_start(t);
    ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                   "default");
    assert_int_equal(api_create(t->api, scheme_resource(RES_NAMESPACE), NULL, ns, &o, &out, &err), 0);
    json_decref(ns);
    json_decref(out);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    char *cmd = xasprintf("rm -rf -- '%s'", t->dir);

    api_free(t->api);
    store_close(t->store);
    loop_free(t->loop);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(t);
    return 0;
}

static json_t *pod(const char *uid)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                     "name", "web", "namespace", "default", "uid", uid);
}

static void event(struct t *t, const char *uid, const char *reason, const char *msg)
{
    json_t *p = pod(uid);

    api_event(t->api, p, "Normal", reason, "test", "%s", msg);
    json_decref(p);
}

/* The stored Events, and the count of the one with this message (0 when none; -1 when two). */
static size_t events(struct t *t, const char *msg, long long *count)
{
    json_t *m = store_map(t->store, scheme_resources[RES_EVENT].key), *v;
    const char *k;

    *count = 0;
    json_object_foreach(m, k, v)
    {
        if (strcmp(jx_str(v, "message") ?: "", msg) == 0)
            *count = *count ? -1 : jx_int(v, "count", 0);
    }
    return json_object_size(m);
}

static const char *event_name(struct t *t, const char *msg)
{
    json_t *m = store_map(t->store, scheme_resources[RES_EVENT].key), *v;
    const char *k;

    json_object_foreach(m, k, v)
    {
        if (strcmp(jx_str(v, "message") ?: "", msg) == 0)
            return jx_str(v, "metadata.name");
    }
    return NULL;
}

static void user_event(struct t *t, const char *name, const char *uid, const char *msg)
{
    struct api_wopts o = {.grace = -1};
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:i}",
                           "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
                           "namespace", "default", "involvedObject", "kind", "Pod", "name", "web",
                           "namespace", "default", "uid", uid, "reason", "Pulled", "message", msg,
                           "type", "Normal", "count", 5),
           *out = NULL;
    struct err err;

    err_init(&err);
    assert_int_equal(api_create(t->api, scheme_resource(RES_EVENT), "default", ev, &o, &out, &err), 0);
    json_decref(ev);
    json_decref(out);
}

static void event_delete(struct t *t, const char *name)
{
    struct api_wopts o = {.grace = -1};
    json_t *out = NULL;
    struct err err;

    err_init(&err);
    assert_int_equal(api_delete(t->api, scheme_resource(RES_EVENT), "default", name, &o, &out, &err),
                     0);
    json_decref(out);
    err_release(&err);
}

static void test_repeat_aggregates(void **state)
{
    struct t *t = *state;
    long long count;

    event(t, "u1", "Pulled", "pulled image a");
    event(t, "u1", "Pulled", "pulled image a");
    event(t, "u1", "Pulled", "pulled image a");
    assert_int_equal(events(t, "pulled image a", &count), 1);
    assert_int_equal(count, 3);
    /* Any field of the key apart: a new Event. */
    event(t, "u1", "Pulled", "pulled image b");
    event(t, "u2", "Pulled", "pulled image a");
    event(t, "u1", "Started", "pulled image a");
    assert_int_equal(events(t, "pulled image b", &count), 4);
    assert_int_equal(count, 1);
}

/* A deleted Event leaves the index: the next repeat starts a new Event at count 1. */
static void test_deleted_event_starts_over(void **state)
{
    struct t *t = *state;
    long long count;
    char *name;

    event(t, "u1", "Pulled", "once");
    event(t, "u1", "Pulled", "once");
    name = xstrdup(event_name(t, "once"));

    event_delete(t, name); /* a copy: the stored name goes with the Event */
    free(name);
    assert_int_equal(events(t, "once", &count), 0);
    event(t, "u1", "Pulled", "once");
    assert_int_equal(events(t, "once", &count), 1);
    assert_int_equal(count, 1);
    assert_int_equal(json_object_size(t->api->event_idx), 1);
    event(t, "u1", "Pulled", "once"); /* the index names the new Event, not the deleted one */
    assert_int_equal(events(t, "once", &count), 1);
    assert_int_equal(count, 2);
}

/* An Event someone else wrote is aggregated into, and an edit of its message moves it. */
static void test_user_event_and_edit(void **state)
{
    struct t *t = *state;
    struct api_wopts o = {.grace = -1};
    json_t *ev, *out = NULL;
    struct err err;
    long long count;

    user_event(t, "mine", "u1", "by hand");
    event(t, "u1", "Pulled", "by hand");
    assert_int_equal(events(t, "by hand", &count), 1);
    assert_int_equal(count, 6);
    ev = json_deep_copy(store_get(t->store, scheme_resources[RES_EVENT].key, "default", "mine"));
    json_object_set_new(ev, "message", json_string("edited"));
    err_init(&err);
    assert_int_equal(
        api_update(t->api, scheme_resource(RES_EVENT), "default", "mine", ev, &o, &out, &err), 0);
    json_decref(ev);
    json_decref(out);
    event(t, "u1", "Pulled", "by hand"); /* no longer matches "mine": a new Event */
    assert_int_equal(events(t, "by hand", &count), 2);
    assert_int_equal(count, 1);
    event(t, "u1", "Pulled", "edited");
    assert_int_equal(events(t, "edited", &count), 2);
    assert_int_equal(count, 7);
}

/* Two Events with one key: the first is indexed; once it goes, a repeat still finds the second
 * (by the scan) rather than adding a third. */
static void test_second_event_same_key(void **state)
{
    struct t *t = *state;
    long long count;

    user_event(t, "first", "u1", "twice");
    user_event(t, "second", "u1", "twice");
    event(t, "u1", "Pulled", "twice");
    assert_int_equal(
        jx_int(store_get(t->store, scheme_resources[RES_EVENT].key, "default", "first"), "count", 0),
        6);
    event_delete(t, "first");
    event(t, "u1", "Pulled", "twice");
    assert_int_equal(events(t, "twice", &count), 1);
    assert_int_equal(count, 6);
    event(t, "u1", "Pulled", "twice");
    assert_int_equal(events(t, "twice", &count), 1);
    assert_int_equal(count, 7);
}

/* A new API server on the same store indexes the Events already stored. */
static void test_index_rebuilt_on_start(void **state)
{
    struct t *t = *state;
    long long count;

    event(t, "u1", "Pulled", "before restart");
    api_free(t->api);
    t->api = api_start(t);
    assert_int_equal(json_object_size(t->api->event_idx), 1);
    event(t, "u1", "Pulled", "before restart");
    assert_int_equal(events(t, "before restart", &count), 1);
    assert_int_equal(count, 2);
}

static void test_resource_by_key(void **state)
{
    (void)state;
    for (int i = 0; i < RES_COUNT; i++)
        assert_ptr_equal(scheme_by_key(scheme_resources[i].key), &scheme_resources[i]);
    assert_ptr_equal(scheme_by_key("deployments.apps"), &scheme_resources[RES_DEPLOYMENT]);
    assert_null(scheme_by_key("deployments"));
    assert_null(scheme_by_key(""));
    assert_null(scheme_by_key("zzz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeat_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_event_starts_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_event_and_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_event_same_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuilt_on_start, setup, teardown),
        cmocka_unit_test(test_resource_by_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
