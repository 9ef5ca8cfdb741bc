/* The ConfigMap kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32) and
 * protobuf message; its schema, defaults and validation are resources/' res_kind descriptor.
 * Objects are untrusted JSON: every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_configmap(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_int(row, table__obj_size(o, "data") + table__obj_size(o, "binaryData"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col cm_cols[] = {
    TABLE_COL_NAME, {"Data", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

const struct kind_ops kind_CONFIGMAP = {
    .res = &res_kind_configmap,
    .cols = cm_cols,
    .cells = cells_configmap,
    .merge = &patch_schema_plain,
    .pb = &pb_msg_ConfigMap,
};
