/* The client (client/kc.c) on a fake transport: informers start from the transport's list,
 * follow its events and keep their namespace and owner indexes exact through creates, owner
 * changes and deletes; a listener hears an event only once the cache has it; writes reach the
 * transport; and a controller work queue (client/ctl.c) runs on the fake transport, which is
 * how controller logic can be tested without an API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/kc.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"

/* ---- the fake transport: objects in memory, one listener, writes recorded ---- */

struct fake {
    json_t *objs[RES_COUNT]; /* "ns/name" -> object */
    kc_event_fn *fn;
    void *ctx;
    int writes, events_sent, rv;
};

static char *key_of(const json_t *obj)
{
    return xasprintf("%s/%s", jx_str(obj, "metadata.namespace") ?: "",
                     jx_str(obj, "metadata.name") ?: "");
}

static void fake_put(struct fake *f, const struct resource *r, json_t *obj, const char *type)
{
    char *k = key_of(obj);
    json_t *old = f->objs[r->id] ? json_incref(json_object_get(f->objs[r->id], k)) : NULL;
    char rv[16];

    if (!f->objs[r->id])
        f->objs[r->id] = json_object();
    snprintf(rv, sizeof rv, "%d", ++f->rv);
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
    if (strcmp(type, "DELETED") == 0)
        json_object_del(f->objs[r->id], k);
    else
        json_object_set(f->objs[r->id], k, obj);
    if (f->fn) {
        f->events_sent++;
        f->fn(type, r, obj, old, f->ctx);
    }
    json_decref(old);
    free(k);
}

static int fake_create(void *t, const struct resource *r, const char *ns, json_t *obj,
                       const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct fake *f = t;
    json_t *cp = json_deep_copy(obj);

    (void)o, (void)err;
    if (ns)
        json_object_set_new(json_object_get(cp, "metadata"), "namespace", json_string(ns));
    f->writes++;
    fake_put(f, r, cp, "ADDED");
    if (out)
        *out = json_incref(cp);
    json_decref(cp);
    return 0;
}

static int fake_update(void *t, const struct resource *r, const char *ns, const char *name,
                       json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct fake *f = t;
    json_t *cp = json_deep_copy(obj);

    (void)ns, (void)name, (void)o, (void)err;
    f->writes++;
    fake_put(f, r, cp, "MODIFIED");
    if (out)
        *out = json_incref(cp);
    json_decref(cp);
    return 0;
}

static int fake_delete(void *t, const struct resource *r, const char *ns, const char *name,
                       const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct fake *f = t;
    char *k = xasprintf("%s/%s", ns ? ns : "", name);
    json_t *have = f->objs[r->id] ? json_object_get(f->objs[r->id], k) : NULL;

    (void)o, (void)out;
    free(k);
    if (!have)
        return err_set(err, -E_NOT_FOUND, "not found");
    have = json_deep_copy(have);
    f->writes++;
    fake_put(f, r, have, "DELETED");
    json_decref(have);
    return 0;
}

static json_t *fake_list_map(void *t, const struct resource *r)
{
    return ((struct fake *)t)->objs[r->id];
}

static void fake_watch(void *t, kc_event_fn *fn, void *ctx)
{
    struct fake *f = t;

    f->fn = fn;
    f->ctx = ctx;
}

static void fake_unwatch(void *t, kc_event_fn *fn, void *ctx)
{
    struct fake *f = t;

    (void)fn, (void)ctx;
    f->fn = NULL;
}

static void fake_event(void *t, const json_t *obj, const char *type, const char *reason,
                       const char *component, const char *msg)
{
    (void)t, (void)obj, (void)type, (void)reason, (void)component, (void)msg;
}

static void fake_free(void *t)
{
    struct fake *f = t;

    for (int i = 0; i < RES_COUNT; i++)
        json_decref(f->objs[i]);
    free(f);
}

static const struct kc_transport fake_ops = {
    .create = fake_create,
    .update = fake_update,
    .del = fake_delete,
    .event = fake_event,
    .list_map = fake_list_map,
    .watch = fake_watch,
    .unwatch = fake_unwatch,
    .free = fake_free,
};

