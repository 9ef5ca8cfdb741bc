/* The PromQL subset's parser (promql.h): a recursive descent over the query text, with the
 * limits of promql.h on length, depth and nodes, type-checked as it goes so that a range vector
 * anywhere but in rate()/increase() is refused before anything is evaluated. */
#include "core/promql-int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define PQ_MAX_STRING 1024 /* bytes of one quoted label value */

struct parser {
    const char *s, *p;
    int depth, nodes, failed;
    char *msg;
    size_t n;
};

static const char *const fn_names[] = {"rate",   "increase", "histogram_quantile",
                                       "scalar", "vector",   "abs"};
static const char *const agg_names[] = {"sum", "avg", "min", "max", "count"};

static void *fail(struct parser *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->failed)
        return NULL;
    ps->failed = 1;
    va_start(ap, fmt);
    vsnprintf(ps->msg, ps->n, fmt, ap);
    va_end(ap);
    return NULL;
}

static void skip_ws(struct parser *ps)
{
    for (;;) {
        while (isspace((unsigned char)*ps->p))
            ps->p++;
        if (*ps->p != '#')
            return;
        while (*ps->p && *ps->p != '\n') /* a comment runs to the line's end */
            ps->p++;
    }
}

static int peek(struct parser *ps, const char *tok)
{
    skip_ws(ps);
    return strncmp(ps->p, tok, strlen(tok)) == 0;
}

static int accept(struct parser *ps, const char *tok)
{
    if (!peek(ps, tok))
        return 0;
    ps->p += strlen(tok);
    return 1;
}

static int expect(struct parser *ps, const char *tok)
{
    if (accept(ps, tok))
        return 0;
    fail(ps, "unexpected %s at position %d, expected \"%s\"", *ps->p ? "character" : "end of input",
         (int)(ps->p - ps->s), tok);
    return -1;
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

/* An identifier (metric name, label, function); NULL when there is none here. */
static char *ident(struct parser *ps)
{
    const char *b;

    skip_ws(ps);
    if (!is_ident_start((unsigned char)*ps->p))
        return NULL;
    b = ps->p;
    while (is_ident_start((unsigned char)*ps->p) || isdigit((unsigned char)*ps->p))
        ps->p++;
    {
        size_t len = (size_t)(ps->p - b);
        char *w = xmalloc(len + 1);

        memcpy(w, b, len);
        w[len] = 0;
        return w;
    }
}

static struct promql_expr *node(struct parser *ps, enum pq_kind kind, enum pq_type type)
{
    struct promql_expr *e;

    if (++ps->nodes > PROMQL_MAX_NODES)
        return fail(ps, "the query has more than %d terms", PROMQL_MAX_NODES);
    e = xcalloc(1, sizeof *e);
    e->kind = kind;
    e->type = type;
    return e;
}

void promql_expr_free(struct promql_expr *e)
{
    if (!e)
        return;
    free(e->metric);
    for (int i = 0; i < e->nm; i++) {
        free(e->m[i].name);
        free(e->m[i].value);
        if (e->m[i].compiled)
            regfree(&e->m[i].re);
    }
    for (int i = 0; i < e->ngrp; i++)
        free(e->grp[i]);
    for (int i = 0; i < e->na; i++)
        promql_expr_free(e->a[i]);
    free(e);
}

/* A quoted string ("..." or '...', Go escapes \\ \" \' \n \t); NULL with a message. */
static char *string_lit(struct parser *ps)
{
    char q, out[PQ_MAX_STRING + 1];
    size_t len = 0;

    skip_ws(ps);
    q = *ps->p;
    if (q != '"' && q != '\'')
        return fail(ps, "expected a quoted string at position %d", (int)(ps->p - ps->s));
    for (ps->p++; *ps->p != q; ps->p++) {
        char c = *ps->p;

        if (!c || c == '\n')
            return fail(ps, "unterminated quoted string");
        if (c == '\\') {
            c = *++ps->p;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c != '\\' && c != '"' && c != '\'')
                return fail(ps, "unsupported escape \\%c in a quoted string", c ? c : ' ');
        }
        if (len == PQ_MAX_STRING)
            return fail(ps, "a quoted string is longer than %d bytes", PQ_MAX_STRING);
        out[len++] = c;
    }
    ps->p++;
    out[len] = 0;
    return xstrdup(out);
}

