/* The object store: SQLite (WAL, synchronous=FULL) for durability, an in-memory index of
 * every object for reads, one global resourceVersion, and a ring of recent events from which
 * watches resume. Stored objects are immutable: readers borrow them, writers pass new ones.
 * Objects are addressed by resource key ("pods", "deployments.apps"), namespace ("" for
 * cluster-scoped) and name. */
#ifndef KROLL_STORE_H
#define KROLL_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct store;

enum store_ev { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

/* obj is the new state (for DELETED the last state with the deletion's resourceVersion),
 * old the previous state or NULL. Both borrowed for the call. */
typedef void store_event_fn(enum store_ev type, const char *res, json_t *obj, json_t *old,
                            int64_t rv, void *ctx);

int store_open(const char *path, struct store **out, struct err *err);
void store_close(struct store *s);
int64_t store_rv(const struct store *s);
/* Oldest resourceVersion a watch can resume from (events after it are all kept). */
int64_t store_oldest_rv(const struct store *s);

/* Borrowed object or NULL. */
json_t *store_get(struct store *s, const char *res, const char *ns, const char *name);
/* Borrowed map "ns/name" -> object of one resource (NULL when none). Do not modify. */
json_t *store_map(struct store *s, const char *res);

/* Writes obj (taken) as the new state, setting metadata.resourceVersion; creates when absent.
 * Returns the stored object (borrowed) through out when out is not NULL. */
int store_put(struct store *s, const char *res, json_t *obj, json_t **out, struct err *err);
/* Deletes the object; the DELETED event carries its last state. */
int store_remove(struct store *s, const char *res, const char *ns, const char *name,
                 json_t **last, struct err *err);

/* Listeners see every event after it is durable, in resourceVersion order. */
void store_subscribe(struct store *s, store_event_fn *fn, void *ctx);
void store_unsubscribe(struct store *s, store_event_fn *fn, void *ctx);
/* Replays cached events with rv > since for res (NULL = all). -E_GONE when too old. */
int store_replay(struct store *s, const char *res, int64_t since, store_event_fn *fn, void *ctx);

#endif
