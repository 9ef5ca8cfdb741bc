/* A fake transport (client/kc.h) for controller unit tests: objects in memory per resource,
 * with the API's bookkeeping that controllers rely on (uid, resourceVersion, generateName,
 * creationTimestamp one second apart per create, metadata.generation on spec changes, the
 * status subresource, optimistic concurrency, graceful pod deletion, pods/binding), every
 * write and every Event recorded for assertions, and writes that fail on demand. Events reach
 * the client's informers synchronously from the write, as with the in-process transport; the
 * controllers' queues run on a real loop that fake_settle() turns until nothing more is
 * written. Header-only (static) so each test_*.c stays one executable. */
#ifndef KROLL_TEST_CTRL_FAKE_H
#define KROLL_TEST_CTRL_FAKE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/kc.h"
#include "controllers/controllers.h"
#include "core/cond.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/loop.h"

#define FAKE_MAX_LOG 4096 /* writes and events kept per test; more fails the test */

struct fake_write {
    char verb[8]; /* create, update, status, patch, delete, bind */
    enum res_id res;
    char name[128];
};

struct fake_event {
    char type[16], reason[64], object[128], msg[512];
};

struct fake {
    json_t *objs[RES_COUNT]; /* "ns/name" -> object; stored objects are never changed in place */
    kc_event_fn *fn;
    void *ctx;
    long long rv;
    unsigned uid, gen_name;
    time_t created; /* creationTimestamp of the next create */
    int pod_grace;  /* pod deletes with a grace period keep the pod, terminating (default) */
    struct fake_write w[FAKE_MAX_LOG];
    struct fake_event ev[FAKE_MAX_LOG];
    size_t nw, nev, mark_w, mark_ev;
    char fail_verb[8]; /* the next fail_n writes of this verb and resource fail */
    enum res_id fail_res;
    int fail_n, fail_code;
    struct loop *loop;
    struct kc *kc;
    struct ctl *ctl[4];
    int nctl;
};

static inline char *fake_key(const char *ns, const char *name)
{
    return xasprintf("%s/%s", ns ? ns : "", name ? name : "");
}

static inline json_t *fake_lookup(struct fake *f, enum res_id res, const char *ns, const char *name)
{
    char *k = fake_key(ns, name);
    json_t *o = f->objs[res] ? json_object_get(f->objs[res], k) : NULL;

    free(k);
    return o;
}

static inline void fake_log_write(struct fake *f, const char *verb, enum res_id res,
                                  const char *name)
{
    struct fake_write *w;

    if (f->nw >= FAKE_MAX_LOG)
        fail_msg("fake: more than %d writes (a controller loops?)", FAKE_MAX_LOG);
    w = &f->w[f->nw++];
    snprintf(w->verb, sizeof w->verb, "%s", verb);
    w->res = res;
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
}

/* Whether this write is one the test asked to fail; sets err then. */
static inline int fake_failing(struct fake *f, const char *verb, enum res_id res, struct err *err)
{
    if (f->fail_n <= 0 || strcmp(f->fail_verb, verb) != 0 || f->fail_res != res)
        return 0;
    f->fail_n--;
    err_set(err, f->fail_code, "injected %s failure", verb);
    return 1;
}

/* Stores obj (taken) under a new resourceVersion and tells the listener; DELETED removes it. */
static inline void fake_put(struct fake *f, const struct resource *r, json_t *obj, const char *type)
{
    char *k = fake_key(jx_str(obj, "metadata.namespace"), jx_str(obj, "metadata.name"));
    json_t *old;
    char rv[32];

    if (!f->objs[r->id])
        f->objs[r->id] = json_object();
    old = json_incref(json_object_get(f->objs[r->id], k));
    snprintf(rv, sizeof rv, "%lld", ++f->rv);
    jx_set(obj, "metadata.resourceVersion", json_string(rv));
    if (strcmp(type, "DELETED") == 0)
        json_object_del(f->objs[r->id], k);
    else
        json_object_set(f->objs[r->id], k, obj);
    if (f->fn)
        f->fn(type, r, obj, old, f->ctx);
    json_decref(old);
    json_decref(obj);
    free(k);
}