static json_t *pod(const char *ns, const char *name, const char *owner_uid)
{
    json_t *p = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                          "name", name, "namespace", ns);

    if (owner_uid)
        json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
                            json_pack("[{s:s,s:s,s:s,s:b}]", "kind", "ReplicaSet", "name", "rs",
                                      "uid", owner_uid, "controller", 1));
    return p;
}

static void create_pod(struct kc *kc, const char *ns, const char *name, const char *owner)
{
    json_t *p = pod(ns, name, owner);
    struct err err;

    err_init(&err);
    assert_int_equal(kc_create(kc, kc_resource(RES_POD), ns, p, NULL, NULL, &err), 0);
    json_decref(p);
    err_release(&err);
}

/* ---- informers ---- */

struct heard {
    struct kc *kc;
    int n, saw_in_cache;
};

static void on_pod(const char *type, const struct resource *r, json_t *obj, json_t *old, void *ctx)
{
    struct heard *h = ctx;
    json_t *cached =
        kc_get(h->kc, r, jx_str(obj, "metadata.namespace"), jx_str(obj, "metadata.name"));

    (void)old;
    h->n++;
    /* The cache has the change before any listener hears of it. */
    if (strcmp(type, "DELETED") == 0 ? cached == NULL : cached == obj)
        h->saw_in_cache++;
}

static void test_informer_indexes(void **state)
{
    struct fake *f = xcalloc(1, sizeof *f);
    struct loop *l = loop_new();
    struct kc *kc;
    const struct resource *pods = kc_resource(RES_POD);
    struct heard h = {0};
    json_t *p, *moved;
    struct err err;

    (void)state;
    /* Two pods exist before the client starts: the informer's list must carry them. */
    f->objs[RES_POD] = json_object();
    json_object_set_new(f->objs[RES_POD], "a/p1", pod("a", "p1", "u1"));
    json_object_set_new(f->objs[RES_POD], "b/p2", pod("b", "p2", NULL));
    kc = kc_new(l, &fake_ops, f);
    h.kc = kc;
    assert_int_equal(kc_listen(kc, pods, on_pod, &h), 0);
    assert_non_null(kc_get(kc, pods, "a", "p1"));
    assert_int_equal(json_object_size(kc_map(kc, pods)), 2);
    assert_int_equal(json_object_size(kc_map_ns(kc, pods, "a")), 1);
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u1")), 1);
    assert_null(kc_map_owned(kc, pods, "u2"));

    create_pod(kc, "a", "p3", "u1");
    create_pod(kc, "c", "p4", "u2");
    assert_int_equal(f->writes, 2);
    assert_int_equal(json_object_size(kc_map_ns(kc, pods, "a")), 2);
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u1")), 2);
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u2")), 1);

    /* p3 changes owner: it leaves u1's index and joins u2's. */
    err_init(&err);
    moved = pod("a", "p3", "u2");
    assert_int_equal(kc_update(kc, pods, "a", "p3", moved, NULL, NULL, &err), 0);
    json_decref(moved);
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u1")), 1);
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u2")), 2);

    /* Deleting the last object of a namespace drops the namespace from the index. */
    assert_int_equal(kc_delete(kc, pods, "c", "p4", NULL, NULL, &err), 0);
    assert_null(kc_map_ns(kc, pods, "c"));
    assert_null(kc_get(kc, pods, "c", "p4"));
    assert_int_equal(json_object_size(kc_map_owned(kc, pods, "u2")), 1);
    assert_int_equal(kc_delete(kc, pods, "c", "p4", NULL, NULL, &err), -E_NOT_FOUND);
    err_release(&err);

    /* Every event was heard, each after the cache had it. */
    assert_int_equal(h.n, 4);
    assert_int_equal(h.saw_in_cache, 4);
    p = kc_get(kc, pods, "b", "p2");
    assert_string_equal(jx_str(p, "metadata.name"), "p2");

    kc_unlisten(kc, on_pod, &h);
    create_pod(kc, "a", "p5", NULL);
    assert_int_equal(h.n, 4);
    kc_free(kc);
    loop_free(l);
}

static void ignore(const char *type, const struct resource *r, json_t *obj, json_t *old, void *ctx)
{
    (void)type, (void)r, (void)obj, (void)old, (void)ctx;
}

