/* Table rendering (meta.k8s.io/v1 Table) for `kubectl get`: the generic part. Each kind's
 * columns and cells live in its kind_<kind>.c (kind_ops.cols/.cells) and reproduce the
 * apiserver's printers (1.32), so `kubectl get` output, including -o wide, is the same as on a
 * cluster; kinds without a printer get the apiserver's default "Name, Created At" table. The
 * cell helpers below are shared with those files (table-int.h). */
#include "api/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kind.h"
#include "core/selector.h"
#include "api/table-int.h"
#include "core/jx.h"
#include "core/log.h"

/* ---- small cell helpers ---- */

void table__cell_str(json_t *row, const char *s)
{
    json_array_append_new(row, json_string(s ? s : ""));
}

void table__cell_take(json_t *row, char *s)
{
    table__cell_str(row, s);
    free(s);
}

void table__cell_int(json_t *row, json_int_t v)
{
    json_array_append_new(row, json_integer(v));
}

/* Seconds since the RFC 3339 time at path, or -1 when the time is absent or
 * invalid. */
time_t table__time_at(const json_t *o, const char *path)
{
    const char *s = jx_str(o, path);

    return s ? time_parse(s) : -1;
}

/* translateTimestampSince: "<unknown>" for a zero time, else the human
 * duration. */
void table__age_fmt(time_t t, time_t now, char *out, size_t n)
{
    if (t < 0 || t == 0)
        snprintf(out, n, "<unknown>");
    else
        time_human((int64_t)(now - t), out, n);
}

void table__cell_age(json_t *row, const json_t *o, const char *path, time_t now)
{
    char buf[32];

    table__age_fmt(table__time_at(o, path), now, buf, sizeof buf);
    table__cell_str(row, buf);
}

const char *table__str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* layoutContainerCells: names and images of the template's containers,
 * comma-joined. */
void table__cells_containers(json_t *row, const json_t *containers)
{
    size_t i, nl = 1, il = 1;
    char *names, *images;
    json_t *c;

    json_array_foreach(json_is_array(containers) ? containers : NULL, i, c)
    {
        nl += strlen(table__str_or(jx_str(c, "name"), "")) + 1;
        il += strlen(table__str_or(jx_str(c, "image"), "")) + 1;
    }
    names = xcalloc(1, nl);
    images = xcalloc(1, il);
    json_array_foreach(json_is_array(containers) ? containers : NULL, i, c)
    {
        if (i) {
            strcat(names, ",");
            strcat(images, ",");
        }
        strcat(names, table__str_or(jx_str(c, "name"), ""));
        strcat(images, table__str_or(jx_str(c, "image"), ""));
    }
    table__cell_take(row, names);
    table__cell_take(row, images);
}

/* metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an
 * invalid one. */
char *table__label_selector(const json_t *sel)
{
    char *s = labelsel_string(sel);

    if (!s)
        return xstrdup("<error>");
    if (!*s) {
        free(s);
        return xstrdup("<none>");
    }
    return s;
}

/* labels.FormatLabels: "<none>" for an empty map. */
char *table__labels(const json_t *m)
{
    char *s = labels_string(m);

    if (!*s) {
        free(s);
        return xstrdup("<none>");
    }
    return s;
}

void table__strlist_add_sorted(const char **list, size_t *n, const char *s)
{
    size_t i = 0;

    while (i < *n && strcmp(list[i], s) < 0)
        i++;
    if (i < *n && !strcmp(list[i], s))
        return;
    memmove(list + i + 1, list + i, (*n - i) * sizeof *list);
    list[i] = s;
    (*n)++;
}

void table__shortlist_add(struct table_shortlist *l, const char *s)
{
    if (l->count++ < 3 && l->off < sizeof l->buf)
        l->off += snprintf(l->buf + l->off, sizeof l->buf - l->off, "%s%s", l->off ? "," : "", s);
}

void table__shortlist_cell(json_t *row, struct table_shortlist *l, const char *empty)
{
    char out[600];

    if (l->count > 3)
        snprintf(out, sizeof out, "%s + %d more...", l->buf, l->count - 3);
    else
        snprintf(out, sizeof out, "%s", l->count ? l->buf : empty);
    table__cell_str(row, out);
}

json_int_t table__obj_size(const json_t *o, const char *path)
{
    const json_t *v = jx_get(o, path);

    if (json_is_object(v))
        return (json_int_t)json_object_size(v);
    return json_is_array(v) ? (json_int_t)json_array_size(v) : 0;
}

/* ---- the default table (rest.NewDefaultTableConvertor) ---- */

static void cells_default(const json_t *o, time_t now, json_t *row)
{
    char ts[32];
    time_t t = table__time_at(o, "metadata.creationTimestamp");

    table__cell_str(row, jx_str(o, "metadata.name"));
    if (t < 0)
        snprintf(ts, sizeof ts, "0001-01-01T00:00:00Z"); /* Go's zero time */
    else
        time_rfc3339(t, ts);
    table__cell_str(row, ts);
}

static const struct table_col default_cols[] = {
    TABLE_COL_NAME, {"Created At", "date", 0}, TABLE_COL_END};

json_t *table_columns(const struct kind_ops *k)
{
    const struct table_col *c = k && k->cells ? k->cols : default_cols;
    json_t *cols = json_array();

    for (; c->name; c++)
        json_array_append_new(cols,
                              json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", c->name, "type", c->type,
                                        "format", strcmp(c->name, "Name") ? "" : "name",
                                        "description", "", "priority", c->priority));
    return cols;
}

json_t *table_cells(const struct kind_ops *k, const json_t *obj, time_t now)
{
    json_t *row = json_array();

    (k && k->cells ? k->cells : cells_default)(obj, now, row);
    return row;
}

static json_t *row_object(const json_t *obj, const char *include)
{
    const json_t *md = json_object_get(obj, "metadata");

    if (include && !strcmp(include, "None"))
        return NULL;
    if (include && !strcmp(include, "Object"))
        return json_deep_copy(obj);
    return json_pack("{s:s,s:s,s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata",
                     json_is_object(md) ? json_deep_copy(md) : json_object());
}

json_t *table_build(const struct kind_ops *k, const json_t *items, const char *rv,
                    const char *include_object, int with_columns, time_t now)
{
    kind_cells_fn *cells_fn = k && k->cells ? k->cells : cells_default;
    json_t *t = json_object(), *md = json_object(), *rows = json_array(), *item;
    size_t i;

    json_object_set_new(t, "kind", json_string("Table"));
    json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
    if (rv)
        json_object_set_new(md, "resourceVersion", json_string(rv));
    json_object_set_new(t, "metadata", md);
    if (with_columns)
        json_object_set_new(t, "columnDefinitions", table_columns(k));
    json_array_foreach(json_is_array(items) ? items : NULL, i, item)
    {
        json_t *row = json_object(), *cells = json_array(), *conds, *obj;
        cells_fn(item, now, cells);
        json_object_set_new(row, "cells", cells);
        if (k && k->row_conditions && (conds = k->row_conditions(item)))
            json_object_set_new(row, "conditions", conds);
        if ((obj = row_object(item, include_object)))
            json_object_set_new(row, "object", obj);
        json_array_append_new(rows, row);
    }
    json_object_set_new(t, "rows", rows);
    return t;
}
