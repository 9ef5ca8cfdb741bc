/* The client (kc.h): shared informers over a transport's list and watch, and writes handed to
 * the transport. An informer starts the first time anyone reads or listens to its resource:
 * it copies the transport's list, and from then on every event updates the cache and its
 * indexes before any listener hears of it, so a reader always sees at least what the last
 * event said. The client runs on one loop thread, like everything that holds one. */
#include "client/kc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

struct informer {
    int started;
    int listed, live; /* kc_sync */
    json_t *all;      /* "ns/name" -> object */
    json_t *by_ns;    /* namespace -> {"ns/name": object} */
    json_t *by_owner; /* controller owner uid -> {"ns/name": object} */
};

struct listener {
    const struct resource *r;
    kc_event_fn *fn;
    void *ctx;
};

struct kc {
    struct loop *loop;
    const struct kc_transport *ops;
    void *t;
    int watching;
    struct informer inf[RES_COUNT];
    struct listener ls[KC_MAX_LISTENERS];
    int nls;
    unsigned lost;
    kc_sync_fn *sync_fn;
    void *sync_ctx;
};

char *kc_key(const json_t *obj)
{
    return xasprintf("%s/%s", jx_str(obj, "metadata.namespace") ?: "",
                     jx_str(obj, "metadata.name") ?: "");
}

