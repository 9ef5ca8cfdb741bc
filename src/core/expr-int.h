/* Private to the expression language (expr.c parses, expr_eval.c evaluates): the node array
 * a parse produces. */
#ifndef KROLL_CORE_EXPR_INT_H
#define KROLL_CORE_EXPR_INT_H

#include <jansson.h>
#include <stddef.h>

#include "core/expr.h"

#define EXPR_MAX_STR (64 * 1024) /* a string built by + or string() */

enum nk {
    N_LIT,
    N_RESULT,
    N_PTR,
    N_UNARY,
    N_BINARY,
    N_TERNARY,
    N_MEMBER,
    N_INDEX,
    N_CALL,
    N_LIST,
    N_CLOSURE
};

enum op {
    O_NONE,
    O_NOT,
    O_NEG,
    O_POS,
    O_OR,
    O_AND,
    O_EQ,
    O_NE,
    O_LT,
    O_LE,
    O_GT,
    O_GE,
    O_IN,
    O_NOTIN,
    O_CONTAINS,
    O_STARTS,
    O_ENDS,
    O_MATCHES,
    O_ADD,
    O_SUB,
    O_MUL,
    O_DIV,
    O_MOD,
    O_POW,
    O_COAL,
};

enum fn {
    F_LEN,
    F_ALL,
    F_ANY,
    F_NONE,
    F_ONE,
    F_FILTER,
    F_MAP,
    F_COUNT,
    F_SUM,
    F_MAX,
    F_MIN,
    F_ABS,
    F_CEIL,
    F_FLOOR,
    F_ROUND,
    F_INT,
    F_FLOAT,
    F_STRING,
    F_DEFAULT,
    F_ISNIL,
    F_ISNAN,
    F_ISINF,
    F_ASINT,
    F_ASFLOAT,
    F_COUNT_
};

struct node {
    unsigned char kind, op, optional;
    int a, b, c; /* children (-1: none); N_CALL/N_LIST: a = first argument */
    int next;    /* next argument of a call or list item */
    int fn;      /* N_CALL */
    json_t *lit; /* N_LIT value, N_MEMBER name (a string) */
};

struct parser {
    const char *src, *p;
    struct node nodes[EXPR_MAX_NODES];
    int n, depth;
    char *msg;
    size_t msz;
    int failed;
};

extern const char *const expr__fn_names[F_COUNT_];

/* Parses src into ps (large: allocate it); returns the root node or -1 with msg set. Always
 * call expr__release(ps) afterwards. */
int expr__parse(struct parser *ps, const char *src, char *msg, size_t n);
void expr__release(struct parser *ps);

#endif
