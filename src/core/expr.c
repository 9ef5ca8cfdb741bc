/* A small expr-lang subset (see expr.h): a recursive-descent parser into a node array, then a
 * tree-walking evaluator over tagged values. Lists and maps stay jansson values (borrowed from
 * result or built by map/filter); numbers keep expr-lang's int/float distinction because
 * Argo's users compare both and `/` always yields a float. */
#include "core/expr.h"
#include "core/expr-int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const expr__fn_names[F_COUNT_] = {
    "len",   "all",    "any",     "none",  "one",   "filter", "map",   "count",
    "sum",   "max",    "min",     "abs",   "ceil",  "floor",  "round", "int",
    "float", "string", "default", "isNil", "isNaN", "isInf",  "asInt", "asFloat",
};

/* ---- parser ---- */

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
    char m[200];
    va_list ap;

    if (ps->failed)
        return -1;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(ps->msg, ps->msz, "%s (at offset %d)", m, (int)(ps->p - ps->src));
    ps->failed = 1;
    return -1;
}

static int node_new(struct parser *ps, int kind)
{
    struct node *nd;

    if (ps->n >= EXPR_MAX_NODES)
        return perr(ps, "expression too large (more than %d nodes)", EXPR_MAX_NODES);
    nd = &ps->nodes[ps->n];
    memset(nd, 0, sizeof *nd);
    nd->kind = (unsigned char)kind;
    nd->a = nd->b = nd->c = nd->next = -1;
    return ps->n++;
}

