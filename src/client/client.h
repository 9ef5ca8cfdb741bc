/* Work queues for controllers and the node agent: level-triggered queues of keys fed by the
 * client's informers (kc.h), delayed requeues, and one round per loop iteration. Reads and
 * writes go through the client (ctl_kc). */
#ifndef KROLL_CLIENT_H
#define KROLL_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "client/kc.h"

struct ctl;

/* Called for one queued key; ns is "" for cluster-scoped objects. */
typedef void ctl_sync_fn(struct ctl *c, const char *ns, const char *name, void *ctx);
/* Called for every event of a watched resource; decides which keys to enqueue.
 * type is "ADDED", "MODIFIED" or "DELETED"; old is NULL unless MODIFIED/DELETED. */
typedef void ctl_event_fn(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                          json_t *old, void *ctx);

struct ctl *ctl_new(struct kc *kc, const char *name, ctl_sync_fn *sync, void *ctx);
/* fn(ctx) runs when the controller is freed (after its last sync): for a controller that owns
 * state beyond its queue (the AnalysisRun controller's measurement threads). */
typedef void ctl_release_fn(void *ctx);
void ctl_set_release(struct ctl *c, ctl_release_fn *fn);
void ctl_free(struct ctl *c);
struct kc *ctl_kc(struct ctl *c);
const char *ctl_name(const struct ctl *c);

/* Watches a resource: fn sees every event (and, at ctl_start, an ADDED for every existing
 * object). fn NULL means "enqueue the object's own key". Events are queued when the informer
 * has them and handed over in resourceVersion order from the loop's defer phase, before
 * the queued keys are synced: never inside the write that caused them. */
void ctl_watch(struct ctl *c, enum res_id res, ctl_event_fn *fn);
/* Queues an ADDED event for every current object of the watched resources; call once after
 * all ctl_watch calls. */
void ctl_start(struct ctl *c);

/* Queues a key to sync soon (deduplicated; runs after the current loop iteration). */
void ctl_enqueue(struct ctl *c, const char *ns, const char *name);
/* Queues a key after ms milliseconds (the earliest pending time per key wins). */
void ctl_enqueue_after(struct ctl *c, const char *ns, const char *name, int64_t ms);
/* Enqueues the controller owner (ownerReferences controller=true of kind) of obj. */
void ctl_enqueue_owner(struct ctl *c, const json_t *obj, const char *kind);

/* Borrowed map "ns/name" -> object for a resource (NULL when empty), from the informer. */
json_t *ctl_map(struct ctl *c, enum res_id res);
/* The same for the objects of namespace ns only (the informer's namespace index). */
json_t *ctl_map_ns(struct ctl *c, enum res_id res, const char *ns);
/* The objects of namespace ns whose labels ls matches (NULL matches all), in the namespace
 * index's order: a new array holding references. */
struct labelsel;
json_t *ctl_select(struct ctl *c, enum res_id res, const char *ns, const struct labelsel *ls);
/* An event function that enqueues the object itself unless the event only changed what is
 * not its spec (status writes, the controller's own included): for controllers that resync
 * on a period anyway. */
void ctl_on_spec(struct ctl *c, const char *type, const struct resource *r, json_t *obj,
                 json_t *old, void *ctx);
/* The controller ownerReference of obj (borrowed) or NULL. */
json_t *ctl_controller_ref(const json_t *obj);
/* Per-object memory a controller keeps between syncs (an HPA's scaling history, a VPA's
 * histograms): one zeroed block of size bytes per key, at most max keys. Call ctl_state_init
 * once before use; the blocks are freed with the controller. */
void ctl_state_init(struct ctl *c, size_t size, int max);
/* The block of ns/name. When absent: created zeroed (with *fresh set to 1 when fresh is not
 * NULL) if create is set; NULL if not, at the cap (logged once), or without memory. */
void *ctl_state(struct ctl *c, const char *ns, const char *name, int create, int *fresh);
void ctl_state_drop(struct ctl *c, const char *ns, const char *name);
/* Logs a failed write unless it is a conflict (which a requeue resolves). */
void ctl_log_err(struct ctl *c, const char *what, const char *ns, const char *name,
                 const struct err *err);
/* Writes status st (stolen) on obj through its status subresource, with manager as the field
 * manager (may be NULL), unless st equals stored (the status as read, usually obj's own)
 * semantically. 1 written, 0 unchanged, -1 failed (logged; a conflict requeues the key). */
int ctl_status_write(struct ctl *c, enum res_id res, const json_t *obj, const json_t *stored,
                     json_t *st, const char *manager);

#endif
