/* Private to the table printers: the cell helpers table.c shares with the kinds' printers in
 * kind_<kind>.c. Objects are untrusted JSON: every helper tolerates absent or mistyped fields. */
#ifndef KROLL_API_TABLE_INT_H
#define KROLL_API_TABLE_INT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "api/kind.h"

#define TABLE_COL_NAME                                                                             \
    {                                                                                              \
        "Name", "string", 0                                                                        \
    }
#define TABLE_COL_AGE                                                                              \
    {                                                                                              \
        "Age", "string", 0                                                                         \
    }
/* kubectl's -o wide columns of the workloads with a pod template. */
#define TABLE_COLS_WORKLOAD_WIDE                                                                   \
    {"Containers", "string", 1}, {"Images", "string", 1},                                          \
    {                                                                                              \
        "Selector", "string", 1                                                                    \
    }
#define TABLE_COL_END                                                                              \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

/* Append a string cell (NULL prints ""), a malloc'd string (freed), an integer cell. */
void table__cell_str(json_t *row, const char *s);
void table__cell_take(json_t *row, char *s);
void table__cell_int(json_t *row, json_int_t v);
/* Seconds since the epoch of the RFC 3339 time at path, or -1 when absent or invalid. */
time_t table__time_at(const json_t *o, const char *path);
/* translateTimestampSince: "<unknown>" for a zero time, else the human duration. */
void table__age_fmt(time_t t, time_t now, char *out, size_t n);
/* An age cell from the time at path. */
void table__cell_age(json_t *row, const json_t *o, const char *path, time_t now);
/* s unless it is NULL or empty, else def. */
const char *table__str_or(const char *s, const char *def);
/* layoutContainerCells: two cells, the containers' names and images comma-joined. */
void table__cells_containers(json_t *row, const json_t *containers);
/* metav1.FormatLabelSelector ("<none>", "<error>") and labels.FormatLabels ("<none>"):
 * malloc'd. */
char *table__label_selector(const json_t *sel);
char *table__labels(const json_t *m);
/* Inserts s (borrowed) into the sorted array list of *n entries unless present; the caller
 * sizes list for one more. */
void table__strlist_add_sorted(const char **list, size_t *n, const char *s);
/* Number of keys (object) or items (array) at path, else 0. */
json_int_t table__obj_size(const json_t *o, const char *path);

/* Up to three entries, then " + N more..." (formatEndpoints / listWithMoreString). */
struct table_shortlist {
    char buf[512];
    size_t off;
    int count;
};
void table__shortlist_add(struct table_shortlist *l, const char *s);
/* The cell: the list, or empty when it has no entries. */
void table__shortlist_cell(json_t *row, struct table_shortlist *l, const char *empty);

#endif
