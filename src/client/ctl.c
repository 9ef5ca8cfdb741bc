/* Controller runtime: a deduplicated work queue per controller, drained in the loop's defer
 * phase, delayed requeues on timers, and event fan-in from the API's store listener. Store
 * events are queued per controller in resourceVersion order and handed to its event functions
 * from the defer phase, never inside the write that caused them: a controller's handlers and
 * syncs never run re-entrantly, and controllers see each other only through objects. */
#include "client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/selector.h"

struct ctl_watch {
    const struct resource *r;
    ctl_event_fn *fn;
};

/* One store event waiting for a controller's event function (objects referenced). */
struct ctl_ev {
    struct ctl_ev *next;
    int w;            /* index into ctl.w */
    const char *type; /* "ADDED", "MODIFIED", "DELETED" (static strings) */
    json_t *obj, *old;
};

struct delayed {
    struct loop_timer t;
    struct ctl *c;
    char *key;
};

struct ctl {
    struct kc *kc;
    char *name;
    ctl_sync_fn *sync;
    void *ctx;
    struct ctl_watch *w; /* grows: a controller watches as many resources as it asks for */
    int nw;
    json_t *queue;                     /* key -> true (dedupe) */
    json_t *order;                     /* array of keys in arrival order */
    json_t *delays;                    /* key -> pointer to struct delayed (as integer) */
    struct ctl_ev *ev_head, **ev_tail; /* events not yet delivered, oldest first */
    long nev;
    int scheduled;
    int freeing;
    ctl_release_fn *release; /* frees ctx when the controller is freed */
    json_t *states;          /* key -> pointer to a state block (as integer), ctl_state */
    size_t state_size;
    int state_max, state_capped;
};

void ctl_set_release(struct ctl *c, ctl_release_fn *fn)
{
    c->release = fn;
}

struct kc *ctl_kc(struct ctl *c)
{
    return c->kc;
}

const char *ctl_name(const struct ctl *c)
{
    return c->name;
}

static void drain(void *ctx);

static void schedule(struct ctl *c)
{
    if (!c->scheduled) {
        c->scheduled = 1;
        loop_defer(kc_loop(c->kc), drain, c);
    }
}

static void ev_free(struct ctl_ev *e)
{
    json_decref(e->obj);
    json_decref(e->old);
    free(e);
}

static void ev_push(struct ctl *c, int w, const char *type, json_t *obj, json_t *old)
{
    struct ctl_ev *e = xcalloc(1, sizeof *e);

    e->w = w;
    e->type = type;
    e->obj = json_incref(obj);
    e->old = old ? json_incref(old) : NULL;
    *c->ev_tail = e;
    c->ev_tail = &e->next;
    c->nev++;
    schedule(c);
}

/* Hands the queued events to the event functions, oldest first. Events a handler causes wait
 * for the next round, so each round ends. */
static void ev_deliver_all(struct ctl *c)
{
    long n = c->nev;

    while (c->ev_head && n-- > 0) {
        struct ctl_ev *e = c->ev_head;
        struct ctl_watch *w = &c->w[e->w];

        c->ev_head = e->next;
        if (!c->ev_head)
            c->ev_tail = &c->ev_head;
        c->nev--;
        if (w->fn)
            w->fn(c, e->type, w->r, e->obj, e->old, c->ctx);
        else
            ctl_enqueue(c, jx_str(e->obj, "metadata.namespace"), jx_str(e->obj, "metadata.name"));
        ev_free(e);
    }
}

static void ev_clear(struct ctl *c)
{
    while (c->ev_head) {
        struct ctl_ev *e = c->ev_head;

        c->ev_head = e->next;
        ev_free(e);
    }
    c->ev_tail = &c->ev_head;
    c->nev = 0;
}

/* One round: the events, then the keys. scheduled stays set meanwhile, so a round that left
 * work queues the next one at its end, behind the controllers its own writes woke: the
 * ReplicaSet controller acts on a resize before the Deployment controller looks again. */
static void drain(void *ctx)
{
    struct ctl *c = ctx;
    int budget = 10000;

    ev_deliver_all(c);
    while (json_array_size(c->order) && budget-- > 0) {
        char *key = xstrdup(json_string_value(json_array_get(c->order, 0)));
        char *slash = strchr(key, '/');

        json_array_remove(c->order, 0);
        json_object_del(c->queue, key);
        if (slash) {
            *slash = 0;
            c->sync(c, key, slash + 1, c->ctx);
        }
        free(key);
    }
    c->scheduled = 0;
    if (json_array_size(c->order) || c->ev_head)
        schedule(c);
}

