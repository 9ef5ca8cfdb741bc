/* Server-side Table rendering (meta.k8s.io/v1 Table) for `kubectl get`:
 * column definitions and cells matching what a Kubernetes 1.32 apiserver
 * prints (the printers in pkg/printers/internalversion), wide (priority 1)
 * cells always included, as the apiserver does. The printer of a kind is its
 * kind_ops entry's cols/cells; a NULL kind or one without a printer gets the
 * apiserver's default "Name, Created At" table. */
#ifndef KROLL_API_TABLE_H
#define KROLL_API_TABLE_H

#include <jansson.h>
#include <time.h>

struct kind_ops;

/* columnDefinitions of kind k (new ref):
 * [{name,type,format,description,priority}], the Name column with format
 * "name". */
json_t *table_columns(const struct kind_ops *k);
/* The cells of one object's row (new ref); now = current UNIX time for ages
 * ("4s", "3m2s"). Numeric cells are JSON integers where the apiserver sends
 * int64. Never fails: missing or mistyped fields print as upstream prints zero
 * values. */
json_t *table_cells(const struct kind_ops *k, const json_t *obj, time_t now);
/* A whole Table (new ref): metadata.resourceVersion = rv (omitted when NULL),
 * columnDefinitions unless with_columns is 0, one row per element of the items
 * array with cells, conditions for completed pods, and object per
 * include_object: NULL/"Metadata" -> PartialObjectMetadata, "Object" -> the
 * full object, "None" -> no object. */
json_t *table_build(const struct kind_ops *k, const json_t *items, const char *rv,
                    const char *include_object, int with_columns, time_t now);

#endif