static inline int fake_create(void *t, const struct resource *r, const char *ns, json_t *obj,
                              const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct fake *f = t;
    json_t *cp;
    char uid[40], ts[32], *name;

    (void)o;
    if (fake_failing(f, "create", r->id, err))
        return err->code;
    cp = json_deep_copy(obj);
    if (ns && *ns)
        jx_set(cp, "metadata.namespace", json_string(ns));
    if (!jx_str(cp, "metadata.name") || !*jx_str(cp, "metadata.name")) {
        if (!jx_str(cp, "metadata.generateName")) {
            json_decref(cp);
            return err_set(err, -E_INVALID, "name or generateName is required");
        }
        name = xasprintf("%s%05x", jx_str(cp, "metadata.generateName"), ++f->gen_name);
        jx_set(cp, "metadata.name", json_string(name));
        free(name);
    }
    if (fake_lookup(f, r->id, ns, jx_str(cp, "metadata.name"))) {
        err_set(err, -E_ALREADY_EXISTS, "%s \"%s\" already exists", r->plural,
                jx_str(cp, "metadata.name"));
        json_decref(cp);
        return err->code;
    }
    /* A test may give the uid its other objects' ownerReferences name. */
    snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012x", ++f->uid);
    if (!jx_str(cp, "metadata.uid"))
        jx_set(cp, "metadata.uid", json_string(uid));
    time_rfc3339(f->created++, ts);
    jx_set(cp, "metadata.creationTimestamp", json_string(ts));
    if (r->flags & RF_GENERATION)
        jx_set(cp, "metadata.generation", json_integer(1));
    jx_set(cp, "kind", json_string(r->kind));
    jx_set(cp, "apiVersion", json_string(r->api_version));
    fake_log_write(f, "create", r->id, jx_str(cp, "metadata.name"));
    if (out)
        *out = json_incref(cp);
    fake_put(f, r, cp, "ADDED");
    return 0;
}

/* The object an update of old to obj stores (new reference), as the API's update_commit. */
static inline json_t *fake_updated(const struct resource *r, const json_t *old, const json_t *obj,
                                   int status)
{
    static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                       "deletionGracePeriodSeconds", "generation"};
    json_t *n;

    if (status) {
        n = json_deep_copy(old);
        json_object_set_new(n, "status",
                            json_deep_copy(json_object_get(obj, "status")) ?: json_object());
        if (jx_str(obj, "metadata.resourceVersion"))
            jx_set(n, "metadata.annotations",
                   json_deep_copy(jx_get(obj, "metadata.annotations")) ?: json_object());
        return n;
    }
    n = json_deep_copy(obj);
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(json_object_get(old, "metadata"), keep[i]);

        if (v)
            json_object_set(jx_obj(n, "metadata"), keep[i], v);
        else
            json_object_del(jx_obj(n, "metadata"), keep[i]);
    }
    if (r->flags & RF_STATUS) {
        json_object_del(n, "status");
        if (json_object_get(old, "status"))
            json_object_set(n, "status", json_object_get(old, "status"));
    }
    if ((r->flags & RF_GENERATION) && !json_equal(jx_get(n, "spec"), jx_get(old, "spec")))
        jx_set(n, "metadata.generation", json_integer(jx_int(old, "metadata.generation", 1) + 1));
    return n;
}

static inline int fake_write_update(struct fake *f, const struct resource *r, const char *ns,
                                    const char *name, const json_t *obj, int status,
                                    const char *verb, json_t **out, struct err *err)
{
    json_t *old = fake_lookup(f, r->id, ns, name), *n;
    const char *rv = jx_str(obj, "metadata.resourceVersion");

    if (fake_failing(f, verb, r->id, err))
        return err->code;
    if (!old)
        return err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", r->plural, name);
    if (rv && *rv && strcmp(rv, jx_str(old, "metadata.resourceVersion")) != 0)
        return err_set(err, -E_CONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": the object has been "
                       "modified; please apply your changes to the latest version and try again",
                       r->plural, name);
    n = fake_updated(r, old, obj, status);
    jx_set(n, "metadata.resourceVersion", json_string(jx_str(old, "metadata.resourceVersion")));
    jx_set(n, "kind", json_string(r->kind));
    jx_set(n, "apiVersion", json_string(r->api_version));
    if (json_equal(n, old)) { /* a no-op write stores nothing and sends no event */
        json_decref(n);
        if (out)
            *out = json_incref(old);
        return 0;
    }
    fake_log_write(f, verb, r->id, name);
    if (out)
        *out = json_incref(n);
    fake_put(f, r, n, "MODIFIED");
    return 0;
}

