/* The client of the cluster: the one way controllers and the node agent see and change it.
 *
 * Reads come from shared informers: per resource, a cache of every object kept current by a
 * list and a watch (objects borrowed, immutable), indexed by namespace and by controller owner
 * uid. Writes go through a transport: in-process (kc_inproc_new in server/inproc.h: the API's
 * own verbs, with the same validation, admission and conflicts as kubectl's requests, and no
 * HTTP), HTTPS (kc_https_new) or any other that implements struct kc_transport (the unit
 * tests' fake). The client needs only core/ and the scheme: nothing that holds a struct kc
 * includes the API's or the store's headers. */
#ifndef KROLL_CLIENT_KC_H
#define KROLL_CLIENT_KC_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "scheme/scheme.h"

struct kc;

/* Write options, as DeleteOptions / CreateOptions / UpdateOptions / PatchOptions carry them. */
struct kc_wopts {
    int dry_run;
    const char *manager;         /* fieldManager, or NULL */
    int strict;                  /* fieldValidation=Strict */
    json_t *warnings;            /* when not NULL, an array that receives Warning texts */
    int status;                  /* write the status subresource */
    const json_t *preconditions; /* DeleteOptions.preconditions */
    long long grace;             /* delete: gracePeriodSeconds, -1 = the object's default */
    const char *propagation;     /* delete: Background|Foreground|Orphan or NULL */
};

/* What the client knows about the server it talks to (for the objects that describe it: the
 * kube-root-ca.crt ConfigMap, the `kubernetes` Service and its EndpointSlice). */
struct kc_server_info {
    const char *ca_pem;        /* the CA that signed the server's certificate */
    const char *kubernetes_ip; /* the `kubernetes` Service's cluster IP */
    const char *host_ip;       /* the API server's own address */
    int port;
};

/* One informer event: type is "ADDED", "MODIFIED" or "DELETED"; obj the new state (for
 * DELETED the last), old the previous state or NULL; both borrowed for the call. The client
 * calls it after its own cache has the change, in resourceVersion order. */
typedef void kc_event_fn(const char *type, const struct resource *r, json_t *obj, json_t *old,
                         void *ctx);

/* A transport. Results are new references; ns is NULL or "" for cluster-scoped resources.
 * watch/unwatch: one listener for every resource's events (list_map gives the state to
 * start from; events after it arrive through the listener). A transport whose watch can end
 * (sync_events: HTTPS, where the server restarts or the network drops) also calls the listener
 * with obj NULL and type KC_LISTED once a list's events have all been sent (the first list's
 * and every relist's), and KC_LOST when a watch ended or a list failed (once until the next
 * KC_LISTED); the client keeps these to itself (kc_sync) and tells them to kc_on_sync's
 * function, never to kc_listen's. */
#define KC_LISTED "LISTED"
#define KC_LOST "LOST"
struct kc_transport {
    int sync_events; /* sends KC_LISTED and KC_LOST: an informer is not listed until it says */
    int (*create)(void *t, const struct resource *r, const char *ns, json_t *obj,
                  const struct kc_wopts *o, json_t **out, struct err *err);
    int (*update)(void *t, const struct resource *r, const char *ns, const char *name, json_t *obj,
                  const struct kc_wopts *o, json_t **out, struct err *err);
    int (*patch)(void *t, const struct resource *r, const char *ns, const char *name,
                 const char *ctype, const json_t *patch, const struct kc_wopts *o, json_t **out,
                 struct err *err);
    int (*del)(void *t, const struct resource *r, const char *ns, const char *name,
               const struct kc_wopts *o, json_t **out, struct err *err);
    int (*bind)(void *t, const char *ns, const char *name, const char *node, struct err *err);
    int (*token)(void *t, const char *ns, const char *sa, const json_t *audiences,
                 long long seconds, const json_t *pod, char **token, long long *exp,
                 struct err *err);
    void (*event)(void *t, const json_t *obj, const char *type, const char *reason,
                  const char *component, const char *msg);
    json_t *(*list_map)(void *t, const struct resource *r); /* borrowed "ns/name" -> obj */
    void (*watch)(void *t, kc_event_fn *fn, void *ctx);
    void (*unwatch)(void *t, kc_event_fn *fn, void *ctx);
    json_t *(*metrics_of)(void *t, const json_t *obj);
    json_t *(*custom_metric_of)(void *t, const json_t *pod, const char *metric);
    void (*server_info)(void *t, struct kc_server_info *info);
    void (*free)(void *t);
};

/* A client on transport ops with state t (freed by ops->free), running on loop. */
struct kc *kc_new(struct loop *loop, const struct kc_transport *ops, void *t);
/* The HTTPS transport to a server (for a component outside the server's process): writes are
 * blocking requests, so the loop waits for each; an informer's first list too (when it fails,
 * the informer stays unlisted and its thread lists again). Each informer's watch runs on a
 * thread of its own and hands its events to loop; after a watch ends it lists again (backoff
 * 100 ms doubling to 2 s while that fails) and sends the differences. kc_free, on the loop's
 * thread, ends those threads within a moment: it cuts their connections and wakes their waits.
 * Everything it is given is copied. */
