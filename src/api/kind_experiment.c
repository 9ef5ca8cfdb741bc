/* The argoproj.io Experiment kind's kind_ops entry: listed and watched (Argo's kubectl plugin
 * waits for an Experiment informer before it prints anything) but never run; the printer is
 * the CRD's (STATUS from .status.phase, AGE). Custom resource: no strategic merge. */
#include "api/kind.h"
#include "api/table-int.h"
#include "core/jx.h"

static void cells_experiment(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "status.phase"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col experiment_cols[] = {
    TABLE_COL_NAME, {"Status", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

const struct kind_ops kind_EXPERIMENT = {
    .res = &res_kind_experiment,
    .cols = experiment_cols,
    .cells = cells_experiment,
};