void ctl_enqueue(struct ctl *c, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns ? ns : "", name);

    if (!json_object_get(c->queue, key)) {
        json_object_set_new(c->queue, key, json_true());
        json_array_append_new(c->order, json_string(key));
    }
    free(key);
    schedule(c);
}

static void on_delay(struct loop_timer *t, void *ctx)
{
    struct delayed *d = ctx;
    struct ctl *c = d->c;
    char *slash = strchr(d->key, '/');

    json_object_del(c->delays, d->key);
    if (slash) {
        *slash = 0;
        ctl_enqueue(c, d->key, slash + 1);
    }
    free(d->key);
    free(d);
}

void ctl_enqueue_after(struct ctl *c, const char *ns, const char *name, int64_t ms)
{
    char *key;
    json_t *have;
    struct delayed *d;
    struct loop *l = kc_loop(c->kc);

    if (ms <= 0) {
        ctl_enqueue(c, ns, name);
        return;
    }
    key = xasprintf("%s/%s", ns ? ns : "", name);
    have = json_object_get(c->delays, key);
    if (have) {
        d = (struct delayed *)(intptr_t)json_integer_value(have);
        if (d->t.due_ms <= loop_now_ms(l) + ms) {
            free(key);
            return;
        }
        loop_timer_start(l, &d->t, ms);
        free(key);
        return;
    }
    d = xcalloc(1, sizeof *d);
    d->c = c;
    d->key = key;
    loop_timer_init(&d->t, on_delay, d);
    loop_timer_start(l, &d->t, ms);
    json_object_set_new(c->delays, key, json_integer((json_int_t)(intptr_t)d));
}

json_t *ctl_controller_ref(const json_t *obj)
{
    return kc_controller_ref(obj);
}

void ctl_enqueue_owner(struct ctl *c, const json_t *obj, const char *kind)
{
    json_t *ref = ctl_controller_ref(obj);

    if (ref && strcmp(jx_str(ref, "kind") ?: "", kind) == 0)
        ctl_enqueue(c, jx_str(obj, "metadata.namespace"), jx_str(ref, "name"));
}

/* The informer's listener: may run inside the write that caused the event, so it only queues
 * it. */
static void on_informer(const char *type, const struct resource *r, json_t *obj, json_t *old,
                        void *ctx)
{
    struct ctl *c = ctx;

    for (int i = 0; i < c->nw; i++)
        if (c->w[i].r == r)
            ev_push(c, i, type, obj, old);
}

struct ctl *ctl_new(struct kc *kc, const char *name, ctl_sync_fn *sync, void *ctx)
{
    struct ctl *c = xcalloc(1, sizeof *c);

    c->kc = kc;
    c->name = xstrdup(name);
    c->sync = sync;
    c->ctx = ctx;
    c->queue = json_object();
    c->order = json_array();
    c->delays = json_object();
    c->states = json_object();
    c->ev_tail = &c->ev_head;
    return c;
}

void ctl_watch(struct ctl *c, enum res_id res, ctl_event_fn *fn)
{
    const struct resource *r = kc_resource(res);
    int listening = 0;

    for (int i = 0; i < c->nw; i++)
        listening |= c->w[i].r == r;
    if (!listening && kc_listen(c->kc, r, on_informer, c) < 0)
        return;
    c->w = xrealloc(c->w, (size_t)(c->nw + 1) * sizeof *c->w);
    c->w[c->nw++] = (struct ctl_watch){r, fn};
}

void ctl_start(struct ctl *c)
{
    for (int i = 0; i < c->nw; i++) {
        json_t *m = kc_map(c->kc, c->w[i].r), *v;
        const char *k;

        if (!m)
            continue;
        json_object_foreach(m, k, v) ev_push(c, i, "ADDED", v, NULL);
    }
}

json_t *ctl_map(struct ctl *c, enum res_id res)
{
    return kc_map(c->kc, kc_resource(res));
}

json_t *ctl_map_ns(struct ctl *c, enum res_id res, const char *ns)
{
    return kc_map_ns(c->kc, kc_resource(res), ns);
}