json_t *kc_controller_ref(const json_t *obj)
{
    json_t *refs = jx_get(obj, "metadata.ownerReferences");

    for (size_t i = 0; i < json_array_size(refs); i++) {
        json_t *ref = json_array_get(refs, i);

        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

static const char *owner_uid(const json_t *obj)
{
    return jx_str(kc_controller_ref(obj), "uid");
}

/* idx[group][key] = obj, or removes key from idx[group] (dropping an empty group). */
static void index_set(json_t *idx, const char *group, const char *key, json_t *obj)
{
    json_t *m;

    if (!group)
        return;
    m = json_object_get(idx, group);
    if (obj) {
        if (!m) {
            m = json_object();
            json_object_set_new(idx, group, m);
        }
        json_object_set(m, key, obj);
    } else if (m) {
        json_object_del(m, key);
        if (json_object_size(m) == 0)
            json_object_del(idx, group);
    }
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Sets (obj) or removes (NULL) key in the cache and its indexes. An object that stays in its
 * namespace and with its owner is replaced in place, so a map a caller is walking is never
 * freed under it by an update (a delete still removes the key). */
static void inf_put(struct informer *inf, const char *key, json_t *obj)
{
    json_t *old = json_object_get(inf->all, key);

    if (old && obj && same(jx_str(old, "metadata.namespace"), jx_str(obj, "metadata.namespace")) &&
        same(owner_uid(old), owner_uid(obj))) {
        json_object_set(inf->all, key, obj);
        index_set(inf->by_ns, jx_str(obj, "metadata.namespace") ?: "", key, obj);
        index_set(inf->by_owner, owner_uid(obj), key, obj);
        return;
    }
    if (old) {
        index_set(inf->by_ns, jx_str(old, "metadata.namespace") ?: "", key, NULL);
        index_set(inf->by_owner, owner_uid(old), key, NULL);
    }
    if (!obj) {
        json_object_del(inf->all, key);
        return;
    }
    json_object_set(inf->all, key, obj);
    index_set(inf->by_ns, jx_str(obj, "metadata.namespace") ?: "", key, obj);
    index_set(inf->by_owner, owner_uid(obj), key, obj);
}

static void on_event(const char *type, const struct resource *r, json_t *obj, json_t *old,
                     void *ctx)
{
    struct kc *kc = ctx;
    struct informer *inf = &kc->inf[r->id];
    json_t *cached = NULL;

    if (!obj) { /* the transport's KC_LISTED or KC_LOST */
        int live = strcmp(type, KC_LISTED) == 0;

        if (!inf->started)
            return;
        kc->lost += !live;
        inf->listed |= live;
        inf->live = live;
        if (kc->sync_fn)
            kc->sync_fn(r, live, kc->sync_ctx);
        return;
    }
    if (inf->started) {
        char *key = kc_key(obj);

        /* A transport that does not know the previous state (a watch stream) gets it from the
         * cache; a deletion it noticed only by listing again carries just the name. */
        if (!old && strcmp(type, "ADDED") != 0)
            old = cached = json_incref(json_object_get(inf->all, key));
        if (cached && strcmp(type, "DELETED") == 0 && !jx_str(obj, "metadata.uid"))
            obj = cached;
        inf_put(inf, key, strcmp(type, "DELETED") == 0 ? NULL : obj);
        free(key);
    }
    for (int i = 0; i < kc->nls; i++)
        if (kc->ls[i].r == r)
            kc->ls[i].fn(type, r, obj, old, kc->ls[i].ctx);
    json_decref(cached);
}

static struct informer *inf_of(struct kc *kc, const struct resource *r)
{
    struct informer *inf = &kc->inf[r->id];
    json_t *m, *v;
    const char *k;

    if (inf->started)
        return inf;
    if (!kc->watching) {
        kc->ops->watch(kc->t, on_event, kc);
        kc->watching = 1;
    }
    inf->started = 1;
    inf->listed = inf->live = !kc->ops->sync_events;
    inf->all = json_object();
    inf->by_ns = json_object();
    inf->by_owner = json_object();
    m = kc->ops->list_map(kc->t, r);
    json_object_foreach(m, k, v) inf_put(inf, k, v);
    return inf;
}

struct kc *kc_new(struct loop *loop, const struct kc_transport *ops, void *t)
{
    struct kc *kc = xcalloc(1, sizeof *kc);

    kc->loop = loop;
    kc->ops = ops;
    kc->t = t;
    return kc;
}

void kc_free(struct kc *kc)
{
    if (!kc)
        return;
    if (kc->watching)
        kc->ops->unwatch(kc->t, on_event, kc);
    for (int i = 0; i < RES_COUNT; i++) {
        json_decref(kc->inf[i].all);
        json_decref(kc->inf[i].by_ns);
        json_decref(kc->inf[i].by_owner);
    }
    if (kc->ops->free)
        kc->ops->free(kc->t);
    free(kc);
}

struct loop *kc_loop(struct kc *kc)
{
    return kc->loop;
}

void kc_sync(struct kc *kc, struct kc_sync *s)
{
    *s = (struct kc_sync){.listed = 1, .live = 1, .lost = kc->lost};
    for (int i = 0; i < RES_COUNT; i++) {
        if (!kc->inf[i].started)
            continue;
        s->listed &= kc->inf[i].listed;
        s->live &= kc->inf[i].live;
    }
}

void kc_on_sync(struct kc *kc, kc_sync_fn *fn, void *ctx)
{
    kc->sync_fn = fn;
    kc->sync_ctx = ctx;
}

const struct resource *kc_resource(enum res_id id)
{
    return scheme_resource(id);
}

const struct resource *kc_resource_by_kind(const char *group, const char *kind)
{
    return scheme_by_kind(group, kind);
}

json_t *kc_scale_of(const struct resource *r, const json_t *obj)
{
    (void)r;
    return scheme_scale_of(obj);
}

json_t *kc_get(struct kc *kc, const struct resource *r, const char *ns, const char *name)
{
    struct informer *inf = inf_of(kc, r);
    char *key = xasprintf("%s/%s", r->namespaced && ns ? ns : "", name ? name : "");
    json_t *o = json_object_get(inf->all, key);

    free(key);
    return o;
}

json_t *kc_map(struct kc *kc, const struct resource *r)
{
    struct informer *inf = inf_of(kc, r);

    return json_object_size(inf->all) ? inf->all : NULL;
}

json_t *kc_map_ns(struct kc *kc, const struct resource *r, const char *ns)
{
    return json_object_get(inf_of(kc, r)->by_ns, ns ? ns : "");
}

json_t *kc_map_owned(struct kc *kc, const struct resource *r, const char *uid)
{
    return uid ? json_object_get(inf_of(kc, r)->by_owner, uid) : NULL;
}

int kc_listen(struct kc *kc, const struct resource *r, kc_event_fn *fn, void *ctx)
{
    if (kc->nls == KC_MAX_LISTENERS) {
        log_error("client", "msg=\"too many informer listeners\" max=%d", KC_MAX_LISTENERS);
        return -1;
    }
    inf_of(kc, r);
    kc->ls[kc->nls++] = (struct listener){r, fn, ctx};
    return 0;
}

void kc_unlisten(struct kc *kc, kc_event_fn *fn, void *ctx)
{
    int j = 0;

    for (int i = 0; i < kc->nls; i++)
        if (kc->ls[i].fn != fn || kc->ls[i].ctx != ctx)
            kc->ls[j++] = kc->ls[i];
    kc->nls = j;
}

int kc_create(struct kc *kc, const struct resource *r, const char *ns, json_t *obj,
              const struct kc_wopts *o, json_t **out, struct err *err)
{
    return kc->ops->create(kc->t, r, ns, obj, o, out, err);
}

int kc_update(struct kc *kc, const struct resource *r, const char *ns, const char *name,
              json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err)
{
    return kc->ops->update(kc->t, r, ns, name, obj, o, out, err);
}

int kc_patch(struct kc *kc, const struct resource *r, const char *ns, const char *name,
             const char *ctype, const json_t *patch, const struct kc_wopts *o, json_t **out,
             struct err *err)
{
    return kc->ops->patch(kc->t, r, ns, name, ctype, patch, o, out, err);
}

int kc_delete(struct kc *kc, const struct resource *r, const char *ns, const char *name,
              const struct kc_wopts *o, json_t **out, struct err *err)
{
    return kc->ops->del(kc->t, r, ns, name, o, out, err);
}

int kc_bind(struct kc *kc, const char *ns, const char *name, const char *node, struct err *err)
{
    return kc->ops->bind(kc->t, ns, name, node, err);
}

int kc_token(struct kc *kc, const char *ns, const char *sa, const json_t *audiences,
             long long seconds, const json_t *pod, char **token, long long *exp, struct err *err)
{
    if (!kc->ops->token)
        return err_set(err, -E_NOT_FOUND, "this client cannot request tokens");
    return kc->ops->token(kc->t, ns, sa, audiences, seconds, pod, token, exp, err);
}

void kc_event(struct kc *kc, const json_t *obj, const char *type, const char *reason,
              const char *component, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kc->ops->event(kc->t, obj, type, reason, component, msg);
}

json_t *kc_metrics_of(struct kc *kc, const json_t *obj)
{
    return kc->ops->metrics_of ? kc->ops->metrics_of(kc->t, obj) : NULL;
}

json_t *kc_custom_metric_of(struct kc *kc, const json_t *pod, const char *metric)
{
    return kc->ops->custom_metric_of ? kc->ops->custom_metric_of(kc->t, pod, metric) : NULL;
}

void kc_server_info(struct kc *kc, struct kc_server_info *info)
{
    memset(info, 0, sizeof *info);
    if (kc->ops->server_info)
        kc->ops->server_info(kc->t, info);
}