static int matcher(struct parser *ps, struct promql_expr *e)
{
    struct pq_matcher *m;
    char *name = ident(ps);

    if (!name) {
        fail(ps, "expected a label name at position %d", (int)(ps->p - ps->s));
        return -1;
    }
    if (e->nm == PQ_MAX_MATCHERS) {
        free(name);
        fail(ps, "more than %d label matchers", PQ_MAX_MATCHERS);
        return -1;
    }
    m = &e->m[e->nm++];
    m->name = name;
    if (accept(ps, "=~"))
        m->op = PQ_RE;
    else if (accept(ps, "!~"))
        m->op = PQ_NRE;
    else if (accept(ps, "!="))
        m->op = PQ_NE;
    else if (accept(ps, "="))
        m->op = PQ_EQ;
    else {
        fail(ps, "expected =, !=, =~ or !~ after label %s", name);
        return -1;
    }
    if (!(m->value = string_lit(ps)))
        return -1;
    if (!strcmp(name, "__name__")) {
        fail(ps, "matching on __name__ is not supported: write the metric name");
        return -1;
    }
    if (m->op == PQ_RE || m->op == PQ_NRE) {
        char *anchored = xasprintf("^(%s)$", m->value);
        int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);

        free(anchored);
        if (rc) {
            fail(ps, "invalid regular expression %s in label matcher %s", m->value, name);
            return -1;
        }
        m->compiled = 1;
    }
    return 0;
}

/* A duration such as 30s, 5m, 1h, 1m30s: whole seconds, 1 .. PROMQL_MAX_RANGE_S. */
static int duration(struct parser *ps)
{
    long long total = 0;
    int parts = 0;

    skip_ws(ps);
    while (isdigit((unsigned char)*ps->p)) {
        char *end;
        long long v = strtoll(ps->p, &end, 10), mul;

        if (end - ps->p > 9) {
            fail(ps, "duration out of range");
            return -1;
        }
        ps->p = end;
        if (*ps->p == 'm' && ps->p[1] == 's') {
            fail(ps, "a range must be whole seconds");
            return -1;
        }
        mul = *ps->p == 's'   ? 1
              : *ps->p == 'm' ? 60
              : *ps->p == 'h' ? 3600
              : *ps->p == 'd' ? 86400
                              : 0;
        if (!mul) {
            fail(ps, "bad duration: expected a unit s, m, h or d at position %d",
                 (int)(ps->p - ps->s));
            return -1;
        }
        ps->p++;
        total += v * mul;
        parts++;
        if (total > PROMQL_MAX_RANGE_S) {
            fail(ps, "a range longer than %d seconds is not supported", PROMQL_MAX_RANGE_S);
            return -1;
        }
    }
    if (!parts || total <= 0) {
        fail(ps, "expected a duration such as 5m at position %d", (int)(ps->p - ps->s));
        return -1;
    }
    return (int)total;
}

static struct promql_expr *selector(struct parser *ps, char *name)
{
    struct promql_expr *e = node(ps, PQ_SEL, PQ_VECTOR);

    if (!e) {
        free(name);
        return NULL;
    }
    e->metric = name;
    if (accept(ps, "{")) {
        while (!accept(ps, "}")) {
            if (matcher(ps, e) < 0 || (!peek(ps, "}") && expect(ps, ",") < 0))
                goto fail;
        }
    }
    if (accept(ps, "[")) {
        if ((e->range_s = duration(ps)) < 0)
            goto fail;
        if (accept(ps, ":")) {
            fail(ps, "subqueries are not supported");
            goto fail;
        }
        if (expect(ps, "]") < 0)
            goto fail;
        e->type = PQ_MATRIX;
    }
    skip_ws(ps);
    if (!strncmp(ps->p, "offset", 6) || *ps->p == '@') {
        fail(ps, "offset and @ modifiers are not supported");
        goto fail;
    }
    return e;
fail:
    promql_expr_free(e);
    return NULL;
}