json_t *ctl_select(struct ctl *c, enum res_id res, const char *ns, const struct labelsel *ls)
{
    json_t *m = ctl_map_ns(c, res, ns), *v, *out = json_array();
    const char *k;

    json_object_foreach(m, k, v) if (labelsel_match(ls, jx_get(v, "metadata.labels")))
        json_array_append(out, v);
    return out;
}

void ctl_on_spec(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                 json_t *old, void *ctx)
{
    (void)r;
    (void)ctx;
    if (old && strcmp(type, "MODIFIED") == 0 &&
        jx_equal_semantic(json_object_get(obj, "spec"), json_object_get(old, "spec")))
        return;
    ctl_enqueue(c, jx_str(obj, "metadata.namespace") ?: "", jx_str(obj, "metadata.name") ?: "");
}

void ctl_state_init(struct ctl *c, size_t size, int max)
{
    c->state_size = size;
    c->state_max = max;
}

void *ctl_state(struct ctl *c, const char *ns, const char *name, int create, int *fresh)
{
    char *key = xasprintf("%s/%s", ns ? ns : "", name);
    json_t *have = json_object_get(c->states, key);
    void *s = NULL;

    if (have) {
        s = (void *)(intptr_t)json_integer_value(have);
    } else if (!create || !c->state_size) {
        s = NULL;
    } else if ((int)json_object_size(c->states) >= c->state_max) {
        if (!c->state_capped)
            log_warn(c->name,
                     "msg=\"tracking limit reached: objects past it are not acted on\" "
                     "max=%d",
                     c->state_max);
        c->state_capped = 1;
    } else if ((s = calloc(1, c->state_size))) {
        json_object_set_new(c->states, key, json_integer((json_int_t)(intptr_t)s));
        if (fresh)
            *fresh = 1;
    }
    free(key);
    return s;
}

void ctl_state_drop(struct ctl *c, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns ? ns : "", name);
    json_t *have = json_object_get(c->states, key);

    if (have) {
        free((void *)(intptr_t)json_integer_value(have));
        json_object_del(c->states, key);
        c->state_capped = 0;
    }
    free(key);
}

static void states_free(struct ctl *c)
{
    const char *k;
    json_t *v;

    json_object_foreach(c->states, k, v) free((void *)(intptr_t)json_integer_value(v));
    json_decref(c->states);
    c->states = NULL;
}

void ctl_log_err(struct ctl *c, const char *what, const char *ns, const char *name,
                 const struct err *err)
{
    if (err->code == -E_CONFLICT) {
        ctl_enqueue_after(c, ns, name, 100);
        return;
    }
    log_warn(c->name, "msg=\"%s failed\" object=%s/%s err=\"%s\"", what, ns ? ns : "", name,
             err->msg);
}

int ctl_status_write(struct ctl *c, enum res_id res, const json_t *obj, const json_t *stored,
                     json_t *st, const char *manager)
{
    struct kc_wopts o = {.grace = -1, .status = 1, .manager = manager};
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    json_t *cp, *out = NULL;
    struct err err;
    int rc;

    if (jx_equal_semantic(st, stored)) {
        json_decref(st);
        return 0;
    }
    cp = json_deep_copy(obj);
    json_object_set_new(cp, "status", st);
    err_init(&err);
    rc = kc_update(c->kc, kc_resource(res), ns, name, cp, &o, &out, &err);
    if (rc < 0)
        ctl_log_err(c, "status update", ns, name, &err);
    json_decref(out);
    json_decref(cp);
    err_release(&err);
    return rc < 0 ? -1 : 1;
}

static void free_later(void *ctx)
{
    struct ctl *c = ctx;

    if (c->release)
        c->release(c->ctx);
    states_free(c);
    json_decref(c->queue);
    json_decref(c->order);
    free(c->w);
    free(c->name);
    free(c);
}

void ctl_free(struct ctl *c)
{
    const char *k;
    json_t *v;

    if (!c)
        return;
    kc_unlisten(c->kc, on_informer, c);
    json_object_foreach(c->delays, k, v)
    {
        struct delayed *d = (struct delayed *)(intptr_t)json_integer_value(v);

        loop_timer_stop(kc_loop(c->kc), &d->t);
        free(d->key);
        free(d);
    }
    json_decref(c->delays);
    c->delays = NULL;
    ev_clear(c);
    json_array_clear(c->order);
    loop_defer(kc_loop(c->kc), free_later, c);
}
