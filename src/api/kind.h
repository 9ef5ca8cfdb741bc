/* One description per kind: everything the generic API code needs to know about a kind besides
 * its name and routes (resources.def): its data rules (resources/), its strategy hooks, its
 * table printer, its selectable fields, its strategic-merge keys and its protobuf message.
 * Each kind's entry is defined in src/api/kind_<kind>.c as `const struct kind_ops kind_<ID>`;
 * kinds.c gathers them into a table indexed by enum res_id, so a missing entry fails the link.
 * Every field may be NULL/0, which means the apiserver's generic behaviour. */
#ifndef KROLL_API_KIND_H
#define KROLL_API_KIND_H

#include <jansson.h>
#include <time.h>

#include "api/api.h"
#include "resources/resources.h"

struct api;
struct pb_msg;
struct patch_schema;

/* One table column: kubectl hides priority 1 unless -o wide. The first column is Name. */
struct table_col {
    const char *name;
    const char *type; /* "string", "integer", "date" */
    int priority;
};

/* Appends one object's cells to row (a JSON array); now is the current UNIX time. */
typedef void kind_cells_fn(const json_t *obj, time_t now, json_t *row);
/* Row conditions of a table row (new reference) or NULL. */
typedef json_t *kind_row_conditions_fn(const json_t *obj);
/* Create strategy: fills what the server owns (status, allocations). Returns 0 or a negative
 * code with err set. */
typedef int kind_prepare_create_fn(struct api *api, json_t *obj, struct err *err);
/* Update strategy of the main resource (not /status): keeps what the server owns from old. */
typedef void kind_prepare_update_fn(struct api *api, json_t *obj, const json_t *old);
/* Delete admission: 0 when name may be deleted, else a negative code with err set. */
typedef int kind_delete_check_fn(const char *name, struct err *err);
/* Graceful deletion: the grace period of a delete of old (wopt_grace -1 = the default).
 * Returns 1 when the delete is graceful, 0 when it is immediate, -1 when it changes nothing
 * (a repeated delete that does not shorten the grace: the caller returns old). *remove is set
 * to 1 when the object must go now whatever its finalizers say. */
typedef int kind_delete_grace_fn(const json_t *old, long long wopt_grace, long long *grace,
                                 int *remove);
/* Marks obj (a copy of the stored object) as being deleted beyond metadata (Namespace:
 * status.phase Terminating). Returns 1 when the deletion must wait (graceful), else 0. */
typedef int kind_delete_mark_fn(json_t *obj);
/* True when an object being deleted has nothing left that holds it (its finalizers). */
typedef int kind_finalized_fn(const json_t *obj);

enum {
    KO_STATUS_BY_STRATEGY = 1 << 0,     /* updates keep status in prepare_update, not generically */
    KO_GENERATION_ANNOTATIONS = 1 << 1, /* annotation changes also bump metadata.generation */
};

struct kind_ops {
    const struct res_kind *res; /* schema, defaults, validation (resources/) */
    unsigned flags;             /* KO_* */

    kind_prepare_create_fn *prepare_create;
    kind_prepare_update_fn *prepare_update;
    kind_delete_check_fn *delete_check;
    kind_delete_grace_fn *delete_grace;
    kind_delete_mark_fn *delete_mark;
    kind_finalized_fn *finalized;

    const struct table_col *cols; /* NULL-name terminated; NULL: "Name, Created At" */
    kind_cells_fn *cells;
    kind_row_conditions_fn *row_conditions;

    const char *const *field_selectors; /* NULL-terminated, beyond metadata.name/namespace */
    const struct patch_schema *merge;   /* strategic merge keys; NULL: no SMP (like a CRD) */
    const struct pb_msg *pb;            /* protobuf message of the kind, or NULL */

    /* Another version the kind is also served in (HPA: autoscaling/v1), and the conversions
     * from the stored version to it and back (new references). Tables are built from the
     * stored version. */
    const char *alt_version;
    json_t *(*alt_out)(const json_t *stored);
    json_t *(*alt_in)(const json_t *served);
};

/* obj as the request's version serves it (alt: the kind's alt_version): new reference. */
json_t *kind_served(const struct resource *r, int alt, const json_t *obj);

/* The entry of a served resource (never NULL for a valid id). */
const struct kind_ops *api_kind(enum res_id id);
/* The entry of r, or NULL when r is NULL. */
const struct kind_ops *api_kind_of(const struct resource *r);

/* The strategic-merge keys of the workloads with a pod template (Deployment, ReplicaSet,
 * DaemonSet, Job): conditions by type; the template's pod spec merges by the Pod's own keys. */
extern const struct patch_schema kind_pod_template_merge;
/* The same for kinds without a pod template (HPA, PodDisruptionBudget, Namespace): conditions
 * by type, everything else atomic. */
extern const struct patch_schema kind_conditions_merge;

/* Shared strategy pieces for kinds' files. */
int kind_create_drop_status(struct api *api, json_t *obj, struct err *err);

#endif
