/* Field selectors (the fieldSelector query parameter) as fields.ParseSelector parses them,
 * matched against the values the apiserver's selectable field sets render. Which fields a kind
 * can select on is its kind_ops entry's field_selectors list. Every input is hostile: no
 * recursion, every term bounded by the query's length. */
#include "core/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

struct fterm {
    char *field;
    char *value;
    int neg;
};

struct fieldsel {
    size_t n;
    struct fterm *t;
};

void fieldsel_free(struct fieldsel *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->t[i].field);
        free(s->t[i].value);
    }
    free(s->t);
    free(s);
}

/* fields.UnescapeValue: "\\", "\," and "\=" are the only escapes; a bare ',' or
 * '=' is an error. The rune is printed as its number, as upstream's %v of a
 * rune does. */
static int field_unescape(const char *s, char **out, struct err *err)
{
    char *v = xmalloc(strlen(s) + 1), *o = v;

    for (; *s; s++) {
        if (*s == '\\') {
            if (s[1] != '\\' && s[1] != ',' && s[1] != '=') {
                if (!s[1])
                    err_set(err, -E_BAD_REQUEST,
                            "invalid field selector: invalid escape sequence: \\");
                else
                    err_set(err, -E_BAD_REQUEST,
                            "invalid field selector: invalid escape sequence: \\%c", s[1]);
                free(v);
                return -E_BAD_REQUEST;
            }
            *o++ = *++s;
        } else if (*s == ',' || *s == '=') {
            free(v);
            return err_set(err, -E_BAD_REQUEST,
                           "invalid field selector: unescaped character in value: %d", *s);
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    *out = v;
    return 0;
}

/* Splits one "lhs op rhs" term at the first operator, trying "!=", "==", "=" at
 * each offset. */
static int field_term_add(struct fieldsel *fs, const char *whole, const char *term, struct err *err)
{
    static const char *const ops[] = {"!=", "==", "="};
    char *value = NULL;

    for (size_t i = 0; term[i]; i++) {
        for (int o = 0; o < 3; o++) {
            size_t ol = strlen(ops[o]);
            if (strncmp(term + i, ops[o], ol) != 0)
                continue;
            if (field_unescape(term + i + ol, &value, err) < 0)
                return -E_BAD_REQUEST;
            fs->t = xrealloc(fs->t, (fs->n + 1) * sizeof *fs->t);
            fs->t[fs->n].field = xmalloc(i + 1);
            memcpy(fs->t[fs->n].field, term, i);
            fs->t[fs->n].field[i] = 0;
            fs->t[fs->n].value = value;
            fs->t[fs->n].neg = o == 0;
            fs->n++;
            return 0;
        }
    }
    return err_set(err, -E_BAD_REQUEST, "invalid selector: '%.400s'; can't understand '%.400s'",
                   whole, term);
}

int fieldsel_parse(const char *s, struct fieldsel **out, struct err *err)
{
    struct fieldsel *fs = xcalloc(1, sizeof *fs);
    size_t len = s ? strlen(s) : 0, start = 0;
    char *term = xmalloc(len + 1);
    int in_slash = 0, rc = 0;

    *out = NULL;
    /* Terms split at commas not preceded by a backslash (fields.splitTerms). */
    for (size_t i = 0; i <= len && rc == 0; i++) {
        if (i < len) {
            if (in_slash) {
                in_slash = 0;
                continue;
            }
            if (s[i] == '\\')
                in_slash = 1;
            if (s[i] != ',')
                continue;
        }
        memcpy(term, s + start, i - start);
        term[i - start] = 0;
        start = i + 1;
        if (term[0])
            rc = field_term_add(fs, s, term, err);
    }
    free(term);
    if (rc < 0) {
        fieldsel_free(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

int fieldsel_empty(const struct fieldsel *s)
{
    return !s || s->n == 0;
}

/* The value of a selectable field as the apiserver's field set renders it. buf
 * holds numbers. */
static const char *field_value(const json_t *obj, const char *field, char *buf, size_t n)
{
    json_t *v;

    if (!strcmp(field, "source"))
        field = "source.component";
    if (!strcmp(field, "status.podIP")) {
        const char *ip = jx_str(json_array_get(jx_get(obj, "status.podIPs"), 0), "ip");
        if (ip)
            return ip;
    }
    v = jx_get(obj, field);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    /* Booleans and counters default to false/0 in Go structs. */
    if (!strcmp(field, "spec.unschedulable") || !strcmp(field, "spec.hostNetwork"))
        return "false";
    if (!strcmp(field, "status.replicas"))
        return "0";
    return "";
}

int fieldsel_match(const struct fieldsel *s, const json_t *obj)
{
    char buf[32];

    for (size_t i = 0; s && i < s->n; i++) {
        const char *v = field_value(obj, s->t[i].field, buf, sizeof buf);
        int eq = strcmp(v, s->t[i].value) == 0;
        if (eq == s->t[i].neg)
            return 0;
    }
    return 1;
}

static int field_supported(const char *const *fields, const char *field)
{
    if (!strcmp(field, "metadata.name") || !strcmp(field, "metadata.namespace"))
        return 1;
    for (const char *const *f = fields; f && *f; f++)
        if (!strcmp(*f, field))
            return 1;
    return 0;
}

int fieldsel_check(const struct fieldsel *s, const char *const *fields, struct err *err)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!field_supported(fields, s->t[i].field))
            return err_set(err, -E_BAD_REQUEST, "field label not supported: %.900s", s->t[i].field);
    return 0;
}

static const char *fieldsel_eq(const struct fieldsel *s, const char *field)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!s->t[i].neg && !strcmp(s->t[i].field, field))
            return s->t[i].value;
    return NULL;
}

const char *fieldsel_name(const struct fieldsel *s)
{
    return fieldsel_eq(s, "metadata.name");
}

const char *fieldsel_namespace(const struct fieldsel *s)
{
    return fieldsel_eq(s, "metadata.namespace");
}