static void skip_ws(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

/* Consumes punctuation tok when it is next. */
static int accept(struct parser *ps, const char *tok)
{
    size_t n = strlen(tok);

    skip_ws(ps);
    if (strncmp(ps->p, tok, n) != 0)
        return 0;
    ps->p += n;
    return 1;
}

/* Consumes the keyword word when it is next and not the start of a longer identifier. */
static int accept_word(struct parser *ps, const char *word)
{
    size_t n = strlen(word);

    skip_ws(ps);
    if (strncmp(ps->p, word, n) != 0 || isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_')
        return 0;
    ps->p += n;
    return 1;
}

static int expect(struct parser *ps, const char *tok)
{
    if (accept(ps, tok))
        return 0;
    return perr(ps, "expected '%s'", tok);
}

static int ident_len(const char *p)
{
    int n = 0;

    if (!isalpha((unsigned char)*p) && *p != '_' && *p != '$')
        return 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$')
        n++;
    return n;
}

static int parse_expr(struct parser *ps);

static int binary(struct parser *ps, int op, int a, int b)
{
    int i;

    if (a < 0 || b < 0)
        return -1;
    if ((i = node_new(ps, N_BINARY)) < 0)
        return -1;
    ps->nodes[i].op = (unsigned char)op;
    ps->nodes[i].a = a;
    ps->nodes[i].b = b;
    return i;
}

static int parse_number(struct parser *ps)
{
    char buf[64], *end;
    size_t k = 0;
    int isf = 0, i;
    const char *p = ps->p;

    while (k + 1 < sizeof buf &&
           (isdigit((unsigned char)*p) || *p == '_' || *p == '.' || *p == 'e' || *p == 'E' ||
            ((*p == '+' || *p == '-') && k && (p[-1] == 'e' || p[-1] == 'E')))) {
        if (*p == '.' && (p[1] == '.' || isf))
            break;
        if (*p == '.' || *p == 'e' || *p == 'E')
            isf = 1;
        if (*p != '_')
            buf[k++] = *p;
        p++;
    }
    buf[k] = 0;
    if ((i = node_new(ps, N_LIT)) < 0)
        return -1;
    errno = 0;
    if (isf) {
        double d = strtod(buf, &end);
        if (*end || !isfinite(d))
            return perr(ps, "invalid number %s", buf);
        ps->nodes[i].lit = json_real(d);
    } else {
        long long v = strtoll(buf, &end, 10);
        if (*end || errno)
            return perr(ps, "invalid number %s", buf);
        ps->nodes[i].lit = json_integer(v);
    }
    ps->p = p;
    return i;
}

static int parse_string(struct parser *ps)
{
    char q = *ps->p++, *buf = malloc(strlen(ps->p) + 1);
    size_t k = 0;
    int i;

    while (*ps->p && *ps->p != q) {
        char c = *ps->p++;

        if (c == '\\') {
            if (!*ps->p)
                break; /* reported as unterminated below */
            c = *ps->p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case '\\':
            case '\'':
            case '"':
                break;
            default:
                free(buf);
                return perr(ps, "invalid escape in string");
            }
        }
        buf[k++] = c;
    }
    if (*ps->p != q) {
        free(buf);
        return perr(ps, "unterminated string");
    }
    ps->p++;
    buf[k] = 0;
    if ((i = node_new(ps, N_LIT)) >= 0 && !(ps->nodes[i].lit = json_stringn(buf, k)))
        i = perr(ps, "string is not valid UTF-8");
    free(buf);
    return i;
}

/* Comma-separated expressions up to close; returns the first (linked by next) or -1 for an
 * empty list, with *cnt set. Errors leave ps->failed. */
static int parse_args(struct parser *ps, const char *close, int *cnt)
{
    int first = -1, last = -1, e;

    *cnt = 0;
    if (accept(ps, close))
        return -1;
    do {
        if (accept(ps, close)) /* trailing comma */
            return first;
        if ((e = parse_expr(ps)) < 0)
            return -1;
        if (last >= 0)
            ps->nodes[last].next = e;
        else
            first = e;
        last = e;
        (*cnt)++;
    } while (accept(ps, ","));
    expect(ps, close);
    return first;
}

static int parse_call(struct parser *ps, const char *name, int len)
{
    int i, fn = -1, cnt;

    for (int k = 0; k < F_COUNT_; k++)
        if ((int)strlen(expr__fn_names[k]) == len && !strncmp(expr__fn_names[k], name, (size_t)len))
            fn = k;
    if (fn < 0)
        return perr(ps, "unknown function %.*s", len, name);
    if ((i = node_new(ps, N_CALL)) < 0)
        return -1;
    ps->nodes[i].fn = fn;
    ps->nodes[i].a = parse_args(ps, ")", &cnt);
    return ps->failed ? -1 : i;
}

static int parse_member(struct parser *ps, int base, int optional)
{
    int len, i;

    skip_ws(ps);
    if (!(len = ident_len(ps->p)))
        return perr(ps, "expected a field name after '.'");
    if ((i = node_new(ps, N_MEMBER)) < 0)
        return -1;
    ps->nodes[i].a = base;
    ps->nodes[i].optional = (unsigned char)optional;
    ps->nodes[i].lit = json_stringn(ps->p, (size_t)len);
    ps->p += len;
    return i;
}

static int parse_primary(struct parser *ps)
{
    int i, len, cnt;

    skip_ws(ps);
    if (isdigit((unsigned char)*ps->p))
        return parse_number(ps);
    if (*ps->p == '"' || *ps->p == '\'')
        return parse_string(ps);
    if (accept(ps, "(")) {
        i = parse_expr(ps);
        return i < 0 || expect(ps, ")") < 0 ? -1 : i;
    }
    if (accept(ps, "[")) {
        if ((i = node_new(ps, N_LIST)) < 0)
            return -1;
        ps->nodes[i].a = parse_args(ps, "]", &cnt);
        return ps->failed ? -1 : i;
    }
    if (accept(ps, "{")) {
        if ((i = node_new(ps, N_CLOSURE)) < 0)
            return -1;
        ps->nodes[i].a = parse_expr(ps);
        return ps->nodes[i].a < 0 || expect(ps, "}") < 0 ? -1 : i;
    }
    if (accept(ps, "#"))
        return node_new(ps, N_PTR);
    if (*ps->p == '.' && ident_len(ps->p + 1)) { /* {.field} is {#.field} */
        ps->p++;
        if ((i = node_new(ps, N_PTR)) < 0)
            return -1;
        return parse_member(ps, i, 0);
    }
    if (!(len = ident_len(ps->p)))
        return *ps->p ? perr(ps, "unexpected '%c'", *ps->p)
                      : perr(ps, "unexpected end of expression");
    {
        const char *name = ps->p;

        ps->p += len;
        if (accept(ps, "("))
            return parse_call(ps, name, len);
        if ((i = node_new(ps, N_LIT)) < 0)
            return -1;
        if (len == 4 && !strncmp(name, "true", 4))
            ps->nodes[i].lit = json_true();
        else if (len == 5 && !strncmp(name, "false", 5))
            ps->nodes[i].lit = json_false();
        else if (len == 3 && !strncmp(name, "nil", 3))
            ps->nodes[i].lit = json_null();
        else if (len == 6 && !strncmp(name, "result", 6))
            ps->nodes[i].kind = N_RESULT;
        else
            return perr(ps, "unknown name %.*s", len, name);
        return i;
    }
}

static int parse_postfix(struct parser *ps)
{
    int e = parse_primary(ps), i, opt;

    while (e >= 0) {
        skip_ws(ps);
        opt = 0;
        if (accept(ps, "?.")) {
            opt = 1;
            if (!accept(ps, "[")) {
                e = parse_member(ps, e, 1);
                continue;
            }
        } else if (accept(ps, ".")) {
            e = parse_member(ps, e, 0);
            continue;
        } else if (!accept(ps, "[")) {
            break;
        }
        if ((i = node_new(ps, N_INDEX)) < 0)
            return -1;
        ps->nodes[i].a = e;
        ps->nodes[i].optional = (unsigned char)opt;
        if ((ps->nodes[i].b = parse_expr(ps)) < 0 || expect(ps, "]") < 0)
            return -1;
        e = i;
    }
    return e;
}

static int parse_unary(struct parser *ps)
{
    int op = O_NONE, i, e;

    if (++ps->depth > EXPR_MAX_DEPTH)
        return perr(ps, "expression nested too deeply (more than %d levels)", EXPR_MAX_DEPTH);
    skip_ws(ps);
    if (*ps->p == '!' && ps->p[1] != '=') {
        ps->p++;
        op = O_NOT;
    } else if (accept_word(ps, "not")) {
        op = O_NOT;
    } else if (accept(ps, "-")) {
        op = O_NEG;
    } else if (accept(ps, "+")) {
        op = O_POS;
    }
    if (op != O_NONE) {
        if ((e = parse_unary(ps)) < 0 || (i = node_new(ps, N_UNARY)) < 0)
            return -1;
        ps->nodes[i].op = (unsigned char)op;
        ps->nodes[i].a = e;
    } else {
        i = parse_postfix(ps);
        if (i >= 0 && (accept(ps, "**") || accept(ps, "^")))
            i = binary(ps, O_POW, i, parse_unary(ps));
    }
    ps->depth--;
    return i;
}

static int parse_mul(struct parser *ps)
{
    int e = parse_unary(ps);

    while (e >= 0) {
        skip_ws(ps);
        if (*ps->p == '*' && ps->p[1] != '*')
            ps->p++, e = binary(ps, O_MUL, e, parse_unary(ps));
        else if (accept(ps, "/"))
            e = binary(ps, O_DIV, e, parse_unary(ps));
        else if (accept(ps, "%"))
            e = binary(ps, O_MOD, e, parse_unary(ps));
        else
            break;
    }
    return e;
}

static int parse_add(struct parser *ps)
{
    int e = parse_mul(ps);

    while (e >= 0) {
        if (accept(ps, "+"))
            e = binary(ps, O_ADD, e, parse_mul(ps));
        else if (accept(ps, "-"))
            e = binary(ps, O_SUB, e, parse_mul(ps));
        else
            break;
    }
    return e;
}

static int parse_cmp(struct parser *ps)
{
    static const struct {
        const char *tok;
        int op, word;
    } ops[] = {
        {"==", O_EQ, 0},
        {"!=", O_NE, 0},
        {"<=", O_LE, 0},
        {">=", O_GE, 0},
        {"<", O_LT, 0},
        {">", O_GT, 0},
        {"in", O_IN, 1},
        {"contains", O_CONTAINS, 1},
        {"startsWith", O_STARTS, 1},
        {"endsWith", O_ENDS, 1},
        {"matches", O_MATCHES, 1},
    };
    int e = parse_add(ps), found;

    while (e >= 0) {
        const char *save = ps->p;

        found = 0;
        if (accept_word(ps, "not")) {
            if (!accept_word(ps, "in")) {
                ps->p = save;
                break;
            }
            e = binary(ps, O_NOTIN, e, parse_add(ps));
            continue;
        }
        for (size_t k = 0; k < sizeof ops / sizeof ops[0] && !found; k++)
            if (ops[k].word ? accept_word(ps, ops[k].tok) : accept(ps, ops[k].tok)) {
                e = binary(ps, ops[k].op, e, parse_add(ps));
                found = 1;
            }
        if (!found)
            break;
    }
    return e;
}

static int parse_and(struct parser *ps)
{
    int e = parse_cmp(ps);

    while (e >= 0 && (accept(ps, "&&") || accept_word(ps, "and")))
        e = binary(ps, O_AND, e, parse_cmp(ps));
    return e;
}

static int parse_or(struct parser *ps)
{
    int e = parse_and(ps);

    while (e >= 0 && (accept(ps, "||") || accept_word(ps, "or")))
        e = binary(ps, O_OR, e, parse_and(ps));
    return e;
}

static int parse_expr(struct parser *ps)
{
    int c, i;

    if (++ps->depth > EXPR_MAX_DEPTH)
        return perr(ps, "expression nested too deeply (more than %d levels)", EXPR_MAX_DEPTH);
    c = parse_or(ps);
    while (c >= 0 && accept(ps, "??"))
        c = binary(ps, O_COAL, c, parse_or(ps));
    skip_ws(ps);
    if (c >= 0 && *ps->p == '?' && ps->p[1] != '.' && ps->p[1] != '?') {
        ps->p++;
        if ((i = node_new(ps, N_TERNARY)) < 0)
            return -1;
        ps->nodes[i].a = c;
        if ((ps->nodes[i].b = parse_expr(ps)) < 0 || expect(ps, ":") < 0 ||
            (ps->nodes[i].c = parse_expr(ps)) < 0)
            return -1;
        c = i;
    }
    ps->depth--;
    return c;
}

void expr__release(struct parser *ps)
{
    for (int i = 0; i < ps->n; i++)
        json_decref(ps->nodes[i].lit);
}

int expr__parse(struct parser *ps, const char *src, char *msg, size_t n)
{
    int root;

    memset(ps, 0, sizeof *ps);
    ps->src = ps->p = src ? src : "";
    ps->msg = msg;
    ps->msz = n;
    if (n)
        msg[0] = 0;
    if (strlen(ps->src) > EXPR_MAX_LEN)
        return perr(ps, "expression longer than %d bytes", EXPR_MAX_LEN);
    root = parse_expr(ps);
    skip_ws(ps);
    if (root >= 0 && *ps->p)
        return perr(ps, "unexpected '%c'", *ps->p);
    return ps->failed ? -1 : root;
}

int expr_check(const char *src, char *msg, size_t n)
{
    struct parser *ps = malloc(sizeof *ps);
    int rc = expr__parse(ps, src, msg, n) < 0 ? -1 : 0;

    expr__release(ps);
    free(ps);
    return rc;
}
