/* Label selectors (query strings and metav1.LabelSelector objects). The label
 * grammar, canonical string form and error texts follow apimachinery's labels
 * package (key and value syntax: label_syntax.c; field selectors: fieldsel.c).
 * Every parser here takes hostile input: no recursion, bounds-checked token
 * access. */
#include "core/selector.h"
#include "core/selector-int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

/* ---------------------------------------------------------------------------------------------
 * Label selector representation and matching. */

enum lop { LOP_EQ, LOP_DEQ, LOP_NEQ, LOP_IN, LOP_NOTIN, LOP_EXISTS, LOP_NOTEXIST, LOP_GT, LOP_LT };

struct lreq {
    char *key;
    enum lop op;
    char **vals;
    size_t nvals;
};

struct labelsel {
    int nothing; /* nil metav1.LabelSelector: matches no object */
    size_t n;
    struct lreq *reqs;
};

void labelsel_free(struct labelsel *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->reqs[i].nvals; j++)
            free(s->reqs[i].vals[j]);
        free(s->reqs[i].vals);
        free(s->reqs[i].key);
    }
    free(s->reqs);
    free(s);
}

static struct labelsel *labelsel_new(void)
{
    return xcalloc(1, sizeof(struct labelsel));
}

/* Appends a requirement; takes key and vals. */
static void labelsel_add_take(struct labelsel *s, char *key, enum lop op, char **vals, size_t nv)
{
    s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof *s->reqs);
    s->reqs[s->n++] = (struct lreq){.key = key, .op = op, .vals = vals, .nvals = nv};
}

/* Stable insertion sort by key: the canonical order of selector.String(). */
static void labelsel_sort(struct labelsel *s)
{
    for (size_t i = 1; i < s->n; i++) {
        struct lreq r = s->reqs[i];
        size_t j = i;
        while (j > 0 && strcmp(s->reqs[j - 1].key, r.key) > 0) {
            s->reqs[j] = s->reqs[j - 1];
            j--;
        }
        s->reqs[j] = r;
    }
}