static struct promql_expr *expr(struct parser *ps);

static int label_list(struct parser *ps, struct promql_expr *e)
{
    if (expect(ps, "(") < 0)
        return -1;
    while (!accept(ps, ")")) {
        char *l = ident(ps);

        if (!l) {
            fail(ps, "expected a label name at position %d", (int)(ps->p - ps->s));
            return -1;
        }
        if (e->ngrp == PQ_MAX_GROUPING) {
            free(l);
            fail(ps, "more than %d labels in a grouping", PQ_MAX_GROUPING);
            return -1;
        }
        e->grp[e->ngrp++] = l;
        if (!peek(ps, ")") && expect(ps, ",") < 0)
            return -1;
    }
    return 0;
}

static int grouping(struct parser *ps, struct promql_expr *e)
{
    char *save = (char *)ps->p, *w = ident(ps);
    int rc = 0;

    if (w && (!strcmp(w, "by") || !strcmp(w, "without"))) {
        if (e->ngrp || e->without) {
            rc = -1;
            fail(ps, "an aggregation has one grouping");
        } else {
            e->without = !strcmp(w, "without");
            rc = label_list(ps, e);
            e->matching = 1; /* a grouping was given (even an empty one) */
        }
    } else {
        ps->p = save;
    }
    free(w);
    return rc;
}

static struct promql_expr *aggregation(struct parser *ps, int agg, const char *name)
{
    struct promql_expr *e = node(ps, PQ_AGG, PQ_VECTOR);

    if (!e)
        return NULL;
    e->agg = agg;
    if (grouping(ps, e) < 0 || expect(ps, "(") < 0)
        goto fail;
    e->a[0] = expr(ps);
    e->na = e->a[0] ? 1 : 0;
    if (!e->a[0] || expect(ps, ")") < 0)
        goto fail;
    if (e->a[0]->type != PQ_VECTOR) {
        fail(ps, "expected type instant vector in aggregation expression %s, got %s", name,
             e->a[0]->type == PQ_SCALAR ? "scalar" : "range vector");
        goto fail;
    }
    if (grouping(ps, e) < 0)
        goto fail;
    return e;
fail:
    promql_expr_free(e);
    return NULL;
}

static const char *type_name(enum pq_type t)
{
    return t == PQ_SCALAR ? "scalar" : t == PQ_VECTOR ? "instant vector" : "range vector";
}

static struct promql_expr *call(struct parser *ps, int fn)
{
    static const enum pq_type want[][2] = {
        [PQ_RATE] = {PQ_MATRIX},
        [PQ_INCREASE] = {PQ_MATRIX},
        [PQ_HQUANTILE] = {PQ_SCALAR, PQ_VECTOR},
        [PQ_SCALARFN] = {PQ_VECTOR},
        [PQ_VECTORFN] = {PQ_SCALAR},
        [PQ_ABS] = {PQ_VECTOR},
    };
    int nargs = fn == PQ_HQUANTILE ? 2 : 1;
    struct promql_expr *e = node(ps, PQ_CALL, fn == PQ_SCALARFN ? PQ_SCALAR : PQ_VECTOR);

    if (!e || expect(ps, "(") < 0)
        goto fail;
    e->fn = fn;
    for (int i = 0; i < nargs; i++) {
        if (i && expect(ps, ",") < 0)
            goto fail;
        if (!(e->a[i] = expr(ps)))
            goto fail;
        e->na++;
        if (e->a[i]->type != want[fn][i]) {
            fail(ps, "expected type %s in call to function \"%s\", got %s", type_name(want[fn][i]),
                 fn_names[fn], type_name(e->a[i]->type));
            goto fail;
        }
    }
    if (expect(ps, ")") < 0)
        goto fail;
    return e;
fail:
    if (!ps->failed)
        fail(ps, "bad call to %s", fn_names[fn]);
    promql_expr_free(e);
    return NULL;
}

static struct promql_expr *number(struct parser *ps)
{
    char *end;
    double v = strtod(ps->p, &end);
    struct promql_expr *e;

