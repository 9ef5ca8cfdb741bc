/* Evaluation of a parsed expression (expr-int.h) over tagged values. Values own a reference
 * to their jansson string, list or map; val_release drops it. Type errors are worded as
 * expr-lang words them ("invalid operation: < (mismatched types string and float64)"). */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr-int.h"
#include "core/expr.h"

enum vt { V_NIL, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_MAP };

struct val {
    enum vt t;
    int b;
    long long i;
    double f;
    json_t *j; /* V_STR, V_LIST, V_MAP: owned reference */
};

struct ev {
    struct parser *ps;
    const json_t *result;
    unsigned flags;
    struct val ptr; /* `#` inside a predicate (borrowed) */
    int have_ptr;
    long steps;
    char *msg;
    size_t msz;
};

static int everr(struct ev *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int everr(struct ev *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->msg, x->msz, fmt, ap);
    va_end(ap);
    return -1;
}

static void val_release(struct val *v)
{
    json_decref(v->j);
    v->j = NULL;
    v->t = V_NIL;
}

static struct val vnil(void)
{
    return (struct val){.t = V_NIL};
}
static struct val vbool(int b)
{
    return (struct val){.t = V_BOOL, .b = !!b};
}
static struct val vint(long long i)
{
    return (struct val){.t = V_INT, .i = i};
}
static struct val vfloat(double f)
{
    return (struct val){.t = V_FLOAT, .f = f};
}

/* A value from JSON (borrowed j; the value takes its own reference). */
static struct val from_json(const json_t *j, unsigned flags)
{
    const char *s;

    switch (json_typeof(j)) {
    case JSON_TRUE:
        return vbool(1);
    case JSON_FALSE:
        return vbool(0);
    case JSON_INTEGER:
        return vint(json_integer_value(j));
    case JSON_REAL:
        return vfloat(json_real_value(j));
    case JSON_STRING:
        s = json_string_value(j);
        if (flags & EXPR_NUMERIC_STRINGS) {
            if (!strcmp(s, "NaN"))
                return vfloat(NAN);
            if (!strcmp(s, "+Inf") || !strcmp(s, "Inf"))
                return vfloat(INFINITY);
            if (!strcmp(s, "-Inf"))
                return vfloat(-INFINITY);
        }
        return (struct val){.t = V_STR, .j = json_incref((json_t *)j)};
    case JSON_ARRAY:
        return (struct val){.t = V_LIST, .j = json_incref((json_t *)j)};
    case JSON_OBJECT:
        return (struct val){.t = V_MAP, .j = json_incref((json_t *)j)};
    default:
        return vnil();
    }
}

/* A new JSON reference for v (NaN and infinities as strings: JSON cannot hold them). */
static json_t *to_json(const struct val *v)
{
    switch (v->t) {
    case V_BOOL:
        return json_boolean(v->b);
    case V_INT:
        return json_integer(v->i);
    case V_FLOAT:
        if (isnan(v->f))
            return json_string("NaN");
        if (isinf(v->f))
            return json_string(v->f > 0 ? "+Inf" : "-Inf");
        return json_real(v->f);
    case V_STR:
    case V_LIST:
    case V_MAP:
        return json_incref(v->j);
    default:
        return json_null();
    }
}

static const char *type_name(const struct val *v)
{
    static const char *const names[] = {
        "<nil>", "bool", "int", "float64", "string", "[]interface {}", "map[string]interface {}"};
    return names[v->t];
}

static int is_num(const struct val *v)
{
    return v->t == V_INT || v->t == V_FLOAT;
}

static double num(const struct val *v)
{
    return v->t == V_INT ? (double)v->i : v->f;
}

