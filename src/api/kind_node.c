/* The Node kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32),
 * selectable fields and strategic-merge keys; its schema, defaults and validation are resources/'
 * res_kind descriptor. Objects are untrusted JSON: every getter tolerates absent or mistyped
 * fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"

/* ---- table (pkg/printers/internalversion) ---- */

static char *node_roles(const json_t *o)
{
    const json_t *labels = jx_get(o, "metadata.labels");
    const char **list =
        xcalloc(json_is_object(labels) ? json_object_size(labels) + 1 : 1, sizeof *list);
    static const char prefix[] = "node-role.kubernetes.io/";
    size_t n = 0, len = 1;
    const char *k;
    json_t *v;
    char *out;

    json_object_foreach(json_is_object(labels) ? (json_t *)labels : NULL, k, v)
    {
        const char *val = json_string_value(v);
        if (!strncmp(k, prefix, sizeof prefix - 1) && k[sizeof prefix - 1])
            table__strlist_add_sorted(list, &n, k + sizeof prefix - 1);
        else if (!strcmp(k, "kubernetes.io/role") && val && *val)
            table__strlist_add_sorted(list, &n, val);
    }
    for (size_t i = 0; i < n; i++)
        len += strlen(list[i]) + 1;
    out = xcalloc(1, len);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, list[i]);
    }
    free(list);
    if (!*out) {
        free(out);
        return xstrdup("<none>");
    }
    return out;
}

static const char *node_address(const json_t *o, const char *type)
{
    size_t i;
    json_t *a;

    json_array_foreach(
        json_is_array(jx_get(o, "status.addresses")) ? jx_get(o, "status.addresses") : NULL, i, a)
    {
        const char *t = jx_str(a, "type");
        if (t && !strcmp(t, type))
            return table__str_or(jx_str(a, "address"), "");
    }
    return "<none>";
}

static void cells_node(const json_t *o, time_t now, json_t *row)
{
    const json_t *conds = jx_get(o, "status.conditions");
    const char *status = "Unknown";
    char buf[64];
    size_t i;
    json_t *c;

    /* The last Ready condition wins, as upstream builds a map keyed by type. */
    json_array_foreach(json_is_array(conds) ? conds : NULL, i, c)
    {
        const char *t = jx_str(c, "type"), *st = jx_str(c, "status");
        if (t && !strcmp(t, "Ready"))
            status = st && !strcmp(st, "True") ? "Ready" : "NotReady";
    }
    snprintf(buf, sizeof buf, "%s%s", status,
             jx_bool(o, "spec.unschedulable") ? ",SchedulingDisabled" : "");
    table__cell_str(row, jx_str(o, "metadata.name"));
    table__cell_str(row, buf);
    table__cell_take(row, node_roles(o));
    table__cell_age(row, o, "metadata.creationTimestamp", now);
    table__cell_str(row, jx_str(o, "status.nodeInfo.kubeletVersion"));
    table__cell_str(row, node_address(o, "InternalIP"));
    table__cell_str(row, node_address(o, "ExternalIP"));
    table__cell_str(row, table__str_or(jx_str(o, "status.nodeInfo.osImage"), "<unknown>"));
    table__cell_str(row, table__str_or(jx_str(o, "status.nodeInfo.kernelVersion"), "<unknown>"));
    table__cell_str(
        row, table__str_or(jx_str(o, "status.nodeInfo.containerRuntimeVersion"), "<unknown>"));
}

static const struct table_col node_cols[] = {TABLE_COL_NAME,
                                             {"Status", "string", 0},
                                             {"Roles", "string", 0},
                                             TABLE_COL_AGE,
                                             {"Version", "string", 0},
                                             {"Internal-IP", "string", 1},
                                             {"External-IP", "string", 1},
                                             {"OS-Image", "string", 1},
                                             {"Kernel-Version", "string", 1},
                                             {"Container-Runtime", "string", 1},
                                             TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const node_fields[] = {"spec.unschedulable", NULL};

/* ---- strategic merge keys ---- */

/* spec.taints has no merge key upstream (atomic): kubectl taint sends the whole new list,
 * so merging by key would resurrect removed taints. */
static const struct patch_merge_row merge_rows[] = {
    {"status.conditions", PATCH_MAP1("type")},
    {"status.addresses", PATCH_MAP1("type")},
    {"spec.taints", PATCH_ATOMIC},
    {"spec.podCIDRs", PATCH_SET},
    {NULL, PATCH_ATOMIC},
};
static const struct patch_schema merge = {NULL, merge_rows};

const struct kind_ops kind_NODE = {
    .res = &res_kind_node,
    .cols = node_cols,
    .cells = cells_node,
    .field_selectors = node_fields,
    .merge = &merge,
};