struct kc_https_opts {
    const char *server; /* "https://host:port" */
    const char *token;  /* bearer token */
    const char *ca_pem; /* the CA the server's certificate must chain to (NULL: the system's) */
    int timeout_ms;     /* of each request (0: 30 s) */
};
struct kc *kc_https_new(struct loop *loop, const struct kc_https_opts *o, struct err *err);
void kc_free(struct kc *kc);
struct loop *kc_loop(struct kc *kc);

/* ---- the resource table (the scheme) ---- */
const struct resource *kc_resource(enum res_id id);
const struct resource *kc_resource_by_kind(const char *group, const char *kind);
/* The autoscaling/v1 Scale of obj, an object of r (r has RF_SCALE), new reference. */
json_t *kc_scale_of(const struct resource *r, const json_t *obj);

/* The cache key of obj, "namespace/name" ("/name" when cluster-scoped): malloc'd. */
char *kc_key(const json_t *obj);
/* The ownerReference of obj with controller: true (borrowed), or NULL. */
json_t *kc_controller_ref(const json_t *obj);

/* ---- reads: informers ---- */
/* Borrowed current object or NULL. */
json_t *kc_get(struct kc *kc, const struct resource *r, const char *ns, const char *name);
/* Borrowed map "ns/name" -> object of every object of r (NULL when none). */
json_t *kc_map(struct kc *kc, const struct resource *r);
/* Borrowed map "ns/name" -> object of r's objects in namespace ns (NULL when none). */
json_t *kc_map_ns(struct kc *kc, const struct resource *r, const char *ns);
/* Borrowed map "ns/name" -> object of r's objects whose controller ownerReference has uid
 * (NULL when none). */
json_t *kc_map_owned(struct kc *kc, const struct resource *r, const char *uid);
/* Listens to r's events (after the cache has them). At most KC_MAX_LISTENERS per client. */
#define KC_MAX_LISTENERS 256
int kc_listen(struct kc *kc, const struct resource *r, kc_event_fn *fn, void *ctx);
void kc_unlisten(struct kc *kc, kc_event_fn *fn, void *ctx);

/* How current the informers started so far are (client-go's HasSynced, and what a reconnect
 * costs). listed: each has listed once (its cache is a whole list, not an empty map because the
 * server was away); live: each is following its watch now (after a watch ended the cache may
 * be behind, never half-empty: the differences of the next list arrive as events in one batch,
 * then the informer is live again); lost: how often an informer stopped being live so far
 * (a watch that ended, a first list that failed), all informers.
 * In process every informer is listed and live at once and lost stays 0. */
struct kc_sync {
    int listed, live;
    unsigned lost;
};
void kc_sync(struct kc *kc, struct kc_sync *s);
/* fn(r, live, ctx) on the client's loop whenever r's informer becomes live (after a list) or
 * stops being (a watch ended, a list failed). One function per client; NULL removes it. */
typedef void kc_sync_fn(const struct resource *r, int live, void *ctx);
void kc_on_sync(struct kc *kc, kc_sync_fn *fn, void *ctx);

/* ---- writes: the transport ---- */
int kc_create(struct kc *kc, const struct resource *r, const char *ns, json_t *obj,
              const struct kc_wopts *o, json_t **out, struct err *err);
int kc_update(struct kc *kc, const struct resource *r, const char *ns, const char *name,
              json_t *obj, const struct kc_wopts *o, json_t **out, struct err *err);
int kc_patch(struct kc *kc, const struct resource *r, const char *ns, const char *name,
             const char *ctype, const json_t *patch, const struct kc_wopts *o, json_t **out,
             struct err *err);
int kc_delete(struct kc *kc, const struct resource *r, const char *ns, const char *name,
              const struct kc_wopts *o, json_t **out, struct err *err);
/* pods/binding: sets spec.nodeName and PodScheduled=True. */
int kc_bind(struct kc *kc, const char *ns, const char *name, const char *node, struct err *err);
/* serviceaccounts/token (TokenRequest): a JWT for ns/sa in *token (malloc'd), expiry in *exp. */
int kc_token(struct kc *kc, const char *ns, const char *sa, const json_t *audiences,
             long long seconds, const json_t *pod, char **token, long long *exp, struct err *err);
/* Records a Kubernetes Event about obj (repeats aggregate into count). */
void kc_event(struct kc *kc, const json_t *obj, const char *type, const char *reason,
              const char *component, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* metrics.k8s.io usage of a pod or node (new reference) or NULL. */
json_t *kc_metrics_of(struct kc *kc, const json_t *obj);
/* custom.metrics.k8s.io value of a Pods metric for pod (new reference) or NULL. */
json_t *kc_custom_metric_of(struct kc *kc, const json_t *pod, const char *metric);
void kc_server_info(struct kc *kc, struct kc_server_info *info);

#endif