/* strconv.ParseInt(s, 10, 64). */
static int parse_int64(const char *s, long long *out)
{
    char *end;

    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

static int lreq_has(const struct lreq *r, const char *v)
{
    for (size_t i = 0; i < r->nvals; i++)
        if (strcmp(r->vals[i], v) == 0)
            return 1;
    return 0;
}

static int lreq_match(const struct lreq *r, const json_t *labels)
{
    const char *v = json_string_value(json_object_get(labels, r->key));
    long long lv, rv;

    switch (r->op) {
    case LOP_EQ:
    case LOP_DEQ:
    case LOP_IN:
        return v && lreq_has(r, v);
    case LOP_NEQ:
    case LOP_NOTIN:
        return !v || !lreq_has(r, v);
    case LOP_EXISTS:
        return v != NULL;
    case LOP_NOTEXIST:
        return v == NULL;
    case LOP_GT:
    case LOP_LT:
        if (!v || r->nvals != 1 || parse_int64(v, &lv) || parse_int64(r->vals[0], &rv))
            return 0;
        return r->op == LOP_GT ? lv > rv : lv < rv;
    }
    return 0;
}

int labelsel_match(const struct labelsel *s, const json_t *labels)
{
    if (!s)
        return 1;
    if (s->nothing)
        return 0;
    if (!json_is_object(labels))
        labels = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (!lreq_match(&s->reqs[i], labels))
            return 0;
    return 1;
}

int labelsel_empty(const struct labelsel *s)
{
    return !s || (!s->nothing && s->n == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Growable string; xrealloc aborts on OOM, and selector text is bounded by its
 * input. */
struct sb {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sb *b, const char *s)
{
    size_t n = strlen(s);

    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static char *sb_take(struct sb *b)
{
    if (!b->p)
        return xstrdup("");
    return b->p;
}

static void lreq_format(const struct lreq *r, struct sb *b)
{
    static const char *const opstr[] = {
        [LOP_EQ] = "=",          [LOP_DEQ] = "==", [LOP_NEQ] = "!=", [LOP_IN] = " in ",
        [LOP_NOTIN] = " notin ", [LOP_GT] = ">",   [LOP_LT] = "<"};
    int set = r->op == LOP_IN || r->op == LOP_NOTIN;

    if (r->op == LOP_NOTEXIST)
        sb_add(b, "!");
    sb_add(b, r->key);
    if (r->op == LOP_EXISTS || r->op == LOP_NOTEXIST)
        return;
    sb_add(b, opstr[r->op]);
    if (set)
        sb_add(b, "(");
    if (r->nvals > 1) {
        /* Sorted on output only, as upstream: the requirement itself keeps its
         * order. */
        char **v = xmalloc(r->nvals * sizeof *v);
        memcpy(v, r->vals, r->nvals * sizeof *v);
        qsort(v, r->nvals, sizeof *v, cmp_str);
        for (size_t i = 0; i < r->nvals; i++) {
            if (i)
                sb_add(b, ",");
            sb_add(b, v[i]);
        }
        free(v);
    } else if (r->nvals == 1) {
        sb_add(b, r->vals[0]);
    }
    if (set)
        sb_add(b, ")");
}

char *labelsel_format(const struct labelsel *s)
{
    struct sb b = {0};

    for (size_t i = 0; s && !s->nothing && i < s->n; i++) {
        if (i)
            sb_add(&b, ",");
        lreq_format(&s->reqs[i], &b);
    }
    return sb_take(&b);
}

/* Go's %#v of a []string, as field.Invalid prints a value list. */
static void go_strings(char **vals, size_t nv, char *out, size_t n)
{
    size_t off;

    if (nv == 0) {
        snprintf(out, n, "[]string(nil)");
        return;
    }
    off = snprintf(out, n, "[]string{");
    for (size_t i = 0; i < nv && off + 8 < n; i++) {
        char q[128];
        selector__go_quote(vals[i], q, sizeof q);
        off += snprintf(out + off, n - off, "%s%s", i ? ", " : "", q);
    }
    if (off < n)
        snprintf(out + off, n - off, "}");
}

/* ---------------------------------------------------------------------------------------------
 * NewRequirement's checks. Returns 0 or fills msg with the (aggregated) field
 * error text. */

static int lreq_check(const char *key, enum lop op, char **vals, size_t nv, char *msg, size_t n)
{
    char errs[4][1024], q[160], joined[700];
    struct selector_msgs ms;
    int ne = 0;

    if (selector__qualified_name_check(key, &ms)) {
        selector__go_quote(key, q, sizeof q);
        selector__msgs_join(&ms, joined, sizeof joined);
        snprintf(errs[ne++], sizeof errs[0], "key: Invalid value: %s: %s", q, joined);
    }
    if ((op == LOP_IN || op == LOP_NOTIN) && nv == 0)
        snprintf(errs[ne++], sizeof errs[0],
                 "values: Invalid value: []string(nil): for 'in', "
                 "'notin' operators, values set can't be empty");
    if ((op == LOP_EQ || op == LOP_DEQ || op == LOP_NEQ) && nv != 1)
        snprintf(errs[ne++], sizeof errs[0],
                 "values: Invalid value: []string(nil): exact-match compatibility "
                 "requires one "
                 "single value");
    if ((op == LOP_EXISTS || op == LOP_NOTEXIST) && nv != 0) {
        go_strings(vals, nv, q, sizeof q);
        snprintf(errs[ne++], sizeof errs[0],
                 "values: Invalid value: %s: values set must be empty for exists "
                 "and does not "
                 "exist",
                 q);
    }
    for (size_t i = 0; i < nv && ne < 4; i++) {
        long long dummy;
        if ((op == LOP_GT || op == LOP_LT) && parse_int64(vals[i], &dummy)) {
            selector__go_quote(vals[i], q, sizeof q);
            snprintf(errs[ne++], sizeof errs[0],
                     "values[%zu]: Invalid value: %s: for 'Gt', 'Lt' operators, the "
                     "value must be "
                     "an integer",
                     i, q);
        }
    }
    for (size_t i = 0; i < nv && ne < 4; i++) {
        if (selector__label_value_check(vals[i], &ms)) {
            selector__go_quote(vals[i], q, sizeof q);
            selector__msgs_join(&ms, joined, sizeof joined);
            snprintf(errs[ne++], sizeof errs[0], "values[%zu][%.100s]: Invalid value: %s: %s", i,
                     key, q, joined);
        }
    }
    if (ne == 0)
        return 0;
    if (ne == 1) {
        snprintf(msg, n, "%s", errs[0]);
    } else { /* utilerrors.Aggregate: "[e1, e2]" */
        size_t off = snprintf(msg, n, "[");
        for (int i = 0; i < ne && off < n; i++)
            off += snprintf(msg + off, n - off, "%s%s", i ? ", " : "", errs[i]);
        if (off < n)
            snprintf(msg + off, n - off, "]");
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Lexer and parser for the query-string form (labels.Parse). */

enum tok {
    T_ERR,
    T_EOS,
    T_CPAR,
    T_COMMA,
    T_NOTEXIST,
    T_DEQ,
    T_EQ,
    T_GT,
    T_ID,
    T_IN,
    T_LT,
    T_NEQ,
    T_NOTIN,
    T_OPAR
};

struct item {
    enum tok tok;
    char *lit;
};

struct lparser {
    struct item *items;
    size_t n, pos;
    char msg[1024];
};

static int is_special(int c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static enum tok literal_tok(const char *s, size_t n)
{
    static const struct {
        const char *s;
        enum tok t;
    } map[] = {{")", T_CPAR}, {",", T_COMMA},     {"!", T_NOTEXIST}, {"==", T_DEQ},
               {"=", T_EQ},   {">", T_GT},        {"in", T_IN},      {"<", T_LT},
               {"!=", T_NEQ}, {"notin", T_NOTIN}, {"(", T_OPAR}};

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].s) == n && memcmp(map[i].s, s, n) == 0)
            return map[i].t;
    return T_ID;
}

static void lparser_push(struct lparser *p, enum tok t, const char *s, size_t n)
{
    char *lit = xmalloc(n + 1);

    memcpy(lit, s, n);
    lit[n] = 0;
    p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
    p->items[p->n++] = (struct item){t, lit};
}

/* Longest run of special symbols that still forms a token ("!=" but "=" then
 * "!"). */
static size_t scan_special(const char *s, enum tok *t)
{
    size_t best = 0;

    *t = T_ERR;
    for (size_t i = 1; i <= 2 && is_special((unsigned char)s[i - 1]); i++) {
        enum tok k = literal_tok(s, i);
        if (k != T_ID) {
            *t = k;
            best = i;
        } else if (best) {
            break;
        }
    }
    return best ? best : 1;
}

static void lparser_scan(struct lparser *p, const char *s)
{
    for (;;) {
        size_t n = 0;
        enum tok t;

        while (is_ws((unsigned char)*s))
            s++;
        if (!*s) {
            lparser_push(p, T_EOS, "", 0);
            return;
        }
        if (is_special((unsigned char)*s)) {
            n = scan_special(s, &t);
        } else {
            while (s[n] && !is_special((unsigned char)s[n]) && !is_ws((unsigned char)s[n]))
                n++;
            t = literal_tok(s, n);
            if (t != T_IN && t != T_NOTIN)
                t = T_ID;
        }
        lparser_push(p, t, s, n);
        s += n;
    }
}

/* In value context "in"/"notin" are plain identifiers ("x in (in)"). */
static enum tok lp_peek(struct lparser *p, int values, const char **lit)
{
    const struct item *it = &p->items[p->pos < p->n ? p->pos : p->n - 1];
    enum tok t = it->tok;

    if (lit)
        *lit = it->lit;
    if (values && (t == T_IN || t == T_NOTIN))
        t = T_ID;
    return t;
}

static enum tok lp_next(struct lparser *p, int values, const char **lit)
{
    enum tok t = lp_peek(p, values, lit);

    if (p->pos < p->n)
        p->pos++;
    return t;
}

static int lp_fail(struct lparser *p, const char *fmt, const char *lit)
{
    snprintf(p->msg, sizeof p->msg, fmt, lit);
    return -1;
}

struct vlist {
    char **v;
    size_t n;
};

/* Adds v keeping the list sorted and unique (sets.String.List()). */
static void vlist_add(struct vlist *l, const char *v)
{
    size_t i = 0;

    while (i < l->n && strcmp(l->v[i], v) < 0)
        i++;
    if (i < l->n && strcmp(l->v[i], v) == 0)
        return;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof *l->v);
    l->v[i] = xstrdup(v);
    l->n++;
}

static void vlist_free(struct vlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* "(a,b,,c)" including the odd upstream cases "()", "(,", ",)" that mean the
 * empty value. */
static int lp_values(struct lparser *p, struct vlist *vl)
{
    const char *lit, *lit2;
    enum tok t = lp_next(p, 1, &lit);

    if (t != T_OPAR)
        return lp_fail(p, "found '%s' expected: '('", lit);
    t = lp_peek(p, 1, &lit);
    if (t == T_CPAR) {
        lp_next(p, 1, NULL);
        vlist_add(vl, "");
        return 0;
    }
    if (t != T_ID && t != T_COMMA)
        return lp_fail(p, "found '%s', expected: ',', ')' or identifier", lit);
    for (;;) {
        enum tok t1 = lp_next(p, 1, &lit2), t2;
        if (t1 == T_ID) {
            vlist_add(vl, lit2);
            t2 = lp_peek(p, 1, &lit2);
            if (t2 == T_COMMA)
                continue;
            if (t2 == T_CPAR)
                break;
            return lp_fail(p, "found '%s', expected: ',' or ')'", lit2);
        } else if (t1 == T_COMMA) {
            if (vl->n == 0)
                vlist_add(vl, "");
            t2 = lp_peek(p, 1, NULL);
            if (t2 == T_CPAR) {
                vlist_add(vl, "");
                break;
            }
            if (t2 == T_COMMA) {
                lp_next(p, 1, NULL);
                vlist_add(vl, "");
            }
        } else {
            return lp_fail(p, "found '%s', expected: ',', or identifier", lit2);
        }
    }
    if (lp_next(p, 1, NULL) != T_CPAR)
        return lp_fail(p, "found '%s', expected: ')'", lit);
    return 0;
}

static int lp_operator(struct lparser *p, enum lop *op)
{
    const char *lit;

    switch (lp_next(p, 0, &lit)) {
    case T_IN:
        *op = LOP_IN;
        return 0;
    case T_EQ:
        *op = LOP_EQ;
        return 0;
    case T_DEQ:
        *op = LOP_DEQ;
        return 0;
    case T_GT:
        *op = LOP_GT;
        return 0;
    case T_LT:
        *op = LOP_LT;
        return 0;
    case T_NOTIN:
        *op = LOP_NOTIN;
        return 0;
    case T_NEQ:
        *op = LOP_NEQ;
        return 0;
    default:
        return lp_fail(p, "found '%s', expected: in, notin, =, ==, !=, gt, lt", lit);
    }
}

/* One requirement: [!] KEY [op VALUE | op (VALUES)]. Appends to s on success.
 */
static int lp_requirement(struct lparser *p, struct labelsel *s)
{
    struct vlist vl = {0};
    const char *lit, *key;
    char q[160], joined[700];
    struct selector_msgs ms;
    enum lop op = LOP_EQ;
    enum tok t;
    int notexist = 0;

    t = lp_next(p, 1, &lit);
    if (t == T_NOTEXIST) {
        notexist = 1;
        t = lp_next(p, 1, &lit);
    }
    if (t != T_ID)
        return lp_fail(p, "found '%s', expected: identifier", lit);
    key = lit;
    if (selector__qualified_name_check(key, &ms)) {
        selector__go_quote(key, q, sizeof q);
        selector__msgs_join(&ms, joined, sizeof joined);
        snprintf(p->msg, sizeof p->msg, "<nil>: Invalid value: %s: %s", q, joined);
        return -1;
    }
    t = lp_peek(p, 1, NULL);
    if (notexist || t == T_EOS || t == T_COMMA) {
        /* "!key" followed by an operator is rejected by NewRequirement upstream;
         * here the operator token then fails the ',' / end-of-string check in the
         * caller. */
        labelsel_add_take(s, xstrdup(key), notexist ? LOP_NOTEXIST : LOP_EXISTS, NULL, 0);
        return 0;
    }
    if (lp_operator(p, &op))
        return -1;
    if (op == LOP_IN || op == LOP_NOTIN) {
        if (lp_values(p, &vl))
            goto fail;
    } else {
        t = lp_peek(p, 1, &lit);
        if (t == T_EOS || t == T_COMMA) {
            vlist_add(&vl, "");
        } else if (lp_next(p, 1, &lit) == T_ID) {
            vlist_add(&vl, lit);
        } else {
            lp_fail(p, "found '%s', expected: identifier", lit);
            goto fail;
        }
    }
    if (lreq_check(key, op, vl.v, vl.n, p->msg, sizeof p->msg))
        goto fail;
    labelsel_add_take(s, xstrdup(key), op, vl.v, vl.n);
    return 0;
fail:
    vlist_free(&vl);
    return -1;
}

static int lparser_run(struct lparser *p, struct labelsel *s)
{
    const char *lit;

    for (;;) {
        enum tok t = lp_peek(p, 1, &lit);
        if (t == T_EOS)
            return 0;
        if (t != T_ID && t != T_NOTEXIST)
            return lp_fail(p, "found '%s', expected: !, identifier, or 'end of string'", lit);
        if (lp_requirement(p, s)) {
            char inner[1024];
            memcpy(inner, p->msg, sizeof inner);
            snprintf(p->msg, sizeof p->msg, "unable to parse requirement: %.990s", inner);
            return -1;
        }
        t = lp_next(p, 1, &lit);
        if (t == T_EOS)
            return 0;
        if (t != T_COMMA)
            return lp_fail(p, "found '%s', expected: ',' or 'end of string'", lit);
        t = lp_peek(p, 1, &lit);
        if (t != T_ID && t != T_NOTEXIST)
            return lp_fail(p, "found '%s', expected: identifier after ','", lit);
    }
}

int labelsel_parse(const char *s, struct labelsel **out, struct err *err)
{
    struct lparser p = {0};
    struct labelsel *sel = labelsel_new();
    int rc = 0;

    *out = NULL;
    lparser_scan(&p, s ? s : "");
    if (lparser_run(&p, sel) < 0) {
        rc = err_set(err, -E_BAD_REQUEST, "%s", p.msg);
        labelsel_free(sel);
        sel = NULL;
    } else {
        labelsel_sort(sel);
    }
    for (size_t i = 0; i < p.n; i++)
        free(p.items[i].lit);
    free(p.items);
    *out = sel;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * metav1.LabelSelector objects. */

static int strings_from_json(const json_t *arr, struct vlist *vl)
{
    size_t i;
    json_t *v;

    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return -1;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return -1;
        /* Order and duplicates are kept: upstream copies the slice as is. */
        vl->v = xrealloc(vl->v, (vl->n + 1) * sizeof *vl->v);
        vl->v[vl->n++] = xstrdup(json_string_value(v));
    }
    return 0;
}

static int op_from_name(const char *name, enum lop *op)
{
    if (!name)
        return -1;
    if (!strcmp(name, "In"))
        *op = LOP_IN;
    else if (!strcmp(name, "NotIn"))
        *op = LOP_NOTIN;
    else if (!strcmp(name, "Exists"))
        *op = LOP_EXISTS;
    else if (!strcmp(name, "DoesNotExist"))
        *op = LOP_NOTEXIST;
    else
        return -1;
    return 0;
}

static int from_match_labels(const json_t *ml, struct labelsel *s, char *msg, size_t n)
{
    const char *k;
    json_t *v;

    if (!ml || json_is_null(ml))
        return 0;
    if (!json_is_object(ml)) {
        snprintf(msg, n, "matchLabels: must be an object of strings");
        return -1;
    }
    json_object_foreach((json_t *)ml, k, v)
    {
        char **vals;
        if (!json_is_string(v)) {
            snprintf(msg, n, "matchLabels[%.200s]: must be a string", k);
            return -1;
        }
        vals = xmalloc(sizeof *vals);
        vals[0] = xstrdup(json_string_value(v));
        if (lreq_check(k, LOP_EQ, vals, 1, msg, n)) {
            free(vals[0]);
            free(vals);
            return -1;
        }
        labelsel_add_take(s, xstrdup(k), LOP_EQ, vals, 1);
    }
    return 0;
}

static int from_match_expressions(const json_t *me, struct labelsel *s, char *msg, size_t n)
{
    size_t i;
    json_t *e;

    if (!me || json_is_null(me))
        return 0;
    if (!json_is_array(me)) {
        snprintf(msg, n, "matchExpressions: must be an array");
        return -1;
    }
    json_array_foreach(me, i, e)
    {
        const char *key = jx_str(e, "key"), *opname = jx_str(e, "operator");
        struct vlist vl = {0};
        enum lop op;
        char q[256];

        if (op_from_name(opname, &op)) {
            selector__go_quote(opname ? opname : "", q, sizeof q);
            snprintf(msg, n, "%s is not a valid label selector operator", q);
            return -1;
        }
        if (!key || strings_from_json(json_object_get(e, "values"), &vl)) {
            vlist_free(&vl);
            snprintf(msg, n, "matchExpressions[%zu]: key and values must be strings", i);
            return -1;
        }
        if (lreq_check(key, op, vl.v, vl.n, msg, n)) {
            vlist_free(&vl);
            return -1;
        }
        labelsel_add_take(s, xstrdup(key), op, vl.v, vl.n);
    }
    return 0;
}

int labelsel_from_object(const json_t *sel, struct labelsel **out, struct err *err)
{
    struct labelsel *s = labelsel_new();
    char msg[1024];

    *out = NULL;
    if (!sel || json_is_null(sel)) {
        s->nothing = 1;
        *out = s;
        return 0;
    }
    if (!json_is_object(sel)) {
        labelsel_free(s);
        return err_set(err, -E_BAD_REQUEST, "label selector must be an object");
    }
    if (from_match_labels(json_object_get(sel, "matchLabels"), s, msg, sizeof msg) ||
        from_match_expressions(json_object_get(sel, "matchExpressions"), s, msg, sizeof msg)) {
        labelsel_free(s);
        return err_set(err, -E_BAD_REQUEST, "%s", msg);
    }
    labelsel_sort(s);
    *out = s;
    return 0;
}

/* Causes for one label key under field f (ValidateLabelName). */
static int validate_key(const char *k, const char *f, struct err *err)
{
    struct selector_msgs ms;
    json_t *jv = json_string(k);
    int n = selector__qualified_name_check(k, &ms);

    for (int i = 0; i < n; i++)
        err_field_invalid(err, f, jv, "%s", ms.m[i]);
    json_decref(jv);
    return n;
}

static int validate_value(const json_t *v, const char *f, struct err *err)
{
    struct selector_msgs ms;
    int n;

    if (!json_is_string(v)) {
        err_field_invalid(err, f, v, "must be a string");
        return 1;
    }
    n = selector__label_value_check(json_string_value(v), &ms);
    for (int i = 0; i < n; i++)
        err_field_invalid(err, f, v, "%s", ms.m[i]);
    return n;
}

static int validate_expression(const json_t *e, const char *f, struct err *err)
{
    char fk[640], fv[640], fo[640];
    const json_t *vals = json_object_get(e, "values"), *op = json_object_get(e, "operator");
    const char *ops = json_string_value(op);
    size_t nv = json_is_array(vals) ? json_array_size(vals) : 0, i;
    json_t *v;
    int n = 0;

    snprintf(fk, sizeof fk, "%s.key", f);
    snprintf(fv, sizeof fv, "%s.values", f);
    snprintf(fo, sizeof fo, "%s.operator", f);
    if (ops && (!strcmp(ops, "In") || !strcmp(ops, "NotIn"))) {
        if (nv == 0 && ++n)
            err_field_required(err, fv, "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (ops && (!strcmp(ops, "Exists") || !strcmp(ops, "DoesNotExist"))) {
        if (nv > 0 && ++n)
            err_field_forbidden(err, fv,
                                "may not be specified when `operator` is 'Exists' or "
                                "'DoesNotExist'");
    } else {
        err_field_invalid(err, fo, op, "not a valid selector operator");
        n++;
    }
    if (!json_is_string(json_object_get(e, "key"))) {
        err_field_required(err, fk, NULL);
        n++;
    } else {
        n += validate_key(json_string_value(json_object_get(e, "key")), fk, err);
    }
    json_array_foreach(json_is_array(vals) ? vals : NULL, i, v)
    {
        char fi[680];
        snprintf(fi, sizeof fi, "%s[%zu]", fv, i);
        n += validate_value(v, fi, err);
    }
    return n;
}

int labelsel_validate(const json_t *sel, const char *field, struct err *err)
{
    char f[512];
    const char *k;
    json_t *v, *ml, *me;
    size_t i;
    int n = 0;

    if (!sel || json_is_null(sel))
        return 0;
    if (!json_is_object(sel)) {
        err_field_invalid(err, field, sel, "must be an object");
        return 1;
    }
    ml = json_object_get(sel, "matchLabels");
    me = json_object_get(sel, "matchExpressions");
    snprintf(f, sizeof f, "%s.matchLabels", field);
    if (ml && !json_is_null(ml) && !json_is_object(ml) && ++n)
        err_field_invalid(err, f, ml, "must be an object");
    json_object_foreach(json_is_object(ml) ? ml : NULL, k, v)
    {
        n += validate_key(k, f, err);
        n += validate_value(v, f, err);
    }
    snprintf(f, sizeof f, "%s.matchExpressions", field);
    if (me && !json_is_null(me) && !json_is_array(me) && ++n)
        err_field_invalid(err, f, me, "must be an array");
    json_array_foreach(json_is_array(me) ? me : NULL, i, v)
    {
        char fi[600];
        snprintf(fi, sizeof fi, "%s[%zu]", f, i);
        n += validate_expression(v, fi, err);
    }
    return n;
}

char *labelsel_string(const json_t *sel)
{
    struct labelsel *s;
    struct err err;
    char *out;

    err_init(&err);
    if (labelsel_from_object(sel, &s, &err) < 0) {
        err_release(&err);
        return NULL;
    }
    out = labelsel_format(s);
    labelsel_free(s);
    return out;
}

char *labels_string(const json_t *labels)
{
    size_t n = json_is_object(labels) ? json_object_size(labels) : 0, i = 0;
    const char **keys;
    struct sb b = {0};
    const char *k;
    json_t *v;

    if (n == 0)
        return xstrdup("");
    keys = xmalloc(n * sizeof *keys);
    json_object_foreach((json_t *)labels, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(labels, keys[i]));
        if (i)
            sb_add(&b, ",");
        sb_add(&b, keys[i]);
        sb_add(&b, "=");
        sb_add(&b, val ? val : "");
    }
    free(keys);
    return sb_take(&b);
}
