/* The Secret kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32),
 * selectable fields and protobuf message; its schema, defaults and validation are resources/'
 * res_kind descriptor. Objects are untrusted JSON: every getter tolerates absent or mistyped
 * fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/protobuf.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_secret(const json_t *o, time_t now, json_t *row)
{
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "type"));
    table__cell_int(row, table__obj_size(o, "data"));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col secret_cols[] = {
    TABLE_COL_NAME, {"Type", "string", 0}, {"Data", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const secret_fields[] = {"type", NULL};

const struct kind_ops kind_SECRET = {
    .res = &res_kind_secret,
    .cols = secret_cols,
    .cells = cells_secret,
    .field_selectors = secret_fields,
    .merge = &patch_schema_plain,
    .pb = &pb_msg_Secret,
};
