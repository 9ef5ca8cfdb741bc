/* The Endpoints kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32); its
 * schema, defaults and validation are resources/' res_kind descriptor. Objects are untrusted JSON:
 * every getter tolerates absent or mistyped fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void endpoints_subset(const json_t *ss, struct table_shortlist *l)
{
    const json_t *addrs = jx_get(ss, "addresses"), *ports = jx_get(ss, "ports");
    size_t i, j;
    json_t *a, *p;
    char hp[128];

    if (json_array_size(ports) == 0) { /* headless service without ports */
        json_array_foreach(json_is_array(addrs) ? addrs : NULL, i, a)
            table__shortlist_add(l, table__str_or(jx_str(a, "ip"), ""));
        return;
    }
    json_array_foreach(ports, i, p)
    {
        json_array_foreach(json_is_array(addrs) ? addrs : NULL, j, a)
        {
            const char *ip = table__str_or(jx_str(a, "ip"), "");
            long long port = (long long)jx_int(p, "port", 0);
            if (strchr(ip, ':'))
                snprintf(hp, sizeof hp, "[%.64s]:%lld", ip, port);
            else
                snprintf(hp, sizeof hp, "%.64s:%lld", ip, port);
            table__shortlist_add(l, hp);
        }
    }
}

static void cells_endpoints(const json_t *o, time_t now, json_t *row)
{
    const json_t *subsets = jx_get(o, "subsets");
    struct table_shortlist l = {.off = 0};
    size_t i;
    json_t *ss;

    table__cell_str(row, jx_str(o, "metadata.name"));
    if (json_array_size(subsets) == 0) {
        table__cell_str(row, "<none>");
    } else {
        json_array_foreach(subsets, i, ss) endpoints_subset(ss, &l);
        table__shortlist_cell(row, &l, "");
    }
    table__cell_age(row, o, "metadata.creationTimestamp", now);
}

static const struct table_col ep_cols[] = {
    TABLE_COL_NAME, {"Endpoints", "string", 0}, TABLE_COL_AGE, TABLE_COL_END};

const struct kind_ops kind_ENDPOINTS = {
    .res = &res_kind_endpoints,
    .cols = ep_cols,
    .cells = cells_endpoints,
    .merge = &patch_schema_plain,
};
