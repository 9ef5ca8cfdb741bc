/* The EndpointSlice kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32);
 * its schema, defaults and validation are resources/' res_kind descriptor. Objects are untrusted
 * JSON: every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_endpointslice(const json_t *o, time_t now, json_t *row)
{
    struct table_shortlist ports = {.off = 0}, eps = {.off = 0};
    size_t i, j;
    json_t *p, *e, *a;
    char num[32];

    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, jx_str(o, "addressType"));
    json_array_foreach(json_is_array(jx_get(o, "ports")) ? jx_get(o, "ports") : NULL, i, p)
    {
        if (json_is_integer(json_object_get(p, "port"))) {
            snprintf(num, sizeof num, "%lld", (long long)jx_int(p, "port", 0));
            table__shortlist_add(&ports, num);
        } else {
            table__shortlist_add(&ports, table__str_or(jx_str(p, "name"), "*"));
        }
    }
    table__shortlist_cell(row, &ports, "<unset>");
    json_array_foreach(json_is_array(jx_get(o, "endpoints")) ? jx_get(o, "endpoints") : NULL, i, e)
    {
        json_array_foreach(json_is_array(jx_get(e, "addresses")) ? jx_get(e, "addresses") : NULL, j,
                           a) table__shortlist_add(&eps, table__str_or(json_string_value(a), ""));
    }
    table__shortlist_cell(row, &eps, "<unset>");
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col eps_cols[] = {TABLE_COL_NAME,         {"AddressType", "string", 0},
                                            {"Ports", "string", 0}, {"Endpoints", "string", 0},
                                            TABLE_COL_AGE,          TABLE_COL_END};

const struct kind_ops kind_ENDPOINTSLICE = {
    .res = &res_kind_endpointslice,
    .cols = eps_cols,
    .cells = cells_endpointslice,
    .merge = &patch_schema_plain,
};