    if (end == ps->p || isalpha((unsigned char)*end))
        return fail(ps, "bad number or duration at position %d", (int)(ps->p - ps->s));
    ps->p = end;
    e = node(ps, PQ_NUM, PQ_SCALAR);
    if (e)
        e->num = v;
    return e;
}

static int name_index(const char *const *names, int n, const char *w)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], w))
            return i;
    return -1;
}

static struct promql_expr *primary(struct parser *ps)
{
    char *w;
    int i;

    skip_ws(ps);
    if (accept(ps, "(")) {
        struct promql_expr *e = expr(ps);

        if (e && expect(ps, ")") < 0) {
            promql_expr_free(e);
            return NULL;
        }
        return e;
    }
    if (isdigit((unsigned char)*ps->p) || *ps->p == '.')
        return number(ps);
    if (*ps->p == '{')
        return fail(ps, "a selector needs a metric name before {");
    if (*ps->p == '"' || *ps->p == '\'')
        return fail(ps, "string literals are not supported");
    if (!(w = ident(ps)) && !*ps->p)
        return fail(ps, "unexpected end of input");
    if (!w)
        return fail(ps, "unexpected character '%c' at position %d", *ps->p, (int)(ps->p - ps->s));
    if (!strcasecmp(w, "inf") || !strcasecmp(w, "nan")) {
        struct promql_expr *e = node(ps, PQ_NUM, PQ_SCALAR);

        if (e)
            e->num = tolower((unsigned char)w[0]) == 'i' ? INFINITY : NAN;
        free(w);
        return e;
    }
    if ((i = name_index(agg_names, 5, w)) >= 0 &&
        (peek(ps, "(") || peek(ps, "by") || peek(ps, "without"))) {
        struct promql_expr *e = aggregation(ps, i, w);

        free(w);
        return e;
    }
    if (peek(ps, "(")) {
        i = name_index(fn_names, 6, w);
        if (i < 0) {
            fail(ps,
                 "function \"%s\" is not supported (supported: rate, increase, "
                 "histogram_quantile, scalar, vector, abs, sum, avg, min, max, count)",
                 w);
            free(w);
            return NULL;
        }
        free(w);
        return call(ps, i);
    }
    if (!strcmp(w, "by") || !strcmp(w, "without") || !strcmp(w, "on") || !strcmp(w, "ignoring") ||
        !strcmp(w, "and") || !strcmp(w, "or") || !strcmp(w, "unless") || !strcmp(w, "bool")) {
        fail(ps, "unexpected keyword %s", w);
        free(w);
        return NULL;
    }
    return selector(ps, w);
}

static struct promql_expr *unary(struct parser *ps);

/* primary ('^' unary)? : ^ binds tighter than unary minus and is right-associative. */
static struct promql_expr *power(struct parser *ps);

static struct promql_expr *binary(struct parser *ps, char op, struct promql_expr *l,
                                  struct promql_expr *r)
{
    struct promql_expr *e;

    if (!r) {
        promql_expr_free(l);
        return NULL;
    }
    e = node(ps, PQ_BIN, l->type == PQ_SCALAR && r->type == PQ_SCALAR ? PQ_SCALAR : PQ_VECTOR);
    if (!e)
        goto fail;
    e->op = op;
    e->a[0] = l;
    e->a[1] = r;
    e->na = 2;
    if (l->type == PQ_MATRIX || r->type == PQ_MATRIX) {
        fail(ps, "binary expression must contain only scalar and instant vector types");
        goto fail_e;
    }
    return e;
fail:
    promql_expr_free(l);
    promql_expr_free(r);
    return NULL;
fail_e:
    promql_expr_free(e);
    return NULL;
}

/* on(...) / ignoring(...) after an operator; group_left/right are refused. */
static int vector_matching(struct parser *ps, struct promql_expr *m)
{
    char *save = (char *)ps->p, *w = ident(ps);
    int rc = 0;

    if (w && (!strcmp(w, "on") || !strcmp(w, "ignoring"))) {
        m->matching = !strcmp(w, "on") ? 1 : 2;
        rc = label_list(ps, m);
        free(w);
        save = (char *)ps->p;
        w = ident(ps);
    }
    if (w && (!strcmp(w, "group_left") || !strcmp(w, "group_right") || !strcmp(w, "bool"))) {
        fail(ps, "%s is not supported", w);
        rc = -1;
    } else {
        ps->p = save;
    }
    free(w);
    return rc;
}

