/* The Namespace kind's kind_ops entry: its write strategy, table printer
 * (pkg/printers/internalversion, 1.32), selectable fields, strategic-merge keys and protobuf
 * message; its schema, defaults and validation are resources/' res_kind descriptor. Objects are
 * untrusted JSON: every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/names.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_namespace(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "status.phase"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col ns_cols[] = {
    TABLE_COL_NAME, {"Status", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const ns_fields[] = {"status.phase", NULL};

/* ---- strategy: writes and deletion ---- */

/* Create: Active, the "kubernetes" finalizer, and the kubernetes.io/metadata.name label. */
static int namespace_prepare_create(struct api *api, json_t *obj, struct err *err)
{
    (void)api;
    (void)err;
    json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    jx_set(obj, "spec.finalizers", json_pack("[s]", "kubernetes"));
    jx_obj(obj, "metadata.labels");
    json_object_set_new(jx_get(obj, "metadata.labels"), "kubernetes.io/metadata.name",
                        json_string(jx_str(obj, "metadata.name")));
    return 0;
}

/* Update: status is the server's (phase, conditions); spec.finalizers stays unless given. */
static void namespace_prepare_update(struct api *api, json_t *obj, const json_t *old)
{
    (void)api;
    json_object_set(obj, "status", json_object_get(old, "status"));
    if (!jx_get(obj, "spec.finalizers") && jx_get(old, "spec.finalizers"))
        jx_set(obj, "spec.finalizers", json_deep_copy(jx_get(old, "spec.finalizers")));
}

/* The namespaces the server itself keeps (kube-apiserver's NamespaceLifecycle admission
 * refuses their deletion, worded this way). */
static int namespace_delete_check(const char *name, struct err *err)
{
    if (name_namespace_is_builtin(name))
        return err_set(err, -E_FORBIDDEN,
                       "namespaces \"%s\" is forbidden: this namespace may not be deleted", name);
    return 0;
}

/* A deleted namespace is Terminating until the namespace controller has emptied it. */
static int namespace_delete_mark(json_t *obj)
{
    jx_set(obj, "status.phase", json_string("Terminating"));
    return 1;
}

/* Gone once both its metadata and its spec finalizers ("kubernetes") are. */
static int namespace_finalized(const json_t *obj)
{
    return json_array_size(jx_get(obj, "spec.finalizers")) == 0;
}

const struct kind_ops kind_NAMESPACE = {
    .res = &res_kind_namespace,
    .flags = KO_STATUS_BY_STRATEGY,
    .prepare_create = namespace_prepare_create,
    .prepare_update = namespace_prepare_update,
    .delete_check = namespace_delete_check,
    .delete_mark = namespace_delete_mark,
    .finalized = namespace_finalized,
    .cols = ns_cols,
    .cells = cells_namespace,
    .field_selectors = ns_fields,
    .merge = &kind_conditions_merge,
    .pb = &pb_msg_Namespace,
};
