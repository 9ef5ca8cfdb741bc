/* The PodDisruptionBudget kind's kind_ops entry: its write strategy, table printer
 * (pkg/printers/internalversion, 1.32), strategic-merge keys and protobuf message; its schema,
 * defaults and validation are resources/' res_kind descriptor. Objects are untrusted JSON: every
 * getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

/* IntOrString.String(): integers in decimal, strings ("50%") as they are. */
static void cell_int_or_string(json_t *row, const json_t *v)
{
    char buf[32];

    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        table__cell_str(row, buf);
    } else if (json_is_string(v)) {
        table__cell_str(row, json_string_value(v));
    } else {
        table__cell_str(row, "N/A");
    }
}

static void cells_pdb(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    cell_int_or_string(row, jx_get(o, "spec.minAvailable"));
    cell_int_or_string(row, jx_get(o, "spec.maxUnavailable"));
    table__cell_int(row, jx_int(o, "status.disruptionsAllowed", 0));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col pdb_cols[] = {TABLE_COL_NAME,
                                            {"Min Available", "string", 0},
                                            {"Max Unavailable", "string", 0},
                                            {"Allowed Disruptions", "integer", 0},
                                            TABLE_COL_AGE,
                                            TABLE_COL_END};

const struct kind_ops kind_PDB = {
    .res = &res_kind_pdb,
    .prepare_create = kind_create_drop_status,
    .cols = pdb_cols,
    .cells = cells_pdb,
    .merge = &kind_conditions_merge,
    .pb = &pb_msg_PodDisruptionBudget,
};
