/* The Event kind's kind_ops entry: its table printer (pkg/printers/internalversion, 1.32) and
 * selectable fields; its schema, defaults and validation are resources/' res_kind descriptor.
 * Objects are untrusted JSON: every getter tolerates absent or mistyped fields. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "api/patch.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"

/* ---- table (pkg/printers/internalversion) ---- */

static void cells_event(const json_t *o, time_t now, json_t *row)
{
    char first[32], last[32], buf[512], *msg, *end;
    const char *kind = table__str_or(jx_str(o, "involvedObject.kind"), "");
    const char *name = jx_str(o, "involvedObject.name");
    const char *comp =
        table__str_or(jx_str(o, "source.component"), jx_str(o, "reportingComponent"));
    const char *inst = table__str_or(jx_str(o, "source.host"), jx_str(o, "reportingInstance"));
    json_int_t count = jx_int(o, "count", 0);
    size_t off;

    table__age_fmt(table__time_at(o, "firstTimestamp") > 0 ? table__time_at(o, "firstTimestamp")
                                                           : table__time_at(o, "eventTime"),
                   now, first, sizeof first);
    if (table__time_at(o, "lastTimestamp") > 0)
        table__age_fmt(table__time_at(o, "lastTimestamp"), now, last, sizeof last);
    else
        snprintf(last, sizeof last, "%s", first);
    if (json_is_object(jx_get(o, "series"))) {
        table__age_fmt(table__time_at(o, "series.lastObservedTime"), now, last, sizeof last);
        count = jx_int(o, "series.count", 0);
    } else if (count == 0) {
        count = 1; /* singleton events carry no count in the events.k8s.io API */
    }
    off = snprintf(buf, sizeof buf, "%.200s", kind);
    for (size_t i = 0; i < off; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    if (name && *name)
        snprintf(buf + off, sizeof buf - off, "/%.250s", name);
    table__cell_str(row, last);
    table__cell_str(row, jx_str(o, "type"));
    table__cell_str(row, jx_str(o, "reason"));
    table__cell_str(row, buf);
    table__cell_str(row, jx_str(o, "involvedObject.fieldPath"));
    if (inst && *inst)
        snprintf(buf, sizeof buf, "%.200s, %.200s", table__str_or(comp, ""), inst);
    else
        snprintf(buf, sizeof buf, "%.200s", table__str_or(comp, ""));
    table__cell_str(row, buf);
    msg = xstrdup(table__str_or(jx_str(o, "message"), ""));
    for (end = msg + strlen(msg); end > msg && isspace((unsigned char)end[-1]);)
        *--end = 0;
    table__cell_str(row, msg + strspn(msg, " \t\r\n\v\f"));
    free(msg);
    table__cell_str(row, first);
    table__cell_int(row, count);
    table__cell_str(row, jx_str(o, "metadata.name"));
}

/* Events have no leading Name column; Name comes last, wide only (still format
 * "name"). */
static const struct table_col event_cols[] = {{"Last Seen", "string", 0},
                                              {"Type", "string", 0},
                                              {"Reason", "string", 0},
                                              {"Object", "string", 0},
                                              {"Subobject", "string", 1},
                                              {"Source", "string", 1},
                                              {"Message", "string", 0},
                                              {"First Seen", "string", 1},
                                              {"Count", "string", 1},
                                              {"Name", "string", 1},
                                              TABLE_COL_END};

/* ---- field selectors (the kind's selectable field set) ---- */

static const char *const event_fields[] = {"involvedObject.kind",
                                           "involvedObject.namespace",
                                           "involvedObject.name",
                                           "involvedObject.uid",
                                           "involvedObject.apiVersion",
                                           "involvedObject.resourceVersion",
                                           "involvedObject.fieldPath",
                                           "reason",
                                           "reportingComponent",
                                           "source",
                                           "type",
                                           NULL};

const struct kind_ops kind_EVENT = {
    .res = &res_kind_event,
    .cols = event_cols,
    .cells = cells_event,
    .field_selectors = event_fields,
    .merge = &patch_schema_plain,
};
