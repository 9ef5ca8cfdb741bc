/* The syntax tree shared by the PromQL parser (promql.c) and evaluator (promql_eval.c). */
#ifndef KROLL_CORE_PROMQL_INT_H
#define KROLL_CORE_PROMQL_INT_H

#include <regex.h>

#include "core/promql.h"

enum pq_type { PQ_SCALAR, PQ_VECTOR, PQ_MATRIX };
enum pq_kind { PQ_NUM, PQ_SEL, PQ_CALL, PQ_AGG, PQ_BIN, PQ_NEG };
enum pq_fn { PQ_RATE, PQ_INCREASE, PQ_HQUANTILE, PQ_SCALARFN, PQ_VECTORFN, PQ_ABS };
enum pq_agg { PQ_SUM, PQ_AVG, PQ_MIN, PQ_MAX, PQ_COUNT };
enum pq_mop { PQ_EQ, PQ_NE, PQ_RE, PQ_NRE };

struct pq_matcher {
    char *name, *value;
    enum pq_mop op;
    int compiled;
    regex_t re;
};

#define PQ_MAX_MATCHERS 16
#define PQ_MAX_GROUPING 16

struct promql_expr {
    enum pq_kind kind;
    enum pq_type type;
    double num;                           /* PQ_NUM */
    char *metric;                         /* PQ_SEL */
    struct pq_matcher m[PQ_MAX_MATCHERS]; /* PQ_SEL */
    int nm, range_s;                      /* PQ_SEL (range_s > 0: a range selector) */
    int fn, agg;                          /* PQ_CALL, PQ_AGG */
    char op;                              /* PQ_BIN: + - * / % ^ */
    char *grp[PQ_MAX_GROUPING];           /* by/without, on/ignoring labels */
    int ngrp, without, matching;          /* matching: 0 none, 1 on, 2 ignoring */
    struct promql_expr *a[2];             /* operands, arguments */
    int na;
};

#endif