static inline int fake_update(void *t, const struct resource *r, const char *ns, const char *name,
                              json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err)
{
    int status = o && o->status;

    return fake_write_update(t, r, ns, name, obj, status, status ? "status" : "update", out, err);
}

/* RFC 7386 JSON merge patch of p onto o (changed in place). */
static inline void fake_merge(json_t *o, const json_t *p)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)p, k, v)
    {
        if (json_is_null(v))
            json_object_del(o, k);
        else if (json_is_object(v) && json_is_object(json_object_get(o, k)))
            fake_merge(json_object_get(o, k), v);
        else
            json_object_set_new(o, k, json_deep_copy(v));
    }
}

static inline int fake_patch(void *t, const struct resource *r, const char *ns, const char *name,
                             const char *ctype, const json_t *patch, const struct kc_wopts *o,
                             json_t **out, struct err *err)
{
    struct fake *f = t;
    json_t *old = fake_lookup(f, r->id, ns, name), *n;
    int rc;

    if (strcmp(ctype, "application/merge-patch+json") != 0)
        return err_set(err, -E_UNSUPPORTED_MEDIA, "fake: only merge patches (%s)", ctype);
    if (!old)
        return err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", r->plural, name);
    n = json_deep_copy(old);
    fake_merge(n, patch);
    rc = fake_write_update(f, r, ns, name, n, o && o->status, "patch", out, err);
    json_decref(n);
    return rc;
}

static inline int fake_del(void *t, const struct resource *r, const char *ns, const char *name,
                           const struct kc_wopts *o, json_t **out, struct err *err)
{
    struct fake *f = t;
    json_t *have = fake_lookup(f, r->id, ns, name), *n;
    char ts[32];

    if (fake_failing(f, "delete", r->id, err))
        return err->code;
    if (!have)
        return err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", r->plural, name);
    fake_log_write(f, "delete", r->id, name);
    n = json_deep_copy(have);
    if (out)
        *out = json_incref(n);
    /* As the pod strategy: a scheduled pod with a grace period terminates first. */
    if (r->id == RES_POD && f->pod_grace && (!o || o->grace != 0) && jx_str(n, "spec.nodeName")) {
        if (jx_get(n, "metadata.deletionTimestamp")) {
            json_decref(n);
            return 0;
        }
        time_rfc3339(time(NULL), ts);
        jx_set(n, "metadata.deletionTimestamp", json_string(ts));
        jx_set(n, "metadata.deletionGracePeriodSeconds", json_integer(30));
        fake_put(f, r, n, "MODIFIED");
        return 0;
    }
    fake_put(f, r, n, "DELETED");
    return 0;
}

static inline int fake_bind(void *t, const char *ns, const char *name, const char *node,
                            struct err *err)
{
    struct fake *f = t;
    json_t *have = fake_lookup(f, RES_POD, ns, name), *n;
    char ts[32];

    if (fake_failing(f, "bind", RES_POD, err))
        return err->code;
    if (!have)
        return err_set(err, -E_NOT_FOUND, "pods \"%s\" not found", name);
    if (jx_str(have, "spec.nodeName"))
        return err_set(err, -E_CONFLICT, "pod %s is already assigned to node \"%s\"", name,
                       jx_str(have, "spec.nodeName"));
    fake_log_write(f, "bind", RES_POD, name);
    n = json_deep_copy(have);
    jx_set(n, "spec.nodeName", json_string(node));
    time_rfc3339(time(NULL), ts);
    cond_set(jx_obj(n, "status"), json_pack("{s:s,s:s,s:s}", "type", "PodScheduled", "status",
                                            "True", "lastTransitionTime", ts));
    fake_put(f, kc_resource(RES_POD), n, "MODIFIED");
    return 0;
}

static inline void fake_event_rec(void *t, const json_t *obj, const char *type, const char *reason,
                                  const char *component, const char *msg)
{
    struct fake *f = t;
    struct fake_event *e;

    (void)component;
    if (f->nev >= FAKE_MAX_LOG)
        fail_msg("fake: more than %d events", FAKE_MAX_LOG);
    e = &f->ev[f->nev++];
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    snprintf(e->object, sizeof e->object, "%s", jx_str(obj, "metadata.name") ?: "");
    snprintf(e->msg, sizeof e->msg, "%s", msg);
}

