/* The argoproj.io Rollout kind's kind_ops entry: status written through /status only, and
 * the printer columns of Argo's CRD (DESIRED CURRENT UP-TO-DATE AVAILABLE AGE; a missing
 * counter is a null cell, which kubectl prints empty, as a real apiserver does for a CRD).
 * No strategic-merge keys: like any custom resource it takes merge and JSON patches only. */
#include <stdio.h>

#include "api/kind.h"
#include "api/table-int.h"
#include "core/jx.h"

static void cell_opt_int(json_t *row, const json_t *o, const char *path)
{
    const json_t *v = jx_get(o, path);

    if (json_is_integer(v))
        table__cell_int(row, json_integer_value(v));
    else
        json_array_append_new(row, json_null());
}

static void cells_rollout(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    cell_opt_int(row, o, "spec.replicas");
    cell_opt_int(row, o, "status.replicas");
    cell_opt_int(row, o, "status.updatedReplicas");
    cell_opt_int(row, o, "status.availableReplicas");
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col rollout_cols[] = {TABLE_COL_NAME,
                                                {"Desired", "integer", 0},
                                                {"Current", "integer", 0},
                                                {"Up-to-date", "integer", 0},
                                                {"Available", "integer", 0},
                                                TABLE_COL_AGE,
                                                TABLE_COL_END};

const struct kind_ops kind_ROLLOUT = {
    .res = &res_kind_rollout,
    .prepare_create = kind_create_drop_status,
    .cols = rollout_cols,
    .cells = cells_rollout,
};
