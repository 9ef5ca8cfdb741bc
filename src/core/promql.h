/* A small PromQL subset over a pluggable source of series, answering with Prometheus' own
 * /api/v1/query JSON shapes, so kroll can serve the queries analysis templates write without a
 * Prometheus server. The subset: instant selectors with label matchers (=, !=, =~, !~; regexes
 * anchored, POSIX extended), range selectors only inside rate() and increase(), the
 * aggregations sum, avg, min, max and count with by/without, histogram_quantile(), scalar(),
 * vector(), abs(), number literals and the arithmetic operators + - * / % ^ with one-to-one
 * vector matching (on/ignoring). Anything else is refused with a bad_data error naming it.
 *
 * The source does not keep samples: for a range selector it answers each series' increase over
 * the range (what the proxy's sliding windows hold), so rate(x[5m]) is that increase / 300. */
#ifndef KROLL_CORE_PROMQL_H
#define KROLL_CORE_PROMQL_H

#include <stddef.h>

#define PROMQL_MAX_QUERY 4096   /* bytes of one query */
#define PROMQL_MAX_DEPTH 32     /* nesting of parentheses, calls and operators */
#define PROMQL_MAX_NODES 512    /* syntax tree nodes of one query */
#define PROMQL_MAX_SERIES 10000 /* series of any intermediate vector */
#define PROMQL_MAX_LABELS 16    /* labels of one series */
#define PROMQL_MAX_RANGE_S (7 * 86400)

struct promql_label {
    char *name, *value;
};

struct promql_series {
    int nlabels;
    struct promql_label labels[PROMQL_MAX_LABELS]; /* owned strings, sorted by name once done */
    double v;
};

struct promql_vec {
    struct promql_series *s;
    int n, cap;
};

void promql_vec_release(struct promql_vec *v);
/* Appends a series with value v and no labels; NULL when the vector is full
 * (PROMQL_MAX_SERIES). The pointer is valid until the next push. */
struct promql_series *promql_vec_push(struct promql_vec *v, double val);
/* Sets (or replaces) a label of s (copies); -1 when s has PROMQL_MAX_LABELS already. */
int promql_series_set(struct promql_series *s, const char *name, const char *value);
/* The value of label name in s, "" when absent. */
const char *promql_series_get(const struct promql_series *s, const char *name);

/* The data: appends to out every series of metric (without a __name__ label); range_s 0 asks
 * for the counters' current values, otherwise for their increase over the last range_s
 * seconds. Returns 0, -1 with a message in msg for a bad query (a range it does not keep:
 * bad_data), or -2 with a message when it cannot answer (too many series: an execution
 * error). Called on the thread that runs the query. */
typedef int promql_select_fn(const char *metric, int range_s, struct promql_vec *out, char *msg,
                             size_t n, void *ctx);

struct promql_expr;

/* Parses and type-checks q; NULL with a message in msg for anything outside the subset. */
struct promql_expr *promql_parse(const char *q, char *msg, size_t n);
void promql_expr_free(struct promql_expr *e);

/* Evaluates q at time ts (Unix seconds) against fn. Returns the HTTP status (200, 400 for
 * bad_data, 422 for an execution error) with *body a new malloc'd JSON document in
 * Prometheus' shape: {"status":"success","data":{"resultType":"vector"|"scalar","result":...}}
 * or {"status":"error","errorType":...,"error":...}. */
int promql_query(const char *q, double ts, promql_select_fn *fn, void *ctx, char **body);

/* The process-wide source (kroll's proxy figures, registered by the server): set it, or
 * clear it with NULL; a query running meanwhile finishes first. */
void promql_set_source(promql_select_fn *fn, void *ctx);
/* promql_query against the process-wide source; with none set, every selector is empty. */
int promql_query_default(const char *q, double ts, char **body);

#endif