static inline json_t *fake_list_map(void *t, const struct resource *r)
{
    return ((struct fake *)t)->objs[r->id];
}

static inline void fake_watch(void *t, kc_event_fn *fn, void *ctx)
{
    struct fake *f = t;

    f->fn = fn;
    f->ctx = ctx;
}

static inline void fake_unwatch(void *t, kc_event_fn *fn, void *ctx)
{
    (void)fn, (void)ctx;
    ((struct fake *)t)->fn = NULL;
}

static inline void fake_transport_free(void *t)
{
    (void)t; /* fake_free owns the state: the test reads it after the client is gone */
}

static const struct kc_transport fake_ops = {
    .create = fake_create,
    .update = fake_update,
    .patch = fake_patch,
    .del = fake_del,
    .bind = fake_bind,
    .event = fake_event_rec,
    .list_map = fake_list_map,
    .watch = fake_watch,
    .unwatch = fake_unwatch,
    .free = fake_transport_free,
};

/* ---- the test's side ---- */

static inline struct fake *fake_new(void)
{
    struct fake *f = xcalloc(1, sizeof *f);

    f->loop = loop_new();
    f->kc = kc_new(f->loop, &fake_ops, f);
    f->created = time(NULL) - 86400; /* a day ago, one second per object */
    f->pod_grace = 1;
    return f;
}

static inline void fake_start(struct fake *f, struct ctl *c)
{
    assert_true(f->nctl < 4);
    f->ctl[f->nctl++] = c;
}

static inline void fake_on_stop(struct loop_timer *t, void *ctx)
{
    (void)t;
    loop_stop(ctx);
}

/* One turn of the loop: queued events and keys run (the defer phase), due timers fire. */
static inline void fake_turn(struct fake *f)
{
    struct loop_timer t;

    loop_timer_init(&t, fake_on_stop, f->loop);
    loop_timer_start(f->loop, &t, 0);
    loop_run(f->loop);
}

/* Turns the loop until three turns in a row write nothing (bounded): the controllers have
 * settled. Counts turns, not time, so a loaded machine changes nothing. */
static inline void fake_settle(struct fake *f)
{
    size_t last = (size_t)-1;
    int quiet = 0;

    for (int i = 0; i < 2000 && quiet < 3; i++) {
        fake_turn(f);
        quiet = f->nw + f->nev == last ? quiet + 1 : 0;
        last = f->nw + f->nev;
    }
    if (quiet < 3)
        fail_msg("fake: controllers did not settle in 2000 turns");
}

/* Runs the loop for ms milliseconds, so that delayed requeues due by then fire (timers fire
 * in due order: one due earlier than this one has fired when it does), then settles. */
static inline void fake_wait(struct fake *f, int ms)
{
    struct loop_timer t;

    loop_timer_init(&t, fake_on_stop, f->loop);
    loop_timer_start(f->loop, &t, ms);
    loop_run(f->loop);
    fake_settle(f);
}

static inline void fake_free(struct fake *f)
{
    for (int i = 0; i < f->nctl; i++)
        ctl_free(f->ctl[i]);
    fake_turn(f); /* deferred frees */
    kc_free(f->kc);
    loop_free(f->loop);
    for (int i = 0; i < RES_COUNT; i++)
        json_decref(f->objs[i]);
    free(f);
}

/* Writes and events from here on are what the fake_count_* functions count. */
static inline void fake_mark(struct fake *f)
{
    f->mark_w = f->nw;
    f->mark_ev = f->nev;
}

/* The next n writes of verb ("create", "update", "status", "patch", "delete", "bind") to res
 * fail with code. */
static inline void fake_fail(struct fake *f, const char *verb, enum res_id res, int code, int n)
{
    snprintf(f->fail_verb, sizeof f->fail_verb, "%s", verb);
    f->fail_res = res;
    f->fail_code = code;
    f->fail_n = n;
}

/* Writes since the mark of verb (NULL: any) to res whose name starts with prefix (NULL: any). */
static inline int fake_count_writes(struct fake *f, const char *verb, enum res_id res,
                                    const char *prefix)
{
    int n = 0;

    for (size_t i = f->mark_w; i < f->nw; i++)
        if (f->w[i].res == res && (!verb || !strcmp(f->w[i].verb, verb)) &&
            (!prefix || !strncmp(f->w[i].name, prefix, strlen(prefix))))
            n++;
    return n;
}