static struct promql_expr *operator_chain(struct parser *ps, const char *ops,
                                          struct promql_expr *(*next)(struct parser *))
{
    struct promql_expr *l = next(ps);

    while (l) {
        struct promql_expr m = {0}, *e;
        char op;

        skip_ws(ps);
        op = *ps->p;
        if (!op || !strchr(ops, op))
            break;
        ps->p++;
        if (vector_matching(ps, &m) < 0) {
            for (int i = 0; i < m.ngrp; i++)
                free(m.grp[i]);
            promql_expr_free(l);
            return NULL;
        }
        e = binary(ps, op, l, next(ps));
        if (!e) {
            for (int i = 0; i < m.ngrp; i++)
                free(m.grp[i]);
            return NULL;
        }
        memcpy(e->grp, m.grp, sizeof m.grp);
        e->ngrp = m.ngrp;
        e->matching = m.matching;
        l = e;
    }
    return l;
}

static struct promql_expr *power(struct parser *ps)
{
    struct promql_expr *l = primary(ps), *e;

    if (!l || !accept(ps, "^"))
        return l;
    if (++ps->depth > PROMQL_MAX_DEPTH) { /* right-associative: "a ^ b ^ c" recurses */
        promql_expr_free(l);
        return fail(ps, "the query nests deeper than %d levels", PROMQL_MAX_DEPTH);
    }
    e = binary(ps, '^', l, unary(ps));
    ps->depth--;
    return e;
}

static struct promql_expr *unary(struct parser *ps)
{
    struct promql_expr *e;

    skip_ws(ps);
    if (*ps->p == '-' || *ps->p == '+') {
        int neg = *ps->p++ == '-';
        struct promql_expr *x;

        if (++ps->depth > PROMQL_MAX_DEPTH) /* a sign is a level: "- - - 1" recurses */
            return fail(ps, "the query nests deeper than %d levels", PROMQL_MAX_DEPTH);
        x = unary(ps);
        ps->depth--;

        if (!x || !neg) {
            e = x;
        } else if (x->type == PQ_MATRIX) {
            promql_expr_free(x);
            e = fail(ps, "unary expression only allowed on expressions of type scalar or "
                         "instant vector");
        } else if ((e = node(ps, PQ_NEG, x->type))) {
            e->a[0] = x;
            e->na = 1;
        } else {
            promql_expr_free(x);
        }
    } else {
        e = power(ps);
    }
    return e;
}

static struct promql_expr *term(struct parser *ps)
{
    return operator_chain(ps, "*/%", unary);
}

static struct promql_expr *expr(struct parser *ps)
{
    struct promql_expr *e;

    if (++ps->depth > PROMQL_MAX_DEPTH)
        return fail(ps, "the query nests deeper than %d levels", PROMQL_MAX_DEPTH);
    e = operator_chain(ps, "+-", term);
    ps->depth--;
    return e;
}

struct promql_expr *promql_parse(const char *q, char *msg, size_t n)
{
    struct parser ps = {.s = q, .p = q, .msg = msg, .n = n};
    struct promql_expr *e;

    if (strlen(q) > PROMQL_MAX_QUERY) {
        snprintf(msg, n, "the query is longer than %d bytes", PROMQL_MAX_QUERY);
        return NULL;
    }
    e = expr(&ps);
    skip_ws(&ps);
    if (e && *ps.p) {
        if (strchr("<>=!", *ps.p))
            fail(&ps, "comparison operators are not supported (position %d)", (int)(ps.p - q));
        else if (!strncmp(ps.p, "and", 3) || !strncmp(ps.p, "or", 2) || !strncmp(ps.p, "unless", 6))
            fail(&ps, "set operators are not supported (position %d)", (int)(ps.p - q));
        else
            fail(&ps, "unexpected character '%c' at position %d", *ps.p, (int)(ps.p - q));
        promql_expr_free(e);
        return NULL;
    }
    if (!e && !ps.failed)
        snprintf(msg, n, "cannot parse the query");
    return e;
}
