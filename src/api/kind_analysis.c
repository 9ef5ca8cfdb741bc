/* The argoproj.io/v1alpha1 analysis kinds' kind_ops entries: AnalysisTemplate,
 * ClusterAnalysisTemplate and AnalysisRun, served as built-ins shaped like Argo Rollouts' CRDs
 * (manifests/crds/): no categories, no subresources (Argo's controller writes an
 * AnalysisRun's status through the main resource, so kroll keeps status on writes), no
 * strategic merge (kubectl sends merge patches as for a CRD), no protobuf. Printer columns
 * are the CRDs' additionalPrinterColumns: `Status` for runs, then Age. */
#include "api/kind.h"
#include "api/table-int.h"
#include "core/jx.h"

static void cells_name_age(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static void cells_run(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "status.phase"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col template_cols[] = {TABLE_COL_NAME, TABLE_COL_AGE, TABLE_COL_END};
static const struct table_col run_cols[] = {
    TABLE_COL_NAME, {"Status", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

const struct kind_ops kind_ANALYSISTEMPLATE = {
    .res = &res_kind_analysistemplate,
    .cols = template_cols,
    .cells = cells_name_age,
};

const struct kind_ops kind_CLUSTERANALYSISTEMPLATE = {
    .res = &res_kind_clusteranalysistemplate,
    .cols = template_cols,
    .cells = cells_name_age,
};

const struct kind_ops kind_ANALYSISRUN = {
    .res = &res_kind_analysisrun,
    .cols = run_cols,
    .cells = cells_run,
};
