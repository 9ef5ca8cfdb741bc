/* The ReplicaSet kind's kind_ops entry: its write strategy, table printer
 * (pkg/printers/internalversion, 1.32), selectable fields and strategic-merge keys; its schema,
 * defaults and validation are resources/' res_kind descriptor. Objects are untrusted JSON: every
 * getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_replicaset(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_int(row, jx_int(o, "spec.replicas", 1));
    table__cell_int(row, jx_int(o, "status.replicas", 0));
    table__cell_int(row, jx_int(o, "status.readyReplicas", 0));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cells_containers(row, jx_get(o, "spec.template.spec.containers"));
    table__cell_take(row, table__label_selector(jx_get(o, "spec.selector")));
}

static const struct table_col rs_cols[] = {TABLE_COL_NAME,
                                           {"Desired", "integer", 0},
                                           {"Current", "integer", 0},
                                           {"Ready", "integer", 0},
                                           TABLE_COL_AGE,
                                           TABLE_COLS_WORKLOAD_WIDE,
                                           TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const rs_fields[] = {"status.replicas", NULL};

const struct kind_ops kind_REPLICASET = {
    .res = &res_kind_replicaset,
    .prepare_create = kind_create_drop_status,
    .cols = rs_cols,
    .cells = cells_replicaset,
    .field_selectors = rs_fields,
    .merge = &kind_pod_template_merge,
};