/* Events since the mark with reason whose message contains text (NULL: any). */
static inline int fake_count_events(struct fake *f, const char *reason, const char *text)
{
    int n = 0;

    for (size_t i = f->mark_ev; i < f->nev; i++)
        if (!strcmp(f->ev[i].reason, reason) && (!text || strstr(f->ev[i].msg, text)))
            n++;
    return n;
}

/* The type ("Normal", "Warning") of the last event with reason, or NULL. */
static inline const char *fake_event_type(struct fake *f, const char *reason)
{
    for (size_t i = f->nev; i > 0; i--)
        if (!strcmp(f->ev[i - 1].reason, reason))
            return f->ev[i - 1].type;
    return NULL;
}

/* Creates an object from JSON text (printf format); returns the stored object (borrowed). */
static inline json_t *fake_add(struct fake *f, enum res_id res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline json_t *fake_add(struct fake *f, enum res_id res, const char *fmt, ...)
{
    const struct resource *r = kc_resource(res);
    json_t *obj, *out = NULL;
    json_error_t je;
    struct err err;
    va_list ap;
    char *text;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        abort();
    va_end(ap);
    obj = json_loads(text, 0, &je);
    if (!obj)
        fail_msg("bad JSON in test: %s: %s", je.text, text);
    free(text);
    err_init(&err);
    if (fake_create(f, r, jx_str(obj, "metadata.namespace"), obj, NULL, &out, &err) < 0)
        fail_msg("create failed: %s", err.msg);
    json_decref(obj);
    err_release(&err);
    obj = fake_lookup(f, res, jx_str(out, "metadata.namespace"), jx_str(out, "metadata.name"));
    json_decref(out);
    return obj;
}

/* Sets a value (JSON text) at a dotted path of a stored object, as another client's write. */
static inline void fake_set(struct fake *f, enum res_id res, const char *ns, const char *name,
                            const char *path, const char *value)
{
    json_t *have = fake_lookup(f, res, ns, name), *n, *v = json_loads(value, JSON_DECODE_ANY, NULL);

    if (!have || !v)
        fail_msg("fake_set %s/%s %s=%s: no object or bad value", ns, name, path, value);
    n = json_deep_copy(have);
    jx_set(n, path, v);
    if (!strncmp(path, "spec.", 5) && (kc_resource(res)->flags & RF_GENERATION))
        jx_set(n, "metadata.generation", json_integer(jx_int(have, "metadata.generation", 1) + 1));
    fake_put(f, kc_resource(res), n, "MODIFIED");
}

/* The value at path in obj (borrowed) or NULL; "status.conditions.<Type>.<field>" reads the
 * condition of that type, so rows need not know the conditions' order, and
 * "metadata.annotations.<key>" an annotation (whose key may have dots). */
/* noinline: inlined with a constant path, gcc warns about the dead branch's offset. */
__attribute__((noinline, unused)) static json_t *fake_field(const json_t *obj, const char *path)
{
    static const char pre[] = "status.conditions.", ann[] = "metadata.annotations.";
    char type[64];
    const char *dot;

    if (strncmp(path, ann, sizeof ann - 1) == 0) /* annotation keys have dots */
        return json_object_get(jx_get(obj, "metadata.annotations"), path + sizeof ann - 1);
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return jx_get(obj, path);
    path += sizeof pre - 1;
    dot = strchr(path, '.');
    snprintf(type, sizeof type, "%.*s", dot ? (int)(dot - path) : (int)strlen(path), path);
    return dot ? jx_get(cond_get(obj, type), dot + 1) : cond_get(obj, type);
}

/* Fails the test (naming row) unless the field at path of obj equals the JSON text want (NULL:
 * the field is absent). */
static inline void fake_check_field(const json_t *obj, const char *row, const char *path,
                                    const char *want)
{
    json_t *have = fake_field(obj, path), *w;

    if (!want) {
        if (have)
            fail_msg("%s: %s should be absent, is %s", row, path, jx_dump(have));
        return;
    }
    w = json_loads(want, JSON_DECODE_ANY, NULL);
    if (!w)
        fail_msg("%s: bad JSON in test: %s", row, want);
    if (!json_equal(have, w))
        fail_msg("%s: %s is %s, want %s", row, path, have ? jx_dump(have) : "(absent)", want);
    json_decref(w);
}

/* The name of the active controller-owned pods' owner of pod p, or "". */
static const char *fake_owner_name(const json_t *p)
{
    json_t *ref = ctl_controller_ref(p);

    return ref ? jx_str(ref, "name") ?: "" : "";
}

/* Active (not terminating, not finished) pods of ns whose controller is named owner. */
static inline int fake_count_pods(struct fake *f, const char *ns, const char *owner)
{
    const char *k;
    json_t *p;
    int n = 0;

    json_object_foreach(f->objs[RES_POD], k, p)
    {
        const char *ph = jx_str(p, "status.phase");

        if (!strcmp(jx_str(p, "metadata.namespace") ?: "", ns) &&
            !strcmp(fake_owner_name(p), owner) && !jx_get(p, "metadata.deletionTimestamp") &&
            (!ph || (strcmp(ph, "Succeeded") && strcmp(ph, "Failed"))))
            n++;
    }
    return n;
}

/* Marks up to n not-ready active pods owned by owner Running and Ready since `ago` seconds
 * (bound to node-1 if unbound), as the kubelet would; returns how many it marked. */
static inline int fake_pods_ready(struct fake *f, const char *ns, const char *owner, int n, int ago)
{
    json_t *todo = json_array(), *p;
    const char *k;
    char ts[32];
    size_t i;

    json_object_foreach(f->objs[RES_POD], k, p)
    {
        if (!strcmp(jx_str(p, "metadata.namespace") ?: "", ns) &&
            !strcmp(fake_owner_name(p), owner) && !jx_get(p, "metadata.deletionTimestamp") &&
            !cond_get(p, "Ready") && (int)json_array_size(todo) < n)
            json_array_append(todo, p);
    }
    time_rfc3339(time(NULL) - ago, ts);
    json_array_foreach(todo, i, p)
    {
        json_t *np = json_deep_copy(p);

        if (!jx_str(np, "spec.nodeName"))
            jx_set(np, "spec.nodeName", json_string("node-1"));
        jx_set(np, "status.phase", json_string("Running"));
        cond_set(jx_obj(np, "status"), json_pack("{s:s,s:s,s:s}", "type", "Ready", "status", "True",
                                                 "lastTransitionTime", ts));
        fake_put(f, kc_resource(RES_POD), np, "MODIFIED");
    }
    n = (int)json_array_size(todo);
    json_decref(todo);
    return n;
}

/* Removes every terminating pod, as the kubelet does when their containers have stopped. */
static inline void fake_pods_finish(struct fake *f)
{
    json_t *todo = json_array(), *p;
    const char *k;
    size_t i;

    json_object_foreach(f->objs[RES_POD], k, p) if (jx_get(p, "metadata.deletionTimestamp"))
        json_array_append(todo, p);
    json_array_foreach(todo, i, p) fake_put(f, kc_resource(RES_POD), json_deep_copy(p), "DELETED");
    json_decref(todo);
}

/* Moves every time stamp of the stored objects of res secs into the past (the controllers'
 * clock is time(): this is "advance time" for them), sending MODIFIED for each changed one. */
static inline void fake_age_walk(json_t *v, long long secs, int *changed)
{
    const char *k;
    json_t *c;
    size_t i;

    if (json_is_array(v))
        json_array_foreach(v, i, c) fake_age_walk(c, secs, changed);
    if (!json_is_object(v))
        return;
    json_object_foreach(v, k, c)
    {
        if (json_is_string(c) &&
            (!strcmp(k, "lastUpdateTime") || !strcmp(k, "lastTransitionTime") ||
             !strcmp(k, "creationTimestamp"))) {
            time_t t = time_parse(json_string_value(c));
            char ts[32];

            if (t < 0)
                continue;
            time_rfc3339(t - secs, ts);
            json_string_set(c, ts);
            *changed = 1;
        } else {
            fake_age_walk(c, secs, changed);
        }
    }
}

static inline void fake_age(struct fake *f, enum res_id res, long long secs)
{
    json_t *todo = json_array(), *p;
    const char *k;
    size_t i;

    json_object_foreach(f->objs[res], k, p) json_array_append(todo, p);
    json_array_foreach(todo, i, p)
    {
        json_t *np = json_deep_copy(p);
        int changed = 0;

        fake_age_walk(np, secs, &changed);
        if (changed)
            fake_put(f, kc_resource(res), np, "MODIFIED");
        else
            json_decref(np);
    }
    json_decref(todo);
}

#endif