/* Go's %v of a float64: the shortest form that reads back the same. */
static void fmt_float(double f, char *buf, size_t n)
{
    if (isnan(f)) {
        snprintf(buf, n, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, n, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            return;
    }
}

static int equal(const struct val *a, const struct val *b)
{
    if (is_num(a) && is_num(b))
        return a->t == V_INT && b->t == V_INT ? a->i == b->i : num(a) == num(b);
    if (a->t != b->t)
        return 0;
    switch (a->t) {
    case V_NIL:
        return 1;
    case V_BOOL:
        return a->b == b->b;
    default:
        return json_equal(a->j, b->j);
    }
}

static int ev(struct ev *x, int node, struct val *out);

static int ev_bool(struct ev *x, int node, const char *op, int *b)
{
    struct val v;

    if (ev(x, node, &v) < 0)
        return -1;
    if (v.t != V_BOOL) {
        everr(x, "invalid operation: %s (mismatched types %s and bool)", op, type_name(&v));
        val_release(&v);
        return -1;
    }
    *b = v.b;
    return 0;
}

static int arith(struct ev *x, int op, struct val *a, struct val *b, struct val *out)
{
    static const char *const sym[] = {
        [O_ADD] = "+", [O_SUB] = "-", [O_MUL] = "*", [O_DIV] = "/", [O_MOD] = "%", [O_POW] = "**"};
    long long r;

    if (op == O_ADD && a->t == V_STR && b->t == V_STR) {
        size_t la = json_string_length(a->j), lb = json_string_length(b->j);
        char *s;

        if (la + lb > EXPR_MAX_STR)
            return everr(x, "string longer than %d bytes", EXPR_MAX_STR);
        s = malloc(la + lb + 1);
        memcpy(s, json_string_value(a->j), la);
        memcpy(s + la, json_string_value(b->j), lb);
        *out = (struct val){.t = V_STR, .j = json_stringn_nocheck(s, la + lb)};
        free(s);
        return 0;
    }
    if (!is_num(a) || !is_num(b))
        return everr(x, "invalid operation: %s (mismatched types %s and %s)", sym[op], type_name(a),
                     type_name(b));
    if (a->t == V_INT && b->t == V_INT) {
        if ((op == O_ADD && !__builtin_add_overflow(a->i, b->i, &r)) ||
            (op == O_SUB && !__builtin_sub_overflow(a->i, b->i, &r)) ||
            (op == O_MUL && !__builtin_mul_overflow(a->i, b->i, &r))) {
            *out = vint(r);
            return 0;
        }
        if (op == O_MOD) {
            if (b->i == 0)
                return everr(x, "integer divide by zero");
            *out = vint(b->i == -1 ? 0 : a->i % b->i);
            return 0;
        }
    }
    switch (op) {
    case O_ADD:
        *out = vfloat(num(a) + num(b));
        break;
    case O_SUB:
        *out = vfloat(num(a) - num(b));
        break;
    case O_MUL:
        *out = vfloat(num(a) * num(b));
        break;
    case O_DIV:
        *out = vfloat(num(a) / num(b));
        break;
    case O_POW:
        *out = vfloat(pow(num(a), num(b)));
        break;
    default:
        return everr(x, "invalid operation: %% (mismatched types %s and %s)", type_name(a),
                     type_name(b));
    }
    return 0;
}

static int compare(struct ev *x, int op, struct val *a, struct val *b, struct val *out)
{
    static const char *const sym[] = {[O_LT] = "<", [O_LE] = "<=", [O_GT] = ">", [O_GE] = ">="};
    int c;

    if (is_num(a) && is_num(b)) {
        double p = num(a), q = num(b);

        if (a->t == V_INT && b->t == V_INT)
            c = a->i < b->i ? -1 : a->i > b->i;
        else if (p < q)
            c = -1;
        else if (p > q)
            c = 1;
        else if (p == q)
            c = 0;
        else { /* NaN: every comparison is false */
            *out = vbool(0);
            return 0;
        }
    } else if (a->t == V_STR && b->t == V_STR) {
        c = strcmp(json_string_value(a->j), json_string_value(b->j));
    } else {
        return everr(x, "invalid operation: %s (mismatched types %s and %s)", sym[op], type_name(a),
                     type_name(b));
    }
    *out = vbool(op == O_LT ? c < 0 : op == O_LE ? c <= 0 : op == O_GT ? c > 0 : c >= 0);
    return 0;
}

static int membership(struct ev *x, struct val *a, struct val *b, int *in)
{
    size_t i;
    json_t *e;

    *in = 0;
    if (b->t == V_MAP) {
        if (a->t != V_STR)
            return everr(x, "cannot use %s as a key of a map", type_name(a));
        *in = json_object_get(b->j, json_string_value(a->j)) != NULL;
        return 0;
    }
    if (b->t != V_LIST)
        return everr(x, "operator in not defined on %s", type_name(b));
    json_array_foreach(b->j, i, e)
    {
        struct val v = from_json(e, x->flags);

        *in = equal(a, &v);
        val_release(&v);
        if (*in)
            break;
    }
    return 0;
}

static int strop(struct ev *x, int op, struct val *a, struct val *b, struct val *out)
{
    const char *s, *t;
    size_t ls, lt;

    if (a->t != V_STR || b->t != V_STR)
        return everr(x, "invalid operation: %s (mismatched types %s and %s)",
                     op == O_CONTAINS ? "contains"
                     : op == O_STARTS ? "startsWith"
                     : op == O_ENDS   ? "endsWith"
                                      : "matches",
                     type_name(a), type_name(b));
    s = json_string_value(a->j), t = json_string_value(b->j);
    ls = json_string_length(a->j), lt = json_string_length(b->j);
    if (op == O_MATCHES) { /* POSIX extended regex: Go's RE2 syntax for common patterns */
        regex_t re;
        int rc, braces = 0;

        /* Bounded repetitions multiply the compiled size: at most two, of at most 100. */
        for (const char *q = t; *q; q++)
            if (*q == '{' && (++braces > 2 || strtol(q + 1, NULL, 10) > 100 ||
                              (strchr(q, ',') && strtol(strchr(q, ',') + 1, NULL, 10) > 100)))
                return everr(x, "error parsing regexp: repetition too large: `%.100s`", t);
        if (lt > 256)
            return everr(x, "error parsing regexp: pattern longer than 256 bytes");
        rc = regcomp(&re, t, REG_EXTENDED | REG_NOSUB);

        if (rc != 0) {
            char m[128];

            regerror(rc, &re, m, sizeof m);
            regfree(&re);
            return everr(x, "error parsing regexp: %s: `%s`", m, t);
        }
        *out = vbool(regexec(&re, s, 0, NULL, 0) == 0);
        regfree(&re);
    } else if (op == O_CONTAINS)
        *out = vbool(strstr(s, t) != NULL);
    else if (op == O_STARTS)
        *out = vbool(ls >= lt && !memcmp(s, t, lt));
    else
        *out = vbool(ls >= lt && !memcmp(s + ls - lt, t, lt));
    return 0;
}

static int ev_binary(struct ev *x, const struct node *nd, struct val *out)
{
    struct val a, b;
    int rc = 0, in, l;

    if (nd->op == O_AND || nd->op == O_OR) {
        if (ev_bool(x, nd->a, nd->op == O_AND ? "&&" : "||", &l) < 0)
            return -1;
        if (l == (nd->op == O_OR)) {
            *out = vbool(l);
            return 0;
        }
        if (ev_bool(x, nd->b, nd->op == O_AND ? "&&" : "||", &l) < 0)
            return -1;
        *out = vbool(l);
        return 0;
    }
    if (ev(x, nd->a, &a) < 0)
        return -1;
    if (nd->op == O_COAL && a.t != V_NIL) {
        *out = a;
        return 0;
    }
    if (ev(x, nd->b, &b) < 0) {
        val_release(&a);
        return -1;
    }
    switch (nd->op) {
    case O_COAL:
        *out = b, b = vnil();
        break;
    case O_EQ:
        *out = vbool(equal(&a, &b));
        break;
    case O_NE:
        *out = vbool(!equal(&a, &b));
        break;
    case O_LT:
    case O_LE:
    case O_GT:
    case O_GE:
        rc = compare(x, nd->op, &a, &b, out);
        break;
    case O_IN:
    case O_NOTIN:
        if ((rc = membership(x, &a, &b, &in)) == 0)
            *out = vbool(nd->op == O_IN ? in : !in);
        break;
    case O_CONTAINS:
    case O_STARTS:
    case O_ENDS:
    case O_MATCHES:
        rc = strop(x, nd->op, &a, &b, out);
        break;
    default:
        rc = arith(x, nd->op, &a, &b, out);
        break;
    }
    val_release(&a);
    val_release(&b);
    return rc;
}

static int ev_unary(struct ev *x, const struct node *nd, struct val *out)
{
    struct val a;

    if (nd->op == O_NOT) {
        int b;

        if (ev_bool(x, nd->a, "!", &b) < 0)
            return -1;
        *out = vbool(!b);
        return 0;
    }
    if (ev(x, nd->a, &a) < 0)
        return -1;
    if (!is_num(&a)) {
        everr(x, "invalid operation: %s %s", nd->op == O_NEG ? "-" : "+", type_name(&a));
        val_release(&a);
        return -1;
    }
    *out = nd->op == O_POS ? a : a.t == V_INT ? vint(-a.i) : vfloat(-a.f);
    return 0;
}

static int ev_access(struct ev *x, const struct node *nd, struct val *out)
{
    struct val base, key = vnil();
    int rc = 0;

    if (ev(x, nd->a, &base) < 0)
        return -1;
    if (nd->kind == N_MEMBER)
        key = from_json(nd->lit, 0);
    else if (ev(x, nd->b, &key) < 0)
        goto fail;
    *out = vnil();
    if (base.t == V_NIL) {
        if (!nd->optional)
            rc = everr(x, "cannot fetch %s from <nil>",
                       key.t == V_STR ? json_string_value(key.j) : "an index");
    } else if (base.t == V_MAP && key.t == V_STR) {
        json_t *v = json_object_get(base.j, json_string_value(key.j));

        *out = v ? from_json(v, x->flags) : vnil();
    } else if (base.t == V_LIST && key.t == V_INT) {
        long long n = (long long)json_array_size(base.j), i = key.i < 0 ? key.i + n : key.i;

        if (i < 0 || i >= n)
            rc = everr(x, "index out of range: %lld (array length is %lld)", key.i, n);
        else
            *out = from_json(json_array_get(base.j, (size_t)i), x->flags);
    } else {
        rc = everr(x, "cannot fetch %s from %s", type_name(&key), type_name(&base));
    }
    val_release(&base);
    val_release(&key);
    return rc;
fail:
    val_release(&base);
    return -1;
}

static int ev_list(struct ev *x, const struct node *nd, struct val *out)
{
    json_t *arr = json_array();

    for (int a = nd->a; a >= 0; a = x->ps->nodes[a].next) {
        struct val v;

        if (ev(x, a, &v) < 0) {
            json_decref(arr);
            return -1;
        }
        json_array_append_new(arr, to_json(&v));
        val_release(&v);
    }
    *out = (struct val){.t = V_LIST, .j = arr};
    return 0;
}

static int ev_call(struct ev *x, const struct node *nd, struct val *out);

static int ev(struct ev *x, int node, struct val *out)
{
    const struct node *nd = &x->ps->nodes[node];

    if (++x->steps > EXPR_MAX_STEPS)
        return everr(x, "evaluation takes more than %d steps", EXPR_MAX_STEPS);
    switch (nd->kind) {
    case N_LIT:
        *out = from_json(nd->lit, 0);
        return 0;
    case N_RESULT:
        *out = x->result ? from_json(x->result, x->flags) : vnil();
        return 0;
    case N_PTR:
        if (!x->have_ptr)
            return everr(x, "# is only defined inside a predicate such as all(list, {# > 0})");
        *out = x->ptr;
        if (out->j)
            json_incref(out->j);
        return 0;
    case N_UNARY:
        return ev_unary(x, nd, out);
    case N_BINARY:
        return ev_binary(x, nd, out);
    case N_TERNARY: {
        int c;

        if (ev_bool(x, nd->a, "?:", &c) < 0)
            return -1;
        return ev(x, c ? nd->b : nd->c, out);
    }
    case N_MEMBER:
    case N_INDEX:
        return ev_access(x, nd, out);
    case N_LIST:
        return ev_list(x, nd, out);
    case N_CALL:
        return ev_call(x, nd, out);
    default:
        return everr(x, "a predicate {...} is only allowed as an argument of all, any, ...");
    }
}

/* ---- functions ---- */

#define MAX_ARGS 4

static void release_args(struct val *av, int na)
{
    for (int k = 0; k < na; k++)
        val_release(&av[k]);
}

/* Evaluates a call's arguments except predicates (left unevaluated: their body in pred[]). */
static int call_args(struct ev *x, const struct node *nd, struct val *av, int *pred, int *na)
{
    *na = 0;
    for (int a = nd->a; a >= 0; a = x->ps->nodes[a].next) {
        if (*na == MAX_ARGS) {
            release_args(av, *na);
            return everr(x, "too many arguments to %s", expr__fn_names[nd->fn]);
        }
        pred[*na] = x->ps->nodes[a].kind == N_CLOSURE ? x->ps->nodes[a].a : -1;
        if (*na == 1 && nd->fn >= F_ALL && nd->fn <= F_COUNT && pred[1] < 0)
            pred[1] = a; /* expr-lang also takes all(list, # > 0) without braces */
        av[*na] = vnil();
        if (pred[*na] < 0 && ev(x, a, &av[*na]) < 0) {
            release_args(av, *na);
            return -1;
        }
        (*na)++;
    }
    return 0;
}

/* all, any, none, one, filter, map, count over list with predicate body p. */
static int call_pred(struct ev *x, int fn, const struct val *list, int p, struct val *out)
{
    struct val saved = x->ptr, r;
    int had = x->have_ptr, hits = 0, all_ok = 1, rc = 0;
    json_t *acc = json_array(), *e;
    size_t i;

    if (list->t != V_LIST && list->t != V_NIL) {
        json_decref(acc);
        return everr(x, "%s: cannot iterate over %s", expr__fn_names[fn], type_name(list));
    }
    x->have_ptr = 1;
    json_array_foreach(list->t == V_LIST ? list->j : NULL, i, e)
    {
        struct val el = from_json(e, x->flags);

        x->ptr = el;
        if ((rc = ev(x, p, &r)) == 0) {
            if (fn == F_MAP) {
                json_array_append_new(acc, to_json(&r));
            } else if (r.t != V_BOOL) {
                rc = everr(x, "predicate should return boolean (got %s)", type_name(&r));
            } else if (r.b) {
                hits++;
                if (fn == F_FILTER)
                    json_array_append_new(acc, to_json(&el));
            } else {
                all_ok = 0;
            }
            val_release(&r);
        }
        val_release(&el);
        if (rc < 0 || (fn == F_ALL && !all_ok) || (fn == F_ANY && hits))
            break;
    }
    x->ptr = saved;
    x->have_ptr = had;
    if (rc == 0) {
        switch (fn) {
        case F_ALL:
            *out = vbool(all_ok);
            break;
        case F_ANY:
            *out = vbool(hits > 0);
            break;
        case F_NONE:
            *out = vbool(hits == 0);
            break;
        case F_ONE:
            *out = vbool(hits == 1);
            break;
        case F_COUNT:
            *out = vint(hits);
            break;
        default:
            *out = (struct val){.t = V_LIST, .j = json_incref(acc)};
            break;
        }
    }
    json_decref(acc);
    return rc;
}

/* sum, max, min over a list or the arguments. */
static int call_fold(struct ev *x, int fn, struct val *av, int na, struct val *out)
{
    struct val acc = fn == F_SUM ? vint(0) : vnil(), el;
    json_t *e;
    size_t i, n = na == 1 && av[0].t == V_LIST ? json_array_size(av[0].j) : (size_t)na;

    if (fn == F_SUM && !(na == 1 && av[0].t == V_LIST))
        return everr(x, "sum: expected a list");
    for (i = 0; i < n; i++) {
        e = na == 1 && av[0].t == V_LIST ? json_array_get(av[0].j, i) : NULL;
        el = e ? from_json(e, x->flags) : av[i];
        if (!is_num(&el)) {
            everr(x, "%s: invalid argument %s", expr__fn_names[fn], type_name(&el));
            if (e)
                val_release(&el);
            return -1;
        }
        if (fn == F_SUM)
            arith(x, O_ADD, &acc, &el, &acc);
        else if (acc.t == V_NIL || (fn == F_MAX ? num(&el) > num(&acc) : num(&el) < num(&acc)))
            acc = (struct val){.t = el.t, .i = el.i, .f = el.f};
        if (e)
            val_release(&el);
    }
    if (acc.t == V_NIL && fn != F_SUM)
        return everr(x, "%s: no values", expr__fn_names[fn]);
    *out = acc;
    return 0;
}

/* int, float, asInt, asFloat: numbers and numeric strings. */
static int call_conv(struct ev *x, int fn, const struct val *a, struct val *out)
{
    int to_int = fn == F_INT || fn == F_ASINT;
    char *end;

    if (a->t == V_INT) {
        *out = to_int ? vint(a->i) : vfloat((double)a->i);
    } else if (a->t == V_FLOAT) {
        if (to_int && !isfinite(a->f))
            return everr(x, "%s: cannot convert %g to int", expr__fn_names[fn], a->f);
        *out = to_int ? vint((long long)a->f) : vfloat(a->f);
    } else if (a->t == V_STR) {
        const char *s = json_string_value(a->j);

        if (to_int) {
            long long v = strtoll(s, &end, 10);
            if (!*s || *end)
                return everr(x, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
            *out = vint(v);
        } else {
            double v = strtod(s, &end);
            if (!*s || *end)
                return everr(x, "strconv.ParseFloat: parsing \"%s\": invalid syntax", s);
            *out = vfloat(v);
        }
    } else {
        return everr(x, "%s() not supported on %s", expr__fn_names[fn], type_name(a));
    }
    return 0;
}

static int call_string(struct ev *x, const struct val *a, struct val *out)
{
    char buf[64];
    char *s;

    switch (a->t) {
    case V_NIL:
        snprintf(buf, sizeof buf, "<nil>");
        break;
    case V_BOOL:
        snprintf(buf, sizeof buf, "%s", a->b ? "true" : "false");
        break;
    case V_INT:
        snprintf(buf, sizeof buf, "%lld", a->i);
        break;
    case V_FLOAT:
        fmt_float(a->f, buf, sizeof buf);
        break;
    case V_STR:
        *out = *a, out->j = json_incref(a->j);
        return 0;
    default:
        s = json_dumps(a->j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s || strlen(s) > EXPR_MAX_STR) {
            free(s);
            return everr(x, "string longer than %d bytes", EXPR_MAX_STR);
        }
        *out = (struct val){.t = V_STR, .j = json_string(s)};
        free(s);
        return 0;
    }
    *out = (struct val){.t = V_STR, .j = json_string(buf)};
    return 0;
}

/* One-argument numeric and type tests: abs ceil floor round isNaN isInf isNil len. */
static int call_one(struct ev *x, int fn, const struct val *a, struct val *out)
{
    if (fn == F_ISNIL) {
        *out = vbool(a->t == V_NIL);
        return 0;
    }
    if (fn == F_LEN) {
        if (a->t == V_STR) {
            const unsigned char *s = (const unsigned char *)json_string_value(a->j);
            long long n = 0;

            for (; *s; s++) /* runes, as Go's len on a string in expr counts them */
                n += (*s & 0xC0) != 0x80;
            *out = vint(n);
        } else if (a->t == V_LIST || a->t == V_MAP) {
            *out =
                vint((long long)(a->t == V_LIST ? json_array_size(a->j) : json_object_size(a->j)));
        } else {
            return everr(x, "invalid argument for len (type %s)", type_name(a));
        }
        return 0;
    }
    if (!is_num(a))
        return everr(x, "%s: invalid argument %s (expected a number)", expr__fn_names[fn],
                     type_name(a));
    switch (fn) {
    case F_ABS:
        *out = a->t == V_INT ? vint(a->i < 0 ? -a->i : a->i) : vfloat(fabs(a->f));
        break;
    case F_CEIL:
        *out = vfloat(ceil(num(a)));
        break;
    case F_FLOOR:
        *out = vfloat(floor(num(a)));
        break;
    case F_ROUND:
        *out = vfloat(round(num(a)));
        break;
    case F_ISNAN:
        *out = vbool(a->t == V_FLOAT && isnan(a->f));
        break;
    default:
        *out = vbool(a->t == V_FLOAT && isinf(a->f));
        break;
    }
    return 0;
}

static int ev_call(struct ev *x, const struct node *nd, struct val *out)
{
    static const signed char arity[F_COUNT_] = {
        [F_LEN] = 1,    [F_ALL] = 2,   [F_ANY] = 2,    [F_NONE] = 2,    [F_ONE] = 2,
        [F_FILTER] = 2, [F_MAP] = 2,   [F_COUNT] = 2,  [F_SUM] = 1,     [F_MAX] = -1,
        [F_MIN] = -1,   [F_ABS] = 1,   [F_CEIL] = 1,   [F_FLOOR] = 1,   [F_ROUND] = 1,
        [F_INT] = 1,    [F_FLOAT] = 1, [F_STRING] = 1, [F_DEFAULT] = 2, [F_ISNIL] = 1,
        [F_ISNAN] = 1,  [F_ISINF] = 1, [F_ASINT] = 1,  [F_ASFLOAT] = 1,
    };
    struct val av[MAX_ARGS];
    int pred[MAX_ARGS], na, rc, fn = nd->fn, is_pred = fn >= F_ALL && fn <= F_COUNT;

    if (call_args(x, nd, av, pred, &na) < 0)
        return -1;
    if ((arity[fn] > 0 && na != arity[fn]) || (arity[fn] < 0 && na < 1)) {
        rc = everr(x, "%s: wrong number of arguments (%d)", expr__fn_names[fn], na);
    } else if (is_pred != (pred[na - 1] >= 0) || (na > 1 && pred[0] >= 0)) {
        rc = everr(x,
                   is_pred ? "%s: the second argument must be a predicate such as {# > 0}"
                           : "%s: a predicate {...} is not allowed here",
                   expr__fn_names[fn]);
    } else if (is_pred) {
        rc = call_pred(x, fn, &av[0], pred[1], out);
    } else if (fn == F_SUM || fn == F_MAX || fn == F_MIN) {
        rc = call_fold(x, fn, av, na, out);
    } else if (fn == F_DEFAULT) {
        *out = av[0].t == V_NIL ? av[1] : av[0];
        if (out->j)
            json_incref(out->j);
        rc = 0;
    } else if (fn == F_INT || fn == F_FLOAT || fn == F_ASINT || fn == F_ASFLOAT) {
        rc = call_conv(x, fn, &av[0], out);
    } else if (fn == F_STRING) {
        rc = call_string(x, &av[0], out);
    } else {
        rc = call_one(x, fn, &av[0], out);
    }
    release_args(av, na);
    return rc;
}

int expr_eval(const char *src, const json_t *result, unsigned flags, json_t **out, char *msg,
              size_t n)
{
    struct parser *ps = malloc(sizeof *ps);
    struct ev x = {.ps = ps, .result = result, .flags = flags, .msg = msg, .msz = n};
    struct val v;
    int root = expr__parse(ps, src, msg, n), rc = -1;

    *out = NULL;
    if (root >= 0 && ev(&x, root, &v) == 0) {
        *out = to_json(&v);
        val_release(&v);
        rc = 0;
    }
    expr__release(ps);
    free(ps);
    return rc;
}

int expr_eval_bool(const char *src, const json_t *result, unsigned flags, char *msg, size_t n)
{
    struct parser *ps = malloc(sizeof *ps);
    struct ev x = {.ps = ps, .result = result, .flags = flags, .msg = msg, .msz = n};
    struct val v;
    int root = expr__parse(ps, src, msg, n), rc = -1;

    if (root >= 0 && ev(&x, root, &v) == 0) {
        if (v.t == V_BOOL)
            rc = v.b;
        else
            everr(&x, "expected bool, but got %s", type_name(&v));
        val_release(&v);
    }
    expr__release(ps);
    free(ps);
    return rc;
}