static void test_listener_cap(void **state)
{
    struct fake *f = xcalloc(1, sizeof *f);
    struct loop *l = loop_new();
    struct kc *kc = kc_new(l, &fake_ops, f);
    int i;

    (void)state;
    for (i = 0; i < KC_MAX_LISTENERS; i++)
        assert_int_equal(kc_listen(kc, kc_resource(RES_POD), ignore, &i), 0);
    assert_int_equal(kc_listen(kc, kc_resource(RES_POD), ignore, &i), -1);
    kc_unlisten(kc, ignore, &i);
    assert_int_equal(kc_listen(kc, kc_resource(RES_POD), ignore, NULL), 0);
    kc_free(kc);
    loop_free(l);
}

/* ---- a controller work queue on the fake transport ---- */

struct qrun {
    struct loop *loop;
    int synced;
    char last[64];
};

static void q_sync(struct ctl *c, const char *ns, const char *name, void *ctx)
{
    struct qrun *q = ctx;
    json_t *p = kc_get(ctl_kc(c), kc_resource(RES_POD), ns, name);

    if (p) {
        q->synced++;
        snprintf(q->last, sizeof q->last, "%s/%s", ns, name);
    }
}

static void on_stop(struct loop_timer *t, void *ctx)
{
    (void)t;
    loop_stop(ctx);
}

static void run_for(struct loop *l, int ms)
{
    struct loop_timer t;

    loop_timer_init(&t, on_stop, l);
    loop_timer_start(l, &t, ms);
    loop_run(l);
}

static void test_ctl_on_fake(void **state)
{
    struct fake *f = xcalloc(1, sizeof *f);
    struct qrun q = {0};
    struct kc *kc;
    struct ctl *c;

    (void)state;
    q.loop = loop_new();
    f->objs[RES_POD] = json_object();
    json_object_set_new(f->objs[RES_POD], "a/p1", pod("a", "p1", NULL));
    kc = kc_new(q.loop, &fake_ops, f);
    c = ctl_new(kc, "test", q_sync, &q);
    ctl_watch(c, RES_POD, NULL);
    ctl_start(c);
    run_for(q.loop, 20);
    assert_int_equal(q.synced, 1);
    create_pod(kc, "a", "p2", NULL);
    run_for(q.loop, 20);
    assert_int_equal(q.synced, 2);
    assert_string_equal(q.last, "a/p2");
    ctl_free(c);
    run_for(q.loop, 1);
    kc_free(kc);
    loop_free(q.loop);
}

/* Per-object state next to the work queue: zeroed on creation, kept until dropped, capped. */
static void test_ctl_state(void **state)
{
    struct fake *f = xcalloc(1, sizeof *f);
    struct loop *l = loop_new();
    struct kc *kc = kc_new(l, &fake_ops, f);
    struct ctl *c = ctl_new(kc, "test", q_sync, NULL);
    int fresh = 0, *a, *b;

    (void)state;
    assert_null(ctl_state(c, "a", "x", 1, &fresh)); /* no ctl_state_init: nothing kept */
    ctl_state_init(c, sizeof(int) * 4, 2);
    assert_null(ctl_state(c, "a", "x", 0, &fresh));
    a = ctl_state(c, "a", "x", 1, &fresh);
    assert_non_null(a);
    assert_int_equal(fresh, 1);
    assert_int_equal(a[0] + a[1] + a[2] + a[3], 0);
    a[0] = 42;
    fresh = 0;
    assert_ptr_equal(ctl_state(c, "a", "x", 1, &fresh), a);
    assert_int_equal(fresh, 0);
    assert_int_equal(((int *)ctl_state(c, "a", "x", 0, NULL))[0], 42);
    b = ctl_state(c, "b", "x", 1, NULL);
    assert_non_null(b);
    assert_null(ctl_state(c, "c", "x", 1, NULL)); /* the cap */
    ctl_state_drop(c, "b", "x");
    assert_null(ctl_state(c, "b", "x", 0, NULL));
    assert_non_null(ctl_state(c, "c", "x", 1, NULL));
    ctl_free(c);
    run_for(l, 1);
    kc_free(kc);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_informer_indexes),
        cmocka_unit_test(test_listener_cap),
        cmocka_unit_test(test_ctl_on_fake),
        cmocka_unit_test(test_ctl_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
